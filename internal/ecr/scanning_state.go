package ecr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth/berth/internal/registry"
	"github.com/berth/berth/internal/scan"
	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/vulndb"
)

// Image scan records. The API writes a record to ask for a scan
// (StartImageScan) and reads them; the scan controller
// (internal/controller/scan) writes them for scans on push and continuous
// rescans, runs every scan a record asks for, and deletes the records of
// images that are gone.

// ScanPrefix is where scan records live: ScanPrefix + "<repo>|<digest>",
// beside the image's own key ecr/image/<repo>|<digest>.
const ScanPrefix = "ecr/scan/"

// ScanKey is the store key of an image's scan record.
func ScanKey(repo string, d digest.Digest) string { return ScanPrefix + repo + "|" + d.String() }

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

// Scan record statuses. The API shows them as ECR's ScanStatus; an
// enhanced COMPLETE scan shows as ACTIVE.
const (
	ScanInProgress  = ScanStatusInProgress
	ScanComplete    = ScanStatusComplete
	ScanFailed      = ScanStatusFailed
	ScanUnsupported = ScanStatusUnsupportedImage
)

// Descriptions of scan statuses, in ECR's words where ECR has them.
const (
	ScanCompleteDescription    = "The scan was completed successfully."
	ScanUnsupportedDescription = "UnsupportedImageError: The operating system and/or package manager are not supported."
	// UNVERIFIED: ECR's description of an enhanced continuous scan is
	// quoted in user reports; the scan-on-push one follows its style.
	ScanContinuousDescription = "Continuous scan is selected for image."
	ScanOnPushDescription     = "Scan on push is selected for image."
	// ScanEmptyDBDescription is berth's own: with no vulnerability
	// records loaded a scan has checked nothing, and saying COMPLETE with
	// no findings would read as "no vulnerabilities". The status is
	// FAILED so that `aws ecr wait image-scan-complete` (botocore's
	// ImageScanComplete waiter: success on COMPLETE, failure on FAILED,
	// anything else polls on for 5 minutes) stops at once and says why.
	ScanEmptyDBDescription = "VulnerabilityDatabaseEmpty: berth's vulnerability database has no records, so the image's packages could not be checked. Load OSV records with `berth vulndb import DIR|ZIP`; the scan then runs again by itself."
)

// Scan triggers: why a record's latest scan was made.
const (
	TriggerPush       = ScanFrequencyScanOnPush
	TriggerManual     = ScanFrequencyManual
	TriggerContinuous = ScanFrequencyContinuousScan
)

// BasicScanQuota is how long after a basic scan started the image cannot
// be scanned again (ECR: one scan per image per 24 hours, scan on push
// included).
const BasicScanQuota = 24 * time.Hour

// ScanRecord is one image's scan state.
type ScanRecord struct {
	Repository string        `json:"repository"`
	Digest     digest.Digest `json:"digest"`
	// ScanType is the registry scan type the latest scan was made under.
	ScanType string `json:"scanType"`
	// Trigger is why the latest scan was made (TriggerPush, ...).
	Trigger     string `json:"trigger"`
	Status      string `json:"status"`
	Description string `json:"description,omitempty"`
	// RequestedAt is when the latest scan was asked for; CompletedAt when
	// it ended (zero while in progress).
	RequestedAt time.Time `json:"requestedAt"`
	CompletedAt time.Time `json:"completedAt,omitzero"`
	// BasicStartedAt is when the latest basic scan started: the once a
	// day quota counts from it.
	BasicStartedAt time.Time `json:"basicStartedAt,omitzero"`
	// Inventory is what the image holds, kept so that rescans match it
	// again without reading the layers (an image's content never changes).
	Inventory *scan.Inventory `json:"inventory,omitempty"`
	Findings  []ScanFinding   `json:"findings,omitempty"`
	// Source is the vulnerability database the findings were matched
	// against.
	Source ScanSource `json:"source,omitzero"`
	// EmptyDatabase marks a scan that failed because the database was
	// empty; it runs again once records are loaded.
	EmptyDatabase bool `json:"emptyDatabase,omitempty"`
	// Unchecked counts, per ecosystem, the packages the database had no
	// records of at the latest match: their lack of findings means
	// nothing, and the scan's description says so.
	Unchecked map[string]int `json:"unchecked,omitempty"`
}

// UncheckedPackages counts, per ecosystem family, the packages info's
// database cannot check (nil when it covers them all).
func UncheckedPackages(pkgs []vulndb.Package, info vulndb.Info) map[string]int {
	var out map[string]int
	for _, p := range pkgs {
		if info.Covers(p.Ecosystem) {
			continue
		}
		if out == nil {
			out = map[string]int{}
		}
		family, _, _ := strings.Cut(p.Ecosystem, ":")
		out[family]++
	}
	return out
}

