package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sync/singleflight"
)

// forwarder resolves names outside every zone with the upstream
// resolvers, through the cache. Concurrent asks for one name and type
// share one upstream query.
type forwarder struct {
	upstreams []netip.AddrPort
	// own reports whether berth itself listens on an address: an
	// upstream taken from resolv.conf may be berth, and asking itself
	// would loop.
	own     func(netip.AddrPort) bool
	cache   *cache
	group   singleflight.Group
	udp     *dns.Client
	tcp     *dns.Client
	metrics *metrics
}

// Upstream timeouts: per upstream tried, and for the whole resolution.
const (
	upstreamTimeout = 2 * time.Second
	resolveTimeout  = 5 * time.Second
)

var errNoUpstream = errors.New("no upstream resolver answered")

func newForwarder(upstreams []netip.AddrPort, own func(netip.AddrPort) bool, c *cache, m *metrics) *forwarder {
	return &forwarder{
		upstreams: upstreams,
		own:       own,
		cache:     c,
		udp:       &dns.Client{Net: "udp", Timeout: upstreamTimeout, UDPSize: udpCap},
		tcp:       &dns.Client{Net: "tcp", Timeout: upstreamTimeout},
		metrics:   m,
	}
}

// resolve is the answer for name and type: from the cache, else from the
// first upstream that answers (over UDP, again over TCP when truncated).
// key is the name lower-cased in wire form.
func (f *forwarder) resolve(ctx context.Context, name string, key []byte, qtype uint16) (*cached, error) {
	ck := cacheKey(key, qtype)
	if e := f.cache.get(ck); e != nil {
		f.metrics.cacheHits.Inc()
		return e, nil
	}
	v, err, _ := f.group.Do(ck, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), resolveTimeout)
		defer cancel()
		msg, err := f.exchange(ctx, name, qtype)
		if err != nil {
			f.metrics.forwarded.WithLabelValues("failed").Inc()
			return nil, err
		}
		f.metrics.forwarded.WithLabelValues("answered").Inc()
		return f.cache.put(ck, msg), nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*cached), nil
}

// exchange asks the upstreams in turn until one answers other than
// SERVFAIL or REFUSED.
func (f *forwarder) exchange(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.SetEdns0(udpCap, false)
	err := errNoUpstream
	for _, u := range f.upstreams {
		if f.own(u) {
			continue
		}
		r, _, xerr := f.udp.ExchangeContext(ctx, m, u.String())
		if xerr == nil && r.Truncated {
			r, _, xerr = f.tcp.ExchangeContext(ctx, m, u.String())
		}
		switch {
		case xerr != nil:
			err = fmt.Errorf("upstream %s: %w", u, xerr)
			continue
		case len(r.Question) != 1 || !strings.EqualFold(r.Question[0].Name, m.Question[0].Name) || r.Question[0].Qtype != qtype:
			err = fmt.Errorf("upstream %s answered another question", u)
			continue
		case r.Rcode == dns.RcodeServerFailure || r.Rcode == dns.RcodeRefused:
			err = fmt.Errorf("upstream %s: %s", u, dns.RcodeToString[r.Rcode])
			continue
		}
		r.Extra = withoutOPT(r.Extra)
		return r, nil
	}
	return nil, err
}

func withoutOPT(rrs []dns.RR) []dns.RR {
	out := rrs[:0]
	for _, rr := range rrs {
		if rr.Header().Rrtype != dns.TypeOPT {
			out = append(out, rr)
		}
	}
	return out
}

// resolvConfUpstreams are the name servers of resolv.conf.
func resolvConfUpstreams(path string) ([]netip.AddrPort, error) {
	cfg, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return nil, err
	}
	var out []netip.AddrPort
	for _, s := range cfg.Servers {
		ap, err := netip.ParseAddrPort(net.JoinHostPort(s, cfg.Port))
		if err != nil {
			return nil, fmt.Errorf("%s: name server %q: %w", path, s, err)
		}
		out = append(out, ap)
	}
	return out, nil
}
