package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/hostnet"
	"github.com/berth/berth/internal/runtime"
)

// Labels on every container berth creates. The com.amazonaws.ecs ones are
// the ECS agent's (tools and the metadata endpoint show them); the berth
// ones let an agent find its containers again after a restart.
const (
	LabelECSCluster      = "com.amazonaws.ecs.cluster" // the cluster ARN, as the ECS agent sets it
	LabelECSContainer    = "com.amazonaws.ecs.container-name"
	LabelECSTaskARN      = "com.amazonaws.ecs.task-arn"
	LabelECSTaskFamily   = "com.amazonaws.ecs.task-definition-family"
	LabelECSTaskRevision = "com.amazonaws.ecs.task-definition-version"

	LabelNodeID      = "berth.node-id"
	LabelTaskID      = "berth.task-id"
	LabelCluster     = "berth.cluster" // the cluster name
	LabelRole        = "berth.role"    // RoleHolder or RoleContainer
	LabelContainerID = "berth.container-id"
)

// Values of LabelRole.
const (
	RoleHolder    = "holder"
	RoleContainer = "container"
)

// holderContainerName is the container name the ECS agent gives a task's
// pause container.
const holderContainerName = "~internal~ecs~pause"

// Network modes.
const (
	modeAwsvpc = "awsvpc"
	modeBridge = "bridge"
	modeHost   = "host"
	modeNone   = "none"
)

// Dependency conditions of dependsOn.
const (
	condStart    = "START"
	condComplete = "COMPLETE"
	condSuccess  = "SUCCESS"
	condHealthy  = "HEALTHY"
)

// ECS's container defaults.
const (
	defaultStopTimeout    = 30 * time.Second
	fargateMaxStopTimeout = 120 * time.Second
	defaultHCInterval     = 30 * time.Second
	defaultHCTimeout      = 5 * time.Second
	defaultHCRetries      = 3
	minCPUShares          = 2 // Docker's minimum; ECS maps cpu 0 to it
	mib                   = 1 << 20
)

// planEnv is what a plan needs from its agent.
type planEnv struct {
	NodeID string
	// MetadataBase is the metadata endpoint's base URL, without a trailing
	// slash ("http://169.254.170.2").
	MetadataBase string
	// Region is the server's region, for tasks whose ARN does not say.
	Region string
	// VolumeRoot is the host directory under which task-scoped volumes
	// live (<root>/<task id>/<volume name>).
	VolumeRoot string
	// CredentialsKey keys the tasks' credentials ids (the agent's token:
	// secret, and the same after a restart, so a task's id is too).
	CredentialsKey string
}

// taskPlan is everything the runner needs to run one task, derived once
// from the desired task: the container specs to create, their order and
// rules. Building it never fails; a task berth cannot run gets Invalid.
type taskPlan struct {
	TaskID, Cluster, TaskARN, ClusterARN string
	Region                               string
	Family                               string
	Revision                             string
	NetworkMode                          string
	// Interface is an awsvpc task's network interface, and InterfaceInfo
	// what the server says of it.
	Interface     *hostnet.Interface
	InterfaceInfo *agentproto.TaskInterface
	// VPC is the interface's VPC as far as the task needs it on the host:
	// its range and the task's subnet.
	VPC        hostnet.VPC
	Fargate    bool
	LaunchType string
	Resources  runtime.TaskResources
	// Holder is the network holder's spec (awsvpc only); its CgroupParent
	// is filled when it is created.
	Holder     runtime.HolderSpec
	Containers []containerPlan
	// VolumeDirs are the task-scoped volume directories to create before
	// the containers.
	VolumeDirs []string
	// Invalid, when set, is the stoppedReason of a task berth refuses to
	// start (an unsupported feature); nothing is pulled.
	Invalid string
	// InterfaceProblem is why an awsvpc task has no network interface: it
	// stops a task that has not started, but not one whose network holder
	// already runs (started by an agent of before VPCs, on the network it
	// had then), which a user's service may depend on.
	InterfaceProblem string
	// CredentialsID names the task role's credentials at the credentials
	// endpoint (/v2/credentials/<id>); "" for a task without a task role.
	CredentialsID string
	// HasExecutionRole says whether the task has an execution role, which
	// reads its secrets.
	HasExecutionRole bool
}

