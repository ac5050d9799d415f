package gateway

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/model"
)

// Every codec converts its wire form to one canonical tree: what
// encoding/json decodes a JSON document to (with UseNumber), keyed by
// model member names, timestamps as epoch seconds. The tree is validated
// against the model and then unmarshalled into the handler's typed input,
// whose json tags are the member names.

// decodeJSON decodes an awsJson1_1 body into the operation's typed input.
func decodeJSON(svc *service, op *model.Operation, body []byte) (any, error) {
	tree, err := parseJSONObject(body)
	if err != nil {
		return nil, err
	}
	return bindInput(svc, op, tree, true)
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
func bindInput(svc *service, op *model.Operation, tree any, jsonWire bool) (any, error) {
	c := &checker{api: svc.Model, byLocation: jsonWire}
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
	if svc.Protocol == awsapi.Query {
		return awsapi.Errorf("InvalidParameterValue", "%s", te.Error())
	}
	return awsapi.Errorf("SerializationException", "%s", te.Error())
}

// formNode is one dotted component of awsQuery keys:
// "Tags.member.1.Key=v" is root -> Tags -> member -> 1 -> Key(value v).
type formNode struct {
	value    string
	hasValue bool
	children map[string]*formNode
}

func buildFormTree(params []param) *formNode {
	root := &formNode{}
	for _, p := range params {
		n := root
		for part := range strings.SplitSeq(p.key, ".") {
			if n.children == nil {
				n.children = map[string]*formNode{}
			}
			child := n.children[part]
			if child == nil {
				child = &formNode{}
				n.children[part] = child
			}
			n = child
		}
		if !n.hasValue { // the first of repeated keys wins, as for Action
			n.value, n.hasValue = p.value, true
		}
	}
	return root
}

// decodeQuery decodes awsQuery parameters into the operation's typed input.
func decodeQuery(svc *service, op *model.Operation, params []param) (any, error) {
	q := &queryDecoder{api: svc.Model}
	tree := map[string]any{}
	if s := svc.Model.Shapes[shapeName(op.Input)]; s != nil {
		tree = q.structure(buildFormTree(params), s)
	}
	if q.err != nil {
		return nil, serializationError(svc, q.err)
	}
	return bindInput(svc, op, tree, false)
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
// validates them afterwards.
type queryDecoder struct {
	api  *model.API
	path []string
	err  *typeError
}

func (q *queryDecoder) structure(n *formNode, s *model.Shape) map[string]any {
	out := map[string]any{}
	for name, ref := range s.Members {
		ms := q.api.Shapes[ref.Shape]
		if ms == nil {
			continue
		}
		key := name
		if ref.LocationName != "" {
			key = ref.LocationName
		}
		if ms.Type == "list" && (ref.Flattened || ms.Flattened) && ms.Member != nil && ms.Member.LocationName != "" {
			key = ms.Member.LocationName // a flattened list is named by its member
		}
		child := n.children[key]
		if child == nil {
			continue
		}
		q.path = append(q.path, name)
		if v, ok := q.value(child, ref, ms); ok {
			out[name] = v
		}
		q.path = q.path[:len(q.path)-1]
	}
	return out
}

func (q *queryDecoder) value(n *formNode, ref *model.ShapeRef, s *model.Shape) (any, bool) {
	switch s.Type {
	case "structure":
		return q.structure(n, s), true
	case "list":
		return q.list(n, ref, s), true
	case "map":
		return q.mapValue(n, ref, s), true
	}
	if !n.hasValue {
		return nil, false
	}
	v, err := queryScalar(s, n.value)
	if err != nil && q.err == nil {
		path := ""
		for _, p := range q.path {
			path = memberPath(path, p)
		}
		q.err = &typeError{path, quote(n.value), err.Error()}
	}
	return v, err == nil
}

// list reads Name.member.N (or Name.N when flattened); "Name=" alone is
// the empty list.
func (q *queryDecoder) list(n *formNode, ref *model.ShapeRef, s *model.Shape) []any {
	items := n
	if !ref.Flattened && !s.Flattened {
		name := "member"
		if s.Member != nil && s.Member.LocationName != "" {
			name = s.Member.LocationName
		}
		items = n.children[name]
	}
	ms := q.api.Shapes[shapeName(s.Member)]
	out := []any{}
	if items == nil || ms == nil {
		return out
	}
	for _, child := range indexed(items) {
		if v, ok := q.value(child, s.Member, ms); ok {
			out = append(out, v)
		}
	}
	return out
}

// mapValue reads Name.entry.N.key / Name.entry.N.value (Name.N.key when
// flattened).
func (q *queryDecoder) mapValue(n *formNode, ref *model.ShapeRef, s *model.Shape) map[string]any {
	entries := n
	if !ref.Flattened && !s.Flattened {
		entries = n.children["entry"]
	}
	out := map[string]any{}
	vs := q.api.Shapes[shapeName(s.Value)]
	if entries == nil || vs == nil {
		return out
	}
	keyName, valueName := "key", "value"
	if s.Key != nil && s.Key.LocationName != "" {
		keyName = s.Key.LocationName
	}
	if s.Value.LocationName != "" {
		valueName = s.Value.LocationName
	}
	for _, entry := range indexed(entries) {
		k, v := entry.children[keyName], entry.children[valueName]
		if k == nil || !k.hasValue || v == nil {
			continue
		}
		if val, ok := q.value(v, s.Value, vs); ok {
			out[k.value] = val
		}
	}
	return out
}

// indexed returns the children named 1, 2, ... in numeric order; gaps are
// closed up and other names ignored.
func indexed(n *formNode) []*formNode {
	type item struct {
		i int
		n *formNode
	}
	var items []item
	for name, child := range n.children {
		i, ok := positiveInt(name)
		if ok {
			items = append(items, item{i, child})
		}
	}
	out := make([]*formNode, len(items))
	slices.SortFunc(items, func(a, b item) int { return cmp.Compare(a.i, b.i) })
	for i, it := range items {
		out[i] = it.n
	}
	return out
}

func positiveInt(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n > 0
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
