package ecr

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/opencontainers/go-digest"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/gateway"
	"github.com/berth/berth/internal/registry"
)

const (
	sdkKey    = "AKIDBERTHTEST"
	sdkSecret = "berth-test-secret"
)

type sdkKeys struct{}

func (sdkKeys) Secret(id string) (string, string, bool) {
	return sdkSecret, testAccount, id == sdkKey
}

// newSDKClient serves the ECR service through the gateway and returns the
// real SDK client pointed at it.
func newSDKClient(t *testing.T) (*sdk.Client, *fixture) {
	t.Helper()
	f := newFixture(t)
	gw, err := gateway.New(gateway.Config{
		Region:      testRegion,
		AccountID:   testAccount,
		Credentials: sdkKeys{},
		Services:    []*awsapi.Service{f.svc},
		Logger:      slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	client := sdk.New(sdk.Options{
		Region:       testRegion,
		BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: sdkKey, SecretAccessKey: sdkSecret}, nil
		}),
		RetryMaxAttempts: 1,
	})
	return client, f
}

// apiError is what every SDK error carries: the wire code and message.
type apiError interface {
	ErrorCode() string
	ErrorMessage() string
}

func wantSDKErr[T error](t *testing.T, err error, msg string) {
	t.Helper()
	var typed T
	if !errors.As(err, &typed) {
		t.Fatalf("want %T, got %v", typed, err)
	}
	var ae apiError
	if errors.As(err, &ae) && msg != "" && ae.ErrorMessage() != msg {
		t.Fatalf("message:\n got %q\nwant %q", ae.ErrorMessage(), msg)
	}
}

