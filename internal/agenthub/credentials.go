package agenthub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/store"
)

// RoleSessions issues temporary credentials of a role to a task, as ECS
// assumes task and execution roles for the service principal
// ecs-tasks.amazonaws.com. The IAM directory implements it.
type RoleSessions interface {
	// TaskSession returns credentials of roleARN for the task taskARN
	// (session name: the task id; aws:SourceArn: the task). A role that
	// does not exist or does not trust ecs-tasks.amazonaws.com is
	// ErrRoleNotAssumable.
	TaskSession(ctx context.Context, roleARN, taskARN, taskID string) (agentproto.RoleCredentials, error)
}

// ErrRoleNotAssumable is a role ECS may not assume for a task.
var ErrRoleNotAssumable = errors.New("role cannot be assumed by ecs-tasks.amazonaws.com")

// credentialsRefreshBefore is how long before they expire cached
// credentials are replaced: an SDK that gets them keeps them until shortly
// before their expiry, so it must get enough time to use them.
const credentialsRefreshBefore = 20 * time.Minute

// roleCredentialCache keeps each task role's current credentials, so that
// the credentials endpoint, asked at every SDK client's start, does not
// make a session each time.
type roleCredentialCache struct {
	mu      sync.Mutex
	entries map[string]agentproto.RoleCredentials // by task ARN + "|" + role
}

// taskRoleARN is the role of kind role the task runs with ("" for none).
func taskRoleARN(t *ecsstate.Task, role string) string {
	task, execution := ecstypes.EffectiveRoles(&t.Spec.Definition, t.Spec.Overrides)
	switch role {
	case agentproto.TaskRole:
		return task
	case agentproto.ExecutionRole:
		return execution
	}
	return ""
}

// roleCredentials returns current credentials of the task's role, from the
// cache while they have long enough to live.
func (h *Hub) roleCredentials(ctx context.Context, t *ecsstate.Task, taskARN, role string) (agentproto.RoleCredentials, error) {
	roleARN := taskRoleARN(t, role)
	key := taskARN + "|" + role
	now := h.now()
	c := &h.roleCreds
	c.mu.Lock()
	cached, ok := c.entries[key]
	c.mu.Unlock()
	if ok && cached.RoleArn == roleARN && cached.Expiration.Sub(now) > credentialsRefreshBefore {
		return cached, nil
	}
	creds, err := h.cfg.Sessions.TaskSession(ctx, roleARN, taskARN, t.ID)
	if err != nil {
		return agentproto.RoleCredentials{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]agentproto.RoleCredentials{}
	}
	for k, e := range c.entries {
		if !e.Expiration.After(now) {
			delete(c.entries, k)
		}
	}
	c.entries[key] = creds
	return creds, nil
}

