package policy

import (
	"testing"
	"time"
)

func TestPatternMatch(t *testing.T) {
	tests := []struct {
		pattern   string
		value     string
		fold      bool
		variables bool
		want      bool
	}{
		{"*", "", false, false, true},
		{"a*b*c", "aXbYbZc", false, false, true},
		{"a*b*c", "aXbYbZ", false, false, false},
		{"*ab", "aab", false, false, true},
		{"a?c", "abc", false, false, true},
		{"a?c", "ac", false, false, false},
		{"a?c", "a☃c", false, false, true},
		{"ecr:get*", "ECR:GetDownloadUrlForLayer", true, false, true},
		{"ecr:Get*", "ecr:get", true, false, true},
		{"ecr:Get*", "ecr:get", false, false, false},
		{"${*}", "*", false, true, true},
		{"${*}", "x", false, true, false},
		{"${*}", "${*}", false, false, true},
		{"a${", "a${", false, true, true},
		{"${}", "${}", false, true, true},
		{"${a b}", "${a b}", false, true, true},
		{"${x, 'd'}-*", "d-1", false, true, true},
		{"${x, d}", "${x, d}", false, true, true},
	}
	ec := &evalContext{req: &Request{}}
	for _, tt := range tests {
		p := compilePattern(tt.pattern, true, tt.variables)
		if got := p.match(tt.value, tt.fold, ec); got != tt.want {
			t.Errorf("%q matches %q (fold %v): %v, want %v", tt.pattern, tt.value, tt.fold, got, tt.want)
		}
	}
}

func TestParseDate(t *testing.T) {
	want := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, s := range []string{"2020-01-01", "2020-01-01T00:00:00Z", "2020-01-01t01:00:00+01:00", "2019-12-31T19:00-05:00", "1577836800", "2020-01-01T00:00:00.000000000Z"} {
		got, ok := parseDate(s)
		if !ok || !got.Equal(want) {
			t.Errorf("%q: %v %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "tomorrow", "2020-13-01", "2020-01-32", "2020-01-01T24:00:00Z", "2020-01-01T00:00:00.1234567890Z", "2020-01-01T00:00:00+1", "1-2-3-4"} {
		if got, ok := parseDate(s); ok {
			t.Errorf("%q read as %v", s, got)
		}
	}
}
