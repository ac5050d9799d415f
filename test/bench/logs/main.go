// Command logs measures berth's CloudWatch Logs API on this machine, through
// aws-sdk-go-v2's cloudwatchlogs client over loopback, and prints each
// figure beside the goal the issue set for it (the issue names no baseline,
// so there is no ratio; a DescribeLogGroups round trip through the same
// client is shown as the floor of any call's latency):
//
//  1. PutLogEvents ingestion: --ingest-streams goroutines (8), each with a
//     stream of its own, send batches of --batch-events (1,000) events of
//     --event-bytes (100) bytes back to back for --ingest-duration (10 s).
//     Events/s and MB/s of message bytes. Goal: at least 200,000 events/s.
//  2. Container output end to end (needs dockerd, as root; --docker=false
//     skips it): an ECS task (RunTask, FARGATE, awsvpc) of a FROM scratch
//     image of the test app, pushed to berth's registry, logs with awslogs
//     and prints --lines (1,000,000) lines as fast as it can, then exits.
//     The stream's newest event is polled every 10 ms until it is the last
//     line: lines/s from the task's startedAt (its container started) until
//     then, and how long after the container's exit (the task's
//     executionStoppedAt) that was. Goal: every line stored within 10 s of
//     the exit. A task that fails with a ResourceInitializationError about
//     its logs (the agent side not ready) makes this part "skipped".
//  3. GetLogEvents latency of a stream of --events (10,000,000) events of 78
//     bytes (104 bytes each as CloudWatch counts them, so ~1 GB; 78 is the
//     most that lets batches of 10,000 fit PutLogEvents' 1 MiB), filled
//     once with batches of 10,000 spread over the --fill-span (12 h) before
//     now: p50 and p99 of --reads (1,000) calls per run for the newest page
//     (no token, startFromHead false, limit 100) and the oldest page
//     (startFromHead true, limit 100). Goal: newest page under 5 ms at p99.
//  4. Scans of that stream: FilterLogEvents with a pattern that matches one
//     event in 100,000, following nextToken to the end, and the Logs
//     Insights query `stats count(*) by bin(1m)` over the fill's time range
//     (StartQuery, then GetQueryResults every 20 ms until Complete). Seconds
//     and MB/s of the stream's storedBytes each.
//
// Each figure is the median of --runs (3) runs, with min and max. Every
// part gets its own berth server (parts 3 and 4 share one), in a temporary
// dir removed afterwards with its data, containers, task network and the
// images it pulled.
//
//	make bench-logs [ARGS='--runs 5 --docker=false']
//	go run ./test/bench/logs [--runs 3] [--berth-bin bin/berth] [--docker=false]
//		[--events 10000000] [--ingest-duration 10s] [--lines 1000000] [--keep]
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"runtime/debug"
	"time"

	"github.com/berth/berth/test/bench/benchserver"
)

// The goals.
const (
	goalEventsPerSecond = 200_000
	goalStoredAfterExit = 10 * time.Second
	goalNewestPageP99   = 5 * time.Millisecond
)

func main() {
	// The clients share the machine with the server they measure:
	// collecting their garbage less often leaves the server more of it.
	debug.SetGCPercent(400)
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench-logs:", err)
		os.Exit(1)
	}
}

type config struct {
	runs     int
	berthBin string
	keep     bool
	timeout  time.Duration

	ingest         bool
	ingestDuration time.Duration
	ingestStreams  int
	batchEvents    int
	eventBytes     int

	docker bool
	lines  int

	stream    bool
	events    int64
	fillBatch int
	fillSpan  time.Duration
	reads     int
}

