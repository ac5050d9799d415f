package provision

import (
	"context"
	"fmt"
)

// AWS::IAM::Role: Ref is the role's name; Arn and RoleId its ARN and id.
func init() {
	register("AWS::IAM::Role", &Provisioner{Create: createRole, Update: updateRole, Delete: deleteRole,
		NameProperty: "RoleName", NameLength: 64,
		Find: func(ctx context.Context, c *Call) (Result, bool, error) {
			name := c.name("RoleName", 64)
			out, err := c.invoke(ctx, "iam", "GetRole", map[string]any{"RoleName": name})
			if isNotFound(err, "NoSuchEntity") {
				return Result{}, false, nil
			}
			if err != nil {
				return Result{}, false, err
			}
			role, _ := out["Role"].(map[string]any)
			return Result{PhysicalID: name, Attributes: map[string]any{"Arn": role["Arn"], "RoleId": role["RoleId"]}}, true, nil
		}})
}

func createRole(ctx context.Context, c *Call) (Result, error) {
	name := c.name("RoleName", 64)
	trust, err := document(c.Properties["AssumeRolePolicyDocument"])
	if err != nil {
		return Result{}, err
	}
	in := map[string]any{"RoleName": name, "AssumeRolePolicyDocument": trust}
	for _, p := range []string{"Path", "Description", "MaxSessionDuration", "PermissionsBoundary"} {
		if v, ok := c.Properties[p]; ok {
			in[p] = v
		}
	}
	if tags := c.tags("Key", "Value"); len(tags) > 0 {
		in["Tags"] = tags
	}
	out, err := c.invoke(ctx, "iam", "CreateRole", in)
	if err != nil {
		return Result{}, err
	}
	role, _ := out["Role"].(map[string]any)
	res := Result{PhysicalID: name, Attributes: map[string]any{"Arn": role["Arn"], "RoleId": role["RoleId"]}}
	// The role exists from here on: a failure below leaves it for the
	// rollback to delete, with what was attached so far.
	if err := c.syncPolicies(ctx, "Role", name); err != nil {
		return res, err
	}
	return res, nil
}

func updateRole(ctx context.Context, c *Call) (Result, error) {
	name := c.PhysicalID
	if c.changed("AssumeRolePolicyDocument") {
		trust, err := document(c.Properties["AssumeRolePolicyDocument"])
		if err != nil {
			return Result{}, err
		}
		if _, err := c.invoke(ctx, "iam", "UpdateAssumeRolePolicy", map[string]any{"RoleName": name, "PolicyDocument": trust}); err != nil {
			return Result{}, err
		}
	}
	if c.changed("Description", "MaxSessionDuration") {
		in := map[string]any{"RoleName": name, "Description": c.str("Description")}
		if v, ok := c.Properties["MaxSessionDuration"]; ok {
			in["MaxSessionDuration"] = v
		}
		if _, err := c.invoke(ctx, "iam", "UpdateRole", in); err != nil {
			return Result{}, err
		}
	}
	if c.changed("PermissionsBoundary") {
		var err error
		if b := c.str("PermissionsBoundary"); b != "" {
			_, err = c.invoke(ctx, "iam", "PutRolePermissionsBoundary", map[string]any{"RoleName": name, "PermissionsBoundary": b})
		} else {
			_, err = c.invoke(ctx, "iam", "DeleteRolePermissionsBoundary", map[string]any{"RoleName": name})
		}
		if err != nil {
			return Result{}, err
		}
	}
	if err := c.syncPolicies(ctx, "Role", name); err != nil {
		return Result{}, err
	}
	if c.changed("Tags") {
		if gone := c.removedTagKeys(); len(gone) > 0 {
			if _, err := c.invoke(ctx, "iam", "UntagRole", map[string]any{"RoleName": name, "TagKeys": gone}); err != nil {
				return Result{}, err
			}
		}
		if tags := c.tags("Key", "Value"); len(tags) > 0 {
			if _, err := c.invoke(ctx, "iam", "TagRole", map[string]any{"RoleName": name, "Tags": tags}); err != nil {
				return Result{}, err
			}
		}
	}
	return Result{PhysicalID: name, Attributes: c.Attributes}, nil
}

