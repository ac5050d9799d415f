package scheduler

import "fmt"

import (
	"strconv"
	"strings"
)

// Service event messages (spec 3.6). Each starts "(service <name>)"; task
// ids are the task ARN's last part. Those marked OBSERVED are as seen in
// real DescribeServices output quoted publicly; the rest are documented.

// troubleshooting ends ECS's placement failure events (OBSERVED).
const troubleshooting = " For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."

func servicePrefix(service string) string { return "(service " + service + ")" }

// EventSteadyState: the service is at its desired count, healthy.
func EventSteadyState(service string) string {
	return servicePrefix(service) + " has reached a steady state."
}

// EventStartedTasks: the scheduler started tasks (OBSERVED), e.g.
// "(service web) has started 2 tasks: (task a) (task b)."
func EventStartedTasks(service string, taskIDs ...string) string {
	return servicePrefix(service) + " has started " + strconv.Itoa(len(taskIDs)) + " tasks: " + taskList(taskIDs) + "."
}

// EventStoppedTasks: the scheduler stopped tasks (OBSERVED), e.g.
// "(service web) has stopped 1 running tasks: (task a)."
func EventStoppedTasks(service string, taskIDs ...string) string {
	return servicePrefix(service) + " has stopped " + strconv.Itoa(len(taskIDs)) + " running tasks: " + taskList(taskIDs) + "."
}

func taskList(ids []string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = "(task " + id + ")"
	}
	return strings.Join(parts, " ")
}

// EventUnableToPlace: no container instance could take a task (the
// documented short form).
func EventUnableToPlace(service string) string {
	return servicePrefix(service) + " was unable to place a task because no container instance met all of its requirements."
}

// EventUnableToPlaceClosest is the long form ECS emits, naming the closest
// matching container instance and why it refused (OBSERVED wordings per
// reason; see ClosestFailure). A failure without a node (Fargate capacity)
// gives "(service X) was unable to place a task. Reason: <reason>."
// (UNVERIFIED punctuation).
func EventUnableToPlaceClosest(service string, f Failure) string {
	if f.NodeID == "" {
		return servicePrefix(service) + " was unable to place a task. Reason: " + strings.TrimSuffix(f.Reason, ".") + "." + troubleshooting
	}
	var why string
	switch f.Reason {
	case ReasonCPU:
		why = "has insufficient CPU units available."
	case ReasonMemory:
		why = "has insufficient memory available."
	case ReasonPorts:
		why = "is already using a port required by your task."
	case ReasonAgent:
		why = "doesn't have the agent connected."
	default:
		why = `encountered error "` + f.Reason + `".`
	}
	return EventUnableToPlace(service) + " The closest matching (container-instance " + f.NodeID + ") " + why + troubleshooting
}

// ClosestFailure picks, from Place's failures, the node that came closest
// to taking the task: the one that passed the most of the pipeline (agent,
// CPU, memory, ports, then constraints); the first such in order on a tie.
// ok is false when there are no failures.
func ClosestFailure(failures []Failure) (f Failure, ok bool) {
	best := -1
	for _, c := range failures {
		if s := pipelineStage(c.Reason); s > best {
			f, best, ok = c, s, true
		}
	}
	return f, ok
}

func pipelineStage(reason string) int {
	switch reason {
	case ReasonAgent:
		return 0
	case ReasonCPU:
		return 1
	case ReasonMemory:
		return 2
	case ReasonPorts:
		return 3
	}
	return 4 // a constraint, or anything placement learnt later
}

// EventDeploymentCompleted: the deployment reached COMPLETED (OBSERVED);
// deploymentID includes its "ecs-svc/" prefix.
func EventDeploymentCompleted(service, deploymentID string) string {
	return servicePrefix(service) + " (deployment " + deploymentID + ") deployment completed."
}

// EventTaskFailedHealthChecks: a task failed its container health checks
// and is being replaced (OBSERVED).
func EventTaskFailedHealthChecks(service, taskID string) string {
	return servicePrefix(service) + " (task " + taskID + ") failed container health checks."
}

// EventRegisteredTargets: the service registered n of its tasks in a
// target group (OBSERVED).
func EventRegisteredTargets(service string, n int, targetGroupARN string) string {
	return fmt.Sprintf("%s registered %d targets in (target-group %s)", servicePrefix(service), n, targetGroupARN)
}

// EventDeregisteredTargets: the service deregistered n of its tasks from a
// target group before stopping them (OBSERVED).
func EventDeregisteredTargets(service string, n int, targetGroupARN string) string {
	return fmt.Sprintf("%s deregistered %d targets in (target-group %s)", servicePrefix(service), n, targetGroupARN)
}

// EventTargetUnhealthy: a task's target failed its group's health checks
// (OBSERVED, in the form ECS gives awsvpc tasks).
func EventTargetUnhealthy(service, taskID string, port int32, targetGroupARN, reason string) string {
	return fmt.Sprintf("%s (task %s) (port %d) is unhealthy in (target-group %s) due to (reason %s).", servicePrefix(service), taskID, port, targetGroupARN, reason)
}

// ReasonELBHealthChecks is the stoppedReason of a task replaced for
// failing its target group's health checks (OBSERVED).
func ReasonELBHealthChecks(targetGroupARN string) string {
	return "Task failed ELB health checks in (target-group " + targetGroupARN + ")"
}

// EventUnableToStartConsistently: the start-failure throttle is delaying
// starts (StartThrottle.Throttled).
func EventUnableToStartConsistently(service string) string {
	return servicePrefix(service) + " is unable to consistently start tasks successfully."
}

// EventDeploymentBlocked: RolloutDecision.Blocked. The spec quotes the
// documentation's heading, "service <name> was unable ..."; the message in
// DescribeServices starts with "(service <name>)" like every other
// (OBSERVED).
func EventDeploymentBlocked(service string) string {
	return servicePrefix(service) + " was unable to stop or start tasks during a deployment because of the service deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again."
}

// EventDeploymentFailed: the circuit breaker failed the deployment
// (UNVERIFIED wording, from public samples of DescribeServices).
func EventDeploymentFailed(service, deploymentID string) string {
	return servicePrefix(service) + " (deployment " + deploymentID + ") deployment failed: tasks failed to start."
}

// EventDeploymentStalled: the circuit breaker failed the deployment and
// did not roll it back, because rollback is off or because no earlier
// deployment ever completed (withRollback). ECS documents no event for
// it; the wording is berth's, to say what the service does now: the
// failed deployment launches nothing, and the running tasks of the
// earlier deployments (kept) stay.
func EventDeploymentStalled(service, deploymentID string, withRollback bool, kept int) string {
	why := "rollback is off"
	if withRollback {
		why = "no earlier deployment completed to roll back to"
	}
	return servicePrefix(service) + " (deployment " + deploymentID + ") was not rolled back: " + why +
		". The service keeps its " + strconv.Itoa(kept) + " running tasks of earlier deployments and starts no new tasks until it is updated."
}
