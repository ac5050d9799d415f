package provision

import (
	"context"
	"fmt"
	"strings"

	"github.com/berth/berth/internal/awsapi/model"
)

func init() {
	// AWS::ElasticLoadBalancingV2::LoadBalancer: Ref is the ARN.
	// CloudFormation waits for a new load balancer to be active.
	register("AWS::ElasticLoadBalancingV2::LoadBalancer", &Provisioner{
		NameProperty: "Name",
		NameLength:   32,
		Find: func(ctx context.Context, c *Call) (Result, bool, error) {
			out, err := c.invoke(ctx, "elbv2", "DescribeLoadBalancers", map[string]any{"Names": []any{c.name("Name", 32)}})
			if isNotFound(err, "LoadBalancerNotFound") {
				return Result{}, false, nil
			}
			if err != nil {
				return Result{}, false, err
			}
			lbs, _ := out["LoadBalancers"].([]any)
			lb, _ := lbs[0].(map[string]any)
			return loadBalancerResult(lb), true, nil
		},
		Create:  createLoadBalancer,
		Update:  updateLoadBalancer,
		Settled: loadBalancerActive,
		Delete: func(ctx context.Context, c *Call) error {
			_, err := c.invoke(ctx, "elbv2", "DeleteLoadBalancer", map[string]any{"LoadBalancerArn": c.PhysicalID})
			if isNotFound(err, "LoadBalancerNotFound") {
				return nil
			}
			return err
		},
	})
	// AWS::ElasticLoadBalancingV2::TargetGroup: Ref is the ARN.
	register("AWS::ElasticLoadBalancingV2::TargetGroup", &Provisioner{
		NameProperty: "Name",
		NameLength:   32,
		Find: func(ctx context.Context, c *Call) (Result, bool, error) {
			out, err := c.invoke(ctx, "elbv2", "DescribeTargetGroups", map[string]any{"Names": []any{c.name("Name", 32)}})
			if isNotFound(err, "TargetGroupNotFound") {
				return Result{}, false, nil
			}
			if err != nil {
				return Result{}, false, err
			}
			tgs, _ := out["TargetGroups"].([]any)
			tg, _ := tgs[0].(map[string]any)
			return targetGroupResult(tg), true, nil
		},
		Create: createTargetGroup,
		Update: updateTargetGroup,
		Delete: func(ctx context.Context, c *Call) error {
			_, err := c.invoke(ctx, "elbv2", "DeleteTargetGroup", map[string]any{"TargetGroupArn": c.PhysicalID})
			if isNotFound(err, "TargetGroupNotFound") {
				return nil
			}
			return err
		},
	})
	// AWS::ElasticLoadBalancingV2::Listener: Ref is the ARN.
	register("AWS::ElasticLoadBalancingV2::Listener", &Provisioner{
		Create: createListener,
		Update: updateListener,
		Delete: func(ctx context.Context, c *Call) error {
			_, err := c.invoke(ctx, "elbv2", "DeleteListener", map[string]any{"ListenerArn": c.PhysicalID})
			if isNotFound(err, "ListenerNotFound") {
				return nil
			}
			return err
		},
	})
}

// elbv2Tags are the tags ELBv2's create calls take, or nil for none (the
// API refuses an empty list).
func (c *Call) elbv2Tags(in map[string]any) {
	if tags := c.tags("Key", "Value"); len(tags) > 0 {
		in["Tags"] = tags
	}
}

// setAttributes applies a LoadBalancerAttributes or TargetGroupAttributes
// property ([{Key, Value}]) with the Modify call that takes them.
func (c *Call) setAttributes(ctx context.Context, property, operation, arnMember, arn string) error {
	attrs, ok := c.Properties[property].([]any)
	if !ok || !c.changed(property) {
		return nil
	}
	_, err := c.invoke(ctx, "elbv2", operation, map[string]any{arnMember: arn, "Attributes": attrs})
	return err
}

func createLoadBalancer(ctx context.Context, c *Call) (Result, error) {
	in, err := apiInput(model.MustLoad("elbv2"), "CreateLoadBalancer", c.Properties, nil, "Name", "Tags", "LoadBalancerAttributes")
	if err != nil {
		return Result{}, err
	}
	in["Name"] = c.name("Name", 32)
	c.elbv2Tags(in)
	out, err := c.invoke(ctx, "elbv2", "CreateLoadBalancer", in)
	if err != nil {
		return Result{}, err
	}
	lbs, _ := out["LoadBalancers"].([]any)
	lb, _ := lbs[0].(map[string]any)
	res := loadBalancerResult(lb)
	if err := c.setAttributes(ctx, "LoadBalancerAttributes", "ModifyLoadBalancerAttributes", "LoadBalancerArn", res.PhysicalID); err != nil {
		return res, err
	}
	return res, nil
}

