package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth/berth/internal/admin"
	"github.com/berth/berth/internal/blob"
	"github.com/berth/berth/internal/blob/local"
	"github.com/berth/berth/internal/ecr/ecrstate"
	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/store/bolt"
)

func TestUnusedLinks(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	link := func(d string, age time.Duration, condemned bool) linkEntry {
		return linkEntry{link: ecrstate.BlobLink{Digest: digest.Digest(d), LinkedAt: t0.Add(-age), Condemned: condemned}, rev: 1}
	}
	images := []ecrstate.Image{{Blobs: []digest.Digest{"sha256:cfg", "sha256:l1"}}, {Blobs: []digest.Digest{"sha256:l2"}}}
	for _, tc := range []struct {
		name  string
		links []linkEntry
		want  []string
		young []string
	}{
		{"referenced old links stay", []linkEntry{link("sha256:cfg", 48*time.Hour, false), link("sha256:l2", 48*time.Hour, false)}, nil, nil},
		{"unreferenced young link stays", []linkEntry{link("sha256:new", time.Minute, false)}, nil, []string{"sha256:new"}},
		{"unreferenced link at the cutoff stays", []linkEntry{link("sha256:edge", time.Hour, false)}, nil, []string{"sha256:edge"}},
		{"unreferenced old link goes", []linkEntry{link("sha256:old", time.Hour+time.Second, false)}, []string{"sha256:old"}, nil},
		{"condemned by an interrupted sweep goes", []linkEntry{link("sha256:old", 2*time.Hour, true)}, []string{"sha256:old"}, nil},
		{"condemned but referenced stays", []linkEntry{link("sha256:l1", 2*time.Hour, true)}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			old, young := unusedLinks(tc.links, images, t0.Add(-time.Hour))
			for _, l := range old {
				got = append(got, l.link.Digest.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("unusedLinks = %v, want %v", got, tc.want)
			}
			var kept []string
			for _, l := range young {
				kept = append(kept, l.link.Digest.String())
			}
			if !slices.Equal(kept, tc.young) {
				t.Fatalf("unusedLinks kept for the grace period %v, want %v", kept, tc.young)
			}
		})
	}
}

func TestUnusedBlobs(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	named := map[digest.Digest]bool{"sha256:linked": true}
	for _, tc := range []struct {
		name string
		info blob.Info
		goes bool
	}{
		{"named old", blob.Info{Digest: "sha256:linked", UsedAt: t0.Add(-48 * time.Hour)}, false},
		{"unnamed young", blob.Info{Digest: "sha256:x", UsedAt: t0.Add(-time.Minute)}, false},
		{"unnamed used at the cutoff", blob.Info{Digest: "sha256:x", UsedAt: t0.Add(-time.Hour)}, false},
		{"unnamed old", blob.Info{Digest: "sha256:x", UsedAt: t0.Add(-2 * time.Hour)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := unusedBlobs([]blob.Info{tc.info}, named, t0.Add(-time.Hour))
			if (len(got) == 1) != tc.goes {
				t.Fatalf("unusedBlobs = %v, want goes=%v", got, tc.goes)
			}
		})
	}
}

// gcEnv is a registry whose catalog, blob store and collector share a
// settable clock.
type gcEnv struct {
	*testRegistry
	blobs *local.Store
	gc    *Collector
	reg   *prometheus.Registry
}

const testGrace = time.Hour

