package service

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/scheduler"
)

var t0 = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

const (
	tdGood = "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1"
	tdBad  = "arn:aws:ecs:us-east-1:000000000000:task-definition/web:2"
	depA   = "ecs-svc/1000000000000000001"
	depB   = "ecs-svc/1000000000000000002"
)

func deployment(id, td, status, state string, desired int32) ecsstate.Deployment {
	return ecsstate.Deployment{ID: id, Status: status, TaskDefinition: td, DesiredCount: desired, RolloutState: state, CreatedAt: t0}
}

// testRegion is the region of the tests' services and tasks.
const testRegion = "us-east-1"

func newService(desired int32, deps ...ecsstate.Deployment) ecsstate.Service {
	return ecsstate.Service{
		Name: "web", Region: testRegion, Cluster: "c", Status: ecsstate.ServiceActive, DesiredCount: desired,
		TaskDefinition: deps[0].TaskDefinition, Deployments: deps,
	}
}

// taskState builds a service task of deployment dep.
type taskState struct {
	id, dep, td string
	status      string // observed lastStatus
	stopping    bool
	health      string
	check       bool // essential container health check
	runningFor  time.Duration
	stopCode    string
	accounted   bool
	provider    string
}

func (ts taskState) task() ecsstate.Task {
	td := ts.td
	if td == "" {
		td = tdGood
	}
	def := ecstypes.TaskDefinition{ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: awsapi.String("app")}}}
	if ts.check {
		def.ContainerDefinitions[0].HealthCheck = &ecstypes.HealthCheck{Command: []string{"CMD", "true"}}
	}
	t := ecsstate.Task{
		ID: ts.id, Region: testRegion, Cluster: "c", DesiredStatus: ecsstate.StatusRunning, CreatedAt: t0.Add(-time.Hour),
		Spec:             ecsstate.TaskSpec{TaskDefinitionARN: td, Definition: def, StartedBy: ts.dep, Group: "service:web", ServiceName: "web", CapacityProviderName: ts.provider},
		Observed:         ecsstate.TaskStatus{LastStatus: ts.status, HealthStatus: ts.health},
		StopCode:         ts.stopCode,
		ServiceAccounted: ts.accounted,
	}
	if ts.stopping {
		t.DesiredStatus = ecsstate.StatusStopped
	}
	if ts.status == ecsstate.StatusRunning || ts.status == ecsstate.StatusStopped {
		t.Observed.StartedAt = t0.Add(-ts.runningFor)
	}
	if ts.status == ecsstate.StatusStopped {
		t.DesiredStatus = ecsstate.StatusStopped
		if ts.runningFor == 0 {
			t.Observed.StartedAt = time.Time{}
		}
		t.Observed.StoppedAt = t0
	}
	return t
}

func tasks(states ...taskState) []ecsstate.Task {
	out := make([]ecsstate.Task, len(states))
	for i, s := range states {
		out[i] = s.task()
	}
	return out
}

// healthy builds n healthy RUNNING tasks of dep named prefix0.. .
func healthy(prefix, dep string, n int) []taskState {
	out := make([]taskState, n)
	for i := range out {
		out[i] = taskState{id: fmt.Sprintf("%s%d", prefix, i), dep: dep, status: ecsstate.StatusRunning, runningFor: time.Minute}
	}
	return out
}

func run(svc ecsstate.Service, ts ...taskState) step {
	n := 0
	return plan(planInput{svc: svc, tasks: tasks(ts...), now: t0, eventID: func() string { n++; return fmt.Sprint(n) }})
}

func messages(s ecsstate.Service) []string {
	var out []string
	for _, e := range s.Events {
		out = append(out, *e.Message)
	}
	return out
}

func stoppedKeys(st step) []string {
	var out []string
	for _, r := range st.stop {
		out = append(out, strings.TrimPrefix(r.key, ecsstate.TaskKey(testRegion, "c", "")))
	}
	slices.Sort(out)
	return out
}

func TestPlanNewServiceLaunchesDesired(t *testing.T) {
	st := run(newService(3, deployment(depA, tdGood, ecsstate.DeploymentPrimary, scheduler.RolloutInProgress, 3)))
	if st.launch != 3 || len(st.stop) != 0 {
		t.Fatalf("launch %d stop %v, want 3 and none", st.launch, st.stop)
	}
}

