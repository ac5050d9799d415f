package scheduler

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// Deployment rolloutState values (spec 3.3).
const (
	RolloutInProgress = "IN_PROGRESS"
	RolloutCompleted  = "COMPLETED"
	RolloutFailed     = "FAILED"
)

// DeploymentIDPrefix starts every deployment id.
const DeploymentIDPrefix = "ecs-svc/"

// NewDeploymentID returns a deployment id: "ecs-svc/" and 19 digits, a
// positive int64 of 19 digits as the ids ECS shows are (OBSERVED, e.g.
// ecs-svc/7246342417563559064). r may be nil for math/rand/v2's global
// source, which is seeded randomly.
func NewDeploymentID(r *rand.Rand) string {
	const low = 1_000_000_000_000_000_000 // smallest 19-digit number
	span := int64(1<<63-1) - low + 1
	var n int64
	if r != nil {
		n = r.Int64N(span)
	} else {
		n = rand.Int64N(span)
	}
	return DeploymentIDPrefix + strconv.FormatInt(low+n, 10)
}

// rolloutStateReason strings (spec 3.3, OBSERVED).
const (
	// ReasonBreakerFailed is the reason of a deployment the circuit breaker
	// failed, in both stages: real ECS shows it also when the failures
	// were health checks of tasks that did start (OBSERVED).
	ReasonBreakerFailed = "ECS deployment circuit breaker: tasks failed to start."
)

// ReasonDeploymentInProgress is the rolloutStateReason of a deployment
// under way (UNVERIFIED: seen in ECS's deployment state change events).
func ReasonDeploymentInProgress(deploymentID string) string {
	return "ECS deployment " + deploymentID + " in progress."
}

// ReasonDeploymentCompleted is the rolloutStateReason of a COMPLETED
// deployment.
func ReasonDeploymentCompleted(deploymentID string) string {
	return "ECS deployment " + deploymentID + " completed."
}

// ReasonRollingBack is the rolloutStateReason of the deployment a circuit
// breaker rollback starts; targetID is the deployment rolled back to (the
// last COMPLETED one). The spec writes it without a final period; every
// public sample of real output and of AWS's event documentation ends it
// with one, and the real service wins (OBSERVED).
func ReasonRollingBack(targetID string) string {
	return "ECS deployment circuit breaker: rolling back to deploymentId " + targetID + "."
}

// BreakerThreshold is the circuit breaker's failure threshold for a
// deployment of desired tasks: clamp(ceil(0.5 * desired), 3, 200).
func BreakerThreshold(desired int) int {
	return min(max((desired+1)/2, 3), 200)
}

// TaskFailure is how a task of a deployment failed, for the circuit
// breaker.
type TaskFailure int

const (
	// FailedToStart: the task stopped without ever reaching RUNNING.
	FailedToStart TaskFailure = iota
	// FailedHealthCheck: a RUNNING task failed its load balancer, Cloud Map
	// or container health check (past the grace period).
	FailedHealthCheck
)

// BreakerCounts reports whether a task failure adds one to its
// deployment's failedTasks for the circuit breaker (spec 3.4). anyRunning
// is whether any task of the deployment has reached RUNNING:
//   - stage 1, no task has: each task that fails to reach RUNNING counts;
//   - stage 2, one has: failed health checks count, failures to start no
//     longer do.
//
// A task that reaches RUNNING and then exits counts in neither stage by
// this rule; whether berth counts essential-container exits as stage 2
// failures is the controller's choice (ECS does not document it).
func BreakerCounts(f TaskFailure, anyRunning bool) bool {
	if anyRunning {
		return f == FailedHealthCheck
	}
	return f == FailedToStart
}

// BreakerTripped reports whether the circuit breaker fails a deployment:
// enabled, and its failed tasks have reached the threshold for desired.
func BreakerTripped(enabled bool, desired, failedTasks int) bool {
	return enabled && failedTasks >= BreakerThreshold(desired)
}

// DeploymentInput is a snapshot of the PRIMARY deployment and what else
// the service runs.
type DeploymentInput struct {
	ID      string // ecs-svc/...
	Desired int
	// State is its rolloutState now ("" counts as IN_PROGRESS).
	State string
	// Tasks and Healthy count its tasks not yet STOPPED (nor being
	// stopped), and those of them that count healthy (TaskHealthy).
	Tasks, Healthy int
	// OldTasks counts the tasks of the other deployments not yet STOPPED.
	OldTasks int
	// FailedTasks is its circuit breaker count (see BreakerCounts);
	// Breaker whether deploymentCircuitBreaker.enable is set.
	FailedTasks int
	Breaker     bool
}

// DeploymentState decides the rolloutState of the PRIMARY deployment and
// its rolloutStateReason (spec 3.3, 3.4):
//   - COMPLETED and FAILED are final;
//   - FAILED when the circuit breaker trips (checked first: a deployment
//     whose tasks keep failing never completes);
//   - COMPLETED at steady state: exactly desired tasks, all healthy, and
//     no task of an older deployment left;
//   - IN_PROGRESS otherwise.
//
// changed tells the caller to record the new state (and, on COMPLETED, emit
// EventDeploymentCompleted and EventSteadyState; on FAILED with rollback,
// start a deployment of RollbackTarget's task definition).
func DeploymentState(in DeploymentInput) (state, reason string, changed bool) {
	switch in.State {
	case RolloutCompleted, RolloutFailed:
		return in.State, "", false
	}
	switch {
	case BreakerTripped(in.Breaker, in.Desired, in.FailedTasks):
		return RolloutFailed, ReasonBreakerFailed, true
	case in.Tasks == in.Desired && in.Healthy == in.Desired && in.OldTasks == 0:
		return RolloutCompleted, ReasonDeploymentCompleted(in.ID), true
	}
	return RolloutInProgress, ReasonDeploymentInProgress(in.ID), in.State != RolloutInProgress
}

// DeploymentRecord is one deployment of a service's history, INACTIVE
// ones included.
type DeploymentRecord struct {
	ID             string
	TaskDefinition string
	RolloutState   string
	CreatedAt      time.Time
}

// RollbackTarget picks the deployment a circuit breaker rollback returns
// to: the most recently created COMPLETED deployment other than failedID
// (spec 3.4). ok is false when there is none: the service stays on its
// FAILED deployment.
func RollbackTarget(history []DeploymentRecord, failedID string) (target DeploymentRecord, ok bool) {
	for _, d := range history {
		if d.ID == failedID || d.RolloutState != RolloutCompleted {
			continue
		}
		if !ok || d.CreatedAt.After(target.CreatedAt) {
			target, ok = d, true
		}
	}
	return target, ok
}
