package filterpattern

import (
	"errors"
	"testing"
)

// matchCase is one pattern against one message with the hand-computed
// answer. Cases marked "doc" are the AWS user guide's own examples
// (FilterAndPatternSyntax, current and 2020 editions).
type matchCase struct {
	pattern string
	message string
	want    bool
}

func runMatchCases(t *testing.T, cases []matchCase) {
	t.Helper()
	for _, tc := range cases {
		p, err := Compile(tc.pattern)
		if err != nil {
			var se *syntaxError
			errors.As(err, &se)
			t.Errorf("Compile(%q): %v (%s)", tc.pattern, err, se.reason)
			continue
		}
		if got := p.Match(tc.message); got != tc.want {
			t.Errorf("Compile(%q).Match(%q) = %v, want %v", tc.pattern, tc.message, got, tc.want)
		}
	}
}

// Events of the unstructured examples in the user guide.
const (
	error400      = "[ERROR 400] BAD REQUEST"
	error401      = "[ERROR 401] UNAUTHORIZED REQUEST"
	error419      = "[ERROR 419] MISSING ARGUMENTS"
	error420      = "[ERROR 420] INVALID ARGUMENTS"
	error500      = "[ERROR 500] INTERNAL SERVER ERROR"
	infoFailed    = "[INFO] REQUEST FAILED"
	warnUnauth    = "[WARN] UNAUTHORIZED REQUEST"
	errorBad      = "[ERROR] 400 BAD REQUEST"
	infoArguments = "[INFO] INVALID ARGUMENTS PROVIDED"
)

func TestEmptyPatternMatchesEverything(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"", "", true},
		{"", "anything at all", true},
		{"   \t\n", "anything at all", true},
		{`" "`, "anything at all", true}, // doc: match everything
		{`" "`, "", true},
		{`""`, "no-spaces-here", true},
	})
	var nilPattern *Pattern
	if !nilPattern.Match("x") {
		t.Error("a nil Pattern should match every message")
	}
}

func TestTerms(t *testing.T) {
	runMatchCases(t, []matchCase{
		// doc: single term.
		{"ERROR", error400, true},
		{"ERROR", error401, true},
		{"ERROR", error419, true},
		{"ERROR", error420, true},
		{"ERROR", infoFailed, false},
		// doc (2020): a term is a substring, ERROR is found in ERRORCODE.
		{"ERROR", "[ERROR] A fatal exception has occurred", true},
		{"ERROR", "Exiting with ERRORCODE: -1", true},
		// Terms are case-sensitive.
		{"ERROR", "[error 400] bad request", false},
		{"error", error400, false},

		// doc: every term must appear.
		{"ERROR ARGUMENTS", error419, true},
		{"ERROR ARGUMENTS", error420, true},
		{"ERROR ARGUMENTS", error400, false},
		{"ERROR ARGUMENTS", error401, false},
		{"ERROR Exception", "[ERROR] Caught IllegalArgumentException", true},
		{"ERROR Exception", "[ERROR] Unhandled Exception", true},
		{"ERROR Exception", "[ERROR] Caught", false},
		{"Failed to process the request", "[WARN] Failed to process the request", true},
		{"Failed to process the request", "[ERROR] Unable to continue: Failed to process the request", true},
		{"Failed to process the request", "the request failed to process", false},
		{"  ERROR   ARGUMENTS  ", error419, true},
		{"error 404", "error 404 not found", true}, // doc (Live Tail)
		{"error 404", "error 500", false},

		// doc: ? terms, any one of them.
		{"?ERROR ?ARGUMENTS", error400, true},
		{"?ERROR ?ARGUMENTS", error401, true},
		{"?ERROR ?ARGUMENTS", error419, true},
		{"?ERROR ?ARGUMENTS", error420, true},
		{"?ERROR ?ARGUMENTS", infoArguments, true},
		{"?ERROR ?ARGUMENTS", infoFailed, false},
		// doc: ? terms are ignored beside other terms.
		{"?ERROR ?ARGUMENTS REQUEST", infoFailed, true},
		{"?ERROR ?ARGUMENTS REQUEST", warnUnauth, true},
		{"?ERROR ?ARGUMENTS REQUEST", errorBad, true},
		{"?ERROR ?ARGUMENTS REQUEST", error419, false},
		{"?ERROR ?ARGUMENTS REQUEST", infoArguments, false},
		{"?ERROR -REQUEST", "all good", true},
		// doc (2020) OR section.
		{"ERROR", "ERROR WARN message", true},
		{"ERROR", "ERROR message", true},
		{"ERROR", "WARN message", false},
		{"?ERROR ?WARN", "ERROR WARN message", true},
		{"?ERROR ?WARN", "ERROR message", true},
		{"?ERROR ?WARN", "WARN message", true},
		{"?ERROR ?WARN", "INFO message", false},
		{"ERROR WARN", "ERROR WARN message", true},
		{"ERROR WARN", "ERROR message", false},
		{"ERROR WARN", "WARN message", false},
		{"ERROR -WARN", "ERROR WARN message", false},
		{"ERROR -WARN", "ERROR message", true},
		{"ERROR -WARN", "WARN message", false},

		// doc: exact phrases.
		{`"INTERNAL SERVER ERROR"`, error500, true},
		{`"INTERNAL SERVER ERROR"`, "[ERROR 500] INTERNAL ERROR SERVER", false},
		{`"INTERNAL SERVER ERROR"`, "[ERROR 500] INTERNAL  SERVER ERROR", false},
		{`?"INTERNAL SERVER" ?"BAD REQUEST"`, error400, true},
		{`?"INTERNAL SERVER" ?"BAD REQUEST"`, error500, true},
		{`?"INTERNAL SERVER" ?"BAD REQUEST"`, error401, false},
		{`"ERROR 4" -"419"`, error400, true},
		{`"ERROR 4" -"419"`, error419, false},
		{`"user@example.com"`, "login by user@example.com", true},
		{`"say \"hi\""`, `they say "hi" twice`, true},
		{`"say \"hi\""`, `they say hi`, false},
		{`"ERROR"`, error400, true},

		// doc: include and exclude.
		{"ERROR -ARGUMENTS", error400, true},
		{"ERROR -ARGUMENTS", error401, true},
		{"ERROR -ARGUMENTS", error419, false},
		{"ERROR -ARGUMENTS", error420, false},
		// doc (2020): `"ERROR" - "Exiting"`.
		{`"ERROR" - "Exiting"`, "[ERROR] A fatal exception has occurred", true},
		{`"ERROR" - "Exiting"`, "Exiting with ERRORCODE: -1", false},
		{`"ERROR" -"timeout"`, "ERROR: timeout after 5s", false},
		{`"ERROR" -"timeout"`, "ERROR: refused", true},
		// Exclusion alone (Lightsail's doc: -ERROR returns all other events).
		{"-ERROR", "all good", true},
		{"-ERROR", error400, false},
		{"-ERROR -WARN", "INFO ok", true},
		{"-ERROR -WARN", warnUnauth, false},
		{"?ERROR ?Exception", "Unhandled Exception", true},
		{"status_code 404", "status_code=404", true},
	})
}

