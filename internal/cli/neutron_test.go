package cli

import (
	"reflect"
	"testing"
)

// fixture is the state every runbook case starts from: network net1 with
// subnet sub1 (10.0.0.0/24), group ha, and port vm1 (10.0.0.10, in the
// default group, one address pair 10.0.0.50).
type fixture struct {
	net, subnet, ha, vm1, mac string
}

func setup(t *testing.T, s *testServer) fixture {
	t.Helper()
	var f fixture
	f.net = str(s.okJSON("network", "create", "net1")["id"])
	f.subnet = str(s.okJSON("subnet", "create", "--network", "net1", "--subnet-range", "10.0.0.0/24", "sub1")["id"])
	f.ha = str(s.okJSON("security-group", "create", "ha")["id"])
	p := s.okJSON("port", "create", "--network", "net1", "--fixed-ip", "subnet=sub1,ip-address=10.0.0.10",
		"--allowed-address", "ip-address=10.0.0.50", "vm1")
	f.vm1, f.mac = str(p["id"]), str(p["mac_address"])
	return f
}

func pairsOf(p map[string]any) []any { return anyList(p["allowed_address_pairs"]) }

func TestNeutronRunbookSpellings(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		check func(t *testing.T, s *testServer, f fixture)
	}{
		{"port-create with pairs", []string{"port-create", "net1", "--name", "vm2", "--allowed-address-pairs", "type=dict", "list=true",
			"ip_address=10.0.0.100", "ip_address=10.0.0.101,mac_address=fa:16:3e:00:00:01"},
			func(t *testing.T, s *testServer, f fixture) {
				id := str(s.okJSON("port", "show", "vm2")["id"])
				p := s.get("ports/" + id)
				want := []any{map[string]any{"ip_address": "10.0.0.100", "mac_address": p["mac_address"]},
					map[string]any{"ip_address": "10.0.0.101", "mac_address": "fa:16:3e:00:00:01"}}
				if !reflect.DeepEqual(pairsOf(p), want) {
					t.Errorf("pairs = %v, want %v", pairsOf(p), want)
				}
			}},
		{"port-create, pairs flag last", []string{"port-create", "--name", "vm2", "net1", "--allowed-address-pairs", "list=true", "type=dict", "ip_address=10.0.0.0/28"},
			func(t *testing.T, s *testServer, f fixture) {
				p := s.get("ports/" + str(s.okJSON("port", "show", "vm2")["id"]))
				if len(pairsOf(p)) != 1 || pairsOf(p)[0].(map[string]any)["ip_address"] != "10.0.0.0/28" {
					t.Errorf("pairs = %v", pairsOf(p))
				}
			}},
		{"port-update replaces pairs", []string{"port-update", "vm1", "--allowed-address-pairs", "type=dict", "list=true", "ip_address=10.0.0.100"},
			func(t *testing.T, s *testServer, f fixture) {
				want := []any{map[string]any{"ip_address": "10.0.0.100", "mac_address": f.mac}}
				if got := pairsOf(s.get("ports/" + f.vm1)); !reflect.DeepEqual(got, want) {
					t.Errorf("pairs = %v, want %v", got, want)
				}
			}},
		{"port-update --no-allowed-address-pairs", []string{"port-update", "vm1", "--no-allowed-address-pairs"},
			func(t *testing.T, s *testServer, f fixture) {
				if got := pairsOf(s.get("ports/" + f.vm1)); len(got) != 0 {
					t.Errorf("pairs = %v, want none", got)
				}
			}},
		{"port-update action=clear", []string{"port-update", "vm1", "--allowed-address-pairs", "action=clear"},
			func(t *testing.T, s *testServer, f fixture) {
				if got := pairsOf(s.get("ports/" + f.vm1)); len(got) != 0 {
					t.Errorf("pairs = %v, want none", got)
				}
			}},
		{"port-update --no-security-groups", []string{"port-update", "vm1", "--no-security-groups"},
			func(t *testing.T, s *testServer, f fixture) {
				if got := anyList(s.get("ports/" + f.vm1)["security_groups"]); len(got) != 0 {
					t.Errorf("groups = %v, want none", got)
				}
			}},
		{"port-update --security-group replaces", []string{"port-update", "vm1", "--security-group", "ha"},
			func(t *testing.T, s *testServer, f fixture) {
				if got := strList(s.get("ports/" + f.vm1)["security_groups"]); !reflect.DeepEqual(got, []string{f.ha}) {
					t.Errorf("groups = %v, want [%s]", got, f.ha)
				}
			}},
		{"port_security_enabled=False", []string{"port-update", "vm1", "--no-security-groups", "--no-allowed-address-pairs", "--port_security_enabled=False"},
			func(t *testing.T, s *testServer, f fixture) {
				if p := s.get("ports/" + f.vm1); p["port_security_enabled"] != false {
					t.Errorf("port_security_enabled = %v", p["port_security_enabled"])
				}
			}},
		{"port-security-enabled False", []string{"port-update", "vm1", "--port-security-enabled", "False", "--no-security-groups", "--no-allowed-address-pairs"},
			func(t *testing.T, s *testServer, f fixture) {
				if p := s.get("ports/" + f.vm1); p["port_security_enabled"] != false {
					t.Errorf("port_security_enabled = %v", p["port_security_enabled"])
				}
			}},
		{"port-create unfiltered", []string{"port-create", "net1", "--name", "lb", "--no-security-groups", "--port-security-enabled=false"},
			func(t *testing.T, s *testServer, f fixture) {
				p := s.get("ports/" + str(s.okJSON("port", "show", "lb")["id"]))
				if p["port_security_enabled"] != false || len(anyList(p["security_groups"])) != 0 {
					t.Errorf("port = %v", p)
				}
			}},
		{"binding:host_id", []string{"port-update", "vm1", "--binding:host_id=compute1"},
			func(t *testing.T, s *testServer, f fixture) {
				if p := s.get("ports/" + f.vm1); p["binding:host_id"] != "compute1" {
					t.Errorf("binding:host_id = %v", p["binding:host_id"])
				}
			}},
		{"rule 112 from group", []string{"security-group-rule-create", "--protocol", "112", "--direction", "ingress", "--remote-group-id", "ha", "ha"},
			func(t *testing.T, s *testServer, f fixture) {
				r := findRule(t, s, f.ha, "ingress", "112")
				if r["remote_group_id"] != f.ha || r["remote_ip_prefix"] != nil || r["ethertype"] != "IPv4" {
					t.Errorf("rule = %v", r)
				}
			}},
		{"rule vrrp to prefix", []string{"security-group-rule-create", "--protocol", "vrrp", "--direction", "egress", "--remote-ip-prefix", "10.0.0.0/24", "ha"},
			func(t *testing.T, s *testServer, f fixture) {
				if r := findRule(t, s, f.ha, "egress", "vrrp"); r["remote_ip_prefix"] != "10.0.0.0/24" {
					t.Errorf("rule = %v", r)
				}
			}},
		{"rule tcp range IPv6", []string{"security-group-rule-create", "ha", "--protocol", "tcp", "--port-range-min", "22", "--port-range-max", "23",
			"--ethertype", "IPv6", "--remote-ip-prefix", "2001:db8::/64"},
			func(t *testing.T, s *testServer, f fixture) {
				r := findRule(t, s, f.ha, "ingress", "tcp")
				if r["port_range_min"] != 22.0 || r["port_range_max"] != 23.0 || r["ethertype"] != "IPv6" {
					t.Errorf("rule = %v", r)
				}
			}},
		{"rule underscores", []string{"security-group-rule-create", "ha", "--protocol=udp", "--port_range_min=53", "--port_range_max=53", "--remote_ip_prefix=10.1.0.0/16"},
			func(t *testing.T, s *testServer, f fixture) {
				if r := findRule(t, s, f.ha, "ingress", "udp"); r["port_range_min"] != 53.0 || r["remote_ip_prefix"] != "10.1.0.0/16" {
					t.Errorf("rule = %v", r)
				}
			}},
		{"net-create", []string{"net-create", "n2", "--port-security-enabled", "False"},
			func(t *testing.T, s *testServer, f fixture) {
				if n := s.okJSON("net-show", "n2"); n["port_security_enabled"] != false {
					t.Errorf("network = %v", n)
				}
			}},
		{"subnet-create v6", []string{"subnet-create", "net1", "2001:db8::/64", "--name", "s6"},
			func(t *testing.T, s *testServer, f fixture) {
				if sub := s.okJSON("subnet-show", "s6"); sub["ip_version"] != 6.0 || sub["network_id"] != f.net {
					t.Errorf("subnet = %v", sub)
				}
			}},
		{"security-group-create", []string{"security-group-create", "web", "--description", "web tier"},
			func(t *testing.T, s *testServer, f fixture) {
				if g := s.okJSON("security-group-show", "web"); g["description"] != "web tier" {
					t.Errorf("group = %v", g)
				}
			}},
		{"port-delete", []string{"port-delete", "vm1"},
			func(t *testing.T, s *testServer, f fixture) {
				if n := s.count("ports"); n != 0 {
					t.Errorf("%d ports left", n)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, false)
			f := setup(t, s)
			s.t = t
			s.ok(tc.args...)
			tc.check(t, s, f)
		})
	}
}

