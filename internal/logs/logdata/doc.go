// Package logdata stores the events of CloudWatch Logs log streams. Log
// groups and streams are records in berth's bbolt store, which name a
// stream's data here by an opaque StreamID; the events themselves live in
// append-only segment files in their own directory, with a sparse index by
// sequence number and time. So the newest or the oldest page of a stream of
// millions of events is read without scanning the stream, time-bounded scans
// skip what lies outside their range, and retention frees whole files.
//
// # Files
//
//	<Dir>/<stream id>/<base>.seg   segment: a header, then batch records
//	<Dir>/<stream id>/<base>.idx   index of a sealed segment
//	<Dir>/<stream id>/*.tmp        a file being written; removed on open
//
// <base> is the 20-digit sequence number the segment started at; segments
// sort by it. The last segment, if it has no index, is the active one, the
// only one appended to. It is sealed (its index written) when it reaches
// Options.SegmentBytes or when Options.SegmentMaxAge has passed since its
// first write, and a new one starts with the next append.
//
// A segment header is: magic "BRTHLOG\x01", CRC-32C of the rest, length,
// base, and the producer cursors as of the segment's start. Carrying the
// cursors, and the next sequence number as base, in every segment lets them
// outlive the expiry of all earlier segments.
//
// A batch record is one Append, all-or-nothing (little endian): CRC-32C
// (Castagnoli) of the rest of the record | record length u32 | event count
// u32 | producer length u16 | cursor length u16 | sequence number of the
// first event i64 | min and max event timestamp i64 | ingestion time i64 |
// producer | cursor | per event: timestamp i64 (ms), message length u32,
// message. A batch covers consecutive sequence numbers.
//
// An index holds the segment's base, data size, next sequence number, first
// write time and stats (events, stored bytes, first and last seq, min and
// max timestamp, last ingestion time), the producer cursors as of its end,
// and one entry per ~64 KiB span of whole batches: file offsets, first and
// last seq, event count, min and max timestamp. A CRC-32C ends it.
//
// # Durability and crash recovery
//
// Append returns after its batch is fsync'd. One committer writes and syncs
// all queued appends per round (streams in parallel), so concurrent appends
// share fsyncs and a batch costs no fsync of its own.
//
// Files other than the active segment are written to a temporary file,
// fsync'd and renamed into place (and the directory fsync'd), so they are
// whole or absent. The active segment can end in a torn batch (a crash
// mid-write): opening the stream scans the active segment, checks each
// batch's CRC, lengths and sequence numbers, and truncates it at the first
// that fails. That batch was never acknowledged, since acknowledgment
// follows the fsync. Sealed segments are trusted to match their index and
// are not scanned (only a missing or damaged index makes one be scanned,
// once, to rebuild it); their batches are still checked when read.
//
// Expire rewrites a partly expired segment beside the old one and swaps
// them so that an index never describes a segment other than its own: the
// old index is removed first, and a sealed segment without an index is
// rebuilt on open.
package logdata
