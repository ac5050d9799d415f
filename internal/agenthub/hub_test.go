package agenthub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/registry"
	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/store/bolt"
)

const (
	account   = "123456789012"
	region    = "us-east-1"
	agentTok  = "agent-secret"
	nodeA     = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	nodeB     = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	regHost   = "localhost:4566"
	waitLimit = 5 * time.Second
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	store  store.Store
	hub    *Hub
	srv    *httptest.Server
	clock  *clock
	tokens *registry.Tokens
	reg    *prometheus.Registry
	// served receives once per finished ServeHTTP call.
	served chan struct{}
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return newFixtureWith(t, st)
}

func newFixtureWith(t *testing.T, st store.Store) *fixture {
	t.Helper()
	f := &fixture{
		store:  st,
		clock:  &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)},
		reg:    prometheus.NewRegistry(),
		served: make(chan struct{}, 16),
	}
	f.tokens = registry.NewTokens([]byte("registry-key"), region, f.clock.Now)
	f.hub = New(Config{
		Store: st, AccountID: account, Region: region, RegistryHost: regHost,
		Tokens: f.tokens, AgentToken: agentTok, Now: f.clock.Now,
		Logger: slog.New(slog.DiscardHandler), Registerer: f.reg,
	})
	mux := http.NewServeMux()
	mux.Handle(agentproto.Path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hub.ServeHTTP(w, r)
		f.served <- struct{}{}
	}))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		f.srv.CloseClientConnections()
		f.srv.Close()
		st.Close()
	})
	return f
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	t.Cleanup(cancel)
	return ctx
}

func node(id string) agentproto.Node {
	return agentproto.Node{ID: id, Hostname: "host-" + id[:4], Clusters: []string{agentproto.AllClusters},
		LaunchTypes: []string{"FARGATE", "EC2"}, CPU: 4096, MemoryMiB: 8192, AgentVersion: "test"}
}

// agent is a fake agent: a raw protocol connection.
type agent struct {
	t    *testing.T
	conn *agentproto.Conn
}

// connect dials, says Hello and returns the Welcome.
func (f *fixture) connect(t *testing.T, id string, reports ...agentproto.TaskReport) (*agent, *agentproto.Welcome) {
	t.Helper()
	conn, err := agentproto.Dial(ctxT(t), f.srv.URL, agentTok)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close("test over") })
	a := &agent{t: t, conn: conn}
	a.send(agentproto.Message{Hello: &agentproto.Hello{Version: agentproto.Version, Node: node(id), Tasks: reports}})
	m := a.recv()
	if m.Welcome == nil {
		t.Fatalf("expected welcome, got %+v", m)
	}
	return a, m.Welcome
}

func (a *agent) send(m agentproto.Message) {
	a.t.Helper()
	if err := a.conn.Send(ctxT(a.t), m); err != nil {
		a.t.Fatal(err)
	}
}

func (a *agent) recv() agentproto.Message {
	a.t.Helper()
	m, err := a.conn.Recv(ctxT(a.t))
	if err != nil {
		a.t.Fatalf("recv: %v", err)
	}
	return m
}

// recvTask expects a DesiredTask next.
func (a *agent) recvTask() *agentproto.DesiredTask {
	a.t.Helper()
	m := a.recv()
	if m.Task == nil {
		a.t.Fatalf("expected task, got %s %+v", m.Kind(), m)
	}
	return m.Task
}

// report sends a status report.
func (a *agent) report(cluster, id string, st agentproto.TaskStatus) {
	a.t.Helper()
	a.send(agentproto.Message{Status: &agentproto.TaskReport{Cluster: cluster, ID: id, Status: st}})
}

func taskID(n byte) string { return strings.Repeat(string('0'+n), 32) }

func newTask(cluster, id, nodeID string, images ...string) ecsstate.Task {
	t := ecsstate.Task{
		ID: id, Region: region, Cluster: cluster, NodeID: nodeID, DesiredStatus: ecsstate.StatusRunning, Generation: 1,
		CreatedAt: time.Date(2025, 3, 1, 11, 0, 0, 0, time.UTC),
		Spec: ecsstate.TaskSpec{
			TaskDefinitionARN: "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1",
			LaunchType:        "FARGATE",
		},
	}
	for i, img := range images {
		name := "c" + string(rune('0'+i))
		t.Spec.Definition.ContainerDefinitions = append(t.Spec.Definition.ContainerDefinitions,
			ecstypes.ContainerDefinition{Name: awsapi.String(name), Image: awsapi.String(img)})
		t.Spec.Containers = append(t.Spec.Containers, ecsstate.ContainerSpec{Name: name, ID: "cid-" + name})
	}
	return t
}

func (f *fixture) putTask(t *testing.T, task ecsstate.Task) {
	t.Helper()
	op, err := store.PutJSON(task.Key(), task)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Txn(context.Background(), store.Txn{Then: []store.Op{op}}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) updateTask(t *testing.T, cluster, id string, change func(*ecsstate.Task)) {
	t.Helper()
	_, err := store.Update(context.Background(), f.store, ecsstate.TaskKey(region, cluster, id), func(v *ecsstate.Task, found bool) error {
		if !found {
			return store.ErrNotFound
		}
		change(v)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) task(t *testing.T, cluster, id string) ecsstate.Task {
	t.Helper()
	v, err := store.Get[ecsstate.Task](context.Background(), f.store, ecsstate.TaskKey(region, cluster, id))
	if err != nil {
		t.Fatalf("task %s: %v", id, err)
	}
	return v.Value
}

func (f *fixture) node(t *testing.T, id string) ecsstate.Node {
	t.Helper()
	v, err := store.Get[ecsstate.Node](context.Background(), f.store, ecsstate.NodeKey(id))
	if err != nil {
		t.Fatalf("node %s: %v", id, err)
	}
	return v.Value
}

// eventually polls cond until it holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// metric returns the value of a counter or gauge with the given labels.
func (f *fixture) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	families, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, fam := range families {
		if fam.GetName() != name {
			continue
		}
	metrics:
		for _, m := range fam.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue metrics
				}
			}
			if m.Gauge != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func TestAuthRefused(t *testing.T) {
	f := newFixture(t)
	for _, header := range []string{"", "Bearer wrong", "Basic " + agentTok, "Bearer " + agentTok + "x"} {
		req, _ := http.NewRequest(http.MethodGet, f.srv.URL+agentproto.Path, nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "token") {
			t.Errorf("%q: %d %q", header, resp.StatusCode, body)
		}
	}
	if _, err := agentproto.Dial(ctxT(t), f.srv.URL, "wrong"); !errors.Is(err, agentproto.ErrUnauthorized) {
		t.Fatalf("Dial with a wrong token: %v", err)
	}
}

func TestEmptyAgentTokenRefusesEveryone(t *testing.T) {
	h := New(Config{Logger: slog.New(slog.DiscardHandler)})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, agentproto.Path, nil)
	req.Header.Set("Authorization", "Bearer ")
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("code %d", rec.Code)
	}
}

