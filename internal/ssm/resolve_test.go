package ssm

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

func TestResolveValue(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.put(&sdk.PutParameterInput{Name: aws.String("/api/key"), Value: aws.String("k1"), Type: types.ParameterTypeSecureString})
	e.put(&sdk.PutParameterInput{Name: aws.String("/api/key"), Value: aws.String("k2"), Overwrite: aws.Bool(true)})
	e.putString("/solo", "slash")
	e.putString("flat", "no slash")
	west := e.clientIn("us-west-2")
	if _, err := west.PutParameter(ctx, &sdk.PutParameterInput{Name: aws.String("/api/key"), Value: aws.String("west"),
		Type: types.ParameterTypeString}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		region, ref, value, arn string
	}{
		{testRegion, "/api/key", "k2", "arn:aws:ssm:us-east-1:123456789012:parameter/api/key"},
		{testRegion, "api/key", "k2", "arn:aws:ssm:us-east-1:123456789012:parameter/api/key"},
		{testRegion, "/api/key:1", "k1", "arn:aws:ssm:us-east-1:123456789012:parameter/api/key"},
		{testRegion, "arn:aws:ssm:us-east-1:123456789012:parameter/api/key", "k2", "arn:aws:ssm:us-east-1:123456789012:parameter/api/key"},
		{testRegion, "arn:aws:ssm:us-west-2:123456789012:parameter/api/key", "west", "arn:aws:ssm:us-west-2:123456789012:parameter/api/key"},
		{"us-west-2", "/api/key", "west", "arn:aws:ssm:us-west-2:123456789012:parameter/api/key"},
		{testRegion, "arn:aws:ssm:us-east-1:123456789012:parameter/solo", "slash", "arn:aws:ssm:us-east-1:123456789012:parameter/solo"},
		{testRegion, "arn:aws:ssm:us-east-1:123456789012:parameter/flat", "no slash", "arn:aws:ssm:us-east-1:123456789012:parameter/flat"},
		{testRegion, "flat", "no slash", "arn:aws:ssm:us-east-1:123456789012:parameter/flat"},
	} {
		value, arn, err := e.ssm.ResolveValue(ctx, tc.region, tc.ref)
		if err != nil || value != tc.value || arn != tc.arn {
			t.Errorf("ResolveValue(%s, %s) = %q, %q, %v", tc.region, tc.ref, value, arn, err)
		}
	}
	for _, tc := range []struct {
		ref  string
		want error
	}{
		{"/api/none", ErrParameterNotFound},
		{"/api/key:prod", ErrParameterNotFound},
		{"/api/key:5", ErrParameterVersionNotFound},
		{"arn:aws:ssm:us-east-1:999999999999:parameter/api/key", ErrParameterNotFound},
		{"arn:aws:ssm:eu-west-1:123456789012:parameter/api/key", ErrParameterNotFound},
		{"/aws/service/x", ErrParameterNotFound},
		{"bad name", ErrInvalidName},
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:db", ErrInvalidName},
	} {
		_, _, err := e.ssm.ResolveValue(ctx, testRegion, tc.ref)
		if !errors.Is(err, tc.want) {
			t.Errorf("ResolveValue(%s): %v, want %v", tc.ref, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), "k1") || strings.Contains(err.Error(), "k2")) {
			t.Errorf("ResolveValue(%s): the error quotes a value: %v", tc.ref, err)
		}
	}
}
