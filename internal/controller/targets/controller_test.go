package targets

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/elbv2/elbv2state"
	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/store/bolt"
)

const region = "us-east-1"

func put(t *testing.T, st store.Store, key string, v any) {
	t.Helper()
	op, err := store.PutJSON(key, v)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Txn(context.Background(), store.Txn{Then: []store.Op{op}}); err != nil {
		t.Fatal(err)
	}
}

// TestTaskTargetsLifecycle walks a service task through its targets' life:
// registered once it runs, healthy when its group says so, drained by its
// stop for the group's delay, and deregistered.
func TestTaskTargetsLifecycle(t *testing.T) {
	ctx := context.Background()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	put(t, st, ec2state.SubnetKey(region, "subnet-1"), ec2state.Subnet{Region: region, ID: "subnet-1", VPCID: "vpc-1", CIDR: "10.0.1.0/24", AvailabilityZone: "us-east-1a"})
	tgARN := elbv2state.TargetGroupARN(region, "123456789012", "api-tg", "0123456789abcdef")
	put(t, st, elbv2state.TargetGroupKey(region, "api-tg"), elbv2state.TargetGroup{
		Region: region, Account: "123456789012", Name: "api-tg", ID: "0123456789abcdef", ARN: tgARN,
		TargetType: "ip", Protocol: "HTTP", Port: 8080, VPCID: "vpc-1",
		Attributes: map[string]string{elbv2state.AttrDeregistrationDelay: "30"},
		UsedBy:     []string{"arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/api-alb/0123456789abcdef/0123456789abcdef"},
	})
	svcKey := ecsstate.ServiceKey(region, "prod", "api")
	put(t, st, svcKey, ecsstate.Service{Name: "api", Region: region, Cluster: "prod", Status: ecsstate.ServiceActive})
	task := ecsstate.Task{
		ID: "0123456789abcdef0123456789abcdef", Region: region, Cluster: "prod", NodeID: "0123456789abcdef0123456789abcdef",
		DesiredStatus: ecsstate.StatusRunning,
		Spec: ecsstate.TaskSpec{
			ServiceName: "api",
			Network:     &ecstypes.AwsVpcConfiguration{Subnets: []string{"subnet-1"}},
			LoadBalancers: []ecstypes.LoadBalancer{{
				TargetGroupArn: awsapi.String(tgARN), ContainerName: awsapi.String("app"), ContainerPort: awsapi.Int32(8080),
			}},
		},
		Observed: ecsstate.TaskStatus{LastStatus: ecsstate.StatusRunning, Network: &ecsstate.NetworkStatus{PrivateIPv4: "10.0.1.15"}},
	}
	put(t, st, task.Key(), task)
	c := New(Config{Store: st, Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler)})
	reconcile := func() ecsstate.Task {
		t.Helper()
		if _, err := c.Reconcile(ctx, task.Key()); err != nil {
			t.Fatal(err)
		}
		got, err := store.Get[ecsstate.Task](ctx, st, task.Key())
		if err != nil {
			t.Fatal(err)
		}
		return got.Value
	}

	got := reconcile()
	if len(got.Targets) != 1 || !got.Targets[0].Registered || got.Targets[0].ID != "10.0.1.15" || got.Targets[0].Port != 8080 ||
		got.Targets[0].DrainDelay != 30*time.Second || got.TargetHealth != "initial" {
		t.Fatalf("after registering: %+v %s", got.Targets, got.TargetHealth)
	}
	regs, _, err := elbv2state.Targets(ctx, st, region, "0123456789abcdef", now)
	if err != nil || len(regs) != 1 || regs[0].Target.ID != "10.0.1.15" {
		t.Fatalf("registrations %+v, %v", regs, err)
	}
	svc, _ := store.Get[ecsstate.Service](ctx, st, svcKey)
	if len(svc.Value.Events) != 1 || *svc.Value.Events[0].Message != "(service api) registered 1 targets in (target-group "+tgARN+")" {
		t.Errorf("events %+v", svc.Value.Events)
	}

	if err := elbv2state.RecordHealth(ctx, st, region, "0123456789abcdef", elbv2state.Target{ID: "10.0.1.15", Port: 8080},
		elbv2state.TargetHealth{State: "healthy", CheckedAt: now}); err != nil {
		t.Fatal(err)
	}
	if got = reconcile(); got.TargetHealth != "healthy" || got.Targets[0].Health != "healthy" {
		t.Errorf("after a healthy check: %+v %s", got.Targets, got.TargetHealth)
	}

	// A stop drains for the group's delay, then deregisters.
	_, err = store.Update(ctx, st, task.Key(), func(tk *ecsstate.Task, _ bool) error {
		tk.RequestStop("ServiceSchedulerInitiated", "Scaling activity", now)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got = reconcile(); !got.DrainUntil.Equal(now.Add(30*time.Second)) || !got.Targets[0].Deregistered {
		t.Errorf("after the stop: drain until %v, targets %+v", got.DrainUntil, got.Targets)
	}
	regs, _, _ = elbv2state.Targets(ctx, st, region, "0123456789abcdef", now)
	if len(regs) != 1 || !regs[0].Draining(now) {
		t.Errorf("registrations after the stop %+v", regs)
	}
	svc, _ = store.Get[ecsstate.Service](ctx, st, svcKey)
	if !strings.Contains(*svc.Value.Events[0].Message, "deregistered 1 targets") {
		t.Errorf("events %+v", svc.Value.Events)
	}
}

func TestFoldHealth(t *testing.T) {
	tt := func(states ...string) []ecsstate.TaskTarget {
		var out []ecsstate.TaskTarget
		for _, s := range states {
			out = append(out, ecsstate.TaskTarget{Health: s})
		}
		return out
	}
	for _, tc := range []struct {
		targets []ecsstate.TaskTarget
		want    string
	}{
		{tt("healthy", "healthy"), "healthy"},
		{tt("healthy", "initial"), "initial"},
		{tt("initial", "unhealthy"), "unhealthy"},
		{tt("draining", "healthy"), "draining"},
		{tt(""), "initial"},
	} {
		if got := foldHealth(tc.targets); got != tc.want {
			t.Errorf("foldHealth(%v) = %s, want %s", tc.targets, got, tc.want)
		}
	}
}
