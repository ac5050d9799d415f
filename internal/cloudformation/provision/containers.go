package provision

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/model"
)

func init() {
	// AWS::ECS::CapacityProvider: Ref is the provider's name; the type
	// has no Fn::GetAtt attributes. berth has no EC2 Auto Scaling: ECS
	// keeps an Auto Scaling group provider's settings and scales nothing.
	register("AWS::ECS::CapacityProvider", &Provisioner{
		NameProperty: "Name",
		NameLength:   255,
		Find: func(ctx context.Context, c *Call) (Result, bool, error) {
			_, found, err := c.describeCapacityProvider(ctx, c.name("Name", 255))
			if !found || err != nil {
				return Result{}, false, err
			}
			return Result{PhysicalID: c.name("Name", 255)}, true, nil
		},
		Create: createCapacityProvider,
		Update: updateCapacityProvider,
		Delete: deleteCapacityProvider,
	})
	// AWS::ECS::ClusterCapacityProviderAssociations: Ref is the cluster's
	// name. Cluster is create-only: another cluster makes a new resource,
	// and the old one's delete empties the old cluster's lists.
	register("AWS::ECS::ClusterCapacityProviderAssociations", &Provisioner{
		Create: createCapacityProviderAssociations,
		Update: func(ctx context.Context, c *Call) (Result, error) {
			return c.putClusterCapacityProviders(ctx, c.PhysicalID)
		},
		Delete: deleteCapacityProviderAssociations,
	})
	// AWS::ECR::Repository: Ref is the repository's name; Arn and
	// RepositoryUri its ARN and URI.
	register("AWS::ECR::Repository", &Provisioner{
		NameProperty: "RepositoryName",
		NameLength:   256,
		Find: func(ctx context.Context, c *Call) (Result, bool, error) {
			name := c.ecrRepositoryName()
			out, err := c.invoke(ctx, "ecr", "DescribeRepositories", map[string]any{"repositoryNames": []any{name}})
			if isNotFound(err, "RepositoryNotFoundException") {
				return Result{}, false, nil
			}
			if err != nil {
				return Result{}, false, err
			}
			repos, _ := out["repositories"].([]any)
			if len(repos) == 0 {
				return Result{}, false, nil
			}
			repo, _ := repos[0].(map[string]any)
			return ecrRepositoryResult(repo), true, nil
		},
		Create: createECRRepository,
		Update: updateECRRepository,
		Delete: deleteECRRepository,
	})
}

// describeCapacityProvider reads a capacity provider by name; an INACTIVE
// one (deleted, still listed for a while by ECS) is not found.
func (c *Call) describeCapacityProvider(ctx context.Context, name string) (map[string]any, bool, error) {
	out, err := c.invoke(ctx, "ecs", "DescribeCapacityProviders", map[string]any{"capacityProviders": []any{name}})
	if err != nil {
		return nil, false, err
	}
	providers, _ := out["capacityProviders"].([]any)
	if len(providers) == 0 {
		return nil, false, nil
	}
	p, _ := providers[0].(map[string]any)
	if p["status"] == "INACTIVE" {
		return nil, false, nil
	}
	return p, true, nil
}

func createCapacityProvider(ctx context.Context, c *Call) (Result, error) {
	if _, ok := c.Properties["ManagedInstancesProvider"]; ok {
		// ECS would refuse it too; said here in the template's terms.
		return Result{}, fmt.Errorf("berth does not support the property ManagedInstancesProvider yet: it has no Amazon ECS Managed Instances")
	}
	// ClusterName has no member of the same name (the API's is cluster)
	// and berth's ECS keeps no cluster for an Auto Scaling group
	// provider, so apiInput refuses it rather than it being dropped.
	in, err := apiInput(model.MustLoad("ecs"), "CreateCapacityProvider", c.Properties, nil, "Name", "Tags")
	if err != nil {
		return Result{}, err
	}
	in["name"] = c.name("Name", 255)
	if tags := c.tags("key", "value"); len(tags) > 0 {
		in["tags"] = tags
	}
	out, err := c.invoke(ctx, "ecs", "CreateCapacityProvider", in)
	if err != nil {
		return Result{}, err
	}
	p, _ := out["capacityProvider"].(map[string]any)
	return Result{PhysicalID: fmt.Sprint(p["name"])}, nil
}

