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
	"github.com/berth/berth/internal/store"
)

// Tag mutability settings, as ECR names them.
const (
	TagMutable                = "MUTABLE"
	TagImmutable              = "IMMUTABLE"
	TagImmutableWithExclusion = "IMMUTABLE_WITH_EXCLUSION"
	TagMutableWithExclusion   = "MUTABLE_WITH_EXCLUSION"
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

// Repository is one repository's settings.
type Repository struct {
	Name          string    `json:"name"`
	CreatedAt     time.Time `json:"createdAt"`
	TagMutability string    `json:"tagMutability"`
	// TagMutabilityExclusions are wildcard filters (`*`) naming the tags
	// that don't follow TagMutability (the *_WITH_EXCLUSION settings).
	TagMutabilityExclusions []string          `json:"tagMutabilityExclusions,omitempty"`
	ScanOnPush              bool              `json:"scanOnPush"`
	EncryptionType          string            `json:"encryptionType"`
	KMSKey                  string            `json:"kmsKey,omitempty"`
	Tags                    []ResourceTag     `json:"tags,omitempty"`
	Policy                  string            `json:"policy,omitempty"`
	LifecyclePolicy         string            `json:"lifecyclePolicy,omitempty"`
	LifecyclePolicyAt       time.Time         `json:"lifecyclePolicyAt,omitzero"`
	Extra                   map[string]string `json:"extra,omitempty"`
	// Deleting marks a repository whose deletion has begun; it is gone for
	// every reader, and writers racing the deletion fail on its revision.
	Deleting bool `json:"deleting,omitempty"`
}

// ResourceTag is an AWS resource tag.
type ResourceTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// TagIsImmutable reports whether tag may not be moved once it exists.
func (r *Repository) TagIsImmutable(tag string) bool {
	switch r.TagMutability {
	case TagImmutable:
		return true
	case TagImmutableWithExclusion:
		return !matchesAnyWildcard(r.TagMutabilityExclusions, tag)
	case TagMutableWithExclusion:
		return matchesAnyWildcard(r.TagMutabilityExclusions, tag)
	}
	return false
}

// Image is one manifest stored in a repository.
type Image struct {
	Repository string        `json:"repository"`
	Digest     digest.Digest `json:"digest"`
	MediaType  string        `json:"mediaType"`
	// ArtifactType is the manifest's artifactType, else its config media
	// type (what the referrers API and ECR's artifactMediaType report).
	ArtifactType string `json:"artifactType,omitempty"`
	ConfigType   string `json:"configType,omitempty"`
	Manifest     []byte `json:"manifest"`
	// Tags are sorted.
	Tags     []string  `json:"tags,omitempty"`
	PushedAt time.Time `json:"pushedAt"`
	// Size is the sum of the layers' sizes; for an index, its largest child's.
	Size int64 `json:"size"`
	// Subject is the manifest this one refers to (referrers API).
	Subject     digest.Digest     `json:"subject,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Blobs are the config and layer digests; Children the manifests of an index.
	Blobs        []digest.Digest `json:"blobs,omitempty"`
	Children     []digest.Digest `json:"children,omitempty"`
	LastPulledAt time.Time       `json:"lastPulledAt,omitzero"`
}

// BlobLink records that a repository holds a blob.
type BlobLink struct {
	Digest   digest.Digest `json:"digest"`
	Size     int64         `json:"size"`
	LinkedAt time.Time     `json:"linkedAt"`
	// Condemned marks a link garbage collection is about to delete (see
	// gc.go); a manifest put that references it clears the mark, which
	// makes the collector's deletion fail.
	Condemned bool `json:"condemned,omitempty"`
}

// Referrer is a manifest that names another as its subject.
type Referrer struct {
	MediaType    string            `json:"mediaType"`
	Digest       digest.Digest     `json:"digest"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

// Store keys. Repository names use [a-z0-9._/-], so '|' separates a
// repository from what it holds without ambiguity.
const (
	repoPrefix     = "ecr/repo/"
	imagePrefix    = "ecr/image/"
	tagPrefix      = "ecr/tag/"
	blobPrefix     = "ecr/blob/"
	referrerPrefix = "ecr/referrer/"
)

func repoKey(repo string) string                   { return repoPrefix + repo }
func imageKey(repo string, d digest.Digest) string { return imagePrefix + repo + "|" + d.String() }
func tagKey(repo, tag string) string               { return tagPrefix + repo + "|" + tag }
func blobKey(repo string, d digest.Digest) string  { return blobPrefix + repo + "|" + d.String() }
func referrerKey(repo string, subject, d digest.Digest) string {
	return referrerPrefix + repo + "|" + subject.String() + "|" + d.String()
}

// maxTxnAttempts bounds the read-decide-commit loop under contention.
const maxTxnAttempts = 50

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

// retry runs attempt until it commits or fails with something other than a
// lost race.
func retry(ctx context.Context, attempt func() error) error {
	for i := 0; ; i++ {
		err := attempt()
		if !errors.Is(err, store.ErrConflict) || i == maxTxnAttempts {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		time.Sleep(time.Duration(i) * time.Millisecond)
	}
}

func getJSON[T any](ctx context.Context, st store.Store, key string) (T, int64, error) {
	var v T
	kv, _, err := st.Get(ctx, key)
	if err != nil {
		return v, 0, err
	}
	if err := json.Unmarshal(kv.Value, &v); err != nil {
		return v, 0, fmt.Errorf("decode %s: %w", key, err)
	}
	return v, kv.ModRevision, nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs are marshalled
	}
	return b
}

// repository reads a live repository and its revision.
func (c *Catalog) repository(ctx context.Context, name string) (Repository, int64, error) {
	repo, rev, err := getJSON[Repository](ctx, c.store, repoKey(name))
	if errors.Is(err, store.ErrNotFound) || (err == nil && repo.Deleting) {
		return Repository{}, 0, ErrRepositoryNotFound
	}
	return repo, rev, err
}

// CreateRepository stores a new repository; CreatedAt is set here.
func (c *Catalog) CreateRepository(ctx context.Context, repo Repository) (Repository, error) {
	repo.CreatedAt = c.now()
	if repo.TagMutability == "" {
		repo.TagMutability = TagMutable
	}
	if repo.EncryptionType == "" {
		repo.EncryptionType = "AES256"
	}
	err := retry(ctx, func() error {
		existing, rev, err := getJSON[Repository](ctx, c.store, repoKey(repo.Name))
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		case !existing.Deleting:
			return ErrRepositoryExists
		default:
			// A deletion that crashed half-way: finish it, then create.
			if err := c.purge(ctx, repo.Name, rev); err != nil {
				return err
			}
			rev = 0
		}
		_, err = c.store.Txn(ctx, store.Txn{
			If:   []store.Compare{{Key: repoKey(repo.Name), ModRevision: 0}},
			Then: []store.Op{store.Put(repoKey(repo.Name), mustJSON(repo))},
		})
		return err
	})
	return repo, err
}

// GetRepository returns a repository or ErrRepositoryNotFound.
func (c *Catalog) GetRepository(ctx context.Context, name string) (Repository, error) {
	repo, _, err := c.repository(ctx, name)
	return repo, err
}

// ListRepositories returns repositories in name order after startAfter;
// limit 0 means all.
func (c *Catalog) ListRepositories(ctx context.Context, startAfter string, limit int) ([]Repository, error) {
	var out []Repository
	after := ""
	if startAfter != "" {
		after = repoKey(startAfter)
	}
	for {
		kvs, _, err := c.store.List(ctx, repoPrefix, store.ListOptions{StartAfter: after, Limit: max(limit, 100)})
		if err != nil {
			return nil, err
		}
		for _, kv := range kvs {
			var repo Repository
			if err := json.Unmarshal(kv.Value, &repo); err != nil {
				return nil, fmt.Errorf("decode %s: %w", kv.Key, err)
			}
			if repo.Deleting {
				continue
			}
			out = append(out, repo)
			if limit > 0 && len(out) == limit {
				return out, nil
			}
		}
		if len(kvs) == 0 || (limit == 0 && len(kvs) < 100) {
			return out, nil
		}
		after = kvs[len(kvs)-1].Key
	}
}

// UpdateRepository applies update to the stored repository atomically.
func (c *Catalog) UpdateRepository(ctx context.Context, name string, update func(*Repository) error) (Repository, error) {
	var repo Repository
	err := retry(ctx, func() error {
		current, rev, err := c.repository(ctx, name)
		if err != nil {
			return err
		}
		if err := update(&current); err != nil {
			return err
		}
		current.Name = name
		_, err = c.store.Txn(ctx, store.Txn{
			If:   []store.Compare{{Key: repoKey(name), ModRevision: rev}},
			Then: []store.Op{store.Put(repoKey(name), mustJSON(current))},
		})
		repo = current
		return err
	})
	return repo, err
}

// DeleteRepository deletes a repository; unless force, only an empty one.
// It returns the repository as it was.
func (c *Catalog) DeleteRepository(ctx context.Context, name string, force bool) (Repository, error) {
	var deleted Repository
	var rev int64
	// First mark it deleting, so that pushes racing the deletion fail on
	// the repository's revision instead of leaving orphans behind.
	err := retry(ctx, func() error {
		repo, r, err := c.repository(ctx, name)
		if err != nil {
			return err
		}
		if !force {
			images, _, err := c.store.List(ctx, imagePrefix+name+"|", store.ListOptions{Limit: 1})
			if err != nil {
				return err
			}
			if len(images) > 0 {
				return ErrRepositoryNotEmpty
			}
		}
		deleted = repo
		repo.Deleting = true
		rev, err = c.store.Txn(ctx, store.Txn{
			If:   []store.Compare{{Key: repoKey(name), ModRevision: r}},
			Then: []store.Op{store.Put(repoKey(name), mustJSON(repo))},
		})
		return err
	})
	if err != nil {
		return Repository{}, err
	}
	return deleted, c.purge(ctx, name, rev)
}

// purge removes a repository marked deleting (at revision rev) and all it holds.
func (c *Catalog) purge(ctx context.Context, name string, rev int64) error {
	ops := []store.Op{store.Delete(repoKey(name))}
	for _, prefix := range []string{imagePrefix, tagPrefix, blobPrefix, referrerPrefix} {
		kvs, _, err := c.store.List(ctx, prefix+name+"|", store.ListOptions{})
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			ops = append(ops, store.Delete(kv.Key))
		}
	}
	_, err := c.store.Txn(ctx, store.Txn{
		If:   []store.Compare{{Key: repoKey(name), ModRevision: rev}},
		Then: ops,
	})
	return err
}

