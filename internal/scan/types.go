// Package scan reads an image stored in berth's registry and lists what
// is installed in it: OS packages from the dpkg, apk and rpm databases,
// and Go modules from Go binaries' build information.
package scan

import (
	"errors"

	"github.com/berth/berth/internal/vulndb"
)

// Inventory is what an image holds.
type Inventory struct {
	// OS is the distribution from /etc/os-release ("debian 12",
	// "alpine 3.20.1"), empty when there is none.
	OS string `json:"os,omitempty"`
	// Packages are the OS packages and Go modules found.
	Packages []vulndb.Package `json:"packages"`
	// Digest is the manifest scanned: the image's own, or for an image
	// index the child picked for Platform.
	Digest string `json:"digest,omitempty"`
	// Platform is the scanned image's "os/arch[/variant]" from its config.
	Platform string `json:"platform,omitempty"`
}

// ErrUnsupportedImage is returned for an image with neither a package
// database the scanner reads nor a Go binary: ECR's UNSUPPORTED_IMAGE.
var ErrUnsupportedImage = errors.New("scan: the operating system and/or package manager are not supported")
