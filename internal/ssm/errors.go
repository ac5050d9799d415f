package ssm

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/berth/berth/internal/awsapi"
)

// ErrParameterNotFound and ErrParameterVersionNotFound are what
// ResolveValue and the API's handlers return for a parameter, or a version
// or label of one, that does not exist; ErrInvalidName for a reference that
// is no parameter's name.
var (
	ErrParameterNotFound        = errors.New("ssm: parameter not found")
	ErrParameterVersionNotFound = errors.New("ssm: parameter version not found")
	ErrInvalidName              = errors.New("ssm: invalid parameter name")
)

// Errors of the Systems Manager API. Handlers return these (wrapped or not)
// and the store's errors; newErrorTable says what Systems Manager answers
// for each, and is the one place that does. Messages marked UNVERIFIED
// follow Systems Manager's style where no capture of the real text was
// available.
var (
	errAlreadyExists       = errors.New("parameter exists")
	errParameterLimit      = errors.New("parameter limit exceeded")
	errLabelLimit          = errors.New("version label limit exceeded")
	errTooManyTags         = errors.New("too many tags")
	errInvalidResourceID   = errors.New("invalid resource id")
	errHierarchyLevelLimit = errors.New("hierarchy level limit exceeded")
	errTypeMismatch        = errors.New("parameter type change")
	// Kinds of refused input, each error carrying its own sentence.
	errValidation          = errors.New("validation")
	errReservedName        = errors.New("reserved parameter name")
	errVersionLimit        = errors.New("version limit exceeded")
	errInvalidPattern      = errors.New("invalid allowed pattern")
	errPatternMismatch     = errors.New("value does not match the allowed pattern")
	errUnsupportedType     = errors.New("unsupported parameter type")
	errInvalidKeyID        = errors.New("invalid key id")
	errInvalidFilterKey    = errors.New("invalid filter key")
	errInvalidFilterValue  = errors.New("invalid filter value")
	errInvalidFilterOption = errors.New("invalid filter option")
	errInvalidNextToken    = errors.New("invalid next token")
	errPoliciesLimit       = errors.New("policies limit exceeded")
	errPolicyType          = errors.New("invalid policy type")
	errPolicyAttribute     = errors.New("invalid policy attribute")
	errIncompatiblePolicy  = errors.New("incompatible policies")
	errSessionNotFound     = errors.New("session not found")
)

func invalid(format string, args ...any) error {
	return awsapi.WithMessage(errValidation, format, args...)
}

// invalidName is the answer to a name that breaks the naming rules:
// Systems Manager gives the same sentence for a name with a character it
// does not allow, a path without its leading slash and a name starting
// with "ssm".
func invalidName() error {
	return awsapi.WithMessage(ErrInvalidName, `Parameter name: can't be prefixed with "ssm" (case-insensitive). `+
		`If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed `+
		`as a mix of letters, numbers and the following 3 symbols .-_`)
}

// invalidPath is GetParametersByPath's answer to a path that breaks the
// rules. Systems Manager's text has a backslash before the quotes around
// aws and ssm (and not around the slash), and so does this one.
func invalidPath() error {
	return awsapi.WithMessage(ErrInvalidName, `The parameter doesn't meet the parameter name requirements. `+
		`The parameter name must begin with a forward slash "/". It can't be prefixed with \"aws\" or \"ssm\" `+
		`(case-insensitive). It must use only letters, numbers, or the following symbols: . (period), - (hyphen), `+
		`_ (underscore). Special characters are not allowed. All sub-paths, if specified, must use the forward `+
		`slash symbol "/". Valid example: /get/parameters2-/by1./path0_.`)
}

func reservedName(name string) error {
	return awsapi.WithMessage(errReservedName, "No access to reserved parameter name: %s.", name)
}

func versionNotFound(name string, version any) error {
	return awsapi.WithMessage(ErrParameterVersionNotFound,
		"Systems Manager could not find version %v of %s. Verify the version and try again.", version, name)
}

// sessionNotFound is ResumeSession's answer for a session the region does
// not hold.
func sessionNotFound(id string) error {
	return awsapi.WithMessage(errSessionNotFound, "Session with id %s does not exist.", id) // UNVERIFIED wording
}

