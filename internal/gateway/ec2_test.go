package gateway

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/model"
	"github.com/berth/berth/internal/ec2/ec2types"
)

const (
	ec2Version = "2016-11-15"
	ec2NS      = "http://ec2.amazonaws.com/doc/2016-11-15/"
)

// newEC2Service is a small EC2 over the real model: a few operations
// return fixed data or echo their input, the rest are unsupported.
func newEC2Service(rec *recorder) *awsapi.Service {
	return &awsapi.Service{
		SigningName: "ec2",
		Protocol:    awsapi.EC2,
		Model:       model.MustLoad("ec2"),
		Operations: map[string]awsapi.Operation{
			"DescribeVpcs": awsapi.Op(func(ctx context.Context, in *ec2types.DescribeVpcsRequest) (*ec2types.DescribeVpcsResult, error) {
				rec.record(ctx)
				out := &ec2types.DescribeVpcsResult{Vpcs: []ec2types.Vpc{}}
				for _, id := range in.VpcIds {
					out.Vpcs = append(out.Vpcs, ec2types.Vpc{VpcId: aws.String(id), IsDefault: aws.Bool(false)})
				}
				return out, nil
			}),
			"CreateSecurityGroup": awsapi.Op(func(ctx context.Context, in *ec2types.CreateSecurityGroupRequest) (*ec2types.CreateSecurityGroupResult, error) {
				rec.record(ctx)
				switch awsapi.Deref(in.GroupName) {
				case "dup":
					return nil, awsapi.Errorf("InvalidGroup.Duplicate", "The security group 'dup' already exists for VPC '%s'", awsapi.Deref(in.VpcId))
				case "boom":
					return nil, errors.New("secret internal detail")
				}
				out := &ec2types.CreateSecurityGroupResult{GroupId: aws.String("sg-" + *in.GroupName)}
				for _, spec := range in.TagSpecifications {
					out.Tags = append(out.Tags, spec.Tags...)
				}
				return out, nil
			}),
			"DescribeSecurityGroups": awsapi.Op(func(ctx context.Context, in *ec2types.DescribeSecurityGroupsRequest) (*ec2types.DescribeSecurityGroupsResult, error) {
				return sampleSecurityGroups(), nil
			}),
			"DescribeNetworkInterfaces": awsapi.Op(func(ctx context.Context, in *ec2types.DescribeNetworkInterfacesRequest) (*ec2types.DescribeNetworkInterfacesResult, error) {
				return &ec2types.DescribeNetworkInterfacesResult{NetworkInterfaces: []ec2types.NetworkInterface{{
					Attachment: &ec2types.NetworkInterfaceAttachment{AttachTime: awsapi.Time(repoCreated), DeviceIndex: aws.Int32(0)},
				}}}, nil
			}),
			"AuthorizeSecurityGroupIngress": awsapi.Op(func(ctx context.Context, in *ec2types.AuthorizeSecurityGroupIngressRequest) (*ec2types.AuthorizeSecurityGroupIngressResult, error) {
				return &ec2types.AuthorizeSecurityGroupIngressResult{Return: aws.Bool(true)}, nil
			}),
			"CreateVpc": awsapi.Op(func(ctx context.Context, in *ec2types.CreateVpcRequest) (*ec2types.CreateVpcResult, error) {
				return &ec2types.CreateVpcResult{Vpc: &ec2types.Vpc{VpcId: aws.String("vpc-new"), CidrBlock: in.CidrBlock, InstanceTenancy: in.InstanceTenancy}}, nil
			}),
			"DeleteVpc": awsapi.Op(func(ctx context.Context, in *ec2types.DeleteVpcRequest) (*struct{}, error) {
				rec.record(ctx)
				return nil, nil
			}),
		},
	}
}

