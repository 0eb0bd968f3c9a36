package agent

import (
	"context"
	"net/netip"

	"github.com/bulwark-net/bulwark/internal/firewall"
	"github.com/bulwark-net/bulwark/internal/firewall/iptables"
)

// Pruner ends tracked connections the new rules no longer allow.
type Pruner interface {
	Prune(ctx context.Context, keep func(iptables.FlowInfo) bool) (int, error)
}

// statser is implemented by appliers that count their kernel writes.
type statser interface{ Stats() iptables.Stats }

func writes(a Applier) int {
	if s, ok := a.(statser); ok {
		st := s.Stats()
		return st.Restores + st.SetRestores
	}
	return -1 // unknown: assume something changed
}

// uplink stands for "somewhere off this host" in a judged packet.
const uplink = "bulwark-uplink"

type localAddr struct {
	dev, mac string
	prefix   netip.Prefix
}

// keepFunc judges a tracked connection by its first packet against the
// ruleset just applied: a connection survives only if a NEW packet like
// its first one would still be accepted. Connections in zones Bulwark did
// not assign, or touching no local filtered port, are left alone.
func keepFunc(h *firewall.HostState, rs *firewall.Ruleset, zones map[string]uint16) func(iptables.FlowInfo) bool {
	ours := map[uint16]bool{}
	for _, z := range zones {
		ours[z] = true
	}
	var locals []localAddr
	for _, p := range h.Ports {
		if !p.Filtered() {
			continue
		}
		for _, ip := range p.FixedIPs {
			if a, err := netip.ParseAddr(ip); err == nil {
				locals = append(locals, localAddr{p.Dev(), p.MAC, netip.PrefixFrom(a, a.BitLen())})
			}
		}
		for _, pr := range p.AddressPairs {
			if pf, ok := parsePrefix(pr.IPAddress); ok {
				mac := pr.MACAddress
				if mac == "" {
					mac = p.MAC
				}
				locals = append(locals, localAddr{p.Dev(), mac, pf})
			}
		}
	}
	find := func(a netip.Addr) *localAddr {
		best := -1
		for i := range locals {
			if locals[i].prefix.Contains(a) && (best < 0 || locals[i].prefix.Bits() > locals[best].prefix.Bits()) {
				best = i
			}
		}
		if best < 0 {
			return nil
		}
		return &locals[best]
	}
	ev4, ev6 := firewall.NewEvaluator(rs, firewall.IPv4), firewall.NewEvaluator(rs, firewall.IPv6)
	return func(fl iptables.FlowInfo) bool {
		if fl.Zone == 0 || !ours[fl.Zone] {
			return true
		}
		src, dst := find(fl.Src), find(fl.Dst)
		if src == nil && dst == nil {
			return true
		}
		p := firewall.Packet{Family: firewall.IPv4, Hook: "FORWARD", PhysIn: uplink, PhysOut: uplink,
			SrcMAC: "02:00:00:00:00:01", Src: fl.Src, Dst: fl.Dst, Proto: int(fl.Protocol),
			SPort: int(fl.SPort), DPort: int(fl.DPort), ICMPType: int(fl.ICMPType), ICMPCode: int(fl.ICMPCode), State: "NEW"}
		ev := ev4
		if fl.Src.Is6() {
			p.Family, ev = firewall.IPv6, ev6
		}
		if src != nil {
			p.PhysIn, p.SrcMAC = src.dev, src.mac
		}
		if dst != nil {
			p.PhysOut = dst.dev
		}
		v, err := ev.Evaluate(p)
		if err != nil {
			return true // cannot judge: leave the connection as it is
		}
		return v.Action == "ACCEPT"
	}
}

func parsePrefix(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}
