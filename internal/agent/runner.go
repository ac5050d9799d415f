package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/distribution/reference"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/runtime"
)

// runner runs one task: it observes the task's containers, decides, acts
// and waits, until the task is forgotten (or the agent stops).
type runner struct {
	a           *Agent
	id, cluster string
	log         *slog.Logger
	wake        chan struct{} // a runtime event or a change of intent
	// stopRequested is closed once the task is to stop: it cuts short a
	// start step in flight (a long pull).
	stopRequested chan struct{}
	stopOnce      sync.Once
	// observed is closed after the first observation of the task (or the
	// first failure to observe it): from then on its report is current.
	observed     chan struct{}
	observedOnce sync.Once

	mu      sync.Mutex
	desired agentproto.DesiredTask
	plan    *taskPlan
	forget  bool
	// unknown: the server does not know the task; it is stopped, removed
	// and never reported.
	unknown bool
	oom     map[string]bool
	view    taskView
	// Log shippers, by runtime id: those running, and what they report
	// (merged into the facts each round).
	shipping    map[string]bool
	logsDrained map[string]bool
	logsFailing map[string]time.Time

	// Owned by the runner's goroutine.
	// attached: the holder has the task's interface.
	attached    bool
	facts       facts
	reported    *agentproto.TaskStatus // the last status reported
	written     []byte                 // the task file's last content
	lastActions []action
	sawStarting bool // a status before RUNNING was seen in this life
}

// taskView is the runner's latest picture of its task, for the metadata
// endpoint.
type taskView struct {
	desired agentproto.DesiredTask
	plan    *taskPlan
	obs     observation
	status  agentproto.TaskStatus
	pulled  []bool
	valid   bool // observed at least once
}

func newRunner(a *Agent, dt agentproto.DesiredTask, f facts, forget bool) *runner {
	r := &runner{
		a:             a,
		id:            dt.ID,
		cluster:       dt.Cluster,
		log:           a.log.With("task", dt.ID, "cluster", dt.Cluster),
		wake:          make(chan struct{}, 1),
		stopRequested: make(chan struct{}),
		observed:      make(chan struct{}),
		desired:       dt,
		forget:        forget,
		oom:           map[string]bool{},
		shipping:      map[string]bool{},
		logsDrained:   map[string]bool{},
		logsFailing:   map[string]time.Time{},
		facts:         f,
	}
	r.plan = newTaskPlan(dt, a.planEnv())
	if forget || dt.DesiredStatus != agentproto.StatusRunning {
		r.requestStop()
	}
	return r
}

func (r *runner) markObserved() { r.observedOnce.Do(func() { close(r.observed) }) }

func (r *runner) requestStop() { r.stopOnce.Do(func() { close(r.stopRequested) }) }

// poke wakes the runner up to observe again.
func (r *runner) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// setDesired replaces the runner's intent. An intent older than the one it
// has is ignored unless authoritative.
func (r *runner) setDesired(dt agentproto.DesiredTask, authoritative bool) {
	plan := newTaskPlan(dt, r.a.planEnv())
	r.mu.Lock()
	switch {
	case dt.Cluster != r.cluster:
		r.mu.Unlock()
		r.log.Warn("desired task ignored", "reason", "names another cluster", "otherCluster", dt.Cluster)
		return
	case !authoritative && dt.Generation < r.desired.Generation:
		r.mu.Unlock()
		return
	}
	r.desired = dt
	r.plan = plan
	r.mu.Unlock()
	if dt.DesiredStatus != agentproto.StatusRunning {
		r.requestStop()
	}
	r.a.registerEndpoints(r, plan)
	r.poke()
}

func (r *runner) setForget() {
	r.mu.Lock()
	r.forget = true
	r.mu.Unlock()
	r.requestStop()
	r.poke()
}

func (r *runner) setUnknown() {
	r.mu.Lock()
	r.unknown = true
	r.mu.Unlock()
	r.requestStop()
	r.a.forgetReport(r.id)
	r.poke()
}

