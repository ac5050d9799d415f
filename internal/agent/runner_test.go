package agent

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/runtime"
)

// harness runs an Agent against a fake runtime, without a server unless a
// test gives it one.
type harness struct {
	t       *testing.T
	fr      *fakeRuntime
	hostNet *fakeHostNetwork
	a       *Agent
	cancel  context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	history map[string][]string // task id -> lastStatus sequence reported
	last    map[string]agentproto.TaskStatus
	changed chan struct{}
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// freePort returns a loopback port nobody listens on.
func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func newHarness(t *testing.T, fr *fakeRuntime, dataDir, serverURL string) *harness {
	t.Helper()
	if serverURL == "" {
		serverURL = "http://127.0.0.1:1"
	}
	hostNet := newFakeHostNetwork()
	a, err := New(Config{
		ServerURL: serverURL, Token: "tok", DataDir: dataDir, Runtime: fr,
		Node:            agentproto.Node{Hostname: "node-a", Clusters: []string{"*"}, LaunchTypes: []string{"FARGATE"}, CPU: 4096, MemoryMiB: 8192},
		MetadataAddress: "127.0.0.1", MetadataPort: freePort(t),
		HostNetwork: hostNet,
		Logger:      testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, fr: fr, a: a, hostNet: hostNet, history: map[string][]string{}, last: map[string]agentproto.TaskStatus{},
		changed: make(chan struct{}, 1)}
	a.reportHook = h.onReport
	return h
}

func (h *harness) onReport(rep agentproto.TaskReport) {
	h.mu.Lock()
	hist := h.history[rep.ID]
	if len(hist) == 0 || hist[len(hist)-1] != rep.Status.LastStatus {
		h.history[rep.ID] = append(hist, rep.Status.LastStatus)
	}
	h.last[rep.ID] = rep.Status
	h.mu.Unlock()
	select {
	case h.changed <- struct{}{}:
	default:
	}
}

// start runs the agent; with converse nil, without a server.
func (h *harness) start(converse func(context.Context)) {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan struct{})
	if converse == nil {
		converse = func(ctx context.Context) { <-ctx.Done() }
	}
	go func() {
		defer close(h.done)
		if err := h.a.run(ctx, converse); err != nil {
			h.t.Errorf("run: %v", err)
		}
	}()
	h.t.Cleanup(h.stop)
	// The node is up once the runtime was listed.
	h.waitUntil("agent started", func() bool { return h.fr.listCount() > 0 && h.a.runCtxSet() })
}

func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	<-h.done
	h.cancel = nil
}

func (a *Agent) runCtxSet() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.runCtx != nil
}

// waitUntil waits for cond, re-checking on every report (and every few
// milliseconds for conditions reports do not announce).
func (h *harness) waitUntil(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-h.changed:
		case <-tick.C:
		case <-deadline:
			h.t.Fatalf("timed out waiting for %s; history %v; calls %v", what, h.histories(), h.fr.callLog())
		}
	}
}

// waitStatus waits until a task's latest report satisfies pred.
func (h *harness) waitStatus(taskID, what string, pred func(agentproto.TaskStatus) bool) agentproto.TaskStatus {
	h.t.Helper()
	var st agentproto.TaskStatus
	h.waitUntil(what, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		var ok bool
		st, ok = h.last[taskID]
		return ok && pred(st)
	})
	return st
}

func (h *harness) waitLast(taskID, status string) agentproto.TaskStatus {
	h.t.Helper()
	return h.waitStatus(taskID, "task "+status, func(st agentproto.TaskStatus) bool { return st.LastStatus == status })
}

func (h *harness) lastOf(taskID string) agentproto.TaskStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last[taskID]
}

func (h *harness) historyOf(taskID string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.history[taskID])
}

func (h *harness) histories() map[string][]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string][]string{}
	for k, v := range h.history {
		out[k] = slices.Clone(v)
	}
	return out
}

