package datachannel

import (
	"math"
	"time"
)

// Outgoing keeps a direction's stream messages until they are
// acknowledged, and says when to send one again: the oldest
// unacknowledged message once it has waited longer than the
// retransmission timeout, which follows the acknowledgements' round trip
// times as TCP's does (RFC 6298: smoothed round trip plus four times its
// variation, at least a clock granularity, at most a second). It keeps no
// clock of its own: callers pass the time.
type Outgoing struct {
	// unacked holds the messages not yet acknowledged; order is their
	// sequence numbers, oldest first, including ones acknowledged since
	// (skipped when met), so that an ack costs the same however many
	// messages are in flight.
	unacked map[int64]*pending
	order   []int64
	next    int64
	srtt    float64 // nanoseconds
	rttvar  float64
	rto     time.Duration
}

type pending struct {
	seq      int64
	wire     []byte
	lastSent time.Time
	resends  int
}

// Retransmission parameters, as the session-manager-plugin and the SSM
// agent use them.
const (
	initialRTT        = 100 * time.Millisecond
	initialRTO        = 200 * time.Millisecond
	clockGranularity  = 10 * time.Millisecond
	maxRTO            = time.Second
	rttGain           = 1.0 / 8
	rttVariationGain  = 1.0 / 4
	OutgoingCapacity  = 10000
	ResendInterval    = 100 * time.Millisecond
	maxResendAttempts = 3000 // five minutes of ResendInterval
)

// NewOutgoing returns an empty sender whose first message is number 0.
func NewOutgoing() *Outgoing {
	return &Outgoing{unacked: map[int64]*pending{}, srtt: float64(initialRTT), rto: initialRTO}
}

// NextSequence is the sequence number the next message sent takes.
func (o *Outgoing) NextSequence() int64 { return o.next }

// Full reports whether the sender holds as many unacknowledged messages
// as it may: the caller stops reading what it sends until acks come.
func (o *Outgoing) Full() bool { return len(o.unacked) >= OutgoingCapacity }

// Sent records the message of the next sequence number, in wire form,
// sent at now, and moves the sequence on.
func (o *Outgoing) Sent(wire []byte, now time.Time) int64 {
	seq := o.next
	o.unacked[seq] = &pending{seq: seq, wire: wire, lastSent: now}
	o.order = append(o.order, seq)
	o.next++
	return seq
}

// Acked forgets the message seq, acknowledged at now, and updates the
// retransmission timeout from its round trip. An ack of a message not
// held (already acknowledged) changes nothing.
func (o *Outgoing) Acked(seq int64, now time.Time) bool {
	p, ok := o.unacked[seq]
	if !ok {
		return false
	}
	rtt := float64(now.Sub(p.lastSent))
	o.rttvar = (1-rttVariationGain)*o.rttvar + rttVariationGain*math.Abs(o.srtt-rtt)
	o.srtt = (1-rttGain)*o.srtt + rttGain*rtt
	o.rto = min(time.Duration(o.srtt+math.Max(float64(clockGranularity), 4*o.rttvar)), maxRTO)
	delete(o.unacked, seq)
	return true
}

// oldest is the oldest unacknowledged message, nil when none.
func (o *Outgoing) oldest() *pending {
	for len(o.order) > 0 {
		if p, ok := o.unacked[o.order[0]]; ok {
			return p
		}
		o.order = o.order[1:]
	}
	return nil
}

// Due is the message to send again at now, if any: the oldest
// unacknowledged one, once it has waited longer than the timeout; it
// counts as sent again at now. expired is true once a message has been
// resent so often that the peer must be gone.
func (o *Outgoing) Due(now time.Time) (wire []byte, expired bool) {
	p := o.oldest()
	if p == nil || now.Sub(p.lastSent) <= o.rto {
		return nil, false
	}
	if p.resends >= maxResendAttempts {
		return nil, true
	}
	p.resends++
	p.lastSent = now
	return p.wire, false
}

// Pending is how many messages wait for their acknowledgement.
func (o *Outgoing) Pending() int { return len(o.unacked) }
