package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
)

// LayoutPrefix holds each service's layout version: "layout/<service>" is
// the version (a JSON number) its keys were last rewritten to.
const LayoutPrefix = "layout/"

// Relayout moves a service's records to a new key layout once: if the
// layout version at "layout/<service>" is below version, every key under
// prefix goes through rewrite, which returns the key and value the record
// has in the new layout (the same ones to leave it alone). All of it, and
// the new version, is one transaction: a server killed in the middle finds
// the old layout whole and runs it again, so no record is ever lost or
// seen twice. A store whose version is already there is left alone, and a
// fresh one only gets its version. It reports how many keys moved.
//
// One transaction is right for the embedded store, which holds every
// record of one machine; a backend with a cap on a transaction's size
// would need the move split by a marker per key instead.
func Relayout(ctx context.Context, s Store, service string, version int, prefix string, rewrite func(KV) (key string, value []byte, err error)) (int, error) {
	layoutKey := LayoutPrefix + service
	current, layoutRev := 0, int64(0)
	switch kv, _, err := s.Get(ctx, layoutKey); {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return 0, err
	default:
		if current, err = strconv.Atoi(string(kv.Value)); err != nil {
			return 0, fmt.Errorf("store: %s holds %q, not a layout version", layoutKey, kv.Value)
		}
		layoutRev = kv.ModRevision
	}
	if current >= version {
		return 0, nil
	}
	kvs, _, err := s.List(ctx, prefix, ListOptions{})
	if err != nil {
		return 0, err
	}
	txn := Txn{If: []Compare{{Key: layoutKey, ModRevision: layoutRev}}}
	written := map[string]bool{}
	var moved []string
	for _, kv := range kvs {
		key, value, err := rewrite(kv)
		if err != nil {
			return 0, fmt.Errorf("store: relayout %s: %w", kv.Key, err)
		}
		if key == kv.Key && bytes.Equal(value, kv.Value) {
			continue
		}
		if written[key] {
			return 0, fmt.Errorf("store: relayout of %s: two records move to %s", service, key)
		}
		written[key] = true
		txn.If = append(txn.If, Compare{Key: kv.Key, ModRevision: kv.ModRevision})
		txn.Then = append(txn.Then, Put(key, value))
		if key != kv.Key {
			moved = append(moved, kv.Key)
		}
	}
	// A key a record moved away from goes, unless another record moved
	// onto it.
	for _, key := range moved {
		if !written[key] {
			txn.Then = append(txn.Then, Delete(key))
		}
	}
	txn.Then = append(txn.Then, Put(layoutKey, []byte(strconv.Itoa(version))))
	if _, err := s.Txn(ctx, txn); err != nil {
		return 0, fmt.Errorf("store: relayout %s to version %d: %w", service, version, err)
	}
	return len(moved), nil
}
