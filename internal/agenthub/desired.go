package agenthub

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/registry"
)

// Resync pacing: a feed or watch that keeps failing is retried with a
// growing pause.
const (
	minResyncPause = 100 * time.Millisecond
	maxResyncPause = 10 * time.Second
)

// errConnection marks a failed write to the agent: the session is over.
var errConnection = errors.New("writing to the agent failed")

// intent is what decides whether a task change is worth sending: agents act
// on a new generation or desired status, or a stop's drain ending sooner
// (a task deregistered from Cloud Map), never on their own reports.
type intent struct {
	generation    int64
	desiredStatus string
	drainUntil    time.Time
}

func intentOf(t *ecsstate.Task) intent {
	return intent{generation: t.Generation, desiredStatus: t.DesiredStatus, drainUntil: t.DrainUntil}
}

// write is a session's only writer: the Welcome, then a DesiredTask for
// each change of intent on the node and a Forget for each task record
// deleted, re-sending the full set whenever its feed is lost.
func (h *Hub) write(ctx context.Context, s *session) error {
	sent := map[string]intent{} // by task key: what this connection was last told
	welcomed := false
	var networkSent int64 // the version of the network state last sent
	pause := minResyncPause
	for {
		began := time.Now()
		sub, err := h.sendAll(ctx, s, sent, !welcomed)
		if err == nil {
			welcomed = true
			err = h.follow(ctx, s, sent, sub, &networkSent)
		}
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			return err
		}
		h.log.Debug("agent task stream: feed lost, resyncing", "node", s.node)
		if time.Since(began) > time.Minute {
			pause = minResyncPause // a feed that lasted is not a failing one
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(pause):
		}
		pause = min(2*pause, maxResyncPause)
	}
}

// sendAll takes a snapshot of the node's tasks with a feed of what changes
// after it, and sends them all (as the Welcome on the first call), with a
// Forget for each task sent before that is gone.
func (h *Hub) sendAll(ctx context.Context, s *session, sent map[string]intent, welcome bool) (*subscription, error) {
	snapshot, sub, err := h.intents.subscribe(ctx, s.node)
	if err != nil {
		return nil, err
	}
	tasks := []agentproto.DesiredTask{}
	current := map[string]intent{}
	for _, t := range snapshot {
		tasks = append(tasks, h.desiredTask(ctx, t, s.host))
		current[t.Key()] = intentOf(t)
	}
	fail := func(err error) (*subscription, error) {
		h.intents.unsubscribe(sub)
		return nil, fmt.Errorf("%w: %w", errConnection, err)
	}
	if welcome {
		err := h.send(s, agentproto.Message{Welcome: &agentproto.Welcome{
			Version:      s.version,
			Tasks:        tasks,
			RegistryHost: s.host,
			AccountID:    h.cfg.AccountID,
			Region:       h.cfg.Region,
		}})
		if err != nil {
			return fail(err)
		}
	} else {
		for i := range tasks {
			if err := h.send(s, agentproto.Message{Task: &tasks[i]}); err != nil {
				return fail(err)
			}
		}
		for key := range sent {
			if _, ok := current[key]; ok {
				continue
			}
			if _, cluster, id, ok := ecsstate.ParseTaskKey(key); ok {
				if err := h.send(s, agentproto.Message{Forget: &agentproto.TaskRef{Cluster: cluster, ID: id}}); err != nil {
					return fail(err)
				}
			}
		}
	}
	clear(sent)
	for k, v := range current {
		sent[k] = v
	}
	return sub, nil
}

// follow sends what changes for the node from its feed, and the network
// state whenever it is newer than the one last sent. It returns nil
// when the feed ends (the caller starts over), an error wrapping
// errConnection when the agent cannot be written to.
func (h *Hub) follow(ctx context.Context, s *session, sent map[string]intent, sub *subscription, networkSent *int64) error {
	defer h.intents.unsubscribe(sub)
	for {
		state, version, changed := h.network.current()
		if state != nil && version != *networkSent {
			if err := h.send(s, agentproto.Message{Network: state}); err != nil {
				return fmt.Errorf("%w: %w", errConnection, err)
			}
			*networkSent = version
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
			continue
		case c, ok := <-sub.ch:
			if !ok {
				return nil
			}
			m, ok := h.change(ctx, s, sent, c)
			if !ok {
				continue
			}
			if err := h.send(s, m); err != nil {
				return fmt.Errorf("%w: %w", errConnection, err)
			}
		}
	}
}

