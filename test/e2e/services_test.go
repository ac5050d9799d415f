package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth/berth/internal/scheduler"
)

// The service tests each start their own server and run in parallel: a
// service reaches steady state in seconds because every task definition
// has a container health check on ECS's shortest interval (without one a
// service task counts healthy only 40 s after RUNNING).

// svcHealthCheck runs the toolbox image's curl against the app.
var svcHealthCheck = map[string]any{
	"command":  []string{"CMD", "curl", "-f", "http://localhost:8080/health"},
	"interval": 5, "timeout": 2, "retries": 2,
}

// svcPushMu serialises the image pushes of the parallel service tests:
// their `docker login`s rewrite the one docker config file, and two at
// once can lose each other's credentials.
var svcPushMu sync.Mutex

// svcEnv is one test's server with the toolbox image pushed and a cluster
// associated with FARGATE and FARGATE_SPOT.
type svcEnv struct {
	s       *Server
	client  *ecs.Client
	cluster string
	image   string
}

func startServiceEnv(t *testing.T, opts ServerOptions, cluster string) *svcEnv {
	t.Helper()
	s := StartECSServer(t, opts)
	e := &svcEnv{s: s, client: s.ECS(), cluster: cluster}
	func() {
		svcPushMu.Lock()
		defer svcPushMu.Unlock()
		e.image = pushToolbox(t, s, "svc-app", "v1")
	}()
	s.AWS(t, "ecs", "create-cluster", "--cluster-name", cluster, "--capacity-providers", "FARGATE", "FARGATE_SPOT").OK(t)
	return e
}

// registerApp registers a revision of family: one essential container
// running the toolbox app with command and the health check; version
// lands in the environment so revisions differ. It returns the ARN.
func (e *svcEnv) registerApp(t *testing.T, family, version string, command ...string) string {
	t.Helper()
	c := map[string]any{
		"name": "app", "image": e.image, "essential": true,
		"portMappings": []map[string]any{{"containerPort": 8080}},
		"healthCheck":  svcHealthCheck,
		"environment":  []map[string]any{{"name": "VERSION", "value": version}},
	}
	if len(command) > 0 {
		c["command"] = command
	}
	td := map[string]any{
		"family": family, "networkMode": "awsvpc", "requiresCompatibilities": []string{"FARGATE"},
		"cpu": "256", "memory": "512", "containerDefinitions": []map[string]any{c},
	}
	if role := taskExecutionRole(t, e.s); role != "" {
		td["executionRoleArn"] = role
	}
	var out struct {
		TaskDefinition struct {
			TaskDefinitionArn string `json:"taskDefinitionArn"`
		} `json:"taskDefinition"`
	}
	e.s.AWS(t, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, family+"-"+version+".json", td)).OK(t).Decode(t, &out)
	return out.TaskDefinition.TaskDefinitionArn
}

// createService runs `aws ecs create-service` in the cluster, its tasks in
// the default VPC, and returns the service's JSON.
func (e *svcEnv) createService(t *testing.T, name, taskDefinition string, desired int, args ...string) map[string]any {
	t.Helper()
	r := e.s.AWS(t, append([]string{"ecs", "create-service", "--cluster", e.cluster, "--service-name", name,
		"--task-definition", taskDefinition, "--desired-count", fmt.Sprint(desired),
		"--network-configuration", awsvpcFlag(t, e.s)}, args...)...).OK(t)
	svc, _ := r.JSON["service"].(map[string]any)
	if svc == nil {
		t.Fatalf("create-service returned no service:\n%s", r.Stdout)
	}
	return svc
}

func (e *svcEnv) updateService(t *testing.T, name string, args ...string) {
	t.Helper()
	e.s.AWS(t, append([]string{"ecs", "update-service", "--cluster", e.cluster, "--service", name}, args...)...).OK(t)
}

// describeService returns the service, failing the test if ECS does not
// know it.
func (e *svcEnv) describeService(t testing.TB, name string) ecstypes.Service {
	t.Helper()
	out, err := e.client.DescribeServices(context.Background(), &ecs.DescribeServicesInput{
		Cluster: aws.String(e.cluster), Services: []string{name},
	})
	if err != nil {
		t.Fatalf("DescribeServices %s: %v", name, err)
	}
	if len(out.Services) != 1 {
		t.Fatalf("DescribeServices %s: %d services, failures %s", name, len(out.Services), jsonString(out.Failures))
	}
	return out.Services[0]
}

// waitService polls the service every 200 ms until done, or fails the
// test after timeout.
func (e *svcEnv) waitService(t testing.TB, name string, timeout time.Duration, what string, done func(ecstypes.Service) bool) ecstypes.Service {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		svc := e.describeService(t, name)
		if done(svc) {
			return svc
		}
		if time.Now().After(deadline) {
			t.Fatalf("service %s: not %s after %s:\n%s", name, what, timeout, svcSummary(svc))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// steadyService is the services-stable waiter's condition made strict: the
// service ACTIVE with exactly one deployment, COMPLETED, and desiredCount
// tasks running, none pending.
func steadyService(svc ecstypes.Service) bool {
	return aws.ToString(svc.Status) == "ACTIVE" && len(svc.Deployments) == 1 &&
		svc.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateCompleted &&
		svc.RunningCount == svc.DesiredCount && svc.PendingCount == 0
}

func (e *svcEnv) waitSteady(t testing.TB, name string, timeout time.Duration) ecstypes.Service {
	t.Helper()
	return e.waitService(t, name, timeout, "steady", steadyService)
}

// cliWaitStable runs `aws ecs wait services-stable`. The CLI polls every
// 15 s, so tests call it once the service is stable (it answers on its
// first poll) unless they mean to wait with it.
func (e *svcEnv) cliWaitStable(t testing.TB, name string) {
	t.Helper()
	e.s.AWS(t, "ecs", "wait", "services-stable", "--cluster", e.cluster, "--services", name).OK(t)
}

// serviceTasks lists the service's tasks with the desired status (ListTasks
// serviceName, paginated) and describes them.
func (e *svcEnv) serviceTasks(t testing.TB, name string, desired ecstypes.DesiredStatus) []ecstypes.Task {
	t.Helper()
	arns, err := e.listServiceTasks(name, desired)
	if err != nil {
		t.Fatal(err)
	}
	return e.describeTasks(t, arns)
}

func (e *svcEnv) listServiceTasks(name string, desired ecstypes.DesiredStatus) ([]string, error) {
	var arns []string
	p := ecs.NewListTasksPaginator(e.client, &ecs.ListTasksInput{
		Cluster: aws.String(e.cluster), ServiceName: aws.String(name), DesiredStatus: desired,
	}, func(o *ecs.ListTasksPaginatorOptions) { o.Limit = 10 })
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			return nil, fmt.Errorf("ListTasks serviceName %s desiredStatus %s: %w", name, desired, err)
		}
		arns = append(arns, page.TaskArns...)
	}
	return arns, nil
}

