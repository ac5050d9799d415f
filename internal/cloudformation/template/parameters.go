package template

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Parameter is one declaration of the Parameters section. Default and
// AllowedValues hold the text of what the template wrote.
type Parameter struct {
	Name                  string
	Type                  string
	Description           string
	ConstraintDescription string
	Default               *string
	AllowedValues         []string
	AllowedPattern        string
	MinLength, MaxLength  *int
	MinValue, MaxValue    *float64
	NoEcho                bool
}

// Value is a parameter's value for one stack.
type Value struct {
	// ParameterValue is the value given, or the default: what DescribeStacks
	// shows. For SSM parameter types it is the SSM parameter's name.
	ParameterValue string
	// ResolvedValue is the SSM parameter's value, for SSM parameter types.
	ResolvedValue string
	// List holds the members of a list type's value.
	List   []string
	IsList bool
	NoEcho bool
}

// Ref is what Ref gives for the parameter: a string, or []any of strings
// for list types. Numbers stay strings, as CloudFormation documents.
func (v Value) Ref() any {
	if v.IsList {
		l := make([]any, len(v.List))
		for i, s := range v.List {
			l[i] = s
		}
		return l
	}
	if v.ResolvedValue != "" {
		return v.ResolvedValue
	}
	return v.ParameterValue
}

// ParameterChecker answers what parameter validation needs from outside the
// template.
type ParameterChecker interface {
	// Exists reports whether value names an existing thing of an AWS-specific
	// parameter type, e.g. ("AWS::EC2::VPC::Id", "vpc-0123"). List types
	// are checked member by member with the member type.
	Exists(parameterType, value string) bool
	// SSMParameter returns the value of a Systems Manager parameter.
	SSMParameter(name string) (value string, ok bool)
}

// awsSpecificTypes are the parameter types whose values must name something
// that exists in the account; each also comes as List<type>.
var awsSpecificTypes = []string{
	"AWS::EC2::AvailabilityZone::Name", "AWS::EC2::Image::Id", "AWS::EC2::Instance::Id",
	"AWS::EC2::KeyPair::KeyName", "AWS::EC2::SecurityGroup::GroupName", "AWS::EC2::SecurityGroup::Id",
	"AWS::EC2::Subnet::Id", "AWS::EC2::Volume::Id", "AWS::EC2::VPC::Id", "AWS::Route53::HostedZone::Id",
}

const ssmValuePrefix, ssmValueSuffix = "AWS::SSM::Parameter::Value<", ">"

// valueType strips the SSM wrapper: the type the parameter's value has.
func valueType(typ string) (inner string, fromSSM bool) {
	if strings.HasPrefix(typ, ssmValuePrefix) && strings.HasSuffix(typ, ssmValueSuffix) {
		return typ[len(ssmValuePrefix) : len(typ)-len(ssmValueSuffix)], true
	}
	return typ, false
}

// listMember returns the member type of a list type.
func listMember(typ string) (member string, isList bool) {
	switch {
	case typ == "CommaDelimitedList":
		return "String", true
	case strings.HasPrefix(typ, "List<") && strings.HasSuffix(typ, ">"):
		return typ[len("List<") : len(typ)-1], true
	}
	return typ, false
}

func knownParameterType(typ string) bool {
	inner, fromSSM := valueType(typ)
	if fromSSM && inner == "String" {
		return true
	}
	member, isList := listMember(inner)
	switch member {
	case "String":
		return true
	case "Number":
		return !fromSSM
	case "AWS::SSM::Parameter::Name":
		return !fromSSM && !isList
	}
	return slices.Contains(awsSpecificTypes, member)
}

func (t *Template) decodeParameters(n *yaml.Node) error {
	names, nodes, ok, err := mappingPairs(n)
	if err != nil {
		return err
	}
	if !ok && n.ShortTag() != "!!null" {
		return formatError("Parameters must be an object.") // UNVERIFIED
	}
	for i, name := range names {
		if !alphanumeric.MatchString(name) {
			return formatError("Parameter name %s is non alphanumeric.", name)
		}
		v, err := toValue(nodes[i])
		if err != nil {
			return err
		}
		p, err := decodeParameter(name, v)
		if err != nil {
			return err
		}
		t.Parameters = append(t.Parameters, p)
		t.parameters[name] = p
	}
	return nil
}

func decodeParameter(name string, v any) (*Parameter, error) {
	m, _ := v.(map[string]any)
	typ, ok := m["Type"].(string)
	if !ok {
		return nil, formatError("Every Parameters object must contain a Type member.")
	}
	if !knownParameterType(typ) {
		return nil, formatError("Unrecognized parameter type: %s", typ)
	}
	p := &Parameter{Name: name, Type: typ}
	bad := func(key string) error {
		return formatError("Invalid value for parameter property %s of parameter %s", key, name) // UNVERIFIED
	}
	for _, key := range sortedKeys(m) {
		value := m[key]
		text, isScalar := scalarString(value)
		switch key {
		case "Type":
		case "Description", "ConstraintDescription", "AllowedPattern", "Default":
			if !isScalar {
				return nil, bad(key)
			}
			switch key {
			case "Description":
				p.Description = text
			case "ConstraintDescription":
				p.ConstraintDescription = text
			case "AllowedPattern":
				p.AllowedPattern = text
			case "Default":
				p.Default = &text
			}
		case "AllowedValues":
			l, ok := value.([]any)
			if !ok {
				return nil, bad(key)
			}
			for _, item := range l {
				s, ok := scalarString(item)
				if !ok {
					return nil, bad(key)
				}
				p.AllowedValues = append(p.AllowedValues, s)
			}
		case "MinLength", "MaxLength":
			n, err := strconv.Atoi(text)
			if err != nil {
				return nil, bad(key)
			}
			if key == "MinLength" {
				p.MinLength = &n
			} else {
				p.MaxLength = &n
			}
		case "MinValue", "MaxValue":
			f, err := strconv.ParseFloat(text, 64)
			if err != nil {
				return nil, bad(key)
			}
			if key == "MinValue" {
				p.MinValue = &f
			} else {
				p.MaxValue = &f
			}
		case "NoEcho":
			b, err := strconv.ParseBool(text)
			if err != nil {
				return nil, bad(key)
			}
			p.NoEcho = b
		default:
			return nil, formatError("Invalid template parameter property '%s'", key) // UNVERIFIED
		}
	}
	if p.AllowedPattern != "" {
		if _, err := regexp.Compile(p.AllowedPattern); err != nil {
			return nil, bad("AllowedPattern")
		}
	}
	return p, nil
}

