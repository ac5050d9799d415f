package hollow

import (
	"testing"
	"time"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecstypes"
)

func desired(status string, generation int64, healthCheck bool) agentproto.DesiredTask {
	def := ecstypes.ContainerDefinition{Name: awsapi.String("app"), Essential: awsapi.Bool(true)}
	if healthCheck {
		def.HealthCheck = &ecstypes.HealthCheck{Command: []string{"CMD", "true"}}
	}
	return agentproto.DesiredTask{
		Cluster: "c", ID: "0123456789abcdef0123456789abcdef", Generation: generation, DesiredStatus: status,
		Spec: agentproto.TaskSpec{
			Definition: ecstypes.TaskDefinition{ContainerDefinitions: []ecstypes.ContainerDefinition{def}},
			Containers: []agentproto.ContainerSpec{{Name: "app", ID: "c1"}},
		},
	}
}

func TestReportAnswersEachIntentOnce(t *testing.T) {
	f := &Fleet{cfg: Config{Cluster: "c"}}
	a, err := newAgent(f, 0)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	key := reportKey("c", "0123456789abcdef0123456789abcdef")
	steps := []struct {
		name       string
		desired    agentproto.DesiredTask
		wantReport bool
		wantStatus string
		wantHealth string
	}{
		{"start", desired(agentproto.StatusRunning, 1, true), true, agentproto.StatusRunning, ecstypes.HealthStatusHealthy},
		{"same intent again", desired(agentproto.StatusRunning, 1, true), false, agentproto.StatusRunning, ecstypes.HealthStatusHealthy},
		{"stop", desired(agentproto.StatusStopped, 2, true), true, agentproto.StatusStopped, ecstypes.HealthStatusUnknown},
		{"stop again", desired(agentproto.StatusStopped, 2, true), false, agentproto.StatusStopped, ecstypes.HealthStatusUnknown},
		{"stopped is final", desired(agentproto.StatusRunning, 3, true), true, agentproto.StatusStopped, ecstypes.HealthStatusUnknown},
	}
	for _, s := range steps {
		clear(a.dirty)
		if got := a.report(s.desired, now); got != s.wantReport {
			t.Fatalf("%s: report = %v, want %v", s.name, got, s.wantReport)
		}
		if a.dirty[key] != s.wantReport {
			t.Fatalf("%s: dirty = %v, want %v", s.name, a.dirty[key], s.wantReport)
		}
		st := a.reports[key].Status
		if st.LastStatus != s.wantStatus || st.HealthStatus != s.wantHealth || st.Generation != s.desired.Generation && s.wantReport {
			t.Fatalf("%s: status %s health %s generation %d, want %s %s %d", s.name, st.LastStatus, st.HealthStatus, st.Generation,
				s.wantStatus, s.wantHealth, s.desired.Generation)
		}
		if len(st.Containers) != 1 || st.Containers[0].LastStatus != s.wantStatus {
			t.Fatalf("%s: containers %+v", s.name, st.Containers)
		}
		switch s.wantStatus {
		case agentproto.StatusRunning:
			if !st.StartedAt.Equal(now) || st.Containers[0].RuntimeID == "" {
				t.Fatalf("%s: startedAt %v runtime id %q", s.name, st.StartedAt, st.Containers[0].RuntimeID)
			}
		case agentproto.StatusStopped:
			if !st.StoppedAt.Equal(now) || st.Containers[0].ExitCode == nil || *st.Containers[0].ExitCode != 0 {
				t.Fatalf("%s: stoppedAt %v exit code %v", s.name, st.StoppedAt, st.Containers[0].ExitCode)
			}
		}
	}
}

func TestRunningWithoutHealthCheckIsUnknown(t *testing.T) {
	f := &Fleet{cfg: Config{Cluster: "c"}}
	a, err := newAgent(f, 0)
	if err != nil {
		t.Fatal(err)
	}
	a.report(desired(agentproto.StatusRunning, 1, false), time.Now())
	st := a.reports[reportKey("c", "0123456789abcdef0123456789abcdef")].Status
	if st.HealthStatus != ecstypes.HealthStatusUnknown || st.Containers[0].HealthStatus != ecstypes.HealthStatusUnknown {
		t.Fatalf("health %s, container %s; want UNKNOWN", st.HealthStatus, st.Containers[0].HealthStatus)
	}
}

func TestStoppedBeforeStartHasNoExitCode(t *testing.T) {
	f := &Fleet{cfg: Config{Cluster: "c"}}
	a, err := newAgent(f, 0)
	if err != nil {
		t.Fatal(err)
	}
	a.report(desired(agentproto.StatusStopped, 2, false), time.Now())
	st := a.reports[reportKey("c", "0123456789abcdef0123456789abcdef")].Status
	if st.LastStatus != agentproto.StatusStopped || st.Containers[0].ExitCode != nil || st.Containers[0].RuntimeID != "" {
		t.Fatalf("status %+v", st)
	}
}
