package provision

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// IAM identities and policies besides roles (iam.go).
func init() {
	// AWS::IAM::Policy: an inline policy put on each role, user and group
	// it names. Ref is a name CloudFormation makes up, which Id repeats.
	register("AWS::IAM::Policy", &Provisioner{Create: createInlinePolicy, Update: updateInlinePolicy, Delete: deleteInlinePolicy})
	// AWS::IAM::ManagedPolicy: Ref is the policy's ARN.
	register("AWS::IAM::ManagedPolicy", &Provisioner{Create: createManagedPolicy, Update: updateManagedPolicy, Delete: deleteManagedPolicy,
		NameProperty: "ManagedPolicyName", NameLength: 128, Find: findManagedPolicy})
	// AWS::IAM::User: Ref is the user's name; Arn its ARN.
	register("AWS::IAM::User", &Provisioner{Create: createIAMUser, Update: updateIAMUser, Delete: deleteIAMUser,
		NameProperty: "UserName", NameLength: 64, Find: findIAMUser})
	// AWS::IAM::AccessKey: Ref is the access key id; SecretAccessKey its
	// secret. A new Serial replaces the key (the schema says so), which
	// is how a template rotates it.
	register("AWS::IAM::AccessKey", &Provisioner{Create: createAccessKey, Update: updateAccessKey, Delete: deleteAccessKey})
}

// iamPrincipalKind is one kind of identity a policy resource names: the
// property listing them, the member naming one in IAM's calls, and the
// calls that put and remove an inline policy or attach and detach a
// managed one.
type iamPrincipalKind struct {
	property, member             string
	putInline, deleteInline      string
	attachManaged, detachManaged string
}

var iamPrincipalKinds = []iamPrincipalKind{
	{"Roles", "RoleName", "PutRolePolicy", "DeleteRolePolicy", "AttachRolePolicy", "DetachRolePolicy"},
	{"Users", "UserName", "PutUserPolicy", "DeleteUserPolicy", "AttachUserPolicy", "DetachUserPolicy"},
	{"Groups", "GroupName", "PutGroupPolicy", "DeleteGroupPolicy", "AttachGroupPolicy", "DetachGroupPolicy"},
}

