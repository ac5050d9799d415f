package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// goBenchmarks are the Go benchmarks of policy evaluation that part 2
// runs, by package.
var goBenchmarks = []struct{ pkg, name string }{
	{"github.com/berth/berth/internal/iam/policy", "BenchmarkEvaluate"},
	{"github.com/berth/berth/internal/iam", "BenchmarkDirectoryAuthorize"},
}

// goBenchRuns is one Go benchmark's result lines.
type goBenchRuns struct {
	name            string
	nsPerOp, allocs []float64
}

// goBenchLine matches a result line: BenchmarkEvaluate-2  1000  1234 ns/op ...
var goBenchLine = regexp.MustCompile(`^(Benchmark\w+)(?:-\d+)?\s+\d+\s+(.*)$`)

// runGoBenchmarks runs goBenchmarks count times each with go test, in the
// module this command is run from.
func runGoBenchmarks(ctx context.Context, count int) ([]goBenchRuns, error) {
	var names, pkgs []string
	for _, b := range goBenchmarks {
		names = append(names, b.name)
		pkgs = append(pkgs, b.pkg)
	}
	// -p 1: one package's benchmarks at a time, not competing for the CPUs.
	args := append([]string{"test", "-p", "1", "-run", "^$", "-bench", "^(" + strings.Join(names, "|") + ")$", "-count", strconv.Itoa(count)}, pkgs...)
	fmt.Fprintln(os.Stderr, "go", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go test (run from inside the berth module, or pass --go-bench=false): %w\n%s", err, out)
	}
	results := map[string]*goBenchRuns{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := goBenchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		r := results[m[1]]
		if r == nil {
			r = &goBenchRuns{name: m[1]}
			results[m[1]] = r
		}
		// The figures come as value-unit pairs.
		fields := strings.Fields(m[2])
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, fmt.Errorf("go test: %q: %w", sc.Text(), err)
			}
			switch fields[i+1] {
			case "ns/op":
				r.nsPerOp = append(r.nsPerOp, v)
			case "allocs/op":
				r.allocs = append(r.allocs, v)
			}
		}
	}
	var runs []goBenchRuns
	for _, name := range names {
		r := results[name]
		if r == nil || len(r.nsPerOp) == 0 {
			return nil, fmt.Errorf("go test printed no result of %s:\n%s", name, out)
		}
		runs = append(runs, *r)
	}
	return runs, nil
}
