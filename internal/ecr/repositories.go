package ecr

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecr/ecrstate"
	"github.com/berth/berth/internal/ecr/ecrtypes"
	"github.com/berth/berth/internal/registry"
)

func checkRepositoryName(name string) error {
	switch {
	case len(name) < 2:
		return validationError("repositoryName", name, "Member must have length greater than or equal to 2")
	case len(name) > 256:
		return validationError("repositoryName", name, "Member must have length less than or equal to 256")
	case !registry.ValidRepositoryName(name):
		return validationError("repositoryName", name, "Member must satisfy regular expression pattern: "+registry.RepositoryNamePattern)
	}
	return nil
}

const exclusionFilterPattern = `^[0-9a-zA-Z._*-]{1,128}$`

var exclusionFilterRE = regexp.MustCompile(exclusionFilterPattern)

// tagMutability validates a tag mutability setting and its exclusion
// filters and returns them as the catalog keeps them.
func tagMutability(mutability string, filters []ecrtypes.ImageTagMutabilityExclusionFilter) ([]string, error) {
	const param = "imageTagMutabilityExclusionFilters"
	withExclusions := false
	switch mutability {
	case ecrtypes.ImageTagMutabilityMutable, ecrtypes.ImageTagMutabilityImmutable:
	case ecrtypes.ImageTagMutabilityImmutableWithExclusion, ecrtypes.ImageTagMutabilityMutableWithExclusion:
		withExclusions = true
	default:
		return nil, validationError("imageTagMutability", mutability, "Member must satisfy enum value set: [MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION]")
	}
	switch {
	case withExclusions && len(filters) == 0:
		// UNVERIFIED wording.
		return nil, invalidParameter(param, "Exclusion filters are required when imageTagMutability is "+mutability)
	case !withExclusions && len(filters) > 0:
		// UNVERIFIED wording.
		return nil, invalidParameter(param, "Exclusion filters can only be specified when imageTagMutability is IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION")
	case len(filters) > 5:
		return nil, validationError(param, "", "Member must have length less than or equal to 5")
	}
	var out []string
	for i, f := range filters {
		path := fmt.Sprintf("%s.member.%d", param, i+1)
		if t := awsapi.Deref(f.FilterType); t != ecrtypes.ImageTagMutabilityExclusionFilterTypeWildcard {
			return nil, validationError(path+".filterType", t, "Member must satisfy enum value set: [WILDCARD]")
		}
		if v := awsapi.Deref(f.Filter); !exclusionFilterRE.MatchString(v) {
			return nil, validationError(path+".filter", v, "Member must satisfy regular expression pattern: "+exclusionFilterPattern)
		}
		out = append(out, *f.Filter)
	}
	return out, nil
}

func exclusionFiltersOutput(filters []string) []ecrtypes.ImageTagMutabilityExclusionFilter {
	var out []ecrtypes.ImageTagMutabilityExclusionFilter
	for _, f := range filters {
		out = append(out, ecrtypes.ImageTagMutabilityExclusionFilter{Filter: awsapi.String(f), FilterType: awsapi.String(ecrtypes.ImageTagMutabilityExclusionFilterTypeWildcard)})
	}
	return out
}

// encryption validates an encryption configuration and returns what the
// repository records: the type and, for KMS types, the ARN of the key.
//
// berth has no KMS. Every blob is sealed with berth's own AES-256-GCM key
// from the data dir whatever the type says (internal/blob/local), so the
// setting only changes what the API reports. The one KMS key an account
// without customer keys has is the AWS managed key aws/ecr, so KMS and
// KMS_DSSE are accepted with no key or with a name of that key; any other
// key does not exist here and fails as a missing key fails in ECR.
func (s *service) encryption(region string, cfg *ecrtypes.EncryptionConfiguration) (encType, kmsKey string, err error) {
	if cfg == nil {
		return ecrtypes.EncryptionTypeAes256, "", nil
	}
	encType, kmsKey = awsapi.Deref(cfg.EncryptionType), awsapi.Deref(cfg.KmsKey)
	switch encType {
	case ecrtypes.EncryptionTypeAes256:
		if cfg.KmsKey != nil {
			// UNVERIFIED wording.
			return "", "", invalidParameter("encryptionConfiguration.kmsKey", "kmsKey can only be specified when encryptionType is KMS or KMS_DSSE")
		}
		return encType, "", nil
	case ecrtypes.EncryptionTypeKms, ecrtypes.EncryptionTypeKmsDsse:
		if cfg.KmsKey != nil && (len(kmsKey) < 1 || len(kmsKey) > 2048) {
			return "", "", validationError("encryptionConfiguration.kmsKey", kmsKey, "Member must have length between 1 and 2048")
		}
	default:
		return "", "", validationError("encryptionConfiguration.encryptionType", encType, "Member must satisfy enum value set: [AES256, KMS, KMS_DSSE]")
	}
	managed := managedKMSKey(s.account, region)
	if cfg.KmsKey == nil || managed.names(kmsKey) {
		// ECR reports the managed key by its key ARN when no key is given
		// (as moto models it); an alias given for it is reported the same
		// way (UNVERIFIED: ECR may echo the alias).
		return encType, managed.arn(), nil
	}
	return "", "", errKMSKeyNotFound(kmsKey, s.account, region)
}

