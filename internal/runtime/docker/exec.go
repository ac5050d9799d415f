package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/berth/berth/internal/runtime"
)

const (
	// execPollInterval is how often Wait and Close ask whether an exec
	// still runs.
	execPollInterval = 50 * time.Millisecond
	// execStartPollInterval is how often Exec asks whether the command
	// has started: it takes tens of milliseconds.
	execStartPollInterval = 10 * time.Millisecond
	// execKillGrace is how long Close lets an exec end by itself once its
	// connection is closed, before it kills it.
	execKillGrace = time.Second
)

// Exec starts spec.Cmd in a running container and attaches to its input
// and output.
func (d *Driver) Exec(ctx context.Context, id string, spec runtime.ExecSpec) (runtime.ExecProcess, error) {
	if len(spec.Cmd) == 0 {
		return nil, fmt.Errorf("docker: exec in %s: no command", id)
	}
	inspect, err := d.client.ContainerInspect(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("docker: exec in %s: %w", id, mapErr(err))
	}
	if s := inspect.State; s == nil || !s.Running || s.Restarting {
		return nil, fmt.Errorf("docker: exec in %s: %w", id, runtime.ErrNotRunning)
	}

	opts := container.ExecOptions{
		Cmd:          spec.Cmd,
		Tty:          spec.Tty,
		AttachStdin:  true,
		AttachStdout: true,
		AttachStderr: true,
	}
	var size *[2]uint
	if spec.Tty && spec.Cols > 0 && spec.Rows > 0 {
		size = &[2]uint{spec.Rows, spec.Cols}
	}
	// The client drops ConsoleSize below API 1.42 (Docker 23); then the
	// size is set once the command starts (below).
	opts.ConsoleSize = size
	created, err := d.client.ContainerExecCreate(ctx, id, opts)
	if err != nil {
		return nil, fmt.Errorf("docker: exec in %s: %w", id, mapExecErr(err))
	}
	attached, err := d.client.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{Tty: spec.Tty, ConsoleSize: size})
	if err != nil {
		return nil, fmt.Errorf("docker: exec in %s: attach: %w", id, mapExecErr(err))
	}

	pr, pw := io.Pipe()
	p := &execProcess{
		d:           d,
		id:          created.ID,
		containerID: inspect.ID,
		tty:         spec.Tty,
		conn:        attached,
		out:         pr,
		ended:       make(chan struct{}),
	}
	go p.pump(pw)

	if err := p.waitStarted(ctx); err != nil {
		p.Close()
		return nil, fmt.Errorf("docker: exec in %s: %w", id, err)
	}
	if size != nil && versions.LessThan(d.client.ClientVersion(), "1.42") {
		// The command has just started on a terminal of Docker's default
		// size (0x0), and gets SIGWINCH now: the size is set when Exec
		// returns. A command already gone (or that failed to start) has no
		// terminal left to size: not an error.
		if err := d.client.ContainerExecResize(ctx, created.ID, container.ResizeOptions{Height: size[0], Width: size[1]}); err != nil {
			d.log.DebugContext(ctx, "setting an exec's first terminal size", "container", id, "exec", created.ID, "error", err)
		}
	}
	return p, nil
}

