package servicediscovery

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"
)

// The answers have the members Cloud Map's documented answers have, not
// every member the API reference defines: no counts of services and
// instances, no instance's CreatorRequestId, no NamespaceId in a service
// summary's DNS configuration, and an SOA without its TTL in a namespace
// summary.
func TestAnswersAsDocumented(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	nsID := e.namespace("answers.internal")
	svc, err := e.client.CreateService(ctx, &sdk.CreateServiceInput{
		Name: aws.String("api"), NamespaceId: aws.String(nsID),
		DnsConfig: &types.DnsConfig{DnsRecords: []types.DnsRecord{{Type: types.RecordTypeA, TTL: aws.Int64(60)}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Service.InstanceCount != nil {
		t.Errorf("CreateService: InstanceCount %v", svc.Service.InstanceCount)
	}
	srvID := aws.ToString(svc.Service.Id)
	e.register(srvID, "a", "10.20.0.10", nil)

	got, err := e.client.GetService(ctx, &sdk.GetServiceInput{Id: aws.String(srvID)})
	if err != nil || got.Service.InstanceCount != nil {
		t.Errorf("GetService: %+v, %v", got, err)
	}
	services, err := e.client.ListServices(ctx, &sdk.ListServicesInput{})
	if err != nil || len(services.Services) != 1 {
		t.Fatalf("ListServices: %+v, %v", services, err)
	}
	s := services.Services[0]
	//lint:ignore SA1019 CreateService answers the deprecated member; a summary must not.
	if s.InstanceCount != nil || s.DnsConfig == nil || s.DnsConfig.NamespaceId != nil || len(s.DnsConfig.DnsRecords) != 1 {
		t.Errorf("ListServices: %+v", s)
	}
	inst, err := e.client.GetInstance(ctx, &sdk.GetInstanceInput{ServiceId: aws.String(srvID), InstanceId: aws.String("a")})
	if err != nil || inst.Instance.CreatorRequestId != nil || aws.ToString(inst.Instance.CreatedByAccount) != testAccount {
		t.Errorf("GetInstance: %+v, %v", inst, err)
	}

	ns, err := e.client.GetNamespace(ctx, &sdk.GetNamespaceInput{Id: aws.String(nsID)})
	if err != nil || ns.Namespace.ServiceCount != nil || ns.Namespace.Properties.DnsProperties.SOA == nil || ns.Namespace.Properties.DnsProperties.SOA.TTL == nil {
		t.Errorf("GetNamespace: %+v, %v", ns, err)
	}
	http, err := e.client.CreateHttpNamespace(ctx, &sdk.CreateHttpNamespaceInput{Name: aws.String("apis")})
	if err != nil {
		t.Fatal(err)
	}
	httpID := e.await(http.OperationId).Targets[string(types.OperationTargetTypeNamespace)]
	if ns, err := e.client.GetNamespace(ctx, &sdk.GetNamespaceInput{Id: aws.String(httpID)}); err != nil || ns.Namespace.Properties.DnsProperties.SOA != nil {
		t.Errorf("GetNamespace of an HTTP namespace: %+v, %v", ns, err)
	}
	list, err := e.client.ListNamespaces(ctx, &sdk.ListNamespacesInput{})
	if err != nil || len(list.Namespaces) != 2 {
		t.Fatalf("ListNamespaces: %+v, %v", list, err)
	}
	for _, n := range list.Namespaces {
		dns := n.Properties.DnsProperties
		if n.ServiceCount != nil || dns.SOA == nil || dns.SOA.TTL != nil || (dns.HostedZoneId != nil) != (n.Type == types.NamespaceTypeDnsPrivate) {
			t.Errorf("ListNamespaces: %s: %+v, %+v", aws.ToString(n.Name), n, dns)
		}
	}
}

// Another account's namespaces and operations are not found: berth serves
// one account, which no other shares a namespace with.
func TestOwnerAccount(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	out, err := e.client.CreateHttpNamespace(ctx, &sdk.CreateHttpNamespaceInput{Name: aws.String("shared")})
	if err != nil {
		t.Fatal(err)
	}
	nsID := e.await(out.OperationId).Targets[string(types.OperationTargetTypeNamespace)]
	if _, err := e.client.CreateService(ctx, &sdk.CreateServiceInput{Name: aws.String("api"), NamespaceId: aws.String(nsID)}); err != nil {
		t.Fatal(err)
	}
	// Without an owner, or naming the caller's account.
	for _, owner := range []*string{nil, aws.String(testAccount)} {
		if _, err := e.client.GetOperation(ctx, &sdk.GetOperationInput{OperationId: out.OperationId, OwnerAccount: owner}); err != nil {
			t.Errorf("GetOperation of owner %q: %v", aws.ToString(owner), err)
		}
		if _, err := e.client.DiscoverInstances(ctx, &sdk.DiscoverInstancesInput{NamespaceName: aws.String("shared"), ServiceName: aws.String("api"), OwnerAccount: owner}); err != nil {
			t.Errorf("DiscoverInstances of owner %q: %v", aws.ToString(owner), err)
		}
	}
	const other = "123456789111"
	if _, err := e.client.GetOperation(ctx, &sdk.GetOperationInput{OperationId: out.OperationId, OwnerAccount: aws.String(other)}); errCode(err) != "OperationNotFound" {
		t.Errorf("GetOperation of another owner: %v", err)
	}
	if _, err := e.client.DiscoverInstances(ctx, &sdk.DiscoverInstancesInput{NamespaceName: aws.String("shared"), ServiceName: aws.String("api"), OwnerAccount: aws.String(other)}); errCode(err) != "NamespaceNotFound" {
		t.Errorf("DiscoverInstances of another owner: %v", err)
	}
	if _, err := e.client.DiscoverInstancesRevision(ctx, &sdk.DiscoverInstancesRevisionInput{NamespaceName: aws.String("shared"), ServiceName: aws.String("api"), OwnerAccount: aws.String(other)}); errCode(err) != "NamespaceNotFound" {
		t.Errorf("DiscoverInstancesRevision of another owner: %v", err)
	}
}
