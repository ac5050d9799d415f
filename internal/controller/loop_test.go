package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/berth/berth/internal/store"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

var discard = slog.New(slog.DiscardHandler)

// run runs l until the test ends.
func run(t *testing.T, l *Loop) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// waitUntil polls cond for up to 5 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// waiters waits until clk has n timers and tickers, so that a Step reaches
// the one the Loop is about to wait on. Every Loop's queue has one ticker
// of its own (client-go's 10 s heartbeat).
func waiters(t *testing.T, clk *testingclock.FakeClock, n int) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("%d clock waiters", n), func() bool { return clk.Waiters() == n })
}

// next receives from c within 5 s.
func next[T any](t *testing.T, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// nothing checks that nothing arrives on c for a few milliseconds.
func nothing[T any](t *testing.T, c <-chan T, what string) {
	t.Helper()
	select {
	case v := <-c:
		t.Fatalf("%s: got %v", what, v)
	case <-time.After(5 * time.Millisecond):
	}
}

var (
	errBroken = errors.New("broken")
	ok        = outcome{}
)

type outcome struct {
	res Result
	err error
}

func requeue(d time.Duration) outcome { return outcome{res: Result{RequeueAfter: d}} }

// TestLoopRetryTiming drives one key through a sequence of reconcile
// outcomes and checks how long the Loop waits before each next reconcile,
// on a fake clock.
func TestLoopRetryTiming(t *testing.T) {
	const ms = time.Millisecond
	fail := outcome{err: fmt.Errorf("writing: %w", errBroken)}
	conflict := outcome{err: fmt.Errorf("committing: %w", store.ErrConflict)}
	terminal := outcome{err: Terminal(errBroken)}
	for _, tc := range []struct {
		name string
		// outcomes are those of the successive reconciles; the last one
		// leaves the key alone.
		outcomes []outcome
		// waits are the delays before each reconcile after the first.
		waits []time.Duration
	}{
		{"a success is not repeated", []outcome{ok}, nil},
		{"failures back off exponentially up to the max",
			[]outcome{fail, fail, fail, fail, ok}, []time.Duration{100 * ms, 200 * ms, 400 * ms, 400 * ms}},
		{"a success forgets the failures",
			[]outcome{fail, fail, requeue(time.Second), fail, ok}, []time.Duration{100 * ms, 200 * ms, time.Second, 100 * ms}},
		{"conflicts are retried quickly and do not back off",
			[]outcome{conflict, conflict, fail, conflict, fail, ok}, []time.Duration{50 * ms, 50 * ms, 100 * ms, 50 * ms, 200 * ms}},
		{"a terminal error is not retried", []outcome{fail, terminal}, []time.Duration{100 * ms}},
		{"a result asks to look again", []outcome{requeue(3 * time.Second), requeue(ms), ok}, []time.Duration{3 * time.Second, ms}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := testingclock.NewFakeClock(t0)
			calls := make(chan time.Time, 1)
			n := 0 // one worker: no race
			l := New(Config{
				Reconciler: ReconcilerFunc(func(_ context.Context, key string) (Result, error) {
					o := tc.outcomes[n]
					n++
					calls <- clk.Now()
					return o.res, o.err
				}),
				Backoff: Backoff{First: 100 * time.Millisecond, Max: 400 * time.Millisecond},
				Logger:  discard,
				Clock:   clk,
			})
			l.Add("k")
			run(t, l)
			last := next(t, calls, "the first reconcile")
			for i, wait := range tc.waits {
				waiters(t, clk, 2) // the heartbeat and the key's delay
				clk.Step(wait - time.Millisecond)
				nothing(t, calls, fmt.Sprintf("reconcile %d before its %v", i+2, wait))
				clk.Step(time.Millisecond)
				at := next(t, calls, fmt.Sprintf("reconcile %d after %v", i+2, wait))
				if at.Sub(last) != wait {
					t.Fatalf("reconcile %d came %v after the one before, want %v", i+2, at.Sub(last), wait)
				}
				last = at
			}
			time.Sleep(5 * time.Millisecond) // the last outcome handled
			if clk.Waiters() != 1 {
				t.Fatal("a reconcile is scheduled after the last outcome")
			}
			clk.Step(time.Hour)
			nothing(t, calls, "a reconcile after the last outcome")
		})
	}
}

func TestLoopDeduplicatesAndReconcilesAKeyInOneWorkerAtATime(t *testing.T) {
	var mu sync.Mutex
	count := map[string]int{}
	counted := func(key string) int {
		mu.Lock()
		defer mu.Unlock()
		return count[key]
	}
	started, release := make(chan struct{}), make(chan struct{})
	l := New(Config{
		Reconciler: ReconcilerFunc(func(_ context.Context, key string) (Result, error) {
			mu.Lock()
			count[key]++
			n := count[key]
			mu.Unlock()
			if key == "a" && n == 1 {
				close(started)
				<-release
			}
			return Result{}, nil
		}),
		Workers: 2,
		Logger:  discard,
	})
	l.Add("a", "a", "b", "a")
	run(t, l)
	next(t, started, "a's reconcile")
	waitUntil(t, "b's reconcile", func() bool { return counted("b") == 1 })
	// a is being reconciled: queued again, it waits for that reconcile to
	// end, and is reconciled once however often it was queued.
	l.Add("a", "a")
	l.AddAfter("a", time.Millisecond)
	time.Sleep(5 * time.Millisecond)
	if n := counted("a"); n != 1 {
		t.Fatalf("a reconciled %d times while its first reconcile ran", n)
	}
	close(release)
	waitUntil(t, "a's second reconcile", func() bool { return counted("a") == 2 })
	time.Sleep(5 * time.Millisecond)
	if a, b := counted("a"), counted("b"); a != 2 || b != 1 {
		t.Fatalf("reconciled a %d times, b %d times; want 2 and 1", a, b)
	}
}

