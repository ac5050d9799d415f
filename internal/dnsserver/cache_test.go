package dnsserver

import (
	"fmt"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func mustRR(t *testing.T, s string) dns.RR {
	t.Helper()
	rr, err := dns.NewRR(s)
	if err != nil {
		t.Fatal(err)
	}
	return rr
}

func TestCacheTTL(t *testing.T) {
	soa := "example.org. 600 IN SOA ns.example.org. h.example.org. 1 1 1 1 60"
	for _, tc := range []struct {
		name   string
		rcode  int
		answer []string
		ns     []string
		tc     bool
		want   time.Duration
	}{
		{name: "the smallest TTL of an answer", answer: []string{"a.example.org. 300 IN CNAME b.example.org.", "b.example.org. 30 IN A 192.0.2.1"}, want: 30 * time.Second},
		{name: "NXDOMAIN: the SOA's minimum", rcode: dns.RcodeNameError, ns: []string{soa}, want: time.Minute},
		{name: "NODATA: the SOA's TTL when smaller", ns: []string{"example.org. 20 IN SOA ns.example.org. h.example.org. 1 1 1 1 60"}, want: 20 * time.Second},
		{name: "a day at most", answer: []string{"a.example.org. 604800 IN A 192.0.2.1"}, want: maxCacheTTL},
		{name: "NODATA without SOA is not kept"},
		{name: "TTL 0 is not kept", answer: []string{"a.example.org. 0 IN A 192.0.2.1"}},
		{name: "SERVFAIL is not kept", rcode: dns.RcodeServerFailure, ns: []string{soa}},
		{name: "a truncated answer is not kept", answer: []string{"a.example.org. 300 IN A 192.0.2.1"}, tc: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := new(dns.Msg)
			m.Rcode, m.Truncated = tc.rcode, tc.tc
			for _, s := range tc.answer {
				m.Answer = append(m.Answer, mustRR(t, s))
			}
			for _, s := range tc.ns {
				m.Ns = append(m.Ns, mustRR(t, s))
			}
			got, ok := cacheTTL(m)
			if ok != (tc.want > 0) || got != tc.want {
				t.Errorf("cacheTTL = %v, %v; want %v", got, ok, tc.want)
			}
		})
	}
}

func TestCacheAgesAndExpires(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newCache(2, func() time.Time { return now })
	m := new(dns.Msg)
	m.Answer = []dns.RR{mustRR(t, "a.example.org. 30 IN A 192.0.2.1")}
	c.put("a", m)

	now = now.Add(10 * time.Second)
	e := c.get("a")
	if e == nil {
		t.Fatal("not kept")
	}
	if ttl := e.records(e.msg.Answer, now)[0].Header().Ttl; ttl != 20 {
		t.Errorf("TTL %d after 10 s, want 20", ttl)
	}
	if m.Answer[0].Header().Ttl != 30 {
		t.Error("the stored answer changed")
	}
	now = now.Add(20 * time.Second)
	if c.get("a") != nil {
		t.Error("kept past its TTL")
	}

	for i := range 5 {
		c.put(fmt.Sprint(i), m)
	}
	if len(c.entries) != 2 {
		t.Errorf("%d entries kept, bound 2", len(c.entries))
	}
}
