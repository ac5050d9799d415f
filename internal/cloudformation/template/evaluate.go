package template

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
)

// PseudoParameters are the AWS:: values every template can Ref.
type PseudoParameters struct {
	Region           string
	AccountID        string
	StackName        string
	StackID          string
	Partition        string // "aws" when empty
	URLSuffix        string // "amazonaws.com" when empty
	NotificationARNs []string
}

// Resolver gives what only the running stack and the world outside it know.
type Resolver interface {
	// Ref returns a created resource's Ref value, usually its physical id.
	Ref(logicalID string) (any, error)
	// GetAtt returns one attribute of a created resource.
	GetAtt(logicalID, attribute string) (any, error)
	// GetAZs returns the Availability Zones of a region.
	GetAZs(region string) ([]string, error)
	// ImportValue returns the value another stack exported under name.
	ImportValue(name string) (string, error)
}

// Scope is what a template's intrinsic functions see in one stack: its
// parameter values, pseudo parameters and the truth of its conditions.
type Scope struct {
	Template   *Template
	Parameters map[string]Value
	Pseudo     PseudoParameters
	Conditions map[string]bool
}

// OutputValue is an evaluated output.
type OutputValue struct {
	Name        string
	Value       string
	Description string
	ExportName  string
}

// noValue is what Ref AWS::NoValue evaluates to: the map key or list item
// holding it is removed.
type noValueMarker struct{}

var noValue any = noValueMarker{}

// Errors CloudFormation gives for malformed function arguments.
var (
	errGetAttArgs    = invalid("Template error: every Fn::GetAtt object requires two non-empty parameters")
	errSubArgs       = invalid("Template error: One or more Fn::Sub intrinsic functions don't specify expected arguments. Specify a string as first argument, and an optional second argument to specify a mapping of values to replace in the string")
	errIfArgs        = invalid("Template error: Fn::If requires a list argument with three elements") // UNVERIFIED
	errConditionArgs = invalid("Template error: Condition must be a string")                          // UNVERIFIED
	errJoinArgs      = invalid("Template error: every Fn::Join object requires two parameters, (1) a string delimiter and (2) a list of strings to be joined or a function that returns a list of strings (such as Fn::GetAZs) to be joined.")
	errSelectArgs    = invalid("Template error: Fn::Select requires a list argument with two elements: an integer index and a list")                                                                   // UNVERIFIED
	errSplitArgs     = invalid("Template error: every Fn::Split object requires two parameters, (1) a string delimiter and (2) a string to be split or a function that returns a string to be split.") // UNVERIFIED
	errFindInMapArgs = invalid("Template error: every Fn::FindInMap object requires three parameters, the map name, map key and the attribute for return value")                                       // UNVERIFIED
	errBase64Args    = invalid("Template error: every Fn::Base64 object requires a String parameter")                                                                                                  // UNVERIFIED
	errCidrArgs      = invalid("Template error: every Fn::Cidr object requires three parameters, (1) an ip block, (2) the number of subnets and (3) the number of subnet bits")                        // UNVERIFIED
	errImportArgs    = invalid("Template error: every Fn::ImportValue object requires a String parameter")                                                                                             // UNVERIFIED
	errGetAZsArgs    = invalid("Template error: every Fn::GetAZs object requires a string parameter")                                                                                                  // UNVERIFIED
	errEqualsArgs    = invalid("Template error: every Fn::Equals object requires a list of 2 string parameters.")
	errNotArgs       = invalid("Template error: every Fn::Not object requires a list of 1 boolean parameter.")                                     // UNVERIFIED
	errAndOrArgs     = invalid("Template error: every Fn::And and Fn::Or object requires a list of at least 2 and at most 10 boolean parameters.") // UNVERIFIED
	errLengthArgs    = invalid("Template error: Fn::Length requires a list")                                                                       // UNVERIFIED
)

func unsupportedFunction(name string) error {
	return formatError("Encountered unsupported function: %s Supported functions are: [%s]", name, strings.Join(functionNames, ", ")) // UNVERIFIED
}

