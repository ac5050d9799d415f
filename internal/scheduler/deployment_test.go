package scheduler

import (
	"math/rand/v2"
	"regexp"
	"testing"
	"time"
)

func TestBreakerThreshold(t *testing.T) {
	tests := []struct{ desired, want int }{
		{0, 3}, {1, 3}, {2, 3}, {5, 3}, {6, 3}, {7, 4}, {25, 13}, {399, 200}, {400, 200}, {800, 200},
	}
	for _, tt := range tests {
		if got := BreakerThreshold(tt.desired); got != tt.want {
			t.Errorf("BreakerThreshold(%d) = %d, want %d", tt.desired, got, tt.want)
		}
	}
}

func TestBreakerCounts(t *testing.T) {
	tests := []struct {
		f          TaskFailure
		anyRunning bool
		want       bool
	}{
		{FailedToStart, false, true},      // stage 1
		{FailedHealthCheck, false, false}, // cannot happen before RUNNING
		{FailedToStart, true, false},      // stage 2 ignores start failures
		{FailedHealthCheck, true, true},   // stage 2
	}
	for _, tt := range tests {
		if got := BreakerCounts(tt.f, tt.anyRunning); got != tt.want {
			t.Errorf("BreakerCounts(%v, %v) = %v, want %v", tt.f, tt.anyRunning, got, tt.want)
		}
	}
}

func TestDeploymentState(t *testing.T) {
	const id = "ecs-svc/1234567890123456789"
	tests := []struct {
		name    string
		in      DeploymentInput
		state   string
		reason  string
		changed bool
	}{
		{"new deployment", DeploymentInput{ID: id, Desired: 2}, RolloutInProgress, "ECS deployment ecs-svc/1234567890123456789 in progress.", true},
		{"under way", DeploymentInput{ID: id, Desired: 2, State: RolloutInProgress, Tasks: 2, Healthy: 1}, RolloutInProgress, "ECS deployment ecs-svc/1234567890123456789 in progress.", false},
		{"steady state", DeploymentInput{ID: id, Desired: 2, State: RolloutInProgress, Tasks: 2, Healthy: 2}, RolloutCompleted, "ECS deployment ecs-svc/1234567890123456789 completed.", true},
		{"old tasks left", DeploymentInput{ID: id, Desired: 2, State: RolloutInProgress, Tasks: 2, Healthy: 2, OldTasks: 1}, RolloutInProgress, "ECS deployment ecs-svc/1234567890123456789 in progress.", false},
		{"extra task still pending", DeploymentInput{ID: id, Desired: 2, State: RolloutInProgress, Tasks: 3, Healthy: 2}, RolloutInProgress, "ECS deployment ecs-svc/1234567890123456789 in progress.", false},
		{"desired 0 completes once all are gone", DeploymentInput{ID: id, Desired: 0, State: RolloutInProgress}, RolloutCompleted, "ECS deployment ecs-svc/1234567890123456789 completed.", true},
		{"breaker below threshold", DeploymentInput{ID: id, Desired: 2, State: RolloutInProgress, FailedTasks: 2, Breaker: true}, RolloutInProgress, "ECS deployment ecs-svc/1234567890123456789 in progress.", false},
		{"breaker trips at threshold", DeploymentInput{ID: id, Desired: 2, State: RolloutInProgress, FailedTasks: 3, Breaker: true}, RolloutFailed, "ECS deployment circuit breaker: tasks failed to start.", true},
		{"breaker off", DeploymentInput{ID: id, Desired: 2, State: RolloutInProgress, FailedTasks: 30}, RolloutInProgress, "ECS deployment ecs-svc/1234567890123456789 in progress.", false},
		{"breaker threshold for 25 tasks", DeploymentInput{ID: id, Desired: 25, State: RolloutInProgress, FailedTasks: 12, Breaker: true}, RolloutInProgress, "ECS deployment ecs-svc/1234567890123456789 in progress.", false},
		{"completed is final", DeploymentInput{ID: id, Desired: 2, State: RolloutCompleted, FailedTasks: 10, Breaker: true}, RolloutCompleted, "", false},
		{"failed is final", DeploymentInput{ID: id, Desired: 2, State: RolloutFailed, Tasks: 2, Healthy: 2}, RolloutFailed, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state, reason, changed := DeploymentState(tt.in)
			if state != tt.state || reason != tt.reason || changed != tt.changed {
				t.Fatalf("got %s %q %v, want %s %q %v", state, reason, changed, tt.state, tt.reason, tt.changed)
			}
		})
	}
}

