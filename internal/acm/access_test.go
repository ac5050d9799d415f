package acm

import (
	"context"
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/acm"
	sdktypes "github.com/aws/aws-sdk-go-v2/service/acm/types"

	"github.com/berth/berth/internal/acm/acmtypes"
	"github.com/berth/berth/internal/awsapi"
)

// withResourceTags reads each access's resource tags into its context, as
// the authorizer does when a policy tests them.
func withResourceTags(t *testing.T, ctx context.Context, accesses []awsapi.Access) []awsapi.Access {
	t.Helper()
	for i, a := range accesses {
		if a.ResourceTags == nil {
			continue
		}
		tags, err := a.ResourceTags(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(tags) > 0 {
			c := maps.Clone(a.Context)
			if c == nil {
				c = map[string][]string{}
			}
			maps.Copy(c, tags)
			accesses[i].Context = c
		}
		accesses[i].ResourceTags = nil
	}
	return accesses
}

func TestAccess(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	arn := e.request(&sdk.RequestCertificateInput{DomainName: aws.String("api.example.com"), ValidationMethod: sdktypes.ValidationMethodDns,
		Tags: []sdktypes.Tag{{Key: aws.String("team"), Value: aws.String("web")}}})
	rctx := awsapi.WithRequest(ctx, &awsapi.RequestInfo{Region: testRegion})
	teamWeb := map[string][]string{"aws:ResourceTag/team": {"web"}}
	anyCert := "arn:aws:acm:us-east-1:123456789012:certificate/*"
	missing := "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
	tested := map[string]bool{}
	for _, tc := range []struct {
		op   string
		in   any
		want []awsapi.Access
	}{
		{"RequestCertificate", &acmtypes.RequestCertificateRequest{DomainName: aws.String("a.example.com"), SubjectAlternativeNames: []string{"b.example.com"},
			ValidationMethod: aws.String("DNS"), KeyAlgorithm: aws.String("EC_prime256v1"),
			Options: &acmtypes.CertificateOptions{CertificateTransparencyLoggingPreference: aws.String("DISABLED")},
			Tags:    []acmtypes.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}},
			[]awsapi.Access{{Action: "acm:RequestCertificate", Resource: anyCert, Context: map[string][]string{
				"aws:RequestTag/env": {"prod"}, "aws:TagKeys": {"env"}, "acm:DomainNames": {"a.example.com", "b.example.com"},
				"acm:ValidationMethod": {"DNS"}, "acm:KeyAlgorithm": {"EC_prime256v1"}, "acm:CertificateTransparencyLogging": {"DISABLED"}}}}},
		{"ImportCertificate", &acmtypes.ImportCertificateRequest{},
			[]awsapi.Access{{Action: "acm:ImportCertificate", Resource: anyCert}}},
		{"ImportCertificate", &acmtypes.ImportCertificateRequest{CertificateArn: &arn},
			[]awsapi.Access{{Action: "acm:ImportCertificate", Resource: arn, Context: teamWeb}}},
		{"DescribeCertificate", &acmtypes.DescribeCertificateRequest{CertificateArn: &arn},
			[]awsapi.Access{{Action: "acm:DescribeCertificate", Resource: arn, Context: teamWeb}}},
		// A certificate that does not exist has no tags; the handler answers.
		{"DescribeCertificate", &acmtypes.DescribeCertificateRequest{CertificateArn: &missing},
			[]awsapi.Access{{Action: "acm:DescribeCertificate", Resource: missing}}},
		{"GetCertificate", &acmtypes.GetCertificateRequest{CertificateArn: &arn},
			[]awsapi.Access{{Action: "acm:GetCertificate", Resource: arn, Context: teamWeb}}},
		{"DeleteCertificate", &acmtypes.DeleteCertificateRequest{CertificateArn: &arn},
			[]awsapi.Access{{Action: "acm:DeleteCertificate", Resource: arn, Context: teamWeb}}},
		{"ExportCertificate", &acmtypes.ExportCertificateRequest{CertificateArn: &arn},
			[]awsapi.Access{{Action: "acm:ExportCertificate", Resource: arn, Context: teamWeb}}},
		{"RenewCertificate", &acmtypes.RenewCertificateRequest{CertificateArn: &arn},
			[]awsapi.Access{{Action: "acm:RenewCertificate", Resource: arn, Context: teamWeb}}},
		{"RevokeCertificate", &acmtypes.RevokeCertificateRequest{CertificateArn: &arn},
			[]awsapi.Access{{Action: "acm:RevokeCertificate", Resource: arn, Context: teamWeb}}},
		{"ResendValidationEmail", &acmtypes.ResendValidationEmailRequest{CertificateArn: &arn},
			[]awsapi.Access{{Action: "acm:ResendValidationEmail", Resource: arn, Context: teamWeb}}},
		{"UpdateCertificateOptions", &acmtypes.UpdateCertificateOptionsRequest{CertificateArn: &arn},
			[]awsapi.Access{{Action: "acm:UpdateCertificateOptions", Resource: arn, Context: teamWeb}}},
		{"ListTagsForCertificate", &acmtypes.ListTagsForCertificateRequest{CertificateArn: &arn},
			[]awsapi.Access{{Action: "acm:ListTagsForCertificate", Resource: arn, Context: teamWeb}}},
		{"AddTagsToCertificate", &acmtypes.AddTagsToCertificateRequest{CertificateArn: &arn, Tags: []acmtypes.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}},
			[]awsapi.Access{{Action: "acm:AddTagsToCertificate", Resource: arn, Context: map[string][]string{
				"aws:RequestTag/env": {"prod"}, "aws:TagKeys": {"env"}, "aws:ResourceTag/team": {"web"}}}}},
		{"RemoveTagsFromCertificate", &acmtypes.RemoveTagsFromCertificateRequest{CertificateArn: &arn, Tags: []acmtypes.Tag{{Key: aws.String("team")}}},
			[]awsapi.Access{{Action: "acm:RemoveTagsFromCertificate", Resource: arn, Context: map[string][]string{
				"aws:TagKeys": {"team"}, "aws:ResourceTag/team": {"web"}}}}},
	} {
		tested[tc.op] = true
		got, err := e.acm.access(rctx, tc.op, tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got = withResourceTags(t, rctx, got); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s %+v:\n got %+v\nwant %+v", tc.op, tc.in, got, tc.want)
		}
	}
	for _, op := range wildcardOperations {
		tested[op] = true
	}
	for op := range e.acm.Service().Model.Operations {
		if !tested[op] {
			t.Errorf("no test of %s", op)
		}
	}
}