// describeTasks describes tasks, failing the test on any failure.
func (e *svcEnv) describeTasks(t testing.TB, arns []string) []ecstypes.Task {
	t.Helper()
	tasks, err := e.describeTasksErr(arns)
	if err != nil {
		t.Fatal(err)
	}
	return tasks
}

func (e *svcEnv) describeTasksErr(arns []string) ([]ecstypes.Task, error) {
	var tasks []ecstypes.Task
	for chunk := range slices.Chunk(arns, 100) {
		out, err := e.client.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Cluster: aws.String(e.cluster), Tasks: chunk})
		if err != nil {
			return nil, fmt.Errorf("DescribeTasks: %w", err)
		}
		if len(out.Failures) > 0 {
			return nil, fmt.Errorf("DescribeTasks failures: %s", jsonString(out.Failures))
		}
		tasks = append(tasks, out.Tasks...)
	}
	return tasks, nil
}

// taskID is the last part of a task ARN, as events name tasks.
func taskID(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

func taskARNs(tasks []ecstypes.Task) []string {
	var arns []string
	for _, task := range tasks {
		arns = append(arns, aws.ToString(task.TaskArn))
	}
	sort.Strings(arns)
	return arns
}

// eventMessages are the service's event messages, newest first.
func eventMessages(svc ecstypes.Service) []string {
	var msgs []string
	for _, ev := range svc.Events {
		msgs = append(msgs, aws.ToString(ev.Message))
	}
	return msgs
}

// hasEvent reports whether the service has an event with exactly msg.
func hasEvent(svc ecstypes.Service, msg string) bool {
	return slices.Contains(eventMessages(svc), msg)
}

// eventsNaming returns the events that start with prefix and mention the
// task id.
func eventsNaming(svc ecstypes.Service, prefix, id string) []string {
	var out []string
	for _, msg := range eventMessages(svc) {
		if strings.HasPrefix(msg, prefix) && strings.Contains(msg, "(task "+id+")") {
			out = append(out, msg)
		}
	}
	return out
}

// svcSummary is the part of a service a failure message needs.
func svcSummary(svc ecstypes.Service) string {
	var b strings.Builder
	fmt.Fprintf(&b, "status %s desired %d running %d pending %d taskDefinition %s\n", aws.ToString(svc.Status),
		svc.DesiredCount, svc.RunningCount, svc.PendingCount, aws.ToString(svc.TaskDefinition))
	for _, d := range svc.Deployments {
		fmt.Fprintf(&b, "  deployment %s %s %s (%s) desired %d running %d pending %d failed %d %s\n", aws.ToString(d.Id),
			aws.ToString(d.Status), d.RolloutState, aws.ToString(d.RolloutStateReason), d.DesiredCount, d.RunningCount,
			d.PendingCount, d.FailedTasks, aws.ToString(d.TaskDefinition))
	}
	msgs := eventMessages(svc)
	for _, msg := range msgs[:min(len(msgs), 12)] {
		fmt.Fprintf(&b, "  event %s\n", msg)
	}
	return b.String()
}

func taskSummary(tasks []ecstypes.Task) string {
	var b strings.Builder
	for _, task := range tasks {
		fmt.Fprintf(&b, "  task %s %s/%s health %s startedBy %s td %s stopCode %s (%s)\n", taskID(aws.ToString(task.TaskArn)),
			aws.ToString(task.LastStatus), aws.ToString(task.DesiredStatus), task.HealthStatus, aws.ToString(task.StartedBy),
			aws.ToString(task.TaskDefinitionArn), task.StopCode, aws.ToString(task.StoppedReason))
	}
	return b.String()
}

// checkServiceTasks checks that the service runs exactly desired tasks of
// its one deployment, RUNNING and (within 20 s: a task started by a
// scale-out may still be on its first health check when the service is
// steady) HEALTHY, and returns them.
func (e *svcEnv) checkServiceTasks(t *testing.T, svc ecstypes.Service) []ecstypes.Task {
	t.Helper()
	name := aws.ToString(svc.ServiceName)
	dep := svc.Deployments[0]
	deadline := time.Now().Add(20 * time.Second)
	for {
		tasks := e.serviceTasks(t, name, ecstypes.DesiredStatusRunning)
		var wrong []ecstypes.Task
		unhealthy := false
		for _, task := range tasks {
			if aws.ToString(task.LastStatus) != "RUNNING" || aws.ToString(task.StartedBy) != aws.ToString(dep.Id) ||
				aws.ToString(task.Group) != "service:"+name || aws.ToString(task.TaskDefinitionArn) != aws.ToString(dep.TaskDefinition) {
				wrong = append(wrong, task)
			}
			unhealthy = unhealthy || task.HealthStatus != ecstypes.HealthStatusHealthy
		}
		if len(tasks) != int(svc.DesiredCount) || len(wrong) > 0 {
			t.Errorf("service %s: want %d tasks RUNNING, startedBy %s, group service:%s, on %s; ListTasks gives:\n%s", name,
				svc.DesiredCount, aws.ToString(dep.Id), name, aws.ToString(dep.TaskDefinition), taskSummary(tasks))
			return tasks
		}
		if !unhealthy {
			return tasks
		}
		if time.Now().After(deadline) {
			t.Errorf("service %s: tasks not HEALTHY 20 s after steady state:\n%s", name, taskSummary(tasks))
			return tasks
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestServiceArticleCreate is the article's "ECS Services" section: its
// create-service command verbatim, whose load balancer names a target
// group berth does not have (refused as ECS refuses it), then the same
// without the load balancer, `aws ecs wait services-stable` and the
// article's describe-services query.
func TestServiceArticleCreate(t *testing.T) {
	t.Parallel()
	s := StartECSServer(t, ServerOptions{AccountID: articleAccount, Region: "us-east-1"})
	func() {
		svcPushMu.Lock()
		defer svcPushMu.Unlock()
		pushToolbox(t, s, "api-service", "v1.2.3")
	}()
	s.AWS(t, "ecs", "create-cluster",
		"--cluster-name", "prod-cluster",
		"--capacity-providers", "FARGATE", "FARGATE_SPOT",
		"--default-capacity-provider-strategy",
		"capacityProvider=FARGATE,weight=1,base=1",
		"capacityProvider=FARGATE_SPOT,weight=3",
		"--settings", "name=containerInsights,value=enabled").OK(t)
	// The article's roles; api-service:1 is its definition verbatim; 2 and
	// 3 leave out the secrets and log group this test does not make, and
	// run the article's health check on a short interval.
	articleRoles(t, s)
	s.AWS(t, "ecs", "register-task-definition", "--cli-input-json", "file://testdata/article/task-def.json").OK(t)
	runnable := articleTaskDefinition(t, "task-def.json")
	api := containerDefs(runnable)[0]
	delete(api, "secrets")
	delete(api, "logConfiguration")
	hc := api["healthCheck"].(map[string]any)
	hc["interval"], hc["startPeriod"] = 5, 0
	for range 2 {
		s.AWS(t, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "runnable.json", runnable)).OK(t)
	}

	networkConfiguration := `{
            "awsvpcConfiguration": {
                "subnets": ["subnet-private-1a", "subnet-private-1b"],
                "securityGroups": ["sg-api-tasks"],
                "assignPublicIp": "DISABLED"
            }
        }`
	// The article's placeholders, made real: its tasks' security group,
	// made with its own command, in the default VPC's first two subnets.
	subnets := defaultSubnets(t, s)
	var group struct{ GroupId string }
	s.AWS(t, "ec2", "create-security-group",
		"--group-name", "ecs-api-tasks",
		"--description", "Allow traffic from ALB to API tasks",
		"--vpc-id", defaultVPC(t, s)).OK(t).Decode(t, &group)
	networkConfiguration = strings.NewReplacer("subnet-private-1a", subnets[0], "subnet-private-1b", subnets[1],
		"sg-api-tasks", group.GroupId).Replace(networkConfiguration)
	loadBalancers := `[{
            "targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api-tg/abc123",
            "containerName": "api",
            "containerPort": 8080
        }]`
	deploymentConfiguration := `{
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
            "deploymentCircuitBreaker": {
                "enable": true,
                "rollback": true
            }
        }`
	article := func(lb bool) []string {
		args := []string{"ecs", "create-service",
			"--cluster", "prod-cluster",
			"--service-name", "api-service",
			"--task-definition", "api-service:3",
			"--desired-count", "3",
			"--launch-type", "FARGATE",
			"--platform-version", "LATEST",
			"--network-configuration", networkConfiguration}
		if lb {
			args = append(args, "--load-balancers", loadBalancers)
		}
		return append(args,
			"--health-check-grace-period-seconds", "120",
			"--deployment-configuration", deploymentConfiguration,
			"--enable-execute-command")
	}

	// With the load balancer: ECS refuses a target group that does not
	// exist, and creates nothing.
	s.AWS(t, article(true)...).Fails(t, "InvalidParameterException").
		Fails(t, "The target group arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api-tg/abc123 does not exist.")
	if r := s.AWS(t, "ecs", "list-services", "--cluster", "prod-cluster").OK(t); strings.Contains(r.Stdout, "api-service") {
		t.Errorf("a refused create-service left a service:\n%s", r.Stdout)
	}

	created := s.AWS(t, article(false)...).OK(t)
	svc := created.JSON["service"].(map[string]any)
	wantARN := "arn:aws:ecs:us-east-1:123456789012:service/prod-cluster/api-service"
	for field, want := range map[string]any{
		"serviceArn": wantARN, "serviceName": "api-service", "status": "ACTIVE",
		"clusterArn":     "arn:aws:ecs:us-east-1:123456789012:cluster/prod-cluster",
		"taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/api-service:3",
		"desiredCount":   float64(3), "launchType": "FARGATE", "platformVersion": "LATEST",
		"healthCheckGracePeriodSeconds": float64(120), "enableExecuteCommand": true, "schedulingStrategy": "REPLICA",
	} {
		if svc[field] != want {
			t.Errorf("create-service %s = %v, want %v", field, svc[field], want)
		}
	}
	if dc, _ := svc["deploymentConfiguration"].(map[string]any); dc == nil || dc["maximumPercent"] != float64(200) ||
		dc["minimumHealthyPercent"] != float64(100) || fmt.Sprint(dc["deploymentCircuitBreaker"]) != "map[enable:true rollback:true]" {
		t.Errorf("create-service deploymentConfiguration = %v", svc["deploymentConfiguration"])
	}
	if deps, _ := svc["deployments"].([]any); len(deps) != 1 || deps[0].(map[string]any)["status"] != "PRIMARY" ||
		deps[0].(map[string]any)["rolloutState"] != "IN_PROGRESS" {
		t.Errorf("create-service deployments = %v, want one PRIMARY IN_PROGRESS", svc["deployments"])
	}

	// The article's next steps, verbatim.
	start := time.Now()
	s.AWS(t, "ecs", "wait", "services-stable", "--cluster", "prod-cluster", "--services", "api-service").OK(t)
	t.Logf("wait services-stable returned after %s", time.Since(start).Round(time.Millisecond))
	e := &svcEnv{s: s, client: s.ECS(), cluster: "prod-cluster"}
	stable := e.waitSteady(t, "api-service", 30*time.Second)

	var query struct {
		Desired, Running, Pending int
		Events                    []struct{ Message string }
	}
	s.AWS(t, "ecs", "describe-services", "--cluster", "prod-cluster", "--services", "api-service",
		"--query", "services[0].{desired:desiredCount,running:runningCount,pending:pendingCount,events:events[:5]}").OK(t).Decode(t, &query)
	if query.Desired != 3 || query.Running != 3 || query.Pending != 0 || len(query.Events) == 0 {
		t.Errorf("describe-services query: %+v, want desired 3, running 3, pending 0 and events", query)
	}

	dep := stable.Deployments[0]
	id := aws.ToString(dep.Id)
	if aws.ToString(dep.Status) != "PRIMARY" || !strings.HasPrefix(id, "ecs-svc/") || len(id) != len("ecs-svc/")+19 ||
		aws.ToString(dep.RolloutStateReason) != scheduler.ReasonDeploymentCompleted(id) ||
		dep.DesiredCount != 3 || dep.RunningCount != 3 || dep.PendingCount != 0 || dep.FailedTasks != 0 {
		t.Errorf("deployment at steady state:\n%s", jsonString(dep))
	}
	for _, want := range []string{scheduler.EventSteadyState("api-service"), scheduler.EventDeploymentCompleted("api-service", id)} {
		if !hasEvent(stable, want) {
			t.Errorf("no event %q:\n%s", want, svcSummary(stable))
		}
	}
	if msg := aws.ToString(stable.Events[0].Message); msg != scheduler.EventSteadyState("api-service") {
		t.Errorf("newest event %q, want the steady-state event", msg)
	}

	// `aws ecs list-tasks --cluster prod-cluster --service-name api-service`
	var listed struct{ TaskArns []string }
	s.AWS(t, "ecs", "list-tasks", "--cluster", "prod-cluster", "--service-name", "api-service").OK(t).Decode(t, &listed)
	tasks := e.checkServiceTasks(t, stable)
	if !slices.Equal(sortedCopy(listed.TaskArns), taskARNs(tasks)) {
		t.Errorf("list-tasks --service-name: %v, want %v", listed.TaskArns, taskARNs(tasks))
	}
	for _, task := range tasks {
		if task.LaunchType != ecstypes.LaunchTypeFargate || len(eventsNaming(stable, "(service api-service) has started", taskID(aws.ToString(task.TaskArn)))) != 1 {
			t.Errorf("task %s: launch type %s; started events %q", aws.ToString(task.TaskArn), task.LaunchType,
				eventsNaming(stable, "(service api-service) has started", taskID(aws.ToString(task.TaskArn))))
		}
	}
	var services struct{ ServiceArns []string }
	s.AWS(t, "ecs", "list-services", "--cluster", "prod-cluster").OK(t).Decode(t, &services)
	if !slices.Equal(services.ServiceArns, []string{wantARN}) {
		t.Errorf("list-services: %v", services.ServiceArns)
	}
	// Creating it again with other settings is refused: the name is taken.
	s.AWS(t, "ecs", "create-service", "--cluster", "prod-cluster", "--service-name", "api-service",
		"--task-definition", "api-service:2", "--desired-count", "1", "--launch-type", "FARGATE",
		"--network-configuration", networkConfiguration).Fails(t, "InvalidParameterException").Fails(t, "Creation of service was not idempotent.")
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

// TestServiceScale scales a service 3 -> 5 -> 2 with update-service
// --desired-count: scaling out keeps the tasks running, scaling in stops
// the extra ones with ServiceSchedulerInitiated; no new deployment.
func TestServiceScale(t *testing.T) {
	t.Parallel()
	e := startServiceEnv(t, ServerOptions{}, "scale")
	td := e.registerApp(t, "scale", "1")
	e.createService(t, "web", td, 3, "--launch-type", "FARGATE")
	first := e.waitSteady(t, "web", 60*time.Second)
	deployment := aws.ToString(first.Deployments[0].Id)
	three := e.checkServiceTasks(t, first)
	e.cliWaitStable(t, "web")

	e.updateService(t, "web", "--desired-count", "5")
	five := e.waitService(t, "web", 60*time.Second, "steady at 5", func(svc ecstypes.Service) bool {
		return svc.DesiredCount == 5 && steadyService(svc)
	})
	if got := aws.ToString(five.Deployments[0].Id); got != deployment {
		t.Errorf("scaling started deployment %s; want the same deployment %s", got, deployment)
	}
	fiveTasks := e.checkServiceTasks(t, five)
	if arns := taskARNs(fiveTasks); len(arns) == 5 {
		for _, arn := range taskARNs(three) {
			if !slices.Contains(arns, arn) {
				t.Errorf("scaling out replaced task %s", arn)
			}
		}
	}
	e.cliWaitStable(t, "web")

	e.updateService(t, "web", "--desired-count", "2")
	two := e.waitService(t, "web", 60*time.Second, "steady at 2", func(svc ecstypes.Service) bool {
		return svc.DesiredCount == 2 && steadyService(svc)
	})
	e.cliWaitStable(t, "web")
	twoTasks := e.checkServiceTasks(t, two)
	kept := taskARNs(twoTasks)
	var gone []string
	for _, arn := range taskARNs(fiveTasks) {
		if !slices.Contains(kept, arn) {
			gone = append(gone, arn)
		}
	}
	if len(gone) != 3 || len(kept) != 2 {
		t.Fatalf("scaling in from %v kept %v", taskARNs(fiveTasks), kept)
	}
	for _, arn := range gone {
		task := waitTaskStatus(t, e.s, "scale", arn, "STOPPED", 30*time.Second)
		if task.StopCode != ecstypes.TaskStopCodeServiceSchedulerInitiated ||
			aws.ToString(task.StoppedReason) != "Scaling activity initiated by (deployment "+deployment+")" {
			t.Errorf("scaled-in task %s: stopCode %s, reason %q", arn, task.StopCode, aws.ToString(task.StoppedReason))
		}
		if got := eventsNaming(two, "(service web) has stopped", taskID(arn)); len(got) != 1 {
			t.Errorf("task %s: stopped events %q", taskID(arn), got)
		}
	}
	stopped, err := e.listServiceTasks("web", ecstypes.DesiredStatusStopped)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sortedCopy(stopped), gone) {
		t.Errorf("ListTasks serviceName desiredStatus STOPPED: %v, want %v", stopped, gone)
	}
}

// TestServiceRollingUpdateZeroDowntime updates a service to a new revision
// with minimumHealthyPercent 100 and checks every 200 ms that at least
// desiredCount tasks serve (the old ones RUNNING, the new ones HEALTHY;
// none being stopped is counted), and that maximumPercent caps the tasks.
func TestServiceRollingUpdateZeroDowntime(t *testing.T) {
	t.Parallel()
	e := startServiceEnv(t, ServerOptions{}, "rolling")
	v1 := e.registerApp(t, "rolling", "1")
	v2 := e.registerApp(t, "rolling", "2")
	const desired = 3
	e.createService(t, "api", v1, desired, "--launch-type", "FARGATE",
		"--deployment-configuration", "maximumPercent=200,minimumHealthyPercent=100")
	before := e.waitSteady(t, "api", 60*time.Second)
	oldDeployment := aws.ToString(before.Deployments[0].Id)
	oldTasks := e.checkServiceTasks(t, before)

	// The old tasks serve while RUNNING, the new ones once HEALTHY.
	watch := &servingWatch{e: e, service: "api", baseline: oldDeployment, min: desired, max: desired * 200 / 100, known: map[string]bool{}}
	stopWatch := watch.start(t)
	defer stopWatch()

	// The article's Common Operations command.
	e.updateService(t, "api", "--task-definition", "rolling:2", "--force-new-deployment")
	after := e.waitService(t, "api", 90*time.Second, "steady on rolling:2", func(svc ecstypes.Service) bool {
		return steadyService(svc) && aws.ToString(svc.Deployments[0].TaskDefinition) == v2
	})
	stopWatch()
	e.cliWaitStable(t, "api")
	if watch.samples < 10 || watch.most <= desired {
		t.Errorf("the watch saw %d samples and at most %d tasks: it did not see the rollout", watch.samples, watch.most)
	}

	dep := after.Deployments[0]
	if aws.ToString(dep.Id) == oldDeployment || aws.ToString(dep.Status) != "PRIMARY" || aws.ToString(after.TaskDefinition) != v2 ||
		aws.ToString(dep.RolloutStateReason) != scheduler.ReasonDeploymentCompleted(aws.ToString(dep.Id)) {
		t.Errorf("after the update:\n%s", svcSummary(after))
	}
	e.checkServiceTasks(t, after)
	for _, task := range oldTasks {
		arn := aws.ToString(task.TaskArn)
		stopped := waitTaskStatus(t, e.s, "rolling", arn, "STOPPED", 30*time.Second)
		if stopped.StopCode != ecstypes.TaskStopCodeServiceSchedulerInitiated {
			t.Errorf("old task %s: stopCode %s, reason %q", arn, stopped.StopCode, aws.ToString(stopped.StoppedReason))
		}
	}
	if !hasEvent(after, scheduler.EventDeploymentCompleted("api", aws.ToString(dep.Id))) {
		t.Errorf("no deployment completed event:\n%s", svcSummary(after))
	}
}

// TestServiceCircuitBreakerRollback deploys a revision whose container
// exits at once: the circuit breaker fails the deployment and rolls back
// to the last completed one.
func TestServiceCircuitBreakerRollback(t *testing.T) {
	t.Parallel()
	e := startServiceEnv(t, ServerOptions{}, "breaker")
	good := e.registerApp(t, "breaker", "good")
	bad := e.registerApp(t, "breaker", "bad", "-exit-after", "1ms", "-exit-code", "1")
	const desired = 2 // threshold clamp(ceil(0.5 * 2), 3, 200) = 3
	e.createService(t, "api", good, desired, "--launch-type", "FARGATE",
		"--deployment-configuration", `{"maximumPercent":200,"minimumHealthyPercent":100,"deploymentCircuitBreaker":{"enable":true,"rollback":true}}`)
	before := e.waitSteady(t, "api", 60*time.Second)
	goodDeployment := aws.ToString(before.Deployments[0].Id)
	goodTasks := e.checkServiceTasks(t, before)

	e.updateService(t, "api", "--task-definition", bad)
	// Every deployment the service shows along the way, by id.
	seen := map[string]ecstypes.Deployment{}
	var failedSeen, rollbackSeen bool
	after := e.waitService(t, "api", 120*time.Second, "rolled back and steady", func(svc ecstypes.Service) bool {
		for _, d := range svc.Deployments {
			id := aws.ToString(d.Id)
			seen[id] = d
			if aws.ToString(d.TaskDefinition) == bad && d.RolloutState == ecstypes.DeploymentRolloutStateFailed &&
				aws.ToString(d.RolloutStateReason) == scheduler.ReasonBreakerFailed {
				failedSeen = true
			}
			if id != goodDeployment && aws.ToString(d.TaskDefinition) == good &&
				aws.ToString(d.RolloutStateReason) == scheduler.ReasonRollingBack(goodDeployment) {
				rollbackSeen = true
			}
		}
		return steadyService(svc) && aws.ToString(svc.Deployments[0].TaskDefinition) == good &&
			aws.ToString(svc.Deployments[0].Id) != goodDeployment
	})
	e.cliWaitStable(t, "api")

	var badDeployment string
	for id, d := range seen {
		if aws.ToString(d.TaskDefinition) == bad {
			badDeployment = id
		}
	}
	rollback := after.Deployments[0]
	t.Logf("good %s, bad %s, rollback %s", goodDeployment, badDeployment, aws.ToString(rollback.Id))
	if !failedSeen {
		// The server may retire the FAILED deployment at once (its tasks
		// are all stopped); the service deployments API keeps it.
		t.Logf("DescribeServices never showed the FAILED deployment; checking DescribeServiceDeployments")
	}
	if !rollbackSeen {
		t.Errorf("no rollback deployment of %s seen with reason %q; seen:\n%s", good, scheduler.ReasonRollingBack(goodDeployment), jsonString(seen))
	}
	e.checkFailedDeployment(t, "api", badDeployment, goodDeployment, desired)
	if aws.ToString(after.TaskDefinition) != good || aws.ToString(rollback.Id) == badDeployment {
		t.Errorf("after the rollback the service runs %s:\n%s", aws.ToString(after.TaskDefinition), svcSummary(after))
	}
	e.checkServiceTasks(t, after)
	if badDeployment != "" {
		out, err := e.client.ListTasks(context.Background(), &ecs.ListTasksInput{Cluster: aws.String("breaker"), StartedBy: aws.String(badDeployment), DesiredStatus: ecstypes.DesiredStatusStopped})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.TaskArns) < scheduler.BreakerThreshold(desired) {
			t.Errorf("the bad deployment stopped %d tasks, want >= %d", len(out.TaskArns), scheduler.BreakerThreshold(desired))
		}
		for _, task := range e.describeTasks(t, out.TaskArns) {
			if aws.ToString(task.LastStatus) != "STOPPED" {
				t.Errorf("bad task not STOPPED:\n%s", taskSummary([]ecstypes.Task{task}))
			}
		}
		if running, err := e.client.ListTasks(context.Background(), &ecs.ListTasksInput{Cluster: aws.String("breaker"), StartedBy: aws.String(badDeployment)}); err != nil || len(running.TaskArns) != 0 {
			t.Errorf("bad deployment's tasks still RUNNING: %v %v", err, running)
		}
	}
	for _, want := range []string{
		scheduler.EventDeploymentFailed("api", badDeployment),
		scheduler.EventDeploymentCompleted("api", aws.ToString(rollback.Id)),
		scheduler.EventSteadyState("api"),
	} {
		if !hasEvent(after, want) {
			t.Errorf("no event %q:\n%s", want, svcSummary(after))
		}
	}
	// The good tasks were never stopped for the bad revision: the breaker
	// tripped before any bad task was healthy.
	_ = goodTasks
}

// checkFailedDeployment checks, through ListServiceDeployments and
// DescribeServiceDeployments, that the circuit breaker failed deployment
// failed (its reason, its failure count at the threshold) and that its
// rollback to good succeeded.
func (e *svcEnv) checkFailedDeployment(t *testing.T, service, failed, good string, desired int) {
	t.Helper()
	ctx := context.Background()
	list, err := e.client.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String(e.cluster), Service: aws.String(service)})
	if err != nil {
		t.Fatalf("ListServiceDeployments: %v", err)
	}
	var arns []string
	for _, d := range list.ServiceDeployments {
		arns = append(arns, aws.ToString(d.ServiceDeploymentArn))
	}
	wantARN := fmt.Sprintf("arn:aws:ecs:%s:%s:service-deployment/%s/%s/%s", e.s.Region, e.s.AccountID, e.cluster, service,
		strings.TrimPrefix(failed, "ecs-svc/"))
	if !slices.Contains(arns, wantARN) {
		t.Fatalf("ListServiceDeployments does not list %s:\n%s", wantARN, jsonString(list.ServiceDeployments))
	}
	out, err := e.client.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{wantARN}})
	if err != nil || len(out.ServiceDeployments) != 1 {
		t.Fatalf("DescribeServiceDeployments %s: %v %s", wantARN, err, jsonString(out))
	}
	d := out.ServiceDeployments[0]
	threshold := int32(scheduler.BreakerThreshold(desired))
	cb := d.DeploymentCircuitBreaker
	if d.Status != ecstypes.ServiceDeploymentStatusRollbackSuccessful || aws.ToString(d.StatusReason) != scheduler.ReasonBreakerFailed ||
		cb == nil || cb.Status != ecstypes.ServiceDeploymentRollbackMonitorsStatusTriggered || cb.FailureCount < threshold || cb.Threshold != threshold ||
		d.Rollback == nil || aws.ToString(d.Rollback.Reason) != scheduler.ReasonRollingBack(good) {
		t.Errorf("failed deployment: want ROLLBACK_SUCCESSFUL, reason %q, circuit breaker TRIGGERED at %d failures, rollback reason %q; got\n%s",
			scheduler.ReasonBreakerFailed, threshold, scheduler.ReasonRollingBack(good), jsonString(d))
	}
}

