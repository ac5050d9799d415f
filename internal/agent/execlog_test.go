package agent

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/internal/agentproto"
)

func TestSessionLogRecordsLines(t *testing.T) {
	sink := newFakeSink("/ecs/exec")
	ref := agentproto.LogStreamRef{Region: "us-east-1", Group: "/ecs/exec", Stream: "ecs-execute-command-0123456789abcdef0"}
	rec := newSessionLog(sink, ref, "ecs-execute-command-0123456789abcdef0", "arn:aws:ecs:us-east-1:123456789012:task/c/t", slog.Default(), time.Now)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		rec.run(ctx)
	}()
	rec.Write([]byte("/ # echo hi\r\nhi\r\n"))
	rec.Write([]byte("/ # ex"))
	rec.Write([]byte("it\r\nlast words"))
	// The whole lines go within the flush interval, before the end.
	sink.waitMessages(t, ref, 3)
	cancel()
	<-done
	got := sink.messages(ref)
	if want := "/ # echo hi|hi|/ # exit|last words"; strings.Join(got, "|") != want {
		t.Errorf("recorded %q, want %q", strings.Join(got, "|"), want)
	}
}

func TestSessionLogNeverBlocksTheSession(t *testing.T) {
	sink := newFakeSink("/ecs/exec")
	sink.setDown(errSinkDown)
	ref := agentproto.LogStreamRef{Region: "us-east-1", Group: "/ecs/exec", Stream: "s"}
	rec := newSessionLog(sink, ref, "s", "", slog.Default(), time.Now)
	line := []byte(strings.Repeat("x", 1023) + "\n")
	for range 3 * sessionLogMaxPending / len(line) {
		rec.Write(line)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.pending > sessionLogMaxPending {
		t.Errorf("%d bytes kept, more than the %d bound", rec.pending, sessionLogMaxPending)
	}
	if last := rec.events[len(rec.events)-1].Message; !strings.Contains(last, "not recorded") {
		t.Errorf("the last event %q does not say output went unrecorded", last)
	}
}
