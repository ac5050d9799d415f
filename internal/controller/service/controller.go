// Package service is the ECS service controller: it keeps each service's
// desired count of tasks running, rolls deployments out within the
// service's deployment configuration, trips the circuit breaker and rolls
// back, and retires deleted services. It is level-triggered: every
// decision is taken from the store's current state (services, and their
// tasks through a watch-fed cache), so a restart at any point carries on
// where the store says things are.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/berth/berth/internal/controller"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/scheduler"
	"github.com/berth/berth/internal/store"
)

// Launcher places and writes new tasks of a service's deployment.
type Launcher interface {
	LaunchServiceTasks(ctx context.Context, svc *ecsstate.Service, dep *ecsstate.Deployment, count int, providerCounts map[string]int) ([]ecsstate.Task, []scheduler.Failure, error)
}

// Config wires the controller.
type Config struct {
	Store    store.Store
	Launcher Launcher
	// Now is the clock (nil: time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	// Registerer takes the controller's metrics (nil: none registered).
	Registerer prometheus.Registerer
	// Workers reconcile services in parallel (0: 2).
	Workers int
	// Resync is how often every service is reconciled even without a
	// change (0: 30 s).
	Resync time.Duration
}

const (
	// placementRetry is how soon tasks that could not be placed are tried
	// again, unless a change (a node joining) comes first.
	placementRetry = 5 * time.Second
	// inactiveRetention is how long an INACTIVE service stays describable
	// (UNVERIFIED: ECS says only "for a period of time").
	inactiveRetention = time.Hour
)

// Controller is the service controller.
type Controller struct {
	cfg   Config
	cache *taskCache
	log   *slog.Logger

	launched prometheus.Counter
	stopped  prometheus.Counter
}

// New returns a controller; Run runs it.
func New(cfg Config) *Controller {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	if cfg.Resync <= 0 {
		cfg.Resync = 30 * time.Second
	}
	reg := promauto.With(cfg.Registerer)
	return &Controller{
		cfg:   cfg,
		cache: newTaskCache(),
		log:   cfg.Logger.With("controller", "ecs-service"),
		launched: reg.NewCounter(prometheus.CounterOpts{
			Name: "berth_ecs_service_tasks_started_total",
			Help: "Tasks the service scheduler started.",
		}),
		stopped: reg.NewCounter(prometheus.CounterOpts{
			Name: "berth_ecs_service_tasks_stopped_total",
			Help: "Tasks the service scheduler stopped.",
		}),
	}
}

// Run runs the controller until ctx ends. Its loop's metrics are
// berth_ecs_service_reconciles_total, _reconcile_seconds, _queue_depth
// and _retries_total.
func (c *Controller) Run(ctx context.Context) error {
	return controller.New(controller.Config{
		Reconciler:    c,
		Workers:       c.cfg.Workers,
		Watches:       []controller.Watch{c.follow},
		Keys:          c.serviceKeys,
		Resync:        c.cfg.Resync,
		Logger:        c.log,
		MetricsPrefix: "berth_ecs_service",
		Registerer:    c.cfg.Registerer,
	}).Run(ctx)
}

// follow lists tasks and services, queues every service, and feeds the
// cache and the queue from a watch until it ends.
func (c *Controller) follow(ctx context.Context, q controller.Queue) error {
	kvs, rev, err := c.cfg.Store.List(ctx, ecsstate.TaskPrefix, store.ListOptions{})
	if err != nil {
		return err
	}
	tasks := make([]store.Versioned[ecsstate.Task], 0, len(kvs))
	for _, kv := range kvs {
		t, err := decodeTask(kv.Value)
		if err != nil {
			c.log.Error("undecodable task record skipped", "key", kv.Key, "err", err)
			continue
		}
		tasks = append(tasks, store.Versioned[ecsstate.Task]{Value: t, ModRevision: kv.ModRevision})
	}
	c.cache.reset(tasks)
	services, err := c.serviceKeys(ctx)
	if err != nil {
		return err
	}
	q.Add(services...)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := c.cfg.Store.Watch(ctx, "ecs/", rev)
	if err != nil {
		return err
	}
	for ev := range events {
		c.observe(ctx, q, ev)
	}
	return ctx.Err()
}

