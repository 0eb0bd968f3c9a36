package model_test

import (
	"encoding/json"
	"testing"

	"github.com/bulwark-net/bulwark/internal/apierr"
	"github.com/bulwark-net/bulwark/internal/model"
)

// clientError fails unless err is nil or a 4xx *apierr.Error with a type
// and a message: validation never produces anything else.
func clientError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	e, ok := apierr.As(err)
	if !ok {
		t.Fatalf("error %v (%T) is not an *apierr.Error", err, err)
	}
	if e.Status < 400 || e.Status > 499 || e.Type == "" || e.Message == "" {
		t.Fatalf("not a client error: %+v", e)
	}
}

var seedBodies = []string{
	`{"port": {"network_id": "` + netID + `", "name": "keepalived01", "fixed_ips": [{"ip_address": "172.16.200.193"}], "security_groups": ["` + sgID + `"]}}`,
	`{"port": {"allowed_address_pairs": [{"ip_address": "172.16.200.251"}]}}`,
	`{"port": {"allowed_address_pairs": [{"ip_address": "172.16.200.0/24"}, {"ip_address": "10.1.1.1", "mac_address": "FA:16:3E:AA:BB:CC"}]}}`,
	`{"port": {"allowed_address_pairs": [{"ip_address": "172.16.200.251"}, {"ip_address": "172.16.200.251"}]}}`,
	`{"port": {"allowed_address_pairs": {"ip_address": "172.16.200.251"}}}`,
	`{"port": {"port_security_enabled": "False", "security_groups": []}}`,
	`{"port": {"port_security_enabled": "maybe"}}`,
	`{"port": {"mac_address": "fa:16:3e:00:00:01", "binding:host_id": null, "binding:profile": {"a": [1]}, "extra_dhcp_opts": [{"opt_name": "x"}]}}`,
	`{"ports": [{"network_id": "` + netID + `"}, {"network_id": "` + netID + `", "fixed_ips": [{"subnet_id": "` + subID + `"}]}]}`,
	`{"port": `,
	`{"port": {"foo": "bar"}}`,
	`{"security_group_rule": {"security_group_id": "` + sgID + `", "direction": "ingress", "ethertype": "IPv4", "protocol": "112"}}`,
	`{"security_group_rule": {"security_group_id": "` + sgID + `", "direction": "ingress", "protocol": "tcp", "port_range_min": "22", "port_range_max": "22"}}`,
	`{"security_group_rule": {"security_group_id": "` + sgID + `", "direction": "egress", "ethertype": "IPv6", "protocol": "icmp", "port_range_min": 128, "remote_ip_prefix": "::/0"}}`,
	`{"security_group_rule": {"security_group_id": "` + sgID + `", "direction": "ingress", "remote_group_id": "` + sgID + `", "remote_ip_prefix": "10.0.0.5/24"}}`,
	`{"security_group_rules": [{"security_group_id": "` + sgID + `", "direction": "ingress", "protocol": 256}, {"direction": "sideways"}]}`,
	`{"network": {"name": "net1", "mtu": 1400, "port_security_enabled": "false"}}`,
	`{"subnet": {"network_id": "` + netID + `", "ip_version": 4, "cidr": "172.16.200.0/24", "allocation_pools": [{"start": "172.16.200.10", "end": "172.16.200.20"}], "gateway_ip": null}}`,
	`{"subnet": {"network_id": "` + netID + `", "ip_version": 6, "cidr": "2001:db8::/64", "ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"}}`,
	`{"address_group": {"addresses": ["10.0.0.0/8", "2001:db8::1"]}}`,
	`null`, `[]`, `{}`, `""`, `{"port": null}`, `{"port": {"name": "\u0000\ud800"}}`,
}