// sampleSecurityGroups is a DescribeSecurityGroups answer with nested
// lists, numbers, and text that needs escaping.
func sampleSecurityGroups() *ec2types.DescribeSecurityGroupsResult {
	return &ec2types.DescribeSecurityGroupsResult{SecurityGroups: []ec2types.SecurityGroup{{
		GroupId:     aws.String("sg-1"),
		GroupName:   aws.String("web"),
		Description: aws.String("web & <api>"),
		OwnerId:     aws.String(testAccount),
		VpcId:       aws.String("vpc-1"),
		IpPermissions: []ec2types.IpPermission{{
			IpProtocol: aws.String("tcp"), FromPort: aws.Int32(80), ToPort: aws.Int32(80),
			IpRanges:         []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}, {CidrIp: aws.String("10.0.0.0/8"), Description: aws.String("lan")}},
			UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String("sg-2"), UserId: aws.String(testAccount)}},
		}},
		IpPermissionsEgress: []ec2types.IpPermission{},
		Tags:                []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String("web")}},
	}}}
}

func withEC2(f *fixture, cfg *Config) {
	cfg.Services = append(cfg.Services, newEC2Service(f.rec))
}

func (f *fixture) ec2(form string) (*http.Response, []byte) {
	f.t.Helper()
	o := f.opts()
	o.service = "ec2"
	return f.do(f.sign(f.queryRequest(form), o))
}

func ec2Service(t *testing.T) *service {
	t.Helper()
	svc, err := newService(newEC2Service(&recorder{}))
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestEC2Decode(t *testing.T) {
	svc := ec2Service(t)
	decode := func(op, form string) any {
		t.Helper()
		params, err := parseQuery(form)
		if err != nil {
			t.Fatal(err)
		}
		in, err := decodeQuery(svc, svc.Model.Operations[op], params)
		if err != nil {
			t.Fatalf("%s: %v", form, err)
		}
		return in
	}

	// Lists are Key.N whatever their member's locationName ("item" for
	// VpcIdStringList's elements, "Filter" for FilterList's); positions
	// sort numerically and gaps close up.
	got := decode("DescribeVpcs", "Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1&Filter.1.Value.2=vpc-2"+
		"&Filter.2.Name=tag%3Aenv&Filter.2.Value.1=prod&VpcId.10=vpc-c&VpcId.2=vpc-b&VpcId.1=vpc-a&MaxResults=5&DryRun=false"+
		"&Filter.1.Values.1=ignored&VpcIds.member.1=ignored&Filters.1.Name=ignored")
	want := &ec2types.DescribeVpcsRequest{
		DryRun: aws.Bool(false),
		Filters: []ec2types.Filter{
			{Name: aws.String("vpc-id"), Values: []string{"vpc-1", "vpc-2"}},
			{Name: aws.String("tag:env"), Values: []string{"prod"}},
		},
		MaxResults: aws.Int32(5),
		VpcIds:     []string{"vpc-a", "vpc-b", "vpc-c"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("DescribeVpcs\n got %s\nwant %s", jsonOf(got), jsonOf(want))
	}

	// Members are named by their locationName with the first letter
	// upper-cased (GroupDescription, TagSpecification, Tag, Key; Groups
	// for UserIdGroupPairs), structures nest as Key.N.Sub.
	got = decode("AuthorizeSecurityGroupIngress", "GroupId=sg-1&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=80&IpPermissions.1.ToPort=443"+
		"&IpPermissions.1.IpRanges.1.CidrIp=10.0.0.0%2F8&IpPermissions.1.IpRanges.1.Description=lan"+
		"&IpPermissions.1.Groups.1.GroupId=sg-2&IpPermissions.2.IpProtocol=-1"+
		"&TagSpecification.1.ResourceType=security-group-rule&TagSpecification.1.Tag.1.Key=env&TagSpecification.1.Tag.1.Value=dev")
	wantIngress := &ec2types.AuthorizeSecurityGroupIngressRequest{
		GroupId: aws.String("sg-1"),
		IpPermissions: []ec2types.IpPermission{
			{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(80), ToPort: aws.Int32(443),
				IpRanges:         []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/8"), Description: aws.String("lan")}},
				UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String("sg-2")}}},
			{IpProtocol: aws.String("-1")},
		},
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: aws.String("security-group-rule"),
			Tags: []ec2types.Tag{{Key: aws.String("env"), Value: aws.String("dev")}}}},
	}
	if !reflect.DeepEqual(got, wantIngress) {
		t.Fatalf("AuthorizeSecurityGroupIngress\n got %s\nwant %s", jsonOf(got), jsonOf(wantIngress))
	}

	// A lower-case locationName ("filter") is upper-cased too.
	got = decode("DescribeNetworkInterfaces", "Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1&DryRun=TRUE")
	wantENI := &ec2types.DescribeNetworkInterfacesRequest{DryRun: aws.Bool(true),
		Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{"vpc-1"}}}}
	if !reflect.DeepEqual(got, wantENI) {
		t.Fatalf("DescribeNetworkInterfaces\n got %s\nwant %s", jsonOf(got), jsonOf(wantENI))
	}

	got = decode("CreateSecurityGroup", "GroupName=web&GroupDescription=web+tier&VpcId=vpc-1")
	wantSG := &ec2types.CreateSecurityGroupRequest{GroupName: aws.String("web"), Description: aws.String("web tier"), VpcId: aws.String("vpc-1")}
	if !reflect.DeepEqual(got, wantSG) {
		t.Fatalf("CreateSecurityGroup\n got %s\nwant %s", jsonOf(got), jsonOf(wantSG))
	}
}

