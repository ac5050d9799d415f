package e2e

import (
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/miekg/dns"
)

// sdEnv is a service test's server serving DNS to the host, with a
// stand-in for the internet's DNS as its upstream.
type sdEnv struct {
	*svcEnv
	dnsAddr string
}

// outsideZone is the zone the upstream stand-in serves, for the names
// berth forwards.
const outsideZone = "outside.example."

func startSDEnv(t *testing.T) *sdEnv {
	t.Helper()
	upstream := startUpstreamDNS(t)
	dnsAddr := freeLoopbackAddr(t)
	e := startServiceEnv(t, ServerOptions{Args: []string{"--dns-listen", dnsAddr, "--dns-upstream", upstream}}, "prod-cluster")
	return &sdEnv{svcEnv: e, dnsAddr: dnsAddr}
}

// startUpstreamDNS serves outsideZone on a loopback port: www has an
// address, anything else in it does not exist.
func startUpstreamDNS(t *testing.T) string {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := dns.NewServeMux()
	mux.HandleFunc(outsideZone, func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		m.Authoritative = true
		if q.Question[0].Name == "www."+outsideZone && q.Question[0].Qtype == dns.TypeA {
			rr, _ := dns.NewRR("www." + outsideZone + " 300 IN A 192.0.2.80")
			m.Answer = append(m.Answer, rr)
		} else if q.Question[0].Name != "www."+outsideZone {
			m.Rcode = dns.RcodeNameError
		}
		_ = w.WriteMsg(m)
	})
	srv := &dns.Server{PacketConn: conn, Handler: mux}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return conn.LocalAddr().String()
}

// freeLoopbackAddr is a loopback address and port nothing listens on (UDP
// and TCP) at the moment.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		if c, err := net.ListenPacket("udp", addr); err == nil {
			c.Close()
			return addr
		}
	}
	t.Fatal("no free loopback port for DNS")
	return ""
}

// query asks berth's DNS server on the host listener.
func (e *sdEnv) query(t testing.TB, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	in, _, err := new(dns.Client).Exchange(m, e.dnsAddr)
	if err != nil {
		t.Fatalf("dig %s %s: %v", name, dns.TypeToString[qtype], err)
	}
	return in
}

// addresses are the A records of name the host listener answers.
func (e *sdEnv) addresses(t testing.TB, name string) []string {
	t.Helper()
	var out []string
	for _, rr := range e.query(t, name, dns.TypeA).Answer {
		if a, ok := rr.(*dns.A); ok {
			out = append(out, a.A.String())
		}
	}
	slices.Sort(out)
	return out
}

// awsNoHostPrefix runs the CLI with the data- host prefix of
// DiscoverInstances turned off, as a user of a loopback endpoint does.
func (e *sdEnv) awsNoHostPrefix(t testing.TB, args ...string) Result {
	t.Helper()
	return Run(t, Command{Name: "aws", Args: append([]string{"--endpoint-url", e.s.URL}, args...),
		Env: append(e.s.awsEnv(), "AWS_DISABLE_HOST_PREFIX_INJECTION=true")})
}

// operationTarget waits for a Cloud Map operation to succeed and returns
// the id of its target of kind.
func (e *sdEnv) operationTarget(t testing.TB, opID, kind string) string {
	t.Helper()
	var out struct {
		Operation struct {
			Status, ErrorMessage string
			Targets              map[string]string
		}
	}
	waitFor(t, 10*time.Second, "operation "+opID+" done", func() bool {
		e.s.AWS(t, "servicediscovery", "get-operation", "--operation-id", opID).OK(t).Decode(t, &out)
		return out.Operation.Status == "SUCCESS" || out.Operation.Status == "FAIL"
	})
	if out.Operation.Status != "SUCCESS" {
		t.Fatalf("operation %s failed: %s", opID, out.Operation.ErrorMessage)
	}
	return out.Operation.Targets[kind]
}

