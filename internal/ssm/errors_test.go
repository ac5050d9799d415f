package ssm

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/awsapitest"
	"github.com/berth/berth/internal/store"
)

func TestErrorTable(t *testing.T) {
	const serverMessage = "An error occurred on the server side."
	passed := awsapi.Errorf("ValidationException", "one-off")
	awsapitest.CheckErrorTable(t, newErrorTable, []awsapitest.ErrorCase{
		{Name: "not found", Err: ErrParameterNotFound, Code: "ParameterNotFound", Message: "", Status: 400},
		{Name: "version not found", Err: versionNotFound("/a", 3), Code: "ParameterVersionNotFound",
			Message: "Systems Manager could not find version 3 of /a. Verify the version and try again.", Status: 400},
		{Name: "exists", Err: errAlreadyExists, Code: "ParameterAlreadyExists",
			Message: "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.", Status: 400},
		{Name: "invalid name", Err: invalidName(), Code: "ValidationException", Message: invalidName().(*awsapi.MessageError).Message, Status: 400},
		{Name: "reserved name", Err: reservedName("awsx"), Code: "AccessDeniedException", Message: "No access to reserved parameter name: awsx.", Status: 400},
		{Name: "validation", Err: invalid("bad %s", "input"), Code: "ValidationException", Message: "bad input", Status: 400},
		{Name: "hierarchy", Err: errHierarchyLevelLimit, Code: "HierarchyLevelLimitExceededException",
			Message: "A hierarchy can have a maximum of 15 levels.", Status: 400},
		{Name: "type mismatch", Err: errTypeMismatch, Code: "HierarchyTypeMismatchException",
			Message: "Parameter Store doesn't support changing a parameter type in a hierarchy. For example, you can't change a parameter from a String type to a SecureString type. You must create a new, unique parameter.", Status: 400},
		{Name: "limit", Err: errParameterLimit, Code: "ParameterLimitExceeded",
			Message: "You have exceeded the number of parameters for this Amazon Web Services account. Delete one or more parameters and try again.", Status: 400},
		{Name: "labels", Err: errLabelLimit, Code: "ParameterVersionLabelLimitExceeded",
			Message: "A parameter version can have maximum 10 labels.Move one or more labels to another version and try again.", Status: 400},
		{Name: "tags", Err: errTooManyTags, Code: "TooManyTagsError", Message: "", Status: 400},
		{Name: "resource", Err: errInvalidResourceID, Code: "InvalidResourceId", Message: "", Status: 400},
		{Name: "filter key", Err: awsapi.WithMessage(errInvalidFilterKey, "k"), Code: "InvalidFilterKey", Message: "k", Status: 400},
		{Name: "filter value", Err: awsapi.WithMessage(errInvalidFilterValue, "v"), Code: "InvalidFilterValue", Message: "v", Status: 400},
		{Name: "filter option", Err: awsapi.WithMessage(errInvalidFilterOption, "o"), Code: "InvalidFilterOption", Message: "o", Status: 400},
		{Name: "token", Err: errInvalidToken(), Code: "InvalidNextToken", Message: "The specified token isn't valid.", Status: 400},
		{Name: "key", Err: awsapi.WithMessage(errInvalidKeyID, "Invalid keyId x"), Code: "InvalidKeyId", Message: "Invalid keyId x", Status: 400},
		{Name: "pattern", Err: awsapi.WithMessage(errInvalidPattern, "p"), Code: "InvalidAllowedPatternException", Message: "p", Status: 400},
		{Name: "mismatch", Err: awsapi.WithMessage(errPatternMismatch, "m"), Code: "ParameterPatternMismatchException", Message: "m", Status: 400},
		{Name: "unsupported type", Err: awsapi.WithMessage(errUnsupportedType, "u"), Code: "UnsupportedParameterType", Message: "u", Status: 400},
		{Name: "version limit", Err: awsapi.WithMessage(errVersionLimit, "l"), Code: "ParameterMaxVersionLimitExceeded", Message: "l", Status: 400},
		{Name: "policies", Err: awsapi.WithMessage(errPoliciesLimit, "p"), Code: "PoliciesLimitExceededException", Message: "p", Status: 400},
		{Name: "policy type", Err: awsapi.WithMessage(errPolicyType, "p"), Code: "InvalidPolicyTypeException", Message: "p", Status: 400},
		{Name: "policy attribute", Err: awsapi.WithMessage(errPolicyAttribute, "p"), Code: "InvalidPolicyAttributeException", Message: "p", Status: 400},
		{Name: "incompatible policies", Err: awsapi.WithMessage(errIncompatiblePolicy, "p"), Code: "IncompatiblePolicyException", Message: "p", Status: 400},
		{Name: "wrapped", Err: fmt.Errorf("read: %w", ErrParameterNotFound), Code: "ParameterNotFound", Message: "", Status: 400},
		{Name: "AWS error", Err: passed, Code: "ValidationException", Message: "one-off", Status: 400},
		{Name: "store failure", Err: fmt.Errorf("get: %w", store.ErrClosed), Code: "InternalServerError", Message: serverMessage, Status: 500, Logged: true},
		{Name: "unknown", Err: errors.New("disk on fire"), Code: "InternalServerError", Message: serverMessage, Status: 500, Logged: true},
		{Name: "cancelled", Err: fmt.Errorf("get: %w", context.Canceled), Code: "InternalFailure", Message: awsapi.InternalFailure().Message, Status: 500},
	})
}

// The gateway's hooks answer in Systems Manager's words.
func TestServiceHooks(t *testing.T) {
	svc := New(Config{AccountID: testAccount}).Service()
	v := svc.ValidationError("maxResults", "11", "Member must have value less than or equal to 10")
	if v.Code != "ValidationException" ||
		v.Message != "1 validation error detected: Value '11' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 10" {
		t.Fatalf("validation error %+v", v)
	}
	if u := svc.Unsupported("SendCommand"); u.Code != "UnsupportedOperationException" || u.Message != "berth does not support SendCommand yet" {
		t.Fatalf("unsupported %+v", u)
	}
	if svc.TargetPrefix != "AmazonSSM" || svc.SigningName != "ssm" || svc.Protocol != awsapi.JSON11 {
		t.Fatalf("service %+v", svc)
	}
}
