package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// regionTask is a Fargate task definition whose essential container runs
// the toolbox app and whose "metadata" container prints the task metadata
// and its AWS_* variables, then exits.
func regionTask(family, image, executionRole string) map[string]any {
	return map[string]any{
		"family":                  family,
		"executionRoleArn":        executionRole,
		"networkMode":             "awsvpc",
		"requiresCompatibilities": []string{"FARGATE"},
		"cpu":                     "256",
		"memory":                  "512",
		"containerDefinitions": []map[string]any{
			{"name": "app", "image": image, "essential": true},
			{
				"name": "metadata", "image": image, "essential": false,
				"entryPoint": []string{"/bin/sh", "-c"},
				"command":    []string{`curl -f "$ECS_CONTAINER_METADATA_URI_V4/task" && echo && env | grep -E '^AWS_' | sort`},
			},
		},
	}
}

// cliTask is the part of a describe-tasks answer the region test reads.
type cliTask struct {
	TaskArn          string `json:"taskArn"`
	LastStatus       string `json:"lastStatus"`
	AvailabilityZone string `json:"availabilityZone"`
	Containers       []struct {
		Name      string `json:"name"`
		RuntimeID string `json:"runtimeId"`
		ExitCode  *int   `json:"exitCode"`
	} `json:"containers"`
}

// describeTasksIn describes one task with the aws CLI in region: its task,
// or nil with the failures' reasons.
func describeTasksIn(t testing.TB, s *Server, region, cluster, arn string) (*cliTask, []string) {
	t.Helper()
	var out struct {
		Tasks    []cliTask `json:"tasks"`
		Failures []struct {
			Reason string `json:"reason"`
		} `json:"failures"`
	}
	s.AWS(t, "--region", region, "ecs", "describe-tasks", "--cluster", cluster, "--tasks", arn).OK(t).Decode(t, &out)
	var reasons []string
	for _, f := range out.Failures {
		reasons = append(reasons, f.Reason)
	}
	if len(out.Tasks) != 1 {
		return nil, reasons
	}
	return &out.Tasks[0], reasons
}

// clusterARNs lists the cluster ARNs of region with the aws CLI.
func clusterARNs(t testing.TB, s *Server, region string) []string {
	t.Helper()
	var out struct {
		ClusterArns []string `json:"clusterArns"`
	}
	s.AWS(t, "--region", region, "ecs", "list-clusters").OK(t).Decode(t, &out)
	return out.ClusterArns
}

