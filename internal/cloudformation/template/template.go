package template

import (
	"encoding/json"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Template is a parsed and validated CloudFormation template. Parameters,
// Resources and Outputs keep template order, which is the order users see.
type Template struct {
	FormatVersion string
	Description   string
	Metadata      any
	Parameters    []*Parameter
	// Mappings is map name -> top-level key -> second-level key -> value.
	Mappings   map[string]map[string]map[string]any
	Conditions map[string]any
	// Transform is kept as written (a name, a list of names, or
	// AWS::Include maps); expanding it is the caller's business.
	Transform any
	Resources []*Resource
	Outputs   []*Output
	// Rules are kept as written; their assertions are not evaluated.
	Rules any

	resources  map[string]*Resource
	parameters map[string]*Parameter
	// dependencies holds each resource's dependencies over every branch of
	// every Fn::If, as CloudFormation checks for cycles before it knows
	// which conditions hold.
	dependencies map[string][]string
}

// Resource is one entry of the Resources section.
type Resource struct {
	LogicalID           string
	Type                string
	Properties          map[string]any
	DependsOn           []string
	Condition           string
	DeletionPolicy      string
	UpdateReplacePolicy string
	Metadata            any
	CreationPolicy      any
	UpdatePolicy        any
}

// Output is one entry of the Outputs section, unevaluated.
type Output struct {
	Name        string
	Value       any
	Description string
	Condition   string
	// ExportName is Export.Name, nil when the output is not exported.
	ExportName any
}

var (
	resourceKeys = []string{"Type", "Properties", "DependsOn", "Condition", "DeletionPolicy",
		"UpdateReplacePolicy", "Metadata", "CreationPolicy", "UpdatePolicy"}
	outputKeys    = []string{"Value", "Description", "Condition", "Export"}
	alphanumeric  = regexp.MustCompile(`^[A-Za-z0-9]+$`)
	pseudoNames   = []string{"AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition", "AWS::Region", "AWS::StackId", "AWS::StackName", "AWS::URLSuffix"}
	functionNames = []string{"Fn::Base64", "Fn::GetAtt", "Fn::GetAZs", "Fn::ImportValue", "Fn::Join", "Fn::Split",
		"Fn::FindInMap", "Fn::Select", "Ref", "Fn::Equals", "Fn::If", "Fn::Not", "Condition", "Fn::And", "Fn::Or",
		"Fn::Sub", "Fn::Cidr", "Fn::ToJsonString", "Fn::Length"}
)

// Parse reads a template body, YAML or JSON, and checks it as CloudFormation
// does before it creates anything: the sections, every resource's Type, every
// reference to a parameter, resource or condition, and dependency cycles.
func Parse(body []byte) (*Template, error) {
	root, err := parseDocument(body)
	if err != nil {
		return nil, err
	}
	keys, sections, ok, err := mappingPairs(root)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, formatError("unsupported structure.")
	}
	var unknown []string
	t := &Template{resources: map[string]*Resource{}, parameters: map[string]*Parameter{}}
	var resourcesNode, outputsNode, parametersNode *yaml.Node
	for i, key := range keys {
		n := sections[i]
		switch key {
		case "Resources":
			resourcesNode = n
		case "Outputs":
			outputsNode = n
		case "Parameters":
			parametersNode = n
		case "AWSTemplateFormatVersion", "Description", "Metadata", "Mappings", "Conditions", "Transform", "Rules":
			v, err := toValue(n)
			if err != nil {
				return nil, err
			}
			if err := t.setSection(key, v); err != nil {
				return nil, err
			}
		default:
			unknown = append(unknown, key)
		}
	}
	if len(unknown) > 0 {
		return nil, formatError("Invalid template property or properties [%s]", strings.Join(unknown, ", "))
	}
	if parametersNode != nil {
		if err := t.decodeParameters(parametersNode); err != nil {
			return nil, err
		}
	}
	if resourcesNode == nil {
		return nil, formatError("At least one Resources member must be defined.")
	}
	if err := t.decodeResources(resourcesNode); err != nil {
		return nil, err
	}
	if outputsNode != nil {
		if err := t.decodeOutputs(outputsNode); err != nil {
			return nil, err
		}
	}
	if err := t.validate(); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Template) setSection(key string, v any) error {
	switch key {
	case "AWSTemplateFormatVersion":
		s, ok := scalarString(v)
		if !ok || s != "2010-09-09" {
			return formatError("'%v' is not a supported AWSTemplateFormatVersion value.", v) // UNVERIFIED
		}
		t.FormatVersion = s
	case "Description":
		s, ok := v.(string)
		if !ok {
			return formatError("Every Description member must be a string.") // UNVERIFIED
		}
		t.Description = s
	case "Metadata":
		t.Metadata = v
	case "Transform":
		t.Transform = v
	case "Rules":
		t.Rules = v
	case "Conditions":
		if v == nil {
			return nil
		}
		m, ok := v.(map[string]any)
		if !ok {
			return formatError("Conditions must be an object.") // UNVERIFIED
		}
		t.Conditions = m
	case "Mappings":
		return t.setMappings(v)
	}
	return nil
}

