package datachannel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Transport carries a data channel's frames, each a whole binary agent
// message (a WebSocket's binary messages).
type Transport interface {
	ReadFrame(ctx context.Context) ([]byte, error)
	WriteFrame(ctx context.Context, frame []byte) error
}

// Side is which end of the data channel a Channel is.
type Side int

const (
	// AgentSide runs the command: it sends output_stream_data.
	AgentSide Side = iota
	// ClientSide is the user's (the session-manager-plugin's): it sends
	// input_stream_data.
	ClientSide
)

// ErrClosed is returned once the channel has ended.
var ErrClosed = errors.New("datachannel: channel closed")

// Channel is one end of a data channel: it numbers and sends this side's
// stream messages and keeps them until the peer acknowledges them,
// resending the oldest after the retransmission timeout; it acknowledges
// every stream message of the peer and delivers them in order, each once.
// Run reads the transport; the other methods may be called from any
// goroutine while it runs.
type Channel struct {
	t        Transport
	side     Side
	sendType string
	recvType string
	now      func() time.Time

	// writeMu keeps frames whole and stream messages in sequence order
	// on the wire.
	writeMu sync.Mutex

	mu        sync.Mutex
	out       *Outgoing
	in        Incoming
	paused    bool
	changed   chan struct{} // closed and replaced when acks, pauses or the end change what Send and Flush wait for
	delivered []Message
	arrived   chan struct{} // closed and replaced when a message is delivered
	ended     bool
	cause     error
	closedBy  *ChannelClosedContent
	done      chan struct{}
}

// NewChannel returns side's end of a data channel over t.
func NewChannel(t Transport, side Side) *Channel {
	c := &Channel{
		t: t, side: side, now: time.Now,
		out:     NewOutgoing(),
		changed: make(chan struct{}),
		arrived: make(chan struct{}),
		done:    make(chan struct{}),
	}
	c.sendType, c.recvType = OutputStreamData, InputStreamData
	if side == ClientSide {
		c.sendType, c.recvType = InputStreamData, OutputStreamData
	}
	return c
}

// Run reads the transport and resends what is due until the channel
// ends: the peer closed it (channel_closed), the transport failed, a
// message went unacknowledged for too long, or ctx ended. It returns
// why; nil when the peer closed the channel.
func (c *Channel) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go c.resend(ctx)
	for {
		frame, err := c.t.ReadFrame(ctx)
		if err != nil {
			if ctx.Err() != nil && c.isEnded() {
				return c.Err()
			}
			c.end(fmt.Errorf("datachannel: read: %w", err), nil)
			return c.Err()
		}
		m, err := Parse(frame)
		if err != nil {
			// A frame that is not a message (or fails its digest) is
			// dropped: if it was a stream message, its sender resends it.
			continue
		}
		if err := c.receive(ctx, m); err != nil {
			c.end(err, nil)
			return c.Err()
		}
		if c.isEnded() {
			return c.Err()
		}
	}
}

func (c *Channel) receive(ctx context.Context, m Message) error {
	switch m.Type {
	case Acknowledge:
		var ack AcknowledgeContent
		if json.Unmarshal(m.Payload, &ack) != nil {
			return nil
		}
		c.mu.Lock()
		if c.out.Acked(ack.SequenceNumber, c.now()) {
			c.signalLocked()
		}
		c.mu.Unlock()
	case c.recvType:
		if err := c.acknowledge(ctx, m); err != nil {
			return err
		}
		c.mu.Lock()
		deliver, ok := c.in.Accept(m)
		if !ok {
			c.mu.Unlock()
			return errors.New("datachannel: too many messages wait for a missing one")
		}
		if len(deliver) > 0 {
			for _, d := range deliver {
				// The payload aliases the frame; the transport may reuse it.
				d.Payload = append([]byte(nil), d.Payload...)
				c.delivered = append(c.delivered, d)
			}
			close(c.arrived)
			c.arrived = make(chan struct{})
		}
		c.mu.Unlock()
	case ChannelClosed:
		var content ChannelClosedContent
		json.Unmarshal(m.Payload, &content)
		c.end(nil, &content)
	case PausePublication, StartPublication:
		c.mu.Lock()
		c.paused = m.Type == PausePublication
		c.signalLocked()
		c.mu.Unlock()
	}
	return nil
}

func (c *Channel) acknowledge(ctx context.Context, m Message) error {
	payload, _ := json.Marshal(AcknowledgeContent{
		MessageType:         m.Type,
		MessageID:           m.ID.String(),
		SequenceNumber:      m.SequenceNumber,
		IsSequentialMessage: true,
	})
	return c.write(ctx, Message{
		Type: Acknowledge, SchemaVersion: SchemaVersion, CreatedDate: c.now(),
		Flags: FlagAck, ID: uuid.New(), Payload: payload,
	})
}

