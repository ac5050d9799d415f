// Package ssmstate holds Systems Manager Parameter Store's records in
// berth's store: parameters and their versions.
//
// The layout (every key starts "ssm/"). A parameter is known by its region
// and name; regions never contain '|' and parameter names use
// [a-zA-Z0-9_.-/], so '|' separates region, name and version without
// ambiguity. Each kind's prefix lists every region, and
// "<prefix><region>|" one region's.
//
//	ssm/parameter/<region>|<name>                       Parameter
//	ssm/version/<region>|<name>|<version, 10 digits>    Version
//
// A Parameter record is the parameter as a whole: its current version's
// attributes, the versions it keeps, its labels and tags. Each Version
// record is one version with its sealed value. Versions change only in a
// transaction guarded by their Parameter record's revision, so that record
// says which version records exist.
package ssmstate

import "fmt"

const (
	Prefix          = "ssm/"
	ParameterPrefix = "ssm/parameter/"
	VersionPrefix   = "ssm/version/"
)

// ParameterID is a parameter's identity: the same name in two regions is
// two parameters.
type ParameterID struct {
	Region, Name string
}

// String is the id as it leads the parameter's keys, "<region>|<name>".
func (id ParameterID) String() string { return id.Region + "|" + id.Name }

// ParameterKey is the key of a parameter's record.
func ParameterKey(id ParameterID) string { return ParameterPrefix + id.String() }

// RegionParameters is the prefix of every parameter of a region.
func RegionParameters(region string) string { return ParameterPrefix + region + "|" }

// VersionKey is the key of one version of a parameter. It is also the
// context its value is sealed under, which binds the sealed value to that
// version of that parameter.
func VersionKey(id ParameterID, version int64) string {
	return fmt.Sprintf("%s%010d", ParameterVersions(id), version)
}

// ParameterVersions is the prefix of every version of a parameter, oldest
// first.
func ParameterVersions(id ParameterID) string { return VersionPrefix + id.String() + "|" }
