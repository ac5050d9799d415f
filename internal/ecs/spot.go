package ecs

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/berth/berth/internal/admin"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/store"
)

// SpotInterruptPath is where the server takes `berth spot interrupt`
// requests: berth's own endpoint, outside the AWS API, that simulates
// Fargate reclaiming Spot capacity.
const SpotInterruptPath = "/_berth/spot/interrupt"

// Spot reclaim, as ECS reports it on the task (spec 4).
const (
	spotStopCode   = ecstypes.TaskStopCodeSpotInterruption
	spotStopReason = "Your Spot Task was interrupted."
)

// SpotConfig wires the Spot interruption endpoint.
type SpotConfig struct {
	Config
	// DefaultRegion is the region of tasks, services and clusters named
	// without an ARN; an ARN names its own, so every region's Spot tasks
	// can be interrupted.
	DefaultRegion string
	// AdminSecret is the admin's secret access key (the data dir's
	// credentials.json); a request must carry the admin token of
	// SpotInterruptPurpose. Empty refuses every request.
	AdminSecret string
}

// SpotInterruptPurpose is the admin token purpose of SpotInterruptPath.
const SpotInterruptPurpose = "berth spot interrupt v1"

// SpotInterruptRequest is the endpoint's JSON input: a task (id or ARN),
// or a service and how many of its FARGATE_SPOT tasks (0: all).
type SpotInterruptRequest struct {
	Cluster string `json:"cluster,omitempty"`
	Task    string `json:"task,omitempty"`
	Service string `json:"service,omitempty"`
	Count   int    `json:"count,omitempty"`
}

// SpotInterruptResponse lists the tasks interrupted, and those chosen
// that were already stopping.
type SpotInterruptResponse struct {
	Interrupted    []string `json:"interrupted"`
	NotInterrupted []string `json:"notInterrupted,omitempty"`
}

type spotHandler struct {
	store                  store.Store
	account, defaultRegion string
	now                    func() time.Time
	log                    *slog.Logger
}

// NewSpotHandler returns the handler of SpotInterruptPath. It does its own
// authentication: the gateway passes internal endpoints through untouched.
func NewSpotHandler(cfg SpotConfig) http.Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	h := &spotHandler{
		store:         cfg.Store,
		account:       cfg.AccountID,
		defaultRegion: cfg.DefaultRegion,
		now:           func() time.Time { return cfg.Now().UTC() },
		log:           cfg.Logger.With("service", "ecs", "endpoint", "spot"),
	}
	return admin.JSONHandler(admin.NewAuthorizer(cfg.AdminSecret, SpotInterruptPurpose), h.log, h.interrupt)
}

