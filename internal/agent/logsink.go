package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

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

// logRequestTimeout bounds one log request: a batch is at most 1 MiB.
const logRequestTimeout = 30 * time.Second

// httpLogSink is the server's log endpoints (agentproto/logs.go).
type httpLogSink struct {
	base   string
	token  string
	client *http.Client
}

// newHTTPLogSink returns the log endpoints of the server at serverURL
// (http or https; ws and wss name the same server).
func newHTTPLogSink(serverURL, token string) (*httpLogSink, error) {
	u, err := agentproto.ServerBase(serverURL)
	if err != nil {
		return nil, err
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	// Every shipping container keeps a connection.
	transport.MaxIdleConnsPerHost = 64
	return &httpLogSink{base: u.String(), token: token, client: &http.Client{Transport: transport}}, nil
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
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, logRequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		le := &LogSinkError{Status: resp.StatusCode}
		if json.Unmarshal(b, &le.LogError) != nil || le.Code == "" && le.Message == "" {
			le.LogError = agentproto.LogError{Message: strings.TrimSpace(string(b))}
		}
		return le
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("log server: %s answer: %w", path, err)
	}
	return nil
}
