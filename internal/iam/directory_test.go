package iam

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/iam/iamstate"
	"github.com/berth/berth/internal/secretbox"
	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/store/bolt"
)

const (
	dirTestAccount     = "123456789012"
	dirTestRegion      = "us-east-1"
	dirTestAdminKey    = "AKIAADMINADMINADMIN1"
	dirTestAdminSecret = "admin-secret"
)

// dirFixture is a Directory over a fresh store, following it, with a
// clock the test moves.
type dirFixture struct {
	t     testing.TB
	ctx   context.Context
	store store.Store
	box   *secretbox.Box
	dir   *Directory

	mu    sync.Mutex
	clock time.Time
}

func newDirFixture(t testing.TB) *dirFixture {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{MaxBatchDelay: time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	box, err := secretbox.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	f := &dirFixture{t: t, ctx: context.Background(), store: st, box: box, clock: time.Now().UTC()}
	f.dir = NewDirectory(DirectoryConfig{
		Store:     st,
		Box:       box,
		AccountID: dirTestAccount,
		AdminKeys: []AccessKey{{AccessKeyID: dirTestAdminKey, SecretAccessKey: dirTestAdminSecret}},
		Now:       f.now,
		Logger:    slog.New(slog.DiscardHandler),
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.dir.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	// Wait until the Directory follows the store, so that the tests
	// exercise its caches.
	for f.dir.applied.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	return f
}

func (f *dirFixture) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.clock
}

func (f *dirFixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clock = f.clock.Add(d)
}

func (f *dirFixture) put(key string, value any) {
	f.t.Helper()
	op, err := store.PutJSON(key, value)
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.store.Txn(f.ctx, store.Txn{Then: []store.Op{op}}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *dirFixture) delete(key string) {
	f.t.Helper()
	if _, err := f.store.Txn(f.ctx, store.Txn{Then: []store.Op{store.Delete(key)}}); err != nil {
		f.t.Fatal(err)
	}
}

func dirUserARN(name string) string { return "arn:aws:iam::" + dirTestAccount + ":user/" + name }
func dirRoleARN(name string) string { return "arn:aws:iam::" + dirTestAccount + ":role/" + name }
func dirPolicyARN(name string) string {
	return "arn:aws:iam::" + dirTestAccount + ":policy/" + name
}

func (f *dirFixture) user(name string, p iamstate.Policies, tags ...iamstate.Tag) *iamstate.User {
	u := &iamstate.User{Name: name, Path: "/", ID: "AIDA" + strings.ToUpper(name) + "0000000000", ARN: dirUserARN(name),
		Created: f.now(), Tags: tags, Policies: p}
	f.put(iamstate.UserKey(name), u)
	return u
}

// accessKey stores an access key of a user.
func (f *dirFixture) accessKey(id, userName, secret, status string) {
	f.put(iamstate.AccessKeyKey(id), &iamstate.AccessKey{ID: id, UserName: userName, Status: status, Created: f.now(),
		SealedSecret: f.box.Seal([]byte(secret), iamstate.AccessKeyKey(id))})
}

func (f *dirFixture) role(name, trust string, p iamstate.Policies, tags ...iamstate.Tag) *iamstate.Role {
	r := &iamstate.Role{Name: name, Path: "/", ID: "AROA" + strings.ToUpper(name) + "0000000000", ARN: dirRoleARN(name),
		Created: f.now(), AssumeRolePolicy: trust, MaxSessionDuration: 3600, Tags: tags, Policies: p}
	f.put(iamstate.RoleKey(name), r)
	return r
}

// group creates a group of members, who must exist, as IAM does: the
// members' records list their groups.
func (f *dirFixture) group(name string, members []string, p iamstate.Policies) {
	f.t.Helper()
	f.put(iamstate.GroupKey(name), &iamstate.Group{Name: name, Path: "/", ID: "AGPA" + strings.ToUpper(name), Created: f.now(),
		ARN: "arn:aws:iam::" + dirTestAccount + ":group/" + name, Members: members, Policies: p})
	for _, m := range members {
		if _, err := store.Update(f.ctx, f.store, iamstate.UserKey(m), func(u *iamstate.User, found bool) error {
			if !found {
				return store.ErrNotFound
			}
			u.Groups = append(u.Groups, name)
			return nil
		}); err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *dirFixture) managedPolicy(name, document string) string {
	f.put(iamstate.PolicyKey(name), &iamstate.ManagedPolicy{Name: name, Path: "/", ID: "ANPA" + strings.ToUpper(name),
		ARN: dirPolicyARN(name), Created: f.now(), Updated: f.now(), DefaultVersion: "v2", NextVersion: 3,
		Versions: []iamstate.PolicyVersion{
			{ID: "v1", Document: dirAllow("nothing:Old", "*"), Created: f.now()},
			{ID: "v2", Document: document, Created: f.now()},
		}})
	return dirPolicyARN(name)
}

// dirAllow is a policy allowing action on resource.
func dirAllow(action, resource string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"` + action + `","Resource":"` + resource + `"}]}`
}

func dirDeny(action, resource string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"` + action + `","Resource":"` + resource + `"}]}`
}

// dirTrust is a trust policy letting principal (a JSON principal map)
// assume the role.
func dirTrust(principal string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":` + principal + `,"Action":"sts:AssumeRole"}]}`
}

// authorize asks whether the holder of accessKeyID may make one access.
func (f *dirFixture) authorize(accessKeyID string, access awsapi.Access) error {
	f.t.Helper()
	caller, ok := f.dir.Caller(accessKeyID)
	if !ok {
		f.t.Fatalf("no caller for %s", accessKeyID)
	}
	ctx := awsapi.WithRequest(f.ctx, &awsapi.RequestInfo{AccessKeyID: accessKeyID, Caller: caller, Region: dirTestRegion, AccountID: dirTestAccount})
	return f.dir.Authorize(ctx, caller, []awsapi.Access{access})
}

func dirWantAllowed(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("denied: %v", err)
	}
}

