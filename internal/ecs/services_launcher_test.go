package ecs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/scheduler"
	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/store/bolt"
)

func (e *apiTestEnv) launcher() *Launcher {
	return NewLauncher(Config{Store: e.store, AccountID: apiTestAccount,
		Now: func() time.Time { return e.clock }, Logger: slog.New(slog.DiscardHandler)})
}

// ec2Nodes registers n EC2 container instances of every cluster, and of
// the article's Fargate-only prod-cluster by name (the hosts of every
// cluster are not its instances).
func (e *apiTestEnv) ec2Nodes(n int, memoryMiB int32) []string {
	var ids []string
	for i := range n {
		id := fmt.Sprintf("%032x", i+1)
		e.putNodeActive(ecsstate.Node{ID: id, Hostname: id, Clusters: []string{ecsstate.AllClusters, "prod-cluster"},
			LaunchTypes: []string{"EC2"}, CPU: 4096, MemoryMiB: memoryMiB, Connected: true})
		ids = append(ids, id)
	}
	return ids
}

func providerCountsOf(tasks []ecsstate.Task) map[string]int {
	counts := map[string]int{}
	for _, t := range tasks {
		counts[t.Spec.CapacityProviderName]++
	}
	return counts
}

func TestLaunchServiceTasksFargateSplit(t *testing.T) {
	e := newAPITestEnv(t)
	e.articleCluster()
	tdARN := e.registerAPIService()
	e.fargateNode(true)
	e.createArticleService(4)
	svc := e.serviceRecord("prod-cluster", "api-service")
	dep := svc.Primary()
	l := e.launcher()

	items := []scheduler.Item{{Provider: "FARGATE", Base: 1, Weight: 1}, {Provider: "FARGATE_SPOT", Weight: 3}}
	wantFirst, _ := scheduler.SplitByStrategy(items, nil, 4)
	tasks, failures, err := l.LaunchServiceTasks(e.ctx, &svc, dep, 4, nil)
	if err != nil || len(failures) != 0 || len(tasks) != 4 {
		t.Fatalf("tasks %d failures %+v err %v", len(tasks), failures, err)
	}
	var providers []string
	for _, task := range tasks {
		providers = append(providers, task.Spec.CapacityProviderName)
	}
	if !slices.Equal(providers, wantFirst) {
		t.Fatalf("providers %v, want %v", providers, wantFirst)
	}
	// The article's base 1 then 1:3: one on FARGATE first, then SPOT.
	if providers[0] != "FARGATE" || providers[1] != "FARGATE_SPOT" {
		t.Fatalf("providers %v", providers)
	}

	spec := tasks[0].Spec
	if spec.StartedBy != dep.ID || spec.Group != "service:api-service" || spec.ServiceName != "api-service" ||
		spec.LaunchType != "FARGATE" || spec.PlatformVersion != "1.4.0" || spec.TaskDefinitionARN != tdARN ||
		!spec.EnableExecuteCommand || spec.Network == nil || !slices.Equal(spec.Network.Subnets, []string{"subnet-private-1a"}) ||
		tasks[0].NodeID != fargateNodeID {
		t.Fatalf("spec %+v", spec)
	}
	var tags []string
	for _, tag := range spec.Tags {
		tags = append(tags, awsapi.Deref(tag.Key)+"="+awsapi.Deref(tag.Value))
	}
	if want := []string{"env=prod", "aws:ecs:clusterName=prod-cluster", "aws:ecs:serviceName=api-service"}; !slices.Equal(tags, want) {
		t.Fatalf("tags %v, want %v", tags, want)
	}

	// The tasks are in the store, as DescribeTasks shows them.
	desc, err := e.client.DescribeTasks(e.ctx, &sdk.DescribeTasksInput{Cluster: aws.String("prod-cluster"),
		Tasks: []string{tasks[1].ID}, Include: []types.TaskField{types.TaskFieldTags}})
	if err != nil || len(desc.Tasks) != 1 || aws.ToString(desc.Tasks[0].CapacityProviderName) != "FARGATE_SPOT" ||
		aws.ToString(desc.Tasks[0].StartedBy) != dep.ID || aws.ToString(desc.Tasks[0].Group) != "service:api-service" {
		t.Fatalf("describe %+v %v", desc, err)
	}

	// The next launch continues the split from the tasks there are.
	counts := providerCountsOf(tasks)
	wantNext, _ := scheduler.SplitByStrategy(items, counts, 4)
	more, _, err := l.LaunchServiceTasks(e.ctx, &svc, dep, 4, counts)
	if err != nil || len(more) != 4 {
		t.Fatalf("more %d %v", len(more), err)
	}
	providers = providers[:0]
	for _, task := range more {
		providers = append(providers, task.Spec.CapacityProviderName)
	}
	if !slices.Equal(providers, wantNext) {
		t.Fatalf("next providers %v, want %v", providers, wantNext)
	}
	total := providerCountsOf(append(tasks, more...))
	// The base, then the other 7 as near 1:3 as whole tasks go.
	if total["FARGATE"] != 3 || total["FARGATE_SPOT"] != 5 {
		t.Fatalf("8 tasks split %v", total)
	}
}

