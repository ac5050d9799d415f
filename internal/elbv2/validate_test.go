package elbv2

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/elbv2/elbv2state"
	"github.com/berth/berth/internal/elbv2/elbv2types"
)

const tgA = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/a/0123456789abcdef"
const tgB = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/b/0123456789abcdef"

// wantKind checks that err is of kind, with a message containing msg.
func wantKind(t *testing.T, err, kind error, msg string) {
	t.Helper()
	var m *awsapi.MessageError
	switch {
	case kind == nil && err != nil:
		t.Fatalf("unexpected error %v", err)
	case kind == nil:
	case !errors.Is(err, kind):
		t.Fatalf("got %v, want %v", err, kind)
	case msg != "" && (!errors.As(err, &m) || !strings.Contains(m.Message, msg)):
		t.Fatalf("got %v, want a message with %q", err, msg)
	}
}

func TestParseActions(t *testing.T) {
	s := awsapi.String
	http80 := listenerScope{protocol: "HTTP", port: 80}
	https443 := listenerScope{protocol: "HTTPS", port: 443}
	redirect := func(cfg elbv2types.RedirectActionConfig) []elbv2types.Action {
		if cfg.StatusCode == nil {
			cfg.StatusCode = s("HTTP_301")
		}
		return []elbv2types.Action{{Type: s("redirect"), RedirectConfig: &cfg}}
	}
	fixed := func(ct string) []elbv2types.Action {
		return []elbv2types.Action{{Type: s("fixed-response"), FixedResponseConfig: &elbv2types.FixedResponseActionConfig{StatusCode: s("404"), ContentType: awsapi.OptionalString(ct)}}}
	}
	weighted := func(groups ...elbv2types.TargetGroupTuple) []elbv2types.Action {
		return []elbv2types.Action{{Type: s("forward"), ForwardConfig: &elbv2types.ForwardActionConfig{TargetGroups: groups}}}
	}
	tuple := func(arn string, w int32) elbv2types.TargetGroupTuple {
		return elbv2types.TargetGroupTuple{TargetGroupArn: s(arn), Weight: awsapi.Int32(w)}
	}
	for _, tc := range []struct {
		name  string
		in    []elbv2types.Action
		scope listenerScope
		kind  error
		msg   string
	}{
		{"none", nil, http80, elbv2state.ErrValidation, "An action must be specified"},
		{"forward", []elbv2types.Action{{Type: s("forward"), TargetGroupArn: s(tgA)}}, http80, nil, ""},
		{"forward without group", []elbv2types.Action{{Type: s("forward")}}, http80, elbv2state.ErrValidation, "target group ARN must be specified"},
		{"forward with a redirect", []elbv2types.Action{{Type: s("forward"), TargetGroupArn: s(tgA),
			RedirectConfig: &elbv2types.RedirectActionConfig{StatusCode: s("HTTP_301")}}}, http80, elbv2state.ErrValidation, ""},
		{"weighted", weighted(tuple(tgA, 10), tuple(tgB, 0)), http80, nil, ""},
		{"weight over 999", weighted(tuple(tgA, 1000)), http80, elbv2state.ErrValidation, "weight"},
		{"negative weight", weighted(tuple(tgA, -1)), http80, elbv2state.ErrValidation, "weight"},
		{"group twice", weighted(tuple(tgA, 1), tuple(tgA, 2)), http80, elbv2state.ErrValidation, "more than once"},
		{"six groups", weighted(tuple(tgA, 1), tuple(tgB, 1), tuple(tgA+"1", 1), tuple(tgA+"2", 1), tuple(tgA+"3", 1), tuple(tgA+"4", 1)),
			http80, elbv2state.ErrValidation, "at most '5'"},
		{"no groups", weighted(), http80, elbv2state.ErrValidation, ""},
		{"ARN and other config", []elbv2types.Action{{Type: s("forward"), TargetGroupArn: s(tgA),
			ForwardConfig: &elbv2types.ForwardActionConfig{TargetGroups: []elbv2types.TargetGroupTuple{tuple(tgB, 1)}}}}, http80, elbv2state.ErrValidation, ""},
		{"ARN and same config", []elbv2types.Action{{Type: s("forward"), TargetGroupArn: s(tgA),
			ForwardConfig: &elbv2types.ForwardActionConfig{TargetGroups: []elbv2types.TargetGroupTuple{tuple(tgA, 1)}}}}, http80, nil, ""},
		{"stickiness", []elbv2types.Action{{Type: s("forward"), ForwardConfig: &elbv2types.ForwardActionConfig{
			TargetGroups:                []elbv2types.TargetGroupTuple{tuple(tgA, 1)},
			TargetGroupStickinessConfig: &elbv2types.TargetGroupStickinessConfig{Enabled: awsapi.Bool(true), DurationSeconds: awsapi.Int32(3600)}}}}, http80, nil, ""},
		{"stickiness too long", []elbv2types.Action{{Type: s("forward"), ForwardConfig: &elbv2types.ForwardActionConfig{
			TargetGroups:                []elbv2types.TargetGroupTuple{tuple(tgA, 1)},
			TargetGroupStickinessConfig: &elbv2types.TargetGroupStickinessConfig{Enabled: awsapi.Bool(true), DurationSeconds: awsapi.Int32(604801)}}}}, http80, elbv2state.ErrValidation, ""},
		{"to HTTPS", redirect(elbv2types.RedirectActionConfig{Protocol: s("HTTPS"), Port: s("443")}), http80, nil, ""},
		{"changes nothing", redirect(elbv2types.RedirectActionConfig{}), http80, errInvalidAction, "must change"},
		{"same protocol and port", redirect(elbv2types.RedirectActionConfig{Protocol: s("HTTP"), Port: s("80")}), http80, errInvalidAction, "must change"},
		{"new host", redirect(elbv2types.RedirectActionConfig{Host: s("www.#{host}")}), http80, nil, ""},
		{"new path", redirect(elbv2types.RedirectActionConfig{Path: s("/new/#{path}")}), http80, nil, ""},
		{"path without slash", redirect(elbv2types.RedirectActionConfig{Path: s("new")}), http80, errInvalidAction, "must begin with '/'"},
		{"bad port", redirect(elbv2types.RedirectActionConfig{Port: s("70000")}), http80, errInvalidAction, "port"},
		{"HTTPS to HTTP", redirect(elbv2types.RedirectActionConfig{Protocol: s("HTTP")}), https443, errInvalidAction, "HTTPS to HTTP"},
		{"redirect without config", []elbv2types.Action{{Type: s("redirect")}}, http80, elbv2state.ErrValidation, ""},
		{"fixed response", fixed("application/json"), http80, nil, ""},
		{"fixed response without type", fixed(""), http80, nil, ""},
		{"fixed response of another type", fixed("image/png"), http80, errInvalidAction, "ContentType"},
		{"two terminal actions", append(fixed("text/plain"), elbv2types.Action{Type: s("forward"), TargetGroupArn: s(tgA)}), http80, errInvalidAction, ""},
		{"orders for some", []elbv2types.Action{{Type: s("forward"), TargetGroupArn: s(tgA), Order: awsapi.Int32(1)},
			{Type: s("fixed-response"), FixedResponseConfig: &elbv2types.FixedResponseActionConfig{StatusCode: s("200")}}}, http80, elbv2state.ErrValidation, "order"},
		{"authenticate", []elbv2types.Action{{Type: s("authenticate-oidc")}}, http80, errUnsupported, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseActions(tc.in, tc.scope)
			wantKind(t, err, tc.kind, tc.msg)
		})
	}
}

