package sdstate

import (
	"context"
	"fmt"
	"strings"

	json "github.com/go-json-experiment/json/v1"

	"github.com/berth/berth/internal/store"
)

// Snapshot is every namespace, service and instance of every region as of
// one store revision, by key: what the DNS server answers from.
// LoadSnapshot reads one; Apply keeps it current from a watch of Prefix
// started at Revision.
type Snapshot struct {
	Revision   int64
	Namespaces map[string]Namespace
	Services   map[string]Service
	Instances  map[string]Instance
}

// LoadSnapshot reads every record under Prefix but the operations.
func LoadSnapshot(ctx context.Context, s store.Store) (*Snapshot, error) {
	snap := &Snapshot{Namespaces: map[string]Namespace{}, Services: map[string]Service{}, Instances: map[string]Instance{}}
	rev, err := s.Range(ctx, Prefix, func(kv store.KV) error { return snap.put(kv) })
	if err != nil {
		return nil, err
	}
	snap.Revision = rev
	return snap, nil
}

// Apply applies one event of a watch of Prefix and moves Revision to it;
// it reports whether the event changed what DNS answers from.
func (snap *Snapshot) Apply(ev store.Event) (bool, error) {
	snap.Revision = max(snap.Revision, ev.KV.ModRevision)
	if ev.Type == store.EventDelete {
		key := ev.KV.Key
		_, a := snap.Namespaces[key]
		_, b := snap.Services[key]
		_, c := snap.Instances[key]
		delete(snap.Namespaces, key)
		delete(snap.Services, key)
		delete(snap.Instances, key)
		return a || b || c, nil
	}
	if !relevant(ev.KV.Key) {
		return false, nil
	}
	return true, snap.put(ev.KV)
}

func relevant(key string) bool {
	return strings.HasPrefix(key, NamespacePrefix) || strings.HasPrefix(key, ServicePrefix) || strings.HasPrefix(key, InstancePrefix)
}

// put decodes kv into the map its key's kind names; other kinds are left
// alone.
func (snap *Snapshot) put(kv store.KV) error {
	switch {
	case strings.HasPrefix(kv.Key, NamespacePrefix):
		return decodeInto(snap.Namespaces, kv)
	case strings.HasPrefix(kv.Key, ServicePrefix):
		return decodeInto(snap.Services, kv)
	case strings.HasPrefix(kv.Key, InstancePrefix):
		return decodeInto(snap.Instances, kv)
	}
	return nil
}

func decodeInto[T any](m map[string]T, kv store.KV) error {
	var v T
	if err := json.Unmarshal(kv.Value, &v); err != nil {
		return fmt.Errorf("sdstate: decode %s: %w", kv.Key, err)
	}
	m[kv.Key] = v
	return nil
}
