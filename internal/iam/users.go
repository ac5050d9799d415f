package iam

import (
	"context"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/iam/iamstate"
	"github.com/berth/berth/internal/iam/iamtypes"
	"github.com/berth/berth/internal/store"
)

func (s *iamService) createUser(ctx context.Context, in *iamtypes.CreateUserRequest) (*iamtypes.CreateUserResponse, error) {
	name := awsapi.Deref(in.UserName)
	tags, err := requestTags(in.Tags)
	if err != nil {
		return nil, err
	}
	path := pathOrRoot(in.Path)
	user := iamstate.User{
		Name:     name,
		Path:     path,
		ID:       newUniqueID("AIDA"),
		ARN:      s.entityARN("user", path, name),
		Created:  s.clock(),
		Tags:     tags,
		Policies: iamstate.Policies{Boundary: awsapi.Deref(in.PermissionsBoundary)},
	}
	err = store.Retry(ctx, func() error {
		boundary, err := s.optionalBoundary(ctx, user.Boundary)
		if err != nil {
			return err
		}
		return s.createRecord(ctx, iamstate.UserKey(name), user, boundary, userKind.exists(name))
	})
	if err != nil {
		return nil, err
	}
	out := userView(&user, true)
	return &iamtypes.CreateUserResponse{User: &out}, nil
}

// userView is a user as IAM's responses show it. ListUsers and GetGroup
// leave out the tags and permissions boundary (full false).
func userView(u *iamstate.User, full bool) iamtypes.User {
	out := iamtypes.User{
		Arn:        awsapi.String(u.ARN),
		CreateDate: awsapi.Time(u.Created),
		Path:       awsapi.String(u.Path),
		UserId:     awsapi.String(u.ID),
		UserName:   awsapi.String(u.Name),
	}
	if full {
		out.Tags = responseTags(u.Tags)
		out.PermissionsBoundary = responseBoundary(u.Boundary)
	}
	return out
}

// userName is the user a call names, or, when it names none, the IAM user
// that signed it.
func userName(ctx context.Context, name *string) (string, error) {
	if n := awsapi.Deref(name); n != "" {
		return n, nil
	}
	return callerUserName(ctx)
}

// readUserOrCaller reads the user a call names, or, when it names none,
// the IAM user that signed it.
func (s *iamService) readUserOrCaller(ctx context.Context, name *string) (store.Versioned[iamstate.User], error) {
	n, err := userName(ctx, name)
	if err != nil {
		return store.Versioned[iamstate.User]{}, err
	}
	return userKind.read(ctx, s.store, n)
}

func (s *iamService) getUser(ctx context.Context, in *iamtypes.GetUserRequest) (*iamtypes.GetUserResponse, error) {
	if in.UserName == nil && callerIsRoot(ctx) {
		// The account's root user, which is no IAM user: IAM describes it
		// by the account alone. UNVERIFIED: berth does not know when the
		// account was created, so CreateDate is left out.
		return &iamtypes.GetUserResponse{User: &iamtypes.User{
			Arn: awsapi.String(awsapi.RequestFrom(ctx).Caller.ARN), UserId: awsapi.String(s.account)}}, nil
	}
	v, err := s.readUserOrCaller(ctx, in.UserName)
	if err != nil {
		return nil, err
	}
	out := userView(&v.Value, true)
	return &iamtypes.GetUserResponse{User: &out}, nil
}