// LinkBlob records that repo holds blob d of the given size (after an
// upload committed it, or a mount).
func (c *Catalog) LinkBlob(ctx context.Context, repo string, d digest.Digest, size int64) error {
	return retry(ctx, func() error {
		_, rev, err := c.repository(ctx, repo)
		if err != nil {
			return err
		}
		link := BlobLink{Digest: d, Size: size, LinkedAt: c.now()}
		_, err = c.store.Txn(ctx, store.Txn{
			If:   []store.Compare{{Key: repoKey(repo), ModRevision: rev}},
			Then: []store.Op{store.Put(blobKey(repo, d), mustJSON(link))},
		})
		return err
	})
}

// Blob returns repo's link to blob d, ErrBlobNotFound or ErrRepositoryNotFound.
func (c *Catalog) Blob(ctx context.Context, repo string, d digest.Digest) (BlobLink, error) {
	link, _, err := getJSON[BlobLink](ctx, c.store, blobKey(repo, d))
	if errors.Is(err, store.ErrNotFound) {
		if _, _, err := c.repository(ctx, repo); err != nil {
			return link, err
		}
		return link, ErrBlobNotFound
	}
	return link, err
}

// BlobInAnyRepository finds a link to d in any repository (for automatic
// cross-repository mounts). It returns ErrBlobNotFound if there is none.
func (c *Catalog) BlobInAnyRepository(ctx context.Context, d digest.Digest) (BlobLink, error) {
	repos, err := c.ListRepositories(ctx, "", 0)
	if err != nil {
		return BlobLink{}, err
	}
	for _, repo := range repos {
		link, err := c.Blob(ctx, repo.Name, d)
		if err == nil {
			return link, nil
		}
		if !errors.Is(err, ErrBlobNotFound) && !errors.Is(err, ErrRepositoryNotFound) {
			return BlobLink{}, err
		}
	}
	return BlobLink{}, ErrBlobNotFound
}

