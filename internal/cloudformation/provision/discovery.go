package provision

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/model"
)

// Cloud Map namespaces and services.
//
// Creating, updating and deleting a namespace and updating a service are
// Cloud Map operations that end after the call returns. The provisioners
// wait for them in the call (GetOperation every cloudMapPoll): a
// namespace's attributes (its hosted zone) exist only once its creation
// has succeeded, and a Settled func cannot record them (it returns no
// Result). Berth's operations end within milliseconds.
func init() {
	// AWS::ServiceDiscovery::PrivateDnsNamespace: Ref is the namespace's
	// id; Id, Arn and HostedZoneId its attributes. It has no
	// NameProperty: private namespaces of different VPCs may share a
	// name, so a change of Vpc replaces one under the same name, and a
	// lookup by name could not tell the two apart.
	register("AWS::ServiceDiscovery::PrivateDnsNamespace", &Provisioner{
		Create: createPrivateDNSNamespace, Update: updatePrivateDNSNamespace, Delete: deleteCloudMapNamespace})
	// AWS::ServiceDiscovery::Service: Ref is the service's id; Id, Arn and
	// Name its attributes.
	register("AWS::ServiceDiscovery::Service", &Provisioner{Create: createCloudMapService, Update: updateCloudMapService, Delete: deleteCloudMapService,
		NameProperty: "Name", NameLength: 63, Find: findCloudMapService})
}

// cloudMapPoll is how often a provisioner asks whether a Cloud Map
// operation has ended, and cloudMapPatience how long it waits for one: an
// operation that has not ended by then (berth's worker is stuck) fails the
// resource rather than holding up its stack for good.
const (
	cloudMapPoll     = 100 * time.Millisecond
	cloudMapPatience = 5 * time.Minute
)

// cloudMapOperation waits for a Cloud Map operation to end and returns it
// (its Targets name what it made); an operation that failed is an error
// in the service's words. The operation as last read comes back with a
// wait cut short, so that a create can still report what it made.
func (c *Call) cloudMapOperation(ctx context.Context, id string) (map[string]any, error) {
	tick := time.NewTicker(cloudMapPoll)
	defer tick.Stop()
	deadline := time.NewTimer(cloudMapPatience)
	defer deadline.Stop()
	for {
		out, err := c.invoke(ctx, "servicediscovery", "GetOperation", map[string]any{"OperationId": id})
		if err != nil {
			return nil, err
		}
		op, _ := out["Operation"].(map[string]any)
		switch op["Status"] {
		case "SUCCESS":
			return op, nil
		case "FAIL":
			return op, &awsapi.Error{Code: fmt.Sprint(op["ErrorCode"]), Message: fmt.Sprint(op["ErrorMessage"])}
		}
		select {
		case <-ctx.Done():
			return op, ctx.Err()
		case <-deadline.C:
			return op, fmt.Errorf("the Cloud Map operation %s did not end within %v", id, cloudMapPatience)
		case <-tick.C:
		}
	}
}

// cloudMapTarget is the id of the target of kind (NAMESPACE, SERVICE) an
// operation names, "" if none.
func cloudMapTarget(op map[string]any, kind string) string {
	targets, _ := op["Targets"].(map[string]any)
	s, _ := targets[kind].(string)
	return s
}

func createPrivateDNSNamespace(ctx context.Context, c *Call) (Result, error) {
	in, err := apiInput(model.MustLoad("servicediscovery"), "CreatePrivateDnsNamespace", c.Properties, nil, "Tags")
	if err != nil {
		return Result{}, err
	}
	if tags := c.tags("Key", "Value"); len(tags) > 0 {
		in["Tags"] = tags
	}
	out, err := c.invoke(ctx, "servicediscovery", "CreatePrivateDnsNamespace", in)
	if err != nil {
		return Result{}, err
	}
	op, err := c.cloudMapOperation(ctx, fmt.Sprint(out["OperationId"]))
	id := cloudMapTarget(op, "NAMESPACE")
	if err != nil {
		// A creation that failed made nothing; one cut short may yet
		// make the namespace, which the rollback then deletes.
		var failed *awsapi.Error
		if errors.As(err, &failed) || id == "" {
			return Result{}, err
		}
		return Result{PhysicalID: id, Attributes: map[string]any{"Id": id}}, err
	}
	return c.namespaceResult(ctx, id)
}

