package ec2

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/ec2/ec2types"
)

func TestVPCRange(t *testing.T) {
	for _, tc := range []struct {
		in, want, code string
	}{
		{in: "10.0.0.0/16", want: "10.0.0.0/16"},
		{in: "10.0.0.5/16", want: "10.0.0.0/16"},
		{in: "192.168.1.0/28", want: "192.168.1.0/28"},
		{in: "10.0.0.0/8", code: "InvalidVpc.Range"},
		{in: "10.0.0.0/15", code: "InvalidVpc.Range"},
		{in: "10.0.0.0/29", code: "InvalidVpc.Range"},
		{in: "127.0.0.0/16", code: "InvalidVpc.Range"},
		{in: "169.254.0.0/16", code: "InvalidVpc.Range"},
		{in: "224.1.0.0/16", code: "InvalidVpc.Range"},
		{in: "fd00::/64", code: "InvalidParameterValue"},
		{in: "10.0.0.0", code: "InvalidParameterValue"},
	} {
		got, err := vpcRange(tc.in)
		if tc.code != "" {
			wantError(t, mapped(err), tc.code, "")
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("vpcRange(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	_, err := vpcRange("10.0.0.0/8")
	wantError(t, mapped(err), "InvalidVpc.Range", "The CIDR '10.0.0.0/8' is invalid.")
}

func TestCheckOverlap(t *testing.T) {
	vpcs := []ec2state.VPC{
		{ID: "vpc-0123456789abcdef0", Region: "us-west-2", CIDR: "10.0.0.0/16"},
		{ID: "vpc-0123456789abcdef1", Region: "us-east-1", CIDR: "172.31.0.0/16"},
	}
	host := []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24")}
	const why = "; berth routes every VPC's range to its own bridge on this host, so VPC ranges must not overlap each other or the host's networks."
	for _, tc := range []struct {
		cidr, msg string
	}{
		{cidr: "10.1.0.0/16"},
		{cidr: "192.168.2.0/24"},
		{cidr: "10.0.0.0/16", msg: "The CIDR '10.0.0.0/16' overlaps VPC vpc-0123456789abcdef0 (10.0.0.0/16) in us-west-2" + why},
		{cidr: "10.0.128.0/20", msg: "The CIDR '10.0.128.0/20' overlaps VPC vpc-0123456789abcdef0 (10.0.0.0/16) in us-west-2" + why},
		{cidr: "172.16.0.0/12", msg: "The CIDR '172.16.0.0/12' overlaps VPC vpc-0123456789abcdef1 (172.31.0.0/16) in us-east-1" + why},
		{cidr: "192.168.0.0/16", msg: "The CIDR '192.168.0.0/16' overlaps the host's network 192.168.1.0/24" + why},
	} {
		err := checkOverlap(netip.MustParsePrefix(tc.cidr), vpcs, host)
		if tc.msg == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.cidr, err)
			}
			continue
		}
		wantError(t, mapped(err), "InvalidVpc.Range", tc.msg)
	}
}

