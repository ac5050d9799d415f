// Package placement decides where new ECS tasks run and commits the
// decision, as plan and apply: a decision is made over a snapshot of the
// nodes and their reservations read from the store, and applied in one
// transaction that holds only if nothing the decision read about the
// chosen nodes has changed since (the node records and their placement
// ledgers). When something has, the decision is made again: over the
// snapshot brought forward when only this placer's own placements came in
// between, else over a fresh one. Nothing is locked, so placers in one
// server, or in several sharing a store, never overcommit a node and never
// wait for each other except on a real conflict.
package placement

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/scheduler"
	"github.com/berth/berth/internal/store"
)

// Config wires a Placer.
type Config struct {
	Store store.Store
	// Reserves is what a task of spec holds on its node (CPU, memory,
	// host ports): how ECS counts a task definition is the API's rule.
	Reserves func(ecsstate.TaskSpec) scheduler.Resources
	// Registerer gets the placer's metrics (nil: none).
	Registerer prometheus.Registerer
}

// Placer plans and applies placements. One Placer per server shares its
// reservation cache between every caller; any number may run at once.
type Placer struct {
	store     store.Store
	reserves  func(ecsstate.TaskSpec) scheduler.Resources
	conflicts prometheus.Counter

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
	// commits are this placer's own placements, per node, the last
	// commitsKept of each: what lets a decision that lost to one of them
	// be made again over its snapshot brought forward (bringForward).
	commits map[string][]commit
}

// commitsKept bounds the placements remembered per node. A decision that
// lost to more of them than that reads a fresh snapshot.
const commitsKept = 16

// commit is one placement this placer wrote on a node: it moved the
// node's ledger from revision from to revision to (the write compared
// from, so nothing else was placed on the node in between) and added
// tasks.
type commit struct {
	from, to int64
	ledger   ecsstate.NodePlacements
	tasks    []placedTask
}

