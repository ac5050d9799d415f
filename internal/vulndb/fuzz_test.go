package vulndb

import "testing"

// FuzzEvaluateRange: whatever versions an image's package databases or an
// OSV record hold, comparing them errs or answers, never panics.
func FuzzEvaluateRange(f *testing.F) {
	for _, eco := range []string{"Debian:12", "Alpine:v3.20", "Red Hat", "Go", "Ubuntu:22.04:LTS"} {
		f.Add(eco, "1:2.3-4~deb12u1", "0", "1:2.3-5", "")
		f.Add(eco, "1.2.4-r2", "1.0_rc1", "", "1.2.4-r1")
		f.Add(eco, "v0.3.7", "0", "0.3.8", "")
	}
	f.Fuzz(func(t *testing.T, ecosystem, installed, introduced, fixed, lastAffected string) {
		r := osvRange{Type: rangeEcosystem, Events: []osvEvent{{Introduced: introduced}, {Fixed: fixed}, {LastAffected: lastAffected}}}
		_, _ = evaluateRange(r, ecosystem, installed)
		r.Type = rangeSemver
		_, _ = evaluateRange(r, ecosystem, installed)
		_ = listedVersion([]string{introduced, fixed}, ecosystem, installed)
		_, _ = normalizeVersion(ecosystem, "stdlib", installed)
	})
}
