package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/berth/berth/internal/agentproto"
)

// Timeouts of the conversation with the server.
const (
	welcomeTimeout = 30 * time.Second
	sendTimeout    = 30 * time.Second
)

// connectLoop keeps a connection to the server until ctx ends,
// reconnecting with capped exponential backoff. Tasks run on while it is
// away; on every connection the Hello carries the whole observed state, so
// nothing but the latest report per task is kept in between.
func (a *Agent) connectLoop(ctx context.Context) {
	bo := backoff{}
	for ctx.Err() == nil {
		conn, err := agentproto.Dial(ctx, a.cfg.ServerURL, a.cfg.Token)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			a.log.Warn("cannot reach the server; retrying", "server", a.cfg.ServerURL, "err", err)
			sleepCtx(ctx, bo.next())
			continue
		}
		welcomed, err := a.session(ctx, conn)
		a.metrics.connected.Set(0)
		if welcomed {
			bo.reset()
		}
		if ctx.Err() != nil {
			return
		}
		a.log.Warn("disconnected from the server; reconnecting", "err", err)
		sleepCtx(ctx, bo.next())
	}
}

// session runs one connection: Hello, Welcome, then reports out and
// intent in until the connection or ctx ends. It reports whether the
// server welcomed the agent.
func (a *Agent) session(ctx context.Context, conn *agentproto.Conn) (welcomed bool, err error) {
	reason := "agent stopping"
	defer func() {
		if err != nil {
			reason = err.Error()
		}
		conn.Close(reason)
	}()

	if err := a.send(ctx, conn, agentproto.Message{Hello: a.hello()}); err != nil {
		return false, err
	}
	wctx, cancel := context.WithTimeout(ctx, welcomeTimeout)
	m, err := conn.Recv(wctx)
	cancel()
	switch {
	case err != nil:
		return false, fmt.Errorf("waiting for the server's welcome: %w", err)
	case m.Error != "":
		return false, fmt.Errorf("server refused the agent: %s", m.Error)
	case m.Welcome == nil:
		return false, fmt.Errorf("server answered the hello with a %s message", m.Kind())
	}
	if err := agentproto.CheckWelcome(m.Welcome.Version); err != nil {
		return false, err
	}
	a.log.Info("connected to the server", "server", a.cfg.ServerURL, "protocolVersion", m.Welcome.Version, "tasks", len(m.Welcome.Tasks), "region", m.Welcome.Region)
	a.metrics.connected.Set(1)
	a.applyWelcome(m.Welcome)

	sctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		stop(a.sendReports(sctx, conn))
	}()
	defer wg.Wait()

	for {
		m, err := conn.Recv(sctx)
		if err != nil {
			if errors.Is(err, agentproto.ErrMalformed) {
				a.log.Warn("malformed message from the server ignored", "err", err)
				continue
			}
			if cause := context.Cause(sctx); sctx.Err() != nil && cause != nil && !errors.Is(cause, context.Canceled) {
				err = cause
			}
			stop(err)
			return true, err
		}
		switch {
		case m.Task != nil:
			a.applyDesired(*m.Task, false)
		case m.Forget != nil:
			a.applyForget(*m.Forget)
		case m.Network != nil:
			a.networks.update(m.Network)
		case m.Exec != nil:
			a.startExec(*m.Exec)
		case m.Error != "":
			err := fmt.Errorf("server ended the connection: %s", m.Error)
			stop(err)
			return true, err
		default:
			a.log.Warn("unexpected message from the server ignored", "kind", m.Kind())
		}
	}
}

// hello is the agent's first message on a connection: the node and every
// task's latest report.
func (a *Agent) hello() *agentproto.Hello {
	node := a.cfg.Node
	node.ID = a.nodeID
	if node.Hostname == "" {
		node.Hostname, _ = os.Hostname()
	}
	return &agentproto.Hello{Version: agentproto.Version, Node: node, Tasks: a.allReports()}
}

// sendReports sends every changed report until ctx ends or a send fails.
func (a *Agent) sendReports(ctx context.Context, conn *agentproto.Conn) error {
	for {
		batch := a.takeDirty()
		for k := range batch {
			if err := a.send(ctx, conn, agentproto.Message{Status: &batch[k]}); err != nil {
				a.markDirty(batch[k:])
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-a.reportsChanged:
		}
	}
}

func (a *Agent) send(ctx context.Context, conn *agentproto.Conn, m agentproto.Message) error {
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	return conn.Send(ctx, m)
}
