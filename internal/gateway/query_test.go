package gateway

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/model"
)

const elbNS = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"

func (f *fixture) elb(form string) (*http.Response, []byte) {
	f.t.Helper()
	o := f.opts()
	o.service = "elasticloadbalancing"
	return f.do(f.sign(f.queryRequest(form), o))
}

// The XML a real client would parse, as Go structs.
type xmlLoadBalancer struct {
	LoadBalancerArn   string
	DNSName           string
	CreatedTime       string
	LoadBalancerName  string
	Scheme            string
	State             struct{ Code string }
	Type              string
	AvailabilityZones []struct {
		ZoneName string
		SubnetId string
	} `xml:"AvailabilityZones>member"`
	SecurityGroups *struct {
		Members []string `xml:"member"`
	}
	NotInModel *string
}

type createLoadBalancerResponse struct {
	XMLName       xml.Name
	LoadBalancers []xmlLoadBalancer `xml:"CreateLoadBalancerResult>LoadBalancers>member"`
	RequestID     string            `xml:"ResponseMetadata>RequestId"`
}

func TestQueryRoundTrip(t *testing.T) {
	f := newFixture(t)
	form := url.Values{
		"Action":                            {"CreateLoadBalancer"},
		"Version":                           {elbVersion},
		"Name":                              {"web & <api>"},
		"Subnets.member.2":                  {"subnet-b"},
		"Subnets.member.1":                  {"subnet-a"},
		"SubnetMappings.member.1.SubnetId":  {"subnet-m"},
		"SecurityGroups.member.1":           {"sg-1"},
		"SecurityGroups.member.10":          {"sg-10"},
		"SecurityGroups.member.2":           {"sg-2"},
		"Scheme":                            {"internal"},
		"Type":                              {"application"},
		"Tags.member.1.Key":                 {"env"},
		"Tags.member.1.Value":               {"prod"},
		"Ignored.Member":                    {"x"},
		"X-Unrelated":                       {"y"},
		"SubnetMappings.member.1.Unmodeled": {"z"},
	}
	resp, body := f.elb(form.Encode())
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/xml" {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var out createLoadBalancerResponse
	if err := xml.Unmarshal(body, &out); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if out.XMLName.Local != "CreateLoadBalancerResponse" || out.XMLName.Space != elbNS {
		t.Fatalf("root %v", out.XMLName)
	}
	if out.RequestID != resp.Header.Get("x-amzn-RequestId") || len(out.LoadBalancers) != 1 {
		t.Fatalf("%s", body)
	}
	lb := out.LoadBalancers[0]
	if lb.LoadBalancerName != "web & <api>" || lb.CreatedTime != "2026-02-03T04:05:06.789Z" ||
		lb.State.Code != "provisioning" || lb.Scheme != "internal" || lb.Type != "application" {
		t.Fatalf("load balancer %+v", lb)
	}
	if lb.SecurityGroups == nil || strings.Join(lb.SecurityGroups.Members, ",") != "sg-1,sg-2,sg-10" {
		t.Fatalf("security groups %+v", lb.SecurityGroups)
	}
	var subnets []string
	for _, az := range lb.AvailabilityZones {
		subnets = append(subnets, az.SubnetId)
	}
	if strings.Join(subnets, ",") != "subnet-m,subnet-a,subnet-b" {
		t.Fatalf("subnets %v", subnets)
	}
	if lb.NotInModel != nil {
		t.Fatal("a member outside the model reached the XML")
	}
	info := f.rec.last()
	if info.Service != "elasticloadbalancing" || info.Operation != "CreateLoadBalancer" || info.Region != "eu-west-1" {
		t.Fatalf("request info %+v", info)
	}

	// "Name=" is the empty list, which the handler sees as such.
	resp, body = f.elb("Action=CreateLoadBalancer&Version=2015-12-01&Name=lb&SecurityGroups=")
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if !strings.Contains(string(body), "<SecurityGroups></SecurityGroups>") {
		t.Fatalf("empty list lost: %s", body)
	}
}

