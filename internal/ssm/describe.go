package ssm

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ssm/ssmstate"
	"github.com/berth/berth/internal/ssm/ssmtypes"
	"github.com/berth/berth/internal/store"
)

const (
	defaultDescribePage = 50
	defaultPathPage     = 10

	optionEquals     = "Equals"
	optionBeginsWith = "BeginsWith"
	optionContains   = "Contains"
	optionOneLevel   = "OneLevel"
	optionRecursive  = "Recursive"

	tagFilterPrefix = "tag:"
)

// filterKeys are the ParameterFilters keys each operation takes, besides
// "tag:<key>" (DescribeParameters only).
var (
	describeFilterKeys = []string{"Path", "Name", "Type", "KeyId", "Tier", "DataType"}
	pathFilterKeys     = []string{"Type", "KeyId", "Label"}
)

// filterValues are the values a key may be compared with, for the keys
// whose values are a closed set.
var filterValues = map[string][]string{
	"Type":     {typeString, typeStringList, typeSecure},
	"Tier":     {tierStandard, tierAdvanced, tierIntelligent},
	"DataType": dataTypes,
}

// A filter is one ParameterStringFilter (or a legacy ParametersFilter),
// checked: a parameter matches when its key's attribute compares with one of
// the values by the option.
type filter struct {
	key, option string
	values      []string
}

// parseFilters checks ParameterFilters for DescribeParameters or, byPath,
// GetParametersByPath. Messages are UNVERIFIED unless noted.
func parseFilters(in []ssmtypes.ParameterStringFilter, byPath bool) ([]filter, error) {
	allowed := describeFilterKeys
	if byPath {
		allowed = pathFilterKeys
	}
	out := make([]filter, 0, len(in))
	for _, f := range in {
		key := awsapi.Deref(f.Key)
		isTag := strings.HasPrefix(key, tagFilterPrefix)
		if !slices.Contains(allowed, key) && (byPath || !isTag) {
			return nil, awsapi.WithMessage(errInvalidFilterKey, "The following filter key is not valid: %s. Valid filter keys include: [%s].",
				key, strings.Join(allowed, ", "))
		}
		if slices.ContainsFunc(out, func(g filter) bool { return g.key == key }) {
			return nil, awsapi.WithMessage(errInvalidFilterKey,
				"The following filter is duplicated in the request: %s. A request can contain only one occurrence of a specific filter.", key)
		}
		options := []string{optionBeginsWith, optionEquals}
		switch {
		case key == "Path":
			options = []string{optionRecursive, optionOneLevel}
		case key == "Label":
			options = []string{optionEquals}
		case key == "Name" && !byPath:
			options = append(options, optionContains)
		}
		option := awsapi.Deref(f.Option)
		switch {
		case option != "":
		case key == "Path":
			option = optionOneLevel
		default:
			option = optionEquals
		}
		if !slices.Contains(options, option) {
			return nil, awsapi.WithMessage(errInvalidFilterOption, "The following filter option is not valid: %s. Valid options include: [%s].",
				option, strings.Join(options, ", "))
		}
		if len(f.Values) == 0 && !isTag {
			return nil, awsapi.WithMessage(errInvalidFilterValue, "The following filter values are missing : null for filter key %s.", key)
		}
		for _, v := range f.Values {
			if set, ok := filterValues[key]; ok && !slices.Contains(set, v) {
				return nil, awsapi.WithMessage(errInvalidFilterValue, "The following filter value is not valid: %s. Valid values include: [%s].",
					v, strings.Join(set, ", "))
			}
			if key == "Path" {
				if err := checkFilterPath(v); err != nil {
					return nil, err
				}
			}
		}
		out = append(out, filter{key: key, option: option, values: f.Values})
	}
	return out, nil
}

// checkFilterPath checks a Path filter's value, which may not name the
// global namespaces.
func checkFilterPath(path string) error {
	if err := checkPath(path); err != nil {
		return err
	}
	if reservedPrefix(path) != "" {
		// UNVERIFIED wording.
		return invalid(`Filters for common parameters can't be prefixed with "aws" or "ssm" (case-insensitive). ` +
			`When using global parameters, please specify within a global namespace.`)
	}
	return nil
}

// legacyFilters are DescribeParameters' older Filters as filters: Name
// matches names that begin with a value, Type and KeyId equal ones.
func legacyFilters(in []ssmtypes.ParametersFilter) []filter {
	out := make([]filter, len(in))
	for i, f := range in {
		option := optionEquals
		if awsapi.Deref(f.Key) == "Name" {
			option = optionBeginsWith // UNVERIFIED: Systems Manager's comparison for the older Name filter
		}
		out[i] = filter{key: awsapi.Deref(f.Key), option: option, values: f.Values}
	}
	return out
}

// match reports whether the parameter's current version passes f. A Label
// filter is passed by a parameter that has one of its labels on any
// version.
func (f filter) match(p ssmstate.Parameter) bool {
	var attr string
	switch key, _ := strings.CutPrefix(f.key, tagFilterPrefix); {
	case f.key == "Name":
		attr = p.Name
	case f.key == "Type":
		attr = p.Current.Type
	case f.key == "KeyId":
		attr = p.Current.KeyID
	case f.key == "Tier":
		attr = p.Current.Tier
	case f.key == "DataType":
		attr = p.Current.DataType
	case f.key == "Label":
		return f.label(p) != ""
	case f.key == "Path":
		return slices.ContainsFunc(f.values, func(path string) bool { return underPath(p.Name, path, f.option == optionRecursive) })
	default:
		v, ok := p.Tags[key]
		if !ok {
			return false
		}
		if len(f.values) == 0 {
			return true
		}
		attr = v
	}
	return slices.ContainsFunc(f.values, func(v string) bool {
		switch f.option {
		case optionBeginsWith:
			return strings.HasPrefix(attr, v)
		case optionContains:
			return strings.Contains(attr, v)
		}
		return attr == v
	})
}