// UnlinkBlob removes repo's link to blob d. The blob's bytes stay until
// garbage collection finds no link to them.
func (c *Catalog) UnlinkBlob(ctx context.Context, repo string, d digest.Digest) error {
	if _, err := c.Blob(ctx, repo, d); err != nil {
		return err
	}
	_, err := c.store.Txn(ctx, store.Txn{Then: []store.Op{store.Delete(blobKey(repo, d))}})
	return err
}

// Image returns the image that reference (a tag or a digest) names in repo,
// ErrImageNotFound or ErrRepositoryNotFound.
func (c *Catalog) Image(ctx context.Context, repo, reference string) (Image, error) {
	d, err := digest.Parse(reference)
	if err != nil {
		tag, _, terr := getJSON[digest.Digest](ctx, c.store, tagKey(repo, reference))
		if terr != nil {
			return Image{}, c.notFound(ctx, repo, terr)
		}
		d = tag
	}
	img, _, err := getJSON[Image](ctx, c.store, imageKey(repo, d))
	if err != nil {
		return Image{}, c.notFound(ctx, repo, err)
	}
	return img, nil
}

// notFound turns a missing key into ErrImageNotFound, or
// ErrRepositoryNotFound when the repository is what's missing.
func (c *Catalog) notFound(ctx context.Context, repo string, err error) error {
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if _, _, err := c.repository(ctx, repo); err != nil {
		return err
	}
	return ErrImageNotFound
}

