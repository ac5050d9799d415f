package iam

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	iamsdk "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/gateway"
	"github.com/berth/berth/internal/gateway/gatewaytest"
	"github.com/berth/berth/internal/iam/iamstate"
)

// stsEnv is the STS API behind the real gateway, which authenticates and
// authorizes with the Directory.
type stsEnv struct {
	*dirFixture
	url string
}

func newSTSEnv(t *testing.T) *stsEnv {
	t.Helper()
	f := newDirFixture(t)
	iamAPI := NewService(Config{Store: f.store, Box: f.box, AccountID: dirTestAccount, Logger: slog.New(slog.DiscardHandler)})
	url := gatewaytest.Serve(t, gateway.Config{Region: dirTestRegion, AccountID: dirTestAccount, Credentials: f.dir, Authorizer: f.dir,
		Services: []*awsapi.Service{NewSTSService(f.dir), iamAPI}})
	return &stsEnv{dirFixture: f, url: url}
}

// sdkConfig is the SDK configuration that signs with an access key (and a
// session token for temporary credentials).
func (e *stsEnv) sdkConfig(id, secret, token string) aws.Config {
	return gatewaytest.Config(e.url, dirTestRegion, aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token})
}

func (e *stsEnv) client(id, secret, token string) *sts.Client {
	return sts.NewFromConfig(e.sdkConfig(id, secret, token))
}

// iamClient is the IAM API's client for the same signer.
func (e *stsEnv) iamClient(id, secret, token string) *iamsdk.Client {
	return iamsdk.NewFromConfig(e.sdkConfig(id, secret, token))
}

func (e *stsEnv) sessionClient(c *types.Credentials) *sts.Client {
	return e.client(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
}

func (e *stsEnv) admin() *sts.Client { return e.client(dirTestAdminKey, dirTestAdminSecret, "") }

// userClient creates an IAM user with a key and returns its client.
func (e *stsEnv) userClient(name string, p iamstate.Policies) *sts.Client {
	e.user(name, p)
	id := "AKIA" + strings.ToUpper(name) + strings.Repeat("0", 16-len(name))
	e.accessKey(id, name, name+"-secret", "Active")
	return e.client(id, name+"-secret", "")
}

// stsPackedPolicySize reads the member berth's STS model answers; newer
// SDKs read SessionTokenUtilization instead, which it does not know.
func stsPackedPolicySize(out *sts.AssumeRoleOutput) *int32 {
	//lint:ignore SA1019 berth's STS model answers PackedPolicySize.
	return out.PackedPolicySize
}

func stsWhoAmI(t *testing.T, c *sts.Client) *sts.GetCallerIdentityOutput {
	t.Helper()
	out, err := c.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Account) != dirTestAccount {
		t.Fatalf("account %s", aws.ToString(out.Account))
	}
	return out
}

