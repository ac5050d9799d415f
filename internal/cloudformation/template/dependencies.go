package template

import (
	"slices"
	"strings"
)

// references are the names a template value uses.
type references struct {
	refs    []string // Ref targets and ${Name} in Fn::Sub
	getAtts []string // logical ids named by Fn::GetAtt and ${Name.Attr}
	// attributes are the Fn::GetAtt and ${Name.Attr} uses whose attribute
	// is written out (not itself a function).
	attributes []attributeUse
	conditions []string // condition names used by Fn::If and, in Conditions, by Condition
}

// attributeUse is one resource attribute a template value gets.
type attributeUse struct{ id, attribute string }

// findReferences walks a template value. {"Condition": x} is a function only
// in the Conditions section: elsewhere it is an ordinary key (IAM policies
// have one). When taken is not nil only the branch of each Fn::If that its
// condition selects is walked.
func findReferences(v any, inConditions bool, taken map[string]bool) (references, error) {
	var refs references
	err := refs.walk(v, inConditions, taken)
	return refs, err
}

func (refs *references) walk(v any, inConditions bool, taken map[string]bool) error {
	switch v := v.(type) {
	case []any:
		for _, item := range v {
			if err := refs.walk(item, inConditions, taken); err != nil {
				return err
			}
		}
	case map[string]any:
		if len(v) == 1 {
			for name, arg := range v {
				if handled, err := refs.function(name, arg, inConditions, taken); handled || err != nil {
					return err
				}
			}
		}
		for _, key := range sortedKeys(v) {
			if err := refs.walk(v[key], inConditions, taken); err != nil {
				return err
			}
		}
	}
	return nil
}

// function records the names one intrinsic function uses; handled is false
// when name is not a function.
func (refs *references) function(name string, arg any, inConditions bool, taken map[string]bool) (handled bool, err error) {
	switch name {
	case "Ref":
		s, ok := arg.(string)
		if !ok {
			return true, invalid("Template error: every Ref object must have a single String value.") // UNVERIFIED
		}
		refs.refs = append(refs.refs, s)
		return true, nil
	case "Fn::GetAtt":
		id, attr, ok := getAttArgs(arg)
		if !ok {
			return true, errGetAttArgs
		}
		refs.getAtts = append(refs.getAtts, id)
		if name, ok := attr.(string); ok {
			refs.attributes = append(refs.attributes, attributeUse{id, name})
		}
		return true, refs.walk(attr, inConditions, taken)
	case "Fn::Sub":
		text, vars, ok := subArgs(arg)
		if !ok {
			return true, errSubArgs
		}
		for _, part := range splitSub(text) {
			if !part.variable || vars[part.text] != nil {
				continue
			}
			if id, attr, ok := strings.Cut(part.text, "."); ok {
				refs.getAtts = append(refs.getAtts, id)
				refs.attributes = append(refs.attributes, attributeUse{id, attr})
			} else {
				refs.refs = append(refs.refs, part.text)
			}
		}
		return true, refs.walk(vars, inConditions, taken)
	case "Fn::If":
		l, ok := arg.([]any)
		if !ok || len(l) != 3 {
			return true, errIfArgs
		}
		cond, ok := l[0].(string)
		if !ok {
			return true, errIfArgs
		}
		refs.conditions = append(refs.conditions, cond)
		if holds, known := taken[cond]; known {
			if holds {
				return true, refs.walk(l[1], inConditions, taken)
			}
			return true, refs.walk(l[2], inConditions, taken)
		}
		return true, refs.walk(l[1:], inConditions, taken)
	case "Condition":
		if !inConditions {
			return false, nil
		}
		s, ok := arg.(string)
		if !ok {
			return true, errConditionArgs
		}
		refs.conditions = append(refs.conditions, s)
		return true, nil
	}
	if strings.HasPrefix(name, "Fn::") && !slices.Contains(functionNames, name) {
		return true, unsupportedFunction(name)
	}
	return false, nil
}

// creationWaves orders resources for creation: each wave's resources depend
// only on resources of earlier waves, so a wave can be created in parallel.
// Within a wave resources keep the order of ids. Dependencies outside ids are
// ignored. Resources left over are on a cycle or depend on one; CloudFormation
// names them all.
func creationWaves(ids []string, dependencies map[string][]string) ([][]string, error) {
	done := map[string]bool{}
	included := map[string]bool{}
	for _, id := range ids {
		included[id] = true
	}
	var waves [][]string
	for len(done) < len(ids) {
		var wave []string
		for _, id := range ids {
			if done[id] {
				continue
			}
			ready := true
			for _, dep := range dependencies[id] {
				if included[dep] && !done[dep] {
					ready = false
					break
				}
			}
			if ready {
				wave = append(wave, id)
			}
		}
		if len(wave) == 0 {
			var stuck []string
			for _, id := range ids {
				if !done[id] {
					stuck = append(stuck, id)
				}
			}
			// UNVERIFIED: whether CloudFormation prefixes "Template format error: ".
			return nil, invalid("Circular dependency between resources: [" + strings.Join(sortedUnique(stuck), ", ") + "]")
		}
		for _, id := range wave {
			done[id] = true
		}
		waves = append(waves, wave)
	}
	return waves, nil
}
