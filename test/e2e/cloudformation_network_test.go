package e2e

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// networkTemplate is a VPC with two subnets, a security group with a rule
// of each direction of its own, and an HTTPS load balancer in the subnets
// whose certificates are ACM's, with a listener rule. Its parameters are
// what the update changes: the second subnet's range (a replacement), the
// rule's priority and response, the VPC's DNS hostnames, the ingress
// rule's description and the listed certificate (in place).
const networkTemplate = `
Parameters:
  VpcCidr: {Type: String}
  SubnetACidr: {Type: String}
  SubnetBCidr: {Type: String}
  Priority: {Type: Number, Default: 10}
  Body: {Type: String, Default: first}
  Hostnames: {Type: String, Default: 'false'}
  IngressDescription: {Type: String, Default: https}
  ListApi: {Type: String, Default: 'true'}
Conditions:
  ListApi: !Equals [!Ref ListApi, 'true']
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties:
      CidrBlock: !Ref VpcCidr
      EnableDnsSupport: true
      EnableDnsHostnames: !Ref Hostnames
      Tags: [{Key: Name, Value: stack-vpc}]
  SubnetA:
    Type: AWS::EC2::Subnet
    Properties:
      VpcId: !Ref Vpc
      CidrBlock: !Ref SubnetACidr
      AvailabilityZone: !Select [0, !GetAZs '']
      MapPublicIpOnLaunch: true
  SubnetB:
    Type: AWS::EC2::Subnet
    Properties:
      VpcId: !GetAtt Vpc.VpcId
      CidrBlock: !Ref SubnetBCidr
      AvailabilityZone: !Select [1, !GetAZs '']
  Group:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: load balancer
      VpcId: !Ref Vpc
  Ingress:
    Type: AWS::EC2::SecurityGroupIngress
    Properties:
      GroupId: !Ref Group
      IpProtocol: tcp
      FromPort: 443
      ToPort: 443
      CidrIp: 0.0.0.0/0
      Description: !Ref IngressDescription
  Egress:
    Type: AWS::EC2::SecurityGroupEgress
    Properties:
      GroupId: !GetAtt Group.GroupId
      IpProtocol: tcp
      FromPort: 8080
      ToPort: 8080
      CidrIp: !GetAtt Vpc.CidrBlock
  Certificate:
    Type: AWS::CertificateManager::Certificate
    Properties:
      DomainName: www.example.com
      SubjectAlternativeNames: [example.com]
      ValidationMethod: DNS
      DomainValidationOptions:
        - {DomainName: www.example.com, HostedZoneId: Z0123456789}
      Tags: [{Key: site, Value: www}]
  ApiCertificate:
    Type: AWS::CertificateManager::Certificate
    Properties:
      DomainName: api.example.com
  Alb:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties:
      Subnets: [!Ref SubnetA, !Ref SubnetB]
      SecurityGroups: [!Ref Group]
  Https:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: !Ref Alb
      Port: 443
      Protocol: HTTPS
      Certificates: [{CertificateArn: !Ref Certificate}]
      DefaultActions:
        - Type: fixed-response
          FixedResponseConfig: {StatusCode: '404'}
  ApiCert:
    Type: AWS::ElasticLoadBalancingV2::ListenerCertificate
    Properties:
      ListenerArn: !Ref Https
      Certificates: [{CertificateArn: !If [ListApi, !Ref ApiCertificate, !Ref Certificate]}]
  Rule:
    Type: AWS::ElasticLoadBalancingV2::ListenerRule
    Properties:
      ListenerArn: !Ref Https
      Priority: !Ref Priority
      Conditions:
        - Field: path-pattern
          Values: [/health]
      Actions:
        - Type: fixed-response
          FixedResponseConfig:
            StatusCode: '200'
            ContentType: text/plain
            MessageBody: !Ref Body
Outputs:
  VpcId: {Value: !Ref Vpc}
  VpcAttrId: {Value: !GetAtt Vpc.VpcId}
  VpcCidr: {Value: !GetAtt Vpc.CidrBlock}
  VpcAssociations: {Value: !Join [',', !GetAtt Vpc.CidrBlockAssociations]}
  VpcDefaultGroup: {Value: !GetAtt Vpc.DefaultSecurityGroup}
  VpcIpv6: {Value: !Join [',', !GetAtt Vpc.Ipv6CidrBlocks]}
  SubnetA: {Value: !Ref SubnetA}
  SubnetB: {Value: !GetAtt SubnetB.SubnetId}
  SubnetBCidr: {Value: !GetAtt SubnetB.CidrBlock}
  SubnetBZone: {Value: !GetAtt SubnetB.AvailabilityZone}
  SubnetBZoneId: {Value: !GetAtt SubnetB.AvailabilityZoneId}
  SubnetBVpc: {Value: !GetAtt SubnetB.VpcId}
  Group: {Value: !Ref Group}
  Ingress: {Value: !Ref Ingress}
  IngressId: {Value: !GetAtt Ingress.Id}
  Egress: {Value: !Ref Egress}
  EgressId: {Value: !GetAtt Egress.Id}
  Certificate: {Value: !Ref Certificate}
  CertificateArn: {Value: !GetAtt Certificate.CertificateArn}
  ApiCertificate: {Value: !Ref ApiCertificate}
  Listener: {Value: !Ref Https}
  ApiCert: {Value: !Ref ApiCert}
  ApiCertId: {Value: !GetAtt ApiCert.Id}
  Rule: {Value: !Ref Rule}
  RuleArn: {Value: !GetAtt Rule.RuleArn}
  RuleIsDefault: {Value: !GetAtt Rule.IsDefault}
`

