package ec2

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/awsapitest"
	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/store"
)

func TestErrorTable(t *testing.T) {
	const internal = "An internal error has occurred"
	awsapitest.CheckErrorTable(t, newErrorTable, []awsapitest.ErrorCase{
		{Name: "vpc", Err: vpcNotFound("vpc-1"), Code: "InvalidVpcID.NotFound", Message: "The vpc ID 'vpc-1' does not exist", Status: 400},
		{Name: "subnet", Err: fmt.Errorf("x: %w", subnetNotFound("subnet-1")), Code: "InvalidSubnetID.NotFound", Message: "The subnet ID 'subnet-1' does not exist", Status: 400},
		{Name: "group", Err: groupNotFound("sg-1"), Code: "InvalidGroup.NotFound", Message: "The security group 'sg-1' does not exist", Status: 400},
		{Name: "group name", Err: groupNameNotFound("web", "vpc-1"), Code: "InvalidGroup.NotFound", Message: "The security group 'web' does not exist in default VPC 'vpc-1'", Status: 400},
		{Name: "malformed group", Err: groupIDMalformed("web"), Code: "InvalidGroupId.Malformed", Message: `Invalid id: "web" (expecting "sg-...")`, Status: 400},
		{Name: "rule", Err: ruleNotFound("sgr-1"), Code: "InvalidSecurityGroupRuleId.NotFound", Message: "The security group rule ID 'sgr-1' does not exist", Status: 400},
		{Name: "interface", Err: interfaceNotFound("eni-1"), Code: "InvalidNetworkInterfaceID.NotFound", Message: "The networkInterface ID 'eni-1' does not exist", Status: 400},
		{Name: "invalid id", Err: invalidID("i-1"), Code: "InvalidID", Message: "The ID 'i-1' is not valid", Status: 400},
		{Name: "missing", Err: missingParameter("VpcId"), Code: "MissingParameter", Message: "The request must contain the parameter VpcId", Status: 400},
		{Name: "dependency", Err: dependencyViolation("resource %s has a dependent object", "sg-1"), Code: "DependencyViolation", Message: "resource sg-1 has a dependent object", Status: 400},
		{Name: "reserved", Err: errGroupReserved, Code: "InvalidGroup.Reserved", Message: "The security group 'default' is reserved", Status: 400},
		{Name: "rule not found", Err: errPermissionNotFound, Code: "InvalidPermission.NotFound", Message: "The specified rule does not exist in this security group.", Status: 400},
		{Name: "default vpc exists", Err: errDefaultVPCExists, Code: "DefaultVpcAlreadyExists", Message: "A Default VPC already exists for this account in this region.", Status: 400},
		{Name: "no default vpc", Err: fmt.Errorf("x: %w", ec2state.ErrNoDefaultVPC), Code: "VPCIdNotSpecified", Message: "No default VPC for this user", Status: 400},
		{Name: "unsupported", Err: unsupported("IPv6 blocks"), Code: "UnsupportedOperation", Message: "berth does not support IPv6 blocks.", Status: 400},
		{Name: "dry run", Err: errDryRun, Code: "DryRunOperation", Message: "Request would have succeeded, but DryRun flag is set.", Status: 412},
		{Name: "token", Err: errPaginationToken, Code: "InvalidPaginationToken", Message: "The specified pagination token is not valid or is expired.", Status: 400},
		{Name: "store failure", Err: fmt.Errorf("list: %w", store.ErrClosed), Code: "InternalError", Message: internal, Status: 500, Logged: true},
		{Name: "unknown", Err: errors.New("disk on fire"), Code: "InternalError", Message: internal, Status: 500, Logged: true},
		{Name: "cancelled", Err: context.Canceled, Code: "InternalFailure", Message: awsapi.InternalFailure().Message, Status: 500},
	})
}
