package gateway

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/model"
)

// echoService wraps a model with every operation implemented by a handler
// that returns its generic input, so fuzzing reaches every shape.
func echoService(t testing.TB, api *model.API, protocol awsapi.Protocol, signingName string) (*service, []string) {
	s := &awsapi.Service{SigningName: signingName, TargetPrefix: signingName, Protocol: protocol, Model: api,
		Operations: map[string]awsapi.Operation{}}
	var names []string
	for name := range api.Operations {
		s.Operations[name] = awsapi.Op(func(_ context.Context, in *map[string]any) (*map[string]any, error) { return in, nil })
		names = append(names, name)
	}
	sort.Strings(names)
	svc, err := newService(s)
	if err != nil {
		t.Fatal(err)
	}
	return svc, names
}

// FuzzAuthenticate feeds arbitrary Authorization headers, dates, presigned
// query strings and bodies through SigV4 verification.
func FuzzAuthenticate(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260301/us-east-1/ecr/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123",
		"20260301T120000Z", "", []byte(`{}`))
	f.Add("", "", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20260301%2Fus-east-1%2Fsts%2Faws4_request"+
		"&X-Amz-Date=20260301T120000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=abcd", []byte(nil))
	f.Add("AWS4-HMAC-SHA256 FooBar", "Sun, 01 Mar 2026 12:00:00 GMT", "a=%zz", []byte("Action=X"))
	g, err := New(Config{Credentials: keys{secrets: map[string]string{testKey: testSecret}}, Now: func() time.Time { return testNow }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header, date, rawQuery string, body []byte) {
		query, err := parseQuery(rawQuery)
		if err != nil {
			return
		}
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		r.URL.RawQuery = rawQuery
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		if date != "" {
			r.Header.Set("X-Amz-Date", date)
		}
		id, aerr := g.authenticate(r, body, query, "ecr")
		if id == nil {
			t.Fatal("nil identity")
		}
		if aerr != nil {
			for _, p := range []awsapi.Protocol{awsapi.JSON11, awsapi.Query, awsapi.EC2} {
				if e := aerr.apiError(p); e.Code == "" || e.Message == "" {
					t.Fatalf("empty error for %v", aerr)
				}
			}
		}
	})
}

// FuzzJSONInput decodes and validates arbitrary bodies against every ECR
// and ELBv2 operation's input shape.
func FuzzJSONInput(f *testing.F) {
	f.Add(uint16(0), []byte(`{"repositoryName":"team/app","tags":[{"Key":"a","Value":"b"}]}`))
	f.Add(uint16(7), []byte(`{"imageIds":[{"imageTag":""},null],"maxResults":1e3,"x":{"y":[1,2]}}`))
	f.Add(uint16(3), []byte(`[1,"a",{"b":null}]`))
	var services []*service
	var ops [][]string
	for _, name := range []string{"ecr", "elbv2"} {
		svc, names := echoService(f, model.MustLoad(name), awsapi.JSON11, name)
		services = append(services, svc)
		ops = append(ops, names)
	}
	f.Fuzz(func(t *testing.T, pick uint16, body []byte) {
		svc, names := services[int(pick)%2], ops[int(pick)%2]
		op := svc.Model.Operations[names[int(pick/2)%len(names)]]
		in, err := decodeJSON(svc, op, body)
		if err == nil && in == nil {
			t.Fatal("no input and no error")
		}
	})
}

// FuzzQueryInput decodes arbitrary awsQuery and ec2Query forms against the
// ELBv2, synthetic and EC2 models and encodes the decoded input back as XML.
func FuzzQueryInput(f *testing.F) {
	f.Add("Action=CreateLoadBalancer&Name=lb&Subnets.member.1=a&Tags.member.1.Key=k&SecurityGroups=")
	f.Add("Action=CreateListener&Port=80&DefaultActions.member.1.AuthenticateOidcConfig.AuthenticationRequestExtraParams.entry.1.key=k")
	f.Add("Action=Echo&Flat.1=a&FlatMap.1.key=k&FlatMap.1.value=v&When=2026-02-03T04:05:06Z&Big=1&On=true&Nested.member.1.1=x")
	f.Add("Action=AuthorizeSecurityGroupIngress&IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0%2F0&IpPermissions.1.FromPort=80&DryRun=true")
	f.Add("Action=DescribeVpcs&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1&VpcId.1=vpc-1&MaxResults=5")
	elb, _ := echoService(f, model.MustLoad("elbv2"), awsapi.Query, "elasticloadbalancing")
	ec2, _ := echoService(f, model.MustLoad("ec2"), awsapi.EC2, "ec2")
	var got map[string]any
	synth, err := newService(syntheticService(f, &got))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, form string) {
		params, err := parseQuery(form)
		if err != nil {
			return
		}
		for _, svc := range []*service{elb, synth, ec2} {
			op := svc.Model.Operations[paramValue(params, "Action")]
			if op == nil {
				continue
			}
			in, err := decodeQuery(svc, op, params)
			if err != nil {
				continue
			}
			encode := encodeQueryResponse
			if svc.Protocol == awsapi.EC2 {
				encode = encodeEC2Response
			}
			if _, err := encode(svc, op, in, "id"); err != nil {
				t.Fatalf("encode: %v", err)
			}
		}
	})
}
