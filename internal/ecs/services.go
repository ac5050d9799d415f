package ecs

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/scheduler"
	"github.com/berth/berth/internal/store"
)

// serviceOperations are the service APIs. They write a service's settings
// and its deployments; the service controller starts and stops its tasks
// and keeps its counts, rollout states and events.
func (s *service) serviceOperations() map[string]awsapi.Operation {
	return map[string]awsapi.Operation{
		"CreateService":              awsapi.Op(s.createService),
		"UpdateService":              awsapi.Op(s.updateService),
		"DeleteService":              awsapi.Op(s.deleteService),
		"DescribeServices":           awsapi.Op(s.describeServices),
		"ListServices":               awsapi.Op(s.listServices),
		"ListServicesByNamespace":    awsapi.Op(s.listServicesByNamespace),
		"DescribeServiceDeployments": awsapi.Op(s.describeServiceDeployments),
		"ListServiceDeployments":     awsapi.Op(s.listServiceDeployments),
	}
}

// placeholderDeploymentID stands for a deployment id while a service's
// launch settings are validated before its deployment exists.
const placeholderDeploymentID = scheduler.DeploymentIDPrefix + "0000000000000000000"

func (s *service) createService(ctx context.Context, in *ecstypes.CreateServiceRequest) (*ecstypes.CreateServiceResponse, error) {
	name := awsapi.Deref(in.ServiceName)
	if err := checkServiceName(name); err != nil {
		return nil, err
	}
	if err := checkClientToken(in.ClientToken); err != nil {
		return nil, err
	}
	c, err := s.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	cluster := c.Value
	scheduling := awsapi.Deref(in.SchedulingStrategy)
	switch scheduling {
	case "", ecstypes.SchedulingStrategyReplica:
		scheduling = ecstypes.SchedulingStrategyReplica
	case ecstypes.SchedulingStrategyDaemon:
		return nil, unsupportedFeature("berth does not support the DAEMON scheduling strategy yet.")
	default:
		// UNVERIFIED wording; the model's enum usually catches it first.
		return nil, invalidParameter("Invalid scheduling strategy: %s.", scheduling)
	}
	if in.DesiredCount == nil {
		// UNVERIFIED wording; the model documents desiredCount as required
		// for REPLICA services.
		return nil, invalidParameter("The desired count is required for services using the REPLICA scheduling strategy.")
	}
	if *in.DesiredCount < 0 {
		// UNVERIFIED wording.
		return nil, invalidParameter("The desired count must be greater than or equal to 0.")
	}
	if err := checkDeploymentController(in.DeploymentController); err != nil {
		return nil, err
	}
	if err := checkUnsupportedServiceFeatures(in.ServiceConnectConfiguration, in.VolumeConfigurations, in.VpcLatticeConfigurations); err != nil {
		return nil, err
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
	platformVersion, err := servicePlatformVersion(launchType, in.PlatformVersion)
	if err != nil {
		return nil, err
	}
	if err := checkFargatePlacement(launchType, in.PlacementConstraints, in.PlacementStrategy); err != nil {
		return nil, err
	}
	if err := checkPlacement(in.PlacementConstraints, in.PlacementStrategy); err != nil {
		return nil, err
	}
	if err := checkPropagateTags(in.PropagateTags); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags, invalidParameter); err != nil {
		return nil, err
	}
	deployment, err := deploymentConfiguration(nil, in.DeploymentConfiguration)
	if err != nil {
		return nil, err
	}
	if err := s.checkLoadBalancers(ctx, in.LoadBalancers, def.Definition); err != nil {
		return nil, err
	}
	if err := s.checkServiceRegistries(ctx, in.ServiceRegistries, def.Definition); err != nil {
		return nil, err
	}
	if err := checkServiceRole(awsapi.Deref(in.Role), def.Definition, in.LoadBalancers); err != nil {
		return nil, err
	}
	if g := awsapi.Deref(in.HealthCheckGracePeriodSeconds); g < 0 {
		// UNVERIFIED wording.
		return nil, invalidParameter("healthCheckGracePeriodSeconds must be greater than or equal to 0.")
	}

	now := s.now()
	svc := ecsstate.Service{
		Name:                          name,
		Region:                        cluster.Region,
		Cluster:                       cluster.Name,
		Status:                        ecsstate.ServiceActive,
		CreatedAt:                     now,
		CreatedBy:                     s.callerPrincipal(ctx),
		DesiredCount:                  *in.DesiredCount,
		TaskDefinition:                awsapi.Deref(def.Definition.TaskDefinitionArn),
		CapacityProviderStrategy:      normalizeStrategy(strategy),
		PlatformVersion:               platformVersion,
		HealthCheckGracePeriodSeconds: in.HealthCheckGracePeriodSeconds,
		LoadBalancers:                 slices.Clone(in.LoadBalancers),
		ServiceRegistries:             slices.Clone(in.ServiceRegistries),
		AvailabilityZoneRebalancing:   cmp.Or(awsapi.Deref(in.AvailabilityZoneRebalancing), ecstypes.AvailabilityZoneRebalancingEnabled),
		DeploymentConfiguration:       deployment,
		PlacementConstraints:          slices.Clone(in.PlacementConstraints),
		PlacementStrategy:             slices.Clone(in.PlacementStrategy),
		SchedulingStrategy:            scheduling,
		EnableExecuteCommand:          awsapi.Deref(in.EnableExecuteCommand),
		EnableECSManagedTags:          awsapi.Deref(in.EnableECSManagedTags),
		PropagateTags:                 awsapi.Deref(in.PropagateTags),
		Tags:                          mergeTags(nil, in.Tags),
		RoleARN:                       awsapi.Deref(in.Role),
		UpdatedAt:                     now,
	}
	if strategy == nil {
		svc.LaunchType = launchType
	}
	if launchType == ecstypes.LaunchTypeFargate {
		svc.PlatformFamily = fargatePlatformOS
	}
	network, err := s.checkServiceLaunch(ctx, cluster, def, &svc, in.NetworkConfiguration)
	if err != nil {
		return nil, err
	}
	svc.NetworkConfiguration = network
	svc.Deployments = []ecsstate.Deployment{newDeployment(&svc, now)}

	// An ACTIVE service of that name is returned unchanged when asked for
	// with the same settings, and refused otherwise; a DRAINING one is
	// refused; an INACTIVE one is replaced.
	out, err := store.Update(ctx, s.store, svc.Key(), func(v *ecsstate.Service, found bool) error {
		if !found || v.Status == ecsstate.ServiceInactive {
			*v = svc
			return nil
		}
		if v.Status == ecsstate.ServiceDraining {
			return errServiceDraining()
		}
		if !sameServiceSettings(v, &svc) {
			return errServiceNotIdempotent()
		}
		return store.ErrUnchanged
	})
	if err != nil {
		return nil, err
	}
	o := s.serviceOutput(&out, len(out.Tags) > 0)
	return &ecstypes.CreateServiceResponse{Service: &o}, nil
}

