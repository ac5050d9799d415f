package iam

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/iam/iamstate"
	"github.com/berth/berth/internal/iam/iamtypes"
	"github.com/berth/berth/internal/iam/managed"
	"github.com/berth/berth/internal/store"
)

// attachedPoliciesQuota is how many managed policies a role, user or group
// may have attached.
const attachedPoliciesQuota = 10

// identityKind describes one kind of IAM identity (role, user or group) to
// the handlers the kinds share: attached and inline policies, permissions
// boundaries, tags.
type identityKind[T any] struct {
	// noun names the kind in IAM's messages ("The role with name X ...").
	noun     string
	key      func(name string) string
	policies func(*T) *iamstate.Policies
	// attachedQuota names the quota of attached managed policies
	// (PoliciesPerRole); inlineQuota the quota of the inline policies'
	// total size, which is inlineLimit.
	attachedQuota string
	inlineQuota   string
	inlineLimit   int
	// tags are the identity's tags and tagQuota names their quota
	// (TagsPerRole); nil for groups, which IAM does not tag.
	tags     func(*T) *[]iamstate.Tag
	tagQuota string
	// names are the identity's name, path and ARN, which a rename
	// changes; nil for roles, which IAM does not rename.
	names func(*T) (name, path, arn *string)
}

var (
	roleKind = identityKind[iamstate.Role]{
		noun: "role", key: iamstate.RoleKey,
		policies:      func(r *iamstate.Role) *iamstate.Policies { return &r.Policies },
		attachedQuota: "PoliciesPerRole", inlineQuota: "RolePolicySize", inlineLimit: rolePolicySizeQuota,
		tags: func(r *iamstate.Role) *[]iamstate.Tag { return &r.Tags }, tagQuota: "TagsPerRole",
	}
	userKind = identityKind[iamstate.User]{
		noun: "user", key: iamstate.UserKey,
		policies:      func(u *iamstate.User) *iamstate.Policies { return &u.Policies },
		attachedQuota: "PoliciesPerUser", inlineQuota: "UserPolicySize", inlineLimit: userPolicySizeQuota,
		tags: func(u *iamstate.User) *[]iamstate.Tag { return &u.Tags }, tagQuota: "TagsPerUser",
		names: func(u *iamstate.User) (name, path, arn *string) { return &u.Name, &u.Path, &u.ARN },
	}
	groupKind = identityKind[iamstate.Group]{
		noun: "group", key: iamstate.GroupKey,
		policies:      func(g *iamstate.Group) *iamstate.Policies { return &g.Policies },
		attachedQuota: "PoliciesPerGroup", inlineQuota: "GroupPolicySize", inlineLimit: groupPolicySizeQuota,
		names: func(g *iamstate.Group) (name, path, arn *string) { return &g.Name, &g.Path, &g.ARN },
	}
)

// read returns the record of the identity named name.
func (k identityKind[T]) read(ctx context.Context, st store.Store, name string) (store.Versioned[T], error) {
	v, err := store.Get[T](ctx, st, k.key(name))
	if errors.Is(err, store.ErrNotFound) {
		return v, noSuchEntity(k.noun, name)
	}
	return v, err
}

// exists is IAM's answer to a second identity of the kind named name.
func (k identityKind[T]) exists(name string) error {
	return iamError(errEntityExists, "%s%s with name %s already exists.", strings.ToUpper(k.noun[:1]), k.noun[1:], name)
}

// change reads the identity named name, applies change and writes the
// record back, guarded by the revision read and by the comparisons change
// returns (the records the change relies on: a customer managed policy it
// attaches). A lost race reads and decides again. change returns
// store.ErrUnchanged to write nothing.
func (k identityKind[T]) change(ctx context.Context, st store.Store, name string, change func(v *T) ([]store.Compare, error)) (T, error) {
	var out T
	err := store.Retry(ctx, func() error {
		cur, err := k.read(ctx, st, name)
		if err != nil {
			return err
		}
		v := cur.Value
		guards, err := change(&v)
		if errors.Is(err, store.ErrUnchanged) {
			out = v
			return nil
		}
		if err != nil {
			return err
		}
		op, err := store.PutJSON(k.key(name), v)
		if err != nil {
			return err
		}
		compares := append([]store.Compare{{Key: k.key(name), ModRevision: cur.ModRevision}}, guards...)
		if _, err := st.Txn(ctx, store.Txn{If: compares, Then: []store.Op{op}}); err != nil {
			return err
		}
		out = v
		return nil
	})
	return out, err
}

