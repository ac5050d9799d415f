package datachannel

import (
	"encoding/json"
	"time"
)

// OpenDataChannel is the first frame a client sends, as text: it names
// the session by its token.
type OpenDataChannel struct {
	MessageSchemaVersion string `json:"MessageSchemaVersion"`
	RequestID            string `json:"RequestId"`
	TokenValue           string `json:"TokenValue"`
	ClientID             string `json:"ClientId"`
	ClientVersion        string `json:"ClientVersion"`
}

// AcknowledgeContent is an acknowledge message's payload: the stream
// message it acknowledges.
type AcknowledgeContent struct {
	MessageType         string `json:"AcknowledgedMessageType"`
	MessageID           string `json:"AcknowledgedMessageId"`
	SequenceNumber      int64  `json:"AcknowledgedMessageSequenceNumber"`
	IsSequentialMessage bool   `json:"IsSequentialMessage"`
}

// ActionSessionType is the handshake action that sets the session type.
const ActionSessionType = "SessionType"

// Session types the handshake asks the client to take part in.
const (
	SessionTypeInteractiveCommands    = "InteractiveCommands"
	SessionTypeNonInteractiveCommands = "NonInteractiveCommands"
	// SessionTypeShell is Session Manager's plain shell session.
	SessionTypeShell = "Standard_Stream"
)

// HandshakeRequest is the agent's first stream message: the actions it
// asks of the client.
type HandshakeRequest struct {
	AgentVersion           string                  `json:"AgentVersion"`
	RequestedClientActions []RequestedClientAction `json:"RequestedClientActions"`
}

// RequestedClientAction is one action of a handshake.
type RequestedClientAction struct {
	ActionType       string `json:"ActionType"`
	ActionParameters any    `json:"ActionParameters"`
}

// SessionTypeRequest is the parameters of a SessionType action.
type SessionTypeRequest struct {
	SessionType string `json:"SessionType"`
	Properties  any    `json:"Properties"`
}

// Action statuses of a handshake response.
const (
	ActionSuccess     = 1
	ActionFailed      = 2
	ActionUnsupported = 3
)

// HandshakeResponse is the client's answer to a handshake request.
type HandshakeResponse struct {
	ClientVersion          string                  `json:"ClientVersion"`
	ProcessedClientActions []ProcessedClientAction `json:"ProcessedClientActions"`
	Errors                 []string                `json:"Errors"`
}

// ProcessedClientAction is the client's result of one action.
type ProcessedClientAction struct {
	ActionType   string          `json:"ActionType"`
	ActionStatus int             `json:"ActionStatus"`
	ActionResult json.RawMessage `json:"ActionResult"`
	Error        string          `json:"Error"`
}

// HandshakeComplete ends the handshake; CustomerMessage is printed by the
// client when not empty.
type HandshakeComplete struct {
	HandshakeTimeToComplete time.Duration `json:"HandshakeTimeToComplete"`
	CustomerMessage         string        `json:"CustomerMessage"`
}

// SizeData is a size payload: the client's terminal size.
type SizeData struct {
	Cols uint32 `json:"cols"`
	Rows uint32 `json:"rows"`
}

// ChannelClosedContent is the payload of channel_closed: the session has
// ended.
type ChannelClosedContent struct {
	MessageID     string `json:"MessageId"`
	CreatedDate   string `json:"CreatedDate"`
	DestinationID string `json:"DestinationId"`
	SessionID     string `json:"SessionId"`
	MessageType   string `json:"MessageType"`
	SchemaVersion int    `json:"SchemaVersion"`
	Output        string `json:"Output"`
	// ExitCode is the command's exit status. It is berth's addition:
	// Session Manager clients ignore members they do not know, and
	// berth's own client exits with it.
	ExitCode *int `json:"ExitCode,omitempty"`
}
