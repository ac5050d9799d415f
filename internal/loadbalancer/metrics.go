package loadbalancer

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	checks   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_loadbalancer_requests_total",
			Help: "Requests served by load balancers, by load balancer name and status class.",
		}, []string{"load_balancer", "class"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "berth_loadbalancer_request_seconds",
			Help:    "Time from a request's headers to its response's end, by load balancer name.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"load_balancer"}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_loadbalancer_health_checks_total",
			Help: "Target health checks, by result (pass or fail).",
		}, []string{"result"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.latency, m.checks)
	}
	return m
}

// balancerMetrics are one load balancer's series, looked up once per table
// rather than on every request.
type balancerMetrics struct {
	requests [6]prometheus.Counter // by status class, 1xx to 5xx (0: other)
	latency  prometheus.Observer
}

func (m *metrics) balancer(name string) *balancerMetrics {
	b := &balancerMetrics{latency: m.latency.WithLabelValues(name)}
	for class := range b.requests {
		b.requests[class] = m.requests.WithLabelValues(name, strconv.Itoa(class)+"xx")
	}
	return b
}

// request counts a request answered with status.
func (b *balancerMetrics) request(status int) {
	class := status / 100
	if class < 1 || class >= len(b.requests) {
		class = 0
	}
	b.requests[class].Inc()
}
