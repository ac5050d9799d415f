package hostnet

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// unreachableMetric is the metric of the unreachable route berth holds for
// each VPC's range: higher than the kernel's route of a subnet on the
// bridge, so the subnets win and every other address of the range fails
// at once, here, instead of leaving by the default route.
const unreachableMetric = 4242

// EnsureVPC makes the host carry a VPC: its bridge, up, with each
// subnet's router address, the VPC's resolver address and its host
// addresses, and the unreachable
// route for its range. A range that overlaps a network of the host that
// is not this VPC's is refused: its traffic would go to the wrong place.
func EnsureVPC(v VPC) error {
	if !v.CIDR.Addr().Is4() {
		return fmt.Errorf("hostnet: VPC %s: range %s is not IPv4", v.ID, v.CIDR)
	}
	name := BridgeName(v.ID)
	if err := checkOverlap(v, name); err != nil {
		return err
	}
	link, err := ensureBridge(name)
	if err != nil {
		return fmt.Errorf("%w (VPC %s)", err, v.ID)
	}
	addrs := make([]netip.Prefix, 0, len(v.Subnets)+len(v.HostAddresses)+1)
	for _, s := range v.Subnets {
		addrs = append(addrs, netip.PrefixFrom(Router(s), s.Bits()))
	}
	addrs = append(addrs, netip.PrefixFrom(Resolver(v.CIDR), 32))
	for _, a := range v.HostAddresses {
		addrs = append(addrs, netip.PrefixFrom(a, 32))
	}
	for _, p := range addrs {
		addr := &netlink.Addr{IPNet: ipNet(p)}
		if err := netlink.AddrReplace(link, addr); err != nil {
			return fmt.Errorf("hostnet: add %s to bridge %s: %w", p, name, err)
		}
	}
	route := &netlink.Route{Dst: ipNet(v.CIDR.Masked()), Type: unix.RTN_UNREACHABLE, Priority: unreachableMetric}
	if err := netlink.RouteReplace(route); err != nil {
		return fmt.Errorf("hostnet: hold the range %s of VPC %s on this host: %w", v.CIDR, v.ID, err)
	}
	return prepareForwarding()
}

// HoldRange holds a VPC's range on the host without carrying it: an
// unreachable route, so that a packet to an address of a VPC no
// interface of this host uses fails here at once instead of leaving by the
// default route.
func HoldRange(cidr netip.Prefix) error {
	// A route that holds the whole range and more (the host's network
	// 172.16.0.0/12 around a VPC's 172.31.0.0/16, say) would lose the
	// range to the unreachable route, which is more specific: that range
	// is not held. Routes inside it, more specific, keep their traffic.
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("hostnet: list the host's routes: %w", err)
	}
	for _, r := range routes {
		if r.Dst == nil {
			continue
		}
		dst, ok := netip.AddrFromSlice(r.Dst.IP)
		ones, _ := r.Dst.Mask.Size()
		if ok && ones > 0 && ones < cidr.Bits() && netip.PrefixFrom(dst.Unmap(), ones).Contains(cidr.Addr()) {
			where := "a route of the host"
			if link, err := netlink.LinkByIndex(r.LinkIndex); err == nil {
				where = link.Attrs().Name
			}
			return &OverlapError{CIDR: cidr, Other: netip.PrefixFrom(dst.Unmap(), ones).Masked(), Where: where}
		}
	}
	route := &netlink.Route{Dst: ipNet(cidr.Masked()), Type: unix.RTN_UNREACHABLE, Priority: unreachableMetric}
	if err := netlink.RouteReplace(route); err != nil {
		return fmt.Errorf("hostnet: hold the range %s on this host: %w", cidr, err)
	}
	return nil
}

