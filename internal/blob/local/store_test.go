package local

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth/berth/internal/blob"
	"github.com/opencontainers/go-digest"
	"github.com/prometheus/client_golang/prometheus"
)

var testKey = bytes.Repeat([]byte{0x42}, 32)

type mode struct {
	name string
	key  []byte
}

var modes = []mode{{"plain", nil}, {"aes", testKey}}

func newStore(t testing.TB, key []byte, seg int64) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := open(dir, Options{Key: key}, seg)
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// writeChunked uploads data in randomly sized WriteAt calls and returns the
// session uncommitted.
func writeChunked(t testing.TB, s *Store, rng *rand.Rand, data []byte) blob.Upload {
	t.Helper()
	ctx := context.Background()
	u, err := s.NewUpload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(data); {
		n := min(len(data)-off, 1+rng.IntN(3*int(s.segSize)))
		w, err := u.WriteAt(ctx, bytes.NewReader(data[off:off+n]), int64(off))
		if err != nil || w != int64(n) {
			t.Fatalf("WriteAt at %d: wrote %d of %d: %v", off, w, n, err)
		}
		off += n
		if u.Size() != int64(off) {
			t.Fatalf("Size %d, want %d", u.Size(), off)
		}
	}
	return u
}

func put(t testing.TB, s *Store, rng *rand.Rand, data []byte) digest.Digest {
	t.Helper()
	d := digest.FromBytes(data)
	n, err := writeChunked(t, s, rng, data).Commit(context.Background(), d)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("Commit: %d, %v", n, err)
	}
	return d
}

func get(s *Store, d digest.Digest) ([]byte, error) {
	r, err := s.Open(context.Background(), d)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func TestRoundTrip(t *testing.T) {
	for _, m := range modes {
		for _, seg := range []int64{64, defaultSegmentSize} {
			t.Run(fmt.Sprintf("%s/seg%d", m.name, seg), func(t *testing.T) {
				s, _ := newStore(t, m.key, seg)
				rng := rand.New(rand.NewPCG(1, uint64(seg)))
				want := map[digest.Digest]int64{}
				for _, size := range []int64{0, 1, seg - 1, seg, seg + 1, 2 * seg, 3*seg + 7, 3<<20 + 5} {
					data := randBytes(rng, int(size))
					d := put(t, s, rng, data)
					want[d] = size
					if n, err := s.Stat(context.Background(), d); err != nil || n != size {
						t.Fatalf("Stat(%d bytes) = %d, %v", size, n, err)
					}
					got, err := get(s, d)
					if err != nil {
						t.Fatalf("read %d bytes: %v", size, err)
					}
					if !bytes.Equal(got, data) {
						t.Fatalf("read of %d bytes differs", size)
					}
				}
				got := map[digest.Digest]int64{}
				if err := s.Walk(context.Background(), func(b blob.Info) error {
					got[b.Digest] = b.Size
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("Walk = %v, want %v", got, want)
				}
				assertNoUploads(t, s)
			})
		}
	}
}

func assertNoUploads(t *testing.T, s *Store) {
	t.Helper()
	es, err := os.ReadDir(s.uploads)
	if err != nil || len(es) != 0 {
		t.Fatalf("uploads dir: %v, %v", es, err)
	}
	if len(s.pending) != 0 {
		t.Fatalf("%d sessions still open", len(s.pending))
	}
}

func TestRangeReads(t *testing.T) {
	for _, m := range modes {
		for _, seg := range []int64{100, defaultSegmentSize} {
			t.Run(fmt.Sprintf("%s/seg%d", m.name, seg), func(t *testing.T) {
				s, _ := newStore(t, m.key, seg)
				rng := rand.New(rand.NewPCG(2, 2))
				data := randBytes(rng, 300<<10+17)
				d := put(t, s, rng, data)
				r, err := s.Open(context.Background(), d)
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				if r.Size() != int64(len(data)) {
					t.Fatalf("Size %d", r.Size())
				}
				for range 500 {
					off := rng.IntN(len(data) + 1)
					n := rng.IntN(3 * int(seg))
					if _, err := r.Seek(int64(off), io.SeekStart); err != nil {
						t.Fatal(err)
					}
					buf := make([]byte, n)
					got, err := io.ReadFull(r, buf)
					want := data[off:min(off+n, len(data))]
					if !bytes.Equal(buf[:got], want) || (got < n && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF)) {
						t.Fatalf("range %d+%d: got %d bytes, %v", off, n, got, err)
					}
				}
				if p, _ := r.Seek(-10, io.SeekEnd); p != int64(len(data)-10) {
					t.Fatalf("SeekEnd: %d", p)
				}
				if p, _ := r.Seek(3, io.SeekCurrent); p != int64(len(data)-7) {
					t.Fatalf("SeekCurrent: %d", p)
				}
				if rest, err := io.ReadAll(r); err != nil || !bytes.Equal(rest, data[len(data)-7:]) {
					t.Fatalf("tail: %v", err)
				}
				if _, err := r.Seek(-1, io.SeekStart); err == nil {
					t.Fatal("negative seek accepted")
				}
				r.Seek(int64(len(data)+5), io.SeekStart)
				if n, err := r.Read(make([]byte, 10)); n != 0 || err != io.EOF {
					t.Fatalf("read past end: %d, %v", n, err)
				}
			})
		}
	}
}

func TestServeContentRange(t *testing.T) {
	s, _ := newStore(t, testKey, defaultSegmentSize)
	rng := rand.New(rand.NewPCG(3, 3))
	data := randBytes(rng, 1<<20)
	d := put(t, s, rng, data)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r, err := s.Open(req.Context(), d)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer r.Close()
		http.ServeContent(w, req, "", time.Time{}, r)
	}))
	defer srv.Close()
	for _, rg := range [][2]int{{0, 0}, {65535, 65536}, {100000, 300000}, {len(data) - 1, len(data) - 1}} {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", rg[0], rg[1]))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, data[rg[0]:rg[1]+1]) {
			t.Fatalf("range %v: status %d, %d bytes, %v", rg, resp.StatusCode, len(body), err)
		}
	}
}

