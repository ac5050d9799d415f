package agentproto

import "time"

// A task's role credentials travel, like container logs, as plain HTTP
// requests with the agent's token, apart from the task WebSocket: they are
// asked for when needed (a container starting with secrets, an SDK in a
// task asking the credentials endpoint) and never written to the agent's
// task files. An agent that does not ask never calls the endpoint, so it
// needs no protocol version.
const (
	// CredentialsPath issues a task's role credentials: POST
	// CredentialsRequest, answer RoleCredentials, or CredentialsError with
	// a 4xx status.
	CredentialsPath = "/_berth/agent/credentials"
)

// Roles a task's credentials are for.
const (
	// TaskRole is the task definition's taskRoleArn: the credentials the
	// task's own code gets from the credentials endpoint.
	TaskRole = "task"
	// ExecutionRole is the executionRoleArn: what the agent acts as for
	// the task (its secrets).
	ExecutionRole = "execution"
)

// CredentialsRequest asks for temporary credentials of one of a task's
// roles.
type CredentialsRequest struct {
	TaskARN string `json:"taskArn"`
	Role    string `json:"role"` // TaskRole or ExecutionRole
}

// RoleCredentials are temporary credentials of a role, with the field
// names the ECS credentials endpoint answers with.
type RoleCredentials struct {
	RoleArn         string    `json:"RoleArn"`
	AccessKeyID     string    `json:"AccessKeyId"`
	SecretAccessKey string    `json:"SecretAccessKey"`
	Token           string    `json:"Token"`
	Expiration      time.Time `json:"Expiration"`
}

// Codes of CredentialsError.
const (
	// CredentialsNoRole: the task has no role of that kind.
	CredentialsNoRole = "NoRole"
	// CredentialsNoTask: no running task has that ARN.
	CredentialsNoTask = "NoTask"
	// CredentialsDenied: the role cannot be assumed for the task (it was
	// deleted, or no longer trusts ecs-tasks.amazonaws.com).
	CredentialsDenied = "AccessDenied"
)

// CredentialsError is the body of a refused credentials request.
type CredentialsError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}
