package ec2

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/ec2/ec2types"
)

func TestCreateSecurityGroup(t *testing.T) {
	e := newTestEnv(t)
	dv := e.defaultVPC()
	out := must[ec2types.CreateSecurityGroupResult](e, "CreateSecurityGroup", &ec2types.CreateSecurityGroupRequest{
		GroupName: awsapi.String("web"), Description: awsapi.String("Web servers: ports 80 & 443"),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: awsapi.String("security-group"),
			Tags: []ec2types.Tag{{Key: awsapi.String("team"), Value: awsapi.String("a")}}}}})
	if !ec2state.ValidID(*out.GroupId, "sg-") || *out.SecurityGroupArn != "arn:aws:ec2:us-east-1:123456789012:security-group/"+*out.GroupId ||
		len(out.Tags) != 1 {
		t.Fatalf("created: %+v", out)
	}
	g := e.group(*out.GroupId)
	if g.VPCID != dv.ID || len(g.Ingress) != 0 || len(g.Egress) != 1 || !g.Egress[0].Same(ec2state.AllTrafficOut()) {
		t.Fatalf("new group: %+v", g)
	}
	v := e.createVPC("10.0.0.0/16")
	e.createGroup(*v.VpcId, "web") // the name is the VPC's
	for _, tc := range []struct {
		in        *ec2types.CreateSecurityGroupRequest
		code, msg string
	}{
		{&ec2types.CreateSecurityGroupRequest{GroupName: awsapi.String("web"), Description: awsapi.String("again")},
			"InvalidGroup.Duplicate", "The security group 'web' already exists for VPC '" + dv.ID + "'"},
		{&ec2types.CreateSecurityGroupRequest{GroupName: awsapi.String("default"), Description: awsapi.String("d")},
			"InvalidGroup.Reserved", "The security group 'default' is reserved"},
		{&ec2types.CreateSecurityGroupRequest{GroupName: awsapi.String("sg-web"), Description: awsapi.String("d")},
			"InvalidParameterValue", "Value (sg-web) for parameter GroupName is invalid. Group names may not be in the format sg-*."},
		{&ec2types.CreateSecurityGroupRequest{GroupName: awsapi.String("web2"), Description: awsapi.String("Web — servers")},
			"InvalidParameterValue", "Value (Web — servers) for parameter GroupDescription is invalid. Character sets beyond ASCII are not supported."},
		{&ec2types.CreateSecurityGroupRequest{GroupName: awsapi.String("web2"), Description: awsapi.String("what?")}, "InvalidParameterValue", ""},
		{&ec2types.CreateSecurityGroupRequest{GroupName: awsapi.String("web2"), Description: awsapi.String("")},
			"MissingParameter", "The request must contain the parameter GroupDescription"},
		{&ec2types.CreateSecurityGroupRequest{GroupName: awsapi.String(strings.Repeat("a", 256)), Description: awsapi.String("d")}, "InvalidParameterValue", ""},
		{&ec2types.CreateSecurityGroupRequest{GroupName: awsapi.String("web2"), Description: awsapi.String("d"), VpcId: awsapi.String("vpc-0000000000000000a")},
			"InvalidVpcID.NotFound", ""},
		{&ec2types.CreateSecurityGroupRequest{GroupName: awsapi.String("web2"), Description: awsapi.String("d"), TagSpecifications: []ec2types.TagSpecification{
			{ResourceType: awsapi.String("security-group"), Tags: []ec2types.Tag{{Key: awsapi.String("aws:x"), Value: awsapi.String("y")}}}}},
			"InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use"},
	} {
		_, err := call[ec2types.CreateSecurityGroupResult](e.ctx, e, "CreateSecurityGroup", tc.in)
		wantError(t, err, tc.code, tc.msg)
	}
}

