package ecs

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"

	json "github.com/go-json-experiment/json/v1"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/store"
)

// ecsPrincipal is the service a service's load balancer role and
// infrastructure roles are passed to (iam:PassedToService); task and
// execution roles are passed to TasksPrincipal.
const ecsPrincipal = "ecs.amazonaws.com"

// accessRule adds what a call with input needs to a.
type accessRule func(a *accessRequest, input any)

func forInput[In any](fn func(a *accessRequest, in *In)) accessRule {
	return func(a *accessRequest, input any) { fn(a, input.(*In)) }
}

// accessRules are the operations that name resources or set condition
// keys. The others (DeregisterTaskDefinition, DescribeTaskDefinition,
// DiscoverPollEndpoint, ListAccountSettings, ListClusters,
// ListDaemonTaskDefinitions, ListTaskDefinitionFamilies,
// ListTaskDefinitions) need "ecs:<operation>" on "*", the gateway's
// default.
var accessRules = map[string]accessRule{
	// Account settings.
	"DeleteAccountSetting": forInput(func(a *accessRequest, in *ecstypes.DeleteAccountSettingRequest) {
		a.accountSetting(in.Name)
	}),
	"PutAccountSetting": forInput(func(a *accessRequest, in *ecstypes.PutAccountSettingRequest) {
		a.accountSetting(in.Name)
	}),
	"PutAccountSettingDefault": forInput(func(a *accessRequest, in *ecstypes.PutAccountSettingDefaultRequest) {
		a.accountSetting(in.Name)
	}),

	// Capacity providers.
	"CreateCapacityProvider": forInput(func(a *accessRequest, in *ecstypes.CreateCapacityProviderRequest) {
		arn := a.arns.CapacityProvider(awsapi.Deref(in.Name))
		a.need(arn, conditions(nil).requestTags(in.Tags))
		a.tagOnCreate(arn, in.Tags, nil)
		if p := in.ManagedInstancesProvider; p != nil {
			a.passRole(ecsPrincipal, awsapi.Deref(p.InfrastructureRoleArn)) // UNVERIFIED: the service the role is passed to
		}
	}),
	"DeleteCapacityProvider": forInput(func(a *accessRequest, in *ecstypes.DeleteCapacityProviderRequest) {
		a.need(a.capacityProvider(awsapi.Deref(in.CapacityProvider)))
	}),
	"DescribeCapacityProviders": forInput(func(a *accessRequest, in *ecstypes.DescribeCapacityProvidersRequest) {
		if len(in.CapacityProviders) == 0 {
			a.need(a.arns.CapacityProvider("*"), nil) // UNVERIFIED: the resource ECS names for all providers
		}
		for _, ref := range in.CapacityProviders {
			a.need(a.capacityProvider(ref))
		}
	}),
	"UpdateCapacityProvider": forInput(func(a *accessRequest, in *ecstypes.UpdateCapacityProviderRequest) {
		a.need(a.capacityProvider(awsapi.Deref(in.Name)))
		if p := in.ManagedInstancesProvider; p != nil {
			a.passRole(ecsPrincipal, awsapi.Deref(p.InfrastructureRoleArn)) // UNVERIFIED: the service the role is passed to
		}
	}),

	// Clusters.
	"CreateCluster": forInput(func(a *accessRequest, in *ecstypes.CreateClusterRequest) {
		arn, _ := a.clusterARN(awsapi.Deref(in.ClusterName))
		a.need(arn, conditions(nil).requestTags(in.Tags).set("ecs:capacity-provider", a.capacityProviderARNs(in.CapacityProviders)...))
		a.tagOnCreate(arn, in.Tags, nil)
	}),
	"DeleteCluster": forInput(func(a *accessRequest, in *ecstypes.DeleteClusterRequest) {
		a.need(a.cluster(awsapi.Deref(in.Cluster)))
	}),
	"DescribeClusters": forInput(func(a *accessRequest, in *ecstypes.DescribeClustersRequest) {
		if len(in.Clusters) == 0 {
			a.need(a.cluster("")) // the default cluster, which ECS describes
		}
		for _, ref := range in.Clusters {
			a.need(a.cluster(ref))
		}
	}),
	"DeregisterContainerInstance": forInput(func(a *accessRequest, in *ecstypes.DeregisterContainerInstanceRequest) {
		a.need(a.cluster(awsapi.Deref(in.Cluster)))
	}),
	"ListAttributes": forInput(func(a *accessRequest, in *ecstypes.ListAttributesRequest) {
		a.need(a.cluster(awsapi.Deref(in.Cluster)))
	}),
	"ListContainerInstances": forInput(func(a *accessRequest, in *ecstypes.ListContainerInstancesRequest) {
		a.need(a.cluster(awsapi.Deref(in.Cluster)))
	}),
	"PutClusterCapacityProviders": forInput(func(a *accessRequest, in *ecstypes.PutClusterCapacityProvidersRequest) {
		arn, c := a.cluster(awsapi.Deref(in.Cluster))
		a.need(arn, c.set("ecs:capacity-provider", a.capacityProviderARNs(in.CapacityProviders)...))
	}),
	"RegisterContainerInstance": forInput(func(a *accessRequest, in *ecstypes.RegisterContainerInstanceRequest) {
		arn, c := a.cluster(awsapi.Deref(in.Cluster))
		a.need(arn, c.requestTags(in.Tags))
		clusterARN, cluster := a.clusterARN(awsapi.Deref(in.Cluster))
		// UNVERIFIED: the resource ECS names for the instance not yet registered.
		a.tagOnCreate(a.arns.ContainerInstance(cluster, "*"), in.Tags, conditions(nil).set("ecs:cluster", clusterARN))
	}),
	"SubmitAttachmentStateChanges": forInput(func(a *accessRequest, in *ecstypes.SubmitAttachmentStateChangesRequest) {
		a.need(a.cluster(awsapi.Deref(in.Cluster)))
	}),
	"SubmitContainerStateChange": forInput(func(a *accessRequest, in *ecstypes.SubmitContainerStateChangeRequest) {
		a.need(a.cluster(awsapi.Deref(in.Cluster)))
	}),
	"SubmitTaskStateChange": forInput(func(a *accessRequest, in *ecstypes.SubmitTaskStateChangeRequest) {
		a.need(a.cluster(awsapi.Deref(in.Cluster)))
	}),
	"UpdateCluster": forInput(func(a *accessRequest, in *ecstypes.UpdateClusterRequest) {
		a.need(a.cluster(awsapi.Deref(in.Cluster)))
	}),
	"UpdateClusterSettings": forInput(func(a *accessRequest, in *ecstypes.UpdateClusterSettingsRequest) {
		a.need(a.cluster(awsapi.Deref(in.Cluster)))
	}),

	// Container instances.
	"DeleteAttributes": forInput(func(a *accessRequest, in *ecstypes.DeleteAttributesRequest) {
		for _, attr := range in.Attributes {
			a.needIn(a.containerInstance(in.Cluster, awsapi.Deref(attr.TargetId)))
		}
	}),
	"DescribeContainerInstances": forInput(func(a *accessRequest, in *ecstypes.DescribeContainerInstancesRequest) {
		for _, ref := range in.ContainerInstances {
			a.needIn(a.containerInstance(in.Cluster, ref))
		}
	}),
	"PutAttributes": forInput(func(a *accessRequest, in *ecstypes.PutAttributesRequest) {
		for _, attr := range in.Attributes {
			a.needIn(a.containerInstance(in.Cluster, awsapi.Deref(attr.TargetId)))
		}
	}),
	"UpdateContainerAgent": forInput(func(a *accessRequest, in *ecstypes.UpdateContainerAgentRequest) {
		a.needIn(a.containerInstance(in.Cluster, awsapi.Deref(in.ContainerInstance)))
	}),
	"UpdateContainerInstancesState": forInput(func(a *accessRequest, in *ecstypes.UpdateContainerInstancesStateRequest) {
		for _, ref := range in.ContainerInstances {
			a.needIn(a.containerInstance(in.Cluster, ref))
		}
	}),
	// ListTasks is authorized on the cluster's container instances, even
	// on Fargate (as ECS's denials name it).
	"ListTasks": forInput(func(a *accessRequest, in *ecstypes.ListTasksRequest) {
		if ref := awsapi.Deref(in.ContainerInstance); ref != "" {
			a.needIn(a.containerInstance(in.Cluster, ref))
			return
		}
		clusterARN, cluster := a.clusterARN(awsapi.Deref(in.Cluster))
		a.needIn(a.arns.ContainerInstance(cluster, "*"), clusterARN, nil)
	}),

	// Daemons, which berth does not store: they carry no tags here.
	"CreateDaemon": forInput(func(a *accessRequest, in *ecstypes.CreateDaemonRequest) {
		clusterARN, cluster := a.clusterARN(awsapi.Deref(in.ClusterArn))
		arn := a.arn("daemon/" + cluster + "/" + awsapi.Deref(in.DaemonName))
		a.need(arn, conditions(nil).
			set("ecs:cluster", clusterARN).
			set("ecs:daemon-task-definition", awsapi.Deref(in.DaemonTaskDefinitionArn)).
			set("ecs:capacity-provider", in.CapacityProviderArns...).
			requestTags(in.Tags))
		a.tagOnCreate(arn, in.Tags, conditions(nil).set("ecs:cluster", clusterARN))
	}),
	"DeleteDaemon": forInput(func(a *accessRequest, in *ecstypes.DeleteDaemonRequest) {
		a.need(a.daemon(awsapi.Deref(in.DaemonArn)))
	}),
	"DeleteDaemonTaskDefinition": forInput(func(a *accessRequest, in *ecstypes.DeleteDaemonTaskDefinitionRequest) {
		a.need(a.daemonTaskDefinition(awsapi.Deref(in.DaemonTaskDefinition)), nil)
	}),
	"DescribeDaemon": forInput(func(a *accessRequest, in *ecstypes.DescribeDaemonRequest) {
		a.need(a.daemon(awsapi.Deref(in.DaemonArn)))
	}),
	"DescribeDaemonDeployments": forInput(func(a *accessRequest, in *ecstypes.DescribeDaemonDeploymentsRequest) {
		for _, arn := range in.DaemonDeploymentArns {
			a.daemonChild(arn, "daemon-deployment/")
		}
	}),
	"DescribeDaemonRevisions": forInput(func(a *accessRequest, in *ecstypes.DescribeDaemonRevisionsRequest) {
		for _, arn := range in.DaemonRevisionArns {
			a.daemonChild(arn, "daemon-revision/")
		}
	}),
	"DescribeDaemonTaskDefinition": forInput(func(a *accessRequest, in *ecstypes.DescribeDaemonTaskDefinitionRequest) {
		a.need(a.daemonTaskDefinition(awsapi.Deref(in.DaemonTaskDefinition)), nil)
	}),
	"ListDaemonDeployments": forInput(func(a *accessRequest, in *ecstypes.ListDaemonDeploymentsRequest) {
		a.need(a.daemon(awsapi.Deref(in.DaemonArn)))
	}),
	"ListDaemons": forInput(func(a *accessRequest, in *ecstypes.ListDaemonsRequest) {
		var c conditions
		if ref := awsapi.Deref(in.ClusterArn); ref != "" {
			arn, _ := a.clusterARN(ref)
			c = c.set("ecs:cluster", arn)
		}
		a.need("*", c)
	}),
	"RegisterDaemonTaskDefinition": forInput(func(a *accessRequest, in *ecstypes.RegisterDaemonTaskDefinitionRequest) {
		// UNVERIFIED: the resource ECS names for the revision to come.
		arn := a.arn("daemon-task-definition/" + awsapi.Deref(in.Family) + ":*")
		a.need(arn, conditions(nil).requestTags(in.Tags))
		a.tagOnCreate(arn, in.Tags, nil)
		a.passRole(TasksPrincipal, awsapi.Deref(in.TaskRoleArn), awsapi.Deref(in.ExecutionRoleArn))
	}),
	"UpdateDaemon": forInput(func(a *accessRequest, in *ecstypes.UpdateDaemonRequest) {
		arn, c := a.daemon(awsapi.Deref(in.DaemonArn))
		a.need(arn, c.set("ecs:daemon-task-definition", awsapi.Deref(in.DaemonTaskDefinitionArn)).
			set("ecs:capacity-provider", in.CapacityProviderArns...))
	}),

	// Services.
	"CreateService": forInput(func(a *accessRequest, in *ecstypes.CreateServiceRequest) {
		clusterARN, cluster := a.clusterARN(awsapi.Deref(in.Cluster))
		arn := a.arns.Service(cluster, awsapi.Deref(in.ServiceName))
		c := conditions(nil).set("ecs:cluster", clusterARN).
			set("ecs:capacity-provider", a.capacityProviderARNs(strategyProviders(in.CapacityProviderStrategy))...).
			requestTags(in.Tags)
		var def *ecsstate.TaskDefinition
		if ref := awsapi.Deref(in.TaskDefinition); ref != "" {
			var defARN string
			defARN, def = a.taskDefinition(ref)
			c = c.set("ecs:task-definition", defARN)
		}
		a.need(arn, c)
		a.tagOnCreate(arn, in.Tags, conditions(nil).set("ecs:cluster", clusterARN))
		a.passRole(ecsPrincipal, awsapi.Deref(in.Role))
		a.passTaskRoles(def, nil) // UNVERIFIED: that ECS checks the definition's roles here as at RunTask
	}),
	"DeleteService": forInput(func(a *accessRequest, in *ecstypes.DeleteServiceRequest) {
		a.needIn(a.service(in.Cluster, awsapi.Deref(in.Service)))
	}),
	"DescribeServices": forInput(func(a *accessRequest, in *ecstypes.DescribeServicesRequest) {
		for _, ref := range in.Services {
			a.needIn(a.service(in.Cluster, ref))
		}
	}),
	"ListServiceDeployments": forInput(func(a *accessRequest, in *ecstypes.ListServiceDeploymentsRequest) {
		a.needIn(a.service(in.Cluster, awsapi.Deref(in.Service)))
	}),
	"ListServices": forInput(func(a *accessRequest, in *ecstypes.ListServicesRequest) {
		clusterARN, _ := a.clusterARN(awsapi.Deref(in.Cluster))
		a.needIn("*", clusterARN, nil)
	}),
	"ListServicesByNamespace": forInput(func(a *accessRequest, in *ecstypes.ListServicesByNamespaceRequest) {
		// UNVERIFIED: a namespace given by name rather than ARN is passed as given.
		a.need("*", conditions(nil).set("ecs:namespace", awsapi.Deref(in.Namespace)))
	}),
	"UpdateService": forInput(func(a *accessRequest, in *ecstypes.UpdateServiceRequest) {
		arn, clusterARN, c := a.service(in.Cluster, awsapi.Deref(in.Service))
		c = c.set("ecs:cluster", clusterARN).set("ecs:capacity-provider", a.capacityProviderARNs(strategyProviders(in.CapacityProviderStrategy))...)
		var def *ecsstate.TaskDefinition
		if ref := awsapi.Deref(in.TaskDefinition); ref != "" {
			var defARN string
			defARN, def = a.taskDefinition(ref)
			c = c.set("ecs:task-definition", defARN)
		}
		a.need(arn, c)
		a.passTaskRoles(def, nil) // UNVERIFIED: that ECS checks the definition's roles here as at RunTask
	}),
	"UpdateServicePrimaryTaskSet": forInput(func(a *accessRequest, in *ecstypes.UpdateServicePrimaryTaskSetRequest) {
		a.needIn(a.service(in.Cluster, awsapi.Deref(in.Service)))
	}),
	"ContinueServiceDeployment": forInput(func(a *accessRequest, in *ecstypes.ContinueServiceDeploymentRequest) {
		a.serviceChild(awsapi.Deref(in.ServiceDeploymentArn), "service-deployment/")
	}),
	"DescribeServiceDeployments": forInput(func(a *accessRequest, in *ecstypes.DescribeServiceDeploymentsRequest) {
		for _, arn := range in.ServiceDeploymentArns {
			a.serviceChild(arn, "service-deployment/")
		}
	}),
	"DescribeServiceRevisions": forInput(func(a *accessRequest, in *ecstypes.DescribeServiceRevisionsRequest) {
		for _, arn := range in.ServiceRevisionArns {
			a.serviceChild(arn, "service-revision/")
		}
	}),
	"StopServiceDeployment": forInput(func(a *accessRequest, in *ecstypes.StopServiceDeploymentRequest) {
		a.serviceChild(awsapi.Deref(in.ServiceDeploymentArn), "service-deployment/")
	}),

	// Express Gateway services, which berth does not store.
	"CreateExpressGatewayService": forInput(func(a *accessRequest, in *ecstypes.CreateExpressGatewayServiceRequest) {
		clusterARN, cluster := a.clusterARN(awsapi.Deref(in.Cluster))
		name := awsapi.Deref(in.ServiceName)
		if name == "" {
			name = "*" // UNVERIFIED: the resource ECS names for a service it will name itself
		}
		arn := a.arns.Service(cluster, name)
		a.need(arn, conditions(nil).set("ecs:cluster", clusterARN).requestTags(in.Tags))
		a.tagOnCreate(arn, in.Tags, conditions(nil).set("ecs:cluster", clusterARN))
		a.passRole(TasksPrincipal, awsapi.Deref(in.ExecutionRoleArn), awsapi.Deref(in.TaskRoleArn))
		a.passRole(ecsPrincipal, awsapi.Deref(in.InfrastructureRoleArn)) // UNVERIFIED: the service the role is passed to
	}),
	"DeleteExpressGatewayService": forInput(func(a *accessRequest, in *ecstypes.DeleteExpressGatewayServiceRequest) {
		a.needIn(a.service(nil, awsapi.Deref(in.ServiceArn)))
	}),
	"DescribeExpressGatewayService": forInput(func(a *accessRequest, in *ecstypes.DescribeExpressGatewayServiceRequest) {
		a.needIn(a.service(nil, awsapi.Deref(in.ServiceArn)))
	}),
	"UpdateExpressGatewayService": forInput(func(a *accessRequest, in *ecstypes.UpdateExpressGatewayServiceRequest) {
		a.needIn(a.service(nil, awsapi.Deref(in.ServiceArn)))
		a.passRole(TasksPrincipal, awsapi.Deref(in.ExecutionRoleArn), awsapi.Deref(in.TaskRoleArn))
	}),

	// Task sets, which berth does not store.
	"CreateTaskSet": forInput(func(a *accessRequest, in *ecstypes.CreateTaskSetRequest) {
		// UNVERIFIED: the resource ECS names for the task set to come.
		arn, clusterARN, c := a.taskSet(in.Cluster, awsapi.Deref(in.Service), "*")
		defARN, def := a.taskDefinition(awsapi.Deref(in.TaskDefinition))
		a.needIn(arn, clusterARN, c.set("ecs:task-definition", defARN).
			set("ecs:capacity-provider", a.capacityProviderARNs(strategyProviders(in.CapacityProviderStrategy))...).
			requestTags(in.Tags))
		a.tagOnCreate(arn, in.Tags, conditions(nil).set("ecs:cluster", clusterARN))
		a.passTaskRoles(def, nil) // UNVERIFIED: that ECS checks the definition's roles here as at RunTask
	}),
	"DeleteTaskSet": forInput(func(a *accessRequest, in *ecstypes.DeleteTaskSetRequest) {
		a.needIn(a.taskSet(in.Cluster, awsapi.Deref(in.Service), awsapi.Deref(in.TaskSet)))
	}),
	"DescribeTaskSets": forInput(func(a *accessRequest, in *ecstypes.DescribeTaskSetsRequest) {
		if len(in.TaskSets) == 0 {
			a.needIn(a.taskSet(in.Cluster, awsapi.Deref(in.Service), "*")) // UNVERIFIED: the resource for all of them
		}
		for _, ref := range in.TaskSets {
			a.needIn(a.taskSet(in.Cluster, awsapi.Deref(in.Service), ref))
		}
	}),
	"UpdateTaskSet": forInput(func(a *accessRequest, in *ecstypes.UpdateTaskSetRequest) {
		a.needIn(a.taskSet(in.Cluster, awsapi.Deref(in.Service), awsapi.Deref(in.TaskSet)))
	}),

	// Tags.
	"ListTagsForResource": forInput(func(a *accessRequest, in *ecstypes.ListTagsForResourceRequest) {
		arn := awsapi.Deref(in.ResourceArn)
		a.need(arn, a.taggable(arn))
	}),
	"TagResource": forInput(func(a *accessRequest, in *ecstypes.TagResourceRequest) {
		arn := awsapi.Deref(in.ResourceArn)
		a.need(arn, a.taggable(arn).requestTags(in.Tags))
	}),
	"UntagResource": forInput(func(a *accessRequest, in *ecstypes.UntagResourceRequest) {
		arn := awsapi.Deref(in.ResourceArn)
		a.need(arn, a.taggable(arn).set("aws:TagKeys", in.TagKeys...))
	}),

	// Task definitions.
	"DeleteTaskDefinitions": forInput(func(a *accessRequest, in *ecstypes.DeleteTaskDefinitionsRequest) {
		for _, ref := range in.TaskDefinitions {
			arn, def := a.taskDefinition(ref)
			a.need(arn, definitionTags(def))
		}
	}),
	// ECS names no revision before it registers one: a registration is
	// authorized on its family.
	"RegisterTaskDefinition": forInput(func(a *accessRequest, in *ecstypes.RegisterTaskDefinitionRequest) {
		arn := a.arn("task-definition/" + awsapi.Deref(in.Family) + ":*") // UNVERIFIED: the family's ARN with ":*"
		a.need(arn, conditions(nil).requestTags(in.Tags))
		a.tagOnCreate(arn, in.Tags, nil)
		a.passRole(TasksPrincipal, awsapi.Deref(in.TaskRoleArn), awsapi.Deref(in.ExecutionRoleArn))
	}),

	// Tasks.
	"DescribeTasks": forInput(func(a *accessRequest, in *ecstypes.DescribeTasksRequest) {
		for _, ref := range in.Tasks {
			a.needIn(a.task(in.Cluster, ref))
		}
	}),
	"ExecuteCommand": forInput(func(a *accessRequest, in *ecstypes.ExecuteCommandRequest) {
		taskARN, clusterARN, taskTags := a.task(in.Cluster, awsapi.Deref(in.Task))
		_, clusterTags := a.cluster(clusterARN)
		container := awsapi.Deref(in.Container)
		a.needIn(clusterARN, clusterARN, clusterTags.set("ecs:task", taskARN).set("ecs:container-name", container))
		a.needIn(taskARN, clusterARN, taskTags.set("ecs:task", taskARN).set("ecs:container-name", container))
	}),
	"GetTaskProtection": forInput(func(a *accessRequest, in *ecstypes.GetTaskProtectionRequest) {
		if len(in.Tasks) == 0 {
			a.needIn(a.task(in.Cluster, "*")) // UNVERIFIED: the resource for all of the cluster's tasks
		}
		for _, ref := range in.Tasks {
			a.needIn(a.task(in.Cluster, ref))
		}
	}),
	"RunTask": forInput(func(a *accessRequest, in *ecstypes.RunTaskRequest) {
		a.launch(in.Cluster, in.TaskDefinition, in.CapacityProviderStrategy, in.Tags, in.Overrides, nil)
	}),
	"StartTask": forInput(func(a *accessRequest, in *ecstypes.StartTaskRequest) {
		instances := make([]string, len(in.ContainerInstances))
		for i, ref := range in.ContainerInstances {
			instances[i], _, _ = a.containerInstance(in.Cluster, ref)
		}
		a.launch(in.Cluster, in.TaskDefinition, nil, in.Tags, in.Overrides,
			conditions(nil).set("ecs:container-instances", instances...))
	}),
	"StopTask": forInput(func(a *accessRequest, in *ecstypes.StopTaskRequest) {
		a.needIn(a.task(in.Cluster, awsapi.Deref(in.Task)))
	}),
	"UpdateTaskProtection": forInput(func(a *accessRequest, in *ecstypes.UpdateTaskProtectionRequest) {
		for _, ref := range in.Tasks {
			a.needIn(a.task(in.Cluster, ref))
		}
	}),
}

