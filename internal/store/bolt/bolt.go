// Package bolt is the embedded store backend: one bbolt file, fsync'd on
// every commit, emulating etcd's revisioned KV.
//
// The file holds three buckets. "keys" maps each key to its create and mod
// revisions and value. "history" maps each revision to the events it made,
// for the last Options.History revisions, so Watch can resume after a
// restart. "meta" holds the current revision, the revision up to which
// history was compacted, and the file format version.
//
// A revision is consumed only by a transaction that changes something, so
// every revision after the compacted one, up to the current one, has a
// history entry.
package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	bbolt "go.etcd.io/bbolt"

	"github.com/berth/berth/internal/store"
)

// Options tune a Store. The zero value gives the defaults.
type Options struct {
	// History is how many recent revisions Watch can resume from; older
	// fromRevisions get store.ErrCompacted. Default 100,000.
	History int64
	// WatchBacklog is how many events may wait for a watcher's reader, on
	// top of its channel's buffer of 64, before the channel is closed for
	// falling behind. Default 10,000.
	WatchBacklog int
	// MaxBatchDelay is how long a transaction waits for others to share its
	// fsync. It is added to the latency of a lone writer. Default 3ms: under
	// load (bench-scheduler) it gives ~8 % more placements/s than 1ms, and
	// RunTask -> RUNNING (bench-tasks, ~350 ms) does not move measurably.
	MaxBatchDelay time.Duration
	// MaxBatchSize caps the transactions sharing one fsync. Default 1,000.
	MaxBatchSize int
	// LockTimeout is how long Open waits for another process to release the
	// file before failing. Default 5s.
	LockTimeout time.Duration
	// Registerer receives the store's metrics; nil registers none. Close
	// unregisters them, so a store can be reopened with the same one.
	Registerer prometheus.Registerer
	// Logger receives warnings about closed watch streams; nil means
	// slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() (Options, error) {
	if o.History < 0 || o.WatchBacklog < 0 || o.MaxBatchDelay < 0 || o.MaxBatchSize < 0 || o.LockTimeout < 0 {
		return o, errors.New("store: negative option")
	}
	if o.History == 0 {
		o.History = 100_000
	}
	if o.WatchBacklog == 0 {
		o.WatchBacklog = 10_000
	}
	if o.MaxBatchDelay == 0 {
		o.MaxBatchDelay = 3 * time.Millisecond
	}
	if o.MaxBatchSize == 0 {
		o.MaxBatchSize = 1000
	}
	if o.LockTimeout == 0 {
		o.LockTimeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

var (
	bucketKeys    = []byte("keys")
	bucketHistory = []byte("history")
	bucketMeta    = []byte("meta")

	metaRevision  = []byte("revision")
	metaCompacted = []byte("compacted")
	metaFormat    = []byte("format")
)

// formatVersion is bumped when the on-disk encoding changes incompatibly.
const formatVersion = 1

// Store is a store.Store on a bbolt file. It is safe for concurrent use.
type Store struct {
	db      *bbolt.DB
	opts    Options
	log     *slog.Logger
	metrics *metrics
	hub     *hub

	// mu is held shared by every call and exclusively by Close, so Close
	// waits for calls in flight and later calls see closed.
	mu     sync.RWMutex
	closed bool
	done   chan struct{} // closed by Close to stop watchers
	wg     sync.WaitGroup
}

var _ store.Store = (*Store)(nil)

// Open opens or creates the store file at path.
func Open(path string, opts Options) (*Store, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout: opts.LockTimeout,
		// The map freelist keeps commits fast as the file fragments.
		FreelistType: bbolt.FreelistMapType,
	})
	if err != nil {
		return nil, fmt.Errorf("store: opening %s: %w", path, err)
	}
	db.MaxBatchDelay = opts.MaxBatchDelay
	db.MaxBatchSize = opts.MaxBatchSize

	var rev int64
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketKeys, bucketHistory, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch f := meta.Get(metaFormat); {
		case f == nil:
			// A new store starts at revision 1, as etcd does, so that every
			// revision a reader can see is a valid Watch fromRevision: 0
			// means "from now" and could not ask for the first change.
			for k, v := range map[string]int64{string(metaFormat): formatVersion, string(metaRevision): 1, string(metaCompacted): 1} {
				if err := meta.Put([]byte(k), revKey(v)); err != nil {
					return err
				}
			}
		case !bytes.Equal(f, revKey(formatVersion)):
			return fmt.Errorf("store: unsupported file format %x", f)
		}
		rev, err = readMeta(tx, metaRevision)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: opening %s: %w", path, err)
	}
	m := newMetrics()
	if err := m.register(opts.Registerer); err != nil {
		db.Close()
		return nil, err
	}
	return &Store{
		db:      db,
		opts:    opts,
		log:     opts.Logger,
		metrics: m,
		hub:     newHub(rev, opts.WatchBacklog),
		done:    make(chan struct{}),
	}, nil
}

// enter starts a call: on success the caller must s.mu.RUnlock().
func (s *Store) enter(ctx context.Context) error {
	if ctx == nil {
		return errors.New("store: nil context")
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return store.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		s.mu.RUnlock()
		return err
	}
	return nil
}