func TestDescribeSecurityGroups(t *testing.T) {
	e := newTestEnv(t)
	dv := e.defaultVPC()
	web := e.createGroup("", "web")
	db := e.createGroup("", "db")
	must[ec2types.AuthorizeSecurityGroupIngressResult](e, "AuthorizeSecurityGroupIngress", &ec2types.AuthorizeSecurityGroupIngressRequest{
		GroupId: &db, IpPermissions: []ec2types.IpPermission{
			{IpProtocol: awsapi.String("tcp"), FromPort: awsapi.Int32(5432), ToPort: awsapi.Int32(5432),
				UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: &web}}},
			tcp(22, "203.0.113.0/24"),
		}})
	ids := func(in *ec2types.DescribeSecurityGroupsRequest) []string {
		var got []string
		for _, g := range must[ec2types.DescribeSecurityGroupsResult](e, "DescribeSecurityGroups", in).SecurityGroups {
			got = append(got, *g.GroupName)
		}
		slices.Sort(got)
		return got
	}
	for _, tc := range []struct {
		name string
		in   *ec2types.DescribeSecurityGroupsRequest
		want []string
	}{
		{"all", &ec2types.DescribeSecurityGroupsRequest{}, []string{"db", "default", "web"}},
		{"names", &ec2types.DescribeSecurityGroupsRequest{GroupNames: []string{"web", "default"}}, []string{"default", "web"}},
		{"ids and names", &ec2types.DescribeSecurityGroupsRequest{GroupIds: []string{db}, GroupNames: []string{"db"}}, []string{"db"}},
		{"group-name", &ec2types.DescribeSecurityGroupsRequest{Filters: []ec2types.Filter{flt("group-name", "*e*")}}, []string{"default", "web"}},
		{"description", &ec2types.DescribeSecurityGroupsRequest{Filters: []ec2types.Filter{flt("description", "db group")}}, []string{"db"}},
		{"ip-permission.from-port", &ec2types.DescribeSecurityGroupsRequest{Filters: []ec2types.Filter{flt("ip-permission.from-port", "22"), flt("ip-permission.to-port", "22")}}, []string{"db"}},
		{"ip-permission.cidr", &ec2types.DescribeSecurityGroupsRequest{Filters: []ec2types.Filter{flt("ip-permission.cidr", "203.0.113.0/24")}}, []string{"db"}},
		{"ip-permission.group-id", &ec2types.DescribeSecurityGroupsRequest{Filters: []ec2types.Filter{flt("ip-permission.group-id", web)}}, []string{"db"}},
		{"ip-permission.group-name", &ec2types.DescribeSecurityGroupsRequest{Filters: []ec2types.Filter{flt("ip-permission.group-name", "web")}}, []string{"db"}},
		{"ip-permission.protocol", &ec2types.DescribeSecurityGroupsRequest{Filters: []ec2types.Filter{flt("ip-permission.protocol", "-1")}}, []string{"default"}},
		{"egress.ip-permission.cidr", &ec2types.DescribeSecurityGroupsRequest{Filters: []ec2types.Filter{flt("egress.ip-permission.cidr", "0.0.0.0/0")}}, []string{"db", "default", "web"}},
		{"egress.ip-permission.to-port", &ec2types.DescribeSecurityGroupsRequest{Filters: []ec2types.Filter{flt("egress.ip-permission.to-port", "22")}}, nil},
		{"vpc-id and owner-id", &ec2types.DescribeSecurityGroupsRequest{Filters: []ec2types.Filter{flt("vpc-id", dv.ID), flt("owner-id", testAccount)}}, []string{"db", "default", "web"}},
	} {
		if got := ids(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	g := must[ec2types.DescribeSecurityGroupsResult](e, "DescribeSecurityGroups", &ec2types.DescribeSecurityGroupsRequest{GroupIds: []string{db}}).SecurityGroups[0]
	if *g.SecurityGroupArn != "arn:aws:ec2:us-east-1:123456789012:security-group/"+db || *g.VpcId != dv.ID || len(g.IpPermissions) != 2 ||
		*g.IpPermissions[0].UserIdGroupPairs[0].GroupId != web || *g.IpPermissions[0].UserIdGroupPairs[0].UserId != testAccount ||
		*g.IpPermissions[1].IpRanges[0].CidrIp != "203.0.113.0/24" || g.IpPermissionsEgress[0].FromPort != nil {
		t.Fatalf("db: %+v", g)
	}
	for _, tc := range []struct {
		in        *ec2types.DescribeSecurityGroupsRequest
		code, msg string
	}{
		{&ec2types.DescribeSecurityGroupsRequest{GroupIds: []string{"sg-0000000000000000a"}}, "InvalidGroup.NotFound", "The security group 'sg-0000000000000000a' does not exist"},
		{&ec2types.DescribeSecurityGroupsRequest{GroupIds: []string{"web"}}, "InvalidGroupId.Malformed", `Invalid id: "web" (expecting "sg-...")`},
		{&ec2types.DescribeSecurityGroupsRequest{GroupNames: []string{"cache"}}, "InvalidGroup.NotFound", "The security group 'cache' does not exist in default VPC '" + dv.ID + "'"},
		{&ec2types.DescribeSecurityGroupsRequest{Filters: []ec2types.Filter{flt("ip-permission.bogus", "1")}}, "InvalidParameterValue", "The filter 'ip-permission.bogus' is invalid"},
	} {
		_, err := call[ec2types.DescribeSecurityGroupsResult](e.ctx, e, "DescribeSecurityGroups", tc.in)
		wantError(t, err, tc.code, tc.msg)
	}
}

func TestDeleteSecurityGroup(t *testing.T) {
	e := newTestEnv(t)
	dv := e.defaultVPC()
	web, db := e.createGroup("", "web"), e.createGroup("", "db")
	must[ec2types.AuthorizeSecurityGroupIngressResult](e, "AuthorizeSecurityGroupIngress", &ec2types.AuthorizeSecurityGroupIngressRequest{
		GroupId: &db, IpPermissions: []ec2types.IpPermission{{IpProtocol: awsapi.String("tcp"), FromPort: awsapi.Int32(5432), ToPort: awsapi.Int32(5432),
			UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: &web}}}}})
	_, err := call[ec2types.DeleteSecurityGroupResult](e.ctx, e, "DeleteSecurityGroup", &ec2types.DeleteSecurityGroupRequest{GroupId: &web})
	wantError(t, err, "DependencyViolation", "resource "+web+" has a dependent object")
	_, err = call[ec2types.DeleteSecurityGroupResult](e.ctx, e, "DeleteSecurityGroup", &ec2types.DeleteSecurityGroupRequest{GroupId: &dv.DefaultGroupID})
	wantError(t, err, "CannotDelete", `the specified group: "`+dv.DefaultGroupID+`" name: "default" cannot be deleted by a user`)

	subnets, _ := listRegion[ec2state.Subnet](e.ctx, e.store, ec2state.SubnetPrefix, testRegion)
	n := e.createInterface(subnets[0].Value.ID, db)
	_, err = call[ec2types.DeleteSecurityGroupResult](e.ctx, e, "DeleteSecurityGroup", &ec2types.DeleteSecurityGroupRequest{GroupName: awsapi.String("db")})
	wantError(t, err, "DependencyViolation", "resource "+db+" has a dependent object")
	if err := deleteInterface(e, n.ID); err != nil {
		t.Fatal(err)
	}
	out := must[ec2types.DeleteSecurityGroupResult](e, "DeleteSecurityGroup", &ec2types.DeleteSecurityGroupRequest{GroupName: awsapi.String("db")})
	if *out.GroupId != db || !*out.Return {
		t.Fatalf("deleted: %+v", out)
	}
	must[ec2types.DeleteSecurityGroupResult](e, "DeleteSecurityGroup", &ec2types.DeleteSecurityGroupRequest{GroupId: &web})
	_, err = call[ec2types.DeleteSecurityGroupResult](e.ctx, e, "DeleteSecurityGroup", &ec2types.DeleteSecurityGroupRequest{GroupId: &web})
	wantError(t, err, "InvalidGroup.NotFound", "The security group '"+web+"' does not exist")
	_, err = call[ec2types.DeleteSecurityGroupResult](e.ctx, e, "DeleteSecurityGroup", &ec2types.DeleteSecurityGroupRequest{GroupName: awsapi.String("web")})
	wantError(t, err, "InvalidGroup.NotFound", "The security group 'web' does not exist in default VPC '"+dv.ID+"'")
	// A group that names itself is no dependent of its own.
	self := e.createGroup("", "self")
	must[ec2types.AuthorizeSecurityGroupIngressResult](e, "AuthorizeSecurityGroupIngress", &ec2types.AuthorizeSecurityGroupIngressRequest{
		GroupId: &self, IpPermissions: []ec2types.IpPermission{{IpProtocol: awsapi.String("-1"), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: &self}}}}})
	must[ec2types.DeleteSecurityGroupResult](e, "DeleteSecurityGroup", &ec2types.DeleteSecurityGroupRequest{GroupId: &self})
}

