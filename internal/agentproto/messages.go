// Package agentproto is the protocol between berth's server and its node
// agents: one long-lived, authenticated WebSocket per agent carrying JSON
// messages. It is level-based: on connect the agent reports everything it
// observes (Hello) and the server answers with everything it wants on that
// node (Welcome); afterwards each side sends changes. Every message carries
// whole state for one task, so a duplicate or a replay after a reconnect is
// harmless.
//
// The protocol owns its types: they are what goes on the wire, and nothing
// else is. The agent hub converts between them and the server's store
// records; the agent works in them. Agents on other hosts are upgraded
// apart from their server, so the wire changes only through a new protocol
// version (see Version).
//
// The JSON names are version 1's. They are the names of the store records
// the first version's messages embedded, kept so that peers of that version
// (which decode strictly) go on understanding every frame.
//
// Where a field is an ECS API shape (a task definition, RunTask overrides,
// an attribute, a tag, an awsvpc configuration, a network binding), it is
// the generated shape of ecstypes rather than a copy: that schema is AWS's,
// stable and only ever extended with optional members, its JSON names are
// ECS's own, and the agent needs all of it (a task definition has hundreds
// of members) to run a task as ECS would.
package agentproto

import (
	"time"

	"github.com/berth/berth/internal/ecs/ecstypes"
)

// Path is where the server accepts agent connections. Its "v1" is not the
// protocol version, which peers agree in the handshake: the path stays.
const Path = "/_berth/agent/v1"

// Message is the envelope of every frame; exactly one field is set.
type Message struct {
	Hello   *Hello       `json:"hello,omitempty"`
	Welcome *Welcome     `json:"welcome,omitempty"`
	Task    *DesiredTask `json:"task,omitempty"`
	Status  *TaskReport  `json:"status,omitempty"`
	// Forget tells the agent a task's record is gone (purged an hour after
	// it stopped); the agent drops what it still keeps of it.
	Forget *TaskRef `json:"forget,omitempty"`
	// Network is the VPCs and security groups every node carries, whole,
	// sent after the Welcome and again whenever they change (version 2).
	Network *NetworkState `json:"network,omitempty"`
	// Exec asks the agent to run a command in one of its tasks'
	// containers for an ECS Exec session (version 3).
	Exec *ExecRequest `json:"exec,omitempty"`
	// Error ends a connection with the reason the peer refused it.
	Error string `json:"error,omitempty"`
}

// Hello is the agent's first message.
type Hello struct {
	// Version is the newest protocol version the agent speaks.
	Version int `json:"version"`
	// Node describes the node.
	Node Node `json:"node"`
	// Tasks is every task the agent knows on this node, as observed now
	// (rebuilt from the runtime after an agent restart).
	Tasks []TaskReport `json:"tasks"`
}

// Welcome is the server's answer to Hello.
type Welcome struct {
	// Version is the protocol version of the connection from here on.
	Version int `json:"version"`
	// Tasks is every task the server wants on this node that is not yet
	// STOPPED as observed, plus stopped ones the agent reported but the
	// server still keeps. A task the agent runs and the server does not
	// name here is unknown to the server: the agent stops it.
	Tasks []DesiredTask `json:"tasks"`
	// RegistryHost is the host[:port] at which the agent reaches berth's
	// registry; images named in ECR form resolve to it.
	RegistryHost string `json:"registryHost"`
	// AccountID and Region are the server's.
	AccountID string `json:"accountId"`
	Region    string `json:"region"`
}

// Node describes an agent's node: what the agent is the authority on. The
// server keeps its own record of the node (its status, when it registered,
// whether it is connected).
type Node struct {
	// ID is the node's stable identity, 32 lowercase hex digits, kept in
	// the agent's data dir. It is also the node's container instance id.
	ID       string `json:"id"`
	Hostname string `json:"hostname"`
	// Clusters the node serves; AllClusters serves every cluster.
	Clusters []string `json:"clusters"`
	// LaunchTypes it takes: FARGATE (which covers FARGATE_SPOT) and/or EC2.
	LaunchTypes []string `json:"launchTypes"`
	// CPU in CPU units (1024 per core) and memory in MiB it offers.
	CPU       int32 `json:"cpu"`
	MemoryMiB int32 `json:"memoryMiB"`
	// Attributes are ECS's built-in and custom container instance
	// attributes (ecs.os-type, ...).
	Attributes   []ecstypes.Attribute `json:"attributes,omitempty"`
	AgentVersion string               `json:"agentVersion,omitempty"`

	serverNodeFields
}

// serverNodeFields are members the server's node record has and earlier
// agents of version 1 sent along, always empty, because their Hello
// embedded that record. They are decoded so that those Hellos stay valid;
// they are never sent and nothing reads them.
type serverNodeFields struct {
	Status       string    `json:"status,omitempty"`
	Connected    bool      `json:"connected,omitempty"`
	RegisteredAt time.Time `json:"registeredAt,omitzero"`
	SeenAt       time.Time `json:"seenAt,omitzero"`
}

// AllClusters in Node.Clusters makes a node serve every cluster.
const AllClusters = "*"

