package local

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sync"
	"syscall"

	"github.com/opencontainers/go-digest"
	"github.com/prometheus/client_golang/prometheus"
)

// bufPool hands out byte slices of one capacity; larger requests, and every
// request to a nil pool, are allocated.
type bufPool struct {
	size int
	p    sync.Pool
}

func (p *bufPool) get(n int) *[]byte {
	if p == nil || n > p.size {
		b := make([]byte, n)
		return &b
	}
	if v := p.p.Get(); v != nil {
		b := v.(*[]byte)
		*b = (*b)[:n]
		return b
	}
	b := make([]byte, n, p.size)
	return &b
}

func (p *bufPool) put(b *[]byte) {
	if p != nil && cap(*b) == p.size {
		p.p.Put(b)
	}
}

// reader serves a blob's plaintext with random access: a read decrypts only
// the segments it touches, and keeps the last one for the next read.
type reader struct {
	ra     io.ReaderAt
	c      io.Closer
	h      header
	sc     *segCipher // nil for a plaintext file
	pool   *bufPool
	read   prometheus.Counter
	pos    int64
	closed bool

	buf   *[]byte // one stored segment, decrypted in place
	plain []byte  // plaintext of segment cur, inside buf
	cur   int64   // -1 when buf holds no plaintext

	// mapped is the whole file mapped read-only, when it is; segments are
	// then decrypted straight from the page cache, sparing pread's copy.
	mapped []byte
}

// newReader checks the header of a blob file of fileLen bytes, stored as d;
// key is the store's master key (nil: the store keeps plaintext). It checks
// the last segment, which binds the file to d; the others are checked as
// they are read.
// mapped, when not nil, is the whole file mapped read-only; the reader
// unmaps it on Close (or when newReader fails).
func newReader(ra io.ReaderAt, c io.Closer, fileLen int64, mapped []byte, key []byte, d digest.Digest, pool *bufPool, read prometheus.Counter) (r *reader, err error) {
	defer func() {
		if err != nil && mapped != nil {
			syscall.Munmap(mapped)
		}
	}()
	h, err := readHeader(ra, fileLen, key != nil)
	if err != nil {
		return nil, err
	}
	r = &reader{ra: ra, c: c, h: h, pool: pool, read: read, cur: -1, mapped: mapped}
	if key != nil {
		if r.sc, err = newSegCipher(key, &h, d); err != nil {
			return nil, err
		}
		if err := r.loadLast(); err != nil {
			r.pool.put(r.buf)
			return nil, err
		}
	}
	return r, nil
}

// loadLast decrypts the last segment, which binds the file to its digest.
func (r *reader) loadLast() (err error) {
	if r.mapped != nil {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer catchFault(&err)
	}
	return r.load(r.h.segments() - 1)
}

// catchFault turns a fault while touching a mapped file (an I/O error on
// the disk arrives as SIGBUS) into a read error instead of a crash. It must
// be deferred directly, with debug.SetPanicOnFault on.
func catchFault(err *error) {
	e := recover()
	if e == nil {
		return
	}
	if _, ok := e.(interface{ Addr() uintptr }); ok {
		*err = fmt.Errorf("%w: fault reading mapped file: %v", ErrCorrupt, e)
		return
	}
	panic(e)
}

func (r *reader) Size() int64 { return r.h.size }

func (r *reader) Read(p []byte) (n int, err error) {
	if r.closed {
		return 0, os.ErrClosed
	}
	if r.pos >= r.h.size {
		return 0, io.EOF
	}
	if r.mapped != nil {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer catchFault(&err)
	}
	if r.sc == nil {
		n, err = r.readPlain(p)
	} else {
		n, err = r.readSegments(p)
	}
	r.pos += int64(n)
	r.read.Add(float64(n))
	return n, err
}

func (r *reader) readPlain(p []byte) (int, error) {
	p = p[:min(int64(len(p)), r.h.size-r.pos)]
	n, err := r.ra.ReadAt(p, headerSize+r.pos)
	if n < len(p) {
		return n, readErr(err)
	}
	return n, nil
}

// readErr maps a short read to corruption: the header promised more bytes.
func readErr(err error) error {
	if err == nil || errors.Is(err, io.EOF) {
		return corrupt("file is shorter than its header says")
	}
	return err
}

func (r *reader) readSegments(p []byte) (int, error) {
	n := 0
	for n < len(p) && r.pos+int64(n) < r.h.size {
		pos := r.pos + int64(n)
		i := pos / r.h.segSize
		off := pos - i*r.h.segSize
		if i != r.cur {
			// A whole segment that fits in p is decrypted straight into
			// it, sparing a copy.
			if plainLen := r.h.segPlainLen(i); off == 0 && int64(len(p)-n) >= plainLen {
				seg, err := r.loadStored(i)
				if err != nil {
					return n, err
				}
				if _, err := r.sc.open(p[n:n], seg, i, i == r.h.segments()-1); err != nil {
					return n, err
				}
				n += int(plainLen)
				continue
			}
			if err := r.load(i); err != nil {
				return n, err
			}
		}
		n += copy(p[n:], r.plain[off:])
	}
	return n, nil
}

// loadStored reads stored segment i into buf, invalidating its plaintext.
func (r *reader) loadStored(i int64) ([]byte, error) {
	r.cur = -1
	if r.mapped != nil {
		start := headerSize + i*(r.h.segSize+segOverhead)
		end := start + r.h.segPlainLen(i) + segOverhead
		if end > int64(len(r.mapped)) {
			return nil, readErr(io.EOF)
		}
		return r.mapped[start:end:end], nil
	}
	if r.buf == nil {
		r.buf = r.pool.get(int(min(r.h.segSize, r.h.size)) + segOverhead)
	}
	seg := (*r.buf)[:r.h.segPlainLen(i)+segOverhead]
	if n, err := r.ra.ReadAt(seg, headerSize+i*(r.h.segSize+segOverhead)); n < len(seg) {
		return nil, readErr(err)
	}
	return seg, nil
}

func (r *reader) load(i int64) error {
	seg, err := r.loadStored(i)
	if err != nil {
		return err
	}
	dst := seg[nonceSize:nonceSize]
	if r.mapped != nil {
		// The mapping is read-only: decrypt into the reader's own buffer.
		if r.buf == nil {
			r.buf = r.pool.get(int(min(r.h.segSize, r.h.size)) + segOverhead)
		}
		dst = (*r.buf)[:0]
	}
	if r.plain, err = r.sc.open(dst, seg, i, i == r.h.segments()-1); err != nil {
		return err
	}
	r.cur = i
	return nil
}

func (r *reader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.pos
	case io.SeekEnd:
		offset += r.h.size
	default:
		return 0, errors.New("blob: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("blob: negative position")
	}
	r.pos = offset
	return offset, nil
}

func (r *reader) Close() error {
	if r.closed {
		return os.ErrClosed
	}
	r.closed = true
	if r.buf != nil {
		r.pool.put(r.buf)
		r.buf, r.plain, r.cur = nil, nil, -1
	}
	if r.mapped != nil {
		syscall.Munmap(r.mapped)
		r.mapped = nil
	}
	return r.c.Close()
}
