package logs

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/logs/insights"
)

// Errors of the CloudWatch Logs API. Handlers return these (wrapped or not)
// and the store's errors; newErrorTable says what CloudWatch Logs answers
// for each, and is the one place that does. Messages marked UNVERIFIED
// follow CloudWatch Logs' style where no capture of the real text was
// available.
var (
	errGroupNotFound  = errors.New("log group not found")
	errStreamNotFound = errors.New("log stream not found")
	errGroupExists    = errors.New("log group exists")
	errStreamExists   = errors.New("log stream exists")
	errQueryNotFound  = errors.New("query not found")
	// Kinds of refused input, each error carrying its own sentence
	// (invalidParameter, invalidOperation).
	errInvalidParameter = errors.New("invalid parameter")
	errInvalidOperation = errors.New("invalid operation")
	errLimitExceeded    = errors.New("limit exceeded")
)

func invalidParameter(format string, args ...any) error {
	return awsapi.WithMessage(errInvalidParameter, format, args...)
}

func invalidOperation(format string, args ...any) error {
	return awsapi.WithMessage(errInvalidOperation, format, args...)
}

// validationError is CloudWatch Logs' answer to input that breaks the
// model: InvalidParameterException in the generic AWS validation wording.
func validationError(path, value, constraint string) *awsapi.Error {
	return awsapi.Errorf("InvalidParameterException",
		"1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, path, constraint)
}

func unsupported(op string) *awsapi.Error {
	// UNVERIFIED: no modelled CloudWatch Logs code says "not implemented";
	// InvalidOperationException is the closest of its own.
	return awsapi.Errorf("InvalidOperationException", "berth does not support %s yet", op)
}

// newErrorTable is CloudWatch Logs' error table. A failure of berth itself
// is ServiceUnavailableException, logged to log.
func newErrorTable(log *slog.Logger) *awsapi.ErrorTable {
	return awsapi.NewErrorTable(log,
		awsapi.Error{Code: "ServiceUnavailableException", Message: "The service cannot complete the request.", Status: http.StatusInternalServerError},
		awsapi.Is(errGroupNotFound, awsapi.Error{Code: "ResourceNotFoundException", Message: "The specified log group does not exist."}),
		awsapi.Is(errStreamNotFound, awsapi.Error{Code: "ResourceNotFoundException", Message: "The specified log stream does not exist."}),
		awsapi.Is(errGroupExists, awsapi.Error{Code: "ResourceAlreadyExistsException", Message: "The specified log group already exists"}),
		awsapi.Is(errStreamExists, awsapi.Error{Code: "ResourceAlreadyExistsException", Message: "The specified log stream already exists"}),
		// UNVERIFIED wording.
		awsapi.Is(errQueryNotFound, awsapi.Error{Code: "ResourceNotFoundException", Message: "The specified query does not exist."}),
		awsapi.Is(errInvalidParameter, awsapi.Error{Code: "InvalidParameterException"}),
		awsapi.Is(errInvalidOperation, awsapi.Error{Code: "InvalidOperationException"}),
		awsapi.Is(errLimitExceeded, awsapi.Error{Code: "LimitExceededException"}),
		awsapi.As(func(e *insights.SyntaxError) *awsapi.Error {
			return &awsapi.Error{Code: "MalformedQueryException", Message: e.Message,
				Members: map[string]any{"queryCompileError": map[string]any{
					"location": map[string]int{"startCharOffset": e.Start, "endCharOffset": e.End},
					"message":  e.Message,
				}}}
		}),
	)
}
