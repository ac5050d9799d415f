package logdata

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if largeStream.dir != "" {
		os.RemoveAll(largeStream.dir)
	}
	os.Exit(code)
}

const benchBatch, benchMessageBytes = 1000, 100

func benchEvents(ts int64) []Event {
	msg := strings.Repeat("x", benchMessageBytes)
	evs := make([]Event, benchBatch)
	for i := range evs {
		evs[i] = Event{Timestamp: ts + int64(i), Message: msg}
	}
	return evs
}

// BenchmarkAppend8Streams: 8 writers, each appending batches of 1,000
// events of 100 bytes to its own stream; every Append is durable.
func BenchmarkAppend8Streams(b *testing.B) {
	s := openStore(b, Options{Dir: b.TempDir()})
	evs := benchEvents(1)
	b.SetBytes(benchBatch * benchMessageBytes)
	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			id := StreamID(fmt.Sprintf("bench-%d", w))
			for next.Add(1) <= int64(b.N) {
				if _, err := s.Append(context.Background(), AppendRequest{Stream: id, Events: evs}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N*benchBatch)/time.Since(start).Seconds(), "events/s")
}

// largeStream is one stream built once for the read benchmarks, of
// LOGDATA_BENCH_EVENTS events (default 1,000,000) of 100 bytes.
var largeStream struct {
	once   sync.Once
	dir    string
	events int
	err    error
}

const largeStreamID = "large"

func openLargeStream(b *testing.B) *Store {
	largeStream.once.Do(func() {
		largeStream.events = 1_000_000
		if v := os.Getenv("LOGDATA_BENCH_EVENTS"); v != "" {
			if largeStream.events, largeStream.err = strconv.Atoi(v); largeStream.err != nil {
				return
			}
		}
		if largeStream.dir, largeStream.err = os.MkdirTemp("", "logdata-bench-"); largeStream.err != nil {
			return
		}
		s, err := Open(Options{Dir: largeStream.dir})
		if err != nil {
			largeStream.err = err
			return
		}
		defer s.Close()
		start := time.Now()
		batches := int64((largeStream.events + benchBatch - 1) / benchBatch)
		var next atomic.Int64
		var wg sync.WaitGroup
		var failed atomic.Pointer[error]
		for range 8 {
			wg.Go(func() {
				for i := next.Add(1) - 1; i < batches; i = next.Add(1) - 1 {
					if _, err := s.Append(context.Background(), AppendRequest{Stream: largeStreamID, Events: benchEvents(i * benchBatch)}); err != nil {
						failed.Store(&err)
						return
					}
				}
			})
		}
		wg.Wait()
		if err := failed.Load(); err != nil {
			largeStream.err = *err
		}
		fmt.Fprintf(os.Stderr, "built a stream of %d events in %v\n", batches*benchBatch, time.Since(start).Round(time.Millisecond))
	})
	if largeStream.err != nil {
		b.Fatal(largeStream.err)
	}
	s := openStore(b, Options{Dir: largeStream.dir})
	if _, err := s.Stats(largeStreamID); err != nil { // load it
		b.Fatal(err)
	}
	return s
}

func benchmarkReadPage(b *testing.B, req ReadRequest) {
	s := openLargeStream(b)
	req.Stream, req.Limit = largeStreamID, 100
	b.ResetTimer()
	for b.Loop() {
		evs, more, err := s.Read(context.Background(), req)
		if err != nil || len(evs) != 100 || !more {
			b.Fatalf("%d events, more %v, %v", len(evs), more, err)
		}
	}
}

func BenchmarkReadNewestPage(b *testing.B) { benchmarkReadPage(b, ReadRequest{}) }

func BenchmarkReadOldestPage(b *testing.B) { benchmarkReadPage(b, ReadRequest{Forward: true, From: 1}) }

// BenchmarkOpenLargeStream: opening the store and loading the stream reads
// the sealed segments' indexes and scans only the active segment.
func BenchmarkOpenLargeStream(b *testing.B) {
	openLargeStream(b).Close()
	for b.Loop() {
		s, err := Open(Options{Dir: largeStream.dir})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Stats(largeStreamID); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}
