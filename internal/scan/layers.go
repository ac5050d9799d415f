package scan

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"

	"github.com/berth/berth/internal/blob"
	"github.com/berth/berth/internal/vulndb"
)

// fileKind is what a file the scanner keeps is.
type fileKind int

const (
	kindOSRelease fileKind = iota + 1
	kindDebianVersion
	kindDpkgStatus
	kindDpkgStatusD
	kindApkInstalled
	kindRpmDB
	kindGoBinary
)

// Where package databases live (paths without the leading slash).
var (
	osReleasePaths     = []string{"etc/os-release", "usr/lib/os-release"}
	debianVersionPath  = "etc/debian_version"
	dpkgStatusPath     = "var/lib/dpkg/status"
	dpkgStatusDDir     = "var/lib/dpkg/status.d"
	apkInstalledPaths  = []string{"lib/apk/db/installed", "usr/lib/apk/db/installed"}
	rpmDirs            = []string{"usr/lib/sysimage/rpm", "var/lib/rpm"}
	rpmDatabaseFiles   = []string{"rpmdb.sqlite", "Packages.db", "Packages"} // preferred first
	rpmCompanionFiles  = []string{"rpmdb.sqlite-wal"}                        // read with the database
	elfMagic           = []byte("\x7fELF")
	minGoBinarySize    = int64(64 << 10) // no Go binary is smaller
	ctxCheckBytesBlock = 1 << 20
)

// kept is a file kept from the layers until the image's final filesystem
// is known: small databases in memory, rpm databases spilled to disk, Go
// binaries reduced to their modules at once (so a deleted binary costs
// nothing but its entry).
type kept struct {
	layer int
	kind  fileKind
	data  []byte
	file  string
	pkgs  []vulndb.Package
}

// walker applies an image's layers in order, keeping only the files the
// scanner reads and honouring whiteouts.
type walker struct {
	opts    Options
	dir     string
	files   map[string]*kept
	bin     *os.File // reused spill file for executables
	read    int64
	rpmDirs map[string]string // image dir -> spill dir
}

func newWalker(opts Options) (*walker, error) {
	dir, err := os.MkdirTemp(opts.TempDir, "berth-scan-")
	if err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	return &walker{opts: opts, dir: dir, files: map[string]*kept{}, rpmDirs: map[string]string{}}, nil
}

func (w *walker) close() {
	if w.bin != nil {
		w.bin.Close()
	}
	os.RemoveAll(w.dir)
}

// layer applies layer number index, the blob d.
func (w *walker) layer(ctx context.Context, blobs blob.Store, index int, d digest.Digest) error {
	r, err := blobs.Open(ctx, d)
	if err != nil {
		return err
	}
	defer r.Close()
	content, closeContent, err := decompress(r)
	if err != nil {
		return err
	}
	defer closeContent()
	tr := tar.NewReader(&boundedReader{ctx: ctx, r: content, read: &w.read, max: w.opts.MaxBytes})
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := w.entry(index, hdr, tr); err != nil {
			return err
		}
	}
}

// entry applies one tar entry of layer index.
func (w *walker) entry(index int, hdr *tar.Header, content io.Reader) error {
	name, ok := cleanPath(hdr.Name)
	if !ok {
		return nil
	}
	dir, base := path.Split(name)
	dir = strings.TrimSuffix(dir, "/")
	switch {
	case base == ".wh..wh..opq":
		// An opaque directory hides everything lower layers put in it.
		w.remove(index, func(p string) bool { return dir == "" || strings.HasPrefix(p, dir+"/") })
		return nil
	case strings.HasPrefix(base, ".wh."):
		target := path.Join(dir, strings.TrimPrefix(base, ".wh."))
		w.remove(index, func(p string) bool { return p == target || strings.HasPrefix(p, target+"/") })
		return nil
	case hdr.Typeflag == tar.TypeDir:
		// Directories merge; one only replaces a file at its path.
		w.remove(index, func(p string) bool { return p == name })
		return nil
	}
	// Anything else replaces what lower layers had at (and under) its path.
	w.remove(index, func(p string) bool { return p == name || strings.HasPrefix(p, name+"/") })
	if hdr.Typeflag != tar.TypeReg { // tar.Reader reports old TypeRegA entries as TypeReg

		return nil
	}
	kind := classify(name, hdr)
	if kind == 0 {
		return nil
	}
	return w.keep(index, name, kind, hdr, content)
}

// remove forgets kept files of layers below index whose path matches.
func (w *walker) remove(index int, match func(string) bool) {
	for p, k := range w.files {
		if k.layer < index && match(p) {
			w.forget(p)
		}
	}
}

func (w *walker) forget(p string) {
	if k, ok := w.files[p]; ok {
		if k.file != "" {
			os.Remove(k.file)
		}
		delete(w.files, p)
	}
}