func dirWantDenied(t *testing.T, err error, message string) {
	t.Helper()
	var denied *awsapi.AccessDenied
	if !errors.As(err, &denied) {
		t.Fatalf("got %v, want AccessDenied", err)
	}
	if message != "" && denied.Message != message {
		t.Fatalf("denial:\n got %q\nwant %q", denied.Message, message)
	}
}

const dirRepo = "arn:aws:ecr:us-east-1:123456789012:repository/app"

func TestDirectoryCredentials(t *testing.T) {
	f := newDirFixture(t)
	d := f.dir

	secret, account, ok := d.Secret(dirTestAdminKey)
	if !ok || secret != dirTestAdminSecret || account != dirTestAccount {
		t.Fatalf("admin key: %q %q %v", secret, account, ok)
	}
	if c, _ := d.Caller(dirTestAdminKey); c != (awsapi.Caller{ARN: "arn:aws:iam::123456789012:root", UserID: dirTestAccount, Admin: true}) {
		t.Fatalf("admin caller: %+v", c)
	}
	if _, _, ok := d.Session(dirTestAdminKey); ok {
		t.Fatal("the admin key has a session")
	}

	alice := f.user("alice", iamstate.Policies{})
	f.accessKey("AKIAALICE00000000001", "alice", "alice-secret", "Active")
	f.accessKey("AKIAALICE00000000002", "alice", "old-secret", "Inactive")
	if secret, _, ok := d.Secret("AKIAALICE00000000001"); !ok || secret != "alice-secret" {
		t.Fatalf("user key: %q %v", secret, ok)
	}
	if c, ok := d.Caller("AKIAALICE00000000001"); !ok || c != (awsapi.Caller{ARN: alice.ARN, UserID: alice.ID}) {
		t.Fatalf("user caller: %+v %v", c, ok)
	}
	if _, _, ok := d.Session("AKIAALICE00000000001"); ok {
		t.Fatal("a long-term key has a session")
	}
	if _, _, ok := d.Secret("AKIAALICE00000000002"); ok {
		t.Fatal("an inactive key signs")
	}
	if _, _, ok := d.Secret("AKIANOBODY0000000000"); ok {
		t.Fatal("an unknown key signs")
	}

	role := f.role("app", dirTrust(`{"Service":"ecs-tasks.amazonaws.com"}`), iamstate.Policies{})
	creds, caller, err := d.IssueServiceSession(f.ctx, ServiceSessionRequest{RoleARN: role.ARN, Service: "ecs-tasks.amazonaws.com",
		SessionName: "0123456789abcdef", Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	wantCaller := awsapi.Caller{ARN: "arn:aws:sts::123456789012:assumed-role/app/0123456789abcdef", UserID: role.ID + ":0123456789abcdef"}
	if _, _, err := d.IssueServiceSession(f.ctx, ServiceSessionRequest{RoleARN: role.ARN, Service: "ecs-tasks.amazonaws.com",
		SessionName: "a/b"}); err == nil {
		t.Fatal("a session named a/b")
	}
	if caller != wantCaller || creds.RoleARN != role.ARN {
		t.Fatalf("service session caller %+v, role %s", caller, creds.RoleARN)
	}
	if !strings.HasPrefix(creds.AccessKeyID, "ASIA") || len(creds.AccessKeyID) != 20 || len(creds.SecretAccessKey) != 40 || len(creds.SessionToken) < 300 {
		t.Fatalf("credentials: %+v", creds)
	}
	if secret, _, ok := d.Secret(creds.AccessKeyID); !ok || secret != creds.SecretAccessKey {
		t.Fatalf("session secret: %v", ok)
	}
	token, expires, ok := d.Session(creds.AccessKeyID)
	if !ok || token != creds.SessionToken || !expires.Equal(creds.Expiration) || !expires.Equal(f.now().Truncate(time.Second).Add(time.Hour)) {
		t.Fatalf("session: %v %v %v", token == creds.SessionToken, expires, ok)
	}
	if c, ok := d.Caller(creds.AccessKeyID); !ok || c != wantCaller {
		t.Fatalf("session caller: %+v", c)
	}

	// GetSessionToken's sessions act as their user, or as the root.
	userSession := &iamstate.Session{Created: f.now(), Expires: f.now().Add(time.Hour), UserName: "alice"}
	rootSession := &iamstate.Session{Created: f.now(), Expires: f.now().Add(time.Hour), Root: true}
	for _, s := range []*iamstate.Session{userSession, rootSession} {
		if _, err := d.createSession(f.ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if c, ok := d.Caller(userSession.AccessKeyID); !ok || c != (awsapi.Caller{ARN: alice.ARN, UserID: alice.ID}) {
		t.Fatalf("user session caller: %+v", c)
	}
	if c, ok := d.Caller(rootSession.AccessKeyID); !ok || !c.Admin {
		t.Fatalf("root session caller: %+v", c)
	}
}

func TestDirectoryKeyChangesShowAtOnce(t *testing.T) {
	f := newDirFixture(t)
	d := f.dir
	f.user("bob", iamstate.Policies{})
	f.accessKey("AKIABOB0000000000001", "bob", "s1", "Active")
	for range 2 { // the second answer comes from the cache
		if _, _, ok := d.Secret("AKIABOB0000000000001"); !ok {
			t.Fatal("active key unknown")
		}
	}
	f.accessKey("AKIABOB0000000000001", "bob", "s1", "Inactive")
	if _, _, ok := d.Secret("AKIABOB0000000000001"); ok {
		t.Fatal("a key made inactive still signs")
	}
	// An unknown key is cached as unknown until it exists.
	if _, _, ok := d.Secret("AKIABOB0000000000002"); ok {
		t.Fatal("unknown key signs")
	}
	f.accessKey("AKIABOB0000000000002", "bob", "s2", "Active")
	if secret, _, ok := d.Secret("AKIABOB0000000000002"); !ok || secret != "s2" {
		t.Fatal("a new key is not seen at once")
	}
	f.delete(iamstate.AccessKeyKey("AKIABOB0000000000002"))
	if _, _, ok := d.Secret("AKIABOB0000000000002"); ok {
		t.Fatal("a deleted key still signs")
	}
}

func TestDirectoryExpiredSessions(t *testing.T) {
	f := newDirFixture(t)
	d := f.dir
	role := f.role("app", dirTrust(`{"Service":"ecs-tasks.amazonaws.com"}`), iamstate.Policies{})
	issue := func(duration time.Duration) Credentials {
		creds, _, err := d.IssueServiceSession(f.ctx, ServiceSessionRequest{RoleARN: role.ARN, Service: "ecs-tasks.amazonaws.com",
			SessionName: "task", Duration: duration})
		if err != nil {
			t.Fatal(err)
		}
		return creds
	}
	short, long := issue(15*time.Minute), issue(6*time.Hour)
	f.advance(time.Hour)
	// An expired session is still known (the gateway says its token
	// expired) until the sweep removes it, an hour after it expired.
	if _, expires, ok := d.Session(short.AccessKeyID); !ok || expires.After(f.now()) {
		t.Fatalf("expired session: %v %v", expires, ok)
	}
	// It is no one's (a registry password it got is refused).
	if _, ok := d.Caller(short.AccessKeyID); ok {
		t.Fatal("an expired session has a caller")
	}
	if _, ok := d.Caller(long.AccessKeyID); !ok {
		t.Fatal("a live session has no caller")
	}
	if err := d.sweepSessions(f.ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := d.Session(short.AccessKeyID); !ok {
		t.Fatal("swept a session expired less than an hour ago")
	}
	f.advance(16 * time.Minute)
	if err := d.sweepSessions(f.ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := d.Secret(short.AccessKeyID); ok {
		t.Fatal("the sweep left a session expired over an hour ago")
	}
	if _, _, ok := d.Secret(long.AccessKeyID); !ok {
		t.Fatal("the sweep removed a live session")
	}
}

func TestDirectoryAuthorizeUsers(t *testing.T) {
	f := newDirFixture(t)
	readOnly := f.managedPolicy("EcrRead", dirAllow("ecr:BatchGetImage", "*"))
	f.user("carol", iamstate.Policies{Inline: map[string]string{"push": dirAllow("ecr:PutImage", dirRepo)}})
	f.accessKey("AKIACAROL00000000001", "carol", "s", "Active")
	f.group("readers", []string{"Carol"}, iamstate.Policies{Attached: []string{readOnly},
		Inline: map[string]string{"logs": dirAllow("logs:PutLogEvents", "*")}})
	f.user("dave", iamstate.Policies{})
	f.group("others", []string{"dave"}, iamstate.Policies{Inline: map[string]string{"all": dirAllow("*", "*")}})
	const key = "AKIACAROL00000000001"

	dirWantAllowed(t, f.authorize(key, awsapi.Access{Action: "ecr:PutImage", Resource: dirRepo}))
	dirWantAllowed(t, f.authorize(key, awsapi.Access{Action: "ecr:BatchGetImage", Resource: dirRepo}))
	dirWantAllowed(t, f.authorize(key, awsapi.Access{Action: "logs:PutLogEvents", Resource: "*"}))
	dirWantDenied(t, f.authorize(key, awsapi.Access{Action: "ecr:DeleteRepository", Resource: dirRepo}),
		"User: arn:aws:iam::123456789012:user/carol is not authorized to perform: ecr:DeleteRepository on resource: "+dirRepo+
			" because no identity-based policy allows the ecr:DeleteRepository action")

	// An AWS managed policy, and a permissions boundary that narrows it.
	f.user("erin", iamstate.Policies{Attached: []string{"arn:aws:iam::aws:policy/AdministratorAccess"}, Boundary: readOnly})
	f.accessKey("AKIAERIN000000000001", "erin", "s", "Active")
	dirWantAllowed(t, f.authorize("AKIAERIN000000000001", awsapi.Access{Action: "ecr:BatchGetImage", Resource: dirRepo}))
	dirWantDenied(t, f.authorize("AKIAERIN000000000001", awsapi.Access{Action: "ecs:RunTask", Resource: "*"}),
		"User: arn:aws:iam::123456789012:user/erin is not authorized to perform: ecs:RunTask on resource: * because no permissions boundary allows the ecs:RunTask action")

	// An explicit deny wins.
	f.user("frank", iamstate.Policies{Attached: []string{"arn:aws:iam::aws:policy/AdministratorAccess"},
		Inline: map[string]string{"no": dirDeny("ecr:Delete*", "*")}})
	f.accessKey("AKIAFRANK00000000001", "frank", "s", "Active")
	dirWantDenied(t, f.authorize("AKIAFRANK00000000001", awsapi.Access{Action: "ecr:DeleteRepository", Resource: dirRepo}),
		"User: arn:aws:iam::123456789012:user/frank is not authorized to perform: ecr:DeleteRepository on resource: "+dirRepo+
			" with an explicit deny in an identity-based policy")

	// A resource policy naming the user allows on its own.
	f.user("gina", iamstate.Policies{})
	f.accessKey("AKIAGINA000000000001", "gina", "s", "Active")
	repoPolicy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + dirUserARN("gina") + `"},"Action":"ecr:BatchGetImage"}]}`
	dirWantAllowed(t, f.authorize("AKIAGINA000000000001", awsapi.Access{Action: "ecr:BatchGetImage", Resource: dirRepo, ResourcePolicy: repoPolicy}))
	dirWantDenied(t, f.authorize("AKIAGINA000000000001", awsapi.Access{Action: "ecr:BatchGetImage", Resource: dirRepo}), "")

	// Condition keys: the principal's tags, name and the request's region.
	tagged := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{` +
		`"StringEquals":{"aws:PrincipalTag/team":"web","aws:RequestedRegion":"us-east-1","aws:PrincipalType":"User"},` +
		`"StringLike":{"ecs:cluster":"*/${aws:username}-*"},"Bool":{"aws:SecureTransport":"false"}}}]}`
	f.user("hank", iamstate.Policies{Inline: map[string]string{"tagged": tagged}}, iamstate.Tag{Key: "team", Value: "web"})
	f.accessKey("AKIAHANK000000000001", "hank", "s", "Active")
	cluster := func(name string) awsapi.Access {
		return awsapi.Access{Action: "ecs:RunTask", Resource: "*", Context: map[string][]string{
			"ecs:cluster": {"arn:aws:ecs:us-east-1:123456789012:cluster/" + name}}}
	}
	dirWantAllowed(t, f.authorize("AKIAHANK000000000001", cluster("hank-dev")))
	dirWantDenied(t, f.authorize("AKIAHANK000000000001", cluster("carol-dev")), "")
}

func TestDirectoryAuthorizeSessions(t *testing.T) {
	f := newDirFixture(t)
	d := f.dir
	scoped := f.managedPolicy("Scoped", dirAllow("ecr:*", dirRepo))
	role := f.role("web", dirTrust(`{"Service":"ecs-tasks.amazonaws.com"}`), iamstate.Policies{
		Attached: []string{"arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy", scoped},
		Inline: map[string]string{"tagged": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ssm:GetParameters",` +
			`"Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/stage":"prod"}}}]}`,
			"task": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue",` +
				`"Resource":"*","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:ecs:us-east-1:123456789012:task/prod/*"}}}]}`},
	}, iamstate.Tag{Key: "stage", Value: "dev"})

	task, _, err := d.IssueServiceSession(f.ctx, ServiceSessionRequest{RoleARN: role.ARN, Service: "ecs-tasks.amazonaws.com",
		SessionName: "abc", Context: map[string]string{"aws:SourceArn": "arn:aws:ecs:us-east-1:123456789012:task/prod/abc",
			"aws:SourceAccount": dirTestAccount}})
	if err != nil {
		t.Fatal(err)
	}
	dirWantAllowed(t, f.authorize(task.AccessKeyID, awsapi.Access{Action: "ecr:GetAuthorizationToken", Resource: "*"}))
	dirWantAllowed(t, f.authorize(task.AccessKeyID, awsapi.Access{Action: "ecr:PutImage", Resource: dirRepo}))
	dirWantAllowed(t, f.authorize(task.AccessKeyID, awsapi.Access{Action: "secretsmanager:GetSecretValue", Resource: "*"}))
	dirWantDenied(t, f.authorize(task.AccessKeyID, awsapi.Access{Action: "ssm:GetParameters", Resource: "*"}),
		"User: arn:aws:sts::123456789012:assumed-role/web/abc is not authorized to perform: ssm:GetParameters on resource: * "+
			"because no identity-based policy allows the ssm:GetParameters action")

	// A session's own policy narrows it; its tags override the role's.
	narrowed := &iamstate.Session{Created: f.now(), Expires: f.now().Add(time.Hour), RoleName: role.Name, RoleARN: role.ARN,
		RoleID: role.ID, SessionName: "narrow", Policy: dirAllow("ssm:*", "*"), Tags: []iamstate.Tag{{Key: "Stage", Value: "prod"}}}
	if _, err := d.createSession(f.ctx, narrowed); err != nil {
		t.Fatal(err)
	}
	dirWantAllowed(t, f.authorize(narrowed.AccessKeyID, awsapi.Access{Action: "ssm:GetParameters", Resource: "*"}))
	dirWantDenied(t, f.authorize(narrowed.AccessKeyID, awsapi.Access{Action: "ecr:PutImage", Resource: dirRepo}),
		"User: arn:aws:sts::123456789012:assumed-role/web/narrow is not authorized to perform: ecr:PutImage on resource: "+dirRepo+
			" because no session policy allows the ecr:PutImage action")
	// The task's fixed aws:SourceArn is the task's alone.
	dirWantDenied(t, f.authorize(narrowed.AccessKeyID, awsapi.Access{Action: "secretsmanager:GetSecretValue", Resource: "*"}), "")

	// A role boundary.
	f.role("web", role.AssumeRolePolicy, iamstate.Policies{Attached: role.Attached, Inline: role.Inline, Boundary: scoped})
	dirWantDenied(t, f.authorize(task.AccessKeyID, awsapi.Access{Action: "ecr:GetAuthorizationToken", Resource: "*"}),
		"User: arn:aws:sts::123456789012:assumed-role/web/abc is not authorized to perform: ecr:GetAuthorizationToken on resource: * "+
			"because no permissions boundary allows the ecr:GetAuthorizationToken action")

	// A role deleted and created again is another role: its old
	// sessions get nothing.
	f.delete(iamstate.RoleKey("web"))
	again := f.role("web", role.AssumeRolePolicy, iamstate.Policies{Attached: []string{"arn:aws:iam::aws:policy/AdministratorAccess"}})
	again.ID = "AROANEWWEB0000000000"
	f.put(iamstate.RoleKey("web"), again)
	dirWantDenied(t, f.authorize(task.AccessKeyID, awsapi.Access{Action: "ecr:PutImage", Resource: dirRepo}), "")

	// Asked by ARN alone (no access key in the request), a session is
	// its role's.
	caller := awsapi.Caller{ARN: "arn:aws:sts::123456789012:assumed-role/web/other", UserID: again.ID + ":other"}
	dirWantAllowed(t, d.Authorize(f.ctx, caller, []awsapi.Access{{Action: "ecs:RunTask", Resource: "*"}}))
}