func TestSDKWalkthrough(t *testing.T) {
	client, f := newSDKClient(t)
	ctx := context.Background()

	// aws ecr create-repository --repository-name my-app
	//   --image-scanning-configuration scanOnPush=true --encryption-configuration encryptionType=AES256
	created, err := client.CreateRepository(ctx, &sdk.CreateRepositoryInput{
		RepositoryName:             aws.String("my-app"),
		ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: true},
		EncryptionConfiguration:    &types.EncryptionConfiguration{EncryptionType: types.EncryptionTypeAes256},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := created.Repository
	if aws.ToString(r.RepositoryUri) != "localhost:4566/my-app" || aws.ToString(r.RepositoryArn) != "arn:aws:ecr:us-east-1:123456789012:repository/my-app" ||
		!r.ImageScanningConfiguration.ScanOnPush || r.EncryptionConfiguration.EncryptionType != types.EncryptionTypeAes256 ||
		r.ImageTagMutability != types.ImageTagMutabilityMutable || r.CreatedAt == nil || r.CreatedAt.IsZero() {
		t.Fatalf("repository: %+v", r)
	}
	_, err = client.CreateRepository(ctx, &sdk.CreateRepositoryInput{RepositoryName: aws.String("my-app")})
	wantSDKErr[*types.RepositoryAlreadyExistsException](t, err, "The repository with name 'my-app' already exists in the registry with id '123456789012'")
	_, err = client.CreateRepository(ctx, &sdk.CreateRepositoryInput{RepositoryName: aws.String("My_App")})
	wantSDKErr[*types.InvalidParameterException](t, err, "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '"+registry.RepositoryNamePattern+"''")
	_, err = client.DescribeRepositories(ctx, &sdk.DescribeRepositoriesInput{RepositoryNames: []string{"nope"}})
	wantSDKErr[*types.RepositoryNotFoundException](t, err, "The repository with name 'nope' does not exist in the registry with id '123456789012'")

	// aws ecr get-login-password: the password is the token after "AWS:".
	auth, err := client.GetAuthorizationToken(ctx, &sdk.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(aws.ToString(auth.AuthorizationData[0].AuthorizationToken))
	password, ok := strings.CutPrefix(string(raw), "AWS:")
	if key, _, err := f.tokens.Verify(password); !ok || err != nil || key != sdkKey {
		t.Fatalf("token %q: %q %v", raw, key, err)
	}
	if aws.ToString(auth.AuthorizationData[0].ProxyEndpoint) != "http://localhost:4566" || auth.AuthorizationData[0].ExpiresAt == nil {
		t.Fatalf("auth: %+v", auth.AuthorizationData[0])
	}

	// A push through the layer-upload API.
	layer := bytes.Repeat([]byte("layer bytes "), 500)
	config := []byte(`{"architecture":"arm64","os":"linux"}`)
	sdkUpload := func(content []byte) digest.Digest {
		init, err := client.InitiateLayerUpload(ctx, &sdk.InitiateLayerUploadInput{RepositoryName: aws.String("my-app")})
		if err != nil {
			t.Fatal(err)
		}
		half := int64(len(content) / 2)
		for _, p := range [][2]int64{{0, half}, {half, int64(len(content))}} {
			if _, err := client.UploadLayerPart(ctx, &sdk.UploadLayerPartInput{
				RepositoryName: aws.String("my-app"), UploadId: init.UploadId, LayerPartBlob: content[p[0]:p[1]],
				PartFirstByte: aws.Int64(p[0]), PartLastByte: aws.Int64(p[1] - 1),
			}); err != nil {
				t.Fatal(err)
			}
		}
		_, err = client.UploadLayerPart(ctx, &sdk.UploadLayerPartInput{
			RepositoryName: aws.String("my-app"), UploadId: init.UploadId, LayerPartBlob: []byte("x"), PartFirstByte: aws.Int64(0), PartLastByte: aws.Int64(0),
		})
		wantSDKErr[*types.InvalidLayerPartException](t, err, "")
		d := digest.FromBytes(content)
		if _, err := client.CompleteLayerUpload(ctx, &sdk.CompleteLayerUploadInput{RepositoryName: aws.String("my-app"), UploadId: init.UploadId, LayerDigests: []string{d.String()}}); err != nil {
			t.Fatal(err)
		}
		return d
	}
	layerDigest, configDigest := sdkUpload(layer), sdkUpload(config)
	avail, err := client.BatchCheckLayerAvailability(ctx, &sdk.BatchCheckLayerAvailabilityInput{RepositoryName: aws.String("my-app"), LayerDigests: []string{layerDigest.String()}})
	if err != nil || len(avail.Layers) != 1 || avail.Layers[0].LayerAvailability != types.LayerAvailabilityAvailable || aws.ToInt64(avail.Layers[0].LayerSize) != int64(len(layer)) {
		t.Fatalf("availability: %+v %v", avail, err)
	}
	manifest := dockerManifest(configDigest, len(config), map[digest.Digest]int{layerDigest: len(layer)})
	for _, tag := range []string{"latest", "v1.2.3"} {
		if _, err := client.PutImage(ctx, &sdk.PutImageInput{RepositoryName: aws.String("my-app"), ImageManifest: aws.String(manifest), ImageTag: aws.String(tag)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = client.PutImage(ctx, &sdk.PutImageInput{RepositoryName: aws.String("my-app"), ImageManifest: aws.String(manifest), ImageTag: aws.String("latest")})
	wantSDKErr[*types.ImageAlreadyExistsException](t, err, "")

	got, err := client.BatchGetImage(ctx, &sdk.BatchGetImageInput{RepositoryName: aws.String("my-app"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("latest")}, {ImageTag: aws.String("gone")}}})
	if err != nil || len(got.Images) != 1 || aws.ToString(got.Images[0].ImageManifest) != manifest || len(got.Failures) != 1 || got.Failures[0].FailureCode != types.ImageFailureCodeImageNotFound {
		t.Fatalf("batch get: %+v %v", got, err)
	}
	desc, err := client.DescribeImages(ctx, &sdk.DescribeImagesInput{RepositoryName: aws.String("my-app")})
	if err != nil || len(desc.ImageDetails) != 1 {
		t.Fatalf("describe: %+v %v", desc, err)
	}
	d := desc.ImageDetails[0]
	if aws.ToInt64(d.ImageSizeInBytes) != int64(len(layer)) || len(d.ImageTags) != 2 || d.ImagePushedAt == nil || aws.ToString(d.ArtifactMediaType) != configMediaType {
		t.Fatalf("detail: %+v", d)
	}
	var ids []types.ImageIdentifier
	pages := sdk.NewListImagesPaginator(client, &sdk.ListImagesInput{RepositoryName: aws.String("my-app"), MaxResults: aws.Int32(1)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, page.ImageIds...)
	}
	if len(ids) != 2 {
		t.Fatalf("listed %+v", ids)
	}
	_, err = client.DescribeImages(ctx, &sdk.DescribeImagesInput{RepositoryName: aws.String("my-app"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("gone")}}})
	wantSDKErr[*types.ImageNotFoundException](t, err, "The image with imageId {imageDigest:'null', imageTag:'gone'} does not exist within the repository with name 'my-app' in the registry with id '123456789012'")

	// The article's scanning and lifecycle commands.
	if _, err := client.PutRegistryScanningConfiguration(ctx, &sdk.PutRegistryScanningConfigurationInput{
		ScanType: types.ScanTypeEnhanced,
		Rules: []types.RegistryScanningRule{{
			RepositoryFilters: []types.ScanningRepositoryFilter{{Filter: aws.String("*"), FilterType: types.ScanningRepositoryFilterTypeWildcard}},
			ScanFrequency:     types.ScanFrequencyContinuousScan,
		}},
	}); err != nil {
		t.Fatal(err)
	}
	scanning, err := client.GetRegistryScanningConfiguration(ctx, &sdk.GetRegistryScanningConfigurationInput{})
	if err != nil || scanning.ScanningConfiguration.ScanType != types.ScanTypeEnhanced || len(scanning.ScanningConfiguration.Rules) != 1 {
		t.Fatalf("scanning: %+v %v", scanning, err)
	}
	// Enhanced continuous scanning covers the image; no scan controller
	// runs here, so the scan stays due.
	findings, err := client.DescribeImageScanFindings(ctx, &sdk.DescribeImageScanFindingsInput{RepositoryName: aws.String("my-app"), ImageId: &types.ImageIdentifier{ImageTag: aws.String("latest")}})
	if err != nil || findings.ImageScanStatus.Status != types.ScanStatusInProgress {
		t.Fatalf("scan findings: %+v %v", findings, err)
	}
	if _, err := client.PutLifecyclePolicy(ctx, &sdk.PutLifecyclePolicyInput{RepositoryName: aws.String("my-app"), LifecyclePolicyText: aws.String(articlePolicy)}); err != nil {
		t.Fatal(err)
	}
	lp, err := client.GetLifecyclePolicy(ctx, &sdk.GetLifecyclePolicyInput{RepositoryName: aws.String("my-app")})
	// No lifecycle controller runs here: never evaluated is the epoch, as
	// ECR answers it.
	if err != nil || aws.ToString(lp.LifecyclePolicyText) != articlePolicy || lp.LastEvaluatedAt == nil || lp.LastEvaluatedAt.Unix() != 0 {
		t.Fatalf("lifecycle: %+v %v", lp, err)
	}
	_, err = client.PutLifecyclePolicy(ctx, &sdk.PutLifecyclePolicyInput{RepositoryName: aws.String("my-app"), LifecyclePolicyText: aws.String(policy(rule(1, selAny), rule(2, selTagged)))})
	wantSDKErr[*types.InvalidParameterException](t, err, "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: Rule for tagStatus=ANY must have the lowest priority per storage class'")

	// Under enhanced scanning, manual scans are off.
	_, err = client.StartImageScan(ctx, &sdk.StartImageScanInput{RepositoryName: aws.String("my-app"), ImageId: &types.ImageIdentifier{ImageTag: aws.String("latest")}})
	wantSDKErr[*types.ValidationException](t, err, "This feature is disabled")

	del, err := client.BatchDeleteImage(ctx, &sdk.BatchDeleteImageInput{RepositoryName: aws.String("my-app"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v1.2.3")}}})
	if err != nil || len(del.ImageIds) != 1 || len(del.Failures) != 0 {
		t.Fatalf("batch delete: %+v %v", del, err)
	}
	_, err = client.DeleteRepository(ctx, &sdk.DeleteRepositoryInput{RepositoryName: aws.String("my-app")})
	wantSDKErr[*types.RepositoryNotEmptyException](t, err, "The repository with name 'my-app' in registry with id '123456789012' cannot be deleted because it still contains images")
	if _, err := client.DeleteRepository(ctx, &sdk.DeleteRepositoryInput{RepositoryName: aws.String("my-app"), Force: true}); err != nil {
		t.Fatal(err)
	}
	repos, err := client.DescribeRepositories(ctx, &sdk.DescribeRepositoriesInput{})
	if err != nil || len(repos.Repositories) != 0 {
		t.Fatalf("after delete: %+v %v", repos, err)
	}
}

// The registry policy is kept and answered as ECR does; an
// invalid one is refused and changes nothing.
func TestRegistryPolicy(t *testing.T) {
	client, _ := newSDKClient(t)
	ctx := context.Background()
	_, err := client.GetRegistryPolicy(ctx, &sdk.GetRegistryPolicyInput{})
	wantSDKErr[*types.RegistryPolicyNotFoundException](t, err, "Registry policy does not exist in the registry with id '123456789012'")
	_, err = client.DeleteRegistryPolicy(ctx, &sdk.DeleteRegistryPolicyInput{})
	wantSDKErr[*types.RegistryPolicyNotFoundException](t, err, "")

	policy := `{"Version":"2012-10-17","Statement":[{"Sid":"Replicate","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::210987654321:root"},"Action":["ecr:CreateRepository","ecr:ReplicateImage"],"Resource":"arn:aws:ecr:us-east-1:123456789012:repository/*"}]}`
	put, err := client.PutRegistryPolicy(ctx, &sdk.PutRegistryPolicyInput{PolicyText: aws.String(policy)})
	if err != nil || aws.ToString(put.PolicyText) != policy || aws.ToString(put.RegistryId) != testAccount {
		t.Fatalf("put: %+v %v", put, err)
	}
	_, err = client.PutRegistryPolicy(ctx, &sdk.PutRegistryPolicyInput{PolicyText: aws.String(`{"Statement":[{"Effect":"Allow"}]}`)})
	wantSDKErr[*types.InvalidParameterException](t, err, "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid registry policy provided'")
	got, err := client.GetRegistryPolicy(ctx, &sdk.GetRegistryPolicyInput{})
	if err != nil || aws.ToString(got.PolicyText) != policy {
		t.Fatalf("get after a refused put: %+v %v", got, err)
	}
	del, err := client.DeleteRegistryPolicy(ctx, &sdk.DeleteRegistryPolicyInput{})
	if err != nil || aws.ToString(del.PolicyText) != policy {
		t.Fatalf("delete: %+v %v", del, err)
	}
	_, err = client.GetRegistryPolicy(ctx, &sdk.GetRegistryPolicyInput{})
	wantSDKErr[*types.RegistryPolicyNotFoundException](t, err, "")
}