func TestPlanCompletesAndReportsSteadyStateOnce(t *testing.T) {
	svc := newService(2, deployment(depA, tdGood, ecsstate.DeploymentPrimary, scheduler.RolloutInProgress, 2))
	st := run(svc, healthy("a", depA, 2)...)
	p := st.svc.Primary()
	if p.RolloutState != scheduler.RolloutCompleted || p.RolloutStateReason != "ECS deployment "+depA+" completed." {
		t.Fatalf("primary %+v", p)
	}
	want := []string{"(service web) has reached a steady state.", "(service web) (deployment " + depA + ") deployment completed."}
	if got := messages(st.svc); !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	if st.svc.RunningCount != 2 || p.RunningCount != 2 || !st.svc.Steady {
		t.Fatalf("counts %d/%d steady %v", st.svc.RunningCount, p.RunningCount, st.svc.Steady)
	}
	again := run(st.svc, healthy("a", depA, 2)...)
	if again.changed || len(again.svc.Events) != 2 {
		t.Fatalf("a second step at steady state changed the service: %q", messages(again.svc))
	}
}

func TestPlanTaskWithoutHealthCheckCountsHealthyAfter40s(t *testing.T) {
	svc := newService(1, deployment(depA, tdGood, ecsstate.DeploymentPrimary, scheduler.RolloutInProgress, 1))
	st := run(svc, taskState{id: "a", dep: depA, status: ecsstate.StatusRunning, runningFor: 10 * time.Second})
	if st.svc.Primary().RolloutState != scheduler.RolloutInProgress {
		t.Fatalf("completed after 10 s")
	}
	if want := t0.Add(30 * time.Second); !st.wakeAt.Equal(want) {
		t.Fatalf("wakeAt %v, want %v", st.wakeAt, want)
	}
}

func TestPlanScaleInStopsExtraTasksWithSchedulerReason(t *testing.T) {
	svc := newService(2, deployment(depA, tdGood, ecsstate.DeploymentPrimary, scheduler.RolloutCompleted, 5))
	st := run(svc, healthy("a", depA, 5)...)
	if len(st.stop) != 3 || st.launch != 0 {
		t.Fatalf("stop %v launch %d", st.stop, st.launch)
	}
	for _, r := range st.stop {
		if r.reason != "Scaling activity initiated by (deployment "+depA+")" {
			t.Fatalf("reason %q", r.reason)
		}
	}
	if msgs := messages(st.svc); len(msgs) != 1 || !strings.Contains(msgs[0], "has stopped 3 running tasks") {
		t.Fatalf("events %q", msgs)
	}
	if st.svc.Steady {
		t.Fatal("steady while stopping tasks")
	}
}

func TestPlanRollingUpdateStartsNewBeforeStoppingOld(t *testing.T) {
	svc := newService(2,
		deployment(depB, tdBad, ecsstate.DeploymentPrimary, scheduler.RolloutInProgress, 2),
		deployment(depA, tdGood, ecsstate.DeploymentActive, scheduler.RolloutCompleted, 2))
	// maximumPercent 200, minimum 100: start 2 new, stop none.
	st := run(svc, healthy("a", depA, 2)...)
	if st.launch != 2 || len(st.stop) != 0 {
		t.Fatalf("launch %d stop %v", st.launch, st.stop)
	}
	// New ones healthy: old ones go, deployment not complete until they do.
	ts := append(healthy("a", depA, 2), healthy("b", depB, 2)...)
	st = run(svc, ts...)
	if got := stoppedKeys(st); !slices.Equal(got, []string{"a0", "a1"}) {
		t.Fatalf("stopped %v", got)
	}
	if st.svc.Primary().RolloutState != scheduler.RolloutInProgress {
		t.Fatal("completed with old tasks left")
	}
	// Old ones gone: complete, the old deployment retires to history.
	st = run(st.svc, healthy("b", depB, 2)...)
	if len(st.svc.Deployments) != 1 || st.svc.Primary().RolloutState != scheduler.RolloutCompleted {
		t.Fatalf("deployments %+v", st.svc.Deployments)
	}
	if len(st.svc.History) != 1 || st.svc.History[0].ID != depA || st.svc.History[0].Status != ecsstate.DeploymentInactive {
		t.Fatalf("history %+v", st.svc.History)
	}
}