// checkServiceRole validates CreateService's role: ECS allows it only for
// a service with a load balancer whose tasks are not awsvpc.
func checkServiceRole(role string, def ecstypes.TaskDefinition, lbs []ecstypes.LoadBalancer) error {
	if role == "" {
		return nil
	}
	if awsapi.Deref(def.NetworkMode) == ecstypes.NetworkModeAwsvpc {
		return invalidParameter("You cannot specify an IAM role for services that require a service linked role.") // OBSERVED
	}
	if len(lbs) == 0 {
		// UNVERIFIED wording; the model documents that role needs loadBalancers.
		return invalidParameter("The role parameter is only valid for services that use a load balancer.")
	}
	return nil
}

// checkServiceLaunch validates the service's launch settings against its
// task definition, as each task the controller launches will be
// validated (RunTask's checks), and returns the network configuration in
// effect.
func (s *service) checkServiceLaunch(ctx context.Context, cluster ecsstate.Cluster, td ecsstate.TaskDefinition, svc *ecsstate.Service, network *ecstypes.NetworkConfiguration) (*ecstypes.NetworkConfiguration, error) {
	launchType := serviceTasksLaunchType(svc)
	var pv *string
	if svc.PlatformVersion != "" {
		pv = &svc.PlatformVersion
	}
	launch, err := s.validateLaunch(cluster, td, launchType, pv, serviceLaunchInput(svc, placeholderDeploymentID, network))
	if err != nil {
		return nil, err
	}
	if err := s.checkVPCResources(ctx, cluster.Region, launch.network); err != nil {
		return nil, err
	}
	if err := s.checkTaskRoles(ctx, cluster, &td.Definition, nil); err != nil {
		return nil, err
	}
	if _, _, err := placementRules(td.Definition, svc.PlacementConstraints, svc.PlacementStrategy); err != nil {
		return nil, err
	}
	if launch.network == nil {
		return nil, nil
	}
	return &ecstypes.NetworkConfiguration{AwsvpcConfiguration: launch.network}, nil
}

