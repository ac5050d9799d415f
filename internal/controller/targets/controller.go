// Package targets is the controller that puts ECS services' tasks behind
// their load balancers: it registers a task in its service's target
// groups once it runs, deregisters it when it is to stop (its stop waits
// for the group's deregistration delay: ecsstate.Task.RequestStop), and
// copies what the groups say of its targets into the task, where the
// service scheduler counts a task healthy only once its targets are.
package targets

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/controller"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/elbv2/elbv2state"
	"github.com/berth/berth/internal/scheduler"
	"github.com/berth/berth/internal/store"
)

// Config wires the controller.
type Config struct {
	Store      store.Store
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Controller registers service tasks with their target groups.
type Controller struct {
	cfg Config
	log *slog.Logger

	// mu guards balanced: the keys of the tasks with load balancers, which
	// a change of their targets' health queues.
	mu       sync.Mutex
	balanced map[string]bool
}

// New returns the controller.
func New(cfg Config) *Controller {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Controller{cfg: cfg, log: cfg.Logger.With("controller", "targets"), balanced: map[string]bool{}}
}

// resync is how often every load-balanced task is looked at again.
const resync = 30 * time.Second

// Run runs the controller until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	return controller.New(controller.Config{
		Reconciler:    c,
		Workers:       2,
		Watches:       []controller.Watch{c.followTasks, c.followHealth},
		Keys:          controller.RecordKeys(c.cfg.Store, ecsstate.TaskPrefix, balancedRecord),
		Resync:        resync,
		Logger:        c.log,
		MetricsPrefix: "berth_ecs_targets",
		Registerer:    c.cfg.Registerer,
	}).Run(ctx)
}

// balancedRecord is a cheap test of a task record: only records that
// name load balancers are decoded.
func balancedRecord(value []byte) bool {
	return strings.Contains(string(value), `"loadBalancers"`)
}

// followTasks queues every load-balanced task, then each one that changes.
func (c *Controller) followTasks(ctx context.Context, q controller.Queue) error {
	rev, err := c.cfg.Store.Range(ctx, ecsstate.TaskPrefix, func(kv store.KV) error {
		if balancedRecord(kv.Value) {
			q.Add(kv.Key)
		}
		return nil
	})
	if err != nil {
		return err
	}
	events, err := c.cfg.Store.Watch(ctx, ecsstate.TaskPrefix, rev)
	if err != nil {
		return err
	}
	for ev := range events {
		if ev.Type == store.EventDelete {
			c.mu.Lock()
			delete(c.balanced, ev.KV.Key)
			c.mu.Unlock()
			continue
		}
		if balancedRecord(ev.KV.Value) {
			q.Add(ev.KV.Key)
		}
	}
	return errors.New("the watch of the tasks ended")
}

// followHealth queues the load-balanced tasks when a target's health
// changes: a few tasks, whose reconcile reads their own targets.
func (c *Controller) followHealth(ctx context.Context, q controller.Queue) error {
	events, err := c.cfg.Store.Watch(ctx, elbv2state.HealthPrefix, 0)
	if err != nil {
		return err
	}
	for range events {
		c.mu.Lock()
		keys := make([]string, 0, len(c.balanced))
		for k := range c.balanced {
			keys = append(keys, k)
		}
		c.mu.Unlock()
		q.Add(keys...)
	}
	return errors.New("the watch of the targets' health ended")
}

