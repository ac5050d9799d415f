package insights

import (
	"cmp"
	"math"
	"strconv"
	"strings"
	"time"
)

type kind uint8

const (
	kMissing kind = iota // field absent: omitted from result rows
	kStr
	kNum  // n; s keeps the source text of a JSON number so it prints as logged
	kTime // n is milliseconds since the epoch; prints as an AWS timestamp
	kBool // n is 0 or 1
)

// value is the dynamic type of every expression. It is a small value type so
// the per-event path does not allocate.
type value struct {
	k kind
	s string
	n float64
}

var missing = value{}

func strVal(s string) value  { return value{k: kStr, s: s} }
func numVal(n float64) value { return value{k: kNum, n: n} }
func timeVal(ms int64) value { return value{k: kTime, n: float64(ms)} }
func boolVal(b bool) value {
	if b {
		return value{k: kBool, n: 1}
	}
	return value{k: kBool}
}

// timeLayout is how GetQueryResults prints @timestamp and bin() values:
// UTC with milliseconds, e.g. "2024-01-02 03:04:05.678".
const timeLayout = "2006-01-02 15:04:05.000"

func formatTime(ms int64) string { return time.UnixMilli(ms).UTC().Format(timeLayout) }

// formatNum prints integers without a decimal point and other numbers in the
// shortest form that round-trips.
// UNVERIFIED: AWS prints non-integral aggregates (avg) with full precision
// rather than rounding; we use Go's shortest representation.
func formatNum(n float64) string {
	if math.IsNaN(n) || math.IsInf(n, 0) {
		return strconv.FormatFloat(n, 'g', -1, 64)
	}
	return strconv.FormatFloat(n, 'f', -1, 64)
}

// String renders a value the way it appears in query results.
func (v value) String() string {
	switch v.k {
	case kStr:
		return v.s
	case kNum:
		if v.s != "" {
			return v.s
		}
		return formatNum(v.n)
	case kTime:
		return formatTime(int64(v.n))
	case kBool:
		// UNVERIFIED: how AWS prints a boolean expression in `fields`.
		if v.n != 0 {
			return "true"
		}
		return "false"
	}
	return ""
}

// num converts to a number. Strings convert when they look like a decimal
// number; "NaN"/"Inf" spellings are rejected so words never compare as numbers.
func (v value) num() (float64, bool) {
	switch v.k {
	case kNum, kTime, kBool:
		return v.n, true
	case kStr:
		return parseNumber(v.s)
	}
	return 0, false
}

func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	c := s[0]
	if c == '-' || c == '+' {
		if len(s) == 1 {
			return 0, false
		}
		c = s[1]
	}
	if (c < '0' || c > '9') && c != '.' {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !isRangeErr(err) {
		return 0, false
	}
	return f, true
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

func (v value) truthy() bool {
	switch v.k {
	case kBool, kNum, kTime:
		return v.n != 0
	case kStr:
		return v.s != ""
	}
	return false
}

// compare orders two present values for the comparison operators. When either
// side is numeric (a number literal, arithmetic, a JSON number, a timestamp)
// both are compared as numbers; otherwise as strings. ok is false when the
// values cannot be compared (a missing side, or a non-numeric string against
// a number).
// UNVERIFIED: AWS's coercion rules between strings and numbers.
func compare(a, b value) (c int, ok bool) {
	if a.k == kMissing || b.k == kMissing {
		return 0, false
	}
	if a.k == kStr && b.k == kStr {
		return strings.Compare(a.s, b.s), true
	}
	x, ok1 := a.num()
	y, ok2 := b.num()
	if !ok1 || !ok2 {
		return 0, false
	}
	return cmp.Compare(x, y), true
}

// order is the sort order AWS documents for `sort` (ascending):
// "All non-number values come before all number values"; numbers compare
// numerically; non-number values compare chunk by chunk (see natural).
// UNVERIFIED: whether AWS counts signed or decimal strings as numbers; we do.
func order(a, b value) int {
	x, ok1 := a.num()
	y, ok2 := b.num()
	switch {
	case ok1 && ok2:
		if c := cmp.Compare(x, y); c != 0 {
			return c
		}
		return strings.Compare(a.String(), b.String()) // "01" before "1"
	case ok1:
		return 1
	case ok2:
		return -1
	}
	return natural(a.String(), b.String())
}

// natural compares strings as AWS's sort documents: consecutive digits and
// consecutive non-digits form chunks; two digit chunks compare by length,
// then value; other chunks by Unicode order; a string that runs out first
// sorts first.
// UNVERIFIED: AWS splits "alphabetic" chunks; we treat every non-digit run
// (letters and symbols) as one chunk, which reproduces the documented example.
func natural(a, b string) int {
	for a != "" && b != "" {
		ca, ra := chunk(a)
		cb, rb := chunk(b)
		var c int
		if isDigit(ca[0]) && isDigit(cb[0]) {
			c = cmp.Compare(len(ca), len(cb))
		}
		if c == 0 {
			c = strings.Compare(ca, cb)
		}
		if c != 0 {
			return c
		}
		a, b = ra, rb
	}
	return cmp.Compare(len(a), len(b))
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// chunk splits off the leading run of digits or of non-digits.
func chunk(s string) (string, string) {
	d := isDigit(s[0])
	i := 1
	for i < len(s) && isDigit(s[i]) == d {
		i++
	}
	return s[:i], s[i:]
}

// minMaxOrder ranks numbers before other values, so min and max of a numeric
// field ignore the odd non-numeric value.
// UNVERIFIED: AWS's min/max over mixed values.
func minMaxOrder(a, b value) int {
	x, ok1 := a.num()
	y, ok2 := b.num()
	switch {
	case ok1 && ok2:
		return cmp.Compare(x, y)
	case ok1:
		return -1
	case ok2:
		return 1
	}
	return strings.Compare(a.String(), b.String())
}

// sortCompare orders for sort: "If you sort in descending order, the sort
// results are the reverse". Missing values go last in both directions.
// UNVERIFIED: where AWS puts events lacking the sort field.
func sortCompare(a, b value, desc bool) int {
	am, bm := a.k == kMissing, b.k == kMissing
	switch {
	case am && bm:
		return 0
	case am:
		return 1
	case bm:
		return -1
	}
	c := order(a, b)
	if desc {
		c = -c
	}
	return c
}

// appendKey encodes a value into a group key. The encoding is injective
// (kind tag, then length-prefixed text) so distinct groups never collide.
func appendKey(b []byte, v value) []byte {
	b = append(b, byte(v.k))
	switch v.k {
	case kNum, kBool:
		if v.s != "" {
			b = strconv.AppendInt(b, int64(len(v.s)), 10)
			b = append(b, ':')
			return append(b, v.s...)
		}
		b = strconv.AppendUint(b, math.Float64bits(v.n), 16)
		return append(b, ';')
	case kTime:
		b = strconv.AppendInt(b, int64(v.n), 10)
		return append(b, ';')
	case kStr:
		b = strconv.AppendInt(b, int64(len(v.s)), 10)
		b = append(b, ':')
		return append(b, v.s...)
	}
	return b
}

// detach copies a string value so that a long-lived group key or row does not
// pin the whole log message it was sliced from.
func (v value) detach() value {
	if v.s != "" {
		v.s = strings.Clone(v.s)
	}
	return v
}
