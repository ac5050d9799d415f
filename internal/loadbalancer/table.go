package loadbalancer

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/berth/berth/internal/elbv2/elbv2state"
)

// table is the routing of every load balancer, built from a snapshot of
// the store's ELBv2 records: what to listen on and where each request
// goes. It is immutable; the plane swaps in a new one on every change.
type table struct {
	// listeners are what to serve, by address and port.
	listeners map[netip.AddrPort]*listenerRoute
	// groups are the target groups, by ARN.
	groups map[string]*groupRoute
	// balancers are the load balancers, by ARN.
	balancers map[string]*balancerRoute
}

// balancerRoute is a load balancer as the data plane serves it.
type balancerRoute struct {
	region, arn, name, state string
	// addresses are its interfaces' addresses: it listens on each, and
	// connects to targets from the first (so that security groups see it
	// as a member of its groups).
	addresses []netip.Addr
	// listeners are its listeners' addresses and ports.
	listeners   []netip.AddrPort
	idleTimeout time.Duration
	http2       bool
	// xffMode is X-Forwarded-For's processing: append, preserve or remove.
	xffMode       string
	xffClientPort bool
	// transportKey names what its connections to targets depend on (its
	// address and idle timeout): a change takes new ones.
	transportKey string
	metrics      *balancerMetrics
}

// listenerRoute is one listener on one address.
type listenerRoute struct {
	arn      string
	balancer *balancerRoute
	protocol string
	port     int32
	// certificates are the ARNs of an HTTPS listener's certificates, the
	// default first; sslPolicy is its policy.
	certificates []string
	sslPolicy    string
	rules        []compiledRule
	defaults     []elbv2state.Action
}

// compiledRule is a rule ready to match requests.
type compiledRule struct {
	priority int32
	match    condition
	actions  []elbv2state.Action
}

// groupRoute is a target group with its targets as routing needs them.
type groupRoute struct {
	group    elbv2state.TargetGroup
	balancer *balancerRoute // the load balancer that forwards to it (nil: none)
	// eligible are the targets that get requests: the healthy ones, or,
	// when none is healthy, every registered one (ALB fails open).
	eligible []*targetRoute
	// targets are every registered target, draining ones included, by
	// target key.
	targets   map[string]*targetRoute
	algorithm string
	slowStart time.Duration
	// stickyFor is how long the lb_cookie keeps a client on its target
	// (0: no stickiness).
	stickyFor time.Duration
}

// targetRoute is a registered target.
type targetRoute struct {
	key    string // targetKey
	target elbv2state.Target
	// addr is where requests go, "ip:port" ("" when an instance target's
	// node is not known).
	addr     string
	health   elbv2state.TargetHealth
	draining bool
	// drainUntil is when a draining target's connections are closed.
	drainUntil time.Time
}

// targetKey names a target of a group across tables.
func targetKey(tgARN string, t elbv2state.Target) string {
	return tgARN + "|" + t.ID + "|" + strconv.Itoa(int(t.Port))
}

// nodeAddresses resolves instance targets: the address a node's ports are
// reached at, by EC2 instance id.
type nodeAddresses map[string]string

