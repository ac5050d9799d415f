package agenthub

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	json "github.com/go-json-experiment/json/v1"
	"github.com/google/go-cmp/cmp"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/agentproto/prototest"
	"github.com/berth/berth/internal/ecs/ecsstate"
)

// The round trips below go from a store record to the wire and back, the
// hub converting one way and a peer of protocol version 1 the other: such
// a peer encoded and decoded the store's records themselves (its messages
// embedded them), so version 1's wire must carry every field of them under
// the same names. Records are filled completely, so a field added to a
// record or to the wire and not converted fails a test.

// strictDecode decodes one JSON value as the agent protocol does: unknown
// members are an error.
func strictDecode(t *testing.T, b []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decoding into %T: %v\n%s", v, err, b)
	}
}

func encode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// requireSet fails the test for every field v leaves unset.
func requireSet(t *testing.T, v any) {
	t.Helper()
	for _, field := range prototest.Unset(v) {
		t.Errorf("%s is not set", field)
	}
}

func TestSpecRoundTrip(t *testing.T) {
	var rec ecsstate.TaskSpec
	prototest.Fill(&rec)
	// The server's own: the targets and registries controllers, not the
	// agent, register the task with its service's load balancers and
	// Cloud Map.
	rec.LoadBalancers, rec.ServiceRegistries = nil, nil
	wire := wireSpec(rec)
	requireSet(t, wire)
	var back ecsstate.TaskSpec // as an agent of version 1 reads it
	strictDecode(t, encode(t, wire), &back)
	if diff := cmp.Diff(rec, back); diff != "" {
		t.Errorf("task spec changed on the way (-record +after):\n%s", diff)
	}
}

func TestStatusRoundTrip(t *testing.T) {
	var rec ecsstate.TaskStatus
	prototest.Fill(&rec)
	var wire agentproto.TaskStatus // as an agent of version 1 sends it
	strictDecode(t, encode(t, rec), &wire)
	requireSet(t, wire)
	if diff := cmp.Diff(rec, storedStatus(wire)); diff != "" {
		t.Errorf("task status changed on the way (-record +after):\n%s", diff)
	}
}

// withoutServerFields clears the fields of a node record that are the
// server's own, which no Hello sets.
func withoutServerFields(n ecsstate.Node) ecsstate.Node {
	n.Status, n.Connected, n.RegisteredAt, n.SeenAt = "", false, time.Time{}, time.Time{}
	return n
}

func TestNodeRoundTrip(t *testing.T) {
	var rec ecsstate.Node
	prototest.Fill(&rec)
	var wire agentproto.Node // as an agent of version 1 sends it
	strictDecode(t, encode(t, rec), &wire)
	requireSet(t, wire)
	var got ecsstate.Node
	setAgentNodeFields(&got, wire)
	if diff := cmp.Diff(withoutServerFields(rec), got); diff != "" {
		t.Errorf("node changed on the way (-record +after):\n%s", diff)
	}
	// The server's own fields survive a Hello.
	server := ecsstate.Node{Status: "DRAINING", Connected: true, RegisteredAt: rec.RegisteredAt, SeenAt: rec.SeenAt}
	setAgentNodeFields(&server, agentproto.Node{ID: rec.ID})
	if server.Status != "DRAINING" || !server.Connected || server.RegisteredAt != rec.RegisteredAt || server.SeenAt != rec.SeenAt {
		t.Errorf("a Hello changed the server's fields: %+v", server)
	}
}

// version1Message is a frame as protocol version 1 was first defined, its
// messages embedding the store's records: how the server read and wrote
// the frames in ../agentproto/testdata/v1.
type version1Message struct {
	Hello *struct {
		Version int              `json:"version"`
		Node    ecsstate.Node    `json:"node"`
		Tasks   []version1Report `json:"tasks"`
	} `json:"hello,omitempty"`
	Welcome *struct {
		Version      int                   `json:"version"`
		Tasks        []version1DesiredTask `json:"tasks"`
		RegistryHost string                `json:"registryHost"`
		AccountID    string                `json:"accountId"`
		Region       string                `json:"region"`
	} `json:"welcome,omitempty"`
	Task   *version1DesiredTask `json:"task,omitempty"`
	Status *version1Report      `json:"status,omitempty"`
	Forget *agentproto.TaskRef  `json:"forget,omitempty"`
	Error  string               `json:"error,omitempty"`
}

type version1Report struct {
	Cluster string              `json:"cluster"`
	ID      string              `json:"id"`
	Status  ecsstate.TaskStatus `json:"status"`
}

