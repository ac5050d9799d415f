package agent

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"testing"

	"github.com/berth/berth/internal/agentproto"
)

// TestVPCNetworksCarryWhatIsUsed checks that the agent holds every VPC's
// range, makes a bridge only for VPCs with interfaces, releases it when
// they go, removes what a deleted VPC had, and loads the groups.
func TestVPCNetworksCarryWhatIsUsed(t *testing.T) {
	host := newFakeHostNetwork()
	n := newVPCNetworks(host, "berth_test", slog.New(slog.DiscardHandler))
	state := &agentproto.NetworkState{
		VPCs: []agentproto.VPCState{
			{ID: "vpc-00000000000000001", Region: "us-east-1", CIDR: "10.1.0.0/16", Subnets: []string{"10.1.1.0/24"}},
			{ID: "vpc-00000000000000002", Region: "us-east-1", CIDR: "10.2.0.0/16", Subnets: []string{"10.2.1.0/24"}},
		},
		Interfaces: []agentproto.InterfaceState{{ID: "eni-00000000000000001", VPCID: "vpc-00000000000000001", Address: "10.1.1.10", Groups: []string{"sg-00000000000000001"}}},
		Groups:     []agentproto.GroupState{{ID: "sg-00000000000000001", VPCID: "vpc-00000000000000001", Default: true}},
	}
	ctx := context.Background()
	if err := n.apply(ctx, state); err != nil {
		t.Fatal(err)
	}
	if _, ok := host.vpcs["vpc-00000000000000001"]; !ok || len(host.vpcs) != 1 {
		t.Errorf("bridges %v, want the used VPC's only", host.vpcs)
	}
	if len(n.held) != 2 {
		t.Errorf("held ranges %v, want both", n.held)
	}
	if len(host.rulesets) != 1 || !strings.Contains(host.rulesets[0], "table inet berth_test {") || !strings.Contains(host.rulesets[0], "10.1.1.10 : jump in_00000000000000001") {
		t.Errorf("ruleset %v", host.rulesets)
	}
	// The interface goes: its bridge is released; the VPC goes: its range.
	state.Interfaces = nil
	if err := n.apply(ctx, state); err != nil {
		t.Fatal(err)
	}
	if len(host.vpcs) != 0 || len(n.carried) != 0 {
		t.Errorf("bridges %v after the interface went", host.vpcs)
	}
	state.VPCs = state.VPCs[1:]
	if err := n.apply(ctx, state); err != nil {
		t.Fatal(err)
	}
	if _, ok := n.held["vpc-00000000000000001"]; ok || len(n.held) != 1 {
		t.Errorf("held %v after the VPC went", n.held)
	}
}

// TestVPCNetworksAroundOtherNetworks checks that a VPC whose range another
// network of the host is in the way of stops neither the other VPCs nor
// the security groups, that its range is held unless a network contains
// it, and that it is tried again until it can be carried.
func TestVPCNetworksAroundOtherNetworks(t *testing.T) {
	host := newFakeHostNetwork()
	n := newVPCNetworks(host, "berth_test", slog.New(slog.DiscardHandler))
	overlapped, contained := netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("10.3.0.0/16")
	host.inTheWay[overlapped] = "overlaps"
	host.inTheWay[contained] = "contains"
	state := &agentproto.NetworkState{
		VPCs: []agentproto.VPCState{
			{ID: "vpc-00000000000000001", Region: "us-east-1", CIDR: "10.1.0.0/16", Subnets: []string{"10.1.1.0/24"}},
			{ID: "vpc-00000000000000002", Region: "us-east-1", CIDR: "10.2.0.0/16", Subnets: []string{"10.2.1.0/24"}},
			{ID: "vpc-00000000000000003", Region: "us-east-1", CIDR: "10.3.0.0/16", Subnets: []string{"10.3.1.0/24"}},
		},
		Interfaces: []agentproto.InterfaceState{
			{ID: "eni-00000000000000001", VPCID: "vpc-00000000000000001", Address: "10.1.1.10", Groups: []string{"sg-00000000000000001"}},
			{ID: "eni-00000000000000002", VPCID: "vpc-00000000000000002", Address: "10.2.1.10", Groups: []string{"sg-00000000000000002"}},
		},
		Groups: []agentproto.GroupState{
			{ID: "sg-00000000000000001", VPCID: "vpc-00000000000000001", Default: true},
			{ID: "sg-00000000000000002", VPCID: "vpc-00000000000000002", Default: true},
		},
	}
	ctx := context.Background()
	if err := n.apply(ctx, state); err != nil {
		t.Fatal(err)
	}
	if _, ok := host.vpcs["vpc-00000000000000002"]; !ok || len(host.vpcs) != 1 {
		t.Errorf("bridges %v, want the second VPC's", host.vpcs)
	}
	if !host.held[overlapped] || host.held[contained] {
		t.Errorf("held %v: want the overlapped range held, the contained one not", host.held)
	}
	if len(host.rulesets) != 1 || !n.anyFailed() {
		t.Errorf("rulesets %d, failed %v: want the groups loaded and the VPCs in the way noted", len(host.rulesets), n.failed)
	}
	// What was in the way is gone: the next try carries the VPC.
	delete(host.inTheWay, overlapped)
	delete(host.inTheWay, contained)
	if err := n.apply(ctx, state); err != nil {
		t.Fatal(err)
	}
	if _, ok := host.vpcs["vpc-00000000000000001"]; !ok || !host.held[contained] || n.anyFailed() {
		t.Errorf("after the way cleared: bridges %v, held %v, failed %v", host.vpcs, host.held, n.failed)
	}
}