func newGCEnv(t *testing.T, repos ...string) *gcEnv {
	t.Helper()
	dir := t.TempDir()
	st, err := bolt.Open(filepath.Join(dir, "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clock := &testClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	blobs, err := local.Open(filepath.Join(dir, "blobs"), local.Options{Key: make([]byte, 32), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	cat := NewCatalog(st, clock.Now)
	for _, name := range repos {
		if _, err := cat.CreateRepository(context.Background(), repoID(name), ecrstate.Repository{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	// Tokens expire by the real clock: the test clock runs days ahead.
	tokens := NewTokens([]byte("test key"), testRegion, nil)
	password, _ := tokens.Issue("AKIATEST", testRegion)
	h := NewHandler(HandlerConfig{Catalog: cat, Blobs: blobs, Tokens: tokens, AccountID: testAccount, Region: "us-east-1"})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	reg := prometheus.NewRegistry()
	gc := NewCollector(GCConfig{Catalog: cat, Blobs: blobs, GracePeriod: testGrace, UploadMaxAge: 24 * time.Hour, Now: clock.Now, Registerer: reg,
		Logger: slog.New(slog.DiscardHandler)})
	return &gcEnv{
		testRegistry: &testRegistry{t: t, cat: cat, tokens: tokens, password: password, srv: srv, clock: clock},
		blobs:        blobs, gc: gc, reg: reg,
	}
}

func (e *gcEnv) sweep(dryRun bool) *GCReport {
	e.t.Helper()
	rep, err := e.gc.Sweep(context.Background(), dryRun)
	if err != nil {
		e.t.Fatal(err)
	}
	return rep
}

// stored lists the blob store's digests.
func (e *gcEnv) stored() []digest.Digest {
	e.t.Helper()
	var out []digest.Digest
	if err := e.blobs.Walk(context.Background(), func(b blob.Info) error {
		out = append(out, b.Digest)
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// image pushes a manifest over config and layers (already pushed) into repo
// under tag.
func (e *gcEnv) image(repo, tag string, config ocispec.Descriptor, layers ...ocispec.Descriptor) digest.Digest {
	e.t.Helper()
	config.MediaType = ocispec.MediaTypeImageConfig
	for i := range layers {
		layers[i].MediaType = ocispec.MediaTypeImageLayerGzip
	}
	body := mustJSON(ocispec.Manifest{Versioned: ocispecVersioned(), MediaType: ocispec.MediaTypeImageManifest, Config: config, Layers: layers})
	e.putManifest(repo, tag, body).expect(e.t, http.StatusCreated, "")
	return digest.FromBytes(body)
}

func linkNames(links []GCLink) []string {
	var out []string
	for _, l := range links {
		out = append(out, l.Repository+"|"+l.Digest.String())
	}
	slices.Sort(out)
	return out
}

func blobNames(blobs []GCBlob) []string {
	var out []string
	for _, b := range blobs {
		out = append(out, b.Digest.String()+"<"+strings.Join(b.Repositories, ",")+">")
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}

func TestGCSweepScenario(t *testing.T) {
	e := newGCEnv(t, "app", "other")
	cfgA := e.pushBlob("app", []byte(`{"a":1}`))
	cfgB := e.pushBlob("app", []byte(`{"b":1}`))
	shared := e.pushBlob("app", randomBytes(2000))
	onlyA := e.pushBlob("app", randomBytes(1000))
	orphan := e.pushBlob("app", randomBytes(500))
	imgA := e.image("app", "a", cfgA, shared, onlyA)
	e.image("app", "b", cfgB, shared)
	// A mount into other that no manifest there uses.
	e.do(req{method: "POST", path: "/v2/other/blobs/uploads/?mount=" + onlyA.Digest.String() + "&from=app"}).expect(t, http.StatusCreated, "")

	// Within the grace period nothing goes; the unused links are
	// reported as waiting, with when they may go.
	pushed := e.clock.Now()
	e.clock.Add(testGrace / 2)
	rep := e.sweep(false)
	if len(rep.Links)+len(rep.Blobs)+len(rep.Uploads) != 0 {
		t.Fatalf("sweep within the grace period: %+v", rep)
	}
	var waiting []string
	for _, l := range rep.Waiting {
		waiting = append(waiting, l.Repository+"|"+l.Digest.String())
		if l.EligibleAt.Before(pushed.Add(testGrace-time.Second)) || l.EligibleAt.After(pushed.Add(testGrace+time.Second)) {
			t.Fatalf("link %s eligible at %v, pushed at %v", l.Digest, l.EligibleAt, pushed)
		}
	}
	slices.Sort(waiting)
	if want := sorted("app|"+orphan.Digest.String(), "other|"+onlyA.Digest.String()); !slices.Equal(waiting, want) || rep.Totals.Waiting != 2 || rep.Totals.WaitingBytes != 1500 {
		t.Fatalf("waiting %v (%+v), want %v", waiting, rep.Totals, want)
	}

	e.clock.Add(testGrace)
	dry := e.sweep(true)
	wantLinks := sorted("app|"+orphan.Digest.String(), "other|"+onlyA.Digest.String())
	wantBlobs := []string{orphan.Digest.String() + "<app>"}
	if got := linkNames(dry.Links); !slices.Equal(got, wantLinks) {
		t.Fatalf("dry-run links = %v, want %v", got, wantLinks)
	}
	if got := blobNames(dry.Blobs); !slices.Equal(got, wantBlobs) || dry.Totals.Bytes != 500 || dry.Totals.Blobs != 1 || !dry.DryRun {
		t.Fatalf("dry-run blobs = %v (%+v), want %v", got, dry.Totals, wantBlobs)
	}
	if n := len(e.stored()); n != 5 {
		t.Fatalf("dry run deleted blobs: %d left", n)
	}
	// A client HEADs the orphan (to skip uploading it): that re-dates
	// its link, so this sweep keeps it.
	e.do(req{method: "HEAD", path: "/v2/app/blobs/" + orphan.Digest.String()}).expect(t, http.StatusOK, "")
	e.clock.Add(time.Minute)
	rep = e.sweep(false)
	if got := linkNames(rep.Links); !slices.Equal(got, []string{"other|" + onlyA.Digest.String()}) {
		t.Fatalf("links = %v", got)
	}
	if len(rep.Blobs) != 0 {
		t.Fatalf("blobs deleted: %v", blobNames(rep.Blobs))
	}
	e.do(req{method: "HEAD", path: "/v2/other/blobs/" + onlyA.Digest.String()}).expect(t, http.StatusNotFound, "")

	// Past the grace period again, the orphan goes, link and blob.
	e.clock.Add(testGrace + time.Minute)
	rep = e.sweep(false)
	if got := linkNames(rep.Links); !slices.Equal(got, []string{"app|" + orphan.Digest.String()}) {
		t.Fatalf("links = %v", got)
	}
	if got := blobNames(rep.Blobs); !slices.Equal(got, wantBlobs) {
		t.Fatalf("blobs = %v, want %v", got, wantBlobs)
	}
	e.do(req{method: "GET", path: "/v2/app/blobs/" + orphan.Digest.String()}).expect(t, http.StatusNotFound, "BLOB_UNKNOWN")
	if slices.Contains(e.stored(), orphan.Digest) {
		t.Fatal("orphan blob still stored")
	}

	// Deleting image a makes its config and its own layer garbage; the
	// shared layer stays for b.
	if _, err := e.cat.DeleteImage(context.Background(), repoID("app"), imgA, true); err != nil {
		t.Fatal(err)
	}
	rep = e.sweep(false)
	wantBlobs = sorted(cfgA.Digest.String()+"<app>", onlyA.Digest.String()+"<app>")
	if got := blobNames(rep.Blobs); !slices.Equal(got, wantBlobs) {
		t.Fatalf("after deleting a: blobs = %v, want %v", got, wantBlobs)
	}
	e.do(req{method: "GET", path: "/v2/app/manifests/b"}).expect(t, http.StatusOK, "")
	for _, d := range []digest.Digest{cfgB.Digest, shared.Digest} {
		e.do(req{method: "GET", path: "/v2/app/blobs/" + d.String()}).expect(t, http.StatusOK, "")
	}

	// A forced repository deletion leaves blobs no repository links.
	if _, err := e.cat.DeleteRepository(context.Background(), repoID("app"), true); err != nil {
		t.Fatal(err)
	}
	rep = e.sweep(false)
	wantBlobs = sorted(cfgB.Digest.String()+"<>", shared.Digest.String()+"<>")
	if got := blobNames(rep.Blobs); !slices.Equal(got, wantBlobs) || len(rep.Links) != 0 {
		t.Fatalf("after deleting the repository: blobs = %v, links %v, want %v", got, rep.Links, wantBlobs)
	}
	if n := len(e.stored()); n != 0 {
		t.Fatalf("%d blobs left", n)
	}
}

// TestGCKeepsRefreshedContent: content pushed again, mounted or HEADed
// after it became garbage is young again.
func TestGCKeepsRefreshedContent(t *testing.T) {
	e := newGCEnv(t, "app", "other")
	content := randomBytes(700)
	d := e.pushBlob("app", content).Digest
	e.clock.Add(2 * testGrace)
	// Uploaded again: stored nothing twice, but both the blob and the link
	// are young.
	e.pushBlob("app", content)
	if rep := e.sweep(false); len(rep.Links)+len(rep.Blobs) != 0 {
		t.Fatalf("re-uploaded content collected: %v %v", linkNames(rep.Links), blobNames(rep.Blobs))
	}
	e.clock.Add(2 * testGrace)
	// Mounted into another repository: the new link keeps the blob.
	e.do(req{method: "POST", path: "/v2/other/blobs/uploads/?mount=" + d.String() + "&from=app"}).expect(t, http.StatusCreated, "")
	rep := e.sweep(false)
	if got := linkNames(rep.Links); !slices.Equal(got, []string{"app|" + d.String()}) || len(rep.Blobs) != 0 {
		t.Fatalf("after the mount: links %v blobs %v", got, blobNames(rep.Blobs))
	}
	// HEAD of an old link re-dates it.
	e.clock.Add(2 * testGrace)
	e.do(req{method: "HEAD", path: "/v2/other/blobs/" + d.String()}).expect(t, http.StatusOK, "")
	if rep := e.sweep(false); len(rep.Links)+len(rep.Blobs) != 0 {
		t.Fatalf("HEADed content collected: %v %v", linkNames(rep.Links), blobNames(rep.Blobs))
	}
	e.clock.Add(2 * testGrace)
	rep = e.sweep(false)
	if len(rep.Links) != 1 || len(rep.Blobs) != 1 {
		t.Fatalf("garbage kept: %v %v", linkNames(rep.Links), blobNames(rep.Blobs))
	}
	// Gone: a mount falls back to an upload session.
	e.do(req{method: "POST", path: "/v2/app/blobs/uploads/?mount=" + d.String() + "&from=other"}).expect(t, http.StatusAccepted, "")
}

// TestCondemnedLinkClaimedByManifestPut walks the link deletion protocol
// step by step with a manifest put between the mark and the deletion.
func TestCondemnedLinkClaimedByManifestPut(t *testing.T) {
	e := newGCEnv(t, "app")
	ctx := context.Background()
	cfg := e.pushBlob("app", []byte(`{}`))
	layer := e.pushBlob("app", randomBytes(100))
	e.clock.Add(2 * testGrace)
	links, err := e.cat.links(ctx, repoID("app"))
	if err != nil || len(links) != 2 {
		t.Fatalf("links %v, %v", links, err)
	}
	// The sweep's mark, as deleteUnusedLinks makes it.
	var marked []linkEntry
	for _, l := range links {
		l.link.Condemned = true
		rev, err := e.cat.store.Txn(ctx, store.Txn{
			If:   []store.Compare{{Key: ecrstate.BlobKey(repoID("app"), l.link.Digest), ModRevision: l.rev}},
			Then: []store.Op{store.Put(ecrstate.BlobKey(repoID("app"), l.link.Digest), mustJSON(l.link))},
		})
		if err != nil {
			t.Fatal(err)
		}
		marked = append(marked, linkEntry{link: l.link, rev: rev})
	}
	// A client that HEADed before the mark now puts its manifest.
	e.image("app", "v1", cfg, layer)
	for _, l := range marked {
		_, err := e.cat.store.Txn(ctx, store.Txn{
			If:   []store.Compare{{Key: ecrstate.BlobKey(repoID("app"), l.link.Digest), ModRevision: l.rev}},
			Then: []store.Op{store.Delete(ecrstate.BlobKey(repoID("app"), l.link.Digest))},
		})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("deletion after the manifest put claimed the link: %v", err)
		}
		got, err := e.cat.Blob(ctx, repoID("app"), l.link.Digest)
		if err != nil || got.Condemned {
			t.Fatalf("link %s after the put: %+v, %v", l.link.Digest, got, err)
		}
	}
	if rep := e.sweep(false); len(rep.Links)+len(rep.Blobs) != 0 {
		t.Fatalf("referenced content collected: %v %v", linkNames(rep.Links), blobNames(rep.Blobs))
	}

	// And a put after the deletion fails cleanly.
	orphan := e.pushBlob("app", randomBytes(100))
	e.clock.Add(2 * testGrace)
	e.sweep(false)
	config := cfg
	config.MediaType = ocispec.MediaTypeImageConfig
	orphan.MediaType = ocispec.MediaTypeImageLayerGzip
	body := mustJSON(ocispec.Manifest{Versioned: ocispecVersioned(), MediaType: ocispec.MediaTypeImageManifest, Config: config, Layers: []ocispec.Descriptor{orphan}})
	e.putManifest("app", "v2", body).expect(t, http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN")
}

func TestGCExpiresUploadSessions(t *testing.T) {
	e := newGCEnv(t, "app")
	loc := e.do(req{method: "POST", path: "/v2/app/blobs/uploads/"}).expect(t, http.StatusAccepted, "").header.Get("Location")
	e.do(req{method: "PATCH", path: loc, body: []byte("abc")}).expect(t, http.StatusAccepted, "")
	e.clock.Add(23 * time.Hour)
	if rep := e.sweep(false); len(rep.Uploads) != 0 {
		t.Fatalf("young session expired: %+v", rep.Uploads)
	}
	e.clock.Add(2 * time.Hour)
	dry := e.sweep(true)
	if len(dry.Uploads) != 1 || dry.Uploads[0].Kind != UploadKindOCI || dry.Uploads[0].Size != 3 || dry.Totals.UploadBytes != 3 {
		t.Fatalf("dry run uploads: %+v", dry.Uploads)
	}
	e.do(req{method: "GET", path: loc}).expect(t, http.StatusNoContent, "")
	e.clock.Add(25 * time.Hour) // the GET above is not activity
	rep := e.sweep(false)
	if len(rep.Uploads) != 1 || rep.Uploads[0].ID != dry.Uploads[0].ID {
		t.Fatalf("uploads: %+v", rep.Uploads)
	}
	e.do(req{method: "PATCH", path: loc, body: []byte("d")}).expect(t, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
}

func TestGCSessionSweepers(t *testing.T) {
	e := newGCEnv(t, "app")
	ctx := context.Background()
	up, err := e.blobs.NewUpload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	e.gc.sweepers = []SessionSweeper{func(ctx context.Context, expired func(string) bool, dryRun bool) ([]GCUpload, error) {
		asked = append(asked, fmt.Sprint(expired(up.ID()), dryRun))
		if !expired(up.ID()) {
			return nil, nil
		}
		return []GCUpload{{Kind: UploadKindECR, ID: "ecr-id", Repository: "app", BlobUpload: up.ID()}}, nil
	}}
	e.sweep(false)
	e.clock.Add(25 * time.Hour)
	rep := e.sweep(false)
	if !slices.Equal(asked, []string{"false false", "true false"}) {
		t.Fatalf("sweeper asked %v", asked)
	}
	// The blob session behind an ECR upload is reported once, as ECR's.
	if len(rep.Uploads) != 1 || rep.Uploads[0].Kind != UploadKindECR || rep.Uploads[0].ID != "ecr-id" || rep.Uploads[0].LastActivityAt.IsZero() {
		t.Fatalf("uploads: %+v", rep.Uploads)
	}
}

func TestGCAdminEndpoint(t *testing.T) {
	e := newGCEnv(t, "app")
	e.pushBlob("app", randomBytes(10))
	e.clock.Add(2 * testGrace)
	srv := httptest.NewServer(e.gc.Handler("secret"))
	t.Cleanup(srv.Close)
	client := admin.Client{BaseURL: srv.URL, AdminSecret: "secret"}
	var rep GCReport
	if err := client.PostJSON(context.Background(), GCPath, GCPurpose, GCRequest{DryRun: true}, &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.DryRun || rep.Totals.Blobs != 1 || rep.Totals.Links != 1 || rep.Totals.Bytes != 10 {
		t.Fatalf("dry run report: %+v", rep)
	}
	wrong := admin.Client{BaseURL: srv.URL, AdminSecret: "nope"}
	if err := wrong.PostJSON(context.Background(), GCPath, GCPurpose, GCRequest{}, &rep); err == nil {
		t.Fatal("wrong secret accepted")
	}
	if err := client.PostJSON(context.Background(), GCPath, GCPurpose, GCRequest{}, &rep); err != nil || rep.DryRun || rep.Totals.Blobs != 1 {
		t.Fatalf("sweep: %+v, %v", rep, err)
	}
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			got[mf.GetName()] += m.GetCounter().GetValue() + float64(m.GetHistogram().GetSampleCount())
		}
	}
	for name, want := range map[string]float64{
		"berth_registry_gc_sweeps_total":             2,
		"berth_registry_gc_sweep_duration_seconds":   2,
		"berth_registry_gc_blobs_deleted_total":      1,
		"berth_registry_gc_blob_bytes_deleted_total": 10,
		"berth_registry_gc_links_deleted_total":      1,
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
}

func TestGCRunSweepsOnItsInterval(t *testing.T) {
	e := newGCEnv(t, "app")
	d := e.pushBlob("app", randomBytes(100)).Digest
	e.clock.Add(2 * testGrace)
	e.gc.interval = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.gc.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for slices.Contains(e.stored(), d) {
		if time.Now().After(deadline) {
			t.Fatal("the background sweep did not collect the orphan")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	e.gc.interval = 0
	if err := e.gc.Run(context.Background()); err != nil {
		t.Fatalf("Run disabled: %v", err)
	}
}
