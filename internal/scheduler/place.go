package scheduler

import (
	"slices"
)

// Failure reasons, as ECS reports them per container instance in a
// RunTask/StartTask failures list.
const (
	ReasonCPU    = "RESOURCE:CPU"
	ReasonMemory = "RESOURCE:MEMORY"
	ReasonPorts  = "RESOURCE:PORTS"
	// ReasonAgent: the node's agent is disconnected.
	ReasonAgent = "AGENT"
	// ReasonNoFargateCapacity is ECS's answer when Fargate has no capacity
	// for a task; on berth, when no node that takes Fargate tasks is
	// connected.
	ReasonNoFargateCapacity = "Capacity is unavailable at this time. Please try again later or in a different availability zone"
)

// HostPort is a port a task binds on its node.
type HostPort struct {
	Port     int
	Protocol string // tcp | udp
}

// Resources is what tasks reserve on a node: CPU units, MiB of memory and
// host ports.
type Resources struct {
	CPU, MemoryMiB int
	Ports          []HostPort
}

// Add returns r with o's reservation added.
func (r Resources) Add(o Resources) Resources {
	return Resources{
		CPU:       r.CPU + o.CPU,
		MemoryMiB: r.MemoryMiB + o.MemoryMiB,
		Ports:     append(slices.Clip(r.Ports), o.Ports...),
	}
}

// Node is a node (a container instance) as placement sees it.
type Node struct {
	ID string
	// CPU and MemoryMiB are what the node offers in all.
	CPU, MemoryMiB int
	// Connected is whether its agent is connected; tasks are placed only on
	// nodes whose agent can take them at once.
	Connected bool
	// Used is the reservation of the tasks on the node that are not
	// STOPPED.
	Used Resources
	// Tasks counts those tasks; GroupTasks those of them in the request's
	// group (for spread).
	Tasks, GroupTasks int
	// Attributes are the node's attributes (name -> value), for
	// memberOf constraints (issue 4).
	Attributes map[string]string
}

// Remaining is what is left of the node's CPU and memory.
func (n Node) Remaining() (cpu, memoryMiB int) {
	return n.CPU - n.Used.CPU, n.MemoryMiB - n.Used.MemoryMiB
}

// Reserve counts one more task of the request's group, reserving task, on
// the node: what a caller placing tasks one by one (StartTask) does
// between checks.
func (n *Node) Reserve(task Resources) {
	n.Used = n.Used.Add(task)
	n.Tasks++
	n.GroupTasks++
}

// Constraint is a placement constraint (distinctInstance, memberOf).
type Constraint struct {
	Type, Expression string
}

// Strategy is a placement strategy (binpack, spread, random) and its field.
type Strategy struct {
	Type, Field string
}

// Request asks for Count tasks that each reserve Task.
type Request struct {
	Count int
	Task  Resources
	// Group is the task group; Node.GroupTasks counts its tasks.
	Group string
	// Constraints are not applied yet: the constraint pipeline
	// (distinctInstance, memberOf with the cluster query language) is
	// issue 4. They are carried so callers need not change when it comes.
	Constraints []Constraint
	// Strategies are applied in order as tie-breakers: binpack on cpu or
	// memory, spread on instanceId or host (one node is one host on berth).
	// Other strategies (random, spread on attributes) are ignored for now
	// (issue 4). With none, placement binpacks on memory.
	Strategies []Strategy
}

// Failure is one node that could not take a task, and why.
type Failure struct {
	NodeID string // empty when no node is concerned
	Reason string
}

// Placement is where the placed tasks go: one node id per task, in order;
// fewer than Count when the rest fit nowhere.
type Placement struct {
	NodeIDs []string
}

// Fits reports why a node cannot take a task with the given reservation
// ("" if it can): remaining CPU, then memory, then host ports.
func Fits(node Node, task Resources) string {
	cpu, mem := node.Remaining()
	switch {
	case task.CPU > cpu:
		return ReasonCPU
	case task.MemoryMiB > mem:
		return ReasonMemory
	}
	for _, p := range task.Ports {
		for _, used := range node.Used.Ports {
			if p.Port == used.Port && protocol(p.Protocol) == protocol(used.Protocol) {
				return ReasonPorts
			}
		}
	}
	return ""
}

func protocol(p string) string {
	if p == "" {
		return "tcp"
	}
	return p
}

// Place decides which EC2 nodes run req.Count tasks: it drops the nodes a
// task does not fit (disconnected agent, CPU, memory, ports), then picks
// among the rest by the request's strategies. Each task placed counts
// against its node for the next one. When a task fits nowhere, placement
// stops (the later ones, identical, would not fit either) and the failures
// say why each node refused it.
func Place(req Request, nodes []Node) (Placement, []Failure) {
	work := slices.Clone(nodes)
	var p Placement
	for range req.Count {
		var fit []int
		var failures []Failure
		for i, n := range work {
			reason := ReasonAgent
			if n.Connected {
				reason = Fits(n, req.Task)
			}
			if reason != "" {
				failures = append(failures, Failure{NodeID: n.ID, Reason: reason})
				continue
			}
			fit = append(fit, i)
		}
		if len(fit) == 0 {
			return p, failures
		}
		best := fit[0]
		for _, i := range fit[1:] {
			if better(req, work[i], work[best]) {
				best = i
			}
		}
		work[best].Reserve(req.Task)
		p.NodeIDs = append(p.NodeIDs, work[best].ID)
	}
	return p, nil
}

// better reports whether a is a better choice than b under the request's
// strategies, applied in order; equal nodes keep the earlier one.
func better(req Request, a, b Node) bool {
	strategies := req.Strategies
	if len(strategies) == 0 {
		strategies = []Strategy{{Type: "binpack", Field: "memory"}}
	}
	for _, s := range strategies {
		if c := compare(s, a, b); c != 0 {
			return c < 0
		}
	}
	return false
}

// compare orders two nodes by one strategy: negative when a comes first.
func compare(s Strategy, a, b Node) int {
	aCPU, aMem := a.Remaining()
	bCPU, bMem := b.Remaining()
	switch s.Type {
	case "binpack": // least remaining first
		switch s.Field {
		case "cpu":
			return aCPU - bCPU
		case "memory":
			return aMem - bMem
		}
	case "spread": // fewest tasks of the group first
		switch s.Field {
		case "instanceId", "host":
			return a.GroupTasks - b.GroupTasks
		}
	}
	return 0
}

// PlaceFargate decides which nodes run req.Count Fargate tasks. Fargate
// capacity on berth is the nodes' host itself, so no task is refused for
// resources: each goes to the connected node with the least memory
// reserved by its tasks, counting the ones placed before it. With no
// connected node every task fails with ECS's "capacity unavailable".
func PlaceFargate(req Request, nodes []Node) (Placement, []Failure) {
	var work []Node
	for _, n := range nodes {
		if n.Connected {
			work = append(work, n)
		}
	}
	var p Placement
	if req.Count <= 0 {
		return p, nil
	}
	if len(work) == 0 {
		return p, []Failure{{Reason: ReasonNoFargateCapacity}}
	}
	for range req.Count {
		best := 0
		for i := range work[1:] {
			if work[i+1].Used.MemoryMiB < work[best].Used.MemoryMiB {
				best = i + 1
			}
		}
		work[best].Reserve(req.Task)
		p.NodeIDs = append(p.NodeIDs, work[best].ID)
	}
	return p, nil
}
