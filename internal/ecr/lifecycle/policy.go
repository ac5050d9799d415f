// Package lifecycle is ECR's lifecycle policy language: parsing and
// validating a policy as ECR does (Parse), and deciding which images of a
// repository a policy expires (Evaluate). It is pure: no store, no clock.
// The ECR API (PutLifecyclePolicy, the lifecycle policy preview) and the
// lifecycle controller that expires images both use it, so a preview
// shows exactly what the controller does.
package lifecycle

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Policy is a valid lifecycle policy, as Parse reads it from the policy text.
type Policy struct {
	// Rules are in priority order, lowest rulePriority first.
	Rules []Rule
}

// Rule is one rule of a lifecycle policy.
type Rule struct {
	Priority    int
	Description string
	Selection   Selection
	Action      Action
}

// Selection says which images a rule applies to.
type Selection struct {
	// TagStatus is tagged, untagged or any.
	TagStatus string
	// At most one of the lists is set, and only for tagged.
	TagPrefixList  []string
	TagPatternList []string
	// CountType is imageCountMoreThan, sinceImagePushed, sinceImagePulled
	// or sinceImageTransitioned; CountUnit is days for all but the first.
	CountType   string
	CountUnit   string
	CountNumber int
	// StorageClass is standard (the default) or archive.
	StorageClass string
}

// Action is what a rule does to the images it selects.
type Action struct {
	// Type is expire or transition (with TargetStorageClass archive).
	Type               string
	TargetStorageClass string
}

// Values of the policy language.
const (
	TagStatusTagged   = "tagged"
	TagStatusUntagged = "untagged"
	TagStatusAny      = "any"

	CountImagesMoreThan       = "imageCountMoreThan"
	CountSinceImagePushed     = "sinceImagePushed"
	CountSinceImagePulled     = "sinceImagePulled"
	CountSinceImageTransition = "sinceImageTransitioned"

	StorageStandard = "standard"
	StorageArchive  = "archive"

	ActionExpire     = "expire"
	ActionTransition = "transition"
)

// MaxRules is ECR's quota of rules per policy.
const MaxRules = 50

// minArchiveDays is how long an image must stay archived before a policy
// may expire it: ECR's 90-day minimum storage duration of the archive class.
const minArchiveDays = 90

// maxWildcards is the most `*` one tagPatternList entry may have.
const maxWildcards = 4

// InvalidPolicyError is a policy that fails validation. Detail is ECR's
// wording after "Lifecycle policy validation failure: " (JSON-schema
// violations as its schema validator words them).
type InvalidPolicyError struct{ Detail string }

func (e *InvalidPolicyError) Error() string {
	return "Lifecycle policy validation failure: " + e.Detail
}

func invalid(format string, args ...any) error {
	return &InvalidPolicyError{Detail: fmt.Sprintf(format, args...)}
}

// Parse validates a lifecycle policy as ECR does and returns it parsed. A
// policy that fails validation is an *InvalidPolicyError.
func Parse(text string) (*Policy, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil || dec.More() {
		return nil, invalid("Could not map policyString into LifecyclePolicy.")
	}
	top, err := schemaObject(doc, []string{"rules"}, nil)
	if err != nil {
		return nil, err
	}
	rules, err := schemaArray(top["rules"])
	if err != nil {
		return nil, err
	}
	if len(rules) > MaxRules {
		// UNVERIFIED wording.
		return nil, invalid("A lifecycle policy can have at most %d rules; found %d.", MaxRules, len(rules))
	}
	policy := &Policy{}
	for _, raw := range rules {
		rule, err := parseRule(raw)
		if err != nil {
			return nil, err
		}
		policy.Rules = append(policy.Rules, rule)
	}
	sort.SliceStable(policy.Rules, func(i, j int) bool { return policy.Rules[i].Priority < policy.Rules[j].Priority })
	if err := checkRules(policy.Rules); err != nil {
		return nil, err
	}
	return policy, nil
}

