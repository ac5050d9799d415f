package secretsmanager

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/iam/policy"
	"github.com/berth/berth/internal/secretsmanager/smstate"
	"github.com/berth/berth/internal/secretsmanager/smtypes"
	"github.com/berth/berth/internal/store"
)

// ResourcePolicy returns the ARN of the secret secretID names (resolved
// as ResolveValue resolves it) and its resource policy ("" for none), for
// authorizing a request against the secret. A secret scheduled for
// deletion keeps its policy. The error is ErrSecretNotFound for a secret
// that does not exist.
func (s *SecretsManager) ResourcePolicy(ctx context.Context, region, secretID string) (arn, policyText string, err error) {
	ref, err := s.parseSecretID(region, secretID)
	if errors.Is(err, errInvalidName) {
		return "", "", fmt.Errorf("%w: %q is neither a secret name nor an ARN", ErrSecretNotFound, secretID)
	}
	if err != nil {
		return "", "", err
	}
	cur, err := s.load(ctx, ref)
	if err != nil {
		return "", "", err
	}
	return cur.Value.ARN, cur.Value.ResourcePolicy, nil
}

func (s *SecretsManager) putResourcePolicy(ctx context.Context, in *smtypes.PutResourcePolicyRequest) (*smtypes.PutResourcePolicyResponse, error) {
	text := awsapi.Deref(in.ResourcePolicy)
	parsed, err := policy.Parse(text, policy.Resource)
	if err != nil {
		return nil, err
	}
	sec, err := s.changeActive(ctx, in.SecretId, func(sec *smstate.Secret, now time.Time) ([]store.Op, error) {
		if awsapi.Deref(in.BlockPublicPolicy) {
			broad, err := s.broadAccess(parsed, sec.ARN)
			if err != nil {
				return nil, err
			}
			if broad {
				return nil, errPublicPolicy
			}
		}
		sec.ResourcePolicy, sec.LastChanged = text, now
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	return &smtypes.PutResourcePolicyResponse{ARN: awsapi.String(sec.ARN), Name: awsapi.String(sec.Name)}, nil
}

func (s *SecretsManager) getResourcePolicy(ctx context.Context, in *smtypes.GetResourcePolicyRequest) (*smtypes.GetResourcePolicyResponse, error) {
	cur, err := s.lookup(ctx, in.SecretId)
	if err != nil {
		return nil, err
	}
	sec := cur.Value
	// UNVERIFIED: that the policy operations refuse a secret scheduled for
	// deletion, as the value and tag operations do.
	if sec.ScheduledForDeletion() {
		return nil, ErrMarkedForDeletion
	}
	return &smtypes.GetResourcePolicyResponse{
		ARN:            awsapi.String(sec.ARN),
		Name:           awsapi.String(sec.Name),
		ResourcePolicy: awsapi.OptionalString(sec.ResourcePolicy),
	}, nil
}

func (s *SecretsManager) deleteResourcePolicy(ctx context.Context, in *smtypes.DeleteResourcePolicyRequest) (*smtypes.DeleteResourcePolicyResponse, error) {
	sec, err := s.changeActive(ctx, in.SecretId, func(sec *smstate.Secret, now time.Time) ([]store.Op, error) {
		if sec.ResourcePolicy == "" {
			return nil, errNoChange
		}
		sec.ResourcePolicy, sec.LastChanged = "", now
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	return &smtypes.DeleteResourcePolicyResponse{ARN: awsapi.String(sec.ARN), Name: awsapi.String(sec.Name)}, nil
}

func (s *SecretsManager) validateResourcePolicy(ctx context.Context, in *smtypes.ValidateResourcePolicyRequest) (*smtypes.ValidateResourcePolicyResponse, error) {
	parsed, err := policy.Parse(awsapi.Deref(in.ResourcePolicy), policy.Resource)
	if err != nil {
		return nil, err
	}
	// Without a secret, the policy is judged for any secret of the region.
	resource := "arn:aws:secretsmanager:" + region(ctx) + ":" + s.account + ":secret:*"
	if in.SecretId != nil {
		cur, err := s.lookup(ctx, in.SecretId)
		if err != nil {
			return nil, err
		}
		resource = cur.Value.ARN
	}
	broad, err := s.broadAccess(parsed, resource)
	if err != nil {
		return nil, err
	}
	out := &smtypes.ValidateResourcePolicyResponse{PolicyValidationPassed: awsapi.Bool(!broad), ValidationErrors: []smtypes.ValidationErrorsEntry{}}
	if broad {
		// UNVERIFIED: the check's name and wording.
		out.ValidationErrors = append(out.ValidationErrors, smtypes.ValidationErrorsEntry{
			CheckName:    awsapi.String("BROAD_ACCESS"),
			ErrorMessage: awsapi.String("The policy grants access to the secret to principals outside the account without a condition that narrows it."),
		})
	}
	return out, nil
}

// probeIdentity is the identity policy of the principal broadAccess asks
// about: it may do anything its account allows, so that the resource
// policy alone decides.
var probeIdentity = sync.OnceValues(func() (*policy.Policy, error) {
	return policy.Parse(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`, policy.Identity)
})

// broadAccess reports whether p lets anyone do something to the secret
// resource names: what BlockPublicPolicy refuses and
// ValidateResourcePolicy reports. Secrets Manager decides it with an
// automated reasoning engine; berth asks the policy evaluator whether a
// principal of another account, named by no statement and meeting no
// condition, may call any of the API's actions. That catches a wildcard
// principal that no condition narrows, and trusts every condition to.
func (s *SecretsManager) broadAccess(p *policy.Policy, resource string) (bool, error) {
	identity, err := probeIdentity()
	if err != nil {
		return false, fmt.Errorf("the probe's identity policy: %w", err)
	}
	outsider := "000000000000"
	if s.account == outsider {
		outsider = "000000000001"
	}
	set := policy.Set{
		Identity: []policy.Source{{Name: "probe", Policy: identity}},
		Resource: []policy.Source{{Name: "resource policy", Policy: p}},
	}
	for _, op := range smtypes.Operations {
		d := policy.Evaluate(policy.Request{
			Principal: policy.Principal{ARN: "arn:aws:iam::" + outsider + ":user/probe", Account: outsider},
			Action:    "secretsmanager:" + op,
			Resource:  resource,
		}, set)
		if d.Effect == policy.Allowed {
			return true, nil
		}
	}
	return false, nil
}
