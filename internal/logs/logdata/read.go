package logdata

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"sync"
)

// DefaultReadLimit is the Limit of a ReadRequest that sets none.
const DefaultReadLimit = 10000

// ReadRequest selects a page of a stream's events.
//
// Read returns up to Limit events (and at most MaxBytes of message bytes +
// 26 per event, when > 0; but at least one event if any matches, so paging
// always advances) whose Timestamp is in [Start, End) (0 = unbounded on
// that side) and >= NotBefore (the retention cutoff; 0 = none). Forward:
// events with Seq >= From in ascending Seq. Backward: the last Limit such
// events with Seq < From (From 0 = after the end), returned in ascending
// Seq order.
type ReadRequest struct {
	Stream     StreamID
	From       int64
	Forward    bool
	Start, End int64
	NotBefore  int64
	Limit      int // 0: DefaultReadLimit
	MaxBytes   int
}

// rawEvent is an event whose message still aliases a read buffer.
type rawEvent struct {
	seq, ts, ingest int64
	msg             []byte
}

func (e *rawEvent) stored() StoredEvent {
	return StoredEvent{Seq: e.seq, Timestamp: e.ts, IngestionTime: e.ingest, Message: string(e.msg)}
}

// segView is a reader's copy of what it needs of a segment. The active
// segment's last span still grows, so it is copied; the others never change.
type segView struct {
	seg     *segment
	stats   segStats
	spans   []span
	tail    span
	hasTail bool
}

func (v *segView) spanCount() int {
	if v.hasTail {
		return len(v.spans) + 1
	}
	return len(v.spans)
}

func (v *segView) span(i int) span {
	if i == len(v.spans) {
		return v.tail
	}
	return v.spans[i]
}

// views copies the stream's segments for a reader, which then reads without
// locks and sees only batches that were whole and durable at this moment.
func (st *stream) views() []segView {
	st.mu.RLock()
	defer st.mu.RUnlock()
	vs := make([]segView, 0, len(st.segs))
	for _, g := range st.segs {
		v := segView{seg: g, stats: g.stats, spans: g.spans}
		if n := len(g.spans); !g.sealed && n > 0 {
			v.spans, v.tail, v.hasTail = g.spans[:n-1:n-1], g.spans[n-1], true
		}
		vs = append(vs, v)
	}
	return vs
}

// spanReader reads spans of one segment at a time, keeping its file open
// from the first span read until release.
type spanReader struct {
	s    *Store
	file *segFile
	f    *os.File
	buf  []byte
	evs  []rawEvent
}

var readBufPool = sync.Pool{New: func() any { return new(spanReader) }}

func (s *Store) newSpanReader() *spanReader {
	r := readBufPool.Get().(*spanReader)
	r.s = s
	return r
}

func (r *spanReader) done() {
	r.release()
	if cap(r.buf) > 4<<20 {
		r.buf = nil
	}
	r.evs = r.evs[:0]
	r.s = nil
	readBufPool.Put(r)
}

func (r *spanReader) release() {
	if r.f != nil {
		r.s.files.release(r.file)
		r.file, r.f = nil, nil
	}
}

// read returns the events of sp in seq order whose batches may hold an
// event with seq in [fromSeq, toSeq) and time matching tf. It returns
// errFileRemoved if the segment is gone.
func (r *spanReader) read(g *segment, sp span, fromSeq, toSeq int64, tf timeFilter) ([]rawEvent, error) {
	if r.file != g.file {
		r.release()
		f, err := r.s.files.acquire(g.file)
		if err != nil {
			return nil, err
		}
		r.file, r.f = g.file, f
	}
	if sp.end-sp.off > maxSpanBytes {
		return nil, corruptf("%s: span of %d bytes", r.file.path, sp.end-sp.off)
	}
	n := int(sp.end - sp.off)
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	buf := r.buf[:n]
	if _, err := r.f.ReadAt(buf, sp.off); err != nil {
		if errors.Is(err, io.EOF) {
			err = corruptf("%s is shorter than its index", r.file.path)
		}
		return nil, err
	}
	r.evs = r.evs[:0]
	for p := 0; p < n; {
		h, err := parseBatchHeader(buf[p:])
		if err == nil && h.length > n-p {
			err = corruptf("batch overruns its span")
		}
		if err != nil {
			return nil, fmt.Errorf("%s at %d: %w", r.file.path, sp.off+int64(p), err)
		}
		if h.lastSeq() >= fromSeq && h.firstSeq < toSeq && tf.overlaps(h.minTs, h.maxTs) {
			b, err := decodeBatch(buf[p : p+h.length])
			if err != nil {
				return nil, fmt.Errorf("%s at %d: %w", r.file.path, sp.off+int64(p), err)
			}
			b.each(func(seq, ts int64, msg []byte) bool {
				r.evs = append(r.evs, rawEvent{seq: seq, ts: ts, ingest: b.ingest, msg: msg})
				return true
			})
		}
		p += h.length
	}
	return r.evs, nil
}

