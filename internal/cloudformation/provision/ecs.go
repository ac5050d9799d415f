package provision

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/berth/berth/internal/awsapi/model"
)

func init() {
	// AWS::ECS::Cluster: Ref is the cluster's name.
	register("AWS::ECS::Cluster", &Provisioner{
		NameProperty: "ClusterName",
		NameLength:   255,
		Find: func(ctx context.Context, c *Call) (Result, bool, error) {
			out, err := c.invoke(ctx, "ecs", "DescribeClusters", map[string]any{"clusters": []any{c.name("ClusterName", 255)}})
			if err != nil {
				return Result{}, false, err
			}
			clusters, _ := out["clusters"].([]any)
			if len(clusters) == 0 {
				return Result{}, false, nil
			}
			cluster, _ := clusters[0].(map[string]any)
			if cluster["status"] != "ACTIVE" {
				return Result{}, false, nil
			}
			return Result{PhysicalID: fmt.Sprint(cluster["clusterName"]), Attributes: map[string]any{"Arn": cluster["clusterArn"]}}, true, nil
		},
		Create: createCluster,
		Update: updateCluster,
		Delete: func(ctx context.Context, c *Call) error {
			_, err := c.invoke(ctx, "ecs", "DeleteCluster", map[string]any{"cluster": c.PhysicalID})
			if isNotFound(err, "ClusterNotFoundException") {
				return nil
			}
			return err
		},
	})
	// AWS::ECS::TaskDefinition: Ref is the revision's ARN. Every change
	// registers a new revision (the schema makes the properties
	// create-only), and a replaced revision is deregistered.
	register("AWS::ECS::TaskDefinition", &Provisioner{
		Create: registerTaskDefinition,
		// Only the tags change in place (the schema makes every other
		// property create-only): the revision keeps its ARN.
		Update: func(ctx context.Context, c *Call) (Result, error) {
			if err := c.retagECS(ctx, c.PhysicalID); err != nil {
				return Result{}, err
			}
			return Result{PhysicalID: c.PhysicalID, Attributes: c.Attributes}, nil
		},
		Delete: func(ctx context.Context, c *Call) error {
			_, err := c.invoke(ctx, "ecs", "DeregisterTaskDefinition", map[string]any{"taskDefinition": c.PhysicalID})
			if isNotFound(err, "ClientException") {
				// ECS answers ClientException for a revision it does not
				// know, the only way this call fails on a valid ARN.
				return nil
			}
			return err
		},
	})
	// AWS::ECS::Service: Ref is the service's ARN. CloudFormation waits
	// for a created or updated service's deployment to complete, and a
	// deployment the circuit breaker fails fails the resource.
	register("AWS::ECS::Service", &Provisioner{
		NameProperty: "ServiceName",
		NameLength:   255,
		Find: func(ctx context.Context, c *Call) (Result, bool, error) {
			out, err := c.invoke(ctx, "ecs", "DescribeServices", map[string]any{"cluster": c.clusterOf(), "services": []any{c.name("ServiceName", 255)}})
			if isNotFound(err, "ClusterNotFoundException") {
				return Result{}, false, nil
			}
			if err != nil {
				return Result{}, false, err
			}
			services, _ := out["services"].([]any)
			if len(services) == 0 {
				return Result{}, false, nil
			}
			svc, _ := services[0].(map[string]any)
			if svc["status"] == "INACTIVE" {
				return Result{}, false, nil
			}
			return serviceResult(svc), true, nil
		},
		Create:  createService,
		Update:  updateService,
		Delete:  deleteService,
		Settled: serviceSettled,
	})
}

var clusterRenames = map[string]string{"ClusterSettings": "settings"}