func TestParseActionsRecords(t *testing.T) {
	s := awsapi.String
	got, err := parseActions([]elbv2types.Action{{Type: s("redirect"), Order: awsapi.Int32(3),
		RedirectConfig: &elbv2types.RedirectActionConfig{Protocol: s("HTTPS"), StatusCode: s("HTTP_302")}}}, listenerScope{protocol: "HTTP", port: 80})
	want := []elbv2state.Action{{Type: "redirect", Order: 3, Redirect: &elbv2state.Redirect{
		Protocol: "HTTPS", Port: "#{port}", Host: "#{host}", Path: "/#{path}", Query: "#{query}", StatusCode: "HTTP_302"}}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v %v, want %+v", got, err, want)
	}
	got, err = parseActions([]elbv2types.Action{{Type: s("forward"), ForwardConfig: &elbv2types.ForwardActionConfig{
		TargetGroups: []elbv2types.TargetGroupTuple{{TargetGroupArn: s(tgA)}, {TargetGroupArn: s(tgB), Weight: awsapi.Int32(3)}}}}}, listenerScope{protocol: "HTTP", port: 80})
	want = []elbv2state.Action{{Type: "forward", Order: 1, Forward: &elbv2state.Forward{
		TargetGroups: []elbv2state.WeightedTargetGroup{{ARN: tgA, Weight: 1}, {ARN: tgB, Weight: 3}}}}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v %v, want %+v", got, err, want)
	}
}

