package elbv2

import (
	"cmp"
	"context"
	"slices"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/elbv2/elbv2state"
	"github.com/berth/berth/internal/elbv2/elbv2types"
)

func priorityInUse(p int32) error {
	return kindError(errPriorityInUse, "Priority '%d' is currently in use", p)
}

func (e *ELBv2) createRule(ctx context.Context, in *elbv2types.CreateRuleInput) (*elbv2types.CreateRuleOutput, error) {
	if len(in.Transforms) > 0 {
		return nil, unsupported("rule transforms")
	}
	conds, err := parseConditions(in.Conditions)
	if err != nil {
		return nil, err
	}
	tags, err := checkTags(in.Tags)
	if err != nil {
		return nil, err
	}
	rg, priority := region(ctx), awsapi.Deref(in.Priority)
	var out elbv2state.Rule
	err = elbv2state.Run(ctx, e.store, func(tx *elbv2state.Tx) error {
		l, err := elbv2state.ReadListener(ctx, tx, rg, awsapi.Deref(in.ListenerArn))
		if err != nil {
			return err
		}
		lb, err := elbv2state.ReadLoadBalancer(ctx, tx, rg, l.LoadBalancerARN)
		if err != nil {
			return err
		}
		actions, err := parseActions(in.Actions, listenerScope{protocol: l.Protocol, port: l.Port})
		if err != nil {
			return err
		}
		rules, err := elbv2state.ReadAll[elbv2state.Rule](ctx, tx, elbv2state.ListenerRules(rg, l.ID))
		if err != nil {
			return err
		}
		if slices.ContainsFunc(rules, func(r elbv2state.Rule) bool { return r.Priority == priority }) {
			return priorityInUse(priority)
		}
		id := elbv2state.NewID()
		r := elbv2state.Rule{
			Region: rg, ID: id, ARN: elbv2state.RuleARN(l.Ref(), id), ListenerID: l.ID, ListenerARN: l.ARN,
			LoadBalancerARN: lb.ARN, Priority: priority, Conditions: conds, Actions: actions, Tags: tags, Created: e.now().UTC(),
		}
		if err := linkTargetGroups(ctx, tx, lb, r.ARN, nil, targetGroupsOf(actions)); err != nil {
			return err
		}
		out = r
		if err := tx.Put(elbv2state.RuleKey(rg, l.ID, id), r); err != nil {
			return err
		}
		// The listener's deletion compares its record, and so does a rule
		// made at once with another of the same priority.
		return tx.Put(elbv2state.ListenerKey(rg, l.LoadBalancerID, l.ID), l)
	})
	if err != nil {
		return nil, err
	}
	return &elbv2types.CreateRuleOutput{Rules: []elbv2types.Rule{toRule(out)}}, nil
}

