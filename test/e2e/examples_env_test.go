package e2e

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// exampleEnv is one example's world: its region of the server, the
// resources its setup made there, and how its command's words change to
// name them.
type exampleEnv struct {
	t      *testing.T
	s      *Server
	ex     cliExample
	region string
	image  string // an image every task can run
	dir    string // the example's files
	// subs are old, new pairs replaced in the command and its files: an
	// identifier the documentation shows becomes the one berth gave.
	subs []string
	// env is added to the command's environment: the key of the IAM user
	// it runs as (runAs), when not the account's root; for Cloud Map's
	// discovery calls, the host prefix turned off.
	env     []string
	ecs     *ecs.Client
	ecr     *ecr.Client
	logs    *cloudwatchlogs.Client
	iam     *iam.Client
	secrets *secretsmanager.Client
	ssm     *ssm.Client
	ec2     *ec2.Client
	elb     *elb.Client
	acm     *acm.Client
	// cloudMap is Cloud Map's (servicediscovery).
	cloudMap *servicediscovery.Client
	// net is what the example knows of its region's network (see
	// examples_network_test.go).
	net exampleNetwork
}

func newExampleEnv(t *testing.T, s *Server, ex cliExample, region, image string) *exampleEnv {
	cfg := s.SDKConfig()
	cfg.Region = region
	return &exampleEnv{
		t: t, s: s, ex: ex, region: region, image: image, dir: t.TempDir(),
		ecs: ecs.NewFromConfig(cfg), ecr: ecr.NewFromConfig(cfg), logs: cloudwatchlogs.NewFromConfig(cfg),
		iam: iam.NewFromConfig(cfg), secrets: secretsmanager.NewFromConfig(cfg), ssm: ssm.NewFromConfig(cfg),
		ec2: ec2.NewFromConfig(cfg), elb: elb.NewFromConfig(cfg), acm: acm.NewFromConfig(cfg),
		cloudMap: servicediscovery.NewFromConfig(cfg),
	}
}

// aws runs the aws CLI against the server, with the environment's
// additions.
func (e *exampleEnv) aws(args ...string) Result {
	e.t.Helper()
	if len(e.env) == 0 {
		return e.s.AWS(e.t, args...)
	}
	return Run(e.t, Command{Name: "aws", Args: append([]string{"--endpoint-url", e.s.URL}, args...), Env: append(e.s.awsEnv(), e.env...)})
}

// documentedARN is an ARN of the documentation's accounts and regions.
var documentedARN = regexp.MustCompile(`arn:aws:([a-z0-9-]+):([a-z0-9-]*):(\d{12}):`)

// rewrite applies the substitutions, and makes the documentation's ARNs
// name the example's region and the server's account.
func (e *exampleEnv) rewrite(s string) string {
	s = strings.NewReplacer(e.subs...).Replace(s)
	return documentedARN.ReplaceAllStringFunc(s, func(arn string) string {
		m := documentedARN.FindStringSubmatch(arn)
		region := e.region
		if m[2] == "" {
			region = ""
		}
		return "arn:aws:" + m[1] + ":" + region + ":" + e.s.AccountID + ":"
	})
}

// sub makes the command say new where the documentation says old.
func (e *exampleEnv) sub(old, new string) { e.subs = append(e.subs, old, new) }

// commandArgs are the example's words as the harness runs them: rewritten,
// with file:// arguments pointing at the documented files, written out.
func (e *exampleEnv) commandArgs() []string {
	var args []string
	for _, a := range e.ex.Args {
		a = e.rewrite(a)
		if rest, ok := strings.CutPrefix(a, "file://"); ok {
			base := filepath.Base(rest)
			if text, ok := e.ex.Files[base]; ok {
				path := filepath.Join(e.dir, base)
				if err := os.WriteFile(path, []byte(e.rewrite(text)), 0o644); err != nil {
					e.t.Fatal(err)
				}
				a = "file://" + path
			}
		}
		args = append(args, a)
	}
	return args
}