// access is the service's awsapi.Service.Access: what a call needs in
// IAM's terms, as the Service Authorization Reference for Amazon Elastic
// Container Service gives the actions, resource types and condition keys.
// A resource a call names that does not exist is authorized by the ARN the
// call gives it, as ECS authorizes before it looks; the handler then
// answers that it is missing.
func (s *service) access(ctx context.Context, operation string, input any) ([]awsapi.Access, error) {
	rule, ok := accessRules[operation]
	if !ok {
		return nil, nil
	}
	a := &accessRequest{s: s, ctx: ctx, operation: operation, arns: s.requestARNs(ctx)}
	rule(a, input)
	return a.accesses, a.err
}

// accessRequest collects what one call needs.
type accessRequest struct {
	s         *service
	ctx       context.Context
	operation string
	arns      ecsstate.ARNs
	accesses  []awsapi.Access
	// tagReads read the tags of the resources the call names, when a
	// policy needs them (readTags).
	tagReads []func(context.Context) (map[string][]string, error)
	// err is the first store read that failed.
	err error
}

// need adds the call's own action on resource.
func (a *accessRequest) need(resource string, c conditions) {
	a.also("ecs:"+a.operation, resource, c)
}

func (a *accessRequest) also(action, resource string, c conditions) {
	access := awsapi.Access{Action: action, Resource: resource}
	if pending, ok := c[pendingTagsKey]; ok {
		i, _ := strconv.Atoi(pending[0]) // always an index readTags wrote
		access.ResourceTags = a.tagReads[i]
		c = maps.Clone(c) // shared with the call's other accesses
		delete(c, pendingTagsKey)
		if len(c) == 0 {
			c = nil
		}
	}
	access.Context = map[string][]string(c)
	a.accesses = append(a.accesses, access)
}