// A known pattern must not appear anywhere under the store, neither while
// the upload is open nor after commit. Plaintext mode proves the check sees
// the pattern when it is there.
func TestNoPlaintextOnDisk(t *testing.T) {
	pattern := []byte("berth-known-plaintext-pattern!")
	data := bytes.Repeat(pattern, (3<<20)/len(pattern))
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			s, dir := newStore(t, m.key, defaultSegmentSize)
			rng := rand.New(rand.NewPCG(4, 4))
			u := writeChunked(t, s, rng, data)
			open := treeContains(t, dir, pattern[:16])
			if _, err := u.Commit(context.Background(), digest.FromBytes(data)); err != nil {
				t.Fatal(err)
			}
			committed := treeContains(t, dir, pattern[:16])
			if m.key != nil && (open || committed) {
				t.Fatalf("plaintext found on disk: open upload %v, committed %v", open, committed)
			}
			if m.key == nil && !(open && committed) {
				t.Fatal("plaintext mode: pattern not found, the check is blind")
			}
		})
	}
}

func treeContains(t *testing.T, dir string, pat []byte) bool {
	found := false
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		found = found || bytes.Contains(b, pat)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// blobFile returns the path of a stored blob.
func blobFile(s *Store, d digest.Digest) string { return s.blobPath(d) }

// mustFail checks that a damaged blob yields an error, never other bytes.
func mustFail(t *testing.T, s *Store, d digest.Digest, data []byte, what string) {
	t.Helper()
	got, err := get(s, d)
	if err == nil {
		if bytes.Equal(got, data) {
			t.Fatalf("%s: damage not detected", what)
		}
		t.Fatalf("%s: read returned wrong bytes without an error", what)
	}
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("%s: error %v is not ErrCorrupt", what, err)
	}
}