func TestLaunchServiceTasksEC2Placement(t *testing.T) {
	e := newAPITestEnv(t)
	e.articleCluster()
	e.registerBridge("worker", 256, 0)
	l := e.launcher()
	if _, err := e.client.CreateService(e.ctx, &sdk.CreateServiceInput{Cluster: aws.String("prod-cluster"), ServiceName: aws.String("worker"),
		TaskDefinition: aws.String("worker"), DesiredCount: aws.Int32(10), LaunchType: types.LaunchTypeEc2,
		PropagateTags: types.PropagateTagsTaskDefinition}); err != nil {
		t.Fatal(err)
	}
	svc := e.serviceRecord("prod-cluster", "worker")
	dep := svc.Primary()

	// No container instance at all: one failure, no task.
	tasks, failures, err := l.LaunchServiceTasks(e.ctx, &svc, dep, 2, nil)
	if err != nil || len(tasks) != 0 || len(failures) != 1 || failures[0].Reason != "No Container Instances were found in your cluster." {
		t.Fatalf("no instances: %v %+v %v", tasks, failures, err)
	}

	// Three instances of 512 MiB hold two 256 MiB tasks each.
	e.ec2Nodes(3, 512)
	tasks, failures, err = l.LaunchServiceTasks(e.ctx, &svc, dep, 10, nil)
	if err != nil || len(tasks) != 6 || len(failures) != 3 {
		t.Fatalf("placed %d failures %+v err %v", len(tasks), failures, err)
	}
	for _, f := range failures {
		if f.Reason != scheduler.ReasonMemory {
			t.Fatalf("failure %+v", f)
		}
	}
	if tasks[0].Spec.LaunchType != "EC2" || tasks[0].Spec.CapacityProviderName != "" || tasks[0].Spec.PlatformVersion != "" {
		t.Fatalf("spec %+v", tasks[0].Spec)
	}
	// Full: a later call (through the reservation cache) places none.
	again, _, err := l.LaunchServiceTasks(e.ctx, &svc, dep, 1, nil)
	if err != nil || len(again) != 0 {
		t.Fatalf("overcommitted: %d %v", len(again), err)
	}
	// A task stops: its room is free again.
	stopped := tasks[0]
	stopped.Observed.LastStatus = ecsstate.StatusStopped
	e.putTask(stopped)
	again, _, err = l.LaunchServiceTasks(e.ctx, &svc, dep, 2, nil)
	if err != nil || len(again) != 1 || again[0].NodeID != stopped.NodeID {
		t.Fatalf("after stop: %+v %v", again, err)
	}
	// RunTask sees the service's tasks too.
	run, err := e.client.RunTask(e.ctx, &sdk.RunTaskInput{Cluster: aws.String("prod-cluster"), TaskDefinition: aws.String("worker"), LaunchType: types.LaunchTypeEc2})
	if err != nil || len(run.Tasks) != 0 || len(run.Failures) != 3 {
		t.Fatalf("run task on full instances: %+v %v", run, err)
	}
}

func TestLaunchServiceTasksDistinctInstance(t *testing.T) {
	e := newAPITestEnv(t)
	e.articleCluster()
	e.registerBridge("worker", 64, 0)
	e.ec2Nodes(3, 4096)
	l := e.launcher()
	if _, err := e.client.CreateService(e.ctx, &sdk.CreateServiceInput{Cluster: aws.String("prod-cluster"), ServiceName: aws.String("spread"),
		TaskDefinition: aws.String("worker"), DesiredCount: aws.Int32(5), LaunchType: types.LaunchTypeEc2,
		PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeDistinctInstance}}}); err != nil {
		t.Fatal(err)
	}
	svc := e.serviceRecord("prod-cluster", "spread")
	tasks, failures, err := l.LaunchServiceTasks(e.ctx, &svc, svc.Primary(), 5, nil)
	if err != nil || len(tasks) != 3 || len(failures) != 3 || failures[0].Reason != scheduler.ReasonDistinctInstance {
		t.Fatalf("placed %d failures %+v err %v", len(tasks), failures, err)
	}
	nodes := map[string]bool{}
	for _, task := range tasks {
		nodes[task.NodeID] = true
	}
	if len(nodes) != 3 {
		t.Fatalf("nodes %v", nodes)
	}
	more, _, err := l.LaunchServiceTasks(e.ctx, &svc, svc.Primary(), 1, nil)
	if err != nil || len(more) != 0 {
		t.Fatalf("a fourth task of the group placed: %+v %v", more, err)
	}
}

