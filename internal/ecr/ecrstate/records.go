// Package ecrstate is ECR's state in berth's store: the records of
// repositories, images, tags, blob links, referrers, image scans, the
// registry scanning configuration, layer uploads and lifecycle policy
// previews, their keys, and the reads and decisions that need nothing but
// records. The registry (catalog and OCI API), the ECR API and the scan
// and lifecycle controllers meet here instead of importing one another.
// paths.go documents the key layout; reads and writes go through the
// store's typed helpers (store.Get, store.List, store.Update).
package ecrstate

import (
	"time"

	"github.com/opencontainers/go-digest"
)

// Tag mutability settings, as ECR names them.
const (
	TagMutable                = "MUTABLE"
	TagImmutable              = "IMMUTABLE"
	TagImmutableWithExclusion = "IMMUTABLE_WITH_EXCLUSION"
	TagMutableWithExclusion   = "MUTABLE_WITH_EXCLUSION"
)

// Repository is one repository's settings.
type Repository struct {
	Name          string    `json:"name"`
	CreatedAt     time.Time `json:"createdAt"`
	TagMutability string    `json:"tagMutability"`
	// TagMutabilityExclusions are wildcard filters (`*`) naming the tags
	// that don't follow TagMutability (the *_WITH_EXCLUSION settings).
	TagMutabilityExclusions []string      `json:"tagMutabilityExclusions,omitempty"`
	ScanOnPush              bool          `json:"scanOnPush"`
	EncryptionType          string        `json:"encryptionType"`
	KMSKey                  string        `json:"kmsKey,omitempty"`
	Tags                    []ResourceTag `json:"tags,omitempty"`
	Policy                  string        `json:"policy,omitempty"`
	LifecyclePolicy         string        `json:"lifecyclePolicy,omitempty"`
	LifecyclePolicyAt       time.Time     `json:"lifecyclePolicyAt,omitzero"`
	// LifecyclePolicyEvaluatedAt is when the lifecycle controller last
	// evaluated the repository's policy; zero while it never has.
	LifecyclePolicyEvaluatedAt time.Time         `json:"lifecyclePolicyEvaluatedAt,omitzero"`
	Extra                      map[string]string `json:"extra,omitempty"`
	// Deleting marks a repository whose deletion has begun; it is gone for
	// every reader, and writers racing the deletion fail on its revision.
	Deleting bool `json:"deleting,omitempty"`
}

// ResourceTag is an AWS resource tag.
type ResourceTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// TagConditions are the repository's tags as IAM condition keys, under
// AWS's name and ECR's (aws:ResourceTag/<key>, ecr:ResourceTag/<key>);
// nil for none.
func (r *Repository) TagConditions() map[string][]string {
	if len(r.Tags) == 0 {
		return nil
	}
	c := make(map[string][]string, 2*len(r.Tags))
	for _, t := range r.Tags {
		c["aws:ResourceTag/"+t.Key] = []string{t.Value}
		c["ecr:ResourceTag/"+t.Key] = []string{t.Value}
	}
	return c
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

// Referrer is img's record under its subject.
func (img *Image) Referrer() Referrer {
	return Referrer{
		MediaType:    img.MediaType,
		Digest:       img.Digest,
		Size:         int64(len(img.Manifest)),
		ArtifactType: img.ArtifactType,
		Annotations:  img.Annotations,
	}
}

// BlobLink records that a repository holds a blob.
type BlobLink struct {
	Digest   digest.Digest `json:"digest"`
	Size     int64         `json:"size"`
	LinkedAt time.Time     `json:"linkedAt"`
	// MediaType is the blob's media type as the first manifest put that
	// references it names it ("" until one does): a blob has none of its
	// own, and ECR answers it in BatchCheckLayerAvailability.
	MediaType string `json:"mediaType,omitempty"`
	// Condemned marks a link garbage collection is about to delete (see
	// registry/gc.go); a manifest put that references it clears the mark,
	// which makes the collector's deletion fail.
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

// UploadSession maps an ECR layer upload id, bound to one repository, to
// its blob store upload session.
type UploadSession struct {
	Region     string    `json:"region"`
	Repository string    `json:"repository"`
	BlobUpload string    `json:"blobUpload"`
	CreatedAt  time.Time `json:"createdAt"`
}

// Lifecycle policy preview statuses (ECR's LifecyclePolicyPreviewStatus).
const (
	PreviewInProgress = "IN_PROGRESS"
	PreviewComplete   = "COMPLETE"
	PreviewFailed     = "FAILED"
)

// PreviewStaleAfter is how long a preview may stay IN_PROGRESS: one the
// lifecycle controller could not complete in that time (a server down
// since it started) is FAILED after it, and a new one may start.
const PreviewStaleAfter = 5 * time.Minute

// LifecyclePreview is a repository's latest lifecycle policy preview.
type LifecyclePreview struct {
	// RepositoryCreatedAt ties the preview to one life of the repository:
	// a repository deleted and created again has no preview.
	RepositoryCreatedAt time.Time `json:"repositoryCreatedAt"`
	PolicyText          string    `json:"policyText"`
	Status              string    `json:"status"`
	StartedAt           time.Time `json:"startedAt"`
	// Results are the images the policy acts on, in rule priority order,
	// oldest first within a rule.
	Results []PreviewResult `json:"results,omitempty"`
}

// PreviewResult is one image a previewed policy acts on.
type PreviewResult struct {
	Digest             string    `json:"digest"`
	Tags               []string  `json:"tags,omitempty"`
	PushedAt           time.Time `json:"pushedAt"`
	RulePriority       int       `json:"rulePriority"`
	Action             string    `json:"action"`
	TargetStorageClass string    `json:"targetStorageClass,omitempty"`
}

// StatusAt is the preview's status as of now: an IN_PROGRESS preview that
// outlived PreviewStaleAfter was interrupted and has FAILED.
func (p *LifecyclePreview) StatusAt(now time.Time) string {
	if p.Status == PreviewInProgress && now.Sub(p.StartedAt) >= PreviewStaleAfter {
		return PreviewFailed
	}
	return p.Status
}

// RegistryPolicy is a region's registry permissions policy
// (PutRegistryPolicy), verbatim.
type RegistryPolicy struct {
	Text      string    `json:"text"`
	UpdatedAt time.Time `json:"updatedAt"`
}
