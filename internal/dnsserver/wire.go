package dnsserver

import (
	"encoding/binary"

	"github.com/miekg/dns"
)

// The wire format is read and written here directly: answers from the
// table are copies of bytes prepared when it was built, with no message
// decoded or encoded on the way.

const (
	headerLen = 12
	// namePointer is a compression pointer to the question's name, which
	// starts right after the header: every answer record of a name is
	// owned by the name asked.
	namePointer = 0xC000 | headerLen
	// optLen is our OPT record's length: root name, type, class, TTL and
	// an empty RDATA.
	optLen = 11
	// udpCap is the most we send over UDP whatever the client offers:
	// DNS Flag Day 2020's size, which no path fragments.
	udpCap = 1232
)

// Header flag bits.
const (
	flagQR     = 1 << 15
	flagAA     = 1 << 10
	flagTC     = 1 << 9
	flagRD     = 1 << 8
	flagRA     = 1 << 7
	flagCD     = 1 << 4
	opcodeMask = 0xF << 11
	optDO      = 1 << 15 // in the OPT record's TTL
)

// query is one parsed query; a reader reuses one for every packet.
type query struct {
	id    uint16
	flags uint16
	// question is the question as received (name, type, class), echoed in
	// the reply; name is its name, key the name lower-cased.
	question []byte
	name     []byte
	key      []byte
	qtype    uint16
	qclass   uint16
	// edns says the query had an OPT record, with its UDP size, version
	// and DO bit.
	edns        bool
	udpSize     uint16
	ednsVersion uint8
	do          bool
	keyBuf      [255]byte
}

// verdict is what parse made of a packet.
type verdict int

const (
	parsed verdict = iota
	// ignore: not a query to answer (too short, or a response).
	ignore
	formErr
	notImp
)

// parse reads msg into q. Only a single-question QUERY with nothing but
// an OPT record after its question is answered; everything else is
// FORMERR or NOTIMP.
func (q *query) parse(msg []byte) verdict {
	if len(msg) < headerLen {
		return ignore
	}
	q.id = binary.BigEndian.Uint16(msg)
	q.flags = binary.BigEndian.Uint16(msg[2:])
	q.question, q.name, q.key = nil, nil, nil
	q.edns, q.udpSize, q.ednsVersion, q.do = false, 0, 0, false
	if q.flags&flagQR != 0 {
		return ignore
	}
	if q.flags&opcodeMask != dns.OpcodeQuery<<11 {
		return notImp
	}
	qd, an, ns, ar := binary.BigEndian.Uint16(msg[4:]), binary.BigEndian.Uint16(msg[6:]), binary.BigEndian.Uint16(msg[8:]), binary.BigEndian.Uint16(msg[10:])
	if qd != 1 || an != 0 || ns != 0 {
		return formErr
	}
	off := headerLen
	key := q.keyBuf[:0]
	for {
		if off >= len(msg) {
			return formErr
		}
		l := int(msg[off])
		if l > 63 || off+1+l > len(msg) || len(key)+1+l > 255 {
			// Pointers (a question has nothing to point at), reserved
			// label types, overruns and names too long.
			return formErr
		}
		key = append(key, byte(l))
		for _, c := range msg[off+1 : off+1+l] {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			key = append(key, c)
		}
		off += 1 + l
		if l == 0 {
			break
		}
	}
	if off+4 > len(msg) {
		return formErr
	}
	q.name, q.key = msg[headerLen:off], key
	q.qtype = binary.BigEndian.Uint16(msg[off:])
	q.qclass = binary.BigEndian.Uint16(msg[off+2:])
	off += 4
	q.question = msg[headerLen:off]
	for range ar {
		var ok bool
		if off, ok = q.parseAdditional(msg, off); !ok {
			return formErr
		}
	}
	return parsed
}

// parseAdditional reads one record of the additional section at off,
// keeping an OPT record's fields; a second OPT is malformed (RFC 6891).
func (q *query) parseAdditional(msg []byte, off int) (int, bool) {
	root := off < len(msg) && msg[off] == 0
	if root {
		off++
	} else {
		_, next, err := dns.UnpackDomainName(msg, off)
		if err != nil {
			return 0, false
		}
		off = next
	}
	if off+10 > len(msg) {
		return 0, false
	}
	rrtype := binary.BigEndian.Uint16(msg[off:])
	class := binary.BigEndian.Uint16(msg[off+2:])
	ttl := binary.BigEndian.Uint32(msg[off+4:])
	rdlen := int(binary.BigEndian.Uint16(msg[off+8:]))
	off += 10
	if off+rdlen > len(msg) {
		return 0, false
	}
	if rrtype == dns.TypeOPT {
		if q.edns || !root {
			return 0, false
		}
		q.edns, q.udpSize = true, class
		q.ednsVersion = uint8(ttl >> 16)
		q.do = ttl&optDO != 0
	}
	return off + rdlen, true
}

// limit is how long a reply to q may be: TCP carries any, UDP what the
// client offers (512 without EDNS), at most udpCap.
func (q *query) limit(tcp bool) int {
	switch {
	case tcp:
		return dns.MaxMsgSize
	case !q.edns:
		return dns.MinMsgSize
	}
	return min(max(int(q.udpSize), dns.MinMsgSize), udpCap)
}

// replyHeader starts a reply to q in out with rcode's low bits and the
// given flags; the section counts are set by setCounts. The question is
// echoed when q has one.
func replyHeader(out []byte, q *query, flags uint16, rcode int) []byte {
	flags |= flagQR | flagRA | q.flags&(flagRD|flagCD) | uint16(rcode&0xF)
	qd := uint16(0)
	if q.question != nil {
		qd = 1
	}
	out = binary.BigEndian.AppendUint16(out, q.id)
	out = binary.BigEndian.AppendUint16(out, flags)
	out = binary.BigEndian.AppendUint16(out, qd)
	out = append(out, 0, 0, 0, 0, 0, 0)
	return append(out, q.question...)
}

func setCounts(out []byte, an, ns, ar int) {
	binary.BigEndian.PutUint16(out[6:], uint16(an))
	binary.BigEndian.PutUint16(out[8:], uint16(ns))
	binary.BigEndian.PutUint16(out[10:], uint16(ar))
}

// appendOPT adds our OPT record: our UDP size, rcode's extended bits and
// the query's DO bit (RFC 3225 has it copied).
func appendOPT(out []byte, q *query, rcode int) []byte {
	ttl := uint32(rcode>>4) << 24
	if q.do {
		ttl |= optDO
	}
	out = append(out, 0)
	out = binary.BigEndian.AppendUint16(out, dns.TypeOPT)
	out = binary.BigEndian.AppendUint16(out, udpCap)
	out = binary.BigEndian.AppendUint32(out, ttl)
	return append(out, 0, 0)
}

// errorReply is a reply with rcode and no records but the OPT.
func errorReply(out []byte, q *query, rcode int) []byte {
	out = replyHeader(out, q, 0, rcode)
	ar := 0
	if q.edns {
		out = appendOPT(out, q, rcode)
		ar = 1
	}
	setCounts(out, 0, 0, ar)
	return out
}
