package vulndb

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	json "github.com/go-json-experiment/json/v1"
	bbolt "go.etcd.io/bbolt"
)

// Match returns the vulnerabilities of pkgs, and the Info of the database
// they were matched against (read in the same snapshot: Info.Records 0
// means nothing could be checked, not that nothing was found).
//
// A package matches the records affecting its ecosystem (see
// ecosystemMatches: "Debian" covers "Debian:12") and its name (the source
// package's for Debian, Ubuntu and Alpine when SourceName is set; Go
// modules by module path, the Go toolchain as "stdlib") whose
// affected[].versions list its version, or whose ECOSYSTEM or SEMVER ranges
// contain it in the ecosystem's own ordering. Withdrawn records match
// nothing. Findings are deduplicated per package: records that are
// aliases of each other (CVE-x and GHSA-y naming each other), or a record
// whose upstream ids other findings already cover (a DSA for CVE-x when
// DEBIAN-CVE-x matched), make one finding.
//
// Findings come in the order of pkgs, then most severe first, then by id.
// Versions that do not parse in their ecosystem are skipped (and logged at
// debug level), not errors; the error is for the database itself failing.
func (db *DB) Match(ctx context.Context, pkgs []Package) ([]Finding, Info, error) {
	start := time.Now()
	var findings []Finding
	var info Info
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		if info, err = readInfo(tx); err != nil {
			return err
		}
		m := matcher{tx: tx, db: db, records: map[string]*osvRecord{}}
		for _, p := range pkgs {
			if err := ctx.Err(); err != nil {
				return err
			}
			found, err := m.matchPackage(ctx, p)
			if err != nil {
				return err
			}
			findings = append(findings, dedupe(found)...)
		}
		return nil
	})
	if err != nil {
		return nil, Info{}, err
	}
	db.metrics.matchSeconds.Observe(time.Since(start).Seconds())
	return findings, info, nil
}

// matcher is one Match call's read transaction and record cache (binary
// packages of one source share their records).
type matcher struct {
	tx      *bbolt.Tx
	db      *DB
	records map[string]*osvRecord
}

// candidate is a finding with what deduplication needs.
type candidate struct {
	Finding
	upstream []string
}

func (m *matcher) matchPackage(ctx context.Context, p Package) ([]candidate, error) {
	name, version := advisoryName(p)
	version, ok := normalizeVersion(p.Ecosystem, name, version)
	if !ok || name == "" || p.Ecosystem == "" {
		return nil, nil
	}
	prefix := indexPrefix(baseEcosystem(p.Ecosystem), name)
	var out []candidate
	c := m.tx.Bucket(bucketIndex).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		id := string(k[len(prefix):])
		var entries []indexEntry
		if err := json.Unmarshal(v, &entries); err != nil {
			return nil, fmt.Errorf("vulndb: index of %s: %w", id, err)
		}
		hit, fixed, entry := false, "", -1
		for _, e := range entries {
			if !ecosystemMatches(e.Ecosystem, p.Ecosystem) {
				continue
			}
			affected, fix, err := entryAffects(e, version)
			if err != nil {
				m.db.log.DebugContext(ctx, "vulndb: version not comparable", "record", id, "package", name, "version", version, "err", err)
				continue
			}
			// Prefer the entry that names a fix.
			if affected && (!hit || (fixed == "" && fix != "")) {
				hit, fixed, entry = true, fix, e.Affected
			}
		}
		if !hit {
			continue
		}
		rec, err := m.record(id)
		if err != nil {
			return nil, err
		}
		out = append(out, newCandidate(rec, entry, p, fixed))
	}
	return out, nil
}

// entryAffects evaluates one affected entry: its versions list, then its
// ranges; the fix is the first one above version.
func entryAffects(e indexEntry, version string) (bool, string, error) {
	var firstErr error
	listed := len(e.Versions) > 0 && listedVersion(e.Versions, e.Ecosystem, version)
	affected := listed
	fixed := ""
	for _, r := range e.Ranges {
		res, err := evaluateRange(r, e.Ecosystem, version)
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		if res.affected {
			affected = true
			if fixed == "" {
				fixed = res.fixed
			}
		}
	}
	if !affected && firstErr != nil {
		return false, "", firstErr
	}
	return affected, fixed, nil
}

