package ecs

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/store"
)

const (
	testASGARN  = "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:3daf2d5c-a6bc-4c44-8615-c87cf562863f:autoScalingGroupName/ecs-asg"
	testASGARN2 = "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:4daf2d5c-a6bc-4c44-8615-c87cf562863f:autoScalingGroupName/other-asg"
	testCPARN   = "arn:aws:ecs:us-east-1:123456789012:capacity-provider/my-asg-cp"
)

func (e *apiTestEnv) createASGProvider(name, asg string) *types.CapacityProvider {
	e.t.Helper()
	out, err := e.client.CreateCapacityProvider(e.ctx, &sdk.CreateCapacityProviderInput{
		Name: aws.String(name),
		AutoScalingGroupProvider: &types.AutoScalingGroupProvider{
			AutoScalingGroupArn: aws.String(asg),
			ManagedScaling: &types.ManagedScaling{
				Status:                 types.ManagedScalingStatusEnabled,
				TargetCapacity:         aws.Int32(80),
				MaximumScalingStepSize: aws.Int32(20),
			},
			ManagedTerminationProtection: types.ManagedTerminationProtectionEnabled,
		},
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("infra")}},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out.CapacityProvider
}

func providerNames(ps []types.CapacityProvider) []string {
	var out []string
	for _, p := range ps {
		out = append(out, aws.ToString(p.Name))
	}
	return out
}

