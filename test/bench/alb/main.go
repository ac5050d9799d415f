// Command alb measures berth's application load balancer beside nginx:
// requests/s and p50/p99 latency through a berth ALB to two tasks, and
// through nginx (proxy_pass with upstream keep-alive) to the same two
// tasks, with the same load generator (wrk), on the same machine, in
// alternating rounds, for small responses and 64 KiB ones.
//
//	make bench-alb [ARGS='--runs 5 --duration 10s --connections 64']
//	go run ./test/bench/alb [--runs 5] [--duration 10s] [--connections 64] [--berth-bin bin/berth] [--keep]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/berth/berth/test/bench/benchserver"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench-alb:", err)
		os.Exit(1)
	}
}

type config struct {
	runs        int
	duration    time.Duration
	connections int
	berthBin    string
	keep        bool
	pprof       string
	timeout     time.Duration
}

// paths are what the rounds ask for: a response of a few bytes, and one of
// 64 KiB.
var paths = []struct{ name, path string }{{"small", "/"}, {"64 KiB", "/bytes/65536"}}

func run() error {
	var cfg config
	flag.IntVar(&cfg.runs, "runs", 5, "rounds per contender and response size")
	flag.DurationVar(&cfg.duration, "duration", 10*time.Second, "length of one round")
	flag.IntVar(&cfg.connections, "connections", 64, "wrk's connections")
	flag.StringVar(&cfg.berthBin, "berth-bin", "", "prebuilt berth binary (default: go build ./cmd/berth, static)")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the temporary dir (server log, data, nginx config) for inspection")
	flag.StringVar(&cfg.pprof, "pprof-listen", "", "serve berth's profiles on this address (e.g. 127.0.0.1:6060), to profile a round")
	flag.DurationVar(&cfg.timeout, "timeout", 30*time.Minute, "give up (and stop everything) after this long")
	flag.Parse()
	if cfg.runs < 1 {
		return errors.New("--runs must be at least 1")
	}
	for _, tool := range []string{"wrk", "nginx"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed (apt-get install wrk nginx-light)", tool)
		}
	}
	ctx, stop := benchserver.Context(cfg.timeout)
	defer stop()

	dir, err := os.MkdirTemp("", "bench-alb-")
	if err != nil {
		return err
	}
	if !cfg.keep {
		defer os.RemoveAll(dir)
	}
	if cfg.berthBin, err = benchserver.BerthBinary(ctx, cfg.berthBin, dir); err != nil {
		return err
	}
	appBin := filepath.Join(dir, "app")
	if err := benchserver.GoBuild(ctx, appBin, "./test/e2e/app"); err != nil {
		return err
	}
	var extra []string
	if cfg.pprof != "" {
		extra = append(extra, "--pprof-listen", cfg.pprof)
	}
	srv, err := benchserver.StartBerth(ctx, cfg.berthBin, cfg.keep, true, extra...)
	if err != nil {
		return err
	}
	defer srv.Stop()
	albURL, targets, err := prepare(ctx, srv, appBin)
	if err != nil {
		return srv.Annotate(err)
	}
	nginxURL, stopNginx, err := startNginx(ctx, dir, targets)
	if err != nil {
		return err
	}
	defer stopNginx()

	fmt.Fprintf(os.Stderr, "ALB %s, nginx %s, targets %v; %d rounds of %s each, %d connections\n",
		albURL, nginxURL, targets, cfg.runs, cfg.duration, cfg.connections)
	results := map[string]map[string][]wrkResult{} // size -> contender -> rounds
	for _, p := range paths {
		results[p.name] = map[string][]wrkResult{}
		for i := range cfg.runs {
			for _, c := range []struct{ name, url string }{{"berth ALB", albURL}, {"nginx", nginxURL}} {
				r, err := runWrk(ctx, c.url+p.path, cfg)
				if err != nil {
					return fmt.Errorf("%s, %s, round %d: %w", c.name, p.name, i+1, err)
				}
				results[p.name][c.name] = append(results[p.name][c.name], r)
				fmt.Fprintf(os.Stderr, "%s %s round %d: %.0f req/s, p50 %s, p99 %s\n", p.name, c.name, i+1, r.rps, r.p50, r.p99)
			}
		}
	}
	printTable(os.Stdout, cfg, results)
	return nil
}

