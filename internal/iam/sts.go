package iam

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/model"
	"github.com/berth/berth/internal/iam/iamstate"
	"github.com/berth/berth/internal/iam/policy"
	"github.com/berth/berth/internal/iam/ststypes"
)

// stsService is the AWS Security Token Service API over a Directory:
// who is calling, role sessions (AssumeRole) and an IAM user's or the
// root's own temporary credentials (GetSessionToken).
type stsService struct {
	dir *Directory
}

// NewSTSService returns the STS API as the gateway serves it. Federation
// (AssumeRoleWithSAML, AssumeRoleWithWebIdentity, GetFederationToken) and
// DecodeAuthorizationMessage answer that berth does not support them.
func NewSTSService(d *Directory) *awsapi.Service {
	s := &stsService{dir: d}
	errs := newSTSErrorTable(d.log.With("service", "sts"))
	return &awsapi.Service{
		SigningName: "sts",
		Protocol:    awsapi.Query,
		Model:       model.MustLoad("sts"),
		Operations: errs.Bind(map[string]awsapi.Operation{
			"GetCallerIdentity": awsapi.Op(s.getCallerIdentity),
			"AssumeRole":        awsapi.Op(s.assumeRole),
			"GetSessionToken":   awsapi.Op(s.getSessionToken),
			"GetAccessKeyInfo":  awsapi.Op(s.getAccessKeyInfo),
		}),
		ValidationError: stsValidationError,
		Unsupported:     stsUnsupported,
		Access:          stsAccess,
	}
}

// stsAccess: GetCallerIdentity and GetSessionToken need no permission, and
// AssumeRole is decided by its handler, which reads the role's trust
// policy; the other operations need sts:<operation>.
func stsAccess(_ context.Context, operation string, _ any) ([]awsapi.Access, error) {
	switch operation {
	case "GetCallerIdentity", "GetSessionToken", "AssumeRole":
		return []awsapi.Access{}, nil
	}
	return nil, nil
}

func (s *stsService) getCallerIdentity(ctx context.Context, _ *ststypes.GetCallerIdentityRequest) (*ststypes.GetCallerIdentityResponse, error) {
	info := awsapi.RequestFrom(ctx)
	return &ststypes.GetCallerIdentityResponse{
		Account: awsapi.String(info.AccountID),
		Arn:     awsapi.String(info.Caller.ARN),
		UserId:  awsapi.String(info.Caller.UserID),
	}, nil
}

// getAccessKeyInfo answers the account for any key: berth serves one
// account, and AWS too answers without checking that the key exists.
func (s *stsService) getAccessKeyInfo(context.Context, *ststypes.GetAccessKeyInfoRequest) (*ststypes.GetAccessKeyInfoResponse, error) {
	return &ststypes.GetAccessKeyInfoResponse{Account: awsapi.String(s.dir.account)}, nil
}

// Session durations, in seconds.
const (
	stsDefaultRoleDuration = 3600
	// stsChainedMaxDuration caps a session assumed with a role session's
	// credentials.
	stsChainedMaxDuration = 3600
	// An IAM user's GetSessionToken credentials last 12 hours unless asked
	// otherwise; the root's at most an hour.
	stsDefaultUserDuration = 43200
	stsRootMaxDuration     = 3600
)

// stsPackedLimit is the room, in bytes, for a session's policies and
// tags once packed. UNVERIFIED: AWS's packing is not documented; berth
// counts the session policy without its white space, the policy ARNs and
// the tags' keys and values.
const stsPackedLimit = 2048

