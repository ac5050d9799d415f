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
func (h *Hub) registerNode(ctx context.Context, n agentproto.Node) error {
	now := h.now()
	_, err := store.Update(ctx, h.cfg.Store, ecsstate.NodeKey(n.ID), func(rec *ecsstate.Node, found bool) error {
		if !found {
			*rec = ecsstate.Node{Status: NodeStatusActive, RegisteredAt: now}
		}
		setAgentNodeFields(rec, n)
		rec.Connected = true
		rec.SeenAt = now
		return nil
	})
	return err
}

// markDisconnected records that the node's agent is gone.
func (h *Hub) markDisconnected(ctx context.Context, node string) error {
	now := h.now()
	_, err := store.Update(ctx, h.cfg.Store, ecsstate.NodeKey(node), func(rec *ecsstate.Node, found bool) error {
		if !found || !rec.Connected {
			return store.ErrUnchanged
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
	nodes, _, err := store.List[ecsstate.Node](ctx, h.cfg.Store, ecsstate.NodePrefix, store.ListOptions{})
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

// applyReports writes agents' observations of tasks into the tasks'
// records, in one transaction: reports queue up while an earlier batch is
// made durable, so a node's burst of reports costs few writes. Reports
// about tasks the server does not know on this node are ignored. Only
// store failures are returned.
func (h *Hub) applyReports(ctx context.Context, node string, reps []agentproto.TaskReport) error {
	err := store.Retry(ctx, func() error { return h.tryApplyReports(ctx, node, reps) })
	if err != nil && !errors.Is(err, context.Canceled) {
		h.log.Error("task reports not recorded", "node", node, "err", err)
	}
	return err
}

func (h *Hub) tryApplyReports(ctx context.Context, node string, reps []agentproto.TaskReport) error {
	now := h.now()
	type record struct {
		task        ecsstate.Task
		modRevision int64
		changed     bool
	}
	records := map[string]*record{}
	var order []string
	for _, rep := range reps {
		log := h.log.With("node", node, "cluster", rep.Cluster, "task", rep.ID)
		if rep.Cluster == "" || rep.ID == "" || strings.ContainsAny(rep.Cluster, "|/") || strings.ContainsAny(rep.ID, "|/") {
			log.Warn("task report ignored", "reason", "malformed task reference")
			continue
		}
		if !lastStatuses[rep.Status.LastStatus] {
			log.Warn("task report ignored", "reason", "unknown lastStatus", "lastStatus", rep.Status.LastStatus)
			continue
		}
		key, known, err := h.intents.taskKey(ctx, rep.ID)
		if err != nil {
			return err
		}
		if !known {
			log.Debug("task report ignored", "reason", "task unknown to the server")
			continue
		}
		r, ok := records[key]
		if !ok {
			cur, err := store.Get[ecsstate.Task](ctx, h.cfg.Store, key)
			switch {
			case errors.Is(err, store.ErrNotFound):
				log.Debug("task report ignored", "reason", "task unknown to the server")
				continue
			case err != nil:
				return err
			}
			r = &record{task: cur.Value, modRevision: cur.ModRevision}
			records[key] = r
			order = append(order, key)
		}
		changed, ignored := h.observe(&r.task, node, rep, now)
		if ignored != "" {
			level := log.Debug
			if ignored == reasonOtherNode {
				level = log.Warn
			}
			level("task report ignored", "reason", ignored)
		}
		r.changed = r.changed || changed
	}
	var txn store.Txn
	for _, key := range order {
		r := records[key]
		if !r.changed {
			continue
		}
		op, err := store.PutJSON(key, r.task)
		if err != nil {
			return err
		}
		txn.If = append(txn.If, store.Compare{Key: key, ModRevision: r.modRevision})
		txn.Then = append(txn.Then, op)
	}
	if len(txn.Then) == 0 {
		return nil
	}
	if _, err := h.cfg.Store.Txn(ctx, txn); err != nil {
		return err
	}
	h.metrics.recorded.Add(float64(len(txn.Then)))
	stopped := make([]ecsstate.Task, 0, len(order))
	for _, key := range order {
		if r := records[key]; r.changed {
			stopped = append(stopped, r.task)
		}
	}
	h.releaseInterfaces(ctx, stopped)
	return nil
}

// reasonOtherNode is why a report about another node's task is ignored.
const reasonOtherNode = "task belongs to another node"

// observe applies one report to its task's record: whether it changed
// it, or why the report was ignored.
func (h *Hub) observe(t *ecsstate.Task, node string, rep agentproto.TaskReport, now time.Time) (changed bool, ignored string) {
	observed := inUTC(storedStatus(rep.Status))
	switch {
	case t.NodeID != node || t.Cluster != rep.Cluster || t.ID != rep.ID:
		return false, reasonOtherNode
	case t.Observed.LastStatus == ecsstate.StatusStopped && observed.LastStatus != ecsstate.StatusStopped:
		return false, "a stopped task cannot move back to " + observed.LastStatus
	}
	before := *t // shallow: the changes below replace fields, never edit shared ones
	t.Observed = observed
	// The agent stopped the task on its own (essential container exited,
	// start failure): that is now the intent too, and its reason is the
	// task's unless a stop request came first.
	if (observed.StopCode != "" || observed.StoppedReason != "") && t.StopCode == "" {
		t.StopCode = observed.StopCode
		t.StoppedReason = observed.StoppedReason
		h.stopIntent(t, now)
	}
	if observed.LastStatus == ecsstate.StatusStopped {
		h.stopIntent(t, now)
	}
	// A repeated report changes nothing: spare the watchers.
	return !reflect.DeepEqual(before, *t), ""
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
