package loadbalancer

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/berth/berth/internal/elbv2/elbv2state"
)

// condition is a rule condition compiled for matching.
type condition func(r *http.Request, q url.Values, source netip.Addr) bool

// compileConditions turns a rule's conditions into one predicate: every
// condition must match, and a condition matches when any of its values
// does. An unknown field matches nothing, so a rule berth cannot evaluate
// never takes traffic it should not.
func compileConditions(conds []elbv2state.Condition) condition {
	compiled := make([]condition, 0, len(conds))
	for _, c := range conds {
		compiled = append(compiled, compileCondition(c))
	}
	return func(r *http.Request, q url.Values, source netip.Addr) bool {
		for _, c := range compiled {
			if !c(r, q, source) {
				return false
			}
		}
		return true
	}
}

func compileCondition(c elbv2state.Condition) condition {
	switch c.Field {
	case elbv2state.FieldHostHeader:
		patterns := lowered(c.Values)
		return func(r *http.Request, _ url.Values, _ netip.Addr) bool {
			host := strings.ToLower(hostOnly(r.Host))
			return anyGlob(patterns, host)
		}
	case elbv2state.FieldPathPattern:
		patterns := c.Values
		return func(r *http.Request, _ url.Values, _ netip.Addr) bool {
			return anyGlob(patterns, r.URL.Path)
		}
	case elbv2state.FieldHTTPHeader:
		name, patterns := http.CanonicalHeaderKey(c.HeaderName), lowered(c.Values)
		return func(r *http.Request, _ url.Values, _ netip.Addr) bool {
			for _, v := range r.Header.Values(name) {
				if anyGlob(patterns, strings.ToLower(v)) {
					return true
				}
			}
			return false
		}
	case elbv2state.FieldHTTPRequestMethod:
		methods := c.Values
		return func(r *http.Request, _ url.Values, _ netip.Addr) bool {
			for _, m := range methods {
				if r.Method == m {
					return true
				}
			}
			return false
		}
	case elbv2state.FieldQueryString:
		pairs := c.QueryStrings
		return func(_ *http.Request, q url.Values, _ netip.Addr) bool {
			for _, p := range pairs {
				if queryMatches(q, p) {
					return true
				}
			}
			return false
		}
	case elbv2state.FieldSourceIP:
		var blocks []netip.Prefix
		for _, v := range c.Values {
			if p, err := netip.ParsePrefix(v); err == nil {
				blocks = append(blocks, p.Masked())
			}
		}
		return func(_ *http.Request, _ url.Values, source netip.Addr) bool {
			for _, b := range blocks {
				if b.Contains(source) {
					return true
				}
			}
			return false
		}
	}
	return func(*http.Request, url.Values, netip.Addr) bool { return false }
}

// queryMatches reports whether any of the query's key/value pairs matches
// p: the key exactly (case-insensitively, as ALB compares keys) unless p
// has none, the value by pattern.
func queryMatches(q url.Values, p elbv2state.QueryString) bool {
	value := strings.ToLower(p.Value)
	for k, vs := range q {
		if p.Key != "" && !globMatch(strings.ToLower(p.Key), strings.ToLower(k)) {
			continue
		}
		for _, v := range vs {
			if globMatch(value, strings.ToLower(v)) {
				return true
			}
		}
	}
	return false
}

func lowered(values []string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = strings.ToLower(v)
	}
	return out
}

func anyGlob(patterns []string, s string) bool {
	for _, p := range patterns {
		if globMatch(p, s) {
			return true
		}
	}
	return false
}

// globMatch matches s against an ALB pattern: '*' is any run of
// characters, '?' exactly one, everything else itself.
func globMatch(pattern, s string) bool {
	// The classic two-pointer match with one backtrack point: linear in
	// practice, and never exponential.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// hostOnly is a Host header without its port.
func hostOnly(host string) string {
	if h, _, ok := strings.Cut(host, ":"); ok && !strings.Contains(h, "[") {
		return h
	}
	if strings.HasPrefix(host, "[") {
		if end := strings.Index(host, "]"); end > 0 {
			return host[:end+1]
		}
	}
	return host
}
