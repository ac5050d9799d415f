package scheduler

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
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
	// ReasonDistinctInstance and ReasonMemberOf: the node has the room but
	// a placement constraint rules it out. OBSERVED in RunTask failures and
	// in service events ("The closest matching (container-instance ...)
	// encountered error ...").
	ReasonDistinctInstance = "DistinctInstance placement constraint unsatisfied."
	ReasonMemberOf         = "MemberOf placement constraint unsatisfied."
)

// Placement constraint and strategy types, as the ECS API spells them.
const (
	ConstraintDistinctInstance = "distinctInstance"
	ConstraintMemberOf         = "memberOf"

	StrategyBinpack = "binpack"
	StrategySpread  = "spread"
	StrategyRandom  = "random"
)

// Errors of Request.Validate.
var (
	ErrUnknownConstraint = errors.New("scheduler: unknown placement constraint type")
	ErrNoMatcher         = errors.New("scheduler: memberOf placement constraint has no matcher")
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
	// Attributes are the node's attributes (name -> value, without the
	// "attribute:" prefix of the query language), for spread on
	// attribute:<name>; memberOf matchers may read them too.
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
	// Match tells whether a node satisfies a memberOf constraint's
	// Expression. The caller builds it from the cluster query language
	// (whose parser lives with the API); a memberOf constraint without one
	// is an error. It sees the node as placement does at that moment, Tasks
	// counting the tasks placed earlier in the same call, so subjects like
	// runningTasksCount stay exact; it must depend on nothing but the node.
	Match func(Node) bool
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
	// Constraints are binding: distinctInstance (no two tasks of the group
	// on one node) and memberOf (the node must match Constraint.Match).
	Constraints []Constraint
	// Strategies are applied in order as tie-breakers among the nodes that
	// fit: binpack on cpu or memory (least remaining first), spread on
	// instanceId, host or attribute:<name> (fewest tasks of the group on
	// the node, or on the nodes sharing its attribute value, first), random.
	// Unknown strategies are skipped (strategies are best effort). With
	// none, placement binpacks on memory.
	Strategies []Strategy
	// Rand drives the random strategy; nil uses math/rand/v2's global
	// source. Tests pass a seeded one.
	Rand *rand.Rand
}

// Validate reports a request Place cannot honour: an unknown constraint
// type, or a memberOf constraint without a matcher. Constraints are
// binding, so Place refuses such a request rather than ignore one.
func (r Request) Validate() error {
	for _, c := range r.Constraints {
		switch c.Type {
		case ConstraintDistinctInstance:
		case ConstraintMemberOf:
			if c.Match == nil {
				return fmt.Errorf("%w: %q", ErrNoMatcher, c.Expression)
			}
		default:
			return fmt.Errorf("%w: %q", ErrUnknownConstraint, c.Type)
		}
	}
	return nil
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
	return fits(&node, &task)
}