// TestServiceReplacesKilledTask kills a service task's container with
// docker kill: the task stops and the service starts a replacement.
func TestServiceReplacesKilledTask(t *testing.T) {
	t.Parallel()
	e := startServiceEnv(t, ServerOptions{}, "replace")
	td := e.registerApp(t, "replace", "1")
	e.createService(t, "web", td, 2, "--launch-type", "FARGATE")
	before := e.waitSteady(t, "web", 60*time.Second)
	tasks := e.checkServiceTasks(t, before)
	victim := tasks[0]
	victimARN := aws.ToString(victim.TaskArn)
	Docker(t, "kill", aws.ToString(container(t, victim, "app").RuntimeId)).OK(t)

	stopped := waitTaskStatus(t, e.s, "replace", victimARN, "STOPPED", 30*time.Second)
	if stopped.StopCode != ecstypes.TaskStopCodeEssentialContainerExited || aws.ToString(stopped.StoppedReason) != "Essential container in task exited" {
		t.Errorf("killed task: stopCode %s, reason %q", stopped.StopCode, aws.ToString(stopped.StoppedReason))
	}
	if c := container(t, stopped, "app"); c.ExitCode == nil || *c.ExitCode != 137 {
		t.Errorf("killed container exit code %v, want 137", c.ExitCode)
	}
	after := e.waitService(t, "web", 60*time.Second, "steady with a replacement", func(svc ecstypes.Service) bool {
		if !steadyService(svc) {
			return false
		}
		arns, err := e.listServiceTasks("web", ecstypes.DesiredStatusRunning)
		return err == nil && len(arns) == 2 && !slices.Contains(arns, victimARN)
	})
	e.cliWaitStable(t, "web")
	now := e.checkServiceTasks(t, after)
	if after.RunningCount != 2 {
		t.Errorf("runningCount %d, want 2", after.RunningCount)
	}
	for _, task := range now {
		arn := aws.ToString(task.TaskArn)
		if arn == aws.ToString(tasks[1].TaskArn) {
			continue
		}
		if got := eventsNaming(after, "(service web) has started", taskID(arn)); len(got) != 1 {
			t.Errorf("replacement %s: started events %q", taskID(arn), got)
		}
	}
}

