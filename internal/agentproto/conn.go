package agentproto

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	json "github.com/go-json-experiment/json/v1"
)

// ReadLimit caps one incoming message. It is generous because a Welcome
// carries the whole spec of every task on a node.
const ReadLimit = 64 << 20

// Keep-alive: a ping every pingInterval; a connection whose ping is not
// answered within pingTimeout is closed, so a dead peer (a host that
// vanished without closing its TCP connection) is noticed. Variables so
// tests can shorten them; a Conn reads them when it is created.
var (
	pingInterval = 10 * time.Second
	pingTimeout  = 20 * time.Second
)

// incomingBuffer is how many received messages wait for Recv. When it is
// full the reader stops reading, and with it stops answering pings: a peer
// that does not consume for longer than the ping timeout loses the
// connection, which is better than buffering without bound.
const incomingBuffer = 64

var (
	// ErrMalformed is returned by Recv for a frame that is not exactly one
	// valid Message (bad JSON, unknown fields, no or several fields set).
	// The connection stays usable; the caller decides whether to go on.
	ErrMalformed = errors.New("agentproto: malformed message")
	// ErrUnauthorized is returned by Dial when the server refused the token.
	ErrUnauthorized = errors.New("agentproto: unauthorized")
)

// Conn is one agent connection, on either side. A background reader keeps
// reading (so pings and close frames are answered even while the caller is
// busy) and a background pinger keeps the connection checked.
type Conn struct {
	ws *websocket.Conn

	incoming chan []byte
	readDone chan struct{} // closed when the reader stops; readErr is set then
	readErr  error

	stop context.CancelFunc // ends the reader and the pinger

	mu    sync.Mutex
	cause error // why this side ended the connection, if it did
}

// ServerBase parses the URL of a server ("http(s)://host:port", or ws(s)
// for the same server, an optional path prefix kept) into its http(s) base,
// without a trailing slash.
func ServerBase(serverURL string) (*url.URL, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return nil, fmt.Errorf("agentproto: server URL: %w", err)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "http"
	case "https", "wss":
		u.Scheme = "https"
	default:
		return nil, fmt.Errorf("agentproto: server URL %q: scheme must be http or https", serverURL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("agentproto: server URL %q has no host", serverURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath, u.RawQuery, u.Fragment, u.User = "", "", "", nil
	return u, nil
}

// Dial connects to the server at serverURL ("http(s)://host:port", an
// optional path prefix kept) and authenticates with token.
func Dial(ctx context.Context, serverURL, token string) (*Conn, error) {
	u, err := ServerBase(serverURL)
	if err != nil {
		return nil, err
	}
	u.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
	u.Path += Path

	ws, resp, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + token}},
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			// The library keeps up to 1 KiB of the refusal's body.
			var body []byte
			if resp.Body != nil {
				body, _ = io.ReadAll(resp.Body)
			}
			msg := fmt.Sprintf("agentproto: dial %s: %s", u.Redacted(), resp.Status)
			if b := strings.TrimSpace(string(body)); b != "" {
				msg += ": " + b
			}
			if resp.StatusCode == http.StatusUnauthorized {
				return nil, fmt.Errorf("%w (%s)", ErrUnauthorized, msg)
			}
			return nil, errors.New(msg)
		}
		return nil, fmt.Errorf("agentproto: dial %s: %w", u.Redacted(), err)
	}
	return newConn(ws), nil
}

// Accept upgrades an agent's request to a Conn. Authentication is the
// caller's job, before Accept. On failure Accept has already written the
// HTTP error response.
func Accept(w http.ResponseWriter, r *http.Request) (*Conn, error) {
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return nil, fmt.Errorf("agentproto: accept: %w", err)
	}
	return newConn(ws), nil
}

func newConn(ws *websocket.Conn) *Conn {
	ws.SetReadLimit(ReadLimit)
	ctx, stop := context.WithCancel(context.Background())
	c := &Conn{
		ws:       ws,
		incoming: make(chan []byte, incomingBuffer),
		readDone: make(chan struct{}),
		stop:     stop,
	}
	go c.read(ctx)
	go c.keepAlive(ctx, pingInterval, pingTimeout)
	return c
}

// read moves frames from the connection to incoming until it fails.
func (c *Conn) read(ctx context.Context) {
	defer close(c.readDone)
	defer c.stop()
	for {
		typ, b, err := c.ws.Read(ctx)
		if err != nil {
			c.readErr = c.closedErr(err)
			return
		}
		if typ != websocket.MessageText {
			c.fail(errors.New("peer sent a binary frame"), websocket.StatusUnsupportedData, "text frames only")
			c.readErr = c.closedErr(nil)
			return
		}
		select {
		case c.incoming <- b:
		case <-ctx.Done():
			c.readErr = c.closedErr(ctx.Err())
			return
		}
	}
}

// keepAlive pings the peer and closes the connection when a ping goes
// unanswered.
func (c *Conn) keepAlive(ctx context.Context, interval, timeout time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, timeout)
		err := c.ws.Ping(pctx)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				c.setCause(fmt.Errorf("agentproto: peer did not answer a ping within %s: %w", timeout, err))
				// The peer is not answering: no point in a close handshake.
				_ = c.ws.CloseNow()
			}
			return
		}
	}
}

