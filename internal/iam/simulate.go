package iam

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/iam/iamstate"
	"github.com/berth/berth/internal/iam/iamtypes"
	"github.com/berth/berth/internal/iam/policy"
)

// The EvalDecision values of a simulation.
const (
	evalAllowed      = "allowed"
	evalExplicitDeny = "explicitDeny"
	evalImplicitDeny = "implicitDeny"
)

// simPolicy is one policy a simulation weighs, with what its results say
// of it: SourcePolicyId and SourcePolicyType, and its text, in which
// matched statements are located.
type simPolicy struct {
	source policy.Source
	id     string
	typ    string
	text   string
}

// simulation is the policies a simulation weighs, by kind, and the
// principal making the simulated requests.
type simulation struct {
	principal policy.Principal
	identity  []simPolicy
	boundary  []simPolicy
	resource  []simPolicy
	// hasBoundary is set when a permissions boundary applies, even one
	// that allows nothing.
	hasBoundary bool
}

func (s *simulation) set() policy.Set {
	sources := func(ps []simPolicy) []policy.Source {
		out := make([]policy.Source, len(ps))
		for i, p := range ps {
			out[i] = p.source
		}
		return out
	}
	set := policy.Set{Identity: sources(s.identity), Resource: sources(s.resource)}
	if s.hasBoundary {
		set.Boundary = sources(s.boundary)
	}
	return set
}

