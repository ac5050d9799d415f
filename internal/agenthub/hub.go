// Package agenthub is the server side of the agent protocol. It accepts agent
// connections, keeps the node records, writes what agents report into the
// Observed part of task records, streams each node's desired tasks to its
// agent, and purges stopped tasks once their retention is over. The ECS API
// writes intent (task specs, desired status, stop requests); the hub never
// touches it except to record a stop an agent decided on its own.
package agenthub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/registry"
	"github.com/berth/berth/internal/store"
)

// Config wires the hub.
type Config struct {
	Store     store.Store
	AccountID string
	// Region is the server's default region, which the agents' Welcome
	// names; each task's ARNs name the task's own.
	Region string
	// RegistryHost is the host berth's registry is advertised at
	// (repositoryUri host, e.g. "localhost:4566").
	RegistryHost string
	// Tokens issues registry passwords for image pulls. Nil: berth images
	// are sent without credentials.
	Tokens *registry.Tokens
	// Sessions, if set, issues tasks' role credentials: a task with an
	// execution role pulls berth's images as that role, and its agent may
	// ask for its roles' credentials (CredentialsHandler). Nil (IAM not
	// enforced): every pull is the container instance's.
	Sessions RoleSessions
	// InstanceAccessKeyID is the access key a task without an execution
	// role pulls as: the container instance's identity, which may pull
	// every image, as an instance role with ECS's managed policy may.
	InstanceAccessKeyID string
	// AgentToken is the shared secret agents present as
	// "Authorization: Bearer <token>". Empty refuses every agent.
	AgentToken string
	// StoppedTaskRetention: STOPPED tasks are purged this long after they
	// stopped (default 1 h, as ECS).
	StoppedTaskRetention time.Duration
	// Now is the clock (nil: time.Now).
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// DefaultStoppedTaskRetention is how long ECS keeps stopped tasks visible.
const DefaultStoppedTaskRetention = time.Hour

const (
	// helloTimeout bounds the wait for an agent's first message.
	helloTimeout = 30 * time.Second
	// writeTimeout bounds one message write; a Welcome can be large.
	writeTimeout = time.Minute
	// storeTimeout bounds store writes made on the way out of a session,
	// when the session's own context is already over.
	storeTimeout = 10 * time.Second
	// defaultPurgeInterval is how often Run purges stopped tasks.
	defaultPurgeInterval = time.Minute
)

// nodeID is the form of node ids (and task ids): 32 lowercase hex digits.
var nodeID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// Why sessions end, besides their connection failing.
var (
	errReplaced = errors.New("replaced by a newer connection of the same node")
	errShutdown = errors.New("server shutting down")
)

// Hub is the agent protocol server.
type Hub struct {
	cfg           Config
	now           func() time.Time
	log           *slog.Logger
	metrics       *metrics
	purgeInterval time.Duration

	// mu guards sessions and serialises writes of the connected state of
	// node records, so that a connection that ends never marks a node
	// disconnected after a newer connection of it marked it connected.
	mu       sync.Mutex
	sessions map[string]*session // by node id: each node's current connection

	// intents feeds every session its node's tasks from one watch.
	intents *intents

	// roleCreds are the tasks' current role credentials.
	roleCreds roleCredentialCache

	// network is the VPCs and security groups every agent carries.
	network *networkFeed
}

// New returns a hub. Mount it at agentproto.Path and run Run beside it.
func New(cfg Config) *Hub {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.StoppedTaskRetention <= 0 {
		cfg.StoppedTaskRetention = DefaultStoppedTaskRetention
	}
	now := cfg.Now
	log := cfg.Logger.With("component", "agenthub")
	return &Hub{
		cfg:           cfg,
		now:           func() time.Time { return now().UTC() },
		log:           log,
		metrics:       newMetrics(cfg.Registerer),
		purgeInterval: defaultPurgeInterval,
		sessions:      map[string]*session{},
		intents:       newIntents(cfg.Store, log),
		network:       newNetworkFeed(),
	}
}

// session is one agent connection.
type session struct {
	node string
	// version is the protocol version agreed in the handshake.
	version int
	// host is the Host the agent reached this server at: where its runtime
	// pulls berth's images from.
	host   string
	remote string
	conn   *agentproto.Conn
	ctx    context.Context
	cancel context.CancelCauseFunc
}

// ServeHTTP authenticates an agent, upgrades its connection and serves it
// until it ends.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.authorized(r) {
		h.log.Warn("agent refused", "remote", r.RemoteAddr, "reason", "missing or wrong agent token")
		w.Header().Set("WWW-Authenticate", `Bearer realm="berth agent"`)
		http.Error(w, "agent token refused", http.StatusUnauthorized)
		return
	}
	conn, err := agentproto.Accept(w, r)
	if err != nil {
		h.log.Warn("agent refused", "remote", r.RemoteAddr, "reason", err.Error())
		return
	}
	host := r.Host
	if host == "" {
		host = h.cfg.RegistryHost
	}
	h.serve(r.Context(), conn, host, r.RemoteAddr)
}

