package hostnet

// Tests against the real kernel: network namespaces stand in for tasks,
// and this test binary, run inside them, serves and dials. They need root
// and nft; they skip without, and fail instead when CI=true.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Roles of this binary when a test runs it inside a namespace.
const (
	serveEnv = "BERTH_HOSTNET_SERVE" // listen on this address, answer "ok"
	dialEnv  = "BERTH_HOSTNET_DIAL"  // dial this address; exit 0 when answered
)

func TestMain(m *testing.M) {
	if addr := os.Getenv(serveEnv); addr != "" {
		serve(addr)
		return
	}
	if addr := os.Getenv(dialEnv); addr != "" {
		if err := dial(addr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	os.Exit(m.Run())
}

func serve(addr string) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		_, _ = io.WriteString(c, "ok")
		_ = c.Close()
	}
}

func dial(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 700*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		return err
	}
	if string(b) != "ok" {
		return fmt.Errorf("got %q", b)
	}
	return nil
}

func requireKernel(t *testing.T) {
	t.Helper()
	why := ""
	switch {
	case os.Geteuid() != 0:
		why = "needs root"
	default:
		if _, err := exec.LookPath("nft"); err != nil {
			why = "needs nft"
		} else if _, err := exec.LookPath("ip"); err != nil {
			why = "needs ip"
		}
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// namespace is a network namespace with this binary serving on port 8080
// inside it.
type namespace struct {
	name string
	pid  int
}

func newNamespace(t *testing.T, port int) namespace {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "berthtest-" + hex.EncodeToString(b[:])
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	cmd := exec.Command("ip", "netns", "exec", name, os.Args[0])
	cmd.Env = append(os.Environ(), serveEnv+"=0.0.0.0:"+strconv.Itoa(port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return namespace{name: name, pid: cmd.Process.Pid}
}

// dialFrom dials addr from inside ns.
func (ns namespace) dial(addr string) error {
	cmd := exec.Command("ip", "netns", "exec", ns.name, os.Args[0])
	cmd.Env = append(os.Environ(), dialEnv+"="+addr)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// freeVPCRange is a /16 of 10.200.0.0/13 that no route of the host
// touches.
func freeVPCRange(t *testing.T) netip.Prefix {
	t.Helper()
	out, err := exec.Command("ip", "-4", "route", "show", "table", "all").Output()
	if err != nil {
		t.Fatal(err)
	}
	for i := 200; i < 208; i++ {
		p := netip.MustParsePrefix(fmt.Sprintf("10.%d.0.0/16", i))
		if !strings.Contains(string(out), fmt.Sprintf("10.%d.", i)) {
			return p
		}
	}
	t.Skip("no free /16 in 10.200.0.0/13")
	return netip.Prefix{}
}

func TestVPCNetworkAndSecurityGroups(t *testing.T) {
	requireKernel(t)
	ctx := context.Background()
	cidr := freeVPCRange(t)
	base := cidr.Addr().As4()
	subnet := netip.PrefixFrom(netip.AddrFrom4([4]byte{base[0], base[1], 1, 0}), 24)
	addrA := netip.AddrFrom4([4]byte{base[0], base[1], 1, 10})
	addrB := netip.AddrFrom4([4]byte{base[0], base[1], 1, 11})
	addrLB := netip.AddrFrom4([4]byte{base[0], base[1], 1, 20})
	var vb [9]byte
	_, _ = rand.Read(vb[:])
	vpcID := "vpc-" + hex.EncodeToString(vb[:])[:17]
	vpc := VPC{ID: vpcID, CIDR: cidr, Subnets: []netip.Prefix{subnet}, HostAddresses: []netip.Addr{addrLB}}
	if err := EnsureVPC(vpc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = exec.Command("nft", "delete", "table", "inet", TableName).Run()
		removeIPTables(TableName)
		if err := RemoveVPC(vpcID, cidr); err != nil {
			t.Error(err)
		}
	})
	if err := EnsureVPC(vpc); err != nil {
		t.Fatalf("EnsureVPC again: %v", err)
	}

	a, b := newNamespace(t, 8080), newNamespace(t, 8080)
	ifA := Interface{ID: "eni-a" + hex.EncodeToString(vb[:8]), VPC: vpcID, Address: netip.PrefixFrom(addrA, 24), MAC: "02:00:00:00:00:0a"}
	ifB := Interface{ID: "eni-b" + hex.EncodeToString(vb[:8]), VPC: vpcID, Address: netip.PrefixFrom(addrB, 24), MAC: "02:00:00:00:00:0b"}
	for _, x := range []struct {
		ns namespace
		i  Interface
	}{{a, ifA}, {b, ifB}} {
		if err := Attach(x.ns.pid, x.i); err != nil {
			t.Fatal(err)
		}
		if err := Attach(x.ns.pid, x.i); err != nil {
			t.Fatalf("Attach again: %v", err)
		}
	}

	// The bridge keeps its own MAC whatever ports come and go: the tasks
	// cache it as their router's.
	if br, err := netlink.LinkByName(BridgeName(vpcID)); err != nil || br.Attrs().HardwareAddr.String() != bridgeMAC(BridgeName(vpcID)).String() {
		t.Errorf("bridge MAC %v, %v; want %s", br, err, bridgeMAC(BridgeName(vpcID)))
	}

	const gA, gB, gLB = "sg-00000000000000a01", "sg-00000000000000b01", "sg-00000000000000c01"
	policy := func(aIngress ...Rule) Policy {
		return Policy{
			VPCs: []VPC{vpc},
			Interfaces: []PolicyInterface{
				{ID: ifA.ID, VPC: vpcID, Address: addrA, Groups: []string{gA}},
				{ID: ifB.ID, VPC: vpcID, Address: addrB, Groups: []string{gB}},
				{ID: "eni-c00000000000001", VPC: vpcID, Address: addrLB, Groups: []string{gLB}, Host: true},
			},
			Groups: []Group{
				{ID: gA, VPC: vpcID, Ingress: aIngress, Egress: []Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, CIDR: "0.0.0.0/0"}}},
				{ID: gB, VPC: vpcID, Default: true, Egress: []Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, CIDR: "0.0.0.0/0"}}},
				{ID: gLB, VPC: vpcID, Egress: []Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, CIDR: "0.0.0.0/0"}}},
			},
		}
	}
	hostDial := func(from netip.Addr, to netip.Addr) error {
		d := net.Dialer{Timeout: 700 * time.Millisecond}
		if from.IsValid() {
			d.LocalAddr = &net.TCPAddr{IP: from.AsSlice()}
		}
		c, err := d.Dial("tcp", netip.AddrPortFrom(to, 8080).String())
		if err != nil {
			return err
		}
		return c.Close()
	}
	portA, portB := netip.AddrPortFrom(addrA, 8080).String(), netip.AddrPortFrom(addrB, 8080).String()

	// Each backend enforces the same groups, alone.
	backends := []struct {
		name   string
		apply  func(context.Context, string, Policy) error
		remove func()
	}{
		{"nftables", func(ctx context.Context, table string, p Policy) error { return applyNFT(ctx, Render(table, p)) },
			func() { _ = exec.Command("nft", "delete", "table", "inet", TableName).Run() }},
		{"iptables", applyIPTables, func() { removeIPTables(TableName) }},
	}
	for _, backend := range backends {
		t.Run(backend.name, func(t *testing.T) {
			if backend.name == "iptables" {
				if _, err := exec.LookPath("iptables-restore"); err != nil {
					t.Skip("needs iptables-restore")
				}
			}
			defer backend.remove()
			apply := func(p Policy) {
				t.Helper()
				if err := backend.apply(ctx, TableName, p); err != nil {
					t.Fatal(err)
				}
			}
			// A admits 8080 from B's group and the load balancer's only.
			apply(policy(Rule{Protocol: "tcp", FromPort: 8080, ToPort: 8080, Group: gB}, Rule{Protocol: "tcp", FromPort: 8080, ToPort: 8080, Group: gLB}))
			if err := b.dial(portA); err != nil {
				t.Errorf("B -> A:8080, admitted by A's group: %v", err)
			}
			if err := a.dial(portB); err == nil {
				t.Error("A -> B:8080 passed, though B's default group admits only its own members")
			}
			if err := hostDial(netip.Addr{}, addrA); err == nil {
				t.Error("host -> A:8080 passed, though A's group does not admit the host")
			}
			if err := hostDial(addrLB, addrA); err != nil {
				t.Errorf("load balancer address -> A:8080, admitted by group: %v", err)
			}
			if err := hostDial(netip.Addr{}, addrB); err != nil {
				t.Errorf("host -> B:8080, B in the default group: %v", err)
			}

			// A rule added takes effect on the running namespaces.
			apply(policy(Rule{Protocol: "tcp", FromPort: 8000, ToPort: 9000, CIDR: cidr.String()}))
			if err := hostDial(netip.Addr{}, addrA); err != nil {
				t.Errorf("host -> A:8080 after admitting the VPC's range: %v", err)
			}
			if err := a.dial(portB); err == nil {
				t.Error("A -> B:8080 passed after an unrelated change")
			}
			// Applied again, unchanged: the same verdicts.
			apply(policy(Rule{Protocol: "tcp", FromPort: 8000, ToPort: 9000, CIDR: cidr.String()}))
			if err := hostDial(netip.Addr{}, addrA); err != nil {
				t.Errorf("host -> A:8080 after applying the same groups again: %v", err)
			}
		})
	}

	// An address of the range that no interface has fails here at once.
	nobody := netip.AddrFrom4([4]byte{base[0], base[1], 9, 9})
	start := time.Now()
	err := hostDial(netip.Addr{}, nobody)
	if err == nil || !errors.Is(err, syscall.EHOSTUNREACH) && !errors.Is(err, syscall.ENETUNREACH) {
		t.Errorf("dial %s outside the VPC's subnets: %v, want unreachable", nobody, err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("dial %s took %s, want an immediate failure", nobody, d)
	}

	// A range overlapping this VPC's is refused.
	other := VPC{ID: "vpc-" + hex.EncodeToString(vb[:])[1:18], CIDR: netip.PrefixFrom(cidr.Addr(), 20)}
	var overlap *OverlapError
	if err := EnsureVPC(other); !errors.As(err, &overlap) {
		t.Errorf("EnsureVPC of an overlapping range: %v, want an OverlapError", err)
	}
}

