// Package resourcespec knows CloudFormation's resource types from AWS's
// published resource specification (the @aws-cdk/aws-service-spec npm
// package, built from the CloudFormation registry schemas), so that berth
// checks a template's resources the way CloudFormation does: which types
// exist, which properties and Fn::GetAtt attributes a type has, what their
// values must look like, and which property changes replace a resource.
//
// The specification is embedded as spec.json.gz, which
// scripts/update-cfn-resource-spec.sh regenerates. It names every type
// CloudFormation knows but defines only the types berth provisions, listed
// in provisioned.txt, to keep the binary small.
package resourcespec

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/berth/berth/internal/cloudformation/resourcespec/specfile"
)

//go:embed spec.json.gz
var specData []byte

// Kind is the kind of a property's or attribute's value.
type Kind string

// The kinds of value the specification uses. An object is a property type
// (a type definition) with named properties; a map has free-form keys and
// values of one kind; JSON is any JSON document, such as an IAM policy.
const (
	KindString   Kind = "string"
	KindInteger  Kind = "integer"
	KindNumber   Kind = "number"
	KindBoolean  Kind = "boolean"
	KindDateTime Kind = "date-time"
	KindJSON     Kind = "json"
	KindTag      Kind = "tag"
	KindNull     Kind = "null"
	KindArray    Kind = "array"
	KindMap      Kind = "map"
	KindObject   Kind = "object"
	KindUnion    Kind = "union"
)

// Type is the definition of a resource type berth provisions.
type Type struct {
	name string
	object
	attributes        map[string]Kind
	attributeNames    []string
	primaryIdentifier []string
	refIdentifier     []string
	tagProperty       string
}

// Name is the resource type, such as "AWS::ECS::Service".
func (t *Type) Name() string { return t.name }

// Attributes lists the names Fn::GetAtt accepts for the type, sorted. A
// name with dots ("VpcEncryptionControl.State") is one attribute, as the
// specification lists it.
func (t *Type) Attributes() []string { return slices.Clone(t.attributeNames) }

// HasAttribute reports whether Fn::GetAtt accepts the name.
func (t *Type) HasAttribute(name string) bool {
	_, ok := t.attributes[name]
	return ok
}

// AttributeKind is the kind of value Fn::GetAtt returns for the name, or ""
// if the type has no such attribute. It tells list attributes (such as a
// load balancer's SecurityGroups) from the usual strings.
func (t *Type) AttributeKind(name string) Kind { return t.attributes[name] }

// PrimaryIdentifier lists the properties or attributes that identify a
// resource of the type, as its registry schema's primaryIdentifier does.
func (t *Type) PrimaryIdentifier() []string { return slices.Clone(t.primaryIdentifier) }

// RefIdentifier lists what Ref returns for the type when the specification
// says so explicitly (cfnRefIdentifier: a few types whose Ref is not their
// primary identifier); it is empty otherwise, and PrimaryIdentifier holds.
func (t *Type) RefIdentifier() []string { return slices.Clone(t.refIdentifier) }

// TagProperty is the property holding the resource's tags, or "" if the
// type takes no tags. Change sets report its changes under the Tags
// attribute rather than Properties.
func (t *Type) TagProperty() string { return t.tagProperty }

// Properties lists the type's top-level property names, sorted.
func (t *Type) Properties() []string { return slices.Clone(t.names) }

// Known reports whether CloudFormation knows the resource type, whether or
// not berth provisions it.
func Known(resourceType string) bool {
	_, ok := load().known[resourceType]
	return ok
}

// Lookup returns the definition of a type berth provisions.
func Lookup(resourceType string) (*Type, bool) {
	t, ok := load().types[resourceType]
	return t, ok
}

// Provisioned lists the types with definitions, sorted.
func Provisioned() []string { return slices.Clone(load().provisioned) }

// Source names the npm package and version the embedded specification
// was generated from.
func Source() (pkg, version string) {
	c := load()
	return c.pkg, c.version
}

type catalog struct {
	pkg, version string
	known        map[string]struct{}
	types        map[string]*Type
	provisioned  []string
}

// load reads the embedded specification once. The file is part of the
// build, so a file that does not load is a build defect: it panics.
var load = sync.OnceValue(func() *catalog {
	c, err := parse(specData)
	if err != nil {
		panic("resourcespec: embedded spec.json.gz: " + err.Error())
	}
	return c
})

func parse(data []byte) (*catalog, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	var f specfile.File
	d := json.NewDecoder(zr)
	d.UseNumber()
	if err := d.Decode(&f); err != nil {
		return nil, err
	}
	c := &catalog{
		pkg:     f.Package,
		version: f.Version,
		known:   make(map[string]struct{}, len(f.Known)),
		types:   make(map[string]*Type, len(f.Resources)),
	}
	for _, name := range f.Known {
		c.known[name] = struct{}{}
	}
	r := &resolver{defs: f.Types, objects: map[string]*object{}}
	for name, def := range f.Resources {
		if _, ok := c.known[name]; !ok {
			return nil, fmt.Errorf("%s is defined but not known", name)
		}
		t := &Type{
			name:              name,
			attributes:        map[string]Kind{},
			primaryIdentifier: def.PrimaryIdentifier,
			refIdentifier:     def.RefIdentifier,
			tagProperty:       def.TagProperty,
		}
		if err := r.fill(&t.object, name, def.Properties); err != nil {
			return nil, err
		}
		for a, k := range def.Attributes {
			t.attributes[a] = Kind(k)
			t.attributeNames = append(t.attributeNames, a)
		}
		sort.Strings(t.attributeNames)
		c.types[name] = t
		c.provisioned = append(c.provisioned, name)
	}
	sort.Strings(c.provisioned)
	return c, nil
}
