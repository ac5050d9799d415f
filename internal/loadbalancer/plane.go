// Package loadbalancer is berth's application load balancer data plane:
// it serves every listener of every load balancer on the load balancer's
// own addresses (its interfaces in its subnets, on the VPC's bridge), routes
// each request by its listener's rules, forwards to the targets of the
// chosen group (by algorithm, stickiness and slow start, only to healthy
// targets unless none is, then to all), answers fixed responses and
// redirects, checks the targets' health as each group says, drains
// deregistered targets, and marks a load balancer active once it serves.
//
// Its routing is a table built from the store's ELBv2 records (elbv2state),
// rebuilt on every change; nothing of it is kept elsewhere.
package loadbalancer

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth/berth/internal/controller"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/elbv2/elbv2state"
	"github.com/berth/berth/internal/secretbox"
	"github.com/berth/berth/internal/store"
)

// Config wires a Plane.
type Config struct {
	Store store.Store
	// Box opens the private keys of ACM's certificates, which HTTPS
	// listeners serve.
	Box *secretbox.Box
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// HostAddresses lists the host's addresses (nil: the interfaces'): a
	// load balancer turns active only once its addresses are there, which
	// they are not while its VPC cannot be carried on this host.
	HostAddresses func() ([]netip.Addr, error)
	Logger        *slog.Logger
	Registerer    prometheus.Registerer
}

// Plane is the data plane of every load balancer.
type Plane struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	metrics *metrics

	table atomic.Pointer[table]
	lives *lives

	// proxies and upstreams are the load balancers' reverse proxies and
	// keep-alive connections, by transport key: what requests use,
	// without a lock.
	proxies   sync.Map
	upstreams sync.Map

	mu       sync.Mutex
	servers  map[string]*listenerServer // by address:port
	checkers map[string]*checker        // by target key
	certs    *certificates
}

// New returns a data plane; Run serves.
func New(cfg Config) *Plane {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HostAddresses == nil {
		cfg.HostAddresses = interfaceAddresses
	}
	p := &Plane{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "loadbalancer"),
		now:      cfg.Now,
		metrics:  newMetrics(cfg.Registerer),
		lives:    newLives(),
		servers:  map[string]*listenerServer{},
		checkers: map[string]*checker{},
	}
	p.certs = newCertificates(cfg.Store, cfg.Box)
	p.table.Store(&table{})
	return p
}

// settle is how long the plane waits after a change for more before it
// rebuilds its table: one API call writes several records.
const settle = 10 * time.Millisecond

// Run serves until ctx ends, then closes every listener (requests in
// flight get a few seconds to finish).
func (p *Plane) Run(ctx context.Context) error {
	defer p.shutdown()
	controller.Follow(ctx, p.log, "the load balancers", p.follow)
	return nil
}

// follow reads every ELBv2 record and applies each change, until the
// watch fails. A timer also rebuilds the table when a drain ends, which no
// record change announces.
func (p *Plane) follow(ctx context.Context) error {
	snap, err := elbv2state.LoadSnapshot(ctx, p.cfg.Store)
	if err != nil {
		return err
	}
	events, err := p.cfg.Store.Watch(ctx, elbv2state.Prefix, snap.Revision)
	if err != nil {
		return err
	}
	nodes, err := p.nodes(ctx)
	if err != nil {
		return err
	}
	p.apply(ctx, snap, nodes)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if nodes, err = p.nodes(ctx); err != nil {
				return err
			}
			p.apply(ctx, snap, nodes)
			continue
		case ev, ok := <-events:
			if !ok {
				return errors.New("the watch of the load balancers' records ended")
			}
			if err := snap.Apply(ev); err != nil {
				return err
			}
		}
		timer := time.NewTimer(settle)
	batch:
		for {
			select {
			case <-ctx.Done():
				timer.Stop()
				return nil
			case ev, ok := <-events:
				if !ok {
					timer.Stop()
					return errors.New("the watch of the load balancers' records ended")
				}
				if err := snap.Apply(ev); err != nil {
					timer.Stop()
					return err
				}
			case <-timer.C:
				break batch
			}
		}
		p.apply(ctx, snap, nodes)
	}
}

