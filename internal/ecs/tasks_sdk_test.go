package ecs

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/store"
)

const (
	// fargateNodeID and ec2NodeID are the simulated agents' nodes.
	fargateNodeID = "0123456789abcdef0123456789abcdef"
	ec2NodeID     = "fedcba9876543210fedcba9876543210"
)

// putNodeActive stands in for an agent registering its node.
func (e *apiTestEnv) putNodeActive(n ecsstate.Node) {
	e.t.Helper()
	if n.Status == "" {
		n.Status = "ACTIVE"
	}
	e.putNode(n)
}

func (e *apiTestEnv) fargateNode(connected bool) {
	e.putNodeActive(ecsstate.Node{ID: fargateNodeID, Hostname: "server", Clusters: []string{ecsstate.AllClusters},
		LaunchTypes: []string{"FARGATE"}, CPU: 8192, MemoryMiB: 16384, Connected: connected})
}

// ec2Node registers a node taking EC2 tasks of every cluster, and of the
// article's Fargate-only prod-cluster by name.
func (e *apiTestEnv) ec2Node(memoryMiB int32) {
	e.putNodeActive(ecsstate.Node{ID: ec2NodeID, Hostname: "worker", Clusters: []string{ecsstate.AllClusters, "prod-cluster"},
		LaunchTypes: []string{"EC2"}, CPU: 4096, MemoryMiB: memoryMiB, Connected: true})
}

// articleCluster creates the article's Fargate cluster.
func (e *apiTestEnv) articleCluster() {
	e.t.Helper()
	_, err := e.client.CreateCluster(e.ctx, &sdk.CreateClusterInput{
		ClusterName:       aws.String("prod-cluster"),
		CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"},
		DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{
			{CapacityProvider: aws.String("FARGATE"), Weight: 1, Base: 1},
			{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 3},
		},
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// registerAPIService registers the article's Fargate task definition.
func (e *apiTestEnv) registerAPIService() string {
	e.t.Helper()
	out, err := e.client.RegisterTaskDefinition(e.ctx, &sdk.RegisterTaskDefinitionInput{
		Family:                  aws.String("api-service"),
		NetworkMode:             types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu:                     aws.String("512"),
		Memory:                  aws.String("1024"),
		ExecutionRoleArn:        aws.String("arn:aws:iam::123456789012:role/ecsTaskExecutionRole"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name:         aws.String("api"),
			Image:        aws.String("123456789012.dkr.ecr.us-east-1.amazonaws.com/api-service:v1.2.3"),
			Essential:    aws.Bool(true),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080), Protocol: types.TransportProtocolTcp}},
		}},
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("payments")}},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

// registerBridge registers an EC2 bridge-mode task definition whose one
// container reserves memoryMiB and binds hostPort (0: none).
func (e *apiTestEnv) registerBridge(family string, memoryMiB, hostPort int32) {
	e.t.Helper()
	c := types.ContainerDefinition{
		Name:      aws.String("worker"),
		Image:     aws.String("busybox"),
		Memory:    aws.Int32(memoryMiB),
		Cpu:       128,
		Essential: aws.Bool(true),
	}
	if hostPort != 0 {
		c.PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(80), HostPort: aws.Int32(hostPort)}}
	}
	_, err := e.client.RegisterTaskDefinition(e.ctx, &sdk.RegisterTaskDefinitionInput{
		Family:               aws.String(family),
		ContainerDefinitions: []types.ContainerDefinition{c},
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

var awsvpcNetwork = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
	Subnets:        []string{"subnet-private-1a"},
	SecurityGroups: []string{"sg-api"},
}}

type taskTestAPIError interface {
	ErrorCode() string
	ErrorMessage() string
}

