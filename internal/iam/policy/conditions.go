package policy

import (
	"bytes"
	"encoding/base64"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

type family uint8

const (
	familyString family = iota
	familyNumeric
	familyDate
	familyBinary
	familyIP
	familyARN
	familyNull
)

type comparison uint8

const (
	compareEqual comparison = iota
	compareLess
	compareLessEqual
	compareGreater
	compareGreaterEqual
)

// operator is what a condition operator's name means.
type operator struct {
	family  family
	negated bool
	// compare orders numbers and dates.
	compare comparison
	// fold and wildcards shape string matching.
	fold, wildcards bool
}

// operators are IAM's condition operators, without the ForAnyValue: and
// ForAllValues: qualifiers and the IfExists suffix.
var operators = map[string]operator{
	"StringEquals":              {family: familyString},
	"StringNotEquals":           {family: familyString, negated: true},
	"StringEqualsIgnoreCase":    {family: familyString, fold: true},
	"StringNotEqualsIgnoreCase": {family: familyString, fold: true, negated: true},
	"StringLike":                {family: familyString, wildcards: true},
	"StringNotLike":             {family: familyString, wildcards: true, negated: true},
	"NumericEquals":             {family: familyNumeric},
	"NumericNotEquals":          {family: familyNumeric, negated: true},
	"NumericLessThan":           {family: familyNumeric, compare: compareLess},
	"NumericLessThanEquals":     {family: familyNumeric, compare: compareLessEqual},
	"NumericGreaterThan":        {family: familyNumeric, compare: compareGreater},
	"NumericGreaterThanEquals":  {family: familyNumeric, compare: compareGreaterEqual},
	"DateEquals":                {family: familyDate},
	"DateNotEquals":             {family: familyDate, negated: true},
	"DateLessThan":              {family: familyDate, compare: compareLess},
	"DateLessThanEquals":        {family: familyDate, compare: compareLessEqual},
	"DateGreaterThan":           {family: familyDate, compare: compareGreater},
	"DateGreaterThanEquals":     {family: familyDate, compare: compareGreaterEqual},
	// UNVERIFIED: AWS does not say whether Bool ignores case; berth does.
	"Bool":         {family: familyString, fold: true},
	"BinaryEquals": {family: familyBinary},
	"IpAddress":    {family: familyIP},
	"NotIpAddress": {family: familyIP, negated: true},
	"ArnEquals":    {family: familyARN},
	"ArnLike":      {family: familyARN},
	"ArnNotEquals": {family: familyARN, negated: true},
	"ArnNotLike":   {family: familyARN, negated: true},
	"Null":         {family: familyNull},
}

type qualifier uint8

const (
	singleValue qualifier = iota
	forAnyValue
	forAllValues
)

// parseOperator reads a condition operator's name, with its set qualifier
// and IfExists suffix.
func parseOperator(name string) (op operator, q qualifier, ifExists, ok bool) {
	switch {
	case strings.HasPrefix(name, "ForAnyValue:"):
		q, name = forAnyValue, strings.TrimPrefix(name, "ForAnyValue:")
	case strings.HasPrefix(name, "ForAllValues:"):
		q, name = forAllValues, strings.TrimPrefix(name, "ForAllValues:")
	}
	if base, found := strings.CutSuffix(name, "IfExists"); found {
		name, ifExists = base, true
	}
	op, ok = operators[name]
	return op, q, ifExists, ok
}

// condition is one key of one operator block.
type condition struct {
	key       string
	qualifier qualifier
	ifExists  bool
	negated   bool
	// test matches a request value against the policy's values; nil for
	// Null, whose values are in null.
	test valueTest
	null []string // "true" or "false", lowercased
}

// valueTest reports whether a request value matches any of a condition's
// values in the policy.
type valueTest interface {
	matches(value string, ec *evalContext) bool
}

// compileCondition compiles a key's values for op; ok is false when a value
// fails IAM's legacy parsing (an unreadable date).
func compileCondition(op operator, q qualifier, ifExists bool, key string, values []string, variables bool) (condition, bool) {
	c := condition{key: key, qualifier: q, ifExists: ifExists, negated: op.negated}
	switch op.family {
	case familyString:
		t := &stringTest{fold: op.fold}
		for _, v := range values {
			t.patterns = append(t.patterns, compilePattern(v, op.wildcards, variables))
		}
		c.test = t
	case familyNumeric:
		t := &numericTest{compare: op.compare}
		for _, v := range values {
			// UNVERIFIED: IAM's handling of a value that is no number; berth
			// lets it match nothing.
			if n, err := strconv.ParseFloat(v, 64); err == nil {
				t.values = append(t.values, n)
			}
		}
		c.test = t
	case familyDate:
		t := &dateTest{compare: op.compare}
		for _, v := range values {
			d, ok := parseDate(v)
			if !ok {
				return c, false
			}
			t.values = append(t.values, d)
		}
		c.test = t
	case familyBinary:
		t := &binaryTest{}
		for _, v := range values {
			if b, err := base64.StdEncoding.DecodeString(v); err == nil {
				t.values = append(t.values, b)
			}
		}
		c.test = t
	case familyIP:
		t := &ipTest{}
		for _, v := range values {
			if p, ok := parseIPRange(v); ok {
				t.ranges = append(t.ranges, p)
			}
		}
		c.test = t
	case familyARN:
		t := &arnTest{}
		for _, v := range values {
			t.patterns = append(t.patterns, compileARNPattern(v, variables))
		}
		c.test = t
	case familyNull:
		for _, v := range values {
			c.null = append(c.null, strings.ToLower(v))
		}
	}
	return c, true
}

// holds reports whether the condition is met by the request, following
// AWS's rules for a key the request lacks: false, except for negated
// operators, ...IfExists and ForAllValues (true), and Null, which tests
// exactly that.
func (c *condition) holds(ec *evalContext) bool {
	values := ec.lookup(c.key)
	present := len(values) > 0
	if c.test == nil {
		for _, want := range c.null {
			if (want == "true" && !present) || (want == "false" && present) {
				return true
			}
		}
		return false
	}
	if !present {
		switch {
		case c.ifExists, c.qualifier == forAllValues:
			return true
		case c.qualifier == forAnyValue:
			return false
		}
		return c.negated
	}
	switch c.qualifier {
	case forAnyValue:
		for _, v := range values {
			if c.test.matches(v, ec) != c.negated {
				return true
			}
		}
		return false
	case forAllValues:
		for _, v := range values {
			if c.test.matches(v, ec) == c.negated {
				return false
			}
		}
		return true
	}
	// A negated operator with several values holds when the request
	// matches none of them.
	for _, v := range values {
		if c.test.matches(v, ec) {
			return !c.negated
		}
	}
	return c.negated
}

type stringTest struct {
	patterns []pattern
	fold     bool
}

func (t *stringTest) matches(v string, ec *evalContext) bool {
	for i := range t.patterns {
		if t.patterns[i].match(v, t.fold, ec) {
			return true
		}
	}
	return false
}

type numericTest struct {
	values  []float64
	compare comparison
}

func (t *numericTest) matches(v string, _ *evalContext) bool {
	n, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return false
	}
	for _, want := range t.values {
		if compareOrdered(n, want, t.compare) {
			return true
		}
	}
	return false
}