func run() error {
	var cfg config
	flag.IntVar(&cfg.runs, "runs", 3, "runs of each measurement; the median, min and max are printed")
	flag.StringVar(&cfg.berthBin, "berth-bin", "", "prebuilt berth binary (default: go build ./cmd/berth, static)")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the temporary dirs (server logs, data) for inspection")
	flag.DurationVar(&cfg.timeout, "timeout", time.Hour, "give up (and stop everything) after this long")
	flag.BoolVar(&cfg.ingest, "ingest", true, "measure PutLogEvents ingestion (part 1)")
	flag.DurationVar(&cfg.ingestDuration, "ingest-duration", 10*time.Second, "length of each ingestion run")
	flag.IntVar(&cfg.ingestStreams, "ingest-streams", 8, "concurrent PutLogEvents senders, each with its own stream")
	flag.IntVar(&cfg.batchEvents, "batch-events", 1000, "events per PutLogEvents batch in the ingestion runs")
	flag.IntVar(&cfg.eventBytes, "event-bytes", 100, "message bytes per event in the ingestion runs")
	flag.BoolVar(&cfg.docker, "docker", true, "measure a container's output end to end (part 2; needs dockerd, as root)")
	flag.IntVar(&cfg.lines, "lines", 1_000_000, "lines the container prints")
	flag.BoolVar(&cfg.stream, "stream", true, "fill a big stream and measure GetLogEvents, FilterLogEvents and Insights on it (parts 3 and 4)")
	flag.Int64Var(&cfg.events, "events", 10_000_000, "events in the big stream")
	flag.IntVar(&cfg.fillBatch, "fill-batch", 10_000, "events per PutLogEvents batch filling the big stream")
	flag.DurationVar(&cfg.fillSpan, "fill-span", 12*time.Hour, "the big stream's events are spread over this long before now (at most 13 days)")
	flag.IntVar(&cfg.reads, "reads", 1000, "GetLogEvents calls of each kind per run")
	flag.Parse()
	if err := cfg.check(); err != nil {
		return err
	}
	ctx, stop := benchserver.Context(cfg.timeout)
	defer stop()

	dir, err := os.MkdirTemp("", "bench-logs-build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if cfg.berthBin, err = benchserver.BerthBinary(ctx, cfg.berthBin, dir); err != nil {
		return err
	}

	var r report
	if cfg.ingest {
		if r.ingest, err = measureIngest(ctx, cfg); err != nil {
			return fmt.Errorf("ingestion: %w", err)
		}
	}
	if cfg.docker {
		appBin := filepath.Join(dir, "app")
		if err := benchserver.GoBuild(ctx, appBin, "./test/e2e/app"); err != nil {
			return err
		}
		r.lines, err = measureContainerLines(ctx, cfg, appBin)
		var skip skipError
		switch {
		case errors.As(err, &skip):
			fmt.Fprintln(os.Stderr, "container output: skipped:", skip.reason)
			r.linesSkipped = string(skip.reason)
		case err != nil:
			return fmt.Errorf("container output: %w", err)
		}
	} else {
		r.linesSkipped = "--docker=false"
	}
	if cfg.stream {
		if r.big, err = measureBigStream(ctx, cfg); err != nil {
			return fmt.Errorf("big stream: %w", err)
		}
	}
	r.print(os.Stdout, cfg)
	return nil
}

func (c *config) check() error {
	if c.runs < 1 || c.ingestDuration <= 0 || c.ingestStreams < 1 || c.batchEvents < 1 || c.eventBytes < 1 ||
		c.lines < 1 || c.events < 1 || c.fillBatch < 1 || c.fillSpan <= 0 || c.reads < 1 {
		return errors.New("--runs, --ingest-duration, --ingest-streams, --batch-events, --event-bytes, --lines, --events, --fill-batch, --fill-span and --reads must be positive")
	}
	if n := c.batchEvents * (c.eventBytes + eventOverhead); n > maxBatchBytes {
		return fmt.Errorf("--batch-events x (--event-bytes + %d) is %d bytes, over PutLogEvents' %d", eventOverhead, n, maxBatchBytes)
	}
	if n := c.fillBatch * (fillMessageBytes + eventOverhead); n > maxBatchBytes {
		return fmt.Errorf("--fill-batch x %d bytes is %d bytes, over PutLogEvents' %d", fillMessageBytes+eventOverhead, n, maxBatchBytes)
	}
	if c.fillSpan > 13*24*time.Hour {
		return errors.New("--fill-span: events older than 14 days are rejected; at most 13 days (312h)")
	}
	if !c.ingest && !c.docker && !c.stream {
		return errors.New("nothing to measure: --ingest, --docker and --stream are all false")
	}
	return nil
}

// PutLogEvents' limits: a batch's size counts each message and 26 bytes.
const (
	maxBatchBytes = 1_048_576
	eventOverhead = 26
)

// skipError says why a part was not measured, when that is not a failure
// of berth (a part of it that is not there yet).
type skipError struct{ reason string }

func (e skipError) Error() string { return "skipped: " + e.reason }

// report is every part's runs.
type report struct {
	ingest       []ingestRun
	lines        []linesRun
	linesSkipped string
	big          *bigStreamResult
}

