package ecs

import (
	goruntime "runtime"
	"strconv"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
)

// Defaults ECS reports for what is not known or not set.
const (
	healthUnknown    = "UNKNOWN"
	containerPending = "PENDING"
	attachmentENI    = "ElasticNetworkInterface"
	// attachmentDeletedENI is the type ECS reports for the interface of a
	// stopped task, once it is DELETED (OBSERVED in recorded responses).
	attachmentDeletedENI = "eni"
	fargateEphemeralGiB  = 20
	attributeCPUArch     = "ecs.cpu-architecture"
	attachmentPrecreated = "PRECREATED"
	attachmentAttached   = "ATTACHED"
	attachmentDeleted    = "DELETED"
	defaultContainerCPU  = "0"
	failureReasonMissing = "MISSING"
)

// taskVersion is the task's version counter, which ECS increments with
// every change that sends a task state change event: each intent change
// after the first (Generation, a StopTask say) and each status of the
// lifecycle it reached that ECS reports an event for. Those are PENDING,
// RUNNING and STOPPED, and for a task with a network interface (awsvpc)
// PROVISIONING and DEPROVISIONING too: versions 1, 2 for an EC2 task
// PENDING then RUNNING and 1, 2, 3 for a Fargate task PROVISIONING,
// PENDING, RUNNING, as the CLI's documented outputs show. A task that
// stopped before it ran never reached RUNNING. Both parts only grow.
func taskVersion(t *ecsstate.Task, lastStatus string) int64 {
	counted := []string{ecsstate.StatusPending, ecsstate.StatusRunning, ecsstate.StatusStopped}
	if t.Spec.Network != nil {
		counted = []string{ecsstate.StatusProvisioning, ecsstate.StatusPending, ecsstate.StatusRunning, ecsstate.StatusDeprovisioning, ecsstate.StatusStopped}
	}
	var reached int64
	for _, st := range counted {
		if statusRank[st] > statusRank[lastStatus] {
			break
		}
		if st == ecsstate.StatusRunning && t.Observed.StartedAt.IsZero() {
			continue
		}
		reached++
	}
	return max(reached, 1) + max(t.Generation-1, 0)
}

// statusRank orders lastStatus values along the lifecycle.
var statusRank = map[string]int64{
	ecsstate.StatusProvisioning:   0,
	ecsstate.StatusPending:        1,
	ecsstate.StatusActivating:     2,
	ecsstate.StatusRunning:        3,
	ecsstate.StatusDeactivating:   4,
	ecsstate.StatusStopping:       5,
	ecsstate.StatusDeprovisioning: 6,
	ecsstate.StatusStopped:        7,
}

// taskOutput is a task as ECS's API shows it. Tags only when asked for
// (DescribeTasks include=TAGS; RunTask and StartTask show them), else [].
func (s *service) taskOutput(t ecsstate.Task, withTags bool) ecstypes.Task {
	spec := t.Spec
	obs := t.Observed
	taskARN := s.arnsIn(t.Region).Task(t.Cluster, t.ID)
	lastStatus := observedStatus(&t)
	fargate := spec.LaunchType == ecstypes.LaunchTypeFargate

	out := ecstypes.Task{
		TaskArn:              awsapi.String(taskARN),
		ClusterArn:           awsapi.String(s.arnsIn(t.Region).Cluster(t.Cluster)),
		TaskDefinitionArn:    awsapi.String(spec.TaskDefinitionARN),
		Overrides:            taskOverridesOutput(spec.Overrides, spec.Containers),
		LastStatus:           awsapi.String(lastStatus),
		DesiredStatus:        awsapi.String(t.DesiredStatus),
		Cpu:                  awsapi.OptionalString(spec.Cpu),
		Memory:               awsapi.OptionalString(spec.Memory),
		StartedBy:            awsapi.OptionalString(spec.StartedBy),
		Group:                awsapi.OptionalString(spec.Group),
		LaunchType:           awsapi.OptionalString(spec.LaunchType),
		CapacityProviderName: awsapi.OptionalString(spec.CapacityProviderName),
		PlatformVersion:      awsapi.OptionalString(spec.PlatformVersion),
		PlatformFamily:       awsapi.OptionalString(spec.PlatformFamily),
		AvailabilityZone:     awsapi.OptionalString(spec.AvailabilityZone),
		Connectivity:         awsapi.OptionalString(obs.Connectivity),
		ConnectivityAt:       awsapi.OptionalTime(obs.ConnectivityAt),
		PullStartedAt:        awsapi.OptionalTime(obs.PullStartedAt),
		PullStoppedAt:        awsapi.OptionalTime(obs.PullStoppedAt),
		ExecutionStoppedAt:   awsapi.OptionalTime(obs.ExecutionStoppedAt),
		CreatedAt:            awsapi.OptionalTime(t.CreatedAt),
		StartedAt:            awsapi.OptionalTime(obs.StartedAt),
		StoppingAt:           awsapi.OptionalTime(t.StoppingAt),
		StoppedAt:            awsapi.OptionalTime(obs.StoppedAt),
		HealthStatus:         awsapi.String(orDefault(obs.HealthStatus, healthUnknown)),
		EnableExecuteCommand: awsapi.Bool(spec.EnableExecuteCommand),
		Version:              awsapi.Int64(taskVersion(&t, lastStatus)),
		Attachments:          s.taskAttachments(t, lastStatus),
		Containers:           s.containersOutput(t, taskARN),
	}
	// The stop decided first (a StopTask, or the agent's own) is the one
	// ECS reports.
	if t.StopCode != "" {
		out.StopCode, out.StoppedReason = awsapi.String(t.StopCode), awsapi.OptionalString(t.StoppedReason)
	} else if obs.StopCode != "" || obs.StoppedReason != "" {
		out.StopCode, out.StoppedReason = awsapi.OptionalString(obs.StopCode), awsapi.OptionalString(obs.StoppedReason)
	}
	if spec.LaunchType == ecstypes.LaunchTypeEc2 && t.NodeID != "" {
		out.ContainerInstanceArn = awsapi.String(s.arnsIn(t.Region).ContainerInstance(t.Cluster, t.NodeID))
	}
	if fargate {
		size := int32(fargateEphemeralGiB)
		if es := spec.Definition.EphemeralStorage; es != nil && es.SizeInGiB != nil {
			size = *es.SizeInGiB
		}
		if o := spec.Overrides; o != nil && o.EphemeralStorage != nil && o.EphemeralStorage.SizeInGiB != nil {
			size = *o.EphemeralStorage.SizeInGiB
		}
		out.EphemeralStorage = &ecstypes.EphemeralStorage{SizeInGiB: awsapi.Int32(size)}
	}
	out.Attributes = []ecstypes.Attribute{{Name: awsapi.String(attributeCPUArch), Value: awsapi.String(cpuArchitecture(spec.Definition))}}
	if out.Cpu == nil && out.Memory == nil {
		out.Cpu, out.Memory = containersSize(out.Containers)
	}
	// Without include=TAGS ECS still answers the member, empty.
	out.Tags = []ecstypes.Tag{}
	if withTags {
		out.Tags = tagsOrEmpty(spec.Tags)
	}
	return out
}

