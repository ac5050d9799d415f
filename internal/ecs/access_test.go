package ecs

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/store"
)

// wantAccess builds an expected Access; context is condition keys and values
// in pairs, a key given twice taking both values.
func wantAccess(action, resource string, context ...string) awsapi.Access {
	a := awsapi.Access{Action: action, Resource: resource}
	for i := 0; i < len(context); i += 2 {
		if a.Context == nil {
			a.Context = map[string][]string{}
		}
		a.Context[context[i]] = append(a.Context[context[i]], context[i+1])
	}
	return a
}

func ecsARN(resource string) string { return "arn:aws:ecs:us-east-1:123456789012:" + resource }

func oneTag(key, value string) []ecstypes.Tag {
	return []ecstypes.Tag{{Key: awsapi.String(key), Value: awsapi.String(value)}}
}

// wildcardOperations need "ecs:<operation>" on "*": the Service
// Authorization Reference gives them no resource type and no condition key.
var wildcardOperations = []string{
	"DeregisterTaskDefinition", "DescribeTaskDefinition", "DiscoverPollEndpoint", "ListAccountSettings",
	"ListClusters", "ListDaemonTaskDefinitions", "ListTaskDefinitionFamilies", "ListTaskDefinitions",
}

func TestAccess(t *testing.T) {
	e := newAPITestEnv(t)
	put := func(key string, v any) {
		t.Helper()
		if _, err := store.Update(e.ctx, e.store, key, func(p *any, _ bool) error { *p = v; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := apiCall[ecstypes.CreateClusterResponse](e, "CreateCluster", &ecstypes.CreateClusterRequest{
		ClusterName: awsapi.String("prod"), Tags: oneTag("team", "a")}); err != nil {
		t.Fatal(err)
	}
	put(ecsstate.ServiceKey(apiTestRegion, "prod", "web"), ecsstate.Service{Region: apiTestRegion, Cluster: "prod", Name: "web", Tags: oneTag("svc", "web")})
	put(ecsstate.CapacityProviderKey(apiTestRegion, "cp1"), ecsstate.CapacityProvider{Name: "cp1", Tags: oneTag("cp", "1")})
	const taskID = "0123456789abcdef0123456789abcdef"
	e.putTask(ecsstate.Task{Region: apiTestRegion, Cluster: "prod", ID: taskID, Spec: ecsstate.TaskSpec{Tags: oneTag("owner", "me")}})
	container := []ecstypes.ContainerDefinition{{Name: awsapi.String("app"), Image: awsapi.String("nginx"), Memory: awsapi.Int32(64)}}
	for _, in := range []*ecstypes.RegisterTaskDefinitionRequest{
		{Family: awsapi.String("web"), ContainerDefinitions: container, Tags: oneTag("env", "dev"),
			TaskRoleArn: awsapi.String("arn:aws:iam::123456789012:role/app"), ExecutionRoleArn: awsapi.String("exec")},
		{Family: awsapi.String("web"), ContainerDefinitions: container, Tags: oneTag("env", "prod")},
	} {
		if _, err := apiCall[ecstypes.RegisterTaskDefinitionResponse](e, "RegisterTaskDefinition", in); err != nil {
			t.Fatal(err)
		}
	}

	var (
		prod      = ecsARN("cluster/prod")
		dflt      = ecsARN("cluster/default")
		web       = ecsARN("service/prod/web")
		task      = ecsARN("task/prod/" + taskID)
		web1      = ecsARN("task-definition/web:1")
		web2      = ecsARN("task-definition/web:2")
		cp1       = ecsARN("capacity-provider/cp1")
		fargate   = ecsARN("capacity-provider/FARGATE")
		appRole   = "arn:aws:iam::123456789012:role/app"
		execRole  = "arn:aws:iam::123456789012:role/exec"
		elsewhere = "arn:aws:ecs:eu-west-1:123456789012:cluster/prod"
	)
	prodTags := []string{"aws:ResourceTag/team", "a", "ecs:ResourceTag/team", "a"}
	webTags := []string{"aws:ResourceTag/svc", "web", "ecs:ResourceTag/svc", "web"}
	taskTags := []string{"aws:ResourceTag/owner", "me", "ecs:ResourceTag/owner", "me"}
	cp1Tags := []string{"aws:ResourceTag/cp", "1", "ecs:ResourceTag/cp", "1"}
	web1Tags := []string{"aws:ResourceTag/env", "dev", "ecs:ResourceTag/env", "dev"}
	web2Tags := []string{"aws:ResourceTag/env", "prod", "ecs:ResourceTag/env", "prod"}
	newTags := []string{"aws:RequestTag/k", "v", "aws:TagKeys", "k"}
	with := func(lists ...[]string) []string { return slices.Concat(lists...) }
	passTask := func(role string) awsapi.Access {
		return wantAccess("iam:PassRole", role, "iam:PassedToService", "ecs-tasks.amazonaws.com")
	}

	tests := []struct {
		name string
		op   string
		in   any
		want []awsapi.Access
	}{
		// Account settings.
		{"account setting", "PutAccountSetting", &ecstypes.PutAccountSettingRequest{Name: awsapi.String("containerInsights")},
			[]awsapi.Access{wantAccess("ecs:PutAccountSetting", "*", "ecs:account-setting", "containerInsights")}},
		{"account setting default", "PutAccountSettingDefault", &ecstypes.PutAccountSettingDefaultRequest{Name: awsapi.String("awsvpcTrunking")},
			[]awsapi.Access{wantAccess("ecs:PutAccountSettingDefault", "*", "ecs:account-setting", "awsvpcTrunking")}},
		{"delete account setting", "DeleteAccountSetting", &ecstypes.DeleteAccountSettingRequest{Name: awsapi.String("tagResourceAuthorization")},
			[]awsapi.Access{wantAccess("ecs:DeleteAccountSetting", "*", "ecs:account-setting", "tagResourceAuthorization")}},

		// Capacity providers.
		{"create capacity provider", "CreateCapacityProvider", &ecstypes.CreateCapacityProviderRequest{Name: awsapi.String("cp2"), Tags: oneTag("k", "v"),
			ManagedInstancesProvider: &ecstypes.CreateManagedInstancesProviderConfiguration{InfrastructureRoleArn: awsapi.String("infra")}},
			[]awsapi.Access{
				wantAccess("ecs:CreateCapacityProvider", ecsARN("capacity-provider/cp2"), newTags...),
				wantAccess("ecs:TagResource", ecsARN("capacity-provider/cp2"), with(newTags, []string{"ecs:CreateAction", "CreateCapacityProvider"})...),
				wantAccess("iam:PassRole", "arn:aws:iam::123456789012:role/infra", "iam:PassedToService", "ecs.amazonaws.com"),
			}},
		{"delete capacity provider by ARN", "DeleteCapacityProvider", &ecstypes.DeleteCapacityProviderRequest{CapacityProvider: awsapi.String(cp1)},
			[]awsapi.Access{wantAccess("ecs:DeleteCapacityProvider", cp1, cp1Tags...)}},
		{"describe every capacity provider", "DescribeCapacityProviders", &ecstypes.DescribeCapacityProvidersRequest{},
			[]awsapi.Access{wantAccess("ecs:DescribeCapacityProviders", ecsARN("capacity-provider/*"))}},
		{"describe capacity providers", "DescribeCapacityProviders", &ecstypes.DescribeCapacityProvidersRequest{CapacityProviders: []string{"FARGATE", "cp1"}},
			[]awsapi.Access{wantAccess("ecs:DescribeCapacityProviders", fargate), wantAccess("ecs:DescribeCapacityProviders", cp1, cp1Tags...)}},
		{"update capacity provider", "UpdateCapacityProvider", &ecstypes.UpdateCapacityProviderRequest{Name: awsapi.String("cp1")},
			[]awsapi.Access{wantAccess("ecs:UpdateCapacityProvider", cp1, cp1Tags...)}},

		// Clusters.
		{"create cluster", "CreateCluster", &ecstypes.CreateClusterRequest{ClusterName: awsapi.String("new"), CapacityProviders: []string{"FARGATE"}, Tags: oneTag("k", "v")},
			[]awsapi.Access{
				wantAccess("ecs:CreateCluster", ecsARN("cluster/new"), with(newTags, []string{"ecs:capacity-provider", fargate})...),
				wantAccess("ecs:TagResource", ecsARN("cluster/new"), with(newTags, []string{"ecs:CreateAction", "CreateCluster"})...),
			}},
		{"create the default cluster", "CreateCluster", &ecstypes.CreateClusterRequest{},
			[]awsapi.Access{wantAccess("ecs:CreateCluster", dflt)}},
		{"delete cluster", "DeleteCluster", &ecstypes.DeleteClusterRequest{Cluster: awsapi.String("prod")},
			[]awsapi.Access{wantAccess("ecs:DeleteCluster", prod, prodTags...)}},
		{"describe the default cluster", "DescribeClusters", &ecstypes.DescribeClustersRequest{},
			[]awsapi.Access{wantAccess("ecs:DescribeClusters", dflt)}},
		{"describe clusters by ARN, missing, elsewhere", "DescribeClusters", &ecstypes.DescribeClustersRequest{Clusters: []string{prod, "missing", elsewhere}},
			[]awsapi.Access{
				wantAccess("ecs:DescribeClusters", prod, prodTags...),
				wantAccess("ecs:DescribeClusters", ecsARN("cluster/missing")),
				wantAccess("ecs:DescribeClusters", elsewhere),
			}},
		{"deregister container instance", "DeregisterContainerInstance", &ecstypes.DeregisterContainerInstanceRequest{Cluster: awsapi.String("prod")},
			[]awsapi.Access{wantAccess("ecs:DeregisterContainerInstance", prod, prodTags...)}},
		{"list attributes", "ListAttributes", &ecstypes.ListAttributesRequest{Cluster: awsapi.String("prod")},
			[]awsapi.Access{wantAccess("ecs:ListAttributes", prod, prodTags...)}},
		{"list container instances", "ListContainerInstances", &ecstypes.ListContainerInstancesRequest{Cluster: awsapi.String("prod")},
			[]awsapi.Access{wantAccess("ecs:ListContainerInstances", prod, prodTags...)}},
		{"put cluster capacity providers", "PutClusterCapacityProviders", &ecstypes.PutClusterCapacityProvidersRequest{Cluster: awsapi.String("prod"), CapacityProviders: []string{"FARGATE", cp1}},
			[]awsapi.Access{wantAccess("ecs:PutClusterCapacityProviders", prod, with(prodTags, []string{"ecs:capacity-provider", fargate, "ecs:capacity-provider", cp1})...)}},
		{"register container instance", "RegisterContainerInstance", &ecstypes.RegisterContainerInstanceRequest{Cluster: awsapi.String("prod"), Tags: oneTag("k", "v")},
			[]awsapi.Access{
				wantAccess("ecs:RegisterContainerInstance", prod, with(prodTags, newTags)...),
				wantAccess("ecs:TagResource", ecsARN("container-instance/prod/*"), with([]string{"ecs:cluster", prod}, newTags, []string{"ecs:CreateAction", "RegisterContainerInstance"})...),
			}},
		{"submit attachment state changes", "SubmitAttachmentStateChanges", &ecstypes.SubmitAttachmentStateChangesRequest{Cluster: awsapi.String("prod")},
			[]awsapi.Access{wantAccess("ecs:SubmitAttachmentStateChanges", prod, prodTags...)}},
		{"submit container state change", "SubmitContainerStateChange", &ecstypes.SubmitContainerStateChangeRequest{},
			[]awsapi.Access{wantAccess("ecs:SubmitContainerStateChange", dflt)}},
		{"submit task state change", "SubmitTaskStateChange", &ecstypes.SubmitTaskStateChangeRequest{Cluster: awsapi.String(prod)},
			[]awsapi.Access{wantAccess("ecs:SubmitTaskStateChange", prod, prodTags...)}},
		{"update cluster", "UpdateCluster", &ecstypes.UpdateClusterRequest{Cluster: awsapi.String("prod")},
			[]awsapi.Access{wantAccess("ecs:UpdateCluster", prod, prodTags...)}},
		{"update cluster settings", "UpdateClusterSettings", &ecstypes.UpdateClusterSettingsRequest{Cluster: awsapi.String("prod")},
			[]awsapi.Access{wantAccess("ecs:UpdateClusterSettings", prod, prodTags...)}},

		// Container instances.
		{"describe container instances by id and ARN", "DescribeContainerInstances", &ecstypes.DescribeContainerInstancesRequest{Cluster: awsapi.String("prod"),
			ContainerInstances: []string{"i1", ecsARN("container-instance/prod/i2")}},
			[]awsapi.Access{
				wantAccess("ecs:DescribeContainerInstances", ecsARN("container-instance/prod/i1"), "ecs:cluster", prod),
				wantAccess("ecs:DescribeContainerInstances", ecsARN("container-instance/prod/i2"), "ecs:cluster", prod),
			}},
		{"delete attributes", "DeleteAttributes", &ecstypes.DeleteAttributesRequest{Attributes: []ecstypes.Attribute{{Name: awsapi.String("a"), TargetId: awsapi.String("i1")}}},
			[]awsapi.Access{wantAccess("ecs:DeleteAttributes", ecsARN("container-instance/default/i1"), "ecs:cluster", dflt)}},
		{"put attributes", "PutAttributes", &ecstypes.PutAttributesRequest{Cluster: awsapi.String("prod"), Attributes: []ecstypes.Attribute{{Name: awsapi.String("a"), TargetId: awsapi.String("i1")}}},
			[]awsapi.Access{wantAccess("ecs:PutAttributes", ecsARN("container-instance/prod/i1"), "ecs:cluster", prod)}},
		{"update container agent", "UpdateContainerAgent", &ecstypes.UpdateContainerAgentRequest{Cluster: awsapi.String("prod"), ContainerInstance: awsapi.String("i1")},
			[]awsapi.Access{wantAccess("ecs:UpdateContainerAgent", ecsARN("container-instance/prod/i1"), "ecs:cluster", prod)}},
		{"update container instances state", "UpdateContainerInstancesState", &ecstypes.UpdateContainerInstancesStateRequest{ContainerInstances: []string{ecsARN("container-instance/prod/i1")}},
			[]awsapi.Access{wantAccess("ecs:UpdateContainerInstancesState", ecsARN("container-instance/prod/i1"), "ecs:cluster", prod)}},
		{"list the default cluster's tasks", "ListTasks", &ecstypes.ListTasksRequest{},
			[]awsapi.Access{wantAccess("ecs:ListTasks", ecsARN("container-instance/default/*"), "ecs:cluster", dflt)}},
		{"list a container instance's tasks", "ListTasks", &ecstypes.ListTasksRequest{Cluster: awsapi.String("prod"), ContainerInstance: awsapi.String("i1")},
			[]awsapi.Access{wantAccess("ecs:ListTasks", ecsARN("container-instance/prod/i1"), "ecs:cluster", prod)}},

		// Daemons.
		{"create daemon", "CreateDaemon", &ecstypes.CreateDaemonRequest{DaemonName: awsapi.String("d"), ClusterArn: awsapi.String(prod),
			DaemonTaskDefinitionArn: awsapi.String(ecsARN("daemon-task-definition/agent:1")), CapacityProviderArns: []string{cp1}},
			[]awsapi.Access{wantAccess("ecs:CreateDaemon", ecsARN("daemon/prod/d"), "ecs:cluster", prod,
				"ecs:daemon-task-definition", ecsARN("daemon-task-definition/agent:1"), "ecs:capacity-provider", cp1)}},
		{"delete daemon", "DeleteDaemon", &ecstypes.DeleteDaemonRequest{DaemonArn: awsapi.String(ecsARN("daemon/prod/d"))},
			[]awsapi.Access{wantAccess("ecs:DeleteDaemon", ecsARN("daemon/prod/d"), "ecs:cluster", prod)}},
		{"describe a daemon named by a malformed ARN", "DescribeDaemon", &ecstypes.DescribeDaemonRequest{DaemonArn: awsapi.String("d")},
			[]awsapi.Access{wantAccess("ecs:DescribeDaemon", "d")}},
		{"describe daemon deployments", "DescribeDaemonDeployments", &ecstypes.DescribeDaemonDeploymentsRequest{DaemonDeploymentArns: []string{ecsARN("daemon-deployment/prod/d/1")}},
			[]awsapi.Access{
				wantAccess("ecs:DescribeDaemonDeployments", ecsARN("daemon/prod/d"), "ecs:cluster", prod),
				wantAccess("ecs:DescribeDaemonDeployments", ecsARN("daemon-deployment/prod/d/1"), "ecs:cluster", prod, "ecs:daemon", ecsARN("daemon/prod/d")),
			}},
		{"describe daemon revisions", "DescribeDaemonRevisions", &ecstypes.DescribeDaemonRevisionsRequest{DaemonRevisionArns: []string{ecsARN("daemon-revision/prod/d/1")}},
			[]awsapi.Access{
				wantAccess("ecs:DescribeDaemonRevisions", ecsARN("daemon/prod/d"), "ecs:cluster", prod),
				wantAccess("ecs:DescribeDaemonRevisions", ecsARN("daemon-revision/prod/d/1"), "ecs:cluster", prod, "ecs:daemon", ecsARN("daemon/prod/d")),
			}},
		{"describe daemon task definition", "DescribeDaemonTaskDefinition", &ecstypes.DescribeDaemonTaskDefinitionRequest{DaemonTaskDefinition: awsapi.String("agent:1")},
			[]awsapi.Access{wantAccess("ecs:DescribeDaemonTaskDefinition", ecsARN("daemon-task-definition/agent:1"))}},
		{"delete daemon task definition", "DeleteDaemonTaskDefinition", &ecstypes.DeleteDaemonTaskDefinitionRequest{DaemonTaskDefinition: awsapi.String(ecsARN("daemon-task-definition/agent:1"))},
			[]awsapi.Access{wantAccess("ecs:DeleteDaemonTaskDefinition", ecsARN("daemon-task-definition/agent:1"))}},
		{"list daemon deployments", "ListDaemonDeployments", &ecstypes.ListDaemonDeploymentsRequest{DaemonArn: awsapi.String(ecsARN("daemon/prod/d"))},
			[]awsapi.Access{wantAccess("ecs:ListDaemonDeployments", ecsARN("daemon/prod/d"), "ecs:cluster", prod)}},
		{"list daemons", "ListDaemons", &ecstypes.ListDaemonsRequest{ClusterArn: awsapi.String("prod")},
			[]awsapi.Access{wantAccess("ecs:ListDaemons", "*", "ecs:cluster", prod)}},
		{"list every daemon", "ListDaemons", &ecstypes.ListDaemonsRequest{},
			[]awsapi.Access{wantAccess("ecs:ListDaemons", "*")}},
		{"register daemon task definition", "RegisterDaemonTaskDefinition", &ecstypes.RegisterDaemonTaskDefinitionRequest{Family: awsapi.String("agent"),
			ExecutionRoleArn: awsapi.String(execRole), Tags: oneTag("k", "v")},
			[]awsapi.Access{
				wantAccess("ecs:RegisterDaemonTaskDefinition", ecsARN("daemon-task-definition/agent:*"), newTags...),
				wantAccess("ecs:TagResource", ecsARN("daemon-task-definition/agent:*"), with(newTags, []string{"ecs:CreateAction", "RegisterDaemonTaskDefinition"})...),
				passTask(execRole),
			}},
		{"update daemon", "UpdateDaemon", &ecstypes.UpdateDaemonRequest{DaemonArn: awsapi.String(ecsARN("daemon/prod/d")),
			DaemonTaskDefinitionArn: awsapi.String(ecsARN("daemon-task-definition/agent:2"))},
			[]awsapi.Access{wantAccess("ecs:UpdateDaemon", ecsARN("daemon/prod/d"), "ecs:cluster", prod, "ecs:daemon-task-definition", ecsARN("daemon-task-definition/agent:2"))}},

		// Services.
		{"create service", "CreateService", &ecstypes.CreateServiceRequest{Cluster: awsapi.String("prod"), ServiceName: awsapi.String("api"),
			TaskDefinition: awsapi.String("web:1"), Role: awsapi.String("ecsServiceRole"), Tags: oneTag("k", "v"),
			CapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{{CapacityProvider: awsapi.String("FARGATE")}}},
			[]awsapi.Access{
				wantAccess("ecs:CreateService", ecsARN("service/prod/api"), with([]string{"ecs:cluster", prod, "ecs:capacity-provider", fargate}, newTags, []string{"ecs:task-definition", web1})...),
				wantAccess("ecs:TagResource", ecsARN("service/prod/api"), with([]string{"ecs:cluster", prod}, newTags, []string{"ecs:CreateAction", "CreateService"})...),
				wantAccess("iam:PassRole", "arn:aws:iam::123456789012:role/ecsServiceRole", "iam:PassedToService", "ecs.amazonaws.com"),
				passTask(appRole),
				passTask(execRole),
			}},
		{"create service of a family's latest revision", "CreateService", &ecstypes.CreateServiceRequest{ServiceName: awsapi.String("api"), TaskDefinition: awsapi.String("web")},
			[]awsapi.Access{wantAccess("ecs:CreateService", ecsARN("service/default/api"), "ecs:cluster", dflt, "ecs:task-definition", web2)}},
		{"delete service by ARN", "DeleteService", &ecstypes.DeleteServiceRequest{Service: awsapi.String(web)},
			[]awsapi.Access{wantAccess("ecs:DeleteService", web, with(webTags, []string{"ecs:cluster", prod})...)}},
		{"describe services, one missing", "DescribeServices", &ecstypes.DescribeServicesRequest{Cluster: awsapi.String(prod), Services: []string{"web", "gone"}},
			[]awsapi.Access{
				wantAccess("ecs:DescribeServices", web, with(webTags, []string{"ecs:cluster", prod})...),
				wantAccess("ecs:DescribeServices", ecsARN("service/prod/gone"), "ecs:cluster", prod),
			}},
		{"describe a service of another cluster", "DescribeServices", &ecstypes.DescribeServicesRequest{Services: []string{ecsARN("service/other/api")}},
			[]awsapi.Access{wantAccess("ecs:DescribeServices", ecsARN("service/other/api"), "ecs:cluster", ecsARN("cluster/other"))}},
		{"list service deployments", "ListServiceDeployments", &ecstypes.ListServiceDeploymentsRequest{Cluster: awsapi.String("prod"), Service: awsapi.String("web")},
			[]awsapi.Access{wantAccess("ecs:ListServiceDeployments", web, with(webTags, []string{"ecs:cluster", prod})...)}},
		{"list services", "ListServices", &ecstypes.ListServicesRequest{Cluster: awsapi.String("prod")},
			[]awsapi.Access{wantAccess("ecs:ListServices", "*", "ecs:cluster", prod)}},
		{"list services by namespace", "ListServicesByNamespace", &ecstypes.ListServicesByNamespaceRequest{Namespace: awsapi.String("arn:aws:servicediscovery:us-east-1:123456789012:namespace/ns-1")},
			[]awsapi.Access{wantAccess("ecs:ListServicesByNamespace", "*", "ecs:namespace", "arn:aws:servicediscovery:us-east-1:123456789012:namespace/ns-1")}},
		{"update service", "UpdateService", &ecstypes.UpdateServiceRequest{Cluster: awsapi.String("prod"), Service: awsapi.String("web"), TaskDefinition: awsapi.String(web1)},
			[]awsapi.Access{
				wantAccess("ecs:UpdateService", web, with(webTags, []string{"ecs:cluster", prod, "ecs:task-definition", web1})...),
				passTask(appRole),
				passTask(execRole),
			}},
		{"update service count", "UpdateService", &ecstypes.UpdateServiceRequest{Cluster: awsapi.String("prod"), Service: awsapi.String("web"), DesiredCount: awsapi.Int32(2)},
			[]awsapi.Access{wantAccess("ecs:UpdateService", web, with(webTags, []string{"ecs:cluster", prod})...)}},
		{"update service primary task set", "UpdateServicePrimaryTaskSet", &ecstypes.UpdateServicePrimaryTaskSetRequest{Cluster: awsapi.String("prod"), Service: awsapi.String("web")},
			[]awsapi.Access{wantAccess("ecs:UpdateServicePrimaryTaskSet", web, with(webTags, []string{"ecs:cluster", prod})...)}},
		{"continue service deployment", "ContinueServiceDeployment", &ecstypes.ContinueServiceDeploymentRequest{ServiceDeploymentArn: awsapi.String(ecsARN("service-deployment/prod/web/1"))},
			[]awsapi.Access{
				wantAccess("ecs:ContinueServiceDeployment", web, with(webTags, []string{"ecs:cluster", prod})...),
				wantAccess("ecs:ContinueServiceDeployment", ecsARN("service-deployment/prod/web/1"), "ecs:service", web, "ecs:cluster", prod),
			}},
		{"describe service deployments", "DescribeServiceDeployments", &ecstypes.DescribeServiceDeploymentsRequest{ServiceDeploymentArns: []string{"bad"}},
			[]awsapi.Access{wantAccess("ecs:DescribeServiceDeployments", "bad")}},
		{"describe service revisions", "DescribeServiceRevisions", &ecstypes.DescribeServiceRevisionsRequest{ServiceRevisionArns: []string{ecsARN("service-revision/prod/web/1")}},
			[]awsapi.Access{
				wantAccess("ecs:DescribeServiceRevisions", web, with(webTags, []string{"ecs:cluster", prod})...),
				wantAccess("ecs:DescribeServiceRevisions", ecsARN("service-revision/prod/web/1"), "ecs:service", web, "ecs:cluster", prod),
			}},
		{"stop service deployment", "StopServiceDeployment", &ecstypes.StopServiceDeploymentRequest{ServiceDeploymentArn: awsapi.String(ecsARN("service-deployment/prod/api/7"))},
			[]awsapi.Access{
				wantAccess("ecs:StopServiceDeployment", ecsARN("service/prod/api"), "ecs:cluster", prod),
				wantAccess("ecs:StopServiceDeployment", ecsARN("service-deployment/prod/api/7"), "ecs:service", ecsARN("service/prod/api"), "ecs:cluster", prod),
			}},

		// Express Gateway services.
		{"create express gateway service", "CreateExpressGatewayService", &ecstypes.CreateExpressGatewayServiceRequest{Cluster: awsapi.String("prod"),
			ExecutionRoleArn: awsapi.String(execRole), InfrastructureRoleArn: awsapi.String("infra")},
			[]awsapi.Access{
				wantAccess("ecs:CreateExpressGatewayService", ecsARN("service/prod/*"), "ecs:cluster", prod),
				passTask(execRole),
				wantAccess("iam:PassRole", "arn:aws:iam::123456789012:role/infra", "iam:PassedToService", "ecs.amazonaws.com"),
			}},
		{"delete express gateway service", "DeleteExpressGatewayService", &ecstypes.DeleteExpressGatewayServiceRequest{ServiceArn: awsapi.String(web)},
			[]awsapi.Access{wantAccess("ecs:DeleteExpressGatewayService", web, with(webTags, []string{"ecs:cluster", prod})...)}},
		{"describe express gateway service", "DescribeExpressGatewayService", &ecstypes.DescribeExpressGatewayServiceRequest{ServiceArn: awsapi.String(web)},
			[]awsapi.Access{wantAccess("ecs:DescribeExpressGatewayService", web, with(webTags, []string{"ecs:cluster", prod})...)}},
		{"update express gateway service", "UpdateExpressGatewayService", &ecstypes.UpdateExpressGatewayServiceRequest{ServiceArn: awsapi.String(web), TaskRoleArn: awsapi.String(appRole)},
			[]awsapi.Access{wantAccess("ecs:UpdateExpressGatewayService", web, with(webTags, []string{"ecs:cluster", prod})...), passTask(appRole)}},

		// Task sets.
		{"create task set", "CreateTaskSet", &ecstypes.CreateTaskSetRequest{Cluster: awsapi.String("prod"), Service: awsapi.String("web"), TaskDefinition: awsapi.String("web:2")},
			[]awsapi.Access{wantAccess("ecs:CreateTaskSet", ecsARN("task-set/prod/web/*"), "ecs:cluster", prod, "ecs:service", web, "ecs:task-definition", web2)}},
		{"delete task set", "DeleteTaskSet", &ecstypes.DeleteTaskSetRequest{Cluster: awsapi.String("prod"), Service: awsapi.String(web), TaskSet: awsapi.String("ecs-svc/1")},
			[]awsapi.Access{wantAccess("ecs:DeleteTaskSet", ecsARN("task-set/prod/web/ecs-svc/1"), "ecs:cluster", prod, "ecs:service", web)}},
		{"describe every task set", "DescribeTaskSets", &ecstypes.DescribeTaskSetsRequest{Cluster: awsapi.String("prod"), Service: awsapi.String("web")},
			[]awsapi.Access{wantAccess("ecs:DescribeTaskSets", ecsARN("task-set/prod/web/*"), "ecs:cluster", prod, "ecs:service", web)}},
		{"update task set by ARN", "UpdateTaskSet", &ecstypes.UpdateTaskSetRequest{Cluster: awsapi.String("prod"), Service: awsapi.String("web"), TaskSet: awsapi.String(ecsARN("task-set/prod/web/ts-1"))},
			[]awsapi.Access{wantAccess("ecs:UpdateTaskSet", ecsARN("task-set/prod/web/ts-1"), "ecs:cluster", prod, "ecs:service", web)}},

		// Tags.
		{"list a cluster's tags", "ListTagsForResource", &ecstypes.ListTagsForResourceRequest{ResourceArn: awsapi.String(prod)},
			[]awsapi.Access{wantAccess("ecs:ListTagsForResource", prod, prodTags...)}},
		{"list a task definition's tags", "ListTagsForResource", &ecstypes.ListTagsForResourceRequest{ResourceArn: awsapi.String(web1)},
			[]awsapi.Access{wantAccess("ecs:ListTagsForResource", web1, web1Tags...)}},
		{"list a capacity provider's tags", "ListTagsForResource", &ecstypes.ListTagsForResourceRequest{ResourceArn: awsapi.String(cp1)},
			[]awsapi.Access{wantAccess("ecs:ListTagsForResource", cp1, cp1Tags...)}},
		{"tag a task", "TagResource", &ecstypes.TagResourceRequest{ResourceArn: awsapi.String(task), Tags: oneTag("k", "v")},
			[]awsapi.Access{wantAccess("ecs:TagResource", task, with(taskTags, newTags)...)}},
		{"tag a resource elsewhere", "TagResource", &ecstypes.TagResourceRequest{ResourceArn: awsapi.String(elsewhere), Tags: oneTag("k", "v")},
			[]awsapi.Access{wantAccess("ecs:TagResource", elsewhere, newTags...)}},
		{"untag a service", "UntagResource", &ecstypes.UntagResourceRequest{ResourceArn: awsapi.String(web), TagKeys: []string{"svc", "x"}},
			[]awsapi.Access{wantAccess("ecs:UntagResource", web, with(webTags, []string{"aws:TagKeys", "svc", "aws:TagKeys", "x"})...)}},

		// Task definitions.
		{"delete task definitions", "DeleteTaskDefinitions", &ecstypes.DeleteTaskDefinitionsRequest{TaskDefinitions: []string{"web:1", "gone:3"}},
			[]awsapi.Access{wantAccess("ecs:DeleteTaskDefinitions", web1, web1Tags...), wantAccess("ecs:DeleteTaskDefinitions", ecsARN("task-definition/gone:3"))}},
		{"register task definition", "RegisterTaskDefinition", &ecstypes.RegisterTaskDefinitionRequest{Family: awsapi.String("web"), Tags: oneTag("k", "v"),
			TaskRoleArn: awsapi.String(appRole), ExecutionRoleArn: awsapi.String("exec")},
			[]awsapi.Access{
				wantAccess("ecs:RegisterTaskDefinition", ecsARN("task-definition/web:*"), newTags...),
				wantAccess("ecs:TagResource", ecsARN("task-definition/web:*"), with(newTags, []string{"ecs:CreateAction", "RegisterTaskDefinition"})...),
				passTask(appRole),
				passTask(execRole),
			}},

		// Tasks.
		{"describe tasks by id and ARN", "DescribeTasks", &ecstypes.DescribeTasksRequest{Cluster: awsapi.String("prod"), Tasks: []string{taskID, ecsARN("task/prod/abc")}},
			[]awsapi.Access{
				wantAccess("ecs:DescribeTasks", task, with(taskTags, []string{"ecs:cluster", prod})...),
				wantAccess("ecs:DescribeTasks", ecsARN("task/prod/abc"), "ecs:cluster", prod),
			}},
		{"execute command", "ExecuteCommand", &ecstypes.ExecuteCommandRequest{Cluster: awsapi.String("prod"), Task: awsapi.String(taskID), Container: awsapi.String("app")},
			[]awsapi.Access{
				wantAccess("ecs:ExecuteCommand", prod, with(prodTags, []string{"ecs:task", task, "ecs:container-name", "app", "ecs:cluster", prod})...),
				wantAccess("ecs:ExecuteCommand", task, with(taskTags, []string{"ecs:task", task, "ecs:container-name", "app", "ecs:cluster", prod})...),
			}},
		{"get every task's protection", "GetTaskProtection", &ecstypes.GetTaskProtectionRequest{Cluster: awsapi.String("prod")},
			[]awsapi.Access{wantAccess("ecs:GetTaskProtection", ecsARN("task/prod/*"), "ecs:cluster", prod)}},
		{"get task protection", "GetTaskProtection", &ecstypes.GetTaskProtectionRequest{Cluster: awsapi.String("prod"), Tasks: []string{task}},
			[]awsapi.Access{wantAccess("ecs:GetTaskProtection", task, with(taskTags, []string{"ecs:cluster", prod})...)}},
		{"run a family's latest revision", "RunTask", &ecstypes.RunTaskRequest{Cluster: awsapi.String("prod"), TaskDefinition: awsapi.String("web"),
			CapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{{CapacityProvider: awsapi.String("cp1")}}},
			[]awsapi.Access{wantAccess("ecs:RunTask", web2, with([]string{"ecs:cluster", prod, "ecs:capacity-provider", cp1}, web2Tags)...)}},
		{"run a revision with tags and overrides", "RunTask", &ecstypes.RunTaskRequest{TaskDefinition: awsapi.String("web:1"), Tags: oneTag("k", "v"),
			Overrides: &ecstypes.TaskOverride{TaskRoleArn: awsapi.String("other")}},
			[]awsapi.Access{
				wantAccess("ecs:RunTask", web1, with([]string{"ecs:cluster", dflt}, newTags, web1Tags)...),
				wantAccess("ecs:TagResource", ecsARN("task/default/*"), with([]string{"ecs:cluster", dflt}, newTags, []string{"ecs:CreateAction", "RunTask"})...),
				passTask("arn:aws:iam::123456789012:role/other"),
				passTask(execRole),
			}},
		{"run a family with no revision", "RunTask", &ecstypes.RunTaskRequest{TaskDefinition: awsapi.String("gone")},
			[]awsapi.Access{wantAccess("ecs:RunTask", ecsARN("task-definition/gone:*"), "ecs:cluster", dflt)}},
		{"run a task definition elsewhere", "RunTask", &ecstypes.RunTaskRequest{TaskDefinition: awsapi.String("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:1")},
			[]awsapi.Access{wantAccess("ecs:RunTask", "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:1", "ecs:cluster", dflt)}},
		{"start task", "StartTask", &ecstypes.StartTaskRequest{Cluster: awsapi.String("prod"), TaskDefinition: awsapi.String(web2), ContainerInstances: []string{"i1"}},
			[]awsapi.Access{wantAccess("ecs:StartTask", web2, with([]string{"ecs:container-instances", ecsARN("container-instance/prod/i1"), "ecs:cluster", prod}, web2Tags)...)}},
		{"stop a task by ARN", "StopTask", &ecstypes.StopTaskRequest{Task: awsapi.String(task)},
			[]awsapi.Access{wantAccess("ecs:StopTask", task, with(taskTags, []string{"ecs:cluster", prod})...)}},
		{"update task protection", "UpdateTaskProtection", &ecstypes.UpdateTaskProtectionRequest{Cluster: awsapi.String("prod"), Tasks: []string{taskID}},
			[]awsapi.Access{wantAccess("ecs:UpdateTaskProtection", task, with(taskTags, []string{"ecs:cluster", prod})...)}},

		// The gateway's default.
		{"list clusters", "ListClusters", &ecstypes.ListClustersRequest{}, nil},
	}
	tested := map[string]bool{}
	for _, tt := range tests {
		tested[tt.op] = true
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.svc.Access(e.ctx, tt.op, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got = withResourceTags(t, e.ctx, got)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.op, diff)
			}
			if got != nil && !slices.ContainsFunc(got, func(a awsapi.Access) bool { return a.Action == "ecs:"+tt.op }) {
				t.Errorf("%s is not asked for", tt.op)
			}
		})
	}
	for op := range accessRules {
		if !tested[op] {
			t.Errorf("no test of %s", op)
		}
	}
}