func TestRegex(t *testing.T) {
	runMatchCases(t, []matchCase{
		// doc.
		{"%AUTHORIZED%", "[ERROR 401] UNAUTHORIZED REQUEST", true},
		{"%AUTHORIZED%", "[SUCCESS 200] AUTHORIZED REQUEST", true},
		{"%AUTHORIZED%", "[SUCCESS 200] authorized", false},
		{"%^[hc]at%", "hat trick", true},
		{"%^[hc]at%", "cat", true},
		{"%^[hc]at%", "that", false},
		{"%[hc]at$%", "a hat", true},
		{"%[hc]at$%", "hats", false},
		{"%colou?r%", "color", true},
		{"%colou?r%", "colour", true},
		{"%colou?r%", "colr", false},
		{"%[abc]%", "xbx", true},
		{"%[abc]%", "xyz", false},
		{"%[a-z]%", "123", false},
		{"%[a-z]%", "12q", true},
		{"%[abcx-z]%", "y", true},
		{"%[abcx-z]%", "d", false},
		{"%a{3,5}%", "aa", false},
		{"%a{3,5}%", "aaa", true},
		{"%^a{3,5}$%", "aaaaaa", false},
		{"%^a{3, 5}$%", "aaaa", true}, // the doc's {m, n} spelling
		{"%^a{,2}b$%", "b", true},     // "either m or n can be omitted"
		{"%^a{,2}b$%", "aaab", false},
		{"%^a{2,}b$%", "ab", false},
		{"%^a{2,}b$%", "aaaab", true},
		{"%gra|ey%", "gray", true},
		{"%gra|ey%", "grey", true},
		{"%gra|ey%", "gruy", false},
		{"%^starting|^initializing|^shutting down%", "starting up", true},
		{"%^starting|^initializing|^shutting down%", "initializing db", true},
		{"%^starting|^initializing|^shutting down%", "shutting down now", true},
		{"%^starting|^initializing|^shutting down%", "skipping initializing", false},
		{"%abcc|ab[^c]$%", "abcc and more", true},
		{"%abcc|ab[^c]$%", "aba", true},
		{"%abcc|ab[^c]$%", "aac", false},
		{`%\[.\]%`, "[a]", true},
		{`%\[.\]%`, "[7]", true},
		{`%\[.\]%`, "[]]", true},
		{`%\[.\]%`, "[ ]", true},
		{`%\[.\]%`, "[]", false},
		{`%10\.10\.0\.1%`, "from 10.10.0.1 port 22", true},
		{`%10\.10\.0\.1%`, "10010,051", false},
		{"%10.10.0.1%", "10010,051", true}, // doc: why . should be escaped
		{"%ab*c%", "ac", true},
		{"%ab*c%", "abbbc", true},
		{"%ab[0-9]*%", "ab129", true},
		{"%ab+c%", "abbc", true},
		{"%ab+c%", "ac", false},
		{"%.at%", " at", true},
		{"%.at%", "at", false},
		{`%\d%`, "a1", true},
		{`%\d%`, "ab", false},
		{`%^\D+$%`, "12", false},
		{`%^\D+$%`, "ab", true},
		{`%\s%`, "a\tb", true},
		{`%\s%`, "ab", false},
		{`%\S%`, "   ", false},
		{`%\w%`, "--", false},
		{`%\w%`, "_", true},
		{`%\W%`, "ab_9", false},
		{`%\W%`, "a-b", true},
		{`%\x3A%`, "a:b", true},
		{`%\x28%`, "f(x)", true},
		{`%\x28%`, "fx", false},
		// Symbols AWS allows.
		{"%user=[a-z]+@example%", "user=bob@example.com", true},
		{"%^/api/v1;id,x_y#-%", "/api/v1;id,x_y#-z", true},
		{`%a\.b\-c%`, "a.b-c", true},
		// Case-sensitive.
		{"%error%", "ERROR", false},
	})
}