// observe applies one watched change: a task change updates the cache
// and queues its service; a service change queues it; a node change may
// make room for tasks that could not be placed, so it queues every service.
func (c *Controller) observe(ctx context.Context, q controller.Queue, ev store.Event) {
	key := ev.KV.Key
	switch {
	case strings.HasPrefix(key, ecsstate.TaskPrefix):
		if ev.Type == store.EventDelete {
			if svc := c.cache.remove(key); svc != "" {
				q.Add(svc)
			}
			return
		}
		t, err := decodeTask(ev.KV.Value)
		if err != nil {
			c.log.Error("undecodable task record skipped", "key", key, "err", err)
			return
		}
		if svc := c.cache.put(t, ev.KV.ModRevision); svc != "" {
			q.Add(svc)
		}
	case strings.HasPrefix(key, ecsstate.ServicePrefix):
		q.Add(key)
	case strings.HasPrefix(key, ecsstate.NodePrefix):
		services, err := c.serviceKeys(ctx)
		if err != nil {
			c.log.Warn("service controller: listing services failed", "err", err)
			return
		}
		q.Add(services...)
	}
}

// serviceKeys lists the keys of every service.
func (c *Controller) serviceKeys(ctx context.Context) ([]string, error) {
	kvs, _, err := c.cfg.Store.List(ctx, ecsstate.ServicePrefix, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(kvs))
	for i, kv := range kvs {
		keys[i] = kv.Key
	}
	return keys, nil
}

