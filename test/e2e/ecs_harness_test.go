package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// StartECSServer starts a server whose in-process agent runs tasks, with
// a default VPC range and a metadata port no other server of this run
// uses, and opts' flags added. When the test ends, the server stops and
// the containers, bridges, routes and firewall table its agent made are
// removed: the agent deliberately leaves tasks running when the server
// stops.
func StartECSServer(t testing.TB, opts ServerOptions) *Server {
	t.Helper()
	RequireDocker(t)
	opts.Agent = true
	network := []string{"--default-vpc-cidr", FreeVPCRange(t)}
	if opts.BeforeVPCs {
		// A berth from before VPCs: its own task network, on its defaults
		// (an upgrade test gives the new berth its VPC range).
		network = nil
		t.Cleanup(func() { Docker(t, "network", "rm", "berth-tasks") })
	}
	opts.Args = append(append(network, "--metadata-port", strconv.Itoa(freePort(t))), opts.Args...)
	// Registered before StartServer's own cleanups, so it runs after the
	// server has stopped (and after its data dir is gone: hence the node id
	// is read now).
	var nodeID string
	t.Cleanup(func() { removeAgentLeftovers(t, nodeID) })
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

// claimedRanges are the /16s FreeVPCRange handed out in this process:
// servers and tests running in parallel must not get the same one, since
// berth refuses VPC ranges that overlap on one host.
var (
	claimedRangesMu sync.Mutex
	claimedRanges   = map[string]bool{}
)

// FreeVPCRange returns a /16 of 10.128.0.0/9 that, with the /16 below it,
// no route of the host touches and no other test of this run was given,
// for a default VPC or a VPC a test creates. The bridges and routes of the
// VPCs in both are removed when the test ends.
func FreeVPCRange(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("ip", "-4", "route", "show", "table", "all").Output()
	if err != nil {
		t.Fatalf("ip route: %v", err)
	}
	routes := string(out)
	claimedRangesMu.Lock()
	defer claimedRangesMu.Unlock()
	// A range and the one below it: a server's other regions take their
	// default VPCs below its own (ec2state.DefaultRange).
	taken := func(second int) bool {
		return claimedRanges[fmt.Sprintf("10.%d.0.0/16", second)] || strings.Contains(routes, fmt.Sprintf("10.%d.", second))
	}
	start := os.Getpid() % 64
	for i := range 64 {
		second := 129 + 2*((start+i)%64)
		if taken(second) || taken(second-1) {
			continue
		}
		for _, s := range []int{second, second - 1} {
			claimedRanges[fmt.Sprintf("10.%d.0.0/16", s)] = true
			t.Cleanup(func() { removeVPCLeftovers(t, fmt.Sprintf("10.%d.", s)) })
		}
		return fmt.Sprintf("10.%d.0.0/16", second)
	}
	t.Fatal("no free /16 in 10.128.0.0/9")
	return ""
}

// removeVPCLeftovers removes the bridges with addresses that begin with
// prefix ("10.150.") and the unreachable routes into them that berth's
// agents made: they outlive a server that stopped, as the VPCs they carry
// outlive it.
func removeVPCLeftovers(t testing.TB, prefix string) {
	out, _ := exec.Command("ip", "-4", "-o", "addr", "show").Output()
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && strings.HasPrefix(f[1], "berth-") && strings.HasPrefix(f[3], prefix) {
			exec.Command("ip", "link", "del", f[1]).Run()
		}
	}
	out, _ = exec.Command("ip", "-4", "route", "show").Output()
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "unreachable" && strings.HasPrefix(f[1], prefix) {
			exec.Command("ip", "route", "del", "unreachable", f[1], "metric", "4242").Run()
		}
	}
}

// agentContainers lists the ids of the containers the server's agent made.
func agentContainers(t testing.TB, s *Server) string {
	t.Helper()
	return Docker(t, "ps", "--all", "--quiet", "--no-trunc", "--filter", "label=berth.node-id="+agentNodeID(t, s)).OK(t).Stdout
}

// removeAgentLeftovers removes the containers of the agent with nodeID,
// and its firewall table.
func removeAgentLeftovers(t testing.TB, nodeID string) {
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
	if nodeID != "" {
		exec.Command("nft", "delete", "table", "inet", "berth_"+nodeID[:12]).Run()
	}
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

// awsvpcFlag is the value of run-task's --network-configuration for a
// task in the first default subnet of the server's default VPC (of the
// region args name, else the server's), with the VPC's default security
// group, which admits the host.
func awsvpcFlag(t testing.TB, s *Server, args ...string) string {
	t.Helper()
	return "awsvpcConfiguration={subnets=[" + defaultSubnets(t, s, args...)[0] + "],assignPublicIp=DISABLED}"
}

// defaultVPC returns the id of the server's default VPC.
func defaultVPC(t testing.TB, s *Server) string {
	t.Helper()
	var out struct{ Vpcs []struct{ VpcId string } }
	s.AWS(t, "ec2", "describe-vpcs", "--filters", "Name=is-default,Values=true").OK(t).Decode(t, &out)
	if len(out.Vpcs) != 1 {
		t.Fatalf("%d default VPCs", len(out.Vpcs))
	}
	return out.Vpcs[0].VpcId
}

// defaultSubnets returns the ids of the default VPC's subnets, in zone
// order, as describe-subnets lists them (args: e.g. "--region", r).
func defaultSubnets(t testing.TB, s *Server, args ...string) []string {
	t.Helper()
	var out struct {
		Subnets []struct {
			SubnetId, AvailabilityZone string
		}
	}
	s.AWS(t, append([]string{"ec2", "describe-subnets", "--filters", "Name=default-for-az,Values=true"}, args...)...).OK(t).Decode(t, &out)
	slices.SortFunc(out.Subnets, func(a, b struct{ SubnetId, AvailabilityZone string }) int {
		return strings.Compare(a.AvailabilityZone, b.AvailabilityZone)
	})
	ids := make([]string, 0, len(out.Subnets))
	for _, sn := range out.Subnets {
		ids = append(ids, sn.SubnetId)
	}
	if len(ids) == 0 {
		t.Fatal("the default VPC has no subnets")
	}
	return ids
}

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

// executionRoles holds, per server (by data dir: a port may serve another
// server later in the run), the making of its execution role.
var executionRoles sync.Map

type executionRole struct {
	once sync.Once
	arn  string
}

// taskExecutionRole makes, once per server, the execution role the
// article makes (trusting ecs-tasks.amazonaws.com, with
// AmazonECSTaskExecutionRolePolicy) and returns its ARN: Fargate task
// definitions with ECR images or the awslogs driver need one, as in AWS.
// IAM is global, so the role serves every region. A berth from before IAM
// (the upgrade tests') has none to make: "". Callers at the same time all
// wait for the role to exist.
func taskExecutionRole(t testing.TB, s *Server) string {
	t.Helper()
	v, _ := executionRoles.LoadOrStore(s.DataDir, &executionRole{})
	role := v.(*executionRole)
	role.once.Do(func() {
		if !servesAPI(t, s, "iam") {
			return
		}
		s.AWS(t, "iam", "create-role", "--role-name", "ecsTaskExecutionRole", "--assume-role-policy-document", ecsTasksTrust).OK(t)
		s.AWS(t, "iam", "attach-role-policy", "--role-name", "ecsTaskExecutionRole",
			"--policy-arn", "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy").OK(t)
		role.arn = "arn:aws:iam::" + s.AccountID + ":role/ecsTaskExecutionRole"
	})
	return role.arn
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
