package agent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/hostnet"
)

// HostNetwork is what the agent needs of the host's networking: the VPC
// bridges, the tasks' interfaces and the security groups. hostnet does it
// on Linux; tests stand in for it.
type HostNetwork interface {
	EnsureVPC(v hostnet.VPC) error
	RemoveVPC(vpcID string, cidr netip.Prefix) error
	Attach(pid int, i hostnet.Interface) error
	HoldRange(cidr netip.Prefix) error
	ReleaseBridge(vpcID string) (bool, error)
	ApplyFirewall(ctx context.Context, table string, p hostnet.Policy) error
	EnsureLocalAddress(addr netip.Prefix) error
}

// kernelNetwork is HostNetwork on the host's own kernel.
type kernelNetwork struct{}

func (kernelNetwork) EnsureVPC(v hostnet.VPC) error { return hostnet.EnsureVPC(v) }
func (kernelNetwork) RemoveVPC(id string, cidr netip.Prefix) error {
	return hostnet.RemoveVPC(id, cidr)
}
func (kernelNetwork) Attach(pid int, i hostnet.Interface) error { return hostnet.Attach(pid, i) }
func (kernelNetwork) HoldRange(cidr netip.Prefix) error         { return hostnet.HoldRange(cidr) }
func (kernelNetwork) ReleaseBridge(vpcID string) (bool, error)  { return hostnet.ReleaseBridge(vpcID) }
func (kernelNetwork) ApplyFirewall(ctx context.Context, table string, p hostnet.Policy) error {
	return hostnet.ApplyFirewall(ctx, table, p)
}
func (kernelNetwork) EnsureLocalAddress(addr netip.Prefix) error {
	return hostnet.EnsureLocalAddress(addr)
}

// vpcNetworks carries the server's VPCs on the host and enforces its
// security groups, from the network state the server sends.
type vpcNetworks struct {
	host  HostNetwork
	table string // this agent's nftables table
	log   interface {
		Warn(msg string, args ...any)
		Error(msg string, args ...any)
	}

	// mu serialises changes to the host; the fields below are what this
	// agent made there.
	mu sync.Mutex
	// carried are the VPCs whose bridges this agent made, as last made,
	// and held those whose ranges it holds: only those it removes when
	// they go (several berth servers may share a host, each with its own
	// VPCs).
	carried map[string]hostnet.VPC
	held    map[string]netip.Prefix
	// failed says why a VPC cannot be carried here (its range overlaps
	// another network of the host).
	failed map[string]error

	stateMu sync.Mutex
	state   *agentproto.NetworkState
	wake    chan struct{}
}

func newVPCNetworks(host HostNetwork, table string, log interface {
	Warn(msg string, args ...any)
	Error(msg string, args ...any)
}) *vpcNetworks {
	return &vpcNetworks{
		host: host, table: table, log: log,
		carried: map[string]hostnet.VPC{}, held: map[string]netip.Prefix{}, failed: map[string]error{},
		wake: make(chan struct{}, 1),
	}
}

// update takes the server's newest network state; run applies it.
func (n *vpcNetworks) update(s *agentproto.NetworkState) {
	n.stateMu.Lock()
	n.state = s
	n.stateMu.Unlock()
	n.poke()
}

// run applies each newest state until ctx ends; one that fails is
// applied again after a pause, or when a newer one comes.
func (n *vpcNetworks) run(ctx context.Context) {
	bo := backoff{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
		}
		n.stateMu.Lock()
		s := n.state
		n.stateMu.Unlock()
		if s == nil {
			continue
		}
		if err := n.apply(ctx, s); err != nil {
			n.log.Error("applying the VPCs and security groups failed; retrying", "err", err)
			sleepCtx(ctx, bo.next())
			n.poke()
			continue
		}
		bo.reset()
		if n.anyFailed() {
			// The user may remove what is in a VPC's way (a bridge
			// left by another berth, say): it is tried again.
			time.AfterFunc(overlapRetry, n.poke)
		}
	}
}

// hold holds a VPC's range on the host. A range that a network of the
// host contains is not held (holding it would take that network's
// traffic): it is noted, and the rest goes on.
func (n *vpcNetworks) hold(v hostnet.VPC) error {
	err := n.host.HoldRange(v.CIDR)
	var overlap *hostnet.OverlapError
	if errors.As(err, &overlap) {
		overlap.VPC = v.ID
		if n.failed[v.ID] == nil {
			n.log.Warn("a VPC's range cannot be held on this host", "vpc", v.ID, "err", err)
		}
		n.failed[v.ID] = err
		return nil
	}
	if err != nil {
		return err
	}
	n.held[v.ID] = v.CIDR
	return nil
}

// overlapRetry is how often a VPC that cannot be carried is tried again.
const overlapRetry = 5 * time.Second

func (n *vpcNetworks) poke() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

func (n *vpcNetworks) anyFailed() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.failed) > 0
}

