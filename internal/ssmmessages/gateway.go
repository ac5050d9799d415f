// Package ssmmessages is berth's Session Manager message gateway: the data
// channel endpoint the session-manager-plugin opens for `aws ecs
// execute-command`. On AWS a relay sits between the plugin and the SSM
// agent in the container; here it sits between the plugin and berth's
// agent on the task's node. It checks the session's single-use token,
// asks the node's agent to run the command (agentproto.ExecRequest), and
// relays the data channel's binary messages both ways unchanged: the two
// ends number, acknowledge and resend them themselves. It records how the
// session goes (Connected, Disconnected, Terminated) in the session's
// record, keeps the agent's end open for a while when the plugin's
// connection drops so that the plugin can resume, and ends a session the
// SSM API terminated.
package ssmmessages

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/controller"
	"github.com/berth/berth/internal/datachannel"
	"github.com/berth/berth/internal/ssm/ssmstate"
	"github.com/berth/berth/internal/store"
)

// Agents reaches the nodes' agents.
type Agents interface {
	// Exec asks a node's agent to run a session's command.
	Exec(ctx context.Context, nodeID string, req agentproto.ExecRequest) error
}

// Config wires the gateway.
type Config struct {
	Store  store.Store
	Agents Agents
	// AgentToken is the token agents present when they open their end of
	// a session.
	AgentToken string
	Now        func() time.Time
	Logger     *slog.Logger
}

// Timing of a session's connections.
const (
	// openTimeout bounds the wait for the plugin's first frame.
	openTimeout = 10 * time.Second
	// agentTimeout bounds the wait for the agent to open its end.
	agentTimeout = 20 * time.Second
	// ResumeWindow is how long a session whose plugin connection dropped
	// waits for the plugin to resume it (the plugin retries for about
	// half a minute) before it ends the command.
	ResumeWindow = time.Minute
	// writeTimeout bounds one frame's write to either end.
	writeTimeout = 30 * time.Second
	// sweepInterval is how often sessions no client ever opened are ended
	// once their token expired.
	sweepInterval = 30 * time.Second
)

// Gateway serves the data channels of sessions.
type Gateway struct {
	cfg Config
	now func() time.Time
	log *slog.Logger
	// created is when this server's gateway was made: a session started
	// before it belongs to an earlier run of the server.
	created time.Time
	mu      sync.Mutex
	live    map[string]*live // by session id
}

// New returns the gateway. Mount ClientHandler at
// ssmstate.DataChannelPath, AgentHandler at agentproto.ExecPath, and run
// Run beside them.
func New(cfg Config) *Gateway {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	now := cfg.Now
	return &Gateway{cfg: cfg, now: func() time.Time { return now().UTC() }, log: cfg.Logger.With("component", "ssmmessages"),
		live: map[string]*live{}, created: now().UTC()}
}

// live is a session whose data channel is open.
type live struct {
	region, id string

	agentReady chan struct{} // closed once the agent's end is open
	agentOnce  sync.Once

	mu        sync.Mutex
	agent     *websocket.Conn
	client    *websocket.Conn
	clientGen int
	ended     bool
	done      chan struct{}
}

func (l *live) currentClient() *websocket.Conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.client
}

// ClientHandler serves the plugins' data channels.
func (g *Gateway) ClientHandler() http.Handler { return http.HandlerFunc(g.serveClient) }

// AgentHandler serves the agents' ends of sessions.
func (g *Gateway) AgentHandler() http.Handler { return http.HandlerFunc(g.serveAgent) }

func (g *Gateway) serveClient(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, ssmstate.DataChannelPath)
	region := r.URL.Query().Get("region")
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	ws.SetReadLimit(agentproto.ReadLimit)
	ctx := r.Context()
	sess, err := g.open(ctx, ws, region, id)
	if err != nil {
		g.log.Warn("data channel refused", "session", id, "remote", r.RemoteAddr, "reason", err.Error())
		ws.Close(websocket.StatusPolicyViolation, "session token refused")
		return
	}
	l, fresh := g.attach(region, id, ws)
	if fresh {
		go g.start(context.WithoutCancel(ctx), l, sess)
	}
	g.pumpClient(ctx, l, ws)
}

