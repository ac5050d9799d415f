package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/model"
)

// Every codec converts its wire form to one canonical tree: what
// encoding/json decodes a JSON document to (with UseNumber), keyed by the
// members' JSON names (jsonName), timestamps as epoch seconds. The tree is
// validated against the model and then unmarshalled into the handler's
// typed input, whose json tags are those names (apigen's rule).

// jsonName is a member's key in the canonical tree: its locationName, else
// its member name. awsJson1_1 bodies carry it as it is, and apigen tags the
// typed shapes with it.
func jsonName(member string, ref *model.ShapeRef) string {
	if ref.LocationName != "" {
		return ref.LocationName
	}
	return member
}

// ec2Key is a member's ec2Query parameter name: its queryName, else its
// locationName or member name with the first letter upper-cased.
func ec2Key(member string, ref *model.ShapeRef) string {
	if ref.QueryName != "" {
		return ref.QueryName
	}
	name := jsonName(member, ref)
	r, n := utf8.DecodeRuneInString(name)
	return string(unicode.ToUpper(r)) + name[n:]
}

// decodeJSON decodes an awsJson1_1 body into the operation's typed input.
func decodeJSON(svc *service, op *model.Operation, body []byte) (any, error) {
	tree, err := parseJSONObject(body)
	if err != nil {
		return nil, err
	}
	return bindInput(svc, op, tree)
}