// find returns the policy a decision's Match names.
func (s *simulation) find(name string) *simPolicy {
	for _, list := range [][]simPolicy{s.identity, s.boundary, s.resource} {
		for i := range list {
			if list[i].source.Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

// parseSimulated parses a policy a simulation is given as text. IAM's
// simulations answer InvalidInput, not MalformedPolicyDocument, for one it
// refuses. UNVERIFIED wording.
func parseSimulated(text, id string, kind policy.Kind) (*policy.Policy, error) {
	p, err := policy.Parse(text, kind)
	var syntax *policy.SyntaxError
	if errors.As(err, &syntax) {
		return nil, iamError(errInvalidInput, "%s: %s", id, syntax.Message)
	}
	return p, err
}

// addInputs adds the policies of a simulation's request: PolicyInputList
// to the identity-based policies, PermissionsBoundaryPolicyInputList in
// place of any boundary, ResourcePolicy to the resource-based ones.
func (s *simulation) addInputs(policies, boundaries []string, resourcePolicy *string) error {
	for i, text := range policies {
		id := "PolicyInputList." + strconv.Itoa(i+1)
		p, err := parseSimulated(text, id, policy.Identity)
		if err != nil {
			return err
		}
		s.identity = append(s.identity, simPolicy{source: policy.Source{Name: id, Policy: p}, id: id, text: text})
	}
	if len(boundaries) > 0 {
		s.boundary, s.hasBoundary = nil, true
		for i, text := range boundaries {
			id := "PermissionsBoundaryPolicyInputList." + strconv.Itoa(i+1)
			p, err := parseSimulated(text, id, policy.Identity)
			if err != nil {
				return err
			}
			s.boundary = append(s.boundary, simPolicy{source: policy.Source{Name: id, Policy: p}, id: id, text: text})
		}
	}
	if text := awsapi.Deref(resourcePolicy); text != "" {
		p, err := parseSimulated(text, "ResourcePolicy", policy.Resource)
		if err != nil {
			return err
		}
		s.resource = append(s.resource, simPolicy{source: policy.Source{Name: "resource policy", Policy: p}, id: "ResourcePolicy", typ: "resource", text: text})
	}
	return nil
}

// managedSimPolicy is a managed policy's default version, for a
// simulation.
func (s *iamService) managedSimPolicy(ctx context.Context, arn string) (simPolicy, error) {
	ref, err := s.readPolicy(ctx, arn)
	if err != nil {
		return simPolicy{}, err
	}
	sp := simPolicy{typ: "aws-managed"}
	if ref.aws != nil {
		sp.id, sp.text = ref.aws.Name, ref.aws.Document
	} else {
		p := &ref.local.Value
		sp.id, sp.typ = p.Name, "user-managed"
		for _, v := range p.Versions {
			if v.ID == p.DefaultVersion {
				sp.text = v.Document
			}
		}
	}
	parsed, err := parseIdentityPolicy(sp.text)
	if err != nil {
		return simPolicy{}, err
	}
	sp.source = policy.Source{Name: arn, Policy: parsed}
	return sp, nil
}

// addIdentityPolicies adds an identity's inline and attached policies;
// typ is the identity's kind (user, group, role) as SourcePolicyType says.
func (s *iamService) addIdentityPolicies(ctx context.Context, sim *simulation, arn, typ string, p *iamstate.Policies) error {
	for _, name := range inlinePolicyNames(p) {
		parsed, err := parseIdentityPolicy(p.Inline[name])
		if err != nil {
			return err
		}
		sim.identity = append(sim.identity, simPolicy{
			source: policy.Source{Name: arn + " inline policy " + name, Policy: parsed},
			id:     name, typ: typ, text: p.Inline[name],
		})
	}
	for _, policyARN := range p.Attached {
		sp, err := s.managedSimPolicy(ctx, policyARN)
		if err != nil {
			return err
		}
		sim.identity = append(sim.identity, sp)
	}
	if p.Boundary != "" {
		sp, err := s.managedSimPolicy(ctx, p.Boundary)
		if err != nil {
			return err
		}
		sim.boundary, sim.hasBoundary = append(sim.boundary, sp), true
	}
	return nil
}

// principalSimulation gathers the policies of the user, group or role arn
// names: a user's own and its groups', a role's, a group's.
func (s *iamService) principalSimulation(ctx context.Context, arn string) (*simulation, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || parts[4] != s.account {
		return nil, iamError(errInvalidInput, "Invalid ARN: %s", arn) // UNVERIFIED wording
	}
	kind, _, _ := strings.Cut(parts[5], "/")
	name := parts[5][strings.LastIndex(parts[5], "/")+1:]
	sim := &simulation{principal: policy.Principal{ARN: arn, Account: s.account}}
	switch kind {
	case "user":
		v, err := userKind.read(ctx, s.store, name)
		if err != nil {
			return nil, err
		}
		if err := s.addIdentityPolicies(ctx, sim, v.Value.ARN, "user", &v.Value.Policies); err != nil {
			return nil, err
		}
		for _, g := range v.Value.Groups {
			gv, err := groupKind.read(ctx, s.store, g)
			if err != nil {
				return nil, err
			}
			if err := s.addIdentityPolicies(ctx, sim, gv.Value.ARN, "group", &gv.Value.Policies); err != nil {
				return nil, err
			}
		}
	case "role":
		v, err := roleKind.read(ctx, s.store, name)
		if err != nil {
			return nil, err
		}
		sim.principal.RoleARN = v.Value.ARN
		if err := s.addIdentityPolicies(ctx, sim, v.Value.ARN, "role", &v.Value.Policies); err != nil {
			return nil, err
		}
	case "group":
		v, err := groupKind.read(ctx, s.store, name)
		if err != nil {
			return nil, err
		}
		if err := s.addIdentityPolicies(ctx, sim, v.Value.ARN, "group", &v.Value.Policies); err != nil {
			return nil, err
		}
	default:
		return nil, iamError(errInvalidInput, "Invalid ARN: %s", arn) // UNVERIFIED wording
	}
	return sim, nil
}

func (s *iamService) simulatePrincipalPolicy(ctx context.Context, in *iamtypes.SimulatePrincipalPolicyRequest) (*iamtypes.SimulatePolicyResponse, error) {
	sim, err := s.principalSimulation(ctx, awsapi.Deref(in.PolicySourceArn))
	if err != nil {
		return nil, err
	}
	if err := sim.addInputs(in.PolicyInputList, in.PermissionsBoundaryPolicyInputList, in.ResourcePolicy); err != nil {
		return nil, err
	}
	if caller := awsapi.Deref(in.CallerArn); caller != "" {
		sim.principal.ARN = caller
	}
	return sim.run(in.ActionNames, in.ResourceArns, in.ContextEntries, in.Marker, in.MaxItems)
}

func (s *iamService) simulateCustomPolicy(ctx context.Context, in *iamtypes.SimulateCustomPolicyRequest) (*iamtypes.SimulatePolicyResponse, error) {
	sim := &simulation{principal: policy.Principal{ARN: awsapi.Deref(in.CallerArn), Account: s.account}}
	if err := sim.addInputs(in.PolicyInputList, in.PermissionsBoundaryPolicyInputList, in.ResourcePolicy); err != nil {
		return nil, err
	}
	return sim.run(in.ActionNames, in.ResourceArns, in.ContextEntries, in.Marker, in.MaxItems)
}

// run simulates each action on each resource ("*" when none is given),
// one result for each pair, a page at a time.
func (s *simulation) run(actions, resources []string, entries []iamtypes.ContextEntry, marker *string, maxItems *int32) (*iamtypes.SimulatePolicyResponse, error) {
	if len(resources) == 0 {
		resources = []string{"*"}
	}
	keys := map[string][]string{}
	for _, e := range entries {
		name := awsapi.Deref(e.ContextKeyName)
		keys[name] = append(keys[name], e.ContextKeyValues...)
	}
	var requests []policy.Request
	for _, action := range actions {
		for _, resource := range resources {
			requests = append(requests, policy.Request{Principal: s.principal, Action: action, Resource: resource, Context: keys})
		}
	}
	p, err := paginate(requests, marker, maxItems)
	if err != nil {
		return nil, err
	}
	out := &iamtypes.SimulatePolicyResponse{EvaluationResults: []iamtypes.EvaluationResult{}, IsTruncated: awsapi.Bool(p.truncated), Marker: p.marker}
	set := s.set()
	for _, req := range p.items {
		out.EvaluationResults = append(out.EvaluationResults, s.result(req, set))
	}
	return out, nil
}

// result is one request's evaluation: its decision and the statements
// that made it. An allowed request lists an allowing statement of each
// policy that grants it.
func (s *simulation) result(req policy.Request, set policy.Set) iamtypes.EvaluationResult {
	d := policy.Evaluate(req, set)
	r := iamtypes.EvaluationResult{
		EvalActionName:       awsapi.String(req.Action),
		EvalResourceName:     awsapi.String(req.Resource),
		EvalDecision:         awsapi.String(evalImplicitDeny),
		MatchedStatements:    []iamtypes.Statement{},
		MissingContextValues: []string{},
	}
	switch d.Effect {
	case policy.Allowed:
		r.EvalDecision = awsapi.String(evalAllowed)
	case policy.ExplicitDeny:
		r.EvalDecision = awsapi.String(evalExplicitDeny)
	}
	matches := []*policy.Match{d.Matched}
	if d.Effect == policy.Allowed {
		for _, sp := range s.identity {
			one := policy.Evaluate(req, policy.Set{Identity: []policy.Source{sp.source}})
			if one.Matched != nil && (d.Matched == nil || *one.Matched != *d.Matched) {
				matches = append(matches, one.Matched)
			}
		}
	}
	for _, m := range matches {
		if m == nil {
			continue
		}
		if sp := s.find(m.Source); sp != nil {
			r.MatchedStatements = append(r.MatchedStatements, sp.statement(m.Index))
		}
	}
	if s.hasBoundary {
		bd := policy.Evaluate(req, policy.Set{Identity: set.Boundary})
		r.PermissionsBoundaryDecisionDetail = &iamtypes.PermissionsBoundaryDecisionDetail{
			AllowedByPermissionsBoundary: awsapi.Bool(bd.Effect == policy.Allowed),
		}
	}
	return r
}

// statement is the statement index of the policy as a result's
// MatchedStatements shows it, located in the policy's text.
func (sp *simPolicy) statement(index int) iamtypes.Statement {
	st := iamtypes.Statement{SourcePolicyId: awsapi.String(sp.id), SourcePolicyType: awsapi.OptionalString(sp.typ)}
	if spans := statementSpans(sp.text); index < len(spans) {
		st.StartPosition = textPosition(sp.text, spans[index][0])
		st.EndPosition = textPosition(sp.text, spans[index][1])
	}
	return st
}

// statementSpans returns the byte offsets at which each statement of a
// policy document begins (its "{") and ends (its "}"), in document order;
// nil when the document has no Statement to find.
func statementSpans(doc string) [][2]int {
	dec := json.NewDecoder(strings.NewReader(doc))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	// valueStart is where the value after offset begins, past white space
	// and the separators before it.
	valueStart := func(offset int) int {
		for offset < len(doc) && strings.IndexByte(" \t\r\n:,", doc[offset]) >= 0 {
			offset++
		}
		return offset
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil
		}
		start := valueStart(int(dec.InputOffset()))
		if key != "Statement" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil
			}
			continue
		}
		if start < len(doc) && doc[start] == '{' {
			var one json.RawMessage
			if err := dec.Decode(&one); err != nil {
				return nil
			}
			return [][2]int{{start, int(dec.InputOffset()) - 1}}
		}
		if t, err := dec.Token(); err != nil || t != json.Delim('[') {
			return nil
		}
		var spans [][2]int
		for dec.More() {
			begin := valueStart(int(dec.InputOffset()))
			var one json.RawMessage
			if err := dec.Decode(&one); err != nil {
				return nil
			}
			spans = append(spans, [2]int{begin, int(dec.InputOffset()) - 1})
		}
		return spans
	}
	return nil
}

// textPosition is the line and column, from 1, of a byte offset in text.
func textPosition(text string, offset int) *iamtypes.Position {
	line := 1 + strings.Count(text[:offset], "\n")
	column := offset - strings.LastIndexByte(text[:offset], '\n')
	return &iamtypes.Position{Line: awsapi.Int32(int32(line)), Column: awsapi.Int32(int32(column))}
}
