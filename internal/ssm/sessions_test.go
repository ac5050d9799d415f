package ssm

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/gateway/gatewaytest"
	"github.com/berth/berth/internal/ssm/ssmstate"
	"github.com/berth/berth/internal/ssm/ssmtypes"
	"github.com/berth/berth/internal/store"
)

const (
	alice = "arn:aws:iam::123456789012:user/alice"
	bob   = "arn:aws:iam::123456789012:user/bob"
)

// putSession writes a session's record as ECS's ExecuteCommand would,
// filling in what the test leaves out.
func (e *testEnv) putSession(s ssmstate.Session) ssmstate.Session {
	e.t.Helper()
	if s.Region == "" {
		s.Region = testRegion
	}
	if s.DocumentName == "" {
		s.DocumentName = ssmstate.ExecDocument
	}
	if s.Owner == "" {
		s.Owner = alice
	}
	if s.Target == "" {
		s.Target = "ecs:web_" + strings.Repeat("a", 32) + "_" + strings.Repeat("a", 32) + "-1"
	}
	op, err := store.PutJSON(ssmstate.SessionKey(s.Region, s.ID), s)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.store.Txn(context.Background(), store.Txn{Then: []store.Op{op}}); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// session reads a session's record.
func (e *testEnv) session(region, id string) store.Versioned[ssmstate.Session] {
	e.t.Helper()
	v, err := store.Get[ssmstate.Session](context.Background(), e.store, ssmstate.SessionKey(region, id))
	if err != nil {
		e.t.Fatalf("session %s: %v", id, err)
	}
	return v
}

func (e *testEnv) describeSessions(in *sdk.DescribeSessionsInput) []string {
	e.t.Helper()
	out, err := e.client.DescribeSessions(context.Background(), in)
	if err != nil {
		e.t.Fatalf("describe sessions %+v: %v", in, err)
	}
	return sessionIDs(out.Sessions)
}

func sessionIDs(sessions []types.Session) []string {
	out := []string{}
	for _, s := range sessions {
		out = append(out, aws.ToString(s.SessionId))
	}
	return out
}

// sessionFixture is a region's sessions of every status, started a minute
// apart before the test's clock: s1 the oldest, s8 the newest.
func sessionFixture(e *testEnv) {
	start := func(minutesAgo int) time.Time { return e.clock.Add(-time.Duration(minutesAgo) * time.Minute) }
	e.putSession(ssmstate.Session{ID: "s1", Status: ssmstate.SessionTerminated, StartDate: start(80), EndDate: start(70),
		Log: &ssmstate.SessionLog{Region: testRegion, Group: "/ecs/exec", Stream: "ecs-execute-command-s1"}})
	e.putSession(ssmstate.Session{ID: "s2", Status: ssmstate.SessionFailed, StartDate: start(70), EndDate: start(69),
		Reason: "the container has stopped", Owner: bob})
	e.putSession(ssmstate.Session{ID: "s3", Status: ssmstate.SessionConnecting, StartDate: start(60), Target: "ecs:api_t3_c3"})
	e.putSession(ssmstate.Session{ID: "s4", Status: ssmstate.SessionConnected, StartDate: start(50), Owner: bob})
	e.putSession(ssmstate.Session{ID: "s5", Status: ssmstate.SessionDisconnected, StartDate: start(40)})
	e.putSession(ssmstate.Session{ID: "s6", Status: ssmstate.SessionTerminating, StartDate: start(30)})
	// Started with s6: the id orders them.
	e.putSession(ssmstate.Session{ID: "s7", Status: ssmstate.SessionConnected, StartDate: start(30), Target: "ecs:api_t3_c3"})
	e.putSession(ssmstate.Session{ID: "s8", Status: ssmstate.SessionConnected, StartDate: start(20)})
	// Ended too long ago for History.
	e.putSession(ssmstate.Session{ID: "s0", Status: ssmstate.SessionTerminated, StartDate: e.clock.AddDate(0, 0, -40),
		EndDate: e.clock.AddDate(0, 0, -31)})
	// Another region's.
	e.putSession(ssmstate.Session{ID: "x1", Region: "eu-west-1", Status: ssmstate.SessionConnected, StartDate: start(10)})
	e.putSession(ssmstate.Session{ID: "x2", Region: "eu-west-1", Status: ssmstate.SessionTerminated, StartDate: start(10), EndDate: start(5)})
}

func TestDescribeSessionsStates(t *testing.T) {
	e := newTestEnv(t)
	sessionFixture(e)
	if got, want := e.describeSessions(&sdk.DescribeSessionsInput{State: types.SessionStateActive}), []string{"s8", "s6", "s7", "s5", "s4", "s3"}; !slices.Equal(got, want) {
		t.Errorf("active: %v, want %v", got, want)
	}
	if got, want := e.describeSessions(&sdk.DescribeSessionsInput{State: types.SessionStateHistory}), []string{"s2", "s1"}; !slices.Equal(got, want) {
		t.Errorf("history: %v, want %v", got, want)
	}
	eu := e.clientIn("eu-west-1")
	for state, want := range map[types.SessionState][]string{types.SessionStateActive: {"x1"}, types.SessionStateHistory: {"x2"}} {
		out, err := eu.DescribeSessions(context.Background(), &sdk.DescribeSessionsInput{State: state})
		if err != nil || !slices.Equal(sessionIDs(out.Sessions), want) {
			t.Errorf("eu-west-1 %s: %v, want %v", state, err, want)
		}
	}
	// No session matches: an empty list, no token.
	out, err := e.client.DescribeSessions(context.Background(), &sdk.DescribeSessionsInput{State: types.SessionStateActive,
		Filters: []types.SessionFilter{{Key: types.SessionFilterKeySessionId, Value: aws.String("nope")}}})
	if err != nil || out.Sessions == nil || len(out.Sessions) != 0 || out.NextToken != nil {
		t.Errorf("none: %+v, %v", out, err)
	}
}

// TestDescribeSessionsFields checks every field of a session as the SDK
// decodes it.
func TestDescribeSessionsFields(t *testing.T) {
	e := newTestEnv(t)
	sessionFixture(e)
	out, err := e.client.DescribeSessions(context.Background(), &sdk.DescribeSessionsInput{State: types.SessionStateHistory})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Sessions) != 2 {
		t.Fatalf("history: %v", sessionIDs(out.Sessions))
	}
	failed, terminated := out.Sessions[0], out.Sessions[1]
	want := types.Session{
		SessionId:    aws.String("s2"),
		Target:       aws.String("ecs:web_" + strings.Repeat("a", 32) + "_" + strings.Repeat("a", 32) + "-1"),
		Status:       types.SessionStatusFailed,
		StartDate:    aws.Time(e.clock.Add(-70 * time.Minute)),
		EndDate:      aws.Time(e.clock.Add(-69 * time.Minute)),
		DocumentName: aws.String(ssmstate.ExecDocument),
		Owner:        aws.String(bob),
		Reason:       aws.String("the container has stopped"),
		AccessType:   types.AccessTypeStandard,
	}
	if !sameSession(failed, want) {
		t.Errorf("failed session:\n got %s\nwant %s", showSession(failed), showSession(want))
	}
	if terminated.Reason != nil || terminated.Details != nil || terminated.MaxSessionDuration != nil || terminated.OutputUrl == nil ||
		aws.ToString(terminated.OutputUrl.CloudWatchOutputUrl) !=
			"https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEventViewer:group=/ecs/exec;stream=ecs-execute-command-s1" ||
		terminated.OutputUrl.S3OutputUrl != nil {
		t.Errorf("terminated session: %s", showSession(terminated))
	}
	// An active session has no EndDate and no OutputUrl without a log.
	out, err = e.client.DescribeSessions(context.Background(), &sdk.DescribeSessionsInput{State: types.SessionStateActive, MaxResults: aws.Int32(1)})
	if err != nil || len(out.Sessions) != 1 {
		t.Fatalf("active: %+v, %v", out, err)
	}
	if s := out.Sessions[0]; s.EndDate != nil || s.OutputUrl != nil || s.Status != types.SessionStatusConnected || !s.StartDate.Equal(e.clock.Add(-20*time.Minute)) {
		t.Errorf("active session: %s", showSession(s))
	}
}

