package ec2

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/ec2/ec2types"
)

// maxRules is how many rules a security group may have in each direction
// (EC2's default quota).
const maxRules = 60

// allRules are a group's ingress and egress rules.
func allRules(g ec2state.SecurityGroup) []ec2state.Rule {
	return append(append([]ec2state.Rule{}, g.Ingress...), g.Egress...)
}

// hasPorts reports whether rules of protocol have a port range (or ICMP
// type and code), which EC2 shows in an IpPermission.
func hasPorts(protocol string) bool {
	switch protocol {
	case "tcp", "udp", "icmp", "icmpv6":
		return true
	}
	return false
}

// protocolNames are the protocols EC2 shows by name, by number.
var protocolNames = map[int]string{6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6"}

// normalizeProtocol is a rule's protocol as EC2 keeps it: "tcp", "udp",
// "icmp" and "icmpv6" by name (their numbers too), "-1" for all, any
// other IP protocol by its number. EC2 refuses "all" (OBSERVED), which
// the aws CLI's --protocol turns into "-1" before sending.
func normalizeProtocol(p string) (string, error) {
	s := strings.ToLower(strings.TrimSpace(p))
	switch s {
	case "tcp", "udp", "icmp", "icmpv6", "-1":
		return s, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < -1 || n > 255 {
		// OBSERVED.
		return "", invalidValue("Invalid value '%s' for IP protocol. Unknown protocol.", p)
	}
	if name, ok := protocolNames[n]; ok {
		return name, nil
	}
	return strconv.Itoa(n), nil
}

// normalizePorts checks a rule's port range (or ICMP type and code) for
// its protocol and returns it as EC2 keeps it: -1 for protocols without
// ports.
func normalizePorts(protocol string, from, to *int32) (int32, int32, error) {
	switch protocol {
	case "tcp", "udp":
		if from == nil || to == nil {
			// OBSERVED.
			return 0, 0, invalidValue("Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange.")
		}
		f, t := *from, *to
		if f == -1 && t == -1 {
			// The aws CLI's "--port all". UNVERIFIED: that EC2 takes it as
			// every port rather than refusing it.
			return 0, 65535, nil
		}
		for _, p := range []struct {
			which string
			port  int32
		}{{"from", f}, {"to", t}} {
			if p.port < 0 || p.port > 65535 {
				// OBSERVED (in 2014).
				return 0, 0, invalidValue("TCP/UDP (%s) port (%d) out of range", p.which, p.port)
			}
		}
		if f > t {
			// UNVERIFIED wording.
			return 0, 0, invalidValue("Invalid TCP/UDP port range: the from port (%d) is greater than the to port (%d).", f, t)
		}
		return f, t, nil
	case "icmp", "icmpv6":
		if from == nil && to == nil && protocol == "icmpv6" {
			return -1, -1, nil
		}
		if from == nil || to == nil {
			// OBSERVED.
			return 0, 0, invalidValue("Invalid value 'Must specify both from and to ports with ICMP.' for portRange.")
		}
		f, t := *from, *to
		switch {
		case f < -1 || f > 255:
			// UNVERIFIED wording, after the code's.
			return 0, 0, invalidValue("ICMP type (%d) out of range", f)
		case t < -1 || t > 255:
			// OBSERVED.
			return 0, 0, invalidValue("ICMP code (%d) out of range", t)
		case f == -1 && t != -1:
			// UNVERIFIED wording.
			return 0, 0, invalidValue("Invalid ICMP code (%d): every ICMP type (-1) needs every code (-1).", t)
		}
		return f, t, nil
	}
	return -1, -1, nil
}

// parseSourceCIDR checks a rule's IPv4 (v6 false) or IPv6 block, masked
// as EC2 keeps it.
func parseSourceCIDR(s string, v6 bool) (string, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil || p.Addr().Is4() == v6 || p.Addr().Is4In6() {
		// OBSERVED.
		return "", invalidValue("CIDR block %s is malformed", s)
	}
	return p.Masked().String(), nil
}

// ruleDescriptionChars are the characters a rule's description may hold
// besides letters and digits.
const ruleDescriptionChars = ". _-:/()#,@[]+=&;{}!$*"

func checkRuleDescription(d string) error {
	bad := len(d) > 255
	for _, c := range d {
		bad = bad || !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(ruleDescriptionChars, c))
	}
	if bad {
		// UNVERIFIED wording.
		return invalidValue("Invalid rule description. Valid descriptions are strings less than 256 characters from the following set:  a-zA-Z0-9%s", ruleDescriptionChars)
	}
	return nil
}

// sourceGroup resolves the security group of a rule's source, named by id
// or by name (in the VPC of the group the rule is for).
type sourceGroup func(id, name string) (string, error)

// msgNoSource: OBSERVED.
const msgNoSource = "Missing source specification: include source security group or CIDR information"

// permissionRules turns an IpPermission of a request into the rules it
// stands for, one per source, with new ids.
func (e *EC2) permissionRules(p ec2types.IpPermission, source sourceGroup) ([]ec2state.Rule, error) {
	if p.IpProtocol == nil {
		return nil, missingParameter("IpProtocol")
	}
	proto, err := normalizeProtocol(*p.IpProtocol)
	if err != nil {
		return nil, err
	}
	from, to, err := normalizePorts(proto, p.FromPort, p.ToPort)
	if err != nil {
		return nil, err
	}
	if len(p.PrefixListIds) > 0 {
		return nil, unsupported("prefix lists in security group rules")
	}
	rule := func(desc *string) (ec2state.Rule, error) {
		d := awsapi.Deref(desc)
		if err := checkRuleDescription(d); err != nil {
			return ec2state.Rule{}, err
		}
		return ec2state.Rule{ID: ec2state.NewID(ec2state.RuleIDPrefix), Protocol: proto, FromPort: from, ToPort: to, Description: d}, nil
	}
	var out []ec2state.Rule
	for _, r := range p.IpRanges {
		x, err := rule(r.Description)
		if err != nil {
			return nil, err
		}
		if x.CIDRv4, err = parseSourceCIDR(awsapi.Deref(r.CidrIp), false); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	for _, r := range p.Ipv6Ranges {
		x, err := rule(r.Description)
		if err != nil {
			return nil, err
		}
		if x.CIDRv6, err = parseSourceCIDR(awsapi.Deref(r.CidrIpv6), true); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	for _, pair := range p.UserIdGroupPairs {
		switch {
		case pair.VpcPeeringConnectionId != nil || pair.VpcId != nil:
			return nil, unsupported("security groups of other VPCs in rules")
		case pair.UserId != nil && *pair.UserId != e.account:
			return nil, unsupported("security groups of other accounts in rules")
		}
		x, err := rule(pair.Description)
		if err != nil {
			return nil, err
		}
		if x.GroupID, err = source(awsapi.Deref(pair.GroupId), awsapi.Deref(pair.GroupName)); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	if len(out) == 0 {
		return nil, awsapi.WithMessage(errMissingParameter, msgNoSource)
	}
	return out, nil
}

// legacyRule is the rule the top-level members of Authorize and Revoke
// name (IpProtocol, FromPort, ToPort, CidrIp, SourceSecurityGroupName):
// the older form SDKs still send; the aws CLI sends IpPermissions even for
// its --protocol, --port, --cidr and --source-group.
type legacyRule struct {
	protocol          *string
	from, to          *int32
	cidr, sourceGroup *string
	sourceOwner       *string
}

func (l legacyRule) set() bool {
	return l.protocol != nil || l.from != nil || l.to != nil || l.cidr != nil || l.sourceGroup != nil || l.sourceOwner != nil
}

// permissions returns the IpPermissions a request asks for: its own, or
// the one its top-level members describe.
func (l legacyRule) permissions(perms []ec2types.IpPermission) ([]ec2types.IpPermission, error) {
	if !l.set() {
		return perms, nil
	}
	if len(perms) > 0 {
		// UNVERIFIED wording.
		return nil, invalidCombination("The parameter ipPermissions cannot be used with the parameters ipProtocol, fromPort, toPort, cidrIp, sourceSecurityGroupName and sourceSecurityGroupOwnerId.")
	}
	p := ec2types.IpPermission{IpProtocol: l.protocol, FromPort: l.from, ToPort: l.to}
	if p.IpProtocol == nil {
		// UNVERIFIED: a rule without a protocol admits all traffic of
		// its source, as EC2-Classic's did.
		p.IpProtocol = awsapi.String("-1")
	}
	if l.cidr != nil {
		p.IpRanges = []ec2types.IpRange{{CidrIp: l.cidr}}
	}
	if l.sourceGroup != nil {
		p.UserIdGroupPairs = []ec2types.UserIdGroupPair{{GroupName: l.sourceGroup, UserId: l.sourceOwner}}
		if strings.HasPrefix(*l.sourceGroup, ec2state.GroupIDPrefix) {
			p.UserIdGroupPairs[0] = ec2types.UserIdGroupPair{GroupId: l.sourceGroup, UserId: l.sourceOwner}
		}
	}
	return []ec2types.IpPermission{p}, nil
}

// ruleSentence is how EC2's messages describe a rule.
func ruleSentence(r ec2state.Rule) string {
	peer := r.CIDRv4 + r.CIDRv6 + r.GroupID
	switch r.Protocol {
	case "-1":
		// OBSERVED.
		return fmt.Sprintf("peer: %s, ALL, ALLOW", peer)
	case "tcp", "udp":
		// OBSERVED.
		return fmt.Sprintf("peer: %s, %s, from port: %d, to port: %d, ALLOW", peer, strings.ToUpper(r.Protocol), r.FromPort, r.ToPort)
	case "icmp", "icmpv6":
		// UNVERIFIED wording.
		return fmt.Sprintf("peer: %s, %s, type: %d, code: %d, ALLOW", peer, strings.ToUpper(r.Protocol), r.FromPort, r.ToPort)
	}
	// OBSERVED.
	return fmt.Sprintf("peer: %s, protocol: %s, ALLOW", peer, r.Protocol)
}

// duplicateRule is EC2's answer to a rule the group has already. OBSERVED.
func duplicateRule(r ec2state.Rule) error {
	return awsapi.WithMessage(errPermissionExists, `the specified rule "%s" already exists`, ruleSentence(r))
}

// permKey is what the rules of one IpPermission share.
type permKey struct {
	protocol string
	from, to int32
}

// permissions shows rules as EC2's IpPermissions: the rules of one
// protocol and port range in one IpPermission, with the sources of all of
// them, in the order of each range's first rule.
func (e *EC2) permissions(rules []ec2state.Rule) []ec2types.IpPermission {
	out := []ec2types.IpPermission{}
	index := map[permKey]int{}
	for _, r := range rules {
		k := permKey{r.Protocol, r.FromPort, r.ToPort}
		i, found := index[k]
		if !found {
			i = len(out)
			index[k] = i
			p := ec2types.IpPermission{
				IpProtocol: awsapi.String(r.Protocol),
				IpRanges:   []ec2types.IpRange{}, Ipv6Ranges: []ec2types.Ipv6Range{},
				PrefixListIds: []ec2types.PrefixListId{}, UserIdGroupPairs: []ec2types.UserIdGroupPair{},
			}
			if hasPorts(r.Protocol) {
				p.FromPort, p.ToPort = awsapi.Int32(r.FromPort), awsapi.Int32(r.ToPort)
			}
			out = append(out, p)
		}
		desc := awsapi.OptionalString(r.Description)
		switch p := &out[i]; {
		case r.CIDRv4 != "":
			p.IpRanges = append(p.IpRanges, ec2types.IpRange{CidrIp: awsapi.String(r.CIDRv4), Description: desc})
		case r.CIDRv6 != "":
			p.Ipv6Ranges = append(p.Ipv6Ranges, ec2types.Ipv6Range{CidrIpv6: awsapi.String(r.CIDRv6), Description: desc})
		case r.GroupID != "":
			p.UserIdGroupPairs = append(p.UserIdGroupPairs, ec2types.UserIdGroupPair{
				GroupId: awsapi.String(r.GroupID), UserId: awsapi.String(e.account), Description: desc,
			})
		}
	}
	return out
}

// ruleOut is a rule as DescribeSecurityGroupRules and Authorize show it.
func (e *EC2) ruleOut(g ec2state.SecurityGroup, r ec2state.Rule, egress bool) ec2types.SecurityGroupRule {
	out := ec2types.SecurityGroupRule{
		SecurityGroupRuleId:  awsapi.String(r.ID),
		SecurityGroupRuleArn: awsapi.String(e.arn(g.Region, typeRule, r.ID)),
		GroupId:              awsapi.String(g.ID),
		GroupOwnerId:         awsapi.String(g.OwnerID),
		IsEgress:             awsapi.Bool(egress),
		IpProtocol:           awsapi.String(r.Protocol),
		FromPort:             awsapi.Int32(r.FromPort),
		ToPort:               awsapi.Int32(r.ToPort),
		CidrIpv4:             awsapi.OptionalString(r.CIDRv4),
		CidrIpv6:             awsapi.OptionalString(r.CIDRv6),
		Description:          awsapi.OptionalString(r.Description),
		Tags:                 []ec2types.Tag{},
	}
	if r.GroupID != "" {
		out.ReferencedGroupInfo = &ec2types.ReferencedSecurityGroup{GroupId: awsapi.String(r.GroupID), UserId: awsapi.String(e.account)}
	}
	if len(r.Tags) > 0 {
		out.Tags = tagsOut(r.Tags)
	}
	return out
}

// revokedOut is a rule as Revoke reports it gone.
func revokedOut(g ec2state.SecurityGroup, r ec2state.Rule, egress bool) ec2types.RevokedSecurityGroupRule {
	return ec2types.RevokedSecurityGroupRule{
		SecurityGroupRuleId: awsapi.String(r.ID),
		GroupId:             awsapi.String(g.ID),
		IsEgress:            awsapi.Bool(egress),
		IpProtocol:          awsapi.String(r.Protocol),
		FromPort:            awsapi.Int32(r.FromPort),
		ToPort:              awsapi.Int32(r.ToPort),
		CidrIpv4:            awsapi.OptionalString(r.CIDRv4),
		CidrIpv6:            awsapi.OptionalString(r.CIDRv6),
		ReferencedGroupId:   awsapi.OptionalString(r.GroupID),
		Description:         awsapi.OptionalString(r.Description),
	}
}
