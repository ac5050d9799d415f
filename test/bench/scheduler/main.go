// Command scheduler is issue 4's benchmark of berth's ECS service scheduler.
//
//  1. Placement throughput: berth runs without its own agent while 500
//     hollow agents (package hollow: fake nodes speaking the real agent
//     protocol, acknowledging at once, as Kubernetes' kubemark does) serve
//     one cluster; services totalling 20,000 EC2 tasks are created and the
//     time from the first CreateService until every task is RUNNING (on
//     the server, by DescribeServices, and at the agents) gives placements
//     per second. The goal is at least 5,000/s. With --runtask-tasks the
//     same number of tasks started by plain RunTask calls of 10 is shown
//     as a reference (off by default: it takes minutes).
//  2. Rolling update on Docker: a 10-task FARGATE service of a FROM scratch
//     image with a container health check; the time from UpdateService to
//     a new task definition revision until the service is steady again.
//
// Each figure is the median of --runs runs; every placement run and the
// RunTask reference get a fresh server.
//
//	make bench-scheduler [ARGS='--runs 5']
//	go run ./test/bench/scheduler [--runs 3] [--berth-bin bin/berth] [--docker=false]
//		[--strategy spread|binpack|none] [--runtask-tasks 20000] [--profile-dir DIR] [--keep]
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/berth/berth/test/bench/benchserver"
)

// goalPlacementsPerSecond is issue 4's goal on a 2-core machine.
const goalPlacementsPerSecond = 5000

func main() {
	// The hollow agents and the API clients share the machine with the
	// server they measure: collecting their garbage less often leaves the
	// server more of the two cores.
	debug.SetGCPercent(400)
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench-scheduler:", err)
		os.Exit(1)
	}
}

type config struct {
	runs     int
	berthBin string
	keep     bool
	timeout  time.Duration
	logLevel string
	// profileDir, when set, gets a CPU profile of the server over the
	// first profileFor of each placement run.
	profileDir string
	profileFor time.Duration

	placement                         bool
	strategy                          string
	agents, services, tasksPerService int
	runTaskTasks, runTaskParallel     int
	stallTimeout                      time.Duration

	docker      bool
	dockerTasks int
}

func run() error {
	var cfg config
	flag.IntVar(&cfg.runs, "runs", 3, "runs of each measurement; the median is printed")
	flag.StringVar(&cfg.berthBin, "berth-bin", "", "prebuilt berth binary (default: go build ./cmd/berth, static)")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the temporary dirs (server logs, data) for inspection")
	flag.StringVar(&cfg.logLevel, "server-log-level", "info", "the server's --log-level")
	flag.StringVar(&cfg.profileDir, "profile-dir", "", "write a CPU profile of the server (its --pprof-listen) over each placement run to this directory")
	flag.DurationVar(&cfg.profileFor, "profile-for", 10*time.Second, "length of each profile (whole seconds)")
	flag.DurationVar(&cfg.timeout, "timeout", time.Hour, "give up (and stop everything) after this long")
	flag.BoolVar(&cfg.placement, "placement", true, "measure placement throughput with hollow agents")
	flag.StringVar(&cfg.strategy, "strategy", "spread", "services' placement strategy: spread (by availability zone, then instance: the console's default), binpack (memory) or none (the server's default)")
	flag.IntVar(&cfg.agents, "agents", 500, "hollow agents (container instances)")
	flag.IntVar(&cfg.services, "services", 20, "services created")
	flag.IntVar(&cfg.tasksPerService, "tasks-per-service", 1000, "desired count of each service")
	flag.IntVar(&cfg.runTaskTasks, "runtask-tasks", 0, "tasks of the plain RunTask reference run, e.g. 20000 (0: skip it; RunTask reads every task of the server per call, so this takes minutes)")
	flag.IntVar(&cfg.runTaskParallel, "runtask-parallel", 8, "RunTask calls (of 10 tasks each) in flight")
	flag.DurationVar(&cfg.stallTimeout, "stall-timeout", 2*time.Minute, "fail a run whose RUNNING count stays the same this long")
	flag.BoolVar(&cfg.docker, "docker", true, "also time a rolling update of a service on Docker (needs dockerd, as root)")
	flag.IntVar(&cfg.dockerTasks, "docker-tasks", 10, "desired count of the Docker service")
	flag.Parse()
	if _, ok := placementStrategies[cfg.strategy]; !ok {
		return fmt.Errorf("--strategy %q: want spread, binpack or none", cfg.strategy)
	}
	if cfg.runs < 1 || cfg.agents < 1 || cfg.services < 1 || cfg.tasksPerService < 1 || cfg.runTaskParallel < 1 || cfg.dockerTasks < 1 {
		return errors.New("--runs, --agents, --services, --tasks-per-service, --runtask-parallel and --docker-tasks must be positive")
	}
	if cfg.profileDir != "" {
		if err := os.MkdirAll(cfg.profileDir, 0o755); err != nil {
			return err
		}
	}
	ctx, stop := benchserver.Context(cfg.timeout)
	defer stop()

	dir, err := os.MkdirTemp("", "bench-scheduler-build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if cfg.berthBin, err = benchserver.BerthBinary(ctx, cfg.berthBin, dir); err != nil {
		return err
	}

	var placements []placementResult
	for i := range cfg.runs {
		if !cfg.placement {
			break
		}
		fmt.Fprintf(os.Stderr, "placement run %d/%d\n", i+1, cfg.runs)
		r, err := measureServices(ctx, cfg, i+1)
		if err != nil {
			return fmt.Errorf("placement run %d: %w", i+1, err)
		}
		fmt.Fprintf(os.Stderr, "  %s\n", r)
		placements = append(placements, r)
	}
	var runTask *placementResult
	if cfg.placement && cfg.runTaskTasks > 0 {
		fmt.Fprintln(os.Stderr, "RunTask reference run")
		r, err := measureRunTask(ctx, cfg)
		if err != nil {
			return fmt.Errorf("RunTask reference: %w", err)
		}
		fmt.Fprintf(os.Stderr, "  %s\n", r)
		runTask = &r
	}
	var rollout *rolloutResult
	if cfg.docker {
		appBin := filepath.Join(dir, "app")
		if err := benchserver.GoBuild(ctx, appBin, "./test/e2e/app"); err != nil {
			return err
		}
		r, err := measureRollout(ctx, cfg, appBin)
		if err != nil {
			return fmt.Errorf("rolling update on Docker: %w", err)
		}
		rollout = &r
	}
	printReport(os.Stdout, cfg, placements, runTask, rollout)
	return nil
}

