package agent

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/runtime"
)

var l0 = time.Date(2024, 1, 1, 0, 0, 0, 123456789, time.UTC)

func line(at time.Time, text string) runtime.LogLine {
	return runtime.LogLine{Time: at, Text: []byte(text)}
}

func TestLogPos(t *testing.T) {
	for _, tc := range []struct {
		pos  logPos
		want string
	}{
		{logPos{}, ""},
		{logPos{At: l0, Count: 1}, "2024-01-01T00:00:00.123456789Z#1"},
		{logPos{At: l0, Count: 2, Part: 262118}, "2024-01-01T00:00:00.123456789Z#2+262118"},
		{logPos{Part: 5}, "#0+5"},
	} {
		if got := tc.pos.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.pos, got, tc.want)
		}
		back, err := parseLogPos(tc.want)
		if err != nil || !back.At.Equal(tc.pos.At) || back.Count != tc.pos.Count || back.Part != tc.pos.Part {
			t.Errorf("parse %q = %+v, %v", tc.want, back, err)
		}
	}
	for _, bad := range []string{"2024", "x#1", "2024-01-01T00:00:00Z#-1", "2024-01-01T00:00:00Z#1+x"} {
		if _, err := parseLogPos(bad); err == nil {
			t.Errorf("parse %q: no error", bad)
		}
	}
	p := logPos{}.after(l0).after(l0)
	if p.At != l0 || p.Count != 2 {
		t.Errorf("two lines at l0: %+v", p)
	}
	if p = p.after(l0.Add(1)); p.Count != 1 || p.Part != 0 {
		t.Errorf("a later line: %+v", p)
	}
}

// TestSkipper: a read from a position drops what it read before, for both
// ways Docker applies Since, and ships on when the position's line is gone.
func TestSkipper(t *testing.T) {
	t1, t2, t3 := l0, l0.Add(time.Microsecond), l0.Add(2*time.Microsecond)
	late := l0.Add(2 * cursorSlack)
	tests := []struct {
		name  string
		pos   logPos
		lines []runtime.LogLine
		want  string // kept lines, with stored bytes
		lost  bool
	}{
		{"from the start", logPos{}, []runtime.LogLine{line(t1, "a"), line(t2, "b")}, "a/0 b/0", false},
		{"after the second line stamped t1", logPos{At: t1, Count: 2},
			[]runtime.LogLine{line(t1, "a"), line(t1, "b"), line(t2, "c")}, "c/0", false},
		// Docker from 23.0: the lines after the first at or after Since
		// come whatever their stamps.
		{"a line of the other stream after the position is new", logPos{At: t3, Count: 1},
			[]runtime.LogLine{line(t3, "a"), line(t2, "err"), line(t3.Add(1), "b")}, "err/0 b/0", false},
		{"straggler before the position's line", logPos{At: t2, Count: 1},
			[]runtime.LogLine{line(t3, "x"), line(t1, "y"), line(t2, "z"), line(t3, "new")}, "new/0", false},
		{"a line partly stored", logPos{At: t1, Count: 1, Part: 3},
			[]runtime.LogLine{line(t1, "a"), line(t2, "long line"), line(t3, "c")}, "long line/3 c/0", false},
		{"rotated away", logPos{At: t1, Count: 1, Part: 3},
			[]runtime.LogLine{line(late, "later"), line(late, "more")}, "later/0 more/0", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := newSkipper(tc.pos)
			var kept []string
			lost := false
			for _, l := range tc.lines {
				keep, stored, gone := k.admit(l)
				lost = lost || gone
				if keep {
					kept = append(kept, fmt.Sprintf("%s/%d", l.Text, stored))
				}
			}
			if got := strings.Join(kept, " "); got != tc.want || lost != tc.lost {
				t.Errorf("kept %q lost %t, want %q lost %t", got, lost, tc.want, tc.lost)
			}
		})
	}
}

