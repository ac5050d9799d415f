package logdata

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
)

// Batch record layout, little endian (see the package comment):
//
//	0  crc        u32  CRC-32C of bytes [4:length]
//	4  length     u32  of the whole record
//	8  count      u32  events
//	12 producer   u16  length of the producer name
//	14 cursor     u16  length of the producer cursor
//	16 first seq  i64
//	24 min ts     i64
//	32 max ts     i64
//	40 ingestion  i64
//	48 producer, cursor, then count × (ts i64, message length u32, message)
const (
	batchHeaderSize = 48
	eventHeaderSize = 12
	// maxBatchBytes bounds one record so that a garbled length never makes
	// recovery allocate gigabytes; CloudWatch batches are at most 1 MiB.
	maxBatchBytes = 64 << 20
	// MaxProducerBytes bounds AppendRequest.Producer, After and Cursor.
	MaxProducerBytes = 1024
	// StoredBytesPerEvent is what Stats.StoredBytes and ReadRequest.MaxBytes
	// count per event on top of its message bytes.
	StoredBytesPerEvent = 26
)

var (
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	le         = binary.LittleEndian
)

// ErrCorrupt is wrapped by errors about on-disk data that fails its checks
// anywhere but the torn tail of an active segment, which recovery cuts off.
var ErrCorrupt = errors.New("logdata: corrupt data")

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}

// batchInfo is what the index and the stats need to know of a batch.
type batchInfo struct {
	firstSeq     int64
	count        int64
	minTs, maxTs int64
	ingest       int64
	storedBytes  int64
}

func (b batchInfo) lastSeq() int64 { return b.firstSeq + b.count - 1 }

// encodeBatch builds a record of events with first seq 0 and no CRC yet: the
// sequence number is known only to the committer, which calls sealBatch.
func encodeBatch(events []Event, ingest int64, producer, cursor string) ([]byte, batchInfo, error) {
	if len(events) == 0 {
		return nil, batchInfo{}, errors.New("logdata: no events")
	}
	if len(producer) > MaxProducerBytes || len(cursor) > MaxProducerBytes {
		return nil, batchInfo{}, fmt.Errorf("logdata: producer and cursor are limited to %d bytes", MaxProducerBytes)
	}
	size := batchHeaderSize + len(producer) + len(cursor)
	info := batchInfo{count: int64(len(events)), minTs: math.MaxInt64, maxTs: math.MinInt64, ingest: ingest}
	for _, e := range events {
		size += eventHeaderSize + len(e.Message)
		if size > maxBatchBytes {
			return nil, batchInfo{}, fmt.Errorf("logdata: batch larger than %d bytes", maxBatchBytes)
		}
		info.minTs = min(info.minTs, e.Timestamp)
		info.maxTs = max(info.maxTs, e.Timestamp)
		info.storedBytes += int64(len(e.Message)) + StoredBytesPerEvent
	}
	b := make([]byte, size)
	le.PutUint32(b[4:], uint32(size))
	le.PutUint32(b[8:], uint32(len(events)))
	le.PutUint16(b[12:], uint16(len(producer)))
	le.PutUint16(b[14:], uint16(len(cursor)))
	le.PutUint64(b[24:], uint64(info.minTs))
	le.PutUint64(b[32:], uint64(info.maxTs))
	le.PutUint64(b[40:], uint64(ingest))
	p := batchHeaderSize
	p += copy(b[p:], producer)
	p += copy(b[p:], cursor)
	for _, e := range events {
		le.PutUint64(b[p:], uint64(e.Timestamp))
		le.PutUint32(b[p+8:], uint32(len(e.Message)))
		p += eventHeaderSize
		p += copy(b[p:], e.Message)
	}
	return b, info, nil
}

// sealBatch sets the record's first sequence number and its CRC.
func sealBatch(b []byte, firstSeq int64) {
	le.PutUint64(b[16:], uint64(firstSeq))
	le.PutUint32(b[0:], crc32.Checksum(b[4:], castagnoli))
}

type batchHeader struct {
	length    int
	count     int
	producer  int
	cursor    int
	firstSeq  int64
	minTs     int64
	maxTs     int64
	ingest    int64
	eventsOff int
}

func (h batchHeader) lastSeq() int64 { return h.firstSeq + int64(h.count) - 1 }

