package logdata

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// Expire removes the events with Timestamp < cutoff and returns the bytes it
// freed on disk. Sealed segments whose newest event is older are deleted;
// sealed segments holding some expired events are rewritten without them
// (the kept events keep their Seq); an active segment holding expired events
// is sealed first. Readers in progress may return fewer events. The bytes
// freed are net of the index and segment header this may write.
func (s *Store) Expire(ctx context.Context, id StreamID, cutoff int64) (freed int64, err error) {
	if err := s.begin(); err != nil {
		return 0, err
	}
	defer s.inflight.Done()
	st, err := s.stream(id)
	if err != nil {
		return 0, err
	}
	st.expireMu.Lock()
	defer st.expireMu.Unlock()
	if st.deleting.Load() {
		return 0, nil
	}
	added, err := s.prepareExpire(st, cutoff)
	if err != nil {
		return 0, err
	}
	defer func() { freed = max(0, freed-added) }()
	st.mu.RLock()
	var sealed []*segment
	for _, g := range st.segs {
		if g.sealed && (g.stats.events == 0 || g.stats.minTs < cutoff) {
			sealed = append(sealed, g)
		}
	}
	st.mu.RUnlock()
	for _, g := range sealed {
		if err := ctx.Err(); err != nil {
			return freed, err
		}
		if st.deleting.Load() {
			return freed, nil
		}
		var n int64
		if g.stats.events == 0 || g.stats.maxTs < cutoff {
			n, err = s.dropSegment(st, g)
		} else {
			n, err = s.rewriteSegment(st, g, cutoff)
		}
		freed += n
		if err != nil {
			return freed, err
		}
	}
	return freed, nil
}

// prepareExpire seals the active segment if it holds expired events, and
// makes sure an active segment exists before sealed ones are removed: its
// header carries the next sequence number and the producer cursors, which
// must outlive the segments that held them.
// It returns the bytes it wrote.
func (s *Store) prepareExpire(st *stream, cutoff int64) (added int64, err error) {
	st.writeMu.Lock()
	defer st.writeMu.Unlock()
	switch {
	case st.deleted:
		return 0, nil
	case st.broken != nil:
		return 0, st.broken
	}
	if a := st.active; a != nil && a.stats.events > 0 && a.stats.minTs < cutoff {
		if err := s.seal(st); err != nil {
			return 0, err
		}
		added += fileSize(filepath.Join(st.dir, indexName(a.base)))
	}
	if st.active != nil {
		return added, nil
	}
	st.mu.RLock()
	expiring := slices.ContainsFunc(st.segs, func(g *segment) bool { return g.stats.events == 0 || g.stats.minTs < cutoff })
	st.mu.RUnlock()
	if !expiring {
		return added, nil
	}
	if err := s.createActive(st); err != nil {
		return added, err
	}
	return added + st.active.size, nil
}

// dropSegment deletes a sealed segment, the segment file before its index
// (load removes an index without a segment). It keeps the stream's last
// segment, which holds the next sequence number and the producer cursors,
// in case creating an active segment after it failed.
func (s *Store) dropSegment(st *stream, g *segment) (int64, error) {
	segPath, idxPath := g.file.path, filepath.Join(st.dir, indexName(g.base))
	freed := fileSize(segPath) + fileSize(idxPath)
	st.mu.Lock()
	if len(st.segs) == 0 || st.segs[len(st.segs)-1] == g {
		st.mu.Unlock()
		return 0, nil
	}
	st.segs = slices.DeleteFunc(st.segs, func(x *segment) bool { return x == g })
	st.mu.Unlock()
	s.files.remove(g.file)
	for _, p := range []string{segPath, idxPath} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return 0, err
		}
	}
	return freed, syncDir(st.dir)
}

