// Package hollow runs hollow agents, as Kubernetes' kubemark runs hollow
// kubelets: in-process fake nodes that speak berth's real agent protocol
// (internal/agentproto) to a real server but run nothing. A hollow agent
// acknowledges at once: a task wanted RUNNING is reported RUNNING, a task
// wanted STOPPED is reported STOPPED. What a benchmark then measures is the
// server (API, placement, controllers, store, agent hub), not Docker.
package hollow

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecstypes"
)

// Config describes a fleet of hollow agents.
type Config struct {
	// ServerURL is the berth server ("http://127.0.0.1:port") and Token the
	// secret in its data dir's agent.token.
	ServerURL, Token string
	// Cluster is the one cluster every node serves.
	Cluster string
	// LaunchTypes the nodes take (default EC2).
	LaunchTypes []string
	// CPU units and MiB of memory each node offers (default 1,048,576
	// units and 4 TiB: enough for any benchmark's tasks).
	CPU, MemoryMiB int32
	// Logger for connection trouble (default slog.Default()).
	Logger *slog.Logger
}

// Counts are what the fleet's agents have acknowledged so far.
type Counts struct {
	// Running and Stopped count first RUNNING and STOPPED reports sent,
	// one per task.
	Running, Stopped int64
	// Desired counts the task intents (DesiredTask messages and Welcome
	// entries) received.
	Desired int64
	// Reconnects counts connections lost and made again.
	Reconnects int64
}

// Fleet is a set of hollow agents.
type Fleet struct {
	cfg    Config
	agents []*Agent

	running, stopped, desired, reconnects atomic.Int64

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Start connects n hollow agents and returns once each has been welcomed
// by the server (or ctx ends, or one is refused). Stop ends them.
func Start(ctx context.Context, cfg Config, n int) (*Fleet, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if len(cfg.LaunchTypes) == 0 {
		cfg.LaunchTypes = []string{ecstypes.LaunchTypeEc2}
	}
	if cfg.CPU == 0 {
		cfg.CPU = 1 << 20
	}
	if cfg.MemoryMiB == 0 {
		cfg.MemoryMiB = 4 << 20
	}
	runCtx, cancel := context.WithCancel(context.Background())
	f := &Fleet{cfg: cfg, cancel: cancel}
	welcomed := make(chan error, n)
	for i := range n {
		a, err := newAgent(f, i)
		if err != nil {
			f.Stop()
			return nil, err
		}
		f.agents = append(f.agents, a)
		f.wg.Go(func() { a.run(runCtx, welcomed) })
	}
	for range n {
		select {
		case err := <-welcomed:
			if err != nil {
				f.Stop()
				return nil, err
			}
		case <-ctx.Done():
			f.Stop()
			return nil, ctx.Err()
		}
	}
	return f, nil
}

// Agents are the fleet's agents.
func (f *Fleet) Agents() []*Agent { return f.agents }

// Counts returns what the agents have acknowledged so far.
func (f *Fleet) Counts() Counts {
	return Counts{Running: f.running.Load(), Stopped: f.stopped.Load(), Desired: f.desired.Load(), Reconnects: f.reconnects.Load()}
}

// Stop disconnects every agent and waits for them.
func (f *Fleet) Stop() {
	f.cancel()
	f.wg.Wait()
}

// Agent is one hollow node.
type Agent struct {
	fleet *Fleet
	node  agentproto.Node

	mu sync.Mutex
	// reports is the latest report of every task the agent knows, by task
	// key: sent again in the Hello after a reconnect, as a real agent does.
	reports map[string]agentproto.TaskReport
	// containerIDs are the fake runtime ids of each task's containers.
	containerIDs map[string][]string
	// dirty are the tasks whose latest report is not sent yet; changed
	// wakes the sender. As in the real agent, the reader never waits for
	// the server to take a report, and a report overtaken before it was
	// sent is sent only in its latest form.
	dirty   map[string]bool
	changed chan struct{}
	// acked are the statuses (RUNNING, STOPPED) sent once per task, for the
	// fleet's counts.
	acked map[string]map[string]bool
}

// NodeID is the agent's node id (its container instance id).
func (a *Agent) NodeID() string { return a.node.ID }

// Tasks is how many tasks the agent knows that are not STOPPED.
func (a *Agent) Tasks() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, r := range a.reports {
		if r.Status.LastStatus != agentproto.StatusStopped {
			n++
		}
	}
	return n
}

