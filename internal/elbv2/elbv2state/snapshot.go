package elbv2state

import (
	"context"
	"fmt"
	"strings"

	json "github.com/go-json-experiment/json/v1"

	"github.com/berth/berth/internal/store"
)

// Snapshot is every ELBv2 record of every region as of one store revision,
// by key: what the data plane routes by. LoadSnapshot reads one; Apply
// keeps it current from a watch of Prefix started at Revision.
type Snapshot struct {
	Revision      int64
	LoadBalancers map[string]LoadBalancer
	TargetGroups  map[string]TargetGroup
	Listeners     map[string]Listener
	Rules         map[string]Rule
	Targets       map[string]Registration
	Health        map[string]TargetHealth
}

// LoadSnapshot reads every record under Prefix in one listing.
func LoadSnapshot(ctx context.Context, s store.Store) (*Snapshot, error) {
	kvs, rev, err := s.List(ctx, Prefix, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	snap := &Snapshot{
		Revision:      rev,
		LoadBalancers: map[string]LoadBalancer{},
		TargetGroups:  map[string]TargetGroup{},
		Listeners:     map[string]Listener{},
		Rules:         map[string]Rule{},
		Targets:       map[string]Registration{},
		Health:        map[string]TargetHealth{},
	}
	for _, kv := range kvs {
		if err := snap.put(kv); err != nil {
			return nil, err
		}
	}
	return snap, nil
}

// Apply applies one event of a watch of Prefix and moves Revision to it.
func (snap *Snapshot) Apply(ev store.Event) error {
	if ev.Type == store.EventDelete {
		key := ev.KV.Key
		delete(snap.LoadBalancers, key)
		delete(snap.TargetGroups, key)
		delete(snap.Listeners, key)
		delete(snap.Rules, key)
		delete(snap.Targets, key)
		delete(snap.Health, key)
	} else if err := snap.put(ev.KV); err != nil {
		return err
	}
	snap.Revision = max(snap.Revision, ev.KV.ModRevision)
	return nil
}

// put decodes kv into the map its key's kind names; keys of other kinds
// (a later layout's) are left alone.
func (snap *Snapshot) put(kv store.KV) error {
	var err error
	switch {
	case strings.HasPrefix(kv.Key, LoadBalancerPrefix):
		err = decodeInto(snap.LoadBalancers, kv)
	case strings.HasPrefix(kv.Key, TargetGroupPrefix):
		err = decodeInto(snap.TargetGroups, kv)
	case strings.HasPrefix(kv.Key, ListenerPrefix):
		err = decodeInto(snap.Listeners, kv)
	case strings.HasPrefix(kv.Key, RulePrefix):
		err = decodeInto(snap.Rules, kv)
	case strings.HasPrefix(kv.Key, TargetPrefix):
		err = decodeInto(snap.Targets, kv)
	case strings.HasPrefix(kv.Key, HealthPrefix):
		err = decodeInto(snap.Health, kv)
	}
	return err
}

func decodeInto[T any](m map[string]T, kv store.KV) error {
	var v T
	if err := json.Unmarshal(kv.Value, &v); err != nil {
		return fmt.Errorf("elbv2state: decode %s: %w", kv.Key, err)
	}
	m[kv.Key] = v
	return nil
}
