package sdstate

import (
	"context"
	"errors"

	"github.com/berth/berth/internal/store"
)

// ErrNotFound: no record of the region has the ARN or name.
var ErrNotFound = errors.New("servicediscovery: not found")

// ServiceByARN reads the service arn names in region.
func ServiceByARN(ctx context.Context, s store.Store, region, arn string) (Service, error) {
	r, _, kind, id, ok := ParseARN(arn)
	if !ok || kind != "service" || r != region {
		return Service{}, ErrNotFound
	}
	svc, err := store.Get[Service](ctx, s, ServiceKey(region, id))
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && svc.Value.ARN != arn):
		return Service{}, ErrNotFound
	case err != nil:
		return Service{}, err
	}
	return svc.Value, nil
}

// NamespaceByRef reads the namespace of region ref names: its ARN, its
// name or its HTTP name.
func NamespaceByRef(ctx context.Context, s store.Store, region, ref string) (Namespace, error) {
	if r, _, kind, id, ok := ParseARN(ref); ok {
		if kind != "namespace" || r != region {
			return Namespace{}, ErrNotFound
		}
		ns, err := store.Get[Namespace](ctx, s, NamespaceKey(region, id))
		if errors.Is(err, store.ErrNotFound) || (err == nil && ns.Value.ARN != ref) {
			return Namespace{}, ErrNotFound
		}
		return ns.Value, err
	}
	claim, err := store.Get[NameClaim](ctx, s, NamespaceNameKey(region, ref))
	if errors.Is(err, store.ErrNotFound) {
		return Namespace{}, ErrNotFound
	}
	if err != nil {
		return Namespace{}, err
	}
	ns, err := store.Get[Namespace](ctx, s, NamespaceKey(region, claim.Value.ID))
	if errors.Is(err, store.ErrNotFound) {
		return Namespace{}, ErrNotFound
	}
	return ns.Value, err
}
