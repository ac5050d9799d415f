package iam

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/model"
	"github.com/berth/berth/internal/secretbox"
	"github.com/berth/berth/internal/store"
)

// Config wires the IAM API.
type Config struct {
	// Store holds roles, users, groups, customer managed policies and
	// access keys (iamstate).
	Store store.Store
	// Box seals access keys' secrets.
	Box *secretbox.Box
	// AccountID is the account every entity belongs to.
	AccountID string
	// Now is the clock (nil: time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// iamService is the IAM API over berth's store. IAM is global: no region
// appears in its keys or ARNs.
type iamService struct {
	store   store.Store
	box     *secretbox.Box
	account string
	now     func() time.Time
	log     *slog.Logger
}

// NewService returns the IAM API (awsQuery, API version 2010-05-08) as the
// gateway serves it.
func NewService(cfg Config) *awsapi.Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &iamService{
		store:   cfg.Store,
		box:     cfg.Box,
		account: cfg.AccountID,
		now:     cfg.Now,
		log:     cfg.Logger.With("service", "iam"),
	}
	errs := newIAMErrorTable(s.log)
	return &awsapi.Service{
		SigningName: "iam",
		Protocol:    awsapi.Query,
		Model:       model.MustLoad("iam"),
		Operations:  errs.Bind(s.operations()),
		Unsupported: iamUnsupported,
		Access:      s.access,
	}
}

func (s *iamService) operations() map[string]awsapi.Operation {
	return map[string]awsapi.Operation{
		"CreateRole":                    awsapi.Op(s.createRole),
		"GetRole":                       awsapi.Op(s.getRole),
		"ListRoles":                     awsapi.Op(s.listRoles),
		"UpdateRole":                    awsapi.Op(s.updateRole),
		"UpdateRoleDescription":         awsapi.Op(s.updateRoleDescription),
		"UpdateAssumeRolePolicy":        awsapi.Op(s.updateAssumeRolePolicy),
		"DeleteRole":                    awsapi.Op(s.deleteRole),
		"TagRole":                       awsapi.Op(s.tagRole),
		"UntagRole":                     awsapi.Op(s.untagRole),
		"ListRoleTags":                  awsapi.Op(s.listRoleTags),
		"PutRolePermissionsBoundary":    awsapi.Op(s.putRolePermissionsBoundary),
		"DeleteRolePermissionsBoundary": awsapi.Op(s.deleteRolePermissionsBoundary),
		"AttachRolePolicy":              awsapi.Op(s.attachRolePolicy),
		"DetachRolePolicy":              awsapi.Op(s.detachRolePolicy),
		"ListAttachedRolePolicies":      awsapi.Op(s.listAttachedRolePolicies),
		"PutRolePolicy":                 awsapi.Op(s.putRolePolicy),
		"GetRolePolicy":                 awsapi.Op(s.getRolePolicy),
		"DeleteRolePolicy":              awsapi.Op(s.deleteRolePolicy),
		"ListRolePolicies":              awsapi.Op(s.listRolePolicies),

		"CreatePolicy":            awsapi.Op(s.createPolicy),
		"GetPolicy":               awsapi.Op(s.getPolicy),
		"ListPolicies":            awsapi.Op(s.listPolicies),
		"DeletePolicy":            awsapi.Op(s.deletePolicy),
		"CreatePolicyVersion":     awsapi.Op(s.createPolicyVersion),
		"GetPolicyVersion":        awsapi.Op(s.getPolicyVersion),
		"ListPolicyVersions":      awsapi.Op(s.listPolicyVersions),
		"SetDefaultPolicyVersion": awsapi.Op(s.setDefaultPolicyVersion),
		"DeletePolicyVersion":     awsapi.Op(s.deletePolicyVersion),
		"ListEntitiesForPolicy":   awsapi.Op(s.listEntitiesForPolicy),
		"TagPolicy":               awsapi.Op(s.tagPolicy),
		"UntagPolicy":             awsapi.Op(s.untagPolicy),
		"ListPolicyTags":          awsapi.Op(s.listPolicyTags),

		"CreateUser":                    awsapi.Op(s.createUser),
		"GetUser":                       awsapi.Op(s.getUser),
		"ListUsers":                     awsapi.Op(s.listUsers),
		"UpdateUser":                    awsapi.Op(s.updateUser),
		"DeleteUser":                    awsapi.Op(s.deleteUser),
		"TagUser":                       awsapi.Op(s.tagUser),
		"UntagUser":                     awsapi.Op(s.untagUser),
		"ListUserTags":                  awsapi.Op(s.listUserTags),
		"PutUserPermissionsBoundary":    awsapi.Op(s.putUserPermissionsBoundary),
		"DeleteUserPermissionsBoundary": awsapi.Op(s.deleteUserPermissionsBoundary),
		"AttachUserPolicy":              awsapi.Op(s.attachUserPolicy),
		"DetachUserPolicy":              awsapi.Op(s.detachUserPolicy),
		"ListAttachedUserPolicies":      awsapi.Op(s.listAttachedUserPolicies),
		"PutUserPolicy":                 awsapi.Op(s.putUserPolicy),
		"GetUserPolicy":                 awsapi.Op(s.getUserPolicy),
		"DeleteUserPolicy":              awsapi.Op(s.deleteUserPolicy),
		"ListUserPolicies":              awsapi.Op(s.listUserPolicies),

		"CreateAccessKey":      awsapi.Op(s.createAccessKey),
		"ListAccessKeys":       awsapi.Op(s.listAccessKeys),
		"UpdateAccessKey":      awsapi.Op(s.updateAccessKey),
		"DeleteAccessKey":      awsapi.Op(s.deleteAccessKey),
		"GetAccessKeyLastUsed": awsapi.Op(s.getAccessKeyLastUsed),

		"CreateGroup":               awsapi.Op(s.createGroup),
		"GetGroup":                  awsapi.Op(s.getGroup),
		"ListGroups":                awsapi.Op(s.listGroups),
		"UpdateGroup":               awsapi.Op(s.updateGroup),
		"DeleteGroup":               awsapi.Op(s.deleteGroup),
		"AddUserToGroup":            awsapi.Op(s.addUserToGroup),
		"RemoveUserFromGroup":       awsapi.Op(s.removeUserFromGroup),
		"ListGroupsForUser":         awsapi.Op(s.listGroupsForUser),
		"AttachGroupPolicy":         awsapi.Op(s.attachGroupPolicy),
		"DetachGroupPolicy":         awsapi.Op(s.detachGroupPolicy),
		"ListAttachedGroupPolicies": awsapi.Op(s.listAttachedGroupPolicies),
		"PutGroupPolicy":            awsapi.Op(s.putGroupPolicy),
		"GetGroupPolicy":            awsapi.Op(s.getGroupPolicy),
		"DeleteGroupPolicy":         awsapi.Op(s.deleteGroupPolicy),
		"ListGroupPolicies":         awsapi.Op(s.listGroupPolicies),

		"GetAccountAuthorizationDetails": awsapi.Op(s.getAccountAuthorizationDetails),
		"GetAccountSummary":              awsapi.Op(s.getAccountSummary),

		"SimulatePrincipalPolicy": awsapi.Op(s.simulatePrincipalPolicy),
		"SimulateCustomPolicy":    awsapi.Op(s.simulateCustomPolicy),
	}
}

