package ecs

import (
	"context"
	"errors"
	"slices"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/elbv2/elbv2state"
)

// checkLoadBalancers validates a service's load balancers against ELBv2
// and the task definition its tasks run, as ECS does before it accepts
// the service: each target group exists, is attached to a load balancer,
// has the target type the network mode registers (ip for awsvpc, instance
// otherwise), and names a container and port of the definition. Classic
// load balancers (loadBalancerName) do not exist in berth.
func (s *service) checkLoadBalancers(ctx context.Context, lbs []ecstypes.LoadBalancer, def ecstypes.TaskDefinition) error {
	if len(lbs) > maxServiceTargetGroups {
		// UNVERIFIED wording; the quota is 5 target groups per service.
		return invalidParameter("loadBalancers can have at most %d items.", maxServiceTargetGroups)
	}
	mode := definitionNetworkMode(def)
	for _, lb := range lbs {
		arn, name := awsapi.Deref(lb.TargetGroupArn), awsapi.Deref(lb.LoadBalancerName)
		switch {
		case arn != "" && name != "":
			// UNVERIFIED wording.
			return invalidParameter("Specify either a loadBalancerName or a targetGroupArn, not both.")
		case name != "":
			return invalidParameter("The load balancer %s does not exist.", name) // OBSERVED
		case arn == "":
			// UNVERIFIED wording.
			return invalidParameter("A load balancer requires a targetGroupArn or a loadBalancerName.")
		}
		tg, err := elbv2state.TargetGroupByARN(ctx, s.store, arn)
		if errors.Is(err, elbv2state.ErrTargetGroupNotFound) || errors.Is(err, elbv2state.ErrValidation) {
			return invalidParameter("The target group %s does not exist.", arn) // OBSERVED
		}
		if err != nil {
			return err
		}
		if !tg.InUse() {
			return invalidParameter("The target group with targetGroupArn %s does not have an associated load balancer.", arn) // OBSERVED
		}
		wantType := "instance"
		if mode == ecstypes.NetworkModeAwsvpc {
			wantType = "ip"
		}
		if tg.TargetType != wantType {
			return invalidParameter("The provided target group %s has target type %s, which is incompatible with the %s network mode specified in the task definition.", arn, tg.TargetType, mode) // OBSERVED
		}
		container, port := awsapi.Deref(lb.ContainerName), awsapi.Deref(lb.ContainerPort)
		if container == "" || lb.ContainerPort == nil {
			// UNVERIFIED wording.
			return invalidParameter("containerName and containerPort must be specified with a targetGroupArn.")
		}
		cd := findContainer(def, container)
		if cd == nil {
			// UNVERIFIED wording.
			return invalidParameter("The container %s does not exist in the task definition.", container)
		}
		if !exposesPort(*cd, port) {
			return invalidParameter("The container %s did not have a container port %d defined.", container, port) // OBSERVED
		}
	}
	return nil
}

// definitionNetworkMode is the network mode a definition's tasks run in.
func definitionNetworkMode(def ecstypes.TaskDefinition) string {
	mode := awsapi.Deref(def.NetworkMode)
	if mode == "" {
		mode = ecstypes.NetworkModeBridge
		if slices.Contains(def.RequiresCompatibilities, ecstypes.LaunchTypeFargate) {
			mode = ecstypes.NetworkModeAwsvpc
		}
	}
	return mode
}

func findContainer(def ecstypes.TaskDefinition, name string) *ecstypes.ContainerDefinition {
	for i := range def.ContainerDefinitions {
		if awsapi.Deref(def.ContainerDefinitions[i].Name) == name {
			return &def.ContainerDefinitions[i]
		}
	}
	return nil
}

func exposesPort(cd ecstypes.ContainerDefinition, port int32) bool {
	for _, pm := range cd.PortMappings {
		if awsapi.Deref(pm.ContainerPort) == port {
			return true
		}
	}
	return false
}