// loadBalancerResult is a load balancer's Ref and GetAtt values.
func loadBalancerResult(lb map[string]any) Result {
	arn := fmt.Sprint(lb["LoadBalancerArn"])
	return Result{PhysicalID: arn, Settling: true, Attributes: map[string]any{
		"LoadBalancerArn":       arn,
		"DNSName":               lb["DNSName"],
		"CanonicalHostedZoneID": lb["CanonicalHostedZoneId"],
		"LoadBalancerName":      lb["LoadBalancerName"],
		"LoadBalancerFullName":  fullName(arn, ":loadbalancer/"),
		"SecurityGroups":        orEmpty(lb["SecurityGroups"]),
	}}
}

func orEmpty(v any) any {
	if v == nil {
		return []any{}
	}
	return v
}

// fullName is the part of an ELBv2 ARN after marker ("app/web/50dc6c495c0c9188").
func fullName(arn, marker string) string {
	_, after, _ := strings.Cut(arn, marker)
	return after
}

func updateLoadBalancer(ctx context.Context, c *Call) (Result, error) {
	arn := c.PhysicalID
	if c.changed("SecurityGroups") {
		if _, err := c.invoke(ctx, "elbv2", "SetSecurityGroups", map[string]any{"LoadBalancerArn": arn,
			"SecurityGroups": orEmpty(c.Properties["SecurityGroups"])}); err != nil {
			return Result{}, err
		}
		c.Attributes["SecurityGroups"] = orEmpty(c.Properties["SecurityGroups"])
	}
	if c.changed("Subnets", "SubnetMappings") {
		in := map[string]any{"LoadBalancerArn": arn}
		for _, p := range []string{"Subnets", "SubnetMappings"} {
			if v, ok := c.Properties[p]; ok {
				in[p] = v
			}
		}
		if _, err := c.invoke(ctx, "elbv2", "SetSubnets", in); err != nil {
			return Result{}, err
		}
	}
	if c.changed("IpAddressType") {
		if _, err := c.invoke(ctx, "elbv2", "SetIpAddressType", map[string]any{"LoadBalancerArn": arn,
			"IpAddressType": c.Properties["IpAddressType"]}); err != nil {
			return Result{}, err
		}
	}
	if err := c.setAttributes(ctx, "LoadBalancerAttributes", "ModifyLoadBalancerAttributes", "LoadBalancerArn", arn); err != nil {
		return Result{}, err
	}
	if err := c.retagELBv2(ctx, arn); err != nil {
		return Result{}, err
	}
	return Result{PhysicalID: arn, Attributes: c.Attributes}, nil
}

func (c *Call) retagELBv2(ctx context.Context, arn string) error {
	if !c.changed("Tags") {
		return nil
	}
	if gone := c.removedTagKeys(); len(gone) > 0 {
		if _, err := c.invoke(ctx, "elbv2", "RemoveTags", map[string]any{"ResourceArns": []any{arn}, "TagKeys": gone}); err != nil {
			return err
		}
	}
	if tags := c.tags("Key", "Value"); len(tags) > 0 {
		_, err := c.invoke(ctx, "elbv2", "AddTags", map[string]any{"ResourceArns": []any{arn}, "Tags": tags})
		return err
	}
	return nil
}

func loadBalancerActive(ctx context.Context, c *Call) (bool, error) {
	out, err := c.invoke(ctx, "elbv2", "DescribeLoadBalancers", map[string]any{"LoadBalancerArns": []any{c.PhysicalID}})
	if err != nil {
		return false, err
	}
	lbs, _ := out["LoadBalancers"].([]any)
	if len(lbs) == 0 {
		return false, fmt.Errorf("load balancer %s is gone", c.PhysicalID)
	}
	lb, _ := lbs[0].(map[string]any)
	state, _ := lb["State"].(map[string]any)
	switch state["Code"] {
	case "active":
		return true, nil
	case "failed":
		return false, Failure(fmt.Sprintf("Load balancer %s failed: %v", c.PhysicalID, state["Reason"]))
	}
	return false, nil
}

func createTargetGroup(ctx context.Context, c *Call) (Result, error) {
	in, err := apiInput(model.MustLoad("elbv2"), "CreateTargetGroup", c.Properties, nil, "Name", "Tags", "TargetGroupAttributes", "Targets")
	if err != nil {
		return Result{}, err
	}
	in["Name"] = c.name("Name", 32)
	c.elbv2Tags(in)
	out, err := c.invoke(ctx, "elbv2", "CreateTargetGroup", in)
	if err != nil {
		return Result{}, err
	}
	tgs, _ := out["TargetGroups"].([]any)
	tg, _ := tgs[0].(map[string]any)
	res := targetGroupResult(tg)
	arn := res.PhysicalID
	if err := c.setAttributes(ctx, "TargetGroupAttributes", "ModifyTargetGroupAttributes", "TargetGroupArn", arn); err != nil {
		return res, err
	}
	if err := c.syncTargets(ctx, arn); err != nil {
		return res, err
	}
	return res, nil
}

