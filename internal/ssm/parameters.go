package ssm

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ssm/ssmstate"
	"github.com/berth/berth/internal/ssm/ssmtypes"
	"github.com/berth/berth/internal/store"
)

const (
	defaultHistoryPage = 50
	maxLabelsOnVersion = 10
	// policyStatus is every policy's status: berth keeps policies and never
	// acts on them.
	policyStatus = "Pending"
)

// selected is a parameter and one of its versions.
type selected struct {
	param   ssmstate.Parameter
	version ssmstate.Version
}

// head reads the record of the parameter r names: the first of its names
// that exists.
func (s *service) head(ctx context.Context, r ref) (store.Versioned[ssmstate.Parameter], error) {
	for _, name := range r.names {
		if err := s.checkReadName(r.region, name); err != nil {
			return store.Versioned[ssmstate.Parameter]{}, err
		}
		id := ssmstate.ParameterID{Region: r.region, Name: name}
		p, err := store.Get[ssmstate.Parameter](ctx, s.store, ssmstate.ParameterKey(id))
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		return p, err
	}
	return store.Versioned[ssmstate.Parameter]{}, ErrParameterNotFound
}

// read returns the parameter r names with the version it selects.
func (s *service) read(ctx context.Context, r ref) (selected, error) {
	var out selected
	err := store.Retry(ctx, func() error {
		cur, err := s.head(ctx, r)
		if err != nil {
			return err
		}
		p := cur.Value
		version := p.Version
		switch {
		case r.label != "":
			v, ok := p.Labels[r.label]
			if !ok {
				return ErrParameterNotFound // UNVERIFIED: the code for a label no version carries
			}
			version = v
		case r.selector != "":
			if !slices.Contains(p.Versions, r.version) {
				return versionNotFound(p.Name, strings.TrimPrefix(r.selector, ":"))
			}
			version = r.version
		}
		v, err := store.Get[ssmstate.Version](ctx, s.store, ssmstate.VersionKey(p.ID(), version))
		if errors.Is(err, store.ErrNotFound) {
			// The parameter changed since its record was read.
			return store.ErrConflict
		}
		if err != nil {
			return err
		}
		out = selected{param: p, version: v.Value}
		return nil
	})
	return out, err
}

// lookup reads what a Get call's Name names, in the request's region.
func (s *service) lookup(ctx context.Context, given string) (selected, ref, error) {
	r, err := s.parseRef(region(ctx), given)
	if err != nil {
		return selected{}, r, err
	}
	if r.region != region(ctx) {
		return selected{}, r, ErrParameterNotFound // UNVERIFIED: an ARN of another region
	}
	got, err := s.read(ctx, r)
	return got, r, err
}

// value is a version's value as a reader sees it: a SecureString's stays
// encrypted unless the reader asks for it decrypted. Encrypted, it is the
// sealed value in base64, which says nothing without berth's key.
func (s *service) value(id ssmstate.ParameterID, v ssmstate.Version, decrypt bool) (string, error) {
	if v.Meta.Type == typeSecure && !decrypt {
		return base64.StdEncoding.EncodeToString(v.Value), nil
	}
	plain, err := s.box.Open(v.Value, ssmstate.VersionKey(id, v.Version))
	if err != nil {
		return "", fmt.Errorf("ssm: open the value of %s version %d: %w", id.Name, v.Version, err)
	}
	return string(plain), nil
}

// parameterOutput is a selected version as GetParameter and its siblings
// give it.
func (s *service) parameterOutput(got selected, selector string, decrypt bool) (ssmtypes.Parameter, error) {
	id, v := got.param.ID(), got.version
	value, err := s.value(id, v, decrypt)
	if err != nil {
		return ssmtypes.Parameter{}, err
	}
	return ssmtypes.Parameter{
		ARN:              awsapi.String(s.arn(id)),
		DataType:         awsapi.String(v.Meta.DataType),
		LastModifiedDate: awsapi.Time(v.Meta.Modified),
		Name:             awsapi.String(id.Name),
		Selector:         awsapi.OptionalString(selector),
		Type:             awsapi.String(v.Meta.Type),
		Value:            awsapi.String(value),
		Version:          awsapi.Int64(v.Version),
	}, nil
}

func (s *service) getParameter(ctx context.Context, in *ssmtypes.GetParameterRequest) (*ssmtypes.GetParameterResult, error) {
	got, r, err := s.lookup(ctx, awsapi.Deref(in.Name))
	if err != nil {
		return nil, err
	}
	p, err := s.parameterOutput(got, r.selector, awsapi.Deref(in.WithDecryption))
	if err != nil {
		return nil, err
	}
	return &ssmtypes.GetParameterResult{Parameter: &p}, nil
}

