package ssmstate

import "time"

// Parameter is a parameter's record.
type Parameter struct {
	Region string `json:"region"`
	Name   string `json:"name"`
	// Version is the current version; Versions lists every version kept,
	// oldest first.
	Version  int64   `json:"version"`
	Versions []int64 `json:"versions"`
	// Current is the current version's Meta, so that listings and filters
	// need not read the version records.
	Current Meta `json:"current"`
	// Labels maps each label to the one version that carries it.
	Labels map[string]int64  `json:"labels,omitempty"`
	Tags   map[string]string `json:"tags,omitempty"`
}

// ID is the parameter's identity.
func (p Parameter) ID() ParameterID { return ParameterID{Region: p.Region, Name: p.Name} }

// Meta is what one version says of its parameter besides the value.
type Meta struct {
	Type           string `json:"type"`
	Description    string `json:"description,omitempty"`
	AllowedPattern string `json:"allowedPattern,omitempty"`
	// KeyID is the KMS key a SecureString names; berth stores it and seals
	// with its own key.
	KeyID    string    `json:"keyId,omitempty"`
	Tier     string    `json:"tier"`
	DataType string    `json:"dataType"`
	Policies []Policy  `json:"policies,omitempty"`
	Modified time.Time `json:"modified"`
	// ModifiedBy is the ARN of who wrote the version.
	ModifiedBy string `json:"modifiedBy"`
}

// Policy is one parameter policy as it was given. berth keeps policies and
// never acts on them.
type Policy struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// Version is one version of a parameter.
type Version struct {
	Version int64 `json:"version"`
	Meta    Meta  `json:"meta"`
	// Value is the value sealed by secretbox under the version's key
	// (VersionKey), whatever the parameter's type.
	Value []byte `json:"value"`
}