// NothingCheckedDescription is a FAILED scan's description when the
// database covers none of the image's packages (berth's own wording).
func NothingCheckedDescription(unchecked map[string]int) string {
	return "VulnerabilityDatabaseIncomplete: berth's vulnerability database has no records for the image's packages, so none could be checked." +
		uncheckedNote(unchecked) + " Then scan the image again (start-image-scan)."
}

// uncheckedNote says which packages a scan could not check, for its
// description; empty when it checked them all.
func uncheckedNote(unchecked map[string]int) string {
	if len(unchecked) == 0 {
		return ""
	}
	parts := make([]string, 0, len(unchecked))
	for _, family := range slices.Sorted(maps.Keys(unchecked)) {
		parts = append(parts, fmt.Sprintf("%d %s", unchecked[family], family))
	}
	return " Not checked, for want of records in berth's vulnerability database (load them with `berth vulndb import`): " +
		strings.Join(parts, ", ") + " packages."
}

// ScanFinding is a finding with when it was first seen on the image
// (enhanced findings' firstObservedAt survives rescans).
type ScanFinding struct {
	vulndb.Finding
	FirstObservedAt time.Time `json:"firstObservedAt"`
}

// Key identifies a finding across rescans.
func (f ScanFinding) Key() string {
	return f.ID + "|" + f.Package.Ecosystem + "|" + f.Package.Name + "|" + f.Package.Version + "|" + f.Package.Location
}

// ScanSource identifies a state of the vulnerability database.
type ScanSource struct {
	Records    int       `json:"records"`
	UpdatedAt  time.Time `json:"updatedAt,omitzero"`
	ImportedAt time.Time `json:"importedAt,omitzero"`
}

// SourceOf is the part of the database's Info that says whether it
// changed.
func SourceOf(info vulndb.Info) ScanSource {
	return ScanSource{Records: info.Records, UpdatedAt: info.UpdatedAt.UTC(), ImportedAt: info.ImportedAt.UTC()}
}

// Equal reports whether two sources are the same database state.
func (s ScanSource) Equal(o ScanSource) bool {
	return s.Records == o.Records && s.UpdatedAt.Equal(o.UpdatedAt) && s.ImportedAt.Equal(o.ImportedAt)
}

// VulnerabilitySourceUpdatedAt is ECR's vulnerabilitySourceUpdatedAt: the
// newest record's modification time, else (records without one, like the
// Go vulnerability database's) when they were imported.
func (s ScanSource) VulnerabilitySourceUpdatedAt() time.Time {
	if !s.UpdatedAt.IsZero() {
		return s.UpdatedAt
	}
	return s.ImportedAt
}

// LoadScanRecord reads an image's scan record and its revision; found is
// false when the image has none.
func LoadScanRecord(ctx context.Context, st store.Store, repo string, d digest.Digest) (rec ScanRecord, rev int64, found bool, err error) {
	kv, _, err := st.Get(ctx, ScanKey(repo, d))
	if errors.Is(err, store.ErrNotFound) {
		return ScanRecord{}, 0, false, nil
	}
	if err != nil {
		return ScanRecord{}, 0, false, err
	}
	if err := json.Unmarshal(kv.Value, &rec); err != nil {
		return ScanRecord{}, 0, false, fmt.Errorf("decode %s: %w", kv.Key, err)
	}
	return rec, kv.ModRevision, true, nil
}

// PutScanRecordOp is the store write of rec.
func PutScanRecordOp(rec ScanRecord) (store.Op, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return store.Op{}, err
	}
	return store.Put(ScanKey(rec.Repository, rec.Digest), b), nil
}

// Scannable reports whether an image is something the scanner reads: an
// image manifest, not an index (whose children are scanned as images of
// their own) nor an artifact that isn't a container image.
func Scannable(img registry.Image) bool {
	if registry.IsIndexMediaType(img.MediaType) || len(img.Children) > 0 {
		return false
	}
	switch img.ConfigType {
	case "", "application/vnd.docker.container.image.v1+json", "application/vnd.oci.image.config.v1+json":
		return true
	}
	return false
}

// ScanOnPushDue reports whether img, which has no scan record, is to be
// scanned because it was pushed: its repository scans on push (or
// continuously, which includes new images) and, for a registry BASIC
// rule, it was pushed after the rule was set. An enhanced configuration
// covers the images already there too, as Inspector scans a repository's
// existing images when enhanced scanning is turned on.
func ScanOnPushDue(cfg ScanningConfig, repo registry.Repository, img registry.Image) bool {
	if !Scannable(img) {
		return false
	}
	freq, applied := cfg.Frequency(repo)
	switch {
	case freq == ScanFrequencyManual:
		return false
	case cfg.ScanType == ScanTypeEnhanced:
		return true
	case repo.ScanOnPush:
		return true
	}
	// Only a BASIC rule: images pushed before it are scanned manually.
	return len(applied) > 0 && !img.PushedAt.Before(cfg.UpdatedAt)
}
