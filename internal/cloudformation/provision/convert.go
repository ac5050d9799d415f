package provision

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/berth/berth/internal/awsapi/model"
)

// apiInput turns resource properties into an API call's input: each
// property becomes the member of the input shape of the same name, in any
// case (CloudFormation's ContainerDefinitions is ECS's
// containerDefinitions), recursively through structures and lists; a map's
// keys are the user's and stay as written. Scalars take the member's type
// (CloudFormation's strings "512" and numbers are both accepted where the
// API wants the other). renames maps a property path ("PlacementStrategies",
// "NetworkConfiguration.AwsvpcConfiguration") to the member it feeds when
// the names differ; skip lists properties the provisioner applies itself.
// A property the API has no member for is an error: berth would otherwise
// drop a user's setting without a word.
func apiInput(api *model.API, operation string, props map[string]any, renames map[string]string, skip ...string) (map[string]any, error) {
	op := api.Operations[operation]
	if op == nil || op.Input == nil {
		return nil, fmt.Errorf("provision: %s has no operation %s", api.Name, operation)
	}
	skipped := map[string]bool{}
	for _, s := range skip {
		skipped[s] = true
	}
	c := converter{api: api, renames: renames, skipped: skipped}
	out, err := c.structure("", api.Shapes[op.Input.Shape], props)
	if err != nil {
		return nil, err
	}
	return out.(map[string]any), nil
}

type converter struct {
	api     *model.API
	renames map[string]string
	skipped map[string]bool
}

func (c converter) structure(path string, s *model.Shape, v any) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("property %s: want an object, got %s", orTop(path), describe(v))
	}
	if s.Document {
		return m, nil
	}
	out := map[string]any{}
	for key, val := range m {
		p := join(path, key)
		if c.skipped[p] || val == nil {
			continue
		}
		member := c.renames[p]
		if member == "" {
			member = memberNamed(s, key)
		}
		ref := s.Members[member]
		if ref == nil {
			return nil, fmt.Errorf("berth does not support the property %s yet", p)
		}
		conv, err := c.value(p, c.api.Shapes[ref.Shape], val)
		if err != nil {
			return nil, err
		}
		out[member] = conv
	}
	return out, nil
}

func (c converter) value(path string, s *model.Shape, v any) (any, error) {
	switch s.Type {
	case "structure":
		return c.structure(path, s, v)
	case "list":
		l, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("property %s: want a list, got %s", path, describe(v))
		}
		out := make([]any, 0, len(l))
		for _, item := range l {
			conv, err := c.value(path, c.api.Shapes[s.Member.Shape], item)
			if err != nil {
				return nil, err
			}
			out = append(out, conv)
		}
		return out, nil
	case "map":
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("property %s: want an object, got %s", path, describe(v))
		}
		out := map[string]any{}
		for k, item := range m {
			conv, err := c.value(path+"."+k, c.api.Shapes[s.Value.Shape], item)
			if err != nil {
				return nil, err
			}
			out[k] = conv
		}
		return out, nil
	case "string":
		switch x := v.(type) {
		case json.Number:
			return string(x), nil
		case bool:
			return fmt.Sprint(x), nil
		case map[string]any, []any:
			// A JSON document held in a string member (a policy).
			b, err := json.Marshal(x)
			return string(b), err
		}
	case "integer", "long", "float", "double":
		if x, ok := v.(string); ok {
			return json.Number(x), nil
		}
	case "boolean":
		if x, ok := v.(string); ok {
			return strings.EqualFold(x, "true"), nil
		}
	}
	return v, nil
}

// memberNamed is the member of s whose name is key in any case, or "".
func memberNamed(s *model.Shape, key string) string {
	if _, ok := s.Members[key]; ok {
		return key
	}
	for name := range s.Members {
		if strings.EqualFold(name, key) {
			return name
		}
	}
	return ""
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orTop(path string) string {
	if path == "" {
		return "Properties"
	}
	return path
}

func describe(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	}
	return fmt.Sprintf("%v", v)
}
