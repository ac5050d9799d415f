package loadbalancer

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/berth/berth/internal/hostnet"
)

// listenerServer serves one listener on one address.
type listenerServer struct {
	addr     netip.AddrPort
	protocol string
	// bound says the socket is listening; err why it is not.
	bound    bool
	err      error
	server   *http.Server
	listener net.Listener
	// idleTimeout is the one server serves with: http.Server takes no
	// change of it while serving, so a new one replaces it.
	idleTimeout time.Duration
	// since is when the socket was last tried, to pace retries.
	since time.Time
}

// Timeouts of the client side of a listener.
const (
	readHeaderTimeout = time.Minute
	bindRetry         = 2 * time.Second
)

// serveListeners opens the listeners of t not yet served and closes those
// no longer in it. A listener whose protocol changed is opened again.
func (p *Plane) serveListeners(ctx context.Context, t *table) {
	for ap, l := range t.listeners {
		key := ap.String()
		s := p.servers[key]
		if s != nil && s.protocol != l.protocol {
			s.close(ctx)
			s = nil
		}
		if s == nil {
			s = &listenerServer{addr: ap, protocol: l.protocol}
			p.servers[key] = s
		}
		if s.bound && s.idleTimeout != l.balancer.idleTimeout {
			// Requests in flight finish on the old server; new
			// connections go to the new one.
			old := s.server
			_ = s.listener.Close()
			s.bound = false
			s.since = time.Time{}
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
				defer cancel()
				_ = old.Shutdown(ctx)
			}()
		}
		if s.bound {
			continue
		}
		if time.Since(s.since) < bindRetry && !s.since.IsZero() {
			continue
		}
		s.since = time.Now()
		if err := p.bind(s, l); err != nil {
			if s.err == nil || s.err.Error() != err.Error() {
				p.log.Warn("a load balancer listener cannot listen yet; retrying", "listener", l.arn, "address", key, "err", err)
			}
			s.err = err
			continue
		}
		s.err = nil
		p.log.Info("load balancer listening", "loadBalancer", l.balancer.name, "address", key, "protocol", l.protocol)
	}
	for key, s := range p.servers {
		if _, ok := t.listeners[s.addr]; !ok {
			s.close(ctx)
			delete(p.servers, key)
		}
	}
}

// bind opens s's socket and serves it. The socket may bind an address the
// host does not have yet (IP_FREEBIND): the agent adds a load balancer's
// addresses to its VPC's bridge when the network state reaches it.
func (p *Plane) bind(s *listenerServer, l *listenerRoute) error {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = hostnet.FreeBind(fd) })
		return errors.Join(err, serr)
	}}
	ln, err := lc.Listen(context.Background(), "tcp4", s.addr.String())
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           listenerHandler{plane: p, addr: s.addr},
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       l.balancer.idleTimeout,
		ErrorLog:          nil,
	}
	if l.protocol == "HTTPS" {
		srv.TLSConfig = p.tlsConfig(s.addr, l.balancer.http2)
		if !l.balancer.http2 {
			srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
		}
		go func() { _ = srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { _ = srv.Serve(ln) }()
	}
	s.server, s.listener, s.idleTimeout, s.bound = srv, ln, l.balancer.idleTimeout, true
	return nil
}

// close stops serving, letting requests in flight finish until ctx ends.
func (s *listenerServer) close(ctx context.Context) {
	if s.server == nil {
		return
	}
	if err := s.server.Shutdown(ctx); err != nil {
		_ = s.server.Close()
	}
	s.bound = false
}

// tlsConfig serves an HTTPS listener's certificates: the one whose names
// match the client's server name (SNI), else the listener's default, with
// the TLS versions of its security policy.
func (p *Plane) tlsConfig(addr netip.AddrPort, http2 bool) *tls.Config {
	cfg := &tls.Config{
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			l := p.table.Load().listeners[addr]
			if l == nil {
				return nil, errors.New("no listener")
			}
			cert, err := p.certs.choose(hello.Context(), l, hello.ServerName)
			if err != nil {
				p.log.Warn("an HTTPS listener has no certificate to serve", "listener", l.arn, "err", err)
				return nil, err
			}
			c := &tls.Config{Certificates: []tls.Certificate{cert}}
			c.MinVersion, c.MaxVersion = policyVersions(l.sslPolicy)
			if http2 {
				c.NextProtos = []string{"h2", "http/1.1"}
			} else {
				c.NextProtos = []string{"http/1.1"}
			}
			return c, nil
		},
	}
	if http2 {
		cfg.NextProtos = []string{"h2", "http/1.1"}
	}
	return cfg
}

// upstreamFor returns the keep-alive connections of a load balancer to its
// plain-HTTP targets, from its first address as proxyFor's.
func (p *Plane) upstreamFor(b *balancerRoute) *upstream {
	if u, ok := p.upstreams.Load(b.transportKey); ok {
		return u.(*upstream)
	}
	actual, _ := p.upstreams.LoadOrStore(b.transportKey, newUpstream(b.sourceAddr(), b.idleTimeout))
	return actual.(*upstream)
}

// proxyFor returns the reverse proxy of a load balancer: its connections
// to targets come from the load balancer's first address, so the targets'
// security groups see it as a member of its groups, and are kept alive
// for the next requests.
func (p *Plane) proxyFor(b *balancerRoute) *httputil.ReverseProxy {
	if rp, ok := p.proxies.Load(b.transportKey); ok {
		return rp.(*httputil.ReverseProxy)
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, LocalAddr: b.sourceAddr()}
	tr := &http.Transport{
		DialContext:         dialer.DialContext,
		MaxIdleConns:        4096,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     b.idleTimeout,
		// ALB does not verify its targets' certificates.
		TLSClientConfig:       &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // as ALB does
		ResponseHeaderTimeout: b.idleTimeout,
		DisableCompression:    true,
	}
	rp := &httputil.ReverseProxy{
		Rewrite:      rewrite,
		Transport:    tr,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) { p.proxyError(w, r, err) },
		BufferPool:   copyBuffers,
	}
	actual, _ := p.proxies.LoadOrStore(b.transportKey, rp)
	return actual.(*httputil.ReverseProxy)
}

// copyBuffers are the proxies' body copy buffers, reused: a proxy would
// otherwise allocate (and clear) 32 KiB per request.
var copyBuffers = &bufferPool{pool: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}

type bufferPool struct{ pool sync.Pool }

func (b *bufferPool) Get() []byte  { return *b.pool.Get().(*[]byte) }
func (b *bufferPool) Put(p []byte) { b.pool.Put(&p) }

// sourceAddr is where a load balancer's connections to targets come from:
// its first address (nil when it has none yet).
func (b *balancerRoute) sourceAddr() net.Addr {
	if len(b.addresses) == 0 {
		return nil
	}
	return &net.TCPAddr{IP: b.addresses[0].AsSlice()}
}