// moveRecord returns the writes that store value, read at rev from oldKey,
// at newKey instead, with the comparisons that guard them: newKey must be
// free unless it is oldKey (a change of case or path only).
func moveRecord(oldKey, newKey string, rev int64, value any) ([]store.Compare, []store.Op, error) {
	op, err := store.PutJSON(newKey, value)
	if err != nil {
		return nil, nil, err
	}
	compares := []store.Compare{{Key: oldKey, ModRevision: rev}}
	ops := []store.Op{op}
	if newKey != oldKey {
		compares = append(compares, store.Compare{Key: newKey})
		ops = append(ops, store.Delete(oldKey))
	}
	return compares, ops, nil
}

// renameIdentity renames or moves the identity named name: newName ("" to
// keep the name) and newPath (nil to keep the path) give it a new ARN and,
// with a new name, a new key, which no other identity of the kind may
// hold. follow returns the writes of the records that name the identity,
// which follow it in the same transaction.
func renameIdentity[T any](ctx context.Context, s *iamService, k identityKind[T], name, newName string, newPath *string, follow func(renamed *T) ([]store.Compare, []store.Op, error)) error {
	return store.Retry(ctx, func() error {
		v, err := k.read(ctx, s.store, name)
		if err != nil {
			return err
		}
		renamed := v.Value
		n, path, arn := k.names(&renamed)
		if newName != "" {
			*n = newName
		}
		if newPath != nil {
			*path = *newPath
		}
		*arn = s.entityARN(k.noun, *path, *n)
		oldKey, newKey := k.key(name), k.key(*n)
		compares, ops, err := moveRecord(oldKey, newKey, v.ModRevision, renamed)
		if err != nil {
			return err
		}
		if newKey != oldKey {
			if _, _, err := s.store.Get(ctx, newKey); err == nil {
				return k.exists(*n)
			}
		}
		followCompares, followOps, err := follow(&renamed)
		if err != nil {
			return err
		}
		_, err = s.store.Txn(ctx, store.Txn{If: append(compares, followCompares...), Then: append(ops, followOps...)})
		return err
	})
}

// renameIn returns the writes that rename oldName to newName where the
// identities of kind k named names list it (list: a group's Members, a
// user's Groups), guarded by the revisions read.
func renameIn[T any](ctx context.Context, st store.Store, k identityKind[T], names []string, list func(*T) *[]string, oldName, newName string) ([]store.Compare, []store.Op, error) {
	var compares []store.Compare
	var ops []store.Op
	for _, name := range names {
		v, err := k.read(ctx, st, name)
		if err != nil {
			return nil, nil, err
		}
		record := v.Value
		entries := list(&record)
		*entries = slices.Clone(*entries)
		for i, entry := range *entries {
			if strings.EqualFold(entry, oldName) {
				(*entries)[i] = newName
			}
		}
		op, err := store.PutJSON(k.key(name), record)
		if err != nil {
			return nil, nil, err
		}
		compares = append(compares, store.Compare{Key: k.key(name), ModRevision: v.ModRevision})
		ops = append(ops, op)
	}
	return compares, ops, nil
}

