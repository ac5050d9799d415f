package secretsmanager

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/secretsmanager/smstate"
	"github.com/berth/berth/internal/secretsmanager/smtypes"
	"github.com/berth/berth/internal/store"
)

const (
	defaultBatchResults    = 20
	defaultVersionsResults = 100
)

// ResolveValue returns the value of a secret and its ARN, for the berth
// code that hands a secret to a container (an ECS task's secrets).
// secretID is a name (in region), a complete or a partial ARN (in the
// region it names); versionStage and versionID pick the version as
// GetSecretValue's VersionStage and VersionId do (neither: AWSCURRENT).
// The errors tell ErrSecretNotFound, ErrMarkedForDeletion and
// ErrVersionNotFound apart (errors.Is); none repeats a value. A read is
// recorded as the secret's and the version's last access, as
// GetSecretValue's is.
func (s *SecretsManager) ResolveValue(ctx context.Context, region, secretID, versionStage, versionID string) (value []byte, arn string, err error) {
	ref, err := s.parseSecretID(region, secretID)
	if errors.Is(err, errInvalidName) {
		return nil, "", fmt.Errorf("%w: %q is neither a secret name nor an ARN", ErrSecretNotFound, secretID)
	}
	if err != nil {
		return nil, "", err
	}
	sec, _, val, err := s.readValue(ctx, ref, versionID, versionStage)
	if err != nil {
		return nil, "", err
	}
	return val.data, sec.ARN, nil
}

func (s *SecretsManager) getSecretValue(ctx context.Context, in *smtypes.GetSecretValueRequest) (*smtypes.GetSecretValueResponse, error) {
	ref, err := s.parseSecretID(region(ctx), awsapi.Deref(in.SecretId))
	if err != nil {
		return nil, err
	}
	sec, v, val, err := s.readValue(ctx, ref, awsapi.Deref(in.VersionId), awsapi.Deref(in.VersionStage))
	if err != nil {
		return nil, err
	}
	out := &smtypes.GetSecretValueResponse{
		ARN:           awsapi.String(sec.ARN),
		Name:          awsapi.String(sec.Name),
		VersionId:     awsapi.String(v.ID),
		VersionStages: v.Stages,
		CreatedDate:   awsapi.Time(v.Created),
	}
	out.SecretString, out.SecretBinary = valueOut(val)
	return out, nil
}

// valueOut is val as SecretString or SecretBinary.
func valueOut(val secretValue) (*string, []byte) {
	if val.binary {
		return nil, val.data
	}
	return awsapi.String(string(val.data)), nil
}

