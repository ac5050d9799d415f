package servicediscovery

import (
	"context"
	"errors"
	"slices"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/servicediscovery/sdstate"
	"github.com/berth/berth/internal/servicediscovery/sdtypes"
	"github.com/berth/berth/internal/store"
)

// maxTags is how many tags a resource may have.
const maxTags = 50

func tagsOf(in []sdtypes.Tag) []sdstate.Tag {
	var out []sdstate.Tag
	for _, t := range in {
		out = setTag(out, awsapi.Deref(t.Key), awsapi.Deref(t.Value))
	}
	return out
}

func setTag(tags []sdstate.Tag, key, value string) []sdstate.Tag {
	if i := slices.IndexFunc(tags, func(t sdstate.Tag) bool { return t.Key == key }); i >= 0 {
		tags[i].Value = value
		return tags
	}
	return append(tags, sdstate.Tag{Key: key, Value: value})
}

func checkTags(tags []sdstate.Tag) error {
	if len(tags) > maxTags {
		// UNVERIFIED wording.
		return awsapi.WithMessage(errTooManyTags, "A resource can have at most %d tags.", maxTags)
	}
	return nil
}

func tagShapes(tags []sdstate.Tag) []sdtypes.Tag {
	out := make([]sdtypes.Tag, len(tags))
	for i, t := range tags {
		out[i] = sdtypes.Tag{Key: awsapi.String(t.Key), Value: awsapi.String(t.Value)}
	}
	return out
}

// resourceKey is the key of the namespace or service arn names.
func resourceKey(ctx context.Context, arn string) (string, error) {
	r, _, kind, id, ok := sdstate.ParseARN(arn)
	if ok && r == region(ctx) {
		switch kind {
		case "namespace":
			return sdstate.NamespaceKey(r, id), nil
		case "service":
			return sdstate.ServiceKey(r, id), nil
		}
	}
	return "", awsapi.WithMessage(errResourceNotFound, "Resource not found: %s", arn) // UNVERIFIED wording
}

// editTags changes the tags of the namespace or service arn names.
func (c *CloudMap) editTags(ctx context.Context, arn string, edit func([]sdstate.Tag) ([]sdstate.Tag, error)) ([]sdstate.Tag, error) {
	key, err := resourceKey(ctx, arn)
	if err != nil {
		return nil, err
	}
	notFound := awsapi.WithMessage(errResourceNotFound, "Resource not found: %s", arn) // UNVERIFIED wording
	var out []sdstate.Tag
	if _, _, kind, _, _ := sdstate.ParseARN(arn); kind == "namespace" {
		_, err = store.Update(ctx, c.store, key, func(ns *sdstate.Namespace, found bool) error {
			if !found || ns.ARN != arn {
				return notFound
			}
			ns.Tags, err = edit(ns.Tags)
			out = ns.Tags
			return err
		})
	} else {
		_, err = store.Update(ctx, c.store, key, func(s *sdstate.Service, found bool) error {
			if !found || s.ARN != arn {
				return notFound
			}
			s.Tags, err = edit(s.Tags)
			out = s.Tags
			return err
		})
	}
	if errors.Is(err, store.ErrUnchanged) {
		err = nil
	}
	return out, err
}

func (c *CloudMap) tagResource(ctx context.Context, in *sdtypes.TagResourceRequest) (*sdtypes.TagResourceResponse, error) {
	_, err := c.editTags(ctx, awsapi.Deref(in.ResourceARN), func(tags []sdstate.Tag) ([]sdstate.Tag, error) {
		tags = slices.Clone(tags)
		for _, t := range in.Tags {
			tags = setTag(tags, awsapi.Deref(t.Key), awsapi.Deref(t.Value))
		}
		return tags, checkTags(tags)
	})
	if err != nil {
		return nil, err
	}
	return &sdtypes.TagResourceResponse{}, nil
}

func (c *CloudMap) untagResource(ctx context.Context, in *sdtypes.UntagResourceRequest) (*sdtypes.UntagResourceResponse, error) {
	_, err := c.editTags(ctx, awsapi.Deref(in.ResourceARN), func(tags []sdstate.Tag) ([]sdstate.Tag, error) {
		return slices.DeleteFunc(slices.Clone(tags), func(t sdstate.Tag) bool { return slices.Contains(in.TagKeys, t.Key) }), nil
	})
	if err != nil {
		return nil, err
	}
	return &sdtypes.UntagResourceResponse{}, nil
}

func (c *CloudMap) listTagsForResource(ctx context.Context, in *sdtypes.ListTagsForResourceRequest) (*sdtypes.ListTagsForResourceResponse, error) {
	tags, err := c.editTags(ctx, awsapi.Deref(in.ResourceARN), func(tags []sdstate.Tag) ([]sdstate.Tag, error) {
		return tags, store.ErrUnchanged
	})
	if err != nil {
		return nil, err
	}
	return &sdtypes.ListTagsForResourceResponse{Tags: tagShapes(tags)}, nil
}
