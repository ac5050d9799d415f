package agenthub

import (
	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/ecs/ecsstate"
)

// The hub is where the store meets the wire: these convert between the
// store's records (ecsstate) and the protocol's types (agentproto), field by
// field, so that either can change without the other. Task statuses,
// launch types and the like are ECS's own words in both and pass as they
// are; the ECS API shapes are the same generated types in both.

// setAgentNodeFields sets the fields of a node record the agent is the
// authority on from its Hello; the server's own (status, registration,
// connection) are left as they are.
func setAgentNodeFields(rec *ecsstate.Node, n agentproto.Node) {
	rec.ID = n.ID
	rec.Hostname = n.Hostname
	rec.Clusters = n.Clusters
	rec.LaunchTypes = n.LaunchTypes
	rec.CPU = n.CPU
	rec.MemoryMiB = n.MemoryMiB
	rec.Attributes = n.Attributes
	rec.AgentVersion = n.AgentVersion
}

// wireSpec is a task's spec as its agent receives it.
func wireSpec(s ecsstate.TaskSpec) agentproto.TaskSpec {
	return agentproto.TaskSpec{
		TaskDefinitionARN:    s.TaskDefinitionARN,
		Definition:           s.Definition,
		Overrides:            s.Overrides,
		Cpu:                  s.Cpu,
		Memory:               s.Memory,
		LaunchType:           s.LaunchType,
		CapacityProviderName: s.CapacityProviderName,
		PlatformVersion:      s.PlatformVersion,
		PlatformFamily:       s.PlatformFamily,
		AvailabilityZone:     s.AvailabilityZone,
		Network:              s.Network,
		StartedBy:            s.StartedBy,
		Group:                s.Group,
		Tags:                 s.Tags,
		EnableExecuteCommand: s.EnableExecuteCommand,
		ServiceName:          s.ServiceName,
		Containers: convertSlice(s.Containers, func(c ecsstate.ContainerSpec) agentproto.ContainerSpec {
			return agentproto.ContainerSpec{Name: c.Name, ID: c.ID}
		}),
	}
}

// storedStatus is an agent's report of a task as the task's record keeps it.
func storedStatus(s agentproto.TaskStatus) ecsstate.TaskStatus {
	st := ecsstate.TaskStatus{
		Generation:         s.Generation,
		LastStatus:         s.LastStatus,
		HealthStatus:       s.HealthStatus,
		Connectivity:       s.Connectivity,
		ConnectivityAt:     s.ConnectivityAt,
		PullStartedAt:      s.PullStartedAt,
		PullStoppedAt:      s.PullStoppedAt,
		StartedAt:          s.StartedAt,
		ExecutionStoppedAt: s.ExecutionStoppedAt,
		StoppedAt:          s.StoppedAt,
		StopCode:           s.StopCode,
		StoppedReason:      s.StoppedReason,
		Containers: convertSlice(s.Containers, func(c agentproto.ContainerStatus) ecsstate.ContainerStatus {
			return ecsstate.ContainerStatus{
				Name:            c.Name,
				RuntimeID:       c.RuntimeID,
				LastStatus:      c.LastStatus,
				ExitCode:        c.ExitCode,
				Reason:          c.Reason,
				HealthStatus:    c.HealthStatus,
				ImageDigest:     c.ImageDigest,
				NetworkBindings: c.NetworkBindings,
			}
		}),
		UpdatedAt: s.UpdatedAt,
	}
	if n := s.Network; n != nil {
		st.Network = &ecsstate.NetworkStatus{
			AttachmentID:       n.AttachmentID,
			PrivateIPv4:        n.PrivateIPv4,
			MACAddress:         n.MACAddress,
			SubnetID:           n.SubnetID,
			SubnetCIDR:         n.SubnetCIDR,
			GatewayIPv4:        n.GatewayIPv4,
			PrivateDNSName:     n.PrivateDNSName,
			NetworkInterfaceID: n.NetworkInterfaceID,
		}
	}
	return st
}

// convertSlice converts each element of in; nil stays nil, so that a
// record says "none" the way the wire did.
func convertSlice[From, To any](in []From, convert func(From) To) []To {
	if in == nil {
		return nil
	}
	out := make([]To, len(in))
	for i, v := range in {
		out[i] = convert(v)
	}
	return out
}
