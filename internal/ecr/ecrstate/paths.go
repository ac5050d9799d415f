package ecrstate

import (
	"strings"

	"github.com/opencontainers/go-digest"
)

// The layout of ECR's records in the store. Every key starts "ecr/".
// Repository names use [a-z0-9._/-], so '|' separates a repository from
// what it holds without ambiguity, and a repository's records of one kind
// list together under "<prefix><repo>|". Records are JSON (the types of
// this package).
//
//	ecr/repo/<repo>                               Repository: its settings and policies
//	ecr/image/<repo>|<digest>                     Image: one manifest and its tags
//	ecr/tag/<repo>|<tag>                          the digest the tag names (a JSON string)
//	ecr/blob/<repo>|<digest>                      BlobLink: the repository holds the blob
//	ecr/referrer/<repo>|<subject>|<digest>        Referrer: a manifest whose subject is <subject>
//	ecr/scan/<repo>|<digest>                      ScanRecord: the image's scan state
//	ecr/registry/scanning                         ScanningConfig: the registry scanning configuration
//	ecr/upload/<upload id>                        UploadSession: an ECR layer upload's blob session
//	ecr/lifecycle-preview/<repo>                  LifecyclePreview: the repository's latest preview
//
// A scan record sits beside its image: both end "<repo>|<digest>", which
// the scan controller uses as its work key (ParseScanKey). Watchers follow
// "ecr/" (the scan controller) or RepositoryPrefix (the lifecycle
// controller).
const (
	Prefix                 = "ecr/"
	RepositoryPrefix       = "ecr/repo/"
	ImagePrefix            = "ecr/image/"
	TagPrefix              = "ecr/tag/"
	BlobPrefix             = "ecr/blob/"
	ReferrerPrefix         = "ecr/referrer/"
	ScanPrefix             = "ecr/scan/"
	ScanningKey            = "ecr/registry/scanning"
	UploadPrefix           = "ecr/upload/"
	LifecyclePreviewPrefix = "ecr/lifecycle-preview/"
)

func RepositoryKey(repo string) string             { return RepositoryPrefix + repo }
func ImageKey(repo string, d digest.Digest) string { return ImagePrefix + repo + "|" + d.String() }
func TagKey(repo, tag string) string               { return TagPrefix + repo + "|" + tag }
func BlobKey(repo string, d digest.Digest) string  { return BlobPrefix + repo + "|" + d.String() }

// ReferrerKey is the key of manifest d's record as a referrer of subject;
// SubjectReferrersPrefix lists subject's referrers.
func ReferrerKey(repo string, subject, d digest.Digest) string {
	return SubjectReferrersPrefix(repo, subject) + d.String()
}
func SubjectReferrersPrefix(repo string, subject digest.Digest) string {
	return ReferrerPrefix + repo + "|" + subject.String() + "|"
}
func ScanKey(repo string, d digest.Digest) string { return ScanPrefix + repo + "|" + d.String() }
func UploadKey(uploadID string) string            { return UploadPrefix + uploadID }
func LifecyclePreviewKey(repo string) string      { return LifecyclePreviewPrefix + repo }

// RepositoryScoped is the prefix under which one of the per-repository
// prefixes (ImagePrefix, TagPrefix, BlobPrefix, ReferrerPrefix, ScanPrefix)
// lists repo's records.
func RepositoryScoped(prefix, repo string) string { return prefix + repo + "|" }

// ParseScanKey splits a scan record's key (or an image key's suffix
// "<repo>|<digest>") into repository and digest.
func ParseScanKey(key string) (repo string, d digest.Digest, ok bool) {
	rest := strings.TrimPrefix(key, ScanPrefix)
	repo, ds, ok := strings.Cut(rest, "|")
	if !ok || repo == "" || ds == "" {
		return "", "", false
	}
	return repo, digest.Digest(ds), true
}
