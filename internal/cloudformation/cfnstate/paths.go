// Package cfnstate holds CloudFormation's records in berth's store:
// stacks with their resources and the operation under way, stack events,
// change sets and exports. The CloudFormation API
// (internal/cloudformation) writes a stack's intent (an Operation); the
// stack controller (internal/controller/stacks) carries it out resource by
// resource and records each step with its events.
//
// The layout (every key starts "cloudformation/"). Regions never contain
// '|', nor do stack ids (UUIDs) or names ([A-Za-z][-A-Za-z0-9]*), so '|'
// separates them.
//
//	cloudformation/stack/<region>|<stack uuid>                 Stack
//	cloudformation/stackname/<region>|<stack name>             NameClaim: the live stack of a name
//	cloudformation/event/<region>|<stack uuid>|<seq, 10 digits>  Event
//	cloudformation/changeset/<region>|<stack uuid>|<name>      ChangeSet
//	cloudformation/export/<region>|<export name>               Export
//
// A stack keeps its record after deletion (DELETE_COMPLETE), found by its
// id only, as CloudFormation shows deleted stacks; its name claim goes
// with the deletion, so the name can be used again. A stack's events are
// written in the transaction that changes the stack, guarded by its
// revision, numbered from the stack's NextEvent.
package cfnstate

import "fmt"

const (
	Prefix          = "cloudformation/"
	StackPrefix     = "cloudformation/stack/"
	StackNamePrefix = "cloudformation/stackname/"
	EventPrefix     = "cloudformation/event/"
	ChangeSetPrefix = "cloudformation/changeset/"
	ExportPrefix    = "cloudformation/export/"
)

// RegionPrefix lists one region's records of the kind prefix names.
func RegionPrefix(prefix, region string) string { return prefix + region + "|" }

func StackKey(region, uuid string) string { return RegionPrefix(StackPrefix, region) + uuid }

// StackNameKey is the claim of a live stack's name.
func StackNameKey(region, name string) string { return RegionPrefix(StackNamePrefix, region) + name }

// StackEventsPrefix lists one stack's events, oldest first.
func StackEventsPrefix(region, uuid string) string {
	return RegionPrefix(EventPrefix, region) + uuid + "|"
}

func EventKey(region, uuid string, seq int) string {
	return fmt.Sprintf("%s%010d", StackEventsPrefix(region, uuid), seq)
}

// StackChangeSetsPrefix lists one stack's change sets.
func StackChangeSetsPrefix(region, uuid string) string {
	return RegionPrefix(ChangeSetPrefix, region) + uuid + "|"
}

func ChangeSetKey(region, stackUUID, name string) string {
	return StackChangeSetsPrefix(region, stackUUID) + name
}

func ExportKey(region, name string) string { return RegionPrefix(ExportPrefix, region) + name }
