package vulndb

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// debianLike is a synthetic DEBIAN-CVE record about the same size and
// shape as osv.dev's: three releases, a CVSS vector, a few references.
func debianLike(i, packages int) string {
	name := fmt.Sprintf("src%04d", i%packages)
	return fmt.Sprintf(`{"id": "DEBIAN-CVE-2024-%06d", "modified": "2026-01-01T00:00:00Z", "upstream": ["CVE-2024-%06d"],
		"details": "A synthetic vulnerability of some length, as Debian's details are copied from the CVE description and run to a few lines of text describing the issue.",
		"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
		"affected": [
		 {"package": {"ecosystem": "Debian:11", "name": %q}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2.%d-1+deb11u1"}]}], "ecosystem_specific": {"urgency": "medium"}},
		 {"package": {"ecosystem": "Debian:12", "name": %q}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2.%d-1+deb12u1"}]}], "ecosystem_specific": {"urgency": "medium"}},
		 {"package": {"ecosystem": "Debian:13", "name": %q}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}],
		"references": [{"type": "ADVISORY", "url": "https://security-tracker.debian.org/tracker/CVE-2024-%06d"}, {"type": "WEB", "url": "https://example.com/%d"}]}`,
		i, i, name, i%7, name, i%7, name, i, i)
}

// BenchmarkImportAndMatch imports BENCH_RECORDS (default 50,000)
// Debian-like records in one import, then matches an image of 300
// packages against them.
func BenchmarkImportAndMatch(b *testing.B) {
	records := 50_000
	if s := os.Getenv("BENCH_RECORDS"); s != "" {
		fmt.Sscan(s, &records)
	}
	const packages = 2_000
	src := Source{name: "synthetic"}
	for i := range records {
		raw := []byte(debianLike(i, packages))
		src.files = append(src.files, sourceFile{name: fmt.Sprint(i), read: func() ([]byte, error) { return raw, nil }})
	}
	image := make([]Package, 300)
	for i := range image {
		image[i] = Package{Ecosystem: "Debian:12", Name: fmt.Sprintf("lib%04d", i), SourceName: fmt.Sprintf("src%04d", i*3), Version: "1.2.3-1"}
	}
	path := filepath.Join(b.TempDir(), "vulndb.db")
	db, err := Open(path, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	sum, err := db.Import(ctx, src, ImportOptions{})
	if err != nil {
		b.Fatal(err)
	}
	st, _ := os.Stat(path)
	b.Logf("imported %d records in %.1fs; file %d MiB", sum.Added, sum.Seconds, st.Size()>>20)
	b.ResetTimer()
	var findings []Finding
	for b.Loop() {
		findings, _, err = db.Match(ctx, image)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(findings)), "findings")
}
