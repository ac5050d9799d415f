// Package registry is berth's image registry: the catalog of repositories,
// images, tags and blob links with ECR's rules (a repository must exist
// before a push, tag immutability), and the OCI distribution API on /v2/
// over it. The ECR API (package ecr) drives the same catalog, so a push over
// /v2/ shows up in DescribeImages at once and the reverse.
package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth/berth/internal/blob"
	"github.com/berth/berth/internal/ecr/ecrstate"
	"github.com/berth/berth/internal/store"
)

var (
	ErrRepositoryNotFound = errors.New("repository not found")
	ErrRepositoryExists   = errors.New("repository already exists")
	ErrRepositoryNotEmpty = errors.New("repository not empty")
	ErrImageNotFound      = errors.New("image not found")
	ErrBlobNotFound       = errors.New("blob not found in repository")
	// ErrDigestMismatch: a manifest pushed by digest does not hash to it.
	ErrDigestMismatch = errors.New("manifest digest does not match its content")
	// ErrImageReferenced: the image is a child of an image index in the
	// repository and can't be deleted before it.
	ErrImageReferenced = errors.New("image is referenced by a manifest list")
)

// TagImmutableError reports a push that would move a tag in a repository
// whose tags are immutable.
type TagImmutableError struct {
	Repository, Tag string
}

func (e *TagImmutableError) Error() string {
	return fmt.Sprintf("The image tag '%s' already exists in the '%s' repository and cannot be overwritten because the repository is immutable.", e.Tag, e.Repository)
}

// ManifestInvalidError reports a manifest the registry can't accept.
type ManifestInvalidError struct{ Reason string }

func (e *ManifestInvalidError) Error() string { return "manifest invalid: " + e.Reason }

// MissingReferencesError lists what a manifest references that the
// repository does not hold: blobs (config, layers) or child manifests.
type MissingReferencesError struct {
	Blobs     []digest.Digest
	Manifests []digest.Digest
}

func (e *MissingReferencesError) Error() string {
	var parts []string
	for _, d := range e.Blobs {
		parts = append(parts, "blob "+d.String())
	}
	for _, d := range e.Manifests {
		parts = append(parts, "manifest "+d.String())
	}
	return "manifest references unknown content: " + strings.Join(parts, ", ")
}

// Catalog is the registry's state, kept in the store.
type Catalog struct {
	store store.Store
	now   func() time.Time
	// blobLocks order committing and linking a blob against garbage
	// collection deleting it (LockBlob).
	blobLocks blob.DigestLocks
}

// NewCatalog returns a catalog over st. now is the clock (nil: time.Now).
func NewCatalog(st store.Store, now func() time.Time) *Catalog {
	if now == nil {
		now = time.Now
	}
	return &Catalog{store: st, now: func() time.Time { return now().UTC() }}
}

// repository reads a live repository and its revision.
func (c *Catalog) repository(ctx context.Context, id ecrstate.RepositoryID) (ecrstate.Repository, int64, error) {
	repoV, err := store.Get[ecrstate.Repository](ctx, c.store, ecrstate.RepositoryKey(id))
	repo, rev := repoV.Value, repoV.ModRevision
	if errors.Is(err, store.ErrNotFound) || (err == nil && repo.Deleting) {
		return ecrstate.Repository{}, 0, ErrRepositoryNotFound
	}
	return repo, rev, err
}

// CreateRepository stores a new repository id with the settings of repo;
// its Name and CreatedAt are set here.
func (c *Catalog) CreateRepository(ctx context.Context, id ecrstate.RepositoryID, repo ecrstate.Repository) (ecrstate.Repository, error) {
	repo.Name = id.Name
	repo.CreatedAt = c.now()
	if repo.TagMutability == "" {
		repo.TagMutability = ecrstate.TagMutable
	}
	if repo.EncryptionType == "" {
		repo.EncryptionType = "AES256"
	}
	err := store.Retry(ctx, func() error {
		existingV, err := store.Get[ecrstate.Repository](ctx, c.store, ecrstate.RepositoryKey(id))
		existing, rev := existingV.Value, existingV.ModRevision
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		case !existing.Deleting:
			return ErrRepositoryExists
		default:
			// A deletion that crashed half-way: finish it, then create.
			if err := c.purge(ctx, id, rev); err != nil {
				return err
			}
			rev = 0
		}
		put, err := store.PutJSON(ecrstate.RepositoryKey(id), repo)
		if err != nil {
			return err
		}
		_, err = c.store.Txn(ctx, store.Txn{
			If:   []store.Compare{{Key: ecrstate.RepositoryKey(id), ModRevision: 0}},
			Then: []store.Op{put},
		})
		return err
	})
	return repo, err
}

