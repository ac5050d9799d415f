// Package elbv2 is berth's Elastic Load Balancing v2 API for application
// load balancers, the control plane: load balancers with their network
// interfaces in EC2's subnets, target groups and their targets, listeners,
// rules, attributes and tags. Its records are in elbv2state; berth's load
// balancer data plane serves them, makes a load balancer active once it
// does (Activate) and records its targets' health
// (elbv2state.RecordHealth), which DescribeTargetHealth shows. RunDrainSweep
// removes deregistered targets once their drain ends.
//
// Network and gateway load balancers, Lambda and ALB targets,
// authentication actions, transforms, trust stores, listener certificate
// lists beyond the default and capacity reservations are not implemented.
package elbv2

import (
	"context"
	"log/slog"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/model"
	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/elbv2/elbv2state"
	"github.com/berth/berth/internal/store"
)

// Config wires the ELBv2 API.
type Config struct {
	// Store holds ELBv2's records and EC2's networking ones.
	Store store.Store
	// AccountID names the account in ARNs. Each request works in its own
	// region (awsapi.RequestFrom).
	AccountID string
	// DefaultVPC says which ranges the regions' default VPCs take, made on
	// first use.
	DefaultVPC ec2state.DefaultVPCRanges
	// Now is the clock (nil: time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// ELBv2 is the ELBv2 service: its API, Activate for the data plane, and the
// drain sweep.
type ELBv2 struct {
	store      store.Store
	account    string
	defaultVPC ec2state.DefaultVPCRanges
	now        func() time.Time
	log        *slog.Logger
	errs       *awsapi.ErrorTable
}

// New returns the ELBv2 service.
func New(cfg Config) *ELBv2 {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	log := cfg.Logger.With("service", "elbv2")
	return &ELBv2{
		store:      cfg.Store,
		account:    cfg.AccountID,
		defaultVPC: cfg.DefaultVPC,
		now:        cfg.Now,
		log:        log,
		errs:       newErrorTable(log),
	}
}

// Service returns the API (awsQuery, API version 2015-12-01) as the
// gateway serves it.
func (e *ELBv2) Service() *awsapi.Service {
	return &awsapi.Service{
		SigningName: "elasticloadbalancing",
		Protocol:    awsapi.Query,
		Model:       model.MustLoad("elbv2"),
		Operations:  e.errs.Bind(e.operations()),
		Unsupported: func(op string) *awsapi.Error { return e.errs.Map(context.Background(), unsupported(op)) },
		Access:      e.access,
	}
}

func (e *ELBv2) operations() map[string]awsapi.Operation {
	return map[string]awsapi.Operation{
		"CreateLoadBalancer":             awsapi.Op(e.createLoadBalancer),
		"DescribeLoadBalancers":          awsapi.Op(e.describeLoadBalancers),
		"DeleteLoadBalancer":             awsapi.Op(e.deleteLoadBalancer),
		"SetSecurityGroups":              awsapi.Op(e.setSecurityGroups),
		"SetSubnets":                     awsapi.Op(e.setSubnets),
		"SetIpAddressType":               awsapi.Op(e.setIPAddressType),
		"DescribeLoadBalancerAttributes": awsapi.Op(e.describeLoadBalancerAttributes),
		"ModifyLoadBalancerAttributes":   awsapi.Op(e.modifyLoadBalancerAttributes),

		"CreateTargetGroup":             awsapi.Op(e.createTargetGroup),
		"DescribeTargetGroups":          awsapi.Op(e.describeTargetGroups),
		"ModifyTargetGroup":             awsapi.Op(e.modifyTargetGroup),
		"DeleteTargetGroup":             awsapi.Op(e.deleteTargetGroup),
		"DescribeTargetGroupAttributes": awsapi.Op(e.describeTargetGroupAttributes),
		"ModifyTargetGroupAttributes":   awsapi.Op(e.modifyTargetGroupAttributes),

		"RegisterTargets":      awsapi.Op(e.registerTargets),
		"DeregisterTargets":    awsapi.Op(e.deregisterTargets),
		"DescribeTargetHealth": awsapi.Op(e.describeTargetHealth),

		"CreateListener":      awsapi.Op(e.createListener),
		"DescribeListeners":   awsapi.Op(e.describeListeners),
		"ModifyListener":      awsapi.Op(e.modifyListener),
		"DeleteListener":      awsapi.Op(e.deleteListener),
		"DescribeSSLPolicies": awsapi.Op(e.describeSSLPolicies),

		"AddListenerCertificates":      awsapi.Op(e.addListenerCertificates),
		"RemoveListenerCertificates":   awsapi.Op(e.removeListenerCertificates),
		"DescribeListenerCertificates": awsapi.Op(e.describeListenerCertificates),

		"CreateRule":        awsapi.Op(e.createRule),
		"DescribeRules":     awsapi.Op(e.describeRules),
		"ModifyRule":        awsapi.Op(e.modifyRule),
		"DeleteRule":        awsapi.Op(e.deleteRule),
		"SetRulePriorities": awsapi.Op(e.setRulePriorities),

		"AddTags":      awsapi.Op(e.addTags),
		"RemoveTags":   awsapi.Op(e.removeTags),
		"DescribeTags": awsapi.Op(e.describeTags),

		"DescribeAccountLimits": awsapi.Op(e.describeAccountLimits),
	}
}

// region is the request's region.
func region(ctx context.Context) string { return awsapi.RequestFrom(ctx).Region }

// Activate makes the load balancer arn names in region active: the data
// plane calls it once it serves the load balancer, and
// DescribeLoadBalancers (and the load-balancer-available waiter) then see
// it active.
func (e *ELBv2) Activate(ctx context.Context, region, arn string) error {
	return elbv2state.Activate(ctx, e.store, region, arn)
}

// Provisioning lists the load balancers of every region still
// provisioning: those the data plane is to serve and then Activate.
func (e *ELBv2) Provisioning(ctx context.Context) ([]elbv2state.LoadBalancer, error) {
	all, err := elbv2state.LoadBalancers(ctx, e.store, "")
	if err != nil {
		return nil, err
	}
	var out []elbv2state.LoadBalancer
	for _, lb := range all {
		if lb.State == elbv2state.StateProvisioning {
			out = append(out, lb)
		}
	}
	return out, nil
}
