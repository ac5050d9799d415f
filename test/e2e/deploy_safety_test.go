package e2e

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth/berth/internal/scheduler"
)

// Deployment safety. A deployment sent right after another one,
// while the first one's tasks run but are not yet HEALTHY, or are not even
// RUNNING, must not take those tasks away before its own tasks are HEALTHY
// (minimumHealthyPercent 100); when the new revision cannot start, the
// circuit breaker fails it and the service keeps serving the old revision.
// And a service whose containers keep being killed comes back to its
// desired count without leaking containers.

// safetyDesired is the desired count of the deployment tests: with 2 the
// circuit breaker trips at clamp(ceil(0.5*2), 3, 200) = 3 failed tasks.
const safetyDesired = 2

// safetyDeploymentConfiguration: zero downtime (minimumHealthyPercent 100,
// room for a full second set of tasks), circuit breaker with rollback.
const safetyDeploymentConfiguration = `{"maximumPercent":200,"minimumHealthyPercent":100,"deploymentCircuitBreaker":{"enable":true,"rollback":true}}`

// When the update of the deployment tests is sent.
type updateMoment int

const (
	// afterStable: as soon as `aws ecs wait services-stable` returns (both
	// tasks RUNNING, one deployment), before the tasks are HEALTHY (their
	// first health check runs 5 s after they start).
	afterStable updateMoment = iota
	// whilePending: right after create-service, while both tasks are
	// still on their way to RUNNING.
	whilePending
)

// TestDeployFailingRightAfterStable (A1): the service has just become
// stable on revision 1, its tasks not yet HEALTHY, when it is updated to a
// revision whose container exits 1 at start. Revision 1's tasks keep
// running throughout; the circuit breaker fails revision 2 and the service
// stays on revision 1.
func TestDeployFailingRightAfterStable(t *testing.T) {
	t.Parallel()
	runEarlyDeploy(t, "early-bad", afterStable, true)
}

// TestDeployFailingWhilePending (A2): as A1, but the update is sent while
// revision 1's tasks are still PENDING.
func TestDeployFailingWhilePending(t *testing.T) {
	t.Parallel()
	runEarlyDeploy(t, "pending-bad", whilePending, true)
}

// TestDeployGoodRightAfterStable (A3): as A1, but revision 2 is good: the
// deployment completes on it, and revision 1's tasks are stopped only once
// enough of revision 2's are HEALTHY.
func TestDeployGoodRightAfterStable(t *testing.T) {
	t.Parallel()
	runEarlyDeploy(t, "early-good", afterStable, false)
}

