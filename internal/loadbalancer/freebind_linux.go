package loadbalancer

import "golang.org/x/sys/unix"

// freebind lets a socket bind an address the host does not have yet.
func freebind(fd uintptr) error {
	return unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_FREEBIND, 1)
}
