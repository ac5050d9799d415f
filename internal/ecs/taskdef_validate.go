package ecs

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecstypes"
)

// Task definition validation: pure checks of a RegisterTaskDefinition
// request, in the order ECS reports them as far as known. Messages without
// a mark are ECS's own words as seen in real error output; those marked
// UNVERIFIED follow its style.

var (
	familyPattern        = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
	containerNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
)

const (
	maxContainers            = 10
	maxTaskDefinitionBytes   = 64 << 10
	minContainerMemoryMiB    = 6 // Docker's floor for a container's hard limit
	maxFargateStopTimeout    = 120
	minFargateEphemeralGiB   = 21
	maxFargateEphemeralGiB   = 200
	minEC2TaskCPU, maxEC2CPU = 128, 196608
)

// requiresFargate reports whether a registration asks for Fargate
// compatibility.
func requiresFargate(in *ecstypes.RegisterTaskDefinitionRequest) bool {
	return slices.Contains(in.RequiresCompatibilities, ecstypes.CompatibilityFargate)
}

// networkModeOf is the task definition's network mode, bridge by default.
func networkModeOf(mode *string) string {
	if m := awsapi.Deref(mode); m != "" {
		return m
	}
	return ecstypes.NetworkModeBridge
}

// containerIsEssential applies ECS's default: essential unless said not.
func containerIsEssential(c *ecstypes.ContainerDefinition) bool {
	return c.Essential == nil || *c.Essential
}

// validateTaskDefinition checks a registration against ECS's rules, for
// Fargate as well when it requires Fargate.
func validateTaskDefinition(in *ecstypes.RegisterTaskDefinitionRequest) error {
	fargate := requiresFargate(in)
	if err := checkTaskDefinition(in, fargate); err != nil {
		return err
	}
	if fargate && awsapi.Deref(in.ExecutionRoleArn) == "" {
		return checkFargateExecutionRole(in.ContainerDefinitions)
	}
	return nil
}

// checkFargateExecutionRole refuses, as ECS does at registration, a task
// definition that requires Fargate and has no execution role while a
// container needs one: Fargate pulls ECR images, ships awslogs output and
// reads secrets as the execution role, with no instance role to fall back
// on.
func checkFargateExecutionRole(defs []ecstypes.ContainerDefinition) error {
	for _, c := range defs {
		if ecrImagePattern.MatchString(awsapi.Deref(c.Image)) {
			return clientError("Fargate requires task definition to have execution role ARN to support ECR images.")
		}
		if lc := c.LogConfiguration; lc != nil && awsapi.Deref(lc.LogDriver) == "awslogs" {
			return clientError("Fargate requires task definition to have execution role ARN to support log driver awslogs.")
		}
		if len(c.Secrets) > 0 || (c.LogConfiguration != nil && len(c.LogConfiguration.SecretOptions) > 0) {
			// UNVERIFIED wording, in the form of the two above.
			return clientError("Fargate requires task definition to have execution role ARN to support secrets.")
		}
	}
	return nil
}

