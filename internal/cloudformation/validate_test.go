package cloudformation

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/cloudformation/cfntypes"
	"github.com/berth/berth/internal/store/bolt"
)

func call(t *testing.T, op string, in any) (any, *awsapi.Error) {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := New(Config{AccountID: "123456789012", Store: st}).Service()
	out, err := svc.Operations[op].Call(context.Background(), in)
	if err != nil {
		var apiErr *awsapi.Error
		if !errors.As(err, &apiErr) {
			t.Fatalf("%s: %v is no API error", op, err)
		}
		return nil, apiErr
	}
	return out, nil
}

func TestValidateTemplateCapabilities(t *testing.T) {
	for _, c := range []struct {
		name, body   string
		capabilities []string
		reason       string
	}{
		{"no IAM", `{"Resources": {"G": {"Type": "AWS::Logs::LogGroup"}}}`, []string{}, ""},
		{"a role", `{"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}}, "P": {"Type": "AWS::IAM::Policy"}}}`,
			[]string{"CAPABILITY_IAM"}, "The following resource(s) require capabilities: [AWS::IAM::Role, AWS::IAM::Policy]"},
		{"a named role", "Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: !Sub '${AWS::StackName}-task'\n",
			[]string{"CAPABILITY_NAMED_IAM"}, "The following resource(s) require capabilities: [AWS::IAM::Role]"},
	} {
		out, apiErr := call(t, "ValidateTemplate", &cfntypes.ValidateTemplateInput{TemplateBody: awsapi.String(c.body)})
		if apiErr != nil {
			t.Fatalf("%s: %v", c.name, apiErr)
		}
		got := out.(*cfntypes.ValidateTemplateOutput)
		if !slices.Equal(got.Capabilities, c.capabilities) || awsapi.Deref(got.CapabilitiesReason) != c.reason || got.Parameters == nil {
			t.Errorf("%s: %+v, want %v %q", c.name, got, c.capabilities, c.reason)
		}
	}
}

func TestTemplateSummaryOfTheArticle(t *testing.T) {
	body, err := os.ReadFile("template/testdata/article.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, apiErr := call(t, "GetTemplateSummary", &cfntypes.GetTemplateSummaryInput{TemplateBody: awsapi.String(string(body))})
	if apiErr != nil {
		t.Fatal(apiErr)
	}
	got := out.(*cfntypes.GetTemplateSummaryOutput)
	var keys, types []string
	for _, p := range got.Parameters {
		keys = append(keys, *p.ParameterKey+":"+*p.ParameterType)
	}
	types = got.ResourceTypes
	if !slices.Equal(keys, []string{"ImageUri:String", "VpcId:AWS::EC2::VPC::Id", "PublicSubnets:List<AWS::EC2::Subnet::Id>", "PrivateSubnets:List<AWS::EC2::Subnet::Id>"}) ||
		len(types) == 0 || types[0] != "AWS::ECS::Cluster" || !slices.Equal(got.Capabilities, []string{"CAPABILITY_IAM"}) {
		t.Errorf("summary %+v", got)
	}
}

func TestTemplateRefusals(t *testing.T) {
	for _, c := range []struct {
		name, op string
		in       any
		code     string
		message  string
	}{
		{"no template", "ValidateTemplate", &cfntypes.ValidateTemplateInput{}, "ValidationError", "Either Template URL or Template Body must be specified."},
		{"S3", "ValidateTemplate", &cfntypes.ValidateTemplateInput{TemplateURL: awsapi.String("https://s3.amazonaws.com/b/t.yaml")}, "UnsupportedOperation", ""},
		{"unresolved", "ValidateTemplate", &cfntypes.ValidateTemplateInput{TemplateBody: awsapi.String(`{"Resources": {"A": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": {"Ref": "Nope"}}}}}`)},
			"ValidationError", "Template format error: Unresolved resource dependencies [Nope] in the Resources block of the template"},
		{"no such stack", "GetTemplateSummary", &cfntypes.GetTemplateSummaryInput{StackName: awsapi.String("api")}, "ValidationError", "Stack with id api does not exist"},
	} {
		_, apiErr := call(t, c.op, c.in)
		if apiErr == nil || apiErr.Code != c.code || c.message != "" && apiErr.Message != c.message {
			t.Errorf("%s: %+v, want %s %q", c.name, apiErr, c.code, c.message)
		}
	}
}
