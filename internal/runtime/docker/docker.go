// Package docker implements runtime.Runtime with Docker Engine through its
// official Go client. It speaks API 1.41 (Docker 20.10) features only: the
// client negotiates the version down, and nothing here needs more.
package docker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/client"

	"github.com/berth/berth/internal/runtime"
)

// Config configures a Driver.
type Config struct {
	// PauseBinary is an executable that blocks until SIGTERM/SIGINT and
	// then exits 0, run with PauseArgs (e.g. ["pause"]). It is the process
	// of every network holder ("pause") container, whose image holds it
	// and, when it is dynamically linked, its loader and libraries.
	PauseBinary string
	PauseArgs   []string
	Logger      *slog.Logger
}

// Driver runs containers on the Docker Engine the environment points at
// (DOCKER_HOST etc., else the local socket).
type Driver struct {
	client *client.Client
	cfg    Config
	log    *slog.Logger

	// pauseMu guards the lazily imported pause image.
	pauseMu    sync.Mutex
	pauseImage string

	// cgroupMu guards the daemon's cgroup setup, queried once.
	cgroupMu      sync.Mutex
	cgroupQueried bool
	cgroupDriver  string // "cgroupfs" | "systemd"
	cgroupVersion string // "1" | "2"
	systemdWarned bool
	// cgroupRoot is where the cgroup hierarchies are mounted.
	cgroupRoot string
}

var _ runtime.Runtime = (*Driver)(nil)

// New connects to Docker. It does not require the daemon to answer yet;
// Ping says whether it does.
func New(ctx context.Context, cfg Config) (*Driver, error) {
	if cfg.PauseBinary == "" {
		return nil, errors.New("docker: Config.PauseBinary is required")
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker: client: %w", err)
	}
	return &Driver{
		client:     c,
		cfg:        cfg,
		log:        logger.With("component", "runtime.docker"),
		cgroupRoot: "/sys/fs/cgroup",
	}, nil
}

// Close releases the client's connections.
func (d *Driver) Close() error { return d.client.Close() }

// Ping checks the daemon answers.
func (d *Driver) Ping(ctx context.Context) error {
	if _, err := d.client.Ping(ctx); err != nil {
		return fmt.Errorf("docker: ping: %w", err)
	}
	return nil
}

// Version returns the daemon's server version (e.g. "20.10.24").
func (d *Driver) Version(ctx context.Context) (string, error) {
	v, err := d.client.ServerVersion(ctx)
	if err != nil {
		return "", fmt.Errorf("docker: version: %w", mapErr(err))
	}
	return v.Version, nil
}

// mapErr makes Docker's not-found errors match runtime.ErrNotFound under
// errors.Is while keeping Docker's message and error.
func mapErr(err error) error {
	if err != nil && cerrdefs.IsNotFound(err) {
		return fmt.Errorf("%w: %w", runtime.ErrNotFound, err)
	}
	return err
}
