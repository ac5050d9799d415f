package agent

import (
	"bufio"
	"io"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecstypes"
)

// HostNode describes this host as a node for an agent running here: every
// cluster, both launch types, its CPUs and memory, and ECS's built-in
// attributes (plus the Docker version, when known).
func HostNode(region, dockerVersion string) agentproto.Node {
	hostname, _ := os.Hostname()
	arch := goruntime.GOARCH
	if arch == "amd64" {
		arch = "x86_64"
	}
	attr := func(name, value string) ecstypes.Attribute {
		return ecstypes.Attribute{Name: awsapi.String(name), Value: awsapi.String(value)}
	}
	node := agentproto.Node{
		Hostname:    hostname,
		Clusters:    []string{agentproto.AllClusters},
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
	if dockerVersion != "" {
		node.Attributes = append(node.Attributes, attr("berth.docker-version", dockerVersion))
	}
	return node
}

// hostMemoryMiB is MemTotal from /proc/meminfo (0 if unreadable).
func hostMemoryMiB() int32 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	return memTotalMiB(f)
}

// memTotalMiB reads MemTotal (in KiB) from a /proc/meminfo; 0 if absent.
func memTotalMiB(meminfo io.Reader) int32 {
	sc := bufio.NewScanner(meminfo)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kib, _ := strconv.ParseInt(fields[1], 10, 64)
			return int32(kib / 1024)
		}
	}
	return 0
}
