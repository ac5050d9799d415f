package acm

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/berth/berth/internal/acm/acmstate"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/pki"
)

// Errors of the ACM API. Handlers return these (wrapped or not) and the
// store's errors; newErrorTable says what ACM answers for each, and is the
// one place that does. Each kind carries its own sentence (WithMessage).
// Messages marked UNVERIFIED follow ACM's style where no capture of the
// real text was available.
var (
	errInvalidARN                  = errors.New("invalid arn")
	errValidation                  = errors.New("validation")
	errInvalidParameter            = errors.New("invalid parameter")
	errInvalidArgs                 = errors.New("invalid args")
	errInvalidDomainValidationOpts = errors.New("invalid domain validation options")
	errInvalidTag                  = errors.New("invalid tag")
	errTooManyTags                 = errors.New("too many tags")
	errResourceInUse               = errors.New("resource in use")
	errInvalidState                = errors.New("invalid state")
	errUnsupported                 = errors.New("unsupported")
)

// notFound answers that no certificate of the region has arn.
func notFound(arn string) error {
	// OBSERVED: ACM's sentence, period included.
	return awsapi.WithMessage(acmstate.ErrNotFound, "Could not find certificate %s.", arn)
}

func invalidARN(arn string) error {
	// UNVERIFIED wording.
	return awsapi.WithMessage(errInvalidARN, "The ARN %s is not a valid certificate ARN.", arn)
}

func validation(format string, args ...any) error {
	return awsapi.WithMessage(errValidation, format, args...)
}

func invalidParameter(format string, args ...any) error {
	return awsapi.WithMessage(errInvalidParameter, format, args...)
}

func invalidDomainValidationOptions(format string, args ...any) error {
	return awsapi.WithMessage(errInvalidDomainValidationOpts, format, args...)
}

func invalidTag(format string, args ...any) error {
	return awsapi.WithMessage(errInvalidTag, format, args...)
}

func invalidState(format string, args ...any) error {
	return awsapi.WithMessage(errInvalidState, format, args...)
}

// inUse refuses to delete a certificate a load balancer uses.
func inUse(cert acmstate.Certificate) error {
	// OBSERVED: ACM's sentence.
	return awsapi.WithMessage(errResourceInUse, "Certificate %s in account %s is in use.", cert.ARN, accountOf(cert.ARN))
}

func accountOf(arn string) string {
	_, account, _, _ := acmstate.ParseARN(arn)
	return account
}

// unsupported refuses an operation, or a part of one, that berth does not
// implement.
func unsupported(what string) error {
	return awsapi.WithMessage(errUnsupported, "berth does not support %s yet.", what)
}

// modelViolation is the gateway's own ValidationException for a rule of
// the model the gateway cannot check itself (the domain name pattern uses
// lookahead, which Go's regular expressions lack), in its words: path is
// the member path, value as AWS's messages show it.
func modelViolation(path, value, constraint string) error {
	return validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, path, constraint)
}

// javaList shows a list as AWS's messages do (Java's toString).
func javaList(items []string) string { return "[" + strings.Join(items, ", ") + "]" }

// newErrorTable is ACM's error table. A failure of berth itself is
// InternalFailure, logged to log.
func newErrorTable(log *slog.Logger) *awsapi.ErrorTable {
	return awsapi.NewErrorTable(log,
		*awsapi.InternalFailure(),
		awsapi.Is(acmstate.ErrNotFound, awsapi.Error{Code: "ResourceNotFoundException", Message: "Could not find certificate."}),
		awsapi.Is(errInvalidARN, awsapi.Error{Code: "InvalidArnException"}),
		awsapi.Is(errValidation, awsapi.Error{Code: "ValidationException"}),
		awsapi.Is(errInvalidParameter, awsapi.Error{Code: "InvalidParameterException"}),
		awsapi.Is(errInvalidArgs, awsapi.Error{Code: "InvalidArgsException"}),
		awsapi.Is(errInvalidDomainValidationOpts, awsapi.Error{Code: "InvalidDomainValidationOptionsException"}),
		awsapi.Is(errInvalidTag, awsapi.Error{Code: "InvalidTagException"}),
		awsapi.Is(errTooManyTags, awsapi.Error{Code: "TooManyTagsException"}),
		awsapi.Is(errResourceInUse, awsapi.Error{Code: "ResourceInUseException"}),
		awsapi.Is(errInvalidState, awsapi.Error{Code: "InvalidStateException"}),
		// UNVERIFIED: ACM has no code of its own for "not implemented";
		// ValidationException is its answer to input it does not take.
		awsapi.Is(errUnsupported, awsapi.Error{Code: "ValidationException"}),
		// UNVERIFIED wording: the key algorithms RequestCertificate takes.
		awsapi.Is(pki.ErrKeyAlgorithm, awsapi.Error{Code: "ValidationException",
			Message: fmt.Sprintf("The key algorithm must be one of %s for a requested certificate.", javaList(requestKeyAlgorithms))}),
	)
}
