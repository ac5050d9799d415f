package elbv2

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/elbv2/elbv2state"
	"github.com/berth/berth/internal/elbv2/elbv2types"
	"github.com/berth/berth/internal/store"
)

// Protocol versions of HTTP and HTTPS target groups.
const (
	versionHTTP1 = "HTTP1"
	versionHTTP2 = "HTTP2"
	versionGRPC  = "GRPC"
)

// healthCheckInput is the health check settings of CreateTargetGroup and
// ModifyTargetGroup.
type healthCheckInput struct {
	Enabled            *bool
	Protocol           *string
	Port               *string
	Path               *string
	Interval, Timeout  *int32
	Healthy, Unhealthy *int32
	Matcher            *elbv2types.Matcher
}

// applyHealthCheck applies in's settings to hc (the defaults, for a new
// group) and checks the result for a group of targetType, protocol and
// version. modify says the message of a timeout not shorter than the
// interval is ModifyTargetGroup's.
func applyHealthCheck(hc *elbv2state.HealthCheck, in healthCheckInput, targetType, version string, modify bool) error {
	if in.Enabled != nil {
		if !*in.Enabled {
			return validation("Health check enabled must be true for target groups with target type '%s'", targetType)
		}
		hc.Enabled = true
	}
	if p := awsapi.Deref(in.Protocol); p != "" {
		if p != elbv2types.ProtocolEnumHttp && p != elbv2types.ProtocolEnumHttps {
			// UNVERIFIED wording.
			return validation("Health check protocol '%s' is not supported for target groups with the HTTP or HTTPS protocol", p)
		}
		hc.Protocol = p
	}
	if p := awsapi.Deref(in.Port); p != "" {
		if n, err := strconv.Atoi(p); p != elbv2state.TrafficPort && (err != nil || n < 1 || n > 65535) {
			return validation("Health check port '%s' must be 'traffic-port' or a number from 1 to 65535", p) // UNVERIFIED wording
		}
		hc.Port = p
	}
	if p := awsapi.Deref(in.Path); p != "" {
		if !strings.HasPrefix(p, "/") {
			return validation("Health check path '%s' must begin with '/'", p) // UNVERIFIED wording
		}
		hc.Path = p
	}
	set := func(dst *int32, v *int32) {
		if v != nil {
			*dst = *v
		}
	}
	set(&hc.IntervalSeconds, in.Interval)
	set(&hc.TimeoutSeconds, in.Timeout)
	set(&hc.HealthyThreshold, in.Healthy)
	set(&hc.UnhealthyThreshold, in.Unhealthy)
	if hc.TimeoutSeconds >= hc.IntervalSeconds {
		if modify {
			return validation("Health check timeout '%d' must be smaller than the interval '%d'", hc.TimeoutSeconds, hc.IntervalSeconds)
		}
		return validation("Health check interval must be greater than the timeout.")
	}
	if m := in.Matcher; m != nil {
		if err := applyMatcher(hc, m, version); err != nil {
			return err
		}
	}
	return nil
}

// applyMatcher sets the matcher: HTTP codes from 200 to 499 for HTTP1 and
// HTTP2 groups, gRPC codes from 0 to 99 for GRPC ones. UNVERIFIED wording.
func applyMatcher(hc *elbv2state.HealthCheck, m *elbv2types.Matcher, version string) error {
	httpCode, grpcCode := awsapi.Deref(m.HttpCode), awsapi.Deref(m.GrpcCode)
	if version == versionGRPC {
		if httpCode != "" {
			return validation("An HTTP code matcher cannot be specified for target groups with the protocol version '%s'", version)
		}
		if grpcCode != "" {
			if !validCodes(grpcCode, 0, 99) {
				return validation("Health check matcher gRPC code '%s' must be codes or ranges of codes from 0 to 99", grpcCode)
			}
			hc.GRPCCode = grpcCode
		}
		return nil
	}
	if grpcCode != "" {
		return validation("A gRPC code matcher cannot be specified for target groups with the protocol version '%s'", version)
	}
	if httpCode != "" {
		if !validCodes(httpCode, 200, 499) {
			return validation("Health check matcher HTTP code '%s' must be codes or ranges of codes from 200 to 499", httpCode)
		}
		hc.HTTPCode = httpCode
	}
	return nil
}