// TestECSTwoRegions: one server is every region: the same cluster name
// lives apart in us-east-1 and eu-central-1, each region lists only its
// own with its own ARNs, task definitions count revisions per region, a
// task run in eu-central-1 says so in its ARN, its availability zone, its
// metadata endpoint and AWS_REGION, and all of it survives a restart.
func TestECSTwoRegions(t *testing.T) {
	s := StartECSServer(t, ServerOptions{})
	image := pushToolbox(t, s, "regions-app", "v1")
	const us, eu = "us-east-1", "eu-central-1"
	for _, region := range []string{us, eu} {
		s.AWS(t, "--region", region, "ecs", "create-cluster", "--cluster-name", "shared").OK(t)
	}
	checkClusters := func(when string) {
		t.Helper()
		for _, region := range []string{us, eu} {
			want := "arn:aws:ecs:" + region + ":" + s.AccountID + ":cluster/shared"
			if got := clusterARNs(t, s, region); len(got) != 1 || got[0] != want {
				t.Errorf("%s: list-clusters in %s = %v, want [%s]", when, region, got, want)
			}
		}
	}
	checkClusters("after create-cluster")

	// Task definitions: eu-central-1 gets two revisions, us-east-1 none
	// until its own first.
	td := writeJSON(t, "td.json", regionTask("regional", image, taskExecutionRole(t, s)))
	for range 2 {
		s.AWS(t, "--region", eu, "ecs", "register-task-definition", "--cli-input-json", td).OK(t)
	}
	s.AWS(t, "--region", us, "ecs", "describe-task-definition", "--task-definition", "regional").Fails(t, "Unable to describe task definition.")
	var reg struct {
		TaskDefinition struct {
			TaskDefinitionArn string `json:"taskDefinitionArn"`
			Revision          int    `json:"revision"`
		} `json:"taskDefinition"`
	}
	s.AWS(t, "--region", us, "ecs", "register-task-definition", "--cli-input-json", td).OK(t).Decode(t, &reg)
	if want := "arn:aws:ecs:us-east-1:" + s.AccountID + ":task-definition/regional:1"; reg.TaskDefinition.Revision != 1 || reg.TaskDefinition.TaskDefinitionArn != want {
		t.Errorf("first registration in us-east-1: %+v, want revision 1, %s", reg.TaskDefinition, want)
	}
	s.AWS(t, "--region", eu, "ecs", "describe-task-definition", "--task-definition", "regional").OK(t).Decode(t, &reg)
	if want := "arn:aws:ecs:eu-central-1:" + s.AccountID + ":task-definition/regional:2"; reg.TaskDefinition.TaskDefinitionArn != want {
		t.Errorf("latest in eu-central-1: %s, want %s", reg.TaskDefinition.TaskDefinitionArn, want)
	}

	// A task in eu-central-1.
	arn := runTask(t, s, "--region", eu, "--cluster", "shared", "--task-definition", "regional", "--launch-type", "FARGATE", "--network-configuration", awsvpcFlag(t, s, "--region", eu))
	if !strings.HasPrefix(arn, "arn:aws:ecs:eu-central-1:"+s.AccountID+":task/shared/") {
		t.Errorf("run-task in eu-central-1 answered task ARN %s", arn)
	}
	if task, reasons := describeTasksIn(t, s, us, "shared", arn); task != nil || len(reasons) != 1 || reasons[0] != "MISSING" {
		t.Errorf("describe-tasks in us-east-1 of the eu-central-1 task: %+v, failures %v; want MISSING", task, reasons)
	}
	var task *cliTask
	for deadline := time.Now().Add(90 * time.Second); ; {
		var reasons []string
		if task, reasons = describeTasksIn(t, s, eu, "shared", arn); task == nil {
			t.Fatalf("describe-tasks in eu-central-1: failures %v", reasons)
		}
		if len(task.Containers) == 2 && task.Containers[1].ExitCode != nil {
			break
		}
		if task.LastStatus == "STOPPED" || time.Now().After(deadline) {
			t.Fatalf("the metadata container did not finish: %+v", task)
		}
		time.Sleep(time.Second)
	}
	if task.TaskArn != arn || task.AvailabilityZone != "eu-central-1a" {
		t.Errorf("task %s in %s, want %s in eu-central-1a", task.TaskArn, task.AvailabilityZone, arn)
	}
	meta := task.Containers[1]
	if meta.Name != "metadata" || *meta.ExitCode != 0 {
		t.Fatalf("metadata container: %+v", meta)
	}
	logs := Docker(t, "logs", meta.RuntimeID).OK(t).Stdout
	first, env, _ := strings.Cut(logs, "\n")
	var md struct{ TaskARN, Cluster, AvailabilityZone string }
	if err := json.Unmarshal([]byte(first), &md); err != nil {
		t.Fatalf("task metadata is not JSON: %v\n%s", err, logs)
	}
	if md.TaskARN != arn || md.AvailabilityZone != "eu-central-1a" || !strings.Contains(md.Cluster, ":eu-central-1:") {
		t.Errorf("task metadata %+v, want task %s in eu-central-1a", md, arn)
	}
	for _, want := range []string{"AWS_REGION=eu-central-1", "AWS_DEFAULT_REGION=eu-central-1"} {
		if !strings.Contains(env, want) {
			t.Errorf("container environment lacks %s:\n%s", want, env)
		}
	}

	// What was written before a restart is there after it.
	s.Restart(t)
	checkClusters("after a restart")
	if task, reasons := describeTasksIn(t, s, eu, "shared", arn); task == nil || task.TaskArn != arn {
		t.Errorf("after a restart, describe-tasks in eu-central-1: %+v, failures %v", task, reasons)
	}
	s.AWS(t, "--region", eu, "ecs", "describe-task-definition", "--task-definition", "regional:2").OK(t)

	// Deleting one region's cluster leaves the other's.
	s.AWS(t, "--region", eu, "ecs", "stop-task", "--cluster", "shared", "--task", arn).OK(t)
	for deadline := time.Now().Add(60 * time.Second); ; {
		if task, _ := describeTasksIn(t, s, eu, "shared", arn); task != nil && task.LastStatus == "STOPPED" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s did not stop", arn)
		}
		time.Sleep(time.Second)
	}
	s.AWS(t, "--region", eu, "ecs", "delete-cluster", "--cluster", "shared").OK(t)
	var desc struct {
		Clusters []struct {
			ClusterArn string `json:"clusterArn"`
			Status     string `json:"status"`
		} `json:"clusters"`
	}
	s.AWS(t, "--region", us, "ecs", "describe-clusters", "--clusters", "shared").OK(t).Decode(t, &desc)
	if len(desc.Clusters) != 1 || desc.Clusters[0].Status != "ACTIVE" || !strings.Contains(desc.Clusters[0].ClusterArn, ":us-east-1:") {
		t.Errorf("us-east-1's cluster after deleting eu-central-1's: %+v", desc.Clusters)
	}
	s.AWS(t, "--region", eu, "ecs", "describe-clusters", "--clusters", "shared").OK(t).Decode(t, &desc)
	if len(desc.Clusters) != 1 || desc.Clusters[0].Status != "INACTIVE" {
		t.Errorf("eu-central-1's cluster after delete-cluster: %+v", desc.Clusters)
	}
}