// containerPlan is one container of a task.
type containerPlan struct {
	Name string
	// ID is the ECS container uuid (the last part of its ARN and the id in
	// the metadata endpoint's URLs); ARN is the container ARN.
	ID, ARN      string
	Essential    bool
	DependsOn    []dependency
	StartTimeout time.Duration // 0: no limit
	StopTimeout  time.Duration
	// Image and Auth say what to pull. Spec.Image is the same reference;
	// DefinitionImage is the image as the task definition names it.
	Image           string
	DefinitionImage string
	Auth            *runtime.Auth
	// Spec is the container to create; NetworkMode (for awsvpc) and
	// CgroupParent are filled at creation.
	Spec runtime.ContainerSpec
	// CPU (units as CPU shares) and MemoryMiB are the limits the metadata
	// endpoint shows.
	CPU       int64
	MemoryMiB int64
	// Ports are the container's port mappings, as the metadata endpoint
	// shows them for awsvpc and host tasks.
	Ports []runtime.PortBinding
	// LogDriver and LogOptions are the logConfiguration as the task
	// definition has it (what the metadata endpoint shows); Spec's are
	// what the runtime gets.
	LogDriver  string
	LogOptions map[string]string
	// Logs, for a container with the awslogs driver, says where the agent
	// ships its output.
	Logs *awslogsConfig
	// Secrets are the container's secrets, read as the execution role
	// when it is created and added to its environment; LogSecrets its
	// log configuration's secretOptions, added to its log driver's
	// options. Their values are never part of the plan.
	Secrets    []ecstypes.Secret
	LogSecrets []ecstypes.Secret
}

// dependency is one entry of a container's dependsOn.
type dependency struct {
	Index     int // of the container depended on
	Name      string
	Condition string
}

