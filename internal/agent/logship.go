package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/runtime"
)

// A shipper follows one container's output and stores it in its log
// stream as CloudWatch Logs events, as Docker's awslogs driver would have:
// one event per line (or per multi-line message), stamped with the time
// Docker read the line, split at CloudWatch's event size and batched at
// its batch limits. One batch is in flight at a time, sent as soon as
// there is something to send.
//
// Nothing is lost and nothing stored twice: each batch says the position
// in the output it continues from (After) and the one it ends at (Cursor),
// and the server stores it only if After is where the producer's events
// stand, moving them to Cursor in the same write. The shipper starts from
// the position the server gives, so after a restart of the agent or the
// server it reads on from exactly there.

// CloudWatch Logs' limits, as Docker's awslogs driver applies them.
const (
	// perEventBytes is what each event counts in a batch besides its
	// message.
	perEventBytes = 26
	// maxBatchBytes and maxBatchEvents bound one batch (PutLogEvents).
	maxBatchBytes  = 1048576
	maxBatchEvents = 10000
	// maxEventBytes bounds one event's message: a longer message is split.
	// Invalid UTF-8 counts 3 bytes a byte (the server stores U+FFFD).
	maxEventBytes = 262144 - perEventBytes
	// maxBatchSpan: the events of one batch span at most 24 hours.
	maxBatchSpan = 24 * time.Hour
)

// Shipping's pace.
const (
	// queueEvents and queueBytes bound what is read ahead of the server.
	queueEvents = 2 * maxBatchEvents
	queueBytes  = 4 * maxBatchBytes
	// cursorSlack: a line stamped this much after the position's own line
	// means that line is gone (rotated away from Docker's log file).
	cursorSlack = time.Second
)

// logPos is a position in a container's output: after At's Count-th line
// (counting the lines read stamped exactly At), with the first Part bytes
// of the next line stored too (a line too long for one batch).
//
// Reading on from a position asks the runtime for the lines stamped at or
// after At and drops every line up to its Count-th line stamped At: what
// comes before it was read before, whether or not the runtime filters the
// lines of the other stream stamped a little earlier (Docker does before
// 23.0, at the cost of such a line right after the position).
type logPos struct {
	At    time.Time
	Count int
	Part  int
}

// String is the position as the server keeps it: "" for the start, else
// "<At, RFC 3339>#<Count>", with "+<Part>" when Part is set.
func (p logPos) String() string {
	if p.At.IsZero() && p.Count == 0 && p.Part == 0 {
		return ""
	}
	s := ""
	if !p.At.IsZero() {
		s = p.At.UTC().Format(time.RFC3339Nano)
	}
	s += "#" + strconv.Itoa(p.Count)
	if p.Part > 0 {
		s += "+" + strconv.Itoa(p.Part)
	}
	return s
}

func parseLogPos(s string) (logPos, error) {
	if s == "" {
		return logPos{}, nil
	}
	at, rest, ok := strings.Cut(s, "#")
	count, part, hasPart := strings.Cut(rest, "+")
	var p logPos
	var err error
	if at != "" {
		p.At, err = time.Parse(time.RFC3339Nano, at)
	}
	if err == nil {
		p.Count, err = strconv.Atoi(count)
	}
	if err == nil && hasPart {
		p.Part, err = strconv.Atoi(part)
	}
	if !ok || err != nil || p.Count < 0 || p.Part < 0 {
		return logPos{}, fmt.Errorf("log position %q is not berth's", s)
	}
	return p, nil
}

// after is the position after a line stamped at. Only the parts of one
// line share a stamp, and the runtime joins them: a new stamp starts a new
// count.
func (p logPos) after(at time.Time) logPos {
	if at.Equal(p.At) {
		return logPos{At: p.At, Count: p.Count + 1}
	}
	return logPos{At: at, Count: 1}
}

// skipper drops the lines a read from a position starts with that were
// read before.
type skipper struct {
	at   time.Time
	left int // lines stamped at still to drop
	part int // bytes of the next line stored already
}

func newSkipper(p logPos) skipper { return skipper{at: p.At, left: p.Count, part: p.Part} }

