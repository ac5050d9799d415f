package vulndb

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	json "github.com/go-json-experiment/json/v1"
	"github.com/prometheus/client_golang/prometheus"
	bbolt "go.etcd.io/bbolt"
)

// The database is its own bbolt file in the data dir, not keys in the
// state store: an import writes tens of thousands of records in one
// transaction, which in the state store would flood its watch history and
// every watcher with events nobody watches, and block its writers.
//
// Buckets:
//   - "records": OSV id -> the record's JSON as imported (compacted).
//   - "index": base ecosystem NUL package name NUL id -> the record's
//     affected entries for that package (indexEntry list), so matching a
//     package is one prefix scan that reads only what it compares.
//   - "meta": "format" -> formatVersion, "info" -> the Info JSON, kept up
//     to date by every import.
var (
	bucketRecords = []byte("records")
	bucketIndex   = []byte("index")
	bucketMeta    = []byte("meta")
	metaFormat    = []byte("format")
	metaInfo      = []byte("info")
)

const formatVersion = "1"

// indexEntry is one affected entry of a record, for one package.
type indexEntry struct {
	// Ecosystem is the entry's full ecosystem ("Debian:12").
	Ecosystem string     `json:"e"`
	Ranges    []osvRange `json:"r,omitempty"`
	Versions  []string   `json:"v,omitempty"`
	// Affected is the entry's position in the record's affected list.
	Affected int `json:"a"`
}

// DB is the vulnerability database. Its methods are safe for concurrent
// use; imports are serialized, matches run alongside them and see either
// all of an import or none of it.
type DB struct {
	bolt    *bbolt.DB
	log     *slog.Logger
	now     func() time.Time
	metrics *metrics

	// info caches the committed Info for the metrics.
	mu   sync.Mutex
	info Info
}

// Options tune Open. The zero value gives the defaults.
type Options struct {
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Registerer receives the database's metrics; nil registers none.
	// Close unregisters them.
	Registerer prometheus.Registerer
	// Now is the clock for Info.ImportedAt; nil means time.Now.
	Now func() time.Time
	// LockTimeout is how long Open waits for another process to release
	// the file. Default 5s.
	LockTimeout time.Duration
}

// Open opens the database file at path, creating it if needed.
func Open(path string, opts Options) (*DB, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.LockTimeout == 0 {
		opts.LockTimeout = 5 * time.Second
	}
	b, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: opts.LockTimeout, FreelistType: bbolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("vulndb: open %s: %w", path, err)
	}
	var info Info
	err = b.Update(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketRecords, bucketIndex, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch format := meta.Get(metaFormat); {
		case format == nil:
			if err := meta.Put(metaFormat, []byte(formatVersion)); err != nil {
				return err
			}
		case string(format) != formatVersion:
			return fmt.Errorf("file format %q, this berth reads %q", format, formatVersion)
		}
		info, err = readInfo(tx)
		return err
	})
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("vulndb: %s: %w", path, err)
	}
	db := &DB{bolt: b, log: opts.Logger, now: opts.Now, info: info}
	db.metrics, err = newMetrics(opts.Registerer, db.cachedInfo)
	if err != nil {
		b.Close()
		return nil, err
	}
	return db, nil
}

// Close closes the file and unregisters the metrics.
func (db *DB) Close() error {
	db.metrics.unregister()
	return db.bolt.Close()
}

// Info describes the database's committed contents.
func (db *DB) Info() (Info, error) {
	var info Info
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		info, err = readInfo(tx)
		return err
	})
	return info, err
}

func (db *DB) cachedInfo() Info {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.info
}

func readInfo(tx *bbolt.Tx) (Info, error) {
	var info Info
	raw := tx.Bucket(bucketMeta).Get(metaInfo)
	if raw == nil {
		return info, nil
	}
	if err := json.Unmarshal(raw, &info); err != nil {
		return Info{}, fmt.Errorf("vulndb: corrupt info: %w", err)
	}
	return info, nil
}

func writeInfo(tx *bbolt.Tx, info Info) error {
	raw, err := json.Marshal(info)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketMeta).Put(metaInfo, raw)
}

// indexKey is the index key of one record for one package, and
// indexPrefix the prefix of all a package's records.
func indexKey(base, name, id string) []byte {
	return append(indexPrefix(base, name), id...)
}

func indexPrefix(base, name string) []byte {
	key := make([]byte, 0, len(base)+len(name)+2)
	key = append(key, base...)
	key = append(key, 0)
	key = append(key, name...)
	return append(key, 0)
}

// recordIndex groups a record's affected entries by (base ecosystem,
// package name). Withdrawn records are not indexed: they match nothing.
func recordIndex(rec *osvRecord) map[[2]string][]indexEntry {
	if rec.withdrawn() {
		return nil
	}
	out := map[[2]string][]indexEntry{}
	for i, a := range rec.Affected {
		if a.Package == nil {
			continue
		}
		e := indexEntry{Ecosystem: a.Package.Ecosystem, Versions: a.Versions, Affected: i}
		for _, r := range a.Ranges {
			if r.Type == rangeEcosystem || r.Type == rangeSemver {
				e.Ranges = append(e.Ranges, r)
			}
		}
		if len(e.Ranges) == 0 && len(e.Versions) == 0 {
			continue
		}
		k := [2]string{baseEcosystem(a.Package.Ecosystem), a.Package.Name}
		out[k] = append(out[k], e)
	}
	return out
}

// putIndex writes (or, with remove, deletes) a record's index entries.
func putIndex(tx *bbolt.Tx, rec *osvRecord, remove bool) error {
	b := tx.Bucket(bucketIndex)
	for k, entries := range recordIndex(rec) {
		key := indexKey(k[0], k[1], rec.ID)
		if remove {
			if err := b.Delete(key); err != nil {
				return err
			}
			continue
		}
		raw, err := json.Marshal(entries)
		if err != nil {
			return err
		}
		if err := b.Put(key, raw); err != nil {
			return err
		}
	}
	return nil
}

// count adds (delta 1) or removes (delta -1) a record in info's counts.
func (info *Info) count(rec *osvRecord, delta int) {
	if rec.withdrawn() {
		info.Withdrawn += delta
		return
	}
	info.Records += delta
	for _, eco := range rec.ecosystems() {
		if info.Ecosystems == nil {
			info.Ecosystems = map[string]int{}
		}
		info.Ecosystems[eco] += delta
		if info.Ecosystems[eco] <= 0 {
			delete(info.Ecosystems, eco)
		}
	}
}
