// Command iam measures what IAM enforcement costs berth's AWS API on this
// machine:
//
//  1. DescribeServices latency with enforcement on and off: two berth
//     servers without their agent, one started with --iam-enforce=true,
//     one with --iam-enforce=false, each with a cluster of --services (5)
//     services (desired count 0, an EC2 bridge task definition of busybox)
//     and an IAM user with ten customer managed policies of a few
//     statements with wildcards and conditions (one of them allows
//     ecs:DescribeServices on the cluster's services) and an inline policy.
//     Signed with the user's access key, --concurrency (8) aws-sdk-go-v2
//     clients call DescribeServices of all the services back to back for
//     --duration (5 s) after a --warmup (1 s) that is not counted: p50,
//     p99 and calls/s. The two servers are measured in turn (on, off, on,
//     off, ...) so that the machine's noise hits both, and each run's
//     enforced/unenforced ratios are reported. Goal: p99 within 1.10.
//  2. Evaluation cost: the Go benchmarks BenchmarkEvaluate (package
//     internal/iam/policy: a request against ten policies) and
//     BenchmarkDirectoryAuthorize (package internal/iam: the decision the
//     gateway asks for on every request), through go test -count --runs;
//     ns/op and allocs/op. Needs the go command and this module's source
//     (--go-bench=false skips it).
//
// Each figure is the median of --runs (5) runs, with min and max. The
// servers run in temporary dirs removed afterwards with their data.
//
//	make bench-iam [ARGS='--runs 3 --duration 10s']
//	go run ./test/bench/iam [--runs 5] [--berth-bin bin/berth] [--duration 5s]
//		[--concurrency 8] [--services 5] [--go-bench=false] [--keep]
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/berth/berth/test/bench/benchserver"
)

// goalP99Ratio bounds DescribeServices' p99 with enforcement on over off.
const goalP99Ratio = 1.10

func main() {
	// The clients share the machine with the servers they measure:
	// collecting their garbage less often leaves the servers more of it.
	debug.SetGCPercent(400)
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench-iam:", err)
		os.Exit(1)
	}
}

type config struct {
	runs        int
	berthBin    string
	keep        bool
	timeout     time.Duration
	duration    time.Duration
	warmup      time.Duration
	concurrency int
	services    int
	goBench     bool
}

func run() error {
	var cfg config
	flag.IntVar(&cfg.runs, "runs", 5, "runs of each measurement; the median, min and max are printed")
	flag.StringVar(&cfg.berthBin, "berth-bin", "", "prebuilt berth binary (default: go build ./cmd/berth, static)")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the temporary dirs (server logs, data) for inspection")
	flag.DurationVar(&cfg.timeout, "timeout", 30*time.Minute, "give up (and stop everything) after this long")
	flag.DurationVar(&cfg.duration, "duration", 5*time.Second, "DescribeServices measuring window of each server in each run")
	flag.DurationVar(&cfg.warmup, "warmup", time.Second, "DescribeServices calls before each window, not counted")
	flag.IntVar(&cfg.concurrency, "concurrency", 8, "concurrent DescribeServices callers")
	flag.IntVar(&cfg.services, "services", 5, "services in the cluster, all described by each call (at most 10)")
	flag.BoolVar(&cfg.goBench, "go-bench", true, "run the evaluation benchmarks with go test (part 2)")
	flag.Parse()
	if cfg.runs < 1 || cfg.duration <= 0 || cfg.warmup < 0 || cfg.concurrency < 1 || cfg.services < 1 {
		return errors.New("--runs, --duration, --concurrency and --services must be positive, --warmup not negative")
	}
	if cfg.services > 10 {
		return errors.New("--services: DescribeServices takes at most 10")
	}
	ctx, stop := benchserver.Context(cfg.timeout)
	defer stop()

	dir, err := os.MkdirTemp("", "bench-iam-build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if cfg.berthBin, err = benchserver.BerthBinary(ctx, cfg.berthBin, dir); err != nil {
		return err
	}

	var r report
	if r.calls, err = measureDescribeServices(ctx, cfg); err != nil {
		return fmt.Errorf("DescribeServices: %w", err)
	}
	if cfg.goBench {
		if r.evaluation, err = runGoBenchmarks(ctx, cfg.runs); err != nil {
			return fmt.Errorf("evaluation benchmarks: %w", err)
		}
	}
	r.print(os.Stdout, cfg)
	return nil
}
