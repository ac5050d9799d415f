package hostnet

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// The iptables form of the security groups, for hosts without nftables'
// nft command: the same verdicts as Render's table, in chains of the
// filter and nat tables that the built-in chains jump to for traffic of
// berth's bridges only.

// iptablesChainPrefix is the beginning of the names of one agent's
// chains: iptables allows names of 28 characters.
func iptablesChainPrefix(table string) string { return table[:min(len(table), 14)] }

// IPTablesHooks are the jumps from the built-in chains into an agent's
// chains (table, chain, then the rule's arguments), each added once.
func IPTablesHooks(table string) [][]string {
	p := iptablesChainPrefix(table)
	bridges := BridgePrefix + "+"
	return [][]string{
		{"filter", "FORWARD", "-i", bridges, "-j", p + "-fwd"},
		{"filter", "FORWARD", "-o", bridges, "-j", p + "-fwd"},
		{"filter", "OUTPUT", "-o", bridges, "-j", p + "-out"},
		{"filter", "INPUT", "-i", bridges, "-j", p + "-in"},
		{"nat", "POSTROUTING", "-j", p + "-nat"},
	}
}

// RenderIPTables returns the input of `iptables-restore --noflush` that
// enforces p as Render's table does: it declares (and so empties) the
// agent's chains, fills them, and deletes stale, the chains of interfaces
// gone (names from the last listing of the filter table).
func RenderIPTables(table string, p Policy, stale []string) string {
	prefix := iptablesChainPrefix(table)
	bridges := BridgePrefix + "+"
	groups, members, holder := indexPolicy(p)
	hosts, ranges := policyAddresses(p)

	var chains, rules []string
	chain := func(name string) { chains = append(chains, ":"+name+" - [0:0]") }
	add := func(format string, args ...any) { rules = append(rules, fmt.Sprintf(format, args...)) }
	fwd, out, in := prefix+"-fwd", prefix+"-out", prefix+"-in"
	for _, c := range []string{fwd, out, in} {
		chain(c)
	}
	for _, c := range []string{fwd, out, in} {
		add("-A %s -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT", c)
	}
	add("-A %s -i %s -d 169.254.0.0/16 -j ACCEPT", in, bridges)
	for _, r := range resolvers(p) {
		add("-A %s -i %s -d %s/32 -p udp --dport 53 -j ACCEPT", in, bridges, r)
		add("-A %s -i %s -d %s/32 -p tcp --dport 53 -j ACCEPT", in, bridges, r)
	}
	current := map[string]bool{}
	var ingressJumps, egressJumps []string
	for _, i := range p.Interfaces {
		if i.Host || !i.Address.Is4() || holder[i.Address] != i.ID {
			continue
		}
		// Chains are numbered, not named after the interface: a name of
		// 28 characters has no room for a whole id, and a shortened one
		// could name two interfaces. The jumps name the interface.
		n := strconv.Itoa(len(ingressJumps))
		ic, ec := prefix+"-i"+n, prefix+"-e"+n
		current[ic], current[ec] = true, true
		chain(ic)
		chain(ec)
		admitsHost := false
		for _, id := range i.Groups {
			g := groups[id]
			admitsHost = admitsHost || g.Default
			for _, r := range g.Ingress {
				for _, m := range iptablesMatches(r, "-s", members) {
					add("-A %s %s-j ACCEPT", ic, m)
				}
			}
		}
		if admitsHost {
			for _, h := range hosts {
				add("-A %s -s %s/32 -j ACCEPT", ic, h)
			}
		}
		add("-A %s -j DROP", ic)
		for _, id := range i.Groups {
			for _, r := range groups[id].Egress {
				for _, m := range iptablesMatches(r, "-d", members) {
					add("-A %s %s-j RETURN", ec, m)
				}
			}
		}
		add("-A %s -j DROP", ec)
		ingressJumps = append(ingressJumps, fmt.Sprintf("-o %s -d %s/32 -m comment --comment %s -j %s", bridges, i.Address, i.ID, ic))
		egressJumps = append(egressJumps, fmt.Sprintf("-i %s -s %s/32 -m comment --comment %s -j %s", bridges, i.Address, i.ID, ec))
	}
	for _, j := range egressJumps {
		add("-A %s %s", fwd, j)
		add("-A %s %s", in, j)
	}
	for _, j := range ingressJumps {
		add("-A %s %s", fwd, j)
		add("-A %s %s", out, j)
	}
	for _, r := range ranges {
		add("-A %s -o %s -d %s -j DROP", fwd, bridges, r)
		add("-A %s -o %s -d %s -j DROP", out, bridges, r)
	}
	var gone []string
	for _, name := range stale {
		if strings.HasPrefix(name, prefix+"-") && !current[name] && name != fwd && name != out && name != in {
			gone = append(gone, name)
		}
	}
	slices.Sort(gone)

	var b strings.Builder
	b.WriteString("*filter\n")
	for _, c := range chains {
		b.WriteString(c + "\n")
	}
	// A stale chain is emptied (declared) before it is deleted: nothing
	// jumps to it any more once the main chains are refilled.
	for _, c := range gone {
		b.WriteString(":" + c + " - [0:0]\n")
	}
	for _, r := range rules {
		b.WriteString(r + "\n")
	}
	for _, c := range gone {
		b.WriteString("-X " + c + "\n")
	}
	b.WriteString("COMMIT\n*nat\n")
	nat := prefix + "-nat"
	b.WriteString(":" + nat + " - [0:0]\n")
	for _, r := range ranges {
		fmt.Fprintf(&b, "-A %s -s %s ! -o %s -j MASQUERADE\n", nat, r, bridges)
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

// iptablesMatches are the iptables matches of r on the peer address (flag
// "-s" for ingress, "-d" for egress), each ending in a space: one per
// member of a peer group (none when it has none), one for a CIDR; none for
// a rule that cannot match IPv4 traffic.
func iptablesMatches(r Rule, flag string, members map[string][]netip.Addr) []string {
	var peers []string
	switch {
	case r.Group != "":
		addrs := slices.Clone(members[r.Group])
		slices.SortFunc(addrs, netip.Addr.Compare)
		for _, a := range slices.Compact(addrs) {
			peers = append(peers, fmt.Sprintf("%s %s/32 ", flag, a))
		}
	case r.CIDR != "":
		p, err := netip.ParsePrefix(r.CIDR)
		if err != nil || !p.Addr().Is4() {
			return nil
		}
		if p.Bits() > 0 {
			peers = append(peers, fmt.Sprintf("%s %s ", flag, p.Masked()))
		} else {
			peers = append(peers, "")
		}
	}
	var proto string
	switch p := strings.ToLower(r.Protocol); p {
	case "-1", "all", "":
	case "tcp", "6", "udp", "17":
		name := map[string]string{"6": "tcp", "17": "udp"}[p]
		if name == "" {
			name = p
		}
		proto = "-p " + name + " "
		if ports, all := portRange(r.FromPort, r.ToPort); !all {
			proto += "--dport " + strings.Replace(ports, "-", ":", 1) + " "
		}
	case "icmp", "1":
		proto = "-p icmp "
		if r.FromPort >= 0 {
			proto += "--icmp-type " + strconv.Itoa(int(r.FromPort))
			if r.ToPort >= 0 {
				proto += "/" + strconv.Itoa(int(r.ToPort))
			}
			proto += " "
		}
	case "icmpv6", "58":
		return nil
	default:
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 255 {
			return nil
		}
		proto = "-p " + strconv.Itoa(n) + " "
	}
	out := make([]string, len(peers))
	for i, peer := range peers {
		out[i] = peer + proto
	}
	return out
}
