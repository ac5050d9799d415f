package iam

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/iam/iamstate"
	"github.com/berth/berth/internal/iam/iamtypes"
	"github.com/berth/berth/internal/iam/managed"
	"github.com/berth/berth/internal/store"
)

// versionsPerPolicy is how many versions a customer managed policy may
// keep.
const versionsPerPolicy = 5

// The values of ListPolicies' and ListEntitiesForPolicy's
// PolicyUsageFilter.
const (
	usagePermissionsPolicy   = "PermissionsPolicy"
	usagePermissionsBoundary = "PermissionsBoundary"
)

// accountIdentities is every role, user and group of the account, read at
// their revisions: what the managed policies' attachment counts and
// ListEntitiesForPolicy are made of.
type accountIdentities struct {
	roles  []store.Versioned[iamstate.Role]
	users  []store.Versioned[iamstate.User]
	groups []store.Versioned[iamstate.Group]
}

func (s *iamService) readIdentities(ctx context.Context) (*accountIdentities, error) {
	var a accountIdentities
	var err error
	if a.roles, _, err = store.List[iamstate.Role](ctx, s.store, iamstate.RolePrefix, store.ListOptions{}); err != nil {
		return nil, err
	}
	if a.users, _, err = store.List[iamstate.User](ctx, s.store, iamstate.UserPrefix, store.ListOptions{}); err != nil {
		return nil, err
	}
	if a.groups, _, err = store.List[iamstate.Group](ctx, s.store, iamstate.GroupPrefix, store.ListOptions{}); err != nil {
		return nil, err
	}
	return &a, nil
}

// policyUse is how many identities use a managed policy: attached as a
// permissions policy, and as their permissions boundary.
type policyUse struct{ attached, boundary int }

// usage counts each managed policy's uses, by ARN.
func (a *accountIdentities) usage() map[string]policyUse {
	uses := map[string]policyUse{}
	count := func(p *iamstate.Policies) {
		for _, arn := range p.Attached {
			u := uses[arn]
			u.attached++
			uses[arn] = u
		}
		if p.Boundary != "" {
			u := uses[p.Boundary]
			u.boundary++
			uses[p.Boundary] = u
		}
	}
	for i := range a.roles {
		count(&a.roles[i].Value.Policies)
	}
	for i := range a.users {
		count(&a.users[i].Value.Policies)
	}
	for i := range a.groups {
		count(&a.groups[i].Value.Policies)
	}
	return uses
}

// guards are the comparisons that hold while no identity changes: a
// policy deleted under them cannot have gained a use meanwhile.
func (a *accountIdentities) guards() []store.Compare {
	var out []store.Compare
	for _, r := range a.roles {
		out = append(out, store.Compare{Key: iamstate.RoleKey(r.Value.Name), ModRevision: r.ModRevision})
	}
	for _, u := range a.users {
		out = append(out, store.Compare{Key: iamstate.UserKey(u.Value.Name), ModRevision: u.ModRevision})
	}
	for _, g := range a.groups {
		out = append(out, store.Compare{Key: iamstate.GroupKey(g.Value.Name), ModRevision: g.ModRevision})
	}
	return out
}

// awsPolicyView is an AWS managed policy as IAM's responses show it.
// ListPolicies leaves out the description (full false).
func awsPolicyView(p *managed.Policy, use policyUse, full bool) iamtypes.Policy {
	out := localPolicyView(&iamstate.ManagedPolicy{Name: p.Name, Path: p.Path, ID: p.ID, ARN: p.ARN,
		Created: p.Created, Updated: p.Updated, DefaultVersion: p.DefaultVersion}, use, false)
	if full {
		// Shown even when empty, unlike a customer managed policy's.
		out.Description = awsapi.String(p.Description)
	}
	return out
}

// localPolicyView is a customer managed policy as IAM's responses show it.
// ListPolicies leaves out the description and tags (full false).
func localPolicyView(p *iamstate.ManagedPolicy, use policyUse, full bool) iamtypes.Policy {
	out := iamtypes.Policy{
		Arn:                           awsapi.String(p.ARN),
		AttachmentCount:               awsapi.Int32(int32(use.attached)),
		CreateDate:                    awsapi.Time(p.Created),
		DefaultVersionId:              awsapi.String(p.DefaultVersion),
		IsAttachable:                  awsapi.Bool(true),
		Path:                          awsapi.String(p.Path),
		PermissionsBoundaryUsageCount: awsapi.Int32(int32(use.boundary)),
		PolicyId:                      awsapi.String(p.ID),
		PolicyName:                    awsapi.String(p.Name),
		UpdateDate:                    awsapi.Time(p.Updated),
	}
	if full {
		out.Description = awsapi.OptionalString(p.Description)
		out.Tags = responseTags(p.Tags)
	}
	return out
}

