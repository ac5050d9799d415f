package ecr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecr/ecrstate"
	"github.com/berth/berth/internal/ecr/ecrtypes"
	"github.com/berth/berth/internal/registry"
)

// ECR's digest grammar for image ids, as its failure messages quote it.
const imageDigestPattern = `[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+`

var imageDigestRE = regexp.MustCompile(`^[a-zA-Z0-9_+.-]+:[a-fA-F0-9]+$`)

const maxManifestSize = 4 << 20

// failure is why one image id of a batch call names no usable image.
type failure struct{ code, reason string }

func (f *failure) output(id ecrtypes.ImageIdentifier) ecrtypes.ImageFailure {
	return ecrtypes.ImageFailure{ImageId: &id, FailureCode: awsapi.String(f.code), FailureReason: awsapi.String(f.reason)}
}

var (
	failMissingDigestAndTag = &failure{ecrtypes.ImageFailureCodeMissingDigestAndTag, "Invalid request parameters: both tag and digest cannot be null"}
	failInvalidDigest       = &failure{ecrtypes.ImageFailureCodeInvalidImageDigest, "Invalid request parameters: image digest should satisfy the regex '" + imageDigestPattern + "'"}
	// UNVERIFIED wording.
	failInvalidTag = &failure{ecrtypes.ImageFailureCodeInvalidImageTag, "Invalid request parameters: image tag should be between 1 and 300 characters"}
	// UNVERIFIED wording.
	failTagDoesNotMatch = &failure{ecrtypes.ImageFailureCodeImageTagDoesNotMatchDigest, "Invalid request parameters: image tag does not match digest"}
	failImageNotFound   = &failure{ecrtypes.ImageFailureCodeImageNotFound, "Requested image not found"}
)

// exception turns a failure into the error a single-image call returns;
// subj names the call's image.
func (f *failure) exception(param string, subj subject) error {
	switch f {
	case failImageNotFound, failTagDoesNotMatch:
		return subj.wrap(registry.ErrImageNotFound)
	}
	return invalidParameter(param, strings.TrimPrefix(f.reason, "Invalid request parameters: "))
}

// lookup finds the image id names in repo. A failure reports an id that
// names no image; err anything else (a missing repository, the store).
func (s *service) lookup(ctx context.Context, repo ecrstate.RepositoryID, id ecrtypes.ImageIdentifier) (ecrstate.Image, *failure, error) {
	if id.ImageDigest == nil && id.ImageTag == nil {
		return ecrstate.Image{}, failMissingDigestAndTag, nil
	}
	if id.ImageTag != nil && (len(*id.ImageTag) < 1 || len(*id.ImageTag) > 300) {
		return ecrstate.Image{}, failInvalidTag, nil
	}
	var img ecrstate.Image
	var err error
	if id.ImageDigest != nil {
		if !imageDigestRE.MatchString(*id.ImageDigest) {
			return ecrstate.Image{}, failInvalidDigest, nil
		}
		d, perr := digest.Parse(*id.ImageDigest)
		if perr != nil {
			// ECR's grammar but no digest berth can hold (upper-case hex,
			// an unknown algorithm): nothing has it.
			return ecrstate.Image{}, failImageNotFound, nil
		}
		img, err = s.catalog.Image(ctx, repo, d.String())
	} else {
		img, err = s.imageByTag(ctx, repo, *id.ImageTag)
	}
	if errors.Is(err, registry.ErrImageNotFound) {
		return ecrstate.Image{}, failImageNotFound, nil
	}
	if err != nil {
		return ecrstate.Image{}, nil, err
	}
	if id.ImageDigest != nil && id.ImageTag != nil && !slices.Contains(img.Tags, *id.ImageTag) {
		if _, err := s.imageByTag(ctx, repo, *id.ImageTag); errors.Is(err, registry.ErrImageNotFound) {
			return ecrstate.Image{}, failImageNotFound, nil
		} else if err != nil {
			return ecrstate.Image{}, nil, err
		}
		return ecrstate.Image{}, failTagDoesNotMatch, nil
	}
	return img, nil, nil
}

