//go:build unix

package local

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

const benchSize = 64 << 20

var benchData = sync.OnceValue(func() []byte {
	return randBytes(rand.New(rand.NewPCG(1, 1)), benchSize)
})

// cpuTime is the user plus system time the process has used, over all
// threads.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds CPU time per op, over all threads, to a benchmark, and for
// streaming ones MB per CPU-second: unlike ns/op and MB/s these do not grow
// worse when other processes compete for the CPU.
func reportCPU(b *testing.B, start time.Duration, bytesPerOp int64) {
	used := cpuTime() - start
	b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
	if bytesPerOp > 0 {
		b.ReportMetric(float64(b.N)*float64(bytesPerOp)/1e6/used.Seconds(), "MB/cpu-s")
	}
}

// benchWrite streams benchSize bytes into an upload in one WriteAt (hash,
// encrypt, write to the page cache), then cancels it.
func benchWrite(b *testing.B, s *Store) {
	ctx := context.Background()
	data := benchData()
	b.SetBytes(benchSize)
	defer reportCPU(b, cpuTime(), benchSize)
	for b.Loop() {
		u, err := s.NewUpload(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := u.WriteAt(ctx, bytes.NewReader(data), 0); err != nil {
			b.Fatal(err)
		}
		u.Cancel(ctx)
	}
}

// benchRead reads a stored benchSize blob start to end in buf-sized reads.
func benchRead(b *testing.B, s *Store, d digest.Digest, bufSize int) {
	ctx := context.Background()
	buf := make([]byte, bufSize)
	b.SetBytes(benchSize)
	defer reportCPU(b, cpuTime(), benchSize)
	for b.Loop() {
		r, err := s.Open(ctx, d)
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := r.Read(buf)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		r.Close()
	}
}

func benchPut(b *testing.B, s *Store) digest.Digest {
	ctx := context.Background()
	u, _ := s.NewUpload(ctx)
	u.WriteAt(ctx, bytes.NewReader(benchData()), 0)
	d := digest.FromBytes(benchData())
	if _, err := u.Commit(ctx, d); err != nil {
		b.Fatal(err)
	}
	return d
}

func BenchmarkWrite(b *testing.B) {
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			s, _ := newStore(b, m.key, defaultSegmentSize)
			benchWrite(b, s)
		})
	}
}

// BenchmarkCommit is a whole push of one blob: WriteAt, then Commit with its
// fsync and rename. The blob is deleted again each time.
func BenchmarkCommit(b *testing.B) {
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			s, _ := newStore(b, m.key, defaultSegmentSize)
			ctx := context.Background()
			data := benchData()
			d := digest.FromBytes(data)
			b.SetBytes(benchSize)
			defer reportCPU(b, cpuTime(), benchSize)
			for b.Loop() {
				u, _ := s.NewUpload(ctx)
				u.WriteAt(ctx, bytes.NewReader(data), 0)
				if _, err := u.Commit(ctx, d); err != nil {
					b.Fatal(err)
				}
				s.Delete(ctx, d)
			}
		})
	}
}

func BenchmarkRead(b *testing.B) {
	for _, m := range modes {
		s, _ := newStore(b, m.key, defaultSegmentSize)
		d := benchPut(b, s)
		// 32 KiB is what http.ServeContent reads with; 1 MiB a large copy.
		for _, bufSize := range []int{32 << 10, 1 << 20} {
			b.Run(fmt.Sprintf("%s/buf%dK", m.name, bufSize>>10), func(b *testing.B) {
				benchRead(b, s, d, bufSize)
			})
		}
	}
}

// BenchmarkSegmentSize chose defaultSegmentSize: streaming throughput both
// ways, and the cost of a small range read, which decrypts a whole segment.
func BenchmarkSegmentSize(b *testing.B) {
	for _, seg := range []int64{16 << 10, 64 << 10, 256 << 10, 1 << 20} {
		s, _ := newStore(b, testKey, seg)
		d := benchPut(b, s)
		name := fmt.Sprintf("seg%dK", seg>>10)
		b.Run(name+"/write", func(b *testing.B) { benchWrite(b, s) })
		b.Run(name+"/read", func(b *testing.B) { benchRead(b, s, d, 32<<10) })
		b.Run(name+"/range4K", func(b *testing.B) {
			rng := rand.New(rand.NewPCG(2, 2))
			buf := make([]byte, 4<<10)
			r, err := s.Open(context.Background(), d)
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			defer reportCPU(b, cpuTime(), 0)
			for b.Loop() {
				r.Seek(rng.Int64N(benchSize-int64(len(buf))), io.SeekStart)
				if _, err := io.ReadFull(r, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
