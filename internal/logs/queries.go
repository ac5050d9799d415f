package logs

import (
	"context"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/logs/insights"
	"github.com/berth/berth/internal/logs/logdata"
	"github.com/berth/berth/internal/logs/logsstate"
	"github.com/berth/berth/internal/logs/logstypes"
)

// Logs Insights' limits.
const (
	maxQueryGroups     = 50
	maxRunningQueries  = 30
	defaultQueryLimit  = 10_000
	keptQueries        = 1000
	queryResultsMaxAge = 7 * 24 * time.Hour
)

// Query statuses.
const (
	queryScheduled = "Scheduled"
	queryRunning   = "Running"
	queryComplete  = "Complete"
	queryCancelled = "Cancelled"
	queryFailed    = "Failed"
)

// queryBook runs Insights queries in the background and keeps their
// results, in memory: a query is a question asked again at will, and its
// results are kept only for the 7 days CloudWatch Logs keeps them, or until
// the server restarts.
type queryBook struct {
	s  *service
	mu sync.Mutex
	// byID and order hold every query kept, order oldest first.
	byID  map[string]*query
	order []*query
}

type query struct {
	id, text, language string
	groups             []logsstate.GroupID
	created            time.Time
	limit              int
	cancel             context.CancelFunc

	// Guarded by the book's mu.
	status  string
	results [][]insights.Field
	stats   insights.Statistics
	took    time.Duration
}

func newQueryBook(s *service) *queryBook { return &queryBook{s: s, byID: map[string]*query{}} }

func (s *service) startQuery(ctx context.Context, in *logstypes.StartQueryRequest) (*logstypes.StartQueryResponse, error) {
	if lang := awsapi.Deref(in.QueryLanguage); lang != "" && lang != "CWLI" {
		// UNVERIFIED wording.
		return nil, invalidParameter("berth supports only the CWLI query language, not %s.", lang)
	}
	var refs []string
	named := 0
	if in.LogGroupName != nil {
		refs, named = append(refs, *in.LogGroupName), named+1
	}
	if len(in.LogGroupNames) > 0 {
		refs, named = append(refs, in.LogGroupNames...), named+1
	}
	if len(in.LogGroupIdentifiers) > 0 {
		refs, named = append(refs, in.LogGroupIdentifiers...), named+1
	}
	if named != 1 {
		// UNVERIFIED wording.
		return nil, invalidParameter("Exactly one of logGroupName, logGroupNames or logGroupIdentifiers must be specified.")
	}
	if len(refs) > maxQueryGroups {
		return nil, invalidParameter("A query can search at most %d log groups.", maxQueryGroups) // UNVERIFIED wording
	}
	start, end := awsapi.Deref(in.StartTime), awsapi.Deref(in.EndTime)
	if end < start {
		return nil, invalidParameter("End time should not be before the start time") // UNVERIFIED wording
	}
	parsed, err := insights.Parse(awsapi.Deref(in.QueryString))
	if err != nil {
		return nil, err
	}
	q := &query{id: uuid.NewString(), text: awsapi.Deref(in.QueryString), language: "CWLI", created: s.now(),
		limit: int(awsapi.Deref(in.Limit)), status: queryScheduled}
	if q.limit == 0 {
		q.limit = defaultQueryLimit
	}
	for _, ref := range refs {
		id, err := s.groupRef(ctx, nil, &ref)
		if err != nil {
			return nil, err
		}
		if _, err := s.group(ctx, id); err != nil {
			return nil, err
		}
		q.groups = append(q.groups, id)
	}
	if err := s.queries.add(q); err != nil {
		return nil, err
	}
	// The query outlives the request that started it.
	qctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	q.cancel = cancel
	go s.queries.run(qctx, q, parsed, start*1000, end*1000+999)
	return &logstypes.StartQueryResponse{QueryId: awsapi.String(q.id)}, nil
}

func (b *queryBook) add(q *query) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	running := 0
	for _, o := range b.order {
		if o.status == queryRunning || o.status == queryScheduled {
			running++
		}
	}
	if running >= maxRunningQueries {
		return awsapi.WithMessage(errLimitExceeded, "Account maximum query concurrency limit of [%d] reached.", maxRunningQueries) // UNVERIFIED wording
	}
	// Forget the oldest finished queries past the bounds.
	cutoff := q.created.Add(-queryResultsMaxAge)
	b.order = slices.DeleteFunc(b.order, func(o *query) bool {
		old := o.created.Before(cutoff) || len(b.order) >= keptQueries
		if old && o.status != queryRunning && o.status != queryScheduled {
			delete(b.byID, o.id)
			return true
		}
		return false
	})
	b.byID[q.id] = q
	b.order = append(b.order, q)
	return nil
}

