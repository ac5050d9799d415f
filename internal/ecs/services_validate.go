package ecs

import (
	"regexp"
	"slices"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/scheduler"
)

// Errors of the service APIs, in ECS's wording. OBSERVED: quoted from real
// ECS output in public reports; UNVERIFIED: ECS's style, no capture found.

func errServiceNotIdempotent() *awsapi.MessageError {
	return invalidParameter("Creation of service was not idempotent.") // OBSERVED
}

func errServiceDraining() *awsapi.MessageError {
	return invalidParameter("Unable to Start a service that is still Draining.") // OBSERVED
}

func errServiceScaledAboveZero() *awsapi.MessageError {
	return invalidParameter("The service cannot be stopped while it is scaled above 0.") // OBSERVED
}

// Limits of services (ECS service quotas and the model).
const (
	maxServiceName           = 255
	maxDescribeServices      = 10
	maxServiceTargetGroups   = 5
	maxPlacementConstraints  = 10
	maxPlacementStrategies   = 5
	maxClientToken           = 36
	maxDescribeDeployments   = 20
	defaultDeploymentsPage   = 20
	latestPlatformVersion    = "LATEST"
	deploymentControllerECS  = ecstypes.DeploymentControllerTypeEcs
	rollingDeploymentDefault = "ROLLING"
)

var serviceNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

func checkServiceName(name string) error {
	if name == "" {
		// UNVERIFIED wording.
		return invalidParameter("Service name cannot be empty.")
	}
	if !serviceNamePattern.MatchString(name) {
		// UNVERIFIED wording, in the style of the model's documentation.
		return invalidParameter("Service name must be 1-255 characters long and may contain only letters, numbers, underscores and hyphens.")
	}
	return nil
}

func checkClientToken(token *string) error {
	t := awsapi.Deref(token)
	if len(t) > maxClientToken {
		return invalidParameter("clientToken longer than %d.", maxClientToken) // UNVERIFIED, as ECS words other lengths
	}
	for i := 0; i < len(t); i++ {
		if t[i] < 33 || t[i] > 126 {
			// UNVERIFIED wording; the model allows ASCII 33-126.
			return invalidParameter("clientToken may contain only ASCII characters 33-126.")
		}
	}
	return nil
}

// deploymentConfiguration validates a deployment configuration given to
// CreateService (current nil) or UpdateService (applied over current) and
// returns it with ECS's defaults: maximumPercent 200, minimumHealthyPercent
// 100, circuit breaker off, alarms off.
func deploymentConfiguration(current *ecstypes.DeploymentConfiguration, in *ecstypes.DeploymentConfiguration) (ecstypes.DeploymentConfiguration, error) {
	out := ecstypes.DeploymentConfiguration{
		MaximumPercent:        awsapi.Int32(scheduler.DefaultMaximumPercent),
		MinimumHealthyPercent: awsapi.Int32(scheduler.DefaultMinimumHealthyPercent),
		DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{
			Enable: awsapi.Bool(false), Rollback: awsapi.Bool(false),
		},
		Alarms: &ecstypes.DeploymentAlarms{AlarmNames: []string{}, Enable: awsapi.Bool(false), Rollback: awsapi.Bool(false)},
	}
	if current != nil {
		out = *current
	}
	if in == nil {
		return out, nil
	}
	if in.MaximumPercent != nil {
		out.MaximumPercent = awsapi.Int32(*in.MaximumPercent)
	}
	if in.MinimumHealthyPercent != nil {
		out.MinimumHealthyPercent = awsapi.Int32(*in.MinimumHealthyPercent)
	}
	if in.DeploymentCircuitBreaker != nil {
		out.DeploymentCircuitBreaker = &ecstypes.DeploymentCircuitBreaker{
			Enable:   awsapi.Bool(awsapi.Deref(in.DeploymentCircuitBreaker.Enable)),
			Rollback: awsapi.Bool(awsapi.Deref(in.DeploymentCircuitBreaker.Rollback)),
		}
	}
	if in.Alarms != nil {
		// Stored and shown; berth has no CloudWatch alarms yet, so they
		// never fail a deployment.
		out.Alarms = &ecstypes.DeploymentAlarms{
			AlarmNames: slices.Clone(nonNil(in.Alarms.AlarmNames)),
			Enable:     awsapi.Bool(awsapi.Deref(in.Alarms.Enable)),
			Rollback:   awsapi.Bool(awsapi.Deref(in.Alarms.Rollback)),
		}
	}
	if st := awsapi.Deref(in.Strategy); st != "" && st != rollingDeploymentDefault {
		return out, unsupportedFeature("berth does not support the %s deployment strategy yet.", st)
	}
	if in.Strategy != nil {
		out.Strategy = awsapi.String(*in.Strategy)
	}
	if len(in.LifecycleHooks) > 0 || in.CanaryConfiguration != nil || in.LinearConfiguration != nil {
		return out, unsupportedFeature("berth does not support deployment lifecycle hooks, canary or linear configurations yet.")
	}
	if in.BakeTimeInMinutes != nil {
		out.BakeTimeInMinutes = awsapi.Int32(*in.BakeTimeInMinutes)
	}
	maxPct, minPct := awsapi.Deref(out.MaximumPercent), awsapi.Deref(out.MinimumHealthyPercent)
	if minPct < 0 || minPct > 100 {
		// UNVERIFIED wording.
		return out, invalidParameter("minimumHealthyPercent must be between 0 and 100.")
	}
	if maxPct < 100 {
		// UNVERIFIED wording: with less than 100 a REPLICA service could
		// never run its desired count.
		return out, invalidParameter("maximumPercent must be at least 100.")
	}
	return out, nil
}

