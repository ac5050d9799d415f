package servicediscovery

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"
)

// TestRoute53HealthCheck checks an instance as its service's Route 53
// health check says: FailureThreshold checks in a row change its status,
// which DiscoverInstances then filters by.
func TestRoute53HealthCheck(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	var status atomic.Int32
	status.Store(http.StatusOK)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(int(status.Load()))
	}))
	defer app.Close()
	host, port, _ := net.SplitHostPort(app.Listener.Addr().String())

	op, err := e.client.CreatePublicDnsNamespace(ctx, &sdk.CreatePublicDnsNamespaceInput{Name: aws.String("example.com")})
	if err != nil {
		t.Fatal(err)
	}
	nsID := e.await(op.OperationId).Targets["NAMESPACE"]
	svc, err := e.client.CreateService(ctx, &sdk.CreateServiceInput{Name: aws.String("web"), NamespaceId: aws.String(nsID),
		DnsConfig:         &types.DnsConfig{DnsRecords: []types.DnsRecord{{Type: types.RecordTypeA, TTL: aws.Int64(60)}}},
		HealthCheckConfig: &types.HealthCheckConfig{Type: types.HealthCheckTypeHttp, ResourcePath: aws.String("/health"), FailureThreshold: aws.Int32(2)}})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(svc.Service.Id)
	e.register(id, "web-1", host, map[string]string{"AWS_INSTANCE_PORT": port})

	checks := newHealthChecks()
	health := func() types.HealthStatus {
		t.Helper()
		if err := e.cm.checkAll(ctx, checks); err != nil {
			t.Fatal(err)
		}
		out, err := e.client.GetInstancesHealthStatus(ctx, &sdk.GetInstancesHealthStatusInput{ServiceId: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		return out.Status["web-1"]
	}
	if h := health(); h != types.HealthStatusHealthy {
		t.Fatalf("passing: %s", h)
	}
	status.Store(http.StatusInternalServerError)
	if h := health(); h != types.HealthStatusHealthy {
		t.Fatalf("one failure of a threshold of 2: %s", h)
	}
	if h := health(); h != types.HealthStatusUnhealthy {
		t.Fatalf("two failures: %s", h)
	}
	status.Store(http.StatusFound) // 3xx passes
	health()
	if h := health(); h != types.HealthStatusHealthy {
		t.Fatalf("two passes: %s", h)
	}
	// Route 53 checks are for public namespaces only.
	private := e.namespace("private.internal")
	if _, err := e.client.CreateService(ctx, &sdk.CreateServiceInput{Name: aws.String("x"), NamespaceId: aws.String(private),
		DnsConfig:         &types.DnsConfig{DnsRecords: []types.DnsRecord{{Type: types.RecordTypeA, TTL: aws.Int64(60)}}},
		HealthCheckConfig: &types.HealthCheckConfig{Type: types.HealthCheckTypeTcp}}); errCode(err) != "InvalidInput" {
		t.Fatalf("Route 53 check in a private namespace: %v", err)
	}
}

// TestAddRoute53HealthCheck adds a Route 53 check to a public namespace's
// service that had none; a private namespace's service cannot have one.
func TestAddRoute53HealthCheck(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	op, err := e.client.CreatePublicDnsNamespace(ctx, &sdk.CreatePublicDnsNamespaceInput{Name: aws.String("example.org")})
	if err != nil {
		t.Fatal(err)
	}
	nsID := e.await(op.OperationId).Targets["NAMESPACE"]
	records := &types.DnsConfig{DnsRecords: []types.DnsRecord{{Type: types.RecordTypeA, TTL: aws.Int64(60)}}}
	svc, err := e.client.CreateService(ctx, &sdk.CreateServiceInput{Name: aws.String("web"), NamespaceId: aws.String(nsID), DnsConfig: records})
	if err != nil {
		t.Fatal(err)
	}
	up, err := e.client.UpdateService(ctx, &sdk.UpdateServiceInput{Id: svc.Service.Id, Service: &types.ServiceChange{
		HealthCheckConfig: &types.HealthCheckConfig{Type: types.HealthCheckTypeTcp}}})
	if err != nil {
		t.Fatal(err)
	}
	if done := e.await(up.OperationId); done.Status != types.OperationStatusSuccess {
		t.Fatalf("update: %+v", done)
	}
	got, err := e.client.GetService(ctx, &sdk.GetServiceInput{Id: svc.Service.Id})
	if err != nil || got.Service.HealthCheckConfig == nil || got.Service.HealthCheckConfig.Type != types.HealthCheckTypeTcp {
		t.Fatalf("service after the update: %+v %v", got, err)
	}

	private := e.namespace("private.internal")
	psvc, err := e.client.CreateService(ctx, &sdk.CreateServiceInput{Name: aws.String("db"), NamespaceId: aws.String(private), DnsConfig: records})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.UpdateService(ctx, &sdk.UpdateServiceInput{Id: psvc.Service.Id, Service: &types.ServiceChange{
		HealthCheckConfig: &types.HealthCheckConfig{Type: types.HealthCheckTypeTcp}}}); errCode(err) != "InvalidInput" {
		t.Fatalf("a Route 53 check added in a private namespace: %v", err)
	}
}
