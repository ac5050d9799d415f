package agenthub

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/store"
)

// taskInterface returns an awsvpc task's network interface, making it
// first when the task still wants to run and has none: in the least used
// of the task's subnets, with its security groups (its VPC's default group
// when it names none). The second result is why it could not be made, in
// the words the agent stops the task with.
func (h *Hub) taskInterface(ctx context.Context, t *ecsstate.Task, taskARN string) (*agentproto.TaskInterface, string) {
	if t.Spec.Network == nil {
		return nil, ""
	}
	id := ecsstate.TaskInterfaceID(taskARN)
	eni, err := store.Get[ec2state.NetworkInterface](ctx, h.cfg.Store, ec2state.InterfaceKey(t.Region, id))
	switch {
	case err == nil:
	case !errors.Is(err, store.ErrNotFound):
		return nil, interfaceFailure(err)
	case t.DesiredStatus == ecsstate.StatusStopped || t.Observed.LastStatus == ecsstate.StatusStopped:
		return nil, "" // a task that will not run needs none
	default:
		subnet, err := h.leastUsedSubnet(ctx, t.Region, t.Spec.Network.Subnets)
		if err != nil {
			return nil, interfaceFailure(err)
		}
		made, err := ec2state.CreateInterface(ctx, h.cfg.Store, ec2state.InterfaceSpec{
			Region: t.Region, Account: h.cfg.AccountID, ID: id, SubnetID: subnet,
			Groups:       t.Spec.Network.SecurityGroups,
			Description:  "arn:aws:ecs:" + t.Region + ":" + h.cfg.AccountID + ":attachment/" + ecsstate.AttachmentID(t.ID),
			RequesterID:  ec2state.RequesterECS,
			Owner:        taskARN,
			AttachmentID: ecsstate.AttachmentID(t.ID),
			Now:          h.now(),
		})
		if err != nil {
			return nil, interfaceFailure(err)
		}
		eni.Value = made
	}
	return h.wireInterface(ctx, t, eni.Value)
}

// interfaceFailure is the stopped reason of a task whose interface could
// not be made. UNVERIFIED: ECS's own words for an ENI it failed to create.
func interfaceFailure(err error) string {
	return "ResourceInitializationError: failed to create the task's network interface: " + err.Error()
}

// leastUsedSubnet picks, of a task's subnets, the one with the fewest
// interfaces, so that a service's tasks spread over its subnets (and their
// zones) as ECS spreads them.
func (h *Hub) leastUsedSubnet(ctx context.Context, region string, ids []string) (string, error) {
	best, bestUse := "", -1
	for _, id := range ids {
		s, err := store.Get[ec2state.Subnet](ctx, h.cfg.Store, ec2state.SubnetKey(region, id))
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return "", err
		}
		if s.Value.AvailableAddresses() > 0 && (bestUse < 0 || s.Value.InUse < bestUse) {
			best, bestUse = id, s.Value.InUse
		}
	}
	if best == "" {
		return "", fmt.Errorf("none of the subnets %s exists with a free address", strings.Join(ids, ", "))
	}
	return best, nil
}

func (h *Hub) wireInterface(ctx context.Context, t *ecsstate.Task, eni ec2state.NetworkInterface) (*agentproto.TaskInterface, string) {
	subnet, err := store.Get[ec2state.Subnet](ctx, h.cfg.Store, ec2state.SubnetKey(t.Region, eni.SubnetID))
	if err != nil {
		return nil, interfaceFailure(fmt.Errorf("subnet %s: %w", eni.SubnetID, err))
	}
	vpc, err := store.Get[ec2state.VPC](ctx, h.cfg.Store, ec2state.VPCKey(t.Region, eni.VPCID))
	if err != nil {
		return nil, interfaceFailure(fmt.Errorf("VPC %s: %w", eni.VPCID, err))
	}
	return &agentproto.TaskInterface{
		ID: eni.ID, AttachmentID: eni.AttachmentID, VPCID: eni.VPCID, VPCCIDR: vpc.Value.CIDR,
		SubnetID: eni.SubnetID, SubnetCIDR: subnet.Value.CIDR, Address: eni.PrivateIP, MAC: eni.MAC,
		PrivateDNSName: ec2state.PrivateDNSName(t.Region, eni.PrivateIP), Groups: slices.Clone(eni.Groups),
	}, ""
}

