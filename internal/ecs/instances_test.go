package ecs

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
)

func TestTaskReservation(t *testing.T) {
	container := func(name string, cpu, memory, reservation int32, ports ...ecstypes.PortMapping) ecstypes.ContainerDefinition {
		c := ecstypes.ContainerDefinition{Name: awsapi.String(name), Cpu: awsapi.Int32(cpu), PortMappings: ports}
		if memory > 0 {
			c.Memory = awsapi.Int32(memory)
		}
		if reservation > 0 {
			c.MemoryReservation = awsapi.Int32(reservation)
		}
		return c
	}
	port := func(containerPort, hostPort int32, protocol string) ecstypes.PortMapping {
		pm := ecstypes.PortMapping{ContainerPort: awsapi.Int32(containerPort), HostPort: awsapi.Int32(hostPort)}
		if protocol != "" {
			pm.Protocol = awsapi.String(protocol)
		}
		return pm
	}
	spec := func(mode string, containers ...ecstypes.ContainerDefinition) ecsstate.TaskSpec {
		return ecsstate.TaskSpec{Definition: ecstypes.TaskDefinition{NetworkMode: awsapi.String(mode), ContainerDefinitions: containers}}
	}
	cases := []struct {
		name string
		spec ecsstate.TaskSpec
		want reservation
	}{
		{"containers sum, reservation over memory", spec("bridge", container("a", 128, 512, 256), container("b", 64, 300, 0)),
			reservation{CPU: 192, MemoryMiB: 556}},
		{"task level wins", func() ecsstate.TaskSpec {
			s := spec("awsvpc", container("a", 128, 512, 0))
			s.Cpu, s.Memory = "1024", "2048"
			return s
		}(), reservation{CPU: 1024, MemoryMiB: 2048}},
		{"task memory only", func() ecsstate.TaskSpec {
			s := spec("bridge", container("a", 300, 0, 0))
			s.Memory = "1GB"
			return s
		}(), reservation{CPU: 300, MemoryMiB: 1024}},
		{"container overrides", func() ecsstate.TaskSpec {
			s := spec("bridge", container("a", 128, 512, 0), container("b", 10, 10, 0))
			s.Overrides = &ecstypes.TaskOverride{ContainerOverrides: []ecstypes.ContainerOverride{
				{Name: awsapi.String("a"), Cpu: awsapi.Int32(256), MemoryReservation: awsapi.Int32(100)}}}
			return s
		}(), reservation{CPU: 266, MemoryMiB: 110}},
		{"bridge host ports", spec("bridge", container("a", 0, 64, 0, port(80, 8080, ""), port(81, 0, ""), port(53, 5353, "udp"))),
			reservation{MemoryMiB: 64, TCPPorts: []int32{8080}, UDPPorts: []int32{5353}}},
		{"host mode binds container ports", spec("host", container("a", 0, 64, 0, ecstypes.PortMapping{ContainerPort: awsapi.Int32(9000)})),
			reservation{MemoryMiB: 64, TCPPorts: []int32{9000}}},
		{"awsvpc binds no host ports", spec("awsvpc", container("a", 0, 64, 0, port(80, 80, "tcp"))),
			reservation{MemoryMiB: 64}},
	}
	for _, tc := range cases {
		got := taskReservation(tc.spec)
		if got.CPU != tc.want.CPU || got.MemoryMiB != tc.want.MemoryMiB || !slices.Equal(got.TCPPorts, tc.want.TCPPorts) || !slices.Equal(got.UDPPorts, tc.want.UDPPorts) {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestClusterQuery(t *testing.T) {
	subjects := map[string]string{
		"attribute:ecs.instance-type":     "t2.micro",
		"attribute:ecs.availability-zone": "us-east-1a",
		"attribute:stack":                 "prod",
		"attribute:gpu":                   "",
		"agentConnected":                  "true",
		"runningTasksCount":               "3",
	}
	cases := []struct {
		expr string
		want bool
	}{
		{"attribute:stack == prod", true},
		{"attribute:stack equals test", false},
		{"attribute:stack != test", true},
		{"attribute:gpu exists", true},
		{"attribute:missing exists", false},
		{"attribute:missing !exists", true},
		{"attribute:missing not_exists", true},
		{"attribute:ecs.instance-type =~ t2.*", true},
		{"attribute:ecs.instance-type =~ m5.*", false},
		{"attribute:ecs.availability-zone matches us-east-1[ab]", true},
		{"attribute:ecs.instance-type in [t2.micro, t2.small]", true},
		{"attribute:ecs.instance-type not_in [t2.micro, t2.small]", false},
		{"attribute:ecs.instance-type !in (m5.large)", true},
		{"runningTasksCount > 2", true},
		{"runningTasksCount >= 10", false},
		{"runningTasksCount < 10", true},
		{"agentConnected == true and attribute:stack == prod", true},
		{"attribute:stack == test or attribute:stack == prod", true},
		{"attribute:stack == test || (attribute:gpu exists && not attribute:stack == test)", true},
		{"!(attribute:stack == prod)", false},
	}
	for _, tc := range cases {
		q, err := parseClusterQuery(tc.expr)
		if err != nil {
			t.Errorf("%q: %v", tc.expr, err)
			continue
		}
		if got := q.matches(subjects); got != tc.want {
			t.Errorf("%q: %v, want %v", tc.expr, got, tc.want)
		}
	}
	for _, bad := range []string{"", "stack == prod", "attribute:stack", "attribute:stack ==", "attribute:stack in [a, b", "attribute:stack == prod and",
		"task:group == web", "(attribute:stack == prod", "attribute: == x", "attribute:stack = prod"} {
		if _, err := parseClusterQuery(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

func TestContainerInstances(t *testing.T) {
	e := newAPITestEnv(t)
	ctx := e.ctx
	if _, err := e.client.CreateCluster(ctx, &sdk.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	registered := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	own := ecsstate.Node{ID: "0123456789abcdef0123456789abcdef", Clusters: []string{"*"}, LaunchTypes: []string{"FARGATE", "EC2"},
		CPU: 4096, MemoryMiB: 8192, AgentVersion: "1.2.0", Status: "ACTIVE", Connected: true, RegisteredAt: registered,
		Attributes: []ecstypes.Attribute{{Name: awsapi.String("berth.docker-version"), Value: awsapi.String("20.10.24")},
			{Name: awsapi.String("ecs.instance-type"), Value: awsapi.String("t2.micro")}}}
	remote := ecsstate.Node{ID: "fedcba9876543210fedcba9876543210", Clusters: []string{"prod"}, LaunchTypes: []string{"EC2"},
		CPU: 2048, MemoryMiB: 4096, Status: "DRAINING", RegisteredAt: registered,
		Attributes: []ecstypes.Attribute{{Name: awsapi.String("ecs.instance-type"), Value: awsapi.String("m5.large")}}}
	fargateOnly := ecsstate.Node{ID: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Clusters: []string{"*"}, LaunchTypes: []string{"FARGATE"}, Status: "ACTIVE"}
	elsewhere := ecsstate.Node{ID: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", Clusters: []string{"other"}, LaunchTypes: []string{"EC2"}, Status: "ACTIVE"}
	for _, n := range []ecsstate.Node{own, remote, fargateOnly, elsewhere} {
		e.putNode(n)
	}
	// Two live tasks on the server's node (one from another cluster) and a
	// stopped one, which holds nothing.
	bridge := ecstypes.TaskDefinition{NetworkMode: awsapi.String("bridge"), ContainerDefinitions: []ecstypes.ContainerDefinition{{
		Name: awsapi.String("web"), Cpu: awsapi.Int32(256), Memory: awsapi.Int32(512),
		PortMappings: []ecstypes.PortMapping{{ContainerPort: awsapi.Int32(80), HostPort: awsapi.Int32(8080), Protocol: awsapi.String("tcp")}}}}}
	e.putTask(ecsstate.Task{Region: apiTestRegion, ID: fmt.Sprintf("%032d", 1), Cluster: "prod", NodeID: own.ID, Spec: ecsstate.TaskSpec{Definition: bridge, LaunchType: "EC2"},
		Observed: ecsstate.TaskStatus{LastStatus: "RUNNING"}})
	e.putTask(ecsstate.Task{Region: apiTestRegion, ID: fmt.Sprintf("%032d", 2), Cluster: "other", NodeID: own.ID,
		Spec: ecsstate.TaskSpec{Definition: ecstypes.TaskDefinition{NetworkMode: awsapi.String("awsvpc")}, Cpu: "1024", Memory: "2048", LaunchType: "FARGATE"}})
	e.putTask(ecsstate.Task{Region: apiTestRegion, ID: fmt.Sprintf("%032d", 3), Cluster: "prod", NodeID: own.ID, Spec: ecsstate.TaskSpec{Definition: bridge},
		Observed: ecsstate.TaskStatus{LastStatus: "STOPPED"}})

	ownARN := "arn:aws:ecs:us-east-1:123456789012:container-instance/prod/" + own.ID
	remoteARN := "arn:aws:ecs:us-east-1:123456789012:container-instance/prod/" + remote.ID
	list := func(in sdk.ListContainerInstancesInput) []string {
		t.Helper()
		in.Cluster = aws.String("prod")
		var out []string
		for {
			page, err := e.client.ListContainerInstances(ctx, &in)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, page.ContainerInstanceArns...)
			if in.NextToken = page.NextToken; in.NextToken == nil {
				return out
			}
		}
	}
	if got := list(sdk.ListContainerInstancesInput{MaxResults: aws.Int32(1)}); !slices.Equal(got, []string{ownARN, remoteARN}) {
		t.Fatalf("list: %v", got)
	}
	if got := list(sdk.ListContainerInstancesInput{Status: types.ContainerInstanceStatusDraining}); !slices.Equal(got, []string{remoteARN}) {
		t.Fatalf("list DRAINING: %v", got)
	}
	if got := list(sdk.ListContainerInstancesInput{Filter: aws.String("attribute:ecs.instance-type == t2.micro")}); !slices.Equal(got, []string{ownARN}) {
		t.Fatalf("list filter ==: %v", got)
	}
	if got := list(sdk.ListContainerInstancesInput{Filter: aws.String("attribute:ecs.os-type exists and runningTasksCount > 0")}); !slices.Equal(got, []string{ownARN}) {
		t.Fatalf("list filter exists: %v", got)
	}
	_, err := e.client.ListContainerInstances(ctx, &sdk.ListContainerInstancesInput{Cluster: aws.String("prod"), Filter: aws.String("task:group == web")})
	wantAPIErr(t, err, "InvalidParameterException", "The specified query expression is not valid: task:group == web")
	_, err = e.client.ListContainerInstances(ctx, &sdk.ListContainerInstancesInput{Cluster: aws.String("nope")})
	wantAPIErr(t, err, "ClusterNotFoundException", "Cluster not found.")
	_, err = e.client.DescribeContainerInstances(ctx, &sdk.DescribeContainerInstancesInput{Cluster: aws.String("prod"), ContainerInstances: []string{}})
	wantAPIErr(t, err, "InvalidParameterException", "Container instance cannot be empty.")

	desc, err := e.client.DescribeContainerInstances(ctx, &sdk.DescribeContainerInstancesInput{Cluster: aws.String("prod"),
		ContainerInstances: []string{own.ID, remoteARN, fargateOnly.ID, elsewhere.ID}, Include: []types.ContainerInstanceField{types.ContainerInstanceFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.ContainerInstances) != 2 || len(desc.Failures) != 2 {
		t.Fatalf("describe: %+v", desc)
	}
	for _, f := range desc.Failures {
		if aws.ToString(f.Reason) != "MISSING" {
			t.Fatalf("failure %+v", f)
		}
	}
	if aws.ToString(desc.Failures[0].Arn) != "arn:aws:ecs:us-east-1:123456789012:container-instance/prod/"+fargateOnly.ID {
		t.Fatalf("failure arn %s", aws.ToString(desc.Failures[0].Arn))
	}
	ci := desc.ContainerInstances[0]
	if aws.ToString(ci.ContainerInstanceArn) != ownARN || aws.ToString(ci.Ec2InstanceId) != "i-0123456789abcdef0" || aws.ToString(ci.Status) != "ACTIVE" ||
		!ci.AgentConnected || ci.RunningTasksCount != 1 || ci.PendingTasksCount != 0 || !ci.RegisteredAt.Equal(registered) || ci.Tags == nil {
		t.Fatalf("instance: %+v", ci)
	}
	if v := ci.VersionInfo; aws.ToString(v.AgentVersion) != "1.2.0" || aws.ToString(v.AgentHash) != "berth" || aws.ToString(v.DockerVersion) != "DockerVersion: 20.10.24" {
		t.Fatalf("version %+v", v)
	}
	resources := func(rs []types.Resource) string {
		var out []string
		for _, r := range rs {
			if r.Type != nil && *r.Type == "STRINGSET" {
				out = append(out, fmt.Sprintf("%s=%v", aws.ToString(r.Name), r.StringSetValue))
			} else {
				out = append(out, fmt.Sprintf("%s=%d", aws.ToString(r.Name), r.IntegerValue))
			}
		}
		return fmt.Sprint(out)
	}
	if got := resources(ci.RegisteredResources); got != "[CPU=4096 MEMORY=8192 PORTS=[22 2375 2376 51678 51679] PORTS_UDP=[]]" {
		t.Fatalf("registered %s", got)
	}
	if got := resources(ci.RemainingResources); got != "[CPU=2816 MEMORY=5632 PORTS=[22 2375 2376 51678 51679 8080] PORTS_UDP=[]]" {
		t.Fatalf("remaining %s", got)
	}
	attrs := map[string]string{}
	for _, a := range ci.Attributes {
		attrs[aws.ToString(a.Name)] = aws.ToString(a.Value)
	}
	if attrs["ecs.os-type"] != "linux" || attrs["ecs.instance-type"] != "t2.micro" {
		t.Fatalf("attributes %v", attrs)
	}
	if _, ok := attrs["ecs.capability.task-eni"]; !ok {
		t.Fatalf("capabilities missing: %v", attrs)
	}
	if r := desc.ContainerInstances[1]; aws.ToString(r.Status) != "DRAINING" || r.AgentConnected || aws.ToString(r.Ec2InstanceId) != "i-fedcba9876543210f" {
		t.Fatalf("remote: %+v", r)
	}
}
