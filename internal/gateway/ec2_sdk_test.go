package gateway_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/model"
	"github.com/berth/berth/internal/ec2/ec2types"
	"github.com/berth/berth/internal/gateway"
	"github.com/berth/berth/internal/gateway/gatewaytest"
)

var attached = time.Date(2024, 1, 2, 3, 4, 5, 678e6, time.UTC)

// fakeEC2 serves DescribeVpcs from fixed data (filtered by vpc-id),
// CreateSecurityGroup by echoing its input, and DescribeNetworkInterfaces
// with a timestamp; every other EC2 operation is unsupported.
func fakeEC2() *awsapi.Service {
	vpcs := []ec2types.Vpc{
		{VpcId: aws.String("vpc-1"), CidrBlock: aws.String("10.0.0.0/16"), IsDefault: aws.Bool(true), State: aws.String("available"),
			OwnerId: aws.String(gatewaytest.AccountID), Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String("default & <main>")}}},
		{VpcId: aws.String("vpc-2"), CidrBlock: aws.String("10.1.0.0/16"), IsDefault: aws.Bool(false), State: aws.String("pending")},
	}
	return &awsapi.Service{
		SigningName: "ec2",
		Protocol:    awsapi.EC2,
		Model:       model.MustLoad("ec2"),
		Operations: map[string]awsapi.Operation{
			"DescribeVpcs": awsapi.Op(func(_ context.Context, in *ec2types.DescribeVpcsRequest) (*ec2types.DescribeVpcsResult, error) {
				want := map[string]bool{}
				for _, f := range in.Filters {
					if awsapi.Deref(f.Name) == "vpc-id" {
						for _, v := range f.Values {
							want[v] = true
						}
					}
				}
				out := &ec2types.DescribeVpcsResult{Vpcs: []ec2types.Vpc{}}
				for _, v := range vpcs {
					if len(want) == 0 || want[*v.VpcId] {
						out.Vpcs = append(out.Vpcs, v)
					}
				}
				return out, nil
			}),
			"CreateSecurityGroup": awsapi.Op(func(_ context.Context, in *ec2types.CreateSecurityGroupRequest) (*ec2types.CreateSecurityGroupResult, error) {
				if awsapi.Deref(in.GroupName) == "default" {
					return nil, awsapi.Errorf("InvalidGroup.Reserved", "The security group 'default' is reserved.")
				}
				out := &ec2types.CreateSecurityGroupResult{GroupId: aws.String("sg-" + *in.GroupName + "-" + *in.Description)}
				for _, spec := range in.TagSpecifications {
					out.Tags = append(out.Tags, spec.Tags...)
				}
				return out, nil
			}),
			"DescribeNetworkInterfaces": awsapi.Op(func(_ context.Context, _ *ec2types.DescribeNetworkInterfacesRequest) (*ec2types.DescribeNetworkInterfacesResult, error) {
				return &ec2types.DescribeNetworkInterfacesResult{NetworkInterfaces: []ec2types.NetworkInterface{{
					NetworkInterfaceId: aws.String("eni-1"),
					Attachment:         &ec2types.NetworkInterfaceAttachment{AttachTime: awsapi.Time(attached), DeviceIndex: aws.Int32(1)},
				}}}, nil
			}),
		},
	}
}

// wantStatus fails unless err came with the HTTP status and a request id.
func wantStatus(t *testing.T, err error, status int) {
	t.Helper()
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != status || re.ServiceRequestID() == "" {
		t.Fatalf("want HTTP %d with a request id, got %v", status, err)
	}
}

