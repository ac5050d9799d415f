package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// logsClient is an aws-sdk-go-v2 CloudWatch Logs client for s.
func logsClient(s *Server) *cloudwatchlogs.Client { return cloudwatchlogs.NewFromConfig(s.SDKConfig()) }

// streamMessages reads a whole stream from its start with the SDK.
func streamMessages(t testing.TB, s *Server, group, stream string) []string {
	t.Helper()
	var out []string
	for _, e := range streamEvents(t, s, group, stream) {
		out = append(out, aws.ToString(e.Message))
	}
	return out
}

func streamEvents(t testing.TB, s *Server, group, stream string) []logstypes.OutputLogEvent {
	t.Helper()
	c := logsClient(s)
	var out []logstypes.OutputLogEvent
	in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: &group, LogStreamName: &stream, StartFromHead: aws.Bool(true)}
	for {
		page, err := c.GetLogEvents(context.Background(), in)
		if err != nil {
			t.Fatalf("get-log-events %s %s: %v", group, stream, err)
		}
		out = append(out, page.Events...)
		if aws.ToString(page.NextForwardToken) == aws.ToString(in.NextToken) {
			return out
		}
		in.NextToken = page.NextForwardToken
	}
}

// checkTicks checks a stream of the app's -tick output: every line once,
// each of stdout's and stderr's in the order written, and the two
// interleaved in the order Docker read them, which its timestamps give
// (Docker reads the two pipes apart, so on a busy machine "err 4" can be
// read before "out 3").
func checkTicks(t testing.TB, events []logstypes.OutputLogEvent, n int) {
	t.Helper()
	if len(events) != n {
		t.Fatalf("%d events, want %d", len(events), n)
	}
	next := map[string]int{"out": 1, "err": 2}
	for i, e := range events {
		var name string
		var k int
		if _, err := fmt.Sscanf(aws.ToString(e.Message), "%s %d", &name, &k); err != nil || k != next[name] {
			t.Fatalf("event %d is %q; want %s %d next", i, aws.ToString(e.Message), name, next[name])
		}
		next[name] += 2
		if i > 0 && aws.ToInt64(e.Timestamp) < aws.ToInt64(events[i-1].Timestamp) {
			t.Fatalf("event %d (%q) is older than the one before it", i, aws.ToString(e.Message))
		}
	}
}

// logTask is a Fargate task definition whose one container (the toolbox
// image) runs command and logs with the awslogs options given.
func logTask(family, image, executionRole string, command []string, options map[string]string) map[string]any {
	return map[string]any{
		"family":                  family,
		"executionRoleArn":        executionRole,
		"networkMode":             "awsvpc",
		"requiresCompatibilities": []string{"FARGATE"},
		"cpu":                     "256",
		"memory":                  "512",
		"containerDefinitions": []map[string]any{{
			"name":             "app",
			"image":            image,
			"essential":        true,
			"command":          command,
			"logConfiguration": map[string]any{"logDriver": "awslogs", "options": options},
		}},
	}
}

