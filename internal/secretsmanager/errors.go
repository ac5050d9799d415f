package secretsmanager

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/iam/policy"
	"github.com/berth/berth/internal/secretbox"
)

// Errors a secret's lookup ends in, for the berth code that reads secrets
// outside the API (ResolveValue, ResourcePolicy) as much as for the API.
var (
	// ErrSecretNotFound: no such secret, or its deletion took effect.
	ErrSecretNotFound = errors.New("secretsmanager: secret not found")
	// ErrMarkedForDeletion: the secret is scheduled for deletion, and its
	// value cannot be read until it is restored.
	ErrMarkedForDeletion = errors.New("secretsmanager: secret marked for deletion")
	// ErrVersionNotFound: the secret has no version with the id or staging
	// label asked for.
	ErrVersionNotFound = errors.New("secretsmanager: secret version not found")
)

// Errors of the Secrets Manager API. Handlers return these (wrapped or not)
// and the store's errors; newErrorTable says what Secrets Manager answers
// for each, and is the one place that does. Messages marked UNVERIFIED
// follow Secrets Manager's style where no capture of the real text was
// available.
var (
	errInvalidName = errors.New("invalid secret name")
	// Kinds of refused input, each error carrying its own sentence.
	errInvalidParameter = errors.New("invalid parameter")
	errInvalidRequest   = errors.New("invalid request")
	errResourceExists   = errors.New("resource exists")
	errLimitExceeded    = errors.New("limit exceeded")
	errUnsupported      = errors.New("unsupported")
	errPublicPolicy     = errors.New("public policy")
	errInvalidNextToken = errors.New("invalid next token")
)

func invalidParameter(format string, args ...any) error {
	return awsapi.WithMessage(errInvalidParameter, format, args...)
}

func invalidRequest(format string, args ...any) error {
	return awsapi.WithMessage(errInvalidRequest, format, args...)
}

func resourceExists(format string, args ...any) error {
	return awsapi.WithMessage(errResourceExists, format, args...)
}

func limitExceeded(format string, args ...any) error {
	return awsapi.WithMessage(errLimitExceeded, format, args...)
}

func versionNotFound(format string, args ...any) error {
	return awsapi.WithMessage(ErrVersionNotFound, format, args...)
}

// unsupported refuses an operation, or a part of one, that berth does not
// implement (rotation, replication, managed external secrets).
func unsupported(what string) error {
	return awsapi.WithMessage(errUnsupported, "berth does not support %s yet.", what)
}

// The sentences several operations share.
const (
	// OBSERVED: quoted from real Secrets Manager output in public reports.
	msgMarkedForDeletion  = "You can't perform this operation on the secret because it was marked for deletion."
	msgCreateScheduled    = "You can't create this secret because a secret with this name is already scheduled for deletion."
	msgTokenRequired      = "You must provide a ClientRequestToken value. We recommend a UUID-type value."
	msgStringAndBinary    = "You can't specify both a binary secret value and a string secret value in the same secret."
	msgStageNotOnVersion  = "You provided a VersionStage that is not associated to the provided VersionId."
	msgInvalidPolicy      = "This policy has invalid syntax."
	msgSecretExistsFormat = "The operation failed because the secret %s already exists."
	// UNVERIFIED: from another emulator's captures.
	msgAlreadyDeleted = "You tried to perform the operation on a secret that's currently marked deleted."
	// UNVERIFIED wording.
	msgValueRequired = "You must provide either SecretString or SecretBinary."
)

// newErrorTable is Secrets Manager's error table. A failure of berth itself
// is InternalServiceError, logged to log.
func newErrorTable(log *slog.Logger) *awsapi.ErrorTable {
	return awsapi.NewErrorTable(log,
		awsapi.Error{Code: "InternalServiceError", Message: "An error occurred on the server side.", Status: http.StatusInternalServerError},
		awsapi.Is(ErrSecretNotFound, awsapi.Error{Code: "ResourceNotFoundException", Message: "Secrets Manager can't find the specified secret."}),
		awsapi.Is(ErrVersionNotFound, awsapi.Error{Code: "ResourceNotFoundException", Message: "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT"}),
		awsapi.Is(ErrMarkedForDeletion, awsapi.Error{Code: "InvalidRequestException", Message: msgMarkedForDeletion}),
		awsapi.Is(errInvalidName, awsapi.Error{Code: "ValidationException",
			Message: "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!"}),
		awsapi.Is(errInvalidParameter, awsapi.Error{Code: "InvalidParameterException"}),
		awsapi.Is(errInvalidRequest, awsapi.Error{Code: "InvalidRequestException"}),
		awsapi.Is(errResourceExists, awsapi.Error{Code: "ResourceExistsException"}),
		awsapi.Is(errLimitExceeded, awsapi.Error{Code: "LimitExceededException"}),
		// UNVERIFIED: Secrets Manager has no code of its own for "not
		// implemented"; InvalidRequestException is its answer to a call the
		// secret's state does not allow.
		awsapi.Is(errUnsupported, awsapi.Error{Code: "InvalidRequestException"}),
		// UNVERIFIED wording.
		awsapi.Is(errPublicPolicy, awsapi.Error{Code: "PublicPolicyException", Message: "This resource policy grants broad access to the secret, and BlockPublicPolicy is set."}),
		// UNVERIFIED wording (the model's description of the exception).
		awsapi.Is(errInvalidNextToken, awsapi.Error{Code: "InvalidNextTokenException", Message: "The NextToken value is invalid."}),
		// A value that does not open was sealed under another key (the data
		// dir's secrets key changed) or damaged. The model's description of
		// the exception.
		awsapi.Is(secretbox.ErrOpen, awsapi.Error{Code: "DecryptionFailure", Message: "Secrets Manager can't decrypt the protected secret text using the provided KMS key."}),
		// Secrets Manager answers every syntax error in its own sentence,
		// not IAM's.
		awsapi.As(func(*policy.SyntaxError) *awsapi.Error {
			return &awsapi.Error{Code: "MalformedPolicyDocumentException", Message: msgInvalidPolicy}
		}),
	)
}