func parseRule(raw any) (Rule, error) {
	var rule Rule
	r, err := schemaObject(raw, []string{"action", "rulePriority", "selection"}, []string{"description"})
	if err != nil {
		return rule, err
	}
	if rule.Priority, err = schemaInteger(r["rulePriority"]); err != nil {
		return rule, err
	}
	if d, ok := r["description"]; ok {
		if rule.Description, err = schemaString(d); err != nil {
			return rule, err
		}
	}
	if rule.Selection, err = parseSelection(r["selection"]); err != nil {
		return rule, err
	}
	a, err := schemaObject(r["action"], []string{"type"}, []string{"targetStorageClass"})
	if err != nil {
		return rule, err
	}
	if rule.Action.Type, err = schemaEnum(a["type"], ActionExpire, ActionTransition); err != nil {
		return rule, err
	}
	if t, ok := a["targetStorageClass"]; ok {
		if rule.Action.TargetStorageClass, err = schemaEnum(t, StorageArchive); err != nil {
			return rule, err
		}
	}
	return rule, checkRule(rule, hasStorageClass(r["selection"]))
}

// hasStorageClass reports whether a (parsed) selection names its storage
// class, which sinceImageTransitioned requires.
func hasStorageClass(selection any) bool {
	_, ok := selection.(map[string]any)["storageClass"]
	return ok
}

func parseSelection(raw any) (Selection, error) {
	var sel Selection
	s, err := schemaObject(raw, []string{"countNumber", "countType", "tagStatus"}, []string{"countUnit", "storageClass", "tagPatternList", "tagPrefixList"})
	if err != nil {
		return sel, err
	}
	if sel.TagStatus, err = schemaEnum(s["tagStatus"], TagStatusTagged, TagStatusUntagged, TagStatusAny); err != nil {
		return sel, err
	}
	if sel.CountType, err = schemaEnum(s["countType"], CountImagesMoreThan, CountSinceImagePushed, CountSinceImagePulled, CountSinceImageTransition); err != nil {
		return sel, err
	}
	if u, ok := s["countUnit"]; ok {
		if sel.CountUnit, err = schemaEnum(u, "days"); err != nil {
			return sel, err
		}
	}
	if sel.CountNumber, err = schemaInteger(s["countNumber"]); err != nil {
		return sel, err
	}
	sel.StorageClass = StorageStandard
	if c, ok := s["storageClass"]; ok {
		if sel.StorageClass, err = schemaEnum(c, StorageStandard, StorageArchive); err != nil {
			return sel, err
		}
	}
	if l, ok := s["tagPrefixList"]; ok {
		if sel.TagPrefixList, err = schemaStrings(l); err != nil {
			return sel, err
		}
	}
	if l, ok := s["tagPatternList"]; ok {
		if sel.TagPatternList, err = schemaStrings(l); err != nil {
			return sel, err
		}
	}
	return sel, nil
}

// checkRule applies the rules about one rule's fields together. The
// wording is UNVERIFIED except for the TAGGED message; the storage-class
// and count-type pairings follow ECR's lifecycle policy properties.
func checkRule(r Rule, storageClassGiven bool) error {
	sel := r.Selection
	hasLists := sel.TagPrefixList != nil || sel.TagPatternList != nil
	switch {
	case r.Priority < 1:
		return invalid("numeric instance is lower than the required minimum (minimum: 1, found: %d)", r.Priority)
	case sel.CountNumber < 1:
		return invalid("numeric instance is lower than the required minimum (minimum: 1, found: %d)", sel.CountNumber)
	case sel.TagStatus == TagStatusTagged && !hasLists:
		return invalid("Must specify tagPrefixList or tagPatternList when tagStatus=TAGGED.")
	case sel.TagStatus != TagStatusTagged && hasLists:
		return invalid("tagPrefixList and tagPatternList can only be specified when tagStatus=TAGGED.")
	case sel.TagPrefixList != nil && sel.TagPatternList != nil:
		return invalid("tagPrefixList and tagPatternList cannot both be specified in one rule.")
	case sel.CountType == CountImagesMoreThan && sel.CountUnit != "":
		return invalid("countUnit cannot be specified when countType=imageCountMoreThan.")
	case sel.CountType != CountImagesMoreThan && sel.CountUnit == "":
		return invalid("countUnit must be specified when countType=%s.", sel.CountType)
	case r.Action.Type == ActionTransition && r.Action.TargetStorageClass == "":
		return invalid("targetStorageClass must be specified when action type is transition.")
	case r.Action.Type == ActionExpire && r.Action.TargetStorageClass != "":
		return invalid("targetStorageClass can only be specified when action type is transition.")
	// Images are pulled only from standard storage, so pull age can only
	// send them to the archive; expiring by pull age goes through it.
	case sel.CountType == CountSinceImagePulled && r.Action.Type != ActionTransition:
		return invalid("countType=sinceImagePulled can only be used with action type transition.")
	case sel.CountType == CountSinceImageTransition && r.Action.Type != ActionExpire:
		return invalid("countType=sinceImageTransitioned can only be used with action type expire.")
	case sel.CountType == CountSinceImageTransition && (!storageClassGiven || sel.StorageClass != StorageArchive):
		return invalid("storageClass=archive must be specified when countType=sinceImageTransitioned.")
	case sel.CountType != CountSinceImageTransition && sel.StorageClass != StorageStandard:
		return invalid("storageClass=archive can only be specified when countType=sinceImageTransitioned.")
	case sel.CountType == CountSinceImageTransition && sel.CountNumber < minArchiveDays:
		return invalid("countNumber must be at least %d when countType=sinceImageTransitioned; found %d.", minArchiveDays, sel.CountNumber)
	}
	for _, p := range sel.TagPatternList {
		if n := strings.Count(p, "*"); n > maxWildcards {
			return invalid("tagPatternList entry '%s' has %d wildcards; at most %d are allowed.", p, n, maxWildcards)
		}
	}
	return nil
}