func TestHelloRefused(t *testing.T) {
	f := newFixture(t)
	for name, tc := range map[string]struct {
		msg  agentproto.Message
		want string
	}{
		"version":   {agentproto.Message{Hello: &agentproto.Hello{Node: node(nodeA)}}, "protocol version"},
		"node id":   {agentproto.Message{Hello: &agentproto.Hello{Version: agentproto.Version, Node: node(strings.ToUpper(nodeA))}}, "node id"},
		"not hello": {agentproto.Message{Status: &agentproto.TaskReport{Cluster: "c", ID: "i"}}, "hello"},
		"negative":  {agentproto.Message{Hello: &agentproto.Hello{Version: agentproto.Version, Node: agentproto.Node{ID: nodeA, CPU: -1}}}, "negative"},
	} {
		t.Run(name, func(t *testing.T) {
			conn, err := agentproto.Dial(ctxT(t), f.srv.URL, agentTok)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close("done")
			if err := conn.Send(ctxT(t), tc.msg); err != nil {
				t.Fatal(err)
			}
			m, err := conn.Recv(ctxT(t))
			if err != nil || !strings.Contains(m.Error, tc.want) {
				t.Fatalf("got %+v, %v; want an error about %s", m, err, tc.want)
			}
			if _, err := conn.Recv(ctxT(t)); err == nil {
				t.Fatal("connection still open after refusal")
			}
		})
	}
	if _, _, err := f.store.Get(context.Background(), ecsstate.NodeKey(nodeA)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("refused agent left a node record: %v", err)
	}
}

// An agent that speaks a newer version is answered in the newest version
// the hub speaks; the agent decides whether it speaks it too.
func TestHelloNewerVersion(t *testing.T) {
	f := newFixture(t)
	conn, err := agentproto.Dial(ctxT(t), f.srv.URL, agentTok)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close("test over") })
	a := &agent{t: t, conn: conn}
	a.send(agentproto.Message{Hello: &agentproto.Hello{Version: agentproto.Version + 1, Node: node(nodeA)}})
	if m := a.recv(); m.Welcome == nil || m.Welcome.Version != agentproto.Version {
		t.Fatalf("got %s %+v, want a welcome of version %d", m.Kind(), m, agentproto.Version)
	}
}

func TestMalformedHelloRefused(t *testing.T) {
	f := newFixture(t)
	conn, err := agentproto.Dial(ctxT(t), f.srv.URL, agentTok)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close("done")
	// Two fields set: the hub's Recv rejects the frame.
	if err := conn.Send(ctxT(t), agentproto.Message{Error: "x", Forget: &agentproto.TaskRef{}}); err != nil {
		t.Fatal(err)
	}
	m, err := conn.Recv(ctxT(t))
	if err != nil || !strings.Contains(m.Error, "malformed") {
		t.Fatalf("got %+v, %v", m, err)
	}
}

