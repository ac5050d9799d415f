package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// The setups of the examples of EC2, Elastic Load Balancing and ACM: the
// VPCs, subnets, security groups, load balancers, target groups,
// listeners, rules and certificates the documented commands name, made in
// the example's region, with the documented identifiers replaced by
// berth's.
func init() {
	for id, setup := range networkExampleSetups {
		if _, dup := exampleSetups[id]; dup {
			panic("two setups for " + id)
		}
		exampleSetups[id] = setup
	}
}

// exampleNetwork is what an example knows of its region's network.
type exampleNetwork struct {
	// defaultVPC is the region's default VPC, once read.
	defaultVPC *regionDefaultVPC
	// ranges are the /16s (their second octets) of 10.0.0.0/8 the
	// example's own VPCs took (vpcRange).
	ranges []int
}

// regionDefaultVPC is a region's default VPC.
type regionDefaultVPC struct {
	id, cidr string
	// subnets are its default subnets, in zone order.
	subnets []string
	// group is its default security group.
	group string
}

// An AMI and an instance the documentation names. berth serves neither:
// the tag examples tag its default VPC and subnets in their place, and
// the target examples register its host, the one instance it has.
const (
	docAMI      = "ami-1234567890abcdef0"
	docInstance = "i-1234567890abcdef0"
)

