package service

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/scheduler"
)

// The simulation drives plan over time against a model of the tasks it
// starts: they start slowly or quickly, pass or fail their checks, crash
// before RUNNING, exit early, get killed; desired count and revisions
// change mid-flight. After every step it checks the promises the
// deployment configuration makes, and at the end that every deployment
// ended. A failing seed is printed; keep it in regressionSeeds.

// regressionSeeds are seeds that once failed.
var regressionSeeds = []uint64{}

// simSeeds is how many random seeds TestPlanSimulation runs.
const simSeeds = 400

// behaviour is how a revision's tasks behave.
type behaviour int

const (
	good         behaviour = iota // RUNNING, then healthy
	crashAtStart                  // ends before RUNNING
	failsChecks                   // RUNNING, then UNHEALTHY (revisions with a check)
	exitsEarly                    // RUNNING, then exits before it counts healthy
	behaviours
)

func (b behaviour) String() string {
	return [...]string{"good", "crashAtStart", "failsChecks", "exitsEarly"}[b]
}

type simRevision struct {
	arn       string
	check     bool
	behaviour behaviour
}

// simTask is a task and its fate, decided when it starts.
type simTask struct {
	rec *ecsstate.Task
	rev simRevision
	// runAt: when it reaches RUNNING (zero: never); endAt: when it ends
	// on its own or turns UNHEALTHY (zero: never); healthyAt: when its
	// check says HEALTHY.
	runAt, endAt, healthyAt time.Time
	// goneAt: when a task being stopped is STOPPED.
	goneAt time.Time
}

type sim struct {
	t     *testing.T
	seed  uint64
	rng   *rand.Rand
	now   time.Time
	svc   ecsstate.Service
	tasks []*simTask
	revs  []simRevision
	ids   int
	// chaos: kills and bad revisions happen.
	chaos bool
	// watch records, per deployment id, the RUNNING tasks the service had
	// when it began and the RUNNING tasks lost since without the
	// scheduler choosing it (killed, exited, failed checks).
	watch map[string]*deploymentWatch
	log   []string
}

type deploymentWatch struct {
	runningAtStart, lost int
	// floor is the lowest minimum healthy count since it began.
	floor  int
	failed bool
}

func newSim(t *testing.T, seed uint64) *sim {
	s := &sim{t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), now: t0, chaos: true, watch: map[string]*deploymentWatch{}}
	minPct := []int32{0, 50, 100, 100, 100}[s.rng.IntN(5)]
	maxPct := []int32{100, 150, 200, 200}[s.rng.IntN(4)]
	if maxPct <= 100 && minPct == 100 {
		maxPct = 200 // such a configuration is blocked from the start; covered elsewhere
	}
	breaker := s.rng.IntN(4) != 0
	rollback := s.rng.IntN(2) == 0
	rev := s.newRevision(true)
	s.svc = ecsstate.Service{
		Name: "web", Region: testRegion, Cluster: "c", Status: ecsstate.ServiceActive, DesiredCount: int32(1 + s.rng.IntN(5)),
		TaskDefinition: rev.arn,
		DeploymentConfiguration: ecstypes.DeploymentConfiguration{
			MinimumHealthyPercent: &minPct, MaximumPercent: &maxPct,
			DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: &breaker, Rollback: &rollback},
		},
	}
	s.deploy()
	return s
}

// newRevision registers a revision, good or (with chaos) anything.
func (s *sim) newRevision(isGood bool) simRevision {
	r := simRevision{arn: fmt.Sprintf("arn:aws:ecs:us-east-1:000000000000:task-definition/web:%d", len(s.revs)+1), check: s.rng.IntN(3) != 0}
	if !isGood {
		r.behaviour = behaviour(s.rng.IntN(int(behaviours)))
		if r.behaviour == failsChecks && !r.check {
			r.behaviour = exitsEarly
		}
	}
	s.revs = append(s.revs, r)
	return r
}

func (s *sim) revision(arn string) simRevision {
	for _, r := range s.revs {
		if r.arn == arn {
			return r
		}
	}
	s.t.Fatalf("seed %d: unknown revision %s", s.seed, arn)
	return simRevision{}
}

