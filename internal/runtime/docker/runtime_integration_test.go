package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/berth/berth/internal/runtime"
)

func TestHolderNetworking(t *testing.T) {
	d := needDocker(t)
	t.Parallel()
	vpc := testVPC(t)
	h := holder(t, runtime.HolderSpec{
		Hostname:   "task-host",
		Labels:     map[string]string{"role": "pause"},
		DNSServers: []string{"169.254.170.2"},
		DNSSearch:  []string{"svc.local"},
		ExtraHosts: []string{"db:10.1.2.3"},
	})
	ip, err := netip.ParseAddr(h.IPAddress)
	if err != nil || !vpc.Subnets[0].Contains(ip) {
		t.Fatalf("holder IP %q is not in %s", h.IPAddress, vpc.Subnets[0])
	}
	if !h.Running || h.Pid == 0 || h.Labels["role"] != "pause" {
		t.Errorf("holder = %+v", h)
	}
	again, err := d.Inspect(testContext(t, 10*time.Second), h.ID)
	if err != nil || again.Pid != h.Pid {
		t.Errorf("Inspect(holder) = %+v, %v", again, err)
	}

	joined := "container:" + h.ID
	run(t, runtime.ContainerSpec{Name: uniqueName(t, "server"), NetworkMode: joined, Cmd: []string{"serve", "-addr", ":8080"}})

	// The host reaches the task at the holder's IP.
	url := "http://" + net.JoinHostPort(h.IPAddress, "8080") + "/"
	var body string
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := (&http.Client{Timeout: time.Second}).Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s from the host: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if body != "ok task-host\n" {
		t.Errorf("GET %s = %q, want the server to run with the holder's hostname", url, body)
	}

	// A sidecar reaches it on localhost.
	sidecar := run(t, runtime.ContainerSpec{Name: uniqueName(t, "sidecar"), NetworkMode: joined, Cmd: []string{"connect", "-addr", "127.0.0.1:8080"}})
	if c := waitExited(t, sidecar.ID, 15*time.Second); c.ExitCode != 0 {
		t.Errorf("sidecar -> localhost:8080 exit %d: %s", c.ExitCode, logs(t, sidecar.ID))
	}

	// The task reaches the host's metadata address on the bridge.
	ln, err := net.Listen("tcp", "169.254.170.2:0")
	if err != nil {
		t.Fatalf("listen on the metadata address: %v", err)
	}
	defer ln.Close()
	peers := make(chan string, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		peers <- conn.RemoteAddr().(*net.TCPAddr).IP.String()
		conn.Close()
	}()
	caller := run(t, runtime.ContainerSpec{Name: uniqueName(t, "metadata"), NetworkMode: joined, Cmd: []string{"connect", "-addr", ln.Addr().String()}})
	if c := waitExited(t, caller.ID, 15*time.Second); c.ExitCode != 0 {
		t.Errorf("task -> %s exit %d: %s", ln.Addr(), c.ExitCode, logs(t, caller.ID))
	}
	select {
	case peer := <-peers:
		if peer != h.IPAddress {
			t.Errorf("metadata listener saw %s, want the task IP %s", peer, h.IPAddress)
		}
	case <-time.After(5 * time.Second):
		t.Error("metadata listener saw no connection")
	}

	// Containers of the task share the holder's hosts file, hostname and
	// DNS search. On a user-defined network resolv.conf names Docker's
	// embedded resolver (127.0.0.11), which forwards to the DNS servers.
	cat := run(t, runtime.ContainerSpec{Name: uniqueName(t, "cat"), NetworkMode: joined, Cmd: []string{"cat", "/etc/resolv.conf", "/etc/hosts", "/etc/hostname"}})
	waitExited(t, cat.ID, 15*time.Second)
	out := logs(t, cat.ID)
	for _, want := range []string{"search svc.local", "10.1.2.3\tdb", "task-host"} {
		if !strings.Contains(out, want) {
			t.Errorf("task files lack %q:\n%s", want, out)
		}
	}

	// A DNS server on the bridge's metadata address (where berth's Cloud
	// Map resolver can listen) answers the task's queries.
	dns, err := net.ListenPacket("udp", "169.254.170.2:53")
	if err != nil {
		t.Logf("skipping the DNS check: %v", err)
		return
	}
	defer dns.Close()
	go answerDNS(dns, [4]byte{10, 9, 8, 7})
	resolve := run(t, runtime.ContainerSpec{Name: uniqueName(t, "resolve"), NetworkMode: joined, Cmd: []string{"resolve", "-name", "api"}})
	waitExited(t, resolve.ID, 15*time.Second)
	if out := strings.TrimSpace(logs(t, resolve.ID)); out != "10.9.8.7" {
		t.Errorf("task resolving api (search svc.local) through the bridge DNS server: %q, want 10.9.8.7", out)
	}
}

