package scheduler

import "time"

// MaxThrottleDelay caps the delay between start attempts of a service
// whose tasks keep failing to start (spec 3.6, S14: "up to a maximum of
// 15 minutes").
const MaxThrottleDelay = 15 * time.Minute

// throttleBase is the delay after the second consecutive failure.
const throttleBase = 5 * time.Second

// ThrottleDelay is how long the service scheduler waits before starting a
// task again after consecutiveFailures tasks in a row went from PENDING to
// STOPPED without reaching RUNNING. ECS documents only that the delay
// grows up to 15 minutes; the curve is berth's (UNVERIFIED):
//
//	failures  0-1   2   3    4    5    6     7     8     9     10+
//	delay     0     5s  10s  20s  40s  1m20s 2m40s 5m20s 10m40s 15m
//
// One failure is not "repeatedly", so it retries at once; from the second
// the delay doubles, reaching the cap at the tenth.
func ThrottleDelay(consecutiveFailures int) time.Duration {
	if consecutiveFailures < 2 {
		return 0
	}
	d := throttleBase
	for range consecutiveFailures - 2 {
		d *= 2
		if d >= MaxThrottleDelay {
			return MaxThrottleDelay
		}
	}
	return d
}

// StartThrottle is a service's start-failure throttle, kept by the
// controller with the service.
type StartThrottle struct {
	// TaskDefinition is the task definition the failures were counted for.
	TaskDefinition string
	// Failures counts consecutive tasks that stopped before RUNNING;
	// LastFailure is when the last of them stopped.
	Failures    int
	LastFailure time.Time
}

// Observe returns the throttle after a task of taskDefinition ended its
// start: reachedRunning false for one that went PENDING -> STOPPED, at the
// time it stopped. A task that reached RUNNING ends the streak (tasks that
// stop after RUNNING never feed the throttle, S14). A new task definition
// starts from nothing.
func (t StartThrottle) Observe(taskDefinition string, reachedRunning bool, at time.Time) StartThrottle {
	if taskDefinition != t.TaskDefinition {
		t = StartThrottle{TaskDefinition: taskDefinition}
	}
	if reachedRunning {
		t.Failures, t.LastFailure = 0, time.Time{}
		return t
	}
	t.Failures++
	t.LastFailure = at
	return t
}

// NextStart is the earliest time a task of taskDefinition may be started;
// the zero time when there is no wait. Updating the service to a new task
// definition lifts the throttle at once (S14).
func (t StartThrottle) NextStart(taskDefinition string) time.Time {
	if taskDefinition != t.TaskDefinition {
		return time.Time{}
	}
	d := ThrottleDelay(t.Failures)
	if d == 0 {
		return time.Time{}
	}
	return t.LastFailure.Add(d)
}

// Throttled reports whether the throttle delays starts: when the caller
// emits EventUnableToStartConsistently.
func (t StartThrottle) Throttled(taskDefinition string) bool {
	return taskDefinition == t.TaskDefinition && ThrottleDelay(t.Failures) > 0
}