// validCodes reports whether spec is a comma-separated list of codes and
// ranges of codes ("200,202", "200-299") from lo to hi.
func validCodes(spec string, lo, hi int) bool {
	for part := range strings.SplitSeq(spec, ",") {
		a, b, isRange := strings.Cut(part, "-")
		from, err1 := strconv.Atoi(a)
		to, err2 := from, error(nil)
		if isRange {
			to, err2 = strconv.Atoi(b)
		}
		if err1 != nil || err2 != nil || from < lo || to > hi || from > to {
			return false
		}
	}
	return true
}

func (e *ELBv2) createTargetGroup(ctx context.Context, in *elbv2types.CreateTargetGroupInput) (*elbv2types.CreateTargetGroupOutput, error) {
	name := awsapi.Deref(in.Name)
	if err := checkName("Target group", name); err != nil {
		return nil, err
	}
	targetType := awsapi.Deref(in.TargetType)
	switch targetType {
	case "":
		targetType = elbv2state.TargetTypeInstance
	case elbv2state.TargetTypeInstance, elbv2state.TargetTypeIP:
	default:
		return nil, unsupported("target groups of target type " + targetType)
	}
	protocol, vpcID := awsapi.Deref(in.Protocol), awsapi.Deref(in.VpcId)
	switch {
	case protocol == "":
		return nil, validation("A protocol must be specified")
	case in.Port == nil:
		return nil, validation("A port must be specified")
	case vpcID == "":
		return nil, validation("A VPC ID must be specified")
	case protocol != elbv2types.ProtocolEnumHttp && protocol != elbv2types.ProtocolEnumHttps:
		return nil, unsupported("target groups of protocol " + protocol + " (berth serves application load balancers)")
	case in.TargetControlPort != nil:
		return nil, unsupported("target control ports")
	}
	if t := awsapi.Deref(in.IpAddressType); t != "" && t != elbv2types.TargetGroupIpAddressTypeEnumIpv4 {
		return nil, unsupported("target groups of IP address type " + t)
	}
	version := awsapi.Deref(in.ProtocolVersion)
	switch version {
	case "":
		version = versionHTTP1
	case versionHTTP1, versionHTTP2, versionGRPC:
	default:
		return nil, validation("Protocol version '%s' must be one of [HTTP1, HTTP2, GRPC]", version) // UNVERIFIED wording
	}
	hc := elbv2state.HealthCheck{
		Enabled: true, Protocol: protocol, Port: elbv2state.TrafficPort, Path: "/",
		IntervalSeconds: 30, TimeoutSeconds: 5, HealthyThreshold: 5, UnhealthyThreshold: 2, HTTPCode: "200",
	}
	if version == versionGRPC {
		hc.Path, hc.HTTPCode, hc.GRPCCode = "/AWS.ALB/healthcheck", "", "12"
	}
	err := applyHealthCheck(&hc, healthCheckInput{
		Enabled: in.HealthCheckEnabled, Protocol: in.HealthCheckProtocol, Port: in.HealthCheckPort, Path: in.HealthCheckPath,
		Interval: in.HealthCheckIntervalSeconds, Timeout: in.HealthCheckTimeoutSeconds,
		Healthy: in.HealthyThresholdCount, Unhealthy: in.UnhealthyThresholdCount, Matcher: in.Matcher,
	}, targetType, version, false)
	if err != nil {
		return nil, err
	}
	tags, err := checkTags(in.Tags)
	if err != nil {
		return nil, err
	}
	if err := e.checkVPC(ctx, vpcID); err != nil {
		return nil, err
	}
	rg, id := region(ctx), elbv2state.NewID()
	tg := elbv2state.TargetGroup{
		Region: rg, Account: e.account, Name: name, ID: id, ARN: elbv2state.TargetGroupARN(rg, e.account, name, id),
		TargetType: targetType, Protocol: protocol, ProtocolVersion: version, Port: *in.Port, VPCID: vpcID,
		IPAddressType: elbv2types.TargetGroupIpAddressTypeEnumIpv4, HealthCheck: hc, Tags: tags, Created: e.now().UTC(),
	}
	out := tg
	err = elbv2state.Run(ctx, e.store, func(tx *elbv2state.Tx) error {
		cur, found, err := elbv2state.Read[elbv2state.TargetGroup](ctx, tx, elbv2state.TargetGroupKey(rg, name))
		if err != nil {
			return err
		}
		if found {
			if !sameTargetGroup(cur, tg) {
				return kindError(errDuplicateTargetGroupName, "A target group with the same name '%s' exists, but with different settings", name)
			}
			out = cur
			return nil
		}
		out = tg
		return tx.Put(elbv2state.TargetGroupKey(rg, name), tg)
	})
	if err != nil {
		return nil, err
	}
	made := toTargetGroup(out)
	if len(made.LoadBalancerArns) == 0 {
		// Left out here, as the aws CLI's examples of CreateTargetGroup
		// show; DescribeTargetGroups shows it empty.
		made.LoadBalancerArns = nil
	}
	return &elbv2types.CreateTargetGroupOutput{TargetGroups: []elbv2types.TargetGroup{made}}, nil
}

