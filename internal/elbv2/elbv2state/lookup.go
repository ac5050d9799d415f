package elbv2state

import (
	"context"
	"errors"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/store"
)

// Errors of lookups and of the changes made here. ECS and the API answer
// them in their own words; a kind with a message (awsapi.WithMessage)
// carries ELBv2's sentence for it.
var (
	ErrLoadBalancerNotFound = errors.New("elbv2state: load balancer not found")
	ErrTargetGroupNotFound  = errors.New("elbv2state: target group not found")
	ErrListenerNotFound     = errors.New("elbv2state: listener not found")
	ErrRuleNotFound         = errors.New("elbv2state: rule not found")
	// ErrInvalidTarget: a target that is not one of berth's instances.
	ErrInvalidTarget = errors.New("elbv2state: invalid target")
	// ErrValidation: a malformed ARN, or a target the group cannot take.
	ErrValidation = errors.New("elbv2state: invalid request")
	// ErrNotRegistered: RecordHealth about a target the group no longer has.
	ErrNotRegistered = errors.New("elbv2state: target not registered")
)

func validation(format string, args ...any) error {
	return awsapi.WithMessage(ErrValidation, format, args...)
}

// refOf parses arn as an ARN of kind in region: ErrValidation (in AWS's
// words, noun naming the kind) when it is no such ARN at all, notFound when
// it names something berth cannot have (another region's, a network load
// balancer's).
func refOf(arn, kind, region, noun string, notFound error) (Ref, error) {
	if !strings.HasPrefix(arn, "arn:") || !strings.Contains(arn, ":"+kind+"/") {
		return Ref{}, validation("'%s' is not a valid %s ARN", arn, noun) // UNVERIFIED wording
	}
	r, ok := ParseARN(arn)
	if !ok || r.Kind != kind || r.Region != region {
		return Ref{}, notFound
	}
	return r, nil
}

// ReadLoadBalancer reads the load balancer arn names in region.
func ReadLoadBalancer(ctx context.Context, tx *Tx, region, arn string) (LoadBalancer, error) {
	r, err := refOf(arn, KindLoadBalancer, region, "load balancer", ErrLoadBalancerNotFound)
	if err != nil {
		return LoadBalancer{}, err
	}
	lb, found, err := Read[LoadBalancer](ctx, tx, LoadBalancerKey(region, r.Name))
	switch {
	case err != nil:
		return LoadBalancer{}, err
	case !found || lb.ARN != arn:
		return LoadBalancer{}, ErrLoadBalancerNotFound
	}
	return lb, nil
}

// ReadTargetGroup reads the target group arn names in region.
func ReadTargetGroup(ctx context.Context, tx *Tx, region, arn string) (TargetGroup, error) {
	r, err := refOf(arn, KindTargetGroup, region, "target group", ErrTargetGroupNotFound)
	if err != nil {
		return TargetGroup{}, err
	}
	tg, found, err := Read[TargetGroup](ctx, tx, TargetGroupKey(region, r.Name))
	switch {
	case err != nil:
		return TargetGroup{}, err
	case !found || tg.ARN != arn:
		return TargetGroup{}, ErrTargetGroupNotFound
	}
	return tg, nil
}

// ReadListener reads the listener arn names in region.
func ReadListener(ctx context.Context, tx *Tx, region, arn string) (Listener, error) {
	r, err := refOf(arn, KindListener, region, "listener", ErrListenerNotFound)
	if err != nil {
		return Listener{}, err
	}
	l, found, err := Read[Listener](ctx, tx, ListenerKey(region, r.ID, r.ListenerID))
	switch {
	case err != nil:
		return Listener{}, err
	case !found || l.ARN != arn:
		return Listener{}, ErrListenerNotFound
	}
	return l, nil
}

// ReadRule reads the rule arn names in region and its listener. The
// listener's default rule has no record of its own: for its ARN, rule is
// the zero Rule and isDefault is true.
func ReadRule(ctx context.Context, tx *Tx, region, arn string) (rule Rule, l Listener, isDefault bool, err error) {
	r, err := refOf(arn, KindRule, region, "listener rule", ErrRuleNotFound)
	if err != nil {
		return Rule{}, Listener{}, false, err
	}
	l, found, err := Read[Listener](ctx, tx, ListenerKey(region, r.ID, r.ListenerID))
	switch {
	case err != nil:
		return Rule{}, Listener{}, false, err
	case !found || l.ARN != r.ListenerARN():
		return Rule{}, Listener{}, false, ErrRuleNotFound
	case l.DefaultRuleID == r.RuleID:
		return Rule{}, l, true, nil
	}
	rule, found, err = Read[Rule](ctx, tx, RuleKey(region, r.ListenerID, r.RuleID))
	switch {
	case err != nil:
		return Rule{}, Listener{}, false, err
	case !found || rule.ARN != arn:
		return Rule{}, Listener{}, false, ErrRuleNotFound
	}
	return rule, l, false, nil
}

// TargetGroupByARN reads the target group arn names (in the region the ARN
// names), for ECS: its target type, VPC, port and protocol, whether a load
// balancer uses it (InUse, LoadBalancerARNs) and its deregistration delay.
func TargetGroupByARN(ctx context.Context, s store.Store, arn string) (TargetGroup, error) {
	var tg TargetGroup
	err := Run(ctx, s, func(tx *Tx) error {
		var err error
		tg, err = ReadTargetGroup(ctx, tx, awsapi.ARNRegion(arn, ""), arn)
		return err
	})
	return tg, err
}

// LoadBalancers lists the load balancers of region ("": of every region).
func LoadBalancers(ctx context.Context, s store.Store, region string) ([]LoadBalancer, error) {
	return listRegion[LoadBalancer](ctx, s, LoadBalancerPrefix, region)
}

// TargetGroups lists the target groups of region ("": of every region).
func TargetGroups(ctx context.Context, s store.Store, region string) ([]TargetGroup, error) {
	return listRegion[TargetGroup](ctx, s, TargetGroupPrefix, region)
}

func listRegion[T any](ctx context.Context, s store.Store, prefix, region string) ([]T, error) {
	if region != "" {
		prefix = RegionPrefix(prefix, region)
	}
	records, _, err := store.List[T](ctx, s, prefix, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]T, len(records))
	for i, r := range records {
		out[i] = r.Value
	}
	return out, nil
}

// Activate makes the load balancer arn names active: the data plane calls
// it once it serves the load balancer. An active one stays as it is.
func Activate(ctx context.Context, s store.Store, region, arn string) error {
	return Run(ctx, s, func(tx *Tx) error {
		lb, err := ReadLoadBalancer(ctx, tx, region, arn)
		if err != nil || lb.State == StateActive {
			return err
		}
		lb.State = StateActive
		return tx.Put(LoadBalancerKey(region, lb.Name), lb)
	})
}
