package datachannel

import (
	"testing"
	"time"
)

func TestOutgoingRetransmits(t *testing.T) {
	t0 := time.Unix(1000, 0)
	o := NewOutgoing()
	if o.rto != 200*time.Millisecond {
		t.Fatalf("initial timeout %s", o.rto)
	}
	for i := range 3 {
		if seq := o.Sent([]byte{byte(i)}, t0); seq != int64(i) {
			t.Fatalf("sequence %d, want %d", seq, i)
		}
	}
	// Nothing is due before the timeout.
	if w, _ := o.Due(t0.Add(200 * time.Millisecond)); w != nil {
		t.Fatalf("resent %v before the timeout", w)
	}
	// After it, the oldest, and only it, once per timeout.
	if w, _ := o.Due(t0.Add(201 * time.Millisecond)); len(w) != 1 || w[0] != 0 {
		t.Fatalf("due %v, want message 0", w)
	}
	if w, _ := o.Due(t0.Add(300 * time.Millisecond)); w != nil {
		t.Fatalf("resent %v again within the timeout", w)
	}
	// A late or duplicate ack is harmless; an ack moves to the next.
	if !o.Acked(0, t0.Add(250*time.Millisecond)) || o.Acked(0, t0.Add(260*time.Millisecond)) {
		t.Fatal("acks of message 0")
	}
	if w, _ := o.Due(t0.Add(time.Second)); len(w) != 1 || w[0] != 1 {
		t.Fatalf("due %v, want message 1", w)
	}
	// Out-of-order acks.
	o.Acked(2, t0.Add(time.Second))
	o.Acked(1, t0.Add(time.Second))
	if o.Pending() != 0 {
		t.Fatalf("%d pending after every ack", o.Pending())
	}
}

func TestOutgoingTimeoutFollowsRoundTrips(t *testing.T) {
	t0 := time.Unix(1000, 0)
	o := NewOutgoing()
	// Fast acks bring the timeout down, to no less than the smoothed
	// round trip plus the clock granularity.
	for i := range 50 {
		at := t0.Add(time.Duration(i) * time.Second)
		seq := o.Sent(nil, at)
		o.Acked(seq, at.Add(time.Millisecond))
	}
	if got := o.rto; got < 10*time.Millisecond || got > 20*time.Millisecond {
		t.Fatalf("timeout after fast acks %s", got)
	}
	// Slow ones raise it, to a second at most.
	for i := range 50 {
		at := t0.Add(time.Hour + time.Duration(i)*time.Minute)
		seq := o.Sent(nil, at)
		o.Acked(seq, at.Add(5*time.Second))
	}
	if got := o.rto; got != time.Second {
		t.Fatalf("timeout after slow acks %s, want the 1 s cap", got)
	}
}

func TestOutgoingExpires(t *testing.T) {
	t0 := time.Unix(1000, 0)
	o := NewOutgoing()
	o.Sent([]byte("x"), t0)
	now := t0
	for range maxResendAttempts {
		now = now.Add(time.Second + time.Millisecond)
		if w, expired := o.Due(now); w == nil || expired {
			t.Fatalf("resend refused early (%v)", expired)
		}
	}
	if _, expired := o.Due(now.Add(2 * time.Second)); !expired {
		t.Fatal("a message resent without end")
	}
}

func TestOutgoingCapacity(t *testing.T) {
	o := NewOutgoing()
	for range OutgoingCapacity - 1 {
		o.Sent(nil, time.Unix(0, 0))
	}
	if o.Full() {
		t.Fatal("full too soon")
	}
	o.Sent(nil, time.Unix(0, 0))
	if !o.Full() {
		t.Fatal("not full at capacity")
	}
}
