package dnsserver

import (
	"errors"
	"syscall"

	"github.com/berth/berth/internal/hostnet"
	"golang.org/x/sys/unix"
)

// reusePort says several UDP sockets can share a port, each with its own
// reader: the kernel spreads the queries over them by client address.
const reusePort = true

// control sets a listener's socket options: IP_FREEBIND binds an address
// the host does not have yet (a VPC's resolver, before the agent puts it
// on the VPC's bridge), SO_REUSEPORT shares the port.
func control(freebind, reuse bool) func(network, address string, c syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if freebind {
				serr = hostnet.FreeBind(fd)
			}
			if reuse && serr == nil {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			}
		})
		return errors.Join(err, serr)
	}
}