// networkExampleSetups are the setups of the examples of EC2, Elastic
// Load Balancing and ACM, as exampleSetups'.
var networkExampleSetups = map[string]func(e *exampleEnv){
	// EC2: security groups and their rules.
	"ec2/authorize-security-group-egress#1": func(e *exampleEnv) { e.docGroup("sg-1234567890abcdef0", "my-group") },
	"ec2/authorize-security-group-egress#2": func(e *exampleEnv) {
		e.docGroup("sg-1234567890abcdef0", "my-group")
		e.docGroup("sg-0aad1c26bbeec5c22", "my-other-group")
	},
	"ec2/authorize-security-group-ingress#1": func(e *exampleEnv) { e.docGroup("sg-1234567890abcdef0", "my-group") },
	"ec2/authorize-security-group-ingress#2": func(e *exampleEnv) {
		e.docGroup("sg-1234567890abcdef0", "my-group")
		e.docGroup("sg-1a2b3c4d", "my-source-group")
	},
	"ec2/authorize-security-group-ingress#3": func(e *exampleEnv) { e.docGroup("sg-1234567890abcdef0", "my-group") },
	"ec2/authorize-security-group-ingress#4": func(e *exampleEnv) { e.docGroup("sg-1234567890abcdef0", "my-group") },
	"ec2/authorize-security-group-ingress#5": func(e *exampleEnv) { e.docGroup("sg-1234567890abcdef0", "my-group") },
	"ec2/authorize-security-group-ingress#6": func(e *exampleEnv) { e.docGroup("sg-1234567890abcdef0", "my-group") },
	"ec2/create-security-group#2": func(e *exampleEnv) {
		e.sub("vpc-1a2b3c4d", e.vpc(e.vpcRange(), "my-vpc"))
	},
	"ec2/delete-security-group#1": func(e *exampleEnv) { e.securityGroup("MySecurityGroup", "") },
	"ec2/delete-security-group#2": func(e *exampleEnv) { e.docGroup("sg-903004f8", "MySecurityGroup") },
	"ec2/describe-security-groups#1": func(e *exampleEnv) {
		// As documented: all traffic from the group itself, SSH from an
		// office, the default egress rule and a Name tag.
		g := e.docGroup("sg-903004f8", "MySecurityGroup")
		e.ingress(g, ec2types.IpPermission{IpProtocol: aws.String("-1"), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(g)}}})
		e.ingress(g, tcpFrom(22, "203.0.113.0/24", "Access from NY office"))
		e.tag(g, "Name", "SG1")
	},
	"ec2/describe-security-groups#2": func(e *exampleEnv) {
		e.ingress(e.defaultNetwork().group, tcpFrom(22, "0.0.0.0/0", ""))
		for _, name := range []string{"my-security-group", "web-servers", "launch-wizard-1"} {
			e.ingress(e.securityGroup(name, ""), tcpFrom(22, "0.0.0.0/0", ""))
		}
		e.securityGroup("no-ssh", "")
	},
	"ec2/describe-security-groups#3": func(e *exampleEnv) {
		for _, name := range []string{"testfornewinstance", "newgrouptest"} {
			e.tag(e.securityGroup(name, ""), "Test", "To-delete")
		}
		e.tag(e.securityGroup("testkept", ""), "Test", "To-keep")
	},
	"ec2/describe-security-group-rules#1": func(e *exampleEnv) { e.documentedGroupRules("sg-1234567890abcdef0") },
	"ec2/describe-security-group-rules#2": func(e *exampleEnv) {
		g := e.docGroup("sg-1234567890abcdef0", "my-group")
		e.sub("sgr-cdef01234567890ab", e.ruleIDs(g, true)[0])
	},
	"ec2/modify-security-group-rules#1": func(e *exampleEnv) {
		g := e.docGroup("sg-1234567890abcdef0", "my-group")
		e.sub("sgr-abcdef01234567890", e.ingress(g, tcpFrom(22, "203.0.113.0/24", ""))[0])
	},
	"ec2/revoke-security-group-egress#2": func(e *exampleEnv) {
		g := e.docGroup("sg-026c12253ce15eff7", "my-group")
		target := e.docGroup("sg-06df23a01ff2df86d", "my-target-group")
		e.egress(g, ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443),
			UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(target)}}})
	},
	"ec2/revoke-security-group-ingress#1": func(e *exampleEnv) {
		e.ingress(e.securityGroup("mySecurityGroup", ""), tcpFrom(22, "203.0.113.0/24", ""))
	},
	"ec2/revoke-security-group-ingress#2": func(e *exampleEnv) {
		g := e.docGroup("sg-026c12253ce15eff7", "my-group")
		e.ingress(g, ec2types.IpPermission{IpProtocol: aws.String("icmp"), FromPort: aws.Int32(3), ToPort: aws.Int32(4),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}})
	},
	"ec2/update-security-group-rule-descriptions-egress#1": func(e *exampleEnv) {
		g := e.docGroup("sg-02f0d35a850ba727f", "my-group")
		e.egress(g, ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(80), ToPort: aws.Int32(80),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String("203.0.113.0/24")}}})
	},
	"ec2/update-security-group-rule-descriptions-ingress#1": func(e *exampleEnv) {
		// EC2 keeps 203.0.113.0/16, the documented block, as the network
		// it names.
		e.ingress(e.docGroup("sg-02f0d35a850ba727f", "my-group"), tcpFrom(22, "203.0.0.0/16", ""))
	},

	// EC2: VPCs and subnets.
	"ec2/create-default-vpc#1": func(e *exampleEnv) { e.deleteDefaultVPC() },
	"ec2/create-subnet#1": func(e *exampleEnv) {
		cidr := e.vpcRange()
		e.sub("vpc-081ec835f3EXAMPLE", e.vpc(cidr, "my-vpc"))
		e.sub("10.0.0.0/24", subnetOf(cidr, 0))
	},
	"ec2/create-vpc#1": func(e *exampleEnv) { e.sub("10.0.0.0/16", e.vpcRange()) },
	"ec2/create-vpc#2": func(e *exampleEnv) { e.sub("10.0.0.0/16", e.vpcRange()) },
	"ec2/delete-subnet#1": func(e *exampleEnv) {
		d := e.defaultNetwork()
		e.sub("subnet-9d4a7b6c", e.subnet(d.id, subnetOf(d.cidr, 128), ""))
	},
	"ec2/delete-vpc#1": func(e *exampleEnv) { e.sub("vpc-a01106c2", e.vpc(e.vpcRange(), "")) },
	"ec2/describe-subnets#2": func(e *exampleEnv) {
		// The documented VPC is a default one with a single subnet, tagged.
		d := e.defaultNetwork()
		for _, s := range d.subnets[1:] {
			_, err := e.ec2.DeleteSubnet(e.ctx(), &ec2.DeleteSubnetInput{SubnetId: aws.String(s)})
			e.must(err)
		}
		e.tag(d.subnets[0], "Name", "MySubnet")
		e.sub("vpc-3EXAMPLE", d.id)
	},
	"ec2/describe-subnets#3": func(e *exampleEnv) {
		for _, s := range e.defaultNetwork().subnets {
			e.tag(s, "CostCenter", "123")
		}
	},
	"ec2/describe-vpc-attribute#1":  func(e *exampleEnv) { e.sub("vpc-a01106c2", e.defaultNetwork().id) },
	"ec2/describe-vpc-attribute#2":  func(e *exampleEnv) { e.sub("vpc-a01106c2", e.defaultNetwork().id) },
	"ec2/modify-vpc-attribute#1":    func(e *exampleEnv) { e.sub("vpc-a01106c2", e.defaultNetwork().id) },
	"ec2/modify-vpc-attribute#2":    func(e *exampleEnv) { e.sub("vpc-a01106c2", e.defaultNetwork().id) },
	"ec2/modify-subnet-attribute#1": func(e *exampleEnv) { e.sub("subnet-1a2b3c4d", e.defaultNetwork().subnets[0]) },
	"ec2/describe-vpcs#1": func(e *exampleEnv) {
		// The documented account has no default VPC, and two of its own.
		e.deleteDefaultVPC()
		e.vpc(e.vpcRange(), "Not Shared")
		e.vpc(e.vpcRange(), "Shared VPC")
	},
	"ec2/describe-vpcs#2": func(e *exampleEnv) {
		e.sub("vpc-06e4ab6c6cEXAMPLE", e.vpc(e.vpcRange(), "Shared VPC"))
	},

	// EC2: network interfaces, which berth makes for load balancers and
	// tasks alone.
	"ec2/describe-network-interfaces#1": func(e *exampleEnv) { e.loadBalancer("my-load-balancer", "") },
	"ec2/describe-network-interfaces#2": func(e *exampleEnv) {
		e.loadBalancer("my-load-balancer", "")
		out, err := e.ec2.DescribeNetworkInterfaces(e.ctx(), &ec2.DescribeNetworkInterfacesInput{})
		e.must(err)
		e.tag(aws.ToString(out.NetworkInterfaces[0].NetworkInterfaceId), "Purpose", "Prod")
	},

	// EC2: tags. The documented AMIs and instances are berth's default VPC
	// and its first subnet.
	"ec2/create-tags#1": func(e *exampleEnv) { e.sub(docAMI, e.defaultNetwork().id) },
	"ec2/create-tags#2": func(e *exampleEnv) {
		e.sub("ami-1a2b3c4d", e.defaultNetwork().id)
		e.sub(docInstance, e.defaultNetwork().subnets[0])
	},
	"ec2/create-tags#5": func(e *exampleEnv) { e.sub(docInstance, e.defaultNetwork().subnets[0]) },
	"ec2/delete-tags#1": func(e *exampleEnv) {
		e.tag(e.defaultNetwork().id, "Stack", "Test")
		e.sub(docAMI, e.defaultNetwork().id)
	},
	"ec2/delete-tags#2": func(e *exampleEnv) {
		e.tag(e.defaultNetwork().subnets[0], "purpose", "web")
		e.sub(docInstance, e.defaultNetwork().subnets[0])
	},
	"ec2/delete-tags#3": func(e *exampleEnv) {
		e.tag(e.defaultNetwork().subnets[0], "Name", "")
		e.sub(docInstance, e.defaultNetwork().subnets[0])
	},
	"ec2/delete-tags#4": func(e *exampleEnv) {
		d := e.defaultNetwork()
		e.tag(d.subnets[0], "Purpose", "Test")
		e.tag(d.id, "Purpose", "Test")
		e.sub(docInstance, d.subnets[0])
		e.sub(docAMI, d.id)
	},
	"ec2/describe-tags#1": func(e *exampleEnv) {
		s := e.defaultNetwork().subnets[0]
		e.tag(s, "Stack", "Test")
		e.tag(s, "Name", "Beta Server")
		e.sub("i-1234567890abcdef8", s)
	},
	"ec2/describe-tags#4": func(e *exampleEnv) {
		d := e.defaultNetwork()
		e.tag(d.id, "Stack", "Production")
		e.tag(d.subnets[0], "Stack", "Test")
	},
	"ec2/describe-tags#6": func(e *exampleEnv) { e.tag(e.defaultNetwork().id, "Stack", "Test") },
	"ec2/describe-tags#5": func(e *exampleEnv) {
		d := e.defaultNetwork()
		e.tag(d.id, "Stack", "Test")
		e.tag(d.subnets[0], "Stack", "Test")
		e.tag(d.subnets[1], "Stack", "Production")
	},

	// Elastic Load Balancing: the documented load balancer
	// my-load-balancer in two default subnets, its target group my-targets,
	// listeners and rules.
	"elbv2/add-tags#1": func(e *exampleEnv) { e.docLoadBalancer() },
	"elbv2/add-listener-certificates#1": func(e *exampleEnv) {
		e.docHTTPSListener("")
		e.certificate(docListenerCertificate("5cc54884-f4a3-4072-80be-05b9ba72f705"), "www.example.com")
	},
	"elbv2/describe-listener-certificates#1": func(e *exampleEnv) {
		e.docHTTPSListener(docListenerCertificate("fe59da96-6f58-4a22-8eed-6d0d50477e1d"),
			docListenerCertificate("5cc54884-f4a3-4072-80be-05b9ba72f705"), docListenerCertificate("3dcb0a41-bd72-4774-9ad9-756919c40557"))
	},
	"elbv2/remove-listener-certificates#1": func(e *exampleEnv) {
		e.docHTTPSListener("", docListenerCertificate("5cc54884-f4a3-4072-80be-05b9ba72f705"))
	},
	"elbv2/create-listener#1": func(e *exampleEnv) {
		e.docLoadBalancer()
		e.docTargetGroup()
	},
	"elbv2/create-listener#2": func(e *exampleEnv) {
		e.docLoadBalancer()
		e.docTargetGroup()
		e.certificate("arn:aws:acm:us-west-2:123456789012:certificate/3dcb0a41-bd72-4774-9ad9-756919c40557", "www.example.com")
	},
	"elbv2/create-load-balancer#1": func(e *exampleEnv) { e.docSubnets() },
	"elbv2/create-load-balancer#2": func(e *exampleEnv) { e.docSubnets() },
	"elbv2/create-rule#1": func(e *exampleEnv) {
		e.docListener(e.docLoadBalancer(), e.docTargetGroup())
	},
	"elbv2/create-rule#2": func(e *exampleEnv) {
		e.docListener(e.docLoadBalancer(), e.docTargetGroup())
	},
	"elbv2/create-target-group#1": func(e *exampleEnv) { e.sub("vpc-3ac0fb5f", e.defaultNetwork().id) },
	"elbv2/delete-listener#1": func(e *exampleEnv) {
		e.docListener(e.docLoadBalancer(), e.docTargetGroup())
	},
	"elbv2/delete-load-balancer#1": func(e *exampleEnv) { e.docLoadBalancer() },
	"elbv2/delete-rule#1": func(e *exampleEnv) {
		l := e.docListener(e.docLoadBalancer(), e.docTargetGroup())
		e.rule(l, "1291d13826f405c3", 10, "/img/*", e.docTargetGroup())
	},
	"elbv2/delete-target-group#1": func(e *exampleEnv) { e.docTargetGroup() },
	"elbv2/deregister-targets#1": func(e *exampleEnv) {
		tg := e.docTargetGroup()
		e.sub(docInstance, e.registerHost(tg, 0))
	},
	"elbv2/deregister-targets#2": func(e *exampleEnv) {
		tg := e.targetGroup("my-internal-targets", "3bb63f11dfb0faf9", elbtypes.TargetTypeEnumInstance)
		e.registerHost(tg, 80)
		e.sub(docInstance, e.registerHost(tg, 766))
	},
	"elbv2/describe-listeners#1": func(e *exampleEnv) {
		e.docListener(e.docLoadBalancer(), e.docTargetGroup())
	},
	"elbv2/describe-listeners#2": func(e *exampleEnv) {
		lb, tg := e.docLoadBalancer(), e.docTargetGroup()
		cert := e.certificate("", "www.example.com")
		e.listener(lb, "0467ef3c8400ae65", elbtypes.ProtocolEnumHttps, 443, tg, cert)
		e.docListener(lb, tg)
	},
	"elbv2/describe-load-balancer-attributes#1": func(e *exampleEnv) { e.docLoadBalancer() },
	"elbv2/describe-load-balancers#1":           func(e *exampleEnv) { e.docLoadBalancer() },
	"elbv2/describe-load-balancers#2":           func(e *exampleEnv) { e.docLoadBalancer() },
	"elbv2/describe-rules#1": func(e *exampleEnv) {
		l := e.docListener(e.docLoadBalancer(), e.docTargetGroup())
		e.rule(l, "9683b2d02a6cabee", 10, "/images/*", e.docTargetGroup())
	},
	"elbv2/describe-rules#2": func(e *exampleEnv) {
		l := e.docListener(e.docLoadBalancer(), e.docTargetGroup())
		e.rule(l, "9683b2d02a6cabee", 10, "/images/*", e.docTargetGroup())
	},
	"elbv2/describe-tags#1": func(e *exampleEnv) {
		e.elbTags(e.docLoadBalancer(), "project", "lima", "department", "digital-media")
	},
	"elbv2/describe-target-group-attributes#1": func(e *exampleEnv) { e.docTargetGroup() },
	"elbv2/describe-target-groups#1": func(e *exampleEnv) {
		e.docListener(e.docLoadBalancer(), e.docTargetGroup())
	},
	"elbv2/describe-target-groups#2": func(e *exampleEnv) {
		// The documented load balancer forwards to an instance, an IP and a
		// Lambda target group; berth's to the first two.
		lb := e.docLoadBalancer()
		l := e.docListener(lb, e.targetGroup("my-instance-targets", "", elbtypes.TargetTypeEnumInstance))
		e.rule(l, "", 10, "/ip/*", e.targetGroup("my-ip-targets", "", elbtypes.TargetTypeEnumIp))
	},
	"elbv2/describe-target-health#1": func(e *exampleEnv) {
		// Two instances in the documentation: berth's host is the one
		// instance, on two ports.
		tg := e.docTargetGroup()
		e.registerHost(tg, 80)
		e.registerHost(tg, 8080)
	},
	"elbv2/describe-target-health#2": func(e *exampleEnv) {
		e.sub("i-0f76fade", e.registerHost(e.docTargetGroup(), 80))
	},
	"elbv2/modify-listener#1": func(e *exampleEnv) {
		e.docListener(e.docLoadBalancer(), e.docTargetGroup())
		e.targetGroup("my-new-targets", "2453ed029918f21f", elbtypes.TargetTypeEnumInstance)
	},
	"elbv2/modify-load-balancer-attributes#1": func(e *exampleEnv) { e.docLoadBalancer() },
	"elbv2/modify-load-balancer-attributes#2": func(e *exampleEnv) { e.docLoadBalancer() },
	"elbv2/modify-load-balancer-attributes#3": func(e *exampleEnv) { e.docLoadBalancer() },
	"elbv2/modify-rule#1": func(e *exampleEnv) {
		l := e.docListener(e.docLoadBalancer(), e.docTargetGroup())
		e.rule(l, "9683b2d02a6cabee", 10, "/img/*", e.docTargetGroup())
	},
	"elbv2/modify-target-group-attributes#1": func(e *exampleEnv) { e.docTargetGroup() },
	"elbv2/register-targets#1": func(e *exampleEnv) {
		e.docTargetGroup()
		host := e.hostInstance()
		e.sub(docInstance, host)
		e.sub("i-0abcdef1234567890", host)
	},
	"elbv2/register-targets#2": func(e *exampleEnv) {
		e.targetGroup("my-internal-targets", "3bb63f11dfb0faf9", elbtypes.TargetTypeEnumInstance)
		e.sub("i-0598c7d356eba48d7", e.hostInstance())
	},
	"elbv2/register-targets#3": func(e *exampleEnv) {
		// Addresses of the default VPC's first subnet.
		e.targetGroup("my-tcp-ip-targets", "8518e899d173178f", elbtypes.TargetTypeEnumIp)
		prefix := netip.MustParsePrefix(e.defaultNetwork().cidr)
		for i, doc := range []string{"10.0.1.15", "10.0.1.23"} {
			addr := prefix.Addr().As4()
			addr[3] = byte(15 + 8*i)
			e.sub(doc, netip.AddrFrom4(addr).String())
		}
	},
	"elbv2/remove-tags#1": func(e *exampleEnv) {
		e.elbTags(e.docLoadBalancer(), "project", "lima", "department", "digital-media")
	},
	"elbv2/set-rule-priorities#1": func(e *exampleEnv) {
		l := e.docListener(e.docLoadBalancer(), e.docTargetGroup())
		e.rule(l, "1291d13826f405c3", 10, "/img/*", e.docTargetGroup())
	},
	"elbv2/set-security-groups#1": func(e *exampleEnv) {
		e.docLoadBalancer()
		e.docGroup("sg-5943793c", "my-load-balancer-sg")
	},
	"elbv2/set-subnets#1": func(e *exampleEnv) {
		e.docLoadBalancer()
		e.docSubnets()
	},

	// ACM: the documented certificates, requested from berth's CA.
	"acm/add-tags-to-certificate#1": func(e *exampleEnv) { e.docCertificate() },
	"acm/delete-certificate#1":      func(e *exampleEnv) { e.docCertificate() },
	"acm/describe-certificate#1": func(e *exampleEnv) {
		// Validated by email, as the documented one.
		e.requestCertificate(docCertificateARN, acmtypes.ValidationMethodEmail, "www.example.com", "www.example.net")
	},
	"acm/get-certificate#1": func(e *exampleEnv) { e.docCertificate() },
	"acm/import-certificate#1": func(e *exampleEnv) {
		cert, chain, key := selfSignedChain(e)
		for name, text := range map[string][]byte{"Certificate.pem": cert, "CertificateChain.pem": chain, "PrivateKey.pem": key} {
			path := filepath.Join(e.dir, name)
			e.must(os.WriteFile(path, text, 0o600))
			e.sub("file://"+name, "file://"+path)
		}
	},
	"acm/list-certificates#1": func(e *exampleEnv) {
		e.certificate("", "www.example.com")
		e.certificate("", "www.example.net")
	},
	"acm/list-certificates#2": func(e *exampleEnv) {
		for _, d := range []string{"www.example.com", "www.example.net", "www.example.org", "www.example.edu"} {
			e.certificate("", d)
		}
	},
	"acm/list-certificates#3": func(e *exampleEnv) {
		for _, d := range []string{"www.example.com", "www.example.net", "www.example.org", "www.example.edu"} {
			e.certificate("", d)
		}
		out, err := e.acm.ListCertificates(e.ctx(), &acm.ListCertificatesInput{MaxItems: aws.Int32(2)})
		e.must(err)
		e.sub("9f4d9f69-275a-41fe-b58e-2b837bd9ba48", aws.ToString(out.NextToken))
	},
	"acm/list-tags-for-certificate#1": func(e *exampleEnv) {
		e.acmTags(e.docCertificate(), "Admin", "Alice", "Purpose", "Website")
	},
	"acm/remove-tags-from-certificate#1": func(e *exampleEnv) {
		e.acmTags(e.docCertificate(), "Admin", "Alice", "Purpose", "Website")
	},
	"acm/update-certificate-options#1": func(e *exampleEnv) { e.docCertificate() },
}

