package ecs

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/scheduler"
	"github.com/berth/berth/internal/store"
)

const apiServiceARN = "arn:aws:ecs:us-east-1:123456789012:service/prod-cluster/api-service"

// createArticleService creates the article's api-service on prod-cluster
// with the cluster's default strategy.
func (e *apiTestEnv) createArticleService(desired int32) *types.Service {
	e.t.Helper()
	return e.createArticleServiceWith(articleServiceInput(desired))
}

func (e *apiTestEnv) createArticleServiceWith(in *sdk.CreateServiceInput) *types.Service {
	e.t.Helper()
	out, err := e.client.CreateService(e.ctx, in)
	if err != nil {
		e.t.Fatal(err)
	}
	return out.Service
}

func articleServiceInput(desired int32) *sdk.CreateServiceInput {
	return &sdk.CreateServiceInput{
		Cluster:              aws.String("prod-cluster"),
		ServiceName:          aws.String("api-service"),
		TaskDefinition:       aws.String("api-service"),
		DesiredCount:         aws.Int32(desired),
		NetworkConfiguration: awsvpcNetwork,
		DeploymentConfiguration: &types.DeploymentConfiguration{
			MaximumPercent:           aws.Int32(200),
			MinimumHealthyPercent:    aws.Int32(100),
			DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true},
		},
		HealthCheckGracePeriodSeconds: aws.Int32(60),
		EnableExecuteCommand:          true,
		EnableECSManagedTags:          true,
		PropagateTags:                 types.PropagateTagsService,
		Tags:                          []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}},
	}
}

func (e *apiTestEnv) serviceRecord(cluster, name string) ecsstate.Service {
	e.t.Helper()
	v, err := store.Get[ecsstate.Service](e.ctx, e.store, ecsstate.ServiceKey(apiTestRegion, cluster, name))
	if err != nil {
		e.t.Fatal(err)
	}
	return v.Value
}

