package placement_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/ecs/placement"
	"github.com/berth/berth/internal/scheduler"
	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/store/bolt"
)

const (
	region  = "us-east-1"
	cluster = "default"
	group   = "family:web"
	// Each node takes tasksPerNode tasks of taskCPU.
	taskCPU      = 256
	tasksPerNode = 4
)

func openStore(t *testing.T) store.Store {
	t.Helper()
	s, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// reserves counts a task's task-level cpu only: enough for these tests.
func reserves(spec ecsstate.TaskSpec) scheduler.Resources {
	cpu, _ := strconv.Atoi(spec.Cpu)
	return scheduler.Resources{CPU: cpu}
}

var placerSeq atomic.Int64

// newPlacer returns a placer of its own id, as another server's would be.
func newPlacer(s store.Store) (*placement.Placer, *prometheus.Registry) {
	reg := prometheus.NewRegistry()
	id := fmt.Sprintf("placer-%d", placerSeq.Add(1))
	return placement.New(placement.Config{Store: s, ID: id, Reserves: reserves, Registerer: reg}), reg
}

func putNodes(t *testing.T, s store.Store, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		node := ecsstate.Node{
			ID: fmt.Sprintf("%032x", i+1), Clusters: []string{ecsstate.AllClusters},
			LaunchTypes: []string{ecstypes.LaunchTypeEc2}, CPU: taskCPU * tasksPerNode, MemoryMiB: 1 << 20,
			Status: ecstypes.ContainerInstanceStatusActive, Connected: true,
		}
		putJSON(t, s, ecsstate.NodeKey(node.ID), node)
		ids = append(ids, node.ID)
	}
	return ids
}

func putJSON(t *testing.T, s store.Store, key string, v any) {
	t.Helper()
	op, err := store.PutJSON(key, v)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Txn(context.Background(), store.Txn{Then: []store.Op{op}}); err != nil {
		t.Fatal(err)
	}
}

var taskSeq struct {
	sync.Mutex
	n int
}

func newTask(nodeID string) ecsstate.Task {
	taskSeq.Lock()
	defer taskSeq.Unlock()
	taskSeq.n++
	return ecsstate.Task{
		ID: fmt.Sprintf("%032x", taskSeq.n), Region: region, Cluster: cluster, NodeID: nodeID,
		Spec:          ecsstate.TaskSpec{Cpu: strconv.Itoa(taskCPU), Group: group},
		DesiredStatus: ecsstate.StatusRunning,
	}
}

// spread places count tasks by the scheduler over the snapshot.
func spread(count int, failures *int) placement.Decide {
	return func(snap *placement.Snapshot) ([]ecsstate.Task, error) {
		placed, _, _ := snap.Place(ecstypes.LaunchTypeEc2, scheduler.Request{
			Count: count, Task: scheduler.Resources{CPU: taskCPU}, Group: group,
			Strategies: []scheduler.Strategy{{Type: scheduler.StrategySpread, Field: "instanceId"}},
		})
		if failures != nil {
			*failures = count - len(placed.NodeIDs)
		}
		tasks := make([]ecsstate.Task, len(placed.NodeIDs))
		for i, id := range placed.NodeIDs {
			tasks[i] = newTask(id)
		}
		return tasks, nil
	}
}

