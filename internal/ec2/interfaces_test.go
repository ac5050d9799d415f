package ec2

import (
	"slices"
	"strings"
	"testing"

	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/ec2/ec2types"
)

func TestDescribeNetworkInterfaces(t *testing.T) {
	e := newTestEnv(t)
	dv := e.defaultVPC()
	v := e.createVPC("10.0.0.0/16")
	s := e.createSubnet(*v.VpcId, "10.0.1.0/24")
	web := e.createGroup(*v.VpcId, "web")
	task := e.createInterface(*s.SubnetId, web)
	lb, err := ec2state.CreateInterface(e.ctx, e.store, ec2state.InterfaceSpec{
		Region: testRegion, Account: testAccount, SubnetID: *s.SubnetId, Description: "ELB app/web/0123456789abcdef",
		RequesterID: ec2state.RequesterELB, Owner: "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/0123456789abcdef", Now: e.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	out := must[ec2types.DescribeNetworkInterfacesResult](e, "DescribeNetworkInterfaces", &ec2types.DescribeNetworkInterfacesRequest{
		NetworkInterfaceIds: []string{task.ID}}).NetworkInterfaces
	if len(out) != 1 {
		t.Fatalf("interfaces: %+v", out)
	}
	n := out[0]
	dns := "ip-" + strings.ReplaceAll(task.PrivateIP, ".", "-") + ".ec2.internal"
	if *n.NetworkInterfaceId != task.ID || *n.InterfaceType != "interface" || *n.Status != "in-use" || *n.PrivateIpAddress != task.PrivateIP ||
		*n.PrivateDnsName != dns || len(n.PrivateIpAddresses) != 1 || !*n.PrivateIpAddresses[0].Primary || *n.PrivateIpAddresses[0].PrivateDnsName != dns ||
		*n.MacAddress != task.MAC || len(n.Groups) != 1 || *n.Groups[0].GroupId != web || *n.Groups[0].GroupName != "web" ||
		*n.SubnetId != *s.SubnetId || *n.VpcId != *v.VpcId || *n.AvailabilityZone != "us-east-1a" || *n.AvailabilityZoneId != "use1-az1" ||
		*n.Description != task.Description || *n.RequesterId != ec2state.RequesterECS || !*n.RequesterManaged || *n.OwnerId != testAccount ||
		!*n.SourceDestCheck || *n.Attachment.Status != "attached" || *n.Attachment.DeviceIndex != 1 ||
		*n.Attachment.AttachmentId != "ela-attach-"+task.ID[len("eni-"):] || *n.Attachment.InstanceOwnerId != ec2state.RequesterECS || n.TagSet == nil {
		t.Fatalf("interface: %+v", n)
	}
	lbOut := must[ec2types.DescribeNetworkInterfacesResult](e, "DescribeNetworkInterfaces", &ec2types.DescribeNetworkInterfacesRequest{
		NetworkInterfaceIds: []string{lb.ID}}).NetworkInterfaces[0]
	if *lbOut.RequesterId != "amazon-elb" || *lbOut.Attachment.InstanceOwnerId != "amazon-elb" || lbOut.Attachment.InstanceId != nil {
		t.Fatalf("load balancer's interface: %+v", lbOut)
	}
	ids := func(filters ...ec2types.Filter) []string {
		var got []string
		for _, n := range must[ec2types.DescribeNetworkInterfacesResult](e, "DescribeNetworkInterfaces", &ec2types.DescribeNetworkInterfacesRequest{Filters: filters}).NetworkInterfaces {
			got = append(got, *n.NetworkInterfaceId)
		}
		slices.Sort(got)
		return got
	}
	both := []string{task.ID, lb.ID}
	slices.Sort(both)
	for _, tc := range []struct {
		name    string
		filters []ec2types.Filter
		want    []string
	}{
		{"all", nil, both},
		{"vpc-id", []ec2types.Filter{flt("vpc-id", *v.VpcId)}, both},
		{"other vpc", []ec2types.Filter{flt("vpc-id", dv.ID)}, nil},
		{"subnet-id", []ec2types.Filter{flt("subnet-id", *s.SubnetId)}, both},
		{"group-id", []ec2types.Filter{flt("group-id", web)}, []string{task.ID}},
		{"group-name", []ec2types.Filter{flt("group-name", "default")}, []string{lb.ID}},
		{"private-ip-address", []ec2types.Filter{flt("private-ip-address", lb.PrivateIP)}, []string{lb.ID}},
		{"addresses.private-ip-address", []ec2types.Filter{flt("addresses.private-ip-address", task.PrivateIP)}, []string{task.ID}},
		{"requester-id", []ec2types.Filter{flt("requester-id", "amazon-elb")}, []string{lb.ID}},
		{"description", []ec2types.Filter{flt("description", "ELB app/*")}, []string{lb.ID}},
		{"status and type", []ec2types.Filter{flt("status", "in-use"), flt("interface-type", "interface"), flt("requester-managed", "true")}, both},
		{"availability-zone", []ec2types.Filter{flt("availability-zone", "us-east-1b")}, nil},
		{"owner-id", []ec2types.Filter{flt("owner-id", testAccount)}, both},
		{"attachment.status", []ec2types.Filter{flt("attachment.status", "attached")}, both},
	} {
		if got := ids(tc.filters...); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	_, err = call[ec2types.DescribeNetworkInterfacesResult](e.ctx, e, "DescribeNetworkInterfaces", &ec2types.DescribeNetworkInterfacesRequest{
		NetworkInterfaceIds: []string{"eni-0000000000000000a"}})
	wantError(t, err, "InvalidNetworkInterfaceID.NotFound", "The networkInterface ID 'eni-0000000000000000a' does not exist")
	// Another region's interfaces are its own.
	west, err := call[ec2types.DescribeNetworkInterfacesResult](inRegion("us-west-2"), e, "DescribeNetworkInterfaces", &ec2types.DescribeNetworkInterfacesRequest{})
	if err != nil || len(west.NetworkInterfaces) != 0 {
		t.Fatalf("us-west-2: %+v %v", west, err)
	}
}

func TestUnsupportedOperation(t *testing.T) {
	e := newTestEnv(t)
	if _, ok := e.svc.Operations["CreateNetworkInterface"]; ok {
		t.Fatal("CreateNetworkInterface is served")
	}
	wantError(t, e.svc.Unsupported("CreateNetworkInterface"), "UnsupportedOperation", "berth does not support the EC2 operation CreateNetworkInterface.")
}
