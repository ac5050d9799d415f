package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
)

const (
	startTimeout = time.Minute
	stopTimeout  = 10 * time.Second
)

// server is a registry process we started, with its temp dir and log.
type server struct {
	name    string
	url     string
	dir     string
	dataDir string
	logPath string
	keep    bool
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

func newServer(name string, keep bool) (*server, error) {
	dir, err := os.MkdirTemp("", "bench-registry-"+name+"-")
	if err != nil {
		return nil, err
	}
	dataDir := filepath.Join(dir, "data")
	port, err := freePort()
	if err == nil {
		err = os.Mkdir(dataDir, 0o700)
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &server{
		name:    name,
		url:     fmt.Sprintf("http://127.0.0.1:%d", port),
		dir:     dir,
		dataDir: dataDir,
		logPath: filepath.Join(dir, name+".log"),
		keep:    keep,
	}, nil
}

func (s *server) listen() string { return strings.TrimPrefix(s.url, "http://") }

// start runs bin and waits until healthPath answers 200.
func (s *server) start(ctx context.Context, env []string, healthPath, bin string, args ...string) error {
	logf, err := os.Create(s.logPath)
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own copy
	s.cmd = exec.Command(bin, args...)
	s.cmd.Dir = s.dir
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		return err
	}
	s.exited = make(chan struct{})
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	fmt.Fprintf(os.Stderr, "started %s on %s (log %s)\n", s.name, s.url, s.logPath)

	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		if resp, err := client.Get(s.url + healthPath); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return s.annotate(fmt.Errorf("%s exited before it was ready: %v", s.name, s.waitErr))
		case <-ctx.Done():
			return s.annotate(fmt.Errorf("%s not ready (GET %s 200) after %s: %w", s.name, healthPath, startTimeout, ctx.Err()))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM (a clean shutdown), kills after stopTimeout, and
// removes the temp dir unless asked to keep it.
func (s *server) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(stopTimeout):
			fmt.Fprintf(os.Stderr, "%s did not stop after SIGTERM in %s; killing it\n", s.name, stopTimeout)
			s.cmd.Process.Kill()
			<-s.exited
		}
	}
	if s.keep {
		fmt.Fprintf(os.Stderr, "kept %s\n", s.dir)
		return
	}
	os.RemoveAll(s.dir)
}

// annotate adds the end of the server log to err, since a failing
// measurement is often explained there (an interruption is not).
func (s *server) annotate(err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	b, _ := os.ReadFile(s.logPath)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return fmt.Errorf("%w\n--- end of %s log ---\n%s", err, s.name, strings.Join(lines, "\n"))
}

func startBerth(ctx context.Context, bin string, keep bool) (*server, error) {
	s, err := newServer("berth", keep)
	if err != nil {
		return nil, err
	}
	if bin == "" {
		bin = filepath.Join(s.dir, "berth")
		if err := buildBerth(ctx, bin); err != nil {
			s.stop()
			return nil, err
		}
	}
	if err := s.start(ctx, nil, "/_berth/health", bin, "server", "--listen", s.listen(), "--data-dir", s.dataDir); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// buildBerth builds ./cmd/berth of the module this is run in.
func buildBerth(ctx context.Context, out string) error {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	if root == "." || root == "/dev" {
		return errors.New("run from inside the berth module (or pass --berth-bin)")
	}
	fmt.Fprintln(os.Stderr, "building ./cmd/berth")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/berth")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/berth: %w", err)
	}
	return nil
}

// berthTarget creates repo with the ECR API, using the admin credentials
// berth wrote to its data dir, and gets a registry password as docker login
// via ECR would.
func (s *server) berthTarget(ctx context.Context, repo string) (target, error) {
	raw, err := os.ReadFile(filepath.Join(s.dataDir, "credentials.json"))
	if err != nil {
		return target{}, err
	}
	var creds struct {
		AccessKeyID     string `json:"accessKeyId"`
		SecretAccessKey string `json:"secretAccessKey"`
	}
	if err := json.Unmarshal(raw, &creds); err != nil {
		return target{}, fmt.Errorf("credentials.json: %w", err)
	}
	client := ecr.New(ecr.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.url),
		Credentials:  credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, ""),
	})
	if _, err := client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(repo)}); err != nil {
		return target{}, fmt.Errorf("ecr CreateRepository: %w", err)
	}
	out, err := client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return target{}, fmt.Errorf("ecr GetAuthorizationToken: %w", err)
	}
	if len(out.AuthorizationData) == 0 || out.AuthorizationData[0].AuthorizationToken == nil {
		return target{}, errors.New("ecr GetAuthorizationToken: no token")
	}
	tok, err := base64.StdEncoding.DecodeString(*out.AuthorizationData[0].AuthorizationToken)
	if err != nil {
		return target{}, fmt.Errorf("ecr authorization token: %w", err)
	}
	user, pass, ok := bytes.Cut(tok, []byte(":"))
	if !ok {
		return target{}, errors.New("ecr authorization token: not user:password")
	}
	return target{name: "berth", url: s.url, username: string(user), password: string(pass), repo: repo, srv: s}, nil
}

// distributionConfig is a minimal config: filesystem storage, no auth,
// no access log (it would cost the registry a log line per request), no
// debug listener.
const distributionConfig = `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: %s
`

func startDistribution(ctx context.Context, bin string, keep bool) (*server, error) {
	s, err := newServer("distribution", keep)
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(s.dir, "config.yml")
	if err := os.WriteFile(cfgPath, fmt.Appendf(nil, distributionConfig, s.dataDir, s.listen()), 0o644); err != nil {
		s.stop()
		return nil, err
	}
	// Its OpenTelemetry exporter would otherwise try to send traces.
	env := []string{"OTEL_TRACES_EXPORTER=none"}
	if err := s.start(ctx, env, "/v2/", bin, "serve", cfgPath); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// freePort asks the kernel for an unused loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