// TestServiceKillDuringDeployment kills the server with SIGKILL in the
// middle of a rolling update: after the restart the deployment finishes
// with exactly desiredCount tasks on the new revision, none duplicated,
// and no container left over.
func TestServiceKillDuringDeployment(t *testing.T) {
	t.Parallel()
	e := startServiceEnv(t, ServerOptions{}, "midroll")
	v1 := e.registerApp(t, "midroll", "1")
	v2 := e.registerApp(t, "midroll", "2")
	const desired = 3
	e.createService(t, "api", v1, desired, "--launch-type", "FARGATE",
		"--deployment-configuration", "maximumPercent=200,minimumHealthyPercent=100")
	before := e.waitSteady(t, "api", 60*time.Second)
	oldDeployment := aws.ToString(before.Deployments[0].Id)
	oldTasks := e.checkServiceTasks(t, before)

	e.updateService(t, "api", "--task-definition", v2)
	mid := e.waitService(t, "api", 30*time.Second, "with new tasks started", func(svc ecstypes.Service) bool {
		return len(svc.Deployments) == 2 && svc.Deployments[0].PendingCount+svc.Deployments[0].RunningCount > 0
	})
	newDeployment := aws.ToString(mid.Deployments[0].Id)
	t.Logf("killing the server mid-deployment:\n%s", svcSummary(mid))
	e.s.Kill(t)
	time.Sleep(time.Second)
	e.s.Start(t)
	// Again once new tasks run but are not yet healthy: the controller
	// waits on their health checks, the old tasks still serve.
	mid = e.waitService(t, "api", 30*time.Second, "with new tasks running", func(svc ecstypes.Service) bool {
		return steadyService(svc) || len(svc.Deployments) == 2 && svc.Deployments[0].RunningCount > 0
	})
	if !steadyService(mid) {
		t.Logf("killing the server again:\n%s", svcSummary(mid))
		e.s.KillAndRestart(t)
	}

	after := e.waitService(t, "api", 90*time.Second, "steady on the new revision", func(svc ecstypes.Service) bool {
		return steadyService(svc) && aws.ToString(svc.Deployments[0].TaskDefinition) == v2
	})
	e.cliWaitStable(t, "api")
	if got := aws.ToString(after.Deployments[0].Id); got != newDeployment {
		t.Errorf("the restart replaced deployment %s with %s", newDeployment, got)
	}
	tasks := e.checkServiceTasks(t, after)
	for _, task := range oldTasks {
		arn := aws.ToString(task.TaskArn)
		if stopped := waitTaskStatus(t, e.s, "midroll", arn, "STOPPED", 30*time.Second); stopped.StopCode != ecstypes.TaskStopCodeServiceSchedulerInitiated {
			t.Errorf("old task %s: stopCode %s, reason %q", arn, stopped.StopCode, aws.ToString(stopped.StoppedReason))
		}
	}
	// No duplicates: the new deployment started exactly desired tasks.
	var all []string
	for _, status := range []ecstypes.DesiredStatus{ecstypes.DesiredStatusRunning, ecstypes.DesiredStatusStopped} {
		out, err := e.client.ListTasks(context.Background(), &ecs.ListTasksInput{Cluster: aws.String("midroll"), StartedBy: aws.String(newDeployment), DesiredStatus: status})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, out.TaskArns...)
	}
	if len(all) != desired {
		t.Errorf("deployment %s made %d tasks, want %d:\n%s", newDeployment, len(all), desired, taskSummary(e.describeTasks(t, all)))
	}
	_ = oldDeployment

	// No leaked containers: the running ones are the holder and app of
	// each RUNNING task, and every container belongs to a task ECS knows.
	running := map[string]bool{}
	for _, task := range tasks {
		running[taskID(aws.ToString(task.TaskArn))] = true
	}
	node := agentNodeID(t, e.s)
	perTask := map[string]int{}
	for _, id := range strings.Fields(Docker(t, "ps", "--quiet", "--filter", "label=berth.node-id="+node).OK(t).Stdout) {
		task := strings.TrimSpace(Docker(t, "inspect", "--format", `{{index .Config.Labels "berth.task-id"}}`, id).OK(t).Stdout)
		perTask[task]++
	}
	for task, n := range perTask {
		if !running[task] {
			t.Errorf("%d running containers of task %s, which is not one of the service's RUNNING tasks", n, task)
		} else if n != 2 {
			t.Errorf("task %s has %d running containers, want 2 (holder and app)", task, n)
		}
	}
	if len(perTask) != len(running) {
		t.Errorf("running containers belong to %d tasks, want %d", len(perTask), len(running))
	}
	knownIDs := map[string]bool{}
	for _, status := range []ecstypes.DesiredStatus{ecstypes.DesiredStatusRunning, ecstypes.DesiredStatusStopped} {
		arns, err := e.listServiceTasks("api", status)
		if err != nil {
			t.Fatal(err)
		}
		for _, arn := range arns {
			knownIDs[taskID(arn)] = true
		}
	}
	for _, id := range strings.Fields(Docker(t, "ps", "--all", "--quiet", "--filter", "label=berth.node-id="+node).OK(t).Stdout) {
		task := strings.TrimSpace(Docker(t, "inspect", "--format", `{{index .Config.Labels "berth.task-id"}}`, id).OK(t).Stdout)
		if !knownIDs[task] {
			t.Errorf("container %s belongs to task %q, which the service does not know", id, task)
		}
	}
}

