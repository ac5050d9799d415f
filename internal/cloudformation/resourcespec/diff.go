package resourcespec

import (
	"encoding/json"
	"math/big"
	"sort"
	"strconv"
	"strings"
)

// Recreation is a change set's RequiresRecreation for a changed property.
type Recreation string

// The values of RequiresRecreation.
const (
	RecreationNever         Recreation = "Never"
	RecreationConditionally Recreation = "Conditionally"
	RecreationAlways        Recreation = "Always"
)

// Replacement is a change set's Replacement for a modified resource.
type Replacement string

// The values of Replacement.
const (
	ReplacementTrue        Replacement = "True"
	ReplacementFalse       Replacement = "False"
	ReplacementConditional Replacement = "Conditional"
)

// Change set target attributes: a resource's tags are reported apart from
// its other properties.
const (
	AttributeProperties = "Properties"
	AttributeTags       = "Tags"
)

// ChangedProperty is a top-level property whose value an update changes,
// in the terms of a change set's ResourceTargetDefinition.
type ChangedProperty struct {
	Name               string
	Attribute          string // AttributeProperties or AttributeTags
	RequiresRecreation Recreation
}

// Diff is what updating a resource from one set of properties to another
// takes.
type Diff struct {
	// Replace is whether berth must create a new resource and delete the
	// old one rather than update it in place.
	Replace bool
	// Replacement is the change set's Replacement: True if a change always
	// recreates the resource, Conditional if one may, False otherwise.
	Replacement Replacement
	// Changed lists the changed top-level properties, sorted by name.
	Changed []ChangedProperty
}

// Diff compares a resource's normalized properties before and after an
// update. A property added or removed counts as changed.
//
// A property the specification marks causesReplacement "yes" always
// recreates the resource, as does a change to a nested property so marked
// (such as a service discovery service's DnsConfig.NamespaceId). "maybe",
// a replacement under conditions the specification does not encode, is
// reported as Conditionally and applied in place, except where the
// specification's documentation states the condition; see
// conditionalReplacements.
func (t *Type) Diff(oldProps, newProps map[string]any) Diff {
	names := map[string]struct{}{}
	for k := range oldProps {
		names[k] = struct{}{}
	}
	for k := range newProps {
		names[k] = struct{}{}
	}
	sorted := make([]string, 0, len(names))
	for k := range names {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)

	d := Diff{Replacement: ReplacementFalse, Changed: []ChangedProperty{}}
	strongest := never
	for _, name := range sorted {
		oldV, newV := oldProps[name], newProps[name]
		if equal(oldV, newV) {
			continue
		}
		level := never
		if p := t.properties[name]; p != nil {
			level = max(p.replaces, nestedRecreation(p.schema, oldV, newV))
		}
		switch level {
		case always:
			d.Replace = true
		case conditionally:
			if rule := conditionalReplacements[t.name+"."+name]; rule != nil && rule(oldV, newV) {
				d.Replace = true
			}
		}
		strongest = max(strongest, level)
		attr := AttributeProperties
		if name == t.tagProperty {
			attr = AttributeTags
		}
		d.Changed = append(d.Changed, ChangedProperty{Name: name, Attribute: attr, RequiresRecreation: level.String()})
	}
	switch strongest {
	case always:
		d.Replacement = ReplacementTrue
	case conditionally:
		d.Replacement = ReplacementConditional
	}
	return d
}

func (r recreation) String() Recreation {
	switch r {
	case always:
		return RecreationAlways
	case conditionally:
		return RecreationConditionally
	}
	return RecreationNever
}

// conditionalReplacements decide, for "maybe" properties whose condition
// the specification documents, whether a change replaces the resource.
// Keys are "ResourceType.Property"; the functions get the old and new
// values, either of which may be absent (nil).
var conditionalReplacements = map[string]func(oldV, newV any) bool{
	// The specification: "Updating InstanceTenancy requires no replacement
	// only if you are updating its value from dedicated to default.
	// Updating InstanceTenancy from default to dedicated requires
	// replacement." Absent is default.
	"AWS::EC2::VPC.InstanceTenancy": func(_, newV any) bool { return newV == "dedicated" },
}

// nestedRecreation is the strongest update behaviour among the nested
// properties that differ between two values of a schema. Array items are
// compared by position, and a missing item or object is compared as
// absent, so that adding a nested object whose properties replace the
// resource replaces it too.
func nestedRecreation(s *schema, oldV, newV any) recreation {
	if equal(oldV, newV) {
		return never
	}
	level := never
	switch s.kind {
	case KindObject, KindTag:
		oldM, _ := oldV.(map[string]any)
		newM, _ := newV.(map[string]any)
		for _, name := range s.object.names {
			p := s.object.properties[name]
			o, n := oldM[name], newM[name]
			if equal(o, n) {
				continue
			}
			level = max(level, p.replaces, nestedRecreation(p.schema, o, n))
		}
	case KindArray:
		oldL, _ := oldV.([]any)
		newL, _ := newV.([]any)
		for i := range max(len(oldL), len(newL)) {
			var o, n any
			if i < len(oldL) {
				o = oldL[i]
			}
			if i < len(newL) {
				n = newL[i]
			}
			level = max(level, nestedRecreation(s.element, o, n))
		}
	case KindMap:
		oldM, _ := oldV.(map[string]any)
		newM, _ := newV.(map[string]any)
		for k, o := range oldM {
			level = max(level, nestedRecreation(s.element, o, newM[k]))
		}
		for k, n := range newM {
			if _, ok := oldM[k]; !ok {
				level = max(level, nestedRecreation(s.element, nil, n))
			}
		}
	case KindUnion:
		for _, m := range s.union {
			level = max(level, nestedRecreation(m, oldV, newV))
		}
	}
	return level
}

// equal compares normalized values; numbers compare by value, so "1.0"
// and "1" are the same.
func equal(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, av := range a {
			bv, ok := b[k]
			if !ok || !equal(av, bv) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !equal(a[i], b[i]) {
				return false
			}
		}
		return true
	case json.Number:
		b, ok := b.(json.Number)
		if !ok {
			return false
		}
		if a == b {
			return true
		}
		return sameNumber(a, b)
	case string, bool, nil:
		return a == b
	}
	return false
}

// sameNumber compares two numbers exactly, or as float64s where an
// exponent would make exact arithmetic costly.
func sameNumber(a, b json.Number) bool {
	if strings.ContainsAny(string(a)+string(b), "eE") {
		fa, errA := strconv.ParseFloat(string(a), 64)
		fb, errB := strconv.ParseFloat(string(b), 64)
		return errA == nil && errB == nil && fa == fb
	}
	ra, okA := new(big.Rat).SetString(string(a))
	rb, okB := new(big.Rat).SetString(string(b))
	return okA && okB && ra.Cmp(rb) == 0
}
