package cloudformation

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/cloudformation/cfntypes"
	"github.com/berth/berth/internal/cloudformation/template"
)

// iamTypes are the resource types a stack may make only with
// CAPABILITY_IAM, each with the property that gives it a custom name,
// which needs CAPABILITY_NAMED_IAM instead.
var iamTypes = map[string]string{
	"AWS::IAM::AccessKey":           "",
	"AWS::IAM::Group":               "GroupName",
	"AWS::IAM::GroupPolicy":         "",
	"AWS::IAM::InstanceProfile":     "InstanceProfileName",
	"AWS::IAM::ManagedPolicy":       "ManagedPolicyName",
	"AWS::IAM::Policy":              "",
	"AWS::IAM::Role":                "RoleName",
	"AWS::IAM::RolePolicy":          "",
	"AWS::IAM::User":                "UserName",
	"AWS::IAM::UserPolicy":          "",
	"AWS::IAM::UserToGroupAddition": "",
}

// Capabilities CloudFormation asks for.
const (
	capabilityIAM      = "CAPABILITY_IAM"
	capabilityNamedIAM = "CAPABILITY_NAMED_IAM"
)

// requiredCapabilities is what creating the template's resources needs
// acknowledged, and CloudFormation's reason.
func requiredCapabilities(t *template.Template) (capabilities []string, reason string) {
	var types []string
	named := false
	for _, r := range t.Resources {
		nameProperty, ok := iamTypes[r.Type]
		if !ok {
			continue
		}
		if !slices.Contains(types, r.Type) {
			types = append(types, r.Type)
		}
		if nameProperty != "" && r.Properties[nameProperty] != nil {
			named = true
		}
	}
	switch {
	case len(types) == 0:
		return []string{}, ""
	case named:
		capabilities = []string{capabilityNamedIAM}
	default:
		capabilities = []string{capabilityIAM}
	}
	return capabilities, "The following resource(s) require capabilities: [" + strings.Join(types, ", ") + "]"
}

// templateBody is the template a call gives: its body (S3 URLs are not
// served).
func templateBody(body, url *string) (*template.Template, error) {
	switch {
	case awsapi.Deref(body) != "":
		return template.Parse([]byte(*body))
	case awsapi.Deref(url) != "":
		return nil, unsupported("templates in S3 (TemplateURL); pass the template as TemplateBody (--template-body file://...)")
	}
	return nil, validation("Either Template URL or Template Body must be specified.")
}

// declaredTransforms is the macros the template's Transform names.
func declaredTransforms(t *template.Template) []string {
	switch v := t.Transform.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, n := range v {
			if s, ok := n.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func (c *CloudFormation) validateTemplate(ctx context.Context, in *cfntypes.ValidateTemplateInput) (*cfntypes.ValidateTemplateOutput, error) {
	t, err := templateBody(in.TemplateBody, in.TemplateURL)
	if err != nil {
		return nil, err
	}
	capabilities, reason := requiredCapabilities(t)
	out := &cfntypes.ValidateTemplateOutput{
		Parameters:         []cfntypes.TemplateParameter{},
		Capabilities:       capabilities,
		CapabilitiesReason: awsapi.OptionalString(reason),
		DeclaredTransforms: declaredTransforms(t),
		Description:        awsapi.OptionalString(t.Description),
	}
	for _, p := range t.Parameters {
		out.Parameters = append(out.Parameters, cfntypes.TemplateParameter{
			ParameterKey: awsapi.String(p.Name),
			DefaultValue: p.Default,
			NoEcho:       awsapi.Bool(p.NoEcho),
			Description:  awsapi.OptionalString(p.Description),
		})
	}
	return out, nil
}

func (c *CloudFormation) getTemplateSummary(ctx context.Context, in *cfntypes.GetTemplateSummaryInput) (*cfntypes.GetTemplateSummaryOutput, error) {
	body, url := in.TemplateBody, in.TemplateURL
	switch {
	case awsapi.Deref(in.StackName) != "":
		found, err := c.findStack(ctx, awsapi.RequestFrom(ctx).Region, *in.StackName)
		if err != nil {
			return nil, err
		}
		text := found.Value.Template
		if op := found.Value.Operation; op != nil && op.Template != "" {
			text = op.Template
		}
		body, url = &text, nil
	case awsapi.Deref(in.StackSetName) != "":
		return nil, unsupported("stack sets")
	}
	t, err := templateBody(body, url)
	if err != nil {
		return nil, err
	}
	capabilities, reason := requiredCapabilities(t)
	if len(capabilities) == 0 {
		capabilities = nil // the summary leaves out what is not needed
	}
	out := &cfntypes.GetTemplateSummaryOutput{
		Parameters:         []cfntypes.ParameterDeclaration{},
		Capabilities:       capabilities,
		CapabilitiesReason: awsapi.OptionalString(reason),
		DeclaredTransforms: declaredTransforms(t),
		Description:        awsapi.OptionalString(t.Description),
		ResourceTypes:      []string{},
		Version:            awsapi.OptionalString(t.FormatVersion),
	}
	if t.Metadata != nil {
		b, err := json.Marshal(t.Metadata)
		if err != nil {
			return nil, fmt.Errorf("cloudformation: the template's Metadata: %w", err)
		}
		out.Metadata = awsapi.String(string(b))
	}
	for _, p := range t.Parameters {
		out.Parameters = append(out.Parameters, cfntypes.ParameterDeclaration{
			ParameterKey:         awsapi.String(p.Name),
			DefaultValue:         p.Default,
			ParameterType:        awsapi.String(p.Type),
			NoEcho:               awsapi.Bool(p.NoEcho),
			Description:          awsapi.OptionalString(p.Description),
			ParameterConstraints: &cfntypes.ParameterConstraints{AllowedValues: p.AllowedValues},
		})
	}
	for _, r := range t.Resources {
		out.ResourceTypes = append(out.ResourceTypes, r.Type)
	}
	return out, nil
}
