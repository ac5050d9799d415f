package ecs

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/store"
)

// Capacity providers. FARGATE and FARGATE_SPOT are built in: always ACTIVE,
// never stored. Custom (Auto Scaling group) providers are records: berth
// has no Auto Scaling groups, so it keeps and validates their settings but
// scales nothing.

// capacityProviderOperations are the capacity provider APIs.
func (s *service) capacityProviderOperations() map[string]awsapi.Operation {
	return map[string]awsapi.Operation{
		"CreateCapacityProvider":    awsapi.Op(s.createCapacityProvider),
		"DescribeCapacityProviders": awsapi.Op(s.describeCapacityProviders),
		"UpdateCapacityProvider":    awsapi.Op(s.updateCapacityProvider),
		"DeleteCapacityProvider":    awsapi.Op(s.deleteCapacityProvider),
	}
}

var capacityProviderNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

// Limits of managed scaling (API_ManagedScaling) and its defaults.
const (
	minTargetCapacity, maxTargetCapacity = 1, 100
	minScalingStep, maxScalingStep       = 1, 10000
	maxInstanceWarmup                    = 10000
	defaultInstanceWarmup                = 300
)

// Capacity provider errors. Wording taken from ECS answers quoted in public
// bug reports unless marked UNVERIFIED.

func errCapacityProviderName() *awsapi.MessageError {
	// Code UNVERIFIED (the message was seen through CloudFormation).
	return clientError(`The specified capacity provider name is invalid. Up to 255 characters are allowed, including letters (upper and lowercase), numbers, underscores, and hyphens. The name cannot be prefixed with "aws", "ecs", or "fargate". Specify a valid name and try again.`)
}

func errCapacityProviderExists() *awsapi.MessageError {
	return clientError("The specified capacity provider already exists. To change the configuration of an existing capacity provider, update the capacity provider.")
}

func errAutoScalingGroupInUse() *awsapi.MessageError {
	return clientError("The specified Auto Scaling group ARN is already being used by another capacity provider. Specify a unique Auto Scaling group ARN and try again.")
}

// errCapacityProviderNotFound answers UpdateCapacityProvider and
// DeleteCapacityProvider for a provider that does not exist.
func errCapacityProviderNotFound() *awsapi.MessageError {
	// UNVERIFIED wording and code.
	return clientError("The specified capacity provider does not exist. Specify a valid name or ARN and try again.")
}

// errClusterCapacityProviderNotFound answers CreateCluster and
// PutClusterCapacityProviders naming a provider that does not exist.
func errClusterCapacityProviderNotFound() *awsapi.MessageError {
	// Code UNVERIFIED.
	return invalidParameter("The specified capacity provider was not found. Specify a valid capacity provider and try again.")
}

func errBuiltInCapacityProvider(name string) *awsapi.MessageError {
	// UNVERIFIED wording: FARGATE and FARGATE_SPOT are managed by ECS.
	return clientError("The capacity provider '%s' is managed by Amazon ECS and cannot be changed or deleted.", name)
}

// isBuiltInProvider reports whether name is FARGATE or FARGATE_SPOT.
func isBuiltInProvider(name string) bool {
	return name == providerFargate || name == providerFargateSpot
}

// capacityProviderName returns the name a capacity provider name or ARN
// refers to ("" for an ARN that is not one of this account's providers in
// the request's region).
func (s *service) capacityProviderName(ctx context.Context, ref string) string {
	if !strings.HasPrefix(ref, "arn:") {
		return ref
	}
	name, ok := strings.CutPrefix(ref, s.requestARNs(ctx).CapacityProvider(""))
	if !ok || name == "" || strings.Contains(name, "/") {
		return ""
	}
	return name
}

func checkCapacityProviderName(name string) error {
	lower := strings.ToLower(name)
	// UNVERIFIED: whether ECS compares the reserved prefixes ignoring case.
	if !capacityProviderNamePattern.MatchString(name) ||
		strings.HasPrefix(lower, "aws") || strings.HasPrefix(lower, "ecs") || strings.HasPrefix(lower, "fargate") {
		return errCapacityProviderName()
	}
	return nil
}