// removeIPTables removes the jumps into an agent's iptables chains and the
// chains.
func removeIPTables(table string) {
	for _, hook := range IPTablesHooks(table) {
		_ = exec.Command("iptables", append([]string{"-w", "-t", hook[0], "-D", hook[1]}, hook[2:]...)...).Run()
	}
	for _, t := range []string{"filter", "nat"} {
		out, _ := exec.Command("iptables", "-w", "-t", t, "-S").Output()
		var chains []string
		for _, line := range strings.Split(string(out), "\n") {
			if name, ok := strings.CutPrefix(line, "-N "+iptablesChainPrefix(table)+"-"); ok {
				chains = append(chains, iptablesChainPrefix(table)+"-"+name)
			}
		}
		for _, c := range chains {
			_ = exec.Command("iptables", "-w", "-t", t, "-F", c).Run()
		}
		for _, c := range chains {
			_ = exec.Command("iptables", "-w", "-t", t, "-X", c).Run()
		}
	}
}

// TestHoldRangeLeavesContainingNetworks checks that a range a network of
// the host contains is not held (the unreachable route, more specific,
// would take that network's traffic), and that one it does not is.
func TestHoldRangeLeavesContainingNetworks(t *testing.T) {
	requireKernel(t)
	cidr := freeVPCRange(t)
	around := netip.PrefixFrom(cidr.Addr(), 15).Masked()
	link := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "berthtest0"}}
	if err := netlink.LinkAdd(link); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = netlink.LinkDel(link) })
	if err := netlink.LinkSetUp(link); err != nil {
		t.Fatal(err)
	}
	if err := netlink.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Dst: ipNet(around)}); err != nil {
		t.Fatal(err)
	}
	var overlap *OverlapError
	if err := HoldRange(cidr); !errors.As(err, &overlap) || overlap.Other != around {
		t.Errorf("HoldRange(%s) inside %s: %v, want an OverlapError naming %s", cidr, around, err, around)
	}
	if err := netlink.LinkDel(link); err != nil {
		t.Fatal(err)
	}
	if err := HoldRange(cidr); err != nil {
		t.Fatalf("HoldRange(%s) with nothing around it: %v", cidr, err)
	}
	t.Cleanup(func() {
		_ = netlink.RouteDel(&netlink.Route{Dst: ipNet(cidr), Type: unix.RTN_UNREACHABLE, Priority: unreachableMetric})
	})
}
