package local

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berth/berth/internal/blob"
	"github.com/opencontainers/go-digest"
)

// upload is a session writing uploads/<id>. With a key, content is sealed in
// segments as it arrives; the last segment (partial or not) is held in memory
// until more content shows it is not the last, or Commit seals it as last.
type upload struct {
	s    *Store
	id   string
	path string
	size atomic.Int64 // read without the lock, so Size never waits on a write

	started time.Time
	// active is when the session last received content or a commit, in
	// Unix nanoseconds (set under mu, read by expire under mu).
	active atomic.Int64

	mu      sync.Mutex
	f       *os.File
	hdr     header
	sc      *segCipher // nil in plaintext mode
	sha     hash.Hash  // sha256 of everything accepted
	pending []byte     // accepted plaintext not sealed yet, at most one segment
	sealed  int64      // segments in the file
	err     error      // set when the file may no longer match the session
	ended   bool
}

func newUpload(s *Store, id string) (*upload, error) {
	path := filepath.Join(s.uploads, id)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	u := &upload{s: s, id: id, path: path, f: f, sha: sha256.New(), started: s.now()}
	u.active.Store(u.started.UnixNano())
	if s.key != nil {
		u.hdr = header{cipher: cipherAESGCM, segSize: s.segSize}
		rand.Read(u.hdr.fileID[:])
		// The digest is not known yet; finish sets it before sealing the
		// last segment.
		if u.sc, err = newSegCipher(s.key, &u.hdr, ""); err != nil {
			f.Close()
			os.Remove(path)
			return nil, err
		}
		u.pending = make([]byte, 0, s.segSize)
	}
	return u, nil
}

func (u *upload) ID() string  { return u.id }
func (u *upload) Size() int64 { return u.size.Load() }
func (u *upload) usable() error {
	if u.ended {
		return blob.ErrNotFound
	}
	if u.err != nil {
		return fmt.Errorf("blob: upload %s failed earlier: %w", u.id, u.err)
	}
	return nil
}

// fileOffset is where the next sealed segment or plaintext byte goes.
func (u *upload) fileOffset() int64 {
	if u.sc == nil {
		return headerSize + u.size.Load()
	}
	return headerSize + u.sealed*(u.s.segSize+segOverhead)
}

// held is how many of n unsealed bytes must stay in memory: in encrypted
// mode the last segment, which may turn out to be the blob's last.
func (u *upload) held(n int64) int64 {
	if u.sc == nil || n == 0 {
		return 0
	}
	return n - (n-1)/u.s.segSize*u.s.segSize
}

func (u *upload) WriteAt(ctx context.Context, r io.Reader, offset int64) (int64, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if err := u.usable(); err != nil {
		return 0, err
	}
	if offset != u.size.Load() {
		return 0, blob.ErrUploadOffset
	}
	defer u.touch()
	b := u.s.getBatch()
	defer u.s.batchPool.Put(b)

	n := copy(b.plain, u.pending)
	// Whatever arrived stays, even when the body fails midway: the client
	// may resume from Size().
	defer func() { u.pending = append(u.pending[:0], b.plain[:n]...) }()
	var written int64
	for {
		if err := ctx.Err(); err != nil {
			return written, err
		}
		m, rerr := fill(r, b.plain[n:])
		if m > 0 {
			fresh := b.plain[n : n+m]
			n += m
			keep := int(u.held(int64(n)))
			// Hashing and sealing read the same bytes; on separate cores
			// they roughly double upload throughput.
			var wg sync.WaitGroup
			wg.Go(func() { u.sha.Write(fresh) })
			werr := u.flush(b, b.plain[:n-keep])
			wg.Wait()
			n = copy(b.plain, b.plain[n-keep:n])
			u.size.Add(int64(m))
			written += int64(m)
			u.s.m.written.Add(float64(m))
			if werr != nil {
				u.err = werr
				return written, werr
			}
		}
		if rerr == io.EOF {
			return written, nil
		}
		if rerr != nil {
			return written, rerr
		}
	}
}