// rewriteSegment replaces a sealed segment by one without the events older
// than cutoff. A batch that loses events in its middle becomes one batch per
// run of consecutive kept sequence numbers, so every batch still covers
// consecutive ones. The replacement never leaves a segment beside an index
// that does not describe it: the old index goes first, and a segment without
// an index is rebuilt on load.
func (s *Store) rewriteSegment(st *stream, g *segment, cutoff int64) (freed int64, err error) {
	f, err := s.files.acquire(g.file)
	if errors.Is(err, errFileRemoved) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer s.files.release(g.file)
	segPath, idxPath := g.file.path, filepath.Join(st.dir, indexName(g.base))
	oldSize := g.size + fileSize(idxPath)
	hdr, base, _, err := readSegmentHeader(f, g.size)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", segPath, err)
	}
	if base != g.base || int64(len(hdr)) != g.dataStart {
		return 0, corruptf("%s: header does not match its index", segPath)
	}

	tmpSeg, tmpIdx := segPath+".tmp", idxPath+".tmp"
	out, err := os.OpenFile(tmpSeg, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return 0, err
	}
	defer func() {
		if out != nil {
			out.Close()
		}
		if err != nil {
			os.Remove(tmpSeg)
			os.Remove(tmpIdx)
		}
	}()
	bw := bufio.NewWriterSize(out, 1<<20)
	if _, err := bw.Write(hdr); err != nil {
		return 0, err
	}
	ng := &segment{base: g.base, sealed: true, dataStart: g.dataStart, size: g.dataStart, nextSeq: g.nextSeq,
		endCursors: g.endCursors}
	type run struct {
		firstSeq int64
		events   []Event
	}
	var runs []run
	n := g.size - g.dataStart
	end, err := scanBatches(io.NewSectionReader(f, g.dataStart, n), g.dataStart, n, g.base-1, func(_ int64, b *batch) error {
		runs = runs[:0]
		next := int64(-1)
		b.each(func(seq, ts int64, msg []byte) bool {
			if ts < cutoff {
				return true
			}
			if seq != next {
				runs = append(runs, run{firstSeq: seq})
			}
			r := &runs[len(runs)-1]
			r.events = append(r.events, Event{Timestamp: ts, Message: string(msg)})
			next = seq + 1
			return true
		})
		for i, r := range runs {
			var producer, cursor string
			if i == len(runs)-1 {
				producer, cursor = string(b.producerName), string(b.cursorValue)
			}
			rec, info, err := encodeBatch(r.events, b.ingest, producer, cursor)
			if err != nil {
				return err
			}
			sealBatch(rec, r.firstSeq)
			info.firstSeq = r.firstSeq
			if _, err := bw.Write(rec); err != nil {
				return err
			}
			ng.addBatch(ng.size, int64(len(rec)), info)
		}
		return nil
	})
	if err == nil && end != g.size {
		err = corruptf("%s: batch at %d fails its checks", segPath, end)
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	out = nil
	if err != nil {
		return 0, err
	}
	if ng.stats.events == 0 {
		os.Remove(tmpSeg)
		return s.dropSegment(st, g)
	}
	idx := encodeIndex(ng)
	if err = writeSynced(tmpIdx, idx); err != nil {
		return 0, err
	}

	// Readers that have the old file open finish on it; new ones skip the
	// segment until the new one is in place.
	if err = os.Remove(idxPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	if err = syncDir(st.dir); err != nil {
		return 0, err
	}
	s.files.remove(g.file)
	for _, step := range [][2]string{{tmpSeg, segPath}, {tmpIdx, idxPath}} {
		if err = os.Rename(step[0], step[1]); err != nil {
			return 0, err
		}
		if err = syncDir(st.dir); err != nil {
			return 0, err
		}
	}
	ng.file = newSegFile(segPath, false)
	st.mu.Lock()
	if i := slices.Index(st.segs, g); i >= 0 {
		st.segs[i] = ng
	}
	st.mu.Unlock()
	return oldSize - (ng.size + int64(len(idx))), nil
}

// writeSynced writes a new file durably, not its directory entry.
func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
