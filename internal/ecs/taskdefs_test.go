package ecs

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecstypes"
)

// The article's two task definitions, verbatim.
const articleAPIService = `{
    "family": "api-service",
    "networkMode": "awsvpc",
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "512",
    "memory": "1024",
    "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
    "taskRoleArn": "arn:aws:iam::123456789012:role/api-service-task-role",
    "containerDefinitions": [
        {
            "name": "api",
            "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/api-service:v1.2.3",
            "essential": true,
            "portMappings": [
                {
                    "containerPort": 8080,
                    "protocol": "tcp"
                }
            ],
            "environment": [
                {"name": "APP_ENV", "value": "production"},
                {"name": "LOG_LEVEL", "value": "info"}
            ],
            "secrets": [
                {
                    "name": "DB_PASSWORD",
                    "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-password"
                },
                {
                    "name": "API_KEY",
                    "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/api/key"
                }
            ],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": "/ecs/api-service",
                    "awslogs-region": "us-east-1",
                    "awslogs-stream-prefix": "api"
                }
            },
            "healthCheck": {
                "command": ["CMD-SHELL", "curl -f http://localhost:8080/health || exit 1"],
                "interval": 30,
                "timeout": 5,
                "retries": 3,
                "startPeriod": 60
            },
            "linuxParameters": {
                "initProcessEnabled": true
            }
        }
    ],
    "runtimePlatform": {
        "cpuArchitecture": "ARM64",
        "operatingSystemFamily": "LINUX"
    }
}`

const articleSidecar = `{
    "family": "api-with-sidecar",
    "networkMode": "awsvpc",
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "512",
    "memory": "1024",
    "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
    "taskRoleArn": "arn:aws:iam::123456789012:role/api-service-task-role",
    "containerDefinitions": [
        {
            "name": "api",
            "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/api:v1.0.0",
            "essential": true,
            "portMappings": [{"containerPort": 8080}],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": "/ecs/api-with-sidecar",
                    "awslogs-region": "us-east-1",
                    "awslogs-stream-prefix": "api"
                }
            }
        },
        {
            "name": "xray-daemon",
            "image": "public.ecr.aws/xray/aws-xray-daemon:3.x",
            "essential": false,
            "portMappings": [{"containerPort": 2000, "protocol": "udp"}],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": "/ecs/api-with-sidecar",
                    "awslogs-region": "us-east-1",
                    "awslogs-stream-prefix": "xray"
                }
            }
        },
        {
            "name": "cloudwatch-agent",
            "image": "public.ecr.aws/cloudwatch-agent/cloudwatch-agent:latest",
            "essential": false,
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": "/ecs/api-with-sidecar",
                    "awslogs-region": "us-east-1",
                    "awslogs-stream-prefix": "cwagent"
                }
            }
        }
    ]
}`

// The DescribeTaskDefinition output ECS gives for them (registeredAt
// aside), in the shape of real captured output: cpu 0, essential, empty
// lists, host ports and protocols filled in, requiresAttributes.
const wantAPIServiceDescribed = `{
  "taskDefinition": {
    "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/api-service:1",
    "containerDefinitions": [{
      "name": "api",
      "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/api-service:v1.2.3",
      "cpu": 0,
      "portMappings": [{"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}],
      "essential": true,
      "environment": [{"name": "APP_ENV", "value": "production"}, {"name": "LOG_LEVEL", "value": "info"}],
      "mountPoints": [],
      "volumesFrom": [],
      "secrets": [
        {"name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-password"},
        {"name": "API_KEY", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/api/key"}
      ],
      "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/api-service", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "api"}},
      "healthCheck": {"command": ["CMD-SHELL", "curl -f http://localhost:8080/health || exit 1"], "interval": 30, "timeout": 5, "retries": 3, "startPeriod": 60},
      "linuxParameters": {"initProcessEnabled": true}
    }],
    "family": "api-service",
    "taskRoleArn": "arn:aws:iam::123456789012:role/api-service-task-role",
    "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
    "networkMode": "awsvpc",
    "revision": 1,
    "volumes": [],
    "status": "ACTIVE",
    "requiresAttributes": [
      {"name": "com.amazonaws.ecs.capability.logging-driver.awslogs"},
      {"name": "ecs.capability.execution-role-awslogs"},
      {"name": "com.amazonaws.ecs.capability.ecr-auth"},
      {"name": "com.amazonaws.ecs.capability.docker-remote-api.1.19"},
      {"name": "com.amazonaws.ecs.capability.task-iam-role"},
      {"name": "ecs.capability.execution-role-ecr-pull"},
      {"name": "ecs.capability.secrets.asm.environment-variables"},
      {"name": "ecs.capability.secrets.ssm.environment-variables"},
      {"name": "com.amazonaws.ecs.capability.docker-remote-api.1.18"},
      {"name": "ecs.capability.task-eni"},
      {"name": "ecs.capability.container-health-check"},
      {"name": "com.amazonaws.ecs.capability.docker-remote-api.1.25"}
    ],
    "placementConstraints": [],
    "compatibilities": ["EC2", "FARGATE"],
    "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "512",
    "memory": "1024",
    "registeredBy": "arn:aws:iam::123456789012:root"
  },
  "tags": []
}`

