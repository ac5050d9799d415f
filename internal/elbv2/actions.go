package elbv2

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/elbv2/elbv2state"
	"github.com/berth/berth/internal/elbv2/elbv2types"
)

// Limits of forward actions.
const (
	maxForwardGroups    = 5
	maxWeight           = 999
	maxStickinessSecond = 604800
)

// listenerScope is what a rule's actions are checked against: its
// listener's protocol and port, which a redirect must change something of.
type listenerScope struct {
	protocol string
	port     int32
}

// parseActions checks the actions of a listener's default rule or of a
// rule and returns them as records, ordered. UNVERIFIED: the sentences of
// ELBv2's errors about actions follow its style where no capture of the
// real text was available. The target groups they forward to are checked
// against the load balancer by linkTargetGroups.
func parseActions(in []elbv2types.Action, scope listenerScope) ([]elbv2state.Action, error) {
	if len(in) == 0 {
		return nil, validation("An action must be specified")
	}
	ordered := 0
	for _, a := range in {
		if a.Order != nil {
			ordered++
		}
	}
	if ordered != 0 && ordered != len(in) {
		return nil, validation("Either all actions or none must specify an order")
	}
	out := make([]elbv2state.Action, 0, len(in))
	for i, a := range in {
		act, err := parseAction(a, scope)
		if err != nil {
			return nil, err
		}
		act.Order = int32(i + 1)
		if a.Order != nil {
			act.Order = *a.Order
		}
		if slices.ContainsFunc(out, func(o elbv2state.Action) bool { return o.Order == act.Order }) {
			return nil, validation("Action order '%d' is specified more than once", act.Order)
		}
		out = append(out, act)
	}
	// berth serves no authentication actions, so the one terminal action
	// is the only one.
	if len(out) > 1 {
		return nil, kindError(errInvalidAction, "Only one action of type 'forward', 'redirect' or 'fixed-response' can be specified, and it must be the last action")
	}
	return out, nil
}

func parseAction(a elbv2types.Action, scope listenerScope) (elbv2state.Action, error) {
	typ := awsapi.Deref(a.Type)
	act := elbv2state.Action{Type: typ}
	switch typ {
	case elbv2types.ActionTypeEnumAuthenticateOidc, elbv2types.ActionTypeEnumAuthenticateCognito, elbv2types.ActionTypeEnumJwtValidation:
		return act, unsupported(typ + " actions")
	}
	for _, c := range []struct {
		kind string
		set  bool
	}{
		{elbv2state.ActionForward, a.ForwardConfig != nil || a.TargetGroupArn != nil},
		{elbv2state.ActionRedirect, a.RedirectConfig != nil},
		{elbv2state.ActionFixedResponse, a.FixedResponseConfig != nil},
		{"authentication", a.AuthenticateOidcConfig != nil || a.AuthenticateCognitoConfig != nil || a.JwtValidationConfig != nil},
	} {
		if c.set && c.kind != typ {
			return act, validation("A %s configuration cannot be specified for an action of type '%s'", c.kind, typ)
		}
	}
	var err error
	switch typ {
	case elbv2state.ActionForward:
		act.Forward, err = parseForward(a)
		if len(act.Forward.TargetGroups) == 1 {
			act.TargetGroupARN = act.Forward.TargetGroups[0].ARN
		}
	case elbv2state.ActionRedirect:
		act.Redirect, err = parseRedirect(a.RedirectConfig, scope)
	case elbv2state.ActionFixedResponse:
		act.FixedResponse, err = parseFixedResponse(a.FixedResponseConfig)
	}
	return act, err
}

