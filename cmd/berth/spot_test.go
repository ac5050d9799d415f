package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/berth/berth/internal/ecs"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/store/bolt"
)

// TestSpotInterruptCommand runs `berth spot interrupt` against the Spot
// endpoint, authenticated with the admin key in the data dir.
func TestSpotInterruptCommand(t *testing.T) {
	ctx := context.Background()
	dir, key := newAdminDataDir(t)
	st, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const region, account = "us-east-1", "000000000000"
	task := ecsstate.Task{ID: strings.Repeat("a", 32), Region: region, Cluster: "spot", DesiredStatus: ecsstate.StatusRunning}
	task.Spec.CapacityProviderName = "FARGATE_SPOT"
	if _, err := store.Update(ctx, st, task.Key(), func(v *ecsstate.Task, _ bool) error { *v = task; return nil }); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ecs.NewSpotHandler(ecs.SpotConfig{
		Config:        ecs.Config{Store: st, AccountID: account, Logger: slog.New(slog.DiscardHandler)},
		DefaultRegion: region,
		AdminSecret:   key.SecretAccessKey,
	}))
	defer srv.Close()
	listen := strings.TrimPrefix(srv.URL, "http://")
	arn := ecsstate.ARNs{Region: region, Account: account}.Task("spot", task.ID)

	run := func(args ...string) (string, error) {
		return runCommand(ctx, append([]string{"spot", "interrupt", "--listen", listen, "--data-dir", dir, "--region", region}, args...)...)
	}
	out, err := run("--cluster", "spot", "--task", arn)
	var printed ecs.SpotInterruptResponse
	if err != nil || json.Unmarshal([]byte(out), &printed) != nil || !slices.Equal(printed.Interrupted, []string{arn}) {
		t.Fatalf("interrupt printed %q, %v", out, err)
	}
	got, err := store.Get[ecsstate.Task](ctx, st, task.Key())
	if err != nil || got.Value.StopCode != "SpotInterruption" {
		t.Fatalf("task after the command: %+v %v", got.Value, err)
	}
	if _, err := run("--task", arn); err == nil || !strings.Contains(err.Error(), "already stopping") {
		t.Errorf("second interrupt: %v", err)
	}
	if _, err := run("--cluster", "spot", "--service", "nope"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("unknown service: %v", err)
	}
	if _, err := run("--task", arn, "--service", "x"); err == nil {
		t.Error("--task with --service accepted")
	}
	if _, err := run("--task", arn, "--count", "1"); err == nil {
		t.Error("--task with --count accepted")
	}

	// Another data dir's key is refused by the server.
	other, _ := newAdminDataDir(t)
	if _, err := runCommand(ctx, "spot", "interrupt", "--listen", listen, "--data-dir", other, "--task", arn); err == nil || !strings.Contains(err.Error(), "admin token") {
		t.Errorf("wrong key: %v", err)
	}
}
