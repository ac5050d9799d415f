package policy

import (
	"strings"
	"unicode/utf8"
)

type tokenKind uint8

const (
	tokenLiteral  tokenKind = iota
	tokenStar               // *: any run of characters
	tokenOne                // ?: one character
	tokenVariable           // ${key} or ${key, 'default'}
)

type token struct {
	kind tokenKind
	// text is a literal's text, or a variable's condition key.
	text string
	// fallback is a variable's default value, used when the request has
	// no value for the key.
	fallback    string
	hasFallback bool
}

// pattern is a compiled policy string: literal text, the wildcards * and ?
// where the element allows them, and policy variables where the policy's
// version allows them.
type pattern struct {
	tokens []token
	// matchAll: the pattern is a lone *, which matches anything.
	matchAll bool
	// literal: the pattern is plain text, compared whole.
	literal bool
	text    string
	// variables: the pattern names a variable to resolve per request.
	variables bool
}

func compilePattern(text string, wildcards, variables bool) pattern {
	return newPattern(tokenize(text, wildcards, variables))
}

func newPattern(tokens []token) pattern {
	p := pattern{tokens: tokens}
	switch {
	case len(tokens) == 0:
		p.literal = true
	case len(tokens) == 1 && tokens[0].kind == tokenLiteral:
		p.literal, p.text = true, tokens[0].text
	case len(tokens) == 1 && tokens[0].kind == tokenStar:
		p.matchAll = true
	}
	for _, t := range tokens {
		if t.kind == tokenVariable {
			p.variables = true
		}
	}
	return p
}

// tokenize splits text into tokens. The special variables ${*}, ${?} and
// ${$} stand for the literal characters, so a policy can match them.
func tokenize(text string, wildcards, variables bool) []token {
	var tokens []token
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			tokens = append(tokens, token{kind: tokenLiteral, text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		if variables && c == '$' && strings.HasPrefix(text[i:], "${") {
			if end := strings.IndexByte(text[i:], '}'); end > 2 {
				inner := text[i+2 : i+end]
				switch inner {
				case "*", "?", "$":
					lit.WriteString(inner)
					i += end
					continue
				}
				if v, ok := parseVariable(inner); ok {
					flush()
					tokens = append(tokens, v)
					i += end
					continue
				}
			}
		}
		switch {
		case wildcards && c == '*':
			flush()
			if len(tokens) == 0 || tokens[len(tokens)-1].kind != tokenStar {
				tokens = append(tokens, token{kind: tokenStar})
			}
		case wildcards && c == '?':
			flush()
			tokens = append(tokens, token{kind: tokenOne})
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return tokens
}

// parseVariable reads "key" or "key, 'default'".
// UNVERIFIED: text inside ${} that is neither is kept as literal text.
func parseVariable(inner string) (token, bool) {
	key, fallback, hasFallback := strings.Cut(inner, ",")
	key = strings.TrimSpace(key)
	if key == "" || strings.ContainsAny(key, " '{$") {
		return token{}, false
	}
	v := token{kind: tokenVariable, text: key}
	if hasFallback {
		fallback = strings.TrimSpace(fallback)
		if len(fallback) < 2 || fallback[0] != '\'' || fallback[len(fallback)-1] != '\'' {
			return token{}, false
		}
		v.fallback, v.hasFallback = fallback[1:len(fallback)-1], true
	}
	return v, true
}

// match reports whether s matches p; fold ignores case (only of ASCII
// letters where wildcards are involved: action names are ASCII).
func (p *pattern) match(s string, fold bool, ec *evalContext) bool {
	switch {
	case p.matchAll:
		return true
	case p.literal:
		if fold {
			return strings.EqualFold(p.text, s)
		}
		return p.text == s
	}
	tokens := p.tokens
	if p.variables {
		var ok bool
		if tokens, ok = ec.resolve(tokens); !ok {
			return false // a variable without a value matches nothing
		}
	}
	return matchTokens(tokens, s, fold)
}

// matchTokens is glob matching that backtracks to the last star only,
// which is exact for patterns made of literals, * and ?.
func matchTokens(tokens []token, s string, fold bool) bool {
	ti, si := 0, 0
	starTi, starSi := -1, 0
	for {
		if ti < len(tokens) {
			t := tokens[ti]
			switch t.kind {
			case tokenStar:
				starTi, starSi = ti, si
				ti++
				continue
			case tokenOne:
				if si < len(s) {
					_, w := utf8.DecodeRuneInString(s[si:])
					si += w
					ti++
					continue
				}
			case tokenLiteral:
				if hasPrefix(s[si:], t.text, fold) {
					si += len(t.text)
					ti++
					continue
				}
			}
		} else if si == len(s) {
			return true
		}
		if starTi < 0 || starSi >= len(s) {
			return false
		}
		_, w := utf8.DecodeRuneInString(s[starSi:])
		starSi += w
		ti, si = starTi+1, starSi
	}
}

func hasPrefix(s, prefix string, fold bool) bool {
	if len(s) < len(prefix) {
		return false
	}
	if fold {
		return equalFoldASCII(s[:len(prefix)], prefix)
	}
	return s[:len(prefix)] == prefix
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// arnSegments is the number of colon-separated parts of an ARN; the last
// one, the resource, keeps any further colons.
const arnSegments = 6

// splitARN cuts an ARN into its six segments; ok is false for a string
// with fewer.
func splitARN(s string) (segments [arnSegments]string, ok bool) {
	for i := 0; i < arnSegments-1; i++ {
		head, rest, found := strings.Cut(s, ":")
		if !found {
			return segments, false
		}
		segments[i], s = head, rest
	}
	segments[arnSegments-1] = s
	return segments, true
}

// arnPattern matches ARNs segment by segment, as IAM does for Resource and
// the Arn condition operators: a wildcard stays within its segment.
type arnPattern struct {
	matchAll bool // "*"
	segments [arnSegments]pattern
}

func compileARNPattern(text string, variables bool) arnPattern {
	if text == "*" {
		return arnPattern{matchAll: true}
	}
	var p arnPattern
	split := splitTokens(tokenize(text, true, variables))
	for i := range p.segments {
		if i < len(split) {
			p.segments[i] = newPattern(split[i])
		} else {
			// IAM reads the segments a short ARN lacks as *.
			p.segments[i] = pattern{matchAll: true}
		}
	}
	return p
}

// splitTokens cuts tokens at the first five colons of their literal text.
func splitTokens(tokens []token) [][]token {
	segments := [][]token{nil}
	for _, t := range tokens {
		if t.kind != tokenLiteral {
			segments[len(segments)-1] = append(segments[len(segments)-1], t)
			continue
		}
		text := t.text
		for len(segments) < arnSegments {
			head, rest, found := strings.Cut(text, ":")
			if !found {
				break
			}
			if head != "" {
				segments[len(segments)-1] = append(segments[len(segments)-1], token{kind: tokenLiteral, text: head})
			}
			segments = append(segments, nil)
			text = rest
		}
		if text != "" {
			segments[len(segments)-1] = append(segments[len(segments)-1], token{kind: tokenLiteral, text: text})
		}
	}
	return segments
}

func (p *arnPattern) match(arn *[arnSegments]string, isARN bool, ec *evalContext) bool {
	if p.matchAll {
		return true
	}
	if !isARN {
		return false
	}
	for i := range p.segments {
		if !p.segments[i].match(arn[i], false, ec) {
			return false
		}
	}
	return true
}
