package servicediscovery

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"regexp"
	"slices"
	"strings"

	json "github.com/go-json-experiment/json/v1"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/servicediscovery/sdstate"
	"github.com/berth/berth/internal/servicediscovery/sdtypes"
	"github.com/berth/berth/internal/store"
)

// maxNamespaces is Cloud Map's quota of namespaces per account and region.
const maxNamespaces = 50

// dnsLabel is one label of a DNS namespace's name.
var dnsLabel = regexp.MustCompile(`^[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?$`)

// checkDNSName validates a DNS namespace's name: labels a DNS server can
// serve. A trailing dot is allowed and dropped.
func checkDNSName(name string) (string, error) {
	name = strings.TrimSuffix(name, ".")
	if name == "" || len(name) > 253 {
		return "", invalidInput("The namespace name %s is not a valid DNS name.", name) // UNVERIFIED wording
	}
	for _, label := range strings.Split(name, ".") {
		if !dnsLabel.MatchString(label) {
			return "", invalidInput("The namespace name %s is not a valid DNS name.", name) // UNVERIFIED wording
		}
	}
	return name, nil
}

func (c *CloudMap) createPrivateDNSNamespace(ctx context.Context, in *sdtypes.CreatePrivateDnsNamespaceRequest) (*sdtypes.CreatePrivateDnsNamespaceResponse, error) {
	name, err := checkDNSName(awsapi.Deref(in.Name))
	if err != nil {
		return nil, err
	}
	vpcID := awsapi.Deref(in.Vpc)
	if _, err := store.Get[ec2state.VPC](ctx, c.store, ec2state.VPCKey(region(ctx), vpcID)); errors.Is(err, store.ErrNotFound) {
		return nil, invalidInput("The VPC %s does not exist in %s.", vpcID, region(ctx)) // UNVERIFIED wording
	} else if err != nil {
		return nil, err
	}
	ns := c.newNamespace(ctx, sdstate.TypeDNSPrivate, name, in.Description, in.CreatorRequestId, in.Tags)
	ns.VPC = vpcID
	if p := in.Properties; p != nil && p.DnsProperties != nil && p.DnsProperties.SOA != nil {
		ns.SOATTL = awsapi.Deref(p.DnsProperties.SOA.TTL)
	}
	id, err := c.submitNamespace(ctx, ns)
	return &sdtypes.CreatePrivateDnsNamespaceResponse{OperationId: id}, err
}

func (c *CloudMap) createPublicDNSNamespace(ctx context.Context, in *sdtypes.CreatePublicDnsNamespaceRequest) (*sdtypes.CreatePublicDnsNamespaceResponse, error) {
	name, err := checkDNSName(awsapi.Deref(in.Name))
	if err != nil {
		return nil, err
	}
	ns := c.newNamespace(ctx, sdstate.TypeDNSPublic, name, in.Description, in.CreatorRequestId, in.Tags)
	if p := in.Properties; p != nil && p.DnsProperties != nil && p.DnsProperties.SOA != nil {
		ns.SOATTL = awsapi.Deref(p.DnsProperties.SOA.TTL)
	}
	id, err := c.submitNamespace(ctx, ns)
	return &sdtypes.CreatePublicDnsNamespaceResponse{OperationId: id}, err
}

func (c *CloudMap) createHTTPNamespace(ctx context.Context, in *sdtypes.CreateHttpNamespaceRequest) (*sdtypes.CreateHttpNamespaceResponse, error) {
	ns := c.newNamespace(ctx, sdstate.TypeHTTP, awsapi.Deref(in.Name), in.Description, in.CreatorRequestId, in.Tags)
	id, err := c.submitNamespace(ctx, ns)
	return &sdtypes.CreateHttpNamespaceResponse{OperationId: id}, err
}

func (c *CloudMap) newNamespace(ctx context.Context, kind, name string, description, creatorRequestID *string, tags []sdtypes.Tag) sdstate.Namespace {
	r := region(ctx)
	id := sdstate.NewNamespaceID()
	ns := sdstate.Namespace{
		ID: id, ARN: sdstate.NamespaceARN(r, c.account, id), Region: r, Name: name, HTTPName: name, Type: kind,
		Description: awsapi.Deref(description), CreatorRequestID: awsapi.Deref(creatorRequestID),
		CreateDate: c.now().UTC(), Tags: tagsOf(tags),
	}
	if ns.IsDNS() {
		ns.HostedZoneID = sdstate.NewHostedZoneID()
		ns.SOATTL = sdstate.DefaultSOATTL
	}
	return ns
}