func (c *Channel) write(ctx context.Context, m Message) error {
	wire, err := m.Marshal()
	if err != nil {
		return err
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	return c.t.WriteFrame(ctx, wire)
}

func (c *Channel) resend(ctx context.Context) {
	tick := time.NewTicker(ResendInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		c.mu.Lock()
		wire, expired := c.out.Due(c.now())
		c.mu.Unlock()
		if expired {
			c.end(errors.New("datachannel: the peer acknowledged nothing for too long"), nil)
			return
		}
		if wire != nil {
			c.writeMu.Lock()
			err := c.t.WriteFrame(ctx, wire)
			c.writeMu.Unlock()
			if err != nil {
				c.end(fmt.Errorf("datachannel: write: %w", err), nil)
				return
			}
		}
	}
}

// Send sends one stream message of this side. It waits while the peer
// has too many unacknowledged or paused publication.
func (c *Channel) Send(ctx context.Context, pt PayloadType, payload []byte) error {
	if err := c.waitFor(ctx, func() bool { return !c.ended && !c.out.Full() && !c.paused }); err != nil {
		return err
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.mu.Lock()
	seq := c.out.NextSequence()
	m := Message{
		Type: c.sendType, SchemaVersion: SchemaVersion, CreatedDate: c.now(),
		SequenceNumber: seq, ID: uuid.New(), PayloadType: pt, Payload: payload,
	}
	if c.side == AgentSide && seq == 0 {
		m.Flags = FlagSYN
	}
	wire, err := m.Marshal()
	if err != nil {
		c.mu.Unlock()
		return err
	}
	c.out.Sent(wire, c.now())
	c.mu.Unlock()
	if err := c.t.WriteFrame(ctx, wire); err != nil {
		// The message stays held for resending; a transport that failed
		// for good ends the channel through Run's read.
		return fmt.Errorf("datachannel: write: %w", err)
	}
	return nil
}

// SendJSON sends v, marshalled, as a stream message of type pt.
func (c *Channel) SendJSON(ctx context.Context, pt PayloadType, v any) error {
	payload, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.Send(ctx, pt, payload)
}

// Recv returns the peer's next stream message, in sequence order.
func (c *Channel) Recv(ctx context.Context) (Message, error) {
	for {
		c.mu.Lock()
		if len(c.delivered) > 0 {
			m := c.delivered[0]
			c.delivered = c.delivered[1:]
			c.mu.Unlock()
			return m, nil
		}
		if c.ended {
			c.mu.Unlock()
			return Message{}, c.endErr()
		}
		arrived := c.arrived
		c.mu.Unlock()
		select {
		case <-arrived:
		case <-c.done:
		case <-ctx.Done():
			return Message{}, ctx.Err()
		}
	}
}

// Flush waits until the peer has acknowledged every stream message sent.
func (c *Channel) Flush(ctx context.Context) error {
	return c.waitFor(ctx, func() bool { return c.out.Pending() == 0 })
}

// waitFor waits until ready (called with c.mu held) holds, the channel
// ends or ctx does.
func (c *Channel) waitFor(ctx context.Context, ready func() bool) error {
	for {
		c.mu.Lock()
		if ready() {
			c.mu.Unlock()
			return nil
		}
		if c.ended {
			err := c.endErr()
			c.mu.Unlock()
			return err
		}
		changed := c.changed
		c.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close sends channel_closed with content and ends the channel. It is
// not a stream message: nothing orders it after what was sent before, so
// Flush first.
func (c *Channel) Close(ctx context.Context, content ChannelClosedContent) error {
	err := c.write(ctx, ClosedMessage(content, c.now()))
	c.end(ErrClosed, nil)
	return err
}

// ClosedMessage is the channel_closed message carrying content, its
// message id, type, schema version and (unless set) creation date filled
// in.
func ClosedMessage(content ChannelClosedContent, now time.Time) Message {
	id := uuid.New()
	content.MessageID = id.String()
	content.MessageType = ChannelClosed
	content.SchemaVersion = SchemaVersion
	if content.CreatedDate == "" {
		content.CreatedDate = now.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	payload, _ := json.Marshal(content)
	return Message{
		Type: ChannelClosed, SchemaVersion: SchemaVersion, CreatedDate: now,
		ID: id, PayloadType: PayloadOutput, Payload: payload,
	}
}

// Done is closed once the channel has ended.
func (c *Channel) Done() <-chan struct{} { return c.done }

// ClosedBy is the peer's channel_closed, once it closed the channel.
func (c *Channel) ClosedBy() *ChannelClosedContent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closedBy
}

// Err is why the channel ended: nil while it runs and when the peer
// closed it.
func (c *Channel) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause
}

// endErr is what operations return on an ended channel.
func (c *Channel) endErr() error {
	if c.cause != nil {
		return c.cause
	}
	return ErrClosed
}

func (c *Channel) isEnded() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ended
}

func (c *Channel) end(cause error, closedBy *ChannelClosedContent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return
	}
	c.ended, c.cause, c.closedBy = true, cause, closedBy
	c.signalLocked()
	close(c.done)
}

func (c *Channel) signalLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}