// normalizeStrategy returns a strategy with base and weight filled in, as
// ECS reports them; nil for none.
func normalizeStrategy(strategy []ecstypes.CapacityProviderStrategyItem) []ecstypes.CapacityProviderStrategyItem {
	if len(strategy) == 0 {
		return nil
	}
	out := make([]ecstypes.CapacityProviderStrategyItem, len(strategy))
	for i, it := range strategy {
		out[i] = ecstypes.CapacityProviderStrategyItem{
			CapacityProvider: awsapi.String(awsapi.Deref(it.CapacityProvider)),
			Weight:           awsapi.Int32(awsapi.Deref(it.Weight)),
			Base:             awsapi.Int32(awsapi.Deref(it.Base)),
		}
	}
	return out
}

// newDeployment is a new PRIMARY deployment of the service's current
// settings, its rollout under way.
func newDeployment(svc *ecsstate.Service, now time.Time) ecsstate.Deployment {
	id := scheduler.NewDeploymentID(nil)
	pv := svc.PlatformVersion
	if pv == latestPlatformVersion {
		pv = fargatePlatform
	}
	return ecsstate.Deployment{
		ID:                       id,
		Status:                   ecsstate.DeploymentPrimary,
		TaskDefinition:           svc.TaskDefinition,
		DesiredCount:             svc.DesiredCount,
		LaunchType:               svc.LaunchType,
		CapacityProviderStrategy: svc.CapacityProviderStrategy,
		PlatformVersion:          pv,
		PlatformFamily:           svc.PlatformFamily,
		NetworkConfiguration:     svc.NetworkConfiguration,
		CreatedAt:                now,
		UpdatedAt:                now,
		RolloutState:             scheduler.RolloutInProgress,
		RolloutStateReason:       scheduler.ReasonDeploymentInProgress(id),
	}
}

// serviceSettings are the settings two CreateService calls must share to
// be the same request (ECS's idempotency for a name already ACTIVE).
type serviceSettings struct {
	TaskDefinition                string                                  `json:"a,omitempty"`
	DesiredCount                  int32                                   `json:"b"`
	LaunchType                    string                                  `json:"c,omitempty"`
	CapacityProviderStrategy      []ecstypes.CapacityProviderStrategyItem `json:"d,omitempty"`
	PlatformVersion               string                                  `json:"e,omitempty"`
	NetworkConfiguration          *ecstypes.NetworkConfiguration          `json:"f,omitempty"`
	LoadBalancers                 []ecstypes.LoadBalancer                 `json:"g,omitempty"`
	ServiceRegistries             []ecstypes.ServiceRegistry              `json:"h,omitempty"`
	HealthCheckGracePeriodSeconds int32                                   `json:"i,omitempty"`
	DeploymentConfiguration       ecstypes.DeploymentConfiguration        `json:"j"`
	PlacementConstraints          []ecstypes.PlacementConstraint          `json:"k,omitempty"`
	PlacementStrategy             []ecstypes.PlacementStrategy            `json:"l,omitempty"`
	SchedulingStrategy            string                                  `json:"m,omitempty"`
	EnableExecuteCommand          bool                                    `json:"n,omitempty"`
	EnableECSManagedTags          bool                                    `json:"o,omitempty"`
	PropagateTags                 string                                  `json:"p,omitempty"`
	RoleARN                       string                                  `json:"q,omitempty"`
}

func settingsOf(v *ecsstate.Service) []byte {
	b, err := json.Marshal(serviceSettings{
		v.TaskDefinition, v.DesiredCount, v.LaunchType, v.CapacityProviderStrategy, v.PlatformVersion,
		v.NetworkConfiguration, v.LoadBalancers, v.ServiceRegistries, awsapi.Deref(v.HealthCheckGracePeriodSeconds),
		v.DeploymentConfiguration, v.PlacementConstraints, v.PlacementStrategy, v.SchedulingStrategy,
		v.EnableExecuteCommand, v.EnableECSManagedTags, v.PropagateTags, v.RoleARN,
	})
	if err != nil {
		return nil // plain data always marshals
	}
	return b
}