// FuzzParseBody decodes arbitrary bodies for every resource and feeds what
// it accepts to the resource's parser.
func FuzzParseBody(f *testing.F) {
	for _, b := range seedBodies {
		f.Add([]byte(b), uint8(0), true)
	}
	kinds := []struct{ singular, plural string }{
		{"port", "ports"}, {"network", "networks"}, {"subnet", "subnets"}, {"security_group", "security_groups"},
		{"security_group_rule", "security_group_rules"}, {"address_group", "address_groups"},
	}
	f.Fuzz(func(t *testing.T, body []byte, kind uint8, create bool) {
		k := kinds[int(kind)%len(kinds)]
		items, bulk, err := model.ParseBody(body, k.singular, k.plural, create)
		clientError(t, err)
		if err != nil {
			if items != nil {
				t.Fatal("items returned with an error")
			}
			return
		}
		if len(items) == 0 || (bulk && !create) {
			t.Fatalf("%d items, bulk %v, create %v", len(items), bulk, create)
		}
		for _, a := range items {
			if a == nil {
				t.Fatal("nil item")
			}
			switch k.singular {
			case "port":
				_, err = model.ParsePort(a, create, 10)
			case "network":
				_, err = model.ParseNetwork(a, create)
			case "subnet":
				_, err = model.ParseSubnet(a, create)
			case "security_group":
				_, err = model.ParseSecurityGroup(a, create)
			case "security_group_rule":
				_, err = model.ParseRuleCreate(a)
			case "address_group":
				_, err = model.ParseAddressGroup(a, create)
			}
			clientError(t, err)
		}
	})
}

// FuzzParsePort checks ParsePort's error contract and what it promises
// about the values it accepts.
func FuzzParsePort(f *testing.F) {
	for _, b := range seedBodies {
		var top map[string]json.RawMessage
		if json.Unmarshal([]byte(b), &top) == nil && top["port"] != nil {
			f.Add([]byte(top["port"]), true, 10)
			f.Add([]byte(top["port"]), false, 2)
		}
	}
	f.Add([]byte(`{"allowed_address_pairs": [{"ip_address": "224.0.0.18"}, {"mac_address": null}]}`), false, 10)
	f.Add([]byte(`{"fixed_ips": [{"ip_address": "10.0.0.1"}, {"ip_address": "10.0.0.1"}], "security_groups": [1, 1]}`), true, 10)
	f.Fuzz(func(t *testing.T, raw []byte, create bool, maxPairs int) {
		var a model.Attrs
		if json.Unmarshal(raw, &a) != nil || a == nil {
			return
		}
		maxPairs %= 64
		in, err := model.ParsePort(a, create, maxPairs)
		clientError(t, err)
		if err != nil {
			return
		}
		if create && !model.IsUUID(in.NetworkID) {
			t.Fatalf("network_id %q accepted", in.NetworkID)
		}
		if in.MACAddress != nil && (!model.ValidMAC(*in.MACAddress) || model.NormalizeMAC(*in.MACAddress) != *in.MACAddress) {
			t.Fatalf("mac_address %q accepted", *in.MACAddress)
		}
		if in.AddressPairs != nil {
			if maxPairs >= 0 && len(*in.AddressPairs) > maxPairs {
				t.Fatalf("%d pairs accepted with max %d", len(*in.AddressPairs), maxPairs)
			}
			for _, p := range *in.AddressPairs {
				if _, ok := model.ParseCIDR(p.IPAddress); !ok {
					t.Fatalf("pair ip %q accepted", p.IPAddress)
				}
				if p.MACAddress != "" && !model.ValidMAC(p.MACAddress) {
					t.Fatalf("pair mac %q accepted", p.MACAddress)
				}
			}
		}
		if in.FixedIPs != nil {
			for _, f := range *in.FixedIPs {
				if f.SubnetID == "" && f.IPAddress == "" {
					t.Fatal("empty fixed ip accepted")
				}
				if f.IPAddress != "" {
					if _, ok := model.ParseIP(f.IPAddress); !ok {
						t.Fatalf("fixed ip %q accepted", f.IPAddress)
					}
				}
			}
		}
		if in.SecurityGroups != nil {
			seen := map[string]bool{}
			for _, g := range *in.SecurityGroups {
				if !model.IsUUID(g) || seen[g] {
					t.Fatalf("security group %q accepted (or repeated)", g)
				}
				seen[g] = true
			}
		}
	})
}

