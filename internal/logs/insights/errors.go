package insights

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// SyntaxError is returned by Parse for a query that does not compile. It maps
// onto AWS's MalformedQueryException queryCompileError.
type SyntaxError struct {
	// Start and End are character (rune) offsets of the offending token,
	// both inclusive, mirroring QueryCompileErrorLocation's
	// startCharOffset/endCharOffset.
	// UNVERIFIED: AWS's offsets come from an ANTLR token (start/stop index,
	// stop inclusive); whether AWS counts UTF-16 units rather than runes for
	// non-ASCII queries is not documented.
	Start, End int
	// Line is 1-based and Column 0-based (ANTLR convention), for the message.
	Line, Column int
	Message      string
}

func (e *SyntaxError) Error() string { return e.Message }

// newSyntaxError builds an error for the byte range [pos,end) of src. An empty
// msg yields the generic "unexpected symbol" wording.
//
// UNVERIFIED: AWS's wording. Observed AWS messages are ANTLR-style
// ("mismatched input 'count' expecting {K_PARSE, ...}") and
// "unexpected symbol found X at line L and position P"; we use the latter form
// for every unexpected token.
func newSyntaxError(src string, pos, end int, msg string) *SyntaxError {
	if pos < 0 {
		pos = 0
	}
	if pos > len(src) {
		pos = len(src)
	}
	if end < pos {
		end = pos
	}
	if end > len(src) {
		end = len(src)
	}
	start := utf8.RuneCountInString(src[:pos])
	stop := start
	if end > pos {
		stop = start + utf8.RuneCountInString(src[pos:end]) - 1
	}
	line := 1 + strings.Count(src[:pos], "\n")
	col := utf8.RuneCountInString(src[strings.LastIndexByte(src[:pos], '\n')+1 : pos])
	if msg == "" {
		sym := src[pos:end]
		if sym == "" {
			sym = "<EOF>"
		}
		msg = fmt.Sprintf("unexpected symbol found %s at line %d and position %d", sym, line, col)
	} else {
		msg = fmt.Sprintf("%s at line %d and position %d", msg, line, col)
	}
	return &SyntaxError{Start: start, End: stop, Line: line, Column: col, Message: msg}
}