// submitNamespace checks a new namespace against the region's and records
// the operation that creates it. A retry of a request (the same
// CreatorRequestId) gets the first one's operation.
func (c *CloudMap) submitNamespace(ctx context.Context, ns sdstate.Namespace) (*string, error) {
	if err := checkTags(ns.Tags); err != nil {
		return nil, err
	}
	if ns.CreatorRequestID != "" {
		if op, found, err := c.creation(ctx, ns.Region, ns.CreatorRequestID); err != nil {
			return nil, err
		} else if found && !op.Done() {
			return nil, &duplicateRequest{operationID: op.ID}
		} else if found {
			return awsapi.String(op.ID), nil
		}
	}
	all, _, err := store.List[sdstate.Namespace](ctx, c.store, sdstate.RegionPrefix(sdstate.NamespacePrefix, ns.Region), store.ListOptions{})
	if err != nil {
		return nil, err
	}
	if len(all) >= maxNamespaces {
		return nil, awsapi.WithMessage(errResourceLimit, "The number of namespaces exceeds the limit of %d.", maxNamespaces) // UNVERIFIED wording
	}
	for _, other := range all {
		o := other.Value
		if !strings.EqualFold(o.Name, ns.Name) {
			continue
		}
		// Private namespaces of different VPCs may share a name (their
		// zones are seen apart); their HTTP names are told apart by a
		// hash. Any other pair would answer the same name twice.
		if ns.Type == sdstate.TypeDNSPrivate && o.Type == sdstate.TypeDNSPrivate && o.VPC != ns.VPC {
			sum := sha256.Sum256([]byte(ns.ID))
			ns.HTTPName = ns.Name + "-" + hex.EncodeToString(sum[:])[:16]
			continue
		}
		return nil, &namespaceExists{name: ns.Name, id: o.ID, creatorRequestID: o.CreatorRequestID}
	}
	op, err := sdstate.Submit(ctx, c.store, sdstate.Operation{
		ID: sdstate.NewOperationID(), Region: ns.Region, Type: sdstate.OpCreateNamespace,
		Targets: map[string]string{sdstate.TargetNamespace: ns.ID}, CreatorRequestID: ns.CreatorRequestID,
	}, sdstate.Work{Namespace: &ns}, c.now().UTC())
	if err != nil {
		return nil, err
	}
	return awsapi.String(op.ID), nil
}

// creation is the namespace creation a CreatorRequestId asked for, if
// any. Operations pile up (every instance registered makes one), so only
// the records that name the id are decoded.
func (c *CloudMap) creation(ctx context.Context, region, requestID string) (sdstate.Operation, bool, error) {
	mark, err := json.Marshal(requestID)
	if err != nil {
		return sdstate.Operation{}, false, err
	}
	needle := `"creatorRequestId":` + string(mark)
	var out sdstate.Operation
	found := false
	_, err = c.store.Range(ctx, sdstate.RegionPrefix(sdstate.OperationPrefix, region), func(kv store.KV) error {
		if found || !strings.Contains(string(kv.Value), needle) {
			return nil
		}
		var op sdstate.Operation
		if err := json.Unmarshal(kv.Value, &op); err != nil {
			return err
		}
		if op.Type == sdstate.OpCreateNamespace && op.CreatorRequestID == requestID {
			out, found = op, true
		}
		return nil
	})
	return out, found, err
}

// namespaceID is the id an Id member names: the id, or the namespace's ARN.
func namespaceID(ref string) string {
	if _, _, kind, id, ok := sdstate.ParseARN(ref); ok && kind == "namespace" {
		return id
	}
	return ref
}

// lookupNamespace reads the namespace ref (an id or an ARN) names.
func (c *CloudMap) lookupNamespace(ctx context.Context, ref string) (store.Versioned[sdstate.Namespace], error) {
	id := namespaceID(ref)
	ns, err := store.Get[sdstate.Namespace](ctx, c.store, sdstate.NamespaceKey(region(ctx), id))
	if errors.Is(err, store.ErrNotFound) || (err == nil && strings.HasPrefix(ref, "arn:") && ns.Value.ARN != ref) {
		return ns, namespaceNotFound(ref)
	}
	return ns, err
}

func (c *CloudMap) getNamespace(ctx context.Context, in *sdtypes.GetNamespaceRequest) (*sdtypes.GetNamespaceResponse, error) {
	ns, err := c.lookupNamespace(ctx, awsapi.Deref(in.Id))
	if err != nil {
		return nil, err
	}
	n := ns.Value
	// Cloud Map leaves out the ServiceCount the API reference defines, in
	// GetNamespace and ListNamespaces alike: no documented answer has it.
	return &sdtypes.GetNamespaceResponse{Namespace: &sdtypes.Namespace{
		Id: &n.ID, Arn: &n.ARN, Name: &n.Name, Type: &n.Type, ResourceOwner: &c.account,
		Description: awsapi.OptionalString(n.Description), CreatorRequestId: awsapi.OptionalString(n.CreatorRequestID),
		CreateDate: awsapi.Time(n.CreateDate), Properties: namespaceProperties(n),
	}}, nil
}

