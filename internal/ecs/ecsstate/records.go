// Package ecsstate is ECS's state in berth's store: the records of clusters,
// task definitions, tasks and nodes (the agents that run tasks), their keys,
// and typed reads and compare-and-swap updates. The ECS API writes intent
// here (a task to run, a task to stop); the agent hub writes what the agents
// report (what does run); controllers read both. None of them imports
// another; they meet here. paths.go documents the key layout; reads and
// writes go through the store's typed helpers (store.Get, store.Update).
package ecsstate

import (
	"slices"
	"time"

	"github.com/berth/berth/internal/ecs/ecstypes"
)

// Cluster statuses.
const (
	ClusterActive   = "ACTIVE"
	ClusterInactive = "INACTIVE"
)

// Cluster is an ECS cluster of one region. Its counts (running tasks,
// container instances) are not stored; readers derive them from tasks and
// nodes.
type Cluster struct {
	Region    string    `json:"region"`
	Name      string    `json:"name"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"createdAt"`
	// CapacityProviders associated with the cluster, and the default
	// strategy RunTask and CreateService use when given none.
	CapacityProviders []string                                `json:"capacityProviders,omitempty"`
	DefaultStrategy   []ecstypes.CapacityProviderStrategyItem `json:"defaultStrategy,omitempty"`
	Settings          []ecstypes.ClusterSetting               `json:"settings,omitempty"`
	Configuration     *ecstypes.ClusterConfiguration          `json:"configuration,omitempty"`
	ServiceConnect    *ecstypes.ClusterServiceConnectDefaults `json:"serviceConnect,omitempty"`
	Tags              []ecstypes.Tag                          `json:"tags,omitempty"`
	// DeletedAt is set when DeleteCluster made it INACTIVE.
	DeletedAt time.Time `json:"deletedAt,omitzero"`
	// FargateOnly clusters have Fargate's capacity providers alone, and
	// the hosts that serve every cluster are not container instances of
	// theirs, as a Fargate-only cluster has none at ECS: EC2 tasks there
	// need a host registered to the cluster by name. A cluster is made
	// FargateOnly only while it runs nothing on EC2, so that no EC2 task
	// or service loses its host (clusters from before the flag keep it).
	FargateOnly bool `json:"fargateOnly,omitempty"`
}

// TaskDefinition is one registered revision: the API shape as ECS returns
// it (status, registeredAt, normalised cpu/memory, ...) and its tags.
type TaskDefinition struct {
	Definition ecstypes.TaskDefinition `json:"definition"`
	Tags       []ecstypes.Tag          `json:"tags,omitempty"`
	// DeleteRequested is set by DeleteTaskDefinitions (status
	// DELETE_IN_PROGRESS); the record goes once no task uses it.
	DeleteRequested bool `json:"deleteRequested,omitempty"`
}

// Family is the revision counter of a task definition family. It outlives
// deleted revisions: a revision number is never reused.
type Family struct {
	Name         string `json:"name"`
	LastRevision int32  `json:"lastRevision"`
}

// Task statuses (lastStatus and desiredStatus) in lifecycle order.
const (
	StatusProvisioning   = "PROVISIONING"
	StatusPending        = "PENDING"
	StatusActivating     = "ACTIVATING"
	StatusRunning        = "RUNNING"
	StatusDeactivating   = "DEACTIVATING"
	StatusStopping       = "STOPPING"
	StatusDeprovisioning = "DEPROVISIONING"
	StatusStopped        = "STOPPED"
)

// Task is one task: what the API asked for (Spec, DesiredStatus, the stop
// request) and what its agent last reported (Observed).
type Task struct {
	ID      string `json:"id"` // 32 lowercase hex digits
	Region  string `json:"region"`
	Cluster string `json:"cluster"`
	// NodeID is the node the task was placed on; its agent runs it.
	NodeID string   `json:"nodeId"`
	Spec   TaskSpec `json:"spec"`

	DesiredStatus string    `json:"desiredStatus"`
	CreatedAt     time.Time `json:"createdAt"`
	// Generation increases with every change of intent (desired status);
	// an agent report says which generation it acted on.
	Generation int64 `json:"generation"`
	// StopCode and StoppedReason of the stop request, or of the agent's own
	// decision (essential container exited, start failure), whichever came
	// first; StoppingAt is when the stop was decided.
	StopCode      string    `json:"stopCode,omitempty"`
	StoppedReason string    `json:"stoppedReason,omitempty"`
	StoppingAt    time.Time `json:"stoppingAt,omitzero"`
	// Targets are the load balancer targets the task is registered as
	// (by the targets controller, once it runs), with what their groups
	// last said of them; TargetHealth folds their states: healthy when
	// every one is, unhealthy when one is, else the first other state.
	Targets      []TaskTarget `json:"targets,omitempty"`
	TargetHealth string       `json:"targetHealth,omitempty"`
	// Registries are the Cloud Map instances the task is registered as
	// (by the registries controller, once it runs and is healthy).
	Registries []TaskRegistry `json:"registries,omitempty"`
	// DrainUntil is when a stop requested of a task registered with load
	// balancers may stop its containers: they serve the requests in
	// flight for the longest deregistration delay of its target groups.
	// A task registered with Cloud Map waits for its deregistration too
	// (at most RegistryDeregisterWait).
	DrainUntil time.Time `json:"drainUntil,omitzero"`
	// ServiceAccounted is set by the service controller once it has
	// counted the task's failure or end (circuit breaker, start throttle),
	// in the same transaction as the count, so a restart never counts it
	// twice.
	ServiceAccounted bool `json:"serviceAccounted,omitempty"`

	Observed TaskStatus `json:"observed"`
}

