package scheduler

import (
	"cmp"
	"slices"
	"time"
)

// Deployment configuration defaults for a REPLICA service (spec 3.2).
const (
	DefaultMinimumHealthyPercent = 100
	DefaultMaximumPercent        = 200
)

// HealthyAfterRunning is how long a task with neither a load balancer nor
// a container health check must have been RUNNING before it counts healthy.
const HealthyAfterRunning = 40 * time.Second

// Task health status values (container and task healthStatus) and the
// target group states that matter here.
const (
	HealthHealthy   = "HEALTHY"
	HealthUnhealthy = "UNHEALTHY"
	HealthUnknown   = "UNKNOWN"

	TargetHealthy   = "healthy"
	TargetUnhealthy = "unhealthy"
)

// TaskHealthInput is what decides whether a service task counts healthy.
type TaskHealthInput struct {
	// RunningAt is when the task reached RUNNING (its startedAt); zero
	// while it has not.
	RunningAt time.Time
	// HealthCheck is whether an essential container defines a health
	// check; HealthStatus is then the task's healthStatus (from its
	// essential containers: HEALTHY, UNHEALTHY or UNKNOWN).
	HealthCheck  bool
	HealthStatus string
	// LoadBalanced is whether the service registers the task in target
	// groups; TargetHealth is then their verdict on it, folded by the
	// caller over all its targets ("healthy" only when every target is).
	LoadBalanced bool
	TargetHealth string
	// Discovered is whether the service registers the task with Cloud Map
	// (serviceRegistries); InRegistry is then whether that is done (or
	// found impossible: its registry is gone).
	Discovered bool
	InRegistry bool
	// GracePeriod is the service's healthCheckGracePeriodSeconds.
	GracePeriod time.Duration
}

// TaskHealthy reports whether a task counts healthy towards
// minimumHealthyPercent and a deployment's completion (spec 3.2, from
// DeploymentConfiguration's documentation):
//   - no load balancer, no container health check: HealthyAfterRunning
//     (40 s) after it reached RUNNING;
//   - no load balancer, a container health check: once HEALTHY;
//   - a load balancer: once the target group says healthy, and also
//     HEALTHY when a container health check exists;
//   - a service registry: only once the task is registered, too. ECS does
//     not say so; berth waits so that a rollout never stops a task the
//     name answers before the new one is in the answers (a client would
//     find no healthy address).
//
// The grace period does not make a task healthy; it only keeps failures
// from condemning it (TaskFailedHealthChecks).
func TaskHealthy(t TaskHealthInput, now time.Time) bool {
	if t.RunningAt.IsZero() || (t.Discovered && !t.InRegistry) {
		return false
	}
	if t.LoadBalanced {
		return t.TargetHealth == TargetHealthy && (!t.HealthCheck || t.HealthStatus == HealthHealthy)
	}
	if t.HealthCheck {
		return t.HealthStatus == HealthHealthy
	}
	return !now.Before(t.RunningAt.Add(HealthyAfterRunning))
}

// TaskFailedHealthChecks reports whether a RUNNING task has failed its
// container health check or its target group health check and is past the
// grace period, so the service must replace it. Failures are ignored for
// GracePeriod after the task reached RUNNING (spec 3.2, S28).
func TaskFailedHealthChecks(t TaskHealthInput, now time.Time) bool {
	if t.RunningAt.IsZero() || now.Before(t.RunningAt.Add(t.GracePeriod)) {
		return false
	}
	return (t.HealthCheck && t.HealthStatus == HealthUnhealthy) ||
		(t.LoadBalanced && t.TargetHealth == TargetUnhealthy)
}

// RolloutTask is one task of the service, not yet STOPPED, as the rollout
// sees it.
type RolloutTask struct {
	ID string
	// Deployment is the id of the deployment that started it (its
	// startedBy).
	Deployment string
	// CreatedAt orders the tasks of a deployment: the newest are stopped
	// first.
	CreatedAt time.Time
	// Pending: not yet RUNNING (PROVISIONING, PENDING, ACTIVATING).
	Pending bool
	// Healthy: TaskHealthy says it counts healthy.
	Healthy bool
	// Unhealthy: TaskFailedHealthChecks says it must be replaced. It never
	// counts healthy, whatever Healthy says.
	Unhealthy bool
	// Stopping: its desiredStatus is STOPPED but it has not stopped yet.
	// It still holds its share of maxTasks (its resources are not free
	// yet), never counts healthy, and is not stopped again.
	Stopping bool
}