func (m *matcher) record(id string) (*osvRecord, error) {
	if rec, ok := m.records[id]; ok {
		return rec, nil
	}
	raw := m.tx.Bucket(bucketRecords).Get([]byte(id))
	if raw == nil {
		return nil, fmt.Errorf("vulndb: index names record %s, which is missing", id)
	}
	rec, err := parseRecord(raw)
	if err != nil {
		return nil, fmt.Errorf("vulndb: stored record %s: %w", id, err)
	}
	m.records[id] = rec
	return rec, nil
}

func newCandidate(rec *osvRecord, affected int, p Package, fixed string) candidate {
	f := Finding{
		ID:           rec.ID,
		Aliases:      slices.Clone(rec.Aliases),
		Summary:      rec.Summary,
		Details:      rec.Details,
		URI:          advisoryURI(rec.References),
		Package:      p,
		FixedVersion: fixed,
	}
	var matched *osvAffected
	if affected >= 0 && affected < len(rec.Affected) {
		matched = &rec.Affected[affected]
	}
	findingSeverity(&f, rec, matched)
	return candidate{Finding: f, upstream: rec.Upstream}
}

// advisoryURI is the first ADVISORY reference, else the first reference.
func advisoryURI(refs []osvReference) string {
	for _, r := range refs {
		if r.Type == "ADVISORY" {
			return r.URL
		}
	}
	if len(refs) > 0 {
		return refs[0].URL
	}
	return ""
}

// severityRank orders ECR's severities, most severe first.
func severityRank(s string) int {
	if i := slices.Index(Severities, s); i >= 0 {
		return i
	}
	return len(Severities)
}

// dedupe keeps one finding per vulnerability of one package. It considers
// findings from the most specific (fewest upstream ids; an id that is a
// CVE; the smaller id) and drops one that a kept finding covers (see
// coveredBy). A dropped finding's severity and scores fill in the kept one
// covering it when that has none.
func dedupe(found []candidate) []Finding {
	slices.SortFunc(found, func(a, b candidate) int {
		return cmp.Or(
			cmp.Compare(len(a.upstream), len(b.upstream)),
			cmp.Compare(cveRank(a.ID), cveRank(b.ID)),
			strings.Compare(a.ID, b.ID),
		)
	})
	covered := map[string]int{} // vulnerability id -> index of the kept finding naming it
	var kept []Finding
	for _, f := range found {
		ids := append(append([]string{f.ID}, f.Aliases...), f.upstream...)
		by, isNew := coveredBy(covered, f)
		if isNew {
			for _, id := range ids {
				if _, ok := covered[id]; !ok {
					covered[id] = len(kept)
				}
			}
			kept = append(kept, f.Finding)
			continue
		}
		if k := &kept[by]; k.Severity == SeverityUndefined && f.Severity != SeverityUndefined {
			k.Severity = f.Severity
			k.CVSS3Score, k.CVSS3Vector = f.CVSS3Score, f.CVSS3Vector
			k.CVSS2Score, k.CVSS2Vector = f.CVSS2Score, f.CVSS2Vector
		}
	}
	slices.SortStableFunc(kept, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(severityRank(a.Severity), severityRank(b.Severity)), strings.Compare(a.ID, b.ID))
	})
	return kept
}

// coveredBy reports whether f is a vulnerability the kept findings
// already report, and which kept finding does (by is -1 when isNew). A
// record with upstream ids (Debian's DSA/DLA/DEBIAN-CVE records) is about
// those: it is covered when all of them are. Any other record is covered
// when its id or one of its aliases is: aliases are the same
// vulnerability under another database's name.
func coveredBy(covered map[string]int, f candidate) (by int, isNew bool) {
	if len(f.upstream) > 0 {
		by = -1
		for _, id := range f.upstream {
			i, ok := covered[id]
			if !ok {
				return -1, true
			}
			by = i
		}
		return by, false
	}
	for _, id := range append([]string{f.ID}, f.Aliases...) {
		if i, ok := covered[id]; ok {
			return i, false
		}
	}
	return -1, true
}

func cveRank(id string) int {
	if strings.HasPrefix(id, "CVE-") {
		return 0
	}
	return 1
}
