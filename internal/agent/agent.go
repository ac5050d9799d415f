// Package agent is berth's node agent: it runs the ECS tasks the server
// places on its node, with a container runtime, and reports what runs. The
// server process runs one in-process (the capacity behind Fargate); `berth
// agent` runs one on other hosts. It talks to the server only through
// agentproto and to containers only through runtime.
//
// Each task has a runner (Nomad's allocrunner model) that loops: observe
// the task's containers, decide the next steps with a pure function
// (decide.go), act, and wait for a runtime event, a change of intent or a
// timer. Because decisions come from what exists, an agent that restarts in
// the middle of anything continues where it was, and tasks keep running
// while the agent or the server is away.
//
// The output of containers with the awslogs log driver is kept by the
// runtime (Docker's json-file) and shipped by the agent to the server's
// CloudWatch Logs (awslogs.go, logship.go, logsink.go).
package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/runtime"
)

// Config configures an Agent.
type Config struct {
	ServerURL string // "http://127.0.0.1:4566"
	Token     string // bearer token for the server
	// DataDir is where the agent keeps its node id (file "node-id", created
	// once), its tasks' files and task-scoped volumes.
	DataDir string
	Runtime runtime.Runtime
	// Node describes this node; the agent fills in its ID.
	Node agentproto.Node
	// HostNetwork carries the VPCs on the host and attaches awsvpc tasks'
	// interfaces (nil: the host's kernel, through hostnet).
	HostNetwork HostNetwork
	// MetadataAddress is the IP the task metadata endpoint is served on
	// (default 169.254.170.2) and MetadataPort its port (default 80). The
	// host takes the address (on hostnet.LocalLink).
	MetadataAddress string
	MetadataPort    int
	// LogSink stores the logs of containers with the awslogs driver; nil:
	// the server's log endpoints, at ServerURL with Token.
	LogSink    LogSink
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Defaults of Config.
const (
	DefaultMetadataAddress = "169.254.170.2"
	DefaultMetadataPort    = 80
)

// Timing of the agent's loops.
const (
	minBackoff     = 100 * time.Millisecond
	maxBackoff     = 5 * time.Second
	resyncInterval = 30 * time.Second
	purgeAttempts  = 5
)

// Agent runs one node's tasks.
type Agent struct {
	cfg Config
	rt  runtime.Runtime
	log *slog.Logger
	// networks carries the VPCs and enforces the security groups.
	networks *vpcNetworks
	now      func() time.Time
	nodeID   string
	metrics  *metrics
	sink     LogSink
	server   *serverClient
	// proxy passes tasks' AWS API calls on to the server.
	proxy http.Handler
	// secretReaderFor reads secrets with a role's credentials (tests
	// replace it).
	secretReaderFor func(agentproto.RoleCredentials) secretReader
	metadataBase    string
	started         atomic.Bool

	mu sync.Mutex
	// runners by task id; endpoints maps ECS container ids to runners for
	// the metadata endpoint.
	runners   map[string]*runner
	endpoints map[string]*runner
	// reports holds the latest report of every task the server knows;
	// dirty the ones not yet sent on the current connection.
	reports map[string]agentproto.TaskReport
	dirty   map[string]bool
	// orphans are tasks found in the runtime with no task file: the
	// Welcome says whether the server still wants them.
	orphans map[string]bool
	region  string // the server's, from its Welcome
	runCtx  context.Context
	wg      sync.WaitGroup // runners and purges

	reportsChanged chan struct{}
	// reportHook, when set (tests), sees every report as it is made.
	reportHook func(agentproto.TaskReport)
}

// New returns an agent; it loads (or creates) the node id in DataDir.
func New(cfg Config) (*Agent, error) {
	if cfg.ServerURL == "" {
		return nil, errors.New("agent: no server URL")
	}
	if cfg.Runtime == nil {
		return nil, errors.New("agent: no container runtime")
	}
	if cfg.DataDir == "" {
		return nil, errors.New("agent: no data directory")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.MetadataAddress = cmpOr(cfg.MetadataAddress, DefaultMetadataAddress)
	if cfg.MetadataPort == 0 {
		cfg.MetadataPort = DefaultMetadataPort
	}
	if ip := net.ParseIP(cfg.MetadataAddress); ip == nil {
		return nil, fmt.Errorf("agent: metadata address %q is not an IP address", cfg.MetadataAddress)
	}
	if cfg.MetadataPort < 0 || cfg.MetadataPort > 65535 {
		return nil, fmt.Errorf("agent: metadata port %d out of range", cfg.MetadataPort)
	}
	if cfg.HostNetwork == nil {
		cfg.HostNetwork = kernelNetwork{}
	}

	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("agent: data directory: %w", err)
	}
	server, err := newServerClient(cfg.ServerURL, cfg.Token)
	if err != nil {
		return nil, err
	}
	sink := cfg.LogSink
	if sink == nil {
		sink = &httpLogSink{server: server}
	}
	proxy, err := apiProxy(server.base)
	if err != nil {
		return nil, err
	}
	nodeID, err := loadNodeID(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	a := &Agent{
		cfg:            cfg,
		rt:             cfg.Runtime,
		now:            cfg.Now,
		nodeID:         nodeID,
		metrics:        newMetrics(cfg.Registerer),
		sink:           sink,
		server:         server,
		proxy:          proxy,
		runners:        map[string]*runner{},
		endpoints:      map[string]*runner{},
		reports:        map[string]agentproto.TaskReport{},
		dirty:          map[string]bool{},
		orphans:        map[string]bool{},
		reportsChanged: make(chan struct{}, 1),
	}
	a.secretReaderFor = a.newSecretReader
	a.log = cfg.Logger.With("component", "agent", "node", nodeID)
	a.networks = newVPCNetworks(cfg.HostNetwork, firewallTable(nodeID), a.log)
	host := cfg.MetadataAddress
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	a.metadataBase = "http://" + host
	if cfg.MetadataPort != 80 {
		a.metadataBase += ":" + strconv.Itoa(cfg.MetadataPort)
	}
	return a, nil
}

// NodeID is the node's stable id.
func (a *Agent) NodeID() string { return a.nodeID }

// loadNodeID reads the node id from dir, creating it on first use.
func loadNodeID(dir string) (string, error) {
	path := filepath.Join(dir, "node-id")
	b, err := os.ReadFile(path)
	if err == nil {
		id := strings.TrimSpace(string(b))
		if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
			return "", fmt.Errorf("agent: %s does not hold a node id (32 lowercase hex digits)", path)
		}
		return id, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("agent: node id: %w", err)
	}
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("agent: node id: %w", err)
	}
	id := hex.EncodeToString(raw[:])
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return loadNodeID(dir) // another process created it first
	}
	if err != nil {
		return "", fmt.Errorf("agent: node id: %w", err)
	}
	if _, err := f.WriteString(id + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("agent: node id: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("agent: node id: %w", err)
	}
	return id, nil
}

