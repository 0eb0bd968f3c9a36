package iptables

// Real-packet tests of the holes Neutron's iptables firewall leaves open
// (issue 7, docs/hardening.md). Each builds a host namespace with the
// reference case's bridge and taps (named as Neutron names them), one
// namespace per local port ("VM") and one behind the uplink ("outside":
// the rest of the network, other hosts). A crafted frame is sent once
// through Neutron's own rules for the case (its iptables-save dump and
// ipset, loaded into the namespace) and once through Bulwark's; the hole
// is that Neutron delivers it, the fix that Bulwark does not. The
// legitimate use next to each hole must pass through both.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/bulwark-net/bulwark/internal/firewall"
	"github.com/bulwark-net/bulwark/internal/model"
)

const (
	outsideMAC = "fa:16:3e:ee:ee:ee" // the uplink side: other hosts
	dhcpMAC    = "fa:16:3e:dd:00:02" // the network's DHCP port, on another host
	routerMAC  = "fa:16:3e:dd:00:01" // the network's router interface
	rogueMAC   = "fa:16:3e:66:66:66"
	bcastMAC   = "ff:ff:ff:ff:ff:ff"
)

type refLab struct {
	c    string
	ns   string // the host
	hs   *firewall.HostState
	vm   map[string]nic // local port name (model) -> its VM's eth0
	port map[string]*firewall.Port
	out  nic // behind the uplink
	v4   string
	net  string // network id
}

func referenceCaseDir(t *testing.T, c string) string {
	shared := os.Getenv("BULWARK_SHARED")
	if shared == "" {
		shared = filepath.Join("..", "..", "..", "..", "shared")
	}
	dir := filepath.Join(shared, "reference", "neutron-iptables", "iptables", c)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("reference case %s not found at %s (set BULWARK_SHARED)", c, dir)
	}
	return dir
}

