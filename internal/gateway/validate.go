package gateway

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/model"
)

// maxReported caps the violations spelled out in one ValidationException;
// the count still covers all of them.
const maxReported = 10

// checker validates a generic input tree (maps, slices, json.Number,
// string, bool, nil) keyed by the members' JSON names against a model
// shape and rebuilds it with normalised scalars, ready to unmarshal into
// the typed input.
type checker struct {
	api *model.API
	// ec2 spells paths as ec2Query parameters, which EC2's messages name.
	ec2        bool
	violations []violation
	count      int
}

// violation is one broken constraint. Paths use AWS's form: member names
// with a lower-case first letter, list elements as "<list>.<n>.member";
// for ec2Query the parameter as sent ("Filter.1.Name").
type violation struct {
	path       string
	value      string
	null       bool // the member is missing: "Value null at ..."
	hidden     bool // sensitive: the value is not repeated
	constraint string
}

// typeError is input of the wrong JSON type (or an unparsable query
// value): a serialization error rather than a validation error. value is
// the input as render shows it.
type typeError struct {
	path, value, want string
}

func (e *typeError) Error() string {
	if e.path == "" {
		return "Start of structure or map expected"
	}
	return fmt.Sprintf("Value '%s' at '%s' can not be converted to %s", clip(e.value), e.path, e.want)
}

func (c *checker) add(v violation) {
	c.count++
	if len(c.violations) < maxReported {
		c.violations = append(c.violations, v)
	}
}

// err is the validation error for what was found, or nil.
func (c *checker) err(svc *service) *awsapi.Error {
	if c.count == 0 {
		return nil
	}
	if svc.ValidationError != nil {
		v := c.violations[0]
		value := v.value
		if v.null {
			value = "null"
		}
		return svc.ValidationError(v.path, value, v.constraint)
	}
	if svc.Protocol == awsapi.EC2 {
		return ec2ValidationError(c.violations[0])
	}
	msgs := make([]string, len(c.violations))
	for i, v := range c.violations {
		switch {
		case v.null:
			msgs[i] = fmt.Sprintf("Value null at '%s' failed to satisfy constraint: %s", v.path, v.constraint)
		case v.hidden:
			msgs[i] = fmt.Sprintf("Value at '%s' failed to satisfy constraint: %s", v.path, v.constraint)
		default:
			msgs[i] = fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", v.value, v.path, v.constraint)
		}
	}
	noun := "errors"
	if c.count == 1 {
		noun = "error"
	}
	code := "ValidationException"
	if svc.Protocol == awsapi.Query {
		code = "ValidationError" // the awsQuery services' name for it
	}
	return awsapi.Errorf(code, "%d validation %s detected: %s", c.count, noun, strings.Join(msgs, "; "))
}

// ec2ValidationError is EC2's answer to input that breaks the model: it
// reports the first problem only, in its own codes.
func ec2ValidationError(v violation) *awsapi.Error {
	switch {
	case v.null:
		return awsapi.Errorf("MissingParameter", "The request must contain the parameter %s", v.path)
	case v.hidden:
		return awsapi.Errorf("InvalidParameterValue", "The value for parameter %s is invalid. %s", v.path, v.constraint)
	}
	return awsapi.Errorf("InvalidParameterValue", "Value (%s) for parameter %s is invalid. %s", v.value, v.path, v.constraint)
}

// memberPath is the path of a structure's member for messages.
func (c *checker) memberPath(parent, name string, ref *model.ShapeRef) string {
	if !c.ec2 {
		return memberPath(parent, name)
	}
	if parent == "" {
		return ec2Key(name, ref)
	}
	return parent + "." + ec2Key(name, ref)
}

// itemPath is the path of a list's i-th element (0-based) for messages.
func (c *checker) itemPath(list string, i int) string {
	if c.ec2 {
		return list + "." + strconv.Itoa(i+1)
	}
	return list + "." + strconv.Itoa(i+1) + ".member"
}

func (c *checker) shape(ref *model.ShapeRef) *model.Shape {
	if ref == nil {
		return nil
	}
	return c.api.Shapes[ref.Shape]
}

