package iam

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/iam/policy"
	"github.com/berth/berth/internal/store"
)

// Kinds of the IAM API's errors. IAM words each occurrence differently
// ("The role with name X cannot be found.", "Policy arn:... was not
// found."), so handlers return these with their sentence (iamError) and
// newIAMErrorTable gives each kind its code; the HTTP status comes from the
// model's awsQueryError trait (NoSuchEntity 404, EntityAlreadyExists,
// DeleteConflict and LimitExceeded 409, the rest 400).
var (
	errNoSuchEntity       = errors.New("no such entity")
	errEntityExists       = errors.New("entity already exists")
	errDeleteConflict     = errors.New("delete conflict")
	errLimitExceeded      = errors.New("limit exceeded")
	errInvalidInput       = errors.New("invalid input")
	errValidation         = errors.New("validation error")
	errMalformedPolicyDoc = errors.New("malformed policy document")
)

// iamError is an error of kind with IAM's sentence for it.
func iamError(kind error, format string, args ...any) error {
	return awsapi.WithMessage(kind, format, args...)
}

// iamUnsupported answers the IAM operations berth does not implement
// (instance profiles, identity providers, login profiles, MFA devices,
// server certificates, service-linked roles, account aliases, ...). No
// modelled IAM code says "not implemented"; clients print unmodelled codes
// as they are.
func iamUnsupported(op string) *awsapi.Error {
	return awsapi.Errorf("UnsupportedOperation", "berth does not support %s yet.", op)
}

// newIAMErrorTable is the IAM API's error table. A failure of berth itself
// is ServiceFailure, logged to log.
func newIAMErrorTable(log *slog.Logger) *awsapi.ErrorTable {
	return awsapi.NewErrorTable(log,
		awsapi.Error{Code: "ServiceFailure", Status: http.StatusInternalServerError,
			Message: "The request processing has failed because of an unknown error, exception or failure."},
		awsapi.Is(errNoSuchEntity, awsapi.Error{Code: "NoSuchEntity"}),
		awsapi.Is(errEntityExists, awsapi.Error{Code: "EntityAlreadyExists"}),
		awsapi.Is(errDeleteConflict, awsapi.Error{Code: "DeleteConflict"}),
		awsapi.Is(errLimitExceeded, awsapi.Error{Code: "LimitExceeded"}),
		awsapi.Is(errInvalidInput, awsapi.Error{Code: "InvalidInput"}),
		awsapi.Is(errValidation, awsapi.Error{Code: "ValidationError"}),
		awsapi.Is(errMalformedPolicyDoc, awsapi.Error{Code: "MalformedPolicyDocument"}),
		awsapi.As(func(e *awsapi.AccessDenied) *awsapi.Error { return e.APIError(awsapi.Query) }),
		awsapi.As(func(e *policy.SyntaxError) *awsapi.Error {
			return &awsapi.Error{Code: "MalformedPolicyDocument", Message: e.Message}
		}),
		// Writers that keep losing to others for the store's whole retry
		// window: IAM's answer to simultaneous changes of one entity.
		awsapi.Is(store.ErrConflict, awsapi.Error{Code: "ConcurrentModification",
			Message: "The request was rejected because multiple requests to change this object were submitted simultaneously. Wait a few minutes and submit your request again."}),
	)
}

// The sentences of IAM's errors about entities, shared by the handlers of
// roles, users, groups and policies.

func noSuchEntity(noun, name string) error {
	return iamError(errNoSuchEntity, "The %s with name %s cannot be found.", noun, name)
}

func noSuchInlinePolicy(noun, name string) error {
	return iamError(errNoSuchEntity, "The %s policy with name %s cannot be found.", noun, name)
}

func noSuchPolicy(arn string) error {
	return iamError(errNoSuchEntity, "Policy %s was not found.", arn)
}

func notAttachable(arn string) error {
	return iamError(errNoSuchEntity, "Policy %s does not exist or is not attachable.", arn)
}

func quotaExceeded(quota string, limit int) error {
	return iamError(errLimitExceeded, "Cannot exceed quota for %s: %d", quota, limit)
}

func mustDetachPolicies() error {
	return iamError(errDeleteConflict, "Cannot delete entity, must detach all policies first.")
}

func mustDeletePolicies() error {
	return iamError(errDeleteConflict, "Cannot delete entity, must delete policies first.")
}
