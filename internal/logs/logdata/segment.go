package logdata

import (
	"bufio"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
)

const (
	segmentMagic = "BRTHLOG\x01"
	indexMagic   = "BRTHIDX\x01"
	// segmentHeaderFixed is magic, CRC, length and base.
	segmentHeaderFixed = 24
	maxSegmentHeader   = 16 << 20
	// spanTargetBytes is the granularity of the sparse index: a span closes
	// once it holds this much, so a read touches about this much per span.
	spanTargetBytes = 64 << 10
	// maxSpanBytes: a span closes after its first batch past the target.
	maxSpanBytes    = spanTargetBytes + maxBatchBytes
	spanEncodedSize = 7 * 8
	indexFixedSize  = 8 + 13*8
)

// segmentScans counts full scans of segment files, so tests can check that
// opening a stream does not scan its sealed segments.
var segmentScans atomic.Int64

func segmentName(base int64) string { return fmt.Sprintf("%020d.seg", base) }
func indexName(base int64) string   { return fmt.Sprintf("%020d.idx", base) }

// parseFileName returns the base of a segment or index file name.
func parseFileName(name, ext string) (int64, bool) {
	digits, ok := strings.CutSuffix(name, ext)
	if !ok || len(digits) != 20 {
		return 0, false
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	return n, err == nil && n >= 1
}

// span is one entry of the sparse index: the whole batches in [off, end).
type span struct {
	off, end          int64
	firstSeq, lastSeq int64
	count             int64
	minTs, maxTs      int64
}

// segStats are the totals of a segment's events.
type segStats struct {
	events, storedBytes int64
	firstSeq, lastSeq   int64
	minTs, maxTs        int64
	lastIngest          int64
}

func (s *segStats) add(b batchInfo) {
	if s.events == 0 {
		s.firstSeq, s.minTs, s.maxTs = b.firstSeq, b.minTs, b.maxTs
	}
	s.events += b.count
	s.storedBytes += b.storedBytes
	s.lastSeq = b.lastSeq()
	s.minTs, s.maxTs = min(s.minTs, b.minTs), max(s.maxTs, b.maxTs)
	s.lastIngest = max(s.lastIngest, b.ingest)
}

// segment is one segment file and what is known of its content. A sealed
// segment never changes (Expire replaces it by a new one); the active one is
// changed by the committer under stream.mu.
type segment struct {
	base      int64
	file      *segFile
	sealed    bool
	dataStart int64 // length of the header
	size      int64 // end of the last whole, durable batch
	// nextSeq is one past the last sequence number written to the segment;
	// kept when Expire drops the segment's last events.
	nextSeq int64
	// firstWrite is the ingestion time of the first batch, which is the wall
	// clock the age limit of the active segment counts from.
	firstWrite int64
	stats      segStats
	spans      []span
	// endCursors are the producer cursors as of the segment's end (sealed).
	endCursors map[string]string
}

func (g *segment) addBatch(off, length int64, b batchInfo) {
	if g.stats.events == 0 {
		g.firstWrite = b.ingest
	}
	n := len(g.spans)
	if n == 0 || g.spans[n-1].end-g.spans[n-1].off >= spanTargetBytes {
		g.spans = append(g.spans, span{off: off, end: off + length, firstSeq: b.firstSeq, lastSeq: b.lastSeq(),
			count: b.count, minTs: b.minTs, maxTs: b.maxTs})
	} else {
		sp := &g.spans[n-1]
		sp.end = off + length
		sp.lastSeq = b.lastSeq()
		sp.count += b.count
		sp.minTs, sp.maxTs = min(sp.minTs, b.minTs), max(sp.maxTs, b.maxTs)
	}
	g.stats.add(b)
	g.size = off + length
	g.nextSeq = max(g.nextSeq, b.lastSeq()+1)
}

// encodeSegmentHeader: magic | crc u32 of [12:length] | length u32 | base
// i64 | producer cursors as of the segment's start.
func encodeSegmentHeader(base int64, cursors map[string]string) []byte {
	b := make([]byte, segmentHeaderFixed, segmentHeaderFixed+64)
	copy(b, segmentMagic)
	le.PutUint64(b[16:], uint64(base))
	b = appendCursors(b, cursors)
	le.PutUint32(b[12:], uint32(len(b)))
	le.PutUint32(b[8:], crc32.Checksum(b[12:], castagnoli))
	return b
}

// readSegmentHeader reads and checks the header of the segment in f.
func readSegmentHeader(f io.ReaderAt, fileSize int64) (hdr []byte, base int64, cursors map[string]string, err error) {
	fixed := make([]byte, segmentHeaderFixed)
	if _, err := f.ReadAt(fixed, 0); err != nil {
		return nil, 0, nil, corruptf("segment header: %v", err)
	}
	n := int64(le.Uint32(fixed[12:]))
	if string(fixed[:8]) != segmentMagic || n < segmentHeaderFixed+1 || n > maxSegmentHeader || n > fileSize {
		return nil, 0, nil, corruptf("segment header")
	}
	hdr = make([]byte, n)
	if _, err := f.ReadAt(hdr, 0); err != nil {
		return nil, 0, nil, corruptf("segment header: %v", err)
	}
	if crc32.Checksum(hdr[12:], castagnoli) != le.Uint32(hdr[8:]) {
		return nil, 0, nil, corruptf("segment header CRC mismatch")
	}
	cursors, used, err := decodeCursors(hdr[segmentHeaderFixed:])
	if err != nil || segmentHeaderFixed+used != len(hdr) {
		return nil, 0, nil, corruptf("segment header cursors")
	}
	return hdr, int64(le.Uint64(hdr[16:])), cursors, nil
}

// encodeIndex writes a sealed segment's index file: magic | base | data
// start | data size | next seq | first write | stats (7 fields) | span
// count | producer cursors as of the end | spans (7 × i64 each) | crc u32
// of everything before it.
func encodeIndex(g *segment) []byte {
	b := make([]byte, 0, indexFixedSize+64+len(g.spans)*spanEncodedSize+4)
	b = append(b, indexMagic...)
	s := g.stats
	for _, v := range []int64{g.base, g.dataStart, g.size, g.nextSeq, g.firstWrite,
		s.events, s.storedBytes, s.firstSeq, s.lastSeq, s.minTs, s.maxTs, s.lastIngest, int64(len(g.spans))} {
		b = le.AppendUint64(b, uint64(v))
	}
	b = appendCursors(b, g.endCursors)
	for _, sp := range g.spans {
		for _, v := range []int64{sp.off, sp.end, sp.firstSeq, sp.lastSeq, sp.count, sp.minTs, sp.maxTs} {
			b = le.AppendUint64(b, uint64(v))
		}
	}
	return le.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// decodeIndex parses an index file and checks that its spans tile the
// segment and add up to its stats, so readers can trust it for offsets.
func decodeIndex(b []byte) (*segment, error) {
	if len(b) < indexFixedSize+4 || string(b[:8]) != indexMagic {
		return nil, corruptf("index header")
	}
	body := b[:len(b)-4]
	if crc32.Checksum(body, castagnoli) != le.Uint32(b[len(b)-4:]) {
		return nil, corruptf("index CRC mismatch")
	}
	v := make([]int64, 13)
	for i := range v {
		v[i] = int64(le.Uint64(body[8+8*i:]))
	}
	g := &segment{base: v[0], dataStart: v[1], size: v[2], nextSeq: v[3], firstWrite: v[4], sealed: true,
		stats: segStats{events: v[5], storedBytes: v[6], firstSeq: v[7], lastSeq: v[8], minTs: v[9], maxTs: v[10], lastIngest: v[11]}}
	nspans := v[12]
	cursors, used, err := decodeCursors(body[indexFixedSize:])
	if err != nil {
		return nil, err
	}
	g.endCursors = cursors
	rest := body[indexFixedSize+used:]
	if nspans < 0 || nspans > int64(len(rest))/spanEncodedSize || int64(len(rest)) != nspans*spanEncodedSize {
		return nil, corruptf("index span count")
	}
	if g.base < 1 || g.dataStart <= segmentHeaderFixed || g.size < g.dataStart || g.nextSeq < g.base {
		return nil, corruptf("index fields")
	}
	g.spans = make([]span, nspans)
	var sum segStats
	end, prevSeq := g.dataStart, g.base-1
	for i := range g.spans {
		var f [7]int64
		for j := range f {
			f[j] = int64(le.Uint64(rest[i*spanEncodedSize+j*8:]))
		}
		sp := span{off: f[0], end: f[1], firstSeq: f[2], lastSeq: f[3], count: f[4], minTs: f[5], maxTs: f[6]}
		if sp.off != end || sp.end <= sp.off || sp.end-sp.off > maxSpanBytes || sp.firstSeq <= prevSeq || sp.lastSeq < sp.firstSeq ||
			sp.count < 1 || sp.count > sp.lastSeq-sp.firstSeq+1 || sp.minTs > sp.maxTs || sp.lastSeq >= g.nextSeq {
			return nil, corruptf("index span %d", i)
		}
		g.spans[i] = sp
		if sum.events == 0 {
			sum.firstSeq, sum.minTs, sum.maxTs = sp.firstSeq, sp.minTs, sp.maxTs
		}
		sum.events += sp.count
		sum.lastSeq = sp.lastSeq
		sum.minTs, sum.maxTs = min(sum.minTs, sp.minTs), max(sum.maxTs, sp.maxTs)
		end, prevSeq = sp.end, sp.lastSeq
	}
	s := g.stats
	if end != g.size || sum.events != s.events || s.storedBytes < 0 ||
		(s.events > 0 && (sum.firstSeq != s.firstSeq || sum.lastSeq != s.lastSeq || sum.minTs != s.minTs || sum.maxTs != s.maxTs)) {
		return nil, corruptf("index totals")
	}
	return g, nil
}

// scanBatches reads the batch records that follow one another in r, which
// starts at file offset off and holds n bytes, calling fn for each. It stops
// at the first record that is incomplete, fails its checks or does not
// continue the sequence after prevSeq, and returns where valid data ends. The
// batch passed to fn aliases a buffer reused for the next record.
func scanBatches(r io.Reader, off, n, prevSeq int64, fn func(off int64, b *batch) error) (int64, error) {
	segmentScans.Add(1)
	br := bufio.NewReaderSize(r, 1<<20)
	buf := make([]byte, 64<<10)
	end := off + n
	for {
		if end-off < batchHeaderSize {
			return off, nil
		}
		if _, err := io.ReadFull(br, buf[:batchHeaderSize]); err != nil {
			return off, readErr(err)
		}
		h, err := parseBatchHeader(buf)
		if err != nil || int64(h.length) > end-off || h.firstSeq <= prevSeq {
			return off, nil
		}
		if h.length > len(buf) {
			buf = append(buf[:batchHeaderSize], make([]byte, h.length-batchHeaderSize)...)
		}
		if _, err := io.ReadFull(br, buf[batchHeaderSize:h.length]); err != nil {
			return off, readErr(err)
		}
		b, err := decodeBatch(buf[:h.length])
		if err != nil {
			return off, nil
		}
		if err := fn(off, &b); err != nil {
			return off, err
		}
		off += int64(h.length)
		prevSeq = b.lastSeq()
	}
}

// readErr turns the end of the data into the end of a scan.
func readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil
	}
	return err
}

