package elbv2

import (
	"strconv"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/elbv2/elbv2state"
	"github.com/berth/berth/internal/elbv2/elbv2types"
)

// The records as ELBv2 shows them.

func toLoadBalancer(lb elbv2state.LoadBalancer) elbv2types.LoadBalancer {
	return elbv2types.LoadBalancer{
		AvailabilityZones: toZones(lb),
		// A region without a published zone gets none.
		CanonicalHostedZoneId: awsapi.OptionalString(albHostedZones[lb.Region]),
		CreatedTime:           awsapi.Time(lb.Created),
		DNSName:               awsapi.String(lb.DNSName),
		IpAddressType:         awsapi.String(lb.IPAddressType),
		LoadBalancerArn:       awsapi.String(lb.ARN),
		LoadBalancerName:      awsapi.String(lb.Name),
		Scheme:                awsapi.String(lb.Scheme),
		SecurityGroups:        lb.SecurityGroups,
		State:                 &elbv2types.LoadBalancerState{Code: awsapi.String(lb.State)},
		Type:                  awsapi.String(lb.Type),
		VpcId:                 awsapi.String(lb.VPCID),
	}
}

// toZones are a load balancer's subnets as AvailabilityZones: an ALB's
// addresses are not shown.
func toZones(lb elbv2state.LoadBalancer) []elbv2types.AvailabilityZone {
	out := make([]elbv2types.AvailabilityZone, len(lb.Subnets))
	for i, s := range lb.Subnets {
		out[i] = elbv2types.AvailabilityZone{
			ZoneName: awsapi.String(s.AvailabilityZone), SubnetId: awsapi.String(s.SubnetID),
			LoadBalancerAddresses: []elbv2types.LoadBalancerAddress{},
		}
	}
	return out
}

func toTargetGroup(tg elbv2state.TargetGroup) elbv2types.TargetGroup {
	hc := tg.HealthCheck
	out := elbv2types.TargetGroup{
		HealthCheckEnabled:         awsapi.Bool(hc.Enabled),
		HealthCheckIntervalSeconds: awsapi.Int32(hc.IntervalSeconds),
		HealthCheckPath:            awsapi.OptionalString(hc.Path),
		HealthCheckPort:            awsapi.String(hc.Port),
		HealthCheckProtocol:        awsapi.String(hc.Protocol),
		HealthCheckTimeoutSeconds:  awsapi.Int32(hc.TimeoutSeconds),
		HealthyThresholdCount:      awsapi.Int32(hc.HealthyThreshold),
		UnhealthyThresholdCount:    awsapi.Int32(hc.UnhealthyThreshold),
		IpAddressType:              awsapi.String(tg.IPAddressType),
		LoadBalancerArns:           tg.LoadBalancerARNs(),
		Matcher:                    &elbv2types.Matcher{HttpCode: awsapi.OptionalString(hc.HTTPCode), GrpcCode: awsapi.OptionalString(hc.GRPCCode)},
		Port:                       awsapi.Int32(tg.Port),
		Protocol:                   awsapi.String(tg.Protocol),
		ProtocolVersion:            awsapi.String(tg.ProtocolVersion),
		TargetGroupArn:             awsapi.String(tg.ARN),
		TargetGroupName:            awsapi.String(tg.Name),
		TargetType:                 awsapi.String(tg.TargetType),
		VpcId:                      awsapi.String(tg.VPCID),
	}
	if out.LoadBalancerArns == nil {
		out.LoadBalancerArns = []string{} // shown empty, as AWS does
	}
	return out
}

func toListener(l elbv2state.Listener) elbv2types.Listener {
	out := elbv2types.Listener{
		DefaultActions:  toActions(l.DefaultActions),
		ListenerArn:     awsapi.String(l.ARN),
		LoadBalancerArn: awsapi.String(l.LoadBalancerARN),
		Port:            awsapi.Int32(l.Port),
		Protocol:        awsapi.String(l.Protocol),
		SslPolicy:       awsapi.OptionalString(l.SSLPolicy),
	}
	// DescribeListeners shows the default certificate alone.
	if len(l.Certificates) > 0 {
		out.Certificates = []elbv2types.Certificate{{CertificateArn: awsapi.String(l.Certificates[0])}}
	}
	return out
}

