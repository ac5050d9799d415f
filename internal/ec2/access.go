package ec2

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/ec2/ec2types"
	"github.com/berth/berth/internal/store"
)

// accessRule adds what a call with input needs to a.
type accessRule func(a *accessRequest, input any)

func forInput[In any](fn func(a *accessRequest, in *In)) accessRule {
	return func(a *accessRequest, input any) {
		if in, ok := input.(*In); ok {
			fn(a, in)
		}
	}
}

// anyResource is the rule of the calls that name no resource (the
// Describe calls, whose resource is "*").
func anyResource(a *accessRequest, _ any) { a.need("*", nil, "") }

// accessRules say what each operation berth serves needs, after the
// Service Authorization Reference for Amazon EC2: "ec2:<operation>" on
// the ARN of each resource the call names (a new resource's
// "<type>/*"), the tags the call sets (aws:RequestTag/<key>,
// aws:TagKeys) and the resource's own (aws:ResourceTag/<key>,
// ec2:ResourceTag/<key>, read only when a policy tests them). A call that
// tags what it creates also needs ec2:CreateTags, with ec2:CreateAction
// naming the call.
var accessRules = map[string]accessRule{
	"CreateVpc": forInput(func(a *accessRequest, in *ec2types.CreateVpcRequest) {
		a.create(typeVPC, in.TagSpecifications)
	}),
	// UNVERIFIED: the resource the Reference names for CreateDefaultVpc.
	"CreateDefaultVpc": anyResource,
	"DeleteVpc": forInput(func(a *accessRequest, in *ec2types.DeleteVpcRequest) {
		a.existing(awsapi.Deref(in.VpcId))
	}),
	"DescribeVpcs": anyResource,
	"ModifyVpcAttribute": forInput(func(a *accessRequest, in *ec2types.ModifyVpcAttributeRequest) {
		a.existing(awsapi.Deref(in.VpcId))
	}),
	// UNVERIFIED: whether the Reference names the VPC here; berth asks
	// for "*", as for every Describe call.
	"DescribeVpcAttribute": anyResource,

	"CreateSubnet": forInput(func(a *accessRequest, in *ec2types.CreateSubnetRequest) {
		a.create(typeSubnet, in.TagSpecifications)
		a.existing(awsapi.Deref(in.VpcId))
	}),
	"DeleteSubnet": forInput(func(a *accessRequest, in *ec2types.DeleteSubnetRequest) {
		a.existing(awsapi.Deref(in.SubnetId))
	}),
	"DescribeSubnets": anyResource,
	"ModifySubnetAttribute": forInput(func(a *accessRequest, in *ec2types.ModifySubnetAttributeRequest) {
		a.existing(awsapi.Deref(in.SubnetId))
	}),

	"DescribeAvailabilityZones": anyResource,
	"DescribeRegions":           anyResource,

	"CreateTags": forInput(func(a *accessRequest, in *ec2types.CreateTagsRequest) {
		a.tagging(in.Resources, requestTags(in.Tags))
	}),
	"DeleteTags": forInput(func(a *accessRequest, in *ec2types.DeleteTagsRequest) {
		var keys map[string][]string
		if len(in.Tags) > 0 {
			keys = map[string][]string{"aws:TagKeys": tagKeys(in.Tags)}
		}
		a.tagging(in.Resources, keys)
	}),
	"DescribeTags": anyResource,

	"CreateSecurityGroup": forInput(func(a *accessRequest, in *ec2types.CreateSecurityGroupRequest) {
		a.create(typeGroup, in.TagSpecifications)
		vpc := awsapi.Deref(in.VpcId)
		if vpc == "" {
			vpc = a.defaultVPC()
		}
		if vpc != "" {
			a.existing(vpc)
		}
	}),
	"DeleteSecurityGroup": forInput(func(a *accessRequest, in *ec2types.DeleteSecurityGroupRequest) {
		a.group(in.GroupId, in.GroupName)
	}),
	"DescribeSecurityGroups": anyResource,

	"AuthorizeSecurityGroupIngress": forInput(func(a *accessRequest, in *ec2types.AuthorizeSecurityGroupIngressRequest) {
		a.group(in.GroupId, in.GroupName)
		a.tagOnCreate(typeRule, in.TagSpecifications)
	}),
	"AuthorizeSecurityGroupEgress": forInput(func(a *accessRequest, in *ec2types.AuthorizeSecurityGroupEgressRequest) {
		a.group(in.GroupId, nil)
		a.tagOnCreate(typeRule, in.TagSpecifications)
	}),
	"RevokeSecurityGroupIngress": forInput(func(a *accessRequest, in *ec2types.RevokeSecurityGroupIngressRequest) {
		a.group(in.GroupId, in.GroupName)
	}),
	"RevokeSecurityGroupEgress": forInput(func(a *accessRequest, in *ec2types.RevokeSecurityGroupEgressRequest) {
		a.group(in.GroupId, nil)
	}),
	"ModifySecurityGroupRules": forInput(func(a *accessRequest, in *ec2types.ModifySecurityGroupRulesRequest) {
		a.group(in.GroupId, nil)
		for _, r := range in.SecurityGroupRules {
			a.existing(awsapi.Deref(r.SecurityGroupRuleId))
		}
	}),
	"UpdateSecurityGroupRuleDescriptionsIngress": forInput(func(a *accessRequest, in *ec2types.UpdateSecurityGroupRuleDescriptionsIngressRequest) {
		a.group(in.GroupId, in.GroupName)
	}),
	"UpdateSecurityGroupRuleDescriptionsEgress": forInput(func(a *accessRequest, in *ec2types.UpdateSecurityGroupRuleDescriptionsEgressRequest) {
		a.group(in.GroupId, in.GroupName)
	}),
	"DescribeSecurityGroupRules": anyResource,

	"DescribeNetworkInterfaces": anyResource,
}

