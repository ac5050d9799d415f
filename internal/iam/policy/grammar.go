package policy

import (
	"fmt"
	"strings"
)

// IAM's MalformedPolicyDocument messages. Those formatted with a value are
// built by the functions below them.
const (
	msgSyntax              = "Syntax errors in policy."
	msgLegacy              = "The policy failed legacy parsing"
	msgManagedVersion      = "Policy document must be version 2012-10-17 or greater."
	msgPrincipalInIdentity = "Policy document should not specify a principal."
	msgMissingPrincipal    = "Missing required field Principal" // UNVERIFIED for trust policies; confirmed for resource policies
	msgNoPrincipals        = "Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: The passed in policy has a statement with no principals!"
	msgSidFormat           = "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"
	msgSidUnique           = "Statement IDs (SID) in a single policy must be unique."
	msgNoActions           = "Policy statement must contain actions."
	msgNoResources         = "Policy statement must contain resources."
	msgNoVendor            = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
	msgColons              = "Actions/Condition can contain only one colon."
	msgVendorWildcard      = "Action vendors (e.g., aws, ec2, etc.) must not contain wildcards" // UNVERIFIED: quoted by a third party
	msgResourceVendor      = "Resource vendor must be fully qualified and cannot contain regexes."
	msgTrustActions        = "AssumeRole policy may only specify STS AssumeRole actions." // UNVERIFIED
)

func prohibitedField(name string) string { return "Has prohibited field " + name }

func invalidVendor(vendor string) string { return "Vendor " + vendor + " is not valid" }

func invalidPrincipal(principalType, value string) string {
	return fmt.Sprintf(`Invalid principal in policy: "%s":"%s"`, principalType, value)
}

// iamResourceTypes start the resource part of an IAM ARN in a policy.
// UNVERIFIED: the list is IAM's message as reproduced by others, and IAM
// may accept more types today.
var iamResourceTypes = []string{
	"user/", "federated-user/", "role/", "group/", "instance-profile/", "mfa/",
	"server-certificate/", "policy/", "sms-mfa/", "saml-provider/",
	"oidc-provider/", "report/", "access-report/",
}

// InvalidPrincipalError is IAM's refusal of a policy naming an AWS
// principal that does not exist; IAM checks that at write time, and the
// caller knows which users and roles exist (see Policy.PrincipalARNs).
func InvalidPrincipalError(arn string) *SyntaxError {
	return &SyntaxError{Message: invalidPrincipal("AWS", arn)}
}

// ValidateManaged is IAM's further rule for a managed policy document
// (CreatePolicy, CreatePolicyVersion): inline policies may be written in
// the 2008-10-17 language, managed ones may not.
func (p *Policy) ValidateManaged() error {
	if p.Version != "2012-10-17" {
		return &SyntaxError{Message: msgManagedVersion}
	}
	return nil
}

// PrincipalARNs lists the user, role and session ARNs the policy's
// Principal and NotPrincipal elements name.
func (p *Policy) PrincipalARNs() []string {
	var arns []string
	for _, s := range p.Statements {
		if s.principals != nil {
			arns = append(arns, s.principals.arns...)
		}
	}
	return arns
}

// Parse parses and validates text as a policy of kind, refusing what IAM
// refuses with IAM's message.
func Parse(text string, kind Kind) (*Policy, error) {
	root, err := decodeJSON(text)
	if err != nil || root.kind != jsonObject {
		return nil, &SyntaxError{Message: msgSyntax}
	}
	doc, ok := readDocument(root)
	if !ok {
		return nil, &SyntaxError{Message: msgSyntax}
	}
	p, msg := doc.compile(kind)
	if msg != "" {
		return nil, &SyntaxError{Message: msg}
	}
	return p, nil
}

// document is a policy whose JSON has the grammar's shape.
type document struct {
	version, id string
	statements  []*rawStatement
}

// rawStatement holds a statement's elements; a list is nil when its
// element is absent.
type rawStatement struct {
	sid                     string
	effect                  string
	principal, notPrincipal *jsonValue
	action, notAction       []string
	resource, notResource   []string
	condition               *jsonValue
}

