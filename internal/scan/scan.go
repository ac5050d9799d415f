package scan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/berth/berth/internal/blob"
	"github.com/berth/berth/internal/ecr/ecrstate"
)

// Manifest and config media types the scanner understands.
const (
	mediaTypeOCIManifest    = "application/vnd.oci.image.manifest.v1+json"
	mediaTypeOCIIndex       = "application/vnd.oci.image.index.v1+json"
	mediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	mediaTypeDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	mediaTypeOCIConfig      = "application/vnd.oci.image.config.v1+json"
	mediaTypeDockerConfig   = "application/vnd.docker.container.image.v1+json"
)

// DefaultPlatform is the platform scanned in an image index when Options
// names none.
const DefaultPlatform = "linux/amd64"

// Defaults for Options' limits.
const (
	DefaultMaxDatabaseSize = 256 << 20
	DefaultMaxBinarySize   = 512 << 20
	DefaultMaxBytes        = 64 << 30
	maxConfigSize          = 8 << 20
)

// Options tune a scan. The zero value gives the defaults.
type Options struct {
	// Platform ("os/arch" or "os/arch/variant") picks the image scanned in
	// an index; default DefaultPlatform, falling back to the index's first
	// linux image.
	Platform string
	// MaxDatabaseSize caps one package database file (dpkg status, apk
	// installed, rpm database); a larger one fails the scan rather than
	// being read into memory or spilled whole. Default 256 MiB.
	MaxDatabaseSize int64
	// MaxBinarySize caps an executable examined for Go build information;
	// larger ones are skipped. Default 512 MiB.
	MaxBinarySize int64
	// MaxBytes caps the uncompressed bytes read over all layers (a guard
	// against decompression bombs). Default 64 GiB.
	MaxBytes int64
	// TempDir holds spilled executables and rpm databases while they are
	// read; default os.TempDir(). Each scan uses (and removes) its own
	// directory under it.
	TempDir string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Platform == "" {
		o.Platform = DefaultPlatform
	}
	if o.MaxDatabaseSize <= 0 {
		o.MaxDatabaseSize = DefaultMaxDatabaseSize
	}
	if o.MaxBinarySize <= 0 {
		o.MaxBinarySize = DefaultMaxBinarySize
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.TempDir == "" {
		o.TempDir = os.TempDir()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Manifests finds a repository's manifests by digest (an index's children).
// *registry.Catalog implements it.
type Manifests interface {
	Image(ctx context.Context, repo ecrstate.RepositoryID, reference string) (ecrstate.Image, error)
}

// Scanner inspects images stored in berth's registry. It implements the
// scan controller's Inspector.
type Scanner struct {
	blobs     blob.Store
	manifests Manifests
	opts      Options
}

// NewScanner returns a Scanner reading layers from blobs and an index's
// children from manifests (nil: indexes are unsupported).
func NewScanner(blobs blob.Store, manifests Manifests, opts Options) *Scanner {
	return &Scanner{blobs: blobs, manifests: manifests, opts: opts.withDefaults()}
}

// Inspect lists what img, an image of repo, holds. For an image index (or Docker manifest
// list) it scans the child for the configured platform, or the first linux
// image; Inventory.Digest and Platform say which. ErrUnsupportedImage: the
// image holds no package database the scanner reads and no Go binary, or
// is no container image at all (an artifact, a Windows image).
func (s *Scanner) Inspect(ctx context.Context, repo ecrstate.RepositoryID, img ecrstate.Image) (ecrstate.Inventory, error) {
	mediaType, manifest, dgst := img.MediaType, img.Manifest, img.Digest
	for depth := 0; isIndex(mediaType, manifest); depth++ {
		if depth == 2 || s.manifests == nil {
			return ecrstate.Inventory{}, ErrUnsupportedImage
		}
		child, err := pickChild(manifest, s.opts.Platform)
		if err != nil {
			return ecrstate.Inventory{}, err
		}
		childImg, err := s.manifests.Image(ctx, repo, child.String())
		if err != nil {
			return ecrstate.Inventory{}, fmt.Errorf("scan: index child %s: %w", child, err)
		}
		mediaType, manifest, dgst = childImg.MediaType, childImg.Manifest, child
	}
	inv, err := Inspect(ctx, s.blobs, mediaType, manifest, s.opts)
	if err != nil {
		return ecrstate.Inventory{}, err
	}
	inv.Digest = dgst.String()
	return inv, nil
}

// Inspect lists what the image with this (non-index) manifest holds,
// reading its config and layers from blobs. See Scanner.Inspect.
func Inspect(ctx context.Context, blobs blob.Store, mediaType string, manifest []byte, opts Options) (ecrstate.Inventory, error) {
	opts = opts.withDefaults()
	var m imageManifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		return ecrstate.Inventory{}, fmt.Errorf("scan: manifest: %w", err)
	}
	if mediaType == "" {
		mediaType = m.MediaType
	}
	if mediaType == "" && m.Config.Digest != "" {
		mediaType = mediaTypeOCIManifest // the OCI spec lets it be left out
	}
	switch {
	case mediaType == mediaTypeOCIIndex || mediaType == mediaTypeDockerList || len(m.Manifests) > 0:
		return ecrstate.Inventory{}, errors.New("scan: an image index must be resolved to one image first (Scanner.Inspect)")
	case mediaType != mediaTypeOCIManifest && mediaType != mediaTypeDockerManifest:
		return ecrstate.Inventory{}, ErrUnsupportedImage // schema 1 and non-image manifests
	case m.Config.MediaType != mediaTypeOCIConfig && m.Config.MediaType != mediaTypeDockerConfig:
		return ecrstate.Inventory{}, ErrUnsupportedImage // an artifact (chart, signature, SBOM)
	}

	cfg, err := readConfig(ctx, blobs, m.Config.Digest)
	if err != nil {
		return ecrstate.Inventory{}, err
	}
	if cfg.OS != "" && cfg.OS != "linux" {
		return ecrstate.Inventory{}, ErrUnsupportedImage
	}
	platform := cfg.OS + "/" + cfg.Architecture
	if cfg.Variant != "" {
		platform += "/" + cfg.Variant
	}

	w, err := newWalker(opts)
	if err != nil {
		return ecrstate.Inventory{}, err
	}
	defer w.close()
	for i, l := range m.Layers {
		if !isTarLayer(l.MediaType) {
			continue
		}
		if err := w.layer(ctx, blobs, i, l.Digest); err != nil {
			if errors.Is(err, blob.ErrNotFound) && isForeignLayer(l.MediaType) {
				continue // never pushed (Windows base layers); nothing to read
			}
			return ecrstate.Inventory{}, fmt.Errorf("scan: layer %d (%s): %w", i, l.Digest, err)
		}
	}
	inv, err := w.inventory(ctx)
	if err != nil {
		return ecrstate.Inventory{}, err
	}
	inv.Platform = platform
	return inv, nil
}

type descriptor struct {
	MediaType string        `json:"mediaType"`
	Digest    digest.Digest `json:"digest"`
	Size      int64         `json:"size"`
	Platform  *struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
		Variant      string `json:"variant"`
	} `json:"platform,omitempty"`
}

