package ecr

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecr/ecrtypes"
)

// wildcardOperations need "ecr:<operation>" on "*": the Service
// Authorization Reference gives them no resource type and berth sets no
// condition key for them.
var wildcardOperations = []string{
	"DeletePullThroughCacheRule", "DeleteRegistryPolicy", "DeleteRepositoryCreationTemplate", "DeleteSigningConfiguration",
	"DeregisterPullTimeUpdateExclusion", "DescribePullThroughCacheRules", "DescribeRegistry", "DescribeRepositoryCreationTemplates",
	"GetAuthorizationToken", "GetRegistryPolicy", "GetRegistryScanningConfiguration", "GetSigningConfiguration",
	"ListPullTimeUpdateExclusions", "PutRegistryPolicy", "PutRegistryScanningConfiguration", "PutReplicationConfiguration",
	"PutSigningConfiguration", "RegisterPullTimeUpdateExclusion", "ValidatePullThroughCacheRule",
}

func repoARN(name string) string {
	return "arn:aws:ecr:us-east-1:123456789012:repository/" + name
}

type accessCase struct {
	name string
	op   string
	in   any
	want []awsapi.Access
}

func TestAccess(t *testing.T) {
	f := newFixture(t)
	const policy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::210987654321:root"},"Action":"ecr:BatchGetImage"}]}`
	mustCall[ecrtypes.CreateRepositoryResponse](t, f, "CreateRepository", &ecrtypes.CreateRepositoryRequest{RepositoryName: str("team/app"),
		Tags: []ecrtypes.Tag{{Key: str("team"), Value: str("a")}}})
	mustCall[ecrtypes.SetRepositoryPolicyResponse](t, f, "SetRepositoryPolicy", &ecrtypes.SetRepositoryPolicyRequest{RepositoryName: str("team/app"), PolicyText: str(policy)})
	createRepo(t, f, "plain")

	app := repoARN("team/app")
	appContext := map[string][]string{"aws:ResourceTag/team": {"a"}, "ecr:ResourceTag/team": {"a"}}
	onApp := func(op string) awsapi.Access {
		return awsapi.Access{Action: "ecr:" + op, Resource: app, Context: appContext, ResourcePolicy: policy}
	}
	newTags := map[string][]string{"aws:RequestTag/k": {"v"}, "aws:TagKeys": {"k"}}
	otherRegion := "arn:aws:ecr:eu-west-1:123456789012:repository/team/app"

	tests := []accessCase{
		{"create repository", "CreateRepository", &ecrtypes.CreateRepositoryRequest{RepositoryName: str("new"), Tags: []ecrtypes.Tag{{Key: str("k"), Value: str("v")}}},
			[]awsapi.Access{
				{Action: "ecr:CreateRepository", Resource: repoARN("new"), Context: newTags},
				{Action: "ecr:TagResource", Resource: repoARN("new"), Context: newTags},
			}},
		{"create repository without tags", "CreateRepository", &ecrtypes.CreateRepositoryRequest{RepositoryName: str("new")},
			[]awsapi.Access{{Action: "ecr:CreateRepository", Resource: repoARN("new")}}},
		{"repository without tags or policy", "DescribeImages", &ecrtypes.DescribeImagesRequest{RepositoryName: str("plain")},
			[]awsapi.Access{{Action: "ecr:DescribeImages", Resource: repoARN("plain")}}},
		{"missing repository", "PutImage", &ecrtypes.PutImageRequest{RepositoryName: str("gone")},
			[]awsapi.Access{{Action: "ecr:PutImage", Resource: repoARN("gone")}}},
		{"repository of this registry by id", "BatchGetImage", &ecrtypes.BatchGetImageRequest{RegistryId: str(testAccount), RepositoryName: str("team/app")},
			[]awsapi.Access{onApp("BatchGetImage")}},
		{"repository of another registry", "BatchGetImage", &ecrtypes.BatchGetImageRequest{RegistryId: str("210987654321"), RepositoryName: str("team/app")},
			[]awsapi.Access{{Action: "ecr:BatchGetImage", Resource: app}}},
		{"describe every repository", "DescribeRepositories", &ecrtypes.DescribeRepositoriesRequest{},
			[]awsapi.Access{{Action: "ecr:DescribeRepositories", Resource: repoARN("*")}}},
		{"describe repositories", "DescribeRepositories", &ecrtypes.DescribeRepositoriesRequest{RepositoryNames: []string{"team/app", "plain"}},
			[]awsapi.Access{onApp("DescribeRepositories"), {Action: "ecr:DescribeRepositories", Resource: repoARN("plain")}}},
		{"scanning configuration of repositories", "BatchGetRepositoryScanningConfiguration",
			&ecrtypes.BatchGetRepositoryScanningConfigurationRequest{RepositoryNames: []string{"team/app", "gone"}},
			[]awsapi.Access{onApp("BatchGetRepositoryScanningConfiguration"), {Action: "ecr:BatchGetRepositoryScanningConfiguration", Resource: repoARN("gone")}}},
		{"get account setting", "GetAccountSetting", &ecrtypes.GetAccountSettingRequest{Name: str("BASIC_SCAN_TYPE_VERSION")},
			[]awsapi.Access{{Action: "ecr:GetAccountSetting", Resource: "*", Context: map[string][]string{"ecr:AccountSetting": {"BASIC_SCAN_TYPE_VERSION"}}}}},
		{"put account setting", "PutAccountSetting", &ecrtypes.PutAccountSettingRequest{Name: str("REGISTRY_POLICY_SCOPE")},
			[]awsapi.Access{{Action: "ecr:PutAccountSetting", Resource: "*", Context: map[string][]string{"ecr:AccountSetting": {"REGISTRY_POLICY_SCOPE"}}}}},
		{"list tags", "ListTagsForResource", &ecrtypes.ListTagsForResourceRequest{ResourceArn: str(app)},
			[]awsapi.Access{onApp("ListTagsForResource")}},
		{"tag", "TagResource", &ecrtypes.TagResourceRequest{ResourceArn: str(app), Tags: []ecrtypes.Tag{{Key: str("k"), Value: str("v")}}},
			[]awsapi.Access{{Action: "ecr:TagResource", Resource: app, ResourcePolicy: policy, Context: map[string][]string{
				"aws:RequestTag/k": {"v"}, "aws:TagKeys": {"k"}, "aws:ResourceTag/team": {"a"}, "ecr:ResourceTag/team": {"a"}}}}},
		{"tag a repository of another region", "TagResource", &ecrtypes.TagResourceRequest{ResourceArn: str(otherRegion), Tags: []ecrtypes.Tag{{Key: str("k"), Value: str("v")}}},
			[]awsapi.Access{{Action: "ecr:TagResource", Resource: otherRegion, Context: newTags}}},
		{"untag", "UntagResource", &ecrtypes.UntagResourceRequest{ResourceArn: str(app), TagKeys: []string{"team"}},
			[]awsapi.Access{{Action: "ecr:UntagResource", Resource: app, ResourcePolicy: policy, Context: map[string][]string{
				"aws:TagKeys": {"team"}, "aws:ResourceTag/team": {"a"}, "ecr:ResourceTag/team": {"a"}}}}},
		{"untag a malformed ARN", "UntagResource", &ecrtypes.UntagResourceRequest{ResourceArn: str("app")},
			[]awsapi.Access{{Action: "ecr:UntagResource", Resource: "app"}}},
		{"create pull through cache rule", "CreatePullThroughCacheRule", &ecrtypes.CreatePullThroughCacheRuleRequest{CustomRoleArn: str("arn:aws:iam::123456789012:role/cache")},
			[]awsapi.Access{{Action: "ecr:CreatePullThroughCacheRule", Resource: "*"}, {Action: "iam:PassRole", Resource: "arn:aws:iam::123456789012:role/cache"}}},
		{"update pull through cache rule", "UpdatePullThroughCacheRule", &ecrtypes.UpdatePullThroughCacheRuleRequest{},
			[]awsapi.Access{{Action: "ecr:UpdatePullThroughCacheRule", Resource: "*"}}},
		{"create repository creation template", "CreateRepositoryCreationTemplate", &ecrtypes.CreateRepositoryCreationTemplateRequest{CustomRoleArn: str("arn:aws:iam::123456789012:role/create")},
			[]awsapi.Access{{Action: "ecr:CreateRepositoryCreationTemplate", Resource: "*"}, {Action: "iam:PassRole", Resource: "arn:aws:iam::123456789012:role/create"}}},
		{"update repository creation template", "UpdateRepositoryCreationTemplate", &ecrtypes.UpdateRepositoryCreationTemplateRequest{CustomRoleArn: str("arn:aws:iam::123456789012:role/create")},
			[]awsapi.Access{{Action: "ecr:UpdateRepositoryCreationTemplate", Resource: "*"}, {Action: "iam:PassRole", Resource: "arn:aws:iam::123456789012:role/create"}}},
		{"authorization token", "GetAuthorizationToken", &ecrtypes.GetAuthorizationTokenRequest{}, nil},
	}
	// Every operation on a repository it names.
	for op, in := range map[string]any{
		"BatchCheckLayerAvailability":    &ecrtypes.BatchCheckLayerAvailabilityRequest{RepositoryName: str("team/app")},
		"BatchDeleteImage":               &ecrtypes.BatchDeleteImageRequest{RepositoryName: str("team/app")},
		"BatchGetImage":                  &ecrtypes.BatchGetImageRequest{RepositoryName: str("team/app")},
		"CompleteLayerUpload":            &ecrtypes.CompleteLayerUploadRequest{RepositoryName: str("team/app")},
		"DeleteLifecyclePolicy":          &ecrtypes.DeleteLifecyclePolicyRequest{RepositoryName: str("team/app")},
		"DeleteRepository":               &ecrtypes.DeleteRepositoryRequest{RepositoryName: str("team/app")},
		"DeleteRepositoryPolicy":         &ecrtypes.DeleteRepositoryPolicyRequest{RepositoryName: str("team/app")},
		"DescribeImageReplicationStatus": &ecrtypes.DescribeImageReplicationStatusRequest{RepositoryName: str("team/app")},
		"DescribeImageScanFindings":      &ecrtypes.DescribeImageScanFindingsRequest{RepositoryName: str("team/app")},
		"DescribeImageSigningStatus":     &ecrtypes.DescribeImageSigningStatusRequest{RepositoryName: str("team/app")},
		"DescribeImages":                 &ecrtypes.DescribeImagesRequest{RepositoryName: str("team/app")},
		"GetDownloadUrlForLayer":         &ecrtypes.GetDownloadUrlForLayerRequest{RepositoryName: str("team/app")},
		"GetLifecyclePolicy":             &ecrtypes.GetLifecyclePolicyRequest{RepositoryName: str("team/app")},
		"GetLifecyclePolicyPreview":      &ecrtypes.GetLifecyclePolicyPreviewRequest{RepositoryName: str("team/app")},
		"GetRepositoryPolicy":            &ecrtypes.GetRepositoryPolicyRequest{RepositoryName: str("team/app")},
		"InitiateLayerUpload":            &ecrtypes.InitiateLayerUploadRequest{RepositoryName: str("team/app")},
		"ListImageReferrers":             &ecrtypes.ListImageReferrersRequest{RepositoryName: str("team/app")},
		"ListImages":                     &ecrtypes.ListImagesRequest{RepositoryName: str("team/app")},
		"PutImage":                       &ecrtypes.PutImageRequest{RepositoryName: str("team/app")},
		"PutImageScanningConfiguration":  &ecrtypes.PutImageScanningConfigurationRequest{RepositoryName: str("team/app")},
		"PutImageTagMutability":          &ecrtypes.PutImageTagMutabilityRequest{RepositoryName: str("team/app")},
		"PutLifecyclePolicy":             &ecrtypes.PutLifecyclePolicyRequest{RepositoryName: str("team/app")},
		"SetRepositoryPolicy":            &ecrtypes.SetRepositoryPolicyRequest{RepositoryName: str("team/app")},
		"StartImageScan":                 &ecrtypes.StartImageScanRequest{RepositoryName: str("team/app")},
		"StartLifecyclePolicyPreview":    &ecrtypes.StartLifecyclePolicyPreviewRequest{RepositoryName: str("team/app")},
		"UpdateImageStorageClass":        &ecrtypes.UpdateImageStorageClassRequest{RepositoryName: str("team/app")},
		"UploadLayerPart":                &ecrtypes.UploadLayerPartRequest{RepositoryName: str("team/app")},
	} {
		tests = append(tests, accessCase{op, op, in, []awsapi.Access{onApp(op)}})
	}
	tested := map[string]bool{}
	for _, tt := range tests {
		tested[tt.op] = true
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.svc.Access(testCtx, tt.op, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.op, diff)
			}
			if got != nil && !slices.ContainsFunc(got, func(a awsapi.Access) bool { return a.Action == "ecr:"+tt.op }) {
				t.Errorf("%s is not asked for", tt.op)
			}
		})
	}
	for op := range accessRules {
		if !tested[op] {
			t.Errorf("no test of %s", op)
		}
	}
}

// TestAccessCoversModel checks that every operation of ECR's model is
// mapped or needs nothing but its action, and that every implemented
// operation's input is the one its mapping takes.
func TestAccessCoversModel(t *testing.T) {
	f := newFixture(t)
	for op := range f.svc.Model.Operations {
		_, mapped := accessRules[op]
		if mapped == slices.Contains(wildcardOperations, op) {
			t.Errorf("%s: mapped %v, listed as wildcard %v", op, mapped, !mapped)
		}
	}
	for op, o := range f.svc.Operations {
		if _, err := f.svc.Access(testCtx, op, o.NewInput()); err != nil {
			t.Errorf("%s: %v", op, err)
		}
	}
}

// TestAccessReadFailure checks that a repository that cannot be read fails
// the call rather than being authorized without its tags and policy.
func TestAccessReadFailure(t *testing.T) {
	f := newFixture(t)
	if err := f.store.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Access(testCtx, "BatchGetImage", &ecrtypes.BatchGetImageRequest{RepositoryName: str("app")}); err == nil {
		t.Fatal("no error")
	}
}