func sameSession(a, b types.Session) bool {
	sameTime := func(x, y *time.Time) bool { return (x == nil) == (y == nil) && (x == nil || x.Equal(*y)) }
	ac, bc := a, b
	ac.StartDate, ac.EndDate, bc.StartDate, bc.EndDate = nil, nil, nil, nil
	return sameTime(a.StartDate, b.StartDate) && sameTime(a.EndDate, b.EndDate) && reflect.DeepEqual(ac, bc)
}

func showSession(s types.Session) string {
	out := fmt.Sprintf("id=%s target=%s status=%s start=%v end=%v document=%s owner=%s reason=%v details=%v max=%v access=%s",
		aws.ToString(s.SessionId), aws.ToString(s.Target), s.Status, s.StartDate, s.EndDate, aws.ToString(s.DocumentName),
		aws.ToString(s.Owner), s.Reason, s.Details, s.MaxSessionDuration, s.AccessType)
	if s.OutputUrl != nil {
		out += fmt.Sprintf(" cloudwatch=%v s3=%v", aws.ToString(s.OutputUrl.CloudWatchOutputUrl), s.OutputUrl.S3OutputUrl)
	}
	return out
}

func TestDescribeSessionsFilters(t *testing.T) {
	e := newTestEnv(t)
	sessionFixture(e)
	at := func(minutesAgo int) string {
		return e.clock.Add(-time.Duration(minutesAgo) * time.Minute).Format(time.RFC3339)
	}
	f := func(key types.SessionFilterKey, value string) types.SessionFilter {
		return types.SessionFilter{Key: key, Value: aws.String(value)}
	}
	for _, tc := range []struct {
		name    string
		state   types.SessionState
		filters []types.SessionFilter
		want    []string
	}{
		// InvokedAfter takes the sessions started at the time and later,
		// InvokedBefore those started before it.
		{"invoked after", types.SessionStateActive, []types.SessionFilter{f(types.SessionFilterKeyInvokedAfter, at(30))}, []string{"s8", "s6", "s7"}},
		{"invoked before", types.SessionStateActive, []types.SessionFilter{f(types.SessionFilterKeyInvokedBefore, at(30))}, []string{"s5", "s4", "s3"}},
		{"invoked between", types.SessionStateActive, []types.SessionFilter{f(types.SessionFilterKeyInvokedAfter, at(55)),
			f(types.SessionFilterKeyInvokedBefore, at(35))}, []string{"s5", "s4"}},
		{"invoked after, history", types.SessionStateHistory, []types.SessionFilter{f(types.SessionFilterKeyInvokedAfter, at(75))}, []string{"s2"}},
		{"invoked after, a date", types.SessionStateHistory, []types.SessionFilter{f(types.SessionFilterKeyInvokedAfter, e.clock.Format("2006-01-02"))}, []string{"s2", "s1"}},
		{"invoked after, an offset", types.SessionStateActive, []types.SessionFilter{f(types.SessionFilterKeyInvokedAfter,
			e.clock.Add(-25*time.Minute).In(time.FixedZone("", 2*3600)).Format(time.RFC3339))}, []string{"s8"}},
		{"target", types.SessionStateActive, []types.SessionFilter{f(types.SessionFilterKeyTargetId, "ecs:api_t3_c3")}, []string{"s7", "s3"}},
		{"owner", types.SessionStateActive, []types.SessionFilter{f(types.SessionFilterKeyOwner, bob)}, []string{"s4"}},
		{"owner, history", types.SessionStateHistory, []types.SessionFilter{f(types.SessionFilterKeyOwner, bob)}, []string{"s2"}},
		{"status", types.SessionStateActive, []types.SessionFilter{f(types.SessionFilterKeyStatus, "Connected")}, []string{"s8", "s7", "s4"}},
		{"status of the other state", types.SessionStateActive, []types.SessionFilter{f(types.SessionFilterKeyStatus, "Terminated")}, []string{}},
		{"status, history", types.SessionStateHistory, []types.SessionFilter{f(types.SessionFilterKeyStatus, "Failed")}, []string{"s2"}},
		{"session id", types.SessionStateActive, []types.SessionFilter{f(types.SessionFilterKeySessionId, "s5")}, []string{"s5"}},
		{"session id of the other state", types.SessionStateHistory, []types.SessionFilter{f(types.SessionFilterKeySessionId, "s5")}, []string{}},
		{"session id of another region", types.SessionStateActive, []types.SessionFilter{f(types.SessionFilterKeySessionId, "x1")}, []string{}},
		{"access type", types.SessionStateActive, []types.SessionFilter{f(types.SessionFilterKeyAccessType, "Standard")}, []string{"s8", "s6", "s7", "s5", "s4", "s3"}},
		{"just in time", types.SessionStateActive, []types.SessionFilter{f(types.SessionFilterKeyAccessType, "JustInTime")}, []string{}},
		{"all must hold", types.SessionStateActive, []types.SessionFilter{f(types.SessionFilterKeyTargetId, "ecs:api_t3_c3"),
			f(types.SessionFilterKeyStatus, "Connecting")}, []string{"s3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := e.describeSessions(&sdk.DescribeSessionsInput{State: tc.state, Filters: tc.filters}); !slices.Equal(got, tc.want) {
				t.Errorf("%v, want %v", got, tc.want)
			}
		})
	}
}

