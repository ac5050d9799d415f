package agent

import (
	"context"
	"log/slog"
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
