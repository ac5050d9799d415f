package agent

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth/berth/internal/agentproto"
)

// fakeSink is an in-memory log server with the endpoints' rules: a batch
// is stored only if its producer's position is its After.
type fakeSink struct {
	mu      sync.Mutex
	groups  map[string]bool // region|group
	streams map[agentproto.LogStreamRef][]agentproto.LogEvent
	cursors map[string]string // by producer
	// down fails every request with it; so does PutBatch once budget
	// (when set) batches are stored.
	down     error
	budget   int
	prepared []agentproto.LogStreamRequest
	batches  int
	changed  chan struct{}
}

func newFakeSink(groups ...string) *fakeSink {
	s := &fakeSink{groups: map[string]bool{}, streams: map[agentproto.LogStreamRef][]agentproto.LogEvent{},
		cursors: map[string]string{}, changed: make(chan struct{}, 1)}
	for _, g := range groups {
		s.groups["us-east-1|"+g] = true
	}
	return s
}

var errSinkDown = errors.New("connection refused")

func (s *fakeSink) setDown(err error) {
	s.mu.Lock()
	s.down = err
	s.mu.Unlock()
}

func (s *fakeSink) PrepareStream(ctx context.Context, req agentproto.LogStreamRequest) (agentproto.LogStreamResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return agentproto.LogStreamResponse{}, s.down
	}
	s.prepared = append(s.prepared, req)
	if strings.ContainsAny(req.Group+req.Stream, ":*") {
		return agentproto.LogStreamResponse{}, &LogSinkError{Status: 400,
			LogError: agentproto.LogError{Code: "InvalidParameterException", Message: "1 validation error detected"}}
	}
	g := req.Region + "|" + req.Group
	if !s.groups[g] {
		if !req.CreateGroup {
			return agentproto.LogStreamResponse{}, &LogSinkError{Status: 400,
				LogError: agentproto.LogError{Code: "ResourceNotFoundException", Message: "The specified log group does not exist."}}
		}
		s.groups[g] = true
	}
	if _, ok := s.streams[req.LogStreamRef]; !ok {
		s.streams[req.LogStreamRef] = nil
	}
	return agentproto.LogStreamResponse{Cursor: s.cursors[req.Producer]}, nil
}

func (s *fakeSink) PutBatch(ctx context.Context, b *agentproto.LogBatch) (agentproto.LogBatchResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return agentproto.LogBatchResponse{}, s.down
	}
	if s.budget > 0 && s.batches >= s.budget {
		return agentproto.LogBatchResponse{}, errSinkDown
	}
	if _, ok := s.streams[b.LogStreamRef]; !ok {
		return agentproto.LogBatchResponse{}, &LogSinkError{Status: 400,
			LogError: agentproto.LogError{Code: "ResourceNotFoundException", Message: "The specified log stream does not exist."}}
	}
	if cur := s.cursors[b.Producer]; cur != b.After {
		return agentproto.LogBatchResponse{}, &LogSinkError{Status: 409,
			LogError: agentproto.LogError{Code: agentproto.LogCursorMismatch, Message: "position moved", Cursor: cur}}
	}
	if len(b.Events) == 0 || len(b.Events) > maxBatchEvents {
		return agentproto.LogBatchResponse{}, &LogSinkError{Status: 400, LogError: agentproto.LogError{Code: "InvalidParameterException"}}
	}
	size := 0
	for _, e := range b.Events {
		size += len(e.Message) + perEventBytes
	}
	if size > maxBatchBytes {
		return agentproto.LogBatchResponse{}, &LogSinkError{Status: 400, LogError: agentproto.LogError{Code: "InvalidParameterException"}}
	}
	s.streams[b.LogStreamRef] = append(s.streams[b.LogStreamRef], b.Events...)
	s.cursors[b.Producer] = b.Cursor
	s.batches++
	select {
	case s.changed <- struct{}{}:
	default:
	}
	return agentproto.LogBatchResponse{Cursor: b.Cursor}, nil
}

// messages returns a stream's stored messages.
func (s *fakeSink) messages(ref agentproto.LogStreamRef) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, e := range s.streams[ref] {
		out = append(out, e.Message)
	}
	return out
}

// waitMessages waits until a stream holds n messages.
func (s *fakeSink) waitMessages(t *testing.T, ref agentproto.LogStreamRef, n int) []string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if got := s.messages(ref); len(got) >= n {
			return got
		}
		select {
		case <-s.changed:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("stream %v holds %d messages, want %d", ref, len(s.messages(ref)), n)
		}
	}
}

// handler serves the sink as the server's log endpoints.
func (s *fakeSink) handler(token string) http.Handler {
	serve := func(w http.ResponseWriter, r *http.Request, in any, call func() (any, error)) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(agentproto.LogError{Code: "UnrecognizedClientException", Message: "bad token"})
			return
		}
		if err := json.NewDecoder(r.Body).Decode(in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out, err := call()
		var le *LogSinkError
		switch {
		case errors.As(err, &le):
			w.WriteHeader(le.Status)
			json.NewEncoder(w).Encode(le.LogError)
		case err != nil:
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		default:
			json.NewEncoder(w).Encode(out)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+agentproto.LogStreamPath, func(w http.ResponseWriter, r *http.Request) {
		var req agentproto.LogStreamRequest
		serve(w, r, &req, func() (any, error) { return s.PrepareStream(r.Context(), req) })
	})
	mux.HandleFunc("POST "+agentproto.LogBatchPath, func(w http.ResponseWriter, r *http.Request) {
		var b agentproto.LogBatch
		serve(w, r, &b, func() (any, error) { return s.PutBatch(r.Context(), &b) })
	})
	return mux
}