func TestHelloRegistersNodeAndWelcomeListsTasks(t *testing.T) {
	f := newFixture(t)
	ecrImage := account + ".dkr.ecr.us-east-1.amazonaws.com/web:1.0"
	digest := "sha256:" + strings.Repeat("ab", 32)
	mine := newTask("default", taskID(1), nodeA, ecrImage, regHost+"/team/api@"+digest, "nginx:latest",
		"999999999999.dkr.ecr.us-east-1.amazonaws.com/other:1")
	f.putTask(t, mine)
	f.putTask(t, newTask("default", taskID(2), nodeB, "nginx"))
	stopped := newTask("other", taskID(3), nodeA, "busybox")
	stopped.DesiredStatus = ecsstate.StatusStopped
	stopped.Generation = 2
	stopped.StopCode = "UserInitiated"
	stopped.StoppedReason = "Task stopped by user"
	f.putTask(t, stopped)

	a, w := f.connect(t, nodeA, agentproto.TaskReport{Cluster: "default", ID: taskID(1),
		Status: agentproto.TaskStatus{Generation: 1, LastStatus: agentproto.StatusRunning}})

	n := f.node(t, nodeA)
	if !n.Connected || n.Status != "ACTIVE" || !n.RegisteredAt.Equal(f.clock.Now()) || !n.SeenAt.Equal(f.clock.Now()) ||
		n.Hostname != "host-aaaa" || n.CPU != 4096 || n.MemoryMiB != 8192 || n.AgentVersion != "test" || len(n.LaunchTypes) != 2 {
		t.Fatalf("node record %+v", n)
	}
	if got := f.task(t, "default", taskID(1)).Observed.LastStatus; got != ecsstate.StatusRunning {
		t.Fatalf("hello report not applied: %q", got)
	}

	host := strings.TrimPrefix(f.srv.URL, "http://")
	if w.Version != agentproto.Version || w.RegistryHost != host || w.AccountID != account || w.Region != region {
		t.Fatalf("welcome header %+v", w)
	}
	if len(w.Tasks) != 2 {
		t.Fatalf("welcome has %d tasks, want this node's 2", len(w.Tasks))
	}
	byID := map[string]agentproto.DesiredTask{}
	for _, d := range w.Tasks {
		byID[d.ID] = d
	}
	d := byID[taskID(1)]
	if d.Cluster != "default" || d.ARN != "arn:aws:ecs:us-east-1:123456789012:task/default/"+taskID(1) ||
		d.ClusterARN != "arn:aws:ecs:us-east-1:123456789012:cluster/default" || d.Generation != 1 ||
		d.DesiredStatus != ecsstate.StatusRunning || d.Spec.TaskDefinitionARN != mine.Spec.TaskDefinitionARN {
		t.Fatalf("desired task %+v", d)
	}
	if len(d.ContainerARNs) != 4 || d.ContainerARNs[0] != "arn:aws:ecs:us-east-1:123456789012:container/default/"+taskID(1)+"/cid-c0" {
		t.Fatalf("container ARNs %v", d.ContainerARNs)
	}
	wantRefs := []string{host + "/web:1.0", host + "/team/api@" + digest, "nginx:latest", "999999999999.dkr.ecr.us-east-1.amazonaws.com/other:1"}
	if len(d.Images) != len(wantRefs) {
		t.Fatalf("images %+v", d.Images)
	}
	for i, want := range wantRefs {
		img := d.Images[i]
		if img.Ref != want {
			t.Errorf("image %d ref %q, want %q", i, img.Ref, want)
		}
		if own := i < 2; own != (img.Auth != nil) {
			t.Errorf("image %d auth %+v", i, img.Auth)
			continue
		}
		if img.Auth != nil {
			if img.Auth.Username != "AWS" || img.Auth.ServerAddress != host {
				t.Errorf("image %d auth %+v", i, img.Auth)
			}
			if who, in, err := f.tokens.Verify(img.Auth.Password); err != nil || who != "agent" || in != region {
				t.Errorf("image %d password: %q %v", i, who, err)
			}
		}
	}
	s := byID[taskID(3)]
	if s.DesiredStatus != ecsstate.StatusStopped || s.Generation != 2 || s.StopCode != "UserInitiated" || s.StoppedReason != "Task stopped by user" {
		t.Fatalf("stopped task %+v", s)
	}
	if got := f.metric(t, "berth_agenthub_connected_agents"); got != 1 {
		t.Errorf("connected gauge %v", got)
	}
	// The counter moves once the write returned, maybe after the agent read it.
	eventually(t, "welcome counted", func() bool {
		return f.metric(t, "berth_agenthub_messages_sent_total", "type", "welcome") == 1
	})
	if got := f.metric(t, "berth_agenthub_messages_received_total", "type", "hello"); got != 1 {
		t.Errorf("hello received counter %v", got)
	}
	_ = a
}

