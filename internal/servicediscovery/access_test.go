package servicediscovery

import (
	"context"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/servicediscovery/sdtypes"
)

func TestAccess(t *testing.T) {
	c := New(Config{AccountID: "123456789012"})
	ctx := awsapi.WithRequest(context.Background(), &awsapi.RequestInfo{Region: "us-east-1"})
	ns := "arn:aws:servicediscovery:us-east-1:123456789012:namespace/ns-a"
	srv := "arn:aws:servicediscovery:us-east-1:123456789012:service/srv-a"
	tag := []sdtypes.Tag{{Key: aws.String("team"), Value: aws.String("web")}}
	tagged := map[string][]string{"aws:RequestTag/team": {"web"}, "aws:TagKeys": {"team"}}
	for _, tc := range []struct {
		op   string
		in   any
		want awsapi.Access
	}{
		{"CreatePrivateDnsNamespace", &sdtypes.CreatePrivateDnsNamespaceRequest{Tags: tag}, awsapi.Access{Resource: "*", Context: tagged}},
		{"CreateService", &sdtypes.CreateServiceRequest{NamespaceId: aws.String("ns-a"), Tags: tag}, awsapi.Access{Resource: ns, Context: tagged}},
		{"CreateService", &sdtypes.CreateServiceRequest{DnsConfig: &sdtypes.DnsConfig{NamespaceId: aws.String(ns)}}, awsapi.Access{Resource: ns}},
		{"GetNamespace", &sdtypes.GetNamespaceRequest{Id: aws.String(ns)}, awsapi.Access{Resource: ns}},
		{"DeleteService", &sdtypes.DeleteServiceRequest{Id: aws.String("srv-a")}, awsapi.Access{Resource: srv}},
		{"RegisterInstance", &sdtypes.RegisterInstanceRequest{ServiceId: aws.String(srv)}, awsapi.Access{Resource: srv}},
		{"DiscoverInstances", &sdtypes.DiscoverInstancesRequest{NamespaceName: aws.String("a.internal"), ServiceName: aws.String("api")},
			awsapi.Access{Resource: "*", Context: map[string][]string{"servicediscovery:NamespaceName": {"a.internal"}, "servicediscovery:ServiceName": {"api"}}}},
		{"UntagResource", &sdtypes.UntagResourceRequest{ResourceARN: aws.String(srv), TagKeys: []string{"team"}},
			awsapi.Access{Resource: srv, Context: map[string][]string{"aws:TagKeys": {"team"}}}},
		{"ListNamespaces", &sdtypes.ListNamespacesRequest{}, awsapi.Access{Resource: "*"}},
	} {
		got, err := c.access(ctx, tc.op, tc.in)
		if err != nil {
			t.Fatal(err)
		}
		tc.want.Action = "servicediscovery:" + tc.op
		if len(got) != 1 || !reflect.DeepEqual(got[0], tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.op, got, tc.want)
		}
	}
}