// TestLogsArticle is the article's "Logging" section against a task of its
// definition (without its secrets, which need Secrets Manager): the
// commands verbatim, the container's output in api/api/<task id>, and
// `aws logs tail --follow` showing a line printed after it started.
func TestLogsArticle(t *testing.T) {
	s := StartECSServer(t, ServerOptions{AccountID: articleAccount, Region: "us-east-1"})
	pushToolbox(t, s, "api-service", "v1.2.3")
	s.AWS(t, "ecs", "create-cluster", "--cluster-name", "prod-cluster").OK(t)

	s.AWS(t, "logs", "create-log-group", "--log-group-name", "/ecs/api-service").OK(t)
	s.AWS(t, "logs", "put-retention-policy", "--log-group-name", "/ecs/api-service", "--retention-in-days", "14").OK(t)
	var groups struct {
		LogGroups []struct {
			LogGroupName    string
			RetentionInDays int
		}
	}
	s.AWSv2(t, "logs", "describe-log-groups", "--log-group-name-prefix", "/ecs/").OK(t).Decode(t, &groups)
	if len(groups.LogGroups) != 1 || groups.LogGroups[0].LogGroupName != "/ecs/api-service" || groups.LogGroups[0].RetentionInDays != 14 {
		t.Fatalf("describe-log-groups: %+v", groups)
	}
	for _, cli := range awsCLIs {
		cli.serviceError(t, cli.run(t, s, "logs", "create-log-group", "--log-group-name", "/ecs/api-service"),
			"CreateLogGroup", "ResourceAlreadyExistsException", "The specified log group already exists")
		cli.serviceError(t, cli.run(t, s, "logs", "get-log-events", "--log-group-name", "/ecs/api-service", "--log-stream-name", "nope"),
			"GetLogEvents", "ResourceNotFoundException", "The specified log stream does not exist.")
		cli.serviceError(t, cli.run(t, s, "logs", "describe-log-streams", "--log-group-name", "/ecs/nope"),
			"DescribeLogStreams", "ResourceNotFoundException", "The specified log group does not exist.")
	}
	r := s.AWS(t, "logs", "put-retention-policy", "--log-group-name", "/ecs/api-service", "--retention-in-days", "2")
	if r.ExitCode == 0 || !strings.Contains(r.Stderr, "(InvalidParameterException)") {
		t.Fatalf("retention of 2 days: exit %d, %s", r.ExitCode, r.Stderr)
	}

	articleRoles(t, s)
	td := articleTaskDefinition(t, "task-def.json")
	api := containerDefs(td)[0]
	delete(api, "secrets")
	hc := api["healthCheck"].(map[string]any)
	hc["interval"], hc["startPeriod"] = 5, 0
	s.AWS(t, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "logged.json", td)).OK(t)
	arn := runTask(t, s, "--cluster", "prod-cluster", "--task-definition", "api-service", "--network-configuration", awsvpcFlag(t, s))
	s.AWSv2(t, "ecs", "wait", "tasks-running", "--cluster", "prod-cluster", "--tasks", arn).OK(t)

	stream := "api/api/" + taskID(arn)
	waitFor(t, 10*time.Second, "the app's first line in "+stream, func() bool {
		got := s.AWS(t, "logs", "get-log-events", "--log-group-name", "/ecs/api-service", "--log-stream-name", stream)
		return got.ExitCode == 0 && strings.Contains(got.Stdout, "app listening on :8080")
	})

	// aws logs tail --follow, started before the app prints its last line.
	tail := startTail(t, s, "/ecs/api-service", "--follow", "--since", "10m", "--format", "short")
	tail.waitFor(t, "app listening on :8080", 20*time.Second)
	s.AWS(t, "ecs", "stop-task", "--cluster", "prod-cluster", "--task", arn).OK(t)
	tail.waitFor(t, "app stopped", 20*time.Second)

	stopped := waitTaskStatus(t, s, "prod-cluster", arn, "STOPPED", 60*time.Second)
	if stopped.StopCode != ecstypes.TaskStopCodeUserInitiated {
		t.Errorf("stop code %s", stopped.StopCode)
	}
	msgs := streamMessages(t, s, "/ecs/api-service", stream)
	if len(msgs) < 2 || !strings.Contains(msgs[0], "app listening") || !strings.Contains(msgs[len(msgs)-1], "app stopped") {
		t.Fatalf("stream %s: %q", stream, msgs)
	}
	streams := s.AWSv2(t, "logs", "describe-log-streams", "--log-group-name", "/ecs/api-service").OK(t)
	if !strings.Contains(streams.Stdout, `"logStreamName": "`+stream+`"`) || !strings.Contains(streams.Stdout, "lastEventTimestamp") {
		t.Fatalf("describe-log-streams: %s", streams.Stdout)
	}
}

