package elbv2

import (
	"context"
	"errors"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/elbv2/elbv2state"
	"github.com/berth/berth/internal/elbv2/elbv2types"
)

// accessRule names what one operation needs: the resources it acts on
// (ARNs, or patterns of the ARN a resource being made will have), with the
// tags a call sets on them.
type accessRule func(a *accessRequest, input any)

// onInput adapts a rule of one input type.
func onInput[In any](rule func(a *accessRequest, in *In)) accessRule {
	return func(a *accessRequest, input any) {
		if in, ok := input.(*In); ok {
			rule(a, in)
		}
	}
}

// anything is the rule of the operations that act on "*" (the Describe
// calls, DescribeAccountLimits).
func anything(a *accessRequest, _ any) { a.need("*", nil) }

// accessRules are what each operation berth serves needs, as the Service
// Authorization Reference for Elastic Load Balancing V2 lists it.
// UNVERIFIED: a resource being made is authorized by its ARN with "*" for
// the id it does not have yet.
var accessRules = map[string]accessRule{
	"CreateLoadBalancer": onInput(func(a *accessRequest, in *elbv2types.CreateLoadBalancerInput) {
		a.create(a.arn("loadbalancer/app/"+awsapi.Deref(in.Name)+"/*"), in.Tags)
	}),
	"DeleteLoadBalancer": onInput(func(a *accessRequest, in *elbv2types.DeleteLoadBalancerInput) { a.on(in.LoadBalancerArn) }),
	"SetSecurityGroups":  onInput(func(a *accessRequest, in *elbv2types.SetSecurityGroupsInput) { a.on(in.LoadBalancerArn) }),
	"SetSubnets":         onInput(func(a *accessRequest, in *elbv2types.SetSubnetsInput) { a.on(in.LoadBalancerArn) }),
	"SetIpAddressType":   onInput(func(a *accessRequest, in *elbv2types.SetIpAddressTypeInput) { a.on(in.LoadBalancerArn) }),
	"ModifyLoadBalancerAttributes": onInput(func(a *accessRequest, in *elbv2types.ModifyLoadBalancerAttributesInput) {
		a.on(in.LoadBalancerArn)
	}),

	"CreateTargetGroup": onInput(func(a *accessRequest, in *elbv2types.CreateTargetGroupInput) {
		a.create(a.arn("targetgroup/"+awsapi.Deref(in.Name)+"/*"), in.Tags)
	}),
	"ModifyTargetGroup": onInput(func(a *accessRequest, in *elbv2types.ModifyTargetGroupInput) { a.on(in.TargetGroupArn) }),
	"DeleteTargetGroup": onInput(func(a *accessRequest, in *elbv2types.DeleteTargetGroupInput) { a.on(in.TargetGroupArn) }),
	"ModifyTargetGroupAttributes": onInput(func(a *accessRequest, in *elbv2types.ModifyTargetGroupAttributesInput) {
		a.on(in.TargetGroupArn)
	}),
	"RegisterTargets":   onInput(func(a *accessRequest, in *elbv2types.RegisterTargetsInput) { a.on(in.TargetGroupArn) }),
	"DeregisterTargets": onInput(func(a *accessRequest, in *elbv2types.DeregisterTargetsInput) { a.on(in.TargetGroupArn) }),

	"CreateListener": onInput(func(a *accessRequest, in *elbv2types.CreateListenerInput) {
		lb := awsapi.Deref(in.LoadBalancerArn)
		a.needTagged(lb, requestTags(in.Tags))
		a.tagOnCreate(strings.Replace(lb, ":loadbalancer/", ":listener/", 1)+"/*", in.Tags)
	}),
	"ModifyListener": onInput(func(a *accessRequest, in *elbv2types.ModifyListenerInput) { a.on(in.ListenerArn) }),
	"DeleteListener": onInput(func(a *accessRequest, in *elbv2types.DeleteListenerInput) { a.on(in.ListenerArn) }),
	"AddListenerCertificates": onInput(func(a *accessRequest, in *elbv2types.AddListenerCertificatesInput) {
		a.on(in.ListenerArn)
	}),
	"RemoveListenerCertificates": onInput(func(a *accessRequest, in *elbv2types.RemoveListenerCertificatesInput) {
		a.on(in.ListenerArn)
	}),

	"CreateRule": onInput(func(a *accessRequest, in *elbv2types.CreateRuleInput) {
		l := awsapi.Deref(in.ListenerArn)
		a.needTagged(l, requestTags(in.Tags))
		a.tagOnCreate(strings.Replace(l, ":listener/", ":listener-rule/", 1)+"/*", in.Tags)
	}),
	"ModifyRule": onInput(func(a *accessRequest, in *elbv2types.ModifyRuleInput) { a.on(in.RuleArn) }),
	"DeleteRule": onInput(func(a *accessRequest, in *elbv2types.DeleteRuleInput) { a.on(in.RuleArn) }),
	"SetRulePriorities": onInput(func(a *accessRequest, in *elbv2types.SetRulePrioritiesInput) {
		for _, p := range in.RulePriorities {
			a.on(p.RuleArn)
		}
	}),

	"AddTags": onInput(func(a *accessRequest, in *elbv2types.AddTagsInput) {
		for _, arn := range in.ResourceArns {
			a.needTagged(arn, requestTags(in.Tags))
		}
	}),
	"RemoveTags": onInput(func(a *accessRequest, in *elbv2types.RemoveTagsInput) {
		for _, arn := range in.ResourceArns {
			a.needTagged(arn, map[string][]string{"aws:TagKeys": in.TagKeys})
		}
	}),

	"DescribeLoadBalancers":          anything,
	"DescribeLoadBalancerAttributes": anything,
	"DescribeTargetGroups":           anything,
	"DescribeTargetGroupAttributes":  anything,
	"DescribeTargetHealth":           anything,
	"DescribeListeners":              anything,
	"DescribeListenerCertificates":   anything,
	"DescribeSSLPolicies":            anything,
	"DescribeRules":                  anything,
	"DescribeTags":                   anything,
	"DescribeAccountLimits":          anything,
}