// docCertificateARN is the certificate the ACM examples name, with the
// documentation's placeholders for its region and account.
const docCertificateARN = "arn:aws:acm:region:account:certificate/12345678-1234-1234-1234-123456789012"

// defaultNetwork reads the region's default VPC, its default subnets and
// its default security group.
func (e *exampleEnv) defaultNetwork() regionDefaultVPC {
	e.t.Helper()
	if d := e.net.defaultVPC; d != nil {
		return *d
	}
	vpcs, err := e.ec2.DescribeVpcs(e.ctx(), &ec2.DescribeVpcsInput{
		Filters: []ec2types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}},
	})
	e.must(err)
	if len(vpcs.Vpcs) != 1 {
		e.t.Fatalf("setup: the region has %d default VPCs", len(vpcs.Vpcs))
	}
	d := &regionDefaultVPC{id: aws.ToString(vpcs.Vpcs[0].VpcId), cidr: aws.ToString(vpcs.Vpcs[0].CidrBlock)}
	subnets, err := e.ec2.DescribeSubnets(e.ctx(), &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{d.id}}, {Name: aws.String("default-for-az"), Values: []string{"true"}},
	}})
	e.must(err)
	slices.SortFunc(subnets.Subnets, func(a, b ec2types.Subnet) int {
		return strings.Compare(aws.ToString(a.AvailabilityZone), aws.ToString(b.AvailabilityZone))
	})
	for _, s := range subnets.Subnets {
		d.subnets = append(d.subnets, aws.ToString(s.SubnetId))
	}
	groups, err := e.ec2.DescribeSecurityGroups(e.ctx(), &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{d.id}}, {Name: aws.String("group-name"), Values: []string{"default"}},
	}})
	e.must(err)
	if len(d.subnets) < 2 || len(groups.SecurityGroups) != 1 {
		e.t.Fatalf("setup: the default VPC has %d default subnets and %d default groups", len(d.subnets), len(groups.SecurityGroups))
	}
	d.group = aws.ToString(groups.SecurityGroups[0].GroupId)
	e.net.defaultVPC = d
	return *d
}

