// Package storetest is the conformance suite every store backend must pass.
// A backend's tests call Run with a function that opens a new, empty store.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/berth/berth/internal/store"
)

// Run runs the suite. open must return a new, empty store for each call and
// arrange its cleanup; the suite may Close the store itself first, so the
// cleanup must tolerate store.ErrClosed. Subtests run in parallel.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"GetMissing", testGetMissing},
		{"PutCreates", testPutCreates},
		{"UpdateKeepsCreateRevision", testUpdate},
		{"CompareAndSwap", testCompareAndSwap},
		{"ConflictChangesNothing", testConflictChangesNothing},
		{"TxnMultiKey", testTxnMultiKey},
		{"TxnWithoutChanges", testTxnWithoutChanges},
		{"Delete", testDelete},
		{"Values", testValues},
		{"InvalidInput", testInvalidInput},
		{"List", testList},
		{"ListPagination", testListPagination},
		{"Range", testRange},
		{"WatchOrder", testWatchOrder},
		{"WatchTxnSharesRevision", testWatchTxnSharesRevision},
		{"WatchPrefix", testWatchPrefix},
		{"WatchResume", testWatchResume},
		{"WatchFromNow", testWatchFromNow},
		{"WatchFromEmptyStore", testWatchFromEmptyStore},
		{"WatchFutureRevision", testWatchFutureRevision},
		{"WatchCancel", testWatchCancel},
		{"WatchValueIsolation", testWatchValueIsolation},
		{"SlowWatcher", testSlowWatcher},
		{"ConcurrentCounter", testConcurrentCounter},
		{"ConcurrentWriters", testConcurrentWriters},
		{"ContextCanceled", testContextCanceled},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// wait bounds every blocking step, so a broken backend fails instead of
// hanging the test binary.
const wait = 10 * time.Second

func put(t *testing.T, s store.Store, key, value string) int64 {
	t.Helper()
	rev, err := s.Txn(t.Context(), store.Txn{Then: []store.Op{store.Put(key, []byte(value))}})
	if err != nil {
		t.Fatalf("put %q: %v", key, err)
	}
	return rev
}

func del(t *testing.T, s store.Store, key string) int64 {
	t.Helper()
	rev, err := s.Txn(t.Context(), store.Txn{Then: []store.Op{store.Delete(key)}})
	if err != nil {
		t.Fatalf("delete %q: %v", key, err)
	}
	return rev
}

func get(t *testing.T, s store.Store, key string) store.KV {
	t.Helper()
	kv, _, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	return kv
}

func revision(t *testing.T, s store.Store) int64 {
	t.Helper()
	rev, err := s.Revision(t.Context())
	if err != nil {
		t.Fatalf("revision: %v", err)
	}
	return rev
}

func watch(t *testing.T, ctx context.Context, s store.Store, prefix string, from int64) <-chan store.Event {
	t.Helper()
	ch, err := s.Watch(ctx, prefix, from)
	if err != nil {
		t.Fatalf("watch %q from %d: %v", prefix, from, err)
	}
	return ch
}

// next receives one event, failing on timeout or a closed channel.
func next(t *testing.T, ch <-chan store.Event) store.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed early")
		}
		return ev
	case <-time.After(wait):
		t.Fatal("timed out waiting for a watch event")
	}
	return store.Event{}
}

// quiet checks that nothing arrives for a short while.
func quiet(t *testing.T, ch <-chan store.Event) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if ok {
			t.Fatalf("unexpected event %s", fmtEvent(ev))
		}
		t.Fatal("watch channel closed unexpectedly")
	case <-time.After(50 * time.Millisecond):
	}
}

func closed(t *testing.T, ch <-chan store.Event) {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("watch channel not closed")
		}
	}
}

func fmtEvent(ev store.Event) string {
	typ := "put"
	if ev.Type == store.EventDelete {
		typ = "delete"
	}
	return fmt.Sprintf("%s %q=%q create=%d mod=%d", typ, ev.KV.Key, ev.KV.Value, ev.KV.CreateRevision, ev.KV.ModRevision)
}

