package e2e

import (
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// Policies of the examples' IAM entities, where the documentation shows
// none.
const (
	// exampleTrustPolicy lets the account's principals assume a role, as
	// the documented roles' trust policies do.
	exampleTrustPolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"Statement1","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`
	// exampleEC2TrustPolicy is the trust policy of the documented roles of
	// EC2 instances.
	exampleEC2TrustPolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"","Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	// exampleECSTasksTrustPolicy lets ECS tasks assume a role.
	exampleECSTasksTrustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	// examplePolicy is a permissions policy (the AdminPolicy.json the
	// documentation names but does not show).
	examplePolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	// exampleAssumeRolePolicy lets an IAM user assume the account's roles.
	exampleAssumeRolePolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`
)

// resetIAM deletes every IAM user, group, role and customer managed
// policy of the account, with what is attached to them, so that the
// example finds only what its own setup makes.
func (e *exampleEnv) resetIAM() {
	e.t.Helper()
	ctx := e.ctx()
	for users := iam.NewListUsersPaginator(e.iam, &iam.ListUsersInput{}); users.HasMorePages(); {
		page, err := users.NextPage(ctx)
		e.must(err)
		for _, u := range page.Users {
			name := u.UserName
			keys, err := e.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: name})
			e.must(err)
			for _, k := range keys.AccessKeyMetadata {
				_, err := e.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: name, AccessKeyId: k.AccessKeyId})
				e.must(err)
			}
			inline, err := e.iam.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: name})
			e.must(err)
			for _, p := range inline.PolicyNames {
				_, err := e.iam.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: name, PolicyName: aws.String(p)})
				e.must(err)
			}
			attached, err := e.iam.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: name})
			e.must(err)
			for _, p := range attached.AttachedPolicies {
				_, err := e.iam.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: name, PolicyArn: p.PolicyArn})
				e.must(err)
			}
			groups, err := e.iam.ListGroupsForUser(ctx, &iam.ListGroupsForUserInput{UserName: name})
			e.must(err)
			for _, g := range groups.Groups {
				_, err := e.iam.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{UserName: name, GroupName: g.GroupName})
				e.must(err)
			}
			_, err = e.iam.DeleteUser(ctx, &iam.DeleteUserInput{UserName: name})
			e.must(err)
		}
	}
	for groups := iam.NewListGroupsPaginator(e.iam, &iam.ListGroupsInput{}); groups.HasMorePages(); {
		page, err := groups.NextPage(ctx)
		e.must(err)
		for _, g := range page.Groups {
			name := g.GroupName
			inline, err := e.iam.ListGroupPolicies(ctx, &iam.ListGroupPoliciesInput{GroupName: name})
			e.must(err)
			for _, p := range inline.PolicyNames {
				_, err := e.iam.DeleteGroupPolicy(ctx, &iam.DeleteGroupPolicyInput{GroupName: name, PolicyName: aws.String(p)})
				e.must(err)
			}
			attached, err := e.iam.ListAttachedGroupPolicies(ctx, &iam.ListAttachedGroupPoliciesInput{GroupName: name})
			e.must(err)
			for _, p := range attached.AttachedPolicies {
				_, err := e.iam.DetachGroupPolicy(ctx, &iam.DetachGroupPolicyInput{GroupName: name, PolicyArn: p.PolicyArn})
				e.must(err)
			}
			_, err = e.iam.DeleteGroup(ctx, &iam.DeleteGroupInput{GroupName: name})
			e.must(err)
		}
	}
	for roles := iam.NewListRolesPaginator(e.iam, &iam.ListRolesInput{}); roles.HasMorePages(); {
		page, err := roles.NextPage(ctx)
		e.must(err)
		for _, r := range page.Roles {
			name := r.RoleName
			inline, err := e.iam.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: name})
			e.must(err)
			for _, p := range inline.PolicyNames {
				_, err := e.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: name, PolicyName: aws.String(p)})
				e.must(err)
			}
			attached, err := e.iam.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: name})
			e.must(err)
			for _, p := range attached.AttachedPolicies {
				_, err := e.iam.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: name, PolicyArn: p.PolicyArn})
				e.must(err)
			}
			_, err = e.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: name})
			e.must(err)
		}
	}
	for policies := iam.NewListPoliciesPaginator(e.iam, &iam.ListPoliciesInput{Scope: iamtypes.PolicyScopeTypeLocal}); policies.HasMorePages(); {
		page, err := policies.NextPage(ctx)
		e.must(err)
		for _, p := range page.Policies {
			versions, err := e.iam.ListPolicyVersions(ctx, &iam.ListPolicyVersionsInput{PolicyArn: p.Arn})
			e.must(err)
			for _, v := range versions.Versions {
				if !v.IsDefaultVersion {
					_, err := e.iam.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: p.Arn, VersionId: v.VersionId})
					e.must(err)
				}
			}
			_, err = e.iam.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: p.Arn})
			e.must(err)
		}
	}
}

// ignoreExists passes on err unless it says the entity exists already:
// the generic preparation and an example's setup may both make one.
func ignoreExists(err error) error {
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "EntityAlreadyExists" {
		return nil
	}
	return err
}

// iamPath is the path of an IAM entity's ARN resource (user/a/b/Bob: /a/b/)
// and its name.
func iamPath(resource string) (path, name string) {
	_, rest, _ := strings.Cut(resource, "/")
	i := strings.LastIndex(rest, "/")
	return "/" + rest[:i+1], rest[i+1:]
}

// iamTags are IAM tags of key, value pairs.
func iamTags(keyValues ...string) []iamtypes.Tag {
	var tags []iamtypes.Tag
	for i := 0; i+1 < len(keyValues); i += 2 {
		tags = append(tags, iamtypes.Tag{Key: aws.String(keyValues[i]), Value: aws.String(keyValues[i+1])})
	}
	return tags
}

// user makes the IAM user name (path/name for one with a path) with
// tags, unless it exists.
func (e *exampleEnv) user(name string, tags ...string) {
	e.t.Helper()
	path, name := iamPath("user/" + name)
	_, err := e.iam.CreateUser(e.ctx(), &iam.CreateUserInput{UserName: aws.String(name), Path: aws.String(path), Tags: iamTags(tags...)})
	e.must(ignoreExists(err))
}

// group makes the IAM group name, unless it exists.
func (e *exampleEnv) group(name string) {
	e.t.Helper()
	_, err := e.iam.CreateGroup(e.ctx(), &iam.CreateGroupInput{GroupName: aws.String(name)})
	e.must(ignoreExists(err))
}

// role makes the IAM role name (path/name for one with a path) with the
// trust policy and tags, unless it exists.
func (e *exampleEnv) role(name, trust string, tags ...string) {
	e.t.Helper()
	path, name := iamPath("role/" + name)
	_, err := e.iam.CreateRole(e.ctx(), &iam.CreateRoleInput{
		RoleName: aws.String(name), Path: aws.String(path),
		AssumeRolePolicyDocument: aws.String(e.rewrite(trust)), Tags: iamTags(tags...),
	})
	e.must(ignoreExists(err))
}

// trust replaces the role's trust policy.
func (e *exampleEnv) trust(role, document string) {
	e.t.Helper()
	_, err := e.iam.UpdateAssumeRolePolicy(e.ctx(), &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(role), PolicyDocument: aws.String(e.rewrite(document))})
	e.must(err)
}

// customerPolicy makes the customer managed policy name (path/name for
// one with a path) with document and tags, unless it exists, and returns
// its ARN.
func (e *exampleEnv) customerPolicy(name, document string, tags ...string) string {
	e.t.Helper()
	path, name := iamPath("policy/" + name)
	_, err := e.iam.CreatePolicy(e.ctx(), &iam.CreatePolicyInput{
		PolicyName: aws.String(name), Path: aws.String(path), PolicyDocument: aws.String(document), Tags: iamTags(tags...),
	})
	e.must(ignoreExists(err))
	return "arn:aws:iam::" + e.s.AccountID + ":policy" + path + name
}

// policyVersion adds a version of the policy with document.
func (e *exampleEnv) policyVersion(arn, document string, isDefault bool) {
	e.t.Helper()
	_, err := e.iam.CreatePolicyVersion(e.ctx(), &iam.CreatePolicyVersionInput{PolicyArn: aws.String(e.rewrite(arn)), PolicyDocument: aws.String(document), SetAsDefault: isDefault})
	e.must(err)
}

// attach attaches the managed policy to the user, group or role (kind)
// name.
func (e *exampleEnv) attach(kind, name, policyARN string) {
	e.t.Helper()
	var err error
	arn := aws.String(e.rewrite(policyARN))
	switch kind {
	case "user":
		_, err = e.iam.AttachUserPolicy(e.ctx(), &iam.AttachUserPolicyInput{UserName: aws.String(name), PolicyArn: arn})
	case "group":
		_, err = e.iam.AttachGroupPolicy(e.ctx(), &iam.AttachGroupPolicyInput{GroupName: aws.String(name), PolicyArn: arn})
	case "role":
		_, err = e.iam.AttachRolePolicy(e.ctx(), &iam.AttachRolePolicyInput{RoleName: aws.String(name), PolicyArn: arn})
	}
	e.must(err)
}

// inlinePolicy puts the inline policy policyName with document in the
// user, group or role (kind) name.
func (e *exampleEnv) inlinePolicy(kind, name, policyName, document string) {
	e.t.Helper()
	var err error
	switch kind {
	case "user":
		_, err = e.iam.PutUserPolicy(e.ctx(), &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String(policyName), PolicyDocument: aws.String(document)})
	case "group":
		_, err = e.iam.PutGroupPolicy(e.ctx(), &iam.PutGroupPolicyInput{GroupName: aws.String(name), PolicyName: aws.String(policyName), PolicyDocument: aws.String(document)})
	case "role":
		_, err = e.iam.PutRolePolicy(e.ctx(), &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(policyName), PolicyDocument: aws.String(document)})
	}
	e.must(err)
}

// member adds the user to the groups, making them.
func (e *exampleEnv) member(user string, groups ...string) {
	e.t.Helper()
	e.user(user)
	for _, g := range groups {
		e.group(g)
		_, err := e.iam.AddUserToGroup(e.ctx(), &iam.AddUserToGroupInput{UserName: aws.String(user), GroupName: aws.String(g)})
		e.must(err)
	}
}

// accessKey makes an access key of the user and returns its id and
// secret.
func (e *exampleEnv) accessKey(user string) (id, secret string) {
	e.t.Helper()
	out, err := e.iam.CreateAccessKey(e.ctx(), &iam.CreateAccessKeyInput{UserName: aws.String(user)})
	e.must(err)
	return aws.ToString(out.AccessKey.AccessKeyId), aws.ToString(out.AccessKey.SecretAccessKey)
}

// executionRole makes the execution role of the examples' Fargate tasks,
// which ECS tasks may assume to pull images, and returns its ARN.
func (e *exampleEnv) executionRole() string {
	e.t.Helper()
	if !globalExample(e.ex) {
		e.t.Fatalf("setup: %s makes an IAM role: list it in examplesWithIAM", e.ex.ID)
	}
	e.role("ecsTaskExecutionRole", exampleECSTasksTrustPolicy)
	e.attach("role", "ecsTaskExecutionRole", "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")
	return "arn:aws:iam::" + e.s.AccountID + ":role/ecsTaskExecutionRole"
}

// runAs makes the example's command run as the IAM user, with a new
// access key of it, rather than as the account's root.
func (e *exampleEnv) runAs(user string) {
	e.t.Helper()
	id, secret := e.accessKey(user)
	e.env = append(e.env, "AWS_ACCESS_KEY_ID="+id, "AWS_SECRET_ACCESS_KEY="+secret)
}

// useKey makes a call with the access key, which IAM records as the
// key's last use.
func (e *exampleEnv) useKey(id, secret string) {
	e.t.Helper()
	cfg := e.s.SDKConfig()
	cfg.Region = e.region
	cfg.Credentials = credentials.NewStaticCredentialsProvider(id, secret, "")
	_, err := sts.NewFromConfig(cfg).GetCallerIdentity(e.ctx(), &sts.GetCallerIdentityInput{})
	e.must(err)
}

// useRole assumes the role as a new user allowed to, and makes a call
// with the session, which IAM records as the role's last use.
func (e *exampleEnv) useRole(role string) {
	e.t.Helper()
	e.user("role-user")
	e.inlinePolicy("user", "role-user", "assume-roles", exampleAssumeRolePolicy)
	id, secret := e.accessKey("role-user")
	cfg := e.s.SDKConfig()
	cfg.Region = e.region
	cfg.Credentials = credentials.NewStaticCredentialsProvider(id, secret, "")
	out, err := sts.NewFromConfig(cfg).AssumeRole(e.ctx(), &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::" + e.s.AccountID + ":role/" + role), RoleSessionName: aws.String("example"),
	})
	e.must(err)
	c := out.Credentials
	cfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	_, err = sts.NewFromConfig(cfg).GetCallerIdentity(e.ctx(), &sts.GetCallerIdentityInput{})
	e.must(err)
}

// tagIAM tags the user, role or policy (kind; a policy by its ARN) name.
func (e *exampleEnv) tagIAM(kind, name string, keyValues ...string) {
	e.t.Helper()
	var err error
	tags := iamTags(keyValues...)
	switch kind {
	case "user":
		_, err = e.iam.TagUser(e.ctx(), &iam.TagUserInput{UserName: aws.String(name), Tags: tags})
	case "role":
		_, err = e.iam.TagRole(e.ctx(), &iam.TagRoleInput{RoleName: aws.String(name), Tags: tags})
	case "policy":
		_, err = e.iam.TagPolicy(e.ctx(), &iam.TagPolicyInput{PolicyArn: aws.String(e.rewrite(name)), Tags: tags})
	}
	e.must(err)
}

// boundary sets the permissions boundary of the user or role (kind) name.
func (e *exampleEnv) boundary(kind, name, policyARN string) {
	e.t.Helper()
	var err error
	arn := aws.String(e.rewrite(policyARN))
	switch kind {
	case "user":
		_, err = e.iam.PutUserPermissionsBoundary(e.ctx(), &iam.PutUserPermissionsBoundaryInput{UserName: aws.String(name), PermissionsBoundary: arn})
	case "role":
		_, err = e.iam.PutRolePermissionsBoundary(e.ctx(), &iam.PutRolePermissionsBoundaryInput{RoleName: aws.String(name), PermissionsBoundary: arn})
	}
	e.must(err)
}