// TestServiceCapacityProviderStrategy runs a service on the article's
// strategy (FARGATE base 1 weight 1, FARGATE_SPOT weight 3): its tasks
// split as scheduler.SplitByStrategy decides, and a Spot interruption
// stops a Spot task with SpotInterruption and replaces it on FARGATE_SPOT.
func TestServiceCapacityProviderStrategy(t *testing.T) {
	t.Parallel()
	e := startServiceEnv(t, ServerOptions{}, "spot")
	td := e.registerApp(t, "spot", "1")
	article := []scheduler.Item{{Provider: "FARGATE", Base: 1, Weight: 1}, {Provider: "FARGATE_SPOT", Weight: 3}}
	split := func(n int) map[string]int {
		providers, err := scheduler.SplitByStrategy(article, nil, n)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{}
		for _, p := range providers {
			want[p]++
		}
		return want
	}
	byProvider := func(tasks []ecstypes.Task) map[string]int {
		got := map[string]int{}
		for _, task := range tasks {
			got[aws.ToString(task.CapacityProviderName)]++
			if task.LaunchType != ecstypes.LaunchTypeFargate {
				t.Errorf("task %s on %s: launchType %q, want FARGATE", aws.ToString(task.TaskArn), aws.ToString(task.CapacityProviderName), task.LaunchType)
			}
		}
		return got
	}

	// The article's strategy given to the service, and (service
	// "default", neither launch type nor strategy) as the cluster's default.
	const desired = 5
	e.createService(t, "api", td, desired, "--capacity-provider-strategy",
		"capacityProvider=FARGATE,weight=1,base=1", "capacityProvider=FARGATE_SPOT,weight=3")
	e.s.AWS(t, "ecs", "put-cluster-capacity-providers", "--cluster", "spot",
		"--capacity-providers", "FARGATE", "FARGATE_SPOT", "--default-capacity-provider-strategy",
		"capacityProvider=FARGATE,weight=1,base=1", "capacityProvider=FARGATE_SPOT,weight=3").OK(t)
	e.createService(t, "default", td, 4)

	svc := e.waitSteady(t, "api", 60*time.Second)
	if svc.LaunchType != "" || len(svc.CapacityProviderStrategy) != 2 {
		t.Errorf("service launchType %q, capacityProviderStrategy %s", svc.LaunchType, jsonString(svc.CapacityProviderStrategy))
	}
	tasks := e.checkServiceTasks(t, svc)
	want := split(desired)
	if got := byProvider(tasks); !maps.Equal(got, want) {
		t.Errorf("tasks per capacity provider %v, want %v", got, want)
	}
	def := e.waitSteady(t, "default", 60*time.Second)
	if got, want := byProvider(e.checkServiceTasks(t, def)), split(4); !maps.Equal(got, want) {
		t.Errorf("the cluster's default strategy: tasks per capacity provider %v, want %v", got, want)
	}

	var spot ecstypes.Task
	for _, task := range tasks {
		if aws.ToString(task.CapacityProviderName) == "FARGATE_SPOT" {
			spot = task
		}
	}
	spotARN := aws.ToString(spot.TaskArn)
	if spotARN == "" {
		t.Fatal("no FARGATE_SPOT task")
	}
	e.spotInterrupt(t, spotARN)
	stopped := waitTaskStatus(t, e.s, "spot", spotARN, "STOPPED", 60*time.Second)
	if stopped.StopCode != ecstypes.TaskStopCodeSpotInterruption || aws.ToString(stopped.StoppedReason) != "Your Spot Task was interrupted." {
		t.Errorf("interrupted task: stopCode %s, reason %q", stopped.StopCode, aws.ToString(stopped.StoppedReason))
	}
	after := e.waitService(t, "api", 60*time.Second, "steady with a replacement", func(svc ecstypes.Service) bool {
		if !steadyService(svc) {
			return false
		}
		arns, err := e.listServiceTasks("api", ecstypes.DesiredStatusRunning)
		return err == nil && len(arns) == desired && !slices.Contains(arns, spotARN)
	})
	now := e.checkServiceTasks(t, after)
	if got := byProvider(now); !maps.Equal(got, want) {
		t.Errorf("after the interruption, tasks per capacity provider %v, want %v", got, want)
	}
	for _, task := range now {
		if !slices.Contains(taskARNs(tasks), aws.ToString(task.TaskArn)) && aws.ToString(task.CapacityProviderName) != "FARGATE_SPOT" {
			t.Errorf("replacement %s on %s, want FARGATE_SPOT", aws.ToString(task.TaskArn), aws.ToString(task.CapacityProviderName))
		}
	}
}