// checkPolicyDocument validates a version of a customer managed policy:
// its grammar (with the 2012-10-17 language managed policies require),
// then its size.
func checkPolicyDocument(doc string) error {
	p, err := parseIdentityPolicy(doc)
	if err != nil {
		return err
	}
	if err := p.ValidateManaged(); err != nil {
		return err
	}
	if documentSize(doc) > managedPolicySize {
		return quotaExceeded("PolicySize", managedPolicySize)
	}
	return nil
}

func (s *iamService) createPolicy(ctx context.Context, in *iamtypes.CreatePolicyRequest) (*iamtypes.CreatePolicyResponse, error) {
	name, doc := awsapi.Deref(in.PolicyName), awsapi.Deref(in.PolicyDocument)
	if err := checkPolicyDocument(doc); err != nil {
		return nil, err
	}
	tags, err := requestTags(in.Tags)
	if err != nil {
		return nil, err
	}
	path, now := pathOrRoot(in.Path), s.clock()
	p := iamstate.ManagedPolicy{
		Name:           name,
		Path:           path,
		ID:             newUniqueID("ANPA"),
		ARN:            s.entityARN("policy", path, name),
		Description:    awsapi.Deref(in.Description),
		Created:        now,
		Updated:        now,
		DefaultVersion: "v1",
		Versions:       []iamstate.PolicyVersion{{ID: "v1", Document: doc, Created: now}},
		NextVersion:    2,
		Tags:           tags,
	}
	err = store.Retry(ctx, func() error {
		return s.createRecord(ctx, iamstate.PolicyKey(name), p, nil,
			iamError(errEntityExists, "A policy called %s already exists. Duplicate names are not allowed.", name))
	})
	if err != nil {
		return nil, err
	}
	out := localPolicyView(&p, policyUse{}, true)
	return &iamtypes.CreatePolicyResponse{Policy: &out}, nil
}

// readPolicy returns the managed policy arn names, NoSuchEntity if none.
func (s *iamService) readPolicy(ctx context.Context, arn string) (*policyRef, error) {
	ref, ok, err := s.lookupPolicy(ctx, arn)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, noSuchPolicy(arn)
	}
	return ref, nil
}

// awsManagedReadOnly is the answer to a change of an AWS managed policy:
// it belongs to AWS's account, not the caller's.
func awsManagedReadOnly(ctx context.Context, action, arn string) error {
	// UNVERIFIED wording.
	return &awsapi.AccessDenied{Message: "User: " + awsapi.RequestFrom(ctx).Caller.ARN +
		" is not authorized to perform: iam:" + action + " on resource: policy " + arn}
}

// changePolicy reads the customer managed policy arn names, applies change
// and writes it back guarded by the revision read; change returns
// store.ErrUnchanged to write nothing. action names the operation for the
// refusal of an AWS managed policy.
func (s *iamService) changePolicy(ctx context.Context, action, arn string, change func(p *iamstate.ManagedPolicy) error) (iamstate.ManagedPolicy, error) {
	var out iamstate.ManagedPolicy
	err := store.Retry(ctx, func() error {
		ref, err := s.readPolicy(ctx, arn)
		if err != nil {
			return err
		}
		if ref.local == nil {
			return awsManagedReadOnly(ctx, action, arn)
		}
		p := ref.local.Value
		if err := change(&p); errors.Is(err, store.ErrUnchanged) {
			out = p
			return nil
		} else if err != nil {
			return err
		}
		key := iamstate.PolicyKey(p.Name)
		op, err := store.PutJSON(key, p)
		if err != nil {
			return err
		}
		if _, err := s.store.Txn(ctx, store.Txn{If: ref.guard(), Then: []store.Op{op}}); err != nil {
			return err
		}
		out = p
		return nil
	})
	return out, err
}

// readPolicyUsers reads the managed policy arn names (NoSuchEntity if
// none) and the identities of the account, which tell who uses it.
func (s *iamService) readPolicyUsers(ctx context.Context, arn string) (*policyRef, *accountIdentities, error) {
	ref, err := s.readPolicy(ctx, arn)
	if err != nil {
		return nil, nil, err
	}
	ids, err := s.readIdentities(ctx)
	if err != nil {
		return nil, nil, err
	}
	return ref, ids, nil
}