// RolloutInput is a snapshot of a service for one rollout step. The
// percentages are the service's, defaults already applied
// (DefaultMinimumHealthyPercent, DefaultMaximumPercent): zero means zero.
type RolloutInput struct {
	Desired               int
	MinimumHealthyPercent int
	MaximumPercent        int
	// Deployments are the ids of the service's deployments: the PRIMARY
	// first, then the ACTIVE ones from newest to oldest. Tasks of a
	// deployment not listed count as older than all of them.
	Deployments []string
	// PrimaryFailed: the circuit breaker failed the PRIMARY deployment
	// without rolling back. A FAILED deployment launches nothing, and the
	// older deployments' tasks are left running: they are all the service
	// has (spec 3.3, 3.4).
	PrimaryFailed bool
	// StartHeld: the start throttle holds the PRIMARY's starts back for
	// now. The step starts nothing, and stops nothing to make room for
	// starts that cannot happen.
	StartHeld bool
	Tasks     []RolloutTask
}

// RolloutDecision is one step of a rolling update.
type RolloutDecision struct {
	// Start is how many tasks to start for the PRIMARY deployment. Start
	// them before stopping Stop's tasks: a replacement is meant to exist
	// before the unhealthy task it replaces goes.
	Start int
	// Held is how many tasks the PRIMARY lacks while StartHeld holds its
	// starts back (room or not).
	Held int
	// Stop lists the tasks to stop (stopCode ServiceSchedulerInitiated), in
	// the order chosen (see RolloutStep).
	Stop []string
	// Blocked: work remains but the configuration lets the scheduler
	// neither start nor stop a task, and nothing in flight will change
	// that. The caller emits EventDeploymentBlocked.
	Blocked bool
	// MaxTasks and MinHealthy are the bounds the step honoured.
	MaxTasks, MinHealthy int
}

// MaxTasks is floor(desired * maximumPercent / 100): the cap on tasks not
// yet STOPPED across all deployments.
func MaxTasks(desired, maximumPercent int) int {
	if desired <= 0 || maximumPercent <= 0 {
		return 0
	}
	return desired * maximumPercent / 100
}

// MinHealthy is ceil(desired * minimumHealthyPercent / 100): how many tasks
// must stay healthy.
func MinHealthy(desired, minimumHealthyPercent int) int {
	if desired <= 0 || minimumHealthyPercent <= 0 {
		return 0
	}
	return (desired*minimumHealthyPercent + 99) / 100
}

// Task classes, in the order tasks are chosen for stopping within a
// deployment: those doing no good go first.
const (
	classUnhealthy = iota // failed health checks: condemned anyway
	classPending          // not serving yet
	classWarming          // RUNNING, not yet healthy
	classHealthy
)

func taskClass(t RolloutTask) int {
	switch {
	case t.Unhealthy:
		return classUnhealthy
	case t.Pending:
		return classPending
	case !t.Healthy:
		return classWarming
	}
	return classHealthy
}

