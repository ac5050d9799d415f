package e2e

import (
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// The article's account and region: its task definitions name images as
// 123456789012.dkr.ecr.us-east-1.amazonaws.com/..., which resolve to berth's
// own registry when the server acts as that account.
const articleAccount = "123456789012"

// articleTaskDefinition reads one of the article's task definitions
// (testdata/article, copied verbatim) as a generic JSON document.
func articleTaskDefinition(t testing.TB, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile("testdata/article/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var td map[string]any
	if err := json.Unmarshal(b, &td); err != nil {
		t.Fatal(err)
	}
	return td
}

func containerDefs(td map[string]any) []map[string]any {
	var out []map[string]any
	for _, c := range td["containerDefinitions"].([]any) {
		out = append(out, c.(map[string]any))
	}
	return out
}

// TestECSArticleTaskDefinitions is the article's ECS section up to running a
// task: its create-cluster command, its IAM roles (articleRoles), both
// task definitions registered verbatim and a task of the first, which
// reaches RUNNING with its secrets in its environment, its logs in
// CloudWatch Logs and its task role's credentials within reach of an AWS
// SDK inside it. The same definition with the article's health check on a
// short interval passes `curl -f http://localhost:8080/health` and answers
// on its IP.
func TestECSArticleTaskDefinitions(t *testing.T) {
	s := StartECSServer(t, ServerOptions{AccountID: articleAccount, Region: "us-east-1"})
	image := pushToolbox(t, s, "api-service", "v1.2.3")
	if image != "123456789012.dkr.ecr.us-east-1.amazonaws.com/api-service:v1.2.3" {
		t.Fatalf("image %s is not the article's name", image)
	}

	s.AWS(t, "ecs", "create-cluster",
		"--cluster-name", "prod-cluster",
		"--capacity-providers", "FARGATE", "FARGATE_SPOT",
		"--default-capacity-provider-strategy",
		"capacityProvider=FARGATE,weight=1,base=1",
		"capacityProvider=FARGATE_SPOT,weight=3",
		"--settings", "name=containerInsights,value=enabled").OK(t)

	reg := s.AWS(t, "ecs", "register-task-definition", "--cli-input-json", "file://testdata/article/task-def.json").OK(t)
	td := reg.JSON["taskDefinition"].(map[string]any)
	if td["taskDefinitionArn"] != "arn:aws:ecs:us-east-1:123456789012:task-definition/api-service:1" || td["status"] != "ACTIVE" {
		t.Fatalf("registered: %s", reg.Stdout)
	}
	s.AWS(t, "ecs", "register-task-definition", "--cli-input-json", "file://testdata/article/sidecar-task-def.json").OK(t)
	desc := s.AWSv2(t, "ecs", "describe-task-definition", "--task-definition", "api-service:1").OK(t)
	got := desc.JSON["taskDefinition"].(map[string]any)
	for field, want := range map[string]any{"family": "api-service", "cpu": "512", "memory": "1024", "networkMode": "awsvpc",
		"executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"} {
		if got[field] != want {
			t.Errorf("describe-task-definition %s = %v, want %v", field, got[field], want)
		}
	}

	// ECS assumes only roles that exist and trust it.
	s.AWS(t, "ecs", "run-task", "--cluster", "prod-cluster", "--task-definition", "api-service", "--network-configuration", awsvpcFlag(t, s)).
		Fails(t, "ECS was unable to assume the role 'arn:aws:iam::123456789012:role/api-service-task-role' that was provided for this task.")

	// The article's roles, the secret and parameter its task definition
	// names, and its log group; then its task, verbatim.
	articleRoles(t, s)
	s.AWS(t, "secretsmanager", "create-secret", "--name", "db-password", "--secret-string", articleDBPassword).OK(t)
	s.AWS(t, "ssm", "put-parameter", "--name", "/api/key", "--type", "SecureString", "--value", articleAPIKey).OK(t)
	s.AWS(t, "logs", "create-log-group", "--log-group-name", "/ecs/api-service").OK(t)
	arn := runTask(t, s, "--cluster", "prod-cluster", "--task-definition", "api-service", "--network-configuration", awsvpcFlag(t, s))
	s.AWSv2(t, "ecs", "wait", "tasks-running", "--cluster", "prod-cluster", "--tasks", arn).OK(t)
	task := describeTask(t, s, "prod-cluster", arn)
	base := "http://" + taskIP(t, task) + ":8080"
	waitHTTPOK(t, base+"/health", 10*time.Second)
	for name, want := range map[string]string{"DB_PASSWORD": articleDBPassword, "API_KEY": articleAPIKey, "APP_ENV": "production"} {
		if got := httpBody(t, base+"/env/"+name); got != want {
			t.Errorf("the task's %s is %q, want %q", name, got, want)
		}
	}
	if described := s.AWS(t, "ecs", "describe-tasks", "--cluster", "prod-cluster", "--tasks", arn).OK(t).Stdout; strings.Contains(described, articleDBPassword) || strings.Contains(described, articleAPIKey) {
		t.Errorf("describe-tasks shows a secret's value")
	}
	// Its output is in the article's log group, in the stream the
	// article's prefix names.
	taskID := arn[strings.LastIndex(arn, "/")+1:]
	waitFor(t, 20*time.Second, "the task's output in CloudWatch Logs", func() bool {
		out := s.AWS(t, "logs", "get-log-events", "--log-group-name", "/ecs/api-service", "--log-stream-name", "api/api/"+taskID)
		return out.ExitCode == 0 && strings.Contains(out.Stdout, "app listening on :8080")
	})
	// An SDK inside the task finds berth and the task role's credentials
	// with no setup: it is the task role's session, named after the task.
	var who map[string]string
	json.Unmarshal([]byte(httpBody(t, base+"/aws/whoami")), &who)
	if who["Arn"] != "arn:aws:sts::123456789012:assumed-role/api-service-task-role/"+taskID || who["Account"] != articleAccount {
		t.Fatalf("GetCallerIdentity inside the task: %v", who)
	}
	// The task role has no policy yet: ECR refuses it, in IAM's words.
	denied := httpJSON(t, base+"/aws/ecr/repositories", http.StatusBadGateway)
	if denied["code"] != "AccessDeniedException" || !strings.Contains(denied["message"].(string),
		"User: arn:aws:sts::123456789012:assumed-role/api-service-task-role/"+taskID+" is not authorized to perform: ecr:DescribeRepositories") {
		t.Fatalf("ECR call without a policy: %v", denied)
	}
	s.AWS(t, "iam", "attach-role-policy", "--role-name", "api-service-task-role",
		"--policy-arn", "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly").OK(t)
	if repos := httpBody(t, base+"/aws/ecr/repositories"); !strings.Contains(repos, `"api-service"`) {
		t.Fatalf("ECR call once the policy is attached: %s", repos)
	}
	s.AWS(t, "ecs", "stop-task", "--cluster", "prod-cluster", "--task", arn).OK(t)

	// The same definition, health check as written but on a short
	// interval.
	runnable := articleTaskDefinition(t, "task-def.json")
	api := containerDefs(runnable)[0]
	hc := api["healthCheck"].(map[string]any)
	hc["interval"], hc["startPeriod"] = 5, 0
	s.AWS(t, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "runnable.json", runnable)).OK(t)
	arn = runTask(t, s, "--cluster", "prod-cluster", "--task-definition", "api-service:2", "--network-configuration", awsvpcFlag(t, s))
	s.AWSv2(t, "ecs", "wait", "tasks-running", "--cluster", "prod-cluster", "--tasks", arn).OK(t)
	task = describeTask(t, s, "prod-cluster", arn)
	if aws.ToString(task.CapacityProviderName) != "FARGATE" || task.LaunchType != ecstypes.LaunchTypeFargate {
		t.Errorf("first task of the cluster's strategy: capacity provider %q, launch type %q; want FARGATE (base 1)", aws.ToString(task.CapacityProviderName), task.LaunchType)
	}
	ip := taskIP(t, task)
	resp, err := http.Get("http://" + ip + ":8080/health")
	if err != nil {
		t.Fatalf("the task's IP %s is not reachable from the host: %v", ip, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /health on the task: %s", resp.Status)
	}
	healthy := waitTask(t, s, "prod-cluster", arn, 40*time.Second, "HEALTHY", func(task ecstypes.Task) bool {
		return task.HealthStatus == ecstypes.HealthStatusHealthy
	})
	if c := container(t, healthy, "api"); c.HealthStatus != ecstypes.HealthStatusHealthy || aws.ToString(c.RuntimeId) == "" {
		t.Errorf("container api: health %s, runtimeId %q", c.HealthStatus, aws.ToString(c.RuntimeId))
	}

	s.AWS(t, "ecs", "stop-task", "--cluster", "prod-cluster", "--task", arn).OK(t)
	s.AWSv2(t, "ecs", "wait", "tasks-stopped", "--cluster", "prod-cluster", "--tasks", arn).OK(t)
	task = describeTask(t, s, "prod-cluster", arn)
	if task.StopCode != ecstypes.TaskStopCodeUserInitiated || aws.ToString(task.StoppedReason) != "Task stopped by user" {
		t.Errorf("stopped task: stopCode %s, reason %q", task.StopCode, aws.ToString(task.StoppedReason))
	}
	if c := container(t, task, "api"); c.ExitCode == nil || *c.ExitCode != 0 {
		t.Errorf("api exit code %v, want 0 (the app ends on SIGTERM)", c.ExitCode)
	}
	if task.StoppedAt == nil || task.StartedAt == nil || task.PullStartedAt == nil {
		t.Errorf("stopped task lacks timestamps:\n%s", jsonString(task))
	}
}

// sidecarTask is a Fargate task definition in the article's sidecar shape:
// the app, a sidecar that reaches it on localhost once it is healthy, and a
// container that reads the task metadata endpoint.
func sidecarTask(family, image, executionRole string) map[string]any {
	return map[string]any{
		"family":                  family,
		"executionRoleArn":        executionRole,
		"networkMode":             "awsvpc",
		"requiresCompatibilities": []string{"FARGATE"},
		"cpu":                     "512",
		"memory":                  "1024",
		"containerDefinitions": []map[string]any{
			{
				"name": "api", "image": image, "essential": true,
				"portMappings": []map[string]any{{"containerPort": 8080}},
				"healthCheck": map[string]any{
					"command":  []string{"CMD-SHELL", "curl -f http://localhost:8080/health || exit 1"},
					"interval": 5, "timeout": 5, "retries": 3,
				},
				"linuxParameters": map[string]any{"initProcessEnabled": true},
			},
			{
				"name": "sidecar", "image": image, "essential": false,
				"entryPoint": []string{"/bin/sh", "-c"},
				"command":    []string{"curl -f http://localhost:8080/health"},
				"dependsOn":  []map[string]any{{"containerName": "api", "condition": "HEALTHY"}},
			},
			{
				"name": "metadata", "image": image, "essential": false,
				"entryPoint": []string{"/bin/sh", "-c"},
				"command":    []string{`curl -f "$ECS_CONTAINER_METADATA_URI_V4/task" && echo && env | grep -E '^(ECS_|AWS_)' | sort`},
			},
		},
	}
}

// TestECSSidecarAndMetadata: containers of one task share its network, so the
// sidecar reaches the app on localhost; dependsOn HEALTHY holds the sidecar
// until the app's health check passes; every container sees the task
// metadata endpoint and the ECS_* variables.
func TestECSSidecarAndMetadata(t *testing.T) {
	s := StartECSServer(t, ServerOptions{})
	image := pushToolbox(t, s, "sidecar-app", "v1")
	s.AWS(t, "ecs", "create-cluster", "--cluster-name", "side").OK(t)
	s.AWS(t, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "td.json", sidecarTask("with-sidecar", image, taskExecutionRole(t, s)))).OK(t)
	arn := runTask(t, s, "--cluster", "side", "--task-definition", "with-sidecar", "--launch-type", "FARGATE", "--network-configuration", awsvpcFlag(t, s))

	task := waitTask(t, s, "side", arn, 60*time.Second, "with both helpers exited", func(task ecstypes.Task) bool {
		return container(t, task, "sidecar").ExitCode != nil && container(t, task, "metadata").ExitCode != nil
	})
	if aws.ToString(task.LastStatus) != "RUNNING" {
		t.Fatalf("non-essential containers exiting stopped the task:\n%s", jsonString(task))
	}
	if code := *container(t, task, "sidecar").ExitCode; code != 0 {
		t.Errorf("sidecar's curl localhost:8080 exited %d", code)
	}
	meta := container(t, task, "metadata")
	if *meta.ExitCode != 0 {
		t.Fatalf("metadata container exited %d", *meta.ExitCode)
	}
	logs := Docker(t, "logs", aws.ToString(meta.RuntimeId)).OK(t).Stdout
	first, rest, _ := strings.Cut(logs, "\n")
	var md struct {
		Cluster, TaskARN, Family, Revision, KnownStatus, LaunchType string
		Containers                                                  []struct {
			Name     string
			Networks []struct {
				NetworkMode   string
				IPv4Addresses []string
			}
		}
	}
	if err := json.Unmarshal([]byte(first), &md); err != nil {
		t.Fatalf("task metadata is not JSON: %v\n%s", err, logs)
	}
	if md.TaskARN != arn || md.Family != "with-sidecar" || md.Revision != "1" || md.LaunchType != "FARGATE" || len(md.Containers) != 3 {
		t.Errorf("task metadata: %+v", md)
	}
	ip := taskIP(t, task)
	for _, c := range md.Containers {
		if len(c.Networks) != 1 || c.Networks[0].NetworkMode != "awsvpc" || len(c.Networks[0].IPv4Addresses) != 1 || c.Networks[0].IPv4Addresses[0] != ip {
			t.Errorf("metadata networks of %s: %+v, want awsvpc %s", c.Name, c.Networks, ip)
		}
	}
	for _, want := range []string{"ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2", "AWS_EXECUTION_ENV=AWS_ECS_FARGATE", "AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1"} {
		if !strings.Contains(rest, want) {
			t.Errorf("container environment lacks %s:\n%s", want, rest)
		}
	}
}

// simpleTask registers a one-container Fargate task definition running the
// toolbox app with args and the given container fields, and returns its
// family.
func simpleTask(t testing.TB, s *Server, family, image string, args []string, fields map[string]any) string {
	t.Helper()
	c := map[string]any{"name": "app", "image": image, "essential": true}
	if args != nil {
		c["command"] = args
	}
	for k, v := range fields {
		c[k] = v
	}
	td := map[string]any{
		"family": family, "networkMode": "awsvpc", "requiresCompatibilities": []string{"FARGATE"},
		"cpu": "256", "memory": "512", "containerDefinitions": []map[string]any{c},
		"executionRoleArn": taskExecutionRole(t, s),
	}
	s.AWS(t, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, family+".json", td)).OK(t)
	return family
}