func createCluster(ctx context.Context, c *Call) (Result, error) {
	in, err := apiInput(model.MustLoad("ecs"), "CreateCluster", c.Properties, clusterRenames, "ClusterName", "Tags")
	if err != nil {
		return Result{}, err
	}
	in["clusterName"] = c.name("ClusterName", 255)
	if tags := c.tags("key", "value"); len(tags) > 0 {
		in["tags"] = tags
	}
	out, err := c.invoke(ctx, "ecs", "CreateCluster", in)
	if err != nil {
		return Result{}, err
	}
	cluster, _ := out["cluster"].(map[string]any)
	return Result{PhysicalID: fmt.Sprint(cluster["clusterName"]), Attributes: map[string]any{"Arn": cluster["clusterArn"]}}, nil
}

func updateCluster(ctx context.Context, c *Call) (Result, error) {
	api := model.MustLoad("ecs")
	if c.changed("ClusterSettings", "Configuration", "ServiceConnectDefaults") {
		in, err := apiInput(api, "UpdateCluster", pick(c.Properties, "ClusterSettings", "Configuration", "ServiceConnectDefaults"), clusterRenames)
		if err != nil {
			return Result{}, err
		}
		in["cluster"] = c.PhysicalID
		in["settings"] = droppedSettings(in["settings"], c.Previous["ClusterSettings"])
		if _, err := c.invoke(ctx, "ecs", "UpdateCluster", in); err != nil {
			return Result{}, err
		}
	}
	if c.changed("CapacityProviders", "DefaultCapacityProviderStrategy") {
		in, err := apiInput(api, "PutClusterCapacityProviders", pick(c.Properties, "CapacityProviders", "DefaultCapacityProviderStrategy"), nil)
		if err != nil {
			return Result{}, err
		}
		in["cluster"] = c.PhysicalID
		if in["capacityProviders"] == nil {
			in["capacityProviders"] = []any{}
		}
		if in["defaultCapacityProviderStrategy"] == nil {
			in["defaultCapacityProviderStrategy"] = []any{}
		}
		if _, err := c.invoke(ctx, "ecs", "PutClusterCapacityProviders", in); err != nil {
			return Result{}, err
		}
	}
	if c.changed("Tags") {
		if err := c.retagECS(ctx, fmt.Sprint(c.Attributes["Arn"])); err != nil {
			return Result{}, err
		}
	}
	return Result{PhysicalID: c.PhysicalID, Attributes: c.Attributes}, nil
}

// droppedSettings adds to a cluster's new settings each setting the
// previous properties had and the new ones leave out, as "disabled": a
// setting the template drops goes back to ECS's default.
func droppedSettings(settings any, previous any) any {
	list, _ := settings.([]any)
	has := map[string]bool{}
	for _, s := range list {
		if m, ok := s.(map[string]any); ok {
			has[fmt.Sprint(m["name"])] = true
		}
	}
	old, _ := previous.([]any)
	for _, s := range old {
		m, ok := s.(map[string]any)
		if name := fmt.Sprint(m["Name"]); ok && !has[name] {
			list = append(list, map[string]any{"name": name, "value": "disabled"})
		}
	}
	if list == nil {
		return nil
	}
	return list
}

// retagECS makes an ECS resource's tags the resource's and the stack's.
func (c *Call) retagECS(ctx context.Context, arn string) error {
	if gone := c.removedTagKeys(); len(gone) > 0 {
		if _, err := c.invoke(ctx, "ecs", "UntagResource", map[string]any{"resourceArn": arn, "tagKeys": gone}); err != nil {
			return err
		}
	}
	if tags := c.tags("key", "value"); len(tags) > 0 {
		_, err := c.invoke(ctx, "ecs", "TagResource", map[string]any{"resourceArn": arn, "tags": tags})
		return err
	}
	return nil
}