func TestSTSGetCallerIdentity(t *testing.T) {
	e := newSTSEnv(t)
	if out := stsWhoAmI(t, e.admin()); aws.ToString(out.Arn) != "arn:aws:iam::123456789012:root" || aws.ToString(out.UserId) != dirTestAccount {
		t.Fatalf("admin: %s %s", aws.ToString(out.Arn), aws.ToString(out.UserId))
	}
	// A user needs no permission to ask who it is.
	if out := stsWhoAmI(t, e.userClient("alice", iamstate.Policies{})); aws.ToString(out.Arn) != dirUserARN("alice") ||
		aws.ToString(out.UserId) != "AIDAALICE0000000000" {
		t.Fatalf("user: %s %s", aws.ToString(out.Arn), aws.ToString(out.UserId))
	}
	role := e.role("task", dirTrust(`{"Service":"ecs-tasks.amazonaws.com"}`), iamstate.Policies{})
	creds, _, err := e.dir.IssueServiceSession(e.ctx, ServiceSessionRequest{RoleARN: role.ARN, Service: "ecs-tasks.amazonaws.com", SessionName: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	task := e.client(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)
	if out := stsWhoAmI(t, task); aws.ToString(out.Arn) != "arn:aws:sts::123456789012:assumed-role/task/t1" || aws.ToString(out.UserId) != role.ID+":t1" {
		t.Fatalf("session: %s %s", aws.ToString(out.Arn), aws.ToString(out.UserId))
	}

	_, err = e.client(creds.AccessKeyID, creds.SecretAccessKey, "").GetCallerIdentity(e.ctx, &sts.GetCallerIdentityInput{})
	gatewaytest.WantError(t, err, "InvalidClientTokenId", "The security token included in the request is invalid.")
	_, err = e.client("AKIAUNKNOWN000000000", "x", "").GetCallerIdentity(e.ctx, &sts.GetCallerIdentityInput{})
	gatewaytest.WantError(t, err, "InvalidClientTokenId", "The security token included in the request is invalid.")
}

func TestSTSExpiredToken(t *testing.T) {
	e := newSTSEnv(t)
	role := e.role("task", dirTrust(`{"Service":"ecs-tasks.amazonaws.com"}`), iamstate.Policies{})
	e.advance(-2 * time.Hour) // the session was issued two hours ago
	creds, _, err := e.dir.IssueServiceSession(e.ctx, ServiceSessionRequest{RoleARN: role.ARN, Service: "ecs-tasks.amazonaws.com",
		SessionName: "t1", Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	e.advance(2 * time.Hour)
	_, err = e.client(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken).GetCallerIdentity(e.ctx, &sts.GetCallerIdentityInput{})
	gatewaytest.WantError(t, err, "ExpiredToken", "The security token included in the request is expired")
}

func TestSTSAssumeRole(t *testing.T) {
	e := newSTSEnv(t)
	ctx := e.ctx
	alice := e.userClient("alice", iamstate.Policies{})
	e.role("deploy", dirTrust(`{"AWS":"`+dirUserARN("alice")+`"}`), iamstate.Policies{
		Inline: map[string]string{"info": dirAllow("sts:GetAccessKeyInfo", "*")}})

	// A trust policy naming the user is enough: alice needs no policy.
	before := time.Now().UTC().Truncate(time.Second)
	out, err := alice.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(dirRoleARN("deploy")), RoleSessionName: aws.String("ci@build-7")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.AssumedRoleUser.Arn) != "arn:aws:sts::123456789012:assumed-role/deploy/ci@build-7" ||
		aws.ToString(out.AssumedRoleUser.AssumedRoleId) != "AROADEPLOY0000000000:ci@build-7" || stsPackedPolicySize(out) != nil {
		t.Fatalf("assumed role user: %s %s", aws.ToString(out.AssumedRoleUser.Arn), aws.ToString(out.AssumedRoleUser.AssumedRoleId))
	}
	c := out.Credentials
	if !strings.HasPrefix(aws.ToString(c.AccessKeyId), "ASIA") || len(aws.ToString(c.AccessKeyId)) != 20 ||
		len(aws.ToString(c.SecretAccessKey)) != 40 || len(aws.ToString(c.SessionToken)) < 300 {
		t.Fatalf("credentials: %+v", c)
	}
	if exp := c.Expiration.Sub(before); exp < time.Hour || exp > time.Hour+5*time.Second {
		t.Fatalf("expires in %s", exp)
	}
	deploy := e.sessionClient(c)
	if who := stsWhoAmI(t, deploy); aws.ToString(who.Arn) != "arn:aws:sts::123456789012:assumed-role/deploy/ci@build-7" {
		t.Fatalf("assumed identity: %s", aws.ToString(who.Arn))
	}
	// The session has the role's permissions, not alice's.
	if _, err := deploy.GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String("AKIAALICE00000000000")}); err != nil {
		t.Fatal(err)
	}
	_, err = alice.GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String("AKIAALICE00000000000")})
	gatewaytest.WantError(t, err, "AccessDenied", "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: sts:GetAccessKeyInfo "+
		"on resource: * because no identity-based policy allows the sts:GetAccessKeyInfo action")

	// A trust policy naming the account delegates to the caller's policies.
	e.role("shared", dirTrust(`{"AWS":"arn:aws:iam::123456789012:root"}`), iamstate.Policies{})
	bob := e.userClient("bob", iamstate.Policies{})
	assumeShared := &sts.AssumeRoleInput{RoleArn: aws.String(dirRoleARN("shared")), RoleSessionName: aws.String("bob")}
	_, err = bob.AssumeRole(ctx, assumeShared)
	gatewaytest.WantError(t, err, "AccessDenied", "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/shared")
	e.user("bob", iamstate.Policies{Inline: map[string]string{"assume": dirAllow("sts:AssumeRole", dirRoleARN("shared"))}})
	if _, err := bob.AssumeRole(ctx, assumeShared); err != nil {
		t.Fatal(err)
	}
	// Neither is a policy of the caller's enough when the trust policy
	// does not name it.
	e.user("bob", iamstate.Policies{Attached: []string{"arn:aws:iam::aws:policy/AdministratorAccess"}})
	_, err = bob.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(dirRoleARN("deploy")), RoleSessionName: aws.String("bob")})
	gatewaytest.WantError(t, err, "AccessDenied", "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/deploy")
	_, err = bob.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(dirRoleARN("missing")), RoleSessionName: aws.String("bob")})
	gatewaytest.WantError(t, err, "AccessDenied", "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/missing")

	_, err = e.admin().AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(dirRoleARN("deploy")), RoleSessionName: aws.String("root")})
	gatewaytest.WantError(t, err, "AccessDenied", "Roles may not be assumed by root accounts.")

	_, err = alice.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(dirRoleARN("deploy")), RoleSessionName: aws.String("s1"),
		DurationSeconds: aws.Int32(7200)})
	gatewaytest.WantError(t, err, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	_, err = alice.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(dirRoleARN("deploy")), RoleSessionName: aws.String("bad name")})
	gatewaytest.WantError(t, err, "ValidationError", `1 validation error detected: Value 'bad name' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`)
	_, err = alice.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("not-an-arn-but-long-enough"), RoleSessionName: aws.String("s1")})
	gatewaytest.WantError(t, err, "ValidationError", "not-an-arn-but-long-enough is invalid")

	// Role chaining: at most an hour.
	chained := e.role("chained", dirTrust(`{"AWS":"`+dirRoleARN("deploy")+`"}`), iamstate.Policies{})
	chained.MaxSessionDuration = 43200
	e.put(iamstate.RoleKey("chained"), chained)
	_, err = deploy.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(chained.ARN), RoleSessionName: aws.String("next"), DurationSeconds: aws.Int32(7200)})
	gatewaytest.WantError(t, err, "ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	next, err := deploy.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(chained.ARN), RoleSessionName: aws.String("next")})
	if err != nil {
		t.Fatal(err)
	}
	if who := stsWhoAmI(t, e.sessionClient(next.Credentials)); aws.ToString(who.Arn) != "arn:aws:sts::123456789012:assumed-role/chained/next" {
		t.Fatalf("chained identity: %s", aws.ToString(who.Arn))
	}
	// A user's session may last as long as the role allows.
	if _, err := alice.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(dirRoleARN("deploy")), RoleSessionName: aws.String("s1"),
		DurationSeconds: aws.Int32(3600)}); err != nil {
		t.Fatal(err)
	}
}