func fits(node *Node, task *Resources) string {
	switch {
	case task.CPU > node.CPU-node.Used.CPU:
		return ReasonCPU
	case task.MemoryMiB > node.MemoryMiB-node.Used.MemoryMiB:
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

// Place decides which EC2 nodes run req.Count tasks, through ECS's
// pipeline: it drops the nodes a task does not fit (disconnected agent,
// CPU, memory, ports), then those a constraint rules out (in the order the
// constraints are given), then picks among the rest by the strategies,
// each breaking the ties the previous one left; equal nodes keep their
// input order. Each task placed counts against its node (and its attribute
// values) for the next one. When a task fits nowhere, placement stops (the
// later ones, identical, would not fit either) and the failures say, for
// every node, the first check it failed.
//
// A request that fails Validate places nothing; its one failure, with no
// node, carries the validation error's text. Callers should Validate first
// and report the error in their API's terms.
//
// Cost: one pass over the nodes per task, over a compact array of what
// the strategies compare. Whether a node passes the checks is cached and
// recomputed only for the node that took the last task, since nothing else
// changes it; only that node is copied, the input is never written.
func Place(req Request, nodes []Node) (Placement, []Failure) {
	if err := req.Validate(); err != nil {
		return Placement{}, []Failure{{Reason: err.Error()}}
	}
	var p Placement
	if req.Count <= 0 {
		return p, nil
	}
	pl := newPlacer(req, nodes)
	for range req.Count {
		best := pl.pick()
		if best < 0 {
			return p, pl.failures()
		}
		pl.reserve(best)
		p.NodeIDs = append(p.NodeIDs, nodes[best].ID)
	}
	return p, nil
}

// placer is the state of one Place call.
type placer struct {
	req        Request
	nodes      []Node // the caller's, read only
	strategies []Strategy
	// placed holds a copy of each node that took a task in this call,
	// with those tasks reserved; nil for the others.
	placed []*Node
	// keys is, per node, what the checks and strategies read, kept up to
	// date as tasks are placed.
	keys []nodeKeys
	// For a spread on attribute:<name> at strategy index i, bucket[i][n]
	// is node n's attribute value as a small integer and groupTasks[i][v]
	// the group's tasks on all nodes with value v. Nodes without the
	// attribute share one value of their own (UNVERIFIED: what ECS does
	// with them).
	bucket     [][]int32
	groupTasks [][]int
}

type nodeKeys struct {
	remainingCPU, remainingMemory, groupTasks int
	ok                                        bool // passes every check
}

func newPlacer(req Request, nodes []Node) *placer {
	pl := &placer{
		req: req, nodes: nodes, strategies: req.Strategies,
		placed: make([]*Node, len(nodes)),
		keys:   make([]nodeKeys, len(nodes)),
	}
	if len(pl.strategies) == 0 {
		pl.strategies = []Strategy{{Type: StrategyBinpack, Field: "memory"}}
	}
	for i, s := range pl.strategies {
		name, ok := strings.CutPrefix(s.Field, "attribute:")
		if s.Type != StrategySpread || !ok {
			continue
		}
		if pl.bucket == nil {
			pl.bucket = make([][]int32, len(pl.strategies))
			pl.groupTasks = make([][]int, len(pl.strategies))
		}
		values := map[string]int32{}
		missing := int32(-1)
		pl.bucket[i] = make([]int32, len(nodes))
		for n := range nodes {
			v, has := nodes[n].Attributes[name]
			id, seen := values[v]
			switch {
			case !has && missing >= 0:
				id = missing
			case !has:
				id, missing = int32(len(pl.groupTasks[i])), int32(len(pl.groupTasks[i]))
				pl.groupTasks[i] = append(pl.groupTasks[i], 0)
			case !seen:
				id = int32(len(pl.groupTasks[i]))
				values[v] = id
				pl.groupTasks[i] = append(pl.groupTasks[i], 0)
			}
			pl.bucket[i][n] = id
			pl.groupTasks[i][id] += nodes[n].GroupTasks
		}
	}
	for n := range nodes {
		pl.update(n, &nodes[n])
	}
	return pl
}

// node is node n as this call sees it.
func (pl *placer) node(n int) *Node {
	if p := pl.placed[n]; p != nil {
		return p
	}
	return &pl.nodes[n]
}

// update refreshes node n's keys from its current state.
func (pl *placer) update(n int, node *Node) {
	pl.keys[n] = nodeKeys{
		remainingCPU:    node.CPU - node.Used.CPU,
		remainingMemory: node.MemoryMiB - node.Used.MemoryMiB,
		groupTasks:      node.GroupTasks,
		ok:              pl.reason(node) == "",
	}
}

// reason is the first check a node fails for the next task ("" if none).
func (pl *placer) reason(node *Node) string {
	if !node.Connected {
		return ReasonAgent
	}
	if r := fits(node, &pl.req.Task); r != "" {
		return r
	}
	for _, c := range pl.req.Constraints {
		switch c.Type {
		case ConstraintDistinctInstance:
			if node.GroupTasks > 0 {
				return ReasonDistinctInstance
			}
		case ConstraintMemberOf:
			if !c.Match(*node) {
				return ReasonMemberOf
			}
		}
	}
	return ""
}

// pick returns the best node for the next task, or -1 when none passes.
func (pl *placer) pick() int {
	best, ties := -1, 0
	for n := range pl.keys {
		if !pl.keys[n].ok {
			continue
		}
		if best < 0 {
			best, ties = n, 1
			continue
		}
		c, random := 0, false
		for i, s := range pl.strategies {
			if s.Type == StrategyRandom {
				// A random order breaks every tie: later strategies never
				// matter. Pick uniformly among the nodes still tied.
				random = true
				break
			}
			if c = pl.compare(i, n, best); c != 0 {
				break
			}
		}
		switch {
		case c < 0:
			best, ties = n, 1
		case c == 0 && random:
			ties++
			if pl.intN(ties) == 0 {
				best = n
			}
		}
	}
	return best
}

func (pl *placer) intN(n int) int {
	if pl.req.Rand != nil {
		return pl.req.Rand.IntN(n)
	}
	return rand.IntN(n)
}

// compare orders nodes a and b by strategy i: negative when a comes first.
func (pl *placer) compare(i, a, b int) int {
	s := &pl.strategies[i]
	ka, kb := &pl.keys[a], &pl.keys[b]
	switch s.Type {
	case StrategyBinpack: // least remaining first
		switch s.Field {
		case "cpu":
			return ka.remainingCPU - kb.remainingCPU
		case "memory":
			return ka.remainingMemory - kb.remainingMemory
		}
	case StrategySpread: // fewest tasks of the group first
		switch {
		case s.Field == "instanceId" || s.Field == "host":
			return ka.groupTasks - kb.groupTasks
		case pl.bucket != nil && pl.bucket[i] != nil:
			return pl.groupTasks[i][pl.bucket[i][a]] - pl.groupTasks[i][pl.bucket[i][b]]
		}
	}
	return 0
}

// reserve places one task on node n.
func (pl *placer) reserve(n int) {
	node := pl.placed[n]
	if node == nil {
		c := pl.nodes[n]
		node = &c
		pl.placed[n] = node
	}
	node.Reserve(pl.req.Task)
	for i, b := range pl.bucket {
		if b != nil {
			pl.groupTasks[i][b[n]]++
		}
	}
	pl.update(n, node)
}

// failures says why each node refuses the next task.
func (pl *placer) failures() []Failure {
	out := make([]Failure, 0, len(pl.nodes))
	for n := range pl.nodes {
		node := pl.node(n)
		out = append(out, Failure{NodeID: node.ID, Reason: pl.reason(node)})
	}
	return out
}

// PlaceFargate decides which nodes run req.Count Fargate tasks. Fargate
// capacity on berth is the nodes' host itself, so no task is refused for
// resources: each goes to the connected node with the least memory
// reserved by its tasks, counting the ones placed before it. With no
// connected node every task fails with ECS's "capacity unavailable".
// Constraints and strategies do not apply to Fargate.
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