// access is the service's awsapi.Service.Access: "elasticloadbalancing:
// <operation>" on each resource the call names, with the tags it sets
// (aws:RequestTag/<key>, aws:TagKeys) and those of the resource, read only
// when a policy tests them (aws:ResourceTag/<key>,
// elasticloadbalancing:ResourceTag/<key>).
func (e *ELBv2) access(ctx context.Context, op string, input any) ([]awsapi.Access, error) {
	rule, ok := accessRules[op]
	if !ok {
		return nil, nil
	}
	a := &accessRequest{e: e, region: region(ctx), action: "elasticloadbalancing:" + op}
	rule(a, input)
	return a.accesses, nil
}

// accessRequest collects what one call needs.
type accessRequest struct {
	e        *ELBv2
	region   string
	action   string
	accesses []awsapi.Access
}

func (a *accessRequest) arn(resource string) string {
	return "arn:aws:elasticloadbalancing:" + a.region + ":" + a.e.account + ":" + resource
}

// need adds the call's action on resource with the conditions c.
func (a *accessRequest) need(resource string, c map[string][]string) {
	a.accesses = append(a.accesses, awsapi.Access{Action: a.action, Resource: resource, Context: c})
}

// on adds the call's action on the existing resource arn names, with its
// tags.
func (a *accessRequest) on(arn *string) { a.needTagged(awsapi.Deref(arn), nil) }

// needTagged adds the call's action on the resource arn names with the
// conditions c and, when a policy tests them, the resource's tags.
func (a *accessRequest) needTagged(arn string, c map[string][]string) {
	e, region := a.e, a.region
	a.accesses = append(a.accesses, awsapi.Access{
		Action: a.action, Resource: arn, Context: c,
		ResourceTags: func(ctx context.Context) (map[string][]string, error) { return e.resourceTags(ctx, region, arn) },
	})
}

// create adds the call's action on the resource being made, with the tags
// it is given, and AddTags on it when it is given some.
func (a *accessRequest) create(resource string, tags []elbv2types.Tag) {
	a.need(resource, requestTags(tags))
	a.tagOnCreate(resource, tags)
}

// tagOnCreate adds AddTags on a resource made with tags, which ELBv2 also
// authorizes.
func (a *accessRequest) tagOnCreate(resource string, tags []elbv2types.Tag) {
	if len(tags) > 0 {
		a.accesses = append(a.accesses, awsapi.Access{Action: "elasticloadbalancing:AddTags", Resource: resource, Context: requestTags(tags)})
	}
}

// resourceTags are the tags of the resource arn names as condition keys;
// none for one that does not exist, which the handler answers.
func (e *ELBv2) resourceTags(ctx context.Context, region, arn string) (map[string][]string, error) {
	var tags []elbv2state.Tag
	err := elbv2state.Run(ctx, e.store, func(tx *elbv2state.Tx) error {
		res, err := readTaggable(ctx, tx, region, arn)
		tags = res.tags
		return err
	})
	if err != nil && !isLookupFailure(err) {
		return nil, err
	}
	if len(tags) == 0 {
		return nil, nil
	}
	c := map[string][]string{}
	for _, t := range tags {
		c["aws:ResourceTag/"+t.Key] = []string{t.Value}
		c["elasticloadbalancing:ResourceTag/"+t.Key] = []string{t.Value}
	}
	return c, nil
}

// isLookupFailure reports whether err says a resource ARN names nothing.
func isLookupFailure(err error) bool {
	for _, kind := range []error{elbv2state.ErrValidation, elbv2state.ErrLoadBalancerNotFound, elbv2state.ErrTargetGroupNotFound,
		elbv2state.ErrListenerNotFound, elbv2state.ErrRuleNotFound} {
		if errors.Is(err, kind) {
			return true
		}
	}
	return false
}

// requestTags are the condition keys of the tags a call sets.
func requestTags(tags []elbv2types.Tag) map[string][]string {
	return awsapi.RequestTags(tags, func(t elbv2types.Tag) (*string, *string) { return t.Key, t.Value })
}