// prepare runs two tasks of the app behind a berth ALB (ip target group,
// HTTP:80 listener) and returns the ALB's URL and the tasks' addresses.
func prepare(ctx context.Context, srv *benchserver.Berth, appBin string) (string, []string, error) {
	awsCfg, err := srv.AWSConfig()
	if err != nil {
		return "", nil, err
	}
	image, err := srv.PushApp(ctx, ecr.NewFromConfig(awsCfg), appBin, "bench-alb-app", "v1")
	if err != nil {
		return "", nil, err
	}
	ecsClient, elb, ec2Client := ecs.NewFromConfig(awsCfg), elbv2.NewFromConfig(awsCfg), ec2.NewFromConfig(awsCfg)
	subnets, err := ec2Client.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("default-for-az"), Values: []string{"true"}}}})
	if err != nil {
		return "", nil, err
	}
	if len(subnets.Subnets) < 2 {
		return "", nil, errors.New("the default VPC has fewer than two subnets")
	}
	vpc := aws.ToString(subnets.Subnets[0].VpcId)
	subnetIDs := []string{aws.ToString(subnets.Subnets[0].SubnetId), aws.ToString(subnets.Subnets[1].SubnetId)}
	if _, err := ecsClient.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("bench")}); err != nil {
		return "", nil, err
	}
	if _, err := ecsClient.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		// An EC2 task: no execution role needed to pull from berth. No
		// task-level CPU, which would cap each target with a quota and
		// measure the targets instead of the proxies: the containers get
		// the host processes' weight (1024 shares) and no limit.
		Family: aws.String("bench-alb"), NetworkMode: ecstypes.NetworkModeAwsvpc,
		Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String(image), Essential: aws.Bool(true), Cpu: 1024,
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080)}},
		}},
	}); err != nil {
		return "", nil, err
	}
	out, err := ecsClient.RunTask(ctx, &ecs.RunTaskInput{
		Cluster: aws.String("bench"), TaskDefinition: aws.String("bench-alb"), Count: aws.Int32(2),
		LaunchType:           ecstypes.LaunchTypeEc2,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: subnetIDs[:1]}},
	})
	if err != nil {
		return "", nil, err
	}
	var arns []string
	for _, t := range out.Tasks {
		arns = append(arns, aws.ToString(t.TaskArn))
	}
	targets, err := waitRunning(ctx, ecsClient, arns)
	if err != nil {
		return "", nil, err
	}
	tg, err := elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
		Name: aws.String("bench-tg"), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(8080), VpcId: aws.String(vpc),
		TargetType: elbtypes.TargetTypeEnumIp, HealthCheckPath: aws.String("/health"),
		HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2),
	})
	if err != nil {
		return "", nil, err
	}
	tgARN := tg.TargetGroups[0].TargetGroupArn
	lb, err := elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("bench-alb"), Subnets: subnetIDs})
	if err != nil {
		return "", nil, err
	}
	lbARN := lb.LoadBalancers[0].LoadBalancerArn
	if _, err := elb.CreateListener(ctx, &elbv2.CreateListenerInput{
		LoadBalancerArn: lbARN, Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: tgARN}},
	}); err != nil {
		return "", nil, err
	}
	var regs []elbtypes.TargetDescription
	for _, ip := range targets {
		regs = append(regs, elbtypes.TargetDescription{Id: aws.String(ip), Port: aws.Int32(8080)})
	}
	if _, err := elb.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: tgARN, Targets: regs}); err != nil {
		return "", nil, err
	}
	if err := elbv2.NewLoadBalancerAvailableWaiter(elb).Wait(ctx, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{aws.ToString(lbARN)}}, time.Minute); err != nil {
		return "", nil, err
	}
	if err := elbv2.NewTargetInServiceWaiter(elb).Wait(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: tgARN}, time.Minute); err != nil {
		return "", nil, err
	}
	_, res, _ := strings.Cut(aws.ToString(lbARN), ":loadbalancer/")
	nis, err := ec2Client.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{
		Filters: []ec2types.Filter{{Name: aws.String("description"), Values: []string{"ELB " + res}}},
	})
	if err != nil || len(nis.NetworkInterfaces) == 0 {
		return "", nil, fmt.Errorf("the load balancer's interfaces: %v", err)
	}
	return "http://" + aws.ToString(nis.NetworkInterfaces[0].PrivateIpAddress), targets, nil
}

// waitRunning waits for the tasks to run and returns their addresses.
func waitRunning(ctx context.Context, client *ecs.Client, arns []string) ([]string, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		out, err := client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("bench"), Tasks: arns})
		if err != nil {
			return nil, err
		}
		var ips []string
		for _, t := range out.Tasks {
			if aws.ToString(t.LastStatus) != "RUNNING" {
				break
			}
			for _, a := range t.Attachments {
				for _, d := range a.Details {
					if aws.ToString(d.Name) == "privateIPv4Address" {
						ips = append(ips, aws.ToString(d.Value))
					}
				}
			}
		}
		if len(ips) == len(arns) {
			return ips, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, errors.New("the tasks did not run within 2 minutes")
}