// fail keeps the first store read that failed, which fails the call.
func (a *accessRequest) fail(err error) {
	if a.err == nil {
		a.err = err
	}
}

// arn is the ARN of an ECS resource of the request's account and region,
// for the resource types ecsstate.ARNs has no builder for.
func (a *accessRequest) arn(resource string) string {
	return "arn:aws:ecs:" + a.arns.Region + ":" + a.arns.Account + ":" + resource
}

// path splits an ECS ARN of the request's account and region of resource
// type kind ("daemon/") into the parts of its path, nil for any other ARN.
func (a *accessRequest) path(arn, kind string) []string {
	res, ok := a.s.ecsResource(a.arns.Region, arn)
	if !ok {
		return nil
	}
	rest, ok := strings.CutPrefix(res, kind)
	if !ok {
		return nil
	}
	return strings.Split(rest, "/")
}

// readTags returns conditions standing for the tags of the record at key,
// as resource tag conditions (none when there is no record). They are
// read only if a policy that applies tests them: the conditions hold a
// marker that also() turns into the access's ResourceTags.
func readTags[T any](a *accessRequest, key string, tags func(T) []ecstypes.Tag) conditions {
	a.tagReads = append(a.tagReads, func(ctx context.Context) (map[string][]string, error) {
		kv, _, err := a.s.store.Get(ctx, key)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, nil
		case err != nil:
			return nil, err
		}
		if c, ok := a.s.tags.get(key, kv.ModRevision); ok {
			return c, nil
		}
		var rec T
		if err := json.Unmarshal(kv.Value, &rec); err != nil {
			return nil, fmt.Errorf("ecs: decode %s: %w", key, err)
		}
		c := conditions(nil).resourceTags(tags(rec))
		a.s.tags.put(key, kv.ModRevision, c)
		return c, nil
	})
	return conditions(nil).put(pendingTagsKey, strconv.Itoa(len(a.tagReads)-1))
}

