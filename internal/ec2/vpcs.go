package ec2

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/ec2/ec2types"
	"github.com/berth/berth/internal/store"
)

// The prefix lengths EC2 allows for a VPC's and a subnet's IPv4 block.
const (
	minPrefixBits = 16
	maxPrefixBits = 28
)

// reservedRanges are no VPC's: berth's bridges would capture the host's
// own loopback, link-local (where berth's resolver and metadata addresses
// are), multicast or unusable traffic. UNVERIFIED: which of them EC2
// itself refuses.
var reservedRanges = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("224.0.0.0/3"),
}

// parseCIDR reads an IPv4 block of a request (member names it in EC2's
// message), masked as EC2 stores it.
func parseCIDR(member, s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		// UNVERIFIED wording.
		return netip.Prefix{}, invalidValue("Value (%s) for parameter %s is invalid. This is not a valid CIDR block.", s, member)
	}
	return p.Masked(), nil
}

// vpcRange checks a new VPC's block.
func vpcRange(s string) (netip.Prefix, error) {
	p, err := parseCIDR("cidrBlock", s)
	if err != nil {
		return p, err
	}
	bad := p.Bits() < minPrefixBits || p.Bits() > maxPrefixBits
	for _, r := range reservedRanges {
		bad = bad || r.Overlaps(p)
	}
	if bad {
		// UNVERIFIED wording.
		return p, awsapi.WithMessage(errVPCRange, "The CIDR '%s' is invalid.", s)
	}
	return p, nil
}

// checkOverlap refuses a VPC range that overlaps another VPC's, in any
// region, or one of the host's networks. EC2 has no such rule: berth
// routes every VPC's range to a bridge of its own on the one host all
// regions share, so overlapping ranges would make some VPC's addresses
// unreachable (or the host's own networks). The code, InvalidVpc.Range,
// is EC2's for a block it refuses; the sentence is berth's (UNVERIFIED).
func checkOverlap(p netip.Prefix, vpcs []ec2state.VPC, host []netip.Prefix) error {
	const why = "berth routes every VPC's range to its own bridge on this host, so VPC ranges must not overlap each other or the host's networks."
	for _, v := range vpcs {
		other, err := netip.ParsePrefix(v.CIDR)
		if err == nil && other.Overlaps(p) {
			return awsapi.WithMessage(errVPCRange, "The CIDR '%s' overlaps VPC %s (%s) in %s; %s", p, v.ID, v.CIDR, v.Region, why)
		}
	}
	for _, h := range host {
		if h.Overlaps(p) {
			return awsapi.WithMessage(errVPCRange, "The CIDR '%s' overlaps the host's network %s; %s", p, h, why)
		}
	}
	return nil
}

// host returns the host's networks.
func (e *EC2) host(ctx context.Context) ([]netip.Prefix, error) {
	if e.hostNetworks == nil {
		return nil, nil
	}
	nets, err := e.hostNetworks(ctx)
	if err != nil {
		return nil, fmt.Errorf("ec2: the host's networks: %w", err)
	}
	return nets, nil
}

