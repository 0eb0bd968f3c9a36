package agent

import (
	"net/netip"
	"testing"

	"github.com/bulwark-net/bulwark/internal/firewall"
	"github.com/bulwark-net/bulwark/internal/firewall/iptables"
	"github.com/bulwark-net/bulwark/internal/model"
)

func ptr[T any](v T) *T { return &v }

// hostWith builds a host with two filtered ports in one group whose
// ingress rules are given.
func hostWith(rules ...model.SecurityGroupRule) *firewall.HostState {
	sg := model.SecurityGroup{ID: "5a1c0000-0000-4000-8000-000000000001", Stateful: true,
		SecurityGroupRules: append([]model.SecurityGroupRule{
			{ID: "e4", Direction: "egress", Ethertype: "IPv4"},
			{ID: "e6", Direction: "egress", Ethertype: "IPv6"},
		}, rules...)}
	port := func(id, mac, ip string) model.Port {
		return model.Port{ID: id, NetworkID: "ne700000-0000-4000-8000-000000000001", MACAddress: mac, BindingHostID: "h1",
			FixedIPs: []model.FixedIP{{SubnetID: "s", IPAddress: ip}}, SecurityGroups: []string{sg.ID}, PortSecurityEnabled: true}
	}
	inv := &firewall.Inventory{Ports: []model.Port{
		port("a0000000-0000-4000-8000-00000000000a", "fa:16:3e:00:00:0a", "172.16.200.10"),
		port("b0000000-0000-4000-8000-00000000000b", "fa:16:3e:00:00:0b", "172.16.200.11"),
	}, SecurityGroups: []model.SecurityGroup{sg}}
	return firewall.BuildHostState("h1", inv, nil, nil)
}

// TestKeepFunc: a connection survives a change only if its first packet
// would still be accepted; connections in zones Bulwark does not own are
// never judged.
func TestKeepFunc(t *testing.T) {
	ssh := model.SecurityGroupRule{ID: "ssh", Direction: "ingress", Ethertype: "IPv4", Protocol: ptr("tcp"), PortRangeMin: ptr(22), PortRangeMax: ptr(22)}
	with := hostWith(ssh)
	without := hostWith()
	zones := map[string]uint16{"ne700000-0000-4000-8000-000000000001": 4097}
	flow := func(src, dst string, dport uint16, zone uint16) iptables.FlowInfo {
		return iptables.FlowInfo{Zone: zone, Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), Protocol: 6, SPort: 40000, DPort: dport}
	}
	cases := []struct {
		name string
		h    *firewall.HostState
		fl   iptables.FlowInfo
		keep bool
	}{
		{"ssh between VMs, rule present", with, flow("172.16.200.10", "172.16.200.11", 22, 4097), true},
		{"ssh between VMs, rule removed", without, flow("172.16.200.10", "172.16.200.11", 22, 4097), false},
		{"ssh from outside, rule present", with, flow("10.9.9.9", "172.16.200.11", 22, 4097), true},
		{"ssh from outside, rule removed", without, flow("10.9.9.9", "172.16.200.11", 22, 4097), false},
		{"VM to outside, egress allowed", without, flow("172.16.200.10", "10.9.9.9", 443, 4097), true},
		{"zone not ours", without, flow("172.16.200.10", "172.16.200.11", 22, 7), true},
		{"no local port involved", without, flow("10.9.9.8", "10.9.9.9", 22, 4097), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs := firewall.Compile(c.h)
			if got := keepFunc(c.h, rs, zones)(c.fl); got != c.keep {
				t.Fatalf("keep = %v, want %v", got, c.keep)
			}
		})
	}
}

