package ecs

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/store"
)

func (s *service) accountSettingOperations() map[string]awsapi.Operation {
	return map[string]awsapi.Operation{
		"PutAccountSetting":        awsapi.Op(s.putAccountSetting),
		"PutAccountSettingDefault": awsapi.Op(s.putAccountSettingDefault),
		"DeleteAccountSetting":     awsapi.Op(s.deleteAccountSetting),
		"ListAccountSettings":      awsapi.Op(s.listAccountSettings),
	}
}

// accountSetting is what berth knows of one account setting: the values
// ECS accepts for it and its value when nobody set it.
type accountSetting struct {
	values []string
	// byDefault is the value of an account that never set it.
	// UNVERIFIED for fargateEventWindows and guardDutyActivate.
	byDefault string
	// awsManaged settings are read-only (type aws_managed).
	awsManaged bool
	// rootOnly settings are set for the whole account only.
	rootOnly bool
}

// accountSettings are ECS's settings. The ones with an effect in berth:
// containerInsights is the Container Insights setting of a cluster created
// without one. berth always names its resources in the long ARN format, so
// the three *LongArnFormat settings take "enabled" only. The others are
// kept and answered for the tools that manage them; what they change at
// AWS (ENI trunking, FIPS endpoints, tag authorization, Fargate retirement
// and maintenance windows, GuardDuty, log delivery mode) has no
// counterpart in berth.
var accountSettings = map[string]accountSetting{
	ecstypes.SettingNameServiceLongArnFormat:            {values: []string{"enabled"}, byDefault: "enabled"},
	ecstypes.SettingNameTaskLongArnFormat:               {values: []string{"enabled"}, byDefault: "enabled"},
	ecstypes.SettingNameContainerInstanceLongArnFormat:  {values: []string{"enabled"}, byDefault: "enabled"},
	ecstypes.SettingNameAwsvpcTrunking:                  {values: []string{"enabled", "disabled"}, byDefault: "disabled"},
	ecstypes.SettingNameContainerInsights:               {values: []string{"enhanced", "enabled", "disabled"}, byDefault: "disabled"},
	ecstypes.SettingNameFargateFIPSMode:                 {values: []string{"enabled", "disabled"}, byDefault: "disabled"},
	ecstypes.SettingNameTagResourceAuthorization:        {values: []string{"on", "off"}, byDefault: "on"},
	ecstypes.SettingNameFargateTaskRetirementWaitPeriod: {values: []string{"0", "7", "14"}, byDefault: "7", rootOnly: true},
	ecstypes.SettingNameGuardDutyActivate:               {values: []string{"on", "off"}, byDefault: "off", awsManaged: true},
	ecstypes.SettingNameDefaultLogDriverMode:            {values: []string{"non-blocking", "blocking"}, byDefault: "non-blocking"},
	ecstypes.SettingNameFargateEventWindows:             {values: []string{"enabled", "disabled"}, byDefault: "disabled"},
}

