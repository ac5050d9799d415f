package local

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/prometheus/client_golang/prometheus"
)

// fuzzDigest is the digest the seed corpus files were committed under.
const fuzzDigest = digest.Digest("sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")

// FuzzReader feeds arbitrary file bytes to the header parser and segment
// reader, with and without a key. Nothing may panic; every failure must be
// ErrCorrupt, a successful read must return exactly Size bytes, and random
// access must agree with the sequential read.
func FuzzReader(f *testing.F) {
	discard := prometheus.NewCounter(prometheus.CounterOpts{Name: "fuzz_read_bytes"})
	f.Fuzz(func(t *testing.T, file []byte) {
		for _, key := range [][]byte{testKey, nil} {
			open := func() (*reader, error) {
				return newReader(bytes.NewReader(file), io.NopCloser(nil), int64(len(file)), nil, key, fuzzDigest, nil, discard)
			}
			r, err := open()
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("open: %v", err)
				}
				continue
			}
			all, err := io.ReadAll(r)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("read: %v", err)
				}
				continue
			}
			if int64(len(all)) != r.Size() {
				t.Fatalf("read %d bytes of %d", len(all), r.Size())
			}
			r, _ = open()
			for _, off := range []int{len(all) / 2, len(all) / 3, 0, len(all) - 1, len(all)} {
				off = max(off, 0)
				if _, err := r.Seek(int64(off), io.SeekStart); err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, 50)
				n, err := io.ReadFull(r, buf)
				if !bytes.Equal(buf[:n], all[off:min(off+50, len(all))]) || (n < 50 && n != len(all)-off) {
					t.Fatalf("at %d: %d bytes, %v", off, n, err)
				}
			}
		}
	})
}
