package logdata

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a Store.
type Options struct {
	// Dir holds one directory per stream; it is created if missing.
	Dir string
	// SegmentBytes is the size at which the active segment is sealed and a
	// new one started. Default 64 MiB.
	SegmentBytes int64
	// SegmentMaxAge seals the active segment once this long has passed since
	// its first write, so retention can free whole segments. Default 1 h.
	SegmentMaxAge time.Duration
	// Now is the clock for ingestion times and segment age. Default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// MaxOpenFiles bounds the segment files kept open while unused.
	// Default 256.
	MaxOpenFiles int
}

// ErrClosed is returned by every call after Close.
var ErrClosed = errors.New("logdata: store closed")

// ErrInvalidStreamID: a StreamID is not 1 to 64 of [A-Za-z0-9_-].
var ErrInvalidStreamID = errors.New("logdata: invalid stream id")

// ErrStreamDeleted: Delete removed the stream while the append waited, so
// nothing was stored. (An append after Delete starts the stream afresh.)
var ErrStreamDeleted = errors.New("logdata: stream deleted during the append")

// StreamID names a stream's data; berth's stream records hold it.
type StreamID string

// Validate reports whether id is 1 to 64 of [A-Za-z0-9_-], which keeps it a
// safe directory name.
func (id StreamID) Validate() error {
	if len(id) < 1 || len(id) > 64 {
		return fmt.Errorf("%w: %q", ErrInvalidStreamID, string(id))
	}
	for i := range len(id) {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("%w: %q", ErrInvalidStreamID, string(id))
		}
	}
	return nil
}

// Event is a log event as put.
type Event struct {
	Timestamp int64 // ms since the epoch
	Message   string
}

// StoredEvent is a log event as stored.
type StoredEvent struct {
	// Seq is the event's ordinal in the stream: 1-based, never reused.
	Seq           int64
	Timestamp     int64
	IngestionTime int64
	Message       string
}

// Stats are the totals of a stream's stored events.
type Stats struct {
	Events int64
	// StoredBytes counts message bytes plus StoredBytesPerEvent (26) per
	// event; what CloudWatch reports as stored bytes may differ.
	StoredBytes int64
	// FirstEventTimestamp and LastEventTimestamp are the least and greatest
	// event timestamps stored; they, and LastIngestionTime, are 0 when the
	// stream holds no events.
	FirstEventTimestamp, LastEventTimestamp, LastIngestionTime int64
	// LastSeq is the last sequence number ever assigned, also after expiry.
	LastSeq int64
}

// Store holds the events of many streams. It is safe for concurrent use.
type Store struct {
	opts  Options
	log   *slog.Logger
	files fileCache

	mu      sync.Mutex
	streams map[StreamID]*stream
	closed  bool
	// inflight counts the calls in progress, which Close waits for.
	inflight sync.WaitGroup
	unlock   func() // releases the lock on Dir

	// Appends queue here for the committer (see append.go).
	qmu           sync.Mutex
	qcond         sync.Cond
	queue         []*appendOp
	qclosed       bool
	committerDone chan struct{}
}

// stream is the in-memory state of one stream, loaded on first use.
//
// Lock order: expireMu, then writeMu, then mu. Appends, sealing and
// segment creation hold writeMu (they are the only writers of active,
// nextSeq and cursors, which they therefore read without mu) and take mu to
// publish; Expire's work on sealed segments holds only expireMu and takes mu
// to swap segments; readers take mu.RLock to copy what they need.
type stream struct {
	id    StreamID
	dir   string
	ready chan struct{} // closed when loaded; then loadErr is set
	// loadErr failed the load; the stream was dropped from Store.streams.
	loadErr error

	expireMu sync.Mutex
	writeMu  sync.Mutex
	mu       sync.RWMutex
	deleting atomic.Bool

	segs      []*segment // by base; the active segment, if any, is last
	active    *segment
	nextSeq   int64
	cursors   map[string]string // durable producer cursors
	dirExists bool
	deleted   bool
	// broken: a failed write could not be undone; the stream refuses
	// appends until the store is reopened and recovery runs.
	broken error
}

func newStream(id StreamID, dir string) *stream {
	return &stream{id: id, dir: dir, ready: make(chan struct{}), nextSeq: 1, cursors: map[string]string{}}
}

