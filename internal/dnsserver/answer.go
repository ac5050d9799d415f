package dnsserver

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"

	"github.com/miekg/dns"
)

// outcome is what is left to do once respond returns.
type outcome int

const (
	// done: the reply is complete (nil: send none).
	done outcome = iota
	// forward: the name is outside the view's zones; resolve it upstream.
	forward
	// chase: the reply is a CNAME whose target the client wants resolved
	// too.
	chase
)

// respond answers msg, received on a listener of v, writing the reply
// into out; q receives the parsed query. It answers every name of the
// view and every error; for other names it returns forward.
//
// Outside names are resolved only when asked to recurse: a query without
// RD for one is REFUSED rather than answered from the cache, which would
// tell any asker what this resolver's clients look up.
func respond(v *view, q *query, msg []byte, tcp bool, out []byte) ([]byte, outcome) {
	switch q.parse(msg) {
	case ignore:
		return nil, done
	case formErr:
		return errorReply(out, q, dns.RcodeFormatError), done
	case notImp:
		return errorReply(out, q, dns.RcodeNotImplemented), done
	}
	if q.edns && q.ednsVersion != 0 {
		return errorReply(out, q, dns.RcodeBadVers), done
	}
	if q.qclass != dns.ClassINET || q.qtype == dns.TypeAXFR || q.qtype == dns.TypeIXFR {
		// Only Internet records are held, and zones are not transferred.
		return errorReply(out, q, dns.RcodeRefused), done
	}
	n, z := v.lookup(q.key)
	if n == nil && z == nil {
		if q.flags&flagRD == 0 {
			return errorReply(out, q, dns.RcodeRefused), done
		}
		return nil, forward
	}
	return answer(out, q, n, z, q.limit(tcp))
}

// answer writes the authoritative reply for q's name, n (nil: it does not
// exist in z), within limit bytes. A name without the type asked for is
// NODATA, one that does not exist NXDOMAIN, both with the zone's SOA for
// negative caching (a name served alone has no zone and gives none).
func answer(out []byte, q *query, n *node, z *zone, limit int) ([]byte, outcome) {
	if q.edns {
		limit -= optLen
	}
	rcode, next := dns.RcodeSuccess, done
	var set *rrset
	switch {
	case n == nil:
		rcode = dns.RcodeNameError
	case n.cname != nil:
		set = n.cname
		if q.qtype != dns.TypeCNAME && q.qtype != dns.TypeANY && q.flags&flagRD != 0 {
			next = chase
		}
	default:
		set = n.find(q.qtype)
	}
	out = replyHeader(out, q, flagAA, rcode)
	an, ns, ar := 0, 0, 0
	truncated := false
	var idx [maxPick]int
	var picked []int
	if set != nil {
		picked = choose(len(set.records), set.pick, &idx)
		for i, r := range picked {
			rec := &set.records[r]
			if len(out)+2+len(rec.data) > limit {
				truncated, picked = true, picked[:i]
				break
			}
			out = binary.BigEndian.AppendUint16(out, namePointer)
			out = append(out, rec.data...)
			an++
		}
	} else if z != nil {
		if len(out)+2+len(z.soa) > limit {
			truncated = true
		} else {
			// The apex is the end of the name asked.
			out = binary.BigEndian.AppendUint16(out, uint16(0xC000|(headerLen+len(q.name)-len(z.apex))))
			out = append(out, z.soa...)
			ns++
		}
	}
	if truncated {
		binary.BigEndian.PutUint16(out[2:], binary.BigEndian.Uint16(out[2:])|flagTC)
		next = done
	} else {
		// Glue that does not fit is left out without TC: the SRV records
		// are the answer (RFC 2181, 9).
	glue:
		for _, r := range picked {
			for _, g := range set.records[r].glue {
				if len(out)+len(g.labels)+2+len(g.data) > limit {
					break glue
				}
				out = append(out, g.labels...)
				out = binary.BigEndian.AppendUint16(out, namePointer)
				out = append(out, g.data...)
				ar++
			}
		}
	}
	if q.edns {
		out = appendOPT(out, q, rcode)
		ar++
	}
	setCounts(out, an, ns, ar)
	return out, next
}

// choose picks min(k, n) distinct indices below n at random, in random
// order, into idx: Route 53 answers with up to eight of a name's records
// in random order.
func choose(n, k int, idx *[maxPick]int) []int {
	k = min(k, n, maxPick)
	out := idx[:k]
	switch {
	case n == 1:
		out[0] = 0
	case n <= 4*maxPick:
		// A partial Fisher-Yates shuffle.
		var perm [4 * maxPick]int
		for i := range n {
			perm[i] = i
		}
		for i := range k {
			j := i + rand.IntN(n-i)
			perm[i], perm[j] = perm[j], perm[i]
			out[i] = perm[i]
		}
	default:
		// Few picks among many: draw again the rare repeat.
		for i := range k {
			for {
				r := rand.IntN(n)
				if !slices.Contains(out[:i], r) {
					out[i] = r
					break
				}
			}
		}
	}
	return out
}
