package ecs

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

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
	// AdminSecret is the admin's secret access key (the data dir's
	// credentials.json); a request must carry SpotToken(AdminSecret) as
	// "Authorization: Bearer <token>". Empty refuses every request.
	AdminSecret string
}

// spotTokenPurpose separates the Spot token from any other value derived
// from the admin secret.
const spotTokenPurpose = "berth spot interrupt v1"

// SpotToken is the bearer token of SpotInterruptPath: HMAC-SHA256 of a
// fixed purpose string keyed with the admin's secret access key, in hex.
// Whoever can read the data dir's admin key can compute it; the endpoint
// is plain HTTP, so the token, not the secret itself, crosses the wire:
// one seen in transit opens this endpoint only, not the AWS APIs.
func SpotToken(adminSecret string) string {
	mac := hmac.New(sha256.New, []byte(adminSecret))
	mac.Write([]byte(spotTokenPurpose))
	return hex.EncodeToString(mac.Sum(nil))
}

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

// SpotError is the endpoint's JSON error body.
type SpotError struct {
	Error string `json:"error"`
}

type spotHandler struct {
	store store.Store
	arns  ecsstate.ARNs
	// token is the expected bearer token, nil when no secret is set.
	token []byte
	now   func() time.Time
	log   *slog.Logger
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
		store: cfg.Store,
		arns:  ecsstate.ARNs{Region: cfg.Region, Account: cfg.AccountID},
		now:   func() time.Time { return cfg.Now().UTC() },
		log:   cfg.Logger.With("service", "ecs", "endpoint", "spot"),
	}
	if cfg.AdminSecret != "" {
		h.token = []byte(SpotToken(cfg.AdminSecret))
	}
	return h
}

// spotFailure is an error with the HTTP status to answer it with.
type spotFailure struct {
	status int
	msg    string
}

func (e *spotFailure) Error() string { return e.msg }

func spotFail(status int, format string, args ...any) error {
	return &spotFailure{status: status, msg: fmt.Sprintf(format, args...)}
}

func (h *spotHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="berth"`)
		writeSpotJSON(w, http.StatusUnauthorized, SpotError{Error: "missing or wrong Spot token (derived from the admin secret)"})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeSpotJSON(w, http.StatusMethodNotAllowed, SpotError{Error: "use POST"})
		return
	}
	var req SpotInterruptRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeSpotJSON(w, http.StatusBadRequest, SpotError{Error: "bad request body: " + err.Error()})
		return
	}
	out, err := h.interrupt(r.Context(), req)
	if err != nil {
		var f *spotFailure
		if errors.As(err, &f) {
			writeSpotJSON(w, f.status, SpotError{Error: f.msg})
			return
		}
		h.log.ErrorContext(r.Context(), "spot interrupt failed", "error", err)
		writeSpotJSON(w, http.StatusInternalServerError, SpotError{Error: "internal error"})
		return
	}
	writeSpotJSON(w, http.StatusOK, out)
}

// authorized compares the bearer token with the expected one in constant
// time.
func (h *spotHandler) authorized(r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && h.token != nil && subtle.ConstantTimeCompare([]byte(token), h.token) == 1
}

func writeSpotJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (h *spotHandler) interrupt(ctx context.Context, req SpotInterruptRequest) (*SpotInterruptResponse, error) {
	switch {
	case (req.Task == "") == (req.Service == ""):
		return nil, spotFail(http.StatusBadRequest, "name either a task or a service")
	case req.Task != "" && req.Count != 0:
		return nil, spotFail(http.StatusBadRequest, "count applies to a service only")
	case req.Count < 0:
		return nil, spotFail(http.StatusBadRequest, "count must not be negative")
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
		t, err := ecsstate.Update(ctx, h.store, key, func(t *ecsstate.Task, found bool) error {
			if !found {
				return spotFail(http.StatusNotFound, "task not found")
			}
			// A task whose containers are all gone is past reclaiming,
			// even before the hub has turned its desired status.
			stopped = !taskIsStopped(t) && t.RequestStop(spotStopCode, spotStopReason, now)
			if !stopped {
				return ecsstate.ErrUnchanged
			}
			return nil
		})
		var f *spotFailure
		if errors.As(err, &f) && len(keys) > 1 {
			continue // a service task removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		arn := h.arns.Task(t.Cluster, t.ID)
		if stopped {
			h.log.InfoContext(ctx, "spot interruption", "task", arn)
			out.Interrupted = append(out.Interrupted, arn)
		} else {
			out.NotInterrupted = append(out.NotInterrupted, arn)
		}
	}
	return out, nil
}

// taskKey resolves a task id or ARN and checks it runs on FARGATE_SPOT.
func (h *spotHandler) taskKey(ctx context.Context, cluster, ref string) ([]string, error) {
	refCluster, id, ok := h.arns.TaskID(ref)
	if !ok {
		return nil, spotFail(http.StatusBadRequest, "%q is not a task id or ARN", ref)
	}
	if cluster == "" {
		cluster = cmp.Or(refCluster, "default")
	}
	if name, ok := h.arns.ClusterName(cluster); ok {
		cluster = name
	} else {
		return nil, spotFail(http.StatusBadRequest, "%q is not a cluster name or ARN", cluster)
	}
	if refCluster != "" && refCluster != cluster {
		return nil, spotFail(http.StatusNotFound, "task %s is not in cluster %s", ref, cluster)
	}
	t, err := ecsstate.Get[ecsstate.Task](ctx, h.store, ecsstate.TaskKey(cluster, id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, spotFail(http.StatusNotFound, "task %s not found in cluster %s", ref, cluster)
	}
	if err != nil {
		return nil, err
	}
	if p := t.Value.Spec.CapacityProviderName; p != providerFargateSpot {
		on := "launch type " + cmp.Or(t.Value.Spec.LaunchType, "unknown")
		if p != "" {
			on = "capacity provider " + p
		}
		return nil, spotFail(http.StatusBadRequest, "task %s runs on %s, not FARGATE_SPOT; only Spot tasks are interrupted", h.arns.Task(cluster, id), on)
	}
	return []string{t.Value.Key()}, nil
}

// serviceSpotTasks returns the keys of up to count (0: all) FARGATE_SPOT
// tasks of a service that are meant to run, those already RUNNING first,
// then oldest first.
func (h *spotHandler) serviceSpotTasks(ctx context.Context, cluster, service string, count int) ([]string, error) {
	name, ok := h.arns.ClusterName(cmp.Or(cluster, "default"))
	if !ok {
		return nil, spotFail(http.StatusBadRequest, "%q is not a cluster name or ARN", cluster)
	}
	svcCluster, svcName, ok := h.arns.ServiceName(service)
	if !ok || (svcCluster != "" && svcCluster != name) {
		return nil, spotFail(http.StatusNotFound, "service %s not found in cluster %s", service, name)
	}
	if _, err := ecsstate.Get[ecsstate.Service](ctx, h.store, ecsstate.ServiceKey(name, svcName)); errors.Is(err, store.ErrNotFound) {
		return nil, spotFail(http.StatusNotFound, "service %s not found in cluster %s", svcName, name)
	} else if err != nil {
		return nil, err
	}
	tasks, _, err := ecsstate.List[ecsstate.Task](ctx, h.store, ecsstate.ClusterTasksPrefix(name), store.ListOptions{})
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
