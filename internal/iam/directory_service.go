package iam

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/iam/iamstate"
	"github.com/berth/berth/internal/iam/policy"
	"github.com/berth/berth/internal/secretfile"
	"github.com/berth/berth/internal/store"
)

// Errors of CheckServiceRole and IssueServiceSession, wrapped with the
// role's ARN.
var (
	// ErrServiceRoleNotFound: the account has no role of that ARN.
	ErrServiceRoleNotFound = errors.New("the role does not exist")
	// ErrServiceRoleNotTrusted: the role's trust policy does not let the
	// service assume it.
	ErrServiceRoleNotTrusted = errors.New("the role does not trust the service")
)

// ServiceSessionRequest asks for a role's temporary credentials on behalf
// of a service: the credentials of a task's task or execution role.
type ServiceSessionRequest struct {
	RoleARN string
	// Service is the service principal that assumes the role
	// ("ecs-tasks.amazonaws.com").
	Service     string
	SessionName string
	// Context holds condition keys fixed for the session's calls, also
	// seen by the trust policy: aws:SourceArn (the task's ARN),
	// aws:SourceAccount.
	Context map[string]string
	// Duration is the credentials' lifetime; 0 means
	// DefaultServiceSessionDuration.
	Duration time.Duration
	// Unchecked issues the session without reading the role, for any
	// role ARN of the account: with IAM not enforced, a task definition
	// naming a role that does not exist still runs, and its calls (made
	// with no policies) are let through by the missing authorizer.
	Unchecked bool
}

// DefaultServiceSessionDuration is the lifetime of a service session's
// credentials when the request names none. The holder (the agent serving
// a task's credentials endpoint) asks for new ones before they expire.
const DefaultServiceSessionDuration = 6 * time.Hour

// Credentials are a session's temporary credentials.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
	RoleARN         string
}

// CheckServiceRole reports whether the account has the role and its trust
// policy lets servicePrincipal assume it (sts:AssumeRole) for sourceARN,
// with ErrServiceRoleNotFound or ErrServiceRoleNotTrusted. The trust
// policy sees aws:SourceAccount, and aws:SourceArn when sourceARN is not
// empty: before a task exists, ECS checks its roles for the tasks to come
// (arn:aws:ecs:<region>:<account>:task/<cluster>/*), which the confused
// deputy guard AWS recommends (ArnLike on the account's ECS ARNs) admits.
func (d *Directory) CheckServiceRole(ctx context.Context, roleARN, servicePrincipal, sourceARN string) error {
	var conditions map[string]string
	if sourceARN != "" {
		conditions = map[string]string{"aws:SourceArn": sourceARN}
	}
	_, err := d.trustedRole(ctx, roleARN, servicePrincipal, conditions)
	return err
}

// IssueServiceSession issues temporary credentials of a role to a service,
// once the role's trust policy allows it, and returns them with the
// session as a caller.
func (d *Directory) IssueServiceSession(ctx context.Context, req ServiceSessionRequest) (Credentials, awsapi.Caller, error) {
	if !dirSessionName.MatchString(req.SessionName) {
		return Credentials{}, awsapi.Caller{}, fmt.Errorf("iam: %q cannot name a role session", req.SessionName)
	}
	var role *iamstate.Role
	var err error
	if req.Unchecked {
		role, err = d.uncheckedRole(req.RoleARN)
	} else {
		role, err = d.trustedRole(ctx, req.RoleARN, req.Service, req.Context)
	}
	if err != nil {
		return Credentials{}, awsapi.Caller{}, err
	}
	duration := req.Duration
	if duration <= 0 {
		duration = DefaultServiceSessionDuration
	}
	now := d.now().UTC().Truncate(time.Second)
	s := &iamstate.Session{
		Created:     now,
		Expires:     now.Add(duration),
		RoleName:    role.Name,
		RoleARN:     role.ARN,
		RoleID:      role.ID,
		SessionName: req.SessionName,
		Context:     maps.Clone(req.Context),
	}
	secret, err := d.createSession(ctx, s)
	if err != nil {
		return Credentials{}, awsapi.Caller{}, err
	}
	return Credentials{AccessKeyID: s.AccessKeyID, SecretAccessKey: secret, SessionToken: s.Token, Expiration: s.Expires, RoleARN: role.ARN},
		awsapi.Caller{ARN: d.sessionARN(role.Name, s.SessionName), UserID: role.ID + ":" + s.SessionName},
		nil
}

// dirSessionName is what names a role session, as AssumeRole's
// RoleSessionName.
var dirSessionName = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

