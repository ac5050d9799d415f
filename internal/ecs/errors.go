package ecs

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/berth/berth/internal/awsapi"
)

// Errors of the ECS API. Handlers return these (wrapped or not) and the
// store's errors; newErrorTable says what ECS answers for each, and is the
// one place that does. Messages marked UNVERIFIED follow ECS's style where
// no capture of the real text was available; OBSERVED ones are quoted from
// real ECS output in public reports.
var (
	// Kinds of refused input. ECS reports most bad input as ClientException
	// or InvalidParameterException with a sentence of its own; each error of
	// these kinds carries its sentence (clientError, invalidParameter,
	// unsupportedFeature).
	errClient             = errors.New("client error")
	errInvalidParameter   = errors.New("invalid parameter")
	errUnsupportedFeature = errors.New("unsupported feature")

	errClusterNotFound                   = errors.New("cluster not found")
	errClusterContainsTasks              = errors.New("cluster contains tasks")
	errClusterContainsContainerInstances = errors.New("cluster contains container instances")
	errClusterContainsServices           = errors.New("cluster contains services")
	errServiceNotFound                   = errors.New("service not found")
	errServiceNotActive                  = errors.New("service not active")
	// berth has no Cloud Map namespaces yet, so every namespace is unknown.
	errNamespaceNotFound     = errors.New("namespace not found")
	errCapacityProviderInUse = errors.New("capacity provider in use")
)

// errResourceGone ends a store update whose record vanished meanwhile; the
// caller answers in the words of its call, so the table does not know it.
var errResourceGone = errors.New("ecs: resource gone")

// newErrorTable is ECS's error table. A failure of berth itself (the
// store, a conflict outlasting its retries) is ServerException, logged to
// log.
func newErrorTable(log *slog.Logger) *awsapi.ErrorTable {
	return awsapi.NewErrorTable(log,
		awsapi.Error{Code: "ServerException", Message: "An internal error occurred. Try again.", Status: http.StatusInternalServerError},
		// The kinds of refused input take the message of each error.
		awsapi.Is(errClient, awsapi.Error{Code: "ClientException"}),
		awsapi.Is(errInvalidParameter, awsapi.Error{Code: "InvalidParameterException"}),
		awsapi.Is(errTargetNotConnected, awsapi.Error{Code: "TargetNotConnectedException", Status: http.StatusBadRequest}),
		awsapi.Is(errUnsupportedFeature, awsapi.Error{Code: "UnsupportedFeatureException"}),
		awsapi.Is(errClusterNotFound, awsapi.Error{Code: "ClusterNotFoundException", Message: "Cluster not found."}),
		awsapi.Is(errClusterContainsTasks, awsapi.Error{Code: "ClusterContainsTasksException", Message: "The Cluster cannot be deleted while Tasks are active."}),
		awsapi.Is(errClusterContainsContainerInstances, awsapi.Error{Code: "ClusterContainsContainerInstancesException", Message: "The Cluster cannot be deleted while Container Instances are active or draining."}),
		awsapi.Is(errCapacityProviderInUse, awsapi.Error{Code: "ResourceInUseException", Message: "The specified capacity provider is in use and cannot be removed."}),
		// OBSERVED wording.
		awsapi.Is(errClusterContainsServices, awsapi.Error{Code: "ClusterContainsServicesException", Message: "The Cluster cannot be deleted while Services are active."}),
		awsapi.Is(errServiceNotFound, awsapi.Error{Code: "ServiceNotFoundException", Message: "Service not found."}),
		awsapi.Is(errServiceNotActive, awsapi.Error{Code: "ServiceNotActiveException", Message: "Service was not ACTIVE."}),
		// UNVERIFIED wording.
		awsapi.Is(errNamespaceNotFound, awsapi.Error{Code: "NamespaceNotFoundException", Message: "Namespace not found."}),
	)
}

// validationError is ECS's refusal of input that breaks a constraint of
// the model (the gateway's ValidationError).
func validationError(path, value, constraint string) error {
	// UNVERIFIED: ECS's wording for a model constraint broken on the wire
	// (the SDKs usually catch these before sending).
	return invalidParameter("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, path, constraint)
}

// unsupported is ECS's refusal of an operation, or a part of one, that
// berth does not implement (the gateway's Unsupported).
func unsupported(op string) error {
	return unsupportedFeature("berth does not support %s yet.", op)
}

func clientError(format string, args ...any) *awsapi.MessageError {
	return awsapi.WithMessage(errClient, format, args...)
}

func invalidParameter(format string, args ...any) *awsapi.MessageError {
	return awsapi.WithMessage(errInvalidParameter, format, args...)
}

func unsupportedFeature(format string, args ...any) *awsapi.MessageError {
	return awsapi.WithMessage(errUnsupportedFeature, format, args...)
}

// Clusters, task definitions, container instances and tags.

func errClusterInactive() *awsapi.MessageError {
	return invalidParameter("The specified cluster is inactive. Specify an active cluster and try again.")
}

// errTaskDefinitionNotFound is DescribeTaskDefinition's answer for a task
// definition that does not exist. RunTask and CreateService word it
// "TaskDefinition not found." (errTaskDefinitionNotFoundForRun).
func errTaskDefinitionNotFound() *awsapi.MessageError {
	return clientError("Unable to describe task definition.")
}

func errTaskDefinitionNotFoundForRun() *awsapi.MessageError {
	return clientError("TaskDefinition not found.")
}

func errInvalidARN() *awsapi.MessageError {
	// UNVERIFIED wording.
	return invalidParameter("The ARN provided is invalid.")
}
