package iam

import (
	"context"
	"errors"
	"reflect"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/iam/iamstate"
	"github.com/berth/berth/internal/iam/iamtypes"
	"github.com/berth/berth/internal/store"
)

// iamResourceTypes names the resource type each IAM operation acts on, as
// the Service Authorization Reference lists it; the operations not here
// (ListRoles, ListUsers, ListGroups, ListPolicies,
// GetAccountAuthorizationDetails, GetAccountSummary, SimulateCustomPolicy)
// act on "*".
var iamResourceTypes = map[string]string{
	"CreateRole": "role", "GetRole": "role", "UpdateRole": "role", "UpdateRoleDescription": "role",
	"UpdateAssumeRolePolicy": "role", "DeleteRole": "role", "TagRole": "role", "UntagRole": "role",
	"ListRoleTags": "role", "PutRolePermissionsBoundary": "role", "DeleteRolePermissionsBoundary": "role",
	"AttachRolePolicy": "role", "DetachRolePolicy": "role", "ListAttachedRolePolicies": "role",
	"PutRolePolicy": "role", "GetRolePolicy": "role", "DeleteRolePolicy": "role", "ListRolePolicies": "role",

	"CreateUser": "user", "GetUser": "user", "UpdateUser": "user", "DeleteUser": "user", "TagUser": "user",
	"UntagUser": "user", "ListUserTags": "user", "PutUserPermissionsBoundary": "user",
	"DeleteUserPermissionsBoundary": "user", "AttachUserPolicy": "user", "DetachUserPolicy": "user",
	"ListAttachedUserPolicies": "user", "PutUserPolicy": "user", "GetUserPolicy": "user",
	"DeleteUserPolicy": "user", "ListUserPolicies": "user", "CreateAccessKey": "user",
	"ListAccessKeys": "user", "UpdateAccessKey": "user", "DeleteAccessKey": "user",
	"GetAccessKeyLastUsed": "user", "ListGroupsForUser": "user",

	"CreateGroup": "group", "GetGroup": "group", "UpdateGroup": "group", "DeleteGroup": "group",
	"AddUserToGroup": "group", "RemoveUserFromGroup": "group", "AttachGroupPolicy": "group",
	"DetachGroupPolicy": "group", "ListAttachedGroupPolicies": "group", "PutGroupPolicy": "group",
	"GetGroupPolicy": "group", "DeleteGroupPolicy": "group", "ListGroupPolicies": "group",

	"CreatePolicy": "policy", "GetPolicy": "policy", "DeletePolicy": "policy", "CreatePolicyVersion": "policy",
	"GetPolicyVersion": "policy", "ListPolicyVersions": "policy", "SetDefaultPolicyVersion": "policy",
	"DeletePolicyVersion": "policy", "ListEntitiesForPolicy": "policy", "TagPolicy": "policy",
	"UntagPolicy": "policy", "ListPolicyTags": "policy",

	// The user, group or role whose policies are simulated.
	"SimulatePrincipalPolicy": "source",
}

// access is what an IAM call asks, for the gateway to authorize:
// iam:<operation> on the role, user, group or policy it acts on, with the
// condition keys it sets (aws:RequestTag/<key>, aws:TagKeys, iam:PolicyARN,
// iam:PermissionsBoundary) and those of the resource's tags
// (aws:ResourceTag/<key>).
func (s *iamService) access(ctx context.Context, op string, input any) ([]awsapi.Access, error) {
	a := awsapi.Access{Action: "iam:" + op, Resource: "*"}
	// Path: where the entity a Create call makes will be.
	path, _ := inputField(input, "Path").(*string)
	var tags []iamstate.Tag
	var err error
	switch iamResourceTypes[op] {
	case "role":
		a.Resource, tags, err = s.roleResource(ctx, inputString(input, "RoleName"), path)
	case "user":
		a.Resource, tags, err = s.userResource(ctx, op, input, path)
	case "group":
		a.Resource, err = s.groupResource(ctx, inputString(input, "GroupName"), path)
	case "policy":
		a.Resource, tags, err = s.policyResource(ctx, input, path)
	case "source":
		a.Resource = inputString(input, "PolicySourceArn")
	}
	if err != nil {
		return nil, err
	}
	for _, t := range tags {
		a.Context = setContext(a.Context, "aws:ResourceTag/"+t.Key, t.Value)
	}
	setTags, _ := inputField(input, "Tags").([]iamtypes.Tag)
	removeKeys, _ := inputField(input, "TagKeys").([]string)
	a.Context = tagContext(a.Context, setTags, removeKeys)
	switch op {
	case "AttachRolePolicy", "DetachRolePolicy", "AttachUserPolicy", "DetachUserPolicy", "AttachGroupPolicy", "DetachGroupPolicy":
		a.Context = setContext(a.Context, "iam:PolicyARN", inputString(input, "PolicyArn"))
	}
	if b := inputString(input, "PermissionsBoundary"); b != "" {
		a.Context = setContext(a.Context, "iam:PermissionsBoundary", b)
	}
	return []awsapi.Access{a}, nil
}