func TestCapacityProviderBuiltIns(t *testing.T) {
	e := newAPITestEnv(t)
	out, err := e.client.DescribeCapacityProviders(e.ctx, &sdk.DescribeCapacityProvidersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got := providerNames(out.CapacityProviders); len(got) != 2 || got[0] != "FARGATE" || got[1] != "FARGATE_SPOT" {
		t.Fatalf("providers %v", got)
	}
	for _, p := range out.CapacityProviders {
		if p.Status != "ACTIVE" || p.AutoScalingGroupProvider != nil ||
			aws.ToString(p.CapacityProviderArn) != "arn:aws:ecs:us-east-1:123456789012:capacity-provider/"+aws.ToString(p.Name) {
			t.Errorf("built-in provider %+v", p)
		}
	}
	_, err = e.client.DeleteCapacityProvider(e.ctx, &sdk.DeleteCapacityProviderInput{CapacityProvider: aws.String("FARGATE")})
	wantAPIErr(t, err, "ClientException", "")
	_, err = e.client.UpdateCapacityProvider(e.ctx, &sdk.UpdateCapacityProviderInput{Name: aws.String("FARGATE_SPOT"),
		AutoScalingGroupProvider: &types.AutoScalingGroupProviderUpdate{}})
	wantAPIErr(t, err, "ClientException", "")
	_, err = e.client.DeleteCapacityProvider(e.ctx, &sdk.DeleteCapacityProviderInput{CapacityProvider: aws.String("nope")})
	wantAPIErr(t, err, "ClientException", errCapacityProviderNotFound().Message)
}

func TestCapacityProviderLifecycle(t *testing.T) {
	e := newAPITestEnv(t)
	p := e.createASGProvider("my-asg-cp", testASGARN)
	asg := p.AutoScalingGroupProvider
	if aws.ToString(p.CapacityProviderArn) != testCPARN || p.Status != "ACTIVE" ||
		p.UpdateStatus != types.CapacityProviderUpdateStatusCreateComplete || p.Type != types.CapacityProviderTypeEc2Autoscaling ||
		aws.ToString(asg.AutoScalingGroupArn) != testASGARN || asg.ManagedTerminationProtection != types.ManagedTerminationProtectionEnabled ||
		asg.ManagedDraining != types.ManagedDrainingEnabled || len(p.Tags) != 1 {
		t.Fatalf("created %+v", p)
	}
	ms := asg.ManagedScaling
	if ms.Status != types.ManagedScalingStatusEnabled || aws.ToInt32(ms.TargetCapacity) != 80 || aws.ToInt32(ms.MinimumScalingStepSize) != 1 ||
		aws.ToInt32(ms.MaximumScalingStepSize) != 20 || aws.ToInt32(ms.InstanceWarmupPeriod) != 300 {
		t.Fatalf("managed scaling %+v", ms)
	}

	// The same name again, or the same group under another name.
	_, err := e.client.CreateCapacityProvider(e.ctx, &sdk.CreateCapacityProviderInput{Name: aws.String("my-asg-cp"),
		AutoScalingGroupProvider: &types.AutoScalingGroupProvider{AutoScalingGroupArn: aws.String(testASGARN2)}})
	wantAPIErr(t, err, "ClientException", "The specified capacity provider already exists. To change the configuration of an existing capacity provider, update the capacity provider.")
	_, err = e.client.CreateCapacityProvider(e.ctx, &sdk.CreateCapacityProviderInput{Name: aws.String("second"),
		AutoScalingGroupProvider: &types.AutoScalingGroupProvider{AutoScalingGroupArn: aws.String(testASGARN)}})
	wantAPIErr(t, err, "ClientException", "The specified Auto Scaling group ARN is already being used by another capacity provider. Specify a unique Auto Scaling group ARN and try again.")
	e.createASGProvider("second", testASGARN2)

	// By name and ARN, with an unknown one; tags only when asked.
	out, err := e.client.DescribeCapacityProviders(e.ctx, &sdk.DescribeCapacityProvidersInput{
		CapacityProviders: []string{testCPARN, "FARGATE", "missing"},
		Include:           []types.CapacityProviderField{types.CapacityProviderFieldTags},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := providerNames(out.CapacityProviders); len(got) != 2 || got[0] != "my-asg-cp" || got[1] != "FARGATE" ||
		len(out.CapacityProviders[0].Tags) != 1 {
		t.Fatalf("described %v %+v", got, out.CapacityProviders)
	}
	if len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "MISSING" ||
		aws.ToString(out.Failures[0].Arn) != "arn:aws:ecs:us-east-1:123456789012:capacity-provider/missing" {
		t.Fatalf("failures %+v", out.Failures)
	}
	out, err = e.client.DescribeCapacityProviders(e.ctx, &sdk.DescribeCapacityProvidersInput{CapacityProviders: []string{"my-asg-cp"}})
	if err != nil || len(out.CapacityProviders) != 1 || len(out.CapacityProviders[0].Tags) != 0 {
		t.Fatalf("without TAGS: %v %+v", err, out)
	}

	// Tagged by ARN like the other resources; the built-in ones are not.
	if _, err := e.client.TagResource(e.ctx, &sdk.TagResourceInput{ResourceArn: aws.String(testCPARN), Tags: []types.Tag{{Key: aws.String("cost-center"), Value: aws.String("infra")}}}); err != nil {
		t.Fatal(err)
	}
	tags, err := e.client.ListTagsForResource(e.ctx, &sdk.ListTagsForResourceInput{ResourceArn: aws.String(testCPARN)})
	if err != nil || len(tags.Tags) != 2 {
		t.Fatalf("tags %v %+v", err, tags)
	}
	_, err = e.client.TagResource(e.ctx, &sdk.TagResourceInput{ResourceArn: aws.String("arn:aws:ecs:us-east-1:123456789012:capacity-provider/FARGATE"), Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}})
	wantAPIErr(t, err, "InvalidParameterException", "The specified capacity provider does not exist.")

	// Pages of one.
	var all []string
	var token *string
	for range 10 {
		page, err := e.client.DescribeCapacityProviders(e.ctx, &sdk.DescribeCapacityProvidersInput{MaxResults: aws.Int32(1), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, providerNames(page.CapacityProviders)...)
		if token = page.NextToken; token == nil {
			break
		}
	}
	if want := []string{"FARGATE", "FARGATE_SPOT", "my-asg-cp", "second"}; len(all) != len(want) || all[0] != want[0] || all[1] != want[1] || all[2] != want[2] || all[3] != want[3] {
		t.Fatalf("paged %v, want %v", all, want)
	}
	_, err = e.client.DescribeCapacityProviders(e.ctx, &sdk.DescribeCapacityProvidersInput{NextToken: aws.String("garbage")})
	wantAPIErr(t, err, "InvalidParameterException", "")

	// Update keeps what it does not name.
	up, err := e.client.UpdateCapacityProvider(e.ctx, &sdk.UpdateCapacityProviderInput{Name: aws.String(testCPARN),
		AutoScalingGroupProvider: &types.AutoScalingGroupProviderUpdate{ManagedScaling: &types.ManagedScaling{TargetCapacity: aws.Int32(50)},
			ManagedDraining: types.ManagedDrainingDisabled}})
	if err != nil {
		t.Fatal(err)
	}
	ms = up.CapacityProvider.AutoScalingGroupProvider.ManagedScaling
	if up.CapacityProvider.UpdateStatus != types.CapacityProviderUpdateStatusUpdateInProgress || aws.ToInt32(ms.TargetCapacity) != 50 ||
		aws.ToInt32(ms.MaximumScalingStepSize) != 20 || ms.Status != types.ManagedScalingStatusEnabled ||
		up.CapacityProvider.AutoScalingGroupProvider.ManagedDraining != types.ManagedDrainingDisabled {
		t.Fatalf("updated %+v", up.CapacityProvider)
	}
	// Answered as it begins, as ECS answers it; done by the time anyone
	// looks.
	if d, err := e.client.DescribeCapacityProviders(e.ctx, &sdk.DescribeCapacityProvidersInput{CapacityProviders: []string{"my-asg-cp"}}); err != nil ||
		len(d.CapacityProviders) != 1 || d.CapacityProviders[0].UpdateStatus != types.CapacityProviderUpdateStatusUpdateComplete {
		t.Fatalf("described after the update: %+v %v", d, err)
	}
	_, err = e.client.UpdateCapacityProvider(e.ctx, &sdk.UpdateCapacityProviderInput{Name: aws.String("my-asg-cp"),
		AutoScalingGroupProvider: &types.AutoScalingGroupProviderUpdate{ManagedScaling: &types.ManagedScaling{TargetCapacity: aws.Int32(101)}}})
	wantAPIErr(t, err, "InvalidParameterException", "")

	// A cluster can use it; an unknown one is refused.
	_, err = e.client.CreateCluster(e.ctx, &sdk.CreateClusterInput{ClusterName: aws.String("c"), CapacityProviders: []string{"nope"}})
	wantAPIErr(t, err, "InvalidParameterException", "The specified capacity provider 'nope' is not in an ACTIVE state. Specify a valid capacity provider and try again.")
	_, err = e.client.CreateCluster(e.ctx, &sdk.CreateClusterInput{ClusterName: aws.String("c"), CapacityProviders: []string{testASGARN}})
	wantAPIErr(t, err, "InvalidParameterException", "The specified capacity provider was not found. Specify a valid capacity provider and try again.")
	if _, err := e.client.CreateCluster(e.ctx, &sdk.CreateClusterInput{ClusterName: aws.String("c"),
		CapacityProviders:               []string{"my-asg-cp", "FARGATE"},
		DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("my-asg-cp"), Weight: 1}},
	}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.PutClusterCapacityProviders(e.ctx, &sdk.PutClusterCapacityProvidersInput{Cluster: aws.String("c"),
		CapacityProviders: []string{"FARGATE", "gone"}, DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{}})
	wantAPIErr(t, err, "InvalidParameterException", "")

	// Associated with a cluster: the delete fails in the answer, as ECS's does.
	del, err := e.client.DeleteCapacityProvider(e.ctx, &sdk.DeleteCapacityProviderInput{CapacityProvider: aws.String("my-asg-cp")})
	if err != nil {
		t.Fatal(err)
	}
	if del.CapacityProvider.Status != "ACTIVE" || del.CapacityProvider.UpdateStatus != types.CapacityProviderUpdateStatusDeleteFailed ||
		aws.ToString(del.CapacityProvider.UpdateStatusReason) != "The capacity provider cannot be deleted because it is associated with cluster: c. Remove the capacity provider from the cluster and try again." {
		t.Fatalf("delete of an associated provider: %+v", del.CapacityProvider)
	}

	// A service of the cluster uses it: the cluster cannot let it go.
	putService(e, ecsstate.Service{Region: apiTestRegion, Name: "web", Cluster: "c", Status: ecsstate.ServiceActive,
		CapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{{CapacityProvider: aws.String("my-asg-cp"), Weight: aws.Int32(1)}}})
	_, err = e.client.PutClusterCapacityProviders(e.ctx, &sdk.PutClusterCapacityProvidersInput{Cluster: aws.String("c"),
		CapacityProviders: []string{"FARGATE"}, DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{}})
	wantAPIErr(t, err, "ResourceInUseException", "The specified capacity provider is in use and cannot be removed.")
	// Keeping it while dropping another is fine.
	if _, err := e.client.PutClusterCapacityProviders(e.ctx, &sdk.PutClusterCapacityProvidersInput{Cluster: aws.String("c"),
		CapacityProviders: []string{"my-asg-cp"}, DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{}}); err != nil {
		t.Fatal(err)
	}

	// Once the service is gone and the cluster lets go, the delete goes through.
	e.changeService("c", "web", func(s *ecsstate.Service) { s.Status = ecsstate.ServiceInactive })
	if _, err := e.client.PutClusterCapacityProviders(e.ctx, &sdk.PutClusterCapacityProvidersInput{Cluster: aws.String("c"),
		CapacityProviders: []string{}, DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{}}); err != nil {
		t.Fatal(err)
	}
	del, err = e.client.DeleteCapacityProvider(e.ctx, &sdk.DeleteCapacityProviderInput{CapacityProvider: aws.String(testCPARN)})
	if err != nil {
		t.Fatal(err)
	}
	// Answered as the deletion begins, as ECS answers it; it is over by
	// the time anyone looks.
	if del.CapacityProvider.Status != "ACTIVE" || del.CapacityProvider.UpdateStatus != types.CapacityProviderUpdateStatusDeleteInProgress ||
		del.CapacityProvider.UpdateStatusReason != nil {
		t.Fatalf("deleted %+v", del.CapacityProvider)
	}
	out, err = e.client.DescribeCapacityProviders(e.ctx, &sdk.DescribeCapacityProvidersInput{CapacityProviders: []string{"my-asg-cp"}})
	if err != nil || len(out.CapacityProviders) != 0 || len(out.Failures) != 1 {
		t.Fatalf("after delete: %v %+v", err, out)
	}
	// The name and the group are free again.
	e.createASGProvider("my-asg-cp", testASGARN)
}

// TestClusterProviderUsedByDeployment: a live deployment still on a
// provider holds it even when the service's own strategy moved on.
func TestClusterProviderUsedByDeployment(t *testing.T) {
	e := newAPITestEnv(t)
	e.createASGProvider("my-asg-cp", testASGARN)
	if _, err := e.client.CreateCluster(e.ctx, &sdk.CreateClusterInput{ClusterName: aws.String("c"),
		CapacityProviders: []string{"my-asg-cp", "FARGATE"}}); err != nil {
		t.Fatal(err)
	}
	fargate := []ecstypes.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE"), Weight: aws.Int32(1)}}
	putService(e, ecsstate.Service{Region: apiTestRegion, Name: "web", Cluster: "c", Status: ecsstate.ServiceActive, CapacityProviderStrategy: fargate,
		Deployments: []ecsstate.Deployment{
			{ID: "ecs-svc/1", Status: ecsstate.DeploymentPrimary, CapacityProviderStrategy: fargate},
			{ID: "ecs-svc/2", Status: ecsstate.DeploymentActive, CapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{{CapacityProvider: aws.String("my-asg-cp"), Weight: aws.Int32(1)}}},
		}})
	_, err := e.client.PutClusterCapacityProviders(e.ctx, &sdk.PutClusterCapacityProvidersInput{Cluster: aws.String("c"),
		CapacityProviders: []string{"FARGATE"}, DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{}})
	wantAPIErr(t, err, "ResourceInUseException", "The specified capacity provider is in use and cannot be removed.")
	// FARGATE, used by the primary, cannot go either.
	_, err = e.client.PutClusterCapacityProviders(e.ctx, &sdk.PutClusterCapacityProvidersInput{Cluster: aws.String("c"),
		CapacityProviders: []string{"my-asg-cp"}, DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{}})
	wantAPIErr(t, err, "ResourceInUseException", "")
}

func putService(e *apiTestEnv, svc ecsstate.Service) {
	e.t.Helper()
	if _, err := store.Update(e.ctx, e.store, svc.Key(), func(v *ecsstate.Service, _ bool) error {
		*v = svc
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
}

func TestCreateCapacityProviderErrors(t *testing.T) {
	e := newAPITestEnv(t)
	nameErr := errCapacityProviderName().Message
	asg := func(ms *types.ManagedScaling, protection types.ManagedTerminationProtection) *types.AutoScalingGroupProvider {
		return &types.AutoScalingGroupProvider{AutoScalingGroupArn: aws.String(testASGARN), ManagedScaling: ms, ManagedTerminationProtection: protection}
	}
	for _, tc := range []struct {
		name     string
		in       *sdk.CreateCapacityProviderInput
		code     string
		msg      string
		skipName bool
	}{
		{name: "aws prefix", in: &sdk.CreateCapacityProviderInput{Name: aws.String("aws-cp"), AutoScalingGroupProvider: asg(nil, "")}, code: "ClientException", msg: nameErr},
		{name: "ecs prefix", in: &sdk.CreateCapacityProviderInput{Name: aws.String("ECSProvider"), AutoScalingGroupProvider: asg(nil, "")}, code: "ClientException", msg: nameErr},
		{name: "fargate prefix", in: &sdk.CreateCapacityProviderInput{Name: aws.String("fargate-cheap"), AutoScalingGroupProvider: asg(nil, "")}, code: "ClientException", msg: nameErr},
		{name: "bad characters", in: &sdk.CreateCapacityProviderInput{Name: aws.String("my cp"), AutoScalingGroupProvider: asg(nil, "")}, code: "ClientException", msg: nameErr},
		{name: "no group", in: &sdk.CreateCapacityProviderInput{Name: aws.String("cp")}, code: "ClientException"},
		{name: "bad group ARN", in: &sdk.CreateCapacityProviderInput{Name: aws.String("cp"),
			AutoScalingGroupProvider: &types.AutoScalingGroupProvider{AutoScalingGroupArn: aws.String("my-asg")}}, code: "ClientException"},
		{name: "target 0", in: &sdk.CreateCapacityProviderInput{Name: aws.String("cp"), AutoScalingGroupProvider: asg(&types.ManagedScaling{TargetCapacity: aws.Int32(0)}, "")}, code: "InvalidParameterException"},
		{name: "target 101", in: &sdk.CreateCapacityProviderInput{Name: aws.String("cp"), AutoScalingGroupProvider: asg(&types.ManagedScaling{TargetCapacity: aws.Int32(101)}, "")}, code: "InvalidParameterException"},
		{name: "min step 0", in: &sdk.CreateCapacityProviderInput{Name: aws.String("cp"), AutoScalingGroupProvider: asg(&types.ManagedScaling{MinimumScalingStepSize: aws.Int32(0)}, "")}, code: "InvalidParameterException"},
		{name: "max step 10001", in: &sdk.CreateCapacityProviderInput{Name: aws.String("cp"), AutoScalingGroupProvider: asg(&types.ManagedScaling{MaximumScalingStepSize: aws.Int32(10001)}, "")}, code: "InvalidParameterException"},
		{name: "min above max", in: &sdk.CreateCapacityProviderInput{Name: aws.String("cp"), AutoScalingGroupProvider: asg(&types.ManagedScaling{MinimumScalingStepSize: aws.Int32(10), MaximumScalingStepSize: aws.Int32(5)}, "")}, code: "InvalidParameterException"},
		{name: "warmup 10001", in: &sdk.CreateCapacityProviderInput{Name: aws.String("cp"), AutoScalingGroupProvider: asg(&types.ManagedScaling{InstanceWarmupPeriod: aws.Int32(10001)}, "")}, code: "InvalidParameterException"},
		{name: "bad status", in: &sdk.CreateCapacityProviderInput{Name: aws.String("cp"), AutoScalingGroupProvider: asg(&types.ManagedScaling{Status: "ON"}, "")}, code: "InvalidParameterException"},
		{name: "protection without scaling", in: &sdk.CreateCapacityProviderInput{Name: aws.String("cp"), AutoScalingGroupProvider: asg(nil, types.ManagedTerminationProtectionEnabled)}, code: "ClientException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.client.CreateCapacityProvider(e.ctx, tc.in)
			wantAPIErr(t, err, tc.code, tc.msg)
		})
	}
	// Warmup 0 and the limits themselves are fine.
	if _, err := e.client.CreateCapacityProvider(e.ctx, &sdk.CreateCapacityProviderInput{Name: aws.String("edge"), AutoScalingGroupProvider: asg(&types.ManagedScaling{
		TargetCapacity: aws.Int32(1), MinimumScalingStepSize: aws.Int32(10000), MaximumScalingStepSize: aws.Int32(10000), InstanceWarmupPeriod: aws.Int32(0)}, "")}); err != nil {
		t.Fatal(err)
	}
	out, err := e.client.DescribeCapacityProviders(e.ctx, &sdk.DescribeCapacityProvidersInput{CapacityProviders: []string{"cp"}})
	if err != nil || len(out.CapacityProviders) != 0 {
		t.Fatalf("a refused create left a provider: %v %+v", err, out)
	}
}
