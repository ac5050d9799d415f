package iam

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/iam/iamstate"
	"github.com/berth/berth/internal/iam/iamtypes"
	"github.com/berth/berth/internal/store"
)

// groupsPerUser is how many groups a user may belong to.
const groupsPerUser = 10

func (s *iamService) createGroup(ctx context.Context, in *iamtypes.CreateGroupRequest) (*iamtypes.CreateGroupResponse, error) {
	name, path := awsapi.Deref(in.GroupName), pathOrRoot(in.Path)
	group := iamstate.Group{
		Name:    name,
		Path:    path,
		ID:      newUniqueID("AGPA"),
		ARN:     s.entityARN("group", path, name),
		Created: s.clock(),
	}
	err := store.Retry(ctx, func() error {
		return s.createRecord(ctx, iamstate.GroupKey(name), group, nil, groupKind.exists(name))
	})
	if err != nil {
		return nil, err
	}
	out := groupView(&group)
	return &iamtypes.CreateGroupResponse{Group: &out}, nil
}

func groupView(g *iamstate.Group) iamtypes.Group {
	return iamtypes.Group{
		Arn:        awsapi.String(g.ARN),
		CreateDate: awsapi.Time(g.Created),
		GroupId:    awsapi.String(g.ID),
		GroupName:  awsapi.String(g.Name),
		Path:       awsapi.String(g.Path),
	}
}

