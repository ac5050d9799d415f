package scheduler

import (
	"fmt"
	"reflect"
	"strconv"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func TestTaskHealthy(t *testing.T) {
	running := t0
	tests := []struct {
		name    string
		in      TaskHealthInput
		at      time.Duration // after t0
		healthy bool
		failed  bool
	}{
		{"not running", TaskHealthInput{}, time.Hour, false, false},
		{"no LB no check: 39s after RUNNING", TaskHealthInput{RunningAt: running}, 39 * time.Second, false, false},
		{"no LB no check: 40s after RUNNING", TaskHealthInput{RunningAt: running}, 40 * time.Second, true, false},
		{"no LB, check UNKNOWN", TaskHealthInput{RunningAt: running, HealthCheck: true, HealthStatus: HealthUnknown}, time.Hour, false, false},
		{"no LB, check HEALTHY at once", TaskHealthInput{RunningAt: running, HealthCheck: true, HealthStatus: HealthHealthy}, time.Second, true, false},
		{"no LB, check UNHEALTHY", TaskHealthInput{RunningAt: running, HealthCheck: true, HealthStatus: HealthUnhealthy}, time.Second, false, true},
		{"no check: health status is ignored", TaskHealthInput{RunningAt: running, HealthStatus: HealthUnhealthy}, time.Hour, true, false},
		{"LB healthy, no check", TaskHealthInput{RunningAt: running, LoadBalanced: true, TargetHealth: TargetHealthy}, time.Second, true, false},
		{"LB initial, no check: 40 s do not apply", TaskHealthInput{RunningAt: running, LoadBalanced: true, TargetHealth: "initial"}, time.Hour, false, false},
		{"LB healthy, check UNKNOWN", TaskHealthInput{RunningAt: running, LoadBalanced: true, TargetHealth: TargetHealthy, HealthCheck: true, HealthStatus: HealthUnknown}, time.Hour, false, false},
		{"LB healthy, check HEALTHY", TaskHealthInput{RunningAt: running, LoadBalanced: true, TargetHealth: TargetHealthy, HealthCheck: true, HealthStatus: HealthHealthy}, time.Second, true, false},
		{"LB unhealthy", TaskHealthInput{RunningAt: running, LoadBalanced: true, TargetHealth: TargetUnhealthy}, time.Second, false, true},
		{"LB unhealthy within grace", TaskHealthInput{RunningAt: running, LoadBalanced: true, TargetHealth: TargetUnhealthy, GracePeriod: time.Minute}, 59 * time.Second, false, false},
		{"LB unhealthy at end of grace", TaskHealthInput{RunningAt: running, LoadBalanced: true, TargetHealth: TargetUnhealthy, GracePeriod: time.Minute}, time.Minute, false, true},
		{"check UNHEALTHY within grace", TaskHealthInput{RunningAt: running, HealthCheck: true, HealthStatus: HealthUnhealthy, GracePeriod: time.Minute}, 30 * time.Second, false, false},
		{"registry: not registered yet", TaskHealthInput{RunningAt: running, HealthCheck: true, HealthStatus: HealthHealthy, Discovered: true}, time.Hour, false, false},
		{"registry: registered", TaskHealthInput{RunningAt: running, HealthCheck: true, HealthStatus: HealthHealthy, Discovered: true, InRegistry: true}, time.Second, true, false},
		{"registry: unhealthy before registration fails", TaskHealthInput{RunningAt: running, HealthCheck: true, HealthStatus: HealthUnhealthy, Discovered: true}, time.Second, false, true},
		{"grace does not make healthy", TaskHealthInput{RunningAt: running, HealthCheck: true, HealthStatus: HealthUnknown, GracePeriod: time.Hour}, time.Minute, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0.Add(tt.at)
			if got := TaskHealthy(tt.in, now); got != tt.healthy {
				t.Errorf("TaskHealthy = %v, want %v", got, tt.healthy)
			}
			if got := TaskFailedHealthChecks(tt.in, now); got != tt.failed {
				t.Errorf("TaskFailedHealthChecks = %v, want %v", got, tt.failed)
			}
		})
	}
}

