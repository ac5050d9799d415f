package ec2

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ec2/ec2state"
)

// Errors of the EC2 API: kinds that carry their own sentence
// (awsapi.WithMessage), as EC2's codes are few and its messages name the
// resource. newErrorTable says what EC2 answers for each, and is the one
// place that does. Sentences marked OBSERVED are quoted from real EC2
// output in public reports; the others follow EC2's style and are marked
// UNVERIFIED where they are built.
var (
	errVPCNotFound        = errors.New("vpc not found")
	errSubnetNotFound     = errors.New("subnet not found")
	errGroupNotFound      = errors.New("security group not found")
	errGroupIDMalformed   = errors.New("malformed security group id")
	errRuleNotFound       = errors.New("security group rule not found")
	errInterfaceNotFound  = errors.New("network interface not found")
	errInvalidID          = errors.New("invalid id")
	errInvalidValue       = errors.New("invalid parameter value")
	errInvalidCombination = errors.New("invalid parameter combination")
	errMissingParameter   = errors.New("missing parameter")
	errVPCRange           = errors.New("invalid vpc range")
	errSubnetRange        = errors.New("invalid subnet range")
	errSubnetConflict     = errors.New("subnet conflict")
	errDependency         = errors.New("dependency violation")
	errCannotDelete       = errors.New("cannot delete")
	errGroupDuplicate     = errors.New("duplicate security group")
	errGroupReserved      = errors.New("reserved security group name")
	errPermissionExists   = errors.New("duplicate permission")
	errPermissionNotFound = errors.New("permission not found")
	errRulesLimit         = errors.New("rules per security group limit")
	errTagLimit           = errors.New("tag limit")
	errDefaultVPCExists   = errors.New("default vpc exists")
	errPaginationToken    = errors.New("invalid pagination token")
	errUnsupported        = errors.New("unsupported")
	errDryRun             = errors.New("dry run")
)

func vpcNotFound(id string) error {
	return awsapi.WithMessage(errVPCNotFound, "The vpc ID '%s' does not exist", id)
}

func subnetNotFound(id string) error {
	return awsapi.WithMessage(errSubnetNotFound, "The subnet ID '%s' does not exist", id)
}

func groupNotFound(ref string) error {
	return awsapi.WithMessage(errGroupNotFound, "The security group '%s' does not exist", ref)
}

// groupNameNotFound is a group named in the default VPC that has none of
// the name.
func groupNameNotFound(name, vpcID string) error {
	return awsapi.WithMessage(errGroupNotFound, "The security group '%s' does not exist in default VPC '%s'", name, vpcID)
}

// groupIDMalformed: OBSERVED.
func groupIDMalformed(id string) error {
	return awsapi.WithMessage(errGroupIDMalformed, `Invalid id: "%s" (expecting "sg-...")`, id)
}

func ruleNotFound(id string) error {
	// UNVERIFIED wording.
	return awsapi.WithMessage(errRuleNotFound, "The security group rule ID '%s' does not exist", id)
}

func interfaceNotFound(id string) error {
	// OBSERVED.
	return awsapi.WithMessage(errInterfaceNotFound, "The networkInterface ID '%s' does not exist", id)
}

func invalidID(id string) error {
	return awsapi.WithMessage(errInvalidID, "The ID '%s' is not valid", id)
}

func invalidValue(format string, args ...any) error {
	return awsapi.WithMessage(errInvalidValue, format, args...)
}

func invalidCombination(format string, args ...any) error {
	return awsapi.WithMessage(errInvalidCombination, format, args...)
}

func missingParameter(name string) error {
	return awsapi.WithMessage(errMissingParameter, "The request must contain the parameter %s", name)
}

func dependencyViolation(format string, args ...any) error {
	return awsapi.WithMessage(errDependency, format, args...)
}

// unsupported refuses an operation, or a part of one, berth does not
// implement.
func unsupported(format string, args ...any) error {
	return awsapi.WithMessage(errUnsupported, "berth does not support "+format+".", args...)
}

// The sentences several operations share.
const (
	// OBSERVED.
	msgRuleNotFound = "The specified rule does not exist in this security group."
	// OBSERVED.
	msgSamePermission = "The same permission must not appear multiple times"
)