func TestReconnectKeepsRegistrationAndStatus(t *testing.T) {
	f := newFixture(t)
	a, _ := f.connect(t, nodeA)
	registered := f.clock.Now()
	a.conn.Close("bye")
	<-f.served
	// The operator drained it meanwhile; a reconnect keeps that.
	_, err := store.Update(context.Background(), f.store, ecsstate.NodeKey(nodeA), func(n *ecsstate.Node, _ bool) error {
		n.Status = "DRAINING"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	f.connect(t, nodeA)
	n := f.node(t, nodeA)
	if n.Status != "DRAINING" || !n.RegisteredAt.Equal(registered) || !n.SeenAt.Equal(f.clock.Now()) || !n.Connected {
		t.Fatalf("node %+v", n)
	}
}

func TestIntentChangeReachesAgentObservedChangeDoesNot(t *testing.T) {
	f := newFixture(t)
	f.putTask(t, newTask("default", taskID(1), nodeA, "nginx"))
	a, _ := f.connect(t, nodeA)

	// Only Observed changes: nothing is sent...
	f.updateTask(t, "default", taskID(1), func(v *ecsstate.Task) { v.Observed.LastStatus = ecsstate.StatusPending })
	// ...a task of another node: nothing...
	f.putTask(t, newTask("default", taskID(2), nodeB, "nginx"))
	// ...a StopTask: sent.
	f.updateTask(t, "default", taskID(1), func(v *ecsstate.Task) {
		v.DesiredStatus = ecsstate.StatusStopped
		v.Generation++
		v.StopCode = "UserInitiated"
		v.StoppedReason = "Task stopped by user"
	})
	d := a.recvTask()
	if d.ID != taskID(1) || d.DesiredStatus != ecsstate.StatusStopped || d.Generation != 2 || d.StopCode != "UserInitiated" {
		t.Fatalf("got %+v", d)
	}
	// A stop's drain ending sooner (a task deregistered from Cloud Map):
	// sent, at the same generation.
	drained := time.Now().UTC().Truncate(time.Millisecond)
	f.updateTask(t, "default", taskID(1), func(v *ecsstate.Task) { v.DrainUntil = drained })
	if d := a.recvTask(); d.ID != taskID(1) || d.Generation != 2 || !d.DrainUntil.Equal(drained) {
		t.Fatalf("got %+v", d)
	}
	// A new task placed on the node is sent too.
	f.putTask(t, newTask("default", taskID(4), nodeA, "nginx"))
	if d := a.recvTask(); d.ID != taskID(4) || d.Generation != 1 {
		t.Fatalf("got %+v", d)
	}
	// Deleting a task of another node sends nothing; deleting ours: Forget.
	for _, id := range []string{taskID(2), taskID(4)} {
		if _, err := f.store.Txn(context.Background(), store.Txn{Then: []store.Op{store.Delete(ecsstate.TaskKey(region, "default", id))}}); err != nil {
			t.Fatal(err)
		}
	}
	if m := a.recv(); m.Forget == nil || m.Forget.ID != taskID(4) || m.Forget.Cluster != "default" {
		t.Fatalf("got %+v", m)
	}
}

func TestReportsUpdateObserved(t *testing.T) {
	f := newFixture(t)
	f.putTask(t, newTask("default", taskID(1), nodeA, "nginx"))
	a, _ := f.connect(t, nodeA)
	started := f.clock.Now().Add(-time.Minute).In(time.FixedZone("x", 3600))
	exit := int32(0)
	a.report("default", taskID(1), agentproto.TaskStatus{
		Generation: 1, LastStatus: ecsstate.StatusRunning, StartedAt: started, HealthStatus: "HEALTHY",
		Containers: []agentproto.ContainerStatus{{Name: "c0", RuntimeID: "abc", LastStatus: "RUNNING", ExitCode: &exit}},
		Network:    &agentproto.NetworkStatus{AttachmentID: "att", PrivateIPv4: "169.254.172.2"},
	})
	eventually(t, "report applied", func() bool {
		return f.task(t, "default", taskID(1)).Observed.LastStatus == ecsstate.StatusRunning
	})
	got := f.task(t, "default", taskID(1))
	o := got.Observed
	if !o.StartedAt.Equal(started) || o.StartedAt.Location() != time.UTC || o.HealthStatus != "HEALTHY" ||
		len(o.Containers) != 1 || o.Containers[0].RuntimeID != "abc" || o.Network == nil || o.Network.PrivateIPv4 != "169.254.172.2" {
		t.Fatalf("observed %+v", o)
	}
	if got.DesiredStatus != ecsstate.StatusRunning || got.Generation != 1 || got.StopCode != "" {
		t.Fatalf("a running report changed intent: %+v", got)
	}
	if n := f.metric(t, "berth_agenthub_messages_received_total", "type", "status"); n != 1 {
		t.Errorf("status received counter %v", n)
	}
}

// A burst of reports, several about one task and some about tasks the
// server does not know, is recorded in order, the last report of each task
// winning.
func TestReportBurstRecordedInOrder(t *testing.T) {
	f := newFixture(t)
	const tasks = 3 * maxReportBatch
	for i := range tasks {
		f.putTask(t, newTask("default", fmt.Sprintf("%032x", i+1), nodeA, "nginx"))
	}
	a, _ := f.connect(t, nodeA)
	for i := range tasks {
		id := fmt.Sprintf("%032x", i+1)
		a.report("default", id, agentproto.TaskStatus{Generation: 1, LastStatus: agentproto.StatusActivating})
		a.report("default", fmt.Sprintf("%032x", 100000+i), agentproto.TaskStatus{Generation: 1, LastStatus: agentproto.StatusRunning})
		a.report("default", id, agentproto.TaskStatus{Generation: 1, LastStatus: agentproto.StatusRunning})
	}
	eventually(t, "every report applied", func() bool {
		return f.task(t, "default", fmt.Sprintf("%032x", tasks)).Observed.LastStatus == ecsstate.StatusRunning
	})
	for i := range tasks {
		if got := f.task(t, "default", fmt.Sprintf("%032x", i+1)).Observed.LastStatus; got != ecsstate.StatusRunning {
			t.Fatalf("task %d: lastStatus %s", i+1, got)
		}
	}
}

// Reports land while other writers keep changing the same task (as the
// service scheduler marks tasks it counted): each lost write is decided
// again over the record as it now is, and neither side's change is lost.
func TestReportsLandBesideAnotherWriter(t *testing.T) {
	f := newFixture(t)
	f.putTask(t, newTask("default", taskID(1), nodeA, "nginx"))
	a, _ := f.connect(t, nodeA)
	ctx, stop := context.WithCancel(context.Background())
	var written atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			_, err := store.Update(ctx, f.store, ecsstate.TaskKey(region, "default", taskID(1)), func(t *ecsstate.Task, found bool) error {
				t.ServiceAccounted = !t.ServiceAccounted
				return nil
			})
			if err == nil {
				written.Add(1)
			}
		}
	}()
	eventually(t, "the other writer writing", func() bool { return written.Load() > 0 })
	const reports = 50
	for i := range reports {
		a.report("default", taskID(1), agentproto.TaskStatus{
			Generation: 1, LastStatus: ecsstate.StatusRunning,
			Containers: []agentproto.ContainerStatus{{Name: "c0", RuntimeID: fmt.Sprint("r", i)}},
		})
	}
	eventually(t, "the last report applied", func() bool {
		c := f.task(t, "default", taskID(1)).Observed.Containers
		return len(c) == 1 && c[0].RuntimeID == fmt.Sprint("r", reports-1)
	})
	stop()
	<-done
	if n, got := written.Load(), f.task(t, "default", taskID(1)).ServiceAccounted; got != (n%2 == 1) {
		t.Errorf("serviceAccounted %v after %d toggles: a report overwrote the other writer", got, n)
	}
	if n := f.metric(t, "berth_agenthub_task_changes_recorded_total"); n < 1 {
		t.Errorf("recorded counter %v", n)
	}
}

func TestAgentSideStopBecomesIntent(t *testing.T) {
	f := newFixture(t)
	f.putTask(t, newTask("default", taskID(1), nodeA, "nginx"))
	a, _ := f.connect(t, nodeA)
	stoppedAt := f.clock.Now().Add(-time.Second)
	a.report("default", taskID(1), agentproto.TaskStatus{Generation: 1, LastStatus: agentproto.StatusStopped, StoppedAt: stoppedAt,
		StopCode: "EssentialContainerExited", StoppedReason: "Essential container in task exited"})
	d := a.recvTask()
	if d.DesiredStatus != ecsstate.StatusStopped || d.Generation != 2 || d.StopCode != "EssentialContainerExited" {
		t.Fatalf("agent got %+v", d)
	}
	got := f.task(t, "default", taskID(1))
	if got.DesiredStatus != ecsstate.StatusStopped || got.Generation != 2 || got.StopCode != "EssentialContainerExited" ||
		got.StoppedReason != "Essential container in task exited" || !got.StoppingAt.Equal(f.clock.Now()) ||
		got.Observed.LastStatus != ecsstate.StatusStopped {
		t.Fatalf("task %+v", got)
	}
}

