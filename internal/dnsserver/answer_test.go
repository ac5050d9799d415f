package dnsserver

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/berth/berth/internal/servicediscovery/sdstate"
)

const region = "us-east-1"

// fixture is Cloud Map's records the answer tests ask about.
type fixture struct {
	namespaces []sdstate.Namespace
	services   []sdstate.Service
	instances  []sdstate.Instance
}

func (f *fixture) namespace(id, name, typ, vpc string, soaTTL int64) {
	f.namespaces = append(f.namespaces, sdstate.Namespace{ID: id, Region: region, Name: name, Type: typ, VPC: vpc, SOATTL: soaTTL})
}

func (f *fixture) service(id, namespace, name, policy string, records ...sdstate.DNSRecord) {
	s := sdstate.Service{ID: id, Region: region, NamespaceID: namespace, Name: name}
	if policy != "" {
		s.DNS = &sdstate.DNSConfig{RoutingPolicy: policy, Records: records}
	}
	f.services = append(f.services, s)
}

func (f *fixture) instance(service, id, health string, attrs ...string) {
	a := map[string]string{}
	for i := 0; i+1 < len(attrs); i += 2 {
		a[attrs[i]] = attrs[i+1]
	}
	f.instances = append(f.instances, sdstate.Instance{ID: id, ServiceID: service, Region: region, Attributes: a, Health: health})
}

func (f *fixture) snapshot() *sdstate.Snapshot {
	snap := &sdstate.Snapshot{Namespaces: map[string]sdstate.Namespace{}, Services: map[string]sdstate.Service{}, Instances: map[string]sdstate.Instance{}}
	for _, n := range f.namespaces {
		snap.Namespaces[sdstate.NamespaceKey(n.Region, n.ID)] = n
	}
	for _, s := range f.services {
		snap.Services[sdstate.ServiceKey(s.Region, s.ID)] = s
	}
	for _, i := range f.instances {
		snap.Instances[sdstate.InstanceKey(i.Region, i.ServiceID, i.ID)] = i
	}
	return snap
}

func rec(typ string, ttl int64) sdstate.DNSRecord { return sdstate.DNSRecord{Type: typ, TTL: ttl} }

const (
	v4   = sdstate.AttrIPv4
	v6   = sdstate.AttrIPv6
	port = sdstate.AttrPort
)

