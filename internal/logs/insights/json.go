package insights

import (
	"encoding/json"
	"io"
	"strconv"
	"strings"
)

// maxJSONFields caps discovered fields per event. AWS documents 100 in older
// guides and 200 in current ones ("You can only parse JSON log events that
// include no more than 200 log event fields"); we follow the current figure.
// UNVERIFIED: which fields AWS keeps when a message has more; we keep the
// first ones in document order.
const maxJSONFields = 200

// discoverJSON returns the fields of a message that is a JSON object,
// flattened the way Logs Insights names them: nested objects joined with '.',
// array elements by index (a.items.0.id). Messages that are not a single
// valid JSON object yield no fields.
//
// UNVERIFIED: JSON null values and empty objects/arrays produce no field; a
// name starting with '@' gets an extra '@' (documented: "@example.com" is
// shown as "@@example.com"). Only whole-message JSON is discovered; AWS also
// finds a JSON fragment embedded in Lambda log lines, which we do not.
func discoverJSON(msg string) map[string]value {
	s := strings.TrimSpace(msg)
	if len(s) < 2 || s[0] != '{' {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	f := flattener{dec: dec, out: make(map[string]value)}
	if !f.object("") {
		return nil
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil // trailing data: not a JSON message
	}
	return f.out
}

type flattener struct {
	dec *json.Decoder
	out map[string]value
	n   int
}

func (f *flattener) add(name string, v value) {
	if f.n >= maxJSONFields {
		return
	}
	if strings.HasPrefix(name, "@") {
		name = "@" + name
	}
	if _, dup := f.out[name]; !dup {
		f.n++
	}
	f.out[name] = v
}

// object consumes the members of an object whose '{' was already read.
func (f *flattener) object(prefix string) bool {
	for {
		tok, err := f.dec.Token()
		if err != nil {
			return false
		}
		if tok == json.Delim('}') {
			return true
		}
		key, ok := tok.(string)
		if !ok {
			return false
		}
		if !f.value(prefix + key) {
			return false
		}
	}
}

func (f *flattener) array(prefix string) bool {
	for i := 0; ; i++ {
		if !f.dec.More() {
			tok, err := f.dec.Token()
			return err == nil && tok == json.Delim(']')
		}
		if !f.value(prefix + strconv.Itoa(i)) {
			return false
		}
	}
}

func (f *flattener) value(name string) bool {
	tok, err := f.dec.Token()
	if err != nil {
		return false
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			return f.object(name + ".")
		case '[':
			return f.array(name + ".")
		}
		return false
	case string:
		f.add(name, strVal(t))
	case json.Number:
		n, err := strconv.ParseFloat(string(t), 64)
		if err != nil && !isRangeErr(err) {
			return false
		}
		f.add(name, value{k: kNum, n: n, s: string(t)})
	case bool:
		if t {
			f.add(name, strVal("true"))
		} else {
			f.add(name, strVal("false"))
		}
	case nil:
		// null: no field.
	}
	return true
}