// checkVPC refuses a VPC the region does not have.
func (e *ELBv2) checkVPC(ctx context.Context, vpcID string) error {
	if err := e.ensureDefaultVPC(ctx); err != nil {
		return err
	}
	_, err := store.Get[ec2state.VPC](ctx, e.store, ec2state.VPCKey(region(ctx), vpcID))
	if errors.Is(err, store.ErrNotFound) {
		return validation("The VPC ID '%s' is not found", vpcID) // UNVERIFIED wording
	}
	return err
}

// sameTargetGroup reports whether two groups have the same settings, which
// makes CreateTargetGroup's second call answer the first's group.
func sameTargetGroup(a, b elbv2state.TargetGroup) bool {
	return a.TargetType == b.TargetType && a.Protocol == b.Protocol && a.ProtocolVersion == b.ProtocolVersion &&
		a.Port == b.Port && a.VPCID == b.VPCID && a.IPAddressType == b.IPAddressType && a.HealthCheck == b.HealthCheck
}

// readTargetGroup reads the group arn names in the request's region.
func (e *ELBv2) readTargetGroup(ctx context.Context, arn string) (elbv2state.TargetGroup, error) {
	return readRecord(ctx, e, elbv2state.ReadTargetGroup, arn)
}

// changeTargetGroup applies edit to the group arn names and writes it,
// guarded by what it read; it returns the group as written.
func (e *ELBv2) changeTargetGroup(ctx context.Context, arn string, edit func(tg *elbv2state.TargetGroup) error) (elbv2state.TargetGroup, error) {
	return changeRecord(ctx, e, elbv2state.ReadTargetGroup, func(tg elbv2state.TargetGroup) string {
		return elbv2state.TargetGroupKey(tg.Region, tg.Name)
	}, arn, edit)
}

