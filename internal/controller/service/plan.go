package service

import (
	"reflect"
	"slices"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/scheduler"
)

// Stop reasons of the tasks the service scheduler stops.
const (
	// reasonHealthCheckFailed: a task replaced for failing its container
	// health check (UNVERIFIED wording).
	reasonHealthCheckFailed = "Task failed container health checks"
	// eventRepeatWindow is how long a repeated condition (unable to place,
	// blocked, throttled) keeps its event from being added again.
	eventRepeatWindow = 10 * time.Minute
	// maxTasksPerEvent caps the task ids one started/stopped event lists.
	maxTasksPerEvent = 10
)

// reasonScaling is the stoppedReason of a task the scheduler stops for a
// deployment or a scale-in (OBSERVED).
func reasonScaling(deploymentID string) string {
	return "Scaling activity initiated by (deployment " + deploymentID + ")"
}

// stopRequest is a task the step stops.
type stopRequest struct {
	key    string
	reason string
}

// step is what one reconcile of a service decides: the service record to
// write, tasks to stop or mark accounted, and how many tasks to start.
type step struct {
	svc     ecsstate.Service
	changed bool
	stop    []stopRequest
	account []string // task keys whose end the step counted
	// launch is how many tasks to start for the PRIMARY deployment, with
	// providerCounts for the capacity provider split.
	launch         int
	providerCounts map[string]int
	// wakeAt is the earliest time something changes by the clock alone
	// (a task turning healthy, a grace period or throttle ending); zero
	// for none.
	wakeAt time.Time
}

// planInput is a snapshot of one service.
type planInput struct {
	svc   ecsstate.Service
	tasks []ecsstate.Task
	now   time.Time
	// eventID returns a new event id.
	eventID func() string
}

// plan decides one reconcile step of a service: it counts the tasks that
// ended (circuit breaker, start throttle), moves the PRIMARY deployment's
// rolloutState on (completing it, or failing it and rolling back), takes
// a rolling-update step, and refreshes the counts and events. It is pure:
// the caller applies the step.
func plan(in planInput) step {
	s := copyService(in.svc)
	st := step{providerCounts: map[string]int{}}
	p := &planner{in: in, s: &s, st: &st}
	p.run()
	st.svc = s
	st.changed = !sameService(in.svc, s)
	return st
}

type planner struct {
	in planInput
	s  *ecsstate.Service
	st *step
}

// deployment returns the live deployment with id, nil if none.
func (p *planner) deployment(id string) *ecsstate.Deployment {
	for i := range p.s.Deployments {
		if p.s.Deployments[i].ID == id {
			return &p.s.Deployments[i]
		}
	}
	return nil
}

func (p *planner) wake(at time.Time) {
	if at.After(p.in.now) && (p.st.wakeAt.IsZero() || at.Before(p.st.wakeAt)) {
		p.st.wakeAt = at
	}
}

// event adds an event, newest first. A repeated condition's event
// (repeat) is not added again while the same message is recent.
func (p *planner) event(msg string, repeat bool) {
	if repeat {
		for _, e := range p.s.Events {
			if at := e.CreatedAt; at != nil && p.in.now.Sub(at.Time) > eventRepeatWindow {
				break
			}
			if e.Message != nil && *e.Message == msg {
				return
			}
		}
	}
	p.s.AddEvent(p.in.eventID(), msg, p.in.now)
}

// taskEvents adds events listing ids, maxTasksPerEvent at a time.
func (p *planner) taskEvents(ids []string, build func(service string, ids ...string) string) {
	for chunk := range slices.Chunk(ids, maxTasksPerEvent) {
		p.event(build(p.s.Name, chunk...), false)
	}
}

// liveTask is a task not yet STOPPED, as the step sees it.
type liveTask struct {
	task      *ecsstate.Task
	rollout   scheduler.RolloutTask
	running   bool
	runningAt time.Time
}

func (p *planner) run() {
	live := p.account()
	if primary := p.s.Primary(); primary != nil {
		primary.DesiredCount = p.s.DesiredCount
		if p.s.Status == ecsstate.ServiceActive {
			p.deploymentState(live)
		}
	}
	p.rollout(live)
	p.count(live)
	p.retire(live)
	p.steady(live)
}

