package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	// encoding/json's API and behaviour on the JSON v2 engine (the standard
	// library's from Go 1.27). Records are JSON; the task paths decode them
	// often enough that it gives bench-scheduler about 10 % more
	// placements/s.
	json "github.com/go-json-experiment/json/v1"
)

// Records are JSON documents. The typed helpers below decode and encode
// them, and retry compare-and-swap writes that lost to another writer.

// Versioned is a decoded record with the revision it was read at, for a
// compare-and-swap write back.
type Versioned[T any] struct {
	Value       T
	ModRevision int64
}

// Get reads and decodes the record at key; ErrNotFound if absent.
func Get[T any](ctx context.Context, s Store, key string) (Versioned[T], error) {
	kv, _, err := s.Get(ctx, key)
	if err != nil {
		return Versioned[T]{}, err
	}
	var v Versioned[T]
	if err := json.Unmarshal(kv.Value, &v.Value); err != nil {
		return Versioned[T]{}, fmt.Errorf("store: decode %s: %w", key, err)
	}
	v.ModRevision = kv.ModRevision
	return v, nil
}

// List reads and decodes every record under prefix, in key order, with the
// store revision the listing saw.
func List[T any](ctx context.Context, s Store, prefix string, opts ListOptions) ([]Versioned[T], int64, error) {
	kvs, rev, err := s.List(ctx, prefix, opts)
	if err != nil {
		return nil, 0, err
	}
	out := make([]Versioned[T], 0, len(kvs))
	for _, kv := range kvs {
		var v Versioned[T]
		if err := json.Unmarshal(kv.Value, &v.Value); err != nil {
			return nil, 0, fmt.Errorf("store: decode %s: %w", kv.Key, err)
		}
		v.ModRevision = kv.ModRevision
		out = append(out, v)
	}
	return out, rev, nil
}

// PutJSON encodes value as a put of key.
func PutJSON(key string, value any) (Op, error) {
	b, err := json.Marshal(value)
	if err != nil {
		return Op{}, fmt.Errorf("store: encode %s: %w", key, err)
	}
	return Put(key, b), nil
}

// ErrUnchanged, returned by an Update's change function, ends the update
// without writing.
var ErrUnchanged = errors.New("store: unchanged")

// MaxAttempts bounds how often Update and Retry try a write that keeps
// losing to other writers: each loss means another write went through, so
// running out takes a storm of writers on the same keys, which is a bug
// worth an error rather than a livelock.
const MaxAttempts = 64

// Update reads the record at key, applies change and writes it back if
// nothing changed it meanwhile, retrying on conflict (see Retry). change
// sees found=false for a missing record; it returns ErrUnchanged to write
// nothing, or any other error to abort. Update returns the record as
// written (or as read, when unchanged).
func Update[T any](ctx context.Context, s Store, key string, change func(v *T, found bool) error) (T, error) {
	var out T
	err := Retry(ctx, func() error {
		cur, err := Get[T](ctx, s, key)
		found := err == nil
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		v := cur.Value
		if err := change(&v, found); err != nil {
			if errors.Is(err, ErrUnchanged) {
				out = v
				return nil
			}
			return err
		}
		op, err := PutJSON(key, v)
		if err != nil {
			return err
		}
		if _, err := s.Txn(ctx, Txn{If: []Compare{{Key: key, ModRevision: cur.ModRevision}}, Then: []Op{op}}); err != nil {
			return err
		}
		out = v
		return nil
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

// Retry runs attempt (a read-decide-write round ending in a guarded Txn)
// until it returns anything but ErrConflict, at most MaxAttempts times,
// pausing a little longer after each conflict (up to 10 ms) so writers
// contending for the same keys spread out. It stops early when ctx ends.
func Retry(ctx context.Context, attempt func() error) error {
	for i := range MaxAttempts {
		err := attempt()
		if !errors.Is(err, ErrConflict) {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if pause := time.Duration(min(i, 10)) * time.Millisecond; pause > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(pause):
			}
		}
	}
	return fmt.Errorf("store: %d attempts lost to conflicting writers: %w", MaxAttempts, ErrConflict)
}
