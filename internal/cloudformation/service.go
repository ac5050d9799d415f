// Package cloudformation is berth's AWS CloudFormation API (awsQuery):
// template validation, reading templates as CloudFormation does
// (cloudformation/template), and stacks. A stack operation is recorded as
// the stack's intent (cfnstate); the stack controller
// (controller/stacks) carries it out. Change sets and updates are being
// built; every operation not served answers UnsupportedOperation.
package cloudformation

import (
	"context"
	"log/slog"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/model"
	"github.com/berth/berth/internal/store"
)

// Invoker makes an AWS API call from inside berth as the caller in ctx
// (gateway.Gateway.Invoke): the API checks parameters of AWS-specific
// types and reads SSM parameters with it.
type Invoker interface {
	Invoke(ctx context.Context, service, operation string, input map[string]any) (any, error)
}

// Config wires the CloudFormation API.
type Config struct {
	// AccountID names the account in ARNs.
	AccountID string
	Store     store.Store
	API       Invoker
	Logger    *slog.Logger
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// CloudFormation is the CloudFormation service.
type CloudFormation struct {
	account string
	store   store.Store
	api     Invoker
	now     func() time.Time
	log     *slog.Logger
	errs    *awsapi.ErrorTable
}

// New returns the CloudFormation service.
func New(cfg Config) *CloudFormation {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	log := cfg.Logger.With("service", "cloudformation")
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &CloudFormation{account: cfg.AccountID, store: cfg.Store, api: cfg.API, now: cfg.Now, log: log, errs: newErrorTable(log)}
}

// Service returns the API (awsQuery, API version 2010-05-15) as the
// gateway serves it.
func (c *CloudFormation) Service() *awsapi.Service {
	return &awsapi.Service{
		SigningName: "cloudformation",
		Protocol:    awsapi.Query,
		Model:       model.MustLoad("cloudformation"),
		Operations: c.errs.Bind(map[string]awsapi.Operation{
			"ValidateTemplate":            awsapi.Op(c.validateTemplate),
			"GetTemplateSummary":          awsapi.Op(c.getTemplateSummary),
			"CreateStack":                 awsapi.Op(c.createStack),
			"DeleteStack":                 awsapi.Op(c.deleteStack),
			"DescribeStacks":              awsapi.Op(c.describeStacks),
			"DescribeStackEvents":         awsapi.Op(c.describeStackEvents),
			"DescribeStackResource":       awsapi.Op(c.describeStackResource),
			"DescribeStackResources":      awsapi.Op(c.describeStackResources),
			"ListStackResources":          awsapi.Op(c.listStackResources),
			"ListStacks":                  awsapi.Op(c.listStacks),
			"GetTemplate":                 awsapi.Op(c.getTemplate),
			"UpdateStack":                 awsapi.Op(c.updateStack),
			"CreateChangeSet":             awsapi.Op(c.createChangeSet),
			"DescribeChangeSet":           awsapi.Op(c.describeChangeSet),
			"ExecuteChangeSet":            awsapi.Op(c.executeChangeSet),
			"DeleteChangeSet":             awsapi.Op(c.deleteChangeSet),
			"ListChangeSets":              awsapi.Op(c.listChangeSets),
			"ListExports":                 awsapi.Op(c.listExports),
			"ListImports":                 awsapi.Op(c.listImports),
			"UpdateTerminationProtection": awsapi.Op(c.updateTerminationProtection),
			"CancelUpdateStack":           awsapi.Op(c.cancelUpdateStack),
			"ContinueUpdateRollback":      awsapi.Op(c.continueUpdateRollback),
		}),
		Unsupported: func(op string) *awsapi.Error { return c.errs.Map(context.Background(), unsupported(op)) },
		Access:      c.access,
	}
}

// access names what a call needs in IAM's terms: the operation's action.
// Template validation concerns no resource.
func (c *CloudFormation) access(_ context.Context, op string, _ any) ([]awsapi.Access, error) {
	return []awsapi.Access{{Action: "cloudformation:" + op, Resource: "*"}}, nil
}
