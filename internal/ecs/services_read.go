package ecs

import (
	"cmp"
	"context"
	"errors"
	"slices"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/store"
)

// ListServices' default page size (the model: up to 10 without
// maxResults).
const defaultServicesPage = 10

// serviceOutput renders a service as DescribeServices and the calls that
// change services return it. Tags come only with withTags: DescribeServices
// answers them when include names TAGS; the calls that change a service
// when it has some, as the CLI's documented outputs show.
func (s *service) serviceOutput(svc *ecsstate.Service, withTags bool) ecstypes.Service {
	dc := svc.DeploymentConfiguration
	out := ecstypes.Service{
		ServiceArn:                  awsapi.String(s.arnsIn(svc.Region).Service(svc.Cluster, svc.Name)),
		ServiceName:                 awsapi.String(svc.Name),
		ClusterArn:                  awsapi.String(s.arnsIn(svc.Region).Cluster(svc.Cluster)),
		LoadBalancers:               nonNil(svc.LoadBalancers),
		ServiceRegistries:           nonNil(svc.ServiceRegistries),
		Status:                      awsapi.String(svc.Status),
		DesiredCount:                awsapi.Int32(svc.DesiredCount),
		RunningCount:                awsapi.Int32(svc.RunningCount),
		PendingCount:                awsapi.Int32(svc.PendingCount),
		CapacityProviderStrategy:    svc.CapacityProviderStrategy,
		TaskDefinition:              awsapi.String(svc.TaskDefinition),
		DeploymentConfiguration:     &dc,
		Deployments:                 []ecstypes.Deployment{},
		Events:                      nonNil(svc.Events),
		CreatedAt:                   awsapi.Time(svc.CreatedAt),
		PlacementConstraints:        nonNil(svc.PlacementConstraints),
		PlacementStrategy:           nonNil(svc.PlacementStrategy),
		NetworkConfiguration:        svc.NetworkConfiguration,
		SchedulingStrategy:          awsapi.String(svc.SchedulingStrategy),
		DeploymentController:        &ecstypes.DeploymentController{Type: awsapi.String(deploymentControllerECS)},
		EnableECSManagedTags:        awsapi.Bool(svc.EnableECSManagedTags),
		EnableExecuteCommand:        awsapi.Bool(svc.EnableExecuteCommand),
		PropagateTags:               awsapi.String(cmp.Or(svc.PropagateTags, ecstypes.PropagateTagsNone)),
		ResourceManagementType:      awsapi.String(ecstypes.ResourceManagementTypeCustomer),
		LaunchType:                  awsapi.OptionalString(svc.LaunchType),
		PlatformVersion:             awsapi.OptionalString(svc.PlatformVersion),
		PlatformFamily:              awsapi.OptionalString(svc.PlatformFamily),
		RoleArn:                     awsapi.OptionalString(s.serviceRole(svc)),
		CreatedBy:                   awsapi.OptionalString(svc.CreatedBy),
		AvailabilityZoneRebalancing: awsapi.OptionalString(svc.AvailabilityZoneRebalancing),
	}
	if svc.HealthCheckGracePeriodSeconds != nil || len(svc.LoadBalancers) > 0 {
		out.HealthCheckGracePeriodSeconds = awsapi.Int32(awsapi.Deref(svc.HealthCheckGracePeriodSeconds))
	}
	for i := range svc.Deployments {
		d := &svc.Deployments[i]
		if d.Status == ecsstate.DeploymentInactive {
			continue // INACTIVE deployments are never listed
		}
		out.Deployments = append(out.Deployments, deploymentOutput(d))
		out.CurrentServiceRevisions = append(out.CurrentServiceRevisions, ecstypes.ServiceCurrentRevisionSummary{
			Arn:                awsapi.String(s.arnsIn(svc.Region).ServiceRevision(svc.Cluster, svc.Name, d.ID)),
			RequestedTaskCount: awsapi.Int32(d.DesiredCount),
			RunningTaskCount:   awsapi.Int32(d.RunningCount),
			PendingTaskCount:   awsapi.Int32(d.PendingCount),
		})
		if d.Status == ecsstate.DeploymentPrimary {
			out.CurrentServiceDeployment = awsapi.String(s.arnsIn(svc.Region).ServiceDeployment(svc.Cluster, svc.Name, d.ID))
		}
	}
	if withTags {
		out.Tags = tagsOrEmpty(svc.Tags)
	}
	return out
}

// serviceRole is the role ECS names for a service: the one it was given,
// else, for a service whose tasks get network interfaces (awsvpc) or that
// registers them with load balancers, ECS's service-linked role, which
// every account using ECS has and which does that work; else none (the
// CLI's documented outputs answer it for such services alone).
func (s *service) serviceRole(svc *ecsstate.Service) string {
	if svc.RoleARN != "" || (svc.NetworkConfiguration == nil && len(svc.LoadBalancers) == 0) {
		return svc.RoleARN
	}
	return "arn:aws:iam::" + s.account + ":role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS"
}