func parseForward(a elbv2types.Action) (*elbv2state.Forward, error) {
	f := &elbv2state.Forward{}
	if a.ForwardConfig == nil {
		if awsapi.Deref(a.TargetGroupArn) == "" {
			return f, validation("A target group ARN must be specified for an action of type 'forward'")
		}
		f.TargetGroups = []elbv2state.WeightedTargetGroup{{ARN: *a.TargetGroupArn, Weight: 1}}
		return f, nil
	}
	cfg := a.ForwardConfig
	switch n := len(cfg.TargetGroups); {
	case n == 0:
		return f, validation("A forward configuration must specify at least one target group")
	case n > maxForwardGroups:
		return f, validation("A forward action can have at most '%d' target groups", maxForwardGroups)
	}
	for _, g := range cfg.TargetGroups {
		arn := awsapi.Deref(g.TargetGroupArn)
		if arn == "" {
			return f, validation("A target group ARN must be specified for each target group of a forward configuration")
		}
		weight := int32(1)
		if g.Weight != nil {
			weight = *g.Weight
		}
		if weight < 0 || weight > maxWeight {
			return f, validation("The weight of target group '%s' must be from 0 to %d", arn, maxWeight)
		}
		if slices.ContainsFunc(f.TargetGroups, func(w elbv2state.WeightedTargetGroup) bool { return w.ARN == arn }) {
			return f, validation("Target group '%s' is specified more than once in a forward configuration", arn)
		}
		f.TargetGroups = append(f.TargetGroups, elbv2state.WeightedTargetGroup{ARN: arn, Weight: weight})
	}
	if arn := awsapi.Deref(a.TargetGroupArn); arn != "" && (len(f.TargetGroups) != 1 || f.TargetGroups[0].ARN != arn) {
		return f, validation("A target group ARN and a forward configuration can be specified together only for the same single target group")
	}
	if s := cfg.TargetGroupStickinessConfig; s != nil && awsapi.Deref(s.Enabled) {
		d := awsapi.Deref(s.DurationSeconds)
		if d < 1 || d > maxStickinessSecond {
			return f, validation("The target group stickiness duration must be from 1 to %d seconds", maxStickinessSecond)
		}
		f.Stickiness, f.StickinessSeconds = true, d
	}
	return f, nil
}

// Redirect placeholders: a redirect part that is its placeholder keeps the
// request's.
const (
	keepProtocol = "#{protocol}"
	keepPort     = "#{port}"
	keepHost     = "#{host}"
	keepPath     = "/#{path}"
	keepQuery    = "#{query}"
)

func parseRedirect(cfg *elbv2types.RedirectActionConfig, scope listenerScope) (*elbv2state.Redirect, error) {
	if cfg == nil {
		return nil, validation("A redirect configuration must be specified for an action of type 'redirect'")
	}
	r := &elbv2state.Redirect{
		Protocol: orDefault(cfg.Protocol, keepProtocol), Port: orDefault(cfg.Port, keepPort),
		Host: orDefault(cfg.Host, keepHost), Path: orDefault(cfg.Path, keepPath),
		Query: orDefault(cfg.Query, keepQuery), StatusCode: awsapi.Deref(cfg.StatusCode),
	}
	if r.Port != keepPort {
		if n, err := strconv.Atoi(r.Port); err != nil || n < 1 || n > 65535 {
			return nil, kindError(errInvalidAction, "The redirect port '%s' must be '#{port}' or a number from 1 to 65535", r.Port)
		}
	}
	if !strings.HasPrefix(r.Path, "/") {
		return nil, kindError(errInvalidAction, "The redirect path '%s' must begin with '/'", r.Path)
	}
	if scope.protocol == elbv2types.ProtocolEnumHttps && r.Protocol == elbv2types.ProtocolEnumHttp {
		return nil, kindError(errInvalidAction, "A redirect from HTTPS to HTTP is not allowed")
	}
	samePort := r.Port == keepPort || r.Port == strconv.Itoa(int(scope.port))
	sameProtocol := r.Protocol == keepProtocol || r.Protocol == scope.protocol
	if samePort && sameProtocol && r.Host == keepHost && r.Path == keepPath && r.Query == keepQuery {
		return nil, kindError(errInvalidAction, "The redirect must change at least one of the following components to avoid a loop: protocol, port, host, path or query")
	}
	return r, nil
}

