package filterpattern

import (
	"regexp"
	"strings"
)

// regexPattern is a standalone %regex% pattern: it matches a message that
// contains a match anywhere.
type regexPattern struct {
	re *regexp.Regexp
}

func (p *regexPattern) matches(message string) bool { return p.re.MatchString(message) }

// maxRegexesPerPattern is AWS's quota: "a limit of 2 regex for each filter
// pattern when creating a delimited or JSON filter pattern".
const maxRegexesPerPattern = 2

// Characters AWS allows in a regex besides letters and digits. The space is
// not in AWS's list but is in its own example `%^starting|^initializing|^shutting down%`.
const (
	regexSymbols   = ":_#=@/;,- "
	regexOperators = "^$?[]{}|\\*+."
)

// parseRegexPattern parses a pattern that is a single %regex%.
func parseRegexPattern(src string) (matcher, error) {
	end := strings.IndexByte(src[1:], '%')
	if end < 0 {
		return nil, invalid("unterminated %regex%")
	}
	// UNVERIFIED: AWS documents regex as a standalone pattern or inside JSON
	// and space-delimited patterns, not mixed with terms, so anything after
	// the closing % is rejected.
	if 1+end+1 != len(src) {
		return nil, invalid("text after a %regex%")
	}
	re, err := compileRegex(src[1 : 1+end])
	if err != nil {
		return nil, err
	}
	return &regexPattern{re: re}, nil
}

// compileRegex checks the body of a %regex% against the subset AWS
// documents (letters, digits, the symbols : _ # = @ / ; , -, the operators
// ^ $ ? [ ] { } | \ * + ., the escapes \d \D \s \S \w \W \xhh; no
// parentheses, no multi-byte characters) and compiles it with Go's regexp,
// whose syntax agrees with AWS's on that subset.
func compileRegex(body string) (*regexp.Regexp, error) {
	if body == "" {
		// UNVERIFIED: AWS does not say what %% means.
		return nil, invalid("empty %regex%")
	}
	var b strings.Builder
	inClass := false // inside [...], where { is not a quantifier
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c >= 0x80:
			return nil, invalid("multi-byte character in regex")
		case c == '\\':
			if i+1 == len(body) {
				return nil, invalid("regex ends with \\")
			}
			next := body[i+1]
			switch {
			case strings.IndexByte("dDsSwW", next) >= 0:
				b.WriteString(body[i : i+2])
				i++
			case next == 'x':
				if i+3 >= len(body) || !isHexDigit(body[i+2]) || !isHexDigit(body[i+3]) {
					return nil, invalid("\\x needs two hexadecimal digits")
				}
				b.WriteString(body[i : i+4])
				i += 3
			case !isAlnum(next) && strings.IndexByte(regexSymbols+regexOperators, next) >= 0:
				b.WriteString(body[i : i+2])
				i++
			default:
				// UNVERIFIED: escapes AWS does not list (\b, \t, \p...) and
				// escaped characters it does not allow (use \xhh for those,
				// as AWS says) are rejected.
				return nil, invalid("unsupported regex escape")
			}
		case c == '[':
			if !inClass {
				inClass = true
				b.WriteByte(c)
				// A ] right after [ or [^ is a member of the class, not its end.
				if i+1 < len(body) && body[i+1] == '^' {
					b.WriteByte('^')
					i++
				}
				if i+1 < len(body) && body[i+1] == ']' {
					b.WriteString(`\]`)
					i++
				}
				continue
			}
			b.WriteByte(c)
		case c == ']':
			inClass = false
			b.WriteByte(c)
		case c == '{' && !inClass:
			quantifier, n, ok := awsQuantifier(body[i:])
			if ok {
				b.WriteString(quantifier)
				i += n - 1
				continue
			}
			b.WriteByte(c)
		case isAlnum(c) || strings.IndexByte(regexSymbols+regexOperators, c) >= 0:
			b.WriteByte(c)
		default:
			return nil, invalid("character not allowed in regex: " + string(c))
		}
	}
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, invalid("bad regex: " + err.Error())
	}
	return re, nil
}

// awsQuantifier rewrites the {m, n} quantifier at the start of s into Go's
// syntax, returning it and the bytes it spans. AWS writes it with a space
// ({m, n}) and lets either bound be omitted; Go takes neither the space nor
// an omitted lower bound. Anything else is not a quantifier (ok false).
func awsQuantifier(s string) (string, int, bool) {
	end := strings.IndexByte(s, '}')
	if end < 0 {
		return "", 0, false
	}
	inner := strings.ReplaceAll(s[1:end], " ", "")
	lower, upper, hasComma := strings.Cut(inner, ",")
	if !allDigits(lower) || !allDigits(upper) || lower == "" && upper == "" {
		return "", 0, false
	}
	if !hasComma {
		return "{" + lower + "}", end + 1, true
	}
	if lower == "" {
		lower = "0"
	}
	return "{" + lower + "," + upper + "}", end + 1, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