func TestPlanBreakerFailsAndRollsBack(t *testing.T) {
	svc := newService(2,
		deployment(depB, tdBad, ecsstate.DeploymentPrimary, scheduler.RolloutInProgress, 2),
		deployment(depA, tdGood, ecsstate.DeploymentActive, scheduler.RolloutCompleted, 2))
	svc.DeploymentConfiguration.DeploymentCircuitBreaker = &ecstypes.DeploymentCircuitBreaker{Enable: awsapi.Bool(true), Rollback: awsapi.Bool(true)}
	ts := healthy("a", depA, 2)
	// Two failures counted: threshold is 3 for desired 2.
	failed := func(id string) taskState {
		return taskState{id: id, dep: depB, td: tdBad, status: ecsstate.StatusStopped, stopCode: ecstypes.TaskStopCodeEssentialContainerExited}
	}
	st := run(svc, append(ts, failed("f1"), failed("f2"))...)
	if st.svc.Primary().FailedTasks != 2 || len(st.account) != 2 {
		t.Fatalf("failed %d accounted %v", st.svc.Primary().FailedTasks, st.account)
	}
	// Accounted tasks are not counted again.
	again := run(st.svc, append(ts, taskState{id: "f1", dep: depB, td: tdBad, status: ecsstate.StatusStopped, stopCode: ecstypes.TaskStopCodeEssentialContainerExited, accounted: true})...)
	if again.svc.Primary().FailedTasks != 2 {
		t.Fatalf("recounted: %d", again.svc.Primary().FailedTasks)
	}
	st = run(st.svc, append(ts, failed("f3"))...)
	p := st.svc.Primary()
	if p.ID == depB || p.TaskDefinition != tdGood || p.RollbackOf != depB || p.RollbackTo != depA ||
		p.RolloutStateReason != "ECS deployment circuit breaker: rolling back to deploymentId "+depA+"." {
		t.Fatalf("rollback deployment %+v", p)
	}
	var bad ecsstate.Deployment
	for _, d := range slices.Concat(st.svc.Deployments, st.svc.History) {
		if d.ID == depB {
			bad = d
		}
	}
	if bad.RolloutState != scheduler.RolloutFailed || bad.RolloutStateReason != scheduler.ReasonBreakerFailed || !bad.RolledBack {
		t.Fatalf("failed deployment %+v", bad)
	}
	if st.svc.TaskDefinition != tdGood {
		t.Fatalf("service task definition %s", st.svc.TaskDefinition)
	}
}

func TestPlanBreakerWithoutRollbackStopsLaunching(t *testing.T) {
	svc := newService(2, deployment(depB, tdBad, ecsstate.DeploymentPrimary, scheduler.RolloutInProgress, 2))
	svc.DeploymentConfiguration.DeploymentCircuitBreaker = &ecstypes.DeploymentCircuitBreaker{Enable: awsapi.Bool(true), Rollback: awsapi.Bool(false)}
	svc.Deployments[0].FailedTasks = 3
	st := run(svc)
	if st.svc.Primary().RolloutState != scheduler.RolloutFailed || st.launch != 0 {
		t.Fatalf("state %s launch %d", st.svc.Primary().RolloutState, st.launch)
	}
}

func TestPlanThrottleDelaysStarts(t *testing.T) {
	svc := newService(1, deployment(depA, tdGood, ecsstate.DeploymentPrimary, scheduler.RolloutInProgress, 1))
	svc.Throttle = ecsstate.StartThrottle{TaskDefinition: tdGood, Failures: 5, LastFailure: t0.Add(-time.Second)}
	st := run(svc)
	if st.launch != 0 || st.wakeAt.IsZero() {
		t.Fatalf("launch %d wake %v", st.launch, st.wakeAt)
	}
	if msgs := messages(st.svc); len(msgs) != 1 || msgs[0] != "(service web) is unable to consistently start tasks successfully." {
		t.Fatalf("events %q", msgs)
	}
	// The repeated condition adds no second event.
	if again := run(st.svc); len(again.svc.Events) != 1 {
		t.Fatalf("events %q", messages(again.svc))
	}
	// A new task definition is not throttled.
	svc.Deployments[0].TaskDefinition = tdBad
	if st := run(svc); st.launch != 1 {
		t.Fatalf("new task definition throttled")
	}
}