// ReleaseBridge removes a VPC's bridge when nothing is attached to it any
// more (its range stays held); it reports whether the bridge is gone.
// One with ports stays: an interface attached meanwhile keeps its network.
func ReleaseBridge(vpcID string) (bool, error) {
	link, err := netlink.LinkByName(BridgeName(vpcID))
	if _, missing := err.(netlink.LinkNotFoundError); missing {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	links, err := netlink.LinkList()
	if err != nil {
		return false, err
	}
	for _, l := range links {
		if l.Attrs().MasterIndex == link.Attrs().Index {
			return false, nil
		}
	}
	if err := netlink.LinkDel(link); err != nil {
		return false, fmt.Errorf("hostnet: remove bridge %s: %w", link.Attrs().Name, err)
	}
	return true, nil
}

// LocalLink is the interface that holds the host's own link-local
// addresses berth serves on (the task metadata endpoint): a bridge without
// ports, which some kernels make where they cannot make a dummy link.
const LocalLink = "berthlocal0"

// EnsureLocalAddress puts addr on LocalLink, making the link first.
func EnsureLocalAddress(addr netip.Prefix) error {
	link, err := ensureBridge(LocalLink)
	if err != nil {
		return err
	}
	if err := netlink.AddrReplace(link, &netlink.Addr{IPNet: ipNet(addr)}); err != nil {
		return fmt.Errorf("hostnet: add %s to %s: %w", addr, LocalLink, err)
	}
	return nil
}

// ensureBridge returns the bridge called name, up, making it first.
func ensureBridge(name string) (netlink.Link, error) {
	link, err := netlink.LinkByName(name)
	if _, missing := err.(netlink.LinkNotFoundError); missing {
		attrs := netlink.NewLinkAttrs()
		attrs.Name = name
		if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("hostnet: create bridge %s: %w", name, err)
		}
		link, err = netlink.LinkByName(name)
	}
	if err != nil {
		return nil, fmt.Errorf("hostnet: bridge %s: %w", name, err)
	}
	// A bridge takes the lowest MAC of its ports unless given one: a task
	// stopping would then change the MAC of its VPC's router under the
	// other tasks, whose cached one stops answering until their ARP entries
	// expire.
	if mac := bridgeMAC(name); link.Attrs().HardwareAddr.String() != mac.String() {
		if err := netlink.LinkSetHardwareAddr(link, mac); err != nil {
			return nil, fmt.Errorf("hostnet: set the MAC of bridge %s: %w", name, err)
		}
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return nil, fmt.Errorf("hostnet: bring up bridge %s: %w", name, err)
	}
	return link, nil
}

// bridgeMAC is a bridge's own MAC: locally administered, derived from its
// name.
func bridgeMAC(name string) net.HardwareAddr {
	sum := sha256.Sum256([]byte("berth/bridge/" + name))
	mac := net.HardwareAddr(sum[:6])
	mac[0] = mac[0]&0xfc | 0x02 // locally administered, unicast
	return mac
}

// RemoveVPC removes a VPC's bridge and route; a VPC the host does not
// carry is no error.
func RemoveVPC(vpcID string, cidr netip.Prefix) error {
	if cidr.IsValid() {
		route := &netlink.Route{Dst: ipNet(cidr.Masked()), Type: unix.RTN_UNREACHABLE, Priority: unreachableMetric}
		if err := netlink.RouteDel(route); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("hostnet: remove the route of VPC %s: %w", vpcID, err)
		}
	}
	link, err := netlink.LinkByName(BridgeName(vpcID))
	if _, missing := err.(netlink.LinkNotFoundError); missing {
		return nil
	}
	if err != nil {
		return err
	}
	if err := netlink.LinkDel(link); err != nil {
		return fmt.Errorf("hostnet: remove bridge %s: %w", link.Attrs().Name, err)
	}
	return nil
}

// checkOverlap refuses a VPC range that overlaps a route of the host
// other than the VPC's own (its bridge's subnets and its unreachable
// route): another VPC's, Docker's, or the host's networks.
func checkOverlap(v VPC, bridge string) error {
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("hostnet: list the host's routes: %w", err)
	}
	for _, r := range routes {
		if r.Dst == nil {
			continue // the default route: every VPC is more specific
		}
		dst, ok := netip.AddrFromSlice(r.Dst.IP)
		if !ok {
			continue
		}
		ones, _ := r.Dst.Mask.Size()
		p := netip.PrefixFrom(dst.Unmap(), ones)
		if ones == 0 || !p.Overlaps(v.CIDR) {
			continue
		}
		if r.Type == unix.RTN_UNREACHABLE && r.Priority == unreachableMetric && p == v.CIDR.Masked() {
			continue // this VPC's own
		}
		dev := ""
		if link, err := netlink.LinkByIndex(r.LinkIndex); err == nil {
			dev = link.Attrs().Name
		}
		if dev == bridge {
			continue
		}
		where := "an unreachable route"
		switch {
		case strings.HasPrefix(dev, BridgePrefix):
			where = dev + ", the bridge of another VPC of berth: another server's, or one left by a server whose data is gone, which `ip link del " + dev + "` removes"
		case dev != "":
			where = dev
		}
		if r.Type == unix.RTN_UNREACHABLE && r.Priority == unreachableMetric {
			where = "another VPC of berth"
		}
		return &OverlapError{VPC: v.ID, CIDR: v.CIDR, Other: p, Where: where}
	}
	return nil
}