func (r *report) print(w io.Writer, cfg config) {
	fmt.Fprintf(w, "\nberth CloudWatch Logs, %d CPUs, aws-sdk-go-v2 client on the same machine over loopback.\n", goruntime.NumCPU())
	fmt.Fprintf(w, "Medians of %d runs with min and max, beside the issue's goals (no baseline: the issue names none;\n"+
		"a DescribeLogGroups round trip through the same client is shown as the floor of any call's latency).\n\n", cfg.runs)
	t := &table{w: w}
	t.header()

	if cfg.ingest {
		t.section(fmt.Sprintf("1. PutLogEvents: %d streams in parallel, batches of %s events of %d B, %s per run",
			cfg.ingestStreams, thousands(int64(cfg.batchEvents)), cfg.eventBytes, cfg.ingestDuration))
		t.row("events/s", collect(r.ingest, ingestRun.eventsPerSecond), thousandsF,
			goal(fmt.Sprintf(">= %s", thousands(goalEventsPerSecond)), func(m float64) bool { return m >= goalEventsPerSecond }))
		t.row("MB/s of messages", collect(r.ingest, ingestRun.mbPerSecond), decimal(1), nil)
	}

	t.section(fmt.Sprintf("2. Container output (awslogs, FARGATE awsvpc task printing %s lines)", thousands(int64(cfg.lines))))
	if r.linesSkipped != "" {
		t.note("skipped: " + r.linesSkipped)
	} else {
		t.row("lines/s, container start -> last line stored", collect(r.lines, linesRun.linesPerSecond), thousandsF, nil)
		t.row("s from container exit to last line stored", collect(r.lines, linesRun.afterExitSeconds), decimal(2),
			goal(fmt.Sprintf("<= %.0f s", goalStoredAfterExit.Seconds()), func(m float64) bool { return m <= goalStoredAfterExit.Seconds() }))
	}

	if b := r.big; b != nil {
		t.section(fmt.Sprintf("3. GetLogEvents, limit 100, stream of %s events (%s MB stored; filled in %.0f s, %s events/s), %s calls each per run",
			thousands(b.fill.events), decimal(0)(float64(b.fill.storedBytes)/1e6), b.fill.took.Seconds(),
			thousandsF(float64(b.fill.events)/b.fill.took.Seconds()), thousands(int64(cfg.reads))))
		ms := func(get func(readRun) time.Duration) []float64 {
			return collect(b.reads, func(r readRun) float64 { return float64(get(r)) / float64(time.Millisecond) })
		}
		t.row("newest page p50, ms", ms(func(r readRun) time.Duration { return r.newest.p50 }), decimal(2), nil)
		t.row("newest page p99, ms", ms(func(r readRun) time.Duration { return r.newest.p99 }), decimal(2),
			goal(fmt.Sprintf("< %.0f ms", goalNewestPageP99.Seconds()*1000), func(m float64) bool { return m < goalNewestPageP99.Seconds()*1000 }))
		t.row("oldest page p50, ms", ms(func(r readRun) time.Duration { return r.oldest.p50 }), decimal(2), nil)
		t.row("oldest page p99, ms", ms(func(r readRun) time.Duration { return r.oldest.p99 }), decimal(2), nil)
		t.row("floor: DescribeLogGroups p50, ms", ms(func(r readRun) time.Duration { return r.floor.p50 }), decimal(2), nil)
		t.row("floor: DescribeLogGroups p99, ms", ms(func(r readRun) time.Duration { return r.floor.p99 }), decimal(2), nil)

		t.section(fmt.Sprintf("4. Scans of the same stream (%s MB stored)", decimal(0)(float64(b.fill.storedBytes)/1e6)))
		mbps := func(get func(scanRun) time.Duration) []float64 {
			return collect(b.scans, func(r scanRun) float64 { return float64(b.fill.storedBytes) / 1e6 / get(r).Seconds() })
		}
		secs := func(get func(scanRun) time.Duration) []float64 {
			return collect(b.scans, func(r scanRun) float64 { return get(r).Seconds() })
		}
		filter := func(r scanRun) time.Duration { return r.filter }
		query := func(r scanRun) time.Duration { return r.query }
		t.row(fmt.Sprintf("FilterLogEvents %q (%s matches), s", filterPattern, thousands(b.fill.matches)), secs(filter), decimal(2), nil)
		t.row("FilterLogEvents, MB/s", mbps(filter), decimal(0), nil)
		t.row(fmt.Sprintf("Insights %q, s", insightsQuery), secs(query), decimal(2), nil)
		t.row("Insights, MB/s", mbps(query), decimal(0), nil)
	}
	fmt.Fprintln(w)
}
