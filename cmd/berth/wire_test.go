package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestRunAll: the background work runs until shutdown, one piece stopping
// early is logged with what it means and leaves the others running, and
// runAll returns once every piece has.
func TestRunAll(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped := make(chan struct{})
	runnables := []runnable{
		{name: "agent", run: func(context.Context) error { return errors.New("no docker") }, consequence: "this host runs no tasks"},
		{name: "service controller", run: func(ctx context.Context) error {
			<-ctx.Done()
			close(stopped)
			return nil
		}},
	}
	done := make(chan struct{})
	go func() {
		runAll(ctx, runnables, logger)
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("runAll returned before shutdown")
	case <-time.After(20 * time.Millisecond):
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("runAll did not return after shutdown")
	}
	select {
	case <-stopped:
	default:
		t.Fatal("runAll returned before the service controller")
	}
	if got := logs.String(); !strings.Contains(got, `msg="agent stopped; this host runs no tasks" err="no docker"`) || strings.Contains(got, "service controller stopped") {
		t.Fatalf("logs:\n%s", got)
	}
}
