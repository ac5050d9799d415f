package ecs

import (
	"context"
	"errors"
	"slices"
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
	vpcOf := map[string]string{} // subnet or group -> its VPC
	missing, err := vpcsOf(ctx, s.store, vpc.Subnets, func(id string) string { return ec2state.SubnetKey(region, id) },
		func(sn ec2state.Subnet) string { return sn.VPCID }, vpcOf)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		// OBSERVED in the wording CloudFormation relays from CreateService.
		return invalidParameter("Error retrieving subnet information for [%s]: The subnet ID '%s' does not exist (ErrorCode: InvalidSubnetID.NotFound)",
			strings.Join(missing, ", "), missing[0])
	}
	missing, err = vpcsOf(ctx, s.store, vpc.SecurityGroups, func(id string) string { return ec2state.GroupKey(region, id) },
		func(g ec2state.SecurityGroup) string { return g.VPCID }, vpcOf)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		// UNVERIFIED: in the form of the subnet message.
		return invalidParameter("Error retrieving security group information for [%s]: The security group '%s' does not exist (ErrorCode: InvalidGroup.NotFound)",
			strings.Join(missing, ", "), missing[0])
	}
	first := vpcOf[vpc.Subnets[0]]
	for _, id := range slices.Concat(vpc.Subnets[1:], vpc.SecurityGroups) {
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

// vpcsOf reads the records ids name, notes each one's VPC in vpcOf, and
// returns the ids that have no record.
func vpcsOf[T any](ctx context.Context, st store.Store, ids []string, key func(string) string, vpcID func(T) string, vpcOf map[string]string) ([]string, error) {
	var missing []string
	for _, id := range ids {
		rec, err := store.Get[T](ctx, st, key(id))
		switch {
		case errors.Is(err, store.ErrNotFound):
			missing = append(missing, id)
		case err != nil:
			return nil, err
		default:
			vpcOf[id] = vpcID(rec.Value)
		}
	}
	return missing, nil
}
