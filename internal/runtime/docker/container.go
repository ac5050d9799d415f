package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/strslice"
	"github.com/docker/go-connections/nat"

	"github.com/berth/berth/internal/runtime"
)

// cleanupTimeout bounds best-effort cleanups that run after the caller's
// context may already have ended.
const cleanupTimeout = 30 * time.Second

// Create creates a container from spec without starting it.
func (d *Driver) Create(ctx context.Context, spec runtime.ContainerSpec) (runtime.Container, error) {
	config, hostConfig, networking, err := createConfigs(spec)
	if err != nil {
		return runtime.Container{}, fmt.Errorf("docker: create container %s: %w", spec.Name, err)
	}
	created, err := d.client.ContainerCreate(ctx, config, hostConfig, networking, nil, spec.Name)
	if err != nil {
		return runtime.Container{}, fmt.Errorf("docker: create container %s: %w", spec.Name, mapErr(err))
	}
	for _, w := range created.Warnings {
		d.log.WarnContext(ctx, "docker warned creating a container", "container", spec.Name, "warning", w)
	}
	return d.Inspect(ctx, created.ID)
}

// createConfigs maps a ContainerSpec to Docker's create request.
func createConfigs(spec runtime.ContainerSpec) (*container.Config, *container.HostConfig, *network.NetworkingConfig, error) {
	if spec.Image == "" {
		return nil, nil, nil, errors.New("no image")
	}
	config := &container.Config{
		Image:      spec.Image,
		Labels:     spec.Labels,
		Env:        spec.Env,
		WorkingDir: spec.WorkingDir,
		User:       spec.User,
		Hostname:   spec.Hostname,
		OpenStdin:  spec.Interactive,
		Tty:        spec.TTY,
	}
	// Non-nil (even empty) replaces the image's; nil keeps it.
	if spec.Entrypoint != nil {
		config.Entrypoint = strslice.StrSlice(spec.Entrypoint)
	}
	if spec.Cmd != nil {
		config.Cmd = strslice.StrSlice(spec.Cmd)
	}
	if spec.StopTimeout > 0 {
		seconds := ceilSeconds(spec.StopTimeout)
		config.StopTimeout = &seconds
	}
	if hc := spec.HealthCheck; hc != nil {
		if len(hc.Test) == 0 {
			return nil, nil, nil, errors.New("health check without a command")
		}
		config.Healthcheck = &container.HealthConfig{
			Test:        hc.Test,
			Interval:    hc.Interval,
			Timeout:     hc.Timeout,
			StartPeriod: hc.StartPeriod,
			Retries:     hc.Retries,
		}
	}

	runInit := spec.Init
	hostConfig := &container.HostConfig{
		NetworkMode:    container.NetworkMode(spec.NetworkMode),
		ExtraHosts:     spec.ExtraHosts,
		DNS:            spec.DNSServers,
		DNSSearch:      spec.DNSSearch,
		Init:           &runInit,
		ReadonlyRootfs: spec.ReadonlyRootfs,
		Privileged:     spec.Privileged,
		Sysctls:        spec.Sysctls,
		Tmpfs:          spec.Tmpfs,
		ShmSize:        spec.ShmSizeBytes,
		SecurityOpt:    spec.SecurityOpt,
		CapAdd:         spec.CapAdd,
		CapDrop:        spec.CapDrop,
		RestartPolicy:  container.RestartPolicy{Name: container.RestartPolicyDisabled},
		LogConfig:      container.LogConfig{Type: spec.LogDriver, Config: spec.LogOptions},
		Resources: container.Resources{
			Memory:            spec.MemoryBytes,
			MemoryReservation: spec.MemoryReservationBytes,
			CPUShares:         spec.CPUShares,
			CgroupParent:      spec.CgroupParent,
		},
	}
	for _, u := range spec.Ulimits {
		hostConfig.Ulimits = append(hostConfig.Ulimits, &container.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	for _, m := range spec.Mounts {
		if m.Target == "" {
			return nil, nil, nil, errors.New("mount without a target path")
		}
		if m.Source == "" {
			// No source: an anonymous volume, removed with the container.
			if config.Volumes == nil {
				config.Volumes = map[string]struct{}{}
			}
			config.Volumes[m.Target] = struct{}{}
			continue
		}
		// Binds rather than Mounts: a missing host path is created (as ECS
		// host volumes expect), and a source without "/" names a volume.
		bind := m.Source + ":" + m.Target
		if m.ReadOnly {
			bind += ":ro"
		}
		hostConfig.Binds = append(hostConfig.Binds, bind)
	}
	for _, pb := range spec.PortBindings {
		port, err := natPort(pb.ContainerPort, pb.Protocol)
		if err != nil {
			return nil, nil, nil, err
		}
		if config.ExposedPorts == nil {
			config.ExposedPorts = nat.PortSet{}
			hostConfig.PortBindings = nat.PortMap{}
		}
		config.ExposedPorts[port] = struct{}{}
		hostPort := ""
		if pb.HostPort != 0 {
			hostPort = strconv.Itoa(pb.HostPort)
		}
		hostConfig.PortBindings[port] = append(hostConfig.PortBindings[port], nat.PortBinding{HostIP: pb.HostIP, HostPort: hostPort})
	}
	return config, hostConfig, nil, nil
}

func natPort(port int, protocol string) (nat.Port, error) {
	if protocol == "" {
		protocol = "tcp"
	}
	protocol = strings.ToLower(protocol)
	if protocol != "tcp" && protocol != "udp" {
		return "", fmt.Errorf("port %d: protocol %q is neither tcp nor udp", port, protocol)
	}
	if port < 1 || port > 65535 {
		return "", fmt.Errorf("container port %d out of range", port)
	}
	return nat.NewPort(protocol, strconv.Itoa(port))
}

// ceilSeconds rounds a duration up to whole seconds, the unit Docker takes.
func ceilSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}

// Start starts a created container.
func (d *Driver) Start(ctx context.Context, id string) error {
	if err := d.client.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return fmt.Errorf("docker: start %s: %w", id, mapErr(err))
	}
	return nil
}