func TestDescribeSessionsBadInput(t *testing.T) {
	e := newTestEnv(t)
	sessionFixture(e)
	f := func(key types.SessionFilterKey, value string) []types.SessionFilter {
		return []types.SessionFilter{{Key: key, Value: aws.String(value)}}
	}
	for _, tc := range []struct {
		name      string
		in        sdk.DescribeSessionsInput
		code, msg string
	}{
		{"bad date", sdk.DescribeSessionsInput{State: types.SessionStateActive, Filters: f(types.SessionFilterKeyInvokedAfter, "yesterday")},
			"InvalidFilterKey", "The following filter value is not valid: yesterday. The InvokedAfter filter takes a timestamp such as 2024-08-29T00:00:00Z."},
		{"bad date before", sdk.DescribeSessionsInput{State: types.SessionStateActive, Filters: f(types.SessionFilterKeyInvokedBefore, "2024-13-01T00:00:00Z")},
			"InvalidFilterKey", "The following filter value is not valid: 2024-13-01T00:00:00Z. The InvokedBefore filter takes a timestamp such as 2024-08-29T00:00:00Z."},
		{"bad status", sdk.DescribeSessionsInput{State: types.SessionStateActive, Filters: f(types.SessionFilterKeyStatus, "Running")},
			"InvalidFilterKey", "The following filter value is not valid: Running. Valid values for the Status filter include: [Connected, Connecting, Disconnected, Terminated, Terminating, Failed]."},
		{"bad access type", sdk.DescribeSessionsInput{State: types.SessionStateActive, Filters: f(types.SessionFilterKeyAccessType, "standard")},
			"InvalidFilterKey", "The following filter value is not valid: standard. Valid values for the AccessType filter include: [Standard, JustInTime]."},
		// The model's enums and limits, which the gateway checks.
		{"bad key", sdk.DescribeSessionsInput{State: types.SessionStateActive, Filters: f("Cluster", "web")},
			"ValidationException", ""},
		{"empty value", sdk.DescribeSessionsInput{State: types.SessionStateActive, Filters: f(types.SessionFilterKeyTargetId, "")},
			"ValidationException", ""},
		{"bad state", sdk.DescribeSessionsInput{State: "Open"}, "ValidationException", ""},
		{"max results", sdk.DescribeSessionsInput{State: types.SessionStateActive, MaxResults: aws.Int32(201)}, "ValidationException", ""},
		{"bad token", sdk.DescribeSessionsInput{State: types.SessionStateActive, NextToken: aws.String("%%%")},
			"InvalidNextToken", "The specified token isn't valid."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.client.DescribeSessions(context.Background(), &tc.in)
			if tc.code != "InvalidFilterKey" {
				gatewaytest.WantError(t, err, tc.code, tc.msg)
				return
			}
			// The model's InvalidFilterKey has no Message member, so the
			// Go SDK drops the message (the aws CLI shows it): read it
			// from the operation itself.
			gatewaytest.WantError(t, err, tc.code, "")
			in := &ssmtypes.DescribeSessionsRequest{State: awsapi.String(string(tc.in.State))}
			for _, f := range tc.in.Filters {
				in.Filters = append(in.Filters, ssmtypes.SessionFilter{Key: awsapi.String(string(f.Key)), Value: f.Value})
			}
			var ae *awsapi.Error
			if err := e.call("DescribeSessions", in); !errors.As(err, &ae) || ae.Code != tc.code || ae.Message != tc.msg {
				t.Fatalf("got %v, want %s %q", err, tc.code, tc.msg)
			}
		})
	}
	// A key outside the model, from a caller that skips the gateway's
	// checks.
	var ae *awsapi.Error
	err := e.call("DescribeSessions", &ssmtypes.DescribeSessionsRequest{State: awsapi.String("Active"),
		Filters: []ssmtypes.SessionFilter{{Key: awsapi.String("Cluster"), Value: awsapi.String("web")}}})
	if !errors.As(err, &ae) || ae.Code != "InvalidFilterKey" || ae.Message != "The following filter key is not valid: Cluster. "+
		"Valid filter keys include: [InvokedAfter, InvokedBefore, Target, Owner, Status, SessionId, AccessType]." {
		t.Fatalf("unknown key: %v", err)
	}
}

