package docker

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"

	"github.com/berth/berth/internal/runtime"
)

func TestCreateConfigsFullSpec(t *testing.T) {
	spec := runtime.ContainerSpec{
		Name:                   "web",
		Image:                  "img:1",
		Labels:                 map[string]string{"a": "b"},
		Entrypoint:             []string{"/bin/app"},
		Cmd:                    []string{"serve"},
		Env:                    []string{"X=1"},
		WorkingDir:             "/srv",
		User:                   "1000:1000",
		Hostname:               "h",
		NetworkMode:            "bridge",
		PortBindings:           []runtime.PortBinding{{ContainerPort: 80, HostPort: 8080}, {ContainerPort: 53, Protocol: "UDP", HostIP: "127.0.0.1"}},
		ExtraHosts:             []string{"db:10.0.0.2"},
		DNSServers:             []string{"10.0.0.53"},
		DNSSearch:              []string{"svc.local"},
		Init:                   true,
		ReadonlyRootfs:         true,
		Privileged:             true,
		MemoryBytes:            256 << 20,
		MemoryReservationBytes: 128 << 20,
		CPUShares:              512,
		CgroupParent:           "/berth/t1",
		Ulimits:                []runtime.Ulimit{{Name: "nofile", Soft: 1024, Hard: 4096}},
		Sysctls:                map[string]string{"net.core.somaxconn": "1024"},
		Tmpfs:                  map[string]string{"/tmp": "rw,size=64m"},
		ShmSizeBytes:           64 << 20,
		Mounts: []runtime.Mount{
			{Source: "/host/data", Target: "/data", ReadOnly: true},
			{Source: "named", Target: "/cache"},
			{Target: "/scratch"},
		},
		HealthCheck: &runtime.HealthCheck{Test: []string{"CMD-SHELL", "true"}, Interval: 5 * time.Second, Timeout: 2 * time.Second, StartPeriod: 10 * time.Second, Retries: 3},
		StopTimeout: 1500 * time.Millisecond,
		LogDriver:   "json-file",
		LogOptions:  map[string]string{"max-size": "1m"},
		Interactive: true,
		TTY:         true,
		SecurityOpt: []string{"no-new-privileges"},
		CapAdd:      []string{"NET_ADMIN"},
		CapDrop:     []string{"MKNOD"},
	}
	config, host, networking, err := createConfigs(spec)
	if err != nil {
		t.Fatal(err)
	}
	two := 2
	yes := true
	wantConfig := &container.Config{
		Image: "img:1", Labels: spec.Labels, Env: spec.Env, WorkingDir: "/srv", User: "1000:1000", Hostname: "h",
		OpenStdin: true, Tty: true,
		Entrypoint:   []string{"/bin/app"},
		Cmd:          []string{"serve"},
		StopTimeout:  &two,
		Healthcheck:  &container.HealthConfig{Test: []string{"CMD-SHELL", "true"}, Interval: 5 * time.Second, Timeout: 2 * time.Second, StartPeriod: 10 * time.Second, Retries: 3},
		Volumes:      map[string]struct{}{"/scratch": {}},
		ExposedPorts: nat.PortSet{"80/tcp": {}, "53/udp": {}},
	}
	if !reflect.DeepEqual(config, wantConfig) {
		t.Errorf("config\n got %+v\nwant %+v", config, wantConfig)
	}
	wantHost := &container.HostConfig{
		NetworkMode: "bridge", ExtraHosts: spec.ExtraHosts, DNS: spec.DNSServers, DNSSearch: spec.DNSSearch,
		Init: &yes, ReadonlyRootfs: true, Privileged: true, Sysctls: spec.Sysctls, Tmpfs: spec.Tmpfs, ShmSize: 64 << 20,
		SecurityOpt: spec.SecurityOpt, CapAdd: spec.CapAdd, CapDrop: spec.CapDrop,
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		LogConfig:     container.LogConfig{Type: "json-file", Config: spec.LogOptions},
		Resources: container.Resources{
			Memory: 256 << 20, MemoryReservation: 128 << 20, CPUShares: 512, CgroupParent: "/berth/t1",
			Ulimits: []*container.Ulimit{{Name: "nofile", Soft: 1024, Hard: 4096}},
		},
		Binds: []string{"/host/data:/data:ro", "named:/cache"},
		PortBindings: nat.PortMap{
			"80/tcp": {{HostPort: "8080"}},
			"53/udp": {{HostIP: "127.0.0.1", HostPort: ""}},
		},
	}
	if !reflect.DeepEqual(host, wantHost) {
		t.Errorf("host config\n got %+v\nwant %+v", host, wantHost)
	}
	if networking != nil {
		t.Errorf("networking config = %+v, want none", networking)
	}
}