// findRule returns the one rule of group with this direction and protocol.
func findRule(t *testing.T, s *testServer, group, direction, protocol string) map[string]any {
	t.Helper()
	rules, err := ruleRes.List(t.Context(), s.client(), query{"security_group_id": {group}, "direction": {direction}, "protocol": {protocol}})
	if err != nil || len(rules) != 1 {
		t.Fatalf("rules %s/%s of %s: %v, %v", direction, protocol, group, rules, err)
	}
	return rules[0]
}

// The list and show verbs of the neutron spelling.
func TestNeutronListShowDelete(t *testing.T) {
	s := newServer(t, false)
	f := setup(t, s)
	for _, args := range [][]string{{"net-list"}, {"subnet-list"}, {"port-list"}, {"security-group-list"}, {"security-group-rule-list"}} {
		out := s.ok(append(args, "-f", "value", "-c", "id")...)
		if out == "" {
			t.Errorf("%v: no output", args)
		}
	}
	if out := s.ok("port-list", "-c", "fixed_ips", "-f", "value"); out != `{"ip_address":"10.0.0.10","subnet_id":"`+f.subnet+`"}`+"\n" {
		t.Errorf("port-list fixed_ips = %q", out)
	}
	rule := str(s.okJSON("security-group-rule-create", "--protocol", "vrrp", "ha")["id"])
	if out := s.ok("security-group-rule-delete", rule); out != "Deleted security_group_rule: "+rule+"\n" {
		t.Errorf("delete said %q", out)
	}
	s.fails(ExitNotFound, "No SecurityGroupRule found for "+rule, "security-group-rule-show", rule)
	if out := s.ok("port-show", "vm1", "-f", "value", "-c", "security_groups"); out == "" {
		t.Error("port-show: no groups")
	}
}
