package ecs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/awsapitest"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/store"
)

// awsError is err as ECS's clients see it (nil for nil), for tests of
// functions that return the service's domain errors.
func awsError(err error) error {
	if err == nil {
		return nil
	}
	return newErrorTable(slog.New(slog.DiscardHandler)).Map(context.Background(), err)
}

func TestErrorTable(t *testing.T) {
	const serverMessage = "An internal error occurred. Try again."
	passed := awsapi.Errorf("AccessDeniedException", "one-off")
	awsapitest.CheckErrorTable(t, newErrorTable, []awsapitest.ErrorCase{
		{Name: "cluster not found", Err: errClusterNotFound, Code: "ClusterNotFoundException", Message: "Cluster not found.", Status: 400},
		{Name: "cluster contains tasks", Err: errClusterContainsTasks, Code: "ClusterContainsTasksException", Message: "The Cluster cannot be deleted while Tasks are active.", Status: 400},
		{Name: "cluster contains instances", Err: errClusterContainsContainerInstances, Code: "ClusterContainsContainerInstancesException", Message: "The Cluster cannot be deleted while Container Instances are active or draining.", Status: 400},
		{Name: "cluster contains services", Err: errClusterContainsServices, Code: "ClusterContainsServicesException", Message: "The Cluster cannot be deleted while Services are active.", Status: 400},
		{Name: "service not found", Err: errServiceNotFound, Code: "ServiceNotFoundException", Message: "Service not found.", Status: 400},
		{Name: "service not active", Err: errServiceNotActive, Code: "ServiceNotActiveException", Message: "Service was not ACTIVE.", Status: 400},
		{Name: "namespace not found", Err: errNamespaceNotFound, Code: "NamespaceNotFoundException", Message: "Namespace not found.", Status: 400},
		{Name: "capacity provider in use", Err: errCapacityProviderInUse, Code: "ResourceInUseException", Message: "The specified capacity provider is in use and cannot be removed.", Status: 400},
		{Name: "invalid parameter", Err: invalidParameter("maxResults must be between %d and %d.", 1, 100), Code: "InvalidParameterException", Message: "maxResults must be between 1 and 100.", Status: 400},
		{Name: "client error", Err: errTaskDefinitionNotFoundForRun(), Code: "ClientException", Message: "TaskDefinition not found.", Status: 400},
		{Name: "unsupported feature", Err: unsupported("StartTask"), Code: "UnsupportedFeatureException", Message: "berth does not support StartTask yet.", Status: 400},
		{Name: "task not found", Err: errTaskNotFound(), Code: "InvalidParameterException", Message: "The referenced task was not found.", Status: 400},
		{Name: "wrapped sentinel", Err: fmt.Errorf("update cluster: %w", errClusterNotFound), Code: "ClusterNotFoundException", Message: "Cluster not found.", Status: 400},
		{Name: "wrapped message", Err: fmt.Errorf("ecs: launch tasks of d1: %w", errNoContainerInstances()), Code: "InvalidParameterException", Message: "No Container Instances were found in your cluster.", Status: 400},
		{Name: "AWS error", Err: passed, Code: "AccessDeniedException", Message: "one-off", Status: 400},
		{Name: "wrapped AWS error", Err: fmt.Errorf("tag: %w", passed), Code: "AccessDeniedException", Message: "one-off", Status: 400},
		{Name: "store failure", Err: fmt.Errorf("list tasks: %w", store.ErrClosed), Code: "ServerException", Message: serverMessage, Status: 500, Logged: true},
		{Name: "store conflict", Err: fmt.Errorf("ecsstate: update: %w", store.ErrConflict), Code: "ServerException", Message: serverMessage, Status: 500, Logged: true},
		{Name: "unknown", Err: errors.New("disk on fire"), Code: "ServerException", Message: serverMessage, Status: 500, Logged: true},
		{Name: "cancelled", Err: fmt.Errorf("get: %w", context.Canceled), Code: "InternalFailure", Message: awsapi.InternalFailure().Message, Status: 500},
	})
	if got := newErrorTable(slog.New(slog.DiscardHandler)).Map(context.Background(), passed); got != passed {
		t.Fatalf("an AWS error was rebuilt: %+v", got)
	}
}

// The gateway's hooks and every operation answer through the table.
func TestServiceErrorsGoThroughTheTable(t *testing.T) {
	e := newAPITestEnv(t)
	v := e.svc.ValidationError("cluster", "x", "Member must have length less than or equal to 255")
	if v.Code != "InvalidParameterException" || v.Message != "1 validation error detected: Value 'x' at 'cluster' failed to satisfy constraint: Member must have length less than or equal to 255" {
		t.Fatalf("validation error %+v", v)
	}
	if u := e.svc.Unsupported("StartTask"); u.Code != "UnsupportedFeatureException" || u.Message != "berth does not support StartTask yet." {
		t.Fatalf("unsupported %+v", u)
	}
	_, err := apiCall[ecstypes.DeleteClusterResponse](e, "DeleteCluster", &ecstypes.DeleteClusterRequest{Cluster: awsapi.String("missing")})
	if apiErr, ok := err.(*awsapi.Error); !ok || apiErr.Code != "ClusterNotFoundException" || apiErr.Message != "Cluster not found." {
		t.Fatalf("DeleteCluster of a missing cluster: %v", err)
	}
}