func (r *runner) noteOOM(runtimeID string) {
	r.mu.Lock()
	r.oom[runtimeID] = true
	r.mu.Unlock()
}

// snapshot returns what the runner's loop works from this round.
func (r *runner) snapshot() (agentproto.DesiredTask, *taskPlan, desiredState, map[string]bool, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ds := desiredState{Status: r.desired.DesiredStatus, Generation: r.desired.Generation, Forget: r.forget || r.unknown, DrainUntil: r.desired.DrainUntil}
	if r.unknown || ds.Status != agentproto.StatusRunning {
		ds.Status = agentproto.StatusStopped
	}
	return r.desired, r.plan, ds, maps.Clone(r.oom), r.unknown
}

func (r *runner) run(ctx context.Context) {
	bo := backoff{}
	for ctx.Err() == nil {
		dt, plan, ds, oom, unknown := r.snapshot()
		list, err := r.a.rt.List(ctx, map[string]string{LabelTaskID: r.id, LabelNodeID: r.a.nodeID})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			r.a.metrics.runtimeErrors.WithLabelValues("list").Inc()
			r.markObserved() // the runtime does not answer: its last report stands
			r.facts.ObserveFailures++
			r.log.Warn("observing the task failed", "err", err, "failures", r.facts.ObserveFailures)
			if s := observeFailureStop(r.facts, ds, r.lastStatus(), err, r.a.now()); s != nil {
				r.log.Warn("stopping the task: the runtime cannot be reached", "reason", s.Reason)
				// The task never ran and nothing can be asked of the
				// runtime: it is STOPPED now, not once the runtime is back.
				r.facts.Stop = s
				r.facts.StoppedAt = s.At
				r.reportStop(s, unknown)
				r.persist(dt, ds.Forget, unknown)
			}
			if !r.wait(ctx, bo.next(), time.Time{}) {
				return
			}
			continue
		}
		r.facts.ObserveFailures = 0
		r.facts.OOM = oom
		obs := observeTask(plan, list)
		r.attachAdopted(ctx, plan, obs)
		r.shipLogs(ctx, plan, obs)
		r.facts = learn(plan, r.facts, obs)
		d := decide(decideInput{Plan: plan, Desired: ds, Obs: obs, Facts: r.facts, Now: r.a.now()})
		if d.Stop != nil {
			r.log.Info("stopping the task", "stopCode", d.Stop.Code, "reason", d.Stop.Reason)
			r.facts.Stop = d.Stop
		}
		r.facts.Failure = nil // a failure is decided on once
		r.publish(dt, plan, obs, d.Status, unknown)
		r.persist(dt, ds.Forget, unknown)
		r.markObserved()
		if d.Done {
			r.log.Info("task forgotten")
			r.a.drop(r)
			return
		}
		if len(d.Actions) == 0 {
			bo.reset()
			r.lastActions = nil
			if !r.wait(ctx, resyncInterval, d.WakeAt) {
				return
			}
			continue
		}
		// The same steps again means the last ones changed nothing the
		// runtime shows: back off instead of spinning.
		repeated := slices.Equal(d.Actions, r.lastActions)
		r.lastActions = d.Actions
		if repeated && !r.wait(ctx, bo.next(), time.Time{}) {
			return
		}
		r.log.Debug("acting", "status", d.Status.LastStatus, "actions", d.Actions)
		actx, release := r.actContext(ctx, d.Status.LastStatus)
		err = r.act(actx, plan, obs, d.Actions)
		cutShort := actx.Err() != nil && ctx.Err() == nil
		release()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if cutShort {
				continue // a stop was requested: decide again at once
			}
			r.log.Warn("task step failed; retrying", "err", err)
			if !r.wait(ctx, bo.next(), time.Time{}) {
				return
			}
			continue
		}
		if !repeated {
			bo.reset()
		}
	}
}