// TestECSTaskEndings covers how tasks end: an essential container exiting,
// a container over its memory limit, a stop that SIGTERM does not finish,
// an image that does not exist, and a health check that fails while the
// task keeps running.
func TestECSTaskEndings(t *testing.T) {
	s := StartECSServer(t, ServerOptions{})
	image := pushToolbox(t, s, "endings", "v1")
	s.AWS(t, "ecs", "create-cluster", "--cluster-name", "endings").OK(t)
	run := func(family string) string {
		return runTask(t, s, "--cluster", "endings", "--task-definition", family, "--launch-type", "FARGATE", "--network-configuration", awsvpcFlag(t, s))
	}

	exits := run(simpleTask(t, s, "exits", image, []string{"-exit-after", "1s", "-exit-code", "3"}, nil))
	oom := run(simpleTask(t, s, "oom", image, []string{"-alloc-mib", "256"}, map[string]any{"memory": 32}))
	stubborn := run(simpleTask(t, s, "stubborn", image, []string{"-ignore-sigterm"}, map[string]any{"stopTimeout": 2}))
	missing := runTask(t, s, "--cluster", "endings", "--task-definition",
		simpleTask(t, s, "missing", s.ECRImageRef("endings", "no-such-tag"), nil, nil),
		"--launch-type", "FARGATE", "--network-configuration", awsvpcFlag(t, s))
	unhealthy := run(simpleTask(t, s, "unhealthy", image, []string{"-health-status", "500"}, map[string]any{
		"healthCheck": map[string]any{"command": []string{"CMD-SHELL", "curl -f http://localhost:8080/health || exit 1"}, "interval": 5, "retries": 1, "timeout": 2},
	}))

	// dependsOn SUCCESS: app starts once init exits 0; a failing init
	// stops the task before app ever starts.
	registerInit := func(family, initCode string) {
		s.AWS(t, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, family+".json", map[string]any{
			"family": family, "networkMode": "awsvpc", "requiresCompatibilities": []string{"FARGATE"}, "cpu": "256", "memory": "512",
			"executionRoleArn": taskExecutionRole(t, s),
			"containerDefinitions": []map[string]any{
				{"name": "init", "image": image, "essential": false, "command": []string{"-exit-after", "500ms", "-exit-code", initCode}},
				{"name": "app", "image": image, "essential": true, "dependsOn": []map[string]any{{"containerName": "init", "condition": "SUCCESS"}}},
			},
		})).OK(t)
	}
	registerInit("init-ok", "0")
	registerInit("init-fails", "1")
	initOK, initFails := run("init-ok"), run("init-fails")

	task := waitTaskStatus(t, s, "endings", initOK, "RUNNING", 60*time.Second)
	if c := container(t, task, "init"); c.ExitCode == nil || *c.ExitCode != 0 || aws.ToString(container(t, task, "app").LastStatus) != "RUNNING" {
		t.Errorf("dependsOn SUCCESS met: init exit %v, app %s", c.ExitCode, aws.ToString(container(t, task, "app").LastStatus))
	}
	task = waitTaskStatus(t, s, "endings", initFails, "STOPPED", 60*time.Second)
	if app := container(t, task, "app"); aws.ToString(app.RuntimeId) != "" && app.ExitCode != nil {
		t.Errorf("app ran although its SUCCESS dependency failed:\n%s", jsonString(task))
	}
	if task.StopCode != ecstypes.TaskStopCodeTaskFailedToStart {
		t.Errorf("dependsOn SUCCESS failed: stopCode %s, reason %q", task.StopCode, aws.ToString(task.StoppedReason))
	}

	task = waitTaskStatus(t, s, "endings", exits, "STOPPED", 60*time.Second)
	if task.StopCode != ecstypes.TaskStopCodeEssentialContainerExited || aws.ToString(task.StoppedReason) != "Essential container in task exited" {
		t.Errorf("essential exit: stopCode %s, reason %q", task.StopCode, aws.ToString(task.StoppedReason))
	}
	if c := container(t, task, "app"); c.ExitCode == nil || *c.ExitCode != 3 {
		t.Errorf("essential exit: exit code %v, want 3", c.ExitCode)
	}

	task = waitTaskStatus(t, s, "endings", oom, "STOPPED", 60*time.Second)
	if c := container(t, task, "app"); c.ExitCode == nil || *c.ExitCode != 137 || !strings.HasPrefix(aws.ToString(c.Reason), "OutOfMemoryError") {
		t.Errorf("OOM: exit code %v, reason %q; want 137 and OutOfMemoryError", c.ExitCode, aws.ToString(c.Reason))
	}

	waitTaskStatus(t, s, "endings", stubborn, "RUNNING", 60*time.Second)
	stopAt := time.Now()
	s.AWS(t, "ecs", "stop-task", "--cluster", "endings", "--task", stubborn, "--reason", "testing the stop timeout").OK(t)
	task = waitTaskStatus(t, s, "endings", stubborn, "STOPPED", 60*time.Second)
	if took := time.Since(stopAt); took < 2*time.Second || took > 20*time.Second {
		t.Errorf("a SIGTERM-ignoring container with stopTimeout 2 took %s to stop", took)
	}
	if c := container(t, task, "app"); c.ExitCode == nil || *c.ExitCode != 137 {
		t.Errorf("stop timeout: exit code %v, want 137 (SIGKILL)", c.ExitCode)
	}
	if aws.ToString(task.StoppedReason) != "testing the stop timeout" {
		t.Errorf("stoppedReason %q, want the stop-task reason", aws.ToString(task.StoppedReason))
	}

	// The reason is Docker's, as ECS on EC2 shows it, about the image as the
	// task definition names it: never berth's own registry address.
	task = waitTaskStatus(t, s, "endings", missing, "STOPPED", 60*time.Second)
	wantReason := "CannotPullContainerError: Error response from daemon: manifest for " + s.ECRImageRef("endings", "no-such-tag") + " not found: manifest unknown: Requested image not found"
	if aws.ToString(task.StoppedReason) != wantReason || task.StopCode != ecstypes.TaskStopCodeTaskFailedToStart {
		t.Errorf("missing image: stopCode %s, reason %q; want TaskFailedToStart, %q", task.StopCode, aws.ToString(task.StoppedReason), wantReason)
	}
	if c := container(t, task, "app"); aws.ToString(c.Reason) != wantReason || c.LastStatus == nil || *c.LastStatus != "STOPPED" {
		t.Errorf("missing image: container reason %q, status %v; want the task's reason, STOPPED", aws.ToString(c.Reason), c.LastStatus)
	}

	task = waitTask(t, s, "endings", unhealthy, 60*time.Second, "UNHEALTHY", func(task ecstypes.Task) bool {
		return task.HealthStatus == ecstypes.HealthStatusUnhealthy
	})
	if aws.ToString(task.LastStatus) != "RUNNING" {
		t.Errorf("an unhealthy standalone task must keep running, got %s", aws.ToString(task.LastStatus))
	}
}