func TestTamperEveryByte(t *testing.T) {
	const seg = 32
	s, _ := newStore(t, testKey, seg)
	rng := rand.New(rand.NewPCG(5, 5))
	for _, size := range []int{0, 20, 3*seg + 5} {
		data := randBytes(rng, size)
		d := put(t, s, rng, data)
		path := blobFile(s, d)
		orig, _ := os.ReadFile(path)
		for i := range orig {
			damaged := bytes.Clone(orig)
			damaged[i] ^= 0x01
			os.WriteFile(path, damaged, 0o600)
			mustFail(t, s, d, data, fmt.Sprintf("size %d, byte %d flipped", size, i))
		}
		os.WriteFile(path, orig, 0o600)
		if got, err := get(s, d); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("restored file: %v", err)
		}
	}
}

// Damage in one segment does not stop reads of the others.
func TestTamperIsLocal(t *testing.T) {
	const seg = 1024
	s, _ := newStore(t, testKey, seg)
	rng := rand.New(rand.NewPCG(6, 6))
	data := randBytes(rng, 4*seg)
	d := put(t, s, rng, data)
	path := blobFile(s, d)
	b, _ := os.ReadFile(path)
	b[headerSize+2*(seg+segOverhead)+100] ^= 0x80
	os.WriteFile(path, b, 0o600)
	r, err := s.Open(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	buf := make([]byte, 2*seg)
	if _, err := io.ReadFull(r, buf); err != nil || !bytes.Equal(buf, data[:2*seg]) {
		t.Fatalf("intact segments: %v", err)
	}
	n, err := r.Read(buf)
	if n != 0 || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("damaged segment: %d bytes, %v", n, err)
	}
	r.Seek(3*seg, io.SeekStart)
	if _, err := io.ReadFull(r, buf[:seg]); err != nil || !bytes.Equal(buf[:seg], data[3*seg:]) {
		t.Fatalf("segment after the damage: %v", err)
	}
}

func TestTruncateAndRearrange(t *testing.T) {
	const seg = 64
	const stored = seg + segOverhead
	s, _ := newStore(t, testKey, seg)
	rng := rand.New(rand.NewPCG(7, 7))
	data := randBytes(rng, 4*seg+10)
	d := put(t, s, rng, data)
	other := put(t, s, rng, randBytes(rng, 4*seg+10))
	path := blobFile(s, d)
	orig, _ := os.ReadFile(path)
	otherFile, _ := os.ReadFile(blobFile(s, other))

	withSize := func(b []byte, size int) []byte {
		b = bytes.Clone(b)
		binary.BigEndian.PutUint64(b[16:], uint64(size))
		return b
	}
	segAt := func(b []byte, i int) []byte { return b[headerSize+i*stored : headerSize+(i+1)*stored] }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	hdr := orig[:headerSize]

	cases := map[string][]byte{
		"empty file":           nil,
		"header only":          hdr,
		"header, size 0":       withSize(hdr, 0),
		"short by one":         orig[:len(orig)-1],
		"mid segment":          orig[:headerSize+stored+10],
		"segment boundary":     orig[:headerSize+2*stored],
		"boundary, size fixed": withSize(orig[:headerSize+2*stored], 2*seg),
		"last dropped, fixed":  withSize(orig[:headerSize+4*stored], 4*seg),
		"appended byte":        cat(orig, []byte{0}),
		"segment repeated, fixed": withSize(cat(hdr, segAt(orig, 0), segAt(orig, 0), segAt(orig, 1), segAt(orig, 2),
			segAt(orig, 3), orig[headerSize+4*stored:]), 5*seg+10),
		"segments swapped":          cat(hdr, segAt(orig, 1), segAt(orig, 0), orig[headerSize+2*stored:]),
		"spliced from another blob": cat(hdr, segAt(orig, 0), segAt(otherFile, 1), orig[headerSize+2*stored:]),
		"other blob's file":         otherFile, // same key, valid, wrong digest
	}
	for name, b := range cases {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		mustFail(t, s, d, data, name)
	}
}

