package docker

import (
	"bytes"
	"errors"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berth/berth/internal/runtime"
)

// execIn starts cmd in a running container and closes the process when the
// test ends.
func execIn(t *testing.T, id string, spec runtime.ExecSpec) runtime.ExecProcess {
	t.Helper()
	p, err := testDriver.Exec(testContext(t, 30*time.Second), id, spec)
	if err != nil {
		t.Fatalf("Exec %q: %v", spec.Cmd, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// sleeper runs a container that sleeps, to exec in.
func sleeper(t *testing.T) runtime.Container {
	t.Helper()
	return run(t, runtime.ContainerSpec{Name: uniqueName(t, "sleeper"), NetworkMode: "none", Cmd: []string{"sleep"}})
}

// output collects what a process writes, read in the background until
// EOF or an error.
type output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on each read
	done    chan struct{}
	err     error // the error that ended reading, nil for EOF
}

func readOutput(p runtime.ExecProcess) *output {
	o := &output{changed: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(o.done)
		b := make([]byte, 4096)
		for {
			n, err := p.Read(b)
			o.mu.Lock()
			o.buf.Write(b[:n])
			close(o.changed)
			o.changed = make(chan struct{})
			o.mu.Unlock()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					o.err = err
				}
				return
			}
		}
	}()
	return o
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitFor waits until the output contains want.
func (o *output) waitFor(t *testing.T, want string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		o.mu.Lock()
		got, changed := o.buf.String(), o.changed
		o.mu.Unlock()
		if strings.Contains(got, want) {
			return
		}
		select {
		case <-changed:
		case <-o.done:
			if s := o.String(); !strings.Contains(s, want) {
				t.Fatalf("output ended (%v) without %q: %q", o.err, want, s)
			}
			return
		case <-timeout:
			t.Fatalf("no %q in the output after 10s: %q", want, o.String())
		}
	}
}

// end waits for the output's end and returns it; reading must have ended
// with io.EOF.
func (o *output) end(t *testing.T) string {
	t.Helper()
	select {
	case <-o.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("output not ended after 10s: %q", o.String())
	}
	if o.err != nil {
		t.Fatalf("reading the output: %v (got %q)", o.err, o.String())
	}
	return o.String()
}

func execWait(t *testing.T, p runtime.ExecProcess) int {
	t.Helper()
	code, err := p.Wait(testContext(t, 15*time.Second))
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	return code
}

func execWrite(t *testing.T, p runtime.ExecProcess, s string) {
	t.Helper()
	if _, err := p.Write([]byte(s)); err != nil {
		t.Fatalf("Write %q: %v", s, err)
	}
}

func TestExecTerminalSize(t *testing.T) {
	needDocker(t)
	t.Parallel()
	c := sleeper(t)
	p := execIn(t, c.ID, runtime.ExecSpec{Cmd: []string{"/testbin", "winsize"}, Tty: true, Cols: 100, Rows: 30})
	out := readOutput(p)
	// winsize prints the size for each line it reads, so each size is
	// read after it was set.
	execWrite(t, p, "\r")
	out.waitFor(t, "size 30 100")
	if err := p.Resize(testContext(t, 10*time.Second), 120, 40); err != nil {
		t.Fatalf("Resize: %v", err)
	}
	execWrite(t, p, "\r")
	out.waitFor(t, "size 40 120")
	// ^D at a line's start is the terminal's EOF.
	execWrite(t, p, "\x04")
	out.end(t)
	if code := execWait(t, p); code != 0 {
		t.Errorf("exit code %d, want 0; output %q", code, out.String())
	}

	// Without a size, the runtime's default (Docker's: 0 0) and no error.
	p = execIn(t, c.ID, runtime.ExecSpec{Cmd: []string{"/testbin", "winsize"}, Tty: true})
	out = readOutput(p)
	execWrite(t, p, "\r\x04")
	out.end(t)
	if code := execWait(t, p); code != 0 || !strings.Contains(out.String(), "size ") {
		t.Errorf("without a size: exit code %d, output %q", code, out.String())
	}
}