// waitStarted waits until the daemon has started the command (or failed
// to): the attach returns before it does. Docker reports Running while it
// starts the command, and the Pid once it runs; a command that failed to
// start has an exit code (126 or 127) and no Pid.
func (p *execProcess) waitStarted(ctx context.Context) error {
	for {
		inspect, err := p.d.client.ContainerExecInspect(ctx, p.id)
		if err != nil {
			return fmt.Errorf("inspect: %w", mapErr(err))
		}
		if inspect.Pid != 0 || inspect.ExitCode != 0 {
			return nil
		}
		select {
		case <-p.ended:
			return nil
		case <-time.After(execStartPollInterval):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// mapExecErr maps Docker's errors creating or starting an exec: not found,
// and the conflict of a container that stopped in between.
func mapExecErr(err error) error {
	if cerrdefs.IsConflict(err) && strings.Contains(err.Error(), "is not running") {
		return fmt.Errorf("%w: %w", runtime.ErrNotRunning, err)
	}
	return mapErr(err)
}

// execProcess is a command Exec started, on its hijacked connection.
type execProcess struct {
	d           *Driver
	id          string // the exec's
	containerID string
	tty         bool
	conn        types.HijackedResponse
	// out is the command's output, fed by pump.
	out *io.PipeReader
	// ended is closed once the output stream has ended (or Close closed
	// it).
	ended     chan struct{}
	endedOnce sync.Once

	closeOnce sync.Once
	closeErr  error
}

var _ runtime.ExecProcess = (*execProcess)(nil)

// pump copies the stream into the output pipe: as it is with a terminal,
// else demultiplexed from Docker's stdout/stderr framing.
func (p *execProcess) pump(pw *io.PipeWriter) {
	var err error
	if p.tty {
		_, err = io.Copy(pw, p.conn.Reader)
	} else {
		_, err = stdcopy.StdCopy(pw, pw, p.conn.Reader)
	}
	// nil (the stream's end) makes Read return io.EOF.
	pw.CloseWithError(err)
	p.end()
}

func (p *execProcess) end() { p.endedOnce.Do(func() { close(p.ended) }) }

// Read reads the command's output; io.EOF once the stream has ended.
func (p *execProcess) Read(b []byte) (int, error) { return p.out.Read(b) }

// Write writes to the command's input.
func (p *execProcess) Write(b []byte) (int, error) { return p.conn.Conn.Write(b) }

// CloseInput ends the command's input. Without a terminal it closes the
// connection's input side, and the daemon closes the command's stdin. With
// one that would not do: the daemon then stops sending the output and
// leaves the command running on its terminal. So it types the terminal's
// end of file (^D) instead, as a user would: at a line's start the command
// reads EOF.
func (p *execProcess) CloseInput() error {
	if p.tty {
		if _, err := p.conn.Conn.Write([]byte{0x04}); err != nil {
			return fmt.Errorf("docker: exec %s: close input: %w", p.id, err)
		}
		return nil
	}
	cw, ok := p.conn.Conn.(types.CloseWriter)
	if !ok {
		return errors.New("docker: exec: the connection can't close its input alone")
	}
	if err := cw.CloseWrite(); err != nil {
		return fmt.Errorf("docker: exec %s: close input: %w", p.id, err)
	}
	return nil
}

// Resize changes the terminal's size. Without a terminal there is no size
// to change: it does nothing.
func (p *execProcess) Resize(ctx context.Context, cols, rows uint) error {
	if !p.tty {
		return nil
	}
	if err := p.d.client.ContainerExecResize(ctx, p.id, container.ResizeOptions{Height: rows, Width: cols}); err != nil {
		return fmt.Errorf("docker: exec %s: resize: %w", p.id, mapErr(err))
	}
	return nil
}

// Wait waits until the output has been read to its end (or Close closed
// it), then until Docker reports the command exited, and returns its exit
// code. The caller reads the output meanwhile: a command that can't write
// doesn't end.
func (p *execProcess) Wait(ctx context.Context) (int, error) {
	select {
	case <-p.ended:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	for {
		inspect, err := p.d.client.ContainerExecInspect(ctx, p.id)
		if err != nil {
			return 0, fmt.Errorf("docker: exec %s: inspect: %w", p.id, mapErr(err))
		}
		if !inspect.Running {
			return inspect.ExitCode, nil
		}
		select {
		case <-time.After(execPollInterval):
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// Close closes the connection and kills the command if it still runs a
// moment later. Docker has no API to end an exec, and closing the
// connection does not end it (with a terminal it does not even hang it
// up). berth's agent runs on the Docker host as root, so it kills the
// command's host process itself.
func (p *execProcess) Close() error {
	p.closeOnce.Do(func() {
		p.conn.Close()
		// Unblocks pump if it waits for a reader.
		p.out.Close()
		p.end()
		p.closeErr = p.killIfRunning()
	})
	return p.closeErr
}

func (p *execProcess) killIfRunning() error {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	deadline := time.Now().Add(execKillGrace)
	for {
		inspect, err := p.d.client.ContainerExecInspect(ctx, p.id)
		if err != nil {
			if cerrdefs.IsNotFound(err) {
				// The container (and the exec with it) is gone.
				return nil
			}
			return fmt.Errorf("docker: exec %s: inspect: %w", p.id, err)
		}
		if !inspect.Running {
			return nil
		}
		if time.Now().After(deadline) {
			return p.kill(inspect.Pid)
		}
		time.Sleep(execPollInterval)
	}
}

// kill sends SIGKILL to the exec's host process pid, after checking that
// pid is in the exec's container (its cgroup path names the container):
// with a daemon that is not on this host (or in another PID namespace) the
// pid is someone else's.
func (p *execProcess) kill(pid int) error {
	if pid <= 0 {
		return fmt.Errorf("docker: exec %s still runs and Docker gives no pid to kill", p.id)
	}
	cgroups, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil // exited in between
		}
		return fmt.Errorf("docker: exec %s: kill pid %d: %w", p.id, pid, err)
	}
	if p.containerID == "" || !strings.Contains(string(cgroups), p.containerID) {
		return fmt.Errorf("docker: exec %s still runs and its pid %d is not in container %s on this host: not killed", p.id, pid, p.containerID)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("docker: exec %s: kill pid %d: %w", p.id, pid, err)
	}
	return nil
}
