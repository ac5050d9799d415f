package iam

import (
	"context"
	"errors"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/iam/iamstate"
	"github.com/berth/berth/internal/iam/iamtypes"
	"github.com/berth/berth/internal/iam/policy"
	"github.com/berth/berth/internal/store"
)

// defaultMaxSessionDuration is a role's MaxSessionDuration when its
// creator gives none: one hour.
const defaultMaxSessionDuration = 3600

// checkTrustPolicy validates a role's trust policy: its grammar, its size,
// and that the users and roles of this account it names exist, as IAM
// checks when the policy is written.
func (s *iamService) checkTrustPolicy(ctx context.Context, doc string) error {
	p, err := policy.Parse(doc, policy.Trust)
	if err != nil {
		return err
	}
	if documentSize(doc) > assumeRolePolicyQuota {
		return quotaExceeded("ACLSizePerRole", assumeRolePolicyQuota)
	}
	for _, arn := range p.PrincipalARNs() {
		parts := strings.SplitN(arn, ":", 6)
		if len(parts) != 6 || parts[2] != "iam" || parts[4] != s.account {
			continue // another account's, or a session's: not IAM's to check
		}
		kind, _, _ := strings.Cut(parts[5], "/")
		name := parts[5][strings.LastIndex(parts[5], "/")+1:]
		var found string
		switch kind {
		case "role":
			v, err := roleKind.read(ctx, s.store, name)
			if err != nil && !errors.Is(err, errNoSuchEntity) {
				return err
			}
			found = v.Value.ARN
		case "user":
			v, err := userKind.read(ctx, s.store, name)
			if err != nil && !errors.Is(err, errNoSuchEntity) {
				return err
			}
			found = v.Value.ARN
		default:
			continue
		}
		if found != arn {
			return policy.InvalidPrincipalError(arn)
		}
	}
	return nil
}

func (s *iamService) createRole(ctx context.Context, in *iamtypes.CreateRoleRequest) (*iamtypes.CreateRoleResponse, error) {
	name, doc := awsapi.Deref(in.RoleName), awsapi.Deref(in.AssumeRolePolicyDocument)
	if err := s.checkTrustPolicy(ctx, doc); err != nil {
		return nil, err
	}
	tags, err := requestTags(in.Tags)
	if err != nil {
		return nil, err
	}
	path := pathOrRoot(in.Path)
	role := iamstate.Role{
		Name:               name,
		Path:               path,
		ID:                 newUniqueID("AROA"),
		ARN:                s.entityARN("role", path, name),
		Created:            s.clock(),
		AssumeRolePolicy:   doc,
		Description:        awsapi.Deref(in.Description),
		MaxSessionDuration: defaultMaxSessionDuration,
		Tags:               tags,
		Policies:           iamstate.Policies{Boundary: awsapi.Deref(in.PermissionsBoundary)},
	}
	if in.MaxSessionDuration != nil {
		role.MaxSessionDuration = *in.MaxSessionDuration
	}
	err = store.Retry(ctx, func() error {
		boundary, err := s.optionalBoundary(ctx, role.Boundary)
		if err != nil {
			return err
		}
		return s.createRecord(ctx, iamstate.RoleKey(name), role, boundary, roleKind.exists(name))
	})
	if err != nil {
		return nil, err
	}
	out := roleView(&role, true)
	return &iamtypes.CreateRoleResponse{Role: &out}, nil
}

// roleView is a role as IAM's responses show it. ListRoles leaves out the
// tags, permissions boundary and last use (full false).
func roleView(r *iamstate.Role, full bool) iamtypes.Role {
	out := iamtypes.Role{
		Arn:                      awsapi.String(r.ARN),
		AssumeRolePolicyDocument: encodeDocument(r.AssumeRolePolicy),
		CreateDate:               awsapi.Time(r.Created),
		Description:              awsapi.OptionalString(r.Description),
		MaxSessionDuration:       awsapi.Int32(r.MaxSessionDuration),
		Path:                     awsapi.String(r.Path),
		RoleId:                   awsapi.String(r.ID),
		RoleName:                 awsapi.String(r.Name),
	}
	if full {
		out.Tags = responseTags(r.Tags)
		out.PermissionsBoundary = responseBoundary(r.Boundary)
	}
	return out
}

