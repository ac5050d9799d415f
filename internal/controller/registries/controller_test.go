package registries

import (
	"testing"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
)

func TestDecide(t *testing.T) {
	reg := []ecstypes.ServiceRegistry{{RegistryArn: awsapi.String("arn:aws:servicediscovery:us-east-1:123456789012:service/srv-a")}}
	checked := ecstypes.TaskDefinition{ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: awsapi.String("app"), HealthCheck: &ecstypes.HealthCheck{}}}}
	registered := []ecsstate.TaskRegistry{{Registered: true, Health: "HEALTHY"}}
	task := func(desired, last, health string, def ecstypes.TaskDefinition, regs []ecsstate.TaskRegistry) ecsstate.Task {
		return ecsstate.Task{
			DesiredStatus: desired,
			Spec:          ecsstate.TaskSpec{ServiceRegistries: reg, Definition: def},
			Registries:    regs,
			Observed:      ecsstate.TaskStatus{LastStatus: last, HealthStatus: health},
		}
	}
	for _, tc := range []struct {
		name string
		task ecsstate.Task
		want Step
	}{
		{"no registries", ecsstate.Task{DesiredStatus: "RUNNING", Observed: ecsstate.TaskStatus{LastStatus: "RUNNING"}}, StepNone},
		{"pending", task("RUNNING", "PENDING", "", ecstypes.TaskDefinition{}, nil), StepNone},
		{"running without health checks", task("RUNNING", "RUNNING", "UNKNOWN", ecstypes.TaskDefinition{}, nil), StepRegister},
		{"running, health unknown yet", task("RUNNING", "RUNNING", "UNKNOWN", checked, nil), StepNone},
		{"running and healthy", task("RUNNING", "RUNNING", "HEALTHY", checked, nil), StepRegister},
		{"registered, still healthy", task("RUNNING", "RUNNING", "HEALTHY", checked, registered), StepNone},
		{"registered, turned unhealthy", task("RUNNING", "RUNNING", "UNHEALTHY", checked, registered), StepMirrorHealth},
		{"to stop, registered", task("STOPPED", "RUNNING", "HEALTHY", checked, registered), StepDeregister},
		{"stopped by itself, registered", task("RUNNING", "STOPPED", "", ecstypes.TaskDefinition{}, registered), StepDeregister},
		{"to stop, never registered", task("STOPPED", "RUNNING", "", ecstypes.TaskDefinition{}, nil), StepNone},
		{"its registry was gone", task("RUNNING", "RUNNING", "HEALTHY", checked, []ecsstate.TaskRegistry{{Missing: true}}), StepNone},
		{"stopping, its registry was gone", task("STOPPED", "RUNNING", "HEALTHY", checked, []ecsstate.TaskRegistry{{Missing: true}}), StepNone},
		{"deregistered", task("STOPPED", "DEACTIVATING", "", ecstypes.TaskDefinition{}, []ecsstate.TaskRegistry{{Registered: true, Deregistered: true}}), StepNone},
	} {
		if got := Decide(tc.task); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestStopWaitsForDeregistration(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	task := ecsstate.Task{DesiredStatus: "RUNNING", Registries: []ecsstate.TaskRegistry{{Registered: true}}}
	task.RequestStop("UserInitiated", "stop", now)
	if want := now.Add(ecsstate.RegistryDeregisterWait); !task.DrainUntil.Equal(want) {
		t.Fatalf("drain until %v, want %v", task.DrainUntil, want)
	}
	task.RegistriesDeregistered(now.Add(time.Second))
	if want := now.Add(time.Second); !task.DrainUntil.Equal(want) {
		t.Fatalf("after deregistration: drain until %v, want %v", task.DrainUntil, want)
	}
	// A load balancer's deregistration delay still holds the stop.
	lb := ecsstate.Task{DesiredStatus: "RUNNING", Registries: []ecsstate.TaskRegistry{{Registered: true}},
		Targets: []ecsstate.TaskTarget{{Registered: true, DrainDelay: 30 * time.Second}}}
	lb.RequestStop("UserInitiated", "stop", now)
	lb.RegistriesDeregistered(now.Add(time.Second))
	if want := now.Add(30 * time.Second); !lb.DrainUntil.Equal(want) {
		t.Fatalf("with a target group: drain until %v, want %v", lb.DrainUntil, want)
	}
}
