package ec2

import (
	"slices"
	"testing"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ec2/ec2types"
)

func TestCreateSubnet(t *testing.T) {
	e := newTestEnv(t)
	v := e.createVPC("10.0.0.0/16")
	s := e.createSubnet(*v.VpcId, "10.0.1.0/24")
	if *s.CidrBlock != "10.0.1.0/24" || *s.AvailabilityZone != "us-east-1a" || *s.AvailabilityZoneId != "use1-az1" ||
		*s.AvailableIpAddressCount != 251 || *s.SubnetArn != "arn:aws:ec2:us-east-1:123456789012:subnet/"+*s.SubnetId ||
		*s.State != "available" || *s.DefaultForAz || *s.MapPublicIpOnLaunch || *s.VpcId != *v.VpcId || *s.OwnerId != testAccount {
		t.Fatalf("subnet: %+v", s)
	}
	byID := must[ec2types.CreateSubnetResult](e, "CreateSubnet", &ec2types.CreateSubnetRequest{VpcId: v.VpcId,
		CidrBlock: awsapi.String("10.0.2.0/28"), AvailabilityZoneId: awsapi.String("use1-az3")}).Subnet
	if *byID.AvailabilityZone != "us-east-1c" || *byID.AvailableIpAddressCount != 11 {
		t.Fatalf("by zone id: %+v", byID)
	}
	for _, tc := range []struct {
		in        *ec2types.CreateSubnetRequest
		code, msg string
	}{
		{&ec2types.CreateSubnetRequest{VpcId: v.VpcId, CidrBlock: awsapi.String("10.0.1.128/25")}, "InvalidSubnet.Conflict",
			"The CIDR '10.0.1.128/25' conflicts with another subnet"},
		{&ec2types.CreateSubnetRequest{VpcId: v.VpcId, CidrBlock: awsapi.String("10.1.0.0/24")}, "InvalidSubnet.Range", "The CIDR '10.1.0.0/24' is invalid."},
		{&ec2types.CreateSubnetRequest{VpcId: v.VpcId, CidrBlock: awsapi.String("10.0.0.0/15")}, "InvalidSubnet.Range", ""},
		{&ec2types.CreateSubnetRequest{VpcId: v.VpcId, CidrBlock: awsapi.String("10.0.3.0/29")}, "InvalidSubnet.Range", ""},
		{&ec2types.CreateSubnetRequest{VpcId: v.VpcId, CidrBlock: awsapi.String("10.0.3.0")}, "InvalidParameterValue",
			"Value (10.0.3.0) for parameter cidrBlock is invalid. This is not a valid CIDR block."},
		{&ec2types.CreateSubnetRequest{VpcId: v.VpcId, CidrBlock: awsapi.String("10.0.3.0/24"), AvailabilityZone: awsapi.String("us-east-1z")},
			"InvalidParameterValue", "Value (us-east-1z) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: us-east-1a, us-east-1b, us-east-1c, us-east-1d, us-east-1e, us-east-1f."},
		{&ec2types.CreateSubnetRequest{VpcId: awsapi.String("vpc-0000000000000000a"), CidrBlock: awsapi.String("10.0.3.0/24")},
			"InvalidVpcID.NotFound", "The vpc ID 'vpc-0000000000000000a' does not exist"},
		{&ec2types.CreateSubnetRequest{VpcId: v.VpcId, CidrBlock: awsapi.String("10.0.3.0/24"), Ipv6Native: awsapi.Bool(true)}, "UnsupportedOperation", ""},
	} {
		_, err := call[ec2types.CreateSubnetResult](e.ctx, e, "CreateSubnet", tc.in)
		wantError(t, err, tc.code, tc.msg)
	}
	// A subnet of another VPC may share the range.
	other := e.createVPC("10.1.0.0/16")
	e.createSubnet(*other.VpcId, "10.1.1.0/24")
}

