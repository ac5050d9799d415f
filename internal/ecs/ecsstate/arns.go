package ecsstate

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// ARNs builds and reads the ARNs of one account and region.
type ARNs struct {
	Region, Account string
}

func (a ARNs) prefix() string { return "arn:aws:ecs:" + a.Region + ":" + a.Account + ":" }

func (a ARNs) Cluster(name string) string { return a.prefix() + "cluster/" + name }
func (a ARNs) Task(cluster, id string) string {
	return a.prefix() + "task/" + cluster + "/" + id
}
func (a ARNs) TaskDefinition(family string, revision int32) string {
	return fmt.Sprintf("%stask-definition/%s:%d", a.prefix(), family, revision)
}
func (a ARNs) ContainerInstance(cluster, id string) string {
	return a.prefix() + "container-instance/" + cluster + "/" + id
}
func (a ARNs) Container(cluster, taskID, containerID string) string {
	return a.prefix() + "container/" + cluster + "/" + taskID + "/" + containerID
}
func (a ARNs) CapacityProvider(name string) string { return a.prefix() + "capacity-provider/" + name }

// resource returns the resource part ("cluster/x") of an ECS ARN of this
// account and region, or ok=false if ref is not one.
func (a ARNs) resource(ref string) (string, bool) {
	return strings.CutPrefix(ref, a.prefix())
}

// ClusterName returns the cluster a name or cluster ARN refers to ("default"
// when ref is empty). ok is false for an ARN that is not a cluster ARN of
// this account and region.
func (a ARNs) ClusterName(ref string) (name string, ok bool) {
	if ref == "" {
		return "default", true
	}
	if !strings.HasPrefix(ref, "arn:") {
		return ref, true
	}
	res, ok := a.resource(ref)
	if !ok {
		return "", false
	}
	name, ok = strings.CutPrefix(res, "cluster/")
	return name, ok && name != "" && !strings.Contains(name, "/")
}

// TaskID returns the task id a task id or task ARN refers to, and the
// cluster the ARN names ("" for a bare id or the old ARN form without a
// cluster).
func (a ARNs) TaskID(ref string) (cluster, id string, ok bool) {
	return a.clusterScopedID(ref, "task/")
}

// ContainerInstanceID does for container instance ids and ARNs what TaskID
// does for tasks.
func (a ARNs) ContainerInstanceID(ref string) (cluster, id string, ok bool) {
	return a.clusterScopedID(ref, "container-instance/")
}

// clusterScopedID reads a bare id or an ARN of a resource type whose new
// form names the cluster (<kind><cluster>/<id>) and whose old form does not
// (<kind><id>).
func (a ARNs) clusterScopedID(ref, kind string) (cluster, id string, ok bool) {
	if !strings.HasPrefix(ref, "arn:") {
		return "", ref, ref != "" && !strings.Contains(ref, "/")
	}
	res, ok := a.resource(ref)
	if !ok {
		return "", "", false
	}
	rest, ok := strings.CutPrefix(res, kind)
	if !ok {
		return "", "", false
	}
	if c, id, found := strings.Cut(rest, "/"); found {
		return c, id, c != "" && id != "" && !strings.Contains(id, "/")
	}
	return "", rest, rest != ""
}

// AttachmentID is the id of an awsvpc task's network interface
// attachment: a uuid derived from the task id (SHA-1 name-based, so it
// does not show the task id), stable without being stored.
func AttachmentID(taskID string) string {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte("berth/task-attachment/"+taskID)).String()
}

// TaskInterfaceID is the id of an awsvpc task's network interface, derived
// from its ARN so that whoever needs it finds it without a lookup.
func TaskInterfaceID(taskARN string) string {
	sum := sha256.Sum256([]byte("berth/task-interface/" + taskARN))
	return "eni-" + hex.EncodeToString(sum[:])[:17]
}