// runningIPs are the addresses of the service's running tasks.
func (e *sdEnv) runningIPs(t testing.TB, service string) []string {
	t.Helper()
	var ips []string
	for _, task := range e.serviceTasks(t, service, ecstypes.DesiredStatusRunning) {
		if aws.ToString(task.LastStatus) == "RUNNING" {
			ips = append(ips, taskIP(t, task))
		}
	}
	slices.Sort(ips)
	return ips
}

// inTask asks the app of the task at ip for path (/resolve, /fetch): what
// the task itself resolves and reaches.
func inTask(t *testing.T, ip, path string) (int, string) {
	t.Helper()
	status, body, _ := get(t, "http://"+net.JoinHostPort(ip, "8080")+path)
	return status, strings.TrimSpace(body)
}

// TestServiceDiscoveryArticle follows the article's "Service Discovery"
// section with the real CLI: a private namespace, a service with A
// records and a custom health check, an ECS service registered with it;
// then another service's task reaches the API by name, DNS answers only
// healthy instances, and a rolling deployment never leaves the name
// without a healthy answer.
func TestServiceDiscoveryArticle(t *testing.T) {
	e := startSDEnv(t)
	s := e.s
	vpc := defaultVPC(t, s)

	// The article's three commands, with real ids in place of its
	// placeholders.
	var created struct{ OperationId string }
	s.AWS(t, "servicediscovery", "create-private-dns-namespace", "--name", "services.internal", "--vpc", vpc).OK(t).Decode(t, &created)
	nsID := e.operationTarget(t, created.OperationId, "NAMESPACE")
	var svc struct{ Service struct{ Id, Arn string } }
	s.AWS(t, "servicediscovery", "create-service", "--name", "api", "--namespace-id", nsID,
		"--dns-config", `{
            "DnsRecords": [{"Type": "A", "TTL": 10}]
        }`,
		"--health-check-custom-config", "FailureThreshold=1").OK(t).Decode(t, &svc)
	apiDef := e.registerApp(t, "api-service", "1")
	e.createService(t, "api-service", apiDef, 3, "--service-registries", "registryArn="+svc.Service.Arn, "--launch-type", "FARGATE")
	e.waitSteady(t, "api-service", 2*time.Minute)

	// DNS answers the three tasks' addresses, with the record's TTL.
	var apiIPs []string
	waitFor(t, 10*time.Second, "three addresses for api.services.internal", func() bool {
		apiIPs = e.runningIPs(t, "api-service")
		return slices.Equal(e.addresses(t, "api.services.internal"), apiIPs) && len(apiIPs) == 3
	})
	if ans := e.query(t, "api.services.internal", dns.TypeA); !ans.Authoritative || ans.Answer[0].Header().Ttl != 10 {
		t.Fatalf("answer not authoritative or TTL not 10:\n%s", ans)
	}

	// DiscoverInstances sees the attributes ECS registers.
	var found struct {
		Instances []struct {
			InstanceId, HealthStatus string
			Attributes               map[string]string
		}
	}
	e.awsNoHostPrefix(t, "servicediscovery", "discover-instances", "--namespace-name", "services.internal", "--service-name", "api",
		"--health-status", "HEALTHY").OK(t).Decode(t, &found)
	if len(found.Instances) != 3 {
		t.Fatalf("discovered %d instances, want 3: %+v", len(found.Instances), found)
	}
	for _, i := range found.Instances {
		a := i.Attributes
		if !slices.Contains(apiIPs, a["AWS_INSTANCE_IPV4"]) || a["ECS_CLUSTER_NAME"] != "prod-cluster" || a["ECS_SERVICE_NAME"] != "api-service" ||
			a["ECS_TASK_DEFINITION_FAMILY"] != "api-service" || a["REGION"] != s.Region || a["AVAILABILITY_ZONE"] == "" || i.HealthStatus != "HEALTHY" {
			t.Fatalf("instance %s: %+v", i.InstanceId, i)
		}
	}
	var byNamespace struct{ ServiceArns []string }
	s.AWS(t, "ecs", "list-services-by-namespace", "--namespace", "services.internal").OK(t).Decode(t, &byNamespace)
	if len(byNamespace.ServiceArns) != 1 || !strings.HasSuffix(byNamespace.ServiceArns[0], "/prod-cluster/api-service") {
		t.Fatalf("list-services-by-namespace: %v", byNamespace.ServiceArns)
	}

	// Another service's task reaches the API by its name, through its VPC's
	// resolver.
	webDef := e.registerApp(t, "web", "1")
	e.createService(t, "web", webDef, 1, "--launch-type", "FARGATE")
	e.waitSteady(t, "web", 2*time.Minute)
	webIP := e.runningIPs(t, "web")[0]
	if status, body := inTask(t, webIP, "/fetch?url=http://api.services.internal:8080/health"); status != 200 || body != "200 ok" {
		t.Fatalf("web task fetching the API by name: %d %s", status, body)
	}
	if status, body := inTask(t, webIP, "/resolve?name=api.services.internal"); status != 200 || body != strings.Join(apiIPs, "\n") {
		t.Fatalf("web task resolving the API: %d %q, want %q", status, body, apiIPs)
	}
	// A name outside berth's zones is forwarded to the host's resolvers.
	if status, body := inTask(t, webIP, "/resolve?name=www."+outsideZone); status != 200 || body != "192.0.2.80" {
		t.Fatalf("web task resolving an outside name: %d %s", status, body)
	}

	t.Run("unhealthy instance leaves the answers and comes back", func(t *testing.T) {
		sick := found.Instances[0].InstanceId
		sickIP := found.Instances[0].Attributes["AWS_INSTANCE_IPV4"]
		s.AWS(t, "servicediscovery", "update-instance-custom-health-status", "--service-id", svc.Service.Id,
			"--instance-id", sick, "--status", "UNHEALTHY").OK(t)
		// Cloud Map applies the status about 30 seconds after it is asked.
		start := time.Now()
		waitFor(t, 45*time.Second, "the unhealthy instance out of the answers", func() bool {
			return !slices.Contains(e.addresses(t, "api.services.internal"), sickIP)
		})
		if waited := time.Since(start); waited < 25*time.Second {
			t.Fatalf("the status changed after %s, before Cloud Map's delay", waited)
		}
		var healthy struct{ Instances []struct{ InstanceId string } }
		e.awsNoHostPrefix(t, "servicediscovery", "discover-instances", "--namespace-name", "services.internal", "--service-name", "api",
			"--health-status", "HEALTHY").OK(t).Decode(t, &healthy)
		if len(healthy.Instances) != 2 || slices.ContainsFunc(healthy.Instances, func(i struct{ InstanceId string }) bool { return i.InstanceId == sick }) {
			t.Fatalf("healthy instances: %+v", healthy)
		}
		s.AWS(t, "servicediscovery", "update-instance-custom-health-status", "--service-id", svc.Service.Id,
			"--instance-id", sick, "--status", "HEALTHY").OK(t)
		waitFor(t, 45*time.Second, "the instance back in the answers", func() bool {
			return slices.Contains(e.addresses(t, "api.services.internal"), sickIP)
		})
	})

	t.Run("a rolling deployment keeps a healthy answer", func(t *testing.T) {
		var stop atomic.Bool
		var wg sync.WaitGroup
		var problems []string
		var mu sync.Mutex
		wg.Go(func() {
			for !stop.Load() {
				ips := e.addresses(t, "api.services.internal")
				ok := false
				for _, ip := range ips {
					if status, _ := probe("http://" + net.JoinHostPort(ip, "8080") + "/health"); status == 200 {
						ok = true
						break
					}
				}
				if !ok {
					mu.Lock()
					problems = append(problems, fmt.Sprintf("%s: no healthy answer among %v", time.Now().Format(time.StampMilli), ips))
					mu.Unlock()
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
		e.updateService(t, "api-service", "--task-definition", e.registerApp(t, "api-service", "2"))
		e.waitService(t, "api-service", 3*time.Minute, "rolled out", func(svc ecstypes.Service) bool {
			return len(svc.Deployments) == 1 && svc.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateCompleted
		})
		// The old tasks are gone from the answers once they stopped.
		waitFor(t, 30*time.Second, "only the new tasks in the answers", func() bool {
			return slices.Equal(e.addresses(t, "api.services.internal"), e.runningIPs(t, "api-service"))
		})
		stop.Store(true)
		wg.Wait()
		if len(problems) > 0 {
			t.Fatalf("the name lost its healthy answer during the deployment:\n%s", strings.Join(problems, "\n"))
		}
		var list struct{ Instances []struct{ Id string } }
		s.AWS(t, "servicediscovery", "list-instances", "--service-id", svc.Service.Id).OK(t).Decode(t, &list)
		if len(list.Instances) != 3 {
			t.Fatalf("%d instances registered after the deployment, want 3", len(list.Instances))
		}
	})
}

// probe GETs url with a short timeout; status 0 when it fails.
func probe(url string) (int, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestServiceDiscoveryRecords checks what berth's DNS server answers, on
// the host and from inside a task: SRV records with their ports and
// targets, WEIGHTED routing, NXDOMAIN with the zone's SOA, a private
// namespace of another VPC out of a task's sight, and the CLI v2.
func TestServiceDiscoveryRecords(t *testing.T) {
	e := startSDEnv(t)
	s := e.s
	vpc := defaultVPC(t, s)
	namespace := func(name, vpc string) string {
		var created struct{ OperationId string }
		s.AWS(t, "servicediscovery", "create-private-dns-namespace", "--name", name, "--vpc", vpc).OK(t).Decode(t, &created)
		return e.operationTarget(t, created.OperationId, "NAMESPACE")
	}
	service := func(nsID, name, dnsConfig string) string {
		var svc struct{ Service struct{ Id string } }
		s.AWS(t, "servicediscovery", "create-service", "--name", name, "--namespace-id", nsID, "--dns-config", dnsConfig).OK(t).Decode(t, &svc)
		return svc.Service.Id
	}
	register := func(serviceID, id string, attrs ...string) {
		var op struct{ OperationId string }
		s.AWS(t, "servicediscovery", "register-instance", "--service-id", serviceID, "--instance-id", id,
			"--attributes", strings.Join(attrs, ",")).OK(t).Decode(t, &op)
		e.operationTarget(t, op.OperationId, "INSTANCE")
	}

	nsID := namespace("services.internal", vpc)
	db := service(nsID, "db", "RoutingPolicy=MULTIVALUE,DnsRecords=[{Type=SRV,TTL=60},{Type=A,TTL=60}]")
	register(db, "db-1", "AWS_INSTANCE_IPV4=10.99.0.11", "AWS_INSTANCE_PORT=5432")
	register(db, "db-2", "AWS_INSTANCE_IPV4=10.99.0.12", "AWS_INSTANCE_PORT=5433")
	cache := service(nsID, "cache", "RoutingPolicy=WEIGHTED,DnsRecords=[{Type=A,TTL=5}]")
	register(cache, "c-1", "AWS_INSTANCE_IPV4=10.99.1.1")
	register(cache, "c-2", "AWS_INSTANCE_IPV4=10.99.1.2")

	// A namespace of another VPC, which the host sees and the default
	// VPC's tasks do not.
	var other struct{ Vpc struct{ VpcId string } }
	s.AWS(t, "ec2", "create-vpc", "--cidr-block", "10.231.0.0/16").OK(t).Decode(t, &other)
	hidden := service(namespace("hidden.internal", other.Vpc.VpcId), "x", "DnsRecords=[{Type=A,TTL=60}]")
	register(hidden, "x-1", "AWS_INSTANCE_IPV4=10.231.0.10")

	// SRV on the host: one record per instance, its port, and the target's
	// address in the additional section.
	srv := e.query(t, "db.services.internal", dns.TypeSRV)
	var got []string
	for _, rr := range srv.Answer {
		r := rr.(*dns.SRV)
		got = append(got, fmt.Sprintf("%s %d %d", r.Target, r.Port, r.Hdr.Ttl))
	}
	slices.Sort(got)
	if want := []string{"db-1.db.services.internal. 5432 60", "db-2.db.services.internal. 5433 60"}; !slices.Equal(got, want) {
		t.Fatalf("SRV answers %v, want %v:\n%s", got, want, srv)
	}
	if len(srv.Extra) < 2 {
		t.Fatalf("SRV answer without the targets' addresses:\n%s", srv)
	}
	if a := e.addresses(t, "db-2.db.services.internal"); !slices.Equal(a, []string{"10.99.0.12"}) {
		t.Fatalf("SRV target's address: %v", a)
	}
	// WEIGHTED: one record per answer.
	seen := map[string]bool{}
	for range 40 {
		a := e.addresses(t, "cache.services.internal")
		if len(a) != 1 {
			t.Fatalf("WEIGHTED answered %v", a)
		}
		seen[a[0]] = true
	}
	if len(seen) != 2 {
		t.Fatalf("WEIGHTED answers chose only %v in 40 asks", seen)
	}
	// NXDOMAIN with the zone's SOA, as an authoritative server answers.
	nx := e.query(t, "nope.services.internal", dns.TypeA)
	if nx.Rcode != dns.RcodeNameError || !nx.Authoritative || len(nx.Ns) != 1 {
		t.Fatalf("missing name:\n%s", nx)
	}
	if soa, ok := nx.Ns[0].(*dns.SOA); !ok || soa.Hdr.Name != "services.internal." || soa.Minttl != 15 {
		t.Fatalf("missing name's authority:\n%s", nx)
	}
	if a := e.addresses(t, "x.hidden.internal"); !slices.Equal(a, []string{"10.231.0.10"}) {
		t.Fatalf("the host's view of another VPC's namespace: %v", a)
	}

	// Inside a task of the default VPC.
	image := e.image
	simpleTask(t, s, "probe", image, nil, map[string]any{"portMappings": []map[string]any{{"containerPort": 8080}}})
	arn := runTask(t, s, "--cluster", "prod-cluster", "--task-definition", "probe", "--launch-type", "FARGATE", "--network-configuration", awsvpcFlag(t, s))
	task := waitTaskStatus(t, s, "prod-cluster", arn, "RUNNING", 2*time.Minute)
	ip := taskIP(t, task)
	// RUNNING is its container started; the app listens a moment later.
	waitFor(t, 10*time.Second, "the probe task's app", func() bool {
		status, _ := probe("http://" + net.JoinHostPort(ip, "8080") + "/health")
		return status == http.StatusOK
	})
	// Its hostname, its interface's EC2 name, resolves to it.
	var hostname string
	for _, a := range task.Attachments {
		for _, d := range a.Details {
			if aws.ToString(d.Name) == "privateDnsName" {
				hostname = aws.ToString(d.Value)
			}
		}
	}
	if status, body := inTask(t, ip, "/resolve?name="+hostname); hostname == "" || status != 200 || body != ip {
		t.Fatalf("the task resolving its hostname %q: %d %q", hostname, status, body)
	}
	if status, body := inTask(t, ip, "/resolve?name=db.services.internal&type=SRV"); status != 200 ||
		body != "db-1.db.services.internal. 5432\ndb-2.db.services.internal. 5433" {
		t.Fatalf("SRV from a task: %d %q", status, body)
	}
	if status, body := inTask(t, ip, "/resolve?name=x.hidden.internal"); status == 200 {
		t.Fatalf("a task resolved another VPC's namespace: %s", body)
	}
	if status, body := inTask(t, ip, "/resolve?name=nope."+outsideZone); status == 200 {
		t.Fatalf("a task resolved a name the upstream does not have: %s", body)
	}

	// The CLI v2 reads the namespace and its services.
	var listed struct{ Services []struct{ Name string } }
	s.AWSv2(t, "servicediscovery", "list-services", "--filters", "Name=NAMESPACE_ID,Values="+nsID+",Condition=EQ").OK(t).Decode(t, &listed)
	var names []string
	for _, sv := range listed.Services {
		names = append(names, sv.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"cache", "db"}) {
		t.Fatalf("CLI v2 list-services: %v", names)
	}
}
