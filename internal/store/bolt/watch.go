package bolt

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	bbolt "go.etcd.io/bbolt"

	"github.com/berth/berth/internal/store"
)

// historyChunk is how many revisions a catching-up watcher reads per bolt
// read transaction; short transactions keep writers from stalling when bolt
// needs to grow its memory map.
const historyChunk = 512

// outBuffer is the capacity of a watch channel. The real backlog lives in
// the watcher's queue, where it can be bounded per revision.
const outBuffer = 64

// revision is the events of one committed revision.
type revision struct {
	rev    int64
	events []store.Event
}

// hub fans committed revisions out to watchers, in revision order. Writers
// only append to bounded per-watcher queues, so a slow reader never blocks
// them.
type hub struct {
	mu        sync.Mutex
	published int64 // every revision up to this one has been fanned out
	// pending holds revisions whose commit finished before an earlier
	// revision's did: concurrent Txn callers return from the same or
	// successive batches in any order.
	pending  map[int64][]store.Event
	watchers map[*watcher]struct{}
	backlog  int
}

func newHub(rev int64, backlog int) *hub {
	return &hub{published: rev, pending: map[int64][]store.Event{}, watchers: map[*watcher]struct{}{}, backlog: backlog}
}

// publish is called once per committed revision that changed something.
func (h *hub) publish(rev int64, evs []store.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if rev != h.published+1 {
		h.pending[rev] = evs
		return
	}
	for {
		for w := range h.watchers {
			w.offer(rev, evs, h.backlog)
		}
		h.published = rev
		rev++
		next, ok := h.pending[rev]
		if !ok {
			return
		}
		delete(h.pending, rev)
		evs = next
	}
}

// add registers w and returns the revision after which w receives
// everything live; earlier revisions must come from the history.
func (h *hub) add(w *watcher) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.watchers[w] = struct{}{}
	return h.published
}

func (h *hub) remove(w *watcher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.watchers, w)
}

type watcher struct {
	prefix string
	out    chan store.Event
	wake   chan struct{} // capacity 1: "the queue changed"

	mu    sync.Mutex
	queue []revision
	// queued counts events offered but not yet handed to out, including
	// those taken from queue and being sent.
	queued int
	// overflowed is set instead of queueing a revision that would exceed the
	// backlog. Everything queued before it is still delivered, so the stream
	// ends on a revision boundary and resuming from its last revision loses
	// nothing.
	overflowed bool
}

func newWatcher(prefix string) *watcher {
	return &watcher{prefix: prefix, out: make(chan store.Event, outBuffer), wake: make(chan struct{}, 1)}
}

func (w *watcher) offer(rev int64, evs []store.Event, backlog int) {
	matched := evs
	if w.prefix != "" {
		matched = nil
		for _, ev := range evs {
			if strings.HasPrefix(ev.KV.Key, w.prefix) {
				matched = append(matched, ev)
			}
		}
	}
	if len(matched) == 0 {
		return
	}
	w.mu.Lock()
	// One revision larger than the whole backlog is still accepted into an
	// empty queue, or such a watcher could never get past it.
	switch {
	case w.overflowed:
	case w.queued > 0 && w.queued+len(matched) > backlog:
		w.overflowed = true
	default:
		w.queue = append(w.queue, revision{rev: rev, events: matched})
		w.queued += len(matched)
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// take empties the queue.
func (w *watcher) take() ([]revision, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	q := w.queue
	w.queue = nil
	return q, w.overflowed
}

// sent releases n events of backlog.
func (w *watcher) sent(n int) {
	w.mu.Lock()
	w.queued -= n
	w.mu.Unlock()
}

// errFellBehind means history the watcher still needed was compacted while
// it was catching up.
var errFellBehind = errors.New("watcher fell behind compaction")

// runWatcher replays history after from up to live, where the hub's live
// feed took over, then forwards the live feed until ctx ends, the store
// closes or the watcher overflows.
func (s *Store) runWatcher(ctx context.Context, w *watcher, from, live int64) {
	defer func() {
		s.hub.remove(w)
		close(w.out)
		s.metrics.watchers.Dec()
		s.wg.Done()
	}()
	// Live values are copied per delivery: every watcher shares the
	// committed events, and a reader modifying its slice must not affect the
	// others. History is decoded into fresh memory already.
	send := func(evs []store.Event, shared bool) bool {
		for _, ev := range evs {
			if shared && ev.KV.Value != nil {
				ev.KV.Value = append([]byte{}, ev.KV.Value...)
			}
			select {
			case w.out <- ev:
			case <-ctx.Done():
				return false
			case <-s.done:
				return false
			}
		}
		return true
	}
	last := from
	for last < live {
		revs, upTo, err := s.readHistory(last, live, w.prefix)
		if err != nil {
			s.log.Warn("store: closing watch stream", "prefix", w.prefix, "revision", last, "err", err)
			return
		}
		for _, r := range revs {
			if !send(r.events, false) {
				return
			}
		}
		last = upTo
	}
	for {
		q, overflowed := w.take()
		for _, r := range q {
			if r.rev > last {
				if !send(r.events, true) {
					return
				}
				last = r.rev
			}
			w.sent(len(r.events))
		}
		if overflowed {
			s.metrics.watchOverflows.Inc()
			s.log.Warn("store: closing slow watch stream", "prefix", w.prefix, "revision", last)
			return
		}
		select {
		case <-w.wake:
		case <-ctx.Done():
			return
		case <-s.done:
			return
		}
	}
}

// readHistory returns the matching revisions in (after, until], at most
// historyChunk of them, and the last revision it covered.
func (s *Store) readHistory(after, until int64, prefix string) ([]revision, int64, error) {
	var revs []revision
	upTo := after
	err := s.db.View(func(tx *bbolt.Tx) error {
		compacted, err := readMeta(tx, metaCompacted)
		if err != nil {
			return err
		}
		if after < compacted {
			return errFellBehind
		}
		c := tx.Bucket(bucketHistory).Cursor()
		for k, v := c.Seek(revKey(after + 1)); k != nil; k, v = c.Next() {
			rev, err := decodeRev(k)
			if err != nil {
				return err
			}
			if rev > until || rev-after > historyChunk {
				break
			}
			evs, err := decodeEvents(rev, v, prefix)
			if err != nil {
				return err
			}
			if len(evs) > 0 {
				revs = append(revs, revision{rev: rev, events: evs})
			}
			upTo = rev
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	if upTo == after {
		// Every published revision has a history entry unless it was
		// compacted, which the check above rules out.
		return nil, 0, fmt.Errorf("%w: history has no revision after %d", errCorrupt, after)
	}
	return revs, upTo, nil
}
