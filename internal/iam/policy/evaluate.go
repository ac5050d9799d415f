package policy

import "strings"

// evalContext is a request prepared for matching.
type evalContext struct {
	req      *Request
	resource [arnSegments]string
	isARN    bool // the resource is an ARN, split into resource
}

// lookup is a condition key's values; keys are matched without regard to
// case.
func (ec *evalContext) lookup(key string) []string {
	if values, ok := ec.req.Extra[key]; ok {
		return values
	}
	if values, ok := ec.req.Context[key]; ok {
		return values
	}
	for _, m := range []map[string][]string{ec.req.Extra, ec.req.Context} {
		for k, values := range m {
			if strings.EqualFold(k, key) {
				return values
			}
		}
	}
	return nil
}

// resolve replaces policy variables by the request's values, taken as
// literal text. ok is false when a variable has no value nor default: AWS
// then lets the string match nothing. A key with several values cannot be
// a variable.
func (ec *evalContext) resolve(tokens []token) ([]token, bool) {
	resolved := make([]token, len(tokens))
	for i, t := range tokens {
		if t.kind != tokenVariable {
			resolved[i] = t
			continue
		}
		values := ec.lookup(t.text)
		switch {
		case len(values) == 1:
			resolved[i] = token{kind: tokenLiteral, text: values[0]}
		case t.hasFallback:
			resolved[i] = token{kind: tokenLiteral, text: t.fallback}
		default:
			return nil, false
		}
	}
	return resolved, true
}

// applies reports whether the statement covers the request, and how
// directly its Principal names the requester.
func (s *Statement) applies(ec *evalContext) (bool, grant) {
	action := false
	for i := range s.actions {
		if s.actions[i].match(ec.req.Action, true, ec) {
			action = true
			break
		}
	}
	if action == s.notAction {
		return false, grantNone
	}
	if !s.anyResource {
		resource := false
		for i := range s.resources {
			if s.resources[i].match(&ec.resource, ec.isARN, ec) {
				resource = true
				break
			}
		}
		if resource == s.notResource {
			return false, grantNone
		}
	}
	g := grantDirect // identity-based statements need no principal
	if s.principals != nil {
		g = s.principals.grantFor(&ec.req.Principal)
		if s.notPrincipal {
			if g != grantNone {
				return false, grantNone
			}
			// UNVERIFIED: how AWS weighs an Allow with NotPrincipal; berth
			// weighs it as an Allow for everyone.
			g = grantRole
		} else if g == grantNone {
			return false, grantNone
		}
	}
	for i := range s.conditions {
		if !s.conditions[i].holds(ec) {
			return false, grantNone
		}
	}
	return true, g
}

// verdict is what the policies of one kind say of a request.
type verdict struct {
	denied    bool
	deny      Match
	denyTrust bool // the Deny is in a role trust policy
	allowed   bool
	allow     Match
	grant     grant // the strongest Allow's
	trust     bool  // a role trust policy is among the policies
}

// scan finds the first Deny that applies and the Allow that names the
// requester most directly.
func scan(sources []Source, ec *evalContext) verdict {
	var v verdict
	for i := range sources {
		src := &sources[i]
		if src.Policy == nil {
			continue
		}
		trust := src.Policy.Kind == Trust
		v.trust = v.trust || trust
		for _, st := range src.Policy.Statements {
			ok, g := st.applies(ec)
			switch {
			case !ok:
			case st.deny:
				v.denied, v.denyTrust = true, trust
				v.deny = Match{Source: src.Name, Sid: st.Sid, Index: st.Index}
				return v
			case !v.allowed || g > v.grant:
				v.allowed, v.grant = true, g
				v.allow = Match{Source: src.Name, Sid: st.Sid, Index: st.Index}
			}
		}
	}
	return v
}