// GetRepository returns a repository or ErrRepositoryNotFound.
func (c *Catalog) GetRepository(ctx context.Context, repo ecrstate.RepositoryID) (ecrstate.Repository, error) {
	settings, _, err := c.repository(ctx, repo)
	return settings, err
}

// ListRepositories returns region's repositories in name order after
// startAfter; limit 0 means all.
func (c *Catalog) ListRepositories(ctx context.Context, region, startAfter string, limit int) ([]ecrstate.Repository, error) {
	var out []ecrstate.Repository
	after := ""
	if startAfter != "" {
		after = ecrstate.RepositoryKey(ecrstate.RepositoryID{Region: region, Name: startAfter})
	}
	for {
		repos, _, err := store.List[ecrstate.Repository](ctx, c.store, ecrstate.RegionRepositoriesPrefix(region), store.ListOptions{StartAfter: after, Limit: max(limit, 100)})
		if err != nil {
			return nil, err
		}
		for _, v := range repos {
			repo := v.Value
			if repo.Deleting {
				continue
			}
			out = append(out, repo)
			if limit > 0 && len(out) == limit {
				return out, nil
			}
		}
		if len(repos) == 0 || (limit == 0 && len(repos) < 100) {
			return out, nil
		}
		after = ecrstate.RepositoryKey(ecrstate.RepositoryID{Region: region, Name: repos[len(repos)-1].Value.Name})
	}
}

// AllRepositories lists the live repositories of every region, in key
// order: the view of the work that spans regions (garbage collection,
// lifecycle rounds).
func (c *Catalog) AllRepositories(ctx context.Context) ([]ecrstate.RepositoryID, error) {
	kvs, _, err := c.store.List(ctx, ecrstate.RepositoryPrefix, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []ecrstate.RepositoryID
	for _, kv := range kvs {
		var repo ecrstate.Repository
		if err := json.Unmarshal(kv.Value, &repo); err != nil {
			return nil, fmt.Errorf("registry: %s: %w", kv.Key, err)
		}
		id, _, ok := ecrstate.ParseRepositoryID(strings.TrimPrefix(kv.Key, ecrstate.RepositoryPrefix))
		if ok && !repo.Deleting {
			out = append(out, id)
		}
	}
	return out, nil
}

// UpdateRepository applies update to the stored repository atomically.
func (c *Catalog) UpdateRepository(ctx context.Context, repo ecrstate.RepositoryID, update func(*ecrstate.Repository) error) (ecrstate.Repository, error) {
	var updated ecrstate.Repository
	err := store.Retry(ctx, func() error {
		current, rev, err := c.repository(ctx, repo)
		if err != nil {
			return err
		}
		if err := update(&current); err != nil {
			return err
		}
		current.Name = repo.Name
		put, err := store.PutJSON(ecrstate.RepositoryKey(repo), current)
		if err != nil {
			return err
		}
		_, err = c.store.Txn(ctx, store.Txn{
			If:   []store.Compare{{Key: ecrstate.RepositoryKey(repo), ModRevision: rev}},
			Then: []store.Op{put},
		})
		updated = current
		return err
	})
	return updated, err
}

// DeleteRepository deletes a repository; unless force, only an empty one.
// It returns the repository as it was.
func (c *Catalog) DeleteRepository(ctx context.Context, id ecrstate.RepositoryID, force bool) (ecrstate.Repository, error) {
	var deleted ecrstate.Repository
	var rev int64
	// First mark it deleting, so that pushes racing the deletion fail on
	// the repository's revision instead of leaving orphans behind.
	err := store.Retry(ctx, func() error {
		repo, r, err := c.repository(ctx, id)
		if err != nil {
			return err
		}
		if !force {
			images, _, err := c.store.List(ctx, ecrstate.RepositoryScoped(ecrstate.ImagePrefix, id), store.ListOptions{Limit: 1})
			if err != nil {
				return err
			}
			if len(images) > 0 {
				return ErrRepositoryNotEmpty
			}
		}
		deleted = repo
		repo.Deleting = true
		put, err := store.PutJSON(ecrstate.RepositoryKey(id), repo)
		if err != nil {
			return err
		}
		rev, err = c.store.Txn(ctx, store.Txn{
			If:   []store.Compare{{Key: ecrstate.RepositoryKey(id), ModRevision: r}},
			Then: []store.Op{put},
		})
		return err
	})
	if err != nil {
		return ecrstate.Repository{}, err
	}
	return deleted, c.purge(ctx, id, rev)
}

// purge removes a repository marked deleting (at revision rev) and all it holds.
func (c *Catalog) purge(ctx context.Context, id ecrstate.RepositoryID, rev int64) error {
	ops := []store.Op{store.Delete(ecrstate.RepositoryKey(id))}
	for _, prefix := range []string{ecrstate.ImagePrefix, ecrstate.TagPrefix, ecrstate.BlobPrefix, ecrstate.ReferrerPrefix} {
		kvs, _, err := c.store.List(ctx, ecrstate.RepositoryScoped(prefix, id), store.ListOptions{})
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			ops = append(ops, store.Delete(kv.Key))
		}
	}
	_, err := c.store.Txn(ctx, store.Txn{
		If:   []store.Compare{{Key: ecrstate.RepositoryKey(id), ModRevision: rev}},
		Then: ops,
	})
	return err
}