// iamNames is a list property of names as a set, in the list's order.
func iamNames(props map[string]any, property string) []string {
	list, _ := props[property].([]any)
	var out []string
	seen := map[string]bool{}
	for _, v := range list {
		s := fmt.Sprint(v)
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func iamHasName(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// inlinePolicyID is the name CloudFormation gives an AWS::IAM::Policy:
// the first five characters of the stack's name and of the logical id
// and twelve random upper-case letters and digits.
func inlinePolicyID(stackName, logicalID string) string {
	cut := func(s string) string {
		if len(s) > 5 {
			return s[:5]
		}
		return s
	}
	return cut(stackName) + "-" + cut(logicalID) + "-" + strings.ToUpper(randomSuffix(12)) // UNVERIFIED: the format of the generated id
}

func createInlinePolicy(ctx context.Context, c *Call) (Result, error) {
	targets := 0
	for _, k := range iamPrincipalKinds {
		targets += len(iamNames(c.Properties, k.property))
	}
	if targets == 0 {
		return Result{}, Failure("At least one of [Groups,Roles,Users] must be non-empty.") // UNVERIFIED wording
	}
	doc, err := document(c.Properties["PolicyDocument"])
	if err != nil {
		return Result{}, err
	}
	id := inlinePolicyID(c.Stack.Name, c.LogicalID)
	res := Result{PhysicalID: id, Attributes: map[string]any{"Id": id}}
	name := c.str("PolicyName")
	// A failure partway leaves the policy on some identities: the id is
	// returned with it so the rollback deletes it from all of them.
	for _, k := range iamPrincipalKinds {
		for _, target := range iamNames(c.Properties, k.property) {
			if _, err := c.invoke(ctx, "iam", k.putInline, map[string]any{k.member: target, "PolicyName": name, "PolicyDocument": doc}); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

// updateInlinePolicy puts the policy on the identities the properties name
// (again where its name or document changed), then takes it off those it
// no longer applies to, so that no identity lacks it in between.
func updateInlinePolicy(ctx context.Context, c *Call) (Result, error) {
	doc, err := document(c.Properties["PolicyDocument"])
	if err != nil {
		return Result{}, err
	}
	name, oldName := c.str("PolicyName"), fmt.Sprint(c.Previous["PolicyName"])
	rewrite := c.changed("PolicyName", "PolicyDocument")
	for _, k := range iamPrincipalKinds {
		was := iamNames(c.Previous, k.property)
		for _, target := range iamNames(c.Properties, k.property) {
			if !rewrite && iamHasName(was, target) {
				continue
			}
			if _, err := c.invoke(ctx, "iam", k.putInline, map[string]any{k.member: target, "PolicyName": name, "PolicyDocument": doc}); err != nil {
				return Result{}, err
			}
		}
	}
	for _, k := range iamPrincipalKinds {
		now := iamNames(c.Properties, k.property)
		for _, target := range iamNames(c.Previous, k.property) {
			if oldName == name && iamHasName(now, target) {
				continue
			}
			_, err := c.invoke(ctx, "iam", k.deleteInline, map[string]any{k.member: target, "PolicyName": oldName})
			if err != nil && !isNotFound(err, "NoSuchEntity") {
				return Result{}, err
			}
		}
	}
	return Result{PhysicalID: c.PhysicalID, Attributes: c.Attributes}, nil
}

// deleteInlinePolicy takes the policy off every identity it names; one
// that is gone, or no longer has it, is done.
func deleteInlinePolicy(ctx context.Context, c *Call) error {
	name := c.str("PolicyName")
	for _, k := range iamPrincipalKinds {
		for _, target := range iamNames(c.Properties, k.property) {
			_, err := c.invoke(ctx, "iam", k.deleteInline, map[string]any{k.member: target, "PolicyName": name})
			if err != nil && !isNotFound(err, "NoSuchEntity") {
				return err
			}
		}
	}
	return nil
}

// iamPages calls a paginated IAM list operation to its end, handing each
// page's output to page.
func (c *Call) iamPages(ctx context.Context, operation string, in map[string]any, page func(out map[string]any)) error {
	for {
		out, err := c.invoke(ctx, "iam", operation, in)
		if err != nil {
			return err
		}
		page(out)
		marker, _ := out["Marker"].(string)
		if truncated, _ := out["IsTruncated"].(bool); !truncated || marker == "" {
			return nil
		}
		next := map[string]any{"Marker": marker}
		for k, v := range in {
			if k != "Marker" {
				next[k] = v
			}
		}
		in = next
	}
}

// iamList is the items under key of every page of a list operation.
func (c *Call) iamList(ctx context.Context, operation string, in map[string]any, key string) ([]any, error) {
	var items []any
	err := c.iamPages(ctx, operation, in, func(out map[string]any) {
		page, _ := out[key].([]any)
		items = append(items, page...)
	})
	return items, err
}

// iamListAll is iamList for the lists of names and of structures alike:
// the field of each structure item, or the item itself.
func (c *Call) iamListAll(ctx context.Context, operation string, in map[string]any, key, field string) ([]string, error) {
	items, err := c.iamList(ctx, operation, in, key)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(items))
	for _, item := range items {
		if m, ok := item.(map[string]any); ok {
			out = append(out, fmt.Sprint(m[field]))
		} else {
			out = append(out, fmt.Sprint(item))
		}
	}
	return out, nil
}

// iamTime is one of IAM's times (epoch seconds in the output tree) as
// CloudFormation's date attributes give it.
func iamTime(v any) any {
	n, ok := v.(interface{ Float64() (float64, error) })
	if !ok {
		return v
	}
	f, err := n.Float64()
	if err != nil {
		return v
	}
	return time.UnixMilli(int64(f * 1000)).UTC().Format(time.RFC3339) // UNVERIFIED: the attributes' date format
}

func createManagedPolicy(ctx context.Context, c *Call) (Result, error) {
	doc, err := document(c.Properties["PolicyDocument"])
	if err != nil {
		return Result{}, err
	}
	in := map[string]any{"PolicyName": c.name("ManagedPolicyName", 128), "PolicyDocument": doc}
	for _, p := range []string{"Path", "Description"} {
		if v, ok := c.Properties[p]; ok {
			in[p] = v
		}
	}
	out, err := c.invoke(ctx, "iam", "CreatePolicy", in)
	if err != nil {
		return Result{}, err
	}
	policy, _ := out["Policy"].(map[string]any)
	res := managedPolicyResult(policy)
	// The policy exists from here on: a failure below leaves it for the
	// rollback to delete, detached from what it was attached to.
	if err := c.syncManagedPolicyAttachments(ctx, res.PhysicalID); err != nil {
		return res, err
	}
	return c.refreshManagedPolicy(ctx, res)
}

// managedPolicyResult is a managed policy's Ref and GetAtt values from
// IAM's Policy structure.
func managedPolicyResult(p map[string]any) Result {
	arn := fmt.Sprint(p["Arn"])
	return Result{PhysicalID: arn, Attributes: map[string]any{
		"PolicyArn":                     arn,
		"PolicyId":                      p["PolicyId"],
		"DefaultVersionId":              p["DefaultVersionId"],
		"AttachmentCount":               p["AttachmentCount"],
		"PermissionsBoundaryUsageCount": p["PermissionsBoundaryUsageCount"],
		"IsAttachable":                  p["IsAttachable"],
		"CreateDate":                    iamTime(p["CreateDate"]),
		"UpdateDate":                    iamTime(p["UpdateDate"]),
	}}
}

// refreshManagedPolicy reads the policy again for the attributes that
// attachments and new versions change.
func (c *Call) refreshManagedPolicy(ctx context.Context, res Result) (Result, error) {
	out, err := c.invoke(ctx, "iam", "GetPolicy", map[string]any{"PolicyArn": res.PhysicalID})
	if err != nil {
		return res, err
	}
	policy, _ := out["Policy"].(map[string]any)
	return managedPolicyResult(policy), nil
}

func findManagedPolicy(ctx context.Context, c *Call) (Result, bool, error) {
	path := c.str("Path")
	if path == "" {
		path = "/"
	}
	arn := "arn:aws:iam::" + c.Stack.Account + ":policy" + path + c.name("ManagedPolicyName", 128)
	out, err := c.invoke(ctx, "iam", "GetPolicy", map[string]any{"PolicyArn": arn})
	if isNotFound(err, "NoSuchEntity") {
		return Result{}, false, nil
	}
	if err != nil {
		return Result{}, false, err
	}
	policy, _ := out["Policy"].(map[string]any)
	return managedPolicyResult(policy), true, nil
}

// syncManagedPolicyAttachments attaches the policy to the roles, users and
// groups the properties name that the previous ones did not, and detaches
// it from those no longer named.
func (c *Call) syncManagedPolicyAttachments(ctx context.Context, arn string) error {
	for _, k := range iamPrincipalKinds {
		was, want := iamNames(c.Previous, k.property), iamNames(c.Properties, k.property)
		for _, target := range want {
			if !iamHasName(was, target) {
				if _, err := c.invoke(ctx, "iam", k.attachManaged, map[string]any{k.member: target, "PolicyArn": arn}); err != nil {
					return err
				}
			}
		}
		for _, target := range was {
			if !iamHasName(want, target) {
				_, err := c.invoke(ctx, "iam", k.detachManaged, map[string]any{k.member: target, "PolicyArn": arn})
				if err != nil && !isNotFound(err, "NoSuchEntity") {
					return err
				}
			}
		}
	}
	return nil
}

// updateManagedPolicy makes a changed document the policy's new default
// version, deleting the oldest other version first when the policy has
// the five IAM allows.
func updateManagedPolicy(ctx context.Context, c *Call) (Result, error) {
	arn := c.PhysicalID
	if c.changed("PolicyDocument") {
		doc, err := document(c.Properties["PolicyDocument"])
		if err != nil {
			return Result{}, err
		}
		if err := c.pruneManagedPolicyVersions(ctx, arn); err != nil {
			return Result{}, err
		}
		if _, err := c.invoke(ctx, "iam", "CreatePolicyVersion", map[string]any{"PolicyArn": arn, "PolicyDocument": doc, "SetAsDefault": true}); err != nil {
			return Result{}, err
		}
	}
	if err := c.syncManagedPolicyAttachments(ctx, arn); err != nil {
		return Result{}, err
	}
	return c.refreshManagedPolicy(ctx, Result{PhysicalID: arn, Attributes: c.Attributes})
}

// maxPolicyVersions is how many versions IAM keeps of a managed policy.
const maxPolicyVersions = 5

// managedPolicyVersion is one version of a managed policy.
type managedPolicyVersion struct {
	id          string
	number      int
	isDefault   bool
	createdDate float64
}

func (c *Call) managedPolicyVersions(ctx context.Context, arn string) ([]managedPolicyVersion, error) {
	items, err := c.iamList(ctx, "ListPolicyVersions", map[string]any{"PolicyArn": arn}, "Versions")
	if err != nil {
		return nil, err
	}
	var out []managedPolicyVersion
	for _, item := range items {
		m, _ := item.(map[string]any)
		v := managedPolicyVersion{id: fmt.Sprint(m["VersionId"])}
		v.isDefault, _ = m["IsDefaultVersion"].(bool)
		v.number, _ = strconv.Atoi(strings.TrimPrefix(v.id, "v"))
		if n, ok := m["CreateDate"].(interface{ Float64() (float64, error) }); ok {
			v.createdDate, _ = n.Float64()
		}
		out = append(out, v)
	}
	// Oldest first: by creation, then by number (v1 before v2).
	sort.Slice(out, func(i, j int) bool {
		if out[i].createdDate != out[j].createdDate {
			return out[i].createdDate < out[j].createdDate
		}
		return out[i].number < out[j].number
	})
	return out, nil
}

// pruneManagedPolicyVersions makes room for a new version.
func (c *Call) pruneManagedPolicyVersions(ctx context.Context, arn string) error {
	versions, err := c.managedPolicyVersions(ctx, arn)
	if err != nil || len(versions) < maxPolicyVersions {
		return err
	}
	for _, v := range versions {
		if !v.isDefault {
			_, err := c.invoke(ctx, "iam", "DeletePolicyVersion", map[string]any{"PolicyArn": arn, "VersionId": v.id})
			if isNotFound(err, "NoSuchEntity") {
				return nil
			}
			return err
		}
	}
	return nil
}

// deleteManagedPolicy detaches the policy from every identity it is
// attached to (whether the stack attached it or not: IAM refuses to
// delete an attached policy) and deletes its other versions, as IAM
// requires before DeletePolicy.
func deleteManagedPolicy(ctx context.Context, c *Call) error {
	arn := c.PhysicalID
	attached := map[string][]string{}
	err := c.iamPages(ctx, "ListEntitiesForPolicy", map[string]any{"PolicyArn": arn}, func(out map[string]any) {
		for _, k := range iamPrincipalKinds {
			list, _ := out["Policy"+k.property].([]any)
			for _, item := range list {
				m, _ := item.(map[string]any)
				attached[k.property] = append(attached[k.property], fmt.Sprint(m[k.member]))
			}
		}
	})
	if isNotFound(err, "NoSuchEntity") {
		return nil
	}
	if err != nil {
		return err
	}
	for _, k := range iamPrincipalKinds {
		for _, name := range attached[k.property] {
			_, err := c.invoke(ctx, "iam", k.detachManaged, map[string]any{k.member: name, "PolicyArn": arn})
			if err != nil && !isNotFound(err, "NoSuchEntity") {
				return err
			}
		}
	}
	versions, err := c.managedPolicyVersions(ctx, arn)
	if isNotFound(err, "NoSuchEntity") {
		return nil
	}
	if err != nil {
		return err
	}
	for _, v := range versions {
		if v.isDefault {
			continue
		}
		_, err := c.invoke(ctx, "iam", "DeletePolicyVersion", map[string]any{"PolicyArn": arn, "VersionId": v.id})
		if err != nil && !isNotFound(err, "NoSuchEntity") {
			return err
		}
	}
	_, err = c.invoke(ctx, "iam", "DeletePolicy", map[string]any{"PolicyArn": arn})
	if isNotFound(err, "NoSuchEntity") {
		return nil
	}
	return err
}

// refuseLoginProfile refuses a user's LoginProfile: berth's IAM has no
// console passwords (CreateLoginProfile).
func (c *Call) refuseLoginProfile() error {
	if _, ok := c.Properties["LoginProfile"]; ok {
		return fmt.Errorf("berth does not support the property LoginProfile yet: its IAM has no login profiles (CreateLoginProfile)")
	}
	return nil
}

func createIAMUser(ctx context.Context, c *Call) (Result, error) {
	if err := c.refuseLoginProfile(); err != nil {
		return Result{}, err
	}
	name := c.name("UserName", 64)
	in := map[string]any{"UserName": name}
	for _, p := range []string{"Path", "PermissionsBoundary"} {
		if v, ok := c.Properties[p]; ok {
			in[p] = v
		}
	}
	if tags := c.tags("Key", "Value"); len(tags) > 0 {
		in["Tags"] = tags
	}
	out, err := c.invoke(ctx, "iam", "CreateUser", in)
	if err != nil {
		return Result{}, err
	}
	user, _ := out["User"].(map[string]any)
	res := Result{PhysicalID: name, Attributes: map[string]any{"Arn": user["Arn"]}}
	// The user exists from here on: a failure below leaves it for the
	// rollback to delete, with what was added so far.
	if err := c.syncUserMemberships(ctx, name); err != nil {
		return res, err
	}
	return res, nil
}

func findIAMUser(ctx context.Context, c *Call) (Result, bool, error) {
	name := c.name("UserName", 64)
	out, err := c.invoke(ctx, "iam", "GetUser", map[string]any{"UserName": name})
	if isNotFound(err, "NoSuchEntity") {
		return Result{}, false, nil
	}
	if err != nil {
		return Result{}, false, err
	}
	user, _ := out["User"].(map[string]any)
	return Result{PhysicalID: name, Attributes: map[string]any{"Arn": user["Arn"]}}, true, nil
}

func updateIAMUser(ctx context.Context, c *Call) (Result, error) {
	if err := c.refuseLoginProfile(); err != nil {
		return Result{}, err
	}
	name := c.PhysicalID
	attrs := c.Attributes
	if c.changed("Path") {
		path := c.str("Path")
		if path == "" {
			path = "/"
		}
		if _, err := c.invoke(ctx, "iam", "UpdateUser", map[string]any{"UserName": name, "NewPath": path}); err != nil {
			return Result{}, err
		}
		// The ARN holds the path.
		out, err := c.invoke(ctx, "iam", "GetUser", map[string]any{"UserName": name})
		if err != nil {
			return Result{}, err
		}
		user, _ := out["User"].(map[string]any)
		attrs = map[string]any{"Arn": user["Arn"]}
	}
	if c.changed("PermissionsBoundary") {
		var err error
		if b := c.str("PermissionsBoundary"); b != "" {
			_, err = c.invoke(ctx, "iam", "PutUserPermissionsBoundary", map[string]any{"UserName": name, "PermissionsBoundary": b})
		} else {
			_, err = c.invoke(ctx, "iam", "DeleteUserPermissionsBoundary", map[string]any{"UserName": name})
		}
		if err != nil {
			return Result{}, err
		}
	}
	if err := c.syncUserMemberships(ctx, name); err != nil {
		return Result{}, err
	}
	if c.changed("Tags") {
		if gone := c.removedTagKeys(); len(gone) > 0 {
			if _, err := c.invoke(ctx, "iam", "UntagUser", map[string]any{"UserName": name, "TagKeys": gone}); err != nil {
				return Result{}, err
			}
		}
		if tags := c.tags("Key", "Value"); len(tags) > 0 {
			if _, err := c.invoke(ctx, "iam", "TagUser", map[string]any{"UserName": name, "Tags": tags}); err != nil {
				return Result{}, err
			}
		}
	}
	return Result{PhysicalID: name, Attributes: attrs}, nil
}

// syncUserMemberships adds the user to the Groups and undoes those the
// previous properties named and these do not, then syncs its policies.
func (c *Call) syncUserMemberships(ctx context.Context, user string) error {
	was, want := iamNames(c.Previous, "Groups"), iamNames(c.Properties, "Groups")
	for _, g := range want {
		if !iamHasName(was, g) {
			if _, err := c.invoke(ctx, "iam", "AddUserToGroup", map[string]any{"UserName": user, "GroupName": g}); err != nil {
				return err
			}
		}
	}
	for _, g := range was {
		if !iamHasName(want, g) {
			_, err := c.invoke(ctx, "iam", "RemoveUserFromGroup", map[string]any{"UserName": user, "GroupName": g})
			if err != nil && !isNotFound(err, "NoSuchEntity") {
				return err
			}
		}
	}
	return c.syncPolicies(ctx, "User", user)
}

// deleteIAMUser takes the user out of its groups and removes its
// policies, all of them as IAM lists them (a user made by a create that
// failed halfway may have some the properties do not list), as IAM
// refuses to delete a user that has any. Access keys are left alone: the
// stack's own AccessKey resources are deleted before the user they name,
// and a key made outside the stack is someone's credential, so IAM's
// refusal to delete a user that still has one fails the deletion.
func deleteIAMUser(ctx context.Context, c *Call) error {
	user := c.PhysicalID
	groups, err := c.iamListAll(ctx, "ListGroupsForUser", map[string]any{"UserName": user}, "Groups", "GroupName")
	if isNotFound(err, "NoSuchEntity") {
		return nil
	}
	if err != nil {
		return err
	}
	for _, g := range groups {
		_, err := c.invoke(ctx, "iam", "RemoveUserFromGroup", map[string]any{"UserName": user, "GroupName": g})
		if err != nil && !isNotFound(err, "NoSuchEntity") {
			return err
		}
	}
	attached, err := c.iamListAll(ctx, "ListAttachedUserPolicies", map[string]any{"UserName": user}, "AttachedPolicies", "PolicyArn")
	if err != nil && !isNotFound(err, "NoSuchEntity") {
		return err
	}
	for _, arn := range attached {
		_, err := c.invoke(ctx, "iam", "DetachUserPolicy", map[string]any{"UserName": user, "PolicyArn": arn})
		if err != nil && !isNotFound(err, "NoSuchEntity") {
			return err
		}
	}
	inline, err := c.iamListAll(ctx, "ListUserPolicies", map[string]any{"UserName": user}, "PolicyNames", "")
	if err != nil && !isNotFound(err, "NoSuchEntity") {
		return err
	}
	for _, name := range inline {
		_, err := c.invoke(ctx, "iam", "DeleteUserPolicy", map[string]any{"UserName": user, "PolicyName": name})
		if err != nil && !isNotFound(err, "NoSuchEntity") {
			return err
		}
	}
	_, err = c.invoke(ctx, "iam", "DeleteUser", map[string]any{"UserName": user})
	if isNotFound(err, "NoSuchEntity") {
		return nil
	}
	return err
}

func createAccessKey(ctx context.Context, c *Call) (Result, error) {
	user := c.str("UserName")
	out, err := c.invoke(ctx, "iam", "CreateAccessKey", map[string]any{"UserName": user})
	if err != nil {
		return Result{}, err
	}
	key, _ := out["AccessKey"].(map[string]any)
	id := fmt.Sprint(key["AccessKeyId"])
	res := Result{PhysicalID: id, Attributes: map[string]any{
		"SecretAccessKey": key["SecretAccessKey"],
		"Id":              id, // UNVERIFIED: the resource specification lists Id; the reference page documents SecretAccessKey only
	}}
	if status := c.str("Status"); status != "" && status != fmt.Sprint(key["Status"]) {
		if _, err := c.invoke(ctx, "iam", "UpdateAccessKey", map[string]any{"UserName": user, "AccessKeyId": id, "Status": status}); err != nil {
			return res, err
		}
	}
	return res, nil
}

func updateAccessKey(ctx context.Context, c *Call) (Result, error) {
	if c.changed("Status") {
		status := c.str("Status")
		if status == "" {
			status = "Active"
		}
		if _, err := c.invoke(ctx, "iam", "UpdateAccessKey", map[string]any{"UserName": c.str("UserName"), "AccessKeyId": c.PhysicalID, "Status": status}); err != nil {
			return Result{}, err
		}
	}
	return Result{PhysicalID: c.PhysicalID, Attributes: c.Attributes}, nil
}

func deleteAccessKey(ctx context.Context, c *Call) error {
	_, err := c.invoke(ctx, "iam", "DeleteAccessKey", map[string]any{"UserName": c.str("UserName"), "AccessKeyId": c.PhysicalID})
	if isNotFound(err, "NoSuchEntity") {
		return nil
	}
	return err
}