// setFlag makes the command say value after flag, where the
// documentation has a placeholder no substitution could replace alone.
func (e *exampleEnv) setFlag(flag, value string) {
	args := slices.Clone(e.ex.Args)
	if i := slices.Index(args, flag); i >= 0 && i+1 < len(args) {
		args[i+1] = value
	}
	e.ex.Args = args
}

// flagValues returns the values after flag in the example's command, up to
// the next flag.
func (e *exampleEnv) flagValues(flag string) []string {
	var out []string
	for i, a := range e.ex.Args {
		if a != flag {
			continue
		}
		for _, v := range e.ex.Args[i+1:] {
			if strings.HasPrefix(v, "--") {
				break
			}
			out = append(out, v)
		}
	}
	return out
}

// prepareExample creates what the example assumes exists: the clusters and
// repositories its command names, then what its setup in exampleSetups
// adds.
func prepareExample(e *exampleEnv) {
	command := e.ex.Args[0]
	e.subs = append(e.subs, exampleRenames[e.ex.ID]...)
	switch e.ex.Service {
	case "ecs":
		// The examples' tasks share the server's one node: each gives its
		// CPU and memory back when it ends.
		e.t.Cleanup(e.stopTasks)
		if command != "create-cluster" {
			for _, c := range append(e.flagValues("--cluster"), e.flagValues("--clusters")...) {
				e.cluster(lastPart(e.rewrite(c)))
			}
		}
	case "ecr":
		if command != "create-repository" {
			for _, r := range e.flagValues("--repository-name") {
				e.repository(e.rewrite(r))
			}
		}
	case "logs":
		groups := e.flagValues("--log-group-name")
		if command != "create-log-group" {
			for _, g := range groups {
				e.logGroup(e.rewrite(g))
			}
		}
		if command != "create-log-stream" && len(groups) == 1 {
			for _, st := range e.flagValues("--log-stream-name") {
				e.logStream(e.rewrite(groups[0]), e.rewrite(st))
			}
		}
	case "iam":
		prepareIAMExample(e, command)
	case "sts":
		for _, r := range e.flagValues("--role-arn") {
			_, resource, _ := strings.Cut(e.rewrite(r), ":role/")
			e.role(resource, exampleTrustPolicy)
		}
	case "ec2", "elbv2":
		// Every region's default VPC takes a range of the host's: the
		// example gives its region's back when it ends.
		e.t.Cleanup(e.releaseNetwork)
	case "servicediscovery":
		// DiscoverInstances and DiscoverInstancesRevision go to the host
		// data-<endpoint>, which a loopback endpoint has not: a user of
		// one turns the prefix off.
		if strings.HasPrefix(command, "discover-instances") {
			e.env = append(e.env, "AWS_DISABLE_HOST_PREFIX_INJECTION=true")
		}
	case "secretsmanager":
		if command != "create-secret" {
			for _, id := range e.flagValues("--secret-id") {
				e.secret(e.rewrite(id), exampleSecretString)
			}
		}
	}
	if setup := exampleSetups[e.ex.ID]; setup != nil {
		setup(e)
	}
}

// prepareIAMExample makes the IAM users, groups, roles and customer
// managed policies the command names, but the one it creates.
func prepareIAMExample(e *exampleEnv, command string) {
	if command != "create-user" {
		for _, u := range e.flagValues("--user-name") {
			e.user(e.rewrite(u))
		}
	}
	if command != "create-group" {
		for _, g := range e.flagValues("--group-name") {
			e.group(e.rewrite(g))
		}
	}
	if command != "create-role" {
		for _, r := range e.flagValues("--role-name") {
			e.role(e.rewrite(r), exampleTrustPolicy)
		}
	}
	for _, arn := range append(e.flagValues("--policy-arn"), e.flagValues("--permissions-boundary")...) {
		// The account's policies; AWS's (arn:aws:iam::aws:policy/...)
		// exist.
		if resource, ok := strings.CutPrefix(e.rewrite(arn), "arn:aws:iam::"+e.s.AccountID+":"); ok {
			e.customerPolicy(strings.TrimPrefix(resource, "policy/"), examplePolicy)
		}
	}
	for _, arn := range e.flagValues("--policy-source-arn") {
		if _, resource, ok := strings.Cut(e.rewrite(arn), ":user/"); ok {
			e.user(resource)
		}
	}
}