// toActions shows actions with their Order always, and a forward action
// to one group with its TargetGroupArn as well as its ForwardConfig
// (UNVERIFIED: ELBv2 may leave Order out when the caller gave none).
func toActions(actions []elbv2state.Action) []elbv2types.Action {
	out := make([]elbv2types.Action, len(actions))
	for i, a := range actions {
		act := elbv2types.Action{
			Type:           awsapi.String(a.Type),
			Order:          awsapi.Int32(a.Order),
			TargetGroupArn: awsapi.OptionalString(a.TargetGroupARN),
		}
		if f := a.Forward; f != nil {
			cfg := &elbv2types.ForwardActionConfig{
				TargetGroupStickinessConfig: &elbv2types.TargetGroupStickinessConfig{Enabled: awsapi.Bool(f.Stickiness)},
			}
			if f.Stickiness {
				cfg.TargetGroupStickinessConfig.DurationSeconds = awsapi.Int32(f.StickinessSeconds)
			}
			for _, g := range f.TargetGroups {
				cfg.TargetGroups = append(cfg.TargetGroups, elbv2types.TargetGroupTuple{
					TargetGroupArn: awsapi.String(g.ARN), Weight: awsapi.Int32(g.Weight),
				})
			}
			act.ForwardConfig = cfg
		}
		if r := a.Redirect; r != nil {
			act.RedirectConfig = &elbv2types.RedirectActionConfig{
				Protocol: awsapi.String(r.Protocol), Port: awsapi.String(r.Port), Host: awsapi.String(r.Host),
				Path: awsapi.String(r.Path), Query: awsapi.String(r.Query), StatusCode: awsapi.String(r.StatusCode),
			}
		}
		if r := a.FixedResponse; r != nil {
			act.FixedResponseConfig = &elbv2types.FixedResponseActionConfig{
				StatusCode: awsapi.String(r.StatusCode), ContentType: awsapi.OptionalString(r.ContentType),
				MessageBody: awsapi.OptionalString(r.MessageBody),
			}
		}
		out[i] = act
	}
	return out
}

func toRule(r elbv2state.Rule) elbv2types.Rule {
	return elbv2types.Rule{
		Actions:    toActions(r.Actions),
		Conditions: toConditions(r.Conditions),
		IsDefault:  awsapi.Bool(false),
		Priority:   awsapi.String(strconv.Itoa(int(r.Priority))),
		RuleArn:    awsapi.String(r.ARN),
	}
}

// toDefaultRule is a listener's default rule, which has no conditions.
func toDefaultRule(l elbv2state.Listener) elbv2types.Rule {
	return elbv2types.Rule{
		Actions:    toActions(l.DefaultActions),
		Conditions: []elbv2types.RuleCondition{},
		IsDefault:  awsapi.Bool(true),
		Priority:   awsapi.String("default"),
		RuleArn:    awsapi.String(l.DefaultRuleARN()),
	}
}

// toConditions shows each condition in its Config form, and host-header
// and path-pattern ones in the Values form too, as ELBv2 does.
func toConditions(conds []elbv2state.Condition) []elbv2types.RuleCondition {
	out := make([]elbv2types.RuleCondition, len(conds))
	for i, c := range conds {
		rc := elbv2types.RuleCondition{Field: awsapi.String(c.Field)}
		switch c.Field {
		case elbv2state.FieldHostHeader:
			rc.Values = c.Values
			rc.HostHeaderConfig = &elbv2types.HostHeaderConditionConfig{Values: c.Values}
		case elbv2state.FieldPathPattern:
			rc.Values = c.Values
			rc.PathPatternConfig = &elbv2types.PathPatternConditionConfig{Values: c.Values}
		case elbv2state.FieldHTTPHeader:
			rc.HttpHeaderConfig = &elbv2types.HttpHeaderConditionConfig{HttpHeaderName: awsapi.String(c.HeaderName), Values: c.Values}
		case elbv2state.FieldHTTPRequestMethod:
			rc.HttpRequestMethodConfig = &elbv2types.HttpRequestMethodConditionConfig{Values: c.Values}
		case elbv2state.FieldSourceIP:
			rc.SourceIpConfig = &elbv2types.SourceIpConditionConfig{Values: c.Values}
		case elbv2state.FieldQueryString:
			cfg := &elbv2types.QueryStringConditionConfig{}
			for _, q := range c.QueryStrings {
				cfg.Values = append(cfg.Values, elbv2types.QueryStringKeyValuePair{Key: awsapi.OptionalString(q.Key), Value: awsapi.String(q.Value)})
			}
			rc.QueryStringConfig = cfg
		}
		out[i] = rc
	}
	return out
}

func toTags(tags []elbv2state.Tag) []elbv2types.Tag {
	out := make([]elbv2types.Tag, len(tags))
	for i, t := range tags {
		out[i] = elbv2types.Tag{Key: awsapi.String(t.Key), Value: awsapi.String(t.Value)}
	}
	return out
}