// validationError is Systems Manager's answer to input that breaks the
// model.
func validationError(path, value, constraint string) *awsapi.Error {
	return awsapi.Errorf("ValidationException",
		"1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, path, constraint)
}

// unsupported answers every Systems Manager operation berth does not
// implement, with the model's own code for an operation that is not
// available.
func unsupported(op string) *awsapi.Error {
	return awsapi.Errorf("UnsupportedOperationException", "berth does not support %s yet", op)
}

// newErrorTable is the Systems Manager API's error table. A failure of
// berth itself is InternalServerError, logged to log.
func newErrorTable(log *slog.Logger) *awsapi.ErrorTable {
	rule := func(kind error, code string) awsapi.ErrorRule {
		return awsapi.Is(kind, awsapi.Error{Code: code})
	}
	return awsapi.NewErrorTable(log,
		// UNVERIFIED wording: the model's description of the error.
		awsapi.Error{Code: "InternalServerError", Message: "An error occurred on the server side.", Status: http.StatusInternalServerError},
		// Systems Manager's ParameterNotFound carries no message.
		rule(ErrParameterNotFound, "ParameterNotFound"),
		rule(ErrParameterVersionNotFound, "ParameterVersionNotFound"),
		rule(ErrInvalidName, "ValidationException"),
		awsapi.Is(errAlreadyExists, awsapi.Error{Code: "ParameterAlreadyExists",
			Message: "The parameter already exists. To overwrite this value, set the overwrite option in the request to true."}),
		// UNVERIFIED wording: the model's description of the error.
		awsapi.Is(errParameterLimit, awsapi.Error{Code: "ParameterLimitExceeded",
			Message: "You have exceeded the number of parameters for this Amazon Web Services account. Delete one or more parameters and try again."}),
		// UNVERIFIED wording.
		awsapi.Is(errLabelLimit, awsapi.Error{Code: "ParameterVersionLabelLimitExceeded",
			Message: "A parameter version can have maximum 10 labels.Move one or more labels to another version and try again."}),
		// Systems Manager's TooManyTagsError and InvalidResourceId carry no message.
		rule(errTooManyTags, "TooManyTagsError"),
		rule(errInvalidResourceID, "InvalidResourceId"),
		// UNVERIFIED wording: the model's description of the error.
		awsapi.Is(errHierarchyLevelLimit, awsapi.Error{Code: "HierarchyLevelLimitExceededException",
			Message: fmt.Sprintf("A hierarchy can have a maximum of %d levels.", maxLevels)}),
		// UNVERIFIED wording: the model's description of the error.
		awsapi.Is(errTypeMismatch, awsapi.Error{Code: "HierarchyTypeMismatchException",
			Message: "Parameter Store doesn't support changing a parameter type in a hierarchy. For example, you can't change a parameter from a String type to a SecureString type. You must create a new, unique parameter."}),
		rule(errValidation, "ValidationException"),
		rule(errReservedName, "AccessDeniedException"),
		rule(errVersionLimit, "ParameterMaxVersionLimitExceeded"),
		rule(errInvalidPattern, "InvalidAllowedPatternException"),
		rule(errPatternMismatch, "ParameterPatternMismatchException"),
		rule(errUnsupportedType, "UnsupportedParameterType"),
		rule(errInvalidKeyID, "InvalidKeyId"),
		rule(errInvalidFilterKey, "InvalidFilterKey"),
		rule(errInvalidFilterValue, "InvalidFilterValue"),
		rule(errInvalidFilterOption, "InvalidFilterOption"),
		rule(errInvalidNextToken, "InvalidNextToken"),
		rule(errPoliciesLimit, "PoliciesLimitExceededException"),
		rule(errPolicyType, "InvalidPolicyTypeException"),
		rule(errPolicyAttribute, "InvalidPolicyAttributeException"),
		rule(errIncompatiblePolicy, "IncompatiblePolicyException"),
		rule(errSessionNotFound, "DoesNotExistException"),
	)
}
