package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	json "github.com/go-json-experiment/json/v1"

	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/elbv2/elbv2state"
	"github.com/berth/berth/internal/hostnet"
	"github.com/berth/berth/internal/servicediscovery/sdstate"
	"github.com/berth/berth/internal/store"
)

// settle is how long the server waits after a change for more before it
// rebuilds its table: one API call writes several records.
const settle = 10 * time.Millisecond

// bindRetry paces the binds of VPC resolvers that failed.
const bindRetry = 5 * time.Second

// followed is what the table and the VPC listeners are made of, kept
// current from the store's watches.
type followed struct {
	cloudMap  *sdstate.Snapshot
	balancers map[string]balancerName // by store key
	vpcs      map[string]vpcResolver  // by store key
}

// vpcResolver is what serving a VPC's resolver needs of the VPC.
type vpcResolver struct {
	region, id, cidr string
}

// follow reads the records, serves them, and applies each change until a
// watch fails. ctx is the listeners' (Run's): they outlive a failed
// watch.
func (s *Server) follow(ctx context.Context) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st := s.cfg.Store
	f := &followed{balancers: map[string]balancerName{}, vpcs: map[string]vpcResolver{}}
	var err error
	if f.cloudMap, err = sdstate.LoadSnapshot(wctx, st); err != nil {
		return err
	}
	cloudMapEvents, err := st.Watch(wctx, sdstate.Prefix, f.cloudMap.Revision)
	if err != nil {
		return err
	}
	balancerEvents, err := load(wctx, st, elbv2state.LoadBalancerPrefix, f.balancers, decodeBalancer)
	if err != nil {
		return err
	}
	var vpcEvents <-chan store.Event
	if s.cfg.ServeVPCs {
		if vpcEvents, err = load(wctx, st, ec2state.VPCPrefix, f.vpcs, decodeVPC); err != nil {
			return err
		}
	}
	s.apply(ctx, f)
	retry := time.NewTicker(bindRetry)
	defer retry.Stop()
	var settled <-chan time.Time // nil: no change waiting
	for {
		var changed bool
		select {
		case <-ctx.Done():
			return nil
		case <-retry.C:
			s.serveVPCs(ctx, f.vpcs)
			continue
		case <-settled:
			settled = nil
			s.apply(ctx, f)
			continue
		case ev, ok := <-cloudMapEvents:
			if !ok {
				return errors.New("the watch of Cloud Map's records ended")
			}
			changed, err = f.cloudMap.Apply(ev)
		case ev, ok := <-balancerEvents:
			if !ok {
				return errors.New("the watch of the load balancers ended")
			}
			changed, err = applyEvent(f.balancers, ev, decodeBalancer, sameBalancer)
		case ev, ok := <-vpcEvents:
			if !ok {
				return errors.New("the watch of the VPCs ended")
			}
			changed, err = applyEvent(f.vpcs, ev, decodeVPC, func(a, b vpcResolver) bool { return a == b })
		}
		if err != nil {
			return err
		}
		if changed && settled == nil {
			settled = time.After(settle)
		}
	}
}

// apply serves f: a new table, the VPCs' listeners, and the host
// listener once there is a table to answer from.
func (s *Server) apply(ctx context.Context, f *followed) {
	s.table.Store(buildTable(sources{cloudMap: f.cloudMap, balancers: f.balancers, static: s.cfg.StaticHosts, vpcs: f.vpcs}))
	s.serveVPCs(ctx, f.vpcs)
	if s.host != nil && !s.serving {
		s.host.start(ctx)
		s.serving = true
	}
}