// containersSize is the size ECS shows for a task whose definition sets
// none (EC2 tasks may leave it to the containers): the sum of its
// containers' CPU units and memory (the hard limit, else the reservation).
func containersSize(containers []ecstypes.Container) (cpu, memory *string) {
	var cpuSum, memorySum int
	for _, c := range containers {
		cpuSum += atoiOrZero(c.Cpu)
		if c.Memory != nil {
			memorySum += atoiOrZero(c.Memory)
		} else {
			memorySum += atoiOrZero(c.MemoryReservation)
		}
	}
	return awsapi.String(strconv.Itoa(cpuSum)), awsapi.String(strconv.Itoa(memorySum))
}

func atoiOrZero(s *string) int {
	n, _ := strconv.Atoi(awsapi.Deref(s))
	return n
}

// taskOverridesOutput is the overrides a task shows: always an object,
// with its lists present even when empty, and one container override per
// container in definition order, as ECS answers: a container nothing
// overrides is listed by name alone ({"name": "web"}), so a reader of
// containerOverrides[0].name finds it as it does in AWS.
func taskOverridesOutput(o *ecstypes.TaskOverride, containers []ecsstate.ContainerSpec) *ecstypes.TaskOverride {
	var out ecstypes.TaskOverride
	if o != nil {
		out = *o
	}
	given := map[string]ecstypes.ContainerOverride{}
	for _, co := range out.ContainerOverrides {
		given[awsapi.Deref(co.Name)] = co
	}
	out.ContainerOverrides = make([]ecstypes.ContainerOverride, 0, len(containers))
	for _, c := range containers {
		co, ok := given[c.Name]
		if !ok {
			co = ecstypes.ContainerOverride{Name: awsapi.String(c.Name)}
		}
		out.ContainerOverrides = append(out.ContainerOverrides, co)
	}
	if out.InferenceAcceleratorOverrides == nil {
		out.InferenceAcceleratorOverrides = []ecstypes.InferenceAcceleratorOverride{}
	}
	return &out
}

