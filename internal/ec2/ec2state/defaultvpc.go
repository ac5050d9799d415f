package ec2state

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/berth/berth/internal/store"
)

// DefaultVPCCIDR is the range of every region's default VPC, as in AWS.
const DefaultVPCCIDR = "172.31.0.0/16"

// DefaultVPCRanges says which ranges the regions' default VPCs take: the
// home region's CIDR, the others' as DefaultRange chooses.
type DefaultVPCRanges struct {
	// CIDR is DefaultVPCCIDR when empty.
	CIDR string
	// HomeRegion is the server's region.
	HomeRegion string
}

// Spec is how the default VPC of region is made.
func (r DefaultVPCRanges) Spec(region, account string, now time.Time) DefaultVPCSpec {
	cidr := r.CIDR
	if cidr == "" {
		cidr = DefaultVPCCIDR
	}
	return DefaultVPCSpec{Region: region, Account: account, CIDR: cidr, HomeRegion: r.HomeRegion, Now: now}
}

// DefaultVPCSpec says how to make a region's default VPC.
type DefaultVPCSpec struct {
	Region, Account string
	// CIDR is the range of the home region's default VPC (DefaultVPCCIDR
	// in use; tests that run several servers on one host give each its
	// own). HomeRegion is the server's region ("": every region's default
	// VPC takes CIDR).
	CIDR       string
	HomeRegion string
	Now        time.Time
}

// DefaultRange is the range of the default VPC of spec's region, given the
// VPCs that exist. The home region's is spec.CIDR, as AWS gives every
// region 172.31.0.0/16. Every region shares this host's routes, though, and
// berth routes each VPC's range to a bridge of its own, so another
// region's default VPC takes the first range of CIDR's size, below it and
// then above it in its private block (10.0.0.0/8, 172.16.0.0/12 or
// 192.168.0.0/16), that no VPC overlaps (172.30.0.0/16, then
// 172.29.0.0/16, ...). When none is free it takes CIDR too: the host then
// carries one of the overlapping VPCs at a time, the first whose tasks
// run.
func DefaultRange(spec DefaultVPCSpec, existing []VPC) (netip.Prefix, error) {
	home, err := netip.ParsePrefix(spec.CIDR)
	if err != nil || !home.Addr().Is4() || home.Bits() > 24 {
		return netip.Prefix{}, fmt.Errorf("ec2state: default VPC range %q is not an IPv4 CIDR of /24 or larger", spec.CIDR)
	}
	home = home.Masked()
	if spec.HomeRegion == "" || spec.Region == spec.HomeRegion {
		return home, nil
	}
	block := home
	for _, private := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"} {
		if p := netip.MustParsePrefix(private); p.Bits() <= home.Bits() && p.Contains(home.Addr()) {
			block = p
		}
	}
	size := uint32(Size(home.Bits()))
	first, start := addrValue(block.Addr()), addrValue(home.Addr())
	last := first + uint32(Size(block.Bits())) - size
	free := func(v uint32) (netip.Prefix, bool) {
		candidate := netip.PrefixFrom(valueAddr(v), home.Bits())
		for _, vpc := range existing {
			if p, err := netip.ParsePrefix(vpc.CIDR); err == nil && p.Overlaps(candidate) {
				return netip.Prefix{}, false
			}
		}
		return candidate, true
	}
	for v := start; v >= first+size && v-size >= first; {
		v -= size
		if p, ok := free(v); ok {
			return p, nil
		}
	}
	for v := start + size; v <= last && v > start; v += size {
		if p, ok := free(v); ok {
			return p, nil
		}
	}
	return home, nil
}

