package agent

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the agent's Prometheus metrics.
type metrics struct {
	tasks         *prometheus.GaugeVec
	startLatency  prometheus.Histogram
	runtimeErrors *prometheus.CounterVec
	connected     prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		tasks: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "berth_agent_tasks",
			Help: "Tasks on this node by the status the agent last reported.",
		}, []string{"status"}),
		startLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "berth_agent_task_start_seconds",
			Help:    "Time from a task's acceptance by the agent to RUNNING.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600},
		}),
		runtimeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_agent_runtime_errors_total",
			Help: "Errors returned by the container runtime, by operation.",
		}, []string{"op"}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "berth_agent_server_connected",
			Help: "1 while the agent is connected to its server.",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.tasks, m.startLatency, m.runtimeErrors, m.connected} {
			// A second agent in one process (tests) shares the first's
			// collectors rather than failing.
			if err := reg.Register(c); err != nil {
				if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
					switch existing := are.ExistingCollector.(type) {
					case *prometheus.GaugeVec:
						if c == m.tasks {
							m.tasks = existing
						}
					case prometheus.Histogram:
						m.startLatency = existing
					case *prometheus.CounterVec:
						m.runtimeErrors = existing
					case prometheus.Gauge:
						m.connected = existing
					}
				}
			}
		}
	}
	return m
}
