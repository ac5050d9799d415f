package servicediscovery

import (
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/servicediscovery/sdstate"
	"github.com/berth/berth/internal/servicediscovery/sdtypes"
	"github.com/berth/berth/internal/store"
)

// maxInstanceAttributes is how many attributes an instance may have.
const maxInstanceAttributes = 30

func (c *CloudMap) registerInstance(ctx context.Context, in *sdtypes.RegisterInstanceRequest) (*sdtypes.RegisterInstanceResponse, error) {
	svc, err := c.lookupService(ctx, awsapi.Deref(in.ServiceId))
	if err != nil {
		return nil, err
	}
	s := svc.Value
	if err := checkInstanceAttributes(s, in.Attributes); err != nil {
		return nil, err
	}
	inst := sdstate.Instance{
		ID: awsapi.Deref(in.InstanceId), ServiceID: s.ID, Region: s.Region, Attributes: in.Attributes,
		CreatorRequestID: awsapi.Deref(in.CreatorRequestId), CreatedBy: c.account,
	}
	id, err := c.submit(ctx, sdstate.OpRegisterInstance, map[string]string{sdstate.TargetService: s.ID, sdstate.TargetInstance: inst.ID},
		inst.CreatorRequestID, sdstate.Work{ServiceID: s.ID, Instance: &inst})
	return &sdtypes.RegisterInstanceResponse{OperationId: id}, err
}

// checkInstanceAttributes validates what an instance's attributes must
// give for its service's records.
func checkInstanceAttributes(s sdstate.Service, attrs map[string]string) error {
	if len(attrs) > maxInstanceAttributes {
		return invalidInput("An instance can have at most %d attributes.", maxInstanceAttributes) // UNVERIFIED wording
	}
	if _, ok := attrs[sdstate.AttrAlias]; ok {
		return unsupported("alias records (AWS_ALIAS_DNS_NAME)")
	}
	if v, ok := attrs[sdstate.AttrIPv4]; ok {
		if a, err := netip.ParseAddr(v); err != nil || !a.Is4() {
			return invalidInput("AWS_INSTANCE_IPV4 %s is not an IPv4 address.", v) // UNVERIFIED wording
		}
	}
	if v, ok := attrs[sdstate.AttrIPv6]; ok {
		if a, err := netip.ParseAddr(v); err != nil || !a.Is6() || a.Is4In6() {
			return invalidInput("AWS_INSTANCE_IPV6 %s is not an IPv6 address.", v) // UNVERIFIED wording
		}
	}
	if v, ok := attrs[sdstate.AttrPort]; ok {
		if p, err := strconv.Atoi(v); err != nil || p < 0 || p > 65535 {
			return invalidInput("AWS_INSTANCE_PORT %s is not a port.", v) // UNVERIFIED wording
		}
	}
	if v, ok := attrs[sdstate.AttrInitHealth]; ok && v != sdstate.Healthy && v != sdstate.Unhealthy {
		return invalidInput("AWS_INIT_HEALTH_STATUS must be HEALTHY or UNHEALTHY.") // UNVERIFIED wording
	}
	if s.DNS == nil {
		return nil
	}
	for _, r := range s.DNS.Records {
		var need string
		switch r.Type {
		case sdstate.RecordA:
			need = sdstate.AttrIPv4
		case sdstate.RecordAAAA:
			need = sdstate.AttrIPv6
		case sdstate.RecordSRV:
			need = sdstate.AttrPort
		case sdstate.RecordCNAME:
			need = sdstate.AttrCNAME
		}
		if attrs[need] == "" && !(r.Type == sdstate.RecordA && attrs[sdstate.AttrIPv6] != "" && hasRecord(s, sdstate.RecordAAAA)) &&
			!(r.Type == sdstate.RecordAAAA && attrs[sdstate.AttrIPv4] != "" && hasRecord(s, sdstate.RecordA)) {
			// UNVERIFIED wording.
			return invalidInput("The service's %s record needs the attribute %s.", r.Type, need)
		}
	}
	return nil
}

func hasRecord(s sdstate.Service, kind string) bool {
	return slices.ContainsFunc(s.DNS.Records, func(r sdstate.DNSRecord) bool { return r.Type == kind })
}

func (c *CloudMap) deregisterInstance(ctx context.Context, in *sdtypes.DeregisterInstanceRequest) (*sdtypes.DeregisterInstanceResponse, error) {
	svc, err := c.lookupService(ctx, awsapi.Deref(in.ServiceId))
	if err != nil {
		return nil, err
	}
	if _, err := c.lookupInstance(ctx, svc.Value, awsapi.Deref(in.InstanceId)); err != nil {
		return nil, err
	}
	id := awsapi.Deref(in.InstanceId)
	op, err := c.submit(ctx, sdstate.OpDeregisterInstance, map[string]string{sdstate.TargetService: svc.Value.ID, sdstate.TargetInstance: id},
		"", sdstate.Work{ServiceID: svc.Value.ID, InstanceID: id})
	return &sdtypes.DeregisterInstanceResponse{OperationId: op}, err
}

