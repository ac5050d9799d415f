package ecrstate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/vulndb"
)

// Image scan records. The ECR API writes a record to ask for a scan
// (StartImageScan) and reads them; the scan controller
// (internal/controller/scan) writes them for scans on push and continuous
// rescans, runs every scan a record asks for, and deletes the records of
// images that are gone.

// Scan record statuses. The API shows them as ECR's ScanStatus; an
// enhanced COMPLETE scan shows as ACTIVE.
const (
	ScanInProgress  = "IN_PROGRESS"
	ScanComplete    = "COMPLETE"
	ScanFailed      = "FAILED"
	ScanUnsupported = "UNSUPPORTED_IMAGE"
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
	TriggerPush       = FrequencyScanOnPush
	TriggerManual     = FrequencyManual
	TriggerContinuous = FrequencyContinuousScan
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
	Inventory *Inventory    `json:"inventory,omitempty"`
	Findings  []ScanFinding `json:"findings,omitempty"`
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
		UncheckedNote(unchecked) + " Then scan the image again (start-image-scan)."
}

// UncheckedNote says which packages a scan could not check, for its
// description; empty when it checked them all.
func UncheckedNote(unchecked map[string]int) string {
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

// Inventory is what an image holds. The scanner (internal/scan) lists it;
// it is defined here, with the scan record that keeps it, because the
// scanner reads images from the registry, which sits above these records.
type Inventory struct {
	// OS is the distribution from /etc/os-release ("debian 12",
	// "alpine 3.20.1"), empty when there is none.
	OS string `json:"os,omitempty"`
	// Packages are the OS packages and Go modules found.
	Packages []vulndb.Package `json:"packages"`
	// Digest is the manifest scanned: the image's own, or for an image
	// index the child picked for Platform.
	Digest string `json:"digest,omitempty"`
	// Platform is the scanned image's "os/arch[/variant]" from its config.
	Platform string `json:"platform,omitempty"`
}

// LoadScanRecord reads an image's scan record and its revision; found is
// false when the image has none.
func LoadScanRecord(ctx context.Context, st store.Store, repo RepositoryID, d digest.Digest) (rec ScanRecord, rev int64, found bool, err error) {
	v, err := store.Get[ScanRecord](ctx, st, ScanKey(repo, d))
	if errors.Is(err, store.ErrNotFound) {
		return ScanRecord{}, 0, false, nil
	}
	if err != nil {
		return ScanRecord{}, 0, false, err
	}
	return v.Value, v.ModRevision, true, nil
}

// PutScanRecordOp is the store write of rec, the record of an image in
// region.
func PutScanRecordOp(region string, rec ScanRecord) (store.Op, error) {
	return store.PutJSON(ScanKey(RepositoryID{Region: region, Name: rec.Repository}, rec.Digest), rec)
}

// QuotaAllowsBasicScan applies ECR's once a day limit to an image whose
// scan record is rec. A scan that failed does not use the day up: it
// found nothing out, and its cause (an empty database) is fixed by the
// user, who then wants to scan again.
func QuotaAllowsBasicScan(rec ScanRecord, now time.Time) bool {
	if rec.Status == ScanInProgress && rec.ScanType == ScanTypeBasic {
		return false
	}
	if rec.Status == ScanFailed || rec.BasicStartedAt.IsZero() {
		return true
	}
	return !now.Before(rec.BasicStartedAt.Add(BasicScanQuota))
}
