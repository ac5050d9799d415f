package ecr

import (
	"context"
	"errors"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecr/ecrstate"
	"github.com/berth/berth/internal/ecr/ecrtypes"
	"github.com/berth/berth/internal/registry"
)

// accessRule adds what a call with input needs to a.
type accessRule func(a *accessRequest, input any)

func forInput[In any](fn func(a *accessRequest, in *In)) accessRule {
	return func(a *accessRequest, input any) { fn(a, input.(*In)) }
}

// named is the rule of the operations on one repository, named by an
// optional registryId and a repositoryName.
func named[In any](ref func(in *In) (registryID, name *string)) accessRule {
	return forInput(func(a *accessRequest, in *In) {
		registryID, name := ref(in)
		a.repository(registryID, awsapi.Deref(name))
	})
}

// accessRules are the operations that name repositories, set condition
// keys or pass roles. The others, the registry's settings and
// GetAuthorizationToken, need "ecr:<operation>" on "*", the gateway's
// default.
var accessRules = map[string]accessRule{
	"BatchCheckLayerAvailability": named(func(in *ecrtypes.BatchCheckLayerAvailabilityRequest) (*string, *string) {
		return in.RegistryId, in.RepositoryName
	}),
	"BatchDeleteImage": named(func(in *ecrtypes.BatchDeleteImageRequest) (*string, *string) {
		return in.RegistryId, in.RepositoryName
	}),
	"BatchGetImage": named(func(in *ecrtypes.BatchGetImageRequest) (*string, *string) {
		return in.RegistryId, in.RepositoryName
	}),
	"CompleteLayerUpload": named(func(in *ecrtypes.CompleteLayerUploadRequest) (*string, *string) {
		return in.RegistryId, in.RepositoryName
	}),
	"DeleteLifecyclePolicy": named(func(in *ecrtypes.DeleteLifecyclePolicyRequest) (*string, *string) {
		return in.RegistryId, in.RepositoryName
	}),
	"DeleteRepository": named(func(in *ecrtypes.DeleteRepositoryRequest) (*string, *string) {
		return in.RegistryId, in.RepositoryName
	}),
	"DeleteRepositoryPolicy": named(func(in *ecrtypes.DeleteRepositoryPolicyRequest) (*string, *string) {
		return in.RegistryId, in.RepositoryName
	}),
	"DescribeImageReplicationStatus": named(func(in *ecrtypes.DescribeImageReplicationStatusRequest) (*string, *string) {
		return in.RegistryId, in.RepositoryName
	}),
	"DescribeImageScanFindings": named(func(in *ecrtypes.DescribeImageScanFindingsRequest) (*string, *string) {
		return in.RegistryId, in.RepositoryName
	}),
	"DescribeImageSigningStatus": named(func(in *ecrtypes.DescribeImageSigningStatusRequest) (*string, *string) {
		return in.RegistryId, in.RepositoryName
	}),
	"DescribeImages": named(func(in *ecrtypes.DescribeImagesRequest) (*string, *string) {
		return in.RegistryId, in.RepositoryName
	}),
	"GetDownloadUrlForLayer": named(func(in *ecrtypes.GetDownloadUrlForLayerRequest) (*string, *string) {
		return in.RegistryId, in.RepositoryName
	}),
	"GetLifecyclePolicy": named(func(in *ecrtypes.GetLifecyclePolicyRequest) (*string, *string) {
		return in.RegistryId, in.RepositoryName
	}),
	"GetLifecyclePolicyPreview": named(func(in *ecrtypes.GetLifecyclePolicyPreviewRequest) (*string, *string) {
		return in.RegistryId, in.RepositoryName
	}),
	"GetRepositoryPolicy": named(func(in *ecrtypes.GetRepositoryPolicyRequest) (*string, *string) {
		return in.RegistryId, in.RepositoryName
	}),
	"InitiateLayerUpload": named(func(in *ecrtypes.InitiateLayerUploadRequest) (*string, *string) {
		return in.RegistryId, in.RepositoryName
	}),
	// UNVERIFIED: the reference does not list ListImageReferrers yet; it is
	// read like ListImages.
	"ListImageReferrers": named(func(in *ecrtypes.ListImageReferrersRequest) (*string, *string) {
		return in.RegistryId, in.RepositoryName
	}),
	"ListImages": named(func(in *ecrtypes.ListImagesRequest) (*string, *string) {
		return in.RegistryId, in.RepositoryName
	}),
	"PutImage": named(func(in *ecrtypes.PutImageRequest) (*string, *string) {
		return in.RegistryId, in.RepositoryName
	}),
	"PutImageScanningConfiguration": named(func(in *ecrtypes.PutImageScanningConfigurationRequest) (*string, *string) {
		return in.RegistryId, in.RepositoryName
	}),
	"PutImageTagMutability": named(func(in *ecrtypes.PutImageTagMutabilityRequest) (*string, *string) {
		return in.RegistryId, in.RepositoryName
	}),
	"PutLifecyclePolicy": named(func(in *ecrtypes.PutLifecyclePolicyRequest) (*string, *string) {
		return in.RegistryId, in.RepositoryName
	}),
	"SetRepositoryPolicy": named(func(in *ecrtypes.SetRepositoryPolicyRequest) (*string, *string) {
		return in.RegistryId, in.RepositoryName
	}),
	"StartImageScan": named(func(in *ecrtypes.StartImageScanRequest) (*string, *string) {
		return in.RegistryId, in.RepositoryName
	}),
	"StartLifecyclePolicyPreview": named(func(in *ecrtypes.StartLifecyclePolicyPreviewRequest) (*string, *string) {
		return in.RegistryId, in.RepositoryName
	}),
	"UpdateImageStorageClass": named(func(in *ecrtypes.UpdateImageStorageClassRequest) (*string, *string) {
		return in.RegistryId, in.RepositoryName
	}),
	"UploadLayerPart": named(func(in *ecrtypes.UploadLayerPartRequest) (*string, *string) {
		return in.RegistryId, in.RepositoryName
	}),

	"BatchGetRepositoryScanningConfiguration": forInput(func(a *accessRequest, in *ecrtypes.BatchGetRepositoryScanningConfigurationRequest) {
		for _, name := range in.RepositoryNames {
			a.repository(nil, name)
		}
	}),
	// Creating a repository with tags needs ecr:TagResource as well.
	"CreateRepository": forInput(func(a *accessRequest, in *ecrtypes.CreateRepositoryRequest) {
		arn := a.s.repositoryARN(repositoryID(a.ctx, awsapi.Deref(in.RepositoryName)))
		a.add(awsapi.Access{Action: a.action(), Resource: arn, Context: requestTags(in.Tags)})
		if len(in.Tags) > 0 {
			a.add(awsapi.Access{Action: "ecr:TagResource", Resource: arn, Context: requestTags(in.Tags)})
		}
	}),
	// Without names, DescribeRepositories is authorized on every
	// repository, as ECR's denials name it.
	"DescribeRepositories": forInput(func(a *accessRequest, in *ecrtypes.DescribeRepositoriesRequest) {
		if len(in.RepositoryNames) == 0 {
			a.add(awsapi.Access{Action: a.action(), Resource: a.s.repositoryARN(repositoryID(a.ctx, "*"))})
		}
		for _, name := range in.RepositoryNames {
			a.repository(in.RegistryId, name)
		}
	}),

	"GetAccountSetting": forInput(func(a *accessRequest, in *ecrtypes.GetAccountSettingRequest) {
		a.accountSetting(in.Name)
	}),
	"PutAccountSetting": forInput(func(a *accessRequest, in *ecrtypes.PutAccountSettingRequest) {
		a.accountSetting(in.Name)
	}),

	"ListTagsForResource": forInput(func(a *accessRequest, in *ecrtypes.ListTagsForResourceRequest) {
		a.tagged(awsapi.Deref(in.ResourceArn), nil)
	}),
	"TagResource": forInput(func(a *accessRequest, in *ecrtypes.TagResourceRequest) {
		a.tagged(awsapi.Deref(in.ResourceArn), requestTags(in.Tags))
	}),
	"UntagResource": forInput(func(a *accessRequest, in *ecrtypes.UntagResourceRequest) {
		var c map[string][]string
		if len(in.TagKeys) > 0 {
			c = map[string][]string{"aws:TagKeys": in.TagKeys}
		}
		a.tagged(awsapi.Deref(in.ResourceArn), c)
	}),

	// Registry settings that pass ECR a role: for pull through cache, and
	// for the repositories a template creates.
	"CreatePullThroughCacheRule": forInput(func(a *accessRequest, in *ecrtypes.CreatePullThroughCacheRuleRequest) {
		a.passingRole(in.CustomRoleArn)
	}),
	"UpdatePullThroughCacheRule": forInput(func(a *accessRequest, in *ecrtypes.UpdatePullThroughCacheRuleRequest) {
		a.passingRole(in.CustomRoleArn)
	}),
	"CreateRepositoryCreationTemplate": forInput(func(a *accessRequest, in *ecrtypes.CreateRepositoryCreationTemplateRequest) {
		a.passingRole(in.CustomRoleArn)
	}),
	"UpdateRepositoryCreationTemplate": forInput(func(a *accessRequest, in *ecrtypes.UpdateRepositoryCreationTemplateRequest) {
		a.passingRole(in.CustomRoleArn)
	}),
}

