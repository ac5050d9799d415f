package servicediscovery

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/awsapitest"
	"github.com/berth/berth/internal/servicediscovery/sdstate"
	"github.com/berth/berth/internal/store"
)

func TestErrorTable(t *testing.T) {
	internal := awsapi.InternalFailure().Message
	awsapitest.CheckErrorTable(t, newErrorTable, []awsapitest.ErrorCase{
		{Name: "invalid input", Err: invalidInput("bad %s", "x"), Code: "InvalidInput", Message: "bad x", Status: 400},
		{Name: "namespace", Err: namespaceNotFound("ns-a"), Code: "NamespaceNotFound", Message: "Namespace not found: ns-a", Status: 400},
		{Name: "service", Err: serviceNotFound("srv-a"), Code: "ServiceNotFound", Message: "Service not found: srv-a", Status: 400},
		{Name: "instance", Err: instanceNotFound("i-1"), Code: "InstanceNotFound", Message: "Instance not found: i-1", Status: 400},
		{Name: "in use", Err: awsapi.WithMessage(errResourceInUse, "busy"), Code: "ResourceInUse", Message: "busy", Status: 400},
		{Name: "limit", Err: awsapi.WithMessage(errResourceLimit, "many"), Code: "ResourceLimitExceeded", Message: "many", Status: 400},
		{Name: "custom health", Err: awsapi.WithMessage(errCustomHealthNotFound, "none"), Code: "CustomHealthNotFound", Message: "none", Status: 400},
		{Name: "tags", Err: awsapi.WithMessage(errTooManyTags, "tags"), Code: "TooManyTagsException", Message: "tags", Status: 400},
		{Name: "resource", Err: awsapi.WithMessage(errResourceNotFound, "gone"), Code: "ResourceNotFoundException", Message: "gone", Status: 400},
		{Name: "attributes", Err: awsapi.WithMessage(errAttributesLimit, "30"), Code: "ServiceAttributesLimitExceededException", Message: "30", Status: 400},
		{Name: "namespace exists", Err: &namespaceExists{name: "a.internal", id: "ns-a"}, Code: "NamespaceAlreadyExists", Message: "Namespace a.internal already exists.", Status: 400},
		{Name: "service exists", Err: &serviceExists{name: "api", svc: sdstate.Service{ID: "srv-a"}}, Code: "ServiceAlreadyExists", Message: "Service api already exists.", Status: 400},
		{Name: "duplicate", Err: &duplicateRequest{operationID: "op"}, Code: "DuplicateRequest", Message: "The operation is already in progress.", Status: 400},
		{Name: "unsupported", Err: unsupported("alias records"), Code: "InvalidInput", Message: "berth does not support alias records yet.", Status: 400},
		{Name: "store failure", Err: fmt.Errorf("list: %w", store.ErrClosed), Code: "InternalFailure", Message: internal, Status: 500, Logged: true},
		{Name: "unknown", Err: errors.New("disk on fire"), Code: "InternalFailure", Message: internal, Status: 500, Logged: true},
		{Name: "cancelled", Err: context.Canceled, Code: "InternalFailure", Message: internal, Status: 500},
	})
}