// deploy makes a new PRIMARY deployment of the service's task definition,
// as UpdateService does.
func (s *sim) deploy() {
	id := scheduler.NewDeploymentID(s.rng)
	d := ecsstate.Deployment{
		ID: id, Status: ecsstate.DeploymentPrimary, TaskDefinition: s.svc.TaskDefinition, DesiredCount: s.svc.DesiredCount,
		CreatedAt: s.now, UpdatedAt: s.now, RolloutState: scheduler.RolloutInProgress, RolloutStateReason: scheduler.ReasonDeploymentInProgress(id),
	}
	live := []ecsstate.Deployment{d}
	for _, old := range s.svc.Deployments {
		if old.Status == ecsstate.DeploymentPrimary {
			old.Status = ecsstate.DeploymentActive
		}
		live = append(live, old)
	}
	s.svc.Deployments = live
	s.watch[id] = &deploymentWatch{runningAtStart: s.running(), floor: s.minHealthy()}
	s.logf("deploy %s of %s (%s, check %v) desired %d", id, d.TaskDefinition, s.revision(d.TaskDefinition).behaviour, s.revision(d.TaskDefinition).check, s.svc.DesiredCount)
}

func (s *sim) logf(format string, args ...any) {
	s.log = append(s.log, fmt.Sprintf("%6.1fs ", s.now.Sub(t0).Seconds())+fmt.Sprintf(format, args...))
}

// fail ends the test with the seed and the story so far.
func (s *sim) fail(format string, args ...any) {
	s.t.Helper()
	start := max(len(s.log)-60, 0)
	story := ""
	for _, l := range s.log[start:] {
		story += "\n  " + l
	}
	s.t.Fatalf("seed %d: %s\nlast events:%s", s.seed, fmt.Sprintf(format, args...), story)
}

func (s *sim) minHealthy() int {
	return scheduler.MinHealthy(int(s.svc.DesiredCount), int(*s.svc.DeploymentConfiguration.MinimumHealthyPercent))
}

func (s *sim) maxTasks() int {
	return scheduler.MaxTasks(int(s.svc.DesiredCount), int(*s.svc.DeploymentConfiguration.MaximumPercent))
}

// serving: RUNNING, not being stopped, not failing its checks.
func serving(t *simTask) bool {
	return t.rec.Observed.LastStatus == ecsstate.StatusRunning && t.rec.DesiredStatus == ecsstate.StatusRunning &&
		t.rec.Observed.HealthStatus != scheduler.HealthUnhealthy
}

func (s *sim) running() int {
	n := 0
	for _, t := range s.tasks {
		if serving(t) {
			n++
		}
	}
	return n
}

func (s *sim) live() int {
	n := 0
	for _, t := range s.tasks {
		if t.rec.Observed.LastStatus != ecsstate.StatusStopped {
			n++
		}
	}
	return n
}

// lose records a serving task lost without the scheduler choosing it.
func (s *sim) lose(t *simTask) {
	for id, w := range s.watch {
		if id != t.rec.Spec.StartedBy && !w.failed {
			w.lost++
		}
	}
}

// start creates a task of the PRIMARY deployment and decides its fate.
func (s *sim) start(dep *ecsstate.Deployment) {
	s.ids++
	rev := s.revision(dep.TaskDefinition)
	def := ecstypes.TaskDefinition{ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: awsapi.String("app")}}}
	if rev.check {
		def.ContainerDefinitions[0].HealthCheck = &ecstypes.HealthCheck{Command: []string{"CMD", "true"}}
	}
	rec := &ecsstate.Task{
		ID: fmt.Sprintf("t%03d", s.ids), Region: testRegion, Cluster: "c", DesiredStatus: ecsstate.StatusRunning, CreatedAt: s.now,
		Spec:     ecsstate.TaskSpec{TaskDefinitionARN: rev.arn, Definition: def, StartedBy: dep.ID, Group: "service:web", ServiceName: "web"},
		Observed: ecsstate.TaskStatus{LastStatus: ecsstate.StatusProvisioning},
	}
	st := &simTask{rec: rec, rev: rev}
	startup := s.jitter(300*time.Millisecond, 8*time.Second)
	switch rev.behaviour {
	case crashAtStart:
		st.endAt = s.now.Add(startup)
	case good:
		st.runAt = s.now.Add(startup)
		st.healthyAt = st.runAt.Add(s.jitter(time.Second, 12*time.Second))
	case failsChecks:
		st.runAt = s.now.Add(startup)
		st.endAt = st.runAt.Add(s.jitter(time.Second, 12*time.Second))
	case exitsEarly:
		st.runAt = s.now.Add(startup)
		st.endAt = st.runAt.Add(s.jitter(100*time.Millisecond, 8*time.Second))
	}
	s.tasks = append(s.tasks, st)
}