// Run runs the agent until ctx ends. Tasks keep running in the runtime
// when it returns; a new agent with the same data dir takes them over.
func (a *Agent) Run(ctx context.Context) error {
	return a.run(ctx, a.connectLoop)
}

// run is Run with the server conversation as a parameter (tests run the
// node alone).
func (a *Agent) run(ctx context.Context, converse func(context.Context)) error {
	if !a.started.CompareAndSwap(false, true) {
		return errors.New("agent: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.mu.Lock()
	a.runCtx = ctx
	a.mu.Unlock()

	// Nothing here waits for the runtime: the agent talks to the server
	// even while Docker is down, so that tasks placed here fail with a
	// reason instead of never being picked up.
	var bg sync.WaitGroup
	bg.Add(3)
	go func() {
		defer bg.Done()
		// Serve the metadata endpoint once the host has its address.
		addr, _ := netip.ParseAddr(a.cfg.MetadataAddress)
		if a.retry(ctx, "taking the metadata endpoint's address", func() error {
			return a.cfg.HostNetwork.EnsureLocalAddress(netip.PrefixFrom(addr, addr.BitLen()))
		}) == nil {
			a.serveMetadata(ctx)
		}
	}()
	go func() { defer bg.Done(); a.networks.run(ctx) }()
	go func() { defer bg.Done(); a.watchEvents(ctx) }()

	list, err := a.listNode(ctx)
	if err != nil {
		if ctx.Err() != nil {
			cancel()
			bg.Wait()
			return nil
		}
		// The task files still say which tasks are ours; each runner keeps
		// observing the runtime on its own.
		a.log.Warn("the runtime does not answer; tasks are rebuilt from their files", "err", err)
	}
	a.rebuild(list)
	a.awaitFirstObservations(ctx)
	converse(ctx)

	cancel()
	bg.Wait()
	a.wg.Wait()
	return nil
}

// firstObservationWait bounds how long the first Hello waits for the
// rebuilt tasks to be observed.
const firstObservationWait = 5 * time.Second

// awaitFirstObservations waits until every rebuilt task has been observed
// once, so that the first Hello carries what runs now rather than what the
// task files remember.
func (a *Agent) awaitFirstObservations(ctx context.Context) {
	a.mu.Lock()
	var pending []*runner
	for _, r := range a.runners {
		pending = append(pending, r)
	}
	a.mu.Unlock()
	timeout := time.NewTimer(firstObservationWait)
	defer timeout.Stop()
	for _, r := range pending {
		select {
		case <-r.observed:
		case <-timeout.C:
			a.log.Warn("saying hello before every task was observed")
			return
		case <-ctx.Done():
			return
		}
	}
}

// listAttempts bounds how often startup asks the runtime for the node's
// containers before going on without them.
const listAttempts = 3

// listNode lists the containers of this node, trying a few times.
func (a *Agent) listNode(ctx context.Context) ([]runtime.Container, error) {
	bo := backoff{}
	for attempt := 1; ; attempt++ {
		list, err := a.rt.List(ctx, map[string]string{LabelNodeID: a.nodeID})
		if err == nil || attempt == listAttempts || ctx.Err() != nil {
			return list, err
		}
		if !sleepCtx(ctx, bo.next()) {
			return nil, ctx.Err()
		}
	}
}

// retry calls fn until it succeeds or ctx ends, backing off between
// attempts.
func (a *Agent) retry(ctx context.Context, what string, fn func() error) error {
	bo := backoff{}
	for {
		err := fn()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		a.metrics.runtimeErrors.WithLabelValues("startup").Inc()
		a.log.Warn("agent startup step failed; retrying", "step", what, "err", err)
		if !sleepCtx(ctx, bo.next()) {
			return ctx.Err()
		}
	}
}

// rebuild starts a runner for every task file and notes the tasks the
// runtime shows without one.
func (a *Agent) rebuild(list []runtime.Container) {
	files, err := a.loadTaskFiles()
	if err != nil {
		a.log.Error("task files unreadable; the server's Welcome restores the tasks' intent", "err", err)
	}
	for _, tf := range files {
		a.startRunner(tf.Desired, tf.Facts, tf.Forget)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range list {
		id := c.Labels[LabelTaskID]
		if id != "" && a.runners[id] == nil && validID.MatchString(id) {
			a.orphans[id] = true
		}
	}
	a.log.Info("agent state rebuilt", "tasks", len(files), "orphans", len(a.orphans), "containers", len(list))
}

// planEnv is what plans of this agent need.
func (a *Agent) planEnv() planEnv {
	a.mu.Lock()
	region := a.region
	a.mu.Unlock()
	return planEnv{
		NodeID:         a.nodeID,
		MetadataBase:   a.metadataBase,
		Region:         region,
		VolumeRoot:     filepath.Join(a.cfg.DataDir, "volumes"),
		CredentialsKey: a.cfg.Token,
	}
}

// startRunner creates and starts the runner of a task.
func (a *Agent) startRunner(dt agentproto.DesiredTask, f facts, forget bool) *runner {
	r := newRunner(a, dt, f, forget)
	a.mu.Lock()
	defer a.mu.Unlock()
	if old := a.runners[dt.ID]; old != nil {
		return old
	}
	a.runners[dt.ID] = r
	delete(a.orphans, dt.ID)
	a.registerEndpointsLocked(r, r.plan)
	if a.runCtx == nil || a.runCtx.Err() != nil {
		return r
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		r.run(a.runCtx)
	}()
	return r
}

// applyDesired hands the server's intent for one task to its runner,
// starting one for a new task. An authoritative intent (from a Welcome)
// replaces whatever the runner had.
func (a *Agent) applyDesired(dt agentproto.DesiredTask, authoritative bool) {
	if !validID.MatchString(dt.ID) || !validID.MatchString(dt.Cluster) {
		a.log.Warn("desired task ignored", "reason", "malformed task reference", "cluster", dt.Cluster, "task", dt.ID)
		return
	}
	a.mu.Lock()
	r := a.runners[dt.ID]
	a.mu.Unlock()
	if r != nil {
		r.setDesired(dt, authoritative)
		return
	}
	a.startRunner(dt, facts{AcceptedAt: a.now()}, false)
}

// applyWelcome reconciles the local tasks with the server's full intent:
// tasks it names are (re)started or adopted; tasks it does not name are
// unknown to it and are stopped and removed.
func (a *Agent) applyWelcome(w *agentproto.Welcome) {
	named := map[string]bool{}
	for _, dt := range w.Tasks {
		named[dt.ID] = true
	}
	a.mu.Lock()
	a.region = w.Region
	var unknown []*runner
	for id, r := range a.runners {
		if !named[id] {
			unknown = append(unknown, r)
		}
	}
	var orphans []string
	for id := range a.orphans {
		if !named[id] {
			orphans = append(orphans, id)
			delete(a.orphans, id)
		}
	}
	a.mu.Unlock()

	for _, dt := range w.Tasks {
		a.applyDesired(dt, true)
	}
	for _, r := range unknown {
		a.log.Info("task unknown to the server; stopping and removing it", "task", r.id, "cluster", r.cluster)
		r.setUnknown()
	}
	for _, id := range orphans {
		a.log.Info("containers of a task unknown to the server; removing them", "task", id)
		a.startPurge(id)
	}
}

// applyForget drops a task the server no longer keeps.
func (a *Agent) applyForget(ref agentproto.TaskRef) {
	if !validID.MatchString(ref.ID) {
		return
	}
	a.mu.Lock()
	r := a.runners[ref.ID]
	orphan := a.orphans[ref.ID]
	delete(a.orphans, ref.ID)
	a.mu.Unlock()
	switch {
	case r != nil:
		r.setForget()
	case orphan:
		a.startPurge(ref.ID)
	}
}

// registerEndpoints maps the ECS container ids of a plan to its runner,
// for the metadata endpoint.
func (a *Agent) registerEndpoints(r *runner, p *taskPlan) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.runners[r.id] == r {
		a.registerEndpointsLocked(r, p)
	}
}

func (a *Agent) registerEndpointsLocked(r *runner, p *taskPlan) {
	for _, cp := range p.Containers {
		a.endpoints[cp.ID] = r
	}
	// The credentials id shares the map: it is as unguessable as the
	// container ids and never equal to one.
	if p.CredentialsID != "" {
		a.endpoints[p.CredentialsID] = r
	}
}

// drop removes a finished runner and everything the agent kept of its task.
func (a *Agent) drop(r *runner) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.runners[r.id] != r {
		return // a newer runner owns the task and its files
	}
	// Files first, under the lock: once the runner is gone from the map,
	// nothing of the task is left.
	if err := a.removeTaskFile(r.id); err != nil {
		a.log.Warn("removing task file", "task", r.id, "err", err)
	}
	if err := os.RemoveAll(filepath.Join(a.cfg.DataDir, "volumes", r.id)); err != nil {
		a.log.Warn("removing task volumes", "task", r.id, "err", err)
	}
	delete(a.runners, r.id)
	for id, er := range a.endpoints {
		if er == r {
			delete(a.endpoints, id)
		}
	}
	a.forgetReportLocked(r.id)
}

// startPurge removes, in the background, every container of a task the
// agent has no runner for.
func (a *Agent) startPurge(taskID string) {
	a.mu.Lock()
	ctx := a.runCtx
	a.mu.Unlock()
	if ctx == nil || ctx.Err() != nil {
		return
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		bo := backoff{}
		for attempt := 1; ; attempt++ {
			err := a.purge(ctx, taskID)
			if err == nil || ctx.Err() != nil {
				return
			}
			a.log.Warn("removing an unknown task's containers failed", "task", taskID, "attempt", attempt, "err", err)
			if attempt == purgeAttempts || !sleepCtx(ctx, bo.next()) {
				return
			}
		}
	}()
}

// purge stops (with ECS's default timeout: the definition is unknown) and
// removes a task's containers, then its resources.
func (a *Agent) purge(ctx context.Context, taskID string) error {
	list, err := a.rt.List(ctx, map[string]string{LabelTaskID: taskID, LabelNodeID: a.nodeID})
	if err != nil {
		a.metrics.runtimeErrors.WithLabelValues("list").Inc()
		return err
	}
	var errs []error
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, c := range list {
		if !c.Running || c.Labels[LabelRole] == RoleHolder {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.rt.Stop(ctx, c.ID, defaultStopTimeout); err != nil && !errors.Is(err, runtime.ErrNotFound) {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, c := range list {
		if err := a.rt.Remove(ctx, c.ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	if err := a.rt.ReleaseTaskResources(ctx, taskID); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		a.metrics.runtimeErrors.WithLabelValues("purge").Inc()
		return err
	}
	if err := a.removeTaskFile(taskID); err != nil {
		return err
	}
	return os.RemoveAll(filepath.Join(a.cfg.DataDir, "volumes", taskID))
}

// setReport records a task's latest status for the server.
func (a *Agent) setReport(r *runner, st agentproto.TaskStatus) {
	a.mu.Lock()
	if a.runners[r.id] != r {
		a.mu.Unlock()
		return
	}
	if prev, ok := a.reports[r.id]; ok {
		a.metrics.tasks.WithLabelValues(prev.Status.LastStatus).Dec()
	}
	a.metrics.tasks.WithLabelValues(st.LastStatus).Inc()
	rep := agentproto.TaskReport{Cluster: r.cluster, ID: r.id, Status: st}
	a.reports[r.id] = rep
	a.dirty[r.id] = true
	hook := a.reportHook
	a.mu.Unlock()
	if hook != nil {
		hook(rep)
	}
	select {
	case a.reportsChanged <- struct{}{}:
	default:
	}
}

func (a *Agent) forgetReport(taskID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.forgetReportLocked(taskID)
}

func (a *Agent) forgetReportLocked(taskID string) {
	if prev, ok := a.reports[taskID]; ok {
		a.metrics.tasks.WithLabelValues(prev.Status.LastStatus).Dec()
	}
	delete(a.reports, taskID)
	delete(a.dirty, taskID)
}

// allReports returns every task's latest report, for a Hello, and marks
// them sent.
func (a *Agent) allReports() []agentproto.TaskReport {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]agentproto.TaskReport, 0, len(a.reports))
	for _, rep := range a.reports {
		out = append(out, rep)
	}
	slices.SortFunc(out, func(x, y agentproto.TaskReport) int { return strings.Compare(x.ID, y.ID) })
	clear(a.dirty)
	return out
}

// takeDirty returns the reports not yet sent and marks them sent.
func (a *Agent) takeDirty() []agentproto.TaskReport {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]agentproto.TaskReport, 0, len(a.dirty))
	for id := range a.dirty {
		if rep, ok := a.reports[id]; ok {
			out = append(out, rep)
		}
	}
	clear(a.dirty)
	slices.SortFunc(out, func(x, y agentproto.TaskReport) int { return strings.Compare(x.ID, y.ID) })
	return out
}

// markDirty marks reports to be sent again (a send failed).
func (a *Agent) markDirty(reps []agentproto.TaskReport) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, rep := range reps {
		if _, ok := a.reports[rep.ID]; ok {
			a.dirty[rep.ID] = true
		}
	}
}

