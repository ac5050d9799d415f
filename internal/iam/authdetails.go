package iam

import (
	"context"
	"slices"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/iam/iamstate"
	"github.com/berth/berth/internal/iam/iamtypes"
	"github.com/berth/berth/internal/iam/managed"
	"github.com/berth/berth/internal/store"
)

// getAccountAuthorizationDetails is the auditor's snapshot of the account:
// every user, group and role with its policies, and the managed policies
// with all their versions, documents URL-encoded. AWS managed policies
// appear when some identity uses them. The four lists are paginated as one
// listing, in that order.
func (s *iamService) getAccountAuthorizationDetails(ctx context.Context, in *iamtypes.GetAccountAuthorizationDetailsRequest) (*iamtypes.GetAccountAuthorizationDetailsResponse, error) {
	want := func(kind string) bool { return len(in.Filter) == 0 || slices.Contains(in.Filter, kind) }
	ids, err := s.readIdentities(ctx)
	if err != nil {
		return nil, err
	}
	uses := ids.usage()
	var items []any
	if want("User") {
		for _, u := range ids.users {
			items = append(items, userDetail(&u.Value))
		}
	}
	if want("Group") {
		for _, g := range ids.groups {
			items = append(items, groupDetail(&g.Value))
		}
	}
	if want("Role") {
		for _, r := range ids.roles {
			items = append(items, roleDetail(&r.Value))
		}
	}
	if want("AWSManagedPolicy") {
		for _, p := range managed.All() {
			if use := uses[p.ARN]; use.attached+use.boundary > 0 {
				items = append(items, policyDetail(awsPolicyView(p, use, true), &policyRef{arn: p.ARN, aws: p}))
			}
		}
	}
	if want("LocalManagedPolicy") {
		local, _, err := store.List[iamstate.ManagedPolicy](ctx, s.store, iamstate.PolicyPrefix, store.ListOptions{})
		if err != nil {
			return nil, err
		}
		for i := range local {
			p := &local[i]
			items = append(items, policyDetail(localPolicyView(&p.Value, uses[p.Value.ARN], true), &policyRef{arn: p.Value.ARN, local: p}))
		}
	}
	page, err := paginate(items, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamtypes.GetAccountAuthorizationDetailsResponse{
		UserDetailList:  itemsOf[iamtypes.UserDetail](page.items),
		GroupDetailList: itemsOf[iamtypes.GroupDetail](page.items),
		RoleDetailList:  itemsOf[iamtypes.RoleDetail](page.items),
		Policies:        itemsOf[iamtypes.ManagedPolicyDetail](page.items),
		IsTruncated:     awsapi.Bool(page.truncated), Marker: page.marker,
	}, nil
}

func userDetail(u *iamstate.User) iamtypes.UserDetail {
	return iamtypes.UserDetail{
		Arn:                     awsapi.String(u.ARN),
		AttachedManagedPolicies: nonNil(attachedPolicies(&u.Policies, "/")),
		CreateDate:              awsapi.Time(u.Created),
		GroupList:               nonNil(u.Groups),
		Path:                    awsapi.String(u.Path),
		PermissionsBoundary:     responseBoundary(u.Boundary),
		Tags:                    responseTags(u.Tags),
		UserId:                  awsapi.String(u.ID),
		UserName:                awsapi.String(u.Name),
		UserPolicyList:          inlineDetails(&u.Policies),
	}
}

func groupDetail(g *iamstate.Group) iamtypes.GroupDetail {
	return iamtypes.GroupDetail{
		Arn:                     awsapi.String(g.ARN),
		AttachedManagedPolicies: nonNil(attachedPolicies(&g.Policies, "/")),
		CreateDate:              awsapi.Time(g.Created),
		GroupId:                 awsapi.String(g.ID),
		GroupName:               awsapi.String(g.Name),
		GroupPolicyList:         inlineDetails(&g.Policies),
		Path:                    awsapi.String(g.Path),
	}
}

func roleDetail(r *iamstate.Role) iamtypes.RoleDetail {
	return iamtypes.RoleDetail{
		Arn:                      awsapi.String(r.ARN),
		AssumeRolePolicyDocument: encodeDocument(r.AssumeRolePolicy),
		AttachedManagedPolicies:  nonNil(attachedPolicies(&r.Policies, "/")),
		CreateDate:               awsapi.Time(r.Created),
		InstanceProfileList:      []iamtypes.InstanceProfile{}, // berth has no instance profiles
		Path:                     awsapi.String(r.Path),
		PermissionsBoundary:      responseBoundary(r.Boundary),
		RoleId:                   awsapi.String(r.ID),
		RoleLastUsed:             roleLastUsed(r),
		RoleName:                 awsapi.String(r.Name),
		RolePolicyList:           inlineDetails(&r.Policies),
		Tags:                     responseTags(r.Tags),
	}
}

// policyDetail is a managed policy with every version, from its view.
func policyDetail(p iamtypes.Policy, ref *policyRef) iamtypes.ManagedPolicyDetail {
	return iamtypes.ManagedPolicyDetail{
		Arn:                           p.Arn,
		AttachmentCount:               p.AttachmentCount,
		CreateDate:                    p.CreateDate,
		DefaultVersionId:              p.DefaultVersionId,
		Description:                   p.Description,
		IsAttachable:                  p.IsAttachable,
		Path:                          p.Path,
		PermissionsBoundaryUsageCount: p.PermissionsBoundaryUsageCount,
		PolicyId:                      p.PolicyId,
		PolicyName:                    p.PolicyName,
		PolicyVersionList:             policyVersions(ref, true),
		UpdateDate:                    p.UpdateDate,
	}
}

// The IAM quotas GetAccountSummary reports, besides those the handlers
// enforce.
const (
	usersQuota              = 5000
	groupsQuota             = 300
	rolesQuota              = 1000
	policiesQuota           = 1500
	policyVersionsUsedQuota = 10000
)

// getAccountSummary counts the account's entities and reports IAM's
// quotas. The kinds berth does not keep (instance profiles, MFA devices,
// server certificates, identity providers) count zero.
func (s *iamService) getAccountSummary(ctx context.Context, _ *struct{}) (*iamtypes.GetAccountSummaryResponse, error) {
	ids, err := s.readIdentities(ctx)
	if err != nil {
		return nil, err
	}
	local, _, err := store.List[iamstate.ManagedPolicy](ctx, s.store, iamstate.PolicyPrefix, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	versions := 0
	for _, p := range local {
		versions += len(p.Value.Versions)
	}
	return &iamtypes.GetAccountSummaryResponse{SummaryMap: map[string]int32{
		"Users":                             int32(len(ids.users)),
		"UsersQuota":                        usersQuota,
		"Groups":                            int32(len(ids.groups)),
		"GroupsQuota":                       groupsQuota,
		"Roles":                             int32(len(ids.roles)),
		"RolesQuota":                        rolesQuota,
		"Policies":                          int32(len(local)),
		"PoliciesQuota":                     policiesQuota,
		"PolicySizeQuota":                   managedPolicySize,
		"PolicyVersionsInUse":               int32(versions),
		"PolicyVersionsInUseQuota":          policyVersionsUsedQuota,
		"VersionsPerPolicyQuota":            versionsPerPolicy,
		"AccessKeysPerUserQuota":            accessKeysPerUser,
		"AttachedPoliciesPerUserQuota":      attachedPoliciesQuota,
		"AttachedPoliciesPerRoleQuota":      attachedPoliciesQuota,
		"AttachedPoliciesPerGroupQuota":     attachedPoliciesQuota,
		"GroupsPerUserQuota":                groupsPerUser,
		"UserPolicySizeQuota":               userPolicySizeQuota,
		"RolePolicySizeQuota":               rolePolicySizeQuota,
		"GroupPolicySizeQuota":              groupPolicySizeQuota,
		"AssumeRolePolicySizeQuota":         assumeRolePolicyQuota,
		"InstanceProfiles":                  0,
		"MFADevices":                        0,
		"MFADevicesInUse":                   0,
		"ServerCertificates":                0,
		"Providers":                         0,
		"AccountMFAEnabled":                 0,
		"AccountSigningCertificatesPresent": 0,
		// berth's admin key is the root's.
		"AccountAccessKeysPresent": 1,
	}}, nil
}