// The JSON events of the user guide, on one line as it asks.
const (
	jsonEvent = `{"eventType": "UpdateTrail", "sourceIPAddress": "111.111.111.111", ` +
		`"arrayKey": ["value", "another value"], ` +
		`"objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}], ` +
		`"SomeObject": null, "cluster.name": "c", "ThisFlag": true}`
	jsonCompound = `{"user": {"id": 1, "email": "John.Stiles@example.com"}, ` +
		`"users": [{"id": 2, "email": "John.Doe@example.com"}, {"id": 3, "email": "Jane.Doe@example.com"}], ` +
		`"actions": ["GET", "PUT", "DELETE"], ` +
		`"coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]]}`
	jsonNumbers = `{"bandwidth": 80, "latency": 49.5, "refreshRate": 60, "responseTime": 5, ` +
		`"errorCode": 400, "number": [1000, 0.001], "status": "200", "big": 1e3, "user-id": 7, "msg": "héllo wörld"}`
)

func TestJSON(t *testing.T) {
	runMatchCases(t, []matchCase{
		// doc: string values.
		{`{ $.eventType = "UpdateTrail" }`, jsonEvent, true},
		{`{ $.eventType = "UpdateTrai" }`, jsonEvent, false},
		{`{ $.eventType != "UpdateTrail" }`, jsonEvent, false},
		{`{ $.eventType = UpdateTrail }`, jsonEvent, true},
		{`{$.eventType="UpdateTrail"}`, jsonEvent, true},
		{`{ $.sourceIPAddress != 123.123.* }`, jsonEvent, true},
		{`{ $.sourceIPAddress = 111.111.* }`, jsonEvent, true},
		{`{ $.sourceIPAddress != 111.111.* }`, jsonEvent, false},
		{`{ $.arrayKey[0] = "value" }`, jsonEvent, true},
		{`{ $.arrayKey[1] = "another value" }`, jsonEvent, true},
		{`{ $.arrayKey[1] = "value" }`, jsonEvent, false},
		{`{ $.arrayKey[2] = "value" }`, jsonEvent, false},
		{`{ $.objectList[1].id = 2 }`, jsonEvent, true},
		{`{ $.objectList[0].id = 2 }`, jsonEvent, false},
		{`{ $.objectList[0].name = a }`, jsonEvent, true},
		// doc: regex values.
		{`{ $.eventType = %Trail% }`, jsonEvent, true},
		{`{ $.eventType = %^Trail% }`, jsonEvent, false},
		{`{ $.eventType != %^Trail% }`, jsonEvent, true},
		{`{ $.arrayKey[*] = %val.{2}% }`, jsonEvent, true},
		{`{ $.arrayKey[*] = %^x% }`, jsonEvent, false},
		{`{ $.* = %111\.111\.111\.1[0-9]{1,2}% }`, jsonEvent, true},
		{`{ $.* = %112\.111% }`, jsonEvent, false},
		// doc: a key with a period.
		{`{ $.['cluster.name'] = "c" }`, jsonEvent, true},
		{`{ $.['cluster.name'] = "d" }`, jsonEvent, false},
		{`{ $.cluster.name = "c" }`, jsonEvent, false},
		// doc: IS and NOT EXISTS.
		{`{ $.SomeObject IS NULL }`, jsonEvent, true},
		{`{ $.eventType IS NULL }`, jsonEvent, false},
		{`{ $.SomeOtherObject IS NULL }`, jsonEvent, false},
		{`{ $.SomeOtherObject NOT EXISTS }`, jsonEvent, true},
		{`{ $.SomeObject NOT EXISTS }`, jsonEvent, false},
		{`{ $.objectList[5] NOT EXISTS }`, jsonEvent, true},
		{`{ $.eventType.x NOT EXISTS }`, jsonEvent, true},
		{`{ $.ThisFlag IS TRUE }`, jsonEvent, true},
		{`{ $.ThisFlag IS FALSE }`, jsonEvent, false},
		{`{ $.eventType IS TRUE }`, jsonEvent, false},
		{`{ $.ThisFlag = "true" }`, jsonEvent, false},
		{`{ $.SomeObject = * }`, jsonEvent, false},
		// doc: a selector on an array or object matches neither = nor !=.
		{`{ $.arrayKey = "value" }`, jsonEvent, false},
		{`{ $.arrayKey != "value" }`, jsonEvent, false},
		{`{ $.objectList[1] != 2 }`, jsonEvent, false},
		{`{ $.users = 1 }`, `{"users": [1, 2, 3]}`, false},
		{`{ $.users != 1 }`, `{"users": [1, 2, 3]}`, false},
		// Wildcards: any selected value.
		{`{ $.objectList[*].id = 2 }`, jsonEvent, true},
		{`{ $.objectList[*].id > 5 }`, jsonEvent, false},
		{`{ $.objectList.*.name = b }`, jsonEvent, true},
		{`{ $.eventType = "*" && $.sourceIPAddress != 123.123.* }`, jsonEvent, true}, // doc (dimensions)
		// Wildcards at the ends of strings; * in the middle is literal (doc, 2020).
		{`{ $.eventType = Update* }`, jsonEvent, true},
		{`{ $.eventType = *Trail }`, jsonEvent, true},
		{`{ $.eventType = "*dateTr*" }`, jsonEvent, true},
		{`{ $.eventType = Up*Trail }`, jsonEvent, false},
		{`{ $.x = Ev*ent }`, `{"x": "Ev*ent"}`, true},
		{`{ $.x = *Event }`, `{"x": "PutEvent"}`, true},
		{`{ $.x = Event* }`, `{"x": "EventId"}`, true},
		{`{ $.x = Event* }`, `{"x": "PutEvent"}`, false},
		{`{ $.missing = * }`, jsonEvent, false},
		{`{ $.missing != "x" }`, jsonEvent, false},

		// doc: compound expressions.
		{`{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }`, jsonCompound, true},
		{`{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch" && $.actions[2] = "nonmatch" }`, jsonCompound, true},
		{`{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch") && $.actions[2] = "nonmatch" }`, jsonCompound, false},
		{`{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }`, jsonCompound, false},
		{`{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch && $.actions[2] = nomatch }`, jsonCompound, true},
		{`{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch) && $.actions[2] = nomatch }`, jsonCompound, false},
		{`{ $.coordinates[1][2] = 6 }`, jsonCompound, true},
		{`{ $.coordinates[1][2] >= 6 && $.coordinates[1][2] < 7 }`, jsonCompound, true},
		{`{ $.coordinates[1][2] < 6 }`, jsonCompound, false},
		{`{ (($.actions[0] = "PUT") || ($.actions[1] = "PUT")) && $.user.id = 1 }`, jsonCompound, true},
		{`{ $.actions[*] = "DELETE" }`, jsonCompound, true},
		{`{ $.users[*].email = "Jane*" }`, jsonCompound, true},
		// doc (2020): OR in JSON.
		{`{$.foo = bar}`, `{"foo": "bar"}`, true},
		{`{$.foo = bar}`, `{"foo": "baz"}`, false},
		{`{$.foo = baz }`, `{"foo": "baz"}`, true},
		{`{$.foo = bar || $.foo = baz }`, `{"foo": "bar"}`, true},
		{`{$.foo = bar || $.foo = baz }`, `{"foo": "baz"}`, true},
		{`{$.foo = bar || $.foo = baz }`, `{"foo": "qux"}`, false},

		// doc: numeric values.
		{`{ $.bandwidth > 75 }`, jsonNumbers, true},
		{`{ $.bandwidth > 80 }`, jsonNumbers, false},
		{`{ $.latency < 50 }`, jsonNumbers, true},
		{`{ $.latency < 49.5 }`, jsonNumbers, false},
		{`{ $.refreshRate >= 60 }`, jsonNumbers, true},
		{`{ $.refreshRate >= 60.1 }`, jsonNumbers, false},
		{`{ $.responseTime <= 5 }`, jsonNumbers, true},
		{`{ $.responseTime <= 4 }`, jsonNumbers, false},
		{`{ $.errorCode = 400}`, jsonNumbers, true},
		{`{ $.errorCode != 500 }`, jsonNumbers, true},
		{`{ $.errorCode != 400 }`, jsonNumbers, false},
		{`{ $.number[0] = 1e+3 }`, jsonNumbers, true},
		{`{ $.number[0] != 1e+3 }`, jsonNumbers, false},
		{`{ $.number[1] = 1e-3 }`, jsonNumbers, true},
		{`{ $.number[1] != 1e-3 }`, jsonNumbers, false},
		{`{ $.number[0] < 10e3 }`, jsonNumbers, true},
		{`{ $.number[0] = 1000.0 }`, jsonNumbers, true},
		{`{ $.big = 1000 }`, jsonNumbers, true},
		{`{ $.latency > +1000 }`, jsonNumbers, false},
		{`{ $.errorCode > -1 }`, jsonNumbers, true},
		{`{ $.errorCode = 4* }`, jsonNumbers, true}, // doc: * matches numbers
		{`{ $.errorCode = 5* }`, jsonNumbers, false},
		{`{ $.latency = * }`, jsonNumbers, true}, // doc: metric value example
		{`{ $.latency = * }`, `{"latency": 50, "requestType": "GET"}`, true},
		{`{ $.errorCode = "400" }`, jsonNumbers, true},
		{`{ $.status = 200 }`, jsonNumbers, true},
		{`{ $.status > 100 }`, jsonNumbers, false},
		{`{ $.eventType > 1 }`, jsonEvent, false},
		{`{ $.user-id = 7 }`, jsonNumbers, true},
		{`{ $.msg = "héllo wörld" }`, jsonNumbers, true},
		{`{ $.msg = "héllo*" }`, jsonNumbers, true},

		// Messages that are not one JSON object match no JSON pattern.
		{`{ $.x NOT EXISTS }`, "ERROR something happened", false},
		{`{ $.x NOT EXISTS }`, "", false},
		{`{ $.x NOT EXISTS }`, "[1, 2]", false},
		{`{ $.x NOT EXISTS }`, `"a string"`, false},
		{`{ $.x NOT EXISTS }`, `{"a": 1} trailing`, false},
		{`{ $.x NOT EXISTS }`, `{"a": 1`, false},
		{`{ $.x NOT EXISTS }`, `null`, false},
		{`{ $.x NOT EXISTS }`, `{}`, true},
		{`{ $.a = 1 }`, "  {\"a\": 1}\n", true},
	})
}