// TestCloudFormationNetworkResources: a stack of a VPC, subnets,
// standalone security group rules, ACM certificates and a load balancer's
// listener certificate and rule is made in each service, changes in place
// and by replacement, and leaves nothing when deleted. The load balancer
// needs the agent: the stack waits until it is active, which the data
// plane makes it once it serves.
func TestCloudFormationNetworkResources(t *testing.T) {
	s := StartECSServer(t, ServerOptions{})
	vpcCIDR := FreeVPCRange(t)
	subnet := func(n int) string {
		a := netip.MustParsePrefix(vpcCIDR).Addr().As4()
		a[2] = byte(n)
		return netip.PrefixFrom(netip.AddrFrom4(a), 24).String()
	}
	body := templateFile(t, t.TempDir(), "network.yaml", networkTemplate)
	// The stack's parameters: the ranges, then the values an update changes.
	params := func(subnetB int, extra ...string) []string {
		return append([]string{"--parameters", "ParameterKey=VpcCidr,ParameterValue=" + vpcCIDR,
			"ParameterKey=SubnetACidr,ParameterValue=" + subnet(1), "ParameterKey=SubnetBCidr,ParameterValue=" + subnet(subnetB)}, extra...)
	}

	var created struct{ StackId string }
	s.AWS(t, append([]string{"cloudformation", "create-stack", "--stack-name", "net", "--template-body", body,
		"--tags", "Key=team,Value=net"}, params(2)...)...).OK(t).Decode(t, &created)
	networkStackSettled(t, s, created.StackId)
	s.AWS(t, "cloudformation", "wait", "stack-create-complete", "--stack-name", "net").OK(t)
	out := stackOutputs(t, s, "net")

	// The VPC: its Ref and attributes, its DNS settings and tags.
	vpc := out["VpcId"]
	if !strings.HasPrefix(vpc, "vpc-") || out["VpcAttrId"] != vpc || out["VpcCidr"] != vpcCIDR ||
		!strings.HasPrefix(out["VpcAssociations"], "vpc-cidr-assoc-") || out["VpcIpv6"] != "" {
		t.Fatalf("VPC outputs: %v", out)
	}
	var vpcs struct {
		Vpcs []struct {
			CidrBlock               string
			CidrBlockAssociationSet []struct{ AssociationId string }
			Tags                    []struct{ Key, Value string }
		}
	}
	s.AWS(t, "ec2", "describe-vpcs", "--vpc-ids", vpc).OK(t).Decode(t, &vpcs)
	if v := vpcs.Vpcs[0]; v.CidrBlock != vpcCIDR || v.CidrBlockAssociationSet[0].AssociationId != out["VpcAssociations"] ||
		!slices.Contains(v.Tags, struct{ Key, Value string }{"Name", "stack-vpc"}) || !slices.Contains(v.Tags, struct{ Key, Value string }{"team", "net"}) {
		t.Errorf("describe-vpcs: %+v", vpcs)
	}
	wantOutput(t, s.AWS(t, "ec2", "describe-vpc-attribute", "--vpc-id", vpc, "--attribute", "enableDnsHostnames").OK(t), `"Value": false`)
	wantOutput(t, s.AWS(t, "ec2", "describe-security-groups", "--filters", "Name=vpc-id,Values="+vpc, "Name=group-name,Values=default").OK(t),
		`"GroupId": "`+out["VpcDefaultGroup"]+`"`)

	// The subnets.
	var subnets struct {
		Subnets []struct {
			SubnetId, VpcId, CidrBlock, AvailabilityZone, AvailabilityZoneId string
			MapPublicIpOnLaunch                                              bool
		}
	}
	s.AWS(t, "ec2", "describe-subnets", "--filters", "Name=vpc-id,Values="+vpc).OK(t).Decode(t, &subnets)
	bySubnet := map[string]int{}
	for i, sn := range subnets.Subnets {
		bySubnet[sn.SubnetId] = i
	}
	a, okA := bySubnet[out["SubnetA"]]
	b, okB := bySubnet[out["SubnetB"]]
	if len(subnets.Subnets) != 2 || !okA || !okB || !subnets.Subnets[a].MapPublicIpOnLaunch || subnets.Subnets[b].MapPublicIpOnLaunch {
		t.Fatalf("subnets %+v, outputs %v", subnets, out)
	}
	if sb := subnets.Subnets[b]; out["SubnetBCidr"] != subnet(2) || sb.CidrBlock != subnet(2) || out["SubnetBZone"] != sb.AvailabilityZone ||
		out["SubnetBZoneId"] != sb.AvailabilityZoneId || out["SubnetBVpc"] != vpc || sb.AvailabilityZone == subnets.Subnets[a].AvailabilityZone {
		t.Errorf("subnet B %+v, outputs %v", sb, out)
	}

	// The standalone rules: their Ref is the rule's id, in the group.
	group := out["Group"]
	type ruleRow struct {
		SecurityGroupRuleId, IpProtocol, CidrIpv4, Description string
		FromPort                                               int
		IsEgress                                               bool
	}
	rulesOf := func() map[string]ruleRow {
		var rules struct{ SecurityGroupRules []ruleRow }
		s.AWS(t, "ec2", "describe-security-group-rules", "--filters", "Name=group-id,Values="+group).OK(t).Decode(t, &rules)
		m := map[string]ruleRow{}
		for _, r := range rules.SecurityGroupRules {
			m[r.SecurityGroupRuleId] = r
		}
		return m
	}
	rules := rulesOf()
	in, eg := rules[out["Ingress"]], rules[out["Egress"]]
	if !strings.HasPrefix(out["Ingress"], "sgr-") || out["IngressId"] != out["Ingress"] || out["EgressId"] != out["Egress"] ||
		in.IsEgress || in.FromPort != 443 || in.CidrIpv4 != "0.0.0.0/0" || in.Description != "https" ||
		!eg.IsEgress || eg.FromPort != 8080 || eg.CidrIpv4 != vpcCIDR {
		t.Fatalf("rules %+v, outputs %v", rules, out)
	}
	// The group keeps EC2's allow-all egress rule besides the stack's.
	if len(rules) != 3 {
		t.Errorf("rules of the group: %+v", rules)
	}

	// The certificates: issued by berth's CA, with their names and tags.
	cert, apiCert := out["Certificate"], out["ApiCertificate"]
	if !strings.HasPrefix(cert, "arn:aws:acm:") || out["CertificateArn"] != cert || !strings.HasPrefix(apiCert, "arn:aws:acm:") {
		t.Fatalf("certificate outputs: %v", out)
	}
	var described struct {
		Certificate struct {
			Status, DomainName      string
			SubjectAlternativeNames []string
			InUseBy                 []string
		}
	}
	s.AWS(t, "acm", "describe-certificate", "--certificate-arn", cert).OK(t).Decode(t, &described)
	if c := described.Certificate; c.Status != "ISSUED" || c.DomainName != "www.example.com" ||
		!slices.Equal(c.SubjectAlternativeNames, []string{"www.example.com", "example.com"}) || len(c.InUseBy) != 1 {
		t.Errorf("describe-certificate: %+v", described)
	}
	wantOutput(t, s.AWS(t, "acm", "list-tags-for-certificate", "--certificate-arn", cert).OK(t), `"Value": "www"`)

	// The listener's certificates and its rule.
	listener := out["Listener"]
	var certs struct {
		Certificates []struct{ CertificateArn string }
	}
	s.AWS(t, "elbv2", "describe-listener-certificates", "--listener-arn", listener).OK(t).Decode(t, &certs)
	var arns []string
	for _, c := range certs.Certificates {
		arns = append(arns, c.CertificateArn)
	}
	if !slices.Equal(arns, []string{apiCert, cert}) || !strings.HasPrefix(out["ApiCert"], "net-ApiCert-") || out["ApiCertId"] != out["ApiCert"] {
		t.Errorf("listener certificates %v, outputs %v", arns, out)
	}
	rule := out["Rule"]
	if !strings.Contains(rule, ":listener-rule/app/") || out["RuleArn"] != rule || out["RuleIsDefault"] != "false" {
		t.Fatalf("rule outputs: %v", out)
	}
	type ruleDesc struct {
		Rules []struct {
			Priority string
			Actions  []struct {
				FixedResponseConfig struct{ MessageBody string }
			}
		}
	}
	var described2 ruleDesc
	s.AWS(t, "elbv2", "describe-rules", "--rule-arns", rule).OK(t).Decode(t, &described2)
	if r := described2.Rules[0]; r.Priority != "10" || r.Actions[0].FixedResponseConfig.MessageBody != "first" {
		t.Errorf("describe-rules: %+v", described2)
	}

	// A certificate a listener uses cannot be deleted.
	s.AWS(t, "acm", "delete-certificate", "--certificate-arn", apiCert).Fails(t, "ResourceInUseException")

	// The update: the second subnet's range replaces it (the load
	// balancer moves to the new one); the rule's priority and response,
	// the VPC's DNS hostnames, the ingress rule's description and the
	// listed certificate change in place.
	s.AWS(t, append([]string{"cloudformation", "update-stack", "--stack-name", "net", "--template-body", body}, params(3,
		"ParameterKey=Priority,ParameterValue=20",
		"ParameterKey=Body,ParameterValue=second", "ParameterKey=Hostnames,ParameterValue=true",
		"ParameterKey=IngressDescription,ParameterValue=tls", "ParameterKey=ListApi,ParameterValue=false")...)...).OK(t)
	networkStackSettled(t, s, created.StackId)
	s.AWS(t, "cloudformation", "wait", "stack-update-complete", "--stack-name", "net").OK(t)
	after := stackOutputs(t, s, "net")
	if after["SubnetB"] == out["SubnetB"] || after["SubnetBCidr"] != subnet(3) || after["SubnetA"] != out["SubnetA"] ||
		after["Rule"] != rule || after["Ingress"] != out["Ingress"] || after["VpcId"] != vpc {
		t.Fatalf("outputs after the update: %v", after)
	}
	s.AWS(t, "ec2", "describe-subnets", "--subnet-ids", out["SubnetB"]).Fails(t, "InvalidSubnetID.NotFound")
	wantOutput(t, s.AWS(t, "ec2", "describe-subnets", "--subnet-ids", after["SubnetB"]).OK(t), subnet(3))
	var lbs struct {
		LoadBalancers []struct{ AvailabilityZones []struct{ SubnetId string } }
	}
	s.AWS(t, "elbv2", "describe-load-balancers").OK(t).Decode(t, &lbs)
	var lbSubnets []string
	for _, z := range lbs.LoadBalancers[0].AvailabilityZones {
		lbSubnets = append(lbSubnets, z.SubnetId)
	}
	slices.Sort(lbSubnets)
	wantSubnets := []string{after["SubnetA"], after["SubnetB"]}
	slices.Sort(wantSubnets)
	if !slices.Equal(lbSubnets, wantSubnets) {
		t.Errorf("load balancer subnets %v, want %v", lbSubnets, wantSubnets)
	}
	s.AWS(t, "elbv2", "describe-rules", "--rule-arns", rule).OK(t).Decode(t, &described2)
	if r := described2.Rules[0]; r.Priority != "20" || r.Actions[0].FixedResponseConfig.MessageBody != "second" {
		t.Errorf("describe-rules after the update: %+v", described2)
	}
	wantOutput(t, s.AWS(t, "ec2", "describe-vpc-attribute", "--vpc-id", vpc, "--attribute", "enableDnsHostnames").OK(t), `"Value": true`)
	if r := rulesOf()[out["Ingress"]]; r.Description != "tls" {
		t.Errorf("ingress rule after the update: %+v", r)
	}
	certs.Certificates = nil
	s.AWS(t, "elbv2", "describe-listener-certificates", "--listener-arn", listener).OK(t).Decode(t, &certs)
	arns = nil
	for _, c := range certs.Certificates {
		arns = append(arns, c.CertificateArn)
	}
	if !slices.Equal(arns, []string{cert, cert}) || after["ApiCert"] != out["ApiCert"] {
		t.Errorf("listener certificates after the update %v, outputs %v", arns, after)
	}
	described.Certificate.InUseBy = nil
	s.AWS(t, "acm", "describe-certificate", "--certificate-arn", apiCert).OK(t).Decode(t, &described)
	if len(described.Certificate.InUseBy) != 0 {
		t.Errorf("the certificate no listener lists: %+v", described)
	}

	// Deleting the stack leaves nothing in any service.
	s.AWS(t, "cloudformation", "delete-stack", "--stack-name", "net").OK(t)
	networkStackSettled(t, s, created.StackId)
	s.AWS(t, "cloudformation", "wait", "stack-delete-complete", "--stack-name", "net").OK(t)
	wantOutput(t, s.AWS(t, "elbv2", "describe-load-balancers").OK(t), `"LoadBalancers": []`)
	s.AWS(t, "elbv2", "describe-rules", "--rule-arns", rule).Fails(t, "RuleNotFound")
	for _, arn := range []string{cert, apiCert} {
		s.AWS(t, "acm", "describe-certificate", "--certificate-arn", arn).Fails(t, "ResourceNotFoundException")
	}
	s.AWS(t, "ec2", "describe-security-groups", "--group-ids", group).Fails(t, "InvalidGroup.NotFound")
	s.AWS(t, "ec2", "describe-subnets", "--subnet-ids", after["SubnetA"]).Fails(t, "InvalidSubnetID.NotFound")
	s.AWS(t, "ec2", "describe-vpcs", "--vpc-ids", vpc).Fails(t, "InvalidVpcID.NotFound")
}

// networkStackSettled waits until the stack is in no operation: the CLI's
// waiters poll every 30 seconds, and then answer at once.
func networkStackSettled(t *testing.T, s *Server, stackID string) {
	t.Helper()
	waitFor(t, 3*time.Minute, "stack "+stackID+" settled", func() bool {
		status := s.AWS(t, "cloudformation", "describe-stacks", "--stack-name", stackID, "--query", "Stacks[0].StackStatus", "--output", "text").OK(t).Stdout
		return !strings.HasSuffix(strings.TrimSpace(status), "_IN_PROGRESS")
	})
}
