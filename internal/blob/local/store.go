// Package local is the blob store on local disk: blobs/<alg>/<first2>/<hex>
// holds committed blobs and uploads/<id> the sessions in progress. With a key
// every file is AES-256-GCM encrypted in segments as it is written, so no
// plaintext reaches the disk; see format.go for the file format.
package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/berth/berth/internal/blob"
	"github.com/opencontainers/go-digest"
	"github.com/prometheus/client_golang/prometheus"
)

// Options configures a Store.
type Options struct {
	// Key is the 32-byte AES-256 master key. Nil stores plaintext, which
	// exists only to measure what encryption costs.
	Key []byte
	// Registerer, if set, receives the store's metrics.
	Registerer prometheus.Registerer
	// Now is the clock that stamps blobs' and sessions' use (nil: time.Now).
	Now func() time.Time
}

// Store is a blob.Store on local disk.
type Store struct {
	blobs   string
	uploads string
	key     []byte
	segSize int64
	m       *metrics

	segPool   *bufPool // one stored segment, for readers
	batchPool sync.Pool

	mu      sync.Mutex
	pending map[string]*upload

	now func() time.Time
	// locks serialise what changes a blob file's existence or use time
	// (commit, refresh, garbage deletion) per digest.
	locks blob.DigestLocks
}

var (
	_ blob.Store  = (*Store)(nil)
	_ blob.Upload = (*upload)(nil)
	_ blob.Reader = (*reader)(nil)
)

// batchBytes is how much an upload seals per write system call; hashing
// runs beside sealing once per batch.
const batchBytes = 1 << 20

// Open opens (creating if needed) the store in dir and removes upload files
// left by a crash: sessions do not survive a restart.
func Open(dir string, opts Options) (*Store, error) {
	return open(dir, opts, defaultSegmentSize)
}