func checkKey(key string) error {
	if key == "" {
		return errors.New("store: empty key")
	}
	if len(key) > bbolt.MaxKeySize {
		return fmt.Errorf("store: key of %d bytes exceeds %d", len(key), bbolt.MaxKeySize)
	}
	return nil
}

// readMeta reads a revision-valued meta entry; a missing one is 0.
func readMeta(tx *bbolt.Tx, name []byte) (int64, error) {
	v := tx.Bucket(bucketMeta).Get(name)
	if v == nil {
		return 0, nil
	}
	return decodeRev(v)
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, key string) (store.KV, int64, error) {
	if err := s.enter(ctx); err != nil {
		return store.KV{}, 0, err
	}
	defer s.mu.RUnlock()
	if err := checkKey(key); err != nil {
		return store.KV{}, 0, err
	}
	var (
		kv    store.KV
		rev   int64
		found bool
	)
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		if rev, err = readMeta(tx, metaRevision); err != nil {
			return err
		}
		v := tx.Bucket(bucketKeys).Get([]byte(key))
		if v == nil {
			return nil
		}
		found = true
		kv, err = decodeRecord(key, v)
		return err
	})
	if err != nil {
		return store.KV{}, 0, err
	}
	if !found {
		return store.KV{}, rev, store.ErrNotFound
	}
	return kv, rev, nil
}

// List implements store.Store.
func (s *Store) List(ctx context.Context, prefix string, opts store.ListOptions) ([]store.KV, int64, error) {
	if opts.Limit < 0 {
		return nil, 0, errors.New("store: negative list limit")
	}
	var kvs []store.KV
	rev, err := s.scan(ctx, prefix, opts, func(k, v []byte) error {
		kv, err := decodeRecord(string(k), v)
		if err != nil {
			return err
		}
		kvs = append(kvs, kv)
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return kvs, rev, nil
}

// Range implements store.Store: the values fn sees are bolt's own memory,
// valid for the read transaction the range runs in.
func (s *Store) Range(ctx context.Context, prefix string, fn func(store.KV) error) (int64, error) {
	return s.scan(ctx, prefix, store.ListOptions{}, func(k, v []byte) error {
		c, m, err := decodeHeader(v)
		if err != nil {
			return err
		}
		return fn(store.KV{Key: string(k), Value: v[recordHeader:len(v):len(v)], CreateRevision: c, ModRevision: m})
	})
}

// scan calls visit with the key records under prefix in key order, within
// opts' bounds, all in one read transaction, and returns the revision it
// read at.
func (s *Store) scan(ctx context.Context, prefix string, opts store.ListOptions, visit func(k, v []byte) error) (int64, error) {
	if err := s.enter(ctx); err != nil {
		return 0, err
	}
	defer s.mu.RUnlock()
	var rev int64
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		if rev, err = readMeta(tx, metaRevision); err != nil {
			return err
		}
		c := tx.Bucket(bucketKeys).Cursor()
		start := prefix
		if opts.StartAfter >= prefix {
			start = opts.StartAfter
		}
		k, v := c.Seek([]byte(start))
		if k != nil && opts.StartAfter != "" && string(k) == opts.StartAfter {
			k, v = c.Next()
		}
		for n := 0; k != nil && hasPrefix(k, prefix); k, v = c.Next() {
			if opts.Limit > 0 && n == opts.Limit {
				break
			}
			// A large listing should still notice its caller gave up.
			if n%1024 == 1023 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if err := visit(k, v); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return rev, nil
}

// Revision implements store.Store.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	if err := s.enter(ctx); err != nil {
		return 0, err
	}
	defer s.mu.RUnlock()
	var rev int64
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		rev, err = readMeta(tx, metaRevision)
		return err
	})
	return rev, err
}

// op is a validated store.Op with its key converted once, because bolt
// requires keys to stay unchanged until the transaction ends, and a batch
// may run the transaction several times.
type op struct {
	key    []byte
	value  []byte
	delete bool
}

// txnResult is what one run of a transaction inside a batch decided. Batch
// may run the function again (when another transaction of the batch fails),
// so each run overwrites it.
type txnResult struct {
	conflict bool
	rev      int64
	events   []store.Event
}

// Txn implements store.Store. Once the transaction is handed to a batch it
// waits for the outcome, whatever ctx does, so the caller never has to
// guess whether it was applied.
func (s *Store) Txn(ctx context.Context, t store.Txn) (int64, error) {
	if err := s.enter(ctx); err != nil {
		return 0, err
	}
	defer s.mu.RUnlock()
	ops, err := prepare(t)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	var res txnResult
	err = s.db.Batch(func(tx *bbolt.Tx) error {
		res = txnResult{}
		return s.apply(tx, t.If, ops, &res)
	})
	s.metrics.txnDuration.Observe(time.Since(start).Seconds())
	if err != nil {
		return 0, fmt.Errorf("store: txn: %w", err)
	}
	if res.conflict {
		s.metrics.conflicts.Inc()
		return 0, store.ErrConflict
	}
	if len(res.events) > 0 {
		s.hub.publish(res.rev, res.events)
	}
	return res.rev, nil
}

