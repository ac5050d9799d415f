package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	// berthBin is the berth binary under test.
	berthBin string
	// workDir holds what all tests share: binaries and the docker config.
	workDir string
	// dockerConfigDir keeps docker logins of the tests out of ~/.docker.
	dockerConfigDir string
)

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "berth-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	workDir = dir
	dockerConfigDir = filepath.Join(dir, "docker-config")
	if err := os.Mkdir(dockerConfigDir, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if berthBin, err = findOrBuildBerth(dir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	return m.Run()
}

func findOrBuildBerth(dir string) (string, error) {
	if bin := os.Getenv("BERTH_BIN"); bin != "" {
		return filepath.Abs(bin)
	}
	bin := filepath.Join(dir, "berth")
	// Static, as `make build` builds it.
	return bin, buildBerth(bin, append(os.Environ(), "CGO_ENABLED=0"))
}

// buildBerth builds ./cmd/berth of this module into bin with env.
func buildBerth(bin string, env []string) error {
	dir, err := moduleDir()
	if err != nil {
		return err
	}
	build := exec.Command("go", "build", "-buildvcs=false", "-o", bin, "./cmd/berth")
	build.Env = env
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/berth: %w\n%s", err, out)
	}
	return nil
}

// inCI reports whether missing tools must fail tests instead of skipping them.
func inCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

// require skips the test when err says a tool is unavailable, or fails it in
// CI, where every tool must be installed.
func require(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if inCI() {
		t.Fatalf("%s is unavailable (CI=true, so this fails instead of skipping): %v", what, err)
	}
	t.Skipf("skipping: %s is unavailable (under CI=true this fails): %v", what, err)
}

var dockerProbe = sync.OnceValue(func() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput()
	if err != nil {
		return fmt.Errorf("docker info: %w: %s (start it with scripts/start-dockerd.sh)", err, bytes.TrimSpace(out))
	}
	return nil
})

// RequireDocker skips the test (fails it in CI) when no Docker daemon answers.
func RequireDocker(t testing.TB) {
	t.Helper()
	require(t, "Docker", dockerProbe())
}

// Command is one client invocation for Run.
type Command struct {
	Name string
	Args []string
	// Env is added to the test's environment without AWS_* and BERTH_*
	// variables, so the developer's settings never leak into a test.
	Env     []string
	Stdin   string
	Timeout time.Duration // default 5 minutes
}

// Result is what a command did.
type Result struct {
	Stdout, Stderr string
	ExitCode       int
	// JSON is Stdout parsed when it is a JSON object, else nil.
	JSON map[string]any
}

// Run runs c and returns its result whatever the exit code; it fails the test
// only when the command cannot start or runs out of time.
func Run(t testing.TB, c Command) Result {
	t.Helper()
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Name, c.Args...)
	cmd.Env = append(baseEnv(), c.Env...)
	cmd.Stdin = strings.NewReader(c.Stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// A grandchild holding the pipes open must not hang the test.
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	name := c.Name
	if name == berthBin {
		name = "berth"
	}
	line := strings.Join(append([]string{name}, c.Args...), " ")
	r := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("$ %s: timed out after %s\nstdout:\n%s\nstderr:\n%s", line, timeout, r.Stdout, r.Stderr)
	case errors.As(err, &exit):
		r.ExitCode = exit.ExitCode()
	case err != nil:
		t.Fatalf("$ %s: %v", line, err)
	}
	var obj map[string]any
	if json.Unmarshal(stdout.Bytes(), &obj) == nil {
		r.JSON = obj
	}
	t.Logf("$ %s  # exit %d", line, r.ExitCode)
	return r
}

// baseEnv is the environment of every command the harness runs.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "BERTH_") {
			env = append(env, kv)
		}
	}
	return env
}

// OK fails the test unless the command exited 0, and returns r for chaining.
func (r Result) OK(t testing.TB) Result {
	t.Helper()
	if r.ExitCode != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	return r
}

// Fails fails the test unless the command exited non-zero with wantStderr in
// its stderr (an AWS error code, say), and returns r for chaining.
func (r Result) Fails(t testing.TB, wantStderr string) Result {
	t.Helper()
	if r.ExitCode == 0 || !strings.Contains(r.Stderr, wantStderr) {
		t.Fatalf("want a failure mentioning %q, got exit %d\nstdout:\n%s\nstderr:\n%s", wantStderr, r.ExitCode, r.Stdout, r.Stderr)
	}
	return r
}

// Decode unmarshals Stdout into v or fails the test.
func (r Result) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Stdout), v); err != nil {
		t.Fatalf("stdout is not the JSON expected: %v\n%s", err, r.Stdout)
	}
}

// Docker runs the docker CLI with the tests' own config directory (so logins
// stay out of ~/.docker); it skips the test (fails it in CI) without Docker.
func Docker(t testing.TB, args ...string) Result {
	t.Helper()
	RequireDocker(t)
	return Run(t, Command{Name: "docker", Args: args, Env: dockerEnv()})
}

func dockerEnv() []string { return []string{"DOCKER_CONFIG=" + dockerConfigDir} }

// Berth runs the berth binary under test.
func Berth(t testing.TB, args ...string) Result {
	t.Helper()
	return Run(t, Command{Name: berthBin, Args: args})
}

// UniqueName returns prefix with a suffix no other test run uses, for image
// tags and AWS resource names that outlive a server (Docker's images).
func UniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
}

// moduleDir is the directory of berth's go.mod: the repository's root.
func moduleDir() (string, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	return filepath.Dir(strings.TrimSpace(string(gomod))), nil
}
