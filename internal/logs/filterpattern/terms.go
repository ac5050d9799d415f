package filterpattern

import "strings"

// termsPattern is a pattern of terms for unstructured events.
type termsPattern struct {
	required []string // every one must appear
	excluded []string // none may appear
	optional []string // one must appear; only when there are no other terms
}

func (p *termsPattern) matches(message string) bool {
	for _, t := range p.required {
		if !strings.Contains(message, t) {
			return false
		}
	}
	for _, t := range p.excluded {
		if strings.Contains(message, t) {
			return false
		}
	}
	if len(p.optional) == 0 {
		return true
	}
	for _, t := range p.optional {
		if strings.Contains(message, t) {
			return true
		}
	}
	return false
}

// parseTermsPattern parses whitespace-separated terms, each a bare word of
// letters, digits and underscores or a "quoted phrase", optionally prefixed
// with ? (any of these) or - (none of these).
func parseTermsPattern(src string) (matcher, error) {
	p := &termsPattern{}
	i := 0
	for {
		for i < len(src) && isSpace(src[i]) {
			i++
		}
		if i == len(src) {
			break
		}
		list := &p.required
		switch src[i] {
		case '?':
			list = &p.optional
			i++
		case '-':
			list = &p.excluded
			i++
		}
		if list != &p.required {
			// UNVERIFIED: the 2020 user guide writes `"ERROR" - "Exiting"`
			// for excluding Exiting, so the sign may stand apart from its
			// term.
			for i < len(src) && isSpace(src[i]) {
				i++
			}
		}
		if i == len(src) {
			return nil, invalid("? or - without a term")
		}
		var term string
		if src[i] == '"' {
			text, next, err := scanQuoted(src, i)
			if err != nil {
				return nil, err
			}
			term, i = text, next
			// The documented match-everything pattern is `" "`: a phrase
			// of blanks is no constraint at all.
			if strings.TrimSpace(term) == "" {
				term = ""
			}
		} else {
			start := i
			for i < len(src) && isTermByte(src[i]) {
				i++
			}
			if i == start {
				return nil, invalid("a term with characters other than letters, digits and _ must be quoted")
			}
			term = src[start:i]
		}
		// UNVERIFIED: terms must be separated by whitespace ("a""b" and
		// ERROR"x" are rejected).
		if i < len(src) && !isSpace(src[i]) {
			return nil, invalid("a term with characters other than letters, digits and _ must be quoted")
		}
		*list = append(*list, term)
	}
	// AWS: "If you combine ? with other filter patterns, all question mark
	// terms will be ignored."
	if len(p.required) > 0 || len(p.excluded) > 0 {
		p.optional = nil
	}
	return p, nil
}