func (s *sim) jitter(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(s.rng.Int64N(int64(hi-lo)))
}

// advance moves the tasks on to s.now.
func (s *sim) advance() {
	for _, t := range s.tasks {
		r := t.rec
		if r.Observed.LastStatus == ecsstate.StatusStopped {
			continue
		}
		if r.DesiredStatus == ecsstate.StatusStopped {
			if t.goneAt.IsZero() {
				t.goneAt = s.now.Add(s.jitter(100*time.Millisecond, 4*time.Second))
				r.Observed.LastStatus = ecsstate.StatusDeactivating
			}
			if !s.now.Before(t.goneAt) {
				s.stopped(t)
			}
			continue
		}
		if !t.runAt.IsZero() && !s.now.Before(t.runAt) && r.Observed.StartedAt.IsZero() {
			r.Observed.LastStatus, r.Observed.StartedAt = ecsstate.StatusRunning, t.runAt
			if t.rev.check {
				r.Observed.HealthStatus = scheduler.HealthUnknown
			}
		} else if r.Observed.StartedAt.IsZero() && r.Observed.LastStatus == ecsstate.StatusProvisioning {
			r.Observed.LastStatus = ecsstate.StatusPending
		}
		if !t.endAt.IsZero() && !s.now.Before(t.endAt) {
			if t.rev.behaviour == failsChecks {
				if r.Observed.HealthStatus != scheduler.HealthUnhealthy {
					s.lose(t)
					r.Observed.HealthStatus = scheduler.HealthUnhealthy
					s.logf("%s UNHEALTHY", r.ID)
				}
				continue
			}
			s.exit(t, "exited")
			continue
		}
		if t.rev.check && !t.healthyAt.IsZero() && !s.now.Before(t.healthyAt) && r.Observed.HealthStatus != scheduler.HealthHealthy {
			r.Observed.HealthStatus = scheduler.HealthHealthy
		}
	}
}

// exit ends a task on its own: its essential container exited.
func (s *sim) exit(t *simTask, why string) {
	if serving(t) {
		s.lose(t)
	}
	t.rec.DesiredStatus = ecsstate.StatusStopped
	t.rec.StopCode = ecstypes.TaskStopCodeEssentialContainerExited
	s.stopped(t)
	s.logf("%s %s", t.rec.ID, why)
}

func (s *sim) stopped(t *simTask) {
	r := t.rec
	r.Observed.LastStatus = ecsstate.StatusStopped
	r.Observed.StoppedAt = s.now
	r.Observed.ExecutionStoppedAt = s.now
}

// chaosEvent may kill a task, change the desired count or deploy a new
// revision.
func (s *sim) chaosEvent() {
	switch n := s.rng.IntN(100); {
	case n < 4:
		var serve []*simTask
		for _, t := range s.tasks {
			if serving(t) {
				serve = append(serve, t)
			}
		}
		if len(serve) > 0 {
			s.exit(serve[s.rng.IntN(len(serve))], "killed")
		}
	case n < 7:
		s.svc.DesiredCount = int32(1 + s.rng.IntN(6))
		if p := s.svc.Primary(); p != nil {
			p.DesiredCount = s.svc.DesiredCount
		}
		s.logf("desired %d", s.svc.DesiredCount)
	case n < 10:
		s.svc.TaskDefinition = s.newRevision(s.rng.IntN(2) == 0).arn
		s.deploy()
	}
}

