package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth/berth/test/bench/benchserver"
	"github.com/berth/berth/test/bench/scheduler/hollow"
)

const (
	hollowCluster = "hollow"
	hollowFamily  = "hollow-app"
	// Each hollow node offers 16 vCPUs and 64 GiB; a task takes 16 CPU
	// units and 32 MiB, so 500 nodes take 20,000 tasks many times over
	// whatever the placement strategy.
	hollowNodeCPU    = 16 * 1024
	hollowNodeMemory = 64 * 1024
	// pollInterval is how often the RUNNING count is read: the figures are
	// accurate to about this much.
	pollInterval = 50 * time.Millisecond
)

// placementStrategies are the services' strategies --strategy names.
var placementStrategies = map[string][]ecstypes.PlacementStrategy{
	"spread": {
		{Type: ecstypes.PlacementStrategyTypeSpread, Field: aws.String("attribute:ecs.availability-zone")},
		{Type: ecstypes.PlacementStrategyTypeSpread, Field: aws.String("instanceId")},
	},
	"binpack": {{Type: ecstypes.PlacementStrategyTypeBinpack, Field: aws.String("memory")}},
	"none":    nil,
}

// placementResult is one measured run.
type placementResult struct {
	tasks int
	// Times from the first API call: agents is when the hollow agents had
	// acknowledged every task RUNNING, server when the server's task
	// records showed them all RUNNING (DescribeClusters), services when
	// DescribeServices' runningCounts added up to all of them.
	agents, server, services time.Duration
	withServices             bool
	// servicesStuck is DescribeServices' total when it never reached the
	// task count although every task record was RUNNING.
	servicesStuck int
	calls         int // API calls that started the tasks
	// Resource use over the run: the server's CPU seconds (its /metrics)
	// and this process's (hollow agents and API clients).
	serverCPU, benchCPU float64
	// conflicts counts placement decisions made again because another
	// placement changed a node they chose.
	conflicts float64
}

// elapsed is when the agents and the server both showed every task
// RUNNING: the server by DescribeServices, else by the task records.
func (r placementResult) elapsed() time.Duration {
	if r.withServices && r.services != 0 {
		return max(r.agents, r.services)
	}
	return max(r.agents, r.server)
}

func (r placementResult) perSecond() float64 { return float64(r.tasks) / r.elapsed().Seconds() }

func (r placementResult) String() string {
	e := r.elapsed().Seconds()
	services := ""
	switch {
	case r.withServices && r.services != 0:
		services = fmt.Sprintf("DescribeServices %.1f s, every task record RUNNING", r.services.Seconds())
	case r.withServices:
		services = fmt.Sprintf("task records %.1f s, DescribeServices STUCK at %d running", r.server.Seconds(), r.servicesStuck)
	default:
		services = fmt.Sprintf("task records %.1f s", r.server.Seconds())
	}
	return fmt.Sprintf("%d tasks RUNNING in %.1f s = %.0f placements/s (agents' acks %.1f s, %s; %d API calls; %.0f placement conflicts; CPU: server %.1f s = %.2f cores, bench process %.1f s)",
		r.tasks, e, r.perSecond(), r.agents.Seconds(), services, r.calls, r.conflicts, r.serverCPU, r.serverCPU/e, r.benchCPU)
}

// hollowSetup is a fresh server with its fleet of hollow agents, the
// cluster and the task definition.
type hollowSetup struct {
	srv   *benchserver.Berth
	ecs   *ecs.Client
	fleet *hollow.Fleet
	// pprofURL is the server's --pprof-listen, when profiling.
	pprofURL string
}

func (h *hollowSetup) stop() {
	if h.fleet != nil {
		h.fleet.Stop()
	}
	h.srv.Stop()
}

