// Package scanpolicy decides, from records alone, which images ECR scans:
// the ECR API (to show a scan on push as started) and the scan controller
// (to start it) take the same decision. It sits beside ecrstate rather
// than in it because telling an image index apart needs the registry's
// manifest media types, and the registry is built on ecrstate.
package scanpolicy

import (
	"github.com/berth/berth/internal/ecr/ecrstate"
	"github.com/berth/berth/internal/registry"
)

// Scannable reports whether an image is something the scanner reads: an
// image manifest, not an index (whose children are scanned as images of
// their own) nor an artifact that isn't a container image.
func Scannable(img ecrstate.Image) bool {
	if registry.IsIndexMediaType(img.MediaType) || len(img.Children) > 0 {
		return false
	}
	switch img.ConfigType {
	case "", "application/vnd.docker.container.image.v1+json", "application/vnd.oci.image.config.v1+json":
		return true
	}
	return false
}

// ScanOnPushDue reports whether img, which has no scan record, is to be
// scanned because it was pushed: the scanner reads it and the scanning
// configuration asks for it (ecrstate.ScanningConfig.OnPushDue).
func ScanOnPushDue(cfg ecrstate.ScanningConfig, repo ecrstate.Repository, img ecrstate.Image) bool {
	return Scannable(img) && cfg.OnPushDue(repo, img)
}
