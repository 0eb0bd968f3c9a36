package iptables

// Crafted frames for the hardening tests: small builders for Ethernet,
// IPv4/IPv6, UDP/TCP/ICMP/ICMPv6 (with correct checksums: br_netfilter
// drops a bad IPv4 header checksum and conntrack marks a bad L4 checksum
// INVALID), and AF_PACKET sockets opened inside a test namespace to send
// a frame from a "VM" and to see whether it reached another one.

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func mac(s string) net.HardwareAddr {
	hw, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return hw
}

func ether(dst, src string, etype uint16, payload []byte) []byte {
	b := make([]byte, 0, 14+len(payload))
	b = append(b, mac(dst)...)
	b = append(b, mac(src)...)
	b = binary.BigEndian.AppendUint16(b, etype)
	return append(b, payload...)
}

func csum(parts ...[]byte) uint16 {
	var sum uint32
	for _, p := range parts {
		for i := 0; i+1 < len(p); i += 2 {
			sum += uint32(p[i])<<8 | uint32(p[i+1])
		}
		if len(p)%2 == 1 {
			sum += uint32(p[len(p)-1]) << 8
		}
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// pseudo is the L4 checksum pseudo-header of either family.
func pseudo(src, dst netip.Addr, proto byte, n int) []byte {
	if src.Is4() {
		s, d := src.As4(), dst.As4()
		b := append(append([]byte{}, s[:]...), d[:]...)
		b = append(b, 0, proto)
		return binary.BigEndian.AppendUint16(b, uint16(n))
	}
	s, d := src.As16(), dst.As16()
	b := append(append([]byte{}, s[:]...), d[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	return append(b, 0, 0, 0, proto)
}

// ipPacket wraps an L4 segment (whose checksum field, at csumAt, is
// filled in here) in an IPv4 or IPv6 header; it returns the ethertype too.
func ipPacket(src, dst netip.Addr, proto byte, l4 []byte, csumAt int) (uint16, []byte) {
	if csumAt >= 0 {
		binary.BigEndian.PutUint16(l4[csumAt:], 0)
		c := csum(pseudo(src, dst, proto, len(l4)), l4)
		if proto == 17 && c == 0 {
			c = 0xffff
		}
		binary.BigEndian.PutUint16(l4[csumAt:], c)
	}
	if src.Is4() {
		h := make([]byte, 20)
		h[0], h[8], h[9] = 0x45, 64, proto
		binary.BigEndian.PutUint16(h[2:], uint16(20+len(l4)))
		_, _ = rand.Read(h[4:6])
		s, d := src.As4(), dst.As4()
		copy(h[12:], s[:])
		copy(h[16:], d[:])
		binary.BigEndian.PutUint16(h[10:], csum(h))
		return 0x0800, append(h, l4...)
	}
	h := make([]byte, 40)
	h[0], h[6], h[7] = 0x60, proto, 255 // hop limit 255, as ND requires
	binary.BigEndian.PutUint16(h[4:], uint16(len(l4)))
	s, d := src.As16(), dst.As16()
	copy(h[8:], s[:])
	copy(h[24:], d[:])
	return 0x86dd, append(h, l4...)
}

// pkt describes one crafted frame.
type pkt struct {
	dstMAC, srcMAC string
	src, dst       string
}

func (p pkt) frame(proto byte, l4 []byte, csumAt int) []byte {
	et, ip := ipPacket(netip.MustParseAddr(p.src), netip.MustParseAddr(p.dst), proto, l4, csumAt)
	return ether(p.dstMAC, p.srcMAC, et, ip)
}

func (p pkt) udp(sport, dport uint16, payload []byte) []byte {
	l4 := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(l4[0:], sport)
	binary.BigEndian.PutUint16(l4[2:], dport)
	binary.BigEndian.PutUint16(l4[4:], uint16(8+len(payload)))
	return p.frame(17, append(l4, payload...), 6)
}

// TCP flags.
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpACK = 0x10
)

func (p pkt) tcp(sport, dport uint16, flags byte, payload []byte) []byte {
	l4 := make([]byte, 20, 20+len(payload))
	binary.BigEndian.PutUint16(l4[0:], sport)
	binary.BigEndian.PutUint16(l4[2:], dport)
	_, _ = rand.Read(l4[4:8])
	if flags&tcpACK != 0 {
		_, _ = rand.Read(l4[8:12])
	}
	l4[12], l4[13] = 5<<4, flags
	binary.BigEndian.PutUint16(l4[14:], 64240)
	return p.frame(6, append(l4, payload...), 16)
}

func (p pkt) icmp(typ, code byte, body []byte) []byte {
	l4 := append([]byte{typ, code, 0, 0}, body...)
	if netip.MustParseAddr(p.src).Is4() {
		binary.BigEndian.PutUint16(l4[2:], csum(l4))
		return p.frame(1, l4, -1)
	}
	return p.frame(58, l4, 2)
}

// echoBody is an ICMP echo body (id, sequence) with a marker.
func echoBody(marker []byte) []byte {
	b := []byte{0x12, 0x34, 0, 1}
	return append(b, marker...)
}

// naBody is a neighbour advertisement (override) for target with a
// target link-layer address option.
func naBody(target string, lladdr string, marker []byte) []byte {
	b := []byte{0x20, 0, 0, 0} // O flag
	a := netip.MustParseAddr(target).As16()
	b = append(b, a[:]...)
	b = append(b, 2, 1)
	b = append(b, mac(lladdr)...)
	return append(b, marker...)
}

// raBody is a router advertisement announcing prefix 2001:db8:bad::/64
// with a source link-layer address option.
func raBody(lladdr string, marker []byte) []byte {
	b := []byte{64, 0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0} // hop limit, flags, lifetime 1800, reachable, retrans
	b = append(b, 1, 1)
	b = append(b, mac(lladdr)...)
	pfx := []byte{3, 4, 64, 0xc0, 0, 0, 0x0e, 0x10, 0, 0, 0x0e, 0x10, 0, 0, 0, 0}
	p := netip.MustParseAddr("2001:db8:bad::").As16()
	b = append(b, pfx...)
	b = append(b, p[:]...)
	return append(b, marker...)
}

// dhcpBody is a BOOTP reply (OFFER) to chaddr with a marker in sname.
func dhcpBody(op byte, chaddr string, yiaddr string, marker []byte) []byte {
	b := make([]byte, 240)
	b[0], b[1], b[2] = op, 1, 6
	_, _ = rand.Read(b[4:8])
	if yiaddr != "" {
		a := netip.MustParseAddr(yiaddr).As4()
		copy(b[16:20], a[:])
	}
	copy(b[28:], mac(chaddr))
	copy(b[44:], marker)
	copy(b[236:], []byte{99, 130, 83, 99})
	return append(b, 53, 1, 2, 255) // DHCP OFFER
}

func newMarker() []byte {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return append([]byte("BWMK"), b...)
}

// inNetns runs fn on an OS thread switched into a named namespace.
// Sockets created there stay in that namespace.
func inNetns(ns string, fn func() error) error {
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	target, err := os.Open("/var/run/netns/" + ns)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	ferr := fn()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		// Leave the thread locked: Go ends it instead of reusing a
		// thread in the wrong namespace.
		return fmt.Errorf("setns back: %v", err)
	}
	runtime.UnlockOSThread()
	return ferr
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// packetSocket opens an AF_PACKET socket on ifname inside ns.
func packetSocket(t *testing.T, ns, ifname string) int {
	t.Helper()
	fd := -1
	err := inNetns(ns, func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		s, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			return err
		}
		if err := unix.Bind(s, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
			unix.Close(s)
			return err
		}
		fd = s
		return nil
	})
	if err != nil {
		t.Fatalf("packet socket on %s in %s: %v", ifname, ns, err)
	}
	tv := unix.Timeval{Usec: 50000}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	return fd
}

// nic is an interface in a namespace frames are sent from or seen on.
type nic struct{ ns, dev string }

// delivered sends frame from one interface and reports whether a frame
// carrying marker arrived on the other within the wait.
func delivered(t *testing.T, from, to nic, frame, marker []byte) bool {
	t.Helper()
	rx := packetSocket(t, to.ns, to.dev)
	defer unix.Close(rx)
	tx := packetSocket(t, from.ns, from.dev)
	defer unix.Close(tx)
	if _, err := unix.Write(tx, frame); err != nil {
		t.Fatalf("send from %s/%s: %v", from.ns, from.dev, err)
	}
	buf := make([]byte, 4096)
	deadline := time.Now().Add(700 * time.Millisecond)
	for time.Now().Before(deadline) {
		n, sa, err := unix.Recvfrom(rx, buf, 0)
		if err != nil {
			continue
		}
		if ll, ok := sa.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		if bytes.Contains(buf[:n], marker) {
			return true
		}
	}
	return false
}