// deleteDefaultVPC deletes the region's default VPC with its default
// subnets, as an account without one has.
func (e *exampleEnv) deleteDefaultVPC() {
	e.t.Helper()
	d := e.defaultNetwork()
	for _, s := range d.subnets {
		_, err := e.ec2.DeleteSubnet(e.ctx(), &ec2.DeleteSubnetInput{SubnetId: aws.String(s)})
		e.must(err)
	}
	_, err := e.ec2.DeleteVpc(e.ctx(), &ec2.DeleteVpcInput{VpcId: aws.String(d.id)})
	e.must(err)
	e.net.defaultVPC = nil
}

// exampleRanges are the /16s of 10.0.0.0/8 the examples' own VPCs take
// (by second octet), 10.100 to 10.127: berth routes every VPC's range on
// the host, so VPCs of any region must not overlap. The regions' default
// VPCs take theirs below 10.64 (the home one, ec2state.DefaultRange), and
// each example gives its region's back when it ends, so they stay far
// below these. TestAWSCLIExamples removes what is left in 10.0.0.0/9.
var exampleRanges struct {
	sync.Mutex
	taken map[int]bool
}

// vpcRange takes a /16 for a VPC of the example, until the example ends.
func (e *exampleEnv) vpcRange() string {
	e.t.Helper()
	exampleRanges.Lock()
	defer exampleRanges.Unlock()
	if exampleRanges.taken == nil {
		exampleRanges.taken = map[int]bool{}
	}
	for second := 100; second < 128; second++ {
		if !exampleRanges.taken[second] {
			exampleRanges.taken[second] = true
			e.net.ranges = append(e.net.ranges, second)
			return fmt.Sprintf("10.%d.0.0/16", second)
		}
	}
	e.t.Fatal("setup: no free /16 for a VPC in 10.100.0.0/14 to 10.127.0.0/16")
	return ""
}