func TestDefaultVPC(t *testing.T) {
	e := newTestEnv(t)
	out := must[ec2types.DescribeVpcsResult](e, "DescribeVpcs", &ec2types.DescribeVpcsRequest{})
	if len(out.Vpcs) != 1 {
		t.Fatalf("vpcs: %+v", out.Vpcs)
	}
	v := out.Vpcs[0]
	if !*v.IsDefault || *v.CidrBlock != "172.31.0.0/16" || *v.State != "available" || *v.OwnerId != testAccount ||
		*v.CidrBlockAssociationSet[0].CidrBlock != "172.31.0.0/16" || *v.InstanceTenancy != "default" {
		t.Fatalf("default vpc: %+v", v)
	}
	subnets := must[ec2types.DescribeSubnetsResult](e, "DescribeSubnets", &ec2types.DescribeSubnetsRequest{
		Filters: []ec2types.Filter{flt("default-for-az", "true")}})
	if len(subnets.Subnets) != 6 || *subnets.Subnets[0].MapPublicIpOnLaunch != true {
		t.Fatalf("default subnets: %d", len(subnets.Subnets))
	}
	attr := must[ec2types.DescribeVpcAttributeResult](e, "DescribeVpcAttribute", &ec2types.DescribeVpcAttributeRequest{
		VpcId: v.VpcId, Attribute: awsapi.String("enableDnsHostnames")})
	if !*attr.EnableDnsHostnames.Value || attr.EnableDnsSupport != nil {
		t.Fatalf("attribute: %+v", attr)
	}

	// Deleted, it stays deleted, until CreateDefaultVpc.
	for _, s := range subnets.Subnets {
		must[struct{}](e, "DeleteSubnet", &ec2types.DeleteSubnetRequest{SubnetId: s.SubnetId})
	}
	must[struct{}](e, "DeleteVpc", &ec2types.DeleteVpcRequest{VpcId: v.VpcId})
	if out := must[ec2types.DescribeVpcsResult](e, "DescribeVpcs", &ec2types.DescribeVpcsRequest{}); len(out.Vpcs) != 0 {
		t.Fatalf("after deletion: %+v", out.Vpcs)
	}
	if _, err := e.ec2.EnsureDefaultVPC(e.ctx, testRegion); !errors.Is(err, ec2state.ErrNoDefaultVPC) {
		t.Fatalf("EnsureDefaultVPC after deletion: %v", err)
	}
	_, err := call[ec2types.CreateSecurityGroupResult](e.ctx, e, "CreateSecurityGroup", &ec2types.CreateSecurityGroupRequest{
		GroupName: awsapi.String("web"), Description: awsapi.String("web")})
	wantError(t, err, "VPCIdNotSpecified", "No default VPC for this user")
	made := must[ec2types.CreateDefaultVpcResult](e, "CreateDefaultVpc", &ec2types.CreateDefaultVpcRequest{})
	if !*made.Vpc.IsDefault || *made.Vpc.VpcId == *v.VpcId || *made.Vpc.CidrBlock != "172.31.0.0/16" ||
		*made.Vpc.State != "pending" || made.Vpc.Ipv6CidrBlockAssociationSet == nil {
		t.Fatalf("made: %+v", made.Vpc)
	}
	if got := e.defaultVPC(); got.ID != *made.Vpc.VpcId {
		t.Fatalf("EnsureDefaultVPC: %s, want %s", got.ID, *made.Vpc.VpcId)
	}
	_, err = call[ec2types.CreateDefaultVpcResult](e.ctx, e, "CreateDefaultVpc", &ec2types.CreateDefaultVpcRequest{})
	wantError(t, err, "DefaultVpcAlreadyExists", "A Default VPC already exists for this account in this region.")
}

func TestCreateDefaultVpcOverlap(t *testing.T) {
	e := newTestEnv(t)
	dv := e.defaultVPC()
	subnets, _ := listRegion[ec2state.Subnet](e.ctx, e.store, ec2state.SubnetPrefix, testRegion)
	for _, s := range subnets {
		must[struct{}](e, "DeleteSubnet", &ec2types.DeleteSubnetRequest{SubnetId: &s.Value.ID})
	}
	must[struct{}](e, "DeleteVpc", &ec2types.DeleteVpcRequest{VpcId: &dv.ID})
	e.createVPC("172.31.0.0/16")
	_, err := call[ec2types.CreateDefaultVpcResult](e.ctx, e, "CreateDefaultVpc", &ec2types.CreateDefaultVpcRequest{})
	wantError(t, err, "InvalidVpc.Range", "")
	// Another region's default VPC has the same range, as in AWS.
	west := inRegion("us-west-2")
	out, err := call[ec2types.DescribeVpcsResult](west, e, "DescribeVpcs", &ec2types.DescribeVpcsRequest{})
	if err != nil || len(out.Vpcs) != 1 || *out.Vpcs[0].CidrBlock != "172.31.0.0/16" {
		t.Fatalf("us-west-2: %+v %v", out, err)
	}
}

