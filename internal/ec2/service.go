// Package ec2 is the part of the Amazon EC2 API berth serves: the VPCs,
// subnets, security groups and their rules that awsvpc tasks and load
// balancers run in, the network interfaces berth makes for them
// (described, never made by users), availability zones and regions, and
// tags on all of them.
//
// Its records are ec2state's. Every request works in its own region, whose
// default VPC is made first if the region has none yet (and stays deleted
// once the user deleted it, until CreateDefaultVpc). berth routes every
// VPC's range to a bridge of its own on the host, so VPC ranges, in any
// region, must not overlap each other or the host's own networks.
package ec2

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"reflect"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/model"
	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/store"
)

// Config wires the EC2 API.
type Config struct {
	// Store holds the records (ec2state).
	Store store.Store
	// AccountID owns every resource and names it in ARNs.
	AccountID string
	// DefaultVPC says which ranges the regions' default VPCs take.
	DefaultVPC ec2state.DefaultVPCRanges
	// HostNetworks returns the host's own networks, which no VPC may
	// overlap (not the bridges berth makes for VPCs). nil: none are
	// checked.
	HostNetworks func(ctx context.Context) ([]netip.Prefix, error)
	// Now is the clock (nil: time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// EC2 is the EC2 API, and the default VPC lookup the rest of berth makes.
type EC2 struct {
	store        store.Store
	account      string
	defaultVPC   ec2state.DefaultVPCRanges
	hostNetworks func(ctx context.Context) ([]netip.Prefix, error)
	now          func() time.Time
	errs         *awsapi.ErrorTable
}

// New returns the EC2 API.
func New(cfg Config) *EC2 {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &EC2{
		store:        cfg.Store,
		account:      cfg.AccountID,
		defaultVPC:   cfg.DefaultVPC,
		hostNetworks: cfg.HostNetworks,
		now:          cfg.Now,
		errs:         newErrorTable(cfg.Logger.With("service", "ec2")),
	}
}

// Service returns the API as the gateway serves it.
func (e *EC2) Service() *awsapi.Service {
	return &awsapi.Service{
		SigningName: "ec2",
		Protocol:    awsapi.EC2,
		Model:       model.MustLoad("ec2"),
		Operations:  e.errs.Bind(e.operations()),
		Unsupported: func(op string) *awsapi.Error {
			return e.errs.Map(context.Background(), unsupported("the EC2 operation %s", op))
		},
		Access: e.access,
	}
}

func (e *EC2) operations() map[string]awsapi.Operation {
	return map[string]awsapi.Operation{
		"CreateVpc":            handle(e, e.createVpc),
		"CreateDefaultVpc":     handle(e, e.createDefaultVpc),
		"DeleteVpc":            handle(e, e.deleteVpc),
		"DescribeVpcs":         handle(e, e.describeVpcs),
		"ModifyVpcAttribute":   handle(e, e.modifyVpcAttribute),
		"DescribeVpcAttribute": handle(e, e.describeVpcAttribute),

		"CreateSubnet":          handle(e, e.createSubnet),
		"DeleteSubnet":          handle(e, e.deleteSubnet),
		"DescribeSubnets":       handle(e, e.describeSubnets),
		"ModifySubnetAttribute": handle(e, e.modifySubnetAttribute),

		"DescribeAvailabilityZones": handle(e, e.describeAvailabilityZones),
		"DescribeRegions":           handle(e, e.describeRegions),

		"CreateTags":   handle(e, e.createTags),
		"DeleteTags":   handle(e, e.deleteTags),
		"DescribeTags": handle(e, e.describeTags),

		"CreateSecurityGroup":    handle(e, e.createSecurityGroup),
		"DeleteSecurityGroup":    handle(e, e.deleteSecurityGroup),
		"DescribeSecurityGroups": handle(e, e.describeSecurityGroups),

		"AuthorizeSecurityGroupIngress":              handle(e, e.authorizeSecurityGroupIngress),
		"AuthorizeSecurityGroupEgress":               handle(e, e.authorizeSecurityGroupEgress),
		"RevokeSecurityGroupIngress":                 handle(e, e.revokeSecurityGroupIngress),
		"RevokeSecurityGroupEgress":                  handle(e, e.revokeSecurityGroupEgress),
		"ModifySecurityGroupRules":                   handle(e, e.modifySecurityGroupRules),
		"UpdateSecurityGroupRuleDescriptionsIngress": handle(e, e.updateSecurityGroupRuleDescriptionsIngress),
		"UpdateSecurityGroupRuleDescriptionsEgress":  handle(e, e.updateSecurityGroupRuleDescriptionsEgress),
		"DescribeSecurityGroupRules":                 handle(e, e.describeSecurityGroupRules),

		"DescribeNetworkInterfaces": handle(e, e.describeNetworkInterfaces),
	}
}

// handle wraps a handler with what every EC2 call does first: a DryRun call,
// authorized by then, answers DryRunOperation and does nothing; any other
// makes sure its region's default VPC exists.
func handle[In, Out any](e *EC2, fn func(context.Context, *In) (*Out, error)) awsapi.Operation {
	return awsapi.Op(func(ctx context.Context, in *In) (*Out, error) {
		if dryRun(in) {
			return nil, errDryRun
		}
		if _, err := e.EnsureDefaultVPC(ctx, region(ctx)); err != nil && !errors.Is(err, ec2state.ErrNoDefaultVPC) {
			return nil, err
		}
		return fn(ctx, in)
	})
}

// dryRun reports whether a request sets its DryRun member, which every
// EC2 operation has.
func dryRun(in any) bool {
	v := reflect.ValueOf(in)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return false
	}
	f := v.Elem().FieldByName("DryRun")
	if !f.IsValid() || f.Type() != reflect.TypeFor[*bool]() || f.IsNil() {
		return false
	}
	return f.Elem().Bool()
}

// EnsureDefaultVPC returns the region's default VPC, making it (with its
// default subnets and security group) if the region never had one.
// ec2state.ErrNoDefaultVPC says the user deleted it.
func (e *EC2) EnsureDefaultVPC(ctx context.Context, region string) (ec2state.VPC, error) {
	return ec2state.EnsureDefaultVPC(ctx, e.store, e.defaultVPCSpec(region))
}

// defaultVPCSpec says how the default VPC of region is made.
func (e *EC2) defaultVPCSpec(region string) ec2state.DefaultVPCSpec {
	return e.defaultVPC.Spec(region, e.account, e.now().UTC())
}

// region is the request's region.
func region(ctx context.Context) string { return awsapi.RequestFrom(ctx).Region }

// arn is the ARN of an EC2 resource of the account: kind "vpc", "subnet",
// "security-group", "security-group-rule" or "network-interface".
func (e *EC2) arn(region, kind, id string) string {
	return "arn:aws:ec2:" + region + ":" + e.account + ":" + kind + "/" + id
}

// listRegion reads every record of a kind in region, in id order.
func listRegion[T any](ctx context.Context, s store.Store, prefix, region string) ([]store.Versioned[T], error) {
	out, _, err := store.List[T](ctx, s, ec2state.RegionPrefix(prefix, region), store.ListOptions{})
	return out, err
}

// values returns the records of a listing.
func values[T any](vs []store.Versioned[T]) []T {
	out := make([]T, len(vs))
	for i, v := range vs {
		out[i] = v.Value
	}
	return out
}

// ok is the answer of the operations that answer nothing but success.
func ok() *struct{} { return &struct{}{} }
