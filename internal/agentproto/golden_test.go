package agentproto

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	json "github.com/go-json-experiment/json/v1"
)

// goldenFrames returns the version 1 frames in testdata/v1, by file name.
// They were recorded from berth's own code when the messages still
// embedded the store's records: session/ is a real conversation (an agent
// connecting, a task placed on it, started, the agent reconnecting, the
// task stopped), and the full-*.json frames set every field of their
// message.
func goldenFrames(t *testing.T) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob("testdata/v1/*.json")
	if err != nil {
		t.Fatal(err)
	}
	session, err := filepath.Glob("testdata/v1/session/*.json")
	if err != nil {
		t.Fatal(err)
	}
	frames := map[string][]byte{}
	for _, p := range append(paths, session...) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		frames[p] = b
	}
	if len(frames) == 0 {
		t.Fatal("no golden frames")
	}
	return frames
}

// TestVersion1Frames checks that every recorded frame decodes strictly and
// encodes back to the same bytes.
func TestVersion1Frames(t *testing.T) {
	for name, b := range goldenFrames(t) {
		m, err := decode(b)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, b) {
			t.Errorf("%s: encodes to\n%s\nwant\n%s", name, again, b)
		}
	}
}