func TestParseConditions(t *testing.T) {
	s := awsapi.String
	path := func(values ...string) elbv2types.RuleCondition {
		return elbv2types.RuleCondition{Field: s("path-pattern"), PathPatternConfig: &elbv2types.PathPatternConditionConfig{Values: values}}
	}
	host := func(values ...string) elbv2types.RuleCondition {
		return elbv2types.RuleCondition{Field: s("host-header"), HostHeaderConfig: &elbv2types.HostHeaderConditionConfig{Values: values}}
	}
	header := func(name string, values ...string) elbv2types.RuleCondition {
		return elbv2types.RuleCondition{Field: s("http-header"), HttpHeaderConfig: &elbv2types.HttpHeaderConditionConfig{HttpHeaderName: s(name), Values: values}}
	}
	method := func(values ...string) elbv2types.RuleCondition {
		return elbv2types.RuleCondition{Field: s("http-request-method"), HttpRequestMethodConfig: &elbv2types.HttpRequestMethodConditionConfig{Values: values}}
	}
	query := func(key, value string) elbv2types.RuleCondition {
		return elbv2types.RuleCondition{Field: s("query-string"), QueryStringConfig: &elbv2types.QueryStringConditionConfig{
			Values: []elbv2types.QueryStringKeyValuePair{{Key: awsapi.OptionalString(key), Value: awsapi.OptionalString(value)}}}}
	}
	source := func(values ...string) elbv2types.RuleCondition {
		return elbv2types.RuleCondition{Field: s("source-ip"), SourceIpConfig: &elbv2types.SourceIpConditionConfig{Values: values}}
	}
	for _, tc := range []struct {
		name string
		in   []elbv2types.RuleCondition
		kind error
		msg  string
	}{
		{"none", nil, nil, ""},
		{"path", []elbv2types.RuleCondition{path("/api/*", "/v?/x")}, nil, ""},
		{"legacy path", []elbv2types.RuleCondition{{Field: s("path-pattern"), Values: []string{"/img/*"}}}, nil, ""},
		{"legacy two values", []elbv2types.RuleCondition{{Field: s("path-pattern"), Values: []string{"/a", "/b"}}}, elbv2state.ErrValidation, "limit is '1'"},
		{"values and config", []elbv2types.RuleCondition{{Field: s("path-pattern"), Values: []string{"/a"},
			PathPatternConfig: &elbv2types.PathPatternConditionConfig{Values: []string{"/b"}}}}, elbv2state.ErrValidation, "both Values and 'PathPatternConfig'"},
		{"config of another field", []elbv2types.RuleCondition{{Field: s("host-header"), PathPatternConfig: &elbv2types.PathPatternConditionConfig{Values: []string{"/b"}}}},
			elbv2state.ErrValidation, "not compatible"},
		{"values for a header", []elbv2types.RuleCondition{{Field: s("http-header"), Values: []string{"x"}}}, elbv2state.ErrValidation, "'Values' field is not compatible"},
		{"unknown field", []elbv2types.RuleCondition{{Field: s("cookie")}}, elbv2state.ErrValidation, "Condition field 'cookie' must be one of"},
		{"no field", []elbv2types.RuleCondition{{Values: []string{"/a"}}}, elbv2state.ErrValidation, "field must be specified"},
		{"no value", []elbv2types.RuleCondition{path()}, elbv2state.ErrValidation, "A condition value must be specified"},
		{"long path", []elbv2types.RuleCondition{path("/" + strings.Repeat("a", 128))}, elbv2state.ErrValidation, "too long"},
		{"bad path character", []elbv2types.RuleCondition{path("/a b")}, elbv2state.ErrValidation, "is not valid"},
		{"two paths", []elbv2types.RuleCondition{path("/a"), path("/b")}, elbv2state.ErrValidation, "only have one 'path-pattern'"},
		{"four values", []elbv2types.RuleCondition{path("/a", "/b", "/c", "/d")}, elbv2state.ErrValidation, "'3' values"},
		{"six values", []elbv2types.RuleCondition{path("/a", "/b", "/c"), host("a.example.com", "b.example.com", "c.example.com")},
			elbv2state.ErrValidation, "'5' condition values"},
		{"six wildcards", []elbv2types.RuleCondition{path("/a*", "/b*", "/c*"), header("X-A", "*", "?"), header("X-B", "x*")},
			elbv2state.ErrValidation, ""},
		{"host", []elbv2types.RuleCondition{host("*.example.com", "api.example.org")}, nil, ""},
		{"host without dot", []elbv2types.RuleCondition{host("localhost")}, elbv2state.ErrValidation, "is not valid"},
		{"host ending in a wildcard", []elbv2types.RuleCondition{host("example.*")}, elbv2state.ErrValidation, "is not valid"},
		{"host with an underscore", []elbv2types.RuleCondition{host("a_b.example.com")}, elbv2state.ErrValidation, "is not valid"},
		{"headers", []elbv2types.RuleCondition{header("User-Agent", "*Mobile*"), header("X-Env", "prod")}, nil, ""},
		{"header name too long", []elbv2types.RuleCondition{header(strings.Repeat("x", 41), "a")}, elbv2state.ErrValidation, "limit is '40'"},
		{"header name with a space", []elbv2types.RuleCondition{header("X Y", "a")}, elbv2state.ErrValidation, ""},
		{"host header", []elbv2types.RuleCondition{header("Host", "a.example.com")}, elbv2state.ErrValidation, "host header"},
		{"header without config", []elbv2types.RuleCondition{{Field: s("http-header")}}, elbv2state.ErrValidation, "'HttpHeaderConfig' must be specified"},
		{"methods", []elbv2types.RuleCondition{method("GET", "HEAD", "CUSTOM_VERB")}, nil, ""},
		{"lower-case method", []elbv2types.RuleCondition{method("get")}, elbv2state.ErrValidation, "allowed characters are A-Z"},
		{"query", []elbv2types.RuleCondition{query("version", "v*"), query("", "debug")}, nil, ""},
		{"query without value", []elbv2types.RuleCondition{query("k", "")}, elbv2state.ErrValidation, "'Value' must be specified"},
		{"source", []elbv2types.RuleCondition{source("10.0.0.0/8", "2001:db8::/32")}, nil, ""},
		{"source not a CIDR", []elbv2types.RuleCondition{source("10.0.0.1")}, elbv2state.ErrValidation, "is not valid"},
		{"regex", []elbv2types.RuleCondition{{Field: s("path-pattern"), PathPatternConfig: &elbv2types.PathPatternConditionConfig{RegexValues: []string{"^/a"}}}},
			errUnsupported, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseConditions(tc.in)
			wantKind(t, err, tc.kind, tc.msg)
		})
	}
}