// subnetOf is the n-th /24 of a VPC's range.
func subnetOf(vpcCIDR string, n int) string {
	a := netip.MustParsePrefix(vpcCIDR).Addr().As4()
	a[2] += byte(n)
	return netip.PrefixFrom(netip.AddrFrom4(a), 24).String()
}

// vpc creates a VPC of cidr, named name unless it is empty.
func (e *exampleEnv) vpc(cidr, name string) string {
	e.t.Helper()
	out, err := e.ec2.CreateVpc(e.ctx(), &ec2.CreateVpcInput{CidrBlock: aws.String(cidr), TagSpecifications: nameTag(ec2types.ResourceTypeVpc, name)})
	e.must(err)
	return aws.ToString(out.Vpc.VpcId)
}

// subnet creates a subnet of vpc, named name unless it is empty.
func (e *exampleEnv) subnet(vpc, cidr, name string) string {
	e.t.Helper()
	out, err := e.ec2.CreateSubnet(e.ctx(), &ec2.CreateSubnetInput{VpcId: aws.String(vpc), CidrBlock: aws.String(cidr), TagSpecifications: nameTag(ec2types.ResourceTypeSubnet, name)})
	e.must(err)
	return aws.ToString(out.Subnet.SubnetId)
}

func nameTag(kind ec2types.ResourceType, name string) []ec2types.TagSpecification {
	if name == "" {
		return nil
	}
	return []ec2types.TagSpecification{{ResourceType: kind, Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String(name)}}}}
}