// groupLines runs lines through a grouper and returns its events.
func groupLines(pattern string, lines ...runtime.LogLine) []shipEvent {
	var out []shipEvent
	g := grouper{flush: defaultFlushInterval, emit: func(e shipEvent) { out = append(out, e) }}
	if pattern != "" {
		g.pattern = regexp.MustCompile(pattern)
	}
	pos := logPos{}
	for _, l := range lines {
		before := pos
		pos = pos.after(l.Time)
		g.add(l, before, pos, 0, l.Time)
	}
	g.flushOpen()
	return out
}

func messagesOf(evs []shipEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.ev.Message)
	}
	return out
}

func TestGrouperLines(t *testing.T) {
	evs := groupLines("", line(l0, "one"), line(l0.Add(time.Millisecond), ""), line(l0.Add(2*time.Millisecond), "three"))
	// Docker's driver makes no event of an empty line.
	if got := messagesOf(evs); strings.Join(got, "|") != "one|three" {
		t.Fatalf("events %q", got)
	}
	if evs[0].ev.Timestamp != l0.UnixMilli() || evs[1].ev.Timestamp != l0.UnixMilli()+2 || evs[0].size != 3+perEventBytes {
		t.Errorf("events %+v", evs)
	}
	if got, want := evs[1].end, (logPos{At: l0.Add(2 * time.Millisecond), Count: 1}); got != want {
		t.Errorf("end of the last event %s", got)
	}
}

func TestGrouperMultiline(t *testing.T) {
	at := func(ms int) time.Time { return l0.Add(time.Duration(ms) * time.Millisecond) }
	evs := groupLines(`^\d{4}-`,
		line(at(0), "preamble"),
		line(at(1), "2024-01-01 first"),
		line(at(2), "  at frame 1"),
		line(at(3), "  at frame 2"),
		line(at(4), "2024-01-01 second"),
		// Read 6 s after its event began: Docker's timer would have sent
		// the event by then.
		line(at(6004), "  late continuation"),
	)
	want := []string{"preamble\n", "2024-01-01 first\n  at frame 1\n  at frame 2\n", "2024-01-01 second\n", "  late continuation\n"}
	if got := messagesOf(evs); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("events %q\nwant %q", got, want)
	}
	if evs[1].ev.Timestamp != at(1).UnixMilli() {
		t.Errorf("a multi-line event is stamped with its first line: %d", evs[1].ev.Timestamp)
	}
	// Each event ends after its last line: the position counts lines.
	if got := evs[1].end; !got.At.Equal(at(3)) || got.Count != 1 {
		t.Errorf("end of the second event %+v", got)
	}

	// An event never exceeds the limit: a line that would make it too
	// long starts the next, and a line too long alone is an event without
	// a newline (split).
	big := strings.Repeat("a", maxEventBytes-3)
	huge := strings.Repeat("b", maxEventBytes+5)
	evs = groupLines("^START", line(at(0), "START"), line(at(1), big), line(at(2), huge), line(at(3), "tail"))
	got := messagesOf(evs)
	if len(got) != 5 || got[0] != "START\n" || got[1] != big+"\n" || got[2] != huge[:maxEventBytes] || got[3] != "bbbbb" || got[4] != "tail\n" {
		t.Errorf("events of sizes %d", lens(got))
	}
}

func lens(ss []string) []int {
	var out []int
	for _, s := range ss {
		out = append(out, len(s))
	}
	return out
}

func TestGrouperDue(t *testing.T) {
	var out []shipEvent
	g := grouper{pattern: regexp.MustCompile("^x"), flush: 5 * time.Second, emit: func(e shipEvent) { out = append(out, e) }}
	if !g.due().IsZero() {
		t.Error("due with no open event")
	}
	now := l0.Add(time.Hour) // a backlog: the line is old when read
	g.add(line(l0, "x1"), logPos{}, logPos{At: l0, Count: 1}, 0, now)
	if due := g.due(); !due.Equal(now.Add(5 * time.Second)) {
		t.Errorf("due %v, want 5s after the line was read", due)
	}
	g.flushOpen()
	if len(out) != 1 || !g.due().IsZero() {
		t.Errorf("flush: %d events, due %v", len(out), g.due())
	}
}

