package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// taskNetworks numbers the task networks of the servers one test run starts,
// so servers running side by side get their own bridge and subnet.
var taskNetworks atomic.Int32

// StartECSServer starts a server whose in-process agent runs tasks on a task
// network of its own (bridge, subnet and metadata port no other server of
// this run uses), with opts' flags added. When the test ends, the server
// stops and the containers and network its agent made are removed: the agent
// deliberately leaves tasks running when the server stops.
func StartECSServer(t testing.TB, opts ServerOptions) *Server {
	t.Helper()
	RequireDocker(t)
	n := int(taskNetworks.Add(1))
	network := fmt.Sprintf("berth-e2e-%d-%d", os.Getpid(), n)
	bridge := fmt.Sprintf("be%d-%d", os.Getpid()%100000, n)
	opts.Agent = true
	opts.Args = append([]string{
		"--task-network", network,
		"--task-bridge", bridge,
		"--task-subnet", freeTaskSubnet(t),
		"--metadata-port", strconv.Itoa(freePort(t)),
	}, opts.Args...)
	// Registered before StartServer's own cleanups, so it runs after the
	// server has stopped (and after its data dir is gone: hence the node id
	// is read now).
	var nodeID string
	t.Cleanup(func() { removeAgentLeftovers(t, nodeID, network) })
	s := StartServer(t, opts)
	nodeID = agentNodeID(t, s)
	return s
}