// LinkBlob records that repo holds blob d of the given size (after an
// upload committed it, or a mount).
func (c *Catalog) LinkBlob(ctx context.Context, repo ecrstate.RepositoryID, d digest.Digest, size int64) error {
	return store.Retry(ctx, func() error {
		_, rev, err := c.repository(ctx, repo)
		if err != nil {
			return err
		}
		link := ecrstate.BlobLink{Digest: d, Size: size, LinkedAt: c.now()}
		put, err := store.PutJSON(ecrstate.BlobKey(repo, d), link)
		if err != nil {
			return err
		}
		_, err = c.store.Txn(ctx, store.Txn{
			If:   []store.Compare{{Key: ecrstate.RepositoryKey(repo), ModRevision: rev}},
			Then: []store.Op{put},
		})
		return err
	})
}

// Blob returns repo's link to blob d, ErrBlobNotFound or ErrRepositoryNotFound.
func (c *Catalog) Blob(ctx context.Context, repo ecrstate.RepositoryID, d digest.Digest) (ecrstate.BlobLink, error) {
	linkV, err := store.Get[ecrstate.BlobLink](ctx, c.store, ecrstate.BlobKey(repo, d))
	link := linkV.Value
	if errors.Is(err, store.ErrNotFound) {
		if _, _, err := c.repository(ctx, repo); err != nil {
			return link, err
		}
		return link, ErrBlobNotFound
	}
	return link, err
}

// BlobInAnyRepository finds a link to d in any repository of region (for
// automatic cross-repository mounts, which like ECR's stay in a region).
// It returns ErrBlobNotFound if there is none.
func (c *Catalog) BlobInAnyRepository(ctx context.Context, region string, d digest.Digest) (ecrstate.BlobLink, error) {
	repos, err := c.ListRepositories(ctx, region, "", 0)
	if err != nil {
		return ecrstate.BlobLink{}, err
	}
	for _, repo := range repos {
		link, err := c.Blob(ctx, ecrstate.RepositoryID{Region: region, Name: repo.Name}, d)
		if err == nil {
			return link, nil
		}
		if !errors.Is(err, ErrBlobNotFound) && !errors.Is(err, ErrRepositoryNotFound) {
			return ecrstate.BlobLink{}, err
		}
	}
	return ecrstate.BlobLink{}, ErrBlobNotFound
}

