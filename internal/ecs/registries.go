package ecs

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/servicediscovery/sdstate"
)

// checkServiceRegistries validates a service's Cloud Map registries
// against Cloud Map and the task definition, as ECS does: one registry, a
// Cloud Map service of the region; A and AAAA records only for awsvpc
// tasks; an SRV record's port from port or a container and port of the
// definition (for bridge and host tasks the container and port), not
// both.
func (s *service) checkServiceRegistries(ctx context.Context, regs []ecstypes.ServiceRegistry, def ecstypes.TaskDefinition) error {
	if len(regs) == 0 {
		return nil
	}
	if len(regs) > 1 {
		// UNVERIFIED wording.
		return invalidParameter("A service can have at most one service registry.")
	}
	reg := regs[0]
	arn := awsapi.Deref(reg.RegistryArn)
	_, _, kind, id, ok := sdstate.ParseARN(arn)
	if !ok || kind != "service" || !strings.HasPrefix(id, sdstate.ServiceIDPrefix) {
		return invalidParameter("The format of the supplied service registry ARN is invalid: %s.", arn) // OBSERVED
	}
	svc, err := sdstate.ServiceByARN(ctx, s.store, requestRegion(ctx), arn)
	if errors.Is(err, sdstate.ErrNotFound) {
		// UNVERIFIED wording.
		return invalidParameter("The service registry %s does not exist.", arn)
	}
	if err != nil {
		return err
	}
	mode := definitionNetworkMode(def)
	container, hasContainerPort := awsapi.Deref(reg.ContainerName), reg.ContainerPort != nil
	if (container != "") != hasContainerPort {
		// UNVERIFIED wording.
		return invalidParameter("containerName and containerPort must be specified together in a service registry.")
	}
	if container != "" {
		cd := findContainer(def, container)
		if cd == nil {
			// UNVERIFIED wording.
			return invalidParameter("The container %s does not exist in the task definition.", container)
		}
		if !exposesPort(*cd, awsapi.Deref(reg.ContainerPort)) {
			return invalidParameter("The container %s did not have a container port %d defined.", container, awsapi.Deref(reg.ContainerPort)) // OBSERVED for load balancers
		}
	}
	srv := svc.DNS != nil && slices.ContainsFunc(svc.DNS.Records, func(d sdstate.DNSRecord) bool { return d.Type == sdstate.RecordSRV })
	switch {
	case mode != ecstypes.NetworkModeAwsvpc:
		// berth gives a registry the task's own address, which only an
		// awsvpc task has.
		return unsupportedFeature("berth supports service registries for tasks of the awsvpc network mode only; %s is %s.", awsapi.Deref(def.Family), mode)
	case srv && reg.Port != nil && container != "":
		// UNVERIFIED wording.
		return invalidParameter("Specify either a port or a containerName and containerPort combination in a service registry, not both.")
	case srv && reg.Port == nil && container == "":
		// UNVERIFIED wording.
		return invalidParameter("The service registry %s uses SRV records: specify a port or a containerName and containerPort combination.", arn)
	}
	return nil
}

// listServicesByNamespace lists the services of the region whose registry
// is a Cloud Map service of the namespace (its name or ARN).
func (s *service) listServicesByNamespace(ctx context.Context, in *ecstypes.ListServicesByNamespaceRequest) (*ecstypes.ListServicesByNamespaceResponse, error) {
	limit, err := pageSize(in.MaxResults)
	if err != nil {
		return nil, err
	}
	after, err := decodeToken(in.NextToken, "ListServicesByNamespace")
	if err != nil {
		return nil, err
	}
	ns, err := sdstate.NamespaceByRef(ctx, s.store, requestRegion(ctx), awsapi.Deref(in.Namespace))
	if errors.Is(err, sdstate.ErrNotFound) {
		return nil, errNamespaceNotFound
	}
	if err != nil {
		return nil, err
	}
	// A registry's namespace is read once per listing.
	inNamespace := map[string]bool{}
	var lookupErr error
	page, next, err := listPage(ctx, s.store, ecsstate.RegionPrefix(ecsstate.ServicePrefix, requestRegion(ctx)), after, limit,
		func(v *ecsstate.Service) bool {
			if v.Status != ecsstate.ServiceActive || len(v.ServiceRegistries) == 0 {
				return false
			}
			arn := awsapi.Deref(v.ServiceRegistries[0].RegistryArn)
			known, seen := inNamespace[arn]
			if !seen {
				sd, err := sdstate.ServiceByARN(ctx, s.store, requestRegion(ctx), arn)
				if err != nil && !errors.Is(err, sdstate.ErrNotFound) {
					lookupErr = err
				}
				known = err == nil && sd.NamespaceID == ns.ID
				inNamespace[arn] = known
			}
			return known
		},
		func(v *ecsstate.Service) string { return v.Key() })
	if err = errors.Join(err, lookupErr); err != nil {
		return nil, err
	}
	out := &ecstypes.ListServicesByNamespaceResponse{ServiceArns: make([]string, 0, len(page))}
	for _, v := range page {
		out.ServiceArns = append(out.ServiceArns, s.requestARNs(ctx).Service(v.Cluster, v.Name))
	}
	if next != "" {
		out.NextToken = encodeToken("ListServicesByNamespace", next)
	}
	return out, nil
}
