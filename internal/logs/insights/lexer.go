package insights

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind uint8

const (
	tEOF      tokKind = iota
	tIdent            // bare identifier; keywords are identifiers recognised by the parser
	tQIdent           // `backtick quoted` identifier
	tNumber           // 12, 1.5, 1e3
	tDuration         // 5m, 1h, 30s: an integer immediately followed by a unit
	tString           // "..." or '...'
	tRegex            // /.../
	tPipe
	tComma
	tLParen
	tRParen
	tLBrack
	tRBrack
	tEq    // =
	tNe    // !=
	tLt    // <
	tLe    // <=
	tGt    // >
	tGe    // >=
	tMatch // =~
	tPlus
	tMinus
	tStar
	tSlash
	tPercent
	tCaret
)

// token is one lexical unit. pos/end are byte offsets into the query, [pos,end).
type token struct {
	kind tokKind
	text string // raw source text
	val  string // decoded value: identifier name, string contents, regex source
	pos  int
	end  int
	nl   bool // a newline separates this token from the previous one
}

// regexAfterKeyword lists identifiers after which '/' starts a regex rather
// than a division: they can never end an operand.
var regexAfterKeyword = map[string]bool{
	"like": true, "and": true, "or": true, "not": true, "in": true,
	"filter": true, "parse": true,
}

// lex tokenizes the whole query up front. The parser needs one token of
// lookahead only, but lexing eagerly keeps the regex-vs-division decision
// (which depends on the previous tokens) in one place.
func lex(src string) ([]token, *SyntaxError) {
	var toks []token
	i := 0
	nl := false
	for {
		// Skip blanks and comments; remember newlines for command separation.
		for i < len(src) {
			c := src[i]
			if c == '\n' {
				nl = true
				i++
			} else if c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' {
				i++
			} else if c == '#' {
				for i < len(src) && src[i] != '\n' {
					i++
				}
			} else {
				r, size := utf8.DecodeRuneInString(src[i:])
				if r != utf8.RuneError && unicode.IsSpace(r) {
					i += size
					continue
				}
				break
			}
		}
		if i >= len(src) {
			toks = append(toks, token{kind: tEOF, pos: len(src), end: len(src), nl: nl})
			return toks, nil
		}
		start := i
		c := src[i]
		t := token{pos: start, nl: nl}
		nl = false
		switch {
		case c == '"' || c == '\'':
			val, n, ok := scanQuoted(src[i:], c)
			if !ok {
				return nil, newSyntaxError(src, start, len(src), "unterminated string literal")
			}
			t.kind, t.val = tString, val
			i += n
		case c == '`':
			j := strings.IndexByte(src[i+1:], '`')
			if j < 0 {
				return nil, newSyntaxError(src, start, len(src), "unterminated quoted field name")
			}
			t.kind, t.val = tQIdent, src[i+1:i+1+j]
			i += j + 2
		case c == '/' && regexAllowed(toks):
			val, n, ok := scanRegex(src[i:])
			if !ok {
				return nil, newSyntaxError(src, start, len(src), "unterminated regular expression")
			}
			t.kind, t.val = tRegex, val
			i += n
		case c >= '0' && c <= '9':
			i = scanNumber(src, i)
			t.kind = tNumber
			if i < len(src) && isLetter(src, i) {
				// A number glued to letters is a period such as 5m or 1hr.
				if strings.ContainsAny(src[start:i], ".eE") {
					j := i
					for j < len(src) && isIdentPart(src, j) {
						_, sz := utf8.DecodeRuneInString(src[j:])
						j += sz
					}
					return nil, newSyntaxError(src, start, j, "")
				}
				for i < len(src) && isLetter(src, i) {
					_, sz := utf8.DecodeRuneInString(src[i:])
					i += sz
				}
				t.kind = tDuration
			}
		case isIdentStart(src, i):
			for i < len(src) && isIdentPart(src, i) {
				_, sz := utf8.DecodeRuneInString(src[i:])
				i += sz
			}
			t.kind = tIdent
			t.val = src[start:i]
		default:
			k, n := operator(src[i:])
			if n == 0 {
				_, sz := utf8.DecodeRuneInString(src[i:])
				return nil, newSyntaxError(src, start, start+sz, "")
			}
			t.kind = k
			i += n
		}
		t.end = i
		t.text = src[start:i]
		toks = append(toks, t)
	}
}