func TestRollbackTarget(t *testing.T) {
	history := []DeploymentRecord{
		{ID: "ecs-svc/3", TaskDefinition: "web:3", RolloutState: RolloutFailed, CreatedAt: t0.Add(3 * time.Hour)},
		{ID: "ecs-svc/2", TaskDefinition: "web:2", RolloutState: RolloutCompleted, CreatedAt: t0.Add(2 * time.Hour)},
		{ID: "ecs-svc/1", TaskDefinition: "web:1", RolloutState: RolloutCompleted, CreatedAt: t0.Add(1 * time.Hour)},
		{ID: "ecs-svc/x", TaskDefinition: "web:9", RolloutState: RolloutInProgress, CreatedAt: t0.Add(4 * time.Hour)},
	}
	got, ok := RollbackTarget(history, "ecs-svc/3")
	if !ok || got.ID != "ecs-svc/2" || got.TaskDefinition != "web:2" {
		t.Fatalf("got %+v %v", got, ok)
	}
	if got := ReasonRollingBack(got.ID); got != "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/2." {
		t.Errorf("reason %q", got)
	}
	// Order of the history does not matter.
	got, ok = RollbackTarget([]DeploymentRecord{history[2], history[0], history[1]}, "ecs-svc/3")
	if !ok || got.ID != "ecs-svc/2" {
		t.Fatalf("shuffled: got %+v %v", got, ok)
	}
	// The failed deployment itself is never the target, even if COMPLETED once.
	if _, ok := RollbackTarget([]DeploymentRecord{{ID: "ecs-svc/3", RolloutState: RolloutCompleted}}, "ecs-svc/3"); ok {
		t.Fatal("rolled back to itself")
	}
	if _, ok := RollbackTarget(history[:1], "ecs-svc/3"); ok {
		t.Fatal("target without a COMPLETED deployment")
	}
}

func TestNewDeploymentID(t *testing.T) {
	re := regexp.MustCompile(`^ecs-svc/[1-9][0-9]{18}$`)
	r := rand.New(rand.NewPCG(1, 2))
	seen := map[string]bool{}
	for range 1000 {
		id := NewDeploymentID(r)
		if !re.MatchString(id) {
			t.Fatalf("bad id %q", id)
		}
		seen[id] = true
	}
	if len(seen) != 1000 {
		t.Errorf("%d distinct ids of 1000", len(seen))
	}
	if id := NewDeploymentID(nil); !re.MatchString(id) {
		t.Fatalf("bad id %q", id)
	}
	// Deterministic with a seeded source.
	if a, b := NewDeploymentID(rand.New(rand.NewPCG(7, 7))), NewDeploymentID(rand.New(rand.NewPCG(7, 7))); a != b {
		t.Errorf("%s != %s", a, b)
	}
}

func TestThrottleDelay(t *testing.T) {
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{-1, 0}, {0, 0}, {1, 0},
		{2, 5 * time.Second}, {3, 10 * time.Second}, {4, 20 * time.Second}, {5, 40 * time.Second},
		{6, 80 * time.Second}, {7, 160 * time.Second}, {8, 320 * time.Second}, {9, 640 * time.Second},
		{10, 15 * time.Minute}, {11, 15 * time.Minute}, {1000, 15 * time.Minute},
	}
	for _, tt := range tests {
		if got := ThrottleDelay(tt.failures); got != tt.want {
			t.Errorf("ThrottleDelay(%d) = %v, want %v", tt.failures, got, tt.want)
		}
	}
}

