package elbv2state

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	json "github.com/go-json-experiment/json/v1"

	"github.com/berth/berth/internal/store"
)

// Tx is one read-decide-write round over several records: every record it
// reads is compared at commit, so its writes apply only if nothing they
// were decided from changed meanwhile. Reads see the round's own pending
// writes. Run makes one per attempt.
type Tx struct {
	s store.Store
	// reads holds the revision each key was first read at (0: absent).
	reads map[string]int64
	// writes holds the pending put (value) or delete (nil) of each key.
	writes map[string][]byte
}

// Run runs decide in a new Tx and commits what it wrote, again from the
// start whenever another writer changed something it read (store.Retry).
// decide's error ends it without writing.
func Run(ctx context.Context, s store.Store, decide func(tx *Tx) error) error {
	return store.Retry(ctx, func() error {
		tx := &Tx{s: s, reads: map[string]int64{}, writes: map[string][]byte{}}
		if err := decide(tx); err != nil {
			return err
		}
		return tx.commit(ctx)
	})
}

// Read reads the record at key into a T, reporting whether there is one.
func Read[T any](ctx context.Context, tx *Tx, key string) (T, bool, error) {
	var v T
	if b, pending := tx.writes[key]; pending {
		if b == nil {
			return v, false, nil
		}
		err := json.Unmarshal(b, &v)
		return v, err == nil, err
	}
	kv, _, err := tx.s.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		tx.reads[key] = 0
		return v, false, nil
	}
	if err != nil {
		return v, false, err
	}
	if _, seen := tx.reads[key]; !seen {
		tx.reads[key] = kv.ModRevision
	}
	if err := json.Unmarshal(kv.Value, &v); err != nil {
		return v, false, fmt.Errorf("elbv2state: decode %s: %w", key, err)
	}
	return v, true, nil
}

// ReadAll reads every record under prefix in key order. Each record read
// is compared at commit; a record added under prefix meanwhile is not, so
// a reader relies on its parent's record for that (see the package
// comment).
func ReadAll[T any](ctx context.Context, tx *Tx, prefix string) ([]T, error) {
	kvs, _, err := tx.s.List(ctx, prefix, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	values := map[string][]byte{}
	for _, kv := range kvs {
		if _, seen := tx.reads[kv.Key]; !seen {
			tx.reads[kv.Key] = kv.ModRevision
		}
		values[kv.Key] = kv.Value
	}
	for key, b := range tx.writes {
		if strings.HasPrefix(key, prefix) {
			values[key] = b
		}
	}
	keys := slices.Sorted(maps.Keys(values))
	out := make([]T, 0, len(keys))
	for _, key := range keys {
		if values[key] == nil {
			continue
		}
		var v T
		if err := json.Unmarshal(values[key], &v); err != nil {
			return nil, fmt.Errorf("elbv2state: decode %s: %w", key, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// Put writes v at key when the round commits.
func (tx *Tx) Put(key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("elbv2state: encode %s: %w", key, err)
	}
	tx.writes[key] = b
	return nil
}

// Delete removes key when the round commits.
func (tx *Tx) Delete(key string) { tx.writes[key] = nil }

// Include adds another package's part of the round (acmstate.UseOps's):
// its compares, unless the round read those keys itself, and its writes.
func (tx *Tx) Include(compares []store.Compare, ops []store.Op) {
	for _, c := range compares {
		if _, seen := tx.reads[c.Key]; !seen {
			tx.reads[c.Key] = c.ModRevision
		}
	}
	for _, op := range ops {
		if op.Delete {
			tx.Delete(op.Key)
		} else {
			tx.writes[op.Key] = op.Value
		}
	}
}

// commit writes the round's writes if every key it read still has the
// revision it was read at; a round that wrote nothing commits nothing.
func (tx *Tx) commit(ctx context.Context) error {
	if len(tx.writes) == 0 {
		return nil
	}
	var txn store.Txn
	for _, key := range slices.Sorted(maps.Keys(tx.reads)) {
		txn.If = append(txn.If, store.Compare{Key: key, ModRevision: tx.reads[key]})
	}
	for _, key := range slices.Sorted(maps.Keys(tx.writes)) {
		if b := tx.writes[key]; b != nil {
			txn.Then = append(txn.Then, store.Put(key, b))
		} else {
			txn.Then = append(txn.Then, store.Delete(key))
		}
	}
	_, err := tx.s.Txn(ctx, txn)
	return err
}
