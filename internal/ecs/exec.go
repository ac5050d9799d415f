package ecs

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/ssm/ssmstate"
	"github.com/berth/berth/internal/store"
)

// ECS Exec: ExecuteCommand creates a Session Manager session (an
// ssmstate.Session record with a single-use token) for a command in a
// running container of a task started with execute command enabled. The
// session-manager-plugin then opens the session's data channel at berth's
// message gateway (ssmmessages), which has the task's agent run the
// command.

// errTargetNotConnected is ECS's answer when the container's agent cannot
// be reached.
var errTargetNotConnected = errors.New("target not connected")

// Messages of ExecuteCommand.
const (
	// OBSERVED wording.
	msgExecNotEnabled = "The execute command failed because execute command was not enabled when the task was run " +
		"or the execute command agent isn’t running. Wait and try again or run a new task with execute command enabled and try again."
	// OBSERVED wording.
	msgExecInteractiveOnly = "Interactive is the only mode supported currently."
	// OBSERVED wording (what ECS answers when the agent in the task
	// cannot reach Session Manager, most often for want of the task
	// role's ssmmessages permissions).
	msgExecTargetNotConnected = "The execute command failed due to an internal error. Try again later."
)

// ExecuteCommandAgent is the name of the managed agent ECS Exec runs in
// each container of a task with execute command enabled.
const ExecuteCommandAgent = "ExecuteCommandAgent"

// execTaskRoleActions are what the task role must allow for ECS Exec, as
// the ECS documentation lists them: the agent in the task opens Session
// Manager's channels as the task role.
var execTaskRoleActions = []string{
	"ssmmessages:CreateControlChannel",
	"ssmmessages:CreateDataChannel",
	"ssmmessages:OpenControlChannel",
	"ssmmessages:OpenDataChannel",
}

func (s *service) executeCommand(ctx context.Context, in *ecstypes.ExecuteCommandRequest) (*ecstypes.ExecuteCommandResponse, error) {
	if !awsapi.Deref(in.Interactive) {
		return nil, invalidParameter(msgExecInteractiveOnly)
	}
	command := strings.TrimSpace(awsapi.Deref(in.Command))
	if command == "" {
		// UNVERIFIED wording.
		return nil, invalidParameter("Command cannot be empty.")
	}
	ref := awsapi.Deref(in.Task)
	c, err := s.taskCluster(ctx, in.Cluster, ref)
	if err != nil {
		return nil, err
	}
	id, ok, err := s.taskRef(ctx, c.Value.Name, ref)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errTaskNotFound()
	}
	rec, err := store.Get[ecsstate.Task](ctx, s.store, ecsstate.TaskKey(requestRegion(ctx), c.Value.Name, id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errTaskNotFound()
	}
	if err != nil {
		return nil, err
	}
	t := rec.Value
	if !t.Spec.EnableExecuteCommand {
		return nil, invalidParameter(msgExecNotEnabled)
	}
	name, err := execContainer(t, awsapi.Deref(in.Container))
	if err != nil {
		return nil, err
	}
	obs, running := runningContainer(t, name)
	if !running || observedStatus(&t) != ecsstate.StatusRunning || t.DesiredStatus != ecsstate.StatusRunning {
		return nil, invalidParameter(msgExecNotEnabled)
	}
	if err := s.checkExecReachable(ctx, t); err != nil {
		return nil, err
	}

	arns := s.arnsIn(t.Region)
	taskARN := arns.Task(t.Cluster, t.ID)
	containerARN := ""
	for _, cs := range t.Spec.Containers {
		if cs.Name == name {
			containerARN = arns.Container(t.Cluster, t.ID, cs.ID)
		}
	}
	now := s.now()
	sess := ssmstate.Session{
		Region:        t.Region,
		ID:            ssmstate.NewSessionID(),
		Target:        "ecs:" + t.Cluster + "_" + t.ID + "_" + obs.RuntimeID,
		DocumentName:  ssmstate.ExecDocument,
		Owner:         awsapi.CallerARN(ctx, s.account),
		Status:        ssmstate.SessionConnecting,
		StartDate:     now,
		ClusterARN:    arns.Cluster(t.Cluster),
		Cluster:       t.Cluster,
		TaskARN:       taskARN,
		TaskID:        t.ID,
		ContainerName: name,
		ContainerARN:  containerARN,
		RuntimeID:     obs.RuntimeID,
		NodeID:        t.NodeID,
		Command:       command,
		Interactive:   true,
	}
	sess.Log = execLog(c.Value, t, name, sess.ID)
	token := sess.IssueToken(now)
	op, err := store.PutJSON(ssmstate.SessionKey(sess.Region, sess.ID), sess)
	if err != nil {
		return nil, err
	}
	key := ssmstate.SessionKey(sess.Region, sess.ID)
	if _, err := s.store.Txn(ctx, store.Txn{If: []store.Compare{{Key: key, ModRevision: 0}}, Then: []store.Op{op}}); err != nil {
		return nil, err
	}
	// An audit record of who opened a shell where, shaped as the
	// CloudTrail event ECS records for the call.
	s.log.Info("cloudtrail event", "eventSource", "ecs.amazonaws.com", "eventName", "ExecuteCommand",
		"eventTime", now.UTC().Format(time.RFC3339), "awsRegion", t.Region,
		slog.Group("userIdentity", "arn", sess.Owner),
		slog.Group("requestParameters", "cluster", sess.ClusterARN, "task", taskARN, "container", name,
			"command", command, "interactive", true),
		slog.Group("responseElements", "sessionId", sess.ID, "containerArn", containerARN))
	return &ecstypes.ExecuteCommandResponse{
		ClusterArn:    awsapi.String(sess.ClusterARN),
		ContainerArn:  awsapi.String(containerARN),
		ContainerName: awsapi.String(name),
		Interactive:   awsapi.Bool(true),
		TaskArn:       awsapi.String(taskARN),
		Session: &ecstypes.Session{
			SessionId:  awsapi.String(sess.ID),
			StreamUrl:  awsapi.String(ssmstate.StreamURL(awsapi.RequestFrom(ctx).Endpoint, sess.Region, sess.ID)),
			TokenValue: awsapi.String(token),
		},
	}, nil
}

