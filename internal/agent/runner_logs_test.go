package agent

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/berth/berth/internal/agentproto"
)

// logHarness is a harness whose agent ships to a fake sink, on a clock a
// test can move ahead.
func logHarness(t *testing.T, fr *fakeRuntime, dir string, sink *fakeSink) (*harness, *atomic.Int64) {
	h := newHarness(t, fr, dir, "")
	h.a.sink = sink
	skew := new(atomic.Int64)
	h.a.now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	return h, skew
}

func (h *harness) runtimeID(name string) string {
	h.t.Helper()
	c, ok := h.fr.byECSName(testTaskID, name)
	if !ok {
		h.t.Fatalf("no container %s", name)
	}
	return c.ID
}

func (h *harness) forgotten() bool {
	h.a.mu.Lock()
	defer h.a.mu.Unlock()
	return h.a.runners[testTaskID] == nil
}

// TestRunnerShipsAwslogs: an awslogs container's stream is made before it
// starts; its output is shipped while it runs; the task is STOPPED only
// once every line is stored.
func TestRunnerShipsAwslogs(t *testing.T) {
	dt := desiredTask("", cdef("app", awslogs()), cdef("side", essential(false)))
	fr := runnable(dt)
	sink := newFakeSink("g")
	h, _ := logHarness(t, fr, t.TempDir(), sink)
	h.start(nil)
	h.a.applyDesired(dt, false)
	h.waitLast(testTaskID, "RUNNING")
	app := h.runtimeID("app")
	ref := agentproto.LogStreamRef{Region: "us-east-1", Group: "g", Stream: "web/app/" + testTaskID}
	sink.mu.Lock()
	prepared := sink.prepared[0]
	sink.mu.Unlock()
	if prepared.LogStreamRef != ref || prepared.Producer != app || prepared.CreateGroup {
		t.Errorf("prepared %+v", prepared)
	}
	calls := strings.Join(fr.callLog(), "\n")
	if !strings.Contains(calls, "create app\nstart app") {
		t.Errorf("calls %v", fr.callLog())
	}

	fr.writeLog(app, "hello", "world")
	sink.waitMessages(t, ref, 2)
	fr.writeLog(app, numbered(1, 20000)...)
	fr.exit(app, 0, false)
	h.waitLast(testTaskID, "STOPPED")
	if got := sink.messages(ref); len(got) != 20002 || got[20001] != "line 20000" {
		t.Fatalf("STOPPED with %d of 20002 events stored", len(got))
	}
	if n := testutil.ToFloat64(h.a.metrics.logEvents); n != 20002 {
		t.Errorf("events metric %v", n)
	}
	if n := testutil.ToFloat64(h.a.metrics.logBytes); n != float64(len("hello")+len("world")+len(strings.Join(numbered(1, 20000), ""))) {
		t.Errorf("bytes metric %v", n)
	}

	// Forgotten, the drained containers are removed at once.
	h.a.applyForget(agentproto.TaskRef{Cluster: "default", ID: testTaskID})
	h.waitUntil("task forgotten", h.forgotten)
	if got := sink.messages(ref); len(got) != 20002 {
		t.Errorf("%d events after removal", len(got))
	}
}

func TestRunnerAwslogsStreamRefused(t *testing.T) {
	for _, tc := range []struct {
		name, prefix, want string
	}{
		{"missing group", "web", missingLogGroupReason},
		{"invalid name", "we:b", "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: " +
			"failed to create Cloudwatch log stream: InvalidParameterException: 1 validation error detected : exit status 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dt := desiredTask("", cdef("app", awslogs("awslogs-stream-prefix", tc.prefix)))
			fr := runnable(dt)
			sink := newFakeSink()
			if tc.name != "missing group" {
				sink = newFakeSink("g")
			}
			h, _ := logHarness(t, fr, t.TempDir(), sink)
			h.start(nil)
			h.a.applyDesired(dt, false)
			st := h.waitLast(testTaskID, "STOPPED")
			if st.StopCode != "TaskFailedToStart" || st.StoppedReason != tc.want || st.Containers[0].Reason != tc.want {
				t.Errorf("status %q %q %q", st.StopCode, st.StoppedReason, st.Containers[0].Reason)
			}
			if n := fr.callCount("start app"); n != 0 {
				t.Errorf("started %d times", n)
			}
		})
	}
}

