// Package ssm is berth's AWS Systems Manager API: its Parameter Store
// (parameters of the String, StringList and SecureString types, their
// versions and labels, hierarchies, policies and tags), and Session
// Manager's session operations (DescribeSessions, TerminateSession,
// ResumeSession) on the ECS Exec sessions ECS's ExecuteCommand starts.
// Every other Systems Manager operation, StartSession among them, answers
// UnsupportedOperationException.
//
// Parameters are records in berth's store (ssmstate). Every value, of
// every type, is sealed with secretbox before it reaches the store, and no
// value is ever logged or quoted in an error.
package ssm

import (
	"context"
	"log/slog"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/model"
	"github.com/berth/berth/internal/secretbox"
	"github.com/berth/berth/internal/store"
)

// Config wires the Systems Manager API.
type Config struct {
	// Store holds the parameters' and the sessions' records.
	Store store.Store
	// Box seals the values.
	Box *secretbox.Box
	// AccountID names the account in ARNs. Each request works in its own
	// region (awsapi.RequestFrom).
	AccountID string
	// Now is the clock (nil: time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// SSM is the Parameter Store: its API, and the values ECS resolves for
// task secrets (ResolveValue).
type SSM struct {
	s *service
}

type service struct {
	store   store.Store
	box     *secretbox.Box
	account string
	now     func() time.Time
	log     *slog.Logger
	// limits are how many parameters of each tier a region may hold.
	limits map[string]int
}

// New returns the Parameter Store.
func New(cfg Config) *SSM {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &SSM{s: &service{
		store:   cfg.Store,
		box:     cfg.Box,
		account: cfg.AccountID,
		now:     cfg.Now,
		log:     cfg.Logger.With("service", "ssm"),
		limits:  map[string]int{tierStandard: 10_000, tierAdvanced: 100_000},
	}}
}

// Service returns the API as the gateway serves it.
func (m *SSM) Service() *awsapi.Service {
	s := m.s
	errs := newErrorTable(s.log)
	return &awsapi.Service{
		SigningName:     "ssm",
		TargetPrefix:    "AmazonSSM",
		Protocol:        awsapi.JSON11,
		Model:           model.MustLoad("ssm"),
		Operations:      errs.Bind(s.operations()),
		ValidationError: validationError,
		Unsupported:     unsupported,
		Access:          s.access,
	}
}

func (s *service) operations() map[string]awsapi.Operation {
	return map[string]awsapi.Operation{
		"PutParameter":            awsapi.Op(s.putParameter),
		"GetParameter":            awsapi.Op(s.getParameter),
		"GetParameters":           awsapi.Op(s.getParameters),
		"GetParametersByPath":     awsapi.Op(s.getParametersByPath),
		"GetParameterHistory":     awsapi.Op(s.getParameterHistory),
		"DescribeParameters":      awsapi.Op(s.describeParameters),
		"DeleteParameter":         awsapi.Op(s.deleteParameter),
		"DeleteParameters":        awsapi.Op(s.deleteParameters),
		"LabelParameterVersion":   awsapi.Op(s.labelParameterVersion),
		"UnlabelParameterVersion": awsapi.Op(s.unlabelParameterVersion),
		"AddTagsToResource":       awsapi.Op(s.addTagsToResource),
		"RemoveTagsFromResource":  awsapi.Op(s.removeTagsFromResource),
		"ListTagsForResource":     awsapi.Op(s.listTagsForResource),
		"DescribeSessions":        awsapi.Op(s.describeSessions),
		"TerminateSession":        awsapi.Op(s.terminateSession),
		"ResumeSession":           awsapi.Op(s.resumeSession),
	}
}

// region is the request's region.
func region(ctx context.Context) string { return awsapi.RequestFrom(ctx).Region }
