package ecr

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/registry"
)

// LifecyclePolicy is a valid lifecycle policy, as ParseLifecyclePolicy
// reads it from the policy text.
type LifecyclePolicy struct {
	// Rules are in priority order, lowest rulePriority first.
	Rules []LifecycleRule
}

// LifecycleRule is one rule of a lifecycle policy.
type LifecycleRule struct {
	Priority    int
	Description string
	Selection   LifecycleSelection
	Action      LifecycleAction
}

// LifecycleSelection says which images a rule applies to.
type LifecycleSelection struct {
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

// LifecycleAction is what a rule does to the images it selects.
type LifecycleAction struct {
	// Type is expire or transition (with TargetStorageClass archive).
	Type               string
	TargetStorageClass string
}

const maxLifecycleRules = 50

// lifecycleInvalid is the error for a policy that fails validation, with
// ECR's detail wording (JSON-schema violations as its schema validator
// words them).
func lifecycleInvalid(format string, args ...any) error {
	return invalidParameter("LifecyclePolicyText", "Lifecycle policy validation failure: "+fmt.Sprintf(format, args...))
}

// ParseLifecyclePolicy validates a lifecycle policy as ECR does and returns
// it parsed.
func ParseLifecyclePolicy(text string) (*LifecyclePolicy, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil || dec.More() {
		return nil, lifecycleInvalid("Could not map policyString into LifecyclePolicy.")
	}
	top, err := schemaObject(doc, []string{"rules"}, nil)
	if err != nil {
		return nil, err
	}
	rules, err := schemaArray(top["rules"])
	if err != nil {
		return nil, err
	}
	if len(rules) > maxLifecycleRules {
		// UNVERIFIED wording.
		return nil, lifecycleInvalid("A lifecycle policy can have at most %d rules; found %d.", maxLifecycleRules, len(rules))
	}
	policy := &LifecyclePolicy{}
	for _, raw := range rules {
		rule, err := parseLifecycleRule(raw)
		if err != nil {
			return nil, err
		}
		policy.Rules = append(policy.Rules, rule)
	}
	sort.SliceStable(policy.Rules, func(i, j int) bool { return policy.Rules[i].Priority < policy.Rules[j].Priority })
	if err := checkLifecycleRules(policy.Rules); err != nil {
		return nil, err
	}
	return policy, nil
}

func parseLifecycleRule(raw any) (LifecycleRule, error) {
	var rule LifecycleRule
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
	if rule.Selection, err = parseLifecycleSelection(r["selection"]); err != nil {
		return rule, err
	}
	a, err := schemaObject(r["action"], []string{"type"}, []string{"targetStorageClass"})
	if err != nil {
		return rule, err
	}
	if rule.Action.Type, err = schemaEnum(a["type"], "expire", "transition"); err != nil {
		return rule, err
	}
	if t, ok := a["targetStorageClass"]; ok {
		if rule.Action.TargetStorageClass, err = schemaEnum(t, "archive"); err != nil {
			return rule, err
		}
	}
	return rule, checkLifecycleRule(rule)
}

func parseLifecycleSelection(raw any) (LifecycleSelection, error) {
	var sel LifecycleSelection
	s, err := schemaObject(raw, []string{"countNumber", "countType", "tagStatus"}, []string{"countUnit", "storageClass", "tagPatternList", "tagPrefixList"})
	if err != nil {
		return sel, err
	}
	if sel.TagStatus, err = schemaEnum(s["tagStatus"], "tagged", "untagged", "any"); err != nil {
		return sel, err
	}
	if sel.CountType, err = schemaEnum(s["countType"], "imageCountMoreThan", "sinceImagePushed", "sinceImagePulled", "sinceImageTransitioned"); err != nil {
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
	sel.StorageClass = "standard"
	if c, ok := s["storageClass"]; ok {
		if sel.StorageClass, err = schemaEnum(c, "standard", "archive"); err != nil {
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

// checkLifecycleRule applies the rules about one rule's fields together.
// UNVERIFIED wording, except for the TAGGED message.
func checkLifecycleRule(r LifecycleRule) error {
	sel := r.Selection
	hasLists := sel.TagPrefixList != nil || sel.TagPatternList != nil
	switch {
	case r.Priority < 1:
		return lifecycleInvalid("numeric instance is lower than the required minimum (minimum: 1, found: %d)", r.Priority)
	case sel.CountNumber < 1:
		return lifecycleInvalid("numeric instance is lower than the required minimum (minimum: 1, found: %d)", sel.CountNumber)
	case sel.TagStatus == "tagged" && !hasLists:
		return lifecycleInvalid("Must specify tagPrefixList or tagPatternList when tagStatus=TAGGED.")
	case sel.TagStatus != "tagged" && hasLists:
		return lifecycleInvalid("tagPrefixList and tagPatternList can only be specified when tagStatus=TAGGED.")
	case sel.TagPrefixList != nil && sel.TagPatternList != nil:
		return lifecycleInvalid("tagPrefixList and tagPatternList cannot both be specified in one rule.")
	case sel.CountType == "imageCountMoreThan" && sel.CountUnit != "":
		return lifecycleInvalid("countUnit cannot be specified when countType=imageCountMoreThan.")
	case sel.CountType != "imageCountMoreThan" && sel.CountUnit == "":
		return lifecycleInvalid("countUnit must be specified when countType=%s.", sel.CountType)
	case r.Action.Type == "transition" && r.Action.TargetStorageClass == "":
		return lifecycleInvalid("targetStorageClass must be specified when action type is transition.")
	case r.Action.Type == "expire" && r.Action.TargetStorageClass != "":
		return lifecycleInvalid("targetStorageClass can only be specified when action type is transition.")
	}
	for _, p := range sel.TagPatternList {
		if n := strings.Count(p, "*"); n > 4 {
			return lifecycleInvalid("tagPatternList entry '%s' has %d wildcards; at most 4 are allowed.", p, n)
		}
	}
	return nil
}

// checkLifecycleRules applies the rules across rules, which are sorted by
// priority.
func checkLifecycleRules(rules []LifecycleRule) error {
	for i := 1; i < len(rules); i++ {
		if rules[i].Priority == rules[i-1].Priority {
			// UNVERIFIED wording.
			return lifecycleInvalid("rulePriority %d is used by more than one rule; rule priorities must be unique.", rules[i].Priority)
		}
	}
	untagged := map[string]bool{}
	for i, r := range rules {
		class := r.Selection.StorageClass
		switch r.Selection.TagStatus {
		case "any":
			lowest := !slices.ContainsFunc(rules[i+1:], func(o LifecycleRule) bool { return o.Selection.StorageClass == class })
			if !lowest {
				return lifecycleInvalid("Rule for tagStatus=ANY must have the lowest priority per storage class")
			}
		case "untagged":
			if untagged[class] {
				return lifecycleInvalid("Only one rule can select Untagged images per storage class")
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
	return lifecycleInvalid(`instance type (%s) does not match any allowed primitive type (allowed: ["%s"])`, schemaType(v), want)
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
		return nil, lifecycleInvalid("object has missing required properties (%s)", quotedList(missing))
	}
	for name := range obj {
		if !slices.Contains(required, name) && !slices.Contains(optional, name) {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return nil, lifecycleInvalid("object instance has properties which are not allowed by the schema: (%s)", quotedList(extra))
	}
	return obj, nil
}

func schemaArray(v any) ([]any, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, schemaWrongType(v, "array")
	}
	if len(arr) == 0 {
		return nil, lifecycleInvalid("array is too short: must have at least 1 elements but instance has 0 elements")
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
		return 0, lifecycleInvalid("numeric instance is greater than the required maximum (maximum: 2147483647, found: %s)", v)
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
		return "", lifecycleInvalid("instance value (%s) not found in enum (possible values: %s)", quoted, quotedList(values))
	}
	return s, nil
}

// Lifecycle policy operations. The policy is kept, verbatim, on the
// repository; applying it is the lifecycle controller's job.

func checkLifecyclePolicyText(text string) (*LifecyclePolicy, error) {
	switch {
	case utf8.RuneCountInString(text) < 100:
		return nil, validationError("lifecyclePolicyText", text, "Member must have length greater than or equal to 100")
	case utf8.RuneCountInString(text) > 30720:
		return nil, validationError("lifecyclePolicyText", text, "Member must have length less than or equal to 30720")
	}
	return ParseLifecyclePolicy(text)
}

func errLifecyclePolicyNotFound(repo, registryID string) error {
	return awsapi.Errorf("LifecyclePolicyNotFoundException", "Lifecycle policy does not exist for the repository with name '%s' in the registry with id '%s'", repo, registryID)
}

func (s *service) putLifecyclePolicy(ctx context.Context, in *PutLifecyclePolicyRequest) (*PutLifecyclePolicyResponse, error) {
	repo, err := s.repositoryIn(in.RegistryId, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	text := awsapi.Deref(in.LifecyclePolicyText)
	policy, err := checkLifecyclePolicyText(text)
	if err != nil {
		return nil, err
	}
	if _, err := s.update(ctx, repo, func(r *registry.Repository) error {
		r.LifecyclePolicy, r.LifecyclePolicyAt = text, s.now()
		return nil
	}); err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "ecr: lifecycle policy set", "repository", repo, "rules", len(policy.Rules))
	return &PutLifecyclePolicyResponse{RegistryId: awsapi.String(s.account), RepositoryName: awsapi.String(repo), LifecyclePolicyText: awsapi.String(text)}, nil
}

func (s *service) getLifecyclePolicy(ctx context.Context, in *GetLifecyclePolicyRequest) (*GetLifecyclePolicyResponse, error) {
	repo, err := s.repositoryIn(in.RegistryId, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	r, err := s.catalog.GetRepository(ctx, repo)
	if err != nil {
		return nil, s.fail(ctx, err, subject{repo: repo})
	}
	if r.LifecyclePolicy == "" {
		return nil, errLifecyclePolicyNotFound(repo, s.account)
	}
	return &GetLifecyclePolicyResponse{RegistryId: awsapi.String(s.account), RepositoryName: awsapi.String(repo), LifecyclePolicyText: awsapi.String(r.LifecyclePolicy)}, nil
}

func (s *service) deleteLifecyclePolicy(ctx context.Context, in *DeleteLifecyclePolicyRequest) (*DeleteLifecyclePolicyResponse, error) {
	repo, err := s.repositoryIn(in.RegistryId, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	var old string
	if _, err := s.update(ctx, repo, func(r *registry.Repository) error {
		if r.LifecyclePolicy == "" {
			return errLifecyclePolicyNotFound(repo, s.account)
		}
		old, r.LifecyclePolicy = r.LifecyclePolicy, ""
		return nil
	}); err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "ecr: lifecycle policy deleted", "repository", repo)
	return &DeleteLifecyclePolicyResponse{RegistryId: awsapi.String(s.account), RepositoryName: awsapi.String(repo), LifecyclePolicyText: awsapi.String(old)}, nil
}
