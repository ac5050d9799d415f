package dnsserver

import (
	"bytes"
	"net/netip"
	"strings"

	"github.com/miekg/dns"

	"github.com/berth/berth/internal/ec2/ec2state"
)

// ec2Names are the EC2 private DNS names of a VPC's addresses
// (ip-10-0-1-5.ec2.internal, ip-10-0-1-5.eu-west-1.compute.internal),
// which a VPC's resolver answers as Route 53 Resolver does: a task's
// hostname is its interface's such name, and nothing else resolves it.
type ec2Names struct {
	vpc netip.Prefix
	// suffix is the region's domain, lower-cased, in wire form.
	suffix []byte
}

// ec2NameTTL is the TTL of an EC2 private DNS name's address.
// UNVERIFIED: Route 53 Resolver's.
const ec2NameTTL = 60

// newEC2Names makes the names of a VPC of region; false when its range
// is not IPv4.
func newEC2Names(region, cidr string) (ec2Names, bool) {
	vpc, err := netip.ParsePrefix(cidr)
	if err != nil || !vpc.Addr().Is4() {
		return ec2Names{}, false
	}
	_, domain, _ := strings.Cut(ec2state.PrivateDNSName(region, vpc.Masked().Addr().String()), ".")
	suffix, ok := nameKey(domain)
	return ec2Names{vpc: vpc.Masked(), suffix: suffix}, ok
}

// lookup is the node of key, a lower-cased name in wire form, if it is
// the name of an address of the VPC.
func (e ec2Names) lookup(key []byte) *node {
	if len(key) == 0 || int(key[0])+1 > len(key) || !bytes.Equal(key[int(key[0])+1:], e.suffix) {
		return nil
	}
	label, ok := strings.CutPrefix(string(key[1:int(key[0])+1]), "ip-")
	if !ok {
		return nil
	}
	addr, err := netip.ParseAddr(strings.ReplaceAll(label, "-", "."))
	if err != nil || !addr.Is4() || !e.vpc.Contains(addr) {
		return nil
	}
	n := &node{}
	n.add(&rrset{rrtype: dns.TypeA, records: []record{{data: recordData(&dns.A{Hdr: header(dns.TypeA, ec2NameTTL), A: addr.AsSlice()})}}, pick: 1})
	return n
}
