package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth/berth/test/bench/benchserver"
)

const (
	linesCluster = "bench-logs"
	linesFamily  = "bench-logs-lines"
	linesGroup   = "bench-logs-lines"
	linesPrefix  = "lines"
	linesRepo    = "bench-logs-app"
	// linesPoll is how often the stream's newest event is read: the time
	// the last line was stored is accurate to about this much.
	linesPoll = 10 * time.Millisecond
	// linesTimeout bounds one task, from RunTask until its last line is
	// stored.
	linesTimeout = 5 * time.Minute
	// stoppedGrace is how long the last line may take to be stored after
	// the task is seen STOPPED (the agent reports STOPPED only once the
	// output is stored) before the run fails.
	stoppedGrace = 30 * time.Second
)

// linesRun is one task's timeline: its container started, its last line
// was stored, its container exited.
type linesRun struct {
	lines                   int
	started, stored, exited time.Time
}

func (r linesRun) linesPerSecond() float64 {
	return float64(r.lines) / r.stored.Sub(r.started).Seconds()
}

// afterExitSeconds is how long after the container's exit its last line
// was stored; negative when it was stored before Docker saw the exit.
func (r linesRun) afterExitSeconds() float64 { return r.stored.Sub(r.exited).Seconds() }

func (r linesRun) String() string {
	return fmt.Sprintf("%s lines stored %.2f s after the container started (%s lines/s), %.2f s after it exited",
		thousands(int64(r.lines)), r.stored.Sub(r.started).Seconds(), thousandsF(r.linesPerSecond()), r.afterExitSeconds())
}

// measureContainerLines runs cfg.runs tasks, one after another, on a
// server with its agent, and removes what they left on the host: the
// containers and task network (benchserver), and the images pulled.
func measureContainerLines(ctx context.Context, cfg config, appBin string) ([]linesRun, error) {
	srv, err := benchserver.StartBerth(ctx, cfg.berthBin, cfg.keep, true)
	if err != nil {
		return nil, fmt.Errorf("%w (--docker=false skips this part)", err)
	}
	defer func() {
		imported := importedImages(srv)
		srv.Stop()
		removeImages(srv, imported)
	}()
	awsCfg, err := sdkConfig(srv)
	if err != nil {
		return nil, err
	}
	image, err := srv.PushApp(ctx, ecr.NewFromConfig(awsCfg), appBin, linesRepo, "v1")
	if err != nil {
		return nil, srv.Annotate(err)
	}
	b := &linesBench{cfg: cfg, ecs: ecs.NewFromConfig(awsCfg), logs: newLogsClient(awsCfg)}
	if b.subnet, err = srv.DefaultSubnet(ctx); err != nil {
		return nil, srv.Annotate(err)
	}
	if err := b.prepare(ctx, image); err != nil {
		return nil, srv.Annotate(err)
	}
	var runs []linesRun
	for i := range cfg.runs {
		r, err := b.runOnce(ctx)
		var skip skipError
		if errors.As(err, &skip) {
			return nil, err
		}
		if err != nil {
			return nil, srv.Annotate(fmt.Errorf("run %d: %w", i+1, err))
		}
		fmt.Fprintf(os.Stderr, "container output run %d/%d: %s\n", i+1, cfg.runs, r)
		runs = append(runs, r)
	}
	return runs, nil
}

type linesBench struct {
	cfg    config
	ecs    *ecs.Client
	logs   *cloudwatchlogs.Client
	subnet string // of the default VPC, for the tasks
}

func (b *linesBench) prepare(ctx context.Context, image string) error {
	if _, err := b.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(linesCluster)}); err != nil {
		return err
	}
	if _, err := b.logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(linesGroup)}); err != nil {
		return err
	}
	_, err := b.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String(linesFamily),
		NetworkMode:             ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu:                     aws.String("256"),
		Memory:                  aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String(image), Essential: aws.Bool(true),
			Command: []string{"-print-lines", strconv.Itoa(b.cfg.lines)},
			LogConfiguration: &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs, Options: map[string]string{
				"awslogs-group": linesGroup, "awslogs-region": "us-east-1", "awslogs-stream-prefix": linesPrefix,
			}},
		}},
	})
	return err
}

