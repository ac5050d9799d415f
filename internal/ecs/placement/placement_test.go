package placement_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

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

func newPlacer(s store.Store) (*placement.Placer, *prometheus.Registry) {
	reg := prometheus.NewRegistry()
	return placement.New(placement.Config{Store: s, Reserves: reserves, Registerer: reg}), reg
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
// it has, every task a caller was told about is written, and the ledgers
// count what was placed.
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
					tasks, err := p.Place(ctx, region, cluster, group, spread(perCall, nil))
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
		ledger, err := store.Get[ecsstate.NodePlacements](ctx, s, ecsstate.PlacementKey(id))
		if err != nil || ledger.Value.Placements != int64(byNode[id]) {
			t.Errorf("ledger of %s = %+v, %v; %d tasks there", id, ledger.Value, err, byNode[id])
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
	if _, err := other.Place(ctx, region, cluster, group, spread(tasksPerNode-1, nil)); err != nil {
		t.Fatal(err)
	}

	decisions := 0
	var failed int
	tasks, err := first.Place(ctx, region, cluster, group, func(snap *placement.Snapshot) ([]ecsstate.Task, error) {
		decisions++
		if decisions == 1 {
			// Another server takes the last slot between this read and
			// this write.
			if got, err := other.Place(ctx, region, cluster, group, spread(1, nil)); err != nil || len(got) != 1 {
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
			if _, err := other.Place(ctx, region, cluster, group, func(*placement.Snapshot) ([]ecsstate.Task, error) {
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
			running, err := other.Place(ctx, region, cluster, group, func(*placement.Snapshot) ([]ecsstate.Task, error) {
				return []ecsstate.Task{newTask(ids[0])}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			decisions := 0
			tasks, err := p.Place(ctx, region, cluster, group, func(snap *placement.Snapshot) ([]ecsstate.Task, error) {
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
	if _, err := p.Place(ctx, elsewhere.Region, cluster, group, func(*placement.Snapshot) ([]ecsstate.Task, error) {
		return []ecsstate.Task{elsewhere}, nil
	}); err != nil {
		t.Fatal(err)
	}
	// The placer that wrote the task knows it from its cache; a fresh one
	// decodes the record.
	fresh, _ := newPlacer(s)
	for _, placer := range []*placement.Placer{p, fresh} {
		_, err := placer.Place(ctx, region, cluster, group, func(snap *placement.Snapshot) ([]ecsstate.Task, error) {
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

// txnHook runs its before func ahead of its first Txn: another placement that
// lands between a decision's last read and its write.
type txnHook struct {
	store.Store
	once   sync.Once
	before func()
}

func (h *txnHook) Txn(ctx context.Context, txn store.Txn) (int64, error) {
	h.once.Do(h.before)
	return h.Store.Txn(ctx, txn)
}

// The write itself holds only if the chosen node is as the decision read
// it: a placement that lands after every read, just before the write,
// still makes the decision conflict and be made again.
func TestWriteComparesLedgers(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	id := putNodes(t, s, 1)[0]
	other, _ := newPlacer(s)
	if _, err := other.Place(ctx, region, cluster, group, spread(tasksPerNode-1, nil)); err != nil {
		t.Fatal(err)
	}
	hooked := &txnHook{Store: s}
	hooked.before = func() {
		if got, err := other.Place(ctx, region, cluster, group, spread(1, nil)); err != nil || len(got) != 1 {
			t.Errorf("the other placer: %v, %v", got, err)
		}
	}
	first, _ := newPlacer(hooked)
	decisions := 0
	tasks, err := first.Place(ctx, region, cluster, group, func(snap *placement.Snapshot) ([]ecsstate.Task, error) {
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
	placed, err := p.Place(ctx, region, cluster, group, spread(tasksPerNode, nil))
	if err != nil || len(placed) != tasksPerNode {
		t.Fatalf("placed %d, %v", len(placed), err)
	}
	if _, err := s.Txn(ctx, store.Txn{Then: []store.Op{store.Delete(placed[0].Key())}}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the snapshot that drops the record, and the one after
		if _, err := p.Place(ctx, region, cluster, group, func(snap *placement.Snapshot) ([]ecsstate.Task, error) {
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

// taskReads counts the snapshots that read every task record.
type taskReads struct {
	store.Store
	mu sync.Mutex
	n  int
}

func (r *taskReads) Range(ctx context.Context, prefix string, fn func(store.KV) error) (int64, error) {
	if prefix == ecsstate.TaskPrefix {
		r.mu.Lock()
		r.n++
		r.mu.Unlock()
	}
	return r.Store.Range(ctx, prefix, fn)
}

// A decision that lost to another of the same placer's placements is made
// again over its own snapshot brought forward past that placement, not
// over a fresh read of every task, and it sees that placement's tasks;
// one that lost to another placer's reads afresh.
func TestConflictWithOwnPlacementBringsSnapshotForward(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		samePlace bool
		reads     int // task reads: the decision's, the meanwhile placement's, and a fresh one
	}{
		{"the same placer", true, 2},
		{"another placer", false, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reads := &taskReads{Store: openStore(t)}
			id := putNodes(t, reads, 1)[0]
			p, reg := newPlacer(reads)
			meanwhile := p
			if !tc.samePlace {
				meanwhile, _ = newPlacer(reads)
			}
			decisions, failed := 0, 0
			tasks, err := p.Place(ctx, region, cluster, group, func(snap *placement.Snapshot) ([]ecsstate.Task, error) {
				decisions++
				if decisions == 1 {
					if got, err := meanwhile.Place(ctx, region, cluster, group, spread(tasksPerNode-1, nil)); err != nil || len(got) != tasksPerNode-1 {
						t.Fatalf("the placement in between: %v, %v", got, err)
					}
				}
				return spread(2, &failed)(snap)
			})
			if err != nil || decisions != 2 || len(tasks) != 1 || failed != 1 {
				t.Fatalf("%d decisions, %d placed, %d failed, err %v; want the second decision to find one slot", decisions, len(tasks), failed, err)
			}
			if byNode, _ := tasksByNode(t, reads); byNode[id] != tasksPerNode {
				t.Fatalf("node has %d tasks, holds %d", byNode[id], tasksPerNode)
			}
			if reads.n != tc.reads || conflicts(t, reg) != 1 {
				t.Fatalf("%d reads of every task, %v conflicts; want %d and 1", reads.n, conflicts(t, reg), tc.reads)
			}
		})
	}
}

// rangeHook runs before once, ahead of the first read of every task record
// after it is armed.
type rangeHook struct {
	store.Store
	armed  chan struct{}
	once   sync.Once
	before func()
}

func (h *rangeHook) Range(ctx context.Context, prefix string, fn func(store.KV) error) (int64, error) {
	if prefix == ecsstate.TaskPrefix {
		select {
		case <-h.armed:
			h.once.Do(h.before)
		default:
		}
	}
	return h.Store.Range(ctx, prefix, fn)
}

// A placement of the same placer that lands after a snapshot read the
// ledgers but before it read the tasks is in the snapshot's tasks already:
// bringing the snapshot forward past it does not count its tasks twice
// (which would leave a free slot unused).
func TestBringingForwardCountsATaskOnce(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	id := putNodes(t, s, 1)[0]
	hooked := &rangeHook{Store: s, armed: make(chan struct{})}
	p, _ := newPlacer(hooked)

	proceed := make(chan struct{})
	otherDone := make(chan error, 1)
	go func() {
		_, err := p.Place(ctx, region, cluster, group, func(snap *placement.Snapshot) ([]ecsstate.Task, error) {
			close(hooked.armed) // this decision's snapshot is read
			<-proceed
			return spread(1, nil)(snap)
		})
		otherDone <- err
	}()
	// Between the next snapshot's ledger read and its task read, the other
	// decision's write lands.
	hooked.before = func() {
		close(proceed)
		for {
			if _, n := tasksByNode(t, s); n == 1 {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	<-hooked.armed

	decisions, failed := 0, 0
	tasks, err := p.Place(ctx, region, cluster, group, func(snap *placement.Snapshot) ([]ecsstate.Task, error) {
		decisions++
		if decisions == 1 {
			if err := <-otherDone; err != nil {
				t.Fatal(err)
			}
		}
		return spread(tasksPerNode-1, &failed)(snap)
	})
	if err != nil || decisions != 2 || len(tasks) != tasksPerNode-1 || failed != 0 {
		t.Fatalf("%d decisions, %d placed, %d failed, err %v; want the second decision to fill the %d free slots", decisions, len(tasks), failed, err, tasksPerNode-1)
	}
	if byNode, _ := tasksByNode(t, s); byNode[id] != tasksPerNode {
		t.Fatalf("node has %d tasks, holds %d", byNode[id], tasksPerNode)
	}
}
