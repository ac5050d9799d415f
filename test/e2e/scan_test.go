package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berth/berth/internal/scan/scantest"
	"github.com/berth/berth/internal/vulndb/vulndbtest"
)

// Image scanning as the article's "Image Scanning" section and an ECR user
// see it, with the real aws CLI v1: images built here (no network) holding
// a dpkg status file, an apk database and a Go binary that links a
// vulnerable golang.org/x/text; OSV records imported with `berth vulndb
// import` (hand-written Debian/Alpine ones and the Go vulnerability
// database from the module cache).

// scanFindings is describe-image-scan-findings' output as the CLI prints it.
type scanFindings struct {
	ImageScanStatus struct {
		Status, Description string
	}
	ImageScanFindings *struct {
		ImageScanCompletedAt         cliTime
		VulnerabilitySourceUpdatedAt cliTime
		FindingSeverityCounts        map[string]int
		Findings                     []struct {
			Name, Description, URI, Severity string
			Attributes                       []struct{ Key, Value string }
		}
		EnhancedFindings []struct {
			AwsAccountID                string `json:"awsAccountId"`
			FindingArn, Severity        string
			Status, Type, Title         string
			FixAvailable                string
			PackageVulnerabilityDetails struct {
				VulnerabilityID    string `json:"vulnerabilityId"`
				Source             string
				VulnerablePackages []struct {
					Name, Version, FixedInVersion, PackageManager, FilePath string
				}
			}
			Resources []struct {
				ID, Type string
				Details  struct {
					AwsEcrContainerImage struct {
						ImageHash, RepositoryName string
					}
				}
			}
		}
	}
	NextToken string
}

// finding looks a basic finding up by name and package.
func (f scanFindings) finding(name, pkg string) (severity string, attrs map[string]string, ok bool) {
	if f.ImageScanFindings == nil {
		return "", nil, false
	}
	for _, x := range f.ImageScanFindings.Findings {
		attrs := map[string]string{}
		for _, a := range x.Attributes {
			attrs[a.Key] = a.Value
		}
		if x.Name == name && attrs["package_name"] == pkg {
			return x.Severity, attrs, true
		}
	}
	return "", nil, false
}

func (f scanFindings) names() []string {
	var out []string
	if f.ImageScanFindings != nil {
		for _, x := range f.ImageScanFindings.Findings {
			out = append(out, x.Name)
		}
		for _, x := range f.ImageScanFindings.EnhancedFindings {
			out = append(out, x.PackageVulnerabilityDetails.VulnerabilityID)
		}
	}
	return out
}

func describeScan(t *testing.T, s *Server, repo, tag string) scanFindings {
	t.Helper()
	var out scanFindings
	s.AWS(t, "ecr", "describe-image-scan-findings", "--repository-name", repo, "--image-id", "imageTag="+tag).OK(t).Decode(t, &out)
	return out
}

