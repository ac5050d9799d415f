package docker

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/vishvananda/netlink"

	"github.com/berth/berth/internal/runtime"
)

// bridgeNameOption is the bridge driver's option naming the host interface.
const bridgeNameOption = "com.docker.network.bridge.name"

// EnsureTaskNetwork creates the task bridge, or adopts an existing network
// of that name when it has the same subnet and bridge, then adds the extra
// host addresses to the bridge interface.
func (d *Driver) EnsureTaskNetwork(ctx context.Context, spec runtime.NetworkSpec) (runtime.Network, error) {
	if spec.Name == "" || spec.BridgeName == "" {
		return runtime.Network{}, fmt.Errorf("docker: task network needs a name and a bridge name")
	}
	if len(spec.BridgeName) > 15 {
		return runtime.Network{}, fmt.Errorf("docker: bridge name %q is longer than 15 characters", spec.BridgeName)
	}
	subnet, err := netip.ParsePrefix(spec.Subnet)
	if err != nil {
		return runtime.Network{}, fmt.Errorf("docker: task network subnet %q: %w", spec.Subnet, err)
	}
	gateway, err := netip.ParseAddr(spec.Gateway)
	if err != nil {
		return runtime.Network{}, fmt.Errorf("docker: task network gateway %q: %w", spec.Gateway, err)
	}
	if !subnet.Contains(gateway) {
		return runtime.Network{}, fmt.Errorf("docker: gateway %s is outside subnet %s", gateway, subnet)
	}
	extra := make([]*netlink.Addr, 0, len(spec.ExtraHostAddresses))
	for _, cidr := range spec.ExtraHostAddresses {
		addr, err := netlink.ParseAddr(cidr)
		if err != nil {
			return runtime.Network{}, fmt.Errorf("docker: extra host address %q: %w", cidr, err)
		}
		extra = append(extra, addr)
	}

	taskNet, err := d.adoptNetwork(ctx, spec, subnet)
	if err != nil {
		return runtime.Network{}, err
	}
	if taskNet.ID == "" {
		resp, err := d.client.NetworkCreate(ctx, spec.Name, network.CreateOptions{
			Driver:  "bridge",
			Options: map[string]string{bridgeNameOption: spec.BridgeName},
			IPAM: &network.IPAM{
				Driver: "default",
				Config: []network.IPAMConfig{{Subnet: subnet.Masked().String(), Gateway: gateway.String()}},
			},
		})
		if err != nil {
			// Another agent may have created it meanwhile: adopt that one.
			if !cerrdefs.IsConflict(err) {
				return runtime.Network{}, fmt.Errorf("docker: create network %s: %w", spec.Name, err)
			}
			if taskNet, err = d.adoptNetwork(ctx, spec, subnet); err != nil {
				return runtime.Network{}, err
			}
			if taskNet.ID == "" {
				return runtime.Network{}, fmt.Errorf("docker: create network %s: conflict, but no such network", spec.Name)
			}
		} else {
			if resp.Warning != "" {
				d.log.WarnContext(ctx, "docker warned creating the task network", "network", spec.Name, "warning", resp.Warning)
			}
			d.log.InfoContext(ctx, "created task network", "network", spec.Name, "bridge", spec.BridgeName, "subnet", subnet.String())
			taskNet = runtime.Network{ID: resp.ID, Name: spec.Name, BridgeName: spec.BridgeName, Subnet: subnet.Masked().String(), Gateway: gateway.String()}
		}
	}

	if len(extra) > 0 {
		link, err := netlink.LinkByName(taskNet.BridgeName)
		if err != nil {
			return runtime.Network{}, fmt.Errorf("docker: find bridge %s: %w", taskNet.BridgeName, err)
		}
		for _, addr := range extra {
			if err := netlink.AddrReplace(link, addr); err != nil {
				return runtime.Network{}, fmt.Errorf("docker: add %s to bridge %s: %w", addr.IPNet, taskNet.BridgeName, err)
			}
		}
	}
	return taskNet, nil
}

