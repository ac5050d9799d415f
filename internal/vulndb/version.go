package vulndb

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/google/osv-scalibr/semantic"
)

// Version orderings come from osv-scalibr's semantic package, OSV's own
// implementation of each ecosystem's rules: dpkg for Debian and Ubuntu, apk
// for Alpine (and Wolfi, Chainguard), rpm for Red Hat, Rocky Linux,
// AlmaLinux, SUSE, and semver (with or without "v") for Go.

// parseVersion parses version for a range of rangeType in ecosystem.
// SEMVER ranges use semver whatever the ecosystem, as the schema says.
func parseVersion(rangeType, ecosystem, version string) (semantic.Version, error) {
	if rangeType == rangeSemver {
		return semantic.ParseSemverVersion(version), nil
	}
	v, err := semantic.Parse(version, ecosystem)
	if err != nil {
		return nil, fmt.Errorf("version %q in %s: %w", version, ecosystem, err)
	}
	return v, nil
}

// sourceNamedEcosystems name source packages in their advisories (Debian
// and Ubuntu source packages, Alpine's apk origins).
var sourceNamedEcosystems = []string{"Debian", "Ubuntu", "Alpine", "Wolfi", "Chainguard", "MinimOS", "Alpaquita", "BellSoft Hardened Containers"}

// advisoryName is the package name and version advisories of the
// package's ecosystem use: the source package's where they name source
// packages and the scanner knows it, else the package's own.
func advisoryName(p Package) (name, version string) {
	if p.SourceName != "" && slices.Contains(sourceNamedEcosystems, baseEcosystem(p.Ecosystem)) {
		version = p.SourceVersion
		if version == "" {
			version = p.Version
		}
		return p.SourceName, version
	}
	return p.Name, p.Version
}

// goStdlibModules are the Go vulnerability database's names for the
// standard library and the go command, versioned like the toolchain.
var goStdlibModules = []string{"stdlib", "toolchain"}

// normalizeVersion turns a package version into the form its ecosystem's
// records compare against; ok is false when it cannot be compared at all.
func normalizeVersion(ecosystem, name, version string) (string, bool) {
	version = strings.TrimSpace(version)
	if version == "" {
		return "", false
	}
	if baseEcosystem(ecosystem) == "Go" {
		if slices.Contains(goStdlibModules, name) {
			return goToolchainSemver(version)
		}
		if version == "(devel)" {
			return "", false // a main module built from a work tree
		}
	}
	return version, true
}