// spotInterrupt runs `berth spot interrupt --task arn` against the server.
func (e *svcEnv) spotInterrupt(t *testing.T, arn string) {
	t.Helper()
	Run(t, Command{Name: berthBin, Args: []string{"spot", "interrupt", "--listen", e.s.Listen, "--data-dir", e.s.DataDir,
		"--region", e.s.Region, "--cluster", e.cluster, "--task", arn}}).OK(t)
}

// TestServiceDelete: DeleteService is refused while the service is scaled
// above 0; with --force the service goes DRAINING, its tasks stop, and it
// ends INACTIVE.
func TestServiceDelete(t *testing.T) {
	t.Parallel()
	e := startServiceEnv(t, ServerOptions{}, "delete")
	td := e.registerApp(t, "delete", "1")
	e.createService(t, "web", td, 2, "--launch-type", "FARGATE")
	svc := e.waitSteady(t, "web", 60*time.Second)
	tasks := e.checkServiceTasks(t, svc)

	e.s.AWS(t, "ecs", "delete-service", "--cluster", "delete", "--service", "web").
		Fails(t, "InvalidParameterException").Fails(t, "The service cannot be stopped while it is scaled above 0.")
	if svc := e.describeService(t, "web"); aws.ToString(svc.Status) != "ACTIVE" {
		t.Fatalf("refused delete-service changed the service:\n%s", svcSummary(svc))
	}

	r := e.s.AWS(t, "ecs", "delete-service", "--cluster", "delete", "--service", "web", "--force").OK(t)
	if got := r.JSON["service"].(map[string]any)["status"]; got != "DRAINING" {
		t.Errorf("delete-service --force: status %v, want DRAINING", got)
	}
	var listed struct{ ServiceArns []string }
	e.s.AWS(t, "ecs", "list-services", "--cluster", "delete").OK(t).Decode(t, &listed)
	if len(listed.ServiceArns) != 0 {
		t.Errorf("list-services shows the deleted service: %v", listed.ServiceArns)
	}
	e.waitService(t, "web", 60*time.Second, "INACTIVE", func(svc ecstypes.Service) bool { return aws.ToString(svc.Status) == "INACTIVE" })
	e.s.AWS(t, "ecs", "wait", "services-inactive", "--cluster", "delete", "--services", "web").OK(t)
	for _, task := range tasks {
		arn := aws.ToString(task.TaskArn)
		if stopped := waitTaskStatus(t, e.s, "delete", arn, "STOPPED", 30*time.Second); stopped.StopCode != ecstypes.TaskStopCodeServiceSchedulerInitiated {
			t.Errorf("task %s of the deleted service: stopCode %s, reason %q", arn, stopped.StopCode, aws.ToString(stopped.StoppedReason))
		}
	}
	if arns, err := e.listServiceTasks("web", ecstypes.DesiredStatusRunning); err != nil || len(arns) != 0 {
		t.Errorf("tasks of the deleted service still RUNNING: %v %v", arns, err)
	}
	e.s.AWS(t, "ecs", "delete-service", "--cluster", "delete", "--service", "web", "--force").Fails(t, "ServiceNotActiveException")
	e.s.AWS(t, "ecs", "update-service", "--cluster", "delete", "--service", "web", "--desired-count", "1").Fails(t, "ServiceNotActiveException")

	// Scaled to 0 first, no --force is needed; an INACTIVE name can be
	// used again.
	e.createService(t, "web", td, 1, "--launch-type", "FARGATE")
	e.waitSteady(t, "web", 60*time.Second)
	e.updateService(t, "web", "--desired-count", "0")
	e.s.AWS(t, "ecs", "delete-service", "--cluster", "delete", "--service", "web").OK(t)
	e.waitService(t, "web", 60*time.Second, "INACTIVE", func(svc ecstypes.Service) bool { return aws.ToString(svc.Status) == "INACTIVE" })
}