func startHollow(ctx context.Context, cfg config) (_ *hollowSetup, err error) {
	args := []string{"--log-level", cfg.logLevel}
	pprofURL := ""
	if cfg.profileDir != "" {
		port, err := benchserver.FreePort()
		if err != nil {
			return nil, err
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		args = append(args, "--pprof-listen", addr)
		pprofURL = "http://" + addr
	}
	srv, err := benchserver.StartBerth(ctx, cfg.berthBin, cfg.keep, false, args...)
	if err != nil {
		return nil, err
	}
	h := &hollowSetup{srv: srv, pprofURL: pprofURL}
	defer func() {
		if err != nil {
			err = srv.Annotate(err)
			h.stop()
		}
	}()
	awsCfg, err := srv.AWSConfig()
	if err != nil {
		return nil, err
	}
	h.ecs = ecs.NewFromConfig(awsCfg)
	if _, err := h.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(hollowCluster)}); err != nil {
		return nil, err
	}
	_, err = h.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String(hollowFamily),
		NetworkMode:             ecstypes.NetworkModeBridge,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityEc2},
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String("public.ecr.aws/docker/library/busybox:latest"),
			Essential: aws.Bool(true), Cpu: 16, Memory: aws.Int32(32),
		}},
	})
	if err != nil {
		return nil, err
	}
	token, err := srv.AgentToken()
	if err != nil {
		return nil, err
	}
	began := time.Now()
	h.fleet, err = hollow.Start(ctx, hollow.Config{
		ServerURL: srv.URL, Token: token, Cluster: hollowCluster,
		CPU: hollowNodeCPU, MemoryMiB: hollowNodeMemory,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}, cfg.agents)
	if err != nil {
		return nil, err
	}
	instances, err := h.countInstances(ctx)
	if err != nil {
		return nil, err
	}
	if instances != cfg.agents {
		return nil, fmt.Errorf("ListContainerInstances shows %d instances, want %d", instances, cfg.agents)
	}
	fmt.Fprintf(os.Stderr, "  %d hollow agents connected in %.1f s; ListContainerInstances shows %d\n",
		cfg.agents, time.Since(began).Seconds(), instances)
	return h, nil
}

// countInstances counts the cluster's container instances.
func (h *hollowSetup) countInstances(ctx context.Context) (int, error) {
	n := 0
	p := ecs.NewListContainerInstancesPaginator(h.ecs, &ecs.ListContainerInstancesInput{Cluster: aws.String(hollowCluster), MaxResults: aws.Int32(100)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, err
		}
		n += len(page.ContainerInstanceArns)
	}
	return n, nil
}

// measureServices creates the services on a fresh server and times them
// until every task is RUNNING.
func measureServices(ctx context.Context, cfg config, run int) (placementResult, error) {
	h, err := startHollow(ctx, cfg)
	if err != nil {
		return placementResult{}, err
	}
	defer h.stop()
	total := cfg.services * cfg.tasksPerService
	names := make([]string, cfg.services)
	for i := range names {
		names[i] = fmt.Sprintf("svc-%03d", i)
	}

	before, err := serverMetrics(ctx, h.srv.URL)
	if err != nil {
		return placementResult{}, err
	}
	benchBefore := processCPU()
	profiled := h.profile(ctx, cfg, fmt.Sprintf("placement-%d.pprof", run))
	defer profiled()
	start := time.Now()
	errs := make(chan error, len(names))
	for _, name := range names {
		go func() {
			_, err := h.ecs.CreateService(ctx, &ecs.CreateServiceInput{
				Cluster:           aws.String(hollowCluster),
				ServiceName:       aws.String(name),
				TaskDefinition:    aws.String(hollowFamily),
				DesiredCount:      aws.Int32(int32(cfg.tasksPerService)),
				LaunchType:        ecstypes.LaunchTypeEc2,
				PlacementStrategy: placementStrategies[cfg.strategy],
			})
			errs <- err
		}()
	}
	for range names {
		if err := <-errs; err != nil {
			return placementResult{}, h.srv.Annotate(fmt.Errorf("CreateService: %w", err))
		}
	}

	servicesRunning := func(ctx context.Context) (int, error) {
		running := 0
		for chunk := range slicesChunk(names, 10) {
			out, err := h.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(hollowCluster), Services: chunk})
			if err != nil {
				return 0, err
			}
			if len(out.Failures) > 0 {
				return 0, fmt.Errorf("DescribeServices: %s %s", aws.ToString(out.Failures[0].Arn), aws.ToString(out.Failures[0].Reason))
			}
			for _, s := range out.Services {
				running += int(s.RunningCount)
			}
		}
		return running, nil
	}
	r, err := waitAllRunning(ctx, cfg, h, total, start, servicesRunning)
	if err != nil {
		return r, h.srv.Annotate(err)
	}
	r.calls = len(names)
	after, err := serverMetrics(ctx, h.srv.URL)
	if err != nil {
		return r, err
	}
	r.serverCPU, r.benchCPU = after[cpuMetric]-before[cpuMetric], processCPU()-benchBefore
	r.conflicts = after[conflictsMetric] - before[conflictsMetric]
	return r, nil
}

