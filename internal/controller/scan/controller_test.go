package scan

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth/berth/internal/ecr/ecrstate"
	"github.com/berth/berth/internal/registry"
	imagescan "github.com/berth/berth/internal/scan"
	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/store/bolt"
	"github.com/berth/berth/internal/vulndb"
)

// fakeInspector returns a fixed inventory per image and counts reads.
type fakeInspector struct {
	mu    sync.Mutex
	inv   map[digest.Digest]ecrstate.Inventory
	reads int
}

func (f *fakeInspector) Inspect(_ context.Context, _ ecrstate.RepositoryID, img ecrstate.Image) (ecrstate.Inventory, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	inv, ok := f.inv[img.Digest]
	if !ok {
		return ecrstate.Inventory{}, imagescan.ErrUnsupportedImage
	}
	return inv, nil
}

func (f *fakeInspector) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

// fakeDB finds the vulnerabilities it is told a package name has.
type fakeDB struct {
	mu    sync.Mutex
	info  vulndb.Info
	vulns map[string][]string // package name -> ids
	// changed is the controller's DatabaseChanged, as the import endpoint
	// calls it.
	changed func()
}

func (f *fakeDB) set(info vulndb.Info, vulns map[string][]string) {
	f.mu.Lock()
	f.info, f.vulns = info, vulns
	changed := f.changed
	f.mu.Unlock()
	if changed != nil {
		changed()
	}
}

func (f *fakeDB) Info() (vulndb.Info, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.info, nil
}

func (f *fakeDB) Match(_ context.Context, pkgs []vulndb.Package) ([]vulndb.Finding, vulndb.Info, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []vulndb.Finding
	for _, p := range pkgs {
		for _, id := range f.vulns[p.Name] {
			out = append(out, vulndb.Finding{ID: id, Severity: "HIGH", Package: p})
		}
	}
	return out, f.info, nil
}

type harness struct {
	st      store.Store
	catalog *registry.Catalog
	insp    *fakeInspector
	db      *fakeDB
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &harness{
		st:      st,
		catalog: registry.NewCatalog(st, nil),
		insp:    &fakeInspector{inv: map[digest.Digest]ecrstate.Inventory{}},
		db:      &fakeDB{},
	}
}

func (h *harness) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := New(Config{
		Store: h.st, Catalog: h.catalog, Inspector: h.insp, Database: h.db,
		Logger: slog.New(slog.DiscardHandler), Resync: 50 * time.Millisecond,
	})
	h.db.mu.Lock()
	h.db.changed = c.DatabaseChanged
	h.db.mu.Unlock()
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// push stores an image holding the Debian packages pkgs in repo.
func (h *harness) push(t *testing.T, repo, name string, pkgs ...string) digest.Digest {
	t.Helper()
	inv := ecrstate.Inventory{OS: "debian 12"}
	for _, p := range pkgs {
		inv.Packages = append(inv.Packages, vulndb.Package{Ecosystem: "Debian:12", Name: p, Version: "1.0"})
	}
	return h.pushInventory(t, repo, name, inv)
}

