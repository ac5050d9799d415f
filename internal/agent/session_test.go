package agent

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/internal/agentproto"
)

// fakeServer accepts agent connections the way berth's hub does and hands
// them to the test.
type fakeServer struct {
	t     *testing.T
	srv   *httptest.Server
	conns chan *agentproto.Conn
}

func newFakeServer(t *testing.T) *fakeServer {
	fs := &fakeServer{t: t, conns: make(chan *agentproto.Conn, 4)}
	fs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != agentproto.Path || r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		c, err := agentproto.Accept(w, r)
		if err != nil {
			t.Errorf("accept: %v", err)
			return
		}
		fs.conns <- c
	}))
	t.Cleanup(fs.srv.Close)
	return fs
}

func (fs *fakeServer) accept() *agentproto.Conn {
	fs.t.Helper()
	select {
	case c := <-fs.conns:
		fs.t.Cleanup(func() { c.Close("test over") })
		return c
	case <-time.After(10 * time.Second):
		fs.t.Fatal("the agent did not connect")
		return nil
	}
}

func recvMsg(t *testing.T, c *agentproto.Conn) agentproto.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := c.Recv(ctx)
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	return m
}

func sendMsg(t *testing.T, c *agentproto.Conn, m agentproto.Message) {
	t.Helper()
	if err := c.Send(context.Background(), m); err != nil {
		t.Fatalf("send: %v", err)
	}
}

// recvStatusUntil reads messages until a report of task says status.
func recvStatusUntil(t *testing.T, c *agentproto.Conn, taskID, status string) agentproto.TaskStatus {
	t.Helper()
	for {
		m := recvMsg(t, c)
		if m.Status == nil {
			t.Fatalf("agent sent a %s message", m.Kind())
		}
		if m.Status.ID == taskID && m.Status.Status.LastStatus == status {
			return m.Status.Status
		}
	}
}

// withID returns dt as another task.
func withID(dt agentproto.DesiredTask, id string) agentproto.DesiredTask {
	dt.ID = id
	dt.ARN = strings.Replace(dt.ARN, testTaskID, id, 1)
	dt.Spec.Containers = append([]agentproto.ContainerSpec(nil), dt.Spec.Containers...)
	for i := range dt.Spec.Containers {
		dt.Spec.Containers[i].ID = id[:8] + dt.Spec.Containers[i].ID[8:]
	}
	return dt
}

// connectAgent starts an agent whose runtime can run dt against a fake
// server, and returns the agent's connection with its first message.
func connectAgent(t *testing.T, dt agentproto.DesiredTask) (*harness, *fakeRuntime, *fakeServer, *agentproto.Conn, agentproto.Message) {
	fr := runnable(dt)
	fs := newFakeServer(t)
	h := newHarness(t, fr, t.TempDir(), fs.srv.URL)
	h.start(h.a.connectLoop)
	conn := fs.accept()
	return h, fr, fs, conn, recvMsg(t, conn)
}

func TestSessionLifecycle(t *testing.T) {
	dt := desiredTask("", cdef("app"))
	h, fr, fs, conn, m := connectAgent(t, dt)
	if m.Hello == nil || m.Hello.Version != agentproto.Version || m.Hello.Node.ID != h.a.NodeID() || m.Hello.Node.Hostname != "node-a" ||
		m.Hello.Node.CPU != 4096 || len(m.Hello.Tasks) != 0 {
		t.Fatalf("hello %+v", m)
	}
	sendMsg(t, conn, agentproto.Message{Welcome: &agentproto.Welcome{Version: agentproto.Version, Region: "us-east-1", AccountID: "123456789012",
		Tasks: []agentproto.DesiredTask{dt}}})
	st := recvStatusUntil(t, conn, testTaskID, "RUNNING")
	if st.Generation != 1 || st.Containers[0].LastStatus != "RUNNING" {
		t.Errorf("running report %+v", st)
	}

	stop := dt
	stop.DesiredStatus, stop.Generation, stop.StopCode, stop.StoppedReason = "STOPPED", 2, "UserInitiated", "Task stopped by user"
	sendMsg(t, conn, agentproto.Message{Task: &stop})
	st = recvStatusUntil(t, conn, testTaskID, "STOPPED")
	if st.Generation != 2 || st.StopCode != "" {
		t.Errorf("stopped report %+v", st)
	}

	// The server goes away; the agent comes back with the whole state.
	conn.Close("server restarting")
	conn = fs.accept()
	m = recvMsg(t, conn)
	if m.Hello == nil || len(m.Hello.Tasks) != 1 || m.Hello.Tasks[0].ID != testTaskID || m.Hello.Tasks[0].Status.LastStatus != "STOPPED" {
		t.Fatalf("hello after reconnect %+v", m)
	}
	// The server no longer knows the task: the agent removes it.
	sendMsg(t, conn, agentproto.Message{Welcome: &agentproto.Welcome{Version: agentproto.Version, Region: "us-east-1"}})
	h.waitUntil("unknown task removed", func() bool {
		h.a.mu.Lock()
		defer h.a.mu.Unlock()
		return h.a.runners[testTaskID] == nil && fr.containerCount() == 0
	})
}

