package logdata

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestStreamIDValidate(t *testing.T) {
	for _, tc := range []struct {
		id StreamID
		ok bool
	}{
		{"a", true},
		{"Stream_01-x", true},
		{StreamID(strings.Repeat("z", 64)), true},
		{"", false},
		{StreamID(strings.Repeat("z", 65)), false},
		{"a/b", false},
		{"..", false},
		{"a.b", false},
		{"a b", false},
		{"é", false},
	} {
		err := tc.id.Validate()
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalidStreamID)) {
			t.Errorf("Validate(%q) = %v, want ok=%v", tc.id, err, tc.ok)
		}
	}
	s := openStore(t, Options{Dir: t.TempDir()})
	if _, err := s.Append(t.Context(), AppendRequest{Stream: "../x", Events: []Event{{1, "m"}}}); !errors.Is(err, ErrInvalidStreamID) {
		t.Errorf("Append to a bad id: %v", err)
	}
	if _, _, err := s.Read(t.Context(), ReadRequest{Stream: "a/b"}); !errors.Is(err, ErrInvalidStreamID) {
		t.Errorf("Read of a bad id: %v", err)
	}
}

func TestAppendValidation(t *testing.T) {
	s := openStore(t, Options{Dir: t.TempDir()})
	for name, req := range map[string]AppendRequest{
		"no events":           {Stream: "s"},
		"cursor, no producer": {Stream: "s", Events: []Event{{1, "m"}}, Cursor: "c"},
		"long producer":       {Stream: "s", Events: []Event{{1, "m"}}, Producer: strings.Repeat("p", MaxProducerBytes+1)},
		"long cursor":         {Stream: "s", Events: []Event{{1, "m"}}, Producer: "p", Cursor: strings.Repeat("c", MaxProducerBytes+1)},
		"too big":             {Stream: "s", Events: []Event{{1, strings.Repeat("m", maxBatchBytes)}}},
	} {
		if _, err := s.Append(t.Context(), req); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if st, err := s.Stats("s"); err != nil || st != (Stats{}) {
		t.Errorf("Stats after rejected appends = %+v, %v", st, err)
	}
}

func TestAppendReadStats(t *testing.T) {
	clock := newFakeClock()
	dir := t.TempDir()
	s := openStore(t, Options{Dir: dir, Now: clock.Now})
	if st, err := s.Stats("never"); err != nil || st != (Stats{}) {
		t.Fatalf("Stats of a stream never written = %+v, %v", st, err)
	}
	if evs, more, err := s.Read(t.Context(), ReadRequest{Stream: "never", Forward: true}); err != nil || len(evs) != 0 || more {
		t.Fatalf("Read of a stream never written = %v, %v, %v", evs, more, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "never")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("reading created a directory: %v", err)
	}
	var m model
	for i := range 3 {
		evs := []Event{{Timestamp: 100 + int64(i), Message: fmt.Sprintf("first %d", i)}, {Timestamp: 50, Message: "second"}}
		res := mustAppend(t, s, "s1", evs)
		if want := (AppendResult{FirstSeq: int64(2*i + 1), LastSeq: int64(2*i + 2)}); res != want {
			t.Fatalf("append %d = %+v, want %+v", i, res, want)
		}
		m.add(res, evs, clock.Now().UnixMilli())
		clock.Advance(time.Second)
	}
	got := readAll(t, s, "s1")
	if diff := cmp.Diff(m.events, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	want := m.stats()
	want.LastSeq = 6
	if st, err := s.Stats("s1"); err != nil || st != want {
		t.Errorf("Stats = %+v, %v; want %+v", st, err, want)
	}
	s.Close()
	s = openStore(t, Options{Dir: dir, Now: clock.Now})
	if got := readAll(t, s, "s1"); !cmp.Equal(m.events, got) {
		t.Errorf("after reopen: %v", cmp.Diff(m.events, got))
	}
	if st, err := s.Stats("s1"); err != nil || st != want {
		t.Errorf("Stats after reopen = %+v, %v; want %+v", st, err, want)
	}
	if ids, err := s.Streams(); err != nil || !slices.Equal(ids, []StreamID{"s1"}) {
		t.Errorf("Streams = %v, %v", ids, err)
	}
}

// buildRandomStream appends random batches, with timestamps mostly rising,
// some out of order, across many segments and spans, reopening the store
// midway so that some state comes from disk.
func buildRandomStream(t *testing.T, dir string, id StreamID, rng *rand.Rand, batches int) (*Store, *model) {
	clock := newFakeClock()
	opts := Options{Dir: dir, Now: clock.Now, SegmentBytes: 300 << 10}
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	m := &model{}
	ts := int64(1_000_000)
	for b := range batches {
		if b == batches/2 {
			s.Close()
			if s, err = Open(opts); err != nil {
				t.Fatal(err)
			}
		}
		evs := make([]Event, 1+rng.IntN(300))
		for i := range evs {
			ts += int64(rng.IntN(20))
			e := Event{Timestamp: ts + int64(rng.IntN(50)) - 25, Message: fmt.Sprintf("b%d-%d-%s", b, i, strings.Repeat("x", rng.IntN(200)))}
			if rng.IntN(100) == 0 {
				e.Timestamp = 1_000_000 + rng.Int64N(ts-1_000_000+1)
			}
			evs[i] = e
		}
		res := mustAppend(t, s, id, evs)
		m.add(res, evs, clock.Now().UnixMilli())
		clock.Advance(time.Millisecond * time.Duration(rng.IntN(1000)))
	}
	t.Cleanup(func() { s.Close() })
	return s, m
}

func randomReadRequest(rng *rand.Rand, id StreamID, m *model) ReadRequest {
	lastSeq := m.events[len(m.events)-1].Seq
	lo, hi := m.events[0].Timestamp, m.events[len(m.events)-1].Timestamp
	req := ReadRequest{Stream: id, Forward: rng.IntN(2) == 0, Limit: []int{0, 1, 7, 100, 1000}[rng.IntN(5)]}
	if rng.IntN(4) != 0 {
		req.From = rng.Int64N(lastSeq + 3)
	}
	if rng.IntN(2) == 0 {
		req.Start = lo + rng.Int64N(hi-lo+1)
	}
	if rng.IntN(2) == 0 {
		req.End = lo + rng.Int64N(hi-lo+1)
	}
	if rng.IntN(3) == 0 {
		req.NotBefore = lo + rng.Int64N(hi-lo+1)
	}
	if rng.IntN(3) == 0 {
		req.MaxBytes = []int{1, 500, 20000, 1 << 20}[rng.IntN(4)]
	}
	return req
}

func checkReads(t *testing.T, s *Store, id StreamID, m *model, rng *rand.Rand, n int) {
	t.Helper()
	for range n {
		req := randomReadRequest(rng, id, m)
		got, more, err := s.Read(t.Context(), req)
		if err != nil {
			t.Fatalf("Read(%+v): %v", req, err)
		}
		want, wantMore := m.read(req)
		if len(want) != len(got) || len(want) > 0 && !slices.Equal(want, got) || more != wantMore {
			t.Fatalf("Read(%+v) = %d events, more %v; want %d events, more %v\n%s", req, len(got), more, len(want), wantMore,
				cmp.Diff(want, got))
		}
	}
}

func TestReadMatchesModel(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	dir := t.TempDir()
	s, m := buildRandomStream(t, dir, "r", rng, 400)
	st, _ := s.stream("r")
	if len(st.segs) < 4 || len(st.segs[0].spans) < 2 {
		t.Fatalf("want several segments of several spans, have %d segments", len(st.segs))
	}
	checkReads(t, s, "r", m, rng, 800)

	want := m.stats()
	want.LastSeq = m.events[len(m.events)-1].Seq
	if got, err := s.Stats("r"); err != nil || got != want {
		t.Errorf("Stats = %+v, %v; want %+v", got, err, want)
	}

	// Expire rewrites segments; reads must still match.
	cutoff := m.events[len(m.events)/3].Timestamp
	if _, err := s.Expire(t.Context(), "r", cutoff); err != nil {
		t.Fatal(err)
	}
	m.expire(cutoff)
	checkReads(t, s, "r", m, rng, 400)
	want = m.stats()
	want.LastSeq = m.events[len(m.events)-1].Seq
	if got, err := s.Stats("r"); err != nil || got != want {
		t.Errorf("Stats after Expire = %+v, %v; want %+v", got, err, want)
	}
}

func TestReadPagination(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	s, m := buildRandomStream(t, t.TempDir(), "p", rng, 100)
	for _, tc := range []struct {
		name    string
		forward bool
		limit   int
		start   int64
	}{
		{"forward by 1", true, 1, 0},
		{"forward by 333", true, 333, 0},
		{"backward by 50", false, 50, 0},
		{"backward by 1000 from a time", false, 1000, m.events[len(m.events)/2].Timestamp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []StoredEvent
			from := int64(0)
			for pages := 0; ; pages++ {
				evs, more, err := s.Read(t.Context(), ReadRequest{Stream: "p", From: from, Forward: tc.forward, Limit: tc.limit, Start: tc.start})
				if err != nil {
					t.Fatal(err)
				}
				if tc.forward {
					got = append(got, evs...)
				} else {
					got = append(slices.Clone(evs), got...)
				}
				if !more {
					break
				}
				if len(evs) != tc.limit {
					t.Fatalf("page %d: %d events and more", pages, len(evs))
				}
				if tc.forward {
					from = evs[len(evs)-1].Seq + 1
				} else {
					from = evs[0].Seq
				}
			}
			want, _ := m.read(ReadRequest{Forward: true, Start: tc.start, Limit: len(m.events)})
			if !cmp.Equal(want, got) {
				t.Errorf("pages differ from the stream: %s", cmp.Diff(want, got))
			}
		})
	}
}

func TestReadEdges(t *testing.T) {
	s := openStore(t, Options{Dir: t.TempDir()})
	// Seqs 1..10 with timestamps 10, 20, ..., 100 and 10-byte messages.
	var evs []Event
	for i := range 10 {
		evs = append(evs, Event{Timestamp: int64(10 * (i + 1)), Message: fmt.Sprintf("message-%02d", i+1)})
	}
	mustAppend(t, s, "e", evs[:4])
	mustAppend(t, s, "e", evs[4:])
	seqs := func(evs []StoredEvent) []int64 {
		var out []int64
		for _, e := range evs {
			out = append(out, e.Seq)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		req  ReadRequest
		want []int64
		more bool
	}{
		{"oldest page", ReadRequest{Forward: true, From: 1, Limit: 3}, []int64{1, 2, 3}, true},
		{"from 0 is from 1", ReadRequest{Forward: true, Limit: 2}, []int64{1, 2}, true},
		{"newest page", ReadRequest{Limit: 3}, []int64{8, 9, 10}, true},
		{"everything", ReadRequest{Forward: true}, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, false},
		{"exactly the rest", ReadRequest{Forward: true, From: 8, Limit: 3}, []int64{8, 9, 10}, false},
		{"past the end", ReadRequest{Forward: true, From: 11}, nil, false},
		{"backward before 4", ReadRequest{From: 4, Limit: 10}, []int64{1, 2, 3}, false},
		{"backward before 4 by 2", ReadRequest{From: 4, Limit: 2}, []int64{2, 3}, true},
		{"backward before 1", ReadRequest{From: 1}, nil, false},
		{"backward past the end", ReadRequest{From: 100, Limit: 1}, []int64{10}, true},
		{"time range", ReadRequest{Forward: true, Start: 30, End: 60}, []int64{3, 4, 5}, false},
		{"time range backward", ReadRequest{Start: 30, End: 60, Limit: 2}, []int64{4, 5}, true},
		{"end is exclusive", ReadRequest{Forward: true, End: 10}, nil, false},
		{"not before", ReadRequest{Forward: true, NotBefore: 85}, []int64{9, 10}, false},
		{"not before beats start", ReadRequest{Forward: true, Start: 20, NotBefore: 95, Limit: 1}, []int64{10}, false},
		{"more only counts matches", ReadRequest{Forward: true, End: 30, Limit: 2}, []int64{1, 2}, false},
		{"max bytes", ReadRequest{Forward: true, MaxBytes: 3 * (10 + 26)}, []int64{1, 2, 3}, true},
		{"max bytes backward", ReadRequest{MaxBytes: 2*36 + 35}, []int64{9, 10}, true},
		{"max bytes below one event", ReadRequest{Forward: true, From: 10, MaxBytes: 1}, []int64{10}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Stream = "e"
			got, more, err := s.Read(t.Context(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(seqs(got), tc.want) || more != tc.more {
				t.Errorf("got %v more %v, want %v more %v", seqs(got), more, tc.want, tc.more)
			}
		})
	}
}

func TestProducerCursor(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock()
	opts := Options{Dir: dir, Now: clock.Now, SegmentBytes: 4 << 10}
	s := openStore(t, opts)
	ev := []Event{{Timestamp: 1, Message: strings.Repeat("m", 1000)}}
	type step struct {
		producer, after, cursor string
		stored                  string // "" and ok: success; else the mismatch's Stored
		ok                      bool
		reopen                  bool
	}
	for i, tc := range []step{
		{producer: "p", after: "", cursor: "c1", ok: true},
		{producer: "p", after: "", cursor: "c1", stored: "c1"}, // the retry of a success
		{producer: "p", after: "c1", cursor: "c2", ok: true},
		{producer: "q", after: "c2", cursor: "x", stored: ""},
		{producer: "q", after: "", cursor: "q1", ok: true, reopen: true},
		{producer: "p", after: "c1", cursor: "c3", stored: "c2"},
		{producer: "p", after: "c2", cursor: "c3", ok: true},
		{producer: "", ok: true, reopen: true},
		{producer: "p", after: "c3", cursor: "", ok: true},
		{producer: "p", after: "", cursor: "c4", ok: true, reopen: true},
	} {
		if tc.reopen {
			s.Close()
			s = openStore(t, opts)
		}
		before, _ := s.Stats("s")
		_, err := s.Append(t.Context(), AppendRequest{Stream: "s", Events: ev, Producer: tc.producer, After: tc.after, Cursor: tc.cursor})
		after, _ := s.Stats("s")
		var mis *CursorMismatchError
		switch {
		case tc.ok && err != nil:
			t.Fatalf("step %d: %v", i, err)
		case !tc.ok && (!errors.As(err, &mis) || !errors.Is(err, ErrCursorMismatch) || mis.Stored != tc.stored):
			t.Fatalf("step %d: err %v, want a mismatch with stored %q", i, err, tc.stored)
		case !tc.ok && after.Events != before.Events:
			t.Fatalf("step %d: a mismatch stored events", i)
		}
	}
	check := func(when string) {
		t.Helper()
		for p, want := range map[string]string{"p": "c4", "q": "q1", "r": ""} {
			if got, err := s.ProducerCursor("s", p); err != nil || got != want {
				t.Errorf("%s: ProducerCursor(%s) = %q, %v; want %q", when, p, got, err, want)
			}
		}
	}
	check("end")
	st, _ := s.stream("s")
	if len(st.segs) < 3 {
		t.Fatalf("want several segments, have %d", len(st.segs))
	}
	// Expiring everything leaves the cursors and the sequence.
	last, _ := s.Stats("s")
	if _, err := s.Expire(t.Context(), "s", 100); err != nil {
		t.Fatal(err)
	}
	check("after expiring all")
	s.Close()
	s = openStore(t, opts)
	check("after expiring all and reopening")
	if got, _ := s.Stats("s"); got.Events != 0 || got.LastSeq != last.LastSeq {
		t.Errorf("Stats after expiring all = %+v, want no events and LastSeq %d", got, last.LastSeq)
	}
	if res := mustAppend(t, s, "s", ev); res.FirstSeq != last.LastSeq+1 {
		t.Errorf("append after expiring all got seq %d, want %d", res.FirstSeq, last.LastSeq+1)
	}
}

// Concurrent conditional appends of one producer: exactly one wins each
// cursor, whether they share a commit round or not.
func TestProducerCursorConcurrent(t *testing.T) {
	s := openStore(t, Options{Dir: t.TempDir()})
	const rounds, racers = 20, 8
	for r := range rounds {
		after, cursor := fmt.Sprint(r), fmt.Sprint(r+1)
		if r == 0 {
			after = ""
		}
		errs := make(chan error, racers)
		for range racers {
			go func() {
				_, err := s.Append(t.Context(), AppendRequest{Stream: "c", Events: []Event{{1, "m"}}, Producer: "p", After: after, Cursor: cursor})
				errs <- err
			}()
		}
		wins := 0
		for range racers {
			err := <-errs
			var mis *CursorMismatchError
			switch {
			case err == nil:
				wins++
			case !errors.As(err, &mis) || mis.Stored != cursor:
				t.Fatalf("round %d: %v", r, err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d appends won", r, wins)
		}
	}
	if st, _ := s.Stats("c"); st.Events != rounds {
		t.Errorf("%d events stored, want %d", st.Events, rounds)
	}
}

func segmentFiles(t *testing.T, dir string, ext string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*"+ext))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestRollBySizeAndAge(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock()
	s := openStore(t, Options{Dir: dir, Now: clock.Now, SegmentBytes: 10 << 10, SegmentMaxAge: time.Hour})
	sdir := filepath.Join(dir, "s")
	ev := []Event{{Timestamp: 1, Message: strings.Repeat("m", 3000)}}
	for _, tc := range []struct {
		advance  time.Duration
		segments int
	}{
		{0, 1},
		{30 * time.Minute, 1},
		{29 * time.Minute, 1}, // 3 batches, 9 KiB
		{0, 2},                // size
		{59 * time.Minute, 2}, // age counts from the segment's first write
		{time.Minute, 3},      // an hour since
		{2 * time.Hour, 4},
	} {
		clock.Advance(tc.advance)
		mustAppend(t, s, "s", ev)
		if got := len(segmentFiles(t, sdir, ".seg")); got != tc.segments {
			t.Fatalf("after advancing %v: %d segments, want %d", tc.advance, got, tc.segments)
		}
		if got := len(segmentFiles(t, sdir, ".idx")); got != tc.segments-1 {
			t.Fatalf("after advancing %v: %d indexes, want %d", tc.advance, got, tc.segments-1)
		}
	}
	if got := len(readAll(t, s, "s")); got != 7 {
		t.Errorf("%d events, want 7", got)
	}
}

func TestOpenDoesNotScanSealedSegments(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, SegmentBytes: 4 << 10}
	s := openStore(t, opts)
	var m model
	for i := range 200 {
		evs := makeEvents(fmt.Sprint(i), 20, int64(i*100), nil)
		m.add(mustAppend(t, s, "big", evs), evs, 0)
		if _, err := s.Append(t.Context(), AppendRequest{Stream: "big", Events: evs[:1], Producer: "p", After: cursorName(i), Cursor: cursorName(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	segs := segmentFiles(t, filepath.Join(dir, "big"), ".seg")
	if len(segs) < 10 {
		t.Fatalf("%d segments", len(segs))
	}
	// Garble a sealed segment in the middle: opening must not notice.
	mid := segs[len(segs)/2]
	b, err := os.ReadFile(mid)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(mid, b, 0o640); err != nil {
		t.Fatal(err)
	}

	before := segmentScans.Load()
	s = openStore(t, opts)
	st, err := s.Stats("big")
	if err != nil || st.LastSeq != 200*21 {
		t.Fatalf("Stats = %+v, %v", st, err)
	}
	if c, err := s.ProducerCursor("big", "p"); err != nil || c != "200" {
		t.Errorf("ProducerCursor = %q, %v", c, err)
	}
	newest, _, err := s.Read(t.Context(), ReadRequest{Stream: "big", Limit: 100})
	if err != nil || len(newest) != 100 || newest[99].Seq != st.LastSeq {
		t.Errorf("newest page: %d events, %v", len(newest), err)
	}
	oldest, _, err := s.Read(t.Context(), ReadRequest{Stream: "big", Forward: true, Limit: 100})
	if err != nil || len(oldest) != 100 || oldest[0].Seq != 1 {
		t.Errorf("oldest page: %d events, %v", len(oldest), err)
	}
	if scans := segmentScans.Load() - before; scans != 1 {
		t.Errorf("%d segments scanned, want 1 (the active one)", scans)
	}
	// The damage shows when it is read.
	if err := s.Scan(t.Context(), "big", 0, 0, 0, 0, func(StoredEvent) bool { return true }); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Scan over a garbled segment: %v", err)
	}
}

func TestIndexRecovery(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, idx string)
	}{
		{"missing", func(t *testing.T, idx string) { os.Remove(idx) }},
		{"garbled", func(t *testing.T, idx string) {
			b, _ := os.ReadFile(idx)
			b[len(b)/2] ^= 1
			os.WriteFile(idx, b, 0o640)
		}},
		{"truncated", func(t *testing.T, idx string) { os.Truncate(idx, 50) }},
		{"empty", func(t *testing.T, idx string) { os.Truncate(idx, 0) }},
		{"of another segment", func(t *testing.T, idx string) {
			others := segmentFiles(t, filepath.Dir(idx), ".idx")
			b, _ := os.ReadFile(others[0])
			os.WriteFile(idx, b, 0o640)
		}},
		{"leftover temporary files", func(t *testing.T, idx string) {
			os.WriteFile(idx+".tmp", []byte("junk"), 0o640)
			os.WriteFile(filepath.Join(filepath.Dir(idx), segmentName(1<<40)+".tmp"), []byte("junk"), 0o640)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{Dir: dir, SegmentBytes: 8 << 10}
			s := openStore(t, opts)
			rng := rand.New(rand.NewPCG(1, 2))
			var m model
			for i := range 30 {
				evs := makeEvents(fmt.Sprint(i), 10, int64(i*10), rng)
				m.add(mustAppend(t, s, "s", evs), evs, s.opts.Now().UnixMilli())
			}
			want := readAll(t, s, "s")
			s.Close()
			idxs := segmentFiles(t, filepath.Join(dir, "s"), ".idx")
			tc.damage(t, idxs[len(idxs)/2])
			s = openStore(t, opts)
			if got := readAll(t, s, "s"); !cmp.Equal(want, got) {
				t.Errorf("events differ: %s", cmp.Diff(want, got))
			}
			if res := mustAppend(t, s, "s", []Event{{1, "more"}}); res.FirstSeq != 301 {
				t.Errorf("next append got seq %d", res.FirstSeq)
			}
			if tmps := segmentFiles(t, filepath.Join(dir, "s"), ".tmp"); len(tmps) != 0 {
				t.Errorf("temporary files left: %v", tmps)
			}
			if got := len(segmentFiles(t, filepath.Join(dir, "s"), ".idx")); got != len(idxs) {
				t.Errorf("%d indexes, want %d", got, len(idxs))
			}
		})
	}
}

func TestTornTail(t *testing.T) {
	for _, tc := range []struct {
		name string
		// damage changes the active segment, whose last batch starts at
		// lastOff; keptLast tells whether that batch survives.
		damage   func(f *os.File, lastOff, size int64) error
		keptLast bool
	}{
		{"cut mid batch", func(f *os.File, lastOff, size int64) error { return f.Truncate(size - 10) }, false},
		{"cut in the batch header", func(f *os.File, lastOff, size int64) error { return f.Truncate(lastOff + 20) }, false},
		{"cut after the CRC", func(f *os.File, lastOff, size int64) error { return f.Truncate(lastOff + 4) }, false},
		{"garbled message", func(f *os.File, lastOff, size int64) error {
			_, err := f.WriteAt([]byte("X"), size-3)
			return err
		}, false},
		{"garbled length", func(f *os.File, lastOff, size int64) error {
			_, err := f.WriteAt([]byte{0xff, 0xff, 0xff, 0x7f}, lastOff+4)
			return err
		}, false},
		{"garbled count", func(f *os.File, lastOff, size int64) error {
			_, err := f.WriteAt([]byte{0xff, 0xff}, lastOff+8)
			return err
		}, false},
		{"zeros after the end", func(f *os.File, lastOff, size int64) error {
			_, err := f.WriteAt(make([]byte, 8192), size)
			return err
		}, true},
		{"garbage after the end", func(f *os.File, lastOff, size int64) error {
			junk := make([]byte, 1000)
			for i := range junk {
				junk[i] = byte(i*7 + 3)
			}
			_, err := f.WriteAt(junk, size)
			return err
		}, true},
		{"a whole batch copied after the end", func(f *os.File, lastOff, size int64) error {
			b := make([]byte, size-lastOff)
			if _, err := f.ReadAt(b, lastOff); err != nil {
				return err
			}
			_, err := f.WriteAt(b, size) // same seq again: not a continuation
			return err
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openStore(t, Options{Dir: dir})
			var m model
			var lastOff int64
			for i := range 3 {
				if i == 2 {
					st, _ := s.stream("s")
					lastOff = st.active.size
				}
				evs := makeEvents(fmt.Sprint(i), 5, int64(i*10), nil)
				res, err := s.Append(t.Context(), AppendRequest{Stream: "s", Events: evs, Producer: "p", After: cursorName(i), Cursor: cursorName(i + 1)})
				if err != nil {
					t.Fatal(err)
				}
				if i < 2 || tc.keptLast {
					m.add(res, evs, s.opts.Now().UnixMilli())
				}
			}
			s.Close()
			seg := filepath.Join(dir, "s", segmentName(1))
			f, err := os.OpenFile(seg, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			fi, _ := f.Stat()
			if err := tc.damage(f, lastOff, fi.Size()); err != nil {
				t.Fatal(err)
			}
			f.Close()

			s = openStore(t, Options{Dir: dir})
			got := readAll(t, s, "s")
			if !cmp.Equal(m.events, got, cmp.Comparer(func(a, b StoredEvent) bool {
				return a.Seq == b.Seq && a.Timestamp == b.Timestamp && a.Message == b.Message
			})) {
				t.Errorf("events after recovery (-want +got):\n%s", cmp.Diff(m.events, got))
			}
			wantSize := lastOff
			if tc.keptLast {
				wantSize = fi.Size()
			}
			if fi, _ := os.Stat(seg); fi.Size() != wantSize {
				t.Errorf("segment is %d bytes, want %d", fi.Size(), wantSize)
			}
			wantCursor := map[bool]string{false: "2", true: "3"}[tc.keptLast]
			if c, _ := s.ProducerCursor("s", "p"); c != wantCursor {
				t.Errorf("cursor %q, want %q", c, wantCursor)
			}
			res := mustAppend(t, s, "s", []Event{{100, "after"}})
			if want := int64(len(m.events) + 1); res.FirstSeq != want {
				t.Errorf("next seq %d, want %d", res.FirstSeq, want)
			}
			s.Close()
			s = openStore(t, Options{Dir: dir})
			if got := readAll(t, s, "s"); len(got) != len(m.events)+1 {
				t.Errorf("%d events after appending and reopening", len(got))
			}
		})
	}
}

func TestExpire(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, SegmentBytes: 2 << 10}
	s := openStore(t, opts)
	var m model
	// Timestamps rise by batch; one batch interleaves old and new events so
	// that expiring it leaves runs of non-consecutive seqs.
	for i := range 60 {
		evs := makeEvents(fmt.Sprint(i), 20, int64(i*100), nil)
		if i == 30 {
			for j := range evs {
				if j%3 == 0 {
					evs[j].Timestamp = 5
				}
			}
		}
		if i == 59 {
			evs[0].Timestamp = 1 // an expired event in the active segment
		}
		m.add(mustAppend(t, s, "x", evs), evs, s.opts.Now().UnixMilli())
	}
	if _, err := s.Append(t.Context(), AppendRequest{Stream: "x", Events: []Event{{6000, "cursor"}}, Producer: "p", Cursor: "c"}); err != nil {
		t.Fatal(err)
	}
	m.add(AppendResult{FirstSeq: 1201, LastSeq: 1201}, []Event{{6000, "cursor"}}, 0)
	sdir := filepath.Join(dir, "x")
	size := func() int64 {
		var n int64
		for _, p := range append(segmentFiles(t, sdir, ".seg"), segmentFiles(t, sdir, ".idx")...) {
			n += fileSize(p)
		}
		return n
	}
	check := func(when string) {
		t.Helper()
		got := readAll(t, s, "x")
		if !cmp.Equal(m.events, got, cmpopts.EquateEmpty(), cmp.Comparer(func(a, b StoredEvent) bool {
			return a.Seq == b.Seq && a.Timestamp == b.Timestamp && a.Message == b.Message
		})) {
			t.Fatalf("%s (-want +got):\n%s", when, cmp.Diff(m.events, got))
		}
		st, _ := s.Stats("x")
		want := m.stats()
		if st.Events != want.Events || st.StoredBytes != want.StoredBytes || st.FirstEventTimestamp != want.FirstEventTimestamp || st.LastSeq != 1201 {
			t.Fatalf("%s: Stats %+v, want %+v", when, st, want)
		}
	}
	for _, cutoff := range []int64{0, 1, 2, 1000, 2550, 3010, 3100, 5950, 7000} {
		before := size()
		freed, err := s.Expire(t.Context(), "x", cutoff)
		if err != nil {
			t.Fatal(err)
		}
		if after := size(); freed != max(0, before-after) {
			t.Errorf("cutoff %d: freed %d, files shrank by %d", cutoff, freed, before-after)
		}
		m.expire(cutoff)
		check(fmt.Sprintf("after expiring before %d", cutoff))
		s.Close()
		s = openStore(t, opts)
		check(fmt.Sprintf("after expiring before %d and reopening", cutoff))
		if c, _ := s.ProducerCursor("x", "p"); c != "c" {
			t.Fatalf("cursor %q", c)
		}
	}
	if n := len(segmentFiles(t, sdir, ".seg")); n != 1 {
		t.Errorf("%d segments left after expiring all", n)
	}
	if res := mustAppend(t, s, "x", []Event{{8000, "new"}}); res.FirstSeq != 1202 {
		t.Errorf("next seq %d", res.FirstSeq)
	}
}

func TestDelete(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, Options{Dir: dir, SegmentBytes: 4 << 10})
	for i := range 20 {
		mustAppend(t, s, "a", makeEvents(fmt.Sprint(i), 10, 0, nil))
		mustAppend(t, s, "b", makeEvents(fmt.Sprint(i), 10, 0, nil))
	}
	if err := s.Delete("a"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("never"); err != nil {
		t.Fatal(err)
	}
	if ids, _ := s.Streams(); !slices.Equal(ids, []StreamID{"b"}) {
		t.Errorf("Streams = %v", ids)
	}
	if st, _ := s.Stats("a"); st != (Stats{}) {
		t.Errorf("Stats after Delete = %+v", st)
	}
	if res := mustAppend(t, s, "a", []Event{{1, "again"}}); res.FirstSeq != 1 {
		t.Errorf("a deleted stream starts again at %d", res.FirstSeq)
	}
	s.Close()
	s = openStore(t, Options{Dir: dir})
	if got := readAll(t, s, "a"); len(got) != 1 {
		t.Errorf("%d events after reopen", len(got))
	}
	if got := readAll(t, s, "b"); len(got) != 200 {
		t.Errorf("%d events of b", len(got))
	}
}

func TestClose(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Options{Dir: dir}); err == nil {
		t.Fatal("a second store opened the same directory")
	}
	mustAppend(t, s, "a", []Event{{1, "m"}})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(context.Background(), AppendRequest{Stream: "a", Events: []Event{{1, "m"}}}); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: %v", err)
	}
	if _, _, err := s.Read(context.Background(), ReadRequest{Stream: "a"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Read after Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	s = openStore(t, Options{Dir: dir})
	if got := readAll(t, s, "a"); len(got) != 1 {
		t.Errorf("%d events after reopening", len(got))
	}
}

// A crash between sealing a segment and starting the next leaves only
// sealed segments: their index must carry the sequence and the cursors.
func TestOnlySealedSegments(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, Options{Dir: dir, SegmentBytes: 1 << 10})
	for i := range 10 {
		if _, err := s.Append(t.Context(), AppendRequest{Stream: "s", Events: makeEvents(fmt.Sprint(i), 5, int64(i), nil),
			Producer: "p", After: cursorName(i), Cursor: cursorName(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	// Seal the active segment as a roll or Expire would, without its successor.
	st, _ := s.stream("s")
	st.writeMu.Lock()
	if err := s.seal(st); err != nil {
		t.Fatal(err)
	}
	st.writeMu.Unlock()
	s.Close()
	sdir := filepath.Join(dir, "s")
	if segs, idxs := segmentFiles(t, sdir, ".seg"), segmentFiles(t, sdir, ".idx"); len(segs) != len(idxs) {
		t.Fatalf("%d segments, %d indexes", len(segs), len(idxs))
	}
	s = openStore(t, Options{Dir: dir})
	if c, _ := s.ProducerCursor("s", "p"); c != "10" {
		t.Errorf("cursor %q", c)
	}
	if stats, _ := s.Stats("s"); stats.LastSeq != 50 || stats.Events != 50 {
		t.Errorf("Stats %+v", stats)
	}
	// Expire keeps the last segment until an active one follows it.
	if _, err := s.Expire(t.Context(), "s", 1000); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openStore(t, Options{Dir: dir})
	if stats, _ := s.Stats("s"); stats.LastSeq != 50 || stats.Events != 0 {
		t.Errorf("Stats after expiring all %+v", stats)
	}
	if _, err := s.Append(t.Context(), AppendRequest{Stream: "s", Events: []Event{{1, "m"}}, Producer: "p", After: "10", Cursor: "11"}); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s, "s"); len(got) != 1 || got[0].Seq != 51 {
		t.Errorf("events %+v", got)
	}
}

// TestGarbageFiles opens streams whose files are garbage: calls may fail,
// but must not panic, and a torn tail must not stop the stream.
func TestGarbageFiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	junk := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	hdr := encodeSegmentHeader(1, nil)
	for _, tc := range []struct {
		name  string
		files map[string][]byte
	}{
		{"empty segment", map[string][]byte{segmentName(1): {}}},
		{"garbage segment", map[string][]byte{segmentName(1): junk(5000)}},
		{"header only, wrong base", map[string][]byte{segmentName(7): hdr}},
		{"header and garbage", map[string][]byte{segmentName(1): append(slices.Clone(hdr), junk(3000)...)}},
		{"garbage sealed segment and index", map[string][]byte{segmentName(1): junk(100), indexName(1): junk(100), segmentName(50): hdr}},
		{"garbage index only", map[string][]byte{indexName(3): junk(100)}},
		{"bad names", map[string][]byte{"x.seg": junk(10), "0.seg": junk(10), "00000000000000000000.seg": junk(10)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			sdir := filepath.Join(dir, "g")
			if err := os.Mkdir(sdir, 0o750); err != nil {
				t.Fatal(err)
			}
			for name, b := range tc.files {
				if err := os.WriteFile(filepath.Join(sdir, name), b, 0o640); err != nil {
					t.Fatal(err)
				}
			}
			s := openStore(t, Options{Dir: dir})
			_, serr := s.Stats("g")
			_, _, rerr := s.Read(t.Context(), ReadRequest{Stream: "g"})
			_, aerr := s.Append(t.Context(), AppendRequest{Stream: "g", Events: []Event{{1, "m"}}})
			_, eerr := s.Expire(t.Context(), "g", 10)
			t.Logf("stats: %v; read: %v; append: %v; expire: %v", serr, rerr, aerr, eerr)
		})
	}
}

func TestAppendCanceled(t *testing.T) {
	s := openStore(t, Options{Dir: t.TempDir()})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Append(ctx, AppendRequest{Stream: "a", Events: []Event{{1, "m"}}}); !errors.Is(err, context.Canceled) {
		t.Errorf("Append with a canceled context: %v", err)
	}
	if st, _ := s.Stats("a"); st.Events != 0 {
		t.Errorf("a canceled append was stored")
	}
}

// cursorName is the producer cursor after i appends: "" for none.
func cursorName(i int) string {
	if i == 0 {
		return ""
	}
	return fmt.Sprint(i)
}