// nodes resolves instance targets: berth's nodes on this host are reached
// on the host's loopback, where their tasks' host ports are bound; others
// are not reachable from here.
func (p *Plane) nodes(ctx context.Context) (nodeAddresses, error) {
	list, _, err := store.List[ecsstate.Node](ctx, p.cfg.Store, ecsstate.NodePrefix, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	out := nodeAddresses{}
	for _, n := range list {
		if n.Value.Hostname == host {
			out[ecsstate.EC2InstanceID(n.Value.ID)] = "127.0.0.1"
		}
	}
	return out, nil
}

// apply builds the table of snap and makes the plane serve it: listeners
// opened and closed, targets' drains scheduled, health checks started and
// stopped, load balancers that serve marked active.
func (p *Plane) apply(ctx context.Context, snap *elbv2state.Snapshot, nodes nodeAddresses) {
	now := p.now()
	t := buildTable(snap, nodes, now)
	for _, b := range t.balancers {
		b.metrics = p.metrics.balancer(b.name)
	}
	p.table.Store(t)
	p.lives.update(t, now)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.serveListeners(ctx, t)
	p.checkTargets(ctx, t)
	p.activate(ctx, t)
	p.dropTransports(t)
}

// dropTransports forgets the connections to targets of load balancers
// gone or changed, closing the idle ones (those in use close when their
// request ends).
func (p *Plane) dropTransports(t *table) {
	current := map[string]bool{}
	for _, b := range t.balancers {
		current[b.transportKey] = true
	}
	p.upstreams.Range(func(key, u any) bool {
		if !current[key.(string)] {
			p.upstreams.Delete(key)
			u.(*upstream).close()
		}
		return true
	})
	p.proxies.Range(func(key, rp any) bool {
		if !current[key.(string)] {
			p.proxies.Delete(key)
			closeIdleProxy(rp.(*httputil.ReverseProxy))
		}
		return true
	})
}

func closeIdleProxy(rp *httputil.ReverseProxy) {
	if tr, ok := rp.Transport.(*http.Transport); ok {
		tr.CloseIdleConnections()
	}
}

// activate marks active the load balancers whose every listener is served
// on addresses the host has.
func (p *Plane) activate(ctx context.Context, t *table) {
	var local map[netip.Addr]bool
	for _, b := range t.balancers {
		if b.state != elbv2state.StateProvisioning || len(b.addresses) == 0 {
			continue
		}
		if local == nil {
			addrs, err := p.cfg.HostAddresses()
			if err != nil {
				p.log.Warn("listing the host's addresses failed", "err", err)
				return
			}
			local = map[netip.Addr]bool{}
			for _, a := range addrs {
				local[a.Unmap()] = true
			}
		}
		served := func(ap netip.AddrPort) bool {
			s := p.servers[ap.String()]
			return s != nil && s.bound
		}
		if !b.ready(local, served) {
			continue
		}
		if err := elbv2state.Activate(ctx, p.cfg.Store, b.region, b.arn); err != nil && ctx.Err() == nil {
			p.log.Warn("marking a load balancer active failed; retrying", "loadBalancer", b.arn, "err", err)
		}
	}
}

// shutdown closes every listener and stops every health check.
func (p *Plane) shutdown() {
	p.mu.Lock()
	defer p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for key, s := range p.servers {
		s.close(ctx)
		delete(p.servers, key)
	}
	for key, c := range p.checkers {
		c.stop()
		delete(p.checkers, key)
	}
	p.upstreams.Range(func(_, u any) bool {
		u.(*upstream).close()
		return true
	})
	p.proxies.Range(func(_, rp any) bool {
		closeIdleProxy(rp.(*httputil.ReverseProxy))
		return true
	})
}

// ready reports whether a load balancer can turn active: the host has
// each of its addresses (none while its VPC cannot be carried here), and
// each of its listeners is served.
func (b *balancerRoute) ready(local map[netip.Addr]bool, served func(netip.AddrPort) bool) bool {
	return len(b.addresses) > 0 &&
		!slices.ContainsFunc(b.addresses, func(a netip.Addr) bool { return !local[a] }) &&
		!slices.ContainsFunc(b.listeners, func(ap netip.AddrPort) bool { return !served(ap) })
}

// interfaceAddresses are the addresses of the host's interfaces.
func interfaceAddresses() ([]netip.Addr, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out, nil
}