func TestAuthorize(t *testing.T) {
	e := newTestEnv(t)
	web, lb := e.createGroup("", "web"), e.createGroup("", "lb")
	// What the aws CLI sends for --protocol tcp --port 8080 --source-group.
	out := must[ec2types.AuthorizeSecurityGroupIngressResult](e, "AuthorizeSecurityGroupIngress", &ec2types.AuthorizeSecurityGroupIngressRequest{
		GroupId: &web, IpPermissions: []ec2types.IpPermission{{IpProtocol: awsapi.String("tcp"), FromPort: awsapi.Int32(8080), ToPort: awsapi.Int32(8080),
			UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: &lb}}}}})
	if !*out.Return || len(out.SecurityGroupRules) != 1 {
		t.Fatalf("authorized: %+v", out)
	}
	r := out.SecurityGroupRules[0]
	if !ec2state.ValidID(*r.SecurityGroupRuleId, "sgr-") || *r.GroupId != web || *r.GroupOwnerId != testAccount || *r.IsEgress ||
		*r.IpProtocol != "tcp" || *r.FromPort != 8080 || *r.ToPort != 8080 || *r.ReferencedGroupInfo.GroupId != lb ||
		*r.ReferencedGroupInfo.UserId != testAccount || r.CidrIpv4 != nil || r.Tags != nil {
		t.Fatalf("rule: %+v", r)
	}
	// Untagged, it shows no tags here, and an empty list in
	// DescribeSecurityGroupRules.
	described := must[ec2types.DescribeSecurityGroupRulesResult](e, "DescribeSecurityGroupRules", &ec2types.DescribeSecurityGroupRulesRequest{
		SecurityGroupRuleIds: []string{*r.SecurityGroupRuleId}})
	if len(described.SecurityGroupRules) != 1 || described.SecurityGroupRules[0].Tags == nil || len(described.SecurityGroupRules[0].Tags) != 0 {
		t.Fatalf("described: %+v", described)
	}
	// --source-group by name, the legacy members, several sources, tags.
	out = must[ec2types.AuthorizeSecurityGroupIngressResult](e, "AuthorizeSecurityGroupIngress", &ec2types.AuthorizeSecurityGroupIngressRequest{
		GroupName: awsapi.String("web"), IpPermissions: []ec2types.IpPermission{{IpProtocol: awsapi.String("6"), FromPort: awsapi.Int32(9090), ToPort: awsapi.Int32(9090),
			UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupName: awsapi.String("lb")}}, IpRanges: []ec2types.IpRange{{CidrIp: awsapi.String("10.0.0.0/8"), Description: awsapi.String("office")}},
			Ipv6Ranges: []ec2types.Ipv6Range{{CidrIpv6: awsapi.String("::/0")}}}},
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: awsapi.String("security-group-rule"), Tags: []ec2types.Tag{{Key: awsapi.String("k"), Value: awsapi.String("v")}}}}})
	if len(out.SecurityGroupRules) != 3 || *out.SecurityGroupRules[0].CidrIpv4 != "10.0.0.0/8" || *out.SecurityGroupRules[0].Description != "office" ||
		*out.SecurityGroupRules[1].CidrIpv6 != "::/0" || *out.SecurityGroupRules[2].ReferencedGroupInfo.GroupId != lb || *out.SecurityGroupRules[2].Tags[0].Key != "k" {
		t.Fatalf("several: %+v", out.SecurityGroupRules)
	}
	must[ec2types.AuthorizeSecurityGroupIngressResult](e, "AuthorizeSecurityGroupIngress", &ec2types.AuthorizeSecurityGroupIngressRequest{
		GroupId: &web, IpProtocol: awsapi.String("udp"), FromPort: awsapi.Int32(53), ToPort: awsapi.Int32(53), CidrIp: awsapi.String("10.1.0.0/16")})
	egress := must[ec2types.AuthorizeSecurityGroupEgressResult](e, "AuthorizeSecurityGroupEgress", &ec2types.AuthorizeSecurityGroupEgressRequest{
		GroupId: &web, IpPermissions: []ec2types.IpPermission{tcp(443, "0.0.0.0/0")}})
	if !*egress.SecurityGroupRules[0].IsEgress {
		t.Fatalf("egress: %+v", egress)
	}
	g := e.group(web)
	if len(g.Ingress) != 5 || len(g.Egress) != 2 || g.Ingress[4].Protocol != "udp" || g.Ingress[4].CIDRv4 != "10.1.0.0/16" {
		t.Fatalf("group: %+v", g)
	}

	for _, tc := range []struct {
		name      string
		in        *ec2types.AuthorizeSecurityGroupIngressRequest
		code, msg string
	}{
		{"duplicate", &ec2types.AuthorizeSecurityGroupIngressRequest{GroupId: &web, IpPermissions: []ec2types.IpPermission{{IpProtocol: awsapi.String("tcp"),
			FromPort: awsapi.Int32(8080), ToPort: awsapi.Int32(8080), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: &lb}}}}},
			"InvalidPermission.Duplicate", `the specified rule "peer: ` + lb + `, TCP, from port: 8080, to port: 8080, ALLOW" already exists`},
		{"duplicate in the request", &ec2types.AuthorizeSecurityGroupIngressRequest{GroupId: &web, IpPermissions: []ec2types.IpPermission{tcp(1, "1.2.3.4/32", "1.2.3.4/32")}},
			"InvalidParameterValue", "The same permission must not appear multiple times"},
		{"unknown source", &ec2types.AuthorizeSecurityGroupIngressRequest{GroupId: &web, IpPermissions: []ec2types.IpPermission{{IpProtocol: awsapi.String("-1"),
			UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: awsapi.String("sg-0000000000000000a")}}}}},
			"InvalidGroup.NotFound", "The security group 'sg-0000000000000000a' does not exist"},
		{"unknown group", &ec2types.AuthorizeSecurityGroupIngressRequest{GroupId: awsapi.String("sg-0000000000000000a"), IpPermissions: []ec2types.IpPermission{tcp(1, "1.2.3.4/32")}},
			"InvalidGroup.NotFound", ""},
		{"malformed cidr", &ec2types.AuthorizeSecurityGroupIngressRequest{GroupId: &web, IpPermissions: []ec2types.IpPermission{tcp(1, "1.2.3.4")}},
			"InvalidParameterValue", "CIDR block 1.2.3.4 is malformed"},
		{"no source", &ec2types.AuthorizeSecurityGroupIngressRequest{GroupId: &web, IpProtocol: awsapi.String("tcp"), FromPort: awsapi.Int32(22), ToPort: awsapi.Int32(22)},
			"MissingParameter", "Missing source specification: include source security group or CIDR information"},
		{"ports", &ec2types.AuthorizeSecurityGroupIngressRequest{GroupId: &web, IpPermissions: []ec2types.IpPermission{{IpProtocol: awsapi.String("tcp"),
			FromPort: awsapi.Int32(90), ToPort: awsapi.Int32(80), IpRanges: []ec2types.IpRange{{CidrIp: awsapi.String("0.0.0.0/0")}}}}},
			"InvalidParameterValue", ""},
		{"prefix list", &ec2types.AuthorizeSecurityGroupIngressRequest{GroupId: &web, IpPermissions: []ec2types.IpPermission{{IpProtocol: awsapi.String("-1"),
			PrefixListIds: []ec2types.PrefixListId{{PrefixListId: awsapi.String("pl-1")}}}}},
			"UnsupportedOperation", ""},
		{"bad description", &ec2types.AuthorizeSecurityGroupIngressRequest{GroupId: &web, IpPermissions: []ec2types.IpPermission{{IpProtocol: awsapi.String("-1"),
			IpRanges: []ec2types.IpRange{{CidrIp: awsapi.String("1.2.3.4/32"), Description: awsapi.String("naïve")}}}}},
			"InvalidParameterValue", ""},
	} {
		_, err := call[ec2types.AuthorizeSecurityGroupIngressResult](e.ctx, e, "AuthorizeSecurityGroupIngress", tc.in)
		if err == nil {
			t.Fatalf("%s: no error", tc.name)
		}
		wantError(t, err, tc.code, tc.msg)
	}
	// A source group of another VPC is unknown to this one.
	v := e.createVPC("10.0.0.0/16")
	other := e.createGroup(*v.VpcId, "other")
	_, err := call[ec2types.AuthorizeSecurityGroupIngressResult](e.ctx, e, "AuthorizeSecurityGroupIngress", &ec2types.AuthorizeSecurityGroupIngressRequest{
		GroupId: &web, IpPermissions: []ec2types.IpPermission{{IpProtocol: awsapi.String("-1"), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: &other}}}}})
	wantError(t, err, "InvalidGroup.NotFound", "The security group '"+other+"' does not exist")
}