func namespaceProperties(n sdstate.Namespace) *sdtypes.NamespaceProperties {
	p := &sdtypes.NamespaceProperties{DnsProperties: &sdtypes.DnsProperties{}, HttpProperties: &sdtypes.HttpProperties{HttpName: &n.HTTPName}}
	if n.IsDNS() {
		p.DnsProperties.HostedZoneId = &n.HostedZoneID
		p.DnsProperties.SOA = &sdtypes.SOA{TTL: awsapi.Int64(n.SOATTL)}
	}
	return p
}

// summaryProperties are a namespace's properties as ListNamespaces
// answers them: an SOA without its TTL, for HTTP namespaces too (as the
// documented answer shows), which GetNamespace gives.
func summaryProperties(n sdstate.Namespace) *sdtypes.NamespaceProperties {
	p := namespaceProperties(n)
	p.DnsProperties.SOA = &sdtypes.SOA{}
	return p
}

func (c *CloudMap) listNamespaces(ctx context.Context, in *sdtypes.ListNamespacesRequest) (*sdtypes.ListNamespacesResponse, error) {
	var tests []func(sdstate.Namespace) bool
	for _, f := range in.Filters {
		test, err := namespaceFilter(f)
		if err != nil {
			return nil, err
		}
		tests = append(tests, test)
	}
	all, _, err := store.List[sdstate.Namespace](ctx, c.store, sdstate.RegionPrefix(sdstate.NamespacePrefix, region(ctx)), store.ListOptions{})
	if err != nil {
		return nil, err
	}
	var matched []sdstate.Namespace
	for _, ns := range all {
		if !slices.ContainsFunc(tests, func(test func(sdstate.Namespace) bool) bool { return !test(ns.Value) }) {
			matched = append(matched, ns.Value)
		}
	}
	page, next, err := paginate(matched, func(n sdstate.Namespace) string { return n.ID }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &sdtypes.ListNamespacesResponse{Namespaces: []sdtypes.NamespaceSummary{}, NextToken: next}
	for _, n := range page {
		out.Namespaces = append(out.Namespaces, sdtypes.NamespaceSummary{
			Id: awsapi.String(n.ID), Arn: awsapi.String(n.ARN), Name: awsapi.String(n.Name), Type: awsapi.String(n.Type),
			ResourceOwner: &c.account, Description: awsapi.OptionalString(n.Description), CreateDate: awsapi.Time(n.CreateDate),
			Properties: summaryProperties(n),
		})
	}
	return out, nil
}

// namespaceFilter is the test one of ListNamespaces' filters makes.
func namespaceFilter(f sdtypes.NamespaceFilter) (func(sdstate.Namespace) bool, error) {
	name, cond := awsapi.Deref(f.Name), awsapi.Deref(f.Condition)
	if cond == "" {
		cond = sdtypes.FilterConditionEq
	}
	var field func(sdstate.Namespace) string
	allowed := []string{sdtypes.FilterConditionEq}
	switch name {
	case sdtypes.NamespaceFilterNameType:
		field, allowed = func(n sdstate.Namespace) string { return n.Type }, []string{sdtypes.FilterConditionEq, sdtypes.FilterConditionIn}
	case sdtypes.NamespaceFilterNameName:
		field, allowed = func(n sdstate.Namespace) string { return n.Name }, []string{sdtypes.FilterConditionEq, sdtypes.FilterConditionBeginsWith}
	case sdtypes.NamespaceFilterNameHttpName:
		field, allowed = func(n sdstate.Namespace) string { return n.HTTPName }, []string{sdtypes.FilterConditionEq, sdtypes.FilterConditionBeginsWith}
	case sdtypes.NamespaceFilterNameResourceOwner:
		field = func(sdstate.Namespace) string { return "SELF" }
	}
	return stringFilter(name, cond, f.Values, allowed, field)
}

// stringFilter is the test of a filter on one field: EQ (one value), IN
// (any of the values) or BEGINS_WITH (one prefix).
func stringFilter[T any](name, cond string, values []string, allowed []string, field func(T) string) (func(T) bool, error) {
	if !slices.Contains(allowed, cond) {
		// UNVERIFIED wording.
		return nil, invalidInput("The %s condition is not supported for the filter %s.", cond, name)
	}
	if len(values) == 0 || (cond != sdtypes.FilterConditionIn && len(values) != 1) {
		// UNVERIFIED wording.
		return nil, invalidInput("The filter %s with the condition %s takes %s.", name, cond, map[bool]string{true: "one or more values", false: "exactly one value"}[cond == sdtypes.FilterConditionIn])
	}
	if cond == sdtypes.FilterConditionBeginsWith {
		return func(v T) bool { return strings.HasPrefix(field(v), values[0]) }, nil
	}
	return func(v T) bool { return slices.Contains(values, field(v)) }, nil
}

func (c *CloudMap) updatePrivateDNSNamespace(ctx context.Context, in *sdtypes.UpdatePrivateDnsNamespaceRequest) (*sdtypes.UpdatePrivateDnsNamespaceResponse, error) {
	w := sdstate.Work{}
	if ch := in.Namespace; ch != nil {
		w.Description = ch.Description
		if p := ch.Properties; p != nil && p.DnsProperties != nil && p.DnsProperties.SOA != nil {
			w.SOATTL = p.DnsProperties.SOA.TTL
		}
	}
	id, err := c.submitNamespaceUpdate(ctx, awsapi.Deref(in.Id), sdstate.TypeDNSPrivate, awsapi.Deref(in.UpdaterRequestId), w)
	return &sdtypes.UpdatePrivateDnsNamespaceResponse{OperationId: id}, err
}

func (c *CloudMap) updatePublicDNSNamespace(ctx context.Context, in *sdtypes.UpdatePublicDnsNamespaceRequest) (*sdtypes.UpdatePublicDnsNamespaceResponse, error) {
	w := sdstate.Work{}
	if ch := in.Namespace; ch != nil {
		w.Description = ch.Description
		if p := ch.Properties; p != nil && p.DnsProperties != nil && p.DnsProperties.SOA != nil {
			w.SOATTL = p.DnsProperties.SOA.TTL
		}
	}
	id, err := c.submitNamespaceUpdate(ctx, awsapi.Deref(in.Id), sdstate.TypeDNSPublic, awsapi.Deref(in.UpdaterRequestId), w)
	return &sdtypes.UpdatePublicDnsNamespaceResponse{OperationId: id}, err
}

func (c *CloudMap) updateHTTPNamespace(ctx context.Context, in *sdtypes.UpdateHttpNamespaceRequest) (*sdtypes.UpdateHttpNamespaceResponse, error) {
	w := sdstate.Work{}
	if ch := in.Namespace; ch != nil {
		w.Description = ch.Description
	}
	id, err := c.submitNamespaceUpdate(ctx, awsapi.Deref(in.Id), sdstate.TypeHTTP, awsapi.Deref(in.UpdaterRequestId), w)
	return &sdtypes.UpdateHttpNamespaceResponse{OperationId: id}, err
}

// submitNamespaceUpdate records the operation that updates a namespace of
// kind.
func (c *CloudMap) submitNamespaceUpdate(ctx context.Context, ref, kind, updaterRequestID string, w sdstate.Work) (*string, error) {
	ns, err := c.lookupNamespace(ctx, ref)
	if err != nil {
		return nil, err
	}
	if ns.Value.Type != kind {
		// UNVERIFIED wording.
		return nil, invalidInput("Namespace %s is of type %s, not %s.", ns.Value.ID, ns.Value.Type, kind)
	}
	w.NamespaceID = ns.Value.ID
	return c.submit(ctx, sdstate.OpUpdateNamespace, map[string]string{sdstate.TargetNamespace: ns.Value.ID}, updaterRequestID, w)
}

func (c *CloudMap) deleteNamespace(ctx context.Context, in *sdtypes.DeleteNamespaceRequest) (*sdtypes.DeleteNamespaceResponse, error) {
	ns, err := c.lookupNamespace(ctx, awsapi.Deref(in.Id))
	if err != nil {
		return nil, err
	}
	if ns.Value.ServiceCount > 0 {
		// UNVERIFIED wording.
		return nil, awsapi.WithMessage(errResourceInUse, "Namespace %s has %d associated services; delete them first.", ns.Value.ID, ns.Value.ServiceCount)
	}
	id, err := c.submit(ctx, sdstate.OpDeleteNamespace, map[string]string{sdstate.TargetNamespace: ns.Value.ID}, "", sdstate.Work{NamespaceID: ns.Value.ID})
	return &sdtypes.DeleteNamespaceResponse{OperationId: id}, err
}

// submit records an operation for the worker, and returns its id.
func (c *CloudMap) submit(ctx context.Context, kind string, targets map[string]string, requestID string, w sdstate.Work) (*string, error) {
	op, err := sdstate.Submit(ctx, c.store, sdstate.Operation{
		ID: sdstate.NewOperationID(), Region: region(ctx), Type: kind, Targets: targets, CreatorRequestID: requestID,
	}, w, c.now().UTC())
	if err != nil {
		return nil, err
	}
	return awsapi.String(op.ID), nil
}
