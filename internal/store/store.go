// Package store is berth's state interface. It is shaped like etcd's KV so
// that an etcd backend is a thin adapter and the embedded bbolt backend
// emulates it: every key carries the revision of its last change, reads
// report the store revision they saw, a transaction applies its operations
// only if the keys it compares still have the revisions the caller read
// (compare-and-swap), and Watch streams ordered changes from a revision.
//
// Revisions start at 1; 0 is never a real revision. A transaction that
// changes nothing does not use up a revision. The events of one transaction
// share its revision and arrive in the order of its ops. Writing the same key
// twice in one transaction is an error.
//
// Nothing outside this package and its backends knows which backend is used.
package store

import (
	"context"
	"errors"
)

// ErrNotFound is returned by Get when the key does not exist.
var ErrNotFound = errors.New("store: key not found")

// ErrConflict is returned by Txn when a comparison failed: some key changed
// since the caller read it. The caller re-reads and decides again.
var ErrConflict = errors.New("store: transaction conflict")

// ErrCompacted is returned by Watch when fromRevision is older than the
// oldest change the store still remembers. The watcher must re-list.
var ErrCompacted = errors.New("store: revision compacted")

// ErrClosed is returned by every call after Close.
var ErrClosed = errors.New("store: closed")

// KV is one key with its value and revisions.
type KV struct {
	Key   string
	Value []byte
	// CreateRevision is the revision at which the key was (last) created.
	CreateRevision int64
	// ModRevision is the revision of the key's last change.
	ModRevision int64
}

// Compare is one condition of a transaction: Key must currently have
// ModRevision. ModRevision 0 means the key must not exist.
type Compare struct {
	Key         string
	ModRevision int64
}

// Op is one write of a transaction: a put of Value, or a delete.
type Op struct {
	Key    string
	Value  []byte
	Delete bool
}

// Put returns an Op that stores value at key.
func Put(key string, value []byte) Op { return Op{Key: key, Value: value} }

// Delete returns an Op that deletes key (a no-op if it does not exist).
func Delete(key string) Op { return Op{Key: key, Delete: true} }

// Txn is "if every comparison holds, apply every op", atomically and durably.
type Txn struct {
	If   []Compare
	Then []Op
}

// ListOptions bound a List call.
type ListOptions struct {
	// StartAfter lists only keys strictly greater than it (for pagination).
	StartAfter string
	// Limit caps the number of keys returned; 0 means no limit.
	Limit int
}

// EventType tells whether a watched key was put or deleted.
type EventType int

const (
	EventPut EventType = iota + 1
	EventDelete
)

// Event is one change seen by a watch. For deletes KV.Value is nil and
// KV.ModRevision is the revision of the delete.
type Event struct {
	Type EventType
	KV   KV
}

// Store is the state interface every API service and controller uses.
type Store interface {
	// Get returns the key, or ErrNotFound, and the store revision read at.
	Get(ctx context.Context, key string) (KV, int64, error)
	// List returns keys with the prefix in key order, and the revision read at.
	List(ctx context.Context, prefix string, opts ListOptions) ([]KV, int64, error)
	// Range calls fn with each key with the prefix in key order, all as of
	// one revision, which it returns. A KV's Value is only valid during its
	// call (a backend may lend its own memory): a caller that keeps it
	// copies it. Range spares a reader of many records that mostly skips
	// them the copy List makes. An error from fn ends the range and is
	// returned.
	Range(ctx context.Context, prefix string, fn func(KV) error) (int64, error)
	// Txn applies t atomically if its comparisons hold, else ErrConflict.
	// It returns the new store revision once the change is durable. After a
	// context error the outcome may be unknown: re-read before deciding.
	Txn(ctx context.Context, t Txn) (int64, error)
	// Watch streams changes to keys with the prefix made after fromRevision
	// (0: from now), in revision order, until ctx ends; then the channel is
	// closed. A watcher that falls too far behind gets its channel closed
	// (the channel does not say why: check ctx, or resume and see the error).
	// Resume from the last revision received completely, or from one before
	// it: reconcilers treat a repeated event as harmless.
	Watch(ctx context.Context, prefix string, fromRevision int64) (<-chan Event, error)
	// Revision is the current store revision.
	Revision(ctx context.Context) (int64, error)
	Close() error
}
