package ecr

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecr/ecrstate"
	"github.com/berth/berth/internal/ecr/ecrtypes"
	"github.com/berth/berth/internal/ecr/scanpolicy"
	"github.com/berth/berth/internal/registry"
	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/vulndb"
)

// Image scanning: StartImageScan, DescribeImageScanFindings,
// BatchGetRepositoryScanningConfiguration and the scan fields of
// DescribeImages, read from the scan records (scanning_state.go).

func (s *service) startImageScan(ctx context.Context, in *ecrtypes.StartImageScanRequest) (*ecrtypes.StartImageScanResponse, error) {
	repoID, err := s.repositoryIn(ctx, in.RegistryId, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	id := awsapi.Deref(in.ImageId)
	subj := subject{repo: repoID.Name, image: id}
	if _, err := s.catalog.GetRepository(ctx, repoID); err != nil {
		return nil, subj.wrap(err)
	}
	img, f, err := s.lookup(ctx, repoID, id)
	if err != nil {
		return nil, subj.wrap(err)
	}
	if f != nil {
		return nil, f.exception("imageId", subj)
	}
	cfg, err := ecrstate.LoadScanningConfig(ctx, s.store, repoID.Region)
	if err != nil {
		return nil, subj.wrap(err)
	}
	if cfg.ScanType == ecrtypes.ScanTypeEnhanced {
		// Inspector scans by itself; ECR turns manual scans off (UNVERIFIED
		// code; the message is what users report).
		return nil, awsapi.Errorf("ValidationException", "This feature is disabled")
	}
	if !scanpolicy.Scannable(img) {
		// UNVERIFIED wording.
		return nil, awsapi.Errorf("UnsupportedImageTypeException", "The image with imageId %s in the repository with name '%s' in the registry with id '%s' is of a type that cannot be scanned", imageIDString(id), repoID.Name, s.account)
	}
	now := s.now()
	err = store.Retry(ctx, func() error {
		rec, rev, found, err := ecrstate.LoadScanRecord(ctx, s.store, repoID, img.Digest)
		if err != nil {
			return err
		}
		if found && !ecrstate.QuotaAllowsBasicScan(rec, now) {
			return errScanQuotaExceeded
		}
		next := ecrstate.ScanRecord{
			Repository:     repoID.Name,
			Digest:         img.Digest,
			ScanType:       ecrtypes.ScanTypeBasic,
			Trigger:        ecrstate.TriggerManual,
			Status:         ecrstate.ScanInProgress,
			RequestedAt:    now,
			BasicStartedAt: now,
			Inventory:      rec.Inventory,
			Findings:       rec.Findings,
		}
		op, err := ecrstate.PutScanRecordOp(repoID.Region, next)
		if err != nil {
			return err
		}
		_, err = s.store.Txn(ctx, store.Txn{If: []store.Compare{{Key: op.Key, ModRevision: rev}}, Then: []store.Op{op}})
		return err
	})
	if err != nil {
		return nil, subj.wrap(err)
	}
	s.log.InfoContext(ctx, "ecr: image scan started", "region", repoID.Region, "repository", repoID.Name, "digest", img.Digest)
	return &ecrtypes.StartImageScanResponse{
		RegistryId:      awsapi.String(s.account),
		RepositoryName:  awsapi.String(repoID.Name),
		ImageId:         &ecrtypes.ImageIdentifier{ImageDigest: awsapi.String(img.Digest.String()), ImageTag: id.ImageTag},
		ImageScanStatus: &ecrtypes.ImageScanStatus{Status: awsapi.String(ecrtypes.ScanStatusInProgress)},
	}, nil
}

// VulnerabilityDatabase is what the scan APIs read of the vulnerability
// database: whether it has records.
type VulnerabilityDatabase interface {
	Info() (vulndb.Info, error)
}

// databaseLoaded reports whether the vulnerability database has records.
func (s *service) databaseLoaded() (bool, error) {
	if s.vulnDB == nil {
		return false, nil
	}
	info, err := s.vulnDB.Info()
	return info.Records > 0, err
}

// scanView is how the API shows an image's scan: its status and, once
// there are findings, the findings.
type scanView struct {
	status, description string
	rec                 *ecrstate.ScanRecord
	findings            bool
}

// viewScan decides what the API shows for img's scan record (nil: none).
// ok is false when there is no scan to show (ScanNotFoundException).
//
// A scan that failed for an empty database is IN_PROGRESS again once the
// database has records (dbLoaded): the scan controller runs it again, and
// `aws ecr wait image-scan-complete` right after `berth vulndb import`
// must wait for that rather than stop at the old failure.
func viewScan(rec *ecrstate.ScanRecord, cfg ecrstate.ScanningConfig, repo ecrstate.Repository, img ecrstate.Image, dbLoaded bool) (v scanView, ok bool) {
	if rec == nil {
		// The controller writes the record of a scan on push moments after
		// the push; until then the scan is as good as started, and saying
		// ScanNotFound would end `aws ecr wait image-scan-complete` with
		// an error.
		if scanpolicy.ScanOnPushDue(cfg, repo, img) {
			return scanView{status: ecrtypes.ScanStatusInProgress}, true
		}
		return scanView{}, false
	}
	if rec.EmptyDatabase && dbLoaded {
		return scanView{status: ecrtypes.ScanStatusInProgress}, true
	}
	v = scanView{status: rec.Status, description: rec.Description, rec: rec}
	switch rec.Status {
	case ecrstate.ScanComplete:
		v.findings = true
		if rec.ScanType == ecrtypes.ScanTypeEnhanced {
			v.status = ecrtypes.ScanStatusActive
			v.description = ecrstate.ScanOnPushDescription
			if cfg.Continuous(repo) {
				v.description = ecrstate.ScanContinuousDescription
			}
		} else {
			v.description = ecrstate.ScanCompleteDescription
		}
		v.description += ecrstate.UncheckedNote(rec.Unchecked)
	case ecrstate.ScanUnsupported:
		v.description = ecrstate.ScanUnsupportedDescription
	}
	return v, true
}

func (v scanView) statusOutput() *ecrtypes.ImageScanStatus {
	out := &ecrtypes.ImageScanStatus{Status: awsapi.String(v.status)}
	if v.description != "" {
		out.Description = awsapi.String(v.description)
	}
	return out
}

func severityCounts(findings []ecrstate.ScanFinding) map[string]int32 {
	counts := map[string]int32{}
	for _, f := range findings {
		counts[findingSeverity(f.Severity)]++
	}
	return counts
}

func findingSeverity(s string) string {
	switch s {
	case ecrtypes.FindingSeverityInformational, ecrtypes.FindingSeverityLow, ecrtypes.FindingSeverityMedium, ecrtypes.FindingSeverityHigh, ecrtypes.FindingSeverityCritical:
		return s
	}
	return ecrtypes.FindingSeverityUndefined
}

// summaryOutput is DescribeImages' imageScanFindingsSummary.
func (v scanView) summaryOutput() *ecrtypes.ImageScanFindingsSummary {
	if !v.findings {
		return nil
	}
	return &ecrtypes.ImageScanFindingsSummary{
		FindingSeverityCounts:        severityCounts(v.rec.Findings),
		ImageScanCompletedAt:         awsapi.Time(v.rec.CompletedAt),
		VulnerabilitySourceUpdatedAt: awsapi.OptionalTime(v.rec.Source.VulnerabilitySourceUpdatedAt()),
	}
}

// scanRecords reads the scan records of repo's images, by digest.
func (s *service) scanRecords(ctx context.Context, repo ecrstate.RepositoryID) (map[digest.Digest]*ecrstate.ScanRecord, error) {
	recs, _, err := store.List[ecrstate.ScanRecord](ctx, s.store, ecrstate.RepositoryScoped(ecrstate.ScanPrefix, repo), store.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make(map[digest.Digest]*ecrstate.ScanRecord, len(recs))
	for i := range recs {
		out[recs[i].Value.Digest] = &recs[i].Value
	}
	return out, nil
}

// withScans adds the scan status and summary to image details.
func (s *service) withScans(ctx context.Context, repoID ecrstate.RepositoryID, details []ecrtypes.ImageDetail, images map[digest.Digest]ecrstate.Image) error {
	if len(details) == 0 {
		return nil
	}
	repo, err := s.catalog.GetRepository(ctx, repoID)
	if err != nil {
		return err
	}
	cfg, err := ecrstate.LoadScanningConfig(ctx, s.store, repoID.Region)
	if err != nil {
		return err
	}
	recs, err := s.scanRecords(ctx, repoID)
	if err != nil {
		return err
	}
	loaded, err := s.databaseLoaded()
	if err != nil {
		return err
	}
	for i := range details {
		d := digest.Digest(awsapi.Deref(details[i].ImageDigest))
		v, ok := viewScan(recs[d], cfg, repo, images[d], loaded)
		if !ok {
			continue
		}
		details[i].ImageScanStatus = v.statusOutput()
		details[i].ImageScanFindingsSummary = v.summaryOutput()
	}
	return nil
}

func (s *service) describeImageScanFindings(ctx context.Context, in *ecrtypes.DescribeImageScanFindingsRequest) (*ecrtypes.DescribeImageScanFindingsResponse, error) {
	const op = "DescribeImageScanFindings"
	repoID, err := s.repositoryIn(ctx, in.RegistryId, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	if err := checkMaxResults(in.MaxResults); err != nil {
		return nil, err
	}
	id := awsapi.Deref(in.ImageId)
	subj := subject{repo: repoID.Name, image: id}
	img, f, err := s.lookup(ctx, repoID, id)
	if err != nil {
		return nil, subj.wrap(err)
	}
	if f != nil {
		return nil, f.exception("imageId", subj)
	}
	after, err := decodeToken(in.NextToken, op, repoID.Name, 2)
	if err != nil {
		return nil, err
	}
	repo, err := s.catalog.GetRepository(ctx, repoID)
	if err != nil {
		return nil, subj.wrap(err)
	}
	cfg, err := ecrstate.LoadScanningConfig(ctx, s.store, repoID.Region)
	if err != nil {
		return nil, subj.wrap(err)
	}
	rec, _, found, err := ecrstate.LoadScanRecord(ctx, s.store, repoID, img.Digest)
	if err != nil {
		return nil, subj.wrap(err)
	}
	var recp *ecrstate.ScanRecord
	if found {
		recp = &rec
	}
	loaded, err := s.databaseLoaded()
	if err != nil {
		return nil, subj.wrap(err)
	}
	v, ok := viewScan(recp, cfg, repo, img, loaded)
	if !ok {
		return nil, subj.wrap(errScanNotFound)
	}
	out := &ecrtypes.DescribeImageScanFindingsResponse{
		RegistryId:      awsapi.String(s.account),
		RepositoryName:  awsapi.String(repoID.Name),
		ImageId:         &ecrtypes.ImageIdentifier{ImageDigest: awsapi.String(img.Digest.String()), ImageTag: id.ImageTag},
		ImageScanStatus: v.statusOutput(),
	}
	if !v.findings {
		return out, nil
	}
	// A page resumes at an offset into the findings of the scan that
	// issued the token; a newer scan's findings start over.
	start := 0
	if after != nil {
		if after[0] != rec.CompletedAt.Format(time.RFC3339Nano) {
			return nil, invalidParameter("nextToken", "Invalid NextToken")
		}
		start, err = strconv.Atoi(after[1])
		if err != nil || start < 0 || start > len(rec.Findings) {
			return nil, invalidParameter("nextToken", "Invalid NextToken")
		}
	}
	end := min(start+pageSize(in.MaxResults), len(rec.Findings))
	page := rec.Findings[start:end]
	findings := &ecrtypes.ImageScanFindings{
		FindingSeverityCounts:        severityCounts(rec.Findings),
		ImageScanCompletedAt:         awsapi.Time(rec.CompletedAt),
		VulnerabilitySourceUpdatedAt: awsapi.OptionalTime(rec.Source.VulnerabilitySourceUpdatedAt()),
	}
	if rec.ScanType == ecrtypes.ScanTypeEnhanced {
		findings.EnhancedFindings = []ecrtypes.EnhancedImageScanFinding{}
		for _, f := range page {
			findings.EnhancedFindings = append(findings.EnhancedFindings, s.enhancedFinding(repoID, f, rec, img))
		}
	} else {
		findings.Findings = []ecrtypes.ImageScanFinding{}
		for _, f := range page {
			findings.Findings = append(findings.Findings, basicFinding(f))
		}
	}
	out.ImageScanFindings = findings
	if end < len(rec.Findings) {
		out.NextToken = encodeToken(op, repoID.Name, rec.CompletedAt.Format(time.RFC3339Nano), strconv.Itoa(end))
	}
	return out, nil
}

// basicFinding is a finding in basic scanning's shape: the attributes
// hold the package and the CVSS scores.
func basicFinding(f ecrstate.ScanFinding) ecrtypes.ImageScanFinding {
	attr := func(k, v string) ecrtypes.Attribute {
		return ecrtypes.Attribute{Key: awsapi.String(k), Value: awsapi.String(v)}
	}
	out := ecrtypes.ImageScanFinding{
		Name:     awsapi.String(f.ID),
		Severity: awsapi.String(findingSeverity(f.Severity)),
		Attributes: []ecrtypes.Attribute{
			attr("package_version", f.Package.Version),
			attr("package_name", f.Package.Name),
		},
	}
	if d := findingDescription(f.Finding); d != "" {
		out.Description = awsapi.String(d)
	}
	if f.URI != "" {
		out.Uri = awsapi.String(f.URI)
	}
	if f.CVSS2Vector != "" {
		out.Attributes = append(out.Attributes, attr("CVSS2_VECTOR", f.CVSS2Vector), attr("CVSS2_SCORE", formatScore(f.CVSS2Score)))
	}
	if f.CVSS3Vector != "" {
		out.Attributes = append(out.Attributes, attr("CVSS3_VECTOR", f.CVSS3Vector), attr("CVSS3_SCORE", formatScore(f.CVSS3Score)))
	}
	return out
}

func formatScore(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func findingDescription(f vulndb.Finding) string {
	if f.Details != "" {
		return f.Details
	}
	return f.Summary
}

// packageManager names the package manager of an OSV ecosystem the way
// Inspector does.
func packageManager(ecosystem string) string {
	base, _, _ := strings.Cut(ecosystem, ":")
	switch base {
	case "Debian", "Ubuntu", "Alpine", "Red Hat", "Rocky Linux", "AlmaLinux", "openSUSE", "SUSE":
		return "OS"
	case "Go":
		return "GOBINARY"
	case "PyPI":
		return "PYTHONPKG"
	case "npm":
		return "NODEPKG"
	case "Maven":
		return "JAR"
	case "crates.io":
		return "CARGO"
	}
	return strings.ToUpper(base)
}

// vulnerabilitySource names where a finding's record comes from, as
// Inspector's packageVulnerabilityDetails.source does (NVD, DEBIAN_CVE,
// ALPINE_SECDB, GITHUB, ...); berth's source is the OSV record.
func vulnerabilitySource(f vulndb.Finding) string {
	switch {
	case strings.HasPrefix(f.ID, "GO-"):
		return "GO_VULNDB"
	case strings.HasPrefix(f.ID, "GHSA-"):
		return "GITHUB"
	case strings.HasPrefix(f.ID, "DSA-"), strings.HasPrefix(f.ID, "DLA-"), strings.HasPrefix(f.ID, "DEBIAN-"):
		return "DEBIAN_CVE"
	case strings.HasPrefix(f.ID, "ALPINE-"):
		return "ALPINE_SECDB"
	case strings.HasPrefix(f.ID, "CVE-"):
		base, _, _ := strings.Cut(f.Package.Ecosystem, ":")
		switch base {
		case "Debian":
			return "DEBIAN_CVE"
		case "Alpine":
			return "ALPINE_SECDB"
		case "Ubuntu":
			return "UBUNTU_CVE"
		}
		return "NVD"
	}
	return "OSV"
}

// splitVersion splits an installed version into Inspector's epoch,
// version and release.
func splitVersion(ecosystem, version string) (epoch int32, v, release string) {
	v = version
	if e, rest, ok := strings.Cut(v, ":"); ok {
		if n, err := strconv.Atoi(e); err == nil {
			epoch, v = int32(n), rest
		}
	}
	// OS packages' versions end in a revision (dpkg's debian_revision,
	// apk's -rN, rpm's release) which Inspector reports apart
	// (UNVERIFIED for dpkg and apk).
	if packageManager(ecosystem) == "OS" {
		if i := strings.LastIndex(v, "-"); i > 0 {
			v, release = v[:i], v[i+1:]
		}
	}
	return epoch, v, release
}

// enhancedFinding is a finding in Inspector's shape, of an image of repo.
func (s *service) enhancedFinding(repo ecrstate.RepositoryID, f ecrstate.ScanFinding, rec ecrstate.ScanRecord, img ecrstate.Image) ecrtypes.EnhancedImageScanFinding {
	epoch, version, release := splitVersion(f.Package.Ecosystem, f.Package.Version)
	pkg := ecrtypes.VulnerablePackage{
		Name:           awsapi.String(f.Package.Name),
		Version:        awsapi.String(version),
		Epoch:          awsapi.Int32(epoch),
		PackageManager: awsapi.String(packageManager(f.Package.Ecosystem)),
	}
	if release != "" {
		pkg.Release = awsapi.String(release)
	}
	if f.Package.Location != "" {
		pkg.FilePath = awsapi.String(f.Package.Location)
	}
	fix := "NO"
	if f.FixedVersion != "" {
		pkg.FixedInVersion = awsapi.String(f.FixedVersion)
		fix = "YES"
	}
	details := &ecrtypes.PackageVulnerabilityDetails{
		VulnerabilityId:        awsapi.String(f.ID),
		Source:                 awsapi.String(vulnerabilitySource(f.Finding)),
		VulnerablePackages:     []ecrtypes.VulnerablePackage{pkg},
		ReferenceUrls:          []string{},
		RelatedVulnerabilities: slices.Clone(f.Aliases),
		Cvss:                   []ecrtypes.CvssScore{},
		VendorSeverity:         awsapi.String(findingSeverity(f.Severity)),
	}
	if details.RelatedVulnerabilities == nil {
		details.RelatedVulnerabilities = []string{}
	}
	if f.URI != "" {
		details.SourceUrl = awsapi.String(f.URI)
		details.ReferenceUrls = append(details.ReferenceUrls, f.URI)
	}
	source := awsapi.String(*details.Source)
	var score *float64
	var scoreDetails *ecrtypes.ScoreDetails
	if f.CVSS3Vector != "" {
		details.Cvss = append(details.Cvss, ecrtypes.CvssScore{BaseScore: float64p(f.CVSS3Score), ScoringVector: awsapi.String(f.CVSS3Vector), Source: source, Version: awsapi.String(cvssVersion(f.CVSS3Vector, "3.1"))})
		score = float64p(f.CVSS3Score)
		scoreDetails = &ecrtypes.ScoreDetails{Cvss: &ecrtypes.CvssScoreDetails{Score: score, ScoringVector: awsapi.String(f.CVSS3Vector), ScoreSource: source, Version: awsapi.String(cvssVersion(f.CVSS3Vector, "3.1")), Adjustments: []ecrtypes.CvssScoreAdjustment{}}}
	}
	if f.CVSS2Vector != "" {
		details.Cvss = append(details.Cvss, ecrtypes.CvssScore{BaseScore: float64p(f.CVSS2Score), ScoringVector: awsapi.String(f.CVSS2Vector), Source: source, Version: awsapi.String("2.0")})
		if score == nil {
			score = float64p(f.CVSS2Score)
		}
	}
	title := f.ID + " - " + f.Package.Name
	if f.Summary != "" {
		title = f.ID + " - " + f.Summary
	}
	recommendation := "None Provided"
	if f.FixedVersion != "" {
		recommendation = fmt.Sprintf("Upgrade %s to version %s or later.", f.Package.Name, f.FixedVersion)
	}
	imageDetails := &ecrtypes.AwsEcrContainerImageDetails{
		ImageHash:      awsapi.String(img.Digest.String()),
		ImageTags:      slices.Clone(img.Tags),
		PushedAt:       awsapi.Time(img.PushedAt),
		Registry:       awsapi.String(s.account),
		RepositoryName: awsapi.String(img.Repository),
	}
	if imageDetails.ImageTags == nil {
		imageDetails.ImageTags = []string{}
	}
	if inv := rec.Inventory; inv != nil {
		// Inspector names the distribution (DEBIAN_12) and the architecture.
		if inv.OS != "" {
			imageDetails.Platform = awsapi.String(strings.ToUpper(strings.ReplaceAll(inv.OS, " ", "_")))
		}
		if _, arch, ok := strings.Cut(inv.Platform, "/"); ok {
			imageDetails.Architecture = awsapi.String(arch)
		}
	}
	first := f.FirstObservedAt
	if first.IsZero() {
		first = rec.CompletedAt
	}
	return ecrtypes.EnhancedImageScanFinding{
		AwsAccountId:                awsapi.String(s.account),
		Description:                 awsapi.String(firstNonEmpty(findingDescription(f.Finding), f.ID)),
		FindingArn:                  awsapi.String(s.findingARN(repo.Region, rec, f)),
		FirstObservedAt:             awsapi.Time(first),
		LastObservedAt:              awsapi.Time(rec.CompletedAt),
		UpdatedAt:                   awsapi.Time(rec.CompletedAt),
		PackageVulnerabilityDetails: details,
		Remediation:                 &ecrtypes.Remediation{Recommendation: &ecrtypes.Recommendation{Text: awsapi.String(recommendation)}},
		Resources: []ecrtypes.Resource{{
			Id:      awsapi.String(s.repositoryARN(repo) + "/" + img.Digest.String()),
			Type:    awsapi.String("AWS_ECR_CONTAINER_IMAGE"),
			Details: &ecrtypes.ResourceDetails{AwsEcrContainerImage: imageDetails},
			Tags:    map[string]string{},
		}},
		Score:            score,
		ScoreDetails:     scoreDetails,
		Severity:         awsapi.String(findingSeverity(f.Severity)),
		Status:           awsapi.String("ACTIVE"),
		Title:            awsapi.String(title),
		Type:             awsapi.String("PACKAGE_VULNERABILITY"),
		FixAvailable:     awsapi.String(fix),
		ExploitAvailable: awsapi.String("NO"),
	}
}

// cvssVersion reads the version from a CVSS vector ("CVSS:3.1/AV:N/...").
func cvssVersion(vector, fallback string) string {
	if v, ok := strings.CutPrefix(vector, "CVSS:"); ok {
		if ver, _, ok := strings.Cut(v, "/"); ok {
			return ver
		}
	}
	return fallback
}

// findingARN is an Inspector-style finding ARN in region, stable across
// rescans of the same finding on the same image.
func (s *service) findingARN(region string, rec ecrstate.ScanRecord, f ecrstate.ScanFinding) string {
	return "arn:aws:inspector2:" + region + ":" + s.account + ":finding/" + digest.FromString(rec.Repository + "|" + rec.Digest.String() + "|" + f.Key()).Encoded()[:32]
}

func (s *service) batchGetRepositoryScanningConfiguration(ctx context.Context, in *ecrtypes.BatchGetRepositoryScanningConfigurationRequest) (*ecrtypes.BatchGetRepositoryScanningConfigurationResponse, error) {
	if n := len(in.RepositoryNames); n < 1 || n > 25 {
		return nil, validationError("repositoryNames", "", "Member must have length between 1 and 25")
	}
	cfg, err := ecrstate.LoadScanningConfig(ctx, s.store, awsapi.RequestFrom(ctx).Region)
	if err != nil {
		return nil, err
	}
	out := &ecrtypes.BatchGetRepositoryScanningConfigurationResponse{ScanningConfigurations: []ecrtypes.RepositoryScanningConfiguration{}, Failures: []ecrtypes.RepositoryScanningConfigurationFailure{}}
	for _, name := range in.RepositoryNames {
		repo, err := s.catalog.GetRepository(ctx, repositoryID(ctx, name))
		if errors.Is(err, registry.ErrRepositoryNotFound) {
			out.Failures = append(out.Failures, ecrtypes.RepositoryScanningConfigurationFailure{
				RepositoryName: awsapi.String(name),
				FailureCode:    awsapi.String("REPOSITORY_NOT_FOUND"),
				FailureReason:  awsapi.String("REPOSITORY_NOT_FOUND"),
			})
			continue
		}
		if err != nil {
			return nil, subject{repo: name}.wrap(err)
		}
		freq, applied := cfg.Frequency(repo)
		out.ScanningConfigurations = append(out.ScanningConfigurations, ecrtypes.RepositoryScanningConfiguration{
			RepositoryArn:      awsapi.String(s.repositoryARN(repositoryID(ctx, name))),
			RepositoryName:     awsapi.String(name),
			ScanOnPush:         awsapi.Bool(freq != ecrtypes.ScanFrequencyManual),
			ScanFrequency:      awsapi.String(freq),
			AppliedScanFilters: filtersOutput(applied),
		})
	}
	return out, nil
}

func float64p(v float64) *float64 { return &v }