func updateCapacityProvider(ctx context.Context, c *Call) (Result, error) {
	if c.changed("AutoScalingGroupProvider", "ManagedInstancesProvider") {
		if _, ok := c.Properties["ManagedInstancesProvider"]; ok {
			return Result{}, fmt.Errorf("berth does not support the property ManagedInstancesProvider yet: it has no Amazon ECS Managed Instances")
		}
		// The group's ARN is create-only: a change of it replaces the
		// provider, and UpdateCapacityProvider has no member for it.
		in, err := apiInput(model.MustLoad("ecs"), "UpdateCapacityProvider", pick(c.Properties, "AutoScalingGroupProvider"), nil,
			"AutoScalingGroupProvider.AutoScalingGroupArn")
		if err != nil {
			return Result{}, err
		}
		in["name"] = c.PhysicalID
		if _, err := c.invoke(ctx, "ecs", "UpdateCapacityProvider", in); err != nil {
			return Result{}, err
		}
	}
	if c.changed("Tags") {
		p, found, err := c.describeCapacityProvider(ctx, c.PhysicalID)
		if err != nil {
			return Result{}, err
		}
		if !found {
			return Result{}, fmt.Errorf("capacity provider %s is gone", c.PhysicalID)
		}
		if err := c.retagECS(ctx, fmt.Sprint(p["capacityProviderArn"])); err != nil {
			return Result{}, err
		}
	}
	return Result{PhysicalID: c.PhysicalID, Attributes: c.Attributes}, nil
}