// autoScalingGroupARNPattern is the ARN of an Auto Scaling group:
// arn:<partition>:autoscaling:<region>:<account>:autoScalingGroup:<uuid>:autoScalingGroupName/<name>.
var autoScalingGroupARNPattern = regexp.MustCompile(`^arn:aws[a-z-]*:autoscaling:[a-z0-9-]+:\d{12}:autoScalingGroup:[0-9a-fA-F-]+:autoScalingGroupName/[^\s]{1,255}$`)

func checkAutoScalingGroupARN(arn string) error {
	if !autoScalingGroupARNPattern.MatchString(arn) {
		// UNVERIFIED wording.
		return clientError("The specified Auto Scaling group ARN is invalid. Specify a valid Auto Scaling group ARN and try again.")
	}
	return nil
}

func checkEnabledDisabled(field, value string) error {
	if value != "ENABLED" && value != "DISABLED" {
		// UNVERIFIED wording.
		return invalidParameter("Invalid value '%s' for %s. Valid values are ENABLED and DISABLED.", value, field)
	}
	return nil
}

// mergeManagedScaling applies the fields of update over current (nil: a
// new provider) and fills in ECS's defaults: managed scaling DISABLED,
// target capacity 100, steps 1 to 10000, warmup 300 s (UNVERIFIED
// defaults for an omitted managedScaling).
func mergeManagedScaling(current, update *ecstypes.ManagedScaling) (*ecstypes.ManagedScaling, error) {
	out := ecstypes.ManagedScaling{
		Status:                 awsapi.String(ecstypes.ManagedScalingStatusDisabled),
		TargetCapacity:         awsapi.Int32(maxTargetCapacity),
		MinimumScalingStepSize: awsapi.Int32(minScalingStep),
		MaximumScalingStepSize: awsapi.Int32(maxScalingStep),
		InstanceWarmupPeriod:   awsapi.Int32(defaultInstanceWarmup),
	}
	for _, ms := range []*ecstypes.ManagedScaling{current, update} {
		if ms == nil {
			continue
		}
		if ms.Status != nil {
			out.Status = awsapi.String(*ms.Status)
		}
		if ms.TargetCapacity != nil {
			out.TargetCapacity = awsapi.Int32(*ms.TargetCapacity)
		}
		if ms.MinimumScalingStepSize != nil {
			out.MinimumScalingStepSize = awsapi.Int32(*ms.MinimumScalingStepSize)
		}
		if ms.MaximumScalingStepSize != nil {
			out.MaximumScalingStepSize = awsapi.Int32(*ms.MaximumScalingStepSize)
		}
		if ms.InstanceWarmupPeriod != nil {
			out.InstanceWarmupPeriod = awsapi.Int32(*ms.InstanceWarmupPeriod)
		}
	}
	// Messages UNVERIFIED, in ECS's style.
	if err := checkEnabledDisabled("managedScaling.status", *out.Status); err != nil {
		return nil, err
	}
	if t := *out.TargetCapacity; t < minTargetCapacity || t > maxTargetCapacity {
		return nil, invalidParameter("The managed scaling target capacity must be between %d and %d.", minTargetCapacity, maxTargetCapacity)
	}
	minStep, maxStep := *out.MinimumScalingStepSize, *out.MaximumScalingStepSize
	if minStep < minScalingStep || minStep > maxScalingStep {
		return nil, invalidParameter("The managed scaling minimum scaling step size must be between %d and %d.", minScalingStep, maxScalingStep)
	}
	if maxStep < minScalingStep || maxStep > maxScalingStep {
		return nil, invalidParameter("The managed scaling maximum scaling step size must be between %d and %d.", minScalingStep, maxScalingStep)
	}
	if minStep > maxStep {
		return nil, invalidParameter("The managed scaling minimum scaling step size cannot be greater than the maximum scaling step size.")
	}
	if w := *out.InstanceWarmupPeriod; w < 0 || w > maxInstanceWarmup {
		return nil, invalidParameter("The managed scaling instance warmup period must be between 0 and %d.", maxInstanceWarmup)
	}
	return &out, nil
}

