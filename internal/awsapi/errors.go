package awsapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
)

// Error is an AWS service error as the client sees it.
type Error struct {
	// Code is the error code (__type for JSON, <Code> for query).
	Code    string
	Message string
	// Status is the HTTP status; 0 means 400.
	Status int
	// Members are the exception's other modelled members, by their wire
	// names (CloudWatch Logs' MalformedQueryException carries a
	// queryCompileError, say); awsJson1_1 sends them beside the message.
	Members map[string]any
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// HTTPStatus is Status with its default applied.
func (e *Error) HTTPStatus() int {
	if e.Status == 0 {
		return http.StatusBadRequest
	}
	return e.Status
}

// Errorf returns a 400 error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// InternalFailure is the answer to a failure no service answers in its own
// words: a handler that panicked, an error of a service without an
// ErrorTable, a request cancelled under its handler.
func InternalFailure() *Error {
	return &Error{Code: "InternalFailure", Status: http.StatusInternalServerError,
		Message: "The request processing has failed because of an unknown error, exception or failure."}
}

// AccessDenied is a call IAM's policies refuse. Message is AWS's sentence
// ("User: <arn> is not authorized to perform: <action> on resource: <arn>
// because ...").
type AccessDenied struct{ Message string }

func (e *AccessDenied) Error() string { return e.Message }

// APIError is the denial in protocol p's words: the JSON services answer
// AccessDeniedException with 400, the query services (IAM, STS)
// AccessDenied with 403, and EC2 UnauthorizedOperation with 403, its
// sentence leading IAM's.
func (e *AccessDenied) APIError(p Protocol) *Error {
	switch p {
	case JSON11:
		return &Error{Code: "AccessDeniedException", Message: e.Message}
	case EC2:
		return &Error{Code: "UnauthorizedOperation", Status: http.StatusForbidden,
			Message: "You are not authorized to perform this operation. " + e.Message}
	}
	return &Error{Code: "AccessDenied", Message: e.Message, Status: http.StatusForbidden}
}

// An ErrorTable maps the errors a service's operations return to the AWS
// errors its clients see, in one place per service. It follows
// docker/distribution's errcode registry: each error of the service is
// registered once, as a rule giving the code, message and HTTP status of
// its AWS error, and handlers return the errors of their domain (sentinels
// and typed errors, wrapped or not) without spelling AWS codes. Bind
// applies the table where every operation returns.
type ErrorTable struct {
	rules    []ErrorRule
	internal Error
	log      *slog.Logger
}

// An ErrorRule is one row of an ErrorTable: the AWS error for the errors it
// recognises, nil for any other.
type ErrorRule func(err error) *Error

// NewErrorTable returns the table of rules, tried in order. internal is
// the service's answer to an error no rule recognises: a failure of berth
// itself (its store, say), which is logged to log.
func NewErrorTable(log *slog.Logger, internal Error, rules ...ErrorRule) *ErrorTable {
	return &ErrorTable{rules: rules, internal: internal, log: log}
}

// Map returns the AWS error for err (nil for nil):
//   - an *Error in err's chain, which is already in the service's words and
//     passes as it is;
//   - else the error of the first rule that recognises err;
//   - else, for a cancelled or timed-out request, InternalFailure, as
//     berth has always answered it; the client has usually gone, so it is
//     not logged;
//   - else the table's internal error, logging err.
func (t *ErrorTable) Map(ctx context.Context, err error) *Error {
	if err == nil {
		return nil
	}
	var aerr *Error
	if errors.As(err, &aerr) {
		return aerr
	}
	for _, rule := range t.rules {
		if aerr := rule(err); aerr != nil {
			return aerr
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return InternalFailure()
	}
	info := RequestFrom(ctx)
	t.log.ErrorContext(ctx, "internal error", "request_id", info.RequestID, "operation", info.Operation, "error", err)
	internal := t.internal
	return &internal
}

// Bind returns ops with every error their calls return mapped by t. A
// service binds its operations as it builds them, so that the gateway and
// whoever else calls an Operation see the same AWS errors.
func (t *ErrorTable) Bind(ops map[string]Operation) map[string]Operation {
	bound := make(map[string]Operation, len(ops))
	for name, op := range ops {
		call := op.Call
		op.Call = func(ctx context.Context, input any) (any, error) {
			out, err := call(ctx, input)
			if err != nil {
				return nil, t.Map(ctx, err)
			}
			return out, nil
		}
		bound[name] = op
	}
	return bound
}

// Is is the rule answering e for the errors that are target (errors.Is).
// An error that carries its own message for target (WithMessage) shows
// that message instead of e's.
func Is(target error, e Error) ErrorRule {
	return func(err error) *Error {
		if !errors.Is(err, target) {
			return nil
		}
		out := e
		var m *MessageError
		if errors.As(err, &m) && errors.Is(m.Kind, target) {
			out.Message = m.Message
		}
		return &out
	}
}

// As is the rule answering what build makes of the errors of type T in an
// error's chain (errors.As), for errors whose AWS message quotes their
// fields.
func As[T error](build func(T) *Error) ErrorRule {
	return func(err error) *Error {
		var target T
		if !errors.As(err, &target) {
			return nil
		}
		return build(target)
	}
}

// A MessageError is an error of a kind an ErrorTable registers, with the
// message its AWS error shows: the errcode registry's WithMessage, for the
// kinds (an invalid parameter, say) that explain themselves differently at
// every occurrence.
type MessageError struct {
	Kind    error
	Message string
}

// WithMessage returns an error of kind whose AWS error shows the formatted
// message.
func WithMessage(kind error, format string, args ...any) *MessageError {
	return &MessageError{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

func (e *MessageError) Error() string { return e.Kind.Error() + ": " + e.Message }

func (e *MessageError) Unwrap() error { return e.Kind }
