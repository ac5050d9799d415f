package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// execEnv is a cluster with a task started with execute command enabled,
// whose task role allows what ECS Exec needs.
type execEnv struct {
	*svcEnv
	family   string
	taskRole string
	network  string
}

// execTaskRolePolicy is the article's task role policy for ECS Exec.
const execTaskRolePolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[
"ssmmessages:CreateControlChannel","ssmmessages:CreateDataChannel",
"ssmmessages:OpenControlChannel","ssmmessages:OpenDataChannel"],"Resource":"*"}]}`

func startExecEnv(t *testing.T) *execEnv {
	t.Helper()
	e := &execEnv{svcEnv: startServiceEnv(t, ServerOptions{}, "prod-cluster"), family: "exec-app"}
	e.s.AWS(t, "iam", "create-role", "--role-name", "api-service-task-role", "--assume-role-policy-document", ecsTasksTrust).OK(t)
	e.s.AWS(t, "iam", "put-role-policy", "--role-name", "api-service-task-role", "--policy-name", "ecs-exec",
		"--policy-document", execTaskRolePolicy).OK(t)
	e.taskRole = "arn:aws:iam::" + e.s.AccountID + ":role/api-service-task-role"
	td := map[string]any{
		"family": e.family, "networkMode": "awsvpc", "requiresCompatibilities": []string{"FARGATE"},
		"cpu": "256", "memory": "512", "taskRoleArn": e.taskRole,
		"containerDefinitions": []map[string]any{{"name": "api", "image": e.image, "essential": true}},
	}
	if role := taskExecutionRole(t, e.s); role != "" {
		td["executionRoleArn"] = role
	}
	e.s.AWS(t, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "exec-app.json", td)).OK(t)
	e.network = awsvpcFlag(t, e.s)
	return e
}

// runTask starts a task of the family, with execute command enabled or
// not, and waits for it to run.
func (e *execEnv) runTask(t *testing.T, enable bool) (arn, id string) {
	t.Helper()
	args := []string{"--cluster", e.cluster, "--task-definition", e.family, "--launch-type", "FARGATE", "--network-configuration", e.network}
	if enable {
		args = append(args, "--enable-execute-command")
	}
	arn = runTask(t, e.s, args...)
	waitTaskStatus(t, e.s, e.cluster, arn, "RUNNING", 2*time.Minute)
	return arn, arn[strings.LastIndexByte(arn, '/')+1:]
}

// pluginDir is a directory holding a session-manager-plugin: a link to
// berth (as `berth install-plugin` makes), or the official plugin's binary.
func pluginDir(t *testing.T, official bool) string {
	t.Helper()
	dir := t.TempDir()
	if official {
		bin := officialPlugin(t)
		if err := os.Symlink(bin, filepath.Join(dir, "session-manager-plugin")); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	Berth(t, "install-plugin", dir).OK(t)
	return dir
}

// officialPluginOnce builds AWS's session-manager-plugin from its public
// source (scripts/build-session-manager-plugin.sh) once per run.
var officialPluginOnce struct {
	sync.Once
	path string
	err  error
}

func officialPlugin(t *testing.T) string {
	t.Helper()
	officialPluginOnce.Do(func() {
		dir, err := moduleDir()
		if err != nil {
			officialPluginOnce.err = err
			return
		}
		out := filepath.Join(workDir, "session-manager-plugin")
		b, err := exec.Command(filepath.Join(dir, "scripts", "build-session-manager-plugin.sh"), out).CombinedOutput()
		if err != nil {
			officialPluginOnce.err = fmt.Errorf("%v\n%s", err, b)
			return
		}
		officialPluginOnce.path = out
	})
	require(t, "the official session-manager-plugin (built from its source)", officialPluginOnce.err)
	return officialPluginOnce.path
}

// terminal is a program running on a pseudo-terminal, as a user's shell
// would run it.
type terminal struct {
	t    *testing.T
	cmd  *exec.Cmd
	ptmx *os.File
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
	err  error
}

// startTerminal runs name with args and env on a new 30x100 terminal.
func startTerminal(t *testing.T, env []string, name string, args ...string) *terminal {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 30, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	term := &terminal{t: t, cmd: cmd, ptmx: ptmx, done: make(chan struct{})}
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := ptmx.Read(buf)
			term.mu.Lock()
			term.out.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				break
			}
		}
		term.err = cmd.Wait()
		close(term.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-term.done
		ptmx.Close()
		if t.Failed() {
			t.Logf("terminal output of %s:\n%s", name, term.output())
		}
	})
	return term
}

func (term *terminal) output() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.out.String()
}

// send types s.
func (term *terminal) send(s string) {
	term.t.Helper()
	if _, err := term.ptmx.WriteString(s); err != nil {
		term.t.Fatalf("typing %q: %v", s, err)
	}
}

// expect waits for the output to match re after offset from; it returns
// the offset just past the match.
func (term *terminal) expect(from int, re string, timeout time.Duration) int {
	term.t.Helper()
	pattern := regexp.MustCompile(re)
	deadline := time.Now().Add(timeout)
	for {
		out := term.output()
		if from > len(out) {
			from = len(out)
		}
		if loc := pattern.FindStringIndex(out[from:]); loc != nil {
			return from + loc[1]
		}
		if time.Now().After(deadline) {
			term.t.Fatalf("no %q in the terminal within %s; after offset %d it shows:\n%q", re, timeout, from, out[from:])
		}
		select {
		case <-term.done:
			if out == term.output() {
				term.t.Fatalf("the program ended (%v) without printing %q; after offset %d it shows:\n%q", term.err, re, from, out[from:])
			}
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// wait waits for the program to end and returns its exit status.
func (term *terminal) wait(timeout time.Duration) int {
	term.t.Helper()
	select {
	case <-term.done:
	case <-time.After(timeout):
		term.t.Fatalf("the program did not end within %s; it shows:\n%q", timeout, term.output())
	}
	if term.err == nil {
		return 0
	}
	if exit, ok := term.err.(*exec.ExitError); ok {
		return exit.ExitCode()
	}
	term.t.Fatal(term.err)
	return -1
}

// execCommand runs `aws ecs execute-command` (cli: "aws" for v1, or the
// v2 binary) on a terminal, with plugins in dir first on PATH.
func (e *execEnv) execCommand(t *testing.T, cli, dir, taskARN, command string) *terminal {
	t.Helper()
	env := append(e.s.awsEnv(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"), "TERM=xterm")
	return startTerminal(t, env, cli, "--endpoint-url", e.s.URL, "ecs", "execute-command", "--cluster", e.cluster,
		"--task", taskARN, "--container", "api", "--interactive", "--command", command)
}

// TestECSExecArticle follows the article's ECS Exec section with the real
// aws CLI (v1 and v2) and a Session Manager plugin (berth's link and,
// where it builds from its source, AWS's own): a shell in the container,
// a real terminal.
func TestECSExecArticle(t *testing.T) {
	e := startExecEnv(t)
	taskARN, _ := e.runTask(t, true)

	task := describeTask(t, e.s, e.cluster, taskARN)
	if !task.EnableExecuteCommand {
		t.Errorf("describe-tasks: enableExecuteCommand = false")
	}
	api := container(t, task, "api")
	if len(api.ManagedAgents) != 1 || string(api.ManagedAgents[0].Name) != "ExecuteCommandAgent" || deref(api.ManagedAgents[0].LastStatus) != "RUNNING" {
		t.Errorf("managedAgents = %s, want ExecuteCommandAgent RUNNING", jsonString(api.ManagedAgents))
	}

	for _, c := range []struct {
		name, cli string
		official  bool
	}{
		{"cli v1 with berth's plugin", "aws", false},
		{"cli v2 with berth's plugin", awsV2Path, false},
		{"cli v1 with the official plugin", "aws", true},
		{"cli v2 with the official plugin", awsV2Path, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.cli == awsV2Path {
				if _, err := os.Stat(awsV2Path); err != nil {
					require(t, "AWS CLI v2 ("+awsV2Path+")", err)
				}
			}
			dir := pluginDir(t, c.official)
			term := e.execCommand(t, c.cli, dir, taskARN, "/bin/sh")
			at := term.expect(0, `Starting session with SessionId: ecs-execute-command-[0-9a-f]+`, 30*time.Second)

			// echo: typed, echoed by the container's terminal, run.
			term.send("echo hel''lo-$((40+2))\r")
			at = term.expect(at, `hello-42`, 15*time.Second)

			// A resize reaches the container's terminal.
			pty.Setsize(term.ptmx, &pty.Winsize{Rows: 41, Cols: 133})
			deadline := time.Now().Add(10 * time.Second)
			for {
				term.send("stty size\r")
				next := term.expect(at, `\r+\n\d+ \d+\r+\n`, 10*time.Second)
				if strings.Contains(term.output()[at:next], "41 133") {
					at = next
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("stty size never showed 41 133: %q", term.output()[at:next])
				}
				at = next
				time.Sleep(200 * time.Millisecond)
			}

			// Ctrl-C ends a running command, not the session.
			term.send("sleep 100\r")
			time.Sleep(500 * time.Millisecond)
			term.send("\x03")
			// As a person would, wait before typing on: the official
			// plugin sends the Ctrl-C it gets as SIGINT from another
			// goroutine than the keys, and two messages sent at once
			// can take one sequence number, the second then dropped
			// as a duplicate (by berth as by the SSM agent).
			time.Sleep(time.Second)
			term.send("echo after-$((1+1))-interrupt\r")
			at = term.expect(at, `after-2-interrupt`, 10*time.Second)

			// exit 3 ends the session; the CLI exits 0, as with AWS.
			term.send("exit 3\r")
			term.expect(at, `Exiting session with sessionId: ecs-execute-command-`, 15*time.Second)
			if code := term.wait(15 * time.Second); code != 0 {
				t.Errorf("aws exited %d", code)
			}
		})
	}

	t.Run("non-interactive command", func(t *testing.T) {
		term := e.execCommand(t, "aws", pluginDir(t, false), taskARN, "cat /proc/1/cmdline")
		term.expect(0, `/app`, 30*time.Second)
		term.expect(0, `Exiting session with sessionId`, 15*time.Second)
		term.wait(15 * time.Second)
	})

	t.Run("berth exec exits with the command's status", func(t *testing.T) {
		term := startTerminal(t, os.Environ(), berthBin, "exec", "--listen", e.s.Listen, "--data-dir", e.s.DataDir, "--region", e.s.Region,
			"--cluster", e.cluster, "--task", taskARN, "--", "/bin/sh", "-c", "echo from-berth-exec; exit 3")
		term.expect(0, `from-berth-exec`, 30*time.Second)
		if code := term.wait(15 * time.Second); code != 3 {
			t.Errorf("berth exec exited %d, want 3", code)
		}
	})

	t.Run("sessions are described", func(t *testing.T) {
		var out struct {
			Sessions []struct {
				SessionId, Target, Status, Owner, DocumentName string
			}
		}
		e.s.AWS(t, "ssm", "describe-sessions", "--state", "History").OK(t).Decode(t, &out)
		_, taskID, _ := strings.Cut(taskARN, "task/"+e.cluster+"/")
		if len(out.Sessions) < 5 {
			t.Fatalf("%d sessions in the history, want every one of this test's: %s", len(out.Sessions), jsonString(out))
		}
		for _, s := range out.Sessions {
			if s.Status != "Terminated" || !strings.HasPrefix(s.Target, "ecs:"+e.cluster+"_"+taskID+"_") ||
				s.DocumentName != "AmazonECS-ExecuteInteractiveCommand" || !strings.HasSuffix(s.Owner, ":root") {
				t.Errorf("session %s", jsonString(s))
			}
		}
	})
}

// TestECSExecRefusals: what ECS refuses, in its words, and a session that
// ends with its task.
func TestECSExecRefusals(t *testing.T) {
	e := startExecEnv(t)
	plain, _ := e.runTask(t, false)
	enabled, _ := e.runTask(t, true)

	// The CLI looks for the plugin before it calls ECS.
	plugins := pluginDir(t, false)
	execute := func(t *testing.T, task string, args ...string) Result {
		t.Helper()
		return Run(t, Command{Name: "aws", Env: append(e.s.awsEnv(), "PATH="+plugins+string(os.PathListSeparator)+os.Getenv("PATH")),
			Args: append([]string{"--endpoint-url", e.s.URL, "ecs", "execute-command", "--cluster", e.cluster, "--task", task, "--command", "/bin/sh"}, args...)})
	}
	r := execute(t, plain, "--container", "api", "--interactive")
	r.Fails(t, "InvalidParameterException")
	r.Fails(t, "execute command was not enabled when the task was run")
	execute(t, enabled, "--container", "nope", "--interactive").Fails(t, "InvalidParameterException")
	execute(t, enabled, "--container", "api", "--non-interactive").Fails(t, "Interactive is the only mode supported currently.")

	t.Run("a task role without the ssmmessages permissions", func(t *testing.T) {
		e.s.AWS(t, "iam", "delete-role-policy", "--role-name", "api-service-task-role", "--policy-name", "ecs-exec").OK(t)
		defer func() {
			e.s.AWS(t, "iam", "put-role-policy", "--role-name", "api-service-task-role", "--policy-name", "ecs-exec",
				"--policy-document", execTaskRolePolicy).OK(t)
		}()
		execute(t, enabled, "--container", "api", "--interactive").Fails(t, "TargetNotConnectedException")
	})

	t.Run("ecs:container-name conditions", func(t *testing.T) {
		e.s.AWS(t, "iam", "create-user", "--user-name", "oncall").OK(t)
		e.s.AWS(t, "iam", "put-user-policy", "--user-name", "oncall", "--policy-name", "exec-api", "--policy-document", `{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": "ecs:ExecuteCommand", "Resource": "*",
     "Condition": {"StringEquals": {"ecs:container-name": "api"}}},
    {"Effect": "Allow", "Action": "ecs:DescribeTasks", "Resource": "*"}
  ]
}`).OK(t)
		key := e.s.AWS(t, "iam", "create-access-key", "--user-name", "oncall").OK(t).JSON["AccessKey"].(map[string]any)
		user := e.s.As(key["AccessKeyId"].(string), key["SecretAccessKey"].(string))
		as := func(container string) Result {
			return Run(t, Command{Name: "aws", Env: append(user.awsEnv(), "PATH="+plugins+string(os.PathListSeparator)+os.Getenv("PATH")),
				Args: []string{"--endpoint-url", e.s.URL, "ecs", "execute-command", "--cluster", e.cluster, "--task", enabled,
					"--container", container, "--interactive", "--command", "/bin/sh"}})
		}
		as("sidecar").Fails(t, "is not authorized to perform: ecs:ExecuteCommand")
		as("api").OK(t)
	})

	t.Run("the cluster's logging records the session", func(t *testing.T) {
		e.s.AWS(t, "logs", "create-log-group", "--log-group-name", "/ecs/exec-sessions").OK(t)
		e.s.AWS(t, "ecs", "update-cluster", "--cluster", e.cluster, "--configuration",
			`executeCommandConfiguration={logging=OVERRIDE,logConfiguration={cloudWatchLogGroupName=/ecs/exec-sessions}}`).OK(t)
		term := startTerminal(t, os.Environ(), berthBin, "exec", "--listen", e.s.Listen, "--data-dir", e.s.DataDir, "--region", e.s.Region,
			"--cluster", e.cluster, "--task", enabled, "--", "/bin/sh", "-c", "echo logged-$((6*7))")
		term.expect(0, `logged-42`, 30*time.Second)
		term.wait(15 * time.Second)
		var sessions struct{ Sessions []struct{ SessionId string } }
		e.s.AWS(t, "ssm", "describe-sessions", "--state", "History").OK(t).Decode(t, &sessions)
		id := sessions.Sessions[0].SessionId // newest first
		deadline := time.Now().Add(15 * time.Second)
		for {
			r := e.s.AWS(t, "logs", "get-log-events", "--log-group-name", "/ecs/exec-sessions", "--log-stream-name", id)
			if r.ExitCode == 0 && strings.Contains(r.Stdout, "logged-42") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the session's output is not in /ecs/exec-sessions/%s: %s%s", id, r.Stdout, r.Stderr)
			}
			time.Sleep(500 * time.Millisecond)
		}
	})

	t.Run("a session ends when its task stops", func(t *testing.T) {
		term := e.execCommand(t, "aws", pluginDir(t, false), enabled, "/bin/sh")
		at := term.expect(0, `Starting session with SessionId`, 30*time.Second)
		term.send("echo ready-$((2*3))\r")
		at = term.expect(at, `ready-6`, 15*time.Second)
		e.s.AWS(t, "ecs", "stop-task", "--cluster", e.cluster, "--task", enabled).OK(t)
		term.expect(at, `(Exiting session|SessionId: ecs-execute-command-[0-9a-f]+ : )`, time.Minute)
		term.wait(15 * time.Second)
	})
}

// TestECSExecLargeOutput sends 100 MB through one session and checks every
// line arrived, once and in order.
func TestECSExecLargeOutput(t *testing.T) {
	e := startExecEnv(t)
	taskARN, _ := e.runTask(t, true)
	const lines = 12_500_000 // "1\r\n" .. "12500000\r\n": about 106 MB
	out, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(berthBin, "exec", "--listen", e.s.Listen, "--data-dir", e.s.DataDir, "--region", e.s.Region,
		// cat writes in blocks: seq alone, line-buffered on a terminal,
		// makes a write per line, and Docker's terminal path crawls.
		"--cluster", e.cluster, "--task", taskARN, "--", "/bin/sh", "-c", "seq 1 "+strconv.Itoa(lines)+" | cat")
	cmd.Stdout = out
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("berth exec: %v\n%s", err, stderr.String())
	}
	elapsed := time.Since(start)
	b, err := os.ReadFile(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d bytes in %s (%.1f MB/s)", len(b), elapsed, float64(len(b))/1e6/elapsed.Seconds())
	want := 1
	for line := range strings.SplitSeq(strings.TrimRight(string(b), "\r\n"), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line != strconv.Itoa(want) {
			t.Fatalf("line %d is %q", want, line)
		}
		want++
	}
	if want-1 != lines {
		t.Fatalf("%d lines, want %d", want-1, lines)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
