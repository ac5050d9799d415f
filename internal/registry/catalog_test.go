package registry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth/berth/internal/ecr/ecrstate"
	"github.com/berth/berth/internal/store/bolt"
)

func newTestCatalog(t *testing.T) *Catalog {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var mu sync.Mutex
	return NewCatalog(st, func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Second)
		return clock
	})
}

// pushBlob links a fake blob of the given content into repo.
func pushBlob(t *testing.T, c *Catalog, repo, content string) ocispec.Descriptor {
	t.Helper()
	d := digest.FromString(content)
	if err := c.LinkBlob(context.Background(), repoID(repo), d, int64(len(content))); err != nil {
		t.Fatal(err)
	}
	return ocispec.Descriptor{MediaType: "application/octet-stream", Digest: d, Size: int64(len(content))}
}

// mustJSON encodes a test fixture.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func imageManifest(config ocispec.Descriptor, layers ...ocispec.Descriptor) []byte {
	config.MediaType = ocispec.MediaTypeImageConfig
	return mustJSON(ocispec.Manifest{
		Versioned: ocispecVersioned(),
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    config,
		Layers:    layers,
	})
}

func TestRepositoryLifecycle(t *testing.T) {
	ctx := context.Background()
	c := newTestCatalog(t)
	if _, err := c.CreateRepository(ctx, repoID("team/app"), ecrstate.Repository{Name: "team/app", ScanOnPush: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateRepository(ctx, repoID("team/app"), ecrstate.Repository{Name: "team/app"}); !errors.Is(err, ErrRepositoryExists) {
		t.Fatalf("duplicate create: %v", err)
	}
	repo, err := c.GetRepository(ctx, repoID("team/app"))
	if err != nil || repo.TagMutability != ecrstate.TagMutable || repo.EncryptionType != "AES256" || !repo.ScanOnPush {
		t.Fatalf("get: %+v %v", repo, err)
	}
	for _, name := range []string{"a", "b", "c"} {
		if _, err := c.CreateRepository(ctx, repoID(name), ecrstate.Repository{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := c.ListRepositories(ctx, testRegion, "a", 2)
	if err != nil || len(page) != 2 || page[0].Name != "b" || page[1].Name != "c" {
		t.Fatalf("page after a: %+v %v", page, err)
	}
	all, _ := c.ListRepositories(ctx, testRegion, "", 0)
	if len(all) != 4 {
		t.Fatalf("all: %d", len(all))
	}

	layer := pushBlob(t, c, "team/app", "layer")
	config := pushBlob(t, c, "team/app", "config")
	if _, err := c.PutManifest(ctx, repoID("team/app"), "v1", "", "", imageManifest(config, layer)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteRepository(ctx, repoID("team/app"), false); !errors.Is(err, ErrRepositoryNotEmpty) {
		t.Fatalf("delete non-empty: %v", err)
	}
	if _, err := c.DeleteRepository(ctx, repoID("team/app"), true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetRepository(ctx, repoID("team/app")); !errors.Is(err, ErrRepositoryNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	// A new repository of the same name starts empty.
	if _, err := c.CreateRepository(ctx, repoID("team/app"), ecrstate.Repository{Name: "team/app"}); err != nil {
		t.Fatal(err)
	}
	if images, _ := c.Images(ctx, repoID("team/app")); len(images) != 0 {
		t.Fatalf("recreated repository holds %d images", len(images))
	}
	if _, err := c.Blob(ctx, repoID("team/app"), layer.Digest); !errors.Is(err, ErrBlobNotFound) {
		t.Fatalf("blob link survived deletion: %v", err)
	}
}

func TestPutManifestRules(t *testing.T) {
	ctx := context.Background()
	c := newTestCatalog(t)
	if _, err := c.PutManifest(ctx, repoID("nope"), "v1", "", "", imageManifest(ocispec.Descriptor{Digest: digest.FromString("x")})); !errors.Is(err, ErrRepositoryNotFound) {
		t.Fatalf("missing repo: %v", err)
	}
	c.CreateRepository(ctx, repoID("app"), ecrstate.Repository{Name: "app"})
	config := ocispec.Descriptor{Digest: digest.FromString("config"), Size: 6}
	layer := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: digest.FromString("layer"), Size: 5}
	body := imageManifest(config, layer)

	var missing *MissingReferencesError
	if _, err := c.PutManifest(ctx, repoID("app"), "v1", "", "", body); !errors.As(err, &missing) || len(missing.Blobs) != 2 {
		t.Fatalf("missing blobs: %v", err)
	}
	pushBlob(t, c, "app", "config")
	pushBlob(t, c, "app", "layer")
	res, err := c.PutManifest(ctx, repoID("app"), "v1", "", "", body)
	if err != nil || !res.Changed || res.Image.Size != 5 || res.Image.ArtifactType != ocispec.MediaTypeImageConfig {
		t.Fatalf("put: %+v %v", res, err)
	}
	again, err := c.PutManifest(ctx, repoID("app"), "v1", "", "", body)
	if err != nil || again.Changed {
		t.Fatalf("idempotent put: %+v %v", again, err)
	}
	if _, err := c.PutManifest(ctx, repoID("app"), "", "", digest.FromString("other"), body); !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("digest mismatch: %v", err)
	}
	sha512 := digest.SHA512.FromBytes(body)
	if res, err := c.PutManifest(ctx, repoID("app"), "", "", sha512, body); err != nil || res.Image.Digest != sha512 {
		t.Fatalf("sha512 put: %+v %v", res, err)
	}

	// Moving a tag in a mutable repository leaves the old image untagged.
	body2 := imageManifest(config)
	if _, err := c.PutManifest(ctx, repoID("app"), "v1", "", "", body2); err != nil {
		t.Fatal(err)
	}
	old, _ := c.Image(ctx, repoID("app"), digest.FromBytes(body).String())
	if len(old.Tags) != 0 {
		t.Fatalf("old image still tagged: %v", old.Tags)
	}
	cur, _ := c.Image(ctx, repoID("app"), "v1")
	if cur.Digest != digest.FromBytes(body2) {
		t.Fatalf("v1 -> %s", cur.Digest)
	}

	// Immutable: the same push is fine, moving is refused.
	c.UpdateRepository(ctx, repoID("app"), func(r *ecrstate.Repository) error { r.TagMutability = ecrstate.TagImmutable; return nil })
	if _, err := c.PutManifest(ctx, repoID("app"), "v1", "", "", body2); err != nil {
		t.Fatalf("re-push same digest: %v", err)
	}
	var immutable *TagImmutableError
	if _, err := c.PutManifest(ctx, repoID("app"), "v1", "", "", body); !errors.As(err, &immutable) {
		t.Fatalf("immutable move: %v", err)
	}
	if cur, _ := c.Image(ctx, repoID("app"), "v1"); cur.Digest != digest.FromBytes(body2) {
		t.Fatal("refused push moved the tag")
	}
	// Exclusions: latest stays mutable.
	c.UpdateRepository(ctx, repoID("app"), func(r *ecrstate.Repository) error {
		r.TagMutability = ecrstate.TagImmutableWithExclusion
		r.TagMutabilityExclusions = []string{"latest", "dev-*"}
		return nil
	})
	for _, tag := range []string{"latest", "dev-1"} {
		if _, err := c.PutManifest(ctx, repoID("app"), tag, "", "", body); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutManifest(ctx, repoID("app"), tag, "", "", body2); err != nil {
			t.Fatalf("excluded tag %s refused: %v", tag, err)
		}
	}
	if _, err := c.PutManifest(ctx, repoID("app"), "v1", "", "", body); !errors.As(err, &immutable) {
		t.Fatalf("non-excluded tag moved: %v", err)
	}
	tags, _ := c.Tags(ctx, repoID("app"), "", 0)
	if fmt.Sprint(tags) != "[dev-1 latest v1]" {
		t.Fatalf("tags: %v", tags)
	}
	tags, _ = c.Tags(ctx, repoID("app"), "dev-1", 1)
	if fmt.Sprint(tags) != "[latest]" {
		t.Fatalf("tags page: %v", tags)
	}
}

func TestIndexReferrersAndDeletes(t *testing.T) {
	ctx := context.Background()
	c := newTestCatalog(t)
	c.CreateRepository(ctx, repoID("app"), ecrstate.Repository{Name: "app"})
	config := pushBlob(t, c, "app", "config")
	child := imageManifest(config)
	childDigest := digest.FromBytes(child)
	index := mustJSON(ocispec.Index{
		Versioned: ocispecVersioned(),
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{{MediaType: ocispec.MediaTypeImageManifest, Digest: childDigest, Size: int64(len(child))}},
	})
	var missing *MissingReferencesError
	if _, err := c.PutManifest(ctx, repoID("app"), "multi", "", "", index); !errors.As(err, &missing) || len(missing.Manifests) != 1 {
		t.Fatalf("index before child: %v", err)
	}
	if _, err := c.PutManifest(ctx, repoID("app"), "", "", "", child); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutManifest(ctx, repoID("app"), "multi", "", "", index); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteImage(ctx, repoID("app"), childDigest, true); !errors.Is(err, ErrImageReferenced) {
		t.Fatalf("delete referenced child: %v", err)
	}

	// A signature-like artifact referring to the child.
	sig := mustJSON(ocispec.Manifest{
		Versioned:    ocispecVersioned(),
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: "application/vnd.example.sig",
		Config:       ocispec.DescriptorEmptyJSON,
		Layers:       []ocispec.Descriptor{},
		Subject:      &ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: childDigest, Size: int64(len(child))},
	})
	c.LinkBlob(ctx, repoID("app"), ocispec.DescriptorEmptyJSON.Digest, 2)
	if _, err := c.PutManifest(ctx, repoID("app"), "", "", "", sig); err != nil {
		t.Fatal(err)
	}
	refs, err := c.Referrers(ctx, repoID("app"), childDigest, "")
	if err != nil || len(refs) != 1 || refs[0].ArtifactType != "application/vnd.example.sig" {
		t.Fatalf("referrers: %+v %v", refs, err)
	}
	if refs, _ := c.Referrers(ctx, repoID("app"), childDigest, "application/other"); len(refs) != 0 {
		t.Fatalf("filtered referrers: %+v", refs)
	}
	if _, err := c.DeleteImage(ctx, repoID("app"), digest.FromBytes(sig), false); err != nil {
		t.Fatal(err)
	}
	if refs, _ := c.Referrers(ctx, repoID("app"), childDigest, ""); len(refs) != 0 {
		t.Fatalf("referrer survived delete: %+v", refs)
	}

	// Untagging the index's only tag deletes it when asked to.
	img, deleted, err := c.Untag(ctx, repoID("app"), "multi", true)
	if err != nil || !deleted || img.Digest != digest.FromBytes(index) {
		t.Fatalf("untag: %+v %v %v", img, deleted, err)
	}
	if _, err := c.DeleteImage(ctx, repoID("app"), childDigest, true); err != nil {
		t.Fatalf("child after index gone: %v", err)
	}
	if _, err := c.Image(ctx, repoID("app"), childDigest.String()); !errors.Is(err, ErrImageNotFound) {
		t.Fatalf("deleted child: %v", err)
	}
}

func TestConcurrentPushesAllLand(t *testing.T) {
	ctx := context.Background()
	c := newTestCatalog(t)
	c.CreateRepository(ctx, repoID("app"), ecrstate.Repository{Name: "app"})
	config := pushBlob(t, c, "app", "config")
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			layer := pushBlob(t, c, "app", fmt.Sprint("layer", i))
			// Half the pushes fight over one tag; the others have their own.
			tag := "shared"
			if i%2 == 0 {
				tag = fmt.Sprint("t", i)
			}
			_, err := c.PutManifest(ctx, repoID("app"), tag, "", "", imageManifest(config, layer))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	images, _ := c.Images(ctx, repoID("app"))
	if len(images) != 40 {
		t.Fatalf("images: %d", len(images))
	}
	tagged := 0
	for _, img := range images {
		tagged += len(img.Tags)
	}
	if tagged != 21 {
		t.Fatalf("tags across images: %d, want 21", tagged)
	}
}

func TestTokens(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tokens := NewTokens([]byte("k"), "us-east-1", func() time.Time { return now })
	pw, expires := tokens.Issue("AKIA1", "eu-central-1")
	if !expires.Equal(now.Add(12 * time.Hour)) {
		t.Fatalf("expires %v", expires)
	}
	if key, region, err := tokens.Verify(pw); err != nil || key != "AKIA1" || region != "eu-central-1" {
		t.Fatalf("verify: %v %v %v", key, region, err)
	}
	if _, _, err := NewTokens([]byte("other"), "us-east-1", nil).Verify(pw); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("other key: %v", err)
	}
	for _, bad := range []string{"", ".", "x.y", pw + "x", "e30." + pw[len(pw)-10:]} {
		if _, _, err := tokens.Verify(bad); !errors.Is(err, ErrTokenInvalid) {
			t.Fatalf("%q: %v", bad, err)
		}
	}
	// A password issued before passwords named a region is the default
	// region's.
	claims := base64.RawURLEncoding.EncodeToString([]byte(`{"k":"AKIA1","e":` + strconv.FormatInt(now.Add(time.Hour).Unix(), 10) + `}`))
	if key, region, err := tokens.Verify(claims + "." + tokens.sign(claims)); err != nil || key != "AKIA1" || region != "us-east-1" {
		t.Fatalf("password without a region: %v %v %v", key, region, err)
	}
	now = now.Add(12 * time.Hour)
	if _, _, err := tokens.Verify(pw); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("expired: %v", err)
	}
}

func TestParseManifestRejects(t *testing.T) {
	d := digest.FromString("x").String()
	for name, body := range map[string]string{
		"not json":        `{`,
		"trailing":        `{"schemaVersion":2,"config":{"mediaType":"a","digest":"` + d + `","size":1}} {}`,
		"schema 1":        `{"schemaVersion":1}`,
		"no config":       `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}`,
		"bad digest":      `{"schemaVersion":2,"config":{"mediaType":"a","digest":"sha256:zz","size":1}}`,
		"negative size":   `{"schemaVersion":2,"config":{"mediaType":"a","digest":"` + d + `","size":-1}}`,
		"unknown type":    `{"schemaVersion":2,"mediaType":"text/plain","config":{"mediaType":"a","digest":"` + d + `","size":1}}`,
		"index w/ config": `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[],"config":{"mediaType":"a","digest":"` + d + `","size":1}}`,
	} {
		var invalid *ManifestInvalidError
		if _, err := ParseManifest("", []byte(body)); !errors.As(err, &invalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	body := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"a","digest":"` + d + `","size":1}}`
	if _, err := ParseManifest(MediaTypeDockerManifest, []byte(body)); err == nil {
		t.Error("declared media type differing from the manifest's was accepted")
	}
}

func ocispecVersioned() specs.Versioned { return specs.Versioned{SchemaVersion: 2} }