// autoScalingGroupSettings is the part of an Auto Scaling group provider
// UpdateCapacityProvider can change.
type autoScalingGroupSettings struct {
	ManagedScaling               *ecstypes.ManagedScaling
	ManagedTerminationProtection *string
	ManagedDraining              *string
}

// applyAutoScalingGroupSettings validates change applied over p (in place)
// with ECS's defaults for what neither sets: termination protection
// DISABLED, managed draining ENABLED.
func applyAutoScalingGroupSettings(p *ecstypes.AutoScalingGroupProvider, change autoScalingGroupSettings) error {
	scaling, err := mergeManagedScaling(p.ManagedScaling, change.ManagedScaling)
	if err != nil {
		return err
	}
	protection := awsapi.Deref(p.ManagedTerminationProtection)
	if change.ManagedTerminationProtection != nil {
		protection = *change.ManagedTerminationProtection
	}
	if protection == "" {
		protection = ecstypes.ManagedTerminationProtectionDisabled
	}
	if err := checkEnabledDisabled("managedTerminationProtection", protection); err != nil {
		return err
	}
	if protection == ecstypes.ManagedTerminationProtectionEnabled && *scaling.Status != ecstypes.ManagedScalingStatusEnabled {
		// UNVERIFIED wording. ECS also requires the group's scale-in
		// protection, which berth has no group to check.
		return clientError("The managed termination protection setting for the capacity provider is invalid. To enable managed termination protection for a capacity provider, managed scaling must be enabled.")
	}
	draining := awsapi.Deref(p.ManagedDraining)
	if change.ManagedDraining != nil {
		draining = *change.ManagedDraining
	}
	if draining == "" {
		draining = ecstypes.ManagedDrainingEnabled
	}
	if err := checkEnabledDisabled("managedDraining", draining); err != nil {
		return err
	}
	p.ManagedScaling = scaling
	p.ManagedTerminationProtection = awsapi.String(protection)
	p.ManagedDraining = awsapi.String(draining)
	return nil
}

