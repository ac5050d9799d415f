package elbv2

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/elbv2/elbv2types"
)

// CreateTargetGroup leaves out the load balancers of a new group, which
// DescribeTargetGroups shows as an empty list.
func TestCreateTargetGroupLoadBalancers(t *testing.T) {
	e := newTestEnv(t)
	ctx := awsapi.WithRequest(context.Background(), &awsapi.RequestInfo{Region: testRegion})
	made, err := e.elb.createTargetGroup(ctx, &elbv2types.CreateTargetGroupInput{
		Name: awsapi.String("web"), Protocol: awsapi.String("HTTP"), Port: awsapi.Int32(80), VpcId: awsapi.String(e.vpc.ID),
	})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(made); strings.Contains(string(b), "LoadBalancerArns") {
		t.Fatalf("created: %s", b)
	}
	described, err := e.elb.describeTargetGroups(ctx, &elbv2types.DescribeTargetGroupsInput{Names: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(described); !strings.Contains(string(b), `"LoadBalancerArns":[]`) {
		t.Fatalf("described: %s", b)
	}
}
