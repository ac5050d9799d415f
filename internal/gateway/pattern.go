package gateway

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// patterns caches compiled model patterns; a nil entry marks a pattern
// RE2 cannot express, which is then not enforced.
var patterns sync.Map // string -> *regexp.Regexp

// modelPattern returns the compiled form of a model pattern, or nil when it
// cannot be checked. AWS matches patterns against the whole value (Java's
// Matcher.matches), so the expression is anchored.
func modelPattern(p string) *regexp.Regexp {
	if re, ok := patterns.Load(p); ok {
		return re.(*regexp.Regexp)
	}
	var re *regexp.Regexp
	if expr, ok := javaToRE2(p); ok {
		re, _ = regexp.Compile(`\A(?:` + expr + `)\z`)
	}
	patterns.Store(p, re)
	return re
}

// javaToRE2 rewrites the Java regular expression constructs the AWS models
// use that RE2 spells differently: \uXXXX escapes and bounded repeats above
// RE2's limit of 1000 (loosened to unbounded; the model's length limit
// still applies). Constructs RE2 lacks or reads differently (lookaround,
// backreferences, nested or intersected classes) make it give up.
func javaToRE2(p string) (string, bool) {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			next := p[i+1]
			switch {
			case next == 'u':
				cp, n := javaUnicodeEscape(p[i+2:])
				if n == 0 {
					return "", false
				}
				b.WriteString(`\x{` + strconv.FormatInt(int64(cp), 16) + `}`)
				i += 1 + n
				continue
			case next >= '1' && next <= '9', next == 'k':
				return "", false // backreference
			case next == 'Q':
				end := strings.Index(p[i+2:], `\E`)
				if end < 0 {
					return "", false
				}
				b.WriteString(regexp.QuoteMeta(p[i+2 : i+2+end]))
				i += 3 + end
				continue
			}
			b.WriteByte(c)
			b.WriteByte(next)
			i++
		case inClass:
			if c == '[' || (c == '&' && i+1 < len(p) && p[i+1] == '&') {
				return "", false // Java class union / intersection
			}
			if c == ']' {
				inClass = false
			}
			b.WriteByte(c)
		case c == '[':
			inClass = true
			b.WriteByte(c)
			// A ']' (after an optional '^') right at the start is literal.
			if i+1 < len(p) && p[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(p) && p[i+1] == ']' {
				b.WriteByte(']')
				i++
			}
		case c == '(' && strings.HasPrefix(p[i:], "(?") && i+2 < len(p) && strings.ContainsRune("=!<>", rune(p[i+2])):
			if !strings.HasPrefix(p[i:], "(?<") || i+3 >= len(p) || p[i+3] == '=' || p[i+3] == '!' {
				return "", false // lookaround or atomic group
			}
			b.WriteByte(c) // (?<name> is a named group in both
		case c == '{':
			lo, hi, n, ok := repeatBounds(p[i:])
			if !ok {
				b.WriteByte(c)
				continue
			}
			if lo > 1000 {
				return "", false
			}
			if hi > 1000 {
				b.WriteString("{" + strconv.Itoa(lo) + ",}")
			} else {
				b.WriteString(p[i : i+n])
			}
			i += n - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

// javaUnicodeEscape reads the hex digits after \u. Java takes exactly four;
// the models also write supplementary code points as \u10000 .. \u10FFFF,
// so up to six digits are read when the value is beyond the BMP.
func javaUnicodeEscape(s string) (cp rune, n int) {
	digits := 0
	for digits < len(s) && digits < 6 && isHex(s[digits]) {
		digits++
	}
	if digits < 4 {
		return 0, 0
	}
	for d := digits; d > 4; d-- {
		v, _ := strconv.ParseUint(s[:d], 16, 32)
		if v > 0xFFFF && v <= 0x10FFFF {
			return rune(v), d
		}
	}
	v, _ := strconv.ParseUint(s[:4], 16, 32)
	return rune(v), 4
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// repeatBounds parses a {n}, {n,} or {n,m} quantifier at the start of s and
// returns its bounds (hi -1 when unbounded) and length.
func repeatBounds(s string) (lo, hi, n int, ok bool) {
	end := strings.IndexByte(s, '}')
	if end < 2 {
		return 0, 0, 0, false
	}
	body := s[1:end]
	loStr, hiStr, comma := strings.Cut(body, ",")
	lo, err := strconv.Atoi(loStr)
	if err != nil || lo < 0 || strings.ContainsAny(loStr, "+-") {
		return 0, 0, 0, false
	}
	hi = lo
	if comma {
		hi = -1
		if hiStr != "" {
			if hi, err = strconv.Atoi(hiStr); err != nil || hi < 0 || strings.ContainsAny(hiStr, "+-") {
				return 0, 0, 0, false
			}
		}
	}
	return lo, hi, end + 1, true
}
