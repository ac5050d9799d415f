package elbv2

import (
	"context"
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	sdktypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/elbv2/elbv2types"
)

func TestEveryOperationHasAnAccessRule(t *testing.T) {
	ops := slices.Sorted(maps.Keys((&ELBv2{}).operations()))
	rules := slices.Sorted(maps.Keys(accessRules))
	if !slices.Equal(ops, rules) {
		t.Fatalf("operations %v\naccess rules %v", ops, rules)
	}
	for _, op := range ops {
		if !slices.Contains(elbv2types.Operations, op) {
			t.Errorf("%s is not in the model", op)
		}
	}
}

func TestAccess(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	lb := e.createLB("api-alb")
	if _, err := e.client.AddTags(ctx, &sdk.AddTagsInput{ResourceArns: []string{aws.ToString(lb.LoadBalancerArn)},
		Tags: []sdktypes.Tag{{Key: aws.String("team"), Value: aws.String("web")}}}); err != nil {
		t.Fatal(err)
	}
	lbARN := aws.ToString(lb.LoadBalancerArn)
	rctx := awsapi.WithRequest(ctx, &awsapi.RequestInfo{Region: testRegion})
	tags := []elbv2types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}
	requestTags := map[string][]string{"aws:RequestTag/env": {"prod"}, "aws:TagKeys": {"env"}}
	lbTags := map[string][]string{"aws:ResourceTag/team": {"web"}, "elasticloadbalancing:ResourceTag/team": {"web"}}
	listenerPattern := "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/api-alb/" + lbARN[len(lbARN)-16:] + "/*"

	// want lists each access as action, resource, conditions and the
	// resource's tags (nil: none read).
	type want struct {
		action, resource string
		context          map[string][]string
		resourceTags     map[string][]string
	}
	for _, tc := range []struct {
		op   string
		in   any
		want []want
	}{
		{"CreateLoadBalancer", &elbv2types.CreateLoadBalancerInput{Name: aws.String("new"), Tags: tags}, []want{
			{"elasticloadbalancing:CreateLoadBalancer", "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/new/*", requestTags, nil},
			{"elasticloadbalancing:AddTags", "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/new/*", requestTags, nil},
		}},
		{"CreateTargetGroup", &elbv2types.CreateTargetGroupInput{Name: aws.String("tg")}, []want{
			{"elasticloadbalancing:CreateTargetGroup", "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/*", nil, nil},
		}},
		{"DeleteLoadBalancer", &elbv2types.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(lbARN)}, []want{
			{"elasticloadbalancing:DeleteLoadBalancer", lbARN, nil, lbTags},
		}},
		{"CreateListener", &elbv2types.CreateListenerInput{LoadBalancerArn: aws.String(lbARN), Tags: tags}, []want{
			{"elasticloadbalancing:CreateListener", lbARN, requestTags, lbTags},
			{"elasticloadbalancing:AddTags", listenerPattern, requestTags, nil},
		}},
		{"AddTags", &elbv2types.AddTagsInput{ResourceArns: []string{lbARN}, Tags: tags}, []want{
			{"elasticloadbalancing:AddTags", lbARN, requestTags, lbTags},
		}},
		{"RemoveTags", &elbv2types.RemoveTagsInput{ResourceArns: []string{lbARN}, TagKeys: []string{"team"}}, []want{
			{"elasticloadbalancing:RemoveTags", lbARN, map[string][]string{"aws:TagKeys": {"team"}}, lbTags},
		}},
		// A resource that does not exist has no tags; the handler answers.
		{"ModifyRule", &elbv2types.ModifyRuleInput{RuleArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/a/0123456789abcdef/0123456789abcdef/0123456789abcdef")},
			[]want{{"elasticloadbalancing:ModifyRule", "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/a/0123456789abcdef/0123456789abcdef/0123456789abcdef", nil, nil}}},
		{"DescribeLoadBalancers", &elbv2types.DescribeLoadBalancersInput{}, []want{{"elasticloadbalancing:DescribeLoadBalancers", "*", nil, nil}}},
	} {
		got, err := e.elb.access(rctx, tc.op, tc.in)
		if err != nil || len(got) != len(tc.want) {
			t.Errorf("%s: %+v %v", tc.op, got, err)
			continue
		}
		for i, w := range tc.want {
			g := got[i]
			var tags map[string][]string
			if g.ResourceTags != nil {
				if tags, err = g.ResourceTags(rctx); err != nil {
					t.Errorf("%s: tags: %v", tc.op, err)
				}
			}
			if g.Action != w.action || g.Resource != w.resource || !reflect.DeepEqual(g.Context, w.context) || !reflect.DeepEqual(tags, w.resourceTags) {
				t.Errorf("%s access %d:\n got %s %s %v %v\nwant %s %s %v %v", tc.op, i, g.Action, g.Resource, g.Context, tags,
					w.action, w.resource, w.context, w.resourceTags)
			}
		}
	}
}
