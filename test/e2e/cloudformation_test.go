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
}
