package ecr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/opencontainers/go-digest"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/blob"
	"github.com/berth/berth/internal/ecr/ecrstate"
	"github.com/berth/berth/internal/ecr/ecrtypes"
	"github.com/berth/berth/internal/registry"
	"github.com/berth/berth/internal/store"
)

// The layer-upload API (InitiateLayerUpload, UploadLayerPart,
// CompleteLayerUpload) writes through blob.Store upload sessions. ECR upload
// ids are UUIDs bound to one repository; a store record maps each to its
// blob session, so an upload outlives a restart if its session does.

// layerPartSize is the part size ECR advises clients to upload in.
const layerPartSize = 10 << 20

// session returns the open upload uploadID of repo.
func (s *service) session(ctx context.Context, repo ecrstate.RepositoryID, uploadID string) (blob.Upload, error) {
	if _, err := s.catalog.GetRepository(ctx, repo); err != nil {
		return nil, subject{repo: repo.Name}.wrap(err)
	}
	stored, err := store.Get[ecrstate.UploadSession](ctx, s.store, ecrstate.UploadKey(uploadID))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, subject{repo: repo.Name}.wrap(err)
	}
	sess := stored.Value
	if err != nil || sess.Region != repo.Region || sess.Repository != repo.Name {
		return nil, subject{repo: repo.Name, upload: uploadID}.wrap(errUploadNotFound)
	}
	up, err := s.blobs.Upload(ctx, sess.BlobUpload)
	if errors.Is(err, blob.ErrNotFound) {
		// The session ended without us (a restart): forget it.
		if err := s.endSession(ctx, uploadID); err != nil {
			s.log.WarnContext(ctx, "ecr: ending upload session", "upload", uploadID, "error", err)
		}
		return nil, subject{repo: repo.Name, upload: uploadID}.wrap(errUploadNotFound)
	}
	if err != nil {
		return nil, subject{repo: repo.Name}.wrap(err)
	}
	return up, nil
}

func (s *service) endSession(ctx context.Context, uploadID string) error {
	_, err := s.store.Txn(ctx, store.Txn{Then: []store.Op{store.Delete(ecrstate.UploadKey(uploadID))}})
	return err
}