// newTaskPlan builds the plan of dt.
func newTaskPlan(dt agentproto.DesiredTask, env planEnv) *taskPlan {
	spec := dt.Spec
	def := spec.Definition
	p := &taskPlan{
		TaskID:     dt.ID,
		Cluster:    dt.Cluster,
		TaskARN:    dt.ARN,
		ClusterARN: dt.ClusterARN,
		Region:     awsapi.ARNRegion(dt.ARN, env.Region),
		Family:     awsapi.Deref(def.Family),
		Revision:   strconv.Itoa(int(awsapi.Deref(def.Revision))),
		LaunchType: spec.LaunchType,
	}
	if p.ClusterARN == "" {
		p.ClusterARN = dt.Cluster
	}
	p.Fargate = spec.LaunchType == "FARGATE" || strings.HasPrefix(spec.CapacityProviderName, "FARGATE")
	if p.LaunchType == "" && p.Fargate {
		p.LaunchType = "FARGATE"
	}
	p.NetworkMode = awsapi.Deref(def.NetworkMode)
	switch {
	case p.Fargate:
		p.NetworkMode = modeAwsvpc // Fargate knows no other mode
	case p.NetworkMode == "":
		p.NetworkMode = modeBridge // ECS's default
	}
	p.Resources = runtime.TaskResources{CPUUnits: atoi64(spec.Cpu), MemoryMiB: atoi64(spec.Memory)}
	if taskRole(spec) != "" {
		p.CredentialsID = credentialsID(env.CredentialsKey, dt.ARN)
	}
	p.HasExecutionRole = executionRole(spec) != ""

	suffix := nameSuffix(dt.ID)
	family := dockerNamePart(p.Family)
	if p.NetworkMode == modeAwsvpc {
		p.Holder = runtime.HolderSpec{
			Name:   fmt.Sprintf("ecs-%s-%s-internalecspause-%s", family, p.Revision, suffix),
			Labels: p.labels(env.NodeID, holderContainerName, "", RoleHolder),
		}
		p.InterfaceProblem = p.planInterface(dt)
	}
	defs := def.ContainerDefinitions
	if len(defs) == 0 {
		p.Invalid = "ResourceInitializationError: the task definition has no containers"
	}
	byName := make(map[string]int, len(defs))
	for i, cd := range defs {
		byName[awsapi.Deref(cd.Name)] = i
	}
	overrides := containerOverrides(spec.Overrides)
	volumes := taskVolumes(def.Volumes)
	for i, cd := range defs {
		name := awsapi.Deref(cd.Name)
		cp := containerPlan{
			Name:      name,
			ID:        containerID(dt, i, name),
			Essential: cd.Essential == nil || *cd.Essential,
		}
		if i < len(dt.ContainerARNs) {
			cp.ARN = dt.ContainerARNs[i]
		}
		cp.Image = awsapi.Deref(cd.Image)
		cp.DefinitionImage = cp.Image
		if i < len(dt.Images) && dt.Images[i].Ref != "" {
			cp.Image = dt.Images[i].Ref
			if a := dt.Images[i].Auth; a != nil {
				cp.Auth = &runtime.Auth{Username: a.Username, Password: a.Password, ServerAddress: a.ServerAddress}
			}
		}
		for _, d := range cd.DependsOn {
			j, ok := byName[awsapi.Deref(d.ContainerName)]
			if !ok || j == i {
				continue // the API validates names; a stray one cannot be waited for
			}
			cond := strings.ToUpper(awsapi.Deref(d.Condition))
			switch cond {
			case condStart, condComplete, condSuccess, condHealthy:
			default:
				cond = condStart
			}
			cp.DependsOn = append(cp.DependsOn, dependency{Index: j, Name: awsapi.Deref(d.ContainerName), Condition: cond})
		}
		if t := awsapi.Deref(cd.StartTimeout); t > 0 {
			cp.StartTimeout = time.Duration(t) * time.Second
		}
		cp.StopTimeout = defaultStopTimeout
		if t := awsapi.Deref(cd.StopTimeout); t > 0 {
			cp.StopTimeout = time.Duration(t) * time.Second
		}
		if p.Fargate && cp.StopTimeout > fargateMaxStopTimeout {
			cp.StopTimeout = fargateMaxStopTimeout
		}
		cp.Secrets = cd.Secrets
		if lc := cd.LogConfiguration; lc != nil {
			cp.LogSecrets = lc.SecretOptions
		}
		p.buildSpec(&cp, cd, overrides[name], env, suffix, volumes, defs, byName)
		if p.Invalid == "" {
			p.Invalid = refusal(cd, overrides[name], volumes)
		}
		p.Containers = append(p.Containers, cp)
	}
	if p.Invalid == "" {
		if cycle := dependencyCycle(p.Containers); cycle != "" {
			// UNVERIFIED: ECS rejects such a task; the wording is berth's.
			p.Invalid = "ResourceInitializationError: the containers' dependsOn form a cycle (" + cycle + ")"
		}
	}
	p.VolumeDirs = taskVolumeDirs(env.VolumeRoot, dt.ID, volumes, defs)
	return p
}

// labels returns berth's labels for one container of the task.
func (p *taskPlan) labels(nodeID, containerName, containerID, role string) map[string]string {
	l := map[string]string{
		LabelECSCluster:      p.ClusterARN,
		LabelECSContainer:    containerName,
		LabelECSTaskARN:      p.TaskARN,
		LabelECSTaskFamily:   p.Family,
		LabelECSTaskRevision: p.Revision,
		LabelNodeID:          nodeID,
		LabelTaskID:          p.TaskID,
		LabelCluster:         p.Cluster,
		LabelRole:            role,
	}
	if containerID != "" {
		l[LabelContainerID] = containerID
	}
	return l
}

