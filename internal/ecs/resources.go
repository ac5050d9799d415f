package ecs

import (
	"slices"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
)

// reservation is what a task holds on the container instance it runs on:
// CPU units, memory MiB and the host ports it binds. Container instance
// accounting (remainingResources) and placement both use it.
type reservation struct {
	CPU       int
	MemoryMiB int
	// TCPPorts and UDPPorts are host ports, sorted; awsvpc and none tasks
	// bind none (an awsvpc task's ports live on its own interface).
	TCPPorts []int32
	UDPPorts []int32
}

// taskReservation returns what a task reserves. Task-level cpu and memory
// (overrides already applied in spec.Cpu/spec.Memory) count when set;
// otherwise the sum over containers of cpu, and of memoryReservation if
// set else memory, with container overrides applied, as ECS places tasks.
func taskReservation(spec ecsstate.TaskSpec) reservation {
	var r reservation
	overrides := map[string]ecstypes.ContainerOverride{}
	if spec.Overrides != nil {
		for _, o := range spec.Overrides.ContainerOverrides {
			overrides[awsapi.Deref(o.Name)] = o
		}
	}
	var containerCPU, containerMemory int
	for _, c := range spec.Definition.ContainerDefinitions {
		cpu, memory, memoryReservation := c.Cpu, c.Memory, c.MemoryReservation
		if o, ok := overrides[awsapi.Deref(c.Name)]; ok {
			if o.Cpu != nil {
				cpu = o.Cpu
			}
			if o.Memory != nil {
				memory = o.Memory
			}
			if o.MemoryReservation != nil {
				memoryReservation = o.MemoryReservation
			}
		}
		containerCPU += int(awsapi.Deref(cpu))
		if memoryReservation != nil {
			containerMemory += int(*memoryReservation)
		} else {
			containerMemory += int(awsapi.Deref(memory))
		}
	}
	r.CPU, r.MemoryMiB = containerCPU, containerMemory
	if n, ok := parseCPU(spec.Cpu); ok {
		r.CPU = n
	}
	if n, ok := parseMemory(spec.Memory); ok {
		r.MemoryMiB = n
	}

	mode := awsapi.Deref(spec.Definition.NetworkMode)
	if mode == "" {
		mode = ecstypes.NetworkModeBridge
	}
	if mode != ecstypes.NetworkModeBridge && mode != ecstypes.NetworkModeHost {
		return r
	}
	for _, c := range spec.Definition.ContainerDefinitions {
		for _, pm := range c.PortMappings {
			port := awsapi.Deref(pm.HostPort)
			if mode == ecstypes.NetworkModeHost && port == 0 {
				port = awsapi.Deref(pm.ContainerPort)
			}
			if port <= 0 {
				continue // bridge without hostPort: a dynamic port, not reserved
			}
			if awsapi.Deref(pm.Protocol) == ecstypes.TransportProtocolUdp {
				r.UDPPorts = append(r.UDPPorts, port)
			} else {
				r.TCPPorts = append(r.TCPPorts, port)
			}
		}
	}
	slices.Sort(r.TCPPorts)
	slices.Sort(r.UDPPorts)
	r.TCPPorts = slices.Compact(r.TCPPorts)
	r.UDPPorts = slices.Compact(r.UDPPorts)
	return r
}

// Task status ordering, for the counts clusters and container instances
// report.

// observedStatus is the task's lastStatus: what its agent last reported,
// PROVISIONING before any report.
func observedStatus(t *ecsstate.Task) string {
	if t.Observed.LastStatus == "" {
		return ecsstate.StatusProvisioning
	}
	return t.Observed.LastStatus
}

// taskIsPending reports whether a task has not yet reached RUNNING (and is
// not STOPPED): ECS's pendingTasksCount.
func taskIsPending(t *ecsstate.Task) bool {
	switch observedStatus(t) {
	case ecsstate.StatusProvisioning, ecsstate.StatusPending, ecsstate.StatusActivating:
		return true
	}
	return false
}

// taskIsRunning reports whether a task's lastStatus is RUNNING: ECS's
// runningTasksCount.
func taskIsRunning(t *ecsstate.Task) bool { return observedStatus(t) == ecsstate.StatusRunning }

// taskIsStopped reports whether a task's lastStatus is STOPPED.
func taskIsStopped(t *ecsstate.Task) bool { return observedStatus(t) == ecsstate.StatusStopped }