func printReport(w io.Writer, cfg config, placements []placementResult, runTask *placementResult, rollout *rolloutResult) {
	if len(placements) > 0 {
		printPlacements(w, cfg, placements, runTask)
	}
	if rollout != nil {
		printRollout(w, cfg, rollout)
	}
}

func printPlacements(w io.Writer, cfg config, placements []placementResult, runTask *placementResult) {
	total := cfg.services * cfg.tasksPerService
	fmt.Fprintf(w, "\nPlacement throughput: %d hollow agents, %d services x %d tasks (EC2, bridge, strategy %s), %d runs\n\n",
		cfg.agents, cfg.services, cfg.tasksPerService, cfg.strategy, len(placements))
	for i, r := range placements {
		fmt.Fprintf(w, "  run %d: %s\n", i+1, r)
	}
	rates := make([]float64, len(placements))
	for i, r := range placements {
		rates[i] = r.perSecond()
	}
	m := benchserver.Median(rates)
	verdict := "meets the goal"
	if m < goalPlacementsPerSecond {
		verdict = "BELOW the goal"
	}
	fmt.Fprintf(w, "\n  median: %d tasks, %.1f s, %.0f placements/s (goal >= %d/s: %s)\n",
		total, float64(total)/m, m, goalPlacementsPerSecond, verdict)
	if runTask != nil {
		fmt.Fprintf(w, "\n  reference, plain RunTask (calls of 10, %d in flight, 1 run): %s\n", cfg.runTaskParallel, runTask)
	}
}

func printRollout(w io.Writer, cfg config, rollout *rolloutResult) {
	fmt.Fprintf(w, "\nRolling update on Docker: %d-task FARGATE service (awsvpc, FROM scratch image, container health check), %d runs\n\n",
		cfg.dockerTasks, len(rollout.updates))
	fmt.Fprintf(w, "  CreateService -> steady: %.1f s\n", rollout.create.Seconds())
	secs := make([]float64, len(rollout.updates))
	for i, d := range rollout.updates {
		secs[i] = d.Seconds()
		fmt.Fprintf(w, "  run %d: UpdateService (new revision) -> steady: %.1f s\n", i+1, secs[i])
	}
	fmt.Fprintf(w, "\n  median UpdateService -> steady: %.1f s\n", benchserver.Median(secs))
	fmt.Fprintf(w, "  (steady: one deployment, COMPLETED, runningCount == desiredCount; a task counts healthy once its\n"+
		"   health check passes, the first check %s after the container starts)\n", healthCheckInterval)
}