// goToolchainSemver converts a Go release ("go1.21.3", "go1.21rc2",
// "go1.20", or "v1.21.3"; build info may add " X:boringcrypto") to the
// semver the Go vulnerability database uses ("1.21.3", "1.21.0-rc.2",
// "1.20.0"). Development builds ("devel ...") have no release to compare.
func goToolchainSemver(version string) (string, bool) {
	version, _, _ = strings.Cut(version, " ")
	if strings.HasPrefix(version, "v") {
		return version, true
	}
	rest, ok := strings.CutPrefix(version, "go")
	if !ok || rest == "" || rest[0] < '0' || rest[0] > '9' {
		return "", false
	}
	// Split "1.21rc2" into the numbers and the pre-release.
	i := strings.IndexFunc(rest, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	nums, pre := rest, ""
	if i >= 0 {
		nums, pre = rest[:i], rest[i:]
	}
	parts := strings.Split(strings.TrimSuffix(nums, "."), ".")
	for len(parts) < 3 {
		parts = append(parts, "0")
	}
	out := strings.Join(parts, ".")
	if pre == "" {
		return out, true
	}
	// "rc2" -> "-rc.2", "beta1" -> "-beta.1"
	j := strings.IndexFunc(pre, func(r rune) bool { return r >= '0' && r <= '9' })
	if j > 0 {
		return out + "-" + pre[:j] + "." + pre[j:], true
	}
	return out + "-" + pre, true
}

// rangeResult is what one range says about one version.
type rangeResult struct {
	affected bool
	// fixed is the first fixed version above the installed one, if any.
	fixed string
}

// evaluateRange applies OSV's algorithm: events sorted by version
// (introduced "0" first); an introduced at or below the version turns
// vulnerability on, a fixed at or below it or a last_affected below it
// turns it off. Limits, when present, bound the range from above.
func evaluateRange(r osvRange, ecosystem, version string) (rangeResult, error) {
	if r.Type != rangeEcosystem && r.Type != rangeSemver {
		return rangeResult{}, nil
	}
	installed, err := parseVersion(r.Type, ecosystem, version)
	if err != nil {
		return rangeResult{}, err
	}
	type event struct {
		osvEvent
		v    semantic.Version // nil for introduced "0" and limit "*"
		text string
	}
	events := make([]event, 0, len(r.Events))
	var limits []event
	for _, e := range r.Events {
		text := cmp.Or(e.Introduced, e.Fixed, e.LastAffected, e.Limit)
		ev := event{osvEvent: e, text: text}
		if !(e.Introduced == "0" || e.Limit == "*") {
			if ev.v, err = parseVersion(r.Type, ecosystem, text); err != nil {
				return rangeResult{}, err
			}
		}
		if e.Limit != "" {
			limits = append(limits, ev)
			continue
		}
		events = append(events, ev)
	}
	var sortErr error
	slices.SortStableFunc(events, func(a, b event) int {
		switch {
		case a.v == nil && b.v == nil:
			return 0
		case a.v == nil:
			return -1
		case b.v == nil:
			return 1
		}
		c, err := a.v.Compare(b.v)
		if err != nil {
			sortErr = err
		}
		return c
	})
	if sortErr != nil {
		return rangeResult{}, sortErr
	}
	// compare is installed <=> the event's version.
	compare := func(e event) (int, error) {
		if e.v == nil {
			return 1, nil
		}
		return installed.Compare(e.v)
	}
	affected := false
	for _, e := range events {
		c, err := compare(e)
		if err != nil {
			return rangeResult{}, err
		}
		switch {
		case e.Introduced != "" && c >= 0:
			affected = true
		case e.Fixed != "" && c >= 0:
			affected = false
		case e.LastAffected != "" && c > 0:
			affected = false
		}
	}
	if affected && len(limits) > 0 {
		below := false
		for _, l := range limits {
			if l.v == nil {
				below = true
				break
			}
			c, err := installed.Compare(l.v)
			if err != nil {
				return rangeResult{}, err
			}
			if c < 0 {
				below = true
				break
			}
		}
		affected = below
	}
	if !affected {
		return rangeResult{}, nil
	}
	for _, e := range events {
		if e.Fixed == "" {
			continue
		}
		c, err := compare(e)
		if err != nil {
			return rangeResult{}, err
		}
		if c < 0 {
			return rangeResult{affected: true, fixed: e.text}, nil
		}
	}
	return rangeResult{affected: true}, nil
}

// listedVersion reports whether version is one of an affected entry's
// enumerated versions, compared in the ecosystem's ordering (so "v1.2.3"
// is "1.2.3" in Go) or, where a version does not parse, as text.
func listedVersion(versions []string, ecosystem, version string) bool {
	installed, err := parseVersion(rangeEcosystem, ecosystem, version)
	for _, listed := range versions {
		if listed == version {
			return true
		}
		if err != nil {
			continue
		}
		if c, err := installed.CompareStr(listed); err == nil && c == 0 {
			return true
		}
	}
	return false
}

// ecosystemMatches reports whether a record's affected ecosystem covers
// the package's ecosystem: the same one; the bare ecosystem, which covers
// all its releases; a package with no release, which any release may
// describe; Ubuntu's ":LTS" suffix ("Ubuntu:22.04:LTS" covers
// "Ubuntu:22.04"; "Ubuntu:Pro:…" covers only Pro); Alpine releases with or
// without their "v"; and Red Hat's CPE-shaped ones
// ("Red Hat:enterprise_linux:9::appstream" covers "Red Hat:9").
func ecosystemMatches(record, pkg string) bool {
	if record == pkg {
		return true
	}
	recordBase, recordRelease, recordHasRelease := strings.Cut(record, ":")
	pkgBase, pkgRelease, pkgHasRelease := strings.Cut(pkg, ":")
	if recordBase != pkgBase {
		return false
	}
	if !recordHasRelease || !pkgHasRelease {
		return true
	}
	switch recordBase {
	case "Ubuntu":
		return strings.TrimSuffix(recordRelease, ":LTS") == strings.TrimSuffix(pkgRelease, ":LTS")
	case "Alpine":
		return strings.TrimPrefix(recordRelease, "v") == strings.TrimPrefix(pkgRelease, "v")
	case "Red Hat":
		// "enterprise_linux:9::appstream", "rhel_eus:9.2::baseos"
		fields := strings.Split(recordRelease, ":")
		if len(fields) < 2 {
			return false
		}
		major, _, _ := strings.Cut(fields[1], ".")
		pkgMajor, _, _ := strings.Cut(pkgRelease, ".")
		return major == pkgMajor
	}
	return false
}