func TestCreateConfigsEntrypointAndCmd(t *testing.T) {
	tests := []struct {
		name           string
		entrypoint     []string
		cmd            []string
		wantCmd        []string
		wantEntrypJSON string
	}{
		{name: "nil keeps the image's", wantEntrypJSON: "null"},
		{name: "empty replaces with none", entrypoint: []string{}, cmd: []string{}, wantCmd: []string{}, wantEntrypJSON: "[]"},
		{name: "set", entrypoint: []string{"sh", "-c"}, cmd: []string{"echo hi"}, wantCmd: []string{"echo hi"}, wantEntrypJSON: `["sh","-c"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			config, _, _, err := createConfigs(runtime.ContainerSpec{Image: "i", Entrypoint: tt.entrypoint, Cmd: tt.cmd})
			if err != nil {
				t.Fatal(err)
			}
			if (config.Cmd == nil) != (tt.wantCmd == nil) || !reflect.DeepEqual([]string(config.Cmd), tt.wantCmd) {
				t.Errorf("cmd = %#v, want %#v", config.Cmd, tt.wantCmd)
			}
			// What the daemon sees decides whether the image's value stays.
			raw, _ := json.Marshal(config.Entrypoint)
			if string(raw) != tt.wantEntrypJSON {
				t.Errorf("entrypoint JSON = %s, want %s", raw, tt.wantEntrypJSON)
			}
		})
	}
}

func TestCreateConfigsRejects(t *testing.T) {
	tests := map[string]runtime.ContainerSpec{
		"no image":           {},
		"bad protocol":       {Image: "i", PortBindings: []runtime.PortBinding{{ContainerPort: 80, Protocol: "sctp"}}},
		"port out of range":  {Image: "i", PortBindings: []runtime.PortBinding{{ContainerPort: 70000}}},
		"mount without path": {Image: "i", Mounts: []runtime.Mount{{Source: "/x"}}},
		"empty health check": {Image: "i", HealthCheck: &runtime.HealthCheck{}},
	}
	for name, spec := range tests {
		if _, _, _, err := createConfigs(spec); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestInitFalseIsExplicit(t *testing.T) {
	_, host, _, err := createConfigs(runtime.ContainerSpec{Image: "i"})
	if err != nil {
		t.Fatal(err)
	}
	if host.Init == nil || *host.Init {
		t.Errorf("Init = %v, want explicit false (ECS default, whatever the daemon's)", host.Init)
	}
}

func TestCeilSeconds(t *testing.T) {
	for d, want := range map[time.Duration]int{
		-time.Second: 0, 0: 0, time.Nanosecond: 1, time.Second: 1, 1001 * time.Millisecond: 2, 30 * time.Second: 30,
	} {
		if got := ceilSeconds(d); got != want {
			t.Errorf("ceilSeconds(%v) = %d, want %d", d, got, want)
		}
	}
}

func TestContainerFromInspect(t *testing.T) {
	inspect := container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{
			ID:      "abc",
			Name:    "/task-web",
			Image:   "sha256:img",
			Created: "2026-01-02T03:04:05.123456789Z",
			State: &container.State{
				Status:     container.StateExited,
				ExitCode:   137,
				OOMKilled:  true,
				StartedAt:  "2026-01-02T03:04:06Z",
				FinishedAt: "2026-01-02T03:05:06Z",
				Health:     &container.Health{Status: container.Unhealthy},
			},
		},
		Config: &container.Config{Image: "repo/web:1", Labels: map[string]string{"k": "v"}},
		NetworkSettings: &container.NetworkSettings{
			Networks: map[string]*network.EndpointSettings{
				"berth-task": {IPAddress: "169.254.172.5", IPPrefixLen: 22, Gateway: "169.254.172.1", MacAddress: "02:42:a9:fe:ac:05"},
			},
		},
	}
	inspect.NetworkSettings.Ports = nat.PortMap{
		"80/tcp": {{HostIP: "0.0.0.0", HostPort: "32768"}, {HostIP: "::", HostPort: "32768"}},
		"53/udp": {{HostIP: "0.0.0.0", HostPort: "32769"}},
		"81/tcp": nil, // exposed, not published
	}
	got := containerFromInspect(inspect)
	want := runtime.Container{
		ID: "abc", Name: "task-web", Image: "repo/web:1", ImageID: "sha256:img", Labels: map[string]string{"k": "v"},
		Created:   time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC),
		Exited:    true,
		ExitCode:  137,
		OOMKilled: true,
		StartedAt: time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC), FinishedAt: time.Date(2026, 1, 2, 3, 5, 6, 0, time.UTC),
		Health:    runtime.HealthUnhealthy,
		IPAddress: "169.254.172.5", MACAddress: "02:42:a9:fe:ac:05", Gateway: "169.254.172.1", SubnetCIDR: "169.254.172.0/22",
		Ports: []runtime.PortBinding{
			{ContainerPort: 53, HostPort: 32769, Protocol: "udp", HostIP: "0.0.0.0"},
			{ContainerPort: 80, HostPort: 32768, Protocol: "tcp", HostIP: "0.0.0.0"},
			{ContainerPort: 80, HostPort: 32768, Protocol: "tcp", HostIP: "::"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("\n got %+v\nwant %+v", got, want)
	}
}

func TestContainerFromInspectStates(t *testing.T) {
	const zero = "0001-01-01T00:00:00Z"
	tests := []struct {
		name        string
		state       container.State
		wantRunning bool
		wantExited  bool
	}{
		{name: "created", state: container.State{Status: container.StateCreated, StartedAt: zero, FinishedAt: zero}},
		{name: "running", state: container.State{Status: container.StateRunning, Running: true, StartedAt: "2026-01-01T00:00:00Z", FinishedAt: zero}, wantRunning: true},
		{name: "exited", state: container.State{Status: container.StateExited, StartedAt: "2026-01-01T00:00:00Z", FinishedAt: "2026-01-01T00:00:01Z"}, wantExited: true},
		{name: "dead", state: container.State{Status: container.StateDead, FinishedAt: "2026-01-01T00:00:01Z"}, wantExited: true},
		// A failed start leaves "created" or "exited" without a finish time.
		{name: "exited never ran", state: container.State{Status: container.StateExited, ExitCode: 127, Error: "exec: not found", StartedAt: zero, FinishedAt: zero}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.state
			c := containerFromInspect(container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{State: &s}})
			if c.Running != tt.wantRunning || c.Exited != tt.wantExited {
				t.Errorf("running=%v exited=%v, want %v %v", c.Running, c.Exited, tt.wantRunning, tt.wantExited)
			}
			if s.StartedAt == zero && !c.StartedAt.IsZero() {
				t.Errorf("StartedAt = %v, want zero", c.StartedAt)
			}
			if s.FinishedAt == zero && !c.FinishedAt.IsZero() {
				t.Errorf("FinishedAt = %v, want zero", c.FinishedAt)
			}
			if c.Health != runtime.HealthNone {
				t.Errorf("Health = %q without a check", c.Health)
			}
		})
	}
}

func TestRepoDigest(t *testing.T) {
	const d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	const d2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	digests := []string{"busybox@" + d1, "127.0.0.1:5000/team/app@" + d2}
	tests := []struct {
		ref  string
		want string
	}{
		{"busybox", d1},
		{"docker.io/library/busybox:1.36", d1},
		{"127.0.0.1:5000/team/app:v1", d2},
		{"127.0.0.1:5000/team/other:v1", ""},
		{"127.0.0.1:5000/team/app@" + d1, d1}, // a digest reference names its digest
	}
	for _, tt := range tests {
		named, err := reference.ParseNormalizedNamed(tt.ref)
		if err != nil {
			t.Fatal(err)
		}
		if got := repoDigest(digests, named); got != tt.want {
			t.Errorf("repoDigest(%s) = %q, want %q", tt.ref, got, tt.want)
		}
	}
}

func TestDrainProgress(t *testing.T) {
	tests := []struct {
		stream  string
		wantErr string
	}{
		{stream: `{"status":"Pulling"}` + "\n" + `{"status":"Done"}`},
		{stream: `{"status":"Pulling"}{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}`, wantErr: "manifest unknown"},
		{stream: `{"error":"old style"}`, wantErr: "old style"},
		{stream: `{"status":`, wantErr: "reading progress"},
	}
	for _, tt := range tests {
		err := drainProgress(strings.NewReader(tt.stream))
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("drainProgress(%s) = %v, want %q", tt.stream, err, tt.wantErr)
		}
	}
}

func TestMapErrNotFound(t *testing.T) {
	dockerErr := cerrdefs.ErrNotFound.WithMessage("No such container: x")
	err := fmt.Errorf("docker: inspect x: %w", mapErr(dockerErr))
	if !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("%v is not runtime.ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), "No such container") {
		t.Errorf("%v lost Docker's message", err)
	}
	if other := mapErr(errors.New("boom")); errors.Is(other, runtime.ErrNotFound) {
		t.Errorf("%v mapped to not found", other)
	}
}

func TestEventFromMessage(t *testing.T) {
	msg := events.Message{
		Type:     events.ContainerEventType,
		Action:   events.ActionHealthStatusHealthy,
		Actor:    events.Actor{ID: "abc", Attributes: map[string]string{"k": "v", "name": "web"}},
		TimeNano: time.Date(2026, 1, 1, 0, 0, 0, 5, time.UTC).UnixNano(),
	}
	ev := eventFromMessage(msg)
	if ev.ContainerID != "abc" || ev.Action != "health_status: healthy" || ev.Labels["k"] != "v" || !ev.Time.Equal(time.Date(2026, 1, 1, 0, 0, 0, 5, time.UTC)) {
		t.Errorf("event = %+v", ev)
	}
}
