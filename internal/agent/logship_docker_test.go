package agent

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/runtime"
	"github.com/berth/berth/internal/runtime/docker"
)

// countingServer is a log server that keeps positions and counts events,
// checking they are "line 1", "line 2", ... in order: nothing lost,
// nothing twice.
type countingServer struct {
	mu      sync.Mutex
	cursor  string
	count   int
	bad     string
	batches int
	full    chan struct{} // closed once want events are stored
	want    int
}

func (s *countingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.URL.Path {
	case agentproto.LogStreamPath:
		json.NewEncoder(w).Encode(agentproto.LogStreamResponse{Cursor: s.cursor})
	case agentproto.LogBatchPath:
		var b agentproto.LogBatch
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if b.After != s.cursor {
			w.WriteHeader(http.StatusConflict)
			json.NewEncoder(w).Encode(agentproto.LogError{Code: agentproto.LogCursorMismatch, Cursor: s.cursor})
			return
		}
		for _, e := range b.Events {
			s.count++
			if e.Message != "line "+strconv.Itoa(s.count) && s.bad == "" {
				s.bad = fmt.Sprintf("event %d is %q", s.count, e.Message)
			}
		}
		s.cursor = b.Cursor
		s.batches++
		if s.count == s.want {
			close(s.full)
		}
		json.NewEncoder(w).Encode(agentproto.LogBatchResponse{Cursor: s.cursor})
	default:
		http.NotFound(w, r)
	}
}

// testbinImage imports the docker driver's test binary as an image.
func testbinImage(t *testing.T, ctx context.Context) (string, string) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "testbin")
	build := exec.Command("go", "build", "-o", bin, "../runtime/docker/testdata/testbin")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building testbin: %v\n%s", err, out)
	}
	content, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	tw.WriteHeader(&tar.Header{Name: "testbin", Mode: 0o755, Size: int64(len(content)), Typeflag: tar.TypeReg})
	tw.Write(content)
	tw.Close()
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	ref := fmt.Sprintf("berth-test/agent-logs:%d", os.Getpid())
	progress, err := c.ImageImport(ctx, image.ImportSource{Source: &layer, SourceName: "-"}, ref,
		image.ImportOptions{Changes: []string{`ENTRYPOINT ["/testbin"]`}})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, progress)
	progress.Close()
	t.Cleanup(func() {
		c.ImageRemove(context.Background(), ref, image.RemoveOptions{Force: true})
		c.Close()
	})
	return ref, bin
}

// TestShipperDockerThroughput: a container printing numbered lines as fast
// as it can has all of them stored, once each and in order, within 10 s of
// its exit (through Docker's json-file, the logs API and the HTTP sink into
// a server that counts). It prints 100,000 lines, or BERTH_LOG_LINES
// (the goal is 1,000,000; it takes a while, and the machine's other load
// shows in the figure).
func TestShipperDockerThroughput(t *testing.T) {
	n := 100000
	if v := os.Getenv("BERTH_LOG_LINES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			t.Fatalf("BERTH_LOG_LINES: %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	probe, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err == nil {
		_, err = probe.Ping(ctx)
		probe.Close()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Docker is required when CI=true: %v", err)
		}
		t.Skipf("Docker unreachable: %v", err)
	}
	ref, bin := testbinImage(t, ctx)
	d, err := docker.New(ctx, docker.Config{PauseBinary: bin, PauseArgs: []string{"pause"}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	server := &countingServer{want: n, full: make(chan struct{})}
	srv := httptest.NewServer(server)
	defer srv.Close()
	sink, err := newHTTPLogSink(srv.URL, "tok")
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.Create(ctx, runtime.ContainerSpec{Name: fmt.Sprintf("berth-agent-logs-%d", os.Getpid()), Image: ref, NetworkMode: "none",
		Cmd: []string{"lines", "-n", strconv.Itoa(n)}, LogDriver: "json-file", LogOptions: jsonFileOptions})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Remove(context.Background(), c.ID)
	s := &shipper{rt: d, sink: sink, metrics: newMetrics(nil), log: testLogger(t),
		stream: agentproto.LogStreamRequest{LogStreamRef: agentproto.LogStreamRef{Region: "us-east-1", Group: "g", Stream: c.ID}, Producer: c.ID},
		flush:  defaultFlushInterval, failing: func(time.Time) {}, now: time.Now}
	if err := d.Start(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	done := make(chan shipResult, 1)
	go func() { done <- s.run(ctx) }()

	var exited runtime.Container
	for {
		if exited, err = d.Inspect(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		if exited.Exited {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case <-server.full:
	case <-time.After(time.Minute):
	}
	stored := time.Now()
	if r := <-done; r != shipDrained {
		t.Errorf("shipper ended %d", r)
	}
	server.mu.Lock()
	defer server.mu.Unlock()
	if server.count != n || server.bad != "" {
		t.Fatalf("stored %d events, want %d: %s", server.count, n, server.bad)
	}
	afterExit := stored.Sub(exited.FinishedAt)
	t.Logf("%d lines: the container ran %v; all stored %v after its exit (%v after its start) in %d batches",
		n, exited.FinishedAt.Sub(exited.StartedAt).Round(time.Millisecond), afterExit.Round(time.Millisecond),
		stored.Sub(started).Round(time.Millisecond), server.batches)
	if afterExit > 10*time.Second {
		t.Errorf("stored %v after the exit, want within 10s", afterExit)
	}
	if !strings.HasPrefix(server.cursor, exited.FinishedAt.Format("2006-01-02")) {
		t.Errorf("final position %q", server.cursor)
	}
}

// BenchmarkShipper measures the agent's side alone: lines from an
// in-memory runtime through the shipper and the HTTP sink into a server
// that counts.
func BenchmarkShipper(b *testing.B) {
	const n = 1000000
	fr := newFakeRuntime()
	fr.local["img"] = runtime.Image{ID: "img"}
	c, err := fr.Create(context.Background(), runtime.ContainerSpec{Name: "c", Image: "img"})
	if err == nil {
		err = fr.Start(context.Background(), c.ID)
	}
	if err != nil {
		b.Fatal(err)
	}
	fr.writeLog(c.ID, numbered(1, n)...)
	fr.exit(c.ID, 0, false)
	b.ResetTimer()
	for b.Loop() {
		server := &countingServer{want: n, full: make(chan struct{})}
		srv := httptest.NewServer(server)
		sink, _ := newHTTPLogSink(srv.URL, "tok")
		s := &shipper{rt: fr, sink: sink, metrics: newMetrics(nil), log: testLogger(nil),
			stream: agentproto.LogStreamRequest{LogStreamRef: agentproto.LogStreamRef{Group: "g", Stream: c.ID}, Producer: c.ID},
			flush:  defaultFlushInterval, failing: func(time.Time) {}, now: time.Now}
		if r := s.run(context.Background()); r != shipDrained || server.count != n || server.bad != "" {
			b.Fatalf("result %d, %d events: %s", r, server.count, server.bad)
		}
		srv.Close()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