func (s *service) initiateLayerUpload(ctx context.Context, in *ecrtypes.InitiateLayerUploadRequest) (*ecrtypes.InitiateLayerUploadResponse, error) {
	repo, err := s.repositoryIn(ctx, in.RegistryId, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	if _, err := s.catalog.GetRepository(ctx, repo); err != nil {
		return nil, subject{repo: repo.Name}.wrap(err)
	}
	up, err := s.blobs.NewUpload(ctx)
	if err != nil {
		return nil, subject{repo: repo.Name}.wrap(err)
	}
	id := uuid.NewString()
	if err := s.storeJSON(ctx, ecrstate.UploadKey(id), ecrstate.UploadSession{Region: repo.Region, Repository: repo.Name, BlobUpload: up.ID(), CreatedAt: s.now()}); err != nil {
		if cerr := up.Cancel(ctx); cerr != nil {
			s.log.WarnContext(ctx, "ecr: cancelling upload", "error", cerr)
		}
		return nil, subject{repo: repo.Name}.wrap(err)
	}
	return &ecrtypes.InitiateLayerUploadResponse{UploadId: awsapi.String(id), PartSize: awsapi.Int64(layerPartSize)}, nil
}

func (s *service) uploadLayerPart(ctx context.Context, in *ecrtypes.UploadLayerPartRequest) (*ecrtypes.UploadLayerPartResponse, error) {
	repo, err := s.repositoryIn(ctx, in.RegistryId, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	uploadID := awsapi.Deref(in.UploadId)
	up, err := s.session(ctx, repo, uploadID)
	if err != nil {
		return nil, err
	}
	first, last, part := awsapi.Deref(in.PartFirstByte), awsapi.Deref(in.PartLastByte), in.LayerPartBlob
	invalidPart := func(have int64) error {
		return awsapi.Errorf("InvalidLayerPartException", "The layer part size is not valid, or the first byte specified is not consecutive to the last byte of a previous layer part upload. Last valid byte received: %d; part %d-%d of %d bytes", have-1, first, last, len(part))
	}
	have := up.Size()
	if len(part) == 0 || first != have || last != first+int64(len(part))-1 {
		return nil, invalidPart(have)
	}
	n, err := up.WriteAt(ctx, bytes.NewReader(part), first)
	switch {
	case errors.Is(err, blob.ErrUploadOffset):
		// Another part landed first.
		return nil, invalidPart(up.Size())
	case errors.Is(err, blob.ErrNotFound):
		return nil, subject{repo: repo.Name, upload: uploadID}.wrap(errUploadNotFound)
	case err != nil:
		return nil, subject{repo: repo.Name}.wrap(err)
	}
	return &ecrtypes.UploadLayerPartResponse{
		RegistryId:       awsapi.String(s.account),
		RepositoryName:   awsapi.String(repo.Name),
		UploadId:         awsapi.String(uploadID),
		LastByteReceived: awsapi.Int64(first + n - 1),
	}, nil
}

func (s *service) completeLayerUpload(ctx context.Context, in *ecrtypes.CompleteLayerUploadRequest) (*ecrtypes.CompleteLayerUploadResponse, error) {
	repo, err := s.repositoryIn(ctx, in.RegistryId, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	uploadID := awsapi.Deref(in.UploadId)
	// An upload is one layer with one digest. UNVERIFIED: ECR's handling of
	// several.
	if len(in.LayerDigests) != 1 {
		return nil, invalidParameter("layerDigests", "exactly one layer digest must be specified")
	}
	if !imageDigestRE.MatchString(in.LayerDigests[0]) {
		return nil, validationError("layerDigests.member.1", in.LayerDigests[0], "Member must satisfy regular expression pattern: "+imageDigestPattern)
	}
	up, err := s.session(ctx, repo, uploadID)
	if err != nil {
		return nil, err
	}
	d, err := digest.Parse(in.LayerDigests[0])
	if err != nil {
		// UNVERIFIED wording.
		return nil, awsapi.Errorf("InvalidLayerException", "The layer digest '%s' is not a valid sha256 or sha512 digest", in.LayerDigests[0])
	}
	if up.Size() == 0 {
		// UNVERIFIED wording.
		return nil, awsapi.Errorf("EmptyUploadException", "The upload with id '%s' does not contain any layer parts", uploadID)
	}
	// The client will reference the layer it is told exists: RefreshBlob
	// keeps garbage collection off it meanwhile (registry/gc.go).
	if _, err := s.catalog.RefreshBlob(ctx, repo, d); err == nil {
		// The content is already there; this upload has nothing to add.
		if err := up.Cancel(ctx); err != nil && !errors.Is(err, blob.ErrNotFound) {
			return nil, subject{repo: repo.Name}.wrap(err)
		}
		if err := s.endSession(ctx, uploadID); err != nil {
			return nil, subject{repo: repo.Name}.wrap(err)
		}
		// UNVERIFIED wording.
		return nil, awsapi.Errorf("LayerAlreadyExistsException", "The layer with digest '%s' already exists in the repository with name '%s' in registry with id '%s'", d, repo.Name, s.account)
	} else if !errors.Is(err, registry.ErrBlobNotFound) {
		return nil, subject{repo: repo.Name}.wrap(err)
	}
	// Committed and linked under the blob's lock (registry/gc.go).
	unlock := s.catalog.LockBlob(d)
	defer unlock()
	size, err := up.Commit(ctx, d)
	switch {
	case errors.Is(err, blob.ErrDigestMismatch):
		// UNVERIFIED wording; the session stays open for another try.
		return nil, awsapi.Errorf("InvalidLayerException", "The digest calculated for the uploaded layer does not match the digest specified: '%s'", d)
	case errors.Is(err, blob.ErrNotFound):
		return nil, subject{repo: repo.Name, upload: uploadID}.wrap(errUploadNotFound)
	case err != nil:
		return nil, subject{repo: repo.Name}.wrap(err)
	}
	if err := s.catalog.LinkBlob(ctx, repo, d, size); err != nil {
		return nil, subject{repo: repo.Name}.wrap(err)
	}
	if err := s.endSession(ctx, uploadID); err != nil {
		// The layer is in; a stale record only names an ended session.
		s.log.WarnContext(ctx, "ecr: ending upload session", "upload", uploadID, "error", err)
	}
	s.log.InfoContext(ctx, "ecr: layer uploaded", "region", repo.Region, "repository", repo.Name, "digest", d, "size", size)
	return &ecrtypes.CompleteLayerUploadResponse{
		RegistryId:     awsapi.String(s.account),
		RepositoryName: awsapi.String(repo.Name),
		UploadId:       awsapi.String(uploadID),
		LayerDigest:    awsapi.String(d.String()),
	}, nil
}

func (s *service) batchCheckLayerAvailability(ctx context.Context, in *ecrtypes.BatchCheckLayerAvailabilityRequest) (*ecrtypes.BatchCheckLayerAvailabilityResponse, error) {
	repo, err := s.repositoryIn(ctx, in.RegistryId, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	if _, err := s.catalog.GetRepository(ctx, repo); err != nil {
		return nil, subject{repo: repo.Name}.wrap(err)
	}
	out := &ecrtypes.BatchCheckLayerAvailabilityResponse{Layers: []ecrtypes.Layer{}, Failures: []ecrtypes.LayerFailure{}}
	layerFailure := func(raw, code, reason string) {
		out.Failures = append(out.Failures, ecrtypes.LayerFailure{LayerDigest: awsapi.String(raw), FailureCode: awsapi.String(code), FailureReason: awsapi.String(reason)})
	}
	for _, raw := range in.LayerDigests {
		if !imageDigestRE.MatchString(raw) {
			// UNVERIFIED wording.
			layerFailure(raw, ecrtypes.LayerFailureCodeInvalidLayerDigest, "Invalid layer digest: it should satisfy the regex '"+imageDigestPattern+"'")
			continue
		}
		d, err := digest.Parse(raw)
		var link ecrstate.BlobLink
		if err == nil {
			// A client skips uploading the layers found here: RefreshBlob
			// keeps garbage collection off them (registry/gc.go).
			link, err = s.catalog.RefreshBlob(ctx, repo, d)
			if err != nil && !errors.Is(err, registry.ErrBlobNotFound) {
				return nil, subject{repo: repo.Name}.wrap(err)
			}
		}
		if err != nil {
			// UNVERIFIED wording.
			layerFailure(raw, ecrtypes.LayerFailureCodeMissingLayerDigest, "Requested layer not found")
			continue
		}
		out.Layers = append(out.Layers, ecrtypes.Layer{
			LayerDigest:       awsapi.String(raw),
			LayerAvailability: awsapi.String(ecrtypes.LayerAvailabilityAvailable),
			LayerSize:         awsapi.Int64(link.Size),
			MediaType:         awsapi.OptionalString(link.MediaType),
		})
	}
	return out, nil
}

func (s *service) getDownloadURLForLayer(ctx context.Context, in *ecrtypes.GetDownloadUrlForLayerRequest) (*ecrtypes.GetDownloadUrlForLayerResponse, error) {
	repo, err := s.repositoryIn(ctx, in.RegistryId, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	raw := awsapi.Deref(in.LayerDigest)
	if !imageDigestRE.MatchString(raw) {
		return nil, validationError("layerDigest", raw, "Member must satisfy regular expression pattern: "+imageDigestPattern)
	}
	notFound := subject{repo: repo.Name, layer: raw}.wrap(registry.ErrBlobNotFound)
	d, err := digest.Parse(raw)
	if err != nil {
		if _, err := s.catalog.GetRepository(ctx, repo); err != nil {
			return nil, subject{repo: repo.Name}.wrap(err)
		}
		return nil, notFound
	}
	if _, err := s.catalog.Blob(ctx, repo, d); errors.Is(err, registry.ErrBlobNotFound) {
		return nil, notFound
	} else if err != nil {
		return nil, subject{repo: repo.Name}.wrap(err)
	}
	images, err := s.catalog.Images(ctx, repo)
	if err != nil {
		return nil, subject{repo: repo.Name}.wrap(err)
	}
	used := slices.ContainsFunc(images, func(img ecrstate.Image) bool { return slices.Contains(img.Blobs, d) })
	if !used {
		return nil, awsapi.Errorf("LayerInaccessibleException", "The layer with digest '%s' is not available because it is not associated with an image", d)
	}
	return &ecrtypes.GetDownloadUrlForLayerResponse{
		DownloadUrl: awsapi.String("http://" + s.host + "/v2/" + repo.Name + "/blobs/" + d.String()),
		LayerDigest: awsapi.String(d.String()),
	}, nil
}

// staleUploadAge is how old a record of an upload whose blob session is
// gone must be before garbage collection deletes it: a completing upload
// ends its session moments before its record.
const staleUploadAge = time.Hour

// SweepLayerUploads is the registry garbage collector's sweeper of the
// layer-upload API's sessions: it deletes the records of uploads whose blob
// session expired in the sweep, or ended without the record (a restart).
func SweepLayerUploads(st store.Store, blobs blob.Store, now func() time.Time) registry.SessionSweeper {
	return func(ctx context.Context, expired func(string) bool, dryRun bool) ([]registry.GCUpload, error) {
		kvs, _, err := st.List(ctx, ecrstate.UploadPrefix, store.ListOptions{})
		if err != nil {
			return nil, err
		}
		var out []registry.GCUpload
		for _, kv := range kvs {
			// Listed raw: a session's key is its upload id.
			var sess ecrstate.UploadSession
			if err := json.Unmarshal(kv.Value, &sess); err != nil {
				return out, fmt.Errorf("decode %s: %w", kv.Key, err)
			}
			gone := expired(sess.BlobUpload)
			if !gone && now().Sub(sess.CreatedAt) > staleUploadAge {
				_, err := blobs.Upload(ctx, sess.BlobUpload)
				gone = errors.Is(err, blob.ErrNotFound)
			}
			if !gone {
				continue
			}
			if !dryRun {
				_, err := st.Txn(ctx, store.Txn{
					If:   []store.Compare{{Key: kv.Key, ModRevision: kv.ModRevision}},
					Then: []store.Op{store.Delete(kv.Key)},
				})
				if errors.Is(err, store.ErrConflict) {
					continue
				}
				if err != nil {
					return out, err
				}
			}
			out = append(out, registry.GCUpload{
				Kind:       registry.UploadKindECR,
				ID:         strings.TrimPrefix(kv.Key, ecrstate.UploadPrefix),
				Repository: sess.Repository,
				StartedAt:  sess.CreatedAt,
				BlobUpload: sess.BlobUpload,
			})
		}
		return out, nil
	}
}