func open(dir string, opts Options, segSize int64) (*Store, error) {
	if opts.Key != nil && len(opts.Key) != 32 {
		return nil, fmt.Errorf("blob: key is %d bytes, want 32", len(opts.Key))
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	s := &Store{
		blobs:   filepath.Join(dir, "blobs"),
		uploads: filepath.Join(dir, "uploads"),
		key:     bytes.Clone(opts.Key),
		segSize: segSize,
		m:       m,
		segPool: &bufPool{size: int(segSize) + segOverhead},
		pending: make(map[string]*upload),
		now:     opts.Now,
	}
	if s.now == nil {
		s.now = time.Now
	}
	for _, d := range []string{s.blobs, s.uploads} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	leftovers, err := os.ReadDir(s.uploads)
	if err != nil {
		return nil, err
	}
	for _, e := range leftovers {
		if err := os.RemoveAll(filepath.Join(s.uploads, e.Name())); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// batch is an upload's working memory for one WriteAt call.
type batch struct {
	plain  []byte // the held-back segment, then up to batchBytes more
	out    []byte // sealed segments
	nonces []byte
}

func (s *Store) getBatch() *batch {
	if b, ok := s.batchPool.Get().(*batch); ok {
		return b
	}
	// One segment more than is sealed per batch: the last one read is held
	// back, and a batch must still seal at least one.
	n := max(1, batchBytes/s.segSize)
	return &batch{
		plain:  make([]byte, (n+1)*s.segSize),
		out:    make([]byte, 0, n*(s.segSize+segOverhead)),
		nonces: make([]byte, n*nonceSize),
	}
}

// checkDigest accepts well-formed sha256 and sha512 digests. Everything that
// builds a path from a digest goes through it, so no digest escapes blobs/.
func checkDigest(d digest.Digest) error {
	err := d.Validate()
	if errors.Is(err, digest.ErrDigestUnsupported) {
		return blob.ErrUnsupportedDigest
	}
	if err != nil {
		return fmt.Errorf("blob: invalid digest %q: %w", d, err)
	}
	if a := d.Algorithm(); a != digest.SHA256 && a != digest.SHA512 {
		return blob.ErrUnsupportedDigest
	}
	return nil
}

func (s *Store) blobPath(d digest.Digest) string {
	hex := d.Encoded()
	return filepath.Join(s.blobs, string(d.Algorithm()), hex[:2], hex)
}

// Stat returns the size recorded in the blob's header, after checking the
// header against the file length. Segments are checked when read.
func (s *Store) Stat(ctx context.Context, d digest.Digest) (int64, error) {
	if err := checkDigest(d); err != nil {
		return 0, err
	}
	return s.statPath(s.blobPath(d))
}

func (s *Store) statPath(path string) (int64, error) {
	f, fileLen, err := openFile(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	h, err := readHeader(f, fileLen, s.key != nil)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return h.size, nil
}

func openFile(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, blob.ErrNotFound
	}
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

// Open returns a reader over the blob's plaintext. It is not safe for
// concurrent use; open one per request.
func (s *Store) Open(ctx context.Context, d digest.Digest) (blob.Reader, error) {
	if err := checkDigest(d); err != nil {
		return nil, err
	}
	path := s.blobPath(d)
	f, fileLen, err := openFile(path)
	if err != nil {
		return nil, err
	}
	r, err := newReader(f, f, fileLen, s.mapForReading(f, fileLen), s.key, d, s.segPool, s.m.read)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// mmapMinSize is the smallest encrypted blob read through a mapping; below
// it the mapping costs more than the copy it saves.
const mmapMinSize = 1 << 20

// mapForReading maps a large encrypted blob file read-only, or returns nil
// (then the reader uses pread). Committed blob files are never written
// again, so the mapping can't change under the reader.
func (s *Store) mapForReading(f *os.File, fileLen int64) []byte {
	if s.key == nil || fileLen < mmapMinSize || int64(int(fileLen)) != fileLen {
		return nil
	}
	mapped, err := syscall.Mmap(int(f.Fd()), 0, int(fileLen), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil
	}
	// Pulls read blobs start to end: let the kernel read ahead.
	syscall.Madvise(mapped, syscall.MADV_SEQUENTIAL)
	return mapped
}

// Delete removes a blob. Readers that have it open keep reading it.
func (s *Store) Delete(ctx context.Context, d digest.Digest) error {
	if err := checkDigest(d); err != nil {
		return err
	}
	err := os.Remove(s.blobPath(d))
	if errors.Is(err, fs.ErrNotExist) {
		return blob.ErrNotFound
	}
	return err
}

// Walk calls fn for every stored blob, with the size Stat would return and
// the file's modification time, which commits and refreshes set. Files not
// named like blobs are skipped; a blob whose header is corrupt stops the
// walk with an error naming it.
func (s *Store) Walk(ctx context.Context, fn func(blob.Info) error) error {
	for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA512} {
		algDir := filepath.Join(s.blobs, string(alg))
		prefixes, err := readDir(algDir)
		if err != nil {
			return err
		}
		for _, p := range prefixes {
			files, err := readDir(filepath.Join(algDir, p.Name()))
			if err != nil {
				return err
			}
			for _, f := range files {
				if err := ctx.Err(); err != nil {
					return err
				}
				d := digest.NewDigestFromEncoded(alg, f.Name())
				if d.Validate() != nil || f.Name()[:2] != p.Name() {
					continue
				}
				path := filepath.Join(algDir, p.Name(), f.Name())
				fi, err := os.Stat(path)
				if errors.Is(err, fs.ErrNotExist) {
					continue // deleted since the listing
				}
				if err != nil {
					return err
				}
				size, err := s.statPath(path)
				if errors.Is(err, blob.ErrNotFound) {
					continue
				}
				if err != nil {
					return err
				}
				if err := fn(blob.Info{Digest: d, Size: size, UsedAt: fi.ModTime()}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Refresh sets the blob file's modification time, which records its use,
// to now.
func (s *Store) Refresh(ctx context.Context, d digest.Digest) (int64, error) {
	if err := checkDigest(d); err != nil {
		return 0, err
	}
	unlock := s.locks.Lock(d)
	defer unlock()
	return s.refresh(s.blobPath(d))
}

// refresh marks the blob at path used now; the caller holds its lock.
func (s *Store) refresh(path string) (int64, error) {
	now := s.now()
	if err := os.Chtimes(path, now, now); errors.Is(err, fs.ErrNotExist) {
		return 0, blob.ErrNotFound
	} else if err != nil {
		return 0, err
	}
	return s.statPath(path)
}

// DeleteUnusedSince removes the blob if its modification time is before
// since. Readers that have it open keep reading it.
func (s *Store) DeleteUnusedSince(ctx context.Context, d digest.Digest, since time.Time) error {
	if err := checkDigest(d); err != nil {
		return err
	}
	unlock := s.locks.Lock(d)
	defer unlock()
	path := s.blobPath(d)
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return blob.ErrNotFound
	}
	if err != nil {
		return err
	}
	if !fi.ModTime().Before(since) {
		return blob.ErrRecentlyUsed
	}
	if err := os.Remove(path); errors.Is(err, fs.ErrNotExist) {
		return blob.ErrNotFound
	} else if err != nil {
		return err
	}
	s.m.collected.Inc()
	return nil
}

// ExpireUploads ends idle sessions and removes stray upload files.
func (s *Store) ExpireUploads(ctx context.Context, idleSince time.Time, dryRun bool) ([]blob.UploadInfo, error) {
	s.mu.Lock()
	open := make([]*upload, 0, len(s.pending))
	for _, u := range s.pending {
		open = append(open, u)
	}
	s.mu.Unlock()
	var expired []blob.UploadInfo
	for _, u := range open {
		if info, ok := u.expire(idleSince, dryRun); ok {
			expired = append(expired, info)
		}
	}
	// Files without a session: a session's file is created before the
	// session is registered, so only old files are considered.
	files, err := readDir(s.uploads)
	if err != nil {
		return expired, err
	}
	for _, f := range files {
		s.mu.Lock()
		_, isOpen := s.pending[f.Name()]
		s.mu.Unlock()
		if isOpen {
			continue
		}
		fi, err := f.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return expired, err
		}
		if !fi.ModTime().Before(idleSince) {
			continue
		}
		if !dryRun {
			if err := os.RemoveAll(filepath.Join(s.uploads, f.Name())); err != nil {
				return expired, err
			}
		}
		expired = append(expired, blob.UploadInfo{ID: f.Name(), Size: fi.Size(), ActiveAt: fi.ModTime()})
	}
	return expired, nil
}

// readDir lists a directory; a missing one is empty.
func readDir(dir string) ([]os.DirEntry, error) {
	es, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return es, err
}

// NewUpload starts a session backed by uploads/<id>.
func (s *Store) NewUpload(ctx context.Context) (blob.Upload, error) {
	idb := make([]byte, 16)
	rand.Read(idb)
	id := base64.RawURLEncoding.EncodeToString(idb)
	u, err := newUpload(s, id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.pending[id] = u
	s.mu.Unlock()
	s.m.active.Inc()
	return u, nil
}

// Upload returns the open session with that id.
func (s *Store) Upload(ctx context.Context, id string) (blob.Upload, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.pending[id]
	if !ok {
		return nil, blob.ErrNotFound
	}
	return u, nil
}

func (s *Store) forget(id string) {
	s.mu.Lock()
	delete(s.pending, id)
	s.mu.Unlock()
	s.m.active.Dec()
}

// syncDir makes a rename or creation in dir durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
