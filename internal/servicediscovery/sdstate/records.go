package sdstate

import (
	"encoding/json"
	"time"
)

// Namespace types, as Cloud Map names them.
const (
	TypeDNSPrivate = "DNS_PRIVATE"
	TypeDNSPublic  = "DNS_PUBLIC"
	TypeHTTP       = "HTTP"
)

// Namespace is a Cloud Map namespace. A DNS namespace is a zone berth's
// DNS server is authoritative for: a private one only for the tasks of its
// VPC, a public one for every asker.
type Namespace struct {
	ID     string `json:"id"`
	ARN    string `json:"arn"`
	Region string `json:"region"`
	Name   string `json:"name"`
	// HTTPName is the name DiscoverInstances finds it by, unique in its
	// region: its name, with a hash added when another namespace (a
	// private one of another VPC) has that name.
	HTTPName         string    `json:"httpName"`
	Type             string    `json:"type"`
	Description      string    `json:"description,omitempty"`
	CreatorRequestID string    `json:"creatorRequestId,omitempty"`
	CreateDate       time.Time `json:"createDate"`
	// VPC is a private namespace's VPC.
	VPC string `json:"vpc,omitempty"`
	// HostedZoneID names the zone of a DNS namespace, in Route 53's form.
	HostedZoneID string `json:"hostedZoneId,omitempty"`
	// SOATTL is a DNS namespace's SOA TTL: the TTL of its SOA record and
	// of negative answers.
	SOATTL int64 `json:"soaTtl,omitempty"`
	// ServiceCount is how many services it holds: a service's creation
	// and deletion rewrite it, so DeleteNamespace sees every one.
	ServiceCount int   `json:"serviceCount"`
	Tags         []Tag `json:"tags,omitempty"`
}

// IsDNS reports whether the namespace is a DNS zone.
func (n Namespace) IsDNS() bool { return n.Type == TypeDNSPrivate || n.Type == TypeDNSPublic }

// DefaultSOATTL is the SOA TTL of a DNS namespace made without one.
// UNVERIFIED: Cloud Map's default.
const DefaultSOATTL = 15

// Tag is a resource tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// NameClaim holds a name for the record it names.
type NameClaim struct {
	ID string `json:"id"`
}

// Routing policies and record types of a service's DNS configuration.
const (
	RoutingMultivalue = "MULTIVALUE"
	RoutingWeighted   = "WEIGHTED"

	RecordA     = "A"
	RecordAAAA  = "AAAA"
	RecordSRV   = "SRV"
	RecordCNAME = "CNAME"
)

// Service types: DNS (DNS records, discoverable by the API too), DNS_HTTP
// and HTTP (the API alone).
const (
	ServiceTypeDNS     = "DNS"
	ServiceTypeDNSHTTP = "DNS_HTTP"
	ServiceTypeHTTP    = "HTTP"
)