func TestExecTerminalEcho(t *testing.T) {
	needDocker(t)
	t.Parallel()
	c := sleeper(t)
	p := execIn(t, c.ID, runtime.ExecSpec{Cmd: []string{"/testbin", "echo"}, Tty: true, Cols: 80, Rows: 24})
	out := readOutput(p)
	execWrite(t, p, "hello\r")
	// Once from the terminal's echo, once from the command; the terminal
	// turns CR into NL on input and NL into CRLF on output.
	out.waitFor(t, "hello\r\nhello\r\n")
	// On a terminal, the input ends with the terminal's EOF; the output
	// goes on.
	if err := p.CloseInput(); err != nil {
		t.Fatalf("CloseInput: %v", err)
	}
	got := out.end(t)
	if !strings.Contains(got, "EOF") {
		t.Errorf("output %q lacks the command's EOF (stderr, on the terminal too)", got)
	}
	if code := execWait(t, p); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
}

func TestExecExitCode(t *testing.T) {
	needDocker(t)
	t.Parallel()
	c := sleeper(t)
	for _, tty := range []bool{false, true} {
		p := execIn(t, c.ID, runtime.ExecSpec{Cmd: []string{"/testbin", "exit", "-code", "3"}, Tty: tty})
		// Wait needs no reader when there is no output.
		if code := execWait(t, p); code != 3 {
			t.Errorf("tty %v: exit code %d, want 3", tty, code)
		}
		if b, err := io.ReadAll(p); err != nil || len(b) != 0 {
			t.Errorf("tty %v: output %q, %v; want none and EOF", tty, b, err)
		}
		if err := p.Close(); err != nil {
			t.Errorf("tty %v: Close of an exited command: %v", tty, err)
		}
	}

	// A command that is not there fails in the container: the runtime's
	// message and exit code (126 or 127) come through the process.
	p := execIn(t, c.ID, runtime.ExecSpec{Cmd: []string{"/no-such-command"}})
	out := readOutput(p)
	got := out.end(t)
	if code := execWait(t, p); code == 0 {
		t.Errorf("missing command: exit code 0 (output %q)", got)
	}
}

func TestExecStreams(t *testing.T) {
	needDocker(t)
	t.Parallel()
	c := sleeper(t)

	p := execIn(t, c.ID, runtime.ExecSpec{Cmd: []string{"/testbin", "lines", "-n", "4", "-stderr-every", "2"}})
	got := readOutput(p).end(t)
	for _, want := range []string{"line 1\n", "line 2\n", "line 3\n", "line 4\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("output %q lacks %q (stdout and stderr both)", got, want)
		}
	}
	if code := execWait(t, p); code != 0 {
		t.Errorf("lines: exit code %d", code)
	}

	p = execIn(t, c.ID, runtime.ExecSpec{Cmd: []string{"/testbin", "echo"}})
	out := readOutput(p)
	execWrite(t, p, "hello\n")
	out.waitFor(t, "hello\n")
	if err := p.CloseInput(); err != nil {
		t.Fatalf("CloseInput: %v", err)
	}
	if got := out.end(t); got != "hello\nEOF\n" {
		t.Errorf("echo output %q, want the input, then EOF from stderr", got)
	}
	if code := execWait(t, p); code != 0 {
		t.Errorf("echo: exit code %d", code)
	}
	// Without a terminal there is nothing to resize.
	if err := p.Resize(testContext(t, 5*time.Second), 80, 24); err != nil {
		t.Errorf("Resize without a terminal: %v", err)
	}
}