// TestECSRestartSafety kills the server with SIGKILL while tasks run and one
// of their containers dies meanwhile: after the restart the running task is
// still RUNNING under the same ARN, the dead one is STOPPED with its exit
// code, and no container was duplicated or orphaned.
func TestECSRestartSafety(t *testing.T) {
	s := StartECSServer(t, ServerOptions{})
	image := pushToolbox(t, s, "restart", "v1")
	s.AWS(t, "ecs", "create-cluster", "--cluster-name", "restart").OK(t)
	family := simpleTask(t, s, "restart", image, nil, nil)
	var arns []string
	for range 2 {
		arns = append(arns, runTask(t, s, "--cluster", "restart", "--task-definition", family, "--launch-type", "FARGATE", "--network-configuration", awsvpcFlag(t, s)))
	}
	var ids []string
	for _, arn := range arns {
		task := waitTaskStatus(t, s, "restart", arn, "RUNNING", 60*time.Second)
		ids = append(ids, aws.ToString(container(t, task, "app").RuntimeId))
	}
	before := agentContainers(t, s)

	s.Kill(t)
	Docker(t, "kill", ids[1]).OK(t)
	s.Start(t)

	task := waitTaskStatus(t, s, "restart", arns[1], "STOPPED", 60*time.Second)
	if c := container(t, task, "app"); c.ExitCode == nil || *c.ExitCode != 137 || task.StopCode != ecstypes.TaskStopCodeEssentialContainerExited {
		t.Errorf("killed while the server was down: exit %v, stopCode %s", c.ExitCode, task.StopCode)
	}
	task = describeTask(t, s, "restart", arns[0])
	if aws.ToString(task.LastStatus) != "RUNNING" || aws.ToString(container(t, task, "app").RuntimeId) != ids[0] {
		t.Fatalf("the surviving task after restart:\n%s", jsonString(task))
	}
	resp, err := http.Get("http://" + taskIP(t, task) + ":8080/health")
	if err != nil {
		t.Fatalf("surviving task unreachable: %v", err)
	}
	resp.Body.Close()
	// Let the agent settle, then compare: the running task's containers are
	// the same ones; the stopped task lost only its network holder.
	time.Sleep(2 * time.Second)
	for _, id := range strings.Fields(agentContainers(t, s)) {
		if !strings.Contains(before, id) {
			t.Errorf("container %s was created by the restart", id)
		}
	}
	list, err := s.ECS().ListTasks(context.Background(), &ecs.ListTasksInput{Cluster: aws.String("restart")})
	if err != nil || len(list.TaskArns) != 1 || list.TaskArns[0] != arns[0] {
		t.Errorf("list-tasks after restart: %v %v", list, err)
	}
}

