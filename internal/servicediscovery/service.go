// Package servicediscovery is berth's AWS Cloud Map API: namespaces (a
// private DNS namespace bound to a VPC, public DNS and HTTP namespaces),
// services with their DNS records and health checks, service instances,
// the asynchronous operations that change them, and DiscoverInstances.
//
// The records live in the store (sdstate); berth's DNS server
// (internal/dnsserver) answers from them, and ECS registers its service
// tasks through them. Creating, updating and deleting a namespace, updating
// a service and registering or deregistering an instance are operations:
// the call records one, SUBMITTED, and the operations worker (RunWorker)
// carries it out, PENDING then SUCCESS or FAIL, as Cloud Map does.
package servicediscovery

import (
	"context"
	"log/slog"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/model"
	"github.com/berth/berth/internal/store"
)

// Config wires the Cloud Map API.
type Config struct {
	Store store.Store
	// AccountID names the account in ARNs. Each request works in its own
	// region (awsapi.RequestFrom).
	AccountID string
	// Now is the clock (nil: time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// CloudMap is the Cloud Map service.
type CloudMap struct {
	store   store.Store
	account string
	now     func() time.Time
	log     *slog.Logger
	errs    *awsapi.ErrorTable
}

// New returns the Cloud Map service.
func New(cfg Config) *CloudMap {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	log := cfg.Logger.With("service", "servicediscovery")
	return &CloudMap{store: cfg.Store, account: cfg.AccountID, now: cfg.Now, log: log, errs: newErrorTable(log)}
}

// Service returns the API as the gateway serves it.
func (c *CloudMap) Service() *awsapi.Service {
	return &awsapi.Service{
		SigningName:  "servicediscovery",
		TargetPrefix: "Route53AutoNaming_v20170314",
		Protocol:     awsapi.JSON11,
		Model:        model.MustLoad("servicediscovery"),
		Operations:   c.errs.Bind(c.operations()),
		Unsupported:  func(op string) *awsapi.Error { return c.errs.Map(context.Background(), unsupported(op)) },
		Access:       c.access,
	}
}

func (c *CloudMap) operations() map[string]awsapi.Operation {
	return map[string]awsapi.Operation{
		"CreatePrivateDnsNamespace": awsapi.Op(c.createPrivateDNSNamespace),
		"CreatePublicDnsNamespace":  awsapi.Op(c.createPublicDNSNamespace),
		"CreateHttpNamespace":       awsapi.Op(c.createHTTPNamespace),
		"GetNamespace":              awsapi.Op(c.getNamespace),
		"ListNamespaces":            awsapi.Op(c.listNamespaces),
		"UpdatePrivateDnsNamespace": awsapi.Op(c.updatePrivateDNSNamespace),
		"UpdatePublicDnsNamespace":  awsapi.Op(c.updatePublicDNSNamespace),
		"UpdateHttpNamespace":       awsapi.Op(c.updateHTTPNamespace),
		"DeleteNamespace":           awsapi.Op(c.deleteNamespace),

		"CreateService":           awsapi.Op(c.createService),
		"GetService":              awsapi.Op(c.getService),
		"ListServices":            awsapi.Op(c.listServices),
		"UpdateService":           awsapi.Op(c.updateService),
		"DeleteService":           awsapi.Op(c.deleteService),
		"GetServiceAttributes":    awsapi.Op(c.getServiceAttributes),
		"UpdateServiceAttributes": awsapi.Op(c.updateServiceAttributes),
		"DeleteServiceAttributes": awsapi.Op(c.deleteServiceAttributes),

		"RegisterInstance":                 awsapi.Op(c.registerInstance),
		"DeregisterInstance":               awsapi.Op(c.deregisterInstance),
		"GetInstance":                      awsapi.Op(c.getInstance),
		"ListInstances":                    awsapi.Op(c.listInstances),
		"GetInstancesHealthStatus":         awsapi.Op(c.getInstancesHealthStatus),
		"UpdateInstanceCustomHealthStatus": awsapi.Op(c.updateInstanceCustomHealthStatus),
		"DiscoverInstances":                awsapi.Op(c.discoverInstances),
		"DiscoverInstancesRevision":        awsapi.Op(c.discoverInstancesRevision),

		"GetOperation":   awsapi.Op(c.getOperation),
		"ListOperations": awsapi.Op(c.listOperations),

		"TagResource":         awsapi.Op(c.tagResource),
		"UntagResource":       awsapi.Op(c.untagResource),
		"ListTagsForResource": awsapi.Op(c.listTagsForResource),
	}
}

// region is the request's region.
func region(ctx context.Context) string { return awsapi.RequestFrom(ctx).Region }
