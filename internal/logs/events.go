package logs

import (
	"container/heap"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/logs/filterpattern"
	"github.com/berth/berth/internal/logs/logdata"
	"github.com/berth/berth/internal/logs/logsstate"
	"github.com/berth/berth/internal/logs/logstypes"
	"github.com/berth/berth/internal/store"
)

// PutLogEvents' limits.
const (
	maxBatchBytes   = 1_048_576
	eventOverhead   = 26
	maxBatchSpan    = 24 * time.Hour
	maxEventAge     = 14 * 24 * time.Hour
	maxEventAhead   = 2 * time.Hour
	maxEventsPerGet = 10_000
	maxResponseSize = 1_048_576
)

func (s *service) putLogEvents(ctx context.Context, in *logstypes.PutLogEventsRequest) (*logstypes.PutLogEventsResponse, error) {
	id := logsstate.GroupID{Region: region(ctx), Name: awsapi.Deref(in.LogGroupName)}
	g, err := s.group(ctx, id)
	if err != nil {
		return nil, err
	}
	st, err := s.stream(ctx, id, awsapi.Deref(in.LogStreamName))
	if err != nil {
		return nil, err
	}
	events := make([]logdata.Event, len(in.LogEvents))
	size := 0
	for i, e := range in.LogEvents {
		events[i] = logdata.Event{Timestamp: awsapi.Deref(e.Timestamp), Message: awsapi.Deref(e.Message)}
		size += len(events[i].Message) + eventOverhead
		if i > 0 && events[i].Timestamp < events[i-1].Timestamp {
			return nil, invalidParameter("Log events in a single PutLogEvents request must be in chronological order.")
		}
	}
	if size > maxBatchBytes {
		// UNVERIFIED wording.
		return nil, invalidParameter("Upload too large: %d bytes exceeds limit of %d", size, maxBatchBytes)
	}
	if n := len(events); n > 0 && events[n-1].Timestamp-events[0].Timestamp > maxBatchSpan.Milliseconds() {
		return nil, invalidParameter("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
	}
	accepted, rejected := acceptable(events, millis(s.now()), g.Value.RetentionInDays)
	out := &logstypes.PutLogEventsResponse{RejectedLogEventsInfo: rejected}
	last, err := s.appendEvents(ctx, st, logdata.AppendRequest{Stream: logdata.StreamID(st.DataID), Events: accepted})
	if err != nil {
		return nil, err
	}
	// Sequence tokens are no longer needed and are ignored, as CloudWatch
	// Logs now does; one is still returned for clients that pass it on.
	out.NextSequenceToken = awsapi.String(sequenceToken(last))
	return out, nil
}

// acceptable splits a chronological batch into the events CloudWatch Logs
// stores and the report of those it rejects: too far in the future, older
// than 14 days, or older than the group's retention.
func acceptable(events []logdata.Event, now int64, retentionDays int32) ([]logdata.Event, *logstypes.RejectedLogEventsInfo) {
	var info logstypes.RejectedLogEventsInfo
	rejected := false
	from, to := 0, len(events)
	for i, e := range events {
		if e.Timestamp > now+maxEventAhead.Milliseconds() {
			info.TooNewLogEventStartIndex = awsapi.Int32(int32(i))
			to, rejected = i, true
			break
		}
	}
	tooOld := 0
	for tooOld < to && events[tooOld].Timestamp < now-maxEventAge.Milliseconds() {
		tooOld++
	}
	if tooOld > 0 {
		// The end indexes are exclusive.
		info.TooOldLogEventEndIndex = awsapi.Int32(int32(tooOld))
		from, rejected = tooOld, true
	}
	if retentionDays > 0 {
		cutoff := now - int64(retentionDays)*day
		expired := 0
		for expired < to && events[expired].Timestamp < cutoff {
			expired++
		}
		if expired > 0 {
			info.ExpiredLogEventEndIndex = awsapi.Int32(int32(expired))
			from, rejected = max(from, expired), true
		}
	}
	if !rejected {
		return events, nil
	}
	return events[from:max(from, to)], &info
}

const day = int64(24 * time.Hour / time.Millisecond)

// appendEvents stores events in a stream and shows them to Live Tail
// sessions; it returns the stream's last sequence number.
func (s *service) appendEvents(ctx context.Context, st logsstate.LogStream, req logdata.AppendRequest) (int64, error) {
	if len(req.Events) == 0 && req.Producer == "" {
		stats, err := s.data.Stats(req.Stream)
		return stats.LastSeq, err
	}
	res, err := s.data.Append(ctx, req)
	if err != nil {
		return 0, err
	}
	s.metrics.events.Add(float64(len(req.Events)))
	if len(req.Events) > 0 {
		s.tail.publish(st, req.Events, millis(s.now()))
	}
	return res.LastSeq, nil
}

// sequenceToken renders a sequence number as CloudWatch Logs' 56-digit
// tokens.
func sequenceToken(seq int64) string { return fmt.Sprintf("%056d", seq) }

// retentionCutoff is the time before which a group's events are expired
// (0: never). Reads hide them at once; the sweep frees their space.
func retentionCutoff(g logsstate.LogGroup, now int64) int64 {
	if g.RetentionInDays == 0 {
		return 0
	}
	return now - int64(g.RetentionInDays)*day
}

func (s *service) getLogEvents(ctx context.Context, in *logstypes.GetLogEventsRequest) (*logstypes.GetLogEventsResponse, error) {
	id, err := s.groupRef(ctx, in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	g, err := s.group(ctx, id)
	if err != nil {
		return nil, err
	}
	st, err := s.stream(ctx, id, awsapi.Deref(in.LogStreamName))
	if err != nil {
		return nil, err
	}
	stream := logdata.StreamID(st.DataID)
	req := logdata.ReadRequest{
		Stream:    stream,
		Start:     awsapi.Deref(in.StartTime),
		End:       awsapi.Deref(in.EndTime),
		NotBefore: retentionCutoff(g.Value, millis(s.now())),
		Limit:     int(awsapi.Deref(in.Limit)),
		MaxBytes:  maxResponseSize,
	}
	if req.Limit == 0 {
		req.Limit = maxEventsPerGet
	}
	if in.NextToken != nil {
		forward, pos, ok := parseEventsToken(*in.NextToken)
		if !ok {
			return nil, invalidParameter("The specified nextToken is invalid.") // UNVERIFIED wording
		}
		req.Forward, req.From = forward, pos
	} else if awsapi.Deref(in.StartFromHead) {
		req.Forward, req.From = true, 1
	} else {
		stats, err := s.data.Stats(stream)
		if err != nil {
			return nil, err
		}
		req.From = stats.LastSeq + 1
	}
	events, _, err := s.data.Read(ctx, req)
	if err != nil {
		return nil, err
	}
	out := &logstypes.GetLogEventsResponse{Events: make([]logstypes.OutputLogEvent, len(events))}
	for i, e := range events {
		out.Events[i] = logstypes.OutputLogEvent{Timestamp: awsapi.Int64(e.Timestamp), Message: awsapi.String(e.Message),
			IngestionTime: awsapi.Int64(e.IngestionTime)}
	}
	// At either end of the stream the token passed in comes back, which is
	// how clients know they reached it.
	next, prev := req.From, req.From
	if len(events) > 0 {
		next, prev = events[len(events)-1].Seq+1, events[0].Seq
	}
	out.NextForwardToken = awsapi.String("f/" + sequenceToken(next))
	out.NextBackwardToken = awsapi.String("b/" + sequenceToken(prev))
	return out, nil
}

// parseEventsToken reads GetLogEvents' "f/<56 digits>" and "b/<56 digits>"
// tokens: a forward read from a sequence number, or a backward read from
// before one.
func parseEventsToken(t string) (forward bool, pos int64, ok bool) {
	dir, digits, found := strings.Cut(t, "/")
	if !found || (dir != "f" && dir != "b") || len(digits) != 56 {
		return false, 0, false
	}
	pos, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || pos < 0 {
		return false, 0, false
	}
	return dir == "f", pos, true
}

// filterToken is FilterLogEvents' position: for each stream (by data id)
// the sequence number to go on from.
type filterToken struct {
	Next map[string]int64 `json:"n"`
}

func (s *service) filterLogEvents(ctx context.Context, in *logstypes.FilterLogEventsRequest) (*logstypes.FilterLogEventsResponse, error) {
	id, err := s.groupRef(ctx, in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if len(in.LogStreamNames) > 0 && in.LogStreamNamePrefix != nil {
		// UNVERIFIED wording.
		return nil, invalidParameter("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
	}
	pattern, err := filterpattern.Compile(awsapi.Deref(in.FilterPattern))
	if err != nil {
		return nil, invalidParameter("Invalid filter pattern")
	}
	g, err := s.group(ctx, id)
	if err != nil {
		return nil, err
	}
	token := filterToken{Next: map[string]int64{}}
	if in.NextToken != nil {
		b, err := base64.RawURLEncoding.DecodeString(*in.NextToken)
		if err != nil || json.Unmarshal(b, &token) != nil || token.Next == nil {
			return nil, invalidParameter("The specified nextToken is invalid.") // UNVERIFIED wording
		}
	}
	streams, err := s.selectStreams(ctx, id, in.LogStreamNames, awsapi.Deref(in.LogStreamNamePrefix))
	if err != nil {
		return nil, err
	}
	limit := int(awsapi.Deref(in.Limit))
	if limit == 0 {
		limit = maxEventsPerGet
	}
	start, end := awsapi.Deref(in.StartTime), awsapi.Deref(in.EndTime)
	if end > 0 {
		end++ // FilterLogEvents' endTime is inclusive; the store's End is not
	}
	notBefore := retentionCutoff(g.Value, millis(s.now()))

	// Each stream gives its next matching events in its own order; the
	// page interleaves them by time, taking from the stream whose next
	// event is oldest, so that a stream's events are never passed over.
	var queues mergeQueue
	for _, st := range streams {
		from := max(token.Next[st.DataID], 1)
		q := &streamQueue{stream: st}
		err := s.data.Scan(ctx, logdata.StreamID(st.DataID), from, start, end, notBefore, func(e logdata.StoredEvent) bool {
			if !pattern.Match(e.Message) {
				return true
			}
			if len(q.events) == limit {
				q.more = true
				return false
			}
			q.events = append(q.events, e)
			return true
		})
		if err != nil {
			return nil, err
		}
		if len(q.events) > 0 {
			queues = append(queues, q)
		}
	}
	heap.Init(&queues)
	out := &logstypes.FilterLogEventsResponse{Events: []logstypes.FilteredLogEvent{}, SearchedLogStreams: []logstypes.SearchedLogStream{}}
	size := 0
	for queues.Len() > 0 && len(out.Events) < limit {
		q := queues[0]
		e := q.events[0]
		if size += len(e.Message) + eventOverhead; size > maxResponseSize && len(out.Events) > 0 {
			break
		}
		out.Events = append(out.Events, logstypes.FilteredLogEvent{
			LogStreamName: awsapi.String(q.stream.Name),
			Timestamp:     awsapi.Int64(e.Timestamp),
			Message:       awsapi.String(e.Message),
			IngestionTime: awsapi.Int64(e.IngestionTime),
			EventId:       awsapi.String(eventID(q.stream.DataID, e)),
		})
		token.Next[q.stream.DataID] = e.Seq + 1
		if q.events = q.events[1:]; len(q.events) == 0 {
			heap.Pop(&queues)
		} else {
			heap.Fix(&queues, 0)
		}
	}
	more := queues.Len() > 0
	for _, q := range queues {
		more = more || q.more
	}
	if more {
		b, _ := json.Marshal(token)
		out.NextToken = awsapi.String(base64.RawURLEncoding.EncodeToString(b))
	}
	return out, nil
}

// selectStreams returns a group's streams a filter names: all, those with
// a prefix, or those listed (names that do not exist are skipped).
func (s *service) selectStreams(ctx context.Context, id logsstate.GroupID, names []string, prefix string) ([]logsstate.LogStream, error) {
	list, _, err := store.List[logsstate.LogStream](ctx, s.store, logsstate.GroupStreams(id)+prefix, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := make([]logsstate.LogStream, 0, len(list))
	for _, st := range list {
		if len(want) == 0 || want[st.Value.Name] {
			out = append(out, st.Value)
		}
	}
	return out, nil
}

// eventID is an event's id in FilterLogEvents: unique in its group and the
// same in every answer, which `aws logs tail --follow` relies on to drop
// the events it has shown. 56 digits, as CloudWatch Logs' are: the time,
// the stream and the sequence number.
func eventID(dataID string, e logdata.StoredEvent) string {
	streamNum, _ := strconv.ParseUint(dataID[:min(len(dataID), 15)], 16, 64)
	return fmt.Sprintf("%020d%018d%018d", e.Timestamp, streamNum%1e18, e.Seq)
}

// streamQueue is one stream's matching events not yet in the page.
type streamQueue struct {
	stream logsstate.LogStream
	events []logdata.StoredEvent
	// more: the stream has matching events past those read.
	more bool
}

// mergeQueue orders the streams by their next event's time (then name).
type mergeQueue []*streamQueue

func (m mergeQueue) Len() int { return len(m) }
func (m mergeQueue) Less(i, j int) bool {
	a, b := m[i].events[0], m[j].events[0]
	if a.Timestamp != b.Timestamp {
		return a.Timestamp < b.Timestamp
	}
	return m[i].stream.Name < m[j].stream.Name
}
func (m mergeQueue) Swap(i, j int) { m[i], m[j] = m[j], m[i] }
func (m *mergeQueue) Push(x any)   { *m = append(*m, x.(*streamQueue)) }
func (m *mergeQueue) Pop() any {
	old := *m
	x := old[len(old)-1]
	*m = old[:len(old)-1]
	return x
}

// A log record pointer (Insights' @ptr, GetLogRecord's logRecordPointer)
// names one event: "<stream's pointer prefix><sequence number>". The prefix
// is computed once per stream, since a query makes a pointer for every
// event it reads.
type logRecordPointer struct {
	Region, Group, Stream string
	Seq                   int64
}

// pointerPrefix is the part of st's events' pointers before the sequence
// number: the stream's region, group and name, base64url-encoded, then ".".
func pointerPrefix(st logsstate.LogStream) string {
	return base64.RawURLEncoding.EncodeToString([]byte(st.Region+"|"+st.Group+"|"+st.Name)) + "."
}

func parsePointer(ptr string) (logRecordPointer, bool) {
	enc, seq, ok := strings.Cut(ptr, ".")
	b, err := base64.RawURLEncoding.DecodeString(enc)
	n, nerr := strconv.ParseInt(seq, 10, 64)
	parts := strings.SplitN(string(b), "|", 3)
	if !ok || err != nil || nerr != nil || n < 1 || len(parts) != 3 {
		return logRecordPointer{}, false
	}
	return logRecordPointer{Region: parts[0], Group: parts[1], Stream: parts[2], Seq: n}, true
}

func (s *service) getLogRecord(ctx context.Context, in *logstypes.GetLogRecordRequest) (*logstypes.GetLogRecordResponse, error) {
	p, ok := parsePointer(awsapi.Deref(in.LogRecordPointer))
	if !ok {
		return nil, invalidParameter("The specified log record pointer is invalid.") // UNVERIFIED wording
	}
	id := logsstate.GroupID{Region: p.Region, Name: p.Group}
	st, err := s.stream(ctx, id, p.Stream)
	if err != nil {
		return nil, err
	}
	events, _, err := s.data.Read(ctx, logdata.ReadRequest{Stream: logdata.StreamID(st.DataID), From: p.Seq, Forward: true, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(events) == 0 || events[0].Seq != p.Seq {
		return nil, invalidParameter("The specified log record does not exist.") // UNVERIFIED wording
	}
	e := events[0]
	return &logstypes.GetLogRecordResponse{LogRecord: map[string]string{
		"@message":       e.Message,
		"@timestamp":     strconv.FormatInt(e.Timestamp, 10),
		"@ingestionTime": strconv.FormatInt(e.IngestionTime, 10),
		"@logStream":     st.Name,
		"@log":           s.account + ":" + st.Group,
	}}, nil
}
