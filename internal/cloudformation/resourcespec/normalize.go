package resourcespec

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
)

// Violation is one way resource properties break their type's schema, in
// the words of the JSON-schema validator CloudFormation runs on registry
// resource types.
type Violation struct {
	// Pointer locates the value from the properties' root: "#" is the
	// properties object, "#/ContainerDefinitions/0/Name" a nested value.
	Pointer string
	// Message says what is wrong, such as "expected type: Number, found:
	// String".
	Message string
}

func (v Violation) String() string { return v.Pointer + ": " + v.Message }

// ValidationError lists every violation in a resource's properties:
// CloudFormation reports them all at once.
type ValidationError struct {
	Violations []Violation
}

// Error is the violation list as CloudFormation prints it:
// "[#: required key [Name] not found, #/Port: expected type: Number, found: String]".
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// ForResource is the full sentence CloudFormation fails the resource with.
func (e *ValidationError) ForResource(logicalID string) string {
	return "Properties validation failed for resource " + logicalID + " with message: " + e.Error()
}

// Normalize checks a resource's properties, after their intrinsic
// functions are evaluated, against the type's schema, and returns them
// converted to the schema's types the way CloudFormation converts template
// values, so that handlers and change comparison see one form:
//
//   - a string holding an integer or number becomes a json.Number, and
//     "true" or "false" (in any case) a bool, where the schema wants those;
//   - a number or bool becomes its text where the schema wants a string;
//   - a JSON-typed property takes an object, or a string holding JSON, and
//     keeps it as given.
//
// Values are those encoding/json gives with UseNumber: map[string]any,
// []any, string, bool, nil and json.Number. The input is not modified; the
// result shares JSON-typed values with it. On failure the error is a
// *ValidationError listing every violation.
func (t *Type) Normalize(props map[string]any) (map[string]any, error) {
	if props == nil {
		props = map[string]any{}
	}
	v := &validator{coerce: true}
	out := v.object(&t.object, props, "#")
	if len(v.violations) > 0 {
		return nil, &ValidationError{Violations: v.violations}
	}
	return out, nil
}

// validator checks values against a schema. Its messages are those of
// everit json-schema, the library behind CloudFormation's resource schema
// validation; the ones seen in CloudFormation stack events are "extraneous
// key [K] is not permitted", "required key [K] not found", "expected type:
// T, found: T" and "failed validation constraint for keyword [enum]", in a
// list "[#/A: ..., #/B: ...]". Within one object the violations come in
// everit's order: missing required keys, extraneous keys, then each
// property's own. Names within each group are sorted, where everit follows
// hash order.
// UNVERIFIED: the order of violations within a group.
type validator struct {
	coerce     bool
	violations []Violation
}

func (v *validator) fail(pointer, message string) {
	v.violations = append(v.violations, Violation{Pointer: pointer, Message: message})
}

func (v *validator) wrongType(pointer, expected string, got any) {
	v.fail(pointer, "expected type: "+expected+", found: "+javaType(got))
}

func (v *validator) object(o *object, m map[string]any, pointer string) map[string]any {
	for _, name := range o.required {
		if _, ok := m[name]; !ok {
			v.fail(pointer, "required key ["+name+"] not found")
		}
	}
	keys := sortedKeys(m)
	for _, k := range keys {
		if o.properties[k] == nil {
			v.fail(pointer, "extraneous key ["+k+"] is not permitted")
		}
	}
	out := make(map[string]any, len(m))
	for _, k := range keys {
		if p := o.properties[k]; p != nil {
			out[k] = v.value(p.schema, m[k], pointer+"/"+escapePointer(k))
		}
	}
	return out
}

