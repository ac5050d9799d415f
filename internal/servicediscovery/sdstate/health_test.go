package sdstate

import (
	"testing"
	"time"
)

func TestCustomHealth(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type step struct {
		at     time.Duration
		ask    string // "" settles instead
		health string // after the step
		change bool
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"a change waits for the delay", []step{
			{0, Unhealthy, Healthy, true},
			{29 * time.Second, "", Healthy, false},
			{30 * time.Second, "", Unhealthy, true},
		}},
		{"a repeat does not hasten it nor put it off", []step{
			{0, Unhealthy, Healthy, true},
			{20 * time.Second, Unhealthy, Healthy, false},
			{30 * time.Second, "", Unhealthy, true},
		}},
		{"asking the status in effect cancels the change", []step{
			{0, Unhealthy, Healthy, true},
			{10 * time.Second, Healthy, Healthy, true},
			{40 * time.Second, "", Healthy, false},
		}},
		{"the status in effect changes nothing", []step{
			{0, Healthy, Healthy, false},
		}},
	} {
		inst := Instance{Health: Healthy}
		for i, s := range tc.steps {
			var changed bool
			if s.ask != "" {
				changed = inst.AskHealth(s.ask, t0.Add(s.at))
			} else {
				changed = inst.Settle(t0.Add(s.at))
			}
			if changed != s.change || inst.Health != s.health {
				t.Errorf("%s, step %d: changed %v health %s, want %v %s", tc.name, i, changed, inst.Health, s.change, s.health)
			}
		}
	}
}

func TestInitialHealth(t *testing.T) {
	for _, tc := range []struct {
		name  string
		svc   Service
		attrs map[string]string
		want  string
	}{
		{"no health check", Service{}, nil, Unknown},
		{"custom", Service{Custom: &CustomCheck{FailureThreshold: 1}}, nil, Healthy},
		{"custom, starting unhealthy", Service{Custom: &CustomCheck{}}, map[string]string{AttrInitHealth: Unhealthy}, Unhealthy},
		{"Route 53", Service{HealthCheck: &HealthCheck{Type: "HTTP"}}, map[string]string{AttrInitHealth: Unhealthy}, Healthy},
	} {
		if got := InitialHealth(tc.svc, tc.attrs); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