func TestEC2DecodeQueryName(t *testing.T) {
	// EC2's model sets no queryName today; it would win over locationName.
	var api model.API
	if err := json.Unmarshal([]byte(`{
 "metadata": {"apiVersion": "2020-01-01", "protocol": "ec2"},
 "operations": {"Echo": {"name": "Echo", "input": {"shape": "In"}}},
 "shapes": {
  "In": {"type": "structure", "members": {
    "Named": {"shape": "Str", "locationName": "named", "queryName": "QueryKey"},
    "lower": {"shape": "Str"}
  }},
  "Str": {"type": "string"}
 }}`), &api); err != nil {
		t.Fatal(err)
	}
	svc, err := newService(&awsapi.Service{SigningName: "synthetic", Protocol: awsapi.EC2, Model: &api,
		Operations: map[string]awsapi.Operation{"Echo": awsapi.Op(func(_ context.Context, in *map[string]any) (*struct{}, error) {
			return nil, nil
		})}})
	if err != nil {
		t.Fatal(err)
	}
	params, _ := parseQuery("QueryKey=q&Named=no&named=no&Lower=l")
	in, err := decodeQuery(svc, api.Operations["Echo"], params)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := *in.(*map[string]any), (map[string]any{"named": "q", "lower": "l"}); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestEC2Encode(t *testing.T) {
	svc := ec2Service(t)
	body, err := encodeEC2Response(svc, svc.Model.Operations["DescribeSecurityGroups"], sampleSecurityGroups(), "req-1")
	if err != nil {
		t.Fatal(err)
	}
	// No result wrapper, no ResponseMetadata; members by locationName,
	// lists as <name><item>, an empty list kept, text escaped.
	const want = `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<DescribeSecurityGroupsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-1</requestId>` +
		`<securityGroupInfo><item><groupDescription>web &amp; &lt;api&gt;</groupDescription><groupId>sg-1</groupId><groupName>web</groupName>` +
		`<ipPermissions><item><fromPort>80</fromPort><ipProtocol>tcp</ipProtocol>` +
		`<ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item><item><cidrIp>10.0.0.0/8</cidrIp><description>lan</description></item></ipRanges>` +
		`<toPort>80</toPort><groups><item><groupId>sg-2</groupId><userId>123456789012</userId></item></groups></item></ipPermissions>` +
		`<ipPermissionsEgress></ipPermissionsEgress><ownerId>123456789012</ownerId>` +
		`<tagSet><item><key>Name</key><value>web</value></item></tagSet><vpcId>vpc-1</vpcId></item></securityGroupInfo>` +
		`</DescribeSecurityGroupsResponse>`
	if string(body) != want {
		t.Fatalf("XML\n got %s\nwant %s", body, want)
	}

	// Booleans lower-case, timestamps ISO-8601 with milliseconds.
	body, err = encodeEC2Response(svc, svc.Model.Operations["DescribeVpcs"], &ec2types.DescribeVpcsResult{
		Vpcs: []ec2types.Vpc{{VpcId: aws.String("vpc-1"), IsDefault: aws.Bool(true)}}}, "r")
	if err != nil || !strings.Contains(string(body), "<vpcSet><item><isDefault>true</isDefault><vpcId>vpc-1</vpcId></item></vpcSet>") {
		t.Fatalf("%v %s", err, body)
	}
	body, err = encodeEC2Response(svc, svc.Model.Operations["DescribeNetworkInterfaces"], &ec2types.DescribeNetworkInterfacesResult{
		NetworkInterfaces: []ec2types.NetworkInterface{{Attachment: &ec2types.NetworkInterfaceAttachment{
			AttachTime: awsapi.Time(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))}}}}, "r")
	if err != nil || !strings.Contains(string(body), "<attachTime>2024-01-02T03:04:05.000Z</attachTime>") {
		t.Fatalf("%v %s", err, body)
	}

	// An operation without output answers the request id alone.
	body, err = encodeEC2Response(svc, svc.Model.Operations["DeleteVpc"], nil, "r")
	if err != nil || !strings.HasSuffix(string(body), `<DeleteVpcResponse xmlns="`+ec2NS+`"><requestId>r</requestId></DeleteVpcResponse>`) {
		t.Fatalf("%v %s", err, body)
	}
}