func sameServiceSettings(a, b *ecsstate.Service) bool {
	return bytes.Equal(settingsOf(a), settingsOf(b))
}

// serviceRef resolves a service name or ARN against the cluster a call
// names. ok is false for a reference that cannot name a service of that
// cluster.
func (s *service) serviceRef(ctx context.Context, cluster, ref string) (name string, ok bool) {
	refCluster, name, ok := s.requestARNs(ctx).ServiceName(ref)
	if !ok || (refCluster != "" && refCluster != cluster) {
		return "", false
	}
	return name, true
}

// clusterForService is the cluster a service call names; a service ARN
// stands for its cluster when the call names none.
func (s *service) clusterForService(ctx context.Context, clusterRef *string, serviceRef string, active bool) (store.Versioned[ecsstate.Cluster], error) {
	if awsapi.Deref(clusterRef) == "" {
		if c, _, ok := s.requestARNs(ctx).ServiceName(serviceRef); ok && c != "" {
			clusterRef = &c
		}
	}
	if active {
		return s.activeCluster(ctx, clusterRef)
	}
	return s.cluster(ctx, clusterRef)
}

// namedService resolves a call's cluster and service reference (name or
// ARN) to the cluster and the service's name, failing as the API does.
func (s *service) namedService(ctx context.Context, clusterRef *string, ref string, active bool) (store.Versioned[ecsstate.Cluster], string, error) {
	c, err := s.clusterForService(ctx, clusterRef, ref, active)
	if err != nil {
		return c, "", err
	}
	name, ok := s.serviceRef(ctx, c.Value.Name, ref)
	if !ok {
		return c, "", errServiceNotFound
	}
	return c, name, nil
}

func (s *service) updateService(ctx context.Context, in *ecstypes.UpdateServiceRequest) (*ecstypes.UpdateServiceResponse, error) {
	c, name, err := s.namedService(ctx, in.Cluster, awsapi.Deref(in.Service), true)
	if err != nil {
		return nil, err
	}
	cluster := c.Value
	if in.DesiredCount != nil && *in.DesiredCount < 0 {
		// UNVERIFIED wording.
		return nil, invalidParameter("The desired count must be greater than or equal to 0.")
	}
	if err := checkDeploymentController(in.DeploymentController); err != nil {
		return nil, err
	}
	if err := checkUnsupportedServiceFeatures(in.ServiceConnectConfiguration, in.VolumeConfigurations, in.VpcLatticeConfigurations); err != nil {
		return nil, err
	}
	if err := checkPropagateTags(in.PropagateTags); err != nil {
		return nil, err
	}
	if g := awsapi.Deref(in.HealthCheckGracePeriodSeconds); g < 0 {
		// UNVERIFIED wording.
		return nil, invalidParameter("healthCheckGracePeriodSeconds must be greater than or equal to 0.")
	}
	var newDef *ecsstate.TaskDefinition
	if in.TaskDefinition != nil {
		def, err := s.launchableDefinition(ctx, in.TaskDefinition)
		if err != nil {
			return nil, err
		}
		newDef = &def
	}
	key := ecsstate.ServiceKey(requestRegion(ctx), cluster.Name, name)
	current, err := store.Get[ecsstate.Service](ctx, s.store, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errServiceNotFound
	}
	if err != nil {
		return nil, err
	}
	if current.Value.Status != ecsstate.ServiceActive {
		return nil, errServiceNotActive
	}
	// The checks need the task definition the service will run: the new
	// one, or the one it runs (read here, and the update retried if
	// another update changed it meanwhile).
	def := newDef
	if def == nil {
		d, err := s.currentServiceDefinition(ctx, current.Value.TaskDefinition)
		if err != nil {
			return nil, err
		}
		def = &d
	}
	errStaleDefinition := errors.New("ecs: task definition changed meanwhile")
	for range 3 {
		out, err := store.Update(ctx, s.store, key, func(v *ecsstate.Service, found bool) error {
			if !found {
				return errServiceNotFound
			}
			if v.Status != ecsstate.ServiceActive {
				return errServiceNotActive
			}
			if newDef == nil && v.TaskDefinition != awsapi.Deref(def.Definition.TaskDefinitionArn) {
				return errStaleDefinition
			}
			return s.applyServiceUpdate(ctx, cluster, *def, v, in)
		})
		if errors.Is(err, errStaleDefinition) {
			cur, err := store.Get[ecsstate.Service](ctx, s.store, key)
			if err != nil {
				return nil, err
			}
			d, err := s.currentServiceDefinition(ctx, cur.Value.TaskDefinition)
			if err != nil {
				return nil, err
			}
			def = &d
			continue
		}
		if err != nil {
			return nil, err
		}
		o := s.serviceOutput(&out, len(out.Tags) > 0)
		return &ecstypes.UpdateServiceResponse{Service: &o}, nil
	}
	return nil, fmt.Errorf("ecs: update service %s: its task definition kept changing", key)
}

