package ecsstate

import (
	"strings"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecstypes"
)

// Service statuses.
const (
	ServiceActive   = "ACTIVE"
	ServiceDraining = "DRAINING"
	ServiceInactive = "INACTIVE"
)

// Deployment statuses.
const (
	DeploymentPrimary  = "PRIMARY"
	DeploymentActive   = "ACTIVE"
	DeploymentInactive = "INACTIVE"
)

// ServiceGroup is the task group of a service's tasks ("service:<name>").
func ServiceGroup(service string) string { return "service:" + service }

// MaxServiceEvents is how many events a service keeps (the newest).
const MaxServiceEvents = 100

// AddEvent adds an event to the service's, newest first, keeping the
// newest MaxServiceEvents.
func (s *Service) AddEvent(id, message string, at time.Time) {
	e := ecstypes.ServiceEvent{Id: &id, CreatedAt: awsapi.Time(at), Message: &message}
	s.Events = append([]ecstypes.ServiceEvent{e}, s.Events...)
	if len(s.Events) > MaxServiceEvents {
		s.Events = s.Events[:MaxServiceEvents]
	}
}

// MaxDeploymentHistory is how many finished (INACTIVE) deployments a
// service keeps for DescribeServiceDeployments and rollbacks.
const MaxDeploymentHistory = 20

