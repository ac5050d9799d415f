package datachannel

import (
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testdata/plugin-1.3.0.0 is a session recorded between berth's agent
// side (AgentSession, the command a stand-in that echoes) and AWS's
// session-manager-plugin 1.3.0.0 on a 100x30 terminal: the plugin's open
// request, then every frame each way in the order sent. The user typed
// "echo hello", resized the terminal to 120x40 and typed "exit 3".
type recorded struct {
	name string
	b    []byte
}

func recording(t *testing.T, who string) []recorded {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "plugin-1.3.0.0", "*-"+who+".bin"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no recorded %s frames: %v", who, err)
	}
	var out []recorded
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, recorded{filepath.Base(p), b})
	}
	return out
}

// The plugin's frames are what berth reads them as.
func TestRecordedPluginFrames(t *testing.T) {
	open := recording(t, "client-open")[0]
	var req OpenDataChannel
	if err := json.Unmarshal(open.b, &req); err != nil || req.TokenValue != "token-for-the-recording" || req.ClientVersion != "1.3.0.0" || req.MessageSchemaVersion != "1.0" {
		t.Fatalf("open request %+v, %v", req, err)
	}
	var inputs []Message
	acked := map[int64]bool{}
	for _, f := range recording(t, "client") {
		m, err := Parse(f.b)
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		switch m.Type {
		case Acknowledge:
			var ack AcknowledgeContent
			if err := json.Unmarshal(m.Payload, &ack); err != nil || ack.MessageType != OutputStreamData || !ack.IsSequentialMessage || m.Flags != FlagAck {
				t.Errorf("%s: ack %+v flags %d (%v)", f.name, ack, m.Flags, err)
			}
			acked[ack.SequenceNumber] = true
		case InputStreamData:
			if m.SequenceNumber != int64(len(inputs)) || m.Flags != 0 {
				t.Errorf("%s: input %d with flags %d, want %d with 0", f.name, m.SequenceNumber, m.Flags, len(inputs))
			}
			inputs = append(inputs, m)
		default:
			t.Errorf("%s: a client sends no %s", f.name, m.Type)
		}
	}
	var resp HandshakeResponse
	if err := json.Unmarshal(inputs[0].Payload, &resp); err != nil || inputs[0].PayloadType != PayloadHandshakeResponse || !resp.agreed(ActionSessionType) {
		t.Fatalf("handshake response %+v (%v)", resp, err)
	}
	var sizes []SizeData
	var typed strings.Builder
	for _, m := range inputs[1:] {
		switch m.PayloadType {
		case PayloadSize:
			var s SizeData
			json.Unmarshal(m.Payload, &s)
			sizes = append(sizes, s)
		case PayloadOutput:
			typed.Write(m.Payload)
		}
	}
	// The plugin's terminal is in cbreak mode: Enter arrives as "\n".
	if typed.String() != "echo hello\nexit 3\n" || len(sizes) != 2 || sizes[0] != (SizeData{Cols: 100, Rows: 30}) || sizes[1] != (SizeData{Cols: 120, Rows: 40}) {
		t.Errorf("typed %q, sizes %+v", typed.String(), sizes)
	}
	// Every stream message of berth's side was acknowledged.
	for _, f := range recording(t, "agent") {
		if m, err := Parse(f.b); err != nil {
			t.Fatalf("%s: %v", f.name, err)
		} else if m.Type == OutputStreamData && !acked[m.SequenceNumber] {
			t.Errorf("%s: output %d never acknowledged", f.name, m.SequenceNumber)
		}
	}
}

// The plugin's input reaches the command once each and in order, and
// each message is acknowledged, however the frames arrive: as recorded,
// reordered, or with every frame twice.
func TestRecordedInputInAnyOrder(t *testing.T) {
	var frames [][]byte
	for _, f := range recording(t, "client") {
		if m, _ := Parse(f.b); m.Type == InputStreamData {
			frames = append(frames, f.b)
		}
	}
	orders := map[string][][]byte{"as recorded": frames}
	shuffled := append([][]byte(nil), frames...)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	orders["reordered"] = shuffled
	var twice [][]byte
	for _, f := range frames {
		twice = append(twice, f, f)
	}
	orders["duplicated"] = twice
	for name, order := range orders {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			tr := newGated(order...)
			ch := NewChannel(tr, AgentSide)
			go ch.Run(ctx)
			for want := range int64(len(frames)) {
				m, err := ch.Recv(ctx)
				if err != nil || m.SequenceNumber != want {
					t.Fatalf("delivered %d (%v), want %d", m.SequenceNumber, err, want)
				}
			}
			acks := map[int64]int{}
			for range order {
				w := <-tr.written
				m, _ := Parse(w)
				var ack AcknowledgeContent
				json.Unmarshal(m.Payload, &ack)
				if m.Type != Acknowledge || ack.MessageType != InputStreamData {
					t.Fatalf("wrote %s %q, want acknowledgements", m.Type, m.Payload)
				}
				acks[ack.SequenceNumber]++
			}
			if len(acks) != len(frames) {
				t.Errorf("acknowledged %v", acks)
			}
		})
	}
}

// An output whose acknowledgement is lost is sent again, the same frame,
// until one comes.
func TestRecordedLostAcknowledgement(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tr := newGated()
	ch := NewChannel(tr, AgentSide)
	go ch.Run(ctx)
	if err := ch.Send(ctx, PayloadOutput, []byte("hello\r\n")); err != nil {
		t.Fatal(err)
	}
	first := <-tr.written
	select {
	case again := <-tr.written:
		if string(again) != string(first) {
			t.Fatal("the resent frame differs from the first")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("an unacknowledged output was not sent again")
	}
}

// pause_publication holds this side's stream messages until
// start_publication.
func TestPausePublication(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	control := func(typ string) []byte {
		b, err := Message{Type: typ, SchemaVersion: SchemaVersion, CreatedDate: time.Now()}.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tr := newGated()
	ch := NewChannel(tr, AgentSide)
	go ch.Run(ctx)
	tr.frames <- control(PausePublication)
	time.Sleep(50 * time.Millisecond)
	sent := make(chan error, 1)
	go func() { sent <- ch.Send(ctx, PayloadOutput, []byte("held")) }()
	select {
	case <-sent:
		t.Fatal("a message went out while publication was paused")
	case <-time.After(200 * time.Millisecond):
	}
	tr.frames <- control(StartPublication)
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if m, _ := Parse(<-tr.written); string(m.Payload) != "held" {
		t.Fatalf("sent %q", m.Payload)
	}
}

// gated is a transport that reads the frames it was given and those the
// test sends later, and keeps what is written.
type gated struct {
	frames  chan []byte
	written chan []byte
}

func newGated(frames ...[]byte) *gated {
	g := &gated{frames: make(chan []byte, len(frames)+8), written: make(chan []byte, 64)}
	for _, f := range frames {
		g.frames <- f
	}
	return g
}

func (g *gated) ReadFrame(ctx context.Context) ([]byte, error) {
	select {
	case f := <-g.frames:
		return f, nil
	case <-ctx.Done():
		return nil, io.EOF
	}
}

func (g *gated) WriteFrame(ctx context.Context, frame []byte) error {
	g.written <- append([]byte(nil), frame...)
	return nil
}
