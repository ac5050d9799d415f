package ssm

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ssm/ssmstate"
	"github.com/berth/berth/internal/ssm/ssmtypes"
	"github.com/berth/berth/internal/store"
)

const (
	typeString     = "String"
	typeStringList = "StringList"
	typeSecure     = "SecureString"

	tierStandard    = "Standard"
	tierAdvanced    = "Advanced"
	tierIntelligent = "Intelligent-Tiering"

	dataTypeText        = "text"
	dataTypeImage       = "aws:ec2:image"
	dataTypeIntegration = "aws:ssm:integration"

	// defaultKeyID is the key a SecureString names when its writer names
	// none: the account's AWS managed key for Systems Manager.
	defaultKeyID = "alias/aws/ssm"

	maxVersions = 100
	maxTags     = 50
	maxPolicies = 10
)

// maxValue is the longest value, in bytes, of each tier.
var maxValue = map[string]int{tierStandard: 4096, tierAdvanced: 8192}

var (
	dataTypes   = []string{dataTypeText, dataTypeImage, dataTypeIntegration}
	policyTypes = []string{"Expiration", "ExpirationNotification", "NoChangeNotification"}

	// imageID is the form of an aws:ec2:image value. berth has no EC2 to
	// check that the image exists, as Systems Manager does.
	imageID = regexp.MustCompile(`^ami-([0-9a-f]{8}|[0-9a-f]{17})$`)
	// keyID is the form of a KMS key a SecureString may name: a key id, a
	// multi-Region key id, an alias, or the ARN of a key or an alias.
	keyID = regexp.MustCompile(`^(alias/[a-zA-Z0-9:/_-]+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32}|` +
		`arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key/[a-zA-Z0-9-]+|alias/[a-zA-Z0-9:/_-]+))$`)
)

// putRequest is a PutParameter call once its input, taken alone, has
// passed every check.
type putRequest struct {
	value                       string
	typ, dataType, tier, keyID  string
	description, allowedPattern string
	policies                    []ssmstate.Policy
	tags                        map[string]string
	overwrite                   bool
}

// parsePut checks what PutParameter's input says on its own.
func parsePut(in *ssmtypes.PutParameterRequest) (putRequest, error) {
	req := putRequest{
		value:          awsapi.Deref(in.Value),
		typ:            awsapi.Deref(in.Type),
		dataType:       awsapi.Deref(in.DataType),
		tier:           awsapi.Deref(in.Tier),
		keyID:          awsapi.Deref(in.KeyId),
		description:    awsapi.Deref(in.Description),
		allowedPattern: awsapi.Deref(in.AllowedPattern),
		overwrite:      awsapi.Deref(in.Overwrite),
	}
	if req.overwrite && len(in.Tags) > 0 {
		return req, invalid("Invalid request: tags and overwrite can't be used together. To create a parameter with tags, " +
			"please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.")
	}
	if req.value == "" {
		return req, validationError("value", "", "Member must have length greater than or equal to 1")
	}
	if req.dataType != "" && !slices.Contains(dataTypes, req.dataType) {
		// UNVERIFIED wording.
		return req, invalid("The following data type is not supported: %s (Data type names are all lowercase.)", req.dataType)
	}
	if req.dataType == dataTypeImage && !imageID.MatchString(req.value) {
		// UNVERIFIED wording: Systems Manager checks images after answering,
		// and never creates a version whose image it cannot find.
		return req, invalid("Parameter value, cannot be validated against dataType: %s", dataTypeImage)
	}
	if req.allowedPattern != "" {
		re, err := regexp.Compile(req.allowedPattern)
		if err != nil {
			// UNVERIFIED wording.
			return req, awsapi.WithMessage(errInvalidPattern, "The allowed pattern %s is not a valid regular expression.", req.allowedPattern)
		}
		if !re.MatchString(req.value) {
			return req, awsapi.WithMessage(errPatternMismatch, "Parameter value, cannot be validated against allowedPattern: %s", req.allowedPattern)
		}
	}
	if req.keyID != "" && !keyID.MatchString(req.keyID) {
		return req, awsapi.WithMessage(errInvalidKeyID, "Invalid keyId %s", req.keyID) // UNVERIFIED wording
	}
	policies, err := parsePolicies(awsapi.Deref(in.Policies))
	if err != nil {
		return req, err
	}
	req.policies = policies
	if len(in.Tags) > 0 {
		if req.tags, err = withTags(nil, tagMap(in.Tags)); err != nil {
			return req, err
		}
	}
	return req, nil
}