// checkTaskDefinition checks a registration; fargate adds Fargate's rules.
// It also decides whether a definition that does not require Fargate is
// Fargate-compatible anyway.
func checkTaskDefinition(in *ecstypes.RegisterTaskDefinitionRequest, fargate bool) error {
	family := awsapi.Deref(in.Family)
	if family == "" {
		return clientError("Family can not be blank.")
	}
	if !familyPattern.MatchString(family) {
		return clientError("Family contains invalid characters.") // UNVERIFIED: as Container.name's message
	}
	defs := in.ContainerDefinitions
	if len(defs) == 0 {
		return clientError("Container list cannot be empty.")
	}
	if len(defs) > maxContainers {
		return clientError("Too many containers.")
	}
	mode := networkModeOf(in.NetworkMode)
	byName := make(map[string]*ecstypes.ContainerDefinition, len(defs))
	essential := 0
	for i := range defs {
		c := &defs[i]
		name := awsapi.Deref(c.Name)
		if name == "" {
			return clientError("Container.name should not be null or empty.")
		}
		if !containerNamePattern.MatchString(name) {
			return clientError("Container.name contains invalid characters.")
		}
		if byName[name] != nil {
			return clientError("Duplicate container name '%s'. Container names must be unique within a task definition.", name) // UNVERIFIED
		}
		byName[name] = c
		if strings.TrimSpace(awsapi.Deref(c.Image)) == "" {
			return clientError("Container.image should not be null or empty.")
		}
		if containerIsEssential(c) {
			essential++
		}
		if err := checkContainerResources(c, in.Memory != nil); err != nil {
			return err
		}
		if err := checkHealthCheck(c); err != nil {
			return err
		}
		if err := checkLogConfiguration(c, fargate); err != nil {
			return err
		}
		for _, sec := range c.Secrets {
			if awsapi.Deref(sec.Name) == "" || awsapi.Deref(sec.ValueFrom) == "" {
				return clientError("Invalid setting for container '%s'. Secrets must have a name and a valueFrom.", name) // UNVERIFIED
			}
		}
		for _, u := range c.Ulimits {
			if awsapi.Deref(u.SoftLimit) > awsapi.Deref(u.HardLimit) {
				return clientError("Invalid 'ulimits' setting for container '%s'. The softLimit of '%s' cannot be greater than its hardLimit.", name, awsapi.Deref(u.Name)) // UNVERIFIED
			}
		}
		if t := c.StopTimeout; t != nil && (*t < 0 || (fargate && *t > maxFargateStopTimeout)) {
			return clientError("Invalid 'stopTimeout' setting for container '%s'. The maximum value for Fargate is %d seconds.", name, maxFargateStopTimeout) // UNVERIFIED
		}
		if fargate {
			if p := fargateUnsupportedInContainer(c); p != "" {
				return clientError("Fargate compatible task definitions do not support %s", p)
			}
		}
	}
	if err := checkPortMappings(defs, mode); err != nil {
		return err
	}
	if essential == 0 {
		return clientError("Task definition doesn't have any essential container.")
	}
	if err := checkDependencies(defs, byName); err != nil {
		return err
	}
	if err := checkVolumes(in, byName); err != nil {
		return err
	}
	if err := checkTaskSize(in, fargate, mode); err != nil {
		return err
	}
	if err := checkTags(in.Tags, clientError); err != nil {
		return err
	}
	if b, err := json.Marshal(in); err == nil && len(b) > maxTaskDefinitionBytes {
		return clientError("Task definition size exceeds the maximum of %d KiB.", maxTaskDefinitionBytes>>10) // UNVERIFIED
	}
	return nil
}

// checkContainerResources checks a container's cpu and memory settings.
func checkContainerResources(c *ecstypes.ContainerDefinition, taskMemory bool) error {
	name := awsapi.Deref(c.Name)
	if cpu := c.Cpu; cpu != nil && *cpu < 0 {
		return clientError("Invalid 'cpu' setting for container '%s'.", name)
	}
	if m := c.Memory; m != nil && *m < minContainerMemoryMiB {
		return clientError("Invalid 'memory' setting for container '%s'.", name)
	}
	if r := c.MemoryReservation; r != nil && *r <= 0 {
		return clientError("Invalid 'memoryReservation' setting for container '%s'.", name) // UNVERIFIED
	}
	if c.Memory == nil && c.MemoryReservation == nil && !taskMemory {
		return clientError("Invalid setting for container '%s'. At least one of 'memory' or 'memoryReservation' must be specified.", name)
	}
	// ECS's API reference says memory must be greater than
	// memoryReservation, but ECS accepts them equal (the developer guide's
	// correction); berth follows the service.
	if c.Memory != nil && c.MemoryReservation != nil && *c.MemoryReservation > *c.Memory {
		return clientError("Invalid setting for container '%s'. 'memory' must be greater than or equal to 'memoryReservation'.", name) // UNVERIFIED
	}
	return nil
}

