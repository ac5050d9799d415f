package iam

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/berth/berth/internal/iam/iamstate"
	"github.com/berth/berth/internal/store"
)

// Last use: IAM tells when and where each access key was last used
// (GetAccessKeyLastUsed) and each role (RoleLastUsed). The gateway reports
// every authenticated call (RecordUse); a writer records them in the key's
// or the role's record. A write empties the directory's caches, so each
// key and role is written at most once per lastUseInterval, which is also
// about the delay AWS documents for this information.

// lastUseInterval is how long a recorded last use stands before a newer
// one is written.
const lastUseInterval = time.Hour

// lastUseQueue bounds the uses waiting to be written; when it is full a
// use is dropped (a later one records the key as well).
const lastUseQueue = 1024

type lastUse struct {
	accessKeyID, service, region string
	at                           time.Time
}

// lastUses is the queue of uses and what has been written lately.
type lastUses struct {
	queue   chan lastUse
	mu      sync.Mutex
	written map[string]time.Time // by access key id, and by "role/<name>"
}

func newLastUses() *lastUses {
	return &lastUses{queue: make(chan lastUse, lastUseQueue), written: map[string]time.Time{}}
}

// due reports whether a use of subject at at should be written, and notes
// that it will be.
func (l *lastUses) due(subject string, at time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if last, ok := l.written[subject]; ok && at.Sub(last) < lastUseInterval {
		return false
	}
	if len(l.written) >= dirMaxCached {
		l.written = map[string]time.Time{}
	}
	l.written[subject] = at
	return true
}

// RecordUse notes that accessKeyID signed a call to service in region. It
// never blocks: the gateway calls it on every request.
func (d *Directory) RecordUse(accessKeyID, service, region string) {
	if _, admin := d.admin[accessKeyID]; admin {
		return // the root has no access key record
	}
	at := d.now().UTC()
	d.uses.mu.Lock()
	last, seen := d.uses.written[accessKeyID]
	d.uses.mu.Unlock()
	if seen && at.Sub(last) < lastUseInterval {
		return
	}
	select {
	case d.uses.queue <- lastUse{accessKeyID: accessKeyID, service: service, region: region, at: at}:
	default:
	}
}

// RunLastUse writes the uses RecordUse notes until ctx ends.
func (d *Directory) RunLastUse(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case u := <-d.uses.queue:
			if err := d.writeLastUse(ctx, u); err != nil && ctx.Err() == nil {
				d.log.Warn("iam: recording an access key's last use failed", "access_key_id", u.accessKeyID, "err", err)
			}
		}
	}
}

// writeLastUse records u on the user's access key, or on the role whose
// session signed.
func (d *Directory) writeLastUse(ctx context.Context, u lastUse) error {
	if !d.uses.due(u.accessKeyID, u.at) {
		return nil
	}
	_, err := store.Update(ctx, d.store, iamstate.AccessKeyKey(u.accessKeyID), func(k *iamstate.AccessKey, found bool) error {
		if !found {
			return store.ErrNotFound
		}
		k.LastUsed, k.LastUsedService, k.LastUsedRegion = &u.at, u.service, u.region
		return nil
	})
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	session, _, err := dirGet[iamstate.Session](ctx, d.store, iamstate.SessionKey(u.accessKeyID))
	if err != nil || session == nil || session.RoleName == "" || !d.uses.due("role/"+session.RoleName, u.at) {
		return err
	}
	_, err = store.Update(ctx, d.store, iamstate.RoleKey(session.RoleName), func(r *iamstate.Role, found bool) error {
		// A role deleted, or deleted and made again, since the session
		// began is not the session's.
		if !found || r.ID != session.RoleID {
			return store.ErrNotFound
		}
		r.LastUsed, r.LastUsedRegion = &u.at, u.region
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}
