package elbv2

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/elbv2/elbv2state"
	"github.com/berth/berth/internal/elbv2/elbv2types"
)

// An attrCheck checks one attribute's value, returning the error with
// ELBv2's sentence. UNVERIFIED: the sentences of invalid values follow
// ELBv2's style where no capture of the real text was available.
type attrCheck func(key, value string) error

func boolAttr(key, value string) error {
	if value != "true" && value != "false" {
		return validation("'%s' must be one of [true, false]", key)
	}
	return nil
}

func anyAttr(string, string) error { return nil }

// intAttr accepts whole numbers from lo to hi.
func intAttr(lo, hi int) attrCheck {
	return func(key, value string) error {
		n, err := strconv.Atoi(value)
		if err != nil || n < lo || n > hi {
			return validation("'%s' value '%s' must be between '%d-%d' inclusive", key, value, lo, hi)
		}
		return nil
	}
}

// enumAttr accepts the values given.
func enumAttr(values ...string) attrCheck {
	return func(key, value string) error {
		if !slices.Contains(values, value) {
			return validation("'%s' value '%s' must be one of [%s]", key, value, strings.Join(values, ", "))
		}
		return nil
	}
}

// orOff accepts "off" or what check does.
func orOff(check attrCheck) attrCheck {
	return func(key, value string) error {
		if value == "off" {
			return nil
		}
		return check(key, value)
	}
}

// lbAttrChecks are the checks of every attribute of
// elbv2state.LoadBalancerAttributes.
var lbAttrChecks = map[string]attrCheck{
	elbv2state.AttrAccessLogsEnabled:  boolAttr,
	elbv2state.AttrAccessLogsBucket:   anyAttr,
	elbv2state.AttrAccessLogsPrefix:   anyAttr,
	elbv2state.AttrIdleTimeout:        intAttr(1, 4000),
	elbv2state.AttrDeletionProtection: boolAttr,
	elbv2state.AttrHTTP2:              boolAttr,
	elbv2state.AttrDropInvalidHeaders: boolAttr,
	elbv2state.AttrXFFClientPort:      boolAttr,
	elbv2state.AttrPreserveHostHeader: boolAttr,
	elbv2state.AttrXFFProcessingMode:  enumAttr("append", "preserve", "remove"),
	// An ALB balances across zones always.
	elbv2state.AttrLBCrossZone:       enumAttr("true"),
	elbv2state.AttrDesyncMitigation:  enumAttr("monitor", "defensive", "strictest"),
	elbv2state.AttrClientKeepAlive:   intAttr(60, 604800),
	elbv2state.AttrWAFFailOpen:       boolAttr,
	elbv2state.AttrTLSHeaders:        boolAttr,
	elbv2state.AttrZonalShiftEnabled: boolAttr,
	elbv2state.AttrConnLogsEnabled:   boolAttr,
	elbv2state.AttrConnLogsBucket:    anyAttr,
	elbv2state.AttrConnLogsPrefix:    anyAttr,
	elbv2state.AttrHealthLogsEnabled: boolAttr,
	elbv2state.AttrHealthLogsBucket:  anyAttr,
	elbv2state.AttrHealthLogsPrefix:  anyAttr,
}

// tgAttrChecks are the checks of every attribute of
// elbv2state.TargetGroupAttributes.
var tgAttrChecks = map[string]attrCheck{
	elbv2state.AttrUnhealthyRoutingCount:      intAttr(1, 1000000),
	elbv2state.AttrStickinessEnabled:          boolAttr,
	elbv2state.AttrUnhealthyRoutingPercentage: orOff(intAttr(1, 100)),
	elbv2state.AttrDeregistrationDelay:        intAttr(0, 3600),
	elbv2state.AttrDNSFailoverCount:           orOff(intAttr(1, 1000000)),
	elbv2state.AttrStickinessAppCookieName:    appCookieName,
	elbv2state.AttrStickinessType:             stickinessType,
	elbv2state.AttrAlgorithm:                  enumAttr("round_robin", "least_outstanding_requests", "weighted_random"),
	elbv2state.AttrDNSFailoverPercentage:      orOff(intAttr(1, 100)),
	elbv2state.AttrStickinessLBCookieSeconds:  intAttr(1, 604800),
	elbv2state.AttrTGCrossZone:                enumAttr("true", "false", "use_load_balancer_configuration"),
	elbv2state.AttrSlowStart:                  slowStart,
	elbv2state.AttrStickinessAppCookieSeconds: intAttr(1, 604800),
	elbv2state.AttrAnomalyMitigation:          enumAttr("on", "off"),
}

