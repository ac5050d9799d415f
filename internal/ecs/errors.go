package ecs

import (
	"net/http"

	"github.com/berth/berth/internal/awsapi"
)

// Errors, in ECS's wording. ECS reports most bad input as ClientException
// or InvalidParameterException with a sentence; messages marked UNVERIFIED
// follow ECS's style where no capture of the real text was available.

func validationError(path, value, constraint string) *awsapi.Error {
	// UNVERIFIED: ECS's wording for a model constraint broken on the wire
	// (the SDKs usually catch these before sending).
	return awsapi.Errorf("InvalidParameterException", "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, path, constraint)
}

func unsupported(op string) *awsapi.Error {
	return awsapi.Errorf("UnsupportedFeatureException", "berth does not support %s yet.", op)
}

func clientError(format string, args ...any) *awsapi.Error {
	return awsapi.Errorf("ClientException", format, args...)
}

func invalidParameter(format string, args ...any) *awsapi.Error {
	return awsapi.Errorf("InvalidParameterException", format, args...)
}

func errClusterNotFound() *awsapi.Error {
	return awsapi.Errorf("ClusterNotFoundException", "Cluster not found.")
}

func errServer() *awsapi.Error {
	return &awsapi.Error{Code: "ServerException", Message: "An internal error occurred. Try again.", Status: http.StatusInternalServerError}
}

// Clusters, task definitions, container instances and tags.

func errClusterInactive() *awsapi.Error {
	return invalidParameter("The specified cluster is inactive. Specify an active cluster and try again.")
}

func errClusterContainsTasks() *awsapi.Error {
	return awsapi.Errorf("ClusterContainsTasksException", "The Cluster cannot be deleted while Tasks are active.")
}

func errClusterContainsContainerInstances() *awsapi.Error {
	return awsapi.Errorf("ClusterContainsContainerInstancesException", "The Cluster cannot be deleted while Container Instances are active or draining.")
}

// errTaskDefinitionNotFound is DescribeTaskDefinition's answer for a task
// definition that does not exist. RunTask and CreateService word it
// "TaskDefinition not found." (errTaskDefinitionNotFoundForRun).
func errTaskDefinitionNotFound() *awsapi.Error {
	return clientError("Unable to describe task definition.")
}

func errTaskDefinitionNotFoundForRun() *awsapi.Error {
	return clientError("TaskDefinition not found.")
}

func errInvalidARN() *awsapi.Error {
	// UNVERIFIED wording.
	return invalidParameter("The ARN provided is invalid.")
}