// parsePolicies reads a Policies member: a JSON array of policies, each
// an object with a Type and its Attributes.
func parsePolicies(text string) ([]ssmstate.Policy, error) {
	if text == "" {
		return nil, nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		// UNVERIFIED wording.
		return nil, awsapi.WithMessage(errPolicyAttribute, "Invalid policies: the policies must be a JSON array of policy objects.")
	}
	if len(raw) > maxPolicies {
		// UNVERIFIED wording: the model's description of the error.
		return nil, awsapi.WithMessage(errPoliciesLimit,
			"You specified more than the maximum number of allowed policies for the parameter. The maximum is %d.", maxPolicies)
	}
	out := make([]ssmstate.Policy, 0, len(raw))
	for _, r := range raw {
		var p struct {
			Type       string
			Attributes map[string]any
		}
		if err := json.Unmarshal(r, &p); err != nil || p.Attributes == nil {
			// UNVERIFIED wording: the model's description of the error.
			return nil, awsapi.WithMessage(errPolicyAttribute, "A policy attribute or its value is invalid.")
		}
		if !slices.Contains(policyTypes, p.Type) {
			// UNVERIFIED wording: the model's description of the error.
			return nil, awsapi.WithMessage(errPolicyType, "The policy type isn't supported. Parameter Store supports the following policy types: %s.",
				strings.Join(policyTypes, ", "))
		}
		if slices.ContainsFunc(out, func(q ssmstate.Policy) bool { return q.Type == p.Type }) {
			// UNVERIFIED wording: the model's description of the error.
			return nil, awsapi.WithMessage(errIncompatiblePolicy, "There is a conflict in the policies specified for this parameter. "+
				"You can't, for example, specify two %s policies for a parameter. Review your policies, and try again.", p.Type)
		}
		out = append(out, ssmstate.Policy{Type: p.Type, Text: string(r)})
	}
	return out, nil
}

// meta decides the new version's attributes over the parameter's current
// ones (nil for a new parameter). What the call leaves out of type, data
// type, tier and key is the current version's; description, allowed
// pattern and policies are the call's alone.
func (req putRequest) meta(cur *ssmstate.Meta) (ssmstate.Meta, error) {
	m := ssmstate.Meta{Type: req.typ, DataType: req.dataType, Tier: req.tier, KeyID: req.keyID,
		Description: req.description, AllowedPattern: req.allowedPattern, Policies: req.policies}
	switch {
	case cur == nil && m.Type == "":
		// UNVERIFIED wording.
		return m, invalid("A parameter type is required when you create a parameter.")
	case cur == nil:
	case m.Type == "":
		m.Type = cur.Type
	case m.Type != cur.Type:
		return m, errTypeMismatch
	}
	switch {
	case cur != nil && m.DataType == "":
		m.DataType = cur.DataType
	case cur != nil && m.DataType != cur.DataType:
		// UNVERIFIED wording.
		return m, invalid("The data type of an existing parameter can't be changed.")
	case m.DataType == "":
		m.DataType = dataTypeText
	}
	if m.DataType == dataTypeImage && m.Type != typeString {
		// UNVERIFIED wording.
		return m, awsapi.WithMessage(errUnsupportedType, "The %s data type is supported only for parameters of the String type.", dataTypeImage)
	}
	current := ""
	if cur != nil {
		current = cur.Tier
	}
	tier, err := req.resolveTier(current)
	if err != nil {
		return m, err
	}
	m.Tier = tier
	if m.Type != typeSecure {
		m.KeyID = ""
	} else if m.KeyID == "" {
		m.KeyID = defaultKeyID
		if cur != nil && cur.KeyID != "" {
			m.KeyID = cur.KeyID
		}
	}
	return m, nil
}

// resolveTier decides the tier of the new version: the one asked for, or
// the current one (Standard for a new parameter); Intelligent-Tiering is
// Advanced when the value or policies need it, else the current tier.
func (req putRequest) resolveTier(current string) (string, error) {
	tier := req.tier
	if tier == "" || tier == tierIntelligent {
		tier = current
		if tier == "" {
			tier = tierStandard
		}
		if req.tier == tierIntelligent && (len(req.value) > maxValue[tierStandard] || len(req.policies) > 0) {
			tier = tierAdvanced
		}
	}
	switch {
	case current == tierAdvanced && tier == tierStandard:
		return "", invalid("This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the " +
			"advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the advanced parameter " +
			"and recreate it as a standard parameter.")
	case tier == tierStandard && len(req.value) > maxValue[tierStandard]:
		return "", invalid("Standard tier parameters support a maximum parameter value of %d characters. To create a larger "+
			"parameter value, upgrade the parameter to use the advanced-parameter tier. For more information, see "+
			"https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html", maxValue[tierStandard])
	case tier == tierAdvanced && len(req.value) > maxValue[tierAdvanced]:
		// UNVERIFIED wording.
		return "", invalid("The specified parameter value is too large. Advanced-tier parameters support a maximum parameter value of %d characters.",
			maxValue[tierAdvanced])
	case tier == tierStandard && len(req.policies) > 0:
		// UNVERIFIED wording.
		return "", invalid("Standard tier parameters don't support parameter policies. To attach policies, use the advanced-parameter tier.")
	}
	return tier, nil
}

