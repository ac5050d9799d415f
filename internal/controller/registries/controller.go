// Package registries is the controller that puts ECS services' tasks in
// Cloud Map: it registers a task as an instance of its service's registry
// once it runs and is healthy (its address, the SRV port, and the
// attributes ECS adds), keeps the instance's custom health status in step
// with the task's health, and deregisters it when the task is to stop,
// before its containers stop (ecsstate.Task.RequestStop makes the stop wait
// for it, at most ecsstate.RegistryDeregisterWait).
package registries

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/controller"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/servicediscovery/sdstate"
	"github.com/berth/berth/internal/store"
)

// Config wires the controller.
type Config struct {
	Store      store.Store
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Controller registers service tasks with Cloud Map.
type Controller struct {
	cfg Config
	log *slog.Logger
}

// New returns the controller.
func New(cfg Config) *Controller {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Controller{cfg: cfg, log: cfg.Logger.With("controller", "registries")}
}

// resync is how often every registered task is looked at again.
const resync = 30 * time.Second

// Run runs the controller until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	return controller.New(controller.Config{
		Reconciler:    c,
		Workers:       2,
		Watches:       []controller.Watch{controller.FollowRecords(c.cfg.Store, ecsstate.TaskPrefix, registeredRecord)},
		Keys:          controller.RecordKeys(c.cfg.Store, ecsstate.TaskPrefix, registeredRecord),
		Resync:        resync,
		Logger:        c.log,
		MetricsPrefix: "berth_ecs_registries",
		Registerer:    c.cfg.Registerer,
	}).Run(ctx)
}

// registeredRecord is a cheap test of a task record: only records that
// name service registries are decoded.
func registeredRecord(value []byte) bool {
	return strings.Contains(string(value), `"serviceRegistries"`)
}

// Step is what a task's registries need next.
type Step int

const (
	StepNone Step = iota
	StepRegister
	StepMirrorHealth
	StepDeregister
)

// Decide is the step a task's registries need: registration once it runs
// and is healthy (its essential containers' health checks, if it has
// any, pass), deregistration once it is to stop, else its health
// reported.
func Decide(t ecsstate.Task) Step {
	if len(t.Spec.ServiceRegistries) == 0 {
		return StepNone
	}
	stopping := t.DesiredStatus == ecsstate.StatusStopped || t.Observed.LastStatus == ecsstate.StatusStopped ||
		t.Observed.LastStatus == ecsstate.StatusDeactivating || t.Observed.LastStatus == ecsstate.StatusStopping
	registered := len(t.Registries) > 0 && t.Registries[0].Registered
	deregistered := len(t.Registries) > 0 && t.Registries[0].Deregistered
	switch {
	case len(t.Registries) > 0 && t.Registries[0].Missing:
		return StepNone
	case stopping && registered && !deregistered:
		return StepDeregister
	case stopping || deregistered:
		return StepNone
	case !registered && t.Observed.LastStatus == ecsstate.StatusRunning && (!hasHealthCheck(t) || t.Observed.HealthStatus == sdstate.Healthy):
		return StepRegister
	case registered && t.Registries[0].Health != healthOf(t):
		return StepMirrorHealth
	}
	return StepNone
}

// healthOf is the custom status a registered task's instance should have.
func healthOf(t ecsstate.Task) string {
	if hasHealthCheck(t) && t.Observed.HealthStatus == sdstate.Unhealthy {
		return sdstate.Unhealthy
	}
	return sdstate.Healthy
}

// hasHealthCheck reports whether an essential container of the task
// defines a health check.
func hasHealthCheck(t ecsstate.Task) bool {
	for _, cd := range t.Spec.Definition.ContainerDefinitions {
		if (cd.Essential == nil || *cd.Essential) && cd.HealthCheck != nil {
			return true
		}
	}
	return false
}

