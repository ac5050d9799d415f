package dnsserver

import (
	"cmp"
	"maps"
	"net/netip"
	"slices"

	"github.com/miekg/dns"

	"github.com/berth/berth/internal/servicediscovery/sdstate"
)

// table is every name the server answers for, by view. It is immutable:
// the server builds a new one on every change and swaps it in.
type table struct {
	// host is the host listener's view: every namespace.
	host *view
	// public is the view of a VPC without private namespaces.
	public *view
	// vpcs are the views of the VPCs with private namespaces, by vpcKey.
	vpcs map[string]*view
}

// vpcView is the view of a VPC's resolver.
func (t *table) vpcView(key string) *view {
	if v := t.vpcs[key]; v != nil {
		return v
	}
	return t.public
}

func vpcKey(region, vpcID string) string { return region + "|" + vpcID }

// view is what one resolver sees: its zones and names, by lower-cased
// name in wire form, and the EC2 private DNS names of its VPCs' addresses.
// A name outside its zones is forwarded.
type view struct {
	names map[string]*node
	zones map[string]*zone
	ec2   []ec2Names
}

// zone is a DNS namespace.
type zone struct {
	apex []byte // lower-cased, wire form
	// vpc is a private namespace's vpcKey ("" for a public one); id its
	// namespace id, which orders namespaces of one name.
	vpc string
	id  string
	// soa is the SOA record of negative answers.
	soa   []byte
	nodes map[string]*node
}

// node is one name: its record sets, by type.
type node struct {
	// zone holds it; nil for a name served alone (a load balancer, a
	// static host), whose negative answers carry no SOA.
	zone *zone
	// sets are ordered by anyOrder: an ANY query gets the first.
	sets []*rrset
	// cname, when set, answers every type but CNAME itself.
	cname *rrset
}

// find is the set of qtype, or nil.
func (n *node) find(qtype uint16) *rrset {
	if qtype == dns.TypeANY && len(n.sets) > 0 {
		return n.sets[0]
	}
	for _, s := range n.sets {
		if s.rrtype == qtype {
			return s
		}
	}
	return nil
}

// rrset is the records of one type at a name.
type rrset struct {
	rrtype  uint16
	records []record
	// pick is how many records an answer carries (at most), chosen at
	// random and in random order.
	pick int
}

// maxPick is how many records an answer carries at most, as Route 53's
// multivalue answers do.
const maxPick = 8

// record is one record, its owner the name asked: the wire form from its
// type to the end of its data.
type record struct {
	data []byte
	// glue are an SRV record's target's addresses, for the additional
	// section.
	glue []glue
}

// glue is an address record of an SRV target, <instance>.<service name>:
// its owner is written as the instance's labels and a pointer to the
// service name asked.
type glue struct {
	labels []byte
	data   []byte
}

// sources is what the table is built from.
type sources struct {
	cloudMap *sdstate.Snapshot
	// balancers are the load balancers' names and addresses, by store key.
	balancers map[string]balancerName
	// static are the Config's StaticHosts.
	static map[string][]netip.Addr
	// vpcs are the VPCs, by store key.
	vpcs map[string]vpcResolver
}

// balancerName is what DNS needs of a load balancer.
type balancerName struct {
	dnsName   string
	addresses []netip.Addr
}

// buildTable builds the views of src.
func buildTable(src sources) *table {
	zones := buildZones(src.cloudMap)
	hosts := map[string]*node{}
	for _, b := range sortedValues(src.balancers) {
		addHost(hosts, b.dnsName, b.addresses)
	}
	for _, name := range slices.Sorted(maps.Keys(src.static)) {
		addHost(hosts, name, src.static[name])
	}
	var public []*zone
	private := map[string][]*zone{}
	for _, z := range zones {
		if z.vpc == "" {
			public = append(public, z)
		} else {
			private[z.vpc] = append(private[z.vpc], z)
		}
	}
	t := &table{host: newView(zones, hosts), public: newView(public, hosts), vpcs: map[string]*view{}}
	for key, own := range private {
		t.vpcs[key] = newView(append(own, public...), hosts)
	}
	// Each VPC's resolver answers its own addresses' EC2 names; the host
	// every VPC's.
	for _, v := range sortedValues(src.vpcs) {
		names, ok := newEC2Names(v.region, v.cidr)
		if !ok {
			continue
		}
		key := vpcKey(v.region, v.id)
		own := t.vpcs[key]
		if own == nil {
			own = &view{names: t.public.names, zones: t.public.zones}
			t.vpcs[key] = own
		}
		own.ec2 = append(own.ec2, names)
		t.host.ec2 = append(t.host.ec2, names)
	}
	return t
}

// newView makes the view of zones and hosts. Of namespaces of one name,
// a private one wins over a public one (as in Route 53 Resolver), then
// the lowest id; a name belongs to the closest zone enclosing it; a host
// name wins over a zone's name.
func newView(zones []*zone, hosts map[string]*node) *view {
	zones = slices.Clone(zones)
	slices.SortFunc(zones, func(a, b *zone) int {
		if (a.vpc == "") != (b.vpc == "") {
			if a.vpc != "" {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.id, b.id)
	})
	v := &view{names: map[string]*node{}, zones: map[string]*zone{}}
	for _, z := range zones {
		if v.zones[string(z.apex)] == nil {
			v.zones[string(z.apex)] = z
		}
	}
	for _, z := range v.zones {
		for key, n := range z.nodes {
			if v.zoneOf([]byte(key)) == z {
				v.names[key] = n
			}
		}
	}
	maps.Copy(v.names, hosts)
	return v
}

// lookup finds a name: its node, and the zone it is in (nil outside the
// view's zones).
func (v *view) lookup(key []byte) (*node, *zone) {
	if n := v.names[string(key)]; n != nil {
		return n, n.zone
	}
	z := v.zoneOf(key)
	if z == nil {
		for _, e := range v.ec2 {
			if n := e.lookup(key); n != nil {
				return n, nil
			}
		}
	}
	return nil, z
}

// zoneOf is the closest of the view's zones enclosing key, or nil.
func (v *view) zoneOf(key []byte) *zone {
	for off := 0; off < len(key) && key[off] != 0; off += int(key[off]) + 1 {
		if z := v.zones[string(key[off:])]; z != nil {
			return z
		}
	}
	return nil
}

// sortedValues are m's values in the order of their keys, so that a
// table is built the same way from the same records.
func sortedValues[V any](m map[string]V) []V {
	out := make([]V, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}