func TestLaunchServiceTasksTaskDefinitionStates(t *testing.T) {
	e := newAPITestEnv(t)
	e.articleCluster()
	e.registerAPIService()
	e.fargateNode(true)
	e.createArticleService(1)
	svc := e.serviceRecord("prod-cluster", "api-service")
	l := e.launcher()
	if _, err := e.client.DeregisterTaskDefinition(e.ctx, &sdk.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("api-service:1")}); err != nil {
		t.Fatal(err)
	}
	tasks, _, err := l.LaunchServiceTasks(e.ctx, &svc, svc.Primary(), 1, nil)
	if err != nil || len(tasks) != 1 {
		t.Fatalf("INACTIVE task definition: %d %v", len(tasks), err)
	}
	if _, err := e.client.DeleteTaskDefinitions(e.ctx, &sdk.DeleteTaskDefinitionsInput{TaskDefinitions: []string{"api-service:1"}}); err != nil {
		t.Fatal(err)
	}
	_, _, err = l.LaunchServiceTasks(e.ctx, &svc, svc.Primary(), 1, nil)
	if !errors.Is(err, ErrTaskDefinitionDeleted) {
		t.Fatalf("deleted task definition: %v", err)
	}
}

// BenchmarkLaunchServiceTasks places 20 services of 1,000 tasks each over
// 500 EC2 container instances, 1,000 tasks a call, as the service
// controller does under make bench-scheduler.
func BenchmarkLaunchServiceTasks(b *testing.B) {
	const nodes, services, perService = 500, 20, 1000
	for b.Loop() {
		b.StopTimer()
		ctx := context.Background()
		st, err := bolt.Open(filepath.Join(b.TempDir(), "state.db"), bolt.Options{})
		if err != nil {
			b.Fatal(err)
		}
		cfg := Config{Store: st, AccountID: apiTestAccount, Logger: slog.New(slog.DiscardHandler)}
		api := NewService(cfg)
		call := func(op string, in any) {
			if _, err := api.Operations[op].Call(ctx, in); err != nil {
				b.Fatalf("%s: %v", op, err)
			}
		}
		call("CreateCluster", &ecstypes.CreateClusterRequest{ClusterName: awsapi.String("bench")})
		call("RegisterTaskDefinition", &ecstypes.RegisterTaskDefinitionRequest{Family: awsapi.String("hollow"),
			ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: awsapi.String("app"), Image: awsapi.String("busybox"), Memory: awsapi.Int32(64), Cpu: awsapi.Int32(16)}}})
		var txn store.Txn
		for i := range nodes {
			n := ecsstate.Node{ID: fmt.Sprintf("%032x", i+1), Clusters: []string{"*"}, LaunchTypes: []string{"EC2"},
				CPU: 65536, MemoryMiB: 262144, Status: "ACTIVE", Connected: true}
			op, _ := store.PutJSON(ecsstate.NodeKey(n.ID), n)
			txn.Then = append(txn.Then, op)
		}
		if _, err := st.Txn(ctx, txn); err != nil {
			b.Fatal(err)
		}
		var svcs []ecsstate.Service
		for i := range services {
			name := fmt.Sprintf("svc-%02d", i)
			call("CreateService", &ecstypes.CreateServiceRequest{Cluster: awsapi.String("bench"), ServiceName: awsapi.String(name),
				TaskDefinition: awsapi.String("hollow"), DesiredCount: awsapi.Int32(perService), LaunchType: awsapi.String("EC2"),
				PlacementStrategy: []ecstypes.PlacementStrategy{{Type: awsapi.String("spread"), Field: awsapi.String("instanceId")}}})
			v, err := store.Get[ecsstate.Service](ctx, st, ecsstate.ServiceKey(apiTestRegion, "bench", name))
			if err != nil {
				b.Fatal(err)
			}
			svcs = append(svcs, v.Value)
		}
		l := NewLauncher(cfg)
		b.StartTimer()
		start := time.Now()
		for i := range svcs {
			tasks, failures, err := l.LaunchServiceTasks(ctx, &svcs[i], svcs[i].Primary(), perService, nil)
			if err != nil || len(tasks) != perService {
				b.Fatalf("placed %d, failures %d, %v", len(tasks), len(failures), err)
			}
		}
		b.ReportMetric(float64(services*perService)/time.Since(start).Seconds(), "placements/s")
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
}
