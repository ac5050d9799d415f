package bolt

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	txnDuration    prometheus.Histogram
	conflicts      prometheus.Counter
	watchers       prometheus.Gauge
	watchOverflows prometheus.Counter
}

func newMetrics() *metrics {
	return &metrics{
		txnDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "berth_store_txn_duration_seconds",
			Help: "Time a store transaction took, including waiting for its batch and the fsync.",
			// From a fast fsync to a stalled disk.
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		conflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "berth_store_txn_conflicts_total",
			Help: "Store transactions rejected because a compared key had changed.",
		}),
		watchers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "berth_store_watchers",
			Help: "Open store watch streams.",
		}),
		watchOverflows: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "berth_store_watch_overflows_total",
			Help: "Watch streams closed because their reader fell too far behind.",
		}),
	}
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.txnDuration, m.conflicts, m.watchers, m.watchOverflows}
}

// register adds every collector to r, or none of them.
func (m *metrics) register(r prometheus.Registerer) error {
	if r == nil {
		return nil
	}
	var done []prometheus.Collector
	for _, c := range m.collectors() {
		if err := r.Register(c); err != nil {
			for _, d := range done {
				r.Unregister(d)
			}
			return fmt.Errorf("store: registering metrics: %w", err)
		}
		done = append(done, c)
	}
	return nil
}

// unregister lets the same registerer be reused by a store reopened later.
func (m *metrics) unregister(r prometheus.Registerer) {
	if r == nil {
		return
	}
	for _, c := range m.collectors() {
		r.Unregister(c)
	}
}