// kmsKeyRef is a KMS key in one account and region.
type kmsKeyRef struct {
	account, region, id, alias string
}

// managedKMSKey is the AWS managed key aws/ecr of an account and region.
// Its key id is derived from the two, so it is the same on every start and
// needs no storage, yet differs between accounts and regions as real key
// ids do.
func managedKMSKey(account, region string) kmsKeyRef {
	sum := sha256.Sum256([]byte("berth aws/ecr managed key\x00" + account + "\x00" + region))
	sum[6] = sum[6]&0x0f | 0x40 // the shape of a version 4 UUID, like KMS key ids
	sum[8] = sum[8]&0x3f | 0x80
	id := fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
	return kmsKeyRef{account: account, region: region, id: id, alias: "alias/aws/ecr"}
}

func (k kmsKeyRef) arn() string {
	return "arn:aws:kms:" + k.region + ":" + k.account + ":key/" + k.id
}

// names reports whether ref identifies the key in one of the four ways KMS
// takes: key id, key ARN, alias name or alias ARN.
func (k kmsKeyRef) names(ref string) bool {
	prefix := "arn:aws:kms:" + k.region + ":" + k.account + ":"
	switch ref {
	case k.id, k.alias, prefix + "key/" + k.id, prefix + k.alias:
		return true
	}
	return false
}

// errKMSKeyNotFound is ECR's KmsException for a key that does not exist,
// carrying KMS's own NotFoundException message. UNVERIFIED: the exception
// is the one ECR's model lists for KMS failures, and the messages are KMS's
// for a missing key and alias, but no capture of ECR's text for
// CreateRepository with a missing key was available. (ECR also sets
// kmsError to KMS's error code, NotFoundException; berth's error shape has
// no field for it.)
func errKMSKeyNotFound(ref, account, region string) *awsapi.Error {
	// KMS resolves a bare key id or alias name in the caller's account and
	// region, and names it by its ARN.
	name := ref
	switch {
	case strings.HasPrefix(ref, "arn:"):
	case strings.HasPrefix(ref, "alias/"):
		name = "arn:aws:kms:" + region + ":" + account + ":" + ref
	default:
		name = "arn:aws:kms:" + region + ":" + account + ":key/" + ref
	}
	if strings.HasPrefix(ref, "alias/") || strings.Contains(ref, ":alias/") {
		return awsapi.Errorf("KmsException", "Alias %s is not found.", name)
	}
	return awsapi.Errorf("KmsException", "Key '%s' does not exist", name)
}

const maxRepositoryTags = 50

// checkTags validates tags as TagResource and CreateRepository take them.
func checkTags(tags []ecrtypes.Tag) error {
	for _, t := range tags {
		key, value := awsapi.Deref(t.Key), awsapi.Deref(t.Value)
		// UNVERIFIED wording for the three messages.
		switch {
		case len(key) < 1 || len(key) > 128:
			return awsapi.Errorf("InvalidTagParameterException", "The tag key '%s' is not valid: tag keys must be 1 to 128 characters long", key)
		case strings.HasPrefix(strings.ToLower(key), "aws:"):
			return awsapi.Errorf("InvalidTagParameterException", "The tag key '%s' is not valid: the aws: prefix is reserved for AWS use", key)
		case len(value) > 256:
			return awsapi.Errorf("InvalidTagParameterException", "The value of tag '%s' is not valid: tag values can be at most 256 characters long", key)
		}
	}
	return nil
}

