package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/coder/websocket"
	"github.com/google/shlex"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/datachannel"
	"github.com/berth/berth/internal/datachannel/wstransport"
	"github.com/berth/berth/internal/runtime"
)

// execAgentVersion is the agent version the data channel's handshake
// names: the SSM agent's, whose protocol berth's agent speaks.
const execAgentVersion = "3.3.0.0"

// startExec runs an ECS Exec session's command in the background.
func (a *Agent) startExec(req agentproto.ExecRequest) {
	ctx := a.runCtx
	if ctx == nil {
		return
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		log := a.log.With("session", req.SessionID, "task", req.TaskID, "container", req.Container)
		code, err := a.runExec(ctx, req)
		if err != nil {
			log.Warn("exec session ended", "err", err)
			return
		}
		log.Info("exec session ended", "exitCode", code)
	}()
}

// runExec opens the session's data channel at the server and serves it:
// the command runs in the container once the client agreed to the
// session.
func (a *Agent) runExec(ctx context.Context, req agentproto.ExecRequest) (int, error) {
	ws, err := agentproto.DialExec(ctx, a.cfg.ServerURL, a.cfg.Token, req.SessionID)
	if err != nil {
		return 0, err
	}
	defer ws.Close(websocket.StatusNormalClosure, "")
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := datachannel.NewChannel(wstransport.New(ws), datachannel.AgentSide)
	go ch.Run(ctx)
	session := datachannel.AgentSession{
		SessionID:    req.SessionID,
		Command:      req.Command,
		Interactive:  req.Interactive,
		AgentVersion: execAgentVersion,
		Start: func(ctx context.Context, cols, rows uint) (datachannel.Process, error) {
			return a.execInContainer(ctx, req, cols, rows)
		},
	}
	if req.Log != nil && a.sink != nil {
		rec := newSessionLog(a.sink, *req.Log, req.SessionID, req.TaskARN, a.log.With("session", req.SessionID), a.now)
		lctx, stop := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() {
			defer close(done)
			rec.run(lctx)
		}()
		defer func() {
			stop()
			<-done
		}()
		session.Record = rec
	}
	return session.Serve(ctx, ch)
}

// execInContainer starts the command, in the container only if it is one
// of this node's tasks' (the server named it; the agent checks).
func (a *Agent) execInContainer(ctx context.Context, req agentproto.ExecRequest, cols, rows uint) (runtime.ExecProcess, error) {
	c, err := a.rt.Inspect(ctx, req.RuntimeID)
	switch {
	case errors.Is(err, runtime.ErrNotFound):
		return nil, fmt.Errorf("the container %s is gone", req.Container)
	case err != nil:
		return nil, err
	case c.Labels[LabelNodeID] != a.nodeID || c.Labels[LabelTaskID] != req.TaskID:
		return nil, fmt.Errorf("the container %s is not one of task %s's on this node", req.Container, req.TaskID)
	}
	argv, err := shlex.Split(req.Command)
	if err != nil || len(argv) == 0 {
		return nil, fmt.Errorf("the command %q cannot be split into arguments", req.Command)
	}
	proc, err := a.rt.Exec(ctx, req.RuntimeID, runtime.ExecSpec{Cmd: argv, Tty: req.Interactive, Cols: cols, Rows: rows})
	if errors.Is(err, runtime.ErrNotRunning) {
		return nil, fmt.Errorf("the container %s is not running", req.Container)
	}
	return proc, err
}