// actContext is the context of one round of actions: start steps end
// early when a stop is requested (the next decision takes the stop path);
// stop steps run to their end.
func (r *runner) actContext(ctx context.Context, status string) (context.Context, context.CancelFunc) {
	switch status {
	case agentproto.StatusPending, agentproto.StatusActivating:
	default:
		return ctx, func() {}
	}
	actx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-r.stopRequested:
			cancel()
		case <-actx.Done():
		}
	}()
	return actx, cancel
}

// wait blocks until a wake-up, wakeAt, limit or the end of ctx; it reports
// whether ctx is still alive.
func (r *runner) wait(ctx context.Context, limit time.Duration, wakeAt time.Time) bool {
	d := limit
	if !wakeAt.IsZero() {
		d = min(d, max(wakeAt.Sub(r.a.now()), 0))
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-r.wake:
	case <-t.C:
	}
	return true
}

func (r *runner) lastStatus() string {
	if r.reported == nil {
		return ""
	}
	return r.reported.LastStatus
}

// publish updates the metadata view and reports the status if it changed.
func (r *runner) publish(dt agentproto.DesiredTask, plan *taskPlan, obs observation, st agentproto.TaskStatus, unknown bool) {
	r.mu.Lock()
	r.view = taskView{desired: dt, plan: plan, obs: obs, status: st, pulled: slices.Clone(r.facts.Pulled), valid: true}
	r.mu.Unlock()
	if unknown || (r.reported != nil && sameStatus(*r.reported, st)) {
		return
	}
	now := r.a.now()
	st.UpdatedAt = now
	if st.LastStatus == agentproto.StatusRunning && r.sawStarting && !r.facts.AcceptedAt.IsZero() &&
		(r.reported == nil || r.reported.LastStatus != agentproto.StatusRunning) {
		r.a.metrics.startLatency.Observe(now.Sub(r.facts.AcceptedAt).Seconds())
	}
	switch st.LastStatus {
	case agentproto.StatusPending, agentproto.StatusActivating:
		r.sawStarting = true
	}
	if r.reported == nil || r.reported.LastStatus != st.LastStatus {
		r.log.Info("task status", "lastStatus", st.LastStatus, "stopCode", st.StopCode, "stoppedReason", st.StoppedReason)
	}
	r.reported = &st
	r.a.setReport(r, st)
}

// reportStop reports a stop decided without an observation: the last
// status with the stop's code and reason.
func (r *runner) reportStop(s *stopDecision, unknown bool) {
	if unknown {
		return
	}
	st := agentproto.TaskStatus{LastStatus: agentproto.StatusPending}
	if r.reported != nil {
		st = *r.reported
	}
	st.StopCode, st.StoppedReason = s.Code, s.Reason
	if !r.facts.StoppedAt.IsZero() {
		st.LastStatus = agentproto.StatusStopped
		st.StoppedAt, st.ExecutionStoppedAt = r.facts.StoppedAt, r.facts.StoppedAt
		st.Containers = slices.Clone(st.Containers)
		for i := range st.Containers {
			st.Containers[i].LastStatus = agentproto.StatusStopped
		}
	}
	st.UpdatedAt = r.a.now()
	r.reported = &st
	r.a.setReport(r, st)
}