func wantTaskErr(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae taskTestAPIError
	if !errors.As(err, &ae) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if ae.ErrorCode() != code || (msg != "" && ae.ErrorMessage() != msg) {
		t.Fatalf("got %s: %q\nwant %s: %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}

var taskIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestRunTaskArticleStrategy(t *testing.T) {
	e := newAPITestEnv(t)
	e.articleCluster()
	tdARN := e.registerAPIService()
	e.fargateNode(true)

	out, err := e.client.RunTask(e.ctx, &sdk.RunTaskInput{
		Cluster:              aws.String("prod-cluster"),
		TaskDefinition:       aws.String("api-service"),
		Count:                aws.Int32(4),
		NetworkConfiguration: awsvpcNetwork,
		StartedBy:            aws.String("batch-42"),
		PropagateTags:        types.PropagateTagsTaskDefinition,
		Tags:                 []types.Tag{{Key: aws.String("run"), Value: aws.String("1")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Tasks) != 4 || len(out.Failures) != 0 {
		t.Fatalf("tasks %d failures %+v", len(out.Tasks), out.Failures)
	}
	var providers []string
	for _, task := range out.Tasks {
		providers = append(providers, aws.ToString(task.CapacityProviderName))
	}
	if want := []string{"FARGATE", "FARGATE_SPOT", "FARGATE_SPOT", "FARGATE"}; !slices.Equal(providers, want) {
		t.Fatalf("providers %v, want %v", providers, want)
	}

	task := out.Tasks[0]
	arn := aws.ToString(task.TaskArn)
	id, ok := strings.CutPrefix(arn, "arn:aws:ecs:us-east-1:123456789012:task/prod-cluster/")
	if !ok || !taskIDPattern.MatchString(id) {
		t.Fatalf("task arn %s", arn)
	}
	if aws.ToString(task.ClusterArn) != "arn:aws:ecs:us-east-1:123456789012:cluster/prod-cluster" ||
		aws.ToString(task.TaskDefinitionArn) != tdARN ||
		aws.ToString(task.LastStatus) != "PROVISIONING" || aws.ToString(task.DesiredStatus) != "RUNNING" ||
		task.LaunchType != types.LaunchTypeFargate || aws.ToString(task.PlatformVersion) != "1.4.0" ||
		aws.ToString(task.PlatformFamily) != "Linux" || aws.ToString(task.Cpu) != "512" || aws.ToString(task.Memory) != "1024" ||
		aws.ToString(task.Group) != "family:api-service" || aws.ToString(task.StartedBy) != "batch-42" ||
		aws.ToString(task.AvailabilityZone) != "us-east-1a" || task.ContainerInstanceArn != nil ||
		task.HealthStatus != types.HealthStatusUnknown || task.CreatedAt == nil || task.Version != 1 ||
		task.EphemeralStorage == nil || task.EphemeralStorage.SizeInGiB != 20 {
		t.Fatalf("task: %+v", task)
	}
	// ECS lists every container, by name alone when nothing overrides it.
	if o := task.Overrides; o == nil || len(o.ContainerOverrides) != 1 || aws.ToString(o.ContainerOverrides[0].Name) != "api" ||
		o.ContainerOverrides[0].Command != nil {
		t.Fatalf("overrides: %+v", task.Overrides)
	}
	if len(task.Attributes) != 1 || aws.ToString(task.Attributes[0].Name) != "ecs.cpu-architecture" {
		t.Fatalf("attributes: %+v", task.Attributes)
	}
	var tagKeys []string
	for _, tag := range task.Tags {
		tagKeys = append(tagKeys, aws.ToString(tag.Key))
	}
	if !slices.Equal(tagKeys, []string{"team", "run"}) {
		t.Fatalf("tags %v", tagKeys)
	}
	if len(task.Attachments) != 1 {
		t.Fatalf("attachments %+v", task.Attachments)
	}
	att := task.Attachments[0]
	if aws.ToString(att.Type) != "ElasticNetworkInterface" || aws.ToString(att.Status) != "PRECREATED" ||
		len(att.Details) != 1 || aws.ToString(att.Details[0].Name) != "subnetId" || aws.ToString(att.Details[0].Value) != "subnet-private-1a" {
		t.Fatalf("attachment %+v", att)
	}
	if len(task.Containers) != 1 {
		t.Fatalf("containers %+v", task.Containers)
	}
	c := task.Containers[0]
	if !strings.HasPrefix(aws.ToString(c.ContainerArn), "arn:aws:ecs:us-east-1:123456789012:container/prod-cluster/"+id+"/") ||
		aws.ToString(c.TaskArn) != arn || aws.ToString(c.Name) != "api" || aws.ToString(c.LastStatus) != "PENDING" ||
		aws.ToString(c.Cpu) != "0" || c.HealthStatus != types.HealthStatusUnknown || c.NetworkInterfaces == nil {
		t.Fatalf("container %+v", c)
	}

	// The record: the placed node, the spec for the agent.
	rec, err := store.Get[ecsstate.Task](e.ctx, e.store, ecsstate.TaskKey(apiTestRegion, "prod-cluster", id))
	if err != nil {
		t.Fatal(err)
	}
	r := rec.Value
	if r.NodeID != fargateNodeID || r.Generation != 1 || r.Spec.Network == nil ||
		aws.ToString(r.Spec.Network.AssignPublicIp) != "DISABLED" || len(r.Spec.Containers) != 1 || r.Spec.Containers[0].ID == "" {
		t.Fatalf("record %+v", r)
	}
}

func TestRunTaskNoFargateCapacity(t *testing.T) {
	for _, connected := range []bool{false, true} {
		e := newAPITestEnv(t)
		e.articleCluster()
		e.registerAPIService()
		if connected {
			// A node that takes only EC2 tasks is no Fargate capacity.
			e.ec2Node(4096)
		} else {
			e.fargateNode(false)
		}
		out, err := e.client.RunTask(e.ctx, &sdk.RunTaskInput{
			Cluster: aws.String("prod-cluster"), TaskDefinition: aws.String("api-service"),
			Count: aws.Int32(2), NetworkConfiguration: awsvpcNetwork,
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Tasks) != 0 || len(out.Failures) != 1 ||
			aws.ToString(out.Failures[0].Reason) != "Capacity is unavailable at this time. Please try again later or in a different availability zone" {
			t.Fatalf("connected=%v: %+v", connected, out)
		}
		list, err := e.client.ListTasks(e.ctx, &sdk.ListTasksInput{Cluster: aws.String("prod-cluster")})
		if err != nil || len(list.TaskArns) != 0 {
			t.Fatalf("tasks left behind: %v %v", list, err)
		}
	}
}

func TestRunTaskErrors(t *testing.T) {
	e := newAPITestEnv(t)
	e.articleCluster()
	e.registerAPIService()
	e.registerBridge("worker", 256, 0)
	e.fargateNode(true)
	_, err := e.client.CreateCluster(e.ctx, &sdk.CreateClusterInput{ClusterName: aws.String("empty")})
	if err != nil {
		t.Fatal(err)
	}
	old, err := e.client.RegisterTaskDefinition(e.ctx, &sdk.RegisterTaskDefinitionInput{
		Family: aws.String("retired"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("c"), Image: aws.String("busybox"), Memory: aws.Int32(64),
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeregisterTaskDefinition(e.ctx, &sdk.DeregisterTaskDefinitionInput{TaskDefinition: old.TaskDefinition.TaskDefinitionArn}); err != nil {
		t.Fatal(err)
	}

	fargate := func(mod func(*sdk.RunTaskInput)) *sdk.RunTaskInput {
		in := &sdk.RunTaskInput{
			Cluster:              aws.String("prod-cluster"),
			TaskDefinition:       aws.String("api-service"),
			LaunchType:           types.LaunchTypeFargate,
			NetworkConfiguration: awsvpcNetwork,
		}
		mod(in)
		return in
	}
	tests := []struct {
		name string
		in   *sdk.RunTaskInput
		code string
		msg  string
	}{
		{"unknown cluster", fargate(func(in *sdk.RunTaskInput) { in.Cluster = aws.String("nope") }),
			"ClusterNotFoundException", "Cluster not found."},
		{"unknown task definition", fargate(func(in *sdk.RunTaskInput) { in.TaskDefinition = aws.String("nope:1") }),
			"ClientException", "TaskDefinition not found."},
		{"inactive task definition", fargate(func(in *sdk.RunTaskInput) {
			in.TaskDefinition, in.LaunchType, in.NetworkConfiguration = aws.String("retired:1"), types.LaunchTypeEc2, nil
		}), "InvalidParameterException", "TaskDefinition is inactive"},
		{"count above 10", fargate(func(in *sdk.RunTaskInput) { in.Count = aws.Int32(11) }),
			"InvalidParameterException", ""},
		{"count 0", fargate(func(in *sdk.RunTaskInput) { in.Count = aws.Int32(0) }),
			"InvalidParameterException", ""},
		{"launch type and strategy", fargate(func(in *sdk.RunTaskInput) {
			in.CapacityProviderStrategy = []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE"), Weight: 1}}
		}), "InvalidParameterException", "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again."},
		{"awsvpc without network configuration", fargate(func(in *sdk.RunTaskInput) { in.NetworkConfiguration = nil }),
			"InvalidParameterException", "Network Configuration must be provided when networkMode 'awsvpc' is specified."},
		{"network configuration for bridge", fargate(func(in *sdk.RunTaskInput) {
			in.TaskDefinition, in.LaunchType = aws.String("worker"), types.LaunchTypeEc2
		}), "InvalidParameterException", "Network Configuration is not valid for the given networkMode of this task definition."},
		{"bridge task definition on Fargate", fargate(func(in *sdk.RunTaskInput) {
			in.TaskDefinition, in.NetworkConfiguration = aws.String("worker"), nil
		}), "ClientException", "Task definition does not support launch_type FARGATE."},
		{"too many subnets", fargate(func(in *sdk.RunTaskInput) {
			subnets := make([]string, 17)
			for i := range subnets {
				subnets[i] = "subnet-x"
			}
			in.NetworkConfiguration = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: subnets}}
		}), "InvalidParameterException", ""},
		{"too many security groups", fargate(func(in *sdk.RunTaskInput) {
			in.NetworkConfiguration = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
				Subnets: []string{"subnet-a"}, SecurityGroups: []string{"a", "b", "c", "d", "e", "f"}}}
		}), "InvalidParameterException", ""},
		{"override for unknown container", fargate(func(in *sdk.RunTaskInput) {
			in.Overrides = &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: aws.String("django"), Command: []string{"x"}}}}
		}), "InvalidParameterException", "Override for container named django is not a container in the TaskDefinition."},
		{"Fargate size override", fargate(func(in *sdk.RunTaskInput) {
			in.Overrides = &types.TaskOverride{Cpu: aws.String("256"), Memory: aws.String("4096")}
		}), "ClientException", "No Fargate configuration exists for given values: 256 CPU, 4096 memory. See the Amazon ECS documentation for the valid values."},
		{"startedBy too long", fargate(func(in *sdk.RunTaskInput) { in.StartedBy = aws.String(strings.Repeat("x", 37)) }),
			"InvalidParameterException", "startedBy longer than 36."},
		{"placement constraints on Fargate", fargate(func(in *sdk.RunTaskInput) {
			in.PlacementConstraints = []types.PlacementConstraint{{Type: types.PlacementConstraintTypeDistinctInstance}}
		}), "InvalidParameterException", "Placement constraints are not supported with FARGATE launch type."},
		{"provider not associated", fargate(func(in *sdk.RunTaskInput) {
			in.Cluster, in.LaunchType = aws.String("empty"), ""
			in.CapacityProviderStrategy = []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 1}}
		}), "InvalidParameterException", "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again."},
		{"EC2 without container instances", fargate(func(in *sdk.RunTaskInput) {
			in.Cluster, in.TaskDefinition, in.LaunchType, in.NetworkConfiguration = aws.String("empty"), aws.String("worker"), "", nil
		}), "InvalidParameterException", "No Container Instances were found in your cluster."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.RunTask(e.ctx, tt.in)
			wantTaskErr(t, err, tt.code, tt.msg)
		})
	}
}