// runnable returns a fake runtime that can pull the images of dt.
func runnable(dt agentproto.DesiredTask) *fakeRuntime {
	fr := newFakeRuntime()
	for _, img := range dt.Images {
		fr.addImage(img.Ref)
	}
	return fr
}

func TestRunnerStartsAndStopsTask(t *testing.T) {
	dt := desiredTask("", cdef("app"), cdef("side", essential(false), dependsOn("app", "START")))
	fr := runnable(dt)
	dir := t.TempDir()
	h := newHarness(t, fr, dir, "")
	h.start(nil)
	h.a.applyDesired(dt, false)

	st := h.waitLast(testTaskID, "RUNNING")
	if got := h.historyOf(testTaskID); !slices.Equal(got, []string{"PENDING", "ACTIVATING", "RUNNING"}) {
		t.Errorf("history %v", got)
	}
	if st.PullStartedAt.IsZero() || st.PullStoppedAt.IsZero() || st.StartedAt.IsZero() || st.Connectivity != "CONNECTED" || st.ConnectivityAt.IsZero() {
		t.Errorf("timestamps: %+v", st)
	}
	if st.Network == nil || st.Network.PrivateIPv4 != "169.254.172.5" || st.Network.SubnetID != "subnet-1" || st.Network.PrivateDNSName != "ip-169-254-172-5.ec2.internal" {
		t.Errorf("network: %+v", st.Network)
	}
	for _, c := range st.Containers {
		if c.LastStatus != "RUNNING" || c.RuntimeID == "" || !strings.HasPrefix(c.ImageDigest, "sha256:digest-") {
			t.Errorf("container %+v", c)
		}
	}
	if st.Generation != 1 || st.HealthStatus != "UNKNOWN" {
		t.Errorf("generation %d health %s", st.Generation, st.HealthStatus)
	}
	calls := fr.callLog()
	// The holder is made while the images are pulled, so only these orders
	// are fixed.
	at := func(prefix string) int {
		return slices.IndexFunc(calls, func(c string) bool { return strings.HasPrefix(c, prefix) })
	}
	if got := h.hostNet.attachedTo(); len(got) != 1 || got[0] != *h.a.runnerFor(dt.Spec.Containers[0].ID).currentView().plan.Interface {
		t.Errorf("interfaces attached: %+v", got)
	}
	for _, order := range [][2]string{
		{"setResources " + testTaskID + " cpu=512 mem=1024", "createHolder"},
		{"createHolder", "create app"},
		{"pull registry.local/img-app", "create app"},
		{"pull registry.local/img-side", "create app"},
		{"create app", "start app"},
		{"create side", "start side"},
	} {
		if i, j := at(order[0]), at(order[1]); i < 0 || j < 0 || i > j {
			t.Errorf("%q must come before %q: %v", order[0], order[1], calls)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "tasks", testTaskID+".json")); err != nil {
		t.Errorf("task file: %v", err)
	}

	// StopTask: the server's code and reason are not the agent's to report.
	stop := dt
	stop.DesiredStatus, stop.Generation, stop.StopCode, stop.StoppedReason = "STOPPED", 2, "UserInitiated", "Task stopped by user"
	h.a.applyDesired(stop, false)
	st = h.waitLast(testTaskID, "STOPPED")
	if got := h.historyOf(testTaskID); !slices.Equal(got, []string{"PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED"}) {
		t.Errorf("history %v", got)
	}
	if st.StopCode != "" || st.StoppedReason != "" || st.Generation != 2 || st.StoppedAt.IsZero() || st.ExecutionStoppedAt.IsZero() {
		t.Errorf("stopped status %+v", st)
	}
	for _, c := range st.Containers {
		if c.LastStatus != "STOPPED" || c.ExitCode == nil || *c.ExitCode != 143 {
			t.Errorf("container %+v", c)
		}
	}
	calls = fr.callLog()
	iSide, iApp := slices.Index(calls, "stop side 30s"), slices.Index(calls, "stop app 30s")
	if iSide < 0 || iApp < 0 || iSide > iApp {
		t.Errorf("stop order: side at %d, app at %d: %v", iSide, iApp, calls)
	}
	if fr.released[testTaskID] != 1 || fr.callCount("remove "+holderContainerName) != 1 {
		t.Errorf("released %d, holder removals %d", fr.released[testTaskID], fr.callCount("remove "+holderContainerName))
	}
	if fr.containerCount() != 2 {
		t.Errorf("%d containers left; the task's containers are kept for their logs", fr.containerCount())
	}

	// Forget removes what is left.
	h.a.applyForget(agentproto.TaskRef{Cluster: "default", ID: testTaskID})
	h.waitUntil("task forgotten", func() bool {
		h.a.mu.Lock()
		defer h.a.mu.Unlock()
		return h.a.runners[testTaskID] == nil
	})
	if n := fr.containerCount(); n != 0 {
		t.Errorf("%d containers left after forget", n)
	}
	if _, err := os.Stat(filepath.Join(dir, "tasks", testTaskID+".json")); !os.IsNotExist(err) {
		t.Errorf("task file after forget: %v", err)
	}
}

