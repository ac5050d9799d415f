// Package runtime is the container runtime seam of berth's agent: what the
// agent needs from a runtime to run ECS tasks, and nothing more. The docker
// package implements it with Docker Engine; nothing above this interface
// imports a runtime's client.
package runtime

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned for a container or image that does not exist.
var ErrNotFound = errors.New("runtime: not found")

// PullError is a failed pull of Ref. Message is the runtime's own account
// of the failure, which ECS shows its users as it is (after
// "CannotPullContainerError: ").
type PullError struct {
	Ref     string
	Message string
	// Err is the failure, wrapping ErrNotFound when the registry has no
	// such repository or image.
	Err error
}

func (e *PullError) Error() string { return "pull " + e.Ref + ": " + e.Message }
func (e *PullError) Unwrap() error { return e.Err }

// Runtime runs containers for the agent.
type Runtime interface {
	// Ping checks the runtime answers.
	Ping(ctx context.Context) error
	// PullImage pulls ref with auth (nil for anonymous) and returns the
	// local image. With onlyIfMissing it returns a local image at once.
	PullImage(ctx context.Context, ref string, auth *Auth, onlyIfMissing bool) (Image, error)
	// CreateNetworkHolder creates and starts the container that holds a
	// task's network namespace (the "pause" container), with no network
	// but loopback: the agent gives it the task's interface. It returns its
	// state, including its Pid.
	CreateNetworkHolder(ctx context.Context, spec HolderSpec) (Container, error)
	// Create creates a container; it does not start it.
	Create(ctx context.Context, spec ContainerSpec) (Container, error)
	Start(ctx context.Context, id string) error
	// Stop sends the stop signal, waits up to timeout, then kills.
	Stop(ctx context.Context, id string, timeout time.Duration) error
	// Remove removes a container (forcefully, with its anonymous volumes).
	Remove(ctx context.Context, id string) error
	Inspect(ctx context.Context, id string) (Container, error)
	// List returns the containers (running or not) carrying every label in
	// labels.
	List(ctx context.Context, labels map[string]string) ([]Container, error)
	// Stats returns one sample of a running container's resource usage in
	// Docker's stats JSON format (what the task metadata endpoint serves).
	Stats(ctx context.Context, id string) ([]byte, error)
	// Events streams container events from now until ctx ends. The error
	// channel receives one error if the stream breaks; then both close.
	Events(ctx context.Context) (<-chan Event, <-chan error)
	// SetTaskResources applies task-level CPU and memory limits to the
	// task's cgroup parent before its containers are created, and returns the
	// cgroup parent to give them ("" when the runtime can't set one).
	SetTaskResources(ctx context.Context, taskID string, res TaskResources) (cgroupParent string, err error)
	// ReleaseTaskResources removes what SetTaskResources created.
	ReleaseTaskResources(ctx context.Context, taskID string) error
	// Logs reads a container's stored output (stdout and stderr, in the
	// order the runtime stored it) and calls fn with each line. It
	// returns nil once it has read everything (with Follow: once the
	// container has stopped), else the first error, fn's included.
	Logs(ctx context.Context, id string, opts LogsOptions, fn func(LogLine) error) error
	// Exec starts a command in a running container (ECS Exec). It returns
	// once the command runs; ErrNotFound when the container is not there,
	// ErrNotRunning when it does not run.
	Exec(ctx context.Context, id string, spec ExecSpec) (ExecProcess, error)
}

// ErrNotRunning is returned by Exec for a container that is not running.
var ErrNotRunning = errors.New("runtime: container not running")

// ExecSpec is a command to run in a running container.
type ExecSpec struct {
	// Cmd is the command and its arguments.
	Cmd []string
	// Tty runs the command on a terminal: input goes to it, output is the
	// terminal's (one stream), and the terminal echoes as terminals do.
	Tty bool
	// Cols and Rows are the terminal's first size (Tty only; 0: the
	// runtime's default).
	Cols, Rows uint
}

// ExecProcess is a command running in a container.
type ExecProcess interface {
	// Read reads the command's output: the terminal's with a TTY, else its
	// stdout and stderr as they come. It returns io.EOF once the command
	// and everything it started have closed their output.
	Read(p []byte) (int, error)
	// Write writes to the command's input.
	Write(p []byte) (int, error)
	// CloseInput closes the command's input (EOF on its stdin).
	CloseInput() error
	// Resize changes the terminal's size (Tty only).
	Resize(ctx context.Context, cols, rows uint) error
	// Wait waits for the command to exit and returns its exit code.
	Wait(ctx context.Context) (int, error)
	// Close ends the command if it still runs (killing it) and releases
	// what the process holds. It is safe to call more than once.
	Close() error
}

// LogsOptions selects the lines Logs reads.
type LogsOptions struct {
	// Since skips the lines stamped before it, up to the first line
	// stamped at or after it (zero: from the first line). Later lines
	// stamped before it may or may not be read: stdout's and stderr's
	// stamps interleave, and Docker filters them only before 23.0.
	Since time.Time
	// Follow reads on as the container writes, until it stops.
	Follow bool
}