// FuzzParseRuleCreate checks ParseRuleCreate's error contract and the
// invariants of every rule it accepts.
func FuzzParseRuleCreate(f *testing.F) {
	for _, b := range []string{
		rule(`"protocol": "vrrp"`), rule(`"protocol": "112"`), rule(`"protocol": 6, "port_range_min": 1, "port_range_max": 65535`),
		rule(`"ethertype": "IPv6", "protocol": "1", "port_range_min": 128, "port_range_max": 0`),
		rule(`"protocol": "icmp", "port_range_max": 3`), rule(`"remote_ip_prefix": "10.0.0.5/24"`),
		rule(`"ethertype": "IPv6", "remote_ip_prefix": "2001:db8::1"`), rule(`"remote_group_id": "` + sg2ID + `"`),
		rule(`"remote_address_group_id": "` + agID + `", "remote_ip_prefix": "0.0.0.0/0"`),
		rule(`"protocol": "foo"`), rule(`"protocol": "tcp", "port_range_min": "200", "port_range_max": "100"`),
		rule(`"ethertype": "IPv4", "remote_ip_prefix": "2001:db8::/64"`), rule(`"ethertype": null`),
		`{"direction": "sideways"}`, `{}`,
	} {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var a model.Attrs
		if json.Unmarshal(raw, &a) != nil || a == nil {
			return
		}
		r, err := model.ParseRuleCreate(a)
		clientError(t, err)
		if err != nil {
			return
		}
		n := model.ProtocolNumber(r.Protocol)
		if (r.Protocol == nil) != (n == -1) || n < -1 || n > 255 {
			t.Fatalf("protocol %q has number %d", deref(r.Protocol), n)
		}
		if r.Ethertype != "IPv4" && r.Ethertype != "IPv6" || r.Direction != "ingress" && r.Direction != "egress" {
			t.Fatalf("ethertype %q direction %q", r.Ethertype, r.Direction)
		}
		if (r.RemoteIPPrefix == nil) != (r.NormalizedCIDR == nil) {
			t.Fatal("remote_ip_prefix and normalized_cidr disagree")
		}
		if r.NormalizedCIDR != nil {
			p, ok := model.ParseCIDR(*r.NormalizedCIDR)
			if !ok || p.Masked() != p || p.Addr().Is4() != (r.Ethertype == "IPv4") {
				t.Fatalf("normalized_cidr %q for %s", *r.NormalizedCIDR, r.Ethertype)
			}
		}
		remotes := 0
		for _, set := range []bool{r.RemoteIPPrefix != nil, r.RemoteGroupID != nil, r.RemoteAddressGroupID != nil} {
			if set {
				remotes++
			}
		}
		if remotes > 1 {
			t.Fatal("more than one remote accepted")
		}
		if (r.PortRangeMin != nil || r.PortRangeMax != nil) && r.Protocol == nil {
			t.Fatal("ports without protocol accepted")
		}
		if model.HasPorts(n) && (r.PortRangeMin == nil) != (r.PortRangeMax == nil) {
			t.Fatal("half a port range accepted")
		}
		if model.HasPorts(n) && r.PortRangeMin != nil && (*r.PortRangeMin < 1 || *r.PortRangeMin > *r.PortRangeMax || *r.PortRangeMax > 65535) {
			t.Fatalf("port range %d-%d accepted", *r.PortRangeMin, *r.PortRangeMax)
		}
		if fp := model.RuleFingerprint(r); fp == "" {
			t.Fatal("empty fingerprint")
		}
	})
}