// readDocument checks the document's shape, the checks whose failure IAM
// reports as "Syntax errors in policy.".
func readDocument(root *jsonValue) (*document, bool) {
	doc := &document{}
	var statements *jsonValue
	for _, m := range root.members {
		switch m.name {
		case "Version":
			if m.value.kind != jsonString || (m.value.text != "2012-10-17" && m.value.text != "2008-10-17") {
				return nil, false
			}
			doc.version = m.value.text
		case "Id":
			if m.value.kind != jsonString {
				return nil, false
			}
			doc.id = m.value.text
		case "Statement":
			statements = m.value
		default:
			return nil, false
		}
	}
	if statements == nil {
		return nil, false
	}
	list := []*jsonValue{statements}
	if statements.kind == jsonArray {
		list = statements.items
	}
	if len(list) == 0 {
		return nil, false
	}
	for _, v := range list {
		s, ok := readStatement(v)
		if !ok {
			return nil, false
		}
		doc.statements = append(doc.statements, s)
	}
	return doc, true
}

func readStatement(v *jsonValue) (*rawStatement, bool) {
	if v.kind != jsonObject {
		return nil, false
	}
	s := &rawStatement{}
	hasEffect := false
	for _, m := range v.members {
		ok := true
		switch m.name {
		case "Sid":
			ok = m.value.kind == jsonString
			s.sid = m.value.text
		case "Effect":
			ok = m.value.kind == jsonString &&
				(strings.EqualFold(m.value.text, "Allow") || strings.EqualFold(m.value.text, "Deny"))
			s.effect, hasEffect = m.value.text, true
		case "Principal":
			ok = isPrincipalShape(m.value)
			s.principal = m.value
		case "NotPrincipal":
			ok = isPrincipalShape(m.value)
			s.notPrincipal = m.value
		case "Action":
			s.action, ok = readStrings(m.value)
		case "NotAction":
			s.notAction, ok = readStrings(m.value)
		case "Resource":
			s.resource, ok = readStrings(m.value)
		case "NotResource":
			s.notResource, ok = readStrings(m.value)
		case "Condition":
			ok = isConditionShape(m.value)
			s.condition = m.value
		default:
			ok = false
		}
		if !ok {
			return nil, false
		}
	}
	// UNVERIFIED: that IAM refuses Principal with NotPrincipal as it does
	// Action with NotAction and Resource with NotResource.
	if !hasEffect || (s.action != nil && s.notAction != nil) ||
		(s.resource != nil && s.notResource != nil) ||
		(s.principal != nil && s.notPrincipal != nil) {
		return nil, false
	}
	return s, true
}

// readStrings reads a string or an array of strings.
func readStrings(v *jsonValue) ([]string, bool) {
	if !isStringOrStrings(v) {
		return nil, false
	}
	return stringList(v), true
}

func isStringOrStrings(v *jsonValue) bool {
	if v.kind == jsonString {
		return true
	}
	if v.kind != jsonArray {
		return false
	}
	for _, item := range v.items {
		if item.kind != jsonString {
			return false
		}
	}
	return true
}

// isPrincipalShape: "*", or a map of principal types to a string or an
// array of strings.
// UNVERIFIED: IAM's message for another string or an unknown type; berth
// reports a syntax error.
func isPrincipalShape(v *jsonValue) bool {
	if v.kind == jsonString {
		return v.text == "*"
	}
	if v.kind != jsonObject {
		return false
	}
	for _, m := range v.members {
		if _, known := principalTypes[m.name]; !known || !isStringOrStrings(m.value) {
			return false
		}
	}
	return true
}

// isConditionShape: operators mapping keys to a value or an array of
// values. A block of an unknown operator is accepted only when empty.
func isConditionShape(v *jsonValue) bool {
	if v.kind != jsonObject {
		return false
	}
	for _, block := range v.members {
		if block.value.kind != jsonObject {
			return false
		}
		if _, _, _, known := parseOperator(block.name); !known && len(block.value.members) > 0 {
			return false
		}
		for _, key := range block.value.members {
			if !isConditionValue(key.value) {
				return false
			}
		}
	}
	return true
}

func isConditionValue(v *jsonValue) bool {
	switch v.kind {
	case jsonString, jsonNumber, jsonBool:
		return true
	case jsonArray:
		for _, item := range v.items {
			if item.kind != jsonString && item.kind != jsonNumber && item.kind != jsonBool {
				return false
			}
		}
		return true
	}
	return false
}

// compile checks the rules IAM applies once the shape is right, in the
// order IAM reports them, and compiles the statements.
// UNVERIFIED: where the checks that depend on the kind of policy fall in
// that order.
func (doc *document) compile(kind Kind) (*Policy, string) {
	for _, s := range doc.statements {
		if msg := checkKind(s, kind); msg != "" {
			return nil, msg
		}
	}
	variables := doc.version == "2012-10-17"
	p := &Policy{Version: doc.version, ID: doc.id, Kind: kind}
	resourceError := ""
	for i, s := range doc.statements {
		if s.effect != "Allow" && s.effect != "Deny" {
			return nil, msgLegacy // the grammar ignored case; legacy parsing does not
		}
		st := &Statement{Sid: s.sid, Effect: s.effect, Index: i, deny: s.effect == "Deny"}
		var ok bool
		if st.conditions, ok = compileConditions(s.condition, variables); !ok {
			return nil, msgLegacy
		}
		// A resource IAM refuses is reported after the checks below; until
		// one is found, legacy parsing runs on the resources too.
		for _, list := range [][]string{s.resource, s.notResource} {
			for _, r := range list {
				if msg := resourceFormatError(r); msg != "" && resourceError == "" {
					resourceError = msg
				}
			}
			if resourceError != "" {
				continue
			}
			for _, r := range list {
				if failsLegacyResource(r) {
					return nil, msgLegacy
				}
			}
		}
		p.Statements = append(p.Statements, st)
	}
	if msg := checkSids(doc.statements, kind); msg != "" {
		return nil, msg
	}
	for _, s := range doc.statements {
		if len(s.action) == 0 && len(s.notAction) == 0 {
			return nil, msgNoActions
		}
	}
	if kind == Identity {
		for _, s := range doc.statements {
			if len(s.resource) == 0 && len(s.notResource) == 0 {
				return nil, msgNoResources
			}
		}
	}
	if resourceError != "" {
		return nil, resourceError
	}
	for _, not := range []bool{false, true} { // every Action, then every NotAction
		for _, s := range doc.statements {
			actions := s.action
			if not {
				actions = s.notAction
			}
			for _, a := range actions {
				if msg := actionError(a, kind); msg != "" {
					return nil, msg
				}
			}
		}
	}
	for i, s := range doc.statements {
		if msg := compileStatement(p.Statements[i], s, variables); msg != "" {
			return nil, msg
		}
	}
	return p, ""
}

// checkKind applies the rules of the kind of policy to a statement's
// Principal and Resource.
func checkKind(s *rawStatement, kind Kind) string {
	named := s.principal != nil || s.notPrincipal != nil
	switch kind {
	case Identity:
		if named {
			return msgPrincipalInIdentity // UNVERIFIED for NotPrincipal
		}
	case Trust:
		if s.resource != nil {
			return prohibitedField("Resource")
		}
		if s.notResource != nil {
			return prohibitedField("NotResource") // UNVERIFIED
		}
	}
	if kind != Identity && !named {
		return msgMissingPrincipal
	}
	return ""
}

// checkSids: IAM allows only letters and digits in an identity-based or
// trust policy's Sids (other services' resource policies allow more), and
// no Sid twice.
func checkSids(statements []*rawStatement, kind Kind) string {
	seen := map[string]bool{}
	for _, s := range statements {
		if kind != Resource && !isAlphanumeric(s.sid) {
			return msgSidFormat // UNVERIFIED for trust policies
		}
		if s.sid != "" && seen[s.sid] {
			return msgSidUnique
		}
		seen[s.sid] = true
	}
	return ""
}

func isAlphanumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// resourceFormatError is IAM's message for a Resource that is no ARN, or
// whose partition or service IAM refuses. A string with fewer than six
// segments stands for one whose missing segments are *.
func resourceFormatError(r string) string {
	if r == "*" {
		return ""
	}
	_, rest, found := strings.Cut(r, ":")
	if !found {
		return fmt.Sprintf(`Resource %s must be in ARN format or "*".`, r)
	}
	partition, rest, found := strings.Cut(rest, ":")
	if partition != "aws" {
		return fmt.Sprintf(`Partition "%s" is not valid for resource "arn:%s:%s".`, partition, partition, filledSegments(rest))
	}
	if !found {
		return msgResourceVendor
	}
	service, rest, _ := strings.Cut(rest, ":")
	if strings.ContainsAny(service, "*?") {
		return msgResourceVendor
	}
	region, rest, _ := strings.Cut(rest, ":")
	switch {
	case service == "iam" && region != "":
		return fmt.Sprintf("IAM resource %s cannot contain region information.", r)
	case service == "s3" && region != "":
		return fmt.Sprintf("Resource %s can not contain region information.", r)
	}
	_, resource, _ := strings.Cut(rest, ":")
	if service == "iam" && resource != "*" && !hasAnyPrefix(resource, iamResourceTypes) {
		return `IAM resource path must either be "*" or start with ` + strings.Join(iamResourceTypes, ", ") + "."
	}
	return ""
}

// filledSegments shows the service, region, account and resource of an
// ARN's tail, * standing for each that is missing.
func filledSegments(tail string) string {
	parts := strings.Split(tail, ":")
	filled := [4]string{"*", "*", "*", "*"}
	for i, part := range parts {
		if i == 3 {
			filled[3] = strings.Join(parts[3:], ":")
			break
		}
		if part != "" || len(parts) > 1 {
			filled[i] = part
		}
	}
	return strings.Join(filled[:], ":")
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// failsLegacyResource: the legacy parser refuses an ARN with an empty
// service, or with an empty segment ("::") but fewer than six segments.
func failsLegacyResource(r string) bool {
	if r == "*" {
		return false
	}
	colons := strings.Count(r, ":")
	if colons < 5 && strings.Contains(r, "::") {
		return true
	}
	segments := strings.SplitN(r, ":", 4)
	return len(segments) < 3 || segments[2] == ""
}

// actionError is IAM's message for an action string it refuses.
func actionError(a string, kind Kind) string {
	if a == "*" {
		return ""
	}
	vendor, name, found := strings.Cut(a, ":")
	switch {
	case !found:
		return msgNoVendor
	case strings.Contains(name, ":"):
		return msgColons
	case strings.ContainsAny(vendor, "*?"):
		return msgVendorWildcard
	}
	for i := 0; i < len(vendor); i++ {
		c := vendor[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '.') {
			return invalidVendor(vendor)
		}
	}
	if kind == Trust && !strings.EqualFold(vendor, "sts") {
		return msgTrustActions
	}
	return ""
}

// compileConditions compiles a Condition element already checked by the
// grammar; ok is false when a date fails legacy parsing.
func compileConditions(v *jsonValue, variables bool) ([]condition, bool) {
	if v == nil {
		return nil, true
	}
	var conditions []condition
	for _, block := range v.members {
		op, q, ifExists, known := parseOperator(block.name)
		if !known {
			continue // an empty block, which the grammar allows
		}
		for _, key := range block.value.members {
			c, ok := compileCondition(op, q, ifExists, key.name, conditionValues(key.value), variables)
			if !ok {
				return nil, false
			}
			conditions = append(conditions, c)
		}
	}
	return conditions, true
}

func conditionValues(v *jsonValue) []string {
	if v.kind != jsonArray {
		return []string{v.text}
	}
	values := make([]string, len(v.items))
	for i, item := range v.items {
		values[i] = item.text
	}
	return values
}

// compileStatement compiles a statement's Action, Resource and Principal
// elements; it returns IAM's message for a principal it refuses.
func compileStatement(st *Statement, s *rawStatement, variables bool) string {
	actions := s.action
	if actions == nil {
		st.notAction, actions = true, s.notAction
	}
	for _, a := range actions {
		st.actions = append(st.actions, compilePattern(a, true, false))
	}
	resources := s.resource
	switch {
	case s.notResource != nil:
		st.notResource, resources = true, s.notResource
	case s.resource == nil:
		st.anyResource = true // a resource policy applies to its resource
	}
	for _, r := range resources {
		st.resources = append(st.resources, compileARNPattern(r, variables))
	}
	var msg string
	switch {
	case s.principal != nil:
		st.principals, msg = compilePrincipals(s.principal)
	case s.notPrincipal != nil:
		st.notPrincipal = true
		st.principals, msg = compilePrincipals(s.notPrincipal)
	}
	return msg
}
