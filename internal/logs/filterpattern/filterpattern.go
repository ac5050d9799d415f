// Package filterpattern parses and matches CloudWatch Logs filter patterns,
// the syntax that FilterLogEvents, StartLiveTail (logEventFilterPattern),
// `aws logs tail --filter-pattern`, metric filters and subscription filters
// use to pick log events, as the CloudWatch Logs User Guide documents it
// ("Filter pattern syntax for metric filters, subscription filters, filter
// log events, and Live Tail",
// docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html).
//
// The first character of a pattern tells its form:
//
//   - Terms, for unstructured events. `ERROR Exception` matches events whose
//     message contains every term; `?ERROR ?WARN` matches events containing
//     any of the ?-terms (?-terms are ignored when the pattern has other
//     terms); `ERROR -Exiting` excludes events containing Exiting;
//     `"Internal Server Error"` is one term. Terms are case-sensitive
//     substrings, and a term with characters other than letters, digits and
//     underscore must be quoted. An empty pattern, or `" "`, matches every
//     event.
//   - A regular expression between percent signs, `%ERROR [0-9]{3}%`,
//     matching events that contain a match. AWS allows only a subset of regex
//     syntax (no parentheses, no multi-byte characters, a fixed set of
//     symbols); the rest is rejected.
//   - JSON, between braces: `{ $.level = "ERROR" && $.latency > 1000 }`.
//     Property selectors ($.a.b, $.arr[0], $.['dotted.key'], one * wildcard)
//     are compared with = != < > <= >= against strings (with a leading or
//     trailing * wildcard), numbers or %regex%, or tested with IS TRUE,
//     IS FALSE, IS NULL and NOT EXISTS; && binds tighter than ||, and
//     parentheses group. Only messages that are JSON objects can match.
//   - Space-delimited, between brackets: `[ip, user, ..., status_code = 4*,
//     bytes > 1000]` names the message's space-separated fields in order
//     (text in "" or [] is one field), `...` stands for any number of
//     fields, and a field may carry conditions on itself joined by && and ||.
//     A message with a different number of fields does not match, unless
//     an ellipsis takes the difference.
//
// Compile rejects a pattern that does not parse with an error that wraps
// ErrInvalid, whose text is AWS's "Invalid filter pattern". Behaviour the
// AWS documentation does not state is marked UNVERIFIED in the source.
package filterpattern

import (
	"errors"
	"strings"
)

// ErrInvalid is wrapped by every error Compile returns. Its text is the
// message of the InvalidParameterException AWS answers a pattern it cannot
// parse with.
//
//lint:ignore ST1005 AWS's exact message, capital letter included.
var ErrInvalid = errors.New("Invalid filter pattern")

// syntaxError says why a pattern was rejected, for tests and debugging,
// while its text stays AWS's fixed message so callers can pass it on as is.
type syntaxError struct {
	reason string
}

func (e *syntaxError) Error() string { return ErrInvalid.Error() }

func (e *syntaxError) Unwrap() error { return ErrInvalid }

func invalid(reason string) error { return &syntaxError{reason: reason} }

// Pattern is a compiled filter pattern. It is safe for concurrent use.
type Pattern struct {
	form matcher
}

// matcher is one of the pattern forms: it decides whether a message matches.
type matcher interface {
	matches(message string) bool
}

// matchAll is the empty pattern.
type matchAll struct{}

func (matchAll) matches(string) bool { return true }

// Compile parses a filter pattern. "" (or only whitespace) matches every event.
func Compile(pattern string) (*Pattern, error) {
	src := strings.TrimSpace(pattern)
	var (
		form matcher
		err  error
	)
	switch {
	case src == "":
		form = matchAll{}
	case src[0] == '{':
		form, err = parseJSONPattern(src)
	case src[0] == '[':
		form, err = parseSpaceDelimitedPattern(src)
	case src[0] == '%':
		form, err = parseRegexPattern(src)
	default:
		form, err = parseTermsPattern(src)
	}
	if err != nil {
		return nil, err
	}
	return &Pattern{form: form}, nil
}

// Match reports whether a log event's message matches. A nil Pattern
// matches every message, as an absent filter pattern does.
func (p *Pattern) Match(message string) bool {
	if p == nil || p.form == nil {
		return true
	}
	return p.form.matches(message)
}
