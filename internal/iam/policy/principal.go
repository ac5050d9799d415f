package policy

import "strings"

// grant is how directly an Allow in a resource-based policy names the
// principal making the request; AWS weighs the Allow by it.
type grant uint8

const (
	grantNone grant = iota
	// grantAccount: the statement names the principal's account, which
	// delegates to the account's identity-based policies.
	grantAccount
	// grantRole: the statement names the session's role, or everyone; the
	// Allow stands in for identity-based policies but is still limited by
	// a permissions boundary and session policies.
	grantRole
	// grantDirect: the statement names the user, the session or the
	// service itself; within the account nothing else needs to allow.
	grantDirect
)

// principalSet is a compiled Principal or NotPrincipal element.
type principalSet struct {
	everyone bool
	accounts []string // account IDs, from "123456789012" or its :root ARN
	arns     []string // user, role, assumed-role and federated-user ARNs
	services []string
	// Federated and CanonicalUser principals are validated but not kept:
	// berth's requests never carry such identities.
}

// grantFor is how directly the set names p.
func (s *principalSet) grantFor(p *Principal) grant {
	best := grantNone
	if s.everyone {
		// UNVERIFIED: AWS does not document whether an Allow for "*"
		// escapes a permissions boundary or session policy; berth limits
		// it as it does a role's.
		best = grantRole
	}
	for _, arn := range s.arns {
		switch {
		case p.ARN != "" && arn == p.ARN:
			return grantDirect
		case p.RoleARN != "" && arn == p.RoleARN:
			best = grantRole
		}
	}
	for _, svc := range s.services {
		if p.Service != "" && strings.EqualFold(svc, p.Service) {
			return grantDirect
		}
	}
	if best == grantNone && p.Account != "" {
		for _, account := range s.accounts {
			if account == p.Account {
				if p.ARN == rootARN(account) {
					return grantDirect // the account's root user is the account
				}
				best = grantAccount
			}
		}
	}
	return best
}

func rootARN(account string) string { return "arn:aws:iam::" + account + ":root" }

// isRoot reports whether arn is an account's root user.
func isRoot(arn string) bool {
	segments, ok := splitARN(arn)
	return ok && segments[2] == "iam" && segments[5] == "root" && isAccountID(segments[4])
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// principalTypes are the keys of a principal map, and how IAM names each in
// its invalid-principal message.
var principalTypes = map[string]string{
	"AWS":           "AWS",
	"Service":       "SERVICE",     // UNVERIFIED
	"Federated":     "FEDERATED",   // UNVERIFIED
	"CanonicalUser": "CANONICALID", // UNVERIFIED
}

// compilePrincipals reads a Principal or NotPrincipal element already
// checked by the grammar: "*" or a map of types to a string or strings.
// It returns IAM's message for a principal it refuses.
func compilePrincipals(v *jsonValue) (*principalSet, string) {
	s := &principalSet{}
	if v.kind == jsonString {
		s.everyone = true // the grammar admits only "*"
		return s, ""
	}
	count := 0
	for _, m := range v.members {
		for _, value := range stringList(m.value) {
			count++
			if value == "" {
				return nil, invalidPrincipal(principalTypes[m.name], value)
			}
			switch m.name {
			case "AWS":
				if !addAWSPrincipal(s, value) {
					return nil, invalidPrincipal("AWS", value)
				}
			case "Service":
				s.services = append(s.services, value)
			}
		}
	}
	if count == 0 {
		return nil, msgNoPrincipals
	}
	return s, ""
}

// addAWSPrincipal adds an "AWS" principal: "*", an account ID, or the ARN
// of an account, user, role, role session or federated user. A wildcard
// is refused anywhere but alone.
func addAWSPrincipal(s *principalSet, value string) bool {
	if value == "*" {
		s.everyone = true
		return true
	}
	if isAccountID(value) {
		s.accounts = append(s.accounts, value)
		return true
	}
	segments, ok := splitARN(value)
	if !ok || segments[0] != "arn" || segments[1] != "aws" || segments[3] != "" ||
		!isAccountID(segments[4]) || strings.ContainsAny(value, "*?") {
		return false
	}
	resourceType, name, _ := strings.Cut(segments[5], "/")
	switch {
	case segments[2] == "iam" && segments[5] == "root":
		s.accounts = append(s.accounts, segments[4])
		return true
	case segments[2] == "iam" && (resourceType == "user" || resourceType == "role") && name != "":
	case segments[2] == "sts" && resourceType == "assumed-role" && strings.Count(name, "/") == 1 &&
		!strings.HasPrefix(name, "/") && !strings.HasSuffix(name, "/"):
	case segments[2] == "sts" && resourceType == "federated-user" && name != "":
	default:
		return false
	}
	s.arns = append(s.arns, value)
	return true
}

// stringList is a string, or an array of strings, as a slice.
func stringList(v *jsonValue) []string {
	if v.kind == jsonString {
		return []string{v.text}
	}
	list := make([]string, len(v.items))
	for i, item := range v.items {
		list[i] = item.text
	}
	return list
}