func (s *service) createCapacityProvider(ctx context.Context, in *ecstypes.CreateCapacityProviderRequest) (*ecstypes.CreateCapacityProviderResponse, error) {
	name := awsapi.Deref(in.Name)
	if err := checkCapacityProviderName(name); err != nil {
		return nil, err
	}
	if in.ManagedInstancesProvider != nil {
		return nil, unsupported("CreateCapacityProvider with managedInstancesProvider")
	}
	if in.AutoScalingGroupProvider == nil {
		// UNVERIFIED wording.
		return nil, clientError("autoScalingGroupProvider must be specified.")
	}
	asgARN := awsapi.Deref(in.AutoScalingGroupProvider.AutoScalingGroupArn)
	if err := checkAutoScalingGroupARN(asgARN); err != nil {
		return nil, err
	}
	asg := &ecstypes.AutoScalingGroupProvider{AutoScalingGroupArn: awsapi.String(asgARN)}
	if err := applyAutoScalingGroupSettings(asg, autoScalingGroupSettings{
		ManagedScaling:               in.AutoScalingGroupProvider.ManagedScaling,
		ManagedTerminationProtection: in.AutoScalingGroupProvider.ManagedTerminationProtection,
		ManagedDraining:              in.AutoScalingGroupProvider.ManagedDraining,
	}); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags, invalidParameter); err != nil {
		return nil, err
	}
	// One group backs one provider. Two creates racing for the same group
	// under different names could both pass; ECS has no such window, but
	// the store cannot guard a prefix.
	existing, _, err := store.List[ecsstate.CapacityProvider](ctx, s.store, ecsstate.RegionPrefix(ecsstate.CapacityProviderPrefix, requestRegion(ctx)), store.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, p := range existing {
		if p.Value.Name != name && p.Value.AutoScalingGroupProvider != nil &&
			awsapi.Deref(p.Value.AutoScalingGroupProvider.AutoScalingGroupArn) == asgARN {
			return nil, errAutoScalingGroupInUse()
		}
	}
	fresh := ecsstate.CapacityProvider{
		Name:                     name,
		Status:                   ecstypes.CapacityProviderStatusActive,
		AutoScalingGroupProvider: asg,
		UpdateStatus:             ecstypes.CapacityProviderUpdateStatusCreateComplete,
		Tags:                     mergeTags(nil, in.Tags),
		CreatedAt:                s.now(),
	}
	p, err := store.Update(ctx, s.store, ecsstate.CapacityProviderKey(requestRegion(ctx), name), func(v *ecsstate.CapacityProvider, found bool) error {
		if found {
			return errCapacityProviderExists()
		}
		*v = fresh
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := s.capacityProviderOutput(s.requestARNs(ctx), p, true)
	return &ecstypes.CreateCapacityProviderResponse{CapacityProvider: &out}, nil
}

// customCapacityProvider reads a custom provider by name or ARN.
func (s *service) customCapacityProvider(ctx context.Context, ref string) (ecsstate.CapacityProvider, error) {
	name := s.capacityProviderName(ctx, ref)
	if isBuiltInProvider(name) {
		return ecsstate.CapacityProvider{}, errBuiltInCapacityProvider(name)
	}
	if name == "" {
		return ecsstate.CapacityProvider{}, errCapacityProviderNotFound()
	}
	p, err := store.Get[ecsstate.CapacityProvider](ctx, s.store, ecsstate.CapacityProviderKey(requestRegion(ctx), name))
	if errors.Is(err, store.ErrNotFound) {
		return ecsstate.CapacityProvider{}, errCapacityProviderNotFound()
	}
	return p.Value, err
}

func (s *service) updateCapacityProvider(ctx context.Context, in *ecstypes.UpdateCapacityProviderRequest) (*ecstypes.UpdateCapacityProviderResponse, error) {
	if in.ManagedInstancesProvider != nil {
		return nil, unsupported("UpdateCapacityProvider with managedInstancesProvider")
	}
	current, err := s.customCapacityProvider(ctx, awsapi.Deref(in.Name))
	if err != nil {
		return nil, err
	}
	var change autoScalingGroupSettings
	if u := in.AutoScalingGroupProvider; u != nil {
		change = autoScalingGroupSettings{ManagedScaling: u.ManagedScaling, ManagedTerminationProtection: u.ManagedTerminationProtection, ManagedDraining: u.ManagedDraining}
	}
	p, err := store.Update(ctx, s.store, ecsstate.CapacityProviderKey(requestRegion(ctx), current.Name), func(v *ecsstate.CapacityProvider, found bool) error {
		if !found {
			return errCapacityProviderNotFound()
		}
		if v.AutoScalingGroupProvider == nil {
			v.AutoScalingGroupProvider = &ecstypes.AutoScalingGroupProvider{}
		}
		if err := applyAutoScalingGroupSettings(v.AutoScalingGroupProvider, change); err != nil {
			return err
		}
		v.UpdateStatus = ecstypes.CapacityProviderUpdateStatusUpdateComplete
		v.UpdateStatusReason = ""
		return nil
	})
	if err != nil {
		return nil, err
	}
	// ECS answers the update as it begins (UPDATE_IN_PROGRESS) and
	// finishes it in the background; berth's is already done, which
	// DescribeCapacityProviders shows.
	p.UpdateStatus = ecstypes.CapacityProviderUpdateStatusUpdateInProgress
	out := s.capacityProviderOutput(s.requestARNs(ctx), p, true)
	return &ecstypes.UpdateCapacityProviderResponse{CapacityProvider: &out}, nil
}

// capacityProviderUser returns why a custom provider cannot be deleted: the
// reason naming the first ACTIVE cluster it is associated with or the
// first live service using it, "" when nothing uses it.
func (s *service) capacityProviderUser(ctx context.Context, name string) (string, error) {
	clusters, _, err := store.List[ecsstate.Cluster](ctx, s.store, ecsstate.RegionPrefix(ecsstate.ClusterPrefix, requestRegion(ctx)), store.ListOptions{})
	if err != nil {
		return "", err
	}
	for _, c := range clusters {
		if c.Value.Status == ecsstate.ClusterActive && slices.Contains(c.Value.CapacityProviders, name) {
			return "The capacity provider cannot be deleted because it is associated with cluster: " + c.Value.Name +
				". Remove the capacity provider from the cluster and try again.", nil
		}
	}
	services, _, err := store.List[ecsstate.Service](ctx, s.store, ecsstate.RegionPrefix(ecsstate.ServicePrefix, requestRegion(ctx)), store.ListOptions{})
	if err != nil {
		return "", err
	}
	for _, svc := range services {
		if serviceUsesProvider(&svc.Value, name) {
			// UNVERIFIED wording: a provider in a service's strategy is
			// normally also associated with its cluster.
			return "The capacity provider cannot be deleted because it is in use by service: " + svc.Value.Name +
				". Remove the capacity provider from the service's capacity provider strategy and try again.", nil
		}
	}
	return "", nil
}

// serviceUsesProvider reports whether a live (ACTIVE or DRAINING) service
// names provider in its strategy or in a live deployment's.
func serviceUsesProvider(svc *ecsstate.Service, provider string) bool {
	if svc.Status != ecsstate.ServiceActive && svc.Status != ecsstate.ServiceDraining {
		return false
	}
	if strategyNames(svc.CapacityProviderStrategy, provider) {
		return true
	}
	for i := range svc.Deployments {
		if strategyNames(svc.Deployments[i].CapacityProviderStrategy, provider) {
			return true
		}
	}
	return false
}

func strategyNames(strategy []ecstypes.CapacityProviderStrategyItem, provider string) bool {
	return slices.ContainsFunc(strategy, func(item ecstypes.CapacityProviderStrategyItem) bool {
		return awsapi.Deref(item.CapacityProvider) == provider
	})
}

// deleteCapacityProvider removes a custom provider nothing uses. One in use
// stays ACTIVE with updateStatus DELETE_FAILED and the reason, answered
// without an error, as ECS does.
func (s *service) deleteCapacityProvider(ctx context.Context, in *ecstypes.DeleteCapacityProviderRequest) (*ecstypes.DeleteCapacityProviderResponse, error) {
	current, err := s.customCapacityProvider(ctx, awsapi.Deref(in.CapacityProvider))
	if err != nil {
		return nil, err
	}
	key := ecsstate.CapacityProviderKey(requestRegion(ctx), current.Name)
	var p ecsstate.CapacityProvider
	err = store.Retry(ctx, func() error {
		rec, err := store.Get[ecsstate.CapacityProvider](ctx, s.store, key)
		if errors.Is(err, store.ErrNotFound) {
			return errCapacityProviderNotFound()
		}
		if err != nil {
			return err
		}
		reason, err := s.capacityProviderUser(ctx, current.Name)
		if err != nil {
			return err
		}
		p = rec.Value
		var op store.Op
		if reason != "" {
			p.UpdateStatus = ecstypes.CapacityProviderUpdateStatusDeleteFailed
			p.UpdateStatusReason = reason
			if op, err = store.PutJSON(key, p); err != nil {
				return err
			}
		} else {
			// A cluster associating the provider between the check and
			// this delete would keep a dangling name; the store cannot
			// guard the cluster prefix, and ECS has the same window.
			// ECS answers the deletion as it begins (still ACTIVE,
			// DELETE_IN_PROGRESS) and finishes it in the background;
			// berth's is done at once, and the provider is gone for
			// DescribeCapacityProviders.
			p.UpdateStatus = ecstypes.CapacityProviderUpdateStatusDeleteInProgress
			p.UpdateStatusReason = ""
			op = store.Delete(key)
		}
		_, err = s.store.Txn(ctx, store.Txn{If: []store.Compare{{Key: key, ModRevision: rec.ModRevision}}, Then: []store.Op{op}})
		return err
	})
	if err != nil {
		return nil, err
	}
	out := s.capacityProviderOutput(s.requestARNs(ctx), p, true)
	return &ecstypes.DeleteCapacityProviderResponse{CapacityProvider: &out}, nil
}

// capacityProviderOutput renders a custom provider as ECS returns it.
func (s *service) capacityProviderOutput(arns ecsstate.ARNs, p ecsstate.CapacityProvider, withTags bool) ecstypes.CapacityProvider {
	out := ecstypes.CapacityProvider{
		CapacityProviderArn:      awsapi.String(arns.CapacityProvider(p.Name)),
		Name:                     awsapi.String(p.Name),
		Status:                   awsapi.String(p.Status),
		Type:                     awsapi.String(ecstypes.CapacityProviderTypeEc2Autoscaling),
		AutoScalingGroupProvider: p.AutoScalingGroupProvider,
		UpdateStatus:             awsapi.OptionalString(p.UpdateStatus),
		UpdateStatusReason:       awsapi.OptionalString(p.UpdateStatusReason),
	}
	if withTags {
		out.Tags = tagsOrEmpty(p.Tags)
	}
	return out
}

// builtInProviderOutput renders FARGATE or FARGATE_SPOT.
func (s *service) builtInProviderOutput(arns ecsstate.ARNs, name string, withTags bool) ecstypes.CapacityProvider {
	out := ecstypes.CapacityProvider{
		CapacityProviderArn: awsapi.String(arns.CapacityProvider(name)),
		Name:                awsapi.String(name),
		Status:              awsapi.String(ecstypes.CapacityProviderStatusActive),
		Type:                awsapi.String(name), // the FARGATE and FARGATE_SPOT types share the names
	}
	if withTags {
		out.Tags = []ecstypes.Tag{}
	}
	return out
}

// describedProvider is one entry of a DescribeCapacityProviders answer: a
// provider or a failure.
type describedProvider struct {
	provider *ecstypes.CapacityProvider
	failure  *ecstypes.Failure
	// order is the entry's place for paging.
	order string
}

func (s *service) describeCapacityProviders(ctx context.Context, in *ecstypes.DescribeCapacityProvidersRequest) (*ecstypes.DescribeCapacityProvidersResponse, error) {
	limit, err := pageSize(in.MaxResults)
	if err != nil {
		return nil, err
	}
	after, err := decodeToken(in.NextToken, "DescribeCapacityProviders")
	if err != nil {
		return nil, err
	}
	withTags := slices.Contains(in.Include, ecstypes.CapacityProviderFieldTags)
	// Entries in a fixed order, each with an order key that sorts in it:
	// without names, the built-in providers and then the custom ones by
	// name; with names, the request's order.
	var entries []describedProvider
	if len(in.CapacityProviders) == 0 {
		for _, name := range []string{providerFargate, providerFargateSpot} {
			p := s.builtInProviderOutput(s.requestARNs(ctx), name, withTags)
			entries = append(entries, describedProvider{provider: &p, order: "0" + name})
		}
		custom, _, err := store.List[ecsstate.CapacityProvider](ctx, s.store, ecsstate.RegionPrefix(ecsstate.CapacityProviderPrefix, requestRegion(ctx)), store.ListOptions{})
		if err != nil {
			return nil, err
		}
		for _, c := range custom {
			p := s.capacityProviderOutput(s.requestARNs(ctx), c.Value, withTags)
			entries = append(entries, describedProvider{provider: &p, order: "1" + c.Value.Name})
		}
	} else {
		for i, ref := range in.CapacityProviders {
			order := "i" + strconv.Itoa(100000+i) // fixed width sorts numerically
			name := s.capacityProviderName(ctx, ref)
			if isBuiltInProvider(name) {
				p := s.builtInProviderOutput(s.requestARNs(ctx), name, withTags)
				entries = append(entries, describedProvider{provider: &p, order: order})
				continue
			}
			var rec store.Versioned[ecsstate.CapacityProvider]
			err := store.ErrNotFound
			if name != "" {
				rec, err = store.Get[ecsstate.CapacityProvider](ctx, s.store, ecsstate.CapacityProviderKey(requestRegion(ctx), name))
			}
			if errors.Is(err, store.ErrNotFound) {
				arn := ref
				if name != "" {
					arn = s.requestARNs(ctx).CapacityProvider(name)
				}
				entries = append(entries, describedProvider{failure: &ecstypes.Failure{Arn: awsapi.String(arn), Reason: awsapi.String("MISSING")}, order: order})
				continue
			}
			if err != nil {
				return nil, err
			}
			p := s.capacityProviderOutput(s.requestARNs(ctx), rec.Value, withTags)
			entries = append(entries, describedProvider{provider: &p, order: order})
		}
	}
	out := &ecstypes.DescribeCapacityProvidersResponse{CapacityProviders: []ecstypes.CapacityProvider{}, Failures: []ecstypes.Failure{}}
	taken := 0
	for _, e := range entries {
		if after != "" && e.order <= after {
			continue
		}
		if taken == limit {
			out.NextToken = encodeToken("DescribeCapacityProviders", after)
			break
		}
		taken++
		after = e.order
		if e.provider != nil {
			out.CapacityProviders = append(out.CapacityProviders, *e.provider)
		} else {
			out.Failures = append(out.Failures, *e.failure)
		}
	}
	return out, nil
}

// checkClusterProvidersExist refuses custom capacity providers that do not
// exist (or are not ACTIVE) for CreateCluster and
// PutClusterCapacityProviders.
func (s *service) checkClusterProvidersExist(ctx context.Context, providers []string) error {
	for _, name := range providers {
		if isBuiltInProvider(name) {
			continue
		}
		// Something that cannot be a name (an Auto Scaling group ARN,
		// say) is "not found", as ECS was seen answering; a missing name
		// gets ECS's answer for a provider not (yet) ACTIVE (UNVERIFIED
		// for a name that does not exist at all).
		if !capacityProviderNamePattern.MatchString(name) {
			return errClusterCapacityProviderNotFound()
		}
		p, err := store.Get[ecsstate.CapacityProvider](ctx, s.store, ecsstate.CapacityProviderKey(requestRegion(ctx), name))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err != nil || p.Value.Status != ecstypes.CapacityProviderStatusActive {
			return invalidParameter("The specified capacity provider '%s' is not in an ACTIVE state. Specify a valid capacity provider and try again.", name)
		}
	}
	return nil
}

// checkProvidersStillUsed refuses PutClusterCapacityProviders removing a
// provider that a live service of the cluster uses, in its strategy or a
// live deployment's.
func (s *service) checkProvidersStillUsed(ctx context.Context, cluster string, current, next []string) error {
	var removed []string
	for _, p := range current {
		if !slices.Contains(next, p) {
			removed = append(removed, p)
		}
	}
	if len(removed) == 0 {
		return nil
	}
	services, _, err := store.List[ecsstate.Service](ctx, s.store, ecsstate.ClusterServicesPrefix(requestRegion(ctx), cluster), store.ListOptions{})
	if err != nil {
		return err
	}
	for _, svc := range services {
		for _, p := range removed {
			if serviceUsesProvider(&svc.Value, p) {
				return errCapacityProviderInUse
			}
		}
	}
	return nil
}