// access is the service's awsapi.Service.Access. A resource the call
// names that does not exist is authorized by the ARN its id gives it, as
// EC2 authorizes before it looks; the handler then answers that it is
// missing.
func (e *EC2) access(ctx context.Context, operation string, input any) ([]awsapi.Access, error) {
	rule, ok := accessRules[operation]
	if !ok {
		return nil, nil
	}
	a := &accessRequest{e: e, ctx: ctx, operation: operation, region: region(ctx)}
	rule(a, input)
	return a.out, a.err
}

// accessRequest collects what one call needs.
type accessRequest struct {
	e         *EC2
	ctx       context.Context
	operation string
	region    string
	out       []awsapi.Access
	// err is the first store read that failed.
	err error
}

// need adds the call's own action on resource, with the condition keys
// the call sets; id, when set, names the resource whose tags policies may
// test.
func (a *accessRequest) need(resource string, conditions map[string][]string, id string) {
	a.add("ec2:"+a.operation, resource, conditions, id)
}

func (a *accessRequest) add(action, resource string, conditions map[string][]string, id string) {
	acc := awsapi.Access{Action: action, Resource: resource, Context: conditions}
	if id != "" {
		e, region := a.e, a.region
		acc.ResourceTags = func(ctx context.Context) (map[string][]string, error) {
			tags, err := e.tagsByID(ctx, region, id)
			if err != nil {
				return nil, err
			}
			return resourceTags(tags), nil
		}
	}
	a.out = append(a.out, acc)
}

// arnOf is the ARN of the resource id names, by its type ("*" for an id
// of no type berth knows, which the handler refuses).
func (a *accessRequest) arnOf(id string) string {
	kind, err := resourceType(id)
	if err != nil {
		return "*"
	}
	return a.e.arn(a.region, kind, id)
}

// existing adds the call's action on the resource id names.
func (a *accessRequest) existing(id string) {
	a.need(a.arnOf(id), nil, id)
}

// create adds the call's action on a new resource of kind, and what
// tagging it on creation needs.
func (a *accessRequest) create(kind string, specs []ec2types.TagSpecification) {
	a.need(a.e.arn(a.region, kind, "*"), requestTags(specTagsOf(specs, kind)), "")
	a.tagOnCreate(kind, specs)
}

// tagOnCreate adds ec2:CreateTags on the new resources of kind the call
// tags.
func (a *accessRequest) tagOnCreate(kind string, specs []ec2types.TagSpecification) {
	tags := specTagsOf(specs, kind)
	if len(tags) == 0 {
		return
	}
	c := requestTags(tags)
	c["ec2:CreateAction"] = []string{a.operation}
	a.add("ec2:CreateTags", a.e.arn(a.region, kind, "*"), c, "")
}

// tagging adds the call's action on each resource whose tags it changes
// ("*" when it names none, which the handler refuses).
func (a *accessRequest) tagging(ids []string, conditions map[string][]string) {
	if len(ids) == 0 {
		a.need("*", conditions, "")
	}
	for _, id := range ids {
		a.need(a.arnOf(id), conditions, id)
	}
}

