package ec2

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/ec2/ec2types"
	"github.com/berth/berth/internal/store"
)

// Resource types, as EC2 names them in tag specifications and DescribeTags.
const (
	typeVPC       = "vpc"
	typeSubnet    = "subnet"
	typeGroup     = "security-group"
	typeRule      = "security-group-rule"
	typeInterface = "network-interface"
)

// maxTags is how many tags an EC2 resource may have.
const maxTags = 50

// resourceType is the type of resource an id names, by its prefix; an id
// of no type berth knows is EC2's InvalidID.
func resourceType(id string) (string, error) {
	for _, t := range []struct{ prefix, kind string }{
		{ec2state.VPCIDPrefix, typeVPC}, {ec2state.SubnetIDPrefix, typeSubnet}, {ec2state.GroupIDPrefix, typeGroup},
		{ec2state.RuleIDPrefix, typeRule}, {ec2state.InterfaceIDPrefix, typeInterface},
	} {
		if ec2state.ValidID(id, t.prefix) {
			return t.kind, nil
		}
	}
	return "", invalidID(id)
}

// checkTags validates tags a request adds.
func checkTags(tags []ec2types.Tag) ([]ec2state.Tag, error) {
	out := make([]ec2state.Tag, 0, len(tags))
	for _, t := range tags {
		key, value := awsapi.Deref(t.Key), awsapi.Deref(t.Value)
		switch {
		case key == "":
			// UNVERIFIED wording.
			return nil, invalidValue("Tag key cannot be empty")
		case strings.HasPrefix(strings.ToLower(key), "aws:"):
			// UNVERIFIED wording.
			return nil, invalidValue("Tag keys starting with 'aws:' are reserved for internal use")
		case len([]rune(key)) > 128:
			// UNVERIFIED wording.
			return nil, invalidValue("Tag key exceeds the maximum length of 128 characters")
		case len([]rune(value)) > 256:
			// UNVERIFIED wording.
			return nil, invalidValue("Tag value exceeds the maximum length of 256 characters")
		}
		out = setTags(out, []ec2state.Tag{{Key: key, Value: value}})
	}
	return out, nil
}

// setTags returns tags with add applied: a key already there takes the
// new value.
func setTags(tags, add []ec2state.Tag) []ec2state.Tag {
	out := slices.Clone(tags)
	for _, t := range add {
		if i := slices.IndexFunc(out, func(x ec2state.Tag) bool { return x.Key == t.Key }); i >= 0 {
			out[i].Value = t.Value
		} else {
			out = append(out, t)
		}
	}
	return out
}

// addTags applies add to a resource's tags, within EC2's limit.
func addTags(tags *[]ec2state.Tag, add []ec2state.Tag) error {
	next := setTags(*tags, add)
	if len(next) > maxTags {
		return errTagLimit
	}
	*tags = next
	return nil
}

