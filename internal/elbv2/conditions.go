package elbv2

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/elbv2/elbv2state"
	"github.com/berth/berth/internal/elbv2/elbv2types"
)

// Limits of a rule's conditions (the ALB quotas).
const (
	maxConditionValues  = 3
	maxRuleValues       = 5
	maxRuleWildcards    = 5
	maxValueLength      = 128
	maxHeaderNameLength = 40
	maxMethodLength     = 40
)

// conditionFields are the fields a condition may test; at most one
// condition of a rule may test each of the singular ones.
var (
	conditionFields = []string{elbv2state.FieldHTTPHeader, elbv2state.FieldHTTPRequestMethod, elbv2state.FieldHostHeader,
		elbv2state.FieldPathPattern, elbv2state.FieldQueryString, elbv2state.FieldSourceIP}
	singularFields = []string{elbv2state.FieldHostHeader, elbv2state.FieldHTTPRequestMethod, elbv2state.FieldPathPattern, elbv2state.FieldSourceIP}
)

// parseConditions checks a rule's conditions and returns them as records.
// UNVERIFIED: the sentences of ELBv2's errors about conditions follow its
// style where no capture of the real text was available.
func parseConditions(in []elbv2types.RuleCondition) ([]elbv2state.Condition, error) {
	out := make([]elbv2state.Condition, 0, len(in))
	values, wildcards := 0, 0
	for _, rc := range in {
		c, err := parseCondition(rc)
		if err != nil {
			return nil, err
		}
		if slices.Contains(singularFields, c.Field) && slices.ContainsFunc(out, func(o elbv2state.Condition) bool { return o.Field == c.Field }) {
			return nil, validation("A rule can only have one '%s' condition", c.Field)
		}
		n := len(c.Values) + len(c.QueryStrings)
		if n > maxConditionValues {
			return nil, validation("A '%s' condition can only have '%d' values", c.Field, maxConditionValues)
		}
		values += n
		wildcards += countWildcards(c)
		out = append(out, c)
	}
	if values > maxRuleValues {
		return nil, validation("A rule can only have '%d' condition values", maxRuleValues)
	}
	if wildcards > maxRuleWildcards {
		return nil, validation("A rule can only have '%d' wildcards", maxRuleWildcards)
	}
	return out, nil
}

func parseCondition(rc elbv2types.RuleCondition) (elbv2state.Condition, error) {
	field := awsapi.Deref(rc.Field)
	c := elbv2state.Condition{Field: field}
	if field == "" {
		return c, validation("A condition field must be specified")
	}
	if !slices.Contains(conditionFields, field) {
		return c, validation("Condition field '%s' must be one of '[%s]'", field, strings.Join(conditionFields, ", "))
	}
	if usesRegex(rc) {
		return c, unsupported("regular expression conditions")
	}
	configs := []struct {
		field, name string
		set         bool
	}{
		{elbv2state.FieldHostHeader, "HostHeaderConfig", rc.HostHeaderConfig != nil},
		{elbv2state.FieldPathPattern, "PathPatternConfig", rc.PathPatternConfig != nil},
		{elbv2state.FieldHTTPHeader, "HttpHeaderConfig", rc.HttpHeaderConfig != nil},
		{elbv2state.FieldHTTPRequestMethod, "HttpRequestMethodConfig", rc.HttpRequestMethodConfig != nil},
		{elbv2state.FieldQueryString, "QueryStringConfig", rc.QueryStringConfig != nil},
		{elbv2state.FieldSourceIP, "SourceIpConfig", rc.SourceIpConfig != nil},
	}
	var own string
	for _, cfg := range configs {
		if cfg.field == field {
			own = cfg.name
			if cfg.set && len(rc.Values) > 0 {
				return c, validation("You cannot provide both Values and '%s' for a condition of type '%s'", cfg.name, field)
			}
			continue
		}
		if cfg.set {
			return c, validation("The '%s' field is not compatible with '%s'", cfg.name, field)
		}
	}
	switch field {
	case elbv2state.FieldHostHeader, elbv2state.FieldPathPattern:
		if len(rc.Values) > 1 {
			return c, validation("The '%s' field contains too many values; the limit is '1'", field)
		}
		c.Values = rc.Values
		if rc.HostHeaderConfig != nil {
			c.Values = rc.HostHeaderConfig.Values
		}
		if rc.PathPatternConfig != nil {
			c.Values = rc.PathPatternConfig.Values
		}
	case elbv2state.FieldHTTPHeader, elbv2state.FieldHTTPRequestMethod, elbv2state.FieldQueryString, elbv2state.FieldSourceIP:
		if len(rc.Values) > 0 {
			return c, validation("The 'Values' field is not compatible with '%s'", field)
		}
	}
	var err error
	switch field {
	case elbv2state.FieldHostHeader:
		err = checkValues(field, c.Values, validHost)
	case elbv2state.FieldPathPattern:
		err = checkValues(field, c.Values, validPath)
	case elbv2state.FieldHTTPHeader:
		if rc.HttpHeaderConfig == nil {
			return c, validation("A '%s' must be specified with '%s'", own, field)
		}
		c.HeaderName, c.Values = awsapi.Deref(rc.HttpHeaderConfig.HttpHeaderName), rc.HttpHeaderConfig.Values
		err = checkHeaderName(c.HeaderName)
		if err == nil {
			err = checkValues(field, c.Values, visibleASCII)
		}
	case elbv2state.FieldHTTPRequestMethod:
		if rc.HttpRequestMethodConfig == nil {
			return c, validation("A '%s' must be specified with '%s'", own, field)
		}
		c.Values = rc.HttpRequestMethodConfig.Values
		err = checkMethods(c.Values)
	case elbv2state.FieldQueryString:
		if rc.QueryStringConfig == nil {
			return c, validation("A '%s' must be specified with '%s'", own, field)
		}
		c.QueryStrings, err = parseQueryStrings(rc.QueryStringConfig.Values)
	case elbv2state.FieldSourceIP:
		if rc.SourceIpConfig == nil {
			return c, validation("A '%s' must be specified with '%s'", own, field)
		}
		c.Values = rc.SourceIpConfig.Values
		err = checkValues(field, c.Values, func(v string) bool { _, err := netip.ParsePrefix(v); return err == nil })
	}
	return c, err
}

