package logdata

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// batchKey names a test batch; its events carry "key j/n" messages.
func batchMessage(key string, j, n int) string { return fmt.Sprintf("%s %d/%d", key, j, n) }

// checkWholeBatches checks that events are in ascending seq order and that
// each batch is present whole (all n of its events, consecutive seqs).
func checkWholeBatches(t testing.TB, what string, evs []StoredEvent) map[string]int64 {
	t.Helper()
	first := map[string]int64{}
	count := map[string]int{}
	total := map[string]int{}
	for i, e := range evs {
		if i > 0 && e.Seq <= evs[i-1].Seq {
			t.Errorf("%s: seq %d after %d", what, e.Seq, evs[i-1].Seq)
			return nil
		}
		var key string
		var j, n int
		if _, err := fmt.Sscanf(e.Message, "%s %d/%d", &key, &j, &n); err != nil {
			t.Errorf("%s: message %q: %v", what, e.Message, err)
			return nil
		}
		if j == 0 {
			first[key] = e.Seq
		} else if e.Seq != first[key]+int64(j) {
			t.Errorf("%s: event %d of batch %s has seq %d, batch starts at %d", what, j, key, e.Seq, first[key])
		}
		count[key]++
		total[key] = n
	}
	for key, c := range count {
		if c != total[key] {
			t.Errorf("%s: batch %s has %d of %d events", what, key, c, total[key])
		}
	}
	return first
}

// TestConcurrentUse runs appends, reads, Expire and Delete at once (run it
// with -race): readers must see ascending seqs and whole batches only, and
// no acknowledged batch that is not expired may be missing afterwards.
func TestConcurrentUse(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, SegmentBytes: 16 << 10, MaxOpenFiles: 4}
	s := openStore(t, opts)
	ctx, stop := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer stop()
	streams := []StreamID{"a", "b", "c"}
	var clock atomic.Int64 // event timestamps: each batch gets the next one
	clock.Store(1000)
	var cutoff atomic.Int64

	type acked struct {
		key   string
		first int64
		n     int
		ts    int64
	}
	var mu sync.Mutex
	ackedBy := map[StreamID][]acked{}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			id := streams[w%len(streams)]
			for i := 0; ctx.Err() == nil; i++ {
				key := fmt.Sprintf("w%d-%d", w, i)
				ts := clock.Add(1)
				evs := make([]Event, 1+rng.IntN(40))
				for j := range evs {
					evs[j] = Event{Timestamp: ts, Message: batchMessage(key, j, len(evs))}
				}
				res, err := s.Append(context.Background(), AppendRequest{Stream: id, Events: evs})
				if id == "c" && errors.Is(err, ErrStreamDeleted) {
					continue
				}
				if err != nil {
					t.Errorf("append: %v", err)
					return
				}
				mu.Lock()
				ackedBy[id] = append(ackedBy[id], acked{key, res.FirstSeq, len(evs), ts})
				mu.Unlock()
			}
		})
	}
	for r := range 3 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(r), 10))
			for ctx.Err() == nil {
				id := streams[rng.IntN(len(streams))]
				var evs []StoredEvent
				if err := s.Scan(context.Background(), id, 0, 0, 0, 0, func(e StoredEvent) bool {
					evs = append(evs, e)
					return true
				}); err != nil {
					t.Errorf("scan: %v", err)
					return
				}
				checkWholeBatches(t, "scan of "+string(id), evs)
				page, _, err := s.Read(context.Background(), ReadRequest{Stream: id, Limit: 50, From: rng.Int64N(2000)})
				if err != nil {
					t.Errorf("read: %v", err)
					return
				}
				for i := 1; i < len(page); i++ {
					if page[i].Seq <= page[i-1].Seq {
						t.Errorf("read: seq %d after %d", page[i].Seq, page[i-1].Seq)
					}
				}
				if _, err := s.Stats(id); err != nil {
					t.Errorf("stats: %v", err)
				}
			}
		})
	}
	wg.Go(func() {
		for ctx.Err() == nil {
			c := clock.Load() - 300
			for _, id := range streams[:2] {
				if _, err := s.Expire(context.Background(), id, c); err != nil {
					t.Errorf("expire: %v", err)
					return
				}
			}
			cutoff.Store(c)
			time.Sleep(10 * time.Millisecond)
		}
	})
	wg.Go(func() {
		for ctx.Err() == nil {
			if err := s.Delete("c"); err != nil {
				t.Errorf("delete: %v", err)
				return
			}
			time.Sleep(30 * time.Millisecond)
		}
	})
	wg.Wait()
	if t.Failed() {
		return
	}

	s.Close()
	s = openStore(t, opts)
	for _, id := range streams[:2] {
		evs := readAll(t, s, id)
		first := checkWholeBatches(t, "after reopening, "+string(id), evs)
		kept := 0
		for _, a := range ackedBy[id] {
			if a.ts < cutoff.Load() {
				continue
			}
			kept++
			if got, ok := first[a.key]; !ok || got != a.first {
				t.Errorf("%s: acknowledged batch %s at seq %d: found at %d (%v)", id, a.key, a.first, got, ok)
			}
		}
		t.Logf("stream %s: %d batches acknowledged, %d not expired", id, len(ackedBy[id]), kept)
	}
	checkWholeBatches(t, "after reopening, c", readAll(t, s, "c"))
}

// TestManyStreams writes 10,000 streams with few open files allowed.
func TestManyStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 10,000 streams")
	}
	const streams, maxOpen, workers = 10000, 64, 64
	dir := t.TempDir()
	s := openStore(t, Options{Dir: dir, MaxOpenFiles: maxOpen})
	id := func(i int) StreamID { return StreamID(fmt.Sprintf("stream-%05d", i)) }
	parallel := func(fn func(i int)) {
		var wg sync.WaitGroup
		next := atomic.Int64{}
		for range workers {
			wg.Go(func() {
				for i := int(next.Add(1) - 1); i < streams; i = int(next.Add(1) - 1) {
					fn(i)
				}
			})
		}
		wg.Wait()
	}
	parallel(func(i int) {
		if _, err := s.Append(t.Context(), AppendRequest{Stream: id(i), Events: []Event{{int64(i), string(id(i))}}}); err != nil {
			t.Error(err)
		}
	})
	parallel(func(i int) {
		evs, _, err := s.Read(t.Context(), ReadRequest{Stream: id(i), Limit: 10})
		if err != nil || len(evs) != 1 || evs[0].Message != string(id(i)) {
			t.Errorf("%s: %v, %v", id(i), evs, err)
		}
	})
	s.files.mu.Lock()
	peak, open := s.files.peak, s.files.open
	s.files.mu.Unlock()
	// Files in use are never closed: at most one per parallel commit and
	// one per reader beyond the limit.
	if peak > maxOpen+maxParallelCommits+workers || open > maxOpen {
		t.Errorf("%d files open at most, %d now; limit %d", peak, open, maxOpen)
	}
	fds, _ := os.ReadDir("/proc/self/fd")
	t.Logf("peak %d open segment files, %d now; process has %d fds", peak, open, len(fds))
	if ids, err := s.Streams(); err != nil || len(ids) != streams {
		t.Errorf("Streams: %d, %v", len(ids), err)
	}
}