// TestECSErrors: ECS's validation, through the aws CLI.
func TestECSErrors(t *testing.T) {
	s := StartServer(t, ServerOptions{})
	s.AWS(t, "ecs", "create-cluster", "--cluster-name", "errs").OK(t)
	bad := map[string]any{
		"family": "bad-size", "networkMode": "awsvpc", "requiresCompatibilities": []string{"FARGATE"},
		"cpu": "256", "memory": "4096",
		"containerDefinitions": []map[string]any{{"name": "app", "image": "busybox"}},
	}
	s.AWS(t, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "bad.json", bad)).Fails(t, "No Fargate configuration exists for given values")
	bad["memory"], bad["networkMode"] = "512", "bridge"
	s.AWS(t, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "bad.json", bad)).Fails(t, "Fargate only supports network mode 'awsvpc'.")
	bad["networkMode"] = "awsvpc"
	s.AWS(t, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "ok.json", bad)).OK(t)
	s.AWS(t, "ecs", "run-task", "--cluster", "errs", "--task-definition", "bad-size", "--launch-type", "FARGATE").Fails(t, "Network Configuration must be provided when networkMode 'awsvpc' is specified.")
	s.AWS(t, "ecs", "run-task", "--cluster", "errs", "--task-definition", "bad-size", "--count", "11", "--launch-type", "FARGATE", "--network-configuration", awsvpcFlag(t, s)).Fails(t, "InvalidParameterException")
	s.AWS(t, "ecs", "run-task", "--cluster", "nope", "--task-definition", "bad-size", "--launch-type", "FARGATE", "--network-configuration", awsvpcFlag(t, s)).Fails(t, "ClusterNotFoundException")
	s.AWS(t, "ecs", "deregister-task-definition", "--task-definition", "bad-size:1").OK(t)
	s.AWS(t, "ecs", "run-task", "--cluster", "errs", "--task-definition", "bad-size:1", "--launch-type", "FARGATE", "--network-configuration", awsvpcFlag(t, s)).Fails(t, "TaskDefinition is inactive")
	var out struct{ Failures []struct{ Reason string } }
	s.AWS(t, "ecs", "describe-tasks", "--cluster", "errs", "--tasks", "0123456789abcdef0123456789abcdef").OK(t).Decode(t, &out)
	if len(out.Failures) != 1 || out.Failures[0].Reason != "MISSING" {
		t.Errorf("describe-tasks of an unknown task: %+v", out)
	}
}

