package main

import (
	"fmt"
	"io"
	goruntime "runtime"
	"slices"
	"strconv"
	"time"

	"github.com/berth/berth/test/bench/benchserver"
)

// report is every part's runs.
type report struct {
	calls      []pairRun
	evaluation []goBenchRuns
}

func (r *report) print(w io.Writer, cfg config) {
	fmt.Fprintf(w, "\nberth with IAM enforcement on and off, %d CPUs, aws-sdk-go-v2 clients on the same machine over loopback.\n", goruntime.NumCPU())
	fmt.Fprintf(w, "Medians of %d runs with min and max; a ratio is each run's enforced/unenforced figure.\n\n", cfg.runs)
	t := &table{w: w}
	t.header()

	t.section(fmt.Sprintf("1. DescribeServices of %d services, %d callers, %s per server and run; a user with %d managed policies and an inline one",
		cfg.services, cfg.concurrency, cfg.duration, len(managedPolicyServices)))
	ms := func(get func(pairRun) time.Duration) []float64 {
		return collect(r.calls, func(p pairRun) float64 { return float64(get(p)) / float64(time.Millisecond) })
	}
	t.row("p50 enforced, ms", ms(func(p pairRun) time.Duration { return p.enforced.p50 }), decimal(3), nil)
	t.row("p50 unenforced, ms", ms(func(p pairRun) time.Duration { return p.unenforced.p50 }), decimal(3), nil)
	t.row("p99 enforced, ms", ms(func(p pairRun) time.Duration { return p.enforced.p99 }), decimal(3), nil)
	t.row("p99 unenforced, ms", ms(func(p pairRun) time.Duration { return p.unenforced.p99 }), decimal(3), nil)
	t.row("calls/s enforced", collect(r.calls, func(p pairRun) float64 { return p.enforced.perSec }), decimal(0), nil)
	t.row("calls/s unenforced", collect(r.calls, func(p pairRun) float64 { return p.unenforced.perSec }), decimal(0), nil)
	t.row("p50 ratio", collect(r.calls, func(p pairRun) float64 { return ratio(p.enforced.p50, p.unenforced.p50) }), decimal(3), nil)
	t.row("p99 ratio", collect(r.calls, func(p pairRun) float64 { return ratio(p.enforced.p99, p.unenforced.p99) }), decimal(3),
		&goalCheck{text: fmt.Sprintf("<= %.2f", goalP99Ratio), met: func(m float64) bool { return m <= goalP99Ratio }})
	t.row("calls/s ratio", collect(r.calls, func(p pairRun) float64 { return p.enforced.perSec / p.unenforced.perSec }), decimal(3), nil)

	if cfg.goBench {
		t.section(fmt.Sprintf("2. Evaluation cost: go test -bench, -count %d", cfg.runs))
		for _, b := range r.evaluation {
			t.row(b.name+", ns/op", b.nsPerOp, decimal(0), nil)
			t.row(b.name+", allocs/op", b.allocs, decimal(0), nil)
		}
	}
	fmt.Fprintln(w)
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

func collect[T any](runs []T, f func(T) float64) []float64 {
	out := make([]float64, len(runs))
	for i, r := range runs {
		out[i] = f(r)
	}
	return out
}

// goalCheck is a goal as printed, and whether a median meets it.
type goalCheck struct {
	text string
	met  func(median float64) bool
}

// table prints the report's rows: a label, median, min, max and the goal.
type table struct{ w io.Writer }

const labelWidth = 46

func (t *table) header() {
	fmt.Fprintf(t.w, "%-*s %12s %12s %12s   %s\n", labelWidth, "", "median", "min", "max", "goal")
}

func (t *table) section(title string) { fmt.Fprintf(t.w, "\n%s\n", title) }

func (t *table) row(label string, runs []float64, format func(float64) string, g *goalCheck) {
	if len(runs) == 0 {
		fmt.Fprintf(t.w, "  %s: no runs\n", label)
		return
	}
	m := benchserver.Median(runs)
	verdict := ""
	if g != nil {
		verdict = g.text + ": MISSED"
		if g.met(m) {
			verdict = g.text + ": met"
		}
	}
	fmt.Fprintf(t.w, "  %-*s %12s %12s %12s   %s\n", labelWidth-2, label,
		format(m), format(slices.Min(runs)), format(slices.Max(runs)), verdict)
}

func decimal(places int) func(float64) string {
	return func(x float64) string { return strconv.FormatFloat(x, 'f', places, 64) }
}