// RolloutStep decides the next step of a service's rolling update (spec
// 3.2) from a snapshot of its tasks. Applied repeatedly, each time to a
// fresh snapshot, it replaces every task of the older deployments with
// PRIMARY tasks while
//   - tasks not yet STOPPED (pending, running, stopping) never exceed
//     MaxTasks = floor(desired * maximumPercent / 100), and
//   - no stop it chooses takes the tasks that count healthy, nor the
//     RUNNING tasks, below MinHealthy = ceil(desired *
//     minimumHealthyPercent / 100).
//
// Starting: the PRIMARY needs desired tasks that are neither unhealthy nor
// stopping; the step starts what is missing, as far as MaxTasks leaves
// room. A stopping task keeps its room until it has stopped, so with
// maximumPercent 100 old tasks are stopped first and their replacements
// start once they are gone.
//
// What a stop costs. ECS calls minimumHealthyPercent "a lower limit on the
// number of your service's tasks that must remain in the RUNNING state
// during a deployment", and counts a task towards it only once it is
// healthy; "if tasks become unhealthy, the scheduler will start
// replacement tasks first and maintain minimumHealthyPercent tasks until
// the replacement tasks become healthy" (S8, S9). So:
//   - an unhealthy task (failed its checks) costs nothing;
//   - a healthy task may go only while more than MinHealthy tasks count
//     healthy and more than MinHealthy run;
//   - a RUNNING task whose health is still unknown (start period, before
//     its first check, the 40 s a task without a check waits) is not
//     unhealthy: it may go only while at least MinHealthy other tasks
//     count healthy and more than MinHealthy run. Until the PRIMARY's
//     tasks have proven themselves, the old RUNNING tasks stay, whatever
//     their health: a deployment that fails must find them still there;
//   - a task that has not started (pending) takes nothing from the
//     RUNNING tasks, but may still be the older deployment's only hope:
//     it goes while MinHealthy tasks count healthy without it, or when its
//     room is needed for a PRIMARY start that maximumPercent leaves no
//     room for.
//
// Scaling in the PRIMARY's own tasks replaces nothing, so there only the
// RUNNING count binds a task whose health is unknown, and pending ones go
// freely. With maximumPercent leaving no room, the same costs make the
// rollout go one batch at a time: stop what minimumHealthyPercent allows,
// start the replacements once the room is free, and stop the next batch
// once they count healthy.
//
// Candidates are taken in this order:
//  1. every task of the older deployments, the oldest deployment first;
//     within one, unhealthy, then pending, then running but not yet
//     healthy, then healthy, newest first within each class. Tasks that do
//     the least good go first; the newest first as ECS's default
//     termination does not say (UNVERIFIED), and the oldest tasks have
//     proven themselves longest;
//  2. PRIMARY tasks beyond desired (scale in), in the same order;
//  3. unhealthy PRIMARY tasks, once a replacement for each is started (in
//     this step or before). When MaximumPercent leaves no room for a
//     replacement, one unhealthy task is stopped at a time, only when
//     nothing else is being stopped, to clear room (ECS's "one-by-one,
//     using the minimumHealthyPercent as a constraint": a task that does
//     not count healthy costs none of it).
//
// Desired 0 stops every task at once. A FAILED primary starts nothing,
// leaves the older deployments' tasks running and only scales in, over
// all the service's tasks, its own first.
func RolloutStep(in RolloutInput) RolloutDecision {
	d := RolloutDecision{
		MaxTasks:   MaxTasks(in.Desired, in.MaximumPercent),
		MinHealthy: MinHealthy(in.Desired, in.MinimumHealthyPercent),
	}
	if in.Desired <= 0 {
		for _, t := range stopOrder(in, func(t RolloutTask) bool { return !t.Stopping }) {
			d.Stop = append(d.Stop, t.ID)
		}
		return d
	}
	primary := ""
	if len(in.Deployments) > 0 {
		primary = in.Deployments[0]
	}
	var primaryLive, primaryUnhealthy, old, oldLive, healthy, running, stopping int
	waiting := false // something in flight will change the picture by itself
	for _, t := range in.Tasks {
		if t.Stopping {
			waiting = true
			stopping++
			continue
		}
		if t.Pending || (!t.Healthy && !t.Unhealthy) {
			waiting = true
		}
		if !t.Pending && !t.Unhealthy {
			running++
			if t.Healthy {
				healthy++
			}
		}
		switch {
		case t.Deployment != primary:
			old++
			if !t.Unhealthy {
				oldLive++
			}
		case t.Unhealthy:
			primaryUnhealthy++
		default:
			primaryLive++
		}
	}

	wanted := 0
	if !in.PrimaryFailed {
		room := max(d.MaxTasks-len(in.Tasks), 0)
		wanted = min(max(in.Desired-primaryLive, 0), room)
	}
	// needRoom: PRIMARY starts that maximumPercent leaves no room for,
	// beyond the room the tasks already stopping will free.
	needRoom := 0
	if in.StartHeld {
		if !in.PrimaryFailed {
			d.Held = max(in.Desired-primaryLive, 0)
		}
	} else {
		d.Start = wanted
		if !in.PrimaryFailed {
			needRoom = max(in.Desired-primaryLive-wanted-stopping, 0)
		}
	}
	healthySpare := healthy - d.MinHealthy // may be negative
	runningSpare := running - d.MinHealthy
	stop := func(t RolloutTask, scaleIn bool) bool {
		switch taskClass(t) {
		case classPending:
			if healthySpare < 0 && !scaleIn && needRoom == 0 {
				return false
			}
		case classWarming:
			if runningSpare <= 0 || (healthySpare < 0 && !scaleIn) {
				return false
			}
			runningSpare--
		case classHealthy:
			if healthySpare <= 0 || runningSpare <= 0 {
				return false
			}
			healthySpare--
			runningSpare--
		}
		needRoom = max(needRoom-1, 0)
		d.Stop = append(d.Stop, t.ID)
		return true
	}

	if in.PrimaryFailed {
		// Scale in over every task the service still has, the failed
		// deployment's first.
		excess := primaryLive + primaryUnhealthy + oldLive - in.Desired
		ordered := slices.Concat(
			stopOrder(in, func(t RolloutTask) bool { return !t.Stopping && t.Deployment == primary }),
			stopOrder(in, func(t RolloutTask) bool { return !t.Stopping && t.Deployment != primary && !t.Unhealthy }))
		for _, t := range ordered {
			if excess <= 0 {
				break
			}
			if stop(t, true) {
				excess--
			}
		}
		return d
	}

	// 1. Older deployments.
	for _, t := range stopOrder(in, func(t RolloutTask) bool { return !t.Stopping && t.Deployment != primary }) {
		stop(t, false)
	}
	// 2. Scale in the primary.
	if excess := primaryLive - in.Desired; excess > 0 {
		for _, t := range stopOrder(in, func(t RolloutTask) bool { return !t.Stopping && t.Deployment == primary && !t.Unhealthy }) {
			if excess == 0 {
				break
			}
			if stop(t, true) {
				excess--
			}
		}
	}
	// 3. Replace unhealthy primary tasks.
	if primaryUnhealthy > 0 {
		unhealthy := stopOrder(in, func(t RolloutTask) bool { return !t.Stopping && t.Deployment == primary && t.Unhealthy })
		// Unhealthy tasks still standing in for a replacement not started.
		standIn := max(in.Desired-(primaryLive+d.Start), 0)
		n := max(primaryUnhealthy-standIn, 0)
		if n == 0 && !in.StartHeld && len(d.Stop) == 0 && stopping == 0 {
			n = 1 // no room: clear some, one at a time
		}
		for _, t := range unhealthy[:n] {
			stop(t, false)
		}
	}

	workLeft := old > 0 || primaryLive != in.Desired || primaryUnhealthy > 0
	d.Blocked = workLeft && d.Start == 0 && d.Held == 0 && len(d.Stop) == 0 && !waiting
	return d
}

// stopOrder returns the tasks keep selects in stopping order: oldest
// deployment first, then by class (unhealthy, pending, warming, healthy),
// newest first, and by id to be deterministic.
func stopOrder(in RolloutInput, keep func(RolloutTask) bool) []RolloutTask {
	rank := make(map[string]int, len(in.Deployments))
	for i, id := range in.Deployments {
		if _, dup := rank[id]; !dup {
			rank[id] = i
		}
	}
	deploymentRank := func(id string) int {
		if r, ok := rank[id]; ok {
			return r
		}
		return len(in.Deployments)
	}
	var out []RolloutTask
	for _, t := range in.Tasks {
		if keep(t) {
			out = append(out, t)
		}
	}
	slices.SortStableFunc(out, func(a, b RolloutTask) int {
		return cmp.Or(
			cmp.Compare(deploymentRank(b.Deployment), deploymentRank(a.Deployment)),
			cmp.Compare(taskClass(a), taskClass(b)),
			b.CreatedAt.Compare(a.CreatedAt),
			cmp.Compare(b.ID, a.ID),
		)
	})
	return out
}