// imageByTag looks a tag up; the catalog would read a digest-shaped
// reference as a digest, and no tag has that shape (PutImage refuses them).
func (s *service) imageByTag(ctx context.Context, repo ecrstate.RepositoryID, tag string) (ecrstate.Image, error) {
	if digestShaped(tag) {
		if _, err := s.catalog.GetRepository(ctx, repo); err != nil {
			return ecrstate.Image{}, err
		}
		return ecrstate.Image{}, registry.ErrImageNotFound
	}
	return s.catalog.Image(ctx, repo, tag)
}

func (s *service) imageDetail(img ecrstate.Image) ecrtypes.ImageDetail {
	detail := ecrtypes.ImageDetail{
		RegistryId:             awsapi.String(s.account),
		RepositoryName:         awsapi.String(img.Repository),
		ImageDigest:            awsapi.String(img.Digest.String()),
		ImageTags:              img.Tags,
		ImageSizeInBytes:       awsapi.Int64(img.Size),
		ImagePushedAt:          awsapi.Time(img.PushedAt),
		ImageManifestMediaType: awsapi.String(img.MediaType),
		ImageStatus:            awsapi.String(ecrtypes.ImageStatusActive),
	}
	// ECR reports the config's media type; an index has none, but may
	// declare an artifactType.
	if t := firstNonEmpty(img.ConfigType, img.ArtifactType); t != "" {
		detail.ArtifactMediaType = awsapi.String(t)
	}
	if !img.LastPulledAt.IsZero() {
		detail.LastRecordedPullTime = awsapi.Time(img.LastPulledAt)
	}
	if img.Subject != "" {
		detail.SubjectManifestDigest = awsapi.String(img.Subject.String())
	}
	return detail
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// matchesFilter applies tagStatus (TAGGED, UNTAGGED, ANY) and imageStatus.
// Every berth image is ACTIVE: there is no archive storage class.
func matchesFilter(img ecrstate.Image, tagStatus, imageStatus string) bool {
	switch imageStatus {
	case ecrtypes.ImageStatusFilterArchived, ecrtypes.ImageStatusFilterActivating:
		return false
	}
	switch tagStatus {
	case ecrtypes.TagStatusTagged:
		return len(img.Tags) > 0
	case ecrtypes.TagStatusUntagged:
		return len(img.Tags) == 0
	}
	return true
}

func checkTagStatus(path, v string) error {
	switch v {
	case "", ecrtypes.TagStatusTagged, ecrtypes.TagStatusUntagged, ecrtypes.TagStatusAny:
		return nil
	}
	return validationError(path, v, "Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]")
}

// listingFilter is the filter DescribeImages and ListImages share.
type listingFilter struct{ tagStatus, imageStatus string }

// imageListing checks what DescribeImages and ListImages share (the filter,
// the page size, a page token of tokenParts parts) and returns the
// repository's images and where the page resumes.
func (s *service) imageListing(ctx context.Context, op string, repo ecrstate.RepositoryID, filter listingFilter, maxResults *int32, nextToken *string, tokenParts int) ([]ecrstate.Image, []string, error) {
	if err := checkTagStatus("filter.tagStatus", filter.tagStatus); err != nil {
		return nil, nil, err
	}
	if err := checkMaxResults(maxResults); err != nil {
		return nil, nil, err
	}
	after, err := decodeToken(nextToken, op, repo.Name, tokenParts)
	if err != nil {
		return nil, nil, err
	}
	images, err := s.catalog.Images(ctx, repo)
	if err != nil {
		return nil, nil, subject{repo: repo.Name}.wrap(err)
	}
	return images, after, nil
}

func (s *service) describeImages(ctx context.Context, in *ecrtypes.DescribeImagesRequest) (*ecrtypes.DescribeImagesResponse, error) {
	const op = "DescribeImages"
	repo, err := s.repositoryIn(ctx, in.RegistryId, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	out := &ecrtypes.DescribeImagesResponse{ImageDetails: []ecrtypes.ImageDetail{}}
	if len(in.ImageIds) > 0 {
		// UNVERIFIED wording.
		if in.MaxResults != nil || in.NextToken != nil {
			return nil, invalidParameter("maxResults", "maxResults and nextToken cannot be specified together with imageIds")
		}
		seen := map[digest.Digest]ecrstate.Image{}
		for i, id := range in.ImageIds {
			img, f, err := s.lookup(ctx, repo, id)
			if err != nil {
				return nil, subject{repo: repo.Name, image: id}.wrap(err)
			}
			if f != nil {
				return nil, f.exception(fmt.Sprintf("imageIds.member.%d", i+1), subject{repo: repo.Name, image: id})
			}
			if _, ok := seen[img.Digest]; !ok {
				seen[img.Digest] = img
				out.ImageDetails = append(out.ImageDetails, s.imageDetail(img))
			}
		}
		if err := s.withScans(ctx, repo, out.ImageDetails, seen); err != nil {
			return nil, subject{repo: repo.Name}.wrap(err)
		}
		return out, nil
	}
	var filter listingFilter
	if in.Filter != nil {
		filter = listingFilter{awsapi.Deref(in.Filter.TagStatus), awsapi.Deref(in.Filter.ImageStatus)}
	}
	images, after, err := s.imageListing(ctx, op, repo, filter, in.MaxResults, in.NextToken, 1)
	if err != nil {
		return nil, err
	}
	tagStatus, imageStatus := filter.tagStatus, filter.imageStatus
	limit := pageSize(in.MaxResults)
	listed := map[digest.Digest]ecrstate.Image{}
	// Images come in digest order; a page resumes after the last digest.
	for _, img := range images {
		if after != nil && img.Digest.String() <= after[0] {
			continue
		}
		if !matchesFilter(img, tagStatus, imageStatus) {
			continue
		}
		if len(out.ImageDetails) == limit {
			out.NextToken = encodeToken(op, repo.Name, *out.ImageDetails[limit-1].ImageDigest)
			break
		}
		out.ImageDetails = append(out.ImageDetails, s.imageDetail(img))
		listed[img.Digest] = img
	}
	if err := s.withScans(ctx, repo, out.ImageDetails, listed); err != nil {
		return nil, subject{repo: repo.Name}.wrap(err)
	}
	return out, nil
}

func (s *service) listImages(ctx context.Context, in *ecrtypes.ListImagesRequest) (*ecrtypes.ListImagesResponse, error) {
	const op = "ListImages"
	repo, err := s.repositoryIn(ctx, in.RegistryId, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	var filter listingFilter
	if in.Filter != nil {
		filter = listingFilter{awsapi.Deref(in.Filter.TagStatus), awsapi.Deref(in.Filter.ImageStatus)}
	}
	images, after, err := s.imageListing(ctx, op, repo, filter, in.MaxResults, in.NextToken, 2)
	if err != nil {
		return nil, err
	}
	tagStatus, imageStatus := filter.tagStatus, filter.imageStatus
	// One entry per tag, and one for each untagged image, ordered by
	// (digest, tag); a page resumes after the last entry.
	type entry struct{ digest, tag string }
	var entries []entry
	for _, img := range images {
		if !matchesFilter(img, tagStatus, imageStatus) {
			continue
		}
		if len(img.Tags) == 0 {
			entries = append(entries, entry{digest: img.Digest.String()})
		}
		for _, tag := range img.Tags {
			entries = append(entries, entry{img.Digest.String(), tag})
		}
	}
	limit := pageSize(in.MaxResults)
	out := &ecrtypes.ListImagesResponse{ImageIds: []ecrtypes.ImageIdentifier{}}
	n := 0
	for _, e := range entries {
		if after != nil && (e.digest < after[0] || (e.digest == after[0] && e.tag <= after[1])) {
			continue
		}
		if n == limit {
			last := out.ImageIds[limit-1]
			out.NextToken = encodeToken(op, repo.Name, *last.ImageDigest, awsapi.Deref(last.ImageTag))
			break
		}
		id := ecrtypes.ImageIdentifier{ImageDigest: awsapi.String(e.digest)}
		if e.tag != "" {
			id.ImageTag = awsapi.String(e.tag)
		}
		out.ImageIds = append(out.ImageIds, id)
		n++
	}
	return out, nil
}

func (s *service) batchGetImage(ctx context.Context, in *ecrtypes.BatchGetImageRequest) (*ecrtypes.BatchGetImageResponse, error) {
	repo, err := s.repositoryIn(ctx, in.RegistryId, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	if _, err := s.catalog.GetRepository(ctx, repo); err != nil {
		return nil, subject{repo: repo.Name}.wrap(err)
	}
	// acceptedMediaTypes is not applied: ECR converts a manifest only when
	// it can and otherwise returns it as stored, and berth never converts.
	out := &ecrtypes.BatchGetImageResponse{Images: []ecrtypes.Image{}, Failures: []ecrtypes.ImageFailure{}}
	for _, id := range in.ImageIds {
		img, f, err := s.lookup(ctx, repo, id)
		if err != nil {
			return nil, subject{repo: repo.Name, image: id}.wrap(err)
		}
		if f != nil {
			out.Failures = append(out.Failures, f.output(id))
			continue
		}
		out.Images = append(out.Images, ecrtypes.Image{
			RegistryId:             awsapi.String(s.account),
			RepositoryName:         awsapi.String(repo.Name),
			ImageId:                &ecrtypes.ImageIdentifier{ImageDigest: awsapi.String(img.Digest.String()), ImageTag: id.ImageTag},
			ImageManifest:          awsapi.String(string(img.Manifest)),
			ImageManifestMediaType: awsapi.String(img.MediaType),
		})
	}
	return out, nil
}

// referencedBy lists the image indexes in repo that list d.
func (s *service) referencedBy(ctx context.Context, repo ecrstate.RepositoryID, d digest.Digest) ([]string, error) {
	images, err := s.catalog.Images(ctx, repo)
	if err != nil {
		return nil, err
	}
	var parents []string
	for _, img := range images {
		if slices.Contains(img.Children, d) {
			parents = append(parents, img.Digest.String())
		}
	}
	return parents, nil
}

func failReferenced(parents []string) *failure {
	// UNVERIFIED wording.
	return &failure{ecrtypes.ImageFailureCodeImageReferencedByManifestList, "Requested image referenced by manifest list: [" + strings.Join(parents, ", ") + "]"}
}

func (s *service) batchDeleteImage(ctx context.Context, in *ecrtypes.BatchDeleteImageRequest) (*ecrtypes.BatchDeleteImageResponse, error) {
	repo, err := s.repositoryIn(ctx, in.RegistryId, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	if _, err := s.catalog.GetRepository(ctx, repo); err != nil {
		return nil, subject{repo: repo.Name}.wrap(err)
	}
	out := &ecrtypes.BatchDeleteImageResponse{ImageIds: []ecrtypes.ImageIdentifier{}, Failures: []ecrtypes.ImageFailure{}}
	for _, id := range in.ImageIds {
		deleted, f, err := s.deleteImage(ctx, repo, id)
		if err != nil {
			return nil, subject{repo: repo.Name, image: id}.wrap(err)
		}
		if f != nil {
			out.Failures = append(out.Failures, f.output(id))
			continue
		}
		out.ImageIds = append(out.ImageIds, deleted...)
	}
	return out, nil
}

// deleteImage deletes what one BatchDeleteImage id names. With a tag (with
// or without its digest) the tag goes, and the image with its last tag; by
// digest alone the image goes with all its tags. An image an index lists
// stays until the index is gone.
func (s *service) deleteImage(ctx context.Context, repo ecrstate.RepositoryID, id ecrtypes.ImageIdentifier) ([]ecrtypes.ImageIdentifier, *failure, error) {
	img, f, err := s.lookup(ctx, repo, id)
	if f != nil || err != nil {
		return nil, f, err
	}
	if id.ImageTag != nil {
		tag := *id.ImageTag
		if len(img.Tags) == 1 {
			parents, err := s.referencedBy(ctx, repo, img.Digest)
			if err != nil {
				return nil, nil, err
			}
			if len(parents) > 0 {
				return nil, failReferenced(parents), nil
			}
		}
		untagged, deleted, err := s.catalog.Untag(ctx, repo, tag, true)
		if errors.Is(err, registry.ErrImageNotFound) {
			return nil, failImageNotFound, nil
		}
		if err != nil {
			return nil, nil, err
		}
		s.log.InfoContext(ctx, "ecr: image untagged", "region", repo.Region, "repository", repo.Name, "tag", tag, "digest", untagged.Digest, "imageDeleted", deleted)
		return []ecrtypes.ImageIdentifier{{ImageDigest: awsapi.String(untagged.Digest.String()), ImageTag: awsapi.String(tag)}}, nil, nil
	}
	deleted, err := s.catalog.DeleteImage(ctx, repo, img.Digest, true)
	switch {
	case errors.Is(err, registry.ErrImageNotFound):
		return nil, failImageNotFound, nil
	case errors.Is(err, registry.ErrImageReferenced):
		parents, err := s.referencedBy(ctx, repo, img.Digest)
		if err != nil {
			return nil, nil, err
		}
		return nil, failReferenced(parents), nil
	case err != nil:
		return nil, nil, err
	}
	s.log.InfoContext(ctx, "ecr: image deleted", "region", repo.Region, "repository", repo.Name, "digest", deleted.Digest)
	d := awsapi.String(deleted.Digest.String())
	if len(deleted.Tags) == 0 {
		return []ecrtypes.ImageIdentifier{{ImageDigest: d}}, nil, nil
	}
	ids := make([]ecrtypes.ImageIdentifier, len(deleted.Tags))
	for i, tag := range deleted.Tags {
		ids[i] = ecrtypes.ImageIdentifier{ImageDigest: d, ImageTag: awsapi.String(tag)}
	}
	return ids, nil, nil
}

// declaresMediaType reports whether a manifest's JSON names its media type.
func declaresMediaType(manifest string) bool {
	var m struct {
		MediaType string `json:"mediaType"`
	}
	return json.Unmarshal([]byte(manifest), &m) == nil && m.MediaType != ""
}

func (s *service) putImage(ctx context.Context, in *ecrtypes.PutImageRequest) (*ecrtypes.PutImageResponse, error) {
	repo, err := s.repositoryIn(ctx, in.RegistryId, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	manifest := awsapi.Deref(in.ImageManifest)
	switch {
	case len(manifest) < 1:
		return nil, validationError("imageManifest", "", "Member must have length greater than or equal to 1")
	case len(manifest) > maxManifestSize:
		return nil, validationError("imageManifest", "", fmt.Sprintf("Member must have length less than or equal to %d", maxManifestSize))
	}
	tag := awsapi.Deref(in.ImageTag)
	if in.ImageTag != nil {
		switch {
		case len(tag) < 1 || len(tag) > 300:
			return nil, validationError("imageTag", tag, "Member must have length between 1 and 300")
		case digestShaped(tag):
			// The registry could not tell such a tag from a digest.
			return nil, invalidParameter("imageTag", "an image tag cannot have the form of a digest")
		}
	}
	subj := subject{repo: repo.Name, image: ecrtypes.ImageIdentifier{ImageDigest: in.ImageDigest, ImageTag: in.ImageTag}}
	// A missing repository is reported before anything about the manifest.
	if _, err := s.catalog.GetRepository(ctx, repo); err != nil {
		return nil, subj.wrap(err)
	}
	if in.ImageManifestMediaType == nil && !declaresMediaType(manifest) {
		// ECR takes the media type from the manifest or the request, never
		// guesses it (an OCI manifest may leave it out); this is its
		// answer to a manifest without one, on the wire.
		return nil, invalidParameter("ImageManifest", "Invalid JSON syntax")
	}
	res, err := s.catalog.PutManifest(ctx, repo, tag, awsapi.Deref(in.ImageManifestMediaType), digest.Digest(awsapi.Deref(in.ImageDigest)), []byte(manifest))
	if err != nil {
		return nil, subj.wrap(err)
	}
	if !res.Changed {
		shownTag := tag
		if in.ImageTag == nil {
			shownTag = "null"
		}
		return nil, awsapi.Errorf("ImageAlreadyExistsException", "Image with digest '%s' and tag '%s' already exists in the repository with name '%s' in registry with id '%s'", res.Image.Digest, shownTag, repo.Name, s.account)
	}
	s.log.InfoContext(ctx, "ecr: image pushed", "region", repo.Region, "repository", repo.Name, "digest", res.Image.Digest, "tag", tag)
	return &ecrtypes.PutImageResponse{Image: &ecrtypes.Image{
		RegistryId:             awsapi.String(s.account),
		RepositoryName:         awsapi.String(repo.Name),
		ImageId:                &ecrtypes.ImageIdentifier{ImageDigest: awsapi.String(res.Image.Digest.String()), ImageTag: in.ImageTag},
		ImageManifest:          awsapi.String(manifest),
		ImageManifestMediaType: awsapi.String(res.Image.MediaType),
	}}, nil
}

func digestShaped(s string) bool {
	_, err := digest.Parse(s)
	return err == nil
}
