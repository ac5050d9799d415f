package insights

import (
	"errors"
	"testing"
	"unicode/utf8"
)

var fuzzEvents = append(append([]Event{}, webEvents...), jsonEvents...)

// FuzzParse checks that no query makes Parse or execution panic, and that
// syntax errors point inside the query.
func FuzzParse(f *testing.F) {
	seeds := []string{
		`fields @timestamp, @message | sort @timestamp desc | limit 20`,
		`filter @message like /Exception/ | stats count(*) as c by bin(1h) | sort c desc`,
		glob + ` | filter latency * 2 > 50 | fields latency, latency * 2 as double`,
		`parse @message /^(?<method>[A-Z]+) (?<path>\S+)/ | stats count(*) by method, path`,
		`filter level = "ERROR" | stats count(*), pct(latency, 95), avg(latency) by service`,
		`filter x in [1, "a", -2] and y not in ["b"] or not z like "q"`,
		"fields `a b`, substr(@message, 1, 3) as s\n| display s # c",
		`stats sum(a) as s, count(*) as n, s / n as m by bin(1mo) | filter n > 1 | sort m`,
		`fields datefloor(@timestamp, 1w) as w, dateceil(@timestamp, 1q), fromMillis(0)`,
		`filter "abc`, `fields (((`, `stats count(*) by`, `parse "*" as`,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		q, err := Parse(query)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error is %T, want *SyntaxError", err)
			}
			n := utf8.RuneCountInString(query)
			if se.Start < 0 || se.End < se.Start || se.End > n || se.Line < 1 || se.Column < 0 {
				t.Fatalf("bad location %+v for %d-rune query", se, n)
			}
			return
		}
		x := q.NewExecutor()
		for _, e := range fuzzEvents {
			x.Add(e)
		}
		x.Result()
	})
}