func TestSTSAssumeRoleConditions(t *testing.T) {
	e := newSTSEnv(t)
	ctx := e.ctx
	alice := e.userClient("alice", iamstate.Policies{})
	e.role("partner", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"`+dirUserARN("alice")+`"},`+
		`"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"Unique-42"}}}]}`, iamstate.Policies{})
	_, err := alice.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(dirRoleARN("partner")), RoleSessionName: aws.String("s1")})
	gatewaytest.WantError(t, err, "AccessDenied", "")
	if _, err := alice.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(dirRoleARN("partner")), RoleSessionName: aws.String("s1"),
		ExternalId: aws.String("Unique-42")}); err != nil {
		t.Fatal(err)
	}

	// Session tags need sts:TagSession, and become the session's
	// principal tags.
	e.role("plain", dirTrust(`{"AWS":"`+dirUserARN("alice")+`"}`), iamstate.Policies{})
	tags := []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}}
	_, err = alice.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(dirRoleARN("plain")), RoleSessionName: aws.String("s1"), Tags: tags})
	gatewaytest.WantError(t, err, "AccessDenied", "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: sts:TagSession on resource: arn:aws:iam::123456789012:role/plain")
	e.role("tagged", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"`+dirUserARN("alice")+`"},`+
		`"Action":["sts:AssumeRole","sts:TagSession"]}]}`, iamstate.Policies{Inline: map[string]string{"info": `{"Version":"2012-10-17",` +
		`"Statement":[{"Effect":"Allow","Action":"sts:GetAccessKeyInfo","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"web"}}}]}`}})
	out, err := alice.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(dirRoleARN("tagged")), RoleSessionName: aws.String("s1"), Tags: tags,
		TransitiveTagKeys: []string{"team"}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(stsPackedPolicySize(out)) != 1 {
		t.Fatalf("packed policy size %d", aws.ToInt32(stsPackedPolicySize(out)))
	}
	if _, err := e.sessionClient(out.Credentials).GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String("AKIAALICE00000000000")}); err != nil {
		t.Fatal(err)
	}
	// Transitive tags follow the chain, and cannot be set again in it.
	tagged := e.sessionClient(out.Credentials)
	e.role("next", dirTrust(`{"AWS":"`+dirRoleARN("tagged")+`"}`), iamstate.Policies{Inline: map[string]string{"info": `{"Version":"2012-10-17",` +
		`"Statement":[{"Effect":"Allow","Action":"sts:GetAccessKeyInfo","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"web"}}}]}`}})
	next, err := tagged.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(dirRoleARN("next")), RoleSessionName: aws.String("s2")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.sessionClient(next.Credentials).GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String("AKIAALICE00000000000")}); err != nil {
		t.Fatal(err)
	}
	_, err = tagged.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(dirRoleARN("next")), RoleSessionName: aws.String("s2"),
		Tags: []types.Tag{{Key: aws.String("TEAM"), Value: aws.String("ops")}}})
	gatewaytest.WantError(t, err, "InvalidParameterValue", "")

	_, err = alice.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(dirRoleARN("tagged")), RoleSessionName: aws.String("s1"),
		Tags: append(tags, types.Tag{Key: aws.String("Team"), Value: aws.String("x")})})
	gatewaytest.WantError(t, err, "InvalidParameterValue", "")
	_, err = alice.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(dirRoleARN("tagged")), RoleSessionName: aws.String("s1"), Tags: tags,
		TransitiveTagKeys: []string{"other"}})
	gatewaytest.WantError(t, err, "InvalidParameterValue", "")
}

