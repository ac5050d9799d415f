package vulndb

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func newTestDB(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "vulndb.db"), Options{
		Logger: slog.New(slog.DiscardHandler),
		Now:    func() time.Time { return time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// memSource is a Source of in-memory files, named by their record id.
func memSource(records ...string) Source {
	src := Source{name: "test"}
	for i, r := range records {
		src.files = append(src.files, sourceFile{name: fmt.Sprintf("%d.json", i), read: func() ([]byte, error) { return []byte(r), nil }})
	}
	return src
}

func mustImport(t *testing.T, db *DB, records ...string) ImportSummary {
	t.Helper()
	sum, err := db.Import(context.Background(), memSource(records...), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// record builds an OSV record JSON with one affected entry.
func record(id, ecosystem, name, affectedJSON string, extra ...string) string {
	fields := append([]string{
		fmt.Sprintf(`"id": %q`, id),
		`"modified": "2026-01-01T00:00:00Z"`,
		fmt.Sprintf(`"affected": [{"package": {"ecosystem": %q, "name": %q}, %s}]`, ecosystem, name, affectedJSON),
	}, extra...)
	return "{" + strings.Join(fields, ", ") + "}"
}

func ranges(typ string, events ...string) string {
	return fmt.Sprintf(`"ranges": [{"type": %q, "events": [%s]}]`, typ, strings.Join(events, ", "))
}

func intro(v string) string   { return fmt.Sprintf(`{"introduced": %q}`, v) }
func fixed(v string) string   { return fmt.Sprintf(`{"fixed": %q}`, v) }
func lastAff(v string) string { return fmt.Sprintf(`{"last_affected": %q}`, v) }
func limit(v string) string   { return fmt.Sprintf(`{"limit": %q}`, v) }

func TestMatch(t *testing.T) {
	db := newTestDB(t)
	mustImport(t, db,
		// Debian names source packages; per release, and bare "Debian".
		record("DEBIAN-CVE-2023-0001", "Debian:12", "openssl", ranges("ECOSYSTEM", intro("0"), fixed("3.0.11-1~deb12u1"))),
		record("DEBIAN-CVE-2023-0009", "Debian", "zlib", ranges("ECOSYSTEM", intro("0"), fixed("1:1.2.13.dfsg-1"))),
		// Ubuntu's LTS ecosystem names.
		record("UBUNTU-CVE-2023-0002", "Ubuntu:22.04:LTS", "openssl", ranges("ECOSYSTEM", intro("0"), fixed("3.0.2-0ubuntu1.12"))),
		// Alpine names origin packages; _rc/_p suffixes, -r revisions.
		record("ALPINE-CVE-2023-0003", "Alpine:v3.18", "openssl", ranges("ECOSYSTEM", intro("0"), fixed("3.1.2-r0"))),
		record("ALPINE-CVE-2023-0004", "Alpine:v3.18", "busybox", ranges("ECOSYSTEM", intro("1.36.0_rc1-r0"), fixed("1.36.1_p2-r0"))),
		// rpm: binary names, epochs.
		record("RLSA-2023:0005", "Rocky Linux:9", "openssl-libs", ranges("ECOSYSTEM", intro("0"), fixed("1:3.0.7-18.el9_2"))),
		record("RHSA-2023:0006", "Red Hat:enterprise_linux:9::baseos", "glibc", ranges("ECOSYSTEM", intro("0"), fixed("2.34-60.el9_2.7"))),
		// Go: SEMVER without "v", several ranges, last_affected, limit.
		record("GO-2023-0007", "Go", "example.com/lib", ranges("SEMVER", intro("0"), fixed("1.2.0"), intro("1.3.0"), fixed("1.3.4"))),
		record("GO-2023-0008", "Go", "example.com/old", ranges("SEMVER", intro("1.0.0"), lastAff("1.4.0"))),
		record("GO-2023-0010", "Go", "example.com/limited", ranges("SEMVER", intro("0"), limit("2.0.0"))),
		record("GO-2023-0011", "Go", "stdlib", ranges("SEMVER", intro("0"), fixed("1.20.5"), intro("1.21.0-0"), fixed("1.21.1"))),
		// An enumerated versions list, no ranges.
		record("DEBIAN-CVE-2023-0012", "Debian:12", "listed", `"versions": ["1.0-1", "1.0-2"]`),
		// Withdrawn: matches nothing.
		record("GO-2023-0013", "Go", "example.com/lib", ranges("SEMVER", intro("0")), `"withdrawn": "2026-01-02T00:00:00Z"`),
		// A GIT range alone matches nothing.
		record("OSV-2023-0014", "Go", "example.com/lib", `"ranges": [{"type": "GIT", "repo": "https://example.com/lib", "events": [{"introduced": "0"}]}]`),
	)

	cases := []struct {
		name  string
		pkg   Package
		want  []string // ids
		fixed string   // of the first finding
	}{
		{"debian binary by source name", Package{Ecosystem: "Debian:12", Name: "libssl3", Version: "3.0.9-1", SourceName: "openssl", SourceVersion: "3.0.9-1"}, []string{"DEBIAN-CVE-2023-0001"}, "3.0.11-1~deb12u1"},
		{"debian source version used", Package{Ecosystem: "Debian:12", Name: "libssl3", Version: "3.0.9-1+b1", SourceName: "openssl", SourceVersion: "3.0.11-1~deb12u1"}, nil, ""},
		{"debian fixed version", Package{Ecosystem: "Debian:12", Name: "openssl", Version: "3.0.11-1~deb12u1"}, nil, ""},
		{"debian newer than fix", Package{Ecosystem: "Debian:12", Name: "openssl", Version: "3.0.11-1~deb12u2"}, nil, ""},
		{"debian other release", Package{Ecosystem: "Debian:11", Name: "openssl", Version: "1.1.1n-0+deb11u4"}, nil, ""},
		{"debian binary name alone is not the source", Package{Ecosystem: "Debian:12", Name: "openssl", SourceName: "openssl-other", Version: "3.0.9-1"}, nil, ""},
		{"bare Debian covers releases, epoch", Package{Ecosystem: "Debian:12", Name: "zlib1g", SourceName: "zlib", Version: "1:1.2.11.dfsg-2"}, []string{"DEBIAN-CVE-2023-0009"}, "1:1.2.13.dfsg-1"},
		{"epoch beats upstream", Package{Ecosystem: "Debian:12", Name: "zlib", Version: "1.3"}, []string{"DEBIAN-CVE-2023-0009"}, "1:1.2.13.dfsg-1"},
		{"ubuntu LTS", Package{Ecosystem: "Ubuntu:22.04", Name: "libssl3", SourceName: "openssl", Version: "3.0.2-0ubuntu1.10"}, []string{"UBUNTU-CVE-2023-0002"}, "3.0.2-0ubuntu1.12"},
		{"alpine origin", Package{Ecosystem: "Alpine:v3.18", Name: "libcrypto3", SourceName: "openssl", Version: "3.1.1-r1"}, []string{"ALPINE-CVE-2023-0003"}, "3.1.2-r0"},
		{"alpine fixed", Package{Ecosystem: "Alpine:v3.18", Name: "libcrypto3", SourceName: "openssl", Version: "3.1.2-r0"}, nil, ""},
		{"alpine rc before introduced", Package{Ecosystem: "Alpine:v3.18", Name: "busybox", Version: "1.36.0_alpha-r0"}, nil, ""},
		{"alpine release between", Package{Ecosystem: "Alpine:v3.18", Name: "busybox", Version: "1.36.1-r5"}, []string{"ALPINE-CVE-2023-0004"}, "1.36.1_p2-r0"},
		{"alpine _p fix", Package{Ecosystem: "Alpine:v3.18", Name: "busybox", Version: "1.36.1_p2-r0"}, nil, ""},
		{"rocky epoch", Package{Ecosystem: "Rocky Linux:9", Name: "openssl-libs", Version: "1:3.0.7-16.el9_2"}, []string{"RLSA-2023:0005"}, "1:3.0.7-18.el9_2"},
		{"rocky missing epoch is older", Package{Ecosystem: "Rocky Linux:9", Name: "openssl-libs", Version: "3.0.9-1.el9"}, []string{"RLSA-2023:0005"}, "1:3.0.7-18.el9_2"},
		{"red hat CPE ecosystem", Package{Ecosystem: "Red Hat:9", Name: "glibc", Version: "2.34-60.el9"}, []string{"RHSA-2023:0006"}, "2.34-60.el9_2.7"},
		{"red hat other major", Package{Ecosystem: "Red Hat:8", Name: "glibc", Version: "2.28-1.el8"}, nil, ""},
		{"go first range", Package{Ecosystem: "Go", Name: "example.com/lib", Version: "v1.1.9"}, []string{"GO-2023-0007"}, "1.2.0"},
		{"go between ranges", Package{Ecosystem: "Go", Name: "example.com/lib", Version: "v1.2.5"}, nil, ""},
		{"go second range", Package{Ecosystem: "Go", Name: "example.com/lib", Version: "v1.3.0"}, []string{"GO-2023-0007"}, "1.3.4"},
		{"go pseudo-version before fix", Package{Ecosystem: "Go", Name: "example.com/lib", Version: "v1.1.1-0.20230101000000-abcdefabcdef"}, []string{"GO-2023-0007"}, "1.2.0"},
		{"go last_affected included", Package{Ecosystem: "Go", Name: "example.com/old", Version: "v1.4.0"}, []string{"GO-2023-0008"}, ""},
		{"go after last_affected", Package{Ecosystem: "Go", Name: "example.com/old", Version: "v1.4.1"}, nil, ""},
		{"go before introduced", Package{Ecosystem: "Go", Name: "example.com/old", Version: "v0.9.0"}, nil, ""},
		{"go under limit", Package{Ecosystem: "Go", Name: "example.com/limited", Version: "v1.9.0"}, []string{"GO-2023-0010"}, ""},
		{"go at limit", Package{Ecosystem: "Go", Name: "example.com/limited", Version: "v2.0.0"}, nil, ""},
		{"go stdlib toolchain version", Package{Ecosystem: "Go", Name: "stdlib", Version: "go1.20.4"}, []string{"GO-2023-0011"}, "1.20.5"},
		{"go stdlib rc", Package{Ecosystem: "Go", Name: "stdlib", Version: "go1.21rc2"}, []string{"GO-2023-0011"}, "1.21.1"},
		{"go stdlib fixed", Package{Ecosystem: "Go", Name: "stdlib", Version: "go1.21.1"}, nil, ""},
		{"versions list hit", Package{Ecosystem: "Debian:12", Name: "listed", Version: "1.0-2"}, []string{"DEBIAN-CVE-2023-0012"}, ""},
		{"versions list miss", Package{Ecosystem: "Debian:12", Name: "listed", Version: "1.0-3"}, nil, ""},
		{"unparsable version", Package{Ecosystem: "Alpine:v3.18", Name: "busybox", Version: "not a version!"}, nil, ""},
		{"unknown ecosystem", Package{Ecosystem: "Nix", Name: "openssl", Version: "1"}, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			findings, info, err := db.Match(context.Background(), []Package{tc.pkg})
			if err != nil {
				t.Fatal(err)
			}
			if info.Records != 13 || info.Withdrawn != 1 {
				t.Fatalf("info %+v", info)
			}
			var ids []string
			for _, f := range findings {
				ids = append(ids, f.ID)
				if f.Package != tc.pkg {
					t.Errorf("finding package %+v", f.Package)
				}
			}
			if !slices.Equal(ids, tc.want) {
				t.Fatalf("findings %v, want %v", ids, tc.want)
			}
			if len(findings) > 0 && findings[0].FixedVersion != tc.fixed {
				t.Errorf("fixed version %q, want %q", findings[0].FixedVersion, tc.fixed)
			}
		})
	}
}

func TestMatchDeduplicates(t *testing.T) {
	db := newTestDB(t)
	cvss := `"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]`
	openssl := ranges("ECOSYSTEM", intro("0"), fixed("3.0.11-1~deb12u1"))
	mustImport(t, db,
		// Per-CVE records and a DSA about both: the DSA is covered.
		record("DEBIAN-CVE-2023-0001", "Debian:12", "openssl", openssl, `"upstream": ["CVE-2023-0001"]`),
		record("DEBIAN-CVE-2023-0002", "Debian:12", "openssl", openssl, `"upstream": ["CVE-2023-0002"]`, cvss),
		record("DSA-5500-1", "Debian:12", "openssl", openssl, `"upstream": ["CVE-2023-0001", "CVE-2023-0002"]`),
		// A DSA naming a CVE no per-CVE record covers stays.
		record("DSA-5501-1", "Debian:12", "openssl", openssl, `"upstream": ["CVE-2023-0001", "CVE-2023-0003"]`),
		// Aliases: CVE and GHSA records naming each other are one; the CVE
		// one is kept and takes the GHSA's severity it lacks.
		record("GHSA-aaaa-bbbb-cccc", "Go", "example.com/lib", ranges("SEMVER", intro("0"), fixed("1.2.0")), `"aliases": ["CVE-2023-0100"]`, `"database_specific": {"severity": "HIGH"}`),
		record("CVE-2023-0100", "Go", "example.com/lib", ranges("SEMVER", intro("0"), fixed("1.2.0")), `"aliases": ["GHSA-aaaa-bbbb-cccc"]`),
		// A one-way alias still groups.
		record("GO-2023-0101", "Go", "example.com/lib", ranges("SEMVER", intro("0"), fixed("1.2.0")), `"aliases": ["CVE-2023-0101"]`),
		record("CVE-2023-0101", "Go", "example.com/lib", ranges("SEMVER", intro("0"), fixed("1.2.0"))),
	)
	findings, _, err := db.Match(context.Background(), []Package{
		{Ecosystem: "Debian:12", Name: "libssl3", SourceName: "openssl", Version: "3.0.9-1"},
		{Ecosystem: "Debian:12", Name: "openssl", Version: "3.0.9-1"},
		{Ecosystem: "Go", Name: "example.com/lib", Version: "v1.0.0"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range findings {
		got = append(got, f.Package.Name+" "+f.ID+" "+f.Severity)
	}
	want := []string{
		// per package: most severe first, then by id
		"libssl3 DEBIAN-CVE-2023-0002 CRITICAL",
		"libssl3 DEBIAN-CVE-2023-0001 UNDEFINED",
		"libssl3 DSA-5501-1 UNDEFINED",
		"openssl DEBIAN-CVE-2023-0002 CRITICAL",
		"openssl DEBIAN-CVE-2023-0001 UNDEFINED",
		"openssl DSA-5501-1 UNDEFINED",
		"example.com/lib CVE-2023-0100 HIGH",
		"example.com/lib CVE-2023-0101 UNDEFINED",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("findings\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestMatchEmptyDatabase(t *testing.T) {
	db := newTestDB(t)
	findings, info, err := db.Match(context.Background(), []Package{{Ecosystem: "Go", Name: "stdlib", Version: "go1.20"}})
	if err != nil || len(findings) != 0 || info.Records != 0 || !info.ImportedAt.IsZero() {
		t.Fatalf("empty database: %v %+v %v", findings, info, err)
	}
}

func TestMatchFindingFields(t *testing.T) {
	db := newTestDB(t)
	mustImport(t, db, `{
		"id": "GHSA-xxxx-yyyy-zzzz", "modified": "2026-02-03T04:05:06.789Z",
		"aliases": ["CVE-2024-1234"], "summary": "Bad thing", "details": "Longer text",
		"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:N/A:N"},
		             {"type": "CVSS_V2", "score": "AV:N/AC:L/Au:N/C:P/I:P/A:P"}],
		"affected": [{"package": {"ecosystem": "Go", "name": "example.com/lib"},
		              "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.5.0"}]}]}],
		"references": [{"type": "WEB", "url": "https://example.com/web"}, {"type": "ADVISORY", "url": "https://example.com/advisory"}]
	}`)
	findings, info, err := db.Match(context.Background(), []Package{{Ecosystem: "Go", Name: "example.com/lib", Version: "v1.4.0", Location: "/bin/app"}})
	if err != nil || len(findings) != 1 {
		t.Fatalf("%v %v", findings, err)
	}
	want := Finding{
		ID: "GHSA-xxxx-yyyy-zzzz", Aliases: []string{"CVE-2024-1234"}, Summary: "Bad thing", Details: "Longer text",
		Severity: SeverityMedium, CVSS3Score: 6.5, CVSS3Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:N/A:N",
		CVSS2Score: 7.5, CVSS2Vector: "AV:N/AC:L/Au:N/C:P/I:P/A:P",
		URI:          "https://example.com/advisory",
		Package:      Package{Ecosystem: "Go", Name: "example.com/lib", Version: "v1.4.0", Location: "/bin/app"},
		FixedVersion: "1.5.0",
	}
	if fmt.Sprintf("%+v", findings[0]) != fmt.Sprintf("%+v", want) {
		t.Fatalf("finding\n%+v\nwant\n%+v", findings[0], want)
	}
	if !info.UpdatedAt.Equal(time.Date(2026, 2, 3, 4, 5, 6, 789e6, time.UTC)) {
		t.Errorf("updatedAt %v", info.UpdatedAt)
	}
}