// startNginx runs nginx as a reverse proxy to the targets, with keep-alive
// connections to them, on a free loopback port; it returns its URL.
func startNginx(ctx context.Context, dir string, targets []string) (string, func(), error) {
	port, err := benchserver.FreePort()
	if err != nil {
		return "", nil, err
	}
	var upstream strings.Builder
	for _, t := range targets {
		fmt.Fprintf(&upstream, "    server %s:8080;\n", t)
	}
	conf := fmt.Sprintf(`worker_processes auto;
pid %[1]s/nginx.pid;
error_log %[1]s/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  upstream app {
%[2]s    keepalive 128;
  }
  server {
    listen 127.0.0.1:%[3]d;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
    }
  }
}
`, dir, upstream.String(), port)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return "", nil, err
	}
	cmd := exec.CommandContext(ctx, "nginx", "-c", path, "-p", dir, "-g", "daemon off;")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { _ = cmd.Process.Signal(syscall.SIGQUIT); _ = cmd.Wait() }
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if r, err := runWrk(ctx, url+"/health", config{duration: time.Second, connections: 2}); err == nil && r.rps > 0 {
			return url, stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, errors.New("nginx did not answer")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// wrkResult is one round's figures.
type wrkResult struct {
	rps      float64
	p50, p99 time.Duration
	errors   int
}

var (
	rpsLine     = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	latencyLine = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
	errorsLine  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)|Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// runWrk runs one round of wrk (2 threads) against url.
func runWrk(ctx context.Context, url string, cfg config) (wrkResult, error) {
	out, err := exec.CommandContext(ctx, "wrk", "-t2", "-c"+strconv.Itoa(cfg.connections),
		"-d"+strconv.Itoa(int(cfg.duration.Seconds()))+"s", "--latency", url).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %v: %s", err, out)
	}
	var r wrkResult
	m := rpsLine.FindSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("wrk printed no rate: %s", out)
	}
	r.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	for _, m := range latencyLine.FindAllSubmatch(out, -1) {
		d, _ := time.ParseDuration(string(m[2]) + string(m[3]))
		if string(m[1]) == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	for _, m := range errorsLine.FindAllSubmatch(out, -1) {
		for _, g := range m[1:] {
			n, _ := strconv.Atoi(string(g))
			r.errors += n
		}
	}
	return r, nil
}

func median[T any](xs []T, value func(T) float64) float64 {
	vs := make([]float64, len(xs))
	for i, x := range xs {
		vs[i] = value(x)
	}
	slices.Sort(vs)
	if len(vs) == 0 {
		return 0
	}
	return vs[len(vs)/2]
}

func printTable(w io.Writer, cfg config, results map[string]map[string][]wrkResult) {
	fmt.Fprintf(w, "\nbench-alb: %d rounds of %s per contender, %d connections, wrk -t2; medians (min-max of the per-round ratios)\n\n", cfg.runs, cfg.duration, cfg.connections)
	fmt.Fprintf(w, "%-8s %-10s %12s %10s %10s %8s\n", "response", "contender", "requests/s", "p50", "p99", "errors")
	for _, p := range paths {
		for _, c := range []string{"berth ALB", "nginx"} {
			rs := results[p.name][c]
			errs := 0
			for _, r := range rs {
				errs += r.errors
			}
			fmt.Fprintf(w, "%-8s %-10s %12.0f %10s %10s %8d\n", p.name, c,
				median(rs, func(r wrkResult) float64 { return r.rps }),
				time.Duration(median(rs, func(r wrkResult) float64 { return float64(r.p50) })).Round(time.Microsecond),
				time.Duration(median(rs, func(r wrkResult) float64 { return float64(r.p99) })).Round(time.Microsecond), errs)
		}
	}
	fmt.Fprintln(w)
	for _, p := range paths {
		alb, ngx := results[p.name]["berth ALB"], results[p.name]["nginx"]
		ratio := func(v func(wrkResult) float64) (float64, float64, float64) {
			var rs []float64
			for i := range min(len(alb), len(ngx)) {
				if d := v(ngx[i]); d > 0 {
					rs = append(rs, v(alb[i])/d)
				}
			}
			slices.Sort(rs)
			if len(rs) == 0 {
				return 0, 0, 0
			}
			return rs[len(rs)/2], rs[0], rs[len(rs)-1]
		}
		rps, rlo, rhi := ratio(func(r wrkResult) float64 { return r.rps })
		p99, plo, phi := ratio(func(r wrkResult) float64 { return float64(r.p99) })
		fmt.Fprintf(w, "%-8s berth/nginx: requests/s %.2f (%.2f-%.2f), p99 %.2f (%.2f-%.2f)\n", p.name, rps, rlo, rhi, p99, plo, phi)
	}
	fmt.Fprintln(w, "\ngoal: requests/s at least 0.9x nginx's, p99 no worse")
}
