// Package datachannel is the Session Manager data channel's wire format,
// which `aws ecs execute-command` speaks through the session-manager-plugin
// to berth: the binary agent messages (a fixed header with the message
// type, sequence number, flags, message id and the payload's SHA-256
// digest, then the payload) and the payloads the two sides exchange. It is
// pure: no I/O.
package datachannel

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Message types.
const (
	InputStreamData  = "input_stream_data"  // plugin to agent
	OutputStreamData = "output_stream_data" // agent to plugin
	Acknowledge      = "acknowledge"
	ChannelClosed    = "channel_closed"
	StartPublication = "start_publication"
	PausePublication = "pause_publication"
)

// PayloadType says what a stream message's payload is.
type PayloadType uint32

// Payload types.
const (
	PayloadOutput               PayloadType = 1
	PayloadError                PayloadType = 2
	PayloadSize                 PayloadType = 3
	PayloadParameter            PayloadType = 4
	PayloadHandshakeRequest     PayloadType = 5
	PayloadHandshakeResponse    PayloadType = 6
	PayloadHandshakeComplete    PayloadType = 7
	PayloadEncChallengeRequest  PayloadType = 8
	PayloadEncChallengeResponse PayloadType = 9
	PayloadFlag                 PayloadType = 10
	PayloadStdErr               PayloadType = 11
	PayloadExitCode             PayloadType = 12
)

// Flags of a message.
const (
	// FlagSYN marks an agent's first stream message.
	FlagSYN uint64 = 1
	// FlagAck is what acknowledgements carry (SYN and FIN bits both set,
	// as the agent sends them).
	FlagAck uint64 = 3
)

// The header's layout: every field at a fixed offset, big-endian. The
// header length field counts the bytes before the payload length.
const (
	offsetMessageType    = 4
	lengthMessageType    = 32
	offsetSchemaVersion  = 36
	offsetCreatedDate    = 40
	offsetSequenceNumber = 48
	offsetFlags          = 56
	offsetMessageID      = 64
	offsetPayloadDigest  = 80
	lengthPayloadDigest  = 32
	offsetPayloadType    = 112
	offsetPayloadLength  = 116
	// HeaderLength is the value of the header length field.
	HeaderLength = offsetPayloadLength
	// payloadOffset is where the payload begins.
	payloadOffset = offsetPayloadLength + 4
)

// SchemaVersion is the message schema both sides speak.
const SchemaVersion = 1

// Message is one agent message.
type Message struct {
	Type           string
	SchemaVersion  uint32
	CreatedDate    time.Time
	SequenceNumber int64
	Flags          uint64
	ID             uuid.UUID
	PayloadType    PayloadType
	Payload        []byte
}

// Errors of Parse.
var (
	ErrShort  = errors.New("datachannel: message shorter than its header")
	ErrDigest = errors.New("datachannel: payload digest does not match")
)

// Marshal is the message's wire form, its digest computed. The type is
// space-padded to its 32 bytes; a longer one is an error.
func (m Message) Marshal() ([]byte, error) {
	if len(m.Type) > lengthMessageType {
		return nil, fmt.Errorf("datachannel: message type %q is longer than %d bytes", m.Type, lengthMessageType)
	}
	if len(m.Payload) > 1<<31-1 {
		return nil, errors.New("datachannel: payload too large")
	}
	b := make([]byte, payloadOffset+len(m.Payload))
	binary.BigEndian.PutUint32(b, HeaderLength)
	copy(b[offsetMessageType:offsetMessageType+lengthMessageType], bytes.Repeat([]byte{' '}, lengthMessageType))
	copy(b[offsetMessageType:], m.Type)
	binary.BigEndian.PutUint32(b[offsetSchemaVersion:], m.SchemaVersion)
	binary.BigEndian.PutUint64(b[offsetCreatedDate:], uint64(m.CreatedDate.UnixMilli()))
	binary.BigEndian.PutUint64(b[offsetSequenceNumber:], uint64(m.SequenceNumber))
	binary.BigEndian.PutUint64(b[offsetFlags:], m.Flags)
	putID(b[offsetMessageID:], m.ID)
	digest := sha256.Sum256(m.Payload)
	copy(b[offsetPayloadDigest:], digest[:])
	binary.BigEndian.PutUint32(b[offsetPayloadType:], uint32(m.PayloadType))
	binary.BigEndian.PutUint32(b[offsetPayloadLength:], uint32(len(m.Payload)))
	copy(b[payloadOffset:], m.Payload)
	return b, nil
}

// Parse reads a message from its wire form. It checks what a receiver
// must: the header is whole, the payload length agrees with what follows
// the header, and the payload matches its digest. The payload aliases b.
func Parse(b []byte) (Message, error) {
	if len(b) < payloadOffset {
		return Message{}, ErrShort
	}
	hl := binary.BigEndian.Uint32(b)
	if hl != HeaderLength {
		return Message{}, fmt.Errorf("datachannel: header length %d, want %d", hl, HeaderLength)
	}
	m := Message{
		Type:           strings.TrimSpace(string(bytes.Trim(b[offsetMessageType:offsetMessageType+lengthMessageType], "\x00"))),
		SchemaVersion:  binary.BigEndian.Uint32(b[offsetSchemaVersion:]),
		CreatedDate:    time.UnixMilli(int64(binary.BigEndian.Uint64(b[offsetCreatedDate:]))),
		SequenceNumber: int64(binary.BigEndian.Uint64(b[offsetSequenceNumber:])),
		Flags:          binary.BigEndian.Uint64(b[offsetFlags:]),
		ID:             getID(b[offsetMessageID:]),
		PayloadType:    PayloadType(binary.BigEndian.Uint32(b[offsetPayloadType:])),
	}
	if m.Type == "" {
		return Message{}, errors.New("datachannel: message type missing")
	}
	n := binary.BigEndian.Uint32(b[offsetPayloadLength:])
	if uint64(n) != uint64(len(b)-payloadOffset) {
		return Message{}, fmt.Errorf("datachannel: payload length %d, but %d bytes follow the header", n, len(b)-payloadOffset)
	}
	m.Payload = b[payloadOffset:]
	if digest := sha256.Sum256(m.Payload); n > 0 && !bytes.Equal(digest[:], b[offsetPayloadDigest:offsetPayloadDigest+lengthPayloadDigest]) {
		return Message{}, ErrDigest
	}
	return m, nil
}

// PeekType is the message type of a message's wire form, read from its
// header alone (no digest check): for relays, which pass messages on
// without reading them.
func PeekType(b []byte) (string, bool) {
	if len(b) < payloadOffset || binary.BigEndian.Uint32(b) != HeaderLength {
		return "", false
	}
	return strings.TrimSpace(string(bytes.Trim(b[offsetMessageType:offsetMessageType+lengthMessageType], "\x00"))), true
}

// putID writes a message id as the protocol orders it: its least
// significant eight bytes first, then its most significant.
func putID(b []byte, id uuid.UUID) {
	copy(b[:8], id[8:])
	copy(b[8:16], id[:8])
}

func getID(b []byte) uuid.UUID {
	var id uuid.UUID
	copy(id[8:], b[:8])
	copy(id[:8], b[8:16])
	return id
}
