package insights

import (
	"errors"
	"strings"
	"testing"
)

func TestParseValid(t *testing.T) {
	tests := []struct {
		query string
		stats bool
		limit int
	}{
		{`fields @timestamp, @message | sort @timestamp desc | limit 20`, false, 20},
		{`fields @timestamp, @message`, false, 10000},
		{`filter @message like /Exception/ | stats count(*) as exceptionCount by bin(1h) | sort exceptionCount desc`, true, 10000},
		{`fields @message | filter @message not like /Exception/`, false, 10000},
		{`filter @type = "REPORT" | stats max(@memorySize / 1024 / 1024) as provisonedMemoryMB, min(@maxMemoryUsed / 1024 / 1024) as smallestMemoryRequestMB, avg(@maxMemoryUsed / 1024 / 1024) as avgMemoryUsedMB, max(@maxMemoryUsed / 1024 / 1024) as maxMemoryUsedMB, provisonedMemoryMB - maxMemoryUsedMB as overProvisionedMB`, true, 10000},
		{"filter type = \"REPORT\" |\nstats avg(@duration), max(@duration), min(@duration) by bin(5m)", true, 10000},
		{`stats sum(packets) as packetsTransferred by srcAddr, dstAddr | sort packetsTransferred desc | limit 15`, true, 15},
		{`filter logStatus="SKIPDATA" | stats count(*) by bin(1h) as t | sort t`, true, 10000},
		{`filter (eventName="StartInstances" or eventName="StopInstances") and region="us-east-2"`, false, 10000},
		{`filter eventName="CreateUser" | fields awsRegion, requestParameters.userName, responseElements.user.arn`, false, 10000},
		{`filter eventName="UpdateTrail" and ispresent(errorCode) | stats count(*) by errorCode, errorMessage`, true, 10000},
		{"fields `foo-bar`, action, abs(f3-f4)", false, 10000},
		{`fields f1, f2 | filter (f1=10 or f3>25)`, false, 10000},
		{`fields f1 | filter statusCode like /2\d\d/`, false, 10000},
		{`parse @message "user=*, method:*, latency := *" as @user, @method, @latency | stats avg(@latency) by @method, @user`, true, 10000},
		{`parse @message /(?<time>[0-9]{10}\.[0-9]{1,3}) .* (?<code>[A-Z_]+\/[0-9]{3}) (?<url>[a-zA-Z.]+:[0-9]{1,5})/`, false, 10000},
		{`fields f1, f2, f3 | filter f1 =~ /^(?i)Exception$/`, false, 10000},
		{`fields abs(myField) as AbsoluteValuemyField, myField2`, false, 10000},
		{`stats avg(f1) as myAvgF1 | sort myAvgF1 desc`, true, 10000},
		{`parse @logStream "*/*/*/*" as env, service, instance, shard | stats count(*) by env, service`, true, 10000},
		{`parse @message "url=*" as url | parse url "/api/*/users/*" as apiVersion, userId | display apiVersion, userId`, false, 10000},
		{`parse @message /(?<NetworkInterface>eni-.*?) / | display NetworkInterface, @message`, false, 10000},
		{`filter statusCode in [200, 201, 204] and method not in ["GET", 'HEAD']`, false, 10000},
		{`stats pct(latency, 99.9), count_distinct(userId), stddev(latency) by bin(30s)`, true, 10000},
		{`fields @timestamp, @message # a comment | not a pipe`, false, 10000},
		{"# only\n# comments\nfields a\n  | limit 5", false, 5},
		{`filter x > -5 and y < -x and z = 1e3`, false, 10000},
		{`fields 10 / 2 / 5 as a, 2 ^ 3 ^ 2 as b, -2 ^ 2 as c`, false, 10000},
		{`stats count() by bin(2hrs)`, true, 10000},
		{`parse /(?<a>\d+)/ | stats sum(a)`, true, 10000},
		{`filter @message like '/'`, false, 10000},
		{`fields a / b / c as d`, false, 10000},
	}
	for _, tc := range tests {
		q, err := Parse(tc.query)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.query, err)
			continue
		}
		if q.HasStats() != tc.stats || q.Limit() != tc.limit {
			t.Errorf("Parse(%q): stats %v limit %d, want %v %d", tc.query, q.HasStats(), q.Limit(), tc.stats, tc.limit)
		}
	}
}

