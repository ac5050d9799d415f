package secretsmanager

import (
	"context"
	"errors"
	"maps"
	"reflect"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/secretsmanager/smstate"
	"github.com/berth/berth/internal/secretsmanager/smtypes"
)

// access is what a Secrets Manager call needs in IAM's terms, as the
// Service Authorization Reference lists it: "secretsmanager:<operation>"
// on the secret's complete ARN, whatever form the call named it in (so
// that a policy naming "secret:db-*" matches), with the secret's resource
// policy and tags, for the calls on one secret; CreateSecret on the name's
// ARN without the random suffix it does not have yet (UNVERIFIED); "*" for
// ListSecrets, BatchGetSecretValue and GetRandomPassword.
func (s *SecretsManager) access(ctx context.Context, op string, input any) ([]awsapi.Access, error) {
	action := "secretsmanager:" + op
	if in, ok := input.(*smtypes.CreateSecretRequest); ok {
		acc := awsapi.Access{Action: action, Resource: s.namedARN(ctx, awsapi.Deref(in.Name)), Context: requestTags(in.Tags)}
		return []awsapi.Access{acc}, nil
	}
	secretID, ok := secretIDOf(input)
	if !ok || secretID == "" {
		return nil, nil // "*"
	}
	acc := awsapi.Access{Action: action}
	ref, err := s.parseSecretID(region(ctx), secretID)
	if err != nil {
		// The handler answers what is wrong with the id; the caller must
		// first be allowed to ask about it.
		acc.Resource = secretID
		if !isARN(secretID) {
			acc.Resource = s.namedARN(ctx, secretID)
		}
		return []awsapi.Access{acc}, nil
	}
	cur, err := s.load(ctx, ref)
	switch {
	case errors.Is(err, ErrSecretNotFound):
		acc.Resource = s.namedARN(ctx, ref.id.Name)
		if ref.arn != "" {
			acc.Resource = ref.arn
		}
	case err != nil:
		return nil, err
	default:
		acc.Resource, acc.ResourcePolicy = cur.Value.ARN, cur.Value.ResourcePolicy
		acc.Context = resourceTags(cur.Value.Tags)
	}
	switch in := input.(type) {
	case *smtypes.TagResourceRequest:
		acc.Context = merge(acc.Context, requestTags(in.Tags))
	case *smtypes.UntagResourceRequest:
		acc.Context = merge(acc.Context, map[string][]string{"aws:TagKeys": in.TagKeys})
	}
	return []awsapi.Access{acc}, nil
}

// namedARN is the ARN policies see for a secret known only by name: the
// secret's ARN without its random suffix.
func (s *SecretsManager) namedARN(ctx context.Context, name string) string {
	return "arn:aws:secretsmanager:" + region(ctx) + ":" + s.account + ":secret:" + name
}

func isARN(s string) bool { return strings.HasPrefix(s, "arn:") }

// secretIDOf is the SecretId member of a request, for the operations on
// one secret.
func secretIDOf(input any) (string, bool) {
	v := reflect.ValueOf(input)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return "", false
	}
	f := v.Elem().FieldByName("SecretId")
	if !f.IsValid() || f.Type() != reflect.TypeFor[*string]() || f.IsNil() {
		return "", false
	}
	return *f.Interface().(*string), true
}

// requestTags are the condition keys of the tags a call sets.
func requestTags(tags []smtypes.Tag) map[string][]string {
	return awsapi.RequestTags(tags, func(t smtypes.Tag) (*string, *string) { return t.Key, t.Value })
}

func resourceTags(tags []smstate.Tag) map[string][]string {
	if len(tags) == 0 {
		return nil
	}
	c := map[string][]string{}
	for _, t := range tags {
		c["aws:ResourceTag/"+t.Key] = []string{t.Value}
		c["secretsmanager:ResourceTag/"+t.Key] = []string{t.Value}
	}
	return c
}

func merge(a, b map[string][]string) map[string][]string {
	if a == nil {
		return b
	}
	maps.Copy(a, b)
	return a
}