// scanSegment reads a whole segment file, which recovery needs for the active
// segment and for a sealed one whose index is missing or bad. With truncate,
// a torn tail is cut off the file. The segment's endCursors are the
// producer cursors as of its end.
func (s *Store) scanSegment(dir string, base int64, truncate bool) (*segment, error) {
	path := filepath.Join(dir, segmentName(base))
	flag := os.O_RDONLY
	if truncate {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	hdr, hdrBase, cursors, err := readSegmentHeader(f, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if hdrBase != base {
		return nil, corruptf("%s: header names base %d", path, hdrBase)
	}
	g := &segment{base: base, dataStart: int64(len(hdr)), size: int64(len(hdr)), nextSeq: base, endCursors: cursors}
	start := g.dataStart
	end, err := scanBatches(io.NewSectionReader(f, start, fi.Size()-start), start, fi.Size()-start, base-1,
		func(off int64, b *batch) error {
			g.addBatch(off, int64(b.length), b.info())
			if b.producer > 0 {
				g.endCursors[string(b.producerName)] = string(b.cursorValue)
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("logdata: scanning %s: %w", path, err)
	}
	if end < fi.Size() {
		s.log.Warn("logdata: cutting off a torn segment tail", "file", path, "valid", end, "size", fi.Size())
		if truncate {
			if err := f.Truncate(end); err != nil {
				return nil, err
			}
			if err := f.Sync(); err != nil {
				return nil, err
			}
		}
	}
	return g, nil
}

// writeFileAtomic makes path hold data durably, or leaves it unchanged:
// write a temporary file, fsync it, rename it over path, fsync the directory.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	err := writeSynced(tmp, data)
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// syncDir makes the creations, renames and removals in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// overlaps tells whether [minTs, maxTs] meets the filter's time range.
func (f timeFilter) overlaps(minTs, maxTs int64) bool { return maxTs >= f.lo && minTs < f.hi }

func (f timeFilter) match(ts int64) bool { return ts >= f.lo && ts < f.hi }

// timeFilter is [lo, hi) of event timestamps.
type timeFilter struct{ lo, hi int64 }

func newTimeFilter(start, end, notBefore int64) timeFilter {
	f := timeFilter{lo: math.MinInt64, hi: math.MaxInt64}
	if start != 0 {
		f.lo = start
	}
	if notBefore != 0 {
		f.lo = max(f.lo, notBefore)
	}
	if end != 0 {
		f.hi = end
	}
	return f
}