// account counts each task that ended and was not counted yet, and returns
// the tasks not yet STOPPED.
func (p *planner) account() []liveTask {
	var live []liveTask
	for i := range p.in.tasks {
		t := &p.in.tasks[i]
		if t.Observed.LastStatus != ecsstate.StatusStopped {
			live = append(live, p.liveTask(t))
			continue
		}
		if t.ServiceAccounted {
			continue
		}
		p.st.account = append(p.st.account, t.Key())
		if !stoppedOnItsOwn(t) {
			continue
		}
		// The circuit breaker of a deployment still proving itself counts
		// every task that ended before it counted healthy; the start
		// throttle only tasks that never reached RUNNING (S14): a task
		// that ran and died is replaced at once.
		if d := p.deployment(t.Spec.StartedBy); d != nil && !p.countedHealthy(t) && !d.ReachedHealthy {
			d.FailedTasks++
		}
		at := t.Observed.StoppedAt
		if at.IsZero() {
			at = p.in.now
		}
		p.setThrottle(p.throttle().Observe(t.Spec.TaskDefinitionARN, reachedRunning(t), at))
	}
	return live
}

// stoppedOnItsOwn: the task ended without the scheduler, a user or a Spot
// reclaim stopping it (its essential container exited, it failed to
// start).
func stoppedOnItsOwn(t *ecsstate.Task) bool {
	switch t.StopCode {
	case ecstypes.TaskStopCodeServiceSchedulerInitiated, ecstypes.TaskStopCodeUserInitiated, ecstypes.TaskStopCodeSpotInterruption:
		return false
	}
	return true
}

// reachedRunning reports whether a task went PENDING -> RUNNING: ECS's
// startedAt, "the time when the task transitioned from the PENDING state
// to the RUNNING state", is set.
func reachedRunning(t *ecsstate.Task) bool {
	return !t.Observed.StartedAt.IsZero()
}

// countedHealthy reports whether a stopped task had counted healthy
// before it stopped: a task that dies before that failed to launch, for
// the circuit breaker's first stage.
func (p *planner) countedHealthy(t *ecsstate.Task) bool {
	if t.Observed.StartedAt.IsZero() {
		return false
	}
	end := t.Observed.StoppedAt
	if !t.Observed.ExecutionStoppedAt.IsZero() {
		end = t.Observed.ExecutionStoppedAt
	}
	if end.IsZero() {
		end = p.in.now
	}
	in := p.healthInput(t, t.Observed.StartedAt)
	if in.HealthCheck {
		// The last health seen before it stopped is all there is.
		return t.Observed.HealthStatus == scheduler.HealthHealthy
	}
	return scheduler.TaskHealthy(in, end)
}

func (p *planner) throttle() scheduler.StartThrottle {
	t := p.s.Throttle
	return scheduler.StartThrottle{TaskDefinition: t.TaskDefinition, Failures: t.Failures, LastFailure: t.LastFailure}
}

func (p *planner) setThrottle(t scheduler.StartThrottle) {
	p.s.Throttle = ecsstate.StartThrottle{TaskDefinition: t.TaskDefinition, Failures: t.Failures, LastFailure: t.LastFailure}
}

// hasHealthCheck reports whether an essential container of the task
// defines a health check.
func hasHealthCheck(t *ecsstate.Task) bool {
	for _, c := range t.Spec.Definition.ContainerDefinitions {
		if (c.Essential == nil || *c.Essential) && c.HealthCheck != nil {
			return true
		}
	}
	return false
}

func (p *planner) healthInput(t *ecsstate.Task, runningAt time.Time) scheduler.TaskHealthInput {
	return scheduler.TaskHealthInput{
		RunningAt:    runningAt,
		HealthCheck:  hasHealthCheck(t),
		HealthStatus: t.Observed.HealthStatus,
		LoadBalanced: len(t.Spec.LoadBalancers) > 0,
		TargetHealth: t.TargetHealth,
		Discovered:   len(t.Spec.ServiceRegistries) > 0,
		InRegistry:   len(t.Registries) > 0,
		GracePeriod:  time.Duration(awsapi.Deref(p.s.HealthCheckGracePeriodSeconds)) * time.Second,
	}
}

// unhealthyTarget is the first of a task's targets its group says is
// unhealthy, if any.
func unhealthyTarget(t *ecsstate.Task) (ecsstate.TaskTarget, bool) {
	for _, tt := range t.Targets {
		if tt.Health == scheduler.TargetUnhealthy {
			return tt, true
		}
	}
	return ecsstate.TaskTarget{}, false
}