func (h *Hub) authorized(r *http.Request) bool { return agentproto.Authorized(r, h.cfg.AgentToken) }

// serve runs one connection: handshake, registration, then a reader (this
// goroutine) applying reports and a writer streaming desired tasks.
func (h *Hub) serve(ctx context.Context, conn *agentproto.Conn, host, remote string) {
	hello, version, err := h.handshake(ctx, conn)
	if err != nil {
		h.refuse(conn, remote, "", err.Error())
		return
	}
	node := hello.Node.ID
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	s := &session{node: node, version: version, host: host, remote: remote, conn: conn, ctx: sctx, cancel: cancel}

	if err := h.connect(ctx, s, hello.Node); err != nil {
		h.log.Error("agent node registration failed", "node", node, "err", err)
		h.refuse(conn, remote, node, "internal error registering the node; retry later")
		return
	}
	started := time.Now()
	h.log.Info("agent connected", "node", node, "hostname", hello.Node.Hostname, "remote", remote,
		"agentVersion", hello.Node.AgentVersion, "protocolVersion", version, "tasks", len(hello.Tasks))

	var protocolErr error
	for batch := range slices.Chunk(hello.Tasks, maxReportBatch) {
		if err := h.applyReports(sctx, node, batch); err != nil {
			cancel(err)
			break
		}
	}
	// Reports wait in a queue while the batch before them is written.
	reports := make(chan agentproto.TaskReport, maxReportBatch)
	applierDone := make(chan struct{})
	go func() {
		defer close(applierDone)
		h.applyQueued(sctx, cancel, node, reports)
	}()

	writerDone := make(chan error, 1)
	if sctx.Err() == nil {
		go func() {
			err := h.write(sctx, s)
			cancel(err)
			writerDone <- err
		}()
	} else {
		writerDone <- nil
	}

	for sctx.Err() == nil {
		m, err := conn.Recv(sctx)
		if err != nil {
			if errors.Is(err, agentproto.ErrMalformed) {
				h.metrics.received.WithLabelValues("invalid").Inc()
				protocolErr = err
			}
			cancel(err)
			break
		}
		h.metrics.received.WithLabelValues(m.Kind()).Inc()
		switch {
		case m.Status != nil:
			select {
			case reports <- *m.Status:
			case <-sctx.Done():
			}
		case m.Error != "":
			cancel(fmt.Errorf("agent ended the connection: %s", m.Error))
		default:
			protocolErr = fmt.Errorf("unexpected %s message from an agent", m.Kind())
			cancel(protocolErr)
		}
	}

	close(reports)
	<-applierDone
	cause := context.Cause(sctx)
	if protocolErr != nil {
		// Let the writer finish its message, then say why we close.
		<-writerDone
		h.send(s, agentproto.Message{Error: protocolErr.Error()})
		conn.Close(protocolErr.Error())
	} else {
		// Closing first unblocks a writer stuck on a slow peer.
		conn.Close(cause.Error())
		<-writerDone
	}
	h.disconnect(s)
	h.log.Info("agent disconnected", "node", node, "remote", remote, "reason", cause.Error(),
		"connectedFor", time.Since(started).Round(time.Millisecond).String())
}