// open reads the plugin's OpenDataChannel request and takes the session's
// token.
func (g *Gateway) open(ctx context.Context, ws *websocket.Conn, region, id string) (ssmstate.Session, error) {
	octx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	typ, b, err := ws.Read(octx)
	if err != nil {
		return ssmstate.Session{}, fmt.Errorf("no open request: %w", err)
	}
	var req datachannel.OpenDataChannel
	if typ != websocket.MessageText || json.Unmarshal(b, &req) != nil {
		return ssmstate.Session{}, errors.New("the first frame is not an open request")
	}
	if region == "" || id == "" {
		return ssmstate.Session{}, errors.New("the URL names no session")
	}
	return store.Update(ctx, g.cfg.Store, ssmstate.SessionKey(region, id), func(s *ssmstate.Session, found bool) error {
		switch {
		case !found:
			return errors.New("no such session")
		case s.Ended():
			return errors.New("the session has ended")
		case !s.TakeToken(req.TokenValue, g.now()):
			return errors.New("wrong, used or expired token")
		}
		s.Status = ssmstate.SessionConnected
		return nil
	})
}

// attach makes ws the session's client connection, replacing one that
// dropped; fresh says the session was not open before.
func (g *Gateway) attach(region, id string, ws *websocket.Conn) (*live, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	l, ok := g.live[id]
	if !ok {
		l = &live{region: region, id: id, agentReady: make(chan struct{}), done: make(chan struct{})}
		g.live[id] = l
	}
	l.mu.Lock()
	if old := l.client; old != nil {
		// A closing handshake waits for the peer: not under the locks.
		go old.Close(websocket.StatusGoingAway, "replaced by a resumed connection")
	}
	l.client = ws
	l.clientGen++
	l.mu.Unlock()
	return l, !ok
}

// start asks the task's agent to run the command and waits for its end of
// the channel.
func (g *Gateway) start(ctx context.Context, l *live, sess ssmstate.Session) {
	g.log.Info("session started", "session", sess.ID, "owner", sess.Owner, "task", sess.TaskARN,
		"container", sess.ContainerName, "command", sess.Command)
	req := agentproto.ExecRequest{
		SessionID: sess.ID, TaskARN: sess.TaskARN, Cluster: sess.Cluster, TaskID: sess.TaskID, Container: sess.ContainerName,
		RuntimeID: sess.RuntimeID, Command: sess.Command, Interactive: sess.Interactive,
	}
	if sess.Log != nil {
		req.Log = &agentproto.LogStreamRef{Region: sess.Log.Region, Group: sess.Log.Group, Stream: sess.Log.Stream}
	}
	sctx, cancel := context.WithTimeout(ctx, agentTimeout)
	defer cancel()
	if err := g.cfg.Agents.Exec(sctx, sess.NodeID, req); err != nil {
		g.end(ctx, l, ssmstate.SessionFailed, "the task's agent could not be asked to run the command: "+err.Error(), true)
		return
	}
	select {
	case <-l.agentReady:
	case <-l.done:
	case <-sctx.Done():
		g.end(ctx, l, ssmstate.SessionFailed, "the task's agent did not open the session", true)
	}
}

// pumpClient relays the plugin's frames to the agent until the plugin's
// connection ends.
func (g *Gateway) pumpClient(ctx context.Context, l *live, ws *websocket.Conn) {
	for {
		typ, b, err := ws.Read(ctx)
		if err != nil {
			g.clientGone(l, ws)
			return
		}
		if typ != websocket.MessageBinary {
			continue // keep-alives
		}
		select {
		case <-l.agentReady:
		case <-l.done:
			return
		case <-ctx.Done():
			g.clientGone(l, ws)
			return
		}
		l.mu.Lock()
		agent := l.agent
		l.mu.Unlock()
		wctx, cancel := context.WithTimeout(ctx, writeTimeout)
		err = agent.Write(wctx, websocket.MessageBinary, b)
		cancel()
		if err != nil {
			return // the agent's side ends the session
		}
	}
}