func (e *EC2) createVpc(ctx context.Context, in *ec2types.CreateVpcRequest) (*ec2types.CreateVpcResult, error) {
	switch {
	case awsapi.Deref(in.AmazonProvidedIpv6CidrBlock) || in.Ipv6CidrBlock != nil || in.Ipv6Pool != nil ||
		in.Ipv6IpamPoolId != nil || in.Ipv6NetmaskLength != nil || in.Ipv6CidrBlockNetworkBorderGroup != nil:
		return nil, unsupported("IPv6 blocks on VPCs: berth's VPCs are IPv4 only")
	case in.Ipv4IpamPoolId != nil || in.Ipv4NetmaskLength != nil:
		return nil, unsupported("IPAM pools: give the VPC's CidrBlock")
	case in.VpcEncryptionControl != nil:
		return nil, unsupported("VPC encryption control")
	case in.CidrBlock == nil:
		// UNVERIFIED wording.
		return nil, awsapi.WithMessage(errMissingParameter, "Either 'cidrBlock' or 'ipv4IpamPoolId' should be provided.")
	}
	tenancy := awsapi.Deref(in.InstanceTenancy)
	switch tenancy {
	case "":
		tenancy = "default"
	case "default", "dedicated":
	default:
		// UNVERIFIED wording.
		return nil, invalidValue("The tenancy value %s is not supported.", tenancy)
	}
	prefix, err := vpcRange(*in.CidrBlock)
	if err != nil {
		return nil, err
	}
	tags, err := specTags(in.TagSpecifications, typeVPC)
	if err != nil {
		return nil, err
	}
	host, err := e.host(ctx)
	if err != nil {
		return nil, err
	}
	reg := region(ctx)
	var vpc ec2state.VPC
	err = store.Retry(ctx, func() error {
		// The generation first: a VPC made after it was read changes it,
		// whether or not the listing saw that VPC.
		gen, genRev, err := ec2state.ReadGeneration(ctx, e.store, ec2state.RangesKey)
		if err != nil {
			return err
		}
		all, _, err := store.List[ec2state.VPC](ctx, e.store, ec2state.VPCPrefix, store.ListOptions{})
		if err != nil {
			return err
		}
		if err := checkOverlap(prefix, values(all), host); err != nil {
			return err
		}
		now := e.now().UTC()
		vpc = ec2state.NewVPC(reg, e.account, prefix.String(), now)
		vpc.InstanceTenancy = tenancy
		vpc.Tags = tags
		group := ec2state.NewDefaultGroup(vpc, now)
		vpc.DefaultGroupID = group.ID
		txn := store.Txn{If: []store.Compare{
			{Key: ec2state.RangesKey, ModRevision: genRev},
			{Key: ec2state.VPCKey(reg, vpc.ID)},
			{Key: ec2state.GroupKey(reg, group.ID)},
		}}
		if err := put(&txn, ec2state.VPCKey(reg, vpc.ID), vpc); err != nil {
			return err
		}
		if err := put(&txn, ec2state.GroupKey(reg, group.ID), group); err != nil {
			return err
		}
		next, err := gen.Next(ec2state.RangesKey)
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
	out := createdVpcOut(vpc)
	return &ec2types.CreateVpcResult{Vpc: &out}, nil
}

// put adds the write of a record to txn.
func put(txn *store.Txn, key string, v any) error {
	op, err := store.PutJSON(key, v)
	if err != nil {
		return err
	}
	txn.Then = append(txn.Then, op)
	return nil
}

func (e *EC2) createDefaultVpc(ctx context.Context, _ *ec2types.CreateDefaultVpcRequest) (*ec2types.CreateDefaultVpcResult, error) {
	host, err := e.host(ctx)
	if err != nil {
		return nil, err
	}
	reg := region(ctx)
	var vpc ec2state.VPC
	err = store.Retry(ctx, func() error {
		marker, err := store.Get[ec2state.DefaultVPC](ctx, e.store, ec2state.DefaultVPCKey(reg))
		switch {
		case err == nil:
			if _, err := store.Get[ec2state.VPC](ctx, e.store, ec2state.VPCKey(reg, marker.Value.VPCID)); err == nil {
				return errDefaultVPCExists
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		gen, genRev, err := ec2state.ReadGeneration(ctx, e.store, ec2state.RangesKey)
		if err != nil {
			return err
		}
		all, _, err := store.List[ec2state.VPC](ctx, e.store, ec2state.VPCPrefix, store.ListOptions{})
		if err != nil {
			return err
		}
		vpcs := make([]ec2state.VPC, len(all))
		for i, v := range all {
			vpcs[i] = v.Value
		}
		spec := e.defaultVPCSpec(reg)
		prefix, err := ec2state.DefaultRange(spec, vpcs)
		if err != nil {
			return err
		}
		if err := checkOverlap(prefix, vpcs, host); err != nil {
			return err
		}
		spec.CIDR = prefix.String()
		v, ops, err := ec2state.DefaultVPCWrites(spec)
		if err != nil {
			return err
		}
		next, err := gen.Next(ec2state.RangesKey)
		if err != nil {
			return err
		}
		_, err = e.store.Txn(ctx, store.Txn{
			If: []store.Compare{
				{Key: ec2state.DefaultVPCKey(reg), ModRevision: marker.ModRevision},
				{Key: ec2state.RangesKey, ModRevision: genRev},
			},
			Then: append(ops, next),
		})
		vpc = v
		return err
	})
	if err != nil {
		return nil, err
	}
	out := createdVpcOut(vpc)
	return &ec2types.CreateDefaultVpcResult{Vpc: &out}, nil
}

// DeleteVpc deletes a VPC without subnets, security groups other than its
// default one, or interfaces, and its default group with it.
func (e *EC2) deleteVpc(ctx context.Context, in *ec2types.DeleteVpcRequest) (*struct{}, error) {
	reg, id := region(ctx), awsapi.Deref(in.VpcId)
	err := store.Retry(ctx, func() error {
		vpc, err := store.Get[ec2state.VPC](ctx, e.store, ec2state.VPCKey(reg, id))
		if errors.Is(err, store.ErrNotFound) {
			return vpcNotFound(id)
		}
		if err != nil {
			return err
		}
		// Subnets and groups are made under the VPC's generation, which
		// guards this decision; interfaces need a subnet.
		_, genRev, err := ec2state.ReadGeneration(ctx, e.store, ec2state.VPCGenKey(reg, id))
		if err != nil {
			return err
		}
		busy, err := e.vpcInUse(ctx, vpc.Value)
		if err != nil {
			return err
		}
		if busy {
			// OBSERVED.
			return dependencyViolation("The vpc '%s' has dependencies and cannot be deleted.", id)
		}
		txn := store.Txn{
			If: []store.Compare{
				{Key: ec2state.VPCKey(reg, id), ModRevision: vpc.ModRevision},
				{Key: ec2state.VPCGenKey(reg, id), ModRevision: genRev},
			},
			Then: []store.Op{
				store.Delete(ec2state.VPCKey(reg, id)),
				store.Delete(ec2state.VPCGenKey(reg, id)),
			},
		}
		if g := vpc.Value.DefaultGroupID; g != "" {
			txn.Then = append(txn.Then, store.Delete(ec2state.GroupKey(reg, g)))
		}
		_, err = e.store.Txn(ctx, txn)
		return err
	})
	if err != nil {
		return nil, err
	}
	return ok(), nil
}

// vpcInUse reports whether a VPC has subnets, groups other than its
// default one, or interfaces.
func (e *EC2) vpcInUse(ctx context.Context, vpc ec2state.VPC) (bool, error) {
	subnets, err := listRegion[ec2state.Subnet](ctx, e.store, ec2state.SubnetPrefix, vpc.Region)
	if err != nil {
		return false, err
	}
	for _, s := range subnets {
		if s.Value.VPCID == vpc.ID {
			return true, nil
		}
	}
	groups, err := listRegion[ec2state.SecurityGroup](ctx, e.store, ec2state.GroupPrefix, vpc.Region)
	if err != nil {
		return false, err
	}
	for _, g := range groups {
		if g.Value.VPCID == vpc.ID && g.Value.ID != vpc.DefaultGroupID {
			return true, nil
		}
	}
	enis, err := listRegion[ec2state.NetworkInterface](ctx, e.store, ec2state.InterfacePrefix, vpc.Region)
	if err != nil {
		return false, err
	}
	for _, n := range enis {
		if n.Value.VPCID == vpc.ID {
			return true, nil
		}
	}
	return false, nil
}

var vpcFilters = filterSpec[ec2state.VPC]{
	fields: map[string]func(ec2state.VPC) []string{
		"cidr":                                  func(v ec2state.VPC) []string { return []string{v.CIDR} },
		"cidr-block-association.cidr-block":     func(v ec2state.VPC) []string { return []string{v.CIDR} },
		"cidr-block-association.association-id": func(v ec2state.VPC) []string { return []string{v.CIDRAssociationID} },
		"cidr-block-association.state":          func(ec2state.VPC) []string { return []string{ec2types.VpcCidrBlockStateCodeAssociated} },
		"dhcp-options-id":                       func(v ec2state.VPC) []string { return []string{v.DHCPOptionsID} },
		"instance-tenancy":                      func(v ec2state.VPC) []string { return []string{v.InstanceTenancy} },
		"is-default":                            func(v ec2state.VPC) []string { return []string{boolString(v.IsDefault)} },
		"owner-id":                              func(v ec2state.VPC) []string { return []string{v.OwnerID} },
		"state":                                 func(ec2state.VPC) []string { return []string{ec2types.VpcStateAvailable} },
		"vpc-id":                                func(v ec2state.VPC) []string { return []string{v.ID} },
		// berth's VPCs have no IPv6 block: these match nothing.
		"ipv6-cidr-block-association.ipv6-cidr-block": func(ec2state.VPC) []string { return nil },
		"ipv6-cidr-block-association.association-id":  func(ec2state.VPC) []string { return nil },
		"ipv6-cidr-block-association.state":           func(ec2state.VPC) []string { return nil },
		"ipv6-cidr-block-association.ipv6-pool":       func(ec2state.VPC) []string { return nil },
	},
	tags: func(v ec2state.VPC) []ec2state.Tag { return v.Tags },
}

func (e *EC2) describeVpcs(ctx context.Context, in *ec2types.DescribeVpcsRequest) (*ec2types.DescribeVpcsResult, error) {
	fs, err := vpcFilters.parse(in.Filters)
	if err != nil {
		return nil, err
	}
	page, next, err := pickRecords(ctx, e, ec2state.VPCPrefix, fs, in.VpcIds, func(v ec2state.VPC) string { return v.ID }, vpcNotFound, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &ec2types.DescribeVpcsResult{Vpcs: make([]ec2types.Vpc, len(page)), NextToken: next}
	for i, v := range page {
		out.Vpcs[i] = vpcOut(v)
	}
	return out, nil
}

// pickRecords lists the region's records under prefix and picks what a
// Describe call asks for: those it names by id (each must exist), those
// of them the filters keep, a page of them.
func pickRecords[T any](ctx context.Context, e *EC2, prefix string, fs filters[T], ids []string, id func(T) string, missing func(string) error, token *string, limit *int32) ([]T, *string, error) {
	all, err := listRegion[T](ctx, e.store, prefix, region(ctx))
	if err != nil {
		return nil, nil, err
	}
	picked, err := byIDs(values(all), ids, id, missing)
	if err != nil {
		return nil, nil, err
	}
	return paginate(fs.apply(picked), id, token, limit)
}

// byIDs returns the items ids names (all of them when it names none); an
// id that names none is the error missing makes of it.
func byIDs[T any](items []T, ids []string, id func(T) string, missing func(string) error) ([]T, error) {
	if len(ids) == 0 {
		return items, nil
	}
	index := make(map[string]T, len(items))
	for _, v := range items {
		index[id(v)] = v
	}
	out := make([]T, 0, len(ids))
	seen := map[string]bool{}
	for _, x := range ids {
		v, ok := index[x]
		if !ok {
			return nil, missing(x)
		}
		if !seen[x] {
			seen[x] = true
			out = append(out, v)
		}
	}
	return out, nil
}

func vpcOut(v ec2state.VPC) ec2types.Vpc {
	return ec2types.Vpc{
		VpcId:     awsapi.String(v.ID),
		CidrBlock: awsapi.String(v.CIDR),
		CidrBlockAssociationSet: []ec2types.VpcCidrBlockAssociation{{
			AssociationId:  awsapi.String(v.CIDRAssociationID),
			CidrBlock:      awsapi.String(v.CIDR),
			CidrBlockState: &ec2types.VpcCidrBlockState{State: awsapi.String(ec2types.VpcCidrBlockStateCodeAssociated)},
		}},
		DhcpOptionsId:           awsapi.String(v.DHCPOptionsID),
		InstanceTenancy:         awsapi.String(v.InstanceTenancy),
		IsDefault:               awsapi.Bool(v.IsDefault),
		OwnerId:                 awsapi.String(v.OwnerID),
		State:                   awsapi.String(ec2types.VpcStateAvailable),
		Tags:                    tagsOut(v.Tags),
		BlockPublicAccessStates: &ec2types.BlockPublicAccessStates{InternetGatewayBlockMode: awsapi.String(ec2types.BlockPublicAccessModeOff)},
	}
}

// createdVpcOut is a new VPC as CreateVpc and CreateDefaultVpc answer
// it, as the aws CLI's examples of both show: pending, though berth's is
// available at once (DescribeVpcs says so), and with an empty IPv6
// association set, which DescribeVpcs leaves out.
func createdVpcOut(v ec2state.VPC) ec2types.Vpc {
	out := vpcOut(v)
	out.State = awsapi.String(ec2types.VpcStatePending)
	out.Ipv6CidrBlockAssociationSet = []ec2types.VpcIpv6CidrBlockAssociation{}
	return out
}

// The attributes of ModifyVpcAttribute and DescribeVpcAttribute.
const (
	attrDNSSupport   = "enableDnsSupport"
	attrDNSHostnames = "enableDnsHostnames"
	attrUsageMetrics = "enableNetworkAddressUsageMetrics"
)

func (e *EC2) modifyVpcAttribute(ctx context.Context, in *ec2types.ModifyVpcAttributeRequest) (*struct{}, error) {
	var set []string
	for name, v := range map[string]*ec2types.AttributeBooleanValue{
		attrDNSSupport: in.EnableDnsSupport, attrDNSHostnames: in.EnableDnsHostnames, attrUsageMetrics: in.EnableNetworkAddressUsageMetrics,
	} {
		if v != nil {
			set = append(set, name)
		}
	}
	switch {
	case len(set) == 0:
		// UNVERIFIED wording.
		return nil, invalidCombination("No attributes specified.")
	case len(set) > 1:
		// UNVERIFIED wording: EC2 changes one attribute per call.
		return nil, invalidCombination("Only one attribute can be modified at a time.")
	case in.EnableNetworkAddressUsageMetrics != nil && awsapi.Deref(in.EnableNetworkAddressUsageMetrics.Value):
		return nil, unsupported("network address usage metrics")
	}
	reg, id := region(ctx), awsapi.Deref(in.VpcId)
	_, err := store.Update(ctx, e.store, ec2state.VPCKey(reg, id), func(v *ec2state.VPC, found bool) error {
		if !found {
			return vpcNotFound(id)
		}
		if in.EnableDnsSupport != nil {
			v.EnableDNSSupport = awsapi.Deref(in.EnableDnsSupport.Value)
		}
		if in.EnableDnsHostnames != nil {
			v.EnableDNSHostnames = awsapi.Deref(in.EnableDnsHostnames.Value)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ok(), nil
}

func (e *EC2) describeVpcAttribute(ctx context.Context, in *ec2types.DescribeVpcAttributeRequest) (*ec2types.DescribeVpcAttributeResult, error) {
	reg, id := region(ctx), awsapi.Deref(in.VpcId)
	v, err := store.Get[ec2state.VPC](ctx, e.store, ec2state.VPCKey(reg, id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, vpcNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	out := &ec2types.DescribeVpcAttributeResult{VpcId: awsapi.String(id)}
	value := func(b bool) *ec2types.AttributeBooleanValue {
		return &ec2types.AttributeBooleanValue{Value: awsapi.Bool(b)}
	}
	switch a := awsapi.Deref(in.Attribute); a {
	case attrDNSSupport:
		out.EnableDnsSupport = value(v.Value.EnableDNSSupport)
	case attrDNSHostnames:
		out.EnableDnsHostnames = value(v.Value.EnableDNSHostnames)
	case attrUsageMetrics:
		out.EnableNetworkAddressUsageMetrics = value(false)
	default:
		// UNVERIFIED wording.
		return nil, invalidValue("Value (%s) for parameter attribute is invalid. Unknown attribute.", a)
	}
	return out, nil
}