// releaseInterfaces removes the interfaces of tasks that stopped: their
// holders are gone (an agent reports STOPPED only after), so their
// addresses are free.
func (h *Hub) releaseInterfaces(ctx context.Context, tasks []ecsstate.Task) {
	for _, t := range tasks {
		if t.Spec.Network == nil || t.Observed.LastStatus != ecsstate.StatusStopped {
			continue
		}
		arn := ecsstate.ARNs{Region: t.Region, Account: h.cfg.AccountID}.Task(t.Cluster, t.ID)
		if err := ec2state.DeleteInterface(ctx, h.cfg.Store, t.Region, ecsstate.TaskInterfaceID(arn)); err != nil && ctx.Err() == nil {
			h.log.Error("releasing a stopped task's network interface failed; the sweep retries", "task", arn, "err", err)
		}
	}
}

// sweepInterfaces removes the task interfaces whose task stopped or is
// gone, which releaseInterfaces missed (a server that stopped between the
// report and the release).
func (h *Hub) sweepInterfaces(ctx context.Context) error {
	enis, _, err := store.List[ec2state.NetworkInterface](ctx, h.cfg.Store, ec2state.InterfacePrefix, store.ListOptions{})
	if err != nil {
		return err
	}
	for _, e := range enis {
		eni := e.Value
		if eni.RequesterID != ec2state.RequesterECS {
			continue
		}
		cluster, id, ok := ecsstate.ARNs{Region: eni.Region, Account: h.cfg.AccountID}.TaskID(eni.Owner)
		if !ok || cluster == "" {
			continue
		}
		t, err := store.Get[ecsstate.Task](ctx, h.cfg.Store, ecsstate.TaskKey(eni.Region, cluster, id))
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		case t.Value.Observed.LastStatus != ecsstate.StatusStopped:
			continue
		}
		if err := ec2state.DeleteInterface(ctx, h.cfg.Store, eni.Region, eni.ID); err != nil {
			return err
		}
	}
	return nil
}

// networkFeed holds the network state every agent carries, and wakes the
// sessions when it changes.
type networkFeed struct {
	mu      sync.Mutex
	state   *agentproto.NetworkState
	version int64
	changed chan struct{} // closed, and replaced, on every change
}

func newNetworkFeed() *networkFeed { return &networkFeed{changed: make(chan struct{})} }

// current returns the state (nil before the first), its version, and a
// channel closed when a newer one is published.
func (f *networkFeed) current() (*agentproto.NetworkState, int64, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state, f.version, f.changed
}

func (f *networkFeed) publish(s *agentproto.NetworkState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	// Most EC2 changes (tags, descriptions) change nothing agents carry:
	// they are not sent again.
	if f.state != nil && reflect.DeepEqual(f.state, s) {
		return
	}
	f.state = s
	f.version++
	close(f.changed)
	f.changed = make(chan struct{})
}

// networkSettle is how long the feed waits after a change for more before
// it rebuilds the state: a task start or a rule change writes several
// records in a row.
const networkSettle = 20 * time.Millisecond