// ResolveParameters gives every declared parameter its value for a stack.
// A name absent from given is not given: its default applies. Callers
// implement UsePreviousValue by putting the stack's previous value in given.
// Values are checked against their type and constraints; AWS-specific types
// and SSM parameter types go through checker.
func (t *Template) ResolveParameters(given map[string]string, checker ParameterChecker) (map[string]Value, error) {
	var unknown []string
	for name := range given {
		if t.parameters[name] == nil {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		return nil, invalidf("Parameters: [%s] do not exist in the template", strings.Join(sortedUnique(unknown), ", "))
	}
	var missing []string
	for _, p := range t.Parameters {
		if _, ok := given[p.Name]; !ok && p.Default == nil {
			missing = append(missing, p.Name)
		}
	}
	if len(missing) > 0 {
		return nil, invalidf("Parameters: [%s] must have values", strings.Join(missing, ", "))
	}
	values := make(map[string]Value, len(t.Parameters))
	for _, p := range t.Parameters {
		text, ok := given[p.Name]
		if !ok {
			text = *p.Default
		}
		v, err := p.resolve(text, checker)
		if err != nil {
			return nil, err
		}
		values[p.Name] = v
	}
	return values, nil
}

func (p *Parameter) resolve(text string, checker ParameterChecker) (Value, error) {
	v := Value{ParameterValue: text, NoEcho: p.NoEcho}
	typ, fromSSM := valueType(p.Type)
	if fromSSM {
		resolved, ok := checker.SSMParameter(text)
		if !ok {
			return Value{}, invalidf("Unable to fetch parameters [%s] from parameter store for this account.", text) // UNVERIFIED
		}
		v.ResolvedValue, text = resolved, resolved
	}
	if typ == "String" || typ == "AWS::SSM::Parameter::Name" {
		return v, p.checkString(text)
	}
	member, isList := listMember(typ)
	members := []string{text}
	if isList {
		members = nil
		if text != "" {
			members = strings.Split(text, ",")
		}
		v.List, v.IsList = members, true
	}
	for _, m := range members {
		if err := p.checkMember(member, isList, m, checker); err != nil {
			return Value{}, err
		}
	}
	return v, nil
}

func (p *Parameter) checkMember(member string, isList bool, value string, checker ParameterChecker) error {
	if err := p.checkAllowedValues(value); err != nil {
		return err
	}
	switch member {
	case "String":
		return nil
	case "Number":
		n, err := strconv.ParseFloat(value, 64)
		if err != nil {
			if isList {
				return invalidf("Parameter '%s' must be a number list.", p.Name) // UNVERIFIED
			}
			return invalidf("Parameter '%s' must be a number.", p.Name)
		}
		if p.MinValue != nil && n < *p.MinValue {
			return p.constraintError("Parameter '%s' must be a number not less than %s", p.Name, formatFloat(*p.MinValue)) // UNVERIFIED
		}
		if p.MaxValue != nil && n > *p.MaxValue {
			return p.constraintError("Parameter '%s' must be a number not greater than %s", p.Name, formatFloat(*p.MaxValue)) // UNVERIFIED
		}
		return nil
	}
	if !checker.Exists(member, value) {
		return invalidf("Parameter validation failed: parameter value %s for parameter name %s does not exist.", value, p.Name) // UNVERIFIED
	}
	return nil
}

func (p *Parameter) checkAllowedValues(value string) error {
	if len(p.AllowedValues) > 0 && !slices.Contains(p.AllowedValues, value) {
		return invalidf("Parameter '%s' must be one of AllowedValues", p.Name)
	}
	return nil
}

func (p *Parameter) checkString(value string) error {
	if err := p.checkAllowedValues(value); err != nil {
		return err
	}
	if p.AllowedPattern != "" && !regexp.MustCompile(`^(?:`+p.AllowedPattern+`)$`).MatchString(value) {
		return p.constraintError("Malformed input-Parameter %s must match pattern %s", p.Name, p.AllowedPattern) // UNVERIFIED
	}
	length := len([]rune(value))
	if p.MinLength != nil && length < *p.MinLength {
		return p.constraintError("Parameter '%s' must contain at least %d characters", p.Name, *p.MinLength) // UNVERIFIED
	}
	if p.MaxLength != nil && length > *p.MaxLength {
		return p.constraintError("Parameter '%s' must contain at most %d characters", p.Name, *p.MaxLength) // UNVERIFIED
	}
	return nil
}

// constraintError reports a failed constraint with the template's
// ConstraintDescription when it has one, which is why templates write them.
func (p *Parameter) constraintError(format string, args ...any) error {
	if p.ConstraintDescription != "" {
		return invalidf("Parameter %s failed to satisfy constraint: %s", p.Name, p.ConstraintDescription) // UNVERIFIED
	}
	return invalidf(format, args...)
}

func formatFloat(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}