// TestKeepFuncSharedAddresses: an address pair (a VIP) may be held by any
// port that lists it, or by a port without port security on the same
// network; a flow to it survives if any of those would accept it.
func TestKeepFuncSharedAddresses(t *testing.T) {
	const net1, net2 = "ne700000-0000-4000-8000-000000000001", "ne700000-0000-4000-8000-000000000002"
	web := model.SecurityGroup{ID: "5a1c0000-0000-4000-8000-000000000001", Stateful: true, SecurityGroupRules: []model.SecurityGroupRule{
		{ID: "e4", Direction: "egress", Ethertype: "IPv4"},
		{ID: "http", Direction: "ingress", Ethertype: "IPv4", Protocol: ptr("tcp"), PortRangeMin: ptr(80), PortRangeMax: ptr(80)}}}
	admin := model.SecurityGroup{ID: "5a1c0000-0000-4000-8000-000000000002", Stateful: true, SecurityGroupRules: []model.SecurityGroupRule{
		{ID: "e4", Direction: "egress", Ethertype: "IPv4"},
		{ID: "admin", Direction: "ingress", Ethertype: "IPv4", Protocol: ptr("tcp"), PortRangeMin: ptr(8080), PortRangeMax: ptr(8080)}}}
	port := func(id, net, ip string, groups []string, secure bool, pairs ...string) model.Port {
		p := model.Port{ID: id, NetworkID: net, MACAddress: "fa:16:3e:00:00:" + id[:2], BindingHostID: "h1",
			FixedIPs: []model.FixedIP{{SubnetID: "s", IPAddress: ip}}, SecurityGroups: groups, PortSecurityEnabled: secure}
		for _, a := range pairs {
			p.AllowedAddressPairs = append(p.AllowedAddressPairs, model.AddressPair{IPAddress: a})
		}
		return p
	}
	const vip = "172.16.200.251"
	a := port("a0000000-0000-4000-8000-00000000000a", net1, "172.16.200.10", []string{web.ID}, true, vip)
	b := port("b0000000-0000-4000-8000-00000000000b", net1, "172.16.200.11", []string{admin.ID}, true, vip)
	openSameNet := port("c0000000-0000-4000-8000-00000000000c", net1, "172.16.200.12", nil, false)
	openOtherNet := port("d0000000-0000-4000-8000-00000000000d", net2, "10.9.0.12", nil, false)
	host := func(ports ...model.Port) *firewall.HostState {
		inv := &firewall.Inventory{Ports: ports, SecurityGroups: []model.SecurityGroup{web, admin}}
		return firewall.BuildHostState("h1", inv, nil, nil)
	}
	zones := map[string]uint16{net1: 4097, net2: 4098}
	toVIP := func(dport uint16) iptables.FlowInfo {
		return iptables.FlowInfo{Zone: 4097, Src: netip.MustParseAddr("10.9.9.9"), Dst: netip.MustParseAddr(vip), Protocol: 6, SPort: 40000, DPort: dport}
	}
	toFixed := iptables.FlowInfo{Zone: 4097, Src: netip.MustParseAddr("10.9.9.9"), Dst: netip.MustParseAddr("172.16.200.10"), Protocol: 6, SPort: 40000, DPort: 8080}
	for _, c := range []struct {
		name string
		h    *firewall.HostState
		fl   iptables.FlowInfo
		keep bool
	}{
		{"VIP on A alone, :8080 not allowed there", host(a), toVIP(8080), false},
		{"VIP on A alone, :80 allowed", host(a), toVIP(80), true},
		{"VIP on A and B, B allows :8080", host(a, b), toVIP(8080), true},
		{"VIP on A, an unfiltered port on its network may hold it", host(a, openSameNet), toVIP(8080), true},
		{"VIP on A, the unfiltered port is on another network", host(a, openOtherNet), toVIP(8080), false},
		{"A's fixed IP is A's alone, unfiltered neighbour or not", host(a, openSameNet), toFixed, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := keepFunc(c.h, firewall.Compile(c.h), zones)(c.fl); got != c.keep {
				t.Fatalf("keep = %v, want %v", got, c.keep)
			}
		})
	}
}