// principalPattern is the principal an account setting may name: the
// account's root, or one of its users or roles.
var principalPattern = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}):(root|user/.+|role/.+)$`)

// rootPrincipal is the account's root user, whose settings are the
// account's defaults.
func (s *service) rootPrincipal() string { return "arn:aws:iam::" + s.account + ":root" }

// callerPrincipal is the IAM principal ECS records as having made a call
// (registeredBy, createdBy, the account settings a call without a
// principalArn is about): the user or the root, or, for a role session, its
// role.
func (s *service) callerPrincipal(ctx context.Context) string {
	caller := awsapi.RequestFrom(ctx).Caller.ARN
	if caller == "" {
		return s.rootPrincipal()
	}
	// arn:aws:sts::<account>:assumed-role/<role>/<session> is a session of
	// arn:aws:iam::<account>:role/<role>; the session ARN does not name
	// the role's path. UNVERIFIED: whether ECS shows the path.
	if rest, ok := strings.CutPrefix(caller, "arn:aws:sts::"+s.account+":assumed-role/"); ok {
		role, _, _ := strings.Cut(rest, "/")
		return "arn:aws:iam::" + s.account + ":role/" + role
	}
	return caller
}

// principal is the principal a request's settings are for: the one it
// names, else the caller's.
func (s *service) principal(ctx context.Context, arn *string) (string, error) {
	p := awsapi.Deref(arn)
	if p == "" {
		return s.callerPrincipal(ctx), nil
	}
	m := principalPattern.FindStringSubmatch(p)
	if m == nil || m[1] != s.account {
		// UNVERIFIED wording.
		return "", invalidParameter("principalArn must be the ARN of the root user, a user or a role of account %s.", s.account)
	}
	if m[2] == "root" {
		return s.rootPrincipal(), nil // one spelling of the partition
	}
	return p, nil
}

// checkAccountSetting refuses a value the setting does not take, or a
// setting the principal may not set.
func (s *service) checkAccountSetting(name, value, principal string) error {
	setting := accountSettings[name]
	switch {
	case setting.awsManaged:
		return errAWSManagedSetting(name)
	case setting.rootOnly && principal != s.rootPrincipal():
		// UNVERIFIED wording.
		return invalidParameter("The %s account setting can be set only for the root user.", name)
	case strings.HasSuffix(name, "LongArnFormat") && value == "disabled":
		return invalidParameter("berth names every resource in the long ARN format: %s can't be disabled.", name)
	case !slices.Contains(setting.values, value):
		// UNVERIFIED wording.
		return invalidParameter("Invalid value %q for %s. Valid values are %s.", value, name, strings.Join(setting.values, ", "))
	}
	return nil
}

func errAWSManagedSetting(name string) error {
	// UNVERIFIED wording.
	return invalidParameter("The %s account setting is managed by AWS and can't be changed.", name)
}

func (s *service) putAccountSetting(ctx context.Context, in *ecstypes.PutAccountSettingRequest) (*ecstypes.PutAccountSettingResponse, error) {
	principal, err := s.principal(ctx, in.PrincipalArn)
	if err != nil {
		return nil, err
	}
	setting, err := s.setAccountSetting(ctx, awsapi.Deref(in.Name), awsapi.Deref(in.Value), principal)
	if err != nil {
		return nil, err
	}
	return &ecstypes.PutAccountSettingResponse{Setting: setting}, nil
}

func (s *service) putAccountSettingDefault(ctx context.Context, in *ecstypes.PutAccountSettingDefaultRequest) (*ecstypes.PutAccountSettingDefaultResponse, error) {
	setting, err := s.setAccountSetting(ctx, awsapi.Deref(in.Name), awsapi.Deref(in.Value), s.rootPrincipal())
	if err != nil {
		return nil, err
	}
	return &ecstypes.PutAccountSettingDefaultResponse{Setting: setting}, nil
}

func (s *service) setAccountSetting(ctx context.Context, name, value, principal string) (*ecstypes.Setting, error) {
	if err := s.checkAccountSetting(name, value, principal); err != nil {
		return nil, err
	}
	_, err := store.Update(ctx, s.store, ecsstate.AccountSettingsKey(requestRegion(ctx)), func(rec *ecsstate.AccountSettings, _ bool) error {
		if rec.Principals == nil {
			rec.Principals = map[string]map[string]string{}
		}
		if rec.Principals[principal] == nil {
			rec.Principals[principal] = map[string]string{}
		}
		rec.Principals[principal][name] = value
		return nil
	})
	if err != nil {
		return nil, err
	}
	return settingOutput(name, value, principal), nil
}

func (s *service) deleteAccountSetting(ctx context.Context, in *ecstypes.DeleteAccountSettingRequest) (*ecstypes.DeleteAccountSettingResponse, error) {
	principal, err := s.principal(ctx, in.PrincipalArn)
	if err != nil {
		return nil, err
	}
	name := awsapi.Deref(in.Name)
	if accountSettings[name].awsManaged {
		return nil, errAWSManagedSetting(name)
	}
	var deleted string
	_, err = store.Update(ctx, s.store, ecsstate.AccountSettingsKey(requestRegion(ctx)), func(rec *ecsstate.AccountSettings, _ bool) error {
		value, ok := rec.Principals[principal][name]
		if !ok {
			// UNVERIFIED wording.
			return invalidParameter("The %s account setting is not set for %s.", name, principal)
		}
		deleted = value
		delete(rec.Principals[principal], name)
		if len(rec.Principals[principal]) == 0 {
			delete(rec.Principals, principal)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ecstypes.DeleteAccountSettingResponse{Setting: settingOutput(name, deleted, principal)}, nil
}

// accountSettingsPageLimit is ListAccountSettings' page size limit (and
// default).
const accountSettingsPageLimit = 10

func (s *service) listAccountSettings(ctx context.Context, in *ecstypes.ListAccountSettingsRequest) (*ecstypes.ListAccountSettingsResponse, error) {
	principal, err := s.principal(ctx, in.PrincipalArn)
	if err != nil {
		return nil, err
	}
	name, value := awsapi.Deref(in.Name), awsapi.Deref(in.Value)
	if value != "" && name == "" {
		return nil, invalidParameter("You must specify a setting name to filter the account settings by value.")
	}
	limit := accountSettingsPageLimit
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > accountSettingsPageLimit {
			return nil, invalidParameter("maxResults must be between 1 and %d.", accountSettingsPageLimit)
		}
		limit = int(*in.MaxResults)
	}
	after, err := decodeToken(in.NextToken, "ListAccountSettings")
	if err != nil {
		return nil, err
	}
	settings, err := s.principalSettings(ctx, requestRegion(ctx), principal, awsapi.Deref(in.EffectiveSettings))
	if err != nil {
		return nil, err
	}
	out := &ecstypes.ListAccountSettingsResponse{Settings: []ecstypes.Setting{}}
	for _, st := range settings {
		n := awsapi.Deref(st.Name)
		if n <= after || (name != "" && n != name) || (value != "" && awsapi.Deref(st.Value) != value) {
			continue
		}
		if len(out.Settings) == limit {
			out.NextToken = encodeToken("ListAccountSettings", awsapi.Deref(out.Settings[limit-1].Name))
			break
		}
		out.Settings = append(out.Settings, st)
	}
	return out, nil
}

// principalSettings are the settings the principal set, by name; or, when
// effective, every setting as it applies to the principal (effective).
func (s *service) principalSettings(ctx context.Context, region, principal string, effective bool) ([]ecstypes.Setting, error) {
	rec, err := s.loadAccountSettings(ctx, region)
	if err != nil {
		return nil, err
	}
	var out []ecstypes.Setting
	for name := range accountSettings {
		value, set := rec.Principals[principal][name]
		switch {
		case set:
			out = append(out, *settingOutput(name, value, principal))
		case effective:
			value, from := s.effective(rec, principal, name)
			out = append(out, *settingOutput(name, value, from))
		}
	}
	sort.Slice(out, func(i, j int) bool { return awsapi.Deref(out[i].Name) < awsapi.Deref(out[j].Name) })
	return out, nil
}

// effective is a setting's value for principal and the principal it comes
// from: its own, else the account's (the root's), else ECS's default.
func (s *service) effective(rec ecsstate.AccountSettings, principal, name string) (value, from string) {
	if v, ok := rec.Principals[principal][name]; ok {
		return v, principal
	}
	if v, ok := rec.Principals[s.rootPrincipal()][name]; ok {
		return v, s.rootPrincipal()
	}
	return accountSettings[name].byDefault, s.rootPrincipal()
}

func (s *service) loadAccountSettings(ctx context.Context, region string) (ecsstate.AccountSettings, error) {
	rec, err := store.Get[ecsstate.AccountSettings](ctx, s.store, ecsstate.AccountSettingsKey(region))
	if errors.Is(err, store.ErrNotFound) {
		return ecsstate.AccountSettings{}, nil
	}
	return rec.Value, err
}

// effectiveAccountSetting is the value of a setting for the caller (the
// root user) in region.
func (s *service) effectiveAccountSetting(ctx context.Context, region, name string) (string, error) {
	rec, err := s.loadAccountSettings(ctx, region)
	if err != nil {
		return "", err
	}
	value, _ := s.effective(rec, s.rootPrincipal(), name)
	return value, nil
}

func settingOutput(name, value, principal string) *ecstypes.Setting {
	typ := ecstypes.SettingTypeUser
	if accountSettings[name].awsManaged {
		typ = ecstypes.SettingTypeAwsManaged
	}
	return &ecstypes.Setting{Name: awsapi.String(name), Value: awsapi.String(value), PrincipalArn: awsapi.String(principal), Type: awsapi.String(typ)}
}
