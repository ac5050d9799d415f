package iam

import (
	"strings"
	"unicode"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/iam/policy"
)

// IAM's size quotas for policy documents, counted in characters without
// white space.
const (
	rolePolicySizeQuota   = 10240 // all of a role's inline policies together
	userPolicySizeQuota   = 2048  // all of a user's inline policies together
	groupPolicySizeQuota  = 5120  // all of a group's inline policies together
	managedPolicySize     = 6144  // one version of a customer managed policy
	assumeRolePolicyQuota = 2048  // a role's trust policy (ACLSizePerRole)
)

// encodeDocument is a policy document as IAM's responses carry it:
// URL-encoded as RFC 3986 says (every byte but the unreserved characters
// written %XX). The aws CLI decodes it; SDKs leave that to their callers.
func encodeDocument(doc string) *string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(doc) * 3)
	for i := 0; i < len(doc); i++ {
		c := doc[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return awsapi.String(b.String())
}

// documentSize is the size IAM's quotas count for doc: its characters
// without white space.
func documentSize(doc string) int {
	n := 0
	for _, r := range doc {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

// parseIdentityPolicy validates doc as an identity-based policy (a managed
// or inline policy, or a permissions boundary): a *policy.SyntaxError,
// which IAM answers MalformedPolicyDocument, for one it refuses.
func parseIdentityPolicy(doc string) (*policy.Policy, error) {
	return policy.Parse(doc, policy.Identity)
}
