package provision

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// networkCall is one API call a provisioner made.
type networkCall struct {
	op    string
	input map[string]any
}

// networkAPI records calls and answers each operation with a canned
// output.
type networkAPI struct {
	calls   []networkCall
	answers map[string]any
}

func (a *networkAPI) Invoke(_ context.Context, _, operation string, input map[string]any) (any, error) {
	a.calls = append(a.calls, networkCall{operation, input})
	return a.answers[operation], nil
}

// callsJSON is the calls as "Op {input}" lines.
func (a *networkAPI) callsJSON() string {
	var lines []string
	for _, c := range a.calls {
		b, _ := json.Marshal(c.input)
		lines = append(lines, c.op+" "+string(b))
	}
	return strings.Join(lines, "\n")
}

func TestSubnetAttributesUpdate(t *testing.T) {
	api := &networkAPI{}
	c := NewCall(api, Request{PhysicalID: "subnet-1",
		Previous: map[string]any{"MapPublicIpOnLaunch": true, "PrivateDnsNameOptionsOnLaunch": map[string]any{"HostnameType": "ip-name"}},
		Properties: map[string]any{"EnableDns64": false,
			"PrivateDnsNameOptionsOnLaunch": map[string]any{"HostnameType": "ip-name", "EnableResourceNameDnsARecord": true}}})
	if err := c.setSubnetAttributes(context.Background(), "subnet-1"); err != nil {
		t.Fatal(err)
	}
	// The dropped attribute goes back to false; an attribute given as
	// its default changes nothing; of the DNS options only the changed one
	// is set.
	want := `ModifySubnetAttribute {"MapPublicIpOnLaunch":{"Value":false},"SubnetId":"subnet-1"}
ModifySubnetAttribute {"EnableDns64":{"Value":false},"SubnetId":"subnet-1"}
ModifySubnetAttribute {"EnableResourceNameDnsARecordOnLaunch":{"Value":true},"SubnetId":"subnet-1"}`
	if got := api.callsJSON(); got != want {
		t.Errorf("calls:\n%s\nwant:\n%s", got, want)
	}

	c.Properties["PrivateDnsNameOptionsOnLaunch"] = map[string]any{"Other": true}
	if err := c.setSubnetAttributes(context.Background(), "subnet-1"); err == nil || !strings.Contains(err.Error(), "PrivateDnsNameOptionsOnLaunch.Other") {
		t.Errorf("an unknown option: %v", err)
	}
}

func TestVPCDNSOrder(t *testing.T) {
	api := &networkAPI{}
	c := NewCall(api, Request{PhysicalID: "vpc-1",
		Previous:   map[string]any{"EnableDnsHostnames": true},
		Properties: map[string]any{"EnableDnsSupport": false}})
	if err := c.setVPCDNS(context.Background(), "vpc-1"); err != nil {
		t.Fatal(err)
	}
	// Hostnames go off before the support they need.
	want := `ModifyVpcAttribute {"EnableDnsHostnames":{"Value":false},"VpcId":"vpc-1"}
ModifyVpcAttribute {"EnableDnsSupport":{"Value":false},"VpcId":"vpc-1"}`
	if got := api.callsJSON(); got != want {
		t.Errorf("calls:\n%s\nwant:\n%s", got, want)
	}
}

