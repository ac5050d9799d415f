package filterpattern

import (
	"strconv"
	"strings"
)

// tokenKind is the kind of a token of a JSON or space-delimited pattern.
type tokenKind int

const (
	tokEOF tokenKind = iota
	tokLBrace
	tokRBrace
	tokLBracket
	tokRBracket
	tokLParen
	tokRParen
	tokComma
	tokAnd      // &&
	tokOr       // ||
	tokOperator // = != < > <= >=
	tokSelector // $.a.b[0]
	tokWord     // a bare value or field name: ERROR, 4*, 1e+3, ...
	tokString   // a "quoted" value; text holds it unquoted
	tokRegex    // a %regex%; text holds the part between the percent signs
)

type token struct {
	kind tokenKind
	text string
	path []pathStep // tokSelector only
}

// pathStep is one step of a JSON property selector.
type pathStep struct {
	kind  stepKind
	key   string // stepKey
	index int    // stepIndex
}

type stepKind int

const (
	stepKey      stepKind = iota // .name or ['name']
	stepIndex                    // [0]
	stepWildcard                 // .* or [*]
)

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// isTermByte reports whether c may appear in an unquoted term of an
// unstructured pattern: AWS asks for anything but letters, digits and
// underscore to be quoted.
func isTermByte(c byte) bool { return isAlnum(c) || c == '_' }

// isWordByte reports whether c may appear in a bare word of a JSON or
// space-delimited pattern. The documented bare values are alphanumeric
// strings, field names with underscores, wildcards (4*, *.html*, 123.123.*)
// and signed numbers in exponent notation (1e+3, -5).
// UNVERIFIED: which other characters AWS accepts unquoted in a value.
func isWordByte(c byte) bool {
	return isAlnum(c) || c == '_' || c == '.' || c == '*' || c == '+' || c == '-'
}

// isSelectorNameByte reports whether c may appear in a property name of a
// JSON selector: "alphanumeric strings that support hyphen and underscore".
func isSelectorNameByte(c byte) bool { return isAlnum(c) || c == '_' || c == '-' }

// lexStructured splits a JSON or space-delimited pattern into tokens, the
// last one tokEOF.
func lexStructured(src string) ([]token, error) {
	var toks []token
	i := 0
	for {
		for i < len(src) && isSpace(src[i]) {
			i++
		}
		if i == len(src) {
			return append(toks, token{kind: tokEOF}), nil
		}
		c := src[i]
		if kind, ok := punctuation[c]; ok {
			toks = append(toks, token{kind: kind, text: src[i : i+1]})
			i++
			continue
		}
		switch {
		case c == '&' || c == '|':
			if i+1 == len(src) || src[i+1] != c {
				return nil, invalid("a lone " + string(c))
			}
			kind := tokAnd
			if c == '|' {
				kind = tokOr
			}
			toks = append(toks, token{kind: kind, text: src[i : i+2]})
			i += 2
		case c == '=' || c == '!' || c == '<' || c == '>':
			n := 1
			if c != '=' && i+1 < len(src) && src[i+1] == '=' {
				n = 2
			}
			op := src[i : i+n]
			if op == "!" {
				return nil, invalid("! without =")
			}
			toks = append(toks, token{kind: tokOperator, text: op})
			i += n
		case c == '"':
			text, next, err := scanQuoted(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tokString, text: text})
			i = next
		case c == '%':
			end := strings.IndexByte(src[i+1:], '%')
			if end < 0 {
				return nil, invalid("unterminated %regex%")
			}
			toks = append(toks, token{kind: tokRegex, text: src[i+1 : i+1+end]})
			i += end + 2
		case c == '$':
			path, next, err := scanSelector(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tokSelector, text: src[i:next], path: path})
			i = next
		case isWordByte(c):
			start := i
			for i < len(src) && isWordByte(src[i]) {
				i++
			}
			toks = append(toks, token{kind: tokWord, text: src[start:i]})
		default:
			return nil, invalid("unexpected character " + strconv.QuoteRune(rune(c)))
		}
	}
}

