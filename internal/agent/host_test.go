package agent

import (
	"strings"
	"testing"

	"github.com/berth/berth/internal/awsapi"
)

func TestMemTotalMiB(t *testing.T) {
	for _, tt := range []struct {
		meminfo string
		want    int32
	}{
		{"MemTotal:       24567892 kB\nMemFree:         1234 kB\n", 23992},
		{"MemFree:         1234 kB\n", 0},
		{"", 0},
	} {
		if got := memTotalMiB(strings.NewReader(tt.meminfo)); got != tt.want {
			t.Errorf("memTotalMiB(%q) = %d, want %d", tt.meminfo, got, tt.want)
		}
	}
}

func TestHostNode(t *testing.T) {
	n := HostNode("eu-central-1", "28.2.2")
	attrs := map[string]string{}
	for _, a := range n.Attributes {
		attrs[awsapi.Deref(a.Name)] = awsapi.Deref(a.Value)
	}
	if attrs["ecs.availability-zone"] != "eu-central-1a" || attrs["ecs.os-type"] != "linux" || attrs["berth.docker-version"] != "28.2.2" {
		t.Errorf("attributes %v", attrs)
	}
	if n.CPU <= 0 || n.MemoryMiB <= 0 {
		t.Errorf("cpu %d memory %d", n.CPU, n.MemoryMiB)
	}
	if got := len(HostNode("us-east-1", "").Attributes); got != len(n.Attributes)-1 {
		t.Errorf("%d attributes without a Docker version, want %d", got, len(n.Attributes)-1)
	}
}
