// Package template reads CloudFormation templates the way CloudFormation
// itself reads them: YAML (with the short-form tags such as !Ref and
// !GetAtt) or JSON, checked with CloudFormation's own error messages, with
// parameters resolved and validated, conditions evaluated, dependencies
// between resources found and ordered into creation waves, and intrinsic
// functions evaluated in resource properties and outputs.
//
// The package is pure: it does no I/O and calls no AWS API. Whatever needs
// the world outside the template comes from the caller through small
// interfaces: a ParameterChecker says whether an EC2 id or key pair exists
// and what an SSM parameter holds; a Resolver gives a resource's Ref and
// Fn::GetAtt values, the region's Availability Zones and exported values.
// Deciding which resource types exist (see Template.UnrecognizedResourceTypes),
// creating resources, macros (Transform) and Rules assertions are also left
// to the caller.
//
// # Values
//
// Template values are plain Go values, as encoding/json would give them with
// UseNumber: map[string]any, []any, string, bool, nil, and json.Number for
// numbers. A json.Number keeps the number's text as written in the template
// (hexadecimal and octal YAML integers are rewritten in decimal), because
// CloudFormation passes numbers on as their text. Short-form YAML tags are
// rewritten to their long forms ({"Ref": x}, {"Fn::GetAtt": [a, b]}, ...), so
// callers see a single representation whatever the template's format.
package template

import "fmt"

// ValidationError is a template, parameter or function the template
// refuses, in CloudFormation's words: the API answers it as
// CloudFormation's ValidationError.
type ValidationError struct{ Message string }

func (e *ValidationError) Error() string { return e.Message }

// invalid is a ValidationError saying message.
func invalid(message string) error { return &ValidationError{Message: message} }

// invalidf is a ValidationError saying the formatted message.
func invalidf(format string, args ...any) error {
	return &ValidationError{Message: fmt.Sprintf(format, args...)}
}