// TestAccessCoversModel checks that every operation of ACM's model names
// a certificate or is listed as needing nothing but its action, and that
// every implemented operation's access accepts its input.
func TestAccessCoversModel(t *testing.T) {
	e := newTestEnv(t)
	svc := e.acm.Service()
	ctx := awsapi.WithRequest(context.Background(), &awsapi.RequestInfo{Region: testRegion})
	for op, o := range svc.Model.Operations {
		names := o.Input != nil && svc.Model.Shapes[o.Input.Shape].Members["CertificateArn"] != nil
		creates := op == "RequestCertificate" || op == "ImportCertificate"
		if wildcard := slices.Contains(wildcardOperations, op); wildcard == (names || creates) {
			t.Errorf("%s: names a certificate %v, listed as wildcard %v", op, names || creates, wildcard)
		}
	}
	for op, o := range svc.Operations {
		if _, err := svc.Access(ctx, op, o.NewInput()); err != nil {
			t.Errorf("%s: %v", op, err)
		}
	}
}

// TestAccessReadFailure checks that a certificate whose tags cannot be
// read fails the decision rather than being authorized without them.
func TestAccessReadFailure(t *testing.T) {
	e := newTestEnv(t)
	ctx := awsapi.WithRequest(context.Background(), &awsapi.RequestInfo{Region: testRegion})
	arn := "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
	accesses, err := e.acm.access(ctx, "DeleteCertificate", &acmtypes.DeleteCertificateRequest{CertificateArn: &arn})
	if err != nil || len(accesses) != 1 || accesses[0].ResourceTags == nil {
		t.Fatalf("%+v %v", accesses, err)
	}
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := accesses[0].ResourceTags(ctx); err == nil {
		t.Fatal("no error")
	}
}