func expectEvent(t *testing.T, ev store.Event, typ store.EventType, key, value string, mod int64) {
	t.Helper()
	ok := ev.Type == typ && ev.KV.Key == key && ev.KV.ModRevision == mod
	if typ == store.EventPut {
		ok = ok && string(ev.KV.Value) == value
	} else {
		ok = ok && ev.KV.Value == nil
	}
	if !ok {
		want := store.Event{Type: typ, KV: store.KV{Key: key, ModRevision: mod}}
		if typ == store.EventPut {
			want.KV.Value = []byte(value)
		}
		t.Fatalf("got event %s, want %s", fmtEvent(ev), fmtEvent(want))
	}
}

func testGetMissing(t *testing.T, s store.Store) {
	before := put(t, s, "a", "1")
	_, rev, err := s.Get(t.Context(), "b")
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get missing key: err = %v, want ErrNotFound", err)
	}
	if rev != before {
		t.Fatalf("get missing key: revision = %d, want %d", rev, before)
	}
}

func testPutCreates(t *testing.T, s store.Store) {
	start := revision(t, s)
	rev := put(t, s, "k", "v")
	if rev <= start {
		t.Fatalf("put returned revision %d, not after %d", rev, start)
	}
	kv, readRev, err := s.Get(t.Context(), "k")
	if err != nil {
		t.Fatal(err)
	}
	if kv.Key != "k" || string(kv.Value) != "v" || kv.CreateRevision != rev || kv.ModRevision != rev {
		t.Fatalf("got %+v, want k=v at create=mod=%d", kv, rev)
	}
	if readRev != rev || revision(t, s) != rev {
		t.Fatalf("store revision after put: get says %d, Revision says %d, want %d", readRev, revision(t, s), rev)
	}
	rev2 := put(t, s, "k2", "v")
	if rev2 <= rev {
		t.Fatalf("second put revision %d not after %d", rev2, rev)
	}
}

func testUpdate(t *testing.T, s store.Store) {
	r1 := put(t, s, "k", "v1")
	r2 := put(t, s, "k", "v2")
	kv := get(t, s, "k")
	if string(kv.Value) != "v2" || kv.CreateRevision != r1 || kv.ModRevision != r2 || r2 <= r1 {
		t.Fatalf("after update got %+v, want v2 create=%d mod=%d", kv, r1, r2)
	}
}

func testCompareAndSwap(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Must not exist: succeeds once.
	create := store.Txn{If: []store.Compare{{Key: "k", ModRevision: 0}}, Then: []store.Op{store.Put("k", []byte("1"))}}
	r1, err := s.Txn(ctx, create)
	if err != nil {
		t.Fatalf("create-if-absent: %v", err)
	}
	if _, err := s.Txn(ctx, create); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("create-if-absent on existing key: err = %v, want ErrConflict", err)
	}
	// Matching revision: succeeds.
	r2, err := s.Txn(ctx, store.Txn{If: []store.Compare{{Key: "k", ModRevision: r1}}, Then: []store.Op{store.Put("k", []byte("2"))}})
	if err != nil {
		t.Fatalf("swap at current revision: %v", err)
	}
	// Stale revision: conflicts.
	if _, err := s.Txn(ctx, store.Txn{If: []store.Compare{{Key: "k", ModRevision: r1}}, Then: []store.Op{store.Put("k", []byte("3"))}}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("swap at stale revision: err = %v, want ErrConflict", err)
	}
	// A revision on a missing key: conflicts.
	if _, err := s.Txn(ctx, store.Txn{If: []store.Compare{{Key: "missing", ModRevision: r2}}, Then: []store.Op{store.Put("missing", []byte("x"))}}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("compare revision of missing key: err = %v, want ErrConflict", err)
	}
	// Comparing one key and writing another.
	if _, err := s.Txn(ctx, store.Txn{If: []store.Compare{{Key: "k", ModRevision: r2}}, Then: []store.Op{store.Put("other", []byte("o"))}}); err != nil {
		t.Fatalf("guarded write of another key: %v", err)
	}
	if kv := get(t, s, "k"); string(kv.Value) != "2" || kv.ModRevision != r2 {
		t.Fatalf("after CAS sequence got %+v, want 2 at %d", kv, r2)
	}
	if _, _, err := s.Get(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("conflicting txn created its key: err = %v", err)
	}
}

