// Command tasks measures how long berth takes from RunTask to RUNNING for a
// one-container awsvpc task whose image is already on the host, beside the
// plain Docker commands that give the same result: `docker run -d` of a
// container that holds a network namespace on the same task network, then
// `docker run -d --network container:<it>` of the app. Rounds alternate
// between the two, so load from other work falls on both alike.
//
//	make bench-tasks [ARGS='--runs 50']
//	go run ./test/bench/tasks [--runs 50] [--berth-bin bin/berth] [--keep]
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
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth/berth/test/bench/benchserver"
)

// pollInterval is how often RUNNING is polled for: the figures are accurate
// to about this much.
const pollInterval = 5 * time.Millisecond

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench-tasks:", err)
		os.Exit(1)
	}
}

type config struct {
	runs     int
	berthBin string
	keep     bool
	timeout  time.Duration
}

func run() error {
	var cfg config
	flag.IntVar(&cfg.runs, "runs", 50, "tasks started per contender")
	flag.StringVar(&cfg.berthBin, "berth-bin", "", "prebuilt berth binary (default: go build ./cmd/berth, static)")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the temporary dir (server log, data) for inspection")
	flag.DurationVar(&cfg.timeout, "timeout", 20*time.Minute, "give up (and stop everything) after this long")
	flag.Parse()
	if cfg.runs < 2 {
		return errors.New("--runs must be at least 2")
	}
	ctx, stop := benchserver.Context(cfg.timeout)
	defer stop()

	dir, err := os.MkdirTemp("", "bench-tasks-build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if cfg.berthBin, err = benchserver.BerthBinary(ctx, cfg.berthBin, dir); err != nil {
		return err
	}
	appBin := filepath.Join(dir, "app")
	if err := benchserver.GoBuild(ctx, appBin, "./test/e2e/app"); err != nil {
		return err
	}

	srv, err := benchserver.StartBerth(ctx, cfg.berthBin, cfg.keep, true)
	if err != nil {
		return err
	}
	defer srv.Stop()
	b, err := prepare(ctx, srv, appBin)
	if err != nil {
		return srv.Annotate(err)
	}
	defer b.cleanup()

	fmt.Fprintf(os.Stderr, "%d runs each, alternating; RUNNING polled every %s\n", cfg.runs, pollInterval)
	var berthTimes, dockerTimes []time.Duration
	for i := range cfg.runs {
		d, err := b.runTask(ctx)
		if err != nil {
			return srv.Annotate(fmt.Errorf("berth run %d: %w", i+1, err))
		}
		berthTimes = append(berthTimes, d)
		if d, err = b.dockerRun(ctx); err != nil {
			return fmt.Errorf("docker run %d: %w", i+1, err)
		}
		dockerTimes = append(dockerTimes, d)
		fmt.Fprintf(os.Stderr, "\rrun %d/%d", i+1, cfg.runs)
	}
	fmt.Fprintln(os.Stderr)
	printTable(os.Stdout, cfg.runs, berthTimes, dockerTimes)
	return nil
}

// bench holds what both contenders run: berth's cluster and task definition,
// and for Docker the same images on the same network.
type bench struct {
	srv                    *benchserver.Berth
	ecs                    *ecs.Client
	subnet                 string // of the default VPC, for the tasks
	pauseImage, localImage string
	dockerContainers       []string
}

const (
	cluster = "bench"
	family  = "bench-app"
)

// prepare pushes the app image to berth, registers the task definition and
// runs one task, which leaves the image (and berth's network holder image)
// on the host; the Docker baseline uses those same images.
func prepare(ctx context.Context, srv *benchserver.Berth, appBin string) (*bench, error) {
	awsCfg, err := srv.AWSConfig()
	if err != nil {
		return nil, err
	}
	image, err := srv.PushApp(ctx, ecr.NewFromConfig(awsCfg), appBin, "bench-app", "v1")
	if err != nil {
		return nil, err
	}
	b := &bench{srv: srv, ecs: ecs.NewFromConfig(awsCfg)}
	if b.subnet, err = srv.DefaultSubnet(ctx); err != nil {
		return nil, err
	}
	if _, err := b.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(cluster)}); err != nil {
		return nil, err
	}
	_, err = b.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String(family),
		NetworkMode:             ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu:                     aws.String("256"),
		Memory:                  aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String(image), Essential: aws.Bool(true),
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080)}},
		}},
	})
	if err != nil {
		return nil, err
	}
	// The warm-up task: it pulls the image; its containers say which images
	// the baseline is to use.
	if _, err := b.runTask(ctx); err != nil {
		return nil, fmt.Errorf("warm-up task: %w", err)
	}
	// The holder is gone with the stopped task; its image is the newest
	// berth/pause one.
	out, err := exec.CommandContext(ctx, "docker", "images", "--filter", "reference=berth/pause", "--format", "{{.Repository}}:{{.Tag}}").Output()
	if err != nil {
		return nil, err
	}
	b.pauseImage, _, _ = strings.Cut(strings.TrimSpace(string(out)), "\n")
	out, err = exec.CommandContext(ctx, "docker", "ps", "--all", "--format", "{{.Image}}",
		"--filter", "label=com.amazonaws.ecs.task-definition-family="+family).Output()
	if err != nil {
		return nil, err
	}
	b.localImage, _, _ = strings.Cut(strings.TrimSpace(string(out)), "\n")
	if b.pauseImage == "" || b.localImage == "" {
		return nil, errors.New("the warm-up task left no images to run the baseline with")
	}
	return b, nil
}