func TestWrongKeyOrMode(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(8, 8))
	data := randBytes(rng, 1000)
	enc, _ := open(dir, Options{Key: testKey}, defaultSegmentSize)
	d := put(t, enc, rng, data)
	otherKey := bytes.Repeat([]byte{7}, 32)
	for name, key := range map[string][]byte{"other key": otherKey, "no key": nil} {
		s, err := Open(dir, Options{Key: key})
		if err != nil {
			t.Fatal(err)
		}
		mustFail(t, s, d, data, name)
	}

	plainDir := t.TempDir()
	plain, _ := Open(plainDir, Options{})
	pd := put(t, plain, rng, data)
	enc2, _ := Open(plainDir, Options{Key: testKey})
	mustFail(t, enc2, pd, data, "plaintext blob, store with key")
	if _, err := enc2.Stat(context.Background(), pd); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Stat: %v", err)
	}
	if _, err := Open(t.TempDir(), Options{Key: []byte("short")}); err == nil {
		t.Fatal("short key accepted")
	}
}

func TestSHA512(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			s, _ := newStore(t, m.key, 256)
			rng := rand.New(rand.NewPCG(9, 9))
			data := randBytes(rng, 10*256+3)
			u := writeChunked(t, s, rng, data)
			wrong := digest.SHA512.FromBytes(data[1:])
			if _, err := u.Commit(context.Background(), wrong); !errors.Is(err, blob.ErrDigestMismatch) {
				t.Fatalf("wrong sha512: %v", err)
			}
			d := digest.NewDigestFromBytes(digest.SHA512, func() []byte { h := sha512.Sum512(data); return h[:] }())
			if n, err := u.Commit(context.Background(), d); err != nil || n != int64(len(data)) {
				t.Fatalf("Commit: %d, %v", n, err)
			}
			if got, err := get(s, d); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read back: %v", err)
			}
		})
	}
}