// parseBatchHeader checks the fixed fields of the record at the start of b
// (at least batchHeaderSize bytes) for consistency, not the CRC.
func parseBatchHeader(b []byte) (batchHeader, error) {
	if len(b) < batchHeaderSize {
		return batchHeader{}, corruptf("batch header of %d bytes", len(b))
	}
	h := batchHeader{
		length:   int(le.Uint32(b[4:])),
		count:    int(le.Uint32(b[8:])),
		producer: int(le.Uint16(b[12:])),
		cursor:   int(le.Uint16(b[14:])),
		firstSeq: int64(le.Uint64(b[16:])),
		minTs:    int64(le.Uint64(b[24:])),
		maxTs:    int64(le.Uint64(b[32:])),
		ingest:   int64(le.Uint64(b[40:])),
	}
	h.eventsOff = batchHeaderSize + h.producer + h.cursor
	switch {
	case h.length > maxBatchBytes:
		return h, corruptf("batch length %d", h.length)
	case h.count < 1 || h.length < h.eventsOff+h.count*eventHeaderSize:
		return h, corruptf("batch of %d events in %d bytes", h.count, h.length)
	case h.firstSeq < 1 || h.firstSeq > math.MaxInt64-int64(h.count):
		return h, corruptf("batch first seq %d", h.firstSeq)
	case h.minTs > h.maxTs:
		return h, corruptf("batch time range %d..%d", h.minTs, h.maxTs)
	}
	return h, nil
}

// batch is a decoded record; its slices alias the buffer it came from.
type batch struct {
	batchHeader
	producerName, cursorValue []byte
	events                    []byte
	storedBytes               int64
}

func (b *batch) info() batchInfo {
	return batchInfo{firstSeq: b.firstSeq, count: int64(b.count), minTs: b.minTs, maxTs: b.maxTs, ingest: b.ingest, storedBytes: b.storedBytes}
}

// decodeBatch verifies the record at the start of b (CRC, and that its events
// exactly fill it and span exactly [minTs, maxTs]), so that nothing built
// from it later can go out of bounds.
func decodeBatch(b []byte) (batch, error) {
	h, err := parseBatchHeader(b)
	if err != nil {
		return batch{}, err
	}
	if h.length > len(b) {
		return batch{}, corruptf("batch of %d bytes cut at %d", h.length, len(b))
	}
	b = b[:h.length]
	if crc32.Checksum(b[4:], castagnoli) != le.Uint32(b) {
		return batch{}, corruptf("batch CRC mismatch")
	}
	bt := batch{
		batchHeader:  h,
		producerName: b[batchHeaderSize : batchHeaderSize+h.producer],
		cursorValue:  b[batchHeaderSize+h.producer : h.eventsOff],
		events:       b[h.eventsOff:],
	}
	minTs, maxTs := int64(math.MaxInt64), int64(math.MinInt64)
	p := 0
	for range h.count {
		if len(bt.events)-p < eventHeaderSize {
			return batch{}, corruptf("batch events overrun")
		}
		ts := int64(le.Uint64(bt.events[p:]))
		n := int(le.Uint32(bt.events[p+8:]))
		p += eventHeaderSize
		if n > len(bt.events)-p {
			return batch{}, corruptf("batch message overruns")
		}
		p += n
		minTs, maxTs = min(minTs, ts), max(maxTs, ts)
		bt.storedBytes += int64(n) + StoredBytesPerEvent
	}
	if p != len(bt.events) {
		return batch{}, corruptf("batch has %d trailing bytes", len(bt.events)-p)
	}
	if minTs != h.minTs || maxTs != h.maxTs {
		return batch{}, corruptf("batch time range %d..%d, events span %d..%d", h.minTs, h.maxTs, minTs, maxTs)
	}
	return bt, nil
}

// each calls fn for the events of a batch decodeBatch accepted, in order,
// until fn returns false; msg aliases the batch's buffer.
func (b *batch) each(fn func(seq, ts int64, msg []byte) bool) bool {
	p := 0
	for i := range b.count {
		ts := int64(le.Uint64(b.events[p:]))
		n := int(le.Uint32(b.events[p+8:]))
		p += eventHeaderSize
		if !fn(b.firstSeq+int64(i), ts, b.events[p:p+n]) {
			return false
		}
		p += n
	}
	return true
}

// appendCursors encodes producer cursors, sorted so equal maps encode equally.
func appendCursors(b []byte, cursors map[string]string) []byte {
	keys := make([]string, 0, len(cursors))
	for k := range cursors {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = appendString(b, k)
		b = appendString(b, cursors[k])
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decodeCursors is appendCursors' inverse; it returns the bytes it used.
func decodeCursors(b []byte) (map[string]string, int, error) {
	n, p := binary.Uvarint(b)
	if p <= 0 || n > uint64(len(b)) {
		return nil, 0, corruptf("cursor count")
	}
	m := make(map[string]string, n)
	for range n {
		k, q, err := decodeString(b[p:])
		if err != nil {
			return nil, 0, err
		}
		p += q
		v, q, err := decodeString(b[p:])
		if err != nil {
			return nil, 0, err
		}
		p += q
		m[k] = v
	}
	return m, p, nil
}

func decodeString(b []byte) (string, int, error) {
	n, p := binary.Uvarint(b)
	if p <= 0 || n > uint64(len(b)-p) {
		return "", 0, corruptf("string length")
	}
	return string(b[p : p+int(n)]), p + int(n), nil
}
