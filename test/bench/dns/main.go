// Command dns measures berth's DNS server beside unbound: queries/s and
// p50/p99 latency for a Cloud Map name with three healthy instances
// (api.services.internal, A, MULTIVALUE), served by berth on --dns-listen,
// and the same three records served by unbound as a local zone, with the
// same client (dnsperf), on the same machine, in alternating rounds.
//
// Each round is two passes per contender: one at full speed for
// queries/s, and one at a fixed rate (--latency-rate, at most half the
// slower contender's throughput) with every query's latency printed, for
// the percentiles (printing them costs the client, so the throughput pass
// does not). A query the client gave up on (5 s) counts as lost, and at
// its timeout in the percentiles.
//
//	make bench-dns [ARGS='--runs 5 --duration 10s']
//	go run ./test/bench/dns [--runs 5] [--duration 10s] [--clients 8] [--latency-rate 20000] [--berth-bin bin/berth] [--keep]
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	sdtypes "github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"

	"github.com/berth/berth/test/bench/benchserver"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench-dns:", err)
		os.Exit(1)
	}
}

type config struct {
	runs        int
	duration    time.Duration
	clients     int
	latencyRate int
	berthBin    string
	keep        bool
	timeout     time.Duration
}

// The name asked, and the addresses of its three instances (no traffic is
// sent to them: they are only answered).
const (
	zone = "services.internal"
	name = "api." + zone
)

var instances = []string{"10.99.0.11", "10.99.0.12", "10.99.0.13"}

func run() error {
	var cfg config
	flag.IntVar(&cfg.runs, "runs", 5, "rounds per contender")
	flag.DurationVar(&cfg.duration, "duration", 10*time.Second, "length of one pass")
	flag.IntVar(&cfg.clients, "clients", 8, "dnsperf's clients (sockets)")
	flag.IntVar(&cfg.latencyRate, "latency-rate", 20000, "queries/s of the latency passes (at most half the slower contender's throughput)")
	flag.StringVar(&cfg.berthBin, "berth-bin", "", "prebuilt berth binary (default: go build ./cmd/berth, static)")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the temporary dir (server log, data, unbound config) for inspection")
	flag.DurationVar(&cfg.timeout, "timeout", 30*time.Minute, "give up (and stop everything) after this long")
	flag.Parse()
	if cfg.runs < 1 {
		return errors.New("--runs must be at least 1")
	}
	for _, tool := range []string{"dnsperf", "unbound"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed (apt-get install dnsperf unbound)", tool)
		}
	}
	ctx, stop := benchserver.Context(cfg.timeout)
	defer stop()

	dir, err := os.MkdirTemp("", "bench-dns-")
	if err != nil {
		return err
	}
	if !cfg.keep {
		defer os.RemoveAll(dir)
	}
	if cfg.berthBin, err = benchserver.BerthBinary(ctx, cfg.berthBin, dir); err != nil {
		return err
	}
	berthPort, err := benchserver.FreePort()
	if err != nil {
		return err
	}
	berthDNS := "127.0.0.1:" + strconv.Itoa(berthPort)
	// No agent: the host listener alone, no VPC resolvers, no tasks.
	srv, err := benchserver.StartBerth(ctx, cfg.berthBin, cfg.keep, false, "--dns-listen", berthDNS)
	if err != nil {
		return err
	}
	defer srv.Stop()
	if err := prepare(ctx, srv); err != nil {
		return srv.Annotate(err)
	}
	unboundDNS, stopUnbound, err := startUnbound(ctx, dir)
	if err != nil {
		return err
	}
	defer stopUnbound()
	queries := filepath.Join(dir, "queries.txt")
	if err := os.WriteFile(queries, []byte(name+" A\n"), 0o644); err != nil {
		return err
	}
	contenders := []struct{ name, addr string }{{"berth", berthDNS}, {"unbound", unboundDNS}}
	for _, c := range contenders {
		if err := checkAnswer(ctx, c.addr, queries); err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
	}

	fmt.Fprintf(os.Stderr, "berth %s, unbound %s (%d threads); %d rounds of %s, %d dnsperf clients\n",
		berthDNS, unboundDNS, goruntime.NumCPU(), cfg.runs, cfg.duration, cfg.clients)
	qps := map[string][]float64{}
	for i := range cfg.runs {
		for _, c := range contenders {
			r, err := dnsperf(ctx, c.addr, queries, cfg, 0)
			if err != nil {
				return fmt.Errorf("%s, round %d: %w", c.name, i+1, err)
			}
			qps[c.name] = append(qps[c.name], r.qps)
			fmt.Fprintf(os.Stderr, "throughput round %d %s: %.0f queries/s\n", i+1, c.name, r.qps)
		}
	}
	rate := min(cfg.latencyRate, int(min(benchserver.Median(qps["berth"]), benchserver.Median(qps["unbound"]))/2))
	p50, p99, lost := map[string][]float64{}, map[string][]float64{}, map[string]int{}
	for i := range cfg.runs {
		for _, c := range contenders {
			r, err := dnsperf(ctx, c.addr, queries, cfg, rate)
			if err != nil {
				return fmt.Errorf("%s, latency round %d: %w", c.name, i+1, err)
			}
			p50[c.name] = append(p50[c.name], r.p50)
			p99[c.name] = append(p99[c.name], r.p99)
			lost[c.name] += r.lost
			fmt.Fprintf(os.Stderr, "latency round %d %s at %d queries/s: p50 %.3f ms, p99 %.3f ms, %d lost\n", i+1, c.name, rate, r.p50*1e3, r.p99*1e3, r.lost)
		}
	}
	fmt.Printf("DNS: %s A (3 healthy instances), %d rounds, medians; latency at %d queries/s\n", name, cfg.runs, rate)
	fmt.Printf("%-8s %12s %10s %10s %6s\n", "server", "queries/s", "p50 ms", "p99 ms", "lost")
	for _, c := range contenders {
		fmt.Printf("%-8s %12.0f %10.3f %10.3f %6d\n", c.name, benchserver.Median(qps[c.name]), benchserver.Median(p50[c.name])*1e3, benchserver.Median(p99[c.name])*1e3, lost[c.name])
	}
	ratio := benchserver.Median(qps["berth"]) / benchserver.Median(qps["unbound"])
	fmt.Printf("berth/unbound: %.2fx queries/s (goal >= 1.0x), p99 %.2fx (goal <= 1.0x)\n",
		ratio, benchserver.Median(p99["berth"])/benchserver.Median(p99["unbound"]))
	return nil
}

