package logs

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	events       prometheus.Counter
	expiredBytes prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		events: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "berth_logs_events_stored_total",
			Help: "Log events stored, from PutLogEvents and from containers' awslogs output.",
		}),
		expiredBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "berth_logs_expired_bytes_total",
			Help: "Bytes of log events removed by retention and of deleted streams.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.events, m.expiredBytes)
	}
	return m
}