func TestLoopResyncs(t *testing.T) {
	clk := testingclock.NewFakeClock(t0)
	reconciled := make(chan string, 10)
	l := New(Config{
		Reconciler: ReconcilerFunc(func(_ context.Context, key string) (Result, error) {
			reconciled <- key
			return Result{}, nil
		}),
		Keys:   func(context.Context) ([]string, error) { return []string{"x", "y"}, nil },
		Resync: time.Minute,
		Logger: discard,
		Clock:  clk,
	})
	run(t, l)
	waiters(t, clk, 2) // the heartbeat and the resync's ticker
	nothing(t, reconciled, "a reconcile before the first resync")
	for round := range 2 {
		clk.Step(time.Minute)
		got := []string{next(t, reconciled, "a resynced key"), next(t, reconciled, "a resynced key")}
		slices.Sort(got)
		if !slices.Equal(got, []string{"x", "y"}) {
			t.Fatalf("resync %d reconciled %q", round+1, got)
		}
	}
}

func TestLoopRelistsABrokenWatch(t *testing.T) {
	clk := testingclock.NewFakeClock(t0)
	listed := make(chan time.Time, 1)
	breakWatch := make(chan struct{})
	var calls int // one watch: no race
	l := New(Config{
		Reconciler: ReconcilerFunc(func(context.Context, string) (Result, error) { return Result{}, nil }),
		Watches: []Watch{func(ctx context.Context, q Queue) error {
			calls++
			listed <- clk.Now()
			switch calls {
			case 1, 2:
				return errBroken
			case 3:
				<-breakWatch
				return errBroken
			}
			<-ctx.Done()
			return nil
		}},
		Logger: discard,
		Clock:  clk,
	})
	run(t, l)
	next(t, listed, "the first list")
	// The pause doubles while the watch keeps breaking, and starts over
	// after a watch that lasted.
	for i, pause := range []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 200 * time.Millisecond} {
		if i == 2 {
			clk.Step(2 * time.Minute)
			close(breakWatch)
		}
		waiters(t, clk, 2) // the heartbeat and the pause
		clk.Step(pause - time.Millisecond)
		nothing(t, listed, fmt.Sprintf("list %d before its pause of %v", i+2, pause))
		clk.Step(time.Millisecond)
		next(t, listed, fmt.Sprintf("list %d after %v", i+2, pause))
	}
}

func TestLoopMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	failed := false
	l := New(Config{
		Reconciler: ReconcilerFunc(func(_ context.Context, key string) (Result, error) {
			if key == "flaky" && !failed {
				failed = true
				return Result{}, errBroken
			}
			return Result{}, nil
		}),
		Backoff:       Backoff{First: time.Millisecond, Max: time.Millisecond},
		Logger:        discard,
		MetricsPrefix: "berth_test",
		Registerer:    reg,
	})
	l.Add("flaky", "fine")
	run(t, l)
	read := func() map[string]float64 {
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, mf := range families {
			for _, m := range mf.GetMetric() {
				name := mf.GetName()
				for _, lp := range m.GetLabel() {
					name += "{" + lp.GetValue() + "}"
				}
				got[name] = m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
			}
		}
		return got
	}
	want := map[string]float64{
		"berth_test_reconciles_total{ok}":    2,
		"berth_test_reconciles_total{error}": 1,
		"berth_test_retries_total":           1,
		"berth_test_reconcile_seconds":       3,
		"berth_test_queue_depth":             0,
	}
	waitUntil(t, "three reconciles", func() bool { return read()["berth_test_reconcile_seconds"] == 3 })
	got := read()
	for name, v := range want {
		if g, ok := got[name]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", name, g, ok, v)
		}
	}
}

// TestLoopRunWaitsForReconciles: Run returns only once the reconciles
// under way have, so that what they use can be closed after it.
func TestLoopRunWaitsForReconciles(t *testing.T) {
	began, returned := make(chan struct{}), make(chan struct{})
	l := New(Config{
		Reconciler: ReconcilerFunc(func(ctx context.Context, _ string) (Result, error) {
			close(began)
			<-ctx.Done()
			time.Sleep(5 * time.Millisecond)
			close(returned)
			return Result{}, ctx.Err()
		}),
		Logger: discard,
	})
	l.Add("k")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- l.Run(ctx) }()
	next(t, began, "the reconcile")
	cancel()
	if err := next(t, done, "Run to return"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-returned:
	default:
		t.Fatal("Run returned before the reconcile under way")
	}
}