// prepare makes the namespace, the service and its three instances
// through the Cloud Map API, as a user would, and waits for each
// operation.
func prepare(ctx context.Context, srv *benchserver.Berth) error {
	awsCfg, err := srv.AWSConfig()
	if err != nil {
		return err
	}
	vpcs, err := ec2.NewFromConfig(awsCfg).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
	if err != nil {
		return err
	}
	if len(vpcs.Vpcs) == 0 {
		return errors.New("no default VPC")
	}
	sd := servicediscovery.NewFromConfig(awsCfg)
	op, err := sd.CreatePrivateDnsNamespace(ctx, &servicediscovery.CreatePrivateDnsNamespaceInput{Name: aws.String(zone), Vpc: vpcs.Vpcs[0].VpcId})
	if err != nil {
		return err
	}
	done, err := await(ctx, sd, op.OperationId)
	if err != nil {
		return err
	}
	svc, err := sd.CreateService(ctx, &servicediscovery.CreateServiceInput{
		Name: aws.String("api"), NamespaceId: aws.String(done.Targets["NAMESPACE"]),
		DnsConfig:               &sdtypes.DnsConfig{DnsRecords: []sdtypes.DnsRecord{{Type: sdtypes.RecordTypeA, TTL: aws.Int64(10)}}},
		HealthCheckCustomConfig: &sdtypes.HealthCheckCustomConfig{},
	})
	if err != nil {
		return err
	}
	for i, ip := range instances {
		reg, err := sd.RegisterInstance(ctx, &servicediscovery.RegisterInstanceInput{
			ServiceId: svc.Service.Id, InstanceId: aws.String(fmt.Sprintf("api-%d", i+1)),
			Attributes: map[string]string{"AWS_INSTANCE_IPV4": ip},
		})
		if err != nil {
			return err
		}
		if _, err := await(ctx, sd, reg.OperationId); err != nil {
			return err
		}
	}
	return nil
}