// namespaceResult is a namespace's Ref and GetAtt values, read from Cloud
// Map.
func (c *Call) namespaceResult(ctx context.Context, id string) (Result, error) {
	out, err := c.invoke(ctx, "servicediscovery", "GetNamespace", map[string]any{"Id": id})
	if err != nil {
		return Result{PhysicalID: id, Attributes: map[string]any{"Id": id}}, err
	}
	ns, _ := out["Namespace"].(map[string]any)
	props, _ := ns["Properties"].(map[string]any)
	dns, _ := props["DnsProperties"].(map[string]any)
	return Result{PhysicalID: id, Attributes: map[string]any{"Id": id, "Arn": ns["Arn"], "HostedZoneId": dns["HostedZoneId"]}}, nil
}

// updatePrivateDNSNamespace changes the description and the SOA record's
// TTL (the operation's Namespace change), and the tags.
func updatePrivateDNSNamespace(ctx context.Context, c *Call) (Result, error) {
	id := c.PhysicalID
	if c.changed("Description", "Properties") {
		change := map[string]any{"Description": c.str("Description")}
		if p, ok := c.Properties["Properties"]; ok {
			change["Properties"] = p
		}
		in, err := apiInput(model.MustLoad("servicediscovery"), "UpdatePrivateDnsNamespace", map[string]any{"Namespace": change}, nil)
		if err != nil {
			return Result{}, err
		}
		in["Id"] = id
		out, err := c.invoke(ctx, "servicediscovery", "UpdatePrivateDnsNamespace", in)
		if err != nil {
			return Result{}, err
		}
		if _, err := c.cloudMapOperation(ctx, fmt.Sprint(out["OperationId"])); err != nil {
			return Result{}, err
		}
	}
	if err := c.retagCloudMap(ctx, fmt.Sprint(c.Attributes["Arn"])); err != nil {
		return Result{}, err
	}
	return Result{PhysicalID: id, Attributes: c.Attributes}, nil
}

// retagCloudMap applies a change of the Tags property to a namespace or a
// service.
func (c *Call) retagCloudMap(ctx context.Context, arn string) error {
	if !c.changed("Tags") {
		return nil
	}
	if gone := c.removedTagKeys(); len(gone) > 0 {
		if _, err := c.invoke(ctx, "servicediscovery", "UntagResource", map[string]any{"ResourceARN": arn, "TagKeys": gone}); err != nil {
			return err
		}
	}
	if tags := c.tags("Key", "Value"); len(tags) > 0 {
		if _, err := c.invoke(ctx, "servicediscovery", "TagResource", map[string]any{"ResourceARN": arn, "Tags": tags}); err != nil {
			return err
		}
	}
	return nil
}