// Open opens the store in opts.Dir, creating the directory if needed.
// Streams are loaded on first use.
func Open(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("logdata: Options.Dir is empty")
	}
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = 64 << 20
	}
	if opts.SegmentMaxAge <= 0 {
		opts.SegmentMaxAge = time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxOpenFiles <= 0 {
		opts.MaxOpenFiles = 256
	}
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, err
	}
	unlock, err := lockDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	s := &Store{
		unlock:        unlock,
		opts:          opts,
		log:           opts.Logger,
		streams:       map[StreamID]*stream{},
		committerDone: make(chan struct{}),
	}
	s.files.max = opts.MaxOpenFiles
	s.qcond.L = &s.qmu
	go s.commitLoop()
	return s, nil
}

// Close waits for the calls in progress, then closes the store's files.
// (A Scan callback that blocks blocks Close.)
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.inflight.Wait()
	s.qmu.Lock()
	s.qclosed = true
	s.qcond.Broadcast()
	s.qmu.Unlock()
	<-s.committerDone
	s.files.close()
	s.unlock()
	return nil
}

// begin registers a call, which must end with s.inflight.Done().
func (s *Store) begin() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.inflight.Add(1)
	return nil
}

// stream returns the loaded state of id, loading it on first use.
func (s *Store) stream(id StreamID) (*stream, error) {
	if err := id.Validate(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	st := s.streams[id]
	if st != nil {
		s.mu.Unlock()
		<-st.ready
	} else {
		st = newStream(id, filepath.Join(s.opts.Dir, string(id)))
		s.streams[id] = st
		s.mu.Unlock()
		st.loadErr = s.load(st)
		if st.loadErr != nil {
			s.mu.Lock()
			if s.streams[id] == st {
				delete(s.streams, id)
			}
			s.mu.Unlock()
		}
		close(st.ready)
	}
	if st.loadErr != nil {
		return nil, st.loadErr
	}
	return st, nil
}

// load reads a stream's directory: the index of every sealed segment, and
// the active segment, which it scans and whose torn tail it cuts off.
func (s *Store) load(st *stream) error {
	entries, err := os.ReadDir(st.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	st.dirExists = true
	segSizes := map[int64]int64{}
	hasIndex := map[int64]bool{}
	var bases []int64
	for _, e := range entries {
		name := e.Name()
		if filepath.Ext(name) == ".tmp" {
			// A write that did not finish: nothing refers to it.
			if err := os.Remove(filepath.Join(st.dir, name)); err != nil {
				return err
			}
			continue
		}
		if base, ok := parseFileName(name, ".seg"); ok {
			fi, err := e.Info()
			if err != nil {
				return err
			}
			segSizes[base] = fi.Size()
			bases = append(bases, base)
		} else if base, ok := parseFileName(name, ".idx"); ok {
			hasIndex[base] = true
		}
	}
	slices.Sort(bases)
	for base := range hasIndex {
		if _, ok := segSizes[base]; !ok {
			// Expire deletes a segment before its index.
			if err := os.Remove(filepath.Join(st.dir, indexName(base))); err != nil {
				return err
			}
		}
	}
	for i, base := range bases {
		last := i == len(bases)-1
		path := filepath.Join(st.dir, segmentName(base))
		var g *segment
		if hasIndex[base] {
			g, err = s.readIndex(st.dir, base, segSizes[base])
			if err != nil {
				s.log.Warn("logdata: rebuilding a segment index", "file", path, "err", err)
				g = nil
			}
		}
		if g == nil && !hasIndex[base] && last {
			// The active segment.
			g, err = s.scanSegment(st.dir, base, true)
			if err != nil {
				return err
			}
			g.file = newSegFile(path, true)
			st.active = g
			st.segs = append(st.segs, g)
			break
		}
		if g == nil {
			// A sealed segment lost its index: rebuild it once.
			if g, err = s.scanSegment(st.dir, base, true); err != nil {
				return err
			}
			g.sealed = true
			if !last {
				g.nextSeq = max(g.nextSeq, bases[i+1])
			}
			if err := writeFileAtomic(filepath.Join(st.dir, indexName(base)), encodeIndex(g)); err != nil {
				return err
			}
		}
		g.file = newSegFile(path, false)
		st.segs = append(st.segs, g)
	}
	if n := len(st.segs); n > 0 {
		lastSeg := st.segs[n-1]
		st.nextSeq = lastSeg.nextSeq
		st.cursors = cloneCursors(lastSeg.endCursors)
		if st.active != nil {
			lastSeg.endCursors = nil // kept current in st.cursors
		}
	}
	return nil
}

// readIndex loads a sealed segment's index, checking it against the size
// of the segment file.
func (s *Store) readIndex(dir string, base, segSize int64) (*segment, error) {
	b, err := os.ReadFile(filepath.Join(dir, indexName(base)))
	if err != nil {
		return nil, err
	}
	g, err := decodeIndex(b)
	if err != nil {
		return nil, err
	}
	if g.base != base || g.size != segSize {
		return nil, corruptf("index of segment %d describes segment %d of %d bytes, file has %d", base, g.base, g.size, segSize)
	}
	return g, nil
}

// Stats returns the totals of a stream; zero for a stream never written.
func (s *Store) Stats(id StreamID) (Stats, error) {
	if err := s.begin(); err != nil {
		return Stats{}, err
	}
	defer s.inflight.Done()
	st, err := s.stream(id)
	if err != nil {
		return Stats{}, err
	}
	st.mu.RLock()
	defer st.mu.RUnlock()
	out := Stats{LastSeq: st.nextSeq - 1}
	for _, g := range st.segs {
		gs := g.stats
		if gs.events == 0 {
			continue
		}
		if out.Events == 0 {
			out.FirstEventTimestamp, out.LastEventTimestamp = gs.minTs, gs.maxTs
		}
		out.Events += gs.events
		out.StoredBytes += gs.storedBytes
		out.FirstEventTimestamp = min(out.FirstEventTimestamp, gs.minTs)
		out.LastEventTimestamp = max(out.LastEventTimestamp, gs.maxTs)
		out.LastIngestionTime = max(out.LastIngestionTime, gs.lastIngest)
	}
	return out, nil
}

// ProducerCursor returns the cursor a producer last stored with an append
// to the stream, or "" if none.
func (s *Store) ProducerCursor(id StreamID, producer string) (string, error) {
	if err := s.begin(); err != nil {
		return "", err
	}
	defer s.inflight.Done()
	st, err := s.stream(id)
	if err != nil {
		return "", err
	}
	st.mu.RLock()
	defer st.mu.RUnlock()
	return st.cursors[producer], nil
}

// Streams lists every stream that has data on disk, loaded or not, so the
// caller can remove those its records no longer name.
func (s *Store) Streams() ([]StreamID, error) {
	if err := s.begin(); err != nil {
		return nil, err
	}
	defer s.inflight.Done()
	entries, err := os.ReadDir(s.opts.Dir)
	if err != nil {
		return nil, err
	}
	var ids []StreamID
	for _, e := range entries {
		if id := StreamID(e.Name()); e.IsDir() && id.Validate() == nil {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// Delete removes a stream's files. A later append starts the stream afresh
// at sequence number 1. Readers in progress may return fewer events.
func (s *Store) Delete(id StreamID) error {
	if err := s.begin(); err != nil {
		return err
	}
	defer s.inflight.Done()
	if err := id.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	old := s.streams[id]
	// Whoever uses the stream next waits for the removal to finish.
	fresh := newStream(id, filepath.Join(s.opts.Dir, string(id)))
	s.streams[id] = fresh
	s.mu.Unlock()

	if old != nil {
		<-old.ready
		if old.loadErr == nil {
			s.retire(old)
		}
	}
	err := os.RemoveAll(fresh.dir)
	if err == nil {
		err = syncDir(s.opts.Dir)
	}
	if err != nil {
		// Let the next use load whatever is left.
		fresh.loadErr = err
		s.mu.Lock()
		if s.streams[id] == fresh {
			delete(s.streams, id)
		}
		s.mu.Unlock()
	}
	close(fresh.ready)
	return err
}

// retire ends a stream's in-memory life: it waits for the append round and
// Expire step in progress, fails the appends queued for it and makes its
// files unavailable to new reads.
func (s *Store) retire(st *stream) {
	st.deleting.Store(true)
	st.expireMu.Lock()
	defer st.expireMu.Unlock()
	st.writeMu.Lock()
	defer st.writeMu.Unlock()
	st.mu.Lock()
	defer st.mu.Unlock()
	st.deleted = true
	for _, g := range st.segs {
		s.files.remove(g.file)
	}
	st.segs, st.active = nil, nil
}

// fileSize is the size of path, 0 if it is missing.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