func (e *apiTestEnv) changeService(cluster, name string, change func(*ecsstate.Service)) {
	e.t.Helper()
	if _, err := store.Update(e.ctx, e.store, ecsstate.ServiceKey(apiTestRegion, cluster, name), func(v *ecsstate.Service, _ bool) error {
		change(v)
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
}

func TestCreateServiceArticle(t *testing.T) {
	e := newAPITestEnv(t)
	e.articleCluster()
	tdARN := e.registerAPIService()

	svc := e.createArticleService(4)
	if aws.ToString(svc.ServiceArn) != apiServiceARN || aws.ToString(svc.Status) != "ACTIVE" ||
		svc.DesiredCount != 4 || svc.RunningCount != 0 || svc.PendingCount != 0 ||
		aws.ToString(svc.TaskDefinition) != tdARN || svc.LaunchType != "" ||
		aws.ToString(svc.PlatformVersion) != "LATEST" || aws.ToString(svc.PlatformFamily) != "Linux" ||
		svc.SchedulingStrategy != types.SchedulingStrategyReplica || svc.PropagateTags != types.PropagateTagsService ||
		!svc.EnableExecuteCommand || !svc.EnableECSManagedTags || aws.ToInt32(svc.HealthCheckGracePeriodSeconds) != 60 ||
		svc.DeploymentController == nil || svc.DeploymentController.Type != types.DeploymentControllerTypeEcs ||
		aws.ToString(svc.ClusterArn) != "arn:aws:ecs:us-east-1:123456789012:cluster/prod-cluster" || svc.CreatedAt == nil {
		t.Fatalf("service: %+v", svc)
	}
	if len(svc.CapacityProviderStrategy) != 2 || aws.ToString(svc.CapacityProviderStrategy[0].CapacityProvider) != "FARGATE" ||
		svc.CapacityProviderStrategy[0].Base != 1 || svc.CapacityProviderStrategy[1].Weight != 3 {
		t.Fatalf("strategy: %+v", svc.CapacityProviderStrategy)
	}
	dc := svc.DeploymentConfiguration
	if aws.ToInt32(dc.MaximumPercent) != 200 || aws.ToInt32(dc.MinimumHealthyPercent) != 100 ||
		dc.DeploymentCircuitBreaker == nil || !dc.DeploymentCircuitBreaker.Enable || !dc.DeploymentCircuitBreaker.Rollback {
		t.Fatalf("deployment configuration: %+v", dc)
	}
	vpc := svc.NetworkConfiguration.AwsvpcConfiguration
	if vpc.AssignPublicIp != types.AssignPublicIpDisabled || !slices.Equal(vpc.Subnets, []string{"subnet-private-1a"}) {
		t.Fatalf("network: %+v", vpc)
	}
	if len(svc.Deployments) != 1 {
		t.Fatalf("deployments: %+v", svc.Deployments)
	}
	d := svc.Deployments[0]
	id := aws.ToString(d.Id)
	if !strings.HasPrefix(id, "ecs-svc/") || len(id) != len("ecs-svc/")+19 || aws.ToString(d.Status) != "PRIMARY" ||
		d.RolloutState != types.DeploymentRolloutStateInProgress || aws.ToString(d.RolloutStateReason) != scheduler.ReasonDeploymentInProgress(id) ||
		d.DesiredCount != 4 || aws.ToString(d.PlatformVersion) != "1.4.0" || aws.ToString(d.TaskDefinition) != tdARN ||
		len(d.CapacityProviderStrategy) != 2 || d.NetworkConfiguration == nil {
		t.Fatalf("deployment: %+v", d)
	}
	if len(svc.Tags) != 1 || aws.ToString(svc.Tags[0].Key) != "env" {
		t.Fatalf("tags: %+v", svc.Tags)
	}
	wantDeploymentARN := "arn:aws:ecs:us-east-1:123456789012:service-deployment/prod-cluster/api-service/" + strings.TrimPrefix(id, "ecs-svc/")
	if aws.ToString(svc.CurrentServiceDeployment) != wantDeploymentARN {
		t.Fatalf("current service deployment %s", aws.ToString(svc.CurrentServiceDeployment))
	}

	// The same request again returns the service; a different one is
	// refused.
	again := e.createArticleService(4)
	if aws.ToString(again.Deployments[0].Id) != id {
		t.Fatalf("idempotent create made a new deployment")
	}
	_, err := e.client.CreateService(e.ctx, articleServiceInput(5))
	wantAPIErr(t, err, "InvalidParameterException", "Creation of service was not idempotent.")

	// DescribeClusters counts it.
	cl, err := e.client.DescribeClusters(e.ctx, &sdk.DescribeClustersInput{Clusters: []string{"prod-cluster"}})
	if err != nil || cl.Clusters[0].ActiveServicesCount != 1 {
		t.Fatalf("clusters %+v, %v", cl, err)
	}
}

func TestCreateServiceRefusals(t *testing.T) {
	e := newAPITestEnv(t)
	e.articleCluster()
	e.registerAPIService()
	e.registerBridge("worker", 256, 0)

	withInput := func(change func(*sdk.CreateServiceInput)) *sdk.CreateServiceInput {
		in := articleServiceInput(2)
		change(in)
		return in
	}
	for _, tc := range []struct {
		name      string
		in        *sdk.CreateServiceInput
		code, msg string
	}{
		{"target group", withInput(func(in *sdk.CreateServiceInput) {
			in.LoadBalancers = []types.LoadBalancer{{TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api-tg/0123456789abcdef"), ContainerName: aws.String("api"), ContainerPort: aws.Int32(8080)}}
		}), "InvalidParameterException", "The target group arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api-tg/0123456789abcdef does not exist."},
		{"registry format", withInput(func(in *sdk.CreateServiceInput) {
			in.ServiceRegistries = []types.ServiceRegistry{{RegistryArn: aws.String("arn:aws:servicediscovery:us-east-1:123456789012:namespace/ns-x")}}
		}), "InvalidParameterException", "The format of the supplied service registry ARN is invalid: arn:aws:servicediscovery:us-east-1:123456789012:namespace/ns-x."},
		{"registry", withInput(func(in *sdk.CreateServiceInput) {
			in.ServiceRegistries = []types.ServiceRegistry{{RegistryArn: aws.String("arn:aws:servicediscovery:us-east-1:123456789012:service/srv-abc")}}
		}), "InvalidParameterException", "The service registry arn:aws:servicediscovery:us-east-1:123456789012:service/srv-abc does not exist."},
		{"daemon", withInput(func(in *sdk.CreateServiceInput) { in.SchedulingStrategy = types.SchedulingStrategyDaemon }),
			"UnsupportedFeatureException", "berth does not support the DAEMON scheduling strategy yet."},
		{"code deploy", withInput(func(in *sdk.CreateServiceInput) {
			in.DeploymentController = &types.DeploymentController{Type: types.DeploymentControllerTypeCodeDeploy}
		}), "UnsupportedFeatureException", "berth does not support the CODE_DEPLOY deployment controller yet."},
		{"no desired count", withInput(func(in *sdk.CreateServiceInput) { in.DesiredCount = nil }),
			"InvalidParameterException", "The desired count is required for services using the REPLICA scheduling strategy."},
		{"both launch type and strategy", withInput(func(in *sdk.CreateServiceInput) {
			in.LaunchType = types.LaunchTypeFargate
			in.CapacityProviderStrategy = []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE"), Weight: 1}}
		}), "InvalidParameterException", "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again."},
		{"no network", withInput(func(in *sdk.CreateServiceInput) { in.NetworkConfiguration = nil }),
			"InvalidParameterException", "Network Configuration must be provided when networkMode 'awsvpc' is specified."},
		{"fargate constraints", withInput(func(in *sdk.CreateServiceInput) {
			in.PlacementConstraints = []types.PlacementConstraint{{Type: types.PlacementConstraintTypeDistinctInstance}}
		}), "InvalidParameterException", "Placement constraints are not supported with FARGATE launch type."},
		{"min healthy", withInput(func(in *sdk.CreateServiceInput) { in.DeploymentConfiguration.MinimumHealthyPercent = aws.Int32(150) }),
			"InvalidParameterException", "minimumHealthyPercent must be between 0 and 100."},
		{"bad name", withInput(func(in *sdk.CreateServiceInput) { in.ServiceName = aws.String("api service") }),
			"InvalidParameterException", ""},
		{"unknown task definition", withInput(func(in *sdk.CreateServiceInput) { in.TaskDefinition = aws.String("nope") }),
			"ClientException", "TaskDefinition not found."},
		{"ec2 platform version", &sdk.CreateServiceInput{Cluster: aws.String("prod-cluster"), ServiceName: aws.String("w"), TaskDefinition: aws.String("worker"),
			DesiredCount: aws.Int32(1), LaunchType: types.LaunchTypeEc2, PlatformVersion: aws.String("1.4.0")},
			"InvalidParameterException", "The platform version must be null when specifying an EC2 launch type."},
		{"bad strategy field", &sdk.CreateServiceInput{Cluster: aws.String("prod-cluster"), ServiceName: aws.String("w"), TaskDefinition: aws.String("worker"),
			DesiredCount: aws.Int32(1), LaunchType: types.LaunchTypeEc2, PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeBinpack, Field: aws.String("disk")}}},
			"InvalidParameterException", "Invalid placement strategy: type binpack with field disk."},
		{"unknown cluster", withInput(func(in *sdk.CreateServiceInput) { in.Cluster = aws.String("nope") }),
			"ClusterNotFoundException", "Cluster not found."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.client.CreateService(e.ctx, tc.in)
			wantAPIErr(t, err, tc.code, tc.msg)
		})
	}
	list, err := e.client.ListServices(e.ctx, &sdk.ListServicesInput{Cluster: aws.String("prod-cluster")})
	if err != nil || len(list.ServiceArns) != 0 {
		t.Fatalf("refused creates left services: %+v %v", list, err)
	}
}

func TestUpdateService(t *testing.T) {
	e := newAPITestEnv(t)
	e.articleCluster()
	e.registerAPIService()
	first := e.createArticleService(2)
	firstID := aws.ToString(first.Deployments[0].Id)

	// desiredCount alone: no new deployment.
	out, err := e.client.UpdateService(e.ctx, &sdk.UpdateServiceInput{Cluster: aws.String("prod-cluster"), Service: aws.String("api-service"), DesiredCount: aws.Int32(5)})
	if err != nil {
		t.Fatal(err)
	}
	if out.Service.DesiredCount != 5 || len(out.Service.Deployments) != 1 || aws.ToString(out.Service.Deployments[0].Id) != firstID || out.Service.Deployments[0].DesiredCount != 5 {
		t.Fatalf("scaled: %+v", out.Service.Deployments)
	}

	// A new revision: a new PRIMARY, the old one ACTIVE after it.
	v2 := e.registerAPIService()
	out, err = e.client.UpdateService(e.ctx, &sdk.UpdateServiceInput{Cluster: aws.String("prod-cluster"), Service: aws.String(apiServiceARN), TaskDefinition: aws.String("api-service:2")})
	if err != nil {
		t.Fatal(err)
	}
	deps := out.Service.Deployments
	if aws.ToString(out.Service.TaskDefinition) != v2 || len(deps) != 2 || aws.ToString(deps[0].Status) != "PRIMARY" ||
		aws.ToString(deps[0].TaskDefinition) != v2 || aws.ToString(deps[1].Id) != firstID || aws.ToString(deps[1].Status) != "ACTIVE" || deps[0].DesiredCount != 5 {
		t.Fatalf("deployments after new revision: %+v", deps)
	}

	// forceNewDeployment, and settings that start none.
	out, err = e.client.UpdateService(e.ctx, &sdk.UpdateServiceInput{Cluster: aws.String("prod-cluster"), Service: aws.String("api-service"),
		ForceNewDeployment: true, EnableExecuteCommand: aws.Bool(false), HealthCheckGracePeriodSeconds: aws.Int32(10),
		DeploymentConfiguration: &types.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(50)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Service.Deployments) != 3 || out.Service.EnableExecuteCommand || aws.ToInt32(out.Service.HealthCheckGracePeriodSeconds) != 10 ||
		aws.ToInt32(out.Service.DeploymentConfiguration.MinimumHealthyPercent) != 50 || aws.ToInt32(out.Service.DeploymentConfiguration.MaximumPercent) != 200 ||
		!out.Service.DeploymentConfiguration.DeploymentCircuitBreaker.Enable {
		t.Fatalf("forced: %+v", out.Service)
	}

	// A new network configuration starts a deployment; the same one does not.
	net2 := &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-private-1b"}, AssignPublicIp: types.AssignPublicIpEnabled}}
	out, err = e.client.UpdateService(e.ctx, &sdk.UpdateServiceInput{Cluster: aws.String("prod-cluster"), Service: aws.String("api-service"), NetworkConfiguration: net2})
	if err != nil || len(out.Service.Deployments) != 4 {
		t.Fatalf("network update: %v %+v", err, out)
	}
	out, err = e.client.UpdateService(e.ctx, &sdk.UpdateServiceInput{Cluster: aws.String("prod-cluster"), Service: aws.String("api-service"), NetworkConfiguration: net2})
	if err != nil || len(out.Service.Deployments) != 4 {
		t.Fatalf("same network update: %v %+v", err, out)
	}

	// A strategy of FARGATE alone switches providers with a deployment.
	out, err = e.client.UpdateService(e.ctx, &sdk.UpdateServiceInput{Cluster: aws.String("prod-cluster"), Service: aws.String("api-service"),
		CapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 1}}})
	if err != nil || len(out.Service.Deployments) != 5 || len(out.Service.Deployments[0].CapacityProviderStrategy) != 1 {
		t.Fatalf("strategy update: %v %+v", err, out)
	}

	// The controller moved a deployment to history: it is not listed.
	e.changeService("prod-cluster", "api-service", func(v *ecsstate.Service) {
		last := v.Deployments[len(v.Deployments)-1]
		last.Status = ecsstate.DeploymentInactive
		v.History = append(v.History, last)
		v.Deployments = v.Deployments[:len(v.Deployments)-1]
	})
	desc, err := e.client.DescribeServices(e.ctx, &sdk.DescribeServicesInput{Cluster: aws.String("prod-cluster"), Services: []string{"api-service"}})
	if err != nil || len(desc.Services[0].Deployments) != 4 {
		t.Fatalf("describe: %v %+v", err, desc)
	}

	// Refusals.
	_, err = e.client.UpdateService(e.ctx, &sdk.UpdateServiceInput{Cluster: aws.String("prod-cluster"), Service: aws.String("nope"), DesiredCount: aws.Int32(1)})
	wantAPIErr(t, err, "ServiceNotFoundException", "Service not found.")
	if _, err := e.client.DeregisterTaskDefinition(e.ctx, &sdk.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("api-service:1")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.UpdateService(e.ctx, &sdk.UpdateServiceInput{Cluster: aws.String("prod-cluster"), Service: aws.String("api-service"), TaskDefinition: aws.String("api-service:1")})
	wantAPIErr(t, err, "InvalidParameterException", "TaskDefinition is inactive")
	_, err = e.client.UpdateService(e.ctx, &sdk.UpdateServiceInput{Cluster: aws.String("prod-cluster"), Service: aws.String("api-service"),
		PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeSpread, Field: aws.String("instanceId")}}})
	wantAPIErr(t, err, "InvalidParameterException", "Placement strategies are not supported with FARGATE launch type.")
}