// mergeTags sets tags on existing ones, a key given again replacing its
// value, and enforces the per-repository limit.
func mergeTags(repo string, existing []ecrstate.ResourceTag, tags []ecrtypes.Tag) ([]ecrstate.ResourceTag, error) {
	out := append([]ecrstate.ResourceTag(nil), existing...)
	for _, t := range tags {
		tag := ecrstate.ResourceTag{Key: *t.Key, Value: awsapi.Deref(t.Value)}
		replaced := false
		for i := range out {
			if out[i].Key == tag.Key {
				out[i].Value, replaced = tag.Value, true
			}
		}
		if !replaced {
			out = append(out, tag)
		}
	}
	if len(out) > maxRepositoryTags {
		// UNVERIFIED wording.
		return nil, awsapi.Errorf("TooManyTagsException", "The repository with name '%s' would have %d tags; a repository can have at most %d tags", repo, len(out), maxRepositoryTags)
	}
	return out, nil
}

func (s *service) createRepository(ctx context.Context, in *ecrtypes.CreateRepositoryRequest) (*ecrtypes.CreateRepositoryResponse, error) {
	name := awsapi.Deref(in.RepositoryName)
	if err := s.ownRegistry("registryId", awsapi.Deref(in.RegistryId)); err != nil {
		return nil, err
	}
	if err := checkRepositoryName(name); err != nil {
		return nil, err
	}
	mutability := awsapi.Deref(in.ImageTagMutability)
	if mutability == "" {
		mutability = ecrtypes.ImageTagMutabilityMutable
	}
	exclusions, err := tagMutability(mutability, in.ImageTagMutabilityExclusionFilters)
	if err != nil {
		return nil, err
	}
	region := awsapi.RequestFrom(ctx).Region
	encType, kmsKey, err := s.encryption(region, in.EncryptionConfiguration)
	if err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	tags, err := mergeTags(name, nil, in.Tags)
	if err != nil {
		return nil, err
	}
	scanOnPush := false
	if in.ImageScanningConfiguration != nil {
		scanOnPush = awsapi.Deref(in.ImageScanningConfiguration.ScanOnPush)
	}
	repo, err := s.catalog.CreateRepository(ctx, ecrstate.RepositoryID{Region: region, Name: name}, ecrstate.Repository{
		TagMutability:           mutability,
		TagMutabilityExclusions: exclusions,
		ScanOnPush:              scanOnPush,
		EncryptionType:          encType,
		KMSKey:                  kmsKey,
		Tags:                    tags,
	})
	if err != nil {
		return nil, subject{repo: name}.wrap(err)
	}
	s.log.InfoContext(ctx, "ecr: repository created", "region", region, "repository", name)
	return &ecrtypes.CreateRepositoryResponse{Repository: s.repositoryOutput(region, repo)}, nil
}

func (s *service) describeRepositories(ctx context.Context, in *ecrtypes.DescribeRepositoriesRequest) (*ecrtypes.DescribeRepositoriesResponse, error) {
	const op = "DescribeRepositories"
	if len(in.RepositoryNames) > 0 {
		if id := awsapi.Deref(in.RegistryId); id != "" && id != s.account {
			return nil, subject{repo: in.RepositoryNames[0], registry: id}.wrap(registry.ErrRepositoryNotFound)
		}
		// UNVERIFIED wording for the two messages.
		if in.MaxResults != nil {
			return nil, invalidParameter("maxResults", "maxResults cannot be specified together with repositoryNames")
		}
		if in.NextToken != nil {
			return nil, invalidParameter("nextToken", "nextToken cannot be specified together with repositoryNames")
		}
		out := &ecrtypes.DescribeRepositoriesResponse{Repositories: []ecrtypes.Repository{}}
		region := awsapi.RequestFrom(ctx).Region
		seen := map[string]bool{}
		for _, name := range in.RepositoryNames {
			if seen[name] {
				continue
			}
			seen[name] = true
			repo, err := s.catalog.GetRepository(ctx, repositoryID(ctx, name))
			if err != nil {
				return nil, subject{repo: name}.wrap(err)
			}
			out.Repositories = append(out.Repositories, *s.repositoryOutput(region, repo))
		}
		return out, nil
	}
	if err := s.ownRegistry("registryId", awsapi.Deref(in.RegistryId)); err != nil {
		return nil, err
	}
	if err := checkMaxResults(in.MaxResults); err != nil {
		return nil, err
	}
	after, err := decodeToken(in.NextToken, op, "", 1)
	if err != nil {
		return nil, err
	}
	startAfter := ""
	if after != nil {
		startAfter = after[0]
	}
	limit := pageSize(in.MaxResults)
	region := awsapi.RequestFrom(ctx).Region
	repos, err := s.catalog.ListRepositories(ctx, region, startAfter, limit+1)
	if err != nil {
		return nil, err
	}
	out := &ecrtypes.DescribeRepositoriesResponse{Repositories: []ecrtypes.Repository{}}
	if len(repos) > limit {
		repos = repos[:limit]
		out.NextToken = encodeToken(op, "", repos[limit-1].Name)
	}
	for _, repo := range repos {
		out.Repositories = append(out.Repositories, *s.repositoryOutput(region, repo))
	}
	return out, nil
}