// label returns the first of a Label filter's values that p has, "" for
// none.
func (f filter) label(p ssmstate.Parameter) string {
	for _, v := range f.values {
		if _, ok := p.Labels[v]; ok {
			return v
		}
	}
	return ""
}

func matchAll(filters []filter, p ssmstate.Parameter) bool {
	for _, f := range filters {
		if !f.match(p) {
			return false
		}
	}
	return true
}

func (s *service) describeParameters(ctx context.Context, in *ssmtypes.DescribeParametersRequest) (*ssmtypes.DescribeParametersResult, error) {
	if len(in.Filters) > 0 && len(in.ParameterFilters) > 0 {
		// UNVERIFIED wording.
		return nil, invalid("You can use either Filters or ParameterFilters in a single request.")
	}
	filters, err := parseFilters(in.ParameterFilters, false)
	if err != nil {
		return nil, err
	}
	filters = append(filters, legacyFilters(in.Filters)...)
	after, limit, err := pageRequest(in.NextToken, in.MaxResults, defaultDescribePage)
	if err != nil {
		return nil, err
	}
	out := &ssmtypes.DescribeParametersResult{Parameters: []ssmtypes.ParameterMetadata{}}
	if awsapi.Deref(in.Shared) {
		// Parameters shared from other accounts: berth has one account.
		return out, nil
	}
	params, _, err := store.List[ssmstate.Parameter](ctx, s.store, ssmstate.RegionParameters(region(ctx)), store.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, pv := range params {
		p := pv.Value
		if p.Name <= after || !matchAll(filters, p) {
			continue
		}
		if len(out.Parameters) == limit {
			out.NextToken = pageToken(awsapi.Deref(out.Parameters[limit-1].Name))
			break
		}
		m := p.Current
		out.Parameters = append(out.Parameters, ssmtypes.ParameterMetadata{
			ARN:              awsapi.String(s.arn(p.ID())),
			AllowedPattern:   awsapi.OptionalString(m.AllowedPattern),
			DataType:         awsapi.String(m.DataType),
			Description:      awsapi.OptionalString(m.Description),
			KeyId:            awsapi.OptionalString(m.KeyID),
			LastModifiedDate: awsapi.Time(m.Modified),
			LastModifiedUser: awsapi.String(m.ModifiedBy),
			Name:             awsapi.String(p.Name),
			Policies:         policiesOutput(m.Policies),
			Tier:             awsapi.String(m.Tier),
			Type:             awsapi.String(m.Type),
			Version:          awsapi.Int64(p.Version),
		})
	}
	return out, nil
}

// getParametersByPath lists the parameters under a path, with their
// current versions, or with the version a Label filter's label is on.
func (s *service) getParametersByPath(ctx context.Context, in *ssmtypes.GetParametersByPathRequest) (*ssmtypes.GetParametersByPathResult, error) {
	path := cleanName(awsapi.Deref(in.Path))
	if err := checkPath(path); err != nil {
		return nil, err
	}
	filters, err := parseFilters(in.ParameterFilters, true)
	if err != nil {
		return nil, err
	}
	after, limit, err := pageRequest(in.NextToken, in.MaxResults, defaultPathPage)
	if err != nil {
		return nil, err
	}
	recursive, decrypt := awsapi.Deref(in.Recursive), awsapi.Deref(in.WithDecryption)
	prefix := ssmstate.RegionParameters(region(ctx))
	if path != "/" {
		prefix += strings.TrimSuffix(path, "/") + "/"
	}
	params, _, err := store.List[ssmstate.Parameter](ctx, s.store, prefix, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := &ssmtypes.GetParametersByPathResult{Parameters: []ssmtypes.Parameter{}}
	for _, pv := range params {
		p := pv.Value
		if p.Name <= after || !underPath(p.Name, path, recursive) || !matchAll(filters, p) {
			continue
		}
		if len(out.Parameters) == limit {
			out.NextToken = pageToken(awsapi.Deref(out.Parameters[limit-1].Name))
			break
		}
		r := ref{region: p.Region, names: []string{p.Name}}
		for _, f := range filters {
			if f.key == "Label" {
				r.label = f.label(p)
			}
		}
		got, err := s.read(ctx, r)
		if errors.Is(err, ErrParameterNotFound) {
			continue // deleted, or its label moved away, since the listing
		}
		if err != nil {
			return nil, err
		}
		param, err := s.parameterOutput(got, "", decrypt)
		if err != nil {
			return nil, err
		}
		out.Parameters = append(out.Parameters, param)
	}
	return out, nil
}

// pageToken is the NextToken of a page ending at last (a name, or a
// version's number).
func pageToken(last string) *string {
	return awsapi.String(base64.RawURLEncoding.EncodeToString([]byte(last)))
}

// pageRequest reads a listing's NextToken and MaxResults: what the page
// starts after ("" for the first page), and how many items it holds at
// most (defaultSize when the call does not say).
func pageRequest(nextToken *string, maxResults *int32, defaultSize int) (after string, size int, err error) {
	if nextToken != nil {
		b, err := base64.RawURLEncoding.DecodeString(*nextToken)
		if err != nil || len(b) == 0 {
			return "", 0, errInvalidToken()
		}
		after = string(b)
	}
	size = int(awsapi.Deref(maxResults))
	if size == 0 {
		size = defaultSize
	}
	return after, size, nil
}

func errInvalidToken() error {
	return awsapi.WithMessage(errInvalidNextToken, "The specified token isn't valid.") // UNVERIFIED wording
}
