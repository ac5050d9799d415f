package ecsstate

import (
	"testing"
	"time"
)

// A stopping task drains for its target groups' deregistration delays:
// those in effect when it is deregistered, which may differ from those
// when it was registered; and at least until Cloud Map lets it go.
func TestTargetsDeregisteredDrain(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		registered []time.Duration // each group's delay at registration
		now        []time.Duration // at deregistration (missing: group gone)
		cloudMap   bool
		at         time.Duration // when the deregistration happens
		want       time.Duration // DrainUntil - t0; -1: no drain
	}{
		{"delay shortened since registration", []time.Duration{300 * time.Second}, []time.Duration{5 * time.Second}, false, time.Second, 5 * time.Second},
		{"delay lengthened", []time.Duration{5 * time.Second}, []time.Duration{60 * time.Second}, false, time.Second, 60 * time.Second},
		{"the longest of two groups", []time.Duration{300 * time.Second, 300 * time.Second}, []time.Duration{5 * time.Second, 20 * time.Second}, false, 0, 20 * time.Second},
		{"a gone group keeps its delay", []time.Duration{30 * time.Second}, nil, false, 0, 30 * time.Second},
		{"already past: now", []time.Duration{300 * time.Second}, []time.Duration{time.Second}, false, 10 * time.Second, 10 * time.Second},
		{"Cloud Map still registered", []time.Duration{300 * time.Second}, []time.Duration{0}, true, 0, RegistryDeregisterWait},
		{"no drain at the stop stays none", []time.Duration{0}, []time.Duration{300 * time.Second}, false, 0, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			task := &Task{DesiredStatus: StatusRunning}
			delays := map[string]time.Duration{}
			for i, d := range tc.registered {
				arn := string(rune('a' + i))
				task.Targets = append(task.Targets, TaskTarget{TargetGroupARN: arn, Registered: true, DrainDelay: d})
				if i < len(tc.now) {
					delays[arn] = tc.now[i]
				}
			}
			if tc.cloudMap {
				task.Registries = []TaskRegistry{{Registered: true}}
			}
			task.RequestStop("ServiceSchedulerInitiated", "scaling in", t0)
			task.TargetsDeregistered(delays, t0.Add(tc.at))
			got := task.DrainUntil.Sub(t0)
			if task.DrainUntil.IsZero() {
				got = -1
			}
			if got != tc.want {
				t.Errorf("drains until t0+%v, want t0+%v", got, tc.want)
			}
		})
	}
}