// waitScan polls describe-image-scan-findings until done says so.
func waitScan(t *testing.T, s *Server, repo, tag, what string, done func(scanFindings) bool) scanFindings {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		out := describeScan(t, s, repo, tag)
		if done(out) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/%s: waiting for %s; last: %+v", repo, tag, what, out)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func pushScanImage(t *testing.T, s *Server, repo, tag string, img v1.Image) string {
	t.Helper()
	p := newImagePusher(t, s, repo)
	if err := remote.Write(p.ref(t, tag), img, p.auth); err != nil {
		t.Fatalf("push %s:%s: %v", repo, tag, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func vulndbImport(t *testing.T, s *Server, path string) {
	t.Helper()
	Berth(t, "vulndb", "import", "--listen", s.Listen, "--data-dir", s.DataDir, path).OK(t)
}

func TestImageScanning(t *testing.T) {
	s := StartServer(t, ServerOptions{})
	cli := awsCLIs[0]
	cli.require(t)

	debian := scantest.Image(t,
		scantest.Layer(t,
			scantest.OSRelease("debian", "12", "12 (bookworm)"),
			scantest.File{Path: "var/lib/dpkg/status", Content: scantest.DpkgStatus(
				scantest.DpkgPackage{Name: "openssl", Version: "3.0.11-1~deb12u2"},
				scantest.DpkgPackage{Name: "libssl3", Version: "3.0.11-1~deb12u2", Source: "openssl"},
				scantest.DpkgPackage{Name: "zlib1g", Version: "1:1.2.13.dfsg-1", Source: "zlib"},
			)}),
		scantest.Layer(t, scantest.Executable("usr/local/bin/vulnapp", scantest.GoBinary(t))))
	alpine := scantest.Image(t, scantest.Layer(t,
		scantest.OSRelease("alpine", "3.19.1", ""),
		scantest.File{Path: "lib/apk/db/installed", Content: scantest.ApkInstalled(
			scantest.ApkPackage{Name: "busybox", Version: "1.36.1-r15", Origin: "busybox"},
			scantest.ApkPackage{Name: "musl", Version: "1.2.4_git20230717-r4", Origin: "musl"},
		)}))
	plain := scantest.Image(t, scantest.Layer(t, scantest.File{Path: "README", Content: []byte("no packages here\n")}))

	// An empty database: the scan on push says so, and the waiter stops.
	s.AWS(t, "ecr", "create-repository", "--repository-name", "early", "--image-scanning-configuration", "scanOnPush=true").OK(t)
	pushScanImage(t, s, "early", "latest", debian)
	wait := s.AWS(t, "ecr", "wait", "image-scan-complete", "--repository-name", "early", "--image-id", "imageTag=latest")
	if wait.ExitCode == 0 || !strings.Contains(wait.Stderr, "terminal failure state") {
		t.Fatalf("wait image-scan-complete with an empty database: exit %d\n%s", wait.ExitCode, wait.Stderr)
	}
	early := describeScan(t, s, "early", "latest")
	if early.ImageScanStatus.Status != "FAILED" || !strings.Contains(early.ImageScanStatus.Description, "berth vulndb import") || early.ImageScanFindings != nil {
		t.Fatalf("scan with an empty database: %+v", early)
	}

	// Load the records; the failed scan completes by itself.
	vulndbImport(t, s, "testdata/scan/osv")
	vulndbImport(t, s, vulndbtest.GoVulnDBZip(t))
	s.AWS(t, "ecr", "wait", "image-scan-complete", "--repository-name", "early", "--image-id", "imageTag=latest").OK(t)

	// The article's repository scans on push.
	s.AWS(t, articleCreateRepository...).OK(t)
	pushed := time.Now()
	digest := pushScanImage(t, s, "my-app", "latest", debian)
	s.AWS(t, "ecr", "wait", "image-scan-complete", "--repository-name", "my-app", "--image-id", "imageTag=latest").OK(t)
	basic := describeScan(t, s, "my-app", "latest")
	if basic.ImageScanStatus.Status != "COMPLETE" || basic.ImageScanStatus.Description != "The scan was completed successfully." {
		t.Fatalf("status: %+v", basic.ImageScanStatus)
	}
	fs := basic.ImageScanFindings
	if time.Time(fs.ImageScanCompletedAt).Before(pushed.Add(-time.Second)) || !time.Time(fs.VulnerabilitySourceUpdatedAt).Equal(time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("times: completed %v, source updated %v", time.Time(fs.ImageScanCompletedAt), time.Time(fs.VulnerabilitySourceUpdatedAt))
	}
	for _, pkg := range []string{"openssl", "libssl3"} {
		sev, attrs, ok := basic.finding("CVE-2099-0001", pkg)
		if !ok || sev != "CRITICAL" || attrs["package_version"] != "3.0.11-1~deb12u2" || attrs["CVSS3_SCORE"] != "9.8" ||
			attrs["CVSS2_VECTOR"] != "AV:N/AC:L/Au:N/C:P/I:P/A:P" || attrs["CVSS2_SCORE"] != "7.5" {
			t.Errorf("CVE-2099-0001 in %s: %v %s %v (findings %v)", pkg, ok, sev, attrs, basic.names())
		}
	}
	if _, attrs, ok := basic.finding("GO-2022-1059", scantest.VulnAppTextModule); !ok || attrs["package_version"] != scantest.VulnAppTextVersion {
		t.Errorf("GO-2022-1059 in the Go binary: %v %v (findings %v)", ok, attrs, basic.names())
	}
	if slices.Contains(basic.names(), "CVE-2099-0003") {
		t.Errorf("zlib's fixed vulnerability reported: %v", basic.names())
	}
	total := 0
	for _, n := range fs.FindingSeverityCounts {
		total += n
	}
	if total != len(fs.Findings) || fs.FindingSeverityCounts["CRITICAL"] < 2 {
		t.Errorf("severity counts %v for %d findings", fs.FindingSeverityCounts, len(fs.Findings))
	}

	// Pagination, as the CLI pages with --page-size.
	var paged []string
	var token string
	for range 20 {
		args := []string{"ecr", "describe-image-scan-findings", "--repository-name", "my-app", "--image-id", "imageTag=latest", "--max-results", "1"}
		if token != "" {
			args = append(args, "--next-token", token)
		}
		var page scanFindings
		s.AWS(t, args...).OK(t).Decode(t, &page)
		paged = append(paged, page.names()...)
		if token = page.NextToken; token == "" {
			break
		}
	}
	if !slices.Equal(paged, basic.names()) {
		t.Errorf("pages of one: %v, want %v", paged, basic.names())
	}

	// describe-images carries the summary.
	var images struct {
		ImageDetails []struct {
			ImageDigest              string
			ImageScanStatus          struct{ Status string }
			ImageScanFindingsSummary struct {
				FindingSeverityCounts map[string]int
				ImageScanCompletedAt  cliTime
			}
		}
	}
	s.AWS(t, "ecr", "describe-images", "--repository-name", "my-app").OK(t).Decode(t, &images)
	if len(images.ImageDetails) != 1 || images.ImageDetails[0].ImageDigest != digest || images.ImageDetails[0].ImageScanStatus.Status != "COMPLETE" ||
		fmt.Sprint(images.ImageDetails[0].ImageScanFindingsSummary.FindingSeverityCounts) != fmt.Sprint(fs.FindingSeverityCounts) {
		t.Errorf("describe-images: %+v", images)
	}

	// The scan on push used up the image's daily scan.
	cli.serviceError(t, s.AWS(t, "ecr", "start-image-scan", "--repository-name", "my-app", "--image-id", "imageTag=latest"),
		"StartImageScan", "LimitExceededException", "The scan quota per image has been exceeded. Wait and try again.")

	// A repository without scan on push: scanned on demand, once a day.
	s.AWS(t, "ecr", "create-repository", "--repository-name", "edge").OK(t)
	pushScanImage(t, s, "edge", "3.19", alpine)
	cli.serviceError(t, s.AWS(t, "ecr", "describe-image-scan-findings", "--repository-name", "edge", "--image-id", "imageTag=3.19"),
		"DescribeImageScanFindings", "ScanNotFoundException",
		"Image scan does not exist for the image with '{imageDigest:'null', imageTag:'3.19'}' in the repository with name 'edge' in the registry with id '"+s.AccountID+"'")
	started := s.AWS(t, "ecr", "start-image-scan", "--repository-name", "edge", "--image-id", "imageTag=3.19").OK(t)
	if status, _ := started.JSON["imageScanStatus"].(map[string]any); status["status"] != "IN_PROGRESS" {
		t.Errorf("start-image-scan: %s", started.Stdout)
	}
	s.AWS(t, "ecr", "wait", "image-scan-complete", "--repository-name", "edge", "--image-id", "imageTag=3.19").OK(t)
	edge := describeScan(t, s, "edge", "3.19")
	if sev, attrs, ok := edge.finding("CVE-2099-0002", "busybox"); !ok || sev != "MEDIUM" || attrs["package_version"] != "1.36.1-r15" {
		t.Errorf("alpine findings: %v", edge.names())
	}
	cli.serviceError(t, s.AWS(t, "ecr", "start-image-scan", "--repository-name", "edge", "--image-id", "imageTag=3.19"),
		"StartImageScan", "LimitExceededException", "The scan quota per image has been exceeded. Wait and try again.")
	cli.serviceError(t, s.AWS(t, "ecr", "start-image-scan", "--repository-name", "edge", "--image-id", "imageTag=nope"),
		"StartImageScan", "ImageNotFoundException",
		"The image with imageId {imageDigest:'null', imageTag:'nope'} does not exist within the repository with name 'edge' in the registry with id '"+s.AccountID+"'")

	// An image with nothing the scanner reads.
	pushScanImage(t, s, "edge", "plain", plain)
	s.AWS(t, "ecr", "start-image-scan", "--repository-name", "edge", "--image-id", "imageTag=plain").OK(t)
	unsupported := waitScan(t, s, "edge", "plain", "the scan to end", func(f scanFindings) bool { return f.ImageScanStatus.Status != "IN_PROGRESS" })
	if unsupported.ImageScanStatus.Status != "UNSUPPORTED_IMAGE" || unsupported.ImageScanStatus.Description != "UnsupportedImageError: The operating system and/or package manager are not supported." {
		t.Errorf("unsupported image: %+v", unsupported.ImageScanStatus)
	}

	// The article's enhanced scanning, verbatim: Inspector's findings.
	s.AWS(t, articlePutScanning...).OK(t)
	waitScan(t, s, "my-app", "latest", "enhanced findings", func(f scanFindings) bool { return f.ImageScanStatus.Status == "ACTIVE" })
	var got scanFindings
	s.AWS(t, articleScanFindings...).OK(t).Decode(t, &got)
	if got.ImageScanStatus.Status != "ACTIVE" || got.ImageScanStatus.Description != "Continuous scan is selected for image." ||
		len(got.ImageScanFindings.EnhancedFindings) != len(fs.Findings) || len(got.ImageScanFindings.Findings) != 0 {
		t.Fatalf("enhanced scan: %+v (%d basic findings before)", got.ImageScanStatus, len(fs.Findings))
	}
	foundGo := false
	for _, e := range got.ImageScanFindings.EnhancedFindings {
		if e.AwsAccountID != s.AccountID || e.Status != "ACTIVE" || e.Type != "PACKAGE_VULNERABILITY" || !strings.HasPrefix(e.FindingArn, "arn:aws:inspector2:") ||
			len(e.Resources) != 1 || e.Resources[0].Type != "AWS_ECR_CONTAINER_IMAGE" || e.Resources[0].Details.AwsEcrContainerImage.ImageHash != digest {
			t.Errorf("enhanced finding: %+v", e)
		}
		if e.PackageVulnerabilityDetails.VulnerabilityID == "GO-2022-1059" {
			p := e.PackageVulnerabilityDetails.VulnerablePackages
			foundGo = len(p) == 1 && p[0].Name == scantest.VulnAppTextModule && p[0].Version == scantest.VulnAppTextVersion &&
				p[0].PackageManager == "GOBINARY" && p[0].FixedInVersion != "" && e.FixAvailable == "YES"
		}
	}
	if !foundGo {
		t.Errorf("GO-2022-1059 missing from the enhanced findings: %v", got.names())
	}
	cli.serviceError(t, s.AWS(t, "ecr", "start-image-scan", "--repository-name", "my-app", "--image-id", "imageTag=latest"),
		"StartImageScan", "ValidationException", "This feature is disabled")
	var repoScanning struct {
		ScanningConfigurations []struct {
			RepositoryName, ScanFrequency string
			ScanOnPush                    bool
			AppliedScanFilters            []struct{ Filter, FilterType string }
		}
		Failures []struct{ RepositoryName, FailureCode string }
	}
	s.AWS(t, "ecr", "batch-get-repository-scanning-configuration", "--repository-names", "my-app", "nope").OK(t).Decode(t, &repoScanning)
	if c := repoScanning.ScanningConfigurations; len(c) != 1 || c[0].RepositoryName != "my-app" || c[0].ScanFrequency != "CONTINUOUS_SCAN" ||
		len(c[0].AppliedScanFilters) != 1 || c[0].AppliedScanFilters[0].Filter != "*" || c[0].AppliedScanFilters[0].FilterType != "WILDCARD" ||
		len(repoScanning.Failures) != 1 || repoScanning.Failures[0].FailureCode != "REPOSITORY_NOT_FOUND" {
		t.Errorf("batch-get-repository-scanning-configuration: %+v", repoScanning)
	}

	// Continuous scanning: a newly imported record shows up without a push.
	vulndbImport(t, s, "testdata/scan/osv-later")
	waitScan(t, s, "my-app", "latest", "CVE-2099-0004 from the new import", func(f scanFindings) bool {
		return f.ImageScanStatus.Status == "ACTIVE" && slices.Contains(f.names(), "CVE-2099-0004")
	})

}
