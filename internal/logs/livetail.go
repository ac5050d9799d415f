package logs

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/google/uuid"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/logs/filterpattern"
	"github.com/berth/berth/internal/logs/logdata"
	"github.com/berth/berth/internal/logs/logsstate"
	"github.com/berth/berth/internal/logs/logstypes"
)

// Live Tail's documented limits.
const (
	tailMaxGroups      = 10
	tailUpdateEvents   = 500
	tailBufferedEvents = 5000
	tailSessionLength  = 3 * time.Hour
	tailUpdateInterval = time.Second
)

// tailHub hands the events stored in any stream to the Live Tail sessions
// that follow its group.
type tailHub struct {
	mu       sync.Mutex
	sessions map[*tailSession]struct{}
}

func newTailHub() *tailHub { return &tailHub{sessions: map[*tailSession]struct{}{}} }

// tailSession is one StartLiveTail call's selection and the events that
// arrived since its last update.
type tailSession struct {
	groups   map[logsstate.GroupID]string // the identifier the caller named each by
	streams  []string
	prefixes []string
	pattern  *filterpattern.Pattern

	mu      sync.Mutex
	pending []logstypes.LiveTailSessionLogEvent
	dropped bool
}

func (h *tailHub) add(t *tailSession) {
	h.mu.Lock()
	h.sessions[t] = struct{}{}
	h.mu.Unlock()
}

func (h *tailHub) remove(t *tailSession) {
	h.mu.Lock()
	delete(h.sessions, t)
	h.mu.Unlock()
}

// publish shows events just stored in st to the sessions following it.
func (h *tailHub) publish(st logsstate.LogStream, events []logdata.Event, ingested int64) {
	h.mu.Lock()
	var sessions []*tailSession
	for t := range h.sessions {
		if t.follows(st) {
			sessions = append(sessions, t)
		}
	}
	h.mu.Unlock()
	for _, t := range sessions {
		ident := t.groups[st.GroupID()]
		t.mu.Lock()
		for _, e := range events {
			if !t.pattern.Match(e.Message) {
				continue
			}
			t.pending = append(t.pending, logstypes.LiveTailSessionLogEvent{
				LogGroupIdentifier: awsapi.String(ident),
				LogStreamName:      awsapi.String(st.Name),
				Message:            awsapi.String(e.Message),
				Timestamp:          awsapi.Int64(e.Timestamp),
				IngestionTime:      awsapi.Int64(ingested),
			})
		}
		// A client reading slower than events arrive loses the oldest, as
		// CloudWatch Logs buffers at most 5,000 events.
		if over := len(t.pending) - tailBufferedEvents; over > 0 {
			t.pending = slices.Delete(t.pending, 0, over)
			t.dropped = true
		}
		t.mu.Unlock()
	}
}

func (t *tailSession) follows(st logsstate.LogStream) bool {
	if _, ok := t.groups[st.GroupID()]; !ok {
		return false
	}
	if len(t.streams) > 0 {
		return slices.Contains(t.streams, st.Name)
	}
	if len(t.prefixes) > 0 {
		return slices.ContainsFunc(t.prefixes, func(p string) bool { return strings.HasPrefix(st.Name, p) })
	}
	return true
}

// take returns the events for the next update: at most 500, sampled
// evenly when more arrived, as CloudWatch Logs does.
func (t *tailSession) take() ([]logstypes.LiveTailSessionLogEvent, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	events, sampled := t.pending, t.dropped
	t.pending, t.dropped = nil, false
	if len(events) > tailUpdateEvents {
		kept := make([]logstypes.LiveTailSessionLogEvent, tailUpdateEvents)
		for i := range kept {
			kept[i] = events[i*len(events)/tailUpdateEvents]
		}
		events, sampled = kept, true
	}
	return events, sampled
}

