package agent

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/ecs/ecstypes"
)

// credentialsPathPrefix is where the credentials endpoint serves a task
// role's credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI), as the ECS
// agent does.
const credentialsPathPrefix = "/v2/credentials/"

// taskRole and executionRole are the roles a task runs with.
func taskRole(spec agentproto.TaskSpec) string {
	role, _ := ecstypes.EffectiveRoles(&spec.Definition, spec.Overrides)
	return role
}

func executionRole(spec agentproto.TaskSpec) string {
	_, role := ecstypes.EffectiveRoles(&spec.Definition, spec.Overrides)
	return role
}

// credentialsID is a task's id at the credentials endpoint: keyed with the
// agent's secret, so no task can work out another's, and the same for a
// task after an agent restart, when its containers still hold it. It has a
// UUID's form, as the ECS agent's ids have.
func credentialsID(key, taskARN string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte("task-credentials|" + taskARN))
	h := hex.EncodeToString(mac.Sum(nil))
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// CredentialsError is a credentials request the server refused.
type CredentialsError struct {
	Status int
	agentproto.CredentialsError
}

func (e *CredentialsError) Error() string {
	return fmt.Sprintf("credentials: HTTP %d: %s: %s", e.Status, e.Code, e.Message)
}

// roleCredentials asks the server for credentials of one of a task's
// roles. The server keeps them until they near expiry, so asking again is
// cheap.
func (a *Agent) roleCredentials(ctx context.Context, taskARN, role string) (agentproto.RoleCredentials, error) {
	var creds agentproto.RoleCredentials
	refused, err := a.server.post(ctx, agentproto.CredentialsPath, agentproto.CredentialsRequest{TaskARN: taskARN, Role: role}, &creds)
	if err != nil || refused == nil {
		return creds, err
	}
	ce := &CredentialsError{Status: refused.status}
	if json.Unmarshal(refused.body, &ce.CredentialsError) != nil || ce.Code == "" {
		ce.CredentialsError = agentproto.CredentialsError{Code: "ServerError", Message: strings.TrimSpace(string(refused.body))}
	}
	return creds, ce
}

// credentialsNotFound is the ECS agent's answer for an id it does not
// know. UNVERIFIED: the exact body.
var credentialsNotFound = map[string]string{"code": "InvalidIdInRequest", "message": "CredentialsV2Request: Credentials not found"}

// serveCredentials answers GET /v2/credentials/<id> with the task role's
// credentials, to the task the id belongs to. An awsvpc task's request
// must come from its own network namespace (the address of its network
// holder); another task asking with a leaked id gets what an unknown id
// gets. Tasks on the host's or Docker's bridge network are known by the id
// alone, as with the ECS agent.
func (a *Agent) serveCredentials(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	run := a.runnerFor(id)
	if run == nil {
		writeJSON(w, http.StatusBadRequest, credentialsNotFound)
		return
	}
	v := run.currentView()
	if !v.valid || v.plan.CredentialsID != id || !fromTask(r, v) {
		writeJSON(w, http.StatusBadRequest, credentialsNotFound)
		return
	}
	creds, err := a.roleCredentials(r.Context(), v.plan.TaskARN, agentproto.TaskRole)
	var ce *CredentialsError
	switch {
	case errors.As(err, &ce) && ce.Status < 500:
		// UNVERIFIED: the ECS agent's body for credentials it cannot get.
		writeJSON(w, http.StatusBadRequest, map[string]string{"code": "InvalidIdInRequest", "message": "CredentialsV2Request: " + ce.Message})
		return
	case err != nil:
		a.log.Warn("task role credentials unavailable", "task", v.plan.TaskARN, "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"code": "InternalServerError", "message": "CredentialsV2Request: unable to get the task role's credentials"})
		return
	}
	writeJSON(w, http.StatusOK, creds)
}

// fromTask reports whether r comes from the task of v: from its network
// interface's address, while its holder runs, for an awsvpc task; any
// source otherwise.
func fromTask(r *http.Request, v taskView) bool {
	if v.plan.NetworkMode != modeAwsvpc {
		return true
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil || v.obs.Holder == nil || !v.obs.Holder.Running || v.plan.Interface == nil {
		return false
	}
	return host == v.plan.Interface.Address.Addr().String()
}

// apiProxy passes the AWS API calls of tasks' SDKs (AWS_ENDPOINT_URL is
// the metadata endpoint's address) and docker registry requests on to the
// server, Host and all, so their signatures still hold. berth's own
// endpoints under /_berth/ are not passed: tasks have no business there.
func apiProxy(serverBase string) (http.Handler, error) {
	target, err := url.Parse(serverBase)
	if err != nil {
		return nil, err
	}
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.Host = pr.In.Host
	}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_berth/") {
			http.NotFound(w, r)
			return
		}
		proxy.ServeHTTP(w, r)
	}), nil
}