func TestHealthCheck(t *testing.T) {
	base := elbv2state.HealthCheck{Enabled: true, Protocol: "HTTP", Port: "traffic-port", Path: "/",
		IntervalSeconds: 30, TimeoutSeconds: 5, HealthyThreshold: 5, UnhealthyThreshold: 2, HTTPCode: "200"}
	i32 := awsapi.Int32
	for _, tc := range []struct {
		name    string
		in      healthCheckInput
		version string
		modify  bool
		kind    error
		msg     string
	}{
		{"defaults", healthCheckInput{}, "HTTP1", false, nil, ""},
		{"interval equal to timeout", healthCheckInput{Interval: i32(5)}, "HTTP1", false, elbv2state.ErrValidation, "Health check interval must be greater than the timeout."},
		{"modify: timeout equal to interval", healthCheckInput{Timeout: i32(30)}, "HTTP1", true, elbv2state.ErrValidation, "Health check timeout '30' must be smaller than the interval '30'"},
		{"short interval, shorter timeout", healthCheckInput{Interval: i32(5), Timeout: i32(2)}, "HTTP1", false, nil, ""},
		{"port", healthCheckInput{Port: awsapi.String("8081")}, "HTTP1", false, nil, ""},
		{"port zero", healthCheckInput{Port: awsapi.String("0")}, "HTTP1", false, elbv2state.ErrValidation, ""},
		{"port word", healthCheckInput{Port: awsapi.String("http")}, "HTTP1", false, elbv2state.ErrValidation, ""},
		{"path", healthCheckInput{Path: awsapi.String("health")}, "HTTP1", false, elbv2state.ErrValidation, "must begin with '/'"},
		{"TCP", healthCheckInput{Protocol: awsapi.String("TCP")}, "HTTP1", false, elbv2state.ErrValidation, ""},
		{"codes", healthCheckInput{Matcher: &elbv2types.Matcher{HttpCode: awsapi.String("200,202,300-399")}}, "HTTP1", false, nil, ""},
		{"code 500", healthCheckInput{Matcher: &elbv2types.Matcher{HttpCode: awsapi.String("500")}}, "HTTP1", false, elbv2state.ErrValidation, ""},
		{"code 199", healthCheckInput{Matcher: &elbv2types.Matcher{HttpCode: awsapi.String("199-204")}}, "HTTP1", false, elbv2state.ErrValidation, ""},
		{"reversed range", healthCheckInput{Matcher: &elbv2types.Matcher{HttpCode: awsapi.String("300-200")}}, "HTTP1", false, elbv2state.ErrValidation, ""},
		{"gRPC code on HTTP", healthCheckInput{Matcher: &elbv2types.Matcher{GrpcCode: awsapi.String("0")}}, "HTTP1", false, elbv2state.ErrValidation, ""},
		{"gRPC codes", healthCheckInput{Matcher: &elbv2types.Matcher{GrpcCode: awsapi.String("0-99")}}, "GRPC", false, nil, ""},
		{"gRPC code 100", healthCheckInput{Matcher: &elbv2types.Matcher{GrpcCode: awsapi.String("100")}}, "GRPC", false, elbv2state.ErrValidation, ""},
		{"disabled", healthCheckInput{Enabled: awsapi.Bool(false)}, "HTTP1", false, elbv2state.ErrValidation, "must be true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hc := base
			err := applyHealthCheck(&hc, tc.in, "ip", tc.version, tc.modify)
			wantKind(t, err, tc.kind, tc.msg)
		})
	}
}

