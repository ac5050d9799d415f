package ecs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/ecs/placement"
	"github.com/berth/berth/internal/scheduler"
)

func (s *service) taskOperations() map[string]awsapi.Operation {
	return map[string]awsapi.Operation{
		"RunTask":        awsapi.Op(s.runTask),
		"StartTask":      awsapi.Op(s.startTask),
		"StopTask":       awsapi.Op(s.stopTask),
		"DescribeTasks":  awsapi.Op(s.describeTasks),
		"ListTasks":      awsapi.Op(s.listTasks),
		"ExecuteCommand": awsapi.Op(s.executeCommand),
	}
}

// Limits of RunTask and StartTask.
const (
	maxRunCount       = 10
	maxStartedBy      = 36
	maxGroup          = 255
	maxOverrideChars  = 8192
	maxSubnets        = 16
	maxSecurityGroups = 5
	fargatePlatform   = "1.4.0" // what LATEST means on berth
	fargatePlatformOS = "Linux"
	// managedClusterTag is the ECS managed tag enableECSManagedTags adds.
	managedClusterTag = "aws:ecs:clusterName"
	managedServiceTag = "aws:ecs:serviceName"
)

// taskLaunch is a validated RunTask or StartTask: everything a new task's
// record needs except where it runs.
type taskLaunch struct {
	region     string
	cluster    string
	definition ecsstate.TaskDefinition
	overrides  *ecstypes.TaskOverride
	// cpu and memory are the task-level values in effect, as integer
	// strings ("" when unset).
	cpu, memory     string
	launchType      string
	platformVersion string
	network         *ecstypes.AwsVpcConfiguration
	startedBy       string
	group           string
	tags            []ecstypes.Tag
	execute         bool
	// serviceName is the service whose deployment launches the tasks,
	// loadBalancers its load balancers and serviceRegistries its
	// service registries.
	serviceName       string
	loadBalancers     []ecstypes.LoadBalancer
	serviceRegistries []ecstypes.ServiceRegistry
}

// launchInput is what RunTask and StartTask have in common.
type launchInput struct {
	overrides     *ecstypes.TaskOverride
	network       *ecstypes.NetworkConfiguration
	startedBy     *string
	group         *string
	tags          []ecstypes.Tag
	propagateTags *string
	managedTags   *bool
	execute       *bool
	volumes       []ecstypes.TaskVolumeConfiguration
	// service is the launching service's name ("" for RunTask and
	// StartTask) and serviceTags its tags: a service's tasks may take
	// its tags (propagateTags SERVICE) and get aws:ecs:serviceName as a
	// managed tag; their group, "service:<name>", is not held to the
	// length limit of a caller's group.
	service           string
	serviceTags       []ecstypes.Tag
	loadBalancers     []ecstypes.LoadBalancer
	serviceRegistries []ecstypes.ServiceRegistry
}