func registerTaskDefinition(ctx context.Context, c *Call) (Result, error) {
	in, err := apiInput(model.MustLoad("ecs"), "RegisterTaskDefinition", c.Properties,
		map[string]string{"ProxyConfiguration.ProxyConfigurationProperties": "properties"}, "Family", "Tags")
	if err != nil {
		return Result{}, err
	}
	in["family"] = c.name("Family", 255)
	if tags := c.tags("key", "value"); len(tags) > 0 {
		in["tags"] = tags
	}
	out, err := c.invoke(ctx, "ecs", "RegisterTaskDefinition", in)
	if err != nil {
		return Result{}, err
	}
	td, _ := out["taskDefinition"].(map[string]any)
	arn := fmt.Sprint(td["taskDefinitionArn"])
	return Result{PhysicalID: arn, Attributes: map[string]any{"TaskDefinitionArn": arn}}, nil
}

// serviceRenames are the ECS::Service properties whose API member has
// another name.
var serviceRenames = map[string]string{"PlacementStrategies": "placementStrategy"}

func createService(ctx context.Context, c *Call) (Result, error) {
	in, err := apiInput(model.MustLoad("ecs"), "CreateService", c.Properties, serviceRenames, "ServiceName", "Tags", "ForceNewDeployment")
	if err != nil {
		return Result{}, err
	}
	in["serviceName"] = c.name("ServiceName", 255)
	if tags := c.tags("key", "value"); len(tags) > 0 {
		in["tags"] = tags
	}
	out, err := c.invoke(ctx, "ecs", "CreateService", in)
	if err != nil {
		return Result{}, err
	}
	svc, _ := out["service"].(map[string]any)
	return serviceResult(svc), nil
}

// serviceResult is a service's Ref and GetAtt values, settling until the
// deployment its create or update started (the PRIMARY one) completes.
func serviceResult(svc map[string]any) Result {
	arn := fmt.Sprint(svc["serviceArn"])
	res := Result{PhysicalID: arn, Settling: true,
		Attributes: map[string]any{"ServiceArn": arn, "Name": svc["serviceName"]}}
	deployments, _ := svc["deployments"].([]any)
	for _, d := range deployments {
		if dep, _ := d.(map[string]any); dep["status"] == "PRIMARY" {
			res.Token = fmt.Sprint(dep["id"])
		}
	}
	return res
}

// serviceUpdatable are the ECS::Service properties UpdateService takes.
var serviceUpdatable = []string{"DesiredCount", "TaskDefinition", "CapacityProviderStrategy", "DeploymentConfiguration",
	"AvailabilityZoneRebalancing", "NetworkConfiguration", "PlacementConstraints", "PlacementStrategies", "PlatformVersion",
	"HealthCheckGracePeriodSeconds", "EnableExecuteCommand", "EnableECSManagedTags", "LoadBalancers", "PropagateTags",
	"ServiceRegistries", "ServiceConnectConfiguration", "VolumeConfigurations", "VpcLatticeConfigurations"}

// serviceClearable are the ECS::Service list properties an update empties
// when the template drops them.
var serviceClearable = []string{"LoadBalancers", "ServiceRegistries", "PlacementConstraints", "PlacementStrategies",
	"CapacityProviderStrategy", "VolumeConfigurations", "VpcLatticeConfigurations"}

// serviceMember is the UpdateService member a property feeds.
func serviceMember(property string) string {
	if m, ok := serviceRenames[property]; ok {
		return m
	}
	return strings.ToLower(property[:1]) + property[1:]
}

func updateService(ctx context.Context, c *Call) (Result, error) {
	in, err := apiInput(model.MustLoad("ecs"), "UpdateService", pick(c.Properties, serviceUpdatable...), serviceRenames)
	if err != nil {
		return Result{}, err
	}
	in["cluster"] = c.clusterOf()
	in["service"] = c.PhysicalID
	// A list the template drops is emptied: UpdateService keeps a list
	// it is not given.
	for _, p := range serviceClearable {
		if _, had := c.Previous[p]; had {
			if _, has := c.Properties[p]; !has {
				in[serviceMember(p)] = []any{}
			}
		}
	}
	if c.changed("ForceNewDeployment") {
		if f, ok := c.Properties["ForceNewDeployment"].(map[string]any); ok && f["EnableForceNewDeployment"] == true {
			in["forceNewDeployment"] = true
		}
	}
	out, err := c.invoke(ctx, "ecs", "UpdateService", in)
	if err != nil {
		return Result{}, err
	}
	if c.changed("Tags") {
		if err := c.retagECS(ctx, c.PhysicalID); err != nil {
			return Result{}, err
		}
	}
	svc, _ := out["service"].(map[string]any)
	return serviceResult(svc), nil
}

