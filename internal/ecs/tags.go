package ecs

import (
	"context"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/store"
)

// maxTags is ECS's limit of user tags per resource.
const maxTags = 50

// checkTags validates tags as ECS does for any resource: at most 50, keys
// 1-128 characters, values up to 256, unique keys, and the aws: prefix
// reserved. fail builds the error in the calling operation's exception
// (InvalidParameterException for clusters and tasks, ClientException for
// task definitions). Messages are UNVERIFIED wording.
func checkTags(tags []ecstypes.Tag, fail func(format string, args ...any) *awsapi.MessageError) error {
	if len(tags) > maxTags {
		return fail("The maximum number of tags per resource is %d.", maxTags)
	}
	seen := map[string]bool{}
	for _, t := range tags {
		key, value := awsapi.Deref(t.Key), awsapi.Deref(t.Value)
		if n := utf8.RuneCountInString(key); n < 1 || n > 128 {
			return fail("Tag keys must be between 1 and 128 characters long.")
		}
		if utf8.RuneCountInString(value) > 256 {
			return fail("Tag values must be at most 256 characters long.")
		}
		if strings.HasPrefix(strings.ToLower(key), "aws:") {
			return fail("Tag keys beginning with 'aws:' are reserved for AWS use.")
		}
		if seen[key] {
			return fail("Duplicate tag key '%s'.", key)
		}
		seen[key] = true
	}
	return nil
}

// mergeTags returns existing with tags added or overwritten by key,
// keeping the order keys were first set in.
func mergeTags(existing, tags []ecstypes.Tag) []ecstypes.Tag {
	out := slices.Clone(existing)
	for _, t := range tags {
		i := slices.IndexFunc(out, func(e ecstypes.Tag) bool { return awsapi.Deref(e.Key) == awsapi.Deref(t.Key) })
		t := ecstypes.Tag{Key: awsapi.String(awsapi.Deref(t.Key)), Value: awsapi.String(awsapi.Deref(t.Value))}
		if i >= 0 {
			out[i] = t
		} else {
			out = append(out, t)
		}
	}
	return out
}

// tagsOrEmpty returns tags as a non-nil list, since ECS answers [] for a
// resource without tags.
func tagsOrEmpty(tags []ecstypes.Tag) []ecstypes.Tag {
	if tags == nil {
		return []ecstypes.Tag{}
	}
	return tags
}

func (s *service) tagOperations() map[string]awsapi.Operation {
	return map[string]awsapi.Operation{
		"TagResource":         awsapi.Op(s.tagResource),
		"UntagResource":       awsapi.Op(s.untagResource),
		"ListTagsForResource": awsapi.Op(s.listTagsForResource),
	}
}

// taggable is a resource TagResource and friends can work on: how to read
// its tags and how to change them in the store.
type taggable struct {
	// fail is the exception tag validation errors use for this resource.
	fail   func(format string, args ...any) *awsapi.MessageError
	tags   []ecstypes.Tag
	update func(ctx context.Context, change func([]ecstypes.Tag) []ecstypes.Tag) error
}

