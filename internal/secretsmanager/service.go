// Package secretsmanager is berth's AWS Secrets Manager API: secrets, their
// versions and staging labels, scheduled deletion and restore, resource
// policies, tags and random passwords; and the lookups other berth code
// makes of a secret (the value an ECS task's secrets name, the resource
// policy that authorizes reading it).
//
// Secrets are records in berth's store (smstate); their values are sealed
// with the data dir's secrets key (secretbox) before they reach it.
// Rotation and replication are not implemented.
package secretsmanager

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/model"
	"github.com/berth/berth/internal/secretbox"
	"github.com/berth/berth/internal/secretsmanager/smstate"
	"github.com/berth/berth/internal/store"
)

// Config wires the Secrets Manager API.
type Config struct {
	// Store holds the secrets' records and sealed values.
	Store store.Store
	// Box seals the values.
	Box *secretbox.Box
	// AccountID names the account in ARNs. Each request works in its own
	// region (awsapi.RequestFrom).
	AccountID string
	// Now is the clock (nil: time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// SecretsManager is the Secrets Manager service: its API, the lookups of
// secrets for the rest of berth, and the sweep that removes secrets whose
// deletion took effect.
type SecretsManager struct {
	store   store.Store
	box     *secretbox.Box
	account string
	now     func() time.Time
	log     *slog.Logger
	errs    *awsapi.ErrorTable
}

// New returns the Secrets Manager service.
func New(cfg Config) *SecretsManager {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	log := cfg.Logger.With("service", "secretsmanager")
	return &SecretsManager{
		store:   cfg.Store,
		box:     cfg.Box,
		account: cfg.AccountID,
		now:     cfg.Now,
		log:     log,
		errs:    newErrorTable(log),
	}
}

// Service returns the API as the gateway serves it. Input that breaks the
// model gets the gateway's ValidationException, which is Secrets
// Manager's own answer (and never repeats a secret value).
func (s *SecretsManager) Service() *awsapi.Service {
	return &awsapi.Service{
		SigningName:  "secretsmanager",
		TargetPrefix: "secretsmanager",
		Protocol:     awsapi.JSON11,
		Model:        model.MustLoad("secretsmanager"),
		Operations:   s.errs.Bind(s.operations()),
		Unsupported:  func(op string) *awsapi.Error { return s.errs.Map(context.Background(), unsupported(op)) },
		Access:       s.access,
	}
}

func (s *SecretsManager) operations() map[string]awsapi.Operation {
	return map[string]awsapi.Operation{
		"CreateSecret":   awsapi.Op(s.createSecret),
		"DescribeSecret": awsapi.Op(s.describeSecret),
		"UpdateSecret":   awsapi.Op(s.updateSecret),
		"DeleteSecret":   awsapi.Op(s.deleteSecret),
		"RestoreSecret":  awsapi.Op(s.restoreSecret),
		"ListSecrets":    awsapi.Op(s.listSecrets),
		"TagResource":    awsapi.Op(s.tagResource),
		"UntagResource":  awsapi.Op(s.untagResource),

		"GetSecretValue":           awsapi.Op(s.getSecretValue),
		"BatchGetSecretValue":      awsapi.Op(s.batchGetSecretValue),
		"PutSecretValue":           awsapi.Op(s.putSecretValue),
		"UpdateSecretVersionStage": awsapi.Op(s.updateSecretVersionStage),
		"ListSecretVersionIds":     awsapi.Op(s.listSecretVersionIds),

		"PutResourcePolicy":      awsapi.Op(s.putResourcePolicy),
		"GetResourcePolicy":      awsapi.Op(s.getResourcePolicy),
		"DeleteResourcePolicy":   awsapi.Op(s.deleteResourcePolicy),
		"ValidateResourcePolicy": awsapi.Op(s.validateResourcePolicy),

		"GetRandomPassword": awsapi.Op(s.getRandomPassword),
	}
}

// region is the request's region.
func region(ctx context.Context) string { return awsapi.RequestFrom(ctx).Region }

// loaded is a secret's record as read, with the revision a write of it is
// guarded by.
type loaded = store.Versioned[smstate.Secret]

// load reads the secret ref names: ErrSecretNotFound if there is none, or
// its deletion took effect, or ref is a complete ARN that another secret
// of the name had.
func (s *SecretsManager) load(ctx context.Context, ref secretRef) (loaded, error) {
	sec, err := store.Get[smstate.Secret](ctx, s.store, smstate.SecretKey(ref.id))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return sec, ErrSecretNotFound
	case err != nil:
		return sec, err
	case sec.Value.Gone(s.now()) || (ref.arn != "" && sec.Value.ARN != ref.arn):
		return sec, ErrSecretNotFound
	}
	return sec, nil
}

// lookup resolves secretID (a name, a complete or a partial ARN) in the
// request's region and reads the secret.
func (s *SecretsManager) lookup(ctx context.Context, secretID *string) (loaded, error) {
	ref, err := s.parseSecretID(region(ctx), awsapi.Deref(secretID))
	if err != nil {
		return loaded{}, err
	}
	return s.load(ctx, ref)
}

// errNoChange ends a change that leaves the secret as it is: nothing is
// written, and the call succeeds.
var errNoChange = errors.New("secretsmanager: no change")

// change applies edit to the secret secretID names and writes the result,
// with the value ops edit returns, in one transaction guarded by the
// record's revision; a lost race reads and edits again. edit returns
// errNoChange, before changing anything, to write nothing. change returns
// the secret as written (or as read, when unchanged).
func (s *SecretsManager) change(ctx context.Context, secretID *string, edit func(sec *smstate.Secret, now time.Time) ([]store.Op, error)) (smstate.Secret, error) {
	ref, err := s.parseSecretID(region(ctx), awsapi.Deref(secretID))
	if err != nil {
		return smstate.Secret{}, err
	}
	var out smstate.Secret
	err = store.Retry(ctx, func() error {
		cur, err := s.load(ctx, ref)
		if err != nil {
			return err
		}
		sec := cur.Value
		ops, err := edit(&sec, s.now())
		if errors.Is(err, errNoChange) {
			out = cur.Value
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.write(ctx, ref.id, sec, cur.ModRevision, ops); err != nil {
			return err
		}
		out = sec
		return nil
	})
	return out, err
}

// changeActive is change for the operations that refuse a secret
// scheduled for deletion: edit sees only a secret that is not.
func (s *SecretsManager) changeActive(ctx context.Context, secretID *string, edit func(sec *smstate.Secret, now time.Time) ([]store.Op, error)) (smstate.Secret, error) {
	return s.change(ctx, secretID, func(sec *smstate.Secret, now time.Time) ([]store.Op, error) {
		if sec.ScheduledForDeletion() {
			return nil, ErrMarkedForDeletion
		}
		return edit(sec, now)
	})
}

// write stores the record of the secret id names, read at revision rev (0
// for none), with ops, the writes of its values, in one transaction that
// fails if the record changed since.
func (s *SecretsManager) write(ctx context.Context, id smstate.SecretID, sec smstate.Secret, rev int64, ops []store.Op) error {
	put, err := store.PutJSON(smstate.SecretKey(id), sec)
	if err != nil {
		return err
	}
	_, err = s.store.Txn(ctx, store.Txn{
		If:   []store.Compare{{Key: smstate.SecretKey(id), ModRevision: rev}},
		Then: append(ops, put),
	})
	return err
}

// day is t's day, as Secrets Manager reports access dates: midnight UTC.
func day(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }
