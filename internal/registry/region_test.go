package registry

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/berth/berth/internal/ecr/ecrstate"
)

// TestRegions: a password works in the region it was issued for, where a
// repository of the same name as another region's holds its own images;
// blob files are shared, and garbage only once no region links them.
func TestRegions(t *testing.T) {
	e := newGCEnv(t, "app")
	const eu = "eu-central-1"
	euApp := ecrstate.RepositoryID{Region: eu, Name: "app"}
	if _, err := e.cat.CreateRepository(context.Background(), euApp, ecrstate.Repository{}); err != nil {
		t.Fatal(err)
	}
	usPassword := e.password
	euPassword, _ := e.tokens.Issue("AKIATEST", eu)
	as := func(password string) { e.password = password }

	// The same layer in both regions, a config of each region's own.
	layer := randomBytes(1000)
	as(euPassword)
	euLayer := e.pushBlob("app", layer)
	euImage := e.image("app", "v1", e.pushBlob("app", []byte(`{"region":"eu"}`)), euLayer)
	as(usPassword)
	e.do(req{method: "GET", path: "/v2/app/manifests/v1"}).expect(t, http.StatusNotFound, "MANIFEST_UNKNOWN")
	e.do(req{method: "HEAD", path: "/v2/app/blobs/" + euLayer.Digest.String()}).expect(t, http.StatusNotFound, "")
	// A mount finds no blob of another region.
	e.do(req{method: "POST", path: "/v2/app/blobs/uploads/?mount=" + euLayer.Digest.String()}).expect(t, http.StatusAccepted, "")
	usLayer := e.pushBlob("app", layer)
	usImage := e.image("app", "v1", e.pushBlob("app", []byte(`{"region":"us"}`)), usLayer)
	if got := e.do(req{method: "GET", path: "/v2/app/manifests/v1"}).expect(t, http.StatusOK, ""); got.header.Get("Docker-Content-Digest") != usImage.String() {
		t.Fatalf("us-east-1's v1 is %s, want %s", got.header.Get("Docker-Content-Digest"), usImage)
	}
	as(euPassword)
	if got := e.do(req{method: "GET", path: "/v2/app/manifests/v1"}).expect(t, http.StatusOK, ""); got.header.Get("Docker-Content-Digest") != euImage.String() {
		t.Fatalf("eu-central-1's v1 is %s, want %s", got.header.Get("Docker-Content-Digest"), euImage)
	}
	if repos, err := e.cat.ListRepositories(context.Background(), eu, "", 0); err != nil || len(repos) != 1 {
		t.Fatalf("eu-central-1's repositories: %v %v", repos, err)
	}

	// The shared layer stays while a region's repository links it.
	if _, err := e.cat.DeleteRepository(context.Background(), repoID("app"), true); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(testGrace + 1)
	rep := e.sweep(false)
	if got := blobNames(rep.Blobs); len(got) != 1 || !slices.Contains(e.stored(), usLayer.Digest) {
		t.Fatalf("after deleting us-east-1's repository: blobs deleted %v, want only its config", got)
	}
	e.do(req{method: "GET", path: "/v2/app/blobs/" + euLayer.Digest.String()}).expect(t, http.StatusOK, "")
	if _, err := e.cat.DeleteRepository(context.Background(), euApp, true); err != nil {
		t.Fatal(err)
	}
	rep = e.sweep(false)
	if n := len(e.stored()); n != 0 || len(rep.Blobs) != 2 {
		t.Fatalf("after deleting both: %d blobs left, deleted %v", n, blobNames(rep.Blobs))
	}
}