// runTask runs one task, returns how long RunTask -> RUNNING took, then
// stops it and waits until it is STOPPED (not timed).
func (b *bench) runTask(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	out, err := b.ecs.RunTask(ctx, &ecs.RunTaskInput{
		Cluster:        aws.String(cluster),
		TaskDefinition: aws.String(family),
		LaunchType:     ecstypes.LaunchTypeFargate,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: []string{b.subnet},
		}},
	})
	if err != nil {
		return 0, err
	}
	if len(out.Tasks) != 1 {
		return 0, fmt.Errorf("RunTask started no task: %+v", out.Failures)
	}
	arn := aws.ToString(out.Tasks[0].TaskArn)
	took, err := b.waitStatus(ctx, arn, "RUNNING", start)
	if err != nil {
		return 0, err
	}
	if _, err := b.ecs.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String(arn)}); err != nil {
		return 0, err
	}
	if _, err := b.waitStatus(ctx, arn, "STOPPED", time.Now()); err != nil {
		return 0, err
	}
	return took, nil
}

func (b *bench) waitStatus(ctx context.Context, arn, status string, since time.Time) (time.Duration, error) {
	deadline := since.Add(time.Minute)
	for {
		out, err := b.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: []string{arn}})
		if err != nil {
			return 0, err
		}
		if len(out.Tasks) == 1 {
			last := aws.ToString(out.Tasks[0].LastStatus)
			if last == status {
				return time.Since(since), nil
			}
			if last == "STOPPED" {
				return 0, fmt.Errorf("task stopped: %s", aws.ToString(out.Tasks[0].StoppedReason))
			}
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("task not %s after a minute", status)
		}
		time.Sleep(pollInterval)
	}
}

// dockerRun times the Docker commands that give what a task gives: a
// network holder on Docker's bridge, then the app in its namespace. The
// containers are removed afterwards (not timed).
func (b *bench) dockerRun(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	holder, err := exec.CommandContext(ctx, "docker", "run", "-d", b.pauseImage).Output()
	if err != nil {
		return 0, fmt.Errorf("docker run (holder): %w", err)
	}
	id := strings.TrimSpace(string(holder))
	b.dockerContainers = append(b.dockerContainers, id)
	app, err := exec.CommandContext(ctx, "docker", "run", "-d", "--network", "container:"+id, b.localImage).Output()
	if err != nil {
		return 0, fmt.Errorf("docker run (app): %w", err)
	}
	took := time.Since(start)
	b.dockerContainers = append(b.dockerContainers, strings.TrimSpace(string(app)))
	b.cleanup()
	return took, nil
}

func (b *bench) cleanup() {
	if len(b.dockerContainers) > 0 {
		exec.Command("docker", append([]string{"rm", "--force"}, b.dockerContainers...)...).Run()
		b.dockerContainers = nil
	}
}

func percentile(xs []time.Duration, p float64) time.Duration {
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

func printTable(w io.Writer, runs int, berth, docker []time.Duration) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
	fmt.Fprintf(w, "RunTask -> RUNNING, one-container awsvpc task, image cached, %d runs\n\n", runs)
	fmt.Fprintf(w, "%-44s %8s %8s\n", "", "p50", "p99")
	fmt.Fprintf(w, "%-44s %8s %8s\n", "berth (RunTask until DescribeTasks RUNNING)", ms(percentile(berth, .5)), ms(percentile(berth, .99)))
	fmt.Fprintf(w, "%-44s %8s %8s\n", "docker run holder + docker run app", ms(percentile(docker, .5)), ms(percentile(docker, .99)))
	overhead := float64(percentile(berth, .5))/float64(percentile(docker, .5))*100 - 100
	fmt.Fprintf(w, "\nberth's overhead at p50: %+.0f %%\n", overhead)
}
