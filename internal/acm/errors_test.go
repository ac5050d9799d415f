package acm

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/berth/berth/internal/acm/acmstate"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/awsapitest"
	"github.com/berth/berth/internal/pki"
	"github.com/berth/berth/internal/store"
)

func TestErrorTable(t *testing.T) {
	const arn = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
	internal := awsapi.InternalFailure().Message
	awsapitest.CheckErrorTable(t, newErrorTable, []awsapitest.ErrorCase{
		{Name: "not found", Err: notFound(arn), Code: "ResourceNotFoundException", Message: "Could not find certificate " + arn + ".", Status: 400},
		{Name: "bare not found", Err: fmt.Errorf("get: %w", acmstate.ErrNotFound), Code: "ResourceNotFoundException", Message: "Could not find certificate.", Status: 400},
		{Name: "invalid arn", Err: invalidARN("arn:aws:acm:us-east-1:1:x"), Code: "InvalidArnException",
			Message: "The ARN arn:aws:acm:us-east-1:1:x is not a valid certificate ARN.", Status: 400},
		{Name: "in use", Err: inUse(acmstate.Certificate{ARN: arn}), Code: "ResourceInUseException",
			Message: "Certificate " + arn + " in account 123456789012 is in use.", Status: 400},
		{Name: "validation", Err: validation("bad"), Code: "ValidationException", Message: "bad", Status: 400},
		{Name: "model rule", Err: modelViolation("domainName", "x", "rule"), Code: "ValidationException",
			Message: "1 validation error detected: Value 'x' at 'domainName' failed to satisfy constraint: rule", Status: 400},
		{Name: "invalid parameter", Err: invalidParameter("p"), Code: "InvalidParameterException", Message: "p", Status: 400},
		{Name: "invalid args", Err: awsapi.WithMessage(errInvalidArgs, "a"), Code: "InvalidArgsException", Message: "a", Status: 400},
		{Name: "domain validation options", Err: invalidDomainValidationOptions("d"), Code: "InvalidDomainValidationOptionsException", Message: "d", Status: 400},
		{Name: "tag", Err: invalidTag("t"), Code: "InvalidTagException", Message: "t", Status: 400},
		{Name: "too many tags", Err: awsapi.WithMessage(errTooManyTags, "n"), Code: "TooManyTagsException", Message: "n", Status: 400},
		{Name: "state", Err: invalidState("s"), Code: "InvalidStateException", Message: "s", Status: 400},
		{Name: "unsupported", Err: unsupported("SearchCertificates"), Code: "ValidationException", Message: "berth does not support SearchCertificates yet.", Status: 400},
		{Name: "key algorithm", Err: fmt.Errorf("issue: %w", pki.ErrKeyAlgorithm), Code: "ValidationException",
			Message: "The key algorithm must be one of [RSA_2048, EC_prime256v1, EC_secp384r1] for a requested certificate.", Status: 400},
		{Name: "store failure", Err: fmt.Errorf("list: %w", store.ErrClosed), Code: "InternalFailure", Message: internal, Status: 500, Logged: true},
		{Name: "unknown", Err: errors.New("disk on fire"), Code: "InternalFailure", Message: internal, Status: 500, Logged: true},
		{Name: "cancelled", Err: context.Canceled, Code: "InternalFailure", Message: internal, Status: 500},
	})
}