type imageManifest struct {
	MediaType string       `json:"mediaType"`
	Config    descriptor   `json:"config"`
	Layers    []descriptor `json:"layers"`
	Manifests []descriptor `json:"manifests"`
}

type imageConfig struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant"`
}

func isIndex(mediaType string, manifest []byte) bool {
	if mediaType == mediaTypeOCIIndex || mediaType == mediaTypeDockerList {
		return true
	}
	if mediaType != "" {
		return false
	}
	var m imageManifest
	return json.Unmarshal(manifest, &m) == nil && len(m.Manifests) > 0
}

// pickChild chooses the index entry matching platform ("os/arch[/variant]"),
// else the first linux image (attestations are "unknown/unknown").
func pickChild(index []byte, platform string) (digest.Digest, error) {
	var m imageManifest
	if err := json.Unmarshal(index, &m); err != nil {
		return "", fmt.Errorf("scan: index: %w", err)
	}
	wantOS, rest, _ := strings.Cut(platform, "/")
	wantArch, wantVariant, _ := strings.Cut(rest, "/")
	var firstLinux digest.Digest
	for _, d := range m.Manifests {
		if d.Platform == nil || d.Platform.OS != "linux" || d.Platform.Architecture == "unknown" {
			continue
		}
		if d.Platform.OS == wantOS && d.Platform.Architecture == wantArch && (wantVariant == "" || d.Platform.Variant == wantVariant) {
			return d.Digest, nil
		}
		if firstLinux == "" {
			firstLinux = d.Digest
		}
	}
	if firstLinux == "" {
		return "", ErrUnsupportedImage
	}
	return firstLinux, nil
}

func readConfig(ctx context.Context, blobs blob.Store, d digest.Digest) (imageConfig, error) {
	r, err := blobs.Open(ctx, d)
	if err != nil {
		return imageConfig{}, fmt.Errorf("scan: config %s: %w", d, err)
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, maxConfigSize+1))
	if err != nil {
		return imageConfig{}, fmt.Errorf("scan: config %s: %w", d, err)
	}
	if len(data) > maxConfigSize {
		return imageConfig{}, fmt.Errorf("scan: config %s is larger than %d bytes", d, maxConfigSize)
	}
	var cfg imageConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		return imageConfig{}, fmt.Errorf("scan: config %s: %w", d, err)
	}
	return cfg, nil
}

// isTarLayer: OCI and Docker filesystem layers, compressed or not
// (including non-distributable ones); other layer types (artifacts'
// blobs) hold no filesystem.
func isTarLayer(mediaType string) bool {
	return strings.HasPrefix(mediaType, "application/vnd.oci.image.layer.") ||
		strings.HasPrefix(mediaType, "application/vnd.docker.image.rootfs.")
}

func isForeignLayer(mediaType string) bool {
	return strings.Contains(mediaType, "foreign") || strings.Contains(mediaType, "nondistributable")
}
