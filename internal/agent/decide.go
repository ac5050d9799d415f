package agent

import (
	"fmt"
	"strings"
	"time"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/runtime"
)

// This file is the runner's brain: decide is a pure function from what the
// server wants, what the runtime shows and what the runner remembers to the
// next actions and the status to report. It decides from what exists, so a
// runner that restarts in the middle of anything just continues.

// observation is what the runtime shows of one task.
type observation struct {
	Holder *runtime.Container
	// Containers holds one entry per plan container; nil: not created.
	Containers []*runtime.Container
	// Strays are the task's containers that match no plan entry (or a
	// second copy of one); they are removed with the task.
	Strays []runtime.Container
}

// observeTask sorts the runtime's containers of one task into an
// observation. When a container exists twice, the running one (else the
// newest) counts and the other is a stray.
func observeTask(p *taskPlan, list []runtime.Container) observation {
	o := observation{Containers: make([]*runtime.Container, len(p.Containers))}
	better := func(a, b *runtime.Container) bool { // is a better than b
		if a.Running != b.Running {
			return a.Running
		}
		return a.Created.After(b.Created)
	}
	for k := range list {
		c := &list[k]
		if c.Labels[LabelRole] == RoleHolder {
			switch {
			case o.Holder == nil:
				o.Holder = c
			case better(c, o.Holder):
				o.Strays = append(o.Strays, *o.Holder)
				o.Holder = c
			default:
				o.Strays = append(o.Strays, *c)
			}
			continue
		}
		i := p.containerIndex(c.Labels[LabelContainerID], c.Labels[LabelECSContainer])
		switch {
		case i < 0:
			o.Strays = append(o.Strays, *c)
		case o.Containers[i] == nil:
			o.Containers[i] = c
		case better(c, o.Containers[i]):
			o.Strays = append(o.Strays, *o.Containers[i])
			o.Containers[i] = c
		default:
			o.Strays = append(o.Strays, *c)
		}
	}
	return o
}

// containerIndex finds a plan container by ECS container id, else by name.
func (p *taskPlan) containerIndex(id, name string) int {
	for i, cp := range p.Containers {
		if id != "" && cp.ID == id {
			return i
		}
	}
	if id != "" {
		return -1
	}
	for i, cp := range p.Containers {
		if cp.Name == name {
			return i
		}
	}
	return -1
}

// exists reports whether the runtime has anything of the task.
func (o *observation) exists() bool {
	if o.Holder != nil || len(o.Strays) > 0 {
		return true
	}
	for _, c := range o.Containers {
		if c != nil {
			return true
		}
	}
	return false
}

// started reports whether a container has run (it may have ended since).
func started(c *runtime.Container) bool { return c != nil && (c.Running || c.Exited) }

// startFailed reports whether the runtime could not start a container.
func startFailed(c *runtime.Container) bool {
	return c != nil && !c.Running && !c.Exited && c.Error != ""
}

// facts are what a runner knows that the runtime does not show: its own
// decisions and the results of its actions. The exported-by-tag ones are
// kept in the task's file, so they survive an agent restart.
type facts struct {
	AcceptedAt    time.Time `json:"acceptedAt,omitzero"`
	PullStartedAt time.Time `json:"pullStartedAt,omitzero"`
	PullStoppedAt time.Time `json:"pullStoppedAt,omitzero"`
	// Digests are the registry digests of the pulled images, by plan
	// index.
	Digests []string `json:"digests,omitempty"`
	// Stop is the agent's own decision to stop the task.
	Stop           *stopDecision `json:"stop,omitempty"`
	DeactivatingAt time.Time     `json:"deactivatingAt,omitzero"`
	Released       bool          `json:"released,omitempty"`
	StoppedAt      time.Time     `json:"stoppedAt,omitzero"`
	// ConnectivityAt and Network are learned from the holder (or the first
	// container) and kept once it is gone.
	ConnectivityAt time.Time                 `json:"connectivityAt,omitzero"`
	Network        *agentproto.NetworkStatus `json:"network,omitempty"`
	// LogsDrained holds the runtime ids of the containers whose shipped
	// output is all stored.
	LogsDrained map[string]bool `json:"logsDrained,omitempty"`

	// Pulled says which images were pulled in this agent's life: after a
	// restart a missing container's image is pulled again.
	Pulled []bool `json:"-"`
	// ResourcesSet and CgroupParent: SetTaskResources ran in this life.
	ResourcesSet bool   `json:"-"`
	CgroupParent string `json:"-"`
	// Failure is a start action that failed; the next decision stops the
	// task for it.
	Failure *failure `json:"-"`
	// OOM holds the runtime ids of containers the runtime reported an
	// out-of-memory kill for.
	OOM map[string]bool `json:"-"`
	// ObserveFailures counts consecutive failed observations.
	ObserveFailures int `json:"-"`
	// LogsFailingSince holds, by runtime id, since when shipping a
	// container's output has failed.
	LogsFailingSince map[string]time.Time `json:"-"`
}