func (s *service) startLiveTail(ctx context.Context, in *logstypes.StartLiveTailRequest) (*liveTail, error) {
	if len(in.LogGroupIdentifiers) > tailMaxGroups {
		return nil, invalidParameter("You can include up to %d log groups.", tailMaxGroups) // UNVERIFIED wording
	}
	if len(in.LogStreamNames) > 0 && len(in.LogStreamNamePrefixes) > 0 {
		// UNVERIFIED wording.
		return nil, invalidParameter("logStreamNames and logStreamNamePrefixes are mutually exclusive parameters.")
	}
	if (len(in.LogStreamNames) > 0 || len(in.LogStreamNamePrefixes) > 0) && len(in.LogGroupIdentifiers) != 1 {
		// UNVERIFIED wording; the rule is StartLiveTail's documented one.
		return nil, invalidParameter("logStreamNames and logStreamNamePrefixes can be used only with a single log group.")
	}
	pattern, err := filterpattern.Compile(awsapi.Deref(in.LogEventFilterPattern))
	if err != nil {
		return nil, invalidParameter("Invalid filter pattern")
	}
	t := &tailSession{groups: map[logsstate.GroupID]string{}, streams: in.LogStreamNames,
		prefixes: in.LogStreamNamePrefixes, pattern: pattern}
	for _, ident := range in.LogGroupIdentifiers {
		if strings.HasSuffix(ident, "*") {
			return nil, invalidParameter("LogGroupIdentifier ARN can't end with an asterisk (*).") // UNVERIFIED wording
		}
		id, err := s.groupRef(ctx, nil, &ident)
		if err != nil {
			return nil, err
		}
		if _, err := s.group(ctx, id); err != nil {
			return nil, err
		}
		t.groups[id] = ident
	}
	info := awsapi.RequestFrom(ctx)
	start := &logstypes.LiveTailSessionStart{
		RequestId:             awsapi.String(info.RequestID),
		SessionId:             awsapi.String(uuid.NewString()),
		LogGroupIdentifiers:   in.LogGroupIdentifiers,
		LogStreamNames:        in.LogStreamNames,
		LogStreamNamePrefixes: in.LogStreamNamePrefixes,
		LogEventFilterPattern: in.LogEventFilterPattern,
	}
	// The session follows from now: events stored while the response
	// starts are not missed.
	s.tail.add(t)
	return &liveTail{hub: s.tail, session: t, start: start}, nil
}

// liveTail is StartLiveTail's answer: an event stream of the session's
// start, then an update every second, until the client goes or three
// hours pass.
type liveTail struct {
	hub     *tailHub
	session *tailSession
	start   *logstypes.LiveTailSessionStart
}

func (l *liveTail) WriteStream(ctx context.Context, w http.ResponseWriter) {
	defer l.hub.remove(l.session)
	enc := eventstream.NewEncoder()
	flusher, _ := w.(http.Flusher)
	send := func(msg eventstream.Message) bool {
		if err := enc.Encode(w, msg); err != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}
	w.WriteHeader(http.StatusOK)
	// An RPC protocol's event stream opens with the operation's (here
	// empty) output.
	if !send(eventMessage("initial-response", struct{}{})) || !send(eventMessage("sessionStart", l.start)) {
		return
	}
	ticker := time.NewTicker(tailUpdateInterval)
	defer ticker.Stop()
	timeout := time.NewTimer(tailSessionLength)
	defer timeout.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timeout.C:
			send(exceptionMessage("SessionTimeoutException", "Session timed out after 3 hours.")) // UNVERIFIED wording
			return
		case <-ticker.C:
			events, sampled := l.session.take()
			if events == nil {
				events = []logstypes.LiveTailSessionLogEvent{}
			}
			update := logstypes.LiveTailSessionUpdate{
				SessionMetadata: &logstypes.LiveTailSessionMetadata{Sampled: awsapi.Bool(sampled)},
				SessionResults:  events,
			}
			if !send(eventMessage("sessionUpdate", update)) {
				return
			}
		}
	}
}

func eventMessage(eventType string, payload any) eventstream.Message {
	body, _ := json.Marshal(payload)
	var msg eventstream.Message
	msg.Headers.Set(":message-type", eventstream.StringValue("event"))
	msg.Headers.Set(":event-type", eventstream.StringValue(eventType))
	msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
	msg.Payload = body
	return msg
}

func exceptionMessage(code, message string) eventstream.Message {
	var body bytes.Buffer
	_ = json.NewEncoder(&body).Encode(map[string]string{"message": message})
	var msg eventstream.Message
	msg.Headers.Set(":message-type", eventstream.StringValue("exception"))
	msg.Headers.Set(":exception-type", eventstream.StringValue(code))
	msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
	msg.Payload = body.Bytes()
	return msg
}