// targetGroupResult is a target group's Ref and GetAtt values.
func targetGroupResult(tg map[string]any) Result {
	arn := fmt.Sprint(tg["TargetGroupArn"])
	return Result{PhysicalID: arn, Attributes: map[string]any{
		"TargetGroupArn":      arn,
		"TargetGroupName":     tg["TargetGroupName"],
		"TargetGroupFullName": "targetgroup/" + fullName(arn, ":targetgroup/"),
		"LoadBalancerArns":    orEmpty(tg["LoadBalancerArns"]),
	}}
}

// targetGroupModifiable are the TargetGroup properties ModifyTargetGroup
// takes.
var targetGroupModifiable = []string{"HealthCheckProtocol", "HealthCheckPort", "HealthCheckPath", "HealthCheckEnabled",
	"HealthCheckIntervalSeconds", "HealthCheckTimeoutSeconds", "HealthyThresholdCount", "UnhealthyThresholdCount", "Matcher"}

func updateTargetGroup(ctx context.Context, c *Call) (Result, error) {
	arn := c.PhysicalID
	if c.changed(targetGroupModifiable...) {
		in, err := apiInput(model.MustLoad("elbv2"), "ModifyTargetGroup", pick(c.Properties, targetGroupModifiable...), nil)
		if err != nil {
			return Result{}, err
		}
		in["TargetGroupArn"] = arn
		if _, err := c.invoke(ctx, "elbv2", "ModifyTargetGroup", in); err != nil {
			return Result{}, err
		}
	}
	if err := c.setAttributes(ctx, "TargetGroupAttributes", "ModifyTargetGroupAttributes", "TargetGroupArn", arn); err != nil {
		return Result{}, err
	}
	if err := c.syncTargets(ctx, arn); err != nil {
		return Result{}, err
	}
	if err := c.retagELBv2(ctx, arn); err != nil {
		return Result{}, err
	}
	return Result{PhysicalID: arn, Attributes: c.Attributes}, nil
}

// syncTargets registers the Targets property's targets and deregisters
// those only the previous properties listed.
func (c *Call) syncTargets(ctx context.Context, arn string) error {
	if !c.changed("Targets") {
		return nil
	}
	key := func(t any) string { return permissionKey(map[string]any{"t": t}) }
	now, _ := c.Properties["Targets"].([]any)
	was, _ := c.Previous["Targets"].([]any)
	kept := map[string]bool{}
	for _, t := range now {
		kept[key(t)] = true
	}
	var gone []any
	for _, t := range was {
		if !kept[key(t)] {
			gone = append(gone, t)
		}
	}
	if len(gone) > 0 {
		if _, err := c.invoke(ctx, "elbv2", "DeregisterTargets", map[string]any{"TargetGroupArn": arn, "Targets": gone}); err != nil {
			return err
		}
	}
	if len(now) > 0 {
		_, err := c.invoke(ctx, "elbv2", "RegisterTargets", map[string]any{"TargetGroupArn": arn, "Targets": now})
		return err
	}
	return nil
}

func createListener(ctx context.Context, c *Call) (Result, error) {
	in, err := apiInput(model.MustLoad("elbv2"), "CreateListener", c.Properties, nil, "Tags")
	if err != nil {
		return Result{}, err
	}
	c.elbv2Tags(in)
	out, err := c.invoke(ctx, "elbv2", "CreateListener", in)
	if err != nil {
		return Result{}, err
	}
	ls, _ := out["Listeners"].([]any)
	l, _ := ls[0].(map[string]any)
	arn := fmt.Sprint(l["ListenerArn"])
	return Result{PhysicalID: arn, Attributes: map[string]any{"ListenerArn": arn}}, nil
}

var listenerModifiable = []string{"Port", "Protocol", "SslPolicy", "Certificates", "DefaultActions", "AlpnPolicy", "MutualAuthentication"}

func updateListener(ctx context.Context, c *Call) (Result, error) {
	if c.changed(listenerModifiable...) {
		in, err := apiInput(model.MustLoad("elbv2"), "ModifyListener", pick(c.Properties, listenerModifiable...), nil)
		if err != nil {
			return Result{}, err
		}
		in["ListenerArn"] = c.PhysicalID
		if _, err := c.invoke(ctx, "elbv2", "ModifyListener", in); err != nil {
			return Result{}, err
		}
	}
	if err := c.retagELBv2(ctx, c.PhysicalID); err != nil {
		return Result{}, err
	}
	return Result{PhysicalID: c.PhysicalID, Attributes: c.Attributes}, nil
}