func newAgent(f *Fleet, i int) (*Agent, error) {
	id, err := randomHex(16)
	if err != nil {
		return nil, err
	}
	attr := func(name, value string) ecstypes.Attribute {
		return ecstypes.Attribute{Name: awsapi.String(name), Value: awsapi.String(value)}
	}
	return &Agent{
		fleet: f,
		node: agentproto.Node{
			ID:          id,
			Hostname:    fmt.Sprintf("hollow-%04d", i),
			Clusters:    []string{f.cfg.Cluster},
			LaunchTypes: f.cfg.LaunchTypes,
			CPU:         f.cfg.CPU,
			MemoryMiB:   f.cfg.MemoryMiB,
			Attributes: []ecstypes.Attribute{
				attr("ecs.os-type", "linux"),
				attr("ecs.os-family", "LINUX"),
				attr("ecs.cpu-architecture", "x86_64"),
				// Three zones, so spread by availability zone has something
				// to spread over.
				attr("ecs.availability-zone", fmt.Sprintf("us-east-1%c", 'a'+i%3)),
				attr("ecs.instance-type", "hollow"),
			},
			AgentVersion: "hollow",
		},
		reports:      map[string]agentproto.TaskReport{},
		containerIDs: map[string][]string{},
		dirty:        map[string]bool{},
		changed:      make(chan struct{}, 1),
		acked:        map[string]map[string]bool{},
	}, nil
}

// run keeps the agent connected until ctx ends. The first outcome (welcome
// or refusal) goes to welcomed.
func (a *Agent) run(ctx context.Context, welcomed chan<- error) {
	first := true
	pause := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := a.session(ctx, func() {
			if first {
				first = false
				welcomed <- nil
			}
			pause = 100 * time.Millisecond
		})
		if ctx.Err() != nil {
			return
		}
		if first && errors.Is(err, agentproto.ErrUnauthorized) {
			welcomed <- fmt.Errorf("hollow agent %s: %w", a.node.Hostname, err)
			return
		}
		a.fleet.reconnects.Add(1)
		a.fleet.cfg.Logger.Warn("hollow agent disconnected; reconnecting", "node", a.node.Hostname, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, 5*time.Second)
	}
}

// session runs one connection: Hello with every known report, then the
// server's intents, each answered at once.
func (a *Agent) session(ctx context.Context, onWelcome func()) error {
	conn, err := agentproto.Dial(ctx, a.fleet.cfg.ServerURL, a.fleet.cfg.Token)
	if err != nil {
		return err
	}
	defer conn.Close("hollow agent stopping")
	a.mu.Lock()
	hello := &agentproto.Hello{Version: agentproto.Version, Node: a.node, Tasks: make([]agentproto.TaskReport, 0, len(a.reports))}
	for key, r := range a.reports {
		hello.Tasks = append(hello.Tasks, r)
		delete(a.dirty, key)
	}
	a.mu.Unlock()
	if err := conn.Send(ctx, agentproto.Message{Hello: hello}); err != nil {
		a.markAllDirty()
		return err
	}
	for _, r := range hello.Tasks {
		a.countAck(r)
	}
	m, err := conn.Recv(ctx)
	switch {
	case err != nil:
		return err
	case m.Error != "":
		return fmt.Errorf("server refused the agent: %s", m.Error)
	case m.Welcome == nil:
		return fmt.Errorf("server answered the hello with a %s message", m.Kind())
	}
	onWelcome()
	sctx, stop := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	defer func() {
		stop(nil)
		wg.Wait()
	}()
	wg.Go(func() { stop(a.sendReports(sctx, conn)) })
	for _, d := range m.Welcome.Tasks {
		a.apply(d)
	}
	for {
		m, err := conn.Recv(sctx)
		if cause := context.Cause(sctx); sctx.Err() != nil && cause != nil && !errors.Is(cause, context.Canceled) {
			return cause
		}
		if errors.Is(err, agentproto.ErrMalformed) {
			continue
		}
		if err != nil {
			return err
		}
		switch {
		case m.Task != nil:
			a.apply(*m.Task)
		case m.Forget != nil:
			a.mu.Lock()
			key := reportKey(m.Forget.Cluster, m.Forget.ID)
			delete(a.reports, key)
			delete(a.containerIDs, key)
			delete(a.dirty, key)
			delete(a.acked, key)
			a.mu.Unlock()
		case m.Error != "":
			return fmt.Errorf("server ended the connection: %s", m.Error)
		}
	}
}

