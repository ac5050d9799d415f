package elbv2state

import (
	"crypto/rand"
	"encoding/hex"
	"net/netip"
	"slices"
	"strconv"
	"time"
)

// Tag is one tag of a load balancer, target group, listener or rule.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Load balancer states. A load balancer is made provisioning; the data
// plane makes it active once it serves (Activate).
const (
	StateProvisioning = "provisioning"
	StateActive       = "active"
)

// Schemes of a load balancer.
const (
	SchemeInternetFacing = "internet-facing"
	SchemeInternal       = "internal"
)

// LoadBalancer is an application load balancer.
type LoadBalancer struct {
	Region  string `json:"region"`
	Account string `json:"account"`
	Name    string `json:"name"`
	// ID is the 16 hex digits that end its ARN.
	ID            string `json:"id"`
	ARN           string `json:"arn"`
	DNSName       string `json:"dnsName"`
	Scheme        string `json:"scheme"`
	Type          string `json:"type"`
	IPAddressType string `json:"ipAddressType"`
	VPCID         string `json:"vpcId"`
	State         string `json:"state"`
	// SecurityGroups filter the traffic of its interfaces.
	SecurityGroups []string `json:"securityGroups"`
	// Subnets are its subnets in the order they were given, each with the
	// interface berth made there: the address the data plane serves on.
	Subnets []LoadBalancerSubnet `json:"subnets"`
	// Attributes holds the attributes set by ModifyLoadBalancerAttributes;
	// Attribute applies the defaults.
	Attributes map[string]string `json:"attributes,omitempty"`
	Tags       []Tag             `json:"tags,omitempty"`
	Created    time.Time         `json:"created"`
}

// LoadBalancerSubnet is one subnet of a load balancer and its interface
// there.
type LoadBalancerSubnet struct {
	SubnetID         string `json:"subnetId"`
	AvailabilityZone string `json:"availabilityZone"`
	InterfaceID      string `json:"interfaceId"`
	// Address is the interface's private IPv4 address ("" until the
	// interface is made).
	Address string `json:"address,omitempty"`
}

// Ref is the load balancer's part of the ARNs of its listeners and rules.
func (lb LoadBalancer) Ref() Ref {
	return Ref{Kind: KindLoadBalancer, Region: lb.Region, Account: lb.Account, Name: lb.Name, ID: lb.ID}
}

// Attribute is the value of one of the load balancer's attributes: the
// one set, else its default ("" for a key ALBs do not have).
// Addresses are the load balancer's addresses, one per subnet: what the
// data plane serves on and its DNS name resolves to.
func (lb LoadBalancer) Addresses() []netip.Addr {
	var out []netip.Addr
	for _, s := range lb.Subnets {
		if a, err := netip.ParseAddr(s.Address); err == nil {
			out = append(out, a)
		}
	}
	return out
}

func (lb LoadBalancer) Attribute(key string) string {
	if v, ok := lb.Attributes[key]; ok {
		return v
	}
	return attributeDefault(LoadBalancerAttributes, key)
}

// TargetGroup is a target group of application load balancers.
type TargetGroup struct {
	Region  string `json:"region"`
	Account string `json:"account"`
	Name    string `json:"name"`
	// ID is the 16 hex digits that end its ARN.
	ID  string `json:"id"`
	ARN string `json:"arn"`
	// TargetType is instance or ip.
	TargetType string `json:"targetType"`
	// Protocol is HTTP or HTTPS; ProtocolVersion HTTP1, HTTP2 or GRPC.
	Protocol        string      `json:"protocol"`
	ProtocolVersion string      `json:"protocolVersion"`
	Port            int32       `json:"port"`
	VPCID           string      `json:"vpcId"`
	IPAddressType   string      `json:"ipAddressType"`
	HealthCheck     HealthCheck `json:"healthCheck"`
	// Attributes holds the attributes set by ModifyTargetGroupAttributes;
	// Attribute applies the defaults.
	Attributes map[string]string `json:"attributes,omitempty"`
	// UsedBy lists, sorted, the ARNs of the listeners and rules whose
	// actions forward to the group: all of one load balancer.
	UsedBy  []string  `json:"usedBy,omitempty"`
	Tags    []Tag     `json:"tags,omitempty"`
	Created time.Time `json:"created"`
}