func TestPlanReplacesUnhealthyTaskAndCountsIt(t *testing.T) {
	svc := newService(1, deployment(depA, tdGood, ecsstate.DeploymentPrimary, scheduler.RolloutCompleted, 1))
	sick := taskState{id: "a", dep: depA, status: ecsstate.StatusRunning, runningFor: time.Minute, check: true, health: scheduler.HealthUnhealthy}
	st := run(svc, sick)
	if st.launch != 1 || len(st.stop) != 1 || st.stop[0].reason != reasonHealthCheckFailed {
		t.Fatalf("launch %d stop %+v", st.launch, st.stop)
	}
	if !slices.Contains(messages(st.svc), "(service web) (task a) failed container health checks.") {
		t.Fatalf("events %q", messages(st.svc))
	}
	if st.svc.Primary().FailedTasks != 1 || len(st.account) != 1 {
		t.Fatalf("failed %d account %v", st.svc.Primary().FailedTasks, st.account)
	}
	// Within the grace period it is left alone, and looked at again when
	// the period ends.
	svc.HealthCheckGracePeriodSeconds = awsapi.Int32(120)
	st = run(svc, sick)
	if len(st.stop) != 0 || !st.wakeAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("stop %v wake %v", st.stop, st.wakeAt)
	}
}

func TestPlanSpotReplacementStaysOnSpot(t *testing.T) {
	svc := newService(4, deployment(depA, tdGood, ecsstate.DeploymentPrimary, scheduler.RolloutCompleted, 4))
	ts := healthy("a", depA, 4)
	ts[0].provider = "FARGATE"
	for i := 1; i < 4; i++ {
		ts[i].provider = "FARGATE_SPOT"
	}
	ts[3].stopping, ts[3].stopCode = true, ecstypes.TaskStopCodeSpotInterruption
	st := run(svc, ts...)
	if st.launch != 1 || st.providerCounts["FARGATE"] != 1 || st.providerCounts["FARGATE_SPOT"] != 2 {
		t.Fatalf("launch %d counts %v", st.launch, st.providerCounts)
	}
}

func TestPlanDrainingStopsEverythingThenInactive(t *testing.T) {
	svc := newService(0, deployment(depA, tdGood, ecsstate.DeploymentPrimary, scheduler.RolloutCompleted, 2))
	svc.Status = ecsstate.ServiceDraining
	st := run(svc, healthy("a", depA, 2)...)
	if len(st.stop) != 2 || st.svc.Status != ecsstate.ServiceDraining {
		t.Fatalf("stop %v status %s", st.stop, st.svc.Status)
	}
	st = run(st.svc, taskState{id: "a0", dep: depA, status: ecsstate.StatusStopped, stopCode: ecstypes.TaskStopCodeServiceSchedulerInitiated})
	if st.svc.Status != ecsstate.ServiceInactive {
		t.Fatalf("status %s", st.svc.Status)
	}
}

func TestPlanUserStoppedTaskIsReplacedWithoutBreakerCount(t *testing.T) {
	svc := newService(1, deployment(depA, tdGood, ecsstate.DeploymentPrimary, scheduler.RolloutInProgress, 1))
	svc.DeploymentConfiguration.DeploymentCircuitBreaker = &ecstypes.DeploymentCircuitBreaker{Enable: awsapi.Bool(true)}
	st := run(svc, taskState{id: "a", dep: depA, status: ecsstate.StatusStopped, stopCode: ecstypes.TaskStopCodeUserInitiated})
	if st.launch != 1 || st.svc.Primary().FailedTasks != 0 || st.svc.Throttle.Failures != 0 {
		t.Fatalf("launch %d failed %d throttle %+v", st.launch, st.svc.Primary().FailedTasks, st.svc.Throttle)
	}
}

func TestCacheKeepsWatchedVersionOverJustCreated(t *testing.T) {
	c := newTaskCache()
	running := taskState{id: "a", dep: depA, status: ecsstate.StatusRunning}.task()
	created := taskState{id: "a", dep: depA, status: ecsstate.StatusProvisioning}.task()
	c.put(running, 7)
	c.put(created, 0)
	if got := c.tasks(ecsstate.ServiceKey(testRegion, "c", "web")); len(got) != 1 || got[0].modRevision != 7 || got[0].task.Observed.LastStatus != ecsstate.StatusRunning {
		t.Fatalf("cache holds %+v", got)
	}
	c.put(created, 9)
	if got := c.tasks(ecsstate.ServiceKey(testRegion, "c", "web")); got[0].modRevision != 9 {
		t.Fatalf("a newer watched version was not taken: %+v", got)
	}
}

