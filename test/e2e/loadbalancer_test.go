package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/coder/websocket"
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
		if header[i] == "Host" {
			req.Host = header[i+1]
			continue
		}
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

	var tg struct {
		TargetGroups []struct{ TargetGroupArn string }
	}
	s.AWS(t, "elbv2", "create-target-group", "--name", "web-tg", "--protocol", "HTTP", "--port", "8080",
		"--vpc-id", e.vpc, "--target-type", "ip", "--health-check-path", "/health",
		"--health-check-interval-seconds", "5", "--health-check-timeout-seconds", "2", "--healthy-threshold-count", "2", "--unhealthy-threshold-count", "2").OK(t).Decode(t, &tg)
	tgARN := tg.TargetGroups[0].TargetGroupArn
	var lb struct {
		LoadBalancers []struct{ LoadBalancerArn, DNSName string }
	}
	s.AWS(t, "elbv2", "create-load-balancer", "--name", "web-alb", "--subnets", e.subnets[0], e.subnets[1], "--scheme", "internet-facing").OK(t).Decode(t, &lb)
	lbARN := lb.LoadBalancers[0].LoadBalancerArn
	var listener struct {
		Listeners []struct{ ListenerArn string }
	}
	s.AWS(t, "elbv2", "create-listener", "--load-balancer-arn", lbARN, "--protocol", "HTTP", "--port", "80",
		"--default-actions", "Type=forward,TargetGroupArn="+tgARN).OK(t).Decode(t, &listener)
	s.AWS(t, "elbv2", "wait", "load-balancer-available", "--load-balancer-arns", lbARN).OK(t)

	address := e.lbAddress(t, "web-alb")
	base := "http://" + address
	// berth hosts names it for /etc/hosts.
	hosts := Run(t, Command{Name: berthBin, Args: []string{"hosts", "--listen", s.Listen, "--data-dir", s.DataDir, "--region", s.Region}}).OK(t)
	if want := address + "\t" + lb.LoadBalancers[0].DNSName + "\n"; hosts.Stdout != want {
		t.Errorf("berth hosts printed %q, want %q", hosts.Stdout, want)
	}
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

	checkWebSocket(t, address)
	checkStickiness(t, s, tgARN, base)
	checkWeightedForward(t, e, listenerARN, tgARN, ips[1], base)
	checkIdleTimeout(t, s, lbARN, address)
}

// checkWebSocket opens a WebSocket through the load balancer and echoes
// messages over it.
func checkWebSocket(t *testing.T, address string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+address+"/ws", nil)
	if err != nil {
		t.Fatalf("a WebSocket through the load balancer: %v", err)
	}
	defer c.CloseNow()
	for _, msg := range []string{"hello", "again"} {
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_, got, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(string(got), ": "+msg) {
			t.Errorf("the WebSocket echoed %q to %q", got, msg)
		}
	}
	c.Close(websocket.StatusNormalClosure, "")
}

// checkStickiness turns on the target group's load balancer cookie: a
// client that sends the cookie back always reaches the same task.
func checkStickiness(t *testing.T, s *Server, tgARN, base string) {
	t.Helper()
	s.AWS(t, "elbv2", "modify-target-group-attributes", "--target-group-arn", tgARN,
		"--attributes", "Key=stickiness.enabled,Value=true", "Key=stickiness.type,Value=lb_cookie").OK(t)
	var cookie string
	waitFor(t, 5*time.Second, "an AWSALB cookie", func() bool {
		_, _, h := get(t, base+"/")
		for _, c := range (&http.Response{Header: h}).Cookies() {
			if c.Name == "AWSALB" {
				cookie = c.Value
			}
		}
		return cookie != ""
	})
	seen := map[string]bool{}
	for range 10 {
		status, body, _ := get(t, base+"/", "Cookie", "AWSALB="+cookie)
		if status != 200 {
			t.Fatalf("a sticky request: %d %s", status, body)
		}
		seen[strings.TrimSpace(body)] = true
	}
	if len(seen) != 1 {
		t.Errorf("sticky requests reached %v, want one task", seen)
	}
	s.AWS(t, "elbv2", "modify-target-group-attributes", "--target-group-arn", tgARN,
		"--attributes", "Key=stickiness.enabled,Value=false").OK(t)
}

