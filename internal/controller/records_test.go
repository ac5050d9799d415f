package controller

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/store/bolt"
)

// keyQueue records what a watch queues.
type keyQueue struct {
	mu   sync.Mutex
	keys []string
}

func (q *keyQueue) Add(keys ...string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.keys = append(q.keys, keys...)
}

func (q *keyQueue) queued() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.keys)
}

func TestRecords(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	put := func(key, value string) {
		t.Helper()
		if _, err := st.Txn(ctx, store.Txn{Then: []store.Op{store.Put(key, []byte(value))}}); err != nil {
			t.Fatal(err)
		}
	}
	wanted := func(v []byte) bool { return strings.Contains(string(v), "wanted") }
	put("r/a", "wanted")
	put("r/b", "other")
	put("s/c", "wanted")
	keys, err := RecordKeys(st, "r/", wanted)(ctx)
	if err != nil || !slices.Equal(keys, []string{"r/a"}) {
		t.Fatalf("keys %v, %v", keys, err)
	}
	q := &keyQueue{}
	go func() { _ = FollowRecords(st, "r/", wanted)(ctx, q) }()
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Equal(q.queued(), []string{"r/a"}) {
		if time.Now().After(deadline) {
			t.Fatalf("queued %v before any change", q.queued())
		}
		time.Sleep(5 * time.Millisecond)
	}
	put("r/b", "now wanted")
	put("r/d", "other")
	for !slices.Equal(q.queued(), []string{"r/a", "r/b"}) {
		if time.Now().After(deadline) {
			t.Fatalf("queued %v after the changes", q.queued())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
