package iam

import (
	"errors"
	"log/slog"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/iam/policy"
)

// Errors of the STS API. Handlers return these (or *awsapi.AccessDenied,
// or a *policy.SyntaxError for a session policy) and newSTSErrorTable says
// what STS answers for each. Kinds that explain themselves differently at
// each occurrence carry their sentence (awsapi.WithMessage).
var (
	errSTSValidation            = errors.New("sts: invalid input")
	errSTSInvalidParameterValue = errors.New("sts: invalid parameter value")
	errSTSPackedPolicyTooLarge  = errors.New("sts: packed policy too large")
)

func stsInvalid(format string, args ...any) error {
	return awsapi.WithMessage(errSTSValidation, format, args...)
}

func stsInvalidParameter(format string, args ...any) error {
	return awsapi.WithMessage(errSTSInvalidParameterValue, format, args...)
}

// stsValidationError is STS's answer to input that breaks the model.
func stsValidationError(path, value, constraint string) *awsapi.Error {
	return awsapi.Errorf("ValidationError",
		"1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, path, constraint)
}

// stsUnsupported answers the STS operations berth does not implement:
// federation (SAML, web identity, GetFederationToken), encoded
// authorization messages, and the Organizations-only AssumeRoot.
func stsUnsupported(op string) *awsapi.Error {
	// UNVERIFIED: STS has no code of its own for an operation a server
	// does not offer; this is the gateway's for the query protocol.
	return awsapi.Errorf("UnsupportedOperation", "berth does not support %s yet", op)
}

// newSTSErrorTable is STS's error table. A failure of berth itself is
// InternalFailure, logged to log.
func newSTSErrorTable(log *slog.Logger) *awsapi.ErrorTable {
	return awsapi.NewErrorTable(log, *awsapi.InternalFailure(),
		awsapi.As(func(e *awsapi.AccessDenied) *awsapi.Error { return e.APIError(awsapi.Query) }),
		// UNVERIFIED: STS's wording for a session policy it cannot read is
		// taken to be IAM's for the same document.
		awsapi.As(func(e *policy.SyntaxError) *awsapi.Error {
			return &awsapi.Error{Code: "MalformedPolicyDocument", Message: e.Message}
		}),
		awsapi.Is(errSTSValidation, awsapi.Error{Code: "ValidationError"}),
		awsapi.Is(errSTSInvalidParameterValue, awsapi.Error{Code: "InvalidParameterValue"}),
		awsapi.Is(errSTSPackedPolicyTooLarge, awsapi.Error{Code: "PackedPolicyTooLarge"}),
	)
}