// admit says whether a line is new, and how many of its bytes are stored
// already. lost is set when the position's line is not there any more.
func (k *skipper) admit(l runtime.LogLine) (keep bool, stored int, lost bool) {
	if k.left > 0 {
		switch {
		case l.Time.Equal(k.at):
			k.left--
			return false, 0, false
		case !l.Time.After(k.at.Add(cursorSlack)):
			return false, 0, false // a line of the other stream, read before
		}
		k.left, k.part, lost = 0, 0, true
	}
	stored, k.part = k.part, 0
	return true, stored, lost
}

// shipEvent is an event ready to send, and the position its batch reaches
// if it is the batch's last.
type shipEvent struct {
	ev   agentproto.LogEvent
	size int // in the batch, perEventBytes included
	end  logPos
}

// eventSink receives the events a grouper makes.
type eventSink func(shipEvent)

// grouper makes events of lines: one per line, or with a multi-line
// pattern one per line matching it and the lines that follow, each line
// ending with "\n" (Docker's awslogs driver's way).
type grouper struct {
	pattern *regexp.Regexp
	flush   time.Duration
	emit    eventSink

	// The multi-line event still open: its text and effective size, its
	// first line's stamp and position before it, when the agent read that
	// line, how many lines it has and the position after the last.
	buf      []byte
	bufSize  int
	first    time.Time
	start    logPos
	received time.Time
	lines    int
	end      logPos
}

// add takes one line; before and after are the positions around it.
// stored bytes of it are in the stream already (the event they belong to
// is not open any more, so the rest is an event of its own).
func (g *grouper) add(l runtime.LogLine, before, after logPos, stored int, now time.Time) {
	if g.pattern == nil || stored > 0 {
		g.flushOpen()
		splitEvent(l.Text[stored:], l.Time, before, stored, after, g.emit)
		return
	}
	size := effectiveSize(l.Text)
	// Docker flushes an open event on its timer once the first line is
	// this old: a later line starts an event even when read late.
	if g.lines > 0 && (g.pattern.Match(l.Text) || g.bufSize+size > maxEventBytes || l.Time.Sub(g.first) >= g.flush) {
		g.flushOpen()
	}
	if g.lines == 0 {
		g.first, g.start, g.received = l.Time, before, now
	}
	g.buf = append(g.buf, l.Text...)
	g.bufSize += size
	if size < maxEventBytes {
		g.buf = append(g.buf, '\n')
		g.bufSize++
	}
	g.lines++
	g.end = after
}

// due is when the open event is to be flushed (zero: none is open). The
// line's own stamp counts, as Docker's, and when the agent read it, so a
// backlog read late is grouped as it would have been live.
func (g *grouper) due() time.Time {
	if g.lines == 0 {
		return time.Time{}
	}
	return later(g.first, g.received).Add(g.flush)
}

// flushOpen makes the open event, if any.
func (g *grouper) flushOpen() {
	if g.lines == 0 {
		return
	}
	// Only an event opened by a line too long alone exceeds the limit:
	// its parts' positions count that line's bytes.
	splitEvent(g.buf, g.first, g.start, 0, g.end, g.emit)
	g.reset()
}

// reset drops the open event (its lines are read again).
func (g *grouper) reset() {
	g.buf, g.bufSize, g.lines = g.buf[:0], 0, 0
}

// splitEvent emits text as events of at most maxEventBytes, not splitting
// a character. before is the position before the line, stored how many of
// its bytes come before text, after the position after it.
func splitEvent(text []byte, at time.Time, before logPos, stored int, after logPos, emit eventSink) {
	ms := at.UnixMilli()
	for len(text) > 0 {
		n, size := validSplit(text, maxEventBytes)
		chunk := text[:n]
		text = text[n:]
		stored += n
		end := after
		if len(text) > 0 {
			end = before
			end.Part = stored
		}
		emit(shipEvent{ev: agentproto.LogEvent{Timestamp: ms, Message: string(chunk)}, size: size + perEventBytes, end: end})
	}
}

// effectiveSize is b's size once stored: invalid UTF-8 bytes become U+FFFD.
func effectiveSize(b []byte) int {
	if utf8.Valid(b) {
		return len(b)
	}
	_, size := validSplit(b, len(b)*3)
	return size
}