// taggableResource resolves a resource ARN: a cluster, a task definition
// revision, a task or a service of this account and the request's region.
// An ARN of another region is read with that region's ARNs and looked up
// in the request's, where it names nothing: the answer is ECS's for a
// missing resource.
func (s *service) taggableResource(ctx context.Context, arn string) (taggable, error) {
	arns := s.arnsIn(awsapi.ARNRegion(arn, ""))
	res, ok := s.ecsResource(arns.Region, arn)
	if !ok {
		return taggable{}, errInvalidARN()
	}
	kind, _, _ := strings.Cut(res, "/")
	switch kind {
	case "cluster":
		c, err := s.cluster(ctx, &arn)
		if err != nil {
			return taggable{}, err
		}
		if c.Value.Status != ecsstate.ClusterActive {
			return taggable{}, errClusterInactive()
		}
		key := ecsstate.ClusterKey(requestRegion(ctx), c.Value.Name)
		return taggable{
			fail: invalidParameter,
			tags: c.Value.Tags,
			update: func(ctx context.Context, change func([]ecstypes.Tag) []ecstypes.Tag) error {
				_, err := store.Update(ctx, s.store, key, func(v *ecsstate.Cluster, found bool) error {
					if !found || v.Status != ecsstate.ClusterActive {
						return errResourceGone
					}
					v.Tags = change(v.Tags)
					return nil
				})
				if errors.Is(err, errResourceGone) {
					return errClusterInactive()
				}
				return err
			},
		}, nil
	case "task-definition":
		rest := strings.TrimPrefix(res, "task-definition/")
		if !strings.Contains(rest, ":") {
			return taggable{}, errInvalidARN()
		}
		key, td, found, err := s.lookupTaskDefinition(ctx, requestRegion(ctx), rest)
		if err != nil {
			return taggable{}, err
		}
		if !found {
			return taggable{}, errTaskDefinitionNotFound()
		}
		return taggable{
			fail: clientError,
			tags: td.Value.Tags,
			update: func(ctx context.Context, change func([]ecstypes.Tag) []ecstypes.Tag) error {
				_, err := store.Update(ctx, s.store, key, func(v *ecsstate.TaskDefinition, found bool) error {
					if !found {
						return errResourceGone
					}
					v.Tags = change(v.Tags)
					return nil
				})
				if errors.Is(err, errResourceGone) {
					return errTaskDefinitionNotFound()
				}
				return err
			},
		}, nil
	case "task":
		cluster, id, ok := arns.TaskID(arn)
		if !ok {
			return taggable{}, errInvalidARN()
		}
		key, task, err := s.findTaskForTags(ctx, cluster, id)
		if err != nil {
			return taggable{}, err
		}
		return taggable{
			fail: invalidParameter,
			tags: task.Spec.Tags,
			update: func(ctx context.Context, change func([]ecstypes.Tag) []ecstypes.Tag) error {
				_, err := store.Update(ctx, s.store, key, func(v *ecsstate.Task, found bool) error {
					if !found {
						return errResourceGone
					}
					v.Spec.Tags = change(v.Spec.Tags)
					return nil
				})
				if errors.Is(err, errResourceGone) {
					return errTaskNotFoundForTags()
				}
				return err
			},
		}, nil
	case "service":
		cluster, name, ok := arns.ServiceName(arn)
		if !ok {
			return taggable{}, errInvalidARN()
		}
		if cluster == "" {
			// The old service ARN form, without a cluster.
			cluster = "default"
		}
		key := ecsstate.ServiceKey(requestRegion(ctx), cluster, name)
		svc, err := store.Get[ecsstate.Service](ctx, s.store, key)
		if errors.Is(err, store.ErrNotFound) {
			return taggable{}, errServiceNotFoundForTags()
		}
		if err != nil {
			return taggable{}, err
		}
		return taggable{
			fail: invalidParameter,
			tags: svc.Value.Tags,
			update: func(ctx context.Context, change func([]ecstypes.Tag) []ecstypes.Tag) error {
				_, err := store.Update(ctx, s.store, key, func(v *ecsstate.Service, found bool) error {
					if !found {
						return errResourceGone
					}
					v.Tags = change(v.Tags)
					return nil
				})
				if errors.Is(err, errResourceGone) {
					return errServiceNotFoundForTags()
				}
				return err
			},
		}, nil
	case "capacity-provider":
		name := strings.TrimPrefix(res, "capacity-provider/")
		key := ecsstate.CapacityProviderKey(requestRegion(ctx), name)
		cp, err := store.Get[ecsstate.CapacityProvider](ctx, s.store, key)
		if errors.Is(err, store.ErrNotFound) || name == providerFargate || name == providerFargateSpot {
			// FARGATE and FARGATE_SPOT are built in and carry no tags.
			return taggable{}, errCapacityProviderNotFoundForTags()
		}
		if err != nil {
			return taggable{}, err
		}
		return taggable{
			fail: invalidParameter,
			tags: cp.Value.Tags,
			update: func(ctx context.Context, change func([]ecstypes.Tag) []ecstypes.Tag) error {
				_, err := store.Update(ctx, s.store, key, func(v *ecsstate.CapacityProvider, found bool) error {
					if !found {
						return errResourceGone
					}
					v.Tags = change(v.Tags)
					return nil
				})
				if errors.Is(err, errResourceGone) {
					return errCapacityProviderNotFoundForTags()
				}
				return err
			},
		}, nil
	}
	return taggable{}, errInvalidARN()
}

