package iam

import (
	"context"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/iam/iamstate"
	"github.com/berth/berth/internal/iam/iamtypes"
	"github.com/berth/berth/internal/store"
)

// tagsPerEntity is how many tags a role, user or customer managed policy
// may carry.
const tagsPerEntity = 50

// requestTags converts a request's tags, refusing a key given twice (IAM's
// tag keys are unique regardless of case).
func requestTags(in []iamtypes.Tag) ([]iamstate.Tag, error) {
	out := make([]iamstate.Tag, 0, len(in))
	seen := make(map[string]bool, len(in))
	for _, t := range in {
		key := awsapi.Deref(t.Key)
		if seen[strings.ToLower(key)] {
			return nil, iamError(errInvalidInput, "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[strings.ToLower(key)] = true
		out = append(out, iamstate.Tag{Key: key, Value: awsapi.Deref(t.Value)})
	}
	return out, nil
}

// responseTags is tags as IAM's responses carry them; nil for none, so that
// an untagged entity shows no Tags element.
func responseTags(tags []iamstate.Tag) []iamtypes.Tag {
	if len(tags) == 0 {
		return nil
	}
	out := make([]iamtypes.Tag, len(tags))
	for i, t := range tags {
		out[i] = iamtypes.Tag{Key: awsapi.String(t.Key), Value: awsapi.String(t.Value)}
	}
	return out
}

// addTags sets tags on existing: a key already there (in any case) takes
// the new spelling and value. quota names the entity's tag quota in the
// LimitExceeded error (TagsPerRole, TagsPerUser, TagsPerPolicy).
func addTags(existing, tags []iamstate.Tag, quota string) ([]iamstate.Tag, error) {
	out := append([]iamstate.Tag(nil), existing...)
	for _, t := range tags {
		i := tagIndex(out, t.Key)
		if i < 0 {
			out = append(out, t)
			continue
		}
		out[i] = t
	}
	if len(out) > tagsPerEntity {
		return nil, quotaExceeded(quota, tagsPerEntity) // UNVERIFIED wording
	}
	return out, nil
}

// removeTags removes the tags whose keys are among keys (in any case); keys
// not there are ignored, as IAM does.
func removeTags(existing []iamstate.Tag, keys []string) []iamstate.Tag {
	out := append([]iamstate.Tag(nil), existing...)
	for _, k := range keys {
		if i := tagIndex(out, k); i >= 0 {
			out = append(out[:i], out[i+1:]...)
		}
	}
	return out
}

// tagIdentity answers Tag{Role,User}: it sets tags on the identity named
// name.
func tagIdentity[T any](ctx context.Context, s *iamService, k identityKind[T], name string, tags []iamtypes.Tag) error {
	add, err := requestTags(tags)
	if err != nil {
		return err
	}
	_, err = k.change(ctx, s.store, name, func(v *T) ([]store.Compare, error) {
		current := k.tags(v)
		var err error
		*current, err = addTags(*current, add, k.tagQuota)
		return nil, err
	})
	return err
}

// untagIdentity answers Untag{Role,User}: it removes the tags whose keys
// are among keys from the identity named name.
func untagIdentity[T any](ctx context.Context, s *iamService, k identityKind[T], name string, keys []string) error {
	_, err := k.change(ctx, s.store, name, func(v *T) ([]store.Compare, error) {
		current := k.tags(v)
		*current = removeTags(*current, keys)
		return nil, nil
	})
	return err
}

// tagsResponse is the response of ListRoleTags and ListUserTags, to which
// IAM's model gives one shape.
type tagsResponse interface {
	~struct {
		IsTruncated *bool          `json:"IsTruncated,omitempty"`
		Marker      *string        `json:"Marker,omitempty"`
		Tags        []iamtypes.Tag `json:"Tags,omitzero"`
	}
}

// listIdentityTags answers List{Role,User}Tags: a page of the tags of the
// identity named name.
func listIdentityTags[Out tagsResponse, T any](ctx context.Context, s *iamService, k identityKind[T], name string, marker *string, maxItems *int32) (*Out, error) {
	v, err := k.read(ctx, s.store, name)
	if err != nil {
		return nil, err
	}
	p, err := paginate(*k.tags(&v.Value), marker, maxItems)
	if err != nil {
		return nil, err
	}
	return &Out{Tags: nonNil(responseTags(p.items)), IsTruncated: awsapi.Bool(p.truncated), Marker: p.marker}, nil
}

func tagIndex(tags []iamstate.Tag, key string) int {
	for i, t := range tags {
		if strings.EqualFold(t.Key, key) {
			return i
		}
	}
	return -1
}

// tagContext is the condition keys a tagging call sets: aws:RequestTag/<key>
// for each tag it sets and aws:TagKeys for the keys it names.
func tagContext(ctx map[string][]string, tags []iamtypes.Tag, keys []string) map[string][]string {
	if len(tags) == 0 && len(keys) == 0 {
		return ctx
	}
	if ctx == nil {
		ctx = map[string][]string{}
	}
	for _, t := range tags {
		ctx["aws:RequestTag/"+awsapi.Deref(t.Key)] = []string{awsapi.Deref(t.Value)}
		keys = append(keys, awsapi.Deref(t.Key))
	}
	ctx["aws:TagKeys"] = keys
	return ctx
}