func (t *Template) setMappings(v any) error {
	if v == nil {
		return nil
	}
	maps, ok := v.(map[string]any)
	if !ok {
		return formatError("Mappings must be an object.") // UNVERIFIED
	}
	t.Mappings = map[string]map[string]map[string]any{}
	for name, m := range maps {
		top, ok := m.(map[string]any)
		if !ok {
			return formatError("Every Mappings member %s must be a map", name) // UNVERIFIED
		}
		t.Mappings[name] = map[string]map[string]any{}
		for key, second := range top {
			attrs, ok := second.(map[string]any)
			if !ok {
				return formatError("Every Mappings attribute must be a String or a List.") // UNVERIFIED
			}
			t.Mappings[name][key] = attrs
		}
	}
	return nil
}

func (t *Template) decodeResources(n *yaml.Node) error {
	ids, nodes, ok, err := mappingPairs(n)
	if err != nil {
		return err
	}
	if !ok && n.ShortTag() != "!!null" {
		return formatError("Resources must be an object.") // UNVERIFIED
	}
	if len(ids) == 0 {
		return formatError("At least one Resources member must be defined.")
	}
	for i, id := range ids {
		if !alphanumeric.MatchString(id) {
			return formatError("Resource name %s is non alphanumeric.", id)
		}
		v, err := toValue(nodes[i])
		if err != nil {
			return err
		}
		r, err := decodeResource(id, v)
		if err != nil {
			return err
		}
		t.Resources = append(t.Resources, r)
		t.resources[id] = r
	}
	return nil
}

func decodeResource(id string, v any) (*Resource, error) {
	m, _ := v.(map[string]any)
	typ, ok := m["Type"].(string)
	if !ok || typ == "" {
		return nil, formatError("Every Resources object must contain a Type member.")
	}
	for _, key := range sortedKeys(m) {
		if !slices.Contains(resourceKeys, key) {
			return nil, formatError("Invalid template resource property '%s'", key) // UNVERIFIED
		}
	}
	r := &Resource{LogicalID: id, Type: typ, Properties: map[string]any{}, Metadata: m["Metadata"],
		CreationPolicy: m["CreationPolicy"], UpdatePolicy: m["UpdatePolicy"]}
	if p, ok := m["Properties"]; ok && p != nil {
		props, ok := p.(map[string]any)
		if !ok {
			return nil, formatError("[/Resources/%s/Properties] must be an object.", id) // UNVERIFIED
		}
		r.Properties = props
	}
	switch d := m["DependsOn"].(type) {
	case nil:
	case string:
		r.DependsOn = []string{d}
	case []any:
		for _, item := range d {
			s, ok := item.(string)
			if !ok {
				return nil, formatError("DependsOn must be a string or list of strings.") // UNVERIFIED
			}
			r.DependsOn = append(r.DependsOn, s)
		}
	default:
		return nil, formatError("DependsOn must be a string or list of strings.") // UNVERIFIED
	}
	for key, field := range map[string]*string{"Condition": &r.Condition, "DeletionPolicy": &r.DeletionPolicy, "UpdateReplacePolicy": &r.UpdateReplacePolicy} {
		if v, ok := m[key]; ok {
			s, ok := v.(string)
			if !ok {
				return nil, formatError("[/Resources/%s/%s] must be a string.", id, key) // UNVERIFIED
			}
			*field = s
		}
	}
	return r, nil
}