func TestBounds(t *testing.T) {
	tests := []struct{ desired, minPct, maxPct, minHealthy, maxTasks int }{
		{4, 50, 200, 2, 8},  // spec: may stop 2 before starting 2; may start 4 before stopping 4
		{2, 75, 200, 2, 4},  // spec: ceil(1.5) = 2
		{3, 100, 125, 3, 3}, // spec: floor(3.75) = 3
		{3, 0, 100, 0, 3},
		{1, 50, 150, 1, 1},
		{0, 100, 200, 0, 0},
	}
	for _, tt := range tests {
		if got := MinHealthy(tt.desired, tt.minPct); got != tt.minHealthy {
			t.Errorf("MinHealthy(%d, %d) = %d, want %d", tt.desired, tt.minPct, got, tt.minHealthy)
		}
		if got := MaxTasks(tt.desired, tt.maxPct); got != tt.maxTasks {
			t.Errorf("MaxTasks(%d, %d) = %d, want %d", tt.desired, tt.maxPct, got, tt.maxTasks)
		}
	}
}

// tasks makes n tasks of a deployment named prefix1..prefixN, the later
// ones newer, with the given state.
func tasks(deployment, prefix string, n int, state func(*RolloutTask)) []RolloutTask {
	out := make([]RolloutTask, n)
	for i := range out {
		out[i] = RolloutTask{ID: prefix + strconv.Itoa(i+1), Deployment: deployment, CreatedAt: t0.Add(time.Duration(i) * time.Minute)}
		state(&out[i])
	}
	return out
}

func healthy(t *RolloutTask)   { t.Healthy = true }
func pending(t *RolloutTask)   { t.Pending = true }
func warming(t *RolloutTask)   {}
func unhealthy(t *RolloutTask) { t.Unhealthy = true }
func stopping(t *RolloutTask)  { t.Stopping = true }