func TestMismatchThenRetry(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			s, err := open(t.TempDir(), Options{Key: m.key, Registerer: reg}, 128)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			rng := rand.New(rand.NewPCG(10, 10))
			data := randBytes(rng, 1000)
			u := writeChunked(t, s, rng, data[:700])
			if _, err := u.Commit(ctx, digest.FromBytes(data)); !errors.Is(err, blob.ErrDigestMismatch) {
				t.Fatalf("short content: %v", err)
			}
			if u.Size() != 700 {
				t.Fatalf("Size after mismatch: %d", u.Size())
			}
			if same, err := s.Upload(ctx, u.ID()); err != nil || same != u {
				t.Fatalf("session gone after mismatch: %v", err)
			}
			if _, err := u.WriteAt(ctx, bytes.NewReader(data[700:]), 700); err != nil {
				t.Fatal(err)
			}
			if _, err := u.Commit(ctx, digest.FromBytes(data[:700])); !errors.Is(err, blob.ErrDigestMismatch) {
				t.Fatalf("stale digest: %v", err)
			}
			d := digest.FromBytes(data)
			if n, err := u.Commit(ctx, d); err != nil || n != 1000 {
				t.Fatalf("retry: %d, %v", n, err)
			}
			if got, err := get(s, d); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read back: %v", err)
			}
			if _, err := s.Upload(ctx, u.ID()); !errors.Is(err, blob.ErrNotFound) {
				t.Fatalf("session after commit: %v", err)
			}
			if _, err := u.WriteAt(ctx, bytes.NewReader(data), 1000); !errors.Is(err, blob.ErrNotFound) {
				t.Fatalf("write after commit: %v", err)
			}
			want := map[string]float64{
				"berth_blob_digest_mismatches_total": 2,
				"berth_blob_commits_total":           1,
				"berth_blob_written_bytes_total":     1000,
				"berth_blob_read_bytes_total":        1000,
				"berth_blob_active_uploads":          0,
				"berth_blob_collected_total":         0,
			}
			mfs, err := reg.Gather()
			if err != nil || len(mfs) != len(want) {
				t.Fatalf("gathered %d metrics, %v", len(mfs), err)
			}
			for _, mf := range mfs {
				m := mf.GetMetric()[0]
				if v := m.GetCounter().GetValue() + m.GetGauge().GetValue(); v != want[mf.GetName()] {
					t.Errorf("%s = %v, want %v", mf.GetName(), v, want[mf.GetName()])
				}
			}
			// A store reopened on the same registry shares its metrics.
			if _, err := open(t.TempDir(), Options{Key: m.key, Registerer: reg}, 128); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestDigestValidation(t *testing.T) {
	s, _ := newStore(t, testKey, 64)
	ctx := context.Background()
	u, _ := s.NewUpload(ctx)
	u.WriteAt(ctx, strings.NewReader("x"), 0)
	for d, want := range map[digest.Digest]error{
		"md5:d41d8cd98f00b204e9800998ecf8427e":             blob.ErrUnsupportedDigest,
		digest.SHA384.FromString("x"):                      blob.ErrUnsupportedDigest,
		"sha256:abc":                                       digest.ErrDigestInvalidLength,
		"sha256:" + digest.Digest(strings.Repeat("Z", 64)): digest.ErrDigestInvalidFormat,
		"sha256:../../../../etc/passwd":                    digest.ErrDigestInvalidLength,
		"nocolon":                                          digest.ErrDigestInvalidFormat,
		"":                                                 digest.ErrDigestInvalidFormat,
	} {
		if _, err := u.Commit(ctx, d); !errors.Is(err, want) {
			t.Errorf("Commit(%q) = %v, want %v", d, err, want)
		}
		if _, err := s.Stat(ctx, d); !errors.Is(err, want) {
			t.Errorf("Stat(%q) = %v, want %v", d, err, want)
		}
		if _, err := s.Open(ctx, d); !errors.Is(err, want) {
			t.Errorf("Open(%q) = %v, want %v", d, err, want)
		}
		if err := s.Delete(ctx, d); !errors.Is(err, want) {
			t.Errorf("Delete(%q) = %v, want %v", d, err, want)
		}
	}
	if n, err := u.Commit(ctx, digest.FromString("x")); err != nil || n != 1 {
		t.Fatalf("session unusable after bad digests: %v", err)
	}
}

func TestUploadOffsetAndCancel(t *testing.T) {
	s, _ := newStore(t, testKey, 64)
	ctx := context.Background()
	u, _ := s.NewUpload(ctx)
	if len(u.ID()) < 16 || strings.ContainsAny(u.ID(), "/+=?&%") {
		t.Fatalf("id %q is not URL-safe", u.ID())
	}
	u.WriteAt(ctx, strings.NewReader("hello"), 0)
	for _, off := range []int64{0, 4, 6, -1} {
		if n, err := u.WriteAt(ctx, strings.NewReader("x"), off); n != 0 || !errors.Is(err, blob.ErrUploadOffset) {
			t.Fatalf("WriteAt(%d) = %d, %v", off, n, err)
		}
	}
	if u.Size() != 5 {
		t.Fatalf("Size %d", u.Size())
	}
	if err := u.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	assertNoUploads(t, s)
	if _, err := s.Upload(ctx, u.ID()); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Upload after Cancel: %v", err)
	}
	if _, err := u.Commit(ctx, digest.FromString("hello")); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Commit after Cancel: %v", err)
	}
	if err := u.Cancel(ctx); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("second Cancel: %v", err)
	}
	if _, err := s.Upload(ctx, "nope"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
}

type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data[:min(len(r.data), 777)])
	r.data = r.data[n:]
	return n, nil
}