// Reconcile brings one task's targets in step with it.
func (c *Controller) Reconcile(ctx context.Context, key string) (controller.Result, error) {
	cur, err := store.Get[ecsstate.Task](ctx, c.cfg.Store, key)
	if errors.Is(err, store.ErrNotFound) {
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	t := cur.Value
	if len(t.Spec.LoadBalancers) == 0 {
		return controller.Result{}, nil
	}
	// Only a task whose targets may still change health needs waking on
	// health events.
	c.mu.Lock()
	if t.Observed.LastStatus == ecsstate.StatusStopped {
		delete(c.balanced, key)
	} else {
		c.balanced[key] = true
	}
	c.mu.Unlock()

	now := c.cfg.Now().UTC()
	stopping := t.DesiredStatus == ecsstate.StatusStopped || t.Observed.LastStatus == ecsstate.StatusStopped ||
		t.Observed.LastStatus == ecsstate.StatusDeactivating || t.Observed.LastStatus == ecsstate.StatusStopping
	switch {
	case stopping && registered(t) && !deregistered(t):
		return controller.Result{}, c.deregister(ctx, t, now)
	case !stopping && t.Observed.LastStatus == ecsstate.StatusRunning && !registered(t):
		return controller.Result{}, c.register(ctx, t, now)
	case !stopping && registered(t):
		return controller.Result{}, c.mirrorHealth(ctx, t, now)
	}
	return controller.Result{}, nil
}

func registered(t ecsstate.Task) bool {
	return len(t.Targets) > 0 && t.Targets[0].Registered
}

func deregistered(t ecsstate.Task) bool {
	return len(t.Targets) > 0 && t.Targets[0].Deregistered
}

// targetsOf are the targets a running task is registered as: its address
// (awsvpc) or its node's instance id and the host port (bridge, host), for
// each load balancer of its service.
func targetsOf(t ecsstate.Task) ([]ecsstate.TaskTarget, error) {
	var out []ecsstate.TaskTarget
	for _, lb := range t.Spec.LoadBalancers {
		name, port := awsapi.Deref(lb.ContainerName), awsapi.Deref(lb.ContainerPort)
		tt := ecsstate.TaskTarget{TargetGroupARN: awsapi.Deref(lb.TargetGroupArn), ContainerName: name, Port: port}
		if t.Spec.Network != nil {
			if t.Observed.Network == nil || t.Observed.Network.PrivateIPv4 == "" {
				return nil, errors.New("the task has no address yet")
			}
			tt.ID = t.Observed.Network.PrivateIPv4
		} else {
			tt.ID = ecsstate.EC2InstanceID(t.NodeID)
			tt.Port = hostPort(t, name, port)
			if tt.Port == 0 {
				return nil, errors.New("container " + name + " binds no host port for " + strconv.Itoa(int(port)))
			}
		}
		out = append(out, tt)
	}
	return out, nil
}

// hostPort is the host port a bridge or host task's container port is
// bound to.
func hostPort(t ecsstate.Task, container string, port int32) int32 {
	for _, c := range t.Observed.Containers {
		if c.Name != container {
			continue
		}
		for _, b := range c.NetworkBindings {
			if awsapi.Deref(b.ContainerPort) == port {
				return awsapi.Deref(b.HostPort)
			}
		}
	}
	return 0
}

// register registers a running task in its target groups, records its
// targets (with each group's deregistration delay, which its stop will
// wait for) and adds the service's events.
func (c *Controller) register(ctx context.Context, t ecsstate.Task, now time.Time) error {
	targets, err := targetsOf(t)
	if err != nil {
		return controller.Terminal(err) // the next report of the task comes back
	}
	for i, tt := range targets {
		tg, err := elbv2state.TargetGroupByARN(ctx, c.cfg.Store, tt.TargetGroupARN)
		if err != nil {
			c.log.Warn("a task's target group is gone; not registering it", "task", t.ID, "targetGroup", tt.TargetGroupARN, "err", err)
			return nil
		}
		err = elbv2state.RegisterTargets(ctx, c.cfg.Store, t.Region, tt.TargetGroupARN, []elbv2state.Target{{ID: tt.ID, Port: tt.Port}}, now)
		if err != nil {
			return err
		}
		targets[i].Registered = true
		targets[i].DrainDelay = tg.DeregistrationDelay()
		targets[i].Health = elbv2state.HealthInitial
	}
	c.log.Info("task registered with its target groups", "task", t.ID, "targets", len(targets))
	changed, err := c.updateTask(ctx, t.Key(), func(cur *ecsstate.Task) bool {
		if registered(*cur) {
			return false
		}
		cur.Targets = targets
		cur.TargetHealth = elbv2state.HealthInitial
		return true
	})
	if err != nil || !changed {
		return err
	}
	for _, tt := range targets {
		if err := c.event(ctx, t, scheduler.EventRegisteredTargets(t.Spec.ServiceName, 1, tt.TargetGroupARN), now); err != nil {
			return err
		}
	}
	return nil
}

// deregister deregisters a stopping task from its target groups: they
// drain it for their deregistration delay.
func (c *Controller) deregister(ctx context.Context, t ecsstate.Task, now time.Time) error {
	delays := map[string]time.Duration{}
	for _, tt := range t.Targets {
		err := elbv2state.DeregisterTargets(ctx, c.cfg.Store, t.Region, tt.TargetGroupARN, []elbv2state.Target{{ID: tt.ID, Port: tt.Port}}, now)
		if err != nil && !errors.Is(err, elbv2state.ErrTargetGroupNotFound) {
			return err
		}
		if tg, err := elbv2state.TargetGroupByARN(ctx, c.cfg.Store, tt.TargetGroupARN); err == nil {
			delays[tt.TargetGroupARN] = tg.DeregistrationDelay()
		}
	}
	var drainUntil time.Time
	changed, err := c.updateTask(ctx, t.Key(), func(cur *ecsstate.Task) bool {
		if deregistered(*cur) {
			return false
		}
		cur.TargetsDeregistered(delays, now)
		drainUntil = cur.DrainUntil
		return true
	})
	if changed {
		c.log.Info("task deregistered from its target groups", "task", t.ID, "drainUntil", drainUntil)
	}
	if err != nil || !changed {
		return err
	}
	for _, tt := range t.Targets {
		if err := c.event(ctx, t, scheduler.EventDeregisteredTargets(t.Spec.ServiceName, 1, tt.TargetGroupARN), now); err != nil {
			return err
		}
	}
	return nil
}

// mirrorHealth copies what the groups say of the task's targets into it.
func (c *Controller) mirrorHealth(ctx context.Context, t ecsstate.Task, now time.Time) error {
	targets := slices.Clone(t.Targets)
	for i, tt := range targets {
		tg, err := elbv2state.TargetGroupByARN(ctx, c.cfg.Store, tt.TargetGroupARN)
		if err != nil {
			continue
		}
		_, health, err := elbv2state.Targets(ctx, c.cfg.Store, t.Region, tg.ID, now)
		if err != nil {
			return err
		}
		h, ok := health[elbv2state.Target{ID: tt.ID, Port: tt.Port}]
		if !ok {
			continue
		}
		targets[i].Health, targets[i].Reason, targets[i].Description = h.State, h.Reason, h.Description
	}
	fold := foldHealth(targets)
	_, err := c.updateTask(ctx, t.Key(), func(cur *ecsstate.Task) bool {
		if !registered(*cur) || deregistered(*cur) || cur.TargetHealth == fold && slices.Equal(cur.Targets, targets) {
			return false
		}
		cur.Targets, cur.TargetHealth = targets, fold
		return true
	})
	return err
}

// foldHealth is a task's health across its targets: healthy when every
// one is, unhealthy when one is, else the first other state.
func foldHealth(targets []ecsstate.TaskTarget) string {
	all := elbv2state.HealthHealthy
	for _, tt := range targets {
		switch tt.Health {
		case elbv2state.HealthUnhealthy:
			return elbv2state.HealthUnhealthy
		case elbv2state.HealthHealthy:
		default:
			if all == elbv2state.HealthHealthy {
				all = cmp.Or(tt.Health, elbv2state.HealthInitial)
			}
		}
	}
	return all
}

// updateTask changes the task's record with change, which reports whether
// it changed anything, in a compare-and-swap write.
func (c *Controller) updateTask(ctx context.Context, key string, change func(*ecsstate.Task) bool) (bool, error) {
	changed := false
	_, err := store.Update(ctx, c.cfg.Store, key, func(t *ecsstate.Task, found bool) error {
		if !found {
			return store.ErrUnchanged
		}
		if changed = change(t); !changed {
			return store.ErrUnchanged
		}
		return nil
	})
	return changed, err
}

// event adds an event to the task's service.
func (c *Controller) event(ctx context.Context, t ecsstate.Task, message string, now time.Time) error {
	if t.Spec.ServiceName == "" {
		return nil
	}
	key := ecsstate.ServiceKey(t.Region, t.Cluster, t.Spec.ServiceName)
	_, err := store.Update(ctx, c.cfg.Store, key, func(s *ecsstate.Service, found bool) error {
		if !found {
			return store.ErrUnchanged
		}
		s.AddEvent(uuid.NewString(), message, now)
		return nil
	})
	return err
}
