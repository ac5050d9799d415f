package gateway

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth/berth/internal/awsapi/model"
)

func TestJavaToRE2(t *testing.T) {
	cases := []struct {
		java, re2 string
		ok        bool
	}{
		{`[a-z]+`, `[a-z]+`, true},
		{`\u002F[\u0021-\u007F]*`, `\x{2f}[\x{21}-\x{7f}]*`, true},
		{`[\u0020-\uD7FF\u10000-\u10FFFF]+`, `[\x{20}-\x{d7ff}\x{10000}-\x{10ffff}]+`, true},
		{`^.{1,100000}$`, `^.{1,}$`, true},
		{`^[!-~]{1,1024}$`, `^[!-~]{1,}$`, true},
		{`a{2,5}b{3}c{4,}`, `a{2,5}b{3}c{4,}`, true},
		{`x{2000}`, ``, false},
		{`^(?!arn:)[!-~]+$`, ``, false},
		{`(?=^.{1,127}$)^a$`, ``, false},
		{`(?<!x)y`, ``, false},
		{`(?<name>a)`, `(?<name>a)`, true},
		{`(a)\1`, ``, false},
		{`[a-z&&[^e]]`, ``, false},
		{`[]a]`, `[]a]`, true},
		{`\Qa.b\E+`, `a\.b+`, true},
		{`\u12`, ``, false},
		{`{}`, `{}`, true},
	}
	for _, c := range cases {
		got, ok := javaToRE2(c.java)
		if ok != c.ok || (ok && got != c.re2) {
			t.Errorf("javaToRE2(%q) = %q, %v; want %q, %v", c.java, got, ok, c.re2, c.ok)
		}
	}
}

func TestModelPatternMatching(t *testing.T) {
	cases := []struct {
		pattern string
		match   []string
		reject  []string
	}{
		// Whole-value matching, as AWS does.
		{`[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`,
			[]string{"team/app", "a.b_c--d"}, []string{"A", "app!", "/app", "ab/"}},
		{`[0-9]{12}`, []string{"123456789012"}, []string{"12345678901", "x123456789012"}},
		{`[\u0009\u000A\u000D\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\u10000-\u10FFFF]+`,
			[]string{"plain text", "emoji 🚀", "tab\there"}, []string{"bell\a", ""}},
		{`^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`, []string{"env", "a b:c", "ünï"}, []string{"semi;colon"}},
	}
	for _, c := range cases {
		re := modelPattern(c.pattern)
		if re == nil {
			t.Fatalf("%q did not compile", c.pattern)
		}
		for _, s := range c.match {
			if !re.MatchString(s) {
				t.Errorf("%q should match %q", c.pattern, s)
			}
		}
		for _, s := range c.reject {
			if re.MatchString(s) {
				t.Errorf("%q should not match %q", c.pattern, s)
			}
		}
	}
	if modelPattern(`^(?!arn:).+$`) != nil {
		t.Error("a lookahead pattern should be skipped")
	}
	if first, again := modelPattern(`[0-9]{12}`), modelPattern(`[0-9]{12}`); first != again {
		t.Error("patterns are not cached")
	}
}

// TestEmbeddedModelPatterns compiles every pattern of every embedded model:
// none may panic, and only constructs RE2 lacks may be skipped.
func TestEmbeddedModelPatterns(t *testing.T) {
	files, err := filepath.Glob("../awsapi/model/data/*.json.gz")
	if err != nil || len(files) == 0 {
		t.Fatalf("no models: %v", err)
	}
	for _, file := range files {
		raw, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		api, err := model.Parse(raw)
		raw.Close()
		if err != nil {
			t.Fatal(err)
		}
		for name, s := range api.Shapes {
			if s.Pattern == "" || modelPattern(s.Pattern) != nil {
				continue
			}
			if !strings.Contains(s.Pattern, "(?") && !strings.Contains(s.Pattern, `\1`) {
				t.Errorf("%s %s: pattern %q skipped", filepath.Base(file), name, s.Pattern)
			}
		}
	}
}