// checkRules applies the rules across rules, which are sorted by priority.
func checkRules(rules []Rule) error {
	for i := 1; i < len(rules); i++ {
		if rules[i].Priority == rules[i-1].Priority {
			// UNVERIFIED wording.
			return invalid("rulePriority %d is used by more than one rule; rule priorities must be unique.", rules[i].Priority)
		}
	}
	untagged := map[string]bool{}
	for i, r := range rules {
		class := r.Selection.StorageClass
		switch r.Selection.TagStatus {
		case TagStatusAny:
			lowest := !slices.ContainsFunc(rules[i+1:], func(o Rule) bool { return o.Selection.StorageClass == class })
			if !lowest {
				return invalid("Rule for tagStatus=ANY must have the lowest priority per storage class")
			}
		case TagStatusUntagged:
			if untagged[class] {
				return invalid("Only one rule can select Untagged images per storage class")
			}
			untagged[class] = true
		}
	}
	return nil
}

// JSON-schema checks, worded as ECR's schema validator words them.

func schemaType(v any) string {
	switch v := v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		if _, err := strconv.ParseInt(v.String(), 10, 64); err == nil {
			return "integer"
		}
		return "number"
	}
	return "null"
}

func schemaWrongType(v any, want string) error {
	return invalid(`instance type (%s) does not match any allowed primitive type (allowed: ["%s"])`, schemaType(v), want)
}

func quotedList(names []string) string {
	b, _ := json.Marshal(names) // a []string always marshals
	return string(b)
}

// schemaObject checks that v is an object with the required properties and
// no others than those and optional.
func schemaObject(v any, required, optional []string) (map[string]any, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, schemaWrongType(v, "object")
	}
	var missing, extra []string
	for _, name := range required {
		if _, ok := obj[name]; !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, invalid("object has missing required properties (%s)", quotedList(missing))
	}
	for name := range obj {
		if !slices.Contains(required, name) && !slices.Contains(optional, name) {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return nil, invalid("object instance has properties which are not allowed by the schema: (%s)", quotedList(extra))
	}
	return obj, nil
}

func schemaArray(v any) ([]any, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, schemaWrongType(v, "array")
	}
	if len(arr) == 0 {
		return nil, invalid("array is too short: must have at least 1 elements but instance has 0 elements")
	}
	return arr, nil
}

func schemaString(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", schemaWrongType(v, "string")
	}
	return s, nil
}

func schemaStrings(v any) ([]string, error) {
	arr, err := schemaArray(v)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(arr))
	for i, e := range arr {
		if out[i], err = schemaString(e); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func schemaInteger(v any) (int, error) {
	if schemaType(v) != "integer" {
		return 0, schemaWrongType(v, "integer")
	}
	n, err := strconv.ParseInt(v.(json.Number).String(), 10, 32)
	if err != nil {
		return 0, invalid("numeric instance is greater than the required maximum (maximum: 2147483647, found: %s)", v)
	}
	return int(n), nil
}

func schemaEnum(v any, values ...string) (string, error) {
	s, err := schemaString(v)
	if err != nil {
		return "", err
	}
	if !slices.Contains(values, s) {
		quoted, _ := json.Marshal(s) // a string always marshals
		return "", invalid("instance value (%s) not found in enum (possible values: %s)", quoted, quotedList(values))
	}
	return s, nil
}
