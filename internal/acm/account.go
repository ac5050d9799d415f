package acm

import (
	"context"
	"errors"

	"github.com/berth/berth/internal/acm/acmstate"
	"github.com/berth/berth/internal/acm/acmtypes"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/store"
)

// The range of DaysBeforeExpiry, and ACM's default. berth keeps the
// setting (it sends no expiry events).
const (
	defaultDaysBeforeExpiry = 45
	maxDaysBeforeExpiry     = 45
)

func (a *ACM) getAccountConfiguration(ctx context.Context, _ *struct{}) (*acmtypes.GetAccountConfigurationResponse, error) {
	acct, err := store.Get[acmstate.Account](ctx, a.store, acmstate.AccountKey(region(ctx)))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	days := acct.Value.DaysBeforeExpiry
	if days == 0 {
		days = defaultDaysBeforeExpiry
	}
	return &acmtypes.GetAccountConfigurationResponse{ExpiryEvents: &acmtypes.ExpiryEventsConfiguration{DaysBeforeExpiry: awsapi.Int32(days)}}, nil
}

// putAccountConfiguration sets the configuration; the same idempotency
// token within the hour repeats the first call's result instead.
func (a *ACM) putAccountConfiguration(ctx context.Context, in *acmtypes.PutAccountConfigurationRequest) (*struct{}, error) {
	var days int32
	if in.ExpiryEvents != nil && in.ExpiryEvents.DaysBeforeExpiry != nil {
		if days = *in.ExpiryEvents.DaysBeforeExpiry; days > maxDaysBeforeExpiry {
			// UNVERIFIED wording.
			return nil, validation("DaysBeforeExpiry must be between 1 and %d.", maxDaysBeforeExpiry)
		}
	}
	token := awsapi.Deref(in.IdempotencyToken)
	_, err := store.Update(ctx, a.store, acmstate.AccountKey(region(ctx)), func(acct *acmstate.Account, _ bool) error {
		now := a.now()
		if acct.Token == token && now.Before(acct.TokenExpires) {
			return store.ErrUnchanged
		}
		if days != 0 {
			acct.DaysBeforeExpiry = days
		}
		acct.Token, acct.TokenExpires = token, now.Add(tokenLifetime)
		return nil
	})
	return nil, err
}
