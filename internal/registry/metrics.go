package registry

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	pushed   prometheus.Counter
	pulled   prometheus.Counter
}

// newMetrics registers with reg; a nil reg keeps the metrics unregistered.
func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_registry_requests_total",
			Help: "Registry API requests by method, endpoint and status code.",
		}, []string{"method", "endpoint", "code"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "berth_registry_request_duration_seconds",
			Help:    "Registry API request latency by endpoint.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}, []string{"endpoint"}),
		pushed: f.NewCounter(prometheus.CounterOpts{
			Name: "berth_registry_blob_bytes_pushed_total",
			Help: "Blob bytes received by uploads.",
		}),
		pulled: f.NewCounter(prometheus.CounterOpts{
			Name: "berth_registry_blob_bytes_pulled_total",
			Help: "Blob bytes served.",
		}),
	}
}

func (m *metrics) observe(method string, ep endpoint, status int, took time.Duration) {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost, http.MethodPatch, http.MethodDelete:
	default:
		method = "OTHER" // keeps the label set bounded
	}
	m.requests.WithLabelValues(method, ep.String(), strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(ep.String()).Observe(took.Seconds())
}