// TestArithmeticPrecedence checks operator precedence by value.
func TestArithmeticPrecedence(t *testing.T) {
	got, _ := run(t, `fields 10 / 2 / 5 as a, 2 ^ 3 ^ 2 as b, -2 ^ 2 as c, 1 + 2 * 3 as d, (1 + 2) * 3 as e, 7 % 4 - 1 as f`, []Event{{Ptr: "p"}})
	want := [][]Field{r("a=1", "b=512", "c=-4", "d=7", "e=9", "f=2", "@ptr=p")}
	if len(got) != 1 || !equalRows(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func equalRows(a, b [][]Field) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				return false
			}
		}
	}
	return true
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		query      string
		start, end int
		line, col  int
		msg        string // substring of the message
	}{
		{``, 0, 0, 1, 0, "query is empty"},
		{"  # just a comment\n", 0, 0, 1, 0, "query is empty"},
		{`fields @message | filter`, 24, 24, 1, 24, "unexpected symbol found <EOF>"},
		{`fields a |`, 10, 10, 1, 10, "<EOF>"},
		{`filter a = = 1`, 11, 11, 1, 11, "unexpected symbol found ="},
		{`stats count(*) by`, 17, 17, 1, 17, "<EOF>"},
		{`fields foo(x)`, 7, 9, 1, 7, "unknown function foo"},
		{`dedup @message`, 0, 4, 1, 0, "unsupported command dedup"},
		{`count(*)`, 0, 4, 1, 0, "unexpected symbol found count"},
		{`filter @message like 5`, 21, 21, 1, 21, "unexpected symbol found 5"},
		{`parse @message "a=* b=*" as a`, 15, 23, 1, 15, "number of wildcards (2)"},
		{`parse @message "a=*"`, 20, 20, 1, 20, "<EOF>"},
		{`filter x like /(/`, 14, 16, 1, 14, "invalid regular expression"},
		{`parse @message /(\d+)/`, 15, 21, 1, 15, "named capture group"},
		{`stats count(*) | stats count(*)`, 17, 21, 1, 17, "only one stats"},
		{`fields a | sort a | stats count(*)`, 11, 14, 1, 11, "sort must come after stats"},
		{`limit 5 | stats count(*)`, 0, 4, 1, 0, "limit must come after stats"},
		{`filter "abc`, 7, 10, 1, 7, "unterminated string"},
		{"fields `abc", 7, 10, 1, 7, "unterminated quoted field"},
		{`filter a like /abc`, 14, 17, 1, 14, "unterminated regular expression"},
		{`limit 0`, 6, 6, 1, 6, "limit must be an integer"},
		{`limit 2.5`, 6, 8, 1, 6, "limit must be an integer"},
		{`stats sum(x) by bin(5x)`, 20, 21, 1, 20, "invalid time period 5x"},
		{`stats sum(x) by bin(x)`, 20, 20, 1, 20, "unexpected symbol found x"},
		{`filter count(*) > 1`, 7, 14, 1, 7, "can only be used in stats"},
		{`stats count(*) by count(*)`, 18, 25, 1, 18, "can only be used in stats"},
		{`stats x`, 6, 6, 1, 6, "must be used inside an aggregate"},
		{`stats sum(count(*))`, 10, 17, 1, 10, "cannot be nested"},
		{`stats pct(x, 101)`, 13, 15, 1, 13, "between 0 and 100"},
		{`stats avg(a, b)`, 6, 14, 1, 6, "wrong number of arguments"},
		{`fields strlen()`, 7, 14, 1, 7, "wrong number of arguments"},
		{"fields a\n| filter b = )", 22, 22, 2, 13, "line 2 and position 13"},
		{"fields é, ?", 10, 10, 1, 10, "unexpected symbol found ?"},
		{`filter 5m > 1`, 7, 8, 1, 7, "unexpected symbol found 5m"},
		{`filter 1.5m > 1`, 7, 10, 1, 7, "unexpected symbol found 1.5m"},
		{`sort`, 4, 4, 1, 4, "<EOF>"},
		{`filter a in []`, 13, 13, 1, 13, "unexpected symbol found ]"},
		{`filter a in [b]`, 13, 13, 1, 13, "unexpected symbol found b"},
		{`filter a like "x" |`, 19, 19, 1, 19, "<EOF>"},
		{`fields a b`, 9, 9, 1, 9, "unexpected symbol found b"},
		{`fields a as`, 11, 11, 1, 11, "<EOF>"},
		{`filter and`, 7, 9, 1, 7, "unexpected symbol found and"},
		{`| fields a`, 0, 0, 1, 0, "unexpected symbol found |"},
		{`filter (a = 1`, 13, 13, 1, 13, "<EOF>"},
		{`display a + b`, 10, 10, 1, 10, "unexpected symbol found +"},
		{`filter ` + strings.Repeat("(", 300) + "a" + strings.Repeat(")", 300), 207, 207, 1, 207, "nested too deeply"},
	}
	for _, tc := range tests {
		_, err := Parse(tc.query)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q): got %v, want *SyntaxError", tc.query, err)
			continue
		}
		if se.Start != tc.start || se.End != tc.end || se.Line != tc.line || se.Column != tc.col {
			t.Errorf("Parse(%q): location start %d end %d line %d col %d, want %d %d %d %d (%s)",
				tc.query, se.Start, se.End, se.Line, se.Column, tc.start, tc.end, tc.line, tc.col, se.Message)
		}
		if !strings.Contains(se.Message, tc.msg) {
			t.Errorf("Parse(%q): message %q does not contain %q", tc.query, se.Message, tc.msg)
		}
		if se.Error() != se.Message {
			t.Errorf("Error() = %q", se.Error())
		}
	}
}