// resourceTagCache keeps the tag conditions last decoded from each record,
// with the record's revision: a record read again unchanged (every
// DescribeServices of the same services, say) is not decoded again. Its
// entries are shared and never changed.
type resourceTagCache struct {
	mu      sync.Mutex
	entries map[string]cachedTags
}

type cachedTags struct {
	revision int64
	tags     conditions
}

// maxCachedTags bounds the cache; it starts afresh when full.
const maxCachedTags = 10_000

func (c *resourceTagCache) get(key string, revision int64) (conditions, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	return e.tags, ok && e.revision == revision
}

func (c *resourceTagCache) put(key string, revision int64, tags conditions) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= maxCachedTags {
		c.entries = map[string]cachedTags{}
	}
	c.entries[key] = cachedTags{revision: revision, tags: tags}
}

// recordTags is a cluster, service or capacity provider record as far as
// its tags, and taskRecordTags a task's: decoding a whole service record
// (its deployments, its events) to read them would cost more than the call
// they authorize.
type (
	recordTags struct {
		Tags []ecstypes.Tag `json:"tags"`
	}
	taskRecordTags struct {
		Spec recordTags `json:"spec"`
	}
)

func (r recordTags) tags() []ecstypes.Tag     { return r.Tags }
func (t taskRecordTags) tags() []ecstypes.Tag { return t.Spec.Tags }