func TestRulesLimit(t *testing.T) {
	e := newTestEnv(t)
	web := e.createGroup("", "web")
	var perms []ec2types.IpPermission
	for i := range maxRules {
		perms = append(perms, tcp(int32(1000+i), "0.0.0.0/0"))
	}
	must[ec2types.AuthorizeSecurityGroupIngressResult](e, "AuthorizeSecurityGroupIngress", &ec2types.AuthorizeSecurityGroupIngressRequest{GroupId: &web, IpPermissions: perms})
	_, err := call[ec2types.AuthorizeSecurityGroupIngressResult](e.ctx, e, "AuthorizeSecurityGroupIngress", &ec2types.AuthorizeSecurityGroupIngressRequest{
		GroupId: &web, IpPermissions: []ec2types.IpPermission{tcp(1, "0.0.0.0/0")}})
	wantError(t, err, "RulesPerSecurityGroupLimitExceeded", "")
}

// Rules added at once to one group are all kept: each change is one
// compare-and-swap write of the group's record.
func TestAuthorizeConcurrently(t *testing.T) {
	e := newTestEnv(t)
	web := e.createGroup("", "web")
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := call[ec2types.AuthorizeSecurityGroupIngressResult](e.ctx, e, "AuthorizeSecurityGroupIngress", &ec2types.AuthorizeSecurityGroupIngressRequest{
				GroupId: &web, IpPermissions: []ec2types.IpPermission{tcp(int32(2000+i), "0.0.0.0/0")}})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if g := e.group(web); len(g.Ingress) != n {
		t.Fatalf("%d rules, want %d", len(g.Ingress), n)
	}
}

