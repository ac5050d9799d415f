package ecs

import (
	"context"
	"errors"
	"strings"

	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/store"
)

// checkVPCResources checks that an awsvpc configuration's subnets and
// security groups exist in the region, as ECS asks EC2 before it accepts a
// task or a service, and that they are all of one VPC.
func (s *service) checkVPCResources(ctx context.Context, region string, vpc *ecstypes.AwsVpcConfiguration) error {
	if vpc == nil {
		return nil
	}
	var missing []string
	vpcOf := map[string]string{} // subnet or group -> its VPC
	for _, id := range vpc.Subnets {
		sn, err := store.Get[ec2state.Subnet](ctx, s.store, ec2state.SubnetKey(region, id))
		switch {
		case errors.Is(err, store.ErrNotFound):
			missing = append(missing, id)
		case err != nil:
			return err
		default:
			vpcOf[id] = sn.Value.VPCID
		}
	}
	if len(missing) > 0 {
		// OBSERVED in the wording CloudFormation relays from CreateService.
		return invalidParameter("Error retrieving subnet information for [%s]: The subnet ID '%s' does not exist (ErrorCode: InvalidSubnetID.NotFound)",
			strings.Join(missing, ", "), missing[0])
	}
	for _, id := range vpc.SecurityGroups {
		g, err := store.Get[ec2state.SecurityGroup](ctx, s.store, ec2state.GroupKey(region, id))
		switch {
		case errors.Is(err, store.ErrNotFound):
			missing = append(missing, id)
		case err != nil:
			return err
		default:
			vpcOf[id] = g.Value.VPCID
		}
	}
	if len(missing) > 0 {
		// UNVERIFIED: in the form of the subnet message.
		return invalidParameter("Error retrieving security group information for [%s]: The security group '%s' does not exist (ErrorCode: InvalidGroup.NotFound)",
			strings.Join(missing, ", "), missing[0])
	}
	first := vpcOf[vpc.Subnets[0]]
	for _, id := range append(vpc.Subnets[1:], vpc.SecurityGroups...) {
		if vpcOf[id] != first {
			kind := "subnet"
			if strings.HasPrefix(id, ec2state.GroupIDPrefix) {
				kind = "security group"
			}
			// UNVERIFIED wording.
			return invalidParameter("The %s %s is in VPC %s, not in VPC %s of subnet %s: a task's subnets and security groups must all belong to one VPC.",
				kind, id, vpcOf[id], first, vpc.Subnets[0])
		}
	}
	return nil
}
