package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berth/berth/test/bench/benchserver"
)

// latency is the p50 and p99 of a run's calls.
type latency struct{ p50, p99 time.Duration }

func latencyOf(xs []time.Duration) latency {
	s := slices.Clone(xs)
	slices.Sort(s)
	at := func(p float64) time.Duration {
		i := int(p*float64(len(s))+0.5) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return latency{p50: at(.5), p99: at(.99)}
}

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

func goal(text string, met func(float64) bool) *goalCheck { return &goalCheck{text, met} }

// table prints the report's rows: a label, median, min, max and the goal.
type table struct{ w io.Writer }

const labelWidth = 50

func (t *table) header() {
	fmt.Fprintf(t.w, "%-*s %12s %12s %12s   %s\n", labelWidth, "", "median", "min", "max", "goal")
}

func (t *table) section(title string) { fmt.Fprintf(t.w, "\n%s\n", title) }

func (t *table) note(text string) { fmt.Fprintf(t.w, "  %s\n", text) }

func (t *table) row(label string, runs []float64, format func(float64) string, g *goalCheck) {
	if len(runs) == 0 {
		t.note(label + ": no runs")
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

func thousandsF(x float64) string { return thousands(int64(x + 0.5)) }

// thousands renders n with commas: 1,000,000.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
