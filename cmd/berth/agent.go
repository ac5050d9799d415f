package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth/berth/internal/agent"
	"github.com/berth/berth/internal/runtime/docker"
)

// Files in the data dir for the agent.
const (
	agentTokenFile = "agent.token" // the secret agents present to the server
	agentDir       = "agent"       // the in-process agent's own state
)

// metadataAddress is where ECS serves the task metadata endpoint; task
// containers reach it through their gateway, the host.
const metadataAddress = "169.254.170.2"

// runAgent runs the in-process agent against this server until ctx ends. The
// tasks it runs keep running after it returns: a server restart must not stop
// them.
func runAgent(ctx context.Context, cfg serverConfig, serverURL, token string, logger *slog.Logger, metrics prometheus.Registerer) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("agent: find berth's binary: %w", err)
	}
	rt, err := docker.New(ctx, docker.Config{PauseBinary: exe, PauseArgs: []string{"pause"}, Logger: logger})
	if err != nil {
		return fmt.Errorf("agent: docker: %w", err)
	}
	defer rt.Close()
	dockerVersion, _ := rt.Version(ctx) // an attribute only: the agent waits for Docker itself
	node := agent.HostNode(cfg.Region, dockerVersion)
	a, err := agent.New(agent.Config{
		ServerURL:       serverURL,
		Token:           token,
		DataDir:         filepath.Join(cfg.DataDir, agentDir),
		Runtime:         rt,
		Node:            node,
		MetadataAddress: metadataAddress,
		MetadataPort:    cfg.MetadataPort,
		Logger:          logger,
		Registerer:      metrics,
	})
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

// agentServerURL is the URL the in-process agent dials: the listener's own
// address, with a wildcard host replaced by loopback.
func agentServerURL(ln net.Listener) string {
	addr := ln.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
		if addr.IP.To4() == nil {
			host = "::1"
		}
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(addr.Port))
}