func stickinessType(key, value string) error {
	if value == "source_ip" || value == "source_ip_dest_ip" || value == "source_ip_dest_ip_proto" {
		// UNVERIFIED wording.
		return kindError(errInvalidConfiguration, "Stickiness type '%s' is not supported for target groups with the HTTP protocol", value)
	}
	return enumAttr("lb_cookie", "app_cookie")(key, value)
}

// appCookieName refuses the names the load balancer keeps for its own
// cookies.
func appCookieName(key, value string) error {
	for _, reserved := range []string{"AWSALB", "AWSALBAPP", "AWSALBTG"} {
		if strings.HasPrefix(value, reserved) {
			return validation("'%s' value '%s' cannot start with '%s'", key, value, reserved)
		}
	}
	return nil
}

// slowStart accepts 0 (off) or 30 to 900 seconds.
func slowStart(key, value string) error {
	if value == "0" {
		return nil
	}
	return intAttr(30, 900)(key, value)
}

// applyAttributes checks changes against the attributes' checks (noun
// names the resource in the message about a key it does not have) and
// returns set with them applied.
func applyAttributes(noun string, checks map[string]attrCheck, set map[string]string, changes map[string]string) (map[string]string, error) {
	out := maps.Clone(set)
	if out == nil {
		out = map[string]string{}
	}
	for _, key := range slices.Sorted(maps.Keys(changes)) {
		check, ok := checks[key]
		if !ok {
			return nil, validation("%s attribute key '%s' is not recognized", noun, key)
		}
		if err := check(key, changes[key]); err != nil {
			return nil, err
		}
		out[key] = changes[key]
	}
	return out, nil
}

// attributeChanges are a Modify call's attributes by key, the last value
// of a key repeated winning.
func attributeChanges[T any](attrs []T, kv func(T) (*string, *string)) map[string]string {
	out := map[string]string{}
	for _, a := range attrs {
		k, v := kv(a)
		out[awsapi.Deref(k)] = awsapi.Deref(v)
	}
	return out
}

func lbAttributes(lb elbv2state.LoadBalancer) []elbv2types.LoadBalancerAttribute {
	out := make([]elbv2types.LoadBalancerAttribute, len(elbv2state.LoadBalancerAttributes))
	for i, a := range elbv2state.LoadBalancerAttributes {
		out[i] = elbv2types.LoadBalancerAttribute{Key: awsapi.String(a.Key), Value: awsapi.String(lb.Attribute(a.Key))}
	}
	return out
}

func tgAttributes(tg elbv2state.TargetGroup) []elbv2types.TargetGroupAttribute {
	out := make([]elbv2types.TargetGroupAttribute, len(elbv2state.TargetGroupAttributes))
	for i, a := range elbv2state.TargetGroupAttributes {
		out[i] = elbv2types.TargetGroupAttribute{Key: awsapi.String(a.Key), Value: awsapi.String(tg.Attribute(a.Key))}
	}
	return out
}

func (e *ELBv2) describeLoadBalancerAttributes(ctx context.Context, in *elbv2types.DescribeLoadBalancerAttributesInput) (*elbv2types.DescribeLoadBalancerAttributesOutput, error) {
	lb, err := e.readLoadBalancer(ctx, awsapi.Deref(in.LoadBalancerArn))
	if err != nil {
		return nil, err
	}
	return &elbv2types.DescribeLoadBalancerAttributesOutput{Attributes: lbAttributes(lb)}, nil
}

