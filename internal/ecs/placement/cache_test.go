package placement

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/scheduler"
	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/store/bolt"
)

// The task cache holds the records the last snapshot read and no others:
// a server that has run and deleted many tasks does not keep them.
func TestCacheForgetsDeletedTasks(t *testing.T) {
	ctx := context.Background()
	s, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := New(Config{Store: s, ID: "a", Reserves: func(ecsstate.TaskSpec) scheduler.Resources { return scheduler.Resources{} }})
	if err := p.register(ctx); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for i := range 3 {
		task := ecsstate.Task{ID: fmt.Sprintf("%032x", i+1), Region: "us-east-1", Cluster: "default"}
		op, err := store.PutJSON(task.Key(), task)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Txn(ctx, store.Txn{Then: []store.Op{op}}); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, task.Key())
	}
	if _, err := p.snapshot(ctx, ecsstate.Cluster{Region: "us-east-1", Name: "default"}, ""); err != nil || len(p.cache) != 3 {
		t.Fatalf("after the first snapshot: %d cached, %v", len(p.cache), err)
	}
	if _, err := s.Txn(ctx, store.Txn{Then: []store.Op{store.Delete(keys[1])}}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.snapshot(ctx, ecsstate.Cluster{Region: "us-east-1", Name: "default"}, ""); err != nil {
		t.Fatal(err)
	}
	if _, kept := p.cache[keys[1]]; kept || len(p.cache) != 2 {
		t.Fatalf("after a delete: %d cached, the deleted one kept: %v", len(p.cache), kept)
	}
}