func TestRunTaskEC2Placement(t *testing.T) {
	e := newAPITestEnv(t)
	if _, err := e.client.CreateCluster(e.ctx, &sdk.CreateClusterInput{ClusterName: aws.String("ec2")}); err != nil {
		t.Fatal(err)
	}
	e.registerBridge("worker", 400, 0)
	e.registerBridge("web", 64, 8080)
	e.ec2Node(1024)
	instanceARN := "arn:aws:ecs:us-east-1:123456789012:container-instance/ec2/" + ec2NodeID

	// Two of three fit in 1024 MiB; the third is a RESOURCE:MEMORY failure.
	out, err := e.client.RunTask(e.ctx, &sdk.RunTaskInput{Cluster: aws.String("ec2"), TaskDefinition: aws.String("worker"), Count: aws.Int32(3)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Tasks) != 2 || len(out.Failures) != 1 ||
		aws.ToString(out.Failures[0].Arn) != instanceARN || aws.ToString(out.Failures[0].Reason) != "RESOURCE:MEMORY" {
		t.Fatalf("tasks %d failures %+v", len(out.Tasks), out.Failures)
	}
	task := out.Tasks[0]
	if task.LaunchType != types.LaunchTypeEc2 || aws.ToString(task.ContainerInstanceArn) != instanceARN ||
		task.PlatformVersion != nil || task.EphemeralStorage != nil || len(task.Attachments) != 0 ||
		aws.ToString(task.Containers[0].Cpu) != "128" || aws.ToString(task.Containers[0].Memory) != "400" {
		t.Fatalf("task %+v", task)
	}

	// A host port is taken by the first web task.
	out, err = e.client.RunTask(e.ctx, &sdk.RunTaskInput{Cluster: aws.String("ec2"), TaskDefinition: aws.String("web"), Count: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Tasks) != 1 || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "RESOURCE:PORTS" {
		t.Fatalf("tasks %d failures %+v", len(out.Tasks), out.Failures)
	}

	// Stopped tasks free their reservation once their agent reports them
	// STOPPED.
	for _, arn := range []string{aws.ToString(out.Tasks[0].TaskArn)} {
		_, id, _ := e.arns.TaskID(arn)
		e.observe("ec2", id, func(s *ecsstate.TaskStatus) { s.LastStatus = ecsstate.StatusStopped })
	}
	out, err = e.client.RunTask(e.ctx, &sdk.RunTaskInput{Cluster: aws.String("ec2"), TaskDefinition: aws.String("web")})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("after stop: %+v %v", out, err)
	}
}

// observe stands in for the agent hub writing an agent's report.
func (e *apiTestEnv) observe(cluster, id string, change func(*ecsstate.TaskStatus)) {
	e.t.Helper()
	_, err := store.Update(e.ctx, e.store, ecsstate.TaskKey(apiTestRegion, cluster, id), func(t *ecsstate.Task, found bool) error {
		if !found {
			return errors.New("no such task")
		}
		change(&t.Observed)
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

func TestStartTask(t *testing.T) {
	e := newAPITestEnv(t)
	if _, err := e.client.CreateCluster(e.ctx, &sdk.CreateClusterInput{ClusterName: aws.String("ec2")}); err != nil {
		t.Fatal(err)
	}
	e.registerBridge("worker", 600, 0)
	e.ec2Node(1024)
	instanceARN := "arn:aws:ecs:us-east-1:123456789012:container-instance/ec2/" + ec2NodeID
	out, err := e.client.StartTask(e.ctx, &sdk.StartTaskInput{
		Cluster:            aws.String("ec2"),
		TaskDefinition:     aws.String("worker:1"),
		ContainerInstances: []string{ec2NodeID, instanceARN, "00000000000000000000000000000000"},
		StartedBy:          aws.String("manual"),
	})
	if err != nil {
		t.Fatal(err)
	}
	// One task fits; the same instance named again has no memory left; the
	// unknown one is MISSING.
	if len(out.Tasks) != 1 || aws.ToString(out.Tasks[0].ContainerInstanceArn) != instanceARN ||
		aws.ToString(out.Tasks[0].StartedBy) != "manual" || out.Tasks[0].LaunchType != types.LaunchTypeEc2 {
		t.Fatalf("tasks %+v", out.Tasks)
	}
	reasons := map[string]string{}
	for _, f := range out.Failures {
		reasons[aws.ToString(f.Arn)] = aws.ToString(f.Reason)
	}
	if len(out.Failures) != 2 || reasons[instanceARN] != "RESOURCE:MEMORY" ||
		reasons["arn:aws:ecs:us-east-1:123456789012:container-instance/ec2/00000000000000000000000000000000"] != "MISSING" {
		t.Fatalf("failures %+v", out.Failures)
	}
}

// runOne runs one task and returns its id.
func (e *apiTestEnv) runOne(in *sdk.RunTaskInput) string {
	e.t.Helper()
	out, err := e.client.RunTask(e.ctx, in)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(out.Tasks) != 1 {
		e.t.Fatalf("run: %+v", out.Failures)
	}
	_, id, _ := e.arns.TaskID(aws.ToString(out.Tasks[0].TaskArn))
	return id
}

func TestStopTask(t *testing.T) {
	e := newAPITestEnv(t)
	e.articleCluster()
	e.registerAPIService()
	e.fargateNode(true)
	run := &sdk.RunTaskInput{Cluster: aws.String("prod-cluster"), TaskDefinition: aws.String("api-service"), NetworkConfiguration: awsvpcNetwork}
	id := e.runOne(run)
	arn := "arn:aws:ecs:us-east-1:123456789012:task/prod-cluster/" + id

	// aws ecs stop-task --cluster prod-cluster --task <arn> --reason "Manual stop for debugging"
	out, err := e.client.StopTask(e.ctx, &sdk.StopTaskInput{Cluster: aws.String("prod-cluster"), Task: aws.String(arn), Reason: aws.String("Manual stop for debugging")})
	if err != nil {
		t.Fatal(err)
	}
	task := out.Task
	if aws.ToString(task.DesiredStatus) != "STOPPED" || aws.ToString(task.LastStatus) != "PROVISIONING" ||
		task.StopCode != types.TaskStopCodeUserInitiated || aws.ToString(task.StoppedReason) != "Manual stop for debugging" ||
		task.StoppingAt == nil || task.Version != 2 {
		t.Fatalf("stopped task %+v", task)
	}
	// Stopping again changes nothing, not even the reason.
	out, err = e.client.StopTask(e.ctx, &sdk.StopTaskInput{Cluster: aws.String("prod-cluster"), Task: aws.String(id), Reason: aws.String("again")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Task.StoppedReason) != "Manual stop for debugging" || out.Task.Version != 2 {
		t.Fatalf("second stop %+v", out.Task)
	}
	rec, _ := store.Get[ecsstate.Task](e.ctx, e.store, ecsstate.TaskKey(apiTestRegion, "prod-cluster", id))
	if rec.Value.Generation != 2 {
		t.Fatalf("generation %d", rec.Value.Generation)
	}

	// Without a reason; the ARN names the cluster when the call does not.
	id2 := e.runOne(run)
	out, err = e.client.StopTask(e.ctx, &sdk.StopTaskInput{Task: aws.String("arn:aws:ecs:us-east-1:123456789012:task/prod-cluster/" + id2)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Task.StoppedReason) != "Task stopped by user" {
		t.Fatalf("default reason %+v", out.Task)
	}

	_, err = e.client.StopTask(e.ctx, &sdk.StopTaskInput{Cluster: aws.String("prod-cluster"), Task: aws.String(strings.Repeat("a", 32))})
	wantTaskErr(t, err, "InvalidParameterException", "The referenced task was not found.")
	_, err = e.client.StopTask(e.ctx, &sdk.StopTaskInput{Cluster: aws.String("default"), Task: aws.String(arn)})
	wantTaskErr(t, err, "ClusterNotFoundException", "Cluster not found.")
	_, err = e.client.StopTask(e.ctx, &sdk.StopTaskInput{Cluster: aws.String("prod-cluster"), Task: aws.String(id), Reason: aws.String(strings.Repeat("r", 256))})
	wantTaskErr(t, err, "InvalidParameterException", "")
}

func TestDescribeTasks(t *testing.T) {
	e := newAPITestEnv(t)
	e.articleCluster()
	e.registerAPIService()
	e.fargateNode(true)
	run := &sdk.RunTaskInput{Cluster: aws.String("prod-cluster"), TaskDefinition: aws.String("api-service"),
		NetworkConfiguration: awsvpcNetwork, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}
	first, second := e.runOne(run), e.runOne(run)
	missing := strings.Repeat("b", 32)

	// The agent reports the first task running with its interface.
	exit := int32(0)
	started := time.Date(2026, 3, 1, 10, 0, 5, 0, time.UTC)
	e.observe("prod-cluster", first, func(s *ecsstate.TaskStatus) {
		s.LastStatus = ecsstate.StatusRunning
		s.StartedAt = started
		s.HealthStatus = "HEALTHY"
		s.Network = &ecsstate.NetworkStatus{AttachmentID: "att-1", PrivateIPv4: "169.254.172.5", MACAddress: "02:42:a9:fe:ac:05", SubnetID: "subnet-private-1a"}
		s.Containers = []ecsstate.ContainerStatus{{Name: "api", RuntimeID: "c0ffee", LastStatus: "RUNNING", ExitCode: nil, ImageDigest: "sha256:abc"}}
	})

	out, err := e.client.DescribeTasks(e.ctx, &sdk.DescribeTasksInput{
		Cluster: aws.String("prod-cluster"),
		Tasks:   []string{second, missing, "arn:aws:ecs:us-east-1:123456789012:task/prod-cluster/" + first},
		Include: []types.TaskField{types.TaskFieldTags},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Tasks) != 2 || !strings.HasSuffix(aws.ToString(out.Tasks[0].TaskArn), second) || !strings.HasSuffix(aws.ToString(out.Tasks[1].TaskArn), first) {
		t.Fatalf("order: %+v", out.Tasks)
	}
	if len(out.Failures) != 1 || aws.ToString(out.Failures[0].Arn) != "arn:aws:ecs:us-east-1:123456789012:task/prod-cluster/"+missing ||
		aws.ToString(out.Failures[0].Reason) != "MISSING" {
		t.Fatalf("failures %+v", out.Failures)
	}
	running := out.Tasks[1]
	if aws.ToString(running.LastStatus) != "RUNNING" || running.StartedAt == nil || !running.StartedAt.Equal(started) ||
		running.HealthStatus != types.HealthStatusHealthy || len(running.Tags) != 1 || running.Version != 3 {
		t.Fatalf("running %+v", running)
	}
	att := running.Attachments[0]
	details := map[string]string{}
	for _, d := range att.Details {
		details[aws.ToString(d.Name)] = aws.ToString(d.Value)
	}
	if aws.ToString(att.Id) != "att-1" || aws.ToString(att.Status) != "ATTACHED" ||
		details["privateIPv4Address"] != "169.254.172.5" || details["macAddress"] != "02:42:a9:fe:ac:05" || details["subnetId"] != "subnet-private-1a" {
		t.Fatalf("attachment %+v", att)
	}
	c := running.Containers[0]
	if aws.ToString(c.RuntimeId) != "c0ffee" || aws.ToString(c.LastStatus) != "RUNNING" || aws.ToString(c.ImageDigest) != "sha256:abc" ||
		len(c.NetworkInterfaces) != 1 || aws.ToString(c.NetworkInterfaces[0].PrivateIpv4Address) != "169.254.172.5" ||
		aws.ToString(c.NetworkInterfaces[0].AttachmentId) != "att-1" {
		t.Fatalf("container %+v", c)
	}

	// Without include=TAGS the tags are there but empty, as ECS answers;
	// a task ARN of another cluster is MISSING.
	out, err = e.client.DescribeTasks(e.ctx, &sdk.DescribeTasksInput{
		Cluster: aws.String("prod-cluster"),
		Tasks:   []string{first, "arn:aws:ecs:us-east-1:123456789012:task/other/" + first},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Tasks) != 1 || out.Tasks[0].Tags == nil || len(out.Tasks[0].Tags) != 0 || len(out.Failures) != 1 {
		t.Fatalf("%+v", out)
	}

	// Stopped: the attachment is DELETED, and its type "eni", as ECS
	// reports a stopped task's.
	e.observe("prod-cluster", first, func(s *ecsstate.TaskStatus) {
		s.LastStatus = ecsstate.StatusStopped
		s.Containers[0].ExitCode = &exit
		s.Containers[0].LastStatus = "STOPPED"
	})
	out, err = e.client.DescribeTasks(e.ctx, &sdk.DescribeTasksInput{Cluster: aws.String("prod-cluster"), Tasks: []string{first}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Tasks[0].Attachments[0].Status) != "DELETED" || aws.ToString(out.Tasks[0].Attachments[0].Type) != "eni" || aws.ToInt32(out.Tasks[0].Containers[0].ExitCode) != 0 ||
		out.Tasks[0].Containers[0].ExitCode == nil {
		t.Fatalf("stopped %+v", out.Tasks[0])
	}

	_, err = e.client.DescribeTasks(e.ctx, &sdk.DescribeTasksInput{Cluster: aws.String("prod-cluster"), Tasks: []string{strings.Repeat("c", 37)}})
	wantTaskErr(t, err, "InvalidParameterException", "taskId longer than 36.")
	_, err = e.client.DescribeTasks(e.ctx, &sdk.DescribeTasksInput{Cluster: aws.String("nope"), Tasks: []string{first}})
	wantTaskErr(t, err, "ClusterNotFoundException", "")
}

func TestListTasks(t *testing.T) {
	e := newAPITestEnv(t)
	e.articleCluster()
	e.registerAPIService()
	e.registerBridge("worker", 64, 0)
	e.fargateNode(true)
	e.ec2Node(8192)
	fargate := &sdk.RunTaskInput{Cluster: aws.String("prod-cluster"), TaskDefinition: aws.String("api-service"),
		NetworkConfiguration: awsvpcNetwork, Count: aws.Int32(5), StartedBy: aws.String("job-a")}
	out, err := e.client.RunTask(e.ctx, fargate)
	if err != nil || len(out.Tasks) != 5 {
		t.Fatalf("%+v %v", out, err)
	}
	all := map[string]bool{}
	for _, task := range out.Tasks {
		all[aws.ToString(task.TaskArn)] = true
	}
	workerID := e.runOne(&sdk.RunTaskInput{Cluster: aws.String("prod-cluster"), TaskDefinition: aws.String("worker"),
		LaunchType: types.LaunchTypeEc2, StartedBy: aws.String("job-b")})
	workerARN := "arn:aws:ecs:us-east-1:123456789012:task/prod-cluster/" + workerID
	all[workerARN] = true
	stoppedID := e.runOne(&sdk.RunTaskInput{Cluster: aws.String("prod-cluster"), TaskDefinition: aws.String("worker"), LaunchType: types.LaunchTypeEc2})
	if _, err := e.client.StopTask(e.ctx, &sdk.StopTaskInput{Cluster: aws.String("prod-cluster"), Task: aws.String(stoppedID)}); err != nil {
		t.Fatal(err)
	}

	list := func(in *sdk.ListTasksInput) []string {
		t.Helper()
		in.Cluster = aws.String("prod-cluster")
		out, err := e.client.ListTasks(e.ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return out.TaskArns
	}
	if got := list(&sdk.ListTasksInput{}); len(got) != 6 {
		t.Fatalf("running: %v", got)
	}
	if got := list(&sdk.ListTasksInput{DesiredStatus: types.DesiredStatusStopped}); len(got) != 1 || !strings.HasSuffix(got[0], stoppedID) {
		t.Fatalf("stopped: %v", got)
	}
	if got := list(&sdk.ListTasksInput{DesiredStatus: types.DesiredStatusPending}); len(got) != 0 {
		t.Fatalf("pending: %v", got)
	}
	if got := list(&sdk.ListTasksInput{Family: aws.String("worker")}); len(got) != 1 || got[0] != workerARN {
		t.Fatalf("family: %v", got)
	}
	if got := list(&sdk.ListTasksInput{StartedBy: aws.String("job-a")}); len(got) != 5 {
		t.Fatalf("startedBy: %v", got)
	}
	if got := list(&sdk.ListTasksInput{LaunchType: types.LaunchTypeEc2}); len(got) != 1 || got[0] != workerARN {
		t.Fatalf("launchType: %v", got)
	}
	if got := list(&sdk.ListTasksInput{ContainerInstance: aws.String("arn:aws:ecs:us-east-1:123456789012:container-instance/prod-cluster/" + ec2NodeID)}); len(got) != 1 || got[0] != workerARN {
		t.Fatalf("containerInstance: %v", got)
	}
	if got := list(&sdk.ListTasksInput{ServiceName: aws.String("api-service")}); len(got) != 0 {
		t.Fatalf("serviceName: %v", got)
	}

	// Pagination, with the SDK's paginator.
	seen := map[string]bool{}
	pages := 0
	p := sdk.NewListTasksPaginator(e.client, &sdk.ListTasksInput{Cluster: aws.String("prod-cluster"), MaxResults: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(page.TaskArns) > 2 {
			t.Fatalf("page of %d", len(page.TaskArns))
		}
		for _, arn := range page.TaskArns {
			if seen[arn] {
				t.Fatalf("%s twice", arn)
			}
			seen[arn] = true
		}
	}
	if pages != 3 || len(seen) != len(all) {
		t.Fatalf("pages %d, %d of %d tasks", pages, len(seen), len(all))
	}
	for arn := range all {
		if !seen[arn] {
			t.Fatalf("%s not listed", arn)
		}
	}

	_, err = e.client.ListTasks(e.ctx, &sdk.ListTasksInput{Cluster: aws.String("prod-cluster"), NextToken: aws.String("garbage")})
	wantTaskErr(t, err, "InvalidParameterException", "")
	_, err = e.client.ListTasks(e.ctx, &sdk.ListTasksInput{Cluster: aws.String("prod-cluster"), MaxResults: aws.Int32(101)})
	wantTaskErr(t, err, "InvalidParameterException", "")
	_, err = e.client.ListTasks(e.ctx, &sdk.ListTasksInput{Cluster: aws.String("nope")})
	wantTaskErr(t, err, "ClusterNotFoundException", "")
}

// TestRunTaskPlacementConstraints: memberOf matches the cluster query
// language against node attributes; distinctInstance keeps a RunTask's
// tasks on separate instances.
func TestRunTaskPlacementConstraints(t *testing.T) {
	e := newAPITestEnv(t)
	if _, err := e.client.CreateCluster(e.ctx, &sdk.CreateClusterInput{ClusterName: aws.String("ec2")}); err != nil {
		t.Fatal(err)
	}
	e.registerBridge("worker", 64, 0)
	for id, instanceType := range map[string]string{ec2NodeID: "t2.micro", fargateNodeID: "m5.large"} {
		e.putNodeActive(ecsstate.Node{ID: id, Clusters: []string{ecsstate.AllClusters}, LaunchTypes: []string{"EC2"},
			CPU: 4096, MemoryMiB: 4096, Connected: true,
			Attributes: []ecstypes.Attribute{{Name: aws.String("ecs.instance-type"), Value: aws.String(instanceType)}}})
	}
	run := func(group string, count int32, constraints ...types.PlacementConstraint) *sdk.RunTaskOutput {
		t.Helper()
		out, err := e.client.RunTask(e.ctx, &sdk.RunTaskInput{Cluster: aws.String("ec2"), TaskDefinition: aws.String("worker"),
			Group: aws.String(group), Count: aws.Int32(count), PlacementConstraints: constraints})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	memberOf := types.PlacementConstraint{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:ecs.instance-type =~ t2.*")}
	out := run("members", 3, memberOf)
	for _, task := range out.Tasks {
		if !strings.HasSuffix(aws.ToString(task.ContainerInstanceArn), ec2NodeID) {
			t.Errorf("memberOf t2.*: task on %s", aws.ToString(task.ContainerInstanceArn))
		}
	}
	if len(out.Tasks) != 3 {
		t.Errorf("memberOf: %d tasks, failures %+v", len(out.Tasks), out.Failures)
	}

	// A new group: distinctInstance counts the group's tasks already placed.
	out = run("distinct", 3, types.PlacementConstraint{Type: types.PlacementConstraintTypeDistinctInstance})
	if len(out.Tasks) != 2 || len(out.Failures) == 0 || aws.ToString(out.Tasks[0].ContainerInstanceArn) == aws.ToString(out.Tasks[1].ContainerInstanceArn) {
		t.Errorf("distinctInstance over two instances: %d tasks, failures %+v", len(out.Tasks), out.Failures)
	}
	if out := run("distinct", 1, types.PlacementConstraint{Type: types.PlacementConstraintTypeDistinctInstance}); len(out.Tasks) != 0 {
		t.Errorf("distinctInstance with both instances taken by the group placed a task")
	}

	_, err := e.client.RunTask(e.ctx, &sdk.RunTaskInput{Cluster: aws.String("ec2"), TaskDefinition: aws.String("worker"),
		PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:x ==")}}})
	if err == nil || !strings.Contains(err.Error(), "InvalidParameterException") {
		t.Errorf("a bad query: %v", err)
	}
}

// TestRunTaskChecksSubnetsAndGroups checks that RunTask and CreateService
// refuse subnets and security groups EC2 does not have, or of two VPCs,
// and create nothing.
func TestRunTaskChecksSubnetsAndGroups(t *testing.T) {
	e := newAPITestEnv(t)
	e.articleCluster()
	e.registerAPIService()
	e.fargateNode(true)
	other := ec2state.Subnet{Region: apiTestRegion, ID: "subnet-elsewhere", VPCID: "vpc-other", CIDR: "10.9.1.0/24"}
	op, err := store.PutJSON(ec2state.SubnetKey(apiTestRegion, other.ID), other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Txn(e.ctx, store.Txn{Then: []store.Op{op}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		subnets, groups []string
		msg             string
	}{
		{[]string{"subnet-private-1a", "subnet-0123456789abcdef0"}, nil,
			"Error retrieving subnet information for [subnet-0123456789abcdef0]: The subnet ID 'subnet-0123456789abcdef0' does not exist (ErrorCode: InvalidSubnetID.NotFound)"},
		{[]string{"subnet-private-1a"}, []string{"sg-api", "sg-0123456789abcdef0"},
			"Error retrieving security group information for [sg-0123456789abcdef0]: The security group 'sg-0123456789abcdef0' does not exist (ErrorCode: InvalidGroup.NotFound)"},
		{[]string{"subnet-private-1a", "subnet-elsewhere"}, nil,
			"The subnet subnet-elsewhere is in VPC vpc-other, not in VPC vpc-test of subnet subnet-private-1a: a task's subnets and security groups must all belong to one VPC."},
	} {
		network := &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: tc.subnets, SecurityGroups: tc.groups}}
		_, err := e.client.RunTask(e.ctx, &sdk.RunTaskInput{Cluster: aws.String("prod-cluster"), TaskDefinition: aws.String("api-service"), NetworkConfiguration: network})
		wantTaskErr(t, err, "InvalidParameterException", tc.msg)
		_, err = e.client.CreateService(e.ctx, &sdk.CreateServiceInput{Cluster: aws.String("prod-cluster"), ServiceName: aws.String("api"),
			TaskDefinition: aws.String("api-service"), DesiredCount: aws.Int32(1), NetworkConfiguration: network})
		wantTaskErr(t, err, "InvalidParameterException", tc.msg)
	}
	tasks, err := e.client.ListTasks(e.ctx, &sdk.ListTasksInput{Cluster: aws.String("prod-cluster")})
	if err != nil || len(tasks.TaskArns) != 0 {
		t.Errorf("tasks after refusals: %v, %v", tasks, err)
	}
	services, err := e.client.ListServices(e.ctx, &sdk.ListServicesInput{Cluster: aws.String("prod-cluster")})
	if err != nil || len(services.ServiceArns) != 0 {
		t.Errorf("services after refusals: %v, %v", services, err)
	}
}
