package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth/berth/internal/vulndb"
)

func osvGoRecord(id, fixed string) string {
	return `{"id": "` + id + `", "modified": "2024-01-01T00:00:00Z",
		"affected": [{"package": {"ecosystem": "Go", "name": "example.com/lib"},
		"ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "` + fixed + `"}]}]}]}`
}

// TestVulnDBCommands runs `berth vulndb import` (directory, zip, one file)
// and `berth vulndb status` against the admin endpoints, authenticated
// with the admin key in the data dir.
func TestVulnDBCommands(t *testing.T) {
	ctx := context.Background()
	dataDir, key := newAdminDataDir(t)
	db, err := vulndb.Open(filepath.Join(t.TempDir(), "vulndb.db"), vulndb.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	hcfg := vulndb.HandlerConfig{AdminSecret: key.SecretAccessKey, TempDir: t.TempDir()}
	mux := http.NewServeMux()
	mux.Handle(vulndb.ImportPath, db.ImportHandler(hcfg))
	mux.Handle(vulndb.StatusPath, db.StatusHandler(hcfg))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	listen := strings.TrimPrefix(srv.URL, "http://")

	run := func(args ...string) (string, error) {
		return runCommand(ctx, append(append([]string{"vulndb"}, args...), "--listen", listen, "--data-dir", dataDir)...)
	}
	write := func(path, body string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	dir := t.TempDir()
	write(filepath.Join(dir, "GO-1.json"), osvGoRecord("GO-1", "1.1.0"))
	write(filepath.Join(dir, "sub", "GO-2.json"), osvGoRecord("GO-2", "1.2.0"))
	out, err := run("import", dir)
	var sum vulndb.ImportSummary
	if err != nil || json.Unmarshal([]byte(out), &sum) != nil || sum.Added != 2 || sum.Ecosystems["Go"].Added != 2 {
		t.Fatalf("import dir printed %q, %v", out, err)
	}

	zipPath := filepath.Join(t.TempDir(), "all.zip")
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("GO-3.json")
	w.Write([]byte(osvGoRecord("GO-3", "1.3.0")))
	zw.Close()
	write(zipPath, buf.String())
	if out, err := run("import", zipPath); err != nil || !strings.Contains(out, `"added": 1`) {
		t.Fatalf("import zip printed %q, %v", out, err)
	}

	one := filepath.Join(t.TempDir(), "GO-4.json")
	write(one, osvGoRecord("GO-4", "1.4.0"))
	if out, err := run("import", one); err != nil || !strings.Contains(out, `"added": 1`) {
		t.Fatalf("import file printed %q, %v", out, err)
	}

	bad := t.TempDir()
	write(filepath.Join(bad, "GO-5.json"), osvGoRecord("GO-5", "1.5.0"))
	write(filepath.Join(bad, "broken.json"), `{"id": "GO-6"}`)
	if out, err := run("import", bad); err == nil || !strings.Contains(err.Error(), `broken.json: no "modified" time`) || out != "" {
		t.Fatalf("import with an invalid file printed %q, %v", out, err)
	}
	out, err = run("import", "--skip-invalid", bad)
	sum = vulndb.ImportSummary{}
	if err != nil || json.Unmarshal([]byte(out), &sum) != nil || sum.Added != 1 || len(sum.Invalid) != 1 {
		t.Fatalf("import --skip-invalid printed %q, %v", out, err)
	}

	if _, err := run("import", filepath.Join(dir, "missing")); err == nil {
		t.Fatal("import of a missing path succeeded")
	}
	if _, err := run("import", t.TempDir()); err == nil || !strings.Contains(err.Error(), "no OSV record files") {
		t.Fatalf("import of an empty dir: %v", err)
	}

	out, err = run("status")
	var info vulndb.Info
	if err != nil || json.Unmarshal([]byte(out), &info) != nil || info.Records != 5 || info.Ecosystems["Go"] != 5 || info.ImportedAt.IsZero() {
		t.Fatalf("status printed %q, %v", out, err)
	}
}