// fill reads until b is full or r fails.
func fill(r io.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// flush writes plain, whole segments in encrypted mode, at the end of the
// file with one system call.
func (u *upload) flush(b *batch, plain []byte) error {
	if len(plain) == 0 {
		return nil
	}
	off := u.fileOffset()
	if u.sc == nil {
		_, err := u.f.WriteAt(plain, off)
		return err
	}
	seg := int(u.s.segSize)
	segs := len(plain) / seg
	nonces := b.nonces[:segs*nonceSize]
	rand.Read(nonces)
	out := b.out[:0]
	for j := range segs {
		out = u.sc.seal(out, nonces[j*nonceSize:(j+1)*nonceSize], plain[j*seg:(j+1)*seg], u.sealed, false)
		u.sealed++
	}
	_, err := u.f.WriteAt(out, off)
	return err
}

func (u *upload) Commit(ctx context.Context, d digest.Digest) (int64, error) {
	if err := checkDigest(d); err != nil {
		return 0, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if err := u.usable(); err != nil {
		return 0, err
	}
	u.touch()
	ok, err := u.matches(d)
	if err != nil {
		return 0, err
	}
	if !ok {
		u.s.m.mismatches.Inc()
		return 0, blob.ErrDigestMismatch
	}
	size := u.size.Load()
	dst := u.s.blobPath(d)
	// Under the digest's lock a garbage collector can't delete the blob
	// between the check below and the caller linking it: the blob is
	// either gone before (and written again here) or refreshed here, so
	// the collector's guarded delete keeps it.
	unlock := u.s.locks.Lock(d)
	defer unlock()
	// A blob that is already stored, whole as far as its header shows, is
	// kept; a damaged one is replaced by this upload.
	if _, err := u.s.refresh(dst); err == nil {
		u.s.m.commits.Inc()
		return size, u.end(true)
	}
	if err := u.finish(d, dst, size); err != nil {
		u.err = err
		return 0, err
	}
	u.s.m.commits.Inc()
	return size, u.end(false)
}

// matches reports whether the content hashes to d. sha256 was hashed while
// streaming; sha512, rare in practice, re-reads the upload file.
func (u *upload) matches(d digest.Digest) (bool, error) {
	if d.Algorithm() == digest.SHA256 {
		return hex.EncodeToString(u.sha.Sum(nil)) == d.Encoded(), nil
	}
	h := sha512.New()
	if u.sc == nil {
		if _, err := io.Copy(h, io.NewSectionReader(u.f, headerSize, u.size.Load())); err != nil {
			return false, err
		}
		return hex.EncodeToString(h.Sum(nil)) == d.Encoded(), nil
	}
	stored := make([]byte, u.s.segSize+segOverhead)
	for i := range u.sealed {
		if _, err := u.f.ReadAt(stored, headerSize+i*int64(len(stored))); err != nil {
			return false, err
		}
		plain, err := u.sc.open(stored[nonceSize:nonceSize], stored, i, false)
		if err != nil {
			return false, err
		}
		h.Write(plain)
	}
	h.Write(u.pending)
	return hex.EncodeToString(h.Sum(nil)) == d.Encoded(), nil
}

// finish seals the last segment, writes the header, and moves the file into
// place durably.
func (u *upload) finish(d digest.Digest, dst string, size int64) error {
	if u.sc != nil {
		u.sc.digest = d
		nonce := make([]byte, nonceSize)
		rand.Read(nonce)
		last := u.sc.seal(make([]byte, 0, len(u.pending)+segOverhead), nonce, u.pending, u.sealed, true)
		if _, err := u.f.WriteAt(last, u.fileOffset()); err != nil {
			return err
		}
	}
	h := u.hdr
	h.size = size
	if _, err := u.f.WriteAt(h.marshal(), 0); err != nil {
		return err
	}
	if err := u.f.Sync(); err != nil {
		return err
	}
	// The file's time says when the blob was last used (Walk): its
	// commit, not its last write.
	now := u.s.now()
	if err := os.Chtimes(u.path, now, now); err != nil {
		return err
	}
	dir := filepath.Dir(dst)
	if err := mkdirDurable(dir); err != nil {
		return err
	}
	if err := os.Rename(u.path, dst); err != nil {
		return err
	}
	return syncDir(dir)
}

// mkdirDurable creates dir and any missing parents, syncing each parent so
// the new entries survive a crash. The store root exists already.
func mkdirDurable(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	parent := filepath.Dir(dir)
	if err := mkdirDurable(parent); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(parent)
}

func (u *upload) Cancel(ctx context.Context) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.ended {
		return blob.ErrNotFound
	}
	return u.end(true)
}

func (u *upload) touch() { u.active.Store(u.s.now().UnixNano()) }

// expire ends the session if it has been idle since before idleSince (or,
// with dryRun, reports that it would). A session in a write or commit holds
// mu and is skipped: it is not idle.
func (u *upload) expire(idleSince time.Time, dryRun bool) (blob.UploadInfo, bool) {
	if !u.mu.TryLock() {
		return blob.UploadInfo{}, false
	}
	defer u.mu.Unlock()
	active := time.Unix(0, u.active.Load())
	if u.ended || !active.Before(idleSince) {
		return blob.UploadInfo{}, false
	}
	info := blob.UploadInfo{ID: u.id, Size: u.size.Load(), StartedAt: u.started, ActiveAt: active}
	if !dryRun {
		if err := u.end(true); err != nil {
			// The session is gone either way; its file may linger until
			// the next sweep finds it.
			u.err = err
		}
	}
	return info, true
}

// end closes the session, removing its file unless it was committed.
func (u *upload) end(remove bool) error {
	u.ended = true
	u.pending = nil
	u.s.forget(u.id)
	err := u.f.Close()
	if remove {
		if rerr := os.Remove(u.path); rerr != nil && err == nil {
			err = rerr
		}
	}
	return err
}
