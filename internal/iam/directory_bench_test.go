package iam

import (
	"fmt"
	"testing"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/iam/iamstate"
)

// BenchmarkDirectoryAuthorize decides one access for a session of a role
// with ten attached policies, the way the gateway asks on every request.
func BenchmarkDirectoryAuthorize(b *testing.B) {
	f := newDirFixture(b)
	var attached []string
	for i := range 10 {
		attached = append(attached, f.managedPolicy(fmt.Sprintf("P%d", i),
			dirAllow(fmt.Sprintf("ecr:Action%d", i), "arn:aws:ecr:us-east-1:123456789012:repository/*")))
	}
	attached[9] = f.managedPolicy("P9", dirAllow("ecr:BatchGetImage", "arn:aws:ecr:us-east-1:123456789012:repository/*"))
	role := f.role("bench", dirTrust(`{"Service":"ecs-tasks.amazonaws.com"}`), iamstate.Policies{Attached: attached})
	creds, caller, err := f.dir.IssueServiceSession(f.ctx, ServiceSessionRequest{RoleARN: role.ARN, Service: "ecs-tasks.amazonaws.com",
		SessionName: "bench", Duration: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	ctx := awsapi.WithRequest(f.ctx, &awsapi.RequestInfo{AccessKeyID: creds.AccessKeyID, Caller: caller, Region: dirTestRegion})
	accesses := []awsapi.Access{{Action: "ecr:BatchGetImage", Resource: dirRepo}}
	if err := f.dir.Authorize(ctx, caller, accesses); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := f.dir.Authorize(ctx, caller, accesses); err != nil {
			b.Fatal(err)
		}
	}
}