func TestDirectoryAuthorizeAdminAndEmpty(t *testing.T) {
	f := newDirFixture(t)
	root, _ := f.dir.Caller(dirTestAdminKey)
	dirWantAllowed(t, f.dir.Authorize(f.ctx, root, []awsapi.Access{{Action: "iam:DeleteRole", Resource: "*"}}))
	nobody := awsapi.Caller{ARN: dirUserARN("ghost"), UserID: "AIDAGHOST"}
	dirWantAllowed(t, f.dir.Authorize(f.ctx, nobody, []awsapi.Access{}))
	dirWantDenied(t, f.dir.Authorize(f.ctx, nobody, []awsapi.Access{{Action: "ecs:ListClusters", Resource: "*"}}),
		"User: arn:aws:iam::123456789012:user/ghost is not authorized to perform: ecs:ListClusters on resource: * "+
			"because no identity-based policy allows the ecs:ListClusters action")
}

func TestDirectoryLimitedSessions(t *testing.T) {
	f := newDirFixture(t)
	f.user("ivy", iamstate.Policies{Attached: []string{"arn:aws:iam::aws:policy/AdministratorAccess"}})
	s := &iamstate.Session{Created: f.now(), Expires: f.now().Add(time.Hour), UserName: "ivy"}
	if _, err := f.dir.createSession(f.ctx, s); err != nil {
		t.Fatal(err)
	}
	dirWantAllowed(t, f.authorize(s.AccessKeyID, awsapi.Access{Action: "ecs:RunTask", Resource: "*"}))
	var aerr *awsapi.Error
	if err := f.authorize(s.AccessKeyID, awsapi.Access{Action: "iam:ListRoles", Resource: "*"}); !errors.As(err, &aerr) || aerr.Code != "InvalidClientTokenId" {
		t.Fatalf("IAM with GetSessionToken credentials: %v", err)
	}
	dirWantDenied(t, f.authorize(s.AccessKeyID, awsapi.Access{Action: "sts:GetFederationToken", Resource: "*"}),
		"Cannot call GetFederationToken with session credentials")
}