// deleteCapacityProvider deletes the provider and waits until ECS has,
// as CloudFormation does. ECS answers the deletion of a provider a
// cluster or a service uses without an error but with updateStatus
// DELETE_FAILED and the reason; that fails the delete.
func deleteCapacityProvider(ctx context.Context, c *Call) error {
	out, err := c.invoke(ctx, "ecs", "DeleteCapacityProvider", map[string]any{"capacityProvider": c.PhysicalID})
	if err != nil {
		// ECS answers a provider it does not know with a ClientException,
		// as it does many other refusals: whether it is gone is asked.
		if _, found, derr := c.describeCapacityProvider(ctx, c.PhysicalID); derr == nil && !found {
			return nil
		}
		return err
	}
	if p, _ := out["capacityProvider"].(map[string]any); p["updateStatus"] == "DELETE_FAILED" {
		// UNVERIFIED: the exception and handler error code CloudFormation
		// reports; the reason is ECS's.
		return awsapi.Errorf("ResourceInUseException", "%v", p["updateStatusReason"])
	}
	for {
		p, found, err := c.describeCapacityProvider(ctx, c.PhysicalID)
		if err != nil {
			return err
		}
		if !found {
			return nil
		}
		if p["updateStatus"] == "DELETE_FAILED" {
			return awsapi.Errorf("ResourceInUseException", "%v", p["updateStatusReason"])
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// createCapacityProviderAssociations associates the providers and the
// default strategy with a cluster that has none yet. A cluster's
// providers are set either by its AWS::ECS::Cluster resource or by one
// association resource, never both: each would put back its own list
// over the other's, so an association with a cluster that already has
// providers fails as a resource that already exists.
func createCapacityProviderAssociations(ctx context.Context, c *Call) (Result, error) {
	cluster := c.str("Cluster")
	out, err := c.invoke(ctx, "ecs", "DescribeClusters", map[string]any{"clusters": []any{cluster}})
	if err != nil {
		return Result{}, err
	}
	clusters, _ := out["clusters"].([]any)
	if len(clusters) > 0 {
		cl, _ := clusters[0].(map[string]any)
		providers, _ := cl["capacityProviders"].([]any)
		strategy, _ := cl["defaultCapacityProviderStrategy"].([]any)
		if cl["status"] == "ACTIVE" && (len(providers) > 0 || len(strategy) > 0) {
			// UNVERIFIED: the check and its wording, the standard one
			// of CloudFormation's resource handlers for an existing
			// resource (HandlerErrorCode AlreadyExists).
			return Result{}, awsapi.Errorf("AlreadyExists", "Resource of type '%s' with identifier '%s' already exists.", c.Type, cluster)
		}
	}
	// A missing or inactive cluster is left to ECS to refuse.
	return c.putClusterCapacityProviders(ctx, cluster)
}

// putClusterCapacityProviders makes the cluster's providers and default
// strategy the properties' (an absent list is an empty one: ECS takes
// both lists whole).
func (c *Call) putClusterCapacityProviders(ctx context.Context, cluster string) (Result, error) {
	in, err := apiInput(model.MustLoad("ecs"), "PutClusterCapacityProviders", c.Properties, nil, "Cluster")
	if err != nil {
		return Result{}, err
	}
	in["cluster"] = cluster
	if in["capacityProviders"] == nil {
		in["capacityProviders"] = []any{}
	}
	if in["defaultCapacityProviderStrategy"] == nil {
		in["defaultCapacityProviderStrategy"] = []any{}
	}
	out, err := c.invoke(ctx, "ecs", "PutClusterCapacityProviders", in)
	if err != nil {
		return Result{}, err
	}
	cl, _ := out["cluster"].(map[string]any)
	return Result{PhysicalID: fmt.Sprint(cl["clusterName"])}, nil
}

// deleteCapacityProviderAssociations takes every provider and the default
// strategy off the cluster; a cluster that is gone has none.
func deleteCapacityProviderAssociations(ctx context.Context, c *Call) error {
	_, err := c.invoke(ctx, "ecs", "PutClusterCapacityProviders", map[string]any{
		"cluster": c.PhysicalID, "capacityProviders": []any{}, "defaultCapacityProviderStrategy": []any{}})
	if isNotFound(err, "ClusterNotFoundException") {
		return nil
	}
	return err
}

// ecrRepositoryRenames are the ECR::Repository properties whose API member
// has another name.
var ecrRepositoryRenames = map[string]string{
	"ImageTagMutabilityExclusionFilters.ImageTagMutabilityExclusionFilterType":  "filterType",
	"ImageTagMutabilityExclusionFilters.ImageTagMutabilityExclusionFilterValue": "filter",
}

// ecrRepositoryName is the repository's name: the template's as written,
// a name CloudFormation makes up in lower case, as it makes them (ECR
// takes lower case names only).
func (c *Call) ecrRepositoryName() string {
	name := c.name("RepositoryName", 256)
	if name == c.str("RepositoryName") {
		return name
	}
	return strings.ToLower(name)
}

func ecrRepositoryResult(repo map[string]any) Result {
	return Result{PhysicalID: fmt.Sprint(repo["repositoryName"]),
		Attributes: map[string]any{"Arn": repo["repositoryArn"], "RepositoryUri": repo["repositoryUri"]}}
}

func createECRRepository(ctx context.Context, c *Call) (Result, error) {
	in, err := apiInput(model.MustLoad("ecr"), "CreateRepository", c.Properties, ecrRepositoryRenames,
		"RepositoryName", "Tags", "LifecyclePolicy", "RepositoryPolicyText", "EmptyOnDelete")
	if err != nil {
		return Result{}, err
	}
	name := c.ecrRepositoryName()
	in["repositoryName"] = name
	if tags := c.tags("Key", "Value"); len(tags) > 0 {
		in["tags"] = tags
	}
	out, err := c.invoke(ctx, "ecr", "CreateRepository", in)
	if err != nil {
		return Result{}, err
	}
	repo, _ := out["repository"].(map[string]any)
	res := ecrRepositoryResult(repo)
	// The repository exists from here on: a failure below leaves it for
	// the rollback to delete.
	if err := c.applyECRLifecyclePolicy(ctx, name); err != nil {
		return res, err
	}
	if err := c.applyECRRepositoryPolicy(ctx, name); err != nil {
		return res, err
	}
	return res, nil
}

func updateECRRepository(ctx context.Context, c *Call) (Result, error) {
	name := c.PhysicalID
	if c.changed("ImageTagMutability", "ImageTagMutabilityExclusionFilters") {
		// A template that drops the setting gets ECR's default back.
		props := map[string]any{"ImageTagMutability": "MUTABLE"}
		for k, v := range pick(c.Properties, "ImageTagMutability", "ImageTagMutabilityExclusionFilters") {
			props[k] = v
		}
		in, err := apiInput(model.MustLoad("ecr"), "PutImageTagMutability", props, ecrRepositoryRenames)
		if err != nil {
			return Result{}, err
		}
		in["repositoryName"] = name
		if _, err := c.invoke(ctx, "ecr", "PutImageTagMutability", in); err != nil {
			return Result{}, err
		}
	}
	if c.changed("ImageScanningConfiguration") {
		props := map[string]any{"ImageScanningConfiguration": map[string]any{"ScanOnPush": false}}
		if v, ok := c.Properties["ImageScanningConfiguration"]; ok {
			props["ImageScanningConfiguration"] = v
		}
		in, err := apiInput(model.MustLoad("ecr"), "PutImageScanningConfiguration", props, nil)
		if err != nil {
			return Result{}, err
		}
		in["repositoryName"] = name
		if _, err := c.invoke(ctx, "ecr", "PutImageScanningConfiguration", in); err != nil {
			return Result{}, err
		}
	}
	if c.changed("LifecyclePolicy") {
		if err := c.applyECRLifecyclePolicy(ctx, name); err != nil {
			return Result{}, err
		}
	}
	if c.changed("RepositoryPolicyText") {
		if err := c.applyECRRepositoryPolicy(ctx, name); err != nil {
			return Result{}, err
		}
	}
	if c.changed("Tags") {
		arn := fmt.Sprint(c.Attributes["Arn"])
		if gone := c.removedTagKeys(); len(gone) > 0 {
			if _, err := c.invoke(ctx, "ecr", "UntagResource", map[string]any{"resourceArn": arn, "tagKeys": gone}); err != nil {
				return Result{}, err
			}
		}
		if tags := c.tags("Key", "Value"); len(tags) > 0 {
			if _, err := c.invoke(ctx, "ecr", "TagResource", map[string]any{"resourceArn": arn, "tags": tags}); err != nil {
				return Result{}, err
			}
		}
	}
	// EmptyOnDelete is only read by the delete, from the properties in
	// effect.
	return Result{PhysicalID: name, Attributes: c.Attributes}, nil
}

// applyECRLifecyclePolicy puts the LifecyclePolicy, or deletes the one an
// update's template no longer has.
func (c *Call) applyECRLifecyclePolicy(ctx context.Context, repo string) error {
	policy, ok := c.Properties["LifecyclePolicy"].(map[string]any)
	if !ok {
		if _, had := c.Previous["LifecyclePolicy"]; !had {
			return nil
		}
		_, err := c.invoke(ctx, "ecr", "DeleteLifecyclePolicy", map[string]any{"repositoryName": repo})
		if isNotFound(err, "LifecyclePolicyNotFoundException") {
			return nil
		}
		return err
	}
	// LifecyclePolicyText and RegistryId are PutLifecyclePolicy's
	// lifecyclePolicyText and registryId.
	in, err := apiInput(model.MustLoad("ecr"), "PutLifecyclePolicy", policy, nil)
	if err != nil {
		return err
	}
	in["repositoryName"] = repo
	_, err = c.invoke(ctx, "ecr", "PutLifecyclePolicy", in)
	return err
}

// applyECRRepositoryPolicy sets the RepositoryPolicyText, or deletes the
// policy an update's template no longer has.
func (c *Call) applyECRRepositoryPolicy(ctx context.Context, repo string) error {
	policy, ok := c.Properties["RepositoryPolicyText"]
	if !ok || policy == nil {
		if _, had := c.Previous["RepositoryPolicyText"]; !had {
			return nil
		}
		_, err := c.invoke(ctx, "ecr", "DeleteRepositoryPolicy", map[string]any{"repositoryName": repo})
		if isNotFound(err, "RepositoryPolicyNotFoundException") {
			return nil
		}
		return err
	}
	text, err := document(policy)
	if err != nil {
		return err
	}
	_, err = c.invoke(ctx, "ecr", "SetRepositoryPolicy", map[string]any{"repositoryName": repo, "policyText": text})
	return err
}

// deleteECRRepository deletes the repository with its images only when
// EmptyOnDelete is true; otherwise ECR refuses a repository that holds
// images (RepositoryNotEmptyException) and the delete fails, as
// CloudFormation documents.
func deleteECRRepository(ctx context.Context, c *Call) error {
	in := map[string]any{"repositoryName": c.PhysicalID}
	if c.Properties["EmptyOnDelete"] == true {
		in["force"] = true
	}
	_, err := c.invoke(ctx, "ecr", "DeleteRepository", in)
	if isNotFound(err, "RepositoryNotFoundException") {
		return nil
	}
	return err
}
