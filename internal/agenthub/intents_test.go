package agenthub

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/berth/berth/internal/store"
)

// Many agents share one feed: each gets exactly its own node's tasks,
// including tasks created in one transaction across all of them.
func TestManyAgentsGetExactlyTheirTasks(t *testing.T) {
	f := newFixture(t)
	const agents, perAgent = 40, 25
	nodes := make([]string, agents)
	conns := make([]*agent, agents)
	for i := range nodes {
		nodes[i] = fmt.Sprintf("%032x", i+1)
		conns[i], _ = f.connect(t, nodes[i])
	}
	var txn store.Txn
	for i := range agents * perAgent {
		task := newTask("c", fmt.Sprintf("%032x", 1000+i), nodes[i%agents], "img")
		op, err := store.PutJSON(task.Key(), task)
		if err != nil {
			t.Fatal(err)
		}
		txn.Then = append(txn.Then, op)
	}
	if _, err := f.store.Txn(context.Background(), txn); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i, a := range conns {
		wg.Go(func() {
			for range perAgent {
				m, err := a.conn.Recv(ctxT(t))
				if err != nil || m.Task == nil {
					t.Errorf("agent %d: %v %+v", i, err, m)
					return
				}
				var n int
				fmt.Sscanf(m.Task.ID, "%x", &n)
				if owner := nodes[(n-1000)%agents]; owner != nodes[i] {
					t.Errorf("agent %d got task %s of node %s", i, m.Task.ID, owner)
				}
			}
		})
	}
	wg.Wait()
}

// A session that falls behind starts over from a snapshot and does not
// hold up the others.
func TestFullFeedStartsOverWithoutBlockingOthers(t *testing.T) {
	st := newFixture(t).store
	x := newIntents(st, slog.New(slog.DiscardHandler))
	ctx := ctxT(t)
	_, slow, err := x.subscribe(ctx, "slow")
	if err != nil {
		t.Fatal(err)
	}
	_, fast, err := x.subscribe(ctx, "fast")
	if err != nil {
		t.Fatal(err)
	}
	var txn store.Txn
	for i := range subscriberBuffer + 10 {
		task := newTask("c", fmt.Sprintf("%032x", i), "slow")
		op, _ := store.PutJSON(task.Key(), task)
		txn.Then = append(txn.Then, op)
	}
	if _, err := st.Txn(ctx, txn); err != nil {
		t.Fatal(err)
	}
	last := newTask("c", fmt.Sprintf("%032x", 99999), "fast")
	op, _ := store.PutJSON(last.Key(), last)
	if _, err := st.Txn(ctx, store.Txn{Then: []store.Op{op}}); err != nil {
		t.Fatal(err)
	}
	if c := <-fast.ch; c.task == nil || c.task.ID != last.ID {
		t.Fatalf("fast subscriber got %+v", c)
	}
	n := 0
	for range slow.ch {
		n++
	}
	if n != subscriberBuffer {
		t.Fatalf("slow subscriber got %d changes before its feed ended, want %d", n, subscriberBuffer)
	}
	snapshot, _, err := x.subscribe(ctx, "slow")
	if err != nil {
		t.Fatal(err)
	}
	if len(snapshot) != subscriberBuffer+10 {
		t.Fatalf("snapshot has %d tasks", len(snapshot))
	}
}
