package dnsserver

import (
	"context"
	"time"

	"github.com/miekg/dns"
)

// maxChase bounds the CNAME records followed for one query.
const maxChase = 8

// recurse finishes a query respond could not: a name outside the view's
// zones is resolved upstream (forward); a CNAME of the view (reply) has
// its target resolved too (chase), from the view or upstream, as a
// resolver does for its clients. It returns the reply in wire form.
func (s *Server) recurse(ctx context.Context, v *view, q *query, reply []byte, next outcome, tcp bool) []byte {
	name, _, err := dns.UnpackDomainName(q.name, 0)
	if err != nil {
		return errorReply(nil, q, dns.RcodeFormatError)
	}
	m := new(dns.Msg)
	switch next {
	case forward:
		e, err := s.fwd.resolve(ctx, name, q.key, q.qtype)
		if err != nil {
			s.log.Debug("resolving a name upstream failed", "name", name, "type", dns.TypeToString[q.qtype], "err", err)
			return errorReply(nil, q, dns.RcodeServerFailure)
		}
		now := time.Now()
		m.Rcode = e.msg.Rcode
		m.Answer = e.records(e.msg.Answer, now)
		m.Ns = e.records(e.msg.Ns, now)
		m.Extra = e.records(e.msg.Extra, now)
	case chase:
		if err := m.Unpack(reply); err != nil {
			return reply
		}
		m.Extra = withoutOPT(m.Extra)
		s.chase(ctx, v, q, m)
	}
	m.Id = q.id
	m.Response, m.Opcode, m.RecursionAvailable = true, dns.OpcodeQuery, true
	m.RecursionDesired = q.flags&flagRD != 0
	m.CheckingDisabled = q.flags&flagCD != 0
	m.Question = []dns.Question{{Name: name, Qtype: q.qtype, Qclass: q.qclass}}
	if q.edns {
		m.SetEdns0(udpCap, q.do)
	}
	m.Truncate(q.limit(tcp))
	out, err := m.Pack()
	if err != nil {
		s.log.Warn("packing a reply failed", "name", name, "err", err)
		return errorReply(nil, q, dns.RcodeServerFailure)
	}
	return out
}

// chase follows the CNAME records ending m's answer: a target in the view
// is answered from it, any other upstream (whose answer follows its own
// CNAMEs). The last name's rcode and negative SOA are the reply's (RFC
// 6604).
func (s *Server) chase(ctx context.Context, v *view, q *query, m *dns.Msg) {
	seen := map[string]bool{string(q.key): true}
	for range maxChase {
		if len(m.Answer) == 0 {
			return
		}
		cname, ok := m.Answer[len(m.Answer)-1].(*dns.CNAME)
		if !ok {
			return
		}
		key, ok := nameKey(cname.Target)
		if !ok || seen[string(key)] {
			return
		}
		seen[string(key)] = true
		var sub *dns.Msg
		if n, z := v.lookup(key); n != nil || z != nil {
			sub = answerTarget(v, cname.Target, q.qtype)
		} else {
			e, err := s.fwd.resolve(ctx, cname.Target, key, q.qtype)
			if err != nil {
				s.log.Debug("resolving a CNAME's target upstream failed", "name", cname.Target, "err", err)
				m.Rcode = dns.RcodeServerFailure
				return
			}
			now := time.Now()
			sub = &dns.Msg{Answer: e.records(e.msg.Answer, now), Ns: e.records(e.msg.Ns, now)}
			sub.Rcode = e.msg.Rcode
		}
		if sub == nil {
			m.Rcode = dns.RcodeServerFailure
			return
		}
		m.Rcode = sub.Rcode
		m.Answer = append(m.Answer, sub.Answer...)
		m.Ns = sub.Ns
	}
}

// answerTarget is the view's answer for a CNAME's target.
func answerTarget(v *view, name string, qtype uint16) *dns.Msg {
	ask := new(dns.Msg)
	ask.SetQuestion(dns.Fqdn(name), qtype)
	ask.RecursionDesired = false
	wire, err := ask.Pack()
	if err != nil {
		return nil
	}
	var q query
	reply, _ := respond(v, &q, wire, true, nil)
	out := new(dns.Msg)
	if reply == nil || out.Unpack(reply) != nil {
		return nil
	}
	return out
}
