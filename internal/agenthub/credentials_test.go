package agenthub

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
)

// fakeSessions issues numbered credentials for the roles it trusts.
type fakeSessions struct {
	mu      sync.Mutex
	trusted map[string]bool
	issued  int
	now     func() time.Time
}

func (s *fakeSessions) TaskSession(_ context.Context, roleARN, taskARN, taskID string) (agentproto.RoleCredentials, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.trusted[roleARN] {
		return agentproto.RoleCredentials{}, ErrRoleNotAssumable
	}
	s.issued++
	return agentproto.RoleCredentials{RoleArn: roleARN, AccessKeyID: "ASIA" + taskID[:4] + string(rune('0'+s.issued)),
		SecretAccessKey: "secret", Token: "token", Expiration: s.now().Add(time.Hour)}, nil
}

func TestCredentialsEndpoint(t *testing.T) {
	f := newFixture(t)
	const taskRole = "arn:aws:iam::123456789012:role/app"
	const execRole = "arn:aws:iam::123456789012:role/exec"
	sessions := &fakeSessions{trusted: map[string]bool{taskRole: true}, now: f.clock.Now}
	f.hub.cfg.Sessions = sessions
	tk := newTask("default", taskID(1), nodeA, regHost+"/web")
	tk.Spec.Definition.TaskRoleArn = awsapi.String(taskRole)
	tk.Spec.Definition.ExecutionRoleArn = awsapi.String(execRole)
	f.putTask(t, tk)
	bare := newTask("default", taskID(2), nodeA, regHost+"/web")
	f.putTask(t, bare)
	srv := httptest.NewServer(f.hub.CredentialsHandler())
	t.Cleanup(srv.Close)
	arn := func(id string) string { return "arn:aws:ecs:us-east-1:123456789012:task/default/" + id }

	ask := func(token string, req agentproto.CredentialsRequest) (int, agentproto.RoleCredentials, agentproto.CredentialsError) {
		t.Helper()
		body, _ := json.Marshal(req)
		hr, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		hr.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var creds agentproto.RoleCredentials
		var cerr agentproto.CredentialsError
		if res.StatusCode == http.StatusOK {
			json.NewDecoder(res.Body).Decode(&creds)
		} else {
			json.NewDecoder(res.Body).Decode(&cerr)
		}
		return res.StatusCode, creds, cerr
	}

	if status, _, _ := ask("wrong", agentproto.CredentialsRequest{TaskARN: arn(taskID(1)), Role: agentproto.TaskRole}); status != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", status)
	}
	status, first, _ := ask(agentTok, agentproto.CredentialsRequest{TaskARN: arn(taskID(1)), Role: agentproto.TaskRole})
	if status != http.StatusOK || first.RoleArn != taskRole || first.AccessKeyID == "" {
		t.Fatalf("task role: %d %+v", status, first)
	}
	// Asked again, the same credentials while they have long to live; new
	// ones once they near expiry.
	if _, again, _ := ask(agentTok, agentproto.CredentialsRequest{TaskARN: arn(taskID(1)), Role: agentproto.TaskRole}); again.AccessKeyID != first.AccessKeyID {
		t.Fatalf("not cached: %+v then %+v", first, again)
	}
	f.clock.Advance(45 * time.Minute)
	if _, fresh, _ := ask(agentTok, agentproto.CredentialsRequest{TaskARN: arn(taskID(1)), Role: agentproto.TaskRole}); fresh.AccessKeyID == first.AccessKeyID {
		t.Fatalf("credentials 15 minutes from expiry served again")
	}

	for name, tc := range map[string]struct {
		req    agentproto.CredentialsRequest
		status int
		code   string
	}{
		"untrusted role":    {agentproto.CredentialsRequest{TaskARN: arn(taskID(1)), Role: agentproto.ExecutionRole}, http.StatusForbidden, agentproto.CredentialsDenied},
		"no role":           {agentproto.CredentialsRequest{TaskARN: arn(taskID(2)), Role: agentproto.TaskRole}, http.StatusNotFound, agentproto.CredentialsNoRole},
		"no task":           {agentproto.CredentialsRequest{TaskARN: arn(taskID(3)), Role: agentproto.TaskRole}, http.StatusNotFound, agentproto.CredentialsNoTask},
		"not a task ARN":    {agentproto.CredentialsRequest{TaskARN: "task/x", Role: agentproto.TaskRole}, http.StatusBadRequest, "BadRequest"},
		"unknown role kind": {agentproto.CredentialsRequest{TaskARN: arn(taskID(1)), Role: "admin"}, http.StatusBadRequest, "BadRequest"},
	} {
		if status, _, cerr := ask(agentTok, tc.req); status != tc.status || cerr.Code != tc.code {
			t.Errorf("%s: %d %+v, want %d %s", name, status, cerr, tc.status, tc.code)
		}
	}

	// A stopped task's credentials are gone.
	f.updateTask(t, "default", taskID(1), func(v *ecsstate.Task) { v.Observed.LastStatus = ecsstate.StatusStopped })
	if status, _, cerr := ask(agentTok, agentproto.CredentialsRequest{TaskARN: arn(taskID(1)), Role: agentproto.TaskRole}); status != http.StatusNotFound || cerr.Code != agentproto.CredentialsNoTask {
		t.Fatalf("stopped task: %d %+v", status, cerr)
	}
}

func TestPullsAsTheExecutionRole(t *testing.T) {
	f := newFixture(t)
	const execRole = "arn:aws:iam::123456789012:role/exec"
	sessions := &fakeSessions{trusted: map[string]bool{execRole: true}, now: f.clock.Now}
	f.hub.cfg.Sessions = sessions
	f.hub.cfg.InstanceAccessKeyID = "AKIAINSTANCE"
	withRole := newTask("default", taskID(1), nodeA, regHost+"/web")
	withRole.Spec.Definition.ExecutionRoleArn = awsapi.String(execRole)
	without := newTask("default", taskID(2), nodeA, regHost+"/web")
	untrusted := newTask("default", taskID(3), nodeA, regHost+"/web")
	untrusted.Spec.Definition.ExecutionRoleArn = awsapi.String("arn:aws:iam::123456789012:role/gone")

	pullKey := func(tk ecsstate.Task) string {
		t.Helper()
		d := f.hub.desiredTask(context.Background(), &tk, regHost)
		if d.Images[0].Auth == nil {
			return ""
		}
		key, _, err := f.tokens.Verify(d.Images[0].Auth.Password)
		if err != nil {
			t.Fatal(err)
		}
		return key
	}
	if key := pullKey(withRole); len(key) < 4 || key[:4] != "ASIA" {
		t.Fatalf("a task with an execution role pulls as %q", key)
	}
	if key := pullKey(without); key != "AKIAINSTANCE" {
		t.Fatalf("a task without one pulls as %q", key)
	}
	if key := pullKey(untrusted); key != "" {
		t.Fatalf("a task whose execution role cannot be assumed pulls as %q", key)
	}
}