// Apache access log lines from the user guide.
const (
	apache200  = `127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534`
	apache500  = `127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /apache_pb.gif HTTP/1.0" 500 5324`
	apache200b = `127.0.0.1 - frank [10/Oct/2000:13:50:35 -0700] "GET /apache_pb.gif HTTP/1.0" 200 4355`
	apache404  = `127.0.0.1 Prod frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534`
	apache410  = `127.0.0.2 Prod frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 410 1534`
	apacheIP0  = `127.0.0.0 Prod frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534`
	resource   = "INFO 09/25/2014 12:00:00 GET /service/resource/67 1200"
	part       = "INFO 09/25/2014 12:00:01 POST /service/resource/67/part/111 1310"
	failed     = "ERROR 09/25/2014 12:00:02 Failed to process request"
)

func TestSpaceDelimited(t *testing.T) {
	all7 := "[ip, user, username, timestamp, request, status_code, bytes]"
	runMatchCases(t, []matchCase{
		// doc (2020): fields, and ellipses.
		{all7, apache200, true},
		{all7, apache500, true},
		{all7, apache404, true},
		{"[..., status_code, bytes]", apache200, true},
		{"[ip, user, ..., status_code, bytes]", apache200, true},
		{"[ip, user, ...]", apache200, true},
		{"[...]", apache200, true},
		{"[...]", "", true},
		{"[..., ...]", "one", true},
		{"[..., x, ...]", "a b c", true},
		{"[..., x = b, ...]", "a b c", true},
		{"[..., x = d, ...]", "a b c", false},
		{"[a, ..., b = end]", "a end", true},
		{"[a, ..., b = end]", "a x y end", true},
		{"[a, ..., b = end]", "a x y end more", false},
		// A different number of fields does not match.
		{"[ip, user, username]", apache200, false},
		{"[a, b, c, d, e, f, g, h]", apache200, false},
		{"[a]", "", false},
		{"[a]", "one", true},
		{"[a, b]", "one  \t two", true},
		// doc (2020): conditions.
		{"[ip, user, username, timestamp, request, status_code, bytes > 5000]", apache200, false},
		{"[ip, user, username, timestamp, request, status_code, bytes > 5000]", apache500, true},
		{"[ip, user, username, timestamp, request, status_code = 200, bytes]", apache200, true},
		{"[ip, user, username, timestamp, request, status_code = 200, bytes]", apache500, false},
		{"[ip, user, username, timestamp, request, status_code = 200, bytes]", apache200b, true},
		{"[ip, user, username, timestamp, request, status_code = 4*, bytes]", apache404, true},
		{"[ip, user, username, timestamp, request, status_code = 4*, bytes]", apache200, false},
		{"[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]", apache404, true},
		{"[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]", apache200, false},
		{"[ip, user, username, timestamp, request, status_code = 403 || status_code = 404, bytes]", apache404, true},
		{"[ip, user, username, timestamp, request, status_code = 403 || status_code = 404, bytes]", apache200, false},
		{"[..., request=*.html*, status_code=4*,]", apache404, true},
		{"[..., request=*.html*, status_code=4*,]", apache200, false},
		// doc: the current guide's examples.
		{`[ip=%127\.0\.0\.[1-9]%, user, username, timestamp, request =*.html*, status_code = 4*, bytes]`, apache404, true},
		{`[ip=%127\.0\.0\.[1-9]%, user, username, timestamp, request =*.html*, status_code = 4*, bytes]`, apacheIP0, false},
		{`[ip=%127\.0\.0\.[1-9]%, user, username, timestamp, request =*.html*, status_code = 4*, bytes]`, apache200, false},
		{"[..., request =*.html*, status_code = 4*, bytes]", apache404, true},
		{"[ip, user, username, timestamp, request =*.html*, status_code = 404 || status_code = 410, bytes]", apache404, true},
		{"[ip, user, username, timestamp, request =*.html*, status_code = 404 || status_code = 410, bytes]", apache410, true},
		{"[ip, user, username, timestamp, request =*.html*, status_code = 404 || status_code = 410, bytes]", apache500, false},
		{"[ip, server, username, timestamp, request, status_code, bytes > 1000]", apache404, true},
		// Bracketed and quoted fields are single fields, without their delimiters.
		{`[ip, user = "-", ...]`, apache200, true},
		{`[ip, user = "-", ...]`, apache404, false},
		{`[ip, user, username, timestamp = "10/Oct/2000:13:25:15 -0700", ...]`, apache200, true},
		{`[ip, user, username, timestamp = "10/Oct*", ...]`, apache200, true},
		{`[..., request = "GET /apache_pb.gif HTTP/1.0", status_code, bytes]`, apache200, true},
		{`[..., request = "GET *", status_code, bytes]`, apache404, true},
		{`[a, b, c]`, `x "y z" [w v]`, true},
		{`[a, b = "y z", c = "w v"]`, `x "y z" [w v]`, true},
		{`[a, b]`, `x "unclosed quote`, true},
		// doc (2020): w1, w2 on "ERROR WARN message", "ERROR message", "WARN message".
		{"[w1=ERROR, w2]", "ERROR WARN message", false},
		{"[w1=ERROR, w2]", "ERROR message", true},
		{"[w1=ERROR, w2]", "WARN message", false},
		{"[w1=ERROR || w1=WARN, w2]", "ERROR WARN message", false},
		{"[w1=ERROR || w1=WARN, w2]", "ERROR message", true},
		{"[w1=ERROR || w1=WARN, w2]", "WARN message", true},
		{"[w1=ERROR || w1=WARNING, w2]", "WARNING message", true},
		{"[w1!=ERROR && w1!=WARNING, w2]", "ERROR message", false},
		{"[w1!=ERROR && w1!=WARNING, w2]", "WARNING message", false},
		{"[w1!=ERROR && w1!=WARNING, w2]", "INFO message", true},
		{"[w1=ERROR, ...]", failed, true},
		// Field counts are exact: the guide's "ERROR ... Failed to process
		// request" has six fields, not two.
		{"[w1=ERROR, w2]", failed, false},
		// doc: regex on resource URIs.
		{"[logLevel, date, time, method, url=%/service/resource/[0-9]+$%, response_time]", resource, true},
		{"[logLevel, date, time, method, url=%/service/resource/[0-9]+$%, response_time]", part, false},
		{"[logLevel, date, time, method, url=%/service/resource/[0-9]+/part/[0-9]+$%, response_time]", part, true},
		{"[logLevel, date, time, method, url=%/service/resource/[0-9]+/part/[0-9]+$%, response_time]", resource, false},
		// Numbers.
		{"[a, b > 1.5]", "x 2", true},
		{"[a, b > 1.5]", "x 1.5", false},
		{"[a, b >= 1.5]", "x 1.5", true},
		{"[a, b < 1e3]", "x 999", true},
		{"[a, b <= -1]", "x -2", true},
		{"[a, b > 1.5]", "x abc", false},
		{"[a, b = 5]", "x 5.0", true},
		{"[a, b = 5]", "x 5", true},
		{"[a, b = 5]", "x five", false},
		{"[a, b != 5]", "x five", true},
		{"[a, b != 5]", "x 5", false},
		{"[a, b > 1 && b < 10]", "x 5", true},
		{"[a, b > 1 && b < 10]", "x 50", false},
		{"[a, (b = 1 || b = 2) && b != 2]", "x 1", true},
		{"[a, (b = 1 || b = 2) && b != 2]", "x 2", false},
		// Strings.
		{"[a = ERROR, b]", "ERROR x", true},
		{"[a = ERROR, b]", "ERRORS x", false},
		{"[a = ERROR*, b]", "ERRORS x", true},
		{"[a = *OR, b]", "ERROR x", true},
		{"[a != ERROR, b]", "ERROR x", false},
		{"[a = \"*\", b]", "anything x", true},
	})
}