// prepareForwarding makes the kernel forward between the bridges and pass
// bridged traffic through the IP hooks (where the security groups are),
// and lets Docker's forward chain pass berth's bridges: Docker drops
// forwarded traffic it does not know, and a drop in any chain is final, so
// berth's own table cannot undo it.
func prepareForwarding() error {
	for path, value := range map[string]string{
		"/proc/sys/net/ipv4/ip_forward":                 "1",
		"/proc/sys/net/bridge/bridge-nf-call-iptables":  "1",
		"/proc/sys/net/bridge/bridge-nf-call-ip6tables": "1",
	} {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) && strings.Contains(path, "/bridge/") {
			// br_netfilter is a module on most kernels.
			_ = exec.Command("modprobe", "br_netfilter").Run()
		}
		if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
			return fmt.Errorf("hostnet: set %s: %w", path, err)
		}
	}
	return allowInDockerChain()
}

// allowInDockerChain adds, once, the rules that let berth's bridges
// through Docker's DOCKER-USER chain (when Docker made one).
func allowInDockerChain() error {
	iptables, err := exec.LookPath("iptables")
	if err != nil {
		return nil // no iptables: no Docker chains to pass either
	}
	if exec.Command(iptables, "-w", "-n", "-L", "DOCKER-USER").Run() != nil {
		return nil
	}
	for _, dir := range []string{"-i", "-o"} {
		rule := []string{"DOCKER-USER", dir, BridgePrefix + "+", "-j", "ACCEPT"}
		if exec.Command(iptables, append([]string{"-w", "-C"}, rule...)...).Run() == nil {
			continue
		}
		if out, err := exec.Command(iptables, append([]string{"-w", "-I"}, rule...)...).CombinedOutput(); err != nil {
			return fmt.Errorf("hostnet: let berth's bridges through Docker's chain: %v: %s", err, out)
		}
	}
	return nil
}

// ApplyFirewall makes the host enforce p, replacing atomically what the
// agent's table held: with nftables (Render), or with iptables
// (RenderIPTables) where the nft command is missing.
func ApplyFirewall(ctx context.Context, table string, p Policy) error {
	if _, err := exec.LookPath("nft"); err == nil {
		return applyNFT(ctx, Render(table, p))
	}
	if _, err := exec.LookPath("iptables-restore"); err == nil {
		return applyIPTables(ctx, table, p)
	}
	return errors.New("hostnet: security groups are enforced with nftables or iptables, and neither nft nor iptables-restore is installed (apt-get install nftables)")
}

func applyNFT(ctx context.Context, ruleset string) error {
	cmd := exec.CommandContext(ctx, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(ruleset)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("hostnet: load the security group rules: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// applyIPTables loads RenderIPTables' chains, then adds the jumps into
// them that are missing.
func applyIPTables(ctx context.Context, table string, p Policy) error {
	listing, err := exec.CommandContext(ctx, "iptables", "-w", "-t", "filter", "-S").Output()
	if err != nil {
		return fmt.Errorf("hostnet: list the iptables chains: %w", err)
	}
	var chains []string
	for _, line := range strings.Split(string(listing), "\n") {
		if name, ok := strings.CutPrefix(line, "-N "); ok {
			chains = append(chains, strings.TrimSpace(name))
		}
	}
	cmd := exec.CommandContext(ctx, "iptables-restore", "-w", "--noflush")
	cmd.Stdin = strings.NewReader(RenderIPTables(table, p, chains))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("hostnet: load the security group rules: %v: %s", err, strings.TrimSpace(string(out)))
	}
	for _, hook := range IPTablesHooks(table) {
		t, chain, rule := hook[0], hook[1], hook[2:]
		check := append([]string{"-w", "-t", t, "-C", chain}, rule...)
		if exec.CommandContext(ctx, "iptables", check...).Run() == nil {
			continue
		}
		insert := append([]string{"-w", "-t", t, "-I", chain, "1"}, rule...)
		if out, err := exec.CommandContext(ctx, "iptables", insert...).CombinedOutput(); err != nil {
			return fmt.Errorf("hostnet: jump to berth's chains from %s: %v: %s", chain, err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// HostNetworks returns the ranges the host routes to other than berth's
// (its VPC bridges and their unreachable routes) and the default route:
// the networks a new VPC must not overlap.
func HostNetworks() ([]netip.Prefix, error) {
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("hostnet: list the host's routes: %w", err)
	}
	var out []netip.Prefix
	for _, r := range routes {
		if r.Dst == nil || r.Type == unix.RTN_UNREACHABLE && r.Priority == unreachableMetric {
			continue
		}
		if link, err := netlink.LinkByIndex(r.LinkIndex); err == nil && strings.HasPrefix(link.Attrs().Name, BridgePrefix) {
			continue
		}
		dst, ok := netip.AddrFromSlice(r.Dst.IP)
		ones, _ := r.Dst.Mask.Size()
		if ok && ones > 0 {
			out = append(out, netip.PrefixFrom(dst.Unmap(), ones).Masked())
		}
	}
	return out, nil
}
