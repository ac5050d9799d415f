package logs

import (
	"cmp"
	"context"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/logs/logdata"
	"github.com/berth/berth/internal/logs/logsstate"
	"github.com/berth/berth/internal/logs/logstypes"
	"github.com/berth/berth/internal/store"
)

func (s *service) createLogStream(ctx context.Context, in *logstypes.CreateLogStreamRequest) (*struct{}, error) {
	id := logsstate.GroupID{Region: region(ctx), Name: awsapi.Deref(in.LogGroupName)}
	_, err := s.createStream(ctx, id, awsapi.Deref(in.LogStreamName))
	if err != nil {
		return nil, err
	}
	return nil, nil
}

// createStream creates a stream in an existing group, or errStreamExists.
func (s *service) createStream(ctx context.Context, id logsstate.GroupID, name string) (logsstate.LogStream, error) {
	st := logsstate.LogStream{Region: id.Region, Group: id.Name, Name: name, CreationTime: millis(s.now()), DataID: newDataID()}
	key := logsstate.StreamKey(id, name)
	op, err := store.PutJSON(key, st)
	if err != nil {
		return st, err
	}
	err = store.Retry(ctx, func() error {
		g, err := s.group(ctx, id)
		if err != nil {
			return err
		}
		if _, _, err := s.store.Get(ctx, key); err == nil {
			return errStreamExists
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		// The group's revision guards against its deletion meanwhile.
		_, err = s.store.Txn(ctx, store.Txn{
			If:   []store.Compare{{Key: logsstate.GroupKey(id), ModRevision: g.ModRevision}, {Key: key}},
			Then: []store.Op{op},
		})
		return err
	})
	return st, err
}

// stream reads a stream's record: errGroupNotFound when its group does not
// exist, errStreamNotFound when it does not.
func (s *service) stream(ctx context.Context, id logsstate.GroupID, name string) (logsstate.LogStream, error) {
	st, err := store.Get[logsstate.LogStream](ctx, s.store, logsstate.StreamKey(id, name))
	if errors.Is(err, store.ErrNotFound) {
		if _, gerr := s.group(ctx, id); gerr != nil {
			return logsstate.LogStream{}, gerr
		}
		return logsstate.LogStream{}, errStreamNotFound
	}
	return st.Value, err
}

func (s *service) deleteLogStream(ctx context.Context, in *logstypes.DeleteLogStreamRequest) (*struct{}, error) {
	id := logsstate.GroupID{Region: region(ctx), Name: awsapi.Deref(in.LogGroupName)}
	key := logsstate.StreamKey(id, awsapi.Deref(in.LogStreamName))
	var gone logsstate.LogStream
	err := store.Retry(ctx, func() error {
		st, err := store.Get[logsstate.LogStream](ctx, s.store, key)
		if errors.Is(err, store.ErrNotFound) {
			if _, gerr := s.group(ctx, id); gerr != nil {
				return gerr
			}
			return errStreamNotFound
		}
		if err != nil {
			return err
		}
		gone = st.Value
		_, err = s.store.Txn(ctx, store.Txn{If: []store.Compare{{Key: key, ModRevision: st.ModRevision}}, Then: []store.Op{store.Delete(key)}})
		return err
	})
	if err != nil {
		return nil, err
	}
	s.dropData(gone)
	return nil, nil
}

func (s *service) describeLogStreams(ctx context.Context, in *logstypes.DescribeLogStreamsRequest) (*logstypes.DescribeLogStreamsResponse, error) {
	id, err := s.groupRef(ctx, in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	byTime := awsapi.Deref(in.OrderBy) == "LastEventTime"
	prefix := awsapi.Deref(in.LogStreamNamePrefix)
	if byTime && prefix != "" {
		// UNVERIFIED wording.
		return nil, invalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.")
	}
	if _, err := s.group(ctx, id); err != nil {
		return nil, err
	}
	streams, _, err := store.List[logsstate.LogStream](ctx, s.store, logsstate.GroupStreams(id)+prefix, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	type described struct {
		out   logstypes.LogStream
		stats logdata.Stats
		name  string
	}
	all := make([]described, 0, len(streams))
	for _, st := range streams {
		stats, err := s.data.Stats(logdata.StreamID(st.Value.DataID))
		if err != nil {
			return nil, err
		}
		all = append(all, described{out: s.streamOutput(st.Value, stats), stats: stats, name: st.Value.Name})
	}
	// The order is total (name breaks ties), so a page token can name the
	// last entry's position.
	less := func(a, b described) int { return strings.Compare(a.name, b.name) }
	if byTime {
		less = func(a, b described) int {
			return cmp.Or(cmp.Compare(a.stats.LastEventTimestamp, b.stats.LastEventTimestamp), strings.Compare(a.name, b.name))
		}
	}
	if awsapi.Deref(in.Descending) {
		slices.SortFunc(all, func(a, b described) int { return less(b, a) })
	} else {
		slices.SortFunc(all, less)
	}
	start := 0
	if in.NextToken != nil {
		after, err := decodePageToken(in.NextToken)
		if err != nil {
			return nil, err
		}
		pos, err := strconv.Atoi(after)
		if err != nil || pos < 0 {
			return nil, invalidParameter("The specified nextToken is invalid.") // UNVERIFIED wording
		}
		start = min(pos, len(all))
	}
	limit := int(awsapi.Deref(in.Limit))
	if limit == 0 {
		limit = defaultDescribe
	}
	out := &logstypes.DescribeLogStreamsResponse{LogStreams: []logstypes.LogStream{}}
	end := min(start+limit, len(all))
	for _, d := range all[start:end] {
		out.LogStreams = append(out.LogStreams, d.out)
	}
	if end < len(all) {
		out.NextToken = pageToken(awsapi.String(strconv.Itoa(end)))
	}
	return out, nil
}

// streamOutput describes a stream as DescribeLogStreams does: the event
// times only once it has events, and storedBytes 0, which is what
// CloudWatch Logs has reported for every stream since June 2019 (the
// group's storedBytes counts its streams' events).
func (s *service) streamOutput(st logsstate.LogStream, stats logdata.Stats) logstypes.LogStream {
	out := logstypes.LogStream{
		LogStreamName: awsapi.String(st.Name),
		CreationTime:  awsapi.Int64(st.CreationTime),
		Arn:           awsapi.String(s.streamARN(st.GroupID(), st.Name)),
		StoredBytes:   awsapi.Int64(0),
	}
	if stats.Events > 0 {
		out.FirstEventTimestamp = awsapi.Int64(stats.FirstEventTimestamp)
		out.LastEventTimestamp = awsapi.Int64(stats.LastEventTimestamp)
		out.LastIngestionTime = awsapi.Int64(stats.LastIngestionTime)
		out.UploadSequenceToken = awsapi.String(sequenceToken(stats.LastSeq))
	}
	return out
}

// compileGroupPattern compiles ListLogGroups' logGroupNamePattern, a
// case-sensitive regular expression ("" matches every name).
func compileGroupPattern(p string) (*regexp.Regexp, error) {
	if p == "" {
		return nil, nil
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, invalidParameter("Invalid logGroupNamePattern: %s", p) // UNVERIFIED wording
	}
	return re, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
