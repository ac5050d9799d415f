package dnsserver

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/elbv2/elbv2state"
	"github.com/berth/berth/internal/servicediscovery/sdstate"
	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/store/bolt"
)

// The tests below talk to servers on loopback only: the server's
// listeners, the fake upstream, VPC resolvers in 127.0.0.0/8.

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{MaxBatchDelay: time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// put writes records, by key, in one transaction.
func put(t *testing.T, st store.Store, records map[string]any) {
	t.Helper()
	var ops []store.Op
	for key, v := range records {
		op, err := store.PutJSON(key, v)
		if err != nil {
			t.Fatal(err)
		}
		ops = append(ops, op)
	}
	if _, err := st.Txn(context.Background(), store.Txn{Then: ops}); err != nil {
		t.Fatal(err)
	}
}

// putFixture writes f's records.
func putFixture(t *testing.T, st store.Store, f *fixture) {
	t.Helper()
	snap := f.snapshot()
	records := map[string]any{}
	for k, v := range snap.Namespaces {
		records[k] = v
	}
	for k, v := range snap.Services {
		records[k] = v
	}
	for k, v := range snap.Instances {
		records[k] = v
	}
	put(t, st, records)
}

// upstream is a fake upstream resolver on loopback: example.org has an
// A record, nx.example.org does not exist, big.example.org is truncated
// over UDP; it counts the questions it gets.
type upstream struct {
	addr  string
	mu    sync.Mutex
	asked map[string]int
}

func startUpstream(t *testing.T) *upstream {
	t.Helper()
	u := &upstream{asked: map[string]int{}}
	var pc net.PacketConn
	var ln net.Listener
	for ln == nil {
		var err error
		if pc, err = net.ListenPacket("udp4", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		u.addr = pc.LocalAddr().String()
		if ln, err = net.Listen("tcp4", u.addr); err != nil {
			// The port is taken for TCP: take another.
			_ = pc.Close()
		}
	}
	handler := func(udp bool) dns.HandlerFunc {
		return func(w dns.ResponseWriter, r *dns.Msg) {
			q := r.Question[0]
			u.mu.Lock()
			u.asked[fmt.Sprintf("%s %s %v", strings.ToLower(q.Name), dns.TypeToString[q.Qtype], udp)]++
			u.mu.Unlock()
			m := new(dns.Msg)
			m.SetReply(r)
			switch strings.ToLower(q.Name) {
			case "example.org.":
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 300}, A: net.IPv4(192, 0, 2, 1)})
			case "big.example.org.":
				if udp {
					m.Truncated = true
				} else {
					m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 300}, A: net.IPv4(192, 0, 2, 2)})
				}
			default:
				m.Rcode = dns.RcodeNameError
				m.Ns = append(m.Ns, &dns.SOA{Hdr: dns.RR_Header{Name: "example.org.", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 600},
					Ns: "ns.example.org.", Mbox: "h.example.org.", Serial: 1, Refresh: 1, Retry: 1, Expire: 1, Minttl: 60})
			}
			_ = w.WriteMsg(m)
		}
	}
	udpServer := &dns.Server{PacketConn: pc, Handler: handler(true)}
	tcpServer := &dns.Server{Listener: ln, Handler: handler(false)}
	go func() { _ = udpServer.ActivateAndServe() }()
	go func() { _ = tcpServer.ActivateAndServe() }()
	t.Cleanup(func() {
		_ = udpServer.Shutdown()
		_ = tcpServer.Shutdown()
	})
	return u
}

func (u *upstream) count(q string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.asked[q]
}

// start runs a server of cfg on a loopback port until the test ends.
func start(t *testing.T, cfg Config, edit ...func(*Server)) (*Server, string) {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	cfg.Logger = slog.New(slog.DiscardHandler)
	s := New(cfg)
	for _, e := range edit {
		e(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		if a, ok := s.Addr(); ok {
			return s, a.String()
		}
		select {
		case err := <-done:
			t.Fatalf("run: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the server did not listen")
		}
	}
}

// exchange asks addr over net ("udp" or "tcp").
func exchange(t *testing.T, network, addr, name string, qtype uint16, edit ...func(*dns.Msg)) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	for _, e := range edit {
		e(m)
	}
	c := &dns.Client{Net: network, Timeout: 3 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s over %s: %v", name, dns.TypeToString[qtype], network, err)
	}
	return r
}

func withEDNS(m *dns.Msg) { m.SetEdns0(1232, false) }

