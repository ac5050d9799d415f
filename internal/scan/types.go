// Package scan reads an image stored in berth's registry and lists what
// is installed in it: OS packages from the dpkg, apk and rpm databases,
// and Go modules from Go binaries' build information.
package scan

import (
	"errors"
)

// ErrUnsupportedImage is returned for an image with neither a package
// database the scanner reads nor a Go binary: ECR's UNSUPPORTED_IMAGE.
var ErrUnsupportedImage = errors.New("scan: the operating system and/or package manager are not supported")
