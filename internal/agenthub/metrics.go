package agenthub

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	connected prometheus.Gauge
	received  *prometheus.CounterVec
	sent      *prometheus.CounterVec
	purged    prometheus.Counter
	recorded  prometheus.Counter
}

// newMetrics registers with reg; a nil reg keeps the metrics unregistered.
func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		connected: f.NewGauge(prometheus.GaugeOpts{
			Name: "berth_agenthub_connected_agents",
			Help: "Agents currently connected to this server.",
		}),
		received: f.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_agenthub_messages_received_total",
			Help: "Agent protocol messages received, by type.",
		}, []string{"type"}),
		sent: f.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_agenthub_messages_sent_total",
			Help: "Agent protocol messages sent, by type.",
		}, []string{"type"}),
		purged: f.NewCounter(prometheus.CounterOpts{
			Name: "berth_agenthub_purged_tasks_total",
			Help: "Stopped task records deleted after their retention.",
		}),
		recorded: f.NewCounter(prometheus.CounterOpts{
			Name: "berth_agenthub_task_changes_recorded_total",
			Help: "Task records changed by agents' reports (a record several reports change in one write counts once).",
		}),
	}
}