type version1DesiredTask struct {
	Cluster       string             `json:"cluster"`
	ID            string             `json:"id"`
	ARN           string             `json:"arn"`
	Generation    int64              `json:"generation"`
	DesiredStatus string             `json:"desiredStatus"`
	Spec          ecsstate.TaskSpec  `json:"spec"`
	StopCode      string             `json:"stopCode,omitempty"`
	StoppedReason string             `json:"stoppedReason,omitempty"`
	ClusterARN    string             `json:"clusterArn"`
	ContainerARNs []string           `json:"containerArns"`
	Images        []agentproto.Image `json:"images"`
}

// wire is d as the hub sends it now.
func (d version1DesiredTask) wire() agentproto.DesiredTask {
	return agentproto.DesiredTask{
		Cluster: d.Cluster, ID: d.ID, ARN: d.ARN, Generation: d.Generation, DesiredStatus: d.DesiredStatus,
		Spec: wireSpec(d.Spec), StopCode: d.StopCode, StoppedReason: d.StoppedReason,
		ClusterARN: d.ClusterARN, ContainerARNs: d.ContainerARNs, Images: d.Images,
	}
}

// TestVersion1FramesMeanTheSame decodes every recorded version 1 frame both
// as version 1 was first defined and as the protocol's own types: what the
// hub records of the agents' frames is the same, and what it sends is what
// it sent.
func TestVersion1FramesMeanTheSame(t *testing.T) {
	paths, err := filepath.Glob("../agentproto/testdata/v1/*.json")
	if err != nil {
		t.Fatal(err)
	}
	session, err := filepath.Glob("../agentproto/testdata/v1/session/*.json")
	if err != nil {
		t.Fatal(err)
	}
	paths = append(paths, session...)
	if len(paths) < 10 {
		t.Fatalf("found %d golden frames", len(paths))
	}
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var old version1Message
		var m agentproto.Message
		strictDecode(t, b, &old)
		strictDecode(t, b, &m)
		name := filepath.Base(path)
		switch {
		case old.Hello != nil:
			var node ecsstate.Node
			setAgentNodeFields(&node, m.Hello.Node)
			if diff := cmp.Diff(withoutServerFields(old.Hello.Node), node); diff != "" {
				t.Errorf("%s: node recorded differently (-before +now):\n%s", name, diff)
			}
			if m.Hello.Version != old.Hello.Version || len(m.Hello.Tasks) != len(old.Hello.Tasks) {
				t.Fatalf("%s: hello %+v, was %+v", name, m.Hello, old.Hello)
			}
			for i, rep := range old.Hello.Tasks {
				checkReport(t, name, m.Hello.Tasks[i], rep)
			}
		case old.Status != nil:
			checkReport(t, name, *m.Status, *old.Status)
		case old.Task != nil:
			if diff := cmp.Diff(old.Task.wire(), *m.Task); diff != "" {
				t.Errorf("%s: task decodes differently from what the hub sends (-sent +decoded):\n%s", name, diff)
			}
		case old.Welcome != nil:
			w := m.Welcome
			if w.Version != old.Welcome.Version || w.RegistryHost != old.Welcome.RegistryHost || w.AccountID != old.Welcome.AccountID ||
				w.Region != old.Welcome.Region || len(w.Tasks) != len(old.Welcome.Tasks) {
				t.Fatalf("%s: welcome %+v, was %+v", name, w, old.Welcome)
			}
			for i, d := range old.Welcome.Tasks {
				if diff := cmp.Diff(d.wire(), w.Tasks[i]); diff != "" {
					t.Errorf("%s: welcome task decodes differently from what the hub sends (-sent +decoded):\n%s", name, diff)
				}
			}
		case old.Forget != nil:
			if *m.Forget != *old.Forget {
				t.Errorf("%s: forget %+v, was %+v", name, *m.Forget, *old.Forget)
			}
		default:
			if m.Error != old.Error || m.Error == "" {
				t.Errorf("%s: error %q, was %q", name, m.Error, old.Error)
			}
		}
	}
}

func checkReport(t *testing.T, name string, got agentproto.TaskReport, want version1Report) {
	t.Helper()
	if got.Cluster != want.Cluster || got.ID != want.ID {
		t.Errorf("%s: report of %s/%s, was %s/%s", name, got.Cluster, got.ID, want.Cluster, want.ID)
	}
	if diff := cmp.Diff(want.Status, storedStatus(got.Status)); diff != "" {
		t.Errorf("%s: status recorded differently (-before +now):\n%s", name, diff)
	}
}
