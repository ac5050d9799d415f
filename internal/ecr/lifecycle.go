package ecr

import (
	"context"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecr/ecrstate"
	"github.com/berth/berth/internal/ecr/ecrtypes"
	"github.com/berth/berth/internal/ecr/lifecycle"
)

// The lifecycle policy language lives in package lifecycle, which the
// lifecycle controller shares; these are its types under the API's names.
type (
	LifecyclePolicy    = lifecycle.Policy
	LifecycleRule      = lifecycle.Rule
	LifecycleSelection = lifecycle.Selection
	LifecycleAction    = lifecycle.Action
)

// ParseLifecyclePolicy validates a lifecycle policy as ECR does and returns
// it parsed; an invalid policy is an invalid LifecyclePolicyText parameter
// (ECR's InvalidParameterException).
func ParseLifecyclePolicy(text string) (*LifecyclePolicy, error) {
	policy, err := lifecycle.Parse(text)
	var bad *lifecycle.InvalidPolicyError
	if errors.As(err, &bad) {
		return nil, invalidParameter("LifecyclePolicyText", bad.Error())
	}
	return policy, err
}

// Lifecycle policy operations. The policy is kept, verbatim, on the
// repository; applying it is the lifecycle controller's job.

func checkLifecyclePolicyText(text string) (*LifecyclePolicy, error) {
	switch {
	case utf8.RuneCountInString(text) < 100:
		return nil, validationError("lifecyclePolicyText", text, "Member must have length greater than or equal to 100")
	case utf8.RuneCountInString(text) > 30720:
		return nil, validationError("lifecyclePolicyText", text, "Member must have length less than or equal to 30720")
	}
	return ParseLifecyclePolicy(text)
}

func (s *service) putLifecyclePolicy(ctx context.Context, in *ecrtypes.PutLifecyclePolicyRequest) (*ecrtypes.PutLifecyclePolicyResponse, error) {
	repo, err := s.repositoryIn(ctx, in.RegistryId, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	text := awsapi.Deref(in.LifecyclePolicyText)
	policy, err := checkLifecyclePolicyText(text)
	if err != nil {
		return nil, err
	}
	if _, err := s.update(ctx, repo, func(r *ecrstate.Repository) error {
		r.LifecyclePolicy, r.LifecyclePolicyAt = text, s.now()
		return nil
	}); err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "ecr: lifecycle policy set", "region", repo.Region, "repository", repo.Name, "rules", len(policy.Rules))
	return &ecrtypes.PutLifecyclePolicyResponse{RegistryId: awsapi.String(s.account), RepositoryName: awsapi.String(repo.Name), LifecyclePolicyText: awsapi.String(text)}, nil
}

func (s *service) getLifecyclePolicy(ctx context.Context, in *ecrtypes.GetLifecyclePolicyRequest) (*ecrtypes.GetLifecyclePolicyResponse, error) {
	repo, err := s.repositoryIn(ctx, in.RegistryId, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	r, err := s.catalog.GetRepository(ctx, repo)
	if err != nil {
		return nil, subject{repo: repo.Name}.wrap(err)
	}
	if r.LifecyclePolicy == "" {
		return nil, subject{repo: repo.Name}.wrap(errLifecyclePolicyNotFound)
	}
	return &ecrtypes.GetLifecyclePolicyResponse{RegistryId: awsapi.String(s.account), RepositoryName: awsapi.String(repo.Name),
		LifecyclePolicyText: awsapi.String(r.LifecyclePolicy), LastEvaluatedAt: lastEvaluatedAt(r)}, nil
}

func (s *service) deleteLifecyclePolicy(ctx context.Context, in *ecrtypes.DeleteLifecyclePolicyRequest) (*ecrtypes.DeleteLifecyclePolicyResponse, error) {
	repo, err := s.repositoryIn(ctx, in.RegistryId, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	var old ecrstate.Repository
	if _, err := s.update(ctx, repo, func(r *ecrstate.Repository) error {
		if r.LifecyclePolicy == "" {
			return subject{repo: repo.Name}.wrap(errLifecyclePolicyNotFound)
		}
		old = *r
		r.LifecyclePolicy, r.LifecyclePolicyEvaluatedAt = "", time.Time{}
		return nil
	}); err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "ecr: lifecycle policy deleted", "region", repo.Region, "repository", repo.Name)
	return &ecrtypes.DeleteLifecyclePolicyResponse{RegistryId: awsapi.String(s.account), RepositoryName: awsapi.String(repo.Name),
		LifecyclePolicyText: awsapi.String(old.LifecyclePolicy), LastEvaluatedAt: lastEvaluatedAt(old)}, nil
}

// lastEvaluatedAt is when the repository's lifecycle policy was last
// evaluated, as ECR answers it: 0 (the epoch) while it never was.
func lastEvaluatedAt(r ecrstate.Repository) *awsapi.Timestamp {
	if r.LifecyclePolicyEvaluatedAt.IsZero() {
		return awsapi.Time(time.Unix(0, 0))
	}
	return awsapi.Time(r.LifecyclePolicyEvaluatedAt)
}
