package gateway

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"
)

// TestECRClient drives the gateway with the real aws-sdk-go-v2 ECR client:
// its signing, its X-Amz-Target routing, its timestamp decoding and its
// error parsing (__type to a modelled error or a smithy.APIError code).
func TestECRClient(t *testing.T) {
	f := newFixture(t)
	f.now = time.Now()
	client := func(key, secret string) *ecr.Client {
		return ecr.New(ecr.Options{
			Region:           "ap-south-1",
			BaseEndpoint:     aws.String(f.srv.URL),
			RetryMaxAttempts: 1,
			Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}, nil
			}),
		})
	}
	c := client(testKey, testSecret)
	ctx := t.Context()

	out, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{
		RepositoryName:             aws.String("team/app"),
		ImageTagMutability:         types.ImageTagMutabilityImmutable,
		ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: true},
		Tags:                       []types.Tag{{Key: aws.String("env"), Value: aws.String("dev")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := out.Repository
	if aws.ToString(r.RepositoryName) != "team/app" || !aws.ToTime(r.CreatedAt).Equal(repoCreated) ||
		r.ImageTagMutability != types.ImageTagMutabilityImmutable || !r.ImageScanningConfiguration.ScanOnPush ||
		aws.ToString(r.RegistryId) != testAccount {
		t.Fatalf("repository %+v (created %v)", r, aws.ToTime(r.CreatedAt))
	}
	if info := f.rec.last(); info.Region != "ap-south-1" || info.Operation != "CreateRepository" {
		t.Fatalf("request info %+v", info)
	}

	desc, err := c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"a1", "b2"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.Repositories) != 2 || !aws.ToTime(desc.Repositories[1].CreatedAt).Equal(repoCreated) {
		t.Fatalf("%+v", desc.Repositories)
	}

	// A modelled error arrives as its typed error.
	_, err = c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("exists")})
	var exists *types.RepositoryAlreadyExistsException
	if !errors.As(err, &exists) || !strings.Contains(exists.ErrorMessage(), "already exists") {
		t.Fatalf("got %v", err)
	}

	// The rest arrive as smithy.APIError with the __type as code.
	apiError := func(err error, code, msgPart string) {
		t.Helper()
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), msgPart) {
			t.Fatalf("got %v, want %s containing %q", err, code, msgPart)
		}
	}
	_, err = c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{MaxResults: aws.Int32(5000)})
	apiError(err, "ValidationException", "Value '5000' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000")
	_, err = c.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String("x1")})
	apiError(err, "UnsupportedOperationException", "DeleteRepository")
	_, err = c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("boom")})
	apiError(err, "InternalFailure", "unknown error")
	_, err = client("AKIDNOBODY", testSecret).DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{})
	apiError(err, "UnrecognizedClientException", "The security token included in the request is invalid.")
	_, err = client(testKey, "wrong").DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{})
	apiError(err, "InvalidSignatureException", "The request signature we calculated does not match")
}
