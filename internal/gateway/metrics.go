package gateway

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "berth",
			Subsystem: "gateway",
			Name:      "requests_total",
			Help:      "AWS API requests by service, operation and error code (empty on success).",
		}, []string{"service", "operation", "error_code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "berth",
			Subsystem: "gateway",
			Name:      "request_duration_seconds",
			Help:      "Time to answer AWS API requests.",
			Buckets:   prometheus.ExponentialBuckets(0.0005, 4, 10),
		}, []string{"service", "operation"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.requests, m.latency} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

func (m *metrics) observe(service, operation, code string, elapsed time.Duration) {
	m.requests.WithLabelValues(service, operation, code).Inc()
	m.latency.WithLabelValues(service, operation).Observe(elapsed.Seconds())
}
