package elbv2

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/berth/berth/internal/elbv2/elbv2state"
	"github.com/berth/berth/internal/gateway/gatewaytest"
	"github.com/berth/berth/internal/store"
)

func ipTarget(ip string, port int32) types.TargetDescription {
	t := types.TargetDescription{Id: aws.String(ip)}
	if port != 0 {
		t.Port = aws.Int32(port)
	}
	return t
}

func (e *testEnv) register(tgARN *string, targets ...types.TargetDescription) {
	e.t.Helper()
	if _, err := e.client.RegisterTargets(context.Background(), &sdk.RegisterTargetsInput{TargetGroupArn: tgARN, Targets: targets}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *testEnv) wantHealth(tgARN *string, want ...string) {
	e.t.Helper()
	if got := e.health(tgARN); !slices.Equal(got, want) {
		e.t.Fatalf("health\n got %q\nwant %q", got, want)
	}
}

// TestTargetHealthStates walks an IP target through the states
// DescribeTargetHealth shows: unused while no listener forwards to its
// group, registering, the data plane's initial checks and results,
// draining after deregistration, and gone once its drain ends.
func TestTargetHealthStates(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	lb := e.createLB("api-alb")
	tg := e.createTG("api-tg")
	tgID := aws.ToString(tg.TargetGroupArn)[len(aws.ToString(tg.TargetGroupArn))-16:]
	e.register(tg.TargetGroupArn, ipTarget("10.0.1.10", 0), ipTarget("10.0.2.20", 9090))
	e.wantHealth(tg.TargetGroupArn, "10.0.1.10:8080 unused Target.NotInUse", "10.0.2.20:9090 unused Target.NotInUse")

	e.createListener(lb.LoadBalancerArn, 80, forward(tg.TargetGroupArn))
	e.wantHealth(tg.TargetGroupArn, "10.0.1.10:8080 initial Elb.RegistrationInProgress", "10.0.2.20:9090 initial Elb.RegistrationInProgress")
	out, err := e.client.DescribeTargetHealth(ctx, &sdk.DescribeTargetHealthInput{TargetGroupArn: tg.TargetGroupArn})
	if err != nil {
		t.Fatal(err)
	}
	d := out.TargetHealthDescriptions[0]
	if aws.ToString(d.HealthCheckPort) != "8080" || aws.ToString(d.Target.AvailabilityZone) != "us-east-1a" ||
		aws.ToString(d.TargetHealth.Description) != "Target registration is in progress" {
		t.Fatalf("description %+v %+v", d.Target, d.TargetHealth)
	}

	// The data plane's results.
	first := elbv2state.Target{ID: "10.0.1.10", Port: 8080}
	second := elbv2state.Target{ID: "10.0.2.20", Port: 9090}
	record := func(target elbv2state.Target, state, reason, desc string) {
		t.Helper()
		err := elbv2state.RecordHealth(ctx, e.store, testRegion, tgID, target, elbv2state.TargetHealth{State: state, Reason: reason, Description: desc, CheckedAt: e.clock})
		if err != nil {
			t.Fatal(err)
		}
	}
	record(first, elbv2state.HealthInitial, elbv2state.ReasonInitialHealthChecking, "Initial health checks in progress")
	record(second, elbv2state.HealthUnhealthy, elbv2state.ReasonResponseCodeMismatch, "Health checks failed with these codes: [502]")
	e.wantHealth(tg.TargetGroupArn, "10.0.1.10:8080 initial Elb.InitialHealthChecking", "10.0.2.20:9090 unhealthy Target.ResponseCodeMismatch")
	record(first, elbv2state.HealthHealthy, "", "")
	e.wantHealth(tg.TargetGroupArn, "10.0.1.10:8080 healthy", "10.0.2.20:9090 unhealthy Target.ResponseCodeMismatch")

	// Asking about targets: one registered, one not.
	got := e.health(tg.TargetGroupArn, ipTarget("10.0.1.10", 0), ipTarget("10.0.1.99", 0))
	if want := []string{"10.0.1.10:8080 healthy", "10.0.1.99:8080 unused Target.NotRegistered"}; !slices.Equal(got, want) {
		t.Fatalf("asked: %q, want %q", got, want)
	}

	// Deregistered: draining for the group's delay, then gone, even before
	// the sweep.
	if _, err := e.client.ModifyTargetGroupAttributes(ctx, &sdk.ModifyTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn,
		Attributes: []types.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("30")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeregisterTargets(ctx, &sdk.DeregisterTargetsInput{TargetGroupArn: tg.TargetGroupArn,
		Targets: []types.TargetDescription{ipTarget("10.0.1.10", 0)}}); err != nil {
		t.Fatal(err)
	}
	e.wantHealth(tg.TargetGroupArn, "10.0.1.10:8080 draining Target.DeregistrationInProgress", "10.0.2.20:9090 unhealthy Target.ResponseCodeMismatch")
	e.clock = e.clock.Add(29 * time.Second)
	e.wantHealth(tg.TargetGroupArn, "10.0.1.10:8080 draining Target.DeregistrationInProgress", "10.0.2.20:9090 unhealthy Target.ResponseCodeMismatch")
	e.clock = e.clock.Add(time.Second)
	e.wantHealth(tg.TargetGroupArn, "10.0.2.20:9090 unhealthy Target.ResponseCodeMismatch")
	if err := elbv2state.RecordHealth(ctx, e.store, testRegion, tgID, first, elbv2state.TargetHealth{State: "healthy", CheckedAt: e.clock}); err != elbv2state.ErrNotRegistered {
		t.Fatalf("health of a gone target: %v", err)
	}
	if err := e.elb.sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.store.Get(ctx, elbv2state.TargetKey(testRegion, tgID, first)); err == nil {
		t.Fatal("the sweep left the gone target")
	}
	if _, _, err := e.store.Get(ctx, elbv2state.HealthKey(testRegion, tgID, first)); err == nil {
		t.Fatal("the sweep left the gone target's health")
	}

	// Registered again while draining: registering again, health forgotten.
	if _, err := e.client.DeregisterTargets(ctx, &sdk.DeregisterTargetsInput{TargetGroupArn: tg.TargetGroupArn,
		Targets: []types.TargetDescription{ipTarget("10.0.2.20", 9090)}}); err != nil {
		t.Fatal(err)
	}
	e.wantHealth(tg.TargetGroupArn, "10.0.2.20:9090 draining Target.DeregistrationInProgress")
	e.register(tg.TargetGroupArn, ipTarget("10.0.2.20", 9090))
	e.wantHealth(tg.TargetGroupArn, "10.0.2.20:9090 initial Elb.RegistrationInProgress")

	// A delay of 0 removes at once.
	if _, err := e.client.ModifyTargetGroupAttributes(ctx, &sdk.ModifyTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn,
		Attributes: []types.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("0")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeregisterTargets(ctx, &sdk.DeregisterTargetsInput{TargetGroupArn: tg.TargetGroupArn,
		Targets: []types.TargetDescription{ipTarget("10.0.2.20", 9090)}}); err != nil {
		t.Fatal(err)
	}
	e.wantHealth(tg.TargetGroupArn)
}

func TestRegisterIPTargets(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	tg := e.createTG("api-tg")
	for _, tc := range []struct {
		target types.TargetDescription
		msg    string
	}{
		{ipTarget("i-0123", 0), "The IP address 'i-0123' is not a valid IPv4 address"},
		{types.TargetDescription{Id: aws.String("10.0.1.5"), AvailabilityZone: aws.String("all")},
			"The IP address '10.0.1.5' is within the VPC, and cannot have its Availability Zone overridden to 'all' from 'us-east-1a'"},
		{ipTarget("192.168.7.7", 0), "The Availability Zone is required for IP address '192.168.7.7' because it is not in the VPC"},
		{types.TargetDescription{Id: aws.String("8.8.8.8"), AvailabilityZone: aws.String("all")}, "The IP address '8.8.8.8' is not a valid private IP address"},
	} {
		_, err := e.client.RegisterTargets(ctx, &sdk.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn, Targets: []types.TargetDescription{tc.target}})
		gatewaytest.WantError(t, err, "ValidationError", tc.msg)
	}
	e.register(tg.TargetGroupArn, types.TargetDescription{Id: aws.String("192.168.7.7"), AvailabilityZone: aws.String("all"), Port: aws.Int32(80)},
		ipTarget("10.0.2.9", 0), ipTarget("10.0.2.9", 0))
	out, err := e.client.DescribeTargetHealth(ctx, &sdk.DescribeTargetHealthInput{TargetGroupArn: tg.TargetGroupArn})
	if err != nil || len(out.TargetHealthDescriptions) != 2 {
		t.Fatalf("targets %+v %v", out, err)
	}
	zones := map[string]string{}
	for _, d := range out.TargetHealthDescriptions {
		zones[aws.ToString(d.Target.Id)] = aws.ToString(d.Target.AvailabilityZone)
	}
	if zones["192.168.7.7"] != "all" || zones["10.0.2.9"] != "us-east-1b" {
		t.Fatalf("zones %v", zones)
	}
	_, err = e.client.RegisterTargets(ctx, &sdk.RegisterTargetsInput{
		TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api-tg/0123456789abcdef"),
		Targets:        []types.TargetDescription{ipTarget("10.0.2.9", 0)}})
	gatewaytest.WantError(t, err, "TargetGroupNotFound", "One or more target groups not found")
}

func TestInstanceTargets(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	lb := e.createLB("api-alb")
	out, err := e.client.CreateTargetGroup(ctx, &sdk.CreateTargetGroupInput{Name: aws.String("nodes"), Protocol: types.ProtocolEnumHttp,
		Port: aws.Int32(80), VpcId: aws.String(e.vpc.ID)})
	if err != nil {
		t.Fatal(err)
	}
	tg := out.TargetGroups[0]
	if tg.TargetType != types.TargetTypeEnumInstance {
		t.Fatalf("target type %s", tg.TargetType)
	}
	e.createListener(lb.LoadBalancerArn, 80, forward(tg.TargetGroupArn))
	up := e.putNode("0123456789abcdef0123456789abcdef", true)
	down := e.putNode("fedcba9876543210fedcba9876543210", false)
	_, err = e.client.RegisterTargets(ctx, &sdk.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn,
		Targets: []types.TargetDescription{{Id: aws.String(up)}, {Id: aws.String("i-0000000000000000a")}}})
	gatewaytest.WantError(t, err, "InvalidTarget", "The following targets are not valid instances: 'i-0000000000000000a'")
	_, err = e.client.RegisterTargets(ctx, &sdk.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn,
		Targets: []types.TargetDescription{{Id: aws.String("10.0.1.1")}}})
	gatewaytest.WantError(t, err, "ValidationError", "Instance ID '10.0.1.1' is not valid")
	e.register(tg.TargetGroupArn, types.TargetDescription{Id: aws.String(up)}, types.TargetDescription{Id: aws.String(down), Port: aws.Int32(8080)})
	e.wantHealth(tg.TargetGroupArn, up+":80 initial Elb.RegistrationInProgress", down+":8080 unused Target.InvalidState")
}

