package hostnet

import (
	"net/netip"
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		rule Rule
		want string
		ok   bool
	}{
		{Rule{Protocol: "-1", FromPort: -1, ToPort: -1, CIDR: "0.0.0.0/0"}, "", true},
		{Rule{Protocol: "tcp", FromPort: 8080, ToPort: 8080, Group: "sg-0123456789abcdef0"}, "ip saddr @g_0123456789abcdef0 tcp dport 8080 ", true},
		{Rule{Protocol: "udp", FromPort: 1000, ToPort: 2000, CIDR: "10.0.0.7/16"}, "ip saddr 10.0.0.0/16 udp dport 1000-2000 ", true},
		{Rule{Protocol: "6", FromPort: 0, ToPort: 65535, CIDR: "10.0.0.0/8"}, "ip saddr 10.0.0.0/8 meta l4proto tcp ", true},
		{Rule{Protocol: "icmp", FromPort: 8, ToPort: -1, CIDR: "0.0.0.0/0"}, "meta l4proto icmp icmp type 8 ", true},
		{Rule{Protocol: "icmp", FromPort: 3, ToPort: 4, CIDR: "0.0.0.0/0"}, "meta l4proto icmp icmp type 3 icmp code 4 ", true},
		{Rule{Protocol: "47", CIDR: "0.0.0.0/0"}, "meta l4proto 47 ", true},
		{Rule{Protocol: "tcp", FromPort: 80, ToPort: 80, CIDR: "::/0"}, "", false},
		{Rule{Protocol: "icmpv6", CIDR: "0.0.0.0/0"}, "", false},
		{Rule{Protocol: "tcp", FromPort: 80, ToPort: 80}, "", false},
	} {
		got, ok := match(tc.rule, "saddr")
		if got != tc.want || ok != tc.ok {
			t.Errorf("match(%+v) = %q, %v; want %q, %v", tc.rule, got, ok, tc.want, tc.ok)
		}
	}
}

// renderTestPolicy has two interfaces of one address, one of the host, a
// group that admits a group and a default group.
func renderTestPolicy() Policy {
	const vpc = "vpc-0123456789abcdef0"
	return Policy{
		VPCs: []VPC{{ID: vpc, CIDR: netip.MustParsePrefix("10.0.0.0/16"), Subnets: []netip.Prefix{netip.MustParsePrefix("10.0.1.0/24"), netip.MustParsePrefix("10.0.2.0/24")}}},
		Interfaces: []PolicyInterface{
			{ID: "eni-00000000000000001", VPC: vpc, Address: netip.MustParseAddr("10.0.1.15"), Groups: []string{"sg-000000000000000a1"}},
			{ID: "eni-00000000000000002", VPC: vpc, Address: netip.MustParseAddr("10.0.1.15"), Groups: []string{"sg-000000000000000d1"}},
			{ID: "eni-00000000000000003", VPC: vpc, Address: netip.MustParseAddr("10.0.2.23"), Groups: []string{"sg-000000000000000d1"}},
			{ID: "eni-00000000000000004", VPC: vpc, Address: netip.MustParseAddr("10.0.1.200"), Groups: []string{"sg-000000000000000b1"}, Host: true},
		},
		Groups: []Group{
			{ID: "sg-000000000000000a1", VPC: vpc, Ingress: []Rule{{Protocol: "tcp", FromPort: 8080, ToPort: 8080, Group: "sg-000000000000000b1"}}},
			{ID: "sg-000000000000000d1", VPC: vpc, Default: true, Ingress: []Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, Group: "sg-000000000000000d1"}},
				Egress: []Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, CIDR: "0.0.0.0/0"}}},
			{ID: "sg-000000000000000b1", VPC: vpc},
		},
	}
}