func (s *service) runTask(ctx context.Context, in *ecstypes.RunTaskRequest) (*ecstypes.RunTaskResponse, error) {
	c, err := s.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	cluster := c.Value
	count := 1
	if in.Count != nil {
		count = int(*in.Count)
	}
	if count < 1 || count > maxRunCount {
		// UNVERIFIED wording.
		return nil, invalidParameter("Count must be between 1 and %d.", maxRunCount)
	}
	if in.LaunchType != nil && len(in.CapacityProviderStrategy) > 0 {
		return nil, errLaunchTypeAndStrategy()
	}
	def, err := s.launchableDefinition(ctx, in.TaskDefinition)
	if err != nil {
		return nil, err
	}

	launchType, strategy, err := launchTarget(cluster, in.LaunchType, in.CapacityProviderStrategy)
	if err != nil {
		return nil, err
	}
	var providers []string // per task, with a strategy
	if len(strategy) > 0 {
		if providers, err = splitTasks(strategy, count); err != nil {
			return nil, err
		}
	}
	if err := checkFargatePlacement(launchType, in.PlacementConstraints, in.PlacementStrategy); err != nil {
		return nil, err
	}
	launch, err := s.validateLaunch(cluster, def, launchType, in.PlatformVersion, launchInput{
		overrides:     in.Overrides,
		network:       in.NetworkConfiguration,
		startedBy:     in.StartedBy,
		group:         in.Group,
		tags:          in.Tags,
		propagateTags: in.PropagateTags,
		managedTags:   in.EnableECSManagedTags,
		execute:       in.EnableExecuteCommand,
		volumes:       in.VolumeConfigurations,
	})
	if err != nil {
		return nil, err
	}
	if err := s.checkVPCResources(ctx, cluster.Region, launch.network); err != nil {
		return nil, err
	}
	if err := s.checkTaskRoles(ctx, cluster, &def.Definition, in.Overrides); err != nil {
		return nil, err
	}

	constraints, strategies, err := placementRules(def.Definition, in.PlacementConstraints, in.PlacementStrategy)
	if err != nil {
		return nil, err
	}
	req := scheduler.Request{
		Count:       count,
		Task:        schedulerResources(taskReservation(launch.spec("", nil))),
		Group:       launch.group,
		Constraints: constraints,
		Strategies:  strategies,
	}

	var failures []scheduler.Failure
	tasks, err := s.placer.Place(ctx, cluster, launch.group, func(snap *placement.Snapshot) ([]ecsstate.Task, error) {
		var placed scheduler.Placement
		var noInstances bool
		placed, failures, noInstances = snap.Place(launchType, req)
		if noInstances {
			return nil, errNoContainerInstances()
		}
		return s.placedTasks(launch, placed, providers), nil
	})
	if err != nil {
		return nil, err
	}
	out := &ecstypes.RunTaskResponse{Tasks: []ecstypes.Task{}, Failures: s.placementFailures(ctx, cluster.Name, failures)}
	for _, t := range tasks {
		out.Tasks = append(out.Tasks, s.taskOutput(t, true))
	}
	return out, nil
}