func (s *iamService) listUsers(ctx context.Context, in *iamtypes.ListUsersRequest) (*iamtypes.ListUsersResponse, error) {
	users, err := listUnder(ctx, s.store, iamstate.UserPrefix, in.PathPrefix, func(u *iamstate.User) string { return u.Path })
	if err != nil {
		return nil, err
	}
	p, err := paginate(users, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &iamtypes.ListUsersResponse{Users: []iamtypes.User{}, IsTruncated: awsapi.Bool(p.truncated), Marker: p.marker}
	for i := range p.items {
		out.Users = append(out.Users, userView(&p.items[i], false))
	}
	return out, nil
}

// updateUser renames or moves a user. The groups it belongs to and its
// access keys name it, and follow in the same transaction.
func (s *iamService) updateUser(ctx context.Context, in *iamtypes.UpdateUserRequest) (*struct{}, error) {
	name := awsapi.Deref(in.UserName)
	return nil, renameIdentity(ctx, s, userKind, name, awsapi.Deref(in.NewUserName), in.NewPath, func(u *iamstate.User) ([]store.Compare, []store.Op, error) {
		compares, ops, err := renameIn(ctx, s.store, groupKind, u.Groups, func(g *iamstate.Group) *[]string { return &g.Members }, name, u.Name)
		if err != nil {
			return nil, nil, err
		}
		for _, id := range u.AccessKeys {
			kv, err := store.Get[iamstate.AccessKey](ctx, s.store, iamstate.AccessKeyKey(id))
			if err != nil {
				return nil, nil, err
			}
			key := kv.Value
			key.UserName = u.Name
			op, err := store.PutJSON(iamstate.AccessKeyKey(id), key)
			if err != nil {
				return nil, nil, err
			}
			compares = append(compares, store.Compare{Key: iamstate.AccessKeyKey(id), ModRevision: kv.ModRevision})
			ops = append(ops, op)
		}
		return compares, ops, nil
	})
}

func (s *iamService) deleteUser(ctx context.Context, in *iamtypes.DeleteUserRequest) (*struct{}, error) {
	return nil, deleteIdentity(ctx, s, userKind, awsapi.Deref(in.UserName), func(u *iamstate.User) error {
		switch {
		case len(u.AccessKeys) > 0:
			return iamError(errDeleteConflict, "Cannot delete entity, must delete access keys first.")
		case len(u.Groups) > 0:
			return iamError(errDeleteConflict, "Cannot delete entity, must remove users from group first.")
		}
		return nil
	})
}

func (s *iamService) tagUser(ctx context.Context, in *iamtypes.TagUserRequest) (*struct{}, error) {
	return nil, tagIdentity(ctx, s, userKind, awsapi.Deref(in.UserName), in.Tags)
}

func (s *iamService) untagUser(ctx context.Context, in *iamtypes.UntagUserRequest) (*struct{}, error) {
	return nil, untagIdentity(ctx, s, userKind, awsapi.Deref(in.UserName), in.TagKeys)
}

func (s *iamService) listUserTags(ctx context.Context, in *iamtypes.ListUserTagsRequest) (*iamtypes.ListUserTagsResponse, error) {
	return listIdentityTags[iamtypes.ListUserTagsResponse](ctx, s, userKind, awsapi.Deref(in.UserName), in.Marker, in.MaxItems)
}

func (s *iamService) putUserPermissionsBoundary(ctx context.Context, in *iamtypes.PutUserPermissionsBoundaryRequest) (*struct{}, error) {
	return nil, putBoundary(ctx, s, userKind, awsapi.Deref(in.UserName), awsapi.Deref(in.PermissionsBoundary))
}

func (s *iamService) deleteUserPermissionsBoundary(ctx context.Context, in *iamtypes.DeleteUserPermissionsBoundaryRequest) (*struct{}, error) {
	return nil, deleteBoundary(ctx, s, userKind, awsapi.Deref(in.UserName))
}

func (s *iamService) attachUserPolicy(ctx context.Context, in *iamtypes.AttachUserPolicyRequest) (*struct{}, error) {
	return nil, attachPolicy(ctx, s, userKind, awsapi.Deref(in.UserName), awsapi.Deref(in.PolicyArn))
}

func (s *iamService) detachUserPolicy(ctx context.Context, in *iamtypes.DetachUserPolicyRequest) (*struct{}, error) {
	return nil, detachPolicy(ctx, s, userKind, awsapi.Deref(in.UserName), awsapi.Deref(in.PolicyArn))
}

func (s *iamService) listAttachedUserPolicies(ctx context.Context, in *iamtypes.ListAttachedUserPoliciesRequest) (*iamtypes.ListAttachedUserPoliciesResponse, error) {
	return listAttachedPolicies[iamtypes.ListAttachedUserPoliciesResponse](ctx, s, userKind, awsapi.Deref(in.UserName), in.PathPrefix, in.Marker, in.MaxItems)
}

func (s *iamService) putUserPolicy(ctx context.Context, in *iamtypes.PutUserPolicyRequest) (*struct{}, error) {
	return nil, putInlinePolicy(ctx, s, userKind, awsapi.Deref(in.UserName), awsapi.Deref(in.PolicyName), awsapi.Deref(in.PolicyDocument))
}

func (s *iamService) getUserPolicy(ctx context.Context, in *iamtypes.GetUserPolicyRequest) (*iamtypes.GetUserPolicyResponse, error) {
	doc, err := inlinePolicy(ctx, s, userKind, awsapi.Deref(in.UserName), awsapi.Deref(in.PolicyName))
	if err != nil {
		return nil, err
	}
	return &iamtypes.GetUserPolicyResponse{UserName: in.UserName, PolicyName: in.PolicyName, PolicyDocument: encodeDocument(doc)}, nil
}

func (s *iamService) deleteUserPolicy(ctx context.Context, in *iamtypes.DeleteUserPolicyRequest) (*struct{}, error) {
	return nil, deleteInlinePolicy(ctx, s, userKind, awsapi.Deref(in.UserName), awsapi.Deref(in.PolicyName))
}

func (s *iamService) listUserPolicies(ctx context.Context, in *iamtypes.ListUserPoliciesRequest) (*iamtypes.ListUserPoliciesResponse, error) {
	return listInlinePolicies[iamtypes.ListUserPoliciesResponse](ctx, s, userKind, awsapi.Deref(in.UserName), in.Marker, in.MaxItems)
}
