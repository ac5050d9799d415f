package vulndb

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	json "github.com/go-json-experiment/json/v1"
)

// osvRecord is the part of an OSV record (https://ossf.github.io/osv-schema/)
// berth reads. The record itself is stored as imported, so fields not
// named here are kept.
type osvRecord struct {
	ID string `json:"id"`
	// ModifiedText is "modified" as written; Modified is it parsed.
	ModifiedText     string          `json:"modified"`
	Modified         time.Time       `json:"-"`
	Withdrawn        string          `json:"withdrawn,omitempty"`
	Aliases          []string        `json:"aliases,omitempty"`
	Upstream         []string        `json:"upstream,omitempty"`
	Summary          string          `json:"summary,omitempty"`
	Details          string          `json:"details,omitempty"`
	Severity         []osvSeverity   `json:"severity,omitempty"`
	Affected         []osvAffected   `json:"affected,omitempty"`
	References       []osvReference  `json:"references,omitempty"`
	DatabaseSpecific json.RawMessage `json:"database_specific,omitempty"`
}

type osvSeverity struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

type osvPackage struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
}

type osvAffected struct {
	Package           *osvPackage     `json:"package,omitempty"`
	Severity          []osvSeverity   `json:"severity,omitempty"`
	Ranges            []osvRange      `json:"ranges,omitempty"`
	Versions          []string        `json:"versions,omitempty"`
	EcosystemSpecific json.RawMessage `json:"ecosystem_specific,omitempty"`
	DatabaseSpecific  json.RawMessage `json:"database_specific,omitempty"`
}

// Range types of the OSV schema. GIT ranges name commits, which an image's
// packages do not carry, so matching ignores them.
const (
	rangeEcosystem = "ECOSYSTEM"
	rangeSemver    = "SEMVER"
	rangeGit       = "GIT"
)

type osvRange struct {
	Type   string     `json:"type"`
	Events []osvEvent `json:"events"`
}

// osvEvent has exactly one field set.
type osvEvent struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

type osvReference struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

// maxIDLength bounds ids and names, which become parts of database keys.
const maxIDLength = 1024

// parseRecord decodes and checks one OSV record file. It accepts what the
// schema allows and refuses only what berth could not store or match
// unambiguously; the error says what is wrong.
func parseRecord(raw []byte) (*osvRecord, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, errors.New("not a JSON object")
	}
	var rec osvRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, fmt.Errorf("not an OSV record: %w", err)
	}
	if err := checkKeyPart("id", rec.ID); err != nil {
		return nil, err
	}
	// "modified" is required by the schema; the zero time is what the
	// golang.org/x/vulndb repository ships (vuln.go.dev stamps real ones).
	if rec.ModifiedText == "" {
		return nil, errors.New(`no "modified" time`)
	}
	modified, err := time.Parse(time.RFC3339, rec.ModifiedText)
	if err != nil {
		return nil, fmt.Errorf("modified %q is not an RFC 3339 time", rec.ModifiedText)
	}
	rec.Modified = modified.UTC()
	if rec.Withdrawn != "" {
		if _, err := time.Parse(time.RFC3339, rec.Withdrawn); err != nil {
			return nil, fmt.Errorf("withdrawn %q is not an RFC 3339 time", rec.Withdrawn)
		}
	}
	for i, a := range rec.Affected {
		if a.Package == nil {
			continue // affects only GIT commits of a repository
		}
		if err := checkKeyPart(fmt.Sprintf("affected[%d].package.ecosystem", i), a.Package.Ecosystem); err != nil {
			return nil, err
		}
		if err := checkKeyPart(fmt.Sprintf("affected[%d].package.name", i), a.Package.Name); err != nil {
			return nil, err
		}
		for j, r := range a.Ranges {
			if r.Type != rangeEcosystem && r.Type != rangeSemver && r.Type != rangeGit {
				return nil, fmt.Errorf("affected[%d].ranges[%d]: unknown type %q", i, j, r.Type)
			}
			for k, e := range r.Events {
				if n := e.fields(); n != 1 {
					return nil, fmt.Errorf("affected[%d].ranges[%d].events[%d] has %d of introduced/fixed/last_affected/limit, want exactly one", i, j, k, n)
				}
			}
		}
	}
	return &rec, nil
}

func checkKeyPart(field, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("no %s", field)
	case len(s) > maxIDLength:
		return fmt.Errorf("%s longer than %d bytes", field, maxIDLength)
	case strings.ContainsRune(s, 0):
		return fmt.Errorf("%s contains a NUL byte", field)
	}
	return nil
}

func (e osvEvent) fields() int {
	n := 0
	for _, s := range []string{e.Introduced, e.Fixed, e.LastAffected, e.Limit} {
		if s != "" {
			n++
		}
	}
	return n
}

// withdrawn reports whether the record was withdrawn: it no longer
// describes a vulnerability and matches nothing.
func (r *osvRecord) withdrawn() bool { return r.Withdrawn != "" }

// baseEcosystem is the ecosystem without its release: "Debian:12" ->
// "Debian", "Red Hat:enterprise_linux:9::appstream" -> "Red Hat".
func baseEcosystem(ecosystem string) string {
	base, _, _ := strings.Cut(ecosystem, ":")
	return base
}

// Covers reports whether the database holds records of the package
// ecosystem's family ("Debian:12": any Debian record). A package of an
// ecosystem it does not cover has not been checked at all.
func (i Info) Covers(ecosystem string) bool {
	return i.Ecosystems[baseEcosystem(ecosystem)] > 0
}

// ecosystems is the record's distinct base ecosystems, in order of first
// appearance.
func (r *osvRecord) ecosystems() []string {
	var out []string
	for _, a := range r.Affected {
		if a.Package == nil {
			continue
		}
		base := baseEcosystem(a.Package.Ecosystem)
		if !slices.Contains(out, base) {
			out = append(out, base)
		}
	}
	return out
}
