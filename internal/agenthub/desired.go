package agenthub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/registry"
	"github.com/berth/berth/internal/store"
)

// Resync pacing: a watch that keeps failing is retried with a growing pause,
// and a store that keeps failing ends the session (the agent reconnects).
const (
	minResyncPause   = 100 * time.Millisecond
	maxResyncPause   = 10 * time.Second
	maxStoreFailures = 8
)

// errConnection marks a failed write to the agent: the session is over.
var errConnection = errors.New("writing to the agent failed")

// intent is what decides whether a task change is worth sending: agents act
// on a new generation or desired status, never on their own reports.
type intent struct {
	generation    int64
	desiredStatus string
}

func intentOf(t *ecsstate.Task) intent {
	return intent{generation: t.Generation, desiredStatus: t.DesiredStatus}
}

// write is a session's only writer: the Welcome, then a DesiredTask for
// each change of intent on the node and a Forget for each task record
// deleted, re-sending the full set whenever the watch is lost.
func (h *Hub) write(ctx context.Context, s *session) error {
	sent := map[string]intent{} // by task key: what this connection was last told
	welcomed := false
	pause := minResyncPause
	storeFailures := 0
	for {
		began := time.Now()
		rev, err := h.sendAll(ctx, s, sent, !welcomed)
		if err == nil {
			welcomed = true
			err = h.follow(ctx, s, sent, rev)
		}
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, errConnection):
			return err
		case err != nil:
			storeFailures++
			if storeFailures >= maxStoreFailures {
				return fmt.Errorf("store keeps failing: %w", err)
			}
			h.log.Warn("agent task stream: store error, resyncing", "node", s.node, "err", err)
		default:
			storeFailures = 0
			h.log.Debug("agent task stream: watch ended, resyncing", "node", s.node)
		}
		if time.Since(began) > time.Minute {
			pause = minResyncPause // a watch that lasted is not a failing one
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(pause):
		}
		pause = min(2*pause, maxResyncPause)
	}
}

// sendAll lists the node's tasks and sends them all (as the Welcome on the
// first call), with a Forget for each task sent before that is gone. It
// returns the revision of the listing.
func (h *Hub) sendAll(ctx context.Context, s *session, sent map[string]intent, welcome bool) (int64, error) {
	kvs, rev, err := h.cfg.Store.List(ctx, ecsstate.TaskPrefix, store.ListOptions{})
	if err != nil {
		return 0, err
	}
	tasks := []agentproto.DesiredTask{}
	current := map[string]intent{}
	for _, kv := range kvs {
		var t ecsstate.Task
		if err := json.Unmarshal(kv.Value, &t); err != nil {
			h.log.Error("undecodable task record skipped", "key", kv.Key, "err", err)
			continue
		}
		if t.NodeID != s.node {
			continue
		}
		tasks = append(tasks, h.desiredTask(&t, s.host))
		current[kv.Key] = intentOf(&t)
	}
	if welcome {
		err := h.send(s, agentproto.Message{Welcome: &agentproto.Welcome{
			Version:      agentproto.Version,
			Tasks:        tasks,
			RegistryHost: s.host,
			AccountID:    h.cfg.AccountID,
			Region:       h.cfg.Region,
		}})
		if err != nil {
			return 0, fmt.Errorf("%w: %w", errConnection, err)
		}
	} else {
		for i := range tasks {
			if err := h.send(s, agentproto.Message{Task: &tasks[i]}); err != nil {
				return 0, fmt.Errorf("%w: %w", errConnection, err)
			}
		}
		for key := range sent {
			if _, ok := current[key]; ok {
				continue
			}
			if cluster, id, ok := ecsstate.ParseTaskKey(key); ok {
				if err := h.send(s, agentproto.Message{Forget: &agentproto.TaskRef{Cluster: cluster, ID: id}}); err != nil {
					return 0, fmt.Errorf("%w: %w", errConnection, err)
				}
			}
		}
	}
	clear(sent)
	for k, v := range current {
		sent[k] = v
	}
	return rev, nil
}

