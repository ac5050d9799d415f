package scan_test

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"

	"github.com/berth/berth/internal/blob/local"
	"github.com/berth/berth/internal/ecr/ecrstate"
	"github.com/berth/berth/internal/registry"
	"github.com/berth/berth/internal/scan"
	"github.com/berth/berth/internal/scan/scantest"
	"github.com/berth/berth/internal/vulndb"
)

// diff describes how got differs from want, "" when equal.
func diff(want, got any) string {
	if reflect.DeepEqual(want, got) {
		return ""
	}
	w, _ := json.MarshalIndent(want, "", "  ")
	g, _ := json.MarshalIndent(got, "", "  ")
	return "want: " + string(w) + "\ngot:  " + string(g)
}

func newStore(t *testing.T) *local.Store {
	t.Helper()
	s, err := local.Open(t.TempDir(), local.Options{Key: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// inspect stores img in a fresh blob store and scans it.
func inspect(t *testing.T, img v1.Image) (ecrstate.Inventory, error) {
	t.Helper()
	blobs := newStore(t)
	mediaType, manifest := scantest.Store(t, blobs, img)
	return scan.Inspect(context.Background(), blobs, mediaType, manifest, scan.Options{TempDir: t.TempDir()})
}

func mustInspect(t *testing.T, img v1.Image) ecrstate.Inventory {
	t.Helper()
	inv, err := inspect(t, img)
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	return inv
}

var debianOSRelease = []byte(`PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
`)

func TestDebianDpkgStatus(t *testing.T) {
	status := scantest.DpkgStatus(
		scantest.DpkgPackage{Name: "bash", Version: "5.2.15-2+b2"},
		scantest.DpkgPackage{Name: "libc6", Version: "2.36-9+deb12u4", Source: "glibc"},
		scantest.DpkgPackage{Name: "libssl3", Version: "3.0.11-1~deb12u2+b1", Source: "openssl (3.0.11-1~deb12u2)"},
		scantest.DpkgPackage{Name: "removed-pkg", Version: "1.0-1", Status: "deinstall ok config-files"},
		scantest.DpkgPackage{Name: "half", Version: "1.0-1", Status: "install ok half-configured"},
		scantest.DpkgPackage{Name: "held", Version: "2.0-1", Source: "held", Status: "hold ok installed"},
	)
	img := scantest.Image(t,
		scantest.Layer(t,
			// The usual layout: /etc/os-release links to /usr/lib/os-release.
			scantest.File{Path: "etc", Type: tar.TypeDir},
			scantest.File{Path: "etc/os-release", Type: tar.TypeSymlink, Link: "../usr/lib/os-release"},
			scantest.File{Path: "usr/lib/os-release", Content: debianOSRelease},
			scantest.File{Path: "var/lib/dpkg/status", Content: status},
			scantest.Executable("usr/bin/script", bytes.Repeat([]byte("#!/bin/sh\necho hi\n"), 10000)),
		),
	)
	inv := mustInspect(t, img)
	loc := "/var/lib/dpkg/status"
	want := ecrstate.Inventory{OS: "debian 12", Platform: "linux/amd64", Packages: []vulndb.Package{
		{Ecosystem: "Debian:12", Name: "bash", Version: "5.2.15-2+b2", Location: loc},
		{Ecosystem: "Debian:12", Name: "held", Version: "2.0-1", Location: loc},
		{Ecosystem: "Debian:12", Name: "libc6", Version: "2.36-9+deb12u4", SourceName: "glibc", SourceVersion: "2.36-9+deb12u4", Location: loc},
		{Ecosystem: "Debian:12", Name: "libssl3", Version: "3.0.11-1~deb12u2+b1", SourceName: "openssl", SourceVersion: "3.0.11-1~deb12u2", Location: loc},
	}}
	if diff := diff(want, inv); diff != "" {
		t.Errorf("inventory :\n%s", diff)
	}
}

func TestDistrolessStatusD(t *testing.T) {
	img := scantest.Image(t,
		scantest.Layer(t,
			scantest.File{Path: "etc/os-release", Content: debianOSRelease},
			scantest.File{Path: "var/lib/dpkg/status.d/base", Content: scantest.DpkgStatus(scantest.DpkgPackage{Name: "base-files", Version: "12.4+deb12u5", Status: "-"})},
			scantest.File{Path: "var/lib/dpkg/status.d/base.md5sums", Content: []byte("d41d8cd98f00b204e9800998ecf8427e  etc/debian_version\n")},
		),
		scantest.Layer(t,
			scantest.File{Path: "var/lib/dpkg/status.d/libssl3", Content: scantest.DpkgStatus(scantest.DpkgPackage{Name: "libssl3", Version: "3.0.11-1~deb12u2", Source: "openssl", Status: "-"})},
			scantest.File{Path: "var/lib/dpkg/status.d/tzdata", Content: scantest.DpkgStatus(scantest.DpkgPackage{Name: "tzdata", Version: "2024a-0+deb12u1", Status: "-"})},
		),
	)
	inv := mustInspect(t, img)
	want := []vulndb.Package{
		{Ecosystem: "Debian:12", Name: "base-files", Version: "12.4+deb12u5", Location: "/var/lib/dpkg/status.d/base"},
		{Ecosystem: "Debian:12", Name: "libssl3", Version: "3.0.11-1~deb12u2", SourceName: "openssl", SourceVersion: "3.0.11-1~deb12u2", Location: "/var/lib/dpkg/status.d/libssl3"},
		{Ecosystem: "Debian:12", Name: "tzdata", Version: "2024a-0+deb12u1", Location: "/var/lib/dpkg/status.d/tzdata"},
	}
	if diff := diff(want, inv.Packages); diff != "" {
		t.Errorf("packages :\n%s", diff)
	}
}

func TestAlpineApk(t *testing.T) {
	img := scantest.Image(t,
		scantest.Layer(t,
			scantest.File{Path: "etc/os-release", Content: []byte("NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.1\nPRETTY_NAME=\"Alpine Linux v3.20\"\n")},
			scantest.File{Path: "lib/apk/db/installed", Content: scantest.ApkInstalled(
				scantest.ApkPackage{Name: "musl", Version: "1.2.5-r0", Origin: "musl"},
				scantest.ApkPackage{Name: "libcrypto3", Version: "3.3.1-r0", Origin: "openssl"},
				scantest.ApkPackage{Name: "busybox", Version: "1.36.1-r29"},
			)},
		),
	)
	inv := mustInspect(t, img)
	loc := "/lib/apk/db/installed"
	want := ecrstate.Inventory{OS: "alpine 3.20.1", Platform: "linux/amd64", Packages: []vulndb.Package{
		{Ecosystem: "Alpine:v3.20", Name: "busybox", Version: "1.36.1-r29", Location: loc},
		{Ecosystem: "Alpine:v3.20", Name: "libcrypto3", Version: "3.3.1-r0", SourceName: "openssl", Location: loc},
		{Ecosystem: "Alpine:v3.20", Name: "musl", Version: "1.2.5-r0", Location: loc},
	}}
	if diff := diff(want, inv); diff != "" {
		t.Errorf("inventory :\n%s", diff)
	}
}

func TestWhiteouts(t *testing.T) {
	osRelease := scantest.File{Path: "etc/os-release", Content: debianOSRelease}
	status := func(name string) scantest.File {
		return scantest.File{Path: "var/lib/dpkg/status", Content: scantest.DpkgStatus(scantest.DpkgPackage{Name: name, Version: "1.0-1"})}
	}
	t.Run("deleted status", func(t *testing.T) {
		img := scantest.Image(t,
			scantest.Layer(t, osRelease, status("old")),
			scantest.Layer(t, scantest.Whiteout("var/lib/dpkg/status")),
		)
		if _, err := inspect(t, img); !errors.Is(err, scan.ErrUnsupportedImage) {
			t.Fatalf("err = %v, want ErrUnsupportedImage", err)
		}
	})
	t.Run("deleted directory", func(t *testing.T) {
		img := scantest.Image(t,
			scantest.Layer(t, osRelease, status("old")),
			scantest.Layer(t, scantest.Whiteout("var/lib/dpkg")),
		)
		if _, err := inspect(t, img); !errors.Is(err, scan.ErrUnsupportedImage) {
			t.Fatalf("err = %v, want ErrUnsupportedImage", err)
		}
	})
	t.Run("opaque directory replaced in the same layer", func(t *testing.T) {
		img := scantest.Image(t,
			scantest.Layer(t, osRelease, status("old"),
				scantest.File{Path: "var/lib/dpkg/status.d/other", Content: scantest.DpkgStatus(scantest.DpkgPackage{Name: "other", Version: "1", Status: "-"})}),
			scantest.Layer(t, scantest.OpaqueWhiteout("var/lib/dpkg"), status("new")),
		)
		inv := mustInspect(t, img)
		if len(inv.Packages) != 1 || inv.Packages[0].Name != "new" {
			t.Fatalf("packages = %+v, want only \"new\"", inv.Packages)
		}
	})
	t.Run("replaced then deleted then recreated", func(t *testing.T) {
		img := scantest.Image(t,
			scantest.Layer(t, osRelease, status("first")),
			scantest.Layer(t, status("second")),
			scantest.Layer(t, scantest.Whiteout("var/lib/dpkg/status")),
			scantest.Layer(t, status("third")),
		)
		inv := mustInspect(t, img)
		if len(inv.Packages) != 1 || inv.Packages[0].Name != "third" {
			t.Fatalf("packages = %+v, want only \"third\"", inv.Packages)
		}
	})
	t.Run("file replaced by a symlink", func(t *testing.T) {
		img := scantest.Image(t,
			scantest.Layer(t, osRelease, status("old")),
			scantest.Layer(t, scantest.File{Path: "var/lib/dpkg/status", Type: tar.TypeSymlink, Link: "/nowhere"}),
		)
		if _, err := inspect(t, img); !errors.Is(err, scan.ErrUnsupportedImage) {
			t.Fatalf("err = %v, want ErrUnsupportedImage", err)
		}
	})
}

func TestGoBinary(t *testing.T) {
	bin := scantest.GoBinary(t)
	info, err := buildinfo.Read(bytes.NewReader(bin))
	if err != nil {
		t.Fatal(err)
	}
	stdlib := "v" + strings.TrimPrefix(strings.Fields(info.GoVersion)[0], "go")
	if strings.Count(stdlib, ".") == 1 {
		stdlib += ".0"
	}
	loc := "/usr/local/bin/vulnapp"
	want := []vulndb.Package{
		{Ecosystem: "Go", Name: scantest.VulnAppTextModule, Version: scantest.VulnAppTextVersion, Location: loc},
		{Ecosystem: "Go", Name: "stdlib", Version: stdlib, Location: loc},
	}

	t.Run("alone", func(t *testing.T) {
		img := scantest.Image(t, scantest.Layer(t, scantest.Executable("usr/local/bin/vulnapp", bin)))
		inv := mustInspect(t, img)
		if diff := diff(want, inv.Packages); diff != "" {
			t.Errorf("packages :\n%s", diff)
		}
		if inv.OS != "" {
			t.Errorf("OS = %q, want none", inv.OS)
		}
	})
	t.Run("not executable", func(t *testing.T) {
		img := scantest.Image(t, scantest.Layer(t, scantest.File{Path: "usr/local/bin/vulnapp", Content: bin}))
		if _, err := inspect(t, img); !errors.Is(err, scan.ErrUnsupportedImage) {
			t.Fatalf("err = %v, want ErrUnsupportedImage", err)
		}
	})
	t.Run("deleted with its directory", func(t *testing.T) {
		img := scantest.Image(t,
			scantest.Layer(t, scantest.Executable("usr/local/bin/vulnapp", bin), scantest.Executable("app/vulnapp", bin)),
			scantest.Layer(t, scantest.Whiteout("usr/local")),
		)
		inv := mustInspect(t, img)
		for _, p := range inv.Packages {
			if p.Location != "/app/vulnapp" {
				t.Errorf("package %+v from a deleted binary", p)
			}
		}
		if len(inv.Packages) != 2 {
			t.Errorf("packages = %+v, want the two of /app/vulnapp", inv.Packages)
		}
	})
}

func TestNothingToScan(t *testing.T) {
	img := scantest.Image(t, scantest.Layer(t,
		scantest.File{Path: "etc/os-release", Content: debianOSRelease},
		scantest.File{Path: "srv/index.html", Content: []byte("<h1>hi</h1>")},
		scantest.Executable("usr/bin/tool", append([]byte("\x7fELF"), make([]byte, 100<<10)...)),
	))
	if _, err := inspect(t, img); !errors.Is(err, scan.ErrUnsupportedImage) {
		t.Fatalf("err = %v, want ErrUnsupportedImage", err)
	}
	if _, err := inspect(t, scantest.Image(t)); !errors.Is(err, scan.ErrUnsupportedImage) {
		t.Fatalf("empty image: err = %v, want ErrUnsupportedImage", err)
	}
}

// TestArtifact: a manifest whose config is not an image config (a Helm
// chart, a signature) is no image.
func TestArtifact(t *testing.T) {
	blobs := newStore(t)
	cfg := scantest.PutBlob(t, blobs, []byte(`{}`))
	manifest := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"config":{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":"` + cfg.String() + `","size":2},"layers":[]}`)
	_, err := scan.Inspect(context.Background(), blobs, "application/vnd.oci.image.manifest.v1+json", manifest, scan.Options{TempDir: t.TempDir()})
	if !errors.Is(err, scan.ErrUnsupportedImage) {
		t.Fatalf("err = %v, want ErrUnsupportedImage", err)
	}
}

// TestCompressions stores an OCI manifest by hand: a zstd layer and an
// uncompressed one.
func TestCompressions(t *testing.T) {
	blobs := newStore(t)
	first, err := scantest.Tar(
		scantest.File{Path: "etc/os-release", Content: []byte("NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.0\n")},
		scantest.File{Path: "lib/apk/db/installed", Content: scantest.ApkInstalled(scantest.ApkPackage{Name: "musl", Version: "1.2.4-r2"})},
	)
	if err != nil {
		t.Fatal(err)
	}
	var zbuf bytes.Buffer
	zw, err := zstd.NewWriter(&zbuf)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(first)
	zw.Close()
	second, err := scantest.Tar(scantest.File{Path: "lib/apk/db/installed", Content: scantest.ApkInstalled(scantest.ApkPackage{Name: "musl", Version: "1.2.4-r3"})})
	if err != nil {
		t.Fatal(err)
	}
	cfg := []byte(`{"architecture":"arm64","variant":"v8","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	desc := func(mediaType string, data []byte) string {
		d := scantest.PutBlob(t, blobs, data)
		b, _ := json.Marshal(map[string]any{"mediaType": mediaType, "digest": d, "size": len(data)})
		return string(b)
	}
	manifest := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":` +
		desc("application/vnd.oci.image.config.v1+json", cfg) + `,"layers":[` +
		desc("application/vnd.oci.image.layer.v1.tar+zstd", zbuf.Bytes()) + `,` +
		desc("application/vnd.oci.image.layer.v1.tar", second) + `]}`)
	inv, err := scan.Inspect(context.Background(), blobs, "", manifest, scan.Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	want := ecrstate.Inventory{OS: "alpine 3.19.0", Platform: "linux/arm64/v8", Packages: []vulndb.Package{
		{Ecosystem: "Alpine:v3.19", Name: "musl", Version: "1.2.4-r3", Location: "/lib/apk/db/installed"},
	}}
	if diff := diff(want, inv); diff != "" {
		t.Errorf("inventory :\n%s", diff)
	}
}

// The registry's catalog resolves an index's children.
var _ scan.Manifests = (*registry.Catalog)(nil)

type manifestMap map[digest.Digest]ecrstate.Image

func (m manifestMap) Image(_ context.Context, repo ecrstate.RepositoryID, reference string) (ecrstate.Image, error) {
	img, ok := m[digest.Digest(reference)]
	if !ok || img.Repository != repo.Name {
		return ecrstate.Image{}, registry.ErrImageNotFound
	}
	return img, nil
}

func TestIndexPicksPlatform(t *testing.T) {
	blobs := newStore(t)
	apkImage := func(version, arch string) v1.Image {
		img := scantest.Image(t, scantest.Layer(t,
			scantest.File{Path: "etc/os-release", Content: []byte("ID=alpine\nVERSION_ID=3.20.0\n")},
			scantest.File{Path: "lib/apk/db/installed", Content: scantest.ApkInstalled(scantest.ApkPackage{Name: "musl", Version: version})},
		))
		cfg, _ := img.ConfigFile()
		cfg = cfg.DeepCopy()
		cfg.Architecture = arch
		img, err := mutate.ConfigFile(img, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	manifests := manifestMap{}
	var adds []mutate.IndexAddendum
	for _, c := range []struct{ version, arch string }{{"1.0-r0", "arm64"}, {"2.0-r0", "amd64"}} {
		img := apkImage(c.version, c.arch)
		mediaType, manifest := scantest.Store(t, blobs, img)
		d := digest.FromBytes(manifest)
		manifests[d] = ecrstate.Image{Repository: "app", Digest: d, MediaType: mediaType, Manifest: manifest}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: c.arch}}})
	}
	index := mutate.AppendManifests(empty.Index, adds...)
	raw, err := index.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	mt, _ := index.MediaType()
	img := ecrstate.Image{Repository: "app", Digest: digest.FromBytes(raw), MediaType: string(mt), Manifest: raw}

	for _, tc := range []struct {
		platform, version, arch string
	}{{"", "2.0-r0", "amd64"}, {"linux/arm64", "1.0-r0", "arm64"}, {"linux/s390x", "1.0-r0", "arm64"}} {
		s := scan.NewScanner(blobs, manifests, scan.Options{Platform: tc.platform, TempDir: t.TempDir()})
		inv, err := s.Inspect(context.Background(), ecrstate.RepositoryID{Region: "us-east-1", Name: img.Repository}, img)
		if err != nil {
			t.Fatalf("platform %q: %v", tc.platform, err)
		}
		if len(inv.Packages) != 1 || inv.Packages[0].Version != tc.version || inv.Platform != "linux/"+tc.arch {
			t.Errorf("platform %q: inventory %+v, want musl %s from linux/%s", tc.platform, inv, tc.version, tc.arch)
		}
		if _, ok := manifests[digest.Digest(inv.Digest)]; !ok {
			t.Errorf("platform %q: Digest %q is not a child", tc.platform, inv.Digest)
		}
	}
}

func TestLimitsAndCancel(t *testing.T) {
	img := scantest.Image(t, scantest.Layer(t,
		scantest.File{Path: "etc/os-release", Content: debianOSRelease},
		scantest.File{Path: "var/lib/dpkg/status", Content: scantest.DpkgStatus(scantest.DpkgPackage{Name: "bash", Version: "5"})},
	))
	blobs := newStore(t)
	mediaType, manifest := scantest.Store(t, blobs, img)

	if _, err := scan.Inspect(context.Background(), blobs, mediaType, manifest, scan.Options{MaxDatabaseSize: 10, TempDir: t.TempDir()}); err == nil || errors.Is(err, scan.ErrUnsupportedImage) {
		t.Errorf("database over the limit: err = %v, want a failure", err)
	}
	if _, err := scan.Inspect(context.Background(), blobs, mediaType, manifest, scan.Options{MaxBytes: 512, TempDir: t.TempDir()}); err == nil || errors.Is(err, scan.ErrUnsupportedImage) {
		t.Errorf("layers over the limit: err = %v, want a failure", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := scan.Inspect(ctx, blobs, mediaType, manifest, scan.Options{TempDir: t.TempDir()}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v, want context.Canceled", err)
	}
	tmp := t.TempDir()
	if _, err := scan.Inspect(context.Background(), blobs, mediaType, manifest, scan.Options{TempDir: tmp}); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// rpmFixture returns a real rpm database from go-rpmdb's test data in the
// module cache.
func rpmFixture(t *testing.T, name string) []byte {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/erikvarga/go-rpmdb").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Skipf("go-rpmdb's module directory (its rpm database fixtures) is not available: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "pkg", "testdata", name))
	if err != nil {
		t.Skipf("rpm fixture: %v", err)
	}
	return data
}

func TestRPM(t *testing.T) {
	for _, tc := range []struct {
		name, fixture, path, osRelease string
		wantOS                         string
		want                           vulndb.Package
		count                          int
	}{{
		name: "sqlite", fixture: "fedora35/rpmdb.sqlite", path: "usr/lib/sysimage/rpm/rpmdb.sqlite",
		osRelease: "NAME=\"Fedora Linux\"\nVERSION=\"35 (Container Image)\"\nID=fedora\nVERSION_ID=35\n", wantOS: "fedora 35",
		want: vulndb.Package{Ecosystem: "Fedora Linux:35", Name: "libgcc", Version: "11.2.1-1.fc35", SourceName: "gcc", SourceVersion: "11.2.1-1.fc35", Location: "/usr/lib/sysimage/rpm/rpmdb.sqlite"},
	}, {
		name: "ndb", fixture: "sle15-bci/Packages.db", path: "usr/lib/sysimage/rpm/Packages.db",
		osRelease: "NAME=\"SLES\"\nVERSION=\"15-SP3\"\nVERSION_ID=\"15.3\"\nID=\"sles\"\n", wantOS: "sles 15.3",
		want: vulndb.Package{Ecosystem: "SUSE:Linux Enterprise Server 15 SP3", Name: "libpcre1", Version: "8.45-20.10.1", SourceName: "pcre", SourceVersion: "8.45-20.10.1", Location: "/usr/lib/sysimage/rpm/Packages.db"},
	}, {
		name: "berkeleydb", fixture: "libuuid/Packages", path: "var/lib/rpm/Packages",
		osRelease: "NAME=\"Red Hat Enterprise Linux\"\nVERSION=\"8.8 (Ootpa)\"\nID=\"rhel\"\nVERSION_ID=\"8.8\"\n", wantOS: "rhel 8.8",
		want:  vulndb.Package{Ecosystem: "Red Hat:8", Name: "libuuid", Version: "2.32.1-42.el8_8", SourceName: "util-linux", SourceVersion: "2.32.1-42.el8_8", Location: "/var/lib/rpm/Packages"},
		count: 1,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			db := rpmFixture(t, tc.fixture)
			img := scantest.Image(t, scantest.Layer(t,
				scantest.File{Path: "etc/os-release", Content: []byte(tc.osRelease)},
				scantest.File{Path: tc.path, Content: db},
			))
			inv := mustInspect(t, img)
			if inv.OS != tc.wantOS {
				t.Errorf("OS = %q, want %q", inv.OS, tc.wantOS)
			}
			if tc.count > 0 && len(inv.Packages) != tc.count {
				t.Errorf("%d packages, want %d", len(inv.Packages), tc.count)
			}
			if len(inv.Packages) < 2 && tc.count == 0 {
				t.Errorf("only %d packages", len(inv.Packages))
			}
			found := false
			for _, p := range inv.Packages {
				if p.Name == "gpg-pubkey" {
					t.Errorf("gpg-pubkey listed: %+v", p)
				}
				if p.Name == tc.want.Name {
					found = true
					if diff := diff(tc.want, p); diff != "" {
						t.Errorf("package :\n%s", diff)
					}
				}
			}
			if !found {
				t.Errorf("%s not found in %d packages", tc.want.Name, len(inv.Packages))
			}
		})
	}
}
