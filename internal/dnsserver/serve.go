package dnsserver

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// listener serves one address over UDP and TCP, for one view.
type listener struct {
	s    *Server
	addr netip.AddrPort
	// vpc is the vpcKey of a VPC's resolver, "" for the host listener.
	vpc     string
	counter *queryCounter
	udp     []*net.UDPConn
	tcp     *net.TCPListener
	// wildcard says the address is unspecified: replies name their
	// source, the address each query came to.
	wildcard bool
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]bool // TCP connections open
}

// tcpIdle is how long a TCP connection may wait for its next query.
const tcpIdle = 10 * time.Second

// listen binds addr: a TCP socket, and a UDP socket per CPU where they
// can share the port (one elsewhere). freebind lets it bind an address the
// host does not have yet. Port 0 takes a port free for both protocols.
func (s *Server) listen(addr netip.AddrPort, freebind bool, vpc, kind string) (*listener, error) {
	sockets := 1
	if reusePort {
		sockets = runtime.GOMAXPROCS(0)
	}
	var err error
	for range 8 {
		var l *listener
		if l, err = s.bind(addr, freebind, sockets); err == nil {
			l.vpc, l.counter = vpc, s.metrics.byKind[kind]
			return l, nil
		}
		if addr.Port() != 0 {
			break
		}
		// The port TCP got was taken for UDP: try another.
	}
	return nil, err
}

// bind opens l's sockets. TCP comes first and alone on its port: a
// second server on the address fails there, rather than joining the UDP
// sockets' SO_REUSEPORT group and taking part of the queries.
func (s *Server) bind(addr netip.AddrPort, freebind bool, sockets int) (*listener, error) {
	l := &listener{s: s, addr: addr, wildcard: addr.Addr().IsUnspecified(), conns: map[net.Conn]bool{}}
	udpNet, tcpNet := "udp4", "tcp4"
	if addr.Addr().Is6() {
		udpNet, tcpNet = "udp6", "tcp6"
	}
	ln, err := (&net.ListenConfig{Control: control(freebind, false)}).Listen(context.Background(), tcpNet, addr.String())
	if err != nil {
		return nil, fmt.Errorf("listen on %s/tcp: %w", addr, err)
	}
	l.tcp = ln.(*net.TCPListener)
	l.addr = netip.AddrPortFrom(addr.Addr(), l.tcp.Addr().(*net.TCPAddr).AddrPort().Port())
	lc := net.ListenConfig{Control: control(freebind, sockets > 1)}
	for range sockets {
		pc, err := lc.ListenPacket(context.Background(), udpNet, l.addr.String())
		if err == nil && l.wildcard {
			err = receiveDestination(pc.(*net.UDPConn))
		}
		if err != nil {
			if pc != nil {
				_ = pc.Close()
			}
			l.closeSockets()
			return nil, fmt.Errorf("listen on %s/udp: %w", l.addr, err)
		}
		l.udp = append(l.udp, pc.(*net.UDPConn))
	}
	return l, nil
}

// receiveDestination has a wildcard socket report each query's
// destination address, which its reply must come from.
func receiveDestination(c *net.UDPConn) error {
	if c.LocalAddr().(*net.UDPAddr).IP.To4() != nil {
		return ipv4.NewPacketConn(c).SetControlMessage(ipv4.FlagDst, true)
	}
	return ipv6.NewPacketConn(c).SetControlMessage(ipv6.FlagDst, true)
}

// replySource is the control message that sends a reply from the address
// the query, whose control message is oob, came to.
func (l *listener) replySource(oob []byte) []byte {
	if l.addr.Addr().Is4() {
		var cm ipv4.ControlMessage
		if cm.Parse(oob) != nil || cm.Dst == nil {
			return nil
		}
		return (&ipv4.ControlMessage{Src: cm.Dst}).Marshal()
	}
	var cm ipv6.ControlMessage
	if cm.Parse(oob) != nil || cm.Dst == nil {
		return nil
	}
	return (&ipv6.ControlMessage{Src: cm.Dst}).Marshal()
}

// start serves until close.
func (l *listener) start(ctx context.Context) {
	ctx, l.cancel = context.WithCancel(ctx)
	for _, c := range l.udp {
		l.wg.Go(func() { l.readUDP(ctx, c) })
	}
	l.wg.Go(func() { l.acceptTCP(ctx) })
}