// Tasks that ran and were killed before they counted healthy
// are replaced at once; only tasks that never reached RUNNING feed the
// start throttle.
func TestPlanTasksThatRanAndDiedAreReplacedAtOnce(t *testing.T) {
	svc := newService(5, deployment(depA, tdGood, ecsstate.DeploymentPrimary, scheduler.RolloutCompleted, 5))
	svc.Throttle = ecsstate.StartThrottle{TaskDefinition: tdGood, Failures: 1, LastFailure: t0.Add(-time.Second)}
	killed := func(id string) taskState {
		return taskState{id: id, dep: depA, status: ecsstate.StatusStopped, runningFor: 2 * time.Second, check: true, health: scheduler.HealthUnknown, stopCode: ecstypes.TaskStopCodeEssentialContainerExited}
	}
	st := run(svc, append(healthy("a", depA, 3), killed("k1"), killed("k2"))...)
	if st.launch != 2 || st.svc.Throttle.Failures != 0 {
		t.Fatalf("launch %d throttle %+v, want 2 replacements at once and no failure counted", st.launch, st.svc.Throttle)
	}
	if slices.Contains(messages(st.svc), scheduler.EventUnableToStartConsistently("web")) {
		t.Fatalf("throttled: %q", messages(st.svc))
	}
	// Tasks that never reached RUNNING do feed it.
	never := func(id string) taskState {
		return taskState{id: id, dep: depA, status: ecsstate.StatusStopped, stopCode: ecstypes.TaskStopCodeEssentialContainerExited}
	}
	st = run(svc, append(healthy("a", depA, 3), never("n1"), never("n2"))...)
	if st.launch != 0 || st.svc.Throttle.Failures != 3 {
		t.Fatalf("launch %d throttle %+v, want starts held after 3 failures to start", st.launch, st.svc.Throttle)
	}
}

// A deployment right after another, while the earlier one's
// tasks are RUNNING with their health still unknown: its tasks start
// beside them, and none of them is stopped.
func TestPlanUpdateKeepsEarlierTasksWhoseHealthIsUnknown(t *testing.T) {
	svc := newService(2,
		deployment(depB, tdBad, ecsstate.DeploymentPrimary, scheduler.RolloutInProgress, 2),
		deployment(depA, tdGood, ecsstate.DeploymentActive, scheduler.RolloutInProgress, 2))
	svc.DeploymentConfiguration.DeploymentCircuitBreaker = &ecstypes.DeploymentCircuitBreaker{Enable: awsapi.Bool(true), Rollback: awsapi.Bool(true)}
	early := []taskState{
		{id: "a0", dep: depA, status: ecsstate.StatusRunning, runningFor: 2 * time.Second, check: true, health: scheduler.HealthUnknown},
		{id: "a1", dep: depA, status: ecsstate.StatusRunning, runningFor: 2 * time.Second, check: true, health: scheduler.HealthUnknown},
	}
	st := run(svc, early...)
	if st.launch != 2 || len(st.stop) != 0 {
		t.Fatalf("launch %d stop %v, want 2 started beside the earlier tasks and none stopped", st.launch, stoppedKeys(st))
	}

	// The new revision's tasks keep failing: the breaker fails it. The
	// earlier deployment never completed, so there is nothing to roll
	// back to: its tasks keep running, and the service says so.
	failed := func(id string) taskState {
		return taskState{id: id, dep: depB, td: tdBad, status: ecsstate.StatusStopped, stopCode: ecstypes.TaskStopCodeEssentialContainerExited}
	}
	st = run(st.svc, append(early, failed("b0"), failed("b1"), failed("b2"))...)
	p := st.svc.Primary()
	if p.ID != depB || p.RolloutState != scheduler.RolloutFailed || st.launch != 0 || len(st.stop) != 0 {
		t.Fatalf("primary %s %s, launch %d stop %v", p.ID, p.RolloutState, st.launch, stoppedKeys(st))
	}
	want := "(service web) (deployment " + depB + ") was not rolled back: no earlier deployment completed to roll back to. The service keeps its 2 running tasks of earlier deployments and starts no new tasks until it is updated."
	if !slices.Contains(messages(st.svc), want) {
		t.Fatalf("events %q, want %q", messages(st.svc), want)
	}
	if st.svc.RunningCount != 2 || len(st.svc.Deployments) != 2 || st.svc.Deployments[1].RunningCount != 2 {
		t.Fatalf("running %d, deployments %+v", st.svc.RunningCount, st.svc.Deployments)
	}
	// Later, when they are healthy, they are still left alone.
	for i := range early {
		early[i].health, early[i].runningFor = scheduler.HealthHealthy, time.Minute
	}
	if again := run(st.svc, early...); again.launch != 0 || len(again.stop) != 0 {
		t.Fatalf("after the failure: launch %d stop %v", again.launch, stoppedKeys(again))
	}
}
