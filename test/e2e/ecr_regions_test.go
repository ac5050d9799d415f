package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestECRTwoRegions: one repository name in two regions is two
// repositories. Each region's API sees only its own, and a docker login
// with a region's password pushes and pulls that region's images.
func TestECRTwoRegions(t *testing.T) {
	RequireDocker(t)
	s := StartServer(t, ServerOptions{})
	const us, eu = "us-east-1", "eu-central-1"
	name := UniqueName("regional")
	uri := s.RegistryHost + "/" + name
	arn := func(region string) string { return "arn:aws:ecr:" + region + ":" + s.AccountID + ":repository/" + name }

	type repository struct{ RepositoryArn, RepositoryName, RepositoryUri string }
	for _, region := range []string{us, eu} {
		var created struct{ Repository repository }
		s.AWS(t, "ecr", "create-repository", "--repository-name", name, "--region", region).OK(t).Decode(t, &created)
		if created.Repository.RepositoryArn != arn(region) || created.Repository.RepositoryUri != uri {
			t.Fatalf("create-repository in %s: %+v, want ARN %s and URI %s", region, created.Repository, arn(region), uri)
		}
	}
	for _, region := range []string{us, eu} {
		var described struct{ Repositories []repository }
		s.AWS(t, "ecr", "describe-repositories", "--region", region).OK(t).Decode(t, &described)
		if len(described.Repositories) != 1 || described.Repositories[0].RepositoryArn != arn(region) {
			t.Fatalf("describe-repositories in %s: %+v, want only %s", region, described.Repositories, arn(region))
		}
	}
	// Another region's ARN names nothing here.
	s.AWS(t, "ecr", "list-tags-for-resource", "--resource-arn", arn(eu), "--region", us).Fails(t, "RepositoryNotFoundException")

	// imageDigests lists the digests describe-images shows in region.
	imageDigests := func(region string) []string {
		t.Helper()
		var images struct {
			ImageDetails []struct{ ImageDigest string }
		}
		s.AWS(t, "ecr", "describe-images", "--repository-name", name, "--region", region).OK(t).Decode(t, &images)
		var digests []string
		for _, img := range images.ImageDetails {
			digests = append(digests, img.ImageDigest)
		}
		return digests
	}
	ref := uri + ":v1"
	removeImagesAtEnd(t, ref)
	// push builds an image of its own and pushes it as ref with a
	// password for region, returning its digest.
	push := func(region string) string {
		t.Helper()
		local := UniqueName("berth-e2e-regional") + ":latest"
		BuildUniqueAppImage(t, local)
		Docker(t, "tag", local, ref).OK(t)
		s.DockerLoginIn(t, region)
		return pushedDigest(t, Docker(t, "push", ref).OK(t), "v1")
	}

	euDigest := push(eu)
	if got := imageDigests(eu); !slices.Equal(got, []string{euDigest}) {
		t.Fatalf("eu-central-1 images after its push: %v, want [%s]", got, euDigest)
	}
	if got := imageDigests(us); len(got) != 0 {
		t.Fatalf("us-east-1 images after a push to eu-central-1: %v, want none", got)
	}
	usDigest := push(us)
	if usDigest == euDigest {
		t.Fatal("the two images have one digest")
	}
	if got := imageDigests(us); !slices.Equal(got, []string{usDigest}) {
		t.Fatalf("us-east-1 images after its push: %v, want [%s]", got, usDigest)
	}
	if got := imageDigests(eu); !slices.Equal(got, []string{euDigest}) {
		t.Fatalf("eu-central-1 images after the push to us-east-1: %v, want [%s]", got, euDigest)
	}

	// pulls checks that a pull of ref with a password for region gets the
	// image of digest.
	pulls := func(region, digest string) {
		t.Helper()
		Docker(t, "image", "rm", ref)
		s.DockerLoginIn(t, region)
		Docker(t, "pull", ref).OK(t)
		var repoDigests []string
		Docker(t, "image", "inspect", "--format", "{{json .RepoDigests}}", ref).OK(t).Decode(t, &repoDigests)
		if !slices.Contains(repoDigests, uri+"@"+digest) {
			t.Fatalf("pull with a %s password: RepoDigests %v, want %s@%s", region, repoDigests, uri, digest)
		}
	}
	pulls(eu, euDigest)
	pulls(us, usDigest)

	// Everything is still there after a restart.
	s.Restart(t)
	if got := imageDigests(eu); !slices.Equal(got, []string{euDigest}) {
		t.Fatalf("eu-central-1 images after a restart: %v, want [%s]", got, euDigest)
	}
	if got := imageDigests(us); !slices.Equal(got, []string{usDigest}) {
		t.Fatalf("us-east-1 images after a restart: %v, want [%s]", got, usDigest)
	}
	pulls(eu, euDigest)

	// Deleting one region's repository leaves the other's images.
	s.AWS(t, "ecr", "delete-repository", "--repository-name", name, "--force", "--region", us).OK(t)
	s.AWS(t, "ecr", "describe-images", "--repository-name", name, "--region", us).Fails(t, "RepositoryNotFoundException")
	pulls(eu, euDigest)
	s.DockerLoginIn(t, us)
	Docker(t, "pull", ref).Fails(t, "")
}

