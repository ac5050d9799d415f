package ecs

import (
	"context"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/store"
)

const (
	maxStopReason     = 255
	maxDescribeTasks  = 100
	maxTaskIDChars    = 36
	defaultStopReason = "Task stopped by user" // OBSERVED
)

func errTaskNotFound() *awsapi.MessageError {
	return invalidParameter("The referenced task was not found.")
}

// taskRef resolves a task id or ARN against the cluster a call names. ok
// is false for a reference that cannot name a task of that cluster.
func (s *service) taskRef(ctx context.Context, cluster, ref string) (id string, ok bool, err error) {
	refCluster, id, ok := s.requestARNs(ctx).TaskID(ref)
	if !ok {
		return "", false, nil
	}
	if utf8.RuneCountInString(id) > maxTaskIDChars {
		return "", false, invalidParameter("taskId longer than %d.", maxTaskIDChars) // OBSERVED
	}
	if refCluster != "" && refCluster != cluster {
		return "", false, nil
	}
	return id, true, nil
}

// taskCluster is the cluster a call about one task names: its cluster
// parameter, else the cluster a task ARN names (rather than the default
// cluster), else the default.
func (s *service) taskCluster(ctx context.Context, clusterRef *string, taskRef string) (store.Versioned[ecsstate.Cluster], error) {
	if awsapi.Deref(clusterRef) == "" {
		if c, _, ok := s.requestARNs(ctx).TaskID(taskRef); ok && c != "" {
			clusterRef = &c
		}
	}
	return s.cluster(ctx, clusterRef)
}

func (s *service) stopTask(ctx context.Context, in *ecstypes.StopTaskRequest) (*ecstypes.StopTaskResponse, error) {
	ref := awsapi.Deref(in.Task)
	c, err := s.taskCluster(ctx, in.Cluster, ref)
	if err != nil {
		return nil, err
	}
	reason := awsapi.Deref(in.Reason)
	if utf8.RuneCountInString(reason) > maxStopReason {
		// UNVERIFIED wording, in the style of ECS's other length messages.
		return nil, invalidParameter("reason longer than %d.", maxStopReason)
	}
	if reason == "" {
		reason = defaultStopReason
	}
	id, ok, err := s.taskRef(ctx, c.Value.Name, ref)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errTaskNotFound()
	}
	now := s.now()
	task, err := store.Update(ctx, s.store, ecsstate.TaskKey(requestRegion(ctx), c.Value.Name, id), func(t *ecsstate.Task, found bool) error {
		if !found {
			return errTaskNotFound()
		}
		// Stopping a task already stopping or stopped changes nothing.
		if !t.RequestStop(ecstypes.TaskStopCodeUserInitiated, reason, now) {
			return store.ErrUnchanged
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := s.taskOutput(task, false)
	return &ecstypes.StopTaskResponse{Task: &out}, nil
}

func (s *service) describeTasks(ctx context.Context, in *ecstypes.DescribeTasksRequest) (*ecstypes.DescribeTasksResponse, error) {
	switch n := len(in.Tasks); {
	case n == 0:
		return nil, invalidParameter("Tasks cannot be empty.")
	case n > maxDescribeTasks:
		return nil, invalidParameter("taskIds can have at most %d items.", maxDescribeTasks) // OBSERVED
	}
	c, err := s.cluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	cluster := c.Value.Name
	withTags := slices.Contains(in.Include, ecstypes.TaskFieldTags)
	out := &ecstypes.DescribeTasksResponse{Tasks: []ecstypes.Task{}, Failures: []ecstypes.Failure{}}
	for _, ref := range in.Tasks {
		id, ok, err := s.taskRef(ctx, cluster, ref)
		if err != nil {
			return nil, err
		}
		missing := func() {
			// ECS names a missing task by the ARN asked for, or the ARN the
			// id would have.
			arn := ref
			if !strings.HasPrefix(ref, "arn:") {
				arn = s.requestARNs(ctx).Task(cluster, ref)
			}
			out.Failures = append(out.Failures, missingFailure(arn))
		}
		if !ok {
			missing()
			continue
		}
		t, err := store.Get[ecsstate.Task](ctx, s.store, ecsstate.TaskKey(requestRegion(ctx), cluster, id))
		if errors.Is(err, store.ErrNotFound) {
			missing()
			continue
		}
		if err != nil {
			return nil, err
		}
		out.Tasks = append(out.Tasks, s.taskOutput(t.Value, withTags))
	}
	return out, nil
}

func (s *service) listTasks(ctx context.Context, in *ecstypes.ListTasksRequest) (*ecstypes.ListTasksResponse, error) {
	c, err := s.cluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	cluster := c.Value.Name
	limit, err := pageSize(in.MaxResults)
	if err != nil {
		return nil, err
	}
	after, err := decodeToken(in.NextToken, "ListTasks")
	if err != nil {
		return nil, err
	}
	prefix := ecsstate.ClusterTasksPrefix(requestRegion(ctx), cluster)
	if after != "" && !strings.HasPrefix(after, prefix) {
		return nil, invalidParameter("Invalid token %s", *in.NextToken)
	}
	desired := awsapi.Deref(in.DesiredStatus)
	if desired == "" {
		desired = ecstypes.DesiredStatusRunning
	}
	instance := ""
	if ref := awsapi.Deref(in.ContainerInstance); ref != "" {
		_, id, ok := s.requestARNs(ctx).ContainerInstanceID(ref)
		if !ok {
			// UNVERIFIED wording.
			return nil, invalidParameter("Invalid container instance: %s", ref)
		}
		instance = id
	}
	match := func(t *ecsstate.Task) bool {
		switch {
		case t.DesiredStatus != desired,
			instance != "" && t.NodeID != instance,
			in.Family != nil && awsapi.Deref(t.Spec.Definition.Family) != *in.Family,
			in.StartedBy != nil && t.Spec.StartedBy != *in.StartedBy,
			in.ServiceName != nil && t.Spec.ServiceName != *in.ServiceName,
			in.LaunchType != nil && t.Spec.LaunchType != *in.LaunchType:
			return false
		}
		return true
	}

	page, next, err := listPage(ctx, s.store, prefix, after, limit, match, func(t *ecsstate.Task) string { return t.Key() })
	if err != nil {
		return nil, err
	}
	out := &ecstypes.ListTasksResponse{TaskArns: []string{}}
	for _, t := range page {
		out.TaskArns = append(out.TaskArns, s.requestARNs(ctx).Task(cluster, t.ID))
	}
	if next != "" {
		out.NextToken = encodeToken("ListTasks", next)
	}
	return out, nil
}