func (c *CloudMap) lookupInstance(ctx context.Context, s sdstate.Service, id string) (store.Versioned[sdstate.Instance], error) {
	inst, err := store.Get[sdstate.Instance](ctx, c.store, sdstate.InstanceKey(s.Region, s.ID, id))
	if errors.Is(err, store.ErrNotFound) {
		return inst, instanceNotFound(id)
	}
	return inst, err
}

func (c *CloudMap) getInstance(ctx context.Context, in *sdtypes.GetInstanceRequest) (*sdtypes.GetInstanceResponse, error) {
	svc, err := c.lookupService(ctx, awsapi.Deref(in.ServiceId))
	if err != nil {
		return nil, err
	}
	inst, err := c.lookupInstance(ctx, svc.Value, awsapi.Deref(in.InstanceId))
	if err != nil {
		return nil, err
	}
	i := inst.Value
	// Cloud Map keeps an instance's CreatorRequestId to itself: every
	// documented answer leaves it out, of instances the CLI registered
	// with one.
	return &sdtypes.GetInstanceResponse{ResourceOwner: awsapi.String(c.account), Instance: &sdtypes.Instance{
		Id: awsapi.String(i.ID), Attributes: i.Attributes, CreatedByAccount: awsapi.OptionalString(i.CreatedBy),
	}}, nil
}

// instances lists a service's instances.
func (c *CloudMap) instances(ctx context.Context, s sdstate.Service) ([]sdstate.Instance, error) {
	all, _, err := store.List[sdstate.Instance](ctx, c.store, sdstate.ServiceInstances(s.Region, s.ID), store.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]sdstate.Instance, len(all))
	for i, v := range all {
		out[i] = v.Value
	}
	return out, nil
}