// sameStatus compares two statuses, ignoring when they were observed.
func sameStatus(a, b agentproto.TaskStatus) bool {
	a.UpdatedAt, b.UpdatedAt = time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

// persist writes the task's file when its content changed. A task unknown
// to the server is kept as one to stop and forget, so an agent restarting
// in the middle finishes removing it.
func (r *runner) persist(dt agentproto.DesiredTask, forget, unknown bool) {
	if unknown {
		dt.DesiredStatus, forget = agentproto.StatusStopped, true
	}
	b, err := encodeTaskFile(dt, forget, r.facts)
	if err != nil {
		r.log.Error("encoding the task file", "err", err)
		return
	}
	if bytes.Equal(b, r.written) {
		return
	}
	if err := r.a.writeTaskFile(r.id, b); err != nil {
		r.log.Error("writing the task file", "err", err)
		return
	}
	r.written = b
}

// act takes the decided steps. A failed step of the start sequence is
// recorded as a failure (the next decision stops the task); a failed step
// of the stop sequence is returned (the runner retries). Image pulls run
// alongside the other steps: the network holder does not need the images.
func (r *runner) act(ctx context.Context, plan *taskPlan, obs observation, actions []action) error {
	var pulls, steps []action
	for _, ac := range actions {
		if ac.Kind == actPull {
			pulls = append(pulls, ac)
		} else {
			steps = append(steps, ac)
		}
	}
	if len(pulls) == 0 {
		return r.actInOrder(ctx, plan, obs, steps)
	}
	results := make([]pullResult, len(pulls))
	var wg sync.WaitGroup
	for k, ac := range pulls {
		wg.Go(func() { results[k] = r.pull(ctx, plan, ac.Index) })
	}
	err := r.actInOrder(ctx, plan, obs, steps)
	wg.Wait()
	r.recordPulls(ctx, plan, pulls, results)
	return err
}

// actInOrder takes steps one after the other.
func (r *runner) actInOrder(ctx context.Context, plan *taskPlan, obs observation, actions []action) error {
	rt := r.a.rt
	f := &r.facts
	var stops []action
	for _, ac := range actions {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		switch ac.Kind {
		case actMarkPullStarted:
			f.PullStartedAt = ac.At
		case actMarkDeactivating:
			f.DeactivatingAt = ac.At
		case actMarkStopped:
			f.StoppedAt = ac.At
		case actSetResources:
			cgroup, err := rt.SetTaskResources(ctx, plan.TaskID, plan.Resources)
			if err != nil {
				r.fail(ctx, "setTaskResources", failRuntime, "", err)
				return nil
			}
			f.ResourcesSet, f.CgroupParent = true, cgroup
		case actCreateHolder:
			spec := plan.Holder
			spec.CgroupParent = f.CgroupParent
			holder, err := rt.CreateNetworkHolder(ctx, spec)
			if err != nil {
				r.fail(ctx, "createNetworkHolder", failHolder, "", err)
				return nil
			}
			if err := r.attach(plan, holder.Pid); err != nil {
				r.fail(ctx, "attachInterface", failHolder, "", err)
				return nil
			}
		case actCreate:
			if !r.create(ctx, plan, obs, ac) {
				return nil
			}
		case actStart:
			cp := plan.Containers[ac.Index]
			if !r.prepareLogStream(ctx, plan, ac.Index, obs.Containers[ac.Index].ID) {
				return nil
			}
			if err := rt.Start(ctx, obs.Containers[ac.Index].ID); err != nil {
				r.fail(ctx, "start", failStart, cp.Name, err)
				return nil
			}
		case actStop:
			stops = append(stops, ac)
		case actRemoveHolder:
			if err := rt.Remove(ctx, obs.Holder.ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
				r.a.metrics.runtimeErrors.WithLabelValues("remove").Inc()
				return err
			}
		case actRelease:
			if err := rt.ReleaseTaskResources(ctx, plan.TaskID); err != nil {
				r.a.metrics.runtimeErrors.WithLabelValues("releaseTaskResources").Inc()
				return err
			}
			f.Released, f.ResourcesSet, f.CgroupParent = true, false, ""
		case actRemoveAll:
			for _, c := range undrained(decideInput{Plan: plan, Obs: obs, Facts: *f}) {
				r.log.Warn("removing a container whose output is not all shipped: shipping has failed too long", "runtimeId", c.ID,
					"failingSince", f.LogsFailingSince[c.ID])
			}
			if err := r.removeAll(ctx, obs); err != nil {
				return err
			}
		}
	}
	return r.stopAll(ctx, obs, stops)
}

// pullResult is what pulling one image gave.
type pullResult struct {
	image runtime.Image
	err   error
}

// pull pulls one container's image: always, as ECS does by default, but a
// local copy serves when the registry fails (ECS_IMAGE_PULL_BEHAVIOR
// default). It runs beside other steps, so it leaves the facts alone.
func (r *runner) pull(ctx context.Context, plan *taskPlan, i int) pullResult {
	cp := plan.Containers[i]
	img, err := r.a.rt.PullImage(ctx, cp.Image, cp.Auth, false)
	if err == nil || ctx.Err() != nil {
		return pullResult{img, err}
	}
	r.a.metrics.runtimeErrors.WithLabelValues("pull").Inc()
	local, localErr := r.a.rt.PullImage(ctx, cp.Image, nil, true)
	if localErr != nil {
		return pullResult{err: err}
	}
	r.log.Warn("pull failed; using the local image", "container", cp.Name, "image", cp.Image, "err", err)
	return pullResult{image: local}
}

// pullFailureMessage is a failed pull as ECS reports it: the runtime's own
// words, about the image as the task definition names it. berth pulls an
// image of its registry from an address of its own (pulled), which means
// nothing to the user who wrote defined.
func pullFailureMessage(err error, pulled, defined string) string {
	msg := err.Error()
	var pe *runtime.PullError
	if errors.As(err, &pe) {
		msg = pe.Message
	}
	if pulled == defined {
		return msg
	}
	from, to := registryHost(pulled), registryHost(defined)
	if from == "" || to == "" {
		return strings.ReplaceAll(msg, pulled, defined)
	}
	return strings.NewReplacer(pulled, defined, "http://"+from+"/", "https://"+to+"/", from+"/", to+"/").Replace(msg)
}

// registryHost is the registry of an image reference ("" if it does not
// parse).
func registryHost(ref string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ""
	}
	return reference.Domain(named)
}

