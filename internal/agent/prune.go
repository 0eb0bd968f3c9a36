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
	dev, mac, network string
	prefix            netip.Prefix
	fixed             bool // a fixed IP (owned), not an address pair (shareable)
}

// keepFunc judges a tracked connection by its first packet against the
// ruleset just applied: a connection survives only if a NEW packet like
// its first one would still be accepted. Connections in zones Bulwark did
// not assign, or touching no local filtered port, are left alone.
//
// An address pair is shared by design (a VIP moves between the ports that
// list it) and a port without port security may hold any address: so an
// end of the flow that matches only address pairs could be any port that
// lists it, or an unfiltered port on the same network. The connection
// survives if any of those readings accepts it: a live session through
// the port that really holds a VIP is not cut because another port lists
// the VIP too.
func keepFunc(h *firewall.HostState, rs *firewall.Ruleset, zones map[string]uint16) func(iptables.FlowInfo) bool {
	ours := map[uint16]bool{}
	for _, z := range zones {
		ours[z] = true
	}
	var locals []localAddr
	unfilteredNets := map[string]bool{}
	for _, p := range h.Ports {
		if !p.Filtered() {
			if !p.FailClosed {
				unfilteredNets[p.NetworkID] = true
			}
			continue
		}
		for _, ip := range p.FixedIPs {
			if a, err := netip.ParseAddr(ip); err == nil {
				locals = append(locals, localAddr{p.Dev(), p.MAC, p.NetworkID, netip.PrefixFrom(a, a.BitLen()), true})
			}
		}
		for _, pr := range p.AddressPairs {
			if pf, ok := parsePrefix(pr.IPAddress); ok {
				mac := pr.MACAddress
				if mac == "" {
					mac = p.MAC
				}
				locals = append(locals, localAddr{p.Dev(), mac, p.NetworkID, pf, false})
			}
		}
	}
	// candidates are the local ports an address may stand for: its fixed
	// IP's port if it is one; else every port with a pair covering it,
	// plus "not a filtered port" (nil) when an unfiltered port shares a
	// network with them. Empty: the address is not local.
	candidates := func(a netip.Addr) []*localAddr {
		var pairs []*localAddr
		anyUnfiltered := false
		for i := range locals {
			l := &locals[i]
			if !l.prefix.Contains(a) {
				continue
			}
			if l.fixed {
				return []*localAddr{l}
			}
			pairs = append(pairs, l)
			anyUnfiltered = anyUnfiltered || unfilteredNets[l.network]
		}
		if anyUnfiltered {
			pairs = append(pairs, nil)
		}
		return pairs
	}
	ev4, ev6 := firewall.NewEvaluator(rs, firewall.IPv4), firewall.NewEvaluator(rs, firewall.IPv6)
	return func(fl iptables.FlowInfo) bool {
		if fl.Zone == 0 || !ours[fl.Zone] {
			return true
		}
		srcs, dsts := candidates(fl.Src), candidates(fl.Dst)
		if len(srcs) == 0 && len(dsts) == 0 {
			return true
		}
		if len(srcs) == 0 {
			srcs = []*localAddr{nil}
		}
		if len(dsts) == 0 {
			dsts = []*localAddr{nil}
		}
		for _, src := range srcs {
			for _, dst := range dsts {
				if src == nil && dst == nil {
					return true // the flow may not touch a filtered port at all
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
				if err != nil || v.Action == "ACCEPT" {
					return true // accepted, or cannot judge: leave it as it is
				}
			}
		}
		return false
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