func (c *CloudMap) listInstances(ctx context.Context, in *sdtypes.ListInstancesRequest) (*sdtypes.ListInstancesResponse, error) {
	svc, err := c.lookupService(ctx, awsapi.Deref(in.ServiceId))
	if err != nil {
		return nil, err
	}
	all, err := c.instances(ctx, svc.Value)
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(all, func(i sdstate.Instance) string { return i.ID }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &sdtypes.ListInstancesResponse{Instances: []sdtypes.InstanceSummary{}, NextToken: next, ResourceOwner: awsapi.String(c.account)}
	for _, i := range page {
		out.Instances = append(out.Instances, sdtypes.InstanceSummary{
			Id: awsapi.String(i.ID), Attributes: i.Attributes, CreatedByAccount: awsapi.OptionalString(i.CreatedBy),
		})
	}
	return out, nil
}

func (c *CloudMap) getInstancesHealthStatus(ctx context.Context, in *sdtypes.GetInstancesHealthStatusRequest) (*sdtypes.GetInstancesHealthStatusResponse, error) {
	svc, err := c.lookupService(ctx, awsapi.Deref(in.ServiceId))
	if err != nil {
		return nil, err
	}
	all, err := c.instances(ctx, svc.Value)
	if err != nil {
		return nil, err
	}
	if len(in.Instances) > 0 {
		byID := map[string]sdstate.Instance{}
		for _, i := range all {
			byID[i.ID] = i
		}
		all = all[:0]
		for _, id := range in.Instances {
			i, ok := byID[id]
			if !ok {
				return nil, instanceNotFound(id)
			}
			all = append(all, i)
		}
	}
	page, next, err := paginate(all, func(i sdstate.Instance) string { return i.ID }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &sdtypes.GetInstancesHealthStatusResponse{Status: map[string]string{}, NextToken: next}
	for _, i := range page {
		out.Status[i.ID] = i.Health
	}
	return out, nil
}

func (c *CloudMap) updateInstanceCustomHealthStatus(ctx context.Context, in *sdtypes.UpdateInstanceCustomHealthStatusRequest) (*struct{}, error) {
	svc, err := c.lookupService(ctx, awsapi.Deref(in.ServiceId))
	if err != nil {
		return nil, err
	}
	s := svc.Value
	id := awsapi.Deref(in.InstanceId)
	if s.Custom == nil {
		if _, err := c.lookupInstance(ctx, s, id); err != nil {
			return nil, err
		}
		// UNVERIFIED wording.
		return nil, awsapi.WithMessage(errCustomHealthNotFound, "Service %s has no custom health check.", s.ID)
	}
	err = sdstate.AskHealth(ctx, c.store, s.Region, s.ID, id, awsapi.Deref(in.Status), c.now().UTC())
	if errors.Is(err, sdstate.ErrNotFound) {
		return nil, instanceNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	return nil, nil
}

// discoverDefaultMax is how many instances DiscoverInstances returns when
// not told.
const discoverDefaultMax = 100

func (c *CloudMap) discoverInstances(ctx context.Context, in *sdtypes.DiscoverInstancesRequest) (*sdtypes.DiscoverInstancesResponse, error) {
	ns, svc, err := c.discover(ctx, awsapi.Deref(in.OwnerAccount), awsapi.Deref(in.NamespaceName), awsapi.Deref(in.ServiceName))
	if err != nil {
		return nil, err
	}
	all, err := c.instances(ctx, svc)
	if err != nil {
		return nil, err
	}
	matched := filterInstances(all, in.QueryParameters, in.OptionalParameters, svc, awsapi.Deref(in.HealthStatus))
	rand.Shuffle(len(matched), func(i, j int) { matched[i], matched[j] = matched[j], matched[i] })
	limit := int(awsapi.Deref(in.MaxResults))
	if limit == 0 {
		limit = discoverDefaultMax
	}
	matched = matched[:min(limit, len(matched))]
	out := &sdtypes.DiscoverInstancesResponse{Instances: []sdtypes.HttpInstanceSummary{}, InstancesRevision: awsapi.Int64(svc.InstancesRevision)}
	for _, i := range matched {
		out.Instances = append(out.Instances, sdtypes.HttpInstanceSummary{
			InstanceId: awsapi.String(i.ID), NamespaceName: awsapi.String(ns.HTTPName), ServiceName: awsapi.String(svc.Name),
			HealthStatus: awsapi.String(i.Health), Attributes: maps.Clone(i.Attributes),
		})
	}
	return out, nil
}

// filterInstances is what DiscoverInstances returns of all: those with
// every QueryParameters attribute; of them, those with every
// OptionalParameters attribute if any has; then by health, which a
// service without a health check ignores.
func filterInstances(all []sdstate.Instance, query, optional map[string]string, svc sdstate.Service, health string) []sdstate.Instance {
	has := func(i sdstate.Instance, want map[string]string) bool {
		for k, v := range want {
			if i.Attributes[k] != v {
				return false
			}
		}
		return true
	}
	var out []sdstate.Instance
	for _, i := range all {
		if has(i, query) {
			out = append(out, i)
		}
	}
	if len(optional) > 0 {
		var narrowed []sdstate.Instance
		for _, i := range out {
			if has(i, optional) {
				narrowed = append(narrowed, i)
			}
		}
		if len(narrowed) > 0 {
			out = narrowed
		}
	}
	if svc.HealthCheck == nil && svc.Custom == nil {
		return out
	}
	var healthy, unhealthy []sdstate.Instance
	for _, i := range out {
		if i.Healthy() {
			healthy = append(healthy, i)
		} else {
			unhealthy = append(unhealthy, i)
		}
	}
	switch health {
	case sdtypes.HealthStatusFilterAll:
		return out
	case sdtypes.HealthStatusFilterUnhealthy:
		return unhealthy
	case sdtypes.HealthStatusFilterHealthyOrElseAll:
		if len(healthy) == 0 {
			return out
		}
	}
	return healthy
}

func (c *CloudMap) discoverInstancesRevision(ctx context.Context, in *sdtypes.DiscoverInstancesRevisionRequest) (*sdtypes.DiscoverInstancesRevisionResponse, error) {
	_, svc, err := c.discover(ctx, awsapi.Deref(in.OwnerAccount), awsapi.Deref(in.NamespaceName), awsapi.Deref(in.ServiceName))
	if err != nil {
		return nil, err
	}
	return &sdtypes.DiscoverInstancesRevisionResponse{InstancesRevision: awsapi.Int64(svc.InstancesRevision)}, nil
}

// discover finds a namespace of owner (empty: the caller's account) by its
// HTTP name, and a service of it by name. berth serves one account, which
// no other shares a namespace with.
func (c *CloudMap) discover(ctx context.Context, owner, namespaceName, serviceName string) (sdstate.Namespace, sdstate.Service, error) {
	if owner != "" && owner != c.account {
		return sdstate.Namespace{}, sdstate.Service{}, namespaceNotFound(namespaceName)
	}
	r := region(ctx)
	claim, err := store.Get[sdstate.NameClaim](ctx, c.store, sdstate.NamespaceNameKey(r, namespaceName))
	if errors.Is(err, store.ErrNotFound) {
		return sdstate.Namespace{}, sdstate.Service{}, namespaceNotFound(namespaceName)
	} else if err != nil {
		return sdstate.Namespace{}, sdstate.Service{}, err
	}
	ns, err := c.lookupNamespace(ctx, claim.Value.ID)
	if err != nil {
		return sdstate.Namespace{}, sdstate.Service{}, err
	}
	sclaim, err := store.Get[sdstate.NameClaim](ctx, c.store, sdstate.ServiceNameKey(r, ns.Value.ID, serviceName))
	if errors.Is(err, store.ErrNotFound) {
		return sdstate.Namespace{}, sdstate.Service{}, serviceNotFound(serviceName)
	} else if err != nil {
		return sdstate.Namespace{}, sdstate.Service{}, err
	}
	svc, err := c.lookupService(ctx, sclaim.Value.ID)
	if err != nil {
		return sdstate.Namespace{}, sdstate.Service{}, err
	}
	return ns.Value, svc.Value, nil
}
