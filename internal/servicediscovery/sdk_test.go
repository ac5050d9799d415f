package servicediscovery

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/gateway/gatewaytest"
	"github.com/berth/berth/internal/servicediscovery/sdstate"
	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/store/bolt"
)

const (
	testRegion  = gatewaytest.Region
	testAccount = gatewaytest.AccountID
	testVPC     = "vpc-0123456789abcdef0"
)

// testEnv is the service behind the real gateway with its worker running,
// its SDK client and a clock the test moves.
type testEnv struct {
	t      *testing.T
	store  store.Store
	cm     *CloudMap
	client *sdk.Client
	mu     sync.Mutex
	clock  time.Time
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &testEnv{t: t, store: st, clock: time.Now().UTC().Truncate(time.Millisecond)}
	vpc := ec2state.NewVPC(testRegion, testAccount, "10.20.0.0/16", e.clock)
	vpc.ID = testVPC
	put, err := store.PutJSON(ec2state.VPCKey(testRegion, vpc.ID), vpc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Txn(context.Background(), store.Txn{Then: []store.Op{put}}); err != nil {
		t.Fatal(err)
	}
	cm := New(Config{Store: st, AccountID: testAccount, Now: e.now, Logger: slog.New(slog.DiscardHandler)})
	e.cm = cm
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = cm.RunWorker(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	e.client = sdk.NewFromConfig(gatewaytest.Start(t, cm.Service()), func(o *sdk.Options) {
		// DiscoverInstances goes to the data- host otherwise.
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Initialize.Add(middleware.InitializeMiddlewareFunc("noHostPrefix", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
			}), middleware.Before)
		})
	})
	return e
}

func (e *testEnv) now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.clock
}

func (e *testEnv) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.clock = e.clock.Add(d)
}