// Service is a Cloud Map service: a name in a namespace, the records its
// instances get and how their health is known.
type Service struct {
	ID               string    `json:"id"`
	ARN              string    `json:"arn"`
	Region           string    `json:"region"`
	NamespaceID      string    `json:"namespaceId"`
	Name             string    `json:"name"`
	Description      string    `json:"description,omitempty"`
	CreatorRequestID string    `json:"creatorRequestId,omitempty"`
	CreatedBy        string    `json:"createdBy,omitempty"`
	CreateDate       time.Time `json:"createDate"`
	// DNS is the service's DNS configuration; nil for a service of the
	// API alone.
	DNS *DNSConfig `json:"dns,omitempty"`
	// HealthCheck is a Route 53 health check's configuration, Custom a
	// custom health check's; at most one is set.
	HealthCheck *HealthCheck `json:"healthCheck,omitempty"`
	Custom      *CustomCheck `json:"custom,omitempty"`
	// Type is what the service explicitly is (HTTP for an API-only
	// service in a DNS namespace), empty to derive it from the namespace.
	Type       string            `json:"type,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
	// InstanceCount is how many instances are registered; InstancesRevision
	// changes with every registration and deregistration.
	InstanceCount     int   `json:"instanceCount"`
	InstancesRevision int64 `json:"instancesRevision"`
	Tags              []Tag `json:"tags,omitempty"`
}

// DNSConfig is the records a service's instances get.
type DNSConfig struct {
	RoutingPolicy string      `json:"routingPolicy"`
	Records       []DNSRecord `json:"records"`
}

// DNSRecord is one record type of a service, with its TTL.
type DNSRecord struct {
	Type string `json:"type"`
	TTL  int64  `json:"ttl"`
}

// HealthCheck is a Route 53 health check of a public namespace's service.
type HealthCheck struct {
	Type             string `json:"type"`
	ResourcePath     string `json:"resourcePath,omitempty"`
	FailureThreshold int32  `json:"failureThreshold"`
}

// CustomCheck is a custom health check: the instance's status is what
// the last UpdateInstanceCustomHealthStatus said.
type CustomCheck struct {
	FailureThreshold int32 `json:"failureThreshold"`
}

// Instance attributes Cloud Map itself reads.
const (
	AttrIPv4       = "AWS_INSTANCE_IPV4"
	AttrIPv6       = "AWS_INSTANCE_IPV6"
	AttrPort       = "AWS_INSTANCE_PORT"
	AttrCNAME      = "AWS_INSTANCE_CNAME"
	AttrInitHealth = "AWS_INIT_HEALTH_STATUS"
	AttrAlias      = "AWS_ALIAS_DNS_NAME"
)

// Health statuses.
const (
	Healthy   = "HEALTHY"
	Unhealthy = "UNHEALTHY"
	Unknown   = "UNKNOWN"
)

// Instance is a registered service instance.
type Instance struct {
	ID               string            `json:"id"`
	ServiceID        string            `json:"serviceId"`
	Region           string            `json:"region"`
	Attributes       map[string]string `json:"attributes"`
	CreatorRequestID string            `json:"creatorRequestId,omitempty"`
	CreatedBy        string            `json:"createdBy,omitempty"`
	// Health is the instance's status: UNKNOWN without a health check,
	// else HEALTHY or UNHEALTHY.
	Health string `json:"health"`
	// Pending is a custom status asked for and not yet in effect, since
	// PendingSince: Cloud Map applies it a while after the first request
	// (CustomHealthDelay).
	Pending      string    `json:"pending,omitempty"`
	PendingSince time.Time `json:"pendingSince,omitzero"`
}

// Operation statuses and types.
const (
	OpSubmitted = "SUBMITTED"
	OpPending   = "PENDING"
	OpSuccess   = "SUCCESS"
	OpFail      = "FAIL"

	OpCreateNamespace    = "CREATE_NAMESPACE"
	OpDeleteNamespace    = "DELETE_NAMESPACE"
	OpUpdateNamespace    = "UPDATE_NAMESPACE"
	OpUpdateService      = "UPDATE_SERVICE"
	OpRegisterInstance   = "REGISTER_INSTANCE"
	OpDeregisterInstance = "DEREGISTER_INSTANCE"

	TargetNamespace = "NAMESPACE"
	TargetService   = "SERVICE"
	TargetInstance  = "INSTANCE"
)

// Operation is one asynchronous change: submitted by the API, carried out
// by the operations worker (Execute), which records how it ended.
type Operation struct {
	ID               string            `json:"id"`
	Region           string            `json:"region"`
	Type             string            `json:"type"`
	Status           string            `json:"status"`
	ErrorCode        string            `json:"errorCode,omitempty"`
	ErrorMessage     string            `json:"errorMessage,omitempty"`
	Targets          map[string]string `json:"targets"`
	CreatorRequestID string            `json:"creatorRequestId,omitempty"`
	CreateDate       time.Time         `json:"createDate"`
	UpdateDate       time.Time         `json:"updateDate"`
	// Work is what to do, by Type (a Work value).
	Work json.RawMessage `json:"work,omitempty"`
}

// Done reports whether the operation has ended.
func (o Operation) Done() bool { return o.Status == OpSuccess || o.Status == OpFail }

// Work is an operation's change. Each type uses its part.
type Work struct {
	// Namespace is the namespace to create (CREATE_NAMESPACE).
	Namespace *Namespace `json:"namespace,omitempty"`
	// NamespaceID names the namespace to delete or update.
	NamespaceID string `json:"namespaceId,omitempty"`
	// Description and SOATTL are an update's new values, when set.
	Description *string `json:"description,omitempty"`
	SOATTL      *int64  `json:"soaTtl,omitempty"`
	// ServiceID names the service to update, or of the instance.
	ServiceID string `json:"serviceId,omitempty"`
	// Records are a service update's new TTLs, by record type;
	// HealthCheck its new Route 53 health check.
	Records     []DNSRecord  `json:"records,omitempty"`
	HealthCheck *HealthCheck `json:"healthCheck,omitempty"`
	// Instance is the instance to register; InstanceID the one to
	// deregister.
	Instance   *Instance `json:"instance,omitempty"`
	InstanceID string    `json:"instanceId,omitempty"`
}
