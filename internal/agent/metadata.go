package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/runtime"
)

// The task metadata endpoint (v4, and v3 with the same content) answers
// from the agent's in-memory view of its tasks: no server round trip.
// Field names and error texts are the ECS agent's.

// taskResponse is a v4 task.
type taskResponse struct {
	Cluster               string              `json:"Cluster"`
	TaskARN               string              `json:"TaskARN"`
	Family                string              `json:"Family"`
	Revision              string              `json:"Revision"`
	DesiredStatus         string              `json:"DesiredStatus,omitempty"`
	KnownStatus           string              `json:"KnownStatus"`
	Limits                *limitsResponse     `json:"Limits,omitempty"`
	PullStartedAt         *time.Time          `json:"PullStartedAt,omitempty"`
	PullStoppedAt         *time.Time          `json:"PullStoppedAt,omitempty"`
	ExecutionStoppedAt    *time.Time          `json:"ExecutionStoppedAt,omitempty"`
	AvailabilityZone      string              `json:"AvailabilityZone,omitempty"`
	TaskTags              map[string]string   `json:"TaskTags,omitempty"`
	ContainerInstanceTags map[string]string   `json:"ContainerInstanceTags,omitempty"`
	LaunchType            string              `json:"LaunchType,omitempty"`
	Containers            []containerResponse `json:"Containers,omitempty"`
	ServiceName           string              `json:"ServiceName,omitempty"`
	ClockDrift            *clockDrift         `json:"ClockDrift,omitempty"`
	FaultInjectionEnabled bool                `json:"FaultInjectionEnabled"`
}

// containerResponse is a v4 container.
type containerResponse struct {
	DockerID      string            `json:"DockerId"`
	Name          string            `json:"Name"`
	DockerName    string            `json:"DockerName"`
	Image         string            `json:"Image"`
	ImageID       string            `json:"ImageID"`
	Ports         []portResponse    `json:"Ports,omitempty"`
	Labels        map[string]string `json:"Labels,omitempty"`
	DesiredStatus string            `json:"DesiredStatus"`
	KnownStatus   string            `json:"KnownStatus"`
	ExitCode      *int              `json:"ExitCode,omitempty"`
	Limits        limitsResponse    `json:"Limits"`
	CreatedAt     *time.Time        `json:"CreatedAt,omitempty"`
	StartedAt     *time.Time        `json:"StartedAt,omitempty"`
	FinishedAt    *time.Time        `json:"FinishedAt,omitempty"`
	Type          string            `json:"Type"`
	Networks      []networkResponse `json:"Networks,omitempty"`
	Health        *healthResponse   `json:"Health,omitempty"`
	LogDriver     string            `json:"LogDriver,omitempty"`
	LogOptions    map[string]string `json:"LogOptions,omitempty"`
	ContainerARN  string            `json:"ContainerARN,omitempty"`
}

type limitsResponse struct {
	CPU    *float64 `json:"CPU,omitempty"`
	Memory *int64   `json:"Memory,omitempty"`
}

type portResponse struct {
	ContainerPort uint16 `json:"ContainerPort,omitempty"`
	Protocol      string `json:"Protocol,omitempty"`
	HostPort      uint16 `json:"HostPort,omitempty"`
	HostIP        string `json:"HostIp,omitempty"`
}

type networkResponse struct {
	NetworkMode              string   `json:"NetworkMode,omitempty"`
	IPv4Addresses            []string `json:"IPv4Addresses,omitempty"`
	AttachmentIndex          *int     `json:"AttachmentIndex,omitempty"`
	MACAddress               string   `json:"MACAddress,omitempty"`
	IPv4SubnetCIDRBlock      string   `json:"IPv4SubnetCIDRBlock,omitempty"`
	DomainNameServers        []string `json:"DomainNameServers,omitempty"`
	DomainNameSearchList     []string `json:"DomainNameSearchList,omitempty"`
	PrivateDNSName           string   `json:"PrivateDNSName,omitempty"`
	SubnetGatewayIpv4Address string   `json:"SubnetGatewayIpv4Address,omitempty"`
}

type healthResponse struct {
	Status string `json:"status,omitempty"`
}

// clockDrift is Fargate's report of the host clock.
type clockDrift struct {
	ClockErrorBound            float64    `json:"ClockErrorBound,omitempty"`
	ReferenceTimestamp         *time.Time `json:"ReferenceTimestamp,omitempty"`
	ClockSynchronizationStatus string     `json:"ClockSynchronizationStatus,omitempty"`
}

const (
	clockSynchronized    = "SYNCHRONIZED"
	clockNotSynchronized = "NOT_SYNCHRONIZED"
)