// value checks one value and returns it converted; after a violation the
// returned value is meaningless.
func (v *validator) value(s *schema, x any, pointer string) any {
	x = fromGo(x)
	switch s.kind {
	case KindString, KindDateTime:
		str, ok := x.(string)
		if !ok && v.coerce {
			switch x := x.(type) {
			case json.Number:
				str, ok = string(x), true
			case bool:
				str, ok = strconv.FormatBool(x), true
			}
		}
		if !ok {
			v.wrongType(pointer, "String", x)
			return nil
		}
		v.checkEnum(s, str, pointer)
		return str
	case KindInteger, KindNumber:
		n, ok := v.number(x, s.kind == KindInteger)
		if !ok {
			if n, isNum := x.(json.Number); isNum && s.kind == KindInteger {
				v.wrongType(pointer, "Integer", n) // UNVERIFIED: a decimal for an integer, in everit's words
			} else {
				v.wrongType(pointer, "Number", x)
			}
			return nil
		}
		v.checkEnum(s, n, pointer)
		return n
	case KindBoolean:
		b, ok := x.(bool)
		if str, isStr := x.(string); isStr && v.coerce {
			switch {
			case strings.EqualFold(str, "true"):
				b, ok = true, true
			case strings.EqualFold(str, "false"):
				b, ok = false, true
			}
		}
		if !ok {
			v.wrongType(pointer, "Boolean", x) // UNVERIFIED: everit's wording, not seen for a Boolean in a stack event
			return nil
		}
		return b
	case KindJSON:
		switch x := x.(type) {
		case map[string]any:
			return x
		case string:
			if v.coerce && json.Valid([]byte(x)) {
				return x
			}
		}
		v.wrongType(pointer, "JSONObject", x)
		return nil
	case KindNull:
		if x != nil {
			v.fail(pointer, "expected: null, found: "+javaType(x)) // UNVERIFIED: everit's wording
		}
		return nil
	case KindArray:
		l, ok := x.([]any)
		if !ok {
			v.wrongType(pointer, "JSONArray", x)
			return nil
		}
		out := make([]any, len(l))
		for i, el := range l {
			out[i] = v.value(s.element, el, pointer+"/"+strconv.Itoa(i))
		}
		return out
	case KindMap:
		m, ok := x.(map[string]any)
		if !ok {
			v.wrongType(pointer, "JSONObject", x)
			return nil
		}
		out := make(map[string]any, len(m))
		for _, k := range sortedKeys(m) {
			out[k] = v.value(s.element, m[k], pointer+"/"+escapePointer(k))
		}
		return out
	case KindObject, KindTag:
		m, ok := x.(map[string]any)
		if !ok {
			v.wrongType(pointer, "JSONObject", x)
			return nil
		}
		return v.object(s.object, m, pointer)
	case KindUnion:
		return v.union(s, x, pointer)
	}
	panic("resourcespec: unhandled kind " + string(s.kind))
}

// union takes the first member the value matches as it is, then the first
// it matches once converted, so that a string stays a string where a
// union allows one.
func (v *validator) union(s *schema, x any, pointer string) any {
	var failed []Violation
	for _, coerce := range []bool{false, true} {
		if coerce && !v.coerce {
			break
		}
		failed = failed[:0]
		for _, m := range s.union {
			sub := &validator{coerce: coerce}
			out := sub.value(m, x, pointer)
			if len(sub.violations) == 0 {
				return out
			}
			failed = append(failed, sub.violations...)
		}
	}
	// UNVERIFIED: everit's anyOf wording, and CloudFormation listing the
	// members' violations after it.
	v.fail(pointer, fmt.Sprintf("#: no subschema matched out of the total %d subschemas", len(s.union)))
	v.violations = append(v.violations, failed...)
	return nil
}

// number returns x as a json.Number in canonical form if it is one, or,
// converting, a string holding one.
func (v *validator) number(x any, integer bool) (json.Number, bool) {
	var text string
	switch x := x.(type) {
	case json.Number:
		text = string(x)
	case string:
		if !v.coerce {
			return "", false
		}
		text = x
	default:
		return "", false
	}
	if integer {
		i, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return "", false
		}
		return json.Number(strconv.FormatInt(i, 10)), true
	}
	if isJSONNumber(text) {
		return json.Number(text), true
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return "", false
	}
	return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), true
}

// checkEnum holds a converted string or number to the schema's allowed
// values. CloudFormation's validator does not name the value.
func (v *validator) checkEnum(s *schema, x any, pointer string) {
	if len(s.enum) == 0 {
		return
	}
	for _, allowed := range s.enum {
		if equal(allowed, x) {
			return
		}
	}
	v.fail(pointer, "failed validation constraint for keyword [enum]")
}

// fromGo turns Go numbers a caller may pass into json.Number, so that
// values built in code validate like decoded ones.
func fromGo(x any) any {
	switch n := x.(type) {
	case int:
		return json.Number(strconv.Itoa(n))
	case int32:
		return json.Number(strconv.FormatInt(int64(n), 10))
	case int64:
		return json.Number(strconv.FormatInt(n, 10))
	case float64:
		if !math.IsInf(n, 0) && !math.IsNaN(n) {
			return json.Number(strconv.FormatFloat(n, 'g', -1, 64))
		}
	}
	return x
}

// javaType names a value's type as the Java validator does: org.json's
// classes for objects and arrays, java.lang's for the rest, and the
// smallest class org.json parses a number into. Stack events confirm
// String, JSONObject and JSONArray.
func javaType(x any) string {
	switch x := x.(type) {
	case nil:
		return "Null" // UNVERIFIED: org.json's JSONObject.NULL
	case string:
		return "String"
	case bool:
		return "Boolean"
	case map[string]any:
		return "JSONObject"
	case []any:
		return "JSONArray"
	case json.Number: // UNVERIFIED: the number classes
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			if i >= math.MinInt32 && i <= math.MaxInt32 {
				return "Integer"
			}
			return "Long"
		}
		if _, ok := new(big.Int).SetString(string(x), 10); ok {
			return "BigInteger"
		}
		return "BigDecimal"
	}
	return fmt.Sprintf("%T", x)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// escapePointer escapes a key for a JSON pointer, as everit does.
func escapePointer(key string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(key)
}

// isJSONNumber reports whether s is a number as JSON writes it, so that a
// json.Number made from it encodes.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}