// ec2ErrorResponse is EC2's error document.
type ec2ErrorResponse struct {
	XMLName xml.Name `xml:"Response"`
	Errors  []struct {
		Code    string
		Message string
	} `xml:"Errors>Error"`
	RequestID string
}

// wantEC2Error checks an ec2Query error answer.
func wantEC2Error(t *testing.T, resp *http.Response, body []byte, status int, code, message string) {
	t.Helper()
	var e ec2ErrorResponse
	if err := xml.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	if len(e.Errors) != 1 || resp.StatusCode != status || e.Errors[0].Code != code {
		t.Fatalf("got %d %s, want %d %s", resp.StatusCode, body, status, code)
	}
	if message != "" && e.Errors[0].Message != message {
		t.Fatalf("message\n got %q\nwant %q", e.Errors[0].Message, message)
	}
	if e.XMLName.Space != "" || !strings.HasPrefix(string(body), `<?xml version="1.0" encoding="UTF-8"?>`) {
		t.Fatalf("document %s", body)
	}
	if e.RequestID == "" || e.RequestID != resp.Header.Get("x-amzn-RequestId") {
		t.Fatalf("RequestID %q, header %q", e.RequestID, resp.Header.Get("x-amzn-RequestId"))
	}
	if ct := resp.Header.Get("Content-Type"); ct != ec2ContentType {
		t.Fatalf("Content-Type %q", ct)
	}
}