// apply makes the host hold every VPC's range of s and carry on a bridge
// those with interfaces (whose ranges it can: a VPC with no interface
// needs no bridge, and a server with many VPCs makes no more than it
// uses), removes what this agent made for VPCs that are gone, and loads
// the security groups.
func (n *vpcNetworks) apply(ctx context.Context, s *agentproto.NetworkState) error {
	policy, vpcs := policyOf(s)
	used := map[string]bool{}
	for _, i := range policy.Interfaces {
		used[i.VPC] = true
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, v := range vpcs {
		if !used[v.ID] {
			delete(n.failed, v.ID)
			if err := n.hold(v); err != nil {
				return err
			}
			if _, ok := n.carried[v.ID]; ok {
				gone, err := n.host.ReleaseBridge(v.ID)
				if err != nil {
					return err
				}
				if gone {
					delete(n.carried, v.ID)
				}
			}
			continue
		}
		err := n.host.EnsureVPC(v)
		var overlap *hostnet.OverlapError
		switch {
		case errors.As(err, &overlap):
			if n.failed[v.ID] == nil {
				n.log.Warn("a VPC cannot be carried on this host", "vpc", v.ID, "err", err)
			}
			n.failed[v.ID] = err
			// Its range is still held where it can be: what of it the
			// other network does not route fails here rather than leave
			// by the default route.
			if err := n.hold(v); err != nil {
				return err
			}
			continue
		case err != nil:
			return err
		}
		delete(n.failed, v.ID)
		n.carried[v.ID] = v
		n.held[v.ID] = v.CIDR
	}
	present := map[string]bool{}
	for _, v := range vpcs {
		present[v.ID] = true
	}
	for id := range n.failed {
		if !present[id] {
			delete(n.failed, id)
		}
	}
	for id, cidr := range n.held {
		if present[id] {
			continue
		}
		if err := n.host.RemoveVPC(id, cidr); err != nil {
			return err
		}
		delete(n.held, id)
		delete(n.carried, id)
	}
	return n.host.ApplyFirewall(ctx, n.table, policy)
}

// carry makes the host carry one task's VPC (as far as the task needs:
// its subnet), before its interface is attached, whether or not the
// server's network state has arrived yet.
func (n *vpcNetworks) carry(v hostnet.VPC) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if known, ok := n.carried[v.ID]; ok {
		v.Subnets = append(v.Subnets, known.Subnets...)
		slices.SortFunc(v.Subnets, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
		v.Subnets = slices.Compact(v.Subnets)
		v.HostAddresses = known.HostAddresses
	}
	if err := n.host.EnsureVPC(v); err != nil {
		return err
	}
	n.carried[v.ID] = v
	n.held[v.ID] = v.CIDR
	return nil
}

// policyOf is the firewall policy and the VPCs of a network state;
// malformed entries (which a server does not send) are left out.
func policyOf(s *agentproto.NetworkState) (hostnet.Policy, []hostnet.VPC) {
	var p hostnet.Policy
	for _, v := range s.VPCs {
		cidr, err := netip.ParsePrefix(v.CIDR)
		if err != nil || !cidr.Addr().Is4() {
			continue
		}
		vpc := hostnet.VPC{ID: v.ID, CIDR: cidr.Masked()}
		for _, sn := range v.Subnets {
			if sp, err := netip.ParsePrefix(sn); err == nil && cidr.Contains(sp.Addr()) {
				vpc.Subnets = append(vpc.Subnets, sp.Masked())
			}
		}
		for _, a := range v.HostAddresses {
			if addr, err := netip.ParseAddr(a); err == nil && cidr.Contains(addr) {
				vpc.HostAddresses = append(vpc.HostAddresses, addr)
			}
		}
		p.VPCs = append(p.VPCs, vpc)
	}
	for _, i := range s.Interfaces {
		addr, err := netip.ParseAddr(i.Address)
		if err != nil {
			continue
		}
		p.Interfaces = append(p.Interfaces, hostnet.PolicyInterface{ID: i.ID, VPC: i.VPCID, Address: addr, Groups: i.Groups, Host: i.Host})
	}
	for _, g := range s.Groups {
		p.Groups = append(p.Groups, hostnet.Group{ID: g.ID, VPC: g.VPCID, Default: g.Default, Ingress: rulesOf(g.Ingress), Egress: rulesOf(g.Egress)})
	}
	return p, p.VPCs
}

func rulesOf(rules []agentproto.RuleState) []hostnet.Rule {
	out := make([]hostnet.Rule, 0, len(rules))
	for _, r := range rules {
		out = append(out, hostnet.Rule{Protocol: r.Protocol, FromPort: r.FromPort, ToPort: r.ToPort, CIDR: r.CIDR, Group: r.Group})
	}
	return out
}

// firewallTable is the nftables table of the agent of a node: agents of
// several berth servers may share a host, each enforcing its own groups.
func firewallTable(nodeID string) string { return fmt.Sprintf("%s_%.12s", hostnet.TableName, nodeID) }