// New returns a Placer over cfg's store.
func New(cfg Config) *Placer {
	p := &Placer{
		store:    cfg.Store,
		reserves: cfg.Reserves,
		cache:    map[string]*placedTask{},
		commits:  map[string][]commit{},
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

// Place decides and commits new tasks of a region's cluster in group: it
// reads a snapshot, calls decide, and writes the tasks in one transaction
// guarded by the revisions of the chosen nodes' records and ledgers,
// deciding again while another placement gets there first: over the
// snapshot brought forward when that was this placer's own, else over a
// fresh one. It returns the tasks written.
func (p *Placer) Place(ctx context.Context, region, cluster, group string, decide Decide) ([]ecsstate.Task, error) {
	var (
		snap  *Snapshot
		tasks []ecsstate.Task
	)
	err := store.Retry(ctx, func() (err error) {
		if snap == nil {
			if snap, err = p.snapshot(ctx, region, cluster, group); err != nil {
				return err
			}
		}
		if tasks, err = decide(snap); err != nil {
			return err
		}
		err = p.apply(ctx, snap, tasks)
		if errors.Is(err, store.ErrConflict) {
			p.conflicts.Inc()
			if forward, ferr := p.bringForward(ctx, snap); ferr != nil || !forward {
				snap = nil
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return tasks, nil
}

// apply writes tasks if every node they go to is as snap read it, and
// bumps those nodes' ledgers so that every decision that read them before
// this write conflicts. A release (a task stopping) changes no ledger: a
// decision that counted the task as still there only left more room.
func (p *Placer) apply(ctx context.Context, snap *Snapshot, tasks []ecsstate.Task) error {
	if len(tasks) == 0 {
		return nil
	}
	if err := p.ledgersUnchanged(ctx, snap, tasks); err != nil {
		return err
	}
	var txn store.Txn
	placed := map[string]int64{} // node id -> tasks placed on it
	for i := range tasks {
		t := &tasks[i]
		n := snap.byID[t.NodeID]
		if n == nil {
			return fmt.Errorf("placement: task %s placed on %q, a node the snapshot does not have", t.ID, t.NodeID)
		}
		if placed[t.NodeID] == 0 {
			txn.If = append(txn.If,
				store.Compare{Key: ecsstate.NodeKey(t.NodeID), ModRevision: n.recordRevision},
				store.Compare{Key: ecsstate.PlacementKey(t.NodeID), ModRevision: n.ledgerRevision})
		}
		placed[t.NodeID]++
		op, err := store.PutJSON(t.Key(), t)
		if err != nil {
			return err
		}
		txn.If = append(txn.If, store.Compare{Key: t.Key()})
		txn.Then = append(txn.Then, op)
	}
	for id, count := range placed {
		op, err := store.PutJSON(ecsstate.PlacementKey(id), ecsstate.NodePlacements{NodeID: id, Placements: snap.byID[id].ledger.Placements + count})
		if err != nil {
			return err
		}
		txn.Then = append(txn.Then, op)
	}
	rev, err := p.store.Txn(ctx, txn)
	if err != nil {
		return err
	}
	// The next snapshot need not decode what this placement wrote, and a
	// decision that loses to it can be brought forward past it.
	p.mu.Lock()
	defer p.mu.Unlock()
	added := map[string][]placedTask{}
	for i := range tasks {
		t := &placedTask{
			modRevision: rev,
			region:      tasks[i].Region,
			cluster:     tasks[i].Cluster,
			nodeID:      tasks[i].NodeID,
			group:       tasks[i].Spec.Group,
			reserves:    p.reserves(tasks[i].Spec),
			generation:  p.generation,
		}
		p.cache[tasks[i].Key()] = t
		added[t.nodeID] = append(added[t.nodeID], *t)
	}
	for id, count := range placed {
		n := snap.byID[id]
		kept := p.commits[id]
		if len(kept) == commitsKept {
			kept = slices.Delete(kept, 0, 1)
		}
		p.commits[id] = append(kept, commit{
			from:   n.ledgerRevision,
			to:     rev,
			ledger: ecsstate.NodePlacements{NodeID: id, Placements: n.ledger.Placements + count},
			tasks:  added[id],
		})
	}
	return nil
}

// bringForward makes snap current after its decision lost, without
// reading every task again, when what it lost to is this placer's own
// placements: every node record is unchanged, and each node's ledger
// moved only by commits this placer remembers. It adds those commits'
// tasks to the nodes and takes their ledger revisions, so the next
// decision over snap compares what the store holds now. Tasks that
// stopped since snap was read still count: the decision only has less
// room than it might. It reports false, leaving snap partly brought
// forward, when the store holds anything else new (another server's
// placement, a node that changed or joined): then a fresh snapshot is
// needed.
func (p *Placer) bringForward(ctx context.Context, snap *Snapshot) (bool, error) {
	nodes := 0
	changed := false
	if _, err := p.store.Range(ctx, ecsstate.NodePrefix, func(kv store.KV) error {
		nodes++
		if n := snap.byID[strings.TrimPrefix(kv.Key, ecsstate.NodePrefix)]; n == nil || n.recordRevision != kv.ModRevision {
			changed = true
		}
		return nil
	}); err != nil || changed || nodes != len(snap.list) {
		return false, err
	}
	ledgers, err := p.ledgerRevisions(ctx)
	if err != nil {
		return false, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, n := range snap.list {
		id := n.Record.ID
		for n.ledgerRevision != ledgers[id] {
			i := slices.IndexFunc(p.commits[id], func(c commit) bool { return c.from == n.ledgerRevision })
			if i < 0 {
				return false, nil
			}
			c := p.commits[id][i]
			// A placement written after the ledger was read but before the
			// tasks were is counted already.
			if c.to > snap.tasksRevision {
				for j := range c.tasks {
					snap.reserve(&c.tasks[j])
				}
			}
			n.ledger, n.ledgerRevision = c.ledger, c.to
		}
	}
	return true, nil
}

// ledgerRevisions reads the revision of every node's placement ledger.
func (p *Placer) ledgerRevisions(ctx context.Context) (map[string]int64, error) {
	current := map[string]int64{}
	_, err := p.store.Range(ctx, ecsstate.PlacementPrefix, func(kv store.KV) error {
		current[strings.TrimPrefix(kv.Key, ecsstate.PlacementPrefix)] = kv.ModRevision
		return nil
	})
	return current, err
}

// ledgersUnchanged returns store.ErrConflict when a node the tasks go to
// has had another placement since snap was read. The transaction's
// comparisons decide; this only spares a decision that lost already the
// cost of encoding its tasks (about a third of an apply).
func (p *Placer) ledgersUnchanged(ctx context.Context, snap *Snapshot, tasks []ecsstate.Task) error {
	current, err := p.ledgerRevisions(ctx)
	if err != nil {
		return err
	}
	for i := range tasks {
		if n := snap.byID[tasks[i].NodeID]; n != nil && current[tasks[i].NodeID] != n.ledgerRevision {
			return store.ErrConflict
		}
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
	ledger         ecsstate.NodePlacements
	ledgerRevision int64
}

// Snapshot is the nodes of the store with the reservations of their
// tasks, read for one placement decision in one cluster and group.
type Snapshot struct {
	// region and cluster name the cluster: nodes serve a cluster name in
	// every region, but a group's tasks are those of one region's cluster.
	region, cluster, group string
	list                   []*Node
	byID                   map[string]*Node
	// tasksRevision is the store revision the task records were read at.
	tasksRevision int64
}

// Node returns the snapshot's node id.
func (s *Snapshot) Node(id string) (*Node, bool) {
	n, ok := s.byID[id]
	return n, ok
}

// snapshot reads the nodes, their ledgers and then the tasks: a placement
// committed after a ledger was read changes that ledger (and conflicts);
// one committed before wrote its tasks before they are listed. A node's
// reservations come from all its tasks not yet STOPPED, in any cluster:
// they share the host, whatever the region.
func (p *Placer) snapshot(ctx context.Context, region, cluster, group string) (*Snapshot, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	snap := &Snapshot{region: region, cluster: cluster, group: group, byID: make(map[string]*Node, len(p.nodes))}
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
	ledgers, _, err := store.List[ecsstate.NodePlacements](ctx, p.store, ecsstate.PlacementPrefix, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, l := range ledgers {
		if pn := snap.byID[l.Value.NodeID]; pn != nil {
			pn.ledger, pn.ledgerRevision = l.Value, l.ModRevision
		}
	}
	// Range, not List: most task records are in the cache at their
	// revision, and copying every record out of the store would be most of
	// a snapshot's cost.
	p.generation++
	seen := 0
	snap.tasksRevision, err = p.store.Range(ctx, ecsstate.TaskPrefix, func(kv store.KV) error {
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
	})
	if err != nil {
		return nil, err
	}
	// Every cached task was seen unless a record was deleted: only then is
	// the cache walked for what to drop.
	if seen != len(p.cache) {
		maps.DeleteFunc(p.cache, func(_ string, t *placedTask) bool { return t.generation != p.generation })
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
	return active && n.Serves(s.cluster) && slices.Contains(n.LaunchTypes, launchType)
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
