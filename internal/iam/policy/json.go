package policy

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
)

type jsonKind uint8

const (
	jsonNull jsonKind = iota
	jsonBool
	jsonNumber
	jsonString
	jsonArray
	jsonObject
)

// jsonValue is a decoded JSON value. Objects keep their members in order
// and a name may appear once: IAM's grammar forbids repeating a key, which
// decoding into a map would silently merge.
// UNVERIFIED: that IAM reports a repeated key as a syntax error.
type jsonValue struct {
	kind    jsonKind
	text    string // a string's value, a number's literal, "true" or "false"
	items   []*jsonValue
	members []jsonMember
}

type jsonMember struct {
	name  string
	value *jsonValue
}

// maxJSONDepth bounds nesting; a policy needs six levels, and the bound
// keeps hostile input from exhausting the stack.
const maxJSONDepth = 32

var errJSON = errors.New("malformed JSON")

func decodeJSON(text string) (*jsonValue, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errJSON // something follows the document
	}
	return v, nil
}

func decodeValue(dec *json.Decoder, depth int) (*jsonValue, error) {
	if depth > maxJSONDepth {
		return nil, errJSON
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case string:
		return &jsonValue{kind: jsonString, text: t}, nil
	case json.Number:
		return &jsonValue{kind: jsonNumber, text: string(t)}, nil
	case bool:
		if t {
			return &jsonValue{kind: jsonBool, text: "true"}, nil
		}
		return &jsonValue{kind: jsonBool, text: "false"}, nil
	case nil:
		return &jsonValue{kind: jsonNull}, nil
	case json.Delim:
		if t == '[' {
			v := &jsonValue{kind: jsonArray}
			for dec.More() {
				item, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				v.items = append(v.items, item)
			}
			_, err := dec.Token() // ]
			return v, err
		}
		v := &jsonValue{kind: jsonObject}
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return nil, err
			}
			name, _ := tok.(string)
			if seen[name] {
				return nil, errJSON
			}
			seen[name] = true
			value, err := decodeValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			v.members = append(v.members, jsonMember{name, value})
		}
		_, err := dec.Token() // }
		return v, err
	}
	return nil, errJSON
}
