package docker

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/internal/runtime"
)

// readAll reads a container's logs with opts.
func readAll(t *testing.T, id string, opts runtime.LogsOptions) []runtime.LogLine {
	t.Helper()
	var lines []runtime.LogLine
	err := testDriver.Logs(testContext(t, 60*time.Second), id, opts, func(l runtime.LogLine) error {
		lines = append(lines, l)
		return nil
	})
	if err != nil {
		t.Fatalf("Logs(%+v): %v", opts, err)
	}
	return lines
}

// checkLines checks lines are a long line of x's and "line 1".."line n"
// (stdout's and stderr's lines interleave, each stream in order), then
// tail.
func checkLines(t *testing.T, lines []runtime.LogLine, long, n int, tail string) {
	t.Helper()
	if want := 2 + n; len(lines) != want {
		var last []string
		for _, l := range lines[max(0, len(lines)-3):] {
			last = append(last, fmt.Sprintf("%.20q", l.Text))
		}
		t.Fatalf("%d lines, want %d; the last %v", len(lines), want, last)
	}
	if got := string(lines[len(lines)-1].Text); got != tail {
		t.Errorf("last line %q, want %q", got, tail)
	}
	longs, next := 0, 1
	for _, l := range lines[:len(lines)-1] {
		if l.Time.IsZero() {
			t.Fatalf("line %.20q has no time", l.Text)
		}
		if string(l.Text) == strings.Repeat("x", long) {
			longs++
			continue
		}
		var i int
		if _, err := fmt.Sscanf(string(l.Text), "line %d", &i); err != nil {
			t.Fatalf("line %.40q", l.Text)
		}
		if i%3 != 0 { // stdout's
			if i != next {
				t.Fatalf("stdout line %d after %d", i, next-1)
			}
			next++
			for next%3 == 0 {
				next++
			}
		}
	}
	if longs != 1 {
		t.Errorf("%d long lines of %d bytes", longs, long)
	}
}

func TestLogs(t *testing.T) {
	needDocker(t)
	t.Parallel()
	const long, n = 40000, 3000
	c := run(t, runtime.ContainerSpec{Name: uniqueName(t, "lines"), NetworkMode: "none", LogDriver: "json-file",
		Cmd: []string{"lines", "-n", fmt.Sprint(n), "-long", fmt.Sprint(long), "-stderr-every", "3", "-tail", "the end"}})
	// Following from the start ends once the container has exited.
	followed := readAll(t, c.ID, runtime.LogsOptions{Follow: true})
	waitExited(t, c.ID, 10*time.Second)
	checkLines(t, followed, long, n, "the end")

	all := readAll(t, c.ID, runtime.LogsOptions{})
	checkLines(t, all, long, n, "the end")

	// Since starts at the first line stamped at or after it.
	from := all[n/2].Time
	since := readAll(t, c.ID, runtime.LogsOptions{Since: from})
	if len(since) == 0 || since[0].Time.Before(from) || len(since) > len(all)-n/2+n/10 {
		t.Errorf("since %v: %d lines from %v", from, len(since), since[0].Time)
	}
}

func TestLogsFollowsUntilExit(t *testing.T) {
	needDocker(t)
	t.Parallel()
	c := run(t, runtime.ContainerSpec{Name: uniqueName(t, "slow"), NetworkMode: "none", LogDriver: "json-file",
		Cmd: []string{"lines", "-n", "5", "-wait", "1s"}})
	start := time.Now()
	lines := readAll(t, c.ID, runtime.LogsOptions{Follow: true})
	if took := time.Since(start); len(lines) != 5 || took < 500*time.Millisecond {
		t.Errorf("follow read %d lines in %v; want 5 after about 1s", len(lines), took)
	}
}

func TestLogsTTY(t *testing.T) {
	needDocker(t)
	t.Parallel()
	c := run(t, runtime.ContainerSpec{Name: uniqueName(t, "tty"), NetworkMode: "none", TTY: true, LogDriver: "json-file",
		Cmd: []string{"lines", "-n", "3"}})
	waitExited(t, c.ID, 10*time.Second)
	var got []string
	for _, l := range readAll(t, c.ID, runtime.LogsOptions{}) {
		got = append(got, string(l.Text))
	}
	if strings.Join(got, "|") != "line 1\r|line 2\r|line 3\r" {
		t.Errorf("tty lines %q", got)
	}
}