// checkDeploymentController accepts the ECS (rolling update) controller
// only.
func checkDeploymentController(dc *ecstypes.DeploymentController) error {
	if dc == nil {
		return nil
	}
	if t := awsapi.Deref(dc.Type); t != deploymentControllerECS {
		return unsupportedFeature("berth does not support the %s deployment controller yet.", t)
	}
	return nil
}

// checkPlacement validates a service's placement constraints and
// strategies (binding constraints parsed as RunTask parses them).
func checkPlacement(constraints []ecstypes.PlacementConstraint, strategies []ecstypes.PlacementStrategy) error {
	if len(constraints) > maxPlacementConstraints {
		// UNVERIFIED wording.
		return invalidParameter("placementConstraints can have at most %d items.", maxPlacementConstraints)
	}
	if len(strategies) > maxPlacementStrategies {
		// UNVERIFIED wording.
		return invalidParameter("placementStrategy can have at most %d items.", maxPlacementStrategies)
	}
	for _, pc := range constraints {
		kind := awsapi.Deref(pc.Type)
		switch kind {
		case scheduler.ConstraintDistinctInstance, scheduler.ConstraintMemberOf:
		default:
			// UNVERIFIED wording; the model's enum usually catches it.
			return invalidParameter("Invalid placement constraint type: %s.", kind)
		}
		if kind == scheduler.ConstraintDistinctInstance && awsapi.Deref(pc.Expression) != "" {
			// UNVERIFIED wording.
			return invalidParameter("An expression is not supported for the distinctInstance placement constraint.")
		}
		if _, err := schedulerConstraint(kind, awsapi.Deref(pc.Expression)); err != nil {
			return err
		}
	}
	for _, ps := range strategies {
		kind, field := awsapi.Deref(ps.Type), awsapi.Deref(ps.Field)
		ok := false
		switch kind {
		case scheduler.StrategyRandom:
			ok = field == ""
		case scheduler.StrategyBinpack:
			ok = field == "cpu" || field == "memory"
		case scheduler.StrategySpread:
			ok = field == "instanceId" || field == "host" || (strings.HasPrefix(field, "attribute:") && len(field) > len("attribute:"))
		}
		if !ok {
			// UNVERIFIED wording.
			return invalidParameter("Invalid placement strategy: type %s with field %s.", kind, field)
		}
	}
	return nil
}

// checkPropagateTags validates propagateTags.
func checkPropagateTags(v *string) error {
	switch awsapi.Deref(v) {
	case "", ecstypes.PropagateTagsNone, ecstypes.PropagateTagsService, ecstypes.PropagateTagsTaskDefinition:
		return nil
	}
	// UNVERIFIED wording; the model's enum usually catches it first.
	return invalidParameter("Invalid value for propagateTags: %s.", *v)
}

// checkUnsupportedServiceFeatures refuses what berth cannot do for a
// service yet, rather than accept and ignore it.
func checkUnsupportedServiceFeatures(sc *ecstypes.ServiceConnectConfiguration, volumes []ecstypes.ServiceVolumeConfiguration, lattice []ecstypes.VpcLatticeConfiguration) error {
	switch {
	case sc != nil && awsapi.Deref(sc.Enabled):
		return unsupportedFeature("berth does not support Service Connect yet.")
	case len(volumes) > 0:
		return unsupportedFeature("berth does not support volumeConfigurations yet.")
	case len(lattice) > 0:
		return unsupportedFeature("berth does not support VPC Lattice configurations yet.")
	}
	return nil
}

// servicePlatformVersion is the platform version a service shows: what
// was given, LATEST by default, for Fargate services; none otherwise.
func servicePlatformVersion(launchType string, v *string) (string, error) {
	if launchType != ecstypes.LaunchTypeFargate {
		if awsapi.Deref(v) != "" {
			// OBSERVED wording for EC2.
			return "", invalidParameter("The platform version must be null when specifying an EC2 launch type.")
		}
		return "", nil
	}
	if awsapi.Deref(v) == "" {
		return latestPlatformVersion, nil
	}
	return *v, nil
}
