package ssmmessages

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/datachannel"
	"github.com/berth/berth/internal/ssm/ssmstate"
	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/store/bolt"
)

const testToken = "agent-token"

// fakeAgents opens the agent's end of each session it is asked to run,
// and keeps it for the test.
type fakeAgents struct {
	t      *testing.T
	url    string
	refuse error
	mu     sync.Mutex
	ends   map[string]*websocket.Conn
	asked  chan string
}

func (f *fakeAgents) Exec(ctx context.Context, nodeID string, req agentproto.ExecRequest) error {
	if f.refuse != nil {
		return f.refuse
	}
	ws, err := agentproto.DialExec(ctx, f.url, testToken, req.SessionID)
	if err != nil {
		f.t.Errorf("agent dial: %v", err)
		return err
	}
	f.mu.Lock()
	f.ends[req.SessionID] = ws
	f.mu.Unlock()
	f.asked <- req.SessionID
	return nil
}

func (f *fakeAgents) end(t *testing.T, id string) *websocket.Conn {
	t.Helper()
	select {
	case got := <-f.asked:
		if got != id {
			t.Fatalf("agent asked to run %s, want %s", got, id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the agent was not asked to run the session")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ends[id]
}

type env struct {
	st     store.Store
	gw     *Gateway
	srv    *httptest.Server
	agents *fakeAgents
	now    time.Time
	mu     sync.Mutex
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{MaxBatchDelay: time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{st: st, now: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	e.agents = &fakeAgents{t: t, ends: map[string]*websocket.Conn{}, asked: make(chan string, 4)}
	e.gw = New(Config{Store: st, Agents: e.agents, AgentToken: testToken, Now: e.clock})
	mux := http.NewServeMux()
	mux.Handle("GET "+ssmstate.DataChannelPath, e.gw.ClientHandler())
	mux.Handle("GET "+agentproto.ExecPath, e.gw.AgentHandler())
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	e.agents.url = e.srv.URL
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go e.gw.Run(ctx)
	return e
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

// session stores a new Connecting session and returns it with its token.
func (e *env) session(t *testing.T, id string) (ssmstate.Session, string) {
	t.Helper()
	s := ssmstate.Session{Region: "us-east-1", ID: id, Status: ssmstate.SessionConnecting, StartDate: e.clock(),
		TaskARN: "arn:aws:ecs:us-east-1:123456789012:task/prod/0123456789abcdef0123456789abcdef", NodeID: "node", Command: "/bin/sh", Interactive: true}
	token := s.IssueToken(e.clock())
	op, err := store.PutJSON(ssmstate.SessionKey(s.Region, id), s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.Txn(context.Background(), store.Txn{Then: []store.Op{op}}); err != nil {
		t.Fatal(err)
	}
	return s, token
}

func (e *env) record(t *testing.T, id string) ssmstate.Session {
	t.Helper()
	v, err := store.Get[ssmstate.Session](context.Background(), e.st, ssmstate.SessionKey("us-east-1", id))
	if err != nil {
		t.Fatal(err)
	}
	return v.Value
}

func (e *env) waitStatus(t *testing.T, id, status string) ssmstate.Session {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := e.record(t, id)
		if s.Status == status {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %s is %s, want %s", id, s.Status, status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// open dials the session's data channel as the plugin does and sends the
// open request with token.
func (e *env) open(t *testing.T, id, token string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	url := ssmstate.StreamURL(e.srv.URL, "us-east-1", id)
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	open, _ := json.Marshal(datachannel.OpenDataChannel{MessageSchemaVersion: "1.0", RequestID: "r", TokenValue: token, ClientID: "c", ClientVersion: "1.3.0.0"})
	if err := ws.Write(ctx, websocket.MessageText, open); err != nil {
		t.Fatal(err)
	}
	return ws
}

func frame(t *testing.T, typ string, seq int64, payload string) []byte {
	t.Helper()
	b, err := datachannel.Message{Type: typ, SchemaVersion: 1, CreatedDate: time.Now(), SequenceNumber: seq, Payload: []byte(payload)}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func read(t *testing.T, ws *websocket.Conn) (datachannel.Message, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		typ, b, err := ws.Read(ctx)
		if err != nil {
			return datachannel.Message{}, err
		}
		if typ == websocket.MessageBinary {
			return datachannel.Parse(b)
		}
	}
}

func write(t *testing.T, ws *websocket.Conn, b []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ws.Write(ctx, websocket.MessageBinary, b); err != nil {
		t.Fatal(err)
	}
}

func TestRelayBothWaysUntilTheAgentCloses(t *testing.T) {
	e := newEnv(t)
	_, token := e.session(t, "s1")
	client := e.open(t, "s1", token)
	agent := e.agents.end(t, "s1")
	e.waitStatus(t, "s1", ssmstate.SessionConnected)

	write(t, agent, frame(t, datachannel.OutputStreamData, 0, "hello"))
	if m, err := read(t, client); err != nil || string(m.Payload) != "hello" {
		t.Fatalf("client got %+v, %v", m, err)
	}
	write(t, client, frame(t, datachannel.InputStreamData, 0, "ls\r"))
	if m, err := read(t, agent); err != nil || string(m.Payload) != "ls\r" {
		t.Fatalf("agent got %+v, %v", m, err)
	}
	code := 3
	closed := datachannel.ClosedMessage(datachannel.ChannelClosedContent{SessionID: "s1", ExitCode: &code}, time.Now())
	wire, _ := closed.Marshal()
	write(t, agent, wire)
	if m, err := read(t, client); err != nil || m.Type != datachannel.ChannelClosed {
		t.Fatalf("client got %+v, %v; want channel_closed", m, err)
	}
	s := e.waitStatus(t, "s1", ssmstate.SessionTerminated)
	if s.EndDate.IsZero() || !strings.Contains(s.Reason, "status 3") {
		t.Errorf("ended session %+v", s)
	}
}

func TestTokensAreSingleUseAndShortLived(t *testing.T) {
	e := newEnv(t)
	_, token := e.session(t, "s1")
	refused := func(ws *websocket.Conn) {
		t.Helper()
		if _, err := read(t, ws); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
			t.Fatalf("connection not refused: %v", err)
		}
	}
	refused(e.open(t, "s1", "not-the-token"))
	if s := e.record(t, "s1"); s.Status != ssmstate.SessionConnecting || s.TokenHash == "" {
		t.Fatalf("a refused open changed the session: %+v", s)
	}
	e.open(t, "s1", token)
	e.agents.end(t, "s1")
	refused(e.open(t, "s1", token)) // used

	_, late := e.session(t, "s2")
	e.advance(ssmstate.TokenLifetime + time.Second)
	refused(e.open(t, "s2", late))
}

func TestResumeAfterTheClientDrops(t *testing.T) {
	e := newEnv(t)
	_, token := e.session(t, "s1")
	first := e.open(t, "s1", token)
	agent := e.agents.end(t, "s1")
	e.waitStatus(t, "s1", ssmstate.SessionConnected)
	first.CloseNow()
	e.waitStatus(t, "s1", ssmstate.SessionDisconnected)

	// ResumeSession gives the session a new token; the plugin opens the
	// channel again and reaches the same command.
	var again string
	store.Update(context.Background(), e.st, ssmstate.SessionKey("us-east-1", "s1"), func(s *ssmstate.Session, _ bool) error {
		again = s.IssueToken(e.clock())
		return nil
	})
	second := e.open(t, "s1", again)
	e.waitStatus(t, "s1", ssmstate.SessionConnected)
	write(t, agent, frame(t, datachannel.OutputStreamData, 1, "still here"))
	if m, err := read(t, second); err != nil || string(m.Payload) != "still here" {
		t.Fatalf("resumed client got %+v, %v", m, err)
	}
	select {
	case id := <-e.agents.asked:
		t.Fatalf("the agent was asked to run %s again", id)
	default:
	}
}

func TestTerminateSessionEndsTheOpenSession(t *testing.T) {
	e := newEnv(t)
	_, token := e.session(t, "s1")
	client := e.open(t, "s1", token)
	agent := e.agents.end(t, "s1")
	e.waitStatus(t, "s1", ssmstate.SessionConnected)
	// As the SSM API's TerminateSession does.
	store.Update(context.Background(), e.st, ssmstate.SessionKey("us-east-1", "s1"), func(s *ssmstate.Session, _ bool) error {
		s.Status, s.EndDate = ssmstate.SessionTerminated, e.clock()
		return nil
	})
	if m, err := read(t, client); err != nil || m.Type != datachannel.ChannelClosed {
		t.Fatalf("client got %+v, %v; want channel_closed", m, err)
	}
	if _, err := read(t, agent); err == nil {
		t.Fatal("the agent's end is still open")
	}
}

func TestAgentUnreachable(t *testing.T) {
	e := newEnv(t)
	e.agents.refuse = errors.New("node node is not connected")
	_, token := e.session(t, "s1")
	client := e.open(t, "s1", token)
	m, err := read(t, client)
	if err != nil || m.Type != datachannel.ChannelClosed {
		t.Fatalf("client got %+v, %v; want channel_closed", m, err)
	}
	var content datachannel.ChannelClosedContent
	json.Unmarshal(m.Payload, &content)
	if !strings.Contains(content.Output, "not connected") {
		t.Errorf("channel_closed says %q", content.Output)
	}
	if s := e.waitStatus(t, "s1", ssmstate.SessionFailed); s.Reason == "" {
		t.Errorf("failed session without a reason: %+v", s)
	}
}

func TestSessionsOfAPreviousRunEnd(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{MaxBatchDelay: time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e := &env{st: st, now: time.Now().UTC()}
	e.session(t, "left-open")
	gw := New(Config{Store: st, Agents: &fakeAgents{t: t}, AgentToken: testToken})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go gw.Run(ctx)
	if s := e.waitStatus(t, "left-open", ssmstate.SessionTerminated); !strings.Contains(s.Reason, "restarted") {
		t.Errorf("reason %q", s.Reason)
	}
}

func TestSessionsNeverOpenedEnd(t *testing.T) {
	e := newEnv(t)
	e.session(t, "unopened")
	_, token := e.session(t, "opened")
	e.open(t, "opened", token)
	e.agents.end(t, "opened")
	e.waitStatus(t, "opened", ssmstate.SessionConnected)
	e.gw.endExpired(context.Background())
	if s := e.record(t, "unopened"); s.Status != ssmstate.SessionConnecting {
		t.Fatalf("a session ended before its token expired: %+v", s)
	}
	e.advance(ssmstate.TokenLifetime)
	e.gw.endExpired(context.Background())
	if s := e.record(t, "unopened"); s.Status != ssmstate.SessionTerminated || s.Reason != "no client opened the session" {
		t.Errorf("expired unopened session %+v", s)
	}
	if s := e.record(t, "opened"); s.Status != ssmstate.SessionConnected {
		t.Errorf("the open session ended: %+v", s)
	}
}

// A server that starts again ends the sessions its previous run left
// open, whose connections died with it, and only those: a session
// ExecuteCommand made since the gateway was made is this run's.
func TestRestartEndsOnlyEarlierSessions(t *testing.T) {
	e := newEnv(t)
	e.session(t, "earlier")
	// Less than a token's lifetime: no sweep of expired tokens ends it.
	e.advance(30 * time.Second)
	restarted := New(Config{Store: e.st, Agents: e.agents, AgentToken: testToken, Now: e.clock})
	e.session(t, "since")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go restarted.Run(ctx)
	if s := e.waitStatus(t, "earlier", ssmstate.SessionTerminated); s.Reason != "berth restarted while the session was open" {
		t.Errorf("the earlier run's session: %+v", s)
	}
	time.Sleep(50 * time.Millisecond)
	if s := e.record(t, "since"); s.Status != ssmstate.SessionConnecting {
		t.Errorf("a session of this run ended: %+v", s)
	}
}
