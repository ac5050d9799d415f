package ecs

import (
	"context"
	"errors"
	"fmt"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/ecs/placement"
	"github.com/berth/berth/internal/scheduler"
	"github.com/berth/berth/internal/store"
)

// ErrTaskDefinitionDeleted is LaunchServiceTasks' error when the
// deployment's task definition was deleted (DeleteTaskDefinitions) or is
// gone: no task can be launched from it. A deregistered (INACTIVE) one
// still launches, as in ECS.
var ErrTaskDefinitionDeleted = errors.New("ecs: the deployment's task definition was deleted")

// Launcher places and creates the tasks of service deployments for the
// service controller, through the same validation, placement and writes
// as RunTask.
type Launcher struct {
	s *service
}

// NewLauncher returns a Launcher over cfg's store and placer.
func NewLauncher(cfg Config) *Launcher {
	return &Launcher{s: newService(cfg, "launcher")}
}

// LaunchServiceTasks places count new tasks of deployment dep of svc and
// writes them in one store transaction (placed as RunTask places, so
// resources are never overcommitted). providerCounts: the
// service's tasks not yet STOPPED per capacity provider name, for the
// base/weight split (scheduler.SplitByStrategy); ignored when dep has no
// capacityProviderStrategy. It returns the tasks written (fewer than count
// when placement failed for some) and the placement failures for the rest.
// An EC2 launch into a cluster without container instances fails every
// task with one failure naming no node.
func (l *Launcher) LaunchServiceTasks(ctx context.Context, svc *ecsstate.Service, dep *ecsstate.Deployment, count int, providerCounts map[string]int) ([]ecsstate.Task, []scheduler.Failure, error) {
	if count <= 0 {
		return nil, nil, nil
	}
	s := l.s
	td, err := s.serviceTaskDefinition(ctx, svc.Region, dep.TaskDefinition)
	if err != nil {
		return nil, nil, err
	}
	launchType := dep.LaunchType
	if len(dep.CapacityProviderStrategy) > 0 {
		launchType = strategyTasksLaunchType(dep.CapacityProviderStrategy)
	}
	if launchType == "" {
		launchType = ecstypes.LaunchTypeEc2
	}
	var platformVersion *string
	if dep.PlatformVersion != "" {
		platformVersion = &dep.PlatformVersion
	}
	// The cluster's record says whether the hosts that serve every cluster
	// take its EC2 tasks (FargateOnly); one gone meanwhile is its name.
	cluster := ecsstate.Cluster{Region: svc.Region, Name: svc.Cluster}
	if rec, err := store.Get[ecsstate.Cluster](ctx, s.store, ecsstate.ClusterKey(svc.Region, svc.Cluster)); err == nil {
		cluster = rec.Value
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, nil, err
	}
	launch, err := s.validateLaunch(cluster, td, launchType, platformVersion, serviceLaunchInput(svc, dep.ID, dep.NetworkConfiguration))
	if err != nil {
		return nil, nil, fmt.Errorf("ecs: launch tasks of %s: %w", dep.ID, err)
	}
	constraints, strategies, err := placementRules(td.Definition, svc.PlacementConstraints, svc.PlacementStrategy)
	if err != nil {
		return nil, nil, fmt.Errorf("ecs: launch tasks of %s: %w", dep.ID, err)
	}
	var providers []string
	if len(dep.CapacityProviderStrategy) > 0 {
		items := make([]scheduler.Item, len(dep.CapacityProviderStrategy))
		for i, it := range dep.CapacityProviderStrategy {
			items[i] = scheduler.Item{Provider: awsapi.Deref(it.CapacityProvider), Base: int(awsapi.Deref(it.Base)), Weight: int(awsapi.Deref(it.Weight))}
		}
		if providers, err = scheduler.SplitByStrategy(items, providerCounts, count); err != nil {
			return nil, nil, fmt.Errorf("ecs: launch tasks of %s: %w", dep.ID, err)
		}
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
		placed, f, noInstances := snap.Place(launchType, req)
		if noInstances {
			failures = []scheduler.Failure{{Reason: errNoContainerInstances().Message}}
			return nil, nil
		}
		failures = f
		return s.placedTasks(launch, placed, providers), nil
	})
	if err != nil {
		return nil, nil, err
	}
	return tasks, failures, nil
}

// serviceLaunchInput is what a service's tasks are launched with: its
// deployment id as startedBy, its group, its tags as propagateTags says
// and its managed tags.
func serviceLaunchInput(svc *ecsstate.Service, deploymentID string, network *ecstypes.NetworkConfiguration) launchInput {
	in := launchInput{
		network:           network,
		startedBy:         awsapi.String(deploymentID),
		group:             awsapi.String(ecsstate.ServiceGroup(svc.Name)),
		managedTags:       awsapi.Bool(svc.EnableECSManagedTags),
		execute:           awsapi.Bool(svc.EnableExecuteCommand),
		service:           svc.Name,
		serviceTags:       svc.Tags,
		loadBalancers:     svc.LoadBalancers,
		serviceRegistries: svc.ServiceRegistries,
	}
	if svc.PropagateTags != "" && svc.PropagateTags != ecstypes.PropagateTagsNone {
		in.propagateTags = awsapi.String(svc.PropagateTags)
	}
	return in
}

// serviceTasksLaunchType is the launch type of a service's tasks: its
// strategy's, else its own.
func serviceTasksLaunchType(svc *ecsstate.Service) string {
	if len(svc.CapacityProviderStrategy) > 0 {
		return strategyTasksLaunchType(svc.CapacityProviderStrategy)
	}
	return svc.LaunchType
}

// strategyTasksLaunchType is the launch type of tasks a capacity provider
// strategy places: FARGATE for the Fargate providers, EC2 for any other.
func strategyTasksLaunchType(strategy []ecstypes.CapacityProviderStrategyItem) string {
	for _, it := range strategy {
		switch awsapi.Deref(it.CapacityProvider) {
		case providerFargate, providerFargateSpot:
			return ecstypes.LaunchTypeFargate
		}
	}
	return ecstypes.LaunchTypeEc2
}

// serviceTaskDefinition reads the task definition revision of region a
// deployment runs: deregistered (INACTIVE) ones still launch; deleted ones do not.
func (s *service) serviceTaskDefinition(ctx context.Context, region, arn string) (ecsstate.TaskDefinition, error) {
	_, rec, found, err := s.lookupTaskDefinition(ctx, region, arn)
	if err != nil {
		var malformed *awsapi.MessageError
		if errors.As(err, &malformed) {
			return ecsstate.TaskDefinition{}, fmt.Errorf("%w: %s: %s", ErrTaskDefinitionDeleted, arn, malformed.Message)
		}
		return ecsstate.TaskDefinition{}, err
	}
	if !found || rec.Value.DeleteRequested || awsapi.Deref(rec.Value.Definition.Status) == ecstypes.TaskDefinitionStatusDeleteInProgress {
		return ecsstate.TaskDefinition{}, fmt.Errorf("%w: %s", ErrTaskDefinitionDeleted, arn)
	}
	return rec.Value, nil
}
