package agentproto

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// Container logs (the awslogs driver) travel apart from the task WebSocket,
// as plain HTTP requests with the agent's token: a chatty container must not
// delay the task messages, and each batch is acknowledged on its own. An
// agent that does not ship logs never calls these endpoints, so they need
// no protocol version.
const (
	// LogStreamPath prepares a log stream: POST LogStreamRequest, answer
	// LogStreamResponse.
	LogStreamPath = "/_berth/agent/logs/stream"
	// LogBatchPath stores a batch of events: POST LogBatch, answer
	// LogBatchResponse.
	LogBatchPath = "/_berth/agent/logs/batch"
)

// LogStreamRef names a CloudWatch Logs stream.
type LogStreamRef struct {
	Region string `json:"region"`
	Group  string `json:"group"`
	Stream string `json:"stream"`
}

// LogStreamRequest asks the server to make sure a stream exists before its
// container starts (creating the group too when CreateGroup is set), and
// for the position Producer's events have been stored up to.
type LogStreamRequest struct {
	LogStreamRef
	CreateGroup bool `json:"createGroup,omitempty"`
	// Producer names what writes the stream's events (the container's
	// runtime id); positions are kept per producer.
	Producer string `json:"producer"`
	// TaskARN is the task whose container writes the stream: the server
	// prepares the stream as the task's execution role. Empty from agents
	// that predate roles, whose streams are prepared unchecked.
	TaskARN string `json:"taskArn,omitempty"`
}

// LogStreamResponse answers a LogStreamRequest.
type LogStreamResponse struct {
	// Cursor is the producer's position after its last stored batch ("" if
	// none): the agent reads the container's output from there.
	Cursor string `json:"cursor"`
}

// LogBatch is a batch of a producer's events for one stream. It is stored
// only if the producer's stored position is still After, and then the
// position becomes Cursor in the same write: a batch resent after a lost
// answer or a restart is never stored twice.
type LogBatch struct {
	LogStreamRef
	Producer string     `json:"producer"`
	After    string     `json:"after"`
	Cursor   string     `json:"cursor"`
	Events   []LogEvent `json:"events"`
}

// LogEvent is one log event: its time in milliseconds since the epoch and
// its message.
type LogEvent struct {
	Timestamp int64  `json:"timestamp"`
	Message   string `json:"message"`
}

// LogBatchResponse answers a LogBatch with the producer's position now.
type LogBatchResponse struct {
	Cursor string `json:"cursor"`
}

// LogError is the body of a refused log request (HTTP 4xx or 5xx).
type LogError struct {
	// Code is CloudWatch Logs' exception name
	// ("ResourceNotFoundException", "InvalidParameterException") or
	// LogCursorMismatch.
	Code    string `json:"code"`
	Message string `json:"message"`
	// Cursor is the stored position, with LogCursorMismatch.
	Cursor string `json:"cursor,omitempty"`
}

// LogCursorMismatch is the code of a batch whose After is not the stored
// position: it was stored before, or another shipper writes the stream.
const LogCursorMismatch = "CursorMismatch"

// Authorized reports whether r carries the agent token ("Authorization:
// Bearer <token>"), compared in constant time. An empty token refuses
// every request.
func Authorized(r *http.Request, token string) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && token != "" && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}
