package elbv2

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/awsapitest"
	"github.com/berth/berth/internal/elbv2/elbv2state"
	"github.com/berth/berth/internal/store"
)

func TestErrorTable(t *testing.T) {
	internal := awsapi.InternalFailure().Message
	awsapitest.CheckErrorTable(t, newErrorTable, []awsapitest.ErrorCase{
		{Name: "load balancer not found", Err: fmt.Errorf("read: %w", elbv2state.ErrLoadBalancerNotFound),
			Code: "LoadBalancerNotFound", Message: "One or more load balancers not found", Status: 400},
		{Name: "target group not found", Err: elbv2state.ErrTargetGroupNotFound, Code: "TargetGroupNotFound", Message: "One or more target groups not found", Status: 400},
		{Name: "target group of an action", Err: awsapi.WithMessage(elbv2state.ErrTargetGroupNotFound, "Target group 'x' not found"),
			Code: "TargetGroupNotFound", Message: "Target group 'x' not found", Status: 400},
		{Name: "listener not found", Err: elbv2state.ErrListenerNotFound, Code: "ListenerNotFound", Message: "One or more listeners not found", Status: 400},
		{Name: "rule not found", Err: elbv2state.ErrRuleNotFound, Code: "RuleNotFound", Message: "One or more rules not found", Status: 400},
		{Name: "invalid target", Err: awsapi.WithMessage(elbv2state.ErrInvalidTarget, "The following targets are not valid instances: 'i-1'"),
			Code: "InvalidTarget", Message: "The following targets are not valid instances: 'i-1'", Status: 400},
		{Name: "validation", Err: validation("A port must be specified"), Code: "ValidationError", Message: "A port must be specified", Status: 400},
		{Name: "duplicate name", Err: duplicateName("a"), Code: "DuplicateLoadBalancerName",
			Message: "A load balancer with the same name 'a' exists, but with different settings", Status: 400},
		{Name: "priority", Err: priorityInUse(5), Code: "PriorityInUse", Message: "Priority '5' is currently in use", Status: 400},
		{Name: "in use", Err: kindError(errResourceInUse, "Target group 'x' is currently in use by a listener or a rule"),
			Code: "ResourceInUse", Message: "Target group 'x' is currently in use by a listener or a rule", Status: 400},
		{Name: "unsupported", Err: unsupported("trust stores"), Code: "UnsupportedOperation", Message: "berth does not support trust stores yet.", Status: 400},
		{Name: "denied", Err: &awsapi.AccessDenied{Message: "no"}, Code: "AccessDenied", Message: "no", Status: 403},
		{Name: "conflicts", Err: fmt.Errorf("store: %w", store.ErrConflict), Code: "PriorRequestNotComplete",
			Message: "This operation is not allowed while a prior request has not been completed.", Status: 429},
		{Name: "store failure", Err: fmt.Errorf("list: %w", store.ErrClosed), Code: "InternalFailure", Message: internal, Status: 500, Logged: true},
		{Name: "unknown", Err: errors.New("disk on fire"), Code: "InternalFailure", Message: internal, Status: 500, Logged: true},
		{Name: "cancelled", Err: context.Canceled, Code: "InternalFailure", Message: internal, Status: 500},
	})
}