func (t *Template) decodeOutputs(n *yaml.Node) error {
	names, nodes, ok, err := mappingPairs(n)
	if err != nil {
		return err
	}
	if !ok && n.ShortTag() != "!!null" {
		return formatError("Outputs must be an object.") // UNVERIFIED
	}
	for i, name := range names {
		if !alphanumeric.MatchString(name) {
			return formatError("Output name %s is non alphanumeric.", name) // UNVERIFIED
		}
		v, err := toValue(nodes[i])
		if err != nil {
			return err
		}
		m, _ := v.(map[string]any)
		value, ok := m["Value"]
		if !ok {
			return formatError("Every Outputs member must contain a Value object") // UNVERIFIED
		}
		for _, key := range sortedKeys(m) {
			if !slices.Contains(outputKeys, key) {
				return formatError("Invalid outputs property : [%s]", key) // UNVERIFIED
			}
		}
		o := &Output{Name: name, Value: value}
		if d, ok := m["Description"]; ok {
			if o.Description, ok = d.(string); !ok {
				return formatError("Every Description member in Outputs must be a string.") // UNVERIFIED
			}
		}
		if c, ok := m["Condition"]; ok {
			if o.Condition, ok = c.(string); !ok {
				return formatError("[/Outputs/%s/Condition] must be a string.", name) // UNVERIFIED
			}
		}
		if e, ok := m["Export"]; ok {
			export, _ := e.(map[string]any)
			if o.ExportName, ok = export["Name"]; !ok {
				return formatError("Output %s is malformed. The Name field of every Export member must be specified and consist only of alphanumeric characters, colons, or hyphens.", name) // UNVERIFIED
			}
		}
		t.Outputs = append(t.Outputs, o)
	}
	return nil
}

// Resource returns the resource with the given logical id.
func (t *Template) Resource(logicalID string) (*Resource, bool) {
	r, ok := t.resources[logicalID]
	return r, ok
}

// Parameter returns the parameter declaration with the given name.
func (t *Template) Parameter(name string) (*Parameter, bool) {
	p, ok := t.parameters[name]
	return p, ok
}

// Dependencies returns the logical ids a resource depends on through Ref,
// Fn::GetAtt, Fn::Sub and DependsOn, in any branch of any Fn::If, sorted.
func (t *Template) Dependencies(logicalID string) []string {
	return t.dependencies[logicalID]
}