// deleteIdentity deletes the identity named name, which must hold no
// policies. inUse, if set, first refuses what else the kind must be rid
// of (a user's access keys and groups, a group's members).
func deleteIdentity[T any](ctx context.Context, s *iamService, k identityKind[T], name string, inUse func(*T) error) error {
	return store.Retry(ctx, func() error {
		v, err := k.read(ctx, s.store, name)
		if err != nil {
			return err
		}
		if inUse != nil {
			if err := inUse(&v.Value); err != nil {
				return err
			}
		}
		switch p := k.policies(&v.Value); {
		case len(p.Attached) > 0:
			return mustDetachPolicies()
		case len(p.Inline) > 0:
			return mustDeletePolicies()
		}
		key := k.key(name)
		_, err = s.store.Txn(ctx, store.Txn{If: []store.Compare{{Key: key, ModRevision: v.ModRevision}}, Then: []store.Op{store.Delete(key)}})
		return err
	})
}

// policyRef is a managed policy a call names by ARN: an AWS managed policy,
// or a customer managed policy's record with the revision it was read at.
type policyRef struct {
	arn   string
	aws   *managed.Policy
	local *store.Versioned[iamstate.ManagedPolicy]
}

// guard is the comparison that keeps a reference to the policy (an
// attachment, a permissions boundary) from outliving it: DeletePolicy
// changes the record. AWS managed policies never go away.
func (r *policyRef) guard() []store.Compare {
	if r.local == nil {
		return nil
	}
	return []store.Compare{{Key: iamstate.PolicyKey(r.local.Value.Name), ModRevision: r.local.ModRevision}}
}

// touch rewrites a customer managed policy's record unchanged, so that
// its revision moves. A record created with the policy as its boundary
// does so: DeletePolicy compares the policy and every identity it saw, and
// the touch is how it learns of an identity created since.
func (r *policyRef) touch() ([]store.Op, error) {
	if r.local == nil {
		return nil, nil
	}
	op, err := store.PutJSON(iamstate.PolicyKey(r.local.Value.Name), r.local.Value)
	if err != nil {
		return nil, err
	}
	return []store.Op{op}, nil
}

// splitPolicyARN returns the path and name of a managed policy's ARN
// (arn:aws:iam::<account or "aws">:policy<path><name>), and the account.
func splitPolicyARN(arn string) (account, path, name string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || !strings.HasPrefix(parts[5], "policy/") {
		return "", "", "", false
	}
	rest := strings.TrimPrefix(parts[5], "policy")
	i := strings.LastIndex(rest, "/")
	if i == len(rest)-1 {
		return "", "", "", false
	}
	return parts[4], rest[:i+1], rest[i+1:], true
}

// lookupPolicy returns the managed policy arn names; found is false when
// there is none (in this account, or among AWS's).
func (s *iamService) lookupPolicy(ctx context.Context, arn string) (ref *policyRef, found bool, err error) {
	if p, ok := managed.Lookup(arn); ok {
		return &policyRef{arn: arn, aws: p}, true, nil
	}
	account, _, name, ok := splitPolicyARN(arn)
	if !ok || account != s.account {
		return nil, false, nil
	}
	v, err := store.Get[iamstate.ManagedPolicy](ctx, s.store, iamstate.PolicyKey(name))
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if v.Value.ARN != arn {
		return nil, false, nil // another path, or another case of the name
	}
	return &policyRef{arn: arn, local: &v}, true, nil
}

// attachPolicy attaches the managed policy arn to the identity named name.
// Attaching it again changes nothing.
func attachPolicy[T any](ctx context.Context, s *iamService, k identityKind[T], name, arn string) error {
	_, err := k.change(ctx, s.store, name, func(v *T) ([]store.Compare, error) {
		ref, ok, err := s.lookupPolicy(ctx, arn)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, notAttachable(arn)
		}
		p := k.policies(v)
		if slices.Contains(p.Attached, arn) {
			return nil, store.ErrUnchanged
		}
		if len(p.Attached) >= attachedPoliciesQuota {
			return nil, quotaExceeded(k.attachedQuota, attachedPoliciesQuota)
		}
		p.Attached = append(p.Attached, arn)
		return ref.guard(), nil
	})
	return err
}

