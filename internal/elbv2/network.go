package elbv2

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"sort"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/elbv2/elbv2state"
	"github.com/berth/berth/internal/elbv2/elbv2types"
	"github.com/berth/berth/internal/store"
)

// ensureDefaultVPC makes the region's default VPC if it has none yet, so
// that, as in AWS, its subnets and group exist before anything names them.
// A region whose default VPC was deleted has none, which is no error.
func (e *ELBv2) ensureDefaultVPC(ctx context.Context) error {
	_, err := ec2state.EnsureDefaultVPC(ctx, e.store, e.defaultVPC.Spec(region(ctx), e.account, e.now()))
	if errors.Is(err, ec2state.ErrNoDefaultVPC) {
		return nil
	}
	return err
}

// subnetIDs are the subnets a request names, as Subnets or SubnetMappings
// (of which berth takes the subnet alone).
func subnetIDs(subnets []string, mappings []elbv2types.SubnetMapping) ([]string, error) {
	if len(subnets) > 0 && len(mappings) > 0 {
		return nil, validation("You can specify subnets or subnet mappings, not both") // UNVERIFIED wording
	}
	ids := slices.Clone(subnets)
	for _, m := range mappings {
		if m.AllocationId != nil || m.PrivateIPv4Address != nil || m.IPv6Address != nil || m.SourceNatIpv6Prefix != nil {
			return nil, unsupported("addresses in subnet mappings (a network load balancer's)")
		}
		ids = append(ids, awsapi.Deref(m.SubnetId))
	}
	return ids, nil
}

// resolveSubnets reads the subnets ids name (repeats counting once), all
// of one VPC, at most one per zone, in at least two zones as an ALB needs,
// and returns them sorted by zone.
func (e *ELBv2) resolveSubnets(ctx context.Context, ids []string) ([]ec2state.Subnet, error) {
	if err := e.ensureDefaultVPC(ctx); err != nil {
		return nil, err
	}
	var subnets []ec2state.Subnet
	for _, id := range ids {
		if slices.ContainsFunc(subnets, func(s ec2state.Subnet) bool { return s.ID == id }) {
			continue
		}
		sub, err := store.Get[ec2state.Subnet](ctx, e.store, ec2state.SubnetKey(region(ctx), id))
		if errors.Is(err, store.ErrNotFound) {
			return nil, kindError(errSubnetNotFound, "The subnet ID '%s' is not valid", id) // UNVERIFIED wording
		}
		if err != nil {
			return nil, err
		}
		if len(subnets) > 0 && sub.Value.VPCID != subnets[0].VPCID {
			return nil, kindError(errInvalidSubnet, "The subnets must all be in the same VPC") // UNVERIFIED wording
		}
		if slices.ContainsFunc(subnets, func(s ec2state.Subnet) bool { return s.AvailabilityZone == sub.Value.AvailabilityZone }) {
			return nil, kindError(errInvalidConfiguration, "More than 1 subnet cannot be specified for 1 availability zone") // UNVERIFIED wording
		}
		subnets = append(subnets, sub.Value)
	}
	if len(subnets) < 2 {
		return nil, validation("At least two subnets in two different Availability Zones must be specified")
	}
	sort.Slice(subnets, func(i, j int) bool { return subnets[i].AvailabilityZone < subnets[j].AvailabilityZone })
	return subnets, nil
}

// resolveGroups checks that the security groups ids name exist in vpc and
// returns them without repeats; none means the VPC's default group.
func (e *ELBv2) resolveGroups(ctx context.Context, vpcID string, ids []string) ([]string, error) {
	if len(ids) == 0 {
		vpc, err := store.Get[ec2state.VPC](ctx, e.store, ec2state.VPCKey(region(ctx), vpcID))
		if err != nil {
			return nil, err
		}
		return []string{vpc.Value.DefaultGroupID}, nil
	}
	var out []string
	for _, id := range ids {
		if slices.Contains(out, id) {
			continue
		}
		g, err := store.Get[ec2state.SecurityGroup](ctx, e.store, ec2state.GroupKey(region(ctx), id))
		if errors.Is(err, store.ErrNotFound) {
			return nil, kindError(errInvalidSecurityGroup, "Security group '%s' does not exist", id) // UNVERIFIED wording
		}
		if err != nil {
			return nil, err
		}
		if g.Value.VPCID != vpcID {
			// UNVERIFIED wording.
			return nil, kindError(errInvalidSecurityGroup, "Security group '%s' does not belong to VPC '%s'", id, vpcID)
		}
		out = append(out, id)
	}
	return out, nil
}

// interfaceID is the id of the load balancer's interface in a subnet,
// derived from both so that it is found again, and made again harmlessly,
// without a lookup.
func interfaceID(lbARN, subnetID string) string {
	sum := sha256.Sum256([]byte(lbARN + "|" + subnetID))
	return ec2state.InterfaceIDPrefix + hex.EncodeToString(sum[:])[:17]
}

// createInterfaces makes the load balancer's interface in each subnet (or
// finds it made) and returns the subnets with their interfaces. On failure
// it removes those it made for subnets the load balancer does not have
// already (lb.Subnets).
func (e *ELBv2) createInterfaces(ctx context.Context, lb elbv2state.LoadBalancer, subnets []ec2state.Subnet) ([]elbv2state.LoadBalancerSubnet, error) {
	out := make([]elbv2state.LoadBalancerSubnet, 0, len(subnets))
	for _, sub := range subnets {
		eni, err := ec2state.CreateInterface(ctx, e.store, ec2state.InterfaceSpec{
			Region: lb.Region, Account: lb.Account, ID: interfaceID(lb.ARN, sub.ID), SubnetID: sub.ID,
			Groups: lb.SecurityGroups, Description: "ELB app/" + lb.Name + "/" + lb.ID,
			RequesterID: ec2state.RequesterELB, Owner: lb.ARN, Now: e.now(),
		})
		if err != nil {
			e.deleteInterfaces(ctx, lb.Region, dropped(out, lb.Subnets))
			if errors.Is(err, ec2state.ErrSubnetFull) {
				return nil, kindError(errInvalidSubnet, "Not enough IP space available in %s. ELB requires at least 8 free IP addresses in each subnet.", sub.ID)
			}
			return nil, err
		}
		out = append(out, elbv2state.LoadBalancerSubnet{
			SubnetID: sub.ID, AvailabilityZone: sub.AvailabilityZone, InterfaceID: eni.ID, Address: eni.PrivateIP,
		})
	}
	return out, nil
}

// deleteInterfaces removes the interfaces of subnets, logging failures: an
// interface left behind is removed by the next drain sweep.
func (e *ELBv2) deleteInterfaces(ctx context.Context, region string, subnets []elbv2state.LoadBalancerSubnet) {
	for _, s := range subnets {
		if err := ec2state.DeleteInterface(ctx, e.store, region, s.InterfaceID); err != nil {
			e.log.Warn("could not remove a load balancer's interface; the drain sweep will", "interface", s.InterfaceID, "err", err)
		}
	}
}

// setInterfaceGroups gives the load balancer's interfaces its security
// groups, so that EC2 shows them as they are.
func (e *ELBv2) setInterfaceGroups(ctx context.Context, lb elbv2state.LoadBalancer) error {
	for _, s := range lb.Subnets {
		_, err := store.Update(ctx, e.store, ec2state.InterfaceKey(lb.Region, s.InterfaceID), func(eni *ec2state.NetworkInterface, found bool) error {
			if !found {
				return store.ErrUnchanged
			}
			eni.Groups = slices.Clone(lb.SecurityGroups)
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