func (e *ELBv2) modifyLoadBalancerAttributes(ctx context.Context, in *elbv2types.ModifyLoadBalancerAttributesInput) (*elbv2types.ModifyLoadBalancerAttributesOutput, error) {
	changes := attributeChanges(in.Attributes, func(a elbv2types.LoadBalancerAttribute) (*string, *string) { return a.Key, a.Value })
	lb, err := e.changeLoadBalancer(ctx, awsapi.Deref(in.LoadBalancerArn), func(lb *elbv2state.LoadBalancer) error {
		attrs, err := applyAttributes("Load balancer", lbAttrChecks, lb.Attributes, changes)
		if err != nil {
			return err
		}
		lb.Attributes = attrs
		for _, log := range []struct{ enabled, bucket string }{
			{elbv2state.AttrAccessLogsEnabled, elbv2state.AttrAccessLogsBucket},
			{elbv2state.AttrConnLogsEnabled, elbv2state.AttrConnLogsBucket},
			{elbv2state.AttrHealthLogsEnabled, elbv2state.AttrHealthLogsBucket},
		} {
			if lb.Attribute(log.enabled) == "true" && lb.Attribute(log.bucket) == "" {
				return validation("The value of '%s' cannot be empty", log.bucket) // UNVERIFIED wording
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &elbv2types.ModifyLoadBalancerAttributesOutput{Attributes: lbAttributes(lb)}, nil
}

func (e *ELBv2) describeTargetGroupAttributes(ctx context.Context, in *elbv2types.DescribeTargetGroupAttributesInput) (*elbv2types.DescribeTargetGroupAttributesOutput, error) {
	tg, err := e.readTargetGroup(ctx, awsapi.Deref(in.TargetGroupArn))
	if err != nil {
		return nil, err
	}
	return &elbv2types.DescribeTargetGroupAttributesOutput{Attributes: tgAttributes(tg)}, nil
}

func (e *ELBv2) modifyTargetGroupAttributes(ctx context.Context, in *elbv2types.ModifyTargetGroupAttributesInput) (*elbv2types.ModifyTargetGroupAttributesOutput, error) {
	changes := attributeChanges(in.Attributes, func(a elbv2types.TargetGroupAttribute) (*string, *string) { return a.Key, a.Value })
	tg, err := e.changeTargetGroup(ctx, awsapi.Deref(in.TargetGroupArn), func(tg *elbv2state.TargetGroup) error {
		attrs, err := applyAttributes("Target group", tgAttrChecks, tg.Attributes, changes)
		if err != nil {
			return err
		}
		tg.Attributes = attrs
		return checkTargetGroupAttributes(*tg)
	})
	if err != nil {
		return nil, err
	}
	return &elbv2types.ModifyTargetGroupAttributesOutput{Attributes: tgAttributes(tg)}, nil
}

// checkTargetGroupAttributes checks what a group's attributes say
// together. UNVERIFIED wording.
func checkTargetGroupAttributes(tg elbv2state.TargetGroup) error {
	stickyApp := tg.Attribute(elbv2state.AttrStickinessEnabled) == "true" && tg.Attribute(elbv2state.AttrStickinessType) == "app_cookie"
	algorithm := tg.Attribute(elbv2state.AttrAlgorithm)
	switch {
	case stickyApp && tg.Attribute(elbv2state.AttrStickinessAppCookieName) == "":
		return kindError(errInvalidConfiguration, "You must set an application cookie name to enable stickiness of type 'app_cookie'")
	case algorithm == "least_outstanding_requests" && tg.Attribute(elbv2state.AttrSlowStart) != "0":
		return kindError(errInvalidConfiguration, "Slow start cannot be enabled with the 'least_outstanding_requests' load balancing algorithm")
	case algorithm != "weighted_random" && tg.Attribute(elbv2state.AttrAnomalyMitigation) == "on":
		return kindError(errInvalidConfiguration, "Anomaly mitigation can only be enabled with the 'weighted_random' load balancing algorithm")
	}
	return nil
}
