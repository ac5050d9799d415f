package logdata

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// ErrCursorMismatch is wrapped by *CursorMismatchError.
var ErrCursorMismatch = errors.New("logdata: producer cursor mismatch")

// CursorMismatchError: a conditional append's After differs from the
// producer's stored cursor, so nothing was written. A producer that retries
// an append which in fact succeeded sees Stored equal to its Cursor.
type CursorMismatchError struct{ Stored string }

func (e *CursorMismatchError) Error() string {
	return fmt.Sprintf("logdata: producer cursor mismatch: stored cursor is %q", e.Stored)
}

func (e *CursorMismatchError) Unwrap() error { return ErrCursorMismatch }

// AppendRequest is one batch of events for one stream.
type AppendRequest struct {
	Stream StreamID
	// Events are stored in this order and given the same IngestionTime (Now
	// at the append). At least one is required.
	Events []Event
	// Producer, when set, makes the append conditional and idempotent: it is
	// stored only if the producer's stored cursor equals After ("" when
	// none), and then the cursor becomes Cursor in the same write. Each is at
	// most MaxProducerBytes.
	Producer, After, Cursor string
}

// AppendResult gives the sequence numbers the events got.
type AppendResult struct{ FirstSeq, LastSeq int64 }

// appendOp is one Append waiting for the committer.
type appendOp struct {
	st                      *stream
	rec                     []byte
	info                    batchInfo
	producer, after, cursor string
	// state lets a canceled Append withdraw its op unless the committer took it.
	state atomic.Int32
	off   int64
	res   AppendResult
	err   error
	done  chan struct{}
}

const (
	opQueued = iota
	opTaken
	opWithdrawn
)

func (op *appendOp) finish(res AppendResult, err error) {
	op.res, op.err = res, err
	close(op.done)
}

// Append stores a batch and returns once it is durable (fsync'd). Appends
// wait in a queue while the committer syncs earlier ones, and then are
// written and synced together with every other append queued meanwhile, so
// concurrent appends, to one stream or many, share fsyncs. If ctx ends
// before the committer takes the batch, Append returns ctx.Err() and nothing
// is stored; after that it waits for the outcome. If Delete removes the
// stream meanwhile, Append returns ErrStreamDeleted and stores nothing.
func (s *Store) Append(ctx context.Context, req AppendRequest) (AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return AppendResult{}, err
	}
	if err := s.begin(); err != nil {
		return AppendResult{}, err
	}
	defer s.inflight.Done()
	if err := req.Stream.Validate(); err != nil {
		return AppendResult{}, err
	}
	if req.Producer == "" && (req.After != "" || req.Cursor != "") {
		return AppendResult{}, errors.New("logdata: After and Cursor need a Producer")
	}
	if len(req.After) > MaxProducerBytes {
		return AppendResult{}, fmt.Errorf("logdata: After is limited to %d bytes", MaxProducerBytes)
	}
	rec, info, err := encodeBatch(req.Events, s.opts.Now().UnixMilli(), req.Producer, req.Cursor)
	if err != nil {
		return AppendResult{}, err
	}
	st, err := s.stream(req.Stream)
	if err != nil {
		return AppendResult{}, err
	}
	op := &appendOp{st: st, rec: rec, info: info, producer: req.Producer, after: req.After, cursor: req.Cursor,
		done: make(chan struct{})}
	if err := s.enqueue(op); err != nil {
		return AppendResult{}, err
	}
	select {
	case <-op.done:
	case <-ctx.Done():
		if op.state.CompareAndSwap(opQueued, opWithdrawn) {
			return AppendResult{}, ctx.Err()
		}
		<-op.done
	}
	return op.res, op.err
}

func (s *Store) enqueue(op *appendOp) error {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if s.qclosed {
		return ErrClosed
	}
	s.queue = append(s.queue, op)
	s.qcond.Signal()
	return nil
}

// maxParallelCommits bounds the streams one round writes and syncs at once.
const maxParallelCommits = 32

