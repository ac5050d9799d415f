// Package placement decides where new ECS tasks run and commits the
// decision, as plan and apply: a decision is made over a snapshot of the
// nodes and their reservations read from the store, and applied in one
// transaction that holds only if nothing the decision read about the
// chosen nodes has changed since: the node records, and the ledgers other
// placers (other servers sharing the store) keep on them. When something
// has, the decision is made again over a fresh snapshot.
//
// A placer's own decisions are checked against each other in memory
// instead: every snapshot counts the placer's placements still being
// written, and a decision that one of them overtook is made again before
// anything is written. So one server's placements never wait for each
// other's writes, and nothing is locked while deciding: placers in one
// server, or in several sharing a store, never overcommit a node and never
// wait for each other except on a real conflict.
package placement

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/scheduler"
	"github.com/berth/berth/internal/store"
)

// Config wires a Placer.
type Config struct {
	Store store.Store
	// ID names the placer's ledgers in the store. It must stay the same
	// across restarts of one server (or its ledgers pile up) and differ
	// between servers sharing a store: a placer does not compare its own
	// ledgers, only the others'.
	ID string
	// Reserves is what a task of spec holds on its node (CPU, memory,
	// host ports): how ECS counts a task definition is the API's rule.
	Reserves func(ecsstate.TaskSpec) scheduler.Resources
	// Registerer gets the placer's metrics (nil: none).
	Registerer prometheus.Registerer
}

// Placer plans and applies placements. One Placer per server shares its
// caches and its placements in flight between every caller; any number may
// run at once.
type Placer struct {
	id        string
	store     store.Store
	reserves  func(ecsstate.TaskSpec) scheduler.Resources
	conflicts prometheus.Counter
	// registered is set once the placer is among the store's Placers.
	registered atomic.Bool

	// mu guards the caches of the records a snapshot reads, by store key,
	// so that a snapshot decodes only those written since the last one:
	// what each task reserves, and each node. The task cache is updated in
	// place, not rebuilt: a map of every task, allocated and cleared per
	// snapshot, cost more than the snapshot's reads.
	mu    sync.Mutex
	cache map[string]*placedTask
	// generation counts snapshots; a cached task carries the generation of
	// the last snapshot that read it, so one that no longer saw it (its
	// record deleted) drops it.
	generation uint64
	nodes      map[string]cachedNode
	// pending are this placer's placements being written.
	pending []*pendingPlacement
	// sequence numbers the placer's placements; lastOn is, per node, the
	// number of the last one that chose it.
	sequence int64
	lastOn   map[string]int64
}

// pendingPlacement is one of the placer's own placements being written:
// its tasks by store key.
type pendingPlacement struct {
	tasks map[string]placedTask
}

// New returns a Placer over cfg's store.
func New(cfg Config) *Placer {
	p := &Placer{
		id:       cfg.ID,
		store:    cfg.Store,
		reserves: cfg.Reserves,
		cache:    map[string]*placedTask{},
		lastOn:   map[string]int64{},
		conflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "berth_ecs_placement_conflicts_total",
			Help: "Placement decisions made again because another placement changed a node they chose.",
		}),
	}
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(p.conflicts)
	}
	return p
}

// Decide is one placement decision over a snapshot: the new task records
// to create, each with NodeID set to a node of the snapshot. It may be
// called again, over a newer snapshot, when its decision lost a conflict,
// so it must depend on nothing but its snapshot (and keep no state of an
// earlier call). An error ends Place with that error.
type Decide func(*Snapshot) ([]ecsstate.Task, error)

