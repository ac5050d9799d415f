package iamstate

import "time"

// Tag is an IAM tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Policies are the permissions an identity (role, user or group) holds.
type Policies struct {
	// Attached are the ARNs of the managed policies attached, in attach
	// order.
	Attached []string `json:"attached,omitempty"`
	// Inline are the inline policies' documents by name.
	Inline map[string]string `json:"inline,omitempty"`
	// Boundary is the ARN of the permissions boundary ("" for none).
	// Groups have none.
	Boundary string `json:"boundary,omitempty"`
}

// Role is an IAM role.
type Role struct {
	Name    string    `json:"name"`
	Path    string    `json:"path"`
	ID      string    `json:"id"` // AROA...
	ARN     string    `json:"arn"`
	Created time.Time `json:"created"`
	// AssumeRolePolicy is the trust policy document, as given (decoded).
	AssumeRolePolicy   string `json:"assumeRolePolicy"`
	Description        string `json:"description,omitempty"`
	MaxSessionDuration int32  `json:"maxSessionDuration"` // seconds, 3600-43200
	Tags               []Tag  `json:"tags,omitempty"`
	Policies
	// LastUsed is when a session of the role last made a call, and where.
	LastUsed       *time.Time `json:"lastUsed,omitempty"`
	LastUsedRegion string     `json:"lastUsedRegion,omitempty"`
}

// User is an IAM user.
type User struct {
	Name    string    `json:"name"`
	Path    string    `json:"path"`
	ID      string    `json:"id"` // AIDA...
	ARN     string    `json:"arn"`
	Created time.Time `json:"created"`
	Tags    []Tag     `json:"tags,omitempty"`
	Policies
	// PasswordLastUsed is not kept: berth has no console sign-in.

	// AccessKeys are the ids of the user's access keys (records at
	// AccessKeyKey), and Groups the names of the groups the user belongs
	// to, in the order they were joined. Each is written in the same
	// transaction as the records it mirrors (the keys, the groups'
	// Members), so the user's record alone decides whether it may be
	// deleted and how many keys it has.
	AccessKeys []string `json:"accessKeys,omitempty"`
	Groups     []string `json:"groups,omitempty"`
}

// Group is an IAM group.
type Group struct {
	Name    string    `json:"name"`
	Path    string    `json:"path"`
	ID      string    `json:"id"` // AGPA...
	ARN     string    `json:"arn"`
	Created time.Time `json:"created"`
	// Members are the member users' names, in the order they joined.
	Members []string `json:"members,omitempty"`
	Policies
}

// ManagedPolicy is a customer managed policy with its versions.
type ManagedPolicy struct {
	Name        string    `json:"name"`
	Path        string    `json:"path"`
	ID          string    `json:"id"` // ANPA...
	ARN         string    `json:"arn"`
	Description string    `json:"description,omitempty"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
	// DefaultVersion is the id ("v3") of the version in force.
	DefaultVersion string          `json:"defaultVersion"`
	Versions       []PolicyVersion `json:"versions"`
	// NextVersion numbers the next version created (IAM never reuses a
	// version id, even after DeletePolicyVersion).
	NextVersion int   `json:"nextVersion"`
	Tags        []Tag `json:"tags,omitempty"`
}

// PolicyVersion is one version of a managed policy.
type PolicyVersion struct {
	ID       string    `json:"id"` // "v1"
	Document string    `json:"document"`
	Created  time.Time `json:"created"`
}

// AccessKey is an IAM user's long-term access key.
type AccessKey struct {
	ID string `json:"id"` // AKIA...
	// SealedSecret is the secret access key sealed with the data dir's
	// secret box (internal/secretbox), context "iam/accesskey/<id>".
	SealedSecret []byte    `json:"sealedSecret"`
	UserName     string    `json:"userName"`
	Status       string    `json:"status"` // Active | Inactive
	Created      time.Time `json:"created"`
	// LastUsed is when the key last signed a call, to which service
	// (the signing name, "ecs") and in which region; nil if never.
	LastUsed        *time.Time `json:"lastUsed,omitempty"`
	LastUsedService string     `json:"lastUsedService,omitempty"`
	LastUsedRegion  string     `json:"lastUsedRegion,omitempty"`
}

// Session is a role session's temporary credentials (AssumeRole, or the
// credentials berth issues to a task for its task or execution role).
type Session struct {
	AccessKeyID string `json:"accessKeyId"` // ASIA...
	// SealedSecret is the secret access key sealed with the secret box,
	// context "iam/session/<access key id>".
	SealedSecret []byte    `json:"sealedSecret"`
	Token        string    `json:"token"`
	Expires      time.Time `json:"expires"`
	Created      time.Time `json:"created"`
	RoleName     string    `json:"roleName"`
	RoleARN      string    `json:"roleArn"`
	RoleID       string    `json:"roleId"`
	SessionName  string    `json:"sessionName"`
	// Policy is the session policy passed to AssumeRole ("" for none);
	// PolicyARNs the managed session policies.
	Policy     string   `json:"policy,omitempty"`
	PolicyARNs []string `json:"policyArns,omitempty"`
	// Tags are the session tags (aws:PrincipalTag/<key> overrides the
	// role's tag of that key); TransitiveTagKeys those passed on to
	// chained sessions.
	Tags              []Tag    `json:"tags,omitempty"`
	TransitiveTagKeys []string `json:"transitiveTagKeys,omitempty"`
	SourceIdentity    string   `json:"sourceIdentity,omitempty"`
	// Context holds condition keys fixed for the session's calls: for a
	// task's credentials, aws:SourceArn (the task ARN) and
	// aws:SourceAccount.
	Context map[string]string `json:"context,omitempty"`
	// UserName is set instead of the role's fields for an IAM user's
	// GetSessionToken credentials, and Root for the account root's: such
	// sessions act as their user (or the root) does.
	UserName string `json:"userName,omitempty"`
	Root     bool   `json:"root,omitempty"`
}
