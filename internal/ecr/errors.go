package ecr

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/blob"
	"github.com/berth/berth/internal/ecr/ecrtypes"
	"github.com/berth/berth/internal/registry"
)

// Errors of the ECR API. Handlers return the catalog's and the blob
// store's errors and these, wrapped with the subject of the call
// (subject.wrap) when ECR's message names it; newErrorTable says what ECR
// answers for each, and is the one place that does. Messages marked
// UNVERIFIED follow ECR's style where no capture of the real text was
// available.
var (
	errUploadNotFound           = errors.New("upload not found")
	errRepositoryPolicyNotFound = errors.New("repository policy not found")
	errLifecyclePolicyNotFound  = errors.New("lifecycle policy not found")
	errRegistryPolicyNotFound   = errors.New("registry policy not found")
	errPreviewNotFound          = errors.New("lifecycle policy preview not found")
	errPreviewInProgress        = errors.New("lifecycle policy preview in progress")
	errScanNotFound             = errors.New("image scan not found")
	errScanQuotaExceeded        = errors.New("image scan quota exceeded")
)

// invalidParameterError is input ECR refuses: the member at path breaks
// constraint, in ECR's words.
type invalidParameterError struct{ path, constraint string }

func (e *invalidParameterError) Error() string {
	return "invalid parameter " + e.path + ": " + e.constraint
}

func invalidParameter(path, constraint string) *invalidParameterError {
	return &invalidParameterError{path: path, constraint: constraint}
}

// validationError is the invalidParameter of a constraint of the model
// (and the gateway's ValidationError). ECR words a pattern as "must
// satisfy regular expression '<regex>'" where the generic AWS wording is
// "Member must satisfy regular expression pattern: <regex>".
func validationError(path, _ /* value */, constraint string) *invalidParameterError {
	if re, ok := strings.CutPrefix(constraint, "Member must satisfy regular expression pattern: "); ok {
		constraint = "must satisfy regular expression '" + re + "'"
	}
	return invalidParameter(path, constraint)
}

func unsupported(op string) *awsapi.Error {
	// Not an ECR error code: no modelled one says "not implemented", and
	// clients print unmodelled codes as they are.
	return awsapi.Errorf("UnsupportedOperationException", "berth does not support %s yet", op)
}

func invalidARN() *invalidParameterError { return invalidParameter("resourceArn", "Invalid ARN") }

// subject is what a call named, as ECR's messages quote it.
type subject struct {
	repo string
	// registry is the registry id the call named when it is not berth's
	// ("": berth's).
	registry string
	image    ecrtypes.ImageIdentifier
	upload   string
	layer    string
}

// wrap returns err carrying subj.
func (subj subject) wrap(err error) error { return &subjectError{subj, err} }

// subjectError is an error of a call, with what the call named.
type subjectError struct {
	subj subject
	err  error
}

func (e *subjectError) Error() string {
	return "repository " + e.subj.repo + ": " + e.err.Error()
}

func (e *subjectError) Unwrap() error { return e.err }

// imageIDString renders an image id the way ECR's messages do:
// {imageDigest:'null', imageTag:'latest'}.
func imageIDString(id ecrtypes.ImageIdentifier) string {
	orNull := func(p *string) string {
		if p == nil {
			return "null"
		}
		return *p
	}
	return fmt.Sprintf("{imageDigest:'%s', imageTag:'%s'}", orNull(id.ImageDigest), orNull(id.ImageTag))
}

// digestList renders digests the way ECR's messages list them.
func digestList(digests []digest.Digest) string {
	list := make([]string, len(digests))
	for i, d := range digests {
		list[i] = d.String()
	}
	return strings.Join(list, ", ")
}