func TestInvalid(t *testing.T) {
	patterns := []string{
		// Terms.
		`"unterminated`,
		`ERROR "unterminated`,
		`ERROR:`,
		`user@example.com`,
		`foo.bar`,
		`foo-bar`,
		`ERROR -`,
		`?`,
		`-`,
		`?-ERROR`,
		`-?ERROR`,
		`"a""b"`,
		`ERROR"x"`,
		`a{b`,
		`a}`,
		`ERROR %foo%`,
		`é`,
		// Standalone regex.
		`%`,
		`%abc`,
		`%%`,
		`%a(b)%`,
		`%(ab)%`,
		`%something!%`,
		`%é%`,
		`%a% extra`,
		`%a% %b%`,
		`%\b%`,
		`%\t%`,
		`%\pL%`,
		`%\x4%`,
		`%\x4g%`,
		`%a\%`,
		`%a{2,1}%`,
		`%[%`,
		`%*a%`,
		`%a&b%`,
		`%a"b%`,
		`%a'b%`,
		`%a<b%`,
		`%a\!b%`,
		// JSON.
		`{`,
		`}`,
		`{ }`,
		`{ $.x = 1`,
		`{ $.x = }`,
		`{ $.x }`,
		`{ $.x = 1 } extra`,
		`{ $.x = 1 }}`,
		`{ x = 1 }`,
		`{ $x = 1 }`,
		`{ $ = 1 }`,
		`{ $. = 1 }`,
		`{ $.a..b = 1 }`,
		`{ $.a. = 1 }`,
		`{ $.a[ = 1 }`,
		`{ $.a[] = 1 }`,
		`{ $.a[-1] = 1 }`,
		`{ $.a[x] = 1 }`,
		`{ $.a[0 = 1 }`,
		`{ $.a['b = 1 }`,
		`{ $.a['b' = 1 }`,
		`{ $.a[99999999999999999999999] = 1 }`,
		`{ $.a@b = 1 }`,
		`{ $.a* = 1 }`,
		`{ $.x == 1 }`,
		`{ $.x => 1 }`,
		`{ $.x =< 1 }`,
		`{ $.x ! 1 }`,
		`{ $.x <> 1 }`,
		`{ $.x > abc }`,
		`{ $.x > "5" }`,
		`{ $.x < 5* }`,
		`{ $.x >= * }`,
		`{ $.x > %5% }`,
		`{ $.x IS NOT NULL }`,
		`{ $.x EXISTS }`,
		`{ $.x IS MAYBE }`,
		`{ $.x IS "NULL" }`,
		`{ $.x IS }`,
		`{ $.x NOT }`,
		`{ $.x NOT "EXISTS" }`,
		`{ $.x is null }`,
		`{ $.x not exists }`,
		`{ ($.x = 1 }`,
		`{ $.x = 1) }`,
		`{ () }`,
		`{ $.x = 1 && }`,
		`{ && $.x = 1 }`,
		`{ $.x = 1 || }`,
		`{ $.x = 1 & $.y = 2 }`,
		`{ $.x = 1 | $.y = 2 }`,
		`{ $.x = 1 $.y = 2 }`,
		`{ $.x = 1, $.y = 2 }`,
		`{ $.x = "abc }`,
		`{ $.x = @foo }`,
		`{ $.x = a/b }`,
		`{ $.x = [1] }`,
		`{ $.*.* = 1 }`,
		`{ $.a[*].b[*] = 1 }`,
		`{ $.a.* = 1 && $.b.* = 1 && $.c.* = 1 && $.d.* = 1 }`,
		`{ $.x = %a(b)% }`,
		`{ $.x = %a% && $.y = %b% && $.z = %c% }`,
		`{ $.x = %abc }`,
		`{ 1 = $.x }`,
		`{ "$.x" = 1 }`,
		`{ $.x = 1 } { $.y = 2 }`,
		`{ [a] }`,
		// Space-delimited.
		`[`,
		`[a, b`,
		`[]`,
		`[a b]`,
		`[a, b = ]`,
		`[a, = 1]`,
		`[a, b > x]`,
		`[a, b > "1"]`,
		`[a, b >= 1*]`,
		`[a, status_code = 4* && bytes > 1000]`, // reported invalid by AWS (awsdocs issue 21)
		`[w1=ERROR || W1=WARNING, w2]`,          // names are case-sensitive
		`[a.b]`,
		`[a-b]`,
		`[$.a = 1]`,
		`[a = 1] x`,
		`[a] [b]`,
		`[a, ... = 1]`,
		`[a, b => 1]`,
		`[a, b == 1]`,
		`[a, b IS NULL]`,
		`[a, b NOT EXISTS]`,
		`[a, b = 1 &&]`,
		`[a, (b = 1]`,
		`[a, b = 1)]`,
		`[a, b = %x%, c = %y%, d = %z%]`,
		`[a, b = %x(y)%]`,
		`[a, b > %1%]`,
		`[a, b = 10/Oct]`,
		`[a, "b"]`,
		`[a, b = "x]`,
		`[a; b]`,
		`[a, b]]`,
		`[a, {b}]`,
	}
	for _, pattern := range patterns {
		p, err := Compile(pattern)
		if err == nil {
			t.Errorf("Compile(%q) = %v, want an error", pattern, p)
			continue
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("Compile(%q) error %v does not wrap ErrInvalid", pattern, err)
		}
		if err.Error() != "Invalid filter pattern" {
			t.Errorf("Compile(%q) error text = %q, want AWS's", pattern, err.Error())
		}
	}
}