func join(parts ...[]RolloutTask) []RolloutTask {
	var out []RolloutTask
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestRolloutStep(t *testing.T) {
	update := []string{"new", "old"}
	tests := []struct {
		name        string
		in          RolloutInput
		start       int
		stop        []string
		blocked     bool
		deployments []string
	}{
		{
			name:  "spec: desired 4, min 50 stops 2 before starting 2",
			in:    RolloutInput{Desired: 4, MinimumHealthyPercent: 50, MaximumPercent: 100, Deployments: update, Tasks: tasks("old", "o", 4, healthy)},
			start: 0, stop: []string{"o4", "o3"},
		},
		{
			name:  "spec: desired 4, min 50, after the stops: start 2",
			in:    RolloutInput{Desired: 4, MinimumHealthyPercent: 50, MaximumPercent: 100, Deployments: update, Tasks: tasks("old", "o", 2, healthy)},
			start: 2,
		},
		{
			name:  "spec: desired 4, max 200 starts 4 before stopping 4",
			in:    RolloutInput{Desired: 4, MinimumHealthyPercent: 100, MaximumPercent: 200, Deployments: update, Tasks: tasks("old", "o", 4, healthy)},
			start: 4,
		},
		{
			name: "spec: desired 4, max 200, new tasks healthy: stop 4",
			in:   RolloutInput{Desired: 4, MinimumHealthyPercent: 100, MaximumPercent: 200, Deployments: update, Tasks: join(tasks("old", "o", 4, healthy), tasks("new", "n", 4, healthy))},
			stop: []string{"o4", "o3", "o2", "o1"},
		},
		{
			name:  "spec: desired 2, min 75 cannot stop any (max 200 still starts)",
			in:    RolloutInput{Desired: 2, MinimumHealthyPercent: 75, MaximumPercent: 200, Deployments: update, Tasks: tasks("old", "o", 2, healthy)},
			start: 2,
		},
		{
			name:    "spec: desired 2, min 75, max 100: blocked",
			in:      RolloutInput{Desired: 2, MinimumHealthyPercent: 75, MaximumPercent: 100, Deployments: update, Tasks: tasks("old", "o", 2, healthy)},
			blocked: true,
		},
		{
			name: "spec: desired 3, max 125 cannot start any (min 50 still stops 1)",
			in:   RolloutInput{Desired: 3, MinimumHealthyPercent: 50, MaximumPercent: 125, Deployments: update, Tasks: tasks("old", "o", 3, healthy)},
			stop: []string{"o3"},
		},
		{
			name:    "spec: desired 3, max 125, min 100: blocked",
			in:      RolloutInput{Desired: 3, MinimumHealthyPercent: 100, MaximumPercent: 125, Deployments: update, Tasks: tasks("old", "o", 3, healthy)},
			blocked: true,
		},
		{
			name: "blocked only once nothing is in flight: a warming task may become healthy",
			in: RolloutInput{Desired: 2, MinimumHealthyPercent: 100, MaximumPercent: 100, Deployments: update,
				Tasks: join(tasks("old", "o", 1, healthy), tasks("new", "n", 1, warming))},
		},
		{
			name:  "fresh service",
			in:    RolloutInput{Desired: 3, MinimumHealthyPercent: 100, MaximumPercent: 200, Deployments: []string{"new"}},
			start: 3,
		},
		{
			name:  "fresh service, max 100",
			in:    RolloutInput{Desired: 3, MinimumHealthyPercent: 100, MaximumPercent: 100, Deployments: []string{"new"}},
			start: 3,
		},
		{
			name:  "steady: nothing to do",
			in:    RolloutInput{Desired: 3, MinimumHealthyPercent: 100, MaximumPercent: 200, Deployments: []string{"new"}, Tasks: tasks("new", "n", 3, healthy)},
			start: 0,
		},
		{
			name:  "scale up 3 -> 5",
			in:    RolloutInput{Desired: 5, MinimumHealthyPercent: 100, MaximumPercent: 200, Deployments: []string{"new"}, Tasks: tasks("new", "n", 3, healthy)},
			start: 2,
		},
		{
			name:  "scale up 3 -> 5 with max 100: the cap is 5",
			in:    RolloutInput{Desired: 5, MinimumHealthyPercent: 100, MaximumPercent: 100, Deployments: []string{"new"}, Tasks: tasks("new", "n", 3, healthy)},
			start: 2,
		},
		{
			name: "scale down 5 -> 2, newest first",
			in:   RolloutInput{Desired: 2, MinimumHealthyPercent: 100, MaximumPercent: 200, Deployments: []string{"new"}, Tasks: tasks("new", "n", 5, healthy)},
			stop: []string{"n5", "n4", "n3"},
		},
		{
			name: "scale down stops pending, then warming, then healthy tasks",
			in: RolloutInput{Desired: 2, MinimumHealthyPercent: 100, MaximumPercent: 200, Deployments: []string{"new"},
				Tasks: join(tasks("new", "h", 3, healthy), tasks("new", "w", 1, warming), tasks("new", "p", 1, pending))},
			stop: []string{"p1", "w1", "h3"},
		},
		{
			name: "desired 0 stops everything",
			in: RolloutInput{Desired: 0, MinimumHealthyPercent: 100, MaximumPercent: 200, Deployments: update,
				Tasks: join(tasks("new", "n", 2, pending), tasks("old", "o", 2, healthy), tasks("old", "s", 1, stopping))},
			stop: []string{"o2", "o1", "n2", "n1"},
		},
		{
			name:  "min 0, max 100: stop every old task first",
			in:    RolloutInput{Desired: 2, MinimumHealthyPercent: 0, MaximumPercent: 100, Deployments: update, Tasks: tasks("old", "o", 2, healthy)},
			stop:  []string{"o2", "o1"},
			start: 0,
		},
		{
			name:  "min 0, max 100: stopping tasks hold their room",
			in:    RolloutInput{Desired: 2, MinimumHealthyPercent: 0, MaximumPercent: 100, Deployments: update, Tasks: tasks("old", "o", 2, stopping)},
			start: 0,
		},
		{
			name:  "min 0, max 100: start once they are gone",
			in:    RolloutInput{Desired: 2, MinimumHealthyPercent: 0, MaximumPercent: 100, Deployments: update},
			start: 2,
		},
		{
			name: "older deployment first, unknown deployments oldest of all",
			in: RolloutInput{Desired: 4, MinimumHealthyPercent: 50, MaximumPercent: 100, Deployments: []string{"d3", "d2", "d1"},
				Tasks: join(tasks("d2", "b", 2, healthy), tasks("d1", "a", 1, healthy), tasks("gone", "g", 1, healthy))},
			stop: []string{"g1", "a1"},
		},
		{
			name: "old unhealthy tasks cost nothing; old pending and warming ones stay while too few count healthy",
			in: RolloutInput{Desired: 4, MinimumHealthyPercent: 100, MaximumPercent: 200, Deployments: update,
				Tasks: join(tasks("old", "h", 2, healthy), tasks("old", "u", 1, unhealthy), tasks("old", "p", 1, pending), tasks("old", "w", 1, warming))},
			start: 3, // 5 tasks exist, max 8; stopping u1 frees the fourth's room
			stop:  []string{"u1"},
		},
		{
			name: "old pending task goes when its room is needed",
			in: RolloutInput{Desired: 4, MinimumHealthyPercent: 100, MaximumPercent: 150, Deployments: update,
				Tasks: join(tasks("old", "h", 2, healthy), tasks("old", "p", 2, pending), tasks("new", "n", 1, pending))},
			start: 1, // 5 exist, max 6: room for 1, the PRIMARY needs 3
			stop:  []string{"p2", "p1"},
		},
		{
			name: "old tasks RUNNING with health unknown stay while the PRIMARY starts beside them",
			in: RolloutInput{Desired: 2, MinimumHealthyPercent: 100, MaximumPercent: 200, Deployments: update,
				Tasks: tasks("old", "o", 2, warming)},
			start: 2,
		},
		{
			name: "old tasks RUNNING with health unknown, PRIMARY pending: wait",
			in: RolloutInput{Desired: 2, MinimumHealthyPercent: 100, MaximumPercent: 200, Deployments: update,
				Tasks: join(tasks("old", "o", 2, warming), tasks("new", "n", 2, pending))},
		},
		{
			name: "old tasks RUNNING with health unknown, PRIMARY warming: wait",
			in: RolloutInput{Desired: 2, MinimumHealthyPercent: 100, MaximumPercent: 200, Deployments: update,
				Tasks: join(tasks("old", "o", 2, warming), tasks("new", "n", 2, warming))},
		},
		{
			name: "old tasks with health unknown go once the PRIMARY counts healthy",
			in: RolloutInput{Desired: 2, MinimumHealthyPercent: 100, MaximumPercent: 200, Deployments: update,
				Tasks: join(tasks("old", "o", 2, warming), tasks("new", "n", 2, healthy))},
			stop: []string{"o2", "o1"},
		},
		{
			name: "old pending tasks stay beside the PRIMARY while there is room",
			in: RolloutInput{Desired: 2, MinimumHealthyPercent: 100, MaximumPercent: 200, Deployments: update,
				Tasks: tasks("old", "o", 2, pending)},
			start: 2,
		},
		{
			name: "old pending tasks, no room: they go first, they take nothing from the RUNNING tasks",
			in: RolloutInput{Desired: 2, MinimumHealthyPercent: 100, MaximumPercent: 100, Deployments: update,
				Tasks: tasks("old", "o", 2, pending)},
			stop: []string{"o2", "o1"},
		},
		{
			name: "old healthy tasks go one for each PRIMARY task that counts healthy",
			in: RolloutInput{Desired: 2, MinimumHealthyPercent: 100, MaximumPercent: 200, Deployments: update,
				Tasks: join(tasks("old", "o", 2, healthy), tasks("new", "h", 1, healthy), tasks("new", "w", 1, warming))},
			stop: []string{"o2"},
		},
		{
			name: "no room, min 50: the next batch waits for the replacements to count healthy",
			in: RolloutInput{Desired: 4, MinimumHealthyPercent: 50, MaximumPercent: 100, Deployments: update,
				Tasks: join(tasks("old", "o", 2, healthy), tasks("new", "n", 2, warming))},
		},
		{
			name: "no room, min 50: replacements healthy, the next batch goes",
			in: RolloutInput{Desired: 4, MinimumHealthyPercent: 50, MaximumPercent: 100, Deployments: update,
				Tasks: join(tasks("old", "o", 2, healthy), tasks("new", "n", 2, healthy))},
			stop: []string{"o2", "o1"},
		},
		{
			name: "scale in of the PRIMARY's own tasks with health unknown keeps MinHealthy RUNNING",
			in: RolloutInput{Desired: 2, MinimumHealthyPercent: 100, MaximumPercent: 200, Deployments: []string{"new"},
				Tasks: tasks("new", "n", 4, warming)},
			stop: []string{"n4", "n3"},
		},
		{
			name:  "throttled starts are held, not blocked",
			in:    RolloutInput{Desired: 2, MinimumHealthyPercent: 100, MaximumPercent: 200, Deployments: []string{"new"}, StartHeld: true, Tasks: tasks("new", "n", 1, healthy)},
			start: 0,
		},
		{
			name: "throttled starts free no room: old pending tasks stay",
			in: RolloutInput{Desired: 2, MinimumHealthyPercent: 100, MaximumPercent: 100, Deployments: update, StartHeld: true,
				Tasks: tasks("old", "o", 2, pending)},
		},
		{
			name: "throttled: an unhealthy task is not cleared for a replacement that cannot start",
			in: RolloutInput{Desired: 2, MinimumHealthyPercent: 100, MaximumPercent: 100, Deployments: []string{"new"}, StartHeld: true,
				Tasks: join(tasks("new", "n", 1, healthy), tasks("new", "u", 1, unhealthy))},
		},
		{
			name: "failed primary scales in over every task, its own first",
			in: RolloutInput{Desired: 1, MinimumHealthyPercent: 0, MaximumPercent: 200, Deployments: update, PrimaryFailed: true,
				Tasks: join(tasks("old", "o", 2, healthy), tasks("new", "u", 1, unhealthy))},
			stop: []string{"u1", "o2"},
		},
		{
			name: "unhealthy primary task, room: start the replacement and stop it",
			in: RolloutInput{Desired: 4, MinimumHealthyPercent: 100, MaximumPercent: 200, Deployments: []string{"new"},
				Tasks: join(tasks("new", "n", 3, healthy), tasks("new", "u", 1, unhealthy))},
			start: 1, stop: []string{"u1"},
		},
		{
			name: "unhealthy primary tasks, room for one replacement only",
			in: RolloutInput{Desired: 4, MinimumHealthyPercent: 100, MaximumPercent: 125, Deployments: []string{"new"},
				Tasks: join(tasks("new", "n", 2, healthy), tasks("new", "u", 2, unhealthy))},
			start: 1, stop: []string{"u2"},
		},
		{
			name: "unhealthy primary tasks, no room: stop one at a time",
			in: RolloutInput{Desired: 4, MinimumHealthyPercent: 100, MaximumPercent: 100, Deployments: []string{"new"},
				Tasks: join(tasks("new", "n", 2, healthy), tasks("new", "u", 2, unhealthy))},
			start: 0, stop: []string{"u2"},
		},
		{
			name: "unhealthy primary tasks, no room, one already stopping: wait",
			in: RolloutInput{Desired: 4, MinimumHealthyPercent: 100, MaximumPercent: 100, Deployments: []string{"new"},
				Tasks: join(tasks("new", "n", 2, healthy), tasks("new", "u", 1, unhealthy), tasks("new", "s", 1, stopping))},
		},
		{
			name: "failed primary launches nothing and leaves the old tasks",
			in: RolloutInput{Desired: 2, MinimumHealthyPercent: 100, MaximumPercent: 200, Deployments: update, PrimaryFailed: true,
				Tasks: tasks("old", "o", 2, healthy)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := RolloutStep(tt.in)
			if d.Start != tt.start || !reflect.DeepEqual(d.Stop, tt.stop) || d.Blocked != tt.blocked {
				t.Fatalf("got start %d stop %v blocked %v, want start %d stop %v blocked %v", d.Start, d.Stop, d.Blocked, tt.start, tt.stop, tt.blocked)
			}
		})
	}
}

// rollout simulates a service applying RolloutStep until it settles. Each
// step: decide; stopped tasks become stopping, started ones pending; check
// the bounds; then time passes: stopping tasks are gone, and new tasks
// advance one state (pending -> warming -> healthy when slow, pending ->
// healthy otherwise).
type rollout struct {
	in      RolloutInput
	slow    bool
	nextID  int
	steps   int
	blocked bool
}

func (r *rollout) run(t *testing.T) {
	t.Helper()
	maxTasks := MaxTasks(r.in.Desired, r.in.MaximumPercent)
	minHealthy := MinHealthy(r.in.Desired, r.in.MinimumHealthyPercent)
	for r.steps = 0; r.steps < 200; r.steps++ {
		d := RolloutStep(r.in)
		if d.Blocked {
			r.blocked = true
			return
		}
		healthyBefore, runningBefore := countHealthy(r.in.Tasks), countRunning(r.in.Tasks)
		stop := map[string]bool{}
		for _, id := range d.Stop {
			if stop[id] {
				t.Fatalf("step %d: %s stopped twice", r.steps, id)
			}
			stop[id] = true
		}
		for i := range r.in.Tasks {
			if stop[r.in.Tasks[i].ID] {
				if r.in.Tasks[i].Stopping {
					t.Fatalf("step %d: %s stopped again", r.steps, r.in.Tasks[i].ID)
				}
				r.in.Tasks[i].Stopping = true
				delete(stop, r.in.Tasks[i].ID)
			}
		}
		if len(stop) > 0 {
			t.Fatalf("step %d: stopped unknown tasks %v", r.steps, stop)
		}
		before := len(r.in.Tasks)
		for range d.Start {
			r.nextID++
			r.in.Tasks = append(r.in.Tasks, RolloutTask{ID: fmt.Sprintf("t%d", r.nextID), Deployment: r.in.Deployments[0], CreatedAt: t0.Add(time.Duration(r.nextID) * time.Second), Pending: true})
		}
		if d.Start > 0 && len(r.in.Tasks) > maxTasks {
			t.Fatalf("step %d: %d tasks after starting %d (had %d), max %d", r.steps, len(r.in.Tasks), d.Start, before, maxTasks)
		}
		if h := countHealthy(r.in.Tasks); h < min(minHealthy, healthyBefore) {
			t.Fatalf("step %d: %d healthy after the stops (had %d), min %d", r.steps, h, healthyBefore, minHealthy)
		}
		if n := countRunning(r.in.Tasks); n < min(minHealthy, runningBefore) {
			t.Fatalf("step %d: %d RUNNING after the stops (had %d), min %d", r.steps, n, runningBefore, minHealthy)
		}
		if len(d.Stop) == 0 && d.Start == 0 && r.settled() {
			return
		}
		// Time passes.
		var next []RolloutTask
		for _, task := range r.in.Tasks {
			switch {
			case task.Stopping:
				continue
			case task.Pending && r.slow:
				task.Pending = false
			case task.Pending || (!task.Healthy && !task.Unhealthy):
				task.Pending, task.Healthy = false, true
			}
			next = append(next, task)
		}
		r.in.Tasks = next
	}
	t.Fatalf("no convergence after %d steps: %+v", r.steps, r.in.Tasks)
}

func (r *rollout) settled() bool {
	if len(r.in.Tasks) != r.in.Desired {
		return false
	}
	for _, task := range r.in.Tasks {
		if task.Deployment != r.in.Deployments[0] || !task.Healthy || task.Stopping || task.Unhealthy {
			return false
		}
	}
	return true
}

func countHealthy(ts []RolloutTask) int {
	n := 0
	for _, t := range ts {
		if t.Healthy && !t.Unhealthy && !t.Stopping {
			n++
		}
	}
	return n
}

// countRunning counts RUNNING tasks not being stopped that have not
// failed their health checks.
func countRunning(ts []RolloutTask) int {
	n := 0
	for _, t := range ts {
		if !t.Pending && !t.Stopping && !t.Unhealthy {
			n++
		}
	}
	return n
}

func TestRolloutFullReplacement(t *testing.T) {
	// The zero-downtime case: 100 / 200.
	r := &rollout{in: RolloutInput{Desired: 4, MinimumHealthyPercent: 100, MaximumPercent: 200, Deployments: []string{"new", "old"}, Tasks: tasks("old", "o", 4, healthy)}}
	r.run(t)
	if r.blocked || !r.settled() {
		t.Fatalf("blocked %v settled %v", r.blocked, r.settled())
	}
	// Step 0 starts 4, step 1 (they are healthy) stops the 4 old ones,
	// step 2 (those are gone) finds nothing to do.
	if r.steps != 2 {
		t.Errorf("settled at step %d, want 2", r.steps)
	}
}

// TestRolloutConverges runs every combination of small configurations: the
// rollout never breaks its bounds and ends with only PRIMARY tasks, unless
// the configuration allows neither a start nor a stop (the spec's blocked
// case: maxTasks == minHealthy), which it reports as soon as the surplus
// old tasks are gone: at once when there were desired of them.
func TestRolloutConverges(t *testing.T) {
	for desired := 0; desired <= 7; desired++ {
		for _, minPct := range []int{0, 25, 50, 75, 100} {
			for _, maxPct := range []int{100, 125, 150, 200} {
				for _, oldCount := range []int{desired, desired + 2, max(desired-1, 0)} {
					for _, slow := range []bool{false, true} {
						name := fmt.Sprintf("desired=%d min=%d max=%d old=%d slow=%v", desired, minPct, maxPct, oldCount, slow)
						t.Run(name, func(t *testing.T) {
							r := &rollout{slow: slow, in: RolloutInput{
								Desired: desired, MinimumHealthyPercent: minPct, MaximumPercent: maxPct,
								Deployments: []string{"new", "old", "older"},
								Tasks:       join(tasks("old", "o", oldCount/2, healthy), tasks("older", "p", oldCount-oldCount/2, healthy)),
							}}
							r.run(t)
							maxTasks, minHealthy := MaxTasks(desired, maxPct), MinHealthy(desired, minPct)
							wantBlocked := desired > 0 && oldCount > 0 && maxTasks <= minHealthy
							if r.blocked != wantBlocked {
								t.Fatalf("blocked %v after %d steps, want %v: %+v", r.blocked, r.steps, wantBlocked, r.in.Tasks)
							}
							if r.blocked && oldCount == desired && r.steps != 0 {
								t.Fatalf("blocked only at step %d", r.steps)
							}
							if !r.blocked && !r.settled() {
								t.Fatalf("not settled: %+v", r.in.Tasks)
							}
						})
					}
				}
			}
		}
	}
}

func TestRolloutReplacesUnhealthy(t *testing.T) {
	for _, maxPct := range []int{100, 200} {
		t.Run(fmt.Sprintf("max %d", maxPct), func(t *testing.T) {
			r := &rollout{in: RolloutInput{Desired: 3, MinimumHealthyPercent: 100, MaximumPercent: maxPct, Deployments: []string{"new"},
				Tasks: join(tasks("new", "n", 1, healthy), tasks("new", "u", 2, unhealthy))}}
			r.run(t)
			if r.blocked || !r.settled() {
				t.Fatalf("blocked %v settled %v: %+v", r.blocked, r.settled(), r.in.Tasks)
			}
			for _, task := range r.in.Tasks {
				if task.ID[0] == 'u' {
					t.Fatalf("unhealthy task %s kept", task.ID)
				}
			}
		})
	}
}