func TestExecErrors(t *testing.T) {
	d := needDocker(t)
	t.Parallel()
	ctx := testContext(t, 60*time.Second)
	cmd := runtime.ExecSpec{Cmd: []string{"/testbin", "exit"}}

	if _, err := d.Exec(ctx, "berthtest-"+runID+"-missing", cmd); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Exec in a missing container: %v, want runtime.ErrNotFound", err)
	}
	created := create(t, runtime.ContainerSpec{Name: uniqueName(t, "created"), NetworkMode: "none"})
	if _, err := d.Exec(ctx, created.ID, cmd); !errors.Is(err, runtime.ErrNotRunning) {
		t.Errorf("Exec in a created container: %v, want runtime.ErrNotRunning", err)
	}
	exited := run(t, runtime.ContainerSpec{Name: uniqueName(t, "exited"), NetworkMode: "none", Cmd: []string{"exit"}})
	waitExited(t, exited.ID, 15*time.Second)
	if _, err := d.Exec(ctx, exited.ID, cmd); !errors.Is(err, runtime.ErrNotRunning) {
		t.Errorf("Exec in an exited container: %v, want runtime.ErrNotRunning", err)
	}
	running := sleeper(t)
	for _, empty := range [][]string{nil, {}} {
		if _, err := d.Exec(ctx, running.ID, runtime.ExecSpec{Cmd: empty}); err == nil {
			t.Errorf("Exec of %#v: no error", empty)
		}
	}
}

func TestExecCloseKills(t *testing.T) {
	d := needDocker(t)
	t.Parallel()
	c := sleeper(t)
	for _, tty := range []bool{false, true} {
		p := execIn(t, c.ID, runtime.ExecSpec{Cmd: []string{"/testbin", "sleep"}, Tty: tty})
		id := p.(*execProcess).id
		ctx := testContext(t, 30*time.Second)
		// Exec returns once the command runs: Close right away kills it.
		if err := p.Close(); err != nil {
			t.Errorf("tty %v: Close: %v", tty, err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			inspect, err := d.client.ContainerExecInspect(ctx, id)
			if err != nil {
				t.Fatalf("tty %v: exec inspect: %v", tty, err)
			}
			if !inspect.Running {
				if !killedExit(inspect.ExitCode) {
					t.Errorf("tty %v: exit code %d after Close, want %d (killed)", tty, inspect.ExitCode, 128+int(syscall.SIGKILL))
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("tty %v: the command still runs 5s after Close", tty)
			}
			time.Sleep(50 * time.Millisecond)
		}
		// Wait returns after Close; Close again is harmless.
		if code := execWait(t, p); !killedExit(code) {
			t.Errorf("tty %v: Wait after Close: %d", tty, code)
		}
		if err := p.Close(); err != nil {
			t.Errorf("tty %v: second Close: %v", tty, err)
		}
		if _, err := p.Read(make([]byte, 1)); err == nil {
			t.Errorf("tty %v: Read after Close: no error", tty)
		}
	}
}

// killedExit reports whether an exec's exit code says it was killed:
// 137 (SIGKILL), or 126 when the kill reached the runtime's process
// before it had started the command, which Docker reports as a command
// that could not run.
func killedExit(code int) bool {
	return code == 128+int(syscall.SIGKILL) || code == 126
}

// kill refuses a pid that is not in the exec's container: with a daemon on
// another host or in another PID namespace, Docker's pids are not ours.
func TestExecKillChecksPid(t *testing.T) {
	t.Parallel()
	p := &execProcess{id: "exec", containerID: strings.Repeat("ab", 32)}
	if err := p.kill(0); err == nil {
		t.Error("kill(0): no error")
	}
	other := exec.Command("sleep", "60")
	if err := other.Start(); err != nil {
		t.Skipf("no sleep to start: %v", err)
	}
	defer func() {
		other.Process.Kill()
		other.Wait()
	}()
	if err := p.kill(other.Process.Pid); err == nil {
		t.Error("kill of a process outside the container: no error")
	}
	if err := other.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("the process outside the container was killed: %v", err)
	}
}
