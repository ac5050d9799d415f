// Package blob is the registry's content-addressed blob storage: blobs are
// named by their digest, written through upload sessions whose content is
// verified against the digest before it becomes visible, and (on the local
// disk backend) encrypted at rest. An interrupted or crashed upload leaves
// nothing visible and nothing corrupt.
package blob

import (
	"context"
	"errors"
	"io"

	"github.com/opencontainers/go-digest"
)

var (
	// ErrNotFound: no blob with that digest, or no upload with that id.
	ErrNotFound = errors.New("blob: not found")
	// ErrDigestMismatch: the uploaded content does not hash to the digest.
	ErrDigestMismatch = errors.New("blob: digest does not match content")
	// ErrUnsupportedDigest: the digest algorithm is not sha256 or sha512.
	ErrUnsupportedDigest = errors.New("blob: unsupported digest algorithm")
	// ErrUploadOffset: a write did not start where the upload's data ends.
	ErrUploadOffset = errors.New("blob: upload range does not continue the upload")
)

// Store holds blobs and upload sessions.
type Store interface {
	// Stat returns the size of a stored blob, or ErrNotFound.
	Stat(ctx context.Context, d digest.Digest) (int64, error)
	// Open returns a reader over a stored blob's plaintext; it seeks, so it
	// serves range requests.
	Open(ctx context.Context, d digest.Digest) (Reader, error)
	// Delete removes a blob. Deleting a missing blob is ErrNotFound.
	Delete(ctx context.Context, d digest.Digest) error
	// Walk calls fn for every stored blob (for garbage collection).
	Walk(ctx context.Context, fn func(d digest.Digest, size int64) error) error

	// NewUpload starts an upload session.
	NewUpload(ctx context.Context) (Upload, error)
	// Upload returns the open session with that id, or ErrNotFound.
	Upload(ctx context.Context, id string) (Upload, error)
}

// Reader reads one blob.
type Reader interface {
	io.ReadSeekCloser
	Size() int64
}

// Upload is one upload session. Its methods are safe for concurrent use;
// writes are serialised.
type Upload interface {
	ID() string
	// Size is how many bytes the session holds so far.
	Size() int64
	// WriteAt appends r's content, which must start at offset == Size();
	// otherwise ErrUploadOffset. It returns the bytes written.
	WriteAt(ctx context.Context, r io.Reader, offset int64) (int64, error)
	// Commit verifies the content against d and makes it the blob d,
	// ending the session. A mismatch is ErrDigestMismatch (the session stays
	// open, as the OCI spec lets the client retry). Committing content
	// that is already stored under d succeeds and stores nothing twice.
	Commit(ctx context.Context, d digest.Digest) (int64, error)
	// Cancel ends the session and discards its content.
	Cancel(ctx context.Context) error
}
