package firewall

import (
	"reflect"
	"testing"

	"github.com/bulwark-net/bulwark/internal/model"
)

// TestBuildHostStateServicePorts: the DHCP and router ports of the
// networks of the host's ports are found in Ports and NetworkPorts, on
// any host, once each, in id order; other networks' are left out.
func TestBuildHostStateServicePorts(t *testing.T) {
	fip := func(ips ...string) []model.FixedIP {
		var out []model.FixedIP
		for _, ip := range ips {
			out = append(out, model.FixedIP{IPAddress: ip})
		}
		return out
	}
	router := model.Port{ID: "r1", NetworkID: "A", MACAddress: "fa:16:3e:00:00:0a", DeviceOwner: "network:router_interface", BindingHostID: "h1", FixedIPs: fip("10.0.0.1", "fd00::1")}
	inv := &Inventory{
		Ports: []model.Port{
			{ID: "vm1", NetworkID: "A", MACAddress: "fa:16:3e:00:00:01", BindingHostID: "h1", PortSecurityEnabled: true, FixedIPs: fip("10.0.0.5")},
			router,
		},
		NetworkPorts: []model.Port{
			router, // also bound here: listed in both, kept once
			{ID: "d1", NetworkID: "A", MACAddress: "fa:16:3e:00:00:0d", DeviceOwner: "network:dhcp", BindingHostID: "h2", FixedIPs: fip("10.0.0.2")},
			{ID: "h0", NetworkID: "A", MACAddress: "fa:16:3e:00:00:0b", DeviceOwner: "network:ha_router_replicated_interface", BindingHostID: "h3"},
			{ID: "d9", NetworkID: "C", MACAddress: "fa:16:3e:00:00:0c", DeviceOwner: "network:dhcp", BindingHostID: "h2"},
		},
	}
	h := BuildHostState("h1", inv, nil, nil)
	n := h.Networks["A"]
	if n == nil || h.Networks["C"] != nil {
		t.Fatalf("networks %v", h.Networks)
	}
	if want := []ServicePort{{ID: "d1", MAC: "fa:16:3e:00:00:0d", FixedIPs: []string{"10.0.0.2"}}}; !reflect.DeepEqual(n.DHCP, want) {
		t.Errorf("DHCP %+v, want %+v", n.DHCP, want)
	}
	if want := []ServicePort{{ID: "h0", MAC: "fa:16:3e:00:00:0b"}, {ID: "r1", MAC: "fa:16:3e:00:00:0a", FixedIPs: []string{"10.0.0.1", "fd00::1"}}}; !reflect.DeepEqual(n.Routers, want) {
		t.Errorf("routers %+v, want %+v", n.Routers, want)
	}
	// The DHCP port's address and MAC are the only DHCP source vm1 accepts.
	in := Compile(h).Tables[IPv4][Filter].Chain(IngressChain("vm1"))
	var dhcp []string
	for _, r := range in.Rules {
		if r.Comment == CommentDHCP {
			dhcp = append(dhcp, r.Match)
		}
	}
	if want := []string{"-s 10.0.0.2/32 -p udp -m udp --sport 67 --dport 68 -m mac --mac-source fa:16:3e:00:00:0d"}; !reflect.DeepEqual(dhcp, want) {
		t.Errorf("DHCP rules %q, want %q", dhcp, want)
	}
}
