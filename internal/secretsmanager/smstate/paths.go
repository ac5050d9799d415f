// Package smstate holds AWS Secrets Manager's records in berth's store:
// secrets, and the sealed values of their versions.
//
// The layout (every key starts "secretsmanager/"). A secret is known by its
// region and name; regions never contain '|' and secret names use
// [A-Za-z0-9/_+=.@-], so '|' separates region, name and version id
// without ambiguity (version ids may hold any character, and come last).
// Each kind's prefix lists every region.
//
//	secretsmanager/secret/<region>|<name>                 Secret
//	secretsmanager/value/<region>|<name>|<version id>     Value
//
// A secret's record and its values change together, in transactions
// guarded by the secret record's revision: a value is never written or
// removed without its secret's record.
package smstate

const (
	Prefix       = "secretsmanager/"
	SecretPrefix = "secretsmanager/secret/"
	ValuePrefix  = "secretsmanager/value/"
)

// SecretID is a secret's identity: the same name in two regions is two
// secrets.
type SecretID struct {
	Region, Name string
}

// String is the id as it leads the secret's keys, "<region>|<name>".
func (id SecretID) String() string { return id.Region + "|" + id.Name }

// SecretKey is the key of a secret's record.
func SecretKey(id SecretID) string { return SecretPrefix + id.String() }

// RegionSecrets is the prefix of every secret of a region.
func RegionSecrets(region string) string { return SecretPrefix + region + "|" }

// ValueKey is the key of one version's value.
func ValueKey(id SecretID, versionID string) string { return SecretValues(id) + versionID }

// SecretValues is the prefix of every value of a secret.
func SecretValues(id SecretID) string { return ValuePrefix + id.String() + "|" }
