package agenthub

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	json "github.com/go-json-experiment/json/v1"

	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/store"
)

// subscriberBuffer is how many task changes a session may fall behind
// before it is made to start over from a snapshot.
const subscriberBuffer = 4096

// taskChange is one task record change for a node: the task as it now is,
// or nil when its record was deleted.
type taskChange struct {
	key  string
	task *ecsstate.Task
}

// subscription is a session's feed of its node's task changes. ch is
// closed when the session must start over from a new snapshot (it fell
// behind, or the hub's watch was lost).
type subscription struct {
	node string
	ch   chan taskChange
}

// intents is the hub's one view of every task record's intent, grouped by
// node (the records it holds may be behind on what agents reported):
// a single store listing and watch, each record decoded once, fanned out
// to the session of the task's node. Sessions subscribe with a snapshot
// of their node's tasks that the feed continues without a gap.
type intents struct {
	st  store.Store
	log *slog.Logger

	start sync.Once
	ready chan struct{} // closed once the first listing is in

	mu     sync.Mutex
	byNode map[string]map[string]*ecsstate.Task  // node -> task key -> record
	nodeOf map[string]string                     // task key -> node
	subs   map[string]map[*subscription]struct{} // by node

	// keysMu guards keyOf on its own: every agent report looks its task up
	// there, and those lookups must not queue behind the view's dispatch.
	keysMu sync.RWMutex
	keyOf  map[string]string // task id -> task key
}

func newIntents(st store.Store, log *slog.Logger) *intents {
	return &intents{st: st, log: log, ready: make(chan struct{}), subs: map[string]map[*subscription]struct{}{}}
}

