package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth/berth/internal/blob/local"
	"github.com/berth/berth/internal/ecr/ecrstate"
	"github.com/berth/berth/internal/registry"
	"github.com/berth/berth/internal/store/bolt"
)

// TestRegistryGCCommand runs `berth registry gc` against the collector's
// endpoint, dry and for real, in both output formats.
func TestRegistryGCCommand(t *testing.T) {
	ctx := context.Background()
	dir, key := newAdminDataDir(t)
	st, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	blobs, err := local.Open(t.TempDir(), local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cat := registry.NewCatalog(st, nil)
	if _, err := cat.CreateRepository(ctx, ecrstate.RepositoryID{Region: "us-east-1", Name: "app"}, ecrstate.Repository{Name: "app"}); err != nil {
		t.Fatal(err)
	}
	// A layer pushed and never used.
	content := []byte("an orphaned layer")
	d := digest.FromBytes(content)
	up, err := blobs.NewUpload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.WriteAt(ctx, bytes.NewReader(content), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := up.Commit(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := cat.LinkBlob(ctx, ecrstate.RepositoryID{Region: "us-east-1", Name: "app"}, d, int64(len(content))); err != nil {
		t.Fatal(err)
	}
	later := func() time.Time { return time.Now().Add(2 * registry.DefaultGCGracePeriod) }
	collector := registry.NewCollector(registry.GCConfig{Catalog: cat, Blobs: blobs, Now: later, Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(collector.Handler(key.SecretAccessKey))
	defer srv.Close()
	listen := strings.TrimPrefix(srv.URL, "http://")

	run := func(args ...string) (string, error) {
		return runCommand(ctx, append([]string{"registry", "gc", "--listen", listen, "--data-dir", dir}, args...)...)
	}
	out, err := run("--dry-run")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`Would delete blob links: 1\n`, `\nus-east-1 +app +` + d.String() + ` +17 B\n`, `Would delete blobs: 1\n`,
		`\n` + d.String() + ` +17 B +app\n`, `Would delete upload sessions: 0\n`, `Total: 1 blob links, 1 blobs \(17 B\)`, `dry run, nothing was deleted`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("dry run table lacks %q:\n%s", want, out)
		}
	}
	if _, err := blobs.Stat(ctx, d); err != nil {
		t.Fatalf("dry run deleted the blob: %v", err)
	}
	out, err = run("--output", "json")
	if err != nil {
		t.Fatal(err)
	}
	var rep registry.GCReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if rep.DryRun || rep.Totals.Blobs != 1 || rep.Totals.Bytes != int64(len(content)) || len(rep.Blobs) != 1 || rep.Blobs[0].Digest != d {
		t.Fatalf("report: %+v", rep)
	}
	if _, err := blobs.Stat(ctx, d); err == nil {
		t.Fatal("blob still stored after the sweep")
	}
	if _, err := run("--output", "yaml"); err == nil {
		t.Error("--output yaml accepted")
	}
	// Another data dir's key is refused by the server.
	other, _ := newAdminDataDir(t)
	if _, err := runCommand(ctx, "registry", "gc", "--listen", listen, "--data-dir", other); err == nil || !strings.Contains(err.Error(), "admin token") {
		t.Errorf("wrong key: %v", err)
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 5 << 20: "5.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