// recordPulls notes the pulled images and digests, and the first failed
// pull unless another step failed first.
func (r *runner) recordPulls(ctx context.Context, plan *taskPlan, pulls []action, results []pullResult) {
	f := &r.facts
	f.PullStoppedAt = r.a.now()
	for len(f.Pulled) < len(plan.Containers) {
		f.Pulled = append(f.Pulled, false)
	}
	for len(f.Digests) < len(plan.Containers) {
		f.Digests = append(f.Digests, "")
	}
	for k, ac := range pulls {
		res, i := results[k], ac.Index
		if res.err != nil {
			if f.Failure == nil {
				cp := plan.Containers[i]
				r.fail(ctx, "", failPull, cp.Name, errors.New(pullFailureMessage(res.err, cp.Image, cp.DefinitionImage)))
			}
			continue
		}
		f.Pulled[i] = true
		if res.image.RepoDigest != "" || f.Digests[i] == "" {
			f.Digests[i] = res.image.RepoDigest
		}
	}
}

// create creates a container and, if asked, starts it.
func (r *runner) create(ctx context.Context, plan *taskPlan, obs observation, ac action) bool {
	rt := r.a.rt
	cp := plan.Containers[ac.Index]
	spec := cp.Spec
	spec.CgroupParent = r.facts.CgroupParent
	if plan.NetworkMode == modeAwsvpc {
		if obs.Holder == nil {
			r.fail(ctx, "", failHolder, "", errors.New("the network holder container is missing"))
			return false
		}
		spec.NetworkMode = "container:" + obs.Holder.ID
	}
	for _, dir := range plan.VolumeDirs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			r.fail(ctx, "", failCreate, cp.Name, err)
			return false
		}
	}
	env, logOptions, err := r.containerSecrets(ctx, plan, cp)
	if err != nil {
		r.fail(ctx, "", failSecrets, cp.Name, err)
		return false
	}
	spec.Env = withSecrets(spec.Env, env)
	if len(logOptions) > 0 && cp.Logs == nil {
		spec.LogOptions = maps.Clone(spec.LogOptions)
		maps.Copy(spec.LogOptions, logOptions)
	}
	c, err := rt.Create(ctx, spec)
	if err != nil {
		r.fail(ctx, "create", failCreate, cp.Name, err)
		return false
	}
	if !ac.Start {
		return true
	}
	if !r.prepareLogStream(ctx, plan, ac.Index, c.ID) {
		return false
	}
	if err := rt.Start(ctx, c.ID); err != nil {
		r.fail(ctx, "start", failStart, cp.Name, err)
		return false
	}
	return true
}

