package elbv2state

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/store/bolt"
)

const (
	region  = "us-east-1"
	account = "123456789012"
)

func openStore(t *testing.T) store.Store {
	t.Helper()
	s, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func put(t *testing.T, s store.Store, key string, v any) {
	t.Helper()
	op, err := store.PutJSON(key, v)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Txn(context.Background(), store.Txn{Then: []store.Op{op}}); err != nil {
		t.Fatal(err)
	}
}

func TestParseARN(t *testing.T) {
	lb := LoadBalancerARN(region, account, "api-alb", "0123456789abcdef")
	lr := Ref{Kind: KindLoadBalancer, Region: region, Account: account, Name: "api-alb", ID: "0123456789abcdef"}
	l := ListenerARN(lr, "1111111111111111")
	lref := lr
	lref.Kind, lref.ListenerID = KindListener, "1111111111111111"
	r := RuleARN(lref, "2222222222222222")
	for _, tc := range []struct {
		arn  string
		want Ref
		ok   bool
	}{
		{lb, lr, true},
		{TargetGroupARN(region, account, "tg", "0123456789abcdef"), Ref{Kind: KindTargetGroup, Region: region, Account: account, Name: "tg", ID: "0123456789abcdef"}, true},
		{l, lref, true},
		{r, Ref{Kind: KindRule, Region: region, Account: account, Name: "api-alb", ID: "0123456789abcdef", ListenerID: "1111111111111111", RuleID: "2222222222222222"}, true},
		{"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/nlb/0123456789abcdef", Ref{}, false},
		{"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/api-alb/0123", Ref{}, false},
		{"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/0123456789ABCDEF", Ref{}, false},
		{"arn:aws:ecs:us-east-1:123456789012:cluster/x", Ref{}, false},
		{"arn:aws:elasticloadbalancing::123456789012:targetgroup/tg/0123456789abcdef", Ref{}, false},
	} {
		got, ok := ParseARN(tc.arn)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s: %+v %v, want %+v %v", tc.arn, got, ok, tc.want, tc.ok)
		}
	}
	ref, _ := ParseARN(r)
	if ref.LoadBalancerARN() != lb || ref.ListenerARN() != l {
		t.Fatalf("rule's parents: %s %s", ref.LoadBalancerARN(), ref.ListenerARN())
	}
}