// apply acknowledges one intent: RUNNING at once, or STOPPED at once. A
// report already given for the same status and generation is not repeated.
func (a *Agent) apply(d agentproto.DesiredTask) {
	a.fleet.desired.Add(1)
	if a.report(d, time.Now().UTC()) {
		select {
		case a.changed <- struct{}{}:
		default:
		}
	}
}

// sendReports sends the latest report of every dirty task until ctx ends
// or a send fails.
func (a *Agent) sendReports(ctx context.Context, conn *agentproto.Conn) error {
	for {
		a.mu.Lock()
		batch := make([]agentproto.TaskReport, 0, len(a.dirty))
		for key := range a.dirty {
			batch = append(batch, a.reports[key])
		}
		clear(a.dirty)
		a.mu.Unlock()
		for i, r := range batch {
			if err := conn.Send(ctx, agentproto.Message{Status: &r}); err != nil {
				a.markDirty(batch[i:])
				return err
			}
			a.countAck(r)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-a.changed:
		}
	}
}

// markDirty makes the tasks of reports that could not be sent due again
// (in their latest form), unless forgotten meanwhile.
func (a *Agent) markDirty(reports []agentproto.TaskReport) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range reports {
		if key := reportKey(r.Cluster, r.ID); a.reports[key].ID != "" {
			a.dirty[key] = true
		}
	}
}

func (a *Agent) markAllDirty() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for key := range a.reports {
		a.dirty[key] = true
	}
}

// countAck counts a task's first RUNNING and first STOPPED report sent.
func (a *Agent) countAck(r agentproto.TaskReport) {
	status := r.Status.LastStatus
	if status != agentproto.StatusRunning && status != agentproto.StatusStopped {
		return
	}
	a.mu.Lock()
	key := reportKey(r.Cluster, r.ID)
	first := !a.acked[key][status]
	if first {
		if a.acked[key] == nil {
			a.acked[key] = map[string]bool{}
		}
		a.acked[key][status] = true
	}
	a.mu.Unlock()
	switch {
	case !first:
	case status == agentproto.StatusRunning:
		a.fleet.running.Add(1)
	default:
		a.fleet.stopped.Add(1)
	}
}

// report decides the report that answers d, records it as the task's
// latest and marks it to be sent. It reports whether there is one.
func (a *Agent) report(d agentproto.DesiredTask, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	key := reportKey(d.Cluster, d.ID)
	prev, known := a.reports[key]
	st := prev.Status
	switch {
	case known && st.Generation == d.Generation && (st.LastStatus == agentproto.StatusStopped || st.LastStatus == d.DesiredStatus):
		return false // answered already
	case st.LastStatus == agentproto.StatusStopped:
		// Stopped is final: a new intent is answered with the same report.
	case d.DesiredStatus == agentproto.StatusRunning:
		st = a.runningStatus(key, d, now, st)
	default: // STOPPED
		st = a.stoppedStatus(key, d, now, st)
	}
	st.Generation = d.Generation
	st.UpdatedAt = now
	a.reports[key] = agentproto.TaskReport{Cluster: d.Cluster, ID: d.ID, Status: st}
	a.dirty[key] = true
	return true
}