// tag tags an EC2 resource.
func (e *exampleEnv) tag(id, key, value string) {
	e.t.Helper()
	_, err := e.ec2.CreateTags(e.ctx(), &ec2.CreateTagsInput{Resources: []string{id}, Tags: []ec2types.Tag{{Key: aws.String(key), Value: aws.String(value)}}})
	e.must(err)
}

// securityGroup creates a security group in the default VPC.
func (e *exampleEnv) securityGroup(name, description string) string {
	e.t.Helper()
	if description == "" {
		description = "The " + name + " group"
	}
	out, err := e.ec2.CreateSecurityGroup(e.ctx(), &ec2.CreateSecurityGroupInput{
		GroupName: aws.String(name), Description: aws.String(description), VpcId: aws.String(e.defaultNetwork().id),
	})
	e.must(err)
	return aws.ToString(out.GroupId)
}

// docGroup creates a security group in the default VPC for the one the
// documentation names by id.
func (e *exampleEnv) docGroup(docID, name string) string {
	e.t.Helper()
	id := e.securityGroup(name, "My security group")
	e.sub(docID, id)
	return id
}

// tcpFrom admits TCP on port from cidr.
func tcpFrom(port int32, cidr, description string) ec2types.IpPermission {
	r := ec2types.IpRange{CidrIp: aws.String(cidr)}
	if description != "" {
		r.Description = aws.String(description)
	}
	return ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port), IpRanges: []ec2types.IpRange{r}}
}

// ingress adds inbound rules to a group and returns their ids.
func (e *exampleEnv) ingress(group string, perms ...ec2types.IpPermission) []string {
	e.t.Helper()
	out, err := e.ec2.AuthorizeSecurityGroupIngress(e.ctx(), &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(group), IpPermissions: perms})
	e.must(err)
	var ids []string
	for _, r := range out.SecurityGroupRules {
		ids = append(ids, aws.ToString(r.SecurityGroupRuleId))
	}
	return ids
}

// egress adds outbound rules to a group and returns their ids.
func (e *exampleEnv) egress(group string, perms ...ec2types.IpPermission) []string {
	e.t.Helper()
	out, err := e.ec2.AuthorizeSecurityGroupEgress(e.ctx(), &ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(group), IpPermissions: perms})
	e.must(err)
	var ids []string
	for _, r := range out.SecurityGroupRules {
		ids = append(ids, aws.ToString(r.SecurityGroupRuleId))
	}
	return ids
}

// ruleIDs are the ids of a group's rules of one direction, in the order
// EC2 lists them.
func (e *exampleEnv) ruleIDs(group string, egress bool) []string {
	e.t.Helper()
	out, err := e.ec2.DescribeSecurityGroupRules(e.ctx(), &ec2.DescribeSecurityGroupRulesInput{
		Filters: []ec2types.Filter{{Name: aws.String("group-id"), Values: []string{group}}},
	})
	e.must(err)
	var ids []string
	for _, r := range out.SecurityGroupRules {
		if aws.ToBool(r.IsEgress) == egress {
			ids = append(ids, aws.ToString(r.SecurityGroupRuleId))
		}
	}
	return ids
}

// documentedGroupRules makes the group of describe-security-group-rules:
// all traffic in from the group itself, and out to every IPv6 and every
// IPv4 address, listed in that order, which is their ids' order too.
// berth lists rules in id order, and its ids are random: the rules are
// made again until theirs fall in the documented order.
func (e *exampleEnv) documentedGroupRules(docID string) {
	e.t.Helper()
	g := e.docGroup(docID, "my-group")
	self := ec2types.IpPermission{IpProtocol: aws.String("-1"), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(g)}}}
	allV6 := ec2types.IpPermission{IpProtocol: aws.String("-1"), Ipv6Ranges: []ec2types.Ipv6Range{{CidrIpv6: aws.String("::/0")}}}
	allV4 := ec2types.IpPermission{IpProtocol: aws.String("-1"), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}
	_, err := e.ec2.RevokeSecurityGroupEgress(e.ctx(), &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(g), IpPermissions: []ec2types.IpPermission{allV4}})
	e.must(err)
	for range 200 {
		ids := []string{e.ingress(g, self)[0], e.egress(g, allV6)[0], e.egress(g, allV4)[0]}
		if slices.IsSorted(ids) {
			return
		}
		_, err := e.ec2.RevokeSecurityGroupIngress(e.ctx(), &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(g), SecurityGroupRuleIds: ids[:1]})
		e.must(err)
		_, err = e.ec2.RevokeSecurityGroupEgress(e.ctx(), &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(g), SecurityGroupRuleIds: ids[1:]})
		e.must(err)
	}
	e.t.Fatal("setup: the rules' ids never fell in the documented order")
}

// docSubnets makes the documented subnets the default VPC's first two.
func (e *exampleEnv) docSubnets() {
	e.t.Helper()
	d := e.defaultNetwork()
	e.sub("subnet-8360a9e7", d.subnets[0])
	e.sub("subnet-b7d581c0", d.subnets[1])
}

// loadBalancer creates an application load balancer in the default VPC's
// first two subnets; a documented id, unless empty, becomes its own.
func (e *exampleEnv) loadBalancer(name, docID string) string {
	e.t.Helper()
	out, err := e.elb.CreateLoadBalancer(e.ctx(), &elb.CreateLoadBalancerInput{Name: aws.String(name), Subnets: e.defaultNetwork().subnets[:2]})
	e.must(err)
	arn := aws.ToString(out.LoadBalancers[0].LoadBalancerArn)
	if docID != "" {
		e.sub(docID, lastPart(arn))
	}
	return arn
}

