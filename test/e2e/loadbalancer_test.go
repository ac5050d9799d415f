package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// lbEnv is a server with the app pushed, for load balancer tests.
type lbEnv struct {
	s       *Server
	image   string
	subnets []string
	vpc     string
}

func startLBEnv(t *testing.T) *lbEnv {
	t.Helper()
	s := StartECSServer(t, ServerOptions{})
	e := &lbEnv{s: s, image: pushToolbox(t, s, "lb-app", "v1"), subnets: defaultSubnets(t, s), vpc: defaultVPC(t, s)}
	s.AWS(t, "ecs", "create-cluster", "--cluster-name", "lb").OK(t)
	return e
}

// lbAddress is the address of the load balancer's interface in its first
// subnet, as describe-network-interfaces shows it.
func (e *lbEnv) lbAddress(t *testing.T, name string) string {
	t.Helper()
	var out struct {
		NetworkInterfaces []struct {
			PrivateIpAddress, SubnetId, Description string
		}
	}
	e.s.AWS(t, "ec2", "describe-network-interfaces", "--filters", "Name=description,Values=ELB app/"+name+"/*").OK(t).Decode(t, &out)
	for _, ni := range out.NetworkInterfaces {
		if ni.SubnetId == e.subnets[0] {
			return ni.PrivateIpAddress
		}
	}
	t.Fatalf("no interface of load balancer %s in %s: %+v", name, e.subnets[0], out)
	return ""
}

// waitHealthy waits until every target of the group is healthy.
func (e *lbEnv) waitHealthy(t *testing.T, tgARN string, n int) {
	t.Helper()
	waitFor(t, 60*time.Second, fmt.Sprintf("%d healthy targets", n), func() bool {
		var out struct {
			TargetHealthDescriptions []struct{ TargetHealth struct{ State string } }
		}
		e.s.AWS(t, "elbv2", "describe-target-health", "--target-group-arn", tgARN).OK(t).Decode(t, &out)
		healthy := 0
		for _, d := range out.TargetHealthDescriptions {
			if d.TargetHealth.State == "healthy" {
				healthy++
			}
		}
		return healthy == n && len(out.TargetHealthDescriptions) == n
	})
}

// get sends a request through the load balancer; it returns the status and
// body.
func get(t *testing.T, url string, header ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// TestLoadBalancerRoutesToTasks puts two tasks behind an ALB by hand, with
// the real CLI, and sends requests through it: both tasks answer, rules
// route by path and answer fixed responses and redirects, and a group
// with no target answers 503.
func TestLoadBalancerRoutesToTasks(t *testing.T) {
	e := startLBEnv(t)
	s := e.s
	simpleTask(t, s, "web", e.image, nil, map[string]any{"portMappings": []map[string]any{{"containerPort": 8080}}})
	var ips []string
	for range 2 {
		arn := runTask(t, s, "--cluster", "lb", "--task-definition", "web", "--launch-type", "FARGATE", "--network-configuration", awsvpcFlag(t, s))
		waitTaskStatus(t, s, "lb", arn, "RUNNING", 2*time.Minute)
		ips = append(ips, taskIP(t, describeTask(t, s, "lb", arn)))
	}

	var tg struct{ TargetGroups []struct{ TargetGroupArn string } }
	s.AWS(t, "elbv2", "create-target-group", "--name", "web-tg", "--protocol", "HTTP", "--port", "8080",
		"--vpc-id", e.vpc, "--target-type", "ip", "--health-check-path", "/health",
		"--health-check-interval-seconds", "5", "--health-check-timeout-seconds", "2", "--healthy-threshold-count", "2", "--unhealthy-threshold-count", "2").OK(t).Decode(t, &tg)
	tgARN := tg.TargetGroups[0].TargetGroupArn
	var lb struct{ LoadBalancers []struct{ LoadBalancerArn, DNSName string } }
	s.AWS(t, "elbv2", "create-load-balancer", "--name", "web-alb", "--subnets", e.subnets[0], e.subnets[1], "--scheme", "internet-facing").OK(t).Decode(t, &lb)
	lbARN := lb.LoadBalancers[0].LoadBalancerArn
	var listener struct{ Listeners []struct{ ListenerArn string } }
	s.AWS(t, "elbv2", "create-listener", "--load-balancer-arn", lbARN, "--protocol", "HTTP", "--port", "80",
		"--default-actions", "Type=forward,TargetGroupArn="+tgARN).OK(t).Decode(t, &listener)
	s.AWS(t, "elbv2", "wait", "load-balancer-available", "--load-balancer-arns", lbARN).OK(t)

	base := "http://" + e.lbAddress(t, "web-alb")
	// No target registered yet: 503, in ALB's words.
	if status, body, h := get(t, base+"/"); status != 503 || !strings.Contains(body, "503 Service Temporarily Unavailable") && !strings.Contains(body, "503 Service Unavailable") || h.Get("Server") != "awselb/2.0" {
		t.Errorf("no targets: %d %q %v", status, body, h)
	}

	s.AWS(t, "elbv2", "register-targets", "--target-group-arn", tgARN, "--targets", "Id="+ips[0]+",Port=8080", "Id="+ips[1]+",Port=8080").OK(t)
	e.waitHealthy(t, tgARN, 2)
	seen := map[string]bool{}
	for range 20 {
		status, body, _ := get(t, base+"/")
		if status != 200 {
			t.Fatalf("GET through the load balancer: %d %s", status, body)
		}
		seen[strings.TrimSpace(body)] = true
	}
	if len(seen) != 2 {
		t.Errorf("answers came from %v, want both tasks", seen)
	}

	// Rules: a fixed response by path, a redirect by header.
	listenerARN := listener.Listeners[0].ListenerArn
	s.AWS(t, "elbv2", "create-rule", "--listener-arn", listenerARN, "--priority", "10",
		"--conditions", "Field=path-pattern,Values=/maintenance*",
		"--actions", `Type=fixed-response,FixedResponseConfig={StatusCode=503,ContentType=text/plain,MessageBody=down for maintenance}`).OK(t)
	s.AWS(t, "elbv2", "create-rule", "--listener-arn", listenerARN, "--priority", "5",
		"--conditions", `Field=http-header,HttpHeaderConfig={HttpHeaderName=X-Old,Values=[yes]}`,
		"--actions", `[{"Type":"redirect","RedirectConfig":{"Host":"new.example.com","Path":"/moved/#{path}","StatusCode":"HTTP_301"}}]`).OK(t)
	waitFor(t, 5*time.Second, "the fixed response", func() bool {
		status, body, _ := get(t, base+"/maintenance/now")
		return status == 503 && body == "down for maintenance"
	})
	if status, _, h := get(t, base+"/a/b?x=1", "X-Old", "yes"); status != 301 || h.Get("Location") != "http://new.example.com:80/moved/a/b?x=1" && h.Get("Location") != "http://new.example.com/moved/a/b?x=1" {
		t.Errorf("redirect: %d %s", status, h.Get("Location"))
	}
	if status, _, _ := get(t, base+"/"); status != 200 {
		t.Errorf("the default action after the rules: %d", status)
	}
}