func (s *SecretsManager) batchGetSecretValue(ctx context.Context, in *smtypes.BatchGetSecretValueRequest) (*smtypes.BatchGetSecretValueResponse, error) {
	if (len(in.SecretIdList) > 0) == (len(in.Filters) > 0) {
		// UNVERIFIED wording, from another emulator's captures.
		return nil, invalidParameter("Either 'SecretIdList' or 'Filters' must be provided, but not both.")
	}
	if in.MaxResults != nil && len(in.Filters) == 0 {
		// UNVERIFIED wording, from another emulator's captures.
		return nil, invalidParameter("'Filters' not specified. 'Filters' must also be specified when 'MaxResults' is provided.")
	}
	out := &smtypes.BatchGetSecretValueResponse{SecretValues: []smtypes.SecretValueEntry{}, Errors: []smtypes.APIErrorType{}}
	if len(in.SecretIdList) > 0 {
		for _, id := range in.SecretIdList {
			ref, err := s.parseSecretID(region(ctx), id)
			if err == nil {
				err = s.batchValue(ctx, out, ref)
			}
			if err := s.batchError(ctx, out, id, err); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	filters, err := parseFilters(in.Filters)
	if err != nil {
		return nil, err
	}
	secrets, err := s.matching(ctx, region(ctx), filters, false)
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(secrets, listOrder{}, in.NextToken, int(awsapi.Deref(in.MaxResults)), defaultBatchResults)
	if err != nil {
		return nil, err
	}
	for _, sec := range page {
		err := s.batchValue(ctx, out, secretRef{id: sec.ID(), arn: sec.ARN})
		if err := s.batchError(ctx, out, sec.ARN, err); err != nil {
			return nil, err
		}
	}
	out.NextToken = next
	return out, nil
}

// batchValue adds the current value of the secret ref names to out.
func (s *SecretsManager) batchValue(ctx context.Context, out *smtypes.BatchGetSecretValueResponse, ref secretRef) error {
	sec, v, val, err := s.readValue(ctx, ref, "", "")
	if err != nil {
		return err
	}
	entry := smtypes.SecretValueEntry{
		ARN:           awsapi.String(sec.ARN),
		Name:          awsapi.String(sec.Name),
		VersionId:     awsapi.String(v.ID),
		VersionStages: v.Stages,
		CreatedDate:   awsapi.Time(v.Created),
	}
	entry.SecretString, entry.SecretBinary = valueOut(val)
	out.SecretValues = append(out.SecretValues, entry)
	return nil
}

// batchError adds a secret's error to out's Errors, in the words
// GetSecretValue would have answered it with. A failure of berth itself
// fails the whole call instead.
func (s *SecretsManager) batchError(ctx context.Context, out *smtypes.BatchGetSecretValueResponse, secretID string, err error) error {
	if err == nil {
		return nil
	}
	aerr := s.errs.Map(ctx, err)
	if aerr.HTTPStatus() >= http.StatusInternalServerError {
		return aerr
	}
	out.Errors = append(out.Errors, smtypes.APIErrorType{
		SecretId:  awsapi.String(secretID),
		ErrorCode: awsapi.String(aerr.Code),
		Message:   awsapi.String(aerr.Message),
	})
	return nil
}

func (s *SecretsManager) putSecretValue(ctx context.Context, in *smtypes.PutSecretValueRequest) (*smtypes.PutSecretValueResponse, error) {
	req, err := parseVersionRequest(in.ClientRequestToken, in.SecretString, in.SecretBinary)
	if err != nil {
		return nil, err
	}
	if !req.given {
		return nil, invalidRequest(msgValueRequired)
	}
	stages := in.VersionStages
	if len(stages) == 0 {
		stages = []string{stageCurrent}
	}
	sec, err := s.changeActive(ctx, in.SecretId, func(sec *smstate.Secret, now time.Time) ([]store.Op, error) {
		if sec.Version(req.token) >= 0 {
			return nil, s.repeatedToken(ctx, *sec, req.token, req.value)
		}
		return s.addVersion(sec, req.token, req.value, stages, now)
	})
	if err != nil {
		return nil, err
	}
	out := &smtypes.PutSecretValueResponse{ARN: awsapi.String(sec.ARN), Name: awsapi.String(sec.Name), VersionId: awsapi.String(req.token)}
	if i := sec.Version(req.token); i >= 0 {
		out.VersionStages = sec.Versions[i].Stages
	}
	return out, nil
}

func (s *SecretsManager) updateSecretVersionStage(ctx context.Context, in *smtypes.UpdateSecretVersionStageRequest) (*smtypes.UpdateSecretVersionStageResponse, error) {
	stage := awsapi.Deref(in.VersionStage)
	moveTo, removeFrom := awsapi.Deref(in.MoveToVersionId), awsapi.Deref(in.RemoveFromVersionId)
	sec, err := s.changeActive(ctx, in.SecretId, func(sec *smstate.Secret, now time.Time) ([]store.Op, error) {
		holder, to := sec.Holder(stage), -1
		if moveTo != "" {
			if to = sec.Version(moveTo); to < 0 {
				// UNVERIFIED wording.
				return nil, invalidParameter("The parameter MoveToVersionId names no version of the secret: %s.", moveTo)
			}
		}
		switch {
		case removeFrom != "" && (holder < 0 || sec.Versions[holder].ID != removeFrom):
			// UNVERIFIED wording.
			return nil, invalidParameter("The parameter RemoveFromVersionId doesn't match: staging label %s isn't attached to version %s.", stage, removeFrom)
		case removeFrom == "" && holder >= 0 && holder != to:
			return nil, invalidParameter("The parameter RemoveFromVersionId can't be empty. Staging label %s is currently attached to version %s, so you must explicitly reference that version in RemoveFromVersionId.",
				stage, sec.Versions[holder].ID)
		case to >= 0 && to == holder, to < 0 && holder < 0:
			return nil, errNoChange
		case to >= 0:
			attach(sec, to, stage)
		case stage == stageCurrent:
			// UNVERIFIED wording: a secret's current version can be
			// replaced, not removed.
			return nil, invalidParameter("You can't remove the staging label AWSCURRENT without moving it to another version.")
		default:
			detach(sec, holder, stage)
		}
		if err := checkLabels(*sec); err != nil {
			return nil, err
		}
		sec.LastChanged = now
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	return &smtypes.UpdateSecretVersionStageResponse{ARN: awsapi.String(sec.ARN), Name: awsapi.String(sec.Name)}, nil
}

func (s *SecretsManager) listSecretVersionIds(ctx context.Context, in *smtypes.ListSecretVersionIdsRequest) (*smtypes.ListSecretVersionIdsResponse, error) {
	cur, err := s.lookup(ctx, in.SecretId)
	if err != nil {
		return nil, err
	}
	sec := cur.Value
	// A page ends at a version: the next starts after it.
	start := 0
	if in.NextToken != nil {
		after, err := base64.RawURLEncoding.DecodeString(*in.NextToken)
		last := sec.Version(string(after))
		if err != nil || last < 0 {
			return nil, errInvalidNextToken
		}
		start = last + 1
	}
	limit := int(awsapi.Deref(in.MaxResults))
	if limit == 0 {
		limit = defaultVersionsResults
	}
	out := &smtypes.ListSecretVersionIdsResponse{ARN: awsapi.String(sec.ARN), Name: awsapi.String(sec.Name), Versions: []smtypes.SecretVersionsListEntry{}}
	for _, v := range sec.Versions[start:] {
		if len(v.Stages) == 0 && !awsapi.Deref(in.IncludeDeprecated) {
			continue
		}
		if len(out.Versions) == limit {
			last := awsapi.Deref(out.Versions[limit-1].VersionId)
			out.NextToken = awsapi.String(base64.RawURLEncoding.EncodeToString([]byte(last)))
			break
		}
		out.Versions = append(out.Versions, smtypes.SecretVersionsListEntry{
			VersionId:        awsapi.String(v.ID),
			VersionStages:    v.Stages,
			CreatedDate:      awsapi.Time(v.Created),
			LastAccessedDate: awsapi.OptionalTime(v.LastAccessed),
			KmsKeyIds:        []string{kmsKeyShown(sec)},
		})
	}
	return out, nil
}

// kmsKeyShown is the key ListSecretVersionIds shows a secret's versions
// sealed under.
func kmsKeyShown(sec smstate.Secret) string {
	if sec.KmsKeyID == "" {
		return "DefaultEncryptionKey"
	}
	return sec.KmsKeyID
}