// clockDriftReader is replaced by tests.
var clockDriftReader = readClockDrift

// MetadataHandler serves the task metadata endpoint.
func (a *Agent) MetadataHandler() http.Handler {
	mux := http.NewServeMux()
	for _, v := range []string{"v3", "v4"} {
		prefix := strings.ToUpper(v[:1]) + v[1:]
		mux.HandleFunc("GET /"+v+"/{id}", func(w http.ResponseWriter, r *http.Request) {
			a.serveContainer(w, r.PathValue("id"), prefix)
		})
		mux.HandleFunc("GET /"+v+"/{id}/task", func(w http.ResponseWriter, r *http.Request) {
			a.serveTask(w, r.PathValue("id"), prefix, false)
		})
		mux.HandleFunc("GET /"+v+"/{id}/taskWithTags", func(w http.ResponseWriter, r *http.Request) {
			a.serveTask(w, r.PathValue("id"), prefix, true)
		})
		mux.HandleFunc("GET /"+v+"/{id}/stats", func(w http.ResponseWriter, r *http.Request) {
			a.serveContainerStats(w, r, r.PathValue("id"), prefix)
		})
		mux.HandleFunc("GET /"+v+"/{id}/task/stats", func(w http.ResponseWriter, r *http.Request) {
			a.serveTaskStats(w, r, r.PathValue("id"), prefix)
		})
	}
	mux.HandleFunc("GET "+credentialsPathPrefix+"{id}", a.serveCredentials)
	mux.Handle("/", a.proxy)
	return mux
}

// serveMetadata serves the endpoint on MetadataAddress:MetadataPort until
// ctx ends. The address lives on the task bridge, so listening is retried
// until it is there.
func (a *Agent) serveMetadata(ctx context.Context) {
	addr := net.JoinHostPort(a.cfg.MetadataAddress, strconv.Itoa(a.cfg.MetadataPort))
	bo := backoff{}
	for attempt := 1; ; attempt++ {
		ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
		if err == nil {
			a.log.Info("task metadata endpoint listening", "addr", addr)
			srv := &http.Server{Handler: a.MetadataHandler(), ReadHeaderTimeout: 10 * time.Second}
			go func() {
				<-ctx.Done()
				sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				srv.Shutdown(sctx)
			}()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.log.Error("task metadata endpoint failed", "err", err)
			}
			if ctx.Err() != nil {
				return
			}
			continue
		}
		if ctx.Err() != nil {
			return
		}
		level := a.log.Debug
		if attempt == 1 || attempt%60 == 0 {
			level = a.log.Warn
		}
		level("task metadata endpoint cannot listen yet; retrying", "addr", addr, "err", err)
		if !sleepCtx(ctx, bo.next()) {
			return
		}
	}
}

// lookup finds a task by the ECS container id in the URL.
func (a *Agent) lookup(endpointID string) (taskView, int, bool) {
	r := a.runnerFor(endpointID)
	if r == nil {
		return taskView{}, 0, false
	}
	v := r.currentView()
	if !v.valid {
		return taskView{}, 0, false
	}
	for i, cp := range v.plan.Containers {
		if cp.ID == endpointID {
			return v, i, true
		}
	}
	return taskView{}, 0, false
}

func (a *Agent) serveContainer(w http.ResponseWriter, endpointID, version string) {
	v, i, ok := a.lookup(endpointID)
	if !ok || v.obs.Containers[i] == nil {
		writeJSON(w, http.StatusNotFound, fmt.Sprintf("%s container metadata handler: unable to get container ID from request: unable to get docker ID from v3 endpoint ID: %s", version, endpointID))
		return
	}
	writeJSON(w, http.StatusOK, containerMetadata(v, i))
}

func (a *Agent) serveTask(w http.ResponseWriter, endpointID, version string, withTags bool) {
	v, _, ok := a.lookup(endpointID)
	if !ok {
		writeUnknownEndpoint(w, "task metadata", version, endpointID)
		return
	}
	resp := taskMetadata(v, withTags)
	if v.plan.Fargate {
		resp.ClockDrift = clockDriftReader(a.now())
	}
	writeJSON(w, http.StatusOK, resp)
}

func (a *Agent) serveContainerStats(w http.ResponseWriter, r *http.Request, endpointID, version string) {
	v, i, ok := a.lookup(endpointID)
	if !ok {
		writeUnknownEndpoint(w, "container stats", version, endpointID)
		return
	}
	c := v.obs.Containers[i]
	if c == nil {
		writeJSON(w, http.StatusNotFound, fmt.Sprintf("%s container stats handler: unable to get container ID from request: unable to get docker ID from v3 endpoint ID: %s", version, endpointID))
		return
	}
	stats, err := a.rt.Stats(r.Context(), c.ID)
	if err != nil || !json.Valid(stats) {
		a.metrics.runtimeErrors.WithLabelValues("stats").Inc()
		writeJSON(w, http.StatusInternalServerError, "Unable to get container stats for: "+c.ID)
		return
	}
	writeRawJSON(w, http.StatusOK, stats)
}

