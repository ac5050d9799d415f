// Package hostnet is the host side of berth's VPC networking: a Linux
// bridge per VPC that the host reaches through its subnets' router
// addresses, the interfaces of awsvpc tasks (a veth pair from the VPC's
// bridge into the task's network namespace, with the task's address, MAC
// and default route), routes that keep a VPC's traffic on the host, and
// security groups enforced in the kernel with nftables (iptables where the
// nft command is missing).
//
// The agent drives it: it reconciles the host with the VPCs and security
// groups the server describes (Reconcile) and attaches each task's
// interface (Attach). Render is pure; the rest needs root on Linux.
package hostnet

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// BridgePrefix begins the name of every bridge berth makes, so that its
// rules can match them all ("berth-*") and nothing else.
const BridgePrefix = "berth-"

// BridgeName is the name of a VPC's bridge: "berth-" and nine hex digits
// of the VPC id (interface names have at most 15 characters).
func BridgeName(vpcID string) string {
	return BridgePrefix + hexPart(vpcID, 9)
}

// vethName is the host end of an interface's veth pair.
func vethName(interfaceID string) string { return "bve" + hexPart(interfaceID, 12) }

// hexPart is up to n characters of an EC2 id after its prefix.
func hexPart(id string, n int) string {
	_, rest, found := strings.Cut(id, "-")
	if !found {
		rest = id
	}
	return rest[:min(n, len(rest))]
}

// VPC is a VPC as the host carries it.
type VPC struct {
	ID   string
	CIDR netip.Prefix
	// Subnets are the VPC's subnets; the host takes each one's router
	// address (its base + 1) on the bridge.
	Subnets []netip.Prefix
	// HostAddresses are more addresses of the VPC the host answers on, as
	// /32s: those of load balancers, whose listeners berth serves.
	HostAddresses []netip.Addr
}

// Router is the address of a subnet's router: its base + 1.
func Router(subnet netip.Prefix) netip.Addr { return subnet.Masked().Addr().Next() }

// Resolver is the address of a VPC's DNS resolver, as the Amazon-provided
// DNS server's: the VPC range's base + 2. The host takes it on the
// VPC's bridge, and berth's DNS server answers there.
func Resolver(vpc netip.Prefix) netip.Addr { return vpc.Masked().Addr().Next().Next() }

// resolvers are the resolver addresses of p's VPCs, as text, sorted.
func resolvers(p Policy) []string {
	var out []string
	for _, v := range p.VPCs {
		out = append(out, Resolver(v.CIDR).String())
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Interface is a task's network interface.
type Interface struct {
	// ID is the interface's eni- id; it names the host end of the veth.
	ID  string
	VPC string
	// Address is the task's address with its subnet's prefix length.
	Address netip.Prefix
	MAC     string
}

// Gateway is the interface's default gateway: its subnet's router.
func (i Interface) Gateway() netip.Addr { return Router(i.Address) }

func (i Interface) validate() error {
	if !i.Address.Addr().Is4() || i.Address.Bits() < 1 || i.Address.Bits() > 30 {
		return fmt.Errorf("hostnet: interface %s: address %s is not an IPv4 address in a /1../30 subnet", i.ID, i.Address)
	}
	if i.Address.Addr() == i.Gateway() || i.Address.Addr() == i.Address.Masked().Addr() {
		return fmt.Errorf("hostnet: interface %s: address %s is reserved in its subnet", i.ID, i.Address)
	}
	return nil
}

// OverlapError is a VPC range the host cannot carry.
type OverlapError struct {
	VPC         string
	CIDR, Other netip.Prefix
	Where       string
}

func (e *OverlapError) Error() string {
	return fmt.Sprintf("the range %s of VPC %s overlaps %s (%s) on this host; berth routes each VPC's range to a bridge of its own, so it must not overlap the host's networks, Docker's or another VPC's", e.CIDR, e.VPC, e.Other, e.Where)
}
