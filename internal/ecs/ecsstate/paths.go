package ecsstate

import (
	"fmt"
	"strings"
)

// The layout of ECS's records in the store. Every key starts "ecs/"; a
// record's key is its prefix and its id, and ids never contain '/' or '|'.
// Records are JSON (the types of this package).
//
//	ecs/cluster/<name>                            Cluster
//	ecs/taskdef/<family>|<revision, 10 digits>    TaskDefinition (revisions list oldest first)
//	ecs/family/<family>                           Family: the family's revision counter
//	ecs/task/<cluster>|<task id>                  Task (a cluster's tasks list together)
//	ecs/node/<node id>                            Node: a host whose agent runs tasks
//	ecs/placement/<node id>                       NodePlacements: the node's placement ledger,
//	                                              bumped by every placement on it
//	ecs/service/<cluster>|<service name>          Service, with its deployments and events
//	ecs/capacityprovider/<name>                   CapacityProvider (custom ones; FARGATE and
//	                                              FARGATE_SPOT are built in)
//
// Watchers follow "ecs/" or one prefix: the service controller and the
// agent hub watch tasks, services and nodes.
const (
	ClusterPrefix          = "ecs/cluster/"
	TaskDefinitionPrefix   = "ecs/taskdef/"
	FamilyPrefix           = "ecs/family/"
	TaskPrefix             = "ecs/task/"
	NodePrefix             = "ecs/node/"
	PlacementPrefix        = "ecs/placement/"
	ServicePrefix          = "ecs/service/"
	CapacityProviderPrefix = "ecs/capacityprovider/"
)

func ClusterKey(name string) string { return ClusterPrefix + name }
func TaskDefinitionKey(family string, revision int32) string {
	return fmt.Sprintf("%s%s|%010d", TaskDefinitionPrefix, family, revision)
}

// TaskDefinitionFamilyPrefix lists the revisions of one family, oldest first.
func TaskDefinitionFamilyPrefix(family string) string { return TaskDefinitionPrefix + family + "|" }
func FamilyKey(family string) string                  { return FamilyPrefix + family }
func TaskKey(cluster, id string) string               { return TaskPrefix + cluster + "|" + id }
func ClusterTasksPrefix(cluster string) string        { return TaskPrefix + cluster + "|" }
func NodeKey(id string) string                        { return NodePrefix + id }
func PlacementKey(nodeID string) string               { return PlacementPrefix + nodeID }

// ServiceKey is the store key of a service; ClusterServicesPrefix lists a
// cluster's services in name order.
func ServiceKey(cluster, name string) string      { return ServicePrefix + cluster + "|" + name }
func ClusterServicesPrefix(cluster string) string { return ServicePrefix + cluster + "|" }
func CapacityProviderKey(name string) string      { return CapacityProviderPrefix + name }

// ParseTaskKey splits a task key into cluster and task id.
func ParseTaskKey(key string) (cluster, id string, ok bool) {
	rest, ok := strings.CutPrefix(key, TaskPrefix)
	if !ok {
		return "", "", false
	}
	return strings.Cut(rest, "|")
}