// agentNodeID waits for the server's agent to have its node id and returns it.
func agentNodeID(t testing.TB, s *Server) string {
	t.Helper()
	path := filepath.Join(s.DataDir, "agent", "node-id")
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if id := strings.TrimSpace(string(b)); err == nil && id != "" {
			return id
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent wrote no node id at %s: %v", path, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// claimedSubnets are the subnets freeTaskSubnet handed out in this
// process: servers started in parallel must not get the same one before
// either has made its network.
var (
	claimedSubnetsMu sync.Mutex
	claimedSubnets   = map[string]bool{}
)

// freeTaskSubnet returns a /24 of 169.254.64.0/18 that no Docker network
// uses (Docker refuses overlapping networks).
func freeTaskSubnet(t testing.TB) string {
	t.Helper()
	used := map[string]bool{}
	ids := strings.Fields(Docker(t, "network", "ls", "--quiet").OK(t).Stdout)
	if len(ids) > 0 {
		out := Docker(t, append([]string{"network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}} {{end}}"}, ids...)...).Stdout
		for _, subnet := range strings.Fields(out) {
			used[subnet] = true
		}
	}
	claimedSubnetsMu.Lock()
	defer claimedSubnetsMu.Unlock()
	start := (os.Getpid() + int(taskNetworks.Load())) % 64
	for i := range 64 {
		subnet := fmt.Sprintf("169.254.%d.0/24", 64+(start+i)%64)
		if !used[subnet] && !claimedSubnets[subnet] {
			claimedSubnets[subnet] = true
			return subnet
		}
	}
	t.Fatal("no free task subnet in 169.254.64.0/18")
	return ""
}

// agentContainers lists the ids of the containers the server's agent made.
func agentContainers(t testing.TB, s *Server) string {
	t.Helper()
	return Docker(t, "ps", "--all", "--quiet", "--no-trunc", "--filter", "label=berth.node-id="+agentNodeID(t, s)).OK(t).Stdout
}

// removeAgentLeftovers removes the containers of the agent with nodeID,
// and the task network.
func removeAgentLeftovers(t testing.TB, nodeID, network string) {
	t.Helper()
	if nodeID != "" {
		ids := strings.Fields(Docker(t, "ps", "--all", "--quiet", "--filter", "label=berth.node-id="+nodeID).Stdout)
		if len(ids) > 0 {
			tasks := strings.Fields(Docker(t, append([]string{"inspect", "--format", `{{index .Config.Labels "berth.task-id"}}`}, ids...)...).Stdout)
			Docker(t, append([]string{"rm", "--force", "--volumes"}, ids...)...)
			// The task cgroups the agent would have released.
			for _, task := range tasks {
				dirs, _ := filepath.Glob("/sys/fs/cgroup/*/berth/" + task)
				for _, dir := range dirs {
					os.Remove(dir)
				}
			}
		}
	}
	Docker(t, "network", "rm", network)
}

// ECS returns an aws-sdk-go-v2 ECS client for the server.
func (s *Server) ECS() *ecs.Client { return ecs.NewFromConfig(s.SDKConfig()) }

// describeTask returns the task, failing the test if ECS does not know it.
func describeTask(t testing.TB, s *Server, cluster, arn string) ecstypes.Task {
	t.Helper()
	out, err := s.ECS().DescribeTasks(context.Background(), &ecs.DescribeTasksInput{
		Cluster: aws.String(cluster), Tasks: []string{arn}, Include: []ecstypes.TaskField{ecstypes.TaskFieldTags},
	})
	if err != nil {
		t.Fatalf("DescribeTasks: %v", err)
	}
	if len(out.Tasks) != 1 {
		t.Fatalf("DescribeTasks %s: %d tasks, failures %s", arn, len(out.Tasks), jsonString(out.Failures))
	}
	return out.Tasks[0]
}

// waitTask polls the task until done says it is what the test waits for, or
// fails the test after timeout.
func waitTask(t testing.TB, s *Server, cluster, arn string, timeout time.Duration, what string, done func(ecstypes.Task) bool) ecstypes.Task {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		task := describeTask(t, s, cluster, arn)
		if done(task) {
			return task
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s: not %s after %s:\n%s", arn, what, timeout, jsonString(task))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func waitTaskStatus(t testing.TB, s *Server, cluster, arn, status string, timeout time.Duration) ecstypes.Task {
	t.Helper()
	return waitTask(t, s, cluster, arn, timeout, status, func(task ecstypes.Task) bool {
		last := aws.ToString(task.LastStatus)
		if status != "STOPPED" && last == "STOPPED" {
			t.Fatalf("task %s stopped while waiting for %s:\n%s", arn, status, jsonString(task))
		}
		return last == status
	})
}

// taskIP is the private IPv4 address of an awsvpc task's network interface.
func taskIP(t testing.TB, task ecstypes.Task) string {
	t.Helper()
	for _, a := range task.Attachments {
		for _, d := range a.Details {
			if aws.ToString(d.Name) == "privateIPv4Address" {
				return aws.ToString(d.Value)
			}
		}
	}
	t.Fatalf("task has no privateIPv4Address attachment detail:\n%s", jsonString(task))
	return ""
}

func container(t testing.TB, task ecstypes.Task, name string) ecstypes.Container {
	t.Helper()
	for _, c := range task.Containers {
		if aws.ToString(c.Name) == name {
			return c
		}
	}
	t.Fatalf("task has no container %q:\n%s", name, jsonString(task))
	return ecstypes.Container{}
}

func jsonString(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// writeJSON writes v as a JSON file in a temporary directory and returns its
// file:// URL for --cli-input-json.
func writeJSON(t testing.TB, name string, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return "file://" + path
}

// pushToolbox builds the toolbox image and pushes it to the server as
// repo:tag, creating the repository; it returns the image in ECR form.
func pushToolbox(t testing.TB, s *Server, repo, tag string) string {
	t.Helper()
	s.AWS(t, "ecr", "create-repository", "--repository-name", repo)
	local := UniqueName("berth-e2e-toolbox")
	BuildToolboxImage(t, local)
	s.DockerLogin(t)
	Docker(t, "tag", local, s.ImageRef(repo, tag)).OK(t)
	t.Cleanup(func() { Docker(t, "image", "rm", s.ImageRef(repo, tag)) })
	Docker(t, "push", s.ImageRef(repo, tag)).OK(t)
	return s.ECRImageRef(repo, tag)
}

// awsvpc is the network configuration flag value the article's tasks use.
const awsvpc = "awsvpcConfiguration={subnets=[subnet-private-1a],securityGroups=[sg-api-tasks],assignPublicIp=DISABLED}"

// runTask runs one task with the aws CLI and returns its ARN.
func runTask(t testing.TB, s *Server, args ...string) string {
	t.Helper()
	var out struct {
		Tasks []struct {
			TaskArn string `json:"taskArn"`
		} `json:"tasks"`
		Failures []any `json:"failures"`
	}
	s.AWS(t, append([]string{"ecs", "run-task"}, args...)...).OK(t).Decode(t, &out)
	if len(out.Tasks) != 1 {
		t.Fatalf("run-task started %d tasks, failures %s", len(out.Tasks), jsonString(out.Failures))
	}
	return out.Tasks[0].TaskArn
}

// waitHTTPOK polls url until it answers 200, or fails the test after
// timeout: a task's process may be RUNNING a moment before it listens.
func waitHTTPOK(t testing.TB, url string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		resp, err := (&http.Client{Timeout: time.Second}).Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, statusOrErr(resp, err))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// executionRoles remembers, per server, that taskExecutionRole made its
// role.
var executionRoles sync.Map

// taskExecutionRole makes, once per server, the execution role the
// article makes (trusting ecs-tasks.amazonaws.com, with
// AmazonECSTaskExecutionRolePolicy) and returns its ARN: Fargate task
// definitions with ECR images or the awslogs driver need one, as in AWS.
// IAM is global, so the role serves every region. A berth from before IAM
// (the upgrade tests') has none to make: "".
func taskExecutionRole(t testing.TB, s *Server) string {
	t.Helper()
	arn := "arn:aws:iam::" + s.AccountID + ":role/ecsTaskExecutionRole"
	if made, known := executionRoles.Load(s.URL); known {
		if made.(bool) {
			return arn
		}
		return ""
	}
	serves := servesAPI(t, s, "iam")
	executionRoles.Store(s.URL, serves)
	if !serves {
		return ""
	}
	s.AWS(t, "iam", "create-role", "--role-name", "ecsTaskExecutionRole", "--assume-role-policy-document", ecsTasksTrust).OK(t)
	s.AWS(t, "iam", "attach-role-policy", "--role-name", "ecsTaskExecutionRole",
		"--policy-arn", "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy").OK(t)
	return arn
}

// servesAPI reports whether the server's health endpoint lists the API.
func servesAPI(t testing.TB, s *Server, name string) bool {
	t.Helper()
	var health struct{ Services []string }
	if err := json.Unmarshal([]byte(httpBody(t, s.URL+"/_berth/health")), &health); err != nil {
		t.Fatal(err)
	}
	return slices.Contains(health.Services, name)
}