// pushInventory stores an image in repo that the fake scanner finds inv in.
func (h *harness) pushInventory(t *testing.T, repo, name string, inv ecrstate.Inventory) digest.Digest {
	t.Helper()
	ctx := context.Background()
	config, layer := "config of "+name, "layer of "+name
	cd, ld := digest.FromString(config), digest.FromString(layer)
	for d, size := range map[digest.Digest]int{cd: len(config), ld: len(layer)} {
		if err := h.catalog.LinkBlob(ctx, repoID(repo), d, int64(size)); err != nil {
			t.Fatal(err)
		}
	}
	manifest := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":%d,"digest":"%s"},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":%d,"digest":"%s"}]}`, len(config), cd, len(layer), ld)
	// The inventory is known before the image is: a scan on push may
	// start at once.
	d := digest.FromString(manifest)
	h.insp.mu.Lock()
	h.insp.inv[d] = inv
	h.insp.mu.Unlock()
	res, err := h.catalog.PutManifest(ctx, repoID(repo), "latest", "", "", []byte(manifest))
	if err != nil {
		t.Fatal(err)
	}
	if res.Image.Digest != d {
		t.Fatalf("manifest digest %s, computed %s", res.Image.Digest, d)
	}
	return d
}

// waitRecord waits until the image's scan record satisfies ok.
func (h *harness) waitRecord(t *testing.T, repo string, d digest.Digest, what string, ok func(rec ecrstate.ScanRecord, found bool) bool) ecrstate.ScanRecord {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		rec, _, found, err := ecrstate.LoadScanRecord(context.Background(), h.st, repoID(repo), d)
		if err != nil {
			t.Fatal(err)
		}
		if ok(rec, found) {
			return rec
		}
		if time.Now().After(deadline) {
			b, _ := json.Marshal(rec)
			t.Fatalf("waiting for %s; record (found %v): %s", what, found, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ids(rec ecrstate.ScanRecord) []string {
	var out []string
	for _, f := range rec.Findings {
		out = append(out, f.ID)
	}
	return out
}

func TestControllerScansOnPushAndContinuously(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	h.db.set(vulndb.Info{Records: 1, Ecosystems: map[string]int{"Debian": 1}, UpdatedAt: t0}, map[string][]string{"openssl": {"CVE-1"}})
	if _, err := h.catalog.CreateRepository(ctx, repoID("app"), ecrstate.Repository{Name: "app", ScanOnPush: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.catalog.CreateRepository(ctx, repoID("manual"), ecrstate.Repository{Name: "manual"}); err != nil {
		t.Fatal(err)
	}
	h.start(t)

	d := h.push(t, "app", "one", "openssl", "zlib")
	rec := h.waitRecord(t, "app", d, "basic scan complete", func(r ecrstate.ScanRecord, found bool) bool { return found && r.Status == ecrstate.ScanComplete })
	if rec.ScanType != ecrstate.ScanTypeBasic || rec.Trigger != ecrstate.TriggerPush || rec.BasicStartedAt.IsZero() || rec.Inventory == nil || fmt.Sprint(ids(rec)) != "[CVE-1]" {
		t.Fatalf("record: %+v", rec)
	}
	manual := h.push(t, "manual", "two", "openssl")

	// The article's ENHANCED configuration: Inspector takes over, from the
	// kept inventory.
	cfg := ecrstate.ScanningConfig{ScanType: ecrstate.ScanTypeEnhanced, UpdatedAt: time.Now(), Rules: []ecrstate.ScanningRule{{ScanFrequency: ecrstate.FrequencyContinuousScan, Filters: []string{"*"}}}}
	b, _ := json.Marshal(cfg)
	if _, err := h.st.Txn(ctx, store.Txn{Then: []store.Op{store.Put(ecrstate.ScanningKey("us-east-1"), b)}}); err != nil {
		t.Fatal(err)
	}
	h.waitRecord(t, "app", d, "enhanced rescan", func(r ecrstate.ScanRecord, found bool) bool {
		return r.ScanType == ecrstate.ScanTypeEnhanced && r.Status == ecrstate.ScanComplete
	})
	// Continuous scanning covers the repository that was manual.
	h.waitRecord(t, "manual", manual, "enhanced scan", func(r ecrstate.ScanRecord, found bool) bool {
		return found && r.ScanType == ecrstate.ScanTypeEnhanced && r.Status == ecrstate.ScanComplete && r.Trigger == ecrstate.TriggerContinuous
	})
	reads := h.insp.count()
	if reads != 2 {
		t.Fatalf("inspector read %d images, want 2", reads)
	}

	// A database import: continuous images are matched again, not re-read.
	h.db.set(vulndb.Info{Records: 2, Ecosystems: map[string]int{"Debian": 2}, UpdatedAt: t0.Add(time.Hour)}, map[string][]string{"openssl": {"CVE-1"}, "zlib": {"CVE-2"}})
	rec = h.waitRecord(t, "app", d, "continuous rescan", func(r ecrstate.ScanRecord, found bool) bool { return len(r.Findings) == 2 })
	if !rec.Source.UpdatedAt.Equal(t0.Add(time.Hour)) || h.insp.count() != reads {
		t.Fatalf("rescan: source %+v, reads %d", rec.Source, h.insp.count())
	}
	if !rec.Findings[0].FirstObservedAt.Before(rec.Findings[1].FirstObservedAt) {
		t.Fatalf("first observed times: %+v", rec.Findings)
	}

	// Deleting the image deletes its scan record.
	if _, err := h.catalog.DeleteImage(ctx, repoID("app"), d, true); err != nil {
		t.Fatal(err)
	}
	h.waitRecord(t, "app", d, "record deleted", func(r ecrstate.ScanRecord, found bool) bool { return !found })
	// So does deleting the repository.
	if _, err := h.catalog.DeleteRepository(ctx, repoID("manual"), true); err != nil {
		t.Fatal(err)
	}
	h.waitRecord(t, "manual", manual, "record deleted with repository", func(r ecrstate.ScanRecord, found bool) bool { return !found })
}

func TestControllerRunsRecordedScansAndIsHonestAboutAnEmptyDatabase(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if _, err := h.catalog.CreateRepository(ctx, repoID("app"), ecrstate.Repository{Name: "app"}); err != nil {
		t.Fatal(err)
	}
	d := h.push(t, "app", "one", "openssl")
	unsupported := h.push(t, "app", "two")
	h.insp.mu.Lock()
	delete(h.insp.inv, unsupported)
	h.insp.mu.Unlock()
	// Scans asked for (StartImageScan) or left IN_PROGRESS by a server
	// that stopped: the controller runs them when it starts.
	for _, dg := range []digest.Digest{d, unsupported} {
		op, err := ecrstate.PutScanRecordOp("us-east-1", ecrstate.ScanRecord{Repository: "app", Digest: dg, ScanType: ecrstate.ScanTypeBasic, Trigger: ecrstate.TriggerManual, Status: ecrstate.ScanInProgress, RequestedAt: time.Now(), BasicStartedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.st.Txn(ctx, store.Txn{Then: []store.Op{op}}); err != nil {
			t.Fatal(err)
		}
	}
	h.start(t)
	rec := h.waitRecord(t, "app", d, "failed for the empty database", func(r ecrstate.ScanRecord, found bool) bool { return r.Status == ecrstate.ScanFailed })
	if !rec.EmptyDatabase || rec.Description != ecrstate.ScanEmptyDBDescription || len(rec.Findings) != 0 {
		t.Fatalf("empty database scan: %+v", rec)
	}
	h.waitRecord(t, "app", unsupported, "unsupported", func(r ecrstate.ScanRecord, found bool) bool {
		return r.Status == ecrstate.ScanUnsupported && r.Description == ecrstate.ScanUnsupportedDescription
	})
	// Records loaded: the scan completes by itself.
	h.db.set(vulndb.Info{Records: 5, Ecosystems: map[string]int{"Debian": 5}, ImportedAt: time.Now()}, map[string][]string{"openssl": {"CVE-9"}})
	rec = h.waitRecord(t, "app", d, "complete after the import", func(r ecrstate.ScanRecord, found bool) bool { return r.Status == ecrstate.ScanComplete })
	if fmt.Sprint(ids(rec)) != "[CVE-9]" || rec.EmptyDatabase || rec.ScanType != ecrstate.ScanTypeBasic {
		t.Fatalf("after import: %+v", rec)
	}
}

// TestControllerSaysWhatTheDatabaseCannotCheck: packages of an ecosystem
// the database holds no records of are not "clean". None checked fails
// the scan; some checked completes it with the rest named.
func TestControllerSaysWhatTheDatabaseCannotCheck(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.db.set(vulndb.Info{Records: 3, Ecosystems: map[string]int{"Go": 3}, ImportedAt: time.Now()}, nil)
	if _, err := h.catalog.CreateRepository(ctx, repoID("app"), ecrstate.Repository{Name: "app", ScanOnPush: true}); err != nil {
		t.Fatal(err)
	}
	h.start(t)

	d := h.push(t, "app", "debian only", "openssl", "zlib")
	rec := h.waitRecord(t, "app", d, "a failed scan", func(r ecrstate.ScanRecord, found bool) bool { return found && r.Status == ecrstate.ScanFailed })
	if rec.Unchecked["Debian"] != 2 || rec.EmptyDatabase ||
		!strings.HasPrefix(rec.Description, "VulnerabilityDatabaseIncomplete: ") || !strings.Contains(rec.Description, "2 Debian packages") {
		t.Fatalf("nothing checked: %+v", rec)
	}

	mixed := h.pushInventory(t, "app", "mixed", ecrstate.Inventory{OS: "debian 12", Packages: []vulndb.Package{
		{Ecosystem: "Debian:12", Name: "openssl", Version: "1.0"},
		{Ecosystem: "Go", Name: "golang.org/x/text", Version: "v0.3.7"},
	}})
	rec = h.waitRecord(t, "app", mixed, "a complete scan", func(r ecrstate.ScanRecord, found bool) bool { return found && r.Status == ecrstate.ScanComplete })
	if len(rec.Unchecked) != 1 || rec.Unchecked["Debian"] != 1 {
		t.Fatalf("partly checked: %+v", rec)
	}
}

// repoID is repository name in the region the tests work in.
func repoID(name string) ecrstate.RepositoryID {
	return ecrstate.RepositoryID{Region: "us-east-1", Name: name}
}