func TestRunnerPullFailure(t *testing.T) {
	dt := desiredTask("", cdef("app"), cdef("side"))
	fr := runnable(dt)
	fr.pullErr["registry.local/img-side"] = errFakef("manifest for img-side not found")
	h := newHarness(t, fr, t.TempDir(), "")
	h.start(nil)
	h.a.applyDesired(dt, false)
	st := h.waitLast(testTaskID, "STOPPED")
	if st.StopCode != "TaskFailedToStart" || st.StoppedReason != "CannotPullContainerError: manifest for img-side not found" {
		t.Errorf("stop %q %q", st.StopCode, st.StoppedReason)
	}
	if c := st.Containers[1]; c.Reason != st.StoppedReason || c.LastStatus != "STOPPED" || c.ExitCode != nil {
		t.Errorf("side %+v", c)
	}
	if n := fr.callCount("create "); n != 0 {
		t.Errorf("%d containers created after a failed pull", n)
	}
	if fr.released[testTaskID] != 1 {
		t.Errorf("resources released %d times", fr.released[testTaskID])
	}
}

func TestRunnerPullFailureUsesLocalImage(t *testing.T) {
	dt := desiredTask("", cdef("app"))
	fr := runnable(dt)
	fr.local["registry.local/img-app"] = runtime.Image{ID: "sha256:local"}
	fr.pullErr["registry.local/img-app"] = errFakef("registry unreachable")
	h := newHarness(t, fr, t.TempDir(), "")
	h.start(nil)
	h.a.applyDesired(dt, false)
	h.waitLast(testTaskID, "RUNNING")
	if fr.callCount("pull registry.local/img-app onlyIfMissing=true") != 1 {
		t.Errorf("calls %v", fr.callLog())
	}
}

// TestRunnerStopDuringPull: a stop request cuts a pull short.
func TestRunnerStopDuringPull(t *testing.T) {
	dt := desiredTask("", cdef("app"))
	fr := runnable(dt)
	fr.pullGate["registry.local/img-app"] = make(chan struct{}) // never opens
	h := newHarness(t, fr, t.TempDir(), "")
	h.start(nil)
	h.a.applyDesired(dt, false)
	h.waitUntil("pull begun", func() bool { return fr.callCount("pull registry.local/img-app") == 1 })
	stop := dt
	stop.DesiredStatus, stop.Generation = "STOPPED", 2
	h.a.applyDesired(stop, false)
	st := h.waitLast(testTaskID, "STOPPED")
	if st.StopCode != "" || st.StoppedReason != "" || fr.callCount("create ") != 0 || fr.callCount("pull registry.local/img-app onlyIfMissing=true") != 0 {
		t.Errorf("status %+v; calls %v", st, fr.callLog())
	}
}