func (e *ELBv2) describeTargetGroups(ctx context.Context, in *elbv2types.DescribeTargetGroupsInput) (*elbv2types.DescribeTargetGroupsOutput, error) {
	given := 0
	for _, set := range []bool{len(in.TargetGroupArns) > 0, len(in.Names) > 0, in.LoadBalancerArn != nil} {
		if set {
			given++
		}
	}
	if given > 1 {
		return nil, validation("Target group names, target group ARNs, and a load balancer ARN cannot be specified at the same time")
	}
	all, err := elbv2state.TargetGroups(ctx, e.store, region(ctx))
	if err != nil {
		return nil, err
	}
	var picked []elbv2state.TargetGroup
	switch {
	case len(in.TargetGroupArns) > 0:
		picked, err = pick(all, in.TargetGroupArns, func(tg elbv2state.TargetGroup) string { return tg.ARN }, elbv2state.ErrTargetGroupNotFound)
	case len(in.Names) > 0:
		picked, err = pick(all, in.Names, func(tg elbv2state.TargetGroup) string { return tg.Name }, elbv2state.ErrTargetGroupNotFound)
	case in.LoadBalancerArn != nil:
		var lb elbv2state.LoadBalancer
		if lb, err = e.readLoadBalancer(ctx, *in.LoadBalancerArn); err == nil {
			for _, tg := range all {
				if slices.Contains(tg.LoadBalancerARNs(), lb.ARN) {
					picked = append(picked, tg)
				}
			}
		}
	default:
		picked = all
	}
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(picked, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	out := &elbv2types.DescribeTargetGroupsOutput{TargetGroups: []elbv2types.TargetGroup{}, NextMarker: next}
	for _, tg := range page {
		out.TargetGroups = append(out.TargetGroups, toTargetGroup(tg))
	}
	return out, nil
}

func (e *ELBv2) modifyTargetGroup(ctx context.Context, in *elbv2types.ModifyTargetGroupInput) (*elbv2types.ModifyTargetGroupOutput, error) {
	tg, err := e.changeTargetGroup(ctx, awsapi.Deref(in.TargetGroupArn), func(tg *elbv2state.TargetGroup) error {
		return applyHealthCheck(&tg.HealthCheck, healthCheckInput{
			Enabled: in.HealthCheckEnabled, Protocol: in.HealthCheckProtocol, Port: in.HealthCheckPort, Path: in.HealthCheckPath,
			Interval: in.HealthCheckIntervalSeconds, Timeout: in.HealthCheckTimeoutSeconds,
			Healthy: in.HealthyThresholdCount, Unhealthy: in.UnhealthyThresholdCount, Matcher: in.Matcher,
		}, tg.TargetType, tg.ProtocolVersion, true)
	})
	if err != nil {
		return nil, err
	}
	return &elbv2types.ModifyTargetGroupOutput{TargetGroups: []elbv2types.TargetGroup{toTargetGroup(tg)}}, nil
}

func (e *ELBv2) deleteTargetGroup(ctx context.Context, in *elbv2types.DeleteTargetGroupInput) (*elbv2types.DeleteTargetGroupOutput, error) {
	rg, arn := region(ctx), awsapi.Deref(in.TargetGroupArn)
	err := elbv2state.Run(ctx, e.store, func(tx *elbv2state.Tx) error {
		tg, err := elbv2state.ReadTargetGroup(ctx, tx, rg, arn)
		if err != nil {
			return err
		}
		if tg.InUse() {
			return kindError(errResourceInUse, "Target group '%s' is currently in use by a listener or a rule", arn)
		}
		for _, prefix := range []string{elbv2state.GroupTargets(rg, tg.ID), elbv2state.GroupHealth(rg, tg.ID)} {
			kvs, _, err := e.store.List(ctx, prefix, store.ListOptions{})
			if err != nil {
				return err
			}
			for _, kv := range kvs {
				tx.Delete(kv.Key)
			}
		}
		tx.Delete(elbv2state.TargetGroupKey(rg, tg.Name))
		return nil
	})
	// As AWS: deleting a group that is gone succeeds.
	if err != nil && !errors.Is(err, elbv2state.ErrTargetGroupNotFound) {
		return nil, err
	}
	return &elbv2types.DeleteTargetGroupOutput{}, nil
}
