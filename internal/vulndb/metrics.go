package vulndb

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	registerer    prometheus.Registerer
	collectors    []prometheus.Collector
	imports       *prometheus.CounterVec
	importSeconds prometheus.Histogram
	matchSeconds  prometheus.Histogram
}

// newMetrics registers the database's metrics with reg (none when nil).
func newMetrics(reg prometheus.Registerer, info func() Info) (*metrics, error) {
	m := &metrics{
		registerer: reg,
		imports: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_vulndb_imports_total",
			Help: "Vulnerability database imports by result: committed, invalid (invalid files, nothing changed), failed.",
		}, []string{"result"}),
		importSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "berth_vulndb_import_duration_seconds",
			Help:    "Time to import a set of OSV records.",
			Buckets: prometheus.ExponentialBuckets(0.1, 4, 8),
		}),
		matchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "berth_vulndb_match_duration_seconds",
			Help:    "Time to match one image's packages against the vulnerability database.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}),
	}
	records := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "berth_vulndb_records",
		Help: "OSV records in the vulnerability database (withdrawn ones left out).",
	}, func() float64 { return float64(info().Records) })
	m.collectors = []prometheus.Collector{m.imports, m.importSeconds, m.matchSeconds, records}
	if reg == nil {
		return m, nil
	}
	for i, c := range m.collectors {
		if err := reg.Register(c); err != nil {
			for _, done := range m.collectors[:i] {
				reg.Unregister(done)
			}
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) unregister() {
	if m.registerer == nil {
		return
	}
	for _, c := range m.collectors {
		m.registerer.Unregister(c)
	}
}

func (m *metrics) imported(result string, start time.Time) {
	m.imports.WithLabelValues(result).Inc()
	m.importSeconds.Observe(time.Since(start).Seconds())
}
