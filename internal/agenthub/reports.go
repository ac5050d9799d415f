package agenthub

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"time"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/store"
)

// NodeStatusActive is a new node's status (its container instance status).
const NodeStatusActive = "ACTIVE"

// registerNode creates or refreshes the node record from the agent's Hello.
// The server keeps what is its own (status, registration time); the agent
// is the authority on the rest.
func (h *Hub) registerNode(ctx context.Context, n ecsstate.Node) error {
	now := h.now()
	_, err := ecsstate.Update(ctx, h.cfg.Store, ecsstate.NodeKey(n.ID), func(rec *ecsstate.Node, found bool) error {
		if !found {
			*rec = ecsstate.Node{Status: NodeStatusActive, RegisteredAt: now}
		}
		rec.ID = n.ID
		rec.Hostname = n.Hostname
		rec.Clusters = n.Clusters
		rec.LaunchTypes = n.LaunchTypes
		rec.CPU = n.CPU
		rec.MemoryMiB = n.MemoryMiB
		rec.Attributes = n.Attributes
		rec.AgentVersion = n.AgentVersion
		rec.Connected = true
		rec.SeenAt = now
		return nil
	})
	return err
}

// markDisconnected records that the node's agent is gone.
func (h *Hub) markDisconnected(ctx context.Context, node string) error {
	now := h.now()
	_, err := ecsstate.Update(ctx, h.cfg.Store, ecsstate.NodeKey(node), func(rec *ecsstate.Node, found bool) error {
		if !found || !rec.Connected {
			return ecsstate.ErrUnchanged
		}
		rec.Connected = false
		rec.SeenAt = now
		return nil
	})
	return err
}

// markAllDisconnected marks every node without a connection to this hub
// disconnected: after a server restart no agent is connected, whatever the
// records say.
func (h *Hub) markAllDisconnected(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	nodes, _, err := ecsstate.List[ecsstate.Node](ctx, h.cfg.Store, ecsstate.NodePrefix, store.ListOptions{})
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if !n.Value.Connected || h.sessions[n.Value.ID] != nil {
			continue
		}
		if err := h.markDisconnected(ctx, n.Value.ID); err != nil {
			return err
		}
	}
	return nil
}

// lastStatuses are the task statuses an agent may report.
var lastStatuses = map[string]bool{
	ecsstate.StatusProvisioning: true, ecsstate.StatusPending: true, ecsstate.StatusActivating: true,
	ecsstate.StatusRunning: true, ecsstate.StatusDeactivating: true, ecsstate.StatusStopping: true,
	ecsstate.StatusDeprovisioning: true, ecsstate.StatusStopped: true,
}

// applyReport writes an agent's observation of a task into the task's
// record. Reports about tasks the server does not know on this node are
// ignored. Only store failures are returned.
func (h *Hub) applyReport(ctx context.Context, node string, rep agentproto.TaskReport) error {
	log := h.log.With("node", node, "cluster", rep.Cluster, "task", rep.ID)
	if rep.Cluster == "" || rep.ID == "" || strings.ContainsAny(rep.Cluster, "|/") || strings.ContainsAny(rep.ID, "|/") {
		log.Warn("task report ignored", "reason", "malformed task reference")
		return nil
	}
	if !lastStatuses[rep.Status.LastStatus] {
		log.Warn("task report ignored", "reason", "unknown lastStatus", "lastStatus", rep.Status.LastStatus)
		return nil
	}
	observed := inUTC(rep.Status)
	now := h.now()
	var ignored string
	_, err := ecsstate.Update(ctx, h.cfg.Store, ecsstate.TaskKey(rep.Cluster, rep.ID), func(t *ecsstate.Task, found bool) error {
		ignored = "" // Update may call this again after a conflict
		switch {
		case !found:
			ignored = "task unknown to the server"
			return ecsstate.ErrUnchanged
		case t.NodeID != node || t.Cluster != rep.Cluster || t.ID != rep.ID:
			ignored = "task belongs to another node"
			return ecsstate.ErrUnchanged
		case t.Observed.LastStatus == ecsstate.StatusStopped && observed.LastStatus != ecsstate.StatusStopped:
			ignored = "a stopped task cannot move back to " + observed.LastStatus
			return ecsstate.ErrUnchanged
		}
		before := *t // shallow: the changes below replace fields, never edit shared ones
		t.Observed = observed
		// The agent stopped the task on its own (essential container
		// exited, start failure): that is now the intent too, and its
		// reason is the task's unless a stop request came first.
		if (observed.StopCode != "" || observed.StoppedReason != "") && t.StopCode == "" {
			t.StopCode = observed.StopCode
			t.StoppedReason = observed.StoppedReason
			h.stopIntent(t, now)
		}
		if observed.LastStatus == ecsstate.StatusStopped {
			h.stopIntent(t, now)
		}
		if reflect.DeepEqual(before, *t) {
			return ecsstate.ErrUnchanged // a repeated report: spare the watchers
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return err
		}
		log.Error("task report not recorded", "err", err)
		return err
	}
	if ignored != "" {
		level := h.log.Debug
		if ignored == "task belongs to another node" {
			level = h.log.Warn
		}
		level("task report ignored", "node", node, "cluster", rep.Cluster, "task", rep.ID, "reason", ignored)
	}
	return nil
}

// stopIntent makes STOPPED the desired status, as a new generation of
// intent, unless it already is.
func (h *Hub) stopIntent(t *ecsstate.Task, now time.Time) {
	if t.StoppingAt.IsZero() {
		t.StoppingAt = now
	}
	if t.DesiredStatus != ecsstate.StatusStopped {
		t.DesiredStatus = ecsstate.StatusStopped
		t.Generation++
	}
}

// inUTC returns s with its times in UTC: the store keeps UTC.
func inUTC(s ecsstate.TaskStatus) ecsstate.TaskStatus {
	for _, t := range []*time.Time{&s.ConnectivityAt, &s.PullStartedAt, &s.PullStoppedAt, &s.StartedAt,
		&s.ExecutionStoppedAt, &s.StoppedAt, &s.UpdatedAt} {
		if !t.IsZero() {
			*t = t.UTC()
		}
	}
	return s
}