func (a *Agent) serveTaskStats(w http.ResponseWriter, r *http.Request, endpointID, version string) {
	v, _, ok := a.lookup(endpointID)
	if !ok {
		writeUnknownEndpoint(w, "task stats", version, endpointID)
		return
	}
	out := map[string]json.RawMessage{}
	for _, c := range v.obs.Containers {
		if c == nil {
			continue
		}
		stats, err := a.rt.Stats(r.Context(), c.ID)
		if err != nil || !json.Valid(stats) {
			a.metrics.runtimeErrors.WithLabelValues("stats").Inc()
			out[c.ID] = json.RawMessage("null")
			continue
		}
		out[c.ID] = stats
	}
	writeJSON(w, http.StatusOK, out)
}

// taskMetadata renders a task.
func taskMetadata(v taskView, withTags bool) taskResponse {
	p, spec := v.plan, v.desired.Spec
	resp := taskResponse{
		Cluster:          p.ClusterARN,
		TaskARN:          p.TaskARN,
		Family:           p.Family,
		Revision:         p.Revision,
		DesiredStatus:    v.desired.DesiredStatus,
		KnownStatus:      taskKnownStatus(v),
		AvailabilityZone: spec.AvailabilityZone,
		LaunchType:       p.LaunchType,
		ServiceName:      spec.ServiceName,
	}
	if p.Resources.CPUUnits > 0 || p.Resources.MemoryMiB > 0 {
		resp.Limits = &limitsResponse{}
		if p.Resources.CPUUnits > 0 {
			cpu := float64(p.Resources.CPUUnits) / 1024
			resp.Limits.CPU = &cpu
		}
		if p.Resources.MemoryMiB > 0 {
			resp.Limits.Memory = awsapi.Int64(p.Resources.MemoryMiB)
		}
	}
	resp.PullStartedAt = utcTime(v.status.PullStartedAt)
	resp.PullStoppedAt = utcTime(v.status.PullStoppedAt)
	resp.ExecutionStoppedAt = utcTime(v.status.ExecutionStoppedAt)
	if withTags && len(spec.Tags) > 0 {
		resp.TaskTags = map[string]string{}
		for _, t := range spec.Tags {
			resp.TaskTags[awsapi.Deref(t.Key)] = awsapi.Deref(t.Value)
		}
	}
	for i := range p.Containers {
		resp.Containers = append(resp.Containers, containerMetadata(v, i))
	}
	return resp
}

// containerMetadata renders container i of a task.
func containerMetadata(v taskView, i int) containerResponse {
	p := v.plan
	cp := p.Containers[i]
	c := v.obs.Containers[i]
	resp := containerResponse{
		Name:          cp.Name,
		DockerName:    cp.Spec.Name,
		Image:         cp.DefinitionImage,
		DesiredStatus: containerDesiredStatus(v),
		KnownStatus:   containerKnownStatus(v, i),
		Type:          "NORMAL",
		LogDriver:     cp.LogDriver,
		LogOptions:    cp.LogOptions,
		ContainerARN:  cp.ARN,
	}
	cpu := float64(cp.CPU)
	resp.Limits.CPU = &cpu
	if cp.MemoryMiB > 0 {
		resp.Limits.Memory = awsapi.Int64(cp.MemoryMiB)
	}
	labels := cp.Spec.Labels
	if c != nil {
		resp.DockerID = c.ID
		resp.ImageID = c.ImageID
		labels = c.Labels
		resp.CreatedAt = utcTime(c.Created)
		resp.StartedAt = utcTime(c.StartedAt)
		if c.Exited {
			resp.FinishedAt = utcTime(c.FinishedAt)
			code := c.ExitCode
			resp.ExitCode = &code
		}
	}
	if i < len(v.status.Containers) {
		if d := v.status.Containers[i].ImageDigest; d != "" {
			resp.ImageID = d // the manifest digest, as ECS reports it
		}
		if cp.hasHealthCheck() {
			resp.Health = &healthResponse{Status: v.status.Containers[i].HealthStatus}
		}
	}
	for k, val := range labels {
		if strings.HasPrefix(k, "berth.") {
			continue // berth's bookkeeping, not ECS's
		}
		if resp.Labels == nil {
			resp.Labels = map[string]string{}
		}
		resp.Labels[k] = val
	}
	resp.Ports = portsMetadata(p, cp, c)
	resp.Networks = networksMetadata(v, c)
	return resp
}

