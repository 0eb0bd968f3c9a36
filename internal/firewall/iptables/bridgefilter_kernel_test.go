package iptables

import (
	"context"
	"encoding/binary"
	"net/netip"
	"os/exec"
	"testing"

	"github.com/bulwark-net/bulwark/internal/firewall"
	"github.com/bulwark-net/bulwark/internal/firewall/bridgefilter"
	"github.com/bulwark-net/bulwark/internal/model"
)

// arpFrame is an ARP reply (sender sha/spa) with a marker in the padding.
func arpFrame(dstMAC, srcMAC, sha, spa, tha, tpa string, marker []byte) []byte {
	b := []byte{0, 1, 8, 0, 6, 4, 0, 2}
	b = append(b, mac(sha)...)
	a := netip.MustParseAddr(spa).As4()
	b = append(b, a[:]...)
	b = append(b, mac(tha)...)
	a = netip.MustParseAddr(tpa).As4()
	b = append(b, a[:]...)
	return ether(dstMAC, srcMAC, 0x0806, append(b, marker...))
}

// vlanFrame wraps an IPv4 packet in an 802.1Q tag (VLAN 100).
func vlanFrame(p pkt, l4proto byte, l4 []byte) []byte {
	et, ip := ipPacket(netip.MustParseAddr(p.src), netip.MustParseAddr(p.dst), l4proto, l4, -1)
	tag := binary.BigEndian.AppendUint16([]byte{0, 100}, et)
	return ether(p.dstMAC, p.srcMAC, 0x8100, append(tag, ip...))
}

