package loadbalancer

import (
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/berth/berth/internal/elbv2/elbv2state"
)

func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"/api/*", "/api/v1/users", true},
		{"/api/*", "/api", false},
		{"/img/*.png", "/img/a/b.png", true},
		{"/img/*.png", "/img/a/b.jpg", false},
		{"/v?/x", "/v1/x", true},
		{"/v?/x", "/v10/x", false},
		{"*.example.com", "api.example.com", true},
		{"*.example.com", "example.com", false},
		{"*", "", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"exact", "exact", true},
	} {
		if got := globMatch(tc.pattern, tc.s); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v", tc.pattern, tc.s, got)
		}
	}
}

func TestConditions(t *testing.T) {
	src := netip.MustParseAddr("10.0.1.7")
	for _, tc := range []struct {
		name  string
		conds []elbv2state.Condition
		url   string
		hdr   map[string]string
		want  bool
	}{
		{"host, case-insensitively, without the port", []elbv2state.Condition{{Field: "host-header", Values: []string{"API.example.com"}}}, "http://api.EXAMPLE.com:8080/", nil, true},
		{"path is case-sensitive", []elbv2state.Condition{{Field: "path-pattern", Values: []string{"/API/*"}}}, "http://x/api/v1", nil, false},
		{"path ignores the query", []elbv2state.Condition{{Field: "path-pattern", Values: []string{"/a"}}}, "http://x/a?b=c", nil, true},
		{"any value of a condition", []elbv2state.Condition{{Field: "path-pattern", Values: []string{"/x", "/a*"}}}, "http://x/abc", nil, true},
		{"every condition", []elbv2state.Condition{{Field: "path-pattern", Values: []string{"/a*"}}, {Field: "http-request-method", Values: []string{"POST"}}}, "http://x/abc", nil, false},
		{"header value, case-insensitively", []elbv2state.Condition{{Field: "http-header", HeaderName: "x-env", Values: []string{"Prod*"}}}, "http://x/", map[string]string{"X-Env": "production"}, true},
		{"query string key and value", []elbv2state.Condition{{Field: "query-string", QueryStrings: []elbv2state.QueryString{{Key: "version", Value: "v2*"}}}}, "http://x/?version=v2.1", nil, true},
		{"query string value of any key", []elbv2state.Condition{{Field: "query-string", QueryStrings: []elbv2state.QueryString{{Value: "beta"}}}}, "http://x/?mode=beta", nil, true},
		{"source ip", []elbv2state.Condition{{Field: "source-ip", Values: []string{"10.0.0.0/16"}}}, "http://x/", nil, true},
		{"source ip outside", []elbv2state.Condition{{Field: "source-ip", Values: []string{"192.168.0.0/16"}}}, "http://x/", nil, false},
		{"an unknown field matches nothing", []elbv2state.Condition{{Field: "regex"}}, "http://x/", nil, false},
	} {
		r := httptest.NewRequest("GET", tc.url, nil)
		for k, v := range tc.hdr {
			r.Header.Set(k, v)
		}
		if got := compileConditions(tc.conds)(r, r.URL.Query(), src); got != tc.want {
			t.Errorf("%s: %v", tc.name, got)
		}
	}
}

func TestRedirectURL(t *testing.T) {
	for _, tc := range []struct {
		rd   elbv2state.Redirect
		want string
	}{
		{elbv2state.Redirect{Protocol: "HTTPS", Port: "443", StatusCode: "HTTP_301"}, "https://api.example.com/a/b?x=1"},
		{elbv2state.Redirect{Protocol: "#{protocol}", Port: "8443", Host: "new.#{host}", Path: "/v2/#{path}", Query: "#{query}&r=1"}, "http://new.api.example.com:8443/v2/a/b?x=1&r=1"},
		{elbv2state.Redirect{Path: "/", Query: ""}, "http://api.example.com/?x=1"},
	} {
		if got := redirectURL(&tc.rd, "http", "api.example.com", "80", "/a/b", "x=1"); got != tc.want {
			t.Errorf("redirectURL(%+v) = %s, want %s", tc.rd, got, tc.want)
		}
	}
}

func TestHealthStateMachine(t *testing.T) {
	hc := elbv2state.HealthCheck{HealthyThreshold: 3, UnhealthyThreshold: 2}
	pass := checkResult{ok: true}
	fail := checkResult{reason: elbv2state.ReasonResponseCodeMismatch, description: "Health checks failed with these codes: [500]"}
	steps := []struct {
		r      checkResult
		state  string
		reason string
	}{
		{fail, "initial", elbv2state.ReasonInitialHealthChecking},
		{pass, "healthy", ""}, // a new target needs one passing check
		{fail, "healthy", ""},
		{fail, "unhealthy", elbv2state.ReasonResponseCodeMismatch}, // two failures in a row
		{pass, "unhealthy", elbv2state.ReasonResponseCodeMismatch},
		{pass, "unhealthy", elbv2state.ReasonResponseCodeMismatch},
		{pass, "healthy", ""}, // three passes in a row
	}
	h := healthState{state: elbv2state.HealthInitial}
	for i, s := range steps {
		h = h.next(s.r, hc)
		if h.state != s.state || h.reason != s.reason {
			t.Fatalf("step %d: %+v, want %s %s", i, h, s.state, s.reason)
		}
	}
	// A new target that keeps failing turns unhealthy at the threshold.
	h = healthState{state: elbv2state.HealthInitial}
	h = h.next(fail, hc)
	h = h.next(fail, hc)
	if h.state != "unhealthy" || h.description != fail.description {
		t.Errorf("a failing new target: %+v", h)
	}
}

