package ec2

import (
	"fmt"
	"slices"
	"testing"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/ec2/ec2types"
	"github.com/berth/berth/internal/store"
)

func tag(k, v string) ec2types.Tag {
	return ec2types.Tag{Key: awsapi.String(k), Value: awsapi.String(v)}
}

func TestTags(t *testing.T) {
	e := newTestEnv(t)
	v := e.createVPC("10.0.0.0/16")
	s := e.createSubnet(*v.VpcId, "10.0.1.0/24")
	g := e.createGroup(*v.VpcId, "web")
	rule := *must[ec2types.AuthorizeSecurityGroupIngressResult](e, "AuthorizeSecurityGroupIngress", &ec2types.AuthorizeSecurityGroupIngressRequest{
		GroupId: &g, IpPermissions: []ec2types.IpPermission{tcp(80, "0.0.0.0/0")}}).SecurityGroupRules[0].SecurityGroupRuleId
	n := e.createInterface(*s.SubnetId, g)
	all := []string{*v.VpcId, *s.SubnetId, g, rule, n.ID}

	// One call tags them all, a group and one of its rules included.
	must[struct{}](e, "CreateTags", &ec2types.CreateTagsRequest{Resources: all, Tags: []ec2types.Tag{tag("env", "dev"), tag("Name", "x")}})
	must[struct{}](e, "CreateTags", &ec2types.CreateTagsRequest{Resources: []string{g}, Tags: []ec2types.Tag{tag("env", "prod")}})
	described := func(filters ...ec2types.Filter) []string {
		var got []string
		for _, d := range must[ec2types.DescribeTagsResult](e, "DescribeTags", &ec2types.DescribeTagsRequest{Filters: filters}).Tags {
			got = append(got, fmt.Sprintf("%s %s %s=%s", *d.ResourceType, *d.ResourceId, *d.Key, *d.Value))
		}
		slices.Sort(got)
		return got
	}
	got := described(flt("key", "env"))
	want := []string{
		"network-interface " + n.ID + " env=dev", "security-group " + g + " env=prod", "security-group-rule " + rule + " env=dev",
		"subnet " + *s.SubnetId + " env=dev", "vpc " + *v.VpcId + " env=dev",
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("got  %v\nwant %v", got, want)
	}
	if got := described(flt("resource-type", "security-group-rule")); len(got) != 2 {
		t.Fatalf("resource-type: %v", got)
	}
	if got := described(flt("resource-id", g), flt("value", "prod")); !slices.Equal(got, []string{"security-group " + g + " env=prod"}) {
		t.Fatalf("resource-id and value: %v", got)
	}
	if got := described(flt("tag:env", "prod")); len(got) != 2 {
		t.Fatalf("tag:env: %v", got)
	}
	// The tags show on the resources.
	if sub := must[ec2types.DescribeSubnetsResult](e, "DescribeSubnets", &ec2types.DescribeSubnetsRequest{SubnetIds: []string{*s.SubnetId}}).Subnets[0]; len(sub.Tags) != 2 {
		t.Fatalf("subnet tags: %+v", sub.Tags)
	}
	if eni := must[ec2types.DescribeNetworkInterfacesResult](e, "DescribeNetworkInterfaces", &ec2types.DescribeNetworkInterfacesRequest{}).NetworkInterfaces[0]; len(eni.TagSet) != 2 {
		t.Fatalf("interface tags: %+v", eni.TagSet)
	}

	// DeleteTags: by key, by key and value (only if it has the value), all.
	must[struct{}](e, "DeleteTags", &ec2types.DeleteTagsRequest{Resources: []string{*v.VpcId}, Tags: []ec2types.Tag{{Key: awsapi.String("Name")}}})
	must[struct{}](e, "DeleteTags", &ec2types.DeleteTagsRequest{Resources: []string{g, *s.SubnetId}, Tags: []ec2types.Tag{tag("env", "dev")}})
	must[struct{}](e, "DeleteTags", &ec2types.DeleteTagsRequest{Resources: []string{n.ID}})
	got = described()
	want = []string{
		"security-group " + g + " Name=x", "security-group " + g + " env=prod",
		"security-group-rule " + rule + " Name=x", "security-group-rule " + rule + " env=dev",
		"subnet " + *s.SubnetId + " Name=x", "vpc " + *v.VpcId + " env=dev",
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("after DeleteTags:\ngot  %v\nwant %v", got, want)
	}
	// Pages.
	var paged int
	req := &ec2types.DescribeTagsRequest{MaxResults: awsapi.Int32(5)}
	for {
		out := must[ec2types.DescribeTagsResult](e, "DescribeTags", req)
		paged += len(out.Tags)
		if req.NextToken = out.NextToken; out.NextToken == nil {
			break
		}
	}
	if paged != len(want) {
		t.Fatalf("paged %d tags, want %d", paged, len(want))
	}

	for _, tc := range []struct {
		in        *ec2types.CreateTagsRequest
		code, msg string
	}{
		{&ec2types.CreateTagsRequest{Resources: []string{"i-0123456789abcdef0"}, Tags: []ec2types.Tag{tag("a", "b")}}, "InvalidID", "The ID 'i-0123456789abcdef0' is not valid"},
		{&ec2types.CreateTagsRequest{Resources: []string{"vpc-xyz"}, Tags: []ec2types.Tag{tag("a", "b")}}, "InvalidID", "The ID 'vpc-xyz' is not valid"},
		{&ec2types.CreateTagsRequest{Resources: []string{"vpc-0000000000000000a"}, Tags: []ec2types.Tag{tag("a", "b")}}, "InvalidVpcID.NotFound", ""},
		{&ec2types.CreateTagsRequest{Resources: []string{"subnet-0000000000000000a"}, Tags: []ec2types.Tag{tag("a", "b")}}, "InvalidSubnetID.NotFound", ""},
		{&ec2types.CreateTagsRequest{Resources: []string{"sg-0000000000000000a"}, Tags: []ec2types.Tag{tag("a", "b")}}, "InvalidGroup.NotFound", ""},
		{&ec2types.CreateTagsRequest{Resources: []string{"sgr-0000000000000000a"}, Tags: []ec2types.Tag{tag("a", "b")}}, "InvalidSecurityGroupRuleId.NotFound", ""},
		{&ec2types.CreateTagsRequest{Resources: []string{"eni-0000000000000000a"}, Tags: []ec2types.Tag{tag("a", "b")}}, "InvalidNetworkInterfaceID.NotFound",
			"The networkInterface ID 'eni-0000000000000000a' does not exist"},
		{&ec2types.CreateTagsRequest{Resources: []string{*v.VpcId}, Tags: []ec2types.Tag{tag("aws:cloudformation:stack-name", "b")}}, "InvalidParameterValue",
			"Tag keys starting with 'aws:' are reserved for internal use"},
	} {
		_, err := call[struct{}](e.ctx, e, "CreateTags", tc.in)
		wantError(t, err, tc.code, tc.msg)
	}
	// All or nothing: a missing resource tags none of the others.
	_, err := call[struct{}](e.ctx, e, "CreateTags", &ec2types.CreateTagsRequest{Resources: []string{*v.VpcId, "vpc-0000000000000000a"}, Tags: []ec2types.Tag{tag("half", "x")}})
	wantError(t, err, "InvalidVpcID.NotFound", "")
	if got := described(flt("key", "half")); len(got) != 0 {
		t.Fatalf("half tagged: %v", got)
	}
	// At most 50 tags.
	var many []ec2types.Tag
	for i := range maxTags - 1 {
		many = append(many, tag(fmt.Sprint("k", i), "v"))
	}
	must[struct{}](e, "CreateTags", &ec2types.CreateTagsRequest{Resources: []string{*v.VpcId}, Tags: many})
	_, err = call[struct{}](e.ctx, e, "CreateTags", &ec2types.CreateTagsRequest{Resources: []string{*v.VpcId}, Tags: []ec2types.Tag{tag("one", "more")}})
	wantError(t, err, "TagLimitExceeded", "")
	vpc, _ := store.Get[ec2state.VPC](e.ctx, e.store, ec2state.VPCKey(testRegion, *v.VpcId))
	if len(vpc.Value.Tags) != maxTags {
		t.Fatalf("%d tags", len(vpc.Value.Tags))
	}
	_, err = call[ec2types.DescribeTagsResult](e.ctx, e, "DescribeTags", &ec2types.DescribeTagsRequest{MaxResults: awsapi.Int32(1)})
	wantError(t, err, "InvalidParameterValue", "")
}