// runningStatus is the task started: every container RUNNING, healthy if
// it has a health check (there is nothing to fail it), UNKNOWN otherwise.
func (a *Agent) runningStatus(key string, d agentproto.DesiredTask, now time.Time, prev agentproto.TaskStatus) agentproto.TaskStatus {
	if prev.LastStatus == agentproto.StatusRunning {
		return prev
	}
	ids := a.containers(key, len(d.Spec.Containers))
	st := agentproto.TaskStatus{
		LastStatus:     agentproto.StatusRunning,
		Connectivity:   ecstypes.ConnectivityConnected,
		ConnectivityAt: now,
		PullStartedAt:  now,
		PullStoppedAt:  now,
		StartedAt:      now,
	}
	health := ecstypes.HealthStatusHealthy
	essentials := 0
	defs := d.Spec.Definition.ContainerDefinitions
	for i, c := range d.Spec.Containers {
		cs := agentproto.ContainerStatus{Name: c.Name, RuntimeID: ids[i], LastStatus: agentproto.StatusRunning, HealthStatus: ecstypes.HealthStatusUnknown}
		essential := true
		if i < len(defs) {
			if defs[i].HealthCheck != nil {
				cs.HealthStatus = ecstypes.HealthStatusHealthy
			}
			essential = awsapi.Deref(defs[i].Essential) || defs[i].Essential == nil
			if essential {
				essentials++
				if cs.HealthStatus != ecstypes.HealthStatusHealthy {
					health = ecstypes.HealthStatusUnknown
				}
			}
		}
		st.Containers = append(st.Containers, cs)
	}
	if essentials == 0 {
		health = ecstypes.HealthStatusUnknown
	}
	st.HealthStatus = health
	return st
}

// stoppedStatus is the task stopped on request: every container exited 0.
func (a *Agent) stoppedStatus(key string, d agentproto.DesiredTask, now time.Time, prev agentproto.TaskStatus) agentproto.TaskStatus {
	st := prev
	st.LastStatus = agentproto.StatusStopped
	st.HealthStatus = ecstypes.HealthStatusUnknown
	st.StoppedAt, st.ExecutionStoppedAt = now, now
	ids := a.containers(key, len(d.Spec.Containers))
	st.Containers = nil
	for i, c := range d.Spec.Containers {
		cs := agentproto.ContainerStatus{Name: c.Name, LastStatus: agentproto.StatusStopped, HealthStatus: ecstypes.HealthStatusUnknown}
		if prev.LastStatus == agentproto.StatusRunning {
			cs.RuntimeID = ids[i]
			cs.ExitCode = new(int32)
		}
		st.Containers = append(st.Containers, cs)
	}
	return st
}

// containers returns the fake runtime ids of a task's n containers.
func (a *Agent) containers(key string, n int) []string {
	ids := a.containerIDs[key]
	for len(ids) < n {
		id, _ := randomHex(32)
		ids = append(ids, id)
	}
	a.containerIDs[key] = ids
	return ids
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// Report finds the latest report of a task among the fleet's agents and
// the hostname of the agent that has it.
func (f *Fleet) Report(cluster, id string) (agentproto.TaskReport, string, bool) {
	key := reportKey(cluster, id)
	for _, a := range f.agents {
		a.mu.Lock()
		r, ok := a.reports[key]
		dirty := a.dirty[key]
		a.mu.Unlock()
		if ok {
			host := a.node.Hostname
			if dirty {
				host += " (not sent yet)"
			}
			return r, host, true
		}
	}
	return agentproto.TaskReport{}, "", false
}

// reportKey names a task as agents do, by cluster and id: the protocol
// carries no region (task ids are unique across regions).
func reportKey(cluster, id string) string { return cluster + "|" + id }
