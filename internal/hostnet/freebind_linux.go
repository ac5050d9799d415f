package hostnet

import "golang.org/x/sys/unix"

// FreeBind lets the socket fd bind an address the host does not have yet:
// a load balancer's or a VPC resolver's, which the agent puts on the
// VPC's bridge when it carries the VPC.
func FreeBind(fd uintptr) error {
	return unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_FREEBIND, 1)
}