func TestStartThrottle(t *testing.T) {
	var th StartThrottle
	if !th.NextStart("web:1").IsZero() || th.Throttled("web:1") {
		t.Fatal("fresh throttle waits")
	}
	th = th.Observe("web:1", false, t0)
	if !th.NextStart("web:1").IsZero() {
		t.Fatal("one failure waits")
	}
	th = th.Observe("web:1", false, t0.Add(time.Minute))
	if got := th.NextStart("web:1"); !got.Equal(t0.Add(time.Minute + 5*time.Second)) {
		t.Fatalf("after 2 failures: %v", got)
	}
	if !th.Throttled("web:1") {
		t.Fatal("not throttled after 2 failures")
	}
	for i := range 20 {
		th = th.Observe("web:1", false, t0.Add(time.Duration(i+2)*time.Hour))
	}
	if got := th.NextStart("web:1").Sub(th.LastFailure); got != MaxThrottleDelay {
		t.Fatalf("delay %v, want the cap", got)
	}
	// A new task definition lifts the throttle at once, then counts anew.
	if !th.NextStart("web:2").IsZero() || th.Throttled("web:2") {
		t.Fatal("new task definition still throttled")
	}
	th2 := th.Observe("web:2", false, t0)
	if th2.Failures != 1 || th2.TaskDefinition != "web:2" {
		t.Fatalf("new task definition: %+v", th2)
	}
	// A task that reaches RUNNING ends the streak.
	th = th.Observe("web:1", true, t0)
	if th.Failures != 0 || !th.NextStart("web:1").IsZero() {
		t.Fatalf("after a start: %+v", th)
	}
}

func TestEvents(t *testing.T) {
	tests := []struct{ got, want string }{
		{EventSteadyState("web"), "(service web) has reached a steady state."},
		{EventStartedTasks("web", "a1"), "(service web) has started 1 tasks: (task a1)."},
		{EventStartedTasks("web", "a1", "b2"), "(service web) has started 2 tasks: (task a1) (task b2)."},
		{EventStoppedTasks("web", "a1"), "(service web) has stopped 1 running tasks: (task a1)."},
		{EventStoppedTasks("web", "a1", "b2"), "(service web) has stopped 2 running tasks: (task a1) (task b2)."},
		{EventUnableToPlace("web"), "(service web) was unable to place a task because no container instance met all of its requirements."},
		{EventDeploymentCompleted("web", "ecs-svc/1234567890123456789"), "(service web) (deployment ecs-svc/1234567890123456789) deployment completed."},
		{EventTaskFailedHealthChecks("web", "a1"), "(service web) (task a1) failed container health checks."},
		{EventUnableToStartConsistently("web"), "(service web) is unable to consistently start tasks successfully."},
		{EventDeploymentBlocked("web"), "(service web) was unable to stop or start tasks during a deployment because of the service deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again."},
		{EventUnableToPlaceClosest("web", Failure{NodeID: "i1", Reason: ReasonCPU}),
			"(service web) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance i1) has insufficient CPU units available. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."},
		{EventUnableToPlaceClosest("web", Failure{NodeID: "i1", Reason: ReasonMemory}),
			"(service web) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance i1) has insufficient memory available. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."},
		{EventUnableToPlaceClosest("web", Failure{NodeID: "i1", Reason: ReasonPorts}),
			"(service web) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance i1) is already using a port required by your task. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."},
		{EventUnableToPlaceClosest("web", Failure{NodeID: "i1", Reason: ReasonAgent}),
			"(service web) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance i1) doesn't have the agent connected. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."},
		{EventUnableToPlaceClosest("web", Failure{NodeID: "i1", Reason: ReasonMemberOf}),
			`(service web) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance i1) encountered error "MemberOf placement constraint unsatisfied.". For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.`},
		{EventUnableToPlaceClosest("web", Failure{Reason: ReasonNoFargateCapacity}),
			"(service web) was unable to place a task. Reason: Capacity is unavailable at this time. Please try again later or in a different availability zone. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got  %q\nwant %q", tt.got, tt.want)
		}
	}
}

func TestClosestFailure(t *testing.T) {
	tests := []struct {
		failures []Failure
		want     Failure
		ok       bool
	}{
		{nil, Failure{}, false},
		{[]Failure{{"a", ReasonAgent}, {"b", ReasonMemory}, {"c", ReasonCPU}}, Failure{"b", ReasonMemory}, true},
		{[]Failure{{"a", ReasonPorts}, {"b", ReasonDistinctInstance}, {"c", ReasonMemberOf}}, Failure{"b", ReasonDistinctInstance}, true},
		{[]Failure{{"a", ReasonCPU}, {"b", ReasonCPU}}, Failure{"a", ReasonCPU}, true},
	}
	for _, tt := range tests {
		got, ok := ClosestFailure(tt.failures)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ClosestFailure(%v) = %v %v, want %v %v", tt.failures, got, ok, tt.want, tt.ok)
		}
	}
}
