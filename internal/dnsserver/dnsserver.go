// Package dnsserver is berth's DNS server. It is authoritative for Cloud
// Map's DNS namespaces, for the load balancers' DNS names and for the
// static hosts it is given (the registry's name), and it is each VPC's
// resolver, at the VPC range's base + 2 as Route 53 Resolver is: other
// names go to the upstream resolvers, through a cache.
//
// A DNS namespace is a zone at its name, with Route 53's SOA and NS. Each
// service with DNS records is a name answering its instances' A, AAAA,
// SRV or CNAME records: healthy instances only, or all when none is (Route
// 53 fails open), up to eight in random order (MULTIVALUE) or one at
// random (WEIGHTED). An SRV record targets <instance id>.<service name>,
// which answers the instance's addresses (whatever its health) and comes
// as glue. NXDOMAIN and NODATA carry the zone's SOA; names above deeper
// ones are NODATA. ANY gets one set (RFC 8482). Load balancers' and
// static names are single names, no zone: a type they lack is NODATA
// without SOA.
//
// A VPC's resolver sees the private namespaces of its VPC, every public
// one and the single names; the host listener (Config.Listen) sees every
// namespace. A private namespace of another VPC is not there at all: its
// names are forwarded like any unknown name. Of namespaces of one name, a
// private one wins.
//
// A resolver resolves what it is asked to: a query for an outside name
// without RD is REFUSED rather than answered from the cache, and a CNAME
// is followed for a query with RD. Over UDP a reply is at most what the
// client offers (512 bytes without EDNS), and never over 1232 (DNS Flag
// Day 2020); one that does not fit keeps the answer records that do, with
// TC set.
//
// What it answers is a table built from the store's records (Cloud Map's
// sdstate, EC2's VPCs, ELBv2's load balancers), rebuilt on every change
// and swapped in whole. The table holds every record in wire form, so
// that answering a query parses its question, finds the name in a map and
// copies bytes, allocating nothing. UDP is served by a socket per CPU
// sharing the port (SO_REUSEPORT), each read and written a batch of
// datagrams at a time (recvmmsg, sendmmsg).
package dnsserver

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth/berth/internal/controller"
	"github.com/berth/berth/internal/store"
)

// Config wires a Server.
type Config struct {
	Store store.Store
	// Listen is the host listener's address, e.g. "127.0.0.1:5353" ("":
	// none), served over UDP and TCP. Port 0 picks one (see Addr). An
	// unspecified address ("0.0.0.0:53", "[::]:53" for IPv6 only) works,
	// replying from the address asked, but naming one is faster.
	Listen string
	// Upstreams are the resolvers names outside every zone are forwarded
	// to, "ip:port" (or "ip", port 53), tried in order. Empty: the name
	// servers of /etc/resolv.conf, read at start, less any address berth
	// listens on.
	Upstreams []string
	// StaticHosts are names answered with fixed addresses (the registry's
	// host name), by name.
	StaticHosts map[string][]netip.Addr
	// ServeVPCs serves each VPC's resolver address, port 53, bound before
	// the address exists (the agent puts it on the VPC's bridge).
	ServeVPCs bool
	Logger    *slog.Logger
	// Registerer receives the server's metrics; nil registers none.
	Registerer prometheus.Registerer
}

// Server is berth's DNS server; Run serves.
type Server struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	fwd     *forwarder
	// table is what the listeners answer from, stored before any serves.
	table atomic.Pointer[table]
	// slow bounds the queries being resolved upstream at once.
	slow chan struct{}
	// vpcPort is the VPC resolvers' port: 53, another in tests.
	vpcPort uint16
	// hostAddr is where the host listener is bound (zero: not yet, or
	// none).
	hostAddr atomic.Pointer[netip.AddrPort]
	// resolvers are the VPC resolvers' addresses being served.
	resolvers atomic.Pointer[map[netip.AddrPort]bool]

	// Run's own: the host listener (serving once the first table is
	// built), and the VPC listeners by address.
	host    *listener
	serving bool
	vpcs    map[netip.AddrPort]*vpcListener
}

// Sizes of what the server keeps.
const (
	cacheSize   = 10000
	maxInFlight = 1024
)

// New returns a server; Run serves.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "dnsserver"),
		metrics: newMetrics(cfg.Registerer),
		slow:    make(chan struct{}, maxInFlight),
		vpcPort: 53,
		vpcs:    map[netip.AddrPort]*vpcListener{},
	}
	s.resolvers.Store(&map[netip.AddrPort]bool{})
	return s
}

// Addr is the address the host listener is bound to, once Run has bound
// it (the port chosen, for a Listen of port 0); false before, or without
// a host listener.
func (s *Server) Addr() (netip.AddrPort, bool) {
	if a := s.hostAddr.Load(); a != nil {
		return *a, true
	}
	return netip.AddrPort{}, false
}

// Run serves until ctx ends. It fails only when the host listener cannot
// be bound or the configuration is wrong; a VPC resolver that cannot be
// bound is tried again every few seconds.
func (s *Server) Run(ctx context.Context) error {
	upstreams, err := s.upstreams()
	if err != nil {
		return err
	}
	s.fwd = newForwarder(upstreams, s.own, newCache(cacheSize, time.Now), s.metrics)
	if s.cfg.Listen != "" {
		addr, err := netip.ParseAddrPort(s.cfg.Listen)
		if err != nil {
			return fmt.Errorf("dnsserver: listen address %q: %w", s.cfg.Listen, err)
		}
		if s.host, err = s.listen(addr, false, "", kindHost); err != nil {
			return fmt.Errorf("dnsserver: %w", err)
		}
		bound := s.host.addr
		s.hostAddr.Store(&bound)
		s.log.Info("DNS server listening", "address", bound.String())
	}
	defer s.shutdown()
	controller.Follow(ctx, s.log, "the DNS records", s.follow)
	return nil
}

// upstreams are Config.Upstreams, or resolv.conf's name servers.
func (s *Server) upstreams() ([]netip.AddrPort, error) {
	if len(s.cfg.Upstreams) == 0 {
		ups, err := resolvConfUpstreams("/etc/resolv.conf")
		if err != nil {
			// Names outside the zones get SERVFAIL; the zones still work.
			s.log.Warn("no upstream resolvers: reading resolv.conf failed", "err", err)
		}
		return ups, nil
	}
	var out []netip.AddrPort
	for _, u := range s.cfg.Upstreams {
		ap, err := netip.ParseAddrPort(u)
		if err != nil {
			a, aerr := netip.ParseAddr(u)
			if aerr != nil {
				return nil, fmt.Errorf("dnsserver: upstream %q: %w", u, err)
			}
			ap = netip.AddrPortFrom(a, 53)
		}
		out = append(out, ap)
	}
	return out, nil
}

// own reports whether the server itself listens on ap: asking an
// upstream that is berth would loop.
func (s *Server) own(ap netip.AddrPort) bool {
	if (*s.resolvers.Load())[ap] {
		return true
	}
	h, ok := s.Addr()
	if !ok || h.Port() != ap.Port() {
		return false
	}
	return h.Addr() == ap.Addr() || (h.Addr().IsUnspecified() && ap.Addr().IsLoopback())
}

// shutdown closes every listener.
func (s *Server) shutdown() {
	for ap, v := range s.vpcs {
		v.close()
		delete(s.vpcs, ap)
	}
	if s.host != nil {
		s.host.close()
	}
}
