package e2e

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// awsV2Path is Debian's AWS CLI v2 (2.9), which ignores AWS_ENDPOINT_URL.
const awsV2Path = "/usr/bin/aws"

// ServerOptions configures StartServer; the zero value is berth's defaults.
type ServerOptions struct {
	Region    string   // --region, default us-east-1
	AccountID string   // --account-id, default 000000000000
	Args      []string // more server flags
	// Env is added to the server's environment (DOCKER_HOST, say).
	Env []string
	// Agent runs the in-process agent (StartECSServer sets it, with a task
	// network of the server's own); otherwise the server runs no tasks.
	Agent bool
	// Bin is the berth binary to run (default: the one under test).
	Bin string
	// BeforeVPCs says Bin is a berth from before VPCs, which makes a task
	// network of its own and takes no VPC range.
	BeforeVPCs bool
}

// Server is a `berth server` process on a loopback port with its own data dir.
type Server struct {
	Listen       string // 127.0.0.1:<port>
	URL          string // http://127.0.0.1:<port>, the AWS endpoint
	RegistryHost string // localhost:<port>, what repositoryUri advertises and docker uses
	DataDir      string
	Region       string
	AccountID    string
	LogPath      string // the server's stderr, across restarts

	bin       string
	args      []string
	serverEnv []string
	env       map[string]string

	proc   *exec.Cmd // nil while stopped
	exited chan struct{}
}

// StartServer starts a server with a fresh data dir on a free port and waits
// until it is healthy. When the test ends the server gets SIGTERM and must
// exit 0; if the test failed, the server's log is printed.
func StartServer(t testing.TB, opts ServerOptions) *Server {
	t.Helper()
	s := &Server{
		Region:    cmp.Or(opts.Region, "us-east-1"),
		AccountID: cmp.Or(opts.AccountID, "000000000000"),
		// A directory the server creates, as on a first start.
		DataDir:   filepath.Join(t.TempDir(), "data"),
		LogPath:   filepath.Join(t.TempDir(), "server.log"),
		serverEnv: opts.Env,
		bin:       cmp.Or(opts.Bin, berthBin),
	}
	port := freePort(t)
	s.Listen = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	s.URL = "http://" + s.Listen
	s.RegistryHost = "localhost:" + strconv.Itoa(port)
	s.args = append([]string{"server", "--listen", s.Listen, "--data-dir", s.DataDir,
		"--region", s.Region, "--account-id", s.AccountID, "--log-level", "debug",
		"--agent=" + strconv.FormatBool(opts.Agent)}, opts.Args...)
	// Cleanups run last-registered first: stop the server, then show its log.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log %s:\n%s", s.LogPath, tail(s.LogPath, 64<<10))
		}
	})
	t.Cleanup(func() { s.Stop(t) })
	s.Start(t)
	return s
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Start starts the stopped server on its data dir and port, waits until it is
// healthy and reads `berth env`.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	if s.proc != nil {
		t.Fatal("server already running")
	}
	log, err := os.OpenFile(s.LogPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close() // the child has its own descriptor
	fmt.Fprintf(log, "=== e2e: %s %s\n", s.bin, strings.Join(s.args, " "))
	cmd := exec.Command(s.bin, s.args...)
	cmd.Env = append(baseEnv(), s.serverEnv...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.proc, s.exited = cmd, make(chan struct{})
	go func(done chan struct{}) { cmd.Wait(); close(done) }(s.exited)
	s.waitHealthy(t)
	s.env = s.readEnv(t)
}

func (s *Server) waitHealthy(t testing.TB) {
	t.Helper()
	client := http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-s.exited:
			state := s.proc.ProcessState
			s.proc = nil
			t.Fatalf("berth server exited before it was healthy (%v):\n%s", state, tail(s.LogPath, 16<<10))
		default:
		}
		resp, err := client.Get(s.URL + "/_berth/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("berth server not healthy after 30s (last: %v)", statusOrErr(resp, err))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func statusOrErr(resp *http.Response, err error) string {
	if err != nil {
		return err.Error()
	}
	return resp.Status
}

// readEnv evaluates `berth env` in a real shell, which checks its quoting,
// and returns the AWS_* variables it set.
func (s *Server) readEnv(t testing.TB) map[string]string {
	t.Helper()
	r := Run(t, Command{
		Name: "sh",
		Args: []string{"-c", `out=$("$0" "$@") && eval "$out" && env`, s.bin, "env",
			"--listen", s.Listen, "--data-dir", s.DataDir, "--region", s.Region},
	}).OK(t)
	env := map[string]string{}
	for line := range strings.Lines(r.Stdout) {
		if name, value, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "="); ok && strings.HasPrefix(name, "AWS_") {
			env[name] = value
		}
	}
	return env
}

// Stop sends SIGTERM and fails the test unless the server exits 0 within 30s.
// Stopping a stopped server does nothing.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if s.proc == nil {
		return
	}
	if err := s.proc.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM: %v", err)
	}
	select {
	case <-s.exited:
		if code := s.proc.ProcessState.ExitCode(); code != 0 {
			t.Errorf("berth server exited %d after SIGTERM, want 0", code)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("berth server still running 30s after SIGTERM; killing it")
		s.proc.Process.Kill()
		<-s.exited
	}
	s.proc = nil
}