// newErrorTable is ECR's error table for the registry with id account. A
// failure of berth itself (the store, the blob store) is ServerException,
// logged to log.
func newErrorTable(log *slog.Logger, account string) *awsapi.ErrorTable {
	// subjectOf is the subject err carries, in the registry it names.
	subjectOf := func(err error) subject {
		var s *subjectError
		var subj subject
		if errors.As(err, &s) {
			subj = s.subj
		}
		if subj.registry == "" {
			subj.registry = account
		}
		return subj
	}
	// about is the rule answering build's error, for the subject they
	// carry, to the errors that are target.
	about := func(target error, build func(subject) *awsapi.Error) awsapi.ErrorRule {
		return func(err error) *awsapi.Error {
			if !errors.Is(err, target) {
				return nil
			}
			return build(subjectOf(err))
		}
	}
	invalidParameterException := func(e *invalidParameterError) *awsapi.Error {
		return awsapi.Errorf("InvalidParameterException", "Invalid parameter at '%s' failed to satisfy constraint: '%s'", e.path, e.constraint)
	}
	return awsapi.NewErrorTable(log,
		awsapi.Error{Code: "ServerException", Message: "An internal error occurred. Try again.", Status: http.StatusInternalServerError},
		awsapi.As(invalidParameterException),
		about(registry.ErrRepositoryNotFound, func(s subject) *awsapi.Error {
			return awsapi.Errorf("RepositoryNotFoundException", "The repository with name '%s' does not exist in the registry with id '%s'", s.repo, s.registry)
		}),
		about(registry.ErrRepositoryExists, func(s subject) *awsapi.Error {
			return awsapi.Errorf("RepositoryAlreadyExistsException", "The repository with name '%s' already exists in the registry with id '%s'", s.repo, s.registry)
		}),
		about(registry.ErrRepositoryNotEmpty, func(s subject) *awsapi.Error {
			return awsapi.Errorf("RepositoryNotEmptyException", "The repository with name '%s' in registry with id '%s' cannot be deleted because it still contains images", s.repo, s.registry)
		}),
		about(registry.ErrImageNotFound, func(s subject) *awsapi.Error {
			return awsapi.Errorf("ImageNotFoundException", "The image with imageId %s does not exist within the repository with name '%s' in the registry with id '%s'", imageIDString(s.image), s.repo, s.registry)
		}),
		about(registry.ErrDigestMismatch, func(s subject) *awsapi.Error {
			// UNVERIFIED wording.
			return awsapi.Errorf("ImageDigestDoesNotMatchException", "The provided image digest '%s' does not match the digest calculated for the image manifest", awsapi.Deref(s.image.ImageDigest))
		}),
		awsapi.As(func(e *registry.TagImmutableError) *awsapi.Error {
			return awsapi.Errorf("ImageTagAlreadyExistsException", "%s", e.Error())
		}),
		awsapi.As(func(e *registry.ManifestInvalidError) *awsapi.Error {
			return invalidParameterException(invalidParameter("ImageManifest", e.Reason))
		}),
		func(err error) *awsapi.Error {
			var missing *registry.MissingReferencesError
			if !errors.As(err, &missing) {
				return nil
			}
			s := subjectOf(err)
			if len(missing.Blobs) > 0 {
				// UNVERIFIED wording.
				return awsapi.Errorf("LayersNotFoundException", "Layers with digests '[%s]' required for pushing image into repository with name '%s' in the registry with id '%s' do not exist", digestList(missing.Blobs), s.repo, s.registry)
			}
			// UNVERIFIED wording.
			return awsapi.Errorf("ReferencedImagesNotFoundException", "The manifest list references images that do not exist in the repository with name '%s' in the registry with id '%s': [%s]", s.repo, s.registry, digestList(missing.Manifests))
		},
		about(blob.ErrUnsupportedDigest, func(subject) *awsapi.Error {
			return invalidParameterException(invalidParameter("layerDigest", "only sha256 and sha512 digests are supported"))
		}),
		about(registry.ErrBlobNotFound, func(s subject) *awsapi.Error {
			// UNVERIFIED wording.
			return awsapi.Errorf("LayersNotFoundException", "The layer with digest '%s' does not exist in the repository with name '%s' in the registry with id '%s'", s.layer, s.repo, s.registry)
		}),
		about(errUploadNotFound, func(s subject) *awsapi.Error {
			// UNVERIFIED wording.
			return awsapi.Errorf("UploadNotFoundException", "The upload with id '%s' does not exist in the repository with name '%s' in the registry with id '%s'", s.upload, s.repo, s.registry)
		}),
		about(errRepositoryPolicyNotFound, func(s subject) *awsapi.Error {
			return awsapi.Errorf("RepositoryPolicyNotFoundException", "Repository policy does not exist for the repository with name '%s' in the registry with id '%s'", s.repo, s.registry)
		}),
		about(errRegistryPolicyNotFound, func(s subject) *awsapi.Error {
			// UNVERIFIED wording, in the style of the repository policy's.
			return awsapi.Errorf("RegistryPolicyNotFoundException", "Registry policy does not exist in the registry with id '%s'", s.registry)
		}),
		about(errLifecyclePolicyNotFound, func(s subject) *awsapi.Error {
			return awsapi.Errorf("LifecyclePolicyNotFoundException", "Lifecycle policy does not exist for the repository with name '%s' in the registry with id '%s'", s.repo, s.registry)
		}),
		about(errPreviewNotFound, func(s subject) *awsapi.Error {
			// UNVERIFIED wording.
			return awsapi.Errorf("LifecyclePolicyPreviewNotFoundException", "Lifecycle policy preview request does not exist for the repository with name '%s' in the registry with id '%s'", s.repo, s.registry)
		}),
		about(errPreviewInProgress, func(s subject) *awsapi.Error {
			// UNVERIFIED wording.
			return awsapi.Errorf("LifecyclePolicyPreviewInProgressException", "The previous lifecycle policy preview request has not completed for the repository with name '%s' in the registry with id '%s'. Wait and try again.", s.repo, s.registry)
		}),
		about(errScanNotFound, func(s subject) *awsapi.Error {
			return awsapi.Errorf("ScanNotFoundException", "Image scan does not exist for the image with '%s' in the repository with name '%s' in the registry with id '%s'", imageIDString(s.image), s.repo, s.registry)
		}),
		awsapi.Is(errScanQuotaExceeded, awsapi.Error{Code: "LimitExceededException", Message: "The scan quota per image has been exceeded. Wait and try again."}),
	)
}
