package e2e

import (
	"path/filepath"
	"slices"
	"testing"
)

// TestCloudFormationValidatesTheArticleTemplate: the article's template
// (section "Deploying with CloudFormation / SAM"), as its users validate it
// before deploying, with the real CLI v1 and v2.
func TestCloudFormationValidatesTheArticleTemplate(t *testing.T) {
	t.Parallel()
	s := StartServer(t, ServerOptions{})
	path, err := filepath.Abs("testdata/article/ecs-fargate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	body := "file://" + path
	for _, cli := range []func(testing.TB, ...string) Result{s.AWS, s.AWSv2} {
		var out struct {
			Parameters []struct {
				ParameterKey string
				Description  string
			}
			Description        string
			Capabilities       []string
			CapabilitiesReason string
		}
		cli(t, "cloudformation", "validate-template", "--template-body", body).OK(t).Decode(t, &out)
		var keys []string
		for _, p := range out.Parameters {
			keys = append(keys, p.ParameterKey)
		}
		if out.Description != "ECS Fargate service with ALB" || !slices.Equal(keys, []string{"ImageUri", "VpcId", "PublicSubnets", "PrivateSubnets"}) ||
			!slices.Equal(out.Capabilities, []string{"CAPABILITY_IAM"}) ||
			out.CapabilitiesReason != "The following resource(s) require capabilities: [AWS::IAM::Role]" {
			t.Errorf("validate-template: %+v", out)
		}
		cli(t, "cloudformation", "validate-template", "--template-body", `{"Resources": {"G": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": {"Ref": "Missing"}}}}}`).
			Fails(t, "Template format error: Unresolved resource dependencies [Missing] in the Resources block of the template")
	}
	s.AWS(t, "cloudformation", "create-stack", "--stack-name", "api", "--template-body", body).Fails(t, "must have values")
	// AWS-specific parameter types name things that must exist.
	s.AWS(t, "cloudformation", "create-stack", "--stack-name", "api", "--template-body", body, "--capabilities", "CAPABILITY_IAM",
		"--parameters", "ParameterKey=ImageUri,ParameterValue=x", "ParameterKey=VpcId,ParameterValue=vpc-0123456789abcdef0",
		"ParameterKey=PublicSubnets,ParameterValue=subnet-1", "ParameterKey=PrivateSubnets,ParameterValue=subnet-1").
		Fails(t, "Parameter validation failed: parameter value vpc-0123456789abcdef0 for parameter name VpcId does not exist")
	s.AWS(t, "cloudformation", "describe-stacks", "--stack-name", "api").Fails(t, "Stack with id api does not exist")
}
