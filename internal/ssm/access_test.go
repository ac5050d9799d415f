package ssm

import (
	"context"
	"reflect"
	"testing"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ssm/ssmtypes"
)

func TestAccess(t *testing.T) {
	s := &service{account: "123456789012"}
	ctx := awsapi.WithRequest(context.Background(), &awsapi.RequestInfo{Region: "eu-west-1"})
	arn := func(name string) string { return "arn:aws:ssm:eu-west-1:123456789012:parameter/" + name }
	for _, tc := range []struct {
		op   string
		in   any
		want []awsapi.Access
	}{
		{"GetParameter", &ssmtypes.GetParameterRequest{Name: awsapi.String("/api/key")},
			[]awsapi.Access{{Action: "ssm:GetParameter", Resource: arn("api/key")}}},
		{"GetParameter", &ssmtypes.GetParameterRequest{Name: awsapi.String("plain:3")},
			[]awsapi.Access{{Action: "ssm:GetParameter", Resource: arn("plain")}}},
		{"GetParameters", &ssmtypes.GetParametersRequest{Names: []string{"arn:aws:ssm:us-east-1:123456789012:parameter/api/key:prod", "/db"}},
			[]awsapi.Access{{Action: "ssm:GetParameters", Resource: "arn:aws:ssm:us-east-1:123456789012:parameter/api/key"},
				{Action: "ssm:GetParameters", Resource: arn("db")}}},
		{"GetParametersByPath", &ssmtypes.GetParametersByPathRequest{Path: awsapi.String("/api")},
			[]awsapi.Access{{Action: "ssm:GetParametersByPath", Resource: arn("api")}}},
		{"PutParameter", &ssmtypes.PutParameterRequest{Name: awsapi.String("/x"), Tags: []ssmtypes.Tag{{Key: awsapi.String("env"), Value: awsapi.String("prod")}}},
			[]awsapi.Access{{Action: "ssm:PutParameter", Resource: arn("x"), Context: map[string][]string{"aws:RequestTag/env": {"prod"}, "aws:TagKeys": {"env"}}}}},
		{"RemoveTagsFromResource", &ssmtypes.RemoveTagsFromResourceRequest{ResourceId: awsapi.String("/x"), TagKeys: []string{"env"}},
			[]awsapi.Access{{Action: "ssm:RemoveTagsFromResource", Resource: arn("x"), Context: map[string][]string{"aws:TagKeys": {"env"}}}}},
		{"DescribeParameters", &ssmtypes.DescribeParametersRequest{}, nil},
	} {
		got, err := s.access(ctx, tc.op, tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s %+v:\n got %+v\nwant %+v", tc.op, tc.in, got, tc.want)
		}
	}
}
