package ecr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/awsapitest"
	"github.com/berth/berth/internal/blob"
	"github.com/berth/berth/internal/ecr/ecrtypes"
	"github.com/berth/berth/internal/registry"
	"github.com/berth/berth/internal/store"
)

// awsError is err as ECR's clients see it (nil for nil), for tests of
// functions that return the service's domain errors.
func awsError(err error) error {
	if err == nil {
		return nil
	}
	return newErrorTable(slog.New(slog.DiscardHandler), testAccount).Map(context.Background(), err)
}

func TestErrorTable(t *testing.T) {
	const serverMessage = "An internal error occurred. Try again."
	layer, child := digest.FromString("layer"), digest.FromString("child")
	repo := subject{repo: "app"}
	image := subject{repo: "app", image: ecrtypes.ImageIdentifier{ImageTag: str("v1")}}
	passed := awsapi.Errorf("KmsException", "Key 'k' does not exist")
	awsapitest.CheckErrorTable(t, func(log *slog.Logger) *awsapi.ErrorTable { return newErrorTable(log, testAccount) }, []awsapitest.ErrorCase{
		{Name: "invalid parameter", Err: invalidParameter("nextToken", "Invalid NextToken"), Code: "InvalidParameterException", Message: "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'", Status: 400},
		{Name: "model constraint", Err: validationError("layerDigest", "x", "Member must satisfy regular expression pattern: "+imageDigestPattern), Code: "InvalidParameterException", Message: "Invalid parameter at 'layerDigest' failed to satisfy constraint: 'must satisfy regular expression '" + imageDigestPattern + "''", Status: 400},
		{Name: "repository not found", Err: repo.wrap(registry.ErrRepositoryNotFound), Code: "RepositoryNotFoundException", Message: "The repository with name 'app' does not exist in the registry with id '123456789012'", Status: 400},
		{Name: "repository of another registry", Err: subject{repo: "app", registry: "210987654321"}.wrap(registry.ErrRepositoryNotFound), Code: "RepositoryNotFoundException", Message: "The repository with name 'app' does not exist in the registry with id '210987654321'", Status: 400},
		{Name: "repository exists", Err: repo.wrap(registry.ErrRepositoryExists), Code: "RepositoryAlreadyExistsException", Message: "The repository with name 'app' already exists in the registry with id '123456789012'", Status: 400},
		{Name: "repository not empty", Err: repo.wrap(registry.ErrRepositoryNotEmpty), Code: "RepositoryNotEmptyException", Message: "The repository with name 'app' in registry with id '123456789012' cannot be deleted because it still contains images", Status: 400},
		{Name: "image not found", Err: image.wrap(registry.ErrImageNotFound), Code: "ImageNotFoundException", Message: "The image with imageId {imageDigest:'null', imageTag:'v1'} does not exist within the repository with name 'app' in the registry with id '123456789012'", Status: 400},
		{Name: "digest mismatch", Err: subject{repo: "app", image: ecrtypes.ImageIdentifier{ImageDigest: str(layer.String())}}.wrap(registry.ErrDigestMismatch), Code: "ImageDigestDoesNotMatchException", Message: "The provided image digest '" + layer.String() + "' does not match the digest calculated for the image manifest", Status: 400},
		{Name: "tag immutable", Err: repo.wrap(&registry.TagImmutableError{Repository: "app", Tag: "v1"}), Code: "ImageTagAlreadyExistsException", Message: "The image tag 'v1' already exists in the 'app' repository and cannot be overwritten because the repository is immutable.", Status: 400},
		{Name: "manifest invalid", Err: repo.wrap(&registry.ManifestInvalidError{Reason: "no layers"}), Code: "InvalidParameterException", Message: "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'no layers'", Status: 400},
		{Name: "layers missing", Err: repo.wrap(&registry.MissingReferencesError{Blobs: []digest.Digest{layer}}), Code: "LayersNotFoundException", Message: "Layers with digests '[" + layer.String() + "]' required for pushing image into repository with name 'app' in the registry with id '123456789012' do not exist", Status: 400},
		{Name: "images missing", Err: repo.wrap(&registry.MissingReferencesError{Manifests: []digest.Digest{child}}), Code: "ReferencedImagesNotFoundException", Message: "The manifest list references images that do not exist in the repository with name 'app' in the registry with id '123456789012': [" + child.String() + "]", Status: 400},
		{Name: "unsupported digest", Err: repo.wrap(blob.ErrUnsupportedDigest), Code: "InvalidParameterException", Message: "Invalid parameter at 'layerDigest' failed to satisfy constraint: 'only sha256 and sha512 digests are supported'", Status: 400},
		{Name: "layer not found", Err: subject{repo: "app", layer: "sha256:abc"}.wrap(registry.ErrBlobNotFound), Code: "LayersNotFoundException", Message: "The layer with digest 'sha256:abc' does not exist in the repository with name 'app' in the registry with id '123456789012'", Status: 400},
		{Name: "upload not found", Err: subject{repo: "app", upload: "u1"}.wrap(errUploadNotFound), Code: "UploadNotFoundException", Message: "The upload with id 'u1' does not exist in the repository with name 'app' in the registry with id '123456789012'", Status: 400},
		{Name: "policy not found", Err: repo.wrap(errRepositoryPolicyNotFound), Code: "RepositoryPolicyNotFoundException", Message: "Repository policy does not exist for the repository with name 'app' in the registry with id '123456789012'", Status: 400},
		{Name: "lifecycle policy not found", Err: repo.wrap(errLifecyclePolicyNotFound), Code: "LifecyclePolicyNotFoundException", Message: "Lifecycle policy does not exist for the repository with name 'app' in the registry with id '123456789012'", Status: 400},
		{Name: "preview not found", Err: repo.wrap(errPreviewNotFound), Code: "LifecyclePolicyPreviewNotFoundException", Message: "Lifecycle policy preview request does not exist for the repository with name 'app' in the registry with id '123456789012'", Status: 400},
		{Name: "preview in progress", Err: repo.wrap(errPreviewInProgress), Code: "LifecyclePolicyPreviewInProgressException", Message: "The previous lifecycle policy preview request has not completed for the repository with name 'app' in the registry with id '123456789012'. Wait and try again.", Status: 400},
		{Name: "scan not found", Err: image.wrap(errScanNotFound), Code: "ScanNotFoundException", Message: "Image scan does not exist for the image with '{imageDigest:'null', imageTag:'v1'}' in the repository with name 'app' in the registry with id '123456789012'", Status: 400},
		{Name: "scan quota", Err: image.wrap(fmt.Errorf("attempt: %w", errScanQuotaExceeded)), Code: "LimitExceededException", Message: "The scan quota per image has been exceeded. Wait and try again.", Status: 400},
		{Name: "wrapped subject", Err: fmt.Errorf("describe: %w", repo.wrap(registry.ErrRepositoryNotFound)), Code: "RepositoryNotFoundException", Message: "The repository with name 'app' does not exist in the registry with id '123456789012'", Status: 400},
		{Name: "AWS error", Err: passed, Code: "KmsException", Message: "Key 'k' does not exist", Status: 400},
		{Name: "AWS error with a subject", Err: repo.wrap(passed), Code: "KmsException", Message: "Key 'k' does not exist", Status: 400},
		{Name: "store failure", Err: repo.wrap(store.ErrClosed), Code: "ServerException", Message: serverMessage, Status: 500, Logged: true},
		{Name: "unknown", Err: errors.New("disk on fire"), Code: "ServerException", Message: serverMessage, Status: 500, Logged: true},
		{Name: "timed out", Err: repo.wrap(context.DeadlineExceeded), Code: "InternalFailure", Message: awsapi.InternalFailure().Message, Status: 500},
	})
}

// The gateway's hooks answer in ECR's words, the model's constraints
// through the table.
func TestGatewayHooks(t *testing.T) {
	f := newFixture(t)
	v := f.svc.ValidationError("repositoryName", "A", "Member must satisfy regular expression pattern: "+registry.RepositoryNamePattern)
	if v.Code != "InvalidParameterException" || v.Message != "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '"+registry.RepositoryNamePattern+"''" {
		t.Fatalf("validation error %+v", v)
	}
	if u := f.svc.Unsupported("StartImageScan"); u.Code != "UnsupportedOperationException" || u.Message != "berth does not support StartImageScan yet" {
		t.Fatalf("unsupported %+v", u)
	}
}
