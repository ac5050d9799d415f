package ecs

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// trustedRoles trusts the roles it lists for ecs-tasks.
type trustedRoles map[string]bool

func (r trustedRoles) TrustsService(_ context.Context, roleARN, service, sourceARN string) (bool, error) {
	return service == TasksPrincipal && sourceARN == "arn:aws:ecs:us-east-1:123456789012:task/prod-cluster/*" && r[roleARN], nil
}

func TestTaskRolesMustBeAssumable(t *testing.T) {
	const execRole = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
	const taskRole = "arn:aws:iam::123456789012:role/api-service-task-role"
	roles := trustedRoles{execRole: true}
	e := newConfiguredAPITestEnv(t, func(c *Config) { c.Roles = roles })
	e.articleCluster()
	e.registerAPIService()
	e.fargateNode(true)
	wantRefused := func(err error, role string) {
		t.Helper()
		var ce *types.ClientException
		if !errors.As(err, &ce) || !strings.Contains(aws.ToString(ce.Message), "ECS was unable to assume the role '"+role+"' that was provided for this task.") {
			t.Fatalf("err %v, want ECS's refusal of %s", err, role)
		}
	}

	// The definition's execution role is trusted: the task starts.
	run := &sdk.RunTaskInput{Cluster: aws.String("prod-cluster"), TaskDefinition: aws.String("api-service"), NetworkConfiguration: awsvpcNetwork}
	if out, err := e.client.RunTask(e.ctx, run); err != nil || len(out.Tasks) != 1 {
		t.Fatalf("run with a trusted role: %+v %v", out, err)
	}
	// An override naming a role ECS cannot assume is refused.
	run.Overrides = &types.TaskOverride{TaskRoleArn: aws.String(taskRole)}
	_, err := e.client.RunTask(e.ctx, run)
	wantRefused(err, taskRole)
	roles[taskRole] = true
	if _, err := e.client.RunTask(e.ctx, run); err != nil {
		t.Fatalf("run once the role is trusted: %v", err)
	}

	// A service whose definition's execution role is not trusted is not
	// created.
	delete(roles, execRole)
	_, err = e.client.CreateService(e.ctx, articleServiceInput(1))
	wantRefused(err, execRole)
}

func TestFargateNeedsAnExecutionRole(t *testing.T) {
	e := newAPITestEnv(t)
	register := func(c types.ContainerDefinition) error {
		c.Name = aws.String("app")
		_, err := e.client.RegisterTaskDefinition(e.ctx, &sdk.RegisterTaskDefinitionInput{
			Family: aws.String("app"), NetworkMode: types.NetworkModeAwsvpc,
			RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
			Cpu:                     aws.String("256"), Memory: aws.String("512"),
			ContainerDefinitions: []types.ContainerDefinition{c},
		})
		return err
	}
	for _, tc := range []struct {
		name      string
		container types.ContainerDefinition
		want      string
	}{
		{"ECR image", types.ContainerDefinition{Image: aws.String("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1")},
			"Fargate requires task definition to have execution role ARN to support ECR images."},
		{"awslogs", types.ContainerDefinition{Image: aws.String("busybox"), LogConfiguration: &types.LogConfiguration{
			LogDriver: types.LogDriverAwslogs, Options: map[string]string{"awslogs-group": "g", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "p"}}},
			"Fargate requires task definition to have execution role ARN to support log driver awslogs."},
		{"secrets", types.ContainerDefinition{Image: aws.String("busybox"), Secrets: []types.Secret{{Name: aws.String("DB"), ValueFrom: aws.String("arn:aws:ssm:us-east-1:123456789012:parameter/db")}}},
			"Fargate requires task definition to have execution role ARN to support secrets."},
		{"nothing that needs one", types.ContainerDefinition{Image: aws.String("busybox")}, ""},
	} {
		err := register(tc.container)
		var ce *types.ClientException
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (!errors.As(err, &ce) || aws.ToString(ce.Message) != tc.want):
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.want)
		}
	}
}

func (r trustedRoles) RoleAllows(context.Context, string, string, []string, string) (bool, error) {
	return true, nil
}