func TestApplyAttributes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		checks  map[string]attrCheck
		changes map[string]string
		kind    error
		msg     string
	}{
		{"idle timeout", lbAttrChecks, map[string]string{"idle_timeout.timeout_seconds": "4000"}, nil, ""},
		{"idle timeout 0", lbAttrChecks, map[string]string{"idle_timeout.timeout_seconds": "0"}, elbv2state.ErrValidation, "'1-4000'"},
		{"keep alive 59", lbAttrChecks, map[string]string{"client_keep_alive.seconds": "59"}, elbv2state.ErrValidation, ""},
		{"xff mode", lbAttrChecks, map[string]string{"routing.http.xff_header_processing.mode": "preserve"}, nil, ""},
		{"desync", lbAttrChecks, map[string]string{"routing.http.desync_mitigation_mode": "lenient"}, elbv2state.ErrValidation, ""},
		{"cross zone off", lbAttrChecks, map[string]string{"load_balancing.cross_zone.enabled": "false"}, elbv2state.ErrValidation, ""},
		{"unknown key", lbAttrChecks, map[string]string{"proxy_protocol_v2.enabled": "true"}, elbv2state.ErrValidation,
			"Load balancer attribute key 'proxy_protocol_v2.enabled' is not recognized"},
		{"delay", tgAttrChecks, map[string]string{"deregistration_delay.timeout_seconds": "0"}, nil, ""},
		{"delay over", tgAttrChecks, map[string]string{"deregistration_delay.timeout_seconds": "3601"}, elbv2state.ErrValidation, "'0-3600'"},
		{"slow start 30", tgAttrChecks, map[string]string{"slow_start.duration_seconds": "30"}, nil, ""},
		{"slow start 29", tgAttrChecks, map[string]string{"slow_start.duration_seconds": "29"}, elbv2state.ErrValidation, ""},
		{"slow start 901", tgAttrChecks, map[string]string{"slow_start.duration_seconds": "901"}, elbv2state.ErrValidation, ""},
		{"cookie duration", tgAttrChecks, map[string]string{"stickiness.lb_cookie.duration_seconds": "604801"}, elbv2state.ErrValidation, ""},
		{"reserved cookie", tgAttrChecks, map[string]string{"stickiness.app_cookie.cookie_name": "AWSALBsession"}, elbv2state.ErrValidation, ""},
		{"algorithm", tgAttrChecks, map[string]string{"load_balancing.algorithm.type": "least_outstanding_requests"}, nil, ""},
		{"percentage off", tgAttrChecks, map[string]string{"target_group_health.dns_failover.minimum_healthy_targets.percentage": "off"}, nil, ""},
		{"percentage 101", tgAttrChecks, map[string]string{"target_group_health.dns_failover.minimum_healthy_targets.percentage": "101"}, elbv2state.ErrValidation, ""},
		{"source_ip", tgAttrChecks, map[string]string{"stickiness.type": "source_ip"}, errInvalidConfiguration, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			noun := "Target group"
			if reflect.ValueOf(tc.checks).Pointer() == reflect.ValueOf(lbAttrChecks).Pointer() {
				noun = "Load balancer"
			}
			_, err := applyAttributes(noun, tc.checks, nil, tc.changes)
			wantKind(t, err, tc.kind, tc.msg)
		})
	}
	// Every attribute listed has its check, and no check is without one.
	for _, c := range []struct {
		attrs  []elbv2state.Attribute
		checks map[string]attrCheck
	}{{elbv2state.LoadBalancerAttributes, lbAttrChecks}, {elbv2state.TargetGroupAttributes, tgAttrChecks}} {
		if len(c.attrs) != len(c.checks) {
			t.Errorf("%d attributes, %d checks", len(c.attrs), len(c.checks))
		}
		for _, a := range c.attrs {
			check, ok := c.checks[a.Key]
			if !ok {
				t.Errorf("no check of %s", a.Key)
				continue
			}
			if err := check(a.Key, a.Value); err != nil {
				t.Errorf("the default of %s fails its check: %v", a.Key, err)
			}
		}
	}
}

