package ec2

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/ec2/ec2types"
	"github.com/berth/berth/internal/store"
)

func (e *EC2) createSubnet(ctx context.Context, in *ec2types.CreateSubnetRequest) (*ec2types.CreateSubnetResult, error) {
	switch {
	case in.Ipv6CidrBlock != nil || awsapi.Deref(in.Ipv6Native) || in.Ipv6IpamPoolId != nil || in.Ipv6NetmaskLength != nil:
		return nil, unsupported("IPv6 blocks on subnets: berth's VPCs are IPv4 only")
	case in.Ipv4IpamPoolId != nil || in.Ipv4NetmaskLength != nil:
		return nil, unsupported("IPAM pools: give the subnet's CidrBlock")
	case in.OutpostArn != nil:
		return nil, unsupported("Outposts")
	case in.VpcId == nil:
		return nil, missingParameter("VpcId")
	case in.CidrBlock == nil:
		return nil, missingParameter("CidrBlock")
	}
	reg, vpcID, cidr := region(ctx), *in.VpcId, *in.CidrBlock
	prefix, err := parseCIDR("cidrBlock", cidr)
	if err != nil {
		return nil, err
	}
	zone, err := pickZone(reg, in.AvailabilityZone, in.AvailabilityZoneId)
	if err != nil {
		return nil, err
	}
	tags, err := specTags(in.TagSpecifications, typeSubnet)
	if err != nil {
		return nil, err
	}
	var subnet ec2state.Subnet
	err = store.Retry(ctx, func() error {
		vpc, err := store.Get[ec2state.VPC](ctx, e.store, ec2state.VPCKey(reg, vpcID))
		if errors.Is(err, store.ErrNotFound) {
			return vpcNotFound(vpcID)
		}
		if err != nil {
			return err
		}
		gen, genRev, err := ec2state.ReadGeneration(ctx, e.store, ec2state.VPCGenKey(reg, vpcID))
		if err != nil {
			return err
		}
		vpcRange, err := netip.ParsePrefix(vpc.Value.CIDR)
		if err != nil {
			return err
		}
		if prefix.Bits() < max(minPrefixBits, vpcRange.Bits()) || prefix.Bits() > maxPrefixBits || !vpcRange.Contains(prefix.Addr()) {
			// UNVERIFIED wording.
			return awsapi.WithMessage(errSubnetRange, "The CIDR '%s' is invalid.", cidr)
		}
		subnets, err := listRegion[ec2state.Subnet](ctx, e.store, ec2state.SubnetPrefix, reg)
		if err != nil {
			return err
		}
		for _, s := range subnets {
			other, err := netip.ParsePrefix(s.Value.CIDR)
			if s.Value.VPCID == vpcID && err == nil && other.Overlaps(prefix) {
				// OBSERVED.
				return awsapi.WithMessage(errSubnetConflict, "The CIDR '%s' conflicts with another subnet", cidr)
			}
		}
		subnet = ec2state.Subnet{
			Region: reg, ID: ec2state.NewID(ec2state.SubnetIDPrefix), VPCID: vpcID, CIDR: prefix.String(),
			AvailabilityZone: zone.Name, AvailabilityZoneID: zone.ID, OwnerID: e.account, Tags: tags, Created: e.now().UTC(),
		}
		txn := store.Txn{If: []store.Compare{
			{Key: ec2state.VPCKey(reg, vpcID), ModRevision: vpc.ModRevision},
			{Key: ec2state.VPCGenKey(reg, vpcID), ModRevision: genRev},
			{Key: ec2state.SubnetKey(reg, subnet.ID)},
		}}
		if err := put(&txn, ec2state.SubnetKey(reg, subnet.ID), subnet); err != nil {
			return err
		}
		next, err := gen.Next(ec2state.VPCGenKey(reg, vpcID))
		if err != nil {
			return err
		}
		txn.Then = append(txn.Then, next)
		_, err = e.store.Txn(ctx, txn)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := subnetOut(e, subnet)
	return &ec2types.CreateSubnetResult{Subnet: &out}, nil
}

// pickZone is the zone a new subnet asks for by name or id; the region's
// first when it names none.
func pickZone(region string, name, id *string) (ec2state.Zone, error) {
	zones := ec2state.Zones(region)
	names := make([]string, len(zones))
	for i, z := range zones {
		names[i] = z.Name
	}
	var zone ec2state.Zone
	switch {
	case name != nil:
		z, found := ec2state.ZoneByName(region, *name)
		if !found {
			// UNVERIFIED wording.
			return zone, invalidValue("Value (%s) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: %s.",
				*name, strings.Join(names, ", "))
		}
		zone = z
	case id != nil:
		z, found := ec2state.ZoneByID(region, *id)
		if !found {
			// UNVERIFIED wording.
			return zone, invalidValue("Value (%s) for parameter availabilityZoneId is invalid. Subnets can currently only be created in the following availability zones: %s.",
				*id, strings.Join(names, ", "))
		}
		zone = z
	default:
		return zones[0], nil
	}
	if name != nil && id != nil && zone.ID != *id {
		// UNVERIFIED wording.
		return zone, invalidCombination("The parameters availabilityZone (%s) and availabilityZoneId (%s) name different zones.", *name, *id)
	}
	return zone, nil
}

// DeleteSubnet deletes a subnet no interface uses. Every interface made
// or removed rewrites its subnet's record, which guards the deletion.
func (e *EC2) deleteSubnet(ctx context.Context, in *ec2types.DeleteSubnetRequest) (*struct{}, error) {
	reg, id := region(ctx), awsapi.Deref(in.SubnetId)
	err := store.Retry(ctx, func() error {
		subnet, err := store.Get[ec2state.Subnet](ctx, e.store, ec2state.SubnetKey(reg, id))
		if errors.Is(err, store.ErrNotFound) {
			return subnetNotFound(id)
		}
		if err != nil {
			return err
		}
		busy := subnet.Value.InUse > 0
		if !busy {
			enis, err := listRegion[ec2state.NetworkInterface](ctx, e.store, ec2state.InterfacePrefix, reg)
			if err != nil {
				return err
			}
			for _, n := range enis {
				busy = busy || n.Value.SubnetID == id
			}
		}
		if busy {
			// OBSERVED.
			return dependencyViolation("The subnet '%s' has dependencies and cannot be deleted.", id)
		}
		_, err = e.store.Txn(ctx, store.Txn{
			If:   []store.Compare{{Key: ec2state.SubnetKey(reg, id), ModRevision: subnet.ModRevision}},
			Then: []store.Op{store.Delete(ec2state.SubnetKey(reg, id))},
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return ok(), nil
}

var subnetFilters = filterSpec[ec2state.Subnet]{
	fields: map[string]func(ec2state.Subnet) []string{
		"availability-zone":    func(s ec2state.Subnet) []string { return []string{s.AvailabilityZone} },
		"availabilityZone":     func(s ec2state.Subnet) []string { return []string{s.AvailabilityZone} },
		"availability-zone-id": func(s ec2state.Subnet) []string { return []string{s.AvailabilityZoneID} },
		"availabilityZoneId":   func(s ec2state.Subnet) []string { return []string{s.AvailabilityZoneID} },
		"available-ip-address-count": func(s ec2state.Subnet) []string {
			return []string{strconv.Itoa(s.AvailableAddresses())}
		},
		"cidr":                            func(s ec2state.Subnet) []string { return []string{s.CIDR} },
		"cidr-block":                      func(s ec2state.Subnet) []string { return []string{s.CIDR} },
		"cidrBlock":                       func(s ec2state.Subnet) []string { return []string{s.CIDR} },
		"default-for-az":                  func(s ec2state.Subnet) []string { return []string{boolString(s.DefaultForAZ)} },
		"defaultForAz":                    func(s ec2state.Subnet) []string { return []string{boolString(s.DefaultForAZ)} },
		"map-public-ip-on-launch":         func(s ec2state.Subnet) []string { return []string{boolString(s.MapPublicIPOnLaunch)} },
		"owner-id":                        func(s ec2state.Subnet) []string { return []string{s.OwnerID} },
		"state":                           func(ec2state.Subnet) []string { return []string{ec2types.SubnetStateAvailable} },
		"subnet-id":                       func(s ec2state.Subnet) []string { return []string{s.ID} },
		"vpc-id":                          func(s ec2state.Subnet) []string { return []string{s.VPCID} },
		"ipv6-native":                     func(ec2state.Subnet) []string { return []string{"false"} },
		"assign-ipv6-address-on-creation": func(ec2state.Subnet) []string { return []string{"false"} },
		// berth's subnets have no IPv6 block: these match nothing.
		"ipv6-cidr-block-association.ipv6-cidr-block": func(ec2state.Subnet) []string { return nil },
		"ipv6-cidr-block-association.association-id":  func(ec2state.Subnet) []string { return nil },
		"ipv6-cidr-block-association.state":           func(ec2state.Subnet) []string { return nil },
	},
	tags: func(s ec2state.Subnet) []ec2state.Tag { return s.Tags },
}

func (e *EC2) describeSubnets(ctx context.Context, in *ec2types.DescribeSubnetsRequest) (*ec2types.DescribeSubnetsResult, error) {
	fs, err := subnetFilters.parse(in.Filters)
	if err != nil {
		return nil, err
	}
	page, next, err := pickRecords(ctx, e, ec2state.SubnetPrefix, fs, in.SubnetIds, func(s ec2state.Subnet) string { return s.ID }, subnetNotFound, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &ec2types.DescribeSubnetsResult{Subnets: make([]ec2types.Subnet, len(page)), NextToken: next}
	for i, s := range page {
		out.Subnets[i] = subnetOut(e, s)
	}
	return out, nil
}

func subnetOut(e *EC2, s ec2state.Subnet) ec2types.Subnet {
	return ec2types.Subnet{
		SubnetId:                    awsapi.String(s.ID),
		SubnetArn:                   awsapi.String(e.arn(s.Region, typeSubnet, s.ID)),
		VpcId:                       awsapi.String(s.VPCID),
		CidrBlock:                   awsapi.String(s.CIDR),
		AvailabilityZone:            awsapi.String(s.AvailabilityZone),
		AvailabilityZoneId:          awsapi.String(s.AvailabilityZoneID),
		AvailableIpAddressCount:     awsapi.Int32(int32(s.AvailableAddresses())),
		DefaultForAz:                awsapi.Bool(s.DefaultForAZ),
		MapPublicIpOnLaunch:         awsapi.Bool(s.MapPublicIPOnLaunch),
		MapCustomerOwnedIpOnLaunch:  awsapi.Bool(false),
		AssignIpv6AddressOnCreation: awsapi.Bool(false),
		EnableDns64:                 awsapi.Bool(false),
		Ipv6Native:                  awsapi.Bool(false),
		Ipv6CidrBlockAssociationSet: []ec2types.SubnetIpv6CidrBlockAssociation{},
		OwnerId:                     awsapi.String(s.OwnerID),
		State:                       awsapi.String(ec2types.SubnetStateAvailable),
		PrivateDnsNameOptionsOnLaunch: &ec2types.PrivateDnsNameOptionsOnLaunch{
			HostnameType:                    awsapi.String(ec2types.HostnameTypeIpName),
			EnableResourceNameDnsARecord:    awsapi.Bool(false),
			EnableResourceNameDnsAAAARecord: awsapi.Bool(false),
		},
		BlockPublicAccessStates: &ec2types.BlockPublicAccessStates{InternetGatewayBlockMode: awsapi.String(ec2types.BlockPublicAccessModeOff)},
		Tags:                    tagsOut(s.Tags),
	}
}

func (e *EC2) modifySubnetAttribute(ctx context.Context, in *ec2types.ModifySubnetAttributeRequest) (*struct{}, error) {
	on := func(v *ec2types.AttributeBooleanValue) bool { return v != nil && awsapi.Deref(v.Value) }
	switch {
	case on(in.AssignIpv6AddressOnCreation) || on(in.EnableDns64):
		return nil, unsupported("IPv6 on subnets: berth's VPCs are IPv4 only")
	case on(in.MapCustomerOwnedIpOnLaunch) || in.CustomerOwnedIpv4Pool != nil:
		return nil, unsupported("customer-owned addresses")
	case on(in.EnableResourceNameDnsARecordOnLaunch) || on(in.EnableResourceNameDnsAAAARecordOnLaunch) ||
		(in.PrivateDnsHostnameTypeOnLaunch != nil && *in.PrivateDnsHostnameTypeOnLaunch != ec2types.HostnameTypeIpName):
		return nil, unsupported("resource-name DNS hostnames")
	case in.EnableLniAtDeviceIndex != nil || on(in.DisableLniAtDeviceIndex):
		return nil, unsupported("local network interfaces")
	}
	reg, id := region(ctx), awsapi.Deref(in.SubnetId)
	_, err := store.Update(ctx, e.store, ec2state.SubnetKey(reg, id), func(s *ec2state.Subnet, found bool) error {
		if !found {
			return subnetNotFound(id)
		}
		if in.MapPublicIpOnLaunch == nil {
			return store.ErrUnchanged
		}
		s.MapPublicIPOnLaunch = awsapi.Deref(in.MapPublicIpOnLaunch.Value)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ok(), nil
}
