package scheduler

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// azNode is a free node in an availability zone, of an instance type.
func azNode(id, az, instanceType string, groupTasks int) Node {
	return Node{
		ID: id, CPU: 4096, MemoryMiB: 8192, Connected: true, GroupTasks: groupTasks, Tasks: groupTasks,
		Attributes: map[string]string{"ecs.availability-zone": az, "ecs.instance-type": instanceType},
	}
}

// attrMatch is a memberOf matcher for "attribute:<name> == <value>".
func attrMatch(name, value string) func(Node) bool {
	return func(n Node) bool { return n.Attributes[name] == value }
}

func TestPlacePipeline(t *testing.T) {
	small := Resources{CPU: 256, MemoryMiB: 512}
	distinct := []Constraint{{Type: ConstraintDistinctInstance}}
	t2 := []Constraint{{Type: ConstraintMemberOf, Expression: "attribute:ecs.instance-type == t2.micro", Match: attrMatch("ecs.instance-type", "t2.micro")}}
	spreadAZ := Strategy{Type: StrategySpread, Field: "attribute:ecs.availability-zone"}
	spreadInstance := Strategy{Type: StrategySpread, Field: "instanceId"}
	tests := []struct {
		name     string
		req      Request
		nodes    []Node
		want     []string
		failures []Failure
	}{
		{
			name:  "distinctInstance skips nodes running the group",
			req:   Request{Count: 2, Task: small, Constraints: distinct},
			nodes: []Node{azNode("a", "az1", "t2.micro", 1), azNode("b", "az1", "t2.micro", 0), azNode("c", "az2", "t2.micro", 0)},
			want:  []string{"b", "c"},
		},
		{
			name:     "distinctInstance counts the call's own placements",
			req:      Request{Count: 3, Task: small, Constraints: distinct},
			nodes:    []Node{azNode("a", "az1", "t2.micro", 1), azNode("b", "az1", "t2.micro", 0), azNode("c", "az2", "t2.micro", 0)},
			want:     []string{"b", "c"},
			failures: []Failure{{"a", ReasonDistinctInstance}, {"b", ReasonDistinctInstance}, {"c", ReasonDistinctInstance}},
		},
		{
			name: "resources are checked before constraints",
			req:  Request{Count: 1, Task: Resources{MemoryMiB: 8192}, Constraints: distinct},
			nodes: []Node{
				{ID: "a", CPU: 4096, MemoryMiB: 8192, Connected: true, GroupTasks: 1},
				{ID: "b", CPU: 4096, MemoryMiB: 8192, Connected: true, Used: Resources{MemoryMiB: 1}},
				{ID: "c", CPU: 4096, MemoryMiB: 8192},
			},
			failures: []Failure{{"a", ReasonDistinctInstance}, {"b", ReasonMemory}, {"c", ReasonAgent}},
		},
		{
			name:  "memberOf keeps the matching nodes",
			req:   Request{Count: 2, Task: small, Constraints: t2},
			nodes: []Node{azNode("a", "az1", "m5.large", 0), azNode("b", "az1", "t2.micro", 0)},
			want:  []string{"b", "b"},
		},
		{
			name:     "memberOf matches nothing",
			req:      Request{Count: 1, Task: small, Constraints: t2},
			nodes:    []Node{azNode("a", "az1", "m5.large", 0), azNode("b", "az2", "c5.large", 0)},
			failures: []Failure{{"a", ReasonMemberOf}, {"b", ReasonMemberOf}},
		},
		{
			name: "constraints apply in order",
			req:  Request{Count: 1, Task: small, Constraints: append(append([]Constraint{}, t2...), distinct...)},
			nodes: []Node{
				azNode("a", "az1", "m5.large", 1), // fails both: memberOf is reported
				azNode("b", "az1", "t2.micro", 1), // fails distinctInstance
			},
			failures: []Failure{{"a", ReasonMemberOf}, {"b", ReasonDistinctInstance}},
		},
		{
			name: "the matcher sees the call's placements (runningTasksCount < 2)",
			req: Request{Count: 3, Task: small, Constraints: []Constraint{{Type: ConstraintMemberOf, Expression: "runningTasksCount < 2",
				Match: func(n Node) bool { return n.Tasks < 2 }}}},
			nodes: []Node{azNode("a", "az1", "t2.micro", 0), azNode("b", "az1", "t2.micro", 0)},
			want:  []string{"a", "a", "b"},
		},
		{
			name:  "spread across availability zones, then instances",
			req:   Request{Count: 4, Task: small, Strategies: []Strategy{spreadAZ, spreadInstance}},
			nodes: []Node{azNode("a", "az1", "t2.micro", 0), azNode("b", "az1", "t2.micro", 0), azNode("c", "az2", "t2.micro", 0)},
			want:  []string{"a", "c", "b", "c"},
		},
		{
			// az1 holds 2 of the group's tasks, az2 1: c. Then the zones tie
			// at 2 and spread by instance picks b, the node without any.
			name:  "spread by zone counts the group's existing tasks in the zone",
			req:   Request{Count: 2, Task: small, Strategies: []Strategy{spreadAZ, spreadInstance}},
			nodes: []Node{azNode("a", "az1", "t2.micro", 2), azNode("b", "az1", "t2.micro", 0), azNode("c", "az2", "t2.micro", 1)},
			want:  []string{"c", "b"},
		},
		{
			name: "nodes without the attribute share a bucket",
			req:  Request{Count: 3, Task: small, Strategies: []Strategy{spreadAZ}},
			nodes: []Node{
				{ID: "x", CPU: 4096, MemoryMiB: 8192, Connected: true},
				{ID: "y", CPU: 4096, MemoryMiB: 8192, Connected: true},
				azNode("a", "az1", "t2.micro", 0),
			},
			want: []string{"x", "a", "x"},
		},
		{
			name: "spread by zone, then binpack memory within the zone",
			req:  Request{Count: 2, Task: small, Strategies: []Strategy{spreadAZ, {Type: StrategyBinpack, Field: "memory"}}},
			nodes: []Node{
				azNode("a", "az1", "t2.micro", 0),
				func() Node { n := azNode("b", "az1", "t2.micro", 0); n.Used.MemoryMiB = 4096; return n }(),
				azNode("c", "az2", "t2.micro", 0),
			},
			want: []string{"b", "c"},
		},
		{
			name:  "binpack cpu then spread: ties on cpu go to the emptier node",
			req:   Request{Count: 1, Task: small, Strategies: []Strategy{{Type: StrategyBinpack, Field: "cpu"}, spreadInstance}},
			nodes: []Node{azNode("a", "az1", "t2.micro", 3), azNode("b", "az1", "t2.micro", 1)},
			want:  []string{"b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := cloneNodes(tt.nodes)
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

func cloneNodes(nodes []Node) []Node {
	out := make([]Node, len(nodes))
	for i, n := range nodes {
		out[i] = n
		out[i].Used.Ports = append([]HostPort(nil), n.Used.Ports...)
	}
	return out
}

func TestPlaceInvalidRequest(t *testing.T) {
	nodes := []Node{azNode("a", "az1", "t2.micro", 0)}
	tests := []struct {
		name string
		c    Constraint
		err  error
	}{
		{"memberOf without matcher", Constraint{Type: ConstraintMemberOf, Expression: "attribute:ecs.instance-type =~ t2.*"}, ErrNoMatcher},
		{"unknown type", Constraint{Type: "sameZone"}, ErrUnknownConstraint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := Request{Count: 1, Constraints: []Constraint{tt.c}}
			if err := req.Validate(); !errors.Is(err, tt.err) {
				t.Fatalf("Validate: %v, want %v", err, tt.err)
			}
			p, failures := Place(req, nodes)
			if len(p.NodeIDs) != 0 || len(failures) != 1 || failures[0].NodeID != "" || !strings.Contains(failures[0].Reason, tt.err.Error()) {
				t.Fatalf("got %v %v", p.NodeIDs, failures)
			}
		})
	}
	ok := Request{Count: 1, Constraints: []Constraint{{Type: ConstraintDistinctInstance}, {Type: ConstraintMemberOf, Match: attrMatch("x", "y")}}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestPlaceRandom(t *testing.T) {
	small := Resources{CPU: 1, MemoryMiB: 1}
	nodes := []Node{azNode("a", "az1", "t2.micro", 0), azNode("b", "az1", "t2.micro", 0), azNode("c", "az2", "t2.micro", 0)}
	random := []Strategy{{Type: StrategyRandom}}
	place := func(seed uint64, strategies []Strategy, nodes []Node, count int) []string {
		p, failures := Place(Request{Count: count, Task: small, Strategies: strategies, Rand: rand.New(rand.NewPCG(seed, 0))}, nodes)
		if failures != nil {
			t.Fatal(failures)
		}
		return p.NodeIDs
	}

	// Deterministic for a seed.
	if a, b := place(42, random, nodes, 50), place(42, random, nodes, 50); !reflect.DeepEqual(a, b) {
		t.Fatalf("same seed, different placements:\n%v\n%v", a, b)
	}
	// Roughly uniform.
	got := counts(place(1, random, nodes, 3000))
	for _, id := range []string{"a", "b", "c"} {
		if got[id] < 850 || got[id] > 1150 {
			t.Errorf("random placed %v", got)
		}
	}
	// After binpack, random only breaks binpack's ties: c, emptier, never wins.
	loaded := cloneNodes(nodes)
	loaded[0].Used.MemoryMiB, loaded[1].Used.MemoryMiB = 4096, 4096
	for seed := range uint64(20) {
		p := place(seed, []Strategy{{Type: StrategyBinpack, Field: "memory"}, {Type: StrategyRandom}}, loaded, 1)
		if p[0] == "c" {
			t.Fatalf("seed %d placed on the emptier node", seed)
		}
	}
	// Strategies after random never matter; random first ignores binpack.
	seen := map[string]bool{}
	for seed := range uint64(50) {
		seen[place(seed, []Strategy{{Type: StrategyRandom}, {Type: StrategyBinpack, Field: "memory"}}, loaded, 1)[0]] = true
	}
	if !seen["c"] || !seen["a"] || !seen["b"] {
		t.Errorf("random first reached only %v", seen)
	}
	// No source given: still places.
	if p, _ := Place(Request{Count: 2, Task: small, Strategies: random}, nodes); len(p.NodeIDs) != 2 {
		t.Fatalf("placed %v", p.NodeIDs)
	}
}

func TestSplitByStrategyWithExisting(t *testing.T) {
	article := []Item{{Provider: "FARGATE", Base: 1, Weight: 1}, {Provider: "FARGATE_SPOT", Weight: 3}}
	tests := []struct {
		name     string
		existing map[string]int
		n        int
		want     map[string]int // providers of the new tasks
	}{
		// 4 tasks are FARGATE 2 (base + 1), FARGATE_SPOT 2; 8 must be 1 + a
		// 1:3 split of 7 as closely as whole tasks allow: 2:5.
		{"scale 4 -> 8", map[string]int{"FARGATE": 2, "FARGATE_SPOT": 2}, 4, map[string]int{"FARGATE": 1, "FARGATE_SPOT": 3}},
		{"scale 1 -> 5", map[string]int{"FARGATE": 1}, 4, map[string]int{"FARGATE": 1, "FARGATE_SPOT": 3}},
		// 16 = 1 + 15 split 3.75:11.25, so FARGATE 1+4, FARGATE_SPOT 11.
		{"scale 8 -> 16", map[string]int{"FARGATE": 3, "FARGATE_SPOT": 5}, 8, map[string]int{"FARGATE": 2, "FARGATE_SPOT": 6}},
		{"FARGATE_SPOT task of 8 replaced on FARGATE_SPOT", map[string]int{"FARGATE": 3, "FARGATE_SPOT": 4}, 1, map[string]int{"FARGATE_SPOT": 1}},
		{"FARGATE task of 8 replaced on FARGATE", map[string]int{"FARGATE": 2, "FARGATE_SPOT": 5}, 1, map[string]int{"FARGATE": 1}},
		{"the base task replaced on FARGATE", map[string]int{"FARGATE_SPOT": 2}, 1, map[string]int{"FARGATE": 1}},
		{"two FARGATE_SPOT tasks of 8 replaced", map[string]int{"FARGATE": 3, "FARGATE_SPOT": 3}, 2, map[string]int{"FARGATE_SPOT": 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SplitByStrategy(article, tt.existing, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(counts(got), tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}

	// Growing in steps lands where growing at once does, and any stopped
	// task is replaced on its own provider (so a Spot interruption's
	// replacement stays on FARGATE_SPOT).
	strategies := [][]Item{
		article,
		{{Provider: "A", Weight: 1}, {Provider: "B", Weight: 1}},
		{{Provider: "A", Weight: 2}, {Provider: "B", Base: 3, Weight: 5}, {Provider: "C", Weight: 1}},
	}
	for _, strategy := range strategies {
		for n := 1; n <= 30; n++ {
			first, _ := SplitByStrategy(strategy, nil, n)
			for m := 1; m <= 10; m++ {
				more, _ := SplitByStrategy(strategy, counts(first), m)
				all, _ := SplitByStrategy(strategy, nil, n+m)
				if !reflect.DeepEqual(counts(append(append([]string{}, first...), more...)), counts(all)) {
					t.Fatalf("%v: %d then %d differs from %d at once", strategy, n, m, n+m)
				}
			}
			for provider, c := range counts(first) {
				existing := counts(first)
				existing[provider] = c - 1
				got, _ := SplitByStrategy(strategy, existing, 1)
				if got[0] != provider {
					t.Fatalf("%v: of %d tasks, a %s task was replaced on %s", strategy, n, provider, got[0])
				}
			}
		}
	}
}
