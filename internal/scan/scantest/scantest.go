// Package scantest builds container images for scanner tests, without a
// network: layers from in-memory files, package databases in the formats
// the scanner reads, a Go binary linking a module with a known
// vulnerability, and a helper storing an image's blobs in a blob.Store.
package scantest

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/opencontainers/go-digest"

	"github.com/berth/berth/internal/blob"
)

// File is one entry of a layer.
type File struct {
	// Path inside the image ("etc/os-release"; a leading "/" is dropped).
	Path string
	// Content of a regular file.
	Content []byte
	// Mode defaults to 0644 (0755 for directories).
	Mode int64
	// Type is a tar type flag; default tar.TypeReg. tar.TypeSymlink uses
	// Link as its target.
	Type byte
	Link string
}

// Whiteout is the entry that deletes path from lower layers.
func Whiteout(path string) File {
	dir, base := filepath.Split(strings.TrimPrefix(path, "/"))
	return File{Path: dir + ".wh." + base}
}

// OpaqueWhiteout is the entry that hides everything lower layers put in
// dir.
func OpaqueWhiteout(dir string) File {
	return File{Path: strings.TrimSuffix(strings.TrimPrefix(dir, "/"), "/") + "/.wh..wh..opq"}
}

// Executable is a regular file with mode 0755.
func Executable(path string, content []byte) File {
	return File{Path: path, Content: content, Mode: 0o755}
}

// Tar returns a tar archive of files (in order).
func Tar(files ...File) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, f := range files {
		hdr := &tar.Header{Name: strings.TrimPrefix(f.Path, "/"), Mode: f.Mode, ModTime: mtime, Typeflag: f.Type, Linkname: f.Link}
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
			if hdr.Typeflag == tar.TypeDir {
				hdr.Mode = 0o755
			}
		}
		if hdr.Typeflag == tar.TypeReg {
			hdr.Size = int64(len(f.Content))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := tw.Write(f.Content); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Layer is a gzip-compressed layer holding files.
func Layer(t testing.TB, files ...File) v1.Layer {
	t.Helper()
	data, err := Tar(files...)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Image is a linux/amd64 image of layers (bottom first) over an empty
// base, with a Docker v2 manifest as go-containerregistry makes.
func Image(t testing.TB, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	return img
}

// Store writes img's config and layers into blobs and returns its
// manifest and media type, as a push would leave them.
func Store(t testing.TB, blobs blob.Store, img v1.Image) (mediaType string, manifest []byte) {
	t.Helper()
	ctx := context.Background()
	cfg, err := img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	put(t, ctx, blobs, cfg)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		put(t, ctx, blobs, data)
	}
	mt, err := img.MediaType()
	if err != nil {
		t.Fatal(err)
	}
	manifest, err = img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	return string(mt), manifest
}

// PutBlob stores data in blobs under its digest.
func PutBlob(t testing.TB, blobs blob.Store, data []byte) digest.Digest {
	t.Helper()
	return put(t, context.Background(), blobs, data)
}

func put(t testing.TB, ctx context.Context, blobs blob.Store, data []byte) digest.Digest {
	t.Helper()
	d := digest.FromBytes(data)
	up, err := blobs.NewUpload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.WriteAt(ctx, bytes.NewReader(data), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := up.Commit(ctx, d); err != nil {
		t.Fatal(err)
	}
	return d
}

// OSRelease is an /etc/os-release file.
func OSRelease(id, versionID, version string) File {
	content := fmt.Sprintf("ID=%s\nVERSION_ID=%q\n", id, versionID)
	if version != "" {
		content += fmt.Sprintf("VERSION=%q\n", version)
	}
	return File{Path: "etc/os-release", Content: []byte(content)}
}

// DpkgPackage is one stanza of a dpkg status file.
type DpkgPackage struct {
	Name, Version string
	// Source is the Source field ("openssl" or "openssl (3.0.11-1)").
	Source string
	// Status defaults to "install ok installed"; "-" leaves the field out
	// (as distroless status.d files do).
	Status string
}

// DpkgStatus is a dpkg status file's content.
func DpkgStatus(pkgs ...DpkgPackage) []byte {
	var b strings.Builder
	for i, p := range pkgs {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "Package: %s\n", p.Name)
		switch p.Status {
		case "":
			b.WriteString("Status: install ok installed\n")
		case "-":
		default:
			fmt.Fprintf(&b, "Status: %s\n", p.Status)
		}
		b.WriteString("Priority: optional\nSection: libs\nInstalled-Size: 100\nMaintainer: Someone <someone@example.com>\nArchitecture: amd64\n")
		if p.Source != "" {
			fmt.Fprintf(&b, "Source: %s\n", p.Source)
		}
		fmt.Fprintf(&b, "Version: %s\nDescription: %s\n a multi-line\n .\n description\n", p.Version, p.Name)
	}
	return []byte(b.String())
}

// ApkPackage is one entry of apk's installed database.
type ApkPackage struct{ Name, Version, Origin string }

// ApkInstalled is lib/apk/db/installed's content.
func ApkInstalled(pkgs ...ApkPackage) []byte {
	var b strings.Builder
	for _, p := range pkgs {
		fmt.Fprintf(&b, "C:Q1abcdefghijklmnopqrstuvwxyz0123=\nP:%s\nV:%s\nA:x86_64\nS:1000\nI:2000\nT:%s package\nU:https://example.com\nL:MIT\n", p.Name, p.Version, p.Name)
		if p.Origin != "" {
			fmt.Fprintf(&b, "o:%s\n", p.Origin)
		}
		b.WriteString("m:Someone <someone@example.com>\nt:1700000000\nF:usr/lib\nR:lib" + p.Name + ".so\n\n")
	}
	return []byte(b.String())
}

// The module and version the GoBinary program links: golang.org/x/text
// v0.3.7 has GO-2022-1059 (fixed in v0.3.8).
const (
	VulnAppTextModule  = "golang.org/x/text"
	VulnAppTextVersion = "v0.3.7"
)

// GoBinary builds the testdata program (a linux/amd64 static binary
// linking golang.org/x/text v0.3.7) and returns it. It needs the go
// command and the module in the module cache or the Go module proxy.
func GoBinary(t testing.TB) []byte {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("building the Go test binary needs the go command: %v", err)
	}
	_, self, _, _ := runtime.Caller(0)
	src := filepath.Join(filepath.Dir(self), "testdata", "vulnapp")
	out := filepath.Join(t.TempDir(), "vulnapp")
	cmd := exec.Command(goCmd, "build", "-trimpath", "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false", "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the Go test binary: %v\n%s", err, output)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
