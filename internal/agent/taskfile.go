package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/berth/berth/internal/agentproto"
)

// A task's file in <DataDir>/tasks keeps what the runtime cannot show: the
// server's last intent (so an agent that restarts without its server keeps
// running and guarding its tasks) and the runner's own decisions and
// timestamps. The runtime stays the authority on what runs.

// taskFile is the content of one task's file.
type taskFile struct {
	Desired agentproto.DesiredTask `json:"desired"`
	Forget  bool                   `json:"forget,omitempty"`
	Facts   facts                  `json:"facts"`
}

// validID is what berth accepts as a task id or cluster name: it ends up in
// file names, labels and container names.
var validID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

func (a *Agent) tasksDir() string { return filepath.Join(a.cfg.DataDir, "tasks") }

func (a *Agent) taskFilePath(taskID string) string {
	return filepath.Join(a.tasksDir(), taskID+".json")
}

// encodeTaskFile returns the file content for a task. Registry passwords
// are left out: they are short-lived and the server sends fresh ones.
func encodeTaskFile(dt agentproto.DesiredTask, forget bool, f facts) ([]byte, error) {
	dt.Images = append([]agentproto.Image(nil), dt.Images...)
	for i := range dt.Images {
		dt.Images[i].Auth = nil
	}
	return json.Marshal(taskFile{Desired: dt, Forget: forget, Facts: f})
}

// writeTaskFile replaces a task's file atomically.
func (a *Agent) writeTaskFile(taskID string, b []byte) error {
	if err := os.MkdirAll(a.tasksDir(), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(a.tasksDir(), "."+taskID+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), a.taskFilePath(taskID))
}

func (a *Agent) removeTaskFile(taskID string) error {
	err := os.Remove(a.taskFilePath(taskID))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// loadTaskFiles reads every task file; unreadable ones are reported and
// skipped (the server's Welcome brings the intent back).
func (a *Agent) loadTaskFiles() (map[string]taskFile, error) {
	entries, err := os.ReadDir(a.tasksDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string]taskFile{}
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() || !validID.MatchString(id) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(a.tasksDir(), e.Name()))
		if err != nil {
			a.log.Warn("task file unreadable", "task", id, "err", err)
			continue
		}
		var tf taskFile
		if err := json.Unmarshal(b, &tf); err != nil || tf.Desired.ID != id {
			if err == nil {
				err = fmt.Errorf("file names task %q", tf.Desired.ID)
			}
			a.log.Warn("task file ignored", "task", id, "err", err)
			continue
		}
		out[id] = tf
	}
	return out, nil
}