// TestEC2Client drives the gateway's ec2Query protocol with the real
// aws-sdk-go-v2 EC2 client: its form encoding (flattened lists, nested
// structures, locationNames), its XML decoding, and its error parsing.
func TestEC2Client(t *testing.T) {
	c := ec2.NewFromConfig(gatewaytest.Start(t, fakeEC2()))
	ctx := t.Context()

	all, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Vpcs) != 2 {
		t.Fatalf("%d VPCs", len(all.Vpcs))
	}
	v := all.Vpcs[0]
	if aws.ToString(v.VpcId) != "vpc-1" || aws.ToString(v.CidrBlock) != "10.0.0.0/16" || !aws.ToBool(v.IsDefault) ||
		v.State != types.VpcStateAvailable || aws.ToString(v.OwnerId) != gatewaytest.AccountID ||
		len(v.Tags) != 1 || aws.ToString(v.Tags[0].Value) != "default & <main>" {
		t.Fatalf("VPC %+v", v)
	}
	if aws.ToBool(all.Vpcs[1].IsDefault) || all.Vpcs[1].State != types.VpcStatePending {
		t.Fatalf("VPC %+v", all.Vpcs[1])
	}
	one, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []types.Filter{
		{Name: aws.String("state"), Values: []string{"available"}},
		{Name: aws.String("vpc-id"), Values: []string{"vpc-9", "vpc-2"}},
	}})
	if err != nil || len(one.Vpcs) != 1 || aws.ToString(one.Vpcs[0].VpcId) != "vpc-2" {
		t.Fatalf("filtered: %v %+v", err, one)
	}

	sg, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName:   aws.String("web"),
		Description: aws.String("tier"),
		VpcId:       aws.String("vpc-1"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup,
			Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("dev")}, {Key: aws.String("team"), Value: aws.String("a")}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(sg.GroupId) != "sg-web-tier" || len(sg.Tags) != 2 || aws.ToString(sg.Tags[1].Key) != "team" {
		t.Fatalf("security group %+v", sg)
	}

	enis, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if att := enis.NetworkInterfaces[0].Attachment; !aws.ToTime(att.AttachTime).Equal(attached) || aws.ToInt32(att.DeviceIndex) != 1 {
		t.Fatalf("attachment %+v", att)
	}

	// A handler's error, with EC2's code and message.
	_, err = c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("default"), Description: aws.String("d")})
	gatewaytest.WantError(t, err, "InvalidGroup.Reserved", "The security group 'default' is reserved.")
	wantStatus(t, err, http.StatusBadRequest)

	// The model's limits, in EC2's words.
	_, err = c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{MaxResults: aws.Int32(2)})
	gatewaytest.WantError(t, err, "InvalidParameterValue",
		"Value (2) for parameter MaxResults is invalid. Member must have value greater than or equal to 5")

	// DryRun: the call would have succeeded.
	_, err = c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("web"), Description: aws.String("d"), DryRun: aws.Bool(true)})
	gatewaytest.WantError(t, err, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
	wantStatus(t, err, http.StatusPreconditionFailed)

	// A modelled operation berth does not serve.
	_, err = c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	gatewaytest.WantError(t, err, "UnsupportedOperation", "berth does not support DescribeInstances yet")

	// Credentials EC2 cannot validate.
	url := *gatewaytest.Start(t, fakeEC2()).BaseEndpoint
	for _, creds := range []aws.Credentials{
		{AccessKeyID: "AKIDNOBODY", SecretAccessKey: gatewaytest.SecretAccessKey},
		{AccessKeyID: gatewaytest.AccessKeyID, SecretAccessKey: "wrong"},
	} {
		_, err = ec2.NewFromConfig(gatewaytest.Config(url, gatewaytest.Region, creds)).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
		gatewaytest.WantError(t, err, "AuthFailure", "AWS was not able to validate the provided access credentials")
		wantStatus(t, err, http.StatusUnauthorized)
	}
}

// developer is an IAM user whose every EC2 call but DescribeVpcs IAM
// refuses.
type developer struct{}

func (developer) Secret(id string) (string, string, bool) {
	return gatewaytest.SecretAccessKey, gatewaytest.AccountID, id == gatewaytest.AccessKeyID
}

func (developer) Caller(id string) (awsapi.Caller, bool) {
	return awsapi.Caller{ARN: "arn:aws:iam::" + gatewaytest.AccountID + ":user/dev", UserID: "AIDADEV"}, id == gatewaytest.AccessKeyID
}

func (developer) Authorize(_ context.Context, caller awsapi.Caller, accesses []awsapi.Access) error {
	for _, a := range accesses {
		if a.Action != "ec2:DescribeVpcs" {
			return &awsapi.AccessDenied{Message: "User: " + caller.ARN + " is not authorized to perform: " + a.Action +
				" on resource: " + a.Resource + " because no identity-based policy allows the " + a.Action + " action"}
		}
	}
	return nil
}

func TestEC2ClientUnauthorized(t *testing.T) {
	url := gatewaytest.Serve(t, gateway.Config{Region: gatewaytest.Region, AccountID: gatewaytest.AccountID,
		Credentials: developer{}, Authorizer: developer{}, Services: []*awsapi.Service{fakeEC2()}})
	c := ec2.NewFromConfig(gatewaytest.Config(url, gatewaytest.Region,
		aws.Credentials{AccessKeyID: gatewaytest.AccessKeyID, SecretAccessKey: gatewaytest.SecretAccessKey}))
	ctx := t.Context()

	if _, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{DryRun: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	_, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{DryRun: aws.Bool(true)})
	gatewaytest.WantError(t, err, "DryRunOperation", "")

	// Refused, DryRun or not.
	for _, dry := range []bool{false, true} {
		_, err = c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("web"), Description: aws.String("d"), DryRun: aws.Bool(dry)})
		gatewaytest.WantError(t, err, "UnauthorizedOperation", "You are not authorized to perform this operation. "+
			"User: arn:aws:iam::123456789012:user/dev is not authorized to perform: ec2:CreateSecurityGroup on resource: * "+
			"because no identity-based policy allows the ec2:CreateSecurityGroup action")
		wantStatus(t, err, http.StatusForbidden)
	}
}