// validSplit returns the length of b's longest prefix whose effective size
// is at most limit, ending at a character's end, and that size.
func validSplit(b []byte, limit int) (n, size int) {
	if len(b) <= limit && utf8.Valid(b) {
		return len(b), len(b)
	}
	for n < len(b) {
		r, w := utf8.DecodeRune(b[n:])
		rs := w
		if r == utf8.RuneError && w == 1 {
			rs = 3
		}
		if size+rs > limit {
			break
		}
		n += w
		size += rs
	}
	return n, size
}

// takeBatch returns how many events from the queue's front make the next
// batch.
func takeBatch(queue []shipEvent) int {
	if len(queue) == 0 {
		return 0
	}
	first := queue[0].ev.Timestamp
	n, size := 0, 0
	for n < len(queue) && n < maxBatchEvents {
		e := queue[n]
		span := time.Duration(max(e.ev.Timestamp-first, first-e.ev.Timestamp)) * time.Millisecond
		if size+e.size > maxBatchBytes || span > maxBatchSpan {
			break
		}
		size += e.size
		n++
	}
	return n
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// shipper ships one container's output to its log stream.
type shipper struct {
	rt      runtime.Runtime
	sink    LogSink
	metrics *metrics
	log     *slog.Logger
	// stream is the request that prepares the stream; its Producer is the
	// container's runtime id.
	stream  agentproto.LogStreamRequest
	pattern *regexp.Regexp
	flush   time.Duration
	// failing is told when shipping starts failing (since set) and when
	// it works again (zero), in the agent's time now gives.
	failing func(since time.Time)
	now     func() time.Time
}

// shipResult is how a shipper ended.
type shipResult int

const (
	shipStopped shipResult = iota // its context ended
	shipDrained                   // the container stopped and its output is all stored
	shipGone                      // the container was removed
)

// readLimit bounds the lines taken from a read at once, between looks at
// the batch in flight.
const readLimit = 4096

// shipRun is one run of a shipper.
type shipRun struct {
	*shipper
	ctx context.Context
	bo  backoff

	stored string // the server's position: the next batch's After
	made   logPos // where the last event made ends
	queue  []shipEvent
	queued int // bytes of the queue's events
	g      grouper

	// The read in progress (lines is nil between reads): where it is, what
	// it drops first, and whether it is the last (the container stopped).
	lines      chan runtime.LogLine
	readErr    chan error
	cancelRead context.CancelFunc
	pos        logPos
	skip       skipper
	final      bool
	readAgain  <-chan time.Time

	// The batch to send (sending: on its way; retry: waiting to go again).
	batch   *agentproto.LogBatch
	batchN  int
	sending bool
	retry   <-chan time.Time
	results chan sendResult
	// prepare: the server lost the stream; make it again before the next
	// batch.
	prepare      bool
	failingSince time.Time
}

type sendResult struct {
	resp agentproto.LogBatchResponse
	err  error
}

// run ships until the container has stopped and all it wrote is stored,
// it is removed, or ctx ends.
func (s *shipper) run(ctx context.Context) shipResult {
	r := &shipRun{shipper: s, ctx: ctx, results: make(chan sendResult, 1)}
	r.g = grouper{pattern: s.pattern, flush: s.flush, emit: r.enqueue}
	defer func() {
		if r.cancelRead != nil {
			r.cancelRead()
		}
	}()
	if !r.prepareStream() {
		if r.ctx.Err() != nil {
			return shipStopped
		}
		return shipGone
	}
	r.startRead(r.made)
	flushTimer := time.NewTimer(time.Hour)
	flushTimer.Stop()
	var flushAt time.Time
	for {
		r.send()
		if r.final && r.lines == nil && len(r.queue) == 0 && r.batch == nil {
			return shipDrained
		}
		if due := r.g.due(); !due.Equal(flushAt) {
			flushAt = due
			flushTimer.Stop()
			if !due.IsZero() {
				flushTimer.Reset(max(time.Until(due), 0))
			}
		}
		var lines chan runtime.LogLine
		if r.room() {
			lines = r.lines
		}
		select {
		case <-ctx.Done():
			return shipStopped
		case l, ok := <-lines:
			if res, done := r.line(l, ok); done {
				return res
			}
		burst:
			for range readLimit {
				if r.lines == nil || !r.room() {
					break
				}
				select {
				case l, ok := <-r.lines:
					if res, done := r.line(l, ok); done {
						return res
					}
				default:
					break burst
				}
			}
		case res := <-r.results:
			if out, done := r.sent(res); done {
				return out
			}
		case <-r.retry:
			r.retry = nil
		case <-r.readAgain:
			r.readAgain = nil
			r.startRead(r.made)
		case <-flushTimer.C:
			flushAt = time.Time{}
			if len(r.lines) > 0 && r.room() {
				continue // the lines already read come first
			}
			r.g.flushOpen()
		}
	}
}

// room says whether more lines may be read ahead of the server.
func (r *shipRun) room() bool { return len(r.queue) < queueEvents && r.queued < queueBytes }

// prepareStream asks the server for the stream (making it if it must) and
// the position to ship from, until it answers.
func (r *shipRun) prepareStream() bool {
	for {
		resp, err := r.sink.PrepareStream(r.ctx, r.stream)
		if err == nil {
			var pos logPos
			if pos, err = parseLogPos(resp.Cursor); err == nil {
				r.stored, r.made = resp.Cursor, pos
				r.succeeded()
				return true
			}
		}
		if r.ctx.Err() != nil || r.removed() {
			return false
		}
		r.failed("preparing the log stream", err)
		if !sleepCtx(r.ctx, r.bo.next()) {
			return false
		}
	}
}

// removed says whether the container is gone (its output with it).
func (r *shipRun) removed() bool {
	_, err := r.rt.Inspect(r.ctx, r.stream.Producer)
	return errors.Is(err, runtime.ErrNotFound)
}

// startRead starts reading the container's output from a position. Lines
// of the open multi-line event are past it, and are read again.
func (r *shipRun) startRead(from logPos) {
	ctx, cancel := context.WithCancel(r.ctx)
	lines := make(chan runtime.LogLine, readLimit)
	errc := make(chan error, 1)
	go func() {
		errc <- r.rt.Logs(ctx, r.stream.Producer, runtime.LogsOptions{Since: from.At, Follow: true}, func(l runtime.LogLine) error {
			select {
			case lines <- l:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		close(lines)
	}()
	r.lines, r.readErr, r.cancelRead = lines, errc, cancel
	r.pos, r.skip, r.final = from, newSkipper(from), false
	r.g.reset()
}

// stopRead ends the read in progress.
func (r *shipRun) stopRead() {
	if r.cancelRead != nil {
		r.cancelRead()
	}
	r.lines, r.readErr, r.cancelRead, r.readAgain = nil, nil, nil, nil
}

// line takes a line of the read (ok false: the read ended).
func (r *shipRun) line(l runtime.LogLine, ok bool) (shipResult, bool) {
	if !ok {
		return r.readEnded()
	}
	keep, stored, lost := r.skip.admit(l)
	if lost {
		r.log.Warn("the container's log file no longer holds the shipped position (rotated away while the server was unreachable?); lines in between are lost",
			"position", r.pos.String())
	}
	if !keep {
		return 0, false
	}
	before := r.pos
	r.pos = r.pos.after(l.Time)
	r.g.add(l, before, r.pos, stored, time.Now())
	return 0, false
}

// enqueue takes an event the grouper made.
func (r *shipRun) enqueue(e shipEvent) {
	r.queue = append(r.queue, e)
	r.queued += e.size
	r.made = e.end
}

// readEnded decides what follows the end of a read: the last lines if the
// container has stopped, else another read.
func (r *shipRun) readEnded() (shipResult, bool) {
	err := <-r.readErr
	r.stopRead()
	if r.ctx.Err() != nil {
		return shipStopped, true
	}
	var c runtime.Container
	if err == nil {
		c, err = r.rt.Inspect(r.ctx, r.stream.Producer)
	}
	switch {
	case errors.Is(err, runtime.ErrNotFound):
		if n := len(r.queue) + r.g.lines; n > 0 {
			r.log.Warn("the container was removed before its output was all shipped", "events", n)
		}
		return shipGone, true
	case err != nil:
		r.failed("reading the container's output", err)
	case c.Exited && !c.Running:
		// The read ended with the container's output: nothing more comes.
		r.final = true
		r.g.flushOpen()
		return 0, false
	}
	r.g.reset() // its lines are read again
	r.readAgain = time.After(r.bo.next())
	return 0, false
}

// send sends the next batch unless one is on its way or waiting.
func (r *shipRun) send() {
	if r.sending || r.retry != nil {
		return
	}
	if r.batch == nil {
		n := takeBatch(r.queue)
		if n == 0 {
			return
		}
		events := make([]agentproto.LogEvent, n)
		for i, e := range r.queue[:n] {
			events[i] = e.ev
		}
		// A batch's events go in time order; stdout's and stderr's
		// stamps may interleave.
		slices.SortStableFunc(events, func(a, b agentproto.LogEvent) int { return cmp.Compare(a.Timestamp, b.Timestamp) })
		r.batch = &agentproto.LogBatch{LogStreamRef: r.stream.LogStreamRef, Producer: r.stream.Producer,
			After: r.stored, Cursor: r.queue[n-1].end.String(), Events: events}
		r.batchN = n
	}
	r.sending = true
	batch, prepare := r.batch, r.prepare
	go func() {
		var res sendResult
		if prepare {
			_, res.err = r.sink.PrepareStream(r.ctx, r.stream)
		}
		if res.err == nil {
			res.resp, res.err = r.sink.PutBatch(r.ctx, batch)
		}
		r.results <- res
	}()
}

// sent handles the answer to the batch sent.
func (r *shipRun) sent(res sendResult) (shipResult, bool) {
	r.sending = false
	if res.err == nil {
		r.delivered()
		return 0, false
	}
	if r.ctx.Err() != nil {
		return shipStopped, true
	}
	var le *LogSinkError
	errors.As(res.err, &le)
	switch {
	case le != nil && le.Code == agentproto.LogCursorMismatch && le.Cursor == r.batch.Cursor:
		r.delivered() // stored before; the answer was lost
		return 0, false
	case le != nil && le.Code == agentproto.LogCursorMismatch:
		pos, err := parseLogPos(le.Cursor)
		if err != nil {
			break
		}
		// Another shipper wrote the stream, or the server forgot: ship
		// on from the server's position.
		r.log.Warn("the log stream's position is not the agent's; shipping on from the server's",
			"agent", r.batch.After, "server", le.Cursor)
		r.stopRead()
		r.queue, r.queued, r.batch = r.queue[:0], 0, nil
		r.stored, r.made = le.Cursor, pos
		r.startRead(pos)
		return 0, false
	case le != nil && le.Code == "InvalidParameterException":
		// Sending it again changes nothing: as Docker's driver, drop it.
		r.metrics.logBatchesFailed.Inc()
		r.log.Error("the server refused a log batch; its events are dropped", "events", r.batchN, "err", res.err)
		r.dequeue()
		return 0, false
	case le != nil && le.Code == "ResourceNotFoundException":
		r.prepare = true
	}
	r.metrics.logBatchesFailed.Inc()
	if r.removed() {
		r.log.Warn("the container was removed before its output was all shipped", "events", len(r.queue))
		return shipGone, true
	}
	r.failed("storing a log batch", res.err)
	r.retry = time.After(r.bo.next())
	return 0, false
}

// delivered records the batch sent as stored.
func (r *shipRun) delivered() {
	bytes := 0
	for _, e := range r.queue[:r.batchN] {
		bytes += len(e.ev.Message)
	}
	r.metrics.logEvents.Add(float64(r.batchN))
	r.metrics.logBytes.Add(float64(bytes))
	r.stored, r.prepare = r.batch.Cursor, false
	r.dequeue()
	r.succeeded()
}

// dequeue takes the batch's events off the queue.
func (r *shipRun) dequeue() {
	for _, e := range r.queue[:r.batchN] {
		r.queued -= e.size
	}
	r.queue = slices.Delete(r.queue, 0, r.batchN)
	r.batch, r.batchN = nil, 0
}

// failed notes a failure, and tells the runner when shipping starts
// failing.
func (r *shipRun) failed(what string, err error) {
	level := slog.LevelDebug
	if r.failingSince.IsZero() {
		level = slog.LevelWarn
		r.failingSince = r.now()
		r.failing(r.failingSince)
	}
	r.log.Log(r.ctx, level, what+" failed; retrying", "err", err)
}

// succeeded notes that shipping works (again).
func (r *shipRun) succeeded() {
	r.bo.reset()
	if !r.failingSince.IsZero() {
		r.log.Info("log shipping works again", "failedFor", r.now().Sub(r.failingSince).Round(time.Second))
		r.failingSince = time.Time{}
		r.failing(time.Time{})
	}
}
