package filterpattern

// delimitedPattern is a `[ ... ]` pattern over space-delimited events.
type delimitedPattern struct {
	fields []fieldPattern
}

// fieldPattern is one comma-separated entry of a space-delimited pattern.
type fieldPattern struct {
	ellipsis bool     // ...: any number of fields, none included
	name     string   // empty for an unnamed field
	cond     boolExpr // nil when any value will do
}

func (f *fieldPattern) isUnnamed() bool { return !f.ellipsis && f.name == "" && f.cond == nil }

// matches reports whether one field of the event satisfies the entry.
func (f *fieldPattern) matches(value string) bool {
	if f.cond == nil {
		return true
	}
	n, isNumber := parseNumber(value)
	v := operand{text: value, isNumber: isNumber, number: n}
	return f.cond.eval(func(c *condition) bool { return c.compare(v) })
}

// matches pairs the event's fields with the pattern's entries in order, an
// ellipsis taking as many fields as it needs (none or more), and reports
// whether every field is paired and satisfies its entry. It is the usual
// wildcard match, backtracking to the latest ellipsis, since every other
// entry takes exactly one field.
func (p *delimitedPattern) matches(message string) bool {
	fields := splitFields(message)
	entry, field := 0, 0
	lastEllipsis, resumeField := -1, 0
	for field < len(fields) {
		switch {
		case entry < len(p.fields) && p.fields[entry].ellipsis:
			lastEllipsis, resumeField = entry, field
			entry++
		case entry < len(p.fields) && p.fields[entry].matches(fields[field]):
			entry++
			field++
		case lastEllipsis >= 0:
			// Let the latest ellipsis take one more field and retry.
			resumeField++
			entry, field = lastEllipsis+1, resumeField
		default:
			return false
		}
	}
	for entry < len(p.fields) && p.fields[entry].ellipsis {
		entry++
	}
	return entry == len(p.fields)
}

// splitFields splits a message into space-delimited fields. AWS: characters
// between brackets ("[]") and double quotation marks ("") are single
// fields; its extracted values show them without the brackets and quotes
// ("$timestamp": "10/Oct/2000:13:25:15 -0700").
//
// UNVERIFIED: runs of blanks (spaces, tabs, line breaks) separate fields as
// one; a field ends at its closing bracket or quote even when more text
// follows without a blank (that text starts the next field); a backslash
// does not escape a quote; an unclosed bracket or quote runs to the end of
// the message.
func splitFields(message string) []string {
	var fields []string
	i := 0
	for {
		for i < len(message) && isSpace(message[i]) {
			i++
		}
		if i == len(message) {
			return fields
		}
		var closing byte
		switch message[i] {
		case '"':
			closing = '"'
		case '[':
			closing = ']'
		}
		if closing != 0 {
			start := i + 1
			end := start
			for end < len(message) && message[end] != closing {
				end++
			}
			fields = append(fields, message[start:end])
			i = min(end+1, len(message))
			continue
		}
		start := i
		for i < len(message) && !isSpace(message[i]) {
			i++
		}
		fields = append(fields, message[start:i])
	}
}