var punctuation = map[byte]tokenKind{
	'{': tokLBrace, '}': tokRBrace,
	'[': tokLBracket, ']': tokRBracket,
	'(': tokLParen, ')': tokRParen,
	',': tokComma,
}

// scanQuoted reads the double-quoted string starting at src[i] and returns
// its content and the index just past the closing quote.
// UNVERIFIED: AWS does not document escapes inside quotes; \" and \\ stand
// for a quote and a backslash here so a quote can be matched at all, and any
// other backslash is kept as it is.
func scanQuoted(src string, i int) (string, int, error) {
	var b strings.Builder
	for j := i + 1; j < len(src); j++ {
		switch c := src[j]; {
		case c == '"':
			return b.String(), j + 1, nil
		case c == '\\' && j+1 < len(src) && (src[j+1] == '"' || src[j+1] == '\\'):
			b.WriteByte(src[j+1])
			j++
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, invalid("unterminated quoted string")
}

// scanSelector reads the JSON property selector starting with the '$' at
// src[i]: steps of .name, .*, [index], [*] and ['name'] (for names with
// periods), and returns them and the index just past the selector.
func scanSelector(src string, i int) ([]pathStep, int, error) {
	var path []pathStep
	i++ // the '$'
	for i < len(src) {
		if src[i] == '[' {
			step, next, err := scanBracketStep(src, i)
			if err != nil {
				return nil, 0, err
			}
			path = append(path, step)
			i = next
			continue
		}
		if src[i] != '.' {
			break
		}
		i++
		switch {
		case i < len(src) && src[i] == '*':
			path = append(path, pathStep{kind: stepWildcard})
			i++
		case i < len(src) && src[i] == '[':
			// The documented $.['cluster.name']: the bracket step is read on
			// the next turn of the loop.
			// UNVERIFIED: a bracket step with no period before it ($.a['b'])
			// is accepted too, as array indexes are ($.a[0]).
		default:
			start := i
			for i < len(src) && isSelectorNameByte(src[i]) {
				i++
			}
			if i == start {
				return nil, 0, invalid("empty property name in selector")
			}
			path = append(path, pathStep{kind: stepKey, key: src[start:i]})
		}
	}
	if len(path) == 0 {
		return nil, 0, invalid("selector without a property")
	}
	if i < len(src) && (isWordByte(src[i]) || src[i] == '$' || src[i] == '"' || src[i] == '%') {
		return nil, 0, invalid("unexpected character in selector")
	}
	return path, i, nil
}

// scanBracketStep reads [index], [*], ['name'] or ["name"] at src[i].
func scanBracketStep(src string, i int) (pathStep, int, error) {
	i++ // the '['
	if i >= len(src) {
		return pathStep{}, 0, invalid("unterminated [ in selector")
	}
	var step pathStep
	switch c := src[i]; {
	case c == '*':
		step = pathStep{kind: stepWildcard}
		i++
	case c >= '0' && c <= '9':
		start := i
		for i < len(src) && src[i] >= '0' && src[i] <= '9' {
			i++
		}
		n, err := strconv.Atoi(src[start:i])
		if err != nil {
			return pathStep{}, 0, invalid("array index out of range")
		}
		step = pathStep{kind: stepIndex, index: n}
	case c == '\'' || c == '"':
		// UNVERIFIED: AWS documents single quotes; double quotes are
		// accepted as well.
		end := strings.IndexByte(src[i+1:], c)
		if end < 0 {
			return pathStep{}, 0, invalid("unterminated quoted property name")
		}
		step = pathStep{kind: stepKey, key: src[i+1 : i+1+end]}
		i += end + 2
	default:
		return pathStep{}, 0, invalid("bad [ ] in selector")
	}
	if i >= len(src) || src[i] != ']' {
		return pathStep{}, 0, invalid("unterminated [ in selector")
	}
	return step, i + 1, nil
}
