package ec2state

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"time"

	"github.com/berth/berth/internal/store"
)

// ErrSubnetFull is returned when a subnet has no free address.
var ErrSubnetFull = errors.New("ec2state: the subnet has no free address")

// ErrNotFound wraps the failures of InterfaceSpec lookups: a subnet or
// security group that does not exist.
var ErrNotFound = errors.New("ec2state: not found")

// InterfaceSpec is a network interface to make.
type InterfaceSpec struct {
	Region, Account string
	// ID is the interface's id: callers that must find it again without a
	// lookup (a task's, by its ARN) derive it; "" makes a new one.
	ID       string
	SubnetID string
	// Groups are the interface's security groups, in the subnet's VPC
	// (none: the VPC's default group).
	Groups       []string
	Description  string
	RequesterID  string
	Owner        string
	AttachmentID string
	Now          time.Time
}

// CreateInterface makes an interface in a subnet with a free address of
// it, chosen at random, in one transaction that claims the address and
// counts it in the subnet's record, guarded by the subnet's and the
// groups' revisions. It returns the interface as written. An interface
// with spec.ID that exists already is returned as it is.
func CreateInterface(ctx context.Context, s store.Store, spec InterfaceSpec) (NetworkInterface, error) {
	if spec.ID == "" {
		spec.ID = NewID(InterfaceIDPrefix)
	}
	var out NetworkInterface
	err := store.Retry(ctx, func() error {
		existing, err := store.Get[NetworkInterface](ctx, s, InterfaceKey(spec.Region, spec.ID))
		if err == nil {
			out = existing.Value
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		subnet, err := store.Get[Subnet](ctx, s, SubnetKey(spec.Region, spec.SubnetID))
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: subnet %s", ErrNotFound, spec.SubnetID)
		}
		if err != nil {
			return err
		}
		groups := spec.Groups
		if len(groups) == 0 {
			vpc, err := store.Get[VPC](ctx, s, VPCKey(spec.Region, subnet.Value.VPCID))
			if err != nil {
				return fmt.Errorf("ec2state: VPC %s of subnet %s: %w", subnet.Value.VPCID, spec.SubnetID, err)
			}
			groups = []string{vpc.Value.DefaultGroupID}
		}
		txn := store.Txn{If: []store.Compare{
			{Key: InterfaceKey(spec.Region, spec.ID)},
			{Key: SubnetKey(spec.Region, spec.SubnetID), ModRevision: subnet.ModRevision},
		}}
		for _, id := range groups {
			g, err := store.Get[SecurityGroup](ctx, s, GroupKey(spec.Region, id))
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%w: security group %s", ErrNotFound, id)
			}
			if err != nil {
				return err
			}
			if g.Value.VPCID != subnet.Value.VPCID {
				return fmt.Errorf("ec2state: security group %s is in VPC %s, not the subnet's %s", id, g.Value.VPCID, subnet.Value.VPCID)
			}
			txn.If = append(txn.If, store.Compare{Key: GroupKey(spec.Region, id), ModRevision: g.ModRevision})
		}
		claimed, err := claimedAddresses(ctx, s, spec.Region, subnet.Value.VPCID)
		if err != nil {
			return err
		}
		addr, err := FreeAddress(subnet.Value.CIDR, claimed, rand.Uint64)
		if err != nil {
			return err
		}
		eni := NetworkInterface{
			Region: spec.Region, ID: spec.ID, VPCID: subnet.Value.VPCID, SubnetID: spec.SubnetID,
			AvailabilityZone: subnet.Value.AvailabilityZone, PrivateIP: addr.String(), MAC: MAC(spec.ID),
			Groups: groups, Description: spec.Description, RequesterID: spec.RequesterID,
			Owner: spec.Owner, AttachmentID: spec.AttachmentID, OwnerID: spec.Account, Created: spec.Now,
		}
		sub := subnet.Value
		sub.InUse++
		claimKey := AddressKey(spec.Region, eni.VPCID, eni.PrivateIP)
		txn.If = append(txn.If, store.Compare{Key: claimKey})
		for _, w := range []struct {
			key string
			v   any
		}{{InterfaceKey(spec.Region, spec.ID), eni}, {SubnetKey(spec.Region, sub.ID), sub}, {claimKey, AddressClaim{InterfaceID: eni.ID}}} {
			op, err := store.PutJSON(w.key, w.v)
			if err != nil {
				return err
			}
			txn.Then = append(txn.Then, op)
		}
		if _, err := s.Txn(ctx, txn); err != nil {
			return err
		}
		out = eni
		return nil
	})
	return out, err
}