// Kill ends the server with SIGKILL, as a crash or power loss would.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	if s.proc == nil {
		return
	}
	if err := s.proc.Process.Kill(); err != nil {
		t.Errorf("SIGKILL: %v", err)
	}
	<-s.exited
	s.proc = nil
}

// Restart stops the server cleanly and starts it again on the same data dir
// and port.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop(t)
	s.Start(t)
}

// KillAndRestart kills the server with SIGKILL and starts it again on the
// same data dir and port: what survives is what the server made durable.
func (s *Server) KillAndRestart(t testing.TB) {
	t.Helper()
	s.Kill(t)
	s.Start(t)
}

// As is the server as seen with another access key: its AWS and AWSv2
// run the CLI with that key, its DockerLogin logs docker in with it.
func (s *Server) As(accessKeyID, secretAccessKey string) *Server {
	other := *s
	other.env = maps.Clone(s.env)
	other.env["AWS_ACCESS_KEY_ID"], other.env["AWS_SECRET_ACCESS_KEY"] = accessKeyID, secretAccessKey
	return &other
}

// Env is the AWS_* variables `berth env` exports for this server.
func (s *Server) Env() map[string]string { return s.env }

// awsCLIEnv keeps the aws CLI away from the developer's setup: no config
// files, no pager, no instance metadata look-ups; JSON output.
func awsCLIEnv() []string {
	return []string{
		"AWS_CONFIG_FILE=" + filepath.Join(workDir, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(workDir, "no-aws-credentials"),
		"AWS_PAGER=",
		"AWS_DEFAULT_OUTPUT=json",
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// awsEnv points an aws CLI at the server with the key `berth env` exported.
func (s *Server) awsEnv() []string {
	env := awsCLIEnv()
	for name, value := range s.env {
		env = append(env, name+"="+value)
	}
	return env
}

// AWS runs the aws CLI found on PATH (v1 here) against the server.
func (s *Server) AWS(t testing.TB, args ...string) Result {
	t.Helper()
	_, err := exec.LookPath("aws")
	require(t, "the aws CLI", err)
	return s.runAWS(t, "aws", args)
}

// AWSv2 runs Debian's AWS CLI v2 at /usr/bin/aws against the server.
func (s *Server) AWSv2(t testing.TB, args ...string) Result {
	t.Helper()
	_, err := os.Stat(awsV2Path)
	require(t, "AWS CLI v2 ("+awsV2Path+")", err)
	return s.runAWS(t, awsV2Path, args)
}

func (s *Server) runAWS(t testing.TB, name string, args []string) Result {
	t.Helper()
	return Run(t, Command{Name: name, Args: append([]string{"--endpoint-url", s.URL}, args...), Env: s.awsEnv()})
}

// BerthAWS runs `berth aws` for this server: the user's way to call the CLI.
func (s *Server) BerthAWS(t testing.TB, args ...string) Result {
	t.Helper()
	_, err := exec.LookPath("aws")
	require(t, "the aws CLI", err)
	own := []string{"aws", "--listen", s.Listen, "--data-dir", s.DataDir, "--region", s.Region}
	return Run(t, Command{Name: berthBin, Args: append(own, args...), Env: awsCLIEnv()})
}

// SDKConfig is an aws-sdk-go-v2 configuration for the server: its admin key,
// its region and its endpoint.
func (s *Server) SDKConfig() aws.Config {
	return aws.Config{
		Region:       s.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(s.env["AWS_ACCESS_KEY_ID"], s.env["AWS_SECRET_ACCESS_KEY"], ""),
		BaseEndpoint: aws.String(s.URL),
	}
}

// DockerLogin logs the docker CLI in to the server's registry the way users
// do: `aws ecr get-login-password | docker login --password-stdin`.
func (s *Server) DockerLogin(t testing.TB) {
	t.Helper()
	s.DockerLoginIn(t, s.Region)
}

// DockerLoginIn is DockerLogin with a password for region
// (`get-login-password --region`): docker's pushes and pulls then work in
// that region's repositories.
func (s *Server) DockerLoginIn(t testing.TB, region string) {
	t.Helper()
	RequireDocker(t)
	password := s.AWS(t, "ecr", "get-login-password", "--region", region).OK(t).Stdout
	Run(t, Command{
		Name:  "docker",
		Args:  []string{"login", "--username", "AWS", "--password-stdin", s.RegistryHost},
		Env:   dockerEnv(),
		Stdin: password,
	}).OK(t)
}

// ImageRef is how docker names an image in the server's registry.
func (s *Server) ImageRef(repo, tag string) string {
	return s.RegistryHost + "/" + repo + ":" + tag
}

// ECRImageRef is the ECR form of an image name, which berth resolves to its
// own registry wherever it resolves images (task definitions, say).
func (s *Server) ECRImageRef(repo, tag string) string {
	return fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s:%s", s.AccountID, s.Region, repo, tag)
}

// tail returns the last n bytes of a file, from a line start.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > n {
		b = b[len(b)-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}
