package dnsserver

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/berth/berth/internal/servicediscovery/sdstate"
)

// The records of the table, made from the store's in wire form.

// Fixed values of the zones, in Route 53's form.
const (
	nameServer   = "ns-1536.awsdns-00.co.uk."
	hostmaster   = "awsdns-hostmaster.amazon.com."
	nsTTL        = 172800
	soaRefresh   = 7200
	soaRetry     = 900
	soaExpire    = 1209600
	hostTTL      = 60 // load balancers' and static hosts' addresses
	defaultRoute = sdstate.RoutingMultivalue
)

// addHost adds a name served alone with the addresses given.
func addHost(hosts map[string]*node, name string, addrs []netip.Addr) {
	owner, ok := nameKey(name)
	if !ok {
		return
	}
	var a, aaaa []record
	for _, addr := range addrs {
		if addr.Is4() || addr.Is4In6() {
			a = append(a, record{data: recordData(&dns.A{Hdr: header(dns.TypeA, hostTTL), A: addr.Unmap().AsSlice()})})
		} else {
			aaaa = append(aaaa, record{data: recordData(&dns.AAAA{Hdr: header(dns.TypeAAAA, hostTTL), AAAA: addr.AsSlice()})})
		}
	}
	n := hosts[string(owner)]
	if n == nil {
		n = &node{}
		hosts[string(owner)] = n
	}
	n.add(&rrset{rrtype: dns.TypeA, records: a, pick: maxPick})
	n.add(&rrset{rrtype: dns.TypeAAAA, records: aaaa, pick: maxPick})
}

// buildZones makes a zone of each DNS namespace of snap.
func buildZones(snap *sdstate.Snapshot) []*zone {
	if snap == nil {
		return nil
	}
	services := map[string][]sdstate.Service{}   // by region|namespace id
	instances := map[string][]sdstate.Instance{} // by region|service id
	for _, s := range sortedValues(snap.Services) {
		services[s.Region+"|"+s.NamespaceID] = append(services[s.Region+"|"+s.NamespaceID], s)
	}
	for _, i := range sortedValues(snap.Instances) {
		instances[i.Region+"|"+i.ServiceID] = append(instances[i.Region+"|"+i.ServiceID], i)
	}
	var zones []*zone
	for _, ns := range sortedValues(snap.Namespaces) {
		if !ns.IsDNS() {
			continue
		}
		z := newZone(ns)
		if z == nil {
			continue
		}
		for _, s := range services[ns.Region+"|"+ns.ID] {
			if s.DNS != nil && s.Type != sdstate.ServiceTypeHTTP {
				z.addService(s, dns.Fqdn(s.Name+"."+ns.Name), instances[s.Region+"|"+s.ID])
			}
		}
		zones = append(zones, z)
	}
	return zones
}

// newZone makes a namespace's zone with its apex's SOA and NS; nil when
// its name is not a domain name.
func newZone(ns sdstate.Namespace) *zone {
	apexName := dns.Fqdn(ns.Name)
	apex, ok := nameKey(apexName)
	if !ok {
		return nil
	}
	ttl := uint32(cmp.Or(ns.SOATTL, sdstate.DefaultSOATTL))
	soa := recordData(&dns.SOA{
		Hdr: header(dns.TypeSOA, ttl), Ns: nameServer, Mbox: hostmaster,
		Serial: 1, Refresh: soaRefresh, Retry: soaRetry, Expire: soaExpire, Minttl: ttl,
	})
	z := &zone{apex: apex, id: ns.ID, soa: soa, nodes: map[string]*node{}}
	if ns.Type == sdstate.TypeDNSPrivate {
		z.vpc = vpcKey(ns.Region, ns.VPC)
	}
	n := z.node(apex)
	n.add(&rrset{rrtype: dns.TypeSOA, records: []record{{data: soa}}, pick: 1})
	n.add(&rrset{rrtype: dns.TypeNS, records: []record{{data: recordData(&dns.NS{Hdr: header(dns.TypeNS, nsTTL), Ns: nameServer})}}, pick: 1})
	return z
}

// node returns the node of key, a name in the zone, making it and the
// empty non-terminals between it and the apex.
func (z *zone) node(key []byte) *node {
	if n := z.nodes[string(key)]; n != nil {
		return n
	}
	n := &node{zone: z}
	z.nodes[string(key)] = n
	if len(key) > len(z.apex) {
		z.node(key[int(key[0])+1:])
	}
	return n
}

