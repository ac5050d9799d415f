package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

const (
	bigGroup  = "bench-big"
	bigStream = "big"
	// fillMessageBytes is the big stream's message size: 10,000 events of
	// it and CloudWatch's 26 bytes each are 1,040,000 bytes, the most that
	// fits PutLogEvents' 1,048,576 in round figures.
	fillMessageBytes = 78
	// rareEvery: one event in this many says ERROR, which filterPattern
	// finds.
	rareEvery     = 100_000
	filterPattern = "ERROR"
	insightsQuery = "stats count(*) by bin(1m)"
	pageLimit     = 100
	// readWarmup calls of each kind precede a run's timed ones.
	readWarmup = 20
	// queryPoll is how often GetQueryResults is asked: query times are
	// accurate to about this much.
	queryPoll = 20 * time.Millisecond
)

// bigStreamResult is the fill and the runs of parts 3 and 4.
type bigStreamResult struct {
	fill  fillResult
	reads []readRun
	scans []scanRun
}

type fillResult struct {
	events, storedBytes int64
	// matches is how many events filterPattern matches.
	matches int64
	// first and last are the first and last event's timestamps (ms).
	first, last int64
	took        time.Duration
}

// readRun is one run's GetLogEvents latencies, and the floor.
type readRun struct{ newest, oldest, floor latency }

// scanRun is one run's FilterLogEvents and Insights query times.
type scanRun struct{ filter, query time.Duration }

// measureBigStream fills one stream, then measures reads and scans of it
// in cfg.runs runs.
func measureBigStream(ctx context.Context, cfg config) (*bigStreamResult, error) {
	srv, client, err := startLogsServer(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	res := &bigStreamResult{}
	if res.fill, err = fillBigStream(ctx, cfg, client); err != nil {
		return nil, srv.Annotate(fmt.Errorf("filling the stream: %w", err))
	}
	for i := range cfg.runs {
		r, err := readOnce(ctx, cfg, client, res.fill)
		if err != nil {
			return nil, srv.Annotate(fmt.Errorf("GetLogEvents run %d: %w", i+1, err))
		}
		fmt.Fprintf(os.Stderr, "GetLogEvents run %d/%d: newest page p50 %s p99 %s, oldest page p50 %s p99 %s, DescribeLogGroups p50 %s p99 %s\n",
			i+1, cfg.runs, r.newest.p50, r.newest.p99, r.oldest.p50, r.oldest.p99, r.floor.p50, r.floor.p99)
		res.reads = append(res.reads, r)
	}
	for i := range cfg.runs {
		r, err := scanOnce(ctx, client, res.fill)
		if err != nil {
			return nil, srv.Annotate(fmt.Errorf("scan run %d: %w", i+1, err))
		}
		fmt.Fprintf(os.Stderr, "scan run %d/%d: FilterLogEvents %.2f s, Insights query %.2f s\n", i+1, cfg.runs, r.filter.Seconds(), r.query.Seconds())
		res.scans = append(res.scans, r)
	}
	return res, nil
}

// fillMessage is the big stream's event i, fillMessageBytes long.
func fillMessage(buf []byte, i int64) string {
	level := "info"
	if i%rareEvery == rareEvery-1 {
		level = filterPattern
	}
	b := fmt.Appendf(buf[:0], "seq=%010d level=%s method=GET path=/api/v1/items/%07d status=200 ", i, level, i%9_999_991)
	for len(b) < fillMessageBytes {
		b = append(b, '.')
	}
	return string(b[:fillMessageBytes])
}

// fillBigStream puts cfg.events events into one stream, cfg.fillBatch at a
// time, one batch after another, so that the stream's order is its time
// order. Event i's timestamp is spread evenly over the cfg.fillSpan ending a
// minute ago. The next batch is built while one is sent.
func fillBigStream(ctx context.Context, cfg config, client *cloudwatchlogs.Client) (fillResult, error) {
	if _, err := client.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(bigGroup)}); err != nil {
		return fillResult{}, err
	}
	if _, err := client.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{
		LogGroupName: aws.String(bigGroup), LogStreamName: aws.String(bigStream),
	}); err != nil {
		return fillResult{}, err
	}
	n, span := cfg.events, cfg.fillSpan.Milliseconds()
	first := time.Now().Add(-time.Minute).UnixMilli() - span
	timestamp := func(i int64) int64 { return first + i*span/n }
	fmt.Fprintf(os.Stderr, "filling a stream with %s events of %d B in batches of %s\n",
		thousands(n), fillMessageBytes, thousands(int64(cfg.fillBatch)))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan *cloudwatchlogs.PutLogEventsInput, 2)
	go func() {
		defer close(batches)
		buf := make([]byte, 0, 128)
		for from := int64(0); from < n; from += int64(cfg.fillBatch) {
			to := min(n, from+int64(cfg.fillBatch))
			in := &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(bigGroup), LogStreamName: aws.String(bigStream),
				LogEvents: make([]logstypes.InputLogEvent, 0, to-from)}
			for i := from; i < to; i++ {
				in.LogEvents = append(in.LogEvents, logstypes.InputLogEvent{Message: aws.String(fillMessage(buf, i)), Timestamp: aws.Int64(timestamp(i))})
			}
			select {
			case batches <- in:
			case <-ctx.Done():
				return
			}
		}
	}()
	start := time.Now()
	lastReport := start
	var sent int64
	for in := range batches {
		out, err := client.PutLogEvents(ctx, in)
		if err != nil {
			return fillResult{}, err
		}
		if out.RejectedLogEventsInfo != nil {
			return fillResult{}, fmt.Errorf("PutLogEvents rejected events: %+v", *out.RejectedLogEventsInfo)
		}
		sent += int64(len(in.LogEvents))
		if now := time.Now(); now.Sub(lastReport) >= 5*time.Second || sent == n {
			lastReport = now
			fmt.Fprintf(os.Stderr, "  %s/%s events, %.0f s, %s events/s\n", thousands(sent), thousands(n),
				now.Sub(start).Seconds(), thousandsF(float64(sent)/now.Sub(start).Seconds()))
		}
	}
	if err := ctx.Err(); err != nil {
		return fillResult{}, err
	}
	r := fillResult{events: n, matches: n / rareEvery, first: timestamp(0), last: timestamp(n - 1), took: time.Since(start)}
	var err error
	if r.storedBytes, err = groupStoredBytes(ctx, client, bigGroup); err != nil {
		return r, err
	}
	if want := n * (fillMessageBytes + eventOverhead); r.storedBytes != want {
		return r, fmt.Errorf("storedBytes %d, want %d", r.storedBytes, want)
	}
	return r, nil
}