func TestMatchesCodes(t *testing.T) {
	for _, tc := range []struct {
		matcher string
		status  int
		want    bool
	}{
		{"200", 200, true}, {"200", 204, false}, {"200,202", 202, true}, {"200-299", 299, true}, {"200-299", 301, false}, {"200-299,404", 404, true},
	} {
		if got := matchesCodes(tc.matcher, tc.status); got != tc.want {
			t.Errorf("matchesCodes(%q, %d) = %v", tc.matcher, tc.status, got)
		}
	}
}

func TestEligibleTargetsAndPick(t *testing.T) {
	now := time.Now()
	target := func(key, state string, draining bool) *targetRoute {
		return &targetRoute{key: key, addr: "10.0.1.1:80", health: elbv2state.TargetHealth{State: state, CheckedAt: now.Add(-time.Hour)}, draining: draining}
	}
	g := &groupRoute{group: elbv2state.TargetGroup{ARN: "tg"}, targets: map[string]*targetRoute{
		"a": target("a", "healthy", false), "b": target("b", "unhealthy", false), "c": target("c", "healthy", true),
	}}
	if got := eligibleTargets(g); len(got) != 1 || got[0].key != "a" {
		t.Errorf("healthy ones only, never draining: %v", got)
	}
	g.targets["a"].health.State = "unhealthy"
	if got := eligibleTargets(g); len(got) != 2 {
		t.Errorf("all unhealthy fails open to every registered, not draining: %v", got)
	}
	g.targets = map[string]*targetRoute{"c": target("c", "healthy", true)}
	if got := eligibleTargets(g); len(got) != 0 {
		t.Errorf("only a draining target: %v", got)
	}

	l := newLives()
	g = &groupRoute{group: elbv2state.TargetGroup{ARN: "tg"}, targets: map[string]*targetRoute{
		"a": target("a", "healthy", false), "b": target("b", "healthy", false),
	}}
	g.eligible = eligibleTargets(g)
	counts := map[string]int{}
	for range 100 {
		counts[pick(g, l, "", now).key]++
	}
	if counts["a"] != 50 || counts["b"] != 50 {
		t.Errorf("round robin: %v", counts)
	}
	if got := pick(g, l, "b", now); got.key != "b" {
		t.Errorf("sticky: %s", got.key)
	}
	g.algorithm = "least_outstanding_requests"
	l.of("a").inflight.Add(3)
	if got := pick(g, l, "", now); got.key != "b" {
		t.Errorf("least outstanding: %s", got.key)
	}
	// Slow start: a target healthy for a tenth of the duration gets about
	// a tenth of the requests.
	g.algorithm = ""
	g.slowStart = 100 * time.Second
	g.targets["b"].health.CheckedAt = now.Add(-10 * time.Second)
	counts = map[string]int{}
	for range 2000 {
		counts[pick(g, l, "", now).key]++
	}
	if share := float64(counts["b"]) / 2000; share > 0.2 {
		t.Errorf("a target in slow start got %.2f of the requests", share)
	}
}

func TestPickGroup(t *testing.T) {
	f := &elbv2state.Forward{TargetGroups: []elbv2state.WeightedTargetGroup{{ARN: "blue", Weight: 80}, {ARN: "green", Weight: 20}, {ARN: "off", Weight: 0}}}
	counts := map[string]int{}
	for range 5000 {
		counts[pickGroup(f, "")]++
	}
	if counts["off"] != 0 || counts["blue"] < 3700 || counts["blue"] > 4300 {
		t.Errorf("weights 80/20/0: %v", counts)
	}
	if pickGroup(f, "green") != "green" || pickGroup(f, "off") == "off" {
		t.Error("group stickiness")
	}
}

func TestBalancerReady(t *testing.T) {
	a, b := netip.MustParseAddr("10.0.1.20"), netip.MustParseAddr("10.0.2.20")
	http80 := netip.AddrPortFrom(a, 80)
	for _, tc := range []struct {
		name      string
		addresses []netip.Addr
		listeners []netip.AddrPort
		local     []netip.Addr
		served    bool
		want      bool
	}{
		{"no address yet", nil, nil, []netip.Addr{a}, true, false},
		{"served on addresses the host has", []netip.Addr{a, b}, []netip.AddrPort{http80}, []netip.Addr{a, b}, true, true},
		{"no listener: active once addressed", []netip.Addr{a}, nil, []netip.Addr{a}, true, true},
		{"an address the host lacks (VPC not carried)", []netip.Addr{a, b}, []netip.AddrPort{http80}, []netip.Addr{a}, true, false},
		{"a listener not served", []netip.Addr{a}, []netip.AddrPort{http80}, []netip.Addr{a}, false, false},
	} {
		local := map[netip.Addr]bool{}
		for _, l := range tc.local {
			local[l] = true
		}
		br := &balancerRoute{addresses: tc.addresses, listeners: tc.listeners}
		if got := br.ready(local, func(netip.AddrPort) bool { return tc.served }); got != tc.want {
			t.Errorf("%s: ready = %v, want %v", tc.name, got, tc.want)
		}
	}
}