// buildSpec fills cp.Spec from the container definition and its override.
func (p *taskPlan) buildSpec(cp *containerPlan, cd ecstypes.ContainerDefinition, ov *ecstypes.ContainerOverride,
	env planEnv, suffix string, volumes map[string]ecstypes.Volume, defs []ecstypes.ContainerDefinition, byName map[string]int) {
	s := &cp.Spec
	s.Name = fmt.Sprintf("ecs-%s-%s-%s-%s", dockerNamePart(p.Family), p.Revision, dockerNamePart(cp.Name), suffix)
	s.Image = cp.Image
	// The user's labels first: berth's own must win.
	s.Labels = maps.Clone(cd.DockerLabels)
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	maps.Copy(s.Labels, p.labels(env.NodeID, cp.Name, cp.ID, RoleContainer))

	if cd.EntryPoint != nil {
		s.Entrypoint = slices.Clone(cd.EntryPoint)
	}
	if cd.Command != nil {
		s.Cmd = slices.Clone(cd.Command)
	}
	if ov != nil && len(ov.Command) > 0 {
		s.Cmd = slices.Clone(ov.Command)
	}
	s.WorkingDir = awsapi.Deref(cd.WorkingDirectory)
	s.User = awsapi.Deref(cd.User)
	s.Env = p.environment(cp, cd, ov, env)

	switch p.NetworkMode {
	case modeAwsvpc:
		// The containers join the holder's namespace ("container:<id>",
		// set at creation); Docker refuses hostname, DNS and hosts entries
		// there, and ECS does not allow them for awsvpc either.
	case modeHost:
		s.NetworkMode = modeHost
	case modeNone:
		s.NetworkMode = modeNone
	default:
		s.NetworkMode = modeBridge
		s.Hostname = awsapi.Deref(cd.Hostname)
	}
	if p.NetworkMode == modeBridge || p.NetworkMode == modeHost {
		for _, h := range cd.ExtraHosts {
			s.ExtraHosts = append(s.ExtraHosts, awsapi.Deref(h.Hostname)+":"+awsapi.Deref(h.IpAddress))
		}
		s.DNSServers = slices.Clone(cd.DnsServers)
		s.DNSSearch = slices.Clone(cd.DnsSearchDomains)
	}
	cp.Ports = portMappings(cd.PortMappings)
	if p.NetworkMode == modeBridge {
		s.PortBindings = slices.Clone(cp.Ports)
	}

	if lp := cd.LinuxParameters; lp != nil {
		s.Init = awsapi.Deref(lp.InitProcessEnabled)
		if n := awsapi.Deref(lp.SharedMemorySize); n > 0 {
			s.ShmSizeBytes = int64(n) * mib
		}
		for _, t := range lp.Tmpfs {
			opts := []string{fmt.Sprintf("size=%dm", awsapi.Deref(t.Size))}
			opts = append(opts, t.MountOptions...)
			if s.Tmpfs == nil {
				s.Tmpfs = map[string]string{}
			}
			s.Tmpfs[awsapi.Deref(t.ContainerPath)] = strings.Join(opts, ",")
		}
		if c := lp.Capabilities; c != nil {
			s.CapAdd = slices.Clone(c.Add)
			s.CapDrop = slices.Clone(c.Drop)
		}
	}
	s.ReadonlyRootfs = awsapi.Deref(cd.ReadonlyRootFilesystem)
	s.Privileged = awsapi.Deref(cd.Privileged)
	s.Interactive = awsapi.Deref(cd.Interactive)
	s.TTY = awsapi.Deref(cd.PseudoTerminal)
	s.SecurityOpt = slices.Clone(cd.DockerSecurityOptions)
	for _, u := range cd.Ulimits {
		s.Ulimits = append(s.Ulimits, runtime.Ulimit{Name: awsapi.Deref(u.Name),
			Soft: int64(awsapi.Deref(u.SoftLimit)), Hard: int64(awsapi.Deref(u.HardLimit))})
	}
	for _, sc := range cd.SystemControls {
		if s.Sysctls == nil {
			s.Sysctls = map[string]string{}
		}
		s.Sysctls[awsapi.Deref(sc.Namespace)] = awsapi.Deref(sc.Value)
	}

	cpu, memory, reservation := awsapi.Deref(cd.Cpu), awsapi.Deref(cd.Memory), awsapi.Deref(cd.MemoryReservation)
	if ov != nil {
		if ov.Cpu != nil {
			cpu = *ov.Cpu
		}
		if ov.Memory != nil {
			memory = *ov.Memory
		}
		if ov.MemoryReservation != nil {
			reservation = *ov.MemoryReservation
		}
	}
	s.CPUShares = max(int64(cpu), minCPUShares)
	cp.CPU = s.CPUShares
	if memory > 0 {
		s.MemoryBytes = int64(memory) * mib
		cp.MemoryMiB = int64(memory)
	}
	if reservation > 0 {
		s.MemoryReservationBytes = int64(reservation) * mib
		if cp.MemoryMiB == 0 {
			cp.MemoryMiB = int64(reservation)
		}
	}

	s.StopTimeout = cp.StopTimeout
	s.HealthCheck = healthCheck(cd.HealthCheck)
	if lc := cd.LogConfiguration; lc != nil {
		cp.LogDriver, cp.LogOptions = awsapi.Deref(lc.LogDriver), maps.Clone(lc.Options)
		s.LogDriver, s.LogOptions = cp.LogDriver, maps.Clone(lc.Options)
		if cp.LogDriver == "awslogs" {
			cp.Logs, _ = parseAwslogs(lc.Options, p.Region) // refused if invalid
			s.LogDriver, s.LogOptions = "json-file", maps.Clone(jsonFileOptions)
			// Docker applies mode and max-buffer-size to every driver.
			// Without a mode Docker's default stays, blocking: the
			// non-blocking ring buffer drops lines when it is full,
			// which a task definition that does not ask for it must not
			// get.
			for _, k := range []string{optMode, optMaxBufferSize} {
				if v, ok := lc.Options[k]; ok {
					s.LogOptions[k] = v
				}
			}
		}
	}
	s.Mounts = mounts(env.VolumeRoot, p.TaskID, cd, volumes, defs, byName)
}