// fail ends the connection for a protocol reason of this side.
func (c *Conn) fail(cause error, code websocket.StatusCode, reason string) {
	c.setCause(fmt.Errorf("agentproto: %w", cause))
	_ = c.ws.Close(code, reason)
}

func (c *Conn) setCause(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cause == nil {
		c.cause = err
	}
}

// closedErr is the error Recv reports once the connection is gone: this
// side's own reason if it ended it, else what the reader saw (the peer's
// close status and reason, or the network error).
func (c *Conn) closedErr(readErr error) error {
	c.mu.Lock()
	cause := c.cause
	c.mu.Unlock()
	if cause != nil {
		return cause
	}
	if readErr == nil {
		return errors.New("agentproto: connection closed")
	}
	return fmt.Errorf("agentproto: connection closed: %w", readErr)
}

// Send writes m as one JSON text frame. It is safe for concurrent use;
// concurrent messages are not interleaved. If ctx ends in the middle of a
// write, the connection is closed (a half-written frame cannot be taken back).
func (c *Conn) Send(ctx context.Context, m Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("agentproto: send: %w", err)
	}
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		if cause := c.ownCause(); cause != nil {
			return fmt.Errorf("agentproto: send: %w", cause)
		}
		return fmt.Errorf("agentproto: send: %w", err)
	}
	return nil
}

func (c *Conn) ownCause() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause
}

// Recv returns the next message. Messages received before the connection
// closed are still returned (so a peer's final Error message is seen); after
// that Recv returns why the connection ended. A frame that is not a valid
// Message gives an error wrapping ErrMalformed and the connection stays
// open. Ending ctx only ends this call, never the connection.
func (c *Conn) Recv(ctx context.Context) (Message, error) {
	// Buffered messages come first, even when the reader has already stopped.
	select {
	case b := <-c.incoming:
		return decode(b)
	default:
	}
	select {
	case b := <-c.incoming:
		return decode(b)
	case <-c.readDone:
		select {
		case b := <-c.incoming:
			return decode(b)
		default:
			return Message{}, c.readErr
		}
	case <-ctx.Done():
		return Message{}, ctx.Err()
	}
}

// Close ends the connection with a close handshake carrying reason (cut to
// the 123 bytes a close frame can carry). Closing twice is harmless.
func (c *Conn) Close(reason string) error {
	c.setCause(errors.New("agentproto: connection closed by this side: " + reason))
	err := c.ws.Close(websocket.StatusNormalClosure, truncateReason(reason))
	c.stop()
	<-c.readDone
	if err != nil && !errors.Is(err, net.ErrClosed) && websocket.CloseStatus(err) == -1 {
		return fmt.Errorf("agentproto: close: %w", err)
	}
	return nil
}

// Done is closed once the connection is gone and no more messages arrive
// (some may still wait for Recv).
func (c *Conn) Done() <-chan struct{} { return c.readDone }

func truncateReason(s string) string {
	const max = 123
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// decode parses one frame strictly: known fields only, one JSON value,
// exactly one field of the envelope set.
func decode(b []byte) (Message, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Message
	if err := dec.Decode(&m); err != nil {
		if v := helloVersion(b); v > Version {
			// A newer agent's Hello need not decode as ours: say so
			// rather than name the member we do not know.
			return Message{}, fmt.Errorf("%w: a hello of protocol version %d, which this server does not speak (it speaks %d to %d): upgrade the server",
				ErrMalformed, v, MinVersion, Version)
		}
		return Message{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Message{}, fmt.Errorf("%w: data after the message", ErrMalformed)
	}
	if n := m.fieldsSet(); n != 1 {
		return Message{}, fmt.Errorf("%w: %d fields set, want exactly one", ErrMalformed, n)
	}
	return m, nil
}

// helloVersion is the version a frame's Hello names, read leniently; 0 if
// the frame is no Hello or names none.
func helloVersion(b []byte) int {
	var peek struct {
		Hello *struct {
			Version int `json:"version"`
		} `json:"hello"`
	}
	if json.Unmarshal(b, &peek) != nil || peek.Hello == nil {
		return 0
	}
	return peek.Hello.Version
}

func (m *Message) fieldsSet() int {
	n := 0
	for _, set := range []bool{m.Hello != nil, m.Welcome != nil, m.Task != nil, m.Status != nil, m.Forget != nil, m.Network != nil, m.Exec != nil, m.Error != ""} {
		if set {
			n++
		}
	}
	return n
}

// Kind names the message's type ("hello", "welcome", "task", "status",
// "forget", "network", "exec", "error"; "invalid" unless exactly one field is set), for logs
// and metrics.
func (m Message) Kind() string {
	if m.fieldsSet() != 1 {
		return "invalid"
	}
	switch {
	case m.Hello != nil:
		return "hello"
	case m.Welcome != nil:
		return "welcome"
	case m.Task != nil:
		return "task"
	case m.Status != nil:
		return "status"
	case m.Forget != nil:
		return "forget"
	case m.Network != nil:
		return "network"
	case m.Exec != nil:
		return "exec"
	default:
		return "error"
	}
}
