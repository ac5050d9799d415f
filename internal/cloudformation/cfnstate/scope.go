package cfnstate

import "github.com/berth/berth/internal/cloudformation/template"

// Scope is the intrinsic functions' scope of a template with parameter
// values the API checked when it took them: they are not checked again
// (an EC2 id deleted since still evaluates), and SSM parameter types keep
// the value they resolved to then, as CloudFormation keeps it for the
// operation.
func Scope(t *template.Template, params []Parameter, pseudo template.PseudoParameters) (*template.Scope, error) {
	given := map[string]string{}
	resolved := map[string]string{}
	for _, p := range params {
		given[p.Key] = p.Value
		if p.ResolvedValue != "" {
			resolved[p.Value] = p.ResolvedValue
		}
	}
	return t.NewScope(given, pseudo, checkedParameters(resolved))
}

// checkedParameters answers for parameters checked before.
type checkedParameters map[string]string

func (checkedParameters) Exists(string, string) bool { return true }

func (c checkedParameters) SSMParameter(name string) (string, bool) {
	v, ok := c[name]
	return v, ok
}