func TestSTSSessionPolicies(t *testing.T) {
	e := newSTSEnv(t)
	ctx := e.ctx
	alice := e.userClient("alice", iamstate.Policies{})
	e.role("wide", dirTrust(`{"AWS":"`+dirUserARN("alice")+`"}`), iamstate.Policies{
		Attached: []string{"arn:aws:iam::aws:policy/AdministratorAccess"}})
	assume := func(in *sts.AssumeRoleInput) (*sts.AssumeRoleOutput, error) {
		in.RoleArn, in.RoleSessionName = aws.String(dirRoleARN("wide")), aws.String("narrow")
		return alice.AssumeRole(ctx, in)
	}
	_, err := assume(&sts.AssumeRoleInput{Policy: aws.String(`{"Version":"2012-10-17","Statement":[}`)})
	gatewaytest.WantError(t, err, "MalformedPolicyDocument", "")
	_, err = assume(&sts.AssumeRoleInput{Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String(strings.Repeat("v", 256))}},
		Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:*","Resource":"` +
			strings.Repeat("arn:aws:ecr:us-east-1:123456789012:repository/x,", 40) + `"}]}`)})
	gatewaytest.WantError(t, err, "PackedPolicyTooLarge", "")
	if !strings.Contains(err.Error(), "% of allotted space, please use smaller policy.") {
		t.Fatalf("packed policy error: %v", err)
	}

	out, err := assume(&sts.AssumeRoleInput{Policy: aws.String(dirAllow("sts:GetCallerIdentity", "*"))})
	if err != nil {
		t.Fatal(err)
	}
	if stsPackedPolicySize(out) == nil || *stsPackedPolicySize(out) < 1 || *stsPackedPolicySize(out) > 10 {
		t.Fatalf("packed policy size %v", stsPackedPolicySize(out))
	}
	_, err = e.sessionClient(out.Credentials).GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String("AKIAALICE00000000000")})
	gatewaytest.WantError(t, err, "AccessDenied", "User: arn:aws:sts::123456789012:assumed-role/wide/narrow is not authorized to perform: "+
		"sts:GetAccessKeyInfo on resource: * because no session policy allows the sts:GetAccessKeyInfo action")

	out, err = assume(&sts.AssumeRoleInput{PolicyArns: []types.PolicyDescriptorType{{Arn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.sessionClient(out.Credentials).GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String("AKIAALICE00000000000")}); err != nil {
		t.Fatal(err)
	}
}

func TestSTSGetSessionToken(t *testing.T) {
	e := newSTSEnv(t)
	ctx := e.ctx
	alice := e.userClient("alice", iamstate.Policies{})
	out, err := alice.GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	if exp := time.Until(*out.Credentials.Expiration); exp < 11*time.Hour || exp > 12*time.Hour {
		t.Fatalf("a user's session token lasts %s", exp)
	}
	session := e.sessionClient(out.Credentials)
	if who := stsWhoAmI(t, session); aws.ToString(who.Arn) != dirUserARN("alice") {
		t.Fatalf("session token identity: %s", aws.ToString(who.Arn))
	}
	_, err = session.GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	gatewaytest.WantError(t, err, "AccessDenied", "Cannot call GetSessionToken with session credentials")

	root, err := e.admin().GetSessionToken(ctx, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(7200)})
	if err != nil {
		t.Fatal(err)
	}
	if exp := time.Until(*root.Credentials.Expiration); exp > time.Hour {
		t.Fatalf("the root's session token lasts %s", exp)
	}
	if who := stsWhoAmI(t, e.sessionClient(root.Credentials)); aws.ToString(who.Arn) != "arn:aws:iam::123456789012:root" {
		t.Fatalf("root session identity: %s", aws.ToString(who.Arn))
	}
}