func (f *facts) pulled(i int) bool { return i < len(f.Pulled) && f.Pulled[i] }

func (f *facts) digest(i int) string {
	if i < len(f.Digests) {
		return f.Digests[i]
	}
	return ""
}

// failure is a failed action of the start sequence.
type failure struct {
	Kind      failureKind
	Container string // the container it concerns, if any
	Message   string // the runtime's error
}

type failureKind int

const (
	failPull failureKind = iota + 1
	failCreate
	failStart
	failHolder
	failRuntime // the runtime is unreachable or failed outside a container
	failLogger  // the log stream cannot be made; Message is the whole reason
	failSecrets // a secret cannot be read; Message is the whole reason
)

// reason is the stoppedReason of a failure, with ECS's error prefix.
func (f *failure) reason() string {
	switch f.Kind {
	case failPull:
		return "CannotPullContainerError: " + f.Message
	case failCreate:
		return "CannotCreateContainerError: " + f.Message
	case failStart:
		return "CannotStartContainerError: " + f.Message
	case failHolder:
		return "ResourceInitializationError: failed to configure the task network: " + f.Message
	case failLogger, failSecrets:
		return f.Message
	default:
		return "ResourceInitializationError: " + f.Message
	}
}

// stopDecision is the agent's own decision to stop a task.
type stopDecision struct {
	Code   string    `json:"code"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
	// Container names the container whose failure stopped the task, and
	// ContainerReason is that container's reason.
	Container       string `json:"container,omitempty"`
	ContainerReason string `json:"containerReason,omitempty"`
}

// desiredState is the server's intent as decide needs it.
type desiredState struct {
	Status     string // RUNNING or STOPPED
	Generation int64
	// DrainUntil is when a stopping task's containers may stop: until
	// then load balancers drain its connections.
	DrainUntil time.Time
	// Forget: once stopped, remove everything of the task and end.
	Forget bool
}

type decideInput struct {
	Plan    *taskPlan
	Desired desiredState
	Obs     observation
	Facts   facts
	Now     time.Time
}

type actionKind int

const (
	actMarkPullStarted actionKind = iota + 1
	actPull
	actSetResources
	actCreateHolder
	actCreate
	actStart
	actMarkDeactivating
	actStop
	actRemoveHolder
	actRelease
	actMarkStopped
	actRemoveAll
)

var actionNames = map[actionKind]string{
	actMarkPullStarted: "markPullStarted", actPull: "pull", actSetResources: "setResources",
	actCreateHolder: "createHolder", actCreate: "create", actStart: "start",
	actMarkDeactivating: "markDeactivating", actStop: "stop", actRemoveHolder: "removeHolder",
	actRelease: "release", actMarkStopped: "markStopped", actRemoveAll: "removeAll",
}

func (k actionKind) String() string { return actionNames[k] }

// action is one step for the runner to take.
type action struct {
	Kind    actionKind
	Index   int           // the plan container (pull, create, start, stop)
	Start   bool          // create: start it right after
	Timeout time.Duration // stop: between the stop signal and the kill
	At      time.Time     // marks: the time to record
}

func (a action) String() string {
	switch a.Kind {
	case actPull, actStart:
		return fmt.Sprintf("%s(%d)", a.Kind, a.Index)
	case actCreate:
		return fmt.Sprintf("%s(%d,start=%t)", a.Kind, a.Index, a.Start)
	case actStop:
		return fmt.Sprintf("%s(%d,%s)", a.Kind, a.Index, a.Timeout)
	}
	return a.Kind.String()
}

// decision is decide's answer.
type decision struct {
	// Status is the task's status to report.
	Status agentproto.TaskStatus
	// Actions are the next steps, in order; none means wait.
	Actions []action
	// Stop is a stop the agent decided now (the runner keeps it).
	Stop *stopDecision
	// WakeAt, when set, is when to decide again even if nothing happens
	// (a dependency's start timeout, the end of a wait for logs).
	WakeAt time.Time
	// Done: the task is forgotten and nothing of it is left.
	Done bool
}

// decide returns the next actions for a task and the status to report.
func decide(in decideInput) decision {
	var d decision
	stop := in.Facts.Stop
	stopping := in.Desired.Status == agentproto.StatusStopped || in.Desired.Forget || stop != nil
	if !stopping {
		if s := startProblem(in); s != nil {
			d.Stop, stop, stopping = s, s, true
		}
	}
	if stopping {
		d.Status.LastStatus, d.Actions, d.Done, d.WakeAt = stopPath(in)
	} else {
		d.Status.LastStatus, d.Actions, d.WakeAt = startPath(in)
	}
	fillStatus(&d.Status, in, stop)
	return d
}

// startProblem returns why a task that should run must stop, or nil.
func startProblem(in decideInput) *stopDecision {
	p, o, f := in.Plan, in.Obs, in.Facts
	failed := func(reason, container string) *stopDecision {
		s := &stopDecision{Code: ecstypes.TaskStopCodeTaskFailedToStart, Reason: reason, At: in.Now}
		if container != "" {
			s.Container, s.ContainerReason = container, reason
		}
		return s
	}
	if p.Invalid != "" {
		return failed(p.Invalid, "")
	}
	if p.InterfaceProblem != "" && (o.Holder == nil || !o.Holder.Running) {
		return failed(p.InterfaceProblem, "")
	}
	if f.Failure != nil {
		return failed(f.Failure.reason(), f.Failure.Container)
	}
	allStarted := true
	for _, c := range o.Containers {
		allStarted = allStarted && started(c)
	}
	anyExists := false
	for _, c := range o.Containers {
		anyExists = anyExists || c != nil
	}
	// Containers live in the holder's network namespace: without a running
	// holder they have no network, and a new holder would not give it back.
	if p.NetworkMode == modeAwsvpc && (o.Holder != nil && !o.Holder.Running && !unstartedHolder(o, anyExists) || o.Holder == nil && anyExists) {
		if !allStarted {
			return failed("ResourceInitializationError: failed to configure the task network: the network holder container stopped", "")
		}
		// UNVERIFIED: a Fargate task whose network goes away is stopped
		// by the infrastructure; the wording is berth's.
		return &stopDecision{Code: ecstypes.TaskStopCodeEssentialContainerExited,
			Reason: "The task's network holder container exited", At: in.Now}
	}
	for i, c := range o.Containers {
		if startFailed(c) {
			return failed("CannotStartContainerError: "+c.Error, p.Containers[i].Name)
		}
	}
	for i, c := range o.Containers {
		if c == nil || !c.Exited || !p.Containers[i].Essential {
			continue
		}
		s := &stopDecision{Code: ecstypes.TaskStopCodeEssentialContainerExited,
			Reason: "Essential container in task exited", At: in.Now, Container: p.Containers[i].Name}
		if oomKilled(c, f) {
			// OBSERVED: ECS names the out-of-memory kill as the task's
			// reason too.
			s.Reason, s.ContainerReason = oomReason, oomReason
		}
		return s
	}
	for i, c := range o.Containers {
		if started(c) {
			continue // dependencies are checked at startup only
		}
		for _, dep := range p.Containers[i].DependsOn {
			if _, why, _ := dependencyState(in, dep); why != "" {
				// UNVERIFIED wording.
				return failed(fmt.Sprintf("Dependency of container %s not met: %s", p.Containers[i].Name, why), "")
			}
		}
	}
	return nil
}

const oomReason = "OutOfMemoryError: Container killed due to memory usage"

func oomKilled(c *runtime.Container, f facts) bool {
	return c.OOMKilled || f.OOM[c.ID]
}

// dependencyState says whether a dependency's condition is met, why it can
// no longer be met (or timed out), and when it times out.
func dependencyState(in decideInput, dep dependency) (met bool, failed string, deadline time.Time) {
	c := in.Obs.Containers[dep.Index]
	target := in.Plan.Containers[dep.Index]
	switch dep.Condition {
	case condComplete:
		met = c != nil && c.Exited
	case condSuccess:
		met = c != nil && c.Exited && c.ExitCode == 0
		if c != nil && c.Exited && c.ExitCode != 0 {
			return false, fmt.Sprintf("container %s exited with code %d (condition SUCCESS)", dep.Name, c.ExitCode), time.Time{}
		}
	case condHealthy:
		met = c != nil && c.Running && c.Health == runtime.HealthHealthy
		if c != nil && c.Exited {
			return false, fmt.Sprintf("container %s exited before it was healthy (condition HEALTHY)", dep.Name), time.Time{}
		}
		if !target.hasHealthCheck() {
			return false, fmt.Sprintf("container %s has no health check (condition HEALTHY)", dep.Name), time.Time{}
		}
	default: // START
		return started(c), "", time.Time{}
	}
	if met || c == nil || c.StartedAt.IsZero() || target.StartTimeout <= 0 {
		return met, "", time.Time{}
	}
	// As ECS: the startTimeout of the container depended on, counted from
	// its start, for COMPLETE, SUCCESS and HEALTHY.
	deadline = c.StartedAt.Add(target.StartTimeout)
	if !in.Now.Before(deadline) {
		return false, fmt.Sprintf("container %s did not reach %s within its startTimeout of %s", dep.Name, dep.Condition, target.StartTimeout), time.Time{}
	}
	return false, "", deadline
}

// unstartedHolder reports whether the task's network holder was created
// but never started, with none of its containers made yet: the agent was
// stopped between creating and starting it. It is removed and made again.
func unstartedHolder(o observation, anyContainer bool) bool {
	h := o.Holder
	return h != nil && !h.Running && !h.Exited && h.StartedAt.IsZero() && !anyContainer
}

// startPath decides the next steps of a task that should run.
func startPath(in decideInput) (string, []action, time.Time) {
	p, o, f := in.Plan, in.Obs, in.Facts
	var missing []int
	for i, c := range o.Containers {
		if c == nil {
			missing = append(missing, i)
		}
	}
	holderMissing := p.NetworkMode == modeAwsvpc && o.Holder == nil
	if p.NetworkMode == modeAwsvpc && o.Holder != nil && unstartedHolder(o, len(missing) < len(o.Containers)) {
		return agentproto.StatusActivating, []action{{Kind: actRemoveHolder}}, time.Time{}
	}

	var pulls []action
	for _, i := range missing {
		if !f.pulled(i) {
			pulls = append(pulls, action{Kind: actPull, Index: i})
		}
	}
	if len(pulls) > 0 {
		if f.PullStartedAt.IsZero() {
			status := agentproto.StatusActivating
			if !o.exists() {
				status = agentproto.StatusPending // accepted, nothing done yet
			}
			return status, []action{{Kind: actMarkPullStarted, At: in.Now}}, time.Time{}
		}
		// The network holder does not need the images: it is made while
		// they are pulled.
		var acts []action
		if holderMissing {
			if !f.ResourcesSet {
				acts = append(acts, action{Kind: actSetResources})
			}
			acts = append(acts, action{Kind: actCreateHolder})
		}
		return agentproto.StatusActivating, append(acts, pulls...), time.Time{}
	}
	if (len(missing) > 0 || holderMissing) && !f.ResourcesSet {
		return agentproto.StatusActivating, []action{{Kind: actSetResources}}, time.Time{}
	}
	if holderMissing {
		return agentproto.StatusActivating, []action{{Kind: actCreateHolder}}, time.Time{}
	}

	var acts []action
	var wake time.Time
	allStarted := true
	for i, c := range o.Containers {
		if started(c) {
			continue
		}
		allStarted = false
		ready := true
		for _, dep := range p.Containers[i].DependsOn {
			met, _, deadline := dependencyState(in, dep)
			ready = ready && met
			if !deadline.IsZero() && (wake.IsZero() || deadline.Before(wake)) {
				wake = deadline
			}
		}
		switch {
		case !ready:
		case c == nil:
			acts = append(acts, action{Kind: actCreate, Index: i, Start: true})
		default:
			acts = append(acts, action{Kind: actStart, Index: i})
		}
	}
	if allStarted {
		return agentproto.StatusRunning, nil, time.Time{}
	}
	return agentproto.StatusActivating, acts, wake
}

// stopPath decides the next steps of a task that should stop, and when to
// decide again if nothing happens.
func stopPath(in decideInput) (string, []action, bool, time.Time) {
	p, o, f := in.Plan, in.Obs, in.Facts
	var running []int
	for i, c := range o.Containers {
		if c != nil && c.Running {
			running = append(running, i)
		}
	}
	stops := stopOrder(p, o, running)

	if !f.StoppedAt.IsZero() {
		// Stopped for good; a container someone started again is stopped
		// quietly.
		if len(stops) > 0 {
			return agentproto.StatusStopped, stops, false, time.Time{}
		}
		if in.Desired.Forget {
			if !o.exists() {
				return agentproto.StatusStopped, nil, true, time.Time{}
			}
			// Removing a container deletes its log file.
			if wait, until := removalWait(in); wait {
				return agentproto.StatusStopped, nil, false, until
			}
			return agentproto.StatusStopped, []action{{Kind: actRemoveAll}}, false, time.Time{}
		}
		return agentproto.StatusStopped, nil, false, time.Time{}
	}
	if f.DeactivatingAt.IsZero() {
		return agentproto.StatusDeactivating, []action{{Kind: actMarkDeactivating, At: in.Now}}, false, time.Time{}
	}
	if len(stops) > 0 && in.Now.Before(in.Desired.DrainUntil) {
		// Its load balancers drain it: the containers serve the requests
		// in flight until the deregistration delay is over.
		return agentproto.StatusDeactivating, nil, false, in.Desired.DrainUntil
	}
	if len(stops) > 0 {
		return agentproto.StatusStopping, stops, false, time.Time{}
	}
	if o.Holder != nil || !f.Released {
		var acts []action
		if o.Holder != nil {
			acts = append(acts, action{Kind: actRemoveHolder})
		}
		if !f.Released {
			acts = append(acts, action{Kind: actRelease})
		}
		return agentproto.StatusDeprovisioning, acts, false, time.Time{}
	}
	// A user who waits for STOPPED finds every line in the log stream.
	if until := stoppedReportWait(in); !until.IsZero() {
		return agentproto.StatusDeprovisioning, nil, false, until
	}
	return agentproto.StatusStopped, []action{{Kind: actMarkStopped, At: in.Now}}, false, time.Time{}
}

// Bounds of the waits for a stopped task's shipped logs.
const (
	// drainReportWait: a task is reported STOPPED at the latest this long
	// after its shipped containers exited, their output stored or not
	// (the agent ships on).
	drainReportWait = 30 * time.Second
	// drainGiveUp: a container whose output could not be shipped for this
	// long is removed anyway.
	drainGiveUp = 10 * time.Minute
)

// undrained returns the containers that have run and whose shipped output
// is not all stored yet.
func undrained(in decideInput) []*runtime.Container {
	var out []*runtime.Container
	for i, c := range in.Obs.Containers {
		if started(c) && in.Plan.Containers[i].Logs != nil && !in.Facts.LogsDrained[c.ID] {
			out = append(out, c)
		}
	}
	return out
}

// stoppedReportWait returns until when the STOPPED report waits for the
// task's output to be stored (zero: it does not wait).
func stoppedReportWait(in decideInput) time.Time {
	var until time.Time
	for _, c := range undrained(in) {
		end := firstNonZero(c.FinishedAt, in.Now).Add(drainReportWait)
		if in.Now.Before(end) && end.After(until) {
			until = end
		}
	}
	return until
}

// removalWait says whether removing the task's containers waits for their
// output to be stored, and until when at most (zero: until it is, or until
// shipping starts failing).
func removalWait(in decideInput) (bool, time.Time) {
	wait, until := false, time.Time{}
	for _, c := range undrained(in) {
		since := in.Facts.LogsFailingSince[c.ID]
		if since.IsZero() {
			wait = true
			continue
		}
		if end := since.Add(drainGiveUp); in.Now.Before(end) {
			wait = true
			if until.IsZero() || end.Before(until) {
				until = end
			}
		}
	}
	return wait, until
}

// stopOrder returns the stops to issue now: the running containers no other
// running container depends on (the reverse of the start order), each with
// its stop timeout.
func stopOrder(p *taskPlan, o observation, running []int) []action {
	var acts []action
	for _, i := range running {
		needed := false
		for _, j := range running {
			for _, dep := range p.Containers[j].DependsOn {
				needed = needed || (j != i && dep.Index == i)
			}
		}
		if !needed {
			acts = append(acts, action{Kind: actStop, Index: i, Timeout: p.Containers[i].StopTimeout})
		}
	}
	if len(acts) == 0 && len(running) > 0 {
		// Only a dependency cycle gets here; stop them all.
		for _, i := range running {
			acts = append(acts, action{Kind: actStop, Index: i, Timeout: p.Containers[i].StopTimeout})
		}
	}
	return acts
}

// fillStatus completes a status whose LastStatus is decided.
func fillStatus(st *agentproto.TaskStatus, in decideInput, stop *stopDecision) {
	p, o, f := in.Plan, in.Obs, in.Facts
	st.Generation = in.Desired.Generation
	st.PullStartedAt, st.PullStoppedAt = f.PullStartedAt, f.PullStoppedAt
	if stop != nil {
		st.StopCode, st.StoppedReason = stop.Code, stop.Reason
	}
	if !f.ConnectivityAt.IsZero() {
		st.Connectivity, st.ConnectivityAt = ecstypes.ConnectivityConnected, f.ConnectivityAt
	}
	if f.Network != nil {
		n := *f.Network
		st.Network = &n
	}
	ended := st.LastStatus == agentproto.StatusDeprovisioning || st.LastStatus == agentproto.StatusStopped

	allStarted := len(o.Containers) > 0
	var lastStart, lastFinish time.Time
	health := ecstypes.HealthStatusHealthy
	essentials := 0
	for i, cp := range p.Containers {
		c := o.Containers[i]
		cs := containerStatus(p, i, c, f, ended)
		if stop != nil && stop.Container == cp.Name && cs.Reason == "" {
			cs.Reason = stop.ContainerReason
		}
		st.Containers = append(st.Containers, cs)
		if started(c) {
			if c.StartedAt.After(lastStart) {
				lastStart = c.StartedAt
			}
		} else {
			allStarted = false
		}
		if c != nil && c.Exited && c.FinishedAt.After(lastFinish) {
			lastFinish = c.FinishedAt
		}
		if cp.Essential {
			essentials++
			health = worseHealth(health, cs.HealthStatus)
		}
	}
	if essentials == 0 {
		health = ecstypes.HealthStatusUnknown
	}
	st.HealthStatus = health
	if allStarted {
		st.StartedAt = lastStart
	}
	if st.LastStatus == agentproto.StatusStopped {
		st.StoppedAt = f.StoppedAt
		if st.StoppedAt.IsZero() {
			st.StoppedAt = in.Now
		}
	}
	if ended {
		st.ExecutionStoppedAt = lastFinish
		if st.ExecutionStoppedAt.IsZero() {
			st.ExecutionStoppedAt = st.StoppedAt
			if st.ExecutionStoppedAt.IsZero() {
				st.ExecutionStoppedAt = in.Now
			}
		}
	}
}

// containerStatus is one container's reported status.
func containerStatus(p *taskPlan, i int, c *runtime.Container, f facts, taskEnded bool) agentproto.ContainerStatus {
	cp := p.Containers[i]
	cs := agentproto.ContainerStatus{
		Name:         cp.Name,
		LastStatus:   agentproto.StatusPending,
		HealthStatus: ecstypes.HealthStatusUnknown,
		ImageDigest:  f.digest(i),
	}
	if c == nil {
		if taskEnded {
			cs.LastStatus = agentproto.StatusStopped // never started: no exit code
		}
		return cs
	}
	cs.RuntimeID = c.ID
	switch {
	case c.Running:
		cs.LastStatus = agentproto.StatusRunning
	case c.Exited:
		cs.LastStatus = agentproto.StatusStopped
		code := int32(c.ExitCode)
		cs.ExitCode = &code
		if oomKilled(c, f) {
			cs.Reason = oomReason
		}
	case c.Error != "":
		cs.LastStatus = agentproto.StatusStopped
		cs.Reason = "CannotStartContainerError: " + c.Error
	case taskEnded:
		cs.LastStatus = agentproto.StatusStopped
	}
	// Only a running container has a health: Docker keeps the last check's
	// result after the exit, which must not read as a failing check.
	if cp.hasHealthCheck() && c.Running {
		switch c.Health {
		case runtime.HealthHealthy:
			cs.HealthStatus = ecstypes.HealthStatusHealthy
		case runtime.HealthUnhealthy:
			cs.HealthStatus = ecstypes.HealthStatusUnhealthy
		}
	}
	cs.NetworkBindings = networkBindings(p, cp, c)
	return cs
}

// networkBindings are a container's host port bindings (bridge and host
// modes; awsvpc tasks have their own address).
func networkBindings(p *taskPlan, cp containerPlan, c *runtime.Container) []ecstypes.NetworkBinding {
	var out []ecstypes.NetworkBinding
	switch p.NetworkMode {
	case modeBridge:
		for _, b := range c.Ports {
			ip := b.HostIP
			if ip == "" {
				ip = "0.0.0.0"
			}
			out = append(out, ecstypes.NetworkBinding{BindIP: awsapi.String(ip), ContainerPort: awsapi.Int32(int32(b.ContainerPort)),
				HostPort: awsapi.Int32(int32(b.HostPort)), Protocol: awsapi.String(strings.ToLower(b.Protocol))})
		}
	case modeHost:
		if !c.Running {
			return nil
		}
		for _, b := range cp.Ports {
			out = append(out, ecstypes.NetworkBinding{BindIP: awsapi.String("0.0.0.0"), ContainerPort: awsapi.Int32(int32(b.ContainerPort)),
				HostPort: awsapi.Int32(int32(b.ContainerPort)), Protocol: awsapi.String(b.Protocol)})
		}
	}
	return out
}

// worseHealth orders health UNHEALTHY > UNKNOWN > HEALTHY, as ECS
// aggregates essential containers.
func worseHealth(a, b string) string {
	rank := map[string]int{ecstypes.HealthStatusHealthy: 0, ecstypes.HealthStatusUnknown: 1, ecstypes.HealthStatusUnhealthy: 2}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// learn records what the observation shows that must outlive it: the
// task's network (after the holder is gone) and when it connected.
func learn(p *taskPlan, f facts, o observation) facts {
	if p.NetworkMode == modeAwsvpc {
		if h := o.Holder; h != nil && h.Running && p.Interface != nil {
			n := networkStatus(p)
			f.Network = &n
			if f.ConnectivityAt.IsZero() {
				f.ConnectivityAt = firstNonZero(h.StartedAt, h.Created)
			}
		}
		return f
	}
	if f.ConnectivityAt.IsZero() {
		for _, c := range o.Containers {
			if c != nil && !c.Created.IsZero() && (f.ConnectivityAt.IsZero() || c.Created.Before(f.ConnectivityAt)) {
				f.ConnectivityAt = c.Created
			}
		}
	}
	return f
}

// networkStatus is a task's awsvpc interface, once its holder has it.
func networkStatus(p *taskPlan) agentproto.NetworkStatus {
	i := p.InterfaceInfo
	return agentproto.NetworkStatus{
		AttachmentID:       i.AttachmentID,
		PrivateIPv4:        i.Address,
		MACAddress:         i.MAC,
		SubnetID:           i.SubnetID,
		SubnetCIDR:         i.SubnetCIDR,
		GatewayIPv4:        p.Interface.Gateway().String(),
		PrivateDNSName:     i.PrivateDNSName,
		NetworkInterfaceID: i.ID,
	}
}

func firstNonZero(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// observeFailureStop is the stop decided when the runtime cannot be
// observed while a task is starting: after a few failures in a row, the
// task fails with ResourceInitializationError (a running task waits).
func observeFailureStop(f facts, d desiredState, lastStatus string, err error, now time.Time) *stopDecision {
	const tolerated = 3
	if f.Stop != nil || d.Status != agentproto.StatusRunning || d.Forget || f.ObserveFailures < tolerated {
		return nil
	}
	switch lastStatus {
	case "", agentproto.StatusPending, agentproto.StatusActivating:
	default:
		return nil
	}
	return &stopDecision{Code: ecstypes.TaskStopCodeTaskFailedToStart,
		Reason: (&failure{Kind: failRuntime, Message: err.Error()}).reason(), At: now}
}