// checkPortMappings checks every container's port mappings: valid ports,
// host ports equal to container ports in awsvpc and host mode, and no port
// bound twice where the containers share a port space.
func checkPortMappings(defs []ecstypes.ContainerDefinition, mode string) error {
	shared := mode == ecstypes.NetworkModeAwsvpc || mode == ecstypes.NetworkModeHost
	taskPorts := map[string]bool{} // "port/protocol" bound in the task's (or host's) space
	for i := range defs {
		c := &defs[i]
		name := awsapi.Deref(c.Name)
		own := map[string]bool{}
		for _, pm := range c.PortMappings {
			protocol := awsapi.Deref(pm.Protocol)
			if protocol == "" {
				protocol = ecstypes.TransportProtocolTcp
			}
			if protocol != ecstypes.TransportProtocolTcp && protocol != ecstypes.TransportProtocolUdp {
				return clientError("Invalid 'protocol' setting for container '%s'.", name) // UNVERIFIED
			}
			if pm.ContainerPort == nil {
				if awsapi.Deref(pm.ContainerPortRange) != "" {
					continue
				}
				return clientError("Invalid 'containerPort' setting for container '%s'.", name)
			}
			cp := *pm.ContainerPort
			if cp < 1 || cp > 65535 {
				return clientError("Invalid 'containerPort' setting for container '%s'.", name)
			}
			hp := awsapi.Deref(pm.HostPort)
			if hp < 0 || hp > 65535 {
				return clientError("Invalid 'hostPort' setting for container '%s'.", name)
			}
			if shared && hp != 0 && hp != cp {
				return clientError("When networkMode=%s, the host ports and container ports in port mappings must match.", mode)
			}
			key := fmt.Sprintf("%d/%s", cp, protocol)
			if own[key] {
				return clientError("Invalid 'portMappings' setting for container '%s'. Container port %d/%s is mapped more than once.", name, cp, protocol) // UNVERIFIED
			}
			own[key] = true
			bound := ""
			switch {
			case shared:
				bound = key
			case hp != 0:
				bound = fmt.Sprintf("%d/%s", hp, protocol)
			}
			if bound != "" {
				if taskPorts[bound] {
					return clientError("Invalid 'portMappings' setting for container '%s'. Port %s is already used by another container in the task definition.", name, bound) // UNVERIFIED
				}
				taskPorts[bound] = true
			}
		}
	}
	return nil
}

// checkHealthCheck checks a container health check's command and ranges.
// Messages are UNVERIFIED.
func checkHealthCheck(c *ecstypes.ContainerDefinition) error {
	hc := c.HealthCheck
	if hc == nil {
		return nil
	}
	name := awsapi.Deref(c.Name)
	if len(hc.Command) == 0 || (hc.Command[0] != "CMD" && hc.Command[0] != "CMD-SHELL") {
		return clientError("Invalid 'healthCheck' setting for container '%s'. The command must start with CMD or CMD-SHELL.", name)
	}
	if len(hc.Command) < 2 {
		return clientError("Invalid 'healthCheck' setting for container '%s'. The command must not be empty.", name)
	}
	for _, r := range []struct {
		field    string
		v        *int32
		min, max int32
	}{
		{"interval", hc.Interval, 5, 300},
		{"timeout", hc.Timeout, 2, 60},
		{"retries", hc.Retries, 1, 10},
		{"startPeriod", hc.StartPeriod, 0, 300},
	} {
		if r.v != nil && (*r.v < r.min || *r.v > r.max) {
			return clientError("Invalid 'healthCheck.%s' setting for container '%s'. The value must be between %d and %d.", r.field, name, r.min, r.max)
		}
	}
	return nil
}

// fargateLogDrivers are the log drivers Fargate tasks may use.
var fargateLogDrivers = []string{"awslogs", "splunk", "awsfirelens"}

// checkLogConfiguration checks the awslogs driver's required options.
func checkLogConfiguration(c *ecstypes.ContainerDefinition, fargate bool) error {
	lc := c.LogConfiguration
	if lc == nil {
		return nil
	}
	driver := awsapi.Deref(lc.LogDriver)
	if fargate && !slices.Contains(fargateLogDrivers, driver) {
		return clientError("Fargate compatible task definitions do not support the log driver '%s'", driver) // UNVERIFIED
	}
	if driver != "awslogs" {
		return nil
	}
	required := []string{"awslogs-region", "awslogs-group"}
	if fargate {
		required = append(required, "awslogs-stream-prefix")
	}
	var missing []string
	for _, opt := range required {
		if lc.Options[opt] == "" {
			missing = append(missing, opt)
		}
	}
	if len(missing) > 0 {
		return clientError("Log driver awslogs requires options: %s", strings.Join(missing, ", "))
	}
	return nil
}