// await starts the shared watch on first use and waits, bounded by ctx,
// for its first listing.
func (x *intents) await(ctx context.Context) error {
	x.start.Do(func() { go x.run(context.Background()) })
	select {
	case <-x.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// taskKey returns the store key of the task with id, as agents name tasks
// (cluster and id, no region: ids are unique across regions); ok is false
// for a task the view does not hold.
func (x *intents) taskKey(ctx context.Context, id string) (key string, ok bool, err error) {
	if err := x.await(ctx); err != nil {
		return "", false, err
	}
	x.keysMu.RLock()
	defer x.keysMu.RUnlock()
	key, ok = x.keyOf[id]
	return key, ok, nil
}

// subscribe returns the node's tasks now and a feed of their changes from
// then on. It starts the shared watch on first use; ctx bounds the wait
// for its first listing.
func (x *intents) subscribe(ctx context.Context, node string) ([]*ecsstate.Task, *subscription, error) {
	if err := x.await(ctx); err != nil {
		return nil, nil, err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	sub := &subscription{node: node, ch: make(chan taskChange, subscriberBuffer)}
	if x.subs[node] == nil {
		x.subs[node] = map[*subscription]struct{}{}
	}
	x.subs[node][sub] = struct{}{}
	tasks := make([]*ecsstate.Task, 0, len(x.byNode[node]))
	for _, t := range x.byNode[node] {
		tasks = append(tasks, t)
	}
	return tasks, sub, nil
}

// unsubscribe ends a feed.
func (x *intents) unsubscribe(sub *subscription) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, ok := x.subs[sub.node][sub]; ok {
		x.drop(sub)
	}
}

// drop ends a subscription; x.mu is held.
func (x *intents) drop(sub *subscription) {
	delete(x.subs[sub.node], sub)
	if len(x.subs[sub.node]) == 0 {
		delete(x.subs, sub.node)
	}
	close(sub.ch)
}

// run lists and watches task records until the store closes, re-listing
// whenever the watch is lost.
func (x *intents) run(ctx context.Context) {
	pause := minResyncPause
	for {
		began := time.Now()
		err := x.follow(ctx)
		if errors.Is(err, store.ErrClosed) {
			x.dropAll()
			return
		}
		if err != nil {
			x.log.Warn("agent task feed: store error, relisting", "err", err)
		}
		if time.Since(began) > time.Minute {
			pause = minResyncPause
		}
		time.Sleep(pause)
		pause = min(2*pause, maxResyncPause)
	}
}

func (x *intents) follow(ctx context.Context) error {
	kvs, rev, err := x.st.List(ctx, ecsstate.TaskPrefix, store.ListOptions{})
	if err != nil {
		return err
	}
	byNode := map[string]map[string]*ecsstate.Task{}
	nodeOf := map[string]string{}
	keyOf := map[string]string{}
	for _, kv := range kvs {
		t, ok := x.decode(kv)
		if !ok {
			continue
		}
		if byNode[t.NodeID] == nil {
			byNode[t.NodeID] = map[string]*ecsstate.Task{}
		}
		byNode[t.NodeID][kv.Key] = t
		nodeOf[kv.Key] = t.NodeID
		keyOf[t.ID] = kv.Key
	}
	x.mu.Lock()
	x.byNode, x.nodeOf = byNode, nodeOf
	x.keysMu.Lock()
	x.keyOf = keyOf
	x.keysMu.Unlock()
	// Sessions fed from the previous listing start over from this one.
	x.dropAllLocked()
	x.mu.Unlock()
	select {
	case <-x.ready:
	default:
		close(x.ready)
	}

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := x.st.Watch(wctx, ecsstate.TaskPrefix, rev)
	if err != nil {
		return err
	}
	for ev := range events {
		x.apply(ev)
	}
	if _, err := x.st.Revision(ctx); errors.Is(err, store.ErrClosed) {
		return err
	}
	return nil
}

func (x *intents) decode(kv store.KV) (*ecsstate.Task, bool) {
	var t ecsstate.Task
	if err := json.Unmarshal(kv.Value, &t); err != nil {
		x.log.Error("undecodable task record skipped", "key", kv.Key, "err", err)
		return nil, false
	}
	return &t, true
}

// apply records one change and hands it to the sessions of the nodes it
// concerns.
func (x *intents) apply(ev store.Event) {
	key := ev.KV.Key
	var t *ecsstate.Task
	if ev.Type == store.EventPut {
		if x.unchangedIntent(key, ev.KV.Value) {
			return
		}
		var ok bool
		if t, ok = x.decode(ev.KV); !ok {
			return
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	old, had := x.nodeOf[key]
	if had && (t == nil || t.NodeID != old) {
		delete(x.byNode[old], key)
		delete(x.nodeOf, key)
		x.dispatch(old, taskChange{key: key})
	}
	if t == nil {
		if _, _, id, ok := ecsstate.ParseTaskKey(key); ok {
			x.keysMu.Lock()
			delete(x.keyOf, id)
			x.keysMu.Unlock()
		}
		return
	}
	if !had {
		x.keysMu.Lock()
		x.keyOf[t.ID] = key
		x.keysMu.Unlock()
	}
	if x.byNode[t.NodeID] == nil {
		x.byNode[t.NodeID] = map[string]*ecsstate.Task{}
	}
	x.byNode[t.NodeID][key] = t
	x.nodeOf[key] = t.NodeID
	x.dispatch(t.NodeID, taskChange{key: key, task: t})
}

// taskIntent is the part of a task record an agent acts on besides the
// spec, which never changes.
type taskIntent struct {
	NodeID        string `json:"nodeId"`
	Generation    int64  `json:"generation"`
	DesiredStatus string `json:"desiredStatus"`
	StopCode      string `json:"stopCode"`
	StoppedReason string `json:"stoppedReason"`
	// DrainUntil ends sooner once a stopping task is deregistered from
	// Cloud Map, at the same generation.
	DrainUntil time.Time `json:"drainUntil"`
}

// unchangedIntent reports whether a put of the task at key changes none of
// what its agent acts on (most puts are the agent's own reports), reading
// only those fields, so that the record need not be decoded whole.
func (x *intents) unchangedIntent(key string, value []byte) bool {
	x.mu.Lock()
	_, known := x.nodeOf[key]
	x.mu.Unlock()
	if !known {
		return false // a new task: only the full decode has what it needs
	}
	var in taskIntent
	if json.Unmarshal(value, &in) != nil {
		return false // the full decode reports it
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	node, ok := x.nodeOf[key]
	if !ok || node != in.NodeID {
		return false
	}
	t := x.byNode[node][key]
	return t.Generation == in.Generation && t.DesiredStatus == in.DesiredStatus &&
		t.StopCode == in.StopCode && t.StoppedReason == in.StoppedReason && t.DrainUntil.Equal(in.DrainUntil)
}

// dispatch hands c to the node's subscribers without ever waiting: one
// that is full is dropped and starts over from a snapshot.
func (x *intents) dispatch(node string, c taskChange) {
	for sub := range x.subs[node] {
		select {
		case sub.ch <- c:
		default:
			x.drop(sub)
		}
	}
}

func (x *intents) dropAll() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.dropAllLocked()
}

func (x *intents) dropAllLocked() {
	for _, subs := range x.subs {
		for sub := range subs {
			x.drop(sub)
		}
	}
}