// Reconcile brings one task's registries in step with it.
func (c *Controller) Reconcile(ctx context.Context, key string) (controller.Result, error) {
	cur, err := store.Get[ecsstate.Task](ctx, c.cfg.Store, key)
	if errors.Is(err, store.ErrNotFound) {
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	t := cur.Value
	switch Decide(t) {
	case StepRegister:
		return controller.Result{}, c.register(ctx, t)
	case StepDeregister:
		return controller.Result{}, c.deregister(ctx, t)
	case StepMirrorHealth:
		return controller.Result{}, c.mirrorHealth(ctx, t)
	}
	return controller.Result{}, nil
}

// Attributes are the instance attributes ECS gives a task it registers.
func Attributes(t ecsstate.Task, reg ecstypes.ServiceRegistry) (map[string]string, error) {
	if t.Observed.Network == nil || t.Observed.Network.PrivateIPv4 == "" {
		return nil, errors.New("the task has no address yet")
	}
	attrs := map[string]string{
		sdstate.AttrIPv4:             t.Observed.Network.PrivateIPv4,
		sdstate.AttrInitHealth:       healthOf(t),
		"AVAILABILITY_ZONE":          t.Spec.AvailabilityZone,
		"REGION":                     t.Region,
		"ECS_CLUSTER_NAME":           t.Cluster,
		"ECS_SERVICE_NAME":           t.Spec.ServiceName,
		"ECS_TASK_DEFINITION_FAMILY": awsapi.Deref(t.Spec.Definition.Family),
	}
	if p := awsapi.Deref(reg.Port); p != 0 {
		attrs[sdstate.AttrPort] = strconv.Itoa(int(p))
	} else if reg.ContainerPort != nil {
		attrs[sdstate.AttrPort] = strconv.Itoa(int(*reg.ContainerPort))
	}
	return attrs, nil
}

// register registers a running, healthy task with its service's registry
// and records it.
func (c *Controller) register(ctx context.Context, t ecsstate.Task) error {
	reg := t.Spec.ServiceRegistries[0]
	arn := awsapi.Deref(reg.RegistryArn)
	svc, err := sdstate.ServiceByARN(ctx, c.cfg.Store, t.Region, arn)
	if errors.Is(err, sdstate.ErrNotFound) {
		// Recorded, so that the service does not wait for a registration
		// that cannot happen.
		c.log.Warn("a task's service registry is gone; not registering it", "task", t.ID, "registry", arn)
		return c.updateTask(ctx, t.Key(), func(cur *ecsstate.Task) bool {
			if len(cur.Registries) > 0 {
				return false
			}
			cur.Registries = []ecsstate.TaskRegistry{{RegistryARN: arn, InstanceID: t.ID, Missing: true}}
			return true
		})
	}
	if err != nil {
		return err
	}
	attrs, err := Attributes(t, reg)
	if err != nil {
		return controller.Terminal(err) // the task's next report comes back
	}
	inst := sdstate.Instance{ID: t.ID, ServiceID: svc.ID, Region: t.Region, Attributes: attrs, CreatedBy: accountOf(svc.ARN)}
	err = sdstate.Run(ctx, c.cfg.Store, sdstate.Operation{Region: t.Region, Type: sdstate.OpRegisterInstance,
		Targets: map[string]string{sdstate.TargetService: svc.ID, sdstate.TargetInstance: t.ID}}, sdstate.Work{ServiceID: svc.ID, Instance: &inst}, c.cfg.Now)
	var failure *sdstate.Failure
	if errors.As(err, &failure) {
		c.log.Warn("registering a task with Cloud Map failed", "task", t.ID, "registry", arn, "err", err)
		return nil
	}
	if err != nil {
		return err
	}
	c.log.Info("task registered with its service registry", "task", t.ID, "registry", arn)
	return c.updateTask(ctx, t.Key(), func(cur *ecsstate.Task) bool {
		if len(cur.Registries) > 0 {
			return false
		}
		cur.Registries = []ecsstate.TaskRegistry{{RegistryARN: arn, InstanceID: t.ID, Registered: true, Health: attrs[sdstate.AttrInitHealth]}}
		return true
	})
}

// deregister deregisters a stopping task, and lets its stop go on.
func (c *Controller) deregister(ctx context.Context, t ecsstate.Task) error {
	r := t.Registries[0]
	svc, err := sdstate.ServiceByARN(ctx, c.cfg.Store, t.Region, r.RegistryARN)
	switch {
	case errors.Is(err, sdstate.ErrNotFound):
	case err != nil:
		return err
	default:
		err = sdstate.Run(ctx, c.cfg.Store, sdstate.Operation{Region: t.Region, Type: sdstate.OpDeregisterInstance,
			Targets: map[string]string{sdstate.TargetService: svc.ID, sdstate.TargetInstance: r.InstanceID}}, sdstate.Work{ServiceID: svc.ID, InstanceID: r.InstanceID}, c.cfg.Now)
		var failure *sdstate.Failure
		if err != nil && !errors.As(err, &failure) {
			return err
		}
		if failure != nil {
			// Already gone (deregistered by hand): nothing is left to do.
			c.log.Info("a stopping task's Cloud Map instance was already gone", "task", t.ID, "err", failure)
		}
	}
	c.log.Info("task deregistered from its service registry", "task", t.ID, "registry", r.RegistryARN)
	return c.updateTask(ctx, t.Key(), func(cur *ecsstate.Task) bool {
		if len(cur.Registries) == 0 || cur.Registries[0].Deregistered {
			return false
		}
		cur.RegistriesDeregistered(c.cfg.Now().UTC())
		return true
	})
}

// mirrorHealth reports a registered task's health as its instance's
// custom status (Cloud Map applies a change a while later).
func (c *Controller) mirrorHealth(ctx context.Context, t ecsstate.Task) error {
	r := t.Registries[0]
	health := healthOf(t)
	svc, err := sdstate.ServiceByARN(ctx, c.cfg.Store, t.Region, r.RegistryARN)
	switch {
	case errors.Is(err, sdstate.ErrNotFound):
	case err != nil:
		return err
	case svc.Custom != nil:
		err := sdstate.AskHealth(ctx, c.cfg.Store, t.Region, svc.ID, r.InstanceID, health, c.cfg.Now().UTC())
		if err != nil && !errors.Is(err, sdstate.ErrNotFound) {
			return err
		}
	}
	return c.updateTask(ctx, t.Key(), func(cur *ecsstate.Task) bool {
		if len(cur.Registries) == 0 || cur.Registries[0].Health == health {
			return false
		}
		cur.Registries[0].Health = health
		return true
	})
}

// updateTask changes the task's record with change, which reports whether
// it changed anything, in a compare-and-swap write.
func (c *Controller) updateTask(ctx context.Context, key string, change func(*ecsstate.Task) bool) error {
	_, err := store.Update(ctx, c.cfg.Store, key, func(t *ecsstate.Task, found bool) error {
		if !found || !change(t) {
			return store.ErrUnchanged
		}
		return nil
	})
	return err
}

func accountOf(arn string) string {
	_, account, _, _, _ := sdstate.ParseARN(arn)
	return account
}