// TestECSDockerUnavailable: with no Docker daemon, berth still takes the
// task and stops it with ECS's ResourceInitializationError saying why,
// rather than leaving it PROVISIONING forever.
func TestECSDockerUnavailable(t *testing.T) {
	RequireDocker(t) // the cleanup lists containers
	s := StartECSServer(t, ServerOptions{Env: []string{"DOCKER_HOST=unix://" + filepath.Join(t.TempDir(), "no-docker.sock")}})
	s.AWS(t, "ecs", "create-cluster", "--cluster-name", "nodocker").OK(t)
	family := simpleTask(t, s, "nodocker", s.ECRImageRef("nodocker", "v1"), nil, nil)
	arn := runTask(t, s, "--cluster", "nodocker", "--task-definition", family, "--launch-type", "FARGATE", "--network-configuration", awsvpcFlag(t, s))
	task := waitTaskStatus(t, s, "nodocker", arn, "STOPPED", 60*time.Second)
	reason := aws.ToString(task.StoppedReason)
	if task.StopCode != ecstypes.TaskStopCodeTaskFailedToStart || !strings.HasPrefix(reason, "ResourceInitializationError:") || !strings.Contains(reason, "no-docker.sock") {
		t.Errorf("without Docker: stopCode %s, reason %q; want TaskFailedToStart, ResourceInitializationError naming the socket", task.StopCode, reason)
	}
}