// HealthCheck is how the data plane checks a group's targets.
type HealthCheck struct {
	Enabled  bool   `json:"enabled"`
	Protocol string `json:"protocol"`
	// Port is "traffic-port" (each target's own port) or a port number.
	Port               string `json:"port"`
	Path               string `json:"path"`
	IntervalSeconds    int32  `json:"intervalSeconds"`
	TimeoutSeconds     int32  `json:"timeoutSeconds"`
	HealthyThreshold   int32  `json:"healthyThreshold"`
	UnhealthyThreshold int32  `json:"unhealthyThreshold"`
	// HTTPCode is the matcher of HTTP1 and HTTP2 groups ("200",
	// "200,202", "200-299"), GRPCCode that of GRPC groups ("12", "0-99").
	HTTPCode string `json:"httpCode,omitempty"`
	GRPCCode string `json:"grpcCode,omitempty"`
}

// TrafficPort is HealthCheck.Port for "each target's own port".
const TrafficPort = "traffic-port"

// Attribute is the value of one of the group's attributes: the one set,
// else its default.
func (tg TargetGroup) Attribute(key string) string {
	if v, ok := tg.Attributes[key]; ok {
		return v
	}
	return attributeDefault(TargetGroupAttributes, key)
}

// DeregistrationDelay is how long a deregistered target drains.
func (tg TargetGroup) DeregistrationDelay() time.Duration {
	n, err := strconv.Atoi(tg.Attribute(AttrDeregistrationDelay))
	if err != nil {
		return 0
	}
	return time.Duration(n) * time.Second
}

// InUse reports whether a listener or rule forwards to the group.
func (tg TargetGroup) InUse() bool { return len(tg.UsedBy) > 0 }

// LoadBalancerARNs are the ARNs of the load balancers whose listeners or
// rules forward to the group, sorted.
func (tg TargetGroup) LoadBalancerARNs() []string {
	var out []string
	for _, user := range tg.UsedBy {
		if r, ok := ParseARN(user); ok && !slices.Contains(out, r.LoadBalancerARN()) {
			out = append(out, r.LoadBalancerARN())
		}
	}
	slices.Sort(out)
	return out
}

// HealthCheckPort is the port the group's health checks use for t, as
// DescribeTargetHealth shows it.
func (tg TargetGroup) HealthCheckPort(t Target) string {
	if tg.HealthCheck.Port == TrafficPort {
		return strconv.Itoa(int(t.Port))
	}
	return tg.HealthCheck.Port
}

// Listener is a listener of a load balancer, with its default rule.
type Listener struct {
	Region string `json:"region"`
	// ID is the 16 hex digits that end its ARN.
	ID               string `json:"id"`
	ARN              string `json:"arn"`
	LoadBalancerName string `json:"loadBalancerName"`
	LoadBalancerID   string `json:"loadBalancerId"`
	LoadBalancerARN  string `json:"loadBalancerArn"`
	// Protocol is HTTP or HTTPS.
	Protocol string `json:"protocol"`
	Port     int32  `json:"port"`
	// SSLPolicy and Certificates are an HTTPS listener's: the policy's name
	// (SSLPolicies) and the ARNs of its certificates, the default first.
	SSLPolicy    string   `json:"sslPolicy,omitempty"`
	Certificates []string `json:"certificates,omitempty"`
	// DefaultActions run for the requests no rule matches: the actions
	// of the default rule, whose ARN ends in DefaultRuleID.
	DefaultActions  []Action  `json:"defaultActions"`
	DefaultRuleID   string    `json:"defaultRuleId"`
	DefaultRuleTags []Tag     `json:"defaultRuleTags,omitempty"`
	Tags            []Tag     `json:"tags,omitempty"`
	Created         time.Time `json:"created"`
}

