package ecs

import (
	"context"

	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
)

// RoleTrust tells whether ECS may assume a role for a task. The IAM
// directory answers it.
type RoleTrust interface {
	// TrustsService reports whether roleARN names a role of this account
	// whose trust policy lets service assume it for sourceARN (the tasks
	// to come, arn:aws:ecs:<region>:<account>:task/<cluster>/*).
	TrustsService(ctx context.Context, roleARN, service, sourceARN string) (bool, error)
	// RoleAllows reports whether roleARN, in the session a task named
	// sessionName gets of it, may do every one of actions on resource.
	RoleAllows(ctx context.Context, roleARN, sessionName string, actions []string, resource string) (bool, error)
}

// TasksPrincipal is the service principal task and execution roles must
// trust, and the one ECS assumes them as.
const TasksPrincipal = "ecs-tasks.amazonaws.com"

// checkTaskRoles refuses a launch whose task role or execution role (the
// task definition's, or an override's) ECS could not assume, as RunTask,
// StartTask, CreateService and UpdateService do: a task started with such
// a role would fail anyway, and the caller learns it at once.
func (s *service) checkTaskRoles(ctx context.Context, cluster ecsstate.Cluster, def *ecstypes.TaskDefinition, overrides *ecstypes.TaskOverride) error {
	if s.roles == nil {
		return nil
	}
	taskRole, execRole := ecstypes.EffectiveRoles(def, overrides)
	tasks := s.arnsIn(cluster.Region).Task(cluster.Name, "*")
	for _, role := range []string{taskRole, execRole} {
		if role == "" {
			continue
		}
		trusted, err := s.roles.TrustsService(ctx, role, TasksPrincipal, tasks)
		if err != nil {
			return err
		}
		if !trusted {
			return clientError("ECS was unable to assume the role '%s' that was provided for this task. "+
				"Please verify that the role being passed has the proper trust relationship and permissions "+
				"and that your IAM user has permissions to pass this role.", role)
		}
	}
	return nil
}
