package filterpattern

import (
	"errors"
	"testing"
)

// FuzzCompile checks that no pattern, and no message, makes Compile or
// Match panic, and that every rejection is ErrInvalid.
func FuzzCompile(f *testing.F) {
	seeds := []string{
		"", "ERROR", "?ERROR ?WARN", `"ERROR" -"timeout"`, `" "`, "%^[hc]at$%", `%\x3A{,2}%`,
		`{ $.level = "ERROR" }`, `{ $.latency > 1e3 && ($.a[0].b != x* || $.c IS NULL) }`,
		`{ $.['cluster.name'] = "c" }`, `{ $.* = %111\.1[0-9]{1,2}% }`, `{ $.x NOT EXISTS }`,
		`[ip, user, ..., status_code = 4* || status_code = 5*, bytes > 1000]`, `[..., request=*.html*, status_code=4*,]`,
	}
	for _, s := range seeds {
		f.Add(s, apache404)
		f.Add(s, jsonEvent)
	}
	f.Fuzz(func(t *testing.T, pattern, message string) {
		p, err := Compile(pattern)
		if err != nil {
			if !errors.Is(err, ErrInvalid) || err.Error() != "Invalid filter pattern" {
				t.Fatalf("Compile(%q) error %v is not ErrInvalid", pattern, err)
			}
			return
		}
		p.Match(message)
		p.Match(pattern)
	})
}

func BenchmarkMatch(b *testing.B) {
	cases := []struct {
		name, pattern, message string
	}{
		{"terms", `ERROR -ARGUMENTS "BAD REQUEST"`, error400},
		{"regex", `%^\[ERROR 4[0-9]{2}\]%`, error400},
		{"json", `{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") || $.actions[*] = "GET" }`, jsonCompound},
		{"json-not-json", `{ $.user.id = 1 }`, apache404},
		{"space-delimited", `[ip, user, username, timestamp, request = *html*, status_code = 404 || status_code = 410, bytes > 1000]`, apache404},
		{"space-delimited-ellipsis", `[..., status_code = 4*, bytes]`, apache404},
	}
	for _, bc := range cases {
		p, err := Compile(bc.pattern)
		if err != nil {
			b.Fatalf("Compile(%q): %v", bc.pattern, err)
		}
		if !p.Match(bc.message) && bc.name != "json-not-json" {
			b.Fatalf("Compile(%q) does not match %q", bc.pattern, bc.message)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Match(bc.message)
			}
		})
	}
}
