package e2e

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// gcReport is the part of `berth registry gc --output json` the test reads.
type gcReport struct {
	DryRun bool
	Links  []struct {
		Repository, Digest string
		Size               int64
	}
	Blobs []struct {
		Digest       string
		Size         int64
		Repositories []string
	}
	Uploads []struct {
		Kind, ID, Repository string
	}
	Totals struct {
		Links, Blobs, Uploads int
		Bytes                 int64
	}
}

func (r gcReport) blobDigests() []string {
	var out []string
	for _, b := range r.Blobs {
		out = append(out, b.Digest)
	}
	slices.Sort(out)
	return out
}

// gcStoredBlobs lists the blob files under the server's data dir.
func gcStoredBlobs(t *testing.T, s *Server) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	root := filepath.Join(s.DataDir, "blobs", "blobs", "sha256")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			out["sha256:"+d.Name()] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// gcImageBlobs is an image's config and layer digests.
func gcImageBlobs(t *testing.T, img v1.Image) []string {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	out := []string{m.Config.Digest.String()}
	for _, l := range m.Layers {
		out = append(out, l.Digest.String())
	}
	return out
}

// gcPullVerified pulls ref with go-containerregistry and checks every blob
// against its digest.
func gcPullVerified(t *testing.T, ref name.Reference, auth remote.Option) {
	t.Helper()
	img, err := remote.Image(ref, auth)
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	if _, err := img.RawConfigFile(); err != nil {
		t.Fatalf("pull %s config: %v", ref, err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		want, _ := l.Digest()
		rc, err := l.Compressed()
		if err != nil {
			t.Fatalf("pull %s layer %s: %v", ref, want, err)
		}
		b, err := io.ReadAll(rc) // the reader verifies the digest at EOF
		rc.Close()
		if err != nil {
			t.Fatalf("pull %s layer %s: %d bytes, %v", ref, want, len(b), err)
		}
	}
}

// TestRegistryGC pushes images with go-containerregistry and docker,
// deletes some with the aws CLI, leaves an ECR upload session idle, and
// checks what `berth registry gc --dry-run` and a real sweep report and
// delete: the deleted images' own blobs leave the data dir, shared and
// remaining ones stay, and the remaining images still pull.
func TestRegistryGC(t *testing.T) {
	const grace, uploadAge = 2 * time.Second, 3 * time.Second
	s := StartServer(t, ServerOptions{Args: []string{"--gc-interval", "0", "--gc-grace-period", grace.String(), "--gc-upload-max-age", uploadAge.String()}})
	gc := func(args ...string) Result {
		t.Helper()
		return Berth(t, append([]string{"registry", "gc", "--listen", s.Listen, "--data-dir", s.DataDir}, args...)...).OK(t)
	}
	gcJSON := func(args ...string) gcReport {
		t.Helper()
		var rep gcReport
		gc(append(args, "--output", "json")...).Decode(t, &rep)
		return rep
	}
	s.AWS(t, "ecr", "create-repository", "--repository-name", "gc/app").OK(t)
	s.AWS(t, "ecr", "create-repository", "--repository-name", "gc/other").OK(t)
	password := strings.TrimSpace(s.AWS(t, "ecr", "get-login-password").OK(t).Stdout)
	auth := remote.WithAuth(&authn.Basic{Username: "AWS", Password: password})
	ref := func(repo, tag string) name.Reference {
		r, err := name.ParseReference(s.RegistryHost+"/"+repo+":"+tag, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	// keep and gone share a base layer; other:copy is keep again, so its
	// blobs are linked from two repositories.
	base, err := random.Image(4096, 1)
	if err != nil {
		t.Fatal(err)
	}
	withLayer := func() v1.Image {
		l, err := random.Layer(8192, "application/vnd.oci.image.layer.v1.tar+gzip")
		if err != nil {
			t.Fatal(err)
		}
		img, err := mutate.AppendLayers(base, l)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	keep, gone := withLayer(), withLayer()
	for _, p := range []struct {
		img       v1.Image
		repo, tag string
	}{{keep, "gc/app", "keep"}, {gone, "gc/app", "gone"}, {keep, "gc/other", "copy"}} {
		if err := remote.Write(ref(p.repo, p.tag), p.img, auth); err != nil {
			t.Fatalf("push %s:%s: %v", p.repo, p.tag, err)
		}
	}
	keepBlobs, goneBlobs := gcImageBlobs(t, keep), gcImageBlobs(t, gone)
	goneOnly := slices.DeleteFunc(slices.Clone(goneBlobs), func(d string) bool { return slices.Contains(keepBlobs, d) })
	slices.Sort(goneOnly)
	if len(goneOnly) != 2 {
		t.Fatalf("gone's own blobs: %v", goneOnly)
	}

	// An ECR layer upload nobody finishes.
	var initiated struct{ UploadId string }
	s.AWS(t, "ecr", "initiate-layer-upload", "--repository-name", "gc/app").OK(t).Decode(t, &initiated)

	// Nothing is garbage yet, and young content is never.
	if rep := gcJSON("--dry-run"); rep.Totals.Blobs+rep.Totals.Links+rep.Totals.Uploads != 0 {
		t.Fatalf("dry run right after the pushes: %+v", rep)
	}

	s.AWS(t, "ecr", "batch-delete-image", "--repository-name", "gc/app", "--image-ids", "imageTag=gone").OK(t)
	time.Sleep(uploadAge + 500*time.Millisecond)

	before := gcStoredBlobs(t, s)
	dry := gcJSON("--dry-run")
	if !dry.DryRun || !slices.Equal(dry.blobDigests(), goneOnly) || dry.Totals.Links != 2 {
		t.Fatalf("dry run: %+v, want blobs %v and their 2 links", dry, goneOnly)
	}
	for _, b := range dry.Blobs {
		if !slices.Equal(b.Repositories, []string{"gc/app"}) || b.Size <= 0 {
			t.Fatalf("dry run blob %+v, want repositories [gc/app]", b)
		}
	}
	if len(dry.Uploads) != 1 || dry.Uploads[0].Kind != "ecr" || dry.Uploads[0].ID != initiated.UploadId || dry.Uploads[0].Repository != "gc/app" {
		t.Fatalf("dry run uploads: %+v, want the ECR upload %s", dry.Uploads, initiated.UploadId)
	}
	if after := gcStoredBlobs(t, s); len(after) != len(before) {
		t.Fatalf("the dry run deleted blobs: %d before, %d after", len(before), len(after))
	}
	// The readable form says the same.
	table := gc("--dry-run").Stdout
	for _, want := range []string{"Would delete blobs: 2", goneOnly[0], goneOnly[1], "ecr", initiated.UploadId, "dry run, nothing was deleted"} {
		if !strings.Contains(table, want) {
			t.Fatalf("dry run table lacks %q:\n%s", want, table)
		}
	}

	table = gc().Stdout
	if !strings.Contains(table, "Deleted blobs: 2") || !strings.Contains(table, "Deleted upload sessions: 1") {
		t.Fatalf("sweep table:\n%s", table)
	}
	stored := gcStoredBlobs(t, s)
	for _, d := range goneOnly {
		if stored[d] {
			t.Fatalf("blob %s of the deleted image is still in the data dir", d)
		}
	}
	for _, d := range keepBlobs {
		if !stored[d] {
			t.Fatalf("blob %s of a remaining image is gone", d)
		}
	}
	gcPullVerified(t, ref("gc/app", "keep"), auth)
	gcPullVerified(t, ref("gc/other", "copy"), auth)
	checkImageComplete(t, s, registryToken(t, s), "gc/app", mustDigest(t, keep))
	s.AWS(t, "ecr", "upload-layer-part", "--repository-name", "gc/app", "--upload-id", initiated.UploadId,
		"--part-first-byte", "0", "--part-last-byte", "0", "--layer-part-blob", "eA==").Fails(t, "UploadNotFoundException")
	if rep := gcJSON(); rep.Totals.Blobs+rep.Totals.Links+rep.Totals.Uploads != 0 {
		t.Fatalf("a second sweep found more: %+v", rep)
	}

	// A forced repository deletion: its blobs go once no other repository
	// links them; gc/app still holds keep's.
	s.AWS(t, "ecr", "delete-repository", "--repository-name", "gc/other", "--force").OK(t)
	if rep := gcJSON(); rep.Totals.Blobs != 0 {
		t.Fatalf("sweep after deleting gc/other deleted blobs gc/app uses: %+v", rep)
	}
	gcPullVerified(t, ref("gc/app", "keep"), auth)

	t.Run("docker", func(t *testing.T) {
		s.DockerLogin(t)
		keepRef, goneRef := s.ImageRef("gc/app", "docker-keep"), s.ImageRef("gc/app", "docker-gone")
		removeImagesAtEnd(t, keepRef, goneRef)
		BuildUniqueAppImage(t, keepRef)
		BuildUniqueAppImage(t, goneRef)
		Docker(t, "push", keepRef).OK(t)
		goneDigest := pushedDigest(t, Docker(t, "push", goneRef).OK(t), "docker-gone")
		token := registryToken(t, s)
		goneManifest := checkImageComplete(t, s, token, "gc/app", goneDigest)
		s.AWS(t, "ecr", "batch-delete-image", "--repository-name", "gc/app", "--image-ids", "imageDigest="+goneDigest).OK(t)
		time.Sleep(grace + 500*time.Millisecond)
		rep := gcJSON()
		// The unique last layer and the config go; the app's shared layers
		// stay for docker-keep.
		got := rep.blobDigests()
		last := goneManifest.Layers[len(goneManifest.Layers)-1].Digest
		if !slices.Contains(got, last) || !slices.Contains(got, goneManifest.Config.Digest) || len(got) != 2 {
			t.Fatalf("docker sweep deleted %v, want the config %s and last layer %s", got, goneManifest.Config.Digest, last)
		}
		Docker(t, "image", "rm", keepRef).OK(t)
		Docker(t, "pull", keepRef).OK(t)
		gcPullVerified(t, ref("gc/app", "keep"), auth)
	})
}

func mustDigest(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}
