package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// putEvents stores messages in a new stream of group (created if needed),
// one millisecond apart from start, with the aws CLI.
func putEvents(t testing.TB, s *Server, group, stream string, start time.Time, messages ...string) {
	t.Helper()
	s.AWS(t, "logs", "create-log-group", "--log-group-name", group)
	s.AWS(t, "logs", "create-log-stream", "--log-group-name", group, "--log-stream-name", stream).OK(t)
	var events []map[string]any
	for i, m := range messages {
		events = append(events, map[string]any{"timestamp": start.UnixMilli() + int64(i), "message": m})
	}
	s.AWS(t, "logs", "put-log-events", "--log-group-name", group, "--log-stream-name", stream,
		"--log-events", writeJSON(t, "events.json", events)).OK(t)
}

// TestLogsFilterAndInsightsWithCLI runs filter patterns and a Logs
// Insights query with the real CLIs over events whose answers are counted
// by hand.
func TestLogsFilterAndInsightsWithCLI(t *testing.T) {
	s := StartServer(t, ServerOptions{})
	now := time.Now().Add(-time.Minute)
	putEvents(t, s, "web", "a", now,
		`127.0.0.1 - - [10/Oct/2026:13:55:36 +0000] "GET /index.html HTTP/1.1" 200 2326`,
		`127.0.0.1 - - [10/Oct/2026:13:55:37 +0000] "GET /missing HTTP/1.1" 404 0`,
		`{"level":"ERROR","service":"api","latency":1500}`,
		`{"level":"INFO","service":"api","latency":12}`,
		`ERROR connection reset by peer`)
	putEvents(t, s, "web", "b", now.Add(10*time.Millisecond),
		`{"level":"ERROR","service":"db","latency":300}`,
		`10.0.0.2 - - [10/Oct/2026:13:55:38 +0000] "POST /login HTTP/1.1" 500 17`)

	filter := func(pattern string) []string {
		t.Helper()
		var out struct {
			Events []struct{ LogStreamName, Message string }
		}
		s.AWSv2(t, "logs", "filter-log-events", "--log-group-name", "web", "--filter-pattern", pattern).OK(t).Decode(t, &out)
		var got []string
		for _, e := range out.Events {
			got = append(got, e.LogStreamName+": "+e.Message)
		}
		return got
	}
	for _, tc := range []struct {
		pattern string
		want    int
	}{
		{"ERROR", 3},
		{"?POST ?missing", 2},
		{"ERROR -reset", 2},
		{`"connection reset"`, 1},
		{"{ $.latency > 1000 }", 1},
		{`{ $.level = "ERROR" && $.service = "db" }`, 1},
		{"[ip, identity, user, timestamp, request, status_code = 4* || status_code = 5*, bytes]", 2},
		{"[..., status_code = 200, bytes > 1000]", 1},
	} {
		if got := filter(tc.pattern); len(got) != tc.want {
			t.Errorf("filter %q: %d events, want %d:\n%s", tc.pattern, len(got), tc.want, strings.Join(got, "\n"))
		}
	}
	r := s.AWS(t, "logs", "filter-log-events", "--log-group-name", "web", "--filter-pattern", "{ $.x = ")
	awsCLIs[0].serviceError(t, r, "FilterLogEvents", "InvalidParameterException", "Invalid filter pattern")

	start := s.AWS(t, "logs", "start-query", "--log-group-name", "web",
		"--start-time", fmt.Sprint(now.Add(-time.Hour).Unix()), "--end-time", fmt.Sprint(time.Now().Add(time.Minute).Unix()),
		"--query-string", `filter level = "ERROR" or @message like /ERROR/ | stats count(*) as errors by @logStream | sort @logStream`).OK(t)
	id := start.JSON["queryId"].(string)
	var res struct {
		Status  string
		Results [][]struct{ Field, Value string }
	}
	waitFor(t, 20*time.Second, "a complete query", func() bool {
		s.AWS(t, "logs", "get-query-results", "--query-id", id).OK(t).Decode(t, &res)
		return res.Status == "Complete"
	})
	if got := fmt.Sprint(res.Results); got != "[[{@logStream a} {errors 2}] [{@logStream b} {errors 1}]]" {
		t.Fatalf("query results: %s", got)
	}
	r = s.AWS(t, "logs", "start-query", "--log-group-name", "web", "--start-time", "0", "--end-time", "1",
		"--query-string", "stats count(*) by")
	if r.ExitCode == 0 || !strings.Contains(r.Stderr, "(MalformedQueryException)") {
		t.Fatalf("malformed query: exit %d %s", r.ExitCode, r.Stderr)
	}
}