func TestServeUDPAndTCP(t *testing.T) {
	st := openStore(t)
	var f fixture
	f.namespace("ns-1", "corp.local", sdstate.TypeDNSPrivate, "vpc-1", 30)
	f.service("srv-1", "ns-1", "many", sdstate.RoutingMultivalue, rec("AAAA", 60), rec("SRV", 60))
	for i := range 8 {
		f.instance("srv-1", fmt.Sprintf("0123456789abcdef0123456789abcde%d", i), sdstate.Healthy, v6, fmt.Sprintf("fd00::%d", i+1), port, "80")
	}
	putFixture(t, st, &f)
	put(t, st, map[string]any{elbv2state.LoadBalancerKey(region, "web"): elbv2state.LoadBalancer{
		Region: region, Name: "web", DNSName: "web-1.us-east-1.elb.amazonaws.com",
		Subnets: []elbv2state.LoadBalancerSubnet{{Address: "10.0.8.1"}, {SubnetID: "subnet-2"}},
	}})
	srv, addr := start(t, Config{Store: st, Upstreams: []string{startUpstream(t).addr}, Registerer: prometheus.NewRegistry(),
		StaticHosts: map[string][]netip.Addr{"registry.berth.local": {netip.MustParseAddr("127.0.0.1")}}})

	for _, network := range []string{"udp", "tcp"} {
		r := exchange(t, network, addr, "many.corp.local.", dns.TypeAAAA, withEDNS)
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 8 || !r.Authoritative {
			t.Errorf("%s: %v", network, r)
		}
		r = exchange(t, network, addr, "web-1.us-east-1.elb.amazonaws.com.", dns.TypeA)
		if got := rrs(r.Answer); len(got) != 1 || got[0] != "web-1.us-east-1.elb.amazonaws.com. 60 IN A 10.0.8.1" {
			t.Errorf("%s: load balancer: %q", network, got)
		}
		r = exchange(t, network, addr, "registry.berth.local.", dns.TypeA)
		if got := rrs(r.Answer); len(got) != 1 || got[0] != "registry.berth.local. 60 IN A 127.0.0.1" {
			t.Errorf("%s: static host: %q", network, got)
		}
	}

	// 512 bytes without EDNS: truncated over UDP, whole over TCP.
	udp := exchange(t, "udp", addr, "many.corp.local.", dns.TypeSRV)
	if !udp.Truncated || len(udp.Answer) == 8 {
		t.Errorf("UDP without EDNS: TC %v, %d answers", udp.Truncated, len(udp.Answer))
	}
	tcp := exchange(t, "tcp", addr, "many.corp.local.", dns.TypeSRV)
	if tcp.Truncated || len(tcp.Answer) != 8 || len(tcp.Extra) != 8 {
		t.Errorf("TCP: TC %v, %d answers, %d additional", tcp.Truncated, len(tcp.Answer), len(tcp.Extra))
	}
	edns := exchange(t, "udp", addr, "many.corp.local.", dns.TypeSRV, withEDNS)
	if edns.Truncated || len(edns.Answer) != 8 || edns.IsEdns0() == nil {
		t.Errorf("UDP with EDNS: TC %v, %d answers, OPT %v", edns.Truncated, len(edns.Answer), edns.IsEdns0())
	}

	exchange(t, "udp", addr, "nope.corp.local.", dns.TypeA)
	if n := testutil.ToFloat64(srv.metrics.queries.WithLabelValues(kindHost, "NOERROR")); n != 9 {
		t.Errorf("%v NOERROR queries counted, want 9", n)
	}
	if n := testutil.ToFloat64(srv.metrics.queries.WithLabelValues(kindHost, "NXDOMAIN")); n != 1 {
		t.Errorf("%v NXDOMAIN queries counted, want 1", n)
	}
}