func TestRender(t *testing.T) {
	got := Render(TableName, renderTestPolicy())
	for _, want := range []string{
		"add table inet berth\ndelete table inet berth\n",
		"set g_000000000000000b1 {\n\t\ttype ipv4_addr\n\t\telements = { 10.0.1.200 }\n",
		"set g_000000000000000d1 {\n\t\ttype ipv4_addr\n\t\telements = { 10.0.2.23 }\n",
		"set hosts {\n\t\ttype ipv4_addr\n\t\telements = { 10.0.1.1, 10.0.2.1 }\n",
		"elements = { 10.0.0.0/16 }",
		// The first interface of an address wins; a group without egress
		// rules lets nothing out.
		"chain in_00000000000000001 {\n\t\tip saddr @g_000000000000000b1 tcp dport 8080 accept\n\t\tdrop\n\t}",
		"chain out_00000000000000001 {\n\t\tdrop\n\t}",
		// The default group admits its members and the host.
		"chain in_00000000000000003 {\n\t\tip saddr @g_000000000000000d1 accept\n\t\tip saddr @hosts accept\n\t\tdrop\n\t}",
		"chain out_00000000000000003 {\n\t\treturn\n\t\tdrop\n\t}",
		"elements = { 10.0.1.15 : jump in_00000000000000001, 10.0.2.23 : jump in_00000000000000003 }",
		`ip saddr @vpcs oifname != "berth-*" masquerade`,
		// DNS to the VPC's resolver is not filtered.
		`iifname "berth-*" ip daddr { 10.0.0.2 } meta l4proto { tcp, udp } th dport 53 accept`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("ruleset lacks %q:\n%s", want, got)
		}
	}
	for _, unwanted := range []string{"in_00000000000000002", "in_00000000000000004"} {
		if strings.Contains(got, unwanted) {
			t.Errorf("ruleset has %s:\n%s", unwanted, got)
		}
	}
}

func TestRenderIPTables(t *testing.T) {
	const table = "berth_0123456789ab"
	stale := []string{"berth_01234567-i9", "berth_01234567-i1", "berth_01234567-fwd", "DOCKER-USER", "berth_99999999-i9"}
	got := RenderIPTables(table, renderTestPolicy(), stale)
	for _, want := range []string{
		"*filter\n:berth_01234567-fwd - [0:0]\n",
		"-A berth_01234567-fwd -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n",
		// The first interface of an address wins; a group's members stand
		// for it; a group without egress rules lets nothing out.
		"-A berth_01234567-i0 -s 10.0.1.200/32 -p tcp --dport 8080 -j ACCEPT\n-A berth_01234567-i0 -j DROP\n",
		"-A berth_01234567-e0 -j DROP\n",
		// The default group admits its members and the host.
		"-A berth_01234567-i1 -s 10.0.2.23/32 -j ACCEPT\n-A berth_01234567-i1 -s 10.0.1.1/32 -j ACCEPT\n-A berth_01234567-i1 -s 10.0.2.1/32 -j ACCEPT\n",
		"-A berth_01234567-e1 -j RETURN\n-A berth_01234567-e1 -j DROP\n",
		"-A berth_01234567-fwd -i berth-+ -s 10.0.1.15/32 -m comment --comment eni-00000000000000001 -j berth_01234567-e0\n",
		"-A berth_01234567-out -o berth-+ -d 10.0.2.23/32 -m comment --comment eni-00000000000000003 -j berth_01234567-i1\n",
		"-A berth_01234567-fwd -o berth-+ -d 10.0.0.0/16 -j DROP\n",
		// Only this agent's chains of interfaces gone are deleted.
		":berth_01234567-i9 - [0:0]\n",
		"-X berth_01234567-i9\nCOMMIT\n",
		// DNS to the VPC's resolver is not filtered.
		"-A berth_01234567-in -i berth-+ -d 10.0.0.2/32 -p udp --dport 53 -j ACCEPT\n-A berth_01234567-in -i berth-+ -d 10.0.0.2/32 -p tcp --dport 53 -j ACCEPT\n",
		"*nat\n:berth_01234567-nat - [0:0]\n-A berth_01234567-nat -s 10.0.0.0/16 ! -o berth-+ -j MASQUERADE\nCOMMIT\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("rules lack %q:\n%s", want, got)
		}
	}
	for _, unwanted := range []string{"-X berth_01234567-i1", "-X berth_01234567-fwd", "DOCKER-USER", "berth_99999999", "eni-00000000000000002", "eni-00000000000000004", "berth_01234567-i2"} {
		if strings.Contains(got, unwanted) {
			t.Errorf("rules have %s:\n%s", unwanted, got)
		}
	}
}
