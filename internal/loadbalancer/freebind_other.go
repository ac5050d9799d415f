//go:build !linux

package loadbalancer

// freebind is Linux's; elsewhere a load balancer's address must exist
// before it listens.
func freebind(uintptr) error { return nil }