// pendingTagsKey marks, in conditions, resource tags still to be read: its
// value indexes accessRequest.tagReads. It is no condition key (those have
// no NUL byte) and never reaches an Access.
const pendingTagsKey = "\x00resource-tags"

func (a *accessRequest) accountSetting(name *string) {
	a.need("*", conditions(nil).set("ecs:account-setting", awsapi.Deref(name)))
}

// clusterARN is the ARN of the cluster a name or ARN (empty: "default")
// names, and its name; an ARN that names no cluster here is given back
// with no name.
func (a *accessRequest) clusterARN(ref string) (arn, name string) {
	name, ok := a.arns.ClusterName(ref)
	if !ok {
		return ref, ""
	}
	return a.arns.Cluster(name), name
}

// cluster is a cluster's ARN with its tags.
func (a *accessRequest) cluster(ref string) (string, conditions) {
	arn, name := a.clusterARN(ref)
	if name == "" {
		return arn, nil
	}
	return arn, readTags(a, ecsstate.ClusterKey(a.arns.Region, name), recordTags.tags)
}

// inCluster resolves a reference to a resource in a cluster (an id or name,
// or an ARN parse reads) as the handlers do: in the cluster its ARN names,
// else in the cluster the call names (empty: the ARN's, else "default").
// ok is false for a reference that names no such resource here.
func (a *accessRequest) inCluster(clusterRef *string, ref string, parse func(string) (cluster, id string, ok bool)) (clusterARN, cluster, id string, ok bool) {
	refCluster, id, ok := parse(ref)
	callRef := awsapi.Deref(clusterRef)
	if callRef == "" && ok {
		callRef = refCluster
	}
	clusterARN, cluster = a.clusterARN(callRef)
	if refCluster != "" {
		cluster = refCluster
	}
	return clusterARN, cluster, id, ok && cluster != ""
}