// testTable is the table of the answer tests: private namespaces in
// vpc-1 and vpc-2, a public one, a load balancer and a static host.
func testTable() *table {
	var f fixture
	f.namespace("ns-corp", "corp.local", sdstate.TypeDNSPrivate, "vpc-1", 30)
	f.namespace("ns-other", "other.local", sdstate.TypeDNSPrivate, "vpc-2", 30)
	f.namespace("ns-pub", "example.com", sdstate.TypeDNSPublic, "", 0)
	f.namespace("ns-http", "api.internal", sdstate.TypeHTTP, "", 0)
	f.namespace("ns-dup-pub", "dup.local", sdstate.TypeDNSPublic, "", 0)
	f.namespace("ns-dup-priv", "dup.local", sdstate.TypeDNSPrivate, "vpc-1", 0)

	f.service("srv-web", "ns-corp", "web", sdstate.RoutingMultivalue, rec("A", 60))
	f.instance("srv-web", "w1", sdstate.Healthy, v4, "10.0.0.1")
	f.instance("srv-web", "w2", sdstate.Healthy, v4, "10.0.0.2")
	f.instance("srv-web", "w3", sdstate.Unknown, v4, "10.0.0.3")
	f.instance("srv-web", "w9", sdstate.Unhealthy, v4, "10.0.0.9")

	f.service("srv-api", "ns-corp", "api", sdstate.RoutingMultivalue, rec("A", 10), rec("AAAA", 10), rec("SRV", 20))
	f.instance("srv-api", "i-1", sdstate.Healthy, v4, "10.0.1.1", v6, "fd00::1", port, "8080")
	f.instance("srv-api", "i-2", sdstate.Unknown, v4, "10.0.1.2", port, "8081")

	f.service("srv-down", "ns-corp", "down", sdstate.RoutingMultivalue, rec("A", 60))
	f.instance("srv-down", "d1", sdstate.Unhealthy, v4, "10.0.2.1")
	f.instance("srv-down", "d2", sdstate.Unhealthy, v4, "10.0.2.2")

	f.service("srv-big", "ns-corp", "big", sdstate.RoutingMultivalue, rec("A", 60))
	for i := range 12 {
		f.instance("srv-big", fmt.Sprintf("b%d", i), sdstate.Healthy, v4, fmt.Sprintf("10.0.3.%d", i+1))
	}
	f.instance("srv-big", "b-sick", sdstate.Unhealthy, v4, "10.0.3.99")

	f.service("srv-one", "ns-corp", "one", sdstate.RoutingWeighted, rec("A", 60))
	f.instance("srv-one", "o1", sdstate.Healthy, v4, "10.0.4.1")
	f.instance("srv-one", "o2", sdstate.Healthy, v4, "10.0.4.2")
	f.instance("srv-one", "o3", sdstate.Unhealthy, v4, "10.0.4.3")

	f.service("srv-sick", "ns-corp", "sick", sdstate.RoutingWeighted, rec("A", 60))
	f.instance("srv-sick", "k1", sdstate.Unhealthy, v4, "10.0.6.1")
	f.instance("srv-sick", "k2", sdstate.Unhealthy, v4, "10.0.6.2")

	f.service("srv-alias", "ns-corp", "alias", sdstate.RoutingWeighted, rec("CNAME", 300))
	f.instance("srv-alias", "c1", sdstate.Unknown, sdstate.AttrCNAME, "web.corp.local")

	f.service("srv-tcp", "ns-corp", "_http._tcp.db", sdstate.RoutingMultivalue, rec("SRV", 60))
	f.instance("srv-tcp", "db1", sdstate.Unknown, port, "5432")

	f.service("srv-empty", "ns-corp", "empty", sdstate.RoutingMultivalue, rec("A", 60))
	f.service("srv-nodns", "ns-corp", "nodns", "")
	f.instance("srv-nodns", "n1", sdstate.Unknown, v4, "10.0.5.1")
	f.service("srv-httponly", "ns-corp", "httponly", sdstate.RoutingMultivalue, rec("A", 60))
	f.services[len(f.services)-1].Type = sdstate.ServiceTypeHTTP
	f.instance("srv-httponly", "h1", sdstate.Unknown, v4, "10.0.5.2")

	f.service("srv-secret", "ns-other", "web", sdstate.RoutingMultivalue, rec("A", 60))
	f.instance("srv-secret", "s1", sdstate.Unknown, v4, "10.9.9.9")

	f.service("srv-www", "ns-pub", "www", sdstate.RoutingMultivalue, rec("A", 120))
	f.instance("srv-www", "p1", sdstate.Unknown, v4, "192.0.2.10")

	f.service("srv-dup-priv", "ns-dup-priv", "x", sdstate.RoutingMultivalue, rec("A", 60))
	f.instance("srv-dup-priv", "x1", sdstate.Unknown, v4, "10.0.7.1")
	f.service("srv-dup-pub", "ns-dup-pub", "x", sdstate.RoutingMultivalue, rec("A", 60))
	f.instance("srv-dup-pub", "x2", sdstate.Unknown, v4, "192.0.2.7")

	return buildTable(sources{
		cloudMap: f.snapshot(),
		balancers: map[string]balancerName{
			"elbv2/lb/us-east-1|web": {dnsName: "web-123.us-east-1.elb.amazonaws.com", addresses: []netip.Addr{netip.MustParseAddr("10.0.8.1"), netip.MustParseAddr("10.0.9.1")}},
		},
		static: map[string][]netip.Addr{"Registry.Berth.Local": {netip.MustParseAddr("127.0.0.1")}},
		vpcs: map[string]vpcResolver{
			"ec2/vpc/us-east-1|vpc-1": {region: region, id: "vpc-1", cidr: "10.0.0.0/16"},
			"ec2/vpc/us-east-1|vpc-3": {region: region, id: "vpc-3", cidr: "10.3.0.0/16"},
			"ec2/vpc/eu-west-1|vpc-9": {region: "eu-west-1", id: "vpc-9", cidr: "10.4.0.0/16"},
		},
	})
}

// ask asks v for name and type (recursion desired) over UDP with EDNS,
// and decodes the reply.
func ask(t *testing.T, v *view, name string, qtype uint16, edit ...func(*dns.Msg)) (*dns.Msg, outcome) {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.SetEdns0(1232, false)
	for _, e := range edit {
		e(m)
	}
	wire, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return askWire(t, v, wire, false)
}