func testConflictChangesNothing(t *testing.T, s store.Store) {
	ctx := t.Context()
	ra := put(t, s, "a", "1")
	put(t, s, "b", "1")
	before := revision(t, s)
	_, err := s.Txn(ctx, store.Txn{
		If:   []store.Compare{{Key: "a", ModRevision: ra}, {Key: "b", ModRevision: ra}},
		Then: []store.Op{store.Put("a", []byte("2")), store.Delete("b"), store.Put("c", []byte("new"))},
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	if string(get(t, s, "a").Value) != "1" || string(get(t, s, "b").Value) != "1" {
		t.Fatal("conflicting txn changed a key")
	}
	if _, _, err := s.Get(ctx, "c"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("conflicting txn created a key")
	}
	if rev := revision(t, s); rev != before {
		t.Fatalf("conflicting txn moved the revision from %d to %d", before, rev)
	}
}

func testTxnMultiKey(t *testing.T, s store.Store) {
	put(t, s, "gone", "x")
	rev, err := s.Txn(t.Context(), store.Txn{Then: []store.Op{
		store.Put("a", []byte("1")), store.Put("b", []byte("2")), store.Delete("gone"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b"} {
		if kv := get(t, s, k); kv.ModRevision != rev || kv.CreateRevision != rev {
			t.Fatalf("%s: got %+v, want create=mod=%d", k, kv, rev)
		}
	}
	if _, _, err := s.Get(t.Context(), "gone"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted key: err = %v", err)
	}
	if got := revision(t, s); got != rev {
		t.Fatalf("revision = %d, want %d (one revision per txn)", got, rev)
	}
}

func testTxnWithoutChanges(t *testing.T, s store.Store) {
	ctx := t.Context()
	r := put(t, s, "k", "v")
	// Compare only: a consistency check, which changes nothing.
	got, err := s.Txn(ctx, store.Txn{If: []store.Compare{{Key: "k", ModRevision: r}}})
	if err != nil || got != r {
		t.Fatalf("compare-only txn = %d, %v; want %d, nil", got, err, r)
	}
	// Deleting a missing key is a no-op.
	got, err = s.Txn(ctx, store.Txn{Then: []store.Op{store.Delete("missing")}})
	if err != nil || got != r {
		t.Fatalf("delete of missing key = %d, %v; want %d, nil", got, err, r)
	}
	if _, err := s.Txn(ctx, store.Txn{}); err != nil {
		t.Fatalf("empty txn: %v", err)
	}
	if rev := revision(t, s); rev != r {
		t.Fatalf("txns without changes moved the revision to %d, want %d", rev, r)
	}
}

func testDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	r1 := put(t, s, "k", "v")
	rd := del(t, s, "k")
	if rd <= r1 {
		t.Fatalf("delete revision %d not after %d", rd, r1)
	}
	if _, rev, err := s.Get(ctx, "k"); !errors.Is(err, store.ErrNotFound) || rev != rd {
		t.Fatalf("get after delete: rev %d err %v, want %d ErrNotFound", rev, err, rd)
	}
	// A deleted key compares as absent.
	if _, err := s.Txn(ctx, store.Txn{If: []store.Compare{{Key: "k", ModRevision: r1}}}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("compare deleted key at old revision: err = %v, want ErrConflict", err)
	}
	r2, err := s.Txn(ctx, store.Txn{If: []store.Compare{{Key: "k"}}, Then: []store.Op{store.Put("k", []byte("again"))}})
	if err != nil {
		t.Fatalf("recreate: %v", err)
	}
	if kv := get(t, s, "k"); kv.CreateRevision != r2 || kv.ModRevision != r2 {
		t.Fatalf("recreated key %+v, want create=mod=%d", kv, r2)
	}
}

func testValues(t *testing.T, s store.Store) {
	ctx := t.Context()
	binary := []byte{0, 1, 2, 0xff, 0xfe, 0}
	large := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	for key, value := range map[string][]byte{"nil": nil, "empty": {}, "binary": binary, "large": large} {
		if _, err := s.Txn(ctx, store.Txn{Then: []store.Op{store.Put(key, value)}}); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
		if got := get(t, s, key).Value; !bytes.Equal(got, value) {
			t.Fatalf("%s: got %d bytes, want %d", key, len(got), len(value))
		}
	}
	// Neither the caller's slice nor a returned one aliases the store.
	v := []byte("original")
	if _, err := s.Txn(ctx, store.Txn{Then: []store.Op{store.Put("alias", v)}}); err != nil {
		t.Fatal(err)
	}
	copy(v, "XXXXXXXX")
	kv := get(t, s, "alias")
	if string(kv.Value) != "original" {
		t.Fatalf("store aliases the put value: %q", kv.Value)
	}
	copy(kv.Value, "YYYYYYYY")
	if got := get(t, s, "alias").Value; string(got) != "original" {
		t.Fatalf("store aliases a returned value: %q", got)
	}
	// Keys are arbitrary bytes.
	for _, key := range []string{"/", "a/b/c", "\x00", "\xff\xfe", "ünïcode", "with space"} {
		put(t, s, key, key)
		if got := get(t, s, key); got.Key != key || string(got.Value) != key {
			t.Fatalf("key %q: got %+v", key, got)
		}
	}
}

func testInvalidInput(t *testing.T, s store.Store) {
	ctx := t.Context()
	before := put(t, s, "k", "v")
	check := func(what string, err error) {
		t.Helper()
		if err == nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
			t.Errorf("%s: err = %v, want an input error", what, err)
		}
	}
	_, _, err := s.Get(ctx, "")
	check("get empty key", err)
	_, err = s.Txn(ctx, store.Txn{Then: []store.Op{store.Put("", []byte("v"))}})
	check("put empty key", err)
	_, err = s.Txn(ctx, store.Txn{Then: []store.Op{store.Delete("")}})
	check("delete empty key", err)
	_, err = s.Txn(ctx, store.Txn{If: []store.Compare{{Key: ""}}, Then: []store.Op{store.Put("x", nil)}})
	check("compare empty key", err)
	_, err = s.Txn(ctx, store.Txn{If: []store.Compare{{Key: "k", ModRevision: -1}}, Then: []store.Op{store.Put("x", nil)}})
	check("negative compare revision", err)
	_, err = s.Txn(ctx, store.Txn{Then: []store.Op{store.Put("x", nil), store.Delete("x")}})
	check("key written twice", err)
	_, err = s.Txn(ctx, store.Txn{Then: []store.Op{store.Put("ok", nil), store.Put("", nil)}})
	check("valid op then invalid op", err)
	_, _, err = s.List(ctx, "", store.ListOptions{Limit: -1})
	check("negative list limit", err)
	_, err = s.Watch(ctx, "", -1)
	check("negative watch revision", err)
	if rev := revision(t, s); rev != before {
		t.Fatalf("invalid input moved the revision from %d to %d", before, rev)
	}
	for _, k := range []string{"x", "ok"} {
		if _, _, err := s.Get(ctx, k); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("invalid txn wrote %q", k)
		}
	}
}

func keysOf(kvs []store.KV) []string {
	keys := make([]string, len(kvs))
	for i, kv := range kvs {
		keys[i] = kv.Key
	}
	return keys
}

func testList(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, k := range []string{"b/2", "a", "b/1", "b/10", "b", "c/1", "b/3"} {
		put(t, s, k, "v:"+k)
	}
	last := revision(t, s)
	kvs, rev, err := s.List(ctx, "b/", store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(keysOf(kvs)), "[b/1 b/10 b/2 b/3]"; got != want {
		t.Fatalf("list b/ = %s, want %s", got, want)
	}
	if rev != last {
		t.Fatalf("list revision = %d, want %d", rev, last)
	}
	for _, kv := range kvs {
		if string(kv.Value) != "v:"+kv.Key || kv.ModRevision == 0 || kv.CreateRevision != kv.ModRevision {
			t.Fatalf("listed %+v", kv)
		}
	}
	all, _, err := s.List(ctx, "", store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(keysOf(all)), "[a b b/1 b/10 b/2 b/3 c/1]"; got != want {
		t.Fatalf("list all = %s, want %s", got, want)
	}
	none, _, err := s.List(ctx, "zzz", store.ListOptions{})
	if err != nil || len(none) != 0 {
		t.Fatalf("list of absent prefix = %v, %v", keysOf(none), err)
	}
	// StartAfter below the prefix starts at the prefix; above it, nothing.
	below, _, err := s.List(ctx, "b/", store.ListOptions{StartAfter: "a"})
	if err != nil || fmt.Sprint(keysOf(below)) != "[b/1 b/10 b/2 b/3]" {
		t.Fatalf("StartAfter below prefix = %v, %v", keysOf(below), err)
	}
	above, _, err := s.List(ctx, "b/", store.ListOptions{StartAfter: "c"})
	if err != nil || len(above) != 0 {
		t.Fatalf("StartAfter above prefix = %v, %v", keysOf(above), err)
	}
	// StartAfter need not exist.
	mid, _, err := s.List(ctx, "b/", store.ListOptions{StartAfter: "b/11"})
	if err != nil || fmt.Sprint(keysOf(mid)) != "[b/2 b/3]" {
		t.Fatalf("StartAfter between keys = %v, %v", keysOf(mid), err)
	}
}

// Range visits what List lists, as of the same revision, and stops at the
// first error of its visitor.
func testRange(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, k := range []string{"b/2", "a", "b/1", "b/10", "c/1"} {
		put(t, s, k, "v:"+k)
	}
	put(t, s, "b/1", "v:b/1 again")
	listed, listRev, err := s.List(ctx, "b/", store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var visited []store.KV
	rev, err := s.Range(ctx, "b/", func(kv store.KV) error {
		kv.Value = append([]byte(nil), kv.Value...) // valid only during the call
		visited = append(visited, kv)
		return nil
	})
	if err != nil || rev != listRev {
		t.Fatalf("range: revision %d, %v; list saw %d", rev, err, listRev)
	}
	if fmt.Sprint(visited) != fmt.Sprint(listed) {
		t.Fatalf("range visited %v, list gave %v", visited, listed)
	}
	stop := errors.New("enough")
	calls := 0
	if _, err := s.Range(ctx, "", func(store.KV) error {
		calls++
		return stop
	}); !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("range with a failing visitor: %d calls, %v", calls, err)
	}
}

func testListPagination(t *testing.T, s store.Store) {
	ctx := t.Context()
	var want []string
	var ops []store.Op
	for i := range 53 {
		k := fmt.Sprintf("p/%03d", i)
		want = append(want, k)
		ops = append(ops, store.Put(k, []byte(k)))
	}
	if _, err := s.Txn(ctx, store.Txn{Then: ops}); err != nil {
		t.Fatal(err)
	}
	put(t, s, "q", "outside")
	var got []string
	after := ""
	for pages := 0; ; pages++ {
		if pages > 20 {
			t.Fatal("pagination does not end")
		}
		kvs, _, err := s.List(ctx, "p/", store.ListOptions{StartAfter: after, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(kvs) > 10 {
			t.Fatalf("page of %d keys, limit 10", len(kvs))
		}
		if len(kvs) == 0 {
			break
		}
		got = append(got, keysOf(kvs)...)
		after = kvs[len(kvs)-1].Key
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("paginated keys = %v, want %v", got, want)
	}
}

func testWatchOrder(t *testing.T, s store.Store) {
	ch := watch(t, t.Context(), s, "", 0)
	r1 := put(t, s, "a", "1")
	r2 := put(t, s, "b", "2")
	r3 := put(t, s, "a", "3")
	r4 := del(t, s, "a")
	expectEvent(t, next(t, ch), store.EventPut, "a", "1", r1)
	ev := next(t, ch)
	expectEvent(t, ev, store.EventPut, "b", "2", r2)
	if ev.KV.CreateRevision != r2 {
		t.Fatalf("create revision of new key in event = %d, want %d", ev.KV.CreateRevision, r2)
	}
	ev = next(t, ch)
	expectEvent(t, ev, store.EventPut, "a", "3", r3)
	if ev.KV.CreateRevision != r1 {
		t.Fatalf("create revision of updated key in event = %d, want %d", ev.KV.CreateRevision, r1)
	}
	expectEvent(t, next(t, ch), store.EventDelete, "a", "", r4)
	quiet(t, ch)
}

func testWatchTxnSharesRevision(t *testing.T, s store.Store) {
	put(t, s, "x", "old")
	ch := watch(t, t.Context(), s, "", 0)
	rev, err := s.Txn(t.Context(), store.Txn{Then: []store.Op{
		store.Put("c", []byte("1")), store.Delete("x"), store.Put("a", []byte("2")), store.Delete("missing"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	// Events come in op order; deleting a missing key makes no event.
	expectEvent(t, next(t, ch), store.EventPut, "c", "1", rev)
	expectEvent(t, next(t, ch), store.EventDelete, "x", "", rev)
	expectEvent(t, next(t, ch), store.EventPut, "a", "2", rev)
	quiet(t, ch)
}

func testWatchPrefix(t *testing.T, s store.Store) {
	ch := watch(t, t.Context(), s, "svc/", 0)
	put(t, s, "svc", "no")
	put(t, s, "sv", "no")
	r := put(t, s, "svc/a", "yes")
	put(t, s, "task/a", "no")
	rev, err := s.Txn(t.Context(), store.Txn{Then: []store.Op{
		store.Put("task/b", []byte("no")), store.Put("svc/b", []byte("yes")),
	}})
	if err != nil {
		t.Fatal(err)
	}
	expectEvent(t, next(t, ch), store.EventPut, "svc/a", "yes", r)
	expectEvent(t, next(t, ch), store.EventPut, "svc/b", "yes", rev)
	quiet(t, ch)
	// The same filter applies to history.
	hist := watch(t, t.Context(), s, "svc/", r-1)
	expectEvent(t, next(t, hist), store.EventPut, "svc/a", "yes", r)
	expectEvent(t, next(t, hist), store.EventPut, "svc/b", "yes", rev)
	quiet(t, hist)
}

func testWatchResume(t *testing.T, s store.Store) {
	var revs []int64
	for i := range 20 {
		k := "k" + strconv.Itoa(i%3)
		if i%5 == 4 {
			revs = append(revs, del(t, s, "k"+strconv.Itoa((i-1)%3)))
		} else {
			revs = append(revs, put(t, s, k, strconv.Itoa(i)))
		}
	}
	all := watch(t, t.Context(), s, "", revs[0]-1)
	var events []store.Event
	for range revs {
		events = append(events, next(t, all))
	}
	for i, ev := range events {
		if ev.KV.ModRevision != revs[i] {
			t.Fatalf("event %d has revision %d, want %d", i, ev.KV.ModRevision, revs[i])
		}
	}
	quiet(t, all)
	// Resuming from every point yields exactly the rest, then live events.
	for i := range revs {
		ctx, cancel := context.WithCancel(t.Context())
		ch := watch(t, ctx, s, "", revs[i])
		for _, want := range events[i+1:] {
			if got := next(t, ch); fmtEvent(got) != fmtEvent(want) {
				t.Fatalf("resume from %d: got %s, want %s", revs[i], fmtEvent(got), fmtEvent(want))
			}
		}
		quiet(t, ch)
		cancel()
	}
	live := watch(t, t.Context(), s, "", revs[10])
	r := put(t, s, "after", "x")
	for range events[11:] {
		next(t, live)
	}
	expectEvent(t, next(t, live), store.EventPut, "after", "x", r)
	// The live watch that saw everything also gets the new event.
	expectEvent(t, next(t, all), store.EventPut, "after", "x", r)
}

func testWatchFromNow(t *testing.T, s store.Store) {
	put(t, s, "old", "1")
	ch := watch(t, t.Context(), s, "", 0)
	quiet(t, ch)
	r := put(t, s, "new", "2")
	expectEvent(t, next(t, ch), store.EventPut, "new", "2", r)
}

// testWatchFromEmptyStore checks that the revision an empty store reports
// can be watched from: were it 0, "from now" would lose the first change.
func testWatchFromEmptyStore(t *testing.T, s store.Store) {
	kvs, rev, err := s.List(t.Context(), "", store.ListOptions{})
	if err != nil || len(kvs) != 0 {
		t.Fatalf("list of a new store = %d keys, %v", len(kvs), err)
	}
	r := put(t, s, "first", "1")
	ch := watch(t, t.Context(), s, "", rev)
	expectEvent(t, next(t, ch), store.EventPut, "first", "1", r)
}

func testWatchFutureRevision(t *testing.T, s store.Store) {
	r := put(t, s, "a", "1")
	ch := watch(t, t.Context(), s, "", r+2)
	put(t, s, "a", "2")
	put(t, s, "a", "3")
	r4 := put(t, s, "a", "4")
	if r4 != r+3 {
		t.Skipf("backend revisions not consecutive (%d after %d)", r4, r)
	}
	expectEvent(t, next(t, ch), store.EventPut, "a", "4", r4)
	quiet(t, ch)
}

func testWatchCancel(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	ch := watch(t, ctx, s, "", 0)
	put(t, s, "a", "1")
	cancel()
	closed(t, ch)
	// Writes keep working with a cancelled watch that was never read.
	put(t, s, "b", "2")
}

func testWatchValueIsolation(t *testing.T, s store.Store) {
	ch1 := watch(t, t.Context(), s, "", 0)
	ch2 := watch(t, t.Context(), s, "", 0)
	v := []byte("value")
	if _, err := s.Txn(t.Context(), store.Txn{Then: []store.Op{store.Put("k", v)}}); err != nil {
		t.Fatal(err)
	}
	copy(v, "XXXXX")
	e1 := next(t, ch1)
	copy(e1.KV.Value, "YYYYY")
	if e2 := next(t, ch2); string(e2.KV.Value) != "value" {
		t.Fatalf("watchers share or alias values: second watcher got %q", e2.KV.Value)
	}
	if got := get(t, s, "k").Value; string(got) != "value" {
		t.Fatalf("watch event aliases the stored value: %q", got)
	}
}

// testSlowWatcher checks that a watcher that stops reading does not block
// writers, and that whatever it then receives is usable: either everything,
// or whole revisions in order up to a close, after which resuming from the
// last revision seen yields the rest.
func testSlowWatcher(t *testing.T, s store.Store) {
	const txns, perTxn = 300, 100
	slow := watch(t, t.Context(), s, "", 0)
	first := revision(t, s) + 1
	done := make(chan error, 1)
	go func() {
		for i := range txns {
			ops := make([]store.Op, perTxn)
			for j := range ops {
				ops[j] = store.Put(fmt.Sprintf("k/%03d", j), []byte(strconv.Itoa(i)))
			}
			if _, err := s.Txn(context.Background(), store.Txn{Then: ops}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("writers blocked by a watcher that does not read")
	}
	last := revision(t, s)
	if last != first+txns-1 {
		t.Skipf("backend revisions not consecutive (%d txns from %d ended at %d)", txns, first, last)
	}
	// seen is the last revision received, count how many of its events.
	seen, count := first-1, perTxn
	timeout := time.After(wait)
	for seen < last || count < perTxn {
		select {
		case ev, ok := <-slow:
			if !ok {
				// Closed for falling behind: it must end on a whole revision.
				if count != perTxn {
					t.Fatalf("slow watch closed after %d of %d events of revision %d", count, perTxn, seen)
				}
				slow = watch(t, t.Context(), s, "", seen)
				continue
			}
			want := seen
			if count == perTxn {
				want, count = seen+1, 0
			}
			if ev.KV.ModRevision != want || ev.KV.Key != fmt.Sprintf("k/%03d", count) {
				t.Fatalf("got %s, want event %d of revision %d", fmtEvent(ev), count, want)
			}
			seen = want
			count++
		case <-timeout:
			t.Fatalf("slow watcher stuck at revision %d (want %d)", seen, last)
		}
	}
}

func testConcurrentCounter(t *testing.T, s store.Store) {
	const workers, increments = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range increments {
				if err := increment(t.Context(), s, "counter"); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := string(get(t, s, "counter").Value); got != strconv.Itoa(workers*increments) {
		t.Fatalf("counter = %s, want %d", got, workers*increments)
	}
}

// increment is the read-decide-commit loop every controller runs.
func increment(ctx context.Context, s store.Store, key string) error {
	for {
		kv, _, err := s.Get(ctx, key)
		n := 0
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		default:
			if n, err = strconv.Atoi(string(kv.Value)); err != nil {
				return err
			}
		}
		_, err = s.Txn(ctx, store.Txn{
			If:   []store.Compare{{Key: key, ModRevision: kv.ModRevision}},
			Then: []store.Op{store.Put(key, []byte(strconv.Itoa(n+1)))},
		})
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
}

// testConcurrentWriters checks that concurrent commits get distinct
// revisions and that a watcher sees each exactly once, in order.
func testConcurrentWriters(t *testing.T, s store.Store) {
	const workers, writes = 8, 40
	ch := watch(t, t.Context(), s, "w/", 0)
	var mu sync.Mutex
	revs := map[int64]string{}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range writes {
				k := fmt.Sprintf("w/%d/%d", w, i)
				rev, err := s.Txn(t.Context(), store.Txn{If: []store.Compare{{Key: k}}, Then: []store.Op{store.Put(k, []byte(k))}})
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				if other, dup := revs[rev]; dup {
					mu.Unlock()
					errs <- fmt.Errorf("revision %d returned for %s and %s", rev, other, k)
					return
				}
				revs[rev] = k
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var prev int64
	for range workers * writes {
		ev := next(t, ch)
		if ev.KV.ModRevision <= prev {
			t.Fatalf("watch revision %d after %d", ev.KV.ModRevision, prev)
		}
		prev = ev.KV.ModRevision
		if revs[prev] != ev.KV.Key || string(ev.KV.Value) != ev.KV.Key {
			t.Fatalf("event %s, but revision %d was committed for %q", fmtEvent(ev), prev, revs[prev])
		}
		delete(revs, prev)
	}
	quiet(t, ch)
	if len(revs) != 0 {
		t.Fatalf("%d committed revisions never watched", len(revs))
	}
}

func testContextCanceled(t *testing.T, s store.Store) {
	put(t, s, "k", "v")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, _, err := s.Get(ctx, "k")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("get: err = %v, want context.Canceled", err)
	}
	_, _, err = s.List(ctx, "", store.ListOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("list: err = %v, want context.Canceled", err)
	}
	_, err = s.Txn(ctx, store.Txn{Then: []store.Op{store.Put("k", []byte("new"))}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("txn: err = %v, want context.Canceled", err)
	}
	if _, err = s.Revision(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("revision: err = %v, want context.Canceled", err)
	}
	if ch, err := s.Watch(ctx, "", 0); err == nil {
		closed(t, ch)
	} else if !errors.Is(err, context.Canceled) {
		t.Errorf("watch: err = %v, want context.Canceled or a closed channel", err)
	}
	if got := string(get(t, s, "k").Value); got != "v" {
		t.Fatalf("cancelled txn applied: %q", got)
	}
}

func testClose(t *testing.T, s store.Store) {
	ctx := t.Context()
	first := put(t, s, "k", "v")
	put(t, s, "k", "v2")
	w1 := watch(t, ctx, s, "", 0)
	w2 := watch(t, ctx, s, "", first-1) // one with history to replay
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	closed(t, w1)
	closed(t, w2)
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after close: err = %v, want ErrClosed", what, err)
		}
	}
	_, _, err := s.Get(ctx, "k")
	check("get", err)
	_, _, err = s.List(ctx, "", store.ListOptions{})
	check("list", err)
	_, err = s.Txn(ctx, store.Txn{Then: []store.Op{store.Put("k", nil)}})
	check("txn", err)
	_, err = s.Watch(ctx, "", 0)
	check("watch", err)
	_, err = s.Revision(ctx)
	check("revision", err)
	check("second close", s.Close())
}