// TestECSTaskLevelLimitsAndOverrides: RunTask's overrides replace the
// command and add to the environment; the container runs as the user and in
// the directory the definition says, under an init process, with its
// ulimits and a read-only root; the task-level memory limit holds even for
// a container without a limit of its own.
func TestECSTaskLevelLimitsAndOverrides(t *testing.T) {
	s := StartECSServer(t, ServerOptions{})
	image := pushToolbox(t, s, "limits", "v1")
	s.AWS(t, "ecs", "create-cluster", "--cluster-name", "limits").OK(t)

	// The app allocates past the task's 512 MiB; the container has no limit.
	hog := runTask(t, s, "--cluster", "limits", "--task-definition",
		simpleTask(t, s, "hog", image, []string{"-alloc-mib", "900"}, nil),
		"--launch-type", "FARGATE", "--network-configuration", awsvpcFlag(t, s))

	probe := simpleTask(t, s, "probe", image, []string{"-exit-after", "1h"}, map[string]any{
		"entryPoint":             []string{"/bin/sh", "-c"},
		"user":                   "65534",
		"workingDirectory":       "/tmp",
		"readonlyRootFilesystem": true,
		"ulimits":                []map[string]any{{"name": "nofile", "softLimit": 1234, "hardLimit": 2345}},
		"linuxParameters":        map[string]any{"initProcessEnabled": true},
		"environment":            []map[string]any{{"name": "FROM_DEFINITION", "value": "kept"}},
	})
	overrides := `{"containerOverrides":[{"name":"app","command":["echo user=$(id -u) dir=$(pwd) nofile=$(ulimit -n) def=$FROM_DEFINITION over=$FROM_OVERRIDE pid1=$(tr '\\0' ' ' </proc/1/cmdline); touch /rootfs-write 2>/dev/null && echo rootfs=writable || echo rootfs=readonly"],"environment":[{"name":"FROM_OVERRIDE","value":"added"}]}]}`
	arn := runTask(t, s, "--cluster", "limits", "--task-definition", probe, "--launch-type", "FARGATE",
		"--network-configuration", awsvpcFlag(t, s), "--overrides", overrides)
	task := waitTaskStatus(t, s, "limits", arn, "STOPPED", 60*time.Second)
	c := container(t, task, "app")
	if c.ExitCode == nil || *c.ExitCode != 0 || task.StopCode != ecstypes.TaskStopCodeEssentialContainerExited {
		t.Fatalf("probe: exit %v, stopCode %s", c.ExitCode, task.StopCode)
	}
	out := Docker(t, "logs", aws.ToString(c.RuntimeId)).OK(t).Stdout
	for _, want := range []string{"user=65534", "dir=/tmp", "nofile=1234", "def=kept", "over=added", "rootfs=readonly", "docker-init"} {
		if !strings.Contains(out, want) {
			t.Errorf("probe output lacks %q:\n%s", want, out)
		}
	}

	task = waitTaskStatus(t, s, "limits", hog, "STOPPED", 90*time.Second)
	if c := container(t, task, "app"); c.ExitCode == nil || *c.ExitCode != 137 || !strings.HasPrefix(aws.ToString(c.Reason), "OutOfMemoryError") {
		t.Errorf("task-level memory: exit %v, reason %q; want 137 and OutOfMemoryError", c.ExitCode, aws.ToString(c.Reason))
	}
}