// call calls an operation as the gateway does once it has decoded and
// authorized the request, in the test's region, and returns its error as
// the client would see it.
func (e *testEnv) call(op string, in any) error {
	ctx := awsapi.WithRequest(context.Background(), &awsapi.RequestInfo{Region: testRegion, AccountID: testAccount})
	_, err := e.ssm.Service().Operations[op].Call(ctx, in)
	return err
}

func TestDescribeSessionsPages(t *testing.T) {
	e := newTestEnv(t)
	var want []string
	for i := range 7 {
		id := ssmstate.NewSessionID()
		e.putSession(ssmstate.Session{ID: id, Status: ssmstate.SessionConnected, StartDate: e.clock.Add(time.Duration(-i) * time.Second)})
		want = append(want, id)
	}
	e.putSession(ssmstate.Session{ID: "ended", Status: ssmstate.SessionTerminated, StartDate: e.clock, EndDate: e.clock})
	ctx := context.Background()
	var got []string
	var sizes []int
	var token *string
	for {
		out, err := e.client.DescribeSessions(ctx, &sdk.DescribeSessionsInput{State: types.SessionStateActive, MaxResults: aws.Int32(3), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, sessionIDs(out.Sessions)...)
		sizes = append(sizes, len(out.Sessions))
		if token = out.NextToken; token == nil {
			break
		}
	}
	if !slices.Equal(got, want) || !slices.Equal(sizes, []int{3, 3, 1}) {
		t.Fatalf("pages %v: %v, want %v", sizes, got, want)
	}
	// A page boundary holds while sessions come and go: a session newer
	// than the boundary does not show up on the next page, and the page
	// after a removed session starts after where it was.
	first, err := e.client.DescribeSessions(ctx, &sdk.DescribeSessionsInput{State: types.SessionStateActive, MaxResults: aws.Int32(3)})
	if err != nil {
		t.Fatal(err)
	}
	e.putSession(ssmstate.Session{ID: "newest", Status: ssmstate.SessionConnecting, StartDate: e.clock.Add(time.Minute)})
	if _, err := e.client.TerminateSession(ctx, &sdk.TerminateSessionInput{SessionId: aws.String(want[2])}); err != nil {
		t.Fatal(err)
	}
	next, err := e.client.DescribeSessions(ctx, &sdk.DescribeSessionsInput{State: types.SessionStateActive, MaxResults: aws.Int32(3), NextToken: first.NextToken})
	if err != nil || !slices.Equal(sessionIDs(next.Sessions), want[3:6]) {
		t.Fatalf("next page: %v, %v; want %v", sessionIDs(next.Sessions), err, want[3:6])
	}
	// The SDK's paginator, with the default page size: one page.
	p := sdk.NewDescribeSessionsPaginator(e.client, &sdk.DescribeSessionsInput{State: types.SessionStateActive})
	pages := 0
	got = nil
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		got = append(got, sessionIDs(out.Sessions)...)
	}
	if want := append([]string{"newest"}, slices.Delete(slices.Clone(want), 2, 3)...); pages != 1 || !slices.Equal(got, want) {
		t.Fatalf("paginator: %d pages %v, want %v", pages, got, want)
	}
}