// Stop sends the container's stop signal, waits up to timeout (rounded up
// to whole seconds) and then kills it. Stopping a stopped container is not
// an error.
func (d *Driver) Stop(ctx context.Context, id string, timeout time.Duration) error {
	seconds := ceilSeconds(timeout)
	if err := d.client.ContainerStop(ctx, id, container.StopOptions{Timeout: &seconds}); err != nil {
		return fmt.Errorf("docker: stop %s: %w", id, mapErr(err))
	}
	return nil
}

// Remove removes a container, killing it if it runs, with its anonymous
// volumes.
func (d *Driver) Remove(ctx context.Context, id string) error {
	if err := d.client.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
		return fmt.Errorf("docker: remove %s: %w", id, mapErr(err))
	}
	return nil
}

// Inspect returns a container's state.
func (d *Driver) Inspect(ctx context.Context, id string) (runtime.Container, error) {
	inspect, err := d.client.ContainerInspect(ctx, id)
	if err != nil {
		return runtime.Container{}, fmt.Errorf("docker: inspect %s: %w", id, mapErr(err))
	}
	return containerFromInspect(inspect), nil
}

// List returns the containers, running or not, carrying every label in
// labels, newest first.
func (d *Driver) List(ctx context.Context, labels map[string]string) ([]runtime.Container, error) {
	args := filters.NewArgs()
	for k, v := range labels {
		args.Add("label", k+"="+v)
	}
	summaries, err := d.client.ContainerList(ctx, container.ListOptions{All: true, Filters: args})
	if err != nil {
		return nil, fmt.Errorf("docker: list containers: %w", err)
	}
	// The summary lacks exit codes and times; inspect each for the full
	// state, skipping containers removed in between.
	out := make([]runtime.Container, 0, len(summaries))
	for _, s := range summaries {
		inspect, err := d.client.ContainerInspect(ctx, s.ID)
		if err != nil {
			if cerrdefs.IsNotFound(err) {
				continue
			}
			return nil, fmt.Errorf("docker: inspect %s: %w", s.ID, err)
		}
		out = append(out, containerFromInspect(inspect))
	}
	return out, nil
}

