package registry

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berth/berth/internal/ecr/ecrstate"
)

// TestGoContainerRegistryRoundTrip pushes a random image with a real client
// and pulls it back, layer by layer.
func TestGoContainerRegistryRoundTrip(t *testing.T) {
	r := newTestRegistry(t, ecrstate.Repository{Name: "team/app"})
	auth := remote.WithAuth(&authn.Basic{Username: "AWS", Password: r.password})
	host := strings.TrimPrefix(r.srv.URL, "http://")
	ref, err := name.ParseReference(host+"/team/app:v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(1<<20, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, auth); err != nil {
		t.Fatal(err)
	}
	got, err := remote.Image(ref, auth)
	if err != nil {
		t.Fatal(err)
	}
	wantDigest, _ := img.Digest()
	gotDigest, err := got.Digest()
	if err != nil || gotDigest != wantDigest {
		t.Fatalf("digest %s, want %s (%v)", gotDigest, wantDigest, err)
	}
	wantLayers, _ := img.Layers()
	gotLayers, err := got.Layers()
	if err != nil || len(gotLayers) != len(wantLayers) {
		t.Fatalf("%d layers, want %d (%v)", len(gotLayers), len(wantLayers), err)
	}
	for i := range wantLayers {
		want := readAll(t, wantLayers[i].Compressed)
		have := readAll(t, gotLayers[i].Compressed)
		if !bytes.Equal(want, have) {
			t.Fatalf("layer %d differs", i)
		}
	}
	// A second push of the same image finds everything there.
	if err := remote.Write(ref, img, auth); err != nil {
		t.Fatal(err)
	}
	// And a wrong password is refused.
	bad := remote.WithAuth(&authn.Basic{Username: "AWS", Password: "nope"})
	if _, err := remote.Image(ref, bad); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("bad password: %v", err)
	}
}

func readAll(t *testing.T, open func() (io.ReadCloser, error)) []byte {
	t.Helper()
	rc, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
