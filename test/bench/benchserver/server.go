// Package benchserver starts and stops the servers the benchmarks measure
// (berth and its baselines) as child processes on free loopback ports, each
// in a temporary directory with its log.
package benchserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

const (
	startTimeout = time.Minute
	stopTimeout  = 30 * time.Second
)

// Server is a process a benchmark started, with its temp dir and log.
type Server struct {
	Name    string
	URL     string // http://127.0.0.1:<port>
	Dir     string // temporary; removed by Stop unless kept
	DataDir string // Dir/data
	LogPath string
	keep    bool
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// New prepares a server named name on a free port; keep keeps its temp dir
// after Stop for inspection.
func New(name string, keep bool) (*Server, error) {
	dir, err := os.MkdirTemp("", "bench-"+name+"-")
	if err != nil {
		return nil, err
	}
	dataDir := filepath.Join(dir, "data")
	port, err := FreePort()
	if err == nil {
		err = os.Mkdir(dataDir, 0o700)
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &Server{
		Name:    name,
		URL:     fmt.Sprintf("http://127.0.0.1:%d", port),
		Dir:     dir,
		DataDir: dataDir,
		LogPath: filepath.Join(dir, name+".log"),
		keep:    keep,
	}, nil
}

// Listen is the server's host:port.
func (s *Server) Listen() string { return strings.TrimPrefix(s.URL, "http://") }

// PID is the server process's id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Start runs bin with args and env added to this environment, in the
// server's dir, and waits until healthPath answers 200.
func (s *Server) Start(ctx context.Context, env []string, healthPath, bin string, args ...string) error {
	logf, err := os.Create(s.LogPath)
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own copy
	s.cmd = exec.Command(bin, args...)
	s.cmd.Dir = s.Dir
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
	fmt.Fprintf(os.Stderr, "started %s on %s (log %s)\n", s.Name, s.URL, s.LogPath)

	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		if resp, err := client.Get(s.URL + healthPath); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return s.Annotate(fmt.Errorf("%s exited before it was ready: %v", s.Name, s.waitErr))
		case <-ctx.Done():
			return s.Annotate(fmt.Errorf("%s not ready (GET %s 200) after %s: %w", s.Name, healthPath, startTimeout, ctx.Err()))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop sends SIGTERM (a clean shutdown), kills after a timeout, and removes
// the temp dir unless asked to keep it.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(stopTimeout):
			fmt.Fprintf(os.Stderr, "%s did not stop after SIGTERM in %s; killing it\n", s.Name, stopTimeout)
			s.cmd.Process.Kill()
			<-s.exited
		}
	}
	if s.keep {
		fmt.Fprintf(os.Stderr, "kept %s\n", s.Dir)
		return
	}
	os.RemoveAll(s.Dir)
}

// Annotate adds the end of the server log to err, since a failing
// measurement is often explained there (an interruption is not).
func (s *Server) Annotate(err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	b, _ := os.ReadFile(s.LogPath)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return fmt.Errorf("%w\n--- end of %s log ---\n%s", err, s.Name, strings.Join(lines, "\n"))
}

// FreePort asks the kernel for an unused loopback port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// GoBuild builds a static binary of pkg (./cmd/berth, say) of the module
// this runs in.
func GoBuild(ctx context.Context, out, pkg string) error {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	if root == "." || root == "/dev" {
		return errors.New("run from inside the berth module (or pass --berth-bin)")
	}
	fmt.Fprintln(os.Stderr, "building", pkg)
	cmd := exec.CommandContext(ctx, "go", "build", "-buildvcs=false", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s: %w", pkg, err)
	}
	return nil
}

// BerthBinary returns the berth binary a benchmark runs: bin made absolute
// (the servers run in directories of their own), or, when bin is empty,
// one built from this module into dir.
func BerthBinary(ctx context.Context, bin, dir string) (string, error) {
	if bin != "" {
		return filepath.Abs(bin)
	}
	bin = filepath.Join(dir, "berth")
	return bin, GoBuild(ctx, bin, "./cmd/berth")
}

// Median is the median of xs (which it leaves unsorted).
func Median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
