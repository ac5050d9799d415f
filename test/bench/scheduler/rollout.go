package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth/berth/test/bench/benchserver"
)

const (
	rolloutCluster = "bench"
	rolloutFamily  = "bench-rollout"
	rolloutService = "bench-rollout"
	// healthCheckInterval is ECS's smallest: Docker runs the first check
	// this long after the container starts.
	healthCheckInterval = 5 * time.Second
	// steadyTimeout bounds one wait for steady state.
	steadyTimeout = 10 * time.Minute
)

// rolloutResult is how long the service took to become steady after
// CreateService, then after each UpdateService.
type rolloutResult struct {
	create  time.Duration
	updates []time.Duration
}

// measureRollout runs a service on berth's own agent and times --runs
// updates to a new task definition revision.
func measureRollout(ctx context.Context, cfg config, appBin string) (rolloutResult, error) {
	var r rolloutResult
	srv, err := benchserver.StartBerth(ctx, cfg.berthBin, cfg.keep, true, "--log-level", cfg.logLevel)
	if err != nil {
		return r, err
	}
	defer srv.Stop()
	awsCfg, err := srv.AWSConfig()
	if err != nil {
		return r, err
	}
	image, err := srv.PushApp(ctx, ecr.NewFromConfig(awsCfg), appBin, "bench-rollout", "v1")
	if err != nil {
		return r, srv.Annotate(err)
	}
	client := ecs.NewFromConfig(awsCfg)
	subnet, err := srv.DefaultSubnet(ctx)
	if err != nil {
		return r, srv.Annotate(err)
	}
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(rolloutCluster)}); err != nil {
		return r, srv.Annotate(err)
	}
	// Every revision differs by an environment variable only: a new
	// revision is what a deployment of new code looks like to ECS.
	register := func(revision int) (string, error) {
		out, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
			Family:                  aws.String(rolloutFamily),
			NetworkMode:             ecstypes.NetworkModeAwsvpc,
			RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
			Cpu:                     aws.String("256"),
			Memory:                  aws.String("512"),
			ContainerDefinitions: []ecstypes.ContainerDefinition{{
				Name: aws.String("app"), Image: aws.String(image), Essential: aws.Bool(true),
				PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080)}},
				Environment:  []ecstypes.KeyValuePair{{Name: aws.String("REVISION"), Value: aws.String(strconv.Itoa(revision))}},
				// The app is its own health check: a scratch image has no curl.
				HealthCheck: &ecstypes.HealthCheck{
					Command:  []string{"CMD", "/app", "-check", "http://localhost:8080/health"},
					Interval: aws.Int32(int32(healthCheckInterval / time.Second)),
					Timeout:  aws.Int32(2),
					Retries:  aws.Int32(2),
				},
			}},
		})
		if err != nil {
			return "", err
		}
		return aws.ToString(out.TaskDefinition.TaskDefinitionArn), nil
	}
	taskDef, err := register(0)
	if err != nil {
		return r, srv.Annotate(err)
	}
	start := time.Now()
	_, err = client.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster:        aws.String(rolloutCluster),
		ServiceName:    aws.String(rolloutService),
		TaskDefinition: aws.String(taskDef),
		DesiredCount:   aws.Int32(int32(cfg.dockerTasks)),
		LaunchType:     ecstypes.LaunchTypeFargate,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: []string{subnet},
		}},
	})
	if err != nil {
		return r, srv.Annotate(fmt.Errorf("CreateService: %w", err))
	}
	if r.create, err = waitSteady(ctx, client, taskDef, cfg.dockerTasks, start); err != nil {
		return r, srv.Annotate(err)
	}
	fmt.Fprintf(os.Stderr, "rolling update: service of %d tasks steady %.1f s after CreateService\n", cfg.dockerTasks, r.create.Seconds())
	for i := range cfg.runs {
		taskDef, err := register(i + 1)
		if err != nil {
			return r, srv.Annotate(err)
		}
		start := time.Now()
		_, err = client.UpdateService(ctx, &ecs.UpdateServiceInput{
			Cluster: aws.String(rolloutCluster), Service: aws.String(rolloutService), TaskDefinition: aws.String(taskDef),
		})
		if err != nil {
			return r, srv.Annotate(fmt.Errorf("UpdateService: %w", err))
		}
		d, err := waitSteady(ctx, client, taskDef, cfg.dockerTasks, start)
		if err != nil {
			return r, srv.Annotate(fmt.Errorf("update %d: %w", i+1, err))
		}
		fmt.Fprintf(os.Stderr, "rolling update %d/%d: steady %.1f s after UpdateService\n", i+1, cfg.runs, d.Seconds())
		r.updates = append(r.updates, d)
	}
	return r, nil
}

// waitSteady polls until the service has exactly one deployment, of
// taskDef, COMPLETED, with desired tasks running, and returns the time
// since start.
func waitSteady(ctx context.Context, client *ecs.Client, taskDef string, desired int, start time.Time) (time.Duration, error) {
	var last string
	for {
		out, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(rolloutCluster), Services: []string{rolloutService}})
		if err != nil {
			return 0, err
		}
		if len(out.Services) != 1 {
			return 0, fmt.Errorf("DescribeServices found no service %s", rolloutService)
		}
		s := out.Services[0]
		if len(s.Deployments) == 1 {
			d := s.Deployments[0]
			if aws.ToString(d.TaskDefinition) == taskDef && d.RolloutState == ecstypes.DeploymentRolloutStateCompleted &&
				s.RunningCount == int32(desired) && d.RunningCount == int32(desired) {
				return time.Since(start), nil
			}
			if d.RolloutState == ecstypes.DeploymentRolloutStateFailed {
				return 0, fmt.Errorf("deployment failed: %s", aws.ToString(d.RolloutStateReason))
			}
		}
		last = fmt.Sprintf("%d deployments, running %d, pending %d", len(s.Deployments), s.RunningCount, s.PendingCount)
		if len(s.Events) > 0 {
			last += "; last event: " + aws.ToString(s.Events[0].Message)
		}
		if time.Since(start) > steadyTimeout {
			return 0, fmt.Errorf("service not steady after %s: %s", steadyTimeout, last)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