// runNetworkFeed keeps the network feed current with the store's EC2
// records until ctx ends.
func (h *Hub) runNetworkFeed(ctx context.Context) {
	pause := minResyncPause
	for ctx.Err() == nil {
		state, rev, err := h.readNetworkState(ctx)
		if err == nil {
			h.network.publish(state)
			err = h.followNetwork(ctx, rev)
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			h.log.Error("following the network state failed; reading it again", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, maxResyncPause)
	}
}

// followNetwork publishes the state again after each batch of changes,
// until the watch ends.
func (h *Hub) followNetwork(ctx context.Context, rev int64) error {
	events, err := h.cfg.Store.Watch(ctx, ec2state.Prefix, rev)
	if err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-events:
			if !ok {
				return errors.New("the watch of the EC2 records ended")
			}
		}
		timer := time.NewTimer(networkSettle)
	settle:
		for {
			select {
			case <-ctx.Done():
				timer.Stop()
				return nil
			case _, ok := <-events:
				if !ok {
					timer.Stop()
					return errors.New("the watch of the EC2 records ended")
				}
			case <-timer.C:
				break settle
			}
		}
		state, _, err := h.readNetworkState(ctx)
		if err != nil {
			return err
		}
		h.network.publish(state)
	}
}

// readNetworkState reads every VPC, interface and security group.
func (h *Hub) readNetworkState(ctx context.Context) (*agentproto.NetworkState, int64, error) {
	state := &agentproto.NetworkState{VPCs: []agentproto.VPCState{}, Interfaces: []agentproto.InterfaceState{}, Groups: []agentproto.GroupState{}}
	vpcs, rev, err := store.List[ec2state.VPC](ctx, h.cfg.Store, ec2state.VPCPrefix, store.ListOptions{})
	if err != nil {
		return nil, 0, err
	}
	byID := map[string]*agentproto.VPCState{}
	for _, v := range vpcs {
		state.VPCs = append(state.VPCs, agentproto.VPCState{ID: v.Value.ID, Region: v.Value.Region, CIDR: v.Value.CIDR, Subnets: []string{}})
	}
	for i := range state.VPCs {
		byID[state.VPCs[i].ID] = &state.VPCs[i]
	}
	subnets, _, err := store.List[ec2state.Subnet](ctx, h.cfg.Store, ec2state.SubnetPrefix, store.ListOptions{})
	if err != nil {
		return nil, 0, err
	}
	for _, s := range subnets {
		if v := byID[s.Value.VPCID]; v != nil {
			v.Subnets = append(v.Subnets, s.Value.CIDR)
		}
	}
	enis, _, err := store.List[ec2state.NetworkInterface](ctx, h.cfg.Store, ec2state.InterfacePrefix, store.ListOptions{})
	if err != nil {
		return nil, 0, err
	}
	for _, e := range enis {
		host := e.Value.RequesterID == ec2state.RequesterELB
		state.Interfaces = append(state.Interfaces, agentproto.InterfaceState{
			ID: e.Value.ID, VPCID: e.Value.VPCID, Address: e.Value.PrivateIP, Groups: slices.Clone(e.Value.Groups), Host: host,
		})
		if v := byID[e.Value.VPCID]; host && v != nil {
			v.HostAddresses = append(v.HostAddresses, e.Value.PrivateIP)
		}
	}
	groups, _, err := store.List[ec2state.SecurityGroup](ctx, h.cfg.Store, ec2state.GroupPrefix, store.ListOptions{})
	if err != nil {
		return nil, 0, err
	}
	for _, g := range groups {
		state.Groups = append(state.Groups, agentproto.GroupState{
			ID: g.Value.ID, VPCID: g.Value.VPCID, Default: g.Value.IsDefault(),
			Ingress: wireRules(g.Value.Ingress), Egress: wireRules(g.Value.Egress),
		})
	}
	return state, rev, nil
}

func wireRules(rules []ec2state.Rule) []agentproto.RuleState {
	out := make([]agentproto.RuleState, 0, len(rules))
	for _, r := range rules {
		cidr := r.CIDRv4
		if cidr == "" {
			cidr = r.CIDRv6
		}
		out = append(out, agentproto.RuleState{Protocol: r.Protocol, FromPort: r.FromPort, ToPort: r.ToPort, CIDR: cidr, Group: r.GroupID})
	}
	return out
}