func TestRunnerRefusesBadAwslogsOptions(t *testing.T) {
	dt := desiredTask("", cdef("app", logDriver("awslogs")))
	fr := runnable(dt)
	h := newHarness(t, fr, t.TempDir(), "")
	h.start(nil)
	h.a.applyDesired(dt, false)
	st := h.waitLast(testTaskID, "STOPPED")
	if st.StopCode != "TaskFailedToStart" || st.StoppedReason != "ResourceInitializationError: failed to validate logger args: must specify a value for log opt 'awslogs-group'" {
		t.Errorf("stop %q %q", st.StopCode, st.StoppedReason)
	}
	if n := fr.callCount("pull"); n != 0 {
		t.Errorf("pulled %d images for a refused task", n)
	}
}

func TestRunnerCreateAndStartFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		inject func(fr *fakeRuntime)
		want   string
	}{
		{"create", func(fr *fakeRuntime) { fr.createErr["app"] = errFakef("invalid mount") }, "CannotCreateContainerError: invalid mount"},
		{"start", func(fr *fakeRuntime) { fr.startErr["app"] = errFakef("exec: \"nope\": not found") }, "CannotStartContainerError: exec: \"nope\": not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dt := desiredTask("", cdef("app"))
			fr := runnable(dt)
			tc.inject(fr)
			h := newHarness(t, fr, t.TempDir(), "")
			h.start(nil)
			h.a.applyDesired(dt, false)
			st := h.waitLast(testTaskID, "STOPPED")
			if st.StopCode != "TaskFailedToStart" || st.StoppedReason != tc.want || st.Containers[0].Reason != tc.want {
				t.Errorf("status %+v", st)
			}
			if fr.callCount("remove "+holderContainerName) != 1 {
				t.Errorf("holder not removed: %v", fr.callLog())
			}
		})
	}
}

func TestRunnerEssentialExitAndOOM(t *testing.T) {
	dt := desiredTask("", cdef("app"), cdef("side", essential(false)))
	fr := runnable(dt)
	h := newHarness(t, fr, t.TempDir(), "")
	h.start(nil)
	h.a.applyDesired(dt, false)
	h.waitLast(testTaskID, "RUNNING")

	side, _ := fr.byECSName(testTaskID, "side")
	fr.exit(side.ID, 1, false)
	h.waitStatus(testTaskID, "side stopped", func(st agentproto.TaskStatus) bool { return st.Containers[1].LastStatus == "STOPPED" })
	if st := h.lastOf(testTaskID); st.LastStatus != "RUNNING" {
		t.Fatalf("a non-essential exit stopped the task: %+v", st)
	}

	app, _ := fr.byECSName(testTaskID, "app")
	fr.exit(app.ID, 137, true)
	st := h.waitLast(testTaskID, "STOPPED")
	if st.StopCode != "EssentialContainerExited" || st.StoppedReason != oomReason {
		t.Errorf("stop %q %q", st.StopCode, st.StoppedReason)
	}
	if c := st.Containers[0]; c.Reason != oomReason || *c.ExitCode != 137 {
		t.Errorf("app %+v", c)
	}
	if c := st.Containers[1]; *c.ExitCode != 1 {
		t.Errorf("side %+v", c)
	}
}

func TestRunnerDependsOnHealthy(t *testing.T) {
	dt := desiredTask("",
		cdef("init", essential(false)),
		cdef("db", withHealthCheck(), dependsOn("init", "SUCCESS")),
		cdef("app", dependsOn("db", "HEALTHY")))
	fr := runnable(dt)
	fr.exitOnStart["init"] = 0
	fr.healthOnStart["db"] = runtime.HealthStarting
	h := newHarness(t, fr, t.TempDir(), "")
	h.start(nil)
	h.a.applyDesired(dt, false)
	h.waitUntil("db started", func() bool { return fr.callCount("start db") == 1 })
	h.waitStatus(testTaskID, "db running", func(st agentproto.TaskStatus) bool { return st.Containers[1].LastStatus == "RUNNING" })
	if st := h.lastOf(testTaskID); st.LastStatus != "ACTIVATING" || fr.callCount("create app") != 0 {
		t.Fatalf("app started before db was healthy: %+v", st)
	}
	db, _ := fr.byECSName(testTaskID, "db")
	fr.setHealth(db.ID, runtime.HealthHealthy)
	st := h.waitLast(testTaskID, "RUNNING")
	if st.Containers[0].LastStatus != "STOPPED" || *st.Containers[0].ExitCode != 0 || st.Containers[1].HealthStatus != "HEALTHY" {
		t.Errorf("status %+v", st)
	}
	if st.HealthStatus != "UNKNOWN" { // app has no check
		t.Errorf("task health %s", st.HealthStatus)
	}
}