// newErrorTable is EC2's error table. A failure of berth itself is
// InternalError, logged to log.
func newErrorTable(log *slog.Logger) *awsapi.ErrorTable {
	return awsapi.NewErrorTable(log,
		awsapi.Error{Code: "InternalError", Message: "An internal error has occurred", Status: http.StatusInternalServerError},
		awsapi.Is(errVPCNotFound, awsapi.Error{Code: "InvalidVpcID.NotFound"}),
		awsapi.Is(errSubnetNotFound, awsapi.Error{Code: "InvalidSubnetID.NotFound"}),
		awsapi.Is(errGroupNotFound, awsapi.Error{Code: "InvalidGroup.NotFound"}),
		awsapi.Is(errGroupIDMalformed, awsapi.Error{Code: "InvalidGroupId.Malformed"}),
		awsapi.Is(errRuleNotFound, awsapi.Error{Code: "InvalidSecurityGroupRuleId.NotFound"}),
		awsapi.Is(errInterfaceNotFound, awsapi.Error{Code: "InvalidNetworkInterfaceID.NotFound"}),
		awsapi.Is(errInvalidID, awsapi.Error{Code: "InvalidID"}),
		awsapi.Is(errInvalidValue, awsapi.Error{Code: "InvalidParameterValue"}),
		awsapi.Is(errInvalidCombination, awsapi.Error{Code: "InvalidParameterCombination"}),
		awsapi.Is(errMissingParameter, awsapi.Error{Code: "MissingParameter"}),
		awsapi.Is(errVPCRange, awsapi.Error{Code: "InvalidVpc.Range"}),
		awsapi.Is(errSubnetRange, awsapi.Error{Code: "InvalidSubnet.Range"}),
		awsapi.Is(errSubnetConflict, awsapi.Error{Code: "InvalidSubnet.Conflict"}),
		awsapi.Is(errDependency, awsapi.Error{Code: "DependencyViolation"}),
		awsapi.Is(errCannotDelete, awsapi.Error{Code: "CannotDelete"}),
		awsapi.Is(errGroupDuplicate, awsapi.Error{Code: "InvalidGroup.Duplicate"}),
		// UNVERIFIED wording.
		awsapi.Is(errGroupReserved, awsapi.Error{Code: "InvalidGroup.Reserved", Message: "The security group 'default' is reserved"}),
		awsapi.Is(errPermissionExists, awsapi.Error{Code: "InvalidPermission.Duplicate"}),
		awsapi.Is(errPermissionNotFound, awsapi.Error{Code: "InvalidPermission.NotFound", Message: msgRuleNotFound}),
		// UNVERIFIED wording.
		awsapi.Is(errRulesLimit, awsapi.Error{Code: "RulesPerSecurityGroupLimitExceeded", Message: "The maximum number of rules per security group has been reached."}),
		// UNVERIFIED wording.
		awsapi.Is(errTagLimit, awsapi.Error{Code: "TagLimitExceeded", Message: "The maximum number of Tags for a resource has been reached."}),
		// UNVERIFIED wording.
		awsapi.Is(errDefaultVPCExists, awsapi.Error{Code: "DefaultVpcAlreadyExists", Message: "A Default VPC already exists for this account in this region."}),
		// UNVERIFIED wording.
		awsapi.Is(errPaginationToken, awsapi.Error{Code: "InvalidPaginationToken", Message: "The specified pagination token is not valid or is expired."}),
		awsapi.Is(errUnsupported, awsapi.Error{Code: "UnsupportedOperation"}),
		// OBSERVED; EC2 answers it with 412.
		awsapi.Is(errDryRun, awsapi.Error{Code: "DryRunOperation", Message: "Request would have succeeded, but DryRun flag is set.", Status: http.StatusPreconditionFailed}),
		// A call that needs the default VPC in a region whose default VPC
		// the user deleted. UNVERIFIED wording.
		awsapi.Is(ec2state.ErrNoDefaultVPC, awsapi.Error{Code: "VPCIdNotSpecified", Message: "No default VPC for this user"}),
	)
}