func (s *iamService) getPolicy(ctx context.Context, in *iamtypes.GetPolicyRequest) (*iamtypes.GetPolicyResponse, error) {
	ref, ids, err := s.readPolicyUsers(ctx, awsapi.Deref(in.PolicyArn))
	if err != nil {
		return nil, err
	}
	use := ids.usage()[ref.arn]
	var out iamtypes.Policy
	if ref.aws != nil {
		out = awsPolicyView(ref.aws, use, true)
	} else {
		out = localPolicyView(&ref.local.Value, use, true)
	}
	return &iamtypes.GetPolicyResponse{Policy: &out}, nil
}

// inUse reports whether use passes ListPolicies' OnlyAttached and
// PolicyUsageFilter.
func inUse(use policyUse, onlyAttached bool, filter string) bool {
	switch filter {
	case usagePermissionsPolicy:
		return use.attached > 0
	case usagePermissionsBoundary:
		return use.boundary > 0
	}
	return !onlyAttached || use.attached+use.boundary > 0
}

// listPolicies lists AWS managed and customer managed policies, sorted by
// name. PolicyUsageFilter keeps the policies used that way. UNVERIFIED:
// whether IAM applies it without OnlyAttached.
func (s *iamService) listPolicies(ctx context.Context, in *iamtypes.ListPoliciesRequest) (*iamtypes.ListPoliciesResponse, error) {
	ids, err := s.readIdentities(ctx)
	if err != nil {
		return nil, err
	}
	uses := ids.usage()
	scope, pathPrefix := cmp.Or(awsapi.Deref(in.Scope), "All"), pathOrRoot(in.PathPrefix)
	onlyAttached, filter := awsapi.Deref(in.OnlyAttached), awsapi.Deref(in.PolicyUsageFilter)
	var policies []iamtypes.Policy
	if scope != "Local" {
		for _, p := range managed.All() {
			if strings.HasPrefix(p.Path, pathPrefix) && inUse(uses[p.ARN], onlyAttached, filter) {
				policies = append(policies, awsPolicyView(p, uses[p.ARN], false))
			}
		}
	}
	if scope != "AWS" {
		local, err := listUnder(ctx, s.store, iamstate.PolicyPrefix, in.PathPrefix, func(p *iamstate.ManagedPolicy) string { return p.Path })
		if err != nil {
			return nil, err
		}
		for i := range local {
			if use := uses[local[i].ARN]; inUse(use, onlyAttached, filter) {
				policies = append(policies, localPolicyView(&local[i], use, false))
			}
		}
	}
	slices.SortStableFunc(policies, func(a, b iamtypes.Policy) int {
		return strings.Compare(strings.ToLower(*a.PolicyName), strings.ToLower(*b.PolicyName))
	})
	p, err := paginate(policies, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamtypes.ListPoliciesResponse{Policies: nonNil(p.items), IsTruncated: awsapi.Bool(p.truncated), Marker: p.marker}, nil
}

// deletePolicy deletes a customer managed policy no identity uses, and
// that has no version but its default.
func (s *iamService) deletePolicy(ctx context.Context, in *iamtypes.DeletePolicyRequest) (*struct{}, error) {
	arn := awsapi.Deref(in.PolicyArn)
	return nil, store.Retry(ctx, func() error {
		ref, err := s.readPolicy(ctx, arn)
		if err != nil {
			return err
		}
		if ref.local == nil {
			return awsManagedReadOnly(ctx, "DeletePolicy", arn)
		}
		ids, err := s.readIdentities(ctx)
		if err != nil {
			return err
		}
		if use := ids.usage()[arn]; use.attached+use.boundary > 0 {
			return iamError(errDeleteConflict, "Cannot delete a policy attached to entities.")
		}
		if len(ref.local.Value.Versions) > 1 {
			return iamError(errDeleteConflict, "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.")
		}
		_, err = s.store.Txn(ctx, store.Txn{
			If:   append(ref.guard(), ids.guards()...),
			Then: []store.Op{store.Delete(iamstate.PolicyKey(ref.local.Value.Name))},
		})
		return err
	})
}

func noSuchPolicyVersion(arn, version string) error {
	return iamError(errNoSuchEntity, "Policy %s version %s does not exist or is not attachable.", arn, version) // UNVERIFIED wording
}

func (s *iamService) createPolicyVersion(ctx context.Context, in *iamtypes.CreatePolicyVersionRequest) (*iamtypes.CreatePolicyVersionResponse, error) {
	doc := awsapi.Deref(in.PolicyDocument)
	if err := checkPolicyDocument(doc); err != nil {
		return nil, err
	}
	var version iamstate.PolicyVersion
	p, err := s.changePolicy(ctx, "CreatePolicyVersion", awsapi.Deref(in.PolicyArn), func(p *iamstate.ManagedPolicy) error {
		if len(p.Versions) >= versionsPerPolicy {
			return iamError(errLimitExceeded, "A managed policy can have up to %d versions. Before you create a new version, you must delete an existing version.", versionsPerPolicy)
		}
		version = iamstate.PolicyVersion{ID: "v" + strconv.Itoa(p.NextVersion), Document: doc, Created: s.clock()}
		p.Versions = append(slices.Clone(p.Versions), version)
		p.NextVersion++
		p.Updated = version.Created
		if awsapi.Deref(in.SetAsDefault) {
			p.DefaultVersion = version.ID
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamtypes.CreatePolicyVersionResponse{PolicyVersion: &iamtypes.PolicyVersion{
		VersionId:        awsapi.String(version.ID),
		IsDefaultVersion: awsapi.Bool(p.DefaultVersion == version.ID),
		CreateDate:       awsapi.Time(version.Created),
	}}, nil
}

// policyVersions is a managed policy's versions, newest first, documents
// left out (withDocuments false) or URL-encoded. An AWS managed policy
// shows its default version only: berth knows no other.
func policyVersions(ref *policyRef, withDocuments bool) []iamtypes.PolicyVersion {
	view := func(id, doc string, created *awsapi.Timestamp, isDefault bool) iamtypes.PolicyVersion {
		v := iamtypes.PolicyVersion{VersionId: awsapi.String(id), CreateDate: created, IsDefaultVersion: awsapi.Bool(isDefault)}
		if withDocuments {
			v.Document = encodeDocument(doc)
		}
		return v
	}
	if ref.aws != nil {
		return []iamtypes.PolicyVersion{view(ref.aws.DefaultVersion, ref.aws.Document, awsapi.Time(ref.aws.Updated), true)}
	}
	p := &ref.local.Value
	out := make([]iamtypes.PolicyVersion, 0, len(p.Versions))
	for _, v := range slices.Backward(p.Versions) {
		out = append(out, view(v.ID, v.Document, awsapi.Time(v.Created), v.ID == p.DefaultVersion))
	}
	return out
}

func (s *iamService) getPolicyVersion(ctx context.Context, in *iamtypes.GetPolicyVersionRequest) (*iamtypes.GetPolicyVersionResponse, error) {
	arn, id := awsapi.Deref(in.PolicyArn), awsapi.Deref(in.VersionId)
	ref, err := s.readPolicy(ctx, arn)
	if err != nil {
		return nil, err
	}
	for _, v := range policyVersions(ref, true) {
		if *v.VersionId == id {
			return &iamtypes.GetPolicyVersionResponse{PolicyVersion: &v}, nil
		}
	}
	return nil, noSuchPolicyVersion(arn, id)
}

func (s *iamService) listPolicyVersions(ctx context.Context, in *iamtypes.ListPolicyVersionsRequest) (*iamtypes.ListPolicyVersionsResponse, error) {
	ref, err := s.readPolicy(ctx, awsapi.Deref(in.PolicyArn))
	if err != nil {
		return nil, err
	}
	p, err := paginate(policyVersions(ref, false), in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamtypes.ListPolicyVersionsResponse{Versions: nonNil(p.items), IsTruncated: awsapi.Bool(p.truncated), Marker: p.marker}, nil
}

func (s *iamService) setDefaultPolicyVersion(ctx context.Context, in *iamtypes.SetDefaultPolicyVersionRequest) (*struct{}, error) {
	arn, id := awsapi.Deref(in.PolicyArn), awsapi.Deref(in.VersionId)
	_, err := s.changePolicy(ctx, "SetDefaultPolicyVersion", arn, func(p *iamstate.ManagedPolicy) error {
		if !slices.ContainsFunc(p.Versions, func(v iamstate.PolicyVersion) bool { return v.ID == id }) {
			return noSuchPolicyVersion(arn, id)
		}
		if p.DefaultVersion == id {
			return store.ErrUnchanged
		}
		p.DefaultVersion = id
		return nil
	})
	return nil, err
}

func (s *iamService) deletePolicyVersion(ctx context.Context, in *iamtypes.DeletePolicyVersionRequest) (*struct{}, error) {
	arn, id := awsapi.Deref(in.PolicyArn), awsapi.Deref(in.VersionId)
	_, err := s.changePolicy(ctx, "DeletePolicyVersion", arn, func(p *iamstate.ManagedPolicy) error {
		i := slices.IndexFunc(p.Versions, func(v iamstate.PolicyVersion) bool { return v.ID == id })
		if i < 0 {
			return noSuchPolicyVersion(arn, id)
		}
		if p.DefaultVersion == id {
			return iamError(errDeleteConflict, "Cannot delete the default version of a policy.")
		}
		p.Versions = slices.Delete(slices.Clone(p.Versions), i, i+1)
		return nil
	})
	return nil, err
}

// listEntitiesForPolicy lists the groups, users and roles that use a
// managed policy, in that order.
func (s *iamService) listEntitiesForPolicy(ctx context.Context, in *iamtypes.ListEntitiesForPolicyRequest) (*iamtypes.ListEntitiesForPolicyResponse, error) {
	ref, ids, err := s.readPolicyUsers(ctx, awsapi.Deref(in.PolicyArn))
	if err != nil {
		return nil, err
	}
	filter, usage, pathPrefix := awsapi.Deref(in.EntityFilter), awsapi.Deref(in.PolicyUsageFilter), pathOrRoot(in.PathPrefix)
	uses := func(kind, path string, p *iamstate.Policies) bool {
		if filter != "" && filter != kind || !strings.HasPrefix(path, pathPrefix) {
			return false
		}
		attached, boundary := slices.Contains(p.Attached, ref.arn), p.Boundary == ref.arn
		switch usage {
		case usagePermissionsPolicy:
			return attached
		case usagePermissionsBoundary:
			return boundary
		}
		return attached || boundary
	}
	// One listing of all three kinds, paginated together.
	var entities []any
	for _, g := range ids.groups {
		if uses("Group", g.Value.Path, &g.Value.Policies) {
			entities = append(entities, iamtypes.PolicyGroup{GroupId: awsapi.String(g.Value.ID), GroupName: awsapi.String(g.Value.Name)})
		}
	}
	for _, u := range ids.users {
		if uses("User", u.Value.Path, &u.Value.Policies) {
			entities = append(entities, iamtypes.PolicyUser{UserId: awsapi.String(u.Value.ID), UserName: awsapi.String(u.Value.Name)})
		}
	}
	for _, r := range ids.roles {
		if uses("Role", r.Value.Path, &r.Value.Policies) {
			entities = append(entities, iamtypes.PolicyRole{RoleId: awsapi.String(r.Value.ID), RoleName: awsapi.String(r.Value.Name)})
		}
	}
	p, err := paginate(entities, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamtypes.ListEntitiesForPolicyResponse{
		PolicyGroups: itemsOf[iamtypes.PolicyGroup](p.items),
		PolicyUsers:  itemsOf[iamtypes.PolicyUser](p.items),
		PolicyRoles:  itemsOf[iamtypes.PolicyRole](p.items),
		IsTruncated:  awsapi.Bool(p.truncated), Marker: p.marker,
	}, nil
}

func (s *iamService) tagPolicy(ctx context.Context, in *iamtypes.TagPolicyRequest) (*struct{}, error) {
	tags, err := requestTags(in.Tags)
	if err != nil {
		return nil, err
	}
	_, err = s.changePolicy(ctx, "TagPolicy", awsapi.Deref(in.PolicyArn), func(p *iamstate.ManagedPolicy) error {
		p.Tags, err = addTags(p.Tags, tags, "TagsPerPolicy")
		return err
	})
	return nil, err
}

func (s *iamService) untagPolicy(ctx context.Context, in *iamtypes.UntagPolicyRequest) (*struct{}, error) {
	_, err := s.changePolicy(ctx, "UntagPolicy", awsapi.Deref(in.PolicyArn), func(p *iamstate.ManagedPolicy) error {
		p.Tags = removeTags(p.Tags, in.TagKeys)
		return nil
	})
	return nil, err
}

func (s *iamService) listPolicyTags(ctx context.Context, in *iamtypes.ListPolicyTagsRequest) (*iamtypes.ListPolicyTagsResponse, error) {
	ref, err := s.readPolicy(ctx, awsapi.Deref(in.PolicyArn))
	if err != nil {
		return nil, err
	}
	var tags []iamstate.Tag
	if ref.local != nil {
		tags = ref.local.Value.Tags
	}
	p, err := paginate(tags, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamtypes.ListPolicyTagsResponse{Tags: nonNil(responseTags(p.items)), IsTruncated: awsapi.Bool(p.truncated), Marker: p.marker}, nil
}