// TestRunnerRestartAdopts: a new agent with the same data dir and runtime
// adopts running containers without creating any and reports them RUNNING.
func TestRunnerRestartAdopts(t *testing.T) {
	dt := desiredTask("", cdef("app"), cdef("side"))
	fr := runnable(dt)
	dir := t.TempDir()
	h1 := newHarness(t, fr, dir, "")
	h1.start(nil)
	h1.a.applyDesired(dt, false)
	first := h1.waitLast(testTaskID, "RUNNING")
	h1.stop()
	creates, holders := fr.callCount("create "), fr.callCount("createHolder")

	h2 := newHarness(t, fr, dir, "")
	if h2.a.NodeID() != h1.a.NodeID() {
		t.Fatalf("node id changed: %s -> %s", h1.a.NodeID(), h2.a.NodeID())
	}
	h2.start(nil)
	st := h2.waitLast(testTaskID, "RUNNING")
	if got := h2.historyOf(testTaskID); !slices.Equal(got, []string{"RUNNING"}) {
		t.Errorf("history after restart %v", got)
	}
	if fr.callCount("create ") != creates || fr.callCount("createHolder") != holders || fr.callCount("pull") != 2 {
		t.Errorf("restart created or pulled again: %v", fr.callLog())
	}
	if !st.PullStartedAt.Equal(first.PullStartedAt) || !st.StartedAt.Equal(first.StartedAt) || st.Network == nil ||
		st.Containers[0].ImageDigest != first.Containers[0].ImageDigest {
		t.Errorf("adopted status lost facts:\n%+v\nwas\n%+v", st, first)
	}
}

// TestRunnerRestartSeesDeath: a container that died while the agent was
// away is reported STOPPED with its exit code and, being essential, stops
// the task.
func TestRunnerRestartSeesDeath(t *testing.T) {
	dt := desiredTask("", cdef("app"), cdef("side"))
	fr := runnable(dt)
	dir := t.TempDir()
	h1 := newHarness(t, fr, dir, "")
	h1.start(nil)
	h1.a.applyDesired(dt, false)
	h1.waitLast(testTaskID, "RUNNING")
	h1.stop()

	app, _ := fr.byECSName(testTaskID, "app")
	fr.exit(app.ID, 3, false)

	h2 := newHarness(t, fr, dir, "")
	h2.start(nil)
	st := h2.waitLast(testTaskID, "STOPPED")
	if st.StopCode != "EssentialContainerExited" || st.StoppedReason != "Essential container in task exited" {
		t.Errorf("stop %q %q", st.StopCode, st.StoppedReason)
	}
	if c := st.Containers[0]; c.LastStatus != "STOPPED" || c.ExitCode == nil || *c.ExitCode != 3 {
		t.Errorf("app %+v", c)
	}
	if c := st.Containers[1]; *c.ExitCode != 143 {
		t.Errorf("side %+v", c)
	}
}