// step takes one plan step and applies it, checking the promises.
func (s *sim) step() step {
	records := make([]ecsstate.Task, len(s.tasks))
	byKey := map[string]*simTask{}
	for i, t := range s.tasks {
		records[i] = *t.rec
		byKey[t.rec.Key()] = t
	}
	before := s.svc.Primary()
	var beforeID, beforeState string
	if before != nil {
		beforeID, beforeState = before.ID, before.RolloutState
	}
	runningBefore := s.running()
	for _, w := range s.watch {
		w.floor = min(w.floor, s.minHealthy())
	}
	st := plan(planInput{svc: s.svc, tasks: records, now: s.now, eventID: func() string { return "e" }})
	s.svc = st.svc

	for _, k := range st.account {
		byKey[k].rec.ServiceAccounted = true
	}
	// Stopped tasks the step counted matter no more (the store keeps
	// them an hour; plan skips them).
	s.tasks = slices.DeleteFunc(s.tasks, func(t *simTask) bool {
		return t.rec.ServiceAccounted && t.rec.Observed.LastStatus == ecsstate.StatusStopped
	})
	stopped := 0
	for _, r := range st.stop {
		t := byKey[r.key]
		if t == nil || t.rec.Observed.LastStatus == ecsstate.StatusStopped {
			s.fail("stopped %s, which is not a live task", r.key)
		}
		if serving(t) {
			stopped++
		}
		if !t.rec.RequestStop(ecstypes.TaskStopCodeServiceSchedulerInitiated, r.reason, s.now) {
			s.fail("stopped %s twice", t.rec.ID)
		}
		s.logf("stop %s (%s) %s", t.rec.ID, t.rec.Observed.LastStatus, r.reason)
	}
	if s.svc.Status == ecsstate.ServiceActive && s.svc.DesiredCount > 0 {
		if after := runningBefore - stopped; stopped > 0 && after < min(s.minHealthy(), runningBefore) {
			s.fail("stops took the RUNNING tasks from %d to %d, min healthy %d", runningBefore, after, s.minHealthy())
		}
	}

	primary := s.svc.Primary()
	if st.launch > 0 {
		if primary == nil || primary.RolloutState == scheduler.RolloutFailed {
			s.fail("launched %d tasks for a FAILED or missing primary", st.launch)
		}
		for range st.launch {
			s.start(primary)
		}
		if s.live() > s.maxTasks() {
			s.fail("%d tasks not STOPPED after launching %d, maximumPercent allows %d", s.live(), st.launch, s.maxTasks())
		}
		s.logf("start %d of %s", st.launch, primary.ID)
	}
	if primary != nil && primary.ID != beforeID {
		// A rollback began.
		s.watch[primary.ID] = &deploymentWatch{runningAtStart: s.running(), floor: s.minHealthy()}
		s.logf("rollback deployment %s of %s", primary.ID, primary.TaskDefinition)
	}
	for _, d := range s.svc.Deployments {
		if d.ID != beforeID || d.RolloutState == beforeState {
			continue
		}
		s.logf("%s %s (failed tasks %d)", d.ID, d.RolloutState, d.FailedTasks)
		if d.RolloutState != scheduler.RolloutFailed {
			continue
		}
		w := s.watch[d.ID]
		w.failed = true
		// A deployment that never proved itself must leave the service
		// what it had, less what died on its own meanwhile and what
		// minimumHealthyPercent let the scheduler stop at any point.
		if want := min(w.runningAtStart, w.floor) - w.lost; !d.ReachedHealthy && s.running() < want {
			s.fail("deployment %s failed leaving %d RUNNING tasks; it began with %d, %d lost since, min healthy as low as %d", d.ID, s.running(), w.runningAtStart, w.lost, w.floor)
		}
	}
	return st
}

// run plays the simulation: a chaotic phase, then a last revision and
// quiet until the service settles.
func (s *sim) run() {
	steps := 150 + s.rng.IntN(150)
	for range steps {
		s.now = s.now.Add(s.jitter(200*time.Millisecond, 2*time.Second))
		s.advance()
		if s.chaos {
			s.chaosEvent()
		}
		s.step()
	}
	// The last revision: no more kills or changes.
	s.chaos = false
	final := s.newRevision(s.rng.IntN(3) != 0)
	s.svc.TaskDefinition = final.arn
	s.deploy()
	deadline := s.now.Add(3 * time.Hour)
	for s.now.Before(deadline) {
		s.advance()
		st := s.step()
		if s.settled() {
			break
		}
		next, ok := s.nextChange(st.wakeAt)
		if !ok {
			break // nothing will change by itself any more
		}
		s.now = next
	}
	s.checkEnd(final)
}

