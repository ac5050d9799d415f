package ecs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/gateway"
	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/store/bolt"
)

const (
	apiTestRegion  = "us-east-1"
	apiTestAccount = "123456789012"
	apiTestKey     = "AKIDECSAPITEST"
	apiTestSecret  = "ecs-api-test-secret"
)

type apiTestKeys struct{}

func (apiTestKeys) Secret(id string) (string, string, bool) {
	return apiTestSecret, apiTestAccount, id == apiTestKey
}

// apiTestEnv is the ECS API served through the gateway with the real SDK
// client pointed at it, plus the service itself for direct calls.
type apiTestEnv struct {
	t      *testing.T
	ctx    context.Context
	client *sdk.Client
	svc    *awsapi.Service
	store  *bolt.Store
	arns   ecsstate.ARNs
	clock  time.Time
	// wire holds the body of the last response the client received.
	wire *wireRecorder
}

// wireRecorder is an HTTP transport that keeps the last response body, to
// compare the JSON on the wire with ECS's.
type wireRecorder struct {
	mu   sync.Mutex
	last []byte
}

func (w *wireRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	w.last = body
	w.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

func (w *wireRecorder) lastBody() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

func newAPITestEnv(t *testing.T) *apiTestEnv {
	t.Helper()
	return newConfiguredAPITestEnv(t, nil)
}

// newConfiguredAPITestEnv is newAPITestEnv with configure applied to the
// service's Config.
func newConfiguredAPITestEnv(t *testing.T, configure func(*Config)) *apiTestEnv {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	seedNetworks(t, st, apiTestRegion, "eu-central-1")
	e := &apiTestEnv{t: t, ctx: awsapi.WithRequest(context.Background(), &awsapi.RequestInfo{Region: apiTestRegion}), store: st,
		arns:  ecsstate.ARNs{Region: apiTestRegion, Account: apiTestAccount},
		clock: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), wire: &wireRecorder{}}
	cfg := Config{
		Store:     st,
		AccountID: apiTestAccount,
		Now:       func() time.Time { return e.clock },
		Logger:    slog.New(slog.DiscardHandler),
	}
	if configure != nil {
		configure(&cfg)
	}
	e.svc = NewService(cfg)
	gw, err := gateway.New(gateway.Config{
		Region:      apiTestRegion,
		AccountID:   apiTestAccount,
		Credentials: apiTestKeys{},
		Services:    []*awsapi.Service{e.svc},
		Logger:      slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	e.client = sdk.New(sdk.Options{
		Region:       apiTestRegion,
		BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: apiTestKey, SecretAccessKey: apiTestSecret}, nil
		}),
		RetryMaxAttempts: 1,
		HTTPClient:       &http.Client{Transport: e.wire},
	})
	return e
}

// call runs an operation directly, as the gateway does after decoding.
func apiCall[Out any](e *apiTestEnv, op string, in any) (*Out, error) {
	e.t.Helper()
	o, ok := e.svc.Operations[op]
	if !ok {
		e.t.Fatalf("operation %s not implemented", op)
	}
	out, err := o.Call(e.ctx, in)
	if err != nil {
		return nil, err
	}
	return out.(*Out), nil
}