// Ref is the listener's part of the ARNs of its rules.
func (l Listener) Ref() Ref {
	r, _ := ParseARN(l.ARN)
	return r
}

// DefaultRuleARN is the ARN of the listener's default rule.
func (l Listener) DefaultRuleARN() string { return RuleARN(l.Ref(), l.DefaultRuleID) }

// Rule is a rule of a listener: when its conditions all match a request,
// its actions run. Rules are evaluated by priority, lowest first, and the
// listener's default actions run when none matches.
type Rule struct {
	Region string `json:"region"`
	// ID is the 16 hex digits that end its ARN.
	ID              string      `json:"id"`
	ARN             string      `json:"arn"`
	ListenerID      string      `json:"listenerId"`
	ListenerARN     string      `json:"listenerArn"`
	LoadBalancerARN string      `json:"loadBalancerArn"`
	Priority        int32       `json:"priority"`
	Conditions      []Condition `json:"conditions"`
	Actions         []Action    `json:"actions"`
	Tags            []Tag       `json:"tags,omitempty"`
	Created         time.Time   `json:"created"`
}

// Condition fields.
const (
	FieldHostHeader        = "host-header"
	FieldPathPattern       = "path-pattern"
	FieldHTTPHeader        = "http-header"
	FieldHTTPRequestMethod = "http-request-method"
	FieldQueryString       = "query-string"
	FieldSourceIP          = "source-ip"
)

// Condition is one condition of a rule; it matches a request when any of
// its values does. Host and path patterns, header values and query strings
// take the wildcards '*' (any characters) and '?' (one character); host
// names and header names match case-insensitively, the rest exactly.
type Condition struct {
	Field string `json:"field"`
	// Values are the patterns of host-header, path-pattern, http-header and
	// http-request-method, and the CIDR blocks of source-ip.
	Values []string `json:"values,omitempty"`
	// HeaderName is http-header's header.
	HeaderName string `json:"headerName,omitempty"`
	// QueryStrings are query-string's key/value patterns; an empty Key
	// matches the value of any key.
	QueryStrings []QueryString `json:"queryStrings,omitempty"`
}

// QueryString is one key/value pattern of a query-string condition.
type QueryString struct {
	Key   string `json:"key,omitempty"`
	Value string `json:"value"`
}

// Action types berth serves.
const (
	ActionForward       = "forward"
	ActionRedirect      = "redirect"
	ActionFixedResponse = "fixed-response"
)

// Action is one action of a rule or of a listener's default rule. Exactly
// one of Forward, Redirect and FixedResponse is set, as Type says.
type Action struct {
	Type string `json:"type"`
	// Order is the action's place among its rule's, from 1.
	Order int32 `json:"order"`
	// TargetGroupARN is set when the action forwards to one group.
	TargetGroupARN string         `json:"targetGroupArn,omitempty"`
	Forward        *Forward       `json:"forward,omitempty"`
	Redirect       *Redirect      `json:"redirect,omitempty"`
	FixedResponse  *FixedResponse `json:"fixedResponse,omitempty"`
}

// TargetGroupARNs are the groups the action forwards to.
func (a Action) TargetGroupARNs() []string {
	if a.Forward == nil {
		return nil
	}
	out := make([]string, len(a.Forward.TargetGroups))
	for i, g := range a.Forward.TargetGroups {
		out[i] = g.ARN
	}
	return out
}

// Forward sends requests to target groups, each getting a share of them
// in proportion to its weight.
type Forward struct {
	TargetGroups []WeightedTargetGroup `json:"targetGroups"`
	// Stickiness keeps a client on the group it was first sent to (the
	// AWSALBTG cookie), for StickinessSeconds.
	Stickiness        bool  `json:"stickiness,omitempty"`
	StickinessSeconds int32 `json:"stickinessSeconds,omitempty"`
}