// nextChange is the next time something changes by itself: a task moves
// on, or the step's wakeAt.
func (s *sim) nextChange(wakeAt time.Time) (time.Time, bool) {
	var next time.Time
	consider := func(at time.Time) {
		if at.After(s.now) && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	consider(wakeAt)
	for _, t := range s.tasks {
		if t.rec.Observed.LastStatus == ecsstate.StatusStopped {
			continue
		}
		if t.rec.DesiredStatus == ecsstate.StatusStopped && t.goneAt.IsZero() {
			consider(s.now.Add(100 * time.Millisecond))
		}
		for _, at := range []time.Time{t.runAt, t.endAt, t.healthyAt, t.goneAt} {
			consider(at)
		}
	}
	if next.IsZero() {
		return next, false
	}
	// A task without a check counts healthy 40 s after RUNNING; the step
	// asks to be woken then, but a little later is safe for the clock.
	return next.Add(time.Millisecond), true
}

// settled: the PRIMARY deployment ended, and what it leaves is stable.
func (s *sim) settled() bool {
	p := s.svc.Primary()
	if p == nil || p.RolloutState == scheduler.RolloutInProgress {
		return false
	}
	for _, t := range s.tasks {
		if t.rec.DesiredStatus == ecsstate.StatusStopped && t.rec.Observed.LastStatus != ecsstate.StatusStopped {
			return false
		}
	}
	return p.RolloutState == scheduler.RolloutFailed || s.svc.Steady
}

func (s *sim) checkEnd(final simRevision) {
	p := s.svc.Primary()
	breaker := *s.svc.DeploymentConfiguration.DeploymentCircuitBreaker.Enable
	if final.behaviour != good && !breaker {
		return // retries for ever, as ECS does without the breaker
	}
	if s.maxTasks() <= s.minHealthy() {
		return // a configuration that lets the scheduler neither start nor stop may stay blocked
	}
	if p.RolloutState == scheduler.RolloutInProgress {
		s.fail("the last deployment %s (%s) never ended: %d running, events %q", p.ID, final.behaviour, s.running(), messages(s.svc))
	}
	if final.behaviour == good && (p.RolloutState != scheduler.RolloutCompleted || !s.svc.Steady || len(s.svc.Deployments) != 1) {
		s.fail("a good last revision did not reach steady state: %s %s, %d deployments, steady %v", p.ID, p.RolloutState, len(s.svc.Deployments), s.svc.Steady)
	}
	if p.RolloutState == scheduler.RolloutCompleted {
		n := 0
		for _, t := range s.tasks {
			if t.rec.Observed.LastStatus != ecsstate.StatusStopped {
				n++
				if t.rec.Spec.StartedBy != p.ID || !serving(t) {
					s.fail("completed deployment %s left task %s of %s (%s)", p.ID, t.rec.ID, t.rec.Spec.StartedBy, t.rec.Observed.LastStatus)
				}
			}
		}
		if n != int(s.svc.DesiredCount) {
			s.fail("completed with %d tasks, desired %d", n, s.svc.DesiredCount)
		}
	}
}

// TestPlanSimulation plays hundreds of random service histories through
// plan and checks, after every step: tasks not STOPPED never exceed
// maximumPercent after a launch; no stop the scheduler chose takes the
// RUNNING tasks below minimumHealthyPercent; nothing is launched for a
// FAILED deployment; a deployment that fails without any of its tasks
// having counted healthy leaves the service the RUNNING tasks it began
// with (less those that died on their own, and what minimumHealthyPercent
// allows to stop). At the end, with the breaker on or a good last
// revision, the last deployment is COMPLETED (a good revision at steady
// state with exactly its desired tasks) or FAILED.
func TestPlanSimulation(t *testing.T) {
	seeds := append([]uint64{}, regressionSeeds...)
	for i := range uint64(simSeeds) {
		seeds = append(seeds, 1000+i)
	}
	for _, seed := range seeds {
		newSim(t, seed).run()
	}
}