// runEarlyDeploy creates a service of safetyDesired tasks of revision 1,
// updates it to revision 2 (failing: one whose container exits 1 at start)
// at the moment when says, and checks the rollout with a servingWatch and
// the end state.
func runEarlyDeploy(t *testing.T, cluster string, when updateMoment, failing bool) {
	e := startServiceEnv(t, ServerOptions{}, cluster)
	v1 := e.registerApp(t, cluster, "1")
	var v2 string
	if failing {
		v2 = e.registerApp(t, cluster, "2", "-exit-after", "1ms", "-exit-code", "1")
	} else {
		v2 = e.registerApp(t, cluster, "2")
	}
	created := e.createService(t, "api", v1, safetyDesired, "--launch-type", "FARGATE",
		"--deployment-configuration", safetyDeploymentConfiguration)
	deps, _ := created["deployments"].([]any)
	if len(deps) != 1 {
		t.Fatalf("create-service: want one deployment, got %v", created["deployments"])
	}
	baseline, _ := deps[0].(map[string]any)["id"].(string)

	// The watch runs from the start: in A2 revision 1's tasks reach
	// RUNNING only after the update.
	w := &servingWatch{e: e, service: "api", baseline: baseline, min: scheduler.MinHealthy(safetyDesired, 100),
		max: scheduler.MaxTasks(safetyDesired, 200), known: map[string]bool{}}
	stopWatch := w.start(t)
	defer stopWatch() // also on t.Fatal: the watch's findings are the diagnosis

	switch when {
	case afterStable:
		// What the services-stable waiter checks (runningCount ==
		// desiredCount, one deployment), polled every 200 ms; then the
		// waiter itself, as a user runs it.
		e.waitService(t, "api", 60*time.Second, "running its 2 tasks", func(svc ecstypes.Service) bool {
			return len(svc.Deployments) == 1 && svc.RunningCount == safetyDesired
		})
		e.cliWaitStable(t, "api") // answers at its first poll
	case whilePending:
		// Poll fast: the tasks are PENDING for about a second.
		deadline := time.Now().Add(30 * time.Second)
		for {
			svc := e.describeService(t, "api")
			if svc.PendingCount == safetyDesired && svc.RunningCount == 0 {
				break
			}
			if svc.RunningCount > 0 || time.Now().After(deadline) {
				t.Fatalf("never saw the service with its 2 tasks pending and none running:\n%s", svcSummary(svc))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// At once, through the SDK: the CLI would spend a second starting.
	sent := time.Now()
	out, err := e.client.UpdateService(context.Background(), &ecs.UpdateServiceInput{
		Cluster: aws.String(e.cluster), Service: aws.String("api"), TaskDefinition: aws.String(v2),
	})
	if err != nil {
		t.Fatalf("UpdateService: %v", err)
	}
	if len(out.Service.Deployments) == 0 || aws.ToString(out.Service.Deployments[0].TaskDefinition) != v2 {
		t.Fatalf("UpdateService: no PRIMARY deployment of %s:\n%s", v2, svcSummary(*out.Service))
	}
	updated := aws.ToString(out.Service.Deployments[0].Id)
	baseTasks := e.deploymentTasks(t, baseline)
	t.Logf("update to revision 2 (deployment %s, UpdateService took %s); the first deployment %s has:\n%s",
		updated, time.Since(sent).Round(time.Millisecond), baseline, taskSummary(baseTasks))
	checkUpdateMoment(t, when, sent, baseTasks)

	if !failing {
		after := e.waitService(t, "api", 120*time.Second, "steady on revision 2", func(svc ecstypes.Service) bool {
			return steadyService(svc) && aws.ToString(svc.Deployments[0].Id) == updated
		})
		e.cliWaitStable(t, "api")
		stopWatch()
		dep := after.Deployments[0]
		if aws.ToString(after.TaskDefinition) != v2 || aws.ToString(dep.TaskDefinition) != v2 || aws.ToString(dep.Status) != "PRIMARY" ||
			aws.ToString(dep.RolloutStateReason) != scheduler.ReasonDeploymentCompleted(updated) {
			t.Errorf("after the update:\n%s", svcSummary(after))
		}
		e.checkServiceTasks(t, after)
		// Revision 1's tasks were stopped by the scheduler (the watch
		// proved: only once revision 2's were HEALTHY).
		for _, task := range baseTasks {
			arn := aws.ToString(task.TaskArn)
			if stopped := waitTaskStatus(t, e.s, e.cluster, arn, "STOPPED", 30*time.Second); stopped.StopCode != ecstypes.TaskStopCodeServiceSchedulerInitiated {
				t.Errorf("revision 1 task %s: stopCode %s, reason %q", taskID(arn), stopped.StopCode, aws.ToString(stopped.StoppedReason))
			}
		}
		e.checkCounters(t, "api", safetyDesired)
		return
	}

	// Revision 2 fails. Two outcomes are right: the breaker rolls back to
	// revision 1 (only if revision 1's deployment had COMPLETED, which the
	// early update normally prevents), or, with nothing to roll back to,
	// revision 2 stays the FAILED PRIMARY and revision 1's deployment,
	// ACTIVE, keeps serving.
	var rollbackID string
	failedSeen := false
	var failedDep ecstypes.Deployment
	failed := e.waitService(t, "api", 150*time.Second, "failed by the circuit breaker", func(svc ecstypes.Service) bool {
		for _, d := range svc.Deployments {
			id := aws.ToString(d.Id)
			if id == updated && d.RolloutState == ecstypes.DeploymentRolloutStateFailed {
				failedSeen, failedDep = true, d
			}
			if id != baseline && id != updated && aws.ToString(d.TaskDefinition) == v1 {
				rollbackID = id
			}
		}
		if rollbackID != "" {
			return steadyService(svc) && aws.ToString(svc.Deployments[0].Id) == rollbackID
		}
		return failedSeen
	})
	t.Logf("after the circuit breaker (rollback deployment %q):\n%s", rollbackID, svcSummary(failed))
	if rollbackID == "" {
		// Revision 1 must be serving: its deployment holds 2 RUNNING tasks.
		e.waitService(t, "api", 30*time.Second, "serving revision 1 with 2 RUNNING tasks", func(svc ecstypes.Service) bool {
			i := slices.IndexFunc(svc.Deployments, func(d ecstypes.Deployment) bool { return aws.ToString(d.Id) == baseline })
			return svc.RunningCount == safetyDesired && svc.PendingCount == 0 && i >= 0 && svc.Deployments[i].RunningCount == safetyDesired
		})
	}

	// Keep watching: revision 1 stays up, revision 2 launches no more.
	before := taskARNs(e.allServiceTasks(t, "api"))
	badBefore := e.deploymentTasks(t, updated)
	time.Sleep(15 * time.Second)
	stopWatch()
	final := e.describeService(t, "api")
	if after := taskARNs(e.allServiceTasks(t, "api")); !slices.Equal(after, before) {
		t.Errorf("the service's tasks changed in the 15 s after the failure: %d before, %d after:\n%s",
			len(before), len(after), taskSummary(e.describeTasks(t, after)))
	}
	badTasks := e.deploymentTasks(t, updated)
	if len(badTasks) != len(badBefore) {
		t.Errorf("the FAILED deployment had %d tasks, then %d 15 s later: it still launches", len(badBefore), len(badTasks))
	}
	if len(badTasks) < scheduler.BreakerThreshold(safetyDesired) {
		t.Errorf("the FAILED deployment made %d tasks, fewer than the breaker threshold %d", len(badTasks), scheduler.BreakerThreshold(safetyDesired))
	}
	for _, task := range badTasks {
		if aws.ToString(task.LastStatus) != "STOPPED" || aws.ToString(task.DesiredStatus) != "STOPPED" {
			t.Errorf("revision 2 task not STOPPED:\n%s", taskSummary([]ecstypes.Task{task}))
		}
	}

	// The service serves revision 1 with exactly 2 RUNNING tasks.
	running := e.serviceTasks(t, "api", ecstypes.DesiredStatusRunning)
	servers := 0
	for _, task := range running {
		if aws.ToString(task.LastStatus) == "RUNNING" && aws.ToString(task.TaskDefinitionArn) == v1 {
			servers++
		}
	}
	if len(running) != safetyDesired || servers != safetyDesired || final.RunningCount != safetyDesired || final.PendingCount != 0 {
		t.Errorf("want the service on revision 1 with %d RUNNING tasks; it has:\n%s%s", safetyDesired, svcSummary(final), taskSummary(running))
	}
	e.checkCounters(t, "api", safetyDesired)

	if rollbackID != "" {
		// Rolled back: revision 1's first tasks were replaced by the
		// rollback's, stopped by the scheduler once those were HEALTHY (the
		// watch checked the order).
		if !steadyService(final) || aws.ToString(final.Deployments[0].Id) != rollbackID || aws.ToString(final.TaskDefinition) != v1 {
			t.Errorf("rolled back, but not steady on the rollback deployment %s:\n%s", rollbackID, svcSummary(final))
		}
		e.checkFailedDeployment(t, "api", updated, baseline, safetyDesired)
		for _, task := range e.deploymentTasks(t, baseline) {
			if aws.ToString(task.LastStatus) != "STOPPED" || task.StopCode != ecstypes.TaskStopCodeServiceSchedulerInitiated {
				t.Errorf("revision 1 task replaced by the rollback: want STOPPED by the scheduler:\n%s", taskSummary([]ecstypes.Task{task}))
			}
		}
		return
	}
	// Not rolled back: revision 2 is the FAILED PRIMARY, revision 1's
	// deployment is ACTIVE with the very tasks it started, never stopped.
	if !failedSeen || failedDep.FailedTasks < int32(scheduler.BreakerThreshold(safetyDesired)) ||
		aws.ToString(failedDep.RolloutStateReason) != scheduler.ReasonBreakerFailed {
		t.Errorf("want deployment %s FAILED (%q) with failedTasks >= %d; got\n%s", updated, scheduler.ReasonBreakerFailed,
			scheduler.BreakerThreshold(safetyDesired), jsonString(failedDep))
	}
	var primary, active *ecstypes.Deployment
	for i, d := range final.Deployments {
		switch aws.ToString(d.Id) {
		case updated:
			primary = &final.Deployments[i]
		case baseline:
			active = &final.Deployments[i]
		}
	}
	if len(final.Deployments) != 2 || primary == nil || active == nil ||
		aws.ToString(primary.Status) != "PRIMARY" || primary.RolloutState != ecstypes.DeploymentRolloutStateFailed ||
		primary.FailedTasks < int32(scheduler.BreakerThreshold(safetyDesired)) || primary.RunningCount != 0 || primary.PendingCount != 0 ||
		aws.ToString(active.Status) != "ACTIVE" || aws.ToString(active.TaskDefinition) != v1 || active.RunningCount != safetyDesired {
		t.Errorf("want a FAILED PRIMARY deployment %s (no task, failedTasks >= %d) and revision 1's ACTIVE deployment %s with %d RUNNING tasks:\n%s",
			updated, scheduler.BreakerThreshold(safetyDesired), baseline, safetyDesired, svcSummary(final))
	}
	now := e.deploymentTasks(t, baseline)
	if !slices.Equal(taskARNs(now), taskARNs(baseTasks)) {
		t.Errorf("revision 1's deployment started other tasks than its first %d:\n%s", len(baseTasks), taskSummary(now))
	}
	for _, task := range now {
		if aws.ToString(task.LastStatus) != "RUNNING" || aws.ToString(task.DesiredStatus) != "RUNNING" {
			t.Errorf("revision 1 task no longer RUNNING, with nothing to replace it:\n%s", taskSummary([]ecstypes.Task{task}))
		}
	}
}

// checkUpdateMoment checks that the update came when the variant means it
// to, from revision 1's tasks as described just after it: it fails the
// test when the moment was missed (the run would not test its variant).
func checkUpdateMoment(t *testing.T, when updateMoment, sent time.Time, tasks []ecstypes.Task) {
	t.Helper()
	if len(tasks) != safetyDesired {
		t.Fatalf("revision 1's deployment has %d tasks, want %d", len(tasks), safetyDesired)
	}
	for _, task := range tasks {
		started := task.StartedAt != nil && task.StartedAt.Before(sent)
		switch when {
		case afterStable:
			if !started {
				t.Fatalf("a revision 1 task was not RUNNING when services-stable returned:\n%s", taskSummary(tasks))
			}
			t.Logf("revision 1 task %s: RUNNING %s before the update", taskID(aws.ToString(task.TaskArn)), sent.Sub(*task.StartedAt).Round(time.Millisecond))
			if task.HealthStatus == ecstypes.HealthStatusHealthy {
				// Legal, but then this run tests less than it should.
				t.Logf("note: revision 1 task %s was already HEALTHY at the update (the machine is slow?)", taskID(aws.ToString(task.TaskArn)))
			}
		case whilePending:
			if started {
				t.Fatalf("revision 1 task %s was RUNNING before the update (started %s, update sent %s): the update came too late",
					taskID(aws.ToString(task.TaskArn)), task.StartedAt.Format(time.StampMilli), sent.Format(time.StampMilli))
			}
			if task.StartedAt != nil {
				t.Logf("revision 1 task %s: RUNNING %s after the update", taskID(aws.ToString(task.TaskArn)), task.StartedAt.Sub(sent).Round(time.Millisecond))
			}
		}
	}
}

// servingWatch samples a service's tasks every 200 ms during a rollout
// and checks that
//   - once min tasks serve, never fewer serve;
//   - tasks with desiredStatus RUNNING not yet STOPPED never exceed max
//     (maximumPercent).
//
// A task serves when it is RUNNING with desiredStatus RUNNING and either
// belongs to the baseline deployment (the tasks the service ran before
// the update: they count as soon as they run, healthy or not, since the
// update must not take away what already runs) or is HEALTHY (a new task
// counts once it has proven itself). Nothing but the scheduler stops
// tasks in these tests, and it sets desiredStatus STOPPED when it decides
// to, so a sample below min means it stopped a task before enough
// replacements were HEALTHY.
//
// Each sample lists the service's tasks, then describes every task seen so
// far in the order first seen: a task is described before the tasks
// started after it, so a replacement is read after the task it replaces.
// A stop decided between the two reads is seen together with the
// replacement's health, which came before the stop; the lag of the reads
// can only make a sample generous, never falsely short.
type servingWatch struct {
	e        *svcEnv
	service  string
	baseline string // the deployment id whose tasks serve while RUNNING
	min, max int

	order []string // task ARNs in the order ListTasks first showed them
	known map[string]bool

	samples, fewest, most int
	armed                 bool // min tasks have served
	violations            []string
}

// start runs the watch in the background; the function it returns stops
// it (once) and reports its findings.
func (w *servingWatch) start(t *testing.T) func() {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() { defer close(done); w.run(stop) }()
	return sync.OnceFunc(func() {
		close(stop)
		<-done
		w.report(t)
	})
}

func (w *servingWatch) run(stop <-chan struct{}) {
	start := time.Now()
	for {
		select {
		case <-stop:
			return
		case <-time.After(200 * time.Millisecond):
		}
		arns, err := w.e.listServiceTasks(w.service, ecstypes.DesiredStatusRunning)
		if err != nil {
			w.violations = append(w.violations, err.Error())
			continue
		}
		for _, arn := range arns {
			if !w.known[arn] {
				w.known[arn] = true
				w.order = append(w.order, arn)
			}
		}
		if len(w.order) == 0 {
			continue
		}
		// DescribeTasks reads the tasks one by one, in the order asked.
		tasks, err := w.e.describeTasksErr(w.order)
		if err != nil {
			w.violations = append(w.violations, err.Error())
			continue
		}
		serving, live := 0, 0
		for _, task := range tasks {
			if aws.ToString(task.DesiredStatus) != "RUNNING" {
				continue
			}
			last := aws.ToString(task.LastStatus)
			if last != "STOPPED" {
				live++
			}
			if last == "RUNNING" && (aws.ToString(task.StartedBy) == w.baseline || task.HealthStatus == ecstypes.HealthStatusHealthy) {
				serving++
			}
		}
		w.samples++
		w.most = max(w.most, live)
		at := time.Since(start).Round(time.Millisecond)
		if !w.armed && serving >= w.min {
			w.armed, w.fewest = true, serving
		}
		if w.armed {
			w.fewest = min(w.fewest, serving)
			if serving < w.min {
				w.violations = append(w.violations, fmt.Sprintf("at %s: %d tasks serving (RUNNING, desiredStatus RUNNING, and of the first deployment or HEALTHY), want >= %d (minimumHealthyPercent 100):\n%s",
					at, serving, w.min, taskSummary(tasks)))
			}
		}
		if live > w.max {
			w.violations = append(w.violations, fmt.Sprintf("at %s: %d tasks (maximumPercent allows %d):\n%s", at, live, w.max, taskSummary(tasks)))
		}
	}
}

func (w *servingWatch) report(t *testing.T) {
	t.Helper()
	t.Logf("watch: %d samples, %d tasks seen, fewest serving %d once %d served, most tasks %d", w.samples, len(w.order), w.fewest, w.min, w.most)
	for _, v := range w.violations[:min(len(w.violations), 5)] {
		t.Error(v)
	}
	if len(w.violations) > 5 {
		t.Errorf("... and %d more violations", len(w.violations)-5)
	}
	if !w.armed {
		t.Errorf("the watch never saw %d tasks serving in %d samples", w.min, w.samples)
	}
}

// deploymentTasks describes every task the deployment started, RUNNING or
// STOPPED, sorted by ARN.
func (e *svcEnv) deploymentTasks(t testing.TB, deployment string) []ecstypes.Task {
	t.Helper()
	var arns []string
	for _, status := range []ecstypes.DesiredStatus{ecstypes.DesiredStatusRunning, ecstypes.DesiredStatusStopped} {
		p := ecs.NewListTasksPaginator(e.client, &ecs.ListTasksInput{
			Cluster: aws.String(e.cluster), StartedBy: aws.String(deployment), DesiredStatus: status,
		})
		for p.HasMorePages() {
			page, err := p.NextPage(context.Background())
			if err != nil {
				t.Fatalf("ListTasks startedBy %s desiredStatus %s: %v", deployment, status, err)
			}
			arns = append(arns, page.TaskArns...)
		}
	}
	if len(arns) == 0 {
		return nil
	}
	tasks := e.describeTasks(t, arns)
	sort.Slice(tasks, func(i, j int) bool { return aws.ToString(tasks[i].TaskArn) < aws.ToString(tasks[j].TaskArn) })
	return tasks
}

// allServiceTasks describes the service's tasks of both desired statuses.
func (e *svcEnv) allServiceTasks(t testing.TB, name string) []ecstypes.Task {
	t.Helper()
	var arns []string
	for _, status := range []ecstypes.DesiredStatus{ecstypes.DesiredStatusRunning, ecstypes.DesiredStatusStopped} {
		got, err := e.listServiceTasks(name, status)
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, got...)
	}
	if len(arns) == 0 {
		return nil
	}
	return e.describeTasks(t, arns)
}

// checkCounters checks DescribeServices' counts against the tasks: the
// service's runningCount is want, the number of its tasks RUNNING, its
// pendingCount the number on their way, and the deployments' counts add up
// to the service's. The counts are refreshed by the scheduler's next
// reconcile, so a mismatch gets 5 s to clear.
func (e *svcEnv) checkCounters(t *testing.T, name string, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		svc := e.describeService(t, name)
		tasks := e.allServiceTasks(t, name)
		running, pending := 0, 0
		for _, task := range tasks {
			switch aws.ToString(task.LastStatus) {
			case "RUNNING":
				running++
			case "PROVISIONING", "PENDING", "ACTIVATING":
				pending++
			}
		}
		var depRunning, depPending int32
		for _, d := range svc.Deployments {
			depRunning += d.RunningCount
			depPending += d.PendingCount
		}
		var problems []string
		if int(svc.RunningCount) != want || int(svc.RunningCount) != running {
			problems = append(problems, fmt.Sprintf("runningCount %d, want %d; tasks RUNNING %d", svc.RunningCount, want, running))
		}
		if int(svc.PendingCount) != pending {
			problems = append(problems, fmt.Sprintf("pendingCount %d, tasks pending %d", svc.PendingCount, pending))
		}
		if depRunning != svc.RunningCount || depPending != svc.PendingCount {
			problems = append(problems, fmt.Sprintf("the deployments count %d running and %d pending, the service %d and %d",
				depRunning, depPending, svc.RunningCount, svc.PendingCount))
		}
		if len(problems) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("service %s counters: %s\n%s%s", name, strings.Join(problems, "; "), svcSummary(svc), taskSummary(tasks))
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestDeployKilledTasksReplaced (B) kills the app container of a RUNNING
// task of a steady service of 5 every 2 s for 20 s: within 30 s of the last
// kill the service runs 5 tasks again, and no container of a stopped task
// is left running.
func TestDeployKilledTasksReplaced(t *testing.T) {
	t.Parallel()
	e := startServiceEnv(t, ServerOptions{}, "killed")
	td := e.registerApp(t, "killed", "1")
	const desired = 5
	e.createService(t, "web", td, desired, "--launch-type", "FARGATE")
	e.checkServiceTasks(t, e.waitSteady(t, "web", 90*time.Second))

	// The victim is the newest RUNNING task: after the first kill, a
	// replacement, often not yet HEALTHY. It did reach RUNNING, so its
	// end is not a failure to start (no start throttle).
	var killed []string
	var lastKill time.Time
	start := time.Now()
	for i := range 10 {
		time.Sleep(time.Until(start.Add(time.Duration(i) * 2 * time.Second)))
		var victim *ecstypes.Task
		tasks := e.serviceTasks(t, "web", ecstypes.DesiredStatusRunning)
		for j, task := range tasks {
			if aws.ToString(task.LastStatus) != "RUNNING" || task.StartedAt == nil || slices.Contains(killed, aws.ToString(task.TaskArn)) {
				continue
			}
			if victim == nil || task.StartedAt.After(*victim.StartedAt) {
				victim = &tasks[j]
			}
		}
		if victim == nil {
			t.Logf("kill %d: no RUNNING task to kill:\n%s", i+1, taskSummary(tasks))
			continue
		}
		health := victim.HealthStatus
		if r := Docker(t, "kill", aws.ToString(container(t, *victim, "app").RuntimeId)); r.ExitCode != 0 {
			t.Logf("kill %d: docker kill failed (the container may have just exited): %s", i+1, r.Stderr)
			continue
		}
		lastKill = time.Now()
		killed = append(killed, aws.ToString(victim.TaskArn))
		t.Logf("kill %d at %s: task %s (%s)", i+1, time.Since(start).Round(time.Millisecond), taskID(aws.ToString(victim.TaskArn)), health)
	}
	if len(killed) < 7 {
		t.Fatalf("only %d kills in 20 s, want 7 to 10", len(killed))
	}

	// Back to 5 RUNNING tasks, none of them killed, within 30 s.
	deadline := lastKill.Add(30 * time.Second)
	var svc ecstypes.Service
	var tasks []ecstypes.Task
	for {
		svc = e.describeService(t, "web")
		tasks = e.serviceTasks(t, "web", ecstypes.DesiredStatusRunning)
		ok := svc.RunningCount == desired && svc.PendingCount == 0 && len(tasks) == desired
		for _, task := range tasks {
			ok = ok && aws.ToString(task.LastStatus) == "RUNNING" && !slices.Contains(killed, aws.ToString(task.TaskArn))
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("30 s after the last kill the service does not run %d tasks:\n%s%s", desired, svcSummary(svc), taskSummary(tasks))
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("back to %d RUNNING tasks %s after the last kill", desired, time.Since(lastKill).Round(time.Millisecond))
	e.checkCounters(t, "web", desired)

	// Every killed task ended as a docker kill ends it (STOPPED once its
	// containers are stopped and its holder removed).
	for _, arn := range killed {
		if task := waitTaskStatus(t, e.s, e.cluster, arn, "STOPPED", 30*time.Second); task.StopCode != ecstypes.TaskStopCodeEssentialContainerExited {
			t.Errorf("killed task: want STOPPED with EssentialContainerExited:\n%s", taskSummary([]ecstypes.Task{task}))
		}
	}

	// No leak: the containers running are the holder and app of each
	// RUNNING task; every container of a stopped task has exited (a task
	// is STOPPED only once its containers are).
	runningIDs := map[string]bool{}
	for _, task := range tasks {
		runningIDs[taskID(aws.ToString(task.TaskArn))] = true
	}
	ps := Docker(t, "ps", "--all", "--no-trunc", "--filter", "label=berth.node-id="+agentNodeID(t, e.s), "--filter", "label=berth.cluster=killed",
		"--format", `{{.ID}} {{.State}} {{.Label "berth.task-id"}} {{.Label "berth.role"}}`).OK(t)
	perTask := map[string][]string{} // task id -> roles of its running containers
	apps := 0
	for _, line := range strings.Split(strings.TrimSpace(ps.Stdout), "\n") {
		f := strings.Fields(line)
		if len(f) != 4 {
			t.Fatalf("docker ps line %q: want id, state, task id and role", line)
		}
		id, state, task, role := f[0], f[1], f[2], f[3]
		if !runningIDs[task] {
			if state != "exited" && state != "dead" {
				t.Errorf("container %s (%s) of task %s, which is not RUNNING, is %s", id[:12], role, task, state)
			}
			continue
		}
		if state == "running" {
			perTask[task] = append(perTask[task], role)
			if role == "container" {
				apps++
			}
		}
	}
	for task := range runningIDs {
		if roles := perTask[task]; len(roles) != 2 || !slices.Contains(roles, "holder") || !slices.Contains(roles, "container") {
			t.Errorf("RUNNING task %s has running containers %v, want a holder and its app", task, roles)
		}
	}
	t.Logf("%d containers of the cluster; %d RUNNING tasks with %d app containers running", len(strings.Split(strings.TrimSpace(ps.Stdout), "\n")), len(runningIDs), apps)
	if apps != desired {
		t.Errorf("%d app containers running for the cluster, want %d", apps, desired)
	}
	if hasEvent(svc, scheduler.EventUnableToStartConsistently("web")) {
		t.Errorf("the service throttled its starts, though every killed task had reached RUNNING:\n%s", svcSummary(svc))
	}
}