// clientGone notes that the plugin's connection ws dropped: unless it
// resumes within ResumeWindow, the session ends.
func (g *Gateway) clientGone(l *live, ws *websocket.Conn) {
	l.mu.Lock()
	if l.ended || l.client != ws {
		l.mu.Unlock()
		return
	}
	l.client = nil
	gen := l.clientGen
	l.mu.Unlock()
	ctx := context.Background()
	store.Update(ctx, g.cfg.Store, ssmstate.SessionKey(l.region, l.id), func(s *ssmstate.Session, found bool) error {
		if !found || s.Ended() {
			return store.ErrUnchanged
		}
		s.Status = ssmstate.SessionDisconnected
		return nil
	})
	time.AfterFunc(ResumeWindow, func() {
		l.mu.Lock()
		resumed := l.clientGen != gen
		l.mu.Unlock()
		if !resumed {
			g.end(ctx, l, ssmstate.SessionTerminated, "the client did not reconnect", true)
		}
	})
}

func (g *Gateway) serveAgent(w http.ResponseWriter, r *http.Request) {
	if !agentproto.Authorized(r, g.cfg.AgentToken) {
		http.Error(w, "agent token refused", http.StatusUnauthorized)
		return
	}
	id := strings.TrimPrefix(r.URL.Path, agentproto.ExecPath)
	g.mu.Lock()
	l := g.live[id]
	g.mu.Unlock()
	if l == nil {
		http.Error(w, "no such open session", http.StatusNotFound)
		return
	}
	first := false
	l.agentOnce.Do(func() { first = true })
	if !first {
		http.Error(w, "the session's agent end is already open", http.StatusConflict)
		return
	}
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	ws.SetReadLimit(agentproto.ReadLimit)
	l.mu.Lock()
	l.agent = ws
	l.mu.Unlock()
	close(l.agentReady)
	g.pumpAgent(r.Context(), l, ws)
}

// pumpAgent relays the agent's frames to the plugin; the agent's
// channel_closed ends the session.
func (g *Gateway) pumpAgent(ctx context.Context, l *live, ws *websocket.Conn) {
	for {
		typ, b, err := ws.Read(ctx)
		if err != nil {
			g.end(context.WithoutCancel(ctx), l, ssmstate.SessionTerminated, "the task's agent ended the session", true)
			return
		}
		if typ != websocket.MessageBinary {
			continue
		}
		msgType, _ := datachannel.PeekType(b)
		closing := msgType == datachannel.ChannelClosed
		if client := l.currentClient(); client != nil {
			// A frame the plugin misses while it reconnects is resent by
			// the agent, unless it is channel_closed: then the resumed
			// plugin learns from ResumeSession that the session ended.
			wctx, cancel := context.WithTimeout(ctx, writeTimeout)
			client.Write(wctx, websocket.MessageBinary, b)
			cancel()
		}
		if closing {
			var content datachannel.ChannelClosedContent
			if m, err := datachannel.Parse(b); err == nil {
				json.Unmarshal(m.Payload, &content)
			}
			reason := content.Output
			if content.ExitCode != nil && reason == "" {
				reason = fmt.Sprintf("the command exited with status %d", *content.ExitCode)
			}
			g.end(context.WithoutCancel(ctx), l, ssmstate.SessionTerminated, reason, false)
			return
		}
	}
}

// end ends a live session: it records status and reason, tells the
// plugin (unless the agent did) and closes both ends.
func (g *Gateway) end(ctx context.Context, l *live, status, reason string, tellClient bool) {
	l.mu.Lock()
	if l.ended {
		l.mu.Unlock()
		return
	}
	l.ended = true
	client, agent := l.client, l.agent
	l.mu.Unlock()
	close(l.done)
	g.mu.Lock()
	delete(g.live, l.id)
	g.mu.Unlock()

	g.record(ctx, l.region, l.id, status, reason, func(ssmstate.Session) bool { return true })
	g.log.Info("session ended", "session", l.id, "status", status, "reason", reason)
	if client != nil && tellClient {
		g.sendClosed(ctx, client, l.id, reason)
	}
	// A closing handshake waits for the peer's answer: not here.
	for _, ws := range []*websocket.Conn{client, agent} {
		if ws != nil {
			go ws.Close(websocket.StatusNormalClosure, "session ended")
		}
	}
}

