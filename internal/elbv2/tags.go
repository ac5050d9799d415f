package elbv2

import (
	"context"
	"slices"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/elbv2/elbv2state"
	"github.com/berth/berth/internal/elbv2/elbv2types"
)

// Limits of tags.
const (
	maxTags         = 50
	maxTagResources = 20
)

// checkTags checks the tags a request gives a resource and returns them
// as records: keys once each, none reserved, at most maxTags.
// UNVERIFIED: the sentences follow ELBv2's style where no capture of the
// real text was available.
func checkTags(in []elbv2types.Tag) ([]elbv2state.Tag, error) {
	if len(in) > maxTags {
		return nil, tooManyTags()
	}
	out := make([]elbv2state.Tag, 0, len(in))
	for _, t := range in {
		key := awsapi.Deref(t.Key)
		if strings.HasPrefix(strings.ToLower(key), "aws:") {
			return nil, validation("Tag keys starting with 'aws:' are reserved for internal use")
		}
		if slices.ContainsFunc(out, func(o elbv2state.Tag) bool { return o.Key == key }) {
			return nil, kindError(errDuplicateTagKeys, "Tag key was specified more than once: %s", key)
		}
		out = append(out, elbv2state.Tag{Key: key, Value: awsapi.Deref(t.Value)})
	}
	return out, nil
}

func tooManyTags() error {
	return kindError(errTooManyTags, "The quota for the number of tags that can be assigned to a resource has been reached") // UNVERIFIED wording
}

// taggable is a resource a tag call names: its tags, and how to write
// them back in the call's round.
type taggable struct {
	tags  []elbv2state.Tag
	write func(tags []elbv2state.Tag) error
}

// readTaggable reads the load balancer, target group, listener or rule arn
// names in region.
func readTaggable(ctx context.Context, tx *elbv2state.Tx, region, arn string) (taggable, error) {
	switch {
	case strings.Contains(arn, ":"+elbv2state.KindLoadBalancer+"/"):
		lb, err := elbv2state.ReadLoadBalancer(ctx, tx, region, arn)
		return taggable{lb.Tags, func(tags []elbv2state.Tag) error {
			lb.Tags = tags
			return tx.Put(elbv2state.LoadBalancerKey(region, lb.Name), lb)
		}}, err
	case strings.Contains(arn, ":"+elbv2state.KindTargetGroup+"/"):
		tg, err := elbv2state.ReadTargetGroup(ctx, tx, region, arn)
		return taggable{tg.Tags, func(tags []elbv2state.Tag) error {
			tg.Tags = tags
			return tx.Put(elbv2state.TargetGroupKey(region, tg.Name), tg)
		}}, err
	case strings.Contains(arn, ":"+elbv2state.KindRule+"/"):
		r, l, isDefault, err := elbv2state.ReadRule(ctx, tx, region, arn)
		if isDefault {
			return taggable{l.DefaultRuleTags, func(tags []elbv2state.Tag) error {
				l.DefaultRuleTags = tags
				return tx.Put(elbv2state.ListenerKey(region, l.LoadBalancerID, l.ID), l)
			}}, err
		}
		return taggable{r.Tags, func(tags []elbv2state.Tag) error {
			r.Tags = tags
			return tx.Put(elbv2state.RuleKey(region, r.ListenerID, r.ID), r)
		}}, err
	case strings.Contains(arn, ":"+elbv2state.KindListener+"/"):
		l, err := elbv2state.ReadListener(ctx, tx, region, arn)
		return taggable{l.Tags, func(tags []elbv2state.Tag) error {
			l.Tags = tags
			return tx.Put(elbv2state.ListenerKey(region, l.LoadBalancerID, l.ID), l)
		}}, err
	}
	return taggable{}, validation("'%s' is not a valid resource ARN", arn) // UNVERIFIED wording
}

func checkResourceCount(arns []string) error {
	if len(arns) > maxTagResources {
		return validation("A maximum of '%d' resource ARNs can be specified", maxTagResources) // UNVERIFIED wording
	}
	return nil
}

