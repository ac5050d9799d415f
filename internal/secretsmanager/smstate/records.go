package smstate

import "time"

// Secret is a secret's record: everything about it but its values.
type Secret struct {
	Region string `json:"region"`
	Name   string `json:"name"`
	// ARN ends in the name, a hyphen and six random characters, new for
	// every secret created, so a secret deleted and created again under its
	// name has another ARN.
	ARN         string `json:"arn"`
	Description string `json:"description,omitempty"`
	// KmsKeyID is the key the caller named for the secret's values ("" for
	// the account's default key). berth seals values with its own key
	// whatever it says; it is kept to be shown.
	KmsKeyID string `json:"kmsKeyId,omitempty"`
	// Tags are in the order they were added. Nil means the secret was
	// never tagged, which DescribeSecret shows differently from tags that
	// were all removed.
	Tags           []Tag     `json:"tags"`
	ResourcePolicy string    `json:"resourcePolicy,omitempty"`
	Created        time.Time `json:"created"`
	LastChanged    time.Time `json:"lastChanged"`
	// LastAccessed is the day (midnight UTC) a value was last read.
	LastAccessed time.Time `json:"lastAccessed,omitzero"`
	// Deleted is when DeleteSecret scheduled the deletion, and DeletionDate
	// when it takes effect; both are zero for a secret not scheduled for
	// deletion.
	Deleted      time.Time `json:"deleted,omitzero"`
	DeletionDate time.Time `json:"deletionDate,omitzero"`
	// Versions are in the order they were created.
	Versions []Version `json:"versions,omitempty"`
}

// ID is the secret's identity.
func (s Secret) ID() SecretID { return SecretID{Region: s.Region, Name: s.Name} }

// ScheduledForDeletion reports whether DeleteSecret scheduled the secret's
// deletion (which may have taken effect already: see Gone).
func (s Secret) ScheduledForDeletion() bool { return !s.DeletionDate.IsZero() }

// Gone reports whether the secret's deletion took effect by now: the
// record stays until the deletion sweep removes it, but the secret no
// longer exists.
func (s Secret) Gone(now time.Time) bool {
	return s.ScheduledForDeletion() && !now.Before(s.DeletionDate)
}

// Version returns the index of the version with id, or -1.
func (s Secret) Version(id string) int {
	for i, v := range s.Versions {
		if v.ID == id {
			return i
		}
	}
	return -1
}

// Holder returns the index of the version the staging label stage is
// attached to, or -1. A label is attached to one version at most.
func (s Secret) Holder(stage string) int {
	for i, v := range s.Versions {
		for _, st := range v.Stages {
			if st == stage {
				return i
			}
		}
	}
	return -1
}

// Tag is one tag of a secret.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Version is a version of a secret; its value is a record of its own
// (Value, at ValueKey).
type Version struct {
	// ID is the ClientRequestToken that created it.
	ID string `json:"id"`
	// Stages are its staging labels, sorted; a version without any is
	// deprecated, and may be removed.
	Stages  []string  `json:"stages,omitempty"`
	Created time.Time `json:"created"`
	// LastAccessed is the day (midnight UTC) its value was last read.
	LastAccessed time.Time `json:"lastAccessed,omitzero"`
}

// Value is a version's value, sealed (secretbox) under a context naming
// the secret's ARN, the version and whether it is binary, so a sealed
// value moved to another record does not open.
type Value struct {
	Sealed []byte `json:"sealed"`
	// Binary says the value was given as SecretBinary rather than
	// SecretString.
	Binary bool `json:"binary,omitempty"`
}
