package datachannel

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestWireLayout builds a frame field by field at the protocol's offsets
// and checks Parse reads it, and Marshal writes it, byte for byte.
func TestWireLayout(t *testing.T) {
	id := uuid.MustParse("00112233-4455-6677-8899-aabbccddeeff")
	payload := []byte("hello")
	created := time.UnixMilli(1700000000123)
	frame := make([]byte, 120+len(payload))
	binary.BigEndian.PutUint32(frame[0:], 116)
	copy(frame[4:36], "output_stream_data              ")
	binary.BigEndian.PutUint32(frame[36:], 1)
	binary.BigEndian.PutUint64(frame[40:], uint64(created.UnixMilli()))
	binary.BigEndian.PutUint64(frame[48:], 7)
	binary.BigEndian.PutUint64(frame[56:], 0)
	// The id's least significant half first.
	copy(frame[64:72], []byte{0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff})
	copy(frame[72:80], []byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77})
	digest := sha256.Sum256(payload)
	copy(frame[80:112], digest[:])
	binary.BigEndian.PutUint32(frame[112:], uint32(PayloadOutput))
	binary.BigEndian.PutUint32(frame[116:], uint32(len(payload)))
	copy(frame[120:], payload)

	m, err := Parse(frame)
	if err != nil {
		t.Fatal(err)
	}
	want := Message{Type: OutputStreamData, SchemaVersion: 1, CreatedDate: created, SequenceNumber: 7, ID: id, PayloadType: PayloadOutput, Payload: payload}
	if m.Type != want.Type || m.SchemaVersion != 1 || !m.CreatedDate.Equal(created) || m.SequenceNumber != 7 || m.ID != id ||
		m.PayloadType != PayloadOutput || !bytes.Equal(m.Payload, payload) {
		t.Fatalf("parsed %+v, want %+v", m, want)
	}
	out, err := want.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, frame) {
		t.Fatalf("marshalled\n%x\nwant\n%x", out, frame)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, m := range []Message{
		{Type: Acknowledge, SchemaVersion: 1, CreatedDate: time.UnixMilli(1), SequenceNumber: 0, Flags: FlagAck, ID: uuid.New(), Payload: []byte(`{"AcknowledgedMessageSequenceNumber":3}`)},
		{Type: InputStreamData, SchemaVersion: 1, CreatedDate: time.UnixMilli(2), SequenceNumber: 1 << 40, ID: uuid.New(), PayloadType: PayloadSize, Payload: []byte(`{"cols":80,"rows":24}`)},
		{Type: StartPublication, SchemaVersion: 1, CreatedDate: time.UnixMilli(3), ID: uuid.New()},
	} {
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		got, err := Parse(b)
		if err != nil {
			t.Fatalf("%s: %v", m.Type, err)
		}
		if got.Type != m.Type || got.SequenceNumber != m.SequenceNumber || got.Flags != m.Flags || got.ID != m.ID ||
			got.PayloadType != m.PayloadType || !bytes.Equal(got.Payload, m.Payload) || !got.CreatedDate.Equal(m.CreatedDate) {
			t.Fatalf("round trip of %+v gave %+v", m, got)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	good, err := Message{Type: OutputStreamData, SchemaVersion: 1, CreatedDate: time.UnixMilli(1), ID: uuid.New(), PayloadType: PayloadOutput, Payload: []byte("data")}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	for _, tc := range []struct {
		name  string
		frame []byte
		want  error
	}{
		{"short", good[:100], ErrShort},
		{"tampered payload", edit(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), ErrDigest},
		{"tampered digest", edit(func(b []byte) []byte { b[90] ^= 1; return b }), ErrDigest},
		{"truncated payload", good[:len(good)-1], nil},
		{"extra bytes", append(bytes.Clone(good), 0), nil},
		{"header length", edit(func(b []byte) []byte { binary.BigEndian.PutUint32(b, 120); return b }), nil},
		{"no type", edit(func(b []byte) []byte { copy(b[4:36], bytes.Repeat([]byte{' '}, 32)); return b }), nil},
	} {
		_, err := Parse(tc.frame)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: %v, want an error (%v)", tc.name, err, tc.want)
		}
	}
	if _, err := (Message{Type: "a message type longer than thirty-two bytes"}).Marshal(); err == nil {
		t.Error("a long message type was written")
	}
}

// TestPayloadNames checks the JSON names the plugin reads and writes.
func TestPayloadNames(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{AcknowledgeContent{MessageType: OutputStreamData, MessageID: "m", SequenceNumber: 4, IsSequentialMessage: true},
			`{"AcknowledgedMessageType":"output_stream_data","AcknowledgedMessageId":"m","AcknowledgedMessageSequenceNumber":4,"IsSequentialMessage":true}`},
		{SizeData{Cols: 120, Rows: 40}, `{"cols":120,"rows":40}`},
		{HandshakeComplete{HandshakeTimeToComplete: time.Millisecond}, `{"HandshakeTimeToComplete":1000000,"CustomerMessage":""}`},
		{HandshakeRequest{AgentVersion: "3.3.0.0", RequestedClientActions: []RequestedClientAction{{ActionType: "SessionType",
			ActionParameters: SessionTypeRequest{SessionType: SessionTypeInteractiveCommands, Properties: map[string]any{}}}}},
			`{"AgentVersion":"3.3.0.0","RequestedClientActions":[{"ActionType":"SessionType","ActionParameters":{"SessionType":"InteractiveCommands","Properties":{}}}]}`},
	} {
		b, err := json.Marshal(tc.v)
		if err != nil || string(b) != tc.want {
			t.Errorf("%T: %s, want %s (%v)", tc.v, b, tc.want, err)
		}
	}
	var resp HandshakeResponse
	err := json.Unmarshal([]byte(`{"ClientVersion":"1.3.0.0","ProcessedClientActions":[{"ActionType":"SessionType","ActionStatus":1,"ActionResult":null,"Error":""}],"Errors":null}`), &resp)
	if err != nil || len(resp.ProcessedClientActions) != 1 || resp.ProcessedClientActions[0].ActionStatus != ActionSuccess {
		t.Fatalf("handshake response: %+v %v", resp, err)
	}
}