func portsMetadata(p *taskPlan, cp containerPlan, c *runtime.Container) []portResponse {
	var out []portResponse
	switch p.NetworkMode {
	case modeBridge:
		if c == nil {
			return nil
		}
		for _, b := range c.Ports {
			out = append(out, portResponse{ContainerPort: uint16(b.ContainerPort), Protocol: b.Protocol,
				HostPort: uint16(b.HostPort), HostIP: b.HostIP})
		}
	case modeAwsvpc, modeHost:
		for _, b := range cp.Ports {
			out = append(out, portResponse{ContainerPort: uint16(b.ContainerPort), Protocol: b.Protocol,
				HostPort: uint16(b.ContainerPort)})
		}
	}
	return out
}

func networksMetadata(v taskView, c *runtime.Container) []networkResponse {
	switch v.plan.NetworkMode {
	case modeAwsvpc:
		n := v.status.Network
		if n == nil {
			return nil
		}
		zero := 0
		resp := networkResponse{
			NetworkMode:         modeAwsvpc,
			IPv4Addresses:       []string{n.PrivateIPv4},
			AttachmentIndex:     &zero,
			MACAddress:          n.MACAddress,
			IPv4SubnetCIDRBlock: n.SubnetCIDR,
			PrivateDNSName:      n.PrivateDNSName,
		}
		if n.GatewayIPv4 != "" {
			resp.SubnetGatewayIpv4Address = n.GatewayIPv4
			if prefix, err := netip.ParsePrefix(n.SubnetCIDR); err == nil {
				resp.SubnetGatewayIpv4Address += "/" + strconv.Itoa(prefix.Bits())
			}
		}
		return []networkResponse{resp}
	case modeBridge:
		resp := networkResponse{NetworkMode: modeBridge}
		if c != nil && c.IPAddress != "" {
			resp.IPv4Addresses = []string{c.IPAddress}
		}
		return []networkResponse{resp}
	case modeHost:
		return []networkResponse{{NetworkMode: modeHost}}
	}
	return nil
}

// taskKnownStatus is the ECS agent's task status (NONE, PULLED, CREATED,
// RUNNING, STOPPED) for a task's lifecycle status.
func taskKnownStatus(v taskView) string {
	switch v.status.LastStatus {
	case agentproto.StatusRunning, agentproto.StatusDeactivating, agentproto.StatusStopping:
		return "RUNNING"
	case agentproto.StatusDeprovisioning, agentproto.StatusStopped:
		return "STOPPED"
	}
	for _, c := range v.obs.Containers {
		if c != nil {
			return "CREATED"
		}
	}
	if len(v.pulled) > 0 && !containsFalse(v.pulled) && len(v.pulled) == len(v.plan.Containers) {
		return "PULLED"
	}
	return "NONE"
}

// containerKnownStatus is the ECS agent's container status.
func containerKnownStatus(v taskView, i int) string {
	c := v.obs.Containers[i]
	switch {
	case c == nil:
		if i < len(v.pulled) && v.pulled[i] {
			return "PULLED"
		}
		if v.status.LastStatus == agentproto.StatusStopped {
			return "STOPPED"
		}
		return "NONE"
	case c.Running:
		return "RUNNING"
	case c.Exited, c.Error != "":
		return "STOPPED"
	}
	return "CREATED"
}

func containerDesiredStatus(v taskView) string {
	switch v.status.LastStatus {
	case agentproto.StatusDeactivating, agentproto.StatusStopping, agentproto.StatusDeprovisioning, agentproto.StatusStopped:
		return agentproto.StatusStopped
	}
	if v.desired.DesiredStatus == agentproto.StatusStopped {
		return agentproto.StatusStopped
	}
	return agentproto.StatusRunning
}

func containsFalse(bs []bool) bool {
	for _, b := range bs {
		if !b {
			return true
		}
	}
	return false
}

func utcTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`"failed to encode the response"`)
	}
	writeRawJSON(w, code, b)
}

func writeRawJSON(w http.ResponseWriter, code int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(b)
}

// writeUnknownEndpoint answers a metadata request for an endpoint id the
// agent does not know, in the ECS agent's words.
func writeUnknownEndpoint(w http.ResponseWriter, handler, version, endpointID string) {
	writeJSON(w, http.StatusNotFound, fmt.Sprintf("%s %s handler: unable to get task arn from request: unable to get task Arn from v3 endpoint ID: %s", version, handler, endpointID))
}