// adoptNetwork returns the existing network named spec.Name if it fits
// spec, an empty Network when there is none, and an error when one exists
// that does not fit.
func (d *Driver) adoptNetwork(ctx context.Context, spec runtime.NetworkSpec, subnet netip.Prefix) (runtime.Network, error) {
	existing, err := d.client.NetworkInspect(ctx, spec.Name, network.InspectOptions{})
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return runtime.Network{}, nil
		}
		return runtime.Network{}, fmt.Errorf("docker: inspect network %s: %w", spec.Name, err)
	}
	// Docker also resolves ID prefixes; only the name counts here.
	if existing.Name != spec.Name {
		return runtime.Network{}, nil
	}
	if existing.Driver != "bridge" {
		return runtime.Network{}, fmt.Errorf("docker: network %s exists with driver %q, not bridge; remove it or configure another task network name", spec.Name, existing.Driver)
	}
	if bridge := existing.Options[bridgeNameOption]; bridge != spec.BridgeName {
		return runtime.Network{}, fmt.Errorf("docker: network %s exists on bridge %q, not %q; remove it or configure another task network name", spec.Name, bridge, spec.BridgeName)
	}
	for _, cfg := range existing.IPAM.Config {
		have, err := netip.ParsePrefix(cfg.Subnet)
		if err != nil || have.Masked() != subnet.Masked() {
			continue
		}
		return runtime.Network{
			ID:         existing.ID,
			Name:       existing.Name,
			BridgeName: spec.BridgeName,
			Subnet:     have.Masked().String(),
			Gateway:    cfg.Gateway,
		}, nil
	}
	subnets := make([]string, 0, len(existing.IPAM.Config))
	for _, cfg := range existing.IPAM.Config {
		subnets = append(subnets, cfg.Subnet)
	}
	return runtime.Network{}, fmt.Errorf("docker: network %s exists with subnet %s, not %s; remove it (docker network rm %s) or configure that subnet",
		spec.Name, strings.Join(subnets, ","), subnet.Masked(), spec.Name)
}

// CreateNetworkHolder creates and starts the pause container holding a
// task's network namespace on the task network.
func (d *Driver) CreateNetworkHolder(ctx context.Context, spec runtime.HolderSpec) (runtime.Container, error) {
	if spec.Network == "" {
		return runtime.Container{}, fmt.Errorf("docker: network holder %s needs a network", spec.Name)
	}
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
		NetworkMode:   container.NetworkMode(spec.Network),
		DNS:           spec.DNSServers,
		DNSSearch:     spec.DNSSearch,
		ExtraHosts:    spec.ExtraHosts,
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		Resources:     container.Resources{CgroupParent: spec.CgroupParent},
	}
	networking := &network.NetworkingConfig{
		EndpointsConfig: map[string]*network.EndpointSettings{spec.Network: {}},
	}
	created, err := d.client.ContainerCreate(ctx, config, hostConfig, networking, nil, spec.Name)
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
	// The subnet as configured on the network (the endpoint's prefix length
	// gives the same, but the network is the authority).
	if taskNet, err := d.client.NetworkInspect(ctx, spec.Network, network.InspectOptions{}); err == nil {
		for _, cfg := range taskNet.IPAM.Config {
			if p, err := netip.ParsePrefix(cfg.Subnet); err == nil && c.IPAddress != "" {
				if ip, err := netip.ParseAddr(c.IPAddress); err == nil && p.Contains(ip) {
					c.SubnetCIDR = p.Masked().String()
					if c.Gateway == "" {
						c.Gateway = cfg.Gateway
					}
				}
			}
		}
	}
	if c.IPAddress == "" {
		return runtime.Container{}, fmt.Errorf("docker: network holder %s got no IP address on %s", spec.Name, spec.Network)
	}
	return c, nil
}
