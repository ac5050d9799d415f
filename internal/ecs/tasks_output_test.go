package ecs

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
)

// A task's overrides list every container in definition order, the
// user's override where there is one and the name alone otherwise, as
// ECS answers RunTask and DescribeTasks.
func TestTaskOverridesListEveryContainer(t *testing.T) {
	containers := []ecsstate.ContainerSpec{{Name: "web"}, {Name: "sidecar"}}
	tests := []struct {
		name string
		in   *ecstypes.TaskOverride
		want string
	}{
		{"no overrides", nil,
			`{"containerOverrides":[{"name":"web"},{"name":"sidecar"}],"inferenceAcceleratorOverrides":[]}`},
		{"one container overridden, given out of order", &ecstypes.TaskOverride{
			Cpu: awsapi.String("512"),
			ContainerOverrides: []ecstypes.ContainerOverride{
				{Name: awsapi.String("sidecar"), Command: []string{"sleep", "1"}},
			}},
			`{"containerOverrides":[{"name":"web"},{"command":["sleep","1"],"name":"sidecar"}],"cpu":"512","inferenceAcceleratorOverrides":[]}`},
		{"an empty override ECS accepts", &ecstypes.TaskOverride{ContainerOverrides: []ecstypes.ContainerOverride{{}}},
			`{"containerOverrides":[{"name":"web"},{"name":"sidecar"}],"inferenceAcceleratorOverrides":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(taskOverridesOutput(tt.in, containers))
			if err != nil {
				t.Fatal(err)
			}
			// Compare as generic JSON: key order is the encoder's business.
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tt.want), &w); err != nil {
				t.Fatal(err)
			}
			gb, _ := json.Marshal(g)
			wb, _ := json.Marshal(w)
			if string(gb) != string(wb) {
				t.Errorf("overrides\n got %s\nwant %s", gb, wb)
			}
		})
	}
	// The stored overrides stay as the user gave them: the answer is built
	// beside them, not in their backing array (whose first slot a rewrite
	// in definition order would give to "web").
	in := &ecstypes.TaskOverride{ContainerOverrides: make([]ecstypes.ContainerOverride, 1, 2)}
	in.ContainerOverrides[0] = ecstypes.ContainerOverride{Name: awsapi.String("sidecar"), Command: []string{"x"}}
	taskOverridesOutput(in, containers)
	stored := in.ContainerOverrides[:cap(in.ContainerOverrides)]
	if awsapi.Deref(stored[0].Name) != "sidecar" || len(stored[0].Command) != 1 || stored[1].Name != nil {
		t.Errorf("the stored overrides changed: %+v", stored)
	}
}

// A task whose definition sets no size shows its containers' sums, as ECS
// shows EC2 tasks: memory counts the hard limit, else the reservation.
func TestContainersSize(t *testing.T) {
	s := func(v string) *string { return &v }
	for _, tc := range []struct {
		name        string
		containers  []ecstypes.Container
		cpu, memory string
	}{
		{"none", nil, "0", "0"},
		{"one", []ecstypes.Container{{Cpu: s("10"), Memory: s("300")}}, "10", "300"},
		{"limit or reservation", []ecstypes.Container{
			{Cpu: s("128"), Memory: s("256"), MemoryReservation: s("64")},
			{Cpu: s("0"), MemoryReservation: s("128")},
		}, "128", "384"},
	} {
		cpu, memory := containersSize(tc.containers)
		if *cpu != tc.cpu || *memory != tc.memory {
			t.Errorf("%s: cpu %s memory %s, want %s and %s", tc.name, *cpu, *memory, tc.cpu, tc.memory)
		}
	}
}

// The version counter counts the changes ECS sends events for, as its
// documented outputs number them.
func TestTaskVersion(t *testing.T) {
	started := time.Date(2026, 3, 1, 10, 0, 5, 0, time.UTC)
	awsvpc := &ecstypes.AwsVpcConfiguration{}
	tests := []struct {
		name       string
		network    *ecstypes.AwsVpcConfiguration
		generation int64
		lastStatus string
		startedAt  time.Time
		want       int64
	}{
		{"EC2 pending", nil, 1, ecsstate.StatusPending, time.Time{}, 1},
		{"EC2 running", nil, 1, ecsstate.StatusRunning, started, 2},
		{"EC2 stopped after running", nil, 2, ecsstate.StatusStopped, started, 4},
		{"EC2 failed to start", nil, 1, ecsstate.StatusStopped, time.Time{}, 2},
		{"Fargate provisioning", awsvpc, 1, ecsstate.StatusProvisioning, time.Time{}, 1},
		{"Fargate activating", awsvpc, 1, ecsstate.StatusActivating, time.Time{}, 2},
		{"Fargate running", awsvpc, 1, ecsstate.StatusRunning, started, 3},
		{"Fargate stopped by StopTask", awsvpc, 2, ecsstate.StatusStopped, started, 6},
		{"Fargate stop asked while provisioning", awsvpc, 2, ecsstate.StatusProvisioning, time.Time{}, 2},
	}
	for _, tc := range tests {
		task := ecsstate.Task{Generation: tc.generation, Spec: ecsstate.TaskSpec{Network: tc.network}, Observed: ecsstate.TaskStatus{LastStatus: tc.lastStatus, StartedAt: tc.startedAt}}
		if got := taskVersion(&task, tc.lastStatus); got != tc.want {
			t.Errorf("%s: version %d, want %d", tc.name, got, tc.want)
		}
	}
}