// referenceState is the host state of a reference case's model.
func referenceState(t *testing.T, c string) *firewall.HostState {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(referenceCaseDir(t, c), "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	hs, err := firewall.LoadReferenceModel(data)
	if err != nil {
		t.Fatal(err)
	}
	return hs
}

// newRefLab builds the case's host. Ports are named by their model name.
func newRefLab(t *testing.T, c string) *refLab {
	t.Helper()
	needKernel(t)
	dir := referenceCaseDir(t, c)
	data, err := os.ReadFile(filepath.Join(dir, "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	hs, err := firewall.LoadReferenceModel(data)
	if err != nil {
		t.Fatal(err)
	}
	var model struct {
		Ports []struct{ ID, Name string } `json:"ports"`
	}
	if err := json.Unmarshal(data, &model); err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, p := range model.Ports {
		names[p.ID] = p.Name
	}
	l := &refLab{c: c, ns: newNetns(t), hs: hs, vm: map[string]nic{}, port: map[string]*firewall.Port{}}
	for _, k := range []string{"net.bridge.bridge-nf-call-iptables=1", "net.bridge.bridge-nf-call-ip6tables=1"} {
		if _, err := shErr(l.ns, "sysctl", "-w", k); err != nil {
			_, _ = shErr("", "modprobe", "br_netfilter")
			if out, err := shErr(l.ns, "sysctl", "-w", k); err != nil {
				t.Skipf("br_netfilter unavailable: %s", out)
			}
		}
	}
	sh(t, l.ns, "ip", "link", "set", "lo", "up")
	for i := range hs.Ports {
		p := &hs.Ports[i]
		l.net = p.NetworkID
		br := firewall.BridgeName(p.NetworkID)
		if _, err := shErr(l.ns, "ip", "link", "show", br); err != nil {
			sh(t, l.ns, "ip", "link", "add", br, "type", "bridge")
			sh(t, l.ns, "ip", "link", "set", br, "up")
		}
		vm := newNetns(t)
		sh(t, "", "ip", "-n", l.ns, "link", "add", p.Dev(), "type", "veth", "peer", "name", "eth0", "netns", vm)
		sh(t, l.ns, "ip", "link", "set", p.Dev(), "master", br, "up")
		vmUp(t, vm, p.MAC)
		for _, a := range p.FixedIPs {
			pr := netip.MustParseAddr(a)
			bits := 24
			if pr.Is6() {
				bits = 64
			} else if l.v4 == "" {
				l.v4 = a
			}
			sh(t, vm, "ip", "addr", "add", fmt.Sprintf("%s/%d", a, bits), "dev", "eth0", "nodad")
		}
		name := names[p.ID]
		if name == "" {
			name = p.ID
		}
		l.vm[name] = nic{vm, "eth0"}
		l.port[name] = p
	}
	out := newNetns(t)
	sh(t, "", "ip", "-n", l.ns, "link", "add", "eth1", "type", "veth", "peer", "name", "eth0", "netns", out)
	sh(t, l.ns, "ip", "link", "set", "eth1", "master", firewall.BridgeName(l.net), "up")
	vmUp(t, out, outsideMAC)
	if l.v4 != "" {
		sh(t, out, "ip", "addr", "add", l.outsideIP()+"/24", "dev", "eth0")
	}
	l.out = nic{out, "eth0"}
	return l
}

func vmUp(t *testing.T, ns, hw string) {
	sh(t, ns, "ip", "link", "set", "lo", "up")
	sh(t, ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
	sh(t, ns, "ip", "link", "set", "eth0", "address", hw)
	sh(t, ns, "ip", "link", "set", "eth0", "up")
}

// outsideIP is an address in the case's IPv4 subnet behind the uplink.
func (l *refLab) outsideIP() string {
	a := netip.MustParseAddr(l.v4).As4()
	a[3] = 200
	return netip.AddrFrom4(a).String()
}

func (l *refLab) wipe(t *testing.T) {
	t.Helper()
	for _, cmd := range []string{"iptables-restore", "ip6tables-restore"} {
		if out, err := shIn(l.ns, "*filter\nCOMMIT\n*raw\nCOMMIT\n", cmd); err != nil {
			t.Fatalf("%s: %v: %s", cmd, err, out)
		}
	}
	sh(t, l.ns, "ipset", "destroy")
	_, _ = shErr(l.ns, "conntrack", "-F")
}

// neutron loads Neutron's own rules for the case.
func (l *refLab) neutron(t *testing.T) {
	t.Helper()
	l.wipe(t)
	dir := referenceCaseDir(t, l.c)
	read := func(n string) string {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	sets := regexp.MustCompile(` bucketsize \d+ initval 0x<random>`).ReplaceAllString(read("ipset-save.txt"), "")
	if out, err := shIn(l.ns, sets, "ipset", "restore"); err != nil {
		t.Fatalf("ipset restore: %v: %s", err, out)
	}
	for _, f := range []struct{ cmd, prefix string }{{"iptables-restore", "iptables"}, {"ip6tables-restore", "ip6tables"}} {
		in := read(f.prefix+"-save.raw.txt") + read(f.prefix+"-save.filter.txt")
		if out, err := shIn(l.ns, in, f.cmd); err != nil {
			t.Fatalf("%s of Neutron's rules: %v: %s", f.cmd, err, out)
		}
	}
}

// bulwark applies Bulwark's rules for hs (the case's state by default).
func (l *refLab) bulwark(t *testing.T, hs *firewall.HostState) *firewall.Ruleset {
	t.Helper()
	if hs == nil {
		hs = l.hs
	}
	rs := firewall.Compile(hs)
	l.apply(t, rs)
	return rs
}

func (l *refLab) apply(t *testing.T, rs *firewall.Ruleset) {
	t.Helper()
	l.wipe(t)
	a := &Applier{Exec: InNetns(l.ns)}
	if err := a.Apply(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
}

// withService returns a copy of the case's state in which the network
// has a DHCP port and a router interface on another host.
func (l *refLab) withService(dhcpIPs ...string) *firewall.HostState {
	h := *l.hs
	h.Networks = map[string]*firewall.Network{}
	for id, n := range l.hs.Networks {
		c := *n
		c.DHCP = []firewall.ServicePort{{ID: "dhcp", MAC: dhcpMAC, FixedIPs: dhcpIPs}}
		c.Routers = []firewall.ServicePort{{ID: "router", MAC: routerMAC}}
		h.Networks[id] = &c
	}
	return &h
}

func shIn(ns, stdin string, argv ...string) (string, error) {
	cmd := append([]string{"ip", "netns", "exec", ns}, argv...)
	c := exec.Command(cmd[0], cmd[1:]...)
	c.Stdin = strings.NewReader(stdin)
	out, err := c.CombinedOutput()
	return string(out), err
}

func ll(m string) string {
	a, _ := firewall.LinkLocal(m)
	return a.String()
}

// check is one frame and where it must (not) arrive under each ruleset.
type check struct {
	name     string
	from, to nic
	frame    func(marker []byte) []byte
	neutron  bool // delivered through Neutron's rules
	bulwark  bool // delivered through Bulwark's
}

// run sends every check through the rules loaded by load and compares
// delivery with want.
func runChecks(t *testing.T, label string, checks []check, want func(check) bool) {
	t.Helper()
	for _, c := range checks {
		m := newMarker()
		got := delivered(t, c.from, c.to, c.frame(m), m)
		if got != want(c) {
			verb := map[bool]string{true: "delivered", false: "dropped"}
			t.Errorf("%s: %s: %s, want %s", label, c.name, verb[got], verb[want(c)])
		}
	}
}

func bothWays(t *testing.T, l *refLab, hs *firewall.HostState, checks []check) {
	t.Helper()
	l.neutron(t)
	runChecks(t, "Neutron", checks, func(c check) bool { return c.neutron })
	l.bulwark(t, hs)
	runChecks(t, "Bulwark", checks, func(c check) bool { return c.bulwark })
}

// Hole 1: an IPv4-only port sends IPv6 from any address and MAC, and its
// spoofed neighbour advertisements reach its neighbours.
func TestHardeningIPv6SpoofFromIPv4OnlyPort(t *testing.T) {
	l := newRefLab(t, "a-keepalived")
	k1, k2 := l.port["keepalived01"], l.port["keepalived02"]
	from2 := pkt{dstMAC: "33:33:00:00:00:01", srcMAC: k2.MAC, src: "fd00::99", dst: "ff02::1"}
	bothWays(t, l, nil, []check{
		{name: "NA from a made-up global address", from: l.vm["keepalived02"], to: l.vm["keepalived01"], neutron: true,
			frame: func(m []byte) []byte { return from2.icmp(136, 0, naBody("fd00::99", k2.MAC, m)) }},
		{name: "TCP from a made-up global address and MAC to the uplink", from: l.vm["keepalived02"], to: l.out, neutron: true,
			frame: func(m []byte) []byte {
				return pkt{dstMAC: outsideMAC, srcMAC: rogueMAC, src: "2001:db8::66", dst: "2001:db8:ff::5"}.tcp(40000, 80, tcpSYN, m)
			}},
		// Legitimate: neighbour discovery from the port's own link-local
		// and DAD from the unspecified address.
		{name: "NA from the port's link-local", from: l.vm["keepalived02"], to: l.vm["keepalived01"], neutron: true, bulwark: true,
			frame: func(m []byte) []byte {
				return pkt{dstMAC: k1.MAC, srcMAC: k2.MAC, src: ll(k2.MAC), dst: ll(k1.MAC)}.icmp(136, 0, naBody(ll(k2.MAC), k2.MAC, m))
			}},
		{name: "DAD neighbour solicitation", from: l.vm["keepalived02"], to: l.out, neutron: true, bulwark: true,
			frame: func(m []byte) []byte {
				return pkt{dstMAC: "33:33:ff:00:00:02", srcMAC: k2.MAC, src: "::", dst: "ff02::1:ff00:2"}.icmp(135, 0, append(make([]byte, 4), m...))
			}},
	})
}

// Hole 5: INVALID is dropped only after the group rules in Neutron.
func TestHardeningInvalidBeforeRules(t *testing.T) {
	l := newRefLab(t, "a-keepalived")
	k1 := l.port["keepalived01"]
	in := pkt{dstMAC: k1.MAC, srcMAC: outsideMAC, src: l.outsideIP(), dst: k1.FixedIPs[0]}
	out := pkt{dstMAC: outsideMAC, srcMAC: k1.MAC, src: k1.FixedIPs[0], dst: l.outsideIP()}
	bothWays(t, l, nil, []check{
		{name: "SYN+FIN to the allowed tcp/22", from: l.out, to: l.vm["keepalived01"], neutron: true,
			frame: func(m []byte) []byte { return in.tcp(40001, 22, tcpSYN|tcpFIN, m) }},
		{name: "unsolicited SYN-ACK from the VM (default egress)", from: l.vm["keepalived01"], to: l.out, neutron: true,
			frame: func(m []byte) []byte { return out.tcp(22, 40002, tcpSYN|tcpACK, m) }},
		{name: "unsolicited echo reply (an icmp rule exists)", from: l.out, to: l.vm["keepalived01"], neutron: true,
			frame: func(m []byte) []byte { return in.icmp(0, 0, echoBody(m)) }},
		{name: "SYN to tcp/22", from: l.out, to: l.vm["keepalived01"], neutron: true, bulwark: true,
			frame: func(m []byte) []byte { return in.tcp(40003, 22, tcpSYN, m) }},
		{name: "echo request", from: l.out, to: l.vm["keepalived01"], neutron: true, bulwark: true,
			frame: func(m []byte) []byte { return in.icmp(8, 0, echoBody(m)) }},
	})
	// A real connection still works end to end.
	if _, err := shErr(l.vm["keepalived02"].ns, "ping", "-c", "1", "-W", "2", k1.FixedIPs[0]); err != nil {
		t.Errorf("ping keepalived02 -> keepalived01 fails under Bulwark's rules")
	}
}

// Hole 6: Neutron never checks the destination of ingress traffic.
func TestHardeningDestinationCheck(t *testing.T) {
	l := newRefLab(t, "a-keepalived")
	k1, k2 := l.port["keepalived01"], l.port["keepalived02"]
	const vip = "172.16.200.251"
	toVIP := func(dst string) func([]byte) []byte {
		return func(m []byte) []byte {
			return pkt{dstMAC: dst, srcMAC: outsideMAC, src: l.outsideIP(), dst: vip}.tcp(40010, 22, tcpSYN, m)
		}
	}
	vrrp := func(m []byte) []byte {
		return pkt{dstMAC: "01:00:5e:00:00:12", srcMAC: k1.MAC, src: k1.FixedIPs[0], dst: "224.0.0.18"}.frame(112, append([]byte{0x21, 51, 100, 1, 0, 1, 0, 0}, m...), -1)
	}
	checks := []check{
		{name: "TCP to the VIP on the port without it", from: l.out, to: l.vm["keepalived02"], neutron: true,
			frame: toVIP(k2.MAC)},
		{name: "TCP to the VIP on the port holding it (pair; LVS-DR)", from: l.out, to: l.vm["keepalived01"], neutron: true, bulwark: true,
			frame: toVIP(k1.MAC)},
		{name: "VRRP to 224.0.0.18", from: l.vm["keepalived01"], to: l.vm["keepalived02"], neutron: true, bulwark: true, frame: vrrp},
		{name: "echo request to the subnet broadcast", from: l.out, to: l.vm["keepalived01"], neutron: true, bulwark: true,
			frame: func(m []byte) []byte {
				return pkt{dstMAC: bcastMAC, srcMAC: outsideMAC, src: l.outsideIP(), dst: "172.16.200.255"}.icmp(8, 0, echoBody(m))
			}},
	}
	bothWays(t, l, nil, checks)
	// Failover: with the VIP as a pair on keepalived02 too (what the
	// keepalived lab configures), the VIP reaches keepalived02.
	h := *l.hs
	h.Ports = append([]firewall.Port(nil), l.hs.Ports...)
	for i := range h.Ports {
		if h.Ports[i].ID == k2.ID {
			h.Ports[i].AddressPairs = append(h.Ports[i].AddressPairs, l.port["keepalived01"].AddressPairs...)
			h.Ports[i].AddressPairs[0].MACAddress = k2.MAC
		}
	}
	l.bulwark(t, &h)
	runChecks(t, "Bulwark, VIP pair on both", []check{{name: "TCP to the VIP after failover", from: l.out, to: l.vm["keepalived02"], frame: toVIP(k2.MAC), bulwark: true}},
		func(c check) bool { return c.bulwark })
}

// Hole 3: rogue DHCP servers and routers, DHCP DISCOVER from any MAC.
func TestHardeningRogueDHCP(t *testing.T) {
	l := newRefLab(t, "b-keepalived-portsec-off")
	k1, k2 := l.port["keepalived01"], l.port["keepalived02"]
	const dhcpIP = "172.16.200.2"
	offer := func(p pkt) func([]byte) []byte {
		return func(m []byte) []byte { return p.udp(67, 68, dhcpBody(2, k1.MAC, k1.FixedIPs[0], m)) }
	}
	bothWays(t, l, l.withService(dhcpIP), []check{
		{name: "OFFER from the VM without port security", from: l.vm["keepalived02"], to: l.vm["keepalived01"], neutron: true,
			frame: offer(pkt{dstMAC: bcastMAC, srcMAC: k2.MAC, src: k2.FixedIPs[0], dst: "255.255.255.255"})},
		{name: "OFFER from a rogue server on another host", from: l.out, to: l.vm["keepalived01"], neutron: true,
			frame: offer(pkt{dstMAC: k1.MAC, srcMAC: rogueMAC, src: "172.16.200.66", dst: k1.FixedIPs[0]})},
		{name: "DISCOVER from a MAC not the port's", from: l.vm["keepalived01"], to: l.out, neutron: true,
			frame: func(m []byte) []byte {
				return pkt{dstMAC: bcastMAC, srcMAC: rogueMAC, src: "0.0.0.0", dst: "255.255.255.255"}.udp(68, 67, dhcpBody(1, rogueMAC, "", m))
			}},
		{name: "DHCPv6 reply to the link-local of an IPv4-only port", from: l.out, to: l.vm["keepalived01"], neutron: true,
			frame: func(m []byte) []byte {
				return pkt{dstMAC: k1.MAC, srcMAC: rogueMAC, src: ll(rogueMAC), dst: ll(k1.MAC)}.udp(547, 546, append([]byte{7, 0, 0, 1}, m...))
			}},
		// Legitimate: the network's DHCP port, on another host.
		{name: "OFFER from the network's DHCP port (broadcast)", from: l.out, to: l.vm["keepalived01"], neutron: true, bulwark: true,
			frame: offer(pkt{dstMAC: bcastMAC, srcMAC: dhcpMAC, src: dhcpIP, dst: "255.255.255.255"})},
		{name: "OFFER from the network's DHCP port (unicast)", from: l.out, to: l.vm["keepalived01"], neutron: true, bulwark: true,
			frame: offer(pkt{dstMAC: k1.MAC, srcMAC: dhcpMAC, src: dhcpIP, dst: k1.FixedIPs[0]})},
		{name: "OFFER from the network's DHCP port (IP broadcast in a unicast frame)", from: l.out, to: l.vm["keepalived01"], neutron: true, bulwark: true,
			frame: offer(pkt{dstMAC: k1.MAC, srcMAC: dhcpMAC, src: dhcpIP, dst: "255.255.255.255"})},
		{name: "DISCOVER from the port's MAC", from: l.vm["keepalived01"], to: l.out, neutron: true, bulwark: true,
			frame: func(m []byte) []byte {
				return pkt{dstMAC: bcastMAC, srcMAC: k1.MAC, src: "0.0.0.0", dst: "255.255.255.255"}.udp(68, 67, dhcpBody(1, k1.MAC, "", m))
			}},
	})
}

// Hole 3, IPv6: router advertisements and DHCPv6 replies from anyone.
func TestHardeningRogueRouterAdvertisement(t *testing.T) {
	l := newRefLab(t, "c-remote-group")
	app1 := l.port["app01"]
	ra := func(src, hw string) func([]byte) []byte {
		return func(m []byte) []byte {
			return pkt{dstMAC: "33:33:00:00:00:01", srcMAC: hw, src: src, dst: "ff02::1"}.icmp(134, 0, raBody(hw, m))
		}
	}
	reply6 := func(src, hw string) func([]byte) []byte {
		return func(m []byte) []byte {
			return pkt{dstMAC: app1.MAC, srcMAC: hw, src: src, dst: ll(app1.MAC)}.udp(547, 546, append([]byte{7, 0, 0, 1}, m...))
		}
	}
	bothWays(t, l, l.withService("10.10.0.2", "fd00:10::2"), []check{
		{name: "RA from a rogue router on another host", from: l.out, to: l.vm["app01"], neutron: true, frame: ra(ll(rogueMAC), rogueMAC)},
		{name: "RA from another VM", from: l.vm["app02"], to: l.vm["app01"], neutron: false, frame: ra(ll(l.port["app02"].MAC), l.port["app02"].MAC)},
		{name: "DHCPv6 reply from a rogue server", from: l.out, to: l.vm["app01"], neutron: true, frame: reply6(ll(rogueMAC), rogueMAC)},
		{name: "RA from the network's router port", from: l.out, to: l.vm["app01"], neutron: true, bulwark: true, frame: ra(ll(routerMAC), routerMAC)},
		{name: "DHCPv6 reply from the network's DHCP port", from: l.out, to: l.vm["app01"], neutron: true, bulwark: true, frame: reply6(ll(dhcpMAC), dhcpMAC)},
	})
}

// Hole 4: a remote-group rule trusts the source address alone, even for
// members on this host whose frames cannot come from the uplink.
func TestHardeningLocalMemberFromUplink(t *testing.T) {
	l := newRefLab(t, "c-remote-group")
	app1, app2 := l.port["app01"], l.port["app02"]
	syn := func(src, hw string) func([]byte) []byte {
		return func(m []byte) []byte {
			return pkt{dstMAC: app1.MAC, srcMAC: hw, src: src, dst: app1.FixedIPs[0]}.tcp(40020, 8080, tcpSYN, m)
		}
	}
	// A member on another host, for the legitimate remote case.
	h := *l.hs
	h.Members = map[string][]string{}
	for id, m := range l.hs.Members {
		h.Members[id] = append(append([]string{}, m...), "10.10.0.50")
	}
	bothWays(t, l, &h, []check{
		{name: "from the uplink with the address of app02 (on this host)", from: l.out, to: l.vm["app01"], neutron: true,
			frame: syn(app2.FixedIPs[0], app2.MAC)},
		{name: "from app02 itself", from: l.vm["app02"], to: l.vm["app01"], neutron: true, bulwark: true,
			frame: syn(app2.FixedIPs[0], app2.MAC)},
	})
	runChecks(t, "Bulwark", []check{{name: "from a member on another host", from: l.out, to: l.vm["app01"], bulwark: true,
		frame: syn("10.10.0.50", outsideMAC)}}, func(c check) bool { return c.bulwark })
}

// Hole 7: one stateless port on the bridge must not untrack its
// neighbours: a stateful port's outgoing connection gets its replies.
func TestHardeningStatelessNeighbour(t *testing.T) {
	l := newRefLab(t, "f-stateless")
	for _, tool := range []string{"nc", "ss"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	start(t, l.out.ns, false, "nc", "-k", "-l", "7000")
	waitListen(t, l.out.ns, 7000)
	connect := func() bool {
		_, err := shErr(l.vm["sf01"].ns, "nc", "-z", "-w", "2", l.outsideIP(), "7000")
		return err == nil
	}
	l.neutron(t)
	if connect() {
		t.Error("Neutron: the stateful port's connection works: the reference no longer shows the hole")
	}
	l.bulwark(t, nil)
	if !connect() {
		t.Error("Bulwark: the stateful port next to a stateless one cannot open a connection")
	}
	// The stateless port still needs explicit rules: its SSH is allowed
	// in and out (tcp/22 ingress, default egress) without tracking.
	if out := sh(t, l.ns, "iptables-save", "-t", "raw"); !strings.Contains(out, "--physdev-in "+l.port["sl01"].Dev()) || strings.Contains(out, "-i "+firewall.BridgeName(l.net)+" -m comment --comment \"notrack") {
		t.Errorf("notrack is not per tap:\n%s", out)
	}
}

// Hole 2: Neutron accepts every ICMPv6 type from the VM before the
// egress rules. Bulwark accepts only ND, router solicitation and MLD
// reports there; the rest is up to the egress rules. Neutron's rule is
// put back into Bulwark's ruleset for the comparison (no reference case
// lacks IPv6 egress).
func TestHardeningEgressICMPv6(t *testing.T) {
	l := newRefLab(t, "a-keepalived")
	k1 := l.port["keepalived01"]
	h := *l.hs
	h.Groups = map[string]*firewall.SecurityGroup{}
	for id, g := range l.hs.Groups {
		c := *g
		c.Rules = nil
		for _, r := range g.Rules {
			if !(r.Direction == "egress" && r.Ethertype == "IPv6") {
				c.Rules = append(c.Rules, r)
			}
		}
		h.Groups[id] = &c
	}
	neutronLike := firewall.Compile(&h)
	for i := range neutronLike.Tables[firewall.IPv6][firewall.Filter].Chains {
		ch := &neutronLike.Tables[firewall.IPv6][firewall.Filter].Chains[i]
		for j, r := range ch.Rules {
			if r.Comment == firewall.CommentRASpoof {
				ch.Rules = append(ch.Rules[:j+1:j+1], append([]firewall.Rule{{Match: "-p ipv6-icmp", Target: "RETURN", Comment: firewall.CommentICMPv6}}, ch.Rules[j+1:]...)...)
				break
			}
		}
	}
	from := func(dstMAC, dst string) pkt { return pkt{dstMAC: dstMAC, srcMAC: k1.MAC, src: ll(k1.MAC), dst: dst} }
	checks := []check{
		{name: "echo request with no IPv6 egress rule", from: l.vm["keepalived01"], to: l.out, neutron: true,
			frame: func(m []byte) []byte { return from(outsideMAC, ll(outsideMAC)).icmp(128, 0, echoBody(m)) }},
		{name: "redirect", from: l.vm["keepalived01"], to: l.out, neutron: true,
			frame: func(m []byte) []byte {
				return from(outsideMAC, ll(outsideMAC)).icmp(137, 0, append(make([]byte, 36), m...))
			}},
		{name: "neighbour solicitation", from: l.vm["keepalived01"], to: l.out, neutron: true, bulwark: true,
			frame: func(m []byte) []byte {
				tgt := netip.MustParseAddr(ll(outsideMAC)).As16()
				return from("33:33:ff:ee:ee:ee", "ff02::1:ffee:eeee").icmp(135, 0, append(append(make([]byte, 4), tgt[:]...), m...))
			}},
		{name: "router solicitation", from: l.vm["keepalived01"], to: l.out, neutron: true, bulwark: true,
			frame: func(m []byte) []byte {
				return from("33:33:00:00:00:02", "ff02::2").icmp(133, 0, append(make([]byte, 4), m...))
			}},
		{name: "MLDv2 report", from: l.vm["keepalived01"], to: l.out, neutron: true, bulwark: true,
			frame: func(m []byte) []byte {
				return from("33:33:00:00:00:16", "ff02::16").icmp(143, 0, append(make([]byte, 4), m...))
			}},
	}
	l.apply(t, neutronLike)
	runChecks(t, "Neutron's rule", checks, func(c check) bool { return c.neutron })
	l.bulwark(t, &h)
	runChecks(t, "Bulwark", checks, func(c check) bool { return c.bulwark })
	// An egress rule allowing ICMPv6 lets the echo request out again.
	for _, g := range h.Groups {
		proto := "ipv6-icmp"
		g.Rules = append(g.Rules, model.SecurityGroupRule{ID: "allow-icmpv6", Direction: "egress", Ethertype: "IPv6", Protocol: &proto})
	}
	l.bulwark(t, &h)
	runChecks(t, "Bulwark with an ICMPv6 egress rule", checks[:1], func(check) bool { return true })
}

// Hole 4, second half: a 0.0.0.0/0 address pair makes every address a
// member. hash:net cannot hold a /0, so the set holds two /1; the agent
// must converge: a second sync with nothing changed writes nothing
// (Neutron's agent rewrites the set on every sync forever).
func TestHardeningZeroPairConverges(t *testing.T) {
	needKernel(t)
	hs := referenceState(t, "c-remote-group")
	hs.Ports[0].AddressPairs = append(hs.Ports[0].AddressPairs, model.AddressPair{IPAddress: "0.0.0.0/0", MACAddress: hs.Ports[0].MAC})
	for id := range hs.Members {
		hs.Members[id] = append(hs.Members[id], "0.0.0.0/0")
	}
	ns := newNetns(t)
	rec := newRecorder(ns)
	a := &Applier{Exec: rec.Exec}
	var comp firewall.Compiler
	ctx := context.Background()
	if err := a.Apply(ctx, comp.Compile(hs)); err != nil {
		t.Fatal(err)
	}
	var set string
	for _, s := range comp.Compile(hs).Sets {
		if strings.HasPrefix(s.Name, firewall.GroupSetName("", firewall.IPv4)) && !strings.Contains(s.Name, "local") {
			set = s.Name
		}
	}
	if got := setMembers(t, ns, set); !slices.Contains(got, "0.0.0.0/1") || !slices.Contains(got, "128.0.0.0/1") {
		t.Fatalf("set %s holds %v, want 0.0.0.0/1 and 128.0.0.0/1 among them", set, got)
	}
	rec.take()
	if err := a.Apply(ctx, comp.Compile(hs)); err != nil {
		t.Fatal(err)
	}
	if w := writes(rec.take()); len(w) > 0 {
		t.Errorf("second sync wrote %q", cmdNames(w))
	}
	b := &Applier{Exec: rec.Exec} // a restarted agent
	if err := b.Apply(ctx, firewall.Compile(hs)); err != nil {
		t.Fatal(err)
	}
	if w := writes(rec.take()); len(w) > 0 {
		t.Errorf("restart wrote %q:\n%s", cmdNames(w), w[0].stdin)
	}
}