// detachPolicy detaches the managed policy arn from the identity named
// name.
func detachPolicy[T any](ctx context.Context, s *iamService, k identityKind[T], name, arn string) error {
	_, err := k.change(ctx, s.store, name, func(v *T) ([]store.Compare, error) {
		p := k.policies(v)
		i := slices.Index(p.Attached, arn)
		if i < 0 {
			return nil, noSuchPolicy(arn)
		}
		p.Attached = slices.Delete(p.Attached, i, i+1)
		return nil, nil
	})
	return err
}

// attachedPolicies is the managed policies attached to p whose path begins
// with pathPrefix, in the order they were attached.
func attachedPolicies(p *iamstate.Policies, pathPrefix string) []iamtypes.AttachedPolicy {
	var out []iamtypes.AttachedPolicy
	for _, arn := range p.Attached {
		_, path, name, _ := splitPolicyARN(arn)
		if strings.HasPrefix(path, pathPrefix) {
			out = append(out, iamtypes.AttachedPolicy{PolicyArn: awsapi.String(arn), PolicyName: awsapi.String(name)})
		}
	}
	return out
}

// attachedPoliciesResponse is the response of ListAttachedRolePolicies,
// ListAttachedUserPolicies and ListAttachedGroupPolicies, to which IAM's
// model gives one shape.
type attachedPoliciesResponse interface {
	~struct {
		AttachedPolicies []iamtypes.AttachedPolicy `json:"AttachedPolicies,omitzero"`
		IsTruncated      *bool                     `json:"IsTruncated,omitempty"`
		Marker           *string                   `json:"Marker,omitempty"`
	}
}

// listAttachedPolicies answers ListAttached{Role,User,Group}Policies: a
// page of the managed policies attached to the identity named name whose
// path begins with pathPrefix.
func listAttachedPolicies[Out attachedPoliciesResponse, T any](ctx context.Context, s *iamService, k identityKind[T], name string, pathPrefix, marker *string, maxItems *int32) (*Out, error) {
	v, err := k.read(ctx, s.store, name)
	if err != nil {
		return nil, err
	}
	p, err := paginate(attachedPolicies(k.policies(&v.Value), pathOrRoot(pathPrefix)), marker, maxItems)
	if err != nil {
		return nil, err
	}
	return &Out{AttachedPolicies: nonNil(p.items), IsTruncated: awsapi.Bool(p.truncated), Marker: p.marker}, nil
}

// putInlinePolicy sets the inline policy policyName of the identity named
// name to doc.
func putInlinePolicy[T any](ctx context.Context, s *iamService, k identityKind[T], name, policyName, doc string) error {
	if _, err := parseIdentityPolicy(doc); err != nil {
		return err
	}
	_, err := k.change(ctx, s.store, name, func(v *T) ([]store.Compare, error) {
		p := k.policies(v)
		inline := maps.Clone(p.Inline)
		if inline == nil {
			inline = map[string]string{}
		}
		inline[policyName] = doc
		total := 0
		for _, d := range inline {
			total += documentSize(d)
		}
		if total > k.inlineLimit {
			return nil, quotaExceeded(k.inlineQuota, k.inlineLimit)
		}
		p.Inline = inline
		return nil, nil
	})
	return err
}

// inlinePolicy returns the document of the identity's inline policy
// policyName.
func inlinePolicy[T any](ctx context.Context, s *iamService, k identityKind[T], name, policyName string) (string, error) {
	v, err := k.read(ctx, s.store, name)
	if err != nil {
		return "", err
	}
	doc, ok := k.policies(&v.Value).Inline[policyName]
	if !ok {
		return "", noSuchInlinePolicy(k.noun, policyName)
	}
	return doc, nil
}

// deleteInlinePolicy deletes the identity's inline policy policyName.
func deleteInlinePolicy[T any](ctx context.Context, s *iamService, k identityKind[T], name, policyName string) error {
	_, err := k.change(ctx, s.store, name, func(v *T) ([]store.Compare, error) {
		p := k.policies(v)
		if _, ok := p.Inline[policyName]; !ok {
			return nil, noSuchInlinePolicy(k.noun, policyName)
		}
		p.Inline = maps.Clone(p.Inline)
		delete(p.Inline, policyName)
		return nil, nil
	})
	return err
}