// docLoadBalancer creates the documentation's my-load-balancer.
func (e *exampleEnv) docLoadBalancer() string {
	e.t.Helper()
	return e.loadBalancer("my-load-balancer", "50dc6c495c0c9188")
}

// targetGroup creates an HTTP target group on port 80 in the default VPC
// (made once per name); a documented id, unless empty, becomes its own.
func (e *exampleEnv) targetGroup(name, docID string, targetType elbtypes.TargetTypeEnum) string {
	e.t.Helper()
	out, err := e.elb.CreateTargetGroup(e.ctx(), &elb.CreateTargetGroupInput{
		Name: aws.String(name), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80),
		VpcId: aws.String(e.defaultNetwork().id), TargetType: targetType,
	})
	e.must(err)
	arn := aws.ToString(out.TargetGroups[0].TargetGroupArn)
	if docID != "" {
		e.sub(docID, lastPart(arn))
	}
	return arn
}

// docTargetGroup is the documentation's my-targets, of instances.
func (e *exampleEnv) docTargetGroup() string {
	e.t.Helper()
	return e.targetGroup("my-targets", "73e2d6bc24d8a067", elbtypes.TargetTypeEnumInstance)
}

// listener creates a listener forwarding to tg (HTTPS with cert); a
// documented id, unless empty, becomes its own.
func (e *exampleEnv) listener(lb, docID string, protocol elbtypes.ProtocolEnum, port int32, tg, cert string) string {
	e.t.Helper()
	in := &elb.CreateListenerInput{
		LoadBalancerArn: aws.String(lb), Protocol: protocol, Port: aws.Int32(port),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tg)}},
	}
	if cert != "" {
		in.Certificates = []elbtypes.Certificate{{CertificateArn: aws.String(cert)}}
	}
	out, err := e.elb.CreateListener(e.ctx(), in)
	e.must(err)
	arn := aws.ToString(out.Listeners[0].ListenerArn)
	if docID != "" {
		e.sub(docID, lastPart(arn))
	}
	return arn
}

// docListener is the documentation's HTTP listener on port 80.
func (e *exampleEnv) docListener(lb, tg string) string {
	e.t.Helper()
	return e.listener(lb, "f2f7dc8efc522ab2", elbtypes.ProtocolEnumHttp, 80, tg, "")
}

// docListenerCertificate is the ARN the listener certificate examples
// give a certificate of theirs.
func docListenerCertificate(id string) string {
	return "arn:aws:acm:us-west-2:123456789012:certificate/" + id
}

// docHTTPSListener is the documentation's listener f2f7dc8efc522ab2 made
// HTTPS on port 443, its default certificate and those of its certificate
// list requested with the documented ARNs (unless empty).
func (e *exampleEnv) docHTTPSListener(defaultDocARN string, listDocARNs ...string) string {
	e.t.Helper()
	arn := e.listener(e.docLoadBalancer(), "f2f7dc8efc522ab2", elbtypes.ProtocolEnumHttps, 443, e.docTargetGroup(), e.certificate(defaultDocARN, "www.example.com"))
	if len(listDocARNs) > 0 {
		var certs []elbtypes.Certificate
		for _, doc := range listDocARNs {
			certs = append(certs, elbtypes.Certificate{CertificateArn: aws.String(e.certificate(doc, "www.example.com"))})
		}
		_, err := e.elb.AddListenerCertificates(e.ctx(), &elb.AddListenerCertificatesInput{ListenerArn: aws.String(arn), Certificates: certs})
		e.must(err)
	}
	return arn
}

// rule adds a rule forwarding the requests of a path pattern to tg; a
// documented id, unless empty, becomes its own.
func (e *exampleEnv) rule(listener, docID string, priority int32, path, tg string) string {
	e.t.Helper()
	out, err := e.elb.CreateRule(e.ctx(), &elb.CreateRuleInput{
		ListenerArn: aws.String(listener), Priority: aws.Int32(priority),
		Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: []string{path}}}},
		Actions:    []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tg)}},
	})
	e.must(err)
	arn := aws.ToString(out.Rules[0].RuleArn)
	if docID != "" {
		e.sub(docID, lastPart(arn))
	}
	return arn
}

// elbTags tags a load balancer or target group.
func (e *exampleEnv) elbTags(arn string, keyValues ...string) {
	e.t.Helper()
	var tags []elbtypes.Tag
	for i := 0; i+1 < len(keyValues); i += 2 {
		tags = append(tags, elbtypes.Tag{Key: aws.String(keyValues[i]), Value: aws.String(keyValues[i+1])})
	}
	_, err := e.elb.AddTags(e.ctx(), &elb.AddTagsInput{ResourceArns: []string{arn}, Tags: tags})
	e.must(err)
}

// hostInstance is the EC2 instance id of berth's host, the one container
// instance of every cluster and the one instance a target can be.
func (e *exampleEnv) hostInstance() string {
	e.t.Helper()
	e.cluster("default")
	out, err := e.ecs.DescribeContainerInstances(e.ctx(), &ecs.DescribeContainerInstancesInput{
		Cluster: aws.String("default"), ContainerInstances: []string{e.containerInstance("default")},
	})
	e.must(err)
	return aws.ToString(out.ContainerInstances[0].Ec2InstanceId)
}

