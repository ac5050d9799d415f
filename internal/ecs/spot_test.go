package ecs

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/internal/admin"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/store/bolt"
)

const spotTestSecret = "spot-admin-secret"

var spotTestToken = admin.Token(spotTestSecret, SpotInterruptPurpose)

type spotTestEnv struct {
	t     *testing.T
	ctx   context.Context
	store *bolt.Store
	url   string
	arns  ecsstate.ARNs
	clock time.Time
}

func newSpotTestEnv(t *testing.T) *spotTestEnv {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &spotTestEnv{t: t, ctx: context.Background(), store: st,
		arns: ecsstate.ARNs{Region: apiTestRegion, Account: apiTestAccount}, clock: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	srv := httptest.NewServer(NewSpotHandler(SpotConfig{
		Config:        Config{Store: st, AccountID: apiTestAccount, Now: func() time.Time { return e.clock }, Logger: slog.New(slog.DiscardHandler)},
		DefaultRegion: apiTestRegion,
		AdminSecret:   spotTestSecret,
	}))
	t.Cleanup(srv.Close)
	e.url = srv.URL + SpotInterruptPath
	return e
}

// putTask stores a task of cluster "c"; observed is its last status.
func (e *spotTestEnv) putTask(id, service, provider, observed string, created time.Duration) ecsstate.Task {
	e.t.Helper()
	task := ecsstate.Task{Region: apiTestRegion, ID: id, Cluster: "c", DesiredStatus: ecsstate.StatusRunning, CreatedAt: e.clock.Add(created), Generation: 1}
	task.Spec.ServiceName = service
	task.Spec.CapacityProviderName = provider
	task.Spec.LaunchType = "FARGATE"
	task.Observed.LastStatus = observed
	if _, err := store.Update(e.ctx, e.store, task.Key(), func(v *ecsstate.Task, _ bool) error {
		*v = task
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
	return task
}

func (e *spotTestEnv) task(id string) ecsstate.Task {
	e.t.Helper()
	v, err := store.Get[ecsstate.Task](e.ctx, e.store, ecsstate.TaskKey(apiTestRegion, "c", id))
	if err != nil {
		e.t.Fatal(err)
	}
	return v.Value
}

// post sends body with the bearer token and returns the status and body.
func (e *spotTestEnv) post(method, token string, body any) (int, []byte) {
	e.t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		e.t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(e.ctx, method, e.url, bytes.NewReader(raw))
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, out
}

func (e *spotTestEnv) interrupt(req SpotInterruptRequest) SpotInterruptResponse {
	e.t.Helper()
	status, body := e.post(http.MethodPost, spotTestToken, req)
	if status != http.StatusOK {
		e.t.Fatalf("interrupt %+v: %d %s", req, status, body)
	}
	var out SpotInterruptResponse
	if err := json.Unmarshal(body, &out); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func TestSpotInterruptTask(t *testing.T) {
	e := newSpotTestEnv(t)
	spot := e.putTask(strings.Repeat("a", 32), "api", "FARGATE_SPOT", ecsstate.StatusRunning, 0)
	e.putTask(strings.Repeat("b", 32), "api", "FARGATE", ecsstate.StatusRunning, 0)
	arn := e.arns.Task("c", spot.ID)

	// The task ARN names the cluster.
	out := e.interrupt(SpotInterruptRequest{Task: arn})
	if !slices.Equal(out.Interrupted, []string{arn}) || len(out.NotInterrupted) != 0 {
		t.Fatalf("interrupted %+v", out)
	}
	got := e.task(spot.ID)
	if got.DesiredStatus != ecsstate.StatusStopped || got.StopCode != "SpotInterruption" ||
		got.StoppedReason != "Your Spot Task was interrupted." || got.Generation != 2 || !got.StoppingAt.Equal(e.clock) {
		t.Fatalf("task after interruption: %+v", got)
	}
	// Already stopping: reported, not changed.
	out = e.interrupt(SpotInterruptRequest{Cluster: "c", Task: spot.ID})
	if len(out.Interrupted) != 0 || !slices.Equal(out.NotInterrupted, []string{arn}) {
		t.Fatalf("second interruption %+v", out)
	}
	if e.task(spot.ID).Generation != 2 {
		t.Fatal("second interruption changed the task")
	}
	// Stopped on its own, before the hub turned its desired status.
	exited := e.putTask(strings.Repeat("c", 32), "", "FARGATE_SPOT", ecsstate.StatusStopped, 0)
	out = e.interrupt(SpotInterruptRequest{Cluster: "c", Task: exited.ID})
	if len(out.Interrupted) != 0 || !slices.Equal(out.NotInterrupted, []string{e.arns.Task("c", exited.ID)}) {
		t.Fatalf("interrupting a stopped task: %+v", out)
	}
	if got := e.task(exited.ID); got.DesiredStatus != ecsstate.StatusRunning || got.StopCode != "" || got.Generation != 1 {
		t.Fatalf("interrupting a stopped task changed it: %+v", got)
	}

	for _, tc := range []struct {
		name   string
		req    SpotInterruptRequest
		status int
		msg    string
	}{
		{"on FARGATE", SpotInterruptRequest{Cluster: "c", Task: strings.Repeat("b", 32)}, 400, "not FARGATE_SPOT"},
		{"missing", SpotInterruptRequest{Cluster: "c", Task: strings.Repeat("f", 32)}, 404, "not found"},
		{"other cluster", SpotInterruptRequest{Cluster: "d", Task: arn}, 404, "not in cluster"},
		{"default cluster", SpotInterruptRequest{Task: spot.ID}, 404, "not found"},
		{"neither", SpotInterruptRequest{Cluster: "c"}, 400, "either"},
		{"both", SpotInterruptRequest{Cluster: "c", Task: spot.ID, Service: "api"}, 400, "either"},
		{"count with task", SpotInterruptRequest{Cluster: "c", Task: spot.ID, Count: 1}, 400, "count"},
		{"bad ARN", SpotInterruptRequest{Task: "arn:aws:ecs:us-east-1:123456789012:service/c/api"}, 400, "not a task"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.post(http.MethodPost, spotTestToken, tc.req)
			var ae admin.ErrorBody
			if status != tc.status || json.Unmarshal(body, &ae) != nil || !strings.Contains(ae.Error, tc.msg) {
				t.Fatalf("got %d %s, want %d with %q", status, body, tc.status, tc.msg)
			}
		})
	}
}

func TestSpotInterruptService(t *testing.T) {
	e := newSpotTestEnv(t)
	if _, err := store.Update(e.ctx, e.store, ecsstate.ServiceKey(apiTestRegion, "c", "api"), func(v *ecsstate.Service, _ bool) error {
		*v = ecsstate.Service{Region: apiTestRegion, Name: "api", Cluster: "c", Status: ecsstate.ServiceActive}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	pending := e.putTask(strings.Repeat("1", 32), "api", "FARGATE_SPOT", ecsstate.StatusPending, 0)
	oldRunning := e.putTask(strings.Repeat("2", 32), "api", "FARGATE_SPOT", ecsstate.StatusRunning, time.Minute)
	newRunning := e.putTask(strings.Repeat("3", 32), "api", "FARGATE_SPOT", ecsstate.StatusRunning, 2*time.Minute)
	e.putTask(strings.Repeat("4", 32), "api", "FARGATE", ecsstate.StatusRunning, 0)
	e.putTask(strings.Repeat("5", 32), "other", "FARGATE_SPOT", ecsstate.StatusRunning, 0)
	stopped := e.putTask(strings.Repeat("6", 32), "api", "FARGATE_SPOT", ecsstate.StatusStopped, 0)
	stopped.DesiredStatus = ecsstate.StatusStopped
	if _, err := store.Update(e.ctx, e.store, stopped.Key(), func(v *ecsstate.Task, _ bool) error { *v = stopped; return nil }); err != nil {
		t.Fatal(err)
	}

	// Running ones first, oldest first.
	out := e.interrupt(SpotInterruptRequest{Cluster: "c", Service: "api", Count: 1})
	if !slices.Equal(out.Interrupted, []string{e.arns.Task("c", oldRunning.ID)}) {
		t.Fatalf("count 1: %+v", out)
	}
	// The rest of the service's Spot tasks.
	out = e.interrupt(SpotInterruptRequest{Cluster: "arn:aws:ecs:us-east-1:123456789012:cluster/c", Service: "api"})
	if !slices.Equal(out.Interrupted, []string{e.arns.Task("c", newRunning.ID), e.arns.Task("c", pending.ID)}) {
		t.Fatalf("all: %+v", out)
	}
	out = e.interrupt(SpotInterruptRequest{Cluster: "c", Service: "api"})
	if len(out.Interrupted) != 0 || len(out.NotInterrupted) != 0 {
		t.Fatalf("nothing left: %+v", out)
	}
	if got := e.task(strings.Repeat("5", 32)); got.DesiredStatus != ecsstate.StatusRunning {
		t.Fatal("another service's task was interrupted")
	}
	status, _ := e.post(http.MethodPost, spotTestToken, SpotInterruptRequest{Cluster: "c", Service: "nope"})
	if status != http.StatusNotFound {
		t.Fatalf("unknown service: %d", status)
	}
	status, _ = e.post(http.MethodPost, spotTestToken, SpotInterruptRequest{Cluster: "c", Service: "api", Count: -1})
	if status != http.StatusBadRequest {
		t.Fatalf("negative count: %d", status)
	}
}

func TestSpotInterruptAuth(t *testing.T) {
	e := newSpotTestEnv(t)
	spot := e.putTask(strings.Repeat("a", 32), "", "FARGATE_SPOT", ecsstate.StatusRunning, 0)
	req := SpotInterruptRequest{Cluster: "c", Task: spot.ID}
	// The admin secret itself is no token: only the value derived from it.
	for _, token := range []string{"", "wrong", spotTestSecret, spotTestToken + "x", strings.ToUpper(spotTestToken), admin.Token("other", SpotInterruptPurpose)} {
		if status, _ := e.post(http.MethodPost, token, req); status != http.StatusUnauthorized {
			t.Errorf("token %q: status %d, want 401", token, status)
		}
	}
	if status, _ := e.post(http.MethodGet, spotTestToken, req); status != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d", status)
	}
	if e.task(spot.ID).DesiredStatus != ecsstate.StatusRunning {
		t.Fatal("a refused request stopped the task")
	}

	// Without a configured secret nothing gets in, not even an empty token.
	srv := httptest.NewServer(NewSpotHandler(SpotConfig{Config: Config{Store: e.store, Logger: slog.New(slog.DiscardHandler)}}))
	defer srv.Close()
	r, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(`{"task":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer ")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no secret configured: %d", resp.StatusCode)
	}
}

// Tasks and services of any region are interrupted when named by ARN.
func TestSpotInterruptOtherRegion(t *testing.T) {
	e := newSpotTestEnv(t)
	const other = "eu-central-1"
	task := ecsstate.Task{Region: other, ID: strings.Repeat("e", 32), Cluster: "c", DesiredStatus: ecsstate.StatusRunning, Generation: 1}
	task.Spec.ServiceName, task.Spec.CapacityProviderName = "api", "FARGATE_SPOT"
	task.Observed.LastStatus = ecsstate.StatusRunning
	svc := ecsstate.Service{Region: other, Name: "api", Cluster: "c", Status: ecsstate.ServiceActive}
	for key, v := range map[string]any{task.Key(): task, svc.Key(): svc} {
		op, err := store.PutJSON(key, v)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.Txn(e.ctx, store.Txn{Then: []store.Op{op}}); err != nil {
			t.Fatal(err)
		}
	}
	arns := ecsstate.ARNs{Region: other, Account: apiTestAccount}
	arn := arns.Task("c", task.ID)

	// A bare id is looked for in the default region only.
	if status, body := e.post(http.MethodPost, spotTestToken, SpotInterruptRequest{Cluster: "c", Task: task.ID}); status != http.StatusNotFound {
		t.Errorf("bare id of an eu-central-1 task: %d %s", status, body)
	}
	if out := e.interrupt(SpotInterruptRequest{Cluster: arns.Cluster("c"), Service: arns.Service("c", "api")}); !slices.Equal(out.Interrupted, []string{arn}) {
		t.Errorf("service ARN of eu-central-1: %+v", out)
	}
	if out := e.interrupt(SpotInterruptRequest{Task: arn}); !slices.Equal(out.NotInterrupted, []string{arn}) {
		t.Errorf("task ARN of eu-central-1, already interrupted: %+v", out)
	}
}