// checkWeightedForward forwards a path to two target groups, all the
// weight on a group of one task: every answer comes from that task.
func checkWeightedForward(t *testing.T, e *lbEnv, listenerARN, tgARN, ip, base string) {
	t.Helper()
	s := e.s
	var tg struct {
		TargetGroups []struct{ TargetGroupArn string }
	}
	s.AWS(t, "elbv2", "create-target-group", "--name", "one-tg", "--protocol", "HTTP", "--port", "8080",
		"--vpc-id", e.vpc, "--target-type", "ip", "--health-check-path", "/health",
		"--health-check-interval-seconds", "5", "--health-check-timeout-seconds", "2", "--healthy-threshold-count", "2").OK(t).Decode(t, &tg)
	oneARN := tg.TargetGroups[0].TargetGroupArn
	s.AWS(t, "elbv2", "register-targets", "--target-group-arn", oneARN, "--targets", "Id="+ip+",Port=8080").OK(t)
	s.AWS(t, "elbv2", "create-rule", "--listener-arn", listenerARN, "--priority", "20",
		"--conditions", `Field=http-header,HttpHeaderConfig={HttpHeaderName=X-Weighted,Values=[yes]}`,
		"--actions", fmt.Sprintf(`[{"Type":"forward","ForwardConfig":{"TargetGroups":[{"TargetGroupArn":"%s","Weight":0},{"TargetGroupArn":"%s","Weight":10}]}}]`, tgARN, oneARN)).OK(t)
	// Checked only once a rule forwards to the group: till then its
	// target is unused, as on AWS.
	e.waitHealthy(t, oneARN, 1)
	_, want, _ := get(t, "http://"+net.JoinHostPort(ip, "8080")+"/")
	// Round robin over both tasks would alternate: ten answers in a row
	// from one task are the rule's.
	waitFor(t, 5*time.Second, "the weighted rule", func() bool {
		for range 10 {
			if status, body, _ := get(t, base+"/", "X-Weighted", "yes"); status != 200 || body != want {
				return false
			}
		}
		return true
	})
}

// checkIdleTimeout sets the load balancer's idle timeout to a second: a
// target that takes longer to answer gets the client a 504, and a client
// connection idle for longer is closed.
func checkIdleTimeout(t *testing.T, s *Server, lbARN, address string) {
	t.Helper()
	s.AWS(t, "elbv2", "modify-load-balancer-attributes", "--load-balancer-arn", lbARN,
		"--attributes", "Key=idle_timeout.timeout_seconds,Value=1").OK(t)
	waitFor(t, 10*time.Second, "a 504 from a slow target", func() bool {
		status, _, h := get(t, "http://"+address+"/sleep/3s")
		return status == 504 && h.Get("Server") == "awselb/2.0"
	})
	if status, body, _ := get(t, "http://"+address+"/sleep/100ms"); status != 200 || body != "slept" {
		t.Errorf("a target that answers within the idle timeout: %d %q", status, body)
	}
	conn, err := net.DialTimeout("tcp", address+":80", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /health HTTP/1.1\r\nHost: idle\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	start := time.Now()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("an idle client connection: read %v, want the load balancer to close it", err)
	} else if idle := time.Since(start); idle < 500*time.Millisecond || idle > 5*time.Second {
		t.Errorf("an idle client connection was closed after %s, want about the idle timeout of 1s", idle)
	}
}

