package secretsmanager

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/secretsmanager/smstate"
	"github.com/berth/berth/internal/secretsmanager/smtypes"
	"github.com/berth/berth/internal/store"
)

const (
	defaultRecoveryDays = 30
	minRecoveryDays     = 7
	maxRecoveryDays     = 30
	maxTags             = 50
)

func (s *SecretsManager) createSecret(ctx context.Context, in *smtypes.CreateSecretRequest) (*smtypes.CreateSecretResponse, error) {
	id := smstate.SecretID{Region: region(ctx), Name: awsapi.Deref(in.Name)}
	if !validName(id.Name) {
		return nil, errInvalidName
	}
	req, err := parseVersionRequest(in.ClientRequestToken, in.SecretString, in.SecretBinary)
	if err != nil {
		return nil, err
	}
	if len(in.AddReplicaRegions) > 0 {
		return nil, unsupported("replication")
	}
	if in.Type != nil {
		return nil, unsupported("managed external secrets")
	}
	tags, err := addTags(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	var out smstate.Secret
	err = store.Retry(ctx, func() error {
		cur, err := store.Get[smstate.Secret](ctx, s.store, smstate.SecretKey(id))
		var ops []store.Op
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		case cur.Value.Gone(s.now()):
			// Its deletion took effect; the sweep has not removed it yet.
			if ops, err = s.valueDeletes(ctx, cur.Value); err != nil {
				return err
			}
		case cur.Value.ScheduledForDeletion():
			return invalidRequest(msgCreateScheduled)
		case req.given && cur.Value.Version(req.token) >= 0:
			if err := s.repeatedToken(ctx, cur.Value, req.token, req.value); !errors.Is(err, errNoChange) {
				return err
			}
			out = cur.Value
			return nil
		default:
			return resourceExists(msgSecretExistsFormat, id.Name)
		}
		now := s.now()
		sec := smstate.Secret{
			Region:      id.Region,
			Name:        id.Name,
			ARN:         s.newSecretARN(id),
			Description: awsapi.Deref(in.Description),
			KmsKeyID:    awsapi.Deref(in.KmsKeyId),
			Tags:        tags,
			Created:     now,
			LastChanged: now,
		}
		if req.given {
			more, err := s.addVersion(&sec, req.token, req.value, []string{stageCurrent}, now)
			if err != nil {
				return err
			}
			// A value the old secret had under the new version's id is
			// replaced rather than deleted.
			ops = slices.DeleteFunc(ops, func(op store.Op) bool { return op.Key == smstate.ValueKey(id, req.token) })
			ops = append(ops, more...)
		}
		if err := s.write(ctx, id, sec, cur.ModRevision, ops); err != nil {
			return err
		}
		out = sec
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &smtypes.CreateSecretResponse{ARN: awsapi.String(out.ARN), Name: awsapi.String(out.Name), VersionId: req.versionID()}, nil
}

func (s *SecretsManager) describeSecret(ctx context.Context, in *smtypes.DescribeSecretRequest) (*smtypes.DescribeSecretResponse, error) {
	cur, err := s.lookup(ctx, in.SecretId)
	if err != nil {
		return nil, err
	}
	return describe(cur.Value), nil
}

// describe is a secret as DescribeSecret shows it; ListSecrets shows each
// secret the same way (listEntry).
func describe(sec smstate.Secret) *smtypes.DescribeSecretResponse {
	return &smtypes.DescribeSecretResponse{
		ARN:                awsapi.String(sec.ARN),
		Name:               awsapi.String(sec.Name),
		Description:        awsapi.OptionalString(sec.Description),
		KmsKeyId:           awsapi.OptionalString(sec.KmsKeyID),
		CreatedDate:        awsapi.Time(sec.Created),
		LastChangedDate:    awsapi.Time(sec.LastChanged),
		LastAccessedDate:   awsapi.OptionalTime(sec.LastAccessed),
		DeletedDate:        awsapi.OptionalTime(sec.Deleted),
		Tags:               tagsOut(sec.Tags),
		VersionIdsToStages: versionsToStages(sec),
	}
}

// versionsToStages maps the versions with staging labels to their labels
// (nil when none has any).
func versionsToStages(sec smstate.Secret) map[string][]string {
	var out map[string][]string
	for _, v := range sec.Versions {
		if len(v.Stages) == 0 {
			continue
		}
		if out == nil {
			out = map[string][]string{}
		}
		out[v.ID] = v.Stages
	}
	return out
}

func (s *SecretsManager) updateSecret(ctx context.Context, in *smtypes.UpdateSecretRequest) (*smtypes.UpdateSecretResponse, error) {
	req, err := parseVersionRequest(in.ClientRequestToken, in.SecretString, in.SecretBinary)
	if err != nil {
		return nil, err
	}
	if in.Type != nil {
		return nil, unsupported("managed external secrets")
	}
	sec, err := s.changeActive(ctx, in.SecretId, func(sec *smstate.Secret, now time.Time) ([]store.Op, error) {
		if !req.given && in.Description == nil && in.KmsKeyId == nil {
			return nil, errNoChange
		}
		if in.Description != nil {
			sec.Description = *in.Description
		}
		if in.KmsKeyId != nil {
			sec.KmsKeyID = *in.KmsKeyId
		}
		sec.LastChanged = now
		switch {
		case !req.given:
			return nil, nil
		case sec.Version(req.token) >= 0:
			// The call repeated: its value is there already.
			if err := s.repeatedToken(ctx, *sec, req.token, req.value); !errors.Is(err, errNoChange) {
				return nil, err
			}
			return nil, nil
		}
		return s.addVersion(sec, req.token, req.value, []string{stageCurrent}, now)
	})
	if err != nil {
		return nil, err
	}
	return &smtypes.UpdateSecretResponse{ARN: awsapi.String(sec.ARN), Name: awsapi.String(sec.Name), VersionId: req.versionID()}, nil
}

func (s *SecretsManager) deleteSecret(ctx context.Context, in *smtypes.DeleteSecretRequest) (*smtypes.DeleteSecretResponse, error) {
	force := awsapi.Deref(in.ForceDeleteWithoutRecovery)
	if force && in.RecoveryWindowInDays != nil {
		// UNVERIFIED wording, from another emulator's captures.
		return nil, invalidParameter("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
	}
	days := int64(defaultRecoveryDays)
	if in.RecoveryWindowInDays != nil {
		if days = *in.RecoveryWindowInDays; days < minRecoveryDays || days > maxRecoveryDays {
			// UNVERIFIED wording, from another emulator's captures.
			return nil, invalidParameter("The RecoveryWindowInDays value must be between %d and %d days (inclusive).", minRecoveryDays, maxRecoveryDays)
		}
	}
	if force {
		return s.forceDelete(ctx, awsapi.Deref(in.SecretId))
	}
	sec, err := s.change(ctx, in.SecretId, func(sec *smstate.Secret, now time.Time) ([]store.Op, error) {
		if sec.ScheduledForDeletion() {
			return nil, invalidRequest(msgAlreadyDeleted)
		}
		sec.Deleted = now
		sec.DeletionDate = now.Add(time.Duration(days) * 24 * time.Hour)
		sec.LastChanged = now
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	return &smtypes.DeleteSecretResponse{ARN: awsapi.String(sec.ARN), Name: awsapi.String(sec.Name), DeletionDate: awsapi.Time(sec.DeletionDate)}, nil
}

// forceDelete removes a secret and its values at once, scheduled for
// deletion or not. As in Secrets Manager, a secret that does not exist is
// no error: the call answers what it can of the secret it names.
func (s *SecretsManager) forceDelete(ctx context.Context, secretID string) (*smtypes.DeleteSecretResponse, error) {
	out := &smtypes.DeleteSecretResponse{DeletionDate: awsapi.Time(s.now())}
	ref, err := s.parseSecretID(region(ctx), secretID)
	switch {
	case errors.Is(err, ErrSecretNotFound):
		out.ARN = awsapi.String(secretID)
		return out, nil
	case err != nil:
		return nil, err
	}
	out.Name, out.ARN = awsapi.String(ref.id.Name), awsapi.OptionalString(ref.arn)
	err = store.Retry(ctx, func() error {
		cur, err := s.load(ctx, ref)
		if errors.Is(err, ErrSecretNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		ops, err := s.purgeOps(ctx, cur.Value)
		if err != nil {
			return err
		}
		if _, err := s.store.Txn(ctx, store.Txn{
			If:   []store.Compare{{Key: smstate.SecretKey(ref.id), ModRevision: cur.ModRevision}},
			Then: ops,
		}); err != nil {
			return err
		}
		out.ARN = awsapi.String(cur.Value.ARN)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// valueDeletes are the deletes of every value of a secret.
func (s *SecretsManager) valueDeletes(ctx context.Context, sec smstate.Secret) ([]store.Op, error) {
	values, _, err := s.store.List(ctx, smstate.SecretValues(sec.ID()), store.ListOptions{})
	if err != nil {
		return nil, err
	}
	ops := make([]store.Op, len(values))
	for i, kv := range values {
		ops[i] = store.Delete(kv.Key)
	}
	return ops, nil
}

// purgeOps are the deletes of a secret's record and every value of it.
func (s *SecretsManager) purgeOps(ctx context.Context, sec smstate.Secret) ([]store.Op, error) {
	ops, err := s.valueDeletes(ctx, sec)
	return append(ops, store.Delete(smstate.SecretKey(sec.ID()))), err
}

func (s *SecretsManager) restoreSecret(ctx context.Context, in *smtypes.RestoreSecretRequest) (*smtypes.RestoreSecretResponse, error) {
	sec, err := s.change(ctx, in.SecretId, func(sec *smstate.Secret, now time.Time) ([]store.Op, error) {
		if !sec.ScheduledForDeletion() {
			return nil, errNoChange
		}
		sec.Deleted, sec.DeletionDate = time.Time{}, time.Time{}
		sec.LastChanged = now
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	return &smtypes.RestoreSecretResponse{ARN: awsapi.String(sec.ARN), Name: awsapi.String(sec.Name)}, nil
}

func (s *SecretsManager) tagResource(ctx context.Context, in *smtypes.TagResourceRequest) (*struct{}, error) {
	_, err := s.changeActive(ctx, in.SecretId, func(sec *smstate.Secret, now time.Time) ([]store.Op, error) {
		tags, err := addTags(sec.Tags, in.Tags)
		if err != nil {
			return nil, err
		}
		sec.Tags, sec.LastChanged = tags, now
		return nil, nil
	})
	return nil, err
}

func (s *SecretsManager) untagResource(ctx context.Context, in *smtypes.UntagResourceRequest) (*struct{}, error) {
	_, err := s.changeActive(ctx, in.SecretId, func(sec *smstate.Secret, now time.Time) ([]store.Op, error) {
		kept := []smstate.Tag{}
		for _, t := range sec.Tags {
			if !slices.Contains(in.TagKeys, t.Key) {
				kept = append(kept, t)
			}
		}
		sec.Tags, sec.LastChanged = kept, now
		return nil, nil
	})
	return nil, err
}

// addTags returns tags with more added: a key already there takes the new
// value in its place, a new key goes last.
func addTags(tags []smstate.Tag, more []smtypes.Tag) ([]smstate.Tag, error) {
	if len(more) == 0 {
		return tags, nil
	}
	out := append([]smstate.Tag{}, tags...)
	for _, t := range more {
		if t.Key == nil {
			// UNVERIFIED wording.
			return nil, invalidParameter("A tag must have a key.")
		}
		i := 0
		for i < len(out) && out[i].Key != *t.Key {
			i++
		}
		if i == len(out) {
			out = append(out, smstate.Tag{Key: *t.Key})
		}
		out[i].Value = awsapi.Deref(t.Value)
	}
	if len(out) > maxTags {
		// UNVERIFIED wording.
		return nil, invalidParameter("A secret can have at most %d tags.", maxTags)
	}
	return out, nil
}

// tagsOut is tags as the API shows them: nil (left out) for a secret never
// tagged, empty for one whose tags were all removed.
func tagsOut(tags []smstate.Tag) []smtypes.Tag {
	if tags == nil {
		return nil
	}
	out := make([]smtypes.Tag, len(tags))
	for i, t := range tags {
		out[i] = smtypes.Tag{Key: awsapi.String(t.Key), Value: awsapi.String(t.Value)}
	}
	return out
}