func TestRevoke(t *testing.T) {
	e := newTestEnv(t)
	web, lb := e.createGroup("", "web"), e.createGroup("", "lb")
	out := must[ec2types.AuthorizeSecurityGroupIngressResult](e, "AuthorizeSecurityGroupIngress", &ec2types.AuthorizeSecurityGroupIngressRequest{
		GroupId: &web, IpPermissions: []ec2types.IpPermission{tcp(22, "10.0.0.0/8", "192.168.0.0/16"),
			{IpProtocol: awsapi.String("tcp"), FromPort: awsapi.Int32(80), ToPort: awsapi.Int32(80), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: &lb}}},
			tcp(443, "0.0.0.0/0")}})
	// By permission, partly unknown.
	rev := must[ec2types.RevokeSecurityGroupIngressResult](e, "RevokeSecurityGroupIngress", &ec2types.RevokeSecurityGroupIngressRequest{
		GroupId: &web, IpPermissions: []ec2types.IpPermission{tcp(22, "10.0.0.0/8", "172.16.0.0/12")}})
	if !*rev.Return || len(rev.RevokedSecurityGroupRules) != 1 || *rev.RevokedSecurityGroupRules[0].SecurityGroupRuleId != *out.SecurityGroupRules[0].SecurityGroupRuleId ||
		len(rev.UnknownIpPermissions) != 1 || *rev.UnknownIpPermissions[0].IpRanges[0].CidrIp != "172.16.0.0/12" {
		t.Fatalf("revoked: %+v", rev)
	}
	// By source group name, with the legacy members.
	rev = must[ec2types.RevokeSecurityGroupIngressResult](e, "RevokeSecurityGroupIngress", &ec2types.RevokeSecurityGroupIngressRequest{
		GroupName: awsapi.String("web"), IpProtocol: awsapi.String("tcp"), FromPort: awsapi.Int32(80), ToPort: awsapi.Int32(80), SourceSecurityGroupName: awsapi.String("lb")})
	if len(rev.RevokedSecurityGroupRules) != 1 || *rev.RevokedSecurityGroupRules[0].ReferencedGroupId != lb {
		t.Fatalf("by source: %+v", rev)
	}
	// By id.
	rev = must[ec2types.RevokeSecurityGroupIngressResult](e, "RevokeSecurityGroupIngress", &ec2types.RevokeSecurityGroupIngressRequest{
		GroupId: &web, SecurityGroupRuleIds: []string{*out.SecurityGroupRules[3].SecurityGroupRuleId}})
	if len(rev.RevokedSecurityGroupRules) != 1 || *rev.RevokedSecurityGroupRules[0].FromPort != 443 {
		t.Fatalf("by id: %+v", rev)
	}
	if g := e.group(web); len(g.Ingress) != 1 || g.Ingress[0].CIDRv4 != "192.168.0.0/16" {
		t.Fatalf("left: %+v", g.Ingress)
	}
	_, err := call[ec2types.RevokeSecurityGroupIngressResult](e.ctx, e, "RevokeSecurityGroupIngress", &ec2types.RevokeSecurityGroupIngressRequest{
		GroupId: &web, IpPermissions: []ec2types.IpPermission{tcp(443, "0.0.0.0/0")}})
	wantError(t, err, "InvalidPermission.NotFound", "The specified rule does not exist in this security group.")
	_, err = call[ec2types.RevokeSecurityGroupIngressResult](e.ctx, e, "RevokeSecurityGroupIngress", &ec2types.RevokeSecurityGroupIngressRequest{
		GroupId: &web, SecurityGroupRuleIds: []string{"sgr-0000000000000000a"}})
	wantError(t, err, "InvalidSecurityGroupRuleId.NotFound", "")
	// Egress: the rule every new group starts with.
	rev2 := must[ec2types.RevokeSecurityGroupEgressResult](e, "RevokeSecurityGroupEgress", &ec2types.RevokeSecurityGroupEgressRequest{
		GroupId: &web, IpPermissions: []ec2types.IpPermission{{IpProtocol: awsapi.String("-1"), IpRanges: []ec2types.IpRange{{CidrIp: awsapi.String("0.0.0.0/0")}}}}})
	if len(rev2.RevokedSecurityGroupRules) != 1 || !*rev2.RevokedSecurityGroupRules[0].IsEgress || len(e.group(web).Egress) != 0 {
		t.Fatalf("egress: %+v", rev2)
	}
}

