package loadbalancer

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"time"
)

// upstream sends requests to plain-HTTP targets over keep-alive
// connections in the request's own goroutine: read the client's request,
// write it to a pooled connection, read the response, copy it back. It
// spares each request the goroutine hand-offs of net/http's Transport,
// which cost the load balancer half its throughput on small responses.
// WebSocket upgrades and HTTPS targets go through httputil.ReverseProxy.
type upstream struct {
	dialer *net.Dialer
	// timeout bounds the wait for a response's headers (the load
	// balancer's idle timeout): past it the client gets 504.
	timeout time.Duration

	mu   sync.Mutex
	idle map[string][]*upConn // by target address
	// closed says the plane dropped it: a connection given back closes.
	closed bool
}

// maxIdlePerTarget caps the idle connections kept to one target.
const maxIdlePerTarget = 512

type upConn struct {
	conn net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
}

func newUpstream(local net.Addr, timeout time.Duration) *upstream {
	return &upstream{
		dialer:  &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, LocalAddr: local},
		timeout: timeout,
		idle:    map[string][]*upConn{},
	}
}

func (u *upstream) get(ctx context.Context, addr string) (*upConn, bool, error) {
	u.mu.Lock()
	if conns := u.idle[addr]; len(conns) > 0 {
		c := conns[len(conns)-1]
		u.idle[addr] = conns[:len(conns)-1]
		u.mu.Unlock()
		return c, true, nil
	}
	u.mu.Unlock()
	conn, err := u.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, false, err
	}
	return &upConn{conn: conn, br: bufio.NewReaderSize(conn, 16<<10), bw: bufio.NewWriterSize(conn, 16<<10)}, false, nil
}

func (u *upstream) put(addr string, c *upConn) {
	u.mu.Lock()
	if !u.closed && len(u.idle[addr]) < maxIdlePerTarget {
		u.idle[addr] = append(u.idle[addr], c)
		c = nil
	}
	u.mu.Unlock()
	if c != nil {
		c.conn.Close()
	}
}

// close closes every idle connection, and those given back from now on.
func (u *upstream) close() {
	u.mu.Lock()
	u.closed = true
	idle := u.idle
	u.idle = map[string][]*upConn{}
	u.mu.Unlock()
	for _, conns := range idle {
		for _, c := range conns {
			c.conn.Close()
		}
	}
}

// errUpstreamTimeout is a target that did not answer in time.
var errUpstreamTimeout = errors.New("the target did not answer in time")

// serve proxies r (already rewritten for the target: out) and writes the
// response to w; it returns the status answered. A request that fails on a
// reused connection before anything was read (the target closed it while
// idle) is sent again on a new one when it has no body.
func (u *upstream) serve(w http.ResponseWriter, r, out *http.Request, addr string) (int, error) {
	ctx := r.Context()
	for attempt := 0; ; attempt++ {
		c, reused, err := u.get(ctx, addr)
		if err != nil {
			return 0, err
		}
		resp, err := u.roundTrip(c, out)
		if err != nil {
			c.conn.Close()
			if reused && attempt == 0 && out.Body == nil && !errors.Is(err, errUpstreamTimeout) {
				continue
			}
			return 0, err
		}
		status, reusable, err := copyResponse(w, resp)
		if reusable && err == nil && ctx.Err() == nil {
			u.put(addr, c)
		} else {
			c.conn.Close()
		}
		return status, err
	}
}

// roundTrip writes out and reads the response's headers, skipping 1xx
// informational responses (100 Continue).
func (u *upstream) roundTrip(c *upConn, out *http.Request) (*http.Response, error) {
	stop := context.AfterFunc(out.Context(), func() { c.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := out.Write(c.bw); err != nil {
		return nil, err
	}
	if err := c.bw.Flush(); err != nil {
		return nil, err
	}
	if u.timeout > 0 {
		c.conn.SetReadDeadline(time.Now().Add(u.timeout))
	}
	for {
		resp, err := http.ReadResponse(c.br, out)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() && out.Context().Err() == nil {
			return nil, errUpstreamTimeout
		}
		if err != nil {
			return nil, err
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue
		}
		c.conn.SetReadDeadline(time.Time{})
		return resp, nil
	}
}

// copyResponse writes a target's response to the client and reports
// whether its connection may carry another request.
func copyResponse(w http.ResponseWriter, resp *http.Response) (int, bool, error) {
	defer resp.Body.Close()
	h := w.Header()
	removeHopHeaders(resp.Header)
	for k, vs := range resp.Header {
		h[k] = vs
	}
	for k := range resp.Trailer {
		h.Add("Trailer", k)
	}
	w.WriteHeader(resp.StatusCode)
	buf := copyBuffers.Get()
	defer copyBuffers.Put(buf)
	var dst io.Writer = w
	if resp.ContentLength == -1 {
		// A stream (server-sent events, a long poll's chunks): each piece
		// goes to the client as it comes.
		dst = flushWriter{w}
	}
	_, err := io.CopyBuffer(dst, resp.Body, buf)
	for k, vs := range resp.Trailer {
		h[http.TrailerPrefix+k] = vs
	}
	return resp.StatusCode, err == nil && !resp.Close, err
}

type flushWriter struct{ w http.ResponseWriter }

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	_ = http.NewResponseController(f.w).Flush()
	return n, err
}

// hopHeaders are the headers of one connection, never forwarded.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// removeHopHeaders removes the hop-by-hop headers, and those the
// Connection header names.
func removeHopHeaders(h http.Header) {
	for _, f := range h["Connection"] {
		for _, name := range strings.Split(f, ",") {
			if name = textproto.TrimString(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopHeaders {
		h.Del(name)
	}
}