// UnlinkBlob removes repo's link to blob d. The blob's bytes stay until
// garbage collection finds no link to them.
func (c *Catalog) UnlinkBlob(ctx context.Context, repo ecrstate.RepositoryID, d digest.Digest) error {
	if _, err := c.Blob(ctx, repo, d); err != nil {
		return err
	}
	_, err := c.store.Txn(ctx, store.Txn{Then: []store.Op{store.Delete(ecrstate.BlobKey(repo, d))}})
	return err
}

// Image returns the image that reference (a tag or a digest) names in repo,
// ErrImageNotFound or ErrRepositoryNotFound.
func (c *Catalog) Image(ctx context.Context, repo ecrstate.RepositoryID, reference string) (ecrstate.Image, error) {
	d, err := digest.Parse(reference)
	if err != nil {
		tag, terr := store.Get[digest.Digest](ctx, c.store, ecrstate.TagKey(repo, reference))
		if terr != nil {
			return ecrstate.Image{}, c.notFound(ctx, repo, terr)
		}
		d = tag.Value
	}
	img, err := store.Get[ecrstate.Image](ctx, c.store, ecrstate.ImageKey(repo, d))
	if err != nil {
		return ecrstate.Image{}, c.notFound(ctx, repo, err)
	}
	return img.Value, nil
}

// notFound turns a missing key into ErrImageNotFound, or
// ErrRepositoryNotFound when the repository is what's missing.
func (c *Catalog) notFound(ctx context.Context, repo ecrstate.RepositoryID, err error) error {
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if _, _, err := c.repository(ctx, repo); err != nil {
		return err
	}
	return ErrImageNotFound
}

// Images returns every image in repo, in digest order.
func (c *Catalog) Images(ctx context.Context, repo ecrstate.RepositoryID) ([]ecrstate.Image, error) {
	if _, _, err := c.repository(ctx, repo); err != nil {
		return nil, err
	}
	stored, _, err := store.List[ecrstate.Image](ctx, c.store, ecrstate.RepositoryScoped(ecrstate.ImagePrefix, repo), store.ListOptions{})
	if err != nil {
		return nil, err
	}
	images := make([]ecrstate.Image, 0, len(stored))
	for _, v := range stored {
		images = append(images, v.Value)
	}
	return images, nil
}

// Tags lists repo's tags in lexical order after last; n 0 means all.
func (c *Catalog) Tags(ctx context.Context, repo ecrstate.RepositoryID, last string, n int) ([]string, error) {
	if _, _, err := c.repository(ctx, repo); err != nil {
		return nil, err
	}
	opts := store.ListOptions{Limit: n}
	if last != "" {
		opts.StartAfter = ecrstate.TagKey(repo, last)
	}
	kvs, _, err := c.store.List(ctx, ecrstate.RepositoryScoped(ecrstate.TagPrefix, repo), opts)
	if err != nil {
		return nil, err
	}
	tags := make([]string, len(kvs))
	for i, kv := range kvs {
		tags[i] = strings.TrimPrefix(kv.Key, ecrstate.RepositoryScoped(ecrstate.TagPrefix, repo))
	}
	return tags, nil
}

// PutManifestResult tells what a PutManifest did.
type PutManifestResult struct {
	Image ecrstate.Image
	// Changed is false when the manifest (and tag) were already there.
	Changed bool
}