// UnrecognizedResourceTypes is the hook for the caller's list of resource
// types: it reports the template's types that known rejects.
func (t *Template) UnrecognizedResourceTypes(known func(resourceType string) bool) error {
	var bad []string
	for _, r := range t.Resources {
		if !known(r.Type) && !slices.Contains(bad, r.Type) {
			bad = append(bad, r.Type)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return formatError("Unrecognized resource types: [%s]", strings.Join(bad, ", "))
}

// UnsupportedAttributes is the hook for the caller's resource schemas: it
// reports an Fn::GetAtt (or ${Name.Attr}) of an attribute the resource's
// type does not have. has answers for a type and attribute whether it
// knows the type's attributes (checked) and whether the type has it.
func (t *Template) UnsupportedAttributes(has func(resourceType, attribute string) (checked, ok bool)) error {
	var values []any
	for _, r := range t.Resources {
		values = append(values, r.Properties)
	}
	for _, o := range t.Outputs {
		values = append(values, o.Value)
	}
	for _, v := range values {
		refs, err := findReferences(v, false, nil)
		if err != nil {
			return err
		}
		for _, use := range refs.attributes {
			r := t.resources[use.id]
			if r == nil {
				continue
			}
			if checked, ok := has(r.Type, use.attribute); checked && !ok {
				return invalidf("Template error: resource %s does not support attribute type %s in Fn::GetAtt", use.id, use.attribute)
			}
		}
	}
	return nil
}

// validate checks every reference in Conditions, Resources and Outputs and

// checkedReferences is what v (a resource's properties or an output)
// references, checked: its condition and the conditions and GetAtts in
// it must exist. block names the template section for the messages.
func (t *Template) checkedReferences(block, condition string, v any) (references, error) {
	if condition != "" {
		if _, ok := t.Conditions[condition]; !ok {
			return references{}, formatError("Unresolved condition dependencies [%s] in the %s block of the template", condition, block) // UNVERIFIED
		}
	}
	refs, err := findReferences(v, false, nil)
	if err != nil {
		return references{}, err
	}
	if err := t.checkConditionNames(refs.conditions); err != nil {
		return references{}, err
	}
	if err := t.checkGetAtts(refs.getAtts); err != nil {
		return references{}, err
	}
	return refs, nil
}

// looks for dependency cycles.
func (t *Template) validate() error {
	for _, name := range sortedKeys(t.Conditions) {
		refs, err := findReferences(t.Conditions[name], true, nil)
		if err != nil {
			return err
		}
		var bad []string
		for _, id := range append(refs.refs, refs.getAtts...) {
			if !t.isParameterOrPseudo(id) {
				bad = append(bad, id)
			}
		}
		if len(bad) > 0 {
			return formatError("Unresolved dependencies [%s]. Cannot reference resources in the Conditions block of the template", strings.Join(sortedUnique(bad), ", "))
		}
		if err := t.checkConditionNames(refs.conditions); err != nil {
			return err
		}
	}

	t.dependencies = map[string][]string{}
	var unresolved []string
	for _, r := range t.Resources {
		refs, err := t.checkedReferences("Resources", r.Condition, r.Properties)
		if err != nil {
			return err
		}
		var deps []string
		for _, id := range append(refs.refs, r.DependsOn...) {
			switch {
			case t.resources[id] != nil:
				deps = append(deps, id)
			case !t.isParameterOrPseudo(id) || slices.Contains(r.DependsOn, id):
				unresolved = append(unresolved, id)
			}
		}
		t.dependencies[r.LogicalID] = sortedUnique(append(deps, refs.getAtts...))
	}
	if len(unresolved) > 0 {
		return formatError("Unresolved resource dependencies [%s] in the Resources block of the template", strings.Join(sortedUnique(unresolved), ", "))
	}

	for _, o := range t.Outputs {
		refs, err := t.checkedReferences("Outputs", o.Condition, map[string]any{"Value": o.Value, "Export": o.ExportName})
		if err != nil {
			return err
		}
		for _, id := range refs.refs {
			if t.resources[id] == nil && !t.isParameterOrPseudo(id) {
				unresolved = append(unresolved, id)
			}
		}
	}
	if len(unresolved) > 0 {
		return formatError("Unresolved resource dependencies [%s] in the Outputs block of the template", strings.Join(sortedUnique(unresolved), ", "))
	}

	ids := make([]string, len(t.Resources))
	for i, r := range t.Resources {
		ids[i] = r.LogicalID
	}
	_, err := creationWaves(ids, t.dependencies)
	return err
}

func (t *Template) isParameterOrPseudo(name string) bool {
	return t.parameters[name] != nil || slices.Contains(pseudoNames, name)
}

func (t *Template) checkGetAtts(ids []string) error {
	for _, id := range ids {
		if t.resources[id] == nil {
			return invalidf("Template error: instance of Fn::GetAtt references undefined resource %s", id)
		}
	}
	return nil
}

func (t *Template) checkConditionNames(names []string) error {
	for _, name := range names {
		if _, ok := t.Conditions[name]; !ok {
			return invalidf("Template error: unresolved condition dependency %s in Fn::If", name) // UNVERIFIED
		}
	}
	return nil
}

// scalarString gives a scalar template value's text, as CloudFormation
// passes scalars on.
func scalarString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return string(v), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortedUnique(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return slices.Compact(s)
}