// preRegionsCommit is the last berth whose records and registry passwords
// named no region.
const preRegionsCommit = "42d26ae397c398311638365cf452ce237cac7767"

// TestUpgradeToRegions: a data dir, a docker login and running services
// from a berth before regions work in the server's --region after the
// upgrade, and in no other region.
func TestUpgradeToRegions(t *testing.T) {
	RequireDocker(t)
	old := buildBerthAt(t, preRegionsCommit)
	t.Run("ECR", func(t *testing.T) { upgradeECR(t, old) })
	t.Run("ECS", func(t *testing.T) { upgradeECS(t, old) })
}

func upgradeECR(t *testing.T, old string) {
	s := StartServer(t, ServerOptions{Bin: old})
	name := UniqueName("upgraded")
	ref := s.ImageRef(name, "v1")
	s.AWS(t, "ecr", "create-repository", "--repository-name", name).OK(t)
	s.AWS(t, "ecr", "put-registry-scanning-configuration", "--scan-type", "ENHANCED").OK(t)
	local := UniqueName("berth-e2e-upgraded") + ":latest"
	BuildUniqueAppImage(t, local)
	removeImagesAtEnd(t, ref)
	Docker(t, "tag", local, ref).OK(t)
	s.DockerLogin(t) // a password that names no region
	digest := pushedDigest(t, Docker(t, "push", ref).OK(t), "v1")

	s.Stop(t)
	s.bin = berthBin
	s.Start(t)
	var described struct {
		Repositories []struct{ RepositoryArn string }
	}
	s.AWS(t, "ecr", "describe-repositories", "--repository-names", name).OK(t).Decode(t, &described)
	if want := "arn:aws:ecr:" + s.Region + ":" + s.AccountID + ":repository/" + name; len(described.Repositories) != 1 || described.Repositories[0].RepositoryArn != want {
		t.Fatalf("after the upgrade: %+v, want %s", described.Repositories, want)
	}
	s.AWS(t, "ecr", "describe-repositories", "--repository-names", name, "--region", "eu-central-1").Fails(t, "RepositoryNotFoundException")
	var scanning struct{ ScanningConfiguration struct{ ScanType string } }
	s.AWS(t, "ecr", "get-registry-scanning-configuration").OK(t).Decode(t, &scanning)
	if scanning.ScanningConfiguration.ScanType != "ENHANCED" {
		t.Fatalf("scanning configuration after the upgrade: %+v", scanning)
	}
	// The old login still pulls, from the server's region.
	Docker(t, "image", "rm", ref).OK(t)
	Docker(t, "pull", ref).OK(t)
	var repoDigests []string
	Docker(t, "image", "inspect", "--format", "{{json .RepoDigests}}", ref).OK(t).Decode(t, &repoDigests)
	if !slices.Contains(repoDigests, s.RegistryHost+"/"+name+"@"+digest) {
		t.Fatalf("pull with the old login: RepoDigests %v, want %s", repoDigests, digest)
	}
}

// buildBerthAt builds berth as it was at commit, from this repository's
// history; without that history (a shallow clone, an export) the test is
// skipped.
func buildBerthAt(t testing.TB, commit string) string {
	t.Helper()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	src, bin := t.TempDir(), filepath.Join(t.TempDir(), "berth")
	archive := exec.Command("sh", "-c", `git archive --format=tar "$1" | tar -x -C "$2"`, "sh", commit, src)
	archive.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	if out, err := archive.CombinedOutput(); err != nil {
		t.Skipf("skipping: berth at %s is not in this checkout's history: %v\n%s", commit, err, out)
	}
	build := exec.Command("go", "build", "-buildvcs=false", "-o", bin, "./cmd/berth")
	build.Dir, build.Env = src, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building berth at %s: %v\n%s", commit, err, out)
	}
	return bin
}