func lastPart(s string) string { return s[strings.LastIndex(s, "/")+1:] }

func (e *exampleEnv) ctx() context.Context { return e.t.Context() }

// stopTasks deletes the services and stops the tasks of every cluster of
// the example's region, and waits for the tasks to have stopped. It runs
// after the test's context ends.
func (e *exampleEnv) stopTasks() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := e.stopAllTasks(ctx); err != nil {
		e.t.Errorf("cleanup of %s: %v", e.region, err)
	}
}

func (e *exampleEnv) stopAllTasks(ctx context.Context) error {
	clusters, err := e.ecs.ListClusters(ctx, &ecs.ListClustersInput{})
	if err != nil {
		return err
	}
	for _, cluster := range clusters.ClusterArns {
		services, err := e.ecs.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String(cluster)})
		if err != nil {
			return err
		}
		for _, svc := range services.ServiceArns {
			if _, err := e.ecs.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String(cluster), Service: aws.String(svc), Force: aws.Bool(true)}); err != nil {
				return err
			}
		}
		tasks, err := e.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster)})
		if err != nil {
			return err
		}
		for _, task := range tasks.TaskArns {
			if _, err := e.ecs.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String(task)}); err != nil {
				return err
			}
		}
		for {
			stopping, err := e.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), DesiredStatus: ecstypes.DesiredStatusStopped})
			if err != nil {
				return err
			}
			if len(stopping.TaskArns) == 0 {
				break
			}
			described, err := e.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: stopping.TaskArns})
			if err != nil {
				return err
			}
			if !slices.ContainsFunc(described.Tasks, func(t ecstypes.Task) bool { return aws.ToString(t.LastStatus) != "STOPPED" }) {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("the tasks of %s have not stopped: %w", cluster, ctx.Err())
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}

func (e *exampleEnv) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatalf("setup: %v", err)
	}
}

func (e *exampleEnv) cluster(name string) string {
	e.t.Helper()
	out, err := e.ecs.CreateCluster(e.ctx(), &ecs.CreateClusterInput{ClusterName: aws.String(name)})
	e.must(err)
	return aws.ToString(out.Cluster.ClusterArn)
}

func (e *exampleEnv) logGroup(name string) {
	e.t.Helper()
	_, err := e.logs.CreateLogGroup(e.ctx(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(name)})
	if err != nil && !strings.Contains(err.Error(), "ResourceAlreadyExists") {
		e.must(err)
	}
}

func (e *exampleEnv) logStream(group, name string) {
	e.t.Helper()
	_, err := e.logs.CreateLogStream(e.ctx(), &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(name)})
	if err != nil && !strings.Contains(err.Error(), "ResourceAlreadyExists") {
		e.must(err)
	}
}

func (e *exampleEnv) repository(name string) {
	e.t.Helper()
	_, err := e.ecr.CreateRepository(e.ctx(), &ecr.CreateRepositoryInput{RepositoryName: aws.String(name)})
	if err != nil && !strings.Contains(err.Error(), "RepositoryAlreadyExists") {
		e.must(err)
	}
}

// pushImage pushes a small random image to repo (under tag unless it is
// empty) in the example's region.
func (e *exampleEnv) pushImage(repo, tag string) imagePushed {
	e.t.Helper()
	img, err := random.Image(512, 1)
	e.must(err)
	return e.push(repo, tag, img)
}

// pushToolbox pushes a copy of the toolbox image (an image berth's scanner
// reads: busybox and a Go program) to repo in the example's region.
func (e *exampleEnv) pushToolbox(repo, tag string) imagePushed {
	e.t.Helper()
	ref, err := name.ParseReference(e.s.ImageRef(toolboxExampleRepo, "latest"), name.Insecure)
	e.must(err)
	img, err := remote.Image(ref, remote.WithAuth(e.registryAuth(e.s.Region)))
	e.must(err)
	return e.push(repo, tag, img)
}