func errCapacityProviderNotFoundForTags() *awsapi.MessageError {
	// UNVERIFIED wording.
	return invalidParameter("The specified capacity provider does not exist.")
}

func errServiceNotFoundForTags() *awsapi.MessageError {
	// UNVERIFIED wording; the tag APIs do not list ServiceNotFoundException.
	return invalidParameter("The specified service does not exist.")
}

func errTaskNotFoundForTags() *awsapi.MessageError {
	// UNVERIFIED wording.
	return invalidParameter("The specified task does not exist.")
}

// findTaskForTags finds a task by cluster and id, or by id alone for the
// old task ARN form without a cluster.
func (s *service) findTaskForTags(ctx context.Context, cluster, id string) (string, ecsstate.Task, error) {
	if cluster != "" {
		key := ecsstate.TaskKey(requestRegion(ctx), cluster, id)
		t, err := store.Get[ecsstate.Task](ctx, s.store, key)
		if errors.Is(err, store.ErrNotFound) {
			return "", ecsstate.Task{}, errTaskNotFoundForTags()
		}
		return key, t.Value, err
	}
	tasks, _, err := store.List[ecsstate.Task](ctx, s.store, ecsstate.RegionPrefix(ecsstate.TaskPrefix, requestRegion(ctx)), store.ListOptions{})
	if err != nil {
		return "", ecsstate.Task{}, err
	}
	for _, t := range tasks {
		if t.Value.ID == id {
			return t.Value.Key(), t.Value, nil
		}
	}
	return "", ecsstate.Task{}, errTaskNotFoundForTags()
}

func (s *service) tagResource(ctx context.Context, in *ecstypes.TagResourceRequest) (*ecstypes.TagResourceResponse, error) {
	r, err := s.taggableResource(ctx, awsapi.Deref(in.ResourceArn))
	if err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags, r.fail); err != nil {
		return nil, err
	}
	var tooMany bool
	err = r.update(ctx, func(existing []ecstypes.Tag) []ecstypes.Tag {
		merged := mergeTags(existing, in.Tags)
		if len(merged) > maxTags {
			tooMany = true
			return existing
		}
		return merged
	})
	if err != nil {
		return nil, err
	}
	if tooMany {
		return nil, r.fail("The maximum number of tags per resource is %d.", maxTags)
	}
	return &ecstypes.TagResourceResponse{}, nil
}

func (s *service) untagResource(ctx context.Context, in *ecstypes.UntagResourceRequest) (*ecstypes.UntagResourceResponse, error) {
	r, err := s.taggableResource(ctx, awsapi.Deref(in.ResourceArn))
	if err != nil {
		return nil, err
	}
	err = r.update(ctx, func(existing []ecstypes.Tag) []ecstypes.Tag {
		return slices.DeleteFunc(slices.Clone(existing), func(t ecstypes.Tag) bool {
			return slices.Contains(in.TagKeys, awsapi.Deref(t.Key))
		})
	})
	if err != nil {
		return nil, err
	}
	return &ecstypes.UntagResourceResponse{}, nil
}

func (s *service) listTagsForResource(ctx context.Context, in *ecstypes.ListTagsForResourceRequest) (*ecstypes.ListTagsForResourceResponse, error) {
	r, err := s.taggableResource(ctx, awsapi.Deref(in.ResourceArn))
	if err != nil {
		return nil, err
	}
	return &ecstypes.ListTagsForResourceResponse{Tags: tagsOrEmpty(r.tags)}, nil
}
