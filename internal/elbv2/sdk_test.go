package elbv2

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/elbv2/elbv2state"
	"github.com/berth/berth/internal/gateway/gatewaytest"
	"github.com/berth/berth/internal/store"
)

// TestArticle runs the article's commands: a load balancer, a target group
// of IP targets with its health check, and an HTTP listener forwarding to
// it; then the load balancer becomes available once the data plane
// activates it.
func TestArticle(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()

	lb := e.createLB("api-alb")
	arn := aws.ToString(lb.LoadBalancerArn)
	if !regexp.MustCompile(`^arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/api-alb/[0-9a-f]{16}$`).MatchString(arn) {
		t.Fatalf("ARN %s", arn)
	}
	if !regexp.MustCompile(`^api-alb-[0-9]{10}\.us-east-1\.elb\.amazonaws\.com$`).MatchString(aws.ToString(lb.DNSName)) {
		t.Fatalf("DNS name %s", aws.ToString(lb.DNSName))
	}
	if aws.ToString(lb.CanonicalHostedZoneId) != "Z35SXDOTRQ7X7K" || lb.Scheme != types.LoadBalancerSchemeEnumInternetFacing ||
		lb.Type != types.LoadBalancerTypeEnumApplication || lb.State.Code != types.LoadBalancerStateEnumProvisioning ||
		aws.ToString(lb.VpcId) != e.vpc.ID || lb.IpAddressType != types.IpAddressTypeIpv4 ||
		!slices.Equal(lb.SecurityGroups, []string{e.sg.ID}) || !lb.CreatedTime.Equal(e.clock) {
		t.Fatalf("load balancer %+v", lb)
	}
	var zones []string
	for _, z := range lb.AvailabilityZones {
		zones = append(zones, aws.ToString(z.ZoneName)+"="+aws.ToString(z.SubnetId))
		if z.LoadBalancerAddresses == nil || len(z.LoadBalancerAddresses) != 0 {
			t.Fatalf("addresses of %s: %+v", aws.ToString(z.ZoneName), z.LoadBalancerAddresses)
		}
	}
	if want := []string{"us-east-1a=" + e.subnetA.ID, "us-east-1b=" + e.subnetB.ID}; !slices.Equal(zones, want) {
		t.Fatalf("zones %v, want %v", zones, want)
	}
	// One interface per subnet, in EC2's records, for the data plane.
	rec := e.loadBalancerRecord("api-alb")
	id := arn[len(arn)-16:]
	for _, s := range rec.Subnets {
		eni, err := store.Get[ec2state.NetworkInterface](ctx, e.store, ec2state.InterfaceKey(testRegion, s.InterfaceID))
		if err != nil {
			t.Fatalf("interface of %s: %v", s.SubnetID, err)
		}
		if eni.Value.Description != "ELB app/api-alb/"+id || eni.Value.RequesterID != ec2state.RequesterELB ||
			eni.Value.Owner != arn || !slices.Equal(eni.Value.Groups, []string{e.sg.ID}) || eni.Value.SubnetID != s.SubnetID ||
			eni.Value.PrivateIP != s.Address || s.Address == "" {
			t.Fatalf("interface %+v for %+v", eni.Value, s)
		}
	}

	tgOut, err := e.client.CreateTargetGroup(ctx, &sdk.CreateTargetGroupInput{
		Name: aws.String("api-tg"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(8080), VpcId: aws.String(e.vpc.ID),
		TargetType: types.TargetTypeEnumIp, HealthCheckPath: aws.String("/health"), HealthCheckIntervalSeconds: aws.Int32(15),
		HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(3),
	})
	if err != nil {
		t.Fatal(err)
	}
	tg := tgOut.TargetGroups[0]
	if !regexp.MustCompile(`^arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api-tg/[0-9a-f]{16}$`).MatchString(aws.ToString(tg.TargetGroupArn)) ||
		aws.ToString(tg.HealthCheckPath) != "/health" || aws.ToInt32(tg.HealthCheckIntervalSeconds) != 15 ||
		aws.ToInt32(tg.HealthCheckTimeoutSeconds) != 5 || aws.ToInt32(tg.HealthyThresholdCount) != 2 ||
		aws.ToInt32(tg.UnhealthyThresholdCount) != 3 || aws.ToString(tg.HealthCheckPort) != "traffic-port" ||
		tg.HealthCheckProtocol != types.ProtocolEnumHttp || aws.ToString(tg.Matcher.HttpCode) != "200" ||
		!aws.ToBool(tg.HealthCheckEnabled) || aws.ToString(tg.ProtocolVersion) != "HTTP1" || tg.TargetType != types.TargetTypeEnumIp ||
		aws.ToInt32(tg.Port) != 8080 || aws.ToString(tg.VpcId) != e.vpc.ID || tg.LoadBalancerArns != nil {
		t.Fatalf("target group %+v", tg)
	}

	l := e.createListener(lb.LoadBalancerArn, 80, forward(tg.TargetGroupArn))
	if !regexp.MustCompile(`^arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/api-alb/`+id+`/[0-9a-f]{16}$`).MatchString(aws.ToString(l.ListenerArn)) ||
		aws.ToString(l.LoadBalancerArn) != arn || aws.ToInt32(l.Port) != 80 || l.Protocol != types.ProtocolEnumHttp || len(l.DefaultActions) != 1 {
		t.Fatalf("listener %+v", l)
	}
	act := l.DefaultActions[0]
	if act.Type != types.ActionTypeEnumForward || aws.ToString(act.TargetGroupArn) != aws.ToString(tg.TargetGroupArn) ||
		aws.ToInt32(act.Order) != 1 || len(act.ForwardConfig.TargetGroups) != 1 || aws.ToInt32(act.ForwardConfig.TargetGroups[0].Weight) != 1 ||
		aws.ToBool(act.ForwardConfig.TargetGroupStickinessConfig.Enabled) {
		t.Fatalf("action %+v", act)
	}
	// The group now names the load balancer.
	groups, err := e.client.DescribeTargetGroups(ctx, &sdk.DescribeTargetGroupsInput{LoadBalancerArn: lb.LoadBalancerArn})
	if err != nil || len(groups.TargetGroups) != 1 || !slices.Equal(groups.TargetGroups[0].LoadBalancerArns, []string{arn}) {
		t.Fatalf("groups of the load balancer: %+v %v", groups, err)
	}

	// The same command again answers the same load balancer; other
	// settings under its name are refused.
	again := e.createLB("api-alb")
	if aws.ToString(again.LoadBalancerArn) != arn {
		t.Fatalf("re-create: %s", aws.ToString(again.LoadBalancerArn))
	}
	_, err = e.client.CreateLoadBalancer(ctx, &sdk.CreateLoadBalancerInput{Name: aws.String("api-alb"),
		Subnets: []string{e.subnetA.ID, e.subnetB.ID}, Scheme: types.LoadBalancerSchemeEnumInternal})
	gatewaytest.WantError(t, err, "DuplicateLoadBalancerName", "A load balancer with the same name 'api-alb' exists, but with different settings")

	// The data plane serves it: available.
	provisioning, err := e.elb.Provisioning(ctx)
	if err != nil || len(provisioning) != 1 || provisioning[0].ARN != arn {
		t.Fatalf("provisioning: %+v %v", provisioning, err)
	}
	if err := e.elb.Activate(ctx, testRegion, arn); err != nil {
		t.Fatal(err)
	}
	waiter := sdk.NewLoadBalancerAvailableWaiter(e.client, func(o *sdk.LoadBalancerAvailableWaiterOptions) { o.MinDelay = time.Millisecond })
	if err := waiter.Wait(ctx, &sdk.DescribeLoadBalancersInput{Names: []string{"api-alb"}}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if provisioning, _ := e.elb.Provisioning(ctx); len(provisioning) != 0 {
		t.Fatalf("still provisioning: %+v", provisioning)
	}
}

func (e *testEnv) loadBalancerRecord(name string) elbv2state.LoadBalancer {
	e.t.Helper()
	lb, err := store.Get[elbv2state.LoadBalancer](context.Background(), e.store, elbv2state.LoadBalancerKey(testRegion, name))
	if err != nil {
		e.t.Fatal(err)
	}
	return lb.Value
}

func TestCreateLoadBalancerErrors(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	two := []string{e.subnetA.ID, e.subnetB.ID}
	for _, tc := range []struct {
		name string
		in   sdk.CreateLoadBalancerInput
		code string
		msg  string
	}{
		{"long name", sdk.CreateLoadBalancerInput{Name: aws.String(strings.Repeat("a", 33)), Subnets: two},
			"ValidationError", "Load balancer name '" + strings.Repeat("a", 33) + "' cannot be longer than '32' characters"},
		{"bad character", sdk.CreateLoadBalancerInput{Name: aws.String("api_alb"), Subnets: two},
			"ValidationError", "Load balancer name 'api_alb' can only contain characters that are alphanumeric characters or hyphens(-)"},
		{"hyphen first", sdk.CreateLoadBalancerInput{Name: aws.String("-alb"), Subnets: two},
			"ValidationError", "Load balancer name '-alb' cannot begin or end with '-'"},
		{"internal-", sdk.CreateLoadBalancerInput{Name: aws.String("internal-alb"), Subnets: two},
			"ValidationError", "Load balancer name 'internal-alb' cannot begin with 'internal-'"},
		{"one subnet", sdk.CreateLoadBalancerInput{Name: aws.String("alb"), Subnets: []string{e.subnetA.ID}},
			"ValidationError", "At least two subnets in two different Availability Zones must be specified"},
		{"one zone", sdk.CreateLoadBalancerInput{Name: aws.String("alb"), Subnets: []string{e.subnetA.ID, e.subnA2.ID}},
			"InvalidConfigurationRequest", ""},
		{"unknown subnet", sdk.CreateLoadBalancerInput{Name: aws.String("alb"), Subnets: []string{e.subnetA.ID, "subnet-0123456789abcdef0"}},
			"SubnetNotFound", "The subnet ID 'subnet-0123456789abcdef0' is not valid"},
		{"two VPCs", sdk.CreateLoadBalancerInput{Name: aws.String("alb"), Subnets: []string{e.subnetA.ID, e.otherSubnet.ID}},
			"InvalidSubnet", ""},
		{"group of another VPC", sdk.CreateLoadBalancerInput{Name: aws.String("alb"), Subnets: two, SecurityGroups: []string{e.otherSG.ID}},
			"InvalidSecurityGroup", ""},
		{"unknown group", sdk.CreateLoadBalancerInput{Name: aws.String("alb"), Subnets: two, SecurityGroups: []string{"sg-0123456789abcdef0"}},
			"InvalidSecurityGroup", "Security group 'sg-0123456789abcdef0' does not exist"},
		{"network", sdk.CreateLoadBalancerInput{Name: aws.String("nlb"), Subnets: two, Type: types.LoadBalancerTypeEnumNetwork},
			"UnsupportedOperation", "berth does not support network load balancers (berth serves application load balancers) yet."},
		{"dualstack", sdk.CreateLoadBalancerInput{Name: aws.String("alb"), Subnets: two, IpAddressType: types.IpAddressTypeDualstack},
			"UnsupportedOperation", ""},
		{"bad scheme", sdk.CreateLoadBalancerInput{Name: aws.String("alb"), Subnets: two, Scheme: "public"},
			"ValidationError", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.client.CreateLoadBalancer(ctx, &tc.in)
			gatewaytest.WantError(t, err, tc.code, tc.msg)
		})
	}
	// Nothing was made, and no interface was left behind.
	out, err := e.client.DescribeLoadBalancers(ctx, &sdk.DescribeLoadBalancersInput{})
	if err != nil || len(out.LoadBalancers) != 0 {
		t.Fatalf("load balancers: %+v %v", out, err)
	}
	if enis, _, _ := store.List[ec2state.NetworkInterface](ctx, e.store, ec2state.InterfacePrefix, store.ListOptions{}); len(enis) != 0 {
		t.Fatalf("interfaces left: %+v", enis)
	}
}

func TestInternalLoadBalancerDefaultGroup(t *testing.T) {
	e := newTestEnv(t)
	out, err := e.client.CreateLoadBalancer(context.Background(), &sdk.CreateLoadBalancerInput{
		Name: aws.String("inner"), SubnetMappings: []types.SubnetMapping{{SubnetId: aws.String(e.subnetB.ID)}, {SubnetId: aws.String(e.subnetA.ID)}},
		Scheme: types.LoadBalancerSchemeEnumInternal,
		Tags:   []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	lb := out.LoadBalancers[0]
	if !strings.HasPrefix(aws.ToString(lb.DNSName), "internal-inner-") || !slices.Equal(lb.SecurityGroups, []string{e.vpc.DefaultGroupID}) ||
		aws.ToString(lb.AvailabilityZones[0].ZoneName) != "us-east-1a" {
		t.Fatalf("internal load balancer %+v", lb)
	}
	tags, err := e.client.DescribeTags(context.Background(), &sdk.DescribeTagsInput{ResourceArns: []string{aws.ToString(lb.LoadBalancerArn)}})
	if err != nil || len(tags.TagDescriptions) != 1 || len(tags.TagDescriptions[0].Tags) != 1 || aws.ToString(tags.TagDescriptions[0].Tags[0].Value) != "web" {
		t.Fatalf("tags %+v %v", tags, err)
	}
}

func TestDescribeLoadBalancers(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	for _, name := range []string{"c", "a", "b"} {
		e.createLB(name)
	}
	var names []string
	var marker *string
	for {
		out, err := e.client.DescribeLoadBalancers(ctx, &sdk.DescribeLoadBalancersInput{PageSize: aws.Int32(2), Marker: marker})
		if err != nil {
			t.Fatal(err)
		}
		for _, lb := range out.LoadBalancers {
			names = append(names, aws.ToString(lb.LoadBalancerName))
		}
		if marker = out.NextMarker; marker == nil {
			break
		}
	}
	if !slices.Equal(names, []string{"a", "b", "c"}) {
		t.Fatalf("pages: %v", names)
	}
	out, err := e.client.DescribeLoadBalancers(ctx, &sdk.DescribeLoadBalancersInput{Names: []string{"b", "a"}})
	if err != nil || len(out.LoadBalancers) != 2 || aws.ToString(out.LoadBalancers[0].LoadBalancerName) != "b" {
		t.Fatalf("by name: %+v %v", out, err)
	}
	_, err = e.client.DescribeLoadBalancers(ctx, &sdk.DescribeLoadBalancersInput{Names: []string{"a", "missing"}})
	gatewaytest.WantError(t, err, "LoadBalancerNotFound", "One or more load balancers not found")
	arn := "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/a/0123456789abcdef"
	_, err = e.client.DescribeLoadBalancers(ctx, &sdk.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}})
	gatewaytest.WantError(t, err, "LoadBalancerNotFound", "One or more load balancers not found")
	_, err = e.client.DescribeLoadBalancers(ctx, &sdk.DescribeLoadBalancersInput{Names: []string{"a"}, LoadBalancerArns: []string{arn}})
	gatewaytest.WantError(t, err, "ValidationError", "")
	_, err = e.client.DescribeLoadBalancers(ctx, &sdk.DescribeLoadBalancersInput{Marker: aws.String("!!")})
	gatewaytest.WantError(t, err, "ValidationError", "")
}

func TestDeleteLoadBalancer(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	lb := e.createLB("api-alb")
	tg := e.createTG("api-tg")
	l := e.createListener(lb.LoadBalancerArn, 80, forward(tg.TargetGroupArn))
	e.createRule(l.ListenerArn, 10, pathIs("/api/*"), forward(tg.TargetGroupArn))

	// Deletion protection holds it.
	_, err := e.client.ModifyLoadBalancerAttributes(ctx, &sdk.ModifyLoadBalancerAttributesInput{LoadBalancerArn: lb.LoadBalancerArn,
		Attributes: []types.LoadBalancerAttribute{{Key: aws.String("deletion_protection.enabled"), Value: aws.String("true")}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client.DeleteLoadBalancer(ctx, &sdk.DeleteLoadBalancerInput{LoadBalancerArn: lb.LoadBalancerArn})
	gatewaytest.WantError(t, err, "OperationNotPermitted",
		"Load balancer '"+aws.ToString(lb.LoadBalancerArn)+"' cannot be deleted because deletion protection is enabled")
	_, err = e.client.DeleteTargetGroup(ctx, &sdk.DeleteTargetGroupInput{TargetGroupArn: tg.TargetGroupArn})
	gatewaytest.WantError(t, err, "ResourceInUse", "Target group '"+aws.ToString(tg.TargetGroupArn)+"' is currently in use by a listener or a rule")

	_, err = e.client.ModifyLoadBalancerAttributes(ctx, &sdk.ModifyLoadBalancerAttributesInput{LoadBalancerArn: lb.LoadBalancerArn,
		Attributes: []types.LoadBalancerAttribute{{Key: aws.String("deletion_protection.enabled"), Value: aws.String("false")}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeleteLoadBalancer(ctx, &sdk.DeleteLoadBalancerInput{LoadBalancerArn: lb.LoadBalancerArn}); err != nil {
		t.Fatal(err)
	}
	// Its listeners, rules and interfaces went with it; the group is free.
	for _, prefix := range []string{elbv2state.ListenerPrefix, elbv2state.RulePrefix, elbv2state.LoadBalancerPrefix, ec2state.InterfacePrefix} {
		if kvs, _, _ := e.store.List(ctx, prefix, store.ListOptions{}); len(kvs) != 0 {
			t.Fatalf("left under %s: %d", prefix, len(kvs))
		}
	}
	for _, s := range []ec2state.Subnet{e.subnetA, e.subnetB} {
		sub, _ := store.Get[ec2state.Subnet](ctx, e.store, ec2state.SubnetKey(testRegion, s.ID))
		if sub.Value.InUse != 0 {
			t.Fatalf("subnet %s still counts %d interfaces", s.ID, sub.Value.InUse)
		}
	}
	groups, err := e.client.DescribeTargetGroups(ctx, &sdk.DescribeTargetGroupsInput{TargetGroupArns: []string{aws.ToString(tg.TargetGroupArn)}})
	if err != nil || len(groups.TargetGroups[0].LoadBalancerArns) != 0 {
		t.Fatalf("group after: %+v %v", groups, err)
	}
	// Gone already: as AWS, no error.
	if _, err := e.client.DeleteLoadBalancer(ctx, &sdk.DeleteLoadBalancerInput{LoadBalancerArn: lb.LoadBalancerArn}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeleteTargetGroup(ctx, &sdk.DeleteTargetGroupInput{TargetGroupArn: tg.TargetGroupArn}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.DeleteLoadBalancer(ctx, &sdk.DeleteLoadBalancerInput{LoadBalancerArn: aws.String("not-an-arn")})
	gatewaytest.WantError(t, err, "ValidationError", "'not-an-arn' is not a valid load balancer ARN")
}

func TestSetSubnetsAndSecurityGroups(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	lb := e.createLB("api-alb")
	c := e.putSubnet(e.vpc, "10.0.4.0/24", "us-east-1c")
	out, err := e.client.SetSubnets(ctx, &sdk.SetSubnetsInput{LoadBalancerArn: lb.LoadBalancerArn, Subnets: []string{e.subnetB.ID, c.ID}})
	if err != nil {
		t.Fatal(err)
	}
	var zones []string
	for _, z := range out.AvailabilityZones {
		zones = append(zones, aws.ToString(z.SubnetId))
	}
	if !slices.Equal(zones, []string{e.subnetB.ID, c.ID}) {
		t.Fatalf("zones %v", zones)
	}
	rec := e.loadBalancerRecord("api-alb")
	enis, _, _ := store.List[ec2state.NetworkInterface](ctx, e.store, ec2state.InterfacePrefix, store.ListOptions{})
	if len(enis) != 2 || len(rec.Subnets) != 2 {
		t.Fatalf("interfaces %d, subnets %+v", len(enis), rec.Subnets)
	}
	for _, eni := range enis {
		if !slices.ContainsFunc(rec.Subnets, func(s elbv2state.LoadBalancerSubnet) bool { return s.InterfaceID == eni.Value.ID }) {
			t.Fatalf("interface %s is not the load balancer's", eni.Value.ID)
		}
	}
	_, err = e.client.SetSubnets(ctx, &sdk.SetSubnetsInput{LoadBalancerArn: lb.LoadBalancerArn, Subnets: []string{e.otherSubnet.ID, e.otherSubnet.ID}})
	gatewaytest.WantError(t, err, "ValidationError", "At least two subnets in two different Availability Zones must be specified")

	other := e.putGroup(e.vpc, "second")
	sg, err := e.client.SetSecurityGroups(ctx, &sdk.SetSecurityGroupsInput{LoadBalancerArn: lb.LoadBalancerArn, SecurityGroups: []string{e.sg.ID, other.ID}})
	if err != nil || !slices.Equal(sg.SecurityGroupIds, []string{e.sg.ID, other.ID}) {
		t.Fatalf("set groups: %+v %v", sg, err)
	}
	eni, _ := store.Get[ec2state.NetworkInterface](ctx, e.store, ec2state.InterfaceKey(testRegion, rec.Subnets[0].InterfaceID))
	if !slices.Equal(eni.Value.Groups, []string{e.sg.ID, other.ID}) {
		t.Fatalf("interface groups %v", eni.Value.Groups)
	}
	_, err = e.client.SetSecurityGroups(ctx, &sdk.SetSecurityGroupsInput{LoadBalancerArn: lb.LoadBalancerArn, SecurityGroups: []string{e.otherSG.ID}})
	gatewaytest.WantError(t, err, "InvalidSecurityGroup", "")
}

func TestAttributes(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	lb := e.createLB("api-alb")
	out, err := e.client.DescribeLoadBalancerAttributes(ctx, &sdk.DescribeLoadBalancerAttributesInput{LoadBalancerArn: lb.LoadBalancerArn})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, a := range out.Attributes {
		got[aws.ToString(a.Key)] = aws.ToString(a.Value)
	}
	for k, v := range map[string]string{"idle_timeout.timeout_seconds": "60", "deletion_protection.enabled": "false",
		"routing.http2.enabled": "true", "access_logs.s3.bucket": "", "routing.http.xff_header_processing.mode": "append",
		"client_keep_alive.seconds": "3600", "waf.fail_open.enabled": "false", "routing.http.preserve_host_header.enabled": "false"} {
		if val, ok := got[k]; !ok || val != v {
			t.Errorf("%s = %q (%v), want %q", k, val, ok, v)
		}
	}
	mod, err := e.client.ModifyLoadBalancerAttributes(ctx, &sdk.ModifyLoadBalancerAttributesInput{LoadBalancerArn: lb.LoadBalancerArn,
		Attributes: []types.LoadBalancerAttribute{{Key: aws.String("idle_timeout.timeout_seconds"), Value: aws.String("120")},
			{Key: aws.String("access_logs.s3.enabled"), Value: aws.String("true")}, {Key: aws.String("access_logs.s3.bucket"), Value: aws.String("logs")}}})
	if err != nil || !slices.ContainsFunc(mod.Attributes, func(a types.LoadBalancerAttribute) bool {
		return aws.ToString(a.Key) == "idle_timeout.timeout_seconds" && aws.ToString(a.Value) == "120"
	}) {
		t.Fatalf("modify: %+v %v", mod, err)
	}
	for _, tc := range []struct{ key, value, code, msg string }{
		{"x", "1", "ValidationError", "Load balancer attribute key 'x' is not recognized"},
		{"idle_timeout.timeout_seconds", "0", "ValidationError", ""},
		{"idle_timeout.timeout_seconds", "4001", "ValidationError", ""},
		{"routing.http.xff_header_processing.mode", "drop", "ValidationError", ""},
		{"routing.http2.enabled", "yes", "ValidationError", ""},
	} {
		_, err := e.client.ModifyLoadBalancerAttributes(ctx, &sdk.ModifyLoadBalancerAttributesInput{LoadBalancerArn: lb.LoadBalancerArn,
			Attributes: []types.LoadBalancerAttribute{{Key: aws.String(tc.key), Value: aws.String(tc.value)}}})
		gatewaytest.WantError(t, err, tc.code, tc.msg)
	}

	tg := e.createTG("api-tg")
	tga, err := e.client.DescribeTargetGroupAttributes(ctx, &sdk.DescribeTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn})
	if err != nil {
		t.Fatal(err)
	}
	got = map[string]string{}
	for _, a := range tga.Attributes {
		got[aws.ToString(a.Key)] = aws.ToString(a.Value)
	}
	for k, v := range map[string]string{"deregistration_delay.timeout_seconds": "300", "slow_start.duration_seconds": "0",
		"stickiness.enabled": "false", "stickiness.type": "lb_cookie", "stickiness.lb_cookie.duration_seconds": "86400",
		"load_balancing.algorithm.type": "round_robin", "load_balancing.cross_zone.enabled": "use_load_balancer_configuration",
		"target_group_health.unhealthy_state_routing.minimum_healthy_targets.count": "1"} {
		if val, ok := got[k]; !ok || val != v {
			t.Errorf("%s = %q (%v), want %q", k, val, ok, v)
		}
	}
	for _, tc := range []struct {
		attrs map[string]string
		code  string
	}{
		{map[string]string{"deregistration_delay.timeout_seconds": "3601"}, "ValidationError"},
		{map[string]string{"slow_start.duration_seconds": "10"}, "ValidationError"},
		{map[string]string{"stickiness.type": "source_ip"}, "InvalidConfigurationRequest"},
		{map[string]string{"stickiness.enabled": "true", "stickiness.type": "app_cookie"}, "InvalidConfigurationRequest"},
		{map[string]string{"y": "1"}, "ValidationError"},
	} {
		var attrs []types.TargetGroupAttribute
		for k, v := range tc.attrs {
			attrs = append(attrs, types.TargetGroupAttribute{Key: aws.String(k), Value: aws.String(v)})
		}
		_, err := e.client.ModifyTargetGroupAttributes(ctx, &sdk.ModifyTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn, Attributes: attrs})
		gatewaytest.WantError(t, err, tc.code, "")
	}
	ok, err := e.client.ModifyTargetGroupAttributes(ctx, &sdk.ModifyTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn,
		Attributes: []types.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("30")},
			{Key: aws.String("stickiness.enabled"), Value: aws.String("true")}, {Key: aws.String("stickiness.type"), Value: aws.String("app_cookie")},
			{Key: aws.String("stickiness.app_cookie.cookie_name"), Value: aws.String("session")}}})
	if err != nil || len(ok.Attributes) != len(elbv2state.TargetGroupAttributes) {
		t.Fatalf("modify group attributes: %+v %v", ok, err)
	}
}