func (e *ELBv2) addTags(ctx context.Context, in *elbv2types.AddTagsInput) (*elbv2types.AddTagsOutput, error) {
	if err := checkResourceCount(in.ResourceArns); err != nil {
		return nil, err
	}
	add, err := checkTags(in.Tags)
	if err != nil {
		return nil, err
	}
	err = elbv2state.Run(ctx, e.store, func(tx *elbv2state.Tx) error {
		for _, arn := range in.ResourceArns {
			res, err := readTaggable(ctx, tx, region(ctx), arn)
			if err != nil {
				return err
			}
			tags := slices.Clone(res.tags)
			for _, t := range add {
				if i := slices.IndexFunc(tags, func(o elbv2state.Tag) bool { return o.Key == t.Key }); i >= 0 {
					tags[i] = t
				} else {
					tags = append(tags, t)
				}
			}
			if len(tags) > maxTags {
				return tooManyTags()
			}
			if err := res.write(tags); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &elbv2types.AddTagsOutput{}, nil
}

func (e *ELBv2) removeTags(ctx context.Context, in *elbv2types.RemoveTagsInput) (*elbv2types.RemoveTagsOutput, error) {
	if err := checkResourceCount(in.ResourceArns); err != nil {
		return nil, err
	}
	err := elbv2state.Run(ctx, e.store, func(tx *elbv2state.Tx) error {
		for _, arn := range in.ResourceArns {
			res, err := readTaggable(ctx, tx, region(ctx), arn)
			if err != nil {
				return err
			}
			tags := slices.DeleteFunc(slices.Clone(res.tags), func(t elbv2state.Tag) bool { return slices.Contains(in.TagKeys, t.Key) })
			if len(tags) == len(res.tags) {
				continue
			}
			if err := res.write(tags); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &elbv2types.RemoveTagsOutput{}, nil
}

func (e *ELBv2) describeTags(ctx context.Context, in *elbv2types.DescribeTagsInput) (*elbv2types.DescribeTagsOutput, error) {
	if err := checkResourceCount(in.ResourceArns); err != nil {
		return nil, err
	}
	out := &elbv2types.DescribeTagsOutput{}
	err := elbv2state.Run(ctx, e.store, func(tx *elbv2state.Tx) error {
		out.TagDescriptions = []elbv2types.TagDescription{}
		for _, arn := range in.ResourceArns {
			res, err := readTaggable(ctx, tx, region(ctx), arn)
			if err != nil {
				return err
			}
			out.TagDescriptions = append(out.TagDescriptions, elbv2types.TagDescription{ResourceArn: awsapi.String(arn), Tags: toTags(res.tags)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// accountLimits are ELBv2's quotas for application load balancers, as
// DescribeAccountLimits shows them; berth enforces those of rules'
// conditions and of forward actions.
var accountLimits = []elbv2types.Limit{
	{Name: awsapi.String("application-load-balancers"), Max: awsapi.String("50")},
	{Name: awsapi.String("target-groups"), Max: awsapi.String("3000")},
	{Name: awsapi.String("targets-per-application-load-balancer"), Max: awsapi.String("1000")},
	{Name: awsapi.String("listeners-per-application-load-balancer"), Max: awsapi.String("50")},
	{Name: awsapi.String("rules-per-application-load-balancer"), Max: awsapi.String("100")},
	{Name: awsapi.String("condition-values-per-alb-rule"), Max: awsapi.String("5")},
	{Name: awsapi.String("condition-wildcards-per-alb-rule"), Max: awsapi.String("5")},
	{Name: awsapi.String("target-groups-per-application-load-balancer"), Max: awsapi.String("100")},
	{Name: awsapi.String("target-groups-per-action-on-application-load-balancer"), Max: awsapi.String("5")},
	{Name: awsapi.String("certificates-per-application-load-balancer"), Max: awsapi.String("25")},
	{Name: awsapi.String("targets-per-target-group"), Max: awsapi.String("1000")},
	{Name: awsapi.String("target-id-registrations-per-application-load-balancer"), Max: awsapi.String("1000")},
}

func (e *ELBv2) describeAccountLimits(_ context.Context, in *elbv2types.DescribeAccountLimitsInput) (*elbv2types.DescribeAccountLimitsOutput, error) {
	page, next, err := paginate(accountLimits, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	return &elbv2types.DescribeAccountLimitsOutput{Limits: page, NextMarker: next}, nil
}
