package agent

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecstypes"
)

func getJSON(t *testing.T, url string) (int, any, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: content type %q", url, ct)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: body %q is not JSON: %v", url, b, err)
	}
	return resp.StatusCode, v, string(b)
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func requireKeys(t *testing.T, what string, m map[string]any, want ...string) {
	t.Helper()
	for _, k := range want {
		if _, ok := m[k]; !ok {
			t.Errorf("%s lacks %q; has %v", what, k, keys(m))
		}
	}
}

func requireTimestamp(t *testing.T, what string, v any) {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Errorf("%s = %v, want a timestamp", what, v)
		return
	}
	if _, err := time.Parse(time.RFC3339Nano, s); err != nil || !strings.HasSuffix(s, "Z") {
		t.Errorf("%s = %q, want RFC 3339 in UTC", what, s)
	}
}

func TestMetadataEndpoint(t *testing.T) {
	ref := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	orig := clockDriftReader
	clockDriftReader = func(time.Time) *clockDrift {
		return &clockDrift{ClockErrorBound: 0.25, ReferenceTimestamp: &ref, ClockSynchronizationStatus: clockSynchronized}
	}
	t.Cleanup(func() { clockDriftReader = orig })

	dt := desiredTask("", cdef("app", func(cd *ecstypes.ContainerDefinition) {
		cd.DockerLabels = map[string]string{"team": "blue"}
		cd.PortMappings = []ecstypes.PortMapping{{ContainerPort: awsapi.Int32(8080)}}
		cd.Memory = awsapi.Int32(256)
		cd.LogConfiguration = &ecstypes.LogConfiguration{LogDriver: awsapi.String("json-file"), Options: map[string]string{"max-size": "1m"}}
	}, withHealthCheck()), cdef("side", essential(false)))
	dt.Spec.Tags = []ecstypes.Tag{{Key: awsapi.String("env"), Value: awsapi.String("prod")}}
	dt.Spec.ServiceName = "api"
	fr := runnable(dt)
	fr.healthOnStart["app"] = "healthy"
	h := newHarness(t, fr, t.TempDir(), "")
	h.start(nil)
	h.a.applyDesired(dt, false)
	h.waitStatus(testTaskID, "healthy", func(st agentproto.TaskStatus) bool { return st.LastStatus == "RUNNING" && st.HealthStatus == "HEALTHY" })

	srv := httptest.NewServer(h.a.MetadataHandler())
	defer srv.Close()
	appID := dt.Spec.Containers[0].ID
	app, _ := fr.byECSName(testTaskID, "app")

	for _, v := range []string{"v4", "v3"} {
		code, body, raw := getJSON(t, srv.URL+"/"+v+"/"+appID+"/task")
		if code != 200 {
			t.Fatalf("%s task: %d %s", v, code, raw)
		}
		task := body.(map[string]any)
		requireKeys(t, "task", task, "Cluster", "TaskARN", "Family", "Revision", "DesiredStatus", "KnownStatus", "Limits",
			"PullStartedAt", "PullStoppedAt", "AvailabilityZone", "LaunchType", "Containers", "ServiceName", "ClockDrift")
		if task["Cluster"] != dt.ClusterARN || task["TaskARN"] != dt.ARN || task["Family"] != "web" || task["Revision"] != "3" ||
			task["DesiredStatus"] != "RUNNING" || task["KnownStatus"] != "RUNNING" || task["AvailabilityZone"] != "us-east-1a" ||
			task["LaunchType"] != "FARGATE" || task["ServiceName"] != "api" {
			t.Errorf("%s task = %s", v, raw)
		}
		if lim := task["Limits"].(map[string]any); lim["CPU"] != 0.5 || lim["Memory"] != 1024.0 {
			t.Errorf("limits %v", lim)
		}
		requireTimestamp(t, "PullStartedAt", task["PullStartedAt"])
		if _, ok := task["TaskTags"]; ok {
			t.Error("/task carries tags")
		}
		if cd := task["ClockDrift"].(map[string]any); cd["ClockSynchronizationStatus"] != "SYNCHRONIZED" || cd["ReferenceTimestamp"] != "2025-01-02T03:04:05Z" {
			t.Errorf("clock drift %v", cd)
		}
		cs := task["Containers"].([]any)
		if len(cs) != 2 {
			t.Fatalf("containers %v", cs)
		}
		c := cs[0].(map[string]any)
		requireKeys(t, "container", c, "DockerId", "Name", "DockerName", "Image", "ImageID", "Ports", "Labels", "DesiredStatus",
			"KnownStatus", "Limits", "CreatedAt", "StartedAt", "Type", "Networks", "Health", "LogDriver", "LogOptions", "ContainerARN")
		if c["DockerId"] != app.ID || c["Name"] != "app" || c["DockerName"] != "ecs-web-3-app-0123456789abcdef0123" || c["Image"] != "img-app" ||
			c["ImageID"] != "sha256:digest-registry.local/img-app" || c["Type"] != "NORMAL" || c["KnownStatus"] != "RUNNING" ||
			c["DesiredStatus"] != "RUNNING" || c["LogDriver"] != "json-file" || c["ContainerARN"] != dt.ContainerARNs[0] {
			t.Errorf("container %v", c)
		}
		if _, ok := c["ExitCode"]; ok {
			t.Error("a running container has an ExitCode")
		}
		requireTimestamp(t, "CreatedAt", c["CreatedAt"])
		labels := c["Labels"].(map[string]any)
		if labels["team"] != "blue" || labels[LabelECSCluster] != dt.ClusterARN || labels[LabelECSTaskRevision] != "3" {
			t.Errorf("labels %v", labels)
		}
		for k := range labels {
			if strings.HasPrefix(k, "berth.") {
				t.Errorf("internal label %s shown", k)
			}
		}
		if lim := c["Limits"].(map[string]any); lim["CPU"] != 2.0 || lim["Memory"] != 256.0 {
			t.Errorf("container limits %v", lim)
		}
		if hs := c["Health"].(map[string]any); hs["status"] != "HEALTHY" {
			t.Errorf("health %v", hs)
		}
		ports := c["Ports"].([]any)
		if p := ports[0].(map[string]any); p["ContainerPort"] != 8080.0 || p["HostPort"] != 8080.0 || p["Protocol"] != "tcp" {
			t.Errorf("ports %v", ports)
		}
		n := c["Networks"].([]any)[0].(map[string]any)
		requireKeys(t, "network", n, "NetworkMode", "IPv4Addresses", "AttachmentIndex", "MACAddress", "IPv4SubnetCIDRBlock", "PrivateDNSName", "SubnetGatewayIpv4Address")
		if n["NetworkMode"] != "awsvpc" || n["IPv4Addresses"].([]any)[0] != "169.254.172.5" || n["AttachmentIndex"] != 0.0 ||
			n["IPv4SubnetCIDRBlock"] != "169.254.172.0/22" || n["SubnetGatewayIpv4Address"] != "169.254.172.1/22" ||
			n["PrivateDNSName"] != "ip-169-254-172-5.ec2.internal" {
			t.Errorf("network %v", n)
		}
		if side := cs[1].(map[string]any); side["Health"] != nil {
			t.Errorf("a container without a check shows Health: %v", side)
		}
	}

	_, body, _ := getJSON(t, srv.URL+"/v4/"+appID+"/taskWithTags")
	if tags := body.(map[string]any)["TaskTags"].(map[string]any); tags["env"] != "prod" {
		t.Errorf("tags %v", tags)
	}
	code, body, _ := getJSON(t, srv.URL+"/v4/"+appID)
	if c := body.(map[string]any); code != 200 || c["DockerId"] != app.ID || c["Name"] != "app" {
		t.Errorf("container endpoint %d %v", code, c)
	}
	code, body, _ = getJSON(t, srv.URL+"/v4/"+appID+"/stats")
	if code != 200 || body.(map[string]any)["id"] != app.ID {
		t.Errorf("stats %d %v", code, body)
	}
	code, body, _ = getJSON(t, srv.URL+"/v4/"+appID+"/task/stats")
	if m := body.(map[string]any); code != 200 || len(m) != 2 || m[app.ID] == nil {
		t.Errorf("task stats %d %v", code, body)
	}

	for path, want := range map[string]string{
		"/v4/nope":            "V4 container metadata handler: unable to get container ID from request: unable to get docker ID from v3 endpoint ID: nope",
		"/v4/nope/task":       "V4 task metadata handler: unable to get task arn from request: unable to get task Arn from v3 endpoint ID: nope",
		"/v3/nope/task":       "V3 task metadata handler: unable to get task arn from request: unable to get task Arn from v3 endpoint ID: nope",
		"/v4/nope/stats":      "V4 container stats handler: unable to get task arn from request: unable to get task Arn from v3 endpoint ID: nope",
		"/v4/nope/task/stats": "V4 task stats handler: unable to get task arn from request: unable to get task Arn from v3 endpoint ID: nope",
	} {
		code, body, _ := getJSON(t, srv.URL+path)
		if code != 404 || body != want {
			t.Errorf("%s: %d %v", path, code, body)
		}
	}

	// The agent serves the same on its own listener.
	code, _, raw := getJSON(t, fmt.Sprintf("http://127.0.0.1:%d/v4/%s/task", h.a.cfg.MetadataPort, appID))
	if code != 200 || !strings.Contains(raw, `"TaskARN"`) {
		t.Errorf("listener: %d %s", code, raw)
	}

	// Stopped: exit codes and finish times appear.
	stop := dt
	stop.DesiredStatus, stop.Generation = "STOPPED", 2
	h.a.applyDesired(stop, false)
	h.waitLast(testTaskID, "STOPPED")
	_, body, raw = getJSON(t, srv.URL+"/v4/"+appID+"/task")
	task := body.(map[string]any)
	c := task["Containers"].([]any)[0].(map[string]any)
	if task["KnownStatus"] != "STOPPED" || task["DesiredStatus"] != "STOPPED" || c["ExitCode"] != 143.0 || c["KnownStatus"] != "STOPPED" {
		t.Errorf("stopped task %s", raw)
	}
	requireTimestamp(t, "ExecutionStoppedAt", task["ExecutionStoppedAt"])
	requireTimestamp(t, "FinishedAt", c["FinishedAt"])
}