// TestECSSDKTasksAndInstances drives the task API with aws-sdk-go-v2:
// several tasks in one RunTask, ListTasks' filters, tags, the cluster's
// counts and the host's container instance.
func TestECSSDKTasksAndInstances(t *testing.T) {
	s := StartECSServer(t, ServerOptions{})
	image := pushToolbox(t, s, "sdk", "v1")
	ctx := context.Background()
	client := s.ECS()
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("sdk")}); err != nil {
		t.Fatal(err)
	}
	simpleTask(t, s, "sdk", image, nil, nil)
	run, err := client.RunTask(ctx, &ecs.RunTaskInput{
		Cluster: aws.String("sdk"), TaskDefinition: aws.String("sdk"), Count: aws.Int32(3),
		LaunchType: ecstypes.LaunchTypeFargate, StartedBy: aws.String("sdk-test"),
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: defaultSubnets(t, s)[:1]}},
		Tags:                 []ecstypes.Tag{{Key: aws.String("team"), Value: aws.String("berth")}},
	})
	if err != nil || len(run.Tasks) != 3 {
		t.Fatalf("RunTask count 3: %v, %+v", err, run)
	}
	ips := map[string]bool{}
	var arns []string
	for _, task := range run.Tasks {
		arn := aws.ToString(task.TaskArn)
		arns = append(arns, arn)
		ips[taskIP(t, waitTaskStatus(t, s, "sdk", arn, "RUNNING", 60*time.Second))] = true
	}
	if len(ips) != 3 {
		t.Errorf("3 tasks got %d distinct IPs", len(ips))
	}

	desc, err := client.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"sdk"}})
	if err != nil || len(desc.Clusters) != 1 || desc.Clusters[0].RunningTasksCount != 3 {
		t.Errorf("DescribeClusters: %v %s", err, jsonString(desc))
	}
	tags, err := client.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(arns[0])})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "berth" {
		t.Errorf("task tags: %v %+v", err, tags)
	}

	if _, err := client.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("sdk"), Task: aws.String(arns[0])}); err != nil {
		t.Fatal(err)
	}
	waitTaskStatus(t, s, "sdk", arns[0], "STOPPED", 60*time.Second)
	list := func(in ecs.ListTasksInput) []string {
		t.Helper()
		in.Cluster = aws.String("sdk")
		var all []string
		p := ecs.NewListTasksPaginator(client, &in, func(o *ecs.ListTasksPaginatorOptions) { o.Limit = 1 })
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("ListTasks: %v", err)
			}
			all = append(all, page.TaskArns...)
		}
		return all
	}
	if got := list(ecs.ListTasksInput{}); len(got) != 2 {
		t.Errorf("ListTasks (RUNNING by default): %v", got)
	}
	if got := list(ecs.ListTasksInput{DesiredStatus: ecstypes.DesiredStatusStopped}); len(got) != 1 || got[0] != arns[0] {
		t.Errorf("ListTasks STOPPED: %v", got)
	}
	if got := list(ecs.ListTasksInput{Family: aws.String("sdk"), StartedBy: aws.String("sdk-test")}); len(got) != 2 {
		t.Errorf("ListTasks by family and startedBy: %v", got)
	}

	instances, err := client.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("sdk")})
	if err != nil || len(instances.ContainerInstanceArns) != 1 {
		t.Fatalf("ListContainerInstances: %v %+v", err, instances)
	}
	ci, err := client.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("sdk"), ContainerInstances: instances.ContainerInstanceArns})
	if err != nil || len(ci.ContainerInstances) != 1 || !ci.ContainerInstances[0].AgentConnected || ci.ContainerInstances[0].RunningTasksCount != 2 {
		t.Fatalf("DescribeContainerInstances: %v %s", err, jsonString(ci))
	}
	if got := list(ecs.ListTasksInput{ContainerInstance: aws.String(instances.ContainerInstanceArns[0])}); len(got) != 2 {
		t.Errorf("ListTasks by container instance: %v", got)
	}

	// The EC2 launch type on the host's container instance: bridge
	// networking with a dynamic host port.
	_, err = client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("sdk-bridge"), NetworkMode: ecstypes.NetworkModeBridge,
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String(image), Memory: aws.Int32(64), Essential: aws.Bool(true),
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080), HostPort: aws.Int32(0)}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	started, err := client.StartTask(ctx, &ecs.StartTaskInput{Cluster: aws.String("sdk"), TaskDefinition: aws.String("sdk-bridge"), ContainerInstances: instances.ContainerInstanceArns})
	if err != nil || len(started.Tasks) != 1 {
		t.Fatalf("StartTask: %v %+v", err, started)
	}
	task := waitTaskStatus(t, s, "sdk", aws.ToString(started.Tasks[0].TaskArn), "RUNNING", 60*time.Second)
	if task.LaunchType != ecstypes.LaunchTypeEc2 || aws.ToString(task.ContainerInstanceArn) != instances.ContainerInstanceArns[0] {
		t.Errorf("StartTask's task: launch type %s on %s", task.LaunchType, aws.ToString(task.ContainerInstanceArn))
	}
	bindings := container(t, task, "app").NetworkBindings
	if len(bindings) == 0 || aws.ToInt32(bindings[0].HostPort) == 0 {
		t.Fatalf("bridge task has no host port binding:\n%s", jsonString(task))
	}
	// RUNNING means the process started, not that it listens yet.
	waitHTTPOK(t, fmt.Sprintf("http://127.0.0.1:%d/health", aws.ToInt32(bindings[0].HostPort)), 15*time.Second)
}