func orDefault(v *string, def string) string {
	if s := awsapi.Deref(v); s != "" {
		return s
	}
	return def
}

// fixedResponseTypes are the content types a fixed response may have.
var fixedResponseTypes = []string{"text/plain", "text/css", "text/html", "application/javascript", "application/json"}

func parseFixedResponse(cfg *elbv2types.FixedResponseActionConfig) (*elbv2state.FixedResponse, error) {
	if cfg == nil {
		return nil, validation("A fixed response configuration must be specified for an action of type 'fixed-response'")
	}
	ct := awsapi.Deref(cfg.ContentType)
	if ct != "" && !slices.Contains(fixedResponseTypes, ct) {
		return nil, kindError(errInvalidAction, "The ContentType must be one of:'text/html', 'application/json', 'application/javascript', 'text/css', 'text/plain'")
	}
	return &elbv2state.FixedResponse{StatusCode: awsapi.Deref(cfg.StatusCode), ContentType: ct, MessageBody: awsapi.Deref(cfg.MessageBody)}, nil
}

// targetGroupsOf are the groups actions forward to, each once.
func targetGroupsOf(actions []elbv2state.Action) []string {
	var out []string
	for _, a := range actions {
		for _, arn := range a.TargetGroupARNs() {
			if !slices.Contains(out, arn) {
				out = append(out, arn)
			}
		}
	}
	return out
}

// linkTargetGroups records in the target groups that the listener or rule
// user forwards to after instead of before: each group newly forwarded to
// must exist, be in the load balancer's VPC and not be another load
// balancer's; those it no longer forwards to forget it.
func linkTargetGroups(ctx context.Context, tx *elbv2state.Tx, lb elbv2state.LoadBalancer, user string, before, after []string) error {
	var taken []string
	for _, arn := range after {
		if slices.Contains(before, arn) {
			continue
		}
		tg, err := elbv2state.ReadTargetGroup(ctx, tx, lb.Region, arn)
		if errors.Is(err, elbv2state.ErrTargetGroupNotFound) {
			return awsapi.WithMessage(elbv2state.ErrTargetGroupNotFound, "Target group '%s' not found", arn)
		}
		if err != nil {
			return err
		}
		if tg.VPCID != lb.VPCID {
			// UNVERIFIED wording.
			return kindError(errInvalidConfiguration, "Target group '%s' is not in the same VPC as load balancer '%s'", arn, lb.ARN)
		}
		if slices.ContainsFunc(tg.LoadBalancerARNs(), func(other string) bool { return other != lb.ARN }) {
			taken = append(taken, arn)
			continue
		}
		tg.UsedBy = append(tg.UsedBy, user)
		slices.Sort(tg.UsedBy)
		if err := tx.Put(elbv2state.TargetGroupKey(tg.Region, tg.Name), tg); err != nil {
			return err
		}
	}
	if len(taken) > 0 {
		return kindError(errTargetGroupAssociationLimit, "The following target groups cannot be associated with more than one load balancer: %s", strings.Join(taken, ", "))
	}
	var gone []string
	for _, arn := range before {
		if !slices.Contains(after, arn) {
			gone = append(gone, arn)
		}
	}
	return unlinkTargetGroups(ctx, tx, lb.Region, user, gone)
}

// unlinkTargetGroups makes the target groups arns name forget that the
// listener or rule user forwards to them.
func unlinkTargetGroups(ctx context.Context, tx *elbv2state.Tx, region, user string, arns []string) error {
	for _, arn := range arns {
		tg, err := elbv2state.ReadTargetGroup(ctx, tx, region, arn)
		if errors.Is(err, elbv2state.ErrTargetGroupNotFound) {
			continue // a group in use is never deleted; nothing to forget
		}
		if err != nil {
			return err
		}
		tg.UsedBy = slices.DeleteFunc(tg.UsedBy, func(u string) bool { return u == user })
		if err := tx.Put(elbv2state.TargetGroupKey(tg.Region, tg.Name), tg); err != nil {
			return err
		}
	}
	return nil
}
