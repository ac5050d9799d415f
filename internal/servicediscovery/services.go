package servicediscovery

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/servicediscovery/sdstate"
	"github.com/berth/berth/internal/servicediscovery/sdtypes"
	"github.com/berth/berth/internal/store"
)

// maxServiceAttributes is how many attributes a service may have.
const maxServiceAttributes = 30

// recordSets are the combinations of record types a service may have.
var recordSets = [][]string{
	{"A"}, {"AAAA"}, {"A", "AAAA"}, {"SRV"}, {"A", "SRV"}, {"AAAA", "SRV"}, {"A", "AAAA", "SRV"}, {"CNAME"},
}

func (c *CloudMap) createService(ctx context.Context, in *sdtypes.CreateServiceRequest) (*sdtypes.CreateServiceResponse, error) {
	ref := awsapi.Deref(in.NamespaceId)
	if ref == "" && in.DnsConfig != nil {
		ref = awsapi.Deref(in.DnsConfig.NamespaceId)
	}
	if ref == "" {
		return nil, invalidInput("NamespaceId is required.") // UNVERIFIED wording
	}
	r := region(ctx)
	id := sdstate.NewServiceID()
	svc := sdstate.Service{
		ID: id, ARN: sdstate.ServiceARN(r, c.account, id), Region: r, Name: awsapi.Deref(in.Name),
		Description: awsapi.Deref(in.Description), CreatorRequestID: awsapi.Deref(in.CreatorRequestId),
		CreatedBy: c.account, CreateDate: c.now().UTC(), Type: awsapi.Deref(in.Type), Tags: tagsOf(in.Tags),
	}
	if err := checkTags(svc.Tags); err != nil {
		return nil, err
	}
	if in.HealthCheckConfig != nil && in.HealthCheckCustomConfig != nil {
		// UNVERIFIED wording.
		return nil, invalidInput("A service can have either HealthCheckConfig or HealthCheckCustomConfig, not both.")
	}
	if in.HealthCheckCustomConfig != nil {
		// FailureThreshold is always 1 now, whatever is asked.
		svc.Custom = &sdstate.CustomCheck{FailureThreshold: 1}
	}
	var out sdstate.Service
	err := store.Retry(ctx, func() error {
		ns, err := c.lookupNamespace(ctx, ref)
		if err != nil {
			return err
		}
		n := ns.Value
		svc.NamespaceID = n.ID
		if err := c.checkServiceConfig(&svc, n, in.DnsConfig, in.HealthCheckConfig); err != nil {
			return err
		}
		claimKey := sdstate.ServiceNameKey(r, n.ID, svc.Name)
		if claim, err := store.Get[sdstate.NameClaim](ctx, c.store, claimKey); err == nil {
			other, err := store.Get[sdstate.Service](ctx, c.store, sdstate.ServiceKey(r, claim.Value.ID))
			if err != nil {
				return err
			}
			if svc.CreatorRequestID != "" && other.Value.CreatorRequestID == svc.CreatorRequestID {
				out = other.Value // a retry of the request that made it
				return nil
			}
			return &serviceExists{name: svc.Name, svc: other.Value}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		n.ServiceCount++
		putNS, err := store.PutJSON(sdstate.NamespaceKey(r, n.ID), n)
		if err != nil {
			return err
		}
		put, err := store.PutJSON(sdstate.ServiceKey(r, svc.ID), svc)
		if err != nil {
			return err
		}
		claim, err := store.PutJSON(claimKey, sdstate.NameClaim{ID: svc.ID})
		if err != nil {
			return err
		}
		if _, err := c.store.Txn(ctx, store.Txn{
			If:   []store.Compare{{Key: putNS.Key, ModRevision: ns.ModRevision}, {Key: claim.Key}, {Key: put.Key}},
			Then: []store.Op{putNS, put, claim},
		}); err != nil {
			return err
		}
		out = svc
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &sdtypes.CreateServiceResponse{Service: c.serviceShape(out)}, nil
}

// checkServiceConfig validates a new service's DNS configuration and
// Route 53 health check against its namespace, and sets them.
func (c *CloudMap) checkServiceConfig(svc *sdstate.Service, ns sdstate.Namespace, dns *sdtypes.DnsConfig, hc *sdtypes.HealthCheckConfig) error {
	if ns.IsDNS() {
		if err := checkServiceName(svc.Name); err != nil {
			return err
		}
	}
	switch {
	case svc.Type != "" && svc.Type != sdstate.ServiceTypeHTTP:
		return invalidInput("The only valid service Type is HTTP.") // UNVERIFIED wording
	case svc.Type == sdstate.ServiceTypeHTTP || !ns.IsDNS():
		if dns != nil && len(dns.DnsRecords) > 0 {
			// UNVERIFIED wording.
			return invalidInput("DnsConfig is not valid for a service that is discoverable only by the API (namespace type %s).", ns.Type)
		}
	case dns == nil || len(dns.DnsRecords) == 0:
		return invalidInput("DnsConfig is required for a service in a DNS namespace.") // UNVERIFIED wording
	default:
		cfg, err := dnsConfig(dns)
		if err != nil {
			return err
		}
		svc.DNS = cfg
	}
	if hc != nil {
		if ns.Type == sdstate.TypeDNSPrivate {
			// Route 53 health checks reach instances from the internet.
			return invalidInput("HealthCheckConfig is not valid for a service in a private DNS namespace; use HealthCheckCustomConfig.") // UNVERIFIED wording
		}
		check, err := healthCheck(hc)
		if err != nil {
			return err
		}
		svc.HealthCheck = check
	}
	return nil
}

// serviceLabel is one label of a service's name in a DNS namespace.
var serviceLabel = dnsLabel

func checkServiceName(name string) error {
	for _, label := range strings.Split(name, ".") {
		if !serviceLabel.MatchString(label) {
			return invalidInput("The service name %s is not a valid DNS name.", name) // UNVERIFIED wording
		}
	}
	return nil
}

func dnsConfig(in *sdtypes.DnsConfig) (*sdstate.DNSConfig, error) {
	cfg := &sdstate.DNSConfig{RoutingPolicy: awsapi.Deref(in.RoutingPolicy)}
	if cfg.RoutingPolicy == "" {
		cfg.RoutingPolicy = sdstate.RoutingMultivalue
	}
	var kinds []string
	for _, r := range in.DnsRecords {
		kind := awsapi.Deref(r.Type)
		if slices.Contains(kinds, kind) {
			return nil, invalidInput("DnsRecords has the type %s more than once.", kind) // UNVERIFIED wording
		}
		kinds = append(kinds, kind)
		cfg.Records = append(cfg.Records, sdstate.DNSRecord{Type: kind, TTL: awsapi.Deref(r.TTL)})
	}
	sorted := slices.Clone(kinds)
	slices.Sort(sorted)
	if !slices.ContainsFunc(recordSets, func(set []string) bool { return slices.Equal(set, sorted) }) {
		// UNVERIFIED wording.
		return nil, invalidInput("DnsRecords of the types %s cannot be combined; use A, AAAA, A and AAAA, SRV (with A or AAAA), or CNAME.", strings.Join(kinds, ", "))
	}
	if slices.Contains(kinds, sdstate.RecordCNAME) && cfg.RoutingPolicy != sdstate.RoutingWeighted {
		return nil, invalidInput("CNAME records require the WEIGHTED routing policy.") // UNVERIFIED wording
	}
	return cfg, nil
}

func healthCheck(in *sdtypes.HealthCheckConfig) (*sdstate.HealthCheck, error) {
	check := &sdstate.HealthCheck{Type: awsapi.Deref(in.Type), ResourcePath: awsapi.Deref(in.ResourcePath), FailureThreshold: awsapi.Deref(in.FailureThreshold)}
	if check.FailureThreshold == 0 {
		check.FailureThreshold = 3 // Route 53's default
	}
	if check.Type == sdtypes.HealthCheckTypeTcp && check.ResourcePath != "" {
		return nil, invalidInput("ResourcePath is not valid for a TCP health check.") // UNVERIFIED wording
	}
	if check.Type != sdtypes.HealthCheckTypeTcp && check.ResourcePath == "" {
		check.ResourcePath = "/"
	}
	return check, nil
}

// serviceID is the id an Id member names: the id, or the service's ARN.
func serviceID(ref string) string {
	if _, _, kind, id, ok := sdstate.ParseARN(ref); ok && kind == "service" {
		return id
	}
	return ref
}

// lookupService reads the service ref (an id or an ARN) names.
func (c *CloudMap) lookupService(ctx context.Context, ref string) (store.Versioned[sdstate.Service], error) {
	svc, err := store.Get[sdstate.Service](ctx, c.store, sdstate.ServiceKey(region(ctx), serviceID(ref)))
	if errors.Is(err, store.ErrNotFound) || (err == nil && strings.HasPrefix(ref, "arn:") && svc.Value.ARN != ref) {
		return svc, serviceNotFound(ref)
	}
	return svc, err
}

// serviceType is what GetService calls a service: HTTP when only the API
// finds it, else DNS_HTTP.
func serviceType(s sdstate.Service) string {
	if s.DNS == nil {
		return sdstate.ServiceTypeHTTP
	}
	return sdstate.ServiceTypeDNSHTTP
}

// serviceShape is a service as Cloud Map answers it. The API reference
// defines an InstanceCount, which no documented answer of CreateService,
// GetService or ListServices has: Cloud Map leaves it out.
func (c *CloudMap) serviceShape(s sdstate.Service) *sdtypes.Service {
	out := &sdtypes.Service{
		Id: awsapi.String(s.ID), Arn: awsapi.String(s.ARN), Name: awsapi.String(s.Name), NamespaceId: awsapi.String(s.NamespaceID),
		Description: awsapi.OptionalString(s.Description), CreatorRequestId: awsapi.OptionalString(s.CreatorRequestID),
		CreatedByAccount: awsapi.String(s.CreatedBy), ResourceOwner: awsapi.String(c.account), CreateDate: awsapi.Time(s.CreateDate),
		Type: awsapi.String(serviceType(s)), DnsConfig: dnsConfigShape(s), HealthCheckConfig: healthCheckShape(s.HealthCheck),
	}
	if s.Custom != nil {
		out.HealthCheckCustomConfig = &sdtypes.HealthCheckCustomConfig{FailureThreshold: awsapi.Int32(s.Custom.FailureThreshold)}
	}
	return out
}

func dnsConfigShape(s sdstate.Service) *sdtypes.DnsConfig {
	if s.DNS == nil {
		return &sdtypes.DnsConfig{}
	}
	out := &sdtypes.DnsConfig{RoutingPolicy: awsapi.String(s.DNS.RoutingPolicy), NamespaceId: awsapi.String(s.NamespaceID), DnsRecords: []sdtypes.DnsRecord{}}
	for _, r := range s.DNS.Records {
		out.DnsRecords = append(out.DnsRecords, sdtypes.DnsRecord{Type: awsapi.String(r.Type), TTL: awsapi.Int64(r.TTL)})
	}
	return out
}

func healthCheckShape(h *sdstate.HealthCheck) *sdtypes.HealthCheckConfig {
	if h == nil {
		return nil
	}
	return &sdtypes.HealthCheckConfig{Type: awsapi.String(h.Type), ResourcePath: awsapi.OptionalString(h.ResourcePath), FailureThreshold: awsapi.Int32(h.FailureThreshold)}
}

func (c *CloudMap) getService(ctx context.Context, in *sdtypes.GetServiceRequest) (*sdtypes.GetServiceResponse, error) {
	svc, err := c.lookupService(ctx, awsapi.Deref(in.Id))
	if err != nil {
		return nil, err
	}
	return &sdtypes.GetServiceResponse{Service: c.serviceShape(svc.Value)}, nil
}

func (c *CloudMap) listServices(ctx context.Context, in *sdtypes.ListServicesRequest) (*sdtypes.ListServicesResponse, error) {
	var tests []func(sdstate.Service) bool
	for _, f := range in.Filters {
		name, cond := awsapi.Deref(f.Name), awsapi.Deref(f.Condition)
		if cond == "" {
			cond = sdtypes.FilterConditionEq
		}
		field := func(s sdstate.Service) string { return s.NamespaceID }
		allowed := []string{sdtypes.FilterConditionEq, sdtypes.FilterConditionIn}
		values := f.Values
		if name == sdtypes.ServiceFilterNameResourceOwner {
			field, allowed = func(sdstate.Service) string { return "SELF" }, []string{sdtypes.FilterConditionEq}
		} else {
			values = make([]string, len(f.Values))
			for i, v := range f.Values {
				values[i] = namespaceID(v)
			}
		}
		test, err := stringFilter(name, cond, values, allowed, field)
		if err != nil {
			return nil, err
		}
		tests = append(tests, test)
	}
	all, _, err := store.List[sdstate.Service](ctx, c.store, sdstate.RegionPrefix(sdstate.ServicePrefix, region(ctx)), store.ListOptions{})
	if err != nil {
		return nil, err
	}
	var matched []sdstate.Service
	for _, s := range all {
		if !slices.ContainsFunc(tests, func(test func(sdstate.Service) bool) bool { return !test(s.Value) }) {
			matched = append(matched, s.Value)
		}
	}
	page, next, err := paginate(matched, func(s sdstate.Service) string { return s.ID }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &sdtypes.ListServicesResponse{Services: []sdtypes.ServiceSummary{}, NextToken: next}
	for _, s := range page {
		full := c.serviceShape(s)
		// A summary's DNS configuration leaves out the (deprecated)
		// NamespaceId that CreateService answers for the same service.
		full.DnsConfig.NamespaceId = nil
		out.Services = append(out.Services, sdtypes.ServiceSummary{
			Id: full.Id, Arn: full.Arn, Name: full.Name, Description: full.Description, CreatedByAccount: full.CreatedByAccount,
			ResourceOwner: full.ResourceOwner, CreateDate: full.CreateDate, Type: full.Type,
			DnsConfig: full.DnsConfig, HealthCheckConfig: full.HealthCheckConfig, HealthCheckCustomConfig: full.HealthCheckCustomConfig,
		})
	}
	return out, nil
}

func (c *CloudMap) updateService(ctx context.Context, in *sdtypes.UpdateServiceRequest) (*sdtypes.UpdateServiceResponse, error) {
	svc, err := c.lookupService(ctx, awsapi.Deref(in.Id))
	if err != nil {
		return nil, err
	}
	s := svc.Value
	w := sdstate.Work{ServiceID: s.ID}
	if ch := in.Service; ch != nil {
		w.Description = ch.Description
		if ch.DnsConfig != nil {
			if s.DNS == nil {
				return nil, invalidInput("Service %s has no DNS configuration to update.", s.ID) // UNVERIFIED wording
			}
			// Only the TTLs change: a record type cannot.
			var types []string
			for _, r := range ch.DnsConfig.DnsRecords {
				w.Records = append(w.Records, sdstate.DNSRecord{Type: awsapi.Deref(r.Type), TTL: awsapi.Deref(r.TTL)})
				types = append(types, awsapi.Deref(r.Type))
			}
			var have []string
			for _, r := range s.DNS.Records {
				have = append(have, r.Type)
			}
			slices.Sort(types)
			slices.Sort(have)
			if !slices.Equal(types, have) {
				// UNVERIFIED wording.
				return nil, invalidInput("The record types of a service cannot be changed (it has %s).", strings.Join(have, ", "))
			}
		}
		if ch.HealthCheckConfig != nil {
			// A Route 53 check may be added to a service of a public
			// namespace that has no custom one. An omitted check is kept:
			// deleting it would change which instances answer.
			if s.HealthCheck == nil {
				ns, err := c.lookupNamespace(ctx, s.NamespaceID)
				if err != nil {
					return nil, err
				}
				if s.Custom != nil || ns.Value.Type != sdstate.TypeDNSPublic {
					// UNVERIFIED wording.
					return nil, invalidInput("A Route 53 health check can be added only to a service of a public DNS namespace without a custom health check.")
				}
			}
			check, err := healthCheck(ch.HealthCheckConfig)
			if err != nil {
				return nil, err
			}
			w.HealthCheck = check
		}
	}
	id, err := c.submit(ctx, sdstate.OpUpdateService, map[string]string{sdstate.TargetService: s.ID}, "", w)
	return &sdtypes.UpdateServiceResponse{OperationId: id}, err
}

func (c *CloudMap) deleteService(ctx context.Context, in *sdtypes.DeleteServiceRequest) (*sdtypes.DeleteServiceResponse, error) {
	ref := awsapi.Deref(in.Id)
	err := store.Retry(ctx, func() error {
		svc, err := c.lookupService(ctx, ref)
		if err != nil {
			return err
		}
		s := svc.Value
		if s.InstanceCount > 0 {
			// UNVERIFIED wording.
			return awsapi.WithMessage(errResourceInUse, "Service %s has %d registered instances; deregister them first.", s.ID, s.InstanceCount)
		}
		r := s.Region
		nsKey := sdstate.NamespaceKey(r, s.NamespaceID)
		ns, err := store.Get[sdstate.Namespace](ctx, c.store, nsKey)
		if err != nil {
			return err
		}
		n := ns.Value
		n.ServiceCount = max(n.ServiceCount-1, 0)
		putNS, err := store.PutJSON(nsKey, n)
		if err != nil {
			return err
		}
		key := sdstate.ServiceKey(r, s.ID)
		_, err = c.store.Txn(ctx, store.Txn{
			If:   []store.Compare{{Key: key, ModRevision: svc.ModRevision}, {Key: nsKey, ModRevision: ns.ModRevision}},
			Then: []store.Op{store.Delete(key), store.Delete(sdstate.ServiceNameKey(r, s.NamespaceID, s.Name)), putNS},
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &sdtypes.DeleteServiceResponse{}, nil
}

func (c *CloudMap) getServiceAttributes(ctx context.Context, in *sdtypes.GetServiceAttributesRequest) (*sdtypes.GetServiceAttributesResponse, error) {
	svc, err := c.lookupService(ctx, awsapi.Deref(in.ServiceId))
	if err != nil {
		return nil, err
	}
	s := svc.Value
	attrs := s.Attributes
	if attrs == nil {
		attrs = map[string]string{}
	}
	return &sdtypes.GetServiceAttributesResponse{ServiceAttributes: &sdtypes.ServiceAttributes{
		ServiceArn: awsapi.String(s.ARN), ResourceOwner: awsapi.String(c.account), Attributes: attrs,
	}}, nil
}

func (c *CloudMap) updateServiceAttributes(ctx context.Context, in *sdtypes.UpdateServiceAttributesRequest) (*sdtypes.UpdateServiceAttributesResponse, error) {
	err := c.changeService(ctx, awsapi.Deref(in.ServiceId), func(s *sdstate.Service) error {
		if s.Attributes == nil {
			s.Attributes = map[string]string{}
		}
		for k, v := range in.Attributes {
			s.Attributes[k] = v
		}
		if len(s.Attributes) > maxServiceAttributes {
			// UNVERIFIED wording.
			return awsapi.WithMessage(errAttributesLimit, "A service can have at most %d attributes.", maxServiceAttributes)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &sdtypes.UpdateServiceAttributesResponse{}, nil
}

func (c *CloudMap) deleteServiceAttributes(ctx context.Context, in *sdtypes.DeleteServiceAttributesRequest) (*sdtypes.DeleteServiceAttributesResponse, error) {
	err := c.changeService(ctx, awsapi.Deref(in.ServiceId), func(s *sdstate.Service) error {
		for _, k := range in.Attributes {
			delete(s.Attributes, k)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &sdtypes.DeleteServiceAttributesResponse{}, nil
}

// changeService applies edit to the service ref names and writes it,
// guarded by the revision read.
func (c *CloudMap) changeService(ctx context.Context, ref string, edit func(*sdstate.Service) error) error {
	return store.Retry(ctx, func() error {
		svc, err := c.lookupService(ctx, ref)
		if err != nil {
			return err
		}
		s := svc.Value
		if err := edit(&s); err != nil {
			return err
		}
		put, err := store.PutJSON(sdstate.ServiceKey(s.Region, s.ID), s)
		if err != nil {
			return err
		}
		_, err = c.store.Txn(ctx, store.Txn{If: []store.Compare{{Key: put.Key, ModRevision: svc.ModRevision}}, Then: []store.Op{put}})
		return err
	})
}