// CredentialsHandler serves agentproto.CredentialsPath: temporary
// credentials of a running task's task or execution role, to agents only.
func (h *Hub) CredentialsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="berth agent"`)
			http.Error(w, "agent token refused", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		var req agentproto.CredentialsRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
			writeCredentialsError(w, http.StatusBadRequest, "BadRequest", "the request is not a credentials request: "+err.Error())
			return
		}
		creds, status, cerr := h.credentialsFor(r.Context(), req)
		if cerr != nil {
			if status >= 500 {
				h.log.Error("task credentials failed", "task", req.TaskARN, "role", req.Role, "err", cerr.Message)
			}
			writeCredentialsError(w, status, cerr.Code, cerr.Message)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(creds)
	})
}

func (h *Hub) credentialsFor(ctx context.Context, req agentproto.CredentialsRequest) (agentproto.RoleCredentials, int, *agentproto.CredentialsError) {
	if h.cfg.Sessions == nil {
		return agentproto.RoleCredentials{}, http.StatusNotFound, &agentproto.CredentialsError{Code: agentproto.CredentialsNoRole,
			Message: "this server issues no role credentials"}
	}
	if req.Role != agentproto.TaskRole && req.Role != agentproto.ExecutionRole {
		return agentproto.RoleCredentials{}, http.StatusBadRequest, &agentproto.CredentialsError{Code: "BadRequest", Message: "unknown role kind " + req.Role}
	}
	t, err := h.runningTask(ctx, req.TaskARN)
	switch {
	case errors.Is(err, errNotATaskARN):
		return agentproto.RoleCredentials{}, http.StatusBadRequest, &agentproto.CredentialsError{Code: "BadRequest", Message: err.Error()}
	case errors.Is(err, store.ErrNotFound):
		return agentproto.RoleCredentials{}, http.StatusNotFound, &agentproto.CredentialsError{Code: agentproto.CredentialsNoTask, Message: err.Error()}
	case err != nil:
		return agentproto.RoleCredentials{}, http.StatusInternalServerError, &agentproto.CredentialsError{Code: "InternalError", Message: err.Error()}
	}
	if taskRoleARN(t, req.Role) == "" {
		return agentproto.RoleCredentials{}, http.StatusNotFound, &agentproto.CredentialsError{Code: agentproto.CredentialsNoRole, Message: "the task has no " + req.Role + " role"}
	}
	creds, err := h.roleCredentials(ctx, t, req.TaskARN, req.Role)
	switch {
	case errors.Is(err, ErrRoleNotAssumable):
		return agentproto.RoleCredentials{}, http.StatusForbidden, &agentproto.CredentialsError{Code: agentproto.CredentialsDenied, Message: err.Error()}
	case err != nil:
		return agentproto.RoleCredentials{}, http.StatusInternalServerError, &agentproto.CredentialsError{Code: "InternalError", Message: err.Error()}
	}
	return creds, http.StatusOK, nil
}

var errNotATaskARN = errors.New("not a task ARN")

// runningTask reads the task taskARN names; store.ErrNotFound when there
// is none, or it has stopped: a task asked to stop keeps its credentials
// while it stops (its code may still be saving its work), a stopped one
// has none.
func (h *Hub) runningTask(ctx context.Context, taskARN string) (*ecsstate.Task, error) {
	region := awsapi.ARNRegion(taskARN, "")
	cluster, id, ok := ecsstate.ARNs{Region: region, Account: h.cfg.AccountID}.TaskID(taskARN)
	if !ok || cluster == "" || region == "" {
		return nil, fmt.Errorf("%w: %s", errNotATaskARN, taskARN)
	}
	t, err := store.Get[ecsstate.Task](ctx, h.cfg.Store, ecsstate.TaskKey(region, cluster, id))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("no task %s: %w", taskARN, err)
	case err != nil:
		return nil, err
	case t.Value.Observed.LastStatus == ecsstate.StatusStopped:
		return nil, fmt.Errorf("task %s has stopped: %w", taskARN, store.ErrNotFound)
	}
	return &t.Value, nil
}

// ExecutionRoleKey is the access key a running task's agent acts as for
// it (its log delivery): its execution role's session, or "" with
// hasRole false for a task without one, which acts as the container
// instance. A role that cannot be assumed is ErrRoleNotAssumable.
func (h *Hub) ExecutionRoleKey(ctx context.Context, taskARN string) (accessKeyID string, hasRole bool, err error) {
	if h.cfg.Sessions == nil {
		return "", false, nil
	}
	t, err := h.runningTask(ctx, taskARN)
	if err != nil {
		return "", false, err
	}
	if taskRoleARN(t, agentproto.ExecutionRole) == "" {
		return "", false, nil
	}
	creds, err := h.roleCredentials(ctx, t, taskARN, agentproto.ExecutionRole)
	if err != nil {
		return "", true, err
	}
	return creds.AccessKeyID, true, nil
}

func writeCredentialsError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(agentproto.CredentialsError{Code: code, Message: message})
}