type dateTest struct {
	values  []time.Time
	compare comparison
}

func (t *dateTest) matches(v string, _ *evalContext) bool {
	d, ok := parseDate(v)
	if !ok {
		return false
	}
	for _, want := range t.values {
		if compareOrdered(d.Compare(want), 0, t.compare) {
			return true
		}
	}
	return false
}

func compareOrdered[T int | float64](a, b T, c comparison) bool {
	switch c {
	case compareLess:
		return a < b
	case compareLessEqual:
		return a <= b
	case compareGreater:
		return a > b
	case compareGreaterEqual:
		return a >= b
	}
	return a == b
}

// binaryTest compares bytes: the policy holds base64, and so does the
// request context.
type binaryTest struct{ values [][]byte }

func (t *binaryTest) matches(v string, _ *evalContext) bool {
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return false
	}
	for _, want := range t.values {
		if bytes.Equal(b, want) {
			return true
		}
	}
	return false
}

type ipTest struct{ ranges []netip.Prefix }

func (t *ipTest) matches(v string, _ *evalContext) bool {
	addr, err := netip.ParseAddr(v)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, r := range t.ranges {
		if r.Contains(addr) {
			return true
		}
	}
	return false
}

// parseIPRange reads a CIDR block, or an address standing for its /32 or
// /128.
// UNVERIFIED: IAM's handling of a value that is neither; berth lets it
// match nothing.
func parseIPRange(v string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(v); err == nil {
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(v); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

type arnTest struct{ patterns []arnPattern }

func (t *arnTest) matches(v string, ec *evalContext) bool {
	arn, ok := splitARN(v)
	for i := range t.patterns {
		if t.patterns[i].match(&arn, ok, ec) {
			return true
		}
	}
	return false
}

// parseDate reads a date as IAM does: ISO 8601 (a date, with an optional
// time of day, fraction and zone), or whole seconds since the epoch.
func parseDate(s string) (time.Time, bool) {
	if !strings.ContainsAny(s, "tT-") {
		secs, err := strconv.ParseInt(s, 10, 64)
		if err != nil || secs < 0 {
			return time.Time{}, false
		}
		return time.Unix(secs, 0).UTC(), true
	}
	datePart, timePart, _ := strings.Cut(strings.ToUpper(s), "T")
	negativeYear := strings.HasPrefix(datePart, "-")
	fields := strings.Split(strings.TrimPrefix(datePart, "-"), "-")
	if len(fields) > 3 {
		return time.Time{}, false
	}
	date := [3]int{0, 1, 1}
	limits := [3][2]int{{-292275054, 292278993}, {1, 12}, {1, 31}}
	for i, f := range fields {
		n, ok := digits(f)
		if i == 0 && negativeYear {
			n = -n
		}
		if !ok || n < limits[i][0] || n > limits[i][1] {
			return time.Time{}, false
		}
		date[i] = n
	}
	clock, zone, ok := parseClock(timePart)
	if !ok {
		return time.Time{}, false
	}
	return time.Date(date[0], time.Month(date[1]), date[2], 0, 0, 0, 0, zone).Add(clock), true
}

// parseClock reads "hh[:mm[:ss[.fraction]]]" and a zone: Z, or an offset
// ±hh[:mm]. An empty string is midnight UTC.
func parseClock(s string) (time.Duration, *time.Location, bool) {
	zone := time.UTC
	if i := strings.IndexAny(s, "Z+-"); i >= 0 {
		var ok bool
		if zone, ok = parseZone(s[i:]); !ok {
			return 0, nil, false
		}
		s = s[:i]
	}
	if s == "" {
		return 0, zone, true
	}
	whole, fraction, hasFraction := strings.Cut(s, ".")
	fields := strings.Split(whole, ":")
	if len(fields) > 3 || (hasFraction && len(fields) != 3) {
		return 0, nil, false
	}
	units := [3]time.Duration{time.Hour, time.Minute, time.Second}
	limits := [3]int{23, 59, 59}
	var clock time.Duration
	for i, f := range fields {
		n, ok := digits(f)
		if !ok || n > limits[i] {
			return 0, nil, false
		}
		clock += time.Duration(n) * units[i]
	}
	if hasFraction {
		n, ok := digits(fraction)
		if !ok || len(fraction) > 9 {
			return 0, nil, false
		}
		for i := len(fraction); i < 9; i++ {
			n *= 10
		}
		clock += time.Duration(n)
	}
	return clock, zone, true
}

func parseZone(s string) (*time.Location, bool) {
	if s == "Z" {
		return time.UTC, true
	}
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	hours, minutes, hasMinutes := strings.Cut(s[1:], ":")
	h, ok := digits(hours)
	if !ok || len(hours) != 2 || h > 23 {
		return nil, false
	}
	m := 0
	if hasMinutes {
		if m, ok = digits(minutes); !ok || len(minutes) != 2 || m > 59 {
			return nil, false
		}
	}
	return time.FixedZone("", sign*(h*3600+m*60)), true
}

// digits reads a non-empty run of ASCII digits.
func digits(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}
