package ecsstate

import (
	"fmt"
	"strings"
)

// The layout of ECS's records in the store (layout version 2). Every key
// starts "ecs/"; a record's key is its prefix and its id. The id of a
// regional record begins with its region, so a prefix still lists (and
// watches) every region, and RegionPrefix(prefix, region) lists one
// region's. Regions, names and ids never contain '/' or '|'. Records are
// JSON (the types of this package).
//
//	ecs/cluster/<region>|<name>                          Cluster
//	ecs/taskdef/<region>|<family>|<revision, 10 digits>  TaskDefinition (revisions list oldest first)
//	ecs/family/<region>|<family>                         Family: the family's revision counter
//	ecs/task/<region>|<cluster>|<task id>                Task (a cluster's tasks list together)
//	ecs/service/<region>|<cluster>|<service name>        Service, with its deployments and events
//	ecs/capacityprovider/<region>|<name>                 CapacityProvider (custom ones; FARGATE and
//	                                                     FARGATE_SPOT are built in)
//	ecs/accountsettings/<region>                         AccountSettings: the region's account
//	                                                     settings, by principal
//	ecs/node/<node id>                                   Node: a host whose agent runs tasks. Not
//	                                                     regional: a host's capacity serves every
//	                                                     region, and a node serving cluster "x"
//	                                                     serves "x" in each of them.
//	ecs/placement/<node id>/<placer id>                  PlacementLedger: one placer's ledger on a
//	                                                     node, rewritten by its every placement there
//	ecs/placers                                          Placers: the placers that write ledgers
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
	PlacersKey             = "ecs/placers"
	ServicePrefix          = "ecs/service/"
	CapacityProviderPrefix = "ecs/capacityprovider/"
	AccountSettingsPrefix  = "ecs/accountsettings/"
)

// LayoutVersion is the version of the layout above (store.Relayout).
const LayoutVersion = 2

// RegionPrefix lists one region's records of the kind prefix names.
func RegionPrefix(prefix, region string) string { return prefix + region + "|" }

func ClusterKey(region, name string) string { return RegionPrefix(ClusterPrefix, region) + name }
func TaskDefinitionKey(region, family string, revision int32) string {
	return fmt.Sprintf("%s%010d", TaskDefinitionFamilyPrefix(region, family), revision)
}

// TaskDefinitionFamilyPrefix lists the revisions of one family, oldest first.
func TaskDefinitionFamilyPrefix(region, family string) string {
	return RegionPrefix(TaskDefinitionPrefix, region) + family + "|"
}
func FamilyKey(region, family string) string { return RegionPrefix(FamilyPrefix, region) + family }
func TaskKey(region, cluster, id string) string {
	return ClusterTasksPrefix(region, cluster) + id
}
func ClusterTasksPrefix(region, cluster string) string {
	return RegionPrefix(TaskPrefix, region) + cluster + "|"
}
func NodeKey(id string) string { return NodePrefix + id }
func PlacementKey(nodeID, placerID string) string {
	return PlacementPrefix + nodeID + "/" + placerID
}

// ParsePlacementKey splits a ledger key into its node and placer.
func ParsePlacementKey(key string) (nodeID, placerID string, ok bool) {
	rest, ok := strings.CutPrefix(key, PlacementPrefix)
	if !ok {
		return "", "", false
	}
	nodeID, placerID, ok = strings.Cut(rest, "/")
	return nodeID, placerID, ok && nodeID != "" && placerID != ""
}

// ServiceKey is the store key of a service; ClusterServicesPrefix lists a
// cluster's services in name order.
func ServiceKey(region, cluster, name string) string {
	return ClusterServicesPrefix(region, cluster) + name
}
func ClusterServicesPrefix(region, cluster string) string {
	return RegionPrefix(ServicePrefix, region) + cluster + "|"
}

// AccountSettingsKey is the record of one region's account settings.
func AccountSettingsKey(region string) string { return AccountSettingsPrefix + region }

func CapacityProviderKey(region, name string) string {
	return RegionPrefix(CapacityProviderPrefix, region) + name
}

// ParseTaskKey splits a task key into region, cluster and task id.
func ParseTaskKey(key string) (region, cluster, id string, ok bool) {
	rest, ok := strings.CutPrefix(key, TaskPrefix)
	if !ok {
		return "", "", "", false
	}
	parts := strings.Split(rest, "|")
	if len(parts) != 3 {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}