func (e *apiTestEnv) putNode(n ecsstate.Node) {
	e.t.Helper()
	if _, err := store.Update(e.ctx, e.store, ecsstate.NodeKey(n.ID), func(v *ecsstate.Node, _ bool) error {
		*v = n
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *apiTestEnv) putTask(task ecsstate.Task) {
	e.t.Helper()
	if _, err := store.Update(e.ctx, e.store, task.Key(), func(v *ecsstate.Task, _ bool) error {
		*v = task
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
}

// wantAPIErr checks an SDK error's code and message.
func wantAPIErr(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae interface {
		ErrorCode() string
		ErrorMessage() string
	}
	if !errors.As(err, &ae) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if ae.ErrorCode() != code || (msg != "" && ae.ErrorMessage() != msg) {
		t.Fatalf("got %s: %q\nwant %s: %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}

// TestCreateClusterArticle is the article's create-cluster command.
func TestCreateClusterArticle(t *testing.T) {
	e := newAPITestEnv(t)
	// aws ecs create-cluster --cluster-name prod-cluster --capacity-providers FARGATE FARGATE_SPOT
	//   --default-capacity-provider-strategy capacityProvider=FARGATE,weight=1,base=1 capacityProvider=FARGATE_SPOT,weight=3
	//   --settings name=containerInsights,value=enabled
	out, err := e.client.CreateCluster(e.ctx, &sdk.CreateClusterInput{
		ClusterName:       aws.String("prod-cluster"),
		CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"},
		DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{
			{CapacityProvider: aws.String("FARGATE"), Weight: 1, Base: 1},
			{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 3},
		},
		Settings: []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("enabled")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Cluster
	if aws.ToString(c.ClusterArn) != "arn:aws:ecs:us-east-1:123456789012:cluster/prod-cluster" || aws.ToString(c.ClusterName) != "prod-cluster" ||
		aws.ToString(c.Status) != "ACTIVE" || c.RunningTasksCount != 0 || c.PendingTasksCount != 0 || c.ActiveServicesCount != 0 ||
		c.RegisteredContainerInstancesCount != 0 {
		t.Fatalf("cluster: %+v", c)
	}
	if fmt.Sprint(c.CapacityProviders) != "[FARGATE FARGATE_SPOT]" {
		t.Fatalf("capacity providers %v", c.CapacityProviders)
	}
	strategy := fmt.Sprint(strategyString(c.DefaultCapacityProviderStrategy))
	if strategy != "[FARGATE/1/1 FARGATE_SPOT/3/0]" {
		t.Fatalf("strategy %s", strategy)
	}
	if len(c.Settings) != 1 || c.Settings[0].Name != types.ClusterSettingNameContainerInsights || aws.ToString(c.Settings[0].Value) != "enabled" {
		t.Fatalf("settings %+v", c.Settings)
	}

	// Creating it again returns it unchanged, even with other parameters.
	again, err := e.client.CreateCluster(e.ctx, &sdk.CreateClusterInput{ClusterName: aws.String("prod-cluster")})
	if err != nil || fmt.Sprint(again.Cluster.CapacityProviders) != "[FARGATE FARGATE_SPOT]" || aws.ToString(again.Cluster.Settings[0].Value) != "enabled" {
		t.Fatalf("create again: %+v %v", again, err)
	}

	// describe-clusters returns settings only when asked, tags likewise.
	desc, err := e.client.DescribeClusters(e.ctx, &sdk.DescribeClustersInput{Clusters: []string{"prod-cluster"}})
	if err != nil || len(desc.Clusters) != 1 || len(desc.Clusters[0].Settings) != 0 || len(desc.Failures) != 0 ||
		strategyString(desc.Clusters[0].DefaultCapacityProviderStrategy)[1] != "FARGATE_SPOT/3/0" {
		t.Fatalf("describe: %+v %v", desc, err)
	}
	desc, err = e.client.DescribeClusters(e.ctx, &sdk.DescribeClustersInput{
		Clusters: []string{"arn:aws:ecs:us-east-1:123456789012:cluster/prod-cluster", "nope"},
		Include:  []types.ClusterField{types.ClusterFieldSettings, types.ClusterFieldStatistics},
	})
	if err != nil || len(desc.Clusters) != 1 || aws.ToString(desc.Clusters[0].Settings[0].Value) != "enabled" || len(desc.Clusters[0].Statistics) != 8 {
		t.Fatalf("describe with settings: %+v %v", desc, err)
	}
	if len(desc.Failures) != 1 || aws.ToString(desc.Failures[0].Arn) != "arn:aws:ecs:us-east-1:123456789012:cluster/nope" || aws.ToString(desc.Failures[0].Reason) != "MISSING" {
		t.Fatalf("failures %+v", desc.Failures)
	}
}

func strategyString(items []types.CapacityProviderStrategyItem) []string {
	var out []string
	for _, i := range items {
		out = append(out, fmt.Sprintf("%s/%d/%d", aws.ToString(i.CapacityProvider), i.Weight, i.Base))
	}
	return out
}

func TestClusterErrors(t *testing.T) {
	e := newAPITestEnv(t)
	ctx := e.ctx
	cases := []struct {
		name string
		in   *sdk.CreateClusterInput
		code string
		msg  string
	}{
		{"bad name", &sdk.CreateClusterInput{ClusterName: aws.String("prod cluster")}, "InvalidParameterException",
			"Cluster name must be 1-255 characters long and may contain only letters, numbers, underscores and hyphens."},
		{"unknown provider", &sdk.CreateClusterInput{ClusterName: aws.String("c"), CapacityProviders: []string{"my-asg"}}, "InvalidParameterException",
			"The specified capacity provider 'my-asg' is not in an ACTIVE state. Specify a valid capacity provider and try again."},
		{"strategy provider not associated", &sdk.CreateClusterInput{ClusterName: aws.String("c"), CapacityProviders: []string{"FARGATE"},
			DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 1}}},
			"InvalidParameterException", "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again."},
		{"two bases", &sdk.CreateClusterInput{ClusterName: aws.String("c"), CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"},
			DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE"), Weight: 1, Base: 1}, {CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 1, Base: 2}}},
			"InvalidParameterException", "Only one capacity provider in a capacity provider strategy can have a base defined."},
		{"all weights 0", &sdk.CreateClusterInput{ClusterName: aws.String("c"), CapacityProviders: []string{"FARGATE"},
			DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE"), Base: 1}}},
			"InvalidParameterException", "At least one capacity provider in a capacity provider strategy must have a weight greater than zero."},
		{"bad setting value", &sdk.CreateClusterInput{ClusterName: aws.String("c"),
			Settings: []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("on")}}},
			"InvalidParameterException", "Invalid value 'on' for setting containerInsights. Valid values are enabled, disabled and enhanced."},
		{"aws: tag", &sdk.CreateClusterInput{ClusterName: aws.String("c"), Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("y")}}},
			"InvalidParameterException", "Tag keys beginning with 'aws:' are reserved for AWS use."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.client.CreateCluster(ctx, tc.in)
			wantAPIErr(t, err, tc.code, tc.msg)
		})
	}
	// The weight limit is in the model: the gateway rejects it.
	_, err := e.client.CreateCluster(ctx, &sdk.CreateClusterInput{ClusterName: aws.String("c"), CapacityProviders: []string{"FARGATE"},
		DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE"), Weight: 1001}}})
	wantAPIErr(t, err, "InvalidParameterException", "")

	for _, call := range []func() error{
		func() error {
			_, err := e.client.UpdateClusterSettings(ctx, &sdk.UpdateClusterSettingsInput{Cluster: aws.String("nope"),
				Settings: []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("enabled")}}})
			return err
		},
		func() error {
			_, err := e.client.DeleteCluster(ctx, &sdk.DeleteClusterInput{Cluster: aws.String("nope")})
			return err
		},
		func() error {
			_, err := e.client.PutClusterCapacityProviders(ctx, &sdk.PutClusterCapacityProvidersInput{Cluster: aws.String("nope"),
				CapacityProviders: []string{}, DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{}})
			return err
		},
	} {
		wantAPIErr(t, call(), "ClusterNotFoundException", "Cluster not found.")
	}
}

func TestClusterLifecycle(t *testing.T) {
	e := newAPITestEnv(t)
	ctx := e.ctx
	// Without a name the cluster is "default", with Container Insights off.
	def, err := e.client.CreateCluster(ctx, &sdk.CreateClusterInput{Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}}})
	if err != nil || aws.ToString(def.Cluster.ClusterName) != "default" || aws.ToString(def.Cluster.Settings[0].Value) != "disabled" ||
		len(def.Cluster.Tags) != 1 || len(def.Cluster.CapacityProviders) != 0 {
		t.Fatalf("default cluster: %+v %v", def, err)
	}
	for _, name := range []string{"b-cluster", "a-cluster", "c-cluster"} {
		if _, err := e.client.CreateCluster(ctx, &sdk.CreateClusterInput{ClusterName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
	}

	// update-cluster-settings and update-cluster merge settings.
	up, err := e.client.UpdateClusterSettings(ctx, &sdk.UpdateClusterSettingsInput{Cluster: aws.String("a-cluster"),
		Settings: []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("enhanced")}}})
	if err != nil || len(up.Cluster.Settings) != 1 || aws.ToString(up.Cluster.Settings[0].Value) != "enhanced" {
		t.Fatalf("update settings: %+v %v", up, err)
	}
	uc, err := e.client.UpdateCluster(ctx, &sdk.UpdateClusterInput{Cluster: aws.String("a-cluster"),
		Configuration:          &types.ClusterConfiguration{ExecuteCommandConfiguration: &types.ExecuteCommandConfiguration{Logging: types.ExecuteCommandLoggingDefault}},
		ServiceConnectDefaults: &types.ClusterServiceConnectDefaultsRequest{Namespace: aws.String("services.internal")}})
	if err != nil || uc.Cluster.Configuration == nil || uc.Cluster.Configuration.ExecuteCommandConfiguration.Logging != types.ExecuteCommandLoggingDefault ||
		aws.ToString(uc.Cluster.ServiceConnectDefaults.Namespace) != "services.internal" || aws.ToString(uc.Cluster.Settings[0].Value) != "enhanced" {
		t.Fatalf("update cluster: %+v %v", uc, err)
	}

	// put-cluster-capacity-providers replaces the list and the strategy.
	pc, err := e.client.PutClusterCapacityProviders(ctx, &sdk.PutClusterCapacityProvidersInput{Cluster: aws.String("a-cluster"),
		CapacityProviders:               []string{"FARGATE_SPOT"},
		DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 2}}})
	if err != nil || fmt.Sprint(pc.Cluster.CapacityProviders) != "[FARGATE_SPOT]" || fmt.Sprint(strategyString(pc.Cluster.DefaultCapacityProviderStrategy)) != "[FARGATE_SPOT/2/0]" {
		t.Fatalf("put providers: %+v %v", pc, err)
	}

	// list-clusters pages through ACTIVE clusters in name order.
	var listed []string
	var token *string
	for {
		page, err := e.client.ListClusters(ctx, &sdk.ListClustersInput{MaxResults: aws.Int32(3), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, page.ClusterArns...)
		if token = page.NextToken; token == nil {
			break
		}
		if len(page.ClusterArns) != 3 {
			t.Fatalf("page %v", page.ClusterArns)
		}
	}
	if fmt.Sprint(listed) != "[arn:aws:ecs:us-east-1:123456789012:cluster/a-cluster arn:aws:ecs:us-east-1:123456789012:cluster/b-cluster arn:aws:ecs:us-east-1:123456789012:cluster/c-cluster arn:aws:ecs:us-east-1:123456789012:cluster/default]" {
		t.Fatalf("listed %v", listed)
	}
	_, err = e.client.ListClusters(ctx, &sdk.ListClustersInput{MaxResults: aws.Int32(101)})
	wantAPIErr(t, err, "InvalidParameterException", "")

	// A task that is not STOPPED holds the cluster; so does an instance
	// registered to it, but not the all-clusters node.
	task := ecsstate.Task{Region: apiTestRegion, ID: "0123456789abcdef0123456789abcdef", Cluster: "b-cluster", Spec: ecsstate.TaskSpec{LaunchType: "FARGATE"},
		Observed: ecsstate.TaskStatus{LastStatus: "RUNNING"}}
	e.putTask(task)
	e.putNode(ecsstate.Node{ID: "ffffffffffffffffffffffffffffffff", Clusters: []string{"*"}, LaunchTypes: []string{"FARGATE", "EC2"}, Status: "ACTIVE"})
	_, err = e.client.DeleteCluster(ctx, &sdk.DeleteClusterInput{Cluster: aws.String("b-cluster")})
	wantAPIErr(t, err, "ClusterContainsTasksException", "The Cluster cannot be deleted while Tasks are active.")
	task.Observed.LastStatus = "STOPPED"
	e.putTask(task)
	e.putNode(ecsstate.Node{ID: "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", Clusters: []string{"b-cluster"}, LaunchTypes: []string{"EC2"}, Status: "ACTIVE"})
	_, err = e.client.DeleteCluster(ctx, &sdk.DeleteClusterInput{Cluster: aws.String("b-cluster")})
	wantAPIErr(t, err, "ClusterContainsContainerInstancesException", "The Cluster cannot be deleted while Container Instances are active or draining.")

	del, err := e.client.DeleteCluster(ctx, &sdk.DeleteClusterInput{Cluster: aws.String("arn:aws:ecs:us-east-1:123456789012:cluster/c-cluster")})
	if err != nil || aws.ToString(del.Cluster.Status) != "INACTIVE" || del.Cluster.RegisteredContainerInstancesCount != 0 {
		t.Fatalf("delete: %+v %v", del, err)
	}
	// An INACTIVE cluster stays describable, with no container instance
	// (the all-clusters node serves ACTIVE clusters), but is not listed,
	// and most calls treat it as missing.
	desc, err := e.client.DescribeClusters(ctx, &sdk.DescribeClustersInput{Clusters: []string{"c-cluster"}})
	if err != nil || len(desc.Clusters) != 1 || aws.ToString(desc.Clusters[0].Status) != "INACTIVE" ||
		desc.Clusters[0].RegisteredContainerInstancesCount != 0 || desc.Clusters[0].RunningTasksCount != 0 || desc.Clusters[0].ActiveServicesCount != 0 {
		t.Fatalf("describe inactive: %+v %v", desc, err)
	}
	all, err := e.client.ListClusters(ctx, &sdk.ListClustersInput{})
	if err != nil || len(all.ClusterArns) != 3 {
		t.Fatalf("list after delete: %v %v", all, err)
	}
	_, err = e.client.DeleteCluster(ctx, &sdk.DeleteClusterInput{Cluster: aws.String("c-cluster")})
	wantAPIErr(t, err, "ClusterNotFoundException", "Cluster not found.")
	// Creating the name again makes a fresh ACTIVE cluster.
	re, err := e.client.CreateCluster(ctx, &sdk.CreateClusterInput{ClusterName: aws.String("c-cluster")})
	if err != nil || aws.ToString(re.Cluster.Status) != "ACTIVE" {
		t.Fatalf("re-create: %+v %v", re, err)
	}
}

// TestClusterCounts checks the counts DescribeClusters derives from tasks
// and nodes.
func TestClusterCounts(t *testing.T) {
	e := newAPITestEnv(t)
	if _, err := e.client.CreateCluster(e.ctx, &sdk.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	statuses := []struct {
		id, launchType, last string
	}{
		{"1", "FARGATE", "RUNNING"}, {"2", "FARGATE", "RUNNING"}, {"3", "EC2", "RUNNING"},
		{"4", "FARGATE", ""}, {"5", "EC2", "PENDING"}, {"6", "FARGATE", "ACTIVATING"},
		{"7", "FARGATE", "STOPPED"}, {"8", "FARGATE", "DEACTIVATING"},
	}
	for _, s := range statuses {
		e.putTask(ecsstate.Task{Region: apiTestRegion, ID: fmt.Sprintf("%032s", s.id), Cluster: "prod", Spec: ecsstate.TaskSpec{LaunchType: s.launchType},
			Observed: ecsstate.TaskStatus{LastStatus: s.last}})
	}
	e.putTask(ecsstate.Task{Region: apiTestRegion, ID: fmt.Sprintf("%032s", "9"), Cluster: "other", Observed: ecsstate.TaskStatus{LastStatus: "RUNNING"}})
	e.putNode(ecsstate.Node{ID: "a0000000000000000000000000000000", Clusters: []string{"*"}, LaunchTypes: []string{"FARGATE", "EC2"}})
	e.putNode(ecsstate.Node{ID: "b0000000000000000000000000000000", Clusters: []string{"prod"}, LaunchTypes: []string{"EC2"}})
	e.putNode(ecsstate.Node{ID: "c0000000000000000000000000000000", Clusters: []string{"other"}, LaunchTypes: []string{"EC2"}})
	e.putNode(ecsstate.Node{ID: "d0000000000000000000000000000000", Clusters: []string{"*"}, LaunchTypes: []string{"FARGATE"}})
	out, err := e.client.DescribeClusters(e.ctx, &sdk.DescribeClustersInput{Clusters: []string{"prod"},
		Include: []types.ClusterField{types.ClusterFieldStatistics, types.ClusterFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Clusters[0]
	if c.RunningTasksCount != 3 || c.PendingTasksCount != 3 || c.RegisteredContainerInstancesCount != 2 || c.Tags == nil {
		t.Fatalf("counts: running %d pending %d instances %d", c.RunningTasksCount, c.PendingTasksCount, c.RegisteredContainerInstancesCount)
	}
	stats := map[string]string{}
	for _, kv := range c.Statistics {
		stats[aws.ToString(kv.Name)] = aws.ToString(kv.Value)
	}
	if stats["runningFargateTasksCount"] != "2" || stats["runningEC2TasksCount"] != "1" || stats["pendingFargateTasksCount"] != "2" ||
		stats["pendingEC2TasksCount"] != "1" || stats["activeFargateServiceCount"] != "0" {
		t.Fatalf("statistics %v", stats)
	}
}

func TestCheckStrategy(t *testing.T) {
	item := func(name string, weight, base int32) ecstypes.CapacityProviderStrategyItem {
		return ecstypes.CapacityProviderStrategyItem{CapacityProvider: awsapi.String(name), Weight: awsapi.Int32(weight), Base: awsapi.Int32(base)}
	}
	both := []string{"FARGATE", "FARGATE_SPOT"}
	cases := []struct {
		name     string
		strategy []ecstypes.CapacityProviderStrategyItem
		ok       bool
	}{
		{"empty", nil, true},
		{"article", []ecstypes.CapacityProviderStrategyItem{item("FARGATE", 1, 1), item("FARGATE_SPOT", 3, 0)}, true},
		{"weight 1000", []ecstypes.CapacityProviderStrategyItem{item("FARGATE", 1000, 0)}, true},
		{"weight 1001", []ecstypes.CapacityProviderStrategyItem{item("FARGATE", 1001, 0)}, false},
		{"negative weight", []ecstypes.CapacityProviderStrategyItem{item("FARGATE", -1, 0)}, false},
		{"base 100000", []ecstypes.CapacityProviderStrategyItem{item("FARGATE", 1, 100000)}, true},
		{"base 100001", []ecstypes.CapacityProviderStrategyItem{item("FARGATE", 1, 100001)}, false},
		{"two bases", []ecstypes.CapacityProviderStrategyItem{item("FARGATE", 1, 1), item("FARGATE_SPOT", 1, 1)}, false},
		{"all zero weights", []ecstypes.CapacityProviderStrategyItem{item("FARGATE", 0, 1), item("FARGATE_SPOT", 0, 0)}, false},
		{"one zero weight", []ecstypes.CapacityProviderStrategyItem{item("FARGATE", 0, 1), item("FARGATE_SPOT", 1, 0)}, true},
		{"twice", []ecstypes.CapacityProviderStrategyItem{item("FARGATE", 1, 0), item("FARGATE", 1, 0)}, false},
		{"not associated", []ecstypes.CapacityProviderStrategyItem{item("other", 1, 0)}, false},
	}
	for _, tc := range cases {
		if err := checkStrategy(tc.strategy, both); (err == nil) != tc.ok {
			t.Errorf("%s: got %v", tc.name, err)
		}
	}
}

// A Fargate-only cluster has no container instance from the hosts that
// serve every cluster, as a Fargate-only cluster has none at ECS: they run
// its Fargate tasks, and EC2 tasks there are refused. A cluster that runs
// something on EC2 keeps its hosts when its providers become Fargate's.
func TestFargateOnlyCluster(t *testing.T) {
	e := newAPITestEnv(t)
	// berth's own host: both launch types, every cluster.
	e.putNodeActive(ecsstate.Node{ID: fargateNodeID, Hostname: "server", Clusters: []string{ecsstate.AllClusters},
		LaunchTypes: []string{"FARGATE", "EC2"}, CPU: 8192, MemoryMiB: 16384, Connected: true})
	e.articleCluster()
	e.registerAPIService()
	e.registerBridge("worker", 64, 0)
	if _, err := e.client.CreateCluster(e.ctx, &sdk.CreateClusterInput{ClusterName: aws.String("mixed")}); err != nil {
		t.Fatal(err)
	}
	instances := func(cluster string) (int32, int) {
		t.Helper()
		d, err := e.client.DescribeClusters(e.ctx, &sdk.DescribeClustersInput{Clusters: []string{cluster}})
		if err != nil {
			t.Fatal(err)
		}
		l, err := e.client.ListContainerInstances(e.ctx, &sdk.ListContainerInstancesInput{Cluster: aws.String(cluster)})
		if err != nil {
			t.Fatal(err)
		}
		return d.Clusters[0].RegisteredContainerInstancesCount, len(l.ContainerInstanceArns)
	}
	if n, listed := instances("prod-cluster"); n != 0 || listed != 0 {
		t.Fatalf("Fargate-only cluster: %d registered, %d listed; want none", n, listed)
	}
	if n, listed := instances("mixed"); n != 1 || listed != 1 {
		t.Fatalf("cluster without providers: %d registered, %d listed; want the host", n, listed)
	}
	if out, err := e.client.RunTask(e.ctx, &sdk.RunTaskInput{Cluster: aws.String("prod-cluster"), TaskDefinition: aws.String("api-service"), NetworkConfiguration: awsvpcNetwork}); err != nil || len(out.Tasks) != 1 {
		t.Fatalf("a Fargate task in the Fargate-only cluster: %+v %v", out, err)
	}
	_, err := e.client.RunTask(e.ctx, &sdk.RunTaskInput{Cluster: aws.String("prod-cluster"), TaskDefinition: aws.String("worker"), LaunchType: types.LaunchTypeEc2})
	wantAPIErr(t, err, "InvalidParameterException", "No Container Instances were found in your cluster.")

	// An EC2 task in "mixed" keeps the host when its providers become
	// Fargate's alone.
	if out, err := e.client.RunTask(e.ctx, &sdk.RunTaskInput{Cluster: aws.String("mixed"), TaskDefinition: aws.String("worker"), LaunchType: types.LaunchTypeEc2}); err != nil || len(out.Tasks) != 1 {
		t.Fatalf("an EC2 task: %+v %v", out, err)
	}
	if _, err := e.client.PutClusterCapacityProviders(e.ctx, &sdk.PutClusterCapacityProvidersInput{Cluster: aws.String("mixed"),
		CapacityProviders: []string{"FARGATE"}, DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{}}); err != nil {
		t.Fatal(err)
	}
	if n, _ := instances("mixed"); n != 1 {
		t.Fatalf("a cluster running an EC2 task lost its host: %d registered", n)
	}
}

// The subnets and security groups the tests' awsvpc configurations name,
// in one VPC of each region seedNetworks seeds.
var (
	testSubnets = []string{"subnet-private-1a", "subnet-private-1b", "subnet-1", "subnet-a", "subnet-x"}
	testGroups  = []string{"sg-api", "a", "b", "c", "d", "e", "f"}
)

// seedNetworks writes the EC2 records of testSubnets and testGroups in the
// regions, as the EC2 API would have made them.
func seedNetworks(t testing.TB, st store.Store, regions ...string) {
	t.Helper()
	var ops []store.Op
	put := func(key string, v any) {
		op, err := store.PutJSON(key, v)
		if err != nil {
			t.Fatal(err)
		}
		ops = append(ops, op)
	}
	for _, region := range regions {
		put(ec2state.VPCKey(region, "vpc-test"), ec2state.VPC{Region: region, ID: "vpc-test", CIDR: "10.0.0.0/16", DefaultGroupID: "sg-api"})
		for i, id := range testSubnets {
			put(ec2state.SubnetKey(region, id), ec2state.Subnet{Region: region, ID: id, VPCID: "vpc-test", CIDR: fmt.Sprintf("10.0.%d.0/24", i+1), AvailabilityZone: region + "a"})
		}
		for _, id := range testGroups {
			put(ec2state.GroupKey(region, id), ec2state.SecurityGroup{Region: region, ID: id, VPCID: "vpc-test"})
		}
	}
	if _, err := st.Txn(context.Background(), store.Txn{Then: ops}); err != nil {
		t.Fatal(err)
	}
}
