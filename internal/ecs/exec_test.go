package ecs

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/ssm/ssmstate"
	"github.com/berth/berth/internal/store"
)

// roleGrants is a RoleTrust whose roles trust ECS and allow what grants
// says.
type roleGrants struct{ allow bool }

func (roleGrants) TrustsService(context.Context, string, string, string) (bool, error) {
	return true, nil
}
func (g roleGrants) RoleAllows(context.Context, string, string, []string, string) (bool, error) {
	return g.allow, nil
}

// execTask runs the article's task with execute command enabled or not,
// and has its agent report it running.
func (e *apiTestEnv) execTask(enable bool) (id string) {
	e.t.Helper()
	if _, err := e.client.RegisterTaskDefinition(e.ctx, &sdk.RegisterTaskDefinitionInput{
		Family: aws.String("api-service"), NetworkMode: types.NetworkModeAwsvpc, RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu: aws.String("512"), Memory: aws.String("1024"), TaskRoleArn: aws.String("arn:aws:iam::123456789012:role/api-service-task-role"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("api"), Image: aws.String("api-service:v1"), Essential: aws.Bool(true)}},
	}); err != nil {
		e.t.Fatal(err)
	}
	id = e.runOne(&sdk.RunTaskInput{Cluster: aws.String("prod-cluster"), TaskDefinition: aws.String("api-service"),
		NetworkConfiguration: awsvpcNetwork, EnableExecuteCommand: enable})
	e.observe("prod-cluster", id, func(s *ecsstate.TaskStatus) {
		s.LastStatus, s.StartedAt = ecsstate.StatusRunning, e.clock
		s.Containers = []ecsstate.ContainerStatus{{Name: "api", RuntimeID: "d1a9be582d09", LastStatus: ecsstate.StatusRunning}}
	})
	return id
}

func TestExecuteCommand(t *testing.T) {
	e := newConfiguredAPITestEnv(t, func(c *Config) { c.Roles = roleGrants{allow: true} })
	e.articleCluster()
	e.fargateNode(true)
	plain, enabled := e.execTask(false), e.execTask(true)

	out, err := e.client.ExecuteCommand(e.ctx, &sdk.ExecuteCommandInput{Cluster: aws.String("prod-cluster"), Task: aws.String(enabled),
		Container: aws.String("api"), Command: aws.String("/bin/sh"), Interactive: true})
	if err != nil {
		t.Fatal(err)
	}
	s := out.Session
	if !out.Interactive || aws.ToString(out.ContainerName) != "api" || !strings.HasSuffix(aws.ToString(out.TaskArn), enabled) ||
		!strings.HasPrefix(aws.ToString(s.SessionId), "ecs-execute-command-") || aws.ToString(s.TokenValue) == "" ||
		!strings.Contains(aws.ToString(s.StreamUrl), ssmstate.DataChannelPath+aws.ToString(s.SessionId)+"?") {
		t.Fatalf("response %+v session %+v", out, s)
	}
	rec, err := store.Get[ssmstate.Session](e.ctx, e.store, ssmstate.SessionKey(apiTestRegion, aws.ToString(s.SessionId)))
	if err != nil {
		t.Fatal(err)
	}
	sess := rec.Value
	if sess.Target != "ecs:prod-cluster_"+enabled+"_d1a9be582d09" || sess.Status != ssmstate.SessionConnecting ||
		sess.Command != "/bin/sh" || sess.NodeID != fargateNodeID || !sess.TakeToken(aws.ToString(s.TokenValue), e.clock) {
		t.Errorf("session record %+v", sess)
	}

	// DescribeTasks shows the managed agent, and the runtime id the CLI
	// needs for the plugin's target.
	desc, err := e.client.DescribeTasks(e.ctx, &sdk.DescribeTasksInput{Cluster: aws.String("prod-cluster"), Tasks: []string{enabled, plain}})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range desc.Tasks {
		c := task.Containers[0]
		if task.EnableExecuteCommand {
			if len(c.ManagedAgents) != 1 || c.ManagedAgents[0].Name != types.ManagedAgentNameExecuteCommandAgent ||
				aws.ToString(c.ManagedAgents[0].LastStatus) != "RUNNING" || c.ManagedAgents[0].LastStartedAt == nil || aws.ToString(c.RuntimeId) == "" {
				t.Errorf("container %+v", c)
			}
		} else if len(c.ManagedAgents) != 0 {
			t.Errorf("a task without execute command has managed agents %+v", c.ManagedAgents)
		}
	}

	for _, c := range []struct {
		name string
		in   *sdk.ExecuteCommandInput
		code string
		msg  string
	}{
		{"not enabled", &sdk.ExecuteCommandInput{Task: aws.String(plain)}, "InvalidParameterException", "execute command was not enabled when the task was run"},
		{"not interactive", &sdk.ExecuteCommandInput{Task: aws.String(enabled), Interactive: false}, "InvalidParameterException", "Interactive is the only mode supported currently."},
		{"no such container", &sdk.ExecuteCommandInput{Task: aws.String(enabled), Container: aws.String("sidecar")}, "InvalidParameterException", "sidecar"},
		{"no such task", &sdk.ExecuteCommandInput{Task: aws.String(strings.Repeat("0", 32))}, "InvalidParameterException", "task was not found"},
		{"no such cluster", &sdk.ExecuteCommandInput{Cluster: aws.String("nope"), Task: aws.String(enabled)}, "ClusterNotFoundException", ""},
		{"empty command", &sdk.ExecuteCommandInput{Task: aws.String(enabled), Command: aws.String(" ")}, "InvalidParameterException", "Command"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := *c.in
			if in.Cluster == nil {
				in.Cluster = aws.String("prod-cluster")
			}
			if in.Command == nil {
				in.Command = aws.String("/bin/sh")
			}
			if c.name != "not interactive" {
				in.Interactive = true
			}
			_, err := e.client.ExecuteCommand(e.ctx, &in)
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != c.code || !strings.Contains(apiErr.ErrorMessage(), c.msg) {
				t.Fatalf("error %v, want %s mentioning %q", err, c.code, c.msg)
			}
		})
	}

	// A task stopping, or its node gone, refuses new sessions.
	e.fargateNode(false)
	_, err = e.client.ExecuteCommand(e.ctx, &sdk.ExecuteCommandInput{Cluster: aws.String("prod-cluster"), Task: aws.String(enabled),
		Command: aws.String("/bin/sh"), Interactive: true})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "TargetNotConnectedException" {
		t.Fatalf("node gone: %v", err)
	}
}