func unresolved(name string) error {
	return formatError("Unresolved resource dependencies [%s] in the Resources block of the template", name)
}

// NewScope resolves the stack's parameters (see ResolveParameters) and
// evaluates the template's conditions.
func (t *Template) NewScope(given map[string]string, pseudo PseudoParameters, checker ParameterChecker) (*Scope, error) {
	params, err := t.ResolveParameters(given, checker)
	if err != nil {
		return nil, err
	}
	if pseudo.Partition == "" {
		pseudo.Partition = "aws"
	}
	if pseudo.URLSuffix == "" {
		pseudo.URLSuffix = "amazonaws.com"
	}
	s := &Scope{Template: t, Parameters: params, Pseudo: pseudo, Conditions: map[string]bool{}}
	evaluating := map[string]bool{}
	var condition func(name string) (bool, error)
	condition = func(name string) (bool, error) {
		if holds, ok := s.Conditions[name]; ok {
			return holds, nil
		}
		expr, ok := t.Conditions[name]
		if !ok {
			return false, invalidf("Template error: unresolved condition dependency %s in Fn::If", name) // UNVERIFIED
		}
		if evaluating[name] {
			return false, formatError("Circular dependency between conditions: [%s]", name) // UNVERIFIED
		}
		evaluating[name] = true
		v, err := (&evaluator{scope: s, resolver: noResources{}, inConditions: true, condition: condition}).eval(expr)
		if err != nil {
			return false, err
		}
		holds, ok := v.(bool)
		if !ok {
			return false, formatError("Conditions can only be boolean operations on parameters and other conditions") // UNVERIFIED
		}
		s.Conditions[name] = holds
		return holds, nil
	}
	for _, name := range sortedKeys(t.Conditions) {
		if _, err := condition(name); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// noResources is the resolver of the Conditions section, where only
// parameters and mappings may be used (Parse has checked that).
type noResources struct{}

func (noResources) Ref(id string) (any, error)       { return nil, unresolved(id) }
func (noResources) GetAtt(id, _ string) (any, error) { return nil, unresolved(id) }
func (noResources) GetAZs(string) ([]string, error) {
	return nil, invalid("Fn::GetAZs is not supported in Conditions")
} // UNVERIFIED
func (noResources) ImportValue(string) (string, error) {
	return "", invalid("Fn::ImportValue is not supported in Conditions")
} // UNVERIFIED

// Active reports whether a resource is part of the stack: it has no
// Condition or its Condition holds.
func (s *Scope) Active(logicalID string) bool {
	r, ok := s.Template.resources[logicalID]
	return ok && (r.Condition == "" || s.Conditions[r.Condition])
}

// ActiveResources returns the stack's resources in template order.
func (s *Scope) ActiveResources() []*Resource {
	var active []*Resource
	for _, r := range s.Template.Resources {
		if s.Active(r.LogicalID) {
			active = append(active, r)
		}
	}
	return active
}

// Dependencies returns the resources an active resource depends on once
// conditions are known: only the taken branch of each Fn::If counts. A
// dependency on a resource left out by its condition is an error.
func (s *Scope) Dependencies(logicalID string) ([]string, error) {
	r := s.Template.resources[logicalID]
	if r == nil || !s.Active(logicalID) {
		return nil, unresolved(logicalID)
	}
	refs, err := findReferences(r.Properties, false, s.Conditions)
	if err != nil {
		return nil, err
	}
	var deps []string
	for _, id := range append(append(refs.refs, refs.getAtts...), r.DependsOn...) {
		if s.Template.resources[id] == nil {
			continue
		}
		if !s.Active(id) {
			return nil, unresolved(id)
		}
		deps = append(deps, id)
	}
	return sortedUnique(deps), nil
}

// CreationWaves orders the active resources for creation in waves: each
// wave depends only on earlier waves and can be created in parallel.
// Deleting goes through the waves in reverse.
func (s *Scope) CreationWaves() ([][]string, error) {
	var ids []string
	deps := map[string][]string{}
	for _, r := range s.ActiveResources() {
		d, err := s.Dependencies(r.LogicalID)
		if err != nil {
			return nil, err
		}
		ids = append(ids, r.LogicalID)
		deps[r.LogicalID] = d
	}
	return creationWaves(ids, deps)
}

// Evaluate resolves the intrinsic functions in a template value, such as a
// resource's Properties. Map keys and list items whose value is Ref
// AWS::NoValue are removed; a value that is itself AWS::NoValue gives nil.
func (s *Scope) Evaluate(v any, r Resolver) (any, error) {
	e := &evaluator{scope: s, resolver: r, condition: s.condition}
	out, err := e.eval(v)
	if out == noValue {
		return nil, err
	}
	return out, err
}

func (s *Scope) condition(name string) (bool, error) {
	holds, ok := s.Conditions[name]
	if !ok {
		return false, invalidf("Template error: unresolved condition dependency %s in Fn::If", name) // UNVERIFIED
	}
	return holds, nil
}

// Outputs evaluates the outputs of the stack whose conditions hold. List
// values are joined with commas, as DescribeStacks shows them.
func (s *Scope) Outputs(r Resolver) ([]OutputValue, error) {
	var outputs []OutputValue
	for _, o := range s.Template.Outputs {
		if o.Condition != "" && !s.Conditions[o.Condition] {
			continue
		}
		value, err := s.Evaluate(o.Value, r)
		if err != nil {
			return nil, err
		}
		out := OutputValue{Name: o.Name, Description: o.Description}
		if out.Value, err = outputString(value); err != nil {
			return nil, err
		}
		if o.ExportName != nil {
			name, err := s.Evaluate(o.ExportName, r)
			if err != nil {
				return nil, err
			}
			if out.ExportName, err = outputString(name); err != nil {
				return nil, err
			}
		}
		outputs = append(outputs, out)
	}
	return outputs, nil
}

func outputString(v any) (string, error) {
	if l, ok := v.([]any); ok {
		parts := make([]string, len(l))
		for i, item := range l {
			s, ok := scalarString(item)
			if !ok {
				return "", invalid("Template error: Output value must be a string or a list of strings") // UNVERIFIED
			}
			parts[i] = s
		}
		return strings.Join(parts, ","), nil
	}
	if s, ok := scalarString(v); ok {
		return s, nil
	}
	if v == nil {
		return "", nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

type evaluator struct {
	scope    *Scope
	resolver Resolver
	// inConditions: {"Condition": x} is a function only in the Conditions
	// section; elsewhere (IAM policies) it is an ordinary key.
	inConditions bool
	condition    func(name string) (bool, error)
}

func (e *evaluator) eval(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 1 {
			for name, arg := range v {
				if out, handled, err := e.function(name, arg); handled {
					return out, err
				}
			}
		}
		out := make(map[string]any, len(v))
		for _, key := range sortedKeys(v) {
			item, err := e.eval(v[key])
			if err != nil {
				return nil, err
			}
			if item != noValue {
				out[key] = item
			}
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(v))
		for _, item := range v {
			item, err := e.eval(item)
			if err != nil {
				return nil, err
			}
			if item != noValue {
				out = append(out, item)
			}
		}
		return out, nil
	}
	return v, nil
}

// evalString evaluates v and requires a scalar, giving its text.
func (e *evaluator) evalString(v any, bad error) (string, error) {
	out, err := e.eval(v)
	if err != nil {
		return "", err
	}
	s, ok := scalarString(out)
	if !ok {
		return "", bad
	}
	return s, nil
}

// evalArgs requires a list of n arguments.
func evalArgs(arg any, n int, bad error) ([]any, error) {
	l, ok := arg.([]any)
	if !ok || len(l) != n {
		return nil, bad
	}
	return l, nil
}

func (e *evaluator) function(name string, arg any) (out any, handled bool, err error) {
	switch name {
	case "Ref":
		out, err = e.ref(arg)
	case "Fn::GetAtt":
		out, err = e.getAtt(arg)
	case "Fn::Sub":
		out, err = e.sub(arg)
	case "Fn::Join":
		out, err = e.join(arg)
	case "Fn::Select":
		out, err = e.selectItem(arg)
	case "Fn::Split":
		out, err = e.split(arg)
	case "Fn::If":
		out, err = e.ifThenElse(arg)
	case "Fn::FindInMap":
		out, err = e.findInMap(arg)
	case "Fn::GetAZs":
		out, err = e.getAZs(arg)
	case "Fn::Base64":
		var s string
		s, err = e.evalString(arg, errBase64Args)
		out = base64.StdEncoding.EncodeToString([]byte(s))
	case "Fn::Cidr":
		out, err = e.cidr(arg)
	case "Fn::ImportValue":
		var s string
		if s, err = e.evalString(arg, errImportArgs); err == nil {
			out, err = e.resolver.ImportValue(s)
		}
	case "Fn::ToJsonString":
		if out, err = e.eval(arg); err == nil {
			var b []byte
			b, err = json.Marshal(out)
			out = string(b)
		}
	case "Fn::Length":
		if out, err = e.eval(arg); err == nil {
			l, ok := out.([]any)
			if !ok {
				return nil, true, errLengthArgs
			}
			out = json.Number(strconv.Itoa(len(l)))
		}
	case "Fn::Equals":
		out, err = e.equals(arg)
	case "Fn::And", "Fn::Or":
		out, err = e.andOr(name, arg)
	case "Fn::Not":
		out, err = e.not(arg)
	case "Condition":
		if !e.inConditions {
			return nil, false, nil
		}
		name, ok := arg.(string)
		if !ok {
			return nil, true, errConditionArgs
		}
		out, err = e.condition(name)
	default:
		if strings.HasPrefix(name, "Fn::") {
			return nil, true, unsupportedFunction(name)
		}
		return nil, false, nil
	}
	if err != nil {
		return nil, true, err
	}
	return out, true, nil
}

func (e *evaluator) ref(arg any) (any, error) {
	name, ok := arg.(string)
	if !ok {
		return nil, invalid("Template error: every Ref object must have a single String value.") // UNVERIFIED
	}
	s := e.scope
	if p, ok := s.Parameters[name]; ok {
		return p.Ref(), nil
	}
	switch name {
	case "AWS::Region":
		return s.Pseudo.Region, nil
	case "AWS::AccountId":
		return s.Pseudo.AccountID, nil
	case "AWS::StackName":
		return s.Pseudo.StackName, nil
	case "AWS::StackId":
		return s.Pseudo.StackID, nil
	case "AWS::Partition":
		return s.Pseudo.Partition, nil
	case "AWS::URLSuffix":
		return s.Pseudo.URLSuffix, nil
	case "AWS::NotificationARNs":
		l := make([]any, len(s.Pseudo.NotificationARNs))
		for i, arn := range s.Pseudo.NotificationARNs {
			l[i] = arn
		}
		return l, nil
	case "AWS::NoValue":
		return noValue, nil
	}
	if !s.Active(name) {
		return nil, unresolved(name)
	}
	return e.resolver.Ref(name)
}

// getAttArgs reads Fn::GetAtt's [logicalId, attribute] or "logicalId.attribute".
func getAttArgs(arg any) (id string, attr any, ok bool) {
	switch arg := arg.(type) {
	case string:
		id, attr, ok := strings.Cut(arg, ".")
		return id, attr, ok && id != "" && attr != ""
	case []any:
		if len(arg) != 2 {
			return "", nil, false
		}
		id, ok := arg[0].(string)
		return id, arg[1], ok && id != "" && arg[1] != ""
	}
	return "", nil, false
}

func (e *evaluator) getAtt(arg any) (any, error) {
	id, attrArg, ok := getAttArgs(arg)
	if !ok {
		return nil, errGetAttArgs
	}
	attr, err := e.evalString(attrArg, errGetAttArgs)
	if err != nil {
		return nil, err
	}
	if e.scope.Template.resources[id] == nil {
		return nil, invalidf("Template error: instance of Fn::GetAtt references undefined resource %s", id)
	}
	if !e.scope.Active(id) {
		return nil, unresolved(id)
	}
	return e.resolver.GetAtt(id, attr)
}

// subArgs reads Fn::Sub's "text" or ["text", {variables}].
func subArgs(arg any) (text string, vars map[string]any, ok bool) {
	switch arg := arg.(type) {
	case string:
		return arg, nil, true
	case []any:
		if len(arg) != 2 {
			return "", nil, false
		}
		text, ok := arg[0].(string)
		vars, isMap := arg[1].(map[string]any)
		return text, vars, ok && isMap
	}
	return "", nil, false
}

// subPart is a literal piece of an Fn::Sub string or a ${variable}.
type subPart struct {
	text     string
	variable bool
}

// splitSub cuts an Fn::Sub string into literals and variables. ${!Name} is
// the literal ${Name}; an unterminated ${ is literal text.
func splitSub(s string) []subPart {
	var parts []subPart
	for {
		start := strings.Index(s, "${")
		if start < 0 {
			break
		}
		length := strings.IndexByte(s[start+2:], '}')
		if length < 0 {
			break
		}
		name := s[start+2 : start+2+length]
		parts = append(parts, subPart{text: s[:start]})
		if strings.HasPrefix(name, "!") {
			parts = append(parts, subPart{text: "${" + name[1:] + "}"})
		} else {
			parts = append(parts, subPart{text: name, variable: true})
		}
		s = s[start+2+length+1:]
	}
	return append(parts, subPart{text: s})
}

func (e *evaluator) sub(arg any) (any, error) {
	text, vars, ok := subArgs(arg)
	if !ok {
		return nil, errSubArgs
	}
	var b strings.Builder
	for _, part := range splitSub(text) {
		if !part.variable {
			b.WriteString(part.text)
			continue
		}
		var value any
		var err error
		if v, ok := vars[part.text]; ok {
			value, err = e.eval(v)
		} else if id, attr, ok := strings.Cut(part.text, "."); ok {
			value, err = e.getAtt([]any{id, attr})
		} else {
			value, err = e.ref(part.text)
		}
		if err != nil {
			return nil, err
		}
		s, ok := scalarString(value)
		if !ok {
			return nil, invalidf("Template error: variable %s in Fn::Sub expression does not resolve to a string", part.text) // UNVERIFIED
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

func (e *evaluator) join(arg any) (any, error) {
	args, err := evalArgs(arg, 2, errJoinArgs)
	if err != nil {
		return nil, err
	}
	delim, ok := args[0].(string)
	if !ok {
		return nil, errJoinArgs
	}
	list, err := e.eval(args[1])
	if err != nil {
		return nil, err
	}
	items, ok := list.([]any)
	if !ok {
		return nil, errJoinArgs
	}
	parts := make([]string, len(items))
	for i, item := range items {
		if parts[i], ok = scalarString(item); !ok {
			return nil, errJoinArgs
		}
	}
	return strings.Join(parts, delim), nil
}

func (e *evaluator) selectItem(arg any) (any, error) {
	args, err := evalArgs(arg, 2, errSelectArgs)
	if err != nil {
		return nil, err
	}
	indexText, err := e.evalString(args[0], errSelectArgs)
	if err != nil {
		return nil, err
	}
	index, err := strconv.Atoi(indexText)
	if err != nil {
		return nil, errSelectArgs
	}
	list, err := e.eval(args[1])
	if err != nil {
		return nil, err
	}
	items, ok := list.([]any)
	if !ok {
		return nil, errSelectArgs
	}
	if index < 0 || index >= len(items) {
		return nil, invalidf("Template error: Fn::Select cannot select nonexistent value at index %d", index)
	}
	return items[index], nil
}

func (e *evaluator) split(arg any) (any, error) {
	args, err := evalArgs(arg, 2, errSplitArgs)
	if err != nil {
		return nil, err
	}
	delim, ok := args[0].(string)
	if !ok || delim == "" {
		return nil, errSplitArgs
	}
	source, err := e.evalString(args[1], errSplitArgs)
	if err != nil {
		return nil, err
	}
	var out []any
	for _, s := range strings.Split(source, delim) {
		out = append(out, s)
	}
	return out, nil
}

func (e *evaluator) ifThenElse(arg any) (any, error) {
	args, err := evalArgs(arg, 3, errIfArgs)
	if err != nil {
		return nil, err
	}
	name, ok := args[0].(string)
	if !ok {
		return nil, errIfArgs
	}
	holds, err := e.condition(name)
	if err != nil {
		return nil, err
	}
	if holds {
		return e.eval(args[1])
	}
	return e.eval(args[2])
}

func (e *evaluator) findInMap(arg any) (any, error) {
	args, err := evalArgs(arg, 3, errFindInMapArgs)
	if err != nil {
		return nil, err
	}
	var keys [3]string
	for i, a := range args {
		if keys[i], err = e.evalString(a, errFindInMapArgs); err != nil {
			return nil, err
		}
	}
	value, ok := e.scope.Template.Mappings[keys[0]][keys[1]][keys[2]]
	if !ok {
		return nil, invalidf("Template error: Unable to get mapping for %s::%s::%s", keys[0], keys[1], keys[2])
	}
	return value, nil
}

func (e *evaluator) getAZs(arg any) (any, error) {
	region, err := e.evalString(arg, errGetAZsArgs)
	if err != nil {
		return nil, err
	}
	if region == "" {
		region = e.scope.Pseudo.Region
	}
	zones, err := e.resolver.GetAZs(region)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(zones))
	for i, z := range zones {
		out[i] = z
	}
	return out, nil
}

func (e *evaluator) cidr(arg any) (any, error) {
	args, err := evalArgs(arg, 3, errCidrArgs)
	if err != nil {
		return nil, err
	}
	var texts [3]string
	for i, a := range args {
		if texts[i], err = e.evalString(a, errCidrArgs); err != nil {
			return nil, err
		}
	}
	count, err1 := strconv.Atoi(texts[1])
	hostBits, err2 := strconv.Atoi(texts[2])
	if err1 != nil || err2 != nil {
		return nil, errCidrArgs
	}
	blocks, err := cidrSubnets(texts[0], count, hostBits)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(blocks))
	for i, b := range blocks {
		out[i] = b
	}
	return out, nil
}

func (e *evaluator) equals(arg any) (any, error) {
	args, err := evalArgs(arg, 2, errEqualsArgs)
	if err != nil {
		return nil, err
	}
	var values [2]any
	for i, a := range args {
		if values[i], err = e.eval(a); err != nil {
			return nil, err
		}
	}
	a, aok := scalarString(values[0])
	b, bok := scalarString(values[1])
	if aok && bok {
		return a == b, nil
	}
	return reflect.DeepEqual(values[0], values[1]), nil
}

func (e *evaluator) andOr(name string, arg any) (any, error) {
	l, ok := arg.([]any)
	if !ok || len(l) < 2 || len(l) > 10 {
		return nil, errAndOrArgs
	}
	result := name == "Fn::And"
	for _, item := range l {
		v, err := e.eval(item)
		if err != nil {
			return nil, err
		}
		b, ok := v.(bool)
		if !ok {
			return nil, errAndOrArgs
		}
		if name == "Fn::And" {
			result = result && b
		} else {
			result = result || b
		}
	}
	return result, nil
}

func (e *evaluator) not(arg any) (any, error) {
	args, err := evalArgs(arg, 1, errNotArgs)
	if err != nil {
		return nil, err
	}
	v, err := e.eval(args[0])
	if err != nil {
		return nil, err
	}
	b, ok := v.(bool)
	if !ok {
		return nil, errNotArgs
	}
	return !b, nil
}
