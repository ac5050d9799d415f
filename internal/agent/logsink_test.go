package agent

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/berth/berth/internal/agentproto"
)

func TestHTTPLogSink(t *testing.T) {
	fs := newFakeSink("g")
	srv := httptest.NewServer(fs.handler("tok"))
	defer srv.Close()
	sink, err := newHTTPLogSink(strings.Replace(srv.URL, "http://", "ws://", 1)+"/", "tok")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ref := agentproto.LogStreamRef{Region: "us-east-1", Group: "g", Stream: "web/app/1"}
	resp, err := sink.PrepareStream(ctx, agentproto.LogStreamRequest{LogStreamRef: ref, Producer: "c1"})
	if err != nil || resp.Cursor != "" {
		t.Fatalf("PrepareStream = %+v, %v", resp, err)
	}
	batch := &agentproto.LogBatch{LogStreamRef: ref, Producer: "c1", After: "", Cursor: "2024-01-01T00:00:00Z#1",
		Events: []agentproto.LogEvent{{Timestamp: 1704067200000, Message: "hello"}}}
	if br, err := sink.PutBatch(ctx, batch); err != nil || br.Cursor != batch.Cursor {
		t.Fatalf("PutBatch = %+v, %v", br, err)
	}
	if got := fs.messages(ref); len(got) != 1 || got[0] != "hello" {
		t.Errorf("stored %q", got)
	}
	if resp, err := sink.PrepareStream(ctx, agentproto.LogStreamRequest{LogStreamRef: ref, Producer: "c1"}); err != nil || resp.Cursor != batch.Cursor {
		t.Errorf("PrepareStream again = %+v, %v", resp, err)
	}

	// Refusals come back with the server's code, status and position.
	_, err = sink.PutBatch(ctx, batch)
	var le *LogSinkError
	if !errors.As(err, &le) || le.Status != 409 || le.Code != agentproto.LogCursorMismatch || le.Cursor != batch.Cursor {
		t.Errorf("resent batch: %v", err)
	}
	_, err = sink.PrepareStream(ctx, agentproto.LogStreamRequest{LogStreamRef: agentproto.LogStreamRef{Region: "us-east-1", Group: "nope", Stream: "s"}, Producer: "c2"})
	if logErrorCode(err) != "ResourceNotFoundException" || !strings.Contains(err.Error(), "HTTP 400: ResourceNotFoundException: The specified log group does not exist.") {
		t.Errorf("missing group: %v", err)
	}
	bad, _ := newHTTPLogSink(srv.URL, "wrong")
	if _, err := bad.PrepareStream(ctx, agentproto.LogStreamRequest{LogStreamRef: ref, Producer: "c1"}); !errors.As(err, &le) || le.Status != http.StatusUnauthorized {
		t.Errorf("wrong token: %v", err)
	}
	// A body that is not a LogError is the message.
	fs.setDown(errors.New("database is locked"))
	if _, err := sink.PutBatch(ctx, batch); !errors.As(err, &le) || le.Status != 503 || le.Code != "" || le.Message != "database is locked" {
		t.Errorf("plain error: %v", err)
	}
}

func TestHTTPLogSinkURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"http://127.0.0.1:4566", "http://127.0.0.1:4566"},
		{"wss://berth.example/base/", "https://berth.example/base"},
	} {
		s, err := newHTTPLogSink(tc.in, "t")
		if err != nil || s.server.base != tc.want {
			t.Errorf("%s: %v %v", tc.in, s, err)
		}
	}
	for _, bad := range []string{"ftp://x", "http://", "::"} {
		if _, err := newHTTPLogSink(bad, "t"); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// newHTTPLogSink returns, as the agent makes them, the log endpoints of the server at serverURL
// (http or https; ws and wss name the same server).
func newHTTPLogSink(serverURL, token string) (*httpLogSink, error) {
	c, err := newServerClient(serverURL, token)
	if err != nil {
		return nil, err
	}
	return &httpLogSink{server: c}, nil
}
