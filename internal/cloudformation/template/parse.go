package template

import (
	"bytes"
	"encoding/json"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// shortForms maps each short-form YAML tag to the key of its long form.
var shortForms = map[string]string{
	"!Ref":          "Ref",
	"!Condition":    "Condition",
	"!GetAtt":       "Fn::GetAtt",
	"!Sub":          "Fn::Sub",
	"!Join":         "Fn::Join",
	"!Select":       "Fn::Select",
	"!Split":        "Fn::Split",
	"!If":           "Fn::If",
	"!Equals":       "Fn::Equals",
	"!And":          "Fn::And",
	"!Or":           "Fn::Or",
	"!Not":          "Fn::Not",
	"!FindInMap":    "Fn::FindInMap",
	"!GetAZs":       "Fn::GetAZs",
	"!Base64":       "Fn::Base64",
	"!Cidr":         "Fn::Cidr",
	"!ImportValue":  "Fn::ImportValue",
	"!Transform":    "Fn::Transform",
	"!ToJsonString": "Fn::ToJsonString",
	"!Length":       "Fn::Length",
}

func formatError(msg string, args ...any) error {
	return invalidf("Template format error: "+msg, args...)
}

// parseDocument turns a template body into a node tree. JSON bodies go
// through encoding/json rather than the YAML parser so that JSON's rules
// (tabs, escapes) apply to them exactly.
func parseDocument(body []byte) (*yaml.Node, error) {
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")))
	if len(trimmed) > 0 && trimmed[0] == '{' {
		n, err := parseJSON(trimmed)
		if err != nil {
			return nil, formatError("JSON not well-formed.")
		}
		return n, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(body, &doc); err != nil {
		return nil, yamlError(err)
	}
	if len(doc.Content) == 0 {
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}, nil
	}
	return doc.Content[0], nil
}

var yamlErrorLine = regexp.MustCompile(`line (\d+)`)

// yamlError words a YAML syntax error as CloudFormation does. yaml.v3 reports
// only the line of a syntax error, so the column is left out.
func yamlError(err error) error {
	if m := yamlErrorLine.FindStringSubmatch(err.Error()); m != nil {
		return formatError("YAML not well-formed. (line %s)", m[1]) // UNVERIFIED: CloudFormation also gives a column
	}
	return formatError("YAML not well-formed.")
}

func parseJSON(body []byte) (*yaml.Node, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	n, err := jsonNode(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalid("data after the top-level value")
	}
	return n, nil
}

// jsonNode reads one JSON value into the same node tree the YAML parser
// builds. A repeated key replaces the earlier value, as in most JSON parsers.
func jsonNode(dec *json.Decoder) (*yaml.Node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok := tok.(type) {
	case json.Delim:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if tok == '{' {
			n = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		}
		for dec.More() {
			if n.Kind == yaml.SequenceNode {
				item, err := jsonNode(dec)
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, item)
				continue
			}
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			key, _ := k.(string)
			value, err := jsonNode(dec)
			if err != nil {
				return nil, err
			}
			replaced := false
			for i := 0; i < len(n.Content); i += 2 {
				if n.Content[i].Value == key {
					n.Content[i+1], replaced = value, true
				}
			}
			if !replaced {
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, value)
			}
		}
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		return n, nil
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: tok}, nil
	case json.Number:
		tag := "!!int"
		if strings.ContainsAny(string(tok), ".eE") {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: string(tok)}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(tok)}, nil
	default:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	}
}

// notWellFormed reports a YAML construct CloudFormation rejects though the
// YAML parser accepts it.
func notWellFormed(n *yaml.Node) error {
	return formatError("YAML not well-formed. (line %d, column %d)", n.Line, n.Column) // UNVERIFIED
}

// toValue converts a node to the package's value representation (see the
// package comment), rewriting short-form tags to their long forms.
func toValue(n *yaml.Node) (any, error) {
	if n.Kind == yaml.AliasNode {
		return toValue(n.Alias)
	}
	if fn, ok := shortForms[n.Tag]; ok {
		if n.Kind == yaml.ScalarNode {
			if fn == "Fn::GetAtt" {
				if id, attr, ok := strings.Cut(n.Value, "."); ok {
					return map[string]any{fn: []any{id, attr}}, nil
				}
			}
			return map[string]any{fn: n.Value}, nil
		}
		untagged := *n
		untagged.Tag = ""
		arg, err := toValue(&untagged)
		if err != nil {
			return nil, err
		}
		return map[string]any{fn: arg}, nil
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") && n.Tag != "!" {
		return nil, notWellFormed(n)
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			if _, dup := m[key]; dup {
				return nil, notWellFormed(n.Content[i])
			}
			v, err := toValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[key] = v
		}
		return m, nil
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := toValue(c)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return l, nil
	}
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, notWellFormed(n)
		}
		return b, nil
	case "!!int":
		return intNumber(n.Value), nil
	case "!!float":
		if strings.Contains(strings.ToLower(n.Value), "inf") || strings.Contains(strings.ToLower(n.Value), "nan") {
			return n.Value, nil
		}
		return json.Number(n.Value), nil
	}
	return n.Value, nil
}

// intNumber keeps a decimal integer's text and rewrites YAML's hexadecimal,
// octal and binary forms in decimal.
func intNumber(text string) any {
	digits := strings.TrimLeft(text, "+-")
	if strings.HasPrefix(digits, "0x") || strings.HasPrefix(digits, "0o") || strings.HasPrefix(digits, "0b") {
		if i, err := strconv.ParseInt(text, 0, 64); err == nil {
			return json.Number(strconv.FormatInt(i, 10))
		}
		return text
	}
	return json.Number(text)
}

// mappingPairs returns a mapping node's keys and value nodes in order, so
// that sections users see in template order keep it; ok is false when the
// node is not a mapping.
func mappingPairs(n *yaml.Node) (keys []string, values []*yaml.Node, ok bool, err error) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		return nil, nil, false, nil
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := n.Content[i].Value
		if seen[key] {
			return nil, nil, false, notWellFormed(n.Content[i])
		}
		seen[key] = true
		keys = append(keys, key)
		values = append(values, n.Content[i+1])
	}
	return keys, values, true, nil
}
