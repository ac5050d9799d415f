package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestCloudFormationDeploysTheArticleTemplate: the article's template
// (section "Deploying with CloudFormation / SAM"), verbatim, deployed with
// `aws cloudformation deploy` as the article does, with parameters from
// berth's default VPC and subnets. The ALBUrl output serves the app; a
// new ImageUri, described as a change set first, rolls the service with
// no failed request through the load balancer; deleting the stack leaves
// nothing behind in any service.
func TestCloudFormationDeploysTheArticleTemplate(t *testing.T) {
	s := StartECSServer(t, ServerOptions{})
	path, err := filepath.Abs("testdata/article/ecs-fargate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	v1 := pushToolbox(t, s, "api", "v1")
	v2 := strings.TrimSuffix(v1, ":v1") + ":v2"
	Docker(t, "tag", s.ImageRef("api", "v1"), s.ImageRef("api", "v2")).OK(t)
	t.Cleanup(func() { Docker(t, "image", "rm", s.ImageRef("api", "v2")) })
	Docker(t, "push", s.ImageRef("api", "v2")).OK(t)
	subnets := strings.Join(defaultSubnets(t, s), ",")
	params := func(image string) []string {
		return []string{"ImageUri=" + image, "VpcId=" + defaultVPC(t, s), "PublicSubnets=" + subnets, "PrivateSubnets=" + subnets}
	}
	deploy := func(image string, extra ...string) Result {
		args := append([]string{"cloudformation", "deploy", "--template-file", path, "--stack-name", "api",
			"--capabilities", "CAPABILITY_IAM", "--parameter-overrides"}, params(image)...)
		return s.AWS(t, append(args, extra...)...)
	}

	start := time.Now()
	out := deploy(v1).OK(t)
	if !strings.Contains(out.Stdout, "Successfully created/updated stack - api") {
		t.Fatalf("deploy: %s", out.Stdout)
	}
	t.Logf("deploy took %v; the stack's creation %v", time.Since(start), operationTook(t, s, "api"))
	outputs := stackOutputs(t, s, "api")
	stackID := strings.TrimSpace(s.AWS(t, "cloudformation", "describe-stacks", "--stack-name", "api", "--query", "Stacks[0].StackId", "--output", "text").OK(t).Stdout)
	if outputs["ClusterName"] != "prod-cluster" || !strings.HasSuffix(outputs["ServiceName"], "service/prod-cluster/api-service") || outputs["ALBUrl"] == "" {
		t.Fatalf("outputs: %v", outputs)
	}

	// The ALBUrl output serves the app, its name resolved as berth hosts
	// says (what /etc/hosts would hold).
	url := albURL(t, s, outputs["ALBUrl"])
	waitFor(t, 2*time.Minute, "the app behind "+outputs["ALBUrl"], func() bool {
		status, _ := fetch(url + "/health")
		return status == http.StatusOK
	})
	// And with curl, the name resolved as /etc/hosts would resolve it.
	address := strings.TrimPrefix(url, "http://")
	out = Run(t, Command{Name: "curl", Args: []string{"--silent", "--show-error", "--fail",
		"--resolve", outputs["ALBUrl"] + ":80:" + address, "http://" + outputs["ALBUrl"] + "/health"}}).OK(t)
	if strings.TrimSpace(out.Stdout) != "ok" {
		t.Errorf("curl %s/health: %q", outputs["ALBUrl"], out.Stdout)
	}
	var running struct{ Services []struct{ RunningCount int } }
	s.AWS(t, "ecs", "describe-services", "--cluster", "prod-cluster", "--services", "api-service").OK(t).Decode(t, &running)
	if running.Services[0].RunningCount != 3 {
		t.Errorf("running tasks: %+v", running)
	}
	s.AWS(t, "logs", "describe-log-groups", "--log-group-name-prefix", "/ecs/api-service").OK(t)
	// The target group drains a deregistered task for 300 s, as ALB's
	// default says, and a rollout or a deletion of the service waits for
	// that. The template leaves the attribute alone, so a user may set it
	// as this test does, to keep it short; the stack does not revert it.
	var tgs struct {
		TargetGroups []struct{ TargetGroupArn string }
	}
	s.AWS(t, "elbv2", "describe-target-groups", "--names", "api-tg").OK(t).Decode(t, &tgs)
	s.AWS(t, "elbv2", "modify-target-group-attributes", "--target-group-arn", tgs.TargetGroups[0].TargetGroupArn,
		"--attributes", "Key=deregistration_delay.timeout_seconds,Value=5").OK(t)

	// A new image, as a change set first: the task definition is
	// replaced, the service changed in place because of it.
	out = deploy(v2, "--no-execute-changeset").OK(t)
	csARN := out.Stdout[strings.LastIndex(out.Stdout, "arn:aws:cloudformation"):]
	csARN = strings.TrimSpace(csARN)
	var cs struct {
		Status, ExecutionStatus string
		Changes                 []struct {
			ResourceChange struct {
				Action, LogicalResourceId, Replacement string
				Details                                []struct {
					Evaluation, ChangeSource, CausingEntity string
					Target                                  struct{ Name string }
				}
			}
		}
	}
	s.AWSv2(t, "cloudformation", "describe-change-set", "--change-set-name", csARN).OK(t).Decode(t, &cs)
	changes := map[string]string{}
	for _, c := range cs.Changes {
		rc := c.ResourceChange
		changes[rc.LogicalResourceId] = rc.Action + "/" + rc.Replacement
		if rc.LogicalResourceId == "Service" && (len(rc.Details) != 1 || rc.Details[0].Target.Name != "TaskDefinition" ||
			rc.Details[0].ChangeSource != "ResourceReference" || rc.Details[0].CausingEntity != "TaskDefinition") {
			t.Errorf("the service's change: %+v", rc)
		}
	}
	if cs.Status != "CREATE_COMPLETE" || cs.ExecutionStatus != "AVAILABLE" || len(changes) != 2 ||
		changes["TaskDefinition"] != "Modify/True" || changes["Service"] != "Modify/False" {
		t.Fatalf("change set: %s %s %v", cs.Status, cs.ExecutionStatus, changes)
	}

	// Executed while requests flow through the load balancer: none fails.
	var sent, failed atomic.Int64
	var lastFailure atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			sent.Add(1)
			if status, body := fetch(url + "/"); status != http.StatusOK {
				failed.Add(1)
				lastFailure.Store(fmt.Sprintf("%d %s", status, body))
			}
		}
	}()
	s.AWS(t, "cloudformation", "execute-change-set", "--change-set-name", csARN).OK(t)
	s.AWS(t, "cloudformation", "wait", "stack-update-complete", "--stack-name", "api").OK(t)
	close(stop)
	t.Logf("the update took %v", operationTook(t, s, "api"))
	wg.Wait()
	if failed.Load() > 0 {
		t.Errorf("%d of %d requests failed during the rollout; the last: %v", failed.Load(), sent.Load(), lastFailure.Load())
	}
	var svc struct {
		Services []struct {
			TaskDefinition string
			Deployments    []struct{ Status string }
		}
	}
	s.AWS(t, "ecs", "describe-services", "--cluster", "prod-cluster", "--services", "api-service").OK(t).Decode(t, &svc)
	var td struct {
		TaskDefinition struct {
			ContainerDefinitions []struct{ Image string }
		}
	}
	s.AWS(t, "ecs", "describe-task-definition", "--task-definition", svc.Services[0].TaskDefinition).OK(t).Decode(t, &td)
	if td.TaskDefinition.ContainerDefinitions[0].Image != v2 || len(svc.Services[0].Deployments) != 1 {
		t.Errorf("after the update: %+v, image %+v", svc, td)
	}
	// The replaced revision was deregistered in the cleanup.
	wantOutput(t, s.AWS(t, "ecs", "describe-task-definition", "--task-definition", "api-service:1").OK(t), `"INACTIVE"`)

	// An image that does not exist: the deployment circuit breaker stops
	// the rollout, which fails the stack update, and the stack rolls back
	// to v2 while the app keeps serving.
	missing := strings.TrimSuffix(v1, ":v1") + ":missing"
	deploy(missing).Fails(t, "Failed to create/update the stack")
	var rolledBack struct {
		Stacks []struct{ StackStatus string }
	}
	s.AWS(t, "cloudformation", "describe-stacks", "--stack-name", "api").OK(t).Decode(t, &rolledBack)
	if rolledBack.Stacks[0].StackStatus != "UPDATE_ROLLBACK_COMPLETE" {
		t.Errorf("after the failed update: %+v", rolledBack)
	}
	reasons := s.AWS(t, "cloudformation", "describe-stack-events", "--stack-name", "api", "--query",
		"StackEvents[?ResourceStatus=='UPDATE_FAILED'].[LogicalResourceId,ResourceStatusReason]", "--output", "text").OK(t).Stdout
	if !strings.Contains(reasons, "Service\tError occurred during operation 'ECS Deployment Circuit Breaker was triggered'.") {
		t.Errorf("the failure's events:\n%s", reasons)
	}
	s.AWS(t, "ecs", "describe-services", "--cluster", "prod-cluster", "--services", "api-service").OK(t).Decode(t, &svc)
	s.AWS(t, "ecs", "describe-task-definition", "--task-definition", svc.Services[0].TaskDefinition).OK(t).Decode(t, &td)
	if td.TaskDefinition.ContainerDefinitions[0].Image != v2 {
		t.Errorf("after the rollback the service runs %s", td.TaskDefinition.ContainerDefinitions[0].Image)
	}
	if status, body := fetch(url + "/health"); status != http.StatusOK {
		t.Errorf("after the rollback: %d %s", status, body)
	}

	// Deleting the stack removes everything it made.
	s.AWS(t, "cloudformation", "delete-stack", "--stack-name", "api").OK(t)
	s.AWS(t, "cloudformation", "wait", "stack-delete-complete", "--stack-name", "api").OK(t)
	t.Logf("the deletion took %v", operationTook(t, s, stackID))
	wantOutput(t, s.AWS(t, "ecs", "describe-clusters", "--clusters", "prod-cluster").OK(t), `"INACTIVE"`)
	wantOutput(t, s.AWS(t, "elbv2", "describe-load-balancers").OK(t), `"LoadBalancers": []`)
	wantOutput(t, s.AWS(t, "elbv2", "describe-target-groups").OK(t), `"TargetGroups": []`)
	wantOutput(t, s.AWS(t, "logs", "describe-log-groups", "--log-group-name-prefix", "/ecs/api-service").OK(t), `"logGroups": []`)
	wantOutput(t, s.AWS(t, "ecs", "list-task-definitions", "--status", "ACTIVE").OK(t), `"taskDefinitionArns": []`)
	roles := s.AWS(t, "iam", "list-roles", "--query", "Roles[].RoleName", "--output", "text").OK(t).Stdout
	if strings.Contains(roles, "api-") {
		t.Errorf("roles left: %s", roles)
	}
	groups := s.AWS(t, "ec2", "describe-security-groups", "--query", "SecurityGroups[].Description", "--output", "text").OK(t).Stdout
	if strings.Contains(groups, "ALB security group") || strings.Contains(groups, "ECS tasks security group") {
		t.Errorf("security groups left: %s", groups)
	}
}