// registryAuth is the registry login of region, from
// GetAuthorizationToken.
func (e *exampleEnv) registryAuth(region string) authn.Authenticator {
	e.t.Helper()
	tok, err := e.ecr.GetAuthorizationToken(e.ctx(), &ecr.GetAuthorizationTokenInput{}, func(o *ecr.Options) { o.Region = region })
	e.must(err)
	basic, err := base64.StdEncoding.DecodeString(aws.ToString(tok.AuthorizationData[0].AuthorizationToken))
	e.must(err)
	user, password, _ := strings.Cut(string(basic), ":")
	return &authn.Basic{Username: user, Password: password}
}

// push pushes img to repo (under tag unless it is empty) in the example's
// region.
func (e *exampleEnv) push(repo, tag string, img v1.Image) imagePushed {
	e.t.Helper()
	d, err := img.Digest()
	e.must(err)
	config, err := img.ConfigName()
	e.must(err)
	manifest, err := img.RawManifest()
	e.must(err)
	layers, err := img.Layers()
	e.must(err)
	pushed := imagePushed{digest: d.String(), config: config.String(), manifest: manifest}
	for _, l := range layers {
		ld, err := l.Digest()
		e.must(err)
		pushed.layers = append(pushed.layers, ld.String())
	}
	ref := e.s.RegistryHost + "/" + repo + "@" + d.String()
	if tag != "" {
		ref = e.s.RegistryHost + "/" + repo + ":" + tag
	}
	// The password names the region the push goes to.
	r, err := name.ParseReference(ref, name.Insecure)
	e.must(err)
	e.must(remote.Write(r, img, remote.WithAuth(e.registryAuth(e.region))))
	return pushed
}

// taskDefinitionOptions shape the task definitions examples run.
type taskDefinitionOptions struct {
	fargate bool
	// awsvpc gives the tasks network interfaces of their own, as Fargate
	// does, on the EC2 launch type.
	awsvpc bool
	// container is the container's name (default "app").
	container string
	// port, when set, is a container port published on a port Docker
	// picks.
	port int32
}

// taskDefinition registers family until it has revision rev, running the
// toolbox image, and returns the last one's ARN.
func (e *exampleEnv) taskDefinition(family string, rev int32, o taskDefinitionOptions) string {
	e.t.Helper()
	in := &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name:      aws.String(cmp.Or(o.container, "app")),
			Image:     aws.String(e.image),
			Essential: aws.Bool(true),
			Memory:    aws.Int32(64),
		}},
	}
	if o.port != 0 {
		in.ContainerDefinitions[0].PortMappings = []ecstypes.PortMapping{{ContainerPort: aws.Int32(o.port)}}
	}
	if o.fargate {
		// Fargate pulls the image from ECR as the execution role.
		in.ExecutionRoleArn = aws.String(e.executionRole())
		in.RequiresCompatibilities = []ecstypes.Compatibility{ecstypes.CompatibilityFargate}
		in.NetworkMode = ecstypes.NetworkModeAwsvpc
		in.Cpu, in.Memory = aws.String("256"), aws.String("512")
	}
	if o.awsvpc {
		in.NetworkMode = ecstypes.NetworkModeAwsvpc
	}
	for {
		out, err := e.ecs.RegisterTaskDefinition(e.ctx(), in)
		e.must(err)
		if out.TaskDefinition.Revision >= rev {
			return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
		}
	}
}

// awsvpcConfiguration is a network configuration for Fargate tasks: the
// first default subnet of the region's default VPC.
func (e *exampleEnv) awsvpcConfiguration() *ecstypes.NetworkConfiguration {
	e.t.Helper()
	out, err := e.ec2.DescribeSubnets(e.ctx(), &ec2.DescribeSubnetsInput{
		Filters: []ec2types.Filter{{Name: aws.String("default-for-az"), Values: []string{"true"}}},
	})
	e.must(err)
	if len(out.Subnets) == 0 {
		e.t.Fatal("the default VPC has no subnets")
	}
	return &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
		Subnets: []string{aws.ToString(out.Subnets[0].SubnetId)},
	}}
}