// access is the service's awsapi.Service.Access: what a call needs in
// IAM's terms, as the Service Authorization Reference for Amazon Elastic
// Container Registry gives the actions, resource types and condition keys.
// A repository's policy goes with every access to it, so that it can
// grant what the caller's own policies do not. A repository that does not
// exist is authorized by the ARN the call names, as ECR authorizes before
// it looks; the handler then answers that it is missing.
func (s *service) access(ctx context.Context, operation string, input any) ([]awsapi.Access, error) {
	rule, ok := accessRules[operation]
	if !ok {
		return nil, nil
	}
	a := &accessRequest{s: s, ctx: ctx, operation: operation}
	rule(a, input)
	return a.accesses, a.err
}

// accessRequest collects what one call needs.
type accessRequest struct {
	s         *service
	ctx       context.Context
	operation string
	accesses  []awsapi.Access
	// err is the first store read that failed.
	err error
}

// action is the call's own action.
func (a *accessRequest) action() string { return "ecr:" + a.operation }

func (a *accessRequest) add(access awsapi.Access) { a.accesses = append(a.accesses, access) }

// repository adds the call's action on the repository name in the
// request's region, with its tags and policy. berth serves one registry:
// a repository of another is one that does not exist.
func (a *accessRequest) repository(registryID *string, name string) {
	id := repositoryID(a.ctx, name)
	access := awsapi.Access{Action: a.action(), Resource: a.s.repositoryARN(id)}
	if owner := awsapi.Deref(registryID); owner == "" || owner == a.s.account {
		a.withRepository(&access, id)
	}
	a.add(access)
}