func TestForwardAndCache(t *testing.T) {
	up := startUpstream(t)
	_, addr := start(t, Config{Store: openStore(t), Upstreams: []string{up.addr}})

	for range 2 {
		r := exchange(t, "udp", addr, "Example.ORG.", dns.TypeA, withEDNS)
		if got := rrs(r.Answer); len(got) != 1 || !strings.HasSuffix(got[0], "IN A 192.0.2.1") || r.Authoritative || !r.RecursionAvailable {
			t.Errorf("answer %q, AA %v RA %v", got, r.Authoritative, r.RecursionAvailable)
		}
		if r.Answer[0].Header().Ttl > 300 || r.Question[0].Name != "Example.ORG." || r.IsEdns0() == nil {
			t.Errorf("reply %v", r)
		}
	}
	if n := up.count("example.org. A true"); n != 1 {
		t.Errorf("the upstream was asked %d times for two asks", n)
	}

	for range 2 {
		r := exchange(t, "tcp", addr, "nx.example.org.", dns.TypeA)
		if r.Rcode != dns.RcodeNameError || len(r.Ns) != 1 {
			t.Errorf("NXDOMAIN: %v", r)
		}
	}
	if n := up.count("nx.example.org. A true"); n != 1 {
		t.Errorf("the upstream was asked %d times for a name that does not exist", n)
	}

	r := exchange(t, "udp", addr, "big.example.org.", dns.TypeA)
	if got := rrs(r.Answer); len(got) != 1 || !strings.HasSuffix(got[0], "IN A 192.0.2.2") {
		t.Errorf("a truncated upstream answer: %q", got)
	}
	if up.count("big.example.org. A true") != 1 || up.count("big.example.org. A false") != 1 {
		t.Error("a truncated upstream answer was not asked again over TCP")
	}

	r = exchange(t, "udp", addr, "example.org.", dns.TypeA, func(m *dns.Msg) { m.RecursionDesired = false })
	if r.Rcode != dns.RcodeRefused {
		t.Errorf("without recursion desired: %s", dns.RcodeToString[r.Rcode])
	}
}

func TestServfailWithoutUpstream(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := pc.LocalAddr().String()
	_ = pc.Close()
	_, addr := start(t, Config{Store: openStore(t), Upstreams: []string{dead}})
	for _, network := range []string{"udp", "tcp"} {
		if r := exchange(t, network, addr, "example.org.", dns.TypeA); r.Rcode != dns.RcodeServerFailure {
			t.Errorf("%s: %s, want SERVFAIL", network, dns.RcodeToString[r.Rcode])
		}
	}
}

func TestCNAMEFollowed(t *testing.T) {
	st := openStore(t)
	var f fixture
	f.namespace("ns-1", "corp.local", sdstate.TypeDNSPublic, "", 30)
	f.service("srv-web", "ns-1", "web", sdstate.RoutingMultivalue, rec("A", 60))
	f.instance("srv-web", "w1", sdstate.Unknown, v4, "10.0.0.1")
	f.service("srv-in", "ns-1", "alias", sdstate.RoutingWeighted, rec("CNAME", 300))
	f.instance("srv-in", "c1", sdstate.Unknown, sdstate.AttrCNAME, "WEB.corp.local")
	f.service("srv-out", "ns-1", "away", sdstate.RoutingWeighted, rec("CNAME", 300))
	f.instance("srv-out", "c2", sdstate.Unknown, sdstate.AttrCNAME, "example.org")
	putFixture(t, st, &f)
	_, addr := start(t, Config{Store: st, Upstreams: []string{startUpstream(t).addr}})

	r := exchange(t, "udp", addr, "alias.corp.local.", dns.TypeA)
	if got := rrs(r.Answer); len(got) != 2 || got[0] != "WEB.corp.local. 60 IN A 10.0.0.1" || got[1] != "alias.corp.local. 300 IN CNAME WEB.corp.local." {
		t.Errorf("a CNAME in the zone: %q", got)
	}
	r = exchange(t, "tcp", addr, "away.corp.local.", dns.TypeA)
	if got := rrs(r.Answer); len(got) != 2 || got[0] != "away.corp.local. 300 IN CNAME example.org." || !strings.HasSuffix(got[1], "IN A 192.0.2.1") {
		t.Errorf("a CNAME out of the zone: %q", got)
	}
}