// commitLoop is the committer: each round takes every queued append,
// writes each stream's share to its active segment and fsyncs it, the
// streams in parallel, and acknowledges them; appends arriving meanwhile form
// the next round. Close lets it drain the queue.
func (s *Store) commitLoop() {
	defer close(s.committerDone)
	for {
		s.qmu.Lock()
		for len(s.queue) == 0 && !s.qclosed {
			s.qcond.Wait()
		}
		ops := s.queue
		s.queue = nil
		s.qmu.Unlock()
		if len(ops) == 0 {
			return
		}
		s.commitRound(ops)
	}
}

func (s *Store) commitRound(ops []*appendOp) {
	byStream := map[*stream][]*appendOp{}
	var order []*stream
	for _, op := range ops {
		if !op.state.CompareAndSwap(opQueued, opTaken) {
			continue
		}
		if byStream[op.st] == nil {
			order = append(order, op.st)
		}
		byStream[op.st] = append(byStream[op.st], op)
	}
	if len(order) == 1 {
		s.commitStream(order[0], byStream[order[0]])
		return
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxParallelCommits)
	for _, st := range order {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			s.commitStream(st, byStream[st])
		})
	}
	wg.Wait()
}

// streamCommit is one round's work on one stream: the batches written to
// the active segment but not yet synced, and the sequence numbers and
// cursors they claim, which become the stream's once synced.
type streamCommit struct {
	s          *Store
	st         *stream
	file       *os.File
	fileOf     *segFile
	end        int64 // where the next batch goes
	nextSeq    int64
	firstWrite int64
	hasData    bool
	cursors    map[string]string // cursors set by pending batches
	pending    []*appendOp
}

func (s *Store) commitStream(st *stream, ops []*appendOp) {
	st.writeMu.Lock()
	defer st.writeMu.Unlock()
	switch {
	case st.deleted:
		finishAll(ops, ErrStreamDeleted)
		return
	case st.broken != nil:
		finishAll(ops, st.broken)
		return
	}
	c := &streamCommit{s: s, st: st, nextSeq: st.nextSeq, cursors: map[string]string{}}
	if a := st.active; a != nil {
		c.end, c.hasData, c.firstWrite = a.size, a.stats.events > 0, a.firstWrite
	}
	defer c.releaseFile()
	for i, op := range ops {
		if op.producer != "" {
			stored, ok := c.cursors[op.producer]
			if !ok {
				stored = st.cursors[op.producer]
			}
			if stored != op.after {
				op.finish(AppendResult{}, &CursorMismatchError{Stored: stored})
				continue
			}
		}
		if err := c.prepare(op); err != nil {
			c.fail(err, ops[i:])
			return
		}
		if err := c.write(op); err != nil {
			c.fail(err, ops[i:])
			return
		}
	}
	if err := c.flush(); err != nil {
		c.fail(err, nil)
	}
}

func finishAll(ops []*appendOp, err error) {
	for _, op := range ops {
		op.finish(AppendResult{}, err)
	}
}

// prepare makes sure an active segment can take op: it starts one if there
// is none, and seals a full or old one first (after syncing what is pending).
func (c *streamCommit) prepare(op *appendOp) error {
	st, opts := c.st, &c.s.opts
	if a := st.active; a != nil && c.hasData &&
		(c.end+int64(len(op.rec)) > opts.SegmentBytes || op.info.ingest-c.firstWrite >= opts.SegmentMaxAge.Milliseconds()) {
		if err := c.flush(); err != nil {
			return err
		}
		c.releaseFile()
		if err := c.s.seal(st); err != nil {
			return err
		}
	}
	if st.active == nil {
		if err := c.s.createActive(st); err != nil {
			return err
		}
		c.end, c.hasData = st.active.size, false
	}
	if c.file == nil {
		f, err := c.s.files.acquire(st.active.file)
		if err != nil {
			return err
		}
		c.file, c.fileOf = f, st.active.file
	}
	return nil
}

