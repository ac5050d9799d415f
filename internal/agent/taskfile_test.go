package agent

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// A task file written by an agent whose protocol messages still embedded
// the server's store records (testdata/tasks, from a real agent that ran
// and stopped a task) loads, and is written back unchanged.
func TestTaskFileOfEarlierAgent(t *testing.T) {
	const id = "1a5e349472f99d4c38859e91a8b9ea5f"
	b, err := os.ReadFile(filepath.Join("testdata", "tasks", id+".json"))
	if err != nil {
		t.Fatal(err)
	}
	a := &Agent{cfg: Config{DataDir: t.TempDir()}, log: slog.New(slog.DiscardHandler)}
	if err := a.writeTaskFile(id, b); err != nil {
		t.Fatal(err)
	}
	files, err := a.loadTaskFiles()
	if err != nil {
		t.Fatal(err)
	}
	tf, ok := files[id]
	if !ok {
		t.Fatalf("task file not loaded: %v", files)
	}
	if tf.Desired.Spec.Network == nil || len(tf.Desired.Spec.Containers) != 2 || tf.Facts.Network == nil || tf.Desired.DesiredStatus != "STOPPED" {
		t.Fatalf("task file loaded as %+v", tf)
	}
	again, err := encodeTaskFile(tf.Desired, tf.Forget, tf.Facts)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, b) {
		t.Errorf("task file written back as\n%s\nwant\n%s", again, b)
	}
}