// Images returns every image in repo, in digest order.
func (c *Catalog) Images(ctx context.Context, repo string) ([]Image, error) {
	if _, _, err := c.repository(ctx, repo); err != nil {
		return nil, err
	}
	kvs, _, err := c.store.List(ctx, imagePrefix+repo+"|", store.ListOptions{})
	if err != nil {
		return nil, err
	}
	images := make([]Image, 0, len(kvs))
	for _, kv := range kvs {
		var img Image
		if err := json.Unmarshal(kv.Value, &img); err != nil {
			return nil, fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		images = append(images, img)
	}
	return images, nil
}

// Tags lists repo's tags in lexical order after last; n 0 means all.
func (c *Catalog) Tags(ctx context.Context, repo, last string, n int) ([]string, error) {
	if _, _, err := c.repository(ctx, repo); err != nil {
		return nil, err
	}
	opts := store.ListOptions{Limit: n}
	if last != "" {
		opts.StartAfter = tagKey(repo, last)
	}
	kvs, _, err := c.store.List(ctx, tagPrefix+repo+"|", opts)
	if err != nil {
		return nil, err
	}
	tags := make([]string, len(kvs))
	for i, kv := range kvs {
		tags[i] = strings.TrimPrefix(kv.Key, tagPrefix+repo+"|")
	}
	return tags, nil
}

// PutManifestResult tells what a PutManifest did.
type PutManifestResult struct {
	Image Image
	// Changed is false when the manifest (and tag) were already there.
	Changed bool
}

// PutManifest stores a manifest in repo under its digest and, if tag is not
// empty, points tag at it. mediaType is the manifest's media type as the
// client declared it (falling back to the manifest's own mediaType field).
// If want is not empty the content must hash to it (its algorithm is then
// the image digest's); otherwise the digest is sha256.
func (c *Catalog) PutManifest(ctx context.Context, repo, tag, mediaType string, want digest.Digest, body []byte) (PutManifestResult, error) {
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
	err = retry(ctx, func() error {
		var err error
		result, err = c.putManifest(ctx, repo, tag, d, parsed, body)
		return err
	})
	return result, err
}

func (c *Catalog) putManifest(ctx context.Context, repo, tag string, d digest.Digest, m *Manifest, body []byte) (PutManifestResult, error) {
	settings, repoRev, err := c.repository(ctx, repo)
	if err != nil {
		return PutManifestResult{}, err
	}
	compares := []store.Compare{{Key: repoKey(repo), ModRevision: repoRev}}
	var ops []store.Op

	// Everything the manifest references must be in the repository.
	var missing MissingReferencesError
	var size int64
	// The links are compared in the transaction, so a manifest can't be
	// stored referencing a link garbage collection deleted meanwhile; one
	// the collector has marked is claimed back (gc.go).
	seen := make(map[digest.Digest]bool, len(m.Blobs))
	for _, ref := range m.Blobs {
		link, linkRev, err := getJSON[BlobLink](ctx, c.store, blobKey(repo, ref.Digest))
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
		compares = append(compares, store.Compare{Key: blobKey(repo, ref.Digest), ModRevision: linkRev})
		if link.Condemned {
			link.Condemned = false
			link.LinkedAt = c.now()
			ops = append(ops, store.Put(blobKey(repo, ref.Digest), mustJSON(link)))
		}
	}
	for _, child := range m.Children {
		img, _, err := getJSON[Image](ctx, c.store, imageKey(repo, child))
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

	img, imgRev, err := getJSON[Image](ctx, c.store, imageKey(repo, d))
	exists := err == nil
	switch {
	case errors.Is(err, store.ErrNotFound):
		img = Image{
			Repository:   repo,
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
	compares = append(compares, store.Compare{Key: imageKey(repo, d), ModRevision: imgRev})
	changed := !exists

	if tag != "" {
		current, tagRev, err := getJSON[digest.Digest](ctx, c.store, tagKey(repo, tag))
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return PutManifestResult{}, err
		}
		compares = append(compares, store.Compare{Key: tagKey(repo, tag), ModRevision: tagRev})
		if current != d {
			if current != "" {
				if settings.TagIsImmutable(tag) {
					return PutManifestResult{}, &TagImmutableError{Repository: repo, Tag: tag}
				}
				old, oldRev, err := getJSON[Image](ctx, c.store, imageKey(repo, current))
				if err == nil {
					old.Tags = slices.DeleteFunc(old.Tags, func(t string) bool { return t == tag })
					compares = append(compares, store.Compare{Key: imageKey(repo, current), ModRevision: oldRev})
					ops = append(ops, store.Put(imageKey(repo, current), mustJSON(old)))
				} else if !errors.Is(err, store.ErrNotFound) {
					return PutManifestResult{}, err
				}
			}
			ops = append(ops, store.Put(tagKey(repo, tag), mustJSON(d)))
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
	ops = append(ops, store.Put(imageKey(repo, d), mustJSON(img)))
	if !exists && img.Subject != "" {
		ops = append(ops, store.Put(referrerKey(repo, img.Subject, d), mustJSON(img.referrer())))
	}
	if _, err := c.store.Txn(ctx, store.Txn{If: compares, Then: ops}); err != nil {
		return PutManifestResult{}, err
	}
	return PutManifestResult{Image: img, Changed: true}, nil
}

func (img *Image) referrer() Referrer {
	return Referrer{
		MediaType:    img.MediaType,
		Digest:       img.Digest,
		Size:         int64(len(img.Manifest)),
		ArtifactType: img.ArtifactType,
		Annotations:  img.Annotations,
	}
}

// DeleteImage deletes the image d from repo with all its tags. If
// refuseReferenced, an image that an index in the repository lists is kept
// and ErrImageReferenced returned (ECR's rule for BatchDeleteImage).
func (c *Catalog) DeleteImage(ctx context.Context, repo string, d digest.Digest, refuseReferenced bool) (Image, error) {
	return c.deleteImage(ctx, repo, d, refuseReferenced, nil)
}

// DeleteImageIf is DeleteImage refusing referenced images, for a deleter
// that decided on an earlier read (the lifecycle controller): check sees
// the image as the deletion would remove it and returns an error to keep
// it, which DeleteImageIf returns. The check and the deletion are one
// atomic step on the image, so an image re-tagged after the decision is
// not deleted on it.
func (c *Catalog) DeleteImageIf(ctx context.Context, repo string, d digest.Digest, check func(Image) error) (Image, error) {
	return c.deleteImage(ctx, repo, d, true, check)
}

func (c *Catalog) deleteImage(ctx context.Context, repo string, d digest.Digest, refuseReferenced bool, check func(Image) error) (Image, error) {
	var deleted Image
	err := retry(ctx, func() error {
		_, repoRev, err := c.repository(ctx, repo)
		if err != nil {
			return err
		}
		img, imgRev, err := getJSON[Image](ctx, c.store, imageKey(repo, d))
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
		compares := []store.Compare{{Key: repoKey(repo), ModRevision: repoRev}, {Key: imageKey(repo, d), ModRevision: imgRev}}
		ops := []store.Op{store.Delete(imageKey(repo, d))}
		for _, tag := range img.Tags {
			ops = append(ops, store.Delete(tagKey(repo, tag)))
		}
		if img.Subject != "" {
			ops = append(ops, store.Delete(referrerKey(repo, img.Subject, d)))
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
func (c *Catalog) Untag(ctx context.Context, repo, tag string, deleteUntagged bool) (Image, bool, error) {
	var img Image
	var deleted bool
	err := retry(ctx, func() error {
		_, repoRev, err := c.repository(ctx, repo)
		if err != nil {
			return err
		}
		d, tagRev, err := getJSON[digest.Digest](ctx, c.store, tagKey(repo, tag))
		if errors.Is(err, store.ErrNotFound) {
			return ErrImageNotFound
		}
		if err != nil {
			return err
		}
		var imgRev int64
		img, imgRev, err = getJSON[Image](ctx, c.store, imageKey(repo, d))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		compares := []store.Compare{
			{Key: repoKey(repo), ModRevision: repoRev},
			{Key: tagKey(repo, tag), ModRevision: tagRev},
			{Key: imageKey(repo, d), ModRevision: imgRev},
		}
		ops := []store.Op{store.Delete(tagKey(repo, tag))}
		img.Tags = slices.DeleteFunc(img.Tags, func(t string) bool { return t == tag })
		deleted = false
		switch {
		case imgRev == 0:
		case len(img.Tags) == 0 && deleteUntagged:
			ops = append(ops, store.Delete(imageKey(repo, d)))
			if img.Subject != "" {
				ops = append(ops, store.Delete(referrerKey(repo, img.Subject, d)))
			}
			deleted = true
		default:
			ops = append(ops, store.Put(imageKey(repo, d), mustJSON(img)))
		}
		_, err = c.store.Txn(ctx, store.Txn{If: compares, Then: ops})
		return err
	})
	return img, deleted, err
}

// Referrers lists the manifests in repo whose subject is d, optionally only
// those of one artifact type.
func (c *Catalog) Referrers(ctx context.Context, repo string, d digest.Digest, artifactType string) ([]Referrer, error) {
	if _, _, err := c.repository(ctx, repo); err != nil {
		return nil, err
	}
	kvs, _, err := c.store.List(ctx, referrerPrefix+repo+"|"+d.String()+"|", store.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]Referrer, 0, len(kvs))
	for _, kv := range kvs {
		var r Referrer
		if err := json.Unmarshal(kv.Value, &r); err != nil {
			return nil, fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		if artifactType == "" || r.ArtifactType == artifactType {
			out = append(out, r)
		}
	}
	return out, nil
}

// matchesAnyWildcard reports whether s matches one of the patterns, where
// `*` matches any run of characters (ECR's WILDCARD filters).
func matchesAnyWildcard(patterns []string, s string) bool {
	for _, p := range patterns {
		if MatchWildcard(p, s) {
			return true
		}
	}
	return false
}

// MatchWildcard reports whether s matches pattern, where `*` matches any
// run of characters and everything else matches itself.
func MatchWildcard(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, part := range parts[1 : len(parts)-1] {
		i := strings.Index(s, part)
		if i < 0 {
			return false
		}
		s = s[i+len(part):]
	}
	return len(s) >= len(last) && strings.HasSuffix(s, last)
}
