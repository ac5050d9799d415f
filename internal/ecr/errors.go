package ecr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/blob"
	"github.com/berth/berth/internal/registry"
)

// Errors, in ECR's wording. Messages marked UNVERIFIED follow ECR's style
// where no capture of the real text was available.

func validationError(path, _ /* value */, constraint string) *awsapi.Error {
	// ECR words a pattern as "must satisfy regular expression '<regex>'"
	// where the generic AWS wording is "Member must satisfy regular
	// expression pattern: <regex>".
	if re, ok := strings.CutPrefix(constraint, "Member must satisfy regular expression pattern: "); ok {
		constraint = "must satisfy regular expression '" + re + "'"
	}
	return invalidParameter(path, constraint)
}

func invalidParameter(path, constraint string) *awsapi.Error {
	return awsapi.Errorf("InvalidParameterException", "Invalid parameter at '%s' failed to satisfy constraint: '%s'", path, constraint)
}

func unsupported(op string) *awsapi.Error {
	// Not an ECR error code: no modelled one says "not implemented", and
	// clients print unmodelled codes as they are.
	return awsapi.Errorf("UnsupportedOperationException", "berth does not support %s yet", op)
}

func invalidARN() *awsapi.Error { return invalidParameter("resourceArn", "Invalid ARN") }

func errRepositoryNotFound(repo, registryID string) *awsapi.Error {
	return awsapi.Errorf("RepositoryNotFoundException", "The repository with name '%s' does not exist in the registry with id '%s'", repo, registryID)
}

func errImageNotFound(id ImageIdentifier, repo, registryID string) *awsapi.Error {
	return awsapi.Errorf("ImageNotFoundException", "The image with imageId %s does not exist within the repository with name '%s' in the registry with id '%s'", imageIDString(id), repo, registryID)
}

// imageIDString renders an image id the way ECR's messages do:
// {imageDigest:'null', imageTag:'latest'}.
func imageIDString(id ImageIdentifier) string {
	orNull := func(p *string) string {
		if p == nil {
			return "null"
		}
		return *p
	}
	return fmt.Sprintf("{imageDigest:'%s', imageTag:'%s'}", orNull(id.ImageDigest), orNull(id.ImageTag))
}

func errLayersNotFound(digests []digest.Digest, repo, registryID string) *awsapi.Error {
	// UNVERIFIED wording.
	list := make([]string, len(digests))
	for i, d := range digests {
		list[i] = d.String()
	}
	return awsapi.Errorf("LayersNotFoundException", "Layers with digests '[%s]' required for pushing image into repository with name '%s' in the registry with id '%s' do not exist", strings.Join(list, ", "), repo, registryID)
}

func errServer() *awsapi.Error {
	return &awsapi.Error{Code: "ServerException", Message: "An internal error occurred. Try again.", Status: http.StatusInternalServerError}
}

// subject names what a failed call was working on, for the messages of the
// exceptions catalog errors turn into.
type subject struct {
	repo  string
	image ImageIdentifier
}

// fail maps an error from the catalog or the blob store to the ECR
// exception a client should see. It is the one place that does.
func (s *service) fail(ctx context.Context, err error, subj subject) error {
	var apiErr *awsapi.Error
	var immutable *registry.TagImmutableError
	var invalid *registry.ManifestInvalidError
	var missing *registry.MissingReferencesError
	switch {
	case errors.As(err, &apiErr):
		return apiErr
	case errors.Is(err, registry.ErrRepositoryNotFound):
		return errRepositoryNotFound(subj.repo, s.account)
	case errors.Is(err, registry.ErrRepositoryExists):
		return awsapi.Errorf("RepositoryAlreadyExistsException", "The repository with name '%s' already exists in the registry with id '%s'", subj.repo, s.account)
	case errors.Is(err, registry.ErrRepositoryNotEmpty):
		return awsapi.Errorf("RepositoryNotEmptyException", "The repository with name '%s' in registry with id '%s' cannot be deleted because it still contains images", subj.repo, s.account)
	case errors.Is(err, registry.ErrImageNotFound):
		return errImageNotFound(subj.image, subj.repo, s.account)
	case errors.Is(err, registry.ErrDigestMismatch):
		// UNVERIFIED wording.
		return awsapi.Errorf("ImageDigestDoesNotMatchException", "The provided image digest '%s' does not match the digest calculated for the image manifest", awsapi.Deref(subj.image.ImageDigest))
	case errors.As(err, &immutable):
		return awsapi.Errorf("ImageTagAlreadyExistsException", "%s", immutable.Error())
	case errors.As(err, &invalid):
		return invalidParameter("ImageManifest", invalid.Reason)
	case errors.As(err, &missing) && len(missing.Blobs) > 0:
		return errLayersNotFound(missing.Blobs, subj.repo, s.account)
	case errors.As(err, &missing):
		list := make([]string, len(missing.Manifests))
		for i, d := range missing.Manifests {
			list[i] = d.String()
		}
		// UNVERIFIED wording.
		return awsapi.Errorf("ReferencedImagesNotFoundException", "The manifest list references images that do not exist in the repository with name '%s' in the registry with id '%s': [%s]", subj.repo, s.account, strings.Join(list, ", "))
	case errors.Is(err, blob.ErrUnsupportedDigest):
		return invalidParameter("layerDigest", "only sha256 and sha512 digests are supported")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	s.log.ErrorContext(ctx, "ecr: internal error", "repository", subj.repo, "error", err)
	return errServer()
}
