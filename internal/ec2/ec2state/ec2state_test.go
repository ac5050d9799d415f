package ec2state

import (
	"context"
	"errors"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/store/bolt"
)

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestZones(t *testing.T) {
	for _, tc := range []struct {
		region string
		n      int
		first  Zone
	}{
		{"us-east-1", 6, Zone{"us-east-1a", "use1-az1"}},
		{"us-west-2", 4, Zone{"us-west-2a", "usw2-az1"}},
		{"ap-southeast-2", 3, Zone{"ap-southeast-2a", "apse2-az1"}},
		{"eu-central-1", 3, Zone{"eu-central-1a", "euc1-az1"}},
		{"us-gov-west-1", 3, Zone{"us-gov-west-1a", "usgw1-az1"}},
	} {
		zones := Zones(tc.region)
		if len(zones) != tc.n || zones[0] != tc.first {
			t.Errorf("Zones(%s) = %v", tc.region, zones)
		}
	}
}

func TestFreeAddress(t *testing.T) {
	seq := func(vals ...uint64) func() uint64 {
		i := 0
		return func() uint64 { v := vals[i%len(vals)]; i++; return v }
	}
	addr := netip.MustParseAddr
	for _, tc := range []struct {
		name    string
		cidr    string
		claimed []string
		random  func() uint64
		want    string
		err     error
	}{
		{"random pick past the four reserved", "10.0.1.0/24", nil, seq(11), "10.0.1.15", nil},
		{"a claimed pick is tried again", "10.0.1.0/24", []string{"10.0.1.15"}, seq(11, 0), "10.0.1.4", nil},
		{"falls back to the lowest free", "10.0.1.0/28", []string{"10.0.1.4", "10.0.1.5"}, seq(0, 1), "10.0.1.6", nil},
		{"the broadcast address is never given", "10.0.1.0/29", []string{"10.0.1.4", "10.0.1.5"}, seq(0), "10.0.1.6", nil},
		{"full", "10.0.1.0/29", []string{"10.0.1.4", "10.0.1.5", "10.0.1.6"}, seq(0), "", ErrSubnetFull},
	} {
		claimed := map[netip.Addr]bool{}
		for _, c := range tc.claimed {
			claimed[addr(c)] = true
		}
		got, err := FreeAddress(tc.cidr, claimed, tc.random)
		if !errors.Is(err, tc.err) || (tc.err == nil && got != addr(tc.want)) {
			t.Errorf("%s: FreeAddress = %v, %v; want %s, %v", tc.name, got, err, tc.want, tc.err)
		}
	}
}

func TestDefaultRange(t *testing.T) {
	home := DefaultVPCRanges{CIDR: "172.31.0.0/16", HomeRegion: "us-east-1"}
	vpc := func(cidr string) VPC { return VPC{CIDR: cidr} }
	for _, tc := range []struct {
		region   string
		existing []VPC
		want     string
	}{
		{"us-east-1", []VPC{vpc("172.31.0.0/16")}, "172.31.0.0/16"},
		{"eu-central-1", []VPC{vpc("172.31.0.0/16")}, "172.30.0.0/16"},
		{"eu-west-1", []VPC{vpc("172.31.0.0/16"), vpc("172.30.0.0/16"), vpc("172.29.128.0/20")}, "172.28.0.0/16"},
	} {
		got, err := DefaultRange(home.Spec(tc.region, "123456789012", time.Time{}), tc.existing)
		if err != nil || got.String() != tc.want {
			t.Errorf("DefaultRange(%s) = %v, %v; want %s", tc.region, got, err, tc.want)
		}
	}
	// Above the home range once the ranges below it are taken; the home
	// range itself once every one is.
	taken := []VPC{vpc("10.1.0.0/16"), vpc("10.0.0.0/16")}
	if got, err := DefaultRange(DefaultVPCRanges{CIDR: "10.1.0.0/16", HomeRegion: "us-east-1"}.Spec("eu-west-1", "1", time.Time{}), taken); err != nil || got.String() != "10.2.0.0/16" {
		t.Errorf("above: %v, %v", got, err)
	}
	if got, err := DefaultRange(DefaultVPCRanges{CIDR: "192.168.0.0/16", HomeRegion: "us-east-1"}.Spec("eu-west-1", "1", time.Time{}), []VPC{vpc("192.168.0.0/16")}); err != nil || got.String() != "192.168.0.0/16" {
		t.Errorf("nothing free: %v, %v", got, err)
	}
	if _, err := DefaultRange(DefaultVPCRanges{CIDR: "10.0.0.0/25"}.Spec("us-east-1", "1", time.Time{}), nil); err == nil {
		t.Error("a /25 default range was accepted")
	}
}