// PutManifest stores a manifest in repo under its digest and, if tag is not
// empty, points tag at it. mediaType is the manifest's media type as the
// client declared it (falling back to the manifest's own mediaType field).
// If want is not empty the content must hash to it (its algorithm is then
// the image digest's); otherwise the digest is sha256.
func (c *Catalog) PutManifest(ctx context.Context, repo ecrstate.RepositoryID, tag, mediaType string, want digest.Digest, body []byte) (PutManifestResult, error) {
	parsed, err := ParseManifest(mediaType, body)
	if err != nil {
		return PutManifestResult{}, err
	}
	d := digest.Canonical.FromBytes(body)
	if want != "" {
		if err := want.Validate(); err != nil {
			return PutManifestResult{}, ErrDigestMismatch
		}
		if want.Algorithm() != digest.Canonical {
			d = want.Algorithm().FromBytes(body)
		}
		if d != want {
			return PutManifestResult{}, ErrDigestMismatch
		}
	}
	var result PutManifestResult
	err = store.Retry(ctx, func() error {
		var err error
		result, err = c.putManifest(ctx, repo, tag, d, parsed, body)
		return err
	})
	return result, err
}

func (c *Catalog) putManifest(ctx context.Context, repo ecrstate.RepositoryID, tag string, d digest.Digest, m *Manifest, body []byte) (PutManifestResult, error) {
	settings, repoRev, err := c.repository(ctx, repo)
	if err != nil {
		return PutManifestResult{}, err
	}
	compares := []store.Compare{{Key: ecrstate.RepositoryKey(repo), ModRevision: repoRev}}
	var ops []store.Op

	// Everything the manifest references must be in the repository.
	var missing MissingReferencesError
	var size int64
	// The links are compared in the transaction, so a manifest can't be
	// stored referencing a link garbage collection deleted meanwhile; one
	// the collector has marked is claimed back (gc.go).
	seen := make(map[digest.Digest]bool, len(m.Blobs))
	for _, ref := range m.Blobs {
		linkV, err := store.Get[ecrstate.BlobLink](ctx, c.store, ecrstate.BlobKey(repo, ref.Digest))
		link, linkRev := linkV.Value, linkV.ModRevision
		if errors.Is(err, store.ErrNotFound) {
			missing.Blobs = append(missing.Blobs, ref.Digest)
			continue
		}
		if err != nil {
			return PutManifestResult{}, err
		}
		if ref.Layer {
			size += link.Size
		}
		if seen[ref.Digest] {
			continue
		}
		seen[ref.Digest] = true
		compares = append(compares, store.Compare{Key: ecrstate.BlobKey(repo, ref.Digest), ModRevision: linkRev})
		if link.Condemned || (link.MediaType == "" && ref.MediaType != "") {
			if link.Condemned {
				link.Condemned = false
				link.LinkedAt = c.now()
			}
			if link.MediaType == "" {
				link.MediaType = ref.MediaType
			}
			put, err := store.PutJSON(ecrstate.BlobKey(repo, ref.Digest), link)
			if err != nil {
				return PutManifestResult{}, err
			}
			ops = append(ops, put)
		}
	}
	for _, child := range m.Children {
		imgV, err := store.Get[ecrstate.Image](ctx, c.store, ecrstate.ImageKey(repo, child))
		img := imgV.Value
		if errors.Is(err, store.ErrNotFound) {
			missing.Manifests = append(missing.Manifests, child)
			continue
		}
		if err != nil {
			return PutManifestResult{}, err
		}
		size = max(size, img.Size)
	}
	if len(missing.Blobs)+len(missing.Manifests) > 0 {
		return PutManifestResult{}, &missing
	}

	imgV, err := store.Get[ecrstate.Image](ctx, c.store, ecrstate.ImageKey(repo, d))
	img, imgRev := imgV.Value, imgV.ModRevision
	exists := err == nil
	switch {
	case errors.Is(err, store.ErrNotFound):
		img = ecrstate.Image{
			Repository:   repo.Name,
			Digest:       d,
			MediaType:    m.MediaType,
			ArtifactType: m.ArtifactType,
			ConfigType:   m.ConfigType,
			Manifest:     body,
			PushedAt:     c.now(),
			Size:         size,
			Subject:      m.Subject,
			Annotations:  m.Annotations,
			Blobs:        m.blobDigests(),
			Children:     m.Children,
		}
	case err != nil:
		return PutManifestResult{}, err
	}
	compares = append(compares, store.Compare{Key: ecrstate.ImageKey(repo, d), ModRevision: imgRev})
	changed := !exists

	if tag != "" {
		currentV, err := store.Get[digest.Digest](ctx, c.store, ecrstate.TagKey(repo, tag))
		current, tagRev := currentV.Value, currentV.ModRevision
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return PutManifestResult{}, err
		}
		compares = append(compares, store.Compare{Key: ecrstate.TagKey(repo, tag), ModRevision: tagRev})
		if current != d {
			if current != "" {
				if settings.TagIsImmutable(tag) {
					return PutManifestResult{}, &TagImmutableError{Repository: repo.Name, Tag: tag}
				}
				oldV, err := store.Get[ecrstate.Image](ctx, c.store, ecrstate.ImageKey(repo, current))
				old, oldRev := oldV.Value, oldV.ModRevision
				if err == nil {
					old.Tags = slices.DeleteFunc(old.Tags, func(t string) bool { return t == tag })
					compares = append(compares, store.Compare{Key: ecrstate.ImageKey(repo, current), ModRevision: oldRev})
					put, err := store.PutJSON(ecrstate.ImageKey(repo, current), old)
					if err != nil {
						return PutManifestResult{}, err
					}
					ops = append(ops, put)
				} else if !errors.Is(err, store.ErrNotFound) {
					return PutManifestResult{}, err
				}
			}
			put, err := store.PutJSON(ecrstate.TagKey(repo, tag), d)
			if err != nil {
				return PutManifestResult{}, err
			}
			ops = append(ops, put)
			changed = true
		}
		if !slices.Contains(img.Tags, tag) {
			img.Tags = append(img.Tags, tag)
			slices.Sort(img.Tags)
			changed = true
		}
	}
	if !changed {
		if len(ops) > 0 {
			// Only claiming back condemned links.
			if _, err := c.store.Txn(ctx, store.Txn{If: compares, Then: ops}); err != nil {
				return PutManifestResult{}, err
			}
		}
		return PutManifestResult{Image: img}, nil
	}
	put, err := store.PutJSON(ecrstate.ImageKey(repo, d), img)
	if err != nil {
		return PutManifestResult{}, err
	}
	ops = append(ops, put)
	if !exists && img.Subject != "" {
		put, err := store.PutJSON(ecrstate.ReferrerKey(repo, img.Subject, d), img.Referrer())
		if err != nil {
			return PutManifestResult{}, err
		}
		ops = append(ops, put)
	}
	if _, err := c.store.Txn(ctx, store.Txn{If: compares, Then: ops}); err != nil {
		return PutManifestResult{}, err
	}
	return PutManifestResult{Image: img, Changed: true}, nil
}