// maxReportBatch caps the reports one transaction records.
const maxReportBatch = 32

// applyQueued records the session's reports as they come, each write
// taking every report queued meanwhile, until reports is closed. A store
// failure ends the session.
func (h *Hub) applyQueued(ctx context.Context, cancel context.CancelCauseFunc, node string, reports <-chan agentproto.TaskReport) {
	for rep := range reports {
		batch := []agentproto.TaskReport{rep}
	more:
		for len(batch) < maxReportBatch {
			select {
			case r, ok := <-reports:
				if !ok {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		if ctx.Err() != nil {
			continue // drain: the session is over
		}
		if err := h.applyReports(ctx, node, batch); err != nil {
			cancel(err)
		}
	}
}

// handshake reads and checks the agent's Hello and agrees on the protocol
// version.
func (h *Hub) handshake(ctx context.Context, conn *agentproto.Conn) (*agentproto.Hello, int, error) {
	ctx, cancel := context.WithTimeout(ctx, helloTimeout)
	defer cancel()
	m, err := conn.Recv(ctx)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, 0, fmt.Errorf("no hello within %s", helloTimeout)
		}
		return nil, 0, err
	}
	h.metrics.received.WithLabelValues(m.Kind()).Inc()
	hello := m.Hello
	if hello == nil {
		return nil, 0, fmt.Errorf("first message must be hello, got %s", m.Kind())
	}
	version, err := agentproto.Negotiate(hello.Version)
	switch {
	case err != nil:
		return nil, 0, err
	case !nodeID.MatchString(hello.Node.ID):
		return nil, 0, fmt.Errorf("node id %q must be 32 lowercase hex digits", hello.Node.ID)
	case hello.Node.CPU < 0 || hello.Node.MemoryMiB < 0:
		return nil, 0, errors.New("node cpu and memory must not be negative")
	}
	return hello, version, nil
}

// refuse ends a connection that did not get as far as a session.
func (h *Hub) refuse(conn *agentproto.Conn, remote, node, reason string) {
	h.log.Warn("agent refused", "remote", remote, "node", node, "reason", reason)
	h.send(&session{conn: conn}, agentproto.Message{Error: reason})
	conn.Close(reason)
}

// connect registers the node and makes s its current connection, ending
// the one s replaces.
func (h *Hub) connect(ctx context.Context, s *session, n agentproto.Node) error {
	h.mu.Lock()
	err := h.registerNode(ctx, n)
	var old *session
	if err == nil {
		old = h.sessions[s.node]
		h.sessions[s.node] = s
		h.metrics.connected.Set(float64(len(h.sessions)))
	}
	h.mu.Unlock()
	if old != nil {
		h.log.Info("agent connection replaced", "node", s.node, "oldRemote", old.remote, "newRemote", s.remote)
		old.cancel(errReplaced)
	}
	return err
}

// disconnect marks the node disconnected unless a newer connection of it
// took over.
func (h *Hub) disconnect(s *session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sessions[s.node] != s {
		return
	}
	delete(h.sessions, s.node)
	h.metrics.connected.Set(float64(len(h.sessions)))
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), storeTimeout)
	defer cancel()
	if err := h.markDisconnected(ctx, s.node); err != nil {
		h.log.Error("marking node disconnected failed", "node", s.node, "err", err)
	}
}

// send writes one message, counting it. The write is not bound to the
// session's context: ending a session must not cut a frame in half.
func (h *Hub) send(s *session, m agentproto.Message) error {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if err := s.conn.Send(ctx, m); err != nil {
		return err
	}
	h.metrics.sent.WithLabelValues(m.Kind()).Inc()
	return nil
}

// closeAll ends every session (server shutdown).
func (h *Hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.sessions {
		s.cancel(errShutdown)
	}
}
