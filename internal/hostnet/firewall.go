package hostnet

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// TableName begins the name of the nftables tables (family inet) that
// hold berth's rules, one per agent; Render's ruleset replaces one whole,
// atomically.
const TableName = "berth"

// Policy is what the firewall enforces: the VPCs, the interfaces in them
// and their security groups.
type Policy struct {
	VPCs       []VPC
	Interfaces []PolicyInterface
	Groups     []Group
}

// PolicyInterface is an interface the security groups apply to: a task's
// or a load balancer's.
type PolicyInterface struct {
	ID      string
	VPC     string
	Address netip.Addr
	Groups  []string
	// Host says the address is the host's own (a load balancer's, which
	// berth serves): it counts as a member of its groups, as a source,
	// but the host filters nothing to it here.
	Host bool
}

// Group is a security group.
type Group struct {
	ID  string
	VPC string
	// Default is the VPC's default group, which in berth also admits the
	// host, so that a task is reachable from the machine it runs on unless
	// its groups say otherwise.
	Default         bool
	Ingress, Egress []Rule
}

// Rule is one security group rule.
type Rule struct {
	// Protocol is "-1" (all), "tcp", "udp", "icmp", "icmpv6" or a number.
	Protocol string
	// FromPort and ToPort are the port range (tcp, udp) or the ICMP type
	// and code; -1 for all.
	FromPort, ToPort int32
	// CIDR (IPv4 or IPv6) or Group (its members) is the peer.
	CIDR  string
	Group string
}

// Render returns the nftables ruleset (for `nft -f -`) that enforces p,
// replacing the table named table atomically:
//
//   - traffic to a task's address (forwarded from another task or the
//     outside, or sent by the host, a load balancer's proxy included)
//     passes only if a rule of one of its groups admits it;
//   - traffic from a task's address (forwarded, or to the host) passes only
//     if an egress rule of one of its groups lets it out, except to the
//     link-local addresses (the metadata and credentials endpoint) and DNS
//     to its VPC's resolver, which security groups do not filter, as in
//     AWS;
//   - replies of admitted connections pass both ways (groups are
//     stateful);
//   - traffic to an address of p's VPCs that no interface of p holds is
//     dropped: an interface is in p before its task runs, and nothing else
//     should be there;
//   - traffic of a VPC that leaves the host is masqueraded, as a NAT
//     gateway would.
func Render(table string, p Policy) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("add table inet %s", table)
	w("delete table inet %s", table)
	w("table inet %s {", table)

	groups, members, holder := indexPolicy(p)
	referenced := map[string]bool{}
	for _, g := range p.Groups {
		for _, r := range append(slices.Clone(g.Ingress), g.Egress...) {
			if r.Group != "" {
				referenced[r.Group] = true
			}
		}
	}
	for _, id := range sortedKeys(referenced) {
		w("\tset %s {\n\t\ttype ipv4_addr", groupSet(id))
		if addrs := members[id]; len(addrs) > 0 {
			w("\t\telements = { %s }", joinAddrs(addrs))
		}
		w("\t}")
	}
	hosts, ranges := policyAddresses(p)
	w("\tset hosts {\n\t\ttype ipv4_addr")
	if len(hosts) > 0 {
		w("\t\telements = { %s }", strings.Join(hosts, ", "))
	}
	w("\t}")
	w("\tset vpcs {\n\t\ttype ipv4_addr\n\t\tflags interval")
	if len(ranges) > 0 {
		w("\t\telements = { %s }", strings.Join(ranges, ", "))
	}
	w("\t}")

	var ingressMap, egressMap []string
	for _, i := range p.Interfaces {
		if i.Host || !i.Address.Is4() || holder[i.Address] != i.ID {
			continue
		}
		in, out := "in_"+hexPart(i.ID, 17), "out_"+hexPart(i.ID, 17)
		ingressMap = append(ingressMap, fmt.Sprintf("%s : jump %s", i.Address, in))
		egressMap = append(egressMap, fmt.Sprintf("%s : jump %s", i.Address, out))

		w("\tchain %s {", in)
		admitsHost := false
		for _, id := range i.Groups {
			g := groups[id]
			admitsHost = admitsHost || g.Default
			for _, r := range g.Ingress {
				if m, ok := match(r, "saddr"); ok {
					w("\t\t%saccept", m)
				}
			}
		}
		if admitsHost {
			w("\t\tip saddr @hosts accept")
		}
		w("\t\tdrop\n\t}")

		w("\tchain %s {", out)
		for _, id := range i.Groups {
			for _, r := range groups[id].Egress {
				if m, ok := match(r, "daddr"); ok {
					w("\t\t%sreturn", m)
				}
			}
		}
		w("\t\tdrop\n\t}")
	}
	w("\tmap ingress {\n\t\ttype ipv4_addr : verdict")
	if len(ingressMap) > 0 {
		w("\t\telements = { %s }", strings.Join(ingressMap, ", "))
	}
	w("\t}")
	w("\tmap egress {\n\t\ttype ipv4_addr : verdict")
	if len(egressMap) > 0 {
		w("\t\telements = { %s }", strings.Join(egressMap, ", "))
	}
	w("\t}")

	bridges := fmt.Sprintf("%q", BridgePrefix+"*")
	w("\tchain forward {\n\t\ttype filter hook forward priority 0; policy accept;")
	w("\t\tct state established,related accept")
	w("\t\tiifname %s ip saddr vmap @egress", bridges)
	w("\t\toifname %s ip daddr vmap @ingress", bridges)
	w("\t\toifname %s ip daddr @vpcs drop", bridges)
	w("\t}")
	w("\tchain output {\n\t\ttype filter hook output priority 0; policy accept;")
	w("\t\tct state established,related accept")
	w("\t\toifname %s ip daddr vmap @ingress", bridges)
	w("\t\toifname %s ip daddr @vpcs drop", bridges)
	w("\t}")
	w("\tchain input {\n\t\ttype filter hook input priority 0; policy accept;")
	w("\t\tct state established,related accept")
	w("\t\tiifname %s ip daddr 169.254.0.0/16 accept", bridges)
	if rs := resolvers(p); len(rs) > 0 {
		w("\t\tiifname %s ip daddr { %s } meta l4proto { tcp, udp } th dport 53 accept", bridges, strings.Join(rs, ", "))
	}
	w("\t\tiifname %s ip saddr vmap @egress", bridges)
	w("\t}")
	w("\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;")
	w("\t\tip saddr @vpcs oifname != %s masquerade", bridges)
	w("\t}")
	w("}")
	return b.String()
}