// TestLogsLiveTailSDK follows a group with aws-sdk-go-v2's StartLiveTail
// and sees a line put after the session started, within its one-second
// updates.
func TestLogsLiveTailSDK(t *testing.T) {
	s := StartServer(t, ServerOptions{})
	putEvents(t, s, "live", "s", time.Now(), "before")
	client := logsClient(s)
	// Now and then aws-sdk-go-v2 closes its own connection under a
	// session on loopback ("use of closed network connection": it closes
	// a request body net/http may still be reading, and net/http then
	// drops the connection); a session that ends so is started again.
	for attempt := 1; ; attempt++ {
		err := liveTailSees(t, s, client, fmt.Sprintf("after %d", attempt))
		if err == nil {
			return
		}
		if attempt == 3 || !strings.Contains(err.Error(), "use of closed network connection") {
			t.Fatal(err)
		}
		t.Logf("session %d: %v", attempt, err)
	}
}

// liveTailSees starts a Live Tail session on the group "live", puts
// message in it, and checks the session shows it within its one-second
// updates.
func liveTailSees(t *testing.T, s *Server, client *cloudwatchlogs.Client, message string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	arn := "arn:aws:logs:" + s.Region + ":" + s.AccountID + ":log-group:live"
	out, err := client.StartLiveTail(ctx, &cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: []string{arn}}, func(o *cloudwatchlogs.Options) {
		// The SDK would call "stream-127.0.0.1" (see the README on host
		// prefixes).
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("noHostPrefix",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
				}), middleware.Before)
		})
	})
	if err != nil {
		return err
	}
	stream := out.GetStream()
	defer stream.Close()
	if _, ok := (<-stream.Events()).(*logstypes.StartLiveTailResponseStreamMemberSessionStart); !ok {
		return fmt.Errorf("the session did not start with sessionStart: %v", stream.Err())
	}
	sent := time.Now()
	_, err = client.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("live"), LogStreamName: aws.String("s"),
		LogEvents: []logstypes.InputLogEvent{{Timestamp: aws.Int64(sent.UnixMilli()), Message: aws.String(message)}}})
	if err != nil {
		t.Fatal(err)
	}
	for ev := range stream.Events() {
		u, ok := ev.(*logstypes.StartLiveTailResponseStreamMemberSessionUpdate)
		if !ok || len(u.Value.SessionResults) == 0 {
			continue
		}
		if got := aws.ToString(u.Value.SessionResults[0].Message); got != message {
			t.Fatalf("live tail showed %q, want %q", got, message)
		}
		if d := time.Since(sent); d > 1500*time.Millisecond {
			t.Errorf("the line took %s to show", d)
		}
		return nil
	}
	return fmt.Errorf("the session ended: %v", stream.Err())
}

// TestLogsRetentionFreesDisk: once a group's retention is shorter than its
// events' age, reads no longer show them, and the retention sweep returns
// their space to the disk.
func TestLogsRetentionFreesDisk(t *testing.T) {
	s := StartServer(t, ServerOptions{Args: []string{"--logs-retention-interval", "1s"}})
	old := time.Now().Add(-72 * time.Hour)
	msg := strings.Repeat("x", 900)
	c := logsClient(s)
	ctx := context.Background()
	putEvents(t, s, "old", "s", old, "first")
	for b := range 20 {
		events := make([]logstypes.InputLogEvent, 1000)
		for i := range events {
			events[i] = logstypes.InputLogEvent{Timestamp: aws.Int64(old.UnixMilli() + int64(1+b*1000+i)), Message: aws.String(msg)}
		}
		if _, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("old"), LogStreamName: aws.String("s"), LogEvents: events}); err != nil {
			t.Fatal(err)
		}
	}
	logsDir := filepath.Join(s.DataDir, "logs")
	before := dirBytes(t, logsDir)
	if before < 15<<20 {
		t.Fatalf("the events take %d bytes on disk", before)
	}
	s.AWS(t, "logs", "put-retention-policy", "--log-group-name", "old", "--retention-in-days", "1").OK(t)
	var got struct{ Events []json.RawMessage }
	s.AWS(t, "logs", "get-log-events", "--log-group-name", "old", "--log-stream-name", "s", "--start-from-head").OK(t).Decode(t, &got)
	if len(got.Events) != 0 {
		t.Fatalf("%d expired events still shown", len(got.Events))
	}
	waitFor(t, 30*time.Second, "the expired events' space back", func() bool { return dirBytes(t, logsDir) < before/10 })
}

// dirBytes is the size of the files under dir.
func dirBytes(t testing.TB, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if info, err := d.Info(); err == nil && !d.IsDir() {
			n += info.Size()
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return n
}
