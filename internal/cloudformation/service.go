// Package cloudformation is berth's AWS CloudFormation API (awsQuery). It
// serves template validation today (ValidateTemplate, GetTemplateSummary),
// reading templates as CloudFormation does (cloudformation/template);
// stacks, change sets and the engine that deploys them are being built on
// it. Every other operation answers UnsupportedOperation.
package cloudformation

import (
	"context"
	"log/slog"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/model"
)

// Config wires the CloudFormation API.
type Config struct {
	// AccountID names the account in ARNs.
	AccountID string
	Logger    *slog.Logger
}

// CloudFormation is the CloudFormation service.
type CloudFormation struct {
	account string
	log     *slog.Logger
	errs    *awsapi.ErrorTable
}

// New returns the CloudFormation service.
func New(cfg Config) *CloudFormation {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	log := cfg.Logger.With("service", "cloudformation")
	return &CloudFormation{account: cfg.AccountID, log: log, errs: newErrorTable(log)}
}

// Service returns the API (awsQuery, API version 2010-05-15) as the
// gateway serves it.
func (c *CloudFormation) Service() *awsapi.Service {
	return &awsapi.Service{
		SigningName: "cloudformation",
		Protocol:    awsapi.Query,
		Model:       model.MustLoad("cloudformation"),
		Operations: c.errs.Bind(map[string]awsapi.Operation{
			"ValidateTemplate":   awsapi.Op(c.validateTemplate),
			"GetTemplateSummary": awsapi.Op(c.getTemplateSummary),
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
