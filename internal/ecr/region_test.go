package ecr

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecr/ecrtypes"
)

// callIn runs an operation as a request signed for region.
func callIn[Out any](t *testing.T, f *fixture, region, op string, in any) (*Out, error) {
	t.Helper()
	ctx := awsapi.WithRequest(context.Background(), &awsapi.RequestInfo{AccountID: testAccount, Region: region, AccessKeyID: "AKIDTEST"})
	out, err := f.svc.Operations[op].Call(ctx, in)
	if err != nil {
		return nil, err
	}
	return out.(*Out), nil
}

// TestRegions: each request works in its own region, where a repository
// of a name another region also has is a repository of its own.
func TestRegions(t *testing.T) {
	f := newFixture(t)
	const eu = "eu-central-1"
	arn := func(region string) string { return "arn:aws:ecr:" + region + ":" + testAccount + ":repository/app" }
	for _, region := range []string{testRegion, eu} {
		out, err := callIn[ecrtypes.CreateRepositoryResponse](t, f, region, "CreateRepository", &ecrtypes.CreateRepositoryRequest{
			RepositoryName:          str("app"),
			EncryptionConfiguration: &ecrtypes.EncryptionConfiguration{EncryptionType: str(ecrtypes.EncryptionTypeKms)},
			Tags:                    []ecrtypes.Tag{{Key: str("region"), Value: str(region)}},
		})
		if err != nil {
			t.Fatalf("%s: %v", region, err)
		}
		r := out.Repository
		if *r.RepositoryArn != arn(region) || *r.RepositoryUri != testHost+"/app" ||
			!strings.HasPrefix(*r.EncryptionConfiguration.KmsKey, "arn:aws:kms:"+region+":"+testAccount+":key/") {
			t.Fatalf("%s: created %s, URI %s, KMS key %s", region, *r.RepositoryArn, *r.RepositoryUri, *r.EncryptionConfiguration.KmsKey)
		}
	}
	if _, err := callIn[ecrtypes.CreateRepositoryResponse](t, f, eu, "CreateRepository", &ecrtypes.CreateRepositoryRequest{RepositoryName: str("app")}); err == nil {
		t.Fatal("created app twice in eu-central-1")
	}
	for _, region := range []string{testRegion, eu} {
		all, err := callIn[ecrtypes.DescribeRepositoriesResponse](t, f, region, "DescribeRepositories", &ecrtypes.DescribeRepositoriesRequest{})
		if err != nil || len(all.Repositories) != 1 || *all.Repositories[0].RepositoryArn != arn(region) {
			t.Fatalf("%s: described %+v, %v", region, all, err)
		}
		tags, err := callIn[ecrtypes.ListTagsForResourceResponse](t, f, region, "ListTagsForResource", &ecrtypes.ListTagsForResourceRequest{ResourceArn: str(arn(region))})
		if err != nil || len(tags.Tags) != 1 || *tags.Tags[0].Value != region {
			t.Fatalf("%s: tags %+v, %v", region, tags, err)
		}
	}
	// Another region's ARN names no repository here.
	_, err := callIn[ecrtypes.ListTagsForResourceResponse](t, f, testRegion, "ListTagsForResource", &ecrtypes.ListTagsForResourceRequest{ResourceArn: str(arn(eu))})
	wantErr(t, err, "RepositoryNotFoundException", "The repository with name 'app' does not exist in the registry with id '123456789012'")

	// Registry scanning configurations are per region.
	if _, err := callIn[ecrtypes.PutRegistryScanningConfigurationResponse](t, f, eu, "PutRegistryScanningConfiguration", &ecrtypes.PutRegistryScanningConfigurationRequest{ScanType: str(ecrtypes.ScanTypeEnhanced)}); err != nil {
		t.Fatal(err)
	}
	for region, want := range map[string]string{testRegion: ecrtypes.ScanTypeBasic, eu: ecrtypes.ScanTypeEnhanced} {
		got, err := callIn[ecrtypes.GetRegistryScanningConfigurationResponse](t, f, region, "GetRegistryScanningConfiguration", &ecrtypes.GetRegistryScanningConfigurationRequest{})
		if err != nil || *got.ScanningConfiguration.ScanType != want {
			t.Fatalf("%s: scanning %+v, %v; want %s", region, got, err, want)
		}
	}

	// Deleting one region's repository leaves the other's.
	if _, err := callIn[ecrtypes.DeleteRepositoryResponse](t, f, eu, "DeleteRepository", &ecrtypes.DeleteRepositoryRequest{RepositoryName: str("app")}); err != nil {
		t.Fatal(err)
	}
	if _, err := callIn[ecrtypes.DescribeRepositoriesResponse](t, f, testRegion, "DescribeRepositories", &ecrtypes.DescribeRepositoriesRequest{RepositoryNames: []string{"app"}}); err != nil {
		t.Fatal(err)
	}

	// A registry password is for the region it was asked in.
	token, err := callIn[ecrtypes.GetAuthorizationTokenResponse](t, f, eu, "GetAuthorizationToken", &ecrtypes.GetAuthorizationTokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(*token.AuthorizationData[0].AuthorizationToken)
	if _, region, err := f.tokens.Verify(strings.TrimPrefix(string(raw), "AWS:")); err != nil || region != eu {
		t.Fatalf("password for %q, %v; want %s", region, err, eu)
	}
}