func TestCreateVpc(t *testing.T) {
	e := newTestEnv(t)
	e.host = []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24")}
	out := must[ec2types.CreateVpcResult](e, "CreateVpc", &ec2types.CreateVpcRequest{CidrBlock: awsapi.String("10.0.0.5/16"),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: awsapi.String("vpc"),
			Tags: []ec2types.Tag{{Key: awsapi.String("Name"), Value: awsapi.String("main")}}}}})
	v := out.Vpc
	if *v.CidrBlock != "10.0.0.0/16" || *v.IsDefault || len(v.Tags) != 1 || *v.Tags[0].Value != "main" ||
		!ec2state.ValidID(*v.VpcId, "vpc-") || !ec2state.ValidID(*v.CidrBlockAssociationSet[0].AssociationId, "vpc-cidr-assoc-") {
		t.Fatalf("vpc: %+v", v)
	}
	// CreateVpc answers pending with an empty IPv6 association set;
	// DescribeVpcs, available and none.
	if *v.State != "pending" || v.Ipv6CidrBlockAssociationSet == nil || len(v.Ipv6CidrBlockAssociationSet) != 0 {
		t.Fatalf("created: %+v", v)
	}
	described := must[ec2types.DescribeVpcsResult](e, "DescribeVpcs", &ec2types.DescribeVpcsRequest{VpcIds: []string{*v.VpcId}}).Vpcs[0]
	if *described.State != "available" || described.Ipv6CidrBlockAssociationSet != nil {
		t.Fatalf("described: %+v", described)
	}
	// Its default group admits its own members and lets everything out.
	groups := must[ec2types.DescribeSecurityGroupsResult](e, "DescribeSecurityGroups", &ec2types.DescribeSecurityGroupsRequest{
		Filters: []ec2types.Filter{flt("vpc-id", *v.VpcId)}})
	if len(groups.SecurityGroups) != 1 {
		t.Fatalf("groups: %+v", groups)
	}
	g := groups.SecurityGroups[0]
	if *g.GroupName != "default" || *g.Description != "default VPC security group" ||
		*g.IpPermissions[0].UserIdGroupPairs[0].GroupId != *g.GroupId || *g.IpPermissionsEgress[0].IpRanges[0].CidrIp != "0.0.0.0/0" {
		t.Fatalf("default group: %+v", g)
	}

	for _, tc := range []struct {
		ctxRegion string
		in        *ec2types.CreateVpcRequest
		code, msg string
	}{
		{in: &ec2types.CreateVpcRequest{CidrBlock: awsapi.String("10.0.128.0/24")}, code: "InvalidVpc.Range",
			msg: "The CIDR '10.0.128.0/24' overlaps VPC " + *v.VpcId + " (10.0.0.0/16) in us-east-1; berth routes every VPC's range to its own bridge on this host, so VPC ranges must not overlap each other or the host's networks."},
		// VPCs of every region share the host.
		{ctxRegion: "eu-west-1", in: &ec2types.CreateVpcRequest{CidrBlock: awsapi.String("10.0.0.0/16")}, code: "InvalidVpc.Range"},
		{in: &ec2types.CreateVpcRequest{CidrBlock: awsapi.String("172.31.0.0/20")}, code: "InvalidVpc.Range"},
		{in: &ec2types.CreateVpcRequest{CidrBlock: awsapi.String("192.168.0.0/16")}, code: "InvalidVpc.Range",
			msg: "The CIDR '192.168.0.0/16' overlaps the host's network 192.168.1.0/24; berth routes every VPC's range to its own bridge on this host, so VPC ranges must not overlap each other or the host's networks."},
		{in: &ec2types.CreateVpcRequest{CidrBlock: awsapi.String("10.0.0.0/8")}, code: "InvalidVpc.Range", msg: "The CIDR '10.0.0.0/8' is invalid."},
		{in: &ec2types.CreateVpcRequest{CidrBlock: awsapi.String("10.9.0.0/16"), AmazonProvidedIpv6CidrBlock: awsapi.Bool(true)}, code: "UnsupportedOperation"},
		{in: &ec2types.CreateVpcRequest{}, code: "MissingParameter"},
		{in: &ec2types.CreateVpcRequest{CidrBlock: awsapi.String("10.9.0.0/16"), TagSpecifications: []ec2types.TagSpecification{
			{ResourceType: awsapi.String("subnet"), Tags: []ec2types.Tag{{Key: awsapi.String("a")}}}}}, code: "InvalidParameterValue"},
	} {
		ctx := e.ctx
		if tc.ctxRegion != "" {
			ctx = inRegion(tc.ctxRegion)
		}
		_, err := call[ec2types.CreateVpcResult](ctx, e, "CreateVpc", tc.in)
		wantError(t, err, tc.code, tc.msg)
	}
	// Another region, another range: fine.
	if _, err := call[ec2types.CreateVpcResult](inRegion("eu-west-1"), e, "CreateVpc", &ec2types.CreateVpcRequest{CidrBlock: awsapi.String("10.1.0.0/16")}); err != nil {
		t.Fatal(err)
	}
}