// operationTook is how long a stack's last operation took, by its events:
// from the last "User Initiated" event to the newest.
func operationTook(t *testing.T, s *Server, stack string) time.Duration {
	t.Helper()
	var out struct {
		StackEvents []struct {
			Timestamp            time.Time
			ResourceStatusReason string
		}
	}
	s.AWS(t, "cloudformation", "describe-stack-events", "--stack-name", stack).OK(t).Decode(t, &out)
	if len(out.StackEvents) == 0 {
		return 0
	}
	for _, e := range out.StackEvents { // newest first
		if e.ResourceStatusReason == "User Initiated" {
			return out.StackEvents[0].Timestamp.Sub(e.Timestamp)
		}
	}
	return 0
}

// stackOutputs are a stack's outputs by key.
func stackOutputs(t *testing.T, s *Server, stack string) map[string]string {
	t.Helper()
	var out struct {
		Stacks []struct {
			Outputs []struct{ OutputKey, OutputValue string }
		}
	}
	s.AWS(t, "cloudformation", "describe-stacks", "--stack-name", stack).OK(t).Decode(t, &out)
	outputs := map[string]string{}
	for _, o := range out.Stacks[0].Outputs {
		outputs[o.OutputKey] = o.OutputValue
	}
	return outputs
}

// albURL is the http URL of a load balancer's DNS name at the address
// `berth hosts` gives it.
func albURL(t *testing.T, s *Server, dnsName string) string {
	t.Helper()
	hosts := Run(t, Command{Name: berthBin, Args: []string{"hosts", "--listen", s.Listen, "--data-dir", s.DataDir, "--region", s.Region}}).OK(t)
	for _, line := range strings.Split(hosts.Stdout, "\n") {
		if address, name, ok := strings.Cut(line, "\t"); ok && name == dnsName {
			return "http://" + address
		}
	}
	t.Fatalf("berth hosts does not name %s:\n%s", dnsName, hosts.Stdout)
	return ""
}

// fetch GETs url once; status 0 means no answer.
func fetch(url string) (int, string) {
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 512)
	n, _ := resp.Body.Read(buf)
	b.Write(buf[:n])
	return resp.StatusCode, b.String()
}