func TestQueryMapsAndNumbers(t *testing.T) {
	f := newFixture(t)
	form := "Action=CreateListener&Version=2015-12-01&LoadBalancerArn=arn%3Alb&Protocol=HTTP&Port=8080" +
		"&DefaultActions.member.1.Type=authenticate-oidc&DefaultActions.member.1.Order=1" +
		"&DefaultActions.member.1.AuthenticateOidcConfig.Issuer=https%3A%2F%2Fidp&DefaultActions.member.1.AuthenticateOidcConfig.ClientId=c" +
		"&DefaultActions.member.1.AuthenticateOidcConfig.AuthorizationEndpoint=https%3A%2F%2Fidp%2Fa" +
		"&DefaultActions.member.1.AuthenticateOidcConfig.TokenEndpoint=https%3A%2F%2Fidp%2Ft" +
		"&DefaultActions.member.1.AuthenticateOidcConfig.UserInfoEndpoint=https%3A%2F%2Fidp%2Fu" +
		"&DefaultActions.member.1.AuthenticateOidcConfig.AuthenticationRequestExtraParams.entry.1.key=display" +
		"&DefaultActions.member.1.AuthenticateOidcConfig.AuthenticationRequestExtraParams.entry.1.value=page" +
		"&DefaultActions.member.1.AuthenticateOidcConfig.AuthenticationRequestExtraParams.entry.2.key=prompt" +
		"&DefaultActions.member.1.AuthenticateOidcConfig.AuthenticationRequestExtraParams.entry.2.value=login" +
		"&DefaultActions.member.2.Type=forward&DefaultActions.member.2.TargetGroupArn=arn%3Atg&DefaultActions.member.2.Order=2"
	resp, body := f.elb(form)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var out struct {
		Listeners []struct {
			Port           int
			Protocol       string
			DefaultActions []struct {
				Type                   string
				Order                  int
				TargetGroupArn         string
				AuthenticateOidcConfig struct {
					Issuer  string
					Entries []struct {
						Key   string `xml:"key"`
						Value string `xml:"value"`
					} `xml:"AuthenticationRequestExtraParams>entry"`
				}
			} `xml:"DefaultActions>member"`
		} `xml:"CreateListenerResult>Listeners>member"`
	}
	if err := xml.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	l := out.Listeners[0]
	if l.Port != 8080 || l.Protocol != "HTTP" || len(l.DefaultActions) != 2 || l.DefaultActions[1].TargetGroupArn != "arn:tg" {
		t.Fatalf("%s", body)
	}
	oidc := l.DefaultActions[0].AuthenticateOidcConfig
	if oidc.Issuer != "https://idp" || len(oidc.Entries) != 2 || oidc.Entries[0].Key != "display" || oidc.Entries[1].Value != "login" {
		t.Fatalf("oidc %+v in %s", oidc, body)
	}
}

