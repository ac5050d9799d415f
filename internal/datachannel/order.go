package datachannel

// Incoming puts a direction's stream messages back in order, as a
// receiver of the data channel must: the next expected one is delivered
// at once with any it had waiting behind it, a later one waits, and an
// earlier one (a retransmission of a message already delivered) is
// dropped. Every stream message is acknowledged, whichever of the three
// it is, so the sender stops resending it.
type Incoming struct {
	next    int64
	waiting map[int64]Message
}

// maxWaiting bounds the messages held ahead of a gap: a sender keeps
// far fewer unacknowledged, so more means a broken peer.
const maxWaiting = 10000

// Accept takes one stream message and returns those now deliverable, in
// order (none when m is early or a duplicate). ok is false when too many
// messages wait for one that never came; the channel should end.
func (in *Incoming) Accept(m Message) (deliver []Message, ok bool) {
	switch {
	case m.SequenceNumber < in.next:
		return nil, true
	case m.SequenceNumber > in.next:
		if in.waiting == nil {
			in.waiting = map[int64]Message{}
		}
		if _, dup := in.waiting[m.SequenceNumber]; !dup && len(in.waiting) >= maxWaiting {
			return nil, false
		}
		in.waiting[m.SequenceNumber] = m
		return nil, true
	}
	deliver = append(deliver, m)
	in.next++
	for {
		w, ok := in.waiting[in.next]
		if !ok {
			return deliver, true
		}
		delete(in.waiting, in.next)
		deliver = append(deliver, w)
		in.next++
	}
}