// specTags are the tags a create call's TagSpecifications give the
// resource of type kind.
func specTags(specs []ec2types.TagSpecification, kind string) ([]ec2state.Tag, error) {
	var out []ec2state.Tag
	for _, spec := range specs {
		if t := awsapi.Deref(spec.ResourceType); t != kind {
			// UNVERIFIED wording.
			return nil, invalidValue("'%s' is not a valid taggable resource type for this operation.", t)
		}
		if len(spec.Tags) == 0 {
			// UNVERIFIED wording.
			return nil, invalidValue("Tag specification must have at least one tag")
		}
		tags, err := checkTags(spec.Tags)
		if err != nil {
			return nil, err
		}
		if err := addTags(&out, tags); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func tagsOut(tags []ec2state.Tag) []ec2types.Tag {
	if len(tags) == 0 {
		return nil
	}
	out := make([]ec2types.Tag, len(tags))
	for i, t := range tags {
		out[i] = ec2types.Tag{Key: awsapi.String(t.Key), Value: awsapi.String(t.Value)}
	}
	return out
}

// tagged is a record whose tags a call changes, as read: a security
// group's record holds its rules' tags too, so one record may hold the
// tags of several resources the call names.
type tagged struct {
	key   string
	rev   int64
	value any
}

// taggedSet loads the records of the resources a tag call names, each
// once, and finds the tags of each resource.
type taggedSet struct {
	e       *EC2
	ctx     context.Context
	region  string
	records map[string]*tagged
	order   []string
	groups  []store.Versioned[ec2state.SecurityGroup] // the region's, read for rule ids
}

// tagsOf returns the tags of the resource id names, reading its record.
func (s *taggedSet) tagsOf(id string) (*[]ec2state.Tag, error) {
	kind, err := resourceType(id)
	if err != nil {
		return nil, err
	}
	switch kind {
	case typeVPC:
		v, err := load[ec2state.VPC](s, ec2state.VPCKey(s.region, id), vpcNotFound(id))
		if err != nil {
			return nil, err
		}
		return &v.Tags, nil
	case typeSubnet:
		v, err := load[ec2state.Subnet](s, ec2state.SubnetKey(s.region, id), subnetNotFound(id))
		if err != nil {
			return nil, err
		}
		return &v.Tags, nil
	case typeGroup:
		v, err := load[ec2state.SecurityGroup](s, ec2state.GroupKey(s.region, id), groupNotFound(id))
		if err != nil {
			return nil, err
		}
		return &v.Tags, nil
	case typeInterface:
		v, err := load[ec2state.NetworkInterface](s, ec2state.InterfaceKey(s.region, id), interfaceNotFound(id))
		if err != nil {
			return nil, err
		}
		return &v.Tags, nil
	}
	// A rule: its group's record holds it.
	if s.groups == nil {
		groups, err := listRegion[ec2state.SecurityGroup](s.ctx, s.e.store, ec2state.GroupPrefix, s.region)
		if err != nil {
			return nil, err
		}
		s.groups = groups
	}
	for _, g := range s.groups {
		if !slices.ContainsFunc(allRules(g.Value), func(r ec2state.Rule) bool { return r.ID == id }) {
			continue
		}
		v, err := load[ec2state.SecurityGroup](s, ec2state.GroupKey(s.region, g.Value.ID), groupNotFound(g.Value.ID))
		if err != nil {
			return nil, err
		}
		for _, rules := range []*[]ec2state.Rule{&v.Ingress, &v.Egress} {
			for i := range *rules {
				if (*rules)[i].ID == id {
					return &(*rules)[i].Tags, nil
				}
			}
		}
	}
	return nil, ruleNotFound(id)
}

// load reads the record at key once per call; missing is the error for
// its absence.
func load[T any](s *taggedSet, key string, missing error) (*T, error) {
	if r, ok := s.records[key]; ok {
		v, ok := r.value.(*T)
		if !ok {
			return nil, fmt.Errorf("ec2: %s read as %T and as %T", key, r.value, v)
		}
		return v, nil
	}
	v, err := store.Get[T](s.ctx, s.e.store, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, missing
	}
	if err != nil {
		return nil, err
	}
	s.records[key] = &tagged{key: key, rev: v.ModRevision, value: &v.Value}
	s.order = append(s.order, key)
	return &v.Value, nil
}

// changeTags applies edit to the tags of every resource ids names and
// writes every record changed in one transaction, guarded by the
// revisions read: all the resources are tagged, or none.
func (e *EC2) changeTags(ctx context.Context, ids []string, edit func(tags *[]ec2state.Tag) error) error {
	return store.Retry(ctx, func() error {
		s := &taggedSet{e: e, ctx: ctx, region: region(ctx), records: map[string]*tagged{}}
		for _, id := range ids {
			tags, err := s.tagsOf(id)
			if err != nil {
				return err
			}
			if err := edit(tags); err != nil {
				return err
			}
		}
		var txn store.Txn
		for _, key := range s.order {
			r := s.records[key]
			op, err := store.PutJSON(key, r.value)
			if err != nil {
				return err
			}
			txn.If = append(txn.If, store.Compare{Key: key, ModRevision: r.rev})
			txn.Then = append(txn.Then, op)
		}
		_, err := e.store.Txn(ctx, txn)
		return err
	})
}

func (e *EC2) createTags(ctx context.Context, in *ec2types.CreateTagsRequest) (*struct{}, error) {
	if len(in.Resources) == 0 {
		return nil, missingParameter("ResourceId")
	}
	if len(in.Tags) == 0 {
		return nil, missingParameter("Tag")
	}
	add, err := checkTags(in.Tags)
	if err != nil {
		return nil, err
	}
	return ok(), e.changeTags(ctx, in.Resources, func(tags *[]ec2state.Tag) error { return addTags(tags, add) })
}

// DeleteTags removes the tags named (with a value: only if the tag has
// it), or every tag when it names none.
func (e *EC2) deleteTags(ctx context.Context, in *ec2types.DeleteTagsRequest) (*struct{}, error) {
	if len(in.Resources) == 0 {
		return nil, missingParameter("resourceId")
	}
	for _, t := range in.Tags {
		if strings.HasPrefix(strings.ToLower(awsapi.Deref(t.Key)), "aws:") {
			// UNVERIFIED wording.
			return nil, invalidValue("Tag keys starting with 'aws:' are reserved for internal use")
		}
	}
	return ok(), e.changeTags(ctx, in.Resources, func(tags *[]ec2state.Tag) error {
		if len(in.Tags) == 0 {
			*tags = nil
			return nil
		}
		*tags = slices.DeleteFunc(*tags, func(t ec2state.Tag) bool {
			return slices.ContainsFunc(in.Tags, func(d ec2types.Tag) bool {
				return awsapi.Deref(d.Key) == t.Key && (d.Value == nil || *d.Value == t.Value)
			})
		})
		return nil
	})
}

// tagEntry is one tag of one resource, as DescribeTags lists it.
type tagEntry struct {
	id, kind   string
	tag        ec2state.Tag
	resourceOf []ec2state.Tag // all the resource's tags, for tag:<key>
}

var tagFilters = filterSpec[tagEntry]{
	fields: map[string]func(tagEntry) []string{
		"key":           func(t tagEntry) []string { return []string{t.tag.Key} },
		"value":         func(t tagEntry) []string { return []string{t.tag.Value} },
		"resource-id":   func(t tagEntry) []string { return []string{t.id} },
		"resource-type": func(t tagEntry) []string { return []string{t.kind} },
	},
	tags: func(t tagEntry) []ec2state.Tag { return t.resourceOf },
}

func (e *EC2) describeTags(ctx context.Context, in *ec2types.DescribeTagsRequest) (*ec2types.DescribeTagsResult, error) {
	if err := checkMaxResults(in.MaxResults); err != nil {
		return nil, err
	}
	fs, err := tagFilters.parse(in.Filters)
	if err != nil {
		return nil, err
	}
	entries, err := e.allTags(ctx, region(ctx))
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(fs.apply(entries), func(t tagEntry) string { return t.id + "\x00" + t.tag.Key }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &ec2types.DescribeTagsResult{Tags: make([]ec2types.TagDescription, len(page)), NextToken: next}
	for i, t := range page {
		out.Tags[i] = ec2types.TagDescription{ResourceId: awsapi.String(t.id), ResourceType: awsapi.String(t.kind),
			Key: awsapi.String(t.tag.Key), Value: awsapi.String(t.tag.Value)}
	}
	return out, nil
}

// allTags lists every tag of the region's resources.
func (e *EC2) allTags(ctx context.Context, region string) ([]tagEntry, error) {
	var out []tagEntry
	add := func(id, kind string, tags []ec2state.Tag) {
		for _, t := range tags {
			out = append(out, tagEntry{id: id, kind: kind, tag: t, resourceOf: tags})
		}
	}
	vpcs, err := listRegion[ec2state.VPC](ctx, e.store, ec2state.VPCPrefix, region)
	if err != nil {
		return nil, err
	}
	for _, v := range vpcs {
		add(v.Value.ID, typeVPC, v.Value.Tags)
	}
	subnets, err := listRegion[ec2state.Subnet](ctx, e.store, ec2state.SubnetPrefix, region)
	if err != nil {
		return nil, err
	}
	for _, v := range subnets {
		add(v.Value.ID, typeSubnet, v.Value.Tags)
	}
	groups, err := listRegion[ec2state.SecurityGroup](ctx, e.store, ec2state.GroupPrefix, region)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		add(g.Value.ID, typeGroup, g.Value.Tags)
		for _, r := range allRules(g.Value) {
			add(r.ID, typeRule, r.Tags)
		}
	}
	enis, err := listRegion[ec2state.NetworkInterface](ctx, e.store, ec2state.InterfacePrefix, region)
	if err != nil {
		return nil, err
	}
	for _, v := range enis {
		add(v.Value.ID, typeInterface, v.Value.Tags)
	}
	return out, nil
}