// TestLogsMissingGroup: a task logging to a group that does not exist
// stops with ECS's error, and awslogs-create-group creates the group once
// the execution role may.
func TestLogsMissingGroup(t *testing.T) {
	s := StartECSServer(t, ServerOptions{})
	image := pushToolbox(t, s, "logged", "v1")
	s.AWS(t, "ecs", "create-cluster", "--cluster-name", "logs").OK(t)
	opts := map[string]string{"awslogs-group": "/ecs/missing", "awslogs-region": s.Region, "awslogs-stream-prefix": "p"}
	s.AWS(t, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "missing.json",
		logTask("missing", image, taskExecutionRole(t, s), []string{"-tick", "10ms", "-ticks", "3"}, opts))).OK(t)
	arn := runTask(t, s, "--cluster", "logs", "--task-definition", "missing", "--network-configuration", awsvpcFlag(t, s))
	stopped := waitTaskStatus(t, s, "logs", arn, "STOPPED", 60*time.Second)
	const want = "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist. : exit status 1"
	if aws.ToString(stopped.StoppedReason) != want || stopped.StopCode != ecstypes.TaskStopCodeTaskFailedToStart {
		t.Fatalf("stopped: %s %q", stopped.StopCode, aws.ToString(stopped.StoppedReason))
	}

	// awslogs-create-group needs logs:CreateLogGroup, which
	// AmazonECSTaskExecutionRolePolicy does not grant, as AWS documents.
	opts["awslogs-create-group"] = "true"
	s.AWS(t, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "create.json",
		logTask("missing", image, taskExecutionRole(t, s), []string{"-tick", "10ms", "-ticks", "6"}, opts))).OK(t)
	arn = runTask(t, s, "--cluster", "logs", "--task-definition", "missing:2", "--network-configuration", awsvpcFlag(t, s))
	stopped = waitTaskStatus(t, s, "logs", arn, "STOPPED", 60*time.Second)
	if reason := aws.ToString(stopped.StoppedReason); !strings.HasPrefix(reason, "ResourceInitializationError: failed to validate logger args: ") ||
		!strings.Contains(reason, "AccessDeniedException") || !strings.Contains(reason, "logs:CreateLogGroup") {
		t.Fatalf("create-group without logs:CreateLogGroup: %q", reason)
	}
	s.AWS(t, "iam", "put-role-policy", "--role-name", "ecsTaskExecutionRole", "--policy-name", "create-groups", "--policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:CreateLogGroup","Resource":"*"}]}`).OK(t)
	arn = runTask(t, s, "--cluster", "logs", "--task-definition", "missing:2", "--network-configuration", awsvpcFlag(t, s))
	waitTaskStatus(t, s, "logs", arn, "STOPPED", 60*time.Second)
	checkTicks(t, streamEvents(t, s, "/ecs/missing", "p/app/"+taskID(arn)), 6)
}

// TestLogsMillionLines: a container printing 1,000,000 numbered lines as
// fast as it can has every one in its stream, in order, once its task is
// STOPPED.
func TestLogsMillionLines(t *testing.T) {
	s := StartECSServer(t, ServerOptions{})
	image := pushToolbox(t, s, "chatty", "v1")
	s.AWS(t, "ecs", "create-cluster", "--cluster-name", "logs").OK(t)
	s.AWS(t, "logs", "create-log-group", "--log-group-name", "chatty").OK(t)
	const n = 1_000_000
	s.AWS(t, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "chatty.json",
		logTask("chatty", image, taskExecutionRole(t, s), []string{"-print-lines", fmt.Sprint(n)},
			map[string]string{"awslogs-group": "chatty", "awslogs-region": s.Region, "awslogs-stream-prefix": "c"}))).OK(t)
	arn := runTask(t, s, "--cluster", "logs", "--task-definition", "chatty", "--network-configuration", awsvpcFlag(t, s))
	task := waitTaskStatus(t, s, "logs", arn, "STOPPED", 3*time.Minute)
	if c := container(t, task, "app"); c.ExitCode == nil || *c.ExitCode != 0 {
		t.Fatalf("container exit %v, reason %q", c.ExitCode, aws.ToString(task.StoppedReason))
	}
	msgs := streamMessages(t, s, "chatty", "c/app/"+taskID(arn))
	if len(msgs) != n {
		t.Fatalf("%d events, want %d", len(msgs), n)
	}
	for i, m := range msgs {
		if want := fmt.Sprintf("line %07d", i+1); m != want {
			t.Fatalf("event %d is %q, want %q", i, m, want)
		}
	}
}

// TestLogsSurviveKill9: the server is killed with SIGKILL while a task
// logs, and started again: the stream holds every line the container
// printed, once each, in order.
func TestLogsSurviveKill9(t *testing.T) {
	s := StartECSServer(t, ServerOptions{})
	image := pushToolbox(t, s, "ticker", "v1")
	s.AWS(t, "ecs", "create-cluster", "--cluster-name", "logs").OK(t)
	s.AWS(t, "logs", "create-log-group", "--log-group-name", "ticker").OK(t)
	const n = 600
	s.AWS(t, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "ticker.json",
		logTask("ticker", image, taskExecutionRole(t, s), []string{"-tick", "10ms", "-ticks", fmt.Sprint(n)},
			map[string]string{"awslogs-group": "ticker", "awslogs-region": s.Region, "awslogs-stream-prefix": "t"}))).OK(t)
	arn := runTask(t, s, "--cluster", "logs", "--task-definition", "ticker", "--network-configuration", awsvpcFlag(t, s))
	stream := "t/app/" + taskID(arn)
	waitFor(t, 20*time.Second, "the first lines", func() bool {
		out, err := logsClient(s).GetLogEvents(context.Background(), &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("ticker"), LogStreamName: &stream})
		return err == nil && len(out.Events) > 50
	})
	s.Kill(t)
	time.Sleep(time.Second) // the container goes on printing meanwhile
	s.Start(t)
	waitTaskStatus(t, s, "logs", arn, "STOPPED", 2*time.Minute)
	checkTicks(t, streamEvents(t, s, "ticker", stream), n)
}

// waitFor polls cond every 200 ms until it holds, or fails the test.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %s", what, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// tailProcess is a running `aws logs tail` (CLI v2) and what it printed.
type tailProcess struct {
	mu    sync.Mutex
	lines []string
}

func startTail(t *testing.T, s *Server, group string, args ...string) *tailProcess {
	t.Helper()
	awsCLIs[1].require(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, awsV2Path, append([]string{"--endpoint-url", s.URL, "logs", "tail", group}, args...)...)
	cmd.Env = append(baseEnv(), s.awsEnv()...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &tailProcess{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		<-done
	})
	return p
}

// waitFor waits for a printed line containing text.
func (p *tailProcess) waitFor(t *testing.T, text string, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, fmt.Sprintf("line %q from aws logs tail", text), func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, l := range p.lines {
			if strings.Contains(l, text) {
				return true
			}
		}
		return false
	})
}

// TestLogsMultilineAndDatetime: awslogs-multiline-pattern and
// awslogs-datetime-format group a message's lines into one event, as
// Docker's awslogs driver does (each line ending in a newline).
func TestLogsMultilineAndDatetime(t *testing.T) {
	s := StartECSServer(t, ServerOptions{})
	image := pushToolbox(t, s, "multi", "v1")
	s.AWS(t, "ecs", "create-cluster", "--cluster-name", "logs").OK(t)
	s.AWS(t, "logs", "create-log-group", "--log-group-name", "multi").OK(t)
	script := `printf 'INFO start\nERROR boom\n  at a\n  at b\nINFO end\n'; sleep 1; printf '2026-12-06 10:00:00 first\n  more\n2026-12-06 10:00:01 second\n' >&2`
	for i, opt := range []map[string]string{
		{"awslogs-multiline-pattern": "^(INFO|ERROR)"},
		{"awslogs-datetime-format": "%Y-%m-%d %H:%M:%S"},
	} {
		family := fmt.Sprintf("multi%d", i)
		opt["awslogs-group"], opt["awslogs-region"], opt["awslogs-stream-prefix"] = "multi", s.Region, family
		td := logTask(family, image, taskExecutionRole(t, s), []string{script}, opt)
		td["containerDefinitions"].([]map[string]any)[0]["entryPoint"] = []string{"sh", "-c"}
		s.AWS(t, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, family+".json", td)).OK(t)
		arn := runTask(t, s, "--cluster", "logs", "--task-definition", family, "--network-configuration", awsvpcFlag(t, s))
		waitTaskStatus(t, s, "logs", arn, "STOPPED", time.Minute)
		got := streamMessages(t, s, "multi", family+"/app/"+taskID(arn))
		var want []string
		if i == 0 {
			// The pattern starts events on stdout's lines; stderr's lines
			// match neither form, so they join the event before them.
			want = []string{"INFO start\n", "ERROR boom\n  at a\n  at b\n", "INFO end\n2026-12-06 10:00:00 first\n  more\n2026-12-06 10:00:01 second\n"}
		} else {
			want = []string{"INFO start\nERROR boom\n  at a\n  at b\nINFO end\n", "2026-12-06 10:00:00 first\n  more\n", "2026-12-06 10:00:01 second\n"}
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%v:\n got %q\nwant %q", opt, got, want)
		}
	}
}
