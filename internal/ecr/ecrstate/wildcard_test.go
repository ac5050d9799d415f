package ecrstate

import "testing"

func TestMatchWildcard(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"latest", "latest", true},
		{"latest", "latest2", false},
		{"*", "", true},
		{"v*", "v1.2", true},
		{"v*", "x1", false},
		{"*-dev", "a-dev", true},
		{"*-dev", "a-dev-x", false},
		{"a*b*c", "abc", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "acb", false},
		{"a*a", "a", false},
		{"prod*release*", "prod-1-release-2", true},
	} {
		if got := MatchWildcard(tc.pattern, tc.s); got != tc.want {
			t.Errorf("MatchWildcard(%q, %q) = %v", tc.pattern, tc.s, got)
		}
	}
}