func TestSessionStopsUnknownRunningTask(t *testing.T) {
	dt := desiredTask("", cdef("app"))
	fr := runnable(dt)
	dir := t.TempDir()
	h1 := newHarness(t, fr, dir, "")
	h1.start(nil)
	h1.a.applyDesired(dt, false)
	h1.waitLast(testTaskID, "RUNNING")
	h1.stop()

	fs := newFakeServer(t)
	h2 := newHarness(t, fr, dir, fs.srv.URL)
	h2.start(h2.a.connectLoop)
	conn := fs.accept()
	m := recvMsg(t, conn)
	if m.Hello == nil || len(m.Hello.Tasks) != 1 || m.Hello.Tasks[0].Status.LastStatus != "RUNNING" {
		t.Fatalf("hello %+v", m)
	}
	sendMsg(t, conn, agentproto.Message{Welcome: &agentproto.Welcome{Version: agentproto.Version}})
	// The containers go first, then the task file.
	h2.waitUntil("unknown task stopped and removed, its file too", func() bool {
		_, err := os.Stat(filepath.Join(dir, "tasks", testTaskID+".json"))
		return fr.containerCount() == 0 && os.IsNotExist(err)
	})
	if fr.callCount("stop app 30s") != 1 {
		t.Errorf("the task was not stopped gracefully: %v", fr.callLog())
	}
}

// TestSessionWelcomeAdoptsOrphans: containers without a task file (a lost
// data dir) are adopted when the server names their task and removed when
// it does not.
func TestSessionWelcomeAdoptsOrphans(t *testing.T) {
	dt := desiredTask("", cdef("app"))
	other := withID(dt, "fedcba9876543210fedcba9876543210")
	fr := runnable(dt)
	dir := t.TempDir()
	h1 := newHarness(t, fr, dir, "")
	h1.start(nil)
	h1.a.applyDesired(dt, false)
	h1.a.applyDesired(other, false)
	h1.waitLast(testTaskID, "RUNNING")
	h1.waitLast(other.ID, "RUNNING")
	h1.stop()
	if err := os.RemoveAll(filepath.Join(dir, "tasks")); err != nil {
		t.Fatal(err)
	}
	creates := fr.callCount("create ")

	fs := newFakeServer(t)
	h2 := newHarness(t, fr, dir, fs.srv.URL)
	h2.start(h2.a.connectLoop)
	conn := fs.accept()
	if m := recvMsg(t, conn); m.Hello == nil || len(m.Hello.Tasks) != 0 {
		t.Fatalf("hello %+v (tasks without intent are not reported)", m)
	}
	sendMsg(t, conn, agentproto.Message{Welcome: &agentproto.Welcome{Version: agentproto.Version, Tasks: []agentproto.DesiredTask{dt}}})
	st := recvStatusUntil(t, conn, testTaskID, "RUNNING")
	if st.Containers[0].LastStatus != "RUNNING" {
		t.Errorf("adopted %+v", st)
	}
	h2.waitUntil("the other task removed", func() bool {
		_, ok := fr.byECSName(other.ID, "app")
		return !ok
	})
	if fr.callCount("create ") != creates {
		t.Errorf("adoption created containers: %v", fr.callLog())
	}
	if _, ok := fr.byECSName(testTaskID, "app"); !ok {
		t.Error("the adopted task's container is gone")
	}
}

func TestSessionReconnectsAfterRefusal(t *testing.T) {
	fr := newFakeRuntime()
	fs := newFakeServer(t)
	h := newHarness(t, fr, t.TempDir(), fs.srv.URL)
	h.start(h.a.connectLoop)
	conn := fs.accept()
	recvMsg(t, conn)
	sendMsg(t, conn, agentproto.Message{Error: "protocol version 1 not supported"})
	conn = fs.accept()
	if m := recvMsg(t, conn); m.Hello == nil {
		t.Fatalf("second connection began with %s", m.Kind())
	}
}

// A Welcome naming a protocol version the agent does not speak ends the
// connection with a reason that says what to do, and none of its tasks
// runs.
func TestSessionRefusesWelcomeOfOtherVersion(t *testing.T) {
	dt := desiredTask("", cdef("app"))
	h, fr, _, conn, m := connectAgent(t, dt)
	if m.Hello == nil {
		t.Fatalf("got %s, want hello", m.Kind())
	}
	sendMsg(t, conn, agentproto.Message{Welcome: &agentproto.Welcome{Version: agentproto.MinVersion - 1, Tasks: []agentproto.DesiredTask{dt}}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if m, err := conn.Recv(ctx); err == nil || !strings.Contains(err.Error(), "upgrade the server") {
		t.Fatalf("got %+v, %v; want the connection closed saying to upgrade the server", m, err)
	}
	h.a.mu.Lock()
	runners := len(h.a.runners)
	h.a.mu.Unlock()
	if runners != 0 || fr.containerCount() != 0 {
		t.Fatalf("the agent took the refused welcome's task: %d runners, %d containers", runners, fr.containerCount())
	}
}
