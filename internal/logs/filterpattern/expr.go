package filterpattern

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
)

// boolExpr is a condition tree of a JSON pattern or of one field of a
// space-delimited pattern. test decides each leaf condition against the
// event at hand.
type boolExpr interface {
	eval(test func(*condition) bool) bool
}

// andExpr and orExpr hold all their operands in one node, so a long chain
// of && or || does not make a deep tree.
type andExpr []boolExpr

type orExpr []boolExpr

func (e andExpr) eval(test func(*condition) bool) bool {
	for _, x := range e {
		if !x.eval(test) {
			return false
		}
	}
	return true
}

func (e orExpr) eval(test func(*condition) bool) bool {
	for _, x := range e {
		if x.eval(test) {
			return true
		}
	}
	return false
}

// condition is a leaf: a JSON selector or a delimited field, an operator
// and, for comparisons, the value compared against.
type condition struct {
	path  []pathStep // JSON patterns
	field string     // space-delimited patterns
	op    operator
	value literal
}

func (c *condition) eval(test func(*condition) bool) bool { return test(c) }

type operator int

const (
	opEqual operator = iota
	opNotEqual
	opLess
	opLessOrEqual
	opGreater
	opGreaterOrEqual
	opIsTrue
	opIsFalse
	opIsNull
	opNotExists
)

var comparisonOperators = map[string]operator{
	"=": opEqual, "!=": opNotEqual,
	"<": opLess, "<=": opLessOrEqual,
	">": opGreater, ">=": opGreaterOrEqual,
}

func (op operator) isOrdering() bool {
	return op == opLess || op == opLessOrEqual || op == opGreater || op == opGreaterOrEqual
}

// literal is the right-hand side of a comparison: a number, a string with
// optional * wildcards at its ends, or a regex.
type literal struct {
	regex    *regexp.Regexp
	isNumber bool
	number   float64
	text     string // the number as written, or the string without its wildcards
	// A * at the start or end of a string matches any text there. A * in
	// the middle is itself: AWS's 2020 guide says "Ev*ent will only match
	// the actual string Ev*ent".
	anyPrefix, anySuffix bool
}

// newStringLiteral makes a literal of a string, quoted or not.
func newStringLiteral(s string) literal {
	lit := literal{}
	if strings.HasPrefix(s, "*") {
		lit.anyPrefix = true
		s = s[1:]
	}
	if strings.HasSuffix(s, "*") {
		lit.anySuffix = true
		s = s[:len(s)-1]
	}
	lit.text = s
	return lit
}

// operand is a value from an event, a JSON string or number or a delimited
// field, in the shape comparisons need.
type operand struct {
	text     string // the string, or the number as written
	isNumber bool   // the text is a number, and number holds it
	number   float64
}

// compare decides a comparison operator against an event's value.
func (c *condition) compare(v operand) bool {
	switch {
	case c.op == opEqual:
		return c.value.equals(v)
	case c.op == opNotEqual:
		return !c.value.equals(v)
	case !v.isNumber:
		// Ordering is numeric only.
		return false
	case c.op == opLess:
		return v.number < c.value.number
	case c.op == opLessOrEqual:
		return v.number <= c.value.number
	case c.op == opGreater:
		return v.number > c.value.number
	case c.op == opGreaterOrEqual:
		return v.number >= c.value.number
	}
	return false
}

func (lit *literal) equals(v operand) bool {
	switch {
	case lit.regex != nil:
		return lit.regex.MatchString(v.text)
	case lit.isNumber && v.isNumber:
		// 1e+3 = 1000.
		return v.number == lit.number
	case lit.isNumber:
		// UNVERIFIED: a number compared with a string value (a JSON string,
		// a delimited field that is not a number) compares as text.
		return v.text == lit.text
	}
	// UNVERIFIED: a string compared with a JSON number compares with the
	// number as written; AWS documents * matching numbers ({ $.latency = * }).
	switch {
	case lit.anyPrefix && lit.anySuffix:
		return strings.Contains(v.text, lit.text)
	case lit.anyPrefix:
		return strings.HasSuffix(v.text, lit.text)
	case lit.anySuffix:
		return strings.HasPrefix(v.text, lit.text)
	}
	return v.text == lit.text
}

// parseNumber parses a number as AWS writes them: an integer or decimal
// with an optional sign and an optional exponent (1e3, -2.5, +1e-3). Unlike
// strconv.ParseFloat it takes no Inf, NaN, hexadecimal or underscores.
func parseNumber(s string) (float64, bool) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return 0, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		expDigits := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			expDigits++
		}
		if expDigits == 0 {
			return 0, false
		}
	}
	if i != len(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		// Only out of range is left; ParseFloat then gives ±Inf or 0,
		// which still order correctly.
		if !errors.Is(err, strconv.ErrRange) {
			return 0, false
		}
	}
	return f, true
}