// runOnce runs the task, polls its stream's newest event until it is the
// last line while watching the task, then waits for STOPPED and reads the
// container's start and exit from the task.
func (b *linesBench) runOnce(ctx context.Context) (linesRun, error) {
	r := linesRun{lines: b.cfg.lines}
	// The group holds the earlier runs' streams too.
	base, err := groupStoredBytes(ctx, b.logs, linesGroup)
	if err != nil {
		return r, err
	}
	out, err := b.ecs.RunTask(ctx, &ecs.RunTaskInput{
		Cluster:        aws.String(linesCluster),
		TaskDefinition: aws.String(linesFamily),
		LaunchType:     ecstypes.LaunchTypeFargate,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: []string{b.subnet},
		}},
	})
	if err != nil {
		return r, err
	}
	if len(out.Tasks) != 1 {
		return r, fmt.Errorf("RunTask started no task: %+v", out.Failures)
	}
	arn := aws.ToString(out.Tasks[0].TaskArn)
	stream := linesPrefix + "/app/" + arn[strings.LastIndex(arn, "/")+1:]
	lastLine := fmt.Sprintf("line %07d", b.cfg.lines)
	newest := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(linesGroup), LogStreamName: aws.String(stream), Limit: aws.Int32(1)}

	deadline := time.Now().Add(linesTimeout)
	var stoppedSeen, lastProgress time.Time
	for i := 0; ; i++ {
		page, err := b.logs.GetLogEvents(ctx, newest)
		var missing *logstypes.ResourceNotFoundException
		switch {
		case errors.As(err, &missing):
		case err != nil:
			return r, err
		case len(page.Events) == 1 && aws.ToString(page.Events[0].Message) == lastLine:
			r.stored = time.Now()
		}
		if !r.stored.IsZero() {
			break
		}
		now := time.Now()
		if now.After(deadline) {
			return r, fmt.Errorf("the last line was not stored %s after RunTask (%s)", linesTimeout, b.progress(ctx, stream, base))
		}
		if now.Sub(lastProgress) >= 2*time.Second {
			lastProgress = now
			fmt.Fprintf(os.Stderr, "  %s\n", b.progress(ctx, stream, base))
		}
		if i%25 == 0 && stoppedSeen.IsZero() {
			task, err := b.describe(ctx, arn)
			if err != nil {
				return r, err
			}
			if aws.ToString(task.LastStatus) == "STOPPED" {
				stoppedSeen = now
				if err := taskFailure(task); err != nil {
					return r, err
				}
			}
		}
		if !stoppedSeen.IsZero() && now.Sub(stoppedSeen) > stoppedGrace {
			if exists, err := b.streamExists(ctx, stream); err == nil && !exists {
				return r, skipError{fmt.Sprintf("the task stopped and its log stream %s did not appear in %s: the agent does not ship awslogs output yet", stream, stoppedGrace)}
			}
			return r, fmt.Errorf("the task stopped %s ago and its last line is not stored (%s)", stoppedGrace, b.progress(ctx, stream, base))
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(linesPoll):
		}
	}

	var task ecstypes.Task
	for aws.ToString(task.LastStatus) != "STOPPED" {
		if time.Now().After(deadline) {
			return r, fmt.Errorf("task not STOPPED %s after RunTask", linesTimeout)
		}
		if task, err = b.describe(ctx, arn); err != nil {
			return r, err
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err := taskFailure(task); err != nil {
		return r, err
	}
	if task.StartedAt == nil || task.ExecutionStoppedAt == nil {
		return r, fmt.Errorf("the stopped task has no startedAt (%v) or executionStoppedAt (%v)", task.StartedAt, task.ExecutionStoppedAt)
	}
	r.started, r.exited = *task.StartedAt, *task.ExecutionStoppedAt
	stored, err := groupStoredBytes(ctx, b.logs, linesGroup)
	if err != nil {
		return r, err
	}
	if want := linesStoredBytes(b.cfg.lines); stored-base != want {
		return r, fmt.Errorf("the task's output is %d bytes stored, not the %d of %d lines", stored-base, want, b.cfg.lines)
	}
	return r, nil
}

func (b *linesBench) describe(ctx context.Context, arn string) (ecstypes.Task, error) {
	out, err := b.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(linesCluster), Tasks: []string{arn}})
	if err != nil {
		return ecstypes.Task{}, err
	}
	if len(out.Tasks) != 1 {
		return ecstypes.Task{}, fmt.Errorf("DescribeTasks found no task %s", arn)
	}
	return out.Tasks[0], nil
}