// await waits for an operation to end and returns it.
func (e *testEnv) await(id *string) *types.Operation {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		out, err := e.client.GetOperation(context.Background(), &sdk.GetOperationInput{OperationId: id})
		if err != nil {
			e.t.Fatal(err)
		}
		if s := out.Operation.Status; s == types.OperationStatusSuccess || s == types.OperationStatusFail {
			return out.Operation
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.t.Fatalf("operation %s did not end", aws.ToString(id))
	return nil
}

// namespace makes a private DNS namespace and returns its id.
func (e *testEnv) namespace(name string) string {
	e.t.Helper()
	out, err := e.client.CreatePrivateDnsNamespace(context.Background(), &sdk.CreatePrivateDnsNamespaceInput{Name: aws.String(name), Vpc: aws.String(testVPC)})
	if err != nil {
		e.t.Fatal(err)
	}
	op := e.await(out.OperationId)
	if op.Status != types.OperationStatusSuccess || op.Type != types.OperationTypeCreateNamespace {
		e.t.Fatalf("create namespace: %+v", op)
	}
	return op.Targets[string(types.OperationTargetTypeNamespace)]
}

func (e *testEnv) register(serviceID, id, ip string, extra map[string]string) {
	e.t.Helper()
	attrs := map[string]string{"AWS_INSTANCE_IPV4": ip, "AWS_INSTANCE_PORT": "8080"}
	for k, v := range extra {
		attrs[k] = v
	}
	out, err := e.client.RegisterInstance(context.Background(), &sdk.RegisterInstanceInput{ServiceId: aws.String(serviceID), InstanceId: aws.String(id), Attributes: attrs})
	if err != nil {
		e.t.Fatal(err)
	}
	if op := e.await(out.OperationId); op.Status != types.OperationStatusSuccess {
		e.t.Fatalf("register: %+v", op)
	}
}

func errCode(err error) string {
	var apiErr interface{ ErrorCode() string }
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

func TestArticleFlow(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	nsID := e.namespace("services.internal")
	ns, err := e.client.GetNamespace(ctx, &sdk.GetNamespaceInput{Id: aws.String(nsID)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(ns.Namespace.Name) != "services.internal" || ns.Namespace.Type != types.NamespaceTypeDnsPrivate ||
		aws.ToString(ns.Namespace.Properties.HttpProperties.HttpName) != "services.internal" || ns.Namespace.Properties.DnsProperties.HostedZoneId == nil {
		t.Fatalf("namespace: %+v", ns.Namespace)
	}
	svc, err := e.client.CreateService(ctx, &sdk.CreateServiceInput{
		Name: aws.String("api"), NamespaceId: aws.String(nsID),
		DnsConfig:               &types.DnsConfig{DnsRecords: []types.DnsRecord{{Type: types.RecordTypeA, TTL: aws.Int64(10)}}},
		HealthCheckCustomConfig: &types.HealthCheckCustomConfig{},
	})
	if err != nil {
		t.Fatal(err)
	}
	srvID := aws.ToString(svc.Service.Id)
	if svc.Service.DnsConfig.RoutingPolicy != types.RoutingPolicyMultivalue || aws.ToString(svc.Service.Arn) != sdstate.ServiceARN(testRegion, testAccount, srvID) {
		t.Fatalf("service: %+v", svc.Service)
	}
	// The same name again is refused, naming the existing one.
	_, err = e.client.CreateService(ctx, &sdk.CreateServiceInput{Name: aws.String("API"), NamespaceId: aws.String(nsID),
		DnsConfig: &types.DnsConfig{DnsRecords: []types.DnsRecord{{Type: types.RecordTypeA, TTL: aws.Int64(10)}}}})
	var exists *types.ServiceAlreadyExists
	if !errors.As(err, &exists) || aws.ToString(exists.ServiceId) != srvID {
		t.Fatalf("duplicate service: %v", err)
	}
	// The namespace is in use.
	if _, err := e.client.DeleteNamespace(ctx, &sdk.DeleteNamespaceInput{Id: aws.String(nsID)}); errCode(err) != "ResourceInUse" {
		t.Fatalf("delete namespace in use: %v", err)
	}

	e.register(srvID, "a", "10.20.0.10", nil)
	e.register(srvID, "b", "10.20.0.11", map[string]string{"version": "2"})
	// An A record needs an address.
	if _, err := e.client.RegisterInstance(ctx, &sdk.RegisterInstanceInput{ServiceId: aws.String(srvID), InstanceId: aws.String("c"),
		Attributes: map[string]string{"AWS_INSTANCE_PORT": "80"}}); errCode(err) != "InvalidInput" {
		t.Fatalf("register without address: %v", err)
	}

	discover := func(health types.HealthStatusFilter, query map[string]string) []string {
		t.Helper()
		out, err := e.client.DiscoverInstances(ctx, &sdk.DiscoverInstancesInput{NamespaceName: aws.String("services.internal"),
			ServiceName: aws.String("api"), HealthStatus: health, QueryParameters: query})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, i := range out.Instances {
			ids = append(ids, aws.ToString(i.InstanceId))
		}
		slices.Sort(ids)
		return ids
	}
	if got := discover(types.HealthStatusFilterHealthy, nil); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("discover healthy: %v", got)
	}
	if got := discover(types.HealthStatusFilterAll, map[string]string{"version": "2"}); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("discover by attribute: %v", got)
	}

	// A custom status takes effect 30 seconds after it is asked.
	if _, err := e.client.UpdateInstanceCustomHealthStatus(ctx, &sdk.UpdateInstanceCustomHealthStatusInput{ServiceId: aws.String(srvID),
		InstanceId: aws.String("a"), Status: types.CustomHealthStatusUnhealthy}); err != nil {
		t.Fatal(err)
	}
	health := func() map[string]types.HealthStatus {
		out, err := e.client.GetInstancesHealthStatus(ctx, &sdk.GetInstancesHealthStatusInput{ServiceId: aws.String(srvID)})
		if err != nil {
			t.Fatal(err)
		}
		return out.Status
	}
	if h := health(); h["a"] != "HEALTHY" {
		t.Fatalf("health before the delay: %v", h)
	}
	e.advance(sdstate.CustomHealthDelay)
	deadline := time.Now().Add(5 * time.Second)
	for health()["a"] != "UNHEALTHY" {
		if time.Now().After(deadline) {
			t.Fatalf("health after the delay: %v", health())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := discover(types.HealthStatusFilterHealthy, nil); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("discover healthy: %v", got)
	}
	if got := discover(types.HealthStatusFilterUnhealthy, nil); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("discover unhealthy: %v", got)
	}

	// Deregistering, then deleting the service and the namespace.
	before, err := e.client.DiscoverInstancesRevision(ctx, &sdk.DiscoverInstancesRevisionInput{NamespaceName: aws.String("services.internal"), ServiceName: aws.String("api")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeleteService(ctx, &sdk.DeleteServiceInput{Id: aws.String(srvID)}); errCode(err) != "ResourceInUse" {
		t.Fatalf("delete service with instances: %v", err)
	}
	for _, id := range []string{"a", "b"} {
		out, err := e.client.DeregisterInstance(ctx, &sdk.DeregisterInstanceInput{ServiceId: aws.String(srvID), InstanceId: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		if op := e.await(out.OperationId); op.Status != types.OperationStatusSuccess {
			t.Fatalf("deregister: %+v", op)
		}
	}
	after, err := e.client.DiscoverInstancesRevision(ctx, &sdk.DiscoverInstancesRevisionInput{NamespaceName: aws.String("services.internal"), ServiceName: aws.String("api")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt64(after.InstancesRevision) <= aws.ToInt64(before.InstancesRevision) {
		t.Fatalf("revision %d after %d", aws.ToInt64(after.InstancesRevision), aws.ToInt64(before.InstancesRevision))
	}
	if _, err := e.client.DeleteService(ctx, &sdk.DeleteServiceInput{Id: aws.String(srvID)}); err != nil {
		t.Fatal(err)
	}
	del, err := e.client.DeleteNamespace(ctx, &sdk.DeleteNamespaceInput{Id: aws.String(nsID)})
	if err != nil {
		t.Fatal(err)
	}
	if op := e.await(del.OperationId); op.Status != types.OperationStatusSuccess {
		t.Fatalf("delete namespace: %+v", op)
	}
	if _, err := e.client.GetNamespace(ctx, &sdk.GetNamespaceInput{Id: aws.String(nsID)}); errCode(err) != "NamespaceNotFound" {
		t.Fatalf("deleted namespace: %v", err)
	}
}

func TestNamespaceNames(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.namespace("example.internal")
	_, err := e.client.CreatePrivateDnsNamespace(ctx, &sdk.CreatePrivateDnsNamespaceInput{Name: aws.String("example.internal"), Vpc: aws.String(testVPC)})
	var exists *types.NamespaceAlreadyExists
	if !errors.As(err, &exists) || exists.NamespaceId == nil {
		t.Fatalf("same name in the same VPC: %v", err)
	}
	if _, err := e.client.CreatePrivateDnsNamespace(ctx, &sdk.CreatePrivateDnsNamespaceInput{Name: aws.String("x.internal"), Vpc: aws.String("vpc-00000000000000000")}); errCode(err) != "InvalidInput" {
		t.Fatalf("unknown VPC: %v", err)
	}
	if _, err := e.client.CreatePrivateDnsNamespace(ctx, &sdk.CreatePrivateDnsNamespaceInput{Name: aws.String("bad..name"), Vpc: aws.String(testVPC)}); errCode(err) != "InvalidInput" {
		t.Fatalf("bad name: %v", err)
	}
	http, err := e.client.CreateHttpNamespace(ctx, &sdk.CreateHttpNamespaceInput{Name: aws.String("apis"), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}}})
	if err != nil {
		t.Fatal(err)
	}
	e.await(http.OperationId)
	list, err := e.client.ListNamespaces(ctx, &sdk.ListNamespacesInput{Filters: []types.NamespaceFilter{{Name: types.NamespaceFilterNameType, Values: []string{"HTTP"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Namespaces) != 1 || aws.ToString(list.Namespaces[0].Name) != "apis" {
		t.Fatalf("list by type: %+v", list.Namespaces)
	}
	tags, err := e.client.ListTagsForResource(ctx, &sdk.ListTagsForResourceInput{ResourceARN: list.Namespaces[0].Arn})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "team" {
		t.Fatalf("tags: %+v %v", tags, err)
	}
	// An HTTP namespace's services have no DNS records.
	if _, err := e.client.CreateService(ctx, &sdk.CreateServiceInput{Name: aws.String("x"), NamespaceId: list.Namespaces[0].Id,
		DnsConfig: &types.DnsConfig{DnsRecords: []types.DnsRecord{{Type: types.RecordTypeA, TTL: aws.Int64(10)}}}}); errCode(err) != "InvalidInput" {
		t.Fatalf("DNS service in an HTTP namespace: %v", err)
	}
	// A retry of a request (its CreatorRequestId) gets the first one's
	// operation, and makes no second namespace.
	first, err := e.client.CreateHttpNamespace(ctx, &sdk.CreateHttpNamespaceInput{Name: aws.String("retried"), CreatorRequestId: aws.String("req-1")})
	if err != nil {
		t.Fatal(err)
	}
	e.await(first.OperationId)
	again, err := e.client.CreateHttpNamespace(ctx, &sdk.CreateHttpNamespaceInput{Name: aws.String("retried"), CreatorRequestId: aws.String("req-1")})
	if err != nil || aws.ToString(again.OperationId) != aws.ToString(first.OperationId) {
		t.Fatalf("retried create: %v %v, want operation %s", again, err, aws.ToString(first.OperationId))
	}
	ops, err := e.client.ListOperations(ctx, &sdk.ListOperationsInput{Filters: []types.OperationFilter{{Name: types.OperationFilterNameType, Values: []string{"CREATE_NAMESPACE"}}}})
	if err != nil || len(ops.Operations) != 3 {
		t.Fatalf("operations: %+v %v", ops, err)
	}
}