// environment returns the container's environment: the definition's, then
// the override's (a later value wins), then the variables ECS injects.
func (p *taskPlan) environment(cp *containerPlan, cd ecstypes.ContainerDefinition, ov *ecstypes.ContainerOverride, env planEnv) []string {
	var names []string
	values := map[string]string{}
	set := func(k, v string) {
		if _, ok := values[k]; !ok {
			names = append(names, k)
		}
		values[k] = v
	}
	for _, kv := range cd.Environment {
		set(awsapi.Deref(kv.Name), awsapi.Deref(kv.Value))
	}
	if ov != nil {
		for _, kv := range ov.Environment {
			set(awsapi.Deref(kv.Name), awsapi.Deref(kv.Value))
		}
	}
	// The region is the user's to override (UNVERIFIED); the metadata
	// endpoint's addresses and the execution environment are ECS's.
	if _, ok := values["AWS_REGION"]; !ok && p.Region != "" {
		set("AWS_REGION", p.Region)
	}
	if _, ok := values["AWS_DEFAULT_REGION"]; !ok && p.Region != "" {
		set("AWS_DEFAULT_REGION", p.Region)
	}
	// An AWS SDK in the task finds berth through the agent, which passes
	// AWS API calls on to the server (the task network does not reach
	// the server's own address).
	if _, ok := values["AWS_ENDPOINT_URL"]; !ok {
		set("AWS_ENDPOINT_URL", env.MetadataBase)
	}
	if p.CredentialsID != "" {
		// SDKs put a relative URI after http://169.254.170.2, port 80; an
		// endpoint served elsewhere (another --metadata-port) is named
		// whole, which the SDKs allow for that address.
		if env.MetadataBase == "http://"+DefaultMetadataAddress {
			set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", credentialsPathPrefix+p.CredentialsID)
		} else {
			set("AWS_CONTAINER_CREDENTIALS_FULL_URI", env.MetadataBase+credentialsPathPrefix+p.CredentialsID)
		}
	}
	set("ECS_CONTAINER_METADATA_URI_V4", env.MetadataBase+"/v4/"+cp.ID)
	set("ECS_CONTAINER_METADATA_URI", env.MetadataBase+"/v3/"+cp.ID)
	set("ECS_AGENT_URI", env.MetadataBase+"/api/"+cp.ID)
	if p.Fargate {
		set("AWS_EXECUTION_ENV", "AWS_ECS_FARGATE")
	} else {
		set("AWS_EXECUTION_ENV", "AWS_ECS_EC2")
	}
	out := make([]string, 0, len(names))
	for _, k := range names {
		out = append(out, k+"="+values[k])
	}
	return out
}