// WeightedTargetGroup is one group of a forward action.
type WeightedTargetGroup struct {
	ARN    string `json:"arn"`
	Weight int32  `json:"weight"`
}

// Redirect answers with a redirect to the URL its parts make; each part may
// use #{protocol}, #{host}, #{port}, #{path} (without its leading slash)
// and #{query} of the request, and every part is set (the defaults being
// the request's own).
type Redirect struct {
	Protocol string `json:"protocol"`
	Port     string `json:"port"`
	Host     string `json:"host"`
	Path     string `json:"path"`
	Query    string `json:"query"`
	// StatusCode is HTTP_301 or HTTP_302.
	StatusCode string `json:"statusCode"`
}

// FixedResponse answers with a fixed status and body.
type FixedResponse struct {
	StatusCode  string `json:"statusCode"`
	ContentType string `json:"contentType,omitempty"`
	MessageBody string `json:"messageBody,omitempty"`
}

// Target names a target of a group: an instance id or an IPv4 address,
// and the port it receives traffic on.
type Target struct {
	ID   string `json:"id"`
	Port int32  `json:"port"`
	// AvailabilityZone is the zone of an IP target's subnet, or "all" for
	// an address outside the group's VPC; "" for an instance.
	AvailabilityZone string `json:"availabilityZone,omitempty"`
}

// AllZones is the AvailabilityZone of an IP target outside its group's VPC.
const AllZones = "all"

// Registration is a target registered with a group.
type Registration struct {
	Region        string    `json:"region"`
	TargetGroupID string    `json:"targetGroupId"`
	Target        Target    `json:"target"`
	Registered    time.Time `json:"registered"`
	// DrainUntil is zero for a registered target; a deregistered one is
	// draining until then, and gone after (the drain sweep removes it).
	DrainUntil time.Time `json:"drainUntil,omitzero"`
}

// Draining reports whether the target was deregistered and its drain is not
// over at now.
func (r Registration) Draining(now time.Time) bool {
	return !r.DrainUntil.IsZero() && now.Before(r.DrainUntil)
}

// Gone reports whether the target was deregistered and its drain is over
// at now: it no longer exists, though its record may remain until the
// drain sweep.
func (r Registration) Gone(now time.Time) bool {
	return !r.DrainUntil.IsZero() && !now.Before(r.DrainUntil)
}

// Health states and reasons the data plane records (RecordHealth), in
// DescribeTargetHealth's words.
const (
	HealthInitial   = "initial"
	HealthHealthy   = "healthy"
	HealthUnhealthy = "unhealthy"

	ReasonInitialHealthChecking = "Elb.InitialHealthChecking"
	ReasonResponseCodeMismatch  = "Target.ResponseCodeMismatch"
	ReasonTimeout               = "Target.Timeout"
	ReasonFailedHealthChecks    = "Target.FailedHealthChecks"
)

// TargetHealth is the health of a registered target as the data plane last
// observed it: initial (Elb.InitialHealthChecking) once it checks the
// target, then healthy (no reason) or unhealthy with the reason and
// description DescribeTargetHealth shows ("Target.ResponseCodeMismatch",
// "Health checks failed with these codes: [502]"). A target with no record
// is still being registered.
type TargetHealth struct {
	State       string `json:"state"`
	Reason      string `json:"reason,omitempty"`
	Description string `json:"description,omitempty"`
	// CheckedAt is when the check that found this state ran.
	CheckedAt time.Time `json:"checkedAt"`
}

// NewID returns a new resource id: 16 random lower-case hex digits, as the
// ids in ELBv2's ARNs.
func NewID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return hex.EncodeToString(b[:])
}

// Identity is t without its zone: what names a target of a group.
func (t Target) Identity() Target { return Target{ID: t.ID, Port: t.Port} }