// registerHost registers berth's host with a target group of instances,
// on port (0: the group's), and returns its instance id.
func (e *exampleEnv) registerHost(tg string, port int32) string {
	e.t.Helper()
	id := e.hostInstance()
	target := elbtypes.TargetDescription{Id: aws.String(id)}
	if port != 0 {
		target.Port = aws.Int32(port)
	}
	_, err := e.elb.RegisterTargets(e.ctx(), &elb.RegisterTargetsInput{TargetGroupArn: aws.String(tg), Targets: []elbtypes.TargetDescription{target}})
	e.must(err)
	return id
}

// certificate requests a certificate for domain and the other names,
// validated by DNS; the documented ARN, unless empty, becomes its ARN.
func (e *exampleEnv) certificate(docARN, domain string, names ...string) string {
	e.t.Helper()
	return e.requestCertificate(docARN, acmtypes.ValidationMethodDns, domain, names...)
}

// requestCertificate requests a certificate for domain and the other
// names, validated by method; the documented ARN, unless empty, becomes
// its ARN.
func (e *exampleEnv) requestCertificate(docARN string, method acmtypes.ValidationMethod, domain string, names ...string) string {
	e.t.Helper()
	in := &acm.RequestCertificateInput{DomainName: aws.String(domain), ValidationMethod: method}
	if len(names) > 0 {
		in.SubjectAlternativeNames = append([]string{domain}, names...)
	}
	out, err := e.acm.RequestCertificate(e.ctx(), in)
	e.must(err)
	arn := aws.ToString(out.CertificateArn)
	switch {
	case strings.HasPrefix(docARN, "arn:aws:acm:region:"):
		e.sub(docARN, arn)
	case docARN != "":
		e.sub(lastPart(docARN), lastPart(arn))
	}
	return arn
}

// docCertificate is the certificate of www.example.com the ACM examples
// name.
func (e *exampleEnv) docCertificate() string {
	e.t.Helper()
	return e.certificate(docCertificateARN, "www.example.com")
}

// acmTags tags a certificate.
func (e *exampleEnv) acmTags(arn string, keyValues ...string) {
	e.t.Helper()
	var tags []acmtypes.Tag
	for i := 0; i+1 < len(keyValues); i += 2 {
		tags = append(tags, acmtypes.Tag{Key: aws.String(keyValues[i]), Value: aws.String(keyValues[i+1])})
	}
	_, err := e.acm.AddTagsToCertificate(e.ctx(), &acm.AddTagsToCertificateInput{CertificateArn: aws.String(arn), Tags: tags})
	e.must(err)
}

// selfSignedChain makes a certificate of www.example.com issued by a
// certificate authority of its own: the certificate, the chain (the
// authority's) and the certificate's key, in PEM.
func selfSignedChain(e *exampleEnv) (cert, chain, key []byte) {
	e.t.Helper()
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	e.must(err)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Example CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	e.must(err)
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	e.must(err)
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "www.example.com"}, DNSNames: []string{"www.example.com"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(0, 3, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caTmpl, &leafKey.PublicKey, caKey)
	e.must(err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(leafKey)
	e.must(err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

// releaseNetwork deletes what the example left in its region's network
// (load balancers, target groups, security groups, subnets and VPCs, the
// default one too), so that the host's ranges serve the next examples'
// regions, then gives back the ranges the example's own VPCs took. It
// runs after the test's context ends.
func (e *exampleEnv) releaseNetwork() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := e.deleteNetwork(ctx); err != nil {
		e.t.Errorf("cleanup of %s: %v", e.region, err)
		return // the ranges stay taken: a VPC may hold one still
	}
	exampleRanges.Lock()
	defer exampleRanges.Unlock()
	for _, second := range e.net.ranges {
		delete(exampleRanges.taken, second)
	}
}

func (e *exampleEnv) deleteNetwork(ctx context.Context) error {
	lbs, err := e.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
	if err != nil {
		return err
	}
	for _, lb := range lbs.LoadBalancers {
		// modify-load-balancer-attributes#1 protects its load balancer.
		_, err := e.elb.ModifyLoadBalancerAttributes(ctx, &elb.ModifyLoadBalancerAttributesInput{
			LoadBalancerArn: lb.LoadBalancerArn,
			Attributes:      []elbtypes.LoadBalancerAttribute{{Key: aws.String("deletion_protection.enabled"), Value: aws.String("false")}},
		})
		if err != nil {
			return err
		}
		if _, err := e.elb.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: lb.LoadBalancerArn}); err != nil {
			return err
		}
	}
	tgs, err := e.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{})
	if err != nil {
		return err
	}
	for _, tg := range tgs.TargetGroups {
		if _, err := e.elb.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: tg.TargetGroupArn}); err != nil {
			return err
		}
	}
	// Rules naming other groups first, then the groups they name.
	rules, err := e.ec2.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{})
	if err != nil {
		return err
	}
	for _, r := range rules.SecurityGroupRules {
		if r.ReferencedGroupInfo == nil {
			continue
		}
		ids := []string{aws.ToString(r.SecurityGroupRuleId)}
		if aws.ToBool(r.IsEgress) {
			_, err = e.ec2.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: r.GroupId, SecurityGroupRuleIds: ids})
		} else {
			_, err = e.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: r.GroupId, SecurityGroupRuleIds: ids})
		}
		if err != nil {
			return err
		}
	}
	groups, err := e.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
	if err != nil {
		return err
	}
	for _, g := range groups.SecurityGroups {
		if aws.ToString(g.GroupName) == "default" {
			continue // it goes with its VPC
		}
		if _, err := e.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: g.GroupId}); err != nil {
			return err
		}
	}
	subnets, err := e.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	if err != nil {
		return err
	}
	for _, s := range subnets.Subnets {
		if _, err := e.ec2.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: s.SubnetId}); err != nil {
			return err
		}
	}
	vpcs, err := e.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	if err != nil {
		return err
	}
	for _, v := range vpcs.Vpcs {
		if _, err := e.ec2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: v.VpcId}); err != nil {
			return err
		}
	}
	return nil
}