// Key is the task's store key.
func (t *Task) Key() string { return TaskKey(t.Region, t.Cluster, t.ID) }

// TaskSpec is everything an agent needs to run a task, fixed when the task is
// created: the task definition as it was then, with RunTask's overrides.
type TaskSpec struct {
	TaskDefinitionARN string                  `json:"taskDefinitionArn"`
	Definition        ecstypes.TaskDefinition `json:"definition"`
	Overrides         *ecstypes.TaskOverride  `json:"overrides,omitempty"`
	// Cpu and Memory are the task-level values in effect (overrides
	// applied), as ECS reports them: strings of CPU units and MiB; empty
	// when neither the definition nor the overrides set them.
	Cpu    string `json:"cpu,omitempty"`
	Memory string `json:"memory,omitempty"`

	LaunchType           string `json:"launchType,omitempty"`
	CapacityProviderName string `json:"capacityProviderName,omitempty"`
	PlatformVersion      string `json:"platformVersion,omitempty"`
	PlatformFamily       string `json:"platformFamily,omitempty"`
	AvailabilityZone     string `json:"availabilityZone"`
	// Network is the awsvpc configuration (nil for other network modes).
	Network *ecstypes.AwsVpcConfiguration `json:"network,omitempty"`

	StartedBy            string         `json:"startedBy,omitempty"`
	Group                string         `json:"group,omitempty"`
	Tags                 []ecstypes.Tag `json:"tags,omitempty"`
	EnableExecuteCommand bool           `json:"enableExecuteCommand,omitempty"`
	// ServiceName is the service whose deployment (StartedBy) started the
	// task, if any.
	ServiceName string `json:"serviceName,omitempty"`
	// LoadBalancers are the service's load balancers when the task was
	// started: the target groups it is registered in once it runs.
	LoadBalancers []ecstypes.LoadBalancer `json:"loadBalancers,omitempty"`
	// ServiceRegistries are the service's Cloud Map registries when the
	// task was created: it registers with them once it runs.
	ServiceRegistries []ecstypes.ServiceRegistry `json:"serviceRegistries,omitempty"`
	// Containers holds one entry per container definition, in definition
	// order: the ids ECS gives containers, fixed at creation.
	Containers []ContainerSpec `json:"containers"`
}

// ContainerSpec names one container of a task.
type ContainerSpec struct {
	Name string `json:"name"`
	// ID is the container's uuid, the last part of its ARN.
	ID string `json:"id"`
}