func usesRegex(rc elbv2types.RuleCondition) bool {
	return len(rc.RegexValues) > 0 ||
		(rc.HostHeaderConfig != nil && len(rc.HostHeaderConfig.RegexValues) > 0) ||
		(rc.PathPatternConfig != nil && len(rc.PathPatternConfig.RegexValues) > 0) ||
		(rc.HttpHeaderConfig != nil && len(rc.HttpHeaderConfig.RegexValues) > 0)
}

// checkValues checks that a condition has values, none too long and each
// as valid says.
func checkValues(field string, values []string, valid func(string) bool) error {
	if len(values) == 0 {
		return validation("A condition value must be specified")
	}
	for _, v := range values {
		if len(v) > maxValueLength {
			return validation("The '%s' value is too long; the limit is '%d'", field, maxValueLength)
		}
		if !valid(v) {
			return validation("The '%s' value '%s' is not valid", field, v)
		}
	}
	return nil
}

// validHost accepts host name patterns: letters, digits, '-', '.' and the
// wildcards, with a '.' and only letters after the last one.
func validHost(v string) bool {
	if strings.IndexFunc(v, func(r rune) bool { return !isAlnum(r) && !strings.ContainsRune("-.*?", r) }) >= 0 {
		return false
	}
	i := strings.LastIndexByte(v, '.')
	if i < 0 || i == len(v)-1 {
		return false
	}
	return strings.IndexFunc(v[i+1:], func(r rune) bool { return (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') }) < 0
}

// validPath accepts path patterns of the characters ELBv2 lists.
func validPath(v string) bool {
	return strings.IndexFunc(v, func(r rune) bool { return !isAlnum(r) && !strings.ContainsRune(`_-.$/~"'@:+&*?`, r) }) < 0
}

// visibleASCII accepts printable ASCII: rules match nothing else.
func visibleASCII(v string) bool {
	return strings.IndexFunc(v, func(r rune) bool { return r < 0x20 || r > 0x7e }) < 0
}

func isAlnum(r rune) bool {
	return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
}

// checkHeaderName accepts an RFC 7230 token of at most 40 characters that
// is not Host, which host-header conditions test.
func checkHeaderName(name string) error {
	switch {
	case name == "":
		return validation("An HTTP header name must be specified")
	case len(name) > maxHeaderNameLength:
		return validation("The 'HttpHeaderName' value is too long; the limit is '%d'", maxHeaderNameLength)
	case strings.IndexFunc(name, func(r rune) bool { return !isAlnum(r) && !strings.ContainsRune("!#$%&'*+-.^_`|~", r) }) >= 0:
		return validation("The 'HttpHeaderName' value '%s' is not a valid HTTP header name", name)
	case strings.EqualFold(name, "host"):
		return validation("You can't use an HTTP header condition to specify the host header; use a host-header condition")
	}
	return nil
}

func checkMethods(values []string) error {
	if len(values) == 0 {
		return validation("A condition value must be specified")
	}
	for _, v := range values {
		if len(v) > maxMethodLength {
			return validation("The 'http-request-method' value is too long; the limit is '%d'", maxMethodLength)
		}
		if v == "" || strings.IndexFunc(v, func(r rune) bool { return (r < 'A' || r > 'Z') && r != '-' && r != '_' }) >= 0 {
			return validation("The 'http-request-method' value is invalid; the allowed characters are A-Z, hyphen and underscore")
		}
	}
	return nil
}

func parseQueryStrings(pairs []elbv2types.QueryStringKeyValuePair) ([]elbv2state.QueryString, error) {
	if len(pairs) == 0 {
		return nil, validation("A condition value must be specified")
	}
	out := make([]elbv2state.QueryString, len(pairs))
	for i, p := range pairs {
		q := elbv2state.QueryString{Key: awsapi.Deref(p.Key), Value: awsapi.Deref(p.Value)}
		switch {
		case q.Value == "":
			return nil, validation("A 'Value' must be specified in 'QueryStringKeyValuePair'")
		case len(q.Key) > maxValueLength:
			return nil, validation("The 'Key' value is too long; the limit is '%d'", maxValueLength)
		case len(q.Value) > maxValueLength:
			return nil, validation("The 'Value' value is too long; the limit is '%d'", maxValueLength)
		case !visibleASCII(q.Key) || !visibleASCII(q.Value):
			return nil, validation("The 'query-string' value '%s=%s' is not valid", q.Key, q.Value)
		}
		out[i] = q
	}
	return out, nil
}

// countWildcards counts the values of c with a wildcard, toward the rule's
// limit.
func countWildcards(c elbv2state.Condition) int {
	if c.Field == elbv2state.FieldHTTPRequestMethod || c.Field == elbv2state.FieldSourceIP {
		return 0
	}
	n := 0
	wild := func(v string) bool { return strings.ContainsAny(v, "*?") }
	for _, v := range c.Values {
		if wild(v) {
			n++
		}
	}
	for _, q := range c.QueryStrings {
		if wild(q.Key) || wild(q.Value) {
			n++
		}
	}
	return n
}