// getGroup describes a group and lists its members, a page at a time.
func (s *iamService) getGroup(ctx context.Context, in *iamtypes.GetGroupRequest) (*iamtypes.GetGroupResponse, error) {
	v, err := groupKind.read(ctx, s.store, awsapi.Deref(in.GroupName))
	if err != nil {
		return nil, err
	}
	p, err := paginate(v.Value.Members, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	group := groupView(&v.Value)
	out := &iamtypes.GetGroupResponse{Group: &group, Users: []iamtypes.User{}, IsTruncated: awsapi.Bool(p.truncated), Marker: p.marker}
	for _, name := range p.items {
		u, err := userKind.read(ctx, s.store, name)
		if err != nil {
			return nil, err
		}
		out.Users = append(out.Users, userView(&u.Value, false))
	}
	return out, nil
}

func (s *iamService) listGroups(ctx context.Context, in *iamtypes.ListGroupsRequest) (*iamtypes.ListGroupsResponse, error) {
	groups, err := listUnder(ctx, s.store, iamstate.GroupPrefix, in.PathPrefix, func(g *iamstate.Group) string { return g.Path })
	if err != nil {
		return nil, err
	}
	p, err := paginate(groups, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &iamtypes.ListGroupsResponse{Groups: []iamtypes.Group{}, IsTruncated: awsapi.Bool(p.truncated), Marker: p.marker}
	for i := range p.items {
		out.Groups = append(out.Groups, groupView(&p.items[i]))
	}
	return out, nil
}

// updateGroup renames or moves a group. Its members name it, and follow in
// the same transaction.
func (s *iamService) updateGroup(ctx context.Context, in *iamtypes.UpdateGroupRequest) (*struct{}, error) {
	name := awsapi.Deref(in.GroupName)
	return nil, renameIdentity(ctx, s, groupKind, name, awsapi.Deref(in.NewGroupName), in.NewPath, func(g *iamstate.Group) ([]store.Compare, []store.Op, error) {
		return renameIn(ctx, s.store, userKind, g.Members, func(u *iamstate.User) *[]string { return &u.Groups }, name, g.Name)
	})
}

func (s *iamService) deleteGroup(ctx context.Context, in *iamtypes.DeleteGroupRequest) (*struct{}, error) {
	return nil, deleteIdentity(ctx, s, groupKind, awsapi.Deref(in.GroupName), func(g *iamstate.Group) error {
		if len(g.Members) > 0 {
			return iamError(errDeleteConflict, "Cannot delete entity, must remove users from group first.")
		}
		return nil
	})
}

// membership reads a group and a user and writes both back after change,
// which sees whether the user is a member and updates both sides of the
// membership (Group.Members, User.Groups) together.
func (s *iamService) membership(ctx context.Context, groupName, user string, change func(g *iamstate.Group, u *iamstate.User, member bool) error) error {
	return store.Retry(ctx, func() error {
		gv, err := groupKind.read(ctx, s.store, groupName)
		if err != nil {
			return err
		}
		uv, err := userKind.read(ctx, s.store, user)
		if err != nil {
			return err
		}
		g, u := gv.Value, uv.Value
		member := slices.ContainsFunc(g.Members, func(m string) bool { return strings.EqualFold(m, u.Name) })
		if err := change(&g, &u, member); errors.Is(err, store.ErrUnchanged) {
			return nil
		} else if err != nil {
			return err
		}
		gop, err := store.PutJSON(iamstate.GroupKey(groupName), g)
		if err != nil {
			return err
		}
		uop, err := store.PutJSON(iamstate.UserKey(user), u)
		if err != nil {
			return err
		}
		_, err = s.store.Txn(ctx, store.Txn{
			If: []store.Compare{
				{Key: iamstate.GroupKey(groupName), ModRevision: gv.ModRevision},
				{Key: iamstate.UserKey(user), ModRevision: uv.ModRevision},
			},
			Then: []store.Op{gop, uop},
		})
		return err
	})
}

func (s *iamService) addUserToGroup(ctx context.Context, in *iamtypes.AddUserToGroupRequest) (*struct{}, error) {
	return nil, s.membership(ctx, awsapi.Deref(in.GroupName), awsapi.Deref(in.UserName), func(g *iamstate.Group, u *iamstate.User, member bool) error {
		if member {
			return store.ErrUnchanged
		}
		if len(u.Groups) >= groupsPerUser {
			return quotaExceeded("GroupsPerUser", groupsPerUser)
		}
		g.Members = append(slices.Clone(g.Members), u.Name)
		u.Groups = append(slices.Clone(u.Groups), g.Name)
		return nil
	})
}

func (s *iamService) removeUserFromGroup(ctx context.Context, in *iamtypes.RemoveUserFromGroupRequest) (*struct{}, error) {
	return nil, s.membership(ctx, awsapi.Deref(in.GroupName), awsapi.Deref(in.UserName), func(g *iamstate.Group, u *iamstate.User, member bool) error {
		if !member {
			return iamError(errNoSuchEntity, "User %s is not in group %s.", u.Name, g.Name) // UNVERIFIED wording
		}
		g.Members = slices.DeleteFunc(slices.Clone(g.Members), func(m string) bool { return strings.EqualFold(m, u.Name) })
		u.Groups = slices.DeleteFunc(slices.Clone(u.Groups), func(n string) bool { return strings.EqualFold(n, g.Name) })
		return nil
	})
}

func (s *iamService) listGroupsForUser(ctx context.Context, in *iamtypes.ListGroupsForUserRequest) (*iamtypes.ListGroupsForUserResponse, error) {
	v, err := userKind.read(ctx, s.store, awsapi.Deref(in.UserName))
	if err != nil {
		return nil, err
	}
	p, err := paginate(v.Value.Groups, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &iamtypes.ListGroupsForUserResponse{Groups: []iamtypes.Group{}, IsTruncated: awsapi.Bool(p.truncated), Marker: p.marker}
	for _, name := range p.items {
		g, err := groupKind.read(ctx, s.store, name)
		if err != nil {
			return nil, err
		}
		out.Groups = append(out.Groups, groupView(&g.Value))
	}
	return out, nil
}

func (s *iamService) attachGroupPolicy(ctx context.Context, in *iamtypes.AttachGroupPolicyRequest) (*struct{}, error) {
	return nil, attachPolicy(ctx, s, groupKind, awsapi.Deref(in.GroupName), awsapi.Deref(in.PolicyArn))
}

func (s *iamService) detachGroupPolicy(ctx context.Context, in *iamtypes.DetachGroupPolicyRequest) (*struct{}, error) {
	return nil, detachPolicy(ctx, s, groupKind, awsapi.Deref(in.GroupName), awsapi.Deref(in.PolicyArn))
}

func (s *iamService) listAttachedGroupPolicies(ctx context.Context, in *iamtypes.ListAttachedGroupPoliciesRequest) (*iamtypes.ListAttachedGroupPoliciesResponse, error) {
	return listAttachedPolicies[iamtypes.ListAttachedGroupPoliciesResponse](ctx, s, groupKind, awsapi.Deref(in.GroupName), in.PathPrefix, in.Marker, in.MaxItems)
}

func (s *iamService) putGroupPolicy(ctx context.Context, in *iamtypes.PutGroupPolicyRequest) (*struct{}, error) {
	return nil, putInlinePolicy(ctx, s, groupKind, awsapi.Deref(in.GroupName), awsapi.Deref(in.PolicyName), awsapi.Deref(in.PolicyDocument))
}

func (s *iamService) getGroupPolicy(ctx context.Context, in *iamtypes.GetGroupPolicyRequest) (*iamtypes.GetGroupPolicyResponse, error) {
	doc, err := inlinePolicy(ctx, s, groupKind, awsapi.Deref(in.GroupName), awsapi.Deref(in.PolicyName))
	if err != nil {
		return nil, err
	}
	return &iamtypes.GetGroupPolicyResponse{GroupName: in.GroupName, PolicyName: in.PolicyName, PolicyDocument: encodeDocument(doc)}, nil
}

func (s *iamService) deleteGroupPolicy(ctx context.Context, in *iamtypes.DeleteGroupPolicyRequest) (*struct{}, error) {
	return nil, deleteInlinePolicy(ctx, s, groupKind, awsapi.Deref(in.GroupName), awsapi.Deref(in.PolicyName))
}

func (s *iamService) listGroupPolicies(ctx context.Context, in *iamtypes.ListGroupPoliciesRequest) (*iamtypes.ListGroupPoliciesResponse, error) {
	return listInlinePolicies[iamtypes.ListGroupPoliciesResponse](ctx, s, groupKind, awsapi.Deref(in.GroupName), in.Marker, in.MaxItems)
}