// measureRunTask starts the tasks with RunTask calls of 10 on a fresh
// server and times them until every one is RUNNING.
func measureRunTask(ctx context.Context, cfg config) (placementResult, error) {
	h, err := startHollow(ctx, cfg)
	if err != nil {
		return placementResult{}, err
	}
	defer h.stop()
	total := cfg.runTaskTasks
	calls := (total + 9) / 10

	before, err := serverMetrics(ctx, h.srv.URL)
	if err != nil {
		return placementResult{}, err
	}
	benchBefore := processCPU()
	start := time.Now()
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range cfg.runTaskParallel {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= calls || runCtx.Err() != nil {
					return
				}
				count := min(10, total-10*i)
				out, err := h.ecs.RunTask(runCtx, &ecs.RunTaskInput{
					Cluster:        aws.String(hollowCluster),
					TaskDefinition: aws.String(hollowFamily),
					LaunchType:     ecstypes.LaunchTypeEc2,
					Count:          aws.Int32(int32(count)),
				})
				if err == nil && len(out.Tasks) != count {
					err = fmt.Errorf("RunTask started %d of %d tasks: %+v", len(out.Tasks), count, out.Failures)
				}
				if err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	r, err := waitAllRunning(runCtx, cfg, h, total, start, nil)
	wg.Wait()
	if cause := context.Cause(runCtx); err != nil && cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause
	}
	if err != nil {
		return r, h.srv.Annotate(err)
	}
	r.calls = calls
	after, err := serverMetrics(ctx, h.srv.URL)
	if err != nil {
		return r, err
	}
	r.serverCPU, r.benchCPU = after[cpuMetric]-before[cpuMetric], processCPU()-benchBefore
	r.conflicts = after[conflictsMetric] - before[conflictsMetric]
	return r, nil
}

// waitAllRunning polls until the hollow agents have acknowledged total
// tasks RUNNING, the server's task records show as many (DescribeClusters
// runningTasksCount), and, for services, DescribeServices' runningCounts
// add up to total. It fails when no count moves for the stall timeout;
// when only the services' counts lag that long, it returns with
// servicesStuck set rather than failing.
func waitAllRunning(ctx context.Context, cfg config, h *hollowSetup, total int, start time.Time, servicesRunning func(context.Context) (int, error)) (placementResult, error) {
	r := placementResult{tasks: total, withServices: servicesRunning != nil}
	tasksRunning, svcRunning := 0, 0
	var acked int64
	var lastClusterPoll time.Time
	type progress struct {
		acked       int64
		tasks, svcs int
	}
	last := progress{acked: -1}
	lastProgress, lastPrint := time.Now(), time.Now()
	for {
		elapsed := time.Since(start)
		acked = h.fleet.Counts().Running
		if r.agents == 0 && acked >= int64(total) {
			r.agents = elapsed
		}
		if servicesRunning != nil && r.services == 0 {
			n, err := servicesRunning(ctx)
			if err != nil {
				return r, err
			}
			svcRunning = n
			if n >= total {
				r.services = time.Since(start)
			}
		}
		// DescribeClusters decodes every task record, which costs the
		// server enough to slow what is measured. It is polled only once
		// the agents have acked every task (the records cannot be RUNNING
		// before), and less often as the run goes on. With services it
		// only confirms DescribeServices' count, or, should that lag
		// behind the agents, tells whether the task records do too.
		interval := min(time.Second, max(pollInterval, elapsed/50))
		if servicesRunning != nil {
			interval = 500 * time.Millisecond
		}
		poll := r.agents != 0 && r.server == 0 && time.Since(lastClusterPoll) >= interval
		if servicesRunning != nil && r.services == 0 && elapsed-r.agents < 2*time.Second {
			poll = false
		}
		if poll {
			lastClusterPoll = time.Now()
			out, err := h.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{hollowCluster}})
			if err != nil {
				return r, err
			}
			if len(out.Clusters) != 1 {
				return r, errors.New("DescribeClusters: no cluster")
			}
			tasksRunning = int(out.Clusters[0].RunningTasksCount)
			if tasksRunning >= total {
				r.server = time.Since(start)
			}
		}
		if r.agents != 0 && r.server != 0 && (servicesRunning == nil || r.services != 0) {
			return r, nil
		}
		if cur := (progress{acked, tasksRunning, svcRunning}); cur != last {
			last, lastProgress = cur, time.Now()
		} else if time.Since(lastProgress) > cfg.stallTimeout {
			if r.agents != 0 && r.server != 0 {
				r.servicesStuck = svcRunning
				return r, nil
			}
			return r, fmt.Errorf("stalled: %d of %d tasks acknowledged RUNNING by agents, %d RUNNING in the server's records, DescribeServices %d; no change for %s%s",
				acked, total, tasksRunning, svcRunning, cfg.stallTimeout, h.diagnose(ctx))
		}
		if time.Since(lastPrint) >= 5*time.Second {
			lastPrint = time.Now()
			services := ""
			if servicesRunning != nil {
				services = fmt.Sprintf(", DescribeServices %d", svcRunning)
			}
			fmt.Fprintf(os.Stderr, "  %5.1f s: agents acked %d%s, DescribeClusters %d RUNNING\n",
				time.Since(start).Seconds(), acked, services, tasksRunning)
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(pollInterval):
		}
	}
}