func TestSTSOtherOperations(t *testing.T) {
	e := newSTSEnv(t)
	info, err := e.admin().GetAccessKeyInfo(e.ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String(dirTestAdminKey)})
	if err != nil || aws.ToString(info.Account) != dirTestAccount {
		t.Fatalf("GetAccessKeyInfo: %v %v", info, err)
	}
	_, err = e.admin().GetFederationToken(e.ctx, &sts.GetFederationTokenInput{Name: aws.String("fed")})
	gatewaytest.WantError(t, err, "UnsupportedOperation", "berth does not support GetFederationToken yet")
	_, err = e.admin().DecodeAuthorizationMessage(e.ctx, &sts.DecodeAuthorizationMessageInput{EncodedMessage: aws.String("x")})
	gatewaytest.WantError(t, err, "UnsupportedOperation", "")
}

// Users, keys, roles and policies made through the IAM API decide the
// very next call.
func TestSTSWithIAM(t *testing.T) {
	e := newSTSEnv(t)
	ctx := e.ctx
	admin := e.iamClient(dirTestAdminKey, dirTestAdminSecret, "")
	if _, err := admin.CreateUser(ctx, &iamsdk.CreateUserInput{UserName: aws.String("dev")}); err != nil {
		t.Fatal(err)
	}
	key, err := admin.CreateAccessKey(ctx, &iamsdk.CreateAccessKeyInput{UserName: aws.String("dev")})
	if err != nil {
		t.Fatal(err)
	}
	id, secret := aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey)
	dev := e.client(id, secret, "")
	if who := stsWhoAmI(t, dev); aws.ToString(who.Arn) != dirUserARN("dev") {
		t.Fatalf("new user: %s", aws.ToString(who.Arn))
	}
	role, err := admin.CreateRole(ctx, &iamsdk.CreateRoleInput{RoleName: aws.String("ops"),
		AssumeRolePolicyDocument: aws.String(dirTrust(`{"AWS":"` + dirTestAccount + `"}`))})
	if err != nil {
		t.Fatal(err)
	}
	assume := &sts.AssumeRoleInput{RoleArn: role.Role.Arn, RoleSessionName: aws.String("dev-session")}
	_, err = dev.AssumeRole(ctx, assume)
	gatewaytest.WantError(t, err, "AccessDenied", "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/ops")
	if _, err := admin.PutUserPolicy(ctx, &iamsdk.PutUserPolicyInput{UserName: aws.String("dev"), PolicyName: aws.String("assume"),
		PolicyDocument: aws.String(dirAllow("sts:AssumeRole", "arn:aws:iam::123456789012:role/*"))}); err != nil {
		t.Fatal(err)
	}
	out, err := dev.AssumeRole(ctx, assume)
	if err != nil {
		t.Fatal(err)
	}

	// The session lists roles once the role may, at once.
	ops := e.iamClient(aws.ToString(out.Credentials.AccessKeyId), aws.ToString(out.Credentials.SecretAccessKey), aws.ToString(out.Credentials.SessionToken))
	_, err = ops.ListRoles(ctx, &iamsdk.ListRolesInput{})
	gatewaytest.WantError(t, err, "AccessDenied", "")
	if !strings.Contains(err.Error(), "User: arn:aws:sts::123456789012:assumed-role/ops/dev-session is not authorized to perform: iam:ListRoles") {
		t.Fatalf("denial: %v", err)
	}
	if _, err := admin.AttachRolePolicy(ctx, &iamsdk.AttachRolePolicyInput{RoleName: aws.String("ops"),
		PolicyArn: aws.String("arn:aws:iam::aws:policy/IAMReadOnlyAccess")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ops.ListRoles(ctx, &iamsdk.ListRolesInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.DetachRolePolicy(ctx, &iamsdk.DetachRolePolicyInput{RoleName: aws.String("ops"),
		PolicyArn: aws.String("arn:aws:iam::aws:policy/IAMReadOnlyAccess")}); err != nil {
		t.Fatal(err)
	}
	_, err = ops.ListRoles(ctx, &iamsdk.ListRolesInput{})
	gatewaytest.WantError(t, err, "AccessDenied", "")

	// A key made inactive stops signing at once.
	if _, err := admin.UpdateAccessKey(ctx, &iamsdk.UpdateAccessKeyInput{UserName: aws.String("dev"), AccessKeyId: aws.String(id),
		Status: "Inactive"}); err != nil {
		t.Fatal(err)
	}
	_, err = dev.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	gatewaytest.WantError(t, err, "InvalidClientTokenId", "The security token included in the request is invalid.")
}
