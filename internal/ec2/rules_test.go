package ec2

import (
	"encoding/json"
	"testing"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/ec2/ec2types"
)

func TestNormalizeProtocol(t *testing.T) {
	for _, tc := range []struct{ in, want, errMsg string }{
		{in: "tcp", want: "tcp"},
		{in: "TCP", want: "tcp"},
		{in: "6", want: "tcp"},
		{in: "17", want: "udp"},
		{in: "1", want: "icmp"},
		{in: "58", want: "icmpv6"},
		{in: "-1", want: "-1"},
		{in: "50", want: "50"},
		{in: "050", want: "50"},
		{in: "all", errMsg: "Invalid value 'all' for IP protocol. Unknown protocol."},
		{in: "256", errMsg: "Invalid value '256' for IP protocol. Unknown protocol."},
		{in: "esp", errMsg: "Invalid value 'esp' for IP protocol. Unknown protocol."},
	} {
		got, err := normalizeProtocol(tc.in)
		if tc.errMsg != "" {
			wantError(t, mapped(err), "InvalidParameterValue", tc.errMsg)
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("normalizeProtocol(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestNormalizePorts(t *testing.T) {
	p := awsapi.Int32
	for _, tc := range []struct {
		proto            string
		from, to         *int32
		wantFrom, wantTo int32
		errMsg           string
	}{
		{proto: "tcp", from: p(80), to: p(80), wantFrom: 80, wantTo: 80},
		{proto: "udp", from: p(1000), to: p(2000), wantFrom: 1000, wantTo: 2000},
		{proto: "tcp", from: p(-1), to: p(-1), wantFrom: 0, wantTo: 65535},
		{proto: "tcp", from: p(80), errMsg: "Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange."},
		{proto: "tcp", errMsg: "Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange."},
		{proto: "tcp", from: p(-1), to: p(80), errMsg: "TCP/UDP (from) port (-1) out of range"},
		{proto: "udp", from: p(1), to: p(70000), errMsg: "TCP/UDP (to) port (70000) out of range"},
		{proto: "tcp", from: p(90), to: p(80), errMsg: "Invalid TCP/UDP port range: the from port (90) is greater than the to port (80)."},
		{proto: "icmp", from: p(8), to: p(-1), wantFrom: 8, wantTo: -1},
		{proto: "icmp", from: p(-1), to: p(-1), wantFrom: -1, wantTo: -1},
		{proto: "icmp", errMsg: "Invalid value 'Must specify both from and to ports with ICMP.' for portRange."},
		{proto: "icmp", from: p(-1), to: p(4), errMsg: "Invalid ICMP code (4): every ICMP type (-1) needs every code (-1)."},
		{proto: "icmp", from: p(3), to: p(65535), errMsg: "ICMP code (65535) out of range"},
		{proto: "icmpv6", wantFrom: -1, wantTo: -1},
		{proto: "-1", from: p(0), to: p(65535), wantFrom: -1, wantTo: -1},
		{proto: "50", wantFrom: -1, wantTo: -1},
	} {
		from, to, err := normalizePorts(tc.proto, tc.from, tc.to)
		if tc.errMsg != "" {
			wantError(t, mapped(err), "InvalidParameterValue", tc.errMsg)
			continue
		}
		if err != nil || from != tc.wantFrom || to != tc.wantTo {
			t.Errorf("normalizePorts(%s, %v, %v) = %d, %d, %v; want %d, %d", tc.proto, tc.from, tc.to, from, to, err, tc.wantFrom, tc.wantTo)
		}
	}
}

func TestParseSourceCIDR(t *testing.T) {
	for _, tc := range []struct {
		in   string
		v6   bool
		want string
	}{
		{in: "0.0.0.0/0", want: "0.0.0.0/0"},
		{in: "203.0.113.0/24", want: "203.0.113.0/24"},
		{in: "92.68.201.91/29", want: "92.68.201.88/29"},
		{in: "10.0.0.1/32", want: "10.0.0.1/32"},
		{in: "::/0", v6: true, want: "::/0"},
		{in: "2001:db8:1234:1a00::/64", v6: true, want: "2001:db8:1234:1a00::/64"},
		{in: "::/0"},
		{in: "10.0.0.0/8", v6: true},
		{in: "10.0.0.1"},
		{in: "10.0.0.0/33"},
		{in: "not a cidr"},
		{in: ""},
	} {
		got, err := parseSourceCIDR(tc.in, tc.v6)
		if tc.want == "" {
			wantError(t, mapped(err), "InvalidParameterValue", "CIDR block "+tc.in+" is malformed")
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseSourceCIDR(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestPermissionsGrouping(t *testing.T) {
	e := &EC2{account: testAccount}
	rules := []ec2state.Rule{
		{ID: "sgr-1", Protocol: "-1", FromPort: -1, ToPort: -1, GroupID: "sg-self"},
		{ID: "sgr-2", Protocol: "tcp", FromPort: 22, ToPort: 22, CIDRv4: "203.0.113.0/24", Description: "Access from NY office"},
		{ID: "sgr-3", Protocol: "tcp", FromPort: 80, ToPort: 80, CIDRv4: "0.0.0.0/0"},
		{ID: "sgr-4", Protocol: "tcp", FromPort: 22, ToPort: 22, CIDRv6: "::/0"},
		{ID: "sgr-5", Protocol: "tcp", FromPort: 22, ToPort: 22, GroupID: "sg-other"},
		{ID: "sgr-6", Protocol: "icmp", FromPort: -1, ToPort: -1, CIDRv4: "10.0.0.0/8"},
		{ID: "sgr-7", Protocol: "50", FromPort: -1, ToPort: -1, CIDRv4: "10.0.0.0/8"},
		{ID: "sgr-8", Protocol: "tcp", FromPort: 22, ToPort: 22, CIDRv4: "198.51.100.0/24"},
	}
	got, err := json.Marshal(e.permissions(rules))
	if err != nil {
		t.Fatal(err)
	}
	want := `[` +
		`{"ipProtocol":"-1","ipRanges":[],"ipv6Ranges":[],"prefixListIds":[],"groups":[{"groupId":"sg-self","userId":"123456789012"}]},` +
		`{"fromPort":22,"ipProtocol":"tcp","ipRanges":[{"cidrIp":"203.0.113.0/24","description":"Access from NY office"},{"cidrIp":"198.51.100.0/24"}],` +
		`"ipv6Ranges":[{"cidrIpv6":"::/0"}],"prefixListIds":[],"toPort":22,"groups":[{"groupId":"sg-other","userId":"123456789012"}]},` +
		`{"fromPort":80,"ipProtocol":"tcp","ipRanges":[{"cidrIp":"0.0.0.0/0"}],"ipv6Ranges":[],"prefixListIds":[],"toPort":80,"groups":[]},` +
		`{"fromPort":-1,"ipProtocol":"icmp","ipRanges":[{"cidrIp":"10.0.0.0/8"}],"ipv6Ranges":[],"prefixListIds":[],"toPort":-1,"groups":[]},` +
		`{"ipProtocol":"50","ipRanges":[{"cidrIp":"10.0.0.0/8"}],"ipv6Ranges":[],"prefixListIds":[],"groups":[]}` +
		`]`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if got := e.permissions(nil); got == nil || len(got) != 0 {
		t.Fatalf("no rules: %#v", got)
	}
}

func TestRuleSentence(t *testing.T) {
	for _, tc := range []struct {
		rule ec2state.Rule
		want string
	}{
		{ec2state.Rule{Protocol: "tcp", FromPort: 8080, ToPort: 8080, GroupID: "sg-0123456789abcdef0"},
			`the specified rule "peer: sg-0123456789abcdef0, TCP, from port: 8080, to port: 8080, ALLOW" already exists`},
		{ec2state.Rule{Protocol: "udp", FromPort: 50000, ToPort: 60000, CIDRv4: "0.0.0.0/0"},
			`the specified rule "peer: 0.0.0.0/0, UDP, from port: 50000, to port: 60000, ALLOW" already exists`},
		{ec2state.Rule{Protocol: "-1", FromPort: -1, ToPort: -1, CIDRv4: "0.0.0.0/0"},
			`the specified rule "peer: 0.0.0.0/0, ALL, ALLOW" already exists`},
		{ec2state.Rule{Protocol: "50", FromPort: -1, ToPort: -1, CIDRv4: "0.0.0.0/0"},
			`the specified rule "peer: 0.0.0.0/0, protocol: 50, ALLOW" already exists`},
	} {
		wantError(t, mapped(duplicateRule(tc.rule)), "InvalidPermission.Duplicate", tc.want)
	}
}

func TestLegacyRule(t *testing.T) {
	// The top-level members become one IpPermission; a source group named
	// by id is taken as an id.
	perms, err := legacyRule{protocol: awsapi.String("tcp"), from: awsapi.Int32(8080), to: awsapi.Int32(8080),
		sourceGroup: awsapi.String("sg-0123456789abcdef0")}.permissions(nil)
	if err != nil || len(perms) != 1 || awsapi.Deref(perms[0].UserIdGroupPairs[0].GroupId) != "sg-0123456789abcdef0" ||
		perms[0].UserIdGroupPairs[0].GroupName != nil || *perms[0].FromPort != 8080 {
		t.Fatalf("by id: %+v %v", perms, err)
	}
	perms, _ = legacyRule{cidr: awsapi.String("10.0.0.0/8")}.permissions(nil)
	if awsapi.Deref(perms[0].IpProtocol) != "-1" || awsapi.Deref(perms[0].IpRanges[0].CidrIp) != "10.0.0.0/8" {
		t.Fatalf("cidr only: %+v", perms)
	}
	perms, _ = legacyRule{}.permissions([]ec2types.IpPermission{tcp(22, "0.0.0.0/0")})
	if len(perms) != 1 || *perms[0].FromPort != 22 {
		t.Fatalf("no legacy members: %+v", perms)
	}
	_, err = legacyRule{cidr: awsapi.String("10.0.0.0/8")}.permissions([]ec2types.IpPermission{tcp(22, "0.0.0.0/0")})
	wantError(t, mapped(err), "InvalidParameterCombination", "")
}