// execContainer is the container a command runs in: the one named, or
// the task's only one.
func execContainer(t ecsstate.Task, name string) (string, error) {
	if name == "" {
		if len(t.Spec.Containers) != 1 {
			// UNVERIFIED wording.
			return "", invalidParameter("The task has more than one container. Specify the container name and try again.")
		}
		return t.Spec.Containers[0].Name, nil
	}
	for _, cs := range t.Spec.Containers {
		if cs.Name == name {
			return name, nil
		}
	}
	// UNVERIFIED wording.
	return "", invalidParameter("The container %s does not exist in the task. Specify a container that exists and try again.", name)
}

// runningContainer is the container's observed state, and whether it runs
// (with its runtime id known).
func runningContainer(t ecsstate.Task, name string) (ecsstate.ContainerStatus, bool) {
	for _, c := range t.Observed.Containers {
		if c.Name == name {
			return c, c.LastStatus == ecsstate.StatusRunning && c.RuntimeID != ""
		}
	}
	return ecsstate.ContainerStatus{}, false
}

// checkExecReachable refuses a session ECS Exec could not open: the
// task's node is not connected, or (IAM enforced) the task has no role
// that allows the agent in it to open Session Manager's channels.
func (s *service) checkExecReachable(ctx context.Context, t ecsstate.Task) error {
	node, err := store.Get[ecsstate.Node](ctx, s.store, ecsstate.NodeKey(t.NodeID))
	if errors.Is(err, store.ErrNotFound) || (err == nil && !node.Value.Connected) {
		return awsapi.WithMessage(errTargetNotConnected, msgExecTargetNotConnected)
	}
	if err != nil {
		return err
	}
	if s.roles == nil {
		return nil
	}
	taskRole, _ := ecstypes.EffectiveRoles(&t.Spec.Definition, t.Spec.Overrides)
	if taskRole == "" {
		return awsapi.WithMessage(errTargetNotConnected, msgExecTargetNotConnected)
	}
	allowed, err := s.roles.RoleAllows(ctx, taskRole, t.ID, execTaskRoleActions, "*")
	if err != nil {
		return err
	}
	if !allowed {
		return awsapi.WithMessage(errTargetNotConnected, msgExecTargetNotConnected)
	}
	return nil
}

// execLog is where a session's output is recorded, by the cluster's
// execute command configuration: nowhere (NONE), the container's awslogs
// group (DEFAULT, the default), or the group it names (OVERRIDE). The
// stream is the session's id.
func execLog(c ecsstate.Cluster, t ecsstate.Task, container, sessionID string) *ssmstate.SessionLog {
	var cfg *ecstypes.ExecuteCommandConfiguration
	if c.Configuration != nil {
		cfg = c.Configuration.ExecuteCommandConfiguration
	}
	logging := ecstypes.ExecuteCommandLoggingDefault
	if cfg != nil && awsapi.Deref(cfg.Logging) != "" {
		logging = *cfg.Logging
	}
	switch logging {
	case ecstypes.ExecuteCommandLoggingOverride:
		if cfg.LogConfiguration == nil || awsapi.Deref(cfg.LogConfiguration.CloudWatchLogGroupName) == "" {
			return nil
		}
		return &ssmstate.SessionLog{Region: t.Region, Group: *cfg.LogConfiguration.CloudWatchLogGroupName, Stream: sessionID}
	case ecstypes.ExecuteCommandLoggingDefault:
		for _, d := range t.Spec.Definition.ContainerDefinitions {
			if awsapi.Deref(d.Name) != container || d.LogConfiguration == nil || awsapi.Deref(d.LogConfiguration.LogDriver) != ecstypes.LogDriverAwslogs {
				continue
			}
			opts := d.LogConfiguration.Options
			if opts["awslogs-group"] == "" {
				return nil
			}
			region := opts["awslogs-region"]
			if region == "" {
				region = t.Region
			}
			return &ssmstate.SessionLog{Region: region, Group: opts["awslogs-group"], Stream: sessionID}
		}
	}
	return nil
}

// managedAgents is a container's ExecuteCommandAgent, for a task started
// with execute command enabled: it runs while the container runs.
func managedAgents(t ecsstate.Task, obs ecsstate.ContainerStatus) []ecstypes.ManagedAgent {
	if !t.Spec.EnableExecuteCommand {
		return nil
	}
	status := ecsstate.StatusPending
	switch obs.LastStatus {
	case ecsstate.StatusRunning, ecsstate.StatusStopped:
		status = obs.LastStatus
	}
	agent := ecstypes.ManagedAgent{Name: awsapi.String(ExecuteCommandAgent), LastStatus: awsapi.String(status)}
	if status != ecsstate.StatusPending && !t.Observed.StartedAt.IsZero() {
		agent.LastStartedAt = awsapi.Time(t.Observed.StartedAt.Truncate(time.Millisecond))
	}
	return []ecstypes.ManagedAgent{agent}
}