func TestDescribeVpcs(t *testing.T) {
	e := newTestEnv(t)
	dv := e.defaultVPC()
	a, b := e.createVPC("10.0.0.0/16"), e.createVPC("10.1.0.0/16")
	must[struct{}](e, "CreateTags", &ec2types.CreateTagsRequest{Resources: []string{*b.VpcId},
		Tags: []ec2types.Tag{{Key: awsapi.String("env"), Value: awsapi.String("prod")}}})
	ids := func(out *ec2types.DescribeVpcsResult) []string {
		var got []string
		for _, v := range out.Vpcs {
			got = append(got, *v.VpcId)
		}
		slices.Sort(got)
		return got
	}
	sorted := func(s ...string) []string { slices.Sort(s); return s }
	for _, tc := range []struct {
		name string
		in   *ec2types.DescribeVpcsRequest
		want []string
	}{
		{"all", &ec2types.DescribeVpcsRequest{}, sorted(dv.ID, *a.VpcId, *b.VpcId)},
		{"ids", &ec2types.DescribeVpcsRequest{VpcIds: []string{*a.VpcId}}, []string{*a.VpcId}},
		{"is-default", &ec2types.DescribeVpcsRequest{Filters: []ec2types.Filter{flt("is-default", "false")}}, sorted(*a.VpcId, *b.VpcId)},
		{"cidr", &ec2types.DescribeVpcsRequest{Filters: []ec2types.Filter{flt("cidr", "10.1.0.0/16")}}, []string{*b.VpcId}},
		{"cidr-block-association", &ec2types.DescribeVpcsRequest{Filters: []ec2types.Filter{flt("cidr-block-association.cidr-block", "10.*")}}, sorted(*a.VpcId, *b.VpcId)},
		{"tag", &ec2types.DescribeVpcsRequest{Filters: []ec2types.Filter{flt("tag:env", "prod")}}, []string{*b.VpcId}},
		{"tag-key", &ec2types.DescribeVpcsRequest{Filters: []ec2types.Filter{flt("tag-key", "env")}}, []string{*b.VpcId}},
		{"owner", &ec2types.DescribeVpcsRequest{Filters: []ec2types.Filter{flt("owner-id", testAccount), flt("state", "available")}}, sorted(dv.ID, *a.VpcId, *b.VpcId)},
		{"dhcp", &ec2types.DescribeVpcsRequest{Filters: []ec2types.Filter{flt("dhcp-options-id", dv.DHCPOptionsID)}}, sorted(dv.ID, *a.VpcId, *b.VpcId)},
	} {
		if got := ids(must[ec2types.DescribeVpcsResult](e, "DescribeVpcs", tc.in)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	_, err := call[ec2types.DescribeVpcsResult](e.ctx, e, "DescribeVpcs", &ec2types.DescribeVpcsRequest{VpcIds: []string{"vpc-0000000000000000a"}})
	wantError(t, err, "InvalidVpcID.NotFound", "The vpc ID 'vpc-0000000000000000a' does not exist")
	// Pages.
	var got []string
	req := &ec2types.DescribeVpcsRequest{MaxResults: awsapi.Int32(2)}
	for {
		out := must[ec2types.DescribeVpcsResult](e, "DescribeVpcs", req)
		got = append(got, ids(out)...)
		if out.NextToken == nil {
			break
		}
		req.NextToken = out.NextToken
	}
	if slices.Sort(got); !slices.Equal(got, sorted(dv.ID, *a.VpcId, *b.VpcId)) {
		t.Fatalf("pages: %v", got)
	}
	// Another region sees its own VPCs only.
	west, err := call[ec2types.DescribeVpcsResult](inRegion("us-west-2"), e, "DescribeVpcs", &ec2types.DescribeVpcsRequest{})
	if err != nil || len(west.Vpcs) != 1 || !*west.Vpcs[0].IsDefault {
		t.Fatalf("us-west-2: %+v %v", west, err)
	}
}

func TestDeleteVpc(t *testing.T) {
	e := newTestEnv(t)
	v := e.createVPC("10.0.0.0/16")
	s := e.createSubnet(*v.VpcId, "10.0.1.0/24")
	depends := "The vpc '" + *v.VpcId + "' has dependencies and cannot be deleted."
	_, err := call[struct{}](e.ctx, e, "DeleteVpc", &ec2types.DeleteVpcRequest{VpcId: v.VpcId})
	wantError(t, err, "DependencyViolation", depends)
	must[struct{}](e, "DeleteSubnet", &ec2types.DeleteSubnetRequest{SubnetId: s.SubnetId})
	g := e.createGroup(*v.VpcId, "web")
	_, err = call[struct{}](e.ctx, e, "DeleteVpc", &ec2types.DeleteVpcRequest{VpcId: v.VpcId})
	wantError(t, err, "DependencyViolation", depends)
	must[ec2types.DeleteSecurityGroupResult](e, "DeleteSecurityGroup", &ec2types.DeleteSecurityGroupRequest{GroupId: &g})
	must[struct{}](e, "DeleteVpc", &ec2types.DeleteVpcRequest{VpcId: v.VpcId})
	groups, _ := listRegion[ec2state.SecurityGroup](e.ctx, e.store, ec2state.GroupPrefix, testRegion)
	for _, g := range groups {
		if g.Value.VPCID == *v.VpcId {
			t.Fatalf("group left: %+v", g.Value)
		}
	}
	_, err = call[struct{}](e.ctx, e, "DeleteVpc", &ec2types.DeleteVpcRequest{VpcId: v.VpcId})
	wantError(t, err, "InvalidVpcID.NotFound", "The vpc ID '"+*v.VpcId+"' does not exist")
	// Its range is free again.
	e.createVPC("10.0.0.0/16")
}

func TestVpcAttributes(t *testing.T) {
	e := newTestEnv(t)
	v := e.createVPC("10.0.0.0/16")
	get := func(attr string) *ec2types.DescribeVpcAttributeResult {
		return must[ec2types.DescribeVpcAttributeResult](e, "DescribeVpcAttribute", &ec2types.DescribeVpcAttributeRequest{VpcId: v.VpcId, Attribute: &attr})
	}
	if !*get("enableDnsSupport").EnableDnsSupport.Value || *get("enableDnsHostnames").EnableDnsHostnames.Value {
		t.Fatal("defaults")
	}
	must[struct{}](e, "ModifyVpcAttribute", &ec2types.ModifyVpcAttributeRequest{VpcId: v.VpcId,
		EnableDnsHostnames: &ec2types.AttributeBooleanValue{Value: awsapi.Bool(true)}})
	if !*get("enableDnsHostnames").EnableDnsHostnames.Value {
		t.Fatal("not modified")
	}
	_, err := call[struct{}](e.ctx, e, "ModifyVpcAttribute", &ec2types.ModifyVpcAttributeRequest{VpcId: v.VpcId,
		EnableDnsHostnames: &ec2types.AttributeBooleanValue{Value: awsapi.Bool(true)}, EnableDnsSupport: &ec2types.AttributeBooleanValue{Value: awsapi.Bool(true)}})
	wantError(t, err, "InvalidParameterCombination", "")
	_, err = call[struct{}](e.ctx, e, "ModifyVpcAttribute", &ec2types.ModifyVpcAttributeRequest{VpcId: awsapi.String("vpc-0000000000000000a"),
		EnableDnsHostnames: &ec2types.AttributeBooleanValue{Value: awsapi.Bool(true)}})
	wantError(t, err, "InvalidVpcID.NotFound", "")
	_, err = call[ec2types.DescribeVpcAttributeResult](e.ctx, e, "DescribeVpcAttribute", &ec2types.DescribeVpcAttributeRequest{VpcId: v.VpcId, Attribute: awsapi.String("bogus")})
	wantError(t, err, "InvalidParameterValue", "")
}

func TestDryRun(t *testing.T) {
	e := newTestEnv(t)
	_, err := call[ec2types.CreateVpcResult](e.ctx, e, "CreateVpc", &ec2types.CreateVpcRequest{CidrBlock: awsapi.String("10.0.0.0/16"), DryRun: awsapi.Bool(true)})
	wantError(t, err, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
	var ae *awsapi.Error
	if errors.As(err, &ae); ae.HTTPStatus() != 412 {
		t.Fatalf("status %d", ae.HTTPStatus())
	}
	if out := must[ec2types.DescribeVpcsResult](e, "DescribeVpcs", &ec2types.DescribeVpcsRequest{}); len(out.Vpcs) != 1 {
		t.Fatalf("dry run made a VPC: %d", len(out.Vpcs))
	}
}

// Creations that must not both succeed never do, however they interleave:
// each compares the generation the other rewrites.
func TestConcurrentCreations(t *testing.T) {
	e := newTestEnv(t)
	v := e.createVPC("10.0.0.0/16")
	const n = 8
	race := func(name string, attempt func(i int) error) {
		t.Helper()
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { errs <- attempt(i) })
		}
		wg.Wait()
		close(errs)
		won := 0
		for err := range errs {
			if err == nil {
				won++
			}
		}
		if won != 1 {
			t.Errorf("%s: %d of %d succeeded, want 1", name, won, n)
		}
	}
	// Nested ranges, in two regions: each overlaps every other.
	race("overlapping VPCs", func(i int) error {
		_, err := call[ec2types.CreateVpcResult](inRegion([]string{"us-east-1", "us-west-2"}[i%2]), e, "CreateVpc",
			&ec2types.CreateVpcRequest{CidrBlock: awsapi.String(fmt.Sprintf("10.1.0.0/%d", 16+i))})
		return err
	})
	race("overlapping subnets", func(i int) error {
		_, err := call[ec2types.CreateSubnetResult](e.ctx, e, "CreateSubnet", &ec2types.CreateSubnetRequest{VpcId: v.VpcId,
			CidrBlock: awsapi.String(fmt.Sprintf("10.0.0.0/%d", 20+i))})
		return err
	})
	race("groups of one name", func(i int) error {
		_, err := call[ec2types.CreateSecurityGroupResult](e.ctx, e, "CreateSecurityGroup", &ec2types.CreateSecurityGroupRequest{
			VpcId: v.VpcId, GroupName: awsapi.String("web"), Description: awsapi.String(fmt.Sprint("attempt ", i))})
		return err
	})
}