// roleResource is the ARN and tags of the role a call names; a role that
// does not exist (yet) is named under path.
func (s *iamService) roleResource(ctx context.Context, name string, path *string) (string, []iamstate.Tag, error) {
	v, err := roleKind.read(ctx, s.store, name)
	if errors.Is(err, errNoSuchEntity) {
		return s.entityARN("role", pathOrRoot(path), name), nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	return v.Value.ARN, v.Value.Tags, nil
}

// groupResource is the ARN of the group a call names; a group that does
// not exist (yet) is named under path.
func (s *iamService) groupResource(ctx context.Context, name string, path *string) (string, error) {
	v, err := groupKind.read(ctx, s.store, name)
	if errors.Is(err, errNoSuchEntity) {
		return s.entityARN("group", pathOrRoot(path), name), nil
	}
	if err != nil {
		return "", err
	}
	return v.Value.ARN, nil
}

// userResource is the ARN and tags of the user a call acts on: the one it
// names, the caller when it names none, the owner of the access key
// GetAccessKeyLastUsed names.
func (s *iamService) userResource(ctx context.Context, op string, input any, path *string) (string, []iamstate.Tag, error) {
	name := inputString(input, "UserName")
	if op == "GetAccessKeyLastUsed" {
		k, err := store.Get[iamstate.AccessKey](ctx, s.store, iamstate.AccessKeyKey(inputString(input, "AccessKeyId")))
		if errors.Is(err, store.ErrNotFound) {
			return "*", nil, nil
		}
		if err != nil {
			return "", nil, err
		}
		name = k.Value.UserName
	}
	// A call that names no user is about the caller itself.
	arn := awsapi.RequestFrom(ctx).Caller.ARN
	if name == "" {
		n, err := callerUserName(ctx)
		if err != nil {
			return arn, nil, nil // the root, or a role session
		}
		name = n
	} else {
		arn = s.entityARN("user", pathOrRoot(path), name)
	}
	v, err := userKind.read(ctx, s.store, name)
	if errors.Is(err, errNoSuchEntity) {
		return arn, nil, nil // not (yet) a user
	}
	if err != nil {
		return "", nil, err
	}
	return v.Value.ARN, v.Value.Tags, nil
}

// policyResource is the ARN and tags of the managed policy a call names,
// or creates.
func (s *iamService) policyResource(ctx context.Context, input any, path *string) (string, []iamstate.Tag, error) {
	arn := inputString(input, "PolicyArn")
	if arn == "" { // CreatePolicy
		return s.entityARN("policy", pathOrRoot(path), inputString(input, "PolicyName")), nil, nil
	}
	ref, _, err := s.lookupPolicy(ctx, arn)
	if err != nil || ref == nil || ref.local == nil {
		return arn, nil, err
	}
	return arn, ref.local.Value.Tags, nil
}

// setContext sets a condition key to one value.
func setContext(ctx map[string][]string, key, value string) map[string][]string {
	if ctx == nil {
		ctx = map[string][]string{}
	}
	ctx[key] = []string{value}
	return ctx
}

// inputField is the value of an input struct's field, nil when the input
// has no such field. The IAM inputs name the same things the same way
// (RoleName, UserName, PolicyArn, Tags), so access reads them by name.
func inputField(input any, name string) any {
	v := reflect.ValueOf(input)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	f := v.FieldByName(name)
	if !f.IsValid() {
		return nil
	}
	return f.Interface()
}

// inputString is an input's string field, "" when absent or unset.
func inputString(input any, name string) string {
	p, _ := inputField(input, name).(*string)
	return awsapi.Deref(p)
}