// clusterOf is the service's cluster: the Cluster property, or the
// default cluster when the template names none.
func (c *Call) clusterOf() string {
	if cl := c.str("Cluster"); cl != "" {
		return cl
	}
	return "default"
}

// deleteService deletes the service and waits until it is inactive, its
// tasks stopped (after their load balancers' deregistration delay), as
// CloudFormation does: the cluster and the target groups it used are
// deleted after it.
func deleteService(ctx context.Context, c *Call) error {
	_, err := c.invoke(ctx, "ecs", "DeleteService", map[string]any{"cluster": c.clusterOf(), "service": c.PhysicalID, "force": true})
	switch {
	case isNotFound(err, "ServiceNotFoundException", "ClusterNotFoundException"):
		return nil
	case err != nil && !isNotFound(err, "ServiceNotActiveException"):
		return err
	}
	for {
		out, err := c.invoke(ctx, "ecs", "DescribeServices", map[string]any{"cluster": c.clusterOf(), "services": []any{c.PhysicalID}})
		if isNotFound(err, "ClusterNotFoundException") {
			return nil
		}
		if err != nil {
			return err
		}
		services, _ := out["services"].([]any)
		if len(services) == 0 {
			return nil
		}
		if svc, _ := services[0].(map[string]any); svc["status"] == "INACTIVE" {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// errCircuitBreaker is the failure CloudFormation reports for a
// deployment the circuit breaker stopped.
var errCircuitBreaker = Failure("Error occurred during operation 'ECS Deployment Circuit Breaker was triggered'.")

// serviceSettled waits for the deployment the create or update started
// (Request.Token): complete once it is the only one left and COMPLETED; a
// failure once the circuit breaker failed it, or once another deployment
// (the breaker's rollback) replaced it.
func serviceSettled(ctx context.Context, c *Call) (bool, error) {
	out, err := c.invoke(ctx, "ecs", "DescribeServices", map[string]any{"cluster": c.clusterOf(), "services": []any{c.PhysicalID}})
	if err != nil {
		return false, err
	}
	services, _ := out["services"].([]any)
	if len(services) == 0 {
		return false, fmt.Errorf("service %s is gone", c.PhysicalID)
	}
	svc, _ := services[0].(map[string]any)
	deployments, _ := svc["deployments"].([]any)
	var primary map[string]any
	for _, d := range deployments {
		dep, _ := d.(map[string]any)
		if dep["status"] == "PRIMARY" {
			primary = dep
		}
		if c.Token != "" && dep["id"] == c.Token && dep["rolloutState"] == "FAILED" {
			return false, errCircuitBreaker
		}
	}
	if primary == nil {
		return false, nil
	}
	if c.Token != "" && primary["id"] != c.Token {
		return false, errCircuitBreaker
	}
	switch primary["rolloutState"] {
	case "FAILED":
		return false, errCircuitBreaker
	case "COMPLETED":
		return len(deployments) == 1, nil
	}
	// A deployment without a rollout state (an external controller's)
	// is steady once it alone runs all it should.
	return len(deployments) == 1 && number(svc["runningCount"]) == number(svc["desiredCount"]), nil
}

func number(v any) string {
	if n, ok := v.(json.Number); ok {
		return string(n)
	}
	return fmt.Sprint(v)
}

// pick is the named properties that are set.
func pick(props map[string]any, names ...string) map[string]any {
	out := map[string]any{}
	for _, n := range names {
		if v, ok := props[n]; ok {
			out[n] = v
		}
	}
	return out
}
