package bolt

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/berth/berth/internal/store"
)

// benchValue is about the size of a serialised ECS task.
var benchValue = make([]byte, 1024)

func BenchmarkTxnSequential(b *testing.B) {
	s := openTest(b, tempPath(b), Options{})
	ctx := b.Context()
	i := 0
	for b.Loop() {
		i++
		if _, err := s.Txn(ctx, store.Txn{Then: []store.Op{store.Put("k/"+strconv.Itoa(i), benchValue)}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTxnParallel runs writers on distinct keys; goroutines is the
// number of concurrent writers per CPU, so batches can fill.
func BenchmarkTxnParallel(b *testing.B) {
	for _, perCPU := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("goroutines=%dxCPU", perCPU), func(b *testing.B) {
			s := openTest(b, tempPath(b), Options{})
			var n atomic.Int64
			b.SetParallelism(perCPU)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					k := "k/" + strconv.FormatInt(n.Add(1), 10)
					if _, err := s.Txn(b.Context(), store.Txn{If: []store.Compare{{Key: k}}, Then: []store.Op{store.Put(k, benchValue)}}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// fill writes prefixes*perPrefix keys, "p<prefix>/<n>", in large txns.
func fill(b *testing.B, s *Store, prefixes, perPrefix int) {
	b.Helper()
	for p := range prefixes {
		ops := make([]store.Op, perPrefix)
		for i := range ops {
			ops[i] = store.Put(fmt.Sprintf("p%03d/%05d", p, i), benchValue)
		}
		if _, err := s.Txn(b.Context(), store.Txn{Then: ops}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	s := openTest(b, tempPath(b), Options{})
	fill(b, s, 100, 100)
	rng := rand.New(rand.NewPCG(1, 2))
	for b.Loop() {
		k := fmt.Sprintf("p%03d/%05d", rng.IntN(100), rng.IntN(100))
		if _, _, err := s.Get(b.Context(), k); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkList lists one prefix of 100 keys out of 10,000, whole and as a
// page of 10 from the middle.
func BenchmarkList(b *testing.B) {
	s := openTest(b, tempPath(b), Options{})
	fill(b, s, 100, 100)
	for _, tc := range []struct {
		name string
		opts store.ListOptions
		want int
	}{
		{"prefix=100", store.ListOptions{}, 100},
		{"page=10", store.ListOptions{StartAfter: "p050/00049", Limit: 10}, 10},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				kvs, _, err := s.List(b.Context(), "p050/", tc.opts)
				if err != nil || len(kvs) != tc.want {
					b.Fatalf("list = %d keys, %v", len(kvs), err)
				}
			}
		})
	}
}
