package iam

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	json "github.com/go-json-experiment/json/v1"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/iam/iamstate"
	"github.com/berth/berth/internal/iam/policy"
	"github.com/berth/berth/internal/secretbox"
	"github.com/berth/berth/internal/store"
)

// DirectoryConfig configures a Directory.
type DirectoryConfig struct {
	// Store holds the IAM records (iamstate).
	Store store.Store
	// Box opens the sealed secret keys of access keys and sessions.
	Box       *secretbox.Box
	AccountID string
	// AdminKeys are berth's admin keys: the account's root user.
	AdminKeys []AccessKey
	// Now is the clock (nil: time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Directory knows who an access key is and whether a caller may do
// something. The gateway asks it on every request (it implements
// gateway.Credentials, SessionCredentials, Callers and Authorizer); ECS
// asks it for the credentials of task roles.
//
// It caches what it reads from the store and compiles: the credential of
// each access key and the policies of each caller. A write through IAM
// must show in the very next request, so a cache is used only once every
// store change up to the store's current revision has been applied to it.
// Run follows the store's changes (all of them, so that it knows how far it
// has got, not only those under iam/), and any change under iam/ empties the
// caches; an answer read after that reflects the change. A request reads
// the store revision (about a microsecond) and, in the rare case that Run
// has not caught up with it yet, waits briefly for it or reads the store
// itself. The alternatives cost more on every request: checking each
// cached record's revision is a store read per policy, and without a
// revision check a watch alone would leave a window after each write.
//
// This relies on berth writing iam/ keys only in transactions that write
// nothing else, so that the first event of a transaction touching iam/
// keys is one of them. Without Run the Directory is correct but caches
// nothing.
type Directory struct {
	store   store.Store
	box     *secretbox.Box
	account string
	admin   map[string]string // admin access key id -> secret
	now     func() time.Time
	log     *slog.Logger

	docs dirDocuments

	// applied is the store revision up to which every change has been
	// applied to the caches; 0 while Run is not following the store, when
	// nothing is cached.
	applied atomic.Int64

	mu sync.RWMutex
	// advanced, when not nil, is closed once applied moves on; requests
	// waiting for Run to catch up wait on it.
	advanced    chan struct{}
	credentials map[string]*dirCredential
	subjects    map[dirSubjectKey]*dirSubject

	// uses are the keys' last uses still to be recorded.
	uses *lastUses
}

const (
	// dirCatchUp bounds how long a request waits for Run to apply the
	// store's latest changes before it reads the store itself.
	dirCatchUp = 50 * time.Millisecond
	// dirMaxCached bounds each cache; a full cache starts again empty, so
	// that callers trying keys at random cannot grow it without end.
	dirMaxCached = 50_000
	// dirMaxDocuments bounds the cache of parsed documents, which callers
	// fill with session policies of up to 2 KB.
	dirMaxDocuments = 10_000
	// dirRewatchDelay is the pause before Run follows the store again
	// after its watch ended.
	dirRewatchDelay = time.Second

	// dirTemporaryKeyPrefix starts the access key ids of sessions.
	dirTemporaryKeyPrefix = "ASIA"
	// dirStatusActive is the status of an access key that may sign.
	dirStatusActive = "Active"
)

// NewDirectory returns a Directory over cfg's store. Call Run to cache.
func NewDirectory(cfg DirectoryConfig) *Directory {
	d := &Directory{
		store:       cfg.Store,
		box:         cfg.Box,
		account:     cfg.AccountID,
		admin:       make(map[string]string, len(cfg.AdminKeys)),
		now:         cfg.Now,
		log:         cfg.Logger,
		credentials: map[string]*dirCredential{},
		subjects:    map[dirSubjectKey]*dirSubject{},
		uses:        newLastUses(),
	}
	if d.now == nil {
		d.now = time.Now
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	for _, k := range cfg.AdminKeys {
		d.admin[k.AccessKeyID] = k.SecretAccessKey
	}
	return d
}

// dirCredential is what an access key id stands for. found is false for
// a key berth does not know (or an inactive one), which is cached too, so
// that a client retrying a stale key costs no store read.
type dirCredential struct {
	found  bool
	secret string
	caller awsapi.Caller
	// session is the record of a temporary key, nil for a long-term one.
	session *iamstate.Session
	// userName is the IAM user of a long-term key or of GetSessionToken
	// credentials.
	userName string
}

// Secret implements gateway.Credentials: the admin keys, the active access
// keys of IAM users and the sessions' temporary keys.
func (d *Directory) Secret(accessKeyID string) (secret, accountID string, ok bool) {
	if secret, ok := d.admin[accessKeyID]; ok {
		return secret, d.account, true
	}
	ctx := context.Background()
	c := d.credential(ctx, accessKeyID, d.fresh(ctx))
	if !c.found {
		return "", "", false
	}
	return c.secret, d.account, true
}

// Session implements gateway.SessionCredentials. It trusts the
// credential cache as Secret, which the gateway asks first for every
// request, last confirmed it: a change made between the two calls is
// concurrent with the request anyway.
func (d *Directory) Session(accessKeyID string) (token string, expires time.Time, ok bool) {
	if _, admin := d.admin[accessKeyID]; admin {
		return "", time.Time{}, false
	}
	c := d.credential(context.Background(), accessKeyID, true)
	if c.session == nil {
		return "", time.Time{}, false
	}
	return c.session.Token, c.session.Expires, true
}

// Caller implements gateway.Callers, and registry.Authorizer's Caller
// for the access key a registry password names. A session that has
// expired is no one's.
func (d *Directory) Caller(accessKeyID string) (awsapi.Caller, bool) {
	if _, admin := d.admin[accessKeyID]; admin {
		return d.rootCaller(), true
	}
	ctx := context.Background()
	c := d.credential(ctx, accessKeyID, d.fresh(ctx))
	if c.session != nil && !d.now().Before(c.session.Expires) {
		return awsapi.Caller{}, false
	}
	return c.caller, c.found
}

func (d *Directory) rootCaller() awsapi.Caller {
	return awsapi.Caller{ARN: "arn:aws:iam::" + d.account + ":root", UserID: d.account, Admin: true}
}

// credential resolves an access key id that is not an admin key, from
// the cache if cached (the caller has made sure it is fresh).
func (d *Directory) credential(ctx context.Context, id string, cached bool) *dirCredential {
	if cached {
		d.mu.RLock()
		c, ok := d.credentials[id]
		d.mu.RUnlock()
		if ok {
			return c
		}
	}
	c, rev, err := d.loadCredential(ctx, id)
	if err != nil {
		d.log.Error("iam: reading a credential failed", "access_key_id", id, "err", err)
		return &dirCredential{}
	}
	d.remember(rev, func() {
		if len(d.credentials) >= dirMaxCached {
			d.credentials = map[string]*dirCredential{}
		}
		d.credentials[id] = c
	})
	return c
}

// loadCredential reads an access key id's records. rev is the oldest
// store revision its reads saw.
func (d *Directory) loadCredential(ctx context.Context, id string) (*dirCredential, int64, error) {
	if strings.HasPrefix(id, dirTemporaryKeyPrefix) {
		return d.loadSession(ctx, id)
	}
	key, rev, err := dirGet[iamstate.AccessKey](ctx, d.store, iamstate.AccessKeyKey(id))
	if err != nil || key == nil || key.Status != dirStatusActive {
		return &dirCredential{}, rev, err
	}
	secret, err := d.box.Open(key.SealedSecret, iamstate.AccessKeyKey(id))
	if err != nil {
		return nil, 0, err
	}
	user, userRev, err := dirGet[iamstate.User](ctx, d.store, iamstate.UserKey(key.UserName))
	if err != nil || user == nil {
		return &dirCredential{}, min(rev, userRev), err
	}
	return &dirCredential{
		found:    true,
		secret:   string(secret),
		caller:   awsapi.Caller{ARN: user.ARN, UserID: user.ID},
		userName: user.Name,
	}, min(rev, userRev), nil
}

func (d *Directory) loadSession(ctx context.Context, id string) (*dirCredential, int64, error) {
	s, rev, err := dirGet[iamstate.Session](ctx, d.store, iamstate.SessionKey(id))
	if err != nil || s == nil {
		return &dirCredential{}, rev, err
	}
	secret, err := d.box.Open(s.SealedSecret, iamstate.SessionKey(id))
	if err != nil {
		return nil, 0, err
	}
	c := &dirCredential{found: true, secret: string(secret), session: s}
	switch {
	case s.RoleARN != "":
		c.caller = awsapi.Caller{ARN: d.sessionARN(s.RoleName, s.SessionName), UserID: s.RoleID + ":" + s.SessionName}
	case s.UserName != "":
		user, userRev, err := dirGet[iamstate.User](ctx, d.store, iamstate.UserKey(s.UserName))
		rev = min(rev, userRev)
		if err != nil || user == nil {
			return &dirCredential{}, rev, err
		}
		c.caller, c.userName = awsapi.Caller{ARN: user.ARN, UserID: user.ID}, user.Name
	case s.Root:
		c.caller = d.rootCaller()
	default:
		return &dirCredential{}, rev, nil
	}
	return c, rev, nil
}

// sessionARN is the ARN of a role session.
func (d *Directory) sessionARN(roleName, sessionName string) string {
	return "arn:aws:sts::" + d.account + ":assumed-role/" + roleName + "/" + sessionName
}

// dirGet reads the record at key: nil when there is none. rev is the
// store revision the read saw, found or not.
func dirGet[T any](ctx context.Context, s store.Store, key string) (*T, int64, error) {
	kv, rev, err := s.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, rev, nil
	}
	if err != nil {
		return nil, 0, err
	}
	v := new(T)
	if err := json.Unmarshal(kv.Value, v); err != nil {
		return nil, 0, fmt.Errorf("iam: decode %s: %w", key, err)
	}
	return v, rev, nil
}

// fresh reports whether the caches may answer: Run has applied every
// store change up to the store's current revision, waiting up to
// dirCatchUp for it.
func (d *Directory) fresh(ctx context.Context) bool {
	if d.applied.Load() == 0 {
		return false
	}
	rev, err := d.store.Revision(ctx)
	if err != nil {
		return false
	}
	if applied := d.applied.Load(); applied == 0 || applied >= rev {
		return applied != 0
	}
	t := time.NewTimer(dirCatchUp)
	defer t.Stop()
	for {
		d.mu.Lock()
		applied := d.applied.Load()
		if applied == 0 || applied >= rev {
			d.mu.Unlock()
			return applied != 0
		}
		if d.advanced == nil {
			d.advanced = make(chan struct{})
		}
		advanced := d.advanced
		d.mu.Unlock()
		select {
		case <-advanced:
		case <-t.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// remember runs add, which stores into a cache, if what it stores was
// read at a revision no older than what Run has applied: a change Run
// applied after the read would otherwise be lost.
func (d *Directory) remember(readRev int64, add func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if applied := d.applied.Load(); applied != 0 && readRev >= applied {
		add()
	}
}

// Run keeps the caches in step with the store until ctx ends: it follows
// every change, and any change under iam/ empties the caches. When its
// watch breaks it stops caching until it follows the store again.
func (d *Directory) Run(ctx context.Context) error {
	for {
		err := d.follow(ctx)
		if ctx.Err() != nil {
			return nil
		}
		d.log.Warn("iam: the directory's cache stopped following the store; it follows it again shortly",
			"err", err, "in", dirRewatchDelay)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(dirRewatchDelay):
		}
	}
}

var errDirWatchClosed = errors.New("watch closed")

func (d *Directory) follow(ctx context.Context) error {
	rev, err := d.store.Revision(ctx)
	if err != nil {
		return err
	}
	events, err := d.store.Watch(ctx, "", rev)
	if err != nil {
		return err
	}
	d.reset(rev)
	defer d.reset(0)
	for ev := range events {
		d.apply(ev)
	}
	return errDirWatchClosed
}

// reset empties the caches and sets the revision applied.
func (d *Directory) reset(applied int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.credentials = map[string]*dirCredential{}
	d.subjects = map[dirSubjectKey]*dirSubject{}
	d.advance(applied)
}

// apply takes one store change into account.
func (d *Directory) apply(ev store.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if strings.HasPrefix(ev.KV.Key, iamstate.Prefix) {
		d.credentials = map[string]*dirCredential{}
		d.subjects = map[dirSubjectKey]*dirSubject{}
	}
	if ev.KV.ModRevision > d.applied.Load() {
		d.advance(ev.KV.ModRevision)
	}
}

// advance sets applied and wakes the requests waiting for it; d.mu is
// held.
func (d *Directory) advance(applied int64) {
	d.applied.Store(applied)
	if d.advanced != nil {
		close(d.advanced)
		d.advanced = nil
	}
}

// dirDocuments caches parsed policy documents by kind and text: a
// document's text decides what it parses to, so entries never go stale.
type dirDocuments struct {
	mu     sync.RWMutex
	parsed map[dirDocKey]dirParsed
}

type dirDocKey struct {
	kind policy.Kind
	text string
}

type dirParsed struct {
	policy *policy.Policy
	err    error
}

func (c *dirDocuments) parse(text string, kind policy.Kind) (*policy.Policy, error) {
	key := dirDocKey{kind, text}
	c.mu.RLock()
	p, ok := c.parsed[key]
	c.mu.RUnlock()
	if ok {
		return p.policy, p.err
	}
	p.policy, p.err = policy.Parse(text, kind)
	c.mu.Lock()
	if c.parsed == nil || len(c.parsed) >= dirMaxDocuments {
		c.parsed = map[dirDocKey]dirParsed{}
	}
	c.parsed[key] = p
	c.mu.Unlock()
	return p.policy, p.err
}
