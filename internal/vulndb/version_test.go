package vulndb

import "testing"

func TestVersionOrderings(t *testing.T) {
	cases := []struct {
		ecosystem string
		a, b      string
		want      int // sign of a <=> b
	}{
		// dpkg: epochs, tilde sorts before everything, revisions.
		{"Debian:12", "1:1.0-1", "2.0-1", 1},
		{"Debian:12", "1.0~rc1-1", "1.0-1", -1},
		{"Debian:12", "1.0~~a", "1.0~a", -1},
		{"Debian:12", "3.0.11-1~deb12u1", "3.0.11-1", -1},
		{"Debian:12", "2.36-9+deb12u4", "2.36-9+deb12u10", -1},
		{"Debian:12", "1.2.3-1+b1", "1.2.3-1", 1},
		{"Ubuntu:22.04", "3.0.2-0ubuntu1.10", "3.0.2-0ubuntu1.9", 1},
		{"Debian:12", "0:1.0", "1.0", 0},
		// apk: suffixes _alpha < _beta < _pre < _rc < (none) < _p; revisions.
		{"Alpine:v3.20", "1.2.3_rc1-r0", "1.2.3-r0", -1},
		{"Alpine:v3.20", "1.2.3_p1-r0", "1.2.3-r0", 1},
		{"Alpine:v3.20", "1.2.3_alpha-r0", "1.2.3_beta-r0", -1},
		{"Alpine:v3.20", "1.2.3-r0", "1.2.3-r1", -1},
		{"Alpine:v3.20", "3.0.8-r0", "3.0.10-r0", -1},
		{"Alpine:v3.20", "1.36.1-r5", "1.36.1-r15", -1},
		// rpm: epochs, tilde before, caret after, release parts.
		{"Rocky Linux:9", "1:1.0-1", "2.0-1", 1},
		{"Red Hat", "1.0~rc1-1", "1.0-1", -1},
		{"AlmaLinux:9", "1.0^post1-1", "1.0-1", 1},
		{"Red Hat", "1:3.0.7-16.el9_2", "1:3.0.7-18.el9", -1},
		{"Red Hat", "2.34-60.el9", "2.34-100.el9", -1},
		// Go (SEMVER): "v" or not, pseudo-versions, +incompatible, pre-releases.
		{"Go", "v1.2.3", "1.2.3", 0},
		{"Go", "v0.0.0-20210226172049-e18ecbb05110", "0.0.0-20210520170846-37e1c6afe023", -1},
		{"Go", "v0.0.0-20210520170846-37e1c6afe023", "0.0.0-20210520170846-37e1c6afe023", 0},
		{"Go", "v2.9.1+incompatible", "2.9.4+incompatible", -1},
		{"Go", "v2.9.4+incompatible", "2.9.4", 0},
		{"Go", "v1.20.0-rc.1", "1.20.0", -1},
		{"Go", "1.20.0-0", "1.20.0-rc.1", -1},
		{"Go", "v1.5.1-0.20230101000000-abcdefabcdef", "1.5.0", 1}, // pseudo-version after v1.5.0
		{"Go", "v1.5.1-0.20230101000000-abcdefabcdef", "1.5.1", -1},
	}
	for _, tc := range cases {
		rangeType := rangeEcosystem
		if tc.ecosystem == "Go" {
			rangeType = rangeSemver
		}
		a, err := parseVersion(rangeType, tc.ecosystem, tc.a)
		if err != nil {
			t.Errorf("%s %q: %v", tc.ecosystem, tc.a, err)
			continue
		}
		got, err := a.CompareStr(tc.b)
		if err != nil {
			t.Errorf("%s %q vs %q: %v", tc.ecosystem, tc.a, tc.b, err)
			continue
		}
		if sign(got) != tc.want {
			t.Errorf("%s: %q <=> %q = %d, want %d", tc.ecosystem, tc.a, tc.b, got, tc.want)
		}
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func TestGoToolchainSemver(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"go1.21.3", "1.21.3", true},
		{"go1.20", "1.20.0", true},
		{"go1.21rc2", "1.21.0-rc.2", true},
		{"go1.9beta1", "1.9.0-beta.1", true},
		{"go1.22.1 X:boringcrypto", "1.22.1", true},
		{"v1.21.3", "v1.21.3", true},
		{"devel go1.23-abcdef", "", false},
		{"go", "", false},
		{"", "", false},
	}
	for _, tc := range cases {
		got, ok := normalizeVersion("Go", "stdlib", tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("normalizeVersion(stdlib %q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	if _, ok := normalizeVersion("Go", "example.com/m", "(devel)"); ok {
		t.Error("(devel) main module is comparable")
	}
}

func TestEcosystemMatches(t *testing.T) {
	cases := []struct {
		record, pkg string
		want        bool
	}{
		{"Debian:12", "Debian:12", true},
		{"Debian", "Debian:12", true},
		{"Debian:11", "Debian:12", false},
		{"Debian:12", "Debian", true},
		{"Ubuntu:22.04:LTS", "Ubuntu:22.04", true},
		{"Ubuntu:Pro:22.04:LTS", "Ubuntu:22.04", false},
		{"Ubuntu:23.10", "Ubuntu:22.04", false},
		{"Alpine:v3.20", "Alpine:3.20", true},
		{"Alpine:v3.19", "Alpine:v3.20", false},
		{"Red Hat:enterprise_linux:9::appstream", "Red Hat:9", true},
		{"Red Hat:rhel_eus:9.2::baseos", "Red Hat:9", true},
		{"Red Hat:enterprise_linux:8::baseos", "Red Hat:9", false},
		{"Rocky Linux:9", "Rocky Linux:9", true},
		{"Rocky Linux:9", "AlmaLinux:9", false},
		{"Go", "Go", true},
		{"Debian:12", "Ubuntu:22.04", false},
	}
	for _, tc := range cases {
		if got := ecosystemMatches(tc.record, tc.pkg); got != tc.want {
			t.Errorf("ecosystemMatches(%q, %q) = %v, want %v", tc.record, tc.pkg, got, tc.want)
		}
	}
}
