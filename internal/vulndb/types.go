// Package vulndb is berth's offline vulnerability database: OSV records
// imported with `berth vulndb import`, matched against the packages the
// image scanner finds, with each ecosystem's own version ordering.
package vulndb

import "time"

// Package is one installed package as the image scanner found it.
type Package struct {
	// Ecosystem is the OSV ecosystem, with the release where OSV uses
	// one: "Debian:12", "Alpine:v3.20", "Ubuntu:22.04", "Rocky Linux:9",
	// "Red Hat", "Go".
	Ecosystem string `json:"ecosystem"`
	// Name is the binary package's name, or the Go module path.
	Name string `json:"name"`
	// Version is the installed version in the ecosystem's own format
	// (dpkg epoch:upstream-revision, apk, rpm epoch:version-release, Go
	// "v1.2.3"; the Go toolchain itself is module "stdlib").
	Version string `json:"version"`
	// SourceName and SourceVersion are the source package, when the
	// ecosystem's advisories name source packages (Debian, Ubuntu) and it
	// differs from the binary one.
	SourceName    string `json:"sourceName,omitempty"`
	SourceVersion string `json:"sourceVersion,omitempty"`
	// Location is the path in the image the package was found at (the
	// package database, or the Go binary).
	Location string `json:"location,omitempty"`
}

// Finding is one vulnerability of one package.
type Finding struct {
	// ID is the OSV id (CVE-…, GO-…, DSA-…, ALPINE-…); Aliases its others.
	ID      string   `json:"id"`
	Aliases []string `json:"aliases,omitempty"`
	Summary string   `json:"summary,omitempty"`
	Details string   `json:"details,omitempty"`
	// Severity is ECR's: INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL or
	// UNDEFINED (no score in the record).
	Severity    string  `json:"severity"`
	CVSS3Score  float64 `json:"cvss3Score,omitempty"`
	CVSS3Vector string  `json:"cvss3Vector,omitempty"`
	CVSS2Score  float64 `json:"cvss2Score,omitempty"`
	CVSS2Vector string  `json:"cvss2Vector,omitempty"`
	// URI is the advisory's page (its first ADVISORY reference, else the
	// first reference).
	URI     string  `json:"uri,omitempty"`
	Package Package `json:"package"`
	// FixedVersion is the first fixed version after the installed one,
	// if the record names one.
	FixedVersion string `json:"fixedVersion,omitempty"`
}

// Info describes the database's contents.
type Info struct {
	// Records is how many OSV records are loaded; 0 means scans cannot
	// say anything about vulnerabilities.
	Records int `json:"records"`
	// Ecosystems counts records per ecosystem (without release).
	Ecosystems map[string]int `json:"ecosystems,omitempty"`
	// UpdatedAt is the newest "modified" time among the records (ECR's
	// vulnerabilitySourceUpdatedAt); zero when empty.
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
	// Withdrawn counts withdrawn records, kept (so a re-import sees them)
	// but matching nothing; Records and Ecosystems leave them out.
	Withdrawn int `json:"withdrawn,omitempty"`
	// ImportedAt is when the last import committed; zero when none did.
	// Records without real "modified" times (the golang.org/x/vulndb
	// repository's are all zero) leave UpdatedAt zero; then ImportedAt is
	// the best "source updated" time there is.
	ImportedAt time.Time `json:"importedAt,omitzero"`
}
