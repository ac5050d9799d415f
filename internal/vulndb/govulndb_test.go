package vulndb

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/berth/berth/internal/vulndb/vulndbtest"
)

// TestGoVulnDBModule imports the real Go vulnerability database from the
// golang.org/x/vulndb module zip in the module cache (offline; skipped
// when the zip is not there) and matches known-vulnerable versions.
func TestGoVulnDBModule(t *testing.T) {
	if testing.Short() {
		t.Skip("imports the whole Go vulnerability database")
	}
	zipPath := vulndbtest.GoVulnDBZip(t)
	f, err := os.Open(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	src, err := ZipSource(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(t.TempDir(), "vulndb.db")
	db, err := Open(dbPath, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()

	start := time.Now()
	sum, err := db.Import(ctx, src, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	dbFile, _ := os.Stat(dbPath)
	t.Logf("imported %d files (%d records, %d withdrawn) from a %d MiB zip in %v; database file %d MiB",
		sum.Files, sum.Info.Records, sum.Info.Withdrawn, st.Size()>>20, elapsed.Round(time.Millisecond), dbFile.Size()>>20)
	// Only data/osv: the module's test data and CVE JSON are not records.
	if sum.Files < 4000 || len(sum.Invalid) != 0 || sum.Added != sum.Files {
		t.Fatalf("summary %+v", sum)
	}
	if sum.Info.Records+sum.Info.Withdrawn != sum.Files || sum.Info.Ecosystems["Go"] != sum.Info.Records {
		t.Fatalf("info %+v after %d files", sum.Info, sum.Files)
	}

	pkgs := []Package{
		{Ecosystem: "Go", Name: "stdlib", Version: "go1.20.4", Location: "/app"},
		{Ecosystem: "Go", Name: "golang.org/x/text", Version: "v0.3.5"},
		{Ecosystem: "Go", Name: "golang.org/x/net", Version: "v0.0.0-20210226172049-e18ecbb05110"},
		{Ecosystem: "Go", Name: "golang.org/x/text", Version: "v0.14.0"}, // past those fixes
		{Ecosystem: "Go", Name: "github.com/goharbor/harbor", Version: "v2.9.1+incompatible"},
	}
	start = time.Now()
	findings, info, err := db.Match(ctx, pkgs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("matched %d packages in %v: %d findings", len(pkgs), time.Since(start).Round(time.Microsecond), len(findings))
	if info.Records != sum.Info.Records {
		t.Fatalf("Match info %+v", info)
	}
	want := map[[2]string]string{ // (package, id) -> fixed version
		{"stdlib", "GO-2023-1840"}:                     "1.20.5",
		{"stdlib", "GO-2022-0969"}:                     "", // fixed in 1.19.1: 1.20.4 is past it
		{"golang.org/x/text", "GO-2021-0113"}:          "0.3.7",
		{"golang.org/x/net", "GO-2021-0238"}:           "0.0.0-20210520170846-37e1c6afe023",
		{"golang.org/x/net", "GO-2022-0969"}:           "0.0.0-20220906165146-f3363e06e74c",
		{"github.com/goharbor/harbor", "GO-2024-2916"}: "2.9.4+incompatible",
	}
	got := map[[2]string]Finding{}
	for _, f := range findings {
		got[[2]string{f.Package.Name, f.ID}] = f
		if f.Package.Name == "golang.org/x/text" && f.Package.Version == "v0.14.0" && f.ID == "GO-2021-0113" {
			t.Errorf("x/text v0.14.0 matched %s", f.ID)
		}
	}
	for k, fixed := range want {
		f, ok := got[k]
		if fixed == "" {
			if ok {
				t.Errorf("%s %s matched, want not", k[0], k[1])
			}
			continue
		}
		if !ok {
			t.Errorf("%s %s not matched", k[0], k[1])
			continue
		}
		if f.FixedVersion != fixed || f.Severity != SeverityUndefined || f.URI == "" || len(f.Aliases) == 0 {
			t.Errorf("%s %s: %+v", k[0], k[1], f)
		}
	}

	// The same zip again changes nothing.
	again, err := db.Import(ctx, src, ImportOptions{})
	if err != nil || again.Skipped != sum.Files || again.Added+again.Updated != 0 {
		t.Fatalf("re-import: %+v, %v", again, err)
	}
}