func operator(s string) (tokKind, int) {
	two := ""
	if len(s) >= 2 {
		two = s[:2]
	}
	switch two {
	case "!=":
		return tNe, 2
	case "<=":
		return tLe, 2
	case ">=":
		return tGe, 2
	case "=~":
		return tMatch, 2
	}
	switch s[0] {
	case '|':
		return tPipe, 1
	case ',':
		return tComma, 1
	case '(':
		return tLParen, 1
	case ')':
		return tRParen, 1
	case '[':
		return tLBrack, 1
	case ']':
		return tRBrack, 1
	case '=':
		return tEq, 1
	case '<':
		return tLt, 1
	case '>':
		return tGt, 1
	case '+':
		return tPlus, 1
	case '-':
		return tMinus, 1
	case '*':
		return tStar, 1
	case '/':
		return tSlash, 1
	case '%':
		return tPercent, 1
	case '^':
		return tCaret, 1
	}
	return tEOF, 0
}

// regexAllowed decides whether a '/' opens a regex literal: it does unless the
// previous token ends an operand (then it is division). `parse @message /re/`
// is the one place a regex directly follows an operand.
func regexAllowed(toks []token) bool {
	if len(toks) == 0 {
		return true
	}
	prev := toks[len(toks)-1]
	switch prev.kind {
	case tNumber, tDuration, tString, tRegex, tRParen, tRBrack, tQIdent:
		return isParseSource(toks) && prev.kind == tQIdent
	case tIdent:
		if regexAfterKeyword[strings.ToLower(prev.val)] {
			return true
		}
		return isParseSource(toks)
	}
	return true
}

// isParseSource reports whether the last token is the source field of a
// parse command: `parse <field>` at the start of a command.
func isParseSource(toks []token) bool {
	n := len(toks)
	if n < 2 {
		return false
	}
	kw := toks[n-2]
	if kw.kind != tIdent || !strings.EqualFold(kw.val, "parse") {
		return false
	}
	return n == 2 || toks[n-3].kind == tPipe || kw.nl
}

func scanNumber(src string, i int) int {
	for i < len(src) && src[i] >= '0' && src[i] <= '9' {
		i++
	}
	if i+1 < len(src) && src[i] == '.' && src[i+1] >= '0' && src[i+1] <= '9' {
		i++
		for i < len(src) && src[i] >= '0' && src[i] <= '9' {
			i++
		}
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		j := i + 1
		if j < len(src) && (src[j] == '+' || src[j] == '-') {
			j++
		}
		if j < len(src) && src[j] >= '0' && src[j] <= '9' {
			for j < len(src) && src[j] >= '0' && src[j] <= '9' {
				j++
			}
			i = j
		}
	}
	return i
}

// scanQuoted reads a quoted string starting at s[0]==q. It returns the decoded
// value and the number of bytes consumed. Only \\, \<quote>, \n, \t and \r
// are decoded; other backslash pairs are kept verbatim so regex-ish text in
// like "..." patterns survives.
// UNVERIFIED: AWS's exact escape rules for string literals.
func scanQuoted(s string, q byte) (string, int, bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == q:
			return b.String(), i + 1, true
		case c == '\\' && i+1 < len(s):
			i++
			switch s[i] {
			case '\\':
				b.WriteByte('\\')
			case q:
				b.WriteByte(q)
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte('\\')
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, false
}

// scanRegex reads /.../ starting at s[0]=='/'. \/ stands for a literal slash;
// every other escape is passed to the regex engine untouched.
func scanRegex(s string) (string, int, bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '/':
			return b.String(), i + 1, true
		case c == '\\' && i+1 < len(s):
			i++
			if s[i] != '/' {
				b.WriteByte('\\')
			}
			b.WriteByte(s[i])
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, false
}

func isLetter(src string, i int) bool {
	r, _ := utf8.DecodeRuneInString(src[i:])
	return r == '_' || unicode.IsLetter(r)
}

func isIdentStart(src string, i int) bool {
	r, _ := utf8.DecodeRuneInString(src[i:])
	return r == '_' || r == '@' || r == '$' || unicode.IsLetter(r)
}

// isIdentPart: field names may contain '.', '@' and '$' unquoted (JSON paths
// like a.b.0.c); anything else needs backticks, as AWS documents.
func isIdentPart(src string, i int) bool {
	r, _ := utf8.DecodeRuneInString(src[i:])
	return r == '_' || r == '@' || r == '$' || r == '.' || unicode.IsLetter(r) || unicode.IsDigit(r)
}
