package ssm

import (
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ssm/ssmstate"
	"github.com/berth/berth/internal/ssm/ssmtypes"
)

// resourceTypeParameter is the one resource type of the tagging calls
// berth has resources of.
const resourceTypeParameter = "Parameter"

// taggedParameter returns the parameter a tagging call names by its name
// or ARN. Any other resource, of a type berth has none of, or a parameter
// that does not exist, is an invalid resource id.
func (s *service) taggedParameter(ctx context.Context, resourceType, resourceID *string) (ssmstate.Parameter, error) {
	if awsapi.Deref(resourceType) != resourceTypeParameter {
		return ssmstate.Parameter{}, errInvalidResourceID
	}
	r, err := s.parseRef(region(ctx), awsapi.Deref(resourceID))
	if err != nil || r.selector != "" || r.region != region(ctx) {
		return ssmstate.Parameter{}, errInvalidResourceID
	}
	cur, err := s.head(ctx, r)
	if errors.Is(err, ErrParameterNotFound) || errors.Is(err, ErrInvalidName) {
		return ssmstate.Parameter{}, errInvalidResourceID
	}
	return cur.Value, err
}

// updateTags changes a tagged parameter's tags.
func (s *service) updateTags(ctx context.Context, resourceType, resourceID *string, change func(map[string]string) (map[string]string, error)) error {
	p, err := s.taggedParameter(ctx, resourceType, resourceID)
	if err != nil {
		return err
	}
	err = s.updateParameter(ctx, p.ID(), func(p *ssmstate.Parameter) error {
		tags, err := change(maps.Clone(p.Tags))
		p.Tags = tags
		return err
	})
	if errors.Is(err, ErrParameterNotFound) {
		return errInvalidResourceID
	}
	return err
}

func (s *service) addTagsToResource(ctx context.Context, in *ssmtypes.AddTagsToResourceRequest) (*ssmtypes.AddTagsToResourceResult, error) {
	add := tagMap(in.Tags)
	err := s.updateTags(ctx, in.ResourceType, in.ResourceId, func(tags map[string]string) (map[string]string, error) {
		return withTags(tags, add)
	})
	if err != nil {
		return nil, err
	}
	return &ssmtypes.AddTagsToResourceResult{}, nil
}

func (s *service) removeTagsFromResource(ctx context.Context, in *ssmtypes.RemoveTagsFromResourceRequest) (*ssmtypes.RemoveTagsFromResourceResult, error) {
	err := s.updateTags(ctx, in.ResourceType, in.ResourceId, func(tags map[string]string) (map[string]string, error) {
		for _, k := range in.TagKeys {
			delete(tags, k)
		}
		return tags, nil
	})
	if err != nil {
		return nil, err
	}
	return &ssmtypes.RemoveTagsFromResourceResult{}, nil
}

func (s *service) listTagsForResource(ctx context.Context, in *ssmtypes.ListTagsForResourceRequest) (*ssmtypes.ListTagsForResourceResult, error) {
	p, err := s.taggedParameter(ctx, in.ResourceType, in.ResourceId)
	if err != nil {
		return nil, err
	}
	out := &ssmtypes.ListTagsForResourceResult{TagList: []ssmtypes.Tag{}}
	for _, k := range slices.Sorted(maps.Keys(p.Tags)) {
		out.TagList = append(out.TagList, ssmtypes.Tag{Key: awsapi.String(k), Value: awsapi.String(p.Tags[k])})
	}
	return out, nil
}

func tagMap(tags []ssmtypes.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[awsapi.Deref(t.Key)] = awsapi.Deref(t.Value)
	}
	return m
}

// withTags returns tags with add merged in, or errTooManyTags.
func withTags(tags, add map[string]string) (map[string]string, error) {
	merged := maps.Clone(tags)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, add)
	if len(merged) > maxTags {
		return nil, errTooManyTags
	}
	return merged, nil
}
