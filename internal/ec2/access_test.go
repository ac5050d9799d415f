package ec2

import (
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ec2/ec2types"
)

// Every operation berth serves says what it needs, and every rule is an
// operation berth serves.
func TestAccessCoversOperations(t *testing.T) {
	e := newTestEnv(t)
	served := slices.Sorted(maps.Keys(e.svc.Operations))
	ruled := slices.Sorted(maps.Keys(accessRules))
	if !slices.Equal(served, ruled) {
		t.Fatalf("served %v\nruled  %v", served, ruled)
	}
	for _, op := range served {
		got, err := e.ec2.access(e.ctx, op, e.svc.Operations[op].NewInput())
		if err != nil || len(got) == 0 {
			t.Errorf("%s: %v %v", op, got, err)
		}
		for _, a := range got {
			if a.Action != "ec2:"+op && a.Action != "ec2:CreateTags" {
				t.Errorf("%s needs %s", op, a.Action)
			}
		}
	}
}

func arn(resource string) string { return "arn:aws:ec2:us-east-1:123456789012:" + resource }

func TestAccess(t *testing.T) {
	e := newTestEnv(t)
	dv := e.defaultVPC()
	v := e.createVPC("10.0.0.0/16")
	web := e.createGroup("", "web")
	must[struct{}](e, "CreateTags", &ec2types.CreateTagsRequest{Resources: []string{web, *v.VpcId}, Tags: []ec2types.Tag{tag("team", "a")}})
	rule := *must[ec2types.AuthorizeSecurityGroupIngressResult](e, "AuthorizeSecurityGroupIngress", &ec2types.AuthorizeSecurityGroupIngressRequest{
		GroupId: &web, IpPermissions: []ec2types.IpPermission{tcp(80, "0.0.0.0/0")}}).SecurityGroupRules[0].SecurityGroupRuleId
	teamTags := map[string][]string{"aws:ResourceTag/team": {"a"}, "ec2:ResourceTag/team": {"a"}}
	specs := []ec2types.TagSpecification{{ResourceType: awsapi.String("security-group"), Tags: []ec2types.Tag{tag("env", "prod")}}}
	envTags := map[string][]string{"aws:RequestTag/env": {"prod"}, "aws:TagKeys": {"env"}}

	type want struct {
		action, resource string
		context          map[string][]string
		tags             map[string][]string // what ResourceTags reads; nil: no reader
	}
	for _, tc := range []struct {
		op   string
		in   any
		want []want
	}{
		{"DescribeVpcs", &ec2types.DescribeVpcsRequest{}, []want{{"ec2:DescribeVpcs", "*", nil, nil}}},
		{"DeleteVpc", &ec2types.DeleteVpcRequest{VpcId: v.VpcId}, []want{{"ec2:DeleteVpc", arn("vpc/" + *v.VpcId), nil, teamTags}}},
		{"CreateVpc", &ec2types.CreateVpcRequest{CidrBlock: awsapi.String("10.1.0.0/16")}, []want{{"ec2:CreateVpc", arn("vpc/*"), nil, nil}}},
		{"CreateSubnet", &ec2types.CreateSubnetRequest{VpcId: v.VpcId}, []want{
			{"ec2:CreateSubnet", arn("subnet/*"), nil, nil}, {"ec2:CreateSubnet", arn("vpc/" + *v.VpcId), nil, teamTags}}},
		{"CreateSecurityGroup", &ec2types.CreateSecurityGroupRequest{GroupName: awsapi.String("x"), TagSpecifications: specs}, []want{
			{"ec2:CreateSecurityGroup", arn("security-group/*"), envTags, nil},
			{"ec2:CreateTags", arn("security-group/*"), map[string][]string{"aws:RequestTag/env": {"prod"}, "aws:TagKeys": {"env"}, "ec2:CreateAction": {"CreateSecurityGroup"}}, nil},
			{"ec2:CreateSecurityGroup", arn("vpc/" + dv.ID), nil, map[string][]string{}}}},
		{"AuthorizeSecurityGroupIngress", &ec2types.AuthorizeSecurityGroupIngressRequest{GroupName: awsapi.String("web")}, []want{
			{"ec2:AuthorizeSecurityGroupIngress", arn("security-group/" + web), nil, teamTags}}},
		{"DeleteSecurityGroup", &ec2types.DeleteSecurityGroupRequest{GroupName: awsapi.String("missing")}, []want{
			{"ec2:DeleteSecurityGroup", arn("security-group/*"), nil, nil}}},
		{"CreateTags", &ec2types.CreateTagsRequest{Resources: []string{web, rule}, Tags: []ec2types.Tag{tag("env", "prod")}}, []want{
			{"ec2:CreateTags", arn("security-group/" + web), envTags, teamTags},
			{"ec2:CreateTags", arn("security-group-rule/" + rule), envTags, map[string][]string{}}}},
		{"DeleteTags", &ec2types.DeleteTagsRequest{Resources: []string{web}, Tags: []ec2types.Tag{{Key: awsapi.String("team")}}}, []want{
			{"ec2:DeleteTags", arn("security-group/" + web), map[string][]string{"aws:TagKeys": {"team"}}, teamTags}}},
		{"ModifySecurityGroupRules", &ec2types.ModifySecurityGroupRulesRequest{GroupId: &web,
			SecurityGroupRules: []ec2types.SecurityGroupRuleUpdate{{SecurityGroupRuleId: &rule}}}, []want{
			{"ec2:ModifySecurityGroupRules", arn("security-group/" + web), nil, teamTags},
			{"ec2:ModifySecurityGroupRules", arn("security-group-rule/" + rule), nil, map[string][]string{}}}},
	} {
		got, err := e.ec2.access(e.ctx, tc.op, tc.in)
		if err != nil || len(got) != len(tc.want) {
			t.Fatalf("%s: %+v %v", tc.op, got, err)
		}
		for i, w := range tc.want {
			a := got[i]
			if a.Action != w.action || a.Resource != w.resource || !reflect.DeepEqual(a.Context, w.context) {
				t.Errorf("%s %d: got %s %s %v, want %s %s %v", tc.op, i, a.Action, a.Resource, a.Context, w.action, w.resource, w.context)
				continue
			}
			if (a.ResourceTags == nil) != (w.tags == nil) {
				t.Errorf("%s %d: tag reader %v, want %v", tc.op, i, a.ResourceTags != nil, w.tags != nil)
				continue
			}
			if a.ResourceTags != nil {
				tags, err := a.ResourceTags(e.ctx)
				if err != nil || (len(tags) != 0 || len(w.tags) != 0) && !reflect.DeepEqual(tags, w.tags) {
					t.Errorf("%s %d: tags %v %v, want %v", tc.op, i, tags, err, w.tags)
				}
			}
		}
	}
}

func TestAccessUnknownOperation(t *testing.T) {
	e := newTestEnv(t)
	if got, err := e.ec2.access(awsapi.WithRequest(e.ctx, &awsapi.RequestInfo{Region: testRegion}), "CreateNetworkInterface", nil); got != nil || err != nil {
		t.Fatalf("%v %v", got, err)
	}
}