func deploymentOutput(d *ecsstate.Deployment) ecstypes.Deployment {
	out := ecstypes.Deployment{
		Id:                       awsapi.String(d.ID),
		Status:                   awsapi.String(d.Status),
		TaskDefinition:           awsapi.String(d.TaskDefinition),
		DesiredCount:             awsapi.Int32(d.DesiredCount),
		PendingCount:             awsapi.Int32(d.PendingCount),
		RunningCount:             awsapi.Int32(d.RunningCount),
		FailedTasks:              awsapi.Int32(d.FailedTasks),
		CreatedAt:                awsapi.Time(d.CreatedAt),
		UpdatedAt:                awsapi.Time(d.UpdatedAt),
		CapacityProviderStrategy: d.CapacityProviderStrategy,
		NetworkConfiguration:     d.NetworkConfiguration,
		RolloutState:             awsapi.String(d.RolloutState),
		LaunchType:               awsapi.OptionalString(d.LaunchType),
		PlatformVersion:          awsapi.OptionalString(d.PlatformVersion),
		PlatformFamily:           awsapi.OptionalString(d.PlatformFamily),
		RolloutStateReason:       awsapi.OptionalString(d.RolloutStateReason),
	}
	return out
}

func (s *service) describeServices(ctx context.Context, in *ecstypes.DescribeServicesRequest) (*ecstypes.DescribeServicesResponse, error) {
	switch n := len(in.Services); {
	case n == 0:
		// UNVERIFIED wording.
		return nil, invalidParameter("Services cannot be empty.")
	case n > maxDescribeServices:
		// UNVERIFIED wording, as ECS words other list limits.
		return nil, invalidParameter("services can have at most %d items.", maxDescribeServices)
	}
	c, err := s.clusterForService(ctx, in.Cluster, in.Services[0], false)
	if err != nil {
		return nil, err
	}
	cluster := c.Value.Name
	withTags := slices.Contains(in.Include, ecstypes.ServiceFieldTags)
	out := &ecstypes.DescribeServicesResponse{Services: []ecstypes.Service{}, Failures: []ecstypes.Failure{}}
	for _, ref := range in.Services {
		name, ok := s.serviceRef(ctx, cluster, ref)
		var rec store.Versioned[ecsstate.Service]
		err := store.ErrNotFound
		if ok {
			rec, err = store.Get[ecsstate.Service](ctx, s.store, ecsstate.ServiceKey(requestRegion(ctx), cluster, name))
		}
		if errors.Is(err, store.ErrNotFound) {
			arn := ref
			if ok {
				arn = s.requestARNs(ctx).Service(cluster, name)
			}
			out.Failures = append(out.Failures, ecstypes.Failure{Arn: awsapi.String(arn), Reason: awsapi.String("MISSING")})
			continue
		}
		if err != nil {
			return nil, err
		}
		out.Services = append(out.Services, s.serviceOutput(&rec.Value, withTags))
	}
	return out, nil
}

func (s *service) listServices(ctx context.Context, in *ecstypes.ListServicesRequest) (*ecstypes.ListServicesResponse, error) {
	limit := defaultServicesPage
	if in.MaxResults != nil {
		var err error
		if limit, err = pageSize(in.MaxResults); err != nil {
			return nil, err
		}
	}
	after, err := decodeToken(in.NextToken, "ListServices")
	if err != nil {
		return nil, err
	}
	c, err := s.cluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	launchType, scheduling := awsapi.Deref(in.LaunchType), awsapi.Deref(in.SchedulingStrategy)
	managed := awsapi.Deref(in.ResourceManagementType)
	page, next, err := listPage(ctx, s.store, ecsstate.ClusterServicesPrefix(requestRegion(ctx), c.Value.Name), after, limit,
		func(v *ecsstate.Service) bool {
			// DRAINING and INACTIVE services are hidden; every service
			// here is customer-managed.
			return v.Status == ecsstate.ServiceActive &&
				(launchType == "" || v.LaunchType == launchType) &&
				(scheduling == "" || v.SchedulingStrategy == scheduling) &&
				(managed == "" || managed == ecstypes.ResourceManagementTypeCustomer)
		},
		func(v *ecsstate.Service) string { return v.Key() })
	if err != nil {
		return nil, err
	}
	out := &ecstypes.ListServicesResponse{ServiceArns: make([]string, 0, len(page))}
	for _, v := range page {
		out.ServiceArns = append(out.ServiceArns, s.requestARNs(ctx).Service(v.Cluster, v.Name))
	}
	if next != "" {
		out.NextToken = encodeToken("ListServices", next)
	}
	return out, nil
}