func TestTerminateSession(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	live := e.putSession(ssmstate.Session{ID: "live", Status: ssmstate.SessionConnected, StartDate: e.clock.Add(-time.Hour)})
	token := live.IssueToken(e.clock)
	e.putSession(live)
	failedEnd := e.clock.Add(-30 * time.Minute)
	e.putSession(ssmstate.Session{ID: "failed", Status: ssmstate.SessionFailed, StartDate: e.clock.Add(-time.Hour), EndDate: failedEnd, Reason: "no agent"})
	e.clock = e.clock.Add(10 * time.Second)

	terminate := func(id string) {
		t.Helper()
		out, err := e.client.TerminateSession(ctx, &sdk.TerminateSessionInput{SessionId: aws.String(id)})
		if err != nil || aws.ToString(out.SessionId) != id {
			t.Fatalf("terminate %s: %+v, %v", id, out, err)
		}
	}
	terminate("live")
	got := e.session(testRegion, "live")
	if s := got.Value; s.Status != ssmstate.SessionTerminated || !s.EndDate.Equal(e.clock) || s.TokenHash != "" || !s.TokenExpires.IsZero() ||
		s.Reason != "" || !s.StartDate.Equal(live.StartDate) {
		t.Fatalf("terminated: %+v", s)
	}
	if s := got.Value; s.TakeToken(token, e.clock) {
		t.Fatal("the token outlived its session")
	}
	if ids := e.describeSessions(&sdk.DescribeSessionsInput{State: types.SessionStateHistory}); !slices.Equal(ids, []string{"failed", "live"}) {
		t.Fatalf("history: %v", ids)
	}

	// Again, later: nothing changes.
	e.clock = e.clock.Add(time.Minute)
	terminate("live")
	if again := e.session(testRegion, "live"); again.ModRevision != got.ModRevision {
		t.Fatalf("terminated twice: %+v", again)
	}
	// An ended session keeps its status, end and reason.
	before := e.session(testRegion, "failed")
	terminate("failed")
	if after := e.session(testRegion, "failed"); after.ModRevision != before.ModRevision || after.Value.Status != ssmstate.SessionFailed ||
		!after.Value.EndDate.Equal(failedEnd) {
		t.Fatalf("failed session: %+v", after)
	}
	// An unknown session, or one of another region: success, and no record.
	terminate("ecs-execute-command-0123456789abcdef0")
	if _, err := store.Get[ssmstate.Session](ctx, e.store, ssmstate.SessionKey(testRegion, "ecs-execute-command-0123456789abcdef0")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown session: %v", err)
	}
	e.putSession(ssmstate.Session{ID: "elsewhere", Region: "eu-west-1", Status: ssmstate.SessionConnected, StartDate: e.clock})
	terminate("elsewhere")
	if s := e.session("eu-west-1", "elsewhere").Value; s.Status != ssmstate.SessionConnected {
		t.Fatalf("another region's session: %+v", s)
	}
}