// getParameters answers what it finds; a name, version or label that does
// not exist is listed in InvalidParameters, a malformed name fails the call.
func (s *service) getParameters(ctx context.Context, in *ssmtypes.GetParametersRequest) (*ssmtypes.GetParametersResult, error) {
	out := &ssmtypes.GetParametersResult{Parameters: []ssmtypes.Parameter{}, InvalidParameters: []string{}}
	seen := map[string]bool{}
	for _, given := range in.Names {
		if seen[given] {
			continue
		}
		seen[given] = true
		got, r, err := s.lookup(ctx, given)
		if errors.Is(err, ErrParameterNotFound) || errors.Is(err, ErrParameterVersionNotFound) {
			out.InvalidParameters = append(out.InvalidParameters, given)
			continue
		}
		if err != nil {
			return nil, err
		}
		p, err := s.parameterOutput(got, r.selector, awsapi.Deref(in.WithDecryption))
		if err != nil {
			return nil, err
		}
		out.Parameters = append(out.Parameters, p)
	}
	return out, nil
}

func (s *service) getParameterHistory(ctx context.Context, in *ssmtypes.GetParameterHistoryRequest) (*ssmtypes.GetParameterHistoryResult, error) {
	r := ref{region: region(ctx), names: []string{cleanName(awsapi.Deref(in.Name))}}
	after, limit, err := pageRequest(in.NextToken, in.MaxResults, defaultHistoryPage)
	if err != nil {
		return nil, err
	}
	var from int64
	if after != "" {
		if from, err = strconv.ParseInt(after, 10, 64); err != nil {
			return nil, errInvalidToken()
		}
	}
	cur, err := s.head(ctx, r)
	if err != nil {
		return nil, err
	}
	p := cur.Value
	id := p.ID()
	versions, _, err := store.List[ssmstate.Version](ctx, s.store, ssmstate.ParameterVersions(id),
		store.ListOptions{StartAfter: ssmstate.VersionKey(id, from), Limit: limit + 1})
	if err != nil {
		return nil, err
	}
	decrypt := awsapi.Deref(in.WithDecryption)
	out := &ssmtypes.GetParameterHistoryResult{Parameters: []ssmtypes.ParameterHistory{}}
	for _, v := range versions {
		// Versions written after the parameter's record was read wait for
		// the next call.
		if !slices.Contains(p.Versions, v.Value.Version) {
			continue
		}
		if len(out.Parameters) == limit {
			out.NextToken = pageToken(strconv.FormatInt(*out.Parameters[limit-1].Version, 10))
			break
		}
		value, err := s.value(id, v.Value, decrypt)
		if err != nil {
			return nil, err
		}
		m := v.Value.Meta
		out.Parameters = append(out.Parameters, ssmtypes.ParameterHistory{
			AllowedPattern:   awsapi.OptionalString(m.AllowedPattern),
			DataType:         awsapi.String(m.DataType),
			Description:      awsapi.OptionalString(m.Description),
			KeyId:            awsapi.OptionalString(m.KeyID),
			Labels:           labelsOf(p, v.Value.Version),
			LastModifiedDate: awsapi.Time(m.Modified),
			LastModifiedUser: awsapi.String(m.ModifiedBy),
			Name:             awsapi.String(id.Name),
			Policies:         policiesOutput(m.Policies),
			Tier:             awsapi.String(m.Tier),
			Type:             awsapi.String(m.Type),
			Value:            awsapi.String(value),
			Version:          awsapi.Int64(v.Value.Version),
		})
	}
	return out, nil
}

func policiesOutput(policies []ssmstate.Policy) []ssmtypes.ParameterInlinePolicy {
	out := make([]ssmtypes.ParameterInlinePolicy, len(policies))
	for i, p := range policies {
		out[i] = ssmtypes.ParameterInlinePolicy{PolicyText: awsapi.String(p.Text), PolicyType: awsapi.String(p.Type),
			PolicyStatus: awsapi.String(policyStatus)}
	}
	return out
}

func (s *service) deleteParameter(ctx context.Context, in *ssmtypes.DeleteParameterRequest) (*ssmtypes.DeleteParameterResult, error) {
	id := ssmstate.ParameterID{Region: region(ctx), Name: cleanName(awsapi.Deref(in.Name))}
	if err := s.checkName(id.Region, id.Name); err != nil {
		return nil, err
	}
	if err := s.delete(ctx, id); err != nil {
		return nil, err
	}
	return &ssmtypes.DeleteParameterResult{}, nil
}

