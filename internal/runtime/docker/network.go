package docker

import (
	"context"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/berth/berth/internal/runtime"
)

// CreateNetworkHolder creates and starts the pause container holding a
// task's network namespace, with Docker's "none" network: the agent gives
// it the task's interface.
func (d *Driver) CreateNetworkHolder(ctx context.Context, spec runtime.HolderSpec) (runtime.Container, error) {
	pauseImage, err := d.ensurePauseImage(ctx)
	if err != nil {
		return runtime.Container{}, err
	}
	config := &container.Config{
		Image:    pauseImage,
		Hostname: spec.Hostname,
		Labels:   spec.Labels,
	}
	hostConfig := &container.HostConfig{
		NetworkMode:   network.NetworkNone,
		DNS:           spec.DNSServers,
		DNSSearch:     spec.DNSSearch,
		ExtraHosts:    spec.ExtraHosts,
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		Resources:     container.Resources{CgroupParent: spec.CgroupParent},
	}
	created, err := d.client.ContainerCreate(ctx, config, hostConfig, nil, nil, spec.Name)
	if err != nil {
		return runtime.Container{}, fmt.Errorf("docker: create network holder %s: %w", spec.Name, mapErr(err))
	}
	c, err := d.startHolder(ctx, created.ID, spec)
	if err != nil {
		// A holder that failed half-way would block a retry under the same
		// name; nothing else references it yet.
		cleanupCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if rmErr := d.client.ContainerRemove(cleanupCtx, created.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); rmErr != nil && !cerrdefs.IsNotFound(rmErr) {
			d.log.WarnContext(ctx, "removing failed network holder", "container", created.ID, "err", rmErr)
		}
		return runtime.Container{}, err
	}
	return c, nil
}

func (d *Driver) startHolder(ctx context.Context, id string, spec runtime.HolderSpec) (runtime.Container, error) {
	if err := d.client.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return runtime.Container{}, fmt.Errorf("docker: start network holder %s: %w", spec.Name, mapErr(err))
	}
	inspect, err := d.client.ContainerInspect(ctx, id)
	if err != nil {
		return runtime.Container{}, fmt.Errorf("docker: inspect network holder %s: %w", spec.Name, mapErr(err))
	}
	c := containerFromInspect(inspect)
	if c.Pid == 0 {
		return runtime.Container{}, fmt.Errorf("docker: network holder %s is not running", spec.Name)
	}
	return c, nil
}