// currentServiceDefinition reads the task definition a service runs for
// an UpdateService that names none: a deleted one is ECS's "not found".
func (s *service) currentServiceDefinition(ctx context.Context, arn string) (ecsstate.TaskDefinition, error) {
	d, err := s.serviceTaskDefinition(ctx, requestRegion(ctx), arn)
	if errors.Is(err, ErrTaskDefinitionDeleted) {
		return d, errTaskDefinitionNotFoundForRun()
	}
	return d, err
}

// applyServiceUpdate applies an UpdateService request to an ACTIVE
// service: a new task definition, forceNewDeployment, or new launch
// settings (capacity provider strategy, platform version, network
// configuration, load balancers, service registries) start a new PRIMARY
// deployment; desiredCount alone changes the PRIMARY deployment's; the
// rest are settings of the service.
func (s *service) applyServiceUpdate(ctx context.Context, cluster ecsstate.Cluster, def ecsstate.TaskDefinition, v *ecsstate.Service, in *ecstypes.UpdateServiceRequest) error {
	now := s.now()
	redeploy := awsapi.Deref(in.ForceNewDeployment)
	if in.DesiredCount != nil {
		v.DesiredCount = *in.DesiredCount
	}
	if arn := awsapi.Deref(def.Definition.TaskDefinitionArn); arn != v.TaskDefinition {
		v.TaskDefinition = arn
		redeploy = true
	}

	oldLaunchType := serviceTasksLaunchType(v)
	if in.CapacityProviderStrategy != nil {
		if len(in.CapacityProviderStrategy) == 0 {
			// An empty strategy goes back to the launch type.
			if len(v.CapacityProviderStrategy) > 0 {
				v.LaunchType = oldLaunchType
				v.CapacityProviderStrategy = nil
				redeploy = true
			}
		} else {
			if _, err := strategyLaunchType(cluster, in.CapacityProviderStrategy); err != nil {
				return err
			}
			strategy := normalizeStrategy(in.CapacityProviderStrategy)
			if !equalJSON(strategy, v.CapacityProviderStrategy) {
				v.CapacityProviderStrategy = strategy
				v.LaunchType = ""
				redeploy = true
			}
		}
	}
	launchType := serviceTasksLaunchType(v)
	if in.PlatformVersion != nil || launchType != oldLaunchType {
		pv := in.PlatformVersion
		if pv == nil && launchType == ecstypes.LaunchTypeFargate && v.PlatformVersion != "" {
			pv = &v.PlatformVersion
		}
		platformVersion, err := servicePlatformVersion(launchType, pv)
		if err != nil {
			return err
		}
		if platformVersion != v.PlatformVersion {
			v.PlatformVersion = platformVersion
			redeploy = true
		}
	}
	v.PlatformFamily = ""
	if launchType == ecstypes.LaunchTypeFargate {
		v.PlatformFamily = fargatePlatformOS
	}

	if in.PlacementConstraints != nil {
		v.PlacementConstraints = slices.Clone(in.PlacementConstraints)
	}
	if in.PlacementStrategy != nil {
		v.PlacementStrategy = slices.Clone(in.PlacementStrategy)
	}
	if err := checkFargatePlacement(launchType, v.PlacementConstraints, v.PlacementStrategy); err != nil {
		return err
	}
	if err := checkPlacement(v.PlacementConstraints, v.PlacementStrategy); err != nil {
		return err
	}
	dc, err := deploymentConfiguration(&v.DeploymentConfiguration, in.DeploymentConfiguration)
	if err != nil {
		return err
	}
	v.DeploymentConfiguration = dc
	// New load balancers start a new deployment, whose tasks register
	// with them; the service's are checked against the definition it will
	// run either way.
	lbs := v.LoadBalancers
	if in.LoadBalancers != nil {
		lbs = in.LoadBalancers
	}
	if err := s.checkLoadBalancers(ctx, lbs, def.Definition); err != nil {
		return err
	}
	if in.LoadBalancers != nil && !equalJSON(in.LoadBalancers, v.LoadBalancers) {
		v.LoadBalancers = in.LoadBalancers
		if len(v.LoadBalancers) == 0 {
			v.LoadBalancers = nil
		}
		redeploy = true
	}
	// New registries start a new deployment too, whose tasks register
	// with them.
	regs := v.ServiceRegistries
	if in.ServiceRegistries != nil {
		regs = in.ServiceRegistries
	}
	if err := s.checkServiceRegistries(ctx, regs, def.Definition); err != nil {
		return err
	}
	if in.ServiceRegistries != nil && !equalJSON(in.ServiceRegistries, v.ServiceRegistries) {
		v.ServiceRegistries = in.ServiceRegistries
		if len(v.ServiceRegistries) == 0 {
			v.ServiceRegistries = nil
		}
		redeploy = true
	}
	if in.HealthCheckGracePeriodSeconds != nil {
		v.HealthCheckGracePeriodSeconds = in.HealthCheckGracePeriodSeconds
	}
	// Not a reason for a new deployment, as ECS says.
	if in.AvailabilityZoneRebalancing != nil {
		v.AvailabilityZoneRebalancing = *in.AvailabilityZoneRebalancing
	}
	if in.EnableExecuteCommand != nil {
		v.EnableExecuteCommand = *in.EnableExecuteCommand
	}
	if in.EnableECSManagedTags != nil {
		v.EnableECSManagedTags = *in.EnableECSManagedTags
	}
	if in.PropagateTags != nil {
		v.PropagateTags = *in.PropagateTags
	}

	network := v.NetworkConfiguration
	if in.NetworkConfiguration != nil {
		network = in.NetworkConfiguration
	}
	checked, err := s.checkServiceLaunch(ctx, cluster, def, v, network)
	if err != nil {
		return err
	}
	if !equalJSON(checked, v.NetworkConfiguration) {
		v.NetworkConfiguration = checked
		redeploy = true
	}

	v.UpdatedAt = now
	if redeploy {
		live := make([]ecsstate.Deployment, 0, len(v.Deployments)+1)
		live = append(live, newDeployment(v, now))
		for _, d := range v.Deployments {
			if d.Status == ecsstate.DeploymentPrimary {
				d.Status = ecsstate.DeploymentActive
				d.UpdatedAt = now
			}
			live = append(live, d)
		}
		v.Deployments = live
		return nil
	}
	if in.DesiredCount != nil {
		if p := v.Primary(); p != nil && p.DesiredCount != v.DesiredCount {
			p.DesiredCount = v.DesiredCount
			p.UpdatedAt = now
		}
	}
	return nil
}