// TestRunnerAwslogsServerAway: the stream waits for the server (the task
// with it), and the group is created when the definition says so.
func TestRunnerAwslogsServerAway(t *testing.T) {
	dt := desiredTask("", cdef("app", awslogs("awslogs-create-group", "true")))
	fr := runnable(dt)
	sink := newFakeSink()
	sink.setDown(errSinkDown)
	h, _ := logHarness(t, fr, t.TempDir(), sink)
	h.start(nil)
	h.a.applyDesired(dt, false)
	h.waitUntil("app created", func() bool { return fr.callCount("create app") == 1 })
	time.Sleep(300 * time.Millisecond)
	if st := h.lastOf(testTaskID); st.LastStatus != "ACTIVATING" || fr.callCount("start app") != 0 {
		t.Fatalf("started without its stream: %s %v", st.LastStatus, fr.callLog())
	}
	sink.setDown(nil)
	h.waitLast(testTaskID, "RUNNING")
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if !sink.groups["us-east-1|g"] {
		t.Error("group not created")
	}
}

// TestRunnerAwslogsDrainBounds: with the server away, STOPPED is reported
// 30 s after the exit, the containers stay for shipping, and shipping
// resumes when the server is back; after 10 minutes of failing they are
// removed anyway.
func TestRunnerAwslogsDrainBounds(t *testing.T) {
	for _, giveUp := range []bool{false, true} {
		name := "server back"
		if giveUp {
			name = "server gone"
		}
		t.Run(name, func(t *testing.T) {
			dt := desiredTask("", cdef("app", awslogs()))
			fr := runnable(dt)
			sink := newFakeSink("g")
			h, skew := logHarness(t, fr, t.TempDir(), sink)
			h.start(nil)
			h.a.applyDesired(dt, false)
			h.waitLast(testTaskID, "RUNNING")
			app := h.runtimeID("app")
			sink.setDown(errSinkDown)
			fr.writeLog(app, numbered(1, 10)...)
			fr.exit(app, 1, false)
			h.waitLast(testTaskID, "DEPROVISIONING")
			time.Sleep(200 * time.Millisecond)
			if st := h.lastOf(testTaskID); st.LastStatus != "DEPROVISIONING" {
				t.Fatalf("status %s before the wait ended", st.LastStatus)
			}
			skew.Add(int64(drainReportWait))
			h.a.pokeAll()
			h.waitLast(testTaskID, "STOPPED")

			h.a.applyForget(agentproto.TaskRef{Cluster: "default", ID: testTaskID})
			time.Sleep(200 * time.Millisecond)
			if _, ok := fr.byECSName(testTaskID, "app"); !ok {
				t.Fatal("removed while shipping")
			}
			ref := agentproto.LogStreamRef{Region: "us-east-1", Group: "g", Stream: "web/app/" + testTaskID}
			if giveUp {
				skew.Add(int64(drainGiveUp))
				h.a.pokeAll()
				h.waitUntil("task forgotten", h.forgotten)
				if n := len(sink.messages(ref)); n != 0 {
					t.Errorf("%d events stored", n)
				}
				return
			}
			sink.setDown(nil)
			h.waitUntil("task forgotten", h.forgotten)
			if got := sink.messages(ref); strings.Join(got, "|") != strings.Join(numbered(1, 10), "|") {
				t.Errorf("stored %q", got)
			}
		})
	}
}

// TestRunnerAwslogsResumesAfterRestart: a new agent ships on from where
// the server's stream stands: nothing lost, nothing twice.
func TestRunnerAwslogsResumesAfterRestart(t *testing.T) {
	dt := desiredTask("", cdef("app", awslogs()))
	fr := runnable(dt)
	sink := newFakeSink("g")
	dir := t.TempDir()
	h1, _ := logHarness(t, fr, dir, sink)
	h1.start(nil)
	h1.a.applyDesired(dt, false)
	h1.waitLast(testTaskID, "RUNNING")
	app := h1.runtimeID("app")
	ref := agentproto.LogStreamRef{Region: "us-east-1", Group: "g", Stream: "web/app/" + testTaskID}
	fr.writeLog(app, numbered(1, 5)...)
	sink.waitMessages(t, ref, 5)
	sink.setDown(errSinkDown)
	fr.writeLog(app, numbered(6, 10)...)
	time.Sleep(100 * time.Millisecond)
	h1.stop()

	fr.writeLog(app, numbered(11, 15)...)
	sink.setDown(nil)
	h2, _ := logHarness(t, fr, dir, sink)
	h2.start(nil)
	h2.waitLast(testTaskID, "RUNNING")
	sink.waitMessages(t, ref, 15)
	fr.exit(app, 0, false)
	h2.waitLast(testTaskID, "STOPPED")
	if got := sink.messages(ref); strings.Join(got, "|") != strings.Join(numbered(1, 15), "|") {
		t.Errorf("stored %q", got)
	}
}
