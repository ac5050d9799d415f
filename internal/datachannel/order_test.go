package datachannel

import (
	"slices"
	"testing"
)

func TestIncomingOrder(t *testing.T) {
	for _, tc := range []struct {
		name     string
		arrivals []int64
		want     []int64 // delivered, in order
	}{
		{"in order", []int64{0, 1, 2}, []int64{0, 1, 2}},
		{"out of order", []int64{1, 2, 0, 3}, []int64{0, 1, 2, 3}},
		{"duplicates and retransmissions", []int64{0, 0, 2, 1, 1, 2, 3}, []int64{0, 1, 2, 3}},
		{"a gap never filled delivers nothing past it", []int64{0, 2, 3}, []int64{0}},
		{"the same early message twice", []int64{2, 2, 1, 0}, []int64{0, 1, 2}},
	} {
		var in Incoming
		var got []int64
		for _, seq := range tc.arrivals {
			out, ok := in.Accept(Message{SequenceNumber: seq, Type: InputStreamData})
			if !ok {
				t.Fatalf("%s: refused %d", tc.name, seq)
			}
			for _, m := range out {
				got = append(got, m.SequenceNumber)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: delivered %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestIncomingBounded(t *testing.T) {
	var in Incoming
	for seq := int64(1); seq <= maxWaiting; seq++ {
		if _, ok := in.Accept(Message{SequenceNumber: seq}); !ok {
			t.Fatalf("refused %d", seq)
		}
	}
	if _, ok := in.Accept(Message{SequenceNumber: maxWaiting + 1}); ok {
		t.Fatal("held more than maxWaiting ahead of a gap")
	}
	// The message filling the gap delivers them all.
	out, ok := in.Accept(Message{SequenceNumber: 0})
	if !ok || len(out) != maxWaiting+1 || in.next != maxWaiting+1 {
		t.Fatalf("filling the gap delivered %d, expected next %d", len(out), in.next)
	}
}
