package store_test

import (
	"context"
	"errors"
	"maps"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/store/bolt"
)

type counter struct {
	N int `json:"n"`
}

func openStore(t *testing.T) store.Store {
	t.Helper()
	s, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestTypedRecords(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	if _, err := store.Get[counter](ctx, s, "c/a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get of a missing key: %v", err)
	}
	for _, key := range []string{"c/b", "c/a"} {
		op, err := store.PutJSON(key, counter{N: len(key)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Txn(ctx, store.Txn{Then: []store.Op{op}}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := store.Get[counter](ctx, s, "c/a")
	if err != nil || got.Value.N != 3 || got.ModRevision == 0 {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	list, rev, err := store.List[counter](ctx, s, "c/", store.ListOptions{})
	if err != nil || len(list) != 2 || list[0].ModRevision != got.ModRevision || rev < got.ModRevision {
		t.Fatalf("List = %+v at %d, %v", list, rev, err)
	}
	if _, err := s.Txn(ctx, store.Txn{Then: []store.Op{store.Put("c/bad", []byte("{"))}}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Get[counter](ctx, s, "c/bad"); err == nil {
		t.Fatal("an undecodable record decoded")
	}
}

// Concurrent updates of one record all land: every conflict is retried.
func TestUpdateRetriesConflicts(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	const writers, each = 8, 25
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range each {
				if _, err := store.Update(ctx, s, "c/n", func(c *counter, found bool) error { c.N++; return nil }); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	got, err := store.Get[counter](ctx, s, "c/n")
	if err != nil || got.Value.N != writers*each {
		t.Fatalf("counter %+v, %v; want %d", got, err, writers*each)
	}
	unchanged, err := store.Update(ctx, s, "c/n", func(c *counter, found bool) error { return store.ErrUnchanged })
	if again, _ := store.Get[counter](ctx, s, "c/n"); err != nil || unchanged.N != writers*each || again.ModRevision != got.ModRevision {
		t.Fatalf("ErrUnchanged wrote: %+v, %v", again, err)
	}
	boom := errors.New("boom")
	if _, err := store.Update(ctx, s, "c/n", func(c *counter, found bool) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("change error: %v", err)
	}
}

func TestRetryGivesUp(t *testing.T) {
	const retryFor = 50 * time.Millisecond
	defer store.SetRetryFor(retryFor)()
	n := 0
	start := time.Now()
	err := store.Retry(context.Background(), func() error { n++; return store.ErrConflict })
	if !errors.Is(err, store.ErrConflict) || n < 2 || time.Since(start) < retryFor {
		t.Fatalf("Retry = %v after %d attempts in %s", err, n, time.Since(start))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := store.Retry(ctx, func() error { return store.ErrConflict }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Retry after cancel = %v", err)
	}
}

// Relayout moves every record once, keeps what stays put, copes with a
// record moving onto another's old key, and does nothing the second time.
func TestRelayout(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	for _, kv := range [][2]string{{"r/a", "1"}, {"r/b", "2"}, {"r/x|b", "3"}, {"other/a", "4"}} {
		if _, err := s.Txn(ctx, store.Txn{Then: []store.Op{store.Put(kv[0], []byte(kv[1]))}}); err != nil {
			t.Fatal(err)
		}
	}
	// "r/<name>" moves to "r/x|<name>"; "r/x|b" was already there and
	// is overwritten by the move of "r/b", as a layout change may do.
	rewrite := func(kv store.KV) (string, []byte, error) {
		if strings.Contains(kv.Key, "|") {
			return kv.Key, kv.Value, nil
		}
		return "r/x|" + strings.TrimPrefix(kv.Key, "r/"), kv.Value, nil
	}
	n, err := store.Relayout(ctx, s, "r", 2, "r/", rewrite)
	if err != nil || n != 2 {
		t.Fatalf("Relayout = %d, %v", n, err)
	}
	got := map[string]string{}
	kvs, _, _ := s.List(ctx, "", store.ListOptions{})
	for _, kv := range kvs {
		got[kv.Key] = string(kv.Value)
	}
	want := map[string]string{"r/x|a": "1", "r/x|b": "2", "other/a": "4", "layout/r": "2"}
	if !maps.Equal(got, want) {
		t.Fatalf("after relayout: %v, want %v", got, want)
	}
	if n, err := store.Relayout(ctx, s, "r", 2, "r/", func(store.KV) (string, []byte, error) {
		return "", nil, errors.New("rewrite called again")
	}); err != nil || n != 0 {
		t.Fatalf("second Relayout = %d, %v", n, err)
	}
	// A rewrite that fails leaves everything as it was.
	_, err = store.Relayout(ctx, s, "r", 3, "r/", func(kv store.KV) (string, []byte, error) {
		if kv.Key == "r/x|b" {
			return "", nil, errors.New("undecodable")
		}
		return kv.Key + "!", kv.Value, nil
	})
	if err == nil {
		t.Fatal("a failed rewrite reported success")
	}
	if kvs2, _, _ := s.List(ctx, "", store.ListOptions{}); len(kvs2) != len(kvs) {
		t.Fatalf("a failed relayout changed the store: %d keys, had %d", len(kvs2), len(kvs))
	}
}