// Service is an ECS service: what the API asked for (the launch settings
// the next deployment takes, the desired count) and what the service
// controller keeps (deployments, counts, events, the start throttle).
type Service struct {
	Name    string `json:"name"`
	Region  string `json:"region"`
	Cluster string `json:"cluster"`
	// Status is ACTIVE, DRAINING (deleted, tasks stopping) or INACTIVE.
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"createdAt"`
	CreatedBy string    `json:"createdBy,omitempty"`
	// DeletedAt is when DeleteService made it DRAINING.
	DeletedAt time.Time `json:"deletedAt,omitzero"`

	DesiredCount int32 `json:"desiredCount"`
	// TaskDefinition is the ARN of the task definition the PRIMARY
	// deployment runs.
	TaskDefinition           string                                  `json:"taskDefinition"`
	LaunchType               string                                  `json:"launchType,omitempty"`
	CapacityProviderStrategy []ecstypes.CapacityProviderStrategyItem `json:"capacityProviderStrategy,omitempty"`
	PlatformVersion          string                                  `json:"platformVersion,omitempty"`
	PlatformFamily           string                                  `json:"platformFamily,omitempty"`
	NetworkConfiguration     *ecstypes.NetworkConfiguration          `json:"networkConfiguration,omitempty"`
	LoadBalancers            []ecstypes.LoadBalancer                 `json:"loadBalancers,omitempty"`
	ServiceRegistries        []ecstypes.ServiceRegistry              `json:"serviceRegistries,omitempty"`
	// HealthCheckGracePeriodSeconds is nil while the service was never
	// given one (ECS then leaves it out of its answers without a load
	// balancer).
	HealthCheckGracePeriodSeconds *int32 `json:"healthCheckGracePeriodSeconds,omitempty"`
	// AvailabilityZoneRebalancing is ENABLED or DISABLED; "" for a service
	// a berth without it created, which ECS treats as DISABLED. berth's
	// hosts are one zone per region, so there is never anything to
	// rebalance: the setting is kept and answered.
	AvailabilityZoneRebalancing string `json:"availabilityZoneRebalancing,omitempty"`
	// DeploymentConfiguration has ECS's defaults applied (maximumPercent
	// 200, minimumHealthyPercent 100, circuit breaker off).
	DeploymentConfiguration ecstypes.DeploymentConfiguration `json:"deploymentConfiguration"`
	PlacementConstraints    []ecstypes.PlacementConstraint   `json:"placementConstraints,omitempty"`
	PlacementStrategy       []ecstypes.PlacementStrategy     `json:"placementStrategy,omitempty"`
	// SchedulingStrategy is REPLICA (DAEMON is refused for now).
	SchedulingStrategy   string         `json:"schedulingStrategy"`
	EnableExecuteCommand bool           `json:"enableExecuteCommand,omitempty"`
	EnableECSManagedTags bool           `json:"enableECSManagedTags,omitempty"`
	PropagateTags        string         `json:"propagateTags,omitempty"` // TASK_DEFINITION | SERVICE | NONE
	Tags                 []ecstypes.Tag `json:"tags,omitempty"`
	RoleARN              string         `json:"roleArn,omitempty"`

	// Deployments are the live deployments: the PRIMARY first, then the
	// ACTIVE ones newest first. History holds the finished (INACTIVE)
	// ones, newest first, at most MaxDeploymentHistory.
	Deployments []Deployment `json:"deployments"`
	History     []Deployment `json:"history,omitempty"`
	// RunningCount and PendingCount are the controller's last count of
	// the service's tasks (RUNNING; PROVISIONING to ACTIVATING).
	RunningCount int32 `json:"runningCount"`
	PendingCount int32 `json:"pendingCount"`
	// Events are the newest first, at most MaxServiceEvents.
	Events []ecstypes.ServiceEvent `json:"events,omitempty"`
	// Steady is whether the controller last saw the service at steady
	// state (it emits the steady-state event on the way in).
	Steady bool `json:"steady,omitempty"`
	// Throttle is the start-failure throttle (spec 3.6).
	Throttle StartThrottle `json:"throttle,omitzero"`
	// UpdatedAt is the last change of the service's settings.
	UpdatedAt time.Time `json:"updatedAt"`
}

// Key is the service's store key.
func (s *Service) Key() string { return ServiceKey(s.Region, s.Cluster, s.Name) }

// Primary returns the PRIMARY deployment, nil if there is none.
func (s *Service) Primary() *Deployment {
	for i := range s.Deployments {
		if s.Deployments[i].Status == DeploymentPrimary {
			return &s.Deployments[i]
		}
	}
	return nil
}

// Deployment is one deployment of a service: a task definition and the
// launch settings its tasks take, and how its rollout goes.
type Deployment struct {
	ID     string `json:"id"` // ecs-svc/<19 digits>
	Status string `json:"status"`
	// TaskDefinition is the ARN of the task definition its tasks run.
	TaskDefinition           string                                  `json:"taskDefinition"`
	DesiredCount             int32                                   `json:"desiredCount"`
	LaunchType               string                                  `json:"launchType,omitempty"`
	CapacityProviderStrategy []ecstypes.CapacityProviderStrategyItem `json:"capacityProviderStrategy,omitempty"`
	PlatformVersion          string                                  `json:"platformVersion,omitempty"`
	PlatformFamily           string                                  `json:"platformFamily,omitempty"`
	NetworkConfiguration     *ecstypes.NetworkConfiguration          `json:"networkConfiguration,omitempty"`
	CreatedAt                time.Time                               `json:"createdAt"`
	UpdatedAt                time.Time                               `json:"updatedAt"`
	// FinishedAt is when it became INACTIVE (replaced or rolled back).
	FinishedAt time.Time `json:"finishedAt,omitzero"`

	// RolloutState is IN_PROGRESS, COMPLETED or FAILED.
	RolloutState       string `json:"rolloutState"`
	RolloutStateReason string `json:"rolloutStateReason,omitempty"`
	// FailedTasks is the circuit breaker's count (spec 3.4).
	FailedTasks int32 `json:"failedTasks"`
	// RunningCount and PendingCount count its tasks as the controller
	// last saw them.
	RunningCount int32 `json:"runningCount"`
	PendingCount int32 `json:"pendingCount"`
	// ReachedHealthy is set once a task of the deployment has counted
	// healthy: the circuit breaker's stage 2 from then on.
	ReachedHealthy bool `json:"reachedHealthy,omitempty"`
	// RollbackOf is the id of the deployment the circuit breaker failed
	// when this deployment is its rollback.
	RollbackOf string `json:"rollbackOf,omitempty"`
	// RollbackTo is, on a rollback, the id of the COMPLETED deployment
	// whose task definition it brings back.
	RollbackTo string `json:"rollbackTo,omitempty"`
	// RolledBack is set on a FAILED deployment the breaker rolled back.
	RolledBack bool `json:"rolledBack,omitempty"`
}

// StartThrottle is the record of scheduler.StartThrottle.
type StartThrottle struct {
	TaskDefinition string    `json:"taskDefinition,omitempty"`
	Failures       int       `json:"failures,omitempty"`
	LastFailure    time.Time `json:"lastFailure,omitzero"`
}

// CapacityProvider is a custom (Auto Scaling group) capacity provider.
// FARGATE and FARGATE_SPOT are built in and not stored.
type CapacityProvider struct {
	Name                     string                             `json:"name"`
	Status                   string                             `json:"status"` // ACTIVE | INACTIVE
	AutoScalingGroupProvider *ecstypes.AutoScalingGroupProvider `json:"autoScalingGroupProvider,omitempty"`
	UpdateStatus             string                             `json:"updateStatus,omitempty"`
	UpdateStatusReason       string                             `json:"updateStatusReason,omitempty"`
	Tags                     []ecstypes.Tag                     `json:"tags,omitempty"`
	CreatedAt                time.Time                          `json:"createdAt"`
}

func (a ARNs) Service(cluster, name string) string {
	return a.prefix() + "service/" + cluster + "/" + name
}

// ServiceDeployment is the ARN of a deployment, as the service deployment
// APIs name it: the id is the deployment id's digits.
func (a ARNs) ServiceDeployment(cluster, service, deploymentID string) string {
	return a.prefix() + "service-deployment/" + cluster + "/" + service + "/" + deploymentIDDigits(deploymentID)
}

// ServiceRevision is the ARN of a service revision: berth keeps one
// revision per deployment, named by the deployment id's digits.
func (a ARNs) ServiceRevision(cluster, service, deploymentID string) string {
	return a.prefix() + "service-revision/" + cluster + "/" + service + "/" + deploymentIDDigits(deploymentID)
}

func deploymentIDDigits(id string) string {
	digits, _ := strings.CutPrefix(id, "ecs-svc/")
	return digits
}

// ServiceName returns the service a name or service ARN refers to, and the
// cluster the ARN names ("" for a bare name or the old ARN form).
func (a ARNs) ServiceName(ref string) (cluster, name string, ok bool) {
	return a.clusterScopedID(ref, "service/")
}