// fail records a failed start step, unless it failed because the agent is
// stopping.
func (r *runner) fail(ctx context.Context, op string, kind failureKind, container string, err error) {
	if ctx.Err() != nil {
		return
	}
	if op != "" {
		r.a.metrics.runtimeErrors.WithLabelValues(op).Inc()
	}
	r.log.Warn("task step failed", "container", container, "err", err)
	r.facts.Failure = &failure{Kind: kind, Container: container, Message: err.Error()}
}

// stopAll stops containers in parallel, each with its timeout.
func (r *runner) stopAll(ctx context.Context, obs observation, stops []action) error {
	errs := make([]error, len(stops))
	var wg sync.WaitGroup
	for k, ac := range stops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := r.a.rt.Stop(ctx, obs.Containers[ac.Index].ID, ac.Timeout)
			if err != nil && !errors.Is(err, runtime.ErrNotFound) {
				r.a.metrics.runtimeErrors.WithLabelValues("stop").Inc()
				errs[k] = err
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// removeAll removes every container of the task.
func (r *runner) removeAll(ctx context.Context, obs observation) error {
	var ids []string
	for _, c := range obs.Containers {
		if c != nil {
			ids = append(ids, c.ID)
		}
	}
	for _, c := range obs.Strays {
		ids = append(ids, c.ID)
	}
	if obs.Holder != nil {
		ids = append(ids, obs.Holder.ID)
	}
	var errs []error
	for _, id := range ids {
		if err := r.a.rt.Remove(ctx, id); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			r.a.metrics.runtimeErrors.WithLabelValues("remove").Inc()
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// currentView returns the metadata view.
func (r *runner) currentView() taskView {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.view
}

// missingLogGroupReason is ECS's stoppedReason for a task whose awslogs
// group does not exist (and is not to be created). UNVERIFIED wording:
// users report this prefix; newer Fargate platforms name the API call
// ("operation error CloudWatch Logs: CreateLogStream, ...") before the
// exception.
const missingLogGroupReason = "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: " +
	"failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist. : exit status 1"

// logStreamRequest is the request preparing container i's log stream.
func logStreamRequest(plan *taskPlan, i int, runtimeID string) agentproto.LogStreamRequest {
	cp := plan.Containers[i]
	return agentproto.LogStreamRequest{
		LogStreamRef: agentproto.LogStreamRef{Region: cp.Logs.Region, Group: cp.Logs.Group,
			Stream: cp.Logs.streamName(cp.Name, plan.TaskID, runtimeID)},
		CreateGroup: cp.Logs.CreateGroup,
		Producer:    runtimeID,
		TaskARN:     plan.TaskARN,
	}
}

// prepareLogStream makes container i's log stream before the container
// starts, when its output is shipped. A missing group or a name the server
// refuses fails the task, as at ECS; other failures (the server away) are
// retried until the task is to stop.
func (r *runner) prepareLogStream(ctx context.Context, plan *taskPlan, i int, runtimeID string) bool {
	cp := plan.Containers[i]
	if cp.Logs == nil {
		return true
	}
	req := logStreamRequest(plan, i, runtimeID)
	bo := backoff{}
	for {
		_, err := r.a.sink.PrepareStream(ctx, req)
		switch {
		case err == nil:
			return true
		case ctx.Err() != nil:
			return false
		case logErrorCode(err) == "ResourceNotFoundException":
			r.fail(ctx, "", failLogger, cp.Name, errors.New(missingLogGroupReason))
			return false
		case logErrorCode(err) == "InvalidParameterException", logErrorCode(err) == "AccessDeniedException":
			// UNVERIFIED wording: the missing group's reason, with the
			// server's exception.
			var le *LogSinkError
			errors.As(err, &le)
			r.fail(ctx, "", failLogger, cp.Name, fmt.Errorf("ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: "+
				"failed to create Cloudwatch log stream: %s: %s : exit status 1", le.Code, le.Message))
			return false
		}
		r.log.Warn("preparing the log stream failed; retrying", "container", cp.Name, "group", req.Group, "stream", req.Stream, "err", err)
		if !sleepCtx(ctx, bo.next()) {
			return false
		}
	}
}

// shipLogs starts a shipper for each container that has run and whose
// shipped output is not all stored, and brings what the shippers report
// into the facts.
func (r *runner) shipLogs(ctx context.Context, plan *taskPlan, obs observation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id := range r.logsDrained {
		if r.facts.LogsDrained == nil {
			r.facts.LogsDrained = map[string]bool{}
		}
		r.facts.LogsDrained[id] = true
	}
	r.facts.LogsFailingSince = maps.Clone(r.logsFailing)
	for i, c := range obs.Containers {
		if !started(c) || plan.Containers[i].Logs == nil || r.facts.LogsDrained[c.ID] || r.shipping[c.ID] {
			continue
		}
		cp, id := plan.Containers[i], c.ID
		r.shipping[id] = true
		s := &shipper{
			rt: r.a.rt, sink: r.a.sink, metrics: r.a.metrics,
			log:     r.log.With("container", cp.Name, "runtimeId", id),
			stream:  logStreamRequest(plan, i, id),
			pattern: cp.Logs.Multiline, flush: cp.Logs.FlushInterval,
			failing: func(since time.Time) { r.noteLogsFailing(id, since) },
			now:     r.a.now,
		}
		r.a.wg.Add(1)
		go func() {
			defer r.a.wg.Done()
			res := s.run(ctx)
			r.mu.Lock()
			delete(r.shipping, id)
			delete(r.logsFailing, id)
			if res == shipDrained {
				r.logsDrained[id] = true
			}
			r.mu.Unlock()
			r.poke()
		}()
	}
}

// noteLogsFailing records since when shipping a container's output fails
// (zero: it works).
func (r *runner) noteLogsFailing(runtimeID string, since time.Time) {
	r.mu.Lock()
	if since.IsZero() {
		delete(r.logsFailing, runtimeID)
	} else {
		r.logsFailing[runtimeID] = since
	}
	r.mu.Unlock()
	r.poke()
}

// attach gives the holder (process pid) the task's interface, after making
// the host carry its VPC.
func (r *runner) attach(plan *taskPlan, pid int) error {
	if plan.Interface == nil {
		return errors.New("the task has no network interface")
	}
	if err := r.a.networks.carry(plan.VPC); err != nil {
		return err
	}
	if err := r.a.cfg.HostNetwork.Attach(pid, *plan.Interface); err != nil {
		return err
	}
	r.attached = true
	return nil
}

// attachAdopted attaches the interface of a running holder this runner did
// not create (the agent restarted), in case the previous agent stopped
// between creating it and attaching: attaching is idempotent. A failure
// is the task's, which the next decision stops.
func (r *runner) attachAdopted(ctx context.Context, plan *taskPlan, obs observation) {
	h := obs.Holder
	if r.attached || plan.Interface == nil || h == nil || !h.Running {
		return
	}
	c, err := r.a.rt.Inspect(ctx, h.ID)
	if err == nil {
		err = r.attach(plan, c.Pid)
	}
	if err != nil && ctx.Err() == nil {
		r.fail(ctx, "attachInterface", failHolder, "", err)
	}
}