func (c *streamCommit) write(op *appendOp) error {
	sealBatch(op.rec, c.nextSeq)
	if _, err := c.file.WriteAt(op.rec, c.end); err != nil {
		return err
	}
	op.info.firstSeq = c.nextSeq
	op.res = AppendResult{FirstSeq: c.nextSeq, LastSeq: op.info.lastSeq()}
	op.off = c.end
	c.end += int64(len(op.rec))
	c.nextSeq += op.info.count
	if !c.hasData {
		c.firstWrite, c.hasData = op.info.ingest, true
	}
	if op.producer != "" {
		c.cursors[op.producer] = op.cursor
	}
	c.pending = append(c.pending, op)
	return nil
}

// flush syncs the pending batches, then publishes them to readers and
// acknowledges them.
func (c *streamCommit) flush() error {
	if len(c.pending) == 0 {
		return nil
	}
	if err := fdatasync(c.file); err != nil {
		return err
	}
	st, a := c.st, c.st.active
	st.mu.Lock()
	for _, op := range c.pending {
		a.addBatch(op.off, int64(len(op.rec)), op.info)
		if op.producer != "" {
			st.cursors[op.producer] = op.cursor
		}
	}
	st.nextSeq = c.nextSeq
	st.mu.Unlock()
	for _, op := range c.pending {
		op.finish(op.res, nil)
	}
	c.pending = c.pending[:0]
	clear(c.cursors)
	return nil
}

// fail fails the pending batches and the unprocessed ops, and cuts what
// may have been written of the pending batches off the segment, since a
// failed write or fsync leaves the file's content uncertain.
func (c *streamCommit) fail(err error, rest []*appendOp) {
	c.s.log.Error("logdata: append failed", "stream", c.st.id, "err", err)
	for _, op := range c.pending {
		op.finish(AppendResult{}, err)
	}
	finishAll(rest, err)
	if a := c.st.active; len(c.pending) > 0 && c.file != nil {
		terr := c.file.Truncate(a.size)
		if terr == nil {
			terr = fdatasync(c.file)
		}
		if terr != nil {
			c.st.broken = fmt.Errorf("logdata: stream %s unusable until reopened: %w", c.st.id, err)
		}
	}
	c.pending = nil
}

func (c *streamCommit) releaseFile() {
	if c.file != nil {
		c.s.files.release(c.fileOf)
		c.file, c.fileOf = nil, nil
	}
}

// seal ends the active segment: its index, with the producer cursors as of
// its end, is written durably; the segment's data already is. Requires
// st.writeMu.
func (s *Store) seal(st *stream) error {
	a := st.active
	st.mu.RLock()
	sealed := *a
	st.mu.RUnlock()
	sealed.sealed = true
	sealed.endCursors = cloneCursors(st.cursors)
	if err := writeFileAtomic(filepath.Join(st.dir, indexName(a.base)), encodeIndex(&sealed)); err != nil {
		return err
	}
	s.files.setReadOnly(a.file)
	st.mu.Lock()
	a.sealed, a.endCursors = true, sealed.endCursors
	st.active = nil
	st.mu.Unlock()
	return nil
}

// createActive starts a segment at the stream's next sequence number. Its
// header holds the producer cursors, so they and the sequence number outlive
// the expiry of all earlier segments. Requires st.writeMu.
func (s *Store) createActive(st *stream) error {
	if !st.dirExists {
		if err := os.MkdirAll(st.dir, 0o750); err != nil {
			return err
		}
		if err := syncDir(s.opts.Dir); err != nil {
			return err
		}
		st.dirExists = true
	}
	base := st.nextSeq
	hdr := encodeSegmentHeader(base, st.cursors)
	path := filepath.Join(st.dir, segmentName(base))
	if err := writeFileAtomic(path, hdr); err != nil {
		return err
	}
	g := &segment{base: base, file: newSegFile(path, true), dataStart: int64(len(hdr)), size: int64(len(hdr)), nextSeq: base}
	st.mu.Lock()
	st.segs = append(st.segs, g)
	st.active = g
	st.mu.Unlock()
	return nil
}

func cloneCursors(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