// DeleteImage deletes the image d from repo with all its tags. If
// refuseReferenced, an image that an index in the repository lists is kept
// and ErrImageReferenced returned (ECR's rule for BatchDeleteImage).
func (c *Catalog) DeleteImage(ctx context.Context, repo ecrstate.RepositoryID, d digest.Digest, refuseReferenced bool) (ecrstate.Image, error) {
	return c.deleteImage(ctx, repo, d, refuseReferenced, nil)
}

// DeleteImageIf is DeleteImage refusing referenced images, for a deleter
// that decided on an earlier read (the lifecycle controller): check sees
// the image as the deletion would remove it and returns an error to keep
// it, which DeleteImageIf returns. The check and the deletion are one
// atomic step on the image, so an image re-tagged after the decision is
// not deleted on it.
func (c *Catalog) DeleteImageIf(ctx context.Context, repo ecrstate.RepositoryID, d digest.Digest, check func(ecrstate.Image) error) (ecrstate.Image, error) {
	return c.deleteImage(ctx, repo, d, true, check)
}

func (c *Catalog) deleteImage(ctx context.Context, repo ecrstate.RepositoryID, d digest.Digest, refuseReferenced bool, check func(ecrstate.Image) error) (ecrstate.Image, error) {
	var deleted ecrstate.Image
	err := store.Retry(ctx, func() error {
		_, repoRev, err := c.repository(ctx, repo)
		if err != nil {
			return err
		}
		imgV, err := store.Get[ecrstate.Image](ctx, c.store, ecrstate.ImageKey(repo, d))
		img, imgRev := imgV.Value, imgV.ModRevision
		if errors.Is(err, store.ErrNotFound) {
			return ErrImageNotFound
		}
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(img); err != nil {
				return err
			}
		}
		if refuseReferenced {
			images, err := c.Images(ctx, repo)
			if err != nil {
				return err
			}
			for _, other := range images {
				if slices.Contains(other.Children, d) {
					return ErrImageReferenced
				}
			}
		}
		compares := []store.Compare{{Key: ecrstate.RepositoryKey(repo), ModRevision: repoRev}, {Key: ecrstate.ImageKey(repo, d), ModRevision: imgRev}}
		ops := []store.Op{store.Delete(ecrstate.ImageKey(repo, d))}
		for _, tag := range img.Tags {
			ops = append(ops, store.Delete(ecrstate.TagKey(repo, tag)))
		}
		if img.Subject != "" {
			ops = append(ops, store.Delete(ecrstate.ReferrerKey(repo, img.Subject, d)))
		}
		deleted = img
		_, err = c.store.Txn(ctx, store.Txn{If: compares, Then: ops})
		return err
	})
	return deleted, err
}

