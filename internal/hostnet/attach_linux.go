package hostnet

import (
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// containerInterface is the interface's name inside the task.
const containerInterface = "eth0"

// Attach gives the network namespace of process pid the interface i: a
// veth pair whose host end joins the VPC's bridge (EnsureVPC first) and
// whose other end, inside, is eth0 with the interface's MAC and address
// and a default route through the subnet's router. Attaching an interface
// the namespace has already is no error.
func Attach(pid int, i Interface) error {
	if err := i.validate(); err != nil {
		return err
	}
	bridge, err := netlink.LinkByName(BridgeName(i.VPC))
	if err != nil {
		return fmt.Errorf("hostnet: bridge of VPC %s: %w", i.VPC, err)
	}
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		return fmt.Errorf("hostnet: network namespace of process %d: %w", pid, err)
	}
	defer ns.Close()
	inside, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("hostnet: enter the network namespace of process %d: %w", pid, err)
	}
	defer inside.Close()
	if _, err := inside.LinkByName(containerInterface); err == nil {
		return nil
	}

	hostEnd := vethName(i.ID)
	peer := "bvp" + hexPart(i.ID, 12)
	if old, err := netlink.LinkByName(hostEnd); err == nil {
		// Left by an attach that failed half-way (or a namespace that
		// died): the name is needed again.
		_ = netlink.LinkDel(old)
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name = hostEnd
	attrs.MasterIndex = bridge.Attrs().Index
	attrs.MTU = bridge.Attrs().MTU
	veth := &netlink.Veth{LinkAttrs: attrs, PeerName: peer}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("hostnet: create the veth of interface %s: %w", i.ID, err)
	}
	fail := func(err error) error {
		if l, lerr := netlink.LinkByName(hostEnd); lerr == nil {
			_ = netlink.LinkDel(l)
		}
		return err
	}
	peerLink, err := netlink.LinkByName(peer)
	if err != nil {
		return fail(fmt.Errorf("hostnet: veth peer of interface %s: %w", i.ID, err))
	}
	if err := netlink.LinkSetNsFd(peerLink, int(ns)); err != nil {
		return fail(fmt.Errorf("hostnet: move interface %s into process %d's namespace: %w", i.ID, pid, err))
	}
	hostLink, err := netlink.LinkByName(hostEnd)
	if err != nil {
		return fail(err)
	}
	if err := netlink.LinkSetUp(hostLink); err != nil {
		return fail(fmt.Errorf("hostnet: bring up %s: %w", hostEnd, err))
	}

	link, err := inside.LinkByName(peer)
	if err != nil {
		return fail(fmt.Errorf("hostnet: find interface %s in the task: %w", i.ID, err))
	}
	if err := inside.LinkSetName(link, containerInterface); err != nil {
		return fail(fmt.Errorf("hostnet: name interface %s %s: %w", i.ID, containerInterface, err))
	}
	if i.MAC != "" {
		mac, err := net.ParseMAC(i.MAC)
		if err != nil {
			return fail(fmt.Errorf("hostnet: interface %s: MAC %q: %w", i.ID, i.MAC, err))
		}
		if err := inside.LinkSetHardwareAddr(link, mac); err != nil {
			return fail(fmt.Errorf("hostnet: set the MAC of interface %s: %w", i.ID, err))
		}
	}
	if err := inside.AddrAdd(link, &netlink.Addr{IPNet: ipNet(i.Address)}); err != nil && !errors.Is(err, unix.EEXIST) {
		return fail(fmt.Errorf("hostnet: give interface %s its address %s: %w", i.ID, i.Address, err))
	}
	if err := inside.LinkSetUp(link); err != nil {
		return fail(fmt.Errorf("hostnet: bring up interface %s: %w", i.ID, err))
	}
	if lo, err := inside.LinkByName("lo"); err == nil {
		_ = inside.LinkSetUp(lo)
	}
	gw := i.Gateway()
	route := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: net.IP(gw.AsSlice())}
	if err := inside.RouteReplace(route); err != nil {
		return fail(fmt.Errorf("hostnet: route interface %s through %s: %w", i.ID, gw, err))
	}
	return nil
}