// TestQuotas checks the limits AWS documents, just inside and just past them.
func TestQuotas(t *testing.T) {
	valid := []string{
		`{ $.x = %a% && $.y = %b% }`,
		`[a = %x%, b = %y%]`,
		`{ $.a.* = 1 && $.b.* = 1 && $.c[*] = 1 }`,
		`{ $.a[*] = 1 }`,
	}
	for _, pattern := range valid {
		if _, err := Compile(pattern); err != nil {
			t.Errorf("Compile(%q): %v", pattern, err)
		}
	}
	invalidPatterns := []string{
		`{ $.x = %a% && $.y = %b% || $.z = %c% }`,
		`[a = %x%, b = %y% || b = %z%]`,
		`{ $.a.* = 1 && $.b.* = 1 && $.c[*] = 1 && $.d[*] = 1 }`,
		`{ $.a[*][*] = 1 }`,
	}
	for _, pattern := range invalidPatterns {
		if _, err := Compile(pattern); !errors.Is(err, ErrInvalid) {
			t.Errorf("Compile(%q) = %v, want ErrInvalid", pattern, err)
		}
	}
}

func TestDeepNestingIsRejected(t *testing.T) {
	deep := "{ "
	for range 10000 {
		deep += "("
	}
	deep += "$.a = 1"
	for range 10000 {
		deep += ")"
	}
	deep += " }"
	if _, err := Compile(deep); !errors.Is(err, ErrInvalid) {
		t.Errorf("Compile(10000 nested parentheses) = %v, want ErrInvalid", err)
	}
	shallow := "{ (((($.a = 1)))) }"
	p, err := Compile(shallow)
	if err != nil || !p.Match(`{"a": 1}`) {
		t.Errorf("Compile(%q) = %v, %v; want a pattern matching a=1", shallow, p, err)
	}
}

