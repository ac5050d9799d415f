package gateway

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/berth/berth/internal/awsapi"
)

// userKeys are keys whose testKey is an IAM user, not the admin.
type userKeys struct{ keys }

func (userKeys) Caller(id string) (awsapi.Caller, bool) {
	return awsapi.Caller{ARN: "arn:aws:iam::" + testAccount + ":user/dev", UserID: "AIDAEXAMPLE"}, id == testKey
}

// denyList refuses the actions it lists and records what it was asked.
type denyList struct {
	mu     sync.Mutex
	denied map[string]bool
	asked  []awsapi.Access
	err    error
}

func (d *denyList) Authorize(_ context.Context, caller awsapi.Caller, accesses []awsapi.Access) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.asked = append(d.asked, accesses...)
	if d.err != nil {
		return d.err
	}
	for _, a := range accesses {
		if d.denied[a.Action] {
			return &awsapi.AccessDenied{Message: "User: " + caller.ARN + " is not authorized to perform: " + a.Action}
		}
	}
	return nil
}

func TestAuthorization(t *testing.T) {
	authz := &denyList{denied: map[string]bool{"ecr:CreateRepository": true, "elasticloadbalancing:CreateLoadBalancer": true}}
	f := newFixture(t, func(f *fixture, c *Config) {
		c.Credentials = userKeys{f.keys}
		c.Authorizer = authz
	})

	// A service without Access: the operation's action on "*".
	resp, body := f.do(f.sign(f.jsonRequest("DescribeRepositories", `{}`), f.opts()))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("allowed call: %d %s", resp.StatusCode, body)
	}
	if got := authz.asked[len(authz.asked)-1]; got.Action != "ecr:DescribeRepositories" || got.Resource != "*" {
		t.Fatalf("asked %+v", got)
	}
	if info := f.rec.last(); info.Caller.ARN != "arn:aws:iam::123456789012:user/dev" || info.Caller.Admin {
		t.Fatalf("the handler saw caller %+v", info.Caller)
	}

	// A denial in each protocol's words, before the handler runs.
	before := f.rec.last()
	resp, body = f.do(f.sign(f.jsonRequest("CreateRepository", `{"repositoryName":"web"}`), f.opts()))
	var jsonErr struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(body, &jsonErr); err != nil || resp.StatusCode != http.StatusBadRequest || jsonErr.Type != "AccessDeniedException" ||
		jsonErr.Message != "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: ecr:CreateRepository" {
		t.Fatalf("JSON denial: %d %s", resp.StatusCode, body)
	}
	if f.rec.last().RequestID != before.RequestID {
		t.Fatal("the handler ran for a denied call")
	}
	o := f.opts()
	o.service = "elasticloadbalancing"
	form := url.Values{"Action": {"CreateLoadBalancer"}, "Version": {elbVersion}, "Name": {"web"}}
	resp, body = f.do(f.sign(f.queryRequest(form.Encode()), o))
	var queryErr struct {
		Error struct{ Code, Message string } `xml:"Error"`
	}
	if err := xml.Unmarshal(body, &queryErr); err != nil || resp.StatusCode != http.StatusForbidden || queryErr.Error.Code != "AccessDenied" ||
		!strings.Contains(queryErr.Error.Message, "elasticloadbalancing:CreateLoadBalancer") {
		t.Fatalf("query denial: %d %s", resp.StatusCode, body)
	}

	// A failure to decide is berth's, not a denial.
	authz.err = errors.New("store down")
	resp, body = f.do(f.sign(f.jsonRequest("DescribeRepositories", `{}`), f.opts()))
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("failed decision: %d %s", resp.StatusCode, body)
	}
}

func TestAdminSkipsAuthorization(t *testing.T) {
	authz := &denyList{denied: map[string]bool{"ecr:CreateRepository": true}}
	f := newFixture(t, func(f *fixture, c *Config) { c.Authorizer = authz }) // keys without Callers: the admin
	resp, body := f.do(f.sign(f.jsonRequest("CreateRepository", `{"repositoryName":"web"}`), f.opts()))
	if resp.StatusCode != http.StatusOK || len(authz.asked) != 0 {
		t.Fatalf("admin: %d %s, asked %v", resp.StatusCode, body, authz.asked)
	}
	if info := f.rec.last(); !info.Caller.Admin || info.Caller.ARN != "arn:aws:iam::123456789012:root" || info.Caller.UserID != testAccount {
		t.Fatalf("admin caller %+v", info.Caller)
	}
}