func TestTxSeesItsWritesAndRetriesLostRaces(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	put(t, s, "elbv2/x/a", Tag{Key: "a", Value: "1"})
	attempts := 0
	err := Run(ctx, s, func(tx *Tx) error {
		attempts++
		v, found, err := Read[Tag](ctx, tx, "elbv2/x/a")
		if err != nil || !found {
			return err
		}
		if attempts == 1 {
			put(t, s, "elbv2/x/a", Tag{Key: "a", Value: "changed"}) // another writer, after the read
		}
		v.Value += "+"
		if err := tx.Put("elbv2/x/a", v); err != nil {
			return err
		}
		if err := tx.Put("elbv2/x/b", Tag{Key: "b"}); err != nil {
			return err
		}
		tx.Delete("elbv2/x/c")
		got, _, _ := Read[Tag](ctx, tx, "elbv2/x/a")
		all, err := ReadAll[Tag](ctx, tx, "elbv2/x/")
		if got.Value != v.Value || len(all) != 2 || all[1].Key != "b" {
			t.Errorf("the round's own writes: %+v %+v", got, all)
		}
		return err
	})
	if err != nil || attempts != 2 {
		t.Fatalf("attempts %d, %v", attempts, err)
	}
	v, _ := store.Get[Tag](ctx, s, "elbv2/x/a")
	if v.Value.Value != "changed+" {
		t.Fatalf("value %q", v.Value.Value)
	}
	// A round that writes nothing commits nothing, whatever changed.
	if err := Run(ctx, s, func(tx *Tx) error {
		_, _, err := Read[Tag](ctx, tx, "elbv2/x/a")
		put(t, s, "elbv2/x/a", Tag{Key: "a"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// fixture is a store with a VPC (10.0.0.0/16) and a subnet of it, an ip
// target group and an instance target group in it, and one berth node.
type fixture struct {
	s        store.Store
	ip, inst TargetGroup
	node     string
	now      time.Time
}

func newFixture(t *testing.T) *fixture {
	s := openStore(t)
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	vpc := ec2state.NewVPC(region, account, "10.0.0.0/16", now)
	put(t, s, ec2state.VPCKey(region, vpc.ID), vpc)
	sub := ec2state.Subnet{Region: region, ID: "subnet-0123456789abcdef0", VPCID: vpc.ID, CIDR: "10.0.1.0/24", AvailabilityZone: "us-east-1a"}
	put(t, s, ec2state.SubnetKey(region, sub.ID), sub)
	f := &fixture{s: s, now: now}
	for _, tg := range []*TargetGroup{&f.ip, &f.inst} {
		id := NewID()
		*tg = TargetGroup{Region: region, Account: account, ID: id, Port: 80, VPCID: vpc.ID, Protocol: "HTTP"}
		tg.Name, tg.TargetType = "ip", TargetTypeIP
		if tg == &f.inst {
			tg.Name, tg.TargetType = "inst", TargetTypeInstance
		}
		tg.ARN = TargetGroupARN(region, account, tg.Name, id)
		put(t, s, TargetGroupKey(region, tg.Name), *tg)
	}
	nodeID := "0123456789abcdef0123456789abcdef"
	put(t, s, ecsstate.NodeKey(nodeID), ecsstate.Node{ID: nodeID, Connected: true})
	f.node = ecsstate.EC2InstanceID(nodeID)
	return f
}

func (f *fixture) targets(t *testing.T, tg TargetGroup) []string {
	t.Helper()
	regs, health, err := Targets(context.Background(), f.s, region, tg.ID, f.now)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range regs {
		s := r.Target.ID + "/" + r.Target.AvailabilityZone
		if r.Draining(f.now) {
			s += " draining"
		}
		if h, ok := health[r.Target.Identity()]; ok {
			s += " " + h.State
		}
		out = append(out, s)
	}
	return out
}

func TestRegisterDeregister(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, b := Target{ID: "10.0.1.5"}, Target{ID: "192.168.0.9", Port: 81, AvailabilityZone: AllZones}
	if err := RegisterTargets(ctx, f.s, region, f.ip.ARN, []Target{a, b, a}, f.now); err != nil {
		t.Fatal(err)
	}
	if got, want := f.targets(t, f.ip), []string{"10.0.1.5/us-east-1a", "192.168.0.9/all"}; !slices.Equal(got, want) {
		t.Fatalf("targets %v, want %v", got, want)
	}
	// Health: recorded, and an unchanged result writes nothing.
	a.Port = 80
	h := TargetHealth{State: HealthHealthy, CheckedAt: f.now}
	if err := RecordHealth(ctx, f.s, region, f.ip.ID, a, h); err != nil {
		t.Fatal(err)
	}
	kv, _, _ := f.s.Get(ctx, HealthKey(region, f.ip.ID, a))
	h.CheckedAt = f.now.Add(time.Minute)
	if err := RecordHealth(ctx, f.s, region, f.ip.ID, a, h); err != nil {
		t.Fatal(err)
	}
	if again, _, _ := f.s.Get(ctx, HealthKey(region, f.ip.ID, a)); again.ModRevision != kv.ModRevision {
		t.Fatal("an unchanged result was written")
	}
	if err := RecordHealth(ctx, f.s, region, f.ip.ID, Target{ID: "10.0.1.6", Port: 80}, h); !errors.Is(err, ErrNotRegistered) {
		t.Fatalf("health of an unknown target: %v", err)
	}
	// Registering again changes nothing, health included.
	if err := RegisterTargets(ctx, f.s, region, f.ip.ARN, []Target{{ID: "10.0.1.5"}}, f.now); err != nil {
		t.Fatal(err)
	}
	if got := f.targets(t, f.ip); got[0] != "10.0.1.5/us-east-1a healthy" {
		t.Fatalf("after registering again: %v", got)
	}
	// Deregistered: draining for the default 300 s.
	if err := DeregisterTargets(ctx, f.s, region, f.ip.ARN, []Target{{ID: "10.0.1.5"}, {ID: "10.0.1.99"}}, f.now); err != nil {
		t.Fatal(err)
	}
	if got := f.targets(t, f.ip); got[0] != "10.0.1.5/us-east-1a draining healthy" {
		t.Fatalf("draining: %v", got)
	}
	f.now = f.now.Add(300 * time.Second)
	if got := f.targets(t, f.ip); !slices.Equal(got, []string{"192.168.0.9/all"}) {
		t.Fatalf("after the drain: %v", got)
	}
	if err := SweepTargets(ctx, f.s, f.now); err != nil {
		t.Fatal(err)
	}
	kvs, _, _ := f.s.List(ctx, Prefix+"health/", store.ListOptions{})
	regs, _, _ := f.s.List(ctx, TargetPrefix, store.ListOptions{})
	if len(kvs) != 0 || len(regs) != 1 {
		t.Fatalf("after the sweep: %d health, %d targets", len(kvs), len(regs))
	}
	// The group deleted under its targets: the sweep removes them.
	if _, err := f.s.Txn(ctx, store.Txn{Then: []store.Op{store.Delete(TargetGroupKey(region, "ip"))}}); err != nil {
		t.Fatal(err)
	}
	if err := SweepTargets(ctx, f.s, f.now); err != nil {
		t.Fatal(err)
	}
	if regs, _, _ := f.s.List(ctx, TargetPrefix, store.ListOptions{}); len(regs) != 0 {
		t.Fatalf("targets of a deleted group: %d", len(regs))
	}
	if err := RegisterTargets(ctx, f.s, region, f.ip.ARN, []Target{{ID: "10.0.1.5"}}, f.now); !errors.Is(err, ErrTargetGroupNotFound) {
		t.Fatalf("register with a deleted group: %v", err)
	}
}

func TestRegisterChecks(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, tc := range []struct {
		tg     TargetGroup
		target Target
		kind   error
	}{
		{f.inst, Target{ID: f.node}, nil},
		{f.inst, Target{ID: "i-0000000000000000a"}, ErrInvalidTarget},
		{f.inst, Target{ID: "10.0.1.5"}, ErrValidation},
		{f.inst, Target{ID: f.node, AvailabilityZone: "us-east-1a"}, ErrValidation},
		{f.ip, Target{ID: "10.0.1.5", AvailabilityZone: "us-east-1b"}, ErrValidation},
		{f.ip, Target{ID: "10.0.2.5"}, ErrValidation}, // in the VPC's range, in no subnet: a zone is needed
		{f.ip, Target{ID: "10.0.2.5", AvailabilityZone: "us-east-1b"}, nil},
		{f.ip, Target{ID: "10.9.9.9", AvailabilityZone: "mars-1a"}, ErrValidation},
		{f.ip, Target{ID: "::1"}, ErrValidation},
	} {
		err := RegisterTargets(ctx, f.s, region, tc.tg.ARN, []Target{tc.target}, f.now)
		if (tc.kind == nil && err != nil) || (tc.kind != nil && !errors.Is(err, tc.kind)) {
			t.Errorf("%s in %s: %v, want %v", tc.target.ID, tc.tg.Name, err, tc.kind)
		}
	}
	// Another region's ARN, and no ARN at all.
	other := TargetGroupARN("eu-west-1", account, "ip", f.ip.ID)
	if err := RegisterTargets(ctx, f.s, region, other, nil, f.now); !errors.Is(err, ErrTargetGroupNotFound) {
		t.Fatalf("other region: %v", err)
	}
	if err := RegisterTargets(ctx, f.s, region, "tg", nil, f.now); !errors.Is(err, ErrValidation) {
		t.Fatalf("not an ARN: %v", err)
	}
	tg, err := TargetGroupByARN(ctx, f.s, f.ip.ARN)
	if err != nil || tg.ID != f.ip.ID || tg.InUse() || tg.DeregistrationDelay() != 300*time.Second {
		t.Fatalf("lookup %+v %v", tg, err)
	}
}

func TestSnapshot(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	snap, err := LoadSnapshot(ctx, f.s)
	if err != nil || len(snap.TargetGroups) != 2 || len(snap.Targets) != 0 {
		t.Fatalf("snapshot %+v %v", snap, err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := f.s.Watch(wctx, Prefix, snap.Revision)
	if err != nil {
		t.Fatal(err)
	}
	lb := LoadBalancer{Region: region, Account: account, Name: "api-alb", ID: NewID(), State: StateProvisioning}
	lb.ARN = LoadBalancerARN(region, account, lb.Name, lb.ID)
	put(t, f.s, LoadBalancerKey(region, lb.Name), lb)
	if err := RegisterTargets(ctx, f.s, region, f.ip.ARN, []Target{{ID: "10.0.1.5"}}, f.now); err != nil {
		t.Fatal(err)
	}
	if err := Activate(ctx, f.s, region, lb.ARN); err != nil {
		t.Fatal(err)
	}
	want, _ := f.s.Revision(ctx)
	for snap.Revision < want {
		if err := snap.Apply(<-events); err != nil {
			t.Fatal(err)
		}
	}
	if got := snap.LoadBalancers[LoadBalancerKey(region, "api-alb")]; got.State != StateActive || len(snap.Targets) != 1 {
		t.Fatalf("after the events: %+v, %d targets", got, len(snap.Targets))
	}
	if _, err := f.s.Txn(ctx, store.Txn{Then: []store.Op{store.Delete(LoadBalancerKey(region, "api-alb"))}}); err != nil {
		t.Fatal(err)
	}
	if err := snap.Apply(<-events); err != nil || len(snap.LoadBalancers) != 0 {
		t.Fatalf("after the deletion: %+v %v", snap.LoadBalancers, err)
	}
	if err := Activate(ctx, f.s, region, lb.ARN); !errors.Is(err, ErrLoadBalancerNotFound) {
		t.Fatalf("activate a deleted load balancer: %v", err)
	}
}

func TestAttributeDefaults(t *testing.T) {
	lb := LoadBalancer{Attributes: map[string]string{AttrIdleTimeout: "120"}}
	if lb.Attribute(AttrIdleTimeout) != "120" || lb.Attribute(AttrHTTP2) != "true" || lb.Attribute("nope") != "" {
		t.Fatal("load balancer attributes")
	}
	tg := TargetGroup{Attributes: map[string]string{AttrDeregistrationDelay: "0"}, HealthCheck: HealthCheck{Port: TrafficPort},
		UsedBy: []string{RuleARN(Ref{Region: region, Account: account, Name: "a", ID: "0123456789abcdef", ListenerID: "1111111111111111"}, "2222222222222222")}}
	if tg.DeregistrationDelay() != 0 || tg.HealthCheckPort(Target{Port: 8080}) != "8080" ||
		!slices.Equal(tg.LoadBalancerARNs(), []string{LoadBalancerARN(region, account, "a", "0123456789abcdef")}) {
		t.Fatalf("target group: %v %v", tg.DeregistrationDelay(), tg.LoadBalancerARNs())
	}
	if _, ok := SSLPolicyNamed(DefaultSSLPolicy); !ok {
		t.Fatal("no default SSL policy")
	}
}

// TestConcurrentRegistrations registers targets from many writers at once,
// as ECS does when a service starts its tasks: each lands once.
func TestConcurrentRegistrations(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	errs := make(chan error, 20)
	for i := range 20 {
		go func() {
			errs <- RegisterTargets(ctx, f.s, region, f.ip.ARN, []Target{{ID: "10.0.1." + strconv.Itoa(10+i)}}, f.now)
		}()
	}
	for range 20 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := f.targets(t, f.ip); len(got) != 20 {
		t.Fatalf("%d targets: %v", len(got), got)
	}
}