func TestSplitFields(t *testing.T) {
	cases := []struct {
		message string
		want    []string
	}{
		{apache200, []string{"127.0.0.1", "-", "frank", "10/Oct/2000:13:25:15 -0700", "GET /apache_pb.gif HTTP/1.0", "200", "1534"}},
		{"", nil},
		{"   ", nil},
		{" a  b\tc ", []string{"a", "b", "c"}},
		{`"" []`, []string{"", ""}},
		{`"a b"c`, []string{"a b", "c"}},
		{`[a "b" c] d`, []string{`a "b" c`, "d"}},
		{`x [unclosed bracket`, []string{"x", "unclosed bracket"}},
	}
	for _, tc := range cases {
		got := splitFields(tc.message)
		if len(got) != len(tc.want) {
			t.Errorf("splitFields(%q) = %q, want %q", tc.message, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("splitFields(%q) = %q, want %q", tc.message, got, tc.want)
				break
			}
		}
	}
}

func TestParseNumber(t *testing.T) {
	cases := []struct {
		text string
		want float64
		ok   bool
	}{
		{"0", 0, true},
		{"400", 400, true},
		{"+1000", 1000, true},
		{"-2.5", -2.5, true},
		{"1e3", 1000, true},
		{"1e+3", 1000, true},
		{"1E-3", 0.001, true},
		{"10e3", 10000, true},
		{".5", 0.5, true},
		{"5.", 5, true},
		{"1e999", 0, true}, // out of range is still a number (+Inf)
		{"", 0, false},
		{"-", 0, false},
		{".", 0, false},
		{"1e", 0, false},
		{"e3", 0, false},
		{"NaN", 0, false},
		{"Inf", 0, false},
		{"0x10", 0, false},
		{"1_000", 0, false},
		{"4*", 0, false},
		{"1.2.3", 0, false},
	}
	for _, tc := range cases {
		got, ok := parseNumber(tc.text)
		if ok != tc.ok || ok && got != tc.want && tc.text != "1e999" {
			t.Errorf("parseNumber(%q) = %v, %v; want %v, %v", tc.text, got, ok, tc.want, tc.ok)
		}
	}
}