// healthCheck maps a definition's healthCheck with ECS's defaults. Without
// one the image's own HEALTHCHECK is disabled: only the task definition's
// check counts in ECS.
func healthCheck(hc *ecstypes.HealthCheck) *runtime.HealthCheck {
	if hc == nil || len(hc.Command) == 0 {
		return &runtime.HealthCheck{Test: []string{"NONE"}}
	}
	out := &runtime.HealthCheck{
		Test:     slices.Clone(hc.Command),
		Interval: defaultHCInterval,
		Timeout:  defaultHCTimeout,
		Retries:  defaultHCRetries,
	}
	if v := awsapi.Deref(hc.Interval); v > 0 {
		out.Interval = time.Duration(v) * time.Second
	}
	if v := awsapi.Deref(hc.Timeout); v > 0 {
		out.Timeout = time.Duration(v) * time.Second
	}
	if v := awsapi.Deref(hc.Retries); v > 0 {
		out.Retries = int(v)
	}
	if v := awsapi.Deref(hc.StartPeriod); v > 0 {
		out.StartPeriod = time.Duration(v) * time.Second
	}
	return out
}

// hasHealthCheck reports whether the container has a check of its own.
func (cp *containerPlan) hasHealthCheck() bool {
	hc := cp.Spec.HealthCheck
	return hc != nil && len(hc.Test) > 0 && hc.Test[0] != "NONE"
}

// portMappings expands a definition's port mappings (ranges included) into
// bindings; host port 0 asks for any.
func portMappings(pms []ecstypes.PortMapping) []runtime.PortBinding {
	var out []runtime.PortBinding
	for _, pm := range pms {
		proto := strings.ToLower(awsapi.Deref(pm.Protocol))
		if proto == "" {
			proto = "tcp"
		}
		if pm.ContainerPort != nil {
			out = append(out, runtime.PortBinding{ContainerPort: int(*pm.ContainerPort),
				HostPort: int(awsapi.Deref(pm.HostPort)), Protocol: proto})
			continue
		}
		lo, hi, ok := portRange(awsapi.Deref(pm.ContainerPortRange))
		for port := lo; ok && port <= hi; port++ {
			out = append(out, runtime.PortBinding{ContainerPort: port, Protocol: proto})
		}
	}
	return out
}

func portRange(s string) (lo, hi int, ok bool) {
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || lo < 1 || hi > 65535 || lo > hi {
		return 0, 0, false
	}
	return lo, hi, true
}

// refusal returns the stoppedReason for a container needing a service
// berth does not have yet, or "".
func refusal(cd ecstypes.ContainerDefinition, ov *ecstypes.ContainerOverride, volumes map[string]ecstypes.Volume) string {
	name := awsapi.Deref(cd.Name)
	files := slices.Clone(cd.EnvironmentFiles)
	if ov != nil {
		files = append(files, ov.EnvironmentFiles...)
	}
	for _, f := range files {
		return fmt.Sprintf("ResourceInitializationError: failed to download env files: berth has no S3 yet (environment file %s of container %s)",
			awsapi.Deref(f.Value), name)
	}
	if lc := cd.LogConfiguration; lc != nil {
		switch d := awsapi.Deref(lc.LogDriver); d {
		case "awslogs":
			if _, why := parseAwslogs(lc.Options, ""); why != "" {
				return why
			}
		case "awsfirelens":
			return fmt.Sprintf("ResourceInitializationError: failed to validate logger args: berth has no FireLens log router yet (log driver %s of container %s)", d, name)
		}
	}
	if cd.FirelensConfiguration != nil {
		return fmt.Sprintf("ResourceInitializationError: failed to validate logger args: berth has no FireLens log router yet (firelensConfiguration of container %s)", name)
	}
	if rc := cd.RepositoryCredentials; rc != nil {
		// Private registries are outside berth's reach; only its own
		// registry serves images.
		return fmt.Sprintf("ResourceInitializationError: unable to pull secrets or registry auth: berth does not pull from private registries with repositoryCredentials (container %s, from %s)",
			name, awsapi.Deref(rc.CredentialsParameter))
	}
	for _, mp := range cd.MountPoints {
		v, ok := volumes[awsapi.Deref(mp.SourceVolume)]
		if !ok {
			continue
		}
		switch {
		case v.EfsVolumeConfiguration != nil:
			return fmt.Sprintf("ResourceInitializationError: failed to invoke EFS utils commands to set up EFS volumes: berth has no EFS yet (volume %s of container %s)", awsapi.Deref(v.Name), name)
		case v.FsxWindowsFileServerVolumeConfiguration != nil, v.S3filesVolumeConfiguration != nil:
			return fmt.Sprintf("ResourceInitializationError: berth cannot mount volume %s of container %s: its storage service does not exist in berth yet", awsapi.Deref(v.Name), name)
		}
	}
	return ""
}