func TestResumeSession(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	live := e.putSession(ssmstate.Session{ID: "ecs-execute-command-live", Status: ssmstate.SessionDisconnected, StartDate: e.clock.Add(-time.Hour)})
	old := live.IssueToken(e.clock)
	e.putSession(live)
	e.putSession(ssmstate.Session{ID: "done", Status: ssmstate.SessionTerminated, StartDate: e.clock.Add(-time.Hour), EndDate: e.clock})
	e.clock = e.clock.Add(5 * time.Second)

	out, err := e.client.ResumeSession(ctx, &sdk.ResumeSessionInput{SessionId: aws.String(live.ID)})
	if err != nil {
		t.Fatal(err)
	}
	wantURL := "ws" + strings.TrimPrefix(aws.ToString(e.sdkConfig.BaseEndpoint), "http") + "/v1/data-channel/" + live.ID + "?role=publish_subscribe&region=us-east-1"
	if aws.ToString(out.SessionId) != live.ID || aws.ToString(out.StreamUrl) != wantURL || aws.ToString(out.TokenValue) == "" {
		t.Fatalf("resume: id %q url %q token %v, want url %q", aws.ToString(out.SessionId), aws.ToString(out.StreamUrl), out.TokenValue != nil, wantURL)
	}
	if !strings.HasPrefix(wantURL, "ws://127.0.0.1:") {
		t.Fatalf("stream URL %q", wantURL)
	}
	token := aws.ToString(out.TokenValue)
	got := e.session(testRegion, live.ID).Value
	if got.Status != ssmstate.SessionDisconnected || !got.TokenExpires.Equal(e.clock.Add(ssmstate.TokenLifetime)) {
		t.Fatalf("resumed: %+v", got)
	}
	if probe := got; probe.TakeToken(old, e.clock) {
		t.Fatal("the old token still opens the session")
	}
	if probe := got; !probe.TakeToken(token, e.clock) {
		t.Fatal("the new token does not open the session")
	}
	if probe := got; probe.TakeToken(token, e.clock.Add(ssmstate.TokenLifetime)) {
		t.Fatal("the new token opens the session once it has expired")
	}
	// Each resume replaces the token.
	again, err := e.client.ResumeSession(ctx, &sdk.ResumeSessionInput{SessionId: aws.String(live.ID)})
	if err != nil || aws.ToString(again.TokenValue) == token {
		t.Fatalf("resume again: %+v, %v", again, err)
	}
	if probe := e.session(testRegion, live.ID).Value; probe.TakeToken(token, e.clock) {
		t.Fatal("a replaced token still opens the session")
	}

	// An ended session: its id, no token, no URL, no change.
	before := e.session(testRegion, "done")
	out, err = e.client.ResumeSession(ctx, &sdk.ResumeSessionInput{SessionId: aws.String("done")})
	if err != nil || aws.ToString(out.SessionId) != "done" || out.TokenValue != nil || out.StreamUrl != nil {
		t.Fatalf("resume ended: %+v, %v", out, err)
	}
	if after := e.session(testRegion, "done"); after.ModRevision != before.ModRevision {
		t.Fatalf("ended session changed: %+v", after.Value)
	}

	// An unknown session, and one of another region.
	_, err = e.client.ResumeSession(ctx, &sdk.ResumeSessionInput{SessionId: aws.String("nope")})
	gatewaytest.WantError(t, err, "DoesNotExistException", "Session with id nope does not exist.")
	_, err = e.clientIn("eu-west-1").ResumeSession(ctx, &sdk.ResumeSessionInput{SessionId: aws.String(live.ID)})
	gatewaytest.WantError(t, err, "DoesNotExistException", "Session with id "+live.ID+" does not exist.")
	var dne *types.DoesNotExistException
	if !errors.As(err, &dne) {
		t.Fatalf("not the SDK's DoesNotExistException: %T", err)
	}
}

