package agenthub

import (
	"context"
	"fmt"

	"github.com/berth/berth/internal/agentproto"
)

// execVersion is the first protocol version with Exec.
const execVersion = 3

// Exec asks the agent of a node to run an ECS Exec session's command.
func (h *Hub) Exec(ctx context.Context, nodeID string, req agentproto.ExecRequest) error {
	h.mu.Lock()
	s := h.sessions[nodeID]
	h.mu.Unlock()
	switch {
	case s == nil:
		return fmt.Errorf("node %s is not connected", nodeID)
	case s.version < execVersion:
		return fmt.Errorf("the agent of node %s speaks protocol version %d, and ECS Exec needs %d: upgrade the agent", nodeID, s.version, execVersion)
	}
	return h.send(s, agentproto.Message{Exec: &req})
}
