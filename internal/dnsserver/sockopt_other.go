//go:build !linux

package dnsserver

import "syscall"

// reusePort is Linux's; elsewhere one UDP socket serves an address.
const reusePort = false

// control sets no options: IP_FREEBIND is Linux's, so a VPC's resolver
// must have its address before it listens.
func control(bool, bool) func(network, address string, c syscall.RawConn) error {
	return nil
}