func TestChangesVisibleAtOnce(t *testing.T) {
	st := openStore(t)
	var f fixture
	f.namespace("ns-1", "corp.local", sdstate.TypeDNSPrivate, "vpc-1", 30)
	f.service("srv-1", "ns-1", "web", sdstate.RoutingMultivalue, rec("A", 60))
	f.instance("srv-1", "w1", sdstate.Unknown, v4, "10.0.0.1")
	putFixture(t, st, &f)
	_, addr := start(t, Config{Store: st, Upstreams: []string{startUpstream(t).addr}})
	if got := rrs(exchange(t, "udp", addr, "web.corp.local.", dns.TypeA).Answer); len(got) != 1 {
		t.Fatalf("answer %q", got)
	}

	f.instances[0].Attributes[v4] = "10.0.0.2"
	putFixture(t, st, &f)
	changed := time.Now()
	for {
		got := rrs(exchange(t, "udp", addr, "web.corp.local.", dns.TypeA).Answer)
		if len(got) == 1 && strings.HasSuffix(got[0], "10.0.0.2") {
			break
		}
		if time.Since(changed) > time.Second {
			t.Fatalf("a second after the change: %q", got)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("visible after %v", time.Since(changed))

	if _, err := st.Txn(context.Background(), store.Txn{Then: []store.Op{store.Delete(sdstate.InstanceKey(region, "srv-1", "w1"))}}); err != nil {
		t.Fatal(err)
	}
	for time.Since(changed) < 2*time.Second {
		if exchange(t, "udp", addr, "web.corp.local.", dns.TypeA).Rcode == dns.RcodeNameError {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("a deregistered instance still answers")
}

// freePort is a port free on loopback, for VPC resolvers (53 in use).
func freePort(t *testing.T) uint16 {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return uint16(pc.LocalAddr().(*net.UDPAddr).Port)
}

func TestVPCResolvers(t *testing.T) {
	st := openStore(t)
	// VPCs in loopback's range: their resolvers, 127.0.0.2 and 127.1.0.2,
	// are on the host already.
	vpcA := ec2state.VPC{Region: region, ID: "vpc-a", CIDR: "127.0.0.0/16"}
	vpcB := ec2state.VPC{Region: region, ID: "vpc-b", CIDR: "127.1.0.0/16"}
	put(t, st, map[string]any{ec2state.VPCKey(region, vpcA.ID): vpcA, ec2state.VPCKey(region, vpcB.ID): vpcB})
	var f fixture
	f.namespace("ns-1", "corp.local", sdstate.TypeDNSPrivate, "vpc-a", 30)
	f.service("srv-1", "ns-1", "web", sdstate.RoutingMultivalue, rec("A", 60))
	f.instance("srv-1", "w1", sdstate.Unknown, v4, "10.0.0.1")
	putFixture(t, st, &f)
	up := startUpstream(t)
	p := freePort(t)
	start(t, Config{Store: st, Upstreams: []string{up.addr}, ServeVPCs: true}, func(s *Server) { s.vpcPort = p })
	resolverA := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), p).String()
	resolverB := netip.AddrPortFrom(netip.MustParseAddr("127.1.0.2"), p).String()

	r := exchange(t, "udp", resolverA, "web.corp.local.", dns.TypeA)
	if got := rrs(r.Answer); len(got) != 1 || !r.Authoritative {
		t.Errorf("VPC A's resolver: %v", r)
	}
	r = exchange(t, "tcp", resolverB, "web.corp.local.", dns.TypeA)
	if r.Rcode != dns.RcodeNameError || r.Authoritative || up.count("web.corp.local. A true") != 1 {
		t.Errorf("VPC B's resolver did not forward another VPC's private name: %v", r)
	}

	if _, err := st.Txn(context.Background(), store.Txn{Then: []store.Op{store.Delete(ec2state.VPCKey(region, vpcB.ID))}}); err != nil {
		t.Fatal(err)
	}
	c := &dns.Client{Net: "udp", Timeout: 200 * time.Millisecond}
	m := new(dns.Msg)
	m.SetQuestion("example.org.", dns.TypeA)
	for deadline := time.Now().Add(2 * time.Second); ; {
		if _, _, err := c.Exchange(m, resolverB); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a deleted VPC's resolver still answers")
		}
	}
}

func TestListenAddresses(t *testing.T) {
	for listen, ask := range map[string]string{
		"0.0.0.0:0": "127.0.0.2", // not the address the kernel would reply from
		"[::1]:0":   "::1",
	} {
		t.Run(listen, func(t *testing.T) {
			_, addr := start(t, Config{Store: openStore(t), Listen: listen, StaticHosts: map[string][]netip.Addr{"registry.berth.local": {netip.MustParseAddr("127.0.0.1")}}})
			to := netip.AddrPortFrom(netip.MustParseAddr(ask), netip.MustParseAddrPort(addr).Port()).String()
			for _, network := range []string{"udp", "tcp"} {
				if got := rrs(exchange(t, network, to, "registry.berth.local.", dns.TypeA).Answer); len(got) != 1 {
					t.Errorf("%s: %q", network, got)
				}
			}
		})
	}
}

func TestOwnAddressesAreNoUpstream(t *testing.T) {
	srv := New(Config{Store: openStore(t), Logger: slog.New(slog.DiscardHandler)})
	host := netip.MustParseAddrPort("0.0.0.0:53")
	srv.hostAddr.Store(&host)
	srv.resolvers.Store(&map[netip.AddrPort]bool{netip.MustParseAddrPort("10.0.0.2:53"): true})
	for ap, want := range map[string]bool{
		"127.0.0.53:53": true, "10.0.0.2:53": true, "127.0.0.53:5353": false, "192.0.2.1:53": false,
	} {
		if got := srv.own(netip.MustParseAddrPort(ap)); got != want {
			t.Errorf("own(%s) = %v", ap, got)
		}
	}
}