// containersOutput lists the task's containers in definition order with
// what the agent observed of each.
func (s *service) containersOutput(t ecsstate.Task, taskARN string) []ecstypes.Container {
	spec := t.Spec
	observed := map[string]ecsstate.ContainerStatus{}
	for _, c := range t.Observed.Containers {
		observed[c.Name] = c
	}
	definitions := map[string]ecstypes.ContainerDefinition{}
	for _, d := range spec.Definition.ContainerDefinitions {
		definitions[awsapi.Deref(d.Name)] = d
	}
	overrides := map[string]ecstypes.ContainerOverride{}
	if spec.Overrides != nil {
		for _, o := range spec.Overrides.ContainerOverrides {
			overrides[awsapi.Deref(o.Name)] = o
		}
	}
	out := make([]ecstypes.Container, 0, len(spec.Containers))
	for _, cs := range spec.Containers {
		def, obs, o := definitions[cs.Name], observed[cs.Name], overrides[cs.Name]
		cpu, memory, reservation := def.Cpu, def.Memory, def.MemoryReservation
		if o.Cpu != nil {
			cpu = o.Cpu
		}
		if o.Memory != nil {
			memory = o.Memory
		}
		if o.MemoryReservation != nil {
			reservation = o.MemoryReservation
		}
		c := ecstypes.Container{
			ContainerArn:      awsapi.String(s.arnsIn(t.Region).Container(t.Cluster, t.ID, cs.ID)),
			TaskArn:           awsapi.String(taskARN),
			Name:              awsapi.String(cs.Name),
			Image:             def.Image,
			ImageDigest:       awsapi.OptionalString(obs.ImageDigest),
			RuntimeId:         awsapi.OptionalString(obs.RuntimeID),
			LastStatus:        awsapi.String(orDefault(obs.LastStatus, containerPending)),
			ExitCode:          obs.ExitCode,
			Reason:            awsapi.OptionalString(obs.Reason),
			NetworkBindings:   obs.NetworkBindings,
			NetworkInterfaces: []ecstypes.NetworkInterface{},
			HealthStatus:      awsapi.String(orDefault(obs.HealthStatus, healthUnknown)),
			Cpu:               awsapi.String(defaultContainerCPU),
			ManagedAgents:     managedAgents(t, obs),
		}
		if c.NetworkBindings == nil {
			c.NetworkBindings = []ecstypes.NetworkBinding{}
		}
		if cpu != nil {
			c.Cpu = awsapi.String(strconv.Itoa(int(*cpu)))
		}
		if memory != nil {
			c.Memory = awsapi.String(strconv.Itoa(int(*memory)))
		}
		if reservation != nil {
			c.MemoryReservation = awsapi.String(strconv.Itoa(int(*reservation)))
		}
		if n := t.Observed.Network; n != nil && spec.Network != nil {
			c.NetworkInterfaces = append(c.NetworkInterfaces, ecstypes.NetworkInterface{
				AttachmentId:       awsapi.String(attachmentID(t)),
				PrivateIpv4Address: awsapi.OptionalString(n.PrivateIPv4),
			})
		}
		out = append(out, c)
	}
	return out
}

// taskAttachments is the task's network interface attachment (awsvpc
// only): PRECREATED until the agent reports the interface, ATTACHED while
// it exists, DELETED once the task stopped.
func (s *service) taskAttachments(t ecsstate.Task, lastStatus string) []ecstypes.Attachment {
	if t.Spec.Network == nil {
		return []ecstypes.Attachment{}
	}
	n := t.Observed.Network
	status := attachmentPrecreated
	switch {
	case lastStatus == ecsstate.StatusStopped:
		status = attachmentDeleted
	case n != nil:
		status = attachmentAttached
	}
	subnet := ""
	if len(t.Spec.Network.Subnets) > 0 {
		subnet = t.Spec.Network.Subnets[0]
	}
	var details []ecstypes.KeyValuePair
	add := func(name, value string) {
		if value != "" {
			details = append(details, ecstypes.KeyValuePair{Name: awsapi.String(name), Value: awsapi.String(value)})
		}
	}
	if n != nil {
		add("subnetId", orDefault(n.SubnetID, subnet))
		add("networkInterfaceId", n.NetworkInterfaceID)
		add("macAddress", n.MACAddress)
		add("privateDnsName", n.PrivateDNSName)
		add("privateIPv4Address", n.PrivateIPv4)
	} else {
		add("subnetId", subnet)
	}
	if details == nil {
		details = []ecstypes.KeyValuePair{}
	}
	typ := attachmentENI
	if status == attachmentDeleted {
		typ = attachmentDeletedENI
	}
	return []ecstypes.Attachment{{
		Id:      awsapi.String(attachmentID(t)),
		Type:    awsapi.String(typ),
		Status:  awsapi.String(status),
		Details: details,
	}}
}

// attachmentID is the id of the task's network interface attachment: the
// one the agent reports once the interface exists, and before that a uuid
// made from the task id, so it is stable without being stored. An agent
// that builds the same id (see ecsstate.AttachmentID) keeps it stable
// throughout.
func attachmentID(t ecsstate.Task) string {
	if n := t.Observed.Network; n != nil && n.AttachmentID != "" {
		return n.AttachmentID
	}
	return ecsstate.AttachmentID(t.ID)
}

// cpuArchitecture is the ecs.cpu-architecture a Fargate task reports: the
// task definition's runtime platform, else the server's own architecture.
func cpuArchitecture(def ecstypes.TaskDefinition) string {
	if rp := def.RuntimePlatform; rp != nil && rp.CpuArchitecture != nil {
		switch *rp.CpuArchitecture {
		case "ARM64":
			return "arm64"
		case "X86_64":
			return "x86_64"
		}
	}
	if goruntime.GOARCH == "arm64" {
		return "arm64"
	}
	return "x86_64"
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// missingFailure is a MISSING failure for an ARN.
func missingFailure(arn string) ecstypes.Failure {
	return ecstypes.Failure{Arn: awsapi.String(arn), Reason: awsapi.String(failureReasonMissing)}
}