// group adds the call's action on the security group it names by id, or
// by name in the default VPC.
func (a *accessRequest) group(id, name *string) {
	if gid := awsapi.Deref(id); gid != "" || awsapi.Deref(name) == "" {
		a.existing(gid)
		return
	}
	gid, err := a.e.groupIDByName(a.ctx, a.region, *name)
	if err != nil {
		a.fail(err)
		return
	}
	if gid == "" {
		// No such group: the handler answers so.
		a.need(a.e.arn(a.region, typeGroup, "*"), nil, "")
		return
	}
	a.existing(gid)
}

// defaultVPC is the id of the region's default VPC, "" when it has none.
func (a *accessRequest) defaultVPC() string {
	id, err := a.e.defaultVPCID(a.ctx, a.region)
	if err != nil {
		a.fail(err)
	}
	return id
}

// fail keeps the first store read that failed, which fails the call.
func (a *accessRequest) fail(err error) {
	if a.err == nil {
		a.err = err
	}
}

// defaultVPCID reads the id of the region's default VPC without making
// it: "" when the region has none.
func (e *EC2) defaultVPCID(ctx context.Context, region string) (string, error) {
	marker, err := store.Get[ec2state.DefaultVPC](ctx, e.store, ec2state.DefaultVPCKey(region))
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return marker.Value.VPCID, nil
}

// groupIDByName is the id of the group called name in the region's
// default VPC, "" when there is none.
func (e *EC2) groupIDByName(ctx context.Context, region, name string) (string, error) {
	vpc, err := e.defaultVPCID(ctx, region)
	if err != nil || vpc == "" {
		return "", err
	}
	groups, err := listRegion[ec2state.SecurityGroup](ctx, e.store, ec2state.GroupPrefix, region)
	if err != nil {
		return "", err
	}
	for _, g := range groups {
		if g.Value.VPCID == vpc && g.Value.Name == name {
			return g.Value.ID, nil
		}
	}
	return "", nil
}

// tagsByID reads the tags of the resource id names; none when it does not
// exist.
func (e *EC2) tagsByID(ctx context.Context, region, id string) ([]ec2state.Tag, error) {
	kind, err := resourceType(id)
	if err != nil {
		return nil, nil
	}
	get := func(key string, tags func([]byte) ([]ec2state.Tag, error)) ([]ec2state.Tag, error) {
		kv, _, err := e.store.Get(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return tags(kv.Value)
	}
	switch kind {
	case typeVPC:
		return get(ec2state.VPCKey(region, id), recordTags)
	case typeSubnet:
		return get(ec2state.SubnetKey(region, id), recordTags)
	case typeGroup:
		return get(ec2state.GroupKey(region, id), recordTags)
	case typeInterface:
		return get(ec2state.InterfaceKey(region, id), recordTags)
	}
	groups, err := listRegion[ec2state.SecurityGroup](ctx, e.store, ec2state.GroupPrefix, region)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		if i := slices.IndexFunc(allRules(g.Value), func(r ec2state.Rule) bool { return r.ID == id }); i >= 0 {
			return allRules(g.Value)[i].Tags, nil
		}
	}
	return nil, nil
}

// recordTags decodes a record only as far as its tags, all that a policy
// test needs of it.
func recordTags(b []byte) ([]ec2state.Tag, error) {
	var r struct {
		Tags []ec2state.Tag `json:"tags"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("ec2: decode a record's tags: %w", err)
	}
	return r.Tags, nil
}

// specTagsOf are the tags TagSpecifications give resources of kind, as
// far as they are well formed (the handler refuses the rest).
func specTagsOf(specs []ec2types.TagSpecification, kind string) []ec2types.Tag {
	var out []ec2types.Tag
	for _, s := range specs {
		if awsapi.Deref(s.ResourceType) == kind {
			out = append(out, s.Tags...)
		}
	}
	return out
}

func requestTags(tags []ec2types.Tag) map[string][]string {
	if len(tags) == 0 {
		return nil
	}
	c := map[string][]string{"aws:TagKeys": tagKeys(tags)}
	for _, t := range tags {
		c["aws:RequestTag/"+awsapi.Deref(t.Key)] = []string{awsapi.Deref(t.Value)}
	}
	return c
}

func tagKeys(tags []ec2types.Tag) []string {
	keys := make([]string, len(tags))
	for i, t := range tags {
		keys[i] = awsapi.Deref(t.Key)
	}
	return keys
}

func resourceTags(tags []ec2state.Tag) map[string][]string {
	if len(tags) == 0 {
		return nil
	}
	c := map[string][]string{}
	for _, t := range tags {
		c["aws:ResourceTag/"+t.Key] = []string{t.Value}
		c["ec2:ResourceTag/"+t.Key] = []string{t.Value}
	}
	return c
}
