package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
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

// retryFor bounds how long Retry keeps trying a write that keeps losing
// to other writers. Each loss means another write went through, so losing
// is unfairness, not a lack of progress: a writer that just won re-reads
// first, and with a few writers on one key a fair loser can lose dozens of
// times in a row (a bound of 64 attempts failed that way under load). Time
// is the bound that means what it says: conflicts that last this long are
// a writer storm or a bug that compares a revision which never comes back,
// and either is worth an error rather than a livelock.
var retryFor = 10 * time.Second

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
// until it returns anything but ErrConflict, or until conflicts have gone
// on for retryFor. After each conflict it pauses for a random time up to a
// bound that grows by a millisecond per conflict to 10 ms, so writers that
// lost together do not come back together. It stops early when ctx ends.
func Retry(ctx context.Context, attempt func() error) error {
	giveUp := time.Now().Add(retryFor)
	for conflicts := 1; ; conflicts++ {
		err := attempt()
		if !errors.Is(err, ErrConflict) {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if time.Now().After(giveUp) {
			return fmt.Errorf("store: %d attempts over %s lost to conflicting writers: %w", conflicts, retryFor, ErrConflict)
		}
		pause := rand.N(time.Duration(min(conflicts, 10)) * time.Millisecond)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
}