// parseJSONObject parses a request body holding one JSON value; an empty
// body is the empty object. AWS's JSON services answer malformed input with
// SerializationException.
func parseJSONObject(body []byte) (any, *awsapi.Error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return map[string]any{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, awsapi.Errorf("SerializationException", "Malformed request body: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, awsapi.Errorf("SerializationException", "Malformed request body: data after the JSON object")
	}
	return tree, nil
}

// bindInput validates tree against the operation's input shape and
// unmarshals the result into a fresh typed input.
func bindInput(svc *service, op *model.Operation, tree any) (any, error) {
	c := &checker{api: svc.Model, ec2: svc.Protocol == awsapi.EC2}
	clean := map[string]any{}
	if s := c.shape(op.Input); s != nil {
		out, err := c.structure("", s, tree)
		if err != nil {
			var te *typeError
			if errors.As(err, &te) {
				return nil, serializationError(svc, te)
			}
			return nil, err
		}
		clean = out
	} else if _, ok := tree.(map[string]any); !ok {
		return nil, serializationError(svc, &typeError{})
	}
	if verr := c.err(svc); verr != nil {
		return nil, verr
	}
	raw, err := json.Marshal(clean)
	if err != nil {
		return nil, err
	}
	in := svc.Operations[op.Name].NewInput()
	if err := json.Unmarshal(raw, in); err != nil {
		// The tree matches the model, so the typed input does not: a bug.
		return nil, fmt.Errorf("bind %s input: %w", op.Name, err)
	}
	return in, nil
}

func serializationError(svc *service, te *typeError) *awsapi.Error {
	switch svc.Protocol {
	case awsapi.Query:
		return awsapi.Errorf("InvalidParameterValue", "%s", te.Error())
	case awsapi.EC2:
		// EC2 names the parameter as sent, in its own sentence.
		return awsapi.Errorf("InvalidParameterValue", "Value (%s) for parameter %s is invalid. Expected %s.", clip(te.value), te.path, te.want)
	}
	return awsapi.Errorf("SerializationException", "%s", te.Error())
}

// form is the awsQuery parameters sorted by key (the first of repeated keys
// kept, as for Action). The decoder finds a member's keys by binary search,
// so memory stays proportional to the keys the model asks for, however
// deep or numerous the keys a client sends.
type form []param

func newForm(params []param) form {
	f := slices.Clone(params)
	slices.SortStableFunc(f, func(a, b param) int { return strings.Compare(a.key, b.key) })
	return slices.CompactFunc(f, func(a, b param) bool { return a.key == b.key })
}

func (f form) lookup(key string) (string, bool) {
	i, ok := slices.BinarySearchFunc(f, key, func(p param, k string) int { return strings.Compare(p.key, k) })
	if !ok {
		return "", false
	}
	return f[i].value, true
}

// under returns the parameters whose keys continue key with a '.'.
func (f form) under(key string) form {
	prefix := key + "."
	lo, _ := slices.BinarySearchFunc(f, prefix, func(p param, k string) int { return strings.Compare(p.key, k) })
	n := sort.Search(len(f)-lo, func(i int) bool { return !strings.HasPrefix(f[lo+i].key, prefix) })
	return f[lo : lo+n]
}

// has reports whether key or anything under it was sent.
func (f form) has(key string) bool {
	_, ok := f.lookup(key)
	return ok || len(f.under(key)) > 0
}

// indices returns the distinct list or map positions under key, in
// numeric order: "key.1...", "key.2...". Other names are ignored and gaps
// closed up.
func (f form) indices(key string) []string {
	sub := f.under(key)
	var nums []int
	for _, p := range sub {
		idx, _, _ := strings.Cut(p.key[len(key)+1:], ".")
		if n, ok := positiveInt(idx); ok {
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	nums = slices.Compact(nums)
	out := make([]string, len(nums))
	for i, n := range nums {
		out[i] = strconv.Itoa(n)
	}
	return out
}

// positiveInt parses a list position: digits without a leading zero.
func positiveInt(s string) (int, bool) {
	if s == "" || len(s) > 9 || s[0] == '0' {
		return 0, false
	}
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// decodeQuery decodes awsQuery or ec2Query parameters into the operation's
// typed input.
func decodeQuery(svc *service, op *model.Operation, params []param) (any, error) {
	q := &queryDecoder{api: svc.Model, ec2: svc.Protocol == awsapi.EC2}
	tree := map[string]any{}
	if s := svc.Model.Shapes[shapeName(op.Input)]; s != nil {
		tree = q.structure(newForm(params), "", "", s)
	}
	if q.err != nil {
		return nil, serializationError(svc, q.err)
	}
	return bindInput(svc, op, tree)
}

func shapeName(ref *model.ShapeRef) string {
	if ref == nil {
		return ""
	}
	return ref.Shape
}

// queryDecoder turns the flattened awsQuery keys into the canonical tree,
// guided by the input shape. Keys the shape does not describe are ignored,
// as AWS does. Scalars are converted to their JSON types; the checker
// validates them afterwards. key is the wire key so far ("Tags.member.1"),
// path the member path for messages ("tags.1.member"; for ec2Query, whose
// messages name parameters as sent, the key).
type queryDecoder struct {
	api *model.API
	// ec2 applies ec2Query's rules: members named by ec2Key, every list
	// flattened (Name.1, Name.2).
	ec2 bool
	err *typeError // the first unconvertible value
}

func (q *queryDecoder) structure(f form, key, path string, s *model.Shape) map[string]any {
	out := map[string]any{}
	for name, ref := range s.Members {
		ms := q.api.Shapes[ref.Shape]
		if ms == nil {
			continue
		}
		wire := name
		switch {
		case q.ec2:
			wire = ec2Key(name, ref)
		case ms.Type == "list" && (ref.Flattened || ms.Flattened) && ms.Member != nil && ms.Member.LocationName != "":
			wire = ms.Member.LocationName // a flattened list is named by its member
		case ref.LocationName != "":
			wire = ref.LocationName
		}
		if key != "" {
			wire = key + "." + wire
		}
		p := wire
		if !q.ec2 {
			p = memberPath(path, name)
		}
		if v, ok := q.value(f, wire, p, ref, ms); ok {
			out[jsonName(name, ref)] = v
		}
	}
	return out
}

func (q *queryDecoder) value(f form, key, path string, ref *model.ShapeRef, s *model.Shape) (any, bool) {
	if s.Type == "structure" || s.Type == "list" || s.Type == "map" {
		if !f.has(key) {
			return nil, false
		}
		sub := f.under(key)
		switch s.Type {
		case "list":
			return q.list(sub, key, path, ref, s), true
		case "map":
			return q.mapValue(sub, key, path, ref, s), true
		}
		return q.structure(sub, key, path, s), true
	}
	raw, ok := f.lookup(key)
	if !ok {
		return nil, false
	}
	v, err := queryScalar(s, raw)
	if err != nil {
		if q.err == nil {
			q.err = &typeError{path, raw, err.Error()}
		}
		return nil, false
	}
	return v, true
}

// list reads Name.member.N (Name.N when flattened, as every ec2Query list
// is); "Name=" alone is the empty list.
func (q *queryDecoder) list(f form, key, path string, ref *model.ShapeRef, s *model.Shape) []any {
	if !q.ec2 && !ref.Flattened && !s.Flattened {
		name := "member"
		if s.Member != nil && s.Member.LocationName != "" {
			name = s.Member.LocationName
		}
		key += "." + name
	}
	out := []any{}
	ms := q.api.Shapes[shapeName(s.Member)]
	if ms == nil {
		return out
	}
	for _, idx := range f.indices(key) {
		p := key + "." + idx
		if !q.ec2 {
			p = path + "." + idx + ".member"
		}
		if v, ok := q.value(f, key+"."+idx, p, s.Member, ms); ok {
			out = append(out, v)
		}
	}
	return out
}

// mapValue reads Name.entry.N.key / Name.entry.N.value (Name.N.key when
// flattened).
func (q *queryDecoder) mapValue(f form, key, path string, ref *model.ShapeRef, s *model.Shape) map[string]any {
	if !ref.Flattened && !s.Flattened {
		key += ".entry"
	}
	out := map[string]any{}
	vs := q.api.Shapes[shapeName(s.Value)]
	if vs == nil {
		return out
	}
	keyName, valueName := "key", "value"
	if s.Key != nil && s.Key.LocationName != "" {
		keyName = s.Key.LocationName
	}
	if s.Value.LocationName != "" {
		valueName = s.Value.LocationName
	}
	for _, idx := range f.indices(key) {
		entry := key + "." + idx
		k, ok := f.lookup(entry + "." + keyName)
		if !ok {
			continue
		}
		if v, ok := q.value(f, entry+"."+valueName, path+"."+k, s.Value, vs); ok {
			out[k] = v
		}
	}
	return out
}

// queryScalar converts one awsQuery value to its canonical JSON form. The
// error names the type that was expected.
func queryScalar(s *model.Shape, raw string) (any, error) {
	switch s.Type {
	case "integer", "long":
		bits := 32
		if s.Type == "long" {
			bits = 64
		}
		i, err := strconv.ParseInt(raw, 10, bits)
		if err != nil {
			return nil, errors.New("an integer")
		}
		return json.Number(strconv.FormatInt(i, 10)), nil
	case "float", "double":
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, errors.New("a number")
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
	case "boolean":
		switch {
		case strings.EqualFold(raw, "true"):
			return true, nil
		case strings.EqualFold(raw, "false"):
			return false, nil
		}
		return nil, errors.New("a boolean")
	case "timestamp":
		quoted, _ := json.Marshal(raw)
		var ts awsapi.Timestamp
		if err := ts.UnmarshalJSON(quoted); err != nil {
			return nil, errors.New("a timestamp")
		}
		epoch, _ := ts.MarshalJSON()
		return json.Number(epoch), nil
	}
	return raw, nil
}
