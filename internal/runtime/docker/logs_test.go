package docker

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/pkg/stdcopy"

	"github.com/berth/berth/internal/runtime"
)

func collect(t *testing.T, read func(fn func(runtime.LogLine) error) error) []string {
	t.Helper()
	var out []string
	err := read(func(l runtime.LogLine) error {
		out = append(out, l.Time.Format(time.RFC3339Nano)+" "+string(l.Text))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestReadMuxedLogsJoinsParts(t *testing.T) {
	var b bytes.Buffer
	out, errOut := stdcopy.NewStdWriter(&b, stdcopy.Stdout), stdcopy.NewStdWriter(&b, stdcopy.Stderr)
	for _, f := range []struct {
		w   func([]byte) (int, error)
		msg string
	}{
		{out.Write, "2024-01-01T00:00:00.000000001Z one\n"},
		{out.Write, "2024-01-01T00:00:00.000000002Z long-"},
		{errOut.Write, "2024-01-01T00:00:00.000000003Z on stderr\n"},
		{out.Write, "2024-01-01T00:00:00.000000002Z line\n"},
		{out.Write, "2024-01-01T00:00:00.000000004Z \n"},
		{errOut.Write, "2024-01-01T00:00:00.000000006Z no newline"},
		{out.Write, "2024-01-01T00:00:00.000000005Z also none"},
	} {
		if _, err := f.w([]byte(f.msg)); err != nil {
			t.Fatal(err)
		}
	}
	got := collect(t, func(fn func(runtime.LogLine) error) error {
		lr := &logReader{fn: fn}
		if err := lr.readMuxed(&b); err != nil {
			return err
		}
		return lr.flush()
	})
	want := []string{
		"2024-01-01T00:00:00.000000001Z one",
		"2024-01-01T00:00:00.000000003Z on stderr",
		"2024-01-01T00:00:00.000000002Z long-line",
		"2024-01-01T00:00:00.000000004Z ",
		"2024-01-01T00:00:00.000000005Z also none",
		"2024-01-01T00:00:00.000000006Z no newline",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("lines\n got %q\nwant %q", got, want)
	}
}

func TestReadMuxedLogsErrors(t *testing.T) {
	var b bytes.Buffer
	stdcopy.NewStdWriter(&b, stdcopy.Stdout).Write([]byte("2024-01-01T00:00:00Z one\n"))
	stdcopy.NewStdWriter(&b, stdcopy.Systemerr).Write([]byte("Error grabbing logs: log reader evicted\n"))
	var n int
	err := (&logReader{fn: func(runtime.LogLine) error { n++; return nil }}).readMuxed(bytes.NewReader(b.Bytes()))
	if err == nil || !strings.Contains(err.Error(), "log reader evicted") || n != 1 {
		t.Errorf("system error frame: %v after %d lines", err, n)
	}

	stop := errors.New("stop")
	if err := (&logReader{fn: func(runtime.LogLine) error { return stop }}).readMuxed(bytes.NewReader(b.Bytes())); !errors.Is(err, stop) {
		t.Errorf("fn's error: %v", err)
	}

	var torn bytes.Buffer
	stdcopy.NewStdWriter(&torn, stdcopy.Stdout).Write([]byte("2024-01-01T00:00:00Z one\n"))
	if err := (&logReader{fn: func(runtime.LogLine) error { return nil }}).readMuxed(bytes.NewReader(torn.Bytes()[:torn.Len()-3])); err == nil {
		t.Error("a torn frame is no error")
	}
}

func TestReadRawLogs(t *testing.T) {
	long := strings.Repeat("y", 300<<10)
	in := "2024-01-01T00:00:00.5Z a\r\n2024-01-01T00:00:01Z " + long + "\n2024-01-01T00:00:02Z last"
	got := collect(t, func(fn func(runtime.LogLine) error) error {
		lr := &logReader{fn: fn}
		if err := lr.readRaw(bufio.NewReaderSize(strings.NewReader(in), 4096)); err != nil {
			return err
		}
		return lr.flush()
	})
	want := []string{"2024-01-01T00:00:00.5Z a\r", "2024-01-01T00:00:01Z " + long, "2024-01-01T00:00:02Z last"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("lines %.200q", got)
	}
}

// TestLogReaderContinues: a second read from the last timestamp read
// delivers exactly the messages the first did not, whether the daemon
// filters every message stamped before Since (before 23.0) or only those
// before the first one at or after it.
func TestLogReaderContinues(t *testing.T) {
	type frame struct {
		stream stdcopy.StdType
		msg    string
	}
	frames := []frame{
		{stdcopy.Stdout, "2024-01-01T00:00:01Z a\n"},
		{stdcopy.Stdout, "2024-01-01T00:00:03Z long-"},
		{stdcopy.Stderr, "2024-01-01T00:00:02Z e\n"}, // stamped before the part above
		{stdcopy.Stdout, "2024-01-01T00:00:03Z line\n"},
		{stdcopy.Stderr, "2024-01-01T00:00:04Z f\n"},
		{stdcopy.Stdout, "2024-01-01T00:00:05Z g\n"},
	}
	stream := func(fs []frame) io.Reader {
		var b bytes.Buffer
		for _, f := range fs {
			stdcopy.NewStdWriter(&b, f.stream).Write([]byte(f.msg))
		}
		return &b
	}
	for name, again := range map[string][]frame{
		"filtered":    {frames[1], frames[3], frames[4], frames[5]},
		"from first":  frames[1:],
		"nothing new": {frames[1], frames[3]},
	} {
		t.Run(name, func(t *testing.T) {
			var got []string
			lr := &logReader{fn: func(l runtime.LogLine) error { got = append(got, string(l.Text)); return nil }}
			if err := lr.readMuxed(stream(frames[:4])); err != nil {
				t.Fatal(err)
			}
			if want := time.Date(2024, 1, 1, 0, 0, 3, 0, time.UTC); !lr.at.Equal(want) || lr.n != 2 {
				t.Fatalf("position %v #%d, want %v #2", lr.at, lr.n, want)
			}
			lr.skip = lr.n
			if err := lr.readMuxed(stream(again)); err != nil {
				t.Fatal(err)
			}
			want := "a|e|long-line|f|g"
			if name == "nothing new" {
				want = "a|e|long-line"
			}
			if strings.Join(got, "|") != want {
				t.Errorf("lines %q, want %s", got, want)
			}
		})
	}
}
