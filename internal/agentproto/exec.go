package agentproto

import (
	"context"
	"fmt"
	"net/http"

	"github.com/coder/websocket"
)

// ExecPath is where an agent opens its end of an ECS Exec session's data
// channel: ExecPath + the session id, a WebSocket with the agent's token.
// The server relays its binary messages to and from the session's client
// unchanged; the agent speaks the Session Manager data channel on it as
// the SSM agent does.
const ExecPath = "/_berth/agent/exec/"

// ExecRequest asks an agent to run a command in a container of one of its
// tasks for a session: the agent opens the session's data channel at
// ExecPath and runs the command once the client agreed to the session.
type ExecRequest struct {
	SessionID string `json:"sessionId"`
	TaskARN   string `json:"taskArn"`
	Cluster   string `json:"cluster"`
	TaskID    string `json:"taskId"`
	Container string `json:"container"`
	// RuntimeID is the container's runtime id, as the agent reported it.
	RuntimeID   string `json:"runtimeId"`
	Command     string `json:"command"`
	Interactive bool   `json:"interactive"`
	// Log is the stream the session's output is recorded to (nil: none).
	Log *LogStreamRef `json:"log,omitempty"`
}

// DialExec opens the agent's end of a session's data channel.
func DialExec(ctx context.Context, serverURL, token, sessionID string) (*websocket.Conn, error) {
	u, err := ServerBase(serverURL)
	if err != nil {
		return nil, err
	}
	u.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
	u.Path += ExecPath + sessionID
	ws, resp, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + token}},
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, fmt.Errorf("agentproto: open session %s: %s", sessionID, resp.Status)
		}
		return nil, fmt.Errorf("agentproto: open session %s: %w", sessionID, err)
	}
	ws.SetReadLimit(ReadLimit)
	return ws, nil
}