// Without include=TAGS the tags are still answered, empty, as ECS does.
const wantSidecarDescribed = `{
  "taskDefinition": {
    "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/api-with-sidecar:1",
    "containerDefinitions": [
      {
        "name": "api",
        "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/api:v1.0.0",
        "cpu": 0,
        "portMappings": [{"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}],
        "essential": true,
        "environment": [], "mountPoints": [], "volumesFrom": [],
        "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/api-with-sidecar", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "api"}}
      },
      {
        "name": "xray-daemon",
        "image": "public.ecr.aws/xray/aws-xray-daemon:3.x",
        "cpu": 0,
        "portMappings": [{"containerPort": 2000, "hostPort": 2000, "protocol": "udp"}],
        "essential": false,
        "environment": [], "mountPoints": [], "volumesFrom": [],
        "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/api-with-sidecar", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "xray"}}
      },
      {
        "name": "cloudwatch-agent",
        "image": "public.ecr.aws/cloudwatch-agent/cloudwatch-agent:latest",
        "cpu": 0,
        "portMappings": [],
        "essential": false,
        "environment": [], "mountPoints": [], "volumesFrom": [],
        "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/api-with-sidecar", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "cwagent"}}
      }
    ],
    "family": "api-with-sidecar",
    "taskRoleArn": "arn:aws:iam::123456789012:role/api-service-task-role",
    "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
    "networkMode": "awsvpc",
    "revision": 1,
    "volumes": [],
    "status": "ACTIVE",
    "requiresAttributes": [
      {"name": "com.amazonaws.ecs.capability.logging-driver.awslogs"},
      {"name": "ecs.capability.execution-role-awslogs"},
      {"name": "com.amazonaws.ecs.capability.ecr-auth"},
      {"name": "com.amazonaws.ecs.capability.docker-remote-api.1.19"},
      {"name": "com.amazonaws.ecs.capability.task-iam-role"},
      {"name": "ecs.capability.execution-role-ecr-pull"},
      {"name": "com.amazonaws.ecs.capability.docker-remote-api.1.18"},
      {"name": "ecs.capability.task-eni"}
    ],
    "placementConstraints": [],
    "compatibilities": ["EC2", "FARGATE"],
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "512",
    "memory": "1024",
    "registeredBy": "arn:aws:iam::123456789012:root"
  },
  "tags": []
}`

