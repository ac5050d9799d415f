package gateway

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"math"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/berth/berth/internal/awsapi/model"
)

// outputTree marshals a handler's output to the canonical JSON tree, which
// the encoders walk with the output shape so that the XML follows the
// model.
func outputTree(out any) (map[string]any, error) {
	if isNil(out) {
		return nil, nil
	}
	raw, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var tree map[string]any
	if err := dec.Decode(&tree); err != nil {
		return nil, err
	}
	return tree, nil
}

// encodeQueryResponse writes an awsQuery success response:
// <OpResponse xmlns=NS><OpResult>...</OpResult><ResponseMetadata>...
func encodeQueryResponse(svc *service, op *model.Operation, out any, requestID string) ([]byte, error) {
	tree, err := outputTree(out)
	if err != nil {
		return nil, err
	}
	e := &xmlEncoder{api: svc.Model}
	e.b.WriteString(xml.Header)
	e.b.WriteString("<" + op.Name + "Response")
	writeXMLNS(&e.b, svc.namespace)
	e.b.WriteString(">")
	if op.Output != nil {
		s := svc.Model.Shapes[op.Output.Shape]
		wrapper := op.Output.ResultWrapper
		if wrapper != "" {
			e.b.WriteString("<" + wrapper + ">")
		}
		if s != nil {
			e.members(s, tree)
		}
		if wrapper != "" {
			e.b.WriteString("</" + wrapper + ">")
		}
	}
	e.b.WriteString("<ResponseMetadata><RequestId>")
	escapeXML(&e.b, requestID)
	e.b.WriteString("</RequestId></ResponseMetadata></" + op.Name + "Response>")
	return e.b.Bytes(), nil
}

// encodeEC2Response writes an ec2Query success response: the output's
// members straight under <OpResponse xmlns=NS>, after a <requestId>, with
// neither a result wrapper nor ResponseMetadata.
func encodeEC2Response(svc *service, op *model.Operation, out any, requestID string) ([]byte, error) {
	tree, err := outputTree(out)
	if err != nil {
		return nil, err
	}
	e := &xmlEncoder{api: svc.Model}
	e.b.WriteString(xml.Header)
	e.b.WriteString("<" + op.Name + "Response")
	writeXMLNS(&e.b, svc.namespace)
	e.b.WriteString("><requestId>")
	escapeXML(&e.b, requestID)
	e.b.WriteString("</requestId>")
	if s := svc.Model.Shapes[shapeName(op.Output)]; s != nil {
		e.members(s, tree)
	}
	e.b.WriteString("</" + op.Name + "Response>")
	return e.b.Bytes(), nil
}

type xmlEncoder struct {
	api *model.API
	b   bytes.Buffer
}

// members writes a structure's members, sorted by member name for a
// stable document. Members the model does not know, and nulls, are left
// out. A member's tag is its JSON name, the key it has in the tree.
func (e *xmlEncoder) members(s *model.Shape, v any) {
	obj, _ := v.(map[string]any)
	names := make([]string, 0, len(obj))
	for name, ref := range s.Members {
		if obj[jsonName(name, ref)] != nil {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		ref := s.Members[name]
		ms := e.api.Shapes[ref.Shape]
		if ms == nil {
			continue
		}
		tag := jsonName(name, ref)
		value := obj[tag]
		flattened := ref.Flattened || ms.Flattened
		switch {
		case ms.Type == "list" && flattened:
			if ms.Member != nil && ms.Member.LocationName != "" {
				tag = ms.Member.LocationName
			}
			items, _ := value.([]any)
			for _, item := range items {
				e.element(tag, e.api.Shapes[shapeName(ms.Member)], item)
			}
		case ms.Type == "map" && flattened:
			e.entries(tag, ms, value)
		default:
			e.element(tag, ms, value)
		}
	}
}

// element writes <tag>value</tag>.
func (e *xmlEncoder) element(tag string, s *model.Shape, v any) {
	if v == nil || s == nil {
		return
	}
	e.b.WriteString("<" + tag + ">")
	switch s.Type {
	case "structure":
		e.members(s, v)
	case "list":
		name := "member"
		if s.Member != nil && s.Member.LocationName != "" {
			name = s.Member.LocationName
		}
		items, _ := v.([]any)
		ms := e.api.Shapes[shapeName(s.Member)]
		for _, item := range items {
			e.element(name, ms, item)
		}
	case "map":
		e.entries("entry", s, v)
	default:
		e.scalar(s, v)
	}
	e.b.WriteString("</" + tag + ">")
}

// entries writes each map entry as <tag><key>k</key><value>v</value></tag>.
func (e *xmlEncoder) entries(tag string, s *model.Shape, v any) {
	obj, _ := v.(map[string]any)
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	keyName, valueName := "key", "value"
	if s.Key != nil && s.Key.LocationName != "" {
		keyName = s.Key.LocationName
	}
	if s.Value != nil && s.Value.LocationName != "" {
		valueName = s.Value.LocationName
	}
	vs := e.api.Shapes[shapeName(s.Value)]
	for _, k := range keys {
		e.b.WriteString("<" + tag + "><" + keyName + ">")
		escapeXML(&e.b, k)
		e.b.WriteString("</" + keyName + ">")
		e.element(valueName, vs, obj[k])
		e.b.WriteString("</" + tag + ">")
	}
}

func (e *xmlEncoder) scalar(s *model.Shape, v any) {
	switch v := v.(type) {
	case string:
		escapeXML(&e.b, v)
	case bool:
		e.b.WriteString(strconv.FormatBool(v))
	case json.Number:
		if s.Type == "timestamp" {
			escapeXML(&e.b, queryTimestamp(s, v))
			return
		}
		escapeXML(&e.b, string(v))
	}
}

// queryTimestamp formats epoch seconds in the shape's timestamp format;
// awsQuery's and ec2Query's default is ISO-8601 with milliseconds.
func queryTimestamp(s *model.Shape, n json.Number) string {
	f, err := n.Float64()
	if err != nil {
		return string(n)
	}
	t := time.UnixMilli(int64(math.Round(f * 1000))).UTC()
	switch s.TimestampFormat {
	case "unixTimestamp":
		return string(n)
	case "rfc822":
		return t.Format(http.TimeFormat)
	}
	return t.Format("2006-01-02T15:04:05.000Z")
}