// needIn adds the call's own action on a resource of the cluster
// clusterARN, with ecs:cluster.
func (a *accessRequest) needIn(resource, clusterARN string, c conditions) {
	a.need(resource, c.set("ecs:cluster", clusterARN))
}

// service is a service's ARN, its cluster's ARN and the service's tags.
func (a *accessRequest) service(clusterRef *string, ref string) (arn, clusterARN string, tags conditions) {
	clusterARN, cluster, name, ok := a.inCluster(clusterRef, ref, a.arns.ServiceName)
	if !ok {
		return ref, clusterARN, nil
	}
	return a.arns.Service(cluster, name), clusterARN, a.serviceTags(cluster, name)
}

func (a *accessRequest) serviceTags(cluster, name string) conditions {
	return readTags(a, ecsstate.ServiceKey(a.arns.Region, cluster, name), recordTags.tags)
}

// serviceChild adds the call's action on the service a deployment or
// revision ARN names and on the deployment or revision itself.
func (a *accessRequest) serviceChild(arn, kind string) {
	parts := a.path(arn, kind)
	if len(parts) != 3 {
		a.need(arn, nil)
		return
	}
	clusterARN, serviceARN := a.arns.Cluster(parts[0]), a.arns.Service(parts[0], parts[1])
	a.needIn(serviceARN, clusterARN, a.serviceTags(parts[0], parts[1]))
	a.needIn(arn, clusterARN, conditions(nil).set("ecs:service", serviceARN))
}

