package secretsmanager

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	sdktypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/secretsmanager/smtypes"
)

func TestAccess(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	created, err := e.client.CreateSecret(ctx, &sdk.CreateSecretInput{Name: aws.String("db-password"), SecretString: aws.String("pw"),
		Tags: []sdktypes.Tag{{Key: aws.String("team"), Value: aws.String("web")}}})
	if err != nil {
		t.Fatal(err)
	}
	full := aws.ToString(created.ARN)
	const pol = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`
	if _, err := e.client.PutResourcePolicy(ctx, &sdk.PutResourcePolicyInput{SecretId: aws.String("db-password"), ResourcePolicy: aws.String(pol)}); err != nil {
		t.Fatal(err)
	}
	rctx := awsapi.WithRequest(ctx, &awsapi.RequestInfo{Region: testRegion})
	partial := "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-password"
	secretTags := map[string][]string{"aws:ResourceTag/team": {"web"}, "secretsmanager:ResourceTag/team": {"web"}}
	for _, tc := range []struct {
		op   string
		in   any
		want []awsapi.Access
	}{
		// The secret's complete ARN whatever the call names it by.
		{"GetSecretValue", &smtypes.GetSecretValueRequest{SecretId: aws.String("db-password")},
			[]awsapi.Access{{Action: "secretsmanager:GetSecretValue", Resource: full, ResourcePolicy: pol, Context: secretTags}}},
		{"GetSecretValue", &smtypes.GetSecretValueRequest{SecretId: aws.String(partial)},
			[]awsapi.Access{{Action: "secretsmanager:GetSecretValue", Resource: full, ResourcePolicy: pol, Context: secretTags}}},
		{"DescribeSecret", &smtypes.DescribeSecretRequest{SecretId: aws.String(full)},
			[]awsapi.Access{{Action: "secretsmanager:DescribeSecret", Resource: full, ResourcePolicy: pol, Context: secretTags}}},
		// A secret that does not exist: the ARN its name would have.
		{"GetSecretValue", &smtypes.GetSecretValueRequest{SecretId: aws.String("missing")},
			[]awsapi.Access{{Action: "secretsmanager:GetSecretValue", Resource: "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing"}}},
		{"CreateSecret", &smtypes.CreateSecretRequest{Name: aws.String("new"), Tags: []smtypes.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}},
			[]awsapi.Access{{Action: "secretsmanager:CreateSecret", Resource: "arn:aws:secretsmanager:us-east-1:123456789012:secret:new",
				Context: map[string][]string{"aws:RequestTag/env": {"prod"}, "aws:TagKeys": {"env"}}}}},
		{"ListSecrets", &smtypes.ListSecretsRequest{}, nil},
		{"GetRandomPassword", &smtypes.GetRandomPasswordRequest{}, nil},
	} {
		got, err := e.sm.access(rctx, tc.op, tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s %+v:\n got %+v %v\nwant %+v", tc.op, tc.in, got, err, tc.want)
		}
	}
	got, _ := e.sm.access(rctx, "UntagResource", &smtypes.UntagResourceRequest{SecretId: aws.String("db-password"), TagKeys: []string{"team"}})
	if len(got) != 1 || strings.Join(got[0].Context["aws:TagKeys"], ",") != "team" || got[0].Context["aws:ResourceTag/team"][0] != "web" {
		t.Errorf("UntagResource: %+v", got)
	}
}
