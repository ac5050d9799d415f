package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth/berth/internal/agent"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/runtime"
	"github.com/berth/berth/internal/runtime/docker"
)

// Files in the data dir for the agent.
const (
	agentTokenFile = "agent.token" // the secret agents present to the server
	agentDir       = "agent"       // the in-process agent's own state
)

// metadataAddress is where ECS serves the task metadata endpoint; task
// containers reach it through the task bridge.
const metadataAddress = "169.254.170.2"

// taskSubnet parses --task-subnet and returns it with the host's address on
// it (the first one), which is the tasks' gateway.
func taskSubnet(cidr string) (netip.Prefix, netip.Addr, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() || p.Bits() > 30 {
		return netip.Prefix{}, netip.Addr{}, fmt.Errorf("--task-subnet %q must be an IPv4 CIDR of /30 or larger", cidr)
	}
	p = p.Masked()
	return p, p.Addr().Next(), nil
}

// loadOrCreateToken returns the secret in path, creating it (mode 0600) on
// first use.
func loadOrCreateToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if tok := strings.TrimSpace(string(b)); tok != "" {
			return tok, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", err
	}
	return tok, nil
}

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
	subnet, gateway, err := taskSubnet(cfg.TaskSubnet)
	if err != nil {
		return err
	}
	node := hostNode(cfg.Region)
	if v, err := rt.Version(ctx); err == nil {
		node.Attributes = append(node.Attributes, ecstypes.Attribute{Name: awsapi.String("berth.docker-version"), Value: awsapi.String(v)})
	}
	a, err := agent.New(agent.Config{
		ServerURL: serverURL,
		Token:     token,
		DataDir:   filepath.Join(cfg.DataDir, agentDir),
		Runtime:   rt,
		Node:      node,
		TaskNetwork: runtime.NetworkSpec{
			Name:               cfg.TaskNetwork,
			BridgeName:         cfg.TaskBridge,
			Subnet:             subnet.String(),
			Gateway:            gateway.String(),
			ExtraHostAddresses: []string{metadataAddress + "/32"},
		},
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

// hostNode describes this host as a node: every cluster, both launch types,
// its CPUs and memory, and ECS's built-in attributes.
func hostNode(region string) ecsstate.Node {
	hostname, _ := os.Hostname()
	arch := goruntime.GOARCH
	if arch == "amd64" {
		arch = "x86_64"
	}
	attr := func(name, value string) ecstypes.Attribute {
		return ecstypes.Attribute{Name: awsapi.String(name), Value: awsapi.String(value)}
	}
	return ecsstate.Node{
		Hostname:    hostname,
		Clusters:    []string{ecsstate.AllClusters},
		LaunchTypes: []string{"FARGATE", "EC2"},
		CPU:         int32(goruntime.NumCPU() * 1024),
		MemoryMiB:   hostMemoryMiB(),
		Attributes: []ecstypes.Attribute{
			attr("ecs.os-type", "linux"),
			attr("ecs.os-family", "LINUX"),
			attr("ecs.cpu-architecture", arch),
			attr("ecs.availability-zone", region+"a"),
			attr("ecs.instance-type", "berth"),
		},
	}
}

// hostMemoryMiB is MemTotal from /proc/meminfo (0 if unreadable).
func hostMemoryMiB() int32 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kib, _ := strconv.ParseInt(fields[1], 10, 64)
			return int32(kib / 1024)
		}
	}
	return 0
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
