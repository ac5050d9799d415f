package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

const ingestGroup = "bench-ingest"

// ingestRun is one ingestion run: events stored and how long it took.
type ingestRun struct {
	events, messageBytes int64
	took                 time.Duration
}

func (r ingestRun) eventsPerSecond() float64 { return float64(r.events) / r.took.Seconds() }
func (r ingestRun) mbPerSecond() float64     { return float64(r.messageBytes) / 1e6 / r.took.Seconds() }

func (r ingestRun) String() string {
	return fmt.Sprintf("%s events in %.2f s: %s events/s, %.1f MB/s", thousands(r.events), r.took.Seconds(),
		thousandsF(r.eventsPerSecond()), r.mbPerSecond())
}

// measureIngest runs cfg.runs ingestion runs on one server, each with
// streams of its own.
func measureIngest(ctx context.Context, cfg config) ([]ingestRun, error) {
	srv, client, err := startLogsServer(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	if _, err := client.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(ingestGroup)}); err != nil {
		return nil, srv.Annotate(err)
	}
	var runs []ingestRun
	for i := range cfg.runs {
		r, err := ingestOnce(ctx, cfg, client, i+1)
		if err != nil {
			return nil, srv.Annotate(fmt.Errorf("run %d: %w", i+1, err))
		}
		fmt.Fprintf(os.Stderr, "ingestion run %d/%d: %s\n", i+1, cfg.runs, r)
		runs = append(runs, r)
	}
	return runs, nil
}

// ingestOnce has each sender put batches back to back into its stream for
// cfg.ingestDuration. The run lasts until the last batch begun in that time
// is acknowledged, and counts every event sent.
func ingestOnce(ctx context.Context, cfg config, client *cloudwatchlogs.Client, run int) (ingestRun, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	batches := make([]*cloudwatchlogs.PutLogEventsInput, cfg.ingestStreams)
	for s := range batches {
		stream := fmt.Sprintf("run%d-sender%d", run, s)
		if _, err := client.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{
			LogGroupName: aws.String(ingestGroup), LogStreamName: aws.String(stream),
		}); err != nil {
			return ingestRun{}, err
		}
		batches[s] = ingestBatch(stream, cfg.batchEvents, cfg.eventBytes)
		// A warm-up batch: the connection is open before the clock starts.
		if err := putBatch(ctx, client, batches[s]); err != nil {
			return ingestRun{}, err
		}
	}
	var events atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(cfg.ingestDuration)
	for _, batch := range batches {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if err := putBatch(ctx, client, batch); err != nil {
					cancel(err)
					return
				}
				events.Add(int64(len(batch.LogEvents)))
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	if err := context.Cause(ctx); err != nil {
		return ingestRun{}, err
	}
	n := events.Load()
	return ingestRun{events: n, messageBytes: n * int64(cfg.eventBytes), took: took}, nil
}

// ingestBatch is a sender's batch: n events of size bytes, numbered. Each
// put stamps it anew.
func ingestBatch(stream string, n, size int) *cloudwatchlogs.PutLogEventsInput {
	in := &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(ingestGroup), LogStreamName: aws.String(stream),
		LogEvents: make([]logstypes.InputLogEvent, n)}
	for i := range in.LogEvents {
		msg := fmt.Sprintf("%s event %07d ", stream, i)
		msg += strings.Repeat("x", max(0, size-len(msg)))
		in.LogEvents[i] = logstypes.InputLogEvent{Message: aws.String(msg[:size]), Timestamp: new(int64)}
	}
	return in
}

// putBatch stamps every event of in with the time now (a batch must be
// chronological; one timestamp for all is) and puts it; every event must
// be accepted.
func putBatch(ctx context.Context, client *cloudwatchlogs.Client, in *cloudwatchlogs.PutLogEventsInput) error {
	now := time.Now().UnixMilli()
	for _, e := range in.LogEvents {
		*e.Timestamp = now
	}
	out, err := client.PutLogEvents(ctx, in)
	if err != nil {
		return err
	}
	if out.RejectedLogEventsInfo != nil {
		return fmt.Errorf("PutLogEvents rejected events: %+v", *out.RejectedLogEventsInfo)
	}
	return nil
}