// addService adds a service's name, and when it has SRV records with
// addresses, its instances' names, which the SRV records target.
func (z *zone) addService(s sdstate.Service, name string, instances []sdstate.Instance) {
	owner, ok := nameKey(name)
	if !ok {
		return
	}
	ttls := map[string]uint32{}
	for _, r := range s.DNS.Records {
		ttls[r.Type] = uint32(r.TTL)
	}
	pick := maxPick
	if cmp.Or(s.DNS.RoutingPolicy, defaultRoute) == sdstate.RoutingWeighted {
		pick = 1
	}
	inst := make([]instanceRecords, 0, len(instances))
	for _, i := range instances {
		inst = append(inst, newInstanceRecords(i, name, ttls))
	}
	sets := map[uint16]*rrset{}
	for _, i := range inst {
		for rrtype, r := range i.records {
			if sets[rrtype] == nil {
				sets[rrtype] = &rrset{rrtype: rrtype, pick: pick}
			}
			sets[rrtype].records = append(sets[rrtype].records, r)
		}
	}
	// Healthy instances answer; when none is, all do (Route 53 fails
	// open).
	for rrtype, set := range sets {
		var healthy []record
		for _, i := range inst {
			if r, ok := i.records[rrtype]; ok && i.healthy {
				healthy = append(healthy, r)
			}
		}
		if len(healthy) > 0 {
			set.records = healthy
		}
	}
	if len(sets) == 0 {
		return
	}
	n := z.node(owner)
	if set := sets[dns.TypeCNAME]; set != nil {
		// A CNAME is alone at its name.
		n.cname = set
		return
	}
	for _, set := range sets {
		n.add(set)
	}
	if sets[dns.TypeSRV] == nil {
		return
	}
	for _, i := range inst {
		if i.targetKey == nil {
			continue
		}
		target := z.node(i.targetKey)
		for _, rrtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
			if r, ok := i.records[rrtype]; ok && target.find(rrtype) == nil {
				target.add(&rrset{rrtype: rrtype, records: []record{{data: r.data}}, pick: 1})
			}
		}
	}
}

// instanceRecords are one instance's records of a service, by type.
type instanceRecords struct {
	healthy bool
	records map[uint16]record
	// targetKey is the instance's own name, which its SRV record targets
	// (nil without SRV or addresses).
	targetKey []byte
}

// newInstanceRecords makes the records the attributes of i give for the
// types of ttls. An SRV record targets <instance id>.<service name>; with
// A or AAAA records, that name has the instance's addresses, given as glue.
func newInstanceRecords(i sdstate.Instance, service string, ttls map[string]uint32) instanceRecords {
	out := instanceRecords{
		healthy: i.Healthy(),
		records: map[uint16]record{},
	}
	if ttl, ok := ttls[sdstate.RecordA]; ok {
		if a, err := netip.ParseAddr(i.Attributes[sdstate.AttrIPv4]); err == nil && a.Is4() {
			out.records[dns.TypeA] = record{data: recordData(&dns.A{Hdr: header(dns.TypeA, ttl), A: a.AsSlice()})}
		}
	}
	if ttl, ok := ttls[sdstate.RecordAAAA]; ok {
		if a, err := netip.ParseAddr(i.Attributes[sdstate.AttrIPv6]); err == nil && a.Is6() {
			out.records[dns.TypeAAAA] = record{data: recordData(&dns.AAAA{Hdr: header(dns.TypeAAAA, ttl), AAAA: a.AsSlice()})}
		}
	}
	if ttl, ok := ttls[sdstate.RecordCNAME]; ok {
		if target := i.Attributes[sdstate.AttrCNAME]; target != "" {
			if _, ok := nameKey(target); ok {
				out.records[dns.TypeCNAME] = record{data: recordData(&dns.CNAME{Hdr: header(dns.TypeCNAME, ttl), Target: dns.Fqdn(target)})}
			}
		}
	}
	ttl, ok := ttls[sdstate.RecordSRV]
	port, err := strconv.ParseUint(i.Attributes[sdstate.AttrPort], 10, 16)
	if !ok || err != nil {
		return out
	}
	target := dns.Fqdn(i.ID + "." + service)
	labels, lok := packName(i.ID)
	targetKey, tok := nameKey(target)
	if !lok || !tok {
		return out
	}
	srv := record{data: recordData(&dns.SRV{Hdr: header(dns.TypeSRV, ttl), Priority: 1, Weight: 1, Port: uint16(port), Target: target})}
	for _, rrtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
		if r, ok := out.records[rrtype]; ok {
			srv.glue = append(srv.glue, glue{labels: labels[:len(labels)-1], data: r.data})
		}
	}
	out.records[dns.TypeSRV] = srv
	if len(srv.glue) > 0 {
		out.targetKey = targetKey
	}
	return out
}

// anyOrder is the order of a node's sets: what an ANY query gets (RFC
// 8482 lets a server answer one set).
var anyOrder = []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeSRV, dns.TypeSOA, dns.TypeNS}

// add adds a set with records to n.
func (n *node) add(set *rrset) {
	if len(set.records) == 0 {
		return
	}
	n.sets = append(n.sets, set)
	slices.SortStableFunc(n.sets, func(a, b *rrset) int {
		return cmp.Compare(slices.Index(anyOrder, a.rrtype), slices.Index(anyOrder, b.rrtype))
	})
}

func header(rrtype uint16, ttl uint32) dns.RR_Header {
	return dns.RR_Header{Name: ".", Rrtype: rrtype, Class: dns.ClassINET, Ttl: ttl}
}

// recordData is rr's wire form after its owner (which is the root).
func recordData(rr dns.RR) []byte {
	buf := make([]byte, dns.Len(rr))
	n, err := dns.PackRR(rr, buf, 0, nil, false)
	if err != nil {
		// Only names too long fail, and every name was checked by
		// nameKey first.
		panic("dnsserver: packing a record: " + err.Error())
	}
	return buf[1:n]
}

// nameKey is name's lower-cased wire form, the key of names in a view; ok
// is false when name is not a domain name.
func nameKey(name string) ([]byte, bool) {
	return packName(strings.ToLower(name))
}

// packName is name's wire form, as a fully qualified name.
func packName(name string) ([]byte, bool) {
	buf := make([]byte, 256)
	n, err := dns.PackDomainName(dns.Fqdn(name), buf, 0, nil, false)
	if err != nil {
		return nil, false
	}
	return buf[:n], true
}