func (p *planner) liveTask(t *ecsstate.Task) liveTask {
	lt := liveTask{task: t, running: t.Observed.LastStatus == ecsstate.StatusRunning}
	stopping := t.DesiredStatus == ecsstate.StatusStopped
	if lt.running {
		lt.runningAt = t.Observed.StartedAt
		if lt.runningAt.IsZero() {
			lt.runningAt = t.Observed.UpdatedAt
		}
	}
	hin := p.healthInput(t, lt.runningAt)
	healthy := !stopping && scheduler.TaskHealthy(hin, p.in.now)
	unhealthy := !stopping && scheduler.TaskFailedHealthChecks(hin, p.in.now)
	if lt.running && !stopping {
		switch {
		case !hin.HealthCheck && !healthy:
			p.wake(lt.runningAt.Add(scheduler.HealthyAfterRunning))
		case hin.HealthCheck && hin.HealthStatus == scheduler.HealthUnhealthy && !unhealthy:
			p.wake(lt.runningAt.Add(hin.GracePeriod))
		}
	}
	if healthy {
		if d := p.deployment(t.Spec.StartedBy); d != nil {
			d.ReachedHealthy = true
		}
	}
	lt.rollout = scheduler.RolloutTask{
		ID:         t.Key(),
		Deployment: t.Spec.StartedBy,
		CreatedAt:  t.CreatedAt,
		Pending:    isPending(t.Observed.LastStatus),
		Healthy:    healthy,
		Unhealthy:  unhealthy,
		Stopping:   stopping || !(lt.running || isPending(t.Observed.LastStatus)),
	}
	return lt
}

func isPending(status string) bool {
	switch status {
	case "", ecsstate.StatusProvisioning, ecsstate.StatusPending, ecsstate.StatusActivating:
		return true
	}
	return false
}

// deploymentState moves the PRIMARY deployment's rolloutState on.
func (p *planner) deploymentState(live []liveTask) {
	primary := p.s.Primary()
	in := scheduler.DeploymentInput{
		ID:          primary.ID,
		Desired:     int(p.s.DesiredCount),
		State:       primary.RolloutState,
		FailedTasks: int(primary.FailedTasks),
		Breaker:     p.breaker().Enable != nil && *p.breaker().Enable,
	}
	for _, lt := range live {
		switch {
		case lt.rollout.Deployment != primary.ID:
			in.OldTasks++
		case !lt.rollout.Stopping:
			in.Tasks++
			if lt.rollout.Healthy && !lt.rollout.Unhealthy {
				in.Healthy++
			}
		}
	}
	state, reason, changed := scheduler.DeploymentState(in)
	if !changed {
		return
	}
	primary.RolloutState, primary.RolloutStateReason, primary.UpdatedAt = state, reason, p.in.now
	switch state {
	case scheduler.RolloutCompleted:
		p.event(scheduler.EventDeploymentCompleted(p.s.Name, primary.ID), false)
	case scheduler.RolloutFailed:
		p.event(scheduler.EventDeploymentFailed(p.s.Name, primary.ID), false)
		rollback := awsapi.Deref(p.breaker().Rollback)
		if rollback && p.rollBack(primary.ID) {
			return
		}
		kept := 0
		for _, lt := range live {
			if lt.rollout.Deployment != primary.ID && lt.running && !lt.rollout.Stopping {
				kept++
			}
		}
		p.event(scheduler.EventDeploymentStalled(p.s.Name, primary.ID, rollback, kept), false)
	}
}

func (p *planner) breaker() ecstypes.DeploymentCircuitBreaker {
	if b := p.s.DeploymentConfiguration.DeploymentCircuitBreaker; b != nil {
		return *b
	}
	return ecstypes.DeploymentCircuitBreaker{}
}