// A body cut off mid-stream keeps what arrived, so the client can resume.
func TestInterruptedWriteResumes(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			s, _ := newStore(t, m.key, 1000)
			ctx := context.Background()
			data := randBytes(rand.New(rand.NewPCG(11, 11)), 5000)
			u, _ := s.NewUpload(ctx)
			cut := errors.New("connection reset")
			n, err := u.WriteAt(ctx, &failingReader{data[:3333], cut}, 0)
			if n != 3333 || !errors.Is(err, cut) || u.Size() != 3333 {
				t.Fatalf("interrupted: %d, %v, Size %d", n, err, u.Size())
			}
			if _, err := u.WriteAt(ctx, bytes.NewReader(data[3333:]), u.Size()); err != nil {
				t.Fatal(err)
			}
			d := digest.FromBytes(data)
			if _, err := u.Commit(ctx, d); err != nil {
				t.Fatal(err)
			}
			if got, err := get(s, d); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read back: %v", err)
			}
		})
	}
}

func TestCanceledContext(t *testing.T) {
	s, _ := newStore(t, testKey, 64)
	ctx, cancel := context.WithCancel(context.Background())
	u, _ := s.NewUpload(ctx)
	cancel()
	if _, err := u.WriteAt(ctx, strings.NewReader("abc"), 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("WriteAt: %v", err)
	}
}

func TestConcurrentCommitsSameContent(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			s, _ := newStore(t, m.key, 4096)
			rng := rand.New(rand.NewPCG(12, 12))
			data := randBytes(rng, 100_000)
			d := digest.FromBytes(data)
			var wg sync.WaitGroup
			errs := make(chan error, 16)
			for i := range 16 {
				wg.Go(func() {
					errs <- pushChunks(s, data, d, 10_000+i*1000)
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if got, err := get(s, d); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read back: %v", err)
			}
			assertNoUploads(t, s)
		})
	}
}

// pushChunks uploads data in chunk-sized writes and commits it; unlike put it
// reports failure instead of failing the test, so goroutines can use it.
func pushChunks(s *Store, data []byte, d digest.Digest, chunk int) error {
	ctx := context.Background()
	u, err := s.NewUpload(ctx)
	if err != nil {
		return err
	}
	for off := 0; off < len(data); off += chunk {
		if _, err := u.WriteAt(ctx, bytes.NewReader(data[off:min(off+chunk, len(data))]), int64(off)); err != nil {
			return err
		}
	}
	n, err := u.Commit(ctx, d)
	if err == nil && n != int64(len(data)) {
		err = fmt.Errorf("committed %d bytes of %d", n, len(data))
	}
	return err
}

func TestCommitExistingKeepsFile(t *testing.T) {
	s, _ := newStore(t, testKey, 64)
	rng := rand.New(rand.NewPCG(13, 13))
	data := randBytes(rng, 500)
	d := put(t, s, rng, data)
	before, _ := os.Stat(blobFile(s, d))
	put(t, s, rng, data)
	after, _ := os.Stat(blobFile(s, d))
	if !os.SameFile(before, after) {
		t.Fatal("second commit replaced the stored file")
	}
	assertNoUploads(t, s)

	// A stored file with a damaged header is replaced by a new upload.
	os.WriteFile(blobFile(s, d), []byte("junk"), 0o600)
	put(t, s, rng, data)
	if got, err := get(s, d); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("damaged blob not healed: %v", err)
	}
}