// roleLastUsed is when and where a role was last used; empty (not absent)
// for a role never used, as GetRole shows it.
func roleLastUsed(r *iamstate.Role) *iamtypes.RoleLastUsed {
	if r.LastUsed == nil {
		return &iamtypes.RoleLastUsed{}
	}
	return &iamtypes.RoleLastUsed{LastUsedDate: awsapi.Time(*r.LastUsed), Region: awsapi.OptionalString(r.LastUsedRegion)}
}

func (s *iamService) getRole(ctx context.Context, in *iamtypes.GetRoleRequest) (*iamtypes.GetRoleResponse, error) {
	v, err := roleKind.read(ctx, s.store, awsapi.Deref(in.RoleName))
	if err != nil {
		return nil, err
	}
	out := roleView(&v.Value, true)
	out.RoleLastUsed = roleLastUsed(&v.Value)
	return &iamtypes.GetRoleResponse{Role: &out}, nil
}

func (s *iamService) listRoles(ctx context.Context, in *iamtypes.ListRolesRequest) (*iamtypes.ListRolesResponse, error) {
	roles, err := listUnder(ctx, s.store, iamstate.RolePrefix, in.PathPrefix, func(r *iamstate.Role) string { return r.Path })
	if err != nil {
		return nil, err
	}
	p, err := paginate(roles, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &iamtypes.ListRolesResponse{Roles: []iamtypes.Role{}, IsTruncated: awsapi.Bool(p.truncated), Marker: p.marker}
	for i := range p.items {
		out.Roles = append(out.Roles, roleView(&p.items[i], false))
	}
	return out, nil
}

func (s *iamService) updateRole(ctx context.Context, in *iamtypes.UpdateRoleRequest) (*struct{}, error) {
	_, err := roleKind.change(ctx, s.store, awsapi.Deref(in.RoleName), func(r *iamstate.Role) ([]store.Compare, error) {
		if in.Description != nil {
			r.Description = *in.Description
		}
		if in.MaxSessionDuration != nil {
			r.MaxSessionDuration = *in.MaxSessionDuration
		}
		return nil, nil
	})
	return nil, err
}

func (s *iamService) updateRoleDescription(ctx context.Context, in *iamtypes.UpdateRoleDescriptionRequest) (*iamtypes.UpdateRoleDescriptionResponse, error) {
	r, err := roleKind.change(ctx, s.store, awsapi.Deref(in.RoleName), func(r *iamstate.Role) ([]store.Compare, error) {
		r.Description = awsapi.Deref(in.Description)
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	out := roleView(&r, true)
	return &iamtypes.UpdateRoleDescriptionResponse{Role: &out}, nil
}

func (s *iamService) updateAssumeRolePolicy(ctx context.Context, in *iamtypes.UpdateAssumeRolePolicyRequest) (*struct{}, error) {
	doc := awsapi.Deref(in.PolicyDocument)
	if err := s.checkTrustPolicy(ctx, doc); err != nil {
		return nil, err
	}
	_, err := roleKind.change(ctx, s.store, awsapi.Deref(in.RoleName), func(r *iamstate.Role) ([]store.Compare, error) {
		r.AssumeRolePolicy = doc
		return nil, nil
	})
	return nil, err
}

func (s *iamService) deleteRole(ctx context.Context, in *iamtypes.DeleteRoleRequest) (*struct{}, error) {
	return nil, deleteIdentity(ctx, s, roleKind, awsapi.Deref(in.RoleName), nil)
}

func (s *iamService) tagRole(ctx context.Context, in *iamtypes.TagRoleRequest) (*struct{}, error) {
	return nil, tagIdentity(ctx, s, roleKind, awsapi.Deref(in.RoleName), in.Tags)
}

func (s *iamService) untagRole(ctx context.Context, in *iamtypes.UntagRoleRequest) (*struct{}, error) {
	return nil, untagIdentity(ctx, s, roleKind, awsapi.Deref(in.RoleName), in.TagKeys)
}

func (s *iamService) listRoleTags(ctx context.Context, in *iamtypes.ListRoleTagsRequest) (*iamtypes.ListRoleTagsResponse, error) {
	return listIdentityTags[iamtypes.ListRoleTagsResponse](ctx, s, roleKind, awsapi.Deref(in.RoleName), in.Marker, in.MaxItems)
}

func (s *iamService) putRolePermissionsBoundary(ctx context.Context, in *iamtypes.PutRolePermissionsBoundaryRequest) (*struct{}, error) {
	return nil, putBoundary(ctx, s, roleKind, awsapi.Deref(in.RoleName), awsapi.Deref(in.PermissionsBoundary))
}

func (s *iamService) deleteRolePermissionsBoundary(ctx context.Context, in *iamtypes.DeleteRolePermissionsBoundaryRequest) (*struct{}, error) {
	return nil, deleteBoundary(ctx, s, roleKind, awsapi.Deref(in.RoleName))
}

func (s *iamService) attachRolePolicy(ctx context.Context, in *iamtypes.AttachRolePolicyRequest) (*struct{}, error) {
	return nil, attachPolicy(ctx, s, roleKind, awsapi.Deref(in.RoleName), awsapi.Deref(in.PolicyArn))
}

func (s *iamService) detachRolePolicy(ctx context.Context, in *iamtypes.DetachRolePolicyRequest) (*struct{}, error) {
	return nil, detachPolicy(ctx, s, roleKind, awsapi.Deref(in.RoleName), awsapi.Deref(in.PolicyArn))
}

func (s *iamService) listAttachedRolePolicies(ctx context.Context, in *iamtypes.ListAttachedRolePoliciesRequest) (*iamtypes.ListAttachedRolePoliciesResponse, error) {
	return listAttachedPolicies[iamtypes.ListAttachedRolePoliciesResponse](ctx, s, roleKind, awsapi.Deref(in.RoleName), in.PathPrefix, in.Marker, in.MaxItems)
}

func (s *iamService) putRolePolicy(ctx context.Context, in *iamtypes.PutRolePolicyRequest) (*struct{}, error) {
	return nil, putInlinePolicy(ctx, s, roleKind, awsapi.Deref(in.RoleName), awsapi.Deref(in.PolicyName), awsapi.Deref(in.PolicyDocument))
}

func (s *iamService) getRolePolicy(ctx context.Context, in *iamtypes.GetRolePolicyRequest) (*iamtypes.GetRolePolicyResponse, error) {
	doc, err := inlinePolicy(ctx, s, roleKind, awsapi.Deref(in.RoleName), awsapi.Deref(in.PolicyName))
	if err != nil {
		return nil, err
	}
	return &iamtypes.GetRolePolicyResponse{RoleName: in.RoleName, PolicyName: in.PolicyName, PolicyDocument: encodeDocument(doc)}, nil
}

func (s *iamService) deleteRolePolicy(ctx context.Context, in *iamtypes.DeleteRolePolicyRequest) (*struct{}, error) {
	return nil, deleteInlinePolicy(ctx, s, roleKind, awsapi.Deref(in.RoleName), awsapi.Deref(in.PolicyName))
}

func (s *iamService) listRolePolicies(ctx context.Context, in *iamtypes.ListRolePoliciesRequest) (*iamtypes.ListRolePoliciesResponse, error) {
	return listInlinePolicies[iamtypes.ListRolePoliciesResponse](ctx, s, roleKind, awsapi.Deref(in.RoleName), in.Marker, in.MaxItems)
}
