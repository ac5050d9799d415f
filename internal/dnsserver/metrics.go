package dnsserver

import (
	"strconv"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// Kinds of listener, the view label of the query counter.
const (
	kindVPC  = "vpc"
	kindHost = "host"
)

type metrics struct {
	queries   *prometheus.CounterVec
	forwarded *prometheus.CounterVec
	cacheHits prometheus.Counter
	byKind    map[string]*queryCounter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_dns_queries_total",
			Help: "DNS queries answered, by kind of listener (vpc or host) and rcode.",
		}, []string{"view", "rcode"}),
		forwarded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_dns_forwarded_total",
			Help: "Queries sent to the upstream resolvers, by result (answered or failed).",
		}, []string{"result"}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "berth_dns_cache_hits_total",
			Help: "Queries for outside names answered from the cache.",
		}),
		byKind: map[string]*queryCounter{},
	}
	for _, kind := range []string{kindVPC, kindHost} {
		c := &queryCounter{kind: kind, vec: m.queries}
		for _, rcode := range []int{dns.RcodeSuccess, dns.RcodeFormatError, dns.RcodeServerFailure, dns.RcodeNameError, dns.RcodeNotImplemented, dns.RcodeRefused, dns.RcodeBadVers} {
			c.series[rcode] = m.queries.WithLabelValues(kind, dns.RcodeToString[rcode])
		}
		m.byKind[kind] = c
	}
	if reg != nil {
		reg.MustRegister(m.queries, m.forwarded, m.cacheHits)
	}
	return m
}

// queryCounter counts one kind of listener's replies by rcode; the usual
// rcodes' series are looked up once rather than on every query.
type queryCounter struct {
	kind   string
	vec    *prometheus.CounterVec
	series [dns.RcodeBadVers + 1]prometheus.Counter
}

func (c *queryCounter) count(rcode int) {
	if rcode < len(c.series) && c.series[rcode] != nil {
		c.series[rcode].Inc()
		return
	}
	name, ok := dns.RcodeToString[rcode]
	if !ok {
		name = strconv.Itoa(rcode)
	}
	c.vec.WithLabelValues(c.kind, name).Inc()
}
