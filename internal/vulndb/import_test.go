package vulndb

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func goRecord(id, modified, fixedVersion string) string {
	return `{"id": "` + id + `", "modified": "` + modified + `",
		"affected": [{"package": {"ecosystem": "Go", "name": "example.com/lib"},
		"ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "` + fixedVersion + `"}]}]}]}`
}

func debianRecord(id string) string {
	return record(id, "Debian:12", "openssl", ranges("ECOSYSTEM", intro("0"), fixed("3.0.11-1~deb12u1")))
}

func zipOf(t *testing.T, files map[string]string) *bytes.Reader {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(buf.Bytes())
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func matchIDs(t *testing.T, db *DB, p Package) []string {
	t.Helper()
	findings, _, err := db.Match(context.Background(), []Package{p})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range findings {
		ids = append(ids, f.ID)
	}
	return ids
}

var goLib = Package{Ecosystem: "Go", Name: "example.com/lib", Version: "v1.0.0"}

func TestImportLayouts(t *testing.T) {
	files := map[string]string{
		"GO-2024-0001.json":        goRecord("GO-2024-0001", "2024-01-01T00:00:00Z", "1.1.0"),
		"nested/deeper/DSA-1.json": debianRecord("DSA-1"),
		"README.md":                "not a record, not read",
	}
	// The x/vulndb module zip: records under data/osv; the rest of the
	// tree (test data that is not valid OSV, CVE JSON) is not read.
	module := map[string]string{
		"golang.org/x/vulndb@v0.0.0-1/data/osv/GO-2024-0001.json":                  goRecord("GO-2024-0001", "0001-01-01T00:00:00Z", "1.1.0"),
		"golang.org/x/vulndb@v0.0.0-1/data/osv/GO-2024-0002.json":                  goRecord("GO-2024-0002", "0001-01-01T00:00:00Z", "1.2.0"),
		"golang.org/x/vulndb@v0.0.0-1/data/cve/v5/CVE-2024-1.json":                 `{"dataType": "CVE_RECORD"}`,
		"golang.org/x/vulndb@v0.0.0-1/internal/genericosv/testdata/osv/GHSA.json":  `{"not": "osv"}`,
		"golang.org/x/vulndb@v0.0.0-1/data/reports/GO-2024-0001.yaml":              "id: GO-2024-0001",
		"golang.org/x/vulndb@v0.0.0-1/internal/x/testdata/data/osv/GO-0000-0.json": "{",
	}
	cases := []struct {
		name    string
		source  func(t *testing.T) Source
		files   int
		records int
		goIDs   []string
	}{
		{"directory, recursively", func(t *testing.T) Source {
			src, err := DirSource(writeFiles(t, files))
			if err != nil {
				t.Fatal(err)
			}
			return src
		}, 2, 2, []string{"GO-2024-0001"}},
		{"flat zip (osv.dev all.zip)", func(t *testing.T) Source {
			z := zipOf(t, files)
			src, err := ZipSource(z, z.Size())
			if err != nil {
				t.Fatal(err)
			}
			return src
		}, 2, 2, []string{"GO-2024-0001"}},
		{"x/vulndb module zip", func(t *testing.T) Source {
			z := zipOf(t, module)
			src, err := ZipSource(z, z.Size())
			if err != nil {
				t.Fatal(err)
			}
			return src
		}, 2, 2, []string{"GO-2024-0001", "GO-2024-0002"}},
		{"x/vulndb checkout", func(t *testing.T) Source {
			dir := writeFiles(t, module)
			src, err := DirSource(filepath.Join(dir, "golang.org/x/vulndb@v0.0.0-1"))
			if err != nil {
				t.Fatal(err)
			}
			return src
		}, 2, 2, []string{"GO-2024-0001", "GO-2024-0002"}},
		{"zip written from a directory source", func(t *testing.T) Source {
			dir, err := DirSource(writeFiles(t, files))
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := dir.WriteZip(&buf); err != nil {
				t.Fatal(err)
			}
			src, err := ZipSource(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
			if err != nil {
				t.Fatal(err)
			}
			return src
		}, 2, 2, []string{"GO-2024-0001"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := newTestDB(t)
			sum, err := db.Import(context.Background(), tc.source(t), ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Files != tc.files || sum.Added != tc.records || sum.Info.Records != tc.records || len(sum.Invalid) != 0 {
				t.Fatalf("summary %+v", sum)
			}
			if got := strings.Join(matchIDs(t, db, goLib), ","); got != strings.Join(tc.goIDs, ",") {
				t.Fatalf("matched %s, want %v", got, tc.goIDs)
			}
		})
	}
}

func TestImportIsAtomic(t *testing.T) {
	db := newTestDB(t)
	mustImport(t, db, goRecord("GO-2024-0001", "2024-01-01T00:00:00Z", "1.1.0"))
	before, _ := db.Info()

	bad := map[string]string{
		"a/GO-2024-0002.json": goRecord("GO-2024-0002", "2024-01-01T00:00:00Z", "1.2.0"),
		"a/GO-2024-0001.json": goRecord("GO-2024-0001", "2025-01-01T00:00:00Z", "1.5.0"), // an update
		"b/broken.json":       `{"id": "X-1", "modified": `,
		"b/noid.json":         `{"modified": "2024-01-01T00:00:00Z"}`,
		"b/array.json":        `[]`,
		"b/badtime.json":      `{"id": "X-2", "modified": "yesterday"}`,
		"b/event.json":        `{"id": "X-3", "modified": "2024-01-01T00:00:00Z", "affected": [{"package": {"ecosystem": "Go", "name": "m"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "0", "fixed": "1"}]}]}]}`,
		"b/noname.json":       `{"id": "X-4", "modified": "2024-01-01T00:00:00Z", "affected": [{"package": {"ecosystem": "Go"}}]}`,
	}
	z := zipOf(t, bad)
	src, err := ZipSource(z, z.Size())
	if err != nil {
		t.Fatal(err)
	}
	sum, err := db.Import(context.Background(), src, ImportOptions{})
	var invalid *InvalidFilesError
	if !errors.As(err, &invalid) || len(invalid.Invalid) != 6 || len(sum.Invalid) != 6 {
		t.Fatalf("import with invalid files: %v, %+v", err, sum)
	}
	for _, name := range []string{"b/broken.json", "b/noid.json", "b/array.json", "b/badtime.json", "b/event.json", "b/noname.json"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
	after, _ := db.Info()
	if after.Records != before.Records || !after.ImportedAt.Equal(before.ImportedAt) {
		t.Fatalf("info changed by a failed import: %+v -> %+v", before, after)
	}
	if got := matchIDs(t, db, Package{Ecosystem: "Go", Name: "example.com/lib", Version: "v1.4.0"}); len(got) != 0 {
		t.Fatalf("failed import's update is visible: %v", got)
	}

	// With SkipInvalid the valid records go in and the invalid are listed.
	sum, err = db.Import(context.Background(), src, ImportOptions{SkipInvalid: true})
	if err != nil || sum.Added != 1 || sum.Updated != 1 || len(sum.Invalid) != 6 || sum.Info.Records != 2 {
		t.Fatalf("skip invalid: %+v, %v", sum, err)
	}
	if got := matchIDs(t, db, Package{Ecosystem: "Go", Name: "example.com/lib", Version: "v1.4.0"}); strings.Join(got, ",") != "GO-2024-0001" {
		t.Fatalf("after update matched %v", got)
	}

	// A cancelled import changes nothing either.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := db.Import(ctx, memSource(goRecord("GO-2024-0003", "2024-01-01T00:00:00Z", "9.0.0")), ImportOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled import: %v", err)
	}
	if info, _ := db.Info(); info.Records != 2 {
		t.Fatalf("cancelled import left %d records", info.Records)
	}
	if _, err := db.Import(context.Background(), Source{name: "empty"}, ImportOptions{}); !errors.Is(err, ErrNoRecords) {
		t.Fatalf("empty source: %v", err)
	}
}

func TestImportUpdatesByModified(t *testing.T) {
	db := newTestDB(t)
	mustImport(t, db, goRecord("GO-1", "2024-06-01T00:00:00Z", "1.1.0"))

	steps := []struct {
		name    string
		record  string
		outcome string // added, updated, skipped
		fixed   string // GO-1's fix afterwards
	}{
		{"older is skipped", goRecord("GO-1", "2024-01-01T00:00:00Z", "1.9.0"), "skipped", "1.1.0"},
		{"same again is skipped", goRecord("GO-1", "2024-06-01T00:00:00Z", "1.1.0"), "skipped", "1.1.0"},
		{"newer replaces", goRecord("GO-1", "2024-07-01T00:00:00Z", "1.2.0"), "updated", "1.2.0"},
		{"same time, other content replaces", goRecord("GO-1", "2024-07-01T00:00:00Z", "1.3.0"), "updated", "1.3.0"},
		{"formatting alone is the same record", strings.ReplaceAll(goRecord("GO-1", "2024-07-01T00:00:00Z", "1.3.0"), "\n", "\n\n  "), "skipped", "1.3.0"},
		{"new id is added", goRecord("GO-2", "2024-07-01T00:00:00Z", "0.5.0"), "added", "1.3.0"},
	}
	for _, s := range steps {
		sum := mustImport(t, db, s.record)
		got := map[string]int{"added": sum.Added, "updated": sum.Updated, "skipped": sum.Skipped}
		if got[s.outcome] != 1 || sum.Added+sum.Updated+sum.Skipped != 1 || sum.Ecosystems["Go"] == nil {
			t.Fatalf("%s: summary %+v", s.name, sum)
		}
		findings, _, err := db.Match(context.Background(), []Package{{Ecosystem: "Go", Name: "example.com/lib", Version: "v1.0.0"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range findings {
			if f.ID == "GO-1" && f.FixedVersion != s.fixed {
				t.Fatalf("%s: GO-1 fixed in %s, want %s", s.name, f.FixedVersion, s.fixed)
			}
		}
	}
}

func TestImportCountsAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vulndb.db")
	db, err := Open(path, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	multi := `{"id": "MULTI-1", "modified": "2025-01-01T00:00:00Z", "affected": [
		{"package": {"ecosystem": "Debian:12", "name": "a"}, "versions": ["1"]},
		{"package": {"ecosystem": "Debian:11", "name": "a"}, "versions": ["1"]},
		{"package": {"ecosystem": "Alpine:v3.20", "name": "a"}, "versions": ["1-r0"]}]}`
	sum := mustImport(t, db, multi, debianRecord("DSA-1"), goRecord("GO-1", "2024-01-01T00:00:00Z", "1.0.0"),
		`{"id": "EMPTY-1", "modified": "2024-01-01T00:00:00Z"}`)
	if sum.Ecosystems["Debian"].Added != 2 || sum.Ecosystems["Alpine"].Added != 1 || sum.Ecosystems[""].Added != 1 {
		t.Fatalf("per-ecosystem counts %+v", sum.Ecosystems)
	}
	want := map[string]int{"Debian": 2, "Alpine": 1, "Go": 1}
	for eco, n := range want {
		if sum.Info.Ecosystems[eco] != n {
			t.Fatalf("info ecosystems %v, want %v", sum.Info.Ecosystems, want)
		}
	}
	// Withdrawing a record takes it out of the counts and the index.
	mustImport(t, db, strings.Replace(multi, `"modified": "2025-01-01T00:00:00Z"`, `"modified": "2025-02-01T00:00:00Z", "withdrawn": "2025-02-01T00:00:00Z"`, 1))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = Open(path, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	info, err := db.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.Records != 3 || info.Withdrawn != 1 || info.Ecosystems["Alpine"] != 0 || info.Ecosystems["Debian"] != 1 || info.ImportedAt.IsZero() ||
		!info.UpdatedAt.Equal(mustTime(t, "2026-01-01T00:00:00Z")) {
		t.Fatalf("info after reopen %+v", info)
	}
	if got := matchIDs(t, db, Package{Ecosystem: "Debian:12", Name: "a", Version: "1"}); len(got) != 0 {
		t.Fatalf("withdrawn record matched: %v", got)
	}
	if got := matchIDs(t, db, Package{Ecosystem: "Debian:12", Name: "openssl", Version: "3.0.9-1"}); strings.Join(got, ",") != "DSA-1" {
		t.Fatalf("after reopen matched %v", got)
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}