// TestSplitEvent: a line longer than an event is split as Docker's driver
// does (never inside a character; invalid UTF-8 counts 3 bytes), and each
// part but the last ends at a position counting its bytes.
func TestSplitEvent(t *testing.T) {
	var out []shipEvent
	emit := func(e shipEvent) { out = append(out, e) }
	before, after := logPos{At: l0, Count: 1}, logPos{At: l0.Add(1), Count: 1}
	text := []byte(strings.Repeat("é", maxEventBytes/2) + "tail") // 2 bytes each
	splitEvent(text, l0, before, 0, after, emit)
	if len(out) != 2 || len(out[0].ev.Message) != maxEventBytes || out[1].ev.Message != "tail" {
		t.Fatalf("parts of %d bytes", lens(messagesOf(out)))
	}
	if out[0].end != (logPos{At: l0, Count: 1, Part: maxEventBytes}) || out[1].end != after {
		t.Errorf("ends %+v %+v", out[0].end, out[1].end)
	}

	out = nil
	odd := []byte(strings.Repeat("a", maxEventBytes-1) + "é")
	splitEvent(odd, l0, before, 0, after, emit)
	if len(out) != 2 || len(out[0].ev.Message) != maxEventBytes-1 || out[1].ev.Message != "é" {
		t.Errorf("a character at the limit: parts of %d bytes", lens(messagesOf(out)))
	}

	out = nil
	invalid := append([]byte(strings.Repeat("a", maxEventBytes-4)), 0xff, 0xfe)
	splitEvent(invalid, l0, before, 0, after, emit)
	if len(out) != 2 || out[0].size != maxEventBytes-4+3+perEventBytes || out[1].size != 3+perEventBytes {
		t.Errorf("invalid bytes: sizes %d %d", out[0].size, out[1].size)
	}
	if n, size := validSplit([]byte{0xff, 'a'}, 10); n != 2 || size != 4 {
		t.Errorf("validSplit = %d, %d", n, size)
	}

	// The rest of a line partly stored starts its parts' positions there.
	out = nil
	long := []byte(strings.Repeat("a", 2*maxEventBytes))
	splitEvent(long[100:], l0, before, 100, after, emit)
	if out[0].end.Part != 100+maxEventBytes {
		t.Errorf("part end %+v", out[0].end)
	}
}

func TestTakeBatch(t *testing.T) {
	ev := func(ms int64, size int) shipEvent {
		return shipEvent{ev: agentproto.LogEvent{Timestamp: ms}, size: size + perEventBytes}
	}
	var many []shipEvent
	for range maxBatchEvents + 5 {
		many = append(many, ev(1, 10))
	}
	if n := takeBatch(many); n != maxBatchEvents {
		t.Errorf("%d events of 10 bytes, want %d", n, maxBatchEvents)
	}
	var big []shipEvent
	for range 10 {
		big = append(big, ev(1, 200000))
	}
	// 5 * 200026 = 1000130; a sixth would pass 1048576.
	if n := takeBatch(big); n != 5 {
		t.Errorf("%d events of 200000 bytes, want 5", n)
	}
	if n := takeBatch([]shipEvent{ev(1, maxEventBytes), ev(1, maxEventBytes), ev(1, maxEventBytes), ev(1, maxEventBytes), ev(1, 1)}); n != 4 {
		t.Errorf("%d events of the maximum size, want 4", n)
	}
	day := int64(24 * time.Hour / time.Millisecond)
	if n := takeBatch([]shipEvent{ev(0, 1), ev(day, 1), ev(day+1, 1)}); n != 2 {
		t.Errorf("%d events within a day, want 2", n)
	}
	if n := takeBatch(nil); n != 0 {
		t.Errorf("%d of none", n)
	}
}

// shipHarness runs shippers of one container of a fake runtime into a
// fake sink.
type shipHarness struct {
	t    *testing.T
	fr   *fakeRuntime
	sink *fakeSink
	id   string
	ref  agentproto.LogStreamRef
	mu   sync.Mutex
	fail []time.Time // what the shippers said about failing
}