// fargateUnsupportedInContainer names the first container parameter
// Fargate does not support, or "".
func fargateUnsupportedInContainer(c *ecstypes.ContainerDefinition) string {
	switch {
	case awsapi.Deref(c.Privileged):
		return "privileged"
	case awsapi.Deref(c.DisableNetworking):
		return "disableNetworking"
	case len(c.Links) > 0:
		return "links"
	case len(c.DnsServers) > 0:
		return "dnsServers"
	case len(c.DnsSearchDomains) > 0:
		return "dnsSearchDomains"
	case len(c.DockerSecurityOptions) > 0:
		return "dockerSecurityOptions"
	case len(c.ExtraHosts) > 0:
		return "extraHosts"
	}
	if lp := c.LinuxParameters; lp != nil {
		switch {
		case len(lp.Devices) > 0:
			return "devices"
		case lp.SharedMemorySize != nil:
			return "sharedMemorySize"
		case lp.MaxSwap != nil:
			return "maxSwap"
		case lp.Swappiness != nil:
			return "swappiness"
		case len(lp.Tmpfs) > 0:
			return "tmpfs"
		}
	}
	for _, r := range c.ResourceRequirements {
		if awsapi.Deref(r.Type) == "GPU" {
			return "gpu"
		}
	}
	return ""
}

// checkDependencies checks dependsOn: known containers, not itself,
// COMPLETE/SUCCESS only on non-essential containers, HEALTHY only on
// containers with a health check, and no cycles.
func checkDependencies(defs []ecstypes.ContainerDefinition, byName map[string]*ecstypes.ContainerDefinition) error {
	for i := range defs {
		c := &defs[i]
		name := awsapi.Deref(c.Name)
		for _, d := range c.DependsOn {
			dep := awsapi.Deref(d.ContainerName)
			target := byName[dep]
			if target == nil || dep == name {
				return clientError("Invalid 'dependsOn' setting for container '%s'. The dependency container '%s' does not exist in the task definition.", name, dep) // UNVERIFIED
			}
			switch awsapi.Deref(d.Condition) {
			case ecstypes.ContainerConditionStart:
			case ecstypes.ContainerConditionComplete, ecstypes.ContainerConditionSuccess:
				if containerIsEssential(target) {
					return clientError("A dependency container with SUCCESS or COMPLETE condition cannot be an essential container")
				}
			case ecstypes.ContainerConditionHealthy:
				if target.HealthCheck == nil {
					return clientError("Invalid 'dependsOn' setting for container '%s'. The dependency container '%s' must have a health check to use the HEALTHY condition.", name, dep) // UNVERIFIED
				}
			default:
				return clientError("Invalid 'dependsOn' setting for container '%s'. The condition must be one of START, COMPLETE, SUCCESS or HEALTHY.", name) // UNVERIFIED
			}
		}
	}
	// Depth-first search for a cycle: 1 = on the current path, 2 = done.
	state := map[string]int{}
	var visit func(name string) bool
	visit = func(name string) bool {
		switch state[name] {
		case 1:
			return true
		case 2:
			return false
		}
		state[name] = 1
		for _, d := range byName[name].DependsOn {
			if visit(awsapi.Deref(d.ContainerName)) {
				return true
			}
		}
		state[name] = 2
		return false
	}
	for i := range defs {
		if name := awsapi.Deref(defs[i].Name); visit(name) {
			return clientError("Invalid 'dependsOn' setting for container '%s'. Container dependencies cannot form a cycle.", name) // UNVERIFIED
		}
	}
	return nil
}

