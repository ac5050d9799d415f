package elbv2

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/elbv2/elbv2state"
	"github.com/berth/berth/internal/store"
)

// Kinds of the ELBv2 API's errors. ELBv2 words most of them differently at
// each occurrence, so handlers return them with their sentence
// (awsapi.WithMessage) and newErrorTable gives each kind its code; the
// HTTP status comes from the model's awsQueryError trait. The lookups'
// kinds (not found, invalid target, validation) are elbv2state's, which
// ECS shares.
var (
	errDuplicateLoadBalancerName   = errors.New("duplicate load balancer name")
	errDuplicateTargetGroupName    = errors.New("duplicate target group name")
	errDuplicateListener           = errors.New("duplicate listener")
	errDuplicateTagKeys            = errors.New("duplicate tag keys")
	errTooManyTags                 = errors.New("too many tags")
	errPriorityInUse               = errors.New("priority in use")
	errResourceInUse               = errors.New("resource in use")
	errOperationNotPermitted       = errors.New("operation not permitted")
	errTargetGroupAssociationLimit = errors.New("target group association limit")
	errInvalidConfiguration        = errors.New("invalid configuration request")
	errInvalidAction               = errors.New("invalid load balancer action")
	errSubnetNotFound              = errors.New("subnet not found")
	errInvalidSubnet               = errors.New("invalid subnet")
	errInvalidSecurityGroup        = errors.New("invalid security group")
	errCertificateNotFound         = errors.New("certificate not found")
	errTooManyCertificates         = errors.New("too many certificates")
	errSSLPolicyNotFound           = errors.New("SSL policy not found")
	errUnsupported                 = errors.New("unsupported")
)

func validation(format string, args ...any) error {
	return awsapi.WithMessage(elbv2state.ErrValidation, format, args...)
}

func kindError(kind error, format string, args ...any) error {
	return awsapi.WithMessage(kind, format, args...)
}

// unsupported refuses an operation, or a part of one, that berth does not
// implement.
func unsupported(what string) error {
	return awsapi.WithMessage(errUnsupported, "berth does not support %s yet.", what)
}

// newErrorTable is ELBv2's error table. A failure of berth itself is
// InternalFailure, logged to log.
func newErrorTable(log *slog.Logger) *awsapi.ErrorTable {
	return awsapi.NewErrorTable(log,
		*awsapi.InternalFailure(),
		awsapi.Is(elbv2state.ErrLoadBalancerNotFound, awsapi.Error{Code: "LoadBalancerNotFound", Message: "One or more load balancers not found"}),
		awsapi.Is(elbv2state.ErrTargetGroupNotFound, awsapi.Error{Code: "TargetGroupNotFound", Message: "One or more target groups not found"}),
		awsapi.Is(elbv2state.ErrListenerNotFound, awsapi.Error{Code: "ListenerNotFound", Message: "One or more listeners not found"}),
		awsapi.Is(elbv2state.ErrRuleNotFound, awsapi.Error{Code: "RuleNotFound", Message: "One or more rules not found"}),
		awsapi.Is(elbv2state.ErrInvalidTarget, awsapi.Error{Code: "InvalidTarget",
			Message: "The specified target does not exist, is not in the same VPC as the target group, or has an unsupported instance type."}),
		awsapi.Is(elbv2state.ErrValidation, awsapi.Error{Code: "ValidationError"}),
		awsapi.Is(errDuplicateLoadBalancerName, awsapi.Error{Code: "DuplicateLoadBalancerName"}),
		awsapi.Is(errDuplicateTargetGroupName, awsapi.Error{Code: "DuplicateTargetGroupName"}),
		awsapi.Is(errDuplicateListener, awsapi.Error{Code: "DuplicateListener"}),
		awsapi.Is(errDuplicateTagKeys, awsapi.Error{Code: "DuplicateTagKeys"}),
		awsapi.Is(errTooManyTags, awsapi.Error{Code: "TooManyTags"}),
		awsapi.Is(errPriorityInUse, awsapi.Error{Code: "PriorityInUse"}),
		awsapi.Is(errResourceInUse, awsapi.Error{Code: "ResourceInUse"}),
		awsapi.Is(errOperationNotPermitted, awsapi.Error{Code: "OperationNotPermitted"}),
		awsapi.Is(errTargetGroupAssociationLimit, awsapi.Error{Code: "TargetGroupAssociationLimit"}),
		awsapi.Is(errInvalidConfiguration, awsapi.Error{Code: "InvalidConfigurationRequest"}),
		awsapi.Is(errInvalidAction, awsapi.Error{Code: "InvalidLoadBalancerAction"}),
		awsapi.Is(errSubnetNotFound, awsapi.Error{Code: "SubnetNotFound"}),
		awsapi.Is(errInvalidSubnet, awsapi.Error{Code: "InvalidSubnet"}),
		awsapi.Is(errInvalidSecurityGroup, awsapi.Error{Code: "InvalidSecurityGroup"}),
		awsapi.Is(errCertificateNotFound, awsapi.Error{Code: "CertificateNotFound"}),
		awsapi.Is(errTooManyCertificates, awsapi.Error{Code: "TooManyCertificates"}),
		awsapi.Is(errSSLPolicyNotFound, awsapi.Error{Code: "SSLPolicyNotFound"}),
		// No modelled ELBv2 code says "not implemented"; clients print
		// unmodelled codes as they are.
		awsapi.Is(errUnsupported, awsapi.Error{Code: "UnsupportedOperation"}),
		awsapi.As(func(e *awsapi.AccessDenied) *awsapi.Error { return e.APIError(awsapi.Query) }),
		// Writers that keep losing to others for the store's whole retry
		// window. UNVERIFIED: the model's description of the exception.
		awsapi.Is(store.ErrConflict, awsapi.Error{Code: "PriorRequestNotComplete", Status: http.StatusTooManyRequests,
			Message: "This operation is not allowed while a prior request has not been completed."}),
	)
}
