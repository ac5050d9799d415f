package iam

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/iam/iamstate"
	"github.com/berth/berth/internal/iam/managed"
	"github.com/berth/berth/internal/iam/policy"
)

// dirSubject is a caller as policies see it, compiled once: who it is,
// every policy that applies to it, and the condition keys that are the
// same for all its requests.
type dirSubject struct {
	principal policy.Principal
	set       policy.Set
	context   map[string][]string
	// limited marks GetSessionToken credentials, which may call neither
	// IAM nor STS (but for AssumeRole and GetCallerIdentity).
	limited bool
	// session is the record of a role session, nil for anyone else.
	session *iamstate.Session
	// moment is the latest requestContext.
	moment atomic.Pointer[dirMoment]
	// testsResourceTags: a policy of the subject's tests a resource's
	// tags, so its decisions need them read (awsapi.Access.ResourceTags).
	testsResourceTags bool
}

// resourceTagKey is what the condition keys on a resource's tags contain:
// aws:ResourceTag/<key>, and the services' own (ecs:ResourceTag/<key>).
const resourceTagKey = "ResourceTag/"

// testsResourceTags reports whether any policy of sources tests a
// resource's tags.
func testsResourceTags(sources ...[]policy.Source) bool {
	for _, list := range sources {
		for _, src := range list {
			if src.Policy.ReferencesKey(resourceTagKey) {
				return true
			}
		}
	}
	return false
}

// dirSubjectKey names a cached subject: by the access key that signed,
// or by the caller's ARN when no key is known.
type dirSubjectKey struct {
	accessKeyID string
	arn         string
}

// Authorize implements gateway.Authorizer: each access is decided by the
// caller's policies (and the resource's own policy, if it has one). The
// caller is identified by the request's access key when that is the
// caller's (awsapi.RequestFrom), which brings a session's own policies,
// tags and condition keys; otherwise by its ARN: a user, or a role without
// a session's own policies.
func (d *Directory) Authorize(ctx context.Context, caller awsapi.Caller, accesses []awsapi.Access) error {
	if caller.Admin || len(accesses) == 0 {
		return nil
	}
	info := awsapi.RequestFrom(ctx)
	subject, err := d.subject(ctx, caller, info.AccessKeyID)
	if err != nil {
		return err
	}
	conditions := d.requestContext(subject, info.Region)
	for _, access := range accesses {
		if subject.limited {
			if err := dirLimitedRefusal(access.Action); err != nil {
				return err
			}
		}
		req := policy.Request{Principal: subject.principal, Action: access.Action, Resource: access.Resource,
			Context: conditions, Extra: access.Context}
		set := subject.set
		if access.ResourcePolicy != "" {
			p, err := d.docs.parse(access.ResourcePolicy, policy.Resource)
			if err != nil {
				return fmt.Errorf("iam: the resource policy of %s: %w", access.Resource, err)
			}
			set.Resource = []policy.Source{{Name: "resource policy", Policy: p}}
		}
		// A resource's tags cost a read: only a policy that tests them
		// needs them.
		if access.ResourceTags != nil && (subject.testsResourceTags || testsResourceTags(set.Resource)) {
			tags, err := access.ResourceTags(ctx)
			if err != nil {
				return err
			}
			req.Extra = maps.Clone(access.Context)
			if req.Extra == nil {
				req.Extra = map[string][]string{}
			}
			maps.Copy(req.Extra, tags)
		}
		if decision := policy.Evaluate(req, set); decision.Effect != policy.Allowed {
			return &awsapi.AccessDenied{Message: decision.Message(caller.ARN, req)}
		}
	}
	return nil
}

