package logs

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/awsapi"
)

// allowedRoles lets the tasks it lists do anything and records what it
// was asked.
type allowedRoles struct {
	allowed map[string]bool
	asked   [][]awsapi.Access
}

func (r *allowedRoles) AuthorizeExecutionRole(_ context.Context, taskARN string, accesses []awsapi.Access) error {
	r.asked = append(r.asked, accesses)
	if !r.allowed[taskARN] {
		return &awsapi.AccessDenied{Message: "User: arn:aws:sts::123456789012:assumed-role/exec/t is not authorized to perform: " + accesses[0].Action}
	}
	return nil
}

func TestAgentStreamsPreparedAsTheExecutionRole(t *testing.T) {
	e := newTestEnv(t)
	roles := &allowedRoles{allowed: map[string]bool{"task/ok": true}}
	srv := httptest.NewServer(e.logs.AgentHandler("tok", roles))
	t.Cleanup(srv.Close)
	prepare := func(req agentproto.LogStreamRequest) (int, agentproto.LogError) {
		t.Helper()
		body, _ := json.Marshal(req)
		hr, _ := http.NewRequest(http.MethodPost, srv.URL+agentproto.LogStreamPath, bytes.NewReader(body))
		hr.Header.Set("Authorization", "Bearer tok")
		res, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var le agentproto.LogError
		json.NewDecoder(res.Body).Decode(&le)
		return res.StatusCode, le
	}
	ref := agentproto.LogStreamRef{Region: testRegion, Group: "/ecs/app", Stream: "app/app/1"}

	status, le := prepare(agentproto.LogStreamRequest{LogStreamRef: ref, CreateGroup: true, Producer: "c1", TaskARN: "task/denied"})
	if status != http.StatusForbidden || le.Code != "AccessDeniedException" {
		t.Fatalf("denied role: %d %+v", status, le)
	}
	groups, _ := e.client.DescribeLogGroups(context.Background(), &sdk.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/ecs/app")})
	if len(groups.LogGroups) != 0 {
		t.Fatal("a denied stream request created its group")
	}
	want := []awsapi.Access{
		{Action: "logs:CreateLogStream", Resource: "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/app:log-stream:app/app/1"},
		{Action: "logs:CreateLogGroup", Resource: "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/app:log-stream:"},
	}
	if got := roles.asked[0]; len(got) != 2 || got[0].Action != want[0].Action || got[0].Resource != want[0].Resource || got[1].Resource != want[1].Resource {
		t.Fatalf("asked %+v, want %+v", got, want)
	}

	if status, le := prepare(agentproto.LogStreamRequest{LogStreamRef: ref, CreateGroup: true, Producer: "c1", TaskARN: "task/ok"}); status != http.StatusOK {
		t.Fatalf("allowed role: %d %+v", status, le)
	}
	// An agent that names no task is not checked.
	asked := len(roles.asked)
	if status, le := prepare(agentproto.LogStreamRequest{LogStreamRef: ref, Producer: "c2"}); status != http.StatusOK || len(roles.asked) != asked {
		t.Fatalf("request without a task: %d %+v", status, le)
	}
}
