package provision

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/berth/berth/internal/awsapi"
)

// identityAPI records the calls made and answers from answer (nil: an
// empty output).
type identityAPI struct {
	calls  []string
	inputs []map[string]any
	answer func(operation string, input map[string]any) (any, error)
}

func (a *identityAPI) Invoke(_ context.Context, service, operation string, input map[string]any) (any, error) {
	a.calls = append(a.calls, operation)
	a.inputs = append(a.inputs, input)
	if a.answer != nil {
		return a.answer(operation, input)
	}
	return map[string]any{}, nil
}

// callsWith lists the calls of operation as "target:policy" pairs.
func (a *identityAPI) callsWith(operation, member string) []string {
	var out []string
	for i, op := range a.calls {
		if op == operation {
			out = append(out, a.inputs[i][member].(string)+":"+a.inputs[i]["PolicyName"].(string))
		}
	}
	return out
}

func TestInlinePolicyUpdateMovesThePolicy(t *testing.T) {
	api := &identityAPI{}
	doc := map[string]any{"Statement": []any{}}
	c := NewCall(api, Request{Type: "AWS::IAM::Policy", PhysicalID: "s-Polic-X",
		Previous:   map[string]any{"PolicyName": "p", "PolicyDocument": doc, "Roles": []any{"a", "b"}, "Users": []any{"u"}},
		Properties: map[string]any{"PolicyName": "p", "PolicyDocument": doc, "Roles": []any{"b", "c"}}})
	if _, err := updateInlinePolicy(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	// Only the new role gets the unchanged policy; the dropped role and
	// user lose it.
	if got := strings.Join(api.callsWith("PutRolePolicy", "RoleName"), " "); got != "c:p" {
		t.Errorf("put: %s", got)
	}
	if got := strings.Join(append(api.callsWith("DeleteRolePolicy", "RoleName"), api.callsWith("DeleteUserPolicy", "UserName")...), " "); got != "a:p u:p" {
		t.Errorf("deleted: %s", got)
	}

	// A new name is put everywhere and the old one removed everywhere.
	api = &identityAPI{}
	c.api = api
	c.Previous = c.Properties
	c.Properties = map[string]any{"PolicyName": "q", "PolicyDocument": doc, "Roles": []any{"b", "c"}}
	if _, err := updateInlinePolicy(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(api.callsWith("PutRolePolicy", "RoleName"), " "); got != "b:q c:q" {
		t.Errorf("put: %s", got)
	}
	if got := strings.Join(api.callsWith("DeleteRolePolicy", "RoleName"), " "); got != "b:p c:p" {
		t.Errorf("deleted: %s", got)
	}
}

func TestInlinePolicyNeedsATarget(t *testing.T) {
	c := NewCall(&identityAPI{}, Request{Stack: Stack{Name: "stack"}, LogicalID: "Policy",
		Properties: map[string]any{"PolicyName": "p", "PolicyDocument": map[string]any{}}})
	if _, err := createInlinePolicy(context.Background(), c); err == nil {
		t.Fatal("a policy on nothing was made")
	}
	if id := inlinePolicyID("stack", "Policy"); !regexp.MustCompile(`^stack-Polic-[A-Z0-9]{12}$`).MatchString(id) {
		t.Errorf("id %q", id)
	}
}

func TestManagedPolicyUpdateMakesRoomForAVersion(t *testing.T) {
	api := &identityAPI{answer: func(op string, _ map[string]any) (any, error) {
		switch op {
		case "ListPolicyVersions":
			var versions []any
			for i, def := range []bool{false, false, true, false, false} {
				versions = append(versions, map[string]any{"VersionId": "v" + string(rune('1'+i)),
					"IsDefaultVersion": def, "CreateDate": json.Number("1700000000")})
			}
			return map[string]any{"Versions": versions}, nil
		case "GetPolicy":
			return map[string]any{"Policy": map[string]any{"Arn": "arn", "DefaultVersionId": "v6"}}, nil
		}
		return map[string]any{}, nil
	}}
	c := NewCall(api, Request{PhysicalID: "arn",
		Previous:   map[string]any{"PolicyDocument": map[string]any{"a": "1"}},
		Properties: map[string]any{"PolicyDocument": map[string]any{"a": "2"}}})
	res, err := updateManagedPolicy(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(api.calls, " "); got != "ListPolicyVersions DeletePolicyVersion CreatePolicyVersion GetPolicy" {
		t.Errorf("calls: %s", got)
	}
	// The oldest version that is not the default goes.
	if v := api.inputs[1]["VersionId"]; v != "v1" {
		t.Errorf("deleted version %v", v)
	}
	if res.Attributes["DefaultVersionId"] != "v6" || res.PhysicalID != "arn" {
		t.Errorf("result %+v", res)
	}
}

func TestUserDeleteLeavesAccessKeysToIAM(t *testing.T) {
	api := &identityAPI{answer: func(op string, _ map[string]any) (any, error) {
		switch op {
		case "ListGroupsForUser":
			return map[string]any{"Groups": []any{map[string]any{"GroupName": "g"}}}, nil
		case "ListUserPolicies":
			return map[string]any{"PolicyNames": []any{"inline"}}, nil
		case "DeleteUser":
			return nil, &awsapi.Error{Code: "DeleteConflict", Message: "Cannot delete entity, must delete access keys first.", Status: 409}
		}
		return map[string]any{}, nil
	}}
	err := deleteIAMUser(context.Background(), NewCall(api, Request{PhysicalID: "u"}))
	var aerr *awsapi.Error
	if !errors.As(err, &aerr) || aerr.Code != "DeleteConflict" {
		t.Errorf("delete: %v", err)
	}
	if got := strings.Join(api.calls, " "); got != "ListGroupsForUser RemoveUserFromGroup ListAttachedUserPolicies ListUserPolicies DeleteUserPolicy DeleteUser" {
		t.Errorf("calls: %s", got)
	}
}

func TestUserLoginProfileIsRefused(t *testing.T) {
	api := &identityAPI{}
	c := NewCall(api, Request{Properties: map[string]any{"UserName": "u", "LoginProfile": map[string]any{"Password": "x"}}})
	if _, err := createIAMUser(context.Background(), c); err == nil || !strings.Contains(err.Error(), "LoginProfile") {
		t.Errorf("create: %v", err)
	}
	if len(api.calls) != 0 {
		t.Errorf("calls made: %v", api.calls)
	}
}

func TestGeneratedSecretString(t *testing.T) {
	api := &identityAPI{answer: func(op string, in map[string]any) (any, error) {
		if op != "GetRandomPassword" || in["PasswordLength"] != json.Number("8") || in["ExcludePunctuation"] != true {
			t.Errorf("%s %v", op, in)
		}
		return map[string]any{"RandomPassword": "pa<ss>&1"}, nil
	}}
	c := NewCall(api, Request{Properties: map[string]any{"GenerateSecretString": map[string]any{
		"SecretStringTemplate": `{"user": "app", "port": 5432}`, "GenerateStringKey": "password",
		"PasswordLength": json.Number("8"), "ExcludePunctuation": true}}})
	value, given, err := c.secretString(context.Background())
	if err != nil || !given {
		t.Fatal(given, err)
	}
	if value != `{"password":"pa<ss>&1","port":5432,"user":"app"}` {
		t.Errorf("value %s", value)
	}
	c.Properties["SecretString"] = "x"
	if _, _, err := c.secretString(context.Background()); err == nil {
		t.Error("both SecretString and GenerateSecretString were taken")
	}
	delete(c.Properties, "SecretString")
	delete(c.Properties["GenerateSecretString"].(map[string]any), "GenerateStringKey")
	if _, _, err := c.secretString(context.Background()); err == nil {
		t.Error("a template without a key was taken")
	}
}

func TestCloudMapOperationFailure(t *testing.T) {
	api := &identityAPI{answer: func(op string, _ map[string]any) (any, error) {
		return map[string]any{"Operation": map[string]any{"Status": "FAIL", "ErrorCode": "CANNOT_CREATE_HOSTED_ZONE", "ErrorMessage": "no"}}, nil
	}}
	_, err := NewCall(api, Request{}).cloudMapOperation(context.Background(), "op")
	var aerr *awsapi.Error
	if !errors.As(err, &aerr) || aerr.Code != "CANNOT_CREATE_HOSTED_ZONE" || aerr.Message != "no" {
		t.Errorf("err %v", err)
	}
}