// inlinePolicyNames is the names of p's inline policies, sorted.
func inlinePolicyNames(p *iamstate.Policies) []string {
	return slices.Sorted(maps.Keys(p.Inline))
}

// inlinePoliciesResponse is the response of ListRolePolicies,
// ListUserPolicies and ListGroupPolicies, to which IAM's model gives one
// shape.
type inlinePoliciesResponse interface {
	~struct {
		IsTruncated *bool    `json:"IsTruncated,omitempty"`
		Marker      *string  `json:"Marker,omitempty"`
		PolicyNames []string `json:"PolicyNames,omitzero"`
	}
}

// listInlinePolicies answers List{Role,User,Group}Policies: a page of the
// names of the inline policies of the identity named name.
func listInlinePolicies[Out inlinePoliciesResponse, T any](ctx context.Context, s *iamService, k identityKind[T], name string, marker *string, maxItems *int32) (*Out, error) {
	v, err := k.read(ctx, s.store, name)
	if err != nil {
		return nil, err
	}
	p, err := paginate(inlinePolicyNames(k.policies(&v.Value)), marker, maxItems)
	if err != nil {
		return nil, err
	}
	return &Out{PolicyNames: nonNil(p.items), IsTruncated: awsapi.Bool(p.truncated), Marker: p.marker}, nil
}

// putBoundary sets the permissions boundary of the role or user named name
// to the managed policy arn.
func putBoundary[T any](ctx context.Context, s *iamService, k identityKind[T], name, arn string) error {
	_, err := k.change(ctx, s.store, name, func(v *T) ([]store.Compare, error) {
		ref, err := s.boundaryPolicy(ctx, arn)
		if err != nil {
			return nil, err
		}
		k.policies(v).Boundary = arn
		return ref.guard(), nil
	})
	return err
}

// deleteBoundary removes the permissions boundary of the role or user named
// name; one without a boundary is left as it is. UNVERIFIED: whether IAM
// answers NoSuchEntity there instead.
func deleteBoundary[T any](ctx context.Context, s *iamService, k identityKind[T], name string) error {
	_, err := k.change(ctx, s.store, name, func(v *T) ([]store.Compare, error) {
		p := k.policies(v)
		if p.Boundary == "" {
			return nil, store.ErrUnchanged
		}
		p.Boundary = ""
		return nil, nil
	})
	return err
}

// boundaryPolicy resolves the managed policy a call sets as a permissions
// boundary.
func (s *iamService) boundaryPolicy(ctx context.Context, arn string) (*policyRef, error) {
	ref, ok, err := s.lookupPolicy(ctx, arn)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, iamError(errNoSuchEntity, "Scope ARN: %s does not exist or is not attachable.", arn) // UNVERIFIED wording
	}
	return ref, nil
}

// optionalBoundary resolves the permissions boundary a new role or user is
// created with; nil for none.
func (s *iamService) optionalBoundary(ctx context.Context, arn string) (*policyRef, error) {
	if arn == "" {
		return nil, nil
	}
	return s.boundaryPolicy(ctx, arn)
}

// responseBoundary is a permissions boundary as IAM's responses carry it.
func responseBoundary(arn string) *iamtypes.AttachedPermissionsBoundary {
	if arn == "" {
		return nil
	}
	// UNVERIFIED: the model's only value; IAM's documentation once showed
	// "Policy".
	return &iamtypes.AttachedPermissionsBoundary{PermissionsBoundaryArn: awsapi.String(arn),
		PermissionsBoundaryType: awsapi.String("PermissionsBoundaryPolicy")}
}

// inlineDetails is p's inline policies as GetAccountAuthorizationDetails
// lists them, documents URL-encoded.
func inlineDetails(p *iamstate.Policies) []iamtypes.PolicyDetail {
	out := []iamtypes.PolicyDetail{}
	for _, name := range inlinePolicyNames(p) {
		out = append(out, iamtypes.PolicyDetail{PolicyName: awsapi.String(name), PolicyDocument: encodeDocument(p.Inline[name])})
	}
	return out
}
