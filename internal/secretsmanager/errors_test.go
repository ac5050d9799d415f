package secretsmanager

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/awsapitest"
	"github.com/berth/berth/internal/iam/policy"
	"github.com/berth/berth/internal/secretbox"
	"github.com/berth/berth/internal/store"
)

func TestErrorTable(t *testing.T) {
	const internal = "An error occurred on the server side."
	awsapitest.CheckErrorTable(t, newErrorTable, []awsapitest.ErrorCase{
		{Name: "secret not found", Err: ErrSecretNotFound, Code: "ResourceNotFoundException", Message: "Secrets Manager can't find the specified secret.", Status: 400},
		{Name: "wrapped not found", Err: fmt.Errorf("resolve: %w", ErrSecretNotFound), Code: "ResourceNotFoundException", Message: "Secrets Manager can't find the specified secret.", Status: 400},
		{Name: "version not found", Err: versionNotFound("Secrets Manager can't find the specified secret value for VersionId: %s", "v1"),
			Code: "ResourceNotFoundException", Message: "Secrets Manager can't find the specified secret value for VersionId: v1", Status: 400},
		{Name: "marked for deletion", Err: ErrMarkedForDeletion, Code: "InvalidRequestException", Message: "You can't perform this operation on the secret because it was marked for deletion.", Status: 400},
		{Name: "invalid name", Err: errInvalidName, Code: "ValidationException",
			Message: "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!", Status: 400},
		{Name: "invalid parameter", Err: invalidParameter(msgStringAndBinary), Code: "InvalidParameterException", Message: msgStringAndBinary, Status: 400},
		{Name: "invalid request", Err: invalidRequest(msgCreateScheduled), Code: "InvalidRequestException", Message: msgCreateScheduled, Status: 400},
		{Name: "exists", Err: resourceExists(msgSecretExistsFormat, "db"), Code: "ResourceExistsException", Message: "The operation failed because the secret db already exists.", Status: 400},
		{Name: "limit", Err: limitExceeded("too many"), Code: "LimitExceededException", Message: "too many", Status: 400},
		{Name: "unsupported", Err: unsupported("replication"), Code: "InvalidRequestException", Message: "berth does not support replication yet.", Status: 400},
		{Name: "public policy", Err: errPublicPolicy, Code: "PublicPolicyException", Message: "This resource policy grants broad access to the secret, and BlockPublicPolicy is set.", Status: 400},
		{Name: "next token", Err: errInvalidNextToken, Code: "InvalidNextTokenException", Message: "The NextToken value is invalid.", Status: 400},
		{Name: "malformed policy", Err: &policy.SyntaxError{Message: "Syntax errors in policy."}, Code: "MalformedPolicyDocumentException", Message: "This policy has invalid syntax.", Status: 400},
		{Name: "sealed value", Err: fmt.Errorf("open: %w", secretbox.ErrOpen), Code: "DecryptionFailure",
			Message: "Secrets Manager can't decrypt the protected secret text using the provided KMS key.", Status: 400},
		{Name: "store failure", Err: fmt.Errorf("list: %w", store.ErrClosed), Code: "InternalServiceError", Message: internal, Status: 500, Logged: true},
		{Name: "unknown", Err: errors.New("disk on fire"), Code: "InternalServiceError", Message: internal, Status: 500, Logged: true},
		{Name: "cancelled", Err: context.Canceled, Code: "InternalFailure", Message: awsapi.InternalFailure().Message, Status: 500},
	})
}