// DeleteInterface removes an interface, its address claim and its count
// in its subnet, in one transaction. An interface that is gone already is
// no error.
func DeleteInterface(ctx context.Context, s store.Store, region, id string) error {
	return store.Retry(ctx, func() error {
		eni, err := store.Get[NetworkInterface](ctx, s, InterfaceKey(region, id))
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		txn := store.Txn{
			If: []store.Compare{{Key: InterfaceKey(region, id), ModRevision: eni.ModRevision}},
			Then: []store.Op{
				store.Delete(InterfaceKey(region, id)),
				store.Delete(AddressKey(region, eni.Value.VPCID, eni.Value.PrivateIP)),
			},
		}
		subnet, err := store.Get[Subnet](ctx, s, SubnetKey(region, eni.Value.SubnetID))
		switch {
		case err == nil:
			sub := subnet.Value
			sub.InUse = max(sub.InUse-1, 0)
			op, err := store.PutJSON(SubnetKey(region, sub.ID), sub)
			if err != nil {
				return err
			}
			txn.If = append(txn.If, store.Compare{Key: SubnetKey(region, sub.ID), ModRevision: subnet.ModRevision})
			txn.Then = append(txn.Then, op)
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		_, err = s.Txn(ctx, txn)
		return err
	})
}

// claimedAddresses returns the addresses of a VPC that interfaces hold.
func claimedAddresses(ctx context.Context, s store.Store, region, vpcID string) (map[netip.Addr]bool, error) {
	prefix := VPCAddresses(region, vpcID)
	claimed := map[netip.Addr]bool{}
	_, err := s.Range(ctx, prefix, func(kv store.KV) error {
		if a, err := netip.ParseAddr(kv.Key[len(prefix):]); err == nil {
			claimed[a] = true
		}
		return nil
	})
	return claimed, err
}

// FreeAddress picks an address of cidr that is neither reserved by EC2
// (the first four and the last) nor claimed: a random one, so addresses
// look as they do in AWS and a stopped task's address is not at once
// another's; failing that after a few tries, the lowest free one.
func FreeAddress(cidr string, claimed map[netip.Addr]bool, random func() uint64) (netip.Addr, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() {
		return netip.Addr{}, fmt.Errorf("ec2state: subnet range %q is not IPv4", cidr)
	}
	size := Size(p.Bits())
	usable := size - reservedAddresses
	if usable <= 0 {
		return netip.Addr{}, ErrSubnetFull
	}
	first := addrValue(p.Masked().Addr())
	at := func(i int) netip.Addr { return valueAddr(first + 4 + uint32(i)) }
	for range 8 {
		if a := at(int(random() % uint64(usable))); !claimed[a] {
			return a, nil
		}
	}
	for i := range usable {
		if a := at(i); !claimed[a] {
			return a, nil
		}
	}
	return netip.Addr{}, ErrSubnetFull
}

// PrivateDNSName is EC2's name for an address of a region:
// ip-a-b-c-d.ec2.internal in us-east-1, ip-a-b-c-d.<region>.compute.internal
// elsewhere.
func PrivateDNSName(region, address string) string {
	a, err := netip.ParseAddr(address)
	if err != nil || !a.Is4() {
		return ""
	}
	name := "ip-" + strings.ReplaceAll(a.String(), ".", "-")
	if region == "us-east-1" {
		return name + ".ec2.internal"
	}
	return name + "." + region + ".compute.internal"
}