// buildTable builds the routing of snap at now.
func buildTable(snap *elbv2state.Snapshot, nodes nodeAddresses, now time.Time) *table {
	t := &table{
		listeners: map[netip.AddrPort]*listenerRoute{},
		groups:    map[string]*groupRoute{},
		balancers: map[string]*balancerRoute{},
	}
	byID := map[string]*balancerRoute{} // region|lb id
	for _, lb := range snap.LoadBalancers {
		b := &balancerRoute{
			region: lb.Region, arn: lb.ARN, name: lb.Name, state: lb.State,
			idleTimeout:   seconds(lb.Attribute(elbv2state.AttrIdleTimeout), 60),
			http2:         lb.Attribute(elbv2state.AttrHTTP2) != "false",
			xffMode:       cmp.Or(lb.Attribute(elbv2state.AttrXFFProcessingMode), "append"),
			xffClientPort: lb.Attribute(elbv2state.AttrXFFClientPort) == "true",
		}
		b.addresses = lb.Addresses()
		b.transportKey = fmt.Sprintf("%s|%v|%s", b.arn, b.sourceAddr(), b.idleTimeout)
		t.balancers[lb.ARN] = b
		byID[lb.Region+"|"+lb.ID] = b
	}

	rules := map[string][]elbv2state.Rule{} // by listener ARN
	for _, r := range snap.Rules {
		rules[r.ListenerARN] = append(rules[r.ListenerARN], r)
	}
	for _, l := range snap.Listeners {
		b := byID[l.Region+"|"+l.LoadBalancerID]
		if b == nil {
			continue
		}
		lr := &listenerRoute{
			arn: l.ARN, balancer: b, protocol: l.Protocol, port: l.Port,
			certificates: l.Certificates, sslPolicy: l.SSLPolicy, defaults: sortedActions(l.DefaultActions),
		}
		rs := rules[l.ARN]
		slices.SortFunc(rs, func(a, b elbv2state.Rule) int { return cmp.Compare(a.Priority, b.Priority) })
		for _, r := range rs {
			lr.rules = append(lr.rules, compiledRule{priority: r.Priority, match: compileConditions(r.Conditions), actions: sortedActions(r.Actions)})
		}
		for _, a := range b.addresses {
			ap := netip.AddrPortFrom(a, uint16(l.Port))
			t.listeners[ap] = lr
			b.listeners = append(b.listeners, ap)
		}
	}

	for _, tg := range snap.TargetGroups {
		g := &groupRoute{
			group:     tg,
			targets:   map[string]*targetRoute{},
			algorithm: tg.Attribute(elbv2state.AttrAlgorithm),
			slowStart: seconds(tg.Attribute(elbv2state.AttrSlowStart), 0),
		}
		if tg.Attribute(elbv2state.AttrStickinessEnabled) == "true" {
			g.stickyFor = seconds(tg.Attribute(elbv2state.AttrStickinessLBCookieSeconds), 86400)
		}
		if arns := tg.LoadBalancerARNs(); len(arns) > 0 {
			g.balancer = t.balancers[arns[0]]
		}
		t.groups[tg.ARN] = g
	}
	groupByID := map[string]*groupRoute{}
	for _, g := range t.groups {
		groupByID[g.group.Region+"|"+g.group.ID] = g
	}
	health := map[string]elbv2state.TargetHealth{}
	for key, h := range snap.Health {
		health[key] = h
	}
	for _, reg := range snap.Targets {
		g := groupByID[reg.Region+"|"+reg.TargetGroupID]
		if g == nil || reg.Gone(now) {
			continue
		}
		tr := &targetRoute{
			key:        targetKey(g.group.ARN, reg.Target),
			target:     reg.Target,
			health:     health[elbv2state.HealthKey(reg.Region, reg.TargetGroupID, reg.Target)],
			draining:   reg.Draining(now),
			drainUntil: reg.DrainUntil,
		}
		host := reg.Target.ID
		if g.group.TargetType != "ip" {
			host = nodes[reg.Target.ID]
		}
		if a, err := netip.ParseAddr(host); err == nil {
			tr.addr = netip.AddrPortFrom(a, uint16(reg.Target.Port)).String()
		}
		g.targets[tr.key] = tr
	}
	for _, g := range t.groups {
		g.eligible = eligibleTargets(g)
	}
	return t
}

// eligibleTargets are the targets of g that get new requests: the healthy
// ones; when none is healthy, every registered one, as ALB fails open; never
// a draining one, nor one berth cannot reach.
func eligibleTargets(g *groupRoute) []*targetRoute {
	var healthy, registered []*targetRoute
	for _, tr := range g.targets {
		if tr.draining || tr.addr == "" {
			continue
		}
		registered = append(registered, tr)
		if tr.health.State == elbv2state.HealthHealthy {
			healthy = append(healthy, tr)
		}
	}
	out := healthy
	if len(out) == 0 {
		out = registered
	}
	// A stable order, so that round robin goes round.
	slices.SortFunc(out, func(a, b *targetRoute) int { return cmp.Compare(a.key, b.key) })
	return out
}

// sortedActions are a rule's actions in their order.
func sortedActions(actions []elbv2state.Action) []elbv2state.Action {
	out := slices.Clone(actions)
	slices.SortStableFunc(out, func(a, b elbv2state.Action) int { return cmp.Compare(a.Order, b.Order) })
	return out
}

// seconds parses an attribute of whole seconds, def when it is not one.
func seconds(v string, def int) time.Duration {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		n = def
	}
	return time.Duration(n) * time.Second
}