// indexPolicy returns p's groups by id, the addresses of each group's
// members, and the interface that holds each address.
func indexPolicy(p Policy) (groups map[string]Group, members map[string][]netip.Addr, holder map[netip.Addr]string) {
	groups = map[string]Group{}
	for _, g := range p.Groups {
		groups[g.ID] = g
	}
	members = map[string][]netip.Addr{}
	holder = map[netip.Addr]string{}
	for _, i := range p.Interfaces {
		// An address held twice (VPCs of two regions that overlap, which
		// berth refuses to carry) counts for its first interface only.
		if id, held := holder[i.Address]; held && id != i.ID {
			continue
		}
		holder[i.Address] = i.ID
		for _, g := range i.Groups {
			members[g] = append(members[g], i.Address)
		}
	}
	return groups, members, holder
}

// policyAddresses returns the host's addresses in p's VPCs (each subnet's
// router) and the VPCs' ranges, sorted.
func policyAddresses(p Policy) (hosts, ranges []string) {
	for _, v := range p.VPCs {
		for _, s := range v.Subnets {
			hosts = append(hosts, Router(s).String())
		}
		ranges = append(ranges, v.CIDR.Masked().String())
	}
	slices.Sort(hosts)
	slices.Sort(ranges)
	return slices.Compact(hosts), slices.Compact(ranges)
}

// match is the nftables match of r on the peer address field ("saddr" for
// ingress, "daddr" for egress), ending in a space; false for a rule that
// cannot match IPv4 traffic (an IPv6 peer).
func match(r Rule, field string) (string, bool) {
	var m strings.Builder
	switch {
	case r.Group != "":
		fmt.Fprintf(&m, "ip %s @%s ", field, groupSet(r.Group))
	case r.CIDR != "":
		p, err := netip.ParsePrefix(r.CIDR)
		if err != nil || !p.Addr().Is4() {
			return "", false
		}
		if p.Bits() > 0 {
			fmt.Fprintf(&m, "ip %s %s ", field, p.Masked())
		}
	default:
		return "", false
	}
	proto := strings.ToLower(r.Protocol)
	switch proto {
	case "-1", "all", "":
	case "tcp", "6", "udp", "17":
		name := map[string]string{"6": "tcp", "17": "udp"}[proto]
		if name == "" {
			name = proto
		}
		if ports, all := portRange(r.FromPort, r.ToPort); all {
			fmt.Fprintf(&m, "meta l4proto %s ", name)
		} else {
			fmt.Fprintf(&m, "%s dport %s ", name, ports)
		}
	case "icmp", "1":
		m.WriteString("meta l4proto icmp ")
		if r.FromPort >= 0 {
			fmt.Fprintf(&m, "icmp type %d ", r.FromPort)
			if r.ToPort >= 0 {
				fmt.Fprintf(&m, "icmp code %d ", r.ToPort)
			}
		}
	case "icmpv6", "58":
		return "", false
	default:
		n, err := strconv.Atoi(proto)
		if err != nil || n < 0 || n > 255 {
			return "", false
		}
		fmt.Fprintf(&m, "meta l4proto %d ", n)
	}
	return m.String(), true
}

// portRange is the nftables port or range from..to; all when it covers
// every port.
func portRange(from, to int32) (string, bool) {
	if from < 0 || to < 0 || (from <= 0 && to >= 65535) {
		return "", true
	}
	if from == to {
		return strconv.Itoa(int(from)), false
	}
	return fmt.Sprintf("%d-%d", from, to), false
}

func groupSet(id string) string { return "g_" + hexPart(id, 17) }

func joinAddrs(addrs []netip.Addr) string {
	addrs = slices.Clone(addrs)
	slices.SortFunc(addrs, netip.Addr.Compare)
	addrs = slices.Compact(addrs)
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