func TestSessionAccess(t *testing.T) {
	s := &service{account: "123456789012"}
	ctx := awsapi.WithRequest(context.Background(), &awsapi.RequestInfo{Region: "eu-west-1"})
	const arn = "arn:aws:ssm:eu-west-1:123456789012:session/ecs-execute-command-0123456789abcdef0"
	id := awsapi.String("ecs-execute-command-0123456789abcdef0")
	for _, tc := range []struct {
		op   string
		in   any
		want []awsapi.Access
	}{
		{"DescribeSessions", &ssmtypes.DescribeSessionsRequest{State: awsapi.String("Active")}, nil},
		{"TerminateSession", &ssmtypes.TerminateSessionRequest{SessionId: id}, []awsapi.Access{{Action: "ssm:TerminateSession", Resource: arn}}},
		{"ResumeSession", &ssmtypes.ResumeSessionRequest{SessionId: id}, []awsapi.Access{{Action: "ssm:ResumeSession", Resource: arn}}},
	} {
		got, err := s.access(ctx, tc.op, tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.op, got, tc.want)
		}
	}
}

func TestSessionOrder(t *testing.T) {
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	sessions := []ssmstate.Session{
		{ID: "b", StartDate: base},
		{ID: "old", StartDate: time.Time{}},
		{ID: "a", StartDate: base},
		{ID: "later-ns", StartDate: base.Add(time.Nanosecond)},
		{ID: "pre-epoch", StartDate: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)},
		{ID: "next-second", StartDate: base.Add(time.Second)},
	}
	slices.SortFunc(sessions, func(x, y ssmstate.Session) int { return strings.Compare(sessionOrder(x), sessionOrder(y)) })
	var got []string
	for _, s := range sessions {
		got = append(got, s.ID)
	}
	if want := []string{"next-second", "later-ns", "a", "b", "pre-epoch", "old"}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

func TestSessionEnd(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	s := ssmstate.Session{Status: ssmstate.SessionConnecting, Reason: "kept"}
	s.IssueToken(now)
	if !s.End(ssmstate.SessionTerminated, "", now) || s.Status != ssmstate.SessionTerminated || !s.EndDate.Equal(now) ||
		s.TokenHash != "" || !s.Ended() || s.Reason != "kept" {
		t.Fatalf("terminate: %+v", s)
	}
	if s.End(ssmstate.SessionFailed, "later", now.Add(time.Second)) || !s.EndDate.Equal(now) || s.Status != ssmstate.SessionTerminated {
		t.Fatalf("end again: %+v", s)
	}
	f := ssmstate.Session{Status: ssmstate.SessionConnected}
	if !f.End(ssmstate.SessionFailed, "the agent went away", now) || f.Status != ssmstate.SessionFailed || f.Reason != "the agent went away" {
		t.Fatalf("fail: %+v", f)
	}
}
