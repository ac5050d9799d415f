package elbv2

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/berth/berth/internal/acm/acmstate"
	"github.com/berth/berth/internal/gateway/gatewaytest"
)

func pathIs(patterns ...string) []types.RuleCondition {
	return []types.RuleCondition{{Field: aws.String("path-pattern"), PathPatternConfig: &types.PathPatternConditionConfig{Values: patterns}}}
}

func (e *testEnv) createRule(listenerARN *string, priority int32, conds []types.RuleCondition, actions []types.Action) types.Rule {
	e.t.Helper()
	out, err := e.client.CreateRule(context.Background(), &sdk.CreateRuleInput{
		ListenerArn: listenerARN, Priority: aws.Int32(priority), Conditions: conds, Actions: actions,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out.Rules[0]
}

// priorities are the rules of a listener as DescribeRules lists them.
func (e *testEnv) priorities(listenerARN *string) []string {
	e.t.Helper()
	out, err := e.client.DescribeRules(context.Background(), &sdk.DescribeRulesInput{ListenerArn: listenerARN})
	if err != nil {
		e.t.Fatal(err)
	}
	var got []string
	for _, r := range out.Rules {
		got = append(got, aws.ToString(r.Priority))
	}
	return got
}

func TestRules(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	lb := e.createLB("api-alb")
	web, api := e.createTG("web"), e.createTG("api")
	l := e.createListener(lb.LoadBalancerArn, 80, forward(web.TargetGroupArn))

	r := e.createRule(l.ListenerArn, 10, []types.RuleCondition{
		{Field: aws.String("path-pattern"), Values: []string{"/api/*"}},
		{Field: aws.String("host-header"), HostHeaderConfig: &types.HostHeaderConditionConfig{Values: []string{"api.example.com", "*.api.example.com"}}},
		{Field: aws.String("http-header"), HttpHeaderConfig: &types.HttpHeaderConditionConfig{HttpHeaderName: aws.String("X-Env"), Values: []string{"prod"}}},
	}, forward(api.TargetGroupArn))
	listenerID := aws.ToString(l.ListenerArn)[len(aws.ToString(l.ListenerArn))-16:]
	if !regexp.MustCompile(`^arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/api-alb/[0-9a-f]{16}/`+listenerID+`/[0-9a-f]{16}$`).
		MatchString(aws.ToString(r.RuleArn)) || aws.ToString(r.Priority) != "10" || aws.ToBool(r.IsDefault) {
		t.Fatalf("rule %+v", r)
	}
	// The Values form shows its Config form too.
	c := r.Conditions[0]
	if aws.ToString(c.Field) != "path-pattern" || !slices.Equal(c.Values, []string{"/api/*"}) || !slices.Equal(c.PathPatternConfig.Values, []string{"/api/*"}) {
		t.Fatalf("condition %+v", c)
	}
	if h := r.Conditions[2].HttpHeaderConfig; h == nil || aws.ToString(h.HttpHeaderName) != "X-Env" || r.Conditions[2].Values != nil {
		t.Fatalf("header condition %+v", r.Conditions[2])
	}
	e.createRule(l.ListenerArn, 5, []types.RuleCondition{
		{Field: aws.String("http-request-method"), HttpRequestMethodConfig: &types.HttpRequestMethodConditionConfig{Values: []string{"GET"}}},
		{Field: aws.String("source-ip"), SourceIpConfig: &types.SourceIpConditionConfig{Values: []string{"10.0.0.0/8"}}},
		{Field: aws.String("query-string"), QueryStringConfig: &types.QueryStringConditionConfig{Values: []types.QueryStringKeyValuePair{{Key: aws.String("v"), Value: aws.String("2")}}}},
	}, []types.Action{{Type: types.ActionTypeEnumFixedResponse, FixedResponseConfig: &types.FixedResponseActionConfig{
		StatusCode: aws.String("503"), ContentType: aws.String("text/plain"), MessageBody: aws.String("down")}}})
	if got := e.priorities(l.ListenerArn); !slices.Equal(got, []string{"5", "10", "default"}) {
		t.Fatalf("priorities %v", got)
	}

	// The rule's group now names the load balancer.
	groups, err := e.client.DescribeTargetGroups(ctx, &sdk.DescribeTargetGroupsInput{Names: []string{"api"}})
	if err != nil || !slices.Equal(groups.TargetGroups[0].LoadBalancerArns, []string{aws.ToString(lb.LoadBalancerArn)}) {
		t.Fatalf("api group %+v %v", groups, err)
	}

	_, err = e.client.CreateRule(ctx, &sdk.CreateRuleInput{ListenerArn: l.ListenerArn, Priority: aws.Int32(10),
		Conditions: pathIs("/x"), Actions: forward(api.TargetGroupArn)})
	gatewaytest.WantError(t, err, "PriorityInUse", "Priority '10' is currently in use")
	_, err = e.client.CreateRule(ctx, &sdk.CreateRuleInput{ListenerArn: l.ListenerArn, Priority: aws.Int32(50001),
		Conditions: pathIs("/x"), Actions: forward(api.TargetGroupArn)})
	gatewaytest.WantError(t, err, "ValidationError", "")

	// Reordering, with a clash.
	rules, err := e.client.DescribeRules(ctx, &sdk.DescribeRulesInput{ListenerArn: l.ListenerArn})
	if err != nil {
		t.Fatal(err)
	}
	five, ten, def := rules.Rules[0].RuleArn, rules.Rules[1].RuleArn, rules.Rules[2].RuleArn
	if !aws.ToBool(rules.Rules[2].IsDefault) || len(rules.Rules[2].Conditions) != 0 ||
		aws.ToString(rules.Rules[2].Actions[0].TargetGroupArn) != aws.ToString(web.TargetGroupArn) {
		t.Fatalf("default rule %+v", rules.Rules[2])
	}
	_, err = e.client.SetRulePriorities(ctx, &sdk.SetRulePrioritiesInput{RulePriorities: []types.RulePriorityPair{{RuleArn: five, Priority: aws.Int32(10)}}})
	gatewaytest.WantError(t, err, "PriorityInUse", "Priority '10' is currently in use")
	set, err := e.client.SetRulePriorities(ctx, &sdk.SetRulePrioritiesInput{RulePriorities: []types.RulePriorityPair{
		{RuleArn: five, Priority: aws.Int32(10)}, {RuleArn: ten, Priority: aws.Int32(1)}}})
	if err != nil || len(set.Rules) != 2 {
		t.Fatalf("set priorities: %+v %v", set, err)
	}
	if got := e.priorities(l.ListenerArn); !slices.Equal(got, []string{"1", "10", "default"}) {
		t.Fatalf("priorities after: %v", got)
	}
	_, err = e.client.SetRulePriorities(ctx, &sdk.SetRulePrioritiesInput{RulePriorities: []types.RulePriorityPair{{RuleArn: def, Priority: aws.Int32(3)}}})
	gatewaytest.WantError(t, err, "OperationNotPermitted", "")

	// Modify: the rule's group changes; the default rule's actions are the
	// listener's.
	mod, err := e.client.ModifyRule(ctx, &sdk.ModifyRuleInput{RuleArn: ten, Actions: forward(web.TargetGroupArn)})
	if err != nil || aws.ToString(mod.Rules[0].Actions[0].TargetGroupArn) != aws.ToString(web.TargetGroupArn) || len(mod.Rules[0].Conditions) != 3 {
		t.Fatalf("modify rule: %+v %v", mod, err)
	}
	if groups, _ := e.client.DescribeTargetGroups(ctx, &sdk.DescribeTargetGroupsInput{Names: []string{"api"}}); len(groups.TargetGroups[0].LoadBalancerArns) != 0 {
		t.Fatalf("api group still used: %+v", groups.TargetGroups[0])
	}
	if _, err := e.client.ModifyRule(ctx, &sdk.ModifyRuleInput{RuleArn: def, Actions: forward(api.TargetGroupArn)}); err != nil {
		t.Fatal(err)
	}
	ls, err := e.client.DescribeListeners(ctx, &sdk.DescribeListenersInput{ListenerArns: []string{aws.ToString(l.ListenerArn)}})
	if err != nil || aws.ToString(ls.Listeners[0].DefaultActions[0].TargetGroupArn) != aws.ToString(api.TargetGroupArn) {
		t.Fatalf("listener after its default rule changed: %+v %v", ls, err)
	}
	_, err = e.client.ModifyRule(ctx, &sdk.ModifyRuleInput{RuleArn: def, Conditions: pathIs("/")})
	gatewaytest.WantError(t, err, "OperationNotPermitted", "")

	// Describe by ARNs, the default rule among them.
	byARN, err := e.client.DescribeRules(ctx, &sdk.DescribeRulesInput{RuleArns: []string{aws.ToString(def), aws.ToString(five)}})
	if err != nil || len(byARN.Rules) != 2 || aws.ToString(byARN.Rules[0].Priority) != "default" {
		t.Fatalf("rules by ARN: %+v %v", byARN, err)
	}
	_, err = e.client.DescribeRules(ctx, &sdk.DescribeRulesInput{RuleArns: []string{aws.ToString(five)[:len(aws.ToString(five))-16] + "0123456789abcdef"}})
	gatewaytest.WantError(t, err, "RuleNotFound", "One or more rules not found")
	_, err = e.client.DescribeRules(ctx, &sdk.DescribeRulesInput{})
	gatewaytest.WantError(t, err, "ValidationError", "You must specify either listener rule ARNs or a listener ARN")

	_, err = e.client.DeleteRule(ctx, &sdk.DeleteRuleInput{RuleArn: def})
	gatewaytest.WantError(t, err, "OperationNotPermitted", "")
	if _, err := e.client.DeleteRule(ctx, &sdk.DeleteRuleInput{RuleArn: five}); err != nil {
		t.Fatal(err)
	}
	if got := e.priorities(l.ListenerArn); !slices.Equal(got, []string{"1", "default"}) {
		t.Fatalf("priorities after delete: %v", got)
	}

	// Deleting the listener takes its rules and frees the groups.
	if _, err := e.client.DeleteListener(ctx, &sdk.DeleteListenerInput{ListenerArn: l.ListenerArn}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.DescribeRules(ctx, &sdk.DescribeRulesInput{ListenerArn: l.ListenerArn})
	gatewaytest.WantError(t, err, "ListenerNotFound", "One or more listeners not found")
	for _, tg := range []types.TargetGroup{web, api} {
		if _, err := e.client.DeleteTargetGroup(ctx, &sdk.DeleteTargetGroupInput{TargetGroupArn: tg.TargetGroupArn}); err != nil {
			t.Fatalf("delete %s: %v", aws.ToString(tg.TargetGroupName), err)
		}
	}
}

func TestListeners(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	lb := e.createLB("api-alb")
	tg := e.createTG("api-tg")
	l := e.createListener(lb.LoadBalancerArn, 80, forward(tg.TargetGroupArn))

	// Again with the same settings: the same listener; other settings on
	// its port: a duplicate.
	if again := e.createListener(lb.LoadBalancerArn, 80, forward(tg.TargetGroupArn)); aws.ToString(again.ListenerArn) != aws.ToString(l.ListenerArn) {
		t.Fatalf("re-create: %s", aws.ToString(again.ListenerArn))
	}
	redirect := []types.Action{{Type: types.ActionTypeEnumRedirect, RedirectConfig: &types.RedirectActionConfig{
		Protocol: aws.String("HTTPS"), Port: aws.String("443"), StatusCode: types.RedirectActionStatusCodeEnumHttp301}}}
	_, err := e.client.CreateListener(ctx, &sdk.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: types.ProtocolEnumHttp,
		Port: aws.Int32(80), DefaultActions: redirect})
	gatewaytest.WantError(t, err, "DuplicateListener", "A listener already exists on this port for this load balancer '"+aws.ToString(lb.LoadBalancerArn)+"'")

	e.clock = e.clock.Add(time.Second) // listed after the first
	r := e.createListener(lb.LoadBalancerArn, 8080, redirect)
	rc := r.DefaultActions[0].RedirectConfig
	if aws.ToString(rc.Host) != "#{host}" || aws.ToString(rc.Path) != "/#{path}" || aws.ToString(rc.Query) != "#{query}" ||
		aws.ToString(rc.Port) != "443" || rc.StatusCode != types.RedirectActionStatusCodeEnumHttp301 {
		t.Fatalf("redirect %+v", rc)
	}
	ls, err := e.client.DescribeListeners(ctx, &sdk.DescribeListenersInput{LoadBalancerArn: lb.LoadBalancerArn})
	if err != nil || len(ls.Listeners) != 2 || aws.ToInt32(ls.Listeners[0].Port) != 80 {
		t.Fatalf("listeners %+v %v", ls, err)
	}
	mod, err := e.client.ModifyListener(ctx, &sdk.ModifyListenerInput{ListenerArn: r.ListenerArn, Port: aws.Int32(81)})
	if err != nil || aws.ToInt32(mod.Listeners[0].Port) != 81 {
		t.Fatalf("modify: %+v %v", mod, err)
	}
	_, err = e.client.ModifyListener(ctx, &sdk.ModifyListenerInput{ListenerArn: r.ListenerArn, Port: aws.Int32(80)})
	gatewaytest.WantError(t, err, "DuplicateListener", "")

	// HTTPS needs a certificate ACM has.
	_, err = e.client.CreateListener(ctx, &sdk.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: types.ProtocolEnumHttps,
		Port: aws.Int32(443), DefaultActions: forward(tg.TargetGroupArn)})
	gatewaytest.WantError(t, err, "ValidationError", "A certificate must be specified for HTTPS listeners")
	cert := "arn:aws:acm:us-east-1:123456789012:certificate/3dcb0a41-bd72-4774-9ad9-756919c40557"
	_, err = e.client.CreateListener(ctx, &sdk.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: types.ProtocolEnumHttps,
		Port: aws.Int32(443), DefaultActions: forward(tg.TargetGroupArn), Certificates: []types.Certificate{{CertificateArn: aws.String(cert)}}})
	gatewaytest.WantError(t, err, "CertificateNotFound", "Certificate '"+cert+"' not found")
	_, err = e.client.CreateListener(ctx, &sdk.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: types.ProtocolEnumHttp,
		Port: aws.Int32(90), DefaultActions: forward(tg.TargetGroupArn), SslPolicy: aws.String("ELBSecurityPolicy-2016-08")})
	gatewaytest.WantError(t, err, "ValidationError", "")
	_, err = e.client.CreateListener(ctx, &sdk.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: types.ProtocolEnumTcp,
		Port: aws.Int32(90), DefaultActions: forward(tg.TargetGroupArn)})
	gatewaytest.WantError(t, err, "ValidationError", "Listener protocol 'TCP' must be one of 'HTTPS, HTTP'")
	_, err = e.client.CreateListener(ctx, &sdk.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: types.ProtocolEnumHttp,
		Port: aws.Int32(90), DefaultActions: forward(aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/x/0123456789abcdef"))})
	gatewaytest.WantError(t, err, "TargetGroupNotFound", "Target group 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/x/0123456789abcdef' not found")

	if _, err := e.client.DeleteListener(ctx, &sdk.DeleteListenerInput{ListenerArn: r.ListenerArn}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.DeleteListener(ctx, &sdk.DeleteListenerInput{ListenerArn: r.ListenerArn})
	gatewaytest.WantError(t, err, "ListenerNotFound", "One or more listeners not found")

	pols, err := e.client.DescribeSSLPolicies(ctx, &sdk.DescribeSSLPoliciesInput{Names: []string{"ELBSecurityPolicy-TLS13-1-2-2021-06"}})
	if err != nil || len(pols.SslPolicies) != 1 || aws.ToString(pols.SslPolicies[0].Ciphers[0].Name) != "TLS_AES_128_GCM_SHA256" ||
		!slices.Equal(pols.SslPolicies[0].SslProtocols, []string{"TLSv1.2", "TLSv1.3"}) {
		t.Fatalf("SSL policies %+v %v", pols, err)
	}
	_, err = e.client.DescribeSSLPolicies(ctx, &sdk.DescribeSSLPoliciesInput{Names: []string{"nope"}})
	gatewaytest.WantError(t, err, "SSLPolicyNotFound", "")
}

func TestTargetGroupOfOneLoadBalancer(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	first, second := e.createLB("first"), e.createLB("second")
	tg := e.createTG("shared")
	e.createListener(first.LoadBalancerArn, 80, forward(tg.TargetGroupArn))
	_, err := e.client.CreateListener(ctx, &sdk.CreateListenerInput{LoadBalancerArn: second.LoadBalancerArn, Protocol: types.ProtocolEnumHttp,
		Port: aws.Int32(80), DefaultActions: forward(tg.TargetGroupArn)})
	gatewaytest.WantError(t, err, "TargetGroupAssociationLimit",
		"The following target groups cannot be associated with more than one load balancer: "+aws.ToString(tg.TargetGroupArn))

	// A group of another VPC is refused.
	out, err := e.client.CreateTargetGroup(ctx, &sdk.CreateTargetGroupInput{Name: aws.String("elsewhere"), Protocol: types.ProtocolEnumHttp,
		Port: aws.Int32(80), VpcId: aws.String(e.otherVPC.ID)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client.CreateListener(ctx, &sdk.CreateListenerInput{LoadBalancerArn: second.LoadBalancerArn, Protocol: types.ProtocolEnumHttp,
		Port: aws.Int32(80), DefaultActions: forward(out.TargetGroups[0].TargetGroupArn)})
	gatewaytest.WantError(t, err, "InvalidConfigurationRequest", "")
}

func TestHTTPSListenerCertificates(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	lb := e.createLB("api-alb")
	tg := e.createTG("api-tg")
	certARN := acmstate.ARN(testRegion, testAccount, "3dcb0a41-bd72-4774-9ad9-756919c40557")
	e.put(acmstate.CertificateKey(testRegion, "3dcb0a41-bd72-4774-9ad9-756919c40557"), acmstate.Certificate{
		Region: testRegion, ID: "3dcb0a41-bd72-4774-9ad9-756919c40557", ARN: certARN, Type: acmstate.TypeImported, DomainName: "api.example.com"})
	users := func() []string {
		t.Helper()
		c, err := acmstate.Get(ctx, e.store, testRegion, certARN)
		if err != nil {
			t.Fatal(err)
		}
		return c.Value.InUseBy
	}
	https := func(port int32) *sdk.CreateListenerOutput {
		t.Helper()
		out, err := e.client.CreateListener(ctx, &sdk.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: types.ProtocolEnumHttps,
			Port: aws.Int32(port), DefaultActions: forward(tg.TargetGroupArn), Certificates: []types.Certificate{{CertificateArn: aws.String(certARN)}}})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	first := https(443).Listeners[0]
	if aws.ToString(first.SslPolicy) != "ELBSecurityPolicy-2016-08" || len(first.Certificates) != 1 || aws.ToString(first.Certificates[0].CertificateArn) != certARN {
		t.Fatalf("HTTPS listener %+v", first)
	}
	if got := users(); !slices.Equal(got, []string{aws.ToString(lb.LoadBalancerArn)}) {
		t.Fatalf("certificate users %v", got)
	}
	second := https(8443).Listeners[0]
	// One listener made HTTP drops its certificate; the other still uses it.
	mod, err := e.client.ModifyListener(ctx, &sdk.ModifyListenerInput{ListenerArn: first.ListenerArn, Protocol: types.ProtocolEnumHttp})
	if err != nil || mod.Listeners[0].SslPolicy != nil || len(mod.Listeners[0].Certificates) != 0 {
		t.Fatalf("made HTTP: %+v %v", mod, err)
	}
	if got := users(); len(got) != 1 {
		t.Fatalf("certificate users %v", got)
	}
	_, err = e.client.ModifyListener(ctx, &sdk.ModifyListenerInput{ListenerArn: second.ListenerArn, SslPolicy: aws.String("ELBSecurityPolicy-TLS13-1-2-2021-06")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeleteLoadBalancer(ctx, &sdk.DeleteLoadBalancerInput{LoadBalancerArn: lb.LoadBalancerArn}); err != nil {
		t.Fatal(err)
	}
	if got := users(); len(got) != 0 {
		t.Fatalf("certificate users after the load balancer went: %v", got)
	}
}

// A load balancer's listeners are listed oldest first, not by port.
func TestDescribeListenersOrder(t *testing.T) {
	e := newTestEnv(t)
	lb, tg := e.createLB("order"), e.createTG("order")
	for _, port := range []int32{8443, 80, 8080} {
		e.createListener(lb.LoadBalancerArn, port, forward(tg.TargetGroupArn))
		e.clock = e.clock.Add(time.Second)
	}
	ls, err := e.client.DescribeListeners(context.Background(), &sdk.DescribeListenersInput{LoadBalancerArn: lb.LoadBalancerArn})
	if err != nil {
		t.Fatal(err)
	}
	var ports []int32
	for _, l := range ls.Listeners {
		ports = append(ports, aws.ToInt32(l.Port))
	}
	if !slices.Equal(ports, []int32{8443, 80, 8080}) {
		t.Fatalf("listeners by port %v, want 8443, 80, 8080", ports)
	}
}

// TestListenerCertificateList adds certificates to an HTTPS listener's
// list, lists them beside the default, keeps the list when the default
// changes, refuses to remove the default, and records every one as used.
func TestListenerCertificateList(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	lb := e.createLB("certs-alb")
	tg := e.createTG("certs-tg")
	cert := func(id string) string {
		arn := acmstate.ARN(testRegion, testAccount, id)
		e.put(acmstate.CertificateKey(testRegion, id), acmstate.Certificate{Region: testRegion, ID: id, ARN: arn, Type: acmstate.TypeImported, DomainName: id + ".example.com"})
		return arn
	}
	def, a, b, c := cert("def"), cert("a"), cert("b"), cert("c")
	used := func(arn string) bool {
		t.Helper()
		got, err := acmstate.Get(ctx, e.store, testRegion, arn)
		if err != nil {
			t.Fatal(err)
		}
		return len(got.Value.InUseBy) > 0
	}
	out, err := e.client.CreateListener(ctx, &sdk.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: types.ProtocolEnumHttps,
		Port: aws.Int32(443), DefaultActions: forward(tg.TargetGroupArn), Certificates: []types.Certificate{{CertificateArn: aws.String(def)}}})
	if err != nil {
		t.Fatal(err)
	}
	l := out.Listeners[0].ListenerArn
	list := func() []string {
		t.Helper()
		got, err := e.client.DescribeListenerCertificates(ctx, &sdk.DescribeListenerCertificatesInput{ListenerArn: l})
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, c := range got.Certificates {
			s = append(s, fmt.Sprintf("%s %v", aws.ToString(c.CertificateArn)[len(aws.ToString(c.CertificateArn))-1:], aws.ToBool(c.IsDefault)))
		}
		return s
	}
	certs := func(arns ...string) []types.Certificate {
		var out []types.Certificate
		for _, arn := range arns {
			out = append(out, types.Certificate{CertificateArn: aws.String(arn)})
		}
		return out
	}
	added, err := e.client.AddListenerCertificates(ctx, &sdk.AddListenerCertificatesInput{ListenerArn: l, Certificates: certs(a, b)})
	if err != nil || len(added.Certificates) != 2 || aws.ToBool(added.Certificates[0].IsDefault) {
		t.Fatalf("add: %+v %v", added, err)
	}
	// Added again: no change.
	if _, err := e.client.AddListenerCertificates(ctx, &sdk.AddListenerCertificatesInput{ListenerArn: l, Certificates: certs(a)}); err != nil {
		t.Fatal(err)
	}
	if got := list(); !slices.Equal(got, []string{"a false", "b false", "f true"}) {
		t.Fatalf("certificates %v", got)
	}
	if !used(a) || !used(b) {
		t.Error("added certificates not recorded as used")
	}
	// A new default keeps the list.
	if _, err := e.client.ModifyListener(ctx, &sdk.ModifyListenerInput{ListenerArn: l, Certificates: certs(c)}); err != nil {
		t.Fatal(err)
	}
	if got := list(); !slices.Equal(got, []string{"a false", "b false", "c true"}) {
		t.Fatalf("certificates after a new default %v", got)
	}
	_, err = e.client.RemoveListenerCertificates(ctx, &sdk.RemoveListenerCertificatesInput{ListenerArn: l, Certificates: certs(c)})
	gatewaytest.WantError(t, err, "OperationNotPermitted", "")
	if _, err := e.client.RemoveListenerCertificates(ctx, &sdk.RemoveListenerCertificatesInput{ListenerArn: l, Certificates: certs(a)}); err != nil {
		t.Fatal(err)
	}
	if got := list(); !slices.Equal(got, []string{"b false", "c true"}) {
		t.Fatalf("certificates after a removal %v", got)
	}
	if used(a) || used(def) || !used(b) {
		t.Errorf("used: a %v, def %v, b %v; want b only of those", used(a), used(def), used(b))
	}
	_, err = e.client.AddListenerCertificates(ctx, &sdk.AddListenerCertificatesInput{ListenerArn: l, Certificates: certs(acmstate.ARN(testRegion, testAccount, "missing"))})
	gatewaytest.WantError(t, err, "CertificateNotFound", "")
	// The list of a load balancer holds 25 at the most.
	var many []string
	for i := range maxListCertificates {
		many = append(many, cert(fmt.Sprintf("m%02d", i)))
	}
	_, err = e.client.AddListenerCertificates(ctx, &sdk.AddListenerCertificatesInput{ListenerArn: l, Certificates: certs(many...)})
	gatewaytest.WantError(t, err, "TooManyCertificates", "")
	if got := list(); len(got) != 2 {
		t.Errorf("a refused addition changed the list: %v", got)
	}
	// An HTTP listener has no list.
	plain := e.createListener(lb.LoadBalancerArn, 80, forward(tg.TargetGroupArn))
	_, err = e.client.AddListenerCertificates(ctx, &sdk.AddListenerCertificatesInput{ListenerArn: plain.ListenerArn, Certificates: certs(b)})
	gatewaytest.WantError(t, err, "ValidationError", "")
}
