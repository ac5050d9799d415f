package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/berth/berth/internal/agenthub"
	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs"
	"github.com/berth/berth/internal/iam"
)

// taskRoles is the IAM directory as ECS (whether it may assume a task's
// roles) and the agent hub (the roles' credentials) ask it.
type taskRoles struct {
	dir     *iam.Directory
	account string
	// enforce is IAM enforcement: without it any role ARN of the account
	// gets credentials, for quick local use.
	enforce bool
}

// TrustsService implements ecs.RoleTrust.
func (r taskRoles) TrustsService(ctx context.Context, roleARN, service, sourceARN string) (bool, error) {
	err := r.dir.CheckServiceRole(ctx, roleARN, service, sourceARN)
	if errors.Is(err, iam.ErrServiceRoleNotFound) || errors.Is(err, iam.ErrServiceRoleNotTrusted) {
		return false, nil
	}
	return err == nil, err
}

// RoleAllows implements ecs.RoleTrust: the role's policies are evaluated
// as they are for the session a task gets of it.
func (r taskRoles) RoleAllows(ctx context.Context, roleARN, sessionName string, actions []string, resource string) (bool, error) {
	roleName := roleARN[strings.LastIndexByte(roleARN, '/')+1:]
	caller := awsapi.Caller{ARN: "arn:aws:sts::" + r.account + ":assumed-role/" + roleName + "/" + sessionName}
	accesses := make([]awsapi.Access, 0, len(actions))
	for _, action := range actions {
		accesses = append(accesses, awsapi.Access{Action: action, Resource: resource})
	}
	ctx = awsapi.WithRequest(ctx, &awsapi.RequestInfo{Caller: caller, Region: awsapi.RequestFrom(ctx).Region})
	err := r.dir.Authorize(ctx, caller, accesses)
	var denied *awsapi.AccessDenied
	if errors.As(err, &denied) {
		return false, nil
	}
	return err == nil, err
}

// TaskSession implements agenthub.RoleSessions: a session named after the
// task, whose calls carry the task as aws:SourceArn, so that trust and
// resource policies may name it.
func (r taskRoles) TaskSession(ctx context.Context, roleARN, taskARN, taskID string) (agentproto.RoleCredentials, error) {
	creds, _, err := r.dir.IssueServiceSession(ctx, iam.ServiceSessionRequest{
		RoleARN:     roleARN,
		Service:     ecs.TasksPrincipal,
		SessionName: taskID,
		Context:     map[string]string{"aws:SourceArn": taskARN, "aws:SourceAccount": r.account},
		Unchecked:   !r.enforce,
	})
	if errors.Is(err, iam.ErrServiceRoleNotFound) || errors.Is(err, iam.ErrServiceRoleNotTrusted) {
		return agentproto.RoleCredentials{}, fmt.Errorf("%w: %s: %w", agenthub.ErrRoleNotAssumable, roleARN, err)
	}
	if err != nil {
		return agentproto.RoleCredentials{}, err
	}
	return agentproto.RoleCredentials{RoleArn: creds.RoleARN, AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey,
		Token: creds.SessionToken, Expiration: creds.Expiration}, nil
}

// executionRoles authorizes an agent's work for a task (its log delivery)
// as the task's execution role, through the hub's credentials of it.
type executionRoles struct {
	hub *agenthub.Hub
	dir *iam.Directory
}

// AuthorizeExecutionRole implements logs.ExecutionRoles.
func (e executionRoles) AuthorizeExecutionRole(ctx context.Context, taskARN string, accesses []awsapi.Access) error {
	key, hasRole, err := e.hub.ExecutionRoleKey(ctx, taskARN)
	switch {
	case errors.Is(err, agenthub.ErrRoleNotAssumable):
		return &awsapi.AccessDenied{Message: err.Error()}
	case err != nil:
		return err
	case !hasRole:
		return nil // the container instance's own identity, which may
	}
	caller, ok := e.dir.Caller(key)
	if !ok {
		return &awsapi.AccessDenied{Message: "the execution role's credentials for " + taskARN + " are no longer valid"}
	}
	// The directory reads the session (its policies and the task as
	// aws:SourceArn) by the request's access key.
	ctx = awsapi.WithRequest(ctx, &awsapi.RequestInfo{AccessKeyID: key, Caller: caller, Region: awsapi.ARNRegion(taskARN, "")})
	return e.dir.Authorize(ctx, caller, accesses)
}