// upgradeECS: a service running under berth from before regions keeps its
// task through the upgrade (the same task, not a replacement, and no
// second one), in the server's region and in no other.
func upgradeECS(t *testing.T, old string) {
	e := startServiceEnv(t, ServerOptions{Bin: old, BeforeVPCs: true}, UniqueName("upgraded"))
	td := e.registerApp(t, "upgraded-app", "v1")
	// A berth from before VPCs has no EC2: its tasks' subnets were names.
	e.s.AWS(t, "ecs", "create-service", "--cluster", e.cluster, "--service-name", "web", "--task-definition", td,
		"--desired-count", "1", "--network-configuration", "awsvpcConfiguration={subnets=[subnet-private-1a],assignPublicIp=DISABLED}").OK(t)
	e.waitSteady(t, "web", 2*time.Minute)
	before := taskARNs(e.serviceTasks(t, "web", ecstypes.DesiredStatusRunning))

	e.s.Stop(t)
	e.s.bin = berthBin
	e.s.args = append(e.s.args, "--default-vpc-cidr", FreeVPCRange(t))
	e.s.Start(t)
	svc := e.waitSteady(t, "web", 2*time.Minute)
	after := taskARNs(e.serviceTasks(t, "web", ecstypes.DesiredStatusRunning))
	if len(before) != 1 || !slices.Equal(after, before) {
		t.Fatalf("the service's tasks: %v before the upgrade, %v after; want the same one", before, after)
	}
	if want := "arn:aws:ecs:" + e.s.Region + ":"; !strings.HasPrefix(*svc.ServiceArn, want) || !strings.HasPrefix(after[0], want) {
		t.Fatalf("after the upgrade: service %s, task %s; want them in %s", *svc.ServiceArn, after[0], e.s.Region)
	}
	const eu = "eu-central-1"
	e.s.AWS(t, "--region", eu, "ecs", "describe-services", "--cluster", e.cluster, "--services", "web").Fails(t, "ClusterNotFoundException")
	e.s.AWS(t, "--region", eu, "ecs", "describe-task-definition", "--task-definition", "upgraded-app").Fails(t, "Unable to describe task definition.")
}
