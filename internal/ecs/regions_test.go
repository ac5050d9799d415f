package ecs

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/store"
)

// regionClient is an SDK client of the test's gateway whose requests are
// signed for region.
func (e *apiTestEnv) regionClient(region string) *sdk.Client {
	return sdk.New(e.client.Options(), func(o *sdk.Options) { o.Region = region })
}

func TestRegionsKeepTheirOwnResources(t *testing.T) {
	e := newAPITestEnv(t)
	e.fargateNode(true)
	e.ec2Node(4096)
	const euRegion = "eu-central-1"
	us, eu := e.client, e.regionClient(euRegion)

	for _, c := range []*sdk.Client{us, eu} {
		if _, err := c.CreateCluster(e.ctx, &sdk.CreateClusterInput{ClusterName: aws.String("shared")}); err != nil {
			t.Fatal(err)
		}
	}
	for region, c := range map[string]*sdk.Client{apiTestRegion: us, euRegion: eu} {
		out, err := c.ListClusters(e.ctx, &sdk.ListClustersInput{})
		want := "arn:aws:ecs:" + region + ":" + apiTestAccount + ":cluster/shared"
		if err != nil || len(out.ClusterArns) != 1 || out.ClusterArns[0] != want {
			t.Errorf("ListClusters in %s = %v, %v; want [%s]", region, out.ClusterArns, err, want)
		}
	}

	// Revisions count per region.
	register := func(c *sdk.Client) *types.TaskDefinition {
		t.Helper()
		out, err := c.RegisterTaskDefinition(e.ctx, &sdk.RegisterTaskDefinitionInput{
			Family: aws.String("web"), NetworkMode: types.NetworkModeAwsvpc,
			RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
			Cpu:                     aws.String("256"), Memory: aws.String("512"),
			ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox"), Essential: aws.Bool(true)}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return out.TaskDefinition
	}
	register(eu)
	euTD := register(eu)
	if _, err := us.DescribeTaskDefinition(e.ctx, &sdk.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web")}); err == nil {
		t.Error("a task definition registered in eu-central-1 is found in us-east-1")
	}
	if _, err := us.DescribeTaskDefinition(e.ctx, &sdk.DescribeTaskDefinitionInput{TaskDefinition: euTD.TaskDefinitionArn}); err == nil {
		t.Error("an eu-central-1 task definition ARN is found in us-east-1")
	}
	if usTD := register(us); usTD.Revision != 1 || !strings.Contains(aws.ToString(usTD.TaskDefinitionArn), ":us-east-1:") {
		t.Errorf("first us-east-1 registration: revision %d, %s", usTD.Revision, aws.ToString(usTD.TaskDefinitionArn))
	}
	if euTD.Revision != 2 || !strings.Contains(aws.ToString(euTD.TaskDefinitionArn), ":eu-central-1:") {
		t.Errorf("second eu-central-1 registration: revision %d, %s", euTD.Revision, aws.ToString(euTD.TaskDefinitionArn))
	}

	// A task in eu-central-1 names its region, and us-east-1 knows nothing of it.
	run, err := eu.RunTask(e.ctx, &sdk.RunTaskInput{
		Cluster: aws.String("shared"), TaskDefinition: aws.String("web"), LaunchType: types.LaunchTypeFargate,
		NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}},
	})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask in eu-central-1: %v, %+v", err, run)
	}
	task := run.Tasks[0]
	arn := aws.ToString(task.TaskArn)
	if !strings.HasPrefix(arn, "arn:aws:ecs:eu-central-1:"+apiTestAccount+":task/shared/") ||
		aws.ToString(task.AvailabilityZone) != "eu-central-1a" ||
		aws.ToString(task.ClusterArn) != "arn:aws:ecs:eu-central-1:"+apiTestAccount+":cluster/shared" {
		t.Errorf("task %s in %s of %s", arn, aws.ToString(task.AvailabilityZone), aws.ToString(task.ClusterArn))
	}
	desc, err := us.DescribeTasks(e.ctx, &sdk.DescribeTasksInput{Cluster: aws.String("shared"), Tasks: []string{arn}})
	if err != nil || len(desc.Tasks) != 0 || len(desc.Failures) != 1 || aws.ToString(desc.Failures[0].Reason) != "MISSING" {
		t.Errorf("DescribeTasks in us-east-1 of an eu-central-1 task: %+v, %v", desc, err)
	}
	if list, err := us.ListTasks(e.ctx, &sdk.ListTasksInput{Cluster: aws.String("shared")}); err != nil || len(list.TaskArns) != 0 {
		t.Errorf("ListTasks in us-east-1 = %v, %v; want none", list, err)
	}
	if _, err := us.ListTagsForResource(e.ctx, &sdk.ListTagsForResourceInput{ResourceArn: aws.String(arn)}); err == nil {
		t.Error("ListTagsForResource in us-east-1 finds an eu-central-1 task")
	}
	// The node serves both regions: its container instance has the
	// request's region, and counts that region's tasks.
	for region, c := range map[string]*sdk.Client{apiTestRegion: us, euRegion: eu} {
		list, err := c.ListContainerInstances(e.ctx, &sdk.ListContainerInstancesInput{Cluster: aws.String("shared")})
		if err != nil || len(list.ContainerInstanceArns) != 1 || !strings.Contains(list.ContainerInstanceArns[0], ":"+region+":") {
			t.Errorf("ListContainerInstances in %s = %v, %v", region, list, err)
		}
	}

	// Deleting one region's cluster leaves the other's.
	if _, err := us.DeleteCluster(e.ctx, &sdk.DeleteClusterInput{Cluster: aws.String("shared")}); err != nil {
		t.Fatal(err)
	}
	out, err := eu.DescribeClusters(e.ctx, &sdk.DescribeClustersInput{Clusters: []string{"shared"}})
	if err != nil || len(out.Clusters) != 1 || aws.ToString(out.Clusters[0].Status) != "ACTIVE" || out.Clusters[0].PendingTasksCount != 1 {
		t.Errorf("eu-central-1's cluster after deleting us-east-1's: %+v, %v", out, err)
	}
	if _, err := us.StopTask(e.ctx, &sdk.StopTaskInput{Task: aws.String(arn)}); err == nil {
		t.Error("StopTask in us-east-1 stops an eu-central-1 task")
	}
}

// The launcher, which runs outside any request, launches a service's tasks
// in the service's region.
func TestLaunchServiceTasksInTheServicesRegion(t *testing.T) {
	e := newAPITestEnv(t)
	e.fargateNode(true)
	eu := *e
	eu.client = e.regionClient("eu-central-1")
	eu.articleCluster()
	eu.registerAPIService()
	eu.createArticleService(2)
	rec, err := store.Get[ecsstate.Service](e.ctx, e.store, ecsstate.ServiceKey("eu-central-1", "prod-cluster", "api-service"))
	if err != nil {
		t.Fatal(err)
	}
	svc := rec.Value
	tasks, failures, err := e.launcher().LaunchServiceTasks(context.Background(), &svc, svc.Primary(), 2, nil)
	if err != nil || len(failures) != 0 || len(tasks) != 2 {
		t.Fatalf("tasks %d failures %+v err %v", len(tasks), failures, err)
	}
	for _, task := range tasks {
		if task.Region != "eu-central-1" || task.Spec.AvailabilityZone != "eu-central-1a" ||
			task.Key() != ecsstate.TaskKey("eu-central-1", "prod-cluster", task.ID) {
			t.Errorf("task %s: region %q, zone %q", task.Key(), task.Region, task.Spec.AvailabilityZone)
		}
	}
}