// answerDNS answers every A query on conn with ip and every other query
// with no records, until conn closes.
func answerDNS(conn net.PacketConn, ip [4]byte) {
	buf := make([]byte, 512)
	for {
		n, peer, err := conn.ReadFrom(buf)
		if err != nil {
			return
		}
		if n < 12 {
			continue
		}
		query := buf[:n]
		// The question ends after the name's labels, type and class.
		end := 12
		for end < n && query[end] != 0 {
			end += int(query[end]) + 1
		}
		end += 5
		if end > n {
			continue
		}
		qtype := int(query[end-4])<<8 | int(query[end-3])
		resp := append([]byte{}, query[:end]...)
		resp[2], resp[3] = 0x81, 0x80 // response, recursion desired+available, no error
		resp[6], resp[7] = 0, 0       // answers
		resp[8], resp[9], resp[10], resp[11] = 0, 0, 0, 0
		if qtype == 1 {
			resp[7] = 1
			resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, ip[0], ip[1], ip[2], ip[3])
		}
		conn.WriteTo(resp, peer)
	}
}

func TestHealthCheckTransitions(t *testing.T) {
	needDocker(t)
	t.Parallel()
	c := run(t, runtime.ContainerSpec{
		Name:        uniqueName(t, "web"),
		NetworkMode: "none",
		Cmd:         []string{"serve", "-addr", "127.0.0.1:8080", "-healthy-for", "3s"},
		HealthCheck: &runtime.HealthCheck{
			Test:     []string{"CMD", "/testbin", "check", "-url", "http://127.0.0.1:8080/health"},
			Interval: time.Second, Timeout: time.Second, Retries: 1,
		},
	})
	if c.Health != runtime.HealthNone && c.Health != runtime.HealthStarting {
		t.Errorf("health before start = %q", c.Health)
	}
	waitFor(t, c.ID, 10*time.Second, "healthy", func(c runtime.Container) bool { return c.Health == runtime.HealthHealthy })
	waitFor(t, c.ID, 10*time.Second, "unhealthy", func(c runtime.Container) bool { return c.Health == runtime.HealthUnhealthy })
}

// Docker sets State.OOMKilled only when its oom event arrives before
// the exit is processed. The agent therefore also counts the oom event,
// and so does this test. The process allocates only once it runs: under
// a limit too small for the runtime's own start, the kernel kills the
// runtime's init before Docker watches for OOM, and nothing says why.
func TestOOMKilled(t *testing.T) {
	d := needDocker(t)
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	evs, _ := d.Events(ctx)
	c := run(t, runtime.ContainerSpec{Name: uniqueName(t, "hog"), NetworkMode: "none", MemoryBytes: 32 << 20, Cmd: []string{"alloc", "-mib", "256", "-after", "300ms"}})
	c = waitExited(t, c.ID, 20*time.Second)
	if c.ExitCode != 137 || c.FinishedAt.IsZero() || c.StartedAt.IsZero() {
		t.Errorf("container = %+v, want exit 137", c)
	}
	if c.OOMKilled {
		return
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-evs:
			if ev.ContainerID == c.ID && ev.Action == "oom" {
				return
			}
		case <-timeout:
			t.Fatalf("container = %+v: neither OOMKilled nor an oom event", c)
		}
	}
}