func TestAgentStopWhileDeactivatingKeepsUserStopCode(t *testing.T) {
	f := newFixture(t)
	tk := newTask("default", taskID(1), nodeA, "nginx")
	tk.DesiredStatus, tk.Generation = ecsstate.StatusStopped, 2
	tk.StopCode, tk.StoppedReason = "UserInitiated", "Task stopped by user"
	tk.StoppingAt = f.clock.Now().Add(-time.Minute)
	f.putTask(t, tk)
	a, _ := f.connect(t, nodeA)
	a.report("default", taskID(1), agentproto.TaskStatus{Generation: 2, LastStatus: agentproto.StatusStopped,
		StopCode: "EssentialContainerExited", StoppedReason: "Essential container in task exited"})
	eventually(t, "report applied", func() bool {
		return f.task(t, "default", taskID(1)).Observed.LastStatus == ecsstate.StatusStopped
	})
	got := f.task(t, "default", taskID(1))
	if got.StopCode != "UserInitiated" || got.Generation != 2 || !got.StoppingAt.Equal(tk.StoppingAt) {
		t.Fatalf("task %+v", got)
	}
}

func TestStoppedReportWithoutCodeStopsIntent(t *testing.T) {
	f := newFixture(t)
	f.putTask(t, newTask("default", taskID(1), nodeA, "nginx"))
	a, _ := f.connect(t, nodeA)
	a.report("default", taskID(1), agentproto.TaskStatus{Generation: 1, LastStatus: agentproto.StatusStopped})
	if d := a.recvTask(); d.DesiredStatus != ecsstate.StatusStopped || d.Generation != 2 {
		t.Fatalf("agent got %+v", d)
	}
}

func TestStoppedNeverRegresses(t *testing.T) {
	f := newFixture(t)
	tk := newTask("default", taskID(1), nodeA, "nginx")
	tk.Observed = ecsstate.TaskStatus{Generation: 1, LastStatus: ecsstate.StatusStopped, StoppedAt: f.clock.Now()}
	tk.DesiredStatus, tk.Generation = ecsstate.StatusStopped, 2
	f.putTask(t, tk)
	f.putTask(t, newTask("default", taskID(2), nodeA, "nginx"))
	// In Hello and in a later Status message.
	a, _ := f.connect(t, nodeA, agentproto.TaskReport{Cluster: "default", ID: taskID(1),
		Status: agentproto.TaskStatus{LastStatus: agentproto.StatusRunning}})
	a.report("default", taskID(1), agentproto.TaskStatus{LastStatus: agentproto.StatusPending})
	// Reports are applied in order: once this one is in, the others were decided.
	a.report("default", taskID(2), agentproto.TaskStatus{LastStatus: agentproto.StatusRunning})
	eventually(t, "marker report", func() bool {
		return f.task(t, "default", taskID(2)).Observed.LastStatus == ecsstate.StatusRunning
	})
	if got := f.task(t, "default", taskID(1)).Observed; got.LastStatus != ecsstate.StatusStopped || !got.StoppedAt.Equal(f.clock.Now()) {
		t.Fatalf("stopped task regressed: %+v", got)
	}
}

func TestForeignAndBadReportsIgnored(t *testing.T) {
	f := newFixture(t)
	f.putTask(t, newTask("default", taskID(1), nodeA, "nginx"))
	f.putTask(t, newTask("default", taskID(2), nodeB, "nginx"))
	a, _ := f.connect(t, nodeA, agentproto.TaskReport{Cluster: "default", ID: taskID(2),
		Status: agentproto.TaskStatus{LastStatus: agentproto.StatusStopped, StopCode: "EssentialContainerExited"}})
	for _, rep := range []agentproto.TaskReport{
		{Cluster: "default", ID: taskID(2), Status: agentproto.TaskStatus{LastStatus: agentproto.StatusRunning}}, // another node's
		{Cluster: "default", ID: taskID(9), Status: agentproto.TaskStatus{LastStatus: agentproto.StatusRunning}}, // unknown
		{Cluster: "default", ID: taskID(1), Status: agentproto.TaskStatus{LastStatus: "DANCING"}},                // bad status
		{Cluster: "default|x", ID: taskID(1), Status: agentproto.TaskStatus{LastStatus: agentproto.StatusRunning}},
		{Cluster: "", ID: "", Status: agentproto.TaskStatus{LastStatus: agentproto.StatusRunning}},
	} {
		a.send(agentproto.Message{Status: &rep})
	}
	a.report("default", taskID(1), agentproto.TaskStatus{LastStatus: agentproto.StatusPending})
	eventually(t, "marker report", func() bool {
		return f.task(t, "default", taskID(1)).Observed.LastStatus == ecsstate.StatusPending
	})
	other := f.task(t, "default", taskID(2))
	if other.Observed.LastStatus != "" || other.DesiredStatus != ecsstate.StatusRunning || other.StopCode != "" || other.Generation != 1 {
		t.Fatalf("another node's task changed: %+v", other)
	}
	if _, _, err := f.store.Get(context.Background(), ecsstate.TaskKey(region, "default", taskID(9))); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("report created a task: %v", err)
	}
	// The connection is still fine.
	f.updateTask(t, "default", taskID(1), func(v *ecsstate.Task) { v.Generation++ })
	if d := a.recvTask(); d.Generation != 2 {
		t.Fatalf("got %+v", d)
	}
}