// Untag removes tag from repo. If the image it named has no tag left and
// deleteUntagged is set, the image is deleted too (ECR's BatchDeleteImage
// by tag). It returns the image the tag named and whether it was deleted.
func (c *Catalog) Untag(ctx context.Context, repo ecrstate.RepositoryID, tag string, deleteUntagged bool) (ecrstate.Image, bool, error) {
	var img ecrstate.Image
	var deleted bool
	err := store.Retry(ctx, func() error {
		_, repoRev, err := c.repository(ctx, repo)
		if err != nil {
			return err
		}
		dV, err := store.Get[digest.Digest](ctx, c.store, ecrstate.TagKey(repo, tag))
		d, tagRev := dV.Value, dV.ModRevision
		if errors.Is(err, store.ErrNotFound) {
			return ErrImageNotFound
		}
		if err != nil {
			return err
		}
		imgV, err := store.Get[ecrstate.Image](ctx, c.store, ecrstate.ImageKey(repo, d))
		img = imgV.Value
		imgRev := imgV.ModRevision
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		compares := []store.Compare{
			{Key: ecrstate.RepositoryKey(repo), ModRevision: repoRev},
			{Key: ecrstate.TagKey(repo, tag), ModRevision: tagRev},
			{Key: ecrstate.ImageKey(repo, d), ModRevision: imgRev},
		}
		ops := []store.Op{store.Delete(ecrstate.TagKey(repo, tag))}
		img.Tags = slices.DeleteFunc(img.Tags, func(t string) bool { return t == tag })
		deleted = false
		switch {
		case imgRev == 0:
		case len(img.Tags) == 0 && deleteUntagged:
			ops = append(ops, store.Delete(ecrstate.ImageKey(repo, d)))
			if img.Subject != "" {
				ops = append(ops, store.Delete(ecrstate.ReferrerKey(repo, img.Subject, d)))
			}
			deleted = true
		default:
			put, err := store.PutJSON(ecrstate.ImageKey(repo, d), img)
			if err != nil {
				return err
			}
			ops = append(ops, put)
		}
		_, err = c.store.Txn(ctx, store.Txn{If: compares, Then: ops})
		return err
	})
	return img, deleted, err
}

// Referrers lists the manifests in repo whose subject is d, optionally only
// those of one artifact type.
func (c *Catalog) Referrers(ctx context.Context, repo ecrstate.RepositoryID, d digest.Digest, artifactType string) ([]ecrstate.Referrer, error) {
	if _, _, err := c.repository(ctx, repo); err != nil {
		return nil, err
	}
	referrers, _, err := store.List[ecrstate.Referrer](ctx, c.store, ecrstate.SubjectReferrersPrefix(repo, d), store.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]ecrstate.Referrer, 0, len(referrers))
	for _, v := range referrers {
		r := v.Value
		if artifactType == "" || r.ArtifactType == artifactType {
			out = append(out, r)
		}
	}
	return out, nil
}