// TestLexRegexVersusDivision checks the context rule for '/'.
func TestLexRegexVersusDivision(t *testing.T) {
	tests := []struct {
		query string
		kinds []tokKind
	}{
		{`filter a / b`, []tokKind{tIdent, tIdent, tSlash, tIdent, tEOF}},
		{`filter a like /b/`, []tokKind{tIdent, tIdent, tIdent, tRegex, tEOF}},
		{`filter a =~ /b/`, []tokKind{tIdent, tIdent, tMatch, tRegex, tEOF}},
		{`parse @message /b/`, []tokKind{tIdent, tIdent, tRegex, tEOF}},
		{`fields x | parse @message /b/`, []tokKind{tIdent, tIdent, tPipe, tIdent, tIdent, tRegex, tEOF}},
		{`fields (a) / 2`, []tokKind{tIdent, tLParen, tIdent, tRParen, tSlash, tNumber, tEOF}},
		{`fields 4 / 2`, []tokKind{tIdent, tNumber, tSlash, tNumber, tEOF}},
		{`filter x like /a\/b/`, []tokKind{tIdent, tIdent, tIdent, tRegex, tEOF}},
	}
	for _, tc := range tests {
		toks, err := lex(tc.query)
		if err != nil {
			t.Errorf("lex(%q): %v", tc.query, err)
			continue
		}
		var kinds []tokKind
		for _, tk := range toks {
			kinds = append(kinds, tk.kind)
		}
		if !equalKinds(kinds, tc.kinds) {
			t.Errorf("lex(%q) = %v, want %v", tc.query, kinds, tc.kinds)
		}
	}
	toks, _ := lex(`filter x like /a\/b\d/`)
	if toks[3].val != `a/b\d` {
		t.Errorf("regex value %q", toks[3].val)
	}
}

func equalKinds(a, b []tokKind) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestGlobRegex(t *testing.T) {
	tests := map[string]string{
		"user=*, method:*":  `user=(.*?), method:(.*)`,
		"[*] *":             `\[(.*?)\] (.*)`,
		"a.*b":              `a\.(.*?)b`,
		"*/*/*/*":           `(.*?)/(.*?)/(.*?)/(.*)`,
		"'fieldsA': '*', x": `'fieldsA': '(.*?)', x`,
	}
	for in, want := range tests {
		if got := globRegex(in); got != want {
			t.Errorf("globRegex(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParsePeriod(t *testing.T) {
	tests := map[string]period{
		"5m": {ms: 300000}, "1h": {ms: 3600000}, "30s": {ms: 30000}, "100ms": {ms: 100},
		"2hrs": {ms: 7200000}, "1d": {ms: 86400000}, "1w": {ms: 604800000}, "3mins": {ms: 180000},
		"1mo": {months: 1}, "2q": {months: 6}, "1y": {months: 12}, "1yrs": {months: 12},
	}
	for in, want := range tests {
		if got, ok := parsePeriod(in); !ok || got != want {
			t.Errorf("parsePeriod(%q) = %v %v, want %v", in, got, ok, want)
		}
	}
	for _, bad := range []string{"0m", "5x", "5", "m", "99999999999999999999s", "999999999999999w", "5ss"} {
		if _, ok := parsePeriod(bad); ok {
			t.Errorf("parsePeriod(%q) accepted", bad)
		}
	}
}