func TestDefaultVPCAndInterfaces(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	ranges := DefaultVPCRanges{CIDR: "172.31.0.0/16", HomeRegion: "us-east-1"}
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	vpc, err := EnsureDefaultVPC(ctx, st, ranges.Spec("us-east-1", "123456789012", now))
	if err != nil {
		t.Fatal(err)
	}
	again, err := EnsureDefaultVPC(ctx, st, ranges.Spec("us-east-1", "123456789012", now))
	if err != nil || again.ID != vpc.ID || !vpc.IsDefault || vpc.CIDR != "172.31.0.0/16" || !ValidID(vpc.ID, VPCIDPrefix) {
		t.Fatalf("default VPC %+v, again %+v, %v", vpc, again, err)
	}
	eu, err := EnsureDefaultVPC(ctx, st, ranges.Spec("eu-central-1", "123456789012", now))
	if err != nil || eu.CIDR != "172.30.0.0/16" {
		t.Fatalf("eu-central-1's default VPC %+v, %v", eu, err)
	}
	subnets, _, err := store.List[Subnet](ctx, st, RegionPrefix(SubnetPrefix, "us-east-1"), store.ListOptions{})
	if err != nil || len(subnets) != 6 {
		t.Fatalf("%d default subnets, %v", len(subnets), err)
	}
	cidrs := map[string]string{}
	for _, s := range subnets {
		cidrs[s.Value.AvailabilityZone] = s.Value.CIDR
	}
	if cidrs["us-east-1a"] != "172.31.0.0/20" || cidrs["us-east-1b"] != "172.31.16.0/20" || cidrs["us-east-1f"] != "172.31.80.0/20" {
		t.Errorf("default subnets %v", cidrs)
	}
	group, err := store.Get[SecurityGroup](ctx, st, GroupKey("us-east-1", vpc.DefaultGroupID))
	if err != nil || !group.Value.IsDefault() || len(group.Value.Ingress) != 1 || group.Value.Ingress[0].GroupID != group.Value.ID ||
		len(group.Value.Egress) != 1 || group.Value.Egress[0].CIDRv4 != "0.0.0.0/0" {
		t.Fatalf("default group %+v, %v", group.Value, err)
	}

	// Concurrent interfaces in one small subnet get distinct addresses,
	// and the subnet counts them.
	subnet := subnets[0].Value
	var wg sync.WaitGroup
	made := make([]NetworkInterface, 20)
	errs := make([]error, 20)
	for i := range made {
		wg.Add(1)
		go func() {
			defer wg.Done()
			made[i], errs[i] = CreateInterface(ctx, st, InterfaceSpec{Region: "us-east-1", Account: "123456789012", SubnetID: subnet.ID, Now: now})
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, e := range made {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if seen[e.PrivateIP] || !netip.MustParsePrefix(subnet.CIDR).Contains(netip.MustParseAddr(e.PrivateIP)) {
			t.Errorf("interface %d got %s", i, e.PrivateIP)
		}
		seen[e.PrivateIP] = true
		if len(e.Groups) != 1 || e.Groups[0] != vpc.DefaultGroupID || e.MAC != MAC(e.ID) {
			t.Errorf("interface %+v", e)
		}
	}
	counted, _ := store.Get[Subnet](ctx, st, SubnetKey("us-east-1", subnet.ID))
	if counted.Value.InUse != 20 || counted.Value.AvailableAddresses() != 4096-5-20 {
		t.Errorf("subnet counts %d in use, %d available", counted.Value.InUse, counted.Value.AvailableAddresses())
	}
	// An interface with a given id is made once.
	fixed := InterfaceSpec{Region: "us-east-1", Account: "123456789012", ID: "eni-0123456789abcdef0", SubnetID: subnet.ID, Now: now}
	first, err := CreateInterface(ctx, st, fixed)
	if err != nil {
		t.Fatal(err)
	}
	if second, err := CreateInterface(ctx, st, fixed); err != nil || second.PrivateIP != first.PrivateIP {
		t.Errorf("the same interface again: %+v, %v", second, err)
	}
	for _, e := range append(made, first) {
		if err := DeleteInterface(ctx, st, "us-east-1", e.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := DeleteInterface(ctx, st, "us-east-1", first.ID); err != nil {
		t.Errorf("deleting a deleted interface: %v", err)
	}
	counted, _ = store.Get[Subnet](ctx, st, SubnetKey("us-east-1", subnet.ID))
	claims, _, _ := st.List(ctx, VPCAddresses("us-east-1", vpc.ID), store.ListOptions{})
	if counted.Value.InUse != 0 || len(claims) != 0 {
		t.Errorf("after deleting: %d in use, %d claims", counted.Value.InUse, len(claims))
	}
	// Groups of another VPC, or none that exist, are refused.
	if _, err := CreateInterface(ctx, st, InterfaceSpec{Region: "us-east-1", SubnetID: subnet.ID, Groups: []string{"sg-00000000000000000"}}); !errors.Is(err, ErrNotFound) {
		t.Errorf("an interface in a group that does not exist: %v", err)
	}
	if _, err := CreateInterface(ctx, st, InterfaceSpec{Region: "us-east-1", SubnetID: "subnet-00000000000000000"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("an interface in a subnet that does not exist: %v", err)
	}
}

func TestPrivateDNSNameAndMAC(t *testing.T) {
	if got := PrivateDNSName("us-east-1", "10.0.1.15"); got != "ip-10-0-1-15.ec2.internal" {
		t.Errorf("us-east-1: %s", got)
	}
	if got := PrivateDNSName("eu-west-1", "10.0.1.2"); got != "ip-10-0-1-2.eu-west-1.compute.internal" {
		t.Errorf("eu-west-1: %s", got)
	}
	if got := MAC("eni-0a1b2c3d4e5f60718"); got != "02:0a:1b:2c:3d:4e" {
		t.Errorf("MAC = %s", got)
	}
}