// A policy change is seen by the very next decision, though decisions
// are cached.
func TestDirectoryPolicyChangeShowsAtOnce(t *testing.T) {
	f := newDirFixture(t)
	d := f.dir
	arn := f.managedPolicy("Pull", dirAllow("ecr:BatchGetImage", "*"))
	role := f.role("puller", dirTrust(`{"Service":"ecs-tasks.amazonaws.com"}`), iamstate.Policies{Attached: []string{arn}})
	creds, _, err := d.IssueServiceSession(f.ctx, ServiceSessionRequest{RoleARN: role.ARN, Service: "ecs-tasks.amazonaws.com", SessionName: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	pull := awsapi.Access{Action: "ecr:BatchGetImage", Resource: dirRepo}
	for range 3 {
		dirWantAllowed(t, f.authorize(creds.AccessKeyID, pull))
	}
	d.mu.RLock()
	cached := len(d.subjects)
	d.mu.RUnlock()
	if cached == 0 {
		t.Fatal("the decision's policies were not cached")
	}
	f.managedPolicy("Pull", dirAllow("ecr:GetDownloadUrlForLayer", "*"))
	dirWantDenied(t, f.authorize(creds.AccessKeyID, pull), "")
	f.role("puller", role.AssumeRolePolicy, iamstate.Policies{Attached: []string{arn}, Inline: map[string]string{"pull": dirAllow("ecr:*", "*")}})
	dirWantAllowed(t, f.authorize(creds.AccessKeyID, pull))
	f.role("puller", role.AssumeRolePolicy, iamstate.Policies{Attached: []string{arn}, Inline: map[string]string{"pull": dirAllow("ecr:*", "*")},
		Boundary: "arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess"})
	dirWantDenied(t, f.authorize(creds.AccessKeyID, pull), "")
}

// Without Run, the Directory reads the store for every answer.
func TestDirectoryWithoutRun(t *testing.T) {
	f := newDirFixture(t)
	d := NewDirectory(DirectoryConfig{Store: f.store, Box: f.box, AccountID: dirTestAccount, Logger: slog.New(slog.DiscardHandler)})
	f.user("jo", iamstate.Policies{Inline: map[string]string{"p": dirAllow("ecs:*", "*")}})
	f.accessKey("AKIAJO00000000000001", "jo", "s", "Active")
	caller, ok := d.Caller("AKIAJO00000000000001")
	if !ok {
		t.Fatal("unknown key")
	}
	dirWantAllowed(t, d.Authorize(f.ctx, caller, []awsapi.Access{{Action: "ecs:RunTask", Resource: "*"}}))
	f.user("jo", iamstate.Policies{})
	dirWantDenied(t, d.Authorize(f.ctx, caller, []awsapi.Access{{Action: "ecs:RunTask", Resource: "*"}}), "")
	if len(d.credentials) != 0 || len(d.subjects) != 0 {
		t.Fatal("cached without Run")
	}
}

func TestCheckServiceRole(t *testing.T) {
	f := newDirFixture(t)
	d := f.dir
	conditioned := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},` +
		`"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":"123456789012"},` +
		`"ArnLike":{"aws:SourceArn":"arn:aws:ecs:us-east-1:123456789012:*"}}}]}`
	f.role("task", dirTrust(`{"Service":["ecs-tasks.amazonaws.com"]}`), iamstate.Policies{})
	f.role("lambda", dirTrust(`{"Service":"lambda.amazonaws.com"}`), iamstate.Policies{})
	f.role("guarded", conditioned, iamstate.Policies{})

	if err := d.CheckServiceRole(f.ctx, dirRoleARN("task"), "ecs-tasks.amazonaws.com", ""); err != nil {
		t.Fatal(err)
	}
	if err := d.CheckServiceRole(f.ctx, dirRoleARN("lambda"), "ecs-tasks.amazonaws.com", ""); !errors.Is(err, ErrServiceRoleNotTrusted) {
		t.Fatalf("untrusted: %v", err)
	}
	// The confused deputy guard admits the tasks to come of a cluster of
	// its region, and refuses another region's.
	if err := d.CheckServiceRole(f.ctx, dirRoleARN("guarded"), "ecs-tasks.amazonaws.com", "arn:aws:ecs:us-east-1:123456789012:task/c/*"); err != nil {
		t.Fatalf("guarded role for the region's tasks: %v", err)
	}
	if err := d.CheckServiceRole(f.ctx, dirRoleARN("guarded"), "ecs-tasks.amazonaws.com", "arn:aws:ecs:us-west-2:123456789012:task/c/*"); !errors.Is(err, ErrServiceRoleNotTrusted) {
		t.Fatalf("guarded role for another region's tasks: %v", err)
	}
	for _, arn := range []string{dirRoleARN("missing"), "arn:aws:iam::123456789012:role/other/path/task", "arn:aws:iam::999999999999:role/task", "task"} {
		if err := d.CheckServiceRole(f.ctx, arn, "ecs-tasks.amazonaws.com", ""); !errors.Is(err, ErrServiceRoleNotFound) {
			t.Fatalf("%s: %v", arn, err)
		}
	}

	request := ServiceSessionRequest{RoleARN: dirRoleARN("guarded"), Service: "ecs-tasks.amazonaws.com", SessionName: "t1",
		Context: map[string]string{"aws:SourceArn": "arn:aws:ecs:us-west-2:123456789012:task/c/t1", "aws:SourceAccount": dirTestAccount}}
	if _, _, err := d.IssueServiceSession(f.ctx, request); !errors.Is(err, ErrServiceRoleNotTrusted) {
		t.Fatalf("a task of another region: %v", err)
	}
	request.Context["aws:SourceArn"] = "arn:aws:ecs:us-east-1:123456789012:task/c/t1"
	creds, _, err := d.IssueServiceSession(f.ctx, request)
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Get[iamstate.Session](f.ctx, f.store, iamstate.SessionKey(creds.AccessKeyID))
	if err != nil {
		t.Fatal(err)
	}
	if s.Value.Context["aws:SourceArn"] != request.Context["aws:SourceArn"] || !s.Value.Expires.Equal(f.now().Truncate(time.Second).Add(DefaultServiceSessionDuration)) {
		t.Fatalf("session record: %+v", s.Value)
	}
	if strings.Contains(string(dirJSON(t, s.Value)), creds.SecretAccessKey) {
		t.Fatal("the secret key is stored in the clear")
	}
}

func dirJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every change is seen by the next decision while other writes keep the
// store busy, so that the cache is often behind the store's revision.
func TestDirectoryChangesShowAtOnceUnderLoad(t *testing.T) {
	f := newDirFixture(t)
	f.user("kim", iamstate.Policies{})
	f.accessKey("AKIAKIM0000000000001", "kim", "s", "Active")
	ctx, cancel := context.WithCancel(f.ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			op, _ := store.PutJSON("ecs/busy/"+strconv.Itoa(i%16), i)
			f.store.Txn(ctx, store.Txn{Then: []store.Op{op}})
		}
	})
	defer func() { cancel(); wg.Wait() }()
	run := awsapi.Access{Action: "ecs:RunTask", Resource: "*"}
	for i := range 100 {
		allowed := i%2 == 0
		p := iamstate.Policies{}
		if allowed {
			p.Inline = map[string]string{"run": dirAllow("ecs:RunTask", "*")}
		}
		f.user("kim", p)
		for range 2 {
			if err := f.authorize("AKIAKIM0000000000001", run); (err == nil) != allowed {
				t.Fatalf("change %d: allowed %v, got %v", i, allowed, err)
			}
		}
	}
}

func TestUncheckedServiceSession(t *testing.T) {
	f := newDirFixture(t)
	arn := dirRoleARN("made-up")
	if _, _, err := f.dir.IssueServiceSession(f.ctx, ServiceSessionRequest{RoleARN: arn, Service: "ecs-tasks.amazonaws.com", SessionName: "t1"}); !errors.Is(err, ErrServiceRoleNotFound) {
		t.Fatalf("checked session of a role that does not exist: %v", err)
	}
	creds, caller, err := f.dir.IssueServiceSession(f.ctx, ServiceSessionRequest{RoleARN: arn, Service: "ecs-tasks.amazonaws.com", SessionName: "t1", Unchecked: true})
	if err != nil || creds.RoleARN != arn || caller.ARN != "arn:aws:sts::123456789012:assumed-role/made-up/t1" {
		t.Fatalf("unchecked: %+v %+v %v", creds, caller, err)
	}
	if got, ok := f.dir.Caller(creds.AccessKeyID); !ok || got.ARN != caller.ARN {
		t.Fatalf("the session's key is not known: %+v %v", got, ok)
	}
	if _, _, err := f.dir.IssueServiceSession(f.ctx, ServiceSessionRequest{RoleARN: "arn:aws:iam::999999999999:role/x", Service: "ecs-tasks.amazonaws.com", SessionName: "t1", Unchecked: true}); !errors.Is(err, ErrServiceRoleNotFound) {
		t.Fatalf("another account's role: %v", err)
	}
}

// TestResourceTagsReadOnlyWhenTested: a resource's tags are read when a
// policy that applies tests them, and decide; otherwise never read.
func TestResourceTagsReadOnlyWhenTested(t *testing.T) {
	f := newDirFixture(t)
	f.user("plain", iamstate.Policies{Inline: map[string]string{"p": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:DescribeServices","Resource":"*"}]}`}})
	f.accessKey("AKIAPLAIN", "plain", "secret", "Active")
	f.user("tagged", iamstate.Policies{Inline: map[string]string{"p": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:DescribeServices","Resource":"*",
		"Condition":{"StringEquals":{"aws:ResourceTag/team":"web"}}}]}`}})
	f.accessKey("AKIATAGGED", "tagged", "secret", "Active")
	reads := 0
	team := "web"
	access := awsapi.Access{Action: "ecs:DescribeServices", Resource: "arn:aws:ecs:us-east-1:123456789012:service/c/s",
		Context: map[string][]string{"ecs:cluster": {"arn:aws:ecs:us-east-1:123456789012:cluster/c"}},
		ResourceTags: func(context.Context) (map[string][]string, error) {
			reads++
			return map[string][]string{"aws:ResourceTag/team": {team}}, nil
		}}
	dirWantAllowed(t, f.authorize("AKIAPLAIN", access))
	if reads != 0 {
		t.Fatalf("tags read %d times for a policy that does not test them", reads)
	}
	dirWantAllowed(t, f.authorize("AKIATAGGED", access))
	team = "api"
	if err := f.authorize("AKIATAGGED", access); err == nil {
		t.Fatal("allowed with another team's tag")
	}
	if reads != 2 || len(access.Context) != 1 {
		t.Fatalf("tags read %d times; the access's own context became %v", reads, access.Context)
	}
}

// A role's session asked about by ARN alone is held to the role's policies:
// none allows nothing; an inline policy allows what it says, until deleted.
func TestDirectoryAuthorizeRoleByARN(t *testing.T) {
	f := newDirFixture(t)
	f.role("task", dirTrust("ecs-tasks.amazonaws.com"), iamstate.Policies{})
	caller := awsapi.Caller{ARN: "arn:aws:sts::" + dirTestAccount + ":assumed-role/task/0123"}
	access := []awsapi.Access{{Action: "ssmmessages:OpenDataChannel", Resource: "*"}}
	ctx := awsapi.WithRequest(f.ctx, &awsapi.RequestInfo{Caller: caller, Region: dirTestRegion})
	dirWantDenied(t, f.dir.Authorize(ctx, caller, access), "")
	f.role("task", dirTrust("ecs-tasks.amazonaws.com"), iamstate.Policies{Inline: map[string]string{"exec": dirAllow("ssmmessages:*", "*")}})
	dirWantAllowed(t, f.dir.Authorize(ctx, caller, access))
	f.role("task", dirTrust("ecs-tasks.amazonaws.com"), iamstate.Policies{})
	dirWantDenied(t, f.dir.Authorize(ctx, caller, access), "")
}