// TestECSKillDuringStart kills the server while a task is being started:
// after the restart the task reaches RUNNING with one set of containers.
func TestECSKillDuringStart(t *testing.T) {
	s := StartECSServer(t, ServerOptions{})
	image := pushToolbox(t, s, "midstart", "v1")
	s.AWS(t, "ecs", "create-cluster", "--cluster-name", "midstart").OK(t)
	family := simpleTask(t, s, "midstart", image, nil, map[string]any{
		"healthCheck": map[string]any{"command": []string{"CMD", "/app", "-check", "http://localhost:8080/health"}, "interval": 5},
	})
	s.AWS(t, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "two.json", map[string]any{
		"family": "midstart-two", "networkMode": "awsvpc", "requiresCompatibilities": []string{"FARGATE"}, "cpu": "256", "memory": "512",
		"executionRoleArn": taskExecutionRole(t, s),
		"containerDefinitions": []map[string]any{
			{"name": "app", "image": image, "essential": true, "healthCheck": map[string]any{"command": []string{"CMD", "/app", "-check", "http://localhost:8080/health"}, "interval": 5}},
			{"name": "after", "image": image, "essential": false, "command": []string{"-port", "9090"}, "dependsOn": []map[string]any{{"containerName": "app", "condition": "HEALTHY"}}},
		},
	})).OK(t)
	arns := []string{
		runTask(t, s, "--cluster", "midstart", "--task-definition", family, "--launch-type", "FARGATE", "--network-configuration", awsvpcFlag(t, s)),
		runTask(t, s, "--cluster", "midstart", "--task-definition", "midstart-two", "--launch-type", "FARGATE", "--network-configuration", awsvpcFlag(t, s)),
	}
	s.Kill(t) // the second task waits for app to be healthy
	s.Start(t)
	for _, arn := range arns {
		task := waitTaskStatus(t, s, "midstart", arn, "RUNNING", 60*time.Second)
		id := strings.TrimPrefix(arn[strings.LastIndex(arn, "/")+1:], "")
		names := Docker(t, "ps", "--all", "--format", "{{.Names}}", "--filter", "label=berth.task-id="+id).OK(t).Stdout
		if n := len(strings.Fields(names)); n != len(task.Containers)+1 {
			t.Errorf("task %s: %d containers (%s), want %d and its network holder", id, n, names, len(task.Containers))
		}
	}
}

// TestECSOrdinaryGoBuild runs a task with a berth built the ordinary Go
// way (`go build ./cmd/berth`, cgo as the toolchain has it: dynamically
// linked wherever a C compiler is installed). The agent runs berth itself
// in every task's network holder, which must work however it was linked:
// the task reaches RUNNING and answers on its address.
func TestECSOrdinaryGoBuild(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "berth")
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "CGO_ENABLED=") })
	if err := buildBerth(bin, env); err != nil {
		t.Fatal(err)
	}
	if dynamic, err := dynamicallyLinked(bin); err != nil {
		t.Fatal(err)
	} else {
		t.Logf("go build made a dynamically linked berth: %v", dynamic)
	}
	s := StartECSServer(t, ServerOptions{Bin: bin})
	image := pushToolbox(t, s, "plain-build", "v1")
	s.AWS(t, "ecs", "create-cluster", "--cluster-name", "plain").OK(t)
	simpleTask(t, s, "plain", image, nil, map[string]any{"portMappings": []map[string]any{{"containerPort": 8080}}})
	arn := runTask(t, s, "--cluster", "plain", "--task-definition", "plain", "--launch-type", "FARGATE", "--network-configuration", awsvpcFlag(t, s))
	task := waitTaskStatus(t, s, "plain", arn, "RUNNING", 60*time.Second)
	waitHTTPOK(t, "http://"+net.JoinHostPort(taskIP(t, task), "8080")+"/health", 15*time.Second)
}

// dynamicallyLinked reports whether an executable names an ELF
// interpreter.
func dynamicallyLinked(bin string) (bool, error) {
	f, err := elf.Open(bin)
	if err != nil {
		return false, err
	}
	defer f.Close()
	return slices.ContainsFunc(f.Progs, func(p *elf.Prog) bool { return p.Type == elf.PT_INTERP }), nil
}
