package iam

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/gateway"
	"github.com/berth/berth/internal/gateway/gatewaytest"
	"github.com/berth/berth/internal/iam/iamstate"
	"github.com/berth/berth/internal/iam/managed"
	"github.com/berth/berth/internal/secretbox"
	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/store/bolt"
)

const (
	iamTestRegion  = "us-east-1" // IAM signs for us-east-1
	iamTestAccount = "123456789012"
	// iamRootKey signs as the account's root (berth's admin key),
	// iamAliceKey as the IAM user alice, iamRoleKey as a role session.
	iamRootKey   = "AKIDIAMROOTTEST"
	iamAliceKey  = "AKIDIAMALICETEST"
	iamRoleKey   = "ASIAIAMROLETEST"
	iamKeySecret = "berth-iam-test-secret"
)

// iamTestCredentials knows the test's three signers.
type iamTestCredentials struct{}

func (iamTestCredentials) Secret(id string) (string, string, bool) {
	switch id {
	case iamRootKey, iamAliceKey, iamRoleKey:
		return iamKeySecret, iamTestAccount, true
	}
	return "", "", false
}

func (iamTestCredentials) Caller(id string) (awsapi.Caller, bool) {
	switch id {
	case iamRootKey:
		return awsapi.Caller{ARN: "arn:aws:iam::" + iamTestAccount + ":root", UserID: iamTestAccount, Admin: true}, true
	case iamAliceKey:
		return awsapi.Caller{ARN: "arn:aws:iam::" + iamTestAccount + ":user/team/alice", UserID: "AIDAALICE"}, true
	case iamRoleKey:
		return awsapi.Caller{ARN: "arn:aws:sts::" + iamTestAccount + ":assumed-role/app/s1", UserID: "AROAAPP:s1"}, true
	}
	return awsapi.Caller{}, false
}

// iamTestEnv is the IAM API behind the real gateway, with SDK clients
// signing as the root, as alice and as a role session.
type iamTestEnv struct {
	t     *testing.T
	store store.Store
	box   *secretbox.Box
	root  *sdk.Client
	alice *sdk.Client
	role  *sdk.Client
	svc   *awsapi.Service
}

func newIAMTestEnv(t *testing.T) *iamTestEnv {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	box, err := secretbox.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	e := &iamTestEnv{t: t, store: st, box: box}
	e.svc = NewService(Config{Store: st, Box: box, AccountID: iamTestAccount, Logger: slog.New(slog.DiscardHandler)})
	url := gatewaytest.Serve(t, gateway.Config{Region: iamTestRegion, AccountID: iamTestAccount, Credentials: iamTestCredentials{},
		Services: []*awsapi.Service{e.svc}})
	client := func(key string) *sdk.Client {
		return sdk.NewFromConfig(gatewaytest.Config(url, iamTestRegion, aws.Credentials{AccessKeyID: key, SecretAccessKey: iamKeySecret}))
	}
	e.root, e.alice, e.role = client(iamRootKey), client(iamAliceKey), client(iamRoleKey)
	return e
}

// wantIAMError checks err is the IAM error code with message (any message
// when msg is empty) and HTTP status.
func wantIAMError(t *testing.T, err error, status int, code, msg string) {
	t.Helper()
	gatewaytest.WantError(t, err, code, msg)
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != status {
		t.Fatalf("status of %v: want %d", err, status)
	}
}

// iamMust unwraps an SDK call's output, failing the test on an error.
func iamMust[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// iamECSTasksTrust is the trust policy of ECS's task execution role, as the
// ECS documentation gives it.
const iamECSTasksTrust = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "",
      "Effect": "Allow",
      "Principal": {
        "Service": "ecs-tasks.amazonaws.com"
      },
      "Action": "sts:AssumeRole"
    }
  ]
}`

const iamTaskExecutionPolicyARN = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"

// iamAllowDoc is an identity-based policy allowing action on resource.
func iamAllowDoc(action, resource string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":%q,"Resource":%q}]}`, action, resource)
}