// slicesChunk yields s in pieces of at most n.
func slicesChunk(s []string, n int) func(func([]string) bool) {
	return func(yield func([]string) bool) {
		for i := 0; i < len(s); i += n {
			if !yield(s[i:min(i+n, len(s))]) {
				return
			}
		}
	}
}

// Server metrics the placement runs report.
const (
	cpuMetric       = "process_cpu_seconds_total"
	conflictsMetric = "berth_ecs_placement_conflicts_total"
)

// serverMetrics reads the unlabelled series of the server's /metrics.
func serverMetrics(ctx context.Context, url string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") || strings.Contains(name, "{") {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err == nil {
			out[name] = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if _, ok := out[cpuMetric]; !ok {
		return nil, errors.New("/metrics has no " + cpuMetric)
	}
	return out, nil
}

// processCPU is this process's user+system CPU seconds so far.
func processCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// diagnose describes, for a stalled run, the tasks the server does not
// show RUNNING beside what their agents last reported.
func (h *hollowSetup) diagnose(ctx context.Context) string {
	var b strings.Builder
	var arns []string
	p := ecs.NewListTasksPaginator(h.ecs, &ecs.ListTasksInput{Cluster: aws.String(hollowCluster), MaxResults: aws.Int32(100)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Sprintf("\n(ListTasks: %v)", err)
		}
		arns = append(arns, page.TaskArns...)
	}
	byStatus := map[string]int{}
	var samples []string
	for chunk := range slicesChunk(arns, 100) {
		out, err := h.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(hollowCluster), Tasks: chunk})
		if err != nil {
			return fmt.Sprintf("\n(DescribeTasks: %v)", err)
		}
		for _, t := range out.Tasks {
			last, want := aws.ToString(t.LastStatus), aws.ToString(t.DesiredStatus)
			byStatus[last+"/"+want]++
			if last == "RUNNING" || len(samples) >= 5 {
				continue
			}
			arn := aws.ToString(t.TaskArn)
			id := arn[strings.LastIndex(arn, "/")+1:]
			agent := "no hollow agent knows it"
			if r, host, ok := h.fleet.Report(hollowCluster, id); ok {
				agent = fmt.Sprintf("agent %s reported %s generation %d", host, r.Status.LastStatus, r.Status.Generation)
			}
			samples = append(samples, fmt.Sprintf("  task %s (%s) last %s desired %s version %d: %s",
				id, aws.ToString(t.Group), last, want, t.Version, agent))
		}
	}
	fmt.Fprintf(&b, "\nserver's tasks by lastStatus/desiredStatus: %v", byStatus)
	for _, s := range samples {
		b.WriteString("\n" + s)
	}
	return b.String()
}

// profile starts a CPU profile of the server for --profile-for, written to
// --profile-dir/name; the function it returns waits for it. Without
// --profile-dir it does nothing.
func (h *hollowSetup) profile(ctx context.Context, cfg config, name string) (wait func()) {
	if h.pprofURL == "" {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		path := filepath.Join(cfg.profileDir, name)
		url := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", h.pprofURL, max(1, int(cfg.profileFor/time.Second)))
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Fprintf(os.Stderr, "  profile: %v\n", err)
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(path)
		if err == nil {
			_, err = io.Copy(f, resp.Body)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "  profile: %v\n", err)
			return
		}
		fmt.Fprintf(os.Stderr, "  server CPU profile of the first %s: %s (go tool pprof -top %s %s)\n", cfg.profileFor, path, cfg.berthBin, path)
	}()
	return func() { <-done }
}