// tasksByNode reads every task record and counts them per node.
func tasksByNode(t *testing.T, s store.Store) (map[string]int, int) {
	t.Helper()
	tasks, _, err := store.List[ecsstate.Task](context.Background(), s, ecsstate.TaskPrefix, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, task := range tasks {
		out[task.Value.NodeID]++
	}
	return out, len(tasks)
}

// Two placers (as two servers on one store would have, each with its own
// cache), each with several callers at once, ask for more tasks than the
// nodes hold: every slot is filled exactly once, no node takes more than
// it has, every task a caller was told about is written, and every
// placement on a node rewrote a ledger there.
func TestTwoPlacersPlaceEveryTaskExactlyOnce(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	const nodes = 25
	ids := putNodes(t, s, nodes)
	placers := []*placement.Placer{}
	regs := []*prometheus.Registry{}
	for range 2 {
		p, reg := newPlacer(s)
		placers = append(placers, p)
		regs = append(regs, reg)
	}
	for _, p := range placers {
		register(t, p)
	}

	const callers, callsEach, perCall = 4, 10, 3 // 240 asked, 100 slots
	var mu sync.Mutex
	told := map[string]string{} // task key -> node
	var wg sync.WaitGroup
	errs := make(chan error, len(placers)*callers)
	for _, p := range placers {
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range callsEach {
					tasks, err := p.Place(ctx, ecsstate.Cluster{Region: region, Name: cluster}, group, spread(perCall, nil))
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					for _, task := range tasks {
						if _, dup := told[task.Key()]; dup {
							errs <- fmt.Errorf("task %s reported twice", task.Key())
						}
						told[task.Key()] = task.NodeID
					}
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	byNode, total := tasksByNode(t, s)
	if total != nodes*tasksPerNode || len(told) != total {
		t.Fatalf("%d tasks written, %d reported placed; the nodes hold %d", total, len(told), nodes*tasksPerNode)
	}
	for _, id := range ids {
		if byNode[id] != tasksPerNode {
			t.Errorf("node %s has %d tasks, holds %d", id, byNode[id], tasksPerNode)
		}
	}
	// The tasks are never written again: each one's revision is its
	// placement's, and the last on each node rewrote a ledger there.
	tasks, _, err := store.List[ecsstate.Task](ctx, s, ecsstate.TaskPrefix, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ledgers, _, err := store.List[ecsstate.PlacementLedger](ctx, s, ecsstate.PlacementPrefix, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lastPlaced, lastLedger := map[string]int64{}, map[string]int64{}
	for _, task := range tasks {
		lastPlaced[task.Value.NodeID] = max(lastPlaced[task.Value.NodeID], task.ModRevision)
	}
	for _, l := range ledgers {
		lastLedger[l.Value.NodeID] = max(lastLedger[l.Value.NodeID], l.ModRevision)
	}
	for _, id := range ids {
		if lastLedger[id] != lastPlaced[id] {
			t.Errorf("node %s: last placement at revision %d, last ledger write at %d", id, lastPlaced[id], lastLedger[id])
		}
	}
	decidedAgain := 0.0
	for _, reg := range regs {
		decidedAgain += conflicts(t, reg)
	}
	t.Logf("%d tasks placed; %v decisions made again after a conflict", total, decidedAgain)
}

// conflicts is the placer's count of decisions made again.
func conflicts(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	n, err := testutil.GatherAndCount(reg, "berth_ecs_placement_conflicts_total")
	if err != nil || n != 1 {
		t.Fatalf("conflict metric: %d series, %v", n, err)
	}
	families, _ := reg.Gather()
	return families[0].GetMetric()[0].GetCounter().GetValue()
}

// A decision that read a node before another placement wrote to it is
// made again over what that placement left: here the one node has room
// for one more task, the other placer takes it in between, and the first
// decision ends with no task rather than a fifth one on the node.
func TestConflictDecidesAgain(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	id := putNodes(t, s, 1)[0]
	first, reg := newPlacer(s)
	other, _ := newPlacer(s)
	if _, err := other.Place(ctx, ecsstate.Cluster{Region: region, Name: cluster}, group, spread(tasksPerNode-1, nil)); err != nil {
		t.Fatal(err)
	}

	decisions := 0
	var failed int
	tasks, err := first.Place(ctx, ecsstate.Cluster{Region: region, Name: cluster}, group, func(snap *placement.Snapshot) ([]ecsstate.Task, error) {
		decisions++
		if decisions == 1 {
			// Another server takes the last slot between this read and
			// this write.
			if got, err := other.Place(ctx, ecsstate.Cluster{Region: region, Name: cluster}, group, spread(1, nil)); err != nil || len(got) != 1 {
				t.Fatalf("the other placer: %v, %v", got, err)
			}
		}
		return spread(1, &failed)(snap)
	})
	if err != nil {
		t.Fatal(err)
	}
	if decisions != 2 || len(tasks) != 0 || failed != 1 {
		t.Fatalf("%d decisions, %d tasks placed, %d failed; want the second decision to find the node full", decisions, len(tasks), failed)
	}
	if byNode, _ := tasksByNode(t, s); byNode[id] != tasksPerNode {
		t.Fatalf("node has %d tasks, holds %d", byNode[id], tasksPerNode)
	}
	if got := conflicts(t, reg); got != 1 {
		t.Fatalf("conflicts counted: %v, want 1", got)
	}
}

// A task stopping, or a task placed on another node, between the read and
// the write is no conflict: the decision only had less room than it
// might. A change to a chosen node's record (draining) is.
func TestWhatConflicts(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		meanwhile func(t *testing.T, s store.Store, other *placement.Placer, ids []string, running ecsstate.Task)
		conflict  bool
	}{
		{"a task stops", func(t *testing.T, s store.Store, _ *placement.Placer, _ []string, running ecsstate.Task) {
			running.Observed.LastStatus = ecsstate.StatusStopped
			putJSON(t, s, running.Key(), running)
		}, false},
		{"a placement on another node", func(t *testing.T, s store.Store, other *placement.Placer, ids []string, _ ecsstate.Task) {
			if _, err := other.Place(ctx, ecsstate.Cluster{Region: region, Name: cluster}, group, func(*placement.Snapshot) ([]ecsstate.Task, error) {
				return []ecsstate.Task{newTask(ids[1])}, nil
			}); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"the chosen node drains", func(t *testing.T, s store.Store, _ *placement.Placer, ids []string, _ ecsstate.Task) {
			if _, err := store.Update(ctx, s, ecsstate.NodeKey(ids[0]), func(n *ecsstate.Node, _ bool) error {
				n.Status = ecstypes.ContainerInstanceStatusDraining
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			ids := putNodes(t, s, 2)
			p, _ := newPlacer(s)
			other, _ := newPlacer(s)
			running, err := other.Place(ctx, ecsstate.Cluster{Region: region, Name: cluster}, group, func(*placement.Snapshot) ([]ecsstate.Task, error) {
				return []ecsstate.Task{newTask(ids[0])}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			decisions := 0
			tasks, err := p.Place(ctx, ecsstate.Cluster{Region: region, Name: cluster}, group, func(snap *placement.Snapshot) ([]ecsstate.Task, error) {
				decisions++
				if decisions == 1 {
					tc.meanwhile(t, s, other, ids, running[0])
				}
				n, _ := snap.Node(ids[0])
				if !snap.Eligible(n.Record, ecstypes.LaunchTypeEc2) {
					return nil, errors.New("the node no longer takes tasks")
				}
				return []ecsstate.Task{newTask(ids[0])}, nil
			})
			if tc.conflict {
				if err == nil || decisions != 2 {
					t.Fatalf("after a conflict: %d decisions, %v placed, err %v", decisions, tasks, err)
				}
				return
			}
			if err != nil || decisions != 1 || len(tasks) != 1 {
				t.Fatalf("%d decisions, %d placed, err %v; want one decision that holds", decisions, len(tasks), err)
			}
		})
	}
}

// A node's resources count every task on it, of any region, but a group's
// tasks are those of the region's own cluster: the same cluster and group
// names in another region do not push spread or distinctInstance away.
func TestGroupsAreRegional(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	ids := putNodes(t, s, 2)
	p, _ := newPlacer(s)
	elsewhere := newTask(ids[0])
	elsewhere.Region = "eu-central-1"
	if _, err := p.Place(ctx, ecsstate.Cluster{Region: elsewhere.Region, Name: cluster}, group, func(*placement.Snapshot) ([]ecsstate.Task, error) {
		return []ecsstate.Task{elsewhere}, nil
	}); err != nil {
		t.Fatal(err)
	}
	// The placer that wrote the task knows it from its cache; a fresh one
	// decodes the record.
	fresh, _ := newPlacer(s)
	for _, placer := range []*placement.Placer{p, fresh} {
		_, err := placer.Place(ctx, ecsstate.Cluster{Region: region, Name: cluster}, group, func(snap *placement.Snapshot) ([]ecsstate.Task, error) {
			n, _ := snap.Node(ids[0])
			if n.View.Tasks != 1 || n.View.Used.CPU != taskCPU || n.View.GroupTasks != 0 {
				t.Errorf("node with another region's task: %d tasks, %d cpu used, %d of the group; want 1, %d, 0",
					n.View.Tasks, n.View.Used.CPU, n.View.GroupTasks, taskCPU)
			}
			return nil, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// txnHook runs its before func, once set, ahead of the next Txn: another
// placement that lands between a decision's last read and its write.
type txnHook struct {
	store.Store
	once   sync.Once
	before func()
}

func (h *txnHook) Txn(ctx context.Context, txn store.Txn) (int64, error) {
	if h.before != nil {
		h.once.Do(h.before)
	}
	return h.Store.Txn(ctx, txn)
}

// register has p join the store's placers (its first Place writes that),
// so that a test's next Txn is a placement.
func register(t *testing.T, p *placement.Placer) {
	t.Helper()
	if _, err := p.Place(context.Background(), ecsstate.Cluster{Region: region, Name: cluster}, group, func(*placement.Snapshot) ([]ecsstate.Task, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
}

// The write itself holds only if the chosen node is as the decision read
// it: a placement that lands after every read, just before the write,
// still makes the decision conflict and be made again.
func TestWriteComparesLedgers(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	id := putNodes(t, s, 1)[0]
	other, _ := newPlacer(s)
	if _, err := other.Place(ctx, ecsstate.Cluster{Region: region, Name: cluster}, group, spread(tasksPerNode-1, nil)); err != nil {
		t.Fatal(err)
	}
	hooked := &txnHook{Store: s}
	first, _ := newPlacer(hooked)
	register(t, first)
	hooked.before = func() {
		if got, err := other.Place(ctx, ecsstate.Cluster{Region: region, Name: cluster}, group, spread(1, nil)); err != nil || len(got) != 1 {
			t.Errorf("the other placer: %v, %v", got, err)
		}
	}
	decisions := 0
	tasks, err := first.Place(ctx, ecsstate.Cluster{Region: region, Name: cluster}, group, func(snap *placement.Snapshot) ([]ecsstate.Task, error) {
		decisions++
		return spread(1, nil)(snap)
	})
	if err != nil || decisions != 2 || len(tasks) != 0 {
		t.Fatalf("%d decisions, %d tasks placed, err %v; want the second decision to find the node full", decisions, len(tasks), err)
	}
	if byNode, _ := tasksByNode(t, s); byNode[id] != tasksPerNode {
		t.Fatalf("node has %d tasks, holds %d", byNode[id], tasksPerNode)
	}
}

// A task record deleted since the last snapshot no longer holds room on
// its node in the next one, while the records beside it still do.
func TestDeletedTasksLeaveTheSnapshot(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	id := putNodes(t, s, 1)[0]
	p, _ := newPlacer(s)
	placed, err := p.Place(ctx, ecsstate.Cluster{Region: region, Name: cluster}, group, spread(tasksPerNode, nil))
	if err != nil || len(placed) != tasksPerNode {
		t.Fatalf("placed %d, %v", len(placed), err)
	}
	if _, err := s.Txn(ctx, store.Txn{Then: []store.Op{store.Delete(placed[0].Key())}}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the snapshot that drops the record, and the one after
		if _, err := p.Place(ctx, ecsstate.Cluster{Region: region, Name: cluster}, group, func(snap *placement.Snapshot) ([]ecsstate.Task, error) {
			n, _ := snap.Node(id)
			if n.View.Tasks != tasksPerNode-1 || n.View.Used.CPU != (tasksPerNode-1)*taskCPU {
				t.Errorf("after a delete: %d tasks, %d cpu used; want %d, %d", n.View.Tasks, n.View.Used.CPU, tasksPerNode-1, (tasksPerNode-1)*taskCPU)
			}
			return nil, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// txnGate, once armed, holds the next Txn: before it reaches the store
// until enter is closed, and after it has written until leave is closed.
type txnGate struct {
	store.Store
	armed          atomic.Bool
	once           sync.Once
	held           chan struct{} // closed when that Txn arrives
	enter, written chan struct{}
	leave          chan struct{}
}

func newTxnGate(s store.Store) *txnGate {
	return &txnGate{Store: s, held: make(chan struct{}), enter: make(chan struct{}), written: make(chan struct{}), leave: make(chan struct{})}
}

func (g *txnGate) Txn(ctx context.Context, txn store.Txn) (int64, error) {
	first := false
	if g.armed.Load() {
		g.once.Do(func() { first = true })
	}
	if !first {
		return g.Store.Txn(ctx, txn)
	}
	close(g.held)
	<-g.enter
	rev, err := g.Store.Txn(ctx, txn)
	close(g.written)
	<-g.leave
	return rev, err
}

// A placement still being written counts for the same placer's next
// decision, which does not wait for that write: here the first placement's
// write is held while the second decides over what it left and writes.
func TestPendingPlacementCountsWithoutWaiting(t *testing.T) {
	ctx := context.Background()
	gate := newTxnGate(openStore(t))
	id := putNodes(t, gate, 1)[0]
	p, reg := newPlacer(gate)
	register(t, p)
	gate.armed.Store(true)

	firstDone := make(chan error, 1)
	go func() {
		_, err := p.Place(ctx, ecsstate.Cluster{Region: region, Name: cluster}, group, spread(tasksPerNode-1, nil))
		firstDone <- err
	}()
	<-gate.held
	var failed int
	second, err := p.Place(ctx, ecsstate.Cluster{Region: region, Name: cluster}, group, spread(2, &failed))
	if err != nil || len(second) != 1 || failed != 1 {
		t.Fatalf("beside a pending placement: %d placed, %d failed, err %v; want 1 and 1", len(second), failed, err)
	}
	close(gate.enter)
	close(gate.leave)
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	if byNode, _ := tasksByNode(t, gate); byNode[id] != tasksPerNode {
		t.Fatalf("node has %d tasks, holds %d", byNode[id], tasksPerNode)
	}
	if got := conflicts(t, reg); got != 0 {
		t.Fatalf("%v conflicts; the placer's own placements do not conflict", got)
	}
}

// A placement already written, but not yet known to its placer as
// written, is counted once by the next snapshot: from the store, not again
// as pending (which would leave its room unused).
func TestWrittenPlacementCountsOnce(t *testing.T) {
	ctx := context.Background()
	gate := newTxnGate(openStore(t))
	id := putNodes(t, gate, 1)[0]
	p, _ := newPlacer(gate)
	register(t, p)
	gate.armed.Store(true)
	close(gate.enter)

	firstDone := make(chan error, 1)
	go func() {
		_, err := p.Place(ctx, ecsstate.Cluster{Region: region, Name: cluster}, group, spread(1, nil))
		firstDone <- err
	}()
	<-gate.written
	var failed int
	second, err := p.Place(ctx, ecsstate.Cluster{Region: region, Name: cluster}, group, spread(tasksPerNode-1, &failed))
	if err != nil || len(second) != tasksPerNode-1 || failed != 0 {
		t.Fatalf("after a written placement: %d placed, %d failed, err %v; want %d and 0", len(second), failed, err, tasksPerNode-1)
	}
	close(gate.leave)
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	if byNode, _ := tasksByNode(t, gate); byNode[id] != tasksPerNode {
		t.Fatalf("node has %d tasks, holds %d", byNode[id], tasksPerNode)
	}
}

// A decision that another of the same placer's placements overtook (it
// became pending after the decision's snapshot, on a node the decision
// chose) is made again before anything is written, and sees it.
func TestOvertakenDecisionDecidesAgain(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	id := putNodes(t, s, 1)[0]
	p, reg := newPlacer(s)
	decisions, failed := 0, 0
	tasks, err := p.Place(ctx, ecsstate.Cluster{Region: region, Name: cluster}, group, func(snap *placement.Snapshot) ([]ecsstate.Task, error) {
		decisions++
		if decisions == 1 {
			if got, err := p.Place(ctx, ecsstate.Cluster{Region: region, Name: cluster}, group, spread(tasksPerNode-1, nil)); err != nil || len(got) != tasksPerNode-1 {
				t.Fatalf("the placement in between: %v, %v", got, err)
			}
		}
		return spread(2, &failed)(snap)
	})
	if err != nil || decisions != 2 || len(tasks) != 1 || failed != 1 {
		t.Fatalf("%d decisions, %d placed, %d failed, err %v; want the second decision to find one slot", decisions, len(tasks), failed, err)
	}
	if byNode, _ := tasksByNode(t, s); byNode[id] != tasksPerNode {
		t.Fatalf("node has %d tasks, holds %d", byNode[id], tasksPerNode)
	}
	if got := conflicts(t, reg); got != 1 {
		t.Fatalf("%v conflicts counted, want 1", got)
	}
}

// A placer that joins after a decision read the ledgers, and places on the
// decision's node before its write, makes that write conflict: the
// decision could not compare a ledger it did not know of.
func TestAPlacerJoiningConflicts(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	putNodes(t, s, 1)
	p, _ := newPlacer(s)
	if _, err := p.Place(ctx, ecsstate.Cluster{Region: region, Name: cluster}, group, spread(tasksPerNode-1, nil)); err != nil {
		t.Fatal(err)
	}
	decisions, failed := 0, 0
	tasks, err := p.Place(ctx, ecsstate.Cluster{Region: region, Name: cluster}, group, func(snap *placement.Snapshot) ([]ecsstate.Task, error) {
		decisions++
		if decisions == 1 {
			joined, _ := newPlacer(s)
			if got, err := joined.Place(ctx, ecsstate.Cluster{Region: region, Name: cluster}, group, spread(1, nil)); err != nil || len(got) != 1 {
				t.Fatalf("the new placer: %v, %v", got, err)
			}
		}
		return spread(1, &failed)(snap)
	})
	if err != nil || decisions != 2 || len(tasks) != 0 || failed != 1 {
		t.Fatalf("%d decisions, %d placed, %d failed, err %v; want the second decision to find the node full", decisions, len(tasks), failed, err)
	}
}

// A placer alone in the store writes no ledgers (nobody would compare
// them); once another joins, each writes its ledger on the nodes it
// places on.
func TestLedgersOnlyBesideAnotherPlacer(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	ids := putNodes(t, s, 2)
	alone, _ := newPlacer(s)
	place := func(p *placement.Placer, node string) {
		t.Helper()
		if _, err := p.Place(ctx, ecsstate.Cluster{Region: region, Name: cluster}, group, func(*placement.Snapshot) ([]ecsstate.Task, error) {
			return []ecsstate.Task{newTask(node)}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	ledgers := func() []string {
		kvs, _, err := s.List(ctx, ecsstate.PlacementPrefix, store.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, kv := range kvs {
			keys = append(keys, kv.Key)
		}
		return keys
	}
	place(alone, ids[0])
	if got := ledgers(); len(got) != 0 {
		t.Fatalf("a placer alone wrote ledgers %v", got)
	}
	other, _ := newPlacer(s)
	place(other, ids[1])
	place(alone, ids[0])
	if got := ledgers(); len(got) != 2 {
		t.Fatalf("ledgers beside another placer: %v; want one on each node", got)
	}
}