func newShipHarness(t *testing.T) *shipHarness {
	fr := newFakeRuntime()
	fr.addImage("img")
	fr.local["img"] = runtime.Image{ID: "img"}
	c, err := fr.Create(context.Background(), runtime.ContainerSpec{Name: "c", Image: "img", Labels: map[string]string{LabelECSContainer: "app"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := fr.Start(context.Background(), c.ID); err != nil {
		t.Fatal(err)
	}
	ref := agentproto.LogStreamRef{Region: "us-east-1", Group: "g", Stream: "p/app/task"}
	return &shipHarness{t: t, fr: fr, sink: newFakeSink("g"), id: c.ID, ref: ref}
}

func (h *shipHarness) shipper(pattern string) *shipper {
	s := &shipper{rt: h.fr, sink: h.sink, metrics: newMetrics(nil), log: testLogger(h.t),
		stream:  agentproto.LogStreamRequest{LogStreamRef: h.ref, Producer: h.id},
		flush:   defaultFlushInterval,
		failing: func(since time.Time) { h.mu.Lock(); h.fail = append(h.fail, since); h.mu.Unlock() },
		now:     time.Now}
	if pattern != "" {
		s.pattern = regexp.MustCompile(pattern)
	}
	return s
}

// start runs a shipper in the background; the returned func stops it and
// returns how it ended.
func (h *shipHarness) start(s *shipper) (result func() shipResult, stop context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan shipResult, 1)
	go func() { done <- s.run(ctx) }()
	h.t.Cleanup(cancel)
	return func() shipResult {
		select {
		case r := <-done:
			return r
		case <-time.After(10 * time.Second):
			h.t.Fatal("the shipper did not end")
			return 0
		}
	}, cancel
}

func numbered(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("line %d", i))
	}
	return out
}

func TestShipperDrains(t *testing.T) {
	h := newShipHarness(t)
	h.fr.writeLog(h.id, numbered(1, 100)...)
	result, _ := h.start(h.shipper(""))
	h.sink.waitMessages(t, h.ref, 100) // shipped while the container runs
	h.fr.writeLog(h.id, numbered(101, 25000)...)
	h.fr.exit(h.id, 0, false)
	if r := result(); r != shipDrained {
		t.Fatalf("result %d", r)
	}
	if got := h.sink.messages(h.ref); strings.Join(got, "\n") != strings.Join(numbered(1, 25000), "\n") {
		t.Fatalf("%d messages stored", len(got))
	}
	if h.sink.batches < 3 {
		t.Errorf("%d batches for 25000 events", h.sink.batches)
	}
}

// TestShipperServerOutage: the server's outage makes no gap and no
// duplicate, and the shipper says when it started failing and recovered.
func TestShipperServerOutage(t *testing.T) {
	h := newShipHarness(t)
	result, _ := h.start(h.shipper(""))
	h.fr.writeLog(h.id, numbered(1, 10)...)
	h.sink.waitMessages(t, h.ref, 10)
	h.sink.setDown(errSinkDown)
	h.fr.writeLog(h.id, numbered(11, 20)...)
	time.Sleep(300 * time.Millisecond)
	h.sink.setDown(nil)
	h.fr.writeLog(h.id, numbered(21, 30)...)
	h.fr.exit(h.id, 0, false)
	if r := result(); r != shipDrained {
		t.Fatalf("result %d", r)
	}
	if got := h.sink.messages(h.ref); strings.Join(got, "|") != strings.Join(numbered(1, 30), "|") {
		t.Errorf("stored %q", got)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.fail) != 2 || h.fail[0].IsZero() || !h.fail[1].IsZero() {
		t.Errorf("failing reports %v", h.fail)
	}
}

// TestShipperResumes: a shipper stopped at any point (the agent killed)
// and started again stores every line once.
func TestShipperResumes(t *testing.T) {
	h := newShipHarness(t)
	h.fr.writeLog(h.id, numbered(1, 30000)...)
	_, stop := h.start(h.shipper(""))
	h.sink.waitMessages(t, h.ref, 1)
	stop()
	h.fr.writeLog(h.id, numbered(30001, 30010)...)
	h.fr.exit(h.id, 0, false)
	result, _ := h.start(h.shipper(""))
	if r := result(); r != shipDrained {
		t.Fatalf("result %d", r)
	}
	if got := h.sink.messages(h.ref); strings.Join(got, "\n") != strings.Join(numbered(1, 30010), "\n") {
		t.Fatalf("%d messages stored", len(got))
	}
}