// Stats returns one sample of a container's resource usage as Docker's
// stats JSON. It asks for a non-streamed sample without one-shot, so that
// precpu_stats is filled (the daemon takes two readings about a second
// apart): CPU percentages are computed from the difference.
func (d *Driver) Stats(ctx context.Context, id string) ([]byte, error) {
	resp, err := d.client.ContainerStats(ctx, id, false)
	if err != nil {
		return nil, fmt.Errorf("docker: stats %s: %w", id, mapErr(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("docker: stats %s: %w", id, err)
	}
	return body, nil
}

// Events streams container events from now until ctx ends. The error
// channel receives one error if the stream breaks (not when ctx ends);
// then both channels close.
func (d *Driver) Events(ctx context.Context) (<-chan runtime.Event, <-chan error) {
	out := make(chan runtime.Event)
	errc := make(chan error, 1)
	ctx, cancel := context.WithCancel(ctx)
	msgs, dockerErrs := d.client.Events(ctx, events.ListOptions{
		Filters: filters.NewArgs(filters.Arg("type", string(events.ContainerEventType))),
	})
	go func() {
		defer cancel()
		defer close(out)
		defer close(errc)
		for {
			select {
			case <-ctx.Done():
				return
			case err := <-dockerErrs:
				if err != nil && ctx.Err() == nil {
					errc <- fmt.Errorf("docker: events: %w", err)
				}
				return
			case msg := <-msgs:
				ev := eventFromMessage(msg)
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, errc
}

func eventFromMessage(msg events.Message) runtime.Event {
	ev := runtime.Event{
		ContainerID: msg.Actor.ID,
		Action:      string(msg.Action),
		// Docker merges the container's labels with its own attributes
		// (name, image, exitCode, ...) here.
		Labels: msg.Actor.Attributes,
	}
	switch {
	case msg.TimeNano != 0:
		ev.Time = time.Unix(0, msg.TimeNano).UTC()
	case msg.Time != 0:
		ev.Time = time.Unix(msg.Time, 0).UTC()
	}
	return ev
}

// containerFromInspect maps Docker's inspect answer to runtime.Container.
func containerFromInspect(inspect container.InspectResponse) runtime.Container {
	var c runtime.Container
	if base := inspect.ContainerJSONBase; base != nil {
		c.ID = base.ID
		c.Name = strings.TrimPrefix(base.Name, "/")
		c.ImageID = base.Image
		c.Created = parseDockerTime(base.Created)
		if s := base.State; s != nil {
			c.Running = s.Running
			c.Pid = s.Pid
			c.StartedAt = parseDockerTime(s.StartedAt)
			c.FinishedAt = parseDockerTime(s.FinishedAt)
			c.Exited = (s.Status == container.StateExited || s.Status == container.StateDead) && !c.FinishedAt.IsZero()
			c.ExitCode = s.ExitCode
			c.OOMKilled = s.OOMKilled
			c.Error = s.Error
			if s.Health != nil {
				c.Health = string(s.Health.Status)
			}
		}
	}
	if cfg := inspect.Config; cfg != nil {
		c.Image = cfg.Image
		c.Labels = cfg.Labels
	}
	if ns := inspect.NetworkSettings; ns != nil {
		c.Ports = portsFromMap(ns.Ports)
		setEndpoint(&c, ns.Networks)
	}
	return c
}

// setEndpoint fills the container's address on its network: the only one
// for a holder; with several, the first by name that has an address.
func setEndpoint(c *runtime.Container, endpoints map[string]*network.EndpointSettings) {
	names := make([]string, 0, len(endpoints))
	for name, ep := range endpoints {
		if ep != nil && ep.IPAddress != "" {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return
	}
	sort.Strings(names)
	ep := endpoints[names[0]]
	c.IPAddress = ep.IPAddress
	c.MACAddress = ep.MacAddress
	c.Gateway = ep.Gateway
	if ip, err := netip.ParseAddr(ep.IPAddress); err == nil && ep.IPPrefixLen > 0 {
		if p, err := ip.Prefix(ep.IPPrefixLen); err == nil {
			c.SubnetCIDR = p.String()
		}
	}
}

func portsFromMap(ports nat.PortMap) []runtime.PortBinding {
	var out []runtime.PortBinding
	for port, bindings := range ports {
		for _, b := range bindings {
			hostPort, err := strconv.Atoi(b.HostPort)
			if err != nil {
				continue
			}
			out = append(out, runtime.PortBinding{
				ContainerPort: port.Int(),
				HostPort:      hostPort,
				Protocol:      port.Proto(),
				HostIP:        b.HostIP,
			})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.ContainerPort != b.ContainerPort {
			return a.ContainerPort < b.ContainerPort
		}
		if a.Protocol != b.Protocol {
			return a.Protocol < b.Protocol
		}
		return a.HostIP < b.HostIP
	})
	return out
}

// parseDockerTime parses Docker's RFC 3339 times; Docker's zero time
// (0001-01-01T00:00:00Z) and anything unparsable become the zero Time.
func parseDockerTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t.UTC()
}