func TestExecuteCommandNeedsTheTaskRolesPermissions(t *testing.T) {
	e := newConfiguredAPITestEnv(t, func(c *Config) { c.Roles = roleGrants{allow: false} })
	e.articleCluster()
	e.fargateNode(true)
	id := e.execTask(true)
	_, err := e.client.ExecuteCommand(e.ctx, &sdk.ExecuteCommandInput{Cluster: aws.String("prod-cluster"), Task: aws.String(id),
		Command: aws.String("/bin/sh"), Interactive: true})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "TargetNotConnectedException" ||
		apiErr.ErrorMessage() != "The execute command failed due to an internal error. Try again later." {
		t.Fatalf("error %v", err)
	}
}

func TestExecLogDestination(t *testing.T) {
	task := ecsstate.Task{Region: "us-east-1"}
	task.Spec.Definition.ContainerDefinitions = []ecstypes.ContainerDefinition{
		{Name: awsapi.String("api"), LogConfiguration: &ecstypes.LogConfiguration{LogDriver: awsapi.String("awslogs"),
			Options: map[string]string{"awslogs-group": "/ecs/api-service", "awslogs-region": "eu-west-1"}}},
		{Name: awsapi.String("sidecar")},
	}
	cluster := func(logging, group string) ecsstate.Cluster {
		var c ecsstate.Cluster
		if logging == "" {
			return c
		}
		cfg := &ecstypes.ExecuteCommandConfiguration{Logging: awsapi.String(logging)}
		if group != "" {
			cfg.LogConfiguration = &ecstypes.ExecuteCommandLogConfiguration{CloudWatchLogGroupName: awsapi.String(group)}
		}
		c.Configuration = &ecstypes.ClusterConfiguration{ExecuteCommandConfiguration: cfg}
		return c
	}
	for _, c := range []struct {
		name      string
		cluster   ecsstate.Cluster
		container string
		want      *ssmstate.SessionLog
	}{
		{"no configuration: the container's awslogs", cluster("", ""), "api", &ssmstate.SessionLog{Region: "eu-west-1", Group: "/ecs/api-service", Stream: "s"}},
		{"DEFAULT: the container's awslogs", cluster("DEFAULT", ""), "api", &ssmstate.SessionLog{Region: "eu-west-1", Group: "/ecs/api-service", Stream: "s"}},
		{"DEFAULT without awslogs: nowhere", cluster("DEFAULT", ""), "sidecar", nil},
		{"NONE", cluster("NONE", ""), "api", nil},
		{"OVERRIDE", cluster("OVERRIDE", "/ecs/exec"), "sidecar", &ssmstate.SessionLog{Region: "us-east-1", Group: "/ecs/exec", Stream: "s"}},
	} {
		got := execLog(c.cluster, task, c.container, "s")
		if (got == nil) != (c.want == nil) || got != nil && *got != *c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}
