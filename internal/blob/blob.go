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
	"time"

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
	// ErrRecentlyUsed: DeleteUnusedSince found the blob committed or
	// refreshed at or after the cutoff, so it was kept.
	ErrRecentlyUsed = errors.New("blob: used since the cutoff")
)

// Info describes a stored blob.
type Info struct {
	Digest digest.Digest
	// Size is the plaintext size.
	Size int64
	// UsedAt is when the blob was last committed, committed again (an
	// upload of content already stored) or refreshed.
	UsedAt time.Time
}

// UploadInfo describes an upload session.
type UploadInfo struct {
	ID   string
	Size int64
	// StartedAt is zero for a file the store holds no session for (left
	// behind by a failed removal).
	StartedAt time.Time
	// ActiveAt is when the session last received content or a commit.
	ActiveAt time.Time
}

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
	Walk(ctx context.Context, fn func(Info) error) error

	// Refresh marks blob d as used now, so that a garbage collector that
	// found it unused before keeps it (a cross-repository mount is about
	// to link it), and returns its size; ErrNotFound if it is not stored.
	Refresh(ctx context.Context, d digest.Digest) (int64, error)
	// DeleteUnusedSince deletes blob d unless it was committed or refreshed
	// at or after since (then ErrRecentlyUsed). The check and the deletion
	// are atomic with respect to Commit and Refresh of d.
	DeleteUnusedSince(ctx context.Context, d digest.Digest, since time.Time) error
	// ExpireUploads ends the upload sessions that have been idle (no
	// content, no commit) since before idleSince, and removes upload files
	// the store holds no session for that are as old; with dryRun it only
	// lists them. A session busy in a write or commit is never ended.
	ExpireUploads(ctx context.Context, idleSince time.Time, dryRun bool) ([]UploadInfo, error)

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
	// that is already stored under d succeeds, stores nothing twice and
	// refreshes the stored blob (see Store.Refresh).
	Commit(ctx context.Context, d digest.Digest) (int64, error)
	// Cancel ends the session and discards its content.
	Cancel(ctx context.Context) error
}
