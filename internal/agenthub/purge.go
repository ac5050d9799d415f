package agenthub

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/store"
)

// purgePage is how many task records one purge listing reads at a time;
// purgeBatch how many one transaction deletes (etcd caps a transaction's
// operations at 128 by default).
const (
	purgePage  = 500
	purgeBatch = 60
)

type expiredTask struct {
	kv        store.KV
	task      ecsstate.Task
	stoppedAt time.Time
}

// Run does the hub's background work until ctx ends: it marks every node
// without a connection disconnected (a server restart drops them all), then
// purges expired stopped tasks at once and every minute. When ctx ends it
// closes every agent connection.
func (h *Hub) Run(ctx context.Context) error {
	defer h.closeAll()
	go h.runNetworkFeed(ctx)
	marked := false
	tick := func() {
		if !marked {
			if err := h.markAllDisconnected(ctx); err != nil {
				h.log.Error("marking nodes disconnected failed; retrying", "err", err)
			} else {
				marked = true
			}
		}
		if err := h.purge(ctx); err != nil && ctx.Err() == nil {
			h.log.Error("purging stopped tasks failed", "err", err)
		}
		if err := h.sweepInterfaces(ctx); err != nil && ctx.Err() == nil {
			h.log.Error("removing stopped tasks' network interfaces failed", "err", err)
		}
	}
	tick()
	t := time.NewTicker(h.purgeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			tick()
		}
	}
}

// purge deletes the task records that have been STOPPED for longer than the
// retention. Each delete is guarded by the revision read, so a record that
// changed meanwhile is left for the next round.
func (h *Hub) purge(ctx context.Context) error {
	cutoff := h.now().Add(-h.cfg.StoppedTaskRetention)
	after := ""
	for {
		kvs, _, err := h.cfg.Store.List(ctx, ecsstate.TaskPrefix, store.ListOptions{StartAfter: after, Limit: purgePage})
		if err != nil {
			return err
		}
		var expired []expiredTask
		for _, kv := range kvs {
			var t ecsstate.Task
			if err := json.Unmarshal(kv.Value, &t); err != nil {
				h.log.Error("undecodable task record skipped", "key", kv.Key, "err", err)
				continue
			}
			if t.Observed.LastStatus != ecsstate.StatusStopped {
				continue
			}
			at := stoppedAt(&t)
			if at.IsZero() || at.After(cutoff) {
				continue
			}
			expired = append(expired, expiredTask{kv: kv, task: t, stoppedAt: at})
		}
		for batch := range slices.Chunk(expired, purgeBatch) {
			if err := h.deleteExpired(ctx, batch); err != nil {
				return err
			}
		}
		if len(kvs) < purgePage {
			return nil
		}
		after = kvs[len(kvs)-1].Key
	}
}

// deleteExpired deletes a batch of expired task records in one transaction,
// each guarded by the revision read. If any of them changed meanwhile, it
// deletes them one by one, leaving the changed ones for the next round.
func (h *Hub) deleteExpired(ctx context.Context, batch []expiredTask) error {
	txn := func(batch []expiredTask) error {
		var t store.Txn
		for _, e := range batch {
			t.If = append(t.If, store.Compare{Key: e.kv.Key, ModRevision: e.kv.ModRevision})
			t.Then = append(t.Then, store.Delete(e.kv.Key))
		}
		_, err := h.cfg.Store.Txn(ctx, t)
		return err
	}
	done := func(e expiredTask) {
		h.metrics.purged.Inc()
		h.log.Info("stopped task purged", "cluster", e.task.Cluster, "task", e.task.ID, "stoppedAt", e.stoppedAt)
	}
	switch err := txn(batch); {
	case err == nil:
		for _, e := range batch {
			done(e)
		}
		return nil
	case !errors.Is(err, store.ErrConflict):
		return err
	case len(batch) == 1:
		return nil // changed since read: the next round decides again
	}
	for _, e := range batch {
		switch err := txn([]expiredTask{e}); {
		case errors.Is(err, store.ErrConflict):
			// changed since read: the next round decides again
		case err != nil:
			return err
		default:
			done(e)
		}
	}
	return nil
}

// stoppedAt is when a stopped task stopped: as its agent reported, else when
// the stop was decided. The later fallbacks only keep a record that lacks
// both from living forever.
func stoppedAt(t *ecsstate.Task) time.Time {
	for _, at := range []time.Time{t.Observed.StoppedAt, t.StoppingAt, t.Observed.UpdatedAt, t.CreatedAt} {
		if !at.IsZero() {
			return at
		}
	}
	return time.Time{}
}
