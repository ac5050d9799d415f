package agentproto

import (
	stdjson "encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	json "github.com/go-json-experiment/json/v1"

	"github.com/berth/berth/internal/agentproto/prototest"
)

// goldenFrames returns the version 1 frames in testdata/v1, by file name.
// They were recorded from berth's own code when the messages still
// embedded the store's records: session/ is a real conversation (an agent
// connecting, a task placed on it, started, the agent reconnecting, the
// task stopped), and the full-*.json frames set every field of their
// message.
func goldenFrames(t *testing.T, pattern string) map[string][]byte {
	t.Helper()
	return versionFrames(t, "v1", pattern)
}

// versionFrames returns the frames of a version's testdata directory.
func versionFrames(t *testing.T, version, pattern string) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", version, pattern))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no golden frames match %s", pattern)
	}
	frames := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		frames[p] = b
	}
	return frames
}

// serverNodeMembers are the members of a version 1 Hello's node that agents
// sent empty (see serverNodeFields) with the empty value they had.
var serverNodeMembers = map[string]any{
	"status": "", "connected": false, "registeredAt": "0001-01-01T00:00:00Z", "seenAt": "0001-01-01T00:00:00Z",
}

// TestVersion1Frames checks that every recorded frame decodes strictly and
// encodes back to the same JSON, but for the empty server members of a
// Hello's node, which are no longer sent.
func TestVersion1Frames(t *testing.T) {
	frames := goldenFrames(t, "*.json")
	for name, b := range goldenFrames(t, "session/*.json") {
		frames[name] = b
	}
	for name, b := range frames {
		m, err := decode(b)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var want, got map[string]any
		if err := stdjson.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if err := stdjson.Unmarshal(again, &got); err != nil {
			t.Fatal(err)
		}
		if hello, ok := want["hello"].(map[string]any); ok {
			node := hello["node"].(map[string]any)
			for member, empty := range serverNodeMembers {
				if node[member] == empty {
					delete(node, member)
				}
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: encodes to\n%s\nwant\n%s", name, again, b)
		}
	}
}

// version2Members are the members version 2 added to version 1's
// messages.
var version2Members = map[string]bool{
	"Message.Task.Interface": true, "Message.Task.InterfaceError": true, "Message.Task.DrainUntil": true,
	"Message.Welcome.Tasks[].Interface": true, "Message.Welcome.Tasks[].InterfaceError": true, "Message.Welcome.Tasks[].DrainUntil": true,
}

// TestFullFrames checks that the frames that set every field of a version
// set every field of the types: a member the types gained would be one
// peers of that version do not know, which needs a new version.
func TestFullFrames(t *testing.T) {
	for _, version := range []string{"v1", "v2", "v3"} {
		for name, b := range versionFrames(t, version, "full-*.json") {
			m, err := decode(b)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for _, field := range prototest.Unset(m) {
				if strings.Count(field, ".") > 1 && !(version == "v1" && version2Members[field]) { // not one of the envelope's other messages
					t.Errorf("%s leaves %s unset", name, field)
				}
			}
		}
	}
}

func TestNegotiate(t *testing.T) {
	for agent, want := range map[int]int{Version: Version, Version + 1: Version, Version + 10: Version} {
		if got, err := Negotiate(agent); err != nil || got != want {
			t.Errorf("Negotiate(%d) = %d, %v; want %d", agent, got, err, want)
		}
	}
	for _, agent := range []int{0, -1} {
		if _, err := Negotiate(agent); err == nil || !strings.Contains(err.Error(), "names no protocol version") {
			t.Errorf("Negotiate(%d) = %v; want an error saying the hello names no version", agent, err)
		}
	}
	if MinVersion > 1 {
		if _, err := Negotiate(MinVersion - 1); err == nil || !strings.Contains(err.Error(), "upgrade the agent") {
			t.Errorf("Negotiate(%d) = %v; want an error saying to upgrade the agent", MinVersion-1, err)
		}
	}
}

func TestCheckWelcome(t *testing.T) {
	for v := MinVersion; v <= Version; v++ {
		if err := CheckWelcome(v); err != nil {
			t.Errorf("CheckWelcome(%d) = %v", v, err)
		}
	}
	if err := CheckWelcome(MinVersion - 1); err == nil || !strings.Contains(err.Error(), "upgrade the server") {
		t.Errorf("CheckWelcome(%d) = %v; want an error saying to upgrade the server", MinVersion-1, err)
	}
	if err := CheckWelcome(Version + 1); err == nil {
		t.Errorf("CheckWelcome(%d) succeeded", Version+1)
	}
}

// TestNewerHello checks that a Hello of a newer version that does not
// decode as this one is refused for its version, not for a member.
func TestNewerHello(t *testing.T) {
	_, err := decode([]byte(`{"hello":{"version":99,"node":{"id":"x","newMember":1},"tasks":[]}}`))
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "protocol version 99") || !strings.Contains(err.Error(), "upgrade the server") {
		t.Fatalf("err = %v", err)
	}
	// A frame of this version with an unknown member names the member.
	_, err = decode([]byte(`{"hello":{"version":1,"node":{"id":"x","newMember":1},"tasks":[]}}`))
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "newMember") {
		t.Fatalf("err = %v", err)
	}
}