// Writers racing on one session: writes are serialised and only the one at
// the current offset succeeds each time.
func TestConcurrentWritesOneSession(t *testing.T) {
	s, _ := newStore(t, testKey, 64)
	ctx := context.Background()
	u, _ := s.NewUpload(ctx)
	chunk := bytes.Repeat([]byte("ab"), 50)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for written := 0; written < 10; {
				_, err := u.WriteAt(ctx, bytes.NewReader(chunk), u.Size())
				switch {
				case err == nil:
					written++
				case !errors.Is(err, blob.ErrUploadOffset):
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	data := bytes.Repeat(chunk, 80)
	if n, err := u.Commit(ctx, digest.FromBytes(data)); err != nil || n != int64(len(data)) {
		t.Fatalf("Commit: %d, %v", n, err)
	}
}

func TestCrashLeftoversRemoved(t *testing.T) {
	s, dir := newStore(t, testKey, 64)
	ctx := context.Background()
	u, _ := s.NewUpload(ctx)
	u.WriteAt(ctx, strings.NewReader(strings.Repeat("x", 1000)), 0)
	os.WriteFile(filepath.Join(s.uploads, "stray"), []byte("x"), 0o600)
	os.MkdirAll(filepath.Join(s.uploads, "dir", "sub"), 0o700)
	// Opening again is what a restart after a crash does.
	s2, err := Open(dir, Options{Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	assertNoUploads(t, s2)
	if _, err := s2.Upload(ctx, u.ID()); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("session survived restart: %v", err)
	}
}

func TestDeleteAndWalk(t *testing.T) {
	s, _ := newStore(t, testKey, 64)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(14, 14))
	a := put(t, s, rng, []byte("a"))
	b := put(t, s, rng, []byte("b"))
	os.WriteFile(filepath.Join(s.blobs, "sha256", "zz"), []byte("stray file"), 0o600)
	os.WriteFile(filepath.Join(filepath.Dir(blobFile(s, a)), "not-a-digest"), nil, 0o600)
	if err := s.Delete(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, a); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("second Delete: %v", err)
	}
	if _, err := s.Stat(ctx, a); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Stat after Delete: %v", err)
	}
	if _, err := s.Open(ctx, a); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Open after Delete: %v", err)
	}
	var seen []digest.Digest
	s.Walk(ctx, func(b blob.Info) error {
		seen = append(seen, b.Digest)
		return nil
	})
	if len(seen) != 1 || seen[0] != b {
		t.Fatalf("Walk saw %v", seen)
	}
	stop := errors.New("stop")
	if err := s.Walk(ctx, func(blob.Info) error { return stop }); err != stop {
		t.Fatalf("Walk error: %v", err)
	}
}

func TestReaderClose(t *testing.T) {
	s, _ := newStore(t, testKey, 64)
	rng := rand.New(rand.NewPCG(15, 15))
	d := put(t, s, rng, randBytes(rng, 200))
	r, _ := s.Open(context.Background(), d)
	r.Read(make([]byte, 10))
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(make([]byte, 10)); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
	if err := r.Close(); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
}

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "blob.key")
	var wg sync.WaitGroup
	keys := make([][]byte, 8)
	for i := range keys {
		wg.Go(func() {
			k, err := LoadOrCreateKey(path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys {
		if len(k) != 32 || !bytes.Equal(k, keys[0]) {
			t.Fatalf("racing creators disagree: %x vs %x", k, keys[0])
		}
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v", fi.Mode(), err)
	}
	if again, err := LoadOrCreateKey(path); err != nil || !bytes.Equal(again, keys[0]) {
		t.Fatalf("reload: %v", err)
	}
	if es, _ := os.ReadDir(filepath.Dir(path)); len(es) != 1 {
		t.Fatalf("temporary files left: %v", es)
	}
	os.WriteFile(path, []byte("short"), 0o600)
	if _, err := LoadOrCreateKey(path); err == nil {
		t.Fatal("short key file accepted")
	}
}

// A blob file that shrinks under an open, mapped reader (the disk failing
// under it looks the same to the process: SIGBUS) is a read error, never a
// crash.
func TestMappedReaderSurvivesShrunkFile(t *testing.T) {
	s, _ := newStore(t, testKey, defaultSegmentSize)
	rng := rand.New(rand.NewPCG(9, 9))
	data := randBytes(rng, 4*mmapMinSize)
	d := put(t, s, rng, data)
	r, err := s.Open(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.(*reader).mapped == nil {
		t.Fatal("a large encrypted blob was not mapped")
	}
	if err := os.Truncate(blobFile(s, d), mmapMinSize); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Seek(int64(2*mmapMinSize), io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(make([]byte, 4096)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("read past the shrunk end: %v, want ErrCorrupt", err)
	}
}
