package ecstypes

// EffectiveRoles are the task role and execution role a task runs with:
// an override's, else its task definition's ("" for none).
func EffectiveRoles(def *TaskDefinition, ov *TaskOverride) (taskRole, executionRole string) {
	if def.TaskRoleArn != nil {
		taskRole = *def.TaskRoleArn
	}
	if def.ExecutionRoleArn != nil {
		executionRole = *def.ExecutionRoleArn
	}
	if ov != nil {
		if ov.TaskRoleArn != nil && *ov.TaskRoleArn != "" {
			taskRole = *ov.TaskRoleArn
		}
		if ov.ExecutionRoleArn != nil && *ov.ExecutionRoleArn != "" {
			executionRole = *ov.ExecutionRoleArn
		}
	}
	return taskRole, executionRole
}