func TestModifyAndDescribeRules(t *testing.T) {
	e := newTestEnv(t)
	web, lb := e.createGroup("", "web"), e.createGroup("", "lb")
	out := must[ec2types.AuthorizeSecurityGroupIngressResult](e, "AuthorizeSecurityGroupIngress", &ec2types.AuthorizeSecurityGroupIngressRequest{
		GroupId: &web, IpPermissions: []ec2types.IpPermission{tcp(22, "10.0.0.0/8"), tcp(80, "0.0.0.0/0")}})
	ssh, http := *out.SecurityGroupRules[0].SecurityGroupRuleId, *out.SecurityGroupRules[1].SecurityGroupRuleId
	must[ec2types.ModifySecurityGroupRulesResult](e, "ModifySecurityGroupRules", &ec2types.ModifySecurityGroupRulesRequest{GroupId: &web,
		SecurityGroupRules: []ec2types.SecurityGroupRuleUpdate{{SecurityGroupRuleId: &ssh, SecurityGroupRule: &ec2types.SecurityGroupRuleRequest{
			IpProtocol: awsapi.String("tcp"), FromPort: awsapi.Int32(2222), ToPort: awsapi.Int32(2222), ReferencedGroupId: &lb, Description: awsapi.String("ssh from lb")}}}})
	rules := must[ec2types.DescribeSecurityGroupRulesResult](e, "DescribeSecurityGroupRules", &ec2types.DescribeSecurityGroupRulesRequest{SecurityGroupRuleIds: []string{ssh}}).SecurityGroupRules
	if len(rules) != 1 || *rules[0].FromPort != 2222 || *rules[0].ReferencedGroupInfo.GroupId != lb || *rules[0].Description != "ssh from lb" ||
		*rules[0].SecurityGroupRuleArn != "arn:aws:ec2:us-east-1:123456789012:security-group-rule/"+ssh {
		t.Fatalf("modified: %+v", rules)
	}
	_, err := call[ec2types.ModifySecurityGroupRulesResult](e.ctx, e, "ModifySecurityGroupRules", &ec2types.ModifySecurityGroupRulesRequest{GroupId: &web,
		SecurityGroupRules: []ec2types.SecurityGroupRuleUpdate{{SecurityGroupRuleId: &http, SecurityGroupRule: &ec2types.SecurityGroupRuleRequest{
			IpProtocol: awsapi.String("tcp"), FromPort: awsapi.Int32(2222), ToPort: awsapi.Int32(2222), ReferencedGroupId: &lb}}}})
	wantError(t, err, "InvalidPermission.Duplicate", "")
	_, err = call[ec2types.ModifySecurityGroupRulesResult](e.ctx, e, "ModifySecurityGroupRules", &ec2types.ModifySecurityGroupRulesRequest{GroupId: &web,
		SecurityGroupRules: []ec2types.SecurityGroupRuleUpdate{{SecurityGroupRuleId: awsapi.String("sgr-0000000000000000a"), SecurityGroupRule: &ec2types.SecurityGroupRuleRequest{
			IpProtocol: awsapi.String("-1"), CidrIpv4: awsapi.String("0.0.0.0/0")}}}})
	wantError(t, err, "InvalidSecurityGroupRuleId.NotFound", "The security group rule ID 'sgr-0000000000000000a' does not exist")

	// Descriptions, by permission and by id.
	must[ec2types.UpdateSecurityGroupRuleDescriptionsIngressResult](e, "UpdateSecurityGroupRuleDescriptionsIngress", &ec2types.UpdateSecurityGroupRuleDescriptionsIngressRequest{
		GroupId: &web, IpPermissions: []ec2types.IpPermission{{IpProtocol: awsapi.String("tcp"), FromPort: awsapi.Int32(80), ToPort: awsapi.Int32(80),
			IpRanges: []ec2types.IpRange{{CidrIp: awsapi.String("0.0.0.0/0"), Description: awsapi.String("http")}}}}})
	egressRule := e.group(web).Egress[0].ID
	must[ec2types.UpdateSecurityGroupRuleDescriptionsEgressResult](e, "UpdateSecurityGroupRuleDescriptionsEgress", &ec2types.UpdateSecurityGroupRuleDescriptionsEgressRequest{
		GroupId: &web, SecurityGroupRuleDescriptions: []ec2types.SecurityGroupRuleDescription{{SecurityGroupRuleId: &egressRule, Description: awsapi.String("out")}}})
	g := e.group(web)
	if g.Ingress[1].Description != "http" || g.Egress[0].Description != "out" {
		t.Fatalf("descriptions: %+v", g)
	}
	_, err = call[ec2types.UpdateSecurityGroupRuleDescriptionsIngressResult](e.ctx, e, "UpdateSecurityGroupRuleDescriptionsIngress", &ec2types.UpdateSecurityGroupRuleDescriptionsIngressRequest{
		GroupId: &web, IpPermissions: []ec2types.IpPermission{tcp(81, "0.0.0.0/0")}})
	wantError(t, err, "InvalidPermission.NotFound", "")

	// DescribeSecurityGroupRules' filters and pages.
	ruleIDs := func(in *ec2types.DescribeSecurityGroupRulesRequest) []string {
		var got []string
		for _, r := range must[ec2types.DescribeSecurityGroupRulesResult](e, "DescribeSecurityGroupRules", in).SecurityGroupRules {
			got = append(got, *r.SecurityGroupRuleId)
		}
		slices.Sort(got)
		return got
	}
	want := []string{ssh, http, egressRule}
	slices.Sort(want)
	if got := ruleIDs(&ec2types.DescribeSecurityGroupRulesRequest{Filters: []ec2types.Filter{flt("group-id", web)}}); !slices.Equal(got, want) {
		t.Fatalf("group-id: %v, want %v", got, want)
	}
	must[struct{}](e, "CreateTags", &ec2types.CreateTagsRequest{Resources: []string{http}, Tags: []ec2types.Tag{{Key: awsapi.String("port"), Value: awsapi.String("80")}}})
	if got := ruleIDs(&ec2types.DescribeSecurityGroupRulesRequest{Filters: []ec2types.Filter{flt("tag:port", "80")}}); !slices.Equal(got, []string{http}) {
		t.Fatalf("tag: %v", got)
	}
	var paged []string
	req := &ec2types.DescribeSecurityGroupRulesRequest{Filters: []ec2types.Filter{flt("group-id", web)}, MaxResults: awsapi.Int32(2)}
	for range 5 {
		out := must[ec2types.DescribeSecurityGroupRulesResult](e, "DescribeSecurityGroupRules", req)
		for _, r := range out.SecurityGroupRules {
			paged = append(paged, *r.SecurityGroupRuleId)
		}
		if req.NextToken = out.NextToken; out.NextToken == nil {
			break
		}
	}
	if slices.Sort(paged); !slices.Equal(paged, want) {
		t.Fatalf("pages: %v", paged)
	}
	// The default group's rules show as EC2 shows them.
	dv := e.defaultVPC()
	rules = must[ec2types.DescribeSecurityGroupRulesResult](e, "DescribeSecurityGroupRules", &ec2types.DescribeSecurityGroupRulesRequest{
		Filters: []ec2types.Filter{flt("group-id", dv.DefaultGroupID)}}).SecurityGroupRules
	if len(rules) != 2 || fmt.Sprint(*rules[0].FromPort, *rules[0].ToPort) != "-1 -1" || rules[0].Tags == nil {
		t.Fatalf("default group rules: %+v", rules)
	}
}