// forward calls fn for the events with seq >= from matching tf, in seq
// order, until fn returns false. It skips segments and spans outside tf,
// and segments deleted meanwhile.
func (s *Store) forward(ctx context.Context, st *stream, from int64, tf timeFilter, fn func(*rawEvent) bool) error {
	r := s.newSpanReader()
	defer r.done()
	for _, v := range st.views() {
		if v.stats.events == 0 || v.stats.lastSeq < from || !tf.overlaps(v.stats.minTs, v.stats.maxTs) {
			continue
		}
		n := v.spanCount()
		for i := sort.Search(n, func(i int) bool { return v.span(i).lastSeq >= from }); i < n; i++ {
			sp := v.span(i)
			if !tf.overlaps(sp.minTs, sp.maxTs) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			evs, err := r.read(v.seg, sp, from, math.MaxInt64, tf)
			if errors.Is(err, errFileRemoved) {
				break
			}
			if err != nil {
				return err
			}
			for j := range evs {
				if e := &evs[j]; e.seq >= from && tf.match(e.ts) && !fn(e) {
					return nil
				}
			}
		}
		r.release()
	}
	return nil
}

// backward calls fn for the events with seq < upper matching tf, in
// descending seq order, until fn returns false.
func (s *Store) backward(ctx context.Context, st *stream, upper int64, tf timeFilter, fn func(*rawEvent) bool) error {
	r := s.newSpanReader()
	defer r.done()
	vs := st.views()
	for k := len(vs) - 1; k >= 0; k-- {
		v := &vs[k]
		if v.stats.events == 0 || v.stats.firstSeq >= upper || !tf.overlaps(v.stats.minTs, v.stats.maxTs) {
			continue
		}
		for i := sort.Search(v.spanCount(), func(i int) bool { return v.span(i).firstSeq >= upper }) - 1; i >= 0; i-- {
			sp := v.span(i)
			if !tf.overlaps(sp.minTs, sp.maxTs) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			evs, err := r.read(v.seg, sp, math.MinInt64, upper, tf)
			if errors.Is(err, errFileRemoved) {
				break
			}
			if err != nil {
				return err
			}
			for j := len(evs) - 1; j >= 0; j-- {
				if e := &evs[j]; e.seq < upper && tf.match(e.ts) && !fn(e) {
					return nil
				}
			}
		}
		r.release()
	}
	return nil
}

// Read returns a page of a stream's events; see ReadRequest. more tells
// whether further matching events exist beyond the page in its direction.
func (s *Store) Read(ctx context.Context, req ReadRequest) (events []StoredEvent, more bool, err error) {
	if err := s.begin(); err != nil {
		return nil, false, err
	}
	defer s.inflight.Done()
	st, err := s.stream(req.Stream)
	if err != nil {
		return nil, false, err
	}
	limit := req.Limit
	if limit <= 0 {
		limit = DefaultReadLimit
	}
	tf := newTimeFilter(req.Start, req.End, req.NotBefore)
	var size int
	take := func(e *rawEvent) bool {
		n := len(e.msg) + StoredBytesPerEvent
		if len(events) == limit || (req.MaxBytes > 0 && len(events) > 0 && size+n > req.MaxBytes) {
			more = true
			return false
		}
		size += n
		events = append(events, e.stored())
		return true
	}
	if req.Forward {
		err = s.forward(ctx, st, max(req.From, 1), tf, take)
	} else {
		upper := req.From
		if upper <= 0 {
			upper = math.MaxInt64
		}
		err = s.backward(ctx, st, upper, tf, take)
		slices.Reverse(events)
	}
	if err != nil {
		return nil, false, err
	}
	return events, more, nil
}

// Scan calls fn for each event with Timestamp in [start, end) (0 =
// unbounded) and >= notBefore (0 = none), in Seq order from Seq >= from,
// until fn returns false. Segments and index spans whose time range misses
// the range are not read. fn runs without the store's locks held.
func (s *Store) Scan(ctx context.Context, id StreamID, from, start, end, notBefore int64, fn func(StoredEvent) bool) error {
	if err := s.begin(); err != nil {
		return err
	}
	defer s.inflight.Done()
	st, err := s.stream(id)
	if err != nil {
		return err
	}
	return s.forward(ctx, st, max(from, 1), newTimeFilter(start, end, notBefore), func(e *rawEvent) bool {
		return fn(e.stored())
	})
}