// watchEvents turns runtime events into wake-ups of the runners concerned,
// resubscribing when the stream breaks.
func (a *Agent) watchEvents(ctx context.Context) {
	bo := backoff{}
	for ctx.Err() == nil {
		events, errc := a.rt.Events(ctx)
		// Whatever happened while not subscribed is seen by re-observing.
		a.pokeAll()
		for ev := range events {
			bo.reset()
			a.dispatch(ev)
		}
		if err := <-errc; err != nil && ctx.Err() == nil {
			a.metrics.runtimeErrors.WithLabelValues("events").Inc()
			a.log.Warn("runtime event stream broke; resubscribing", "err", err)
		}
		if !sleepCtx(ctx, bo.next()) {
			return
		}
	}
}

// wakingEvents are the container events that can change what a runner
// decides (health checks' exec_* events, for one, cannot).
var wakingEvents = map[string]bool{
	"create": true, "start": true, "restart": true, "die": true, "kill": true, "oom": true,
	"stop": true, "destroy": true, "pause": true, "unpause": true,
}

func (a *Agent) dispatch(ev runtime.Event) {
	id := ev.Labels[LabelTaskID]
	if id == "" || ev.Labels[LabelNodeID] != a.nodeID {
		return
	}
	if !wakingEvents[ev.Action] && !strings.HasPrefix(ev.Action, "health_status") {
		return
	}
	a.mu.Lock()
	r := a.runners[id]
	a.mu.Unlock()
	if r == nil {
		return
	}
	if ev.Action == "oom" {
		r.noteOOM(ev.ContainerID)
	}
	r.poke()
}

func (a *Agent) pokeAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.runners {
		r.poke()
	}
}

// runnerFor returns the runner of the task a container (ECS container id)
// belongs to.
func (a *Agent) runnerFor(endpointID string) *runner {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.endpoints[endpointID]
}

// backoff is a capped exponential backoff.
type backoff struct{ d time.Duration }

func (b *backoff) next() time.Duration {
	switch {
	case b.d == 0:
		b.d = minBackoff
	case b.d < maxBackoff:
		b.d = min(2*b.d, maxBackoff)
	}
	return b.d
}

func (b *backoff) reset() { b.d = 0 }

// sleepCtx sleeps for d unless ctx ends first; it reports whether ctx is
// still alive.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func cmpOr(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
