package servicediscovery

import (
	"errors"
	"log/slog"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/servicediscovery/sdstate"
)

// Errors of the Cloud Map API. Handlers return these (wrapped or not)
// and the store's errors; newErrorTable says what Cloud Map answers for
// each. Messages marked UNVERIFIED follow Cloud Map's style where no
// capture of the real text was available.
var (
	errInvalidInput         = errors.New("invalid input")
	errNamespaceNotFound    = errors.New("namespace not found")
	errServiceNotFound      = errors.New("service not found")
	errInstanceNotFound     = errors.New("instance not found")
	errOperationNotFound    = errors.New("operation not found")
	errResourceNotFound     = errors.New("resource not found")
	errResourceInUse        = errors.New("resource in use")
	errResourceLimit        = errors.New("resource limit exceeded")
	errCustomHealthNotFound = errors.New("custom health not found")
	errTooManyTags          = errors.New("too many tags")
	errAttributesLimit      = errors.New("service attributes limit exceeded")
)

func invalidInput(format string, args ...any) error {
	return awsapi.WithMessage(errInvalidInput, format, args...)
}

// UNVERIFIED wording of the not-found messages.
func namespaceNotFound(id string) error {
	return awsapi.WithMessage(errNamespaceNotFound, "Namespace not found: %s", id)
}

func serviceNotFound(id string) error {
	return awsapi.WithMessage(errServiceNotFound, "Service not found: %s", id)
}

func instanceNotFound(id string) error {
	return awsapi.WithMessage(errInstanceNotFound, "Instance not found: %s", id)
}

// unsupported refuses an operation, or a part of one, that berth does not
// implement. Cloud Map has no error of its own for it; InvalidInput is its
// answer to input it does not take.
func unsupported(what string) error {
	return invalidInput("berth does not support %s yet.", what)
}

// namespaceExists refuses a namespace whose name is taken.
type namespaceExists struct {
	name, id, creatorRequestID string
}

func (e *namespaceExists) Error() string { return "namespace " + e.name + " exists: " + e.id }

// serviceExists refuses a service whose name is taken in its namespace.
type serviceExists struct {
	name string
	svc  sdstate.Service
}

func (e *serviceExists) Error() string { return "service " + e.name + " exists: " + e.svc.ID }

// duplicateRequest refuses a request whose like is still in progress.
type duplicateRequest struct{ operationID string }

func (e *duplicateRequest) Error() string { return "operation " + e.operationID + " in progress" }

// newErrorTable is Cloud Map's error table. A failure of berth itself is
// InternalFailure, logged to log.
func newErrorTable(log *slog.Logger) *awsapi.ErrorTable {
	return awsapi.NewErrorTable(log,
		*awsapi.InternalFailure(),
		awsapi.Is(errInvalidInput, awsapi.Error{Code: "InvalidInput"}),
		awsapi.Is(errNamespaceNotFound, awsapi.Error{Code: "NamespaceNotFound"}),
		awsapi.Is(errServiceNotFound, awsapi.Error{Code: "ServiceNotFound"}),
		awsapi.Is(errInstanceNotFound, awsapi.Error{Code: "InstanceNotFound"}),
		awsapi.Is(errOperationNotFound, awsapi.Error{Code: "OperationNotFound"}),
		awsapi.Is(errResourceNotFound, awsapi.Error{Code: "ResourceNotFoundException"}),
		awsapi.Is(errResourceInUse, awsapi.Error{Code: "ResourceInUse"}),
		awsapi.Is(errResourceLimit, awsapi.Error{Code: "ResourceLimitExceeded"}),
		awsapi.Is(errCustomHealthNotFound, awsapi.Error{Code: "CustomHealthNotFound"}),
		awsapi.Is(errTooManyTags, awsapi.Error{Code: "TooManyTagsException"}),
		awsapi.Is(errAttributesLimit, awsapi.Error{Code: "ServiceAttributesLimitExceededException"}),
		awsapi.As(func(e *namespaceExists) *awsapi.Error {
			// UNVERIFIED wording.
			return &awsapi.Error{Code: "NamespaceAlreadyExists", Message: "Namespace " + e.name + " already exists.",
				Members: map[string]any{"NamespaceId": e.id, "CreatorRequestId": e.creatorRequestID}}
		}),
		awsapi.As(func(e *serviceExists) *awsapi.Error {
			// UNVERIFIED wording.
			return &awsapi.Error{Code: "ServiceAlreadyExists", Message: "Service " + e.name + " already exists.",
				Members: map[string]any{"ServiceId": e.svc.ID, "ServiceArn": e.svc.ARN, "CreatorRequestId": e.svc.CreatorRequestID}}
		}),
		awsapi.As(func(e *duplicateRequest) *awsapi.Error {
			return &awsapi.Error{Code: "DuplicateRequest", Message: "The operation is already in progress.",
				Members: map[string]any{"DuplicateOperationId": e.operationID}}
		}),
	)
}