func (s *service) deleteRepository(ctx context.Context, in *ecrtypes.DeleteRepositoryRequest) (*ecrtypes.DeleteRepositoryResponse, error) {
	id, err := s.repositoryIn(ctx, in.RegistryId, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	repo, err := s.catalog.DeleteRepository(ctx, id, awsapi.Deref(in.Force))
	if err != nil {
		return nil, subject{repo: id.Name}.wrap(err)
	}
	s.log.InfoContext(ctx, "ecr: repository deleted", "region", id.Region, "repository", id.Name, "force", awsapi.Deref(in.Force))
	return &ecrtypes.DeleteRepositoryResponse{Repository: s.repositoryOutput(id.Region, repo)}, nil
}

// update applies change to a repository; its errors carry the repository.
func (s *service) update(ctx context.Context, id ecrstate.RepositoryID, change func(*ecrstate.Repository) error) (ecrstate.Repository, error) {
	repo, err := s.catalog.UpdateRepository(ctx, id, change)
	if err != nil {
		return repo, subject{repo: id.Name}.wrap(err)
	}
	return repo, nil
}

func (s *service) putImageTagMutability(ctx context.Context, in *ecrtypes.PutImageTagMutabilityRequest) (*ecrtypes.PutImageTagMutabilityResponse, error) {
	id, err := s.repositoryIn(ctx, in.RegistryId, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	mutability := awsapi.Deref(in.ImageTagMutability)
	exclusions, err := tagMutability(mutability, in.ImageTagMutabilityExclusionFilters)
	if err != nil {
		return nil, err
	}
	repo, err := s.update(ctx, id, func(r *ecrstate.Repository) error {
		r.TagMutability, r.TagMutabilityExclusions = mutability, exclusions
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ecrtypes.PutImageTagMutabilityResponse{
		RegistryId:                         awsapi.String(s.account),
		RepositoryName:                     awsapi.String(id.Name),
		ImageTagMutability:                 awsapi.String(repo.TagMutability),
		ImageTagMutabilityExclusionFilters: exclusionFiltersOutput(repo.TagMutabilityExclusions),
	}, nil
}

func (s *service) putImageScanningConfiguration(ctx context.Context, in *ecrtypes.PutImageScanningConfigurationRequest) (*ecrtypes.PutImageScanningConfigurationResponse, error) {
	id, err := s.repositoryIn(ctx, in.RegistryId, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	scanOnPush := in.ImageScanningConfiguration != nil && awsapi.Deref(in.ImageScanningConfiguration.ScanOnPush)
	repo, err := s.update(ctx, id, func(r *ecrstate.Repository) error {
		r.ScanOnPush = scanOnPush
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ecrtypes.PutImageScanningConfigurationResponse{
		RegistryId:                 awsapi.String(s.account),
		RepositoryName:             awsapi.String(id.Name),
		ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: awsapi.Bool(repo.ScanOnPush)},
	}, nil
}

// checkRepositoryPolicy accepts an IAM resource policy: a JSON object whose
// Statement holds one or more statements, each with an Effect, a principal
// and actions.
func checkRepositoryPolicy(text string) error {
	return checkPolicyDocument(text, invalidParameter("PolicyText", "Invalid repository policy provided"))
}

// checkPolicyDocument answers invalid unless text is a resource policy:
// statements each with an effect, a principal and an action.
func checkPolicyDocument(text string, invalid error) error {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &doc); err != nil || doc == nil {
		return invalid
	}
	var statements []map[string]json.RawMessage
	raw := bytes.TrimSpace(doc["Statement"])
	switch {
	case len(raw) == 0:
		return invalid
	case raw[0] == '[':
		if json.Unmarshal(raw, &statements) != nil {
			return invalid
		}
	default:
		var one map[string]json.RawMessage
		if json.Unmarshal(raw, &one) != nil {
			return invalid
		}
		statements = append(statements, one)
	}
	if len(statements) == 0 {
		return invalid
	}
	for _, st := range statements {
		var effect string
		if json.Unmarshal(st["Effect"], &effect) != nil || (effect != "Allow" && effect != "Deny") {
			return invalid
		}
		if st["Principal"] == nil && st["NotPrincipal"] == nil {
			return invalid
		}
		if st["Action"] == nil && st["NotAction"] == nil {
			return invalid
		}
	}
	return nil
}

func (s *service) setRepositoryPolicy(ctx context.Context, in *ecrtypes.SetRepositoryPolicyRequest) (*ecrtypes.SetRepositoryPolicyResponse, error) {
	id, err := s.repositoryIn(ctx, in.RegistryId, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	text := awsapi.Deref(in.PolicyText)
	if err := checkRepositoryPolicy(text); err != nil {
		return nil, err
	}
	if _, err := s.update(ctx, id, func(r *ecrstate.Repository) error {
		r.Policy = text
		return nil
	}); err != nil {
		return nil, err
	}
	return &ecrtypes.SetRepositoryPolicyResponse{RegistryId: awsapi.String(s.account), RepositoryName: awsapi.String(id.Name), PolicyText: awsapi.String(text)}, nil
}

func (s *service) getRepositoryPolicy(ctx context.Context, in *ecrtypes.GetRepositoryPolicyRequest) (*ecrtypes.GetRepositoryPolicyResponse, error) {
	id, err := s.repositoryIn(ctx, in.RegistryId, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	repo, err := s.catalog.GetRepository(ctx, id)
	if err != nil {
		return nil, subject{repo: id.Name}.wrap(err)
	}
	if repo.Policy == "" {
		return nil, subject{repo: id.Name}.wrap(errRepositoryPolicyNotFound)
	}
	return &ecrtypes.GetRepositoryPolicyResponse{RegistryId: awsapi.String(s.account), RepositoryName: awsapi.String(id.Name), PolicyText: awsapi.String(repo.Policy)}, nil
}

func (s *service) deleteRepositoryPolicy(ctx context.Context, in *ecrtypes.DeleteRepositoryPolicyRequest) (*ecrtypes.DeleteRepositoryPolicyResponse, error) {
	id, err := s.repositoryIn(ctx, in.RegistryId, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	var old string
	if _, err := s.update(ctx, id, func(r *ecrstate.Repository) error {
		if r.Policy == "" {
			return subject{repo: id.Name}.wrap(errRepositoryPolicyNotFound)
		}
		old, r.Policy = r.Policy, ""
		return nil
	}); err != nil {
		return nil, err
	}
	return &ecrtypes.DeleteRepositoryPolicyResponse{RegistryId: awsapi.String(s.account), RepositoryName: awsapi.String(id.Name), PolicyText: awsapi.String(old)}, nil
}

func (s *service) tagResource(ctx context.Context, in *ecrtypes.TagResourceRequest) (*ecrtypes.TagResourceResponse, error) {
	id, err := s.parseRepositoryARN(ctx, awsapi.Deref(in.ResourceArn))
	if err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	if _, err := s.update(ctx, id, func(r *ecrstate.Repository) error {
		tags, err := mergeTags(id.Name, r.Tags, in.Tags)
		r.Tags = tags
		return err
	}); err != nil {
		return nil, err
	}
	return &ecrtypes.TagResourceResponse{}, nil
}

func (s *service) untagResource(ctx context.Context, in *ecrtypes.UntagResourceRequest) (*ecrtypes.UntagResourceResponse, error) {
	id, err := s.parseRepositoryARN(ctx, awsapi.Deref(in.ResourceArn))
	if err != nil {
		return nil, err
	}
	remove := map[string]bool{}
	for _, k := range in.TagKeys {
		remove[k] = true
	}
	if _, err := s.update(ctx, id, func(r *ecrstate.Repository) error {
		var kept []ecrstate.ResourceTag
		for _, t := range r.Tags {
			if !remove[t.Key] {
				kept = append(kept, t)
			}
		}
		r.Tags = kept
		return nil
	}); err != nil {
		return nil, err
	}
	return &ecrtypes.UntagResourceResponse{}, nil
}

func (s *service) listTagsForResource(ctx context.Context, in *ecrtypes.ListTagsForResourceRequest) (*ecrtypes.ListTagsForResourceResponse, error) {
	id, err := s.parseRepositoryARN(ctx, awsapi.Deref(in.ResourceArn))
	if err != nil {
		return nil, err
	}
	repo, err := s.catalog.GetRepository(ctx, id)
	if err != nil {
		return nil, subject{repo: id.Name}.wrap(err)
	}
	out := &ecrtypes.ListTagsForResourceResponse{Tags: []ecrtypes.Tag{}}
	for _, t := range repo.Tags {
		out.Tags = append(out.Tags, ecrtypes.Tag{Key: awsapi.String(t.Key), Value: awsapi.String(t.Value)})
	}
	return out, nil
}