// Hole 8: the iptables layer never sees ARP, other ethertypes or VLAN-
// tagged frames, and checks no ND target. Each frame below passes
// Bulwark's iptables rules (so Neutron's iptables driver too, which has
// the same or laxer checks) and is dropped once the bridge filter is
// synced; the legitimate frames pass both, and a VIP moves with its pair.
func TestHardeningBridgeFilter(t *testing.T) {
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("nft not installed (scripts/setup.sh installs nftables)")
	}
	l := newRefLab(t, "a-keepalived")
	k1, k2 := l.port["keepalived01"], l.port["keepalived02"]
	const vip = "172.16.200.251"
	garp := func(hw, ip string) func([]byte) []byte {
		return func(m []byte) []byte { return arpFrame(bcastMAC, hw, hw, ip, bcastMAC, ip, m) }
	}
	checks := []check{
		{name: "frame of another ethertype with keepalived01's MAC from keepalived02 (bridge FDB poisoning)", from: l.vm["keepalived02"], to: l.out, neutron: true,
			frame: func(m []byte) []byte { return ether(bcastMAC, k1.MAC, 0x88b5, m) }},
		{name: "gratuitous ARP for the VIP from the port without its pair", from: l.vm["keepalived02"], to: l.out, neutron: true,
			frame: garp(k2.MAC, vip)},
		{name: "ARP with another port's address", from: l.vm["keepalived02"], to: l.out, neutron: true,
			frame: garp(k2.MAC, k1.FixedIPs[0])},
		{name: "ARP with a made-up sender MAC", from: l.vm["keepalived01"], to: l.out, neutron: true,
			frame: func(m []byte) []byte {
				return arpFrame(bcastMAC, k1.MAC, rogueMAC, k1.FixedIPs[0], bcastMAC, k1.FixedIPs[0], m)
			}},
		{name: "NA from the port's link-local for another node's address", from: l.vm["keepalived02"], to: l.vm["keepalived01"], neutron: true,
			frame: func(m []byte) []byte {
				return pkt{dstMAC: "33:33:00:00:00:01", srcMAC: k2.MAC, src: ll(k2.MAC), dst: "ff02::1"}.icmp(136, 0, naBody(ll(k1.MAC), k2.MAC, m))
			}},
		{name: "VLAN-tagged IPv4 from a made-up source", from: l.vm["keepalived01"], to: l.out, neutron: true,
			frame: func(m []byte) []byte {
				return vlanFrame(pkt{dstMAC: outsideMAC, srcMAC: k1.MAC, src: "10.66.66.66", dst: l.outsideIP()}, 17, append([]byte{0x9c, 0x40, 0x13, 0x88, 0, byte(8 + len(m)), 0, 0}, m...))
			}},
		// Legitimate.
		{name: "gratuitous ARP for the VIP from the port holding it", from: l.vm["keepalived01"], to: l.out, neutron: true, bulwark: true,
			frame: garp(k1.MAC, vip)},
		{name: "ARP probe (sender 0.0.0.0)", from: l.vm["keepalived02"], to: l.out, neutron: true, bulwark: true,
			frame: func(m []byte) []byte {
				return arpFrame(bcastMAC, k2.MAC, k2.MAC, "0.0.0.0", "00:00:00:00:00:00", k2.FixedIPs[0], m)
			}},
		{name: "NA for the port's own link-local", from: l.vm["keepalived02"], to: l.vm["keepalived01"], neutron: true, bulwark: true,
			frame: func(m []byte) []byte {
				return pkt{dstMAC: "33:33:00:00:00:01", srcMAC: k2.MAC, src: ll(k2.MAC), dst: "ff02::1"}.icmp(136, 0, naBody(ll(k2.MAC), k2.MAC, m))
			}},
		{name: "ping keepalived02 -> keepalived01", from: l.vm["keepalived02"], to: l.vm["keepalived01"], neutron: true, bulwark: true,
			frame: func(m []byte) []byte {
				return pkt{dstMAC: k1.MAC, srcMAC: k2.MAC, src: k2.FixedIPs[0], dst: k1.FixedIPs[0]}.icmp(8, 0, echoBody(m))
			}},
	}
	ctx := context.Background()
	l.bulwark(t, nil)
	runChecks(t, "iptables only", checks, func(c check) bool { return c.neutron })
	s := &bridgefilter.Syncer{NFT: bridgefilter.NewCommand(l.ns)}
	if err := s.Sync(ctx, bridgefilter.Build(l.hs)); err != nil {
		t.Fatal(err)
	}
	runChecks(t, "with the bridge filter", checks, func(c check) bool { return c.bulwark })
	if _, err := shErr(l.vm["keepalived02"].ns, "ping", "-c", "1", "-W", "2", k1.FixedIPs[0]); err != nil {
		t.Error("real ping keepalived02 -> keepalived01 (ARP included) fails with the bridge filter")
	}

	// Failover: the VIP pair on keepalived02 too; the same sync object
	// changes only that port's chain, and its gratuitous ARP now passes.
	h := *l.hs
	h.Ports = append([]firewall.Port(nil), l.hs.Ports...)
	for i := range h.Ports {
		if h.Ports[i].ID == k2.ID {
			h.Ports[i].AddressPairs = []model.AddressPair{{IPAddress: vip, MACAddress: k2.MAC}}
		}
	}
	l.bulwark(t, &h)
	if err := s.Sync(ctx, bridgefilter.Build(&h)); err != nil {
		t.Fatal(err)
	}
	runChecks(t, "after failover", []check{{name: "gratuitous ARP for the VIP from keepalived02", from: l.vm["keepalived02"], to: l.out, bulwark: true, frame: garp(k2.MAC, vip)}},
		func(c check) bool { return c.bulwark })
	// A second sync with nothing changed writes nothing: the table is
	// still exactly what a fresh sync writes.
	before := sh(t, l.ns, "nft", "list", "table", "bridge", bridgefilter.Table)
	if err := s.Sync(ctx, bridgefilter.Build(&h)); err != nil {
		t.Fatal(err)
	}
	fresh := &bridgefilter.Syncer{NFT: bridgefilter.NewCommand(l.ns)}
	if err := fresh.Sync(ctx, bridgefilter.Build(&h)); err != nil {
		t.Fatal(err)
	}
	if after := sh(t, l.ns, "nft", "list", "table", "bridge", bridgefilter.Table); after != before {
		t.Errorf("incremental and fresh table differ:\n%s\n---\n%s", before, after)
	}
}