// TestShipperResumesInsideALine: a line longer than a batch is stored in
// parts across batches; a shipper resuming between them stores the rest.
func TestShipperResumesInsideALine(t *testing.T) {
	h := newShipHarness(t)
	huge := strings.Repeat("0123456789", 300000) // 3 MB: 12 events, 3 batches or more
	h.fr.writeLog(h.id, "before", huge, "after")
	h.fr.exit(h.id, 0, false)
	// A first shipper stores two batches only: "before" (sent as soon as
	// read), then the first parts of the long line.
	h.sink.budget = 2
	_, stop := h.start(h.shipper(""))
	h.sink.waitMessages(t, h.ref, 2)
	stop()
	h.sink.mu.Lock()
	h.sink.budget = 0
	h.sink.mu.Unlock()
	h.sink.mu.Lock()
	cur := h.sink.cursors[h.id]
	h.sink.mu.Unlock()
	if !strings.Contains(cur, "+") {
		t.Fatalf("stopped at %q, not inside the long line", cur)
	}
	result, _ := h.start(h.shipper(""))
	if r := result(); r != shipDrained {
		t.Fatalf("result %d", r)
	}
	got := h.sink.messages(h.ref)
	if len(got) < 3 || got[0] != "before" || got[len(got)-1] != "after" || strings.Join(got[1:len(got)-1], "") != huge {
		t.Errorf("stored %d events: %d", len(got), lens(got))
	}
}

// TestShipperCursorMismatch: when the server's position is not the
// shipper's, the shipper reads on from the server's.
func TestShipperCursorMismatch(t *testing.T) {
	h := newShipHarness(t)
	h.fr.writeLog(h.id, numbered(1, 5)...)
	result, _ := h.start(h.shipper(""))
	h.sink.waitMessages(t, h.ref, 5)
	// Another writer stored lines 6 and 7.
	h.sink.setDown(errSinkDown)
	h.fr.writeLog(h.id, numbered(6, 7)...)
	h.fr.mu.Lock()
	lines := h.fr.logs[h.id].lines
	h.fr.mu.Unlock()
	h.sink.mu.Lock()
	h.sink.down = nil
	h.sink.streams[h.ref] = append(h.sink.streams[h.ref], agentproto.LogEvent{Message: "line 6"}, agentproto.LogEvent{Message: "line 7"})
	h.sink.cursors[h.id] = logPos{At: lines[6].Time, Count: 1}.String()
	h.sink.mu.Unlock()
	h.fr.writeLog(h.id, numbered(8, 9)...)
	h.fr.exit(h.id, 0, false)
	if r := result(); r != shipDrained {
		t.Fatalf("result %d", r)
	}
	if got := h.sink.messages(h.ref); strings.Join(got, "|") != strings.Join(numbered(1, 9), "|") {
		t.Errorf("stored %q", got)
	}
}

func TestShipperMultilineFlush(t *testing.T) {
	h := newShipHarness(t)
	s := h.shipper("^START")
	s.flush = 200 * time.Millisecond
	result, _ := h.start(s)
	h.fr.writeLog(h.id, "START one", "  more")
	// The open event goes out once quiet for the flush interval.
	if got := h.sink.waitMessages(t, h.ref, 1); got[0] != "START one\n  more\n" {
		t.Errorf("flushed %q", got)
	}
	h.fr.writeLog(h.id, "START two", "  and more")
	h.fr.exit(h.id, 0, false)
	if r := result(); r != shipDrained {
		t.Fatalf("result %d", r)
	}
	if got := h.sink.messages(h.ref); len(got) != 2 || got[1] != "START two\n  and more\n" {
		t.Errorf("stored %q", got)
	}
}

func TestShipperContainerRemoved(t *testing.T) {
	h := newShipHarness(t)
	h.sink.setDown(errSinkDown)
	result, _ := h.start(h.shipper(""))
	time.Sleep(150 * time.Millisecond)
	if err := h.fr.Remove(context.Background(), h.id); err != nil {
		t.Fatal(err)
	}
	if r := result(); r != shipGone {
		t.Errorf("result %d", r)
	}
}
