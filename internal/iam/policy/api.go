// Package policy is IAM's policy language: the grammar of policy documents
// (identity-based, resource-based and trust policies), validated with IAM's
// MalformedPolicyDocument messages, and the evaluation logic that decides a
// request. It is pure: no I/O, no clock but the request's.
package policy

import "strings"

// Kind says where a document is used; the grammar differs by kind.
type Kind int

const (
	// Identity: managed and inline policies of users, groups and roles,
	// session policies and permissions boundaries. No Principal.
	Identity Kind = iota
	// Resource: resource-based policies (ECR repository policies, secret
	// resource policies). Principal or NotPrincipal required.
	Resource
	// Trust: a role's assume-role policy document. Principal required.
	Trust
)

// Policy is a parsed, validated document, compiled for fast evaluation.
// It is not changed after Parse, so it may be shared between goroutines.
type Policy struct {
	// Version is the document's Version element; empty when absent, which
	// IAM reads as 2008-10-17 (no policy variables).
	Version    string
	ID         string
	Statements []*Statement
	// Kind is the kind the document was parsed as. A Trust document among
	// Set.Resource makes a resource-side Allow mandatory, as for
	// sts:AssumeRole.
	Kind Kind
}

// Statement is one statement.
type Statement struct {
	Sid    string
	Effect string // "Allow" or "Deny"
	// Index is the statement's position in the document, from 0.
	Index int

	deny         bool
	notAction    bool
	actions      []pattern // matched case-insensitively
	notResource  bool
	anyResource  bool // no Resource element (resource and trust policies)
	resources    []arnPattern
	principals   *principalSet // nil in identity-based policies
	notPrincipal bool
	conditions   []condition
}

// SyntaxError is a document IAM refuses; Message is IAM's text for
// MalformedPolicyDocument ("Syntax errors in policy.", ...).
type SyntaxError struct{ Message string }

func (e *SyntaxError) Error() string { return e.Message }

// Principal is who makes a request.
type Principal struct {
	// ARN: arn:aws:iam::<a>:root, arn:aws:iam::<a>:user/<path><name>,
	// arn:aws:sts::<a>:assumed-role/<role>/<session>; empty for a service.
	ARN string
	// Account is the principal's account; empty for a service. A resource
	// whose ARN names another account needs a resource-side Allow too.
	Account string
	// RoleARN is the role of an assumed-role session
	// (arn:aws:iam::<a>:role/<path><name>): resource and trust policies
	// naming the role match its sessions.
	RoleARN string
	// Service is a service principal (ecs-tasks.amazonaws.com).
	Service string
}

// Request is what is asked.
type Request struct {
	Principal Principal
	Action    string // "ecr:BatchGetImage"
	Resource  string // an ARN, or "*"
	// Context holds the condition keys and their values, keys matched
	// case-insensitively (aws:SourceArn, ecs:cluster, aws:RequestTag/env).
	// Policy variables (${aws:username}, ${aws:PrincipalTag/team}) take
	// their values from it too; a key with no values counts as absent.
	Context map[string][]string
	// Extra holds condition keys of this one request, looked up before
	// Context: a caller adds a call's own keys to a Context it shares
	// between requests without copying it.
	Extra map[string][]string
}

// Source is one policy that applies, named for explanations.
type Source struct {
	// Name: a managed policy's ARN, or "<entity ARN> inline policy <name>",
	// or "resource policy", "session policy".
	Name   string
	Policy *Policy
}

// Set is every policy that applies to a request.
type Set struct {
	Identity []Source
	Resource []Source
	// Session policies narrow a session; nil means none were passed.
	Session []Source
	// Boundary is a permissions boundary; nil means none is set.
	Boundary []Source
}

// Effect is a decision's outcome.
type Effect int

const (
	ImplicitDeny Effect = iota
	Allowed
	ExplicitDeny
)

// Match names the statement that decided.
type Match struct {
	Source string
	Sid    string
	Index  int
}

// Decision is the result of Evaluate.
type Decision struct {
	Effect Effect
	// Matched is the Deny that decided, or an Allow that granted; nil for
	// an implicit deny.
	Matched *Match
	// DeniedBy says, for a denial, which kind of policy denied or failed
	// to allow: "identity-based policy", "resource-based policy",
	// "session policy", "permissions boundary", "role trust policy".
	DeniedBy string
}

// The values of Decision.DeniedBy, in AWS's words.
const (
	DeniedByIdentity = "identity-based policy"
	DeniedByResource = "resource-based policy"
	DeniedBySession  = "session policy"
	DeniedByBoundary = "permissions boundary"
	DeniedByTrust    = "role trust policy"
)

// ReferencesKey reports whether a condition of the policy tests a key
// containing fragment (case-insensitively): "ResourceTag/" tells whether
// deciding needs the resource's tags, which cost a read to learn.
func (p *Policy) ReferencesKey(fragment string) bool {
	fragment = strings.ToLower(fragment)
	for _, st := range p.Statements {
		for _, c := range st.conditions {
			if strings.Contains(strings.ToLower(c.key), fragment) {
				return true
			}
		}
	}
	return false
}