func TestDeleteServiceLifecycle(t *testing.T) {
	e := newAPITestEnv(t)
	e.articleCluster()
	e.registerAPIService()
	e.createArticleService(2)

	_, err := e.client.DeleteService(e.ctx, &sdk.DeleteServiceInput{Cluster: aws.String("prod-cluster"), Service: aws.String("api-service")})
	wantAPIErr(t, err, "InvalidParameterException", "The service cannot be stopped while it is scaled above 0.")
	_, err = e.client.DeleteCluster(e.ctx, &sdk.DeleteClusterInput{Cluster: aws.String("prod-cluster")})
	wantAPIErr(t, err, "ClusterContainsServicesException", "The Cluster cannot be deleted while Services are active.")

	out, err := e.client.DeleteService(e.ctx, &sdk.DeleteServiceInput{Service: aws.String(apiServiceARN), Force: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Service.Status) != "DRAINING" || out.Service.DesiredCount != 0 || out.Service.Deployments[0].DesiredCount != 0 {
		t.Fatalf("deleted: %+v", out.Service)
	}
	list, err := e.client.ListServices(e.ctx, &sdk.ListServicesInput{Cluster: aws.String("prod-cluster")})
	if err != nil || len(list.ServiceArns) != 0 {
		t.Fatalf("list %+v %v", list, err)
	}
	desc, err := e.client.DescribeServices(e.ctx, &sdk.DescribeServicesInput{Cluster: aws.String("prod-cluster"), Services: []string{"api-service", "gone"}})
	if err != nil || len(desc.Services) != 1 || aws.ToString(desc.Services[0].Status) != "DRAINING" ||
		len(desc.Failures) != 1 || aws.ToString(desc.Failures[0].Reason) != "MISSING" ||
		aws.ToString(desc.Failures[0].Arn) != "arn:aws:ecs:us-east-1:123456789012:service/prod-cluster/gone" {
		t.Fatalf("describe %+v %v", desc, err)
	}
	_, err = e.client.UpdateService(e.ctx, &sdk.UpdateServiceInput{Cluster: aws.String("prod-cluster"), Service: aws.String("api-service"), DesiredCount: aws.Int32(1)})
	wantAPIErr(t, err, "ServiceNotActiveException", "Service was not ACTIVE.")
	_, err = e.client.CreateService(e.ctx, articleServiceInput(1))
	wantAPIErr(t, err, "InvalidParameterException", "Unable to Start a service that is still Draining.")
	_, err = e.client.DeleteCluster(e.ctx, &sdk.DeleteClusterInput{Cluster: aws.String("prod-cluster")})
	wantAPIErr(t, err, "ClusterContainsServicesException", "The Cluster cannot be deleted while Services are active.")

	// The controller made it INACTIVE: the name can be used again.
	e.changeService("prod-cluster", "api-service", func(v *ecsstate.Service) { v.Status = ecsstate.ServiceInactive })
	again := e.createArticleService(1)
	if aws.ToString(again.Status) != "ACTIVE" || len(again.Deployments) != 1 || again.DesiredCount != 1 {
		t.Fatalf("recreated %+v", again)
	}
}

func TestListServicesAndTags(t *testing.T) {
	e := newAPITestEnv(t)
	e.articleCluster()
	e.registerAPIService()
	e.registerBridge("worker", 256, 0)
	e.createArticleService(1)
	for _, name := range []string{"w1", "w2", "w3"} {
		_, err := e.client.CreateService(e.ctx, &sdk.CreateServiceInput{Cluster: aws.String("prod-cluster"), ServiceName: aws.String(name),
			TaskDefinition: aws.String("worker"), DesiredCount: aws.Int32(1), LaunchType: types.LaunchTypeEc2,
			PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:ecs.instance-type =~ t2.*")}},
			PlacementStrategy:    []types.PlacementStrategy{{Type: types.PlacementStrategyTypeSpread, Field: aws.String("attribute:ecs.availability-zone")}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	var all []string
	var token *string
	for range 5 {
		page, err := e.client.ListServices(e.ctx, &sdk.ListServicesInput{Cluster: aws.String("prod-cluster"), MaxResults: aws.Int32(3), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.ServiceArns...)
		if token = page.NextToken; token == nil {
			break
		}
	}
	if len(all) != 4 {
		t.Fatalf("listed %v", all)
	}
	ec2, err := e.client.ListServices(e.ctx, &sdk.ListServicesInput{Cluster: aws.String("prod-cluster"), LaunchType: types.LaunchTypeEc2})
	if err != nil || len(ec2.ServiceArns) != 3 {
		t.Fatalf("ec2 services %+v %v", ec2, err)
	}
	_, err = e.client.ListServicesByNamespace(e.ctx, &sdk.ListServicesByNamespaceInput{Namespace: aws.String("services.internal")})
	wantAPIErr(t, err, "NamespaceNotFoundException", "Namespace not found.")

	if _, err := e.client.TagResource(e.ctx, &sdk.TagResourceInput{ResourceArn: aws.String(apiServiceARN), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("payments")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.UntagResource(e.ctx, &sdk.UntagResourceInput{ResourceArn: aws.String(apiServiceARN), TagKeys: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := e.client.ListTagsForResource(e.ctx, &sdk.ListTagsForResourceInput{ResourceArn: aws.String(apiServiceARN)})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "team" {
		t.Fatalf("tags %+v %v", tags, err)
	}
	desc, err := e.client.DescribeServices(e.ctx, &sdk.DescribeServicesInput{Cluster: aws.String("prod-cluster"), Services: []string{"api-service", "w1"}, Include: []types.ServiceField{types.ServiceFieldTags}})
	if err != nil || len(desc.Services) != 2 || len(desc.Services[0].Tags) != 1 || desc.Services[1].Tags == nil {
		t.Fatalf("describe with tags %+v %v", desc, err)
	}
	if w1 := desc.Services[1]; w1.LaunchType != types.LaunchTypeEc2 || w1.PlatformVersion != nil || len(w1.PlacementConstraints) != 1 || len(w1.PlacementStrategy) != 1 {
		t.Fatalf("w1 %+v", w1)
	}
}

func TestServiceDeploymentsAPI(t *testing.T) {
	e := newAPITestEnv(t)
	e.articleCluster()
	e.registerAPIService()
	e.createArticleService(2)
	e.registerAPIService()
	if _, err := e.client.UpdateService(e.ctx, &sdk.UpdateServiceInput{Cluster: aws.String("prod-cluster"), Service: aws.String("api-service"), TaskDefinition: aws.String("api-service:2")}); err != nil {
		t.Fatal(err)
	}
	// The controller: the first deployment completed earlier, the second
	// failed and was rolled back by a third that is still under way.
	var firstID, secondID string
	e.changeService("prod-cluster", "api-service", func(v *ecsstate.Service) {
		v.Deployments[1].RolloutState = scheduler.RolloutCompleted
		v.Deployments[1].CreatedAt = v.Deployments[1].CreatedAt.Add(-1e9)
		firstID, secondID = v.Deployments[1].ID, v.Deployments[0].ID
		failed := v.Deployments[0]
		failed.Status = ecsstate.DeploymentActive
		failed.RolloutState = scheduler.RolloutFailed
		failed.RolloutStateReason = scheduler.ReasonBreakerFailed
		failed.RolledBack = true
		failed.FailedTasks = 3
		rollback := newDeployment(v, failed.CreatedAt.Add(1e9))
		rollback.RollbackOf = failed.ID
		rollback.TaskDefinition = v.Deployments[1].TaskDefinition
		rollback.RolloutStateReason = scheduler.ReasonRollingBack(firstID)
		v.Deployments = []ecsstate.Deployment{rollback, failed, v.Deployments[1]}
	})
	list, err := e.client.ListServiceDeployments(e.ctx, &sdk.ListServiceDeploymentsInput{Cluster: aws.String("prod-cluster"), Service: aws.String("api-service")})
	if err != nil {
		t.Fatal(err)
	}
	var statuses []string
	for _, d := range list.ServiceDeployments {
		statuses = append(statuses, string(d.Status))
	}
	if want := []string{"ROLLBACK_IN_PROGRESS", "SUCCESSFUL"}; !slices.Equal(statuses, want) {
		t.Fatalf("statuses %v, want %v", statuses, want)
	}
	page, err := e.client.ListServiceDeployments(e.ctx, &sdk.ListServiceDeploymentsInput{Cluster: aws.String("prod-cluster"), Service: aws.String("api-service"), MaxResults: aws.Int32(1)})
	if err != nil || len(page.ServiceDeployments) != 1 || page.NextToken == nil {
		t.Fatalf("page %+v %v", page, err)
	}
	page, err = e.client.ListServiceDeployments(e.ctx, &sdk.ListServiceDeploymentsInput{Cluster: aws.String("prod-cluster"), Service: aws.String("api-service"), MaxResults: aws.Int32(1), NextToken: page.NextToken})
	if err != nil || len(page.ServiceDeployments) != 1 || page.ServiceDeployments[0].Status != types.ServiceDeploymentStatusSuccessful || page.NextToken != nil {
		t.Fatalf("second page %+v %v", page, err)
	}
	filtered, err := e.client.ListServiceDeployments(e.ctx, &sdk.ListServiceDeploymentsInput{Cluster: aws.String("prod-cluster"), Service: aws.String("api-service"),
		Status: []types.ServiceDeploymentStatus{types.ServiceDeploymentStatusSuccessful}})
	if err != nil || len(filtered.ServiceDeployments) != 1 {
		t.Fatalf("filtered %+v %v", filtered, err)
	}

	failedARN := aws.ToString(list.ServiceDeployments[0].ServiceDeploymentArn)
	desc, err := e.client.DescribeServiceDeployments(e.ctx, &sdk.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{failedARN, failedARN + "9"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.ServiceDeployments) != 1 || len(desc.Failures) != 1 {
		t.Fatalf("describe %+v", desc)
	}
	sd := desc.ServiceDeployments[0]
	if !strings.HasSuffix(failedARN, strings.TrimPrefix(secondID, "ecs-svc/")) || sd.Status != types.ServiceDeploymentStatusRollbackInProgress ||
		sd.Rollback == nil || sd.DeploymentCircuitBreaker == nil || sd.DeploymentCircuitBreaker.Status != types.ServiceDeploymentRollbackMonitorsStatusTriggered ||
		sd.DeploymentCircuitBreaker.FailureCount != 3 || sd.DeploymentCircuitBreaker.Threshold != 3 || sd.TargetServiceRevision == nil ||
		len(sd.SourceServiceRevisions) != 1 || aws.ToString(sd.StatusReason) != scheduler.ReasonBreakerFailed {
		t.Fatalf("service deployment %+v", sd)
	}
	// Disabled alarms are their status alone; a success has no reason.
	if a := sd.Alarms; a == nil || a.Status != types.ServiceDeploymentRollbackMonitorsStatusDisabled || a.AlarmNames != nil || a.TriggeredAlarmNames != nil {
		t.Fatalf("alarms %+v", sd.Alarms)
	}
	okARN := aws.ToString(page.ServiceDeployments[0].ServiceDeploymentArn)
	if ok, err := e.client.DescribeServiceDeployments(e.ctx, &sdk.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{okARN}}); err != nil ||
		len(ok.ServiceDeployments) != 1 || ok.ServiceDeployments[0].Status != types.ServiceDeploymentStatusSuccessful || ok.ServiceDeployments[0].StatusReason != nil {
		t.Fatalf("the successful deployment: %+v %v", ok, err)
	}
	_, err = e.client.ListServiceDeployments(e.ctx, &sdk.ListServiceDeploymentsInput{Cluster: aws.String("prod-cluster"), Service: aws.String("nope")})
	wantAPIErr(t, err, "ServiceNotFoundException", "Service not found.")
}

// A service answers the health check grace period it was given, 0
// included, and leaves it out when it was given none (without a load
// balancer); availabilityZoneRebalancing is ENABLED unless asked
// otherwise, and changing it starts no deployment.
func TestServiceGracePeriodAndZoneRebalancing(t *testing.T) {
	e := newAPITestEnv(t)
	e.articleCluster()
	e.registerAPIService()
	in := articleServiceInput(1)
	in.HealthCheckGracePeriodSeconds = aws.Int32(0)
	zero := e.createArticleServiceWith(in)
	if zero.HealthCheckGracePeriodSeconds == nil || *zero.HealthCheckGracePeriodSeconds != 0 || zero.AvailabilityZoneRebalancing != types.AvailabilityZoneRebalancingEnabled {
		t.Fatalf("created with a grace period of 0: grace %v, zone rebalancing %q", zero.HealthCheckGracePeriodSeconds, zero.AvailabilityZoneRebalancing)
	}
	in = articleServiceInput(1)
	in.ServiceName, in.HealthCheckGracePeriodSeconds, in.AvailabilityZoneRebalancing = aws.String("no-grace"), nil, types.AvailabilityZoneRebalancingDisabled
	none := e.createArticleServiceWith(in)
	if none.HealthCheckGracePeriodSeconds != nil || none.AvailabilityZoneRebalancing != types.AvailabilityZoneRebalancingDisabled {
		t.Fatalf("created without a grace period: grace %v, zone rebalancing %q", none.HealthCheckGracePeriodSeconds, none.AvailabilityZoneRebalancing)
	}
	up, err := e.client.UpdateService(e.ctx, &sdk.UpdateServiceInput{Cluster: aws.String("prod-cluster"), Service: aws.String("no-grace"), AvailabilityZoneRebalancing: types.AvailabilityZoneRebalancingEnabled})
	if err != nil {
		t.Fatal(err)
	}
	if s := up.Service; s.AvailabilityZoneRebalancing != types.AvailabilityZoneRebalancingEnabled || len(s.Deployments) != 1 {
		t.Fatalf("after the update: zone rebalancing %q, %d deployments", s.AvailabilityZoneRebalancing, len(s.Deployments))
	}
	if len(up.Service.Tags) != 1 {
		t.Fatalf("a service with tags is answered with them: %+v", up.Service.Tags)
	}
}

// The calls that change a service answer its tags when it has some, and
// leave the member out when it has none, as the CLI's documented outputs
// show.
func TestServiceChangesAnswerTagsWhenThereAreSome(t *testing.T) {
	e := newAPITestEnv(t)
	e.articleCluster()
	e.registerAPIService()
	in := articleServiceInput(1)
	in.Tags = nil
	svc := e.createArticleServiceWith(in)
	if svc.Tags != nil {
		t.Fatalf("created without tags, answered %+v", svc.Tags)
	}
	// Given no role, an awsvpc service's interfaces are ECS's
	// service-linked role's work, and ECS says so.
	if got := aws.ToString(svc.RoleArn); got != "arn:aws:iam::123456789012:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS" {
		t.Fatalf("roleArn %q", got)
	}
	up, err := e.client.UpdateService(e.ctx, &sdk.UpdateServiceInput{Cluster: aws.String("prod-cluster"), Service: aws.String("api-service"), DesiredCount: aws.Int32(2)})
	if err != nil || up.Service.Tags != nil {
		t.Fatalf("updated without tags: %+v %v", up, err)
	}
	desc, err := e.client.DescribeServices(e.ctx, &sdk.DescribeServicesInput{Cluster: aws.String("prod-cluster"), Services: []string{"api-service"}, Include: []types.ServiceField{types.ServiceFieldTags}})
	if err != nil || desc.Services[0].Tags == nil || len(desc.Services[0].Tags) != 0 {
		t.Fatalf("described with include=TAGS: %+v %v", desc, err)
	}
}

// ECS names its service-linked role for the services it does network work
// for, the role given when there is one, and none otherwise.
func TestServiceRole(t *testing.T) {
	s := &service{account: apiTestAccount}
	slr := "arn:aws:iam::123456789012:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS"
	for _, tc := range []struct {
		name string
		svc  ecsstate.Service
		want string
	}{
		{"bridge", ecsstate.Service{}, ""},
		{"awsvpc", ecsstate.Service{NetworkConfiguration: &ecstypes.NetworkConfiguration{}}, slr},
		{"load balancer", ecsstate.Service{LoadBalancers: []ecstypes.LoadBalancer{{}}}, slr},
		{"given", ecsstate.Service{RoleARN: "arn:aws:iam::123456789012:role/ecsService", LoadBalancers: []ecstypes.LoadBalancer{{}}}, "arn:aws:iam::123456789012:role/ecsService"},
	} {
		if got := s.serviceRole(&tc.svc); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
