package logs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/gateway"
	"github.com/berth/berth/internal/logs/logdata"
	"github.com/berth/berth/internal/store/bolt"
)

const (
	testRegion  = "us-east-1"
	testAccount = "123456789012"
	sdkKey      = "AKIDBERTHTEST"
	sdkSecret   = "berth-test-secret"
)

type sdkKeys struct{}

func (sdkKeys) Secret(id string) (string, string, bool) { return sdkSecret, testAccount, id == sdkKey }

// testEnv is the service behind the real gateway, its SDK client and a
// clock the test moves.
type testEnv struct {
	t      *testing.T
	logs   *Logs
	client *sdk.Client
	clock  time.Time
	url    string
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	dir := t.TempDir()
	st, err := bolt.Open(filepath.Join(dir, "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &testEnv{t: t, clock: time.Now().UTC().Truncate(time.Millisecond)}
	data, err := logdata.Open(logdata.Options{Dir: filepath.Join(dir, "logs"), Now: func() time.Time { return e.clock }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { data.Close() })
	e.logs = New(Config{Store: st, Data: data, AccountID: testAccount, Now: func() time.Time { return e.clock },
		Logger: slog.New(slog.DiscardHandler)})
	gw, err := gateway.New(gateway.Config{Region: testRegion, AccountID: testAccount, Credentials: sdkKeys{},
		Services: []*awsapi.Service{e.logs.Service()}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	e.url = srv.URL
	e.client = sdk.New(sdk.Options{
		Region:       testRegion,
		BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: sdkKey, SecretAccessKey: sdkSecret}, nil
		}),
		RetryMaxAttempts: 1,
	})
	return e
}

func wantCode(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae interface {
		ErrorCode() string
		ErrorMessage() string
	}
	if !errors.As(err, &ae) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if ae.ErrorCode() != code || (msg != "" && ae.ErrorMessage() != msg) {
		t.Fatalf("got %s %q, want %s %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}

func (e *testEnv) put(group, stream string, msgs ...string) *sdk.PutLogEventsOutput {
	e.t.Helper()
	events := make([]types.InputLogEvent, len(msgs))
	for i, m := range msgs {
		events[i] = types.InputLogEvent{Timestamp: aws.Int64(e.clock.UnixMilli() + int64(i)), Message: aws.String(m)}
	}
	out, err := e.client.PutLogEvents(context.Background(), &sdk.PutLogEventsInput{LogGroupName: &group, LogStreamName: &stream, LogEvents: events})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func TestGroupsAndStreams(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	c := e.client
	if _, err := c.CreateLogGroup(ctx, &sdk.CreateLogGroupInput{LogGroupName: aws.String("/ecs/api-service"), Tags: map[string]string{"team": "a"}}); err != nil {
		t.Fatal(err)
	}
	_, err := c.CreateLogGroup(ctx, &sdk.CreateLogGroupInput{LogGroupName: aws.String("/ecs/api-service")})
	wantCode(t, err, "ResourceAlreadyExistsException", "The specified log group already exists")
	_, err = c.CreateLogGroup(ctx, &sdk.CreateLogGroupInput{LogGroupName: aws.String("bad name")})
	wantCode(t, err, "InvalidParameterException", "")

	_, err = c.PutRetentionPolicy(ctx, &sdk.PutRetentionPolicyInput{LogGroupName: aws.String("/ecs/api-service"), RetentionInDays: aws.Int32(2)})
	wantCode(t, err, "InvalidParameterException", "")
	if !strings.Contains(err.Error(), "enum value set: [1, 3, 5, 7, 14,") {
		t.Fatalf("retention error: %v", err)
	}
	if _, err := c.PutRetentionPolicy(ctx, &sdk.PutRetentionPolicyInput{LogGroupName: aws.String("/ecs/api-service"), RetentionInDays: aws.Int32(14)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.PutRetentionPolicy(ctx, &sdk.PutRetentionPolicyInput{LogGroupName: aws.String("/nope"), RetentionInDays: aws.Int32(14)})
	wantCode(t, err, "ResourceNotFoundException", "The specified log group does not exist.")

	for i := range 3 {
		if _, err := c.CreateLogGroup(ctx, &sdk.CreateLogGroupInput{LogGroupName: aws.String(fmt.Sprintf("/app/g%d", i)), LogGroupClass: types.LogGroupClassInfrequentAccess}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := c.DescribeLogGroups(ctx, &sdk.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/ecs")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.LogGroups) != 1 || aws.ToInt32(out.LogGroups[0].RetentionInDays) != 14 ||
		aws.ToString(out.LogGroups[0].Arn) != "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/api-service:*" ||
		aws.ToString(out.LogGroups[0].LogGroupArn) != "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/api-service" ||
		out.LogGroups[0].LogGroupClass != types.LogGroupClassStandard {
		t.Fatalf("describe: %+v", out.LogGroups)
	}
	// Pagination through every group, two at a time.
	var names []string
	p := sdk.NewDescribeLogGroupsPaginator(c, &sdk.DescribeLogGroupsInput{Limit: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range page.LogGroups {
			names = append(names, aws.ToString(g.LogGroupName))
		}
	}
	if strings.Join(names, ",") != "/app/g0,/app/g1,/app/g2,/ecs/api-service" {
		t.Fatalf("paginated: %v", names)
	}
	pat, err := c.DescribeLogGroups(ctx, &sdk.DescribeLogGroupsInput{LogGroupNamePattern: aws.String("G1")})
	if err != nil || len(pat.LogGroups) != 1 || aws.ToString(pat.LogGroups[0].LogGroupName) != "/app/g1" {
		t.Fatalf("pattern: %v %+v", err, pat)
	}

	// Tags, by ARN and by name.
	arn := "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/api-service"
	if _, err := c.TagResource(ctx, &sdk.TagResourceInput{ResourceArn: &arn, Tags: map[string]string{"env": "dev"}}); err != nil {
		t.Fatal(err)
	}
	//lint:ignore SA1019 the older tagging API is still in use and served
	if _, err := c.UntagLogGroup(ctx, &sdk.UntagLogGroupInput{LogGroupName: aws.String("/ecs/api-service"), Tags: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListTagsForResource(ctx, &sdk.ListTagsForResourceInput{ResourceArn: &arn})
	if err != nil || len(tags.Tags) != 1 || tags.Tags["env"] != "dev" {
		t.Fatalf("tags: %v %v", err, tags)
	}

	// Streams.
	g := aws.String("/ecs/api-service")
	for _, s := range []string{"b", "a", "c"} {
		if _, err := c.CreateLogStream(ctx, &sdk.CreateLogStreamInput{LogGroupName: g, LogStreamName: aws.String(s)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.CreateLogStream(ctx, &sdk.CreateLogStreamInput{LogGroupName: g, LogStreamName: aws.String("a")})
	wantCode(t, err, "ResourceAlreadyExistsException", "The specified log stream already exists")
	_, err = c.CreateLogStream(ctx, &sdk.CreateLogStreamInput{LogGroupName: aws.String("/nope"), LogStreamName: aws.String("a")})
	wantCode(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
	e.put("/ecs/api-service", "c", "one")
	e.clock = e.clock.Add(time.Second)
	e.put("/ecs/api-service", "a", "two")
	streams, err := c.DescribeLogStreams(ctx, &sdk.DescribeLogStreamsInput{LogGroupName: g, OrderBy: types.OrderByLastEventTime, Descending: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, s := range streams.LogStreams {
		order = append(order, aws.ToString(s.LogStreamName))
	}
	if strings.Join(order, ",") != "a,c,b" || streams.LogStreams[0].LastEventTimestamp == nil || streams.LogStreams[2].LastEventTimestamp != nil {
		t.Fatalf("by last event: %v %+v", order, streams.LogStreams[0])
	}
	// A group's storedBytes counts its events: message bytes and 26 each.
	out, err = c.DescribeLogGroups(ctx, &sdk.DescribeLogGroupsInput{LogGroupNamePrefix: g})
	if err != nil || aws.ToInt64(out.LogGroups[0].StoredBytes) != 2*(3+26) {
		t.Fatalf("stored bytes: %v %+v", err, out)
	}
	_, err = c.DescribeLogStreams(ctx, &sdk.DescribeLogStreamsInput{LogGroupName: g, OrderBy: types.OrderByLastEventTime, LogStreamNamePrefix: aws.String("a")})
	wantCode(t, err, "InvalidParameterException", "")

	_, err = c.DeleteLogStream(ctx, &sdk.DeleteLogStreamInput{LogGroupName: g, LogStreamName: aws.String("zz")})
	wantCode(t, err, "ResourceNotFoundException", "The specified log stream does not exist.")
	if _, err := c.DeleteLogStream(ctx, &sdk.DeleteLogStreamInput{LogGroupName: g, LogStreamName: aws.String("a")}); err != nil {
		t.Fatal(err)
	}
	// A stream created again under its name starts empty.
	if _, err := c.CreateLogStream(ctx, &sdk.CreateLogStreamInput{LogGroupName: g, LogStreamName: aws.String("a")}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetLogEvents(ctx, &sdk.GetLogEventsInput{LogGroupName: g, LogStreamName: aws.String("a")})
	if err != nil || len(got.Events) != 0 {
		t.Fatalf("recreated stream: %v %+v", err, got)
	}
	if _, err := c.DeleteLogGroup(ctx, &sdk.DeleteLogGroupInput{LogGroupName: g}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetLogEvents(ctx, &sdk.GetLogEventsInput{LogGroupName: g, LogStreamName: aws.String("c")})
	wantCode(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
}

func TestPutAndGetLogEvents(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	c := e.client
	g, s := aws.String("g"), aws.String("s")
	if _, err := c.CreateLogGroup(ctx, &sdk.CreateLogGroupInput{LogGroupName: g}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLogStream(ctx, &sdk.CreateLogStreamInput{LogGroupName: g, LogStreamName: s}); err != nil {
		t.Fatal(err)
	}
	now := e.clock.UnixMilli()
	ev := func(ts int64, m string) types.InputLogEvent {
		return types.InputLogEvent{Timestamp: aws.Int64(ts), Message: aws.String(m)}
	}
	// Out of order in one batch: refused, nothing stored.
	_, err := c.PutLogEvents(ctx, &sdk.PutLogEventsInput{LogGroupName: g, LogStreamName: s, LogEvents: []types.InputLogEvent{ev(now, "b"), ev(now-1, "a")}})
	wantCode(t, err, "InvalidParameterException", "Log events in a single PutLogEvents request must be in chronological order.")
	_, err = c.PutLogEvents(ctx, &sdk.PutLogEventsInput{LogGroupName: g, LogStreamName: s, LogEvents: []types.InputLogEvent{ev(now-25*3600*1000, "a"), ev(now, "b")}})
	wantCode(t, err, "InvalidParameterException", "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
	_, err = c.PutLogEvents(ctx, &sdk.PutLogEventsInput{LogGroupName: g, LogStreamName: aws.String("nope"), LogEvents: []types.InputLogEvent{ev(now, "a")}})
	wantCode(t, err, "ResourceNotFoundException", "The specified log stream does not exist.")

	// Too old and too new events are reported, not refused.
	day := int64(24 * 3600 * 1000)
	out, err := c.PutLogEvents(ctx, &sdk.PutLogEventsInput{LogGroupName: g, LogStreamName: s, SequenceToken: aws.String("ignored"),
		LogEvents: []types.InputLogEvent{ev(now-15*day, "old"), ev(now-15*day+1, "old")}})
	if err != nil {
		t.Fatal(err)
	}
	if r := out.RejectedLogEventsInfo; r == nil || aws.ToInt32(r.TooOldLogEventEndIndex) != 2 || r.TooNewLogEventStartIndex != nil || r.ExpiredLogEventEndIndex != nil {
		t.Fatalf("rejected: %+v", r)
	}
	out, err = c.PutLogEvents(ctx, &sdk.PutLogEventsInput{LogGroupName: g, LogStreamName: s,
		LogEvents: []types.InputLogEvent{ev(now-10, "kept1"), ev(now-5, "kept2"), ev(now+3*3600*1000, "new")}})
	if err != nil {
		t.Fatal(err)
	}
	if r := out.RejectedLogEventsInfo; r == nil || aws.ToInt32(r.TooNewLogEventStartIndex) != 2 || r.TooOldLogEventEndIndex != nil {
		t.Fatalf("rejected: %+v", r)
	}

	// 25 more events, then page through them both ways.
	var batch []types.InputLogEvent
	for i := range 25 {
		batch = append(batch, ev(now+int64(i), fmt.Sprintf("e%02d", i)))
	}
	if _, err := c.PutLogEvents(ctx, &sdk.PutLogEventsInput{LogGroupName: g, LogStreamName: s, LogEvents: batch}); err != nil {
		t.Fatal(err)
	}
	msgs := func(o *sdk.GetLogEventsOutput) string {
		var m []string
		for _, e := range o.Events {
			m = append(m, aws.ToString(e.Message))
		}
		return strings.Join(m, ",")
	}
	newest, err := c.GetLogEvents(ctx, &sdk.GetLogEventsInput{LogGroupName: g, LogStreamName: s, Limit: aws.Int32(3)})
	if err != nil || msgs(newest) != "e22,e23,e24" {
		t.Fatalf("newest: %v %q", err, msgs(newest))
	}
	if !strings.HasPrefix(aws.ToString(newest.NextForwardToken), "f/") || len(aws.ToString(newest.NextForwardToken)) != 58 {
		t.Fatalf("token %q", aws.ToString(newest.NextForwardToken))
	}
	// At the end, the same forward token comes back.
	end, err := c.GetLogEvents(ctx, &sdk.GetLogEventsInput{LogGroupName: g, LogStreamName: s, NextToken: newest.NextForwardToken})
	if err != nil || len(end.Events) != 0 || aws.ToString(end.NextForwardToken) != aws.ToString(newest.NextForwardToken) {
		t.Fatalf("end: %v %+v", err, end)
	}
	older, err := c.GetLogEvents(ctx, &sdk.GetLogEventsInput{LogGroupName: g, LogStreamName: s, Limit: aws.Int32(3), NextToken: newest.NextBackwardToken})
	if err != nil || msgs(older) != "e19,e20,e21" {
		t.Fatalf("older: %v %q", err, msgs(older))
	}
	head, err := c.GetLogEvents(ctx, &sdk.GetLogEventsInput{LogGroupName: g, LogStreamName: s, Limit: aws.Int32(3), StartFromHead: aws.Bool(true)})
	if err != nil || msgs(head) != "kept1,kept2,e00" {
		t.Fatalf("head: %v %q", err, msgs(head))
	}
	start, err := c.GetLogEvents(ctx, &sdk.GetLogEventsInput{LogGroupName: g, LogStreamName: s, NextToken: head.NextBackwardToken})
	if err != nil || len(start.Events) != 0 || aws.ToString(start.NextBackwardToken) != aws.ToString(head.NextBackwardToken) {
		t.Fatalf("start: %v %+v", err, start)
	}
	window, err := c.GetLogEvents(ctx, &sdk.GetLogEventsInput{LogGroupName: g, LogStreamName: s, StartTime: aws.Int64(now + 5), EndTime: aws.Int64(now + 8), StartFromHead: aws.Bool(true)})
	if err != nil || msgs(window) != "e05,e06,e07" {
		t.Fatalf("window: %v %q", err, msgs(window))
	}
	_, err = c.GetLogEvents(ctx, &sdk.GetLogEventsInput{LogGroupName: g, LogStreamName: s, NextToken: aws.String("x/1")})
	wantCode(t, err, "InvalidParameterException", "")

	// Retention hides expired events at once.
	if _, err := c.PutRetentionPolicy(ctx, &sdk.PutRetentionPolicyInput{LogGroupName: g, RetentionInDays: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	e.clock = e.clock.Add(24*time.Hour + 6*time.Millisecond)
	left, err := c.GetLogEvents(ctx, &sdk.GetLogEventsInput{LogGroupName: g, LogStreamName: s, StartFromHead: aws.Bool(true), Limit: aws.Int32(2)})
	if err != nil || msgs(left) != "e06,e07" {
		t.Fatalf("after expiry: %v %q", err, msgs(left))
	}
}

func TestFilterLogEvents(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	c := e.client
	g := aws.String("app")
	if _, err := c.CreateLogGroup(ctx, &sdk.CreateLogGroupInput{LogGroupName: g}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"web/1", "web/2", "worker/1"} {
		if _, err := c.CreateLogStream(ctx, &sdk.CreateLogStreamInput{LogGroupName: g, LogStreamName: aws.String(s)}); err != nil {
			t.Fatal(err)
		}
	}
	base := e.clock.UnixMilli()
	put := func(stream string, ts int64, msg string) {
		if _, err := c.PutLogEvents(ctx, &sdk.PutLogEventsInput{LogGroupName: g, LogStreamName: aws.String(stream),
			LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(base + ts), Message: aws.String(msg)}}}); err != nil {
			t.Fatal(err)
		}
	}
	put("web/1", 1, "GET /a 200")
	put("web/2", 2, "GET /b 500 ERROR")
	put("worker/1", 3, `{"level":"ERROR","latency":1200}`)
	put("web/1", 4, "GET /c 200")
	put("web/2", 5, "POST /d 503 ERROR timeout")
	put("worker/1", 6, `{"level":"INFO","latency":10}`)

	filter := func(in *sdk.FilterLogEventsInput) []string {
		t.Helper()
		in.LogGroupName = g
		var got []string
		ids := map[string]bool{}
		p := sdk.NewFilterLogEventsPaginator(c, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range page.Events {
				if ids[aws.ToString(ev.EventId)] {
					t.Fatalf("event id %s twice", aws.ToString(ev.EventId))
				}
				ids[aws.ToString(ev.EventId)] = true
				got = append(got, aws.ToString(ev.LogStreamName)+" "+aws.ToString(ev.Message))
			}
		}
		return got
	}
	cases := []struct {
		name string
		in   sdk.FilterLogEventsInput
		want string
	}{
		{"all interleaved by time, in pages of 2", sdk.FilterLogEventsInput{Limit: aws.Int32(2)},
			`web/1 GET /a 200|web/2 GET /b 500 ERROR|worker/1 {"level":"ERROR","latency":1200}|web/1 GET /c 200|web/2 POST /d 503 ERROR timeout|worker/1 {"level":"INFO","latency":10}`},
		{"term", sdk.FilterLogEventsInput{FilterPattern: aws.String("ERROR")},
			`web/2 GET /b 500 ERROR|worker/1 {"level":"ERROR","latency":1200}|web/2 POST /d 503 ERROR timeout`},
		{"exclusion", sdk.FilterLogEventsInput{FilterPattern: aws.String("ERROR -timeout -latency")}, "web/2 GET /b 500 ERROR"},
		{"any term", sdk.FilterLogEventsInput{FilterPattern: aws.String("?POST ?INFO")},
			`web/2 POST /d 503 ERROR timeout|worker/1 {"level":"INFO","latency":10}`},
		{"space-delimited", sdk.FilterLogEventsInput{FilterPattern: aws.String("[method, path, status = 5*, ...]")},
			"web/2 GET /b 500 ERROR|web/2 POST /d 503 ERROR timeout"},
		{"json", sdk.FilterLogEventsInput{FilterPattern: aws.String("{ $.latency > 1000 }")}, `worker/1 {"level":"ERROR","latency":1200}`},
		{"prefix", sdk.FilterLogEventsInput{LogStreamNamePrefix: aws.String("web/1")}, "web/1 GET /a 200|web/1 GET /c 200"},
		{"names and time", sdk.FilterLogEventsInput{LogStreamNames: []string{"web/2", "worker/1"}, StartTime: aws.Int64(base + 3), EndTime: aws.Int64(base + 5)},
			`worker/1 {"level":"ERROR","latency":1200}|web/2 POST /d 503 ERROR timeout`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(filter(&tc.in), "|"); got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
	_, err := c.FilterLogEvents(ctx, &sdk.FilterLogEventsInput{LogGroupName: g, FilterPattern: aws.String("{ $.x = ")})
	wantCode(t, err, "InvalidParameterException", "Invalid filter pattern")
}

func TestInsightsQuery(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	c := e.client
	g := aws.String("q")
	if _, err := c.CreateLogGroup(ctx, &sdk.CreateLogGroupInput{LogGroupName: g}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLogStream(ctx, &sdk.CreateLogStreamInput{LogGroupName: g, LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	e.put("q", "s", "status=200", "status=500", "status=200", "status=404")
	now := e.clock.Unix()
	_, err := c.StartQuery(ctx, &sdk.StartQueryInput{LogGroupName: g, StartTime: aws.Int64(now - 60), EndTime: aws.Int64(now + 60), QueryString: aws.String("fields @message | | bogus")})
	wantCode(t, err, "MalformedQueryException", "")
	start, err := c.StartQuery(ctx, &sdk.StartQueryInput{LogGroupName: g, StartTime: aws.Int64(now - 60), EndTime: aws.Int64(now + 60),
		QueryString: aws.String(`parse @message "status=*" as status | stats count(*) as n by status | sort status`)})
	if err != nil {
		t.Fatal(err)
	}
	var res *sdk.GetQueryResultsOutput
	for deadline := time.Now().Add(10 * time.Second); ; {
		res, err = c.GetQueryResults(ctx, &sdk.GetQueryResultsInput{QueryId: start.QueryId})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status == types.QueryStatusComplete || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	var rows []string
	for _, row := range res.Results {
		var fs []string
		for _, f := range row {
			fs = append(fs, aws.ToString(f.Field)+"="+aws.ToString(f.Value))
		}
		rows = append(rows, strings.Join(fs, " "))
	}
	if res.Status != types.QueryStatusComplete || strings.Join(rows, "|") != "status=200 n=2|status=404 n=1|status=500 n=1" ||
		res.Statistics.RecordsScanned != 4 {
		t.Fatalf("results: %s %v %+v", res.Status, rows, res.Statistics)
	}
	qs, err := c.DescribeQueries(ctx, &sdk.DescribeQueriesInput{LogGroupName: g})
	if err != nil || len(qs.Queries) != 1 || qs.Queries[0].Status != types.QueryStatusComplete {
		t.Fatalf("describe queries: %v %+v", err, qs)
	}

	// A row's @ptr opens its event with GetLogRecord.
	start, err = c.StartQuery(ctx, &sdk.StartQueryInput{LogGroupName: g, StartTime: aws.Int64(now - 60), EndTime: aws.Int64(now + 60),
		QueryString: aws.String(`filter @message like "500" | fields @message`)})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if res, err = c.GetQueryResults(ctx, &sdk.GetQueryResultsInput{QueryId: start.QueryId}); err != nil || res.Status == types.QueryStatusComplete || time.Now().After(deadline) {
			break
		}
	}
	if err != nil || len(res.Results) != 1 {
		t.Fatalf("fields query: %v %+v", err, res)
	}
	row := res.Results[0]
	last := row[len(row)-1]
	if aws.ToString(last.Field) != "@ptr" {
		t.Fatalf("row %+v has no @ptr last", row)
	}
	rec, err := c.GetLogRecord(ctx, &sdk.GetLogRecordInput{LogRecordPointer: last.Value})
	if err != nil || rec.LogRecord["@message"] != "status=500" || rec.LogRecord["@logStream"] != "s" {
		t.Fatalf("get-log-record: %v %+v", err, rec)
	}
	_, err = c.GetLogRecord(ctx, &sdk.GetLogRecordInput{LogRecordPointer: aws.String("nope")})
	wantCode(t, err, "InvalidParameterException", "")
}

// noHostPrefix keeps the SDK from calling StartLiveTail at
// "stream-127.0.0.1".
func noHostPrefix(o *sdk.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("berthNoHostPrefix",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
			}), middleware.Before)
	})
}

func TestLiveTail(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	c := e.client
	g := aws.String("live")
	if _, err := c.CreateLogGroup(ctx, &sdk.CreateLogGroupInput{LogGroupName: g}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLogStream(ctx, &sdk.CreateLogStreamInput{LogGroupName: g, LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	// Now and then aws-sdk-go-v2 closes its own connection under a session
	// ("use of closed network connection": it closes a request body
	// net/http may still be reading, and net/http then drops the
	// connection); a session that ends so is started again.
	for attempt := 1; ; attempt++ {
		err := e.liveTailSees(fmt.Sprintf("ERROR broken %d", attempt))
		if err == nil {
			return
		}
		if attempt == 3 || !strings.Contains(err.Error(), "use of closed network connection") {
			t.Fatal(err)
		}
		t.Logf("session %d: %v", attempt, err)
	}
}

// liveTailSees starts a session following "live" for ERROR, puts two
// events, and checks the session shows the one that matches.
func (e *testEnv) liveTailSees(message string) error {
	t := e.t
	arn := "arn:aws:logs:us-east-1:123456789012:log-group:live"
	tctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := e.client.StartLiveTail(tctx, &sdk.StartLiveTailInput{LogGroupIdentifiers: []string{arn}, LogEventFilterPattern: aws.String("ERROR")}, noHostPrefix)
	if err != nil {
		return err
	}
	stream := out.GetStream()
	defer stream.Close()
	if _, ok := (<-stream.Events()).(*types.StartLiveTailResponseStreamMemberSessionStart); !ok {
		return fmt.Errorf("no sessionStart first: %v", stream.Err())
	}
	e.put("live", "s", "INFO fine", message)
	for ev := range stream.Events() {
		u, ok := ev.(*types.StartLiveTailResponseStreamMemberSessionUpdate)
		if !ok || len(u.Value.SessionResults) == 0 {
			continue
		}
		r := u.Value.SessionResults
		if len(r) != 1 || aws.ToString(r[0].Message) != message || aws.ToString(r[0].LogGroupIdentifier) != arn || aws.ToString(r[0].LogStreamName) != "s" {
			t.Fatalf("update: %+v", r)
		}
		return nil
	}
	return fmt.Errorf("stream ended: %v", stream.Err())
}

func TestListLogGroupsDeletionProtectionAndStopQuery(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	c := e.client
	for _, g := range []string{"/aws/x", "/app/one", "/app/two", "other"} {
		name := strings.Replace(g, "/aws/", "/awsish/", 1)
		if _, err := c.CreateLogGroup(ctx, &sdk.CreateLogGroupInput{LogGroupName: aws.String(name), Tags: map[string]string{"team": name[1:4]}}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.CreateLogGroup(ctx, &sdk.CreateLogGroupInput{LogGroupName: aws.String("aws/reserved")})
	wantCode(t, err, "InvalidParameterException", "")
	list, err := c.ListLogGroups(ctx, &sdk.ListLogGroupsInput{LogGroupNamePattern: aws.String("^/app|other")})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range list.LogGroups {
		names = append(names, aws.ToString(g.LogGroupName))
	}
	if strings.Join(names, ",") != "/app/one,/app/two,other" {
		t.Fatalf("list-log-groups: %v", names)
	}
	tagged, err := c.ListLogGroups(ctx, &sdk.ListLogGroupsInput{LogGroupTags: []types.TagFilter{{Key: aws.String("team"), Values: []string{"app"}}}})
	if err != nil || len(tagged.LogGroups) != 2 {
		t.Fatalf("by tag: %v %+v", err, tagged)
	}

	// A protected group is not deleted until its protection is off.
	if _, err := c.PutLogGroupDeletionProtection(ctx, &sdk.PutLogGroupDeletionProtectionInput{LogGroupIdentifier: aws.String("/app/one"), DeletionProtectionEnabled: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteLogGroup(ctx, &sdk.DeleteLogGroupInput{LogGroupName: aws.String("/app/one")})
	wantCode(t, err, "InvalidOperationException", "")
	if _, err := c.PutLogGroupDeletionProtection(ctx, &sdk.PutLogGroupDeletionProtectionInput{LogGroupIdentifier: aws.String("/app/one"), DeletionProtectionEnabled: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteLogGroup(ctx, &sdk.DeleteLogGroupInput{LogGroupName: aws.String("/app/one")}); err != nil {
		t.Fatal(err)
	}

	// A finished query cannot be stopped; an unknown one does not exist.
	now := e.clock.Unix()
	q, err := c.StartQuery(ctx, &sdk.StartQueryInput{LogGroupName: aws.String("other"), StartTime: aws.Int64(now - 60), EndTime: aws.Int64(now), QueryString: aws.String("stats count(*)")})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		res, err := c.GetQueryResults(ctx, &sdk.GetQueryResultsInput{QueryId: q.QueryId})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status == types.QueryStatusComplete {
			break
		}
	}
	stop, err := c.StopQuery(ctx, &sdk.StopQueryInput{QueryId: q.QueryId})
	if err != nil || stop.Success {
		t.Fatalf("stop a finished query: %v %+v", err, stop)
	}
	_, err = c.StopQuery(ctx, &sdk.StopQueryInput{QueryId: aws.String("nope")})
	wantCode(t, err, "ResourceNotFoundException", "")
}