func askWire(t *testing.T, v *view, wire []byte, tcp bool) (*dns.Msg, outcome) {
	t.Helper()
	var q query
	reply, next := respond(v, &q, wire, tcp, nil)
	if reply == nil {
		return nil, next
	}
	out := new(dns.Msg)
	if err := out.Unpack(reply); err != nil {
		t.Fatalf("reply does not decode: %v", err)
	}
	return out, next
}

// rrs are records in text, tabs as spaces, sorted.
func rrs(section []dns.RR) []string {
	var out []string
	for _, rr := range section {
		if rr.Header().Rrtype == dns.TypeOPT {
			continue
		}
		out = append(out, strings.Join(strings.Fields(rr.String()), " "))
	}
	slices.Sort(out)
	return out
}

func TestAnswers(t *testing.T) {
	tab := testTable()
	vpc1, vpc2 := tab.vpcView(vpcKey(region, "vpc-1")), tab.vpcView(vpcKey(region, "vpc-2"))
	vpc3 := tab.vpcView(vpcKey(region, "vpc-3")) // no private namespace
	const corpSOA = "corp.local. 30 IN SOA ns-1536.awsdns-00.co.uk. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 30"
	for _, tc := range []struct {
		name   string
		view   *view
		qname  string
		qtype  uint16
		rcode  int
		answer []string
		ns     []string
		extra  []string
		next   outcome
	}{
		{name: "A of the healthy instances", view: vpc1, qname: "web.corp.local.", qtype: dns.TypeA,
			answer: []string{"web.corp.local. 60 IN A 10.0.0.1", "web.corp.local. 60 IN A 10.0.0.2", "web.corp.local. 60 IN A 10.0.0.3"}},
		{name: "names are case-insensitive; the owner is the name asked", view: vpc1, qname: "WEB.Corp.LOCAL.", qtype: dns.TypeA,
			answer: []string{"WEB.Corp.LOCAL. 60 IN A 10.0.0.1", "WEB.Corp.LOCAL. 60 IN A 10.0.0.2", "WEB.Corp.LOCAL. 60 IN A 10.0.0.3"}},
		{name: "NODATA carries the SOA", view: vpc1, qname: "web.corp.local.", qtype: dns.TypeAAAA, ns: []string{corpSOA}},
		{name: "NXDOMAIN carries the SOA", view: vpc1, qname: "nope.corp.local.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: []string{corpSOA}},
		{name: "NXDOMAIN below a name", view: vpc1, qname: "x.web.corp.local.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: []string{corpSOA}},
		{name: "apex SOA", view: vpc1, qname: "corp.local.", qtype: dns.TypeSOA, answer: []string{corpSOA}},
		{name: "apex NS", view: vpc1, qname: "Corp.Local.", qtype: dns.TypeNS, answer: []string{"Corp.Local. 172800 IN NS ns-1536.awsdns-00.co.uk."}},
		{name: "apex without the type", view: vpc1, qname: "corp.local.", qtype: dns.TypeA, ns: []string{corpSOA}},
		{name: "apex ANY: one set", view: vpc1, qname: "corp.local.", qtype: dns.TypeANY, answer: []string{corpSOA}},
		{name: "default SOA TTL", view: vpc1, qname: "example.com.", qtype: dns.TypeSOA,
			answer: []string{"example.com. 15 IN SOA ns-1536.awsdns-00.co.uk. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 15"}},
		{name: "SRV with glue", view: vpc1, qname: "api.corp.local.", qtype: dns.TypeSRV,
			answer: []string{"api.corp.local. 20 IN SRV 1 1 8080 i-1.api.corp.local.", "api.corp.local. 20 IN SRV 1 1 8081 i-2.api.corp.local."},
			extra:  []string{"i-1.api.corp.local. 10 IN A 10.0.1.1", "i-1.api.corp.local. 10 IN AAAA fd00::1", "i-2.api.corp.local. 10 IN A 10.0.1.2"}},
		{name: "AAAA", view: vpc1, qname: "api.corp.local.", qtype: dns.TypeAAAA, answer: []string{"api.corp.local. 10 IN AAAA fd00::1"}},
		{name: "an SRV target's A", view: vpc1, qname: "i-1.api.corp.local.", qtype: dns.TypeA, answer: []string{"i-1.api.corp.local. 10 IN A 10.0.1.1"}},
		{name: "an SRV target's AAAA", view: vpc1, qname: "I-1.api.corp.local.", qtype: dns.TypeAAAA, answer: []string{"I-1.api.corp.local. 10 IN AAAA fd00::1"}},
		{name: "an SRV target without AAAA", view: vpc1, qname: "i-2.api.corp.local.", qtype: dns.TypeAAAA, ns: []string{corpSOA}},
		{name: "no instance healthy: all answer", view: vpc1, qname: "down.corp.local.", qtype: dns.TypeA,
			answer: []string{"down.corp.local. 60 IN A 10.0.2.1", "down.corp.local. 60 IN A 10.0.2.2"}},
		{name: "ANY: the addresses", view: vpc1, qname: "down.corp.local.", qtype: dns.TypeANY,
			answer: []string{"down.corp.local. 60 IN A 10.0.2.1", "down.corp.local. 60 IN A 10.0.2.2"}},
		{name: "SRV without addresses: no glue, no target names", view: vpc1, qname: "_http._tcp.db.corp.local.", qtype: dns.TypeSRV,
			answer: []string{"_http._tcp.db.corp.local. 60 IN SRV 1 1 5432 db1._http._tcp.db.corp.local."}},
		{name: "an SRV target without addresses does not exist", view: vpc1, qname: "db1._http._tcp.db.corp.local.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: []string{corpSOA}},
		{name: "empty non-terminal: NODATA", view: vpc1, qname: "_tcp.db.corp.local.", qtype: dns.TypeA, ns: []string{corpSOA}},
		{name: "empty non-terminal above it", view: vpc1, qname: "db.corp.local.", qtype: dns.TypeSRV, ns: []string{corpSOA}},
		{name: "CNAME, not followed without recursion", view: vpc1, qname: "alias.corp.local.", qtype: dns.TypeCNAME,
			answer: []string{"alias.corp.local. 300 IN CNAME web.corp.local."}},
		{name: "CNAME for A: to be followed", view: vpc1, qname: "alias.corp.local.", qtype: dns.TypeA,
			answer: []string{"alias.corp.local. 300 IN CNAME web.corp.local."}, next: chase},
		{name: "a service without instances does not exist", view: vpc1, qname: "empty.corp.local.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: []string{corpSOA}},
		{name: "a service without DNS does not exist", view: vpc1, qname: "nodns.corp.local.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: []string{corpSOA}},
		{name: "an HTTP service does not exist", view: vpc1, qname: "httponly.corp.local.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: []string{corpSOA}},
		{name: "another VPC's private namespace is outside", view: vpc1, qname: "web.other.local.", qtype: dns.TypeA, next: forward},
		{name: "its own VPC sees it", view: vpc2, qname: "web.other.local.", qtype: dns.TypeA, answer: []string{"web.other.local. 60 IN A 10.9.9.9"}},
		{name: "the host sees every namespace", view: tab.host, qname: "web.other.local.", qtype: dns.TypeA, answer: []string{"web.other.local. 60 IN A 10.9.9.9"}},
		{name: "a VPC without private namespaces", view: vpc3, qname: "web.corp.local.", qtype: dns.TypeA, next: forward},
		{name: "public namespaces are everyone's", view: vpc3, qname: "www.example.com.", qtype: dns.TypeA, answer: []string{"www.example.com. 120 IN A 192.0.2.10"}},
		{name: "an HTTP namespace is no zone", view: tab.host, qname: "api.internal.", qtype: dns.TypeSOA, next: forward},
		{name: "a private namespace wins over a public one of its name", view: vpc1, qname: "x.dup.local.", qtype: dns.TypeA, answer: []string{"x.dup.local. 60 IN A 10.0.7.1"}},
		{name: "elsewhere the public one", view: vpc2, qname: "x.dup.local.", qtype: dns.TypeA, answer: []string{"x.dup.local. 60 IN A 192.0.2.7"}},
		{name: "a load balancer", view: vpc3, qname: "web-123.us-east-1.elb.amazonaws.com.", qtype: dns.TypeA,
			answer: []string{"web-123.us-east-1.elb.amazonaws.com. 60 IN A 10.0.8.1", "web-123.us-east-1.elb.amazonaws.com. 60 IN A 10.0.9.1"}},
		{name: "a load balancer has no AAAA, and no zone", view: vpc3, qname: "web-123.us-east-1.elb.amazonaws.com.", qtype: dns.TypeAAAA},
		{name: "below a load balancer's name is outside", view: vpc3, qname: "x.web-123.us-east-1.elb.amazonaws.com.", qtype: dns.TypeA, next: forward},
		{name: "a static host", view: tab.host, qname: "registry.berth.local.", qtype: dns.TypeA, answer: []string{"registry.berth.local. 60 IN A 127.0.0.1"}},
		{name: "outside names are forwarded", view: vpc1, qname: "example.org.", qtype: dns.TypeA, next: forward},
		{name: "an EC2 name of the VPC's range", view: vpc3, qname: "IP-10-3-1-5.ec2.internal.", qtype: dns.TypeA, answer: []string{"IP-10-3-1-5.ec2.internal. 60 IN A 10.3.1.5"}},
		{name: "an EC2 name has no AAAA", view: vpc3, qname: "ip-10-3-1-5.ec2.internal.", qtype: dns.TypeAAAA},
		{name: "an EC2 name of another VPC is outside", view: vpc3, qname: "ip-10-0-1-5.ec2.internal.", qtype: dns.TypeA, next: forward},
		{name: "a VPC with private namespaces has its EC2 names too", view: vpc1, qname: "ip-10-0-1-5.ec2.internal.", qtype: dns.TypeA, answer: []string{"ip-10-0-1-5.ec2.internal. 60 IN A 10.0.1.5"}},
		{name: "the host sees every VPC's EC2 names, in their regions' domains", view: tab.host, qname: "ip-10-4-0-9.eu-west-1.compute.internal.", qtype: dns.TypeA,
			answer: []string{"ip-10-4-0-9.eu-west-1.compute.internal. 60 IN A 10.4.0.9"}},
		{name: "not in its region's domain", view: tab.host, qname: "ip-10-4-0-9.ec2.internal.", qtype: dns.TypeA, next: forward},
		{name: "not an address", view: vpc3, qname: "ip-10-3-1.ec2.internal.", qtype: dns.TypeA, next: forward},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, next := ask(t, tc.view, tc.qname, tc.qtype)
			if next != tc.next {
				t.Fatalf("outcome %d, want %d", next, tc.next)
			}
			if tc.next == forward {
				if got != nil {
					t.Fatalf("a forwarded query got a reply: %v", got)
				}
				return
			}
			if got.Rcode != tc.rcode || !got.Authoritative || !got.RecursionAvailable || !got.Response || got.Truncated {
				t.Errorf("rcode %s aa %v ra %v tc %v, want %s, AA, RA", dns.RcodeToString[got.Rcode], got.Authoritative, got.RecursionAvailable, got.Truncated, dns.RcodeToString[tc.rcode])
			}
			if len(got.Question) != 1 || got.Question[0].Name != tc.qname {
				t.Errorf("question %v", got.Question)
			}
			if g := rrs(got.Answer); !slices.Equal(g, tc.answer) {
				t.Errorf("answer\n%q\nwant\n%q", g, tc.answer)
			}
			if g := rrs(got.Ns); !slices.Equal(g, tc.ns) {
				t.Errorf("authority\n%q\nwant\n%q", g, tc.ns)
			}
			if g := rrs(got.Extra); !slices.Equal(g, tc.extra) {
				t.Errorf("additional\n%q\nwant\n%q", g, tc.extra)
			}
			if got.IsEdns0() == nil {
				t.Error("no OPT echoed")
			}
		})
	}
}

func TestMultivalueAnswersUpToEightInRandomOrder(t *testing.T) {
	v := testTable().host
	orders := map[string]bool{}
	seen := map[string]bool{}
	for range 200 {
		got, _ := ask(t, v, "big.corp.local.", dns.TypeA)
		if len(got.Answer) != 8 {
			t.Fatalf("%d answers, want 8", len(got.Answer))
		}
		var order []string
		distinct := map[string]bool{}
		for _, rr := range got.Answer {
			a := rr.(*dns.A).A.String()
			if a == "10.0.3.99" {
				t.Fatal("an unhealthy instance answered while others are healthy")
			}
			distinct[a], seen[a] = true, true
			order = append(order, a)
		}
		if len(distinct) != 8 {
			t.Fatalf("repeated records: %v", order)
		}
		orders[strings.Join(order, ",")] = true
	}
	if len(seen) != 12 {
		t.Errorf("%d instances ever answered, want all 12 healthy", len(seen))
	}
	if len(orders) < 100 {
		t.Errorf("only %d different answers in 200", len(orders))
	}

	orders = map[string]bool{}
	for range 100 {
		got, _ := ask(t, v, "web.corp.local.", dns.TypeA)
		orders[fmt.Sprint(got.Answer)] = true
	}
	if len(orders) < 2 {
		t.Error("three records always in one order")
	}
}

func TestWeightedAnswersOne(t *testing.T) {
	v := testTable().host
	for name, want := range map[string][]string{
		"one.corp.local.":  {"10.0.4.1", "10.0.4.2"}, // the healthy ones
		"sick.corp.local.": {"10.0.6.1", "10.0.6.2"}, // none healthy: all
	} {
		seen := map[string]int{}
		for range 200 {
			got, _ := ask(t, v, name, dns.TypeA)
			if len(got.Answer) != 1 {
				t.Fatalf("%s: %d answers, want 1", name, len(got.Answer))
			}
			seen[got.Answer[0].(*dns.A).A.String()]++
		}
		if len(seen) != len(want) || seen[want[0]] == 0 || seen[want[1]] == 0 {
			t.Errorf("%s answered %v, want %v", name, seen, want)
		}
	}
}

func TestErrors(t *testing.T) {
	v := testTable().host
	query := func(edit func(*dns.Msg)) []byte {
		m := new(dns.Msg)
		m.SetQuestion("web.corp.local.", dns.TypeA)
		edit(m)
		wire, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return wire
	}
	for _, tc := range []struct {
		name  string
		wire  []byte
		rcode int
		none  bool
	}{
		{name: "two questions", wire: query(func(m *dns.Msg) { m.Question = append(m.Question, m.Question[0]) }), rcode: dns.RcodeFormatError},
		{name: "no question", wire: query(func(m *dns.Msg) { m.Question = nil }), rcode: dns.RcodeFormatError},
		{name: "a cut name", wire: query(func(*dns.Msg) {})[:20], rcode: dns.RcodeFormatError},
		{name: "a record in the answer section", wire: query(func(m *dns.Msg) { m.Answer = []dns.RR{&dns.A{Hdr: header(dns.TypeA, 1)}} }), rcode: dns.RcodeFormatError},
		{name: "two OPT records", wire: query(func(m *dns.Msg) { m.SetEdns0(1232, false); m.Extra = append(m.Extra, m.Extra[0]) }), rcode: dns.RcodeFormatError},
		{name: "NOTIFY", wire: query(func(m *dns.Msg) { m.Opcode = dns.OpcodeNotify }), rcode: dns.RcodeNotImplemented},
		{name: "UPDATE", wire: query(func(m *dns.Msg) { m.Opcode = dns.OpcodeUpdate }), rcode: dns.RcodeNotImplemented},
		{name: "EDNS version 1", wire: query(func(m *dns.Msg) { m.SetEdns0(1232, false); m.Extra[0].(*dns.OPT).SetVersion(1) }), rcode: dns.RcodeBadVers},
		{name: "class CHAOS", wire: query(func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassCHAOS }), rcode: dns.RcodeRefused},
		{name: "AXFR", wire: query(func(m *dns.Msg) { m.Question[0].Qtype = dns.TypeAXFR }), rcode: dns.RcodeRefused},
		{name: "outside without recursion", wire: query(func(m *dns.Msg) { m.Question[0].Name = "example.org."; m.RecursionDesired = false }), rcode: dns.RcodeRefused},
		{name: "a response", wire: query(func(m *dns.Msg) { m.Response = true }), none: true},
		{name: "a runt", wire: []byte{1, 2, 3}, none: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, next := askWire(t, v, tc.wire, false)
			if next != done {
				t.Fatalf("outcome %d", next)
			}
			if tc.none {
				if got != nil {
					t.Fatalf("replied %v", got)
				}
				return
			}
			if got.Rcode != tc.rcode || !got.Response || len(got.Answer) != 0 {
				t.Errorf("rcode %s, %d answers; want %s", dns.RcodeToString[got.Rcode], len(got.Answer), dns.RcodeToString[tc.rcode])
			}
			if want := binary.BigEndian.Uint16(tc.wire); got.Id != want {
				t.Errorf("id %d, want %d", got.Id, want)
			}
		})
	}
}

// bigSRV is a table whose SRV answer is eight records with AAAA glue:
// more than 512 bytes.
func bigSRV() *view {
	var f fixture
	f.namespace("ns-1", "corp.local", sdstate.TypeDNSPrivate, "vpc-1", 30)
	f.service("srv-1", "ns-1", "many", sdstate.RoutingMultivalue, rec("AAAA", 60), rec("SRV", 60))
	for i := range 8 {
		f.instance("srv-1", fmt.Sprintf("0123456789abcdef0123456789abcde%d", i), sdstate.Healthy, v6, fmt.Sprintf("fd00::%d", i+1), port, "80")
	}
	return buildTable(sources{cloudMap: f.snapshot()}).host
}

func TestTruncation(t *testing.T) {
	v := bigSRV()
	noEDNS := func(m *dns.Msg) { m.Extra = nil }
	small, _ := ask(t, v, "many.corp.local.", dns.TypeSRV, noEDNS)
	if !small.Truncated || len(small.Answer) == 0 || len(small.Answer) == 8 || len(small.Extra) != 0 {
		t.Errorf("without EDNS: TC %v, %d answers, %d additional; want TC and part of the answers", small.Truncated, len(small.Answer), len(small.Extra))
	}
	m := new(dns.Msg)
	m.SetQuestion("many.corp.local.", dns.TypeSRV)
	wire, _ := m.Pack()
	var q query
	if raw, _ := respond(v, &q, wire, false, nil); len(raw) > 512 {
		t.Errorf("a %d-byte reply without EDNS", len(raw))
	}

	big, _ := ask(t, v, "many.corp.local.", dns.TypeSRV)
	if big.Truncated || len(big.Answer) != 8 || len(rrs(big.Extra)) != 8 {
		t.Errorf("with EDNS 1232: TC %v, %d answers, %d additional; want all", big.Truncated, len(big.Answer), len(rrs(big.Extra)))
	}

	// A larger buffer offered is capped at 1232: glue that does not fit
	// is left out without TC.
	capped, _ := ask(t, v, "many.corp.local.", dns.TypeSRV, func(m *dns.Msg) { m.Extra[0].(*dns.OPT).SetUDPSize(600) })
	if capped.Truncated || len(capped.Answer) != 8 || len(rrs(capped.Extra)) == 8 {
		t.Errorf("with EDNS 600: TC %v, %d answers, %d additional; want every answer, some glue", capped.Truncated, len(capped.Answer), len(rrs(capped.Extra)))
	}
	if opt := capped.IsEdns0(); opt == nil || opt.UDPSize() != udpCap {
		t.Errorf("OPT %v, want ours with %d", opt, udpCap)
	}

	tcp, _ := askWire(t, v, wire, true)
	if tcp.Truncated || len(tcp.Answer) != 8 || len(tcp.Extra) != 8 {
		t.Errorf("TCP: TC %v, %d answers, %d additional; want all", tcp.Truncated, len(tcp.Answer), len(tcp.Extra))
	}
}

func TestDOBitEchoed(t *testing.T) {
	got, _ := ask(t, testTable().host, "web.corp.local.", dns.TypeA, func(m *dns.Msg) { m.Extra[0].(*dns.OPT).SetDo() })
	if opt := got.IsEdns0(); opt == nil || !opt.Do() {
		t.Errorf("OPT %v, want DO", opt)
	}
}

func TestAnswerAllocatesNothing(t *testing.T) {
	v := testTable().host
	m := new(dns.Msg)
	m.SetQuestion("api.corp.local.", dns.TypeSRV)
	m.SetEdns0(1232, false)
	wire, _ := m.Pack()
	out := make([]byte, 0, 4096)
	var q query
	if n := testing.AllocsPerRun(100, func() { respond(v, &q, wire, false, out[:0]) }); n != 0 {
		t.Errorf("%v allocations per answer", n)
	}
}

func BenchmarkRespond(b *testing.B) {
	v := testTable().host
	m := new(dns.Msg)
	m.SetQuestion("web.corp.local.", dns.TypeA)
	m.SetEdns0(1232, false)
	wire, _ := m.Pack()
	out := make([]byte, 0, 4096)
	var q query
	for b.Loop() {
		respond(v, &q, wire, false, out[:0])
	}
}
