package registry

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecr/ecrstate"
)

// allowList is an Authorizer that allows the action/resource pairs it
// holds and records every access it was asked about.
type allowList struct {
	mu      sync.Mutex
	caller  awsapi.Caller
	known   bool
	allowed map[string]bool // "<action> <resource>"
	asked   []awsapi.Access
}

func (a *allowList) Caller(accessKeyID string) (awsapi.Caller, bool) {
	return a.caller, a.known && accessKeyID == "AKIATEST"
}

func (a *allowList) Authorize(_ context.Context, caller awsapi.Caller, accesses []awsapi.Access) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, acc := range accesses {
		a.asked = append(a.asked, acc)
		if !a.allowed[acc.Action+" "+acc.Resource] {
			return &awsapi.AccessDenied{Message: "User: " + caller.ARN + " is not authorized to perform: " + acc.Action +
				" on resource: " + acc.Resource + " because no identity-based policy allows the " + acc.Action + " action"}
		}
	}
	return nil
}

func (a *allowList) allow(action, resource string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.allowed[action+" "+resource] = true
}

func TestAuthorization(t *testing.T) {
	authz := &allowList{
		caller:  awsapi.Caller{ARN: "arn:aws:iam::123456789012:user/puller"},
		known:   true,
		allowed: map[string]bool{},
	}
	r := newConfiguredRegistry(t, func(c *HandlerConfig) { c.Authorizer = authz },
		ecrstate.Repository{Name: "app", Policy: `{"Version":"2012-10-17"}`, Tags: []ecrstate.ResourceTag{{Key: "team", Value: "web"}}},
		ecrstate.Repository{Name: "other"})
	appARN := "arn:aws:ecr:us-east-1:123456789012:repository/app"
	otherARN := "arn:aws:ecr:us-east-1:123456789012:repository/other"

	// Nothing allowed: a push is refused at its first step, in the words
	// docker prints.
	p := r.do(req{method: "POST", path: "/v2/app/blobs/uploads/"}).expect(t, http.StatusForbidden, codeDenied)
	if msg := p.message(t); msg != "User: arn:aws:iam::123456789012:user/puller is not authorized to perform: ecr:InitiateLayerUpload on resource: "+appARN+" because no identity-based policy allows the ecr:InitiateLayerUpload action" {
		t.Fatalf("denied message %q", msg)
	}
	asked := authz.asked[len(authz.asked)-1]
	if asked.ResourcePolicy != `{"Version":"2012-10-17"}` || asked.Context["ecr:ResourceTag/team"][0] != "web" || asked.Context["aws:ResourceTag/team"][0] != "web" {
		t.Fatalf("access lacks the repository's policy or tags: %+v", asked)
	}
	// The base endpoint only authenticates.
	r.do(req{method: "GET", path: "/v2/"}).expect(t, http.StatusOK, "")

	for _, action := range []string{"ecr:InitiateLayerUpload", "ecr:CompleteLayerUpload", "ecr:UploadLayerPart", "ecr:BatchCheckLayerAvailability", "ecr:PutImage"} {
		authz.allow(action, appARN)
	}
	manifest := r.pushImage("app", nil)
	r.putManifest("app", "v1", manifest).expect(t, http.StatusCreated, "")

	// Pushing does not grant pulling.
	r.do(req{method: "GET", path: "/v2/app/manifests/v1"}).expect(t, http.StatusForbidden, codeDenied)
	authz.allow("ecr:BatchGetImage", appARN)
	r.do(req{method: "GET", path: "/v2/app/manifests/v1"}).expect(t, http.StatusOK, "")
	r.do(req{method: "GET", path: "/v2/app/tags/list"}).expect(t, http.StatusForbidden, codeDenied)
	r.do(req{method: "GET", path: "/v2/other/manifests/v1"}).expect(t, http.StatusForbidden, codeDenied)

	// A mount from a repository the caller may not read uploads instead
	// of linking the blob.
	layer := r.pushBlob("app", []byte("layer bytes"))
	for _, action := range []string{"ecr:InitiateLayerUpload"} {
		authz.allow(action, otherARN)
	}
	p = r.do(req{method: "POST", path: "/v2/other/blobs/uploads/?mount=" + layer.Digest.String() + "&from=app"})
	if p.status != http.StatusAccepted {
		t.Fatalf("mount without read access: status %d, want an ordinary upload (202): %s", p.status, p.body)
	}
	authz.allow("ecr:GetDownloadUrlForLayer", appARN)
	r.do(req{method: "POST", path: "/v2/other/blobs/uploads/?mount=" + layer.Digest.String() + "&from=app"}).expect(t, http.StatusCreated, "")

	// A password whose key is gone no longer works.
	authz.mu.Lock()
	authz.known = false
	authz.mu.Unlock()
	p = r.do(req{method: "GET", path: "/v2/app/manifests/v1"}).expect(t, http.StatusForbidden, codeDenied)
	if !strings.Contains(p.message(t), "Reauthenticate") {
		t.Fatalf("message %q", p.message(t))
	}
}