// readOnce times cfg.reads calls each of the newest page, the oldest page
// and DescribeLogGroups, interleaved so that any disturbance falls on all
// three, after a few untimed ones. Every page is checked.
func readOnce(ctx context.Context, cfg config, client *cloudwatchlogs.Client, fill fillResult) (readRun, error) {
	newestIn := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(bigGroup), LogStreamName: aws.String(bigStream), Limit: aws.Int32(pageLimit)}
	oldestIn := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(bigGroup), LogStreamName: aws.String(bigStream), Limit: aws.Int32(pageLimit),
		StartFromHead: aws.Bool(true)}
	wantPage := min(fill.events, pageLimit)
	buf := make([]byte, 0, 128)
	wantNewest, wantOldest := fillMessage(buf, fill.events-1), fillMessage(buf, 0)
	newest := func() error {
		out, err := client.GetLogEvents(ctx, newestIn)
		if err != nil {
			return err
		}
		if int64(len(out.Events)) != wantPage || aws.ToString(out.Events[len(out.Events)-1].Message) != wantNewest {
			return fmt.Errorf("newest page: %d events, not %d ending with %q", len(out.Events), wantPage, wantNewest)
		}
		return nil
	}
	oldest := func() error {
		out, err := client.GetLogEvents(ctx, oldestIn)
		if err != nil {
			return err
		}
		if int64(len(out.Events)) != wantPage || aws.ToString(out.Events[0].Message) != wantOldest {
			return fmt.Errorf("oldest page: %d events, not %d starting with %q", len(out.Events), wantPage, wantOldest)
		}
		return nil
	}
	floor := func() error {
		_, err := client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
		return err
	}
	calls := []func() error{newest, oldest, floor}
	names := []string{"newest page", "oldest page", "DescribeLogGroups"}
	times := make([][]time.Duration, len(calls))
	for i := range readWarmup + cfg.reads {
		for j, call := range calls {
			start := time.Now()
			if err := call(); err != nil {
				return readRun{}, fmt.Errorf("%s, call %d: %w", names[j], i+1, err)
			}
			if i >= readWarmup {
				times[j] = append(times[j], time.Since(start))
			}
		}
	}
	return readRun{newest: latencyOf(times[0]), oldest: latencyOf(times[1]), floor: latencyOf(times[2])}, nil
}

// scanOnce times FilterLogEvents through every page and the Insights
// query, and checks what they found.
func scanOnce(ctx context.Context, client *cloudwatchlogs.Client, fill fillResult) (scanRun, error) {
	var r scanRun
	start := time.Now()
	in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(bigGroup), FilterPattern: aws.String(filterPattern)}
	var matches int64
	for {
		out, err := client.FilterLogEvents(ctx, in)
		if err != nil {
			return r, err
		}
		matches += int64(len(out.Events))
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	r.filter = time.Since(start)
	if matches != fill.matches {
		return r, fmt.Errorf("FilterLogEvents %q found %d events, want %d", filterPattern, matches, fill.matches)
	}

	start = time.Now()
	q, err := client.StartQuery(ctx, &cloudwatchlogs.StartQueryInput{
		LogGroupName: aws.String(bigGroup), QueryString: aws.String(insightsQuery),
		StartTime: aws.Int64(fill.first/1000 - 1), EndTime: aws.Int64(fill.last/1000 + 1),
	})
	if err != nil {
		return r, err
	}
	for {
		out, err := client.GetQueryResults(ctx, &cloudwatchlogs.GetQueryResultsInput{QueryId: q.QueryId})
		if err != nil {
			return r, err
		}
		switch out.Status {
		case logstypes.QueryStatusComplete:
			r.query = time.Since(start)
			return r, checkCounts(out.Results, fill.events)
		case logstypes.QueryStatusScheduled, logstypes.QueryStatusRunning:
		default:
			return r, fmt.Errorf("query %s", out.Status)
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(queryPoll):
		}
	}
}

// checkCounts checks that a stats count(*) query's rows add up to want.
func checkCounts(rows [][]logstypes.ResultField, want int64) error {
	var total int64
	for _, row := range rows {
		found := false
		for _, f := range row {
			if aws.ToString(f.Field) == "count(*)" {
				n, err := strconv.ParseInt(aws.ToString(f.Value), 10, 64)
				if err != nil {
					return fmt.Errorf("count(*) %q: %w", aws.ToString(f.Value), err)
				}
				total, found = total+n, true
			}
		}
		if !found {
			return errors.New("a result row without count(*)")
		}
	}
	if total != want {
		return fmt.Errorf("the query counted %d events in %d bins, want %d", total, len(rows), want)
	}
	return nil
}