// entityARN is the ARN of an IAM entity: kind is role, user, group or
// policy, path begins and ends with "/".
func (s *iamService) entityARN(kind, path, name string) string {
	return "arn:aws:iam::" + s.account + ":" + kind + path + name
}

// uniqueIDAlphabet is the alphabet of IAM's unique ids and access key ids
// after their four-letter prefix: upper-case letters and the digits 2-7.
const uniqueIDAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// newUniqueID returns a new unique id with prefix (AROA for roles, AIDA for
// users, AGPA for groups, ANPA for policies): 21 characters in all.
func newUniqueID(prefix string) string { return prefix + randomString(17, uniqueIDAlphabet) }

// callerUserName is the name of the IAM user that signed the request, for
// the operations whose UserName defaults to the caller's. A caller that is
// not an IAM user (the account's root, a role session) must name the user.
func callerUserName(ctx context.Context) (string, error) {
	arn := awsapi.RequestFrom(ctx).Caller.ARN
	// arn:aws:iam::<account>:user/<path><name>
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) == 6 && parts[2] == "iam" && strings.HasPrefix(parts[5], "user/") {
		return parts[5][strings.LastIndex(parts[5], "/")+1:], nil
	}
	return "", iamError(errValidation, "Must specify userName when calling with non-User credentials")
}

// callerIsRoot reports whether the account's root user (berth's admin key)
// signed the request.
func callerIsRoot(ctx context.Context) bool {
	return strings.HasSuffix(awsapi.RequestFrom(ctx).Caller.ARN, ":root")
}

// clock is the time of a change as IAM records it: UTC, whole seconds.
func (s *iamService) clock() time.Time { return s.now().UTC().Truncate(time.Second) }

// pathOrRoot is a request's Path, "/" when it gives none.
func pathOrRoot(path *string) string {
	if p := awsapi.Deref(path); p != "" {
		return p
	}
	return "/"
}

// createRecord writes value at key, which must not exist yet, with the
// policy it names as its permissions boundary (nil for none); exists is
// the error when a record is already there. A conflict on the boundary is
// returned for the caller's store.Retry to decide again.
func (s *iamService) createRecord(ctx context.Context, key string, value any, boundary *policyRef, exists error) error {
	op, err := store.PutJSON(key, value)
	if err != nil {
		return err
	}
	txn := store.Txn{If: []store.Compare{{Key: key}}, Then: []store.Op{op}}
	if boundary != nil {
		touch, err := boundary.touch()
		if err != nil {
			return err
		}
		txn.If = append(txn.If, boundary.guard()...)
		txn.Then = append(txn.Then, touch...)
	}
	_, err = s.store.Txn(ctx, txn)
	if errors.Is(err, store.ErrConflict) {
		if _, _, gerr := s.store.Get(ctx, key); gerr == nil {
			return exists
		}
	}
	return err
}

// listUnder lists the records under prefix whose path begins with
// pathPrefix.
func listUnder[T any](ctx context.Context, st store.Store, prefix string, pathPrefix *string, path func(*T) string) ([]T, error) {
	records, _, err := store.List[T](ctx, st, prefix, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	prefixPath := pathOrRoot(pathPrefix)
	var out []T
	for _, r := range records {
		if strings.HasPrefix(path(&r.Value), prefixPath) {
			out = append(out, r.Value)
		}
	}
	return out, nil
}

// nonNil is items, or an empty list for none: a list IAM's model requires
// is sent empty rather than left out.
func nonNil[T any](items []T) []T {
	if items == nil {
		return []T{}
	}
	return items
}
