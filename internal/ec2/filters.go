package ec2

import (
	"slices"
	"strconv"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/ec2/ec2types"
)

// filterSpec is what a Describe call can filter its resources of type T
// by: named fields, and (when tags is set) tag:<key>, tag-key and
// tag-value.
type filterSpec[T any] struct {
	fields map[string]func(T) []string
	tags   func(T) []ec2state.Tag
}

// filter is one Filter of a request: a resource passes it when one of the
// values it has matches one of the filter's patterns.
type filter[T any] struct {
	values   func(T) []string
	patterns []string
}

// filters are a request's Filters; a resource must pass every one.
type filters[T any] []filter[T]

// parse checks a request's filters against the spec. An unknown filter
// name is EC2's InvalidParameterValue.
func (s filterSpec[T]) parse(in []ec2types.Filter) (filters[T], error) {
	out := make(filters[T], 0, len(in))
	for _, f := range in {
		name := awsapi.Deref(f.Name)
		values, ok := s.fields[name]
		if !ok && s.tags != nil {
			values, ok = s.tagField(name)
		}
		if !ok {
			// OBSERVED.
			return nil, invalidValue("The filter '%s' is invalid", name)
		}
		out = append(out, filter[T]{values: values, patterns: f.Values})
	}
	return out, nil
}

// tagField is the tag filter name stands for, if it is one.
func (s filterSpec[T]) tagField(name string) (func(T) []string, bool) {
	pick := func(keep func(ec2state.Tag) (string, bool)) func(T) []string {
		return func(v T) []string {
			var out []string
			for _, t := range s.tags(v) {
				if x, ok := keep(t); ok {
					out = append(out, x)
				}
			}
			return out
		}
	}
	switch {
	case name == "tag-key":
		return pick(func(t ec2state.Tag) (string, bool) { return t.Key, true }), true
	case name == "tag-value":
		return pick(func(t ec2state.Tag) (string, bool) { return t.Value, true }), true
	case strings.HasPrefix(name, "tag:") && len(name) > len("tag:"):
		key := name[len("tag:"):]
		return pick(func(t ec2state.Tag) (string, bool) { return t.Value, t.Key == key }), true
	}
	return nil, false
}

// match reports whether v passes every filter.
func (fs filters[T]) match(v T) bool {
	for _, f := range fs {
		values := f.values(v)
		if !slices.ContainsFunc(f.patterns, func(p string) bool {
			return slices.ContainsFunc(values, func(x string) bool { return glob(p, x) })
		}) {
			return false
		}
	}
	return true
}

// apply returns the items that pass every filter.
func (fs filters[T]) apply(items []T) []T {
	if len(fs) == 0 {
		return items
	}
	var out []T
	for _, v := range items {
		if fs.match(v) {
			out = append(out, v)
		}
	}
	return out
}

// glob matches s against an EC2 filter value: '*' matches any run of
// characters, '?' any one, and '\' makes the next character literal.
func glob(pattern, s string) bool {
	p, x := []rune(pattern), []rune(s)
	var pi, xi int
	// Where the last '*' was, and the position in s it now stands for:
	// on a mismatch the star takes one more character.
	star, starX := -1, 0
	for xi < len(x) {
		if pi < len(p) {
			switch c := p[pi]; {
			case c == '*':
				star, starX = pi, xi
				pi++
				continue
			case c == '?':
				pi++
				xi++
				continue
			case c == '\\' && pi+1 < len(p):
				if p[pi+1] == x[xi] {
					pi += 2
					xi++
					continue
				}
			case c == x[xi]:
				pi++
				xi++
				continue
			}
		}
		if star < 0 {
			return false
		}
		starX++
		pi, xi = star+1, starX
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

func boolString(b bool) string { return strconv.FormatBool(b) }

func one(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// paginate returns the page of items (sorted by key) after the one token
// ended, at most limit long (nil: all), and the token of the next page.
func paginate[T any](items []T, key func(T) string, token *string, limit *int32) ([]T, *string, error) {
	page, next, ok := awsapi.PageByKey(items, key, awsapi.Deref(token), int(awsapi.Deref(limit)))
	if !ok {
		return nil, nil, errPaginationToken
	}
	return page, next, nil
}

// checkMaxResults applies EC2's bounds on MaxResults to the calls whose
// model does not state them. UNVERIFIED wording.
func checkMaxResults(limit *int32) error {
	if limit != nil && (*limit < 5 || *limit > 1000) {
		return invalidValue("Value ( %d ) for parameter maxResults is invalid. Parameter must be between 5 and 1000.", *limit)
	}
	return nil
}