// Reconcile takes one step for the service at key. Its result asks to
// look again without a change when the step waits for a deadline, or
// tasks could not be placed.
func (c *Controller) Reconcile(ctx context.Context, key string) (controller.Result, error) {
	cur, err := store.Get[ecsstate.Service](ctx, c.cfg.Store, key)
	if errors.Is(err, store.ErrNotFound) {
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	if cur.Value.Status == ecsstate.ServiceInactive {
		return c.purge(ctx, key, cur)
	}
	cached := c.cache.tasks(key)
	tasks := make([]ecsstate.Task, len(cached))
	revs := make(map[string]cachedTask, len(cached))
	for i, ct := range cached {
		tasks[i] = ct.task
		revs[ct.task.Key()] = ct
	}
	now := c.cfg.Now().UTC()
	st := plan(planInput{svc: cur.Value, tasks: tasks, now: now, eventID: uuid.NewString})
	var res controller.Result
	if !st.wakeAt.IsZero() {
		res.RequeueAfter = st.wakeAt.Sub(now) + 10*time.Millisecond
	}
	placementFailed := func() {
		if res.RequeueAfter == 0 || res.RequeueAfter > placementRetry {
			res.RequeueAfter = placementRetry
		}
	}
	// Tasks of a deployment already written start first, and their events
	// go out with the rest of the step in one write; a deployment this
	// step creates (a rollback) is written before its tasks start.
	if st.launch > 0 && deploymentStored(cur.Value, st.svc.Primary()) {
		ids, failures, err := c.launch(ctx, key, st)
		if err != nil {
			return controller.Result{}, err
		}
		if len(failures) > 0 {
			placementFailed()
		}
		launchEvents(&st.svc, ids, failures, now)
		st.changed = st.changed || len(ids) > 0 || len(failures) > 0
		err = c.commit(ctx, key, cur.ModRevision, st, revs, now)
		if errors.Is(err, store.ErrConflict) {
			// The tasks run; their events must not be lost with the step.
			if err := c.recordLaunch(ctx, key, ids, failures); err != nil {
				return controller.Result{}, err
			}
		}
		return res, err
	}
	if err := c.commit(ctx, key, cur.ModRevision, st, revs, now); err != nil {
		return controller.Result{}, err
	}
	if st.launch > 0 {
		ids, failures, err := c.launch(ctx, key, st)
		if err != nil {
			return controller.Result{}, err
		}
		if len(failures) > 0 {
			placementFailed()
		}
		if err := c.recordLaunch(ctx, key, ids, failures); err != nil {
			return controller.Result{}, err
		}
	}
	return res, nil
}

// deploymentStored reports whether d is one of svc's deployments as
// stored.
func deploymentStored(svc ecsstate.Service, d *ecsstate.Deployment) bool {
	return d != nil && svc.Primary() != nil && svc.Primary().ID == d.ID
}

// purge deletes an INACTIVE service's record once it has been inactive
// for inactiveRetention, as ECS forgets deleted services after a while; it
// asks to come back then otherwise.
func (c *Controller) purge(ctx context.Context, key string, cur store.Versioned[ecsstate.Service]) (controller.Result, error) {
	since := cur.Value.DeletedAt
	if since.IsZero() {
		since = cur.Value.UpdatedAt
	}
	if wait := since.Add(inactiveRetention).Sub(c.cfg.Now()); wait > 0 {
		return controller.Result{RequeueAfter: wait}, nil
	}
	_, err := c.cfg.Store.Txn(ctx, store.Txn{
		If:   []store.Compare{{Key: key, ModRevision: cur.ModRevision}},
		Then: []store.Op{store.Delete(key)},
	})
	return controller.Result{}, err
}

// commit writes the step's service record and task changes in one
// transaction guarded by the revisions they were read at.
func (c *Controller) commit(ctx context.Context, key string, svcRev int64, st step, revs map[string]cachedTask, now time.Time) error {
	// The cache holds only what decisions read: a write starts from the
	// whole record, as it was when the decision was taken, and the cached
	// copy takes the same change.
	changes := map[string]*ecsstate.Task{}
	cached := map[string]*ecsstate.Task{}
	mutate := func(k string, change func(*ecsstate.Task)) error {
		if _, ok := changes[k]; !ok {
			cur, err := store.Get[ecsstate.Task](ctx, c.cfg.Store, k)
			if errors.Is(err, store.ErrNotFound) || err == nil && cur.ModRevision != revs[k].modRevision {
				return store.ErrConflict
			}
			if err != nil {
				return err
			}
			lean := revs[k].task
			changes[k], cached[k] = &cur.Value, &lean
		}
		change(changes[k])
		change(cached[k])
		return nil
	}
	for _, k := range st.account {
		if err := mutate(k, func(t *ecsstate.Task) { t.ServiceAccounted = true }); err != nil {
			return err
		}
	}
	for _, r := range st.stop {
		if err := mutate(r.key, func(t *ecsstate.Task) { t.RequestStop(ecstypes.TaskStopCodeServiceSchedulerInitiated, r.reason, now) }); err != nil {
			return err
		}
	}
	if !st.changed && len(changes) == 0 {
		return nil
	}
	txn := store.Txn{}
	if st.changed {
		op, err := store.PutJSON(key, st.svc)
		if err != nil {
			return err
		}
		txn.If = append(txn.If, store.Compare{Key: key, ModRevision: svcRev})
		txn.Then = append(txn.Then, op)
	}
	for k, t := range changes {
		op, err := store.PutJSON(k, t)
		if err != nil {
			return err
		}
		txn.If = append(txn.If, store.Compare{Key: k, ModRevision: revs[k].modRevision})
		txn.Then = append(txn.Then, op)
	}
	rev, err := c.cfg.Store.Txn(ctx, txn)
	if err != nil {
		return err
	}
	for _, t := range cached {
		c.cache.put(*t, rev)
	}
	c.stopped.Add(float64(len(st.stop)))
	return nil
}

// launch starts the step's tasks: the ids of those started, and the
// placement failures of the rest.
func (c *Controller) launch(ctx context.Context, key string, st step) ([]string, []scheduler.Failure, error) {
	svc := st.svc
	primary := svc.Primary()
	if primary == nil {
		return nil, nil, nil
	}
	began := time.Now()
	tasks, failures, err := c.cfg.Launcher.LaunchServiceTasks(ctx, &svc, primary, st.launch, st.providerCounts)
	c.log.Debug("launched service tasks", "service", key, "wanted", st.launch, "started", len(tasks), "took", time.Since(began))
	if err != nil {
		return nil, nil, fmt.Errorf("launching tasks: %w", err)
	}
	ids := make([]string, len(tasks))
	for i, t := range tasks {
		c.cache.put(t, 0)
		ids[i] = t.ID
	}
	c.launched.Add(float64(len(tasks)))
	return ids, failures, nil
}

// recordLaunch adds the events of a launch to the service on its own.
func (c *Controller) recordLaunch(ctx context.Context, key string, ids []string, failures []scheduler.Failure) error {
	if len(ids) == 0 && len(failures) == 0 {
		return nil
	}
	now := c.cfg.Now().UTC()
	_, err := store.Update(ctx, c.cfg.Store, key, func(s *ecsstate.Service, found bool) error {
		if !found {
			return store.ErrUnchanged
		}
		launchEvents(s, ids, failures, now)
		return nil
	})
	return err
}

// launchEvents adds the events of a launch: the tasks started, and why
// the others could not be placed.
func launchEvents(s *ecsstate.Service, ids []string, failures []scheduler.Failure, now time.Time) {
	p := &planner{in: planInput{now: now, eventID: uuid.NewString}, s: s, st: &step{}}
	p.taskEvents(ids, scheduler.EventStartedTasks)
	if f, ok := scheduler.ClosestFailure(failures); ok {
		p.event(scheduler.EventUnableToPlaceClosest(s.Name, f), true)
	}
}