// sendClosed tells a plugin its session ended, as the relay on AWS does
// when the agent cannot.
func (g *Gateway) sendClosed(ctx context.Context, ws *websocket.Conn, id, reason string) {
	m := datachannel.ClosedMessage(datachannel.ChannelClosedContent{SessionID: id, Output: reason}, g.now())
	wire, err := m.Marshal()
	if err != nil {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	ws.Write(wctx, websocket.MessageBinary, wire)
}

// record ends a session's record with status and reason, if it has not
// ended and still is what stale says.
func (g *Gateway) record(ctx context.Context, region, id, status, reason string, stale func(ssmstate.Session) bool) {
	now := g.now()
	store.Update(ctx, g.cfg.Store, ssmstate.SessionKey(region, id), func(s *ssmstate.Session, found bool) error {
		if !found || !stale(*s) || !s.End(status, reason, now) {
			return store.ErrUnchanged
		}
		return nil
	})
}

// Run ends open sessions the SSM API terminated, and sessions no client
// opened before their token expired; at start it ends the sessions a
// previous run of the server left open, whose connections died with it.
// Sessions started since the gateway was made are this run's, even if
// ExecuteCommand made them before Run began.
func (g *Gateway) Run(ctx context.Context) error {
	g.endUnopened(ctx, "berth restarted while the session was open", func(s ssmstate.Session) bool {
		return s.StartDate.Before(g.created)
	})
	go func() {
		tick := time.NewTicker(sweepInterval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			g.endExpired(ctx)
		}
	}()
	controller.Follow(ctx, g.log, "sessions", g.followTerminations)
	return nil
}

// endExpired ends the sessions no client opened before their token
// expired.
func (g *Gateway) endExpired(ctx context.Context) {
	now := g.now()
	g.endUnopened(ctx, "no client opened the session", func(s ssmstate.Session) bool {
		return s.Status == ssmstate.SessionConnecting && !s.TokenExpires.After(now)
	})
}

// endUnopened ends the sessions that have not ended, are not open here
// and are stale.
func (g *Gateway) endUnopened(ctx context.Context, reason string, stale func(ssmstate.Session) bool) {
	var ending []ssmstate.Session
	_, err := g.cfg.Store.Range(ctx, ssmstate.SessionPrefix, func(kv store.KV) error {
		var s ssmstate.Session
		if json.Unmarshal(kv.Value, &s) == nil && !s.Ended() && stale(s) && !g.isOpen(s.ID) {
			ending = append(ending, s)
		}
		return nil
	})
	if err != nil {
		g.log.Error("reading the sessions failed", "err", err)
		return
	}
	for _, s := range ending {
		g.record(ctx, s.Region, s.ID, ssmstate.SessionTerminated, reason, stale)
	}
}

func (g *Gateway) isOpen(id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.live[id] != nil
}

// followTerminations ends the open sessions whose records say they ended:
// those it finds so as it starts (ended while it did not follow), then
// each as it changes.
func (g *Gateway) followTerminations(ctx context.Context) error {
	endIfEnded := func(value []byte) {
		var s ssmstate.Session
		if json.Unmarshal(value, &s) != nil || !s.Ended() {
			return
		}
		g.mu.Lock()
		l := g.live[s.ID]
		g.mu.Unlock()
		if l != nil {
			g.end(ctx, l, s.Status, s.Reason, true)
		}
	}
	rev, err := g.cfg.Store.Range(ctx, ssmstate.SessionPrefix, func(kv store.KV) error {
		endIfEnded(kv.Value)
		return nil
	})
	if err != nil {
		return err
	}
	events, err := g.cfg.Store.Watch(ctx, ssmstate.SessionPrefix, rev)
	if err != nil {
		return err
	}
	for ev := range events {
		if ev.Type != store.EventDelete {
			endIfEnded(ev.KV.Value)
		}
	}
	return ctx.Err()
}
