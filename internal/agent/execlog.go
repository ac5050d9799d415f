package agent

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/berth/berth/internal/agentproto"
)

// Recording an ECS Exec session's output in CloudWatch Logs, as ECS Exec
// does when the cluster's execute command configuration asks for it: one
// stream per session, named after it, an event per line of output.
const (
	// sessionLogFlush is how often recorded output is sent.
	sessionLogFlush = time.Second
	// sessionLogMaxPending bounds the output kept for the log while the
	// server does not take it: the session itself never waits for its
	// log; past the bound, output goes unrecorded (and a line says so).
	sessionLogMaxPending = 8 << 20
	// sessionLogMaxEvents is the most events one batch carries.
	sessionLogMaxEvents = 1000
	// sessionLogMaxLine is the longest event: a longer line is split.
	sessionLogMaxLine = 16 << 10
)

// sessionLog records a session's output; Write never blocks.
type sessionLog struct {
	sink   LogSink
	stream agentproto.LogStreamRequest
	log    *slog.Logger
	now    func() time.Time

	mu      sync.Mutex
	partial []byte
	events  []agentproto.LogEvent
	pending int
	dropped bool
	wake    chan struct{}

	cursor int // events stored so far: the producer's position
}

func newSessionLog(sink LogSink, ref agentproto.LogStreamRef, sessionID, taskARN string, log *slog.Logger, now func() time.Time) *sessionLog {
	return &sessionLog{
		sink:   sink,
		stream: agentproto.LogStreamRequest{LogStreamRef: ref, Producer: sessionID, TaskARN: taskARN},
		log:    log, now: now, wake: make(chan struct{}, 1),
	}
}

// Write takes output as it goes to the client.
func (l *sessionLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pending+len(p) > sessionLogMaxPending {
		if !l.dropped {
			l.dropped = true
			l.addLocked("[berth: session output not recorded: the log fell behind]")
		}
		return len(p), nil
	}
	l.dropped = false
	l.pending += len(p)
	l.partial = append(l.partial, p...)
	for {
		i := indexLineEnd(l.partial)
		if i < 0 {
			break
		}
		line := trimCR(l.partial[:i])
		l.partial = l.partial[i+1:]
		l.addLocked(string(line))
	}
	for len(l.partial) > sessionLogMaxLine {
		l.addLocked(string(l.partial[:sessionLogMaxLine]))
		l.partial = l.partial[sessionLogMaxLine:]
	}
	return len(p), nil
}

func indexLineEnd(b []byte) int {
	for i, c := range b {
		if c == '\n' {
			return i
		}
	}
	return -1
}

func trimCR(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	return b
}

func (l *sessionLog) addLocked(line string) {
	l.events = append(l.events, agentproto.LogEvent{Timestamp: l.now().UnixMilli(), Message: line})
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// run sends what was recorded until ctx ends, then what is left.
func (l *sessionLog) run(ctx context.Context) {
	if _, err := l.sink.PrepareStream(ctx, l.stream); err != nil {
		l.log.Warn("the session's output is not recorded: its log stream could not be prepared",
			"group", l.stream.Group, "stream", l.stream.Stream, "err", err)
		return
	}
	tick := time.NewTicker(sessionLogFlush)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			l.finish()
			return
		case <-tick.C:
			l.send(ctx, false)
		}
	}
}

// finish sends the rest, the last partial line included, with a bound of
// its own: the session is over.
func (l *sessionLog) finish() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l.mu.Lock()
	if len(l.partial) > 0 {
		l.addLocked(string(trimCR(l.partial)))
		l.partial = nil
	}
	l.mu.Unlock()
	l.send(ctx, true)
}

// send stores the recorded events, a batch at a time.
func (l *sessionLog) send(ctx context.Context, all bool) {
	for {
		l.mu.Lock()
		n := min(len(l.events), sessionLogMaxEvents)
		batch := append([]agentproto.LogEvent(nil), l.events[:n]...)
		l.mu.Unlock()
		if n == 0 {
			return
		}
		_, err := l.sink.PutBatch(ctx, &agentproto.LogBatch{
			LogStreamRef: l.stream.LogStreamRef, Producer: l.stream.Producer,
			After: l.position(l.cursor), Cursor: l.position(l.cursor + n), Events: batch,
		})
		if err != nil {
			l.log.Warn("recording the session's output failed", "group", l.stream.Group, "stream", l.stream.Stream, "err", err)
			return
		}
		l.cursor += n
		l.mu.Lock()
		for _, e := range l.events[:n] {
			l.pending -= len(e.Message) + 1
		}
		l.pending = max(l.pending, 0)
		l.events = l.events[n:]
		more := len(l.events) > 0
		l.mu.Unlock()
		if !more || !all && n < sessionLogMaxEvents {
			return
		}
	}
}

// position is the producer position after n events ("" before any).
func (l *sessionLog) position(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}