func TestIngressRuleBySourceGroupName(t *testing.T) {
	api := &networkAPI{answers: map[string]any{"AuthorizeSecurityGroupIngress": map[string]any{
		"securityGroupRuleSet": []any{map[string]any{"securityGroupRuleId": "sgr-1", "groupId": "sg-1"}}}}}
	c := NewCall(api, Request{Properties: map[string]any{"GroupName": "web", "IpProtocol": "6", "FromPort": json.Number("80"),
		"ToPort": json.Number("80"), "SourceSecurityGroupName": "lb", "Description": "from lb"}})
	res, err := c.createGroupRule(context.Background(), ingressRuleKind)
	if err != nil {
		t.Fatal(err)
	}
	want := `AuthorizeSecurityGroupIngress {"GroupName":"web","IpPermissions":[{"FromPort":80,"IpProtocol":"tcp","ToPort":80,"UserIdGroupPairs":[{"Description":"from lb","GroupName":"lb"}]}]}`
	if got := api.callsJSON(); got != want || res.PhysicalID != "sgr-1" || res.Attributes["Id"] != "sgr-1" {
		t.Errorf("calls:\n%s\nresult %+v", got, res)
	}

	// Two peers make two rules: both are revoked and the resource fails.
	api = &networkAPI{answers: map[string]any{"AuthorizeSecurityGroupIngress": map[string]any{"securityGroupRuleSet": []any{
		map[string]any{"securityGroupRuleId": "sgr-1", "groupId": "sg-1"}, map[string]any{"securityGroupRuleId": "sgr-2", "groupId": "sg-1"}}}}}
	c = NewCall(api, Request{Properties: map[string]any{"GroupId": "sg-1", "IpProtocol": "-1", "CidrIp": "10.0.0.0/8", "CidrIpv6": "::/0"}})
	if _, err := c.createGroupRule(context.Background(), ingressRuleKind); err == nil || !strings.Contains(err.Error(), "exactly one") {
		t.Errorf("two peers: %v", err)
	}
	if got := api.calls[len(api.calls)-1]; got.op != "RevokeSecurityGroupIngress" || !jsonEqual(got.input["SecurityGroupRuleIds"], []any{"sgr-1", "sgr-2"}) {
		t.Errorf("the clean-up call: %+v", got)
	}
}

func TestListenerCertificateUpdate(t *testing.T) {
	api := &networkAPI{}
	list := func(arns ...string) map[string]any {
		return map[string]any{"ListenerArn": "listener", "Certificates": elbv2CertificateList(arns)}
	}
	c := NewCall(api, Request{PhysicalID: "id", Previous: list("a", "b"), Properties: list("b", "c")})
	if _, err := updateListenerCertificate(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	want := `AddListenerCertificates {"Certificates":[{"CertificateArn":"b"},{"CertificateArn":"c"}],"ListenerArn":"listener"}
RemoveListenerCertificates {"Certificates":[{"CertificateArn":"a"}],"ListenerArn":"listener"}`
	if got := api.callsJSON(); got != want {
		t.Errorf("calls:\n%s\nwant:\n%s", got, want)
	}
}

func TestRequestCertificateInput(t *testing.T) {
	api := &networkAPI{answers: map[string]any{"RequestCertificate": map[string]any{"CertificateArn": "arn:cert"}}}
	c := NewCall(api, Request{Stack: Stack{Tags: map[string]string{"team": "web"}}, Properties: map[string]any{
		"DomainName": "www.example.com", "ValidationMethod": "DNS", "CertificateTransparencyLoggingPreference": "DISABLED",
		"DomainValidationOptions": []any{
			map[string]any{"DomainName": "www.example.com", "HostedZoneId": "Z1"},
			map[string]any{"DomainName": "www.example.com", "ValidationDomain": "example.com"},
		}}})
	res, err := createACMCertificate(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	want := `RequestCertificate {"DomainName":"www.example.com","DomainValidationOptions":[{"DomainName":"www.example.com","ValidationDomain":"example.com"}],"Options":{"CertificateTransparencyLoggingPreference":"DISABLED"},"Tags":[{"Key":"team","Value":"web"}],"ValidationMethod":"DNS"}`
	if got := api.callsJSON(); got != want || res.PhysicalID != "arn:cert" || !res.Settling {
		t.Errorf("calls:\n%s\nresult %+v", got, res)
	}
	c.Properties["DomainValidationOptions"] = []any{map[string]any{"DomainName": "www.example.com", "Other": "x"}}
	if _, err := createACMCertificate(context.Background(), c); err == nil || !strings.Contains(err.Error(), "DomainValidationOptions.Other") {
		t.Errorf("an unknown option: %v", err)
	}
}