// registerJSON registers a task definition document the way
// `aws ecs register-task-definition --cli-input-json` does: the document's
// members are the request's.
func (e *apiTestEnv) registerJSON(doc string) *sdk.RegisterTaskDefinitionOutput {
	e.t.Helper()
	var in sdk.RegisterTaskDefinitionInput
	if err := json.Unmarshal([]byte(doc), &in); err != nil {
		e.t.Fatal(err)
	}
	out, err := e.client.RegisterTaskDefinition(e.ctx, &in)
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// wantWire compares the last response's JSON with want, ignoring
// registeredAt (checked separately).
func (e *apiTestEnv) wantWire(want string) {
	e.t.Helper()
	var got, expected map[string]any
	if err := json.Unmarshal(e.wire.lastBody(), &got); err != nil {
		e.t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(want), &expected); err != nil {
		e.t.Fatal(err)
	}
	td := got["taskDefinition"].(map[string]any)
	if at, ok := td["registeredAt"].(float64); !ok || int64(at) != e.clock.Unix() {
		e.t.Fatalf("registeredAt %v, want %d", td["registeredAt"], e.clock.Unix())
	}
	delete(td, "registeredAt")
	if !reflect.DeepEqual(got, expected) {
		g, _ := json.MarshalIndent(got, "", "  ")
		e.t.Fatalf("wire output:\n%s", g)
	}
}

func TestArticleTaskDefinitions(t *testing.T) {
	e := newAPITestEnv(t)
	reg := e.registerJSON(articleAPIService)
	td := reg.TaskDefinition
	if aws.ToString(td.TaskDefinitionArn) != "arn:aws:ecs:us-east-1:123456789012:task-definition/api-service:1" || td.Revision != 1 ||
		td.Status != types.TaskDefinitionStatusActive || aws.ToString(td.Cpu) != "512" || len(reg.Tags) != 0 {
		t.Fatalf("registered: %+v", td)
	}
	_, err := e.client.DescribeTaskDefinition(e.ctx, &sdk.DescribeTaskDefinitionInput{TaskDefinition: aws.String("api-service"), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	e.wantWire(wantAPIServiceDescribed)

	e.registerJSON(articleSidecar)
	desc, err := e.client.DescribeTaskDefinition(e.ctx, &sdk.DescribeTaskDefinitionInput{TaskDefinition: aws.String("arn:aws:ecs:us-east-1:123456789012:task-definition/api-with-sidecar:1")})
	if err != nil {
		t.Fatal(err)
	}
	e.wantWire(wantSidecarDescribed)
	if c := desc.TaskDefinition.ContainerDefinitions; aws.ToBool(c[1].Essential) || c[1].PortMappings[0].Protocol != types.TransportProtocolUdp {
		t.Fatalf("sidecar containers: %+v", c)
	}

	// Registering again makes revision 2; the family alone names it.
	e.registerJSON(articleAPIService)
	latest, err := e.client.DescribeTaskDefinition(e.ctx, &sdk.DescribeTaskDefinitionInput{TaskDefinition: aws.String("api-service")})
	if err != nil || latest.TaskDefinition.Revision != 2 {
		t.Fatalf("latest: %+v %v", latest, err)
	}
}

func TestTaskDefinitionNormalisation(t *testing.T) {
	e := newAPITestEnv(t)
	out, err := e.client.RegisterTaskDefinition(e.ctx, &sdk.RegisterTaskDefinitionInput{
		Family:                  aws.String("sizes"),
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		NetworkMode:             types.NetworkModeAwsvpc,
		Cpu:                     aws.String("1 vCPU"),
		Memory:                  aws.String("2GB"),
		ContainerDefinitions:    []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx")}},
		Tags:                    []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	td := out.TaskDefinition
	if aws.ToString(td.Cpu) != "1024" || aws.ToString(td.Memory) != "2048" || len(out.Tags) != 1 ||
		aws.ToString(td.RegisteredBy) != "arn:aws:iam::123456789012:root" || td.RegisteredAt == nil {
		t.Fatalf("normalised: cpu %s memory %s tags %v", aws.ToString(td.Cpu), aws.ToString(td.Memory), out.Tags)
	}

	// An EC2 definition: bridge by default, for EC2 and external instances
	// (not Fargate, which needs awsvpc), dynamic host port.
	ec2, err := e.client.RegisterTaskDefinition(e.ctx, &sdk.RegisterTaskDefinitionInput{
		Family: aws.String("sleep360"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("sleep"), Image: aws.String("busybox"), Cpu: 10, Memory: aws.Int32(10),
			Command: []string{"sleep", "360"}, Essential: aws.Bool(true), PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(80)}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	td = ec2.TaskDefinition
	if td.NetworkMode != types.NetworkModeBridge || fmt.Sprint(td.Compatibilities) != "[EXTERNAL EC2]" || aws.ToInt32(td.ContainerDefinitions[0].PortMappings[0].HostPort) != 0 ||
		td.ContainerDefinitions[0].PortMappings[0].Protocol != types.TransportProtocolTcp || len(td.RequiresAttributes) != 0 {
		t.Fatalf("EC2 definition: %+v", td)
	}

	// awsvpc with a valid Fargate size is Fargate-compatible without
	// asking for it.
	both, err := e.client.RegisterTaskDefinition(e.ctx, &sdk.RegisterTaskDefinitionInput{
		Family: aws.String("either"), NetworkMode: types.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx")}},
	})
	if err != nil || fmt.Sprint(both.TaskDefinition.Compatibilities) != "[EC2 FARGATE]" {
		t.Fatalf("either: %+v %v", both, err)
	}

	// Listed as external-compatible, but berth has no external instances
	// to run it on: the launch type is refused, not taken for another.
	if _, err := e.client.CreateCluster(e.ctx, &sdk.CreateClusterInput{}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.RunTask(e.ctx, &sdk.RunTaskInput{TaskDefinition: aws.String("sleep360"), LaunchType: types.LaunchTypeExternal})
	wantAPIErr(t, err, "UnsupportedFeatureException", "berth does not support launch type EXTERNAL yet.")
}

func TestTaskDefinitionErrors(t *testing.T) {
	e := newAPITestEnv(t)
	_, err := e.client.RegisterTaskDefinition(e.ctx, &sdk.RegisterTaskDefinitionInput{
		Family: aws.String("web"), RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx"), Memory: aws.Int32(128)}},
		Cpu:                  aws.String("256"), Memory: aws.String("512"),
	})
	wantAPIErr(t, err, "ClientException", "Fargate only supports network mode 'awsvpc'.")
	_, err = e.client.RegisterTaskDefinition(e.ctx, &sdk.RegisterTaskDefinitionInput{
		Family: aws.String("web"), RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate}, NetworkMode: types.NetworkModeAwsvpc,
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx")}},
		Cpu:                  aws.String("0.3 vCPU"), Memory: aws.String("512"),
	})
	wantAPIErr(t, err, "ClientException", "Invalid 'cpu' setting for task.")
	for _, ref := range []string{"nope", "nope:1", "arn:aws:ecs:us-east-1:123456789012:task-definition/nope:3", "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:1"} {
		_, err = e.client.DescribeTaskDefinition(e.ctx, &sdk.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ref)})
		wantAPIErr(t, err, "ClientException", "Unable to describe task definition.")
	}
}

func TestTaskDefinitionLifecycle(t *testing.T) {
	e := newAPITestEnv(t)
	ctx := e.ctx
	register := func(family string) {
		t.Helper()
		if _, err := e.client.RegisterTaskDefinition(ctx, &sdk.RegisterTaskDefinitionInput{
			Family:               aws.String(family),
			ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx"), Memory: aws.Int32(64)}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"web", "web", "web", "web-api", "worker", "web"} {
		register(f)
	}
	listAll := func(in sdk.ListTaskDefinitionsInput) []string {
		t.Helper()
		var out []string
		for {
			page, err := e.client.ListTaskDefinitions(ctx, &in)
			if err != nil {
				t.Fatal(err)
			}
			for _, arn := range page.TaskDefinitionArns {
				out = append(out, arn[len("arn:aws:ecs:us-east-1:123456789012:task-definition/"):])
			}
			if in.NextToken = page.NextToken; in.NextToken == nil {
				return out
			}
		}
	}
	if got := fmt.Sprint(listAll(sdk.ListTaskDefinitionsInput{MaxResults: aws.Int32(2)})); got != "[web:1 web:2 web:3 web:4 web-api:1 worker:1]" {
		t.Fatalf("list ASC: %s", got)
	}
	if got := fmt.Sprint(listAll(sdk.ListTaskDefinitionsInput{Sort: types.SortOrderDesc, MaxResults: aws.Int32(4)})); got != "[worker:1 web-api:1 web:4 web:3 web:2 web:1]" {
		t.Fatalf("list DESC: %s", got)
	}
	if got := fmt.Sprint(listAll(sdk.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web")})); got != "[web:1 web:2 web:3 web:4]" {
		t.Fatalf("list family: %s", got)
	}

	// Deregister: INACTIVE, still describable; the family now means the
	// latest ACTIVE revision.
	dereg, err := e.client.DeregisterTaskDefinition(ctx, &sdk.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("web:4")})
	if err != nil || dereg.TaskDefinition.Status != types.TaskDefinitionStatusInactive || dereg.TaskDefinition.DeregisteredAt == nil {
		t.Fatalf("deregister: %+v %v", dereg, err)
	}
	_, err = e.client.DeregisterTaskDefinition(ctx, &sdk.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("web")})
	wantAPIErr(t, err, "ClientException", "Revision is missing.")
	latest, err := e.client.DescribeTaskDefinition(ctx, &sdk.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web")})
	if err != nil || latest.TaskDefinition.Revision != 3 {
		t.Fatalf("latest active: %+v %v", latest, err)
	}
	inactive, err := e.client.DescribeTaskDefinition(ctx, &sdk.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web:4")})
	if err != nil || inactive.TaskDefinition.Status != types.TaskDefinitionStatusInactive {
		t.Fatalf("inactive: %+v %v", inactive, err)
	}
	if got := fmt.Sprint(listAll(sdk.ListTaskDefinitionsInput{Status: types.TaskDefinitionStatusInactive})); got != "[web:4]" {
		t.Fatalf("list INACTIVE: %s", got)
	}

	// Families: worker has no ACTIVE revision once deregistered.
	if _, err := e.client.DeregisterTaskDefinition(ctx, &sdk.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("arn:aws:ecs:us-east-1:123456789012:task-definition/worker:1")}); err != nil {
		t.Fatal(err)
	}
	families := func(in sdk.ListTaskDefinitionFamiliesInput) string {
		t.Helper()
		var out []string
		for {
			page, err := e.client.ListTaskDefinitionFamilies(ctx, &in)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, page.Families...)
			if in.NextToken = page.NextToken; in.NextToken == nil {
				return fmt.Sprint(out)
			}
		}
	}
	for _, tc := range []struct {
		in   sdk.ListTaskDefinitionFamiliesInput
		want string
	}{
		{sdk.ListTaskDefinitionFamiliesInput{}, "[web web-api]"},
		{sdk.ListTaskDefinitionFamiliesInput{MaxResults: aws.Int32(1)}, "[web web-api]"},
		{sdk.ListTaskDefinitionFamiliesInput{Status: types.TaskDefinitionFamilyStatusInactive}, "[worker]"},
		{sdk.ListTaskDefinitionFamiliesInput{Status: types.TaskDefinitionFamilyStatusAll}, "[web web-api worker]"},
		{sdk.ListTaskDefinitionFamiliesInput{Status: types.TaskDefinitionFamilyStatusAll, FamilyPrefix: aws.String("w")}, "[web web-api worker]"},
		{sdk.ListTaskDefinitionFamiliesInput{FamilyPrefix: aws.String("web-")}, "[web-api]"},
	} {
		if got := families(tc.in); got != tc.want {
			t.Errorf("families %+v: %s, want %s", tc.in, got, tc.want)
		}
	}

	// Delete: only INACTIVE revisions; the others are failures.
	del, err := e.client.DeleteTaskDefinitions(ctx, &sdk.DeleteTaskDefinitionsInput{TaskDefinitions: []string{"web:4", "web:3", "web:99", "web"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(del.TaskDefinitions) != 1 || del.TaskDefinitions[0].Status != types.TaskDefinitionStatusDeleteInProgress || del.TaskDefinitions[0].DeleteRequestedAt == nil {
		t.Fatalf("deleted: %+v", del.TaskDefinitions)
	}
	var reasons []string
	for _, f := range del.Failures {
		reasons = append(reasons, aws.ToString(f.Arn)+" "+aws.ToString(f.Reason))
	}
	want := []string{
		"arn:aws:ecs:us-east-1:123456789012:task-definition/web:3 The specified task definition is still in ACTIVE status. Please deregister the target and try again.",
		"arn:aws:ecs:us-east-1:123456789012:task-definition/web:99 The specified task definition does not exist.",
		"web Revision is missing.",
	}
	if !slices.Equal(reasons, want) {
		t.Fatalf("failures:\n%s", reasons)
	}
	if got := fmt.Sprint(listAll(sdk.ListTaskDefinitionsInput{Status: types.TaskDefinitionStatusDeleteInProgress})); got != "[web:4]" {
		t.Fatalf("list DELETE_IN_PROGRESS: %s", got)
	}
	// Revisions are never reused.
	register("web")
	if latest, err := e.client.DescribeTaskDefinition(ctx, &sdk.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web")}); err != nil || latest.TaskDefinition.Revision != 5 {
		t.Fatalf("after delete: %+v %v", latest, err)
	}
}

// TestRegisterConcurrently races registrations of one family: each gets
// its own revision.
func TestRegisterConcurrently(t *testing.T) {
	e := newAPITestEnv(t)
	const n = 12
	revs := make(chan int32, n)
	errs := make(chan error, n)
	for range n {
		go func() {
			out, err := apiCall[ecstypes.RegisterTaskDefinitionResponse](e, "RegisterTaskDefinition", &ecstypes.RegisterTaskDefinitionRequest{
				Family:               awsapi.String("busy"),
				ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: awsapi.String("app"), Image: awsapi.String("nginx"), Memory: awsapi.Int32(64)}},
			})
			if err != nil {
				errs <- err
				return
			}
			revs <- *out.TaskDefinition.Revision
		}()
	}
	seen := map[int32]bool{}
	for range n {
		select {
		case err := <-errs:
			t.Fatal(err)
		case r := <-revs:
			if seen[r] || r < 1 || r > n {
				t.Fatalf("revision %d twice or out of range", r)
			}
			seen[r] = true
		}
	}
}

func TestRequiredAttributes(t *testing.T) {
	cases := []struct {
		name string
		td   ecstypes.TaskDefinition
		want []string
	}{
		{"plain bridge", ecstypes.TaskDefinition{NetworkMode: awsapi.String("bridge"), ContainerDefinitions: []ecstypes.ContainerDefinition{{Image: awsapi.String("nginx")}}}, nil},
		{"task role in host mode", ecstypes.TaskDefinition{NetworkMode: awsapi.String("host"), TaskRoleArn: awsapi.String("arn:aws:iam::1:role/r"),
			ContainerDefinitions: []ecstypes.ContainerDefinition{{Image: awsapi.String("nginx")}}},
			[]string{"com.amazonaws.ecs.capability.task-iam-role-network-host"}},
		{"ECR without execution role", ecstypes.TaskDefinition{NetworkMode: awsapi.String("bridge"),
			ContainerDefinitions: []ecstypes.ContainerDefinition{{Image: awsapi.String("111122223333.dkr.ecr.eu-west-1.amazonaws.com/app:1")}}},
			[]string{"com.amazonaws.ecs.capability.ecr-auth"}},
		{"dependsOn and privileged", ecstypes.TaskDefinition{NetworkMode: awsapi.String("bridge"),
			ContainerDefinitions: []ecstypes.ContainerDefinition{{Image: awsapi.String("x"), Privileged: awsapi.Bool(true),
				DependsOn: []ecstypes.ContainerDependency{{ContainerName: awsapi.String("y"), Condition: awsapi.String("START")}}}}},
			[]string{"ecs.capability.container-ordering", "com.amazonaws.ecs.capability.privileged-container"}},
		{"json-file and docker labels", ecstypes.TaskDefinition{NetworkMode: awsapi.String("bridge"),
			ContainerDefinitions: []ecstypes.ContainerDefinition{{Image: awsapi.String("x"), DockerLabels: map[string]string{"a": "b"},
				LogConfiguration: &ecstypes.LogConfiguration{LogDriver: awsapi.String("json-file")}}}},
			[]string{"com.amazonaws.ecs.capability.logging-driver.json-file", "com.amazonaws.ecs.capability.docker-remote-api.1.18"}},
	}
	for _, tc := range cases {
		var got []string
		for _, a := range requiredAttributes(&tc.td) {
			got = append(got, *a.Name)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