// rollBack starts a deployment of the last COMPLETED deployment's task
// definition in place of the failed PRIMARY; false when there is none.
//
// Only a COMPLETED deployment is a rollback target, as ECS documents: "the
// service is rolled back to the last deployment that completed
// successfully", and "the rollback method requires a previous deployment
// in COMPLETED state". An earlier deployment that never completed has
// proven nothing either: the failed deployment stays PRIMARY and launches
// nothing, and whatever the earlier ones still run keeps running (the
// rollout step never stops it for a FAILED primary).
func (p *planner) rollBack(failedID string) bool {
	var history []scheduler.DeploymentRecord
	byID := map[string]ecsstate.Deployment{}
	for _, d := range slices.Concat(p.s.Deployments, p.s.History) {
		history = append(history, scheduler.DeploymentRecord{ID: d.ID, TaskDefinition: d.TaskDefinition, RolloutState: d.RolloutState, CreatedAt: d.CreatedAt})
		byID[d.ID] = d
	}
	target, ok := scheduler.RollbackTarget(history, failedID)
	if !ok {
		return false
	}
	from := byID[target.ID]
	rollback := ecsstate.Deployment{
		ID:                       scheduler.NewDeploymentID(nil),
		Status:                   ecsstate.DeploymentPrimary,
		TaskDefinition:           from.TaskDefinition,
		DesiredCount:             p.s.DesiredCount,
		LaunchType:               from.LaunchType,
		CapacityProviderStrategy: from.CapacityProviderStrategy,
		PlatformVersion:          from.PlatformVersion,
		PlatformFamily:           from.PlatformFamily,
		NetworkConfiguration:     from.NetworkConfiguration,
		CreatedAt:                p.in.now,
		UpdatedAt:                p.in.now,
		RolloutState:             scheduler.RolloutInProgress,
		RolloutStateReason:       scheduler.ReasonRollingBack(target.ID),
		RollbackOf:               failedID,
		RollbackTo:               target.ID,
	}
	for i := range p.s.Deployments {
		d := &p.s.Deployments[i]
		d.Status = ecsstate.DeploymentActive
		if d.ID == failedID {
			d.RolledBack = true
		}
	}
	p.s.Deployments = append([]ecsstate.Deployment{rollback}, p.s.Deployments...)
	p.s.TaskDefinition = from.TaskDefinition
	p.s.LaunchType, p.s.CapacityProviderStrategy = from.LaunchType, from.CapacityProviderStrategy
	p.s.PlatformVersion, p.s.PlatformFamily = from.PlatformVersion, from.PlatformFamily
	p.s.NetworkConfiguration = from.NetworkConfiguration
	return true
}

// rollout takes one rolling-update step.
func (p *planner) rollout(live []liveTask) {
	primary := p.s.Primary()
	desired := int(p.s.DesiredCount)
	if p.s.Status != ecsstate.ServiceActive {
		desired = 0
	}
	dc := p.s.DeploymentConfiguration
	in := scheduler.RolloutInput{
		Desired:               desired,
		MinimumHealthyPercent: scheduler.DefaultMinimumHealthyPercent,
		MaximumPercent:        scheduler.DefaultMaximumPercent,
	}
	if dc.MinimumHealthyPercent != nil {
		in.MinimumHealthyPercent = int(*dc.MinimumHealthyPercent)
	}
	if dc.MaximumPercent != nil {
		in.MaximumPercent = int(*dc.MaximumPercent)
	}
	for _, d := range p.s.Deployments {
		in.Deployments = append(in.Deployments, d.ID)
	}
	var nextStart time.Time
	if primary != nil {
		in.PrimaryFailed = primary.RolloutState == scheduler.RolloutFailed
		nextStart = p.throttle().NextStart(primary.TaskDefinition)
		in.StartHeld = nextStart.After(p.in.now)
	}
	byKey := map[string]*liveTask{}
	for i := range live {
		in.Tasks = append(in.Tasks, live[i].rollout)
		byKey[live[i].rollout.ID] = &live[i]
		if primary != nil && live[i].rollout.Deployment == primary.ID && !live[i].rollout.Stopping {
			p.st.providerCounts[live[i].task.Spec.CapacityProviderName]++
		}
	}
	d := scheduler.RolloutStep(in)
	if d.Held > 0 {
		p.wake(nextStart)
		p.event(scheduler.EventUnableToStartConsistently(p.s.Name), true)
	}
	p.st.launch = d.Start

	var scaled []string
	for _, key := range d.Stop {
		lt := byKey[key]
		if lt.rollout.Unhealthy {
			reason := reasonHealthCheckFailed
			if tt, ok := unhealthyTarget(lt.task); ok {
				reason = scheduler.ReasonELBHealthChecks(tt.TargetGroupARN)
				p.event(scheduler.EventTargetUnhealthy(p.s.Name, lt.task.ID, tt.Port, tt.TargetGroupARN, tt.Description), false)
			} else {
				p.event(scheduler.EventTaskFailedHealthChecks(p.s.Name, lt.task.ID), false)
			}
			p.st.stop = append(p.st.stop, stopRequest{key: key, reason: reason})
			p.st.account = append(p.st.account, key)
			if dep := p.deployment(lt.rollout.Deployment); dep != nil {
				dep.FailedTasks++
			}
			continue
		}
		reason := reasonScaling(lt.rollout.Deployment)
		if primary != nil && p.deployment(lt.rollout.Deployment) == nil {
			reason = reasonScaling(primary.ID)
		}
		p.st.stop = append(p.st.stop, stopRequest{key: key, reason: reason})
		scaled = append(scaled, lt.task.ID)
		lt.rollout.Stopping = true
	}
	p.taskEvents(scaled, scheduler.EventStoppedTasks)
	if d.Blocked {
		p.event(scheduler.EventDeploymentBlocked(p.s.Name), true)
	}
	// A stop decided in this step makes the task stopping for the counts.
	for _, r := range p.st.stop {
		byKey[r.key].rollout.Stopping = true
	}
}

