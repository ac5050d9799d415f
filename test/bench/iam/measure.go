package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"
)

// callsRun is one run's DescribeServices figures of one server.
type callsRun struct {
	p50, p99 time.Duration
	perSec   float64
}

// pairRun is one run of both servers, measured one after the other.
type pairRun struct{ enforced, unenforced callsRun }

// measureDescribeServices starts the enforced and the unenforced server
// and measures them in turn, cfg.runs times.
func measureDescribeServices(ctx context.Context, cfg config) ([]pairRun, error) {
	var targets []*target
	defer func() {
		for _, t := range targets {
			t.srv.Stop()
		}
	}()
	for _, enforced := range []bool{true, false} {
		t, err := startTarget(ctx, cfg, enforced)
		if err != nil {
			return nil, err
		}
		targets = append(targets, t)
		if err := t.checkEnforcement(ctx); err != nil {
			return nil, t.srv.Annotate(err)
		}
	}
	var runs []pairRun
	for i := range cfg.runs {
		var pair pairRun
		for _, t := range targets {
			r, err := t.hammer(ctx, cfg)
			if err != nil {
				return nil, t.srv.Annotate(fmt.Errorf("%s server: %w", t.name(), err))
			}
			fmt.Fprintf(os.Stderr, "run %d, %-10s p50 %s, p99 %s, %.0f calls/s\n", i+1, t.name()+":", r.p50, r.p99, r.perSec)
			if t.enforced {
				pair.enforced = r
			} else {
				pair.unenforced = r
			}
		}
		runs = append(runs, pair)
	}
	return runs, nil
}

// hammer has cfg.concurrency callers describe the services back to back:
// for cfg.warmup, not counted, then for cfg.duration.
func (t *target) hammer(ctx context.Context, cfg config) (callsRun, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	start := time.Now()
	measureFrom, end := start.Add(cfg.warmup), start.Add(cfg.warmup+cfg.duration)
	latencies := make([][]time.Duration, cfg.concurrency)
	var wg sync.WaitGroup
	for i := range cfg.concurrency {
		wg.Go(func() {
			for {
				begin := time.Now()
				if begin.After(end) {
					return
				}
				if err := t.describeServices(ctx); err != nil {
					cancel(err)
					return
				}
				if begin.After(measureFrom) {
					latencies[i] = append(latencies[i], time.Since(begin))
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return callsRun{}, err
	}
	all := slices.Concat(latencies...)
	if len(all) == 0 {
		return callsRun{}, fmt.Errorf("no call finished in %s", cfg.duration)
	}
	slices.Sort(all)
	return callsRun{p50: percentile(all, .50), p99: percentile(all, .99), perSec: float64(len(all)) / cfg.duration.Seconds()}, nil
}

// percentile is the nearest-rank percentile p of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
