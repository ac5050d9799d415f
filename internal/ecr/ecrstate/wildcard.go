package ecrstate

import "strings"

// matchesAnyWildcard reports whether s matches one of the patterns, where
// `*` matches any run of characters (ECR's WILDCARD filters).
func matchesAnyWildcard(patterns []string, s string) bool {
	for _, p := range patterns {
		if MatchWildcard(p, s) {
			return true
		}
	}
	return false
}

// MatchWildcard reports whether s matches pattern, where `*` matches any
// run of characters and everything else matches itself.
func MatchWildcard(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, part := range parts[1 : len(parts)-1] {
		i := strings.Index(s, part)
		if i < 0 {
			return false
		}
		s = s[i+len(part):]
	}
	return len(s) >= len(last) && strings.HasSuffix(s, last)
}