// Evaluate decides req against set as AWS does within and across
// accounts: an explicit Deny in any policy wins; otherwise an Allow in an
// identity-based policy, limited by a permissions boundary and session
// policies when set, or an Allow in a resource-based policy, whose reach
// depends on whom it names; otherwise the request is implicitly denied.
//
// A role trust policy among set.Resource, or a resource owned by another
// account than the principal's (read from the resource ARN), needs an
// Allow on the resource side as well. The account's root user needs no
// identity-based policy; when nothing else decided, its Allow has no
// Matched statement.
func Evaluate(req Request, set Set) Decision {
	ec := &evalContext{req: &req}
	ec.resource, ec.isARN = splitARN(req.Resource)
	identity := scan(set.Identity, ec)
	resource := scan(set.Resource, ec)
	boundary := scan(set.Boundary, ec)
	session := scan(set.Session, ec)

	switch {
	case identity.denied:
		return explicitDeny(identity.deny, DeniedByIdentity)
	case resource.denied && resource.denyTrust:
		return explicitDeny(resource.deny, DeniedByTrust)
	case resource.denied:
		return explicitDeny(resource.deny, DeniedByResource)
	case boundary.denied:
		return explicitDeny(boundary.deny, DeniedByBoundary)
	case session.denied:
		return explicitDeny(session.deny, DeniedBySession)
	}

	p := &req.Principal
	// Resources without an account (S3 buckets) or owned by AWS
	// (arn:aws:iam::aws:policy/...) are not another account's.
	crossAccount := ec.isARN && p.Account != "" && isAccountID(ec.resource[4]) && ec.resource[4] != p.Account
	resourceRequired := resource.trust || crossAccount
	if resourceRequired && !resource.allowed {
		if resource.trust {
			return implicitDeny(DeniedByTrust)
		}
		return implicitDeny(DeniedByResource)
	}
	boundaryAllows := set.Boundary == nil || boundary.allowed
	sessionAllows := set.Session == nil || session.allowed

	// Within the account, an Allow naming the user, session or service
	// stands alone; one naming the session's role stands in for the
	// identity-based policies but not for the boundary or session policies.
	if !crossAccount && resource.grant >= grantRole {
		switch {
		case resource.grant == grantDirect:
		case !boundaryAllows:
			return implicitDeny(DeniedByBoundary)
		case !sessionAllows:
			return implicitDeny(DeniedBySession)
		}
		return allowed(resource.allow)
	}

	// Otherwise the identity-based policies must allow: an Allow naming
	// the account delegates to them, and across accounts both sides must.
	// The root user has every permission its account can grant.
	switch {
	case !identity.allowed && !isRoot(p.ARN):
		return implicitDeny(DeniedByIdentity)
	case !boundaryAllows:
		return implicitDeny(DeniedByBoundary)
	case !sessionAllows:
		return implicitDeny(DeniedBySession)
	case resourceRequired:
		return allowed(resource.allow)
	case identity.allowed:
		return allowed(identity.allow)
	}
	return Decision{Effect: Allowed}
}

func explicitDeny(m Match, by string) Decision {
	return Decision{Effect: ExplicitDeny, Matched: &m, DeniedBy: by}
}

func implicitDeny(by string) Decision {
	return Decision{Effect: ImplicitDeny, DeniedBy: by}
}

func allowed(m Match) Decision {
	return Decision{Effect: Allowed, Matched: &m}
}

// Message is AWS's access-denied text for a denial, e.g. "User:
// arn:aws:sts::123456789012:assumed-role/R/S is not authorized to perform:
// ecr:BatchGetImage on resource: arn:aws:ecr:... because no identity-based
// policy allows the ecr:BatchGetImage action"; empty for an Allow. The
// resource part is left out when req.Resource is empty.
func (d Decision) Message(principalARN string, req Request) string {
	if d.Effect == Allowed {
		return ""
	}
	by := d.DeniedBy
	if by == "" {
		by = DeniedByIdentity
	}
	var b strings.Builder
	b.WriteString("User: ")
	b.WriteString(principalARN)
	b.WriteString(" is not authorized to perform: ")
	b.WriteString(req.Action)
	if req.Resource != "" {
		b.WriteString(" on resource: ")
		b.WriteString(req.Resource)
	}
	if d.Effect == ExplicitDeny {
		b.WriteString(" with an explicit deny in ")
		b.WriteString(explicitDenyPhrases[by])
		return b.String()
	}
	b.WriteString(" because no ")
	b.WriteString(by)
	b.WriteString(" allows the ")
	b.WriteString(req.Action)
	b.WriteString(" action")
	return b.String()
}

// explicitDenyPhrases name the denying policy after "with an explicit deny
// in", as AWS's messages do.
var explicitDenyPhrases = map[string]string{
	DeniedByIdentity: "an identity-based policy",
	DeniedByResource: "a resource-based policy",
	DeniedByBoundary: "a permissions boundary",
	// UNVERIFIED: AWS's troubleshooting guide shows "a sessions policy".
	DeniedBySession: "a session policy",
	DeniedByTrust:   "the role trust policy",
}