// run scans the query's groups over [start, end] (milliseconds) and keeps
// the results.
func (b *queryBook) run(ctx context.Context, q *query, parsed *insights.Query, start, end int64) {
	defer q.cancel()
	b.setStatus(q, queryRunning)
	began := time.Now()
	x := parsed.NewExecutor()
	s := b.s
	err := func() error {
		for _, id := range q.groups {
			g, err := s.group(ctx, id)
			if err != nil {
				continue // deleted since the query started
			}
			streams, err := s.selectStreams(ctx, id, nil, "")
			if err != nil {
				return err
			}
			notBefore := retentionCutoff(g.Value, millis(s.now()))
			for _, st := range streams {
				log, ptr := s.account+":"+st.Group, pointerPrefix(st)
				err := s.data.Scan(ctx, logdata.StreamID(st.DataID), 1, start, end+1, notBefore, func(e logdata.StoredEvent) bool {
					x.Add(insights.Event{Timestamp: e.Timestamp, IngestionTime: e.IngestionTime, Message: e.Message,
						LogStream: st.Name, Log: log,
						Ptr: ptr + strconv.FormatInt(e.Seq, 10)})
					return ctx.Err() == nil
				})
				if err != nil {
					return err
				}
			}
		}
		return ctx.Err()
	}()
	rows, stats := x.Result()
	if len(rows) > q.limit {
		rows = rows[:q.limit]
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	q.took = time.Since(began)
	switch {
	case q.status == queryCancelled:
	case err != nil:
		s.log.Warn("logs insights query failed", "query", q.id, "err", err)
		q.status = queryFailed
	default:
		q.status, q.results, q.stats = queryComplete, rows, stats
	}
}

func (b *queryBook) setStatus(q *query, status string) {
	b.mu.Lock()
	if q.status == queryScheduled {
		q.status = status
	}
	b.mu.Unlock()
}

func (b *queryBook) get(id string) (*query, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	q, ok := b.byID[id]
	return q, ok
}

func (s *service) getQueryResults(_ context.Context, in *logstypes.GetQueryResultsRequest) (*logstypes.GetQueryResultsResponse, error) {
	q, ok := s.queries.get(awsapi.Deref(in.QueryId))
	if !ok {
		return nil, errQueryNotFound
	}
	s.queries.mu.Lock()
	defer s.queries.mu.Unlock()
	out := &logstypes.GetQueryResultsResponse{
		QueryLanguage: awsapi.String(q.language),
		Status:        awsapi.String(q.status),
		Results:       make([][]logstypes.ResultField, len(q.results)),
		Statistics: &logstypes.QueryStatistics{
			RecordsMatched: awsapi.Float64(q.stats.RecordsMatched),
			RecordsScanned: awsapi.Float64(q.stats.RecordsScanned),
			BytesScanned:   awsapi.Float64(q.stats.BytesScanned),
		},
	}
	for i, row := range q.results {
		fields := make([]logstypes.ResultField, len(row))
		for j, f := range row {
			fields[j] = logstypes.ResultField{Field: awsapi.String(f.Name), Value: awsapi.String(f.Value)}
		}
		out.Results[i] = fields
	}
	return out, nil
}

func (s *service) stopQuery(_ context.Context, in *logstypes.StopQueryRequest) (*logstypes.StopQueryResponse, error) {
	q, ok := s.queries.get(awsapi.Deref(in.QueryId))
	if !ok {
		return nil, errQueryNotFound
	}
	s.queries.mu.Lock()
	defer s.queries.mu.Unlock()
	if q.status != queryRunning && q.status != queryScheduled {
		return &logstypes.StopQueryResponse{Success: awsapi.Bool(false)}, nil
	}
	q.status = queryCancelled
	q.cancel()
	return &logstypes.StopQueryResponse{Success: awsapi.Bool(true)}, nil
}

func (s *service) describeQueries(ctx context.Context, in *logstypes.DescribeQueriesRequest) (*logstypes.DescribeQueriesResponse, error) {
	var group *logsstate.GroupID
	if in.LogGroupName != nil {
		group = &logsstate.GroupID{Region: region(ctx), Name: *in.LogGroupName}
	}
	status := awsapi.Deref(in.Status)
	after, err := decodePageToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	limit := int(awsapi.Deref(in.MaxResults))
	if limit == 0 {
		limit = 1000
	}
	s.queries.mu.Lock()
	defer s.queries.mu.Unlock()
	// Newest first, with the id breaking ties, so a token can name a place.
	list := slices.Clone(s.queries.order)
	sort.SliceStable(list, func(i, j int) bool {
		if !list[i].created.Equal(list[j].created) {
			return list[i].created.After(list[j].created)
		}
		return list[i].id < list[j].id
	})
	out := &logstypes.DescribeQueriesResponse{Queries: []logstypes.QueryInfo{}}
	skipping := after != ""
	for _, q := range list {
		if skipping {
			skipping = q.id != after
			continue
		}
		if (status != "" && q.status != status) || (group != nil && !slices.Contains(q.groups, *group)) ||
			q.groups[0].Region != region(ctx) {
			continue
		}
		if len(out.Queries) == limit {
			out.NextToken = pageToken(out.Queries[limit-1].QueryId)
			break
		}
		info := logstypes.QueryInfo{
			QueryId:       awsapi.String(q.id),
			QueryString:   awsapi.String(q.text),
			QueryLanguage: awsapi.String(q.language),
			Status:        awsapi.String(q.status),
			CreateTime:    awsapi.Int64(millis(q.created)),
			LogGroupName:  awsapi.String(q.groups[0].Name),
		}
		if q.took > 0 {
			info.QueryDuration = awsapi.Int64(q.took.Milliseconds())
			info.BytesScanned = awsapi.Float64(q.stats.BytesScanned)
		}
		out.Queries = append(out.Queries, info)
	}
	return out, nil
}
