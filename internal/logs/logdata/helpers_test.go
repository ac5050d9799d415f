package logdata

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.UnixMilli(1_700_000_000_000)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openStore(t testing.TB, opts Options) *Store {
	t.Helper()
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustAppend(t testing.TB, s *Store, id StreamID, events []Event) AppendResult {
	t.Helper()
	res, err := s.Append(context.Background(), AppendRequest{Stream: id, Events: events})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// makeEvents returns n events with timestamps from ts on and distinct
// messages of varying length.
func makeEvents(tag string, n int, ts int64, rng *rand.Rand) []Event {
	evs := make([]Event, n)
	for i := range evs {
		msg := fmt.Sprintf("%s-%d ", tag, i)
		if rng != nil {
			for range rng.IntN(200) {
				msg += string(rune('a' + rng.IntN(26)))
			}
		}
		evs[i] = Event{Timestamp: ts + int64(i), Message: msg}
	}
	return evs
}

// model is what a stream should hold, for comparing reads against.
type model struct{ events []StoredEvent }

func (m *model) add(res AppendResult, evs []Event, ingest int64) {
	for i, e := range evs {
		m.events = append(m.events, StoredEvent{Seq: res.FirstSeq + int64(i), Timestamp: e.Timestamp, IngestionTime: ingest, Message: e.Message})
	}
}

func (m *model) expire(cutoff int64) {
	m.events = slices.DeleteFunc(m.events, func(e StoredEvent) bool { return e.Timestamp < cutoff })
}

// read is Read done the obvious way.
func (m *model) read(req ReadRequest) ([]StoredEvent, bool) {
	tf := newTimeFilter(req.Start, req.End, req.NotBefore)
	limit := req.Limit
	if limit <= 0 {
		limit = DefaultReadLimit
	}
	var out []StoredEvent
	size := 0
	take := func(e StoredEvent) (stop bool) {
		if !tf.match(e.Timestamp) {
			return false
		}
		n := len(e.Message) + StoredBytesPerEvent
		if len(out) == limit || req.MaxBytes > 0 && len(out) > 0 && size+n > req.MaxBytes {
			return true
		}
		size += n
		out = append(out, e)
		return false
	}
	if req.Forward {
		for _, e := range m.events {
			if e.Seq >= req.From && take(e) {
				return out, true
			}
		}
		return out, false
	}
	defer func() { slices.Reverse(out) }()
	for i := len(m.events) - 1; i >= 0; i-- {
		if e := m.events[i]; (req.From <= 0 || e.Seq < req.From) && take(e) {
			return out, true
		}
	}
	return out, false
}

func (m *model) stats() Stats {
	var st Stats
	for i, e := range m.events {
		if i == 0 {
			st.FirstEventTimestamp, st.LastEventTimestamp = e.Timestamp, e.Timestamp
		}
		st.Events++
		st.StoredBytes += int64(len(e.Message)) + StoredBytesPerEvent
		st.FirstEventTimestamp = min(st.FirstEventTimestamp, e.Timestamp)
		st.LastEventTimestamp = max(st.LastEventTimestamp, e.Timestamp)
		st.LastIngestionTime = max(st.LastIngestionTime, e.IngestionTime)
	}
	return st
}

func readAll(t testing.TB, s *Store, id StreamID) []StoredEvent {
	t.Helper()
	var out []StoredEvent
	if err := s.Scan(context.Background(), id, 0, 0, 0, 0, func(e StoredEvent) bool {
		out = append(out, e)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return out
}