// runTasks runs count tasks of taskDefinition in cluster and waits until
// they run; it returns their ARNs.
func (e *exampleEnv) runTasks(cluster, taskDefinition string, count int32, fargate bool) []string {
	e.t.Helper()
	e.cluster(cluster)
	in := &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String(taskDefinition), Count: aws.Int32(count)}
	if fargate {
		in.LaunchType = ecstypes.LaunchTypeFargate
		in.NetworkConfiguration = e.awsvpcConfiguration()
	}
	out, err := e.ecs.RunTask(e.ctx(), in)
	e.must(err)
	if len(out.Tasks) != int(count) {
		e.t.Fatalf("setup: run-task started %d of %d tasks: %+v", len(out.Tasks), count, out.Failures)
	}
	var arns []string
	for _, task := range out.Tasks {
		arns = append(arns, aws.ToString(task.TaskArn))
	}
	e.waitTasks(cluster, arns, "RUNNING")
	return arns
}

// waitTasks waits until the tasks have status.
func (e *exampleEnv) waitTasks(cluster string, arns []string, status string) {
	e.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := e.ecs.DescribeTasks(e.ctx(), &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: arns})
		e.must(err)
		done := len(out.Tasks) == len(arns)
		for _, task := range out.Tasks {
			done = done && aws.ToString(task.LastStatus) == status
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("setup: tasks %v did not reach %s", arns, status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// service creates a service of taskDefinition in cluster and waits until
// its tasks run.
func (e *exampleEnv) service(cluster, name, taskDefinition string, desired int32, fargate bool) string {
	e.t.Helper()
	e.cluster(cluster)
	in := &ecs.CreateServiceInput{
		Cluster: aws.String(cluster), ServiceName: aws.String(name),
		TaskDefinition: aws.String(taskDefinition), DesiredCount: aws.Int32(desired),
	}
	if fargate {
		in.LaunchType = ecstypes.LaunchTypeFargate
		in.NetworkConfiguration = e.awsvpcConfiguration()
	}
	return e.createService(in, false)
}

// createService creates the service and waits until its tasks run and,
// if rollout, until its deployment has completed (which takes ECS's 40 s
// of running for a task without a health check); it returns the service's
// ARN.
func (e *exampleEnv) createService(in *ecs.CreateServiceInput, rollout bool) string {
	e.t.Helper()
	out, err := e.ecs.CreateService(e.ctx(), in)
	e.must(err)
	cluster, name, desired := aws.ToString(in.Cluster), aws.ToString(in.ServiceName), aws.ToInt32(in.DesiredCount)
	deadline := time.Now().Add(time.Minute)
	for {
		d, err := e.ecs.DescribeServices(e.ctx(), &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name}})
		e.must(err)
		if len(d.Services) == 1 && d.Services[0].RunningCount == desired && (!rollout || rolledOut(d.Services[0])) {
			return aws.ToString(out.Service.ServiceArn)
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("setup: service %s did not reach %d running tasks", name, desired)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// rolledOut reports whether the service's deployment has completed.
func rolledOut(svc ecstypes.Service) bool {
	return len(svc.Deployments) == 1 && svc.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateCompleted
}

// containerInstance returns the ARN of the server's own container instance
// in cluster.
func (e *exampleEnv) containerInstance(cluster string) string {
	e.t.Helper()
	out, err := e.ecs.ListContainerInstances(e.ctx(), &ecs.ListContainerInstancesInput{Cluster: aws.String(cluster)})
	e.must(err)
	if len(out.ContainerInstanceArns) == 0 {
		e.t.Fatalf("setup: cluster %s has no container instance", cluster)
	}
	return out.ContainerInstanceArns[0]
}
