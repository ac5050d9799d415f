package resourcespec

import (
	"fmt"
	"sort"

	"github.com/berth/berth/internal/cloudformation/resourcespec/specfile"
)

// The resolved schema Normalize and Diff walk.

type object struct {
	properties map[string]*property
	names      []string // sorted
	required   []string // sorted
}

type property struct {
	schema   *schema
	required bool
	replaces recreation
}

type schema struct {
	kind    Kind
	element *schema   // array, map
	object  *object   // object, tag
	union   []*schema // union
	enum    []any     // string or json.Number; empty: any value
}

// recreation orders the update behaviours so the strongest wins.
type recreation int

const (
	never recreation = iota
	conditionally
	always
)

// tagObject is the CloudFormation Tag: a Key and a Value, both required,
// as the template reference's "Tag" property type documents.
var tagObject = newObject(map[string]*property{
	"Key":   {schema: &schema{kind: KindString}, required: true},
	"Value": {schema: &schema{kind: KindString}, required: true},
})

func newObject(props map[string]*property) *object {
	o := &object{properties: props}
	for name, p := range props {
		o.names = append(o.names, name)
		if p.required {
			o.required = append(o.required, name)
		}
	}
	sort.Strings(o.names)
	sort.Strings(o.required)
	return o
}

type resolver struct {
	defs    map[string]*specfile.Object
	objects map[string]*object
}

func (r *resolver) fill(o *object, where string, defs map[string]*specfile.Property) error {
	props := make(map[string]*property, len(defs))
	for name, d := range defs {
		at := where + "." + name
		if d == nil || d.Type == nil {
			return fmt.Errorf("%s has no type", at)
		}
		s, err := r.schema(at, d.Type)
		if err != nil {
			return err
		}
		p := &property{schema: s, required: d.Required}
		switch d.Replaces {
		case "":
		case "maybe":
			p.replaces = conditionally
		case "yes":
			p.replaces = always
		default:
			return fmt.Errorf("%s: replacement %q", at, d.Replaces)
		}
		props[name] = p
	}
	*o = *newObject(props)
	return nil
}

func (r *resolver) schema(at string, d *specfile.Type) (*schema, error) {
	s := &schema{kind: Kind(d.Kind), enum: d.Enum}
	switch s.kind {
	case KindString, KindDateTime, KindInteger, KindNumber, KindBoolean, KindJSON, KindNull:
	case KindTag:
		s.object = tagObject
	case KindArray, KindMap:
		if d.Element == nil {
			return nil, fmt.Errorf("%s: %s without element", at, d.Kind)
		}
		el, err := r.schema(at, d.Element)
		if err != nil {
			return nil, err
		}
		s.element = el
	case KindObject:
		o, err := r.object(d.Ref)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", at, err)
		}
		s.object = o
	case KindUnion:
		for _, m := range d.Union {
			ms, err := r.schema(at, m)
			if err != nil {
				return nil, err
			}
			s.union = append(s.union, ms)
		}
		if len(s.union) == 0 {
			return nil, fmt.Errorf("%s: empty union", at)
		}
	default:
		return nil, fmt.Errorf("%s: kind %q", at, d.Kind)
	}
	return s, nil
}

// object resolves a type definition once, so that definitions referencing
// themselves resolve to a cycle rather than recursing forever.
func (r *resolver) object(key string) (*object, error) {
	if o, ok := r.objects[key]; ok {
		return o, nil
	}
	def := r.defs[key]
	if def == nil {
		return nil, fmt.Errorf("no type definition %q", key)
	}
	o := &object{}
	r.objects[key] = o
	if err := r.fill(o, key, def.Properties); err != nil {
		return nil, err
	}
	return o, nil
}