func (s *stsService) assumeRole(ctx context.Context, in *ststypes.AssumeRoleRequest) (*ststypes.AssumeRoleResponse, error) {
	d := s.dir
	info := awsapi.RequestFrom(ctx)
	roleARN, sessionName := awsapi.Deref(in.RoleArn), awsapi.Deref(in.RoleSessionName)
	if info.Caller.Admin {
		return nil, &awsapi.AccessDenied{Message: "Roles may not be assumed by root accounts."}
	}
	if !stsIsARN(roleARN) {
		return nil, stsInvalid("%s is invalid", roleARN) // UNVERIFIED
	}
	caller, err := d.subject(ctx, info.Caller, info.AccessKeyID)
	if err != nil {
		return nil, err
	}
	tags, transitive, err := stsSessionTags(in, caller.session)
	if err != nil {
		return nil, err
	}
	sessionPolicy := stsCompact(awsapi.Deref(in.Policy))
	var policyARNs []string
	for _, p := range in.PolicyArns {
		policyARNs = append(policyARNs, awsapi.Deref(p.Arn))
	}
	packed := stsPackedSize(sessionPolicy, policyARNs, tags)
	if packed > 100 {
		return nil, awsapi.WithMessage(errSTSPackedPolicyTooLarge, "Packed policy consumes %d%% of allotted space, please use smaller policy.", packed)
	}
	if sessionPolicy != "" {
		if _, err := d.docs.parse(sessionPolicy, policy.Identity); err != nil {
			return nil, err
		}
	}
	sourceIdentity := awsapi.Deref(in.SourceIdentity)
	if sourceIdentity == "" && caller.session != nil {
		// A source identity stays with every session chained from the
		// first.
		sourceIdentity = caller.session.SourceIdentity
	}

	role, err := d.roleByARN(ctx, roleARN)
	if err != nil {
		return nil, err
	}
	if err := s.authorizeAssumeRole(ctx, caller, role, roleARN, in); err != nil {
		return nil, err
	}

	duration := int32(stsDefaultRoleDuration)
	if in.DurationSeconds != nil {
		duration = *in.DurationSeconds
	}
	chained := caller.session != nil
	if chained && duration > stsChainedMaxDuration {
		return nil, stsInvalid("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}
	if duration > max(role.MaxSessionDuration, stsDefaultRoleDuration) {
		return nil, stsInvalid("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}

	now := d.now().UTC().Truncate(time.Second)
	session := &iamstate.Session{
		Created:           now,
		Expires:           now.Add(time.Duration(duration) * time.Second),
		RoleName:          role.Name,
		RoleARN:           role.ARN,
		RoleID:            role.ID,
		SessionName:       sessionName,
		Policy:            sessionPolicy,
		PolicyARNs:        policyARNs,
		Tags:              tags,
		TransitiveTagKeys: transitive,
		SourceIdentity:    sourceIdentity,
	}
	secret, err := d.createSession(ctx, session)
	if err != nil {
		return nil, err
	}
	out := &ststypes.AssumeRoleResponse{
		Credentials: stsCredentials(session, secret),
		AssumedRoleUser: &ststypes.AssumedRoleUser{
			AssumedRoleId: awsapi.String(role.ID + ":" + sessionName),
			Arn:           awsapi.String(d.sessionARN(role.Name, sessionName)),
		},
	}
	if sessionPolicy != "" || len(policyARNs) > 0 || len(tags) > 0 {
		out.PackedPolicySize = awsapi.Int32(int32(packed))
	}
	if sourceIdentity != "" {
		out.SourceIdentity = awsapi.String(sourceIdentity)
	}
	return out, nil
}

// authorizeAssumeRole decides whether the caller may assume role (nil
// when the account has no role of that ARN): the role's trust policy must
// allow the caller, and when it allows the caller's account rather than
// the caller, so must the caller's own policies. Session tags need
// sts:TagSession as well, and a source identity sts:SetSourceIdentity.
func (s *stsService) authorizeAssumeRole(ctx context.Context, caller *dirSubject, role *iamstate.Role, roleARN string, in *ststypes.AssumeRoleRequest) error {
	d := s.dir
	actions := []string{"sts:AssumeRole"}
	if len(in.Tags) > 0 {
		actions = append(actions, "sts:TagSession")
	}
	if in.SourceIdentity != nil {
		actions = append(actions, "sts:SetSourceIdentity")
	}
	if role == nil {
		return stsNotAuthorized(caller, actions[0], roleARN)
	}
	trust, err := d.docs.parse(role.AssumeRolePolicy, policy.Trust)
	if err != nil {
		return err
	}
	set := caller.set
	set.Resource = []policy.Source{{Name: "role trust policy", Policy: trust}}
	conditions := maps.Clone(d.requestContext(caller, awsapi.RequestFrom(ctx).Region))
	conditions["sts:RoleSessionName"] = []string{awsapi.Deref(in.RoleSessionName)}
	if in.ExternalId != nil {
		conditions["sts:ExternalId"] = []string{*in.ExternalId}
	}
	if in.SourceIdentity != nil {
		conditions["sts:SourceIdentity"] = []string{*in.SourceIdentity}
	}
	if len(in.Tags) > 0 {
		var keys []string
		for _, t := range in.Tags {
			key := awsapi.Deref(t.Key)
			conditions["aws:RequestTag/"+key] = []string{awsapi.Deref(t.Value)}
			keys = append(keys, key)
		}
		conditions["aws:TagKeys"] = keys
	}
	if len(in.TransitiveTagKeys) > 0 {
		conditions["sts:TransitiveTagKeys"] = in.TransitiveTagKeys
	}
	for _, action := range actions {
		req := policy.Request{Principal: caller.principal, Action: action, Resource: role.ARN, Context: conditions}
		if policy.Evaluate(req, set).Effect != policy.Allowed {
			return stsNotAuthorized(caller, action, roleARN)
		}
	}
	return nil
}

// stsNotAuthorized is AssumeRole's refusal, which names no reason.
func stsNotAuthorized(caller *dirSubject, action, roleARN string) error {
	return &awsapi.AccessDenied{Message: "User: " + caller.principal.ARN + " is not authorized to perform: " + action + " on resource: " + roleARN}
}

// stsSessionTags are the tags of a new session: those asked for, and
// the transitive tags of the calling session, which carry on through a
// chain of sessions and cannot be set again. It returns the transitive
// keys too.
func stsSessionTags(in *ststypes.AssumeRoleRequest, calling *iamstate.Session) ([]iamstate.Tag, []string, error) {
	var tags []iamstate.Tag
	keys := map[string]bool{}
	for _, t := range in.Tags {
		key := awsapi.Deref(t.Key)
		if keys[strings.ToLower(key)] {
			// UNVERIFIED wording.
			return nil, nil, stsInvalidParameter("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		keys[strings.ToLower(key)] = true
		tags = append(tags, iamstate.Tag{Key: key, Value: awsapi.Deref(t.Value)})
	}
	transitive := append([]string(nil), in.TransitiveTagKeys...)
	for _, key := range transitive {
		if !keys[strings.ToLower(key)] {
			// UNVERIFIED wording.
			return nil, nil, stsInvalidParameter("The specified transitive tag key must be included in the requested tags.")
		}
	}
	if calling == nil {
		return tags, transitive, nil
	}
	for _, key := range calling.TransitiveTagKeys {
		if keys[strings.ToLower(key)] {
			// UNVERIFIED wording.
			return nil, nil, stsInvalidParameter("One of the specified transitive tag keys can't be set because it conflicts with a transitive tag key from the calling session.")
		}
		for _, t := range calling.Tags {
			if strings.EqualFold(t.Key, key) {
				tags = append(tags, t)
				transitive = append(transitive, t.Key)
			}
		}
	}
	return tags, transitive, nil
}

// stsPackedSize is how much of stsPackedLimit a session's policies and
// tags take, in percent, rounded up.
func stsPackedSize(sessionPolicy string, policyARNs []string, tags []iamstate.Tag) int {
	size := len(sessionPolicy)
	for _, arn := range policyARNs {
		size += len(arn)
	}
	for _, t := range tags {
		size += len(t.Key) + len(t.Value)
	}
	return (size*100 + stsPackedLimit - 1) / stsPackedLimit
}

// stsCompact is a policy document without the white space between its
// tokens, which is how a session keeps it; a document that is not JSON
// stays as it is, for the grammar to refuse.
func stsCompact(doc string) string {
	var b bytes.Buffer
	if json.Compact(&b, []byte(doc)) != nil {
		return doc
	}
	return b.String()
}

// stsIsARN reports whether s has an ARN's six parts.
func stsIsARN(s string) bool {
	parts := strings.SplitN(s, ":", 6)
	return len(parts) == 6 && parts[0] == "arn" && parts[1] != "" && parts[2] != "" && parts[5] != ""
}

func (s *stsService) getSessionToken(ctx context.Context, in *ststypes.GetSessionTokenRequest) (*ststypes.GetSessionTokenResponse, error) {
	d := s.dir
	info := awsapi.RequestFrom(ctx)
	if _, _, temporary := d.Session(info.AccessKeyID); temporary {
		return nil, &awsapi.AccessDenied{Message: "Cannot call GetSessionToken with session credentials"}
	}
	duration := int32(stsDefaultUserDuration)
	if in.DurationSeconds != nil {
		duration = *in.DurationSeconds
	}
	now := d.now().UTC().Truncate(time.Second)
	session := &iamstate.Session{Created: now}
	if info.Caller.Admin {
		// UNVERIFIED: AWS documents the root's range as 900 to 3600
		// seconds; berth caps a longer request rather than refuse it.
		duration = min(duration, stsRootMaxDuration)
		session.Root = true
	} else {
		credential := d.credential(ctx, info.AccessKeyID, true)
		if credential.userName == "" {
			return nil, fmt.Errorf("iam: GetSessionToken by %s, whose key names no user", info.Caller.ARN)
		}
		session.UserName = credential.userName
	}
	session.Expires = now.Add(time.Duration(duration) * time.Second)
	secret, err := d.createSession(ctx, session)
	if err != nil {
		return nil, err
	}
	return &ststypes.GetSessionTokenResponse{Credentials: stsCredentials(session, secret)}, nil
}

func stsCredentials(s *iamstate.Session, secret string) *ststypes.Credentials {
	return &ststypes.Credentials{
		AccessKeyId:     awsapi.String(s.AccessKeyID),
		SecretAccessKey: awsapi.String(secret),
		SessionToken:    awsapi.String(s.Token),
		Expiration:      awsapi.Time(s.Expires),
	}
}