func TestDescribeSubnets(t *testing.T) {
	e := newTestEnv(t)
	v := e.createVPC("10.0.0.0/16")
	a := e.createSubnet(*v.VpcId, "10.0.1.0/24")
	b := *must[ec2types.CreateSubnetResult](e, "CreateSubnet", &ec2types.CreateSubnetRequest{VpcId: v.VpcId, CidrBlock: awsapi.String("10.0.2.0/24"),
		AvailabilityZone: awsapi.String("us-east-1b"),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: awsapi.String("subnet"),
			Tags: []ec2types.Tag{{Key: awsapi.String("tier"), Value: awsapi.String("private")}}}}}).Subnet
	n := e.createInterface(*a.SubnetId)
	ids := func(in *ec2types.DescribeSubnetsRequest) []string {
		var got []string
		for _, s := range must[ec2types.DescribeSubnetsResult](e, "DescribeSubnets", in).Subnets {
			got = append(got, *s.SubnetId)
		}
		slices.Sort(got)
		return got
	}
	both := []string{*a.SubnetId, *b.SubnetId}
	slices.Sort(both)
	for _, tc := range []struct {
		name    string
		filters []ec2types.Filter
		want    []string
	}{
		{"vpc-id", []ec2types.Filter{flt("vpc-id", *v.VpcId)}, both},
		{"availability-zone", []ec2types.Filter{flt("vpc-id", *v.VpcId), flt("availability-zone", "us-east-1b")}, []string{*b.SubnetId}},
		{"availability-zone-id", []ec2types.Filter{flt("vpc-id", *v.VpcId), flt("availability-zone-id", "use1-az1")}, []string{*a.SubnetId}},
		{"cidr-block", []ec2types.Filter{flt("cidr-block", "10.0.2.0/24")}, []string{*b.SubnetId}},
		{"cidr", []ec2types.Filter{flt("cidr", "10.0.*")}, both},
		{"tag", []ec2types.Filter{flt("tag:tier", "private")}, []string{*b.SubnetId}},
		{"subnet-id", []ec2types.Filter{flt("subnet-id", *a.SubnetId)}, []string{*a.SubnetId}},
		{"default-for-az", []ec2types.Filter{flt("vpc-id", *v.VpcId), flt("default-for-az", "false"), flt("state", "available")}, both},
		{"available-ip-address-count", []ec2types.Filter{flt("available-ip-address-count", "250")}, []string{*a.SubnetId}},
		{"map-public-ip-on-launch", []ec2types.Filter{flt("vpc-id", *v.VpcId), flt("map-public-ip-on-launch", "true")}, nil},
	} {
		if got := ids(&ec2types.DescribeSubnetsRequest{Filters: tc.filters}); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	got := must[ec2types.DescribeSubnetsResult](e, "DescribeSubnets", &ec2types.DescribeSubnetsRequest{SubnetIds: []string{*a.SubnetId}}).Subnets
	if len(got) != 1 || *got[0].AvailableIpAddressCount != 250 {
		t.Fatalf("in use: %+v", got)
	}
	_, err := call[ec2types.DescribeSubnetsResult](e.ctx, e, "DescribeSubnets", &ec2types.DescribeSubnetsRequest{SubnetIds: []string{"subnet-0000000000000000a"}})
	wantError(t, err, "InvalidSubnetID.NotFound", "The subnet ID 'subnet-0000000000000000a' does not exist")

	// A subnet an interface uses stays.
	_, err = call[struct{}](e.ctx, e, "DeleteSubnet", &ec2types.DeleteSubnetRequest{SubnetId: a.SubnetId})
	wantError(t, err, "DependencyViolation", "The subnet '"+*a.SubnetId+"' has dependencies and cannot be deleted.")
	if err := deleteInterface(e, n.ID); err != nil {
		t.Fatal(err)
	}
	must[struct{}](e, "DeleteSubnet", &ec2types.DeleteSubnetRequest{SubnetId: a.SubnetId})
	_, err = call[struct{}](e.ctx, e, "DeleteSubnet", &ec2types.DeleteSubnetRequest{SubnetId: a.SubnetId})
	wantError(t, err, "InvalidSubnetID.NotFound", "")

	must[struct{}](e, "ModifySubnetAttribute", &ec2types.ModifySubnetAttributeRequest{SubnetId: b.SubnetId,
		MapPublicIpOnLaunch: &ec2types.AttributeBooleanValue{Value: awsapi.Bool(true)}})
	if got := ids(&ec2types.DescribeSubnetsRequest{Filters: []ec2types.Filter{flt("vpc-id", *v.VpcId), flt("map-public-ip-on-launch", "true")}}); !slices.Equal(got, []string{*b.SubnetId}) {
		t.Fatalf("map-public-ip-on-launch: %v", got)
	}
	_, err = call[struct{}](e.ctx, e, "ModifySubnetAttribute", &ec2types.ModifySubnetAttributeRequest{SubnetId: b.SubnetId,
		AssignIpv6AddressOnCreation: &ec2types.AttributeBooleanValue{Value: awsapi.Bool(true)}})
	wantError(t, err, "UnsupportedOperation", "")
}