func classify(name string, hdr *tar.Header) fileKind {
	dir, base := path.Split(name)
	dir = strings.TrimSuffix(dir, "/")
	switch {
	case slices.Contains(osReleasePaths, name):
		return kindOSRelease
	case name == debianVersionPath:
		return kindDebianVersion
	case name == dpkgStatusPath:
		return kindDpkgStatus
	case dir == dpkgStatusDDir && !strings.HasSuffix(base, ".md5sums") && !strings.HasPrefix(base, "."):
		return kindDpkgStatusD
	case slices.Contains(apkInstalledPaths, name):
		return kindApkInstalled
	case slices.Contains(rpmDirs, dir) && (slices.Contains(rpmDatabaseFiles, base) || slices.Contains(rpmCompanionFiles, base)):
		return kindRpmDB
	case hdr.Mode&0o111 != 0 && hdr.Size >= minGoBinarySize:
		return kindGoBinary
	}
	return 0
}

func (w *walker) keep(index int, name string, kind fileKind, hdr *tar.Header, content io.Reader) error {
	w.forget(name) // an earlier copy in the same layer
	switch kind {
	case kindGoBinary:
		pkgs, err := w.goBinary(name, hdr, content)
		if err != nil || pkgs == nil {
			return err
		}
		w.files[name] = &kept{layer: index, kind: kind, pkgs: pkgs}
		return nil
	case kindRpmDB:
		if hdr.Size > w.opts.MaxDatabaseSize {
			return fmt.Errorf("/%s is %d bytes, more than the %d the scanner reads", name, hdr.Size, w.opts.MaxDatabaseSize)
		}
		file, err := w.spillRPM(name, content)
		if err != nil {
			return err
		}
		w.files[name] = &kept{layer: index, kind: kind, file: file}
		return nil
	}
	if hdr.Size > w.opts.MaxDatabaseSize {
		return fmt.Errorf("/%s is %d bytes, more than the %d the scanner reads", name, hdr.Size, w.opts.MaxDatabaseSize)
	}
	data, err := io.ReadAll(io.LimitReader(content, w.opts.MaxDatabaseSize))
	if err != nil {
		return err
	}
	w.files[name] = &kept{layer: index, kind: kind, data: data}
	return nil
}

// spillRPM writes an rpm database file to disk (the rpm readers open
// files), keeping a database and its write-ahead log side by side.
func (w *walker) spillRPM(name string, content io.Reader) (string, error) {
	dir, base := path.Split(name)
	spillDir, ok := w.rpmDirs[dir]
	if !ok {
		spillDir = filepath.Join(w.dir, "rpm"+strconv.Itoa(len(w.rpmDirs)))
		if err := os.Mkdir(spillDir, 0o700); err != nil {
			return "", err
		}
		w.rpmDirs[dir] = spillDir
	}
	file := filepath.Join(spillDir, base)
	f, err := os.OpenFile(file, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return "", err
	}
	_, err = io.Copy(f, content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(file)
		return "", err
	}
	return file, nil
}

// goBinary reads the Go build information of an executable, if it is an
// ELF Go binary; nil packages otherwise.
func (w *walker) goBinary(name string, hdr *tar.Header, content io.Reader) ([]vulndb.Package, error) {
	if hdr.Size > w.opts.MaxBinarySize {
		w.opts.Logger.Debug("scan: executable too large to examine", "path", "/"+name, "size", hdr.Size)
		return nil, nil
	}
	magic := make([]byte, len(elfMagic))
	if _, err := io.ReadFull(content, magic); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	if !bytes.Equal(magic, elfMagic) {
		return nil, nil
	}
	// debug/buildinfo needs random access: spill to the reused file.
	if w.bin == nil {
		f, err := os.CreateTemp(w.dir, "bin-")
		if err != nil {
			return nil, err
		}
		w.bin = f
	}
	if err := w.bin.Truncate(0); err != nil {
		return nil, err
	}
	if _, err := w.bin.WriteAt(magic, 0); err != nil {
		return nil, err
	}
	if _, err := w.bin.Seek(int64(len(magic)), io.SeekStart); err != nil {
		return nil, err
	}
	if _, err := io.Copy(w.bin, content); err != nil {
		return nil, err
	}
	return goModules(w.bin, "/"+name), nil
}

// cleanPath turns a tar entry name into a clean relative path; ok is false
// for the root and for names escaping it.
func cleanPath(name string) (string, bool) {
	p := path.Clean("/" + name)
	if p == "/" {
		return "", false
	}
	return strings.TrimPrefix(p, "/"), true
}

// decompress detects the layer's compression from its first bytes (media
// types lie: Docker's "tar.gzip" layers may be zstd and "tar" ones gzip).
func decompress(r io.Reader) (io.Reader, func(), error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, err
	}
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, err
		}
		return zr, func() { zr.Close() }, nil
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(1<<30))
		if err != nil {
			return nil, nil, err
		}
		return zr, zr.Close, nil
	}
	return br, func() {}, nil
}

// boundedReader stops a layer read when the context ends or the scan has
// read more than max uncompressed bytes.
type boundedReader struct {
	ctx       context.Context
	r         io.Reader
	read      *int64
	max       int64
	sinceTick int
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.sinceTick >= ctxCheckBytesBlock || b.sinceTick == 0 {
		if err := b.ctx.Err(); err != nil {
			return 0, err
		}
		b.sinceTick = 0
	}
	n, err := b.r.Read(p)
	b.sinceTick += n
	*b.read += int64(n)
	if *b.read > b.max {
		return n, fmt.Errorf("the image's layers hold more than %d bytes, the most the scanner reads", b.max)
	}
	return n, err
}
