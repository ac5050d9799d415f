package scheduler

import (
	"errors"
	"reflect"
	"testing"
)

// counts tallies providers.
func counts(providers []string) map[string]int {
	m := map[string]int{}
	for _, p := range providers {
		m[p]++
	}
	return m
}

func TestSplitByStrategyArticle(t *testing.T) {
	// The article's cluster default: FARGATE base 1 weight 1, FARGATE_SPOT weight 3.
	article := []Item{{Provider: "FARGATE", Base: 1, Weight: 1}, {Provider: "FARGATE_SPOT", Weight: 3}}
	tests := []struct {
		n     int
		order []string
	}{
		{1, []string{"FARGATE"}},
		{2, []string{"FARGATE", "FARGATE_SPOT"}},
		{3, []string{"FARGATE", "FARGATE_SPOT", "FARGATE_SPOT"}},
		{4, []string{"FARGATE", "FARGATE_SPOT", "FARGATE_SPOT", "FARGATE"}},
		{5, []string{"FARGATE", "FARGATE_SPOT", "FARGATE_SPOT", "FARGATE", "FARGATE_SPOT"}},
		{6, []string{"FARGATE", "FARGATE_SPOT", "FARGATE_SPOT", "FARGATE", "FARGATE_SPOT", "FARGATE_SPOT"}},
		{7, []string{"FARGATE", "FARGATE_SPOT", "FARGATE_SPOT", "FARGATE", "FARGATE_SPOT", "FARGATE_SPOT", "FARGATE_SPOT"}},
		{8, []string{"FARGATE", "FARGATE_SPOT", "FARGATE_SPOT", "FARGATE", "FARGATE_SPOT", "FARGATE_SPOT", "FARGATE_SPOT", "FARGATE"}},
	}
	for _, tt := range tests {
		got, err := SplitByStrategy(article, nil, tt.n)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, tt.order) {
			t.Errorf("n=%d: got %v, want %v", tt.n, got, tt.order)
		}
		// After the base the split stays within one task of 1:3.
		c := counts(got)
		after := tt.n - 1
		if d := float64(c["FARGATE"]-1) - float64(after)/4; d > 1 || d < -1 {
			t.Errorf("n=%d: FARGATE %d after base, share %.2f", tt.n, c["FARGATE"]-1, float64(after)/4)
		}
	}
}