// taskFailure says why a stopped task did not run its container to a clean
// exit: a skipError when berth's agent could not set up its logs.
func taskFailure(task ecstypes.Task) error {
	reason := aws.ToString(task.StoppedReason)
	if strings.Contains(reason, "ResourceInitializationError") && strings.Contains(strings.ToLower(reason), "log") {
		return skipError{reason}
	}
	for _, c := range task.Containers {
		if c.ExitCode == nil || *c.ExitCode != 0 {
			return fmt.Errorf("task stopped (%s: %s), container %s exit code %v", task.StopCode, reason, aws.ToString(c.Name), c.ExitCode)
		}
	}
	return nil
}

func (b *linesBench) streamExists(ctx context.Context, stream string) (bool, error) {
	out, err := b.logs.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{
		LogGroupName: aws.String(linesGroup), LogStreamNamePrefix: aws.String(stream),
	})
	if err != nil {
		return false, err
	}
	for _, s := range out.LogStreams {
		if aws.ToString(s.LogStreamName) == stream {
			return true, nil
		}
	}
	return false, nil
}

// progress is how much of the task's output is stored, for the progress
// lines; base is the group's storedBytes before the task.
func (b *linesBench) progress(ctx context.Context, stream string, base int64) string {
	stored, err := groupStoredBytes(ctx, b.logs, linesGroup)
	if err != nil {
		return fmt.Sprintf("stream %s: %v", stream, err)
	}
	return fmt.Sprintf("stream %s: %s of %s bytes stored", stream, thousands(stored-base), thousands(linesStoredBytes(b.cfg.lines)))
}

// linesStoredBytes is the storedBytes of the app's n lines ("line 0000001"
// and so on, without their newline), 26 bytes each and their text.
func linesStoredBytes(n int) int64 {
	var total int64
	for i := 1; i <= n; i++ {
		total += int64(len("line ")+max(7, len(strconv.Itoa(i)))) + eventOverhead
	}
	return total
}

// dockerImages lists the repo:tag names of the local images matching a
// reference filter.
func dockerImages(ctx context.Context, reference string) ([]string, error) {
	out, err := exec.CommandContext(ctx, "docker", "images", "--filter", "reference="+reference, "--format", "{{.Repository}}:{{.Tag}}").Output()
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(out)), nil
}

// importedPause finds the network holder images the agent imported in the
// server's log (read before Stop removes it). The image is named after its
// content and shared by every server of the same binary: one that was
// there before was not made here, and is not logged.
var importedPause = regexp.MustCompile(`msg="imported pause image".* image=(berth/pause:[0-9a-f]+)`)

func importedImages(srv *benchserver.Berth) []string {
	log, _ := os.ReadFile(srv.LogPath)
	var refs []string
	for _, m := range importedPause.FindAllSubmatch(log, -1) {
		refs = append(refs, string(m[1]))
	}
	return refs
}

// removeImages untags what the server's agent pulled or made: the app
// image, pulled from this server's registry, and the holder images it
// imported. docker rmi (without --force) keeps an image a container uses.
func removeImages(srv *benchserver.Berth, imported []string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	names, err := dockerImages(ctx, srv.Listen()+"/"+linesRepo)
	if err != nil {
		fmt.Fprintln(os.Stderr, "docker images:", err)
	}
	for _, name := range append(names, imported...) {
		if strings.HasSuffix(name, ":<none>") {
			continue
		}
		if out, err := exec.CommandContext(ctx, "docker", "rmi", name).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "docker rmi %s: %v: %s", name, err, out)
		}
	}
}
