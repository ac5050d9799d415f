package controller

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Results of a reconcile, the reconciles metric's label.
const (
	resultOK       = "ok"
	resultConflict = "conflict"
	resultError    = "error"
)

type metrics struct {
	reconciles *prometheus.CounterVec
	duration   prometheus.Histogram
	retries    prometheus.Counter
}

// newMetrics registers a Loop's metrics, their names starting with prefix;
// depth reads how many keys are queued.
func newMetrics(reg prometheus.Registerer, prefix string, depth func() float64) *metrics {
	f := promauto.With(reg)
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: prefix + "_queue_depth",
		Help: "Keys queued to be reconciled (not counting those waiting out a delay).",
	}, depth)
	return &metrics{
		reconciles: f.NewCounterVec(prometheus.CounterOpts{
			Name: prefix + "_reconciles_total",
			Help: "Reconciles by result (ok, conflict, error).",
		}, []string{"result"}),
		duration: f.NewHistogram(prometheus.HistogramOpts{
			Name: prefix + "_reconcile_seconds",
			Help: "Time one reconcile took.",
			// 0.5 ms to about 4 min: a service step takes milliseconds, an
			// image scan or a garbage collection sweep minutes.
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 20),
		}),
		retries: f.NewCounter(prometheus.CounterOpts{
			Name: prefix + "_retries_total",
			Help: "Keys queued again after a failed reconcile (a store conflict or an error).",
		}),
	}
}