func taskVolumes(vs []ecstypes.Volume) map[string]ecstypes.Volume {
	out := make(map[string]ecstypes.Volume, len(vs))
	for _, v := range vs {
		out[awsapi.Deref(v.Name)] = v
	}
	return out
}

// mounts returns a container's mounts: its mountPoints, then those of the
// containers named in volumesFrom.
func mounts(root, taskID string, cd ecstypes.ContainerDefinition, volumes map[string]ecstypes.Volume,
	defs []ecstypes.ContainerDefinition, byName map[string]int) []runtime.Mount {
	out := mountPoints(root, taskID, cd.MountPoints, volumes, false)
	for _, vf := range cd.VolumesFrom {
		j, ok := byName[awsapi.Deref(vf.SourceContainer)]
		if !ok {
			continue
		}
		out = append(out, mountPoints(root, taskID, defs[j].MountPoints, volumes, awsapi.Deref(vf.ReadOnly))...)
	}
	return out
}

func mountPoints(root, taskID string, mps []ecstypes.MountPoint, volumes map[string]ecstypes.Volume, forceRO bool) []runtime.Mount {
	var out []runtime.Mount
	for _, mp := range mps {
		name := awsapi.Deref(mp.SourceVolume)
		v, ok := volumes[name]
		if !ok {
			continue
		}
		m := runtime.Mount{Target: awsapi.Deref(mp.ContainerPath), ReadOnly: forceRO || awsapi.Deref(mp.ReadOnly)}
		switch {
		case v.Host != nil && awsapi.Deref(v.Host.SourcePath) != "":
			m.Source = awsapi.Deref(v.Host.SourcePath)
		case v.DockerVolumeConfiguration != nil:
			// A named Docker volume: shared ones by their name, task ones
			// per task. UNVERIFIED: berth does not remove task-scoped
			// Docker volumes yet (the runtime has no volume removal).
			if awsapi.Deref(v.DockerVolumeConfiguration.Scope) == "shared" {
				m.Source = name
			} else {
				m.Source = "ecs-" + nameSuffix(taskID) + "-" + dockerNamePart(name)
			}
		case v.EfsVolumeConfiguration != nil, v.FsxWindowsFileServerVolumeConfiguration != nil, v.S3filesVolumeConfiguration != nil:
			continue // refused before anything starts
		default:
			// A bind mount without a host path: storage shared by the
			// task's containers for the task's life (Fargate's ephemeral
			// storage), a directory the agent creates and removes.
			m.Source = taskVolumeDir(root, taskID, name)
		}
		out = append(out, m)
	}
	return out
}

// taskVolumeDirs lists the directories of the task's host-path-less
// volumes that some container mounts.
func taskVolumeDirs(root, taskID string, volumes map[string]ecstypes.Volume, defs []ecstypes.ContainerDefinition) []string {
	var out []string
	for _, cd := range defs {
		for _, mp := range cd.MountPoints {
			name := awsapi.Deref(mp.SourceVolume)
			v, ok := volumes[name]
			if !ok || (v.Host != nil && awsapi.Deref(v.Host.SourcePath) != "") || v.DockerVolumeConfiguration != nil ||
				v.EfsVolumeConfiguration != nil || v.FsxWindowsFileServerVolumeConfiguration != nil || v.S3filesVolumeConfiguration != nil {
				continue
			}
			if dir := taskVolumeDir(root, taskID, name); !slices.Contains(out, dir) {
				out = append(out, dir)
			}
		}
	}
	return out
}

func taskVolumeDir(root, taskID, name string) string {
	return filepath.Join(root, taskID, dockerNamePart(name))
}