// decodeIAMDoc decodes a URL-encoded policy document of a response.
func decodeIAMDoc(t *testing.T, s *string) string {
	t.Helper()
	doc, err := url.PathUnescape(aws.ToString(s))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestIAMTaskExecutionRole follows the ECS getting-started commands:
// create-role ecsTaskExecutionRole with the ecs-tasks trust policy, then
// attach-role-policy AmazonECSTaskExecutionRolePolicy.
func TestIAMTaskExecutionRole(t *testing.T) {
	e := newIAMTestEnv(t)
	ctx := context.Background()
	c := e.root
	created := iamMust[*sdk.CreateRoleOutput](t)(c.CreateRole(ctx, &sdk.CreateRoleInput{
		RoleName: aws.String("ecsTaskExecutionRole"), AssumeRolePolicyDocument: aws.String(iamECSTasksTrust),
	}))
	r := created.Role
	if aws.ToString(r.Arn) != "arn:aws:iam::123456789012:role/ecsTaskExecutionRole" || aws.ToString(r.Path) != "/" ||
		!regexp.MustCompile(`^AROA[A-Z2-7]{17}$`).MatchString(aws.ToString(r.RoleId)) || aws.ToInt32(r.MaxSessionDuration) != 3600 ||
		r.CreateDate == nil || decodeIAMDoc(t, r.AssumeRolePolicyDocument) != iamECSTasksTrust {
		t.Fatalf("created %+v", r)
	}
	if _, err := c.AttachRolePolicy(ctx, &sdk.AttachRolePolicyInput{RoleName: aws.String("ecsTaskExecutionRole"), PolicyArn: aws.String(iamTaskExecutionPolicyARN)}); err != nil {
		t.Fatal(err)
	}
	// Attaching again changes nothing.
	if _, err := c.AttachRolePolicy(ctx, &sdk.AttachRolePolicyInput{RoleName: aws.String("ecsTaskExecutionRole"), PolicyArn: aws.String(iamTaskExecutionPolicyARN)}); err != nil {
		t.Fatal(err)
	}
	attached := iamMust[*sdk.ListAttachedRolePoliciesOutput](t)(c.ListAttachedRolePolicies(ctx, &sdk.ListAttachedRolePoliciesInput{RoleName: aws.String("ecsTaskExecutionRole")}))
	if len(attached.AttachedPolicies) != 1 || aws.ToString(attached.AttachedPolicies[0].PolicyName) != "AmazonECSTaskExecutionRolePolicy" ||
		aws.ToString(attached.AttachedPolicies[0].PolicyArn) != iamTaskExecutionPolicyARN || attached.IsTruncated {
		t.Fatalf("attached %+v", attached)
	}
	got := iamMust[*sdk.GetRoleOutput](t)(c.GetRole(ctx, &sdk.GetRoleInput{RoleName: aws.String("ECSTASKEXECUTIONROLE")}))
	if aws.ToString(got.Role.RoleName) != "ecsTaskExecutionRole" || got.Role.RoleLastUsed == nil || got.Role.RoleLastUsed.LastUsedDate != nil {
		t.Fatalf("get-role %+v", got.Role)
	}

	p := iamMust[*sdk.GetPolicyOutput](t)(c.GetPolicy(ctx, &sdk.GetPolicyInput{PolicyArn: aws.String(iamTaskExecutionPolicyARN)})).Policy
	if aws.ToString(p.PolicyId) != "ANPAJG4T4G4PV56DE72PY" || aws.ToInt32(p.AttachmentCount) != 1 || aws.ToString(p.Path) != "/service-role/" ||
		aws.ToString(p.DefaultVersionId) != "v1" || !p.IsAttachable || aws.ToString(p.Description) == "" {
		t.Fatalf("policy %+v", p)
	}
	v := iamMust[*sdk.GetPolicyVersionOutput](t)(c.GetPolicyVersion(ctx, &sdk.GetPolicyVersionInput{PolicyArn: aws.String(iamTaskExecutionPolicyARN), VersionId: aws.String("v1")}))
	want, _ := managed.Lookup(iamTaskExecutionPolicyARN)
	if decodeIAMDoc(t, v.PolicyVersion.Document) != want.Document || !v.PolicyVersion.IsDefaultVersion {
		t.Fatalf("version %+v", v.PolicyVersion)
	}
	_, err := c.GetPolicyVersion(ctx, &sdk.GetPolicyVersionInput{PolicyArn: aws.String(iamTaskExecutionPolicyARN), VersionId: aws.String("v2")})
	wantIAMError(t, err, http.StatusNotFound, "NoSuchEntity", "")
	entities := iamMust[*sdk.ListEntitiesForPolicyOutput](t)(c.ListEntitiesForPolicy(ctx, &sdk.ListEntitiesForPolicyInput{PolicyArn: aws.String(iamTaskExecutionPolicyARN)}))
	if len(entities.PolicyRoles) != 1 || aws.ToString(entities.PolicyRoles[0].RoleName) != "ecsTaskExecutionRole" || len(entities.PolicyUsers) != 0 {
		t.Fatalf("entities %+v", entities)
	}

	_, err = c.DeleteRole(ctx, &sdk.DeleteRoleInput{RoleName: aws.String("ecsTaskExecutionRole")})
	wantIAMError(t, err, http.StatusConflict, "DeleteConflict", "Cannot delete entity, must detach all policies first.")
	if _, err := c.DetachRolePolicy(ctx, &sdk.DetachRolePolicyInput{RoleName: aws.String("ecsTaskExecutionRole"), PolicyArn: aws.String(iamTaskExecutionPolicyARN)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DetachRolePolicy(ctx, &sdk.DetachRolePolicyInput{RoleName: aws.String("ecsTaskExecutionRole"), PolicyArn: aws.String(iamTaskExecutionPolicyARN)})
	wantIAMError(t, err, http.StatusNotFound, "NoSuchEntity", "Policy "+iamTaskExecutionPolicyARN+" was not found.")
	if _, err := c.DeleteRole(ctx, &sdk.DeleteRoleInput{RoleName: aws.String("ecsTaskExecutionRole")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetRole(ctx, &sdk.GetRoleInput{RoleName: aws.String("ecsTaskExecutionRole")})
	wantIAMError(t, err, http.StatusNotFound, "NoSuchEntity", "The role with name ecsTaskExecutionRole cannot be found.")
}

func TestIAMRoleErrors(t *testing.T) {
	e := newIAMTestEnv(t)
	ctx := context.Background()
	c := e.root
	create := func(name string) error {
		_, err := c.CreateRole(ctx, &sdk.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(iamECSTasksTrust)})
		return err
	}
	if err := create("app"); err != nil {
		t.Fatal(err)
	}
	wantIAMError(t, create("APP"), http.StatusConflict, "EntityAlreadyExists", "Role with name APP already exists.")
	wantIAMError(t, create("bad name"), http.StatusBadRequest, "ValidationError",
		`1 validation error detected: Value 'bad name' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`)
	wantIAMError(t, create(strings.Repeat("r", 65)), http.StatusBadRequest, "ValidationError", "")
	_, err := c.CreateRole(ctx, &sdk.CreateRoleInput{RoleName: aws.String("long"), AssumeRolePolicyDocument: aws.String(iamECSTasksTrust), MaxSessionDuration: aws.Int32(60)})
	wantIAMError(t, err, http.StatusBadRequest, "ValidationError",
		"1 validation error detected: Value '60' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600")
	_, err = c.CreateRole(ctx, &sdk.CreateRoleInput{RoleName: aws.String("pathy"), AssumeRolePolicyDocument: aws.String(iamECSTasksTrust), Path: aws.String("no-slashes")})
	wantIAMError(t, err, http.StatusBadRequest, "ValidationError", "")

	_, err = c.AttachRolePolicy(ctx, &sdk.AttachRolePolicyInput{RoleName: aws.String("app"), PolicyArn: aws.String("arn:aws:iam::aws:policy/NoSuchPolicy")})
	wantIAMError(t, err, http.StatusNotFound, "NoSuchEntity", "Policy arn:aws:iam::aws:policy/NoSuchPolicy does not exist or is not attachable.")
	_, err = c.AttachRolePolicy(ctx, &sdk.AttachRolePolicyInput{RoleName: aws.String("nope"), PolicyArn: aws.String(iamTaskExecutionPolicyARN)})
	wantIAMError(t, err, http.StatusNotFound, "NoSuchEntity", "The role with name nope cannot be found.")
	for i := range 10 {
		arn := iamMust[*sdk.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &sdk.CreatePolicyInput{
			PolicyName: aws.String(fmt.Sprintf("p%d", i)), PolicyDocument: aws.String(iamAllowDoc("s3:GetObject", "*")),
		})).Policy.Arn
		if _, err := c.AttachRolePolicy(ctx, &sdk.AttachRolePolicyInput{RoleName: aws.String("app"), PolicyArn: arn}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.AttachRolePolicy(ctx, &sdk.AttachRolePolicyInput{RoleName: aws.String("app"), PolicyArn: aws.String(iamTaskExecutionPolicyARN)})
	wantIAMError(t, err, http.StatusConflict, "LimitExceeded", "Cannot exceed quota for PoliciesPerRole: 10")

	// Inline policies: 10,240 characters for all of a role's, white space
	// not counted.
	big := iamAllowDoc("s3:GetObject", "arn:aws:s3:::"+strings.Repeat("b", 5200))
	if _, err := c.PutRolePolicy(ctx, &sdk.PutRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("one"), PolicyDocument: aws.String(big)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.PutRolePolicy(ctx, &sdk.PutRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("two"), PolicyDocument: aws.String(big)})
	wantIAMError(t, err, http.StatusConflict, "LimitExceeded", "Cannot exceed quota for RolePolicySize: 10240")
	// Replacing the one policy is measured without its old text.
	if _, err := c.PutRolePolicy(ctx, &sdk.PutRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("one"), PolicyDocument: aws.String(big)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetRolePolicy(ctx, &sdk.GetRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("two")})
	wantIAMError(t, err, http.StatusNotFound, "NoSuchEntity", "The role policy with name two cannot be found.")
	_, err = c.DeleteRolePolicy(ctx, &sdk.DeleteRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("two")})
	wantIAMError(t, err, http.StatusNotFound, "NoSuchEntity", "The role policy with name two cannot be found.")

	// A trust policy over 2,048 characters.
	longTrust := strings.Replace(iamECSTasksTrust, `"Sid": ""`, `"Sid": "`+strings.Repeat("s", 2048)+`"`, 1)
	_, err = c.UpdateAssumeRolePolicy(ctx, &sdk.UpdateAssumeRolePolicyInput{RoleName: aws.String("app"), PolicyDocument: aws.String(longTrust)})
	wantIAMError(t, err, http.StatusConflict, "LimitExceeded", "Cannot exceed quota for ACLSizePerRole: 2048")
}

// TestIAMPolicyGrammar depends on internal/iam/policy: the documents IAM
// refuses, and the principals of trust policies, which must exist.
func TestIAMPolicyGrammar(t *testing.T) {
	e := newIAMTestEnv(t)
	ctx := context.Background()
	c := e.root
	_, err := c.CreateRole(ctx, &sdk.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17"`)})
	wantIAMError(t, err, http.StatusBadRequest, "MalformedPolicyDocument", "Syntax errors in policy.")
	missing := "arn:aws:iam::123456789012:role/missing"
	trustMissing := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + missing + `"},"Action":"sts:AssumeRole"}]}`
	_, err = c.CreateRole(ctx, &sdk.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(trustMissing)})
	wantIAMError(t, err, http.StatusBadRequest, "MalformedPolicyDocument", `Invalid principal in policy: "AWS":"`+missing+`"`)
	if _, err := c.CreateRole(ctx, &sdk.CreateRoleInput{RoleName: aws.String("missing"), AssumeRolePolicyDocument: aws.String(iamECSTasksTrust)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateRole(ctx, &sdk.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(trustMissing)}); err != nil {
		t.Fatal(err)
	}
	// Identity-based policies name no principal.
	_, err = c.PutRolePolicy(ctx, &sdk.PutRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("p"), PolicyDocument: aws.String(iamECSTasksTrust)})
	wantIAMError(t, err, http.StatusBadRequest, "MalformedPolicyDocument", "")
	// Managed policies must use the 2012-10-17 language.
	old := strings.Replace(iamAllowDoc("s3:GetObject", "*"), "2012-10-17", "2008-10-17", 1)
	_, err = c.CreatePolicy(ctx, &sdk.CreatePolicyInput{PolicyName: aws.String("old"), PolicyDocument: aws.String(old)})
	wantIAMError(t, err, http.StatusBadRequest, "MalformedPolicyDocument", "Policy document must be version 2012-10-17 or greater.")
	if _, err := c.PutRolePolicy(ctx, &sdk.PutRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("old"), PolicyDocument: aws.String(old)}); err != nil {
		t.Fatal(err)
	}
}

// TestIAMDocumentsURLEncoded checks the documents IAM returns come
// URL-encoded, as RFC 3986 says, and decode to the text given.
func TestIAMDocumentsURLEncoded(t *testing.T) {
	e := newIAMTestEnv(t)
	ctx := context.Background()
	c := e.root
	inline := "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"logs:*\", \"Resource\": \"arn:aws:logs:*:*:log-group:/ecs/a+b~c\"}]\n}"
	iamMust[*sdk.CreateRoleOutput](t)(c.CreateRole(ctx, &sdk.CreateRoleInput{RoleName: aws.String("app"), AssumeRolePolicyDocument: aws.String(iamECSTasksTrust)}))
	if _, err := c.PutRolePolicy(ctx, &sdk.PutRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("logs"), PolicyDocument: aws.String(inline)}); err != nil {
		t.Fatal(err)
	}
	got := iamMust[*sdk.GetRolePolicyOutput](t)(c.GetRolePolicy(ctx, &sdk.GetRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("logs")}))
	raw := aws.ToString(got.PolicyDocument)
	if !strings.HasPrefix(raw, "%7B%0A%20%20%22Version%22%3A%20%222012-10-17%22%2C") || !strings.Contains(raw, "%2A") ||
		!strings.Contains(raw, "a%2Bb~c") || decodeIAMDoc(t, got.PolicyDocument) != inline {
		t.Fatalf("document %s", raw)
	}
	role := iamMust[*sdk.GetRoleOutput](t)(c.GetRole(ctx, &sdk.GetRoleInput{RoleName: aws.String("app")})).Role
	if !strings.HasPrefix(aws.ToString(role.AssumeRolePolicyDocument), "%7B%0A") {
		t.Fatalf("trust %s", aws.ToString(role.AssumeRolePolicyDocument))
	}
	names := iamMust[*sdk.ListRolePoliciesOutput](t)(c.ListRolePolicies(ctx, &sdk.ListRolePoliciesInput{RoleName: aws.String("app")}))
	if strings.Join(names.PolicyNames, ",") != "logs" {
		t.Fatalf("names %v", names.PolicyNames)
	}
	_, err := c.DeleteRole(ctx, &sdk.DeleteRoleInput{RoleName: aws.String("app")})
	wantIAMError(t, err, http.StatusConflict, "DeleteConflict", "Cannot delete entity, must delete policies first.")
	if _, err := c.DeleteRolePolicy(ctx, &sdk.DeleteRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("logs")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteRole(ctx, &sdk.DeleteRoleInput{RoleName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
}

func TestIAMListRolesPagination(t *testing.T) {
	e := newIAMTestEnv(t)
	ctx := context.Background()
	c := e.root
	for i, path := range []string{"/", "/ecs/", "/ecs/", "/ecs/batch/", "/other/"} {
		iamMust[*sdk.CreateRoleOutput](t)(c.CreateRole(ctx, &sdk.CreateRoleInput{
			RoleName: aws.String(fmt.Sprintf("role%d", i)), Path: aws.String(path), AssumeRolePolicyDocument: aws.String(iamECSTasksTrust),
			Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}},
		}))
	}
	var names []string
	pages := 0
	p := sdk.NewListRolesPaginator(c, &sdk.ListRolesInput{MaxItems: aws.Int32(2)})
	for p.HasMorePages() {
		out := iamMust[*sdk.ListRolesOutput](t)(p.NextPage(ctx))
		pages++
		for _, r := range out.Roles {
			names = append(names, aws.ToString(r.RoleName))
			if r.Tags != nil || r.RoleLastUsed != nil {
				t.Fatalf("ListRoles shows %+v", r)
			}
		}
	}
	if pages != 3 || strings.Join(names, ",") != "role0,role1,role2,role3,role4" {
		t.Fatalf("%d pages: %v", pages, names)
	}
	ecs := iamMust[*sdk.ListRolesOutput](t)(c.ListRoles(ctx, &sdk.ListRolesInput{PathPrefix: aws.String("/ecs/")}))
	if len(ecs.Roles) != 3 || ecs.IsTruncated || aws.ToString(ecs.Roles[2].Arn) != "arn:aws:iam::123456789012:role/ecs/batch/role3" {
		t.Fatalf("under /ecs/: %+v", ecs.Roles)
	}
	_, err := c.ListRoles(ctx, &sdk.ListRolesInput{Marker: aws.String("not a marker")})
	wantIAMError(t, err, http.StatusBadRequest, "ValidationError", "")
}

func TestIAMRoleUpdatesTagsAndBoundary(t *testing.T) {
	e := newIAMTestEnv(t)
	ctx := context.Background()
	c := e.root
	boundary := "arn:aws:iam::aws:policy/PowerUserAccess"
	created := iamMust[*sdk.CreateRoleOutput](t)(c.CreateRole(ctx, &sdk.CreateRoleInput{
		RoleName: aws.String("app"), AssumeRolePolicyDocument: aws.String(iamECSTasksTrust), Description: aws.String("the app"),
		MaxSessionDuration: aws.Int32(7200), PermissionsBoundary: aws.String(boundary),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}},
	})).Role
	if aws.ToString(created.Description) != "the app" || aws.ToInt32(created.MaxSessionDuration) != 7200 ||
		created.PermissionsBoundary == nil || aws.ToString(created.PermissionsBoundary.PermissionsBoundaryArn) != boundary || len(created.Tags) != 1 {
		t.Fatalf("created %+v", created)
	}
	_, err := c.CreateRole(ctx, &sdk.CreateRoleInput{RoleName: aws.String("b"), AssumeRolePolicyDocument: aws.String(iamECSTasksTrust),
		Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("1")}, {Key: aws.String("K"), Value: aws.String("2")}}})
	wantIAMError(t, err, http.StatusBadRequest, "InvalidInput", "Duplicate tag keys found. Please note that Tag keys are case insensitive.")

	if _, err := c.UpdateRole(ctx, &sdk.UpdateRoleInput{RoleName: aws.String("app"), MaxSessionDuration: aws.Int32(43200)}); err != nil {
		t.Fatal(err)
	}
	updated := iamMust[*sdk.UpdateRoleDescriptionOutput](t)(c.UpdateRoleDescription(ctx, &sdk.UpdateRoleDescriptionInput{RoleName: aws.String("app"), Description: aws.String("new")})).Role
	if aws.ToString(updated.Description) != "new" || aws.ToInt32(updated.MaxSessionDuration) != 43200 {
		t.Fatalf("updated %+v", updated)
	}
	trust := strings.Replace(iamECSTasksTrust, "ecs-tasks", "ecs", 1)
	if _, err := c.UpdateAssumeRolePolicy(ctx, &sdk.UpdateAssumeRolePolicyInput{RoleName: aws.String("app"), PolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TagRole(ctx, &sdk.TagRoleInput{RoleName: aws.String("app"), Tags: []types.Tag{
		{Key: aws.String("TEAM"), Value: aws.String("b")}, {Key: aws.String("env"), Value: aws.String("prod")},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagRole(ctx, &sdk.UntagRoleInput{RoleName: aws.String("app"), TagKeys: []string{"env", "absent"}}); err != nil {
		t.Fatal(err)
	}
	tags := iamMust[*sdk.ListRoleTagsOutput](t)(c.ListRoleTags(ctx, &sdk.ListRoleTagsInput{RoleName: aws.String("app")}))
	if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "TEAM" || aws.ToString(tags.Tags[0].Value) != "b" {
		t.Fatalf("tags %+v", tags.Tags)
	}
	many := make([]types.Tag, 50)
	for i := range many {
		many[i] = types.Tag{Key: aws.String(fmt.Sprintf("k%d", i)), Value: aws.String("v")}
	}
	_, err = c.TagRole(ctx, &sdk.TagRoleInput{RoleName: aws.String("app"), Tags: many})
	wantIAMError(t, err, http.StatusConflict, "LimitExceeded", "")

	got := iamMust[*sdk.GetRoleOutput](t)(c.GetRole(ctx, &sdk.GetRoleInput{RoleName: aws.String("app")})).Role
	if decodeIAMDoc(t, got.AssumeRolePolicyDocument) != trust || got.PermissionsBoundary == nil {
		t.Fatalf("role %+v", got)
	}
	if _, err := c.DeleteRolePermissionsBoundary(ctx, &sdk.DeleteRolePermissionsBoundaryInput{RoleName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.PutRolePermissionsBoundary(ctx, &sdk.PutRolePermissionsBoundaryInput{RoleName: aws.String("app"), PermissionsBoundary: aws.String("arn:aws:iam::123456789012:policy/none")})
	wantIAMError(t, err, http.StatusNotFound, "NoSuchEntity", "")
	got = iamMust[*sdk.GetRoleOutput](t)(c.GetRole(ctx, &sdk.GetRoleInput{RoleName: aws.String("app")})).Role
	if got.PermissionsBoundary != nil {
		t.Fatalf("boundary left: %+v", got.PermissionsBoundary)
	}
}

func TestIAMManagedPolicies(t *testing.T) {
	e := newIAMTestEnv(t)
	ctx := context.Background()
	c := e.root
	doc := iamAllowDoc("ecr:BatchGetImage", "*")
	created := iamMust[*sdk.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &sdk.CreatePolicyInput{
		PolicyName: aws.String("pull"), Path: aws.String("/ci/"), PolicyDocument: aws.String(doc), Description: aws.String("pulls"),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}},
	})).Policy
	arn := aws.ToString(created.Arn)
	if arn != "arn:aws:iam::123456789012:policy/ci/pull" || !regexp.MustCompile(`^ANPA[A-Z2-7]{17}$`).MatchString(aws.ToString(created.PolicyId)) ||
		aws.ToString(created.DefaultVersionId) != "v1" || aws.ToInt32(created.AttachmentCount) != 0 {
		t.Fatalf("created %+v", created)
	}
	_, err := c.CreatePolicy(ctx, &sdk.CreatePolicyInput{PolicyName: aws.String("PULL"), PolicyDocument: aws.String(doc)})
	wantIAMError(t, err, http.StatusConflict, "EntityAlreadyExists", "A policy called PULL already exists. Duplicate names are not allowed.")
	_, err = c.GetPolicy(ctx, &sdk.GetPolicyInput{PolicyArn: aws.String("arn:aws:iam::123456789012:policy/pull")})
	wantIAMError(t, err, http.StatusNotFound, "NoSuchEntity", "Policy arn:aws:iam::123456789012:policy/pull was not found.")
	_, err = c.CreatePolicy(ctx, &sdk.CreatePolicyInput{PolicyName: aws.String("huge"), PolicyDocument: aws.String(iamAllowDoc("s3:GetObject", "arn:aws:s3:::"+strings.Repeat("b", 6144)))})
	wantIAMError(t, err, http.StatusConflict, "LimitExceeded", "Cannot exceed quota for PolicySize: 6144")

	// Versions: at most five; the default cannot go; v ids are not reused.
	for i := 2; i <= 5; i++ {
		v := iamMust[*sdk.CreatePolicyVersionOutput](t)(c.CreatePolicyVersion(ctx, &sdk.CreatePolicyVersionInput{
			PolicyArn: aws.String(arn), PolicyDocument: aws.String(iamAllowDoc("ecr:*", "*")), SetAsDefault: i == 3,
		})).PolicyVersion
		if aws.ToString(v.VersionId) != fmt.Sprintf("v%d", i) || v.IsDefaultVersion != (i == 3) {
			t.Fatalf("version %+v", v)
		}
	}
	_, err = c.CreatePolicyVersion(ctx, &sdk.CreatePolicyVersionInput{PolicyArn: aws.String(arn), PolicyDocument: aws.String(doc)})
	wantIAMError(t, err, http.StatusConflict, "LimitExceeded", "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.")
	_, err = c.DeletePolicyVersion(ctx, &sdk.DeletePolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v3")})
	wantIAMError(t, err, http.StatusConflict, "DeleteConflict", "Cannot delete the default version of a policy.")
	if _, err := c.DeletePolicyVersion(ctx, &sdk.DeletePolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v5")}); err != nil {
		t.Fatal(err)
	}
	v6 := iamMust[*sdk.CreatePolicyVersionOutput](t)(c.CreatePolicyVersion(ctx, &sdk.CreatePolicyVersionInput{PolicyArn: aws.String(arn), PolicyDocument: aws.String(doc)}))
	if aws.ToString(v6.PolicyVersion.VersionId) != "v6" {
		t.Fatalf("next version %+v", v6.PolicyVersion)
	}
	if _, err := c.SetDefaultPolicyVersion(ctx, &sdk.SetDefaultPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v6")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.SetDefaultPolicyVersion(ctx, &sdk.SetDefaultPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v5")})
	wantIAMError(t, err, http.StatusNotFound, "NoSuchEntity", "")
	versions := iamMust[*sdk.ListPolicyVersionsOutput](t)(c.ListPolicyVersions(ctx, &sdk.ListPolicyVersionsInput{PolicyArn: aws.String(arn)}))
	var ids []string
	for _, v := range versions.Versions {
		ids = append(ids, aws.ToString(v.VersionId))
		if v.Document != nil {
			t.Fatal("ListPolicyVersions shows documents")
		}
	}
	if strings.Join(ids, ",") != "v6,v4,v3,v2,v1" {
		t.Fatalf("versions %v", ids)
	}
	v6doc := iamMust[*sdk.GetPolicyVersionOutput](t)(c.GetPolicyVersion(ctx, &sdk.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v6")}))
	if decodeIAMDoc(t, v6doc.PolicyVersion.Document) != doc || !v6doc.PolicyVersion.IsDefaultVersion {
		t.Fatalf("v6 %+v", v6doc.PolicyVersion)
	}

	// Listing, by scope and use.
	iamMust[*sdk.CreateUserOutput](t)(c.CreateUser(ctx, &sdk.CreateUserInput{UserName: aws.String("bob")}))
	if _, err := c.AttachUserPolicy(ctx, &sdk.AttachUserPolicyInput{UserName: aws.String("bob"), PolicyArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	local := iamMust[*sdk.ListPoliciesOutput](t)(c.ListPolicies(ctx, &sdk.ListPoliciesInput{Scope: types.PolicyScopeTypeLocal}))
	if len(local.Policies) != 1 || aws.ToInt32(local.Policies[0].AttachmentCount) != 1 || local.Policies[0].Description != nil {
		t.Fatalf("local %+v", local.Policies)
	}
	awsOnes := iamMust[*sdk.ListPoliciesOutput](t)(c.ListPolicies(ctx, &sdk.ListPoliciesInput{Scope: types.PolicyScopeTypeAws, PathPrefix: aws.String("/service-role/")}))
	if len(awsOnes.Policies) < 2 {
		t.Fatalf("AWS managed under /service-role/: %+v", awsOnes.Policies)
	}
	attached := iamMust[*sdk.ListPoliciesOutput](t)(c.ListPolicies(ctx, &sdk.ListPoliciesInput{OnlyAttached: true}))
	if len(attached.Policies) != 1 || aws.ToString(attached.Policies[0].Arn) != arn {
		t.Fatalf("attached %+v", attached.Policies)
	}
	all := iamMust[*sdk.ListPoliciesOutput](t)(c.ListPolicies(ctx, &sdk.ListPoliciesInput{MaxItems: aws.Int32(5)}))
	if len(all.Policies) != 5 || !all.IsTruncated || all.Marker == nil {
		t.Fatalf("all %+v", all)
	}
	got := iamMust[*sdk.GetPolicyOutput](t)(c.GetPolicy(ctx, &sdk.GetPolicyInput{PolicyArn: aws.String(arn)})).Policy
	if aws.ToString(got.Description) != "pulls" || aws.ToString(got.DefaultVersionId) != "v6" || len(got.Tags) != 1 || aws.ToInt32(got.AttachmentCount) != 1 {
		t.Fatalf("got %+v", got)
	}

	// Tags.
	if _, err := c.TagPolicy(ctx, &sdk.TagPolicyInput{PolicyArn: aws.String(arn), Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("ci")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagPolicy(ctx, &sdk.UntagPolicyInput{PolicyArn: aws.String(arn), TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	ptags := iamMust[*sdk.ListPolicyTagsOutput](t)(c.ListPolicyTags(ctx, &sdk.ListPolicyTagsInput{PolicyArn: aws.String(arn)}))
	if len(ptags.Tags) != 1 || aws.ToString(ptags.Tags[0].Key) != "env" {
		t.Fatalf("policy tags %+v", ptags.Tags)
	}

	// Deleting: not while attached, not with versions besides the default.
	_, err = c.DeletePolicy(ctx, &sdk.DeletePolicyInput{PolicyArn: aws.String(arn)})
	wantIAMError(t, err, http.StatusConflict, "DeleteConflict", "Cannot delete a policy attached to entities.")
	if _, err := c.DetachUserPolicy(ctx, &sdk.DetachUserPolicyInput{UserName: aws.String("bob"), PolicyArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeletePolicy(ctx, &sdk.DeletePolicyInput{PolicyArn: aws.String(arn)})
	wantIAMError(t, err, http.StatusConflict, "DeleteConflict",
		"This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.")
	for _, v := range []string{"v1", "v2", "v3", "v4"} {
		if _, err := c.DeletePolicyVersion(ctx, &sdk.DeletePolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String(v)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.DeletePolicy(ctx, &sdk.DeletePolicyInput{PolicyArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetPolicy(ctx, &sdk.GetPolicyInput{PolicyArn: aws.String(arn)})
	wantIAMError(t, err, http.StatusNotFound, "NoSuchEntity", "")

	// AWS managed policies are AWS's.
	_, err = c.DeletePolicy(ctx, &sdk.DeletePolicyInput{PolicyArn: aws.String(iamTaskExecutionPolicyARN)})
	wantIAMError(t, err, http.StatusForbidden, "AccessDenied", "")
	_, err = c.CreatePolicyVersion(ctx, &sdk.CreatePolicyVersionInput{PolicyArn: aws.String(iamTaskExecutionPolicyARN), PolicyDocument: aws.String(doc)})
	wantIAMError(t, err, http.StatusForbidden, "AccessDenied", "")
}

func TestIAMUsersAndAccessKeys(t *testing.T) {
	e := newIAMTestEnv(t)
	ctx := context.Background()
	c := e.root
	u := iamMust[*sdk.CreateUserOutput](t)(c.CreateUser(ctx, &sdk.CreateUserInput{UserName: aws.String("alice"), Path: aws.String("/team/")})).User
	if aws.ToString(u.Arn) != "arn:aws:iam::123456789012:user/team/alice" || !regexp.MustCompile(`^AIDA[A-Z2-7]{17}$`).MatchString(aws.ToString(u.UserId)) {
		t.Fatalf("user %+v", u)
	}
	_, err := c.CreateUser(ctx, &sdk.CreateUserInput{UserName: aws.String("Alice")})
	wantIAMError(t, err, http.StatusConflict, "EntityAlreadyExists", "User with name Alice already exists.")

	// GetUser without a name describes the caller.
	self := iamMust[*sdk.GetUserOutput](t)(e.alice.GetUser(ctx, &sdk.GetUserInput{}))
	if aws.ToString(self.User.UserName) != "alice" {
		t.Fatalf("self %+v", self.User)
	}
	root := iamMust[*sdk.GetUserOutput](t)(c.GetUser(ctx, &sdk.GetUserInput{}))
	if aws.ToString(root.User.Arn) != "arn:aws:iam::123456789012:root" || aws.ToString(root.User.UserId) != iamTestAccount {
		t.Fatalf("root %+v", root.User)
	}
	_, err = e.role.GetUser(ctx, &sdk.GetUserInput{})
	wantIAMError(t, err, http.StatusBadRequest, "ValidationError", "Must specify userName when calling with non-User credentials")

	// Two keys at most; the secret is stored sealed.
	key := iamMust[*sdk.CreateAccessKeyOutput](t)(e.alice.CreateAccessKey(ctx, &sdk.CreateAccessKeyInput{})).AccessKey
	if !regexp.MustCompile(`^AKIA[A-Z2-7]{16}$`).MatchString(aws.ToString(key.AccessKeyId)) || len(aws.ToString(key.SecretAccessKey)) != 40 ||
		key.Status != types.StatusTypeActive || aws.ToString(key.UserName) != "alice" {
		t.Fatalf("key %+v", key)
	}
	rec, err := store.Get[iamstate.AccessKey](ctx, e.store, iamstate.AccessKeyKey(aws.ToString(key.AccessKeyId)))
	if err != nil {
		t.Fatal(err)
	}
	secret, err := e.box.Open(rec.Value.SealedSecret, "iam/accesskey/"+aws.ToString(key.AccessKeyId))
	if err != nil || string(secret) != aws.ToString(key.SecretAccessKey) || rec.Value.UserName != "alice" {
		t.Fatalf("stored %+v: %v", rec.Value, err)
	}
	iamMust[*sdk.CreateAccessKeyOutput](t)(c.CreateAccessKey(ctx, &sdk.CreateAccessKeyInput{UserName: aws.String("alice")}))
	_, err = c.CreateAccessKey(ctx, &sdk.CreateAccessKeyInput{UserName: aws.String("alice")})
	wantIAMError(t, err, http.StatusConflict, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2")
	keys := iamMust[*sdk.ListAccessKeysOutput](t)(e.alice.ListAccessKeys(ctx, &sdk.ListAccessKeysInput{}))
	if len(keys.AccessKeyMetadata) != 2 || aws.ToString(keys.AccessKeyMetadata[0].AccessKeyId) != aws.ToString(key.AccessKeyId) {
		t.Fatalf("keys %+v", keys.AccessKeyMetadata)
	}
	if _, err := c.UpdateAccessKey(ctx, &sdk.UpdateAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: key.AccessKeyId, Status: types.StatusTypeInactive}); err != nil {
		t.Fatal(err)
	}
	_, err = c.UpdateAccessKey(ctx, &sdk.UpdateAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: aws.String("AKIAAAAAAAAAAAAAAAAA"), Status: types.StatusTypeActive})
	wantIAMError(t, err, http.StatusNotFound, "NoSuchEntity", "")
	lastUsed := iamMust[*sdk.GetAccessKeyLastUsedOutput](t)(c.GetAccessKeyLastUsed(ctx, &sdk.GetAccessKeyLastUsedInput{AccessKeyId: key.AccessKeyId}))
	if aws.ToString(lastUsed.UserName) != "alice" || aws.ToString(lastUsed.AccessKeyLastUsed.ServiceName) != "N/A" || lastUsed.AccessKeyLastUsed.LastUsedDate != nil {
		t.Fatalf("last used %+v", lastUsed.AccessKeyLastUsed)
	}
	keys = iamMust[*sdk.ListAccessKeysOutput](t)(c.ListAccessKeys(ctx, &sdk.ListAccessKeysInput{UserName: aws.String("alice")}))
	if keys.AccessKeyMetadata[0].Status != types.StatusTypeInactive {
		t.Fatalf("status %+v", keys.AccessKeyMetadata[0])
	}

	// Policies, tags and boundary.
	if _, err := c.PutUserPolicy(ctx, &sdk.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("p"), PolicyDocument: aws.String(iamAllowDoc("ecs:*", "*"))}); err != nil {
		t.Fatal(err)
	}
	_, err = c.PutUserPolicy(ctx, &sdk.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("big"),
		PolicyDocument: aws.String(iamAllowDoc("s3:GetObject", "arn:aws:s3:::"+strings.Repeat("b", 2048)))})
	wantIAMError(t, err, http.StatusConflict, "LimitExceeded", "Cannot exceed quota for UserPolicySize: 2048")
	up := iamMust[*sdk.GetUserPolicyOutput](t)(c.GetUserPolicy(ctx, &sdk.GetUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("p")}))
	if decodeIAMDoc(t, up.PolicyDocument) != iamAllowDoc("ecs:*", "*") {
		t.Fatalf("user policy %s", aws.ToString(up.PolicyDocument))
	}
	if _, err := c.AttachUserPolicy(ctx, &sdk.AttachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutUserPermissionsBoundary(ctx, &sdk.PutUserPermissionsBoundaryInput{UserName: aws.String("alice"), PermissionsBoundary: aws.String("arn:aws:iam::aws:policy/PowerUserAccess")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TagUser(ctx, &sdk.TagUserInput{UserName: aws.String("alice"), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("x")}}}); err != nil {
		t.Fatal(err)
	}
	got := iamMust[*sdk.GetUserOutput](t)(c.GetUser(ctx, &sdk.GetUserInput{UserName: aws.String("alice")})).User
	if got.PermissionsBoundary == nil || len(got.Tags) != 1 {
		t.Fatalf("user %+v", got)
	}
	listed := iamMust[*sdk.ListUsersOutput](t)(c.ListUsers(ctx, &sdk.ListUsersInput{PathPrefix: aws.String("/team/")}))
	if len(listed.Users) != 1 || listed.Users[0].Tags != nil || listed.Users[0].PermissionsBoundary != nil {
		t.Fatalf("listed %+v", listed.Users)
	}

	// Renaming moves the keys and the memberships along.
	iamMust[*sdk.CreateGroupOutput](t)(c.CreateGroup(ctx, &sdk.CreateGroupInput{GroupName: aws.String("devs")}))
	if _, err := c.AddUserToGroup(ctx, &sdk.AddUserToGroupInput{GroupName: aws.String("devs"), UserName: aws.String("alice")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateUser(ctx, &sdk.UpdateUserInput{UserName: aws.String("alice"), NewUserName: aws.String("carol"), NewPath: aws.String("/")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetUser(ctx, &sdk.GetUserInput{UserName: aws.String("alice")})
	wantIAMError(t, err, http.StatusNotFound, "NoSuchEntity", "The user with name alice cannot be found.")
	carol := iamMust[*sdk.GetUserOutput](t)(c.GetUser(ctx, &sdk.GetUserInput{UserName: aws.String("carol")})).User
	if aws.ToString(carol.Arn) != "arn:aws:iam::123456789012:user/carol" || aws.ToString(carol.UserId) != aws.ToString(u.UserId) {
		t.Fatalf("carol %+v", carol)
	}
	members := iamMust[*sdk.GetGroupOutput](t)(c.GetGroup(ctx, &sdk.GetGroupInput{GroupName: aws.String("devs")}))
	if len(members.Users) != 1 || aws.ToString(members.Users[0].UserName) != "carol" {
		t.Fatalf("members %+v", members.Users)
	}
	lastUsed = iamMust[*sdk.GetAccessKeyLastUsedOutput](t)(c.GetAccessKeyLastUsed(ctx, &sdk.GetAccessKeyLastUsedInput{AccessKeyId: key.AccessKeyId}))
	if aws.ToString(lastUsed.UserName) != "carol" {
		t.Fatalf("key owner %s", aws.ToString(lastUsed.UserName))
	}

	// Deleting: keys, groups, attached and inline policies first.
	del := func() error {
		_, err := c.DeleteUser(ctx, &sdk.DeleteUserInput{UserName: aws.String("carol")})
		return err
	}
	wantIAMError(t, del(), http.StatusConflict, "DeleteConflict", "Cannot delete entity, must delete access keys first.")
	for _, k := range iamMust[*sdk.ListAccessKeysOutput](t)(c.ListAccessKeys(ctx, &sdk.ListAccessKeysInput{UserName: aws.String("carol")})).AccessKeyMetadata {
		if _, err := c.DeleteAccessKey(ctx, &sdk.DeleteAccessKeyInput{UserName: aws.String("carol"), AccessKeyId: k.AccessKeyId}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.Get[iamstate.AccessKey](ctx, e.store, iamstate.AccessKeyKey(aws.ToString(key.AccessKeyId))); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("key record left: %v", err)
	}
	wantIAMError(t, del(), http.StatusConflict, "DeleteConflict", "Cannot delete entity, must remove users from group first.")
	if _, err := c.RemoveUserFromGroup(ctx, &sdk.RemoveUserFromGroupInput{GroupName: aws.String("devs"), UserName: aws.String("carol")}); err != nil {
		t.Fatal(err)
	}
	wantIAMError(t, del(), http.StatusConflict, "DeleteConflict", "Cannot delete entity, must detach all policies first.")
	if _, err := c.DetachUserPolicy(ctx, &sdk.DetachUserPolicyInput{UserName: aws.String("carol"), PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")}); err != nil {
		t.Fatal(err)
	}
	wantIAMError(t, del(), http.StatusConflict, "DeleteConflict", "Cannot delete entity, must delete policies first.")
	if _, err := c.DeleteUserPolicy(ctx, &sdk.DeleteUserPolicyInput{UserName: aws.String("carol"), PolicyName: aws.String("p")}); err != nil {
		t.Fatal(err)
	}
	if err := del(); err != nil {
		t.Fatal(err)
	}
}

func TestIAMAccessKeyQuotaUnderRace(t *testing.T) {
	e := newIAMTestEnv(t)
	ctx := context.Background()
	iamMust[*sdk.CreateUserOutput](t)(e.root.CreateUser(ctx, &sdk.CreateUserInput{UserName: aws.String("racer")}))
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	for range 6 {
		wg.Go(func() {
			_, err := e.root.CreateAccessKey(ctx, &sdk.CreateAccessKeyInput{UserName: aws.String("racer")})
			if err == nil {
				mu.Lock()
				created++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	keys, _, err := e.store.List(ctx, iamstate.AccessKeyPrefix, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if created != 2 || len(keys) != 2 {
		t.Fatalf("%d keys created, %d stored", created, len(keys))
	}
}

func TestIAMGroups(t *testing.T) {
	e := newIAMTestEnv(t)
	ctx := context.Background()
	c := e.root
	g := iamMust[*sdk.CreateGroupOutput](t)(c.CreateGroup(ctx, &sdk.CreateGroupInput{GroupName: aws.String("admins"), Path: aws.String("/ops/")})).Group
	if aws.ToString(g.Arn) != "arn:aws:iam::123456789012:group/ops/admins" || !strings.HasPrefix(aws.ToString(g.GroupId), "AGPA") {
		t.Fatalf("group %+v", g)
	}
	_, err := c.CreateGroup(ctx, &sdk.CreateGroupInput{GroupName: aws.String("Admins")})
	wantIAMError(t, err, http.StatusConflict, "EntityAlreadyExists", "Group with name Admins already exists.")
	for _, u := range []string{"u1", "u2", "u3"} {
		iamMust[*sdk.CreateUserOutput](t)(c.CreateUser(ctx, &sdk.CreateUserInput{UserName: aws.String(u)}))
		if _, err := c.AddUserToGroup(ctx, &sdk.AddUserToGroupInput{GroupName: aws.String("admins"), UserName: aws.String(u)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.AddUserToGroup(ctx, &sdk.AddUserToGroupInput{GroupName: aws.String("admins"), UserName: aws.String("nobody")})
	wantIAMError(t, err, http.StatusNotFound, "NoSuchEntity", "The user with name nobody cannot be found.")
	var users []string
	p := sdk.NewGetGroupPaginator(c, &sdk.GetGroupInput{GroupName: aws.String("admins"), MaxItems: aws.Int32(2)})
	for p.HasMorePages() {
		out := iamMust[*sdk.GetGroupOutput](t)(p.NextPage(ctx))
		for _, u := range out.Users {
			users = append(users, aws.ToString(u.UserName))
		}
	}
	if strings.Join(users, ",") != "u1,u2,u3" {
		t.Fatalf("members %v", users)
	}
	for_ := iamMust[*sdk.ListGroupsForUserOutput](t)(c.ListGroupsForUser(ctx, &sdk.ListGroupsForUserInput{UserName: aws.String("u2")}))
	if len(for_.Groups) != 1 || aws.ToString(for_.Groups[0].GroupName) != "admins" {
		t.Fatalf("groups of u2 %+v", for_.Groups)
	}
	if _, err := c.AttachGroupPolicy(ctx, &sdk.AttachGroupPolicyInput{GroupName: aws.String("admins"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutGroupPolicy(ctx, &sdk.PutGroupPolicyInput{GroupName: aws.String("admins"), PolicyName: aws.String("deny"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:*","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	gp := iamMust[*sdk.GetGroupPolicyOutput](t)(c.GetGroupPolicy(ctx, &sdk.GetGroupPolicyInput{GroupName: aws.String("admins"), PolicyName: aws.String("deny")}))
	if !strings.Contains(decodeIAMDoc(t, gp.PolicyDocument), `"Deny"`) {
		t.Fatalf("group policy %s", aws.ToString(gp.PolicyDocument))
	}
	ga := iamMust[*sdk.ListAttachedGroupPoliciesOutput](t)(c.ListAttachedGroupPolicies(ctx, &sdk.ListAttachedGroupPoliciesInput{GroupName: aws.String("admins")}))
	gi := iamMust[*sdk.ListGroupPoliciesOutput](t)(c.ListGroupPolicies(ctx, &sdk.ListGroupPoliciesInput{GroupName: aws.String("admins")}))
	if len(ga.AttachedPolicies) != 1 || strings.Join(gi.PolicyNames, ",") != "deny" {
		t.Fatalf("group policies %+v %v", ga.AttachedPolicies, gi.PolicyNames)
	}

	del := func() error {
		_, err := c.DeleteGroup(ctx, &sdk.DeleteGroupInput{GroupName: aws.String("admins")})
		return err
	}
	wantIAMError(t, del(), http.StatusConflict, "DeleteConflict", "Cannot delete entity, must remove users from group first.")

	if _, err := c.UpdateGroup(ctx, &sdk.UpdateGroupInput{GroupName: aws.String("admins"), NewGroupName: aws.String("operators")}); err != nil {
		t.Fatal(err)
	}
	for_ = iamMust[*sdk.ListGroupsForUserOutput](t)(c.ListGroupsForUser(ctx, &sdk.ListGroupsForUserInput{UserName: aws.String("u1")}))
	if len(for_.Groups) != 1 || aws.ToString(for_.Groups[0].Arn) != "arn:aws:iam::123456789012:group/ops/operators" {
		t.Fatalf("after rename %+v", for_.Groups)
	}
	for _, u := range []string{"u1", "u2", "u3"} {
		if _, err := c.RemoveUserFromGroup(ctx, &sdk.RemoveUserFromGroupInput{GroupName: aws.String("operators"), UserName: aws.String(u)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.RemoveUserFromGroup(ctx, &sdk.RemoveUserFromGroupInput{GroupName: aws.String("operators"), UserName: aws.String("u1")})
	wantIAMError(t, err, http.StatusNotFound, "NoSuchEntity", "")
	delOps := func() error {
		_, err := c.DeleteGroup(ctx, &sdk.DeleteGroupInput{GroupName: aws.String("operators")})
		return err
	}
	wantIAMError(t, delOps(), http.StatusConflict, "DeleteConflict", "Cannot delete entity, must detach all policies first.")
	if _, err := c.DetachGroupPolicy(ctx, &sdk.DetachGroupPolicyInput{GroupName: aws.String("operators"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")}); err != nil {
		t.Fatal(err)
	}
	wantIAMError(t, delOps(), http.StatusConflict, "DeleteConflict", "Cannot delete entity, must delete policies first.")
	if _, err := c.DeleteGroupPolicy(ctx, &sdk.DeleteGroupPolicyInput{GroupName: aws.String("operators"), PolicyName: aws.String("deny")}); err != nil {
		t.Fatal(err)
	}
	if err := delOps(); err != nil {
		t.Fatal(err)
	}
	groups := iamMust[*sdk.ListGroupsOutput](t)(c.ListGroups(ctx, &sdk.ListGroupsInput{}))
	if len(groups.Groups) != 0 {
		t.Fatalf("groups left %+v", groups.Groups)
	}
}

func TestIAMAccountAuthorizationDetails(t *testing.T) {
	e := newIAMTestEnv(t)
	ctx := context.Background()
	c := e.root
	iamMust[*sdk.CreateRoleOutput](t)(c.CreateRole(ctx, &sdk.CreateRoleInput{RoleName: aws.String("ecsTaskExecutionRole"), AssumeRolePolicyDocument: aws.String(iamECSTasksTrust)}))
	if _, err := c.AttachRolePolicy(ctx, &sdk.AttachRolePolicyInput{RoleName: aws.String("ecsTaskExecutionRole"), PolicyArn: aws.String(iamTaskExecutionPolicyARN)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutRolePolicy(ctx, &sdk.PutRolePolicyInput{RoleName: aws.String("ecsTaskExecutionRole"), PolicyName: aws.String("secrets"), PolicyDocument: aws.String(iamAllowDoc("secretsmanager:GetSecretValue", "*"))}); err != nil {
		t.Fatal(err)
	}
	iamMust[*sdk.CreateUserOutput](t)(c.CreateUser(ctx, &sdk.CreateUserInput{UserName: aws.String("auditor")}))
	iamMust[*sdk.CreateGroupOutput](t)(c.CreateGroup(ctx, &sdk.CreateGroupInput{GroupName: aws.String("audit")}))
	if _, err := c.AddUserToGroup(ctx, &sdk.AddUserToGroupInput{GroupName: aws.String("audit"), UserName: aws.String("auditor")}); err != nil {
		t.Fatal(err)
	}
	local := iamMust[*sdk.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &sdk.CreatePolicyInput{PolicyName: aws.String("local"), PolicyDocument: aws.String(iamAllowDoc("ecs:List*", "*"))})).Policy

	all := iamMust[*sdk.GetAccountAuthorizationDetailsOutput](t)(c.GetAccountAuthorizationDetails(ctx, &sdk.GetAccountAuthorizationDetailsInput{}))
	if len(all.UserDetailList) != 1 || len(all.GroupDetailList) != 1 || len(all.RoleDetailList) != 1 || len(all.Policies) != 2 {
		t.Fatalf("details %+v", all)
	}
	if strings.Join(all.UserDetailList[0].GroupList, ",") != "audit" {
		t.Fatalf("user %+v", all.UserDetailList[0])
	}
	role := all.RoleDetailList[0]
	if decodeIAMDoc(t, role.AssumeRolePolicyDocument) != iamECSTasksTrust || len(role.RolePolicyList) != 1 ||
		decodeIAMDoc(t, role.RolePolicyList[0].PolicyDocument) != iamAllowDoc("secretsmanager:GetSecretValue", "*") ||
		len(role.AttachedManagedPolicies) != 1 || role.InstanceProfileList == nil {
		t.Fatalf("role %+v", role)
	}
	for _, p := range all.Policies {
		if len(p.PolicyVersionList) != 1 || !p.PolicyVersionList[0].IsDefaultVersion || p.PolicyVersionList[0].Document == nil {
			t.Fatalf("policy %+v", p)
		}
		if aws.ToString(p.Arn) == aws.ToString(local.Arn) && decodeIAMDoc(t, p.PolicyVersionList[0].Document) != iamAllowDoc("ecs:List*", "*") {
			t.Fatalf("local policy %+v", p)
		}
	}
	roles := iamMust[*sdk.GetAccountAuthorizationDetailsOutput](t)(c.GetAccountAuthorizationDetails(ctx, &sdk.GetAccountAuthorizationDetailsInput{Filter: []types.EntityType{types.EntityTypeRole}}))
	if len(roles.RoleDetailList) != 1 || len(roles.UserDetailList)+len(roles.GroupDetailList)+len(roles.Policies) != 0 {
		t.Fatalf("roles only %+v", roles)
	}
	seen := 0
	p := sdk.NewGetAccountAuthorizationDetailsPaginator(c, &sdk.GetAccountAuthorizationDetailsInput{MaxItems: aws.Int32(2)})
	for p.HasMorePages() {
		out := iamMust[*sdk.GetAccountAuthorizationDetailsOutput](t)(p.NextPage(ctx))
		seen += len(out.UserDetailList) + len(out.GroupDetailList) + len(out.RoleDetailList) + len(out.Policies)
	}
	if seen != 5 {
		t.Fatalf("paginated %d items", seen)
	}
	summary := iamMust[*sdk.GetAccountSummaryOutput](t)(c.GetAccountSummary(ctx, &sdk.GetAccountSummaryInput{}))
	if summary.SummaryMap["Roles"] != 1 || summary.SummaryMap["Users"] != 1 || summary.SummaryMap["Policies"] != 1 || summary.SummaryMap["AttachedPoliciesPerRoleQuota"] != 10 {
		t.Fatalf("summary %v", summary.SummaryMap)
	}
}

// TestIAMSimulatePrincipalPolicy depends on internal/iam/policy's
// evaluation.
func TestIAMSimulatePrincipalPolicy(t *testing.T) {
	e := newIAMTestEnv(t)
	ctx := context.Background()
	c := e.root
	role := iamMust[*sdk.CreateRoleOutput](t)(c.CreateRole(ctx, &sdk.CreateRoleInput{RoleName: aws.String("ecsTaskExecutionRole"), AssumeRolePolicyDocument: aws.String(iamECSTasksTrust)})).Role
	if _, err := c.AttachRolePolicy(ctx, &sdk.AttachRolePolicyInput{RoleName: aws.String("ecsTaskExecutionRole"), PolicyArn: aws.String(iamTaskExecutionPolicyARN)}); err != nil {
		t.Fatal(err)
	}
	deny := "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Sid\": \"NoPush\", \"Effect\": \"Deny\", \"Action\": \"ecr:PutImage\", \"Resource\": \"*\"}\n  ]\n}"
	if _, err := c.PutRolePolicy(ctx, &sdk.PutRolePolicyInput{RoleName: aws.String("ecsTaskExecutionRole"), PolicyName: aws.String("no-push"), PolicyDocument: aws.String(deny)}); err != nil {
		t.Fatal(err)
	}
	out := iamMust[*sdk.SimulatePrincipalPolicyOutput](t)(c.SimulatePrincipalPolicy(ctx, &sdk.SimulatePrincipalPolicyInput{
		PolicySourceArn: role.Arn,
		ActionNames:     []string{"ecr:BatchGetImage", "ecr:PutImage", "s3:GetObject"},
		PolicyInputList: []string{iamAllowDoc("ecr:PutImage", "*")},
	}))
	if len(out.EvaluationResults) != 3 {
		t.Fatalf("results %+v", out.EvaluationResults)
	}
	pull, push, s3 := out.EvaluationResults[0], out.EvaluationResults[1], out.EvaluationResults[2]
	if pull.EvalDecision != types.PolicyEvaluationDecisionTypeAllowed || aws.ToString(pull.EvalResourceName) != "*" || len(pull.MatchedStatements) != 1 ||
		aws.ToString(pull.MatchedStatements[0].SourcePolicyId) != "AmazonECSTaskExecutionRolePolicy" ||
		pull.MatchedStatements[0].SourcePolicyType != types.PolicySourceTypeAwsManaged {
		t.Fatalf("pull %+v", pull)
	}
	if push.EvalDecision != types.PolicyEvaluationDecisionTypeExplicitDeny || len(push.MatchedStatements) != 1 ||
		aws.ToString(push.MatchedStatements[0].SourcePolicyId) != "no-push" || push.MatchedStatements[0].SourcePolicyType != types.PolicySourceTypeRole ||
		push.MatchedStatements[0].StartPosition.Line != 4 || push.MatchedStatements[0].StartPosition.Column != 5 {
		t.Fatalf("push %+v", push)
	}
	if s3.EvalDecision != types.PolicyEvaluationDecisionTypeImplicitDeny || len(s3.MatchedStatements) != 0 {
		t.Fatalf("s3 %+v", s3)
	}

	// A user's groups count; a boundary limits; context keys are weighed.
	iamMust[*sdk.CreateUserOutput](t)(c.CreateUser(ctx, &sdk.CreateUserInput{UserName: aws.String("dev"), PermissionsBoundary: aws.String("arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly")}))
	iamMust[*sdk.CreateGroupOutput](t)(c.CreateGroup(ctx, &sdk.CreateGroupInput{GroupName: aws.String("devs")}))
	if _, err := c.AddUserToGroup(ctx, &sdk.AddUserToGroupInput{GroupName: aws.String("devs"), UserName: aws.String("dev")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AttachGroupPolicy(ctx, &sdk.AttachGroupPolicyInput{GroupName: aws.String("devs"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPowerUser")}); err != nil {
		t.Fatal(err)
	}
	conditional := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:DescribeRepositories","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}}]}`
	if _, err := c.PutUserPolicy(ctx, &sdk.PutUserPolicyInput{UserName: aws.String("dev"), PolicyName: aws.String("regional"), PolicyDocument: aws.String(conditional)}); err != nil {
		t.Fatal(err)
	}
	simulate := func(action string, entries ...types.ContextEntry) types.EvaluationResult {
		t.Helper()
		out := iamMust[*sdk.SimulatePrincipalPolicyOutput](t)(c.SimulatePrincipalPolicy(ctx, &sdk.SimulatePrincipalPolicyInput{
			PolicySourceArn: aws.String("arn:aws:iam::123456789012:user/dev"), ActionNames: []string{action}, ContextEntries: entries,
		}))
		return out.EvaluationResults[0]
	}
	if r := simulate("ecr:BatchGetImage"); r.EvalDecision != types.PolicyEvaluationDecisionTypeAllowed ||
		r.PermissionsBoundaryDecisionDetail == nil || !r.PermissionsBoundaryDecisionDetail.AllowedByPermissionsBoundary {
		t.Fatalf("pull %+v", r)
	}
	if r := simulate("ecr:PutImage"); r.EvalDecision != types.PolicyEvaluationDecisionTypeImplicitDeny ||
		r.PermissionsBoundaryDecisionDetail == nil || r.PermissionsBoundaryDecisionDetail.AllowedByPermissionsBoundary {
		t.Fatalf("push beyond the boundary %+v", r)
	}
	region := types.ContextEntry{ContextKeyName: aws.String("aws:RequestedRegion"), ContextKeyType: types.ContextKeyTypeEnumString, ContextKeyValues: []string{"eu-west-1"}}
	if r := simulate("ecr:DescribeRepositories", region); r.EvalDecision != types.PolicyEvaluationDecisionTypeAllowed {
		t.Fatalf("describe in eu-west-1 %+v", r)
	}

	_, err := c.SimulatePrincipalPolicy(ctx, &sdk.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String("arn:aws:iam::123456789012:role/none"), ActionNames: []string{"s3:GetObject"}})
	wantIAMError(t, err, http.StatusNotFound, "NoSuchEntity", "The role with name none cannot be found.")

	custom := iamMust[*sdk.SimulateCustomPolicyOutput](t)(c.SimulateCustomPolicy(ctx, &sdk.SimulateCustomPolicyInput{
		PolicyInputList: []string{iamAllowDoc("logs:*", "arn:aws:logs:*:*:log-group:/ecs/*")},
		ActionNames:     []string{"logs:PutLogEvents"},
		ResourceArns:    []string{"arn:aws:logs:us-east-1:123456789012:log-group:/ecs/app", "arn:aws:logs:us-east-1:123456789012:log-group:/other"},
	}))
	if len(custom.EvaluationResults) != 2 || custom.EvaluationResults[0].EvalDecision != types.PolicyEvaluationDecisionTypeAllowed ||
		aws.ToString(custom.EvaluationResults[0].MatchedStatements[0].SourcePolicyId) != "PolicyInputList.1" ||
		custom.EvaluationResults[1].EvalDecision != types.PolicyEvaluationDecisionTypeImplicitDeny {
		t.Fatalf("custom %+v", custom.EvaluationResults)
	}
}

func TestIAMUnsupported(t *testing.T) {
	e := newIAMTestEnv(t)
	_, err := e.root.CreateInstanceProfile(context.Background(), &sdk.CreateInstanceProfileInput{InstanceProfileName: aws.String("p")})
	wantIAMError(t, err, http.StatusBadRequest, "UnsupportedOperation", "berth does not support CreateInstanceProfile yet.")
}

// TestIAMAccess checks what the gateway is asked to authorize for IAM
// calls.
func TestIAMAccess(t *testing.T) {
	e := newIAMTestEnv(t)
	ctx := context.Background()
	iamMust[*sdk.CreateRoleOutput](t)(e.root.CreateRole(ctx, &sdk.CreateRoleInput{RoleName: aws.String("app"), Path: aws.String("/svc/"),
		AssumeRolePolicyDocument: aws.String(iamECSTasksTrust), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}}}))
	aliceCtx := awsapi.WithRequest(ctx, &awsapi.RequestInfo{Caller: awsapi.Caller{ARN: "arn:aws:iam::123456789012:user/team/alice"}})
	cases := []struct {
		op       string
		input    any
		resource string
		context  map[string][]string
	}{
		{"AttachRolePolicy", &struct{ RoleName, PolicyArn *string }{aws.String("app"), aws.String(iamTaskExecutionPolicyARN)},
			"arn:aws:iam::123456789012:role/svc/app", map[string][]string{"iam:PolicyARN": {iamTaskExecutionPolicyARN}, "aws:ResourceTag/team": {"a"}}},
		{"CreateRole", &struct {
			RoleName, Path, PermissionsBoundary *string
			Tags                                []types.Tag
		}{aws.String("new"), aws.String("/x/"), aws.String("arn:aws:iam::aws:policy/PowerUserAccess"), nil},
			"arn:aws:iam::123456789012:role/x/new", map[string][]string{"iam:PermissionsBoundary": {"arn:aws:iam::aws:policy/PowerUserAccess"}}},
		{"ListRoles", &struct{}{}, "*", nil},
		{"CreateAccessKey", &struct{ UserName *string }{}, "arn:aws:iam::123456789012:user/team/alice", nil},
		{"CreateUser", &struct{ UserName, Path *string }{aws.String("dave"), aws.String("/ops/")}, "arn:aws:iam::123456789012:user/ops/dave", nil},
		{"GetPolicy", &struct{ PolicyArn *string }{aws.String(iamTaskExecutionPolicyARN)}, iamTaskExecutionPolicyARN, nil},
		{"UntagRole", &struct {
			RoleName *string
			TagKeys  []string
		}{aws.String("app"), []string{"team"}}, "arn:aws:iam::123456789012:role/svc/app",
			map[string][]string{"aws:ResourceTag/team": {"a"}, "aws:TagKeys": {"team"}}},
		{"AddUserToGroup", &struct{ GroupName, UserName *string }{aws.String("g"), aws.String("u")}, "arn:aws:iam::123456789012:group/g", nil},
	}
	for _, tc := range cases {
		got, err := e.svc.Access(aliceCtx, tc.op, tc.input)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Action != "iam:"+tc.op || got[0].Resource != tc.resource || fmt.Sprint(got[0].Context) != fmt.Sprint(tc.context) {
			t.Errorf("%s: %+v", tc.op, got)
		}
	}
}

// TestIAMCreateWithBoundaryRacesDeletePolicy checks that a role created
// with a customer managed policy as its boundary and the deletion of that
// policy cannot both succeed.
func TestIAMCreateWithBoundaryRacesDeletePolicy(t *testing.T) {
	e := newIAMTestEnv(t)
	ctx := context.Background()
	for i := range 10 {
		arn := iamMust[*sdk.CreatePolicyOutput](t)(e.root.CreatePolicy(ctx, &sdk.CreatePolicyInput{
			PolicyName: aws.String(fmt.Sprintf("b%d", i)), PolicyDocument: aws.String(iamAllowDoc("s3:*", "*")),
		})).Policy.Arn
		var wg sync.WaitGroup
		var createErr, deleteErr error
		wg.Go(func() {
			_, createErr = e.root.CreateRole(ctx, &sdk.CreateRoleInput{RoleName: aws.String(fmt.Sprintf("r%d", i)),
				AssumeRolePolicyDocument: aws.String(iamECSTasksTrust), PermissionsBoundary: arn})
		})
		wg.Go(func() { _, deleteErr = e.root.DeletePolicy(ctx, &sdk.DeletePolicyInput{PolicyArn: arn}) })
		wg.Wait()
		if createErr == nil && deleteErr == nil {
			t.Fatalf("round %d: the role's boundary outlived its policy", i)
		}
	}
}

func TestIAMClockIsSeconds(t *testing.T) {
	s := &iamService{now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.FixedZone("x", 3600)) }}
	if got := s.clock(); !got.Equal(time.Date(2026, 1, 2, 2, 4, 5, 0, time.UTC)) || got.Location() != time.UTC {
		t.Fatal(got)
	}
}

// TestIAMPolicyUsage checks a policy used as a permissions boundary counts
// apart from its attachments, and keeps the policy from being deleted.
func TestIAMPolicyUsage(t *testing.T) {
	e := newIAMTestEnv(t)
	ctx := context.Background()
	c := e.root
	arn := iamMust[*sdk.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &sdk.CreatePolicyInput{PolicyName: aws.String("limit"), PolicyDocument: aws.String(iamAllowDoc("ecr:*", "*"))})).Policy.Arn
	iamMust[*sdk.CreateRoleOutput](t)(c.CreateRole(ctx, &sdk.CreateRoleInput{RoleName: aws.String("bounded"), Path: aws.String("/b/"), AssumeRolePolicyDocument: aws.String(iamECSTasksTrust), PermissionsBoundary: arn}))
	iamMust[*sdk.CreateRoleOutput](t)(c.CreateRole(ctx, &sdk.CreateRoleInput{RoleName: aws.String("attached"), AssumeRolePolicyDocument: aws.String(iamECSTasksTrust)}))
	if _, err := c.AttachRolePolicy(ctx, &sdk.AttachRolePolicyInput{RoleName: aws.String("attached"), PolicyArn: arn}); err != nil {
		t.Fatal(err)
	}
	p := iamMust[*sdk.GetPolicyOutput](t)(c.GetPolicy(ctx, &sdk.GetPolicyInput{PolicyArn: arn})).Policy
	if aws.ToInt32(p.AttachmentCount) != 1 || aws.ToInt32(p.PermissionsBoundaryUsageCount) != 1 {
		t.Fatalf("counts %+v", p)
	}
	roles := func(in *sdk.ListEntitiesForPolicyInput) string {
		t.Helper()
		in.PolicyArn = arn
		var names []string
		for _, r := range iamMust[*sdk.ListEntitiesForPolicyOutput](t)(c.ListEntitiesForPolicy(ctx, in)).PolicyRoles {
			names = append(names, aws.ToString(r.RoleName))
		}
		return strings.Join(names, ",")
	}
	if got := roles(&sdk.ListEntitiesForPolicyInput{}); got != "attached,bounded" {
		t.Fatal(got)
	}
	if got := roles(&sdk.ListEntitiesForPolicyInput{PolicyUsageFilter: types.PolicyUsageTypePermissionsBoundary}); got != "bounded" {
		t.Fatal(got)
	}
	if got := roles(&sdk.ListEntitiesForPolicyInput{PathPrefix: aws.String("/b/")}); got != "bounded" {
		t.Fatal(got)
	}
	if got := roles(&sdk.ListEntitiesForPolicyInput{EntityFilter: types.EntityTypeUser}); got != "" {
		t.Fatal(got)
	}
	boundaries := iamMust[*sdk.ListPoliciesOutput](t)(c.ListPolicies(ctx, &sdk.ListPoliciesInput{PolicyUsageFilter: types.PolicyUsageTypePermissionsBoundary}))
	if len(boundaries.Policies) != 1 || aws.ToString(boundaries.Policies[0].Arn) != aws.ToString(arn) {
		t.Fatalf("boundaries %+v", boundaries.Policies)
	}
	if _, err := c.DetachRolePolicy(ctx, &sdk.DetachRolePolicyInput{RoleName: aws.String("attached"), PolicyArn: arn}); err != nil {
		t.Fatal(err)
	}
	_, err := c.DeletePolicy(ctx, &sdk.DeletePolicyInput{PolicyArn: arn})
	wantIAMError(t, err, http.StatusConflict, "DeleteConflict", "Cannot delete a policy attached to entities.")
}