func TestQueryErrors(t *testing.T) {
	f := newFixture(t)
	base := "Version=2015-12-01&"
	cases := []struct {
		name, form string
		want
	}{
		{"modelled code", base + "Action=CreateLoadBalancer&Name=dup",
			want{400, "DuplicateLoadBalancerName", "A load balancer with the same name 'dup' exists, but with different settings"}},
		{"trait status", base + "Action=CreateLoadBalancer&Name=busy", want{429, "PriorRequestNotComplete", "try later <soon> & again"}},
		{"server fault", base + "Action=CreateLoadBalancer&Name=unhealthy", want{500, "HealthUnavailable", "health is unavailable"}},
		{"internal", base + "Action=CreateLoadBalancer&Name=boom",
			want{500, "InternalFailure", "The request processing has failed because of an unknown error, exception or failure."}},
		{"unknown action", base + "Action=Nope", want{400, "InvalidAction", "Could not find operation Nope for version 2015-12-01"}},
		{"wrong version", "Version=2012-06-01&Action=CreateLoadBalancer",
			want{400, "InvalidAction", "Could not find operation CreateLoadBalancer for version 2012-06-01"}},
		{"missing action", base, want{400, "MissingAction", "Missing Action"}},
		{"unsupported", base + "Action=DeleteListener&ListenerArn=a",
			want{400, "UnsupportedOperation", "berth does not support DeleteListener yet"}},
		{"required", base + "Action=CreateLoadBalancer",
			want{400, "ValidationError", "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"}},
		{"nested required and enum", base + "Action=CreateLoadBalancer&Name=a&Tags.member.1.Value=v&Scheme=public",
			want{400, "ValidationError", "2 validation errors detected: Value 'public' at 'scheme' failed to satisfy constraint: " +
				"Member must satisfy enum value set: [internet-facing, internal]; " +
				"Value null at 'tags.1.member.key' failed to satisfy constraint: Member must not be null"}},
		{"not an integer", base + "Action=CreateListener&LoadBalancerArn=a&Port=http",
			want{400, "InvalidParameterValue", "Value 'http' at 'port' can not be converted to an integer"}},
		{"not an integer in a list", base + "Action=CreateListener&LoadBalancerArn=a&DefaultActions.member.1.Type=forward&DefaultActions.member.1.Order=first",
			want{400, "InvalidParameterValue", "Value 'first' at 'defaultActions.1.member.order' can not be converted to an integer"}},
		{"malformed form", base + "Action=CreateLoadBalancer&Name=%zz", want{400, "MalformedQueryString", ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := f.elb(c.form)
			e := wantQueryError(t, resp, body, c.status, c.code, c.message)
			// A body that does not parse names no service to take the
			// namespace from.
			if e.XMLName.Space != elbNS && c.code != "MalformedQueryString" {
				t.Fatalf("namespace %q", e.XMLName.Space)
			}
			if strings.Contains(string(body), "secret internal detail") {
				t.Fatal("internal error leaked")
			}
		})
	}
}