func TestRunnerRuntimeUnreachableWhileStarting(t *testing.T) {
	dt := desiredTask("", cdef("app"))
	fr := runnable(dt)
	h := newHarness(t, fr, t.TempDir(), "")
	h.start(nil)
	fr.mu.Lock()
	fr.listErr = errFakef("Cannot connect to the Docker daemon at unix:///var/run/docker.sock")
	fr.mu.Unlock()
	h.a.applyDesired(dt, false)
	// STOPPED while the runtime is still away: the task never ran, and
	// nothing can be asked of the runtime.
	st := h.waitStatus(testTaskID, "stopped", func(st agentproto.TaskStatus) bool { return st.LastStatus == "STOPPED" })
	if st.StopCode != "TaskFailedToStart" || st.StoppedReason != "ResourceInitializationError: Cannot connect to the Docker daemon at unix:///var/run/docker.sock" || st.StoppedAt.IsZero() {
		t.Errorf("stop %q %q at %v", st.StopCode, st.StoppedReason, st.StoppedAt)
	}
	fr.mu.Lock()
	fr.listErr = nil
	fr.mu.Unlock()
	h.waitLast(testTaskID, "STOPPED")
	if n := fr.callCount("create"); n != 0 {
		t.Errorf("created %d containers", n)
	}
}

func TestRunnerBridgeBindings(t *testing.T) {
	dt := desiredTask("bridge", cdef("web", func(cd *ecstypes.ContainerDefinition) {
		cd.PortMappings = []ecstypes.PortMapping{{ContainerPort: awsInt32(80)}}
	}))
	fr := runnable(dt)
	h := newHarness(t, fr, t.TempDir(), "")
	h.start(nil)
	h.a.applyDesired(dt, false)
	st := h.waitLast(testTaskID, "RUNNING")
	b := st.Containers[0].NetworkBindings
	if len(b) != 1 || *b[0].ContainerPort != 80 || *b[0].HostPort < 32768 || *b[0].Protocol != "tcp" || *b[0].BindIP != "0.0.0.0" {
		t.Errorf("bindings %+v", b)
	}
	if st.Network != nil || fr.callCount("createHolder") != 0 {
		t.Errorf("a bridge task got a holder")
	}
}

func awsInt32(v int32) *int32 { return &v }

type fakeErr string

func (e fakeErr) Error() string { return string(e) }

func errFakef(s string) error { return fakeErr(s) }

// A failed pull reads as ECS shows it: Docker's words about the image as
// the task definition names it, never the address berth pulled it from.
func TestPullFailureMessage(t *testing.T) {
	const (
		internal = "127.0.0.1:47001/there:v1"
		defined  = "000000000000.dkr.ecr.us-east-1.amazonaws.com/there:v1"
	)
	tests := []struct {
		name, pulled, defined string
		err                   error
		want                  string
	}{
		{"repository missing", "127.0.0.1:47001/nothere:v1", "000000000000.dkr.ecr.us-east-1.amazonaws.com/nothere:v1",
			&runtime.PullError{Ref: "127.0.0.1:47001/nothere:v1", Message: "Error response from daemon: repository 127.0.0.1:47001/nothere not found: name unknown: The repository with name 'nothere' does not exist in the registry with id '000000000000'"},
			"Error response from daemon: repository 000000000000.dkr.ecr.us-east-1.amazonaws.com/nothere not found: name unknown: The repository with name 'nothere' does not exist in the registry with id '000000000000'"},
		{"tag missing", internal, defined,
			&runtime.PullError{Ref: internal, Message: "Error response from daemon: manifest for 127.0.0.1:47001/there:v1 not found: manifest unknown: Requested image not found"},
			"Error response from daemon: manifest for " + defined + " not found: manifest unknown: Requested image not found"},
		{"access denied", internal, defined,
			&runtime.PullError{Ref: internal, Message: `Error response from daemon: Head "http://127.0.0.1:47001/v2/there/manifests/v1": no basic auth credentials`},
			`Error response from daemon: Head "https://000000000000.dkr.ecr.us-east-1.amazonaws.com/v2/there/manifests/v1": no basic auth credentials`},
		{"pulled as written", "busybox:1", "busybox:1",
			&runtime.PullError{Ref: "busybox:1", Message: "Error response from daemon: pull access denied for busybox"},
			"Error response from daemon: pull access denied for busybox"},
		{"not a pull error", internal, defined, errFakef("context deadline exceeded"), "context deadline exceeded"},
	}
	for _, tc := range tests {
		if got := pullFailureMessage(tc.err, tc.pulled, tc.defined); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}