// change turns a change of one of the node's tasks into the message the
// agent needs, if any, and notes it as sent.
func (h *Hub) change(ctx context.Context, s *session, sent map[string]intent, c taskChange) (agentproto.Message, bool) {
	prev, known := sent[c.key]
	if c.task == nil {
		// Deleted, or moved to another node: this node lets go.
		if !known {
			return agentproto.Message{}, false
		}
		delete(sent, c.key)
		_, cluster, id, ok := ecsstate.ParseTaskKey(c.key)
		if !ok {
			return agentproto.Message{}, false
		}
		return agentproto.Message{Forget: &agentproto.TaskRef{Cluster: cluster, ID: id}}, true
	}
	cur := intentOf(c.task)
	if known && prev == cur {
		return agentproto.Message{}, false // only the agent's own report changed
	}
	sent[c.key] = cur
	d := h.desiredTask(ctx, c.task, s.host)
	return agentproto.Message{Task: &d}, true
}

// desiredTask is the server's intent for t as its agent needs it. host is
// the address the agent reached this server at.
func (h *Hub) desiredTask(ctx context.Context, t *ecsstate.Task, host string) agentproto.DesiredTask {
	// The ARNs name the task's region: the agent takes the region of the
	// task's metadata and AWS_REGION from them.
	arns := ecsstate.ARNs{Region: t.Region, Account: h.cfg.AccountID}
	d := agentproto.DesiredTask{
		Cluster:       t.Cluster,
		ID:            t.ID,
		ARN:           arns.Task(t.Cluster, t.ID),
		Generation:    t.Generation,
		DesiredStatus: t.DesiredStatus,
		Spec:          wireSpec(t.Spec),
		StopCode:      t.StopCode,
		StoppedReason: t.StoppedReason,
		DrainUntil:    t.DrainUntil,
		ClusterARN:    arns.Cluster(t.Cluster),
		ContainerARNs: make([]string, 0, len(t.Spec.Containers)),
		Images:        make([]agentproto.Image, 0, len(t.Spec.Definition.ContainerDefinitions)),
	}
	for _, c := range t.Spec.Containers {
		d.ContainerARNs = append(d.ContainerARNs, arns.Container(t.Cluster, t.ID, c.ID))
	}
	d.Interface, d.InterfaceError = h.taskInterface(ctx, t, d.ARN)
	auths := map[string]*agentproto.RegistryAuth{} // one password per region the task's images are in
	pullAs, pullOK := h.pullAccessKey(ctx, t, d.ARN)
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
		// An image named in ECR's form is in the region its host names, as
		// in AWS; one named through berth's own host, which names no
		// region, is in the task's.
		region := cmp.Or(local.Region, t.Region, h.cfg.Region)
		auth := auths[region]
		if auth == nil && h.cfg.Tokens != nil && pullOK {
			password, _ := h.cfg.Tokens.Issue(pullAs, region)
			auth = &agentproto.RegistryAuth{Username: "AWS", Password: password, ServerAddress: host}
			auths[region] = auth
		}
		d.Images = append(d.Images, agentproto.Image{Ref: host + "/" + local.Repository + sep + local.Reference, Auth: auth})
	}
	return d
}

// pullAccessKey is the access key the task's images are pulled as: its
// execution role's session when IAM is enforced and it has one, as Fargate
// and the ECS agent pull with the execution role; else the container
// instance's. ok is false when the execution role cannot be assumed: the
// images then go without a password, and the pull fails as ECS's does
// with an execution role it cannot use.
func (h *Hub) pullAccessKey(ctx context.Context, t *ecsstate.Task, taskARN string) (accessKeyID string, ok bool) {
	instance := cmp.Or(h.cfg.InstanceAccessKeyID, "agent")
	if h.cfg.Sessions == nil || t.DesiredStatus != ecsstate.StatusRunning || taskRoleARN(t, agentproto.ExecutionRole) == "" {
		return instance, true
	}
	creds, err := h.roleCredentials(ctx, t, taskARN, agentproto.ExecutionRole)
	if err != nil {
		h.log.Warn("no execution role credentials for the task's image pulls", "task", taskARN, "err", err)
		return "", false
	}
	return creds.AccessKeyID, true
}