func TestStop(t *testing.T) {
	needDocker(t)
	t.Parallel()
	t.Run("ignores SIGTERM", func(t *testing.T) {
		t.Parallel()
		c := run(t, runtime.ContainerSpec{Name: uniqueName(t, "stubborn"), NetworkMode: "none", Cmd: []string{"sleep", "-ignore-term"}})
		// Running is not yet ignoring: a SIGTERM before the program
		// said so would end it.
		waitFor(t, c.ID, 5*time.Second, "ignoring SIGTERM", func(c runtime.Container) bool {
			return c.Running && strings.Contains(logs(t, c.ID), "ignoring SIGTERM")
		})
		start := time.Now()
		if err := testDriver.Stop(testContext(t, 30*time.Second), c.ID, 1500*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		// 1.5 s rounds up to Docker's 2 s.
		if took := time.Since(start); took < 1900*time.Millisecond || took > 8*time.Second {
			t.Errorf("Stop took %v, want about 2s", took)
		}
		c, err := testDriver.Inspect(testContext(t, 10*time.Second), c.ID)
		if err != nil || !c.Exited || c.Running || c.ExitCode != 137 {
			t.Errorf("after Stop: %+v, %v; want exited 137", c, err)
		}
	})
	t.Run("honours SIGTERM", func(t *testing.T) {
		t.Parallel()
		c := run(t, runtime.ContainerSpec{Name: uniqueName(t, "polite"), NetworkMode: "none", Cmd: []string{"sleep"}})
		waitFor(t, c.ID, 5*time.Second, "waiting for SIGTERM", func(c runtime.Container) bool {
			return c.Running && strings.Contains(logs(t, c.ID), "waiting for SIGTERM")
		})
		start := time.Now()
		if err := testDriver.Stop(testContext(t, 30*time.Second), c.ID, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("Stop took %v, want a quick exit", took)
		}
		c, err := testDriver.Inspect(testContext(t, 10*time.Second), c.ID)
		if err != nil || !c.Exited || c.ExitCode != 0 {
			t.Errorf("after Stop: %+v, %v; want exited 0", c, err)
		}
		// Stopping a stopped container is fine.
		if err := testDriver.Stop(testContext(t, 30*time.Second), c.ID, time.Second); err != nil {
			t.Errorf("second Stop: %v", err)
		}
	})
}

func TestInitProcess(t *testing.T) {
	needDocker(t)
	t.Parallel()
	for _, withInit := range []bool{true, false} {
		t.Run(fmt.Sprintf("init=%v", withInit), func(t *testing.T) {
			t.Parallel()
			c := run(t, runtime.ContainerSpec{Name: uniqueName(t, "pid1"), NetworkMode: "none", Init: withInit, Cmd: []string{"pid1"}})
			c = waitExited(t, c.ID, 15*time.Second)
			out := strings.TrimSpace(logs(t, c.ID))
			isTestbin := strings.HasPrefix(out, "/testbin ")
			if c.ExitCode != 0 || isTestbin == withInit {
				t.Errorf("init=%v: exit %d, PID 1 is %q", withInit, c.ExitCode, out)
			}
		})
	}
}

func TestCreateMapsSpec(t *testing.T) {
	d := needDocker(t)
	t.Parallel()
	hostDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(hostDir, "hello"), []byte("from host"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := runtime.ContainerSpec{
		Name:                   uniqueName(t, "full"),
		Labels:                 map[string]string{"app": "web"},
		Entrypoint:             []string{"/testbin"},
		Cmd:                    []string{"serve", "-addr", ":8080"},
		Env:                    []string{"A=1"},
		WorkingDir:             "/",
		User:                   "1000:1000",
		Hostname:               "web-host",
		NetworkMode:            "bridge",
		PortBindings:           []runtime.PortBinding{{ContainerPort: 8080, HostIP: "127.0.0.1"}},
		ExtraHosts:             []string{"db:10.1.2.3"},
		ReadonlyRootfs:         true,
		MemoryBytes:            64 << 20,
		MemoryReservationBytes: 32 << 20,
		CPUShares:              256,
		Ulimits:                []runtime.Ulimit{{Name: "nofile", Soft: 1000, Hard: 2000}},
		Sysctls:                map[string]string{"net.core.somaxconn": "511"},
		Tmpfs:                  map[string]string{"/scratch": "rw,size=1m"},
		ShmSizeBytes:           16 << 20,
		Mounts:                 []runtime.Mount{{Source: hostDir, Target: "/data", ReadOnly: true}, {Target: "/anon"}},
		StopTimeout:            2 * time.Second,
		LogDriver:              "json-file",
		LogOptions:             map[string]string{"max-size": "1m"},
		Interactive:            true,
		SecurityOpt:            []string{"no-new-privileges"},
		CapAdd:                 []string{"NET_ADMIN"},
		CapDrop:                []string{"MKNOD"},
	}
	c := create(t, spec)
	if c.Running || c.Exited || c.Name != spec.Name || c.Image != testImage || !strings.HasPrefix(c.ImageID, "sha256:") || c.Created.IsZero() {
		t.Errorf("created = %+v", c)
	}
	raw, err := d.client.ContainerInspect(testContext(t, 10*time.Second), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	hc, cfg := raw.HostConfig, raw.Config
	checks := []struct {
		what      string
		got, want any
	}{
		{"entrypoint", []string(cfg.Entrypoint), spec.Entrypoint},
		{"cmd", []string(cfg.Cmd), spec.Cmd},
		{"env has A=1", slices.Contains(cfg.Env, "A=1"), true},
		{"env keeps the image's", slices.Contains(cfg.Env, "TESTBIN=1"), true},
		{"user", cfg.User, spec.User},
		{"hostname", cfg.Hostname, spec.Hostname},
		{"labels", cfg.Labels["app"], "web"},
		{"open stdin", cfg.OpenStdin, true},
		{"stop timeout", *cfg.StopTimeout, 2},
		{"readonly", hc.ReadonlyRootfs, true},
		{"memory", hc.Memory, spec.MemoryBytes},
		{"reservation", hc.MemoryReservation, spec.MemoryReservationBytes},
		{"shares", hc.CPUShares, spec.CPUShares},
		{"ulimit", fmt.Sprint(*hc.Ulimits[0]), fmt.Sprint(struct {
			Name       string
			Hard, Soft int64
		}{"nofile", 2000, 1000})},
		{"sysctl", hc.Sysctls["net.core.somaxconn"], "511"},
		{"tmpfs", hc.Tmpfs["/scratch"], "rw,size=1m"},
		{"shm", hc.ShmSize, spec.ShmSizeBytes},
		{"binds", hc.Binds, []string{hostDir + ":/data:ro"}},
		{"log", hc.LogConfig.Type + " " + hc.LogConfig.Config["max-size"], "json-file 1m"},
		{"security", hc.SecurityOpt, spec.SecurityOpt},
		{"cap add", []string(hc.CapAdd), []string{"CAP_NET_ADMIN"}},
		{"cap drop", []string(hc.CapDrop), []string{"CAP_MKNOD"}},
		{"restart", string(hc.RestartPolicy.Name), "no"},
		{"init", *hc.Init, false},
		{"extra hosts", hc.ExtraHosts, spec.ExtraHosts},
	}
	for _, c := range checks {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}

	if err := d.Start(testContext(t, 30*time.Second), c.ID); err != nil {
		t.Fatal(err)
	}
	c, err = d.Inspect(testContext(t, 10*time.Second), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Running || c.StartedAt.IsZero() || len(c.Ports) != 1 || c.Ports[0].ContainerPort != 8080 || c.Ports[0].HostPort == 0 || c.Ports[0].Protocol != "tcp" {
		t.Fatalf("started = %+v", c)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", c.Ports[0].HostPort)
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := (&http.Client{Timeout: time.Second}).Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "ok web-host\n" {
				t.Errorf("GET %s = %q", url, b)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s through the port binding: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestList(t *testing.T) {
	d := needDocker(t)
	t.Parallel()
	group := runID + "-list"
	a := create(t, runtime.ContainerSpec{Name: uniqueName(t, "a"), NetworkMode: "none", Labels: map[string]string{"berth.test.group": group, "side": "left"}})
	b := create(t, runtime.ContainerSpec{Name: uniqueName(t, "b"), NetworkMode: "none", Labels: map[string]string{"berth.test.group": group, "side": "right"}})
	create(t, runtime.ContainerSpec{Name: uniqueName(t, "other"), NetworkMode: "none", Labels: map[string]string{"berth.test.group": group + "-other"}})
	ctx := testContext(t, 30*time.Second)

	all, err := d.List(ctx, map[string]string{"berth.test.group": group})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range all {
		ids = append(ids, c.ID)
		if c.Running || c.Exited || c.Labels["berth.test.group"] != group {
			t.Errorf("listed %+v", c)
		}
	}
	slices.Sort(ids)
	want := []string{a.ID, b.ID}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("List(group) = %v, want %v", ids, want)
	}

	right, err := d.List(ctx, map[string]string{"berth.test.group": group, "side": "right"})
	if err != nil || len(right) != 1 || right[0].ID != b.ID {
		t.Errorf("List(group, right) = %+v, %v; want only %s", right, err, b.ID)
	}
}

func TestEvents(t *testing.T) {
	d := needDocker(t)
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	evs, errs := d.Events(ctx)
	c := run(t, runtime.ContainerSpec{Name: uniqueName(t, "exit3"), NetworkMode: "none", Cmd: []string{"exit", "-code", "3"}, Labels: map[string]string{"berth.test.events": "yes"}})
	seen := map[string]runtime.Event{}
	timeout := time.After(15 * time.Second)
	for seen["start"].ContainerID == "" || seen["die"].ContainerID == "" {
		select {
		case ev := <-evs:
			if ev.ContainerID == c.ID {
				seen[ev.Action] = ev
			}
		case err := <-errs:
			t.Fatalf("event stream broke: %v", err)
		case <-timeout:
			t.Fatalf("no start and die events; saw %v", seen)
		}
	}
	die := seen["die"]
	if die.Labels["exitCode"] != "3" || die.Labels["berth.test.events"] != "yes" || die.Time.IsZero() || time.Since(die.Time) > time.Minute {
		t.Errorf("die event = %+v", die)
	}
	cancel()
	select {
	case err, ok := <-errs:
		if ok && err != nil {
			t.Errorf("error after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("error channel not closed after cancel")
	}
	for range evs {
	}
}

func TestStats(t *testing.T) {
	d := needDocker(t)
	t.Parallel()
	c := run(t, runtime.ContainerSpec{Name: uniqueName(t, "sleeper"), NetworkMode: "none", Cmd: []string{"sleep"}})
	raw, err := d.Stats(testContext(t, 30*time.Second), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var stats struct {
		Name        string         `json:"name"`
		ID          string         `json:"id"`
		CPUStats    map[string]any `json:"cpu_stats"`
		PreCPUStats map[string]any `json:"precpu_stats"`
		MemoryStats struct {
			Usage uint64 `json:"usage"`
		} `json:"memory_stats"`
	}
	if err := json.Unmarshal(raw, &stats); err != nil {
		t.Fatalf("stats JSON: %v\n%s", err, raw)
	}
	if stats.ID != c.ID || stats.MemoryStats.Usage == 0 || stats.CPUStats["cpu_usage"] == nil || stats.PreCPUStats["cpu_usage"] == nil {
		t.Errorf("stats = %s", raw)
	}
}

func TestNotFound(t *testing.T) {
	d := needDocker(t)
	t.Parallel()
	ctx := testContext(t, 30*time.Second)
	missing := "berthtest-" + runID + "-missing"
	checks := map[string]error{
		"Inspect": func() error { _, err := d.Inspect(ctx, missing); return err }(),
		"Start":   d.Start(ctx, missing),
		"Stop":    d.Stop(ctx, missing, time.Second),
		"Remove":  d.Remove(ctx, missing),
		"Stats":   func() error { _, err := d.Stats(ctx, missing); return err }(),
		"Create": func() error {
			_, err := d.Create(ctx, runtime.ContainerSpec{Image: "berth-test/no-such-image:x"})
			return err
		}(),
	}
	for op, err := range checks {
		if !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("%s of a missing thing: %v, want runtime.ErrNotFound", op, err)
		}
	}
}

func TestTaskCgroupLimits(t *testing.T) {
	d := needDocker(t)
	t.Parallel()
	ctx := testContext(t, 60*time.Second)
	driver, version, err := d.cgroupSetup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	taskID := "berthtest" + runID
	parent, err := d.SetTaskResources(ctx, taskID, runtime.TaskResources{CPUUnits: 512, MemoryMiB: 32})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.ReleaseTaskResources(context.Background(), taskID); err != nil {
			t.Errorf("release: %v", err)
		}
	})
	if driver != "cgroupfs" {
		if parent != "" {
			t.Errorf("cgroup parent %q with driver %s, want none", parent, driver)
		}
		t.Skipf("task cgroups need the cgroupfs driver; Docker uses %s", driver)
	}
	if parent != "/berth/"+taskID {
		t.Fatalf("cgroup parent = %q", parent)
	}
	memDir := filepath.Join("/sys/fs/cgroup/memory/berth", taskID)
	if version == "2" {
		memDir = filepath.Join("/sys/fs/cgroup/berth", taskID)
	} else {
		for file, want := range map[string]string{
			"memory/berth/" + taskID + "/memory.limit_in_bytes": "33554432",
			"cpu/berth/" + taskID + "/cpu.cfs_quota_us":         "50000",
			"cpu/berth/" + taskID + "/cpu.cfs_period_us":        "100000",
		} {
			got, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", file))
			if err != nil || strings.TrimSpace(string(got)) != want {
				t.Errorf("%s = %q, %v; want %s", file, got, err, want)
			}
		}
	}

	// The holder and a container land under the task's cgroup.
	h := holder(t, runtime.HolderSpec{CgroupParent: parent})
	sleeper := run(t, runtime.ContainerSpec{Name: uniqueName(t, "sleeper"), NetworkMode: "container:" + h.ID, CgroupParent: parent, Cmd: []string{"sleep"}})
	for _, id := range []string{h.ID, sleeper.ID} {
		if _, err := os.Stat(filepath.Join(memDir, id)); err != nil {
			t.Errorf("container %s is not under the task cgroup: %v", id[:12], err)
		}
	}
	// A container without a limit of its own is held to the task's.
	hog := run(t, runtime.ContainerSpec{Name: uniqueName(t, "hog"), NetworkMode: "container:" + h.ID, CgroupParent: parent, Cmd: []string{"alloc", "-mib", "96"}})
	c := waitExited(t, hog.ID, 20*time.Second)
	if c.ExitCode != 137 {
		t.Errorf("hog allocating 96 MiB in a 32 MiB task: %+v, want exit 137\n%s", c, logs(t, hog.ID))
	}
	t.Logf("hog: exit %d, OOMKilled %v", c.ExitCode, c.OOMKilled)

	// Once the containers are gone, release removes every hierarchy's
	// task cgroup.
	for _, id := range []string{hog.ID, sleeper.ID, h.ID} {
		if err := d.Remove(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.ReleaseTaskResources(ctx, taskID); err != nil {
		t.Fatal(err)
	}
	matches, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*/berth", taskID))
	matches2, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/berth", taskID))
	if left := append(matches, matches2...); len(left) > 0 {
		t.Errorf("task cgroups left after release: %v", left)
	}
}

func TestPullImageOnlyIfMissing(t *testing.T) {
	d := needDocker(t)
	t.Parallel()
	img, err := d.PullImage(testContext(t, 30*time.Second), testImage, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	inspect, err := d.client.ImageInspect(testContext(t, 10*time.Second), testImage)
	if err != nil {
		t.Fatal(err)
	}
	if img.ID != inspect.ID || img.RepoDigest != "" || !slices.Equal(img.Entrypoint, []string{"/testbin"}) ||
		!slices.Equal(img.Cmd, []string{"sleep"}) || !slices.Contains(img.Env, "TESTBIN=1") || img.WorkingDir != "/" {
		t.Errorf("image = %+v", img)
	}
	// Without onlyIfMissing a local-only image is pulled, and there is no
	// registry for it.
	if _, err := d.PullImage(testContext(t, 30*time.Second), "127.0.0.1:1/berthtest/none:v1", nil, false); err == nil {
		t.Error("pull from a closed port succeeded")
	}
}

// TestPullImageFromRegistry pulls through Docker from a registry on
// loopback that wants basic auth, and checks the digest berth reports.
func TestPullImageFromRegistry(t *testing.T) {
	d := needDocker(t)
	t.Parallel()
	const user, password = "AWS", "s3cret"
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="berth-test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	tarBytes, err := singleFileTar("payload", []byte("payload of run "+runID))
	if err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(tarBytes)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cfgFile, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfgFile = cfgFile.DeepCopy()
	cfgFile.OS, cfgFile.Architecture = "linux", goruntime.GOARCH
	cfgFile.Config.Entrypoint = []string{"/payload"}
	cfgFile.Config.Env = []string{"FROM_REGISTRY=1"}
	cfgFile.Config.User = "1000"
	if img, err = mutate.ConfigFile(img, cfgFile); err != nil {
		t.Fatal(err)
	}
	ref := host + "/berthtest/app-" + runID + ":v1"
	parsed, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(parsed, img, remote.WithAuth(&authn.Basic{Username: user, Password: password})); err != nil {
		t.Fatalf("push: %v", err)
	}
	manifestDigest, _ := img.Digest()
	configDigest, _ := img.ConfigName()

	ctx := testContext(t, 60*time.Second)
	if _, err := d.PullImage(ctx, ref, &runtime.Auth{Username: user, Password: "wrong", ServerAddress: host}, false); err == nil {
		t.Error("pull with a wrong password succeeded")
	}
	pulled, err := d.PullImage(ctx, ref, &runtime.Auth{Username: user, Password: password, ServerAddress: host}, false)
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	t.Cleanup(func() {
		d.client.ImageRemove(context.Background(), pulled.ID, image.RemoveOptions{Force: true, PruneChildren: true})
	})
	if pulled.ID != configDigest.String() || pulled.RepoDigest != manifestDigest.String() ||
		!slices.Equal(pulled.Entrypoint, []string{"/payload"}) || !slices.Contains(pulled.Env, "FROM_REGISTRY=1") || pulled.User != "1000" {
		t.Errorf("pulled = %+v; want ID %s, RepoDigest %s", pulled, configDigest, manifestDigest)
	}

	// Present now: onlyIfMissing answers without the registry.
	srv.Close()
	again, err := d.PullImage(ctx, ref, nil, true)
	if err != nil || again.ID != pulled.ID || again.RepoDigest != pulled.RepoDigest {
		t.Errorf("onlyIfMissing after pull = %+v, %v", again, err)
	}
}

// TestStartFailure pins what the agent sees when a container cannot start
// (CannotStartContainerError): Start fails, and Inspect reports Docker's
// error on a container that never ran.
func TestStartFailure(t *testing.T) {
	d := needDocker(t)
	t.Parallel()
	c := create(t, runtime.ContainerSpec{Name: uniqueName(t, "broken"), NetworkMode: "none", Entrypoint: []string{"/no/such/binary"}})
	if err := d.Start(testContext(t, 30*time.Second), c.ID); err == nil {
		t.Fatal("Start of a container without its executable succeeded")
	}
	c, err := d.Inspect(testContext(t, 10*time.Second), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Running || c.Error == "" || !c.StartedAt.IsZero() {
		t.Errorf("after a failed start: %+v", c)
	}
	t.Logf("failed start: exited=%v exit=%d error=%q", c.Exited, c.ExitCode, c.Error)
}

func TestStatsOfStoppedContainer(t *testing.T) {
	d := needDocker(t)
	t.Parallel()
	c := run(t, runtime.ContainerSpec{Name: uniqueName(t, "done"), NetworkMode: "none", Cmd: []string{"exit"}})
	waitExited(t, c.ID, 15*time.Second)
	start := time.Now()
	raw, err := d.Stats(testContext(t, 30*time.Second), c.ID)
	if err != nil || !json.Valid(raw) {
		t.Errorf("Stats of a stopped container = %s, %v", raw, err)
	}
	t.Logf("stats of a stopped container took %v", time.Since(start))
}