// load reads the records under prefix into m and watches them from the
// revision read.
func load[T any](ctx context.Context, st store.Store, prefix string, m map[string]T, decode func([]byte) (T, error)) (<-chan store.Event, error) {
	rev, err := st.Range(ctx, prefix, func(kv store.KV) error {
		v, err := decode(kv.Value)
		if err != nil {
			return fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		m[kv.Key] = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	return st.Watch(ctx, prefix, rev)
}

// applyEvent applies a watch event to m and reports whether what m keeps
// changed: most writes of a load balancer change nothing DNS answers.
func applyEvent[T any](m map[string]T, ev store.Event, decode func([]byte) (T, error), same func(a, b T) bool) (bool, error) {
	old, had := m[ev.KV.Key]
	if ev.Type == store.EventDelete {
		delete(m, ev.KV.Key)
		return had, nil
	}
	v, err := decode(ev.KV.Value)
	if err != nil {
		return false, fmt.Errorf("decode %s: %w", ev.KV.Key, err)
	}
	m[ev.KV.Key] = v
	return !had || !same(old, v), nil
}

// decodeBalancer reads a load balancer's name and addresses: its
// interfaces' addresses, as the data plane serves on.
func decodeBalancer(b []byte) (balancerName, error) {
	var lb elbv2state.LoadBalancer
	if err := json.Unmarshal(b, &lb); err != nil {
		return balancerName{}, err
	}
	return balancerName{dnsName: lb.DNSName, addresses: lb.Addresses()}, nil
}

func sameBalancer(a, b balancerName) bool {
	return a.dnsName == b.dnsName && slices.Equal(a.addresses, b.addresses)
}

func decodeVPC(b []byte) (vpcResolver, error) {
	var v ec2state.VPC
	if err := json.Unmarshal(b, &v); err != nil {
		return vpcResolver{}, err
	}
	return vpcResolver{region: v.Region, id: v.ID, cidr: v.CIDR}, nil
}

// vpcListener is a VPC's resolver: listening, or waiting to bind again.
type vpcListener struct {
	vpc string // vpcKey
	l   *listener
	// err is why the last bind failed, tried when.
	err   error
	tried time.Time
}

func (v *vpcListener) close() {
	if v.l != nil {
		v.l.close()
	}
}

// serveVPCs listens on the resolver address of each VPC of vpcs, and
// stops listening for VPCs gone. Binds that failed are tried again after
// bindRetry.
func (s *Server) serveVPCs(ctx context.Context, vpcs map[string]vpcResolver) {
	if !s.cfg.ServeVPCs {
		return
	}
	want := map[netip.AddrPort]string{} // vpcKey by resolver address
	for _, v := range sortedValues(vpcs) {
		cidr, err := netip.ParsePrefix(v.cidr)
		if err != nil || !cidr.Addr().Is4() {
			continue
		}
		ap := netip.AddrPortFrom(hostnet.Resolver(cidr), s.vpcPort)
		if _, dup := want[ap]; !dup {
			want[ap] = vpcKey(v.region, v.id)
		}
	}
	resolvers := map[netip.AddrPort]bool{}
	for ap := range want {
		resolvers[ap] = true
	}
	s.resolvers.Store(&resolvers)
	for ap, v := range s.vpcs {
		if want[ap] != v.vpc {
			v.close()
			delete(s.vpcs, ap)
			s.log.Info("VPC resolver stopped", "vpc", v.vpc, "address", ap.String())
		}
	}
	for ap, key := range want {
		v := s.vpcs[ap]
		if v == nil {
			v = &vpcListener{vpc: key}
			s.vpcs[ap] = v
		}
		if v.l != nil || time.Since(v.tried) < bindRetry {
			continue
		}
		v.tried = time.Now()
		l, err := s.listen(ap, true, key, kindVPC)
		if err != nil {
			if v.err == nil || v.err.Error() != err.Error() {
				s.log.Warn("a VPC's resolver cannot listen yet; retrying", "vpc", key, "address", ap.String(), "err", err)
			}
			v.err = err
			continue
		}
		v.l, v.err = l, nil
		l.start(ctx)
		s.log.Info("VPC resolver listening", "vpc", key, "address", ap.String())
	}
}