func (h *spotHandler) interrupt(ctx context.Context, req SpotInterruptRequest) (*SpotInterruptResponse, error) {
	switch {
	case (req.Task == "") == (req.Service == ""):
		return nil, admin.Fail(http.StatusBadRequest, "name either a task or a service")
	case req.Task != "" && req.Count != 0:
		return nil, admin.Fail(http.StatusBadRequest, "count applies to a service only")
	case req.Count < 0:
		return nil, admin.Fail(http.StatusBadRequest, "count must not be negative")
	}
	var keys []string
	var err error
	if req.Task != "" {
		keys, err = h.taskKey(ctx, req.Cluster, req.Task)
	} else {
		keys, err = h.serviceSpotTasks(ctx, req.Cluster, req.Service, req.Count)
	}
	if err != nil {
		return nil, err
	}
	out := &SpotInterruptResponse{Interrupted: []string{}}
	for _, key := range keys {
		now := h.now()
		stopped := false
		t, err := store.Update(ctx, h.store, key, func(t *ecsstate.Task, found bool) error {
			if !found {
				return admin.Fail(http.StatusNotFound, "task not found")
			}
			// A task whose containers are all gone is past reclaiming,
			// even before the hub has turned its desired status.
			stopped = !taskIsStopped(t) && t.RequestStop(spotStopCode, spotStopReason, now)
			if !stopped {
				return store.ErrUnchanged
			}
			return nil
		})
		var f *admin.Failure
		if errors.As(err, &f) && len(keys) > 1 {
			continue // a service task removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		arn := ecsstate.ARNs{Region: t.Region, Account: h.account}.Task(t.Cluster, t.ID)
		if stopped {
			h.log.InfoContext(ctx, "spot interruption", "task", arn)
			out.Interrupted = append(out.Interrupted, arn)
		} else {
			out.NotInterrupted = append(out.NotInterrupted, arn)
		}
	}
	return out, nil
}

// arnsOf are the ARNs of the region the first ARN among refs names (the
// default region when none is an ARN).
func (h *spotHandler) arnsOf(refs ...string) ecsstate.ARNs {
	region := h.defaultRegion
	for _, ref := range refs {
		if r := awsapi.ARNRegion(ref, ""); r != "" {
			region = r
			break
		}
	}
	return ecsstate.ARNs{Region: region, Account: h.account}
}

// taskKey resolves a task id or ARN and checks it runs on FARGATE_SPOT.
func (h *spotHandler) taskKey(ctx context.Context, cluster, ref string) ([]string, error) {
	arns := h.arnsOf(ref, cluster)
	refCluster, id, ok := arns.TaskID(ref)
	if !ok {
		return nil, admin.Fail(http.StatusBadRequest, "%q is not a task id or ARN", ref)
	}
	if cluster == "" {
		cluster = cmp.Or(refCluster, "default")
	}
	if name, ok := arns.ClusterName(cluster); ok {
		cluster = name
	} else {
		return nil, admin.Fail(http.StatusBadRequest, "%q is not a cluster name or ARN", cluster)
	}
	if refCluster != "" && refCluster != cluster {
		return nil, admin.Fail(http.StatusNotFound, "task %s is not in cluster %s", ref, cluster)
	}
	t, err := store.Get[ecsstate.Task](ctx, h.store, ecsstate.TaskKey(arns.Region, cluster, id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, admin.Fail(http.StatusNotFound, "task %s not found in cluster %s", ref, cluster)
	}
	if err != nil {
		return nil, err
	}
	if p := t.Value.Spec.CapacityProviderName; p != providerFargateSpot {
		on := "launch type " + cmp.Or(t.Value.Spec.LaunchType, "unknown")
		if p != "" {
			on = "capacity provider " + p
		}
		return nil, admin.Fail(http.StatusBadRequest, "task %s runs on %s, not FARGATE_SPOT; only Spot tasks are interrupted", arns.Task(cluster, id), on)
	}
	return []string{t.Value.Key()}, nil
}

// serviceSpotTasks returns the keys of up to count (0: all) FARGATE_SPOT
// tasks of a service that are meant to run, those already RUNNING first,
// then oldest first.
func (h *spotHandler) serviceSpotTasks(ctx context.Context, cluster, service string, count int) ([]string, error) {
	arns := h.arnsOf(service, cluster)
	name, ok := arns.ClusterName(cmp.Or(cluster, "default"))
	if !ok {
		return nil, admin.Fail(http.StatusBadRequest, "%q is not a cluster name or ARN", cluster)
	}
	svcCluster, svcName, ok := arns.ServiceName(service)
	if !ok || (svcCluster != "" && svcCluster != name) {
		return nil, admin.Fail(http.StatusNotFound, "service %s not found in cluster %s", service, name)
	}
	if _, err := store.Get[ecsstate.Service](ctx, h.store, ecsstate.ServiceKey(arns.Region, name, svcName)); errors.Is(err, store.ErrNotFound) {
		return nil, admin.Fail(http.StatusNotFound, "service %s not found in cluster %s", svcName, name)
	} else if err != nil {
		return nil, err
	}
	tasks, _, err := store.List[ecsstate.Task](ctx, h.store, ecsstate.ClusterTasksPrefix(arns.Region, name), store.ListOptions{})
	if err != nil {
		return nil, err
	}
	var chosen []ecsstate.Task
	for _, t := range tasks {
		v := t.Value
		if v.Spec.ServiceName == svcName && v.Spec.CapacityProviderName == providerFargateSpot &&
			v.DesiredStatus == ecsstate.StatusRunning && !taskIsStopped(&v) {
			chosen = append(chosen, v)
		}
	}
	slices.SortStableFunc(chosen, func(a, b ecsstate.Task) int {
		if ra, rb := taskIsRunning(&a), taskIsRunning(&b); ra != rb {
			if ra {
				return -1
			}
			return 1
		}
		return a.CreatedAt.Compare(b.CreatedAt)
	})
	if count > 0 && len(chosen) > count {
		chosen = chosen[:count]
	}
	keys := make([]string, 0, len(chosen))
	for i := range chosen {
		keys = append(keys, chosen[i].Key())
	}
	return keys, nil
}