func TestUnexpectedMessageClosesWithError(t *testing.T) {
	f := newFixture(t)
	a, _ := f.connect(t, nodeA)
	a.send(agentproto.Message{Hello: &agentproto.Hello{Version: agentproto.Version, Node: node(nodeA)}})
	if m := a.recv(); !strings.Contains(m.Error, "unexpected hello") {
		t.Fatalf("got %+v", m)
	}
	if _, err := a.conn.Recv(ctxT(t)); err == nil {
		t.Fatal("still open")
	}
	<-f.served
	if f.node(t, nodeA).Connected {
		t.Fatal("node still connected")
	}
}

func TestDisconnectMarksNodeDisconnected(t *testing.T) {
	f := newFixture(t)
	a, _ := f.connect(t, nodeA)
	f.clock.Advance(5 * time.Minute)
	a.conn.Close("agent stopping")
	<-f.served
	n := f.node(t, nodeA)
	if n.Connected || !n.SeenAt.Equal(f.clock.Now()) {
		t.Fatalf("node %+v", n)
	}
	if got := f.metric(t, "berth_agenthub_connected_agents"); got != 0 {
		t.Errorf("connected gauge %v", got)
	}
}

func TestReconnectReplacesOlderConnection(t *testing.T) {
	f := newFixture(t)
	f.putTask(t, newTask("default", taskID(1), nodeA, "nginx"))
	old, _ := f.connect(t, nodeA)
	fresh, w := f.connect(t, nodeA)
	if len(w.Tasks) != 1 {
		t.Fatalf("welcome %+v", w)
	}
	if _, err := old.conn.Recv(ctxT(t)); err == nil || !strings.Contains(err.Error(), "replaced") {
		t.Fatalf("old connection: %v", err)
	}
	<-f.served // the old session is fully over
	if !f.node(t, nodeA).Connected {
		t.Fatal("the replaced connection marked the node disconnected")
	}
	if got := f.metric(t, "berth_agenthub_connected_agents"); got != 1 {
		t.Errorf("connected gauge %v", got)
	}
	f.updateTask(t, "default", taskID(1), func(v *ecsstate.Task) { v.Generation++ })
	if d := fresh.recvTask(); d.Generation != 2 {
		t.Fatalf("got %+v", d)
	}
}

func TestPurgeDeletesOldStoppedTasks(t *testing.T) {
	f := newFixture(t)
	now := f.clock.Now()
	old := newTask("default", taskID(1), nodeA, "nginx")
	old.DesiredStatus = ecsstate.StatusStopped
	old.Observed = ecsstate.TaskStatus{LastStatus: ecsstate.StatusStopped, StoppedAt: now.Add(-30 * time.Minute)}
	f.putTask(t, old)
	noStoppedAt := newTask("default", taskID(2), nodeA, "nginx")
	noStoppedAt.DesiredStatus = ecsstate.StatusStopped
	noStoppedAt.StoppingAt = now.Add(-50 * time.Minute)
	noStoppedAt.Observed = ecsstate.TaskStatus{LastStatus: ecsstate.StatusStopped}
	f.putTask(t, noStoppedAt)
	young := newTask("default", taskID(3), nodeA, "nginx")
	young.Observed = ecsstate.TaskStatus{LastStatus: ecsstate.StatusStopped, StoppedAt: now}
	f.putTask(t, young)
	stopping := newTask("default", taskID(4), nodeA, "nginx")
	stopping.DesiredStatus = ecsstate.StatusStopped
	stopping.StoppingAt = now.Add(-2 * time.Hour)
	stopping.Observed = ecsstate.TaskStatus{LastStatus: ecsstate.StatusStopping}
	f.putTask(t, stopping)

	a, w := f.connect(t, nodeA)
	if len(w.Tasks) != 4 {
		t.Fatalf("welcome has %d tasks", len(w.Tasks))
	}
	ctx := ctxT(t)
	if err := f.hub.purge(ctx); err != nil {
		t.Fatal(err)
	}
	for i := byte(1); i <= 4; i++ {
		f.task(t, "default", taskID(i)) // nothing is old enough yet
	}
	f.clock.Advance(31 * time.Minute) // taskID(1) stopped 61 min ago
	if err := f.hub.purge(ctx); err != nil {
		t.Fatal(err)
	}
	if m := a.recv(); m.Forget == nil || m.Forget.ID != taskID(1) {
		t.Fatalf("got %+v", m)
	}
	f.clock.Advance(20 * time.Minute) // taskID(2) stopping 70 min ago, no stoppedAt
	if err := f.hub.purge(ctx); err != nil {
		t.Fatal(err)
	}
	if m := a.recv(); m.Forget == nil || m.Forget.ID != taskID(2) {
		t.Fatalf("got %+v", m)
	}
	for _, id := range []string{taskID(1), taskID(2)} {
		if _, _, err := f.store.Get(ctx, ecsstate.TaskKey(region, "default", id)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("task %s not purged: %v", id, err)
		}
	}
	f.task(t, "default", taskID(3))
	f.task(t, "default", taskID(4))
	if got := f.metric(t, "berth_agenthub_purged_tasks_total"); got != 2 {
		t.Errorf("purged counter %v", got)
	}
}