func TestSplitByStrategy(t *testing.T) {
	tests := []struct {
		name     string
		strategy []Item
		existing map[string]int
		n        int
		want     map[string]int
		err      error
	}{
		{"single provider", []Item{{Provider: "FARGATE", Weight: 1}}, nil, 3, map[string]int{"FARGATE": 3}, nil},
		{"weight zero gets nothing", []Item{{Provider: "A", Weight: 0}, {Provider: "B", Weight: 1}}, nil, 4, map[string]int{"B": 4}, nil},
		{"base on weight-zero provider", []Item{{Provider: "A", Base: 2, Weight: 0}, {Provider: "B", Weight: 1}}, nil, 5, map[string]int{"A": 2, "B": 3}, nil},
		{"base larger than n", []Item{{Provider: "A", Base: 10, Weight: 1}, {Provider: "B", Weight: 1}}, nil, 3, map[string]int{"A": 3}, nil},
		{"equal weights alternate", []Item{{Provider: "A", Weight: 1}, {Provider: "B", Weight: 1}}, nil, 4, map[string]int{"A": 2, "B": 2}, nil},
		{"base satisfied by existing", []Item{{Provider: "A", Base: 1, Weight: 1}, {Provider: "B", Weight: 1}}, map[string]int{"A": 1}, 2, map[string]int{"A": 1, "B": 1}, nil},
		{"existing tilt evened out", []Item{{Provider: "A", Weight: 1}, {Provider: "B", Weight: 1}}, map[string]int{"A": 3}, 3, map[string]int{"B": 3}, nil},
		{"existing of unknown providers ignored", []Item{{Provider: "A", Weight: 1}}, map[string]int{"X": 5}, 2, map[string]int{"A": 2}, nil},
		{"zero tasks", []Item{{Provider: "A", Weight: 1}}, nil, 0, map[string]int{}, nil},
		{"all weights zero", []Item{{Provider: "A", Base: 1}, {Provider: "B"}}, nil, 1, nil, ErrZeroWeights},
		{"two bases", []Item{{Provider: "A", Base: 1, Weight: 1}, {Provider: "B", Base: 1, Weight: 1}}, nil, 1, nil, ErrMultipleBase},
		{"empty", nil, nil, 1, nil, ErrEmptyStrategy},
		{"duplicate provider", []Item{{Provider: "A", Weight: 1}, {Provider: "A", Weight: 1}}, nil, 1, nil, ErrBadItem},
		{"negative weight", []Item{{Provider: "A", Weight: -1}}, nil, 1, nil, ErrBadItem},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SplitByStrategy(tt.strategy, tt.existing, tt.n)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.n || !reflect.DeepEqual(counts(got), tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func node(id string, cpu, mem int, used Resources) Node {
	return Node{ID: id, CPU: cpu, MemoryMiB: mem, Connected: true, Used: used}
}

func TestPlace(t *testing.T) {
	small := Resources{CPU: 256, MemoryMiB: 512}
	web := Resources{CPU: 256, MemoryMiB: 512, Ports: []HostPort{{Port: 80, Protocol: "tcp"}}}
	tests := []struct {
		name     string
		req      Request
		nodes    []Node
		want     []string
		failures []Failure
	}{
		{
			name:  "binpack memory picks the fullest node that fits",
			req:   Request{Count: 1, Task: small},
			nodes: []Node{node("a", 4096, 4096, Resources{}), node("b", 4096, 4096, Resources{MemoryMiB: 3000}), node("c", 4096, 4096, Resources{MemoryMiB: 3800})},
			want:  []string{"b"},
		},
		{
			name:  "tasks of one call count against their node",
			req:   Request{Count: 3, Task: small},
			nodes: []Node{node("a", 4096, 2048, Resources{}), node("b", 4096, 1024, Resources{})},
			want:  []string{"b", "b", "a"},
		},
		{
			name:     "memory refused on every node",
			req:      Request{Count: 1, Task: Resources{MemoryMiB: 2048}},
			nodes:    []Node{node("a", 4096, 1024, Resources{}), node("b", 4096, 4096, Resources{MemoryMiB: 3000})},
			failures: []Failure{{NodeID: "a", Reason: ReasonMemory}, {NodeID: "b", Reason: ReasonMemory}},
		},
		{
			name:     "cpu checked before memory",
			req:      Request{Count: 1, Task: Resources{CPU: 2048, MemoryMiB: 8192}},
			nodes:    []Node{node("a", 1024, 1024, Resources{})},
			failures: []Failure{{NodeID: "a", Reason: ReasonCPU}},
		},
		{
			name:     "host port taken",
			req:      Request{Count: 1, Task: web},
			nodes:    []Node{node("a", 4096, 4096, Resources{Ports: []HostPort{{Port: 80, Protocol: "tcp"}}})},
			failures: []Failure{{NodeID: "a", Reason: ReasonPorts}},
		},
		{
			name:  "same port other protocol is free",
			req:   Request{Count: 1, Task: web},
			nodes: []Node{node("a", 4096, 4096, Resources{Ports: []HostPort{{Port: 80, Protocol: "udp"}}})},
			want:  []string{"a"},
		},
		{
			name:     "second task of a call collides on its host port",
			req:      Request{Count: 2, Task: web},
			nodes:    []Node{node("a", 4096, 4096, Resources{})},
			want:     []string{"a"},
			failures: []Failure{{NodeID: "a", Reason: ReasonPorts}},
		},
		{
			name:     "disconnected agent",
			req:      Request{Count: 1, Task: small},
			nodes:    []Node{{ID: "a", CPU: 4096, MemoryMiB: 4096}, node("b", 4096, 4096, Resources{})},
			want:     []string{"b"},
			failures: nil,
		},
		{
			name:     "partial placement reports the refusals",
			req:      Request{Count: 3, Task: small},
			nodes:    []Node{{ID: "a", CPU: 4096, MemoryMiB: 4096}, node("b", 4096, 1024, Resources{})},
			want:     []string{"b", "b"},
			failures: []Failure{{NodeID: "a", Reason: ReasonAgent}, {NodeID: "b", Reason: ReasonMemory}},
		},
		{
			name:  "binpack cpu",
			req:   Request{Count: 1, Task: small, Strategies: []Strategy{{Type: "binpack", Field: "cpu"}}},
			nodes: []Node{node("a", 4096, 4096, Resources{CPU: 3000}), node("b", 4096, 4096, Resources{MemoryMiB: 3000})},
			want:  []string{"a"},
		},
		{
			name: "spread instanceId",
			req:  Request{Count: 3, Task: small, Strategies: []Strategy{{Type: "spread", Field: "instanceId"}}},
			nodes: []Node{
				{ID: "a", CPU: 4096, MemoryMiB: 4096, Connected: true, GroupTasks: 1},
				node("b", 4096, 4096, Resources{}),
			},
			want: []string{"b", "a", "b"},
		},
		{
			name:  "unknown strategy falls through to node order",
			req:   Request{Count: 1, Task: small, Strategies: []Strategy{{Type: "roundrobin"}}},
			nodes: []Node{node("a", 4096, 4096, Resources{}), node("b", 4096, 4096, Resources{MemoryMiB: 3000})},
			want:  []string{"a"},
		},
		{
			name:  "zero-size task fits a full node",
			req:   Request{Count: 1},
			nodes: []Node{node("a", 1024, 1024, Resources{CPU: 1024, MemoryMiB: 1024})},
			want:  []string{"a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := append([]Node(nil), tt.nodes...)
			p, failures := Place(tt.req, tt.nodes)
			if !reflect.DeepEqual(p.NodeIDs, tt.want) {
				t.Errorf("placed %v, want %v", p.NodeIDs, tt.want)
			}
			if !reflect.DeepEqual(failures, tt.failures) {
				t.Errorf("failures %v, want %v", failures, tt.failures)
			}
			if !reflect.DeepEqual(before, tt.nodes) {
				t.Errorf("Place changed its input")
			}
		})
	}
}

func TestPlaceFargate(t *testing.T) {
	task := Resources{CPU: 512, MemoryMiB: 1024}
	tests := []struct {
		name     string
		count    int
		nodes    []Node
		want     []string
		failures []Failure
	}{
		{"no nodes", 2, nil, nil, []Failure{{Reason: ReasonNoFargateCapacity}}},
		{"none connected", 1, []Node{{ID: "a"}}, nil, []Failure{{Reason: ReasonNoFargateCapacity}}},
		{"no resource refusal", 3, []Node{node("a", 1024, 1024, Resources{MemoryMiB: 1024})}, []string{"a", "a", "a"}, nil},
		{"least loaded, counting the call's own tasks", 3, []Node{
			node("a", 1024, 1024, Resources{MemoryMiB: 1024}),
			node("b", 1024, 1024, Resources{}),
			{ID: "c", MemoryMiB: 1 << 20},
		}, []string{"b", "a", "b"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, failures := PlaceFargate(Request{Count: tt.count, Task: task}, tt.nodes)
			if !reflect.DeepEqual(p.NodeIDs, tt.want) || !reflect.DeepEqual(failures, tt.failures) {
				t.Fatalf("got %v %v, want %v %v", p.NodeIDs, failures, tt.want, tt.failures)
			}
		})
	}
}