// checkVolumes checks that volumes are named uniquely and that mount
// points and volumesFrom name what exists. Messages are UNVERIFIED.
func checkVolumes(in *ecstypes.RegisterTaskDefinitionRequest, byName map[string]*ecstypes.ContainerDefinition) error {
	volumes := map[string]bool{}
	for _, v := range in.Volumes {
		name := awsapi.Deref(v.Name)
		if name == "" {
			return clientError("Invalid 'volumes' setting. Volume names must not be empty.")
		}
		if volumes[name] {
			return clientError("Invalid 'volumes' setting. Duplicate volume name '%s'.", name)
		}
		volumes[name] = true
	}
	for _, c := range in.ContainerDefinitions {
		name := awsapi.Deref(c.Name)
		for _, mp := range c.MountPoints {
			if src := awsapi.Deref(mp.SourceVolume); !volumes[src] {
				return clientError("Invalid 'mountPoints' setting for container '%s'. The source volume '%s' is not defined in the task definition.", name, src)
			}
			if awsapi.Deref(mp.ContainerPath) == "" {
				return clientError("Invalid 'mountPoints' setting for container '%s'. The container path must not be empty.", name)
			}
		}
		for _, vf := range c.VolumesFrom {
			if src := awsapi.Deref(vf.SourceContainer); byName[src] == nil || src == name {
				return clientError("Invalid 'volumesFrom' setting for container '%s'. The source container '%s' does not exist in the task definition.", name, src)
			}
		}
	}
	return nil
}

// checkTaskSize checks task-level cpu and memory (and, for Fargate, the
// rest of its task-level rules) and the containers' sums against them.
func checkTaskSize(in *ecstypes.RegisterTaskDefinitionRequest, fargate bool, mode string) error {
	cpu, memory := 0, 0
	if in.Cpu != nil {
		n, ok := parseCPU(*in.Cpu)
		if !ok || (!fargate && (n < minEC2TaskCPU || n > maxEC2CPU)) {
			return clientError("Invalid 'cpu' setting for task.")
		}
		cpu = n
	}
	if in.Memory != nil {
		n, ok := parseMemory(*in.Memory)
		if !ok {
			return clientError("Invalid 'memory' setting for task.")
		}
		memory = n
	}
	if fargate {
		if mode != ecstypes.NetworkModeAwsvpc {
			return clientError("Fargate only supports network mode 'awsvpc'.")
		}
		if in.Cpu == nil {
			return clientError("Fargate requires that 'cpu' be defined at the task level.")
		}
		if in.Memory == nil {
			return clientError("Fargate requires that 'memory' be defined at the task level.")
		}
		if !fargateSizeValid(cpu, memory) {
			return errFargateSize(cpu, memory)
		}
		switch {
		case in.IpcMode != nil:
			return clientError("Fargate compatible task definitions do not support ipcMode")
		case in.PidMode != nil && *in.PidMode != "task":
			return clientError("Fargate compatible task definitions do not support pidMode '%s'", *in.PidMode) // UNVERIFIED
		case len(in.PlacementConstraints) > 0:
			return clientError("Fargate compatible task definitions do not support constraints")
		}
		for _, v := range in.Volumes {
			if v.Host != nil && awsapi.Deref(v.Host.SourcePath) != "" {
				return clientError("Fargate compatible task definitions do not support sourcePath")
			}
			if v.DockerVolumeConfiguration != nil {
				return clientError("Fargate compatible task definitions do not support dockerVolumeConfiguration")
			}
		}
		if es := in.EphemeralStorage; es != nil {
			if n := awsapi.Deref(es.SizeInGiB); n < minFargateEphemeralGiB || n > maxFargateEphemeralGiB {
				return clientError("Invalid setting for ephemeral storage. Size must be between %d GiB and %d GiB.", minFargateEphemeralGiB, maxFargateEphemeralGiB) // UNVERIFIED
			}
		}
	}
	var sumCPU, sumMemory int
	reservations := false
	for _, c := range in.ContainerDefinitions {
		sumCPU += int(awsapi.Deref(c.Cpu))
		if c.MemoryReservation != nil {
			sumMemory += int(*c.MemoryReservation)
			reservations = true
		} else {
			sumMemory += int(awsapi.Deref(c.Memory))
		}
	}
	if cpu > 0 && sumCPU > cpu {
		return clientError("The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'.")
	}
	if memory > 0 && sumMemory > memory {
		field := "memory" // UNVERIFIED: as the observed memoryReservation message
		if reservations {
			field = "memoryReservation"
		}
		return clientError("The sum of all container '%s' values cannot be greater than the value of the task 'memory'.", field)
	}
	return nil
}
