package ecr

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecr/ecrstate"
	"github.com/berth/berth/internal/ecr/ecrtypes"
	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/vulndb"
)

// putScan writes a scan record as the controller would.
func putScan(t *testing.T, f *fixture, rec ecrstate.ScanRecord) {
	t.Helper()
	op, err := ecrstate.PutScanRecordOp(testRegion, rec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Txn(context.Background(), store.Txn{Then: []store.Op{op}}); err != nil {
		t.Fatal(err)
	}
}

func testFindings(n int) []ecrstate.ScanFinding {
	sev := []string{"CRITICAL", "HIGH", "MEDIUM", "LOW", "", "INFORMATIONAL"}
	var out []ecrstate.ScanFinding
	for i := range n {
		out = append(out, ecrstate.ScanFinding{Finding: vulndb.Finding{
			ID: fmt.Sprintf("CVE-2024-%04d", i), Summary: "summary", Details: fmt.Sprintf("details %d", i), Severity: sev[i%len(sev)],
			CVSS3Score: 9.8, CVSS3Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
			CVSS2Score: 7.5, CVSS2Vector: "AV:N/AC:L/Au:N/C:P/I:P/A:P",
			URI:          fmt.Sprintf("https://security-tracker.debian.org/tracker/CVE-2024-%04d", i),
			Package:      vulndb.Package{Ecosystem: "Debian:12", Name: "openssl", Version: "3.0.11-1~deb12u2", Location: "var/lib/dpkg/status"},
			FixedVersion: "3.0.13-1~deb12u1",
		}})
	}
	return out
}

func TestStartImageScan(t *testing.T) {
	f := newFixture(t)
	createRepo(t, f, "app")
	d := pushImage(t, f, "app", "a", "latest")
	start := func(id ecrtypes.ImageIdentifier) (*ecrtypes.StartImageScanResponse, error) {
		return call[ecrtypes.StartImageScanResponse](t, f, "StartImageScan", &ecrtypes.StartImageScanRequest{RepositoryName: str("app"), ImageId: &id})
	}
	out, err := start(ecrtypes.ImageIdentifier{ImageTag: str("latest")})
	if err != nil {
		t.Fatal(err)
	}
	want := &ecrtypes.StartImageScanResponse{RegistryId: str(testAccount), RepositoryName: str("app"), ImageId: &ecrtypes.ImageIdentifier{ImageDigest: str(d.String()), ImageTag: str("latest")}, ImageScanStatus: &ecrtypes.ImageScanStatus{Status: str("IN_PROGRESS")}}
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("start: %+v", out)
	}
	rec, _, found, err := ecrstate.LoadScanRecord(context.Background(), f.store, repoID("app"), d)
	if err != nil || !found || rec.Status != ecrstate.ScanInProgress || rec.Trigger != ecrstate.TriggerManual || rec.ScanType != ecrtypes.ScanTypeBasic || rec.BasicStartedAt.IsZero() {
		t.Fatalf("record: %+v %v", rec, err)
	}
	// Once a day.
	_, err = start(ecrtypes.ImageIdentifier{ImageDigest: str(d.String())})
	wantErr(t, err, "LimitExceededException", "The scan quota per image has been exceeded. Wait and try again.")
	rec.Status, rec.CompletedAt = ecrstate.ScanComplete, rec.BasicStartedAt.Add(time.Minute)
	putScan(t, f, rec)
	_, err = start(ecrtypes.ImageIdentifier{ImageDigest: str(d.String())})
	wantErr(t, err, "LimitExceededException", "The scan quota per image has been exceeded. Wait and try again.")
	f.mu.Lock()
	f.clock = f.clock.Add(ecrstate.BasicScanQuota)
	f.mu.Unlock()
	if _, err := start(ecrtypes.ImageIdentifier{ImageDigest: str(d.String())}); err != nil {
		t.Fatalf("after a day: %v", err)
	}

	_, err = start(ecrtypes.ImageIdentifier{ImageTag: str("nope")})
	wantErr(t, err, "ImageNotFoundException", "The image with imageId {imageDigest:'null', imageTag:'nope'} does not exist within the repository with name 'app' in the registry with id '123456789012'")
	_, err = call[ecrtypes.StartImageScanResponse](t, f, "StartImageScan", &ecrtypes.StartImageScanRequest{RepositoryName: str("nope"), ImageId: &ecrtypes.ImageIdentifier{ImageTag: str("latest")}})
	wantErr(t, err, "RepositoryNotFoundException", "The repository with name 'nope' does not exist in the registry with id '123456789012'")

	// A manifest list is not an image the scanner reads.
	img, err := f.catalog.Image(context.Background(), repoID("app"), d.String())
	if err != nil {
		t.Fatal(err)
	}
	index := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"%s","size":%d,"digest":"%s"}]}`, img.MediaType, len(img.Manifest), d)
	if _, err := f.catalog.PutManifest(context.Background(), repoID("app"), "multi", "", "", []byte(index)); err != nil {
		t.Fatal(err)
	}
	_, err = start(ecrtypes.ImageIdentifier{ImageTag: str("multi")})
	wantErr(t, err, "UnsupportedImageTypeException", "")

	// Enhanced scanning: Inspector scans by itself.
	mustCall[ecrtypes.PutRegistryScanningConfigurationResponse](t, f, "PutRegistryScanningConfiguration", &ecrtypes.PutRegistryScanningConfigurationRequest{
		ScanType: str("ENHANCED"), Rules: []ecrtypes.RegistryScanningRule{{ScanFrequency: str("CONTINUOUS_SCAN"), RepositoryFilters: []ecrtypes.ScanningRepositoryFilter{{Filter: str("*"), FilterType: str("WILDCARD")}}}},
	})
	_, err = start(ecrtypes.ImageIdentifier{ImageTag: str("latest")})
	wantErr(t, err, "ValidationException", "This feature is disabled")
}

func TestDescribeImageScanFindingsStatuses(t *testing.T) {
	f := newFixture(t)
	createRepo(t, f, "app")
	describe := func(tag string) (*ecrtypes.DescribeImageScanFindingsResponse, error) {
		return call[ecrtypes.DescribeImageScanFindingsResponse](t, f, "DescribeImageScanFindings", &ecrtypes.DescribeImageScanFindingsRequest{RepositoryName: str("app"), ImageId: &ecrtypes.ImageIdentifier{ImageTag: str(tag)}})
	}
	status := func(tag string) (string, string) {
		t.Helper()
		out, err := describe(tag)
		if err != nil {
			t.Fatalf("%s: %v", tag, err)
		}
		if out.ImageScanFindings != nil && out.ImageScanStatus.Status != nil && *out.ImageScanStatus.Status != "COMPLETE" && *out.ImageScanStatus.Status != "ACTIVE" {
			t.Fatalf("%s: findings with status %s", tag, *out.ImageScanStatus.Status)
		}
		return awsapi.Deref(out.ImageScanStatus.Status), awsapi.Deref(out.ImageScanStatus.Description)
	}

	pushImage(t, f, "app", "none", "none")
	_, err := describe("none")
	wantErr(t, err, "ScanNotFoundException", "Image scan does not exist for the image with '{imageDigest:'null', imageTag:'none'}' in the repository with name 'app' in the registry with id '123456789012'")

	for _, tc := range []struct {
		tag, status, wantStatus, wantDesc string
		empty                             bool
	}{
		{tag: "running", status: ecrstate.ScanInProgress, wantStatus: "IN_PROGRESS"},
		{tag: "unsupported", status: ecrstate.ScanUnsupported, wantStatus: "UNSUPPORTED_IMAGE", wantDesc: "UnsupportedImageError: The operating system and/or package manager are not supported."},
		{tag: "emptydb", status: ecrstate.ScanFailed, wantStatus: "FAILED", wantDesc: ecrstate.ScanEmptyDBDescription, empty: true},
		{tag: "clean", status: ecrstate.ScanComplete, wantStatus: "COMPLETE", wantDesc: "The scan was completed successfully."},
	} {
		d := pushImage(t, f, "app", tc.tag, tc.tag)
		desc := ""
		switch tc.status {
		case ecrstate.ScanFailed:
			desc = ecrstate.ScanEmptyDBDescription
		case ecrstate.ScanUnsupported:
			desc = ecrstate.ScanUnsupportedDescription
		}
		putScan(t, f, ecrstate.ScanRecord{Repository: "app", Digest: d, ScanType: ecrtypes.ScanTypeBasic, Status: tc.status, Description: desc, EmptyDatabase: tc.empty, CompletedAt: f.now(), Source: ecrstate.ScanSource{Records: 3, ImportedAt: f.now()}, Inventory: &ecrstate.Inventory{}})
		if s, d := status(tc.tag); s != tc.wantStatus || d != tc.wantDesc {
			t.Errorf("%s: %s %q, want %s %q", tc.tag, s, d, tc.wantStatus, tc.wantDesc)
		}
	}
	// A clean image is COMPLETE with empty findings and counts, not
	// missing ones.
	out, _ := describe("clean")
	if out.ImageScanFindings == nil || out.ImageScanFindings.Findings == nil || len(out.ImageScanFindings.Findings) != 0 || out.ImageScanFindings.FindingSeverityCounts == nil {
		t.Fatalf("clean: %+v", out.ImageScanFindings)
	}

	// Scan on push due but not recorded yet: already IN_PROGRESS, so that
	// `aws ecr wait image-scan-complete` polls instead of failing.
	mustCall[ecrtypes.PutImageScanningConfigurationResponse](t, f, "PutImageScanningConfiguration", &ecrtypes.PutImageScanningConfigurationRequest{RepositoryName: str("app"), ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: awsapi.Bool(true)}})
	pushImage(t, f, "app", "fresh", "fresh")
	if s, _ := status("fresh"); s != "IN_PROGRESS" {
		t.Fatalf("fresh push: %s", s)
	}
}

func TestDescribeImageScanFindingsBasicShapeAndPages(t *testing.T) {
	f := newFixture(t)
	createRepo(t, f, "app")
	d := pushImage(t, f, "app", "a", "latest")
	completed := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	updated := time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC)
	putScan(t, f, ecrstate.ScanRecord{Repository: "app", Digest: d, ScanType: ecrtypes.ScanTypeBasic, Trigger: ecrstate.TriggerPush, Status: ecrstate.ScanComplete, CompletedAt: completed,
		Source: ecrstate.ScanSource{Records: 10, UpdatedAt: updated}, Findings: testFindings(7)})

	var all []ecrtypes.ImageScanFinding
	var token *string
	for page := 0; ; page++ {
		out := mustCall[ecrtypes.DescribeImageScanFindingsResponse](t, f, "DescribeImageScanFindings", &ecrtypes.DescribeImageScanFindingsRequest{
			RepositoryName: str("app"), ImageId: &ecrtypes.ImageIdentifier{ImageTag: str("latest")}, MaxResults: awsapi.Int32(3), NextToken: token,
		})
		if *out.RegistryId != testAccount || *out.RepositoryName != "app" || *out.ImageId.ImageDigest != d.String() || *out.ImageId.ImageTag != "latest" {
			t.Fatalf("ids: %+v", out)
		}
		if *out.ImageScanStatus.Status != "COMPLETE" || *out.ImageScanStatus.Description != "The scan was completed successfully." {
			t.Fatalf("status: %+v", out.ImageScanStatus)
		}
		fs := out.ImageScanFindings
		if !fs.ImageScanCompletedAt.Equal(completed) || !fs.VulnerabilitySourceUpdatedAt.Equal(updated) || fs.EnhancedFindings != nil {
			t.Fatalf("findings header: %+v", fs)
		}
		wantCounts := map[string]int32{"CRITICAL": 2, "HIGH": 1, "MEDIUM": 1, "LOW": 1, "UNDEFINED": 1, "INFORMATIONAL": 1}
		if !reflect.DeepEqual(fs.FindingSeverityCounts, wantCounts) {
			t.Fatalf("counts: %v", fs.FindingSeverityCounts)
		}
		if len(fs.Findings) > 3 {
			t.Fatalf("page of %d", len(fs.Findings))
		}
		all = append(all, fs.Findings...)
		if token = out.NextToken; token == nil {
			break
		}
		if page > 5 {
			t.Fatal("too many pages")
		}
	}
	if len(all) != 7 {
		t.Fatalf("%d findings", len(all))
	}
	first := all[0]
	want := ecrtypes.ImageScanFinding{
		Name: str("CVE-2024-0000"), Description: str("details 0"), Uri: str("https://security-tracker.debian.org/tracker/CVE-2024-0000"), Severity: str("CRITICAL"),
		Attributes: []ecrtypes.Attribute{
			{Key: str("package_version"), Value: str("3.0.11-1~deb12u2")},
			{Key: str("package_name"), Value: str("openssl")},
			{Key: str("CVSS2_VECTOR"), Value: str("AV:N/AC:L/Au:N/C:P/I:P/A:P")},
			{Key: str("CVSS2_SCORE"), Value: str("7.5")},
			{Key: str("CVSS3_VECTOR"), Value: str("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")},
			{Key: str("CVSS3_SCORE"), Value: str("9.8")},
		},
	}
	if !reflect.DeepEqual(first, want) {
		t.Fatalf("finding:\n got %+v\nwant %+v", first, want)
	}
	if *all[4].Severity != "UNDEFINED" {
		t.Fatalf("unscored severity %s", *all[4].Severity)
	}
	_, err := call[ecrtypes.DescribeImageScanFindingsResponse](t, f, "DescribeImageScanFindings", &ecrtypes.DescribeImageScanFindingsRequest{RepositoryName: str("app"), ImageId: &ecrtypes.ImageIdentifier{ImageTag: str("latest")}, MaxResults: awsapi.Int32(1001)})
	wantErr(t, err, "InvalidParameterException", "")
	_, err = call[ecrtypes.DescribeImageScanFindingsResponse](t, f, "DescribeImageScanFindings", &ecrtypes.DescribeImageScanFindingsRequest{RepositoryName: str("app"), ImageId: &ecrtypes.ImageIdentifier{ImageTag: str("latest")}, NextToken: str("garbage")})
	wantErr(t, err, "InvalidParameterException", "")

	// DescribeImages carries the status and the summary.
	imgs := mustCall[ecrtypes.DescribeImagesResponse](t, f, "DescribeImages", &ecrtypes.DescribeImagesRequest{RepositoryName: str("app")})
	if len(imgs.ImageDetails) != 1 {
		t.Fatalf("images: %+v", imgs)
	}
	detail := imgs.ImageDetails[0]
	if *detail.ImageScanStatus.Status != "COMPLETE" || !detail.ImageScanFindingsSummary.ImageScanCompletedAt.Equal(completed) ||
		!detail.ImageScanFindingsSummary.VulnerabilitySourceUpdatedAt.Equal(updated) || detail.ImageScanFindingsSummary.FindingSeverityCounts["CRITICAL"] != 2 {
		t.Fatalf("detail: %+v %+v", detail.ImageScanStatus, detail.ImageScanFindingsSummary)
	}
	byID := mustCall[ecrtypes.DescribeImagesResponse](t, f, "DescribeImages", &ecrtypes.DescribeImagesRequest{RepositoryName: str("app"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: str("latest")}}})
	if byID.ImageDetails[0].ImageScanFindingsSummary == nil {
		t.Fatalf("by id: %+v", byID.ImageDetails[0])
	}
	other := pushImage(t, f, "app", "b", "unscanned")
	byID = mustCall[ecrtypes.DescribeImagesResponse](t, f, "DescribeImages", &ecrtypes.DescribeImagesRequest{RepositoryName: str("app"), ImageIds: []ecrtypes.ImageIdentifier{{ImageDigest: str(other.String())}}})
	if byID.ImageDetails[0].ImageScanStatus != nil || byID.ImageDetails[0].ImageScanFindingsSummary != nil {
		t.Fatalf("unscanned: %+v", byID.ImageDetails[0])
	}
}

func TestEnhancedFindingsThroughTheSDK(t *testing.T) {
	client, f := newSDKClient(t)
	ctx := context.Background()
	createRepo(t, f, "my-app")
	d := pushImage(t, f, "my-app", "a", "latest")
	// The article's configuration.
	if _, err := client.PutRegistryScanningConfiguration(ctx, &sdk.PutRegistryScanningConfigurationInput{
		ScanType: types.ScanTypeEnhanced,
		Rules: []types.RegistryScanningRule{{
			RepositoryFilters: []types.ScanningRepositoryFilter{{Filter: aws.String("*"), FilterType: types.ScanningRepositoryFilterTypeWildcard}},
			ScanFrequency:     types.ScanFrequencyContinuousScan,
		}},
	}); err != nil {
		t.Fatal(err)
	}
	completed := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	findings := testFindings(2)
	findings[0].FirstObservedAt = completed.Add(-time.Hour)
	findings[0].Package = vulndb.Package{Ecosystem: "Go", Name: "golang.org/x/net", Version: "v0.17.0", Location: "usr/local/bin/app"}
	findings[0].ID, findings[0].Aliases = "GO-2024-2687", []string{"CVE-2023-45288"}
	putScan(t, f, ecrstate.ScanRecord{Repository: "my-app", Digest: d, ScanType: ecrtypes.ScanTypeEnhanced, Trigger: ecrstate.TriggerContinuous, Status: ecrstate.ScanComplete, CompletedAt: completed,
		Source: ecrstate.ScanSource{Records: 10, ImportedAt: completed.Add(-2 * time.Hour)}, Findings: findings, Inventory: &ecrstate.Inventory{OS: "debian 12"}})

	out, err := client.DescribeImageScanFindings(ctx, &sdk.DescribeImageScanFindingsInput{RepositoryName: aws.String("my-app"), ImageId: &types.ImageIdentifier{ImageTag: aws.String("latest")}})
	if err != nil {
		t.Fatal(err)
	}
	if out.ImageScanStatus.Status != types.ScanStatusActive || aws.ToString(out.ImageScanStatus.Description) != "Continuous scan is selected for image." {
		t.Fatalf("status: %+v", out.ImageScanStatus)
	}
	fs := out.ImageScanFindings
	if len(fs.EnhancedFindings) != 2 || len(fs.Findings) != 0 || fs.FindingSeverityCounts["CRITICAL"] != 1 || !fs.VulnerabilitySourceUpdatedAt.Equal(completed.Add(-2*time.Hour)) {
		t.Fatalf("findings: %+v", fs)
	}
	e := fs.EnhancedFindings[0]
	pv := e.PackageVulnerabilityDetails
	if aws.ToString(e.AwsAccountId) != testAccount || aws.ToString(e.Status) != "ACTIVE" || aws.ToString(e.Type) != "PACKAGE_VULNERABILITY" ||
		aws.ToString(e.Severity) != "CRITICAL" || e.Score != 9.8 || aws.ToString(e.FixAvailable) != "YES" ||
		!e.FirstObservedAt.Equal(completed.Add(-time.Hour)) || !e.LastObservedAt.Equal(completed) || e.FindingArn == nil ||
		aws.ToString(pv.VulnerabilityId) != "GO-2024-2687" || aws.ToString(pv.Source) != "GO_VULNDB" || !reflect.DeepEqual(pv.RelatedVulnerabilities, []string{"CVE-2023-45288"}) ||
		len(pv.VulnerablePackages) != 1 || aws.ToString(pv.VulnerablePackages[0].Name) != "golang.org/x/net" || aws.ToString(pv.VulnerablePackages[0].Version) != "v0.17.0" ||
		aws.ToString(pv.VulnerablePackages[0].PackageManager) != "GOBINARY" || aws.ToString(pv.VulnerablePackages[0].FilePath) != "usr/local/bin/app" ||
		aws.ToString(pv.VulnerablePackages[0].FixedInVersion) != "3.0.13-1~deb12u1" || len(pv.Cvss) != 2 ||
		e.ScoreDetails == nil || aws.ToString(e.ScoreDetails.Cvss.Version) != "3.1" {
		t.Fatalf("enhanced finding: %+v\n%+v", e, pv)
	}
	if len(e.Resources) != 1 || aws.ToString(e.Resources[0].Type) != "AWS_ECR_CONTAINER_IMAGE" || aws.ToString(e.Resources[0].Details.AwsEcrContainerImage.ImageHash) != d.String() ||
		aws.ToString(e.Resources[0].Details.AwsEcrContainerImage.RepositoryName) != "my-app" || !reflect.DeepEqual(e.Resources[0].Details.AwsEcrContainerImage.ImageTags, []string{"latest"}) {
		t.Fatalf("resources: %+v", e.Resources)
	}

	cfg, err := client.BatchGetRepositoryScanningConfiguration(ctx, &sdk.BatchGetRepositoryScanningConfigurationInput{RepositoryNames: []string{"my-app", "missing"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.ScanningConfigurations) != 1 || cfg.ScanningConfigurations[0].ScanFrequency != types.ScanFrequencyContinuousScan ||
		aws.ToString(cfg.ScanningConfigurations[0].RepositoryArn) != "arn:aws:ecr:us-east-1:123456789012:repository/my-app" ||
		len(cfg.ScanningConfigurations[0].AppliedScanFilters) != 1 || len(cfg.Failures) != 1 || cfg.Failures[0].FailureCode != types.ScanningConfigurationFailureCodeRepositoryNotFound {
		t.Fatalf("repository scanning configuration: %+v", cfg)
	}
}

func TestViewScan(t *testing.T) {
	img := ecrstate.Image{Repository: "app", Digest: "sha256:aa", MediaType: "application/vnd.oci.image.manifest.v1+json"}
	basic := ecrstate.ScanningConfig{ScanType: ecrtypes.ScanTypeBasic}
	continuous := ecrstate.ScanningConfig{ScanType: ecrtypes.ScanTypeEnhanced, Rules: []ecrstate.ScanningRule{{ScanFrequency: ecrtypes.ScanFrequencyContinuousScan, Filters: []string{"*"}}}}
	onPush := ecrstate.ScanningConfig{ScanType: ecrtypes.ScanTypeEnhanced, Rules: []ecrstate.ScanningRule{{ScanFrequency: ecrtypes.ScanFrequencyScanOnPush, Filters: []string{"*"}}}}
	emptyDB := &ecrstate.ScanRecord{ScanType: ecrtypes.ScanTypeBasic, Status: ecrstate.ScanFailed, Description: ecrstate.ScanEmptyDBDescription, EmptyDatabase: true}
	for _, tc := range []struct {
		name       string
		rec        *ecrstate.ScanRecord
		cfg        ecrstate.ScanningConfig
		repo       ecrstate.Repository
		loaded     bool
		ok         bool
		status     string
		desc       string
		hasResults bool
	}{
		{name: "no scan", cfg: basic, repo: ecrstate.Repository{Name: "app"}},
		{name: "scan on push due", cfg: basic, repo: ecrstate.Repository{Name: "app", ScanOnPush: true}, ok: true, status: "IN_PROGRESS"},
		{name: "enhanced covers it", cfg: continuous, repo: ecrstate.Repository{Name: "app"}, ok: true, status: "IN_PROGRESS"},
		{name: "empty database", rec: emptyDB, cfg: basic, ok: true, status: "FAILED", desc: ecrstate.ScanEmptyDBDescription},
		{name: "empty database, records loaded since", rec: emptyDB, cfg: basic, loaded: true, ok: true, status: "IN_PROGRESS"},
		{name: "basic complete", rec: &ecrstate.ScanRecord{ScanType: ecrtypes.ScanTypeBasic, Status: ecrstate.ScanComplete}, cfg: continuous, ok: true, status: "COMPLETE", desc: ecrstate.ScanCompleteDescription, hasResults: true},
		{name: "enhanced continuous", rec: &ecrstate.ScanRecord{ScanType: ecrtypes.ScanTypeEnhanced, Status: ecrstate.ScanComplete}, cfg: continuous, ok: true, status: "ACTIVE", desc: ecrstate.ScanContinuousDescription, hasResults: true},
		{name: "enhanced on push", rec: &ecrstate.ScanRecord{ScanType: ecrtypes.ScanTypeEnhanced, Status: ecrstate.ScanComplete}, cfg: onPush, ok: true, status: "ACTIVE", desc: ecrstate.ScanOnPushDescription, hasResults: true},
		{name: "unsupported", rec: &ecrstate.ScanRecord{ScanType: ecrtypes.ScanTypeBasic, Status: ecrstate.ScanUnsupported}, cfg: basic, ok: true, status: "UNSUPPORTED_IMAGE", desc: ecrstate.ScanUnsupportedDescription},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := viewScan(tc.rec, tc.cfg, tc.repo, img, tc.loaded)
			if ok != tc.ok || v.status != tc.status || v.description != tc.desc || v.findings != tc.hasResults {
				t.Fatalf("got %v %+v", ok, v)
			}
		})
	}
}

func TestSplitVersion(t *testing.T) {
	for _, tc := range []struct {
		ecosystem, version string
		epoch              int32
		v, release         string
	}{
		{"Debian:12", "1:1.2.13.dfsg-1", 1, "1.2.13.dfsg", "1"},
		{"Debian:12", "3.0.11-1~deb12u2", 0, "3.0.11", "1~deb12u2"},
		{"Alpine:v3.19", "1.36.1-r15", 0, "1.36.1", "r15"},
		{"Red Hat", "1:3.0.7-27.el9", 1, "3.0.7", "27.el9"},
		{"Go", "v0.3.7", 0, "v0.3.7", ""},
		{"Go", "v0.0.0-20210226172049-e18ecbb05110", 0, "v0.0.0-20210226172049-e18ecbb05110", ""},
	} {
		epoch, v, release := splitVersion(tc.ecosystem, tc.version)
		if epoch != tc.epoch || v != tc.v || release != tc.release {
			t.Errorf("%s %s: %d %q %q", tc.ecosystem, tc.version, epoch, v, release)
		}
	}
}