// await waits for a Cloud Map operation to succeed.
func await(ctx context.Context, sd *servicediscovery.Client, id *string) (*sdtypes.Operation, error) {
	for {
		out, err := sd.GetOperation(ctx, &servicediscovery.GetOperationInput{OperationId: id})
		if err != nil {
			return nil, err
		}
		switch out.Operation.Status {
		case sdtypes.OperationStatusSuccess:
			return out.Operation, nil
		case sdtypes.OperationStatusFail:
			return nil, fmt.Errorf("operation %s failed: %s", aws.ToString(id), aws.ToString(out.Operation.ErrorMessage))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// startUnbound serves the same records from a local zone, with as many
// threads as CPUs sharing the port (SO_REUSEPORT), as berth does.
func startUnbound(ctx context.Context, dir string) (string, func(), error) {
	port, err := benchserver.FreePort()
	if err != nil {
		return "", nil, err
	}
	var local strings.Builder
	fmt.Fprintf(&local, "  local-zone: %q static\n", zone+".")
	fmt.Fprintf(&local, "  local-data: \"%s. 15 IN SOA ns-1536.awsdns-00.co.uk. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 15\"\n", zone)
	for _, ip := range instances {
		fmt.Fprintf(&local, "  local-data: \"%s. 10 IN A %s\"\n", name, ip)
	}
	conf := fmt.Sprintf(`server:
  interface: 127.0.0.1@%d
  port: %d
  num-threads: %d
  so-reuseport: yes
  do-daemonize: no
  use-syslog: no
  logfile: ""
  verbosity: 0
  username: ""
  chroot: ""
  directory: %q
  pidfile: ""
  access-control: 127.0.0.0/8 allow
%sremote-control:
  control-enable: no
`, port, port, goruntime.NumCPU(), dir, local.String())
	path := filepath.Join(dir, "unbound.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return "", nil, err
	}
	cmd := exec.CommandContext(ctx, "unbound", "-d", "-c", path)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("unbound: %w", err)
	}
	stop := func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	queries := filepath.Join(dir, "ready.txt")
	if err := os.WriteFile(queries, []byte(name+" A\n"), 0o644); err != nil {
		stop()
		return "", nil, err
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		if checkAnswer(ctx, addr, queries) == nil {
			return addr, stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, errors.New("unbound did not answer within 10s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkAnswer asks addr once and wants NOERROR.
func checkAnswer(ctx context.Context, addr, queries string) error {
	host, port, _ := strings.Cut(addr, ":")
	out, err := exec.CommandContext(ctx, "dnsperf", "-s", host, "-p", port, "-d", queries, "-n", "1", "-v").Output()
	if err != nil {
		return fmt.Errorf("dnsperf: %w", err)
	}
	if !strings.Contains(string(out), "> NOERROR") {
		return fmt.Errorf("no NOERROR answer:\n%s", out)
	}
	return nil
}

// timeout is how long dnsperf waits for an answer.
const timeout = 5 * time.Second

// perfResult is one dnsperf pass.
type perfResult struct {
	qps, p50, p99 float64 // p50 and p99 in seconds, of a latency pass
	lost          int     // queries the client gave up on
}

// dnsperf runs one pass against addr: at full speed (rate 0), reading the
// queries/s; or at rate queries/s, reading every query's latency.
func dnsperf(ctx context.Context, addr, queries string, cfg config, rate int) (perfResult, error) {
	host, port, _ := strings.Cut(addr, ":")
	args := []string{"-s", host, "-p", port, "-d", queries, "-l", strconv.Itoa(int(cfg.duration.Seconds())),
		"-c", strconv.Itoa(cfg.clients), "-T", "1", "-q", "200", "-t", strconv.Itoa(int(timeout.Seconds()))}
	if rate > 0 {
		args = append(args, "-Q", strconv.Itoa(rate), "-v")
	}
	cmd := exec.CommandContext(ctx, "dnsperf", args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return perfResult{}, err
	}
	if err := cmd.Start(); err != nil {
		return perfResult{}, err
	}
	r, latencies, perr := parseDnsperf(out, timeout.Seconds())
	if err := cmd.Wait(); err != nil {
		return perfResult{}, fmt.Errorf("dnsperf: %w", err)
	}
	if perr != nil {
		return perfResult{}, perr
	}
	if rate > 0 {
		if len(latencies) == 0 {
			return perfResult{}, errors.New("dnsperf reported no latencies")
		}
		slices.Sort(latencies)
		r.p50 = latencies[len(latencies)/2]
		r.p99 = latencies[len(latencies)*99/100]
	}
	return r, nil
}

// parseDnsperf reads dnsperf's report: "Queries per second:" and, with
// -v, a "> RCODE name type latency" line per query ("> T name type" for
// one it gave up on, counted as lost at the timeout's latency); an answer
// other than NOERROR is an error.
func parseDnsperf(r io.Reader, timeout float64) (perfResult, []float64, error) {
	var res perfResult
	var latencies []float64
	var bad int
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "> "); ok {
			f := strings.Fields(rest)
			if len(f) > 0 && f[0] == "T" {
				res.lost++
				latencies = append(latencies, timeout)
				continue
			}
			if len(f) != 4 || f[0] != "NOERROR" {
				bad++
				continue
			}
			if v, err := strconv.ParseFloat(f[3], 64); err == nil {
				latencies = append(latencies, v)
			}
			continue
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Queries per second:"); ok {
			res.qps, _ = strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	if err := sc.Err(); err != nil {
		return res, nil, err
	}
	if bad > 0 {
		return res, nil, fmt.Errorf("%d queries were not answered NOERROR", bad)
	}
	if res.qps == 0 {
		return res, nil, errors.New("dnsperf reported no queries per second")
	}
	return res, latencies, nil
}