// task is a task's ARN, its cluster's ARN and the task's tags.
func (a *accessRequest) task(clusterRef *string, ref string) (arn, clusterARN string, tags conditions) {
	clusterARN, cluster, id, ok := a.inCluster(clusterRef, ref, a.arns.TaskID)
	if !ok {
		return ref, clusterARN, nil
	}
	return a.arns.Task(cluster, id), clusterARN,
		readTags(a, ecsstate.TaskKey(a.arns.Region, cluster, id), taskRecordTags.tags)
}

// containerInstance is a container instance's ARN and its cluster's ARN;
// berth's container instances carry no tags.
func (a *accessRequest) containerInstance(clusterRef *string, ref string) (arn, clusterARN string, tags conditions) {
	clusterARN, cluster, id, ok := a.inCluster(clusterRef, ref, a.arns.ContainerInstanceID)
	if !ok {
		return ref, clusterARN, nil
	}
	return a.arns.ContainerInstance(cluster, id), clusterARN, nil
}

// taskSet is a task set's ARN (ref a task set id or ARN) and its
// cluster's ARN, with ecs:service; berth stores no task sets, so they
// carry no tags.
func (a *accessRequest) taskSet(clusterRef *string, serviceRef, ref string) (arn, clusterARN string, c conditions) {
	clusterARN, cluster, service, ok := a.inCluster(clusterRef, serviceRef, a.arns.ServiceName)
	if !ok {
		return ref, clusterARN, c.set("ecs:service", serviceRef)
	}
	c = c.set("ecs:service", a.arns.Service(cluster, service))
	if strings.HasPrefix(ref, "arn:") {
		return ref, clusterARN, c
	}
	return a.arn("task-set/" + cluster + "/" + service + "/" + ref), clusterARN, c
}

// daemon is a daemon's ARN with ecs:cluster.
func (a *accessRequest) daemon(arn string) (string, conditions) {
	if parts := a.path(arn, "daemon/"); len(parts) == 2 {
		return arn, conditions(nil).set("ecs:cluster", a.arns.Cluster(parts[0]))
	}
	return arn, nil
}

// daemonChild adds the call's action on the daemon a deployment or
// revision ARN names and on the deployment or revision itself.
func (a *accessRequest) daemonChild(arn, kind string) {
	parts := a.path(arn, kind)
	if len(parts) != 3 {
		a.need(arn, nil)
		return
	}
	clusterARN := a.arns.Cluster(parts[0])
	daemonARN := a.arn("daemon/" + parts[0] + "/" + parts[1])
	a.needIn(daemonARN, clusterARN, nil)
	a.needIn(arn, clusterARN, conditions(nil).set("ecs:daemon", daemonARN))
}

// daemonTaskDefinition is the ARN a daemon task definition reference
// ("family:revision" or an ARN) names.
func (a *accessRequest) daemonTaskDefinition(ref string) string {
	if strings.HasPrefix(ref, "arn:") {
		return ref
	}
	return a.arn("daemon-task-definition/" + ref)
}

// taskDefinition is the ARN of the task definition a reference names, and
// the definition when it exists. A family alone names its latest ACTIVE
// revision, which ECS resolves before it authorizes; a family without one
// is authorized as every revision of it, for the handler to refuse.
func (a *accessRequest) taskDefinition(ref string) (string, *ecsstate.TaskDefinition) {
	family, revision, ok, err := a.s.parseTaskDefinitionRef(a.arns.Region, ref)
	if err != nil || !ok {
		return ref, nil
	}
	_, rec, found, err := a.s.lookupTaskDefinition(a.ctx, a.arns.Region, ref)
	switch {
	case err != nil:
		a.fail(err)
	case found:
		d := rec.Value.Definition
		return a.arns.TaskDefinition(awsapi.Deref(d.Family), awsapi.Deref(d.Revision)), &rec.Value
	}
	if revision == 0 {
		return a.arn("task-definition/" + family + ":*"), nil
	}
	return a.arns.TaskDefinition(family, revision), nil
}

func definitionTags(def *ecsstate.TaskDefinition) conditions {
	if def == nil {
		return nil
	}
	return conditions(nil).resourceTags(def.Tags)
}

// capacityProvider is a capacity provider's ARN with its tags; FARGATE and
// FARGATE_SPOT have none.
func (a *accessRequest) capacityProvider(ref string) (string, conditions) {
	name := a.s.capacityProviderName(a.ctx, ref)
	switch {
	case name == "":
		return ref, nil
	case isBuiltInProvider(name):
		return a.arns.CapacityProvider(name), nil
	}
	return a.arns.CapacityProvider(name), readTags(a, ecsstate.CapacityProviderKey(a.arns.Region, name), recordTags.tags)
}