// TestServiceBehindLoadBalancer runs the article's networking: its
// security groups (the tasks admit only the load balancer's group), its
// load balancer, target group and listener, and its create-service with
// --load-balancers. ECS registers the tasks, counts them healthy once
// their targets are, and a deployment behind the load balancer drops no
// request; the groups really drop what they do not admit.
func TestServiceBehindLoadBalancer(t *testing.T) {
	e := startLBEnv(t)
	s := e.s
	var albGroup, taskGroup struct{ GroupId string }
	s.AWS(t, "ec2", "create-security-group", "--group-name", "alb", "--description", "The ALB", "--vpc-id", e.vpc).OK(t).Decode(t, &albGroup)
	s.AWS(t, "ec2", "authorize-security-group-ingress", "--group-id", albGroup.GroupId, "--protocol", "tcp", "--port", "80", "--cidr", "0.0.0.0/0").OK(t)
	// The article's commands, with real ids in place of its placeholders.
	s.AWS(t, "ec2", "create-security-group",
		"--group-name", "ecs-api-tasks",
		"--description", "Allow traffic from ALB to API tasks",
		"--vpc-id", e.vpc).OK(t).Decode(t, &taskGroup)
	s.AWS(t, "ec2", "authorize-security-group-ingress",
		"--group-id", taskGroup.GroupId,
		"--protocol", "tcp",
		"--port", "8080",
		"--source-group", albGroup.GroupId).OK(t)

	var lb struct {
		LoadBalancers []struct{ LoadBalancerArn string }
	}
	s.AWS(t, "elbv2", "create-load-balancer",
		"--name", "api-alb",
		"--subnets", e.subnets[0], e.subnets[1],
		"--security-groups", albGroup.GroupId,
		"--scheme", "internet-facing").OK(t).Decode(t, &lb)
	lbARN := lb.LoadBalancers[0].LoadBalancerArn
	var tg struct {
		TargetGroups []struct{ TargetGroupArn string }
	}
	s.AWS(t, "elbv2", "create-target-group",
		"--name", "api-tg",
		"--protocol", "HTTP",
		"--port", "8080",
		"--vpc-id", e.vpc,
		"--target-type", "ip",
		"--health-check-path", "/health",
		"--health-check-interval-seconds", "15",
		"--healthy-threshold-count", "2",
		"--unhealthy-threshold-count", "3").OK(t).Decode(t, &tg)
	tgARN := tg.TargetGroups[0].TargetGroupArn
	// A short drain keeps the test short; the promise is the same.
	s.AWS(t, "elbv2", "modify-target-group-attributes", "--target-group-arn", tgARN, "--attributes", "Key=deregistration_delay.timeout_seconds,Value=3").OK(t)
	s.AWS(t, "elbv2", "create-listener",
		"--load-balancer-arn", lbARN,
		"--protocol", "HTTP",
		"--port", "80",
		"--default-actions", "Type=forward,TargetGroupArn="+tgARN).OK(t)

	simpleTask(t, s, "api", e.image, nil, map[string]any{"portMappings": []map[string]any{{"containerPort": 8080}}})
	network := fmt.Sprintf(`{"awsvpcConfiguration": {"subnets": ["%s", "%s"], "securityGroups": ["%s"], "assignPublicIp": "DISABLED"}}`,
		e.subnets[0], e.subnets[1], taskGroup.GroupId)
	s.AWS(t, "ecs", "create-service",
		"--cluster", "lb",
		"--service-name", "api-service",
		"--task-definition", "api",
		"--desired-count", "2",
		"--launch-type", "FARGATE",
		"--network-configuration", network,
		"--load-balancers", fmt.Sprintf(`[{"targetGroupArn": "%s", "containerName": "app", "containerPort": 8080}]`, tgARN),
		"--health-check-grace-period-seconds", "120",
		"--deployment-configuration", `{"maximumPercent": 200, "minimumHealthyPercent": 100}`).OK(t)
	waitSteady := func(what string) {
		t.Helper()
		waitFor(t, 3*time.Minute, what, func() bool {
			var out struct {
				Services []struct {
					RunningCount int
					Deployments  []struct{ RolloutState string }
				}
			}
			s.AWS(t, "ecs", "describe-services", "--cluster", "lb", "--services", "api-service").OK(t).Decode(t, &out)
			sv := out.Services[0]
			return sv.RunningCount == 2 && len(sv.Deployments) == 1 && sv.Deployments[0].RolloutState == "COMPLETED"
		})
	}
	waitSteady("a steady service behind the load balancer")
	e.waitHealthy(t, tgARN, 2)

	base := "http://" + e.lbAddress(t, "api-alb")
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

	// The tasks' group admits the load balancer only: not the host, not a
	// task outside the load balancer's group.
	var tasks struct{ TaskArns []string }
	s.AWS(t, "ecs", "list-tasks", "--cluster", "lb", "--service-name", "api-service").OK(t).Decode(t, &tasks)
	ip := taskIP(t, describeTask(t, s, "lb", tasks.TaskArns[0]))
	if c, err := (&http.Client{Timeout: 2 * time.Second}).Get("http://" + ip + ":8080/"); err == nil {
		c.Body.Close()
		t.Errorf("the host reached a task its group does not admit it to")
	}
	simpleTask(t, s, "prober", e.image, []string{"-check", "http://" + ip + ":8080/health"}, nil)
	probe := runTask(t, s, "--cluster", "lb", "--task-definition", "prober", "--launch-type", "FARGATE", "--network-configuration", awsvpcFlag(t, s))
	probed := waitTaskStatus(t, s, "lb", probe, "STOPPED", 2*time.Minute)
	if code := container(t, probed, "app").ExitCode; code == nil || *code == 0 {
		t.Errorf("a task outside the load balancer's group reached the API task: exit %v", code)
	}

	// A deployment behind the load balancer drops no request.
	stop := make(chan struct{})
	failures := make(chan string, 1000)
	var sent atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 10 * time.Second}
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Get(base + "/")
				sent.Add(1)
				if err != nil {
					failures <- time.Now().Format(time.StampMilli) + " " + err.Error()
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					failures <- time.Now().Format(time.StampMilli) + " " + resp.Status
				}
			}
		}()
	}
	s.AWS(t, "ecs", "update-service", "--cluster", "lb", "--service", "api-service", "--force-new-deployment").OK(t)
	time.Sleep(2 * time.Second)
	waitSteady("the new deployment")
	close(stop)
	wg.Wait()
	close(failures)
	var failed []string
	for f := range failures {
		failed = append(failed, f)
	}
	if len(failed) > 0 || sent.Load() < 50 {
		t.Errorf("%d requests during the deployment, %d failed: %v", sent.Load(), len(failed), failed[:min(len(failed), 10)])
	}
	var events struct {
		Services []struct{ Events []struct{ Message string } }
	}
	s.AWS(t, "ecs", "describe-services", "--cluster", "lb", "--services", "api-service").OK(t).Decode(t, &events)
	var registeredEvent, deregisteredEvent bool
	for _, ev := range events.Services[0].Events {
		registeredEvent = registeredEvent || ev.Message == "(service api-service) registered 1 targets in (target-group "+tgARN+")"
		deregisteredEvent = deregisteredEvent || ev.Message == "(service api-service) deregistered 1 targets in (target-group "+tgARN+")"
	}
	if !registeredEvent || !deregisteredEvent {
		t.Errorf("service events lack the target registrations: %+v", events.Services[0].Events)
	}
}