func TestQueryGetAndEmptyOutput(t *testing.T) {
	f := newFixture(t)
	o := f.opts()
	o.service = "elasticloadbalancing"
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/?Action=DescribeLoadBalancers&Version=2015-12-01&Names.member.1=a%20b", nil)
	resp, body := f.do(f.sign(req, o))
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<LoadBalancerName>a b</LoadBalancerName>") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	resp, body = f.elb("Action=DeleteLoadBalancer&Version=2015-12-01&LoadBalancerArn=arn")
	want := `<DeleteLoadBalancerResponse xmlns="` + elbNS + `"><DeleteLoadBalancerResult></DeleteLoadBalancerResult><ResponseMetadata><RequestId>` +
		resp.Header.Get("x-amzn-RequestId") + `</RequestId></ResponseMetadata></DeleteLoadBalancerResponse>`
	if resp.StatusCode != 200 || !strings.HasSuffix(string(body), want) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

// syntheticModel exercises the awsQuery traits ELBv2 does not use:
// locationName, flattened lists and maps, timestamps, blobs and numbers.
const syntheticModel = `{
 "metadata": {"apiVersion": "2020-01-01", "protocol": "query", "xmlNamespace": "urn:synthetic"},
 "operations": {"Echo": {"name": "Echo", "input": {"shape": "EchoInput"}, "output": {"shape": "EchoInput", "resultWrapper": "EchoResult"}}},
 "shapes": {
  "EchoInput": {"type": "structure", "members": {
    "Renamed": {"shape": "Str", "locationName": "wireName"},
    "Flat": {"shape": "FlatList"},
    "FlatNamed": {"shape": "FlatNamedList"},
    "FlatMap": {"shape": "StrMap", "flattened": true},
    "Map": {"shape": "NamedMap"},
    "When": {"shape": "Time"},
    "Epoch": {"shape": "EpochTime"},
    "Data": {"shape": "Blob"},
    "Ratio": {"shape": "Double"},
    "Big": {"shape": "Long"},
    "On": {"shape": "Bool"},
    "Nested": {"shape": "NestedList"}
  }},
  "Str": {"type": "string"},
  "Time": {"type": "timestamp"},
  "EpochTime": {"type": "timestamp", "timestampFormat": "unixTimestamp"},
  "Blob": {"type": "blob"},
  "Double": {"type": "double"},
  "Long": {"type": "long"},
  "Bool": {"type": "boolean"},
  "FlatList": {"type": "list", "member": {"shape": "Str"}, "flattened": true},
  "FlatNamedList": {"type": "list", "member": {"shape": "Str", "locationName": "Item"}, "flattened": true},
  "StrMap": {"type": "map", "key": {"shape": "Str"}, "value": {"shape": "Str"}},
  "NamedMap": {"type": "map", "key": {"shape": "Str", "locationName": "Name"}, "value": {"shape": "Str", "locationName": "Val"}},
  "NestedList": {"type": "list", "member": {"shape": "FlatList"}}
 }
}`

func syntheticService(t testing.TB, got *map[string]any) *awsapi.Service {
	var api model.API
	if err := json.Unmarshal([]byte(syntheticModel), &api); err != nil {
		t.Fatal(err)
	}
	return &awsapi.Service{
		SigningName: "synthetic",
		Protocol:    awsapi.Query,
		Model:       &api,
		Operations: map[string]awsapi.Operation{
			"Echo": awsapi.Op(func(_ context.Context, in *map[string]any) (*map[string]any, error) {
				*got = *in
				return in, nil
			}),
		},
	}
}

func TestQuerySyntheticTraits(t *testing.T) {
	var got map[string]any
	f := newFixture(t, func(f *fixture, cfg *Config) {
		cfg.Services = append(cfg.Services, syntheticService(t, &got))
	})
	o := f.opts()
	o.service = "synthetic"
	form := "Action=Echo&Version=2020-01-01&wireName=renamed&Flat.1=a&Flat.2=b&Item.1=x" +
		"&FlatMap.1.key=k1&FlatMap.1.value=v1&Map.entry.1.Name=n&Map.entry.1.Val=v" +
		"&When=2026-02-03T04%3A05%3A06.789Z&Epoch=1770091506&Data=aGk%3D&Ratio=0.25&Big=9007199254740993&On=TRUE" +
		"&Nested.member.1.1=deep"
	resp, body := f.do(f.sign(f.queryRequest(form), o))
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	wantTree := map[string]any{
		"wireName": "renamed", "Flat": []any{"a", "b"}, "FlatNamed": []any{"x"},
		"FlatMap": map[string]any{"k1": "v1"}, "Map": map[string]any{"n": "v"},
		"When": 1770091506.789, "Epoch": float64(1770091506), "Data": "aGk=", "Ratio": 0.25,
		"Big": float64(9007199254740993), "On": true, "Nested": []any{[]any{"deep"}},
	}
	if !reflect.DeepEqual(got, wantTree) {
		t.Fatalf("decoded\n got %#v\nwant %#v", got, wantTree)
	}
	const wantXML = `<EchoResponse xmlns="urn:synthetic"><EchoResult><Big>9007199254740992</Big><Data>aGk=</Data>` +
		`<Epoch>1770091506</Epoch><Flat>a</Flat><Flat>b</Flat><FlatMap><key>k1</key><value>v1</value></FlatMap>` +
		`<Item>x</Item><Map><entry><Name>n</Name><Val>v</Val></entry></Map>` +
		`<Nested><member><member>deep</member></member></Nested><On>true</On><Ratio>0.25</Ratio>` +
		`<wireName>renamed</wireName><When>2026-02-03T04:05:06.789Z</When></EchoResult>`
	if !strings.Contains(string(body), wantXML) {
		t.Fatalf("XML\n got %s\nwant %s", body, wantXML)
	}
}

// TestQueryHostileKeys sends keys no model describes, very deep and very
// many: the decoder only looks up what the shape asks for.
func TestQueryHostileKeys(t *testing.T) {
	svc, err := newService(newELBv2Service(&recorder{}))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("Name=lb&" + strings.Repeat("Deep.", 200000) + "=deep")
	for i := range 100000 {
		b.WriteString("&Subnets.member." + strconv.Itoa(i+1) + "=s")
	}
	params, err := parseQuery(b.String())
	if err != nil {
		t.Fatal(err)
	}
	in, err := decodeQuery(svc, svc.Model.Operations["CreateLoadBalancer"], params)
	if err != nil {
		t.Fatal(err)
	}
	if got := in.(*createLoadBalancerInput); len(got.Subnets) != 100000 || got.Subnets[99999] != "s" {
		t.Fatalf("%d subnets", len(got.Subnets))
	}
}
