package filterpattern

import (
	"encoding/json"
	"io"
	"strings"
)

// jsonPattern is a `{ ... }` pattern over JSON events.
type jsonPattern struct {
	expr boolExpr
}

func (p *jsonPattern) matches(message string) bool {
	doc, ok := decodeObject(message)
	if !ok {
		return false
	}
	return p.expr.eval(func(c *condition) bool { return c.testJSON(doc) })
}

// decodeObject decodes a message that is one JSON object, keeping numbers
// as written. Anything else (not JSON, an array, trailing text) is no
// object, and then no JSON pattern matches.
func decodeObject(message string) (map[string]any, bool) {
	trimmed := strings.TrimLeft(message, " \t\r\n")
	if !strings.HasPrefix(trimmed, "{") {
		return nil, false // the common case of a plain-text event, cheaply
	}
	dec := json.NewDecoder(strings.NewReader(trimmed))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil || doc == nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return doc, true
}

// testJSON decides a condition against a decoded event. With a wildcard
// selector the condition holds when it holds for any selected value.
// UNVERIFIED: AWS does not say whether a wildcard means any or every; any
// is what its examples ({ $.arrayKey[*] = %val.{2}% }) need.
func (c *condition) testJSON(doc map[string]any) bool {
	switch c.op {
	case opNotExists:
		return !selectJSON(doc, c.path, func(any) bool { return true })
	case opIsTrue:
		return selectJSON(doc, c.path, func(v any) bool { return v == true })
	case opIsFalse:
		return selectJSON(doc, c.path, func(v any) bool { return v == false })
	case opIsNull:
		return selectJSON(doc, c.path, func(v any) bool { return v == nil })
	}
	return selectJSON(doc, c.path, func(v any) bool {
		// AWS: a selector must point to a value node, a string or a number;
		// on an array or object "the filter pattern won't match", whether
		// the operator is = or !=. UNVERIFIED: the same for true, false and
		// null, which have IS.
		switch v := v.(type) {
		case string:
			return c.compare(operand{text: v})
		case json.Number:
			n, ok := parseNumber(v.String())
			return c.compare(operand{text: v.String(), isNumber: ok, number: n})
		}
		return false
	})
}

// selectJSON calls visit on each value the selector path picks from node
// (one, or several through a wildcard) until visit returns true, and
// reports whether it did. A missing property, an index past the end, or a
// step into something that is not an object or array picks nothing.
func selectJSON(node any, path []pathStep, visit func(any) bool) bool {
	if len(path) == 0 {
		return visit(node)
	}
	step, rest := path[0], path[1:]
	switch step.kind {
	case stepKey:
		obj, ok := node.(map[string]any)
		if !ok {
			return false
		}
		child, ok := obj[step.key]
		return ok && selectJSON(child, rest, visit)
	case stepIndex:
		arr, ok := node.([]any)
		return ok && step.index < len(arr) && selectJSON(arr[step.index], rest, visit)
	case stepWildcard:
		// AWS: "the JSON wildcard [selects] any array element or any JSON
		// object field"; .* and [*] are taken to be the same.
		switch n := node.(type) {
		case map[string]any:
			for _, child := range n {
				if selectJSON(child, rest, visit) {
					return true
				}
			}
		case []any:
			for _, child := range n {
				if selectJSON(child, rest, visit) {
					return true
				}
			}
		}
	}
	return false
}
