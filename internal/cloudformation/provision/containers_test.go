package provision

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/berth/berth/internal/awsapi"
)

// containersAPI answers calls from canned outputs by operation and
// records them.
type containersAPI struct {
	answers map[string]func(in map[string]any) (any, error)
	calls   []string
	inputs  map[string]map[string]any
}

func (a *containersAPI) Invoke(_ context.Context, service, operation string, input map[string]any) (any, error) {
	a.calls = append(a.calls, service+":"+operation)
	if a.inputs == nil {
		a.inputs = map[string]map[string]any{}
	}
	a.inputs[operation] = input
	if f := a.answers[operation]; f != nil {
		return f(input)
	}
	return map[string]any{}, nil
}

func TestECRRepositoryGeneratedNameIsLowerCase(t *testing.T) {
	api := &containersAPI{answers: map[string]func(map[string]any) (any, error){
		"CreateRepository": func(in map[string]any) (any, error) {
			return map[string]any{"repository": map[string]any{"repositoryName": in["repositoryName"],
				"repositoryArn": "arn", "repositoryUri": "uri"}}, nil
		},
	}}
	c := NewCall(api, Request{Stack: Stack{Name: "Web-App"}, LogicalID: "Images", Type: "AWS::ECR::Repository",
		PlannedName: "Web-App-Images-AbCdEfGhIjKl", Properties: map[string]any{
			"ImageScanningConfiguration": map[string]any{"ScanOnPush": true},
			"EmptyOnDelete":              true,
		}})
	p, _ := For("AWS::ECR::Repository")
	res, err := p.Create(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if res.PhysicalID != "web-app-images-abcdefghijkl" || res.Attributes["Arn"] != "arn" || res.Attributes["RepositoryUri"] != "uri" {
		t.Fatalf("result %+v", res)
	}
	in := api.inputs["CreateRepository"]
	if scan, _ := in["imageScanningConfiguration"].(map[string]any); scan["scanOnPush"] != true || in["emptyOnDelete"] != nil {
		t.Errorf("CreateRepository input %v", in)
	}
	if len(api.calls) != 1 {
		t.Errorf("calls %v: no policies to apply", api.calls)
	}
}

func TestECRRepositoryDeleteForcesOnlyWithEmptyOnDelete(t *testing.T) {
	p, _ := For("AWS::ECR::Repository")
	for _, tc := range []struct {
		props map[string]any
		force any
	}{
		{map[string]any{}, nil},
		{map[string]any{"EmptyOnDelete": false}, nil},
		{map[string]any{"EmptyOnDelete": true}, true},
	} {
		api := &containersAPI{}
		if err := p.Delete(context.Background(), NewCall(api, Request{PhysicalID: "repo", Properties: tc.props})); err != nil {
			t.Fatal(err)
		}
		if got := api.inputs["DeleteRepository"]["force"]; got != tc.force {
			t.Errorf("%v: force %v", tc.props, got)
		}
	}
	gone := &containersAPI{answers: map[string]func(map[string]any) (any, error){
		"DeleteRepository": func(map[string]any) (any, error) { return nil, awsapi.Errorf("RepositoryNotFoundException", "gone") },
	}}
	if err := p.Delete(context.Background(), NewCall(gone, Request{PhysicalID: "repo"})); err != nil {
		t.Errorf("a repository already gone: %v", err)
	}
}

func TestECRRepositoryUpdateRemovesDroppedPolicies(t *testing.T) {
	api := &containersAPI{answers: map[string]func(map[string]any) (any, error){
		"DeleteRepositoryPolicy": func(map[string]any) (any, error) {
			return nil, awsapi.Errorf("RepositoryPolicyNotFoundException", "none")
		},
	}}
	p, _ := For("AWS::ECR::Repository")
	_, err := p.Update(context.Background(), NewCall(api, Request{PhysicalID: "repo", Attributes: map[string]any{"Arn": "arn"},
		Previous: map[string]any{
			"LifecyclePolicy":      map[string]any{"LifecyclePolicyText": "{}"},
			"RepositoryPolicyText": map[string]any{"Version": "2012-10-17"},
			"ImageTagMutability":   "IMMUTABLE",
		},
		Properties: map[string]any{}}))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(api.calls, " "); got != "ecr:PutImageTagMutability ecr:DeleteLifecyclePolicy ecr:DeleteRepositoryPolicy" {
		t.Errorf("calls: %s", got)
	}
	if api.inputs["PutImageTagMutability"]["imageTagMutability"] != "MUTABLE" {
		t.Errorf("mutability back to the default: %v", api.inputs["PutImageTagMutability"])
	}
}

func TestCapacityProviderDeleteInUseFails(t *testing.T) {
	api := &containersAPI{answers: map[string]func(map[string]any) (any, error){
		"DeleteCapacityProvider": func(map[string]any) (any, error) {
			return map[string]any{"capacityProvider": map[string]any{"status": "ACTIVE", "updateStatus": "DELETE_FAILED",
				"updateStatusReason": "The capacity provider cannot be deleted because it is associated with cluster: web."}}, nil
		},
	}}
	p, _ := For("AWS::ECS::CapacityProvider")
	err := p.Delete(context.Background(), NewCall(api, Request{PhysicalID: "hosts"}))
	var aerr *awsapi.Error
	if !errors.As(err, &aerr) || !strings.Contains(aerr.Message, "associated with cluster: web") {
		t.Fatalf("delete of a provider in use: %v", err)
	}
}

func TestCapacityProviderDeleteOfMissingProvider(t *testing.T) {
	api := &containersAPI{answers: map[string]func(map[string]any) (any, error){
		"DeleteCapacityProvider": func(map[string]any) (any, error) {
			return nil, awsapi.Errorf("ClientException", "The specified capacity provider does not exist.")
		},
		"DescribeCapacityProviders": func(map[string]any) (any, error) {
			return map[string]any{"capacityProviders": []any{}, "failures": []any{map[string]any{"reason": "MISSING"}}}, nil
		},
	}}
	p, _ := For("AWS::ECS::CapacityProvider")
	if err := p.Delete(context.Background(), NewCall(api, Request{PhysicalID: "hosts"})); err != nil {
		t.Fatalf("a provider already gone: %v", err)
	}
}

func TestCapacityProviderRefusesWhatBerthLacks(t *testing.T) {
	p, _ := For("AWS::ECS::CapacityProvider")
	for _, tc := range []struct {
		prop  string
		value any
	}{
		{"ClusterName", "web"},
		{"ManagedInstancesProvider", map[string]any{"InfrastructureRoleArn": "arn"}},
	} {
		api := &containersAPI{}
		_, err := p.Create(context.Background(), NewCall(api, Request{PlannedName: "hosts", Properties: map[string]any{
			tc.prop: tc.value, "AutoScalingGroupProvider": map[string]any{"AutoScalingGroupArn": "arn"}}}))
		if err == nil || !strings.Contains(err.Error(), "berth does not support the property "+tc.prop+" yet") || len(api.calls) != 0 {
			t.Errorf("%s: %v, calls %v", tc.prop, err, api.calls)
		}
	}
}

func TestCapacityProviderAssociationsWithAClusterThatHasProviders(t *testing.T) {
	cluster := func(providers []any) *containersAPI {
		return &containersAPI{answers: map[string]func(map[string]any) (any, error){
			"DescribeClusters": func(map[string]any) (any, error) {
				return map[string]any{"clusters": []any{map[string]any{"clusterName": "web", "status": "ACTIVE",
					"capacityProviders": providers}}}, nil
			},
			"PutClusterCapacityProviders": func(in map[string]any) (any, error) {
				return map[string]any{"cluster": map[string]any{"clusterName": "web"}}, nil
			},
		}}
	}
	p, _ := For("AWS::ECS::ClusterCapacityProviderAssociations")
	props := map[string]any{"Cluster": "arn:aws:ecs:us-east-1:000000000000:cluster/web",
		"DefaultCapacityProviderStrategy": []any{map[string]any{"CapacityProvider": "FARGATE", "Weight": "1"}}}
	taken := cluster([]any{"FARGATE"})
	_, err := p.Create(context.Background(), NewCall(taken, Request{Type: "AWS::ECS::ClusterCapacityProviderAssociations", Properties: props}))
	if err == nil || !strings.Contains(err.Error(), "already exists") || len(taken.calls) != 1 {
		t.Fatalf("a cluster with providers: %v, calls %v", err, taken.calls)
	}
	free := cluster(nil)
	res, err := p.Create(context.Background(), NewCall(free, Request{Type: "AWS::ECS::ClusterCapacityProviderAssociations", Properties: props}))
	if err != nil || res.PhysicalID != "web" {
		t.Fatalf("a cluster without providers: %+v, %v", res, err)
	}
	// Both lists are sent whole: an absent CapacityProviders is none.
	in := free.inputs["PutClusterCapacityProviders"]
	if providers, ok := in["capacityProviders"].([]any); !ok || len(providers) != 0 {
		t.Errorf("PutClusterCapacityProviders input %v", in)
	}
}