// follow watches task records from rev and sends what changed for the
// node. It returns nil when the watch ends (the caller re-lists), an error
// wrapping errConnection when the agent cannot be written to.
func (h *Hub) follow(ctx context.Context, s *session, sent map[string]intent, rev int64) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := h.cfg.Store.Watch(ctx, ecsstate.TaskPrefix, rev)
	if errors.Is(err, store.ErrCompacted) {
		return nil
	}
	if err != nil {
		return err
	}
	for ev := range events {
		m, ok := h.change(s, sent, ev)
		if !ok {
			continue
		}
		if err := h.send(s, m); err != nil {
			return fmt.Errorf("%w: %w", errConnection, err)
		}
	}
	return nil
}

// change turns a task record change into the message the agent needs, if
// any, and notes it as sent.
func (h *Hub) change(s *session, sent map[string]intent, ev store.Event) (agentproto.Message, bool) {
	key := ev.KV.Key
	prev, known := sent[key]
	forget := func() (agentproto.Message, bool) {
		delete(sent, key)
		cluster, id, ok := ecsstate.ParseTaskKey(key)
		if !ok {
			return agentproto.Message{}, false
		}
		return agentproto.Message{Forget: &agentproto.TaskRef{Cluster: cluster, ID: id}}, true
	}
	switch ev.Type {
	case store.EventDelete:
		if !known {
			return agentproto.Message{}, false
		}
		return forget()
	case store.EventPut:
		var t ecsstate.Task
		if err := json.Unmarshal(ev.KV.Value, &t); err != nil {
			h.log.Error("undecodable task record skipped", "key", key, "err", err)
			return agentproto.Message{}, false
		}
		if t.NodeID != s.node {
			if known { // tasks do not move between nodes; if one did, this node lets go
				return forget()
			}
			return agentproto.Message{}, false
		}
		cur := intentOf(&t)
		if known && prev == cur {
			return agentproto.Message{}, false // only the agent's own report changed
		}
		sent[key] = cur
		d := h.desiredTask(&t, s.host)
		return agentproto.Message{Task: &d}, true
	}
	return agentproto.Message{}, false
}

// desiredTask is the server's intent for t as its agent needs it. host is
// the address the agent reached this server at.
func (h *Hub) desiredTask(t *ecsstate.Task, host string) agentproto.DesiredTask {
	d := agentproto.DesiredTask{
		Cluster:       t.Cluster,
		ID:            t.ID,
		ARN:           h.arns.Task(t.Cluster, t.ID),
		Generation:    t.Generation,
		DesiredStatus: t.DesiredStatus,
		Spec:          t.Spec,
		StopCode:      t.StopCode,
		StoppedReason: t.StoppedReason,
		ClusterARN:    h.arns.Cluster(t.Cluster),
		ContainerARNs: make([]string, 0, len(t.Spec.Containers)),
		Images:        make([]agentproto.Image, 0, len(t.Spec.Definition.ContainerDefinitions)),
	}
	for _, c := range t.Spec.Containers {
		d.ContainerARNs = append(d.ContainerARNs, h.arns.Container(t.Cluster, t.ID, c.ID))
	}
	var auth *agentproto.RegistryAuth // one password for all of the task's berth images
	for _, def := range t.Spec.Definition.ContainerDefinitions {
		image := awsapi.Deref(def.Image)
		local, ok := registry.ResolveImage(image, h.cfg.RegistryHost, h.cfg.AccountID)
		if !ok {
			d.Images = append(d.Images, agentproto.Image{Ref: image})
			continue
		}
		sep := ":"
		if strings.Contains(local.Reference, ":") { // a digest, algorithm:hex
			sep = "@"
		}
		if auth == nil && h.cfg.Tokens != nil {
			password, _ := h.cfg.Tokens.Issue("agent")
			auth = &agentproto.RegistryAuth{Username: "AWS", Password: password, ServerAddress: host}
		}
		d.Images = append(d.Images, agentproto.Image{Ref: host + "/" + local.Repository + sep + local.Reference, Auth: auth})
	}
	return d
}