func addrValue(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func valueAddr(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// EnsureDefaultVPC returns the region's default VPC, making it first if the
// region has none yet: the VPC, a default subnet per availability zone (the
// VPC's range cut in sixteen: /20s of a /16, in zone order), and its
// default security group, all in one transaction.
func EnsureDefaultVPC(ctx context.Context, s store.Store, spec DefaultVPCSpec) (VPC, error) {
	var out VPC
	err := store.Retry(ctx, func() error {
		marker, err := store.Get[DefaultVPC](ctx, s, DefaultVPCKey(spec.Region))
		if err == nil {
			vpc, err := store.Get[VPC](ctx, s, VPCKey(spec.Region, marker.Value.VPCID))
			if err == nil {
				out = vpc.Value
				return nil
			}
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			// The default VPC was deleted, as a user may do in EC2: the
			// region has none until it is made again.
			return ErrNoDefaultVPC
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		existing, _, err := store.List[VPC](ctx, s, VPCPrefix, store.ListOptions{})
		if err != nil {
			return err
		}
		gen, genRev, err := ReadGeneration(ctx, s, RangesKey)
		if err != nil {
			return err
		}
		vpcs := make([]VPC, len(existing))
		for i, v := range existing {
			vpcs[i] = v.Value
		}
		cidr, err := DefaultRange(spec, vpcs)
		if err != nil {
			return err
		}
		spec.CIDR = cidr.String()
		vpc, ops, err := newDefaultVPC(spec)
		if err != nil {
			return err
		}
		next, err := gen.Next(RangesKey)
		if err != nil {
			return err
		}
		// The ranges' generation: a VPC made meanwhile, which might overlap,
		// makes this conflict and choose again.
		txn := store.Txn{
			If:   []store.Compare{{Key: DefaultVPCKey(spec.Region)}, {Key: RangesKey, ModRevision: genRev}},
			Then: append(ops, next),
		}
		if _, err := s.Txn(ctx, txn); err != nil {
			return err
		}
		out = vpc
		return nil
	})
	return out, err
}

// ErrNoDefaultVPC is returned when the region's default VPC was deleted.
var ErrNoDefaultVPC = errors.New("ec2state: the region has no default VPC")

func newDefaultVPC(spec DefaultVPCSpec) (VPC, []store.Op, error) {
	prefix, err := netip.ParsePrefix(spec.CIDR)
	if err != nil || !prefix.Addr().Is4() || prefix.Bits() > 24 {
		return VPC{}, nil, fmt.Errorf("ec2state: default VPC range %q is not an IPv4 CIDR of /24 or larger", spec.CIDR)
	}
	prefix = prefix.Masked()
	vpc := NewVPC(spec.Region, spec.Account, prefix.String(), spec.Now)
	vpc.IsDefault = true
	vpc.EnableDNSHostnames = true // on in the default VPC only, as in EC2
	group := NewDefaultGroup(vpc, spec.Now)
	vpc.DefaultGroupID = group.ID
	ops := []store.Op{}
	put := func(key string, v any) error {
		op, err := store.PutJSON(key, v)
		if err == nil {
			ops = append(ops, op)
		}
		return err
	}
	if err := put(VPCKey(vpc.Region, vpc.ID), vpc); err != nil {
		return VPC{}, nil, err
	}
	if err := put(GroupKey(group.Region, group.ID), group); err != nil {
		return VPC{}, nil, err
	}
	bits := prefix.Bits() + 4
	for i, zone := range Zones(spec.Region) {
		cidr, ok := NthSubnet(prefix, bits, i)
		if !ok {
			break
		}
		subnet := Subnet{
			Region: spec.Region, ID: NewID(SubnetIDPrefix), VPCID: vpc.ID, CIDR: cidr.String(),
			AvailabilityZone: zone.Name, AvailabilityZoneID: zone.ID,
			DefaultForAZ: true, MapPublicIPOnLaunch: true, OwnerID: spec.Account, Created: spec.Now,
		}
		if err := put(SubnetKey(subnet.Region, subnet.ID), subnet); err != nil {
			return VPC{}, nil, err
		}
	}
	if err := put(DefaultVPCKey(spec.Region), DefaultVPC{VPCID: vpc.ID}); err != nil {
		return VPC{}, nil, err
	}
	return vpc, ops, nil
}

// NewVPC returns a new VPC record of cidr (masked) with its defaults; its
// DefaultGroupID is for the caller to set, with NewDefaultGroup.
func NewVPC(region, account, cidr string, now time.Time) VPC {
	return VPC{
		Region: region, ID: NewID(VPCIDPrefix), CIDR: cidr, CIDRAssociationID: NewID(CIDRAssocIDPrefix),
		OwnerID: account, InstanceTenancy: "default", DHCPOptionsID: DefaultDHCPOptionsID(region),
		EnableDNSSupport: true, EnableDNSHostnames: false, Created: now,
	}
}

// NewDefaultGroup returns the default security group of vpc: it admits
// all traffic from its own members and lets all traffic out, as EC2's.
func NewDefaultGroup(vpc VPC, now time.Time) SecurityGroup {
	id := NewID(GroupIDPrefix)
	return SecurityGroup{
		Region: vpc.Region, ID: id, Name: DefaultGroupName, Description: "default VPC security group",
		VPCID: vpc.ID, OwnerID: vpc.OwnerID, Created: now,
		Ingress: []Rule{{ID: NewID(RuleIDPrefix), Protocol: "-1", FromPort: -1, ToPort: -1, GroupID: id}},
		Egress:  []Rule{AllTrafficOut()},
	}
}

// AllTrafficOut is the egress rule every new group starts with.
func AllTrafficOut() Rule {
	return Rule{ID: NewID(RuleIDPrefix), Protocol: "-1", FromPort: -1, ToPort: -1, CIDRv4: "0.0.0.0/0"}
}

// DefaultDHCPOptionsID is the region's DHCP options set every VPC uses
// (berth has one per region: EC2's default, domain <region>.compute.internal).
func DefaultDHCPOptionsID(region string) string {
	return DHCPOptionsIDPrefix + fmt.Sprintf("%08x", fnv32(region))
}

func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// NthSubnet returns the n-th (from 0) block of bits length in prefix.
func NthSubnet(prefix netip.Prefix, bits, n int) (netip.Prefix, bool) {
	if bits < prefix.Bits() || bits > 32 || n < 0 || n >= 1<<(bits-prefix.Bits()) {
		return netip.Prefix{}, false
	}
	v := addrValue(prefix.Masked().Addr()) + uint32(n)<<(32-bits)
	return netip.PrefixFrom(valueAddr(v), bits), true
}
