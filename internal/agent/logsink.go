package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/berth/berth/internal/agentproto"
)

// LogSink stores the agent's shipped container logs: berth's CloudWatch
// Logs, as agents see it.
type LogSink interface {
	// PrepareStream makes sure a stream exists and returns the position
	// its producer's events are stored up to.
	PrepareStream(ctx context.Context, req agentproto.LogStreamRequest) (agentproto.LogStreamResponse, error)
	// PutBatch stores a batch if the producer's events stand at its
	// After.
	PutBatch(ctx context.Context, b *agentproto.LogBatch) (agentproto.LogBatchResponse, error)
}

// LogSinkError is a log request the server refused.
type LogSinkError struct {
	Status int // HTTP status
	agentproto.LogError
}

func (e *LogSinkError) Error() string {
	msg := fmt.Sprintf("log server: HTTP %d", e.Status)
	if e.Code != "" {
		msg += ": " + e.Code
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// logErrorCode is the server's error code of err ("" for another error).
func logErrorCode(err error) string {
	var le *LogSinkError
	if errors.As(err, &le) {
		return le.Code
	}
	return ""
}

// httpLogSink is the server's log endpoints (agentproto/logs.go).
type httpLogSink struct {
	server *serverClient
}

func (s *httpLogSink) PrepareStream(ctx context.Context, req agentproto.LogStreamRequest) (agentproto.LogStreamResponse, error) {
	var resp agentproto.LogStreamResponse
	err := s.post(ctx, agentproto.LogStreamPath, req, &resp)
	return resp, err
}

func (s *httpLogSink) PutBatch(ctx context.Context, b *agentproto.LogBatch) (agentproto.LogBatchResponse, error) {
	var resp agentproto.LogBatchResponse
	err := s.post(ctx, agentproto.LogBatchPath, b, &resp)
	return resp, err
}

// post sends in as JSON and decodes the answer into out; a refusal is a
// *LogSinkError.
func (s *httpLogSink) post(ctx context.Context, path string, in, out any) error {
	refused, err := s.server.post(ctx, path, in, out)
	if err != nil || refused == nil {
		return err
	}
	le := &LogSinkError{Status: refused.status}
	if json.Unmarshal(refused.body, &le.LogError) != nil || le.Code == "" && le.Message == "" {
		le.LogError = agentproto.LogError{Message: strings.TrimSpace(string(refused.body))}
	}
	return le
}