// A deletion racing a creation that depends on what it deletes never
// leaves the dependent behind: a rule naming a deleted group, an interface
// in one, a subnet of a deleted VPC.
func TestDeletionsRaceDependents(t *testing.T) {
	e := newTestEnv(t)
	web := e.createGroup("", "web")
	subnets, _ := listRegion[ec2state.Subnet](e.ctx, e.store, ec2state.SubnetPrefix, testRegion)
	for i := range 10 {
		src := e.createGroup("", fmt.Sprint("src", i))
		eniGroup := e.createGroup("", fmt.Sprint("eni", i))
		v := e.createVPC(fmt.Sprintf("10.%d.0.0/16", i))
		var wg sync.WaitGroup
		wg.Go(func() {
			_, _ = call[ec2types.DeleteSecurityGroupResult](e.ctx, e, "DeleteSecurityGroup", &ec2types.DeleteSecurityGroupRequest{GroupId: &src})
		})
		wg.Go(func() {
			_, _ = call[ec2types.AuthorizeSecurityGroupIngressResult](e.ctx, e, "AuthorizeSecurityGroupIngress", &ec2types.AuthorizeSecurityGroupIngressRequest{
				GroupId: &web, IpPermissions: []ec2types.IpPermission{{IpProtocol: awsapi.String("tcp"), FromPort: awsapi.Int32(int32(i)), ToPort: awsapi.Int32(int32(i)),
					UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: &src}}}}})
		})
		wg.Go(func() {
			_, _ = call[ec2types.DeleteSecurityGroupResult](e.ctx, e, "DeleteSecurityGroup", &ec2types.DeleteSecurityGroupRequest{GroupId: &eniGroup})
		})
		wg.Go(func() {
			_, _ = ec2state.CreateInterface(e.ctx, e.store, ec2state.InterfaceSpec{Region: testRegion, Account: testAccount,
				SubnetID: subnets[i%len(subnets)].Value.ID, Groups: []string{eniGroup}, Now: e.clock})
		})
		wg.Go(func() {
			_, _ = call[struct{}](e.ctx, e, "DeleteVpc", &ec2types.DeleteVpcRequest{VpcId: v.VpcId})
		})
		wg.Go(func() {
			_, _ = call[ec2types.CreateSubnetResult](e.ctx, e, "CreateSubnet", &ec2types.CreateSubnetRequest{VpcId: v.VpcId, CidrBlock: awsapi.String(fmt.Sprintf("10.%d.1.0/24", i))})
		})
		wg.Wait()
	}
	groups, _ := listRegion[ec2state.SecurityGroup](e.ctx, e.store, ec2state.GroupPrefix, testRegion)
	exists := map[string]bool{}
	for _, g := range groups {
		exists[g.Value.ID] = true
	}
	for _, g := range groups {
		for _, r := range allRules(g.Value) {
			if r.GroupID != "" && !exists[r.GroupID] {
				t.Errorf("group %s has a rule naming the deleted %s", g.Value.ID, r.GroupID)
			}
		}
	}
	enis, _ := listRegion[ec2state.NetworkInterface](e.ctx, e.store, ec2state.InterfacePrefix, testRegion)
	for _, n := range enis {
		for _, g := range n.Value.Groups {
			if !exists[g] {
				t.Errorf("interface %s is in the deleted group %s", n.Value.ID, g)
			}
		}
	}
	vpcs, _ := listRegion[ec2state.VPC](e.ctx, e.store, ec2state.VPCPrefix, testRegion)
	vpcExists := map[string]bool{}
	for _, v := range vpcs {
		vpcExists[v.Value.ID] = true
	}
	all, _ := listRegion[ec2state.Subnet](e.ctx, e.store, ec2state.SubnetPrefix, testRegion)
	for _, s := range all {
		if !vpcExists[s.Value.VPCID] {
			t.Errorf("subnet %s of the deleted VPC %s", s.Value.ID, s.Value.VPCID)
		}
	}
}
