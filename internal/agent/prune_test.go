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
