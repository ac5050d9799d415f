// Package agentproto is the protocol between berth's server and its node
// agents: one long-lived, authenticated WebSocket per agent carrying JSON
// messages. It is level-based: on connect the agent reports everything it
// observes (Hello) and the server answers with everything it wants on that
// node (Welcome); afterwards each side sends changes. Every message carries
// whole state for one task, so a duplicate or a replay after a reconnect is
// harmless.
package agentproto

import (
	"github.com/berth/berth/internal/ecs/ecsstate"
)

// Version is the protocol version this build speaks. The server refuses an
// agent whose Hello names a version it does not speak.
const Version = 1

// Path is where the server accepts agent connections.
const Path = "/_berth/agent/v1"

// Message is the envelope of every frame; exactly one field is set.
type Message struct {
	Hello   *Hello       `json:"hello,omitempty"`
	Welcome *Welcome     `json:"welcome,omitempty"`
	Task    *DesiredTask `json:"task,omitempty"`
	Status  *TaskReport  `json:"status,omitempty"`
	// Forget tells the agent a task's record is gone (purged an hour after
	// it stopped); the agent drops what it still keeps of it.
	Forget *TaskRef `json:"forget,omitempty"`
	// Error ends a connection with the reason the peer refused it.
	Error string `json:"error,omitempty"`
}

// Hello is the agent's first message.
type Hello struct {
	Version int `json:"version"`
	// Node describes the node; its ID is the agent's stable identity (kept
	// in the agent's data dir). Connected, Status, RegisteredAt and SeenAt
	// are the server's to set.
	Node ecsstate.Node `json:"node"`
	// Tasks is every task the agent knows on this node, as observed now
	// (rebuilt from the runtime after an agent restart).
	Tasks []TaskReport `json:"tasks"`
}

// Welcome is the server's answer to Hello.
type Welcome struct {
	Version int `json:"version"`
	// Tasks is every task the server wants on this node that is not yet
	// STOPPED as observed, plus stopped ones the agent reported but the
	// server still keeps. A task the agent runs and the server does not
	// name here is unknown to the server: the agent stops it.
	Tasks []DesiredTask `json:"tasks"`
	// RegistryHost is the host[:port] at which the agent reaches berth's
	// registry; images named in ECR form resolve to it.
	RegistryHost string `json:"registryHost"`
	// AccountID and Region are the server's.
	AccountID string `json:"accountId"`
	Region    string `json:"region"`
}

// TaskRef names a task.
type TaskRef struct {
	Cluster string `json:"cluster"`
	ID      string `json:"id"`
}

// DesiredTask is the server's intent for one task: its spec, desired status
// and the generation of that intent.
type DesiredTask struct {
	Cluster       string            `json:"cluster"`
	ID            string            `json:"id"`
	ARN           string            `json:"arn"`
	Generation    int64             `json:"generation"`
	DesiredStatus string            `json:"desiredStatus"`
	Spec          ecsstate.TaskSpec `json:"spec"`
	// StopCode and StoppedReason of a stop request.
	StopCode      string `json:"stopCode,omitempty"`
	StoppedReason string `json:"stoppedReason,omitempty"`
	// ClusterARN and container ARNs are for the metadata endpoint.
	ClusterARN    string   `json:"clusterArn"`
	ContainerARNs []string `json:"containerArns"`
	// Images are the pull references of the containers, in definition
	// order: ECR-form names resolved to the registry, others as written.
	Images []Image `json:"images"`
}

// Image says how to pull one container's image.
type Image struct {
	// Ref is the reference the runtime pulls.
	Ref string `json:"ref"`
	// Auth is the registry credential for Ref's registry, when berth's own.
	Auth *RegistryAuth `json:"auth,omitempty"`
}

// RegistryAuth is a username/password pair for a registry.
type RegistryAuth struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	ServerAddress string `json:"serverAddress"`
}

// TaskReport is the agent's observation of one task.
type TaskReport struct {
	Cluster string              `json:"cluster"`
	ID      string              `json:"id"`
	Status  ecsstate.TaskStatus `json:"status"`
}
