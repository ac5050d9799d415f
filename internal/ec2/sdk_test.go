package ec2

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/gateway/gatewaytest"
)

// newSDKClient serves e's EC2 behind the real gateway and returns an
// aws-sdk-go-v2 client of it, in gatewaytest.Region (testRegion).
func newSDKClient(e *testEnv) *sdk.Client {
	return sdk.NewFromConfig(gatewaytest.Start(e.t, e.ec2.Service()))
}

func TestSDKVpcsAndSubnets(t *testing.T) {
	e := newTestEnv(t)
	c := newSDKClient(e)
	ctx := context.Background()

	out, err := c.DescribeVpcs(ctx, &sdk.DescribeVpcsInput{Filters: []types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Vpcs) != 1 || aws.ToString(out.Vpcs[0].CidrBlock) != "172.31.0.0/16" || out.Vpcs[0].State != types.VpcStateAvailable ||
		out.Vpcs[0].CidrBlockAssociationSet[0].CidrBlockState.State != types.VpcCidrBlockStateCodeAssociated {
		t.Fatalf("default VPC: %+v", out.Vpcs)
	}
	made, err := c.CreateVpc(ctx, &sdk.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16"), TagSpecifications: []types.TagSpecification{{
		ResourceType: types.ResourceTypeVpc, Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("main")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	vpc := aws.ToString(made.Vpc.VpcId)
	if len(made.Vpc.Tags) != 1 || aws.ToBool(made.Vpc.IsDefault) {
		t.Fatalf("made: %+v", made.Vpc)
	}
	_, err = c.CreateVpc(ctx, &sdk.CreateVpcInput{CidrBlock: aws.String("10.0.4.0/24")})
	gatewaytest.WantError(t, err, "InvalidVpc.Range", "The CIDR '10.0.4.0/24' overlaps VPC "+vpc+" (10.0.0.0/16) in us-east-1; "+
		"berth routes every VPC's range to its own bridge on this host, so VPC ranges must not overlap each other or the host's networks.")
	_, err = c.DescribeVpcs(ctx, &sdk.DescribeVpcsInput{VpcIds: []string{"vpc-0000000000000000a"}})
	gatewaytest.WantError(t, err, "InvalidVpcID.NotFound", "The vpc ID 'vpc-0000000000000000a' does not exist")
	_, err = c.DescribeVpcs(ctx, &sdk.DescribeVpcsInput{Filters: []types.Filter{{Name: aws.String("bogus"), Values: []string{"x"}}}})
	gatewaytest.WantError(t, err, "InvalidParameterValue", "The filter 'bogus' is invalid")

	if _, err := c.ModifyVpcAttribute(ctx, &sdk.ModifyVpcAttributeInput{VpcId: &vpc, EnableDnsHostnames: &types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	attr, err := c.DescribeVpcAttribute(ctx, &sdk.DescribeVpcAttributeInput{VpcId: &vpc, Attribute: types.VpcAttributeNameEnableDnsHostnames})
	if err != nil || !aws.ToBool(attr.EnableDnsHostnames.Value) {
		t.Fatalf("attribute: %+v %v", attr, err)
	}

	subnet, err := c.CreateSubnet(ctx, &sdk.CreateSubnetInput{VpcId: &vpc, CidrBlock: aws.String("10.0.1.0/24"), AvailabilityZone: aws.String("us-east-1b")})
	if err != nil {
		t.Fatal(err)
	}
	s := subnet.Subnet
	if aws.ToInt32(s.AvailableIpAddressCount) != 251 || aws.ToString(s.AvailabilityZoneId) != "use1-az2" || s.State != types.SubnetStateAvailable ||
		aws.ToString(s.SubnetArn) != "arn:aws:ec2:us-east-1:123456789012:subnet/"+aws.ToString(s.SubnetId) {
		t.Fatalf("subnet: %+v", s)
	}
	_, err = c.CreateSubnet(ctx, &sdk.CreateSubnetInput{VpcId: &vpc, CidrBlock: aws.String("10.0.1.0/25")})
	gatewaytest.WantError(t, err, "InvalidSubnet.Conflict", "The CIDR '10.0.1.0/25' conflicts with another subnet")
	subnets, err := c.DescribeSubnets(ctx, &sdk.DescribeSubnetsInput{Filters: []types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpc}}}})
	if err != nil || len(subnets.Subnets) != 1 {
		t.Fatalf("subnets: %+v %v", subnets, err)
	}
	if _, err := c.ModifySubnetAttribute(ctx, &sdk.ModifySubnetAttributeInput{SubnetId: s.SubnetId, MapPublicIpOnLaunch: &types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}

	// Pages, as the SDK's paginator walks them.
	for _, cidr := range []string{"10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16", "10.4.0.0/16", "10.5.0.0/16"} {
		if _, err := c.CreateVpc(ctx, &sdk.CreateVpcInput{CidrBlock: aws.String(cidr)}); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	pages := sdk.NewDescribeVpcsPaginator(c, &sdk.DescribeVpcsInput{MaxResults: aws.Int32(5)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Vpcs {
			seen = append(seen, aws.ToString(v.VpcId))
		}
	}
	if len(seen) != 7 || len(slices.Compact(slices.Sorted(slices.Values(seen)))) != 7 {
		t.Fatalf("paged: %v", seen)
	}

	_, err = c.DeleteVpc(ctx, &sdk.DeleteVpcInput{VpcId: &vpc})
	gatewaytest.WantError(t, err, "DependencyViolation", "The vpc '"+vpc+"' has dependencies and cannot be deleted.")
	if _, err := c.DeleteSubnet(ctx, &sdk.DeleteSubnetInput{SubnetId: s.SubnetId}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteVpc(ctx, &sdk.DeleteVpcInput{VpcId: &vpc}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateDefaultVpc(ctx, &sdk.CreateDefaultVpcInput{})
	gatewaytest.WantError(t, err, "DefaultVpcAlreadyExists", "")
	_, err = c.CreateVpc(ctx, &sdk.CreateVpcInput{CidrBlock: aws.String("10.9.0.0/16"), DryRun: aws.Bool(true)})
	gatewaytest.WantError(t, err, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
}

func TestSDKSecurityGroups(t *testing.T) {
	e := newTestEnv(t)
	c := newSDKClient(e)
	ctx := context.Background()

	web, err := c.CreateSecurityGroup(ctx, &sdk.CreateSecurityGroupInput{GroupName: aws.String("web"), Description: aws.String("web servers"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup, Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	lb, err := c.CreateSecurityGroup(ctx, &sdk.CreateSecurityGroupInput{GroupName: aws.String("lb"), Description: aws.String("load balancer")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateSecurityGroup(ctx, &sdk.CreateSecurityGroupInput{GroupName: aws.String("web"), Description: aws.String("again")})
	gatewaytest.WantError(t, err, "InvalidGroup.Duplicate", "The security group 'web' already exists for VPC '"+e.defaultVPC().ID+"'")

	// What the aws CLI sends for --protocol tcp --port 8080 --source-group.
	auth, err := c.AuthorizeSecurityGroupIngress(ctx, &sdk.AuthorizeSecurityGroupIngressInput{GroupId: web.GroupId, IpPermissions: []types.IpPermission{{
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(8080), ToPort: aws.Int32(8080), UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: lb.GroupId}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if !aws.ToBool(auth.Return) || len(auth.SecurityGroupRules) != 1 || aws.ToString(auth.SecurityGroupRules[0].ReferencedGroupInfo.GroupId) != *lb.GroupId {
		t.Fatalf("authorized: %+v", auth)
	}
	// The top-level members.
	if _, err := c.AuthorizeSecurityGroupIngress(ctx, &sdk.AuthorizeSecurityGroupIngressInput{GroupName: aws.String("web"),
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(8080), ToPort: aws.Int32(8080), CidrIp: aws.String("10.0.0.0/8")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.AuthorizeSecurityGroupIngress(ctx, &sdk.AuthorizeSecurityGroupIngressInput{GroupId: web.GroupId, IpPermissions: []types.IpPermission{{
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(8080), ToPort: aws.Int32(8080), UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: lb.GroupId}}}}})
	gatewaytest.WantError(t, err, "InvalidPermission.Duplicate",
		`the specified rule "peer: `+*lb.GroupId+`, TCP, from port: 8080, to port: 8080, ALLOW" already exists`)

	groups, err := c.DescribeSecurityGroups(ctx, &sdk.DescribeSecurityGroupsInput{GroupIds: []string{*web.GroupId}})
	if err != nil {
		t.Fatal(err)
	}
	g := groups.SecurityGroups[0]
	if aws.ToString(g.GroupName) != "web" || len(g.Tags) != 1 || len(g.IpPermissions) != 1 || len(g.IpPermissions[0].UserIdGroupPairs) != 1 ||
		len(g.IpPermissions[0].IpRanges) != 1 || aws.ToString(g.IpPermissions[0].UserIdGroupPairs[0].UserId) != gatewaytest.AccountID ||
		aws.ToString(g.IpPermissionsEgress[0].IpProtocol) != "-1" || g.IpPermissionsEgress[0].FromPort != nil {
		t.Fatalf("web: %+v", g)
	}
	_, err = c.DescribeSecurityGroups(ctx, &sdk.DescribeSecurityGroupsInput{GroupIds: []string{"sg-0000000000000000a"}})
	gatewaytest.WantError(t, err, "InvalidGroup.NotFound", "The security group 'sg-0000000000000000a' does not exist")

	rules, err := c.DescribeSecurityGroupRules(ctx, &sdk.DescribeSecurityGroupRulesInput{Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{*web.GroupId}}}})
	if err != nil || len(rules.SecurityGroupRules) != 3 {
		t.Fatalf("rules: %+v %v", rules, err)
	}
	var egress string
	for _, r := range rules.SecurityGroupRules {
		if aws.ToBool(r.IsEgress) {
			egress = aws.ToString(r.SecurityGroupRuleId)
		}
	}
	if _, err := c.ModifySecurityGroupRules(ctx, &sdk.ModifySecurityGroupRulesInput{GroupId: web.GroupId, SecurityGroupRules: []types.SecurityGroupRuleUpdate{{
		SecurityGroupRuleId: &egress, SecurityGroupRule: &types.SecurityGroupRuleRequest{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443),
			CidrIpv4: aws.String("0.0.0.0/0")}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateSecurityGroupRuleDescriptionsEgress(ctx, &sdk.UpdateSecurityGroupRuleDescriptionsEgressInput{GroupId: web.GroupId,
		SecurityGroupRuleDescriptions: []types.SecurityGroupRuleDescription{{SecurityGroupRuleId: &egress, Description: aws.String("https out")}}}); err != nil {
		t.Fatal(err)
	}
	rev, err := c.RevokeSecurityGroupIngress(ctx, &sdk.RevokeSecurityGroupIngressInput{GroupId: web.GroupId, IpPermissions: []types.IpPermission{{
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(8080), ToPort: aws.Int32(8080), IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}}}})
	if err != nil || len(rev.RevokedSecurityGroupRules) != 1 {
		t.Fatalf("revoked: %+v %v", rev, err)
	}
	_, err = c.RevokeSecurityGroupEgress(ctx, &sdk.RevokeSecurityGroupEgressInput{GroupId: web.GroupId, IpPermissions: []types.IpPermission{{
		IpProtocol: aws.String("-1"), IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}})
	gatewaytest.WantError(t, err, "InvalidPermission.NotFound", "The specified rule does not exist in this security group.")

	_, err = c.DeleteSecurityGroup(ctx, &sdk.DeleteSecurityGroupInput{GroupId: lb.GroupId})
	gatewaytest.WantError(t, err, "DependencyViolation", "resource "+*lb.GroupId+" has a dependent object")
	if _, err := c.RevokeSecurityGroupIngress(ctx, &sdk.RevokeSecurityGroupIngressInput{GroupId: web.GroupId,
		SecurityGroupRuleIds: []string{aws.ToString(auth.SecurityGroupRules[0].SecurityGroupRuleId)}}); err != nil {
		t.Fatal(err)
	}
	del, err := c.DeleteSecurityGroup(ctx, &sdk.DeleteSecurityGroupInput{GroupName: aws.String("lb")})
	if err != nil || aws.ToString(del.GroupId) != *lb.GroupId {
		t.Fatalf("deleted: %+v %v", del, err)
	}
}

func TestSDKTagsInterfacesZones(t *testing.T) {
	e := newTestEnv(t)
	c := newSDKClient(e)
	ctx := context.Background()
	dv := e.defaultVPC()
	subnets, _ := listRegion[ec2state.Subnet](e.ctx, e.store, ec2state.SubnetPrefix, testRegion)
	n := e.createInterface(subnets[0].Value.ID)

	if _, err := c.CreateTags(ctx, &sdk.CreateTagsInput{Resources: []string{dv.ID, n.ID}, Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("dev")}}}); err != nil {
		t.Fatal(err)
	}
	_, err := c.CreateTags(ctx, &sdk.CreateTagsInput{Resources: []string{"i-0123456789abcdef0"}, Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}})
	gatewaytest.WantError(t, err, "InvalidID", "The ID 'i-0123456789abcdef0' is not valid")
	tags, err := c.DescribeTags(ctx, &sdk.DescribeTagsInput{Filters: []types.Filter{{Name: aws.String("key"), Values: []string{"env"}}}})
	if err != nil || len(tags.Tags) != 2 {
		t.Fatalf("tags: %+v %v", tags, err)
	}
	if _, err := c.DeleteTags(ctx, &sdk.DeleteTagsInput{Resources: []string{dv.ID}}); err != nil {
		t.Fatal(err)
	}

	enis, err := c.DescribeNetworkInterfaces(ctx, &sdk.DescribeNetworkInterfacesInput{Filters: []types.Filter{{Name: aws.String("vpc-id"), Values: []string{dv.ID}}}})
	if err != nil || len(enis.NetworkInterfaces) != 1 {
		t.Fatalf("interfaces: %+v %v", enis, err)
	}
	ni := enis.NetworkInterfaces[0]
	if aws.ToString(ni.NetworkInterfaceId) != n.ID || ni.InterfaceType != types.NetworkInterfaceTypeInterface || ni.Status != types.NetworkInterfaceStatusInUse ||
		!aws.ToBool(ni.RequesterManaged) || ni.Attachment.Status != types.AttachmentStatusAttached || aws.ToString(ni.Groups[0].GroupName) != "default" ||
		len(ni.TagSet) != 1 || aws.ToString(ni.PrivateIpAddress) != n.PrivateIP {
		t.Fatalf("interface: %+v", ni)
	}

	zones, err := c.DescribeAvailabilityZones(ctx, &sdk.DescribeAvailabilityZonesInput{})
	if err != nil || len(zones.AvailabilityZones) != 6 || zones.AvailabilityZones[0].State != types.AvailabilityZoneStateAvailable ||
		aws.ToString(zones.AvailabilityZones[0].ZoneId) != "use1-az1" {
		t.Fatalf("zones: %+v %v", zones, err)
	}
	regions, err := c.DescribeRegions(ctx, &sdk.DescribeRegionsInput{RegionNames: []string{"us-west-2"}})
	if err != nil || len(regions.Regions) != 1 || aws.ToString(regions.Regions[0].Endpoint) != "ec2.us-west-2.amazonaws.com" {
		t.Fatalf("regions: %+v %v", regions, err)
	}

	_, err = c.CreateNetworkInterface(ctx, &sdk.CreateNetworkInterfaceInput{SubnetId: aws.String(subnets[0].Value.ID)})
	gatewaytest.WantError(t, err, "UnsupportedOperation", "berth does not support the EC2 operation CreateNetworkInterface.")
}