func memberPath(parent, name string) string {
	if name != "" {
		r, n := utf8.DecodeRuneInString(name)
		name = strings.ToLower(string(r)) + name[n:]
	}
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// structure checks an object against a structure shape.
func (c *checker) structure(path string, s *model.Shape, v any) (map[string]any, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, &typeError{path, render(v), "a structure"}
	}
	out := make(map[string]any, len(obj))
	names := make([]string, 0, len(s.Members))
	for name := range s.Members {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ref := s.Members[name]
		key := jsonName(name, ref)
		mv := obj[key]
		p := c.memberPath(path, name, ref)
		if mv == nil {
			if contains(s.Required, name) {
				c.add(violation{path: p, null: true, constraint: "Member must not be null"})
			}
			continue
		}
		clean, err := c.value(p, c.shape(ref), mv)
		if err != nil {
			return nil, err
		}
		out[key] = clean
	}
	return out, nil
}

// value checks a non-null value against its shape.
func (c *checker) value(path string, s *model.Shape, v any) (any, error) {
	switch {
	case s == nil || s.Document:
		return v, nil
	case s.Type == "structure":
		return c.structure(path, s, v)
	case s.Type == "list":
		return c.list(path, s, v)
	case s.Type == "map":
		return c.mapValue(path, s, v)
	}
	clean, failed, err := c.scalar(path, s, v)
	if err != nil {
		return nil, err
	}
	for _, f := range failed {
		c.add(violation{path: path, value: render(v), hidden: s.Sensitive, constraint: f})
	}
	return clean, nil
}

func (c *checker) list(path string, s *model.Shape, v any) (any, error) {
	items, ok := v.([]any)
	if !ok {
		return nil, &typeError{path, render(v), "a list"}
	}
	for _, f := range boundFailures(s, float64(len(items))) {
		c.add(violation{path: path, value: render(v), hidden: s.Sensitive, constraint: f})
	}
	ms := c.shape(s.Member)
	out := make([]any, len(items))
	memberFailed := false
	for i, item := range items {
		p := c.itemPath(path, i)
		if item == nil {
			c.add(violation{path: p, null: true, constraint: "Member must not be null"})
			continue
		}
		if ms != nil && isScalar(ms) {
			clean, failed, err := c.scalar(p, ms, item)
			if err != nil {
				return nil, err
			}
			out[i] = clean
			memberFailed = memberFailed || len(failed) > 0
			continue
		}
		clean, err := c.value(p, ms, item)
		if err != nil {
			return nil, err
		}
		out[i] = clean
	}
	if memberFailed {
		// AWS reports a list of scalars once, with all the member's rules.
		c.add(violation{path: path, value: render(v), hidden: ms.Sensitive,
			constraint: "Member must satisfy constraint: [" + strings.Join(constraints(ms), ", ") + "]"})
	}
	return out, nil
}

func (c *checker) mapValue(path string, s *model.Shape, v any) (any, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, &typeError{path, render(v), "a map"}
	}
	for _, f := range boundFailures(s, float64(len(obj))) {
		c.add(violation{path: path, value: render(v), hidden: s.Sensitive, constraint: f})
	}
	ks, vs := c.shape(s.Key), c.shape(s.Value)
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]any, len(obj))
	keyFailed, valueFailed := false, false
	for _, k := range keys {
		if ks != nil && ks.Type == "string" {
			_, failed, _ := c.scalar(path, ks, k)
			keyFailed = keyFailed || len(failed) > 0
		}
		item := obj[k]
		switch {
		case item == nil:
			c.add(violation{path: path + "." + k, null: true, constraint: "Member must not be null"})
		case vs != nil && isScalar(vs):
			clean, failed, err := c.scalar(path+"."+k, vs, item)
			if err != nil {
				return nil, err
			}
			out[k] = clean
			valueFailed = valueFailed || len(failed) > 0
		default:
			clean, err := c.value(path+"."+k, vs, item)
			if err != nil {
				return nil, err
			}
			out[k] = clean
		}
	}
	hidden := s.Sensitive || (ks != nil && ks.Sensitive) || (vs != nil && vs.Sensitive)
	if keyFailed {
		c.add(violation{path: path, value: render(v), hidden: hidden,
			constraint: "Map keys must satisfy constraint: [" + strings.Join(constraints(ks), ", ") + "]"})
	}
	if valueFailed {
		c.add(violation{path: path, value: render(v), hidden: hidden,
			constraint: "Map value must satisfy constraint: [" + strings.Join(constraints(vs), ", ") + "]"})
	}
	return out, nil
}

func isScalar(s *model.Shape) bool {
	switch s.Type {
	case "structure", "list", "map":
		return false
	}
	return !s.Document
}

