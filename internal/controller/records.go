package controller

import (
	"context"
	"errors"

	"github.com/berth/berth/internal/store"
)

// RecordKeys lists the keys under prefix whose value match accepts: a
// controller's Keys for the records it cares for (match is a cheap test
// of the raw record, so the others are never decoded).
func RecordKeys(st store.Store, prefix string, match func(value []byte) bool) func(context.Context) ([]string, error) {
	return func(ctx context.Context) ([]string, error) {
		var keys []string
		_, err := st.Range(ctx, prefix, func(kv store.KV) error {
			if match(kv.Value) {
				keys = append(keys, kv.Key)
			}
			return nil
		})
		return keys, err
	}
}

// FollowRecords is the Watch that queues every key under prefix whose
// value match accepts, then each one written so later.
func FollowRecords(st store.Store, prefix string, match func(value []byte) bool) Watch {
	return func(ctx context.Context, q Queue) error {
		rev, err := st.Range(ctx, prefix, func(kv store.KV) error {
			if match(kv.Value) {
				q.Add(kv.Key)
			}
			return nil
		})
		if err != nil {
			return err
		}
		events, err := st.Watch(ctx, prefix, rev)
		if err != nil {
			return err
		}
		for ev := range events {
			if ev.Type == store.EventPut && match(ev.KV.Value) {
				q.Add(ev.KV.Key)
			}
		}
		return errors.New("the watch of " + prefix + " ended")
	}
}