// trustedRole reads the role named by roleARN and checks that its trust
// policy lets service assume it, given the request's condition keys.
func (d *Directory) trustedRole(ctx context.Context, roleARN, service string, conditions map[string]string) (*iamstate.Role, error) {
	role, err := d.roleByARN(ctx, roleARN)
	if err != nil {
		return nil, err
	}
	if role == nil {
		return nil, fmt.Errorf("%w: %s", ErrServiceRoleNotFound, roleARN)
	}
	trust, err := d.docs.parse(role.AssumeRolePolicy, policy.Trust)
	if err != nil {
		return nil, fmt.Errorf("iam: the trust policy of %s: %w", role.ARN, err)
	}
	c := dirMomentContext(map[string][]string{
		"aws:SourceAccount":        {d.account},
		"aws:PrincipalServiceName": {service},
	}, d.now())
	for k, v := range conditions {
		c[k] = []string{v}
	}
	req := policy.Request{Principal: policy.Principal{Service: service}, Action: "sts:AssumeRole", Resource: role.ARN, Context: c}
	set := policy.Set{Resource: []policy.Source{{Name: "role trust policy", Policy: trust}}}
	if policy.Evaluate(req, set).Effect != policy.Allowed {
		return nil, fmt.Errorf("%w: %s does not let %s assume it", ErrServiceRoleNotTrusted, roleARN, service)
	}
	return role, nil
}

// uncheckedRole is the role an ARN names as far as the ARN tells: its
// name, and an id derived from the ARN (an existing role's real id would
// need a read, and would change nothing without enforcement).
func (d *Directory) uncheckedRole(roleARN string) (*iamstate.Role, error) {
	resource, ok := strings.CutPrefix(roleARN, "arn:aws:iam::"+d.account+":role/")
	name := resource[strings.LastIndexByte(resource, '/')+1:]
	if !ok || name == "" {
		return nil, fmt.Errorf("%w: %s", ErrServiceRoleNotFound, roleARN)
	}
	sum := sha256.Sum256([]byte(roleARN))
	id := "AROA" + strings.ToUpper(base32.StdEncoding.EncodeToString(sum[:]))[:17]
	return &iamstate.Role{Name: name, ARN: roleARN, ID: id}, nil
}

// dirMomentContext adds the condition keys of the time now to c.
func dirMomentContext(c map[string][]string, now time.Time) map[string][]string {
	now = now.UTC()
	c["aws:CurrentTime"] = []string{now.Format(dirTimeFormat)}
	c["aws:EpochTime"] = []string{strconv.FormatInt(now.Unix(), 10)}
	return c
}

// dirTimeFormat is how condition keys of time (aws:CurrentTime,
// aws:TokenIssueTime) are written.
const dirTimeFormat = "2006-01-02T15:04:05Z"

// roleByARN reads the account's role whose ARN is arn; nil when there is
// none (a role of that name under another path is not it).
func (d *Directory) roleByARN(ctx context.Context, arn string) (*iamstate.Role, error) {
	resource, ok := strings.CutPrefix(arn, "arn:aws:iam::"+d.account+":role/")
	if !ok {
		return nil, nil
	}
	role, _, err := dirGet[iamstate.Role](ctx, d.store, iamstate.RoleKey(resource[strings.LastIndexByte(resource, '/')+1:]))
	if err != nil || role == nil || role.ARN != arn {
		return nil, err
	}
	return role, nil
}

// createSession gives s a new access key id, secret and token, and stores
// it; it returns the secret.
func (d *Directory) createSession(ctx context.Context, s *iamstate.Session) (string, error) {
	secret := randomString(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
	err := store.Retry(ctx, func() error {
		s.AccessKeyID = dirTemporaryKeyPrefix + randomString(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
		s.Token = base64.StdEncoding.EncodeToString(secretfile.RandomBytes(dirSessionTokenBytes))
		s.SealedSecret = d.box.Seal([]byte(secret), iamstate.SessionKey(s.AccessKeyID))
		op, err := store.PutJSON(iamstate.SessionKey(s.AccessKeyID), s)
		if err != nil {
			return err
		}
		// The key must be new: an id drawn twice conflicts and is drawn
		// again.
		_, err = d.store.Txn(ctx, store.Txn{If: []store.Compare{{Key: op.Key}}, Then: []store.Op{op}})
		return err
	})
	return secret, err
}

// dirSessionTokenBytes is the random content of a session token; AWS's
// tokens are several hundred characters long, and clients store them as
// opaque text.
const dirSessionTokenBytes = 264

// Expired sessions are kept a while, so that their holders are told
// their token expired (and fetch new credentials) rather than that it is
// invalid.
const (
	dirExpiredSessionKept = time.Hour
	// DefaultSessionSweepInterval is how often RunSessionSweep looks for
	// expired sessions when it is given no interval.
	DefaultSessionSweepInterval = 10 * time.Minute
)

// RunSessionSweep removes sessions expired for an hour, every interval,
// until ctx ends.
func (d *Directory) RunSessionSweep(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = DefaultSessionSweepInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := d.sweepSessions(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn("iam: the sweep of expired sessions failed; it runs again", "err", err, "in", interval)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (d *Directory) sweepSessions(ctx context.Context) error {
	sessions, _, err := store.List[iamstate.Session](ctx, d.store, iamstate.SessionPrefix, store.ListOptions{})
	if err != nil {
		return err
	}
	cutoff := d.now().Add(-dirExpiredSessionKept)
	for _, s := range sessions {
		if !s.Value.Expires.Before(cutoff) {
			continue
		}
		key := iamstate.SessionKey(s.Value.AccessKeyID)
		_, err := d.store.Txn(ctx, store.Txn{If: []store.Compare{{Key: key, ModRevision: s.ModRevision}}, Then: []store.Op{store.Delete(key)}})
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return nil
}