func TestPurgePages(t *testing.T) {
	f := newFixture(t)
	n := purgePage + 7
	ops := make([]store.Op, 0, n)
	for i := range n {
		tk := newTask("default", fmt.Sprintf("%032x", i), nodeA)
		tk.Observed = ecsstate.TaskStatus{LastStatus: ecsstate.StatusStopped, StoppedAt: f.clock.Now().Add(-2 * time.Hour)}
		op, err := store.PutJSON(tk.Key(), tk)
		if err != nil {
			t.Fatal(err)
		}
		ops = append(ops, op)
	}
	if _, err := f.store.Txn(context.Background(), store.Txn{Then: ops}); err != nil {
		t.Fatal(err)
	}
	if err := f.hub.purge(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	kvs, _, err := f.store.List(context.Background(), ecsstate.TaskPrefix, store.ListOptions{})
	if err != nil || len(kvs) != 0 {
		t.Fatalf("%d left, %v", len(kvs), err)
	}
}

func TestRunMarksNodesDisconnectedPurgesAndClosesOnExit(t *testing.T) {
	f := newFixture(t)
	// A record left connected by a previous server process.
	op, err := store.PutJSON(ecsstate.NodeKey(nodeB), ecsstate.Node{ID: nodeB, Status: "ACTIVE", Connected: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Txn(context.Background(), store.Txn{Then: []store.Op{op}}); err != nil {
		t.Fatal(err)
	}
	old := newTask("default", taskID(1), nodeB)
	old.Observed = ecsstate.TaskStatus{LastStatus: ecsstate.StatusStopped, StoppedAt: f.clock.Now().Add(-61 * time.Minute)}
	f.putTask(t, old)
	a, _ := f.connect(t, nodeA) // connected to this hub: stays connected

	f.hub.purgeInterval = 5 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.hub.Run(ctx) }()
	eventually(t, "start-up sweep", func() bool {
		_, _, err := f.store.Get(context.Background(), ecsstate.TaskKey(region, "default", taskID(1)))
		return errors.Is(err, store.ErrNotFound) && !f.node(t, nodeB).Connected
	})
	if !f.node(t, nodeA).Connected {
		t.Fatal("a node connected to this hub was marked disconnected")
	}
	// The ticker purges too.
	later := newTask("default", taskID(2), nodeB)
	later.Observed = ecsstate.TaskStatus{LastStatus: ecsstate.StatusStopped, StoppedAt: f.clock.Now()}
	f.putTask(t, later)
	f.clock.Advance(2 * time.Hour)
	eventually(t, "ticker purge", func() bool {
		_, _, err := f.store.Get(context.Background(), ecsstate.TaskKey(region, "default", taskID(2)))
		return errors.Is(err, store.ErrNotFound)
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Run also sent the network state; then the connection ends.
	m, err := a.conn.Recv(ctxT(t))
	for err == nil && m.Network != nil {
		m, err = a.conn.Recv(ctxT(t))
	}
	if err == nil || !strings.Contains(err.Error(), "shutting down") {
		t.Fatalf("agent connection after Run ended: %v", err)
	}
	<-f.served
	if f.node(t, nodeA).Connected {
		t.Fatal("node still connected after shutdown")
	}
}

// compactingStore makes the first Watch fail with ErrCompacted after running
// a hook, as if the hub had fallen behind the store's history.
type compactingStore struct {
	store.Store
	mu     sync.Mutex
	failed bool
	hook   func()
}

func (s *compactingStore) Watch(ctx context.Context, prefix string, from int64) (<-chan store.Event, error) {
	s.mu.Lock()
	fail := !s.failed && s.hook != nil
	if fail {
		s.failed = true
	}
	s.mu.Unlock()
	if fail {
		s.hook()
		return nil, store.ErrCompacted
	}
	return s.Store.Watch(ctx, prefix, from)
}

func TestWatchLossResendsFullSet(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cs := &compactingStore{Store: st}
	f := newFixtureWith(t, cs)
	f.putTask(t, newTask("default", taskID(1), nodeA, "nginx"))
	f.putTask(t, newTask("default", taskID(2), nodeA, "nginx"))
	cs.hook = func() {
		// Changes made while the watch is lost.
		f.updateTask(t, "default", taskID(1), func(v *ecsstate.Task) { v.Generation = 7 })
		if _, err := st.Txn(context.Background(), store.Txn{Then: []store.Op{store.Delete(ecsstate.TaskKey(region, "default", taskID(2)))}}); err != nil {
			t.Error(err)
		}
	}
	a, w := f.connect(t, nodeA)
	if len(w.Tasks) != 2 {
		t.Fatalf("welcome %+v", w)
	}
	if d := a.recvTask(); d.ID != taskID(1) || d.Generation != 7 {
		t.Fatalf("resync sent %+v", d)
	}
	if m := a.recv(); m.Forget == nil || m.Forget.ID != taskID(2) {
		t.Fatalf("resync sent %+v", m)
	}
	// And the new watch works.
	f.updateTask(t, "default", taskID(1), func(v *ecsstate.Task) { v.Generation = 8 })
	if d := a.recvTask(); d.Generation != 8 {
		t.Fatalf("got %+v", d)
	}
}

func TestDesiredTaskWithoutTokens(t *testing.T) {
	h := New(Config{AccountID: account, Region: region, RegistryHost: regHost, Logger: slog.New(slog.DiscardHandler)})
	tk := newTask("default", taskID(1), nodeA, regHost+"/web", "public.ecr.aws/nginx/nginx:1")
	d := h.desiredTask(context.Background(), &tk, "10.0.0.1:4566")
	if d.Images[0].Ref != "10.0.0.1:4566/web:latest" || d.Images[0].Auth != nil || d.Images[1].Ref != "public.ecr.aws/nginx/nginx:1" {
		t.Fatalf("images %+v", d.Images)
	}
}

func TestStoppedAt(t *testing.T) {
	t1 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for name, tc := range map[string]struct {
		task ecsstate.Task
		want time.Time
	}{
		"observed":   {ecsstate.Task{Observed: ecsstate.TaskStatus{StoppedAt: t1}, StoppingAt: t1.Add(-time.Hour)}, t1},
		"stopping":   {ecsstate.Task{StoppingAt: t1, Observed: ecsstate.TaskStatus{UpdatedAt: t1.Add(time.Hour)}}, t1},
		"updated":    {ecsstate.Task{Observed: ecsstate.TaskStatus{UpdatedAt: t1}, CreatedAt: t1.Add(-time.Hour)}, t1},
		"created":    {ecsstate.Task{CreatedAt: t1}, t1},
		"none known": {ecsstate.Task{}, time.Time{}},
	} {
		if got := stoppedAt(&tc.task); !got.Equal(tc.want) {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
}

// racingStore runs a hook before the first multi-op transaction, as if
// another writer got there between the purge's read and its delete.
type racingStore struct {
	store.Store
	once sync.Once
	hook func()
}

func (s *racingStore) Txn(ctx context.Context, t store.Txn) (int64, error) {
	if len(t.Then) > 1 {
		s.once.Do(s.hook)
	}
	return s.Store.Txn(ctx, t)
}

func TestPurgeLeavesTasksChangedMeanwhile(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rs := &racingStore{Store: st}
	f := newFixtureWith(t, rs)
	for i := byte(1); i <= 3; i++ {
		tk := newTask("default", taskID(i), nodeA)
		tk.Observed = ecsstate.TaskStatus{LastStatus: ecsstate.StatusStopped, StoppedAt: f.clock.Now().Add(-2 * time.Hour)}
		f.putTask(t, tk)
	}
	rs.hook = func() {
		f.updateTask(t, "default", taskID(2), func(v *ecsstate.Task) { v.Observed.HealthStatus = "UNKNOWN" })
	}
	if err := f.hub.purge(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	for i, wantGone := range map[byte]bool{1: true, 2: false, 3: true} {
		_, _, err := st.Get(context.Background(), ecsstate.TaskKey(region, "default", taskID(i)))
		if gone := errors.Is(err, store.ErrNotFound); gone != wantGone {
			t.Errorf("task %d gone=%v, want %v (%v)", i, gone, wantGone, err)
		}
	}
	if got := f.metric(t, "berth_agenthub_purged_tasks_total"); got != 2 {
		t.Errorf("purged counter %v", got)
	}
	// The next round takes it.
	if err := f.hub.purge(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Get(context.Background(), ecsstate.TaskKey(region, "default", taskID(2))); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("task 2 not purged on the next round: %v", err)
	}
}

func TestMalformedMessageMidSessionClosesWithError(t *testing.T) {
	f := newFixture(t)
	f.putTask(t, newTask("default", taskID(1), nodeA, "nginx"))
	a, _ := f.connect(t, nodeA)
	a.send(agentproto.Message{Status: &agentproto.TaskReport{Cluster: "default", ID: taskID(1)}, Error: "both"})
	if m := a.recv(); !strings.Contains(m.Error, "malformed") {
		t.Fatalf("got %+v", m)
	}
	<-f.served
	if f.node(t, nodeA).Connected {
		t.Fatal("node still connected")
	}
	if got := f.task(t, "default", taskID(1)); got.Observed.LastStatus != "" {
		t.Fatalf("malformed report applied: %+v", got.Observed)
	}
	if got := f.metric(t, "berth_agenthub_messages_received_total", "type", "invalid"); got != 1 {
		t.Errorf("invalid received counter %v", got)
	}
}

// A task of another region than the server's default goes to its agent
// with ARNs of its own region, and its agent's reports (which name no
// region) land in its record.
func TestTaskOfAnotherRegion(t *testing.T) {
	f := newFixture(t)
	const other = "eu-central-1"
	// One image through berth's host (no region: the task's) and one in
	// ECR's form naming us-east-1.
	tk := newTask("default", taskID(1), nodeA, regHost+"/web:1.0", account+".dkr.ecr.us-east-1.amazonaws.com/api:2")
	tk.Region = other
	f.putTask(t, tk)
	f.putTask(t, newTask("default", taskID(2), nodeA, "nginx"))
	a, w := f.connect(t, nodeA)
	if w.Region != region {
		t.Errorf("welcome region %q, want the server's %q", w.Region, region)
	}
	arns := map[string]agentproto.DesiredTask{}
	for _, d := range w.Tasks {
		arns[d.ID] = d
	}
	d := arns[taskID(1)]
	if d.ARN != "arn:aws:ecs:eu-central-1:123456789012:task/default/"+taskID(1) ||
		d.ClusterARN != "arn:aws:ecs:eu-central-1:123456789012:cluster/default" ||
		len(d.ContainerARNs) != 2 || !strings.HasPrefix(d.ContainerARNs[0], "arn:aws:ecs:eu-central-1:") {
		t.Errorf("desired task of eu-central-1: %+v", d)
	}
	// Each image is pulled with a password for the region it is in.
	if len(d.Images) != 2 || d.Images[0].Auth == nil || d.Images[1].Auth == nil {
		t.Fatalf("images of the eu-central-1 task: %+v", d.Images)
	}
	for i, want := range []string{other, region} {
		if _, in, err := f.tokens.Verify(d.Images[i].Auth.Password); err != nil || in != want {
			t.Errorf("pull password of image %s opens %q (%v), want %s", d.Images[i].Ref, in, err, want)
		}
	}
	if d := arns[taskID(2)]; !strings.HasPrefix(d.ARN, "arn:aws:ecs:us-east-1:") {
		t.Errorf("desired task of us-east-1: ARN %s", d.ARN)
	}
	a.report("default", taskID(1), agentproto.TaskStatus{Generation: 1, LastStatus: ecsstate.StatusRunning})
	key := ecsstate.TaskKey(other, "default", taskID(1))
	eventually(t, "report applied", func() bool {
		v, err := store.Get[ecsstate.Task](context.Background(), f.store, key)
		return err == nil && v.Value.Observed.LastStatus == ecsstate.StatusRunning
	})
	if got := f.task(t, "default", taskID(2)); got.Observed.LastStatus == ecsstate.StatusRunning {
		t.Error("the report of the eu-central-1 task changed the us-east-1 one")
	}
}