// TaskStatus is what the agent reports about a task. The agent is the
// authority on it; only the agent hub writes it.
type TaskStatus struct {
	// Generation is the Task.Generation the agent had seen when it sent
	// this report.
	Generation   int64  `json:"generation"`
	LastStatus   string `json:"lastStatus,omitempty"`
	HealthStatus string `json:"healthStatus,omitempty"` // HEALTHY | UNHEALTHY | UNKNOWN
	Connectivity string `json:"connectivity,omitempty"` // CONNECTED | DISCONNECTED

	ConnectivityAt     time.Time `json:"connectivityAt,omitzero"`
	PullStartedAt      time.Time `json:"pullStartedAt,omitzero"`
	PullStoppedAt      time.Time `json:"pullStoppedAt,omitzero"`
	StartedAt          time.Time `json:"startedAt,omitzero"`
	ExecutionStoppedAt time.Time `json:"executionStoppedAt,omitzero"`
	StoppedAt          time.Time `json:"stoppedAt,omitzero"`

	// StopCode and StoppedReason are set when the agent stopped the task on
	// its own (an essential container exited, a start failure).
	StopCode      string `json:"stopCode,omitempty"`
	StoppedReason string `json:"stoppedReason,omitempty"`

	Containers []ContainerStatus `json:"containers,omitempty"`
	// Network is the task's awsvpc interface once it exists.
	Network *NetworkStatus `json:"network,omitempty"`
	// UpdatedAt is when the agent observed this state.
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// ContainerStatus is the observed state of one container.
type ContainerStatus struct {
	Name         string `json:"name"`
	RuntimeID    string `json:"runtimeId,omitempty"`  // the Docker container id
	LastStatus   string `json:"lastStatus,omitempty"` // PENDING | RUNNING | STOPPED
	ExitCode     *int32 `json:"exitCode,omitempty"`
	Reason       string `json:"reason,omitempty"`
	HealthStatus string `json:"healthStatus,omitempty"`
	ImageDigest  string `json:"imageDigest,omitempty"`
	// NetworkBindings are host port bindings (bridge and host modes).
	NetworkBindings []ecstypes.NetworkBinding `json:"networkBindings,omitempty"`
}

// NetworkStatus is a task's awsvpc network interface (its "ENI").
type NetworkStatus struct {
	AttachmentID       string `json:"attachmentId"`
	PrivateIPv4        string `json:"privateIPv4Address"`
	MACAddress         string `json:"macAddress,omitempty"`
	SubnetID           string `json:"subnetId,omitempty"`
	SubnetCIDR         string `json:"subnetCidr,omitempty"`
	GatewayIPv4        string `json:"gatewayIPv4,omitempty"`
	PrivateDNSName     string `json:"privateDnsName,omitempty"`
	NetworkInterfaceID string `json:"networkInterfaceId,omitempty"`
}

// Node is a host whose agent runs tasks: the server's own (the capacity
// behind FARGATE and FARGATE_SPOT, and EC2 tasks in every cluster) or a
// remote one. In a cluster it appears as a container instance whose id is
// the node's id.
type Node struct {
	ID       string `json:"id"` // 32 lowercase hex digits
	Hostname string `json:"hostname"`
	// Clusters the node serves; "*" (AllClusters) serves every cluster.
	Clusters []string `json:"clusters"`
	// LaunchTypes it takes: FARGATE (which covers FARGATE_SPOT) and/or EC2.
	LaunchTypes []string `json:"launchTypes"`
	// CPU in CPU units (1024 per core) and memory in MiB it offers.
	CPU       int32 `json:"cpu"`
	MemoryMiB int32 `json:"memoryMiB"`
	// Attributes are ECS's built-in and custom attributes (ecs.os-type, ...).
	Attributes   []ecstypes.Attribute `json:"attributes,omitempty"`
	AgentVersion string               `json:"agentVersion,omitempty"`
	// Status is ACTIVE or DRAINING (container instance status).
	Status       string    `json:"status"`
	Connected    bool      `json:"connected"`
	RegisteredAt time.Time `json:"registeredAt"`
	// SeenAt is when the agent last connected or disconnected.
	SeenAt time.Time `json:"seenAt"`
}

// PlacementLedger is one placer's ledger on a node. Every placement the
// placer makes on the node rewrites it in the transaction that creates the
// tasks, and every other placer's placement there compares the revision
// its decision read: a decision made before another placer's placement on
// the same node conflicts and is made again, so no node is given more than
// it has. Its revision is what counts; its value says whose it is.
type PlacementLedger struct {
	NodeID string `json:"nodeId"`
	Placer string `json:"placer"`
}

// Placers lists the placers that write ledgers. A placement compares its
// revision too: a placer that joins after a decision read the ledgers has
// ledgers that decision could not compare.
type Placers struct {
	IDs []string `json:"ids"`
}

// EC2InstanceID is the EC2-style instance id berth shows for a node (its
// container instance's ec2InstanceId, and the id a load balancer's
// instance targets name it by).
func EC2InstanceID(nodeID string) string { return "i-" + nodeID[:min(17, len(nodeID))] }

// AllClusters in Node.Clusters makes a node serve every cluster.
const AllClusters = "*"

// ServesAsInstance reports whether the node is a container instance of
// cluster (takes its EC2 tasks): of a FargateOnly one only by name.
func (n *Node) ServesAsInstance(cluster string, fargateOnly bool) bool {
	if fargateOnly {
		return slices.Contains(n.Clusters, cluster)
	}
	return n.Serves(cluster)
}

// Serves reports whether the node takes tasks of cluster.
func (n *Node) Serves(cluster string) bool {
	for _, c := range n.Clusters {
		if c == AllClusters || c == cluster {
			return true
		}
	}
	return false
}

// RequestStop records a request to stop the task: desired status STOPPED,
// a new generation for its agent, and the stop code and reason unless the
// task already has them (the first reason to stop wins). A task
// registered with load balancers drains first: its containers stop once
// the longest deregistration delay of its target groups has passed. It
// reports false, changing nothing, when the task is already stopping or
// stopped.
func (t *Task) RequestStop(code, reason string, now time.Time) bool {
	if t.DesiredStatus != StatusRunning {
		return false
	}
	t.DesiredStatus = StatusStopped
	t.Generation++
	if t.StopCode == "" {
		t.StopCode, t.StoppedReason = code, reason
	}
	t.StoppingAt = now
	drain := t.targetsDrain()
	if t.registeredInCloudMap() {
		drain = max(drain, RegistryDeregisterWait)
	}
	if drain > 0 {
		t.DrainUntil = now.Add(drain)
	}
	return true
}

// targetsDrain is the longest deregistration delay of the task's target
// groups.
func (t *Task) targetsDrain() time.Duration {
	var drain time.Duration
	for _, tt := range t.Targets {
		if tt.Registered {
			drain = max(drain, tt.DrainDelay)
		}
	}
	return drain
}

// TargetsDeregistered records that the task's targets are deregistered,
// with the deregistration delay each group has now (by target group ARN):
// a group drains a target for the delay in effect when it is
// deregistered, as ALB does, so a delay changed since the task was
// registered counts. The stop waits for the longest (and for Cloud Map,
// while the task is registered there).
func (t *Task) TargetsDeregistered(delays map[string]time.Duration, now time.Time) {
	for i := range t.Targets {
		t.Targets[i].Deregistered = true
		if d, ok := delays[t.Targets[i].TargetGroupARN]; ok {
			t.Targets[i].DrainDelay = d
		}
	}
	if t.DrainUntil.IsZero() {
		// The stop did not wait: it may have happened already.
		return
	}
	drain := t.targetsDrain()
	if t.registeredInCloudMap() {
		drain = max(drain, RegistryDeregisterWait)
	}
	t.DrainUntil = t.StoppingAt.Add(drain)
	if !t.DrainUntil.After(now) {
		t.DrainUntil = now
	}
}

// RegistryDeregisterWait bounds how long a stopping task registered with
// Cloud Map waits for its deregistration: the registries controller
// shortens the wait once it has deregistered it, and a controller that
// cannot costs the task no more than this.
const RegistryDeregisterWait = 10 * time.Second

func (t *Task) registeredInCloudMap() bool {
	for _, r := range t.Registries {
		if r.Registered && !r.Deregistered {
			return true
		}
	}
	return false
}

// RegistriesDeregistered records that the task's Cloud Map instances are
// deregistered: a stop waits no longer for them, only for its load
// balancers' deregistration delay.
func (t *Task) RegistriesDeregistered(now time.Time) {
	for i := range t.Registries {
		t.Registries[i].Deregistered = true
	}
	if t.DrainUntil.IsZero() {
		return
	}
	t.DrainUntil = t.StoppingAt.Add(t.targetsDrain())
	if !t.DrainUntil.After(now) {
		t.DrainUntil = now
	}
}

// TaskRegistry is a task registered as an instance of a Cloud Map
// service.
type TaskRegistry struct {
	RegistryARN string `json:"registryArn"`
	InstanceID  string `json:"instanceId"`
	// Registered: its registration is done; Deregistered: so is its
	// deregistration.
	Registered   bool `json:"registered,omitempty"`
	Deregistered bool `json:"deregistered,omitempty"`
	// Missing: the registry did not exist when the task was to register;
	// there is nothing to register nor to deregister.
	Missing bool `json:"missing,omitempty"`
	// Health is the custom health status last reported for it.
	Health string `json:"health,omitempty"`
}

// TaskTarget is a task registered with a target group: its address (an
// IPv4 address, or an instance id for a bridge or host task) and port.
type TaskTarget struct {
	TargetGroupARN string `json:"targetGroupArn"`
	ID             string `json:"id"`
	Port           int32  `json:"port"`
	// ContainerName is the container behind the port.
	ContainerName string `json:"containerName"`
	// Registered: the target is registered; Deregistered: it was
	// deregistered since (the task is stopping).
	Registered   bool `json:"registered,omitempty"`
	Deregistered bool `json:"deregistered,omitempty"`
	// DrainDelay is the group's deregistration delay: when the task was
	// registered, then when it was deregistered.
	DrainDelay time.Duration `json:"drainDelay,omitempty"`
	// Health, Reason and Description are what the group last said of
	// the target.
	Health      string `json:"health,omitempty"`
	Reason      string `json:"reason,omitempty"`
	Description string `json:"description,omitempty"`
}

// AccountSettings are one region's ECS account settings (PutAccountSetting,
// PutAccountSettingDefault): by principal ARN (the account's root for the
// account default), the value of each setting the principal set.
type AccountSettings struct {
	Principals map[string]map[string]string `json:"principals"`
}