// prepare validates t and copies its values, so the caller may reuse its
// slices as soon as Txn returns while watchers still hold the events.
func prepare(t store.Txn) ([]op, error) {
	for _, c := range t.If {
		if err := checkKey(c.Key); err != nil {
			return nil, err
		}
		if c.ModRevision < 0 {
			return nil, fmt.Errorf("store: negative compare revision for %q", c.Key)
		}
	}
	ops := make([]op, len(t.Then))
	seen := make(map[string]bool, len(t.Then))
	for i, o := range t.Then {
		if err := checkKey(o.Key); err != nil {
			return nil, err
		}
		// Two writes to one key at one revision have no defined order for
		// watchers; etcd rejects them too.
		if seen[o.Key] {
			return nil, fmt.Errorf("store: key %q written twice in one txn", o.Key)
		}
		seen[o.Key] = true
		if len(o.Value) > bbolt.MaxValueSize-recordHeader {
			return nil, fmt.Errorf("store: value of %d bytes for %q is too large", len(o.Value), o.Key)
		}
		ops[i] = op{key: []byte(o.Key), delete: o.Delete}
		if !o.Delete {
			ops[i].value = append([]byte{}, o.Value...)
		}
	}
	return ops, nil
}

// apply runs inside a batch's write transaction. A failed comparison is
// recorded in res, not returned: an error would make bolt roll back and
// re-run the whole batch, and the conflict belongs to this caller only.
func (s *Store) apply(tx *bbolt.Tx, cmps []store.Compare, ops []op, res *txnResult) error {
	keys := tx.Bucket(bucketKeys)
	for _, c := range cmps {
		v := keys.Get([]byte(c.Key))
		if v == nil {
			if c.ModRevision != 0 {
				res.conflict = true
				return nil
			}
			continue
		}
		_, mod, err := decodeHeader(v)
		if err != nil {
			return err
		}
		if mod != c.ModRevision {
			res.conflict = true
			return nil
		}
	}
	cur, err := readMeta(tx, metaRevision)
	if err != nil {
		return err
	}
	rev := cur + 1
	var evs []store.Event
	for _, o := range ops {
		old := keys.Get(o.key)
		if o.delete {
			if old == nil {
				continue
			}
			if err := keys.Delete(o.key); err != nil {
				return err
			}
			evs = append(evs, store.Event{Type: store.EventDelete, KV: store.KV{Key: string(o.key), ModRevision: rev}})
			continue
		}
		create := rev
		if old != nil {
			if create, _, err = decodeHeader(old); err != nil {
				return err
			}
		}
		if err := keys.Put(o.key, encodeRecord(create, rev, o.value)); err != nil {
			return err
		}
		evs = append(evs, store.Event{Type: store.EventPut, KV: store.KV{Key: string(o.key), Value: o.value, CreateRevision: create, ModRevision: rev}})
	}
	if len(evs) == 0 {
		res.rev = cur
		return nil
	}
	if err := tx.Bucket(bucketHistory).Put(revKey(rev), encodeEvents(evs)); err != nil {
		return err
	}
	if err := tx.Bucket(bucketMeta).Put(metaRevision, revKey(rev)); err != nil {
		return err
	}
	if err := s.compact(tx, rev-s.opts.History); err != nil {
		return err
	}
	res.rev, res.events = rev, evs
	return nil
}

// compact drops history up to and including upTo. Done in every write, it
// removes about one entry per revision, so history never needs a sweep.
func (s *Store) compact(tx *bbolt.Tx, upTo int64) error {
	compacted, err := readMeta(tx, metaCompacted)
	if err != nil || upTo <= compacted {
		return err
	}
	c := tx.Bucket(bucketHistory).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.First() {
		rev, err := decodeRev(k)
		if err != nil {
			return err
		}
		if rev > upTo {
			break
		}
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return tx.Bucket(bucketMeta).Put(metaCompacted, revKey(upTo))
}

// Watch implements store.Store.
func (s *Store) Watch(ctx context.Context, prefix string, fromRevision int64) (<-chan store.Event, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	if fromRevision < 0 {
		return nil, errors.New("store: negative watch revision")
	}
	w := newWatcher(prefix)
	// Registering first means no revision is published between the history
	// this watcher reads and the live feed it receives.
	live := s.hub.add(w)
	from := fromRevision
	if from == 0 {
		from = live
	}
	var compacted int64
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		compacted, err = readMeta(tx, metaCompacted)
		return err
	})
	if err == nil && from < compacted {
		err = store.ErrCompacted
	}
	if err != nil {
		s.hub.remove(w)
		return nil, err
	}
	s.metrics.watchers.Inc()
	s.wg.Add(1)
	go s.runWatcher(ctx, w, from, live)
	return w.out, nil
}

// Close implements store.Store: it waits for calls in flight, closes every
// watch channel and then the file.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return store.ErrClosed
	}
	s.closed = true
	s.mu.Unlock()
	close(s.done)
	s.wg.Wait()
	s.metrics.unregister(s.opts.Registerer)
	return s.db.Close()
}
