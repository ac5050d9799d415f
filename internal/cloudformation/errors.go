package cloudformation

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/cloudformation/template"
)

// Kinds of the CloudFormation API's errors: most bad input is a
// ValidationError with a sentence of its own.
var (
	errValidation               = errors.New("validation error")
	errUnsupported              = errors.New("unsupported")
	errAlreadyExists            = errors.New("already exists")
	errInsufficientCapabilities = errors.New("insufficient capabilities")
	errChangeSetNotFound        = errors.New("change set not found")
	errInvalidChangeSetStatus   = errors.New("invalid change set status")
)

func validation(format string, args ...any) error {
	return awsapi.WithMessage(errValidation, format, args...)
}

// unsupported refuses an operation, or a part of one, that berth does not
// implement.
func unsupported(what string) error {
	return awsapi.WithMessage(errUnsupported, "berth does not support %s yet.", what)
}

// newErrorTable is CloudFormation's error table. A failure of berth itself
// is InternalFailure, logged to log.
func newErrorTable(log *slog.Logger) *awsapi.ErrorTable {
	return awsapi.NewErrorTable(log,
		*awsapi.InternalFailure(),
		awsapi.Is(errValidation, awsapi.Error{Code: "ValidationError", Status: http.StatusBadRequest}),
		awsapi.As(func(e *template.ValidationError) *awsapi.Error {
			return &awsapi.Error{Code: "ValidationError", Message: e.Message, Status: http.StatusBadRequest}
		}),
		awsapi.Is(errAlreadyExists, awsapi.Error{Code: "AlreadyExistsException", Status: http.StatusBadRequest}),
		awsapi.Is(errInsufficientCapabilities, awsapi.Error{Code: "InsufficientCapabilitiesException", Status: http.StatusBadRequest}),
		awsapi.Is(errChangeSetNotFound, awsapi.Error{Code: "ChangeSetNotFound", Status: http.StatusNotFound}),
		awsapi.Is(errInvalidChangeSetStatus, awsapi.Error{Code: "InvalidChangeSetStatus", Status: http.StatusBadRequest}),
		awsapi.Is(errUnsupported, awsapi.Error{Code: "UnsupportedOperation", Status: http.StatusBadRequest}),
		awsapi.As(func(e *awsapi.AccessDenied) *awsapi.Error { return e.APIError(awsapi.Query) }),
	)
}