// dirLimitedRefusal is the answer to GetSessionToken credentials used
// for IAM or STS: IAM does not know them without MFA, which berth does not
// have, and STS serves them only AssumeRole and GetCallerIdentity (which
// ask for no permission).
func dirLimitedRefusal(action string) error {
	service, operation, _ := strings.Cut(action, ":")
	switch strings.ToLower(service) {
	case "iam":
		return &awsapi.Error{Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid.", Status: 403}
	case "sts":
		// AWS's words for GetSessionToken and GetFederationToken;
		// UNVERIFIED for the other operations.
		return &awsapi.AccessDenied{Message: "Cannot call " + operation + " with session credentials"}
	}
	return nil
}

// requestContext is the subject's condition keys with those of the moment
// and the request's region. It is built once a second for each subject
// and region; the decisions only read it.
func (d *Directory) requestContext(s *dirSubject, region string) map[string][]string {
	now := d.now()
	second := now.Unix()
	if m := s.moment.Load(); m != nil && m.second == second && m.region == region {
		return m.context
	}
	c := make(map[string][]string, len(s.context)+4)
	maps.Copy(c, s.context)
	dirMomentContext(c, now)
	// berth serves plain HTTP.
	c["aws:SecureTransport"] = []string{"false"}
	if region != "" {
		c["aws:RequestedRegion"] = []string{region}
	}
	s.moment.Store(&dirMoment{second: second, region: region, context: c})
	return c
}

// dirMoment is a subject's condition keys for one second and region.
type dirMoment struct {
	second  int64
	region  string
	context map[string][]string
}

// subject returns the compiled caller, from the cache when Run is up to
// date.
func (d *Directory) subject(ctx context.Context, caller awsapi.Caller, accessKeyID string) (*dirSubject, error) {
	fresh := d.fresh(ctx)
	var credential *dirCredential
	if accessKeyID != "" {
		credential = d.credential(ctx, accessKeyID, fresh)
		if !credential.found || credential.caller.ARN != caller.ARN {
			credential = nil
		}
	}
	cacheKey := dirSubjectKey{arn: caller.ARN}
	if credential != nil {
		cacheKey = dirSubjectKey{accessKeyID: accessKeyID}
	}
	if fresh {
		d.mu.RLock()
		s, ok := d.subjects[cacheKey]
		d.mu.RUnlock()
		if ok {
			return s, nil
		}
	}
	s, rev, err := d.loadSubject(ctx, caller.ARN, credential)
	if err != nil {
		return nil, err
	}
	d.remember(rev, func() {
		if len(d.subjects) >= dirMaxCached {
			d.subjects = map[dirSubjectKey]*dirSubject{}
		}
		d.subjects[cacheKey] = s
	})
	return s, nil
}

// loadSubject compiles a caller from its credential, or from its ARN
// when there is none. A caller berth does not know (a deleted user, say)
// gets a subject with no policies, which allows nothing.
func (d *Directory) loadSubject(ctx context.Context, arn string, credential *dirCredential) (*dirSubject, int64, error) {
	l := &dirLoader{d: d, ctx: ctx, rev: 1<<63 - 1}
	var s *dirSubject
	switch {
	case credential != nil && credential.session != nil && credential.session.RoleARN != "":
		s = l.roleSession(arn, credential.session)
	case credential != nil:
		s = l.user(credential.userName)
		s.limited = credential.session != nil
		if credential.session != nil {
			s.context["aws:TokenIssueTime"] = []string{credential.session.Created.UTC().Format(dirTimeFormat)}
		}
	default:
		s = l.byARN(arn)
	}
	if l.err != nil {
		return nil, 0, l.err
	}
	if s.principal.ARN == "" {
		s.principal.ARN = arn
	}
	s.testsResourceTags = testsResourceTags(s.set.Identity, s.set.Boundary, s.set.Session)
	return s, l.rev, nil
}

// dirLoader reads and compiles the records a subject is made of,
// keeping the first error and the oldest revision read at.
type dirLoader struct {
	d   *Directory
	ctx context.Context
	rev int64
	err error
}

func dirLoad[T any](l *dirLoader, key string) *T {
	if l.err != nil {
		return nil
	}
	v, rev, err := dirGet[T](l.ctx, l.d.store, key)
	l.rev = min(l.rev, rev)
	l.err = err
	return v
}

// byARN compiles a user or a role session named by its ARN.
func (l *dirLoader) byARN(arn string) *dirSubject {
	resource, ok := strings.CutPrefix(arn, "arn:aws:iam::"+l.d.account+":user/")
	if ok {
		// The name decides; the path must be the user's too.
		if s := l.user(resource[strings.LastIndexByte(resource, '/')+1:]); s.principal.ARN == arn {
			return s
		}
		return l.nobody(arn)
	}
	resource, ok = strings.CutPrefix(arn, "arn:aws:sts::"+l.d.account+":assumed-role/")
	roleName, sessionName, _ := strings.Cut(resource, "/")
	if !ok || sessionName == "" {
		return l.nobody(arn)
	}
	role := dirLoad[iamstate.Role](l, iamstate.RoleKey(roleName))
	if role == nil {
		return l.nobody(arn)
	}
	return l.roleSession(arn, &iamstate.Session{RoleName: role.Name, RoleARN: role.ARN, RoleID: role.ID, SessionName: sessionName})
}

// nobody is a caller no record describes.
func (l *dirLoader) nobody(arn string) *dirSubject {
	return &dirSubject{principal: policy.Principal{ARN: arn, Account: l.d.account}, context: map[string][]string{}}
}

func (l *dirLoader) user(name string) *dirSubject {
	user := dirLoad[iamstate.User](l, iamstate.UserKey(name))
	if user == nil {
		return l.nobody("")
	}
	s := &dirSubject{
		principal: policy.Principal{ARN: user.ARN, Account: l.d.account},
		context:   l.principalContext(user.ARN, "User", user.ID, user.Tags, nil),
	}
	s.context["aws:username"] = []string{user.Name}
	s.set.Identity = l.policies(user.ARN, &user.Policies)
	for _, name := range user.Groups {
		if g := dirLoad[iamstate.Group](l, iamstate.GroupKey(name)); g != nil {
			s.set.Identity = append(s.set.Identity, l.policies(g.ARN, &g.Policies)...)
		}
	}
	s.set.Boundary = l.boundary(user.Boundary)
	return s
}

// roleSession compiles a session of a role: the role's policies and
// boundary, the session policies, and the session's tags over the
// role's. A role deleted since (or deleted and created again, which gives
// it a new id) grants the session nothing.
func (l *dirLoader) roleSession(arn string, session *iamstate.Session) *dirSubject {
	s := &dirSubject{
		principal: policy.Principal{ARN: arn, Account: l.d.account, RoleARN: session.RoleARN},
		session:   session,
	}
	role := dirLoad[iamstate.Role](l, iamstate.RoleKey(session.RoleName))
	var roleTags []iamstate.Tag
	if role != nil && role.ID == session.RoleID {
		roleTags = role.Tags
		s.set.Identity = l.policies(role.ARN, &role.Policies)
		s.set.Boundary = l.boundary(role.Boundary)
	}
	s.context = l.principalContext(session.RoleARN, "AssumedRole", session.RoleID+":"+session.SessionName, roleTags, session.Tags)
	if session.Policy != "" || len(session.PolicyARNs) > 0 {
		s.set.Session = []policy.Source{}
		if session.Policy != "" {
			s.set.Session = append(s.set.Session, l.source("session policy", session.Policy))
		}
		for _, arn := range session.PolicyARNs {
			if src, ok := l.managed(arn); ok {
				s.set.Session = append(s.set.Session, src)
			}
		}
	}
	if !session.Created.IsZero() {
		s.context["aws:TokenIssueTime"] = []string{session.Created.UTC().Format(dirTimeFormat)}
	}
	if session.SourceIdentity != "" {
		s.context["aws:SourceIdentity"] = []string{session.SourceIdentity}
	}
	for k, v := range session.Context {
		s.context[k] = []string{v}
	}
	return s
}

// principalContext is the condition keys that describe the principal.
// Session tags override the principal's tags of the same key, whatever
// its case.
func (l *dirLoader) principalContext(principalARN, principalType, userID string, tags, sessionTags []iamstate.Tag) map[string][]string {
	c := map[string][]string{
		"aws:PrincipalArn":          {principalARN},
		"aws:PrincipalAccount":      {l.d.account},
		"aws:PrincipalType":         {principalType},
		"aws:userid":                {userID},
		"aws:PrincipalIsAWSService": {"false"},
	}
	byKey := map[string]iamstate.Tag{}
	for _, t := range append(append([]iamstate.Tag{}, tags...), sessionTags...) {
		byKey[strings.ToLower(t.Key)] = t
	}
	for _, t := range byKey {
		c["aws:PrincipalTag/"+t.Key] = []string{t.Value}
	}
	return c
}

// policies are an identity's inline and attached policies.
func (l *dirLoader) policies(entityARN string, p *iamstate.Policies) []policy.Source {
	var sources []policy.Source
	for _, name := range slices.Sorted(maps.Keys(p.Inline)) {
		sources = append(sources, l.source(entityARN+" inline policy "+name, p.Inline[name]))
	}
	for _, arn := range p.Attached {
		if src, ok := l.managed(arn); ok {
			sources = append(sources, src)
		}
	}
	return sources
}

// boundary is a permissions boundary's policy, nil for none.
func (l *dirLoader) boundary(arn string) []policy.Source {
	if arn == "" {
		return nil
	}
	src, ok := l.managed(arn)
	if !ok {
		// A boundary that no longer exists allows nothing.
		return []policy.Source{}
	}
	return []policy.Source{src}
}

// managed is a managed policy's default version, AWS's or the
// account's; ok is false for one that does not exist.
func (l *dirLoader) managed(arn string) (policy.Source, bool) {
	if p, ok := managed.Lookup(arn); ok {
		return l.source(arn, p.Document), true
	}
	name, ok := strings.CutPrefix(arn, "arn:aws:iam::"+l.d.account+":policy/")
	if !ok {
		return policy.Source{}, false
	}
	record := dirLoad[iamstate.ManagedPolicy](l, iamstate.PolicyKey(name[strings.LastIndexByte(name, '/')+1:]))
	if record == nil || record.ARN != arn {
		return policy.Source{}, false
	}
	for _, v := range record.Versions {
		if v.ID == record.DefaultVersion {
			return l.source(arn, v.Document), true
		}
	}
	return policy.Source{}, false
}

// source parses an identity-based policy document. The documents were
// validated when they were stored, so one that does not parse is berth's
// failure, and fails the decision rather than be left out of it.
func (l *dirLoader) source(name, doc string) policy.Source {
	p, err := l.d.docs.parse(doc, policy.Identity)
	if err != nil && l.err == nil {
		l.err = fmt.Errorf("iam: %s: %w", name, err)
	}
	return policy.Source{Name: name, Policy: p}
}
