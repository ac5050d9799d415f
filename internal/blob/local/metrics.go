package local

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	written    prometheus.Counter
	read       prometheus.Counter
	commits    prometheus.Counter
	mismatches prometheus.Counter
	active     prometheus.Gauge
	collected  prometheus.Counter
}

// newMetrics registers the store's metrics with reg, if any. A store reopened
// on the same registry shares the collectors registered the first time.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "berth", Subsystem: "blob", Name: name, Help: help})
	}
	m := &metrics{
		written:    counter("written_bytes_total", "Plaintext bytes accepted by upload sessions."),
		read:       counter("read_bytes_total", "Plaintext bytes served from stored blobs."),
		commits:    counter("commits_total", "Upload sessions committed as blobs."),
		mismatches: counter("digest_mismatches_total", "Commits refused because the content did not match the digest."),
		active: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "berth", Subsystem: "blob", Name: "active_uploads",
			Help: "Upload sessions open now."}),
		collected: counter("collected_total", "Blobs deleted as garbage."),
	}
	if reg == nil {
		return m, nil
	}
	var errs [6]error
	m.written, errs[0] = register(reg, m.written)
	m.read, errs[1] = register(reg, m.read)
	m.commits, errs[2] = register(reg, m.commits)
	m.mismatches, errs[3] = register(reg, m.mismatches)
	m.active, errs[4] = register(reg, m.active)
	m.collected, errs[5] = register(reg, m.collected)
	return m, errors.Join(errs[:]...)
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}