// equalJSON reports whether a and b encode alike (nil and empty alike).
func equalJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	norm := func(b []byte) string {
		if s := string(b); s != "null" && s != "[]" {
			return s
		}
		return ""
	}
	return errA == nil && errB == nil && norm(ja) == norm(jb)
}

func (s *service) deleteService(ctx context.Context, in *ecstypes.DeleteServiceRequest) (*ecstypes.DeleteServiceResponse, error) {
	c, name, err := s.namedService(ctx, in.Cluster, awsapi.Deref(in.Service), false)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out, err := store.Update(ctx, s.store, ecsstate.ServiceKey(requestRegion(ctx), c.Value.Name, name), func(v *ecsstate.Service, found bool) error {
		if !found {
			return errServiceNotFound
		}
		if v.Status != ecsstate.ServiceActive {
			return errServiceNotActive // UNVERIFIED: ECS's answer for deleting a deleted service
		}
		if v.DesiredCount > 0 && !awsapi.Deref(in.Force) {
			return errServiceScaledAboveZero()
		}
		v.Status = ecsstate.ServiceDraining
		v.DesiredCount = 0
		v.DeletedAt = now
		v.UpdatedAt = now
		if p := v.Primary(); p != nil {
			p.DesiredCount = 0
			p.UpdatedAt = now
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	o := s.serviceOutput(&out, len(out.Tags) > 0)
	return &ecstypes.DeleteServiceResponse{Service: &o}, nil
}