// Place decides and commits new tasks of a region's cluster (its record, or
// one naming the region and cluster) in group: it
// reads a snapshot, calls decide, and writes the tasks in one transaction
// guarded by the revisions of the chosen nodes' records and of the other
// placers' ledgers on them, deciding again over a fresh snapshot while
// another placement gets there first. It returns the tasks written.
func (p *Placer) Place(ctx context.Context, cluster ecsstate.Cluster, group string, decide Decide) ([]ecsstate.Task, error) {
	if err := p.register(ctx); err != nil {
		return nil, err
	}
	var tasks []ecsstate.Task
	err := store.Retry(ctx, func() error {
		snap, err := p.snapshot(ctx, cluster, group)
		if err != nil {
			return err
		}
		if tasks, err = decide(snap); err != nil {
			return err
		}
		err = p.apply(ctx, snap, tasks)
		if errors.Is(err, store.ErrConflict) {
			p.conflicts.Inc()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return tasks, nil
}

// overtaken reports whether another of this placer's placements, one snap
// does not count, chose a node tasks go to.
func (p *Placer) overtaken(snap *Snapshot, tasks []ecsstate.Task) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.overtakenLocked(snap, tasks)
}

func (p *Placer) overtakenLocked(snap *Snapshot, tasks []ecsstate.Task) bool {
	for i := range tasks {
		if p.lastOn[tasks[i].NodeID] > snap.sequence {
			return true
		}
	}
	return false
}

// register adds the placer to the store's Placers, once.
func (p *Placer) register(ctx context.Context) error {
	if p.registered.Load() {
		return nil
	}
	_, err := store.Update(ctx, p.store, ecsstate.PlacersKey, func(v *ecsstate.Placers, _ bool) error {
		if slices.Contains(v.IDs, p.id) {
			return store.ErrUnchanged
		}
		v.IDs = append(v.IDs, p.id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("placement: register placer %s: %w", p.id, err)
	}
	p.registered.Store(true)
	return nil
}

// apply writes tasks if every node they go to is as snap read it, and
// rewrites this placer's ledger on each so that every other placer's
// decision that read them before this write conflicts (when there are
// other placers). A release (a task
// stopping) changes no ledger: a decision that counted the task as still
// there only left more room.
//
// A decision that another of this placer's placements overtook on a node
// it chose (one that was not yet pending when snap was read) conflicts
// here, before anything is written. Otherwise the placement is pending,
// counted by every snapshot from now on, before its write starts: the
// placer's writes overlap, and none waits for another's.
func (p *Placer) apply(ctx context.Context, snap *Snapshot, tasks []ecsstate.Task) error {
	if len(tasks) == 0 {
		return nil
	}
	// Checked again where the placement becomes pending; this spares a
	// decision that lost already the cost of encoding its tasks.
	if p.overtaken(snap, tasks) {
		return store.ErrConflict
	}
	txn := store.Txn{If: []store.Compare{{Key: ecsstate.PlacersKey, ModRevision: snap.placersRevision}}}
	placement := &pendingPlacement{tasks: make(map[string]placedTask, len(tasks))}
	chosen := map[string]bool{}
	for i := range tasks {
		t := &tasks[i]
		n := snap.byID[t.NodeID]
		if n == nil {
			return fmt.Errorf("placement: task %s placed on %q, a node the snapshot does not have", t.ID, t.NodeID)
		}
		if !chosen[t.NodeID] {
			chosen[t.NodeID] = true
			txn.If = append(txn.If, store.Compare{Key: ecsstate.NodeKey(t.NodeID), ModRevision: n.recordRevision})
			// A placer alone in the store writes no ledgers: one that joins
			// makes every write decided before it conflict (the list of
			// placers changed), and reads every task written before.
			for _, other := range snap.otherPlacers {
				txn.If = append(txn.If, store.Compare{Key: ecsstate.PlacementKey(t.NodeID, other), ModRevision: n.ledgers[other]})
			}
			if len(snap.otherPlacers) > 0 {
				op, err := store.PutJSON(ecsstate.PlacementKey(t.NodeID, p.id), ecsstate.PlacementLedger{NodeID: t.NodeID, Placer: p.id})
				if err != nil {
					return err
				}
				txn.Then = append(txn.Then, op)
			}
		}
		op, err := store.PutJSON(t.Key(), t)
		if err != nil {
			return err
		}
		txn.If = append(txn.If, store.Compare{Key: t.Key()})
		txn.Then = append(txn.Then, op)
		placement.tasks[t.Key()] = placedTask{
			region:   t.Region,
			cluster:  t.Cluster,
			nodeID:   t.NodeID,
			group:    t.Spec.Group,
			reserves: p.reserves(t.Spec),
		}
	}

	p.mu.Lock()
	if p.overtakenLocked(snap, tasks) {
		p.mu.Unlock()
		return store.ErrConflict
	}
	p.sequence++
	for id := range chosen {
		p.lastOn[id] = p.sequence
	}
	p.pending = append(p.pending, placement)
	p.mu.Unlock()

	rev, err := p.store.Txn(ctx, txn)

	p.mu.Lock()
	defer p.mu.Unlock()
	// The store has settled the write, whatever the error: the next
	// snapshot reads what it holds. (Should a context error leave the
	// outcome unknown, the store's rule is to read again, as that
	// snapshot does.)
	p.pending = slices.DeleteFunc(p.pending, func(pp *pendingPlacement) bool { return pp == placement })
	if err != nil {
		return err
	}
	// The next snapshot need not decode what this placement wrote.
	for key, t := range placement.tasks {
		t.modRevision = rev
		p.cache[key] = &t
	}
	return nil
}

// Node is a node of a snapshot: its record, its placement view (with the
// reservations of its tasks) and the revisions a decision about it
// depends on.
type Node struct {
	Record ecsstate.Node
	View   *scheduler.Node

	recordRevision int64
	// ledgers are the revisions of the other placers' ledgers on the node
	// (none: 0, which a write compares as "still none").
	ledgers map[string]int64
}

// Snapshot is the nodes of the store with the reservations of their
// tasks, read for one placement decision in one cluster and group.
type Snapshot struct {
	// region and cluster name the cluster: nodes serve a cluster name in
	// every region, but a group's tasks are those of one region's cluster.
	region, cluster, group string
	// fargateOnly is the cluster's ecsstate.Cluster.FargateOnly.
	fargateOnly bool
	list        []*Node
	byID        map[string]*Node
	// placersRevision is the revision of the Placers record read, and
	// otherPlacers the placers in it besides this one.
	placersRevision int64
	otherPlacers    []string
	// sequence is the number of the placer's last placement the snapshot
	// counts.
	sequence int64
}

// Node returns the snapshot's node id.
func (s *Snapshot) Node(id string) (*Node, bool) {
	n, ok := s.byID[id]
	return n, ok
}

// snapshot reads the placers, the nodes, the other placers' ledgers and
// then the tasks: another placer's placement committed after its ledger
// was read changes that ledger (and conflicts); one committed before wrote
// its tasks before they are listed. To those it adds this placer's pending
// placements the task read did not see. A node's reservations come from
// all its tasks not yet STOPPED, in any cluster: they share the host,
// whatever the region.
func (p *Placer) snapshot(ctx context.Context, cluster ecsstate.Cluster, group string) (*Snapshot, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	snap := &Snapshot{region: cluster.Region, cluster: cluster.Name, fargateOnly: cluster.FargateOnly, group: group,
		byID: make(map[string]*Node, len(p.nodes)), sequence: p.sequence}
	placers, err := store.Get[ecsstate.Placers](ctx, p.store, ecsstate.PlacersKey)
	if err != nil {
		return nil, err
	}
	snap.placersRevision = placers.ModRevision
	for _, id := range placers.Value.IDs {
		if id != p.id {
			snap.otherPlacers = append(snap.otherPlacers, id)
		}
	}
	nodes := make(map[string]cachedNode, len(p.nodes))
	if _, err := p.store.Range(ctx, ecsstate.NodePrefix, func(kv store.KV) error {
		n, ok := p.nodes[kv.Key]
		if !ok || n.modRevision != kv.ModRevision {
			var err error
			if n, err = decodeNode(kv); err != nil {
				return err
			}
		}
		nodes[kv.Key] = n
		view := &scheduler.Node{
			ID:         n.record.ID,
			CPU:        int(n.record.CPU),
			MemoryMiB:  int(n.record.MemoryMiB),
			Connected:  n.record.Connected,
			Attributes: n.attributes,
		}
		pn := &Node{Record: n.record, View: view, recordRevision: kv.ModRevision}
		snap.list = append(snap.list, pn)
		snap.byID[n.record.ID] = pn
		return nil
	}); err != nil {
		return nil, err
	}
	p.nodes = nodes
	if len(snap.otherPlacers) > 0 {
		if _, err := p.store.Range(ctx, ecsstate.PlacementPrefix, func(kv store.KV) error {
			nodeID, placer, ok := ecsstate.ParsePlacementKey(kv.Key)
			if pn := snap.byID[nodeID]; ok && pn != nil && placer != p.id {
				if pn.ledgers == nil {
					pn.ledgers = map[string]int64{}
				}
				pn.ledgers[placer] = kv.ModRevision
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	// Range, not List: most task records are in the cache at their
	// revision, and copying every record out of the store would be most of
	// a snapshot's cost.
	p.generation++
	seen := 0
	if _, err := p.store.Range(ctx, ecsstate.TaskPrefix, func(kv store.KV) error {
		t := p.cache[kv.Key]
		if t == nil || !t.current(kv) {
			decoded, err := p.decode(kv)
			if err != nil {
				return err
			}
			if t == nil {
				t = new(placedTask)
				p.cache[kv.Key] = t
			}
			*t = decoded
		}
		t.generation = p.generation
		seen++
		snap.reserve(t)
		return nil
	}); err != nil {
		return nil, err
	}
	// Every cached task was seen unless a record was deleted: only then is
	// the cache walked for what to drop.
	if seen != len(p.cache) {
		maps.DeleteFunc(p.cache, func(_ string, t *placedTask) bool { return t.generation != p.generation })
	}
	// A pending placement may have been written after the tasks were read,
	// or just before (its placer not told yet): count what the read did
	// not see.
	for _, pp := range p.pending {
		for key, t := range pp.tasks {
			if read := p.cache[key]; read == nil || read.generation != p.generation {
				snap.reserve(&t)
			}
		}
	}
	return snap, nil
}

// reserve counts a task not yet stopped on its node: its resources, and
// whether it is of the snapshot's group in its cluster.
func (s *Snapshot) reserve(t *placedTask) {
	pn := s.byID[t.nodeID]
	if pn == nil || t.stopped {
		return
	}
	pn.View.Used = pn.View.Used.Add(t.reserves)
	pn.View.Tasks++
	if t.region == s.region && t.cluster == s.cluster && t.group == s.group {
		pn.View.GroupTasks++
	}
}

// Place decides which of the snapshot's nodes run req's tasks of
// launchType. noInstances reports an EC2 launch into a cluster without
// any container instance, which RunTask refuses as a whole.
func (s *Snapshot) Place(launchType string, req scheduler.Request) (placement scheduler.Placement, failures []scheduler.Failure, noInstances bool) {
	if launchType == ecstypes.LaunchTypeFargate {
		placement, failures = scheduler.PlaceFargate(req, s.nodes(ecstypes.LaunchTypeFargate))
		return placement, failures, false
	}
	nodes := s.nodes(ecstypes.LaunchTypeEc2)
	if len(nodes) == 0 {
		return scheduler.Placement{}, nil, true
	}
	placement, failures = scheduler.Place(req, nodes)
	return placement, failures, false
}

// Eligible reports whether a node takes tasks of the snapshot's cluster
// and launch type (connected or not: placement reports a disconnected
// agent as a failure).
func (s *Snapshot) Eligible(n ecsstate.Node, launchType string) bool {
	active := n.Status == "" || n.Status == ecstypes.ContainerInstanceStatusActive
	serves := n.Serves(s.cluster)
	if launchType == ecstypes.LaunchTypeEc2 {
		serves = n.ServesAsInstance(s.cluster, s.fargateOnly)
	}
	return active && serves && slices.Contains(n.LaunchTypes, launchType)
}

// nodes returns the placement view of the nodes that take launchType
// tasks in the cluster.
func (s *Snapshot) nodes(launchType string) []scheduler.Node {
	var out []scheduler.Node
	for _, pn := range s.list {
		if s.Eligible(pn.Record, launchType) {
			out = append(out, *pn.View)
		}
	}
	return out
}