// dependencyCycle returns a cycle among the containers' dependencies as
// "a -> b -> a", or "".
func dependencyCycle(cs []containerPlan) string {
	const (
		unvisited = iota
		visiting
		done
	)
	state := make([]int, len(cs))
	var path []int
	var visit func(i int) string
	visit = func(i int) string {
		state[i] = visiting
		path = append(path, i)
		for _, d := range cs[i].DependsOn {
			switch state[d.Index] {
			case visiting:
				start := slices.Index(path, d.Index)
				var names []string
				for _, k := range path[start:] {
					names = append(names, cs[k].Name)
				}
				return strings.Join(append(names, cs[d.Index].Name), " -> ")
			case unvisited:
				if c := visit(d.Index); c != "" {
					return c
				}
			}
		}
		path = path[:len(path)-1]
		state[i] = done
		return ""
	}
	for i := range cs {
		if state[i] == unvisited {
			if c := visit(i); c != "" {
				return c
			}
		}
	}
	return ""
}

func containerOverrides(o *ecstypes.TaskOverride) map[string]*ecstypes.ContainerOverride {
	out := map[string]*ecstypes.ContainerOverride{}
	if o == nil {
		return out
	}
	for i := range o.ContainerOverrides {
		ov := &o.ContainerOverrides[i]
		out[awsapi.Deref(ov.Name)] = ov
	}
	return out
}

// containerID returns the ECS uuid of container i: the server's, or one
// derived from the task id and name if the server sent none.
func containerID(dt agentproto.DesiredTask, i int, name string) string {
	if i < len(dt.Spec.Containers) && dt.Spec.Containers[i].Name == name && dt.Spec.Containers[i].ID != "" {
		return dt.Spec.Containers[i].ID
	}
	for _, c := range dt.Spec.Containers {
		if c.Name == name && c.ID != "" {
			return c.ID
		}
	}
	sum := sha256.Sum256([]byte(dt.ID + "/" + name))
	return uuidFormat(hex.EncodeToString(sum[:16]))
}

// uuidFormat formats 32 hex digits as a uuid.
func uuidFormat(h string) string {
	if len(h) != 32 {
		return h
	}
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// nameSuffix is the task-unique tail of container names (the ECS agent
// uses 20 random hex digits; the task id's first 20 make names stable, so
// a restarted agent can never create a second copy under another name).
func nameSuffix(taskID string) string {
	s := dockerNamePart(taskID)
	if len(s) > 20 {
		s = s[:20]
	}
	return s
}

// dockerNamePart keeps the characters Docker allows in a container name.
func dockerNamePart(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '.':
			return r
		}
		return '-'
	}, s)
}

func atoi64(s string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// planInterface fills an awsvpc task's interface from what the server
// made, and returns why the task cannot run when it cannot: the server
// could not make one, or (a task that is to run) sent none.
func (p *taskPlan) planInterface(dt agentproto.DesiredTask) string {
	i := dt.Interface
	switch {
	case dt.InterfaceError != "":
		return dt.InterfaceError
	case i == nil && dt.DesiredStatus == agentproto.StatusRunning:
		return "ResourceInitializationError: the server made no network interface for the task"
	case i == nil:
		return ""
	}
	addr, aerr := netip.ParseAddr(i.Address)
	subnet, serr := netip.ParsePrefix(i.SubnetCIDR)
	vpc, verr := netip.ParsePrefix(i.VPCCIDR)
	if err := errors.Join(aerr, serr, verr); err != nil || !subnet.Contains(addr) {
		return fmt.Sprintf("ResourceInitializationError: the task's network interface %s is malformed (address %q in subnet %q of VPC %q)", i.ID, i.Address, i.SubnetCIDR, i.VPCCIDR)
	}
	p.Interface = &hostnet.Interface{ID: i.ID, VPC: i.VPCID, Address: netip.PrefixFrom(addr, subnet.Bits()), MAC: i.MAC}
	p.InterfaceInfo = i
	p.VPC = hostnet.VPC{ID: i.VPCID, CIDR: vpc, Subnets: []netip.Prefix{subnet.Masked()}}
	// The task's hostname is its interface's DNS name, as on Fargate; its
	// resolver is its VPC's (berth's DNS server, answering the VPC's
	// private namespaces), searching the region's EC2 domain.
	p.Holder.Hostname = i.PrivateDNSName
	p.Holder.DNSServers = []string{hostnet.Resolver(vpc).String()}
	if _, domain, ok := strings.Cut(i.PrivateDNSName, "."); ok {
		p.Holder.DNSSearch = []string{domain}
	}
	return ""
}
