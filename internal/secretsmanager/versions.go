package secretsmanager

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/secretsmanager/smstate"
	"github.com/berth/berth/internal/store"
)

// The staging labels Secrets Manager itself moves.
const (
	stageCurrent  = "AWSCURRENT"
	stagePrevious = "AWSPREVIOUS"
)

const (
	// maxVersions is how many versions a secret keeps: beyond it, the
	// oldest deprecated versions (those without staging labels) go, but
	// none created in the last day (keepVersionsFor).
	maxVersions     = 100
	keepVersionsFor = 24 * time.Hour
	// maxLabels is the quota of staging labels on a secret's versions, all
	// together.
	maxLabels = 20
)

// secretValue is a secret's value as a call gives or reads it.
type secretValue struct {
	data []byte
	// binary says it is SecretBinary rather than SecretString.
	binary bool
}

// versionRequest is what a call that may create a version gives: its
// ClientRequestToken, which is the new version's id, and the value, if it
// gives one.
type versionRequest struct {
	token string
	value secretValue
	given bool
}

// parseVersionRequest checks the ClientRequestToken a call must give, and
// the value it gives in SecretString or SecretBinary, if any; it may not
// give both.
func parseVersionRequest(token, str *string, bin []byte) (versionRequest, error) {
	req := versionRequest{token: awsapi.Deref(token)}
	if req.token == "" {
		return req, invalidRequest(msgTokenRequired)
	}
	switch {
	case str != nil && bin != nil:
		return req, invalidParameter(msgStringAndBinary)
	case bin != nil:
		req.value, req.given = secretValue{data: bin, binary: true}, true
	case str != nil:
		req.value, req.given = secretValue{data: []byte(*str)}, true
	}
	return req, nil
}

// versionID is the VersionId the call's response shows: none when it
// gave no value, and so created no version.
func (req versionRequest) versionID() *string {
	if !req.given {
		return nil
	}
	return awsapi.String(req.token)
}

// sealContext binds a sealed value to its secret, its version and its
// kind.
func sealContext(arn, versionID string, binary bool) string {
	kind := "string"
	if binary {
		kind = "binary"
	}
	return arn + "|" + versionID + "|" + kind
}

// sealValue is the write of a new version's value.
func (s *SecretsManager) sealValue(sec smstate.Secret, versionID string, val secretValue) (store.Op, error) {
	return store.PutJSON(smstate.ValueKey(sec.ID(), versionID), smstate.Value{
		Sealed: s.box.Seal(val.data, sealContext(sec.ARN, versionID, val.binary)),
		Binary: val.binary,
	})
}

// openValue reads and opens the value of one of sec's versions.
func (s *SecretsManager) openValue(ctx context.Context, sec smstate.Secret, versionID string) (secretValue, error) {
	rec, err := store.Get[smstate.Value](ctx, s.store, smstate.ValueKey(sec.ID(), versionID))
	if err != nil {
		return secretValue{}, fmt.Errorf("value of version %s of %s: %w", versionID, sec.ARN, err)
	}
	plain, err := s.box.Open(rec.Value.Sealed, sealContext(sec.ARN, versionID, rec.Value.Binary))
	if err != nil {
		s.log.ErrorContext(ctx, "a secret's value does not open with the data dir's secrets key", "secret", sec.ARN, "version", versionID)
		return secretValue{}, err
	}
	return secretValue{data: plain, binary: rec.Value.Binary}, nil
}

// sameValue reports whether the value of sec's version versionID is val,
// for the calls that repeat a ClientRequestToken.
func (s *SecretsManager) sameValue(ctx context.Context, sec smstate.Secret, versionID string, val secretValue) (bool, error) {
	got, err := s.openValue(ctx, sec, versionID)
	if err != nil {
		return false, err
	}
	return got.binary == val.binary && subtle.ConstantTimeCompare(got.data, val.data) == 1, nil
}

// repeatedToken checks a call that names an existing version with its
// ClientRequestToken: the same value again is the call repeated, which
// changes nothing (errNoChange); another value is refused.
func (s *SecretsManager) repeatedToken(ctx context.Context, sec smstate.Secret, token string, val secretValue) error {
	same, err := s.sameValue(ctx, sec, token, val)
	if err != nil {
		return err
	}
	if !same {
		// UNVERIFIED wording, from another emulator's captures.
		return resourceExists("You can't use ClientRequestToken %s because that value is already in use for a version of secret %s.", token, sec.ARN)
	}
	return errNoChange
}

// addVersion adds the version token with val to sec, with the staging
// labels stages (moved from the versions that had them), and returns the
// writes of its value and of the removal of the versions it outgrows.
func (s *SecretsManager) addVersion(sec *smstate.Secret, token string, val secretValue, stages []string, now time.Time) ([]store.Op, error) {
	sec.Versions = append(sec.Versions, smstate.Version{ID: token, Created: now})
	for _, stage := range stages {
		attach(sec, len(sec.Versions)-1, stage)
	}
	if err := checkLabels(*sec); err != nil {
		return nil, err
	}
	removed, err := prune(sec, now)
	if err != nil {
		return nil, err
	}
	put, err := s.sealValue(*sec, token, val)
	if err != nil {
		return nil, err
	}
	ops := []store.Op{put}
	for _, id := range removed {
		ops = append(ops, store.Delete(smstate.ValueKey(sec.ID(), id)))
	}
	sec.LastChanged = now
	return ops, nil
}