// TestAccessCoversModel checks that every operation of ECS's model is
// mapped or needs nothing but its action, and that every implemented
// operation's input is the one its mapping takes.
func TestAccessCoversModel(t *testing.T) {
	e := newAPITestEnv(t)
	for op := range e.svc.Model.Operations {
		_, mapped := accessRules[op]
		if mapped == slices.Contains(wildcardOperations, op) {
			t.Errorf("%s: mapped %v, listed as wildcard %v", op, mapped, !mapped)
		}
	}
	for op, o := range e.svc.Operations {
		if _, err := e.svc.Access(e.ctx, op, o.NewInput()); err != nil {
			t.Errorf("%s: %v", op, err)
		}
	}
}

// withResourceTags reads each access's resource tags into its context, as
// the authorizer does when a policy tests them.
func withResourceTags(t *testing.T, ctx context.Context, accesses []awsapi.Access) []awsapi.Access {
	t.Helper()
	for i, a := range accesses {
		if a.ResourceTags == nil {
			continue
		}
		tags, err := a.ResourceTags(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(tags) > 0 {
			c := maps.Clone(a.Context)
			if c == nil {
				c = map[string][]string{}
			}
			maps.Copy(c, tags)
			accesses[i].Context = c
		}
		accesses[i].ResourceTags = nil
	}
	return accesses
}

// TestAccessReadFailure checks that a resource whose tags cannot be read
// fails the decision rather than being authorized without them.
func TestAccessReadFailure(t *testing.T) {
	e := newAPITestEnv(t)
	accesses, err := e.svc.Access(e.ctx, "DeleteCluster", &ecstypes.DeleteClusterRequest{Cluster: awsapi.String("prod")})
	if err != nil || len(accesses) != 1 || accesses[0].ResourceTags == nil {
		t.Fatalf("%+v %v", accesses, err)
	}
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := accesses[0].ResourceTags(e.ctx); err == nil {
		t.Fatal("no error")
	}
}

// TestAccessTagsFollowChanges checks that the cache of resources' tags
// answers a record's tags as they are now, not as first read.
func TestAccessTagsFollowChanges(t *testing.T) {
	e := newAPITestEnv(t)
	if _, err := e.client.CreateCluster(e.ctx, &sdk.CreateClusterInput{ClusterName: aws.String("prod"),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}}}); err != nil {
		t.Fatal(err)
	}
	tagsNow := func() []string {
		accesses, err := e.svc.Access(e.ctx, "DescribeClusters", &ecstypes.DescribeClustersRequest{Clusters: []string{"prod"}})
		if err != nil || len(accesses) != 1 {
			t.Fatalf("%+v %v", accesses, err)
		}
		return withResourceTags(t, e.ctx, accesses)[0].Context["aws:ResourceTag/team"]
	}
	if got := tagsNow(); !slices.Equal(got, []string{"web"}) {
		t.Fatalf("tags %v", got)
	}
	arn := "arn:aws:ecs:us-east-1:123456789012:cluster/prod"
	if _, err := e.client.TagResource(e.ctx, &sdk.TagResourceInput{ResourceArn: aws.String(arn),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("api")}}}); err != nil {
		t.Fatal(err)
	}
	if got := tagsNow(); !slices.Equal(got, []string{"api"}) {
		t.Fatalf("tags after TagResource %v", got)
	}
}
