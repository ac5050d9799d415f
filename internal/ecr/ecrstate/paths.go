package ecrstate

import (
	"strings"

	"github.com/opencontainers/go-digest"
)

// The layout of ECR's records in the store (layout version 2, see
// Relayout). Every key starts "ecr/". A repository is known by its region
// and name (RepositoryID), which lead every repository's key as
// "<region>|<repo>". Regions never contain '|' and repository names use
// [a-z0-9._/-], so '|' separates region, repository and what it holds
// without ambiguity; each kind's prefix lists and watches every region,
// and a repository's records of one kind list together under
// "<prefix><region>|<repo>|". Records are JSON (the types of this
// package).
//
//	ecr/repo/<region>|<repo>                        Repository: its settings and policies
//	ecr/image/<region>|<repo>|<digest>              Image: one manifest and its tags
//	ecr/tag/<region>|<repo>|<tag>                   the digest the tag names (a JSON string)
//	ecr/blob/<region>|<repo>|<digest>               BlobLink: the repository holds the blob
//	ecr/referrer/<region>|<repo>|<subject>|<digest> Referrer: a manifest whose subject is <subject>
//	ecr/scan/<region>|<repo>|<digest>               ScanRecord: the image's scan state
//	ecr/lifecycle-preview/<region>|<repo>           LifecyclePreview: the repository's latest preview
//	ecr/registry/<region>/scanning                  ScanningConfig: the region's registry scanning configuration
//	ecr/registry/<region>/policy                    RegistryPolicy: the region's registry permissions policy
//	ecr/upload/<upload id>                          UploadSession: an ECR layer upload's blob session
//
// Blob content itself (the blob store's files) is shared by all regions.
// A scan record sits beside its image: both end "<region>|<repo>|<digest>",
// which the scan controller uses as its work key (ParseScanKey). Watchers
// follow "ecr/" (the scan controller) or RepositoryPrefix (the lifecycle
// controller).
const (
	Prefix                 = "ecr/"
	RepositoryPrefix       = "ecr/repo/"
	ImagePrefix            = "ecr/image/"
	TagPrefix              = "ecr/tag/"
	BlobPrefix             = "ecr/blob/"
	ReferrerPrefix         = "ecr/referrer/"
	ScanPrefix             = "ecr/scan/"
	RegistryPrefix         = "ecr/registry/"
	UploadPrefix           = "ecr/upload/"
	LifecyclePreviewPrefix = "ecr/lifecycle-preview/"
)

// RepositoryID is a repository's identity: the same name in two regions is
// two repositories. Everything that reads or writes a repository's records
// takes one, so a name can't be used without its region.
type RepositoryID struct {
	Region, Name string
}

// String is the id as it leads the repository's keys, "<region>|<name>".
func (id RepositoryID) String() string { return id.Region + "|" + id.Name }

// ARN is the repository's ARN in account.
func (id RepositoryID) ARN(account string) string {
	return "arn:aws:ecr:" + id.Region + ":" + account + ":repository/" + id.Name
}

// ParseRepositoryID reads an id from the front of a key's rest
// ("<region>|<name>" or "<region>|<name>|..."), returning what follows.
func ParseRepositoryID(s string) (id RepositoryID, rest string, ok bool) {
	region, s, ok := strings.Cut(s, "|")
	if !ok || region == "" {
		return RepositoryID{}, "", false
	}
	name, rest, _ := strings.Cut(s, "|")
	if name == "" {
		return RepositoryID{}, "", false
	}
	return RepositoryID{Region: region, Name: name}, rest, true
}

func RepositoryKey(repo RepositoryID) string { return RepositoryPrefix + repo.String() }
func ImageKey(repo RepositoryID, d digest.Digest) string {
	return RepositoryScoped(ImagePrefix, repo) + d.String()
}
func TagKey(repo RepositoryID, tag string) string { return RepositoryScoped(TagPrefix, repo) + tag }
func BlobKey(repo RepositoryID, d digest.Digest) string {
	return RepositoryScoped(BlobPrefix, repo) + d.String()
}

// ReferrerKey is the key of manifest d's record as a referrer of subject;
// SubjectReferrersPrefix lists subject's referrers.
func ReferrerKey(repo RepositoryID, subject, d digest.Digest) string {
	return SubjectReferrersPrefix(repo, subject) + d.String()
}
func SubjectReferrersPrefix(repo RepositoryID, subject digest.Digest) string {
	return RepositoryScoped(ReferrerPrefix, repo) + subject.String() + "|"
}
func ScanKey(repo RepositoryID, d digest.Digest) string {
	return RepositoryScoped(ScanPrefix, repo) + d.String()
}
func UploadKey(uploadID string) string              { return UploadPrefix + uploadID }
func LifecyclePreviewKey(repo RepositoryID) string  { return LifecyclePreviewPrefix + repo.String() }
func ScanningKey(region string) string              { return RegistryPrefix + region + "/scanning" }
func RegistryPolicyKey(region string) string        { return RegistryPrefix + region + "/policy" }
func RegionRepositoriesPrefix(region string) string { return RepositoryPrefix + region + "|" }

// RepositoryScoped is the prefix under which one of the per-repository
// prefixes (ImagePrefix, TagPrefix, BlobPrefix, ReferrerPrefix, ScanPrefix)
// lists repo's records.
func RepositoryScoped(prefix string, repo RepositoryID) string { return prefix + repo.String() + "|" }

// ParseScanKey splits a scan record's key (or an image key's suffix
// "<region>|<repo>|<digest>") into repository and digest.
func ParseScanKey(key string) (repo RepositoryID, d digest.Digest, ok bool) {
	repo, ds, ok := ParseRepositoryID(strings.TrimPrefix(key, ScanPrefix))
	if !ok || ds == "" {
		return RepositoryID{}, "", false
	}
	return repo, digest.Digest(ds), true
}

// ParseScanningKey returns the region of a registry scanning
// configuration's key.
func ParseScanningKey(key string) (region string, ok bool) {
	rest, ok := strings.CutPrefix(key, RegistryPrefix)
	if !ok {
		return "", false
	}
	region, ok = strings.CutSuffix(rest, "/scanning")
	return region, ok && region != "" && !strings.Contains(region, "/")
}
