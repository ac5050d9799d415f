package bolt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	bbolt "go.etcd.io/bbolt"

	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/store/storetest"
)

var quietLog = slog.New(slog.DiscardHandler)

func openTest(t testing.TB, path string, opts Options) *Store {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLog
	}
	s, err := Open(path, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func tempPath(t testing.TB) string { return filepath.Join(t.TempDir(), "state.db") }

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTest(t, tempPath(t), Options{}) })
}

func putN(t *testing.T, s store.Store, n int) []int64 {
	t.Helper()
	revs := make([]int64, n)
	for i := range revs {
		rev, err := s.Txn(t.Context(), store.Txn{Then: []store.Op{store.Put(fmt.Sprintf("k/%d", i), []byte{byte(i)})}})
		if err != nil {
			t.Fatal(err)
		}
		revs[i] = rev
	}
	return revs
}

func TestCompacted(t *testing.T) {
	s := openTest(t, tempPath(t), Options{History: 5})
	revs := putN(t, s, 12)
	last := revs[len(revs)-1]
	for _, from := range []int64{1, last - 6} {
		if _, err := s.Watch(t.Context(), "", from); !errors.Is(err, store.ErrCompacted) {
			t.Fatalf("watch from %d with history of 5 up to %d: err = %v, want ErrCompacted", from, last, err)
		}
	}
	ch, err := s.Watch(t.Context(), "", last-5)
	if err != nil {
		t.Fatal(err)
	}
	for want := last - 4; want <= last; want++ {
		if ev := <-ch; ev.KV.ModRevision != want {
			t.Fatalf("event revision %d, want %d", ev.KV.ModRevision, want)
		}
	}
	// Compaction keeps the history bounded.
	err = s.db.View(func(tx *bbolt.Tx) error {
		if n := tx.Bucket(bucketHistory).Stats().KeyN; n != 5 {
			return fmt.Errorf("history holds %d revisions, want 5", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReopen(t *testing.T) {
	path := tempPath(t)
	s := openTest(t, path, Options{})
	revs := putN(t, s, 5)
	if _, err := s.Txn(t.Context(), store.Txn{Then: []store.Op{store.Delete("k/1")}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, path, Options{})
	rev, err := s.Revision(t.Context())
	if err != nil || rev != revs[4]+1 {
		t.Fatalf("revision after reopen = %d, %v; want %d", rev, err, revs[4]+1)
	}
	// A watcher resumes across the restart.
	ch, err := s.Watch(t.Context(), "k/", revs[2])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"put k/3", "put k/4", "delete k/1"} {
		ev := <-ch
		got := fmt.Sprintf("put %s", ev.KV.Key)
		if ev.Type == store.EventDelete {
			got = fmt.Sprintf("delete %s", ev.KV.Key)
		}
		if got != want {
			t.Fatalf("after reopen got %q, want %q", got, want)
		}
	}
	// Revisions continue; create revisions survive.
	next, err := s.Txn(t.Context(), store.Txn{Then: []store.Op{store.Put("k/0", []byte("x"))}})
	if err != nil || next != rev+1 {
		t.Fatalf("first txn after reopen = %d, %v; want %d", next, err, rev+1)
	}
	kv, _, err := s.Get(t.Context(), "k/0")
	if err != nil || kv.CreateRevision != revs[0] || kv.ModRevision != next {
		t.Fatalf("k/0 after reopen = %+v, %v", kv, err)
	}
	if ev := <-ch; ev.KV.Key != "k/0" || ev.KV.ModRevision != next {
		t.Fatalf("live event after replay: %+v", ev)
	}
}

// TestSlowWatcherClosed checks the bolt backend's bound: the channel of a
// watcher that does not read is closed, on a revision boundary.
func TestSlowWatcherClosed(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := openTest(t, tempPath(t), Options{WatchBacklog: 10, Registerer: reg})
	ch, err := s.Watch(t.Context(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	ops := make([]store.Op, 7)
	for i := range 40 {
		for j := range ops {
			ops[j] = store.Put(fmt.Sprintf("k/%d", j), []byte{byte(i)})
		}
		if _, err := s.Txn(t.Context(), store.Txn{Then: ops}); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	timeout := time.After(10 * time.Second)
	for open := true; open; {
		select {
		case _, open = <-ch:
			if open {
				n++
			}
		case <-timeout:
			t.Fatal("slow watcher not closed")
		}
	}
	if n == 0 || n%len(ops) != 0 || n >= 40*len(ops) {
		t.Fatalf("slow watcher got %d events before closing, want whole revisions of %d and fewer than all", n, len(ops))
	}
	if got := gather(t, reg)["berth_store_watch_overflows_total"]; got != 1 {
		t.Fatalf("overflow counter = %v, want 1", got)
	}
}

// gather returns each unlabelled metric's value (a histogram's count).
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch {
			case m.Counter != nil:
				vals[mf.GetName()] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				vals[mf.GetName()] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				vals[mf.GetName()] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return vals
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	path := tempPath(t)
	s := openTest(t, path, Options{Registerer: reg})
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := s.Watch(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	putN(t, s, 2)
	if _, err := s.Txn(t.Context(), store.Txn{If: []store.Compare{{Key: "k/0"}}}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	want := map[string]float64{
		"berth_store_txn_duration_seconds":  3,
		"berth_store_txn_conflicts_total":   1,
		"berth_store_watchers":              1,
		"berth_store_watch_overflows_total": 0,
	}
	got := gather(t, reg)
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s = %v, want %v", name, got[name], v)
		}
	}
	cancel()
	for range ch {
	}
	// The watcher's goroutine decrements the gauge after closing.
	deadline := time.Now().Add(5 * time.Second)
	for gather(t, reg)["berth_store_watchers"] != 0 {
		if time.Now().After(deadline) {
			t.Fatal("watchers gauge not decremented")
		}
		time.Sleep(time.Millisecond)
	}
	// One registerer takes one open store at a time.
	if _, err := Open(filepath.Join(t.TempDir(), "other.db"), Options{Registerer: reg}); err == nil {
		t.Fatal("second store registered the same metrics")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	openTest(t, path, Options{Registerer: reg})
}

func TestOpenErrors(t *testing.T) {
	path := tempPath(t)
	if _, err := Open(path, Options{History: -1}); err == nil {
		t.Error("negative option accepted")
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing", "dir", "state.db"), Options{}); err == nil {
		t.Error("open in a missing directory succeeded")
	}
	openTest(t, path, Options{})
	start := time.Now()
	if _, err := Open(path, Options{LockTimeout: 100 * time.Millisecond}); err == nil {
		t.Error("second open of a locked file succeeded")
	}
	if time.Since(start) > 5*time.Second {
		t.Error("lock timeout not honoured")
	}
}

func TestFormatVersion(t *testing.T) {
	path := tempPath(t)
	s := openTest(t, path, Options{})
	err := s.db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketMeta).Put(metaFormat, revKey(formatVersion+1)) })
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(path, Options{}); err == nil || !strings.Contains(err.Error(), "format") {
		t.Fatalf("open of a newer format: err = %v", err)
	}
}

func TestLimits(t *testing.T) {
	s := openTest(t, tempPath(t), Options{})
	huge := strings.Repeat("k", bbolt.MaxKeySize+1)
	if _, _, err := s.Get(t.Context(), huge); err == nil {
		t.Error("get of an oversized key succeeded")
	}
	if _, err := s.Txn(t.Context(), store.Txn{Then: []store.Op{store.Put(huge, nil)}}); err == nil {
		t.Error("put of an oversized key succeeded")
	}
	//lint:ignore SA1012 a nil context must be an error, not a panic
	if _, _, err := s.Get(nil, "k"); err == nil {
		t.Error("nil context accepted")
	}
	longest := strings.Repeat("k", bbolt.MaxKeySize)
	if _, err := s.Txn(t.Context(), store.Txn{Then: []store.Op{store.Put(longest, []byte("v"))}}); err != nil {
		t.Errorf("put of a maximal key: %v", err)
	}
}

// TestCorruption damages records behind the store's back: every read
// reports an error and nothing panics.
func TestCorruption(t *testing.T) {
	s := openTest(t, tempPath(t), Options{})
	revs := putN(t, s, 3)
	err := s.db.Update(func(tx *bbolt.Tx) error {
		if err := tx.Bucket(bucketKeys).Put([]byte("k/1"), []byte("short")); err != nil {
			return err
		}
		return tx.Bucket(bucketHistory).Put(revKey(revs[1]), []byte{3, 1, 200})
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, _, err := s.Get(ctx, "k/1"); !errors.Is(err, errCorrupt) {
		t.Errorf("get: err = %v", err)
	}
	if _, _, err := s.List(ctx, "k/", store.ListOptions{}); !errors.Is(err, errCorrupt) {
		t.Errorf("list: err = %v", err)
	}
	if _, err := s.Txn(ctx, store.Txn{If: []store.Compare{{Key: "k/1", ModRevision: 2}}}); !errors.Is(err, errCorrupt) {
		t.Errorf("compare: err = %v", err)
	}
	if _, err := s.Txn(ctx, store.Txn{Then: []store.Op{store.Put("k/1", nil)}}); !errors.Is(err, errCorrupt) {
		t.Errorf("overwrite: err = %v", err)
	}
	// A failing transaction makes bolt re-run the rest of its batch: they
	// still commit once, at the revision they report.
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if i%4 == 0 {
				if _, err := s.Txn(ctx, store.Txn{Then: []store.Op{store.Put("k/1", nil)}}); !errors.Is(err, errCorrupt) {
					t.Errorf("overwrite in a batch: err = %v", err)
				}
				return
			}
			k := fmt.Sprintf("healthy/%d", i)
			rev, err := s.Txn(ctx, store.Txn{Then: []store.Op{store.Put(k, nil)}})
			if err != nil {
				t.Errorf("healthy txn: %v", err)
				return
			}
			if kv, _, err := s.Get(ctx, k); err != nil || kv.ModRevision != rev {
				t.Errorf("healthy txn reported revision %d, stored %+v, %v", rev, kv, err)
			}
		})
	}
	wg.Wait()
	if rev, err := s.Revision(ctx); err != nil || rev != revs[2]+15 {
		t.Errorf("revision after 15 healthy txns = %d, %v; want %d", rev, err, revs[2]+15)
	}
	ch, err := s.Watch(ctx, "", revs[0])
	if err != nil {
		t.Fatal(err)
	}
	for ev := range ch {
		t.Errorf("event %+v from a corrupt history", ev)
	}
}

func TestFellBehind(t *testing.T) {
	s := openTest(t, tempPath(t), Options{History: 3})
	putN(t, s, 10)
	if _, _, err := s.readHistory(2, 10, ""); !errors.Is(err, errFellBehind) {
		t.Fatalf("err = %v, want errFellBehind", err)
	}
}

func TestEncodingRoundTrip(t *testing.T) {
	evs := []store.Event{
		{Type: store.EventPut, KV: store.KV{Key: "a/1", Value: []byte("v"), CreateRevision: 3, ModRevision: 9}},
		{Type: store.EventDelete, KV: store.KV{Key: "b", ModRevision: 9}},
		{Type: store.EventPut, KV: store.KV{Key: "a/2", Value: []byte{}, CreateRevision: 9, ModRevision: 9}},
	}
	b := encodeEvents(evs)
	got, err := decodeEvents(9, b, "")
	if err != nil || fmt.Sprint(got) != fmt.Sprint(evs) {
		t.Fatalf("round trip = %v, %v", got, err)
	}
	got, err = decodeEvents(9, b, "a/")
	if err != nil || len(got) != 2 {
		t.Fatalf("prefix filter = %v, %v", got, err)
	}
	// Every truncation is an error, never a panic or a short success.
	for i := range len(b) {
		if _, err := decodeEvents(9, b[:i], ""); err == nil {
			t.Fatalf("truncated to %d of %d bytes: no error", i, len(b))
		}
	}
}

func FuzzDecodeEvents(f *testing.F) {
	f.Add(encodeEvents([]store.Event{{Type: store.EventPut, KV: store.KV{Key: "k", Value: []byte("v")}}}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, err := decodeEvents(1, b, "")
		if err == nil {
			if _, err := decodeEvents(1, encodeEvents(evs), ""); err != nil {
				t.Fatalf("re-encoding a decoded entry fails: %v", err)
			}
		}
	})
}