// deleteCloudMapNamespace deletes the namespace and waits for it to be
// gone. Cloud Map refuses while services are in it.
func deleteCloudMapNamespace(ctx context.Context, c *Call) error {
	out, err := c.invoke(ctx, "servicediscovery", "DeleteNamespace", map[string]any{"Id": c.PhysicalID})
	if isNotFound(err, "NamespaceNotFound") {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = c.cloudMapOperation(ctx, fmt.Sprint(out["OperationId"]))
	if isNotFound(err, "NamespaceNotFound") {
		return nil
	}
	return err
}

// createCloudMapService makes the service, then puts its
// ServiceAttributes, which CreateService does not take.
func createCloudMapService(ctx context.Context, c *Call) (Result, error) {
	in, err := apiInput(model.MustLoad("servicediscovery"), "CreateService", c.Properties, nil, "Name", "Tags", "ServiceAttributes")
	if err != nil {
		return Result{}, err
	}
	in["Name"] = c.name("Name", 63)
	if tags := c.tags("Key", "Value"); len(tags) > 0 {
		in["Tags"] = tags
	}
	out, err := c.invoke(ctx, "servicediscovery", "CreateService", in)
	if err != nil {
		return Result{}, err
	}
	svc, _ := out["Service"].(map[string]any)
	res := cloudMapServiceResult(svc)
	// The service exists from here on: a failure below leaves it for the
	// rollback to delete.
	if err := c.putServiceAttributes(ctx, res.PhysicalID); err != nil {
		return res, err
	}
	return res, nil
}

func cloudMapServiceResult(svc map[string]any) Result {
	id := fmt.Sprint(svc["Id"])
	return Result{PhysicalID: id, Attributes: map[string]any{"Id": id, "Arn": svc["Arn"], "Name": svc["Name"]}}
}

func findCloudMapService(ctx context.Context, c *Call) (Result, bool, error) {
	ns := c.str("NamespaceId")
	if dns, ok := c.Properties["DnsConfig"].(map[string]any); ok && ns == "" {
		ns, _ = dns["NamespaceId"].(string)
	}
	name := c.name("Name", 63)
	var found map[string]any
	in := map[string]any{"Filters": []any{map[string]any{"Name": "NAMESPACE_ID", "Values": []any{ns}, "Condition": "EQ"}}}
	for found == nil {
		out, err := c.invoke(ctx, "servicediscovery", "ListServices", in)
		if isNotFound(err, "NamespaceNotFound") {
			return Result{}, false, nil
		}
		if err != nil {
			return Result{}, false, err
		}
		list, _ := out["Services"].([]any)
		for _, s := range list {
			if m, _ := s.(map[string]any); m["Name"] == name {
				found = m
			}
		}
		next, _ := out["NextToken"].(string)
		if next == "" {
			break
		}
		in["NextToken"] = next
	}
	if found == nil {
		return Result{}, false, nil
	}
	return cloudMapServiceResult(found), true, nil
}

// putServiceAttributes applies ServiceAttributes: the ones given are put,
// and those an update drops are deleted.
func (c *Call) putServiceAttributes(ctx context.Context, id string) error {
	if !c.changed("ServiceAttributes") {
		return nil
	}
	now, _ := c.Properties["ServiceAttributes"].(map[string]any)
	was, _ := c.Previous["ServiceAttributes"].(map[string]any)
	var gone []any
	for k := range was {
		if _, kept := now[k]; !kept {
			gone = append(gone, k)
		}
	}
	if len(gone) > 0 {
		if _, err := c.invoke(ctx, "servicediscovery", "DeleteServiceAttributes", map[string]any{"ServiceId": id, "Attributes": gone}); err != nil {
			return err
		}
	}
	if len(now) > 0 {
		attrs := map[string]any{}
		for k, v := range now {
			attrs[k] = fmt.Sprint(v)
		}
		if _, err := c.invoke(ctx, "servicediscovery", "UpdateServiceAttributes", map[string]any{"ServiceId": id, "Attributes": attrs}); err != nil {
			return err
		}
	}
	return nil
}

// updateCloudMapService changes what UpdateService can (the description,
// the DNS records' TTLs, a Route 53 health check), waiting for its
// operation, then the attributes and tags.
func updateCloudMapService(ctx context.Context, c *Call) (Result, error) {
	id := c.PhysicalID
	if c.changed("Description", "DnsConfig", "HealthCheckConfig") {
		oldDNS, _ := c.Previous["DnsConfig"].(map[string]any)
		dns, _ := c.Properties["DnsConfig"].(map[string]any)
		if !jsonEqual(oldDNS["RoutingPolicy"], dns["RoutingPolicy"]) || (oldDNS == nil) != (dns == nil) {
			return Result{}, fmt.Errorf("berth cannot change a Cloud Map service's DnsConfig but for its DnsRecords in place: UpdateService changes only the records")
		}
		if _, had := c.Previous["HealthCheckConfig"]; had && c.Properties["HealthCheckConfig"] == nil {
			return Result{}, fmt.Errorf("berth cannot remove a Cloud Map service's HealthCheckConfig in place: UpdateService keeps a health check it is not given")
		}
		change := map[string]any{"Description": c.str("Description")}
		if dns != nil {
			// Only the records change in place: a new namespace replaces
			// the service (the schema says so).
			change["DnsConfig"] = map[string]any{"DnsRecords": dns["DnsRecords"]}
		}
		if hc, ok := c.Properties["HealthCheckConfig"]; ok {
			change["HealthCheckConfig"] = hc
		}
		in, err := apiInput(model.MustLoad("servicediscovery"), "UpdateService", map[string]any{"Service": change}, nil)
		if err != nil {
			return Result{}, err
		}
		in["Id"] = id
		out, err := c.invoke(ctx, "servicediscovery", "UpdateService", in)
		if err != nil {
			return Result{}, err
		}
		if _, err := c.cloudMapOperation(ctx, fmt.Sprint(out["OperationId"])); err != nil {
			return Result{}, err
		}
	}
	if err := c.putServiceAttributes(ctx, id); err != nil {
		return Result{}, err
	}
	if err := c.retagCloudMap(ctx, fmt.Sprint(c.Attributes["Arn"])); err != nil {
		return Result{}, err
	}
	return Result{PhysicalID: id, Attributes: c.Attributes}, nil
}

func deleteCloudMapService(ctx context.Context, c *Call) error {
	_, err := c.invoke(ctx, "servicediscovery", "DeleteService", map[string]any{"Id": c.PhysicalID})
	if isNotFound(err, "ServiceNotFound") {
		return nil
	}
	return err
}