func TestEC2RoundTrip(t *testing.T) {
	f := newFixture(t, withEC2)
	resp, body := f.ec2("Action=DescribeVpcs&Version=2016-11-15&VpcId.1=vpc-a&VpcId.2=vpc-b")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != ec2ContentType {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var out struct {
		XMLName   xml.Name
		RequestID string `xml:"requestId"`
		Vpcs      []struct {
			VpcID     string `xml:"vpcId"`
			IsDefault string `xml:"isDefault"`
		} `xml:"vpcSet>item"`
	}
	if err := xml.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	if out.XMLName.Local != "DescribeVpcsResponse" || out.XMLName.Space != ec2NS || out.RequestID != resp.Header.Get("x-amzn-RequestId") {
		t.Fatalf("%s", body)
	}
	if len(out.Vpcs) != 2 || out.Vpcs[1].VpcID != "vpc-b" || out.Vpcs[0].IsDefault != "false" {
		t.Fatalf("%s", body)
	}
	if info := f.rec.last(); info.Service != "ec2" || info.Operation != "DescribeVpcs" || info.Region != "eu-west-1" {
		t.Fatalf("request info %+v", info)
	}

	// GET with the query string, as EC2's documentation shows it.
	o := f.opts()
	o.service = "ec2"
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/?Action=DescribeVpcs&Version=2016-11-15&VpcId.1=vpc-get", nil)
	resp, body = f.do(f.sign(req, o))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "<vpcId>vpc-get</vpcId>") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

func TestEC2Errors(t *testing.T) {
	f := newFixture(t, withEC2)
	base := "Version=2016-11-15&"
	cases := []struct {
		name, form string
		want
	}{
		{"handler error", base + "Action=CreateSecurityGroup&GroupName=dup&GroupDescription=d&VpcId=vpc-1",
			want{400, "InvalidGroup.Duplicate", "The security group 'dup' already exists for VPC 'vpc-1'"}},
		{"internal", base + "Action=CreateSecurityGroup&GroupName=boom&GroupDescription=d",
			want{500, "InternalFailure", "The request processing has failed because of an unknown error, exception or failure."}},
		{"unknown action", base + "Action=DescribeNothing", want{400, "InvalidAction", "The action DescribeNothing is not valid for this web service."}},
		{"missing action", base, want{400, "MissingAction", "Missing Action"}},
		{"unsupported", base + "Action=RunInstances&MinCount=1&MaxCount=1",
			want{400, "UnsupportedOperation", "berth does not support RunInstances yet"}},
		{"missing parameter", base + "Action=CreateSecurityGroup&GroupName=web",
			want{400, "MissingParameter", "The request must contain the parameter GroupDescription"}},
		{"out of range", base + "Action=DescribeVpcs&MaxResults=2",
			want{400, "InvalidParameterValue", "Value (2) for parameter MaxResults is invalid. Member must have value greater than or equal to 5"}},
		{"enum", base + "Action=CreateVpc&CidrBlock=10.0.0.0%2F16&InstanceTenancy=shared",
			want{400, "InvalidParameterValue", "Value (shared) for parameter InstanceTenancy is invalid. Member must satisfy enum value set: [default, dedicated, host]"}},
		{"not an integer", base + "Action=DescribeVpcs&MaxResults=many",
			want{400, "InvalidParameterValue", "Value (many) for parameter MaxResults is invalid. Expected an integer."}},
		{"not an integer in a list", base + "Action=AuthorizeSecurityGroupIngress&IpPermissions.2.FromPort=x",
			want{400, "InvalidParameterValue", "Value (x) for parameter IpPermissions.2.FromPort is invalid. Expected an integer."}},
		{"malformed form", base + "Action=DescribeVpcs&VpcId.1=%zz", want{400, "MalformedQueryString", ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := f.ec2(c.form)
			if c.code == "MalformedQueryString" {
				// A body that does not parse names no service: awsQuery's
				// document.
				wantQueryError(t, resp, body, c.status, c.code, c.message)
				return
			}
			wantEC2Error(t, resp, body, c.status, c.code, c.message)
			if strings.Contains(string(body), "secret internal detail") {
				t.Fatal("internal error leaked")
			}
		})
	}
}

func TestEC2Auth(t *testing.T) {
	f := newFixture(t, withEC2)
	form := "Action=DescribeVpcs&Version=2016-11-15"
	o := f.opts()
	o.service = "ec2"
	const authFailure = "AWS was not able to validate the provided access credentials"

	unknown := o
	unknown.key = "AKIDNOBODY"
	resp, body := f.do(f.sign(f.queryRequest(form), unknown))
	wantEC2Error(t, resp, body, http.StatusUnauthorized, "AuthFailure", authFailure)

	wrong := o
	wrong.secret = "wrong"
	resp, body = f.do(f.sign(f.queryRequest(form), wrong))
	wantEC2Error(t, resp, body, http.StatusUnauthorized, "AuthFailure", authFailure)

	stale := o
	stale.at = f.now.Add(-time.Hour)
	resp, body = f.do(f.sign(f.queryRequest(form), stale))
	wantEC2Error(t, resp, body, http.StatusBadRequest, "RequestExpired", "")

	// Unsigned, the request names its API only by Version.
	resp, body = f.do(f.queryRequest(form))
	wantEC2Error(t, resp, body, http.StatusUnauthorized, "MissingAuthenticationToken", "")

	req := f.queryRequest(form)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x")
	req.Header.Set("X-Amz-Date", f.now.Format(amzDateLayout))
	resp, body = f.do(req)
	wantEC2Error(t, resp, body, http.StatusBadRequest, "IncompleteSignature", "")
}

func TestEC2AuthorizationAndDryRun(t *testing.T) {
	authz := &denyList{denied: map[string]bool{"ec2:CreateSecurityGroup": true}}
	f := newFixture(t, withEC2, func(f *fixture, c *Config) {
		c.Credentials = userKeys{f.keys}
		c.Authorizer = authz
	})
	before := f.rec.last()

	// Allowed and DryRun: 412 DryRunOperation, and the handler never runs.
	resp, body := f.ec2("Action=DeleteVpc&Version=2016-11-15&VpcId=vpc-1&DryRun=true")
	wantEC2Error(t, resp, body, http.StatusPreconditionFailed, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
	if got := authz.asked[len(authz.asked)-1]; got.Action != "ec2:DeleteVpc" {
		t.Fatalf("asked %+v", got)
	}
	// Denied, DryRun or not: UnauthorizedOperation in EC2's words.
	for _, dry := range []string{"true", "false"} {
		resp, body = f.ec2("Action=CreateSecurityGroup&Version=2016-11-15&GroupName=web&GroupDescription=d&DryRun=" + dry)
		wantEC2Error(t, resp, body, http.StatusForbidden, "UnauthorizedOperation",
			"You are not authorized to perform this operation. User: arn:aws:iam::123456789012:user/dev is not authorized to perform: ec2:CreateSecurityGroup")
	}
	// An invalid request is refused as such before DryRun is considered.
	resp, body = f.ec2("Action=DeleteVpc&Version=2016-11-15&DryRun=true")
	wantEC2Error(t, resp, body, http.StatusBadRequest, "MissingParameter", "The request must contain the parameter VpcId")
	if f.rec.last().RequestID != before.RequestID {
		t.Fatal("a handler ran")
	}

	// DryRun false calls the handler.
	resp, body = f.ec2("Action=DeleteVpc&Version=2016-11-15&VpcId=vpc-1&DryRun=false")
	if resp.StatusCode != http.StatusOK || f.rec.last().Operation != "DeleteVpc" {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

func TestEC2Health(t *testing.T) {
	f := newFixture(t, withEC2)
	req, err := http.NewRequest(http.MethodGet, f.srv.URL+"/_berth/health", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := f.do(req)
	var report healthReport
	if err := json.Unmarshal(body, &report); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if want := []string{"ec2", "ecr", "elbv2"}; !reflect.DeepEqual(report.Services, want) {
		t.Fatalf("services %v, want %v", report.Services, want)
	}
}

func TestEC2ServiceChecks(t *testing.T) {
	// Two ec2Query services of one version cannot share a signing name.
	_, err := New(Config{Credentials: keys{}, Services: []*awsapi.Service{newEC2Service(&recorder{}), newEC2Service(&recorder{})}})
	if err == nil || !strings.Contains(err.Error(), "two query services ec2 version 2016-11-15") {
		t.Fatalf("got %v", err)
	}
	// The form's Version must name the API EC2 serves when it is sent.
	f := newFixture(t, withEC2)
	resp, body := f.ec2(url.Values{"Action": {"DescribeVpcs"}, "Version": {"2014-10-01"}}.Encode())
	wantEC2Error(t, resp, body, http.StatusBadRequest, "InvalidAction", "")
}
