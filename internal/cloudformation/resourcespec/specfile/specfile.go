// Package specfile is the format of resourcespec's embedded
// spec.json.gz: what resourcespec/gen writes and resourcespec reads.
package specfile

// File is the whole file.
type File struct {
	// Package and Version name the published specification it came from.
	Package string `json:"package"`
	Version string `json:"version"`
	// Known lists every resource type the specification has.
	Known []string `json:"known"`
	// Resources are the types berth provisions, by name.
	Resources map[string]*Resource `json:"resources"`
	// Types are the property types they use, by id.
	Types map[string]*Object `json:"types"`
}

// Resource is one resource type.
type Resource struct {
	Properties        map[string]*Property `json:"properties"`
	Attributes        map[string]string    `json:"attributes,omitempty"`
	PrimaryIdentifier []string             `json:"primaryIdentifier,omitempty"`
	RefIdentifier     []string             `json:"refIdentifier,omitempty"`
	TagProperty       string               `json:"tagProperty,omitempty"`
}

// Object is a property type with properties of its own.
type Object struct {
	Properties map[string]*Property `json:"properties"`
}

// Property is one property.
type Property struct {
	Type     *Type  `json:"type"`
	Required bool   `json:"required,omitempty"`
	Replaces string `json:"replaces,omitempty"`
}

// Type is a property's type.
type Type struct {
	Kind    string  `json:"kind"`
	Element *Type   `json:"element,omitempty"`
	Ref     string  `json:"ref,omitempty"`
	Union   []*Type `json:"union,omitempty"`
	Enum    []any   `json:"enum,omitempty"`
}