// LogLine is one line of a container's output.
type LogLine struct {
	// Time is when the runtime read the line from the container.
	Time time.Time
	// Text is the line without its newline. A line the runtime stored in
	// parts (Docker splits lines at 16 KiB) is whole, stamped with its
	// first part's time.
	Text []byte
}

// Auth is a registry credential.
type Auth struct {
	Username, Password, ServerAddress string
}

// Image is a local image.
type Image struct {
	ID string
	// RepoDigest is the registry digest (sha256:...) of the pulled
	// manifest, when known.
	RepoDigest string
	// Env, Entrypoint, Cmd, WorkingDir and User are the image config's.
	Env        []string
	Entrypoint []string
	Cmd        []string
	WorkingDir string
	User       string
}

// HolderSpec describes a task's network holder.
type HolderSpec struct {
	Name string
	// Hostname of the task, Labels of the holder, DNS servers and search
	// domains, extra /etc/hosts entries ("name:ip").
	Hostname     string
	Labels       map[string]string
	DNSServers   []string
	DNSSearch    []string
	ExtraHosts   []string
	CgroupParent string
}

// ContainerSpec describes one task container.
type ContainerSpec struct {
	Name   string
	Image  string
	Labels map[string]string
	// Entrypoint and Cmd replace the image's when non-nil.
	Entrypoint, Cmd []string
	Env             []string
	WorkingDir      string
	User            string
	Hostname        string
	// NetworkMode is "container:<holder id>" (awsvpc), "host", "none" or a
	// network name (bridge).
	NetworkMode string
	// PortBindings (bridge mode): container port/protocol -> host port (0:
	// any).
	PortBindings []PortBinding
	ExtraHosts   []string
	DNSServers   []string
	DNSSearch    []string
	// Init runs an init process as PID 1 (initProcessEnabled).
	Init           bool
	ReadonlyRootfs bool
	Privileged     bool
	// MemoryBytes is the hard limit, MemoryReservationBytes the soft one;
	// CPUShares the relative weight (ECS container cpu); 0 = unset.
	MemoryBytes            int64
	MemoryReservationBytes int64
	CPUShares              int64
	CgroupParent           string
	Ulimits                []Ulimit
	Sysctls                map[string]string
	Tmpfs                  map[string]string // path -> mount options
	ShmSizeBytes           int64
	Mounts                 []Mount
	HealthCheck            *HealthCheck
	// StopTimeout is the time between the stop signal and the kill.
	StopTimeout time.Duration
	// Log is the runtime log driver ("" = the runtime's default).
	LogDriver  string
	LogOptions map[string]string
	// Interactive and TTY keep stdin open and allocate a terminal.
	Interactive, TTY bool
	SecurityOpt      []string
	CapAdd, CapDrop  []string
}

// PortBinding maps a container port to a host port.
type PortBinding struct {
	ContainerPort int
	HostPort      int
	Protocol      string // tcp | udp
	HostIP        string
}

// Ulimit is a resource limit.
type Ulimit struct {
	Name       string
	Soft, Hard int64
}

// Mount is a bind mount or a named volume.
type Mount struct {
	Source, Target string
	ReadOnly       bool
}

// HealthCheck is the container's health check, in the runtime's terms:
// Test is ["CMD", args...] or ["CMD-SHELL", command].
type HealthCheck struct {
	Test                           []string
	Interval, Timeout, StartPeriod time.Duration
	Retries                        int
}

// TaskResources are task-level limits: CPU in ECS CPU units (1024 = one
// core) and memory in MiB; 0 = unlimited.
type TaskResources struct {
	CPUUnits  int64
	MemoryMiB int64
}

// Health statuses of Container.Health.
const (
	HealthNone      = ""
	HealthStarting  = "starting"
	HealthHealthy   = "healthy"
	HealthUnhealthy = "unhealthy"
)

// Container is a container's state as the runtime reports it.
type Container struct {
	ID    string
	Name  string
	Image string
	// ImageID is the local image id; the RepoDigest of PullImage says
	// which registry manifest it came from.
	ImageID string
	Labels  map[string]string
	// Created, Running, Exited: Running is true while the process runs.
	Created time.Time
	Running bool
	// Exited is true once the process has run and ended.
	Exited    bool
	ExitCode  int
	OOMKilled bool
	// Error is the runtime's error starting the container, if any.
	Error      string
	StartedAt  time.Time
	FinishedAt time.Time
	Health     string
	// Pid is the container's main process while it runs (Inspect only).
	Pid int
	// IPAddress, MACAddress, Gateway and SubnetCIDR are the container's on
	// its runtime network, if it has one.
	IPAddress, MACAddress, Gateway, SubnetCIDR string
	// Ports are the host ports bound (bridge mode).
	Ports []PortBinding
}

// Event is a container event.
type Event struct {
	ContainerID string
	// Action is the runtime's event (start, die, oom, kill, stop, destroy,
	// health_status: healthy, ...).
	Action string
	Labels map[string]string
	Time   time.Time
}