func TestTargetGroupAttributesTogether(t *testing.T) {
	tg := func(attrs map[string]string) elbv2state.TargetGroup { return elbv2state.TargetGroup{Attributes: attrs} }
	for _, tc := range []struct {
		attrs map[string]string
		kind  error
	}{
		{map[string]string{"stickiness.enabled": "true", "stickiness.type": "app_cookie"}, errInvalidConfiguration},
		{map[string]string{"stickiness.enabled": "true", "stickiness.type": "app_cookie", "stickiness.app_cookie.cookie_name": "s"}, nil},
		{map[string]string{"load_balancing.algorithm.type": "least_outstanding_requests", "slow_start.duration_seconds": "30"}, errInvalidConfiguration},
		{map[string]string{"load_balancing.algorithm.anomaly_mitigation": "on"}, errInvalidConfiguration},
		{map[string]string{"load_balancing.algorithm.type": "weighted_random", "load_balancing.algorithm.anomaly_mitigation": "on"}, nil},
	} {
		wantKind(t, checkTargetGroupAttributes(tg(tc.attrs)), tc.kind, "")
	}
}

func TestNames(t *testing.T) {
	for name, ok := range map[string]bool{"a": true, "api-alb": true, "A1-b2": true, strings.Repeat("x", 32): true,
		"": false, strings.Repeat("x", 33): false, "a_b": false, "-a": false, "a-": false, "a.b": false} {
		if err := checkName("Load balancer", name); (err == nil) != ok {
			t.Errorf("%q: %v", name, err)
		}
	}
}

func TestPaginate(t *testing.T) {
	items := []int{1, 2, 3, 4, 5}
	page, next, err := paginate(items, nil, awsapi.Int32(2))
	if err != nil || len(page) != 2 || next == nil {
		t.Fatalf("first page %v %v %v", page, next, err)
	}
	page, next, err = paginate(items, next, awsapi.Int32(2))
	if err != nil || page[0] != 3 || next == nil {
		t.Fatalf("second page %v %v %v", page, next, err)
	}
	page, next, err = paginate(items, next, awsapi.Int32(2))
	if err != nil || len(page) != 1 || page[0] != 5 || next != nil {
		t.Fatalf("last page %v %v %v", page, next, err)
	}
	if _, _, err := paginate(items, awsapi.String("%%%"), nil); !errors.Is(err, elbv2state.ErrValidation) {
		t.Fatalf("bad marker: %v", err)
	}
}