// capacityProviderARNs are the ARNs of capacity providers given by name or
// ARN, for ecs:capacity-provider.
func (a *accessRequest) capacityProviderARNs(refs []string) []string {
	arns := make([]string, len(refs))
	for i, ref := range refs {
		arns[i] = ref
		if name := a.s.capacityProviderName(a.ctx, ref); name != "" {
			arns[i] = a.arns.CapacityProvider(name)
		}
	}
	return arns
}

func strategyProviders(strategy []ecstypes.CapacityProviderStrategyItem) []string {
	names := make([]string, len(strategy))
	for i, item := range strategy {
		names[i] = awsapi.Deref(item.CapacityProvider)
	}
	return names
}

// taggable is the tags of the resource a tagging call's ARN names.
func (a *accessRequest) taggable(arn string) conditions {
	res, ok := a.s.ecsResource(a.arns.Region, arn)
	if !ok {
		return nil
	}
	kind, _, _ := strings.Cut(res, "/")
	switch kind {
	case "cluster":
		_, tags := a.cluster(arn)
		return tags
	case "capacity-provider":
		_, tags := a.capacityProvider(arn)
		return tags
	case "service":
		// The old service ARN form, without a cluster, is the default
		// cluster's.
		_, _, tags := a.service(nil, arn)
		return tags
	case "task":
		_, _, tags := a.task(nil, arn)
		return tags
	case "task-definition":
		_, def := a.taskDefinition(arn)
		return definitionTags(def)
	}
	return nil
}

// launch adds what RunTask and StartTask need: the action on the task
// definition (ECS resolves a family to its latest ACTIVE revision first)
// in the cluster, ecs:TagResource for the tags the task is created with,
// and iam:PassRole for the roles it runs with.
func (a *accessRequest) launch(clusterRef, taskDefinition *string, strategy []ecstypes.CapacityProviderStrategyItem, tags []ecstypes.Tag, overrides *ecstypes.TaskOverride, c conditions) {
	clusterARN, cluster := a.clusterARN(awsapi.Deref(clusterRef))
	arn, def := a.taskDefinition(awsapi.Deref(taskDefinition))
	c = c.set("ecs:cluster", clusterARN).
		set("ecs:capacity-provider", a.capacityProviderARNs(strategyProviders(strategy))...).
		requestTags(tags)
	if def != nil {
		c = c.resourceTags(def.Tags)
	}
	a.need(arn, c)
	// UNVERIFIED: the resource ECS names for the task to come.
	a.tagOnCreate(a.arns.Task(cluster, "*"), tags, conditions(nil).set("ecs:cluster", clusterARN))
	a.passTaskRoles(def, overrides)
}

// tagOnCreate adds ecs:TagResource on a resource a call creates with tags,
// which ECS authorizes as well as the call's own action.
func (a *accessRequest) tagOnCreate(resource string, tags []ecstypes.Tag, c conditions) {
	if len(tags) == 0 {
		return
	}
	a.also("ecs:TagResource", resource, c.requestTags(tags).set("ecs:CreateAction", a.operation))
}

// passRole adds iam:PassRole on each role given, by name or ARN.
func (a *accessRequest) passRole(service string, roles ...string) {
	for _, role := range roles {
		if role == "" {
			continue
		}
		if !strings.HasPrefix(role, "arn:") {
			role = "arn:aws:iam::" + a.arns.Account + ":role/" + strings.TrimPrefix(role, "/")
		}
		a.also("iam:PassRole", role, conditions(nil).set("iam:PassedToService", service))
	}
}

// passTaskRoles adds iam:PassRole on the task role and execution role a
// task of def (nil: unknown) runs with.
func (a *accessRequest) passTaskRoles(def *ecsstate.TaskDefinition, overrides *ecstypes.TaskOverride) {
	var d ecstypes.TaskDefinition
	if def != nil {
		d = def.Definition
	}
	taskRole, executionRole := ecstypes.EffectiveRoles(&d, overrides)
	a.passRole(TasksPrincipal, taskRole, executionRole)
}

// conditions are the condition keys a call sets, nil for none.
type conditions map[string][]string

// set sets key to values; no values, or one empty one (a member the
// call leaves out), set nothing.
func (c conditions) set(key string, values ...string) conditions {
	if len(values) == 0 || (len(values) == 1 && values[0] == "") {
		return c
	}
	return c.put(key, values...)
}

// put sets key to values.
func (c conditions) put(key string, values ...string) conditions {
	if c == nil {
		c = conditions{}
	}
	c[key] = values
	return c
}

// resourceTags sets the tag keys of an existing resource, under both AWS's
// and ECS's names.
func (c conditions) resourceTags(tags []ecstypes.Tag) conditions {
	for _, t := range tags {
		key, value := awsapi.Deref(t.Key), awsapi.Deref(t.Value)
		c = c.put("aws:ResourceTag/"+key, value).put("ecs:ResourceTag/"+key, value)
	}
	return c
}

// requestTags sets the tag keys of tags a call gives.
func (c conditions) requestTags(tags []ecstypes.Tag) conditions {
	keys := make([]string, len(tags))
	for i, t := range tags {
		keys[i] = awsapi.Deref(t.Key)
		c = c.put("aws:RequestTag/"+keys[i], awsapi.Deref(t.Value))
	}
	return c.set("aws:TagKeys", keys...)
}
