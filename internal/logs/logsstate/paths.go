// Package logsstate holds CloudWatch Logs' records in berth's store: log
// groups and log streams. The events themselves are not records: they live
// in the log data files (package logdata), which a stream names by its
// DataID.
//
// The layout (every key starts "logs/"). A log group is known by its region
// and name; regions never contain '|' and group names use
// [.-_/#A-Za-z0-9], so '|' separates region, group and stream without
// ambiguity (stream names may hold any character but ':' and '*', and come
// last). Each kind's prefix lists every region.
//
//	logs/group/<region>|<group>              LogGroup
//	logs/stream/<region>|<group>|<stream>    LogStream
package logsstate

import "strings"

const (
	Prefix       = "logs/"
	GroupPrefix  = "logs/group/"
	StreamPrefix = "logs/stream/"
)

// GroupID is a log group's identity: the same name in two regions is two
// groups.
type GroupID struct {
	Region, Name string
}

// String is the id as it leads the group's keys, "<region>|<name>".
func (id GroupID) String() string { return id.Region + "|" + id.Name }

// GroupKey is the key of a group's record.
func GroupKey(id GroupID) string { return GroupPrefix + id.String() }

// RegionGroups is the prefix of every group of a region.
func RegionGroups(region string) string { return GroupPrefix + region + "|" }

// StreamKey is the key of a stream's record.
func StreamKey(id GroupID, stream string) string { return GroupStreams(id) + stream }

// GroupStreams is the prefix of every stream of a group.
func GroupStreams(id GroupID) string { return StreamPrefix + id.String() + "|" }

// ParseStreamKey returns the group and stream a stream key names.
func ParseStreamKey(key string) (GroupID, string, bool) {
	rest, ok := strings.CutPrefix(key, StreamPrefix)
	if !ok {
		return GroupID{}, "", false
	}
	region, rest, ok1 := strings.Cut(rest, "|")
	group, stream, ok2 := strings.Cut(rest, "|")
	if !ok1 || !ok2 || region == "" || group == "" || stream == "" {
		return GroupID{}, "", false
	}
	return GroupID{Region: region, Name: group}, stream, true
}