// syncPolicies attaches the ManagedPolicyArns and puts the inline
// Policies the properties name on an IAM role or user (kind "Role" or
// "User": IAM's operations are Attach<kind>Policy, Put<kind>Policy, ...
// with <kind>Name), and detaches and deletes those the previous
// properties named and these do not.
func (c *Call) syncPolicies(ctx context.Context, kind, name string) error {
	principal := kind + "Name"
	managed := func(props map[string]any) map[string]bool {
		out := map[string]bool{}
		list, _ := props["ManagedPolicyArns"].([]any)
		for _, a := range list {
			out[fmt.Sprint(a)] = true
		}
		return out
	}
	inline := func(props map[string]any) map[string]any {
		out := map[string]any{}
		list, _ := props["Policies"].([]any)
		for _, p := range list {
			if m, ok := p.(map[string]any); ok {
				out[fmt.Sprint(m["PolicyName"])] = m["PolicyDocument"]
			}
		}
		return out
	}
	was, want := managed(c.Previous), managed(c.Properties)
	for arn := range want {
		if !was[arn] {
			if _, err := c.invoke(ctx, "iam", "Attach"+kind+"Policy", map[string]any{principal: name, "PolicyArn": arn}); err != nil {
				return err
			}
		}
	}
	for arn := range was {
		if !want[arn] {
			_, err := c.invoke(ctx, "iam", "Detach"+kind+"Policy", map[string]any{principal: name, "PolicyArn": arn})
			if err != nil && !isNotFound(err, "NoSuchEntity") {
				return err
			}
		}
	}
	wasInline, wantInline := inline(c.Previous), inline(c.Properties)
	for policy, doc := range wantInline {
		if old, ok := wasInline[policy]; ok && jsonEqual(old, doc) {
			continue
		}
		text, err := document(doc)
		if err != nil {
			return err
		}
		if _, err := c.invoke(ctx, "iam", "Put"+kind+"Policy", map[string]any{principal: name, "PolicyName": policy, "PolicyDocument": text}); err != nil {
			return err
		}
	}
	for policy := range wasInline {
		if _, ok := wantInline[policy]; !ok {
			_, err := c.invoke(ctx, "iam", "Delete"+kind+"Policy", map[string]any{principal: name, "PolicyName": policy})
			if err != nil && !isNotFound(err, "NoSuchEntity") {
				return err
			}
		}
	}
	return nil
}

// deleteRole detaches and deletes the role's policies first, as IAM
// refuses to delete a role that has any; a role made by a create that
// failed halfway may have some the properties do not list, so the role's
// own lists are read.
func deleteRole(ctx context.Context, c *Call) error {
	role := c.PhysicalID
	attached, err := c.invoke(ctx, "iam", "ListAttachedRolePolicies", map[string]any{"RoleName": role})
	if isNotFound(err, "NoSuchEntity") {
		return nil
	}
	if err != nil {
		return err
	}
	list, _ := attached["AttachedPolicies"].([]any)
	for _, p := range list {
		m, _ := p.(map[string]any)
		_, err := c.invoke(ctx, "iam", "DetachRolePolicy", map[string]any{"RoleName": role, "PolicyArn": m["PolicyArn"]})
		if err != nil && !isNotFound(err, "NoSuchEntity") {
			return err
		}
	}
	inline, err := c.invoke(ctx, "iam", "ListRolePolicies", map[string]any{"RoleName": role})
	if err != nil && !isNotFound(err, "NoSuchEntity") {
		return err
	}
	names, _ := inline["PolicyNames"].([]any)
	for _, n := range names {
		_, err := c.invoke(ctx, "iam", "DeleteRolePolicy", map[string]any{"RoleName": role, "PolicyName": n})
		if err != nil && !isNotFound(err, "NoSuchEntity") {
			return err
		}
	}
	_, err = c.invoke(ctx, "iam", "DeleteRole", map[string]any{"RoleName": role})
	if isNotFound(err, "NoSuchEntity") {
		return nil
	}
	return err
}
