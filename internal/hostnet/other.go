//go:build !linux

package hostnet

import (
	"context"
	"errors"
	"net/netip"
)

var errNotLinux = errors.New("hostnet: VPC networking needs Linux")

func EnsureVPC(VPC) error                                 { return errNotLinux }
func RemoveVPC(string, netip.Prefix) error                { return errNotLinux }
func Attach(int, Interface) error                         { return errNotLinux }
func ApplyFirewall(context.Context, string, Policy) error { return errNotLinux }
func HostNetworks() ([]netip.Prefix, error)               { return nil, errNotLinux }
func HoldRange(netip.Prefix) error                        { return errNotLinux }
func ReleaseBridge(string) (bool, error)                  { return false, errNotLinux }

// FreeBind is Linux's; elsewhere an address must exist before a socket
// binds it.
func FreeBind(uintptr) error { return nil }
