package secretsmanager

import (
	"context"
	"errors"
	"time"

	"github.com/berth/berth/internal/secretsmanager/smstate"
	"github.com/berth/berth/internal/store"
)

// DefaultDeletionSweepInterval is how often the deletion sweep runs unless
// told otherwise. Reads treat a secret whose recovery window has passed as
// gone at once; the sweep only frees its records.
const DefaultDeletionSweepInterval = 15 * time.Minute

// RunDeletionSweep removes, every interval (0: DefaultDeletionSweepInterval)
// until ctx ends, the secrets of every region whose recovery window has
// passed, with their values.
func (s *SecretsManager) RunDeletionSweep(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = DefaultDeletionSweepInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := s.sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("secret deletion sweep failed; it runs again", "err", err, "in", interval)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// sweep removes every secret whose deletion took effect. A secret changed
// since it was listed is left to the next sweep.
func (s *SecretsManager) sweep(ctx context.Context) error {
	secrets, _, err := store.List[smstate.Secret](ctx, s.store, smstate.SecretPrefix, store.ListOptions{})
	if err != nil {
		return err
	}
	now := s.now()
	for _, sec := range secrets {
		if !sec.Value.Gone(now) {
			continue
		}
		ops, err := s.purgeOps(ctx, sec.Value)
		if err != nil {
			return err
		}
		_, err = s.store.Txn(ctx, store.Txn{
			If:   []store.Compare{{Key: smstate.SecretKey(sec.Value.ID()), ModRevision: sec.ModRevision}},
			Then: ops,
		})
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return nil
}