func (e *ELBv2) describeRules(ctx context.Context, in *elbv2types.DescribeRulesInput) (*elbv2types.DescribeRulesOutput, error) {
	switch {
	case in.ListenerArn == nil && len(in.RuleArns) == 0:
		return nil, validation("You must specify either listener rule ARNs or a listener ARN")
	case in.ListenerArn != nil && len(in.RuleArns) > 0:
		return nil, validation("Listener rule ARNs and a listener ARN cannot be specified at the same time")
	}
	rg := region(ctx)
	var picked []elbv2types.Rule
	err := elbv2state.Run(ctx, e.store, func(tx *elbv2state.Tx) error {
		picked = nil
		if in.ListenerArn != nil {
			l, err := elbv2state.ReadListener(ctx, tx, rg, *in.ListenerArn)
			if err != nil {
				return err
			}
			rules, err := elbv2state.ReadAll[elbv2state.Rule](ctx, tx, elbv2state.ListenerRules(rg, l.ID))
			if err != nil {
				return err
			}
			slices.SortFunc(rules, func(a, b elbv2state.Rule) int { return cmp.Compare(a.Priority, b.Priority) })
			for _, r := range rules {
				picked = append(picked, toRule(r))
			}
			picked = append(picked, toDefaultRule(l))
			return nil
		}
		var seen []string
		for _, arn := range in.RuleArns {
			if slices.Contains(seen, arn) {
				continue
			}
			seen = append(seen, arn)
			r, l, isDefault, err := elbv2state.ReadRule(ctx, tx, rg, arn)
			switch {
			case err != nil:
				return err
			case isDefault:
				picked = append(picked, toDefaultRule(l))
			default:
				picked = append(picked, toRule(r))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(picked, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	return &elbv2types.DescribeRulesOutput{Rules: append([]elbv2types.Rule{}, page...), NextMarker: next}, nil
}

func (e *ELBv2) modifyRule(ctx context.Context, in *elbv2types.ModifyRuleInput) (*elbv2types.ModifyRuleOutput, error) {
	if len(in.Transforms) > 0 {
		return nil, unsupported("rule transforms")
	}
	if in.Conditions == nil && in.Actions == nil {
		return nil, validation("Either conditions or actions must be specified") // UNVERIFIED wording
	}
	var conds []elbv2state.Condition
	if in.Conditions != nil {
		var err error
		if conds, err = parseConditions(in.Conditions); err != nil {
			return nil, err
		}
	}
	rg, arn := region(ctx), awsapi.Deref(in.RuleArn)
	var out elbv2types.Rule
	err := elbv2state.Run(ctx, e.store, func(tx *elbv2state.Tx) error {
		r, l, isDefault, err := elbv2state.ReadRule(ctx, tx, rg, arn)
		if err != nil {
			return err
		}
		lb, err := elbv2state.ReadLoadBalancer(ctx, tx, rg, l.LoadBalancerARN)
		if err != nil {
			return err
		}
		var actions []elbv2state.Action
		if in.Actions != nil {
			if actions, err = parseActions(in.Actions, listenerScope{protocol: l.Protocol, port: l.Port}); err != nil {
				return err
			}
		}
		if isDefault {
			if in.Conditions != nil {
				return kindError(errOperationNotPermitted, "The default rule '%s' cannot have conditions", arn) // UNVERIFIED wording
			}
			if err := linkTargetGroups(ctx, tx, lb, l.ARN, targetGroupsOf(l.DefaultActions), targetGroupsOf(actions)); err != nil {
				return err
			}
			l.DefaultActions = actions
			out = toDefaultRule(l)
			return tx.Put(elbv2state.ListenerKey(rg, l.LoadBalancerID, l.ID), l)
		}
		if in.Conditions != nil {
			r.Conditions = conds
		}
		if in.Actions != nil {
			if err := linkTargetGroups(ctx, tx, lb, r.ARN, targetGroupsOf(r.Actions), targetGroupsOf(actions)); err != nil {
				return err
			}
			r.Actions = actions
		}
		out = toRule(r)
		return tx.Put(elbv2state.RuleKey(rg, l.ID, r.ID), r)
	})
	if err != nil {
		return nil, err
	}
	return &elbv2types.ModifyRuleOutput{Rules: []elbv2types.Rule{out}}, nil
}

func (e *ELBv2) deleteRule(ctx context.Context, in *elbv2types.DeleteRuleInput) (*elbv2types.DeleteRuleOutput, error) {
	rg, arn := region(ctx), awsapi.Deref(in.RuleArn)
	err := elbv2state.Run(ctx, e.store, func(tx *elbv2state.Tx) error {
		r, l, isDefault, err := elbv2state.ReadRule(ctx, tx, rg, arn)
		if err != nil {
			return err
		}
		if isDefault {
			return kindError(errOperationNotPermitted, "Default rule '%s' cannot be deleted", arn) // UNVERIFIED wording
		}
		if err := unlinkTargetGroups(ctx, tx, rg, r.ARN, targetGroupsOf(r.Actions)); err != nil {
			return err
		}
		tx.Delete(elbv2state.RuleKey(rg, l.ID, r.ID))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &elbv2types.DeleteRuleOutput{}, nil
}

func (e *ELBv2) setRulePriorities(ctx context.Context, in *elbv2types.SetRulePrioritiesInput) (*elbv2types.SetRulePrioritiesOutput, error) {
	for i, p := range in.RulePriorities {
		for _, q := range in.RulePriorities[:i] {
			if awsapi.Deref(p.RuleArn) == awsapi.Deref(q.RuleArn) {
				return nil, validation("Rule '%s' was provided multiple times", awsapi.Deref(p.RuleArn)) // UNVERIFIED wording
			}
			if awsapi.Deref(p.Priority) == awsapi.Deref(q.Priority) {
				return nil, validation("Priority '%d' was provided multiple times", awsapi.Deref(p.Priority))
			}
		}
	}
	rg := region(ctx)
	var out []elbv2state.Rule
	err := elbv2state.Run(ctx, e.store, func(tx *elbv2state.Tx) error {
		out = nil
		moved := map[string]int32{} // rule ARN -> new priority
		listeners := map[string]elbv2state.Listener{}
		for _, p := range in.RulePriorities {
			arn := awsapi.Deref(p.RuleArn)
			r, l, isDefault, err := elbv2state.ReadRule(ctx, tx, rg, arn)
			if err != nil {
				return err
			}
			if isDefault {
				return kindError(errOperationNotPermitted, "The priority of the default rule '%s' cannot be changed", arn) // UNVERIFIED wording
			}
			moved[r.ARN] = awsapi.Deref(p.Priority)
			listeners[l.ID] = l
			r.Priority = moved[r.ARN]
			out = append(out, r)
		}
		for _, l := range listeners {
			rules, err := elbv2state.ReadAll[elbv2state.Rule](ctx, tx, elbv2state.ListenerRules(rg, l.ID))
			if err != nil {
				return err
			}
			for _, r := range rules {
				if _, ok := moved[r.ARN]; ok {
					continue
				}
				for _, m := range out {
					if m.ListenerID == l.ID && m.Priority == r.Priority {
						return priorityInUse(r.Priority)
					}
				}
			}
			if err := tx.Put(elbv2state.ListenerKey(rg, l.LoadBalancerID, l.ID), l); err != nil {
				return err
			}
		}
		for _, r := range out {
			if err := tx.Put(elbv2state.RuleKey(rg, r.ListenerID, r.ID), r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	res := &elbv2types.SetRulePrioritiesOutput{Rules: []elbv2types.Rule{}}
	for _, r := range out {
		res.Rules = append(res.Rules, toRule(r))
	}
	return res, nil
}