// TestHTTPSListener serves HTTPS with a certificate of ACM's
// RequestCertificate, trusted through berth ca, and redirects HTTP to it.
func TestHTTPSListener(t *testing.T) {
	e := startLBEnv(t)
	s := e.s
	simpleTask(t, s, "web", e.image, nil, map[string]any{"portMappings": []map[string]any{{"containerPort": 8080}}})
	arn := runTask(t, s, "--cluster", "lb", "--task-definition", "web", "--launch-type", "FARGATE", "--network-configuration", awsvpcFlag(t, s))
	ip := taskIP(t, waitTaskStatus(t, s, "lb", arn, "RUNNING", 2*time.Minute))

	var cert struct{ CertificateArn string }
	s.AWS(t, "acm", "request-certificate", "--domain-name", "api.example.com", "--validation-method", "DNS").OK(t).Decode(t, &cert)
	s.AWS(t, "acm", "wait", "certificate-validated", "--certificate-arn", cert.CertificateArn).OK(t)
	var tg struct {
		TargetGroups []struct{ TargetGroupArn string }
	}
	s.AWS(t, "elbv2", "create-target-group", "--name", "tls-tg", "--protocol", "HTTP", "--port", "8080", "--vpc-id", e.vpc,
		"--target-type", "ip", "--health-check-path", "/health", "--health-check-interval-seconds", "5", "--health-check-timeout-seconds", "2").OK(t).Decode(t, &tg)
	tgARN := tg.TargetGroups[0].TargetGroupArn
	var lb struct {
		LoadBalancers []struct{ LoadBalancerArn string }
	}
	s.AWS(t, "elbv2", "create-load-balancer", "--name", "tls-alb", "--subnets", e.subnets[0], e.subnets[1]).OK(t).Decode(t, &lb)
	lbARN := lb.LoadBalancers[0].LoadBalancerArn
	// The article's listener, with real ARNs.
	s.AWS(t, "elbv2", "create-listener",
		"--load-balancer-arn", lbARN,
		"--protocol", "HTTPS",
		"--port", "443",
		"--certificates", "CertificateArn="+cert.CertificateArn,
		"--default-actions", "Type=forward,TargetGroupArn="+tgARN).OK(t)
	s.AWS(t, "elbv2", "create-listener", "--load-balancer-arn", lbARN, "--protocol", "HTTP", "--port", "80",
		"--default-actions", `[{"Type":"redirect","RedirectConfig":{"Protocol":"HTTPS","Port":"443","StatusCode":"HTTP_301"}}]`).OK(t)
	s.AWS(t, "elbv2", "register-targets", "--target-group-arn", tgARN, "--targets", "Id="+ip+",Port=8080").OK(t)
	s.AWS(t, "elbv2", "wait", "load-balancer-available", "--load-balancer-arns", lbARN).OK(t)
	e.waitHealthy(t, tgARN, 1)
	// A certificate in use cannot be deleted.
	s.AWS(t, "acm", "delete-certificate", "--certificate-arn", cert.CertificateArn).Fails(t, "ResourceInUseException")

	address := e.lbAddress(t, "tls-alb")
	caFile := filepath.Join(t.TempDir(), "berth-ca.pem")
	ca := Run(t, Command{Name: berthBin, Args: []string{"ca", "--data-dir", s.DataDir}}).OK(t)
	if err := os.WriteFile(caFile, []byte(ca.Stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	// curl, as a user would, trusting berth's authority.
	out := Run(t, Command{Name: "curl", Args: []string{"--silent", "--show-error", "--fail", "--cacert", caFile,
		"--resolve", "api.example.com:443:" + address, "https://api.example.com/"}}).OK(t)
	if strings.TrimSpace(out.Stdout) == "" {
		t.Errorf("curl through HTTPS answered nothing")
	}
	// HTTP/2 to clients, as ALB speaks it over TLS.
	h2 := Run(t, Command{Name: "curl", Args: []string{"--silent", "--show-error", "--fail", "--http2", "--cacert", caFile,
		"--resolve", "api.example.com:443:" + address, "--output", "/dev/null", "--write-out", "%{http_version}", "https://api.example.com/"}}).OK(t)
	if h2.Stdout != "2" {
		t.Errorf("curl --http2 spoke HTTP/%s", h2.Stdout)
	}
	status, _, h := get(t, "http://"+address+"/path?q=1", "Host", "api.example.com")
	if status != 301 || h.Get("Location") != "https://api.example.com/path?q=1" {
		t.Errorf("HTTP to HTTPS redirect: %d %s", status, h.Get("Location"))
	}

	// A certificate added to the listener's list serves the clients that
	// ask for its name (SNI); the others still get the default.
	var other struct{ CertificateArn string }
	s.AWS(t, "acm", "request-certificate", "--domain-name", "www.example.org", "--validation-method", "DNS").OK(t).Decode(t, &other)
	var listeners struct {
		Listeners []struct{ ListenerArn, Protocol string }
	}
	s.AWS(t, "elbv2", "describe-listeners", "--load-balancer-arn", lbARN).OK(t).Decode(t, &listeners)
	for _, l := range listeners.Listeners {
		if l.Protocol == "HTTPS" {
			s.AWS(t, "elbv2", "add-listener-certificates", "--listener-arn", l.ListenerArn, "--certificates", "CertificateArn="+other.CertificateArn).OK(t)
		}
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(ca.Stdout))
	for _, name := range []string{"www.example.org", "api.example.com"} {
		waitFor(t, 5*time.Second, "the certificate of "+name, func() bool {
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", address+":443", &tls.Config{ServerName: name, RootCAs: roots})
			if err != nil {
				return false
			}
			defer conn.Close()
			return slices.Contains(conn.ConnectionState().PeerCertificates[0].DNSNames, name)
		})
	}
}

// TestTargetHealthStates follows a target through DescribeTargetHealth's
// states as ALB words them (a group no listener uses, a failing health
// path, a target not registered, one draining), then a service whose task
// fails its target's health checks: ECS replaces it, saying why.
func TestTargetHealthStates(t *testing.T) {
	e := startLBEnv(t)
	s := e.s
	simpleTask(t, s, "sick", e.image, []string{"-health-status", "500"}, map[string]any{"portMappings": []map[string]any{{"containerPort": 8080}}})
	arn := runTask(t, s, "--cluster", "lb", "--task-definition", "sick", "--launch-type", "FARGATE", "--network-configuration", awsvpcFlag(t, s))
	ip := taskIP(t, waitTaskStatus(t, s, "lb", arn, "RUNNING", 2*time.Minute))

	var tg struct {
		TargetGroups []struct{ TargetGroupArn string }
	}
	s.AWS(t, "elbv2", "create-target-group", "--name", "sick-tg", "--protocol", "HTTP", "--port", "8080", "--vpc-id", e.vpc,
		"--target-type", "ip", "--health-check-path", "/health", "--health-check-interval-seconds", "5",
		"--health-check-timeout-seconds", "2", "--unhealthy-threshold-count", "2").OK(t).Decode(t, &tg)
	tgARN := tg.TargetGroups[0].TargetGroupArn
	s.AWS(t, "elbv2", "modify-target-group-attributes", "--target-group-arn", tgARN, "--attributes", "Key=deregistration_delay.timeout_seconds,Value=30").OK(t)
	s.AWS(t, "elbv2", "register-targets", "--target-group-arn", tgARN, "--targets", "Id="+ip+",Port=8080").OK(t)
	type health struct {
		TargetHealthDescriptions []struct {
			Target       struct{ Id string }
			TargetHealth struct{ State, Reason, Description string }
		}
	}
	state := func(args ...string) (string, string, string) {
		t.Helper()
		var out health
		s.AWS(t, append([]string{"elbv2", "describe-target-health", "--target-group-arn", tgARN}, args...)...).OK(t).Decode(t, &out)
		if len(out.TargetHealthDescriptions) == 0 {
			return "", "", ""
		}
		h := out.TargetHealthDescriptions[0].TargetHealth
		return h.State, h.Reason, h.Description
	}
	if st, reason, _ := state(); st != "unused" || reason != "Target.NotInUse" {
		t.Errorf("a target of a group no listener uses: %s %s", st, reason)
	}
	if st, reason, _ := state("--targets", "Id=10.9.9.9,Port=8080"); st != "unused" || reason != "Target.NotRegistered" {
		t.Errorf("a target not registered: %s %s", st, reason)
	}
	var lb struct {
		LoadBalancers []struct{ LoadBalancerArn string }
	}
	s.AWS(t, "elbv2", "create-load-balancer", "--name", "sick-alb", "--subnets", e.subnets[0], e.subnets[1]).OK(t).Decode(t, &lb)
	s.AWS(t, "elbv2", "create-listener", "--load-balancer-arn", lb.LoadBalancers[0].LoadBalancerArn, "--protocol", "HTTP", "--port", "80",
		"--default-actions", "Type=forward,TargetGroupArn="+tgARN).OK(t)
	waitFor(t, time.Minute, "an unhealthy target", func() bool {
		st, reason, desc := state()
		return st == "unhealthy" && reason == "Target.ResponseCodeMismatch" && desc == "Health checks failed with these codes: [500]"
	})
	// All targets unhealthy: the load balancer fails open to them.
	if status, _, _ := get(t, "http://"+e.lbAddress(t, "sick-alb")+"/"); status != 200 {
		t.Errorf("a request with every target unhealthy: %d, want it forwarded (ALB fails open)", status)
	}
	s.AWS(t, "elbv2", "deregister-targets", "--target-group-arn", tgARN, "--targets", "Id="+ip+",Port=8080").OK(t)
	if st, reason, _ := state(); st != "draining" || reason != "Target.DeregistrationInProgress" {
		t.Errorf("a deregistered target: %s %s", st, reason)
	}

	// A service whose task fails its target's health checks.
	s.AWS(t, "ecs", "create-service", "--cluster", "lb", "--service-name", "sick", "--task-definition", "sick",
		"--desired-count", "1", "--launch-type", "FARGATE", "--network-configuration", awsvpcFlag(t, s),
		"--load-balancers", fmt.Sprintf("targetGroupArn=%s,containerName=app,containerPort=8080", tgARN),
		"--health-check-grace-period-seconds", "0").OK(t)
	waitFor(t, 2*time.Minute, "a task replaced for failing ELB health checks", func() bool {
		var out struct {
			Services []struct{ Events []struct{ Message string } }
		}
		s.AWS(t, "ecs", "describe-services", "--cluster", "lb", "--services", "sick").OK(t).Decode(t, &out)
		for _, ev := range out.Services[0].Events {
			if strings.Contains(ev.Message, "(port 8080) is unhealthy in (target-group "+tgARN+") due to (reason Health checks failed with these codes: [500]).") {
				return true
			}
		}
		return false
	})
	var stopped struct{ TaskArns []string }
	s.AWS(t, "ecs", "list-tasks", "--cluster", "lb", "--service-name", "sick", "--desired-status", "STOPPED").OK(t).Decode(t, &stopped)
	if len(stopped.TaskArns) == 0 {
		t.Fatal("no stopped task of the service")
	}
	if got := aws.ToString(describeTask(t, s, "lb", stopped.TaskArns[0]).StoppedReason); got != "Task failed ELB health checks in (target-group "+tgARN+")" {
		t.Errorf("stoppedReason %q", got)
	}

	// ECS refuses a target group of another target type, and one no load
	// balancer uses.
	var other struct {
		TargetGroups []struct{ TargetGroupArn string }
	}
	s.AWS(t, "elbv2", "create-target-group", "--name", "instances", "--protocol", "HTTP", "--port", "8080", "--vpc-id", e.vpc).OK(t).Decode(t, &other)
	otherARN := other.TargetGroups[0].TargetGroupArn
	create := func() Result {
		return s.AWS(t, "ecs", "create-service", "--cluster", "lb", "--service-name", "wrong", "--task-definition", "sick",
			"--desired-count", "1", "--launch-type", "FARGATE", "--network-configuration", awsvpcFlag(t, s),
			"--load-balancers", fmt.Sprintf("targetGroupArn=%s,containerName=app,containerPort=8080", otherARN))
	}
	create().Fails(t, "The target group with targetGroupArn "+otherARN+" does not have an associated load balancer.")
	s.AWS(t, "elbv2", "create-listener", "--load-balancer-arn", lb.LoadBalancers[0].LoadBalancerArn, "--protocol", "HTTP", "--port", "81",
		"--default-actions", "Type=forward,TargetGroupArn="+otherARN).OK(t)
	create().Fails(t, "The provided target group "+otherARN+" has target type instance, which is incompatible with the awsvpc network mode specified in the task definition.")
}