// attach moves the staging label stage to version i: a label is on one
// version at most. Moving AWSCURRENT moves AWSPREVIOUS to the version it
// left.
func attach(sec *smstate.Secret, i int, stage string) {
	from := sec.Holder(stage)
	if from == i {
		return
	}
	if from >= 0 {
		detach(sec, from, stage)
	}
	v := &sec.Versions[i]
	at, _ := slices.BinarySearch(v.Stages, stage)
	v.Stages = slices.Insert(v.Stages, at, stage)
	if stage == stageCurrent && from >= 0 {
		attach(sec, from, stagePrevious)
	}
}

// detach removes the staging label stage from version i.
func detach(sec *smstate.Secret, i int, stage string) {
	v := &sec.Versions[i]
	v.Stages = slices.DeleteFunc(v.Stages, func(s string) bool { return s == stage })
	if len(v.Stages) == 0 {
		v.Stages = nil
	}
}

// checkLabels refuses more staging labels than the quota.
func checkLabels(sec smstate.Secret) error {
	n := 0
	for _, v := range sec.Versions {
		n += len(v.Stages)
	}
	if n > maxLabels {
		// UNVERIFIED wording.
		return limitExceeded("You can't attach more than %d staging labels to the versions of a secret.", maxLabels)
	}
	return nil
}

// prune removes the oldest deprecated versions a secret holds beyond
// maxVersions, and returns their ids; it refuses a version the secret
// cannot make room for.
func prune(sec *smstate.Secret, now time.Time) ([]string, error) {
	excess := len(sec.Versions) - maxVersions
	if excess <= 0 {
		return nil, nil
	}
	var removed []string
	kept := make([]smstate.Version, 0, maxVersions)
	for _, v := range sec.Versions {
		if excess > 0 && len(v.Stages) == 0 && now.Sub(v.Created) >= keepVersionsFor {
			removed = append(removed, v.ID)
			excess--
			continue
		}
		kept = append(kept, v)
	}
	if excess > 0 {
		// UNVERIFIED wording.
		return nil, limitExceeded("You can't create more than %d versions of a secret in a day.", maxVersions)
	}
	sec.Versions = kept
	return removed, nil
}

// pickVersion returns the index of the version a read names by versionID
// or stage (both: they must agree; neither: AWSCURRENT).
func pickVersion(sec smstate.Secret, versionID, stage string) (int, error) {
	if versionID != "" {
		i := sec.Version(versionID)
		if i < 0 {
			return -1, versionNotFound("Secrets Manager can't find the specified secret value for VersionId: %s", versionID)
		}
		if stage != "" && !slices.Contains(sec.Versions[i].Stages, stage) {
			return -1, invalidRequest(msgStageNotOnVersion)
		}
		return i, nil
	}
	if stage == "" {
		stage = stageCurrent
	}
	i := sec.Holder(stage)
	if i < 0 {
		return -1, versionNotFound("Secrets Manager can't find the specified secret value for staging label: %s", stage)
	}
	return i, nil
}

// readValue reads the value of the version of the secret ref names that
// versionID or stage names, and records the access.
func (s *SecretsManager) readValue(ctx context.Context, ref secretRef, versionID, stage string) (smstate.Secret, smstate.Version, secretValue, error) {
	cur, err := s.load(ctx, ref)
	if err != nil {
		return smstate.Secret{}, smstate.Version{}, secretValue{}, err
	}
	sec := cur.Value
	if sec.ScheduledForDeletion() {
		return smstate.Secret{}, smstate.Version{}, secretValue{}, ErrMarkedForDeletion
	}
	i, err := pickVersion(sec, versionID, stage)
	if err != nil {
		return smstate.Secret{}, smstate.Version{}, secretValue{}, err
	}
	v := sec.Versions[i]
	val, err := s.openValue(ctx, sec, v.ID)
	if err != nil {
		return smstate.Secret{}, smstate.Version{}, secretValue{}, err
	}
	s.noteAccess(ctx, sec, v)
	return sec, v, val, nil
}

// noteAccess records that a value of version v was read today, on the
// secret and on the version; it writes at most once a day for each. A
// failure is logged: the read itself succeeded.
func (s *SecretsManager) noteAccess(ctx context.Context, sec smstate.Secret, v smstate.Version) {
	today := day(s.now())
	if sec.LastAccessed.Equal(today) && v.LastAccessed.Equal(today) {
		return
	}
	_, err := store.Update(ctx, s.store, smstate.SecretKey(sec.ID()), func(cur *smstate.Secret, found bool) error {
		i := cur.Version(v.ID)
		if !found || cur.ARN != sec.ARN || i < 0 ||
			(cur.LastAccessed.Equal(today) && cur.Versions[i].LastAccessed.Equal(today)) {
			return store.ErrUnchanged
		}
		cur.LastAccessed, cur.Versions[i].LastAccessed = today, today
		return nil
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		s.log.WarnContext(ctx, "recording a secret's access date failed", "secret", sec.ARN, "err", err)
	}
}