// scalar converts a scalar to its canonical JSON form and lists the rules
// it breaks.
func (c *checker) scalar(path string, s *model.Shape, v any) (clean any, failed []string, err error) {
	bad := func(want string) (any, []string, error) {
		return nil, nil, &typeError{path, render(v), want}
	}
	switch s.Type {
	case "string":
		str, ok := v.(string)
		if !ok {
			return bad("a string")
		}
		failed = boundFailures(s, float64(utf16Len(str)))
		if s.Pattern != "" {
			if re := modelPattern(s.Pattern); re != nil && !re.MatchString(str) {
				failed = append(failed, patternRule(s))
			}
		}
		if len(s.Enum) > 0 && !contains(s.Enum, str) {
			failed = append(failed, enumRule(s))
		}
		return str, failed, nil
	case "integer", "long":
		bits := 32
		if s.Type == "long" {
			bits = 64
		}
		n, ok := v.(json.Number)
		if !ok {
			return bad("an integer")
		}
		i, err := strconv.ParseInt(string(n), 10, bits)
		if err != nil {
			// 1.0 and 1e3 are integers too; fractions and overflow are not.
			f, ferr := strconv.ParseFloat(string(n), 64)
			limit := math.Ldexp(1, bits-1)
			if ferr != nil || f != math.Trunc(f) || f < -limit || f >= limit {
				return bad("an integer")
			}
			i = int64(f)
		}
		return json.Number(strconv.FormatInt(i, 10)), boundFailures(s, float64(i)), nil
	case "float", "double":
		n, ok := v.(json.Number)
		if !ok {
			return bad("a number")
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return bad("a number")
		}
		return n, boundFailures(s, f), nil
	case "boolean":
		b, ok := v.(bool)
		if !ok {
			return bad("a boolean")
		}
		return b, nil, nil
	case "timestamp":
		raw, err := json.Marshal(v)
		if err != nil {
			return bad("a timestamp")
		}
		var ts awsapi.Timestamp
		if ts.UnmarshalJSON(raw) != nil {
			return bad("a timestamp")
		}
		epoch, _ := ts.MarshalJSON()
		return json.Number(epoch), nil, nil
	case "blob":
		str, ok := v.(string)
		if !ok {
			return bad("a base64-encoded blob")
		}
		decoded, err := base64.StdEncoding.DecodeString(str)
		if err != nil {
			return bad("a base64-encoded blob")
		}
		return str, boundFailures(s, float64(len(decoded))), nil
	}
	return v, nil, nil
}

// constraints lists every rule of a scalar shape in AWS's order, for the
// "Member must satisfy constraint: [...]" form.
func constraints(s *model.Shape) []string {
	if s == nil {
		return nil
	}
	var out []string
	if s.Max != nil {
		out = append(out, boundRule(s, "less", *s.Max))
	}
	if s.Min != nil {
		out = append(out, boundRule(s, "greater", *s.Min))
	}
	if s.Pattern != "" {
		out = append(out, patternRule(s))
	}
	if len(s.Enum) > 0 {
		out = append(out, enumRule(s))
	}
	return out
}

// boundFailures checks n against the shape's min and max: a value for
// numeric shapes, a length or size for the others.
func boundFailures(s *model.Shape, n float64) []string {
	var failed []string
	if s.Max != nil && n > *s.Max {
		failed = append(failed, boundRule(s, "less", *s.Max))
	}
	if s.Min != nil && n < *s.Min {
		failed = append(failed, boundRule(s, "greater", *s.Min))
	}
	return failed
}

func boundRule(s *model.Shape, dir string, bound float64) string {
	what := "length"
	switch s.Type {
	case "integer", "long", "float", "double":
		what = "value"
	}
	return fmt.Sprintf("Member must have %s %s than or equal to %s", what, dir, strconv.FormatFloat(bound, 'f', -1, 64))
}

func patternRule(s *model.Shape) string {
	return "Member must satisfy regular expression pattern: " + s.Pattern
}

func enumRule(s *model.Shape) string {
	return "Member must satisfy enum value set: [" + strings.Join(s.Enum, ", ") + "]"
}

// utf16Len is the length Java (and so AWS) gives a string.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r > 0xFFFF {
			n++
		}
	}
	return n
}

// render shows a value the way AWS's messages do (Java's toString).
func render(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return v
	case json.Number:
		return string(v)
	case bool:
		return strconv.FormatBool(v)
	case []any:
		parts := make([]string, len(v))
		for i, item := range v {
			parts[i] = render(item)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + render(v[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

// clip shortens a value a type error shows: it can be a whole document.
func clip(s string) string {
	const limit = 64
	if utf8.RuneCountInString(s) > limit {
		s = string([]rune(s)[:limit]) + "..."
	}
	return s
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