// withRepository sets the tags and policy of the repository id, if it
// exists, on access.
func (a *accessRequest) withRepository(access *awsapi.Access, id ecrstate.RepositoryID) {
	repo, err := a.s.catalog.GetRepository(a.ctx, id)
	switch {
	case errors.Is(err, registry.ErrRepositoryNotFound):
	case err != nil:
		if a.err == nil {
			a.err = err
		}
	default:
		for k, v := range repo.TagConditions() {
			access.Context = with(access.Context, k, v[0])
		}
		access.ResourcePolicy = repo.Policy
	}
}

// tagged adds the call's action on the repository a tagging call's ARN
// names, with c; an ARN naming no repository here is authorized as given.
func (a *accessRequest) tagged(arn string, c map[string][]string) {
	access := awsapi.Access{Action: a.action(), Resource: arn, Context: c}
	if id, err := a.s.parseRepositoryARN(a.ctx, arn); err == nil {
		access.Resource = a.s.repositoryARN(id)
		a.withRepository(&access, id)
	}
	a.add(access)
}

func (a *accessRequest) accountSetting(name *string) {
	a.add(awsapi.Access{Action: a.action(), Resource: "*", Context: map[string][]string{"ecr:AccountSetting": {awsapi.Deref(name)}}})
}

// passingRole adds the call's action, which names no resource, and
// iam:PassRole on role if the call gives one. UNVERIFIED: the service the
// role is passed to, which the reference does not name.
func (a *accessRequest) passingRole(role *string) {
	a.add(awsapi.Access{Action: a.action(), Resource: "*"})
	if arn := awsapi.Deref(role); arn != "" {
		a.add(awsapi.Access{Action: "iam:PassRole", Resource: arn})
	}
}

// requestTags are the condition keys of tags a call gives, nil for none.
func requestTags(tags []ecrtypes.Tag) map[string][]string {
	var c map[string][]string
	for _, t := range tags {
		key := awsapi.Deref(t.Key)
		c = with(c, "aws:RequestTag/"+key, awsapi.Deref(t.Value))
		c = with(c, "aws:TagKeys", key)
	}
	return c
}

// with adds value to key's values in c, made if nil.
func with(c map[string][]string, key, value string) map[string][]string {
	if c == nil {
		c = map[string][]string{}
	}
	c[key] = append(c[key], value)
	return c
}