func (s *service) putParameter(ctx context.Context, in *ssmtypes.PutParameterRequest) (*ssmtypes.PutParameterResult, error) {
	id := ssmstate.ParameterID{Region: region(ctx), Name: cleanName(awsapi.Deref(in.Name))}
	if err := s.checkName(id.Region, id.Name); err != nil {
		return nil, err
	}
	req, err := parsePut(in)
	if err != nil {
		return nil, err
	}
	key := ssmstate.ParameterKey(id)
	var written ssmstate.Parameter
	err = store.Retry(ctx, func() error {
		cur, err := store.Get[ssmstate.Parameter](ctx, s.store, key)
		found := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		p := cur.Value
		var current *ssmstate.Meta
		if found {
			if !req.overwrite {
				return errAlreadyExists
			}
			current = &p.Current
		}
		meta, err := req.meta(current)
		if err != nil {
			return err
		}
		if !found {
			if err := s.checkLimit(ctx, id.Region, meta.Tier); err != nil {
				return err
			}
			p = ssmstate.Parameter{Region: id.Region, Name: id.Name, Tags: req.tags}
		}
		meta.Modified, meta.ModifiedBy = s.now().UTC(), awsapi.CallerARN(ctx, s.account)
		version := p.Version + 1
		var ops []store.Op
		p.Versions = append(slices.Clone(p.Versions), version)
		if len(p.Versions) > maxVersions {
			oldest := p.Versions[0]
			if labels := labelsOf(p, oldest); len(labels) > 0 {
				return awsapi.WithMessage(errVersionLimit, "You attempted to create a new version of %s by calling the PutParameter API "+
					"with the overwrite flag. Version %d, the oldest version, can't be deleted because it has a label associated with it. "+
					"Move the label to another version of the parameter, and try again.", id.Name, oldest)
			}
			p.Versions = p.Versions[1:]
			ops = append(ops, store.Delete(ssmstate.VersionKey(id, oldest)))
		}
		p.Version, p.Current = version, meta
		versionKey := ssmstate.VersionKey(id, version)
		vop, err := store.PutJSON(versionKey, ssmstate.Version{Version: version, Meta: meta,
			Value: s.box.Seal([]byte(req.value), versionKey)})
		if err != nil {
			return err
		}
		pop, err := store.PutJSON(key, p)
		if err != nil {
			return err
		}
		ops = append(ops, vop, pop)
		if _, err := s.store.Txn(ctx, store.Txn{If: []store.Compare{{Key: key, ModRevision: cur.ModRevision}}, Then: ops}); err != nil {
			return err
		}
		written = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ssmtypes.PutParameterResult{Version: awsapi.Int64(written.Version), Tier: awsapi.String(written.Current.Tier)}, nil
}

// checkLimit returns errParameterLimit when the region holds as many
// parameters of tier as it may. It counts outside the creation's guard:
// creations racing each other may pass the limit by as many as race.
func (s *service) checkLimit(ctx context.Context, region, tier string) error {
	limit := s.limits[tier]
	total := 0
	if _, err := s.store.Range(ctx, ssmstate.RegionParameters(region), func(store.KV) error {
		total++
		return nil
	}); err != nil {
		return err
	}
	if total < limit {
		return nil
	}
	// Rarely this full: only now tell the tiers apart.
	params, _, err := store.List[ssmstate.Parameter](ctx, s.store, ssmstate.RegionParameters(region), store.ListOptions{})
	if err != nil {
		return err
	}
	n := 0
	for _, p := range params {
		if p.Value.Current.Tier == tier {
			n++
		}
	}
	if n >= limit {
		return errParameterLimit
	}
	return nil
}

// labelsOf returns the labels on one version of p, sorted.
func labelsOf(p ssmstate.Parameter, version int64) []string {
	labels := []string{}
	for l, v := range p.Labels {
		if v == version {
			labels = append(labels, l)
		}
	}
	slices.Sort(labels)
	return labels
}
