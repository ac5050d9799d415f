package logdata

import (
	"bytes"
	"hash/crc32"
	"math"
	"testing"
)

func seedBatch(events []Event, producer, cursor string, firstSeq int64) []byte {
	b, _, err := encodeBatch(events, 1234, producer, cursor)
	if err != nil {
		panic(err)
	}
	sealBatch(b, firstSeq)
	return b
}

// FuzzDecodeBatch feeds arbitrary bytes to the batch decoder: it must not
// panic, and what it accepts must encode back to the same bytes.
func FuzzDecodeBatch(f *testing.F) {
	f.Add(seedBatch([]Event{{1, "hello"}}, "", "", 1))
	f.Add(seedBatch([]Event{{-5, ""}, {math.MaxInt64, "x"}, {0, "yy"}}, "prod", "cur", 1<<40))
	f.Add(make([]byte, batchHeaderSize))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		checkBatchDecode(t, data)
		// Most inputs fail the CRC; with it fixed, the structure checks run.
		if len(data) >= batchHeaderSize {
			fixed := bytes.Clone(data)
			n := min(int(le.Uint32(fixed[4:])), len(fixed))
			if n >= 4 {
				le.PutUint32(fixed, crc32.Checksum(fixed[4:n], castagnoli))
				checkBatchDecode(t, fixed)
			}
		}
	})
}

// checkBatchDecode: what decodeBatch accepts must encode back to the same
// bytes.
func checkBatchDecode(t *testing.T, data []byte) {
	t.Helper()
	h, herr := parseBatchHeader(data)
	b, err := decodeBatch(data)
	if err != nil {
		return
	}
	if herr != nil || h.length > len(data) {
		t.Fatalf("decoded a batch whose header fails: %v", herr)
	}
	var events []Event
	n := 0
	b.each(func(seq, ts int64, msg []byte) bool {
		if seq != b.firstSeq+int64(n) {
			t.Fatalf("seq %d at %d", seq, n)
		}
		n++
		events = append(events, Event{Timestamp: ts, Message: string(msg)})
		return true
	})
	if n != b.count {
		t.Fatalf("%d events of %d", n, b.count)
	}
	again, info, err := encodeBatch(events, b.ingest, string(b.producerName), string(b.cursorValue))
	if err != nil {
		t.Fatal(err)
	}
	sealBatch(again, b.firstSeq)
	if !bytes.Equal(again, data[:b.length]) {
		t.Fatalf("re-encoding differs")
	}
	info.firstSeq = b.firstSeq
	if info != b.info() {
		t.Fatalf("info %+v, decoded %+v", info, b.info())
	}
}

// FuzzDecodeIndex: the index decoder must not panic on garbage, and an index
// it accepts must describe spans that tile the segment.
func FuzzDecodeIndex(f *testing.F) {
	g := &segment{base: 1, dataStart: 30, size: 30, nextSeq: 1, endCursors: map[string]string{"p": "c"}}
	off := int64(30)
	for i := range 3 {
		info := batchInfo{firstSeq: int64(1 + 10*i), count: 10, minTs: int64(i), maxTs: int64(i + 5), ingest: 9, storedBytes: 300}
		g.addBatch(off, 70<<10, info)
		off += 70 << 10
	}
	f.Add(encodeIndex(g))
	f.Add(encodeIndex(&segment{base: 5, dataStart: 25, size: 25, nextSeq: 5}))
	f.Add([]byte(indexMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) >= 4 {
			// Fix the CRC so that the structure checks run.
			data = bytes.Clone(data)
			le.PutUint32(data[len(data)-4:], crc32.Checksum(data[:len(data)-4], castagnoli))
		}
		g, err := decodeIndex(data)
		if err != nil {
			return
		}
		if !bytes.Equal(encodeIndex(g), data) {
			t.Fatalf("re-encoding differs")
		}
	})
}

// FuzzSegmentHeader: likewise for segment headers.
func FuzzSegmentHeader(f *testing.F) {
	f.Add(encodeSegmentHeader(1, nil))
	f.Add(encodeSegmentHeader(77, map[string]string{"a": "b", "": "c"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) >= segmentHeaderFixed {
			data = bytes.Clone(data)
			n := min(int(le.Uint32(data[12:])), len(data))
			if n >= 12 {
				le.PutUint32(data[8:], crc32.Checksum(data[12:n], castagnoli))
			}
		}
		hdr, base, cursors, err := readSegmentHeader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		if !bytes.Equal(encodeSegmentHeader(base, cursors), hdr) {
			t.Fatalf("re-encoding differs")
		}
	})
}