func TestTargetGroups(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	tg := e.createTG("api-tg")
	// The same again is the same group; other settings are a duplicate.
	if again := e.createTG("api-tg"); aws.ToString(again.TargetGroupArn) != aws.ToString(tg.TargetGroupArn) {
		t.Fatalf("re-create: %s", aws.ToString(again.TargetGroupArn))
	}
	_, err := e.client.CreateTargetGroup(ctx, &sdk.CreateTargetGroupInput{Name: aws.String("api-tg"), Protocol: types.ProtocolEnumHttp,
		Port: aws.Int32(8081), VpcId: aws.String(e.vpc.ID), TargetType: types.TargetTypeEnumIp})
	gatewaytest.WantError(t, err, "DuplicateTargetGroupName", "A target group with the same name 'api-tg' exists, but with different settings")

	vpc := aws.String(e.vpc.ID)
	for _, tc := range []struct {
		name string
		in   sdk.CreateTargetGroupInput
		code string
		msg  string
	}{
		{"no port", sdk.CreateTargetGroupInput{Name: aws.String("x"), Protocol: types.ProtocolEnumHttp, VpcId: vpc}, "ValidationError", "A port must be specified"},
		{"no protocol", sdk.CreateTargetGroupInput{Name: aws.String("x"), Port: aws.Int32(80), VpcId: vpc}, "ValidationError", "A protocol must be specified"},
		{"no VPC", sdk.CreateTargetGroupInput{Name: aws.String("x"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80)}, "ValidationError", "A VPC ID must be specified"},
		{"unknown VPC", sdk.CreateTargetGroupInput{Name: aws.String("x"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: aws.String("vpc-0123456789abcdef0")},
			"ValidationError", "The VPC ID 'vpc-0123456789abcdef0' is not found"},
		{"TCP", sdk.CreateTargetGroupInput{Name: aws.String("x"), Protocol: types.ProtocolEnumTcp, Port: aws.Int32(80), VpcId: vpc}, "UnsupportedOperation", ""},
		{"lambda", sdk.CreateTargetGroupInput{Name: aws.String("x"), TargetType: types.TargetTypeEnumLambda}, "UnsupportedOperation", ""},
		{"name", sdk.CreateTargetGroupInput{Name: aws.String("a--"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: vpc},
			"ValidationError", "Target group name 'a--' cannot begin or end with '-'"},
		{"timeout", sdk.CreateTargetGroupInput{Name: aws.String("x"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: vpc,
			HealthCheckIntervalSeconds: aws.Int32(5)}, "ValidationError", "Health check interval must be greater than the timeout."},
		{"interval range", sdk.CreateTargetGroupInput{Name: aws.String("x"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: vpc,
			HealthCheckIntervalSeconds: aws.Int32(301)}, "ValidationError", ""},
		{"threshold range", sdk.CreateTargetGroupInput{Name: aws.String("x"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: vpc,
			HealthyThresholdCount: aws.Int32(11)}, "ValidationError", ""},
		{"matcher", sdk.CreateTargetGroupInput{Name: aws.String("x"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: vpc,
			Matcher: &types.Matcher{HttpCode: aws.String("200-500")}}, "ValidationError", ""},
		{"disabled", sdk.CreateTargetGroupInput{Name: aws.String("x"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: vpc,
			HealthCheckEnabled: aws.Bool(false)}, "ValidationError", "Health check enabled must be true for target groups with target type 'instance'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.client.CreateTargetGroup(ctx, &tc.in)
			gatewaytest.WantError(t, err, tc.code, tc.msg)
		})
	}

	grpc, err := e.client.CreateTargetGroup(ctx, &sdk.CreateTargetGroupInput{Name: aws.String("grpc"), Protocol: types.ProtocolEnumHttps,
		Port: aws.Int32(443), VpcId: vpc, ProtocolVersion: aws.String("GRPC")})
	if err != nil || aws.ToString(grpc.TargetGroups[0].Matcher.GrpcCode) != "12" || aws.ToString(grpc.TargetGroups[0].HealthCheckPath) != "/AWS.ALB/healthcheck" ||
		grpc.TargetGroups[0].HealthCheckProtocol != types.ProtocolEnumHttps {
		t.Fatalf("gRPC group %+v %v", grpc, err)
	}

	mod, err := e.client.ModifyTargetGroup(ctx, &sdk.ModifyTargetGroupInput{TargetGroupArn: tg.TargetGroupArn, HealthCheckPath: aws.String("/ready"),
		HealthCheckPort: aws.String("9000"), Matcher: &types.Matcher{HttpCode: aws.String("200,202,300-399")}})
	if err != nil || aws.ToString(mod.TargetGroups[0].HealthCheckPath) != "/ready" || aws.ToString(mod.TargetGroups[0].HealthCheckPort) != "9000" ||
		aws.ToString(mod.TargetGroups[0].Matcher.HttpCode) != "200,202,300-399" {
		t.Fatalf("modify: %+v %v", mod, err)
	}
	_, err = e.client.ModifyTargetGroup(ctx, &sdk.ModifyTargetGroupInput{TargetGroupArn: tg.TargetGroupArn, HealthCheckTimeoutSeconds: aws.Int32(30)})
	gatewaytest.WantError(t, err, "ValidationError", "Health check timeout '30' must be smaller than the interval '30'")

	list, err := e.client.DescribeTargetGroups(ctx, &sdk.DescribeTargetGroupsInput{})
	if err != nil || len(list.TargetGroups) != 2 || aws.ToString(list.TargetGroups[0].TargetGroupName) != "api-tg" {
		t.Fatalf("groups %+v %v", list, err)
	}
	_, err = e.client.DescribeTargetGroups(ctx, &sdk.DescribeTargetGroupsInput{Names: []string{"missing"}})
	gatewaytest.WantError(t, err, "TargetGroupNotFound", "One or more target groups not found")

	// A group's deletion takes its targets.
	e.register(tg.TargetGroupArn, ipTarget("10.0.1.4", 0))
	if _, err := e.client.DeleteTargetGroup(ctx, &sdk.DeleteTargetGroupInput{TargetGroupArn: tg.TargetGroupArn}); err != nil {
		t.Fatal(err)
	}
	if kvs, _, _ := e.store.List(ctx, elbv2state.TargetPrefix, store.ListOptions{}); len(kvs) != 0 {
		t.Fatalf("targets left: %d", len(kvs))
	}
}

func TestTags(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	lb := e.createLB("api-alb")
	tg := e.createTG("api-tg")
	l := e.createListener(lb.LoadBalancerArn, 80, forward(tg.TargetGroupArn))
	r := e.createRule(l.ListenerArn, 1, pathIs("/a"), forward(tg.TargetGroupArn))
	arns := []string{aws.ToString(lb.LoadBalancerArn), aws.ToString(tg.TargetGroupArn), aws.ToString(l.ListenerArn), aws.ToString(r.RuleArn)}
	tag := func(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }
	if _, err := e.client.AddTags(ctx, &sdk.AddTagsInput{ResourceArns: arns, Tags: []types.Tag{tag("team", "web"), tag("env", "dev")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.AddTags(ctx, &sdk.AddTagsInput{ResourceArns: arns[:1], Tags: []types.Tag{tag("env", "prod")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.RemoveTags(ctx, &sdk.RemoveTagsInput{ResourceArns: arns[1:2], TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	out, err := e.client.DescribeTags(ctx, &sdk.DescribeTagsInput{ResourceArns: arns})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range out.TagDescriptions {
		s := aws.ToString(d.ResourceArn)[len("arn:aws:elasticloadbalancing:us-east-1:123456789012:"):][:6]
		for _, t := range d.Tags {
			s += " " + aws.ToString(t.Key) + "=" + aws.ToString(t.Value)
		}
		got = append(got, s)
	}
	if want := []string{"loadba team=web env=prod", "target env=dev", "listen team=web env=dev", "listen team=web env=dev"}; !slices.Equal(got, want) {
		t.Fatalf("tags %q, want %q", got, want)
	}
	_, err = e.client.AddTags(ctx, &sdk.AddTagsInput{ResourceArns: arns[:1], Tags: []types.Tag{tag("a", "1"), tag("a", "2")}})
	gatewaytest.WantError(t, err, "DuplicateTagKeys", "")
	many := make([]types.Tag, 50)
	for i := range many {
		many[i] = tag("k"+string(rune('A'+i/26))+string(rune('a'+i%26)), "v")
	}
	_, err = e.client.AddTags(ctx, &sdk.AddTagsInput{ResourceArns: arns[:1], Tags: many})
	gatewaytest.WantError(t, err, "TooManyTags", "")
	_, err = e.client.DescribeTags(ctx, &sdk.DescribeTagsInput{ResourceArns: []string{aws.ToString(tg.TargetGroupArn) + "0"}})
	gatewaytest.WantError(t, err, "TargetGroupNotFound", "")
}

func TestAccountLimitsAndUnsupported(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	out, err := e.client.DescribeAccountLimits(ctx, &sdk.DescribeAccountLimitsInput{})
	if err != nil || len(out.Limits) == 0 {
		t.Fatalf("limits %+v %v", out, err)
	}
	_, err = e.client.DescribeTrustStores(ctx, &sdk.DescribeTrustStoresInput{})
	gatewaytest.WantError(t, err, "UnsupportedOperation", "berth does not support DescribeTrustStores yet.")
}