func (s *service) startTask(ctx context.Context, in *ecstypes.StartTaskRequest) (*ecstypes.StartTaskResponse, error) {
	c, err := s.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	cluster := c.Value
	switch n := len(in.ContainerInstances); {
	case n == 0:
		// UNVERIFIED wording.
		return nil, invalidParameter("Container instances cannot be empty.")
	case n > maxRunCount:
		// UNVERIFIED wording, as ECS words other list limits.
		return nil, invalidParameter("containerInstances can have at most %d items.", maxRunCount)
	}
	def, err := s.launchableDefinition(ctx, in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	launch, err := s.validateLaunch(cluster, def, ecstypes.LaunchTypeEc2, nil, launchInput{
		overrides:     in.Overrides,
		network:       in.NetworkConfiguration,
		startedBy:     in.StartedBy,
		group:         in.Group,
		tags:          in.Tags,
		propagateTags: in.PropagateTags,
		managedTags:   in.EnableECSManagedTags,
		execute:       in.EnableExecuteCommand,
		volumes:       in.VolumeConfigurations,
	})
	if err != nil {
		return nil, err
	}
	if err := s.checkVPCResources(ctx, cluster.Region, launch.network); err != nil {
		return nil, err
	}
	if err := s.checkTaskRoles(ctx, cluster, &def.Definition, in.Overrides); err != nil {
		return nil, err
	}
	reservation := schedulerResources(taskReservation(launch.spec("", nil)))

	// No placement decisions: one task on each instance named, if it fits
	// (counting the tasks of this call placed before it).
	var out *ecstypes.StartTaskResponse
	tasks, err := s.placer.Place(ctx, cluster, launch.group, func(snap *placement.Snapshot) ([]ecsstate.Task, error) {
		out = &ecstypes.StartTaskResponse{Tasks: []ecstypes.Task{}, Failures: []ecstypes.Failure{}}
		var tasks []ecsstate.Task
		for _, ref := range in.ContainerInstances {
			refCluster, id, ok := s.requestARNs(ctx).ContainerInstanceID(ref)
			n, found := snap.Node(id)
			if !ok || (refCluster != "" && refCluster != cluster.Name) || !found || !snap.Eligible(n.Record, ecstypes.LaunchTypeEc2) {
				arn := ref
				if ok && refCluster == "" {
					arn = s.requestARNs(ctx).ContainerInstance(cluster.Name, id)
				}
				out.Failures = append(out.Failures, missingFailure(arn))
				continue
			}
			reason := scheduler.ReasonAgent
			if n.View.Connected {
				reason = scheduler.Fits(*n.View, reservation)
			}
			if reason != "" {
				out.Failures = append(out.Failures, ecstypes.Failure{Arn: awsapi.String(s.requestARNs(ctx).ContainerInstance(cluster.Name, id)), Reason: awsapi.String(reason)})
				continue
			}
			n.View.Reserve(reservation)
			tasks = append(tasks, s.newTask(launch, id, ""))
		}
		return tasks, nil
	})
	if err != nil {
		return nil, err
	}
	for _, t := range tasks {
		out.Tasks = append(out.Tasks, s.taskOutput(t, true))
	}
	return out, nil
}

// launchableDefinition resolves the task definition a RunTask or StartTask
// names and checks that new tasks may use it.
func (s *service) launchableDefinition(ctx context.Context, ref *string) (ecsstate.TaskDefinition, error) {
	if awsapi.Deref(ref) == "" {
		// UNVERIFIED wording.
		return ecsstate.TaskDefinition{}, invalidParameter("TaskDefinition cannot be empty.")
	}
	td, err := s.resolveTaskDefinition(ctx, *ref)
	if err != nil {
		return ecsstate.TaskDefinition{}, err
	}
	switch awsapi.Deref(td.Definition.Status) {
	case ecstypes.TaskDefinitionStatusInactive, ecstypes.TaskDefinitionStatusDeleteInProgress:
		// OBSERVED as InvalidParameterException from RunTask.
		return ecsstate.TaskDefinition{}, invalidParameter("TaskDefinition is inactive")
	}
	if td.DeleteRequested {
		return ecsstate.TaskDefinition{}, invalidParameter("TaskDefinition is inactive")
	}
	return td, nil
}

// strategyLaunchType checks a capacity provider strategy against the
// cluster and returns the launch type its tasks get: FARGATE for the
// Fargate providers, EC2 for any other.
func strategyLaunchType(cluster ecsstate.Cluster, strategy []ecstypes.CapacityProviderStrategyItem) (string, error) {
	if err := checkStrategy(strategy, cluster.CapacityProviders); err != nil {
		return "", err
	}
	var fargate, other bool
	for _, item := range strategy {
		switch awsapi.Deref(item.CapacityProvider) {
		case providerFargate, providerFargateSpot:
			fargate = true
		default:
			other = true
		}
	}
	switch {
	case fargate && other:
		return "", invalidParameter("A capacity provider strategy cannot contain a mix of capacity providers using Auto Scaling groups and Fargate providers. Specify one or the other and try again.")
	case fargate:
		return ecstypes.LaunchTypeFargate, nil
	}
	return ecstypes.LaunchTypeEc2, nil
}

// launchTarget decides where tasks of a RunTask or a service run: the
// launch type given, else the capacity provider strategy given, else the
// cluster's default strategy, else EC2. It returns the launch type the
// tasks get and the strategy in effect (nil without one). The caller has
// refused a launch type given together with a strategy.
func launchTarget(cluster ecsstate.Cluster, launchType *string, strategy []ecstypes.CapacityProviderStrategyItem) (string, []ecstypes.CapacityProviderStrategyItem, error) {
	lt := awsapi.Deref(launchType)
	if lt == "" && len(strategy) == 0 {
		if len(cluster.DefaultStrategy) > 0 {
			strategy = cluster.DefaultStrategy
		} else {
			lt = ecstypes.LaunchTypeEc2
		}
	}
	if len(strategy) > 0 {
		var err error
		if lt, err = strategyLaunchType(cluster, strategy); err != nil {
			return "", nil, err
		}
	} else {
		strategy = nil
	}
	if lt != ecstypes.LaunchTypeEc2 && lt != ecstypes.LaunchTypeFargate {
		return "", nil, unsupportedFeature("berth does not support launch type %s yet.", lt)
	}
	return lt, strategy, nil
}

// errLaunchTypeAndStrategy refuses a launch type given together with a
// capacity provider strategy.
func errLaunchTypeAndStrategy() *awsapi.MessageError {
	return invalidParameter("Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.")
}

// errNoContainerInstances is RunTask's answer when an EC2 launch finds no
// container instance in the cluster.
func errNoContainerInstances() *awsapi.MessageError {
	return invalidParameter("No Container Instances were found in your cluster.")
}

// checkFargatePlacement refuses placement constraints and strategies a
// caller gives for Fargate tasks.
func checkFargatePlacement(launchType string, constraints []ecstypes.PlacementConstraint, strategies []ecstypes.PlacementStrategy) error {
	if launchType != ecstypes.LaunchTypeFargate {
		return nil
	}
	if len(constraints) > 0 {
		return invalidParameter("Placement constraints are not supported with FARGATE launch type.")
	}
	if len(strategies) > 0 {
		// UNVERIFIED wording, by analogy with the constraints message.
		return invalidParameter("Placement strategies are not supported with FARGATE launch type.")
	}
	return nil
}

// placementRules turns the task definition's placement constraints, then
// the caller's, and the caller's strategies into the scheduler's.
func placementRules(def ecstypes.TaskDefinition, constraints []ecstypes.PlacementConstraint, strategies []ecstypes.PlacementStrategy) ([]scheduler.Constraint, []scheduler.Strategy, error) {
	var outC []scheduler.Constraint
	for _, pcs := range [][]ecstypes.PlacementConstraint{placementConstraints(def.PlacementConstraints), constraints} {
		for _, pc := range pcs {
			c, err := schedulerConstraint(awsapi.Deref(pc.Type), awsapi.Deref(pc.Expression))
			if err != nil {
				return nil, nil, err
			}
			outC = append(outC, c)
		}
	}
	var outS []scheduler.Strategy
	for _, ps := range strategies {
		outS = append(outS, scheduler.Strategy{Type: awsapi.Deref(ps.Type), Field: awsapi.Deref(ps.Field)})
	}
	return outC, outS, nil
}

// splitTasks assigns each of count new tasks a capacity provider of a
// strategy checkStrategy accepted.
func splitTasks(strategy []ecstypes.CapacityProviderStrategyItem, count int) ([]string, error) {
	items := make([]scheduler.Item, len(strategy))
	for i, it := range strategy {
		items[i] = scheduler.Item{Provider: awsapi.Deref(it.CapacityProvider), Base: int(awsapi.Deref(it.Base)), Weight: int(awsapi.Deref(it.Weight))}
	}
	providers, err := scheduler.SplitByStrategy(items, nil, count)
	if err != nil {
		// checkStrategy has ruled out every error SplitByStrategy knows.
		return nil, fmt.Errorf("ecs: split %d tasks: %w", count, err)
	}
	return providers, nil
}

// validateLaunch checks what RunTask and StartTask share against the task
// definition and the launch type, and returns the launch.
func (s *service) validateLaunch(cluster ecsstate.Cluster, td ecsstate.TaskDefinition, launchType string, platformVersion *string, in launchInput) (*taskLaunch, error) {
	def := td.Definition
	if !slices.Contains(def.Compatibilities, launchType) {
		return nil, clientError("Task definition does not support launch_type %s.", launchType)
	}
	mode := awsapi.Deref(def.NetworkMode)
	if launchType == ecstypes.LaunchTypeFargate && mode != ecstypes.NetworkModeAwsvpc {
		return nil, clientError("Fargate only supports network mode 'awsvpc'.")
	}
	if len(in.volumes) > 0 {
		return nil, unsupportedFeature("berth does not support volumeConfigurations yet.")
	}
	startedBy, group := awsapi.Deref(in.startedBy), awsapi.Deref(in.group)
	if utf8.RuneCountInString(startedBy) > maxStartedBy {
		return nil, invalidParameter("startedBy longer than %d.", maxStartedBy) // OBSERVED
	}
	if utf8.RuneCountInString(group) > maxGroup && in.service == "" {
		return nil, invalidParameter("group longer than %d.", maxGroup) // UNVERIFIED, in the style of startedBy's
	}
	if group == "" {
		group = "family:" + awsapi.Deref(def.Family)
	}
	if err := checkTags(in.tags, invalidParameter); err != nil {
		return nil, err
	}
	tags := slices.Clone(in.tags)
	switch awsapi.Deref(in.propagateTags) {
	case ecstypes.PropagateTagsTaskDefinition:
		tags = mergeTags(td.Tags, tags)
	case ecstypes.PropagateTagsService:
		if in.service == "" {
			// UNVERIFIED wording; ECS documents that SERVICE fails for RunTask.
			return nil, invalidParameter("The SERVICE option for propagateTags is only valid for tasks started by a service.")
		}
		tags = mergeTags(in.serviceTags, tags)
	}
	if awsapi.Deref(in.managedTags) {
		tags = mergeTags(tags, []ecstypes.Tag{{Key: awsapi.String(managedClusterTag), Value: awsapi.String(cluster.Name)}})
		if in.service != "" {
			tags = mergeTags(tags, []ecstypes.Tag{{Key: awsapi.String(managedServiceTag), Value: awsapi.String(in.service)}})
		}
	}

	network, err := checkNetwork(mode, launchType, in.network)
	if err != nil {
		return nil, err
	}
	cpu, memory, err := effectiveSize(def, in.overrides, launchType)
	if err != nil {
		return nil, err
	}

	l := &taskLaunch{
		region:            cluster.Region,
		cluster:           cluster.Name,
		definition:        td,
		overrides:         in.overrides,
		cpu:               cpu,
		memory:            memory,
		launchType:        launchType,
		network:           network,
		startedBy:         startedBy,
		group:             group,
		tags:              tags,
		execute:           awsapi.Deref(in.execute),
		serviceName:       in.service,
		loadBalancers:     in.loadBalancers,
		serviceRegistries: in.serviceRegistries,
	}
	if launchType == ecstypes.LaunchTypeFargate {
		l.platformVersion = awsapi.Deref(platformVersion)
		if l.platformVersion == "" || l.platformVersion == "LATEST" {
			l.platformVersion = fargatePlatform
		}
	}
	return l, nil
}

// checkNetwork validates a task's networkConfiguration against its
// network mode and returns the awsvpc configuration in effect.
func checkNetwork(mode, launchType string, nc *ecstypes.NetworkConfiguration) (*ecstypes.AwsVpcConfiguration, error) {
	var vpc *ecstypes.AwsVpcConfiguration
	if nc != nil {
		vpc = nc.AwsvpcConfiguration
	}
	if mode != ecstypes.NetworkModeAwsvpc {
		if vpc != nil {
			return nil, invalidParameter("Network Configuration is not valid for the given networkMode of this task definition.")
		}
		return nil, nil
	}
	if vpc == nil {
		return nil, invalidParameter("Network Configuration must be provided when networkMode 'awsvpc' is specified.")
	}
	switch {
	case len(vpc.Subnets) == 0:
		// UNVERIFIED wording.
		return nil, invalidParameter("subnets can not be empty.")
	case len(vpc.Subnets) > maxSubnets:
		// UNVERIFIED wording, as ECS words other list limits.
		return nil, invalidParameter("subnets can have at most %d items.", maxSubnets)
	case len(vpc.SecurityGroups) > maxSecurityGroups:
		// UNVERIFIED wording.
		return nil, invalidParameter("securityGroups can have at most %d items.", maxSecurityGroups)
	}
	for _, subnet := range vpc.Subnets {
		if subnet == "" {
			// UNVERIFIED wording.
			return nil, invalidParameter("subnets can not contain empty values.")
		}
	}
	for _, sg := range vpc.SecurityGroups {
		if sg == "" {
			// UNVERIFIED wording.
			return nil, invalidParameter("securityGroups can not contain empty values.")
		}
	}
	assign := awsapi.Deref(vpc.AssignPublicIp)
	switch assign {
	case "":
		assign = ecstypes.AssignPublicIpDisabled
	case ecstypes.AssignPublicIpEnabled, ecstypes.AssignPublicIpDisabled:
	default:
		return nil, invalidParameter("Invalid value for assignPublicIp: %s.", assign) // UNVERIFIED; the model's enum catches it first
	}
	if assign == ecstypes.AssignPublicIpEnabled && launchType == ecstypes.LaunchTypeEc2 {
		return nil, invalidParameter("Assign public IP is not supported for this launch type.")
	}
	return &ecstypes.AwsVpcConfiguration{
		Subnets:        slices.Clone(vpc.Subnets),
		SecurityGroups: slices.Clone(vpc.SecurityGroups),
		AssignPublicIp: awsapi.String(assign),
	}, nil
}

// effectiveSize checks a task's overrides against its definition and
// returns the task-level cpu and memory in effect, as integer strings.
func effectiveSize(def ecstypes.TaskDefinition, o *ecstypes.TaskOverride, launchType string) (cpu, memory string, err error) {
	cpu, memory = awsapi.Deref(def.Cpu), awsapi.Deref(def.Memory)
	if o != nil {
		if b, err := json.Marshal(o); err == nil && len(b) > maxOverrideChars {
			// UNVERIFIED capitalisation; quoted lower-cased by a client.
			return "", "", invalidParameter("Container Overrides length must be at most %d", maxOverrideChars)
		}
		for _, co := range o.ContainerOverrides {
			name := awsapi.Deref(co.Name)
			if name == "" {
				if isEmptyContainerOverride(co) {
					continue // ECS accepts an empty override
				}
				return "", "", invalidParameter("name cannot be blank.") // OBSERVED
			}
			if !slices.ContainsFunc(def.ContainerDefinitions, func(c ecstypes.ContainerDefinition) bool { return awsapi.Deref(c.Name) == name }) {
				return "", "", invalidParameter("Override for container named %s is not a container in the TaskDefinition.", name) // OBSERVED
			}
		}
		if o.Cpu != nil {
			n, ok := parseCPU(*o.Cpu)
			if !ok {
				return "", "", clientError("Invalid 'cpu' setting for task.")
			}
			cpu = strconv.Itoa(n)
		}
		if o.Memory != nil {
			n, ok := parseMemory(*o.Memory)
			if !ok {
				// UNVERIFIED wording, in the style of the cpu message.
				return "", "", clientError("Invalid 'memory' setting for task.")
			}
			memory = strconv.Itoa(n)
		}
	}
	if launchType == ecstypes.LaunchTypeFargate {
		c, cok := parseCPU(cpu)
		m, mok := parseMemory(memory)
		if !cok || !mok || !fargateSizeValid(c, m) {
			return "", "", errFargateSize(c, m)
		}
	}
	return cpu, memory, nil
}

func isEmptyContainerOverride(co ecstypes.ContainerOverride) bool {
	return co.Command == nil && co.Cpu == nil && co.Environment == nil && co.EnvironmentFiles == nil &&
		co.Memory == nil && co.MemoryReservation == nil && co.ResourceRequirements == nil
}

// spec is the TaskSpec of a task of this launch; containers as given.
func (l *taskLaunch) spec(provider string, containers []ecsstate.ContainerSpec) ecsstate.TaskSpec {
	def := l.definition.Definition
	spec := ecsstate.TaskSpec{
		TaskDefinitionARN:    awsapi.Deref(def.TaskDefinitionArn),
		Definition:           def,
		Overrides:            l.overrides,
		Cpu:                  l.cpu,
		Memory:               l.memory,
		LaunchType:           l.launchType,
		CapacityProviderName: provider,
		PlatformVersion:      l.platformVersion,
		Network:              l.network,
		StartedBy:            l.startedBy,
		Group:                l.group,
		Tags:                 l.tags,
		EnableExecuteCommand: l.execute,
		ServiceName:          l.serviceName,
		LoadBalancers:        l.loadBalancers,
		ServiceRegistries:    l.serviceRegistries,
		Containers:           containers,
	}
	if l.launchType == ecstypes.LaunchTypeFargate {
		spec.PlatformFamily = fargatePlatformOS
	}
	return spec
}

// newTask builds the record of a new task of the launch, placed on nodeID.
func (s *service) newTask(l *taskLaunch, nodeID, provider string) ecsstate.Task {
	containers := make([]ecsstate.ContainerSpec, len(l.definition.Definition.ContainerDefinitions))
	for i, c := range l.definition.Definition.ContainerDefinitions {
		containers[i] = ecsstate.ContainerSpec{Name: awsapi.Deref(c.Name), ID: uuid.NewString()}
	}
	spec := l.spec(provider, containers)
	// berth has one availability zone. UNVERIFIED naming.
	spec.AvailabilityZone = l.region + "a"
	return ecsstate.Task{
		ID:            newTaskID(),
		Region:        l.region,
		Cluster:       l.cluster,
		NodeID:        nodeID,
		Spec:          spec,
		DesiredStatus: ecsstate.StatusRunning,
		CreatedAt:     s.now(),
		Generation:    1,
		Observed:      ecsstate.TaskStatus{LastStatus: ecsstate.StatusProvisioning},
	}
}

// placedTasks builds the records of the launch's tasks placed on the
// nodes of placed, the i-th with capacity provider providers[i] when a
// strategy split them (providers nil: none).
func (s *service) placedTasks(launch *taskLaunch, placed scheduler.Placement, providers []string) []ecsstate.Task {
	tasks := make([]ecsstate.Task, len(placed.NodeIDs))
	for i, nodeID := range placed.NodeIDs {
		provider := ""
		if providers != nil {
			provider = providers[i]
		}
		tasks[i] = s.newTask(launch, nodeID, provider)
	}
	return tasks
}

// newTaskID returns 32 random lowercase hex digits.
func newTaskID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// placementFailures turns placement failures into RunTask's: the
// container instance ARN of each node that refused, and why.
func (s *service) placementFailures(ctx context.Context, cluster string, failures []scheduler.Failure) []ecstypes.Failure {
	out := make([]ecstypes.Failure, 0, len(failures))
	for _, f := range failures {
		ef := ecstypes.Failure{Reason: awsapi.String(f.Reason)}
		if f.NodeID != "" {
			ef.Arn = awsapi.String(s.requestARNs(ctx).ContainerInstance(cluster, f.NodeID))
		}
		out = append(out, ef)
	}
	return out
}

func schedulerResources(r reservation) scheduler.Resources {
	out := scheduler.Resources{CPU: r.CPU, MemoryMiB: r.MemoryMiB}
	for _, p := range r.TCPPorts {
		out.Ports = append(out.Ports, scheduler.HostPort{Port: int(p), Protocol: "tcp"})
	}
	for _, p := range r.UDPPorts {
		out.Ports = append(out.Ports, scheduler.HostPort{Port: int(p), Protocol: "udp"})
	}
	return out
}

// placementConstraints are a task definition's constraints in RunTask's
// shape.
func placementConstraints(td []ecstypes.TaskDefinitionPlacementConstraint) []ecstypes.PlacementConstraint {
	out := make([]ecstypes.PlacementConstraint, len(td))
	for i, c := range td {
		out[i] = ecstypes.PlacementConstraint(c)
	}
	return out
}

// schedulerConstraint turns a placement constraint into the scheduler's,
// with memberOf's cluster query parsed once and matched against each node.
func schedulerConstraint(kind, expr string) (scheduler.Constraint, error) {
	c := scheduler.Constraint{Type: kind, Expression: expr}
	if kind != scheduler.ConstraintMemberOf {
		return c, nil
	}
	q, err := parseClusterQuery(expr)
	if err != nil {
		return c, err
	}
	c.Match = func(n scheduler.Node) bool {
		subjects := map[string]string{
			"ec2InstanceId":     ecsstate.EC2InstanceID(n.ID),
			"agentConnected":    strconv.FormatBool(n.Connected),
			"runningTasksCount": strconv.Itoa(n.Tasks),
		}
		for name, value := range n.Attributes {
			subjects["attribute:"+name] = value
		}
		return q.matches(subjects)
	}
	return c, nil
}