// deleteParameters deletes what it can; a name that is malformed, reserved
// or absent is listed in InvalidParameters.
func (s *service) deleteParameters(ctx context.Context, in *ssmtypes.DeleteParametersRequest) (*ssmtypes.DeleteParametersResult, error) {
	out := &ssmtypes.DeleteParametersResult{DeletedParameters: []string{}, InvalidParameters: []string{}}
	for _, given := range in.Names {
		id := ssmstate.ParameterID{Region: region(ctx), Name: cleanName(given)}
		if s.checkName(id.Region, id.Name) != nil {
			out.InvalidParameters = append(out.InvalidParameters, given)
			continue
		}
		switch err := s.delete(ctx, id); {
		case err == nil:
			out.DeletedParameters = append(out.DeletedParameters, given)
		case errors.Is(err, ErrParameterNotFound):
			out.InvalidParameters = append(out.InvalidParameters, given)
		default:
			return nil, err
		}
	}
	return out, nil
}

// delete removes a parameter and every version of it.
func (s *service) delete(ctx context.Context, id ssmstate.ParameterID) error {
	key := ssmstate.ParameterKey(id)
	return store.Retry(ctx, func() error {
		cur, err := store.Get[ssmstate.Parameter](ctx, s.store, key)
		if errors.Is(err, store.ErrNotFound) {
			return ErrParameterNotFound
		}
		if err != nil {
			return err
		}
		ops := []store.Op{store.Delete(key)}
		for _, v := range cur.Value.Versions {
			ops = append(ops, store.Delete(ssmstate.VersionKey(id, v)))
		}
		_, err = s.store.Txn(ctx, store.Txn{If: []store.Compare{{Key: key, ModRevision: cur.ModRevision}}, Then: ops})
		return err
	})
}

// updateParameter changes an existing parameter's record, not its
// versions.
func (s *service) updateParameter(ctx context.Context, id ssmstate.ParameterID, change func(*ssmstate.Parameter) error) error {
	_, err := store.Update(ctx, s.store, ssmstate.ParameterKey(id), func(p *ssmstate.Parameter, found bool) error {
		if !found {
			return ErrParameterNotFound
		}
		return change(p)
	})
	return err
}

// labelParameterVersion attaches the valid labels to the version (the
// current one if the call names none), moving any that another version
// carries; invalid ones are listed in InvalidLabels and change nothing.
func (s *service) labelParameterVersion(ctx context.Context, in *ssmtypes.LabelParameterVersionRequest) (*ssmtypes.LabelParameterVersionResult, error) {
	id := ssmstate.ParameterID{Region: region(ctx), Name: cleanName(awsapi.Deref(in.Name))}
	if err := s.checkName(id.Region, id.Name); err != nil {
		return nil, err
	}
	var valid []string
	out := &ssmtypes.LabelParameterVersionResult{InvalidLabels: []string{}}
	for _, l := range in.Labels {
		if validLabel(l) {
			valid = append(valid, l)
		} else {
			out.InvalidLabels = append(out.InvalidLabels, l)
		}
	}
	var version int64
	err := s.updateParameter(ctx, id, func(p *ssmstate.Parameter) error {
		version = p.Version
		if in.ParameterVersion != nil {
			version = *in.ParameterVersion
		}
		if !slices.Contains(p.Versions, version) {
			return versionNotFound(id.Name, version)
		}
		if len(valid) == 0 {
			return store.ErrUnchanged
		}
		labels := maps.Clone(p.Labels)
		if labels == nil {
			labels = map[string]int64{}
		}
		for _, l := range valid {
			labels[l] = version
		}
		p.Labels = labels
		if len(labelsOf(*p, version)) > maxLabelsOnVersion {
			return errLabelLimit
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.ParameterVersion = awsapi.Int64(version)
	return out, nil
}

// unlabelParameterVersion removes the labels the version carries; the
// others are listed in InvalidLabels.
func (s *service) unlabelParameterVersion(ctx context.Context, in *ssmtypes.UnlabelParameterVersionRequest) (*ssmtypes.UnlabelParameterVersionResult, error) {
	id := ssmstate.ParameterID{Region: region(ctx), Name: cleanName(awsapi.Deref(in.Name))}
	if err := s.checkName(id.Region, id.Name); err != nil {
		return nil, err
	}
	version := awsapi.Deref(in.ParameterVersion)
	var out *ssmtypes.UnlabelParameterVersionResult
	err := s.updateParameter(ctx, id, func(p *ssmstate.Parameter) error {
		if !slices.Contains(p.Versions, version) {
			return versionNotFound(id.Name, version)
		}
		out = &ssmtypes.UnlabelParameterVersionResult{RemovedLabels: []string{}, InvalidLabels: []string{}}
		labels := maps.Clone(p.Labels)
		for _, l := range in.Labels {
			if v, ok := labels[l]; ok && v == version {
				delete(labels, l)
				out.RemovedLabels = append(out.RemovedLabels, l)
			} else if !slices.Contains(out.RemovedLabels, l) {
				out.InvalidLabels = append(out.InvalidLabels, l)
			}
		}
		if len(out.RemovedLabels) == 0 {
			return store.ErrUnchanged
		}
		p.Labels = labels
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