// count refreshes the service's and deployments' task counts.
func (p *planner) count(live []liveTask) {
	p.s.RunningCount, p.s.PendingCount = 0, 0
	type counts struct{ running, pending, kept int32 }
	per := map[string]*counts{}
	for i := range p.s.Deployments {
		per[p.s.Deployments[i].ID] = &counts{}
	}
	for _, lt := range live {
		c := per[lt.rollout.Deployment]
		switch {
		case lt.running:
			p.s.RunningCount++
			if c != nil {
				c.running++
			}
		case lt.rollout.Pending:
			p.s.PendingCount++
			if c != nil {
				c.pending++
			}
		}
		if c != nil && !lt.rollout.Stopping {
			c.kept++
		}
	}
	for i := range p.s.Deployments {
		d := &p.s.Deployments[i]
		c := per[d.ID]
		if d.RunningCount != c.running || d.PendingCount != c.pending {
			d.RunningCount, d.PendingCount, d.UpdatedAt = c.running, c.pending, p.in.now
		}
		if d.Status != ecsstate.DeploymentPrimary {
			d.DesiredCount = c.kept
		}
	}
}

// retire moves deployments with no task left, other than the PRIMARY, to
// the history, and ends a DRAINING service with no task left.
func (p *planner) retire(live []liveTask) {
	has := map[string]bool{}
	for _, lt := range live {
		has[lt.rollout.Deployment] = true
	}
	kept := p.s.Deployments[:0:0]
	for _, d := range p.s.Deployments {
		if d.Status == ecsstate.DeploymentPrimary || has[d.ID] {
			kept = append(kept, d)
			continue
		}
		d.Status, d.FinishedAt, d.UpdatedAt = ecsstate.DeploymentInactive, p.in.now, p.in.now
		p.s.History = append([]ecsstate.Deployment{d}, p.s.History...)
	}
	p.s.Deployments = kept
	if len(p.s.History) > ecsstate.MaxDeploymentHistory {
		p.s.History = p.s.History[:ecsstate.MaxDeploymentHistory]
	}
	if p.s.Status == ecsstate.ServiceDraining && len(live) == 0 {
		p.s.Status = ecsstate.ServiceInactive
	}
}

// steady emits the steady-state event when the service arrives there: one
// deployment, COMPLETED, exactly desiredCount tasks, all RUNNING, none
// stopping.
func (p *planner) steady(live []liveTask) {
	primary := p.s.Primary()
	steady := p.s.Status == ecsstate.ServiceActive && primary != nil && len(p.s.Deployments) == 1 &&
		primary.RolloutState == scheduler.RolloutCompleted && len(live) == int(p.s.DesiredCount) &&
		p.st.launch == 0 && len(p.st.stop) == 0
	for _, lt := range live {
		steady = steady && lt.running && !lt.rollout.Stopping
	}
	if steady && !p.s.Steady {
		p.event(scheduler.EventSteadyState(p.s.Name), false)
	}
	p.s.Steady = steady
}

// copyService copies what plan changes in place: the deployments, the
// history and the events. Everything else is only ever replaced whole.
func copyService(s ecsstate.Service) ecsstate.Service {
	s.Deployments = slices.Clone(s.Deployments)
	s.History = slices.Clone(s.History)
	s.Events = slices.Clone(s.Events)
	return s
}

func sameService(a, b ecsstate.Service) bool {
	return reflect.DeepEqual(a, b)
}