// Task statuses: the values of DesiredTask.DesiredStatus (RUNNING or
// STOPPED), TaskStatus.LastStatus (any, in lifecycle order) and
// ContainerStatus.LastStatus (PENDING, RUNNING or STOPPED). They are ECS's
// own.
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

// TaskRef names a task.
type TaskRef struct {
	Cluster string `json:"cluster"`
	ID      string `json:"id"`
}

// DesiredTask is the server's intent for one task: its spec, desired status
// and the generation of that intent.
type DesiredTask struct {
	Cluster string `json:"cluster"`
	ID      string `json:"id"` // 32 lowercase hex digits
	ARN     string `json:"arn"`
	// Generation increases with every change of intent; the agent's
	// reports say which generation they acted on.
	Generation int64 `json:"generation"`
	// DesiredStatus is RUNNING or STOPPED.
	DesiredStatus string   `json:"desiredStatus"`
	Spec          TaskSpec `json:"spec"`
	// StopCode and StoppedReason of a stop request.
	StopCode      string `json:"stopCode,omitempty"`
	StoppedReason string `json:"stoppedReason,omitempty"`
	// DrainUntil is when a stopping task's containers may be stopped:
	// load balancers drain its connections until then (version 2).
	DrainUntil time.Time `json:"drainUntil,omitzero"`
	// ClusterARN and container ARNs are for the metadata endpoint.
	ClusterARN    string   `json:"clusterArn"`
	ContainerARNs []string `json:"containerArns"`
	// Images are the pull references of the containers, in definition
	// order: ECR-form names resolved to the registry, others as written.
	Images []Image `json:"images"`
	// Interface is an awsvpc task's network interface, made by the server
	// before the task is sent (version 2); InterfaceError says why it
	// could not be made, and the agent stops the task with it.
	Interface      *TaskInterface `json:"interface,omitempty"`
	InterfaceError string         `json:"interfaceError,omitempty"`
}

// TaskInterface is an awsvpc task's network interface: its address in the
// subnet it was placed in, on its VPC's bridge.
type TaskInterface struct {
	ID           string `json:"id"`
	AttachmentID string `json:"attachmentId"`
	VPCID        string `json:"vpcId"`
	VPCCIDR      string `json:"vpcCidr"`
	SubnetID     string `json:"subnetId"`
	SubnetCIDR   string `json:"subnetCidr"`
	// Address is the task's IPv4 address; the subnet's router (its base
	// + 1) is the task's gateway.
	Address        string   `json:"address"`
	MAC            string   `json:"mac"`
	PrivateDNSName string   `json:"privateDnsName"`
	Groups         []string `json:"groups"`
}

// NetworkState is every VPC, network interface and security group of the
// server (all regions: they share the hosts), for the agents to carry the
// VPCs on their host and enforce the groups.
type NetworkState struct {
	VPCs       []VPCState       `json:"vpcs"`
	Interfaces []InterfaceState `json:"interfaces"`
	Groups     []GroupState     `json:"groups"`
}

// VPCState is a VPC: its range, its subnets' ranges, and the addresses of
// it the host answers on (load balancers').
type VPCState struct {
	ID            string   `json:"id"`
	Region        string   `json:"region"`
	CIDR          string   `json:"cidr"`
	Subnets       []string `json:"subnets"`
	HostAddresses []string `json:"hostAddresses,omitempty"`
}

// InterfaceState is a network interface the groups apply to; Host marks a
// load balancer's, whose address the host itself serves.
type InterfaceState struct {
	ID      string   `json:"id"`
	VPCID   string   `json:"vpcId"`
	Address string   `json:"address"`
	Groups  []string `json:"groups"`
	Host    bool     `json:"host,omitempty"`
}

// GroupState is a security group with its rules.
type GroupState struct {
	ID      string      `json:"id"`
	VPCID   string      `json:"vpcId"`
	Default bool        `json:"default,omitempty"`
	Ingress []RuleState `json:"ingress"`
	Egress  []RuleState `json:"egress"`
}

// RuleState is one security group rule: protocol ("-1", "tcp", "udp",
// "icmp" or a number), ports (-1: all) and the peer, a CIDR or a group.
type RuleState struct {
	Protocol string `json:"protocol"`
	FromPort int32  `json:"fromPort"`
	ToPort   int32  `json:"toPort"`
	CIDR     string `json:"cidr,omitempty"`
	Group    string `json:"group,omitempty"`
}

// TaskSpec is everything an agent needs to run a task, fixed when the task
// was created: the task definition as it was then, with RunTask's overrides.
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

// Image says how to pull one container's image.
type Image struct {
	// Ref is the reference the runtime pulls.
	Ref string `json:"ref"`
	// Auth is the registry credential for Ref's registry, when berth's own.
	Auth *RegistryAuth `json:"auth,omitempty"`
}

// RegistryAuth is a username/password pair for a registry.
type RegistryAuth struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	ServerAddress string `json:"serverAddress"`
}

// TaskReport is the agent's observation of one task.
type TaskReport struct {
	Cluster string     `json:"cluster"`
	ID      string     `json:"id"`
	Status  TaskStatus `json:"status"`
}

// TaskStatus is what the agent observes of a task. The agent is the
// authority on it.
type TaskStatus struct {
	// Generation is the DesiredTask.Generation the agent had seen when it
	// made this observation.
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
