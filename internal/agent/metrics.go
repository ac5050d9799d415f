package agent

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the agent's Prometheus metrics.
type metrics struct {
	tasks         *prometheus.GaugeVec
	startLatency  prometheus.Histogram
	runtimeErrors *prometheus.CounterVec
	connected     prometheus.Gauge
	// Container log shipping (awslogs).
	logEvents        prometheus.Counter
	logBytes         prometheus.Counter
	logBatchesFailed prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		tasks: register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "berth_agent_tasks",
			Help: "Tasks on this node by the status the agent last reported.",
		}, []string{"status"})),
		startLatency: register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "berth_agent_task_start_seconds",
			Help:    "Time from a task's acceptance by the agent to RUNNING.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600},
		})),
		runtimeErrors: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_agent_runtime_errors_total",
			Help: "Errors returned by the container runtime, by operation.",
		}, []string{"op"})),
		connected: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "berth_agent_server_connected",
			Help: "1 while the agent is connected to its server.",
		})),
		logEvents: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "berth_agent_log_events_total",
			Help: "Container log events (awslogs) the server stored.",
		})),
		logBytes: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "berth_agent_log_bytes_total",
			Help: "Bytes of container log messages (awslogs) the server stored.",
		})),
		logBatchesFailed: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "berth_agent_log_batches_failed_total",
			Help: "Attempts to store a batch of container log events that failed, refused batches included.",
		})),
	}
	return m
}

// register registers c with reg (none: unregistered). A second agent in
// one process (tests) shares the first's collectors rather than failing.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}