// close stops serving and waits for the readers.
func (l *listener) close() {
	if l.cancel != nil {
		l.cancel()
	}
	l.closeSockets()
	l.mu.Lock()
	for c := range l.conns {
		_ = c.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
}

func (l *listener) closeSockets() {
	for _, c := range l.udp {
		_ = c.Close()
	}
	if l.tcp != nil {
		_ = l.tcp.Close()
	}
}

// view is what the listener sees of t.
func (l *listener) view(t *table) *view {
	if l.vpc == "" {
		return t.host
	}
	return t.vpcView(l.vpc)
}

// udpBatch is how many queries a reader takes in one read (recvmmsg on
// Linux): under load it answers them with one read and one write
// (sendmmsg), where the system calls are most of the cost of a query.
const udpBatch = 32

// udpQueryMax is the largest UDP query read whole; a longer one is cut,
// and FORMERR at worst.
const udpQueryMax = 4096

// batchConn reads and writes several datagrams at once; ipv4's and
// ipv6's PacketConn are.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// readUDP answers the queries of one UDP socket. Names of the view are
// answered in this loop; the rest go to a goroutine of their own, since
// an upstream may take seconds.
func (l *listener) readUDP(ctx context.Context, c *net.UDPConn) {
	var bc batchConn = ipv4.NewPacketConn(c)
	if l.addr.Addr().Is6() {
		bc = ipv6.NewPacketConn(c)
	}
	in := make([]ipv4.Message, udpBatch)
	out := make([]ipv4.Message, 0, udpBatch)
	bufs := make([][]byte, udpBatch) // reply buffers
	iovs := make([][1][]byte, udpBatch)
	for i := range in {
		in[i].Buffers = [][]byte{make([]byte, udpQueryMax)}
		if l.wildcard {
			in[i].OOB = make([]byte, 128)
		}
		bufs[i] = make([]byte, 0, udpCap)
	}
	var q query
	for {
		n, err := bc.ReadBatch(in, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		v := l.view(l.s.table.Load())
		out = out[:0]
		for i := range in[:n] {
			m := &in[i]
			var src []byte
			if l.wildcard {
				src = l.replySource(m.OOB[:m.NN])
			}
			msg := m.Buffers[0][:m.N]
			reply, next := respond(v, &q, msg, false, bufs[i][:0])
			if next != done {
				reply = l.recurseUDP(ctx, c, &q, msg, m.Addr, src)
			}
			if reply == nil {
				continue
			}
			l.counter.count(replyRcode(&q, reply))
			iovs[len(out)][0] = reply
			out = append(out, ipv4.Message{Buffers: iovs[len(out)][:], OOB: src, Addr: m.Addr})
		}
		for len(out) > 0 {
			sent, err := bc.WriteBatch(out, 0)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// A reply that cannot be sent is dropped, as a lost datagram.
			out = out[max(sent, 1):]
		}
	}
}

// recurseUDP resolves a query in a goroutine of its own and returns nil,
// or, when too many are being resolved already, returns SERVFAIL.
func (l *listener) recurseUDP(ctx context.Context, c *net.UDPConn, q *query, msg []byte, from net.Addr, src []byte) []byte {
	select {
	case l.s.slow <- struct{}{}:
	default:
		return errorReply(nil, q, dns.RcodeServerFailure)
	}
	msg = append([]byte(nil), msg...)
	src = append([]byte(nil), src...)
	go func() {
		defer func() { <-l.s.slow }()
		var q query
		v := l.view(l.s.table.Load())
		reply, next := respond(v, &q, msg, false, nil)
		if next != done {
			reply = l.s.recurse(ctx, v, &q, reply, next, false)
		}
		if reply != nil {
			l.counter.count(replyRcode(&q, reply))
			_, _, _ = c.WriteMsgUDP(reply, src, from.(*net.UDPAddr))
		}
	}()
	return nil
}

// acceptTCP serves each TCP connection in a goroutine of its own.
func (l *listener) acceptTCP(ctx context.Context) {
	for {
		c, err := l.tcp.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors, most likely: let some close.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		l.mu.Lock()
		if ctx.Err() != nil {
			// close has closed the connections it knew of.
			l.mu.Unlock()
			_ = c.Close()
			return
		}
		l.conns[c] = true
		l.mu.Unlock()
		l.wg.Go(func() {
			defer func() {
				l.mu.Lock()
				delete(l.conns, c)
				l.mu.Unlock()
				_ = c.Close()
			}()
			l.serveTCP(ctx, c)
		})
	}
}

// serveTCP answers a connection's queries in turn (RFC 7766), until it
// closes or stays idle for tcpIdle.
func (l *listener) serveTCP(ctx context.Context, c net.Conn) {
	r := bufio.NewReader(c)
	msg := make([]byte, dns.MaxMsgSize)
	out := make([]byte, 0, 4096)
	var frame []byte
	var q query
	for {
		_ = c.SetReadDeadline(time.Now().Add(tcpIdle))
		var length [2]byte
		if _, err := io.ReadFull(r, length[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(length[:]))
		if _, err := io.ReadFull(r, msg[:n]); err != nil {
			return
		}
		v := l.view(l.s.table.Load())
		reply, next := respond(v, &q, msg[:n], true, out[:0])
		if next != done {
			reply = l.s.recurse(ctx, v, &q, reply, next, true)
		}
		if reply == nil {
			continue
		}
		l.counter.count(replyRcode(&q, reply))
		frame = append(binary.BigEndian.AppendUint16(frame[:0], uint16(len(reply))), reply...)
		_ = c.SetWriteDeadline(time.Now().Add(tcpIdle))
		if _, err := c.Write(frame); err != nil {
			return
		}
	}
}

// replyRcode is the rcode of a reply to q: its header's, or BADVERS,
// the one extended rcode replies carry.
func replyRcode(q *query, reply []byte) int {
	rcode := int(reply[3] & 0xF)
	if rcode == dns.RcodeSuccess && q.edns && q.ednsVersion != 0 {
		return dns.RcodeBadVers
	}
	return rcode
}
