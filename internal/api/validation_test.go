package api_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/bulwark-net/bulwark/internal/api"
	"github.com/bulwark-net/bulwark/internal/service"
)

// TestAllowedAddressPairs covers the pair rules: MAC defaulting, MACs
// kept as sent, CIDRs, the limit, multicast, duplicates and clearing.
func TestAllowedAddressPairs(t *testing.T) {
	e := newEnv(t)
	f := e.newNet("aap", "172.16.200.0/24")
	// IPv6 subnet too, for v6 pairs.
	e.create("subnets", "subnet", map[string]any{"network_id": f.net, "cidr": "2001:db8::/64", "ip_version": 6})
	port := e.newPort(f.net, map[string]any{"name": "p"})
	id, mac := str(port, "id"), str(port, "mac_address")
	if !neutronMAC.MatchString(mac) {
		t.Fatalf("port MAC %q", mac)
	}
	many := func(n int) string {
		var l []string
		for i := 1; i <= n; i++ {
			l = append(l, fmt.Sprintf(`{"ip_address": "10.0.0.%d"}`, i))
		}
		return "[" + strings.Join(l, ", ") + "]"
	}
	manyWant := func(n int) []string {
		var l []string
		for i := 1; i <= n; i++ {
			l = append(l, fmt.Sprintf("%s 10.0.0.%d", mac, i))
		}
		slices.Sort(l)
		return l
	}
	cases := []struct {
		name  string
		pairs string
		// want is the stored pairs ("mac ip", sorted; MAC means the
		// port's) for a 200, or nil for an error.
		want     []string
		status   int
		typ, msg string
	}{
		{"VIP gets the port MAC", `[{"ip_address": "172.16.200.251"}]`, []string{"MAC 172.16.200.251"}, 200, "", ""},
		{"clear with []", `[]`, []string{}, 200, "", ""},
		{"foreign MAC kept as sent, case included", `[{"ip_address": "10.1.1.1", "mac_address": "FA:16:3E:AA:BB:CC"}]`, []string{"FA:16:3E:AA:BB:CC 10.1.1.1"}, 200, "", ""},
		{"clear with null", `null`, []string{}, 200, "", ""},
		{"CIDR pair", `[{"ip_address": "172.16.200.0/24"}, {"ip_address": "10.1.1.1", "mac_address": "FA:16:3E:AA:BB:CC"}]`,
			[]string{"FA:16:3E:AA:BB:CC 10.1.1.1", "MAC 172.16.200.0/24"}, 200, "", ""},
		{"IPv6 pair and prefix", `[{"ip_address": "2001:db8::5"}, {"ip_address": "2001:db8:1::/64"}]`, []string{"MAC 2001:db8:1::/64", "MAC 2001:db8::5"}, 200, "", ""},
		{"anywhere", `[{"ip_address": "0.0.0.0/0"}]`, []string{"MAC 0.0.0.0/0"}, 200, "", ""},
		{"same IP with two MACs", `[{"ip_address": "10.0.0.9", "mac_address": "fa:16:3e:00:00:01"}, {"ip_address": "10.0.0.9", "mac_address": "fa:16:3e:00:00:02"}]`,
			[]string{"fa:16:3e:00:00:01 10.0.0.9", "fa:16:3e:00:00:02 10.0.0.9"}, 200, "", ""},
		{"ten pairs", many(10), manyWant(10), 200, "", ""},
		{"eleven pairs", many(11), nil, 400, "AllowedAddressPairExhausted", "The number of allowed address pair exceeds the maximum 10."},
		{"multicast VRRP group", `[{"ip_address": "224.0.0.18"}]`, nil, 400, "HTTPBadRequest", "'224.0.0.18' is a multicast*"},
		{"multicast /32", `[{"ip_address": "239.1.1.1/32"}]`, nil, 400, "HTTPBadRequest", "'239.1.1.1/32' is a multicast*"},
		{"multicast range", `[{"ip_address": "224.0.0.0/4"}]`, nil, 400, "HTTPBadRequest", "'224.0.0.0/4' is a multicast*"},
		{"IPv6 multicast", `[{"ip_address": "ff02::12"}]`, nil, 400, "HTTPBadRequest", "'ff02::12' is a multicast*"},
		{"duplicate with MAC", `[{"ip_address": "10.0.0.1", "mac_address": "fa:16:3e:aa:bb:cc"}, {"ip_address": "10.0.0.1", "mac_address": "fa:16:3e:aa:bb:cc"}]`,
			nil, 400, "DuplicateAddressPairInRequest", "Request contains duplicate address pair: mac_address fa:16:3e:aa:bb:cc ip_address 10.0.0.1."},
		{"duplicate CIDR", `[{"ip_address": "10.0.0.0/24"}, {"ip_address": "10.0.0.0/24"}]`,
			nil, 400, "DuplicateAddressPairInRequest", "Request contains duplicate address pair: mac_address None ip_address 10.0.0.0/24."},
		{"bad CIDR", `[{"ip_address": "10.0.0.0/33"}]`, nil, 400, "HTTPBadRequest", "'10.0.0.0/33' is not a valid IP subnet"},
		{"word", `[{"ip_address": "vip"}]`, nil, 400, "HTTPBadRequest", "'vip' is not a valid IP address"},
		{"number", `[{"ip_address": 5}]`, nil, 400, "HTTPBadRequest", "'5' is not a valid IP address"},
		{"MAC with dashes", `[{"ip_address": "10.0.0.1", "mac_address": "fa-16-3e-00-00-01-02"}]`, nil, 400, "HTTPBadRequest", "'fa-16-3e-00-00-01-02' is not a valid MAC address"},
		{"pair not an object", `["10.0.0.1"]`, nil, 400, "HTTPBadRequest", "*"},
		{"string", `"10.0.0.1"`, nil, 400, "HTTPBadRequest", "Allowed address pairs must be a list."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.get("ports", "port", id)
			r := e.do("PUT", "/v2.0/ports/"+id, `{"port": {"allowed_address_pairs": `+c.pairs+`}}`)
			if c.want == nil {
				expectError(t, r, c.status, c.typ, c.msg)
				if after := e.get("ports", "port", id); !equalJSON(before, after) {
					t.Errorf("rejected update changed the port:\n%s\n%s", pretty(before), pretty(after))
				}
				return
			}
			if r.Status != 200 {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			want := []string{}
			for _, w := range c.want {
				want = append(want, strings.Replace(w, "MAC", mac, 1))
			}
			slices.Sort(want)
			got := pairs(r.obj(t, "port"))
			if !slices.Equal(got, want) {
				t.Errorf("pairs %v, want %v", got, want)
			}
			if again := pairs(e.get("ports", "port", id)); !slices.Equal(again, want) {
				t.Errorf("GET after update: %v, want %v", again, want)
			}
		})
	}

	// Pairs given at creation get the new port's MAC.
	p := e.newPort(f.net, map[string]any{"allowed_address_pairs": []any{map[string]any{"ip_address": "172.16.200.252"}}})
	if got := pairs(p); !slices.Equal(got, []string{str(p, "mac_address") + " 172.16.200.252"}) {
		t.Errorf("pairs at create: %v", got)
	}
	// The limit is configurable.
	cfg := service.DefaultConfig()
	cfg.MaxAddressPairs = 2
	e2 := newEnvWith(t, api.NoAuth{DefaultProject: defaultProject}, cfg)
	f2 := e2.newNet("n", "10.0.0.0/24")
	expectError(t, e2.do("POST", "/v2.0/ports", `{"port": {"network_id": "`+f2.net+`", "allowed_address_pairs": `+many(3)+`}}`),
		400, "AllowedAddressPairExhausted", "The number of allowed address pair exceeds the maximum 2.")
	if ps := e2.must(200, "GET", "/v2.0/ports", nil).list(t, "ports"); len(ps) != 0 {
		t.Errorf("rejected create left %d ports", len(ps))
	}
}

func equalJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// TestDefaultSecurityGroup: the project's default group appears on first
// use with Neutron's four rules, once, and unnamed ports get it.
func TestDefaultSecurityGroup(t *testing.T) {
	e := newEnv(t)
	for _, first := range []struct{ name, project string }{{"list groups", "p-list"}, {"create port", "p-port"}} {
		t.Run(first.name, func(t *testing.T) {
			h := []string{"X-Project-Id", first.project}
			var portSGs []string
			switch first.name {
			case "create port":
				f := e.newNet("n-"+first.project, "10.0.0.0/24", h...)
				portSGs = strs(e.newPort(f.net, nil, h...), "security_groups")
			}
			for range 2 {
				// The caller is admin and sees every project's: filter.
				gs := e.must(200, "GET", "/v2.0/security-groups?tenant_id="+first.project, nil, h...).list(t, "security_groups")
				if len(gs) != 1 {
					t.Fatalf("%d groups, want 1 default", len(gs))
				}
				g := gs[0]
				gid := str(g, "id")
				if str(g, "name") != "default" || str(g, "description") != "Default security group" || str(g, "project_id") != first.project ||
					str(g, "tenant_id") != first.project || g["stateful"] != true || g["shared"] != false || num(g, "revision_number") != 1 {
					t.Errorf("default group: %s", pretty(g))
				}
				var kinds []string
				for _, r := range objs(g, "security_group_rules") {
					remote := "-"
					if r["remote_group_id"] == gid {
						remote = "self"
					} else if r["remote_group_id"] != nil {
						remote = fmt.Sprint(r["remote_group_id"])
					}
					kinds = append(kinds, fmt.Sprintf("%s %s %v %v %s", r["direction"], r["ethertype"], r["protocol"], r["remote_ip_prefix"], remote))
					if _, ok := r["standard_attr_id"]; !ok {
						t.Errorf("rule inside the group lacks standard_attr_id")
					}
					if r["description"] != nil || num(r, "revision_number") != 0 {
						t.Errorf("default rule: %s", pretty(r))
					}
				}
				slices.Sort(kinds)
				want := []string{"egress IPv4 <nil> <nil> -", "egress IPv6 <nil> <nil> -", "ingress IPv4 <nil> <nil> self", "ingress IPv6 <nil> <nil> self"}
				if !slices.Equal(kinds, want) {
					t.Errorf("default rules %v, want %v", kinds, want)
				}
				if portSGs != nil && !slices.Equal(portSGs, []string{gid}) {
					t.Errorf("port without security_groups got %v, want the default %s", portSGs, gid)
				}
				// From the rules collection they carry no standard_attr_id/tags.
				for _, r := range e.must(200, "GET", "/v2.0/security-group-rules?security_group_id="+gid, nil, h...).list(t, "security_group_rules") {
					if _, ok := r["standard_attr_id"]; ok {
						t.Errorf("rule from /security-group-rules has standard_attr_id")
					}
					if _, ok := r["tags"]; ok {
						t.Errorf("rule from /security-group-rules has tags")
					}
				}
			}
		})
	}
	// A name clash with "default" is refused.
	r := e.do("POST", "/v2.0/security-groups", `{"security_group": {"name": "default"}}`)
	if r.Status != 409 || r.nerr(t).Type != "SecurityGroupDefaultAlreadyExists" {
		t.Errorf("second default: %d %s", r.Status, r.Body)
	}
	// A port with port security off gets no group, and no default is
	// forced on it.
	f := e.newNet("n", "10.1.0.0/24")
	p := e.newPort(f.net, map[string]any{"port_security_enabled": false})
	if sgs := strs(p, "security_groups"); len(sgs) != 0 {
		t.Errorf("port without port security got groups %v", sgs)
	}
	// A network with port security off hands it down.
	n := e.create("networks", "network", map[string]any{"name": "open", "port_security_enabled": false})
	e.create("subnets", "subnet", map[string]any{"network_id": n["id"], "cidr": "10.2.0.0/24", "ip_version": 4})
	p = e.newPort(str(n, "id"), nil)
	if p["port_security_enabled"] != false || len(strs(p, "security_groups")) != 0 {
		t.Errorf("port on an open network: %s", pretty(p))
	}
	p = e.newPort(str(n, "id"), map[string]any{"port_security_enabled": true})
	if p["port_security_enabled"] != true || len(strs(p, "security_groups")) != 1 {
		t.Errorf("port with explicit port security on an open network: %s", pretty(p))
	}
}

// TestSecurityGroupRules: new groups, protocols as sent, duplicates by
// number, normalized_cidr, remotes, revisions.
func TestSecurityGroupRules(t *testing.T) {
	e := newEnv(t)
	g := e.newGroup("web")
	gid := str(g, "id")
	if str(g, "description") != "" || g["stateful"] != true || g["shared"] != false || num(g, "revision_number") != 1 || len(strs(g, "tags")) != 0 ||
		!timestampRe.MatchString(str(g, "created_at")) || str(g, "tenant_id") != defaultProject || str(g, "project_id") != defaultProject {
		t.Errorf("new group: %s", pretty(g))
	}
	rules := objs(g, "security_group_rules")
	if len(rules) != 2 {
		t.Fatalf("new group has %d rules, want 2", len(rules))
	}
	eth := []string{}
	for _, r := range rules {
		if r["direction"] != "egress" || r["protocol"] != nil || r["remote_ip_prefix"] != nil || r["remote_group_id"] != nil ||
			r["description"] != nil || r["port_range_min"] != nil || r["normalized_cidr"] != nil {
			t.Errorf("default egress rule: %s", pretty(r))
		}
		eth = append(eth, str(r, "ethertype"))
	}
	slices.Sort(eth)
	if !slices.Equal(eth, []string{"IPv4", "IPv6"}) {
		t.Errorf("egress ethertypes %v", eth)
	}
	// A second group's rules are its own: 2 more.
	g2 := str(e.newGroup("db"), "id")

	type ruleCase struct {
		name  string
		attrs string // JSON object members besides security_group_id
		// for success: the protocol, remote_ip_prefix, normalized_cidr stored
		proto, prefix, norm any
		dupOf               string // name of the earlier case it duplicates (409)
		status              int
		typ                 string
	}
	cases := []ruleCase{
		{name: "vrrp by name", attrs: `"direction": "ingress", "protocol": "vrrp"`, proto: "vrrp", status: 201},
		{name: "112 is vrrp", attrs: `"direction": "ingress", "protocol": "112"`, dupOf: "vrrp by name", status: 409},
		{name: "112 as a number is vrrp", attrs: `"direction": "ingress", "protocol": 112`, dupOf: "vrrp by name", status: 409},
		{name: "VRRP upper case is vrrp", attrs: `"direction": "ingress", "protocol": "VRRP"`, dupOf: "vrrp by name", status: 409},
		{name: "112 egress", attrs: `"direction": "egress", "protocol": "112"`, proto: "112", status: 201},
		{name: "vrrp egress dup", attrs: `"direction": "egress", "protocol": "vrrp"`, dupOf: "112 egress", status: 409},
		{name: "tcp 22", attrs: `"direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22`, proto: "tcp", status: 201},
		{name: "6 is tcp", attrs: `"direction": "ingress", "protocol": "6", "port_range_min": 22, "port_range_max": 22`, dupOf: "tcp 22", status: 409},
		// Neutron's duplicate check treats 0.0.0.0/0 and ::/0 as no prefix.
		{name: "tcp 22 from 0.0.0.0/0 is the same", attrs: `"direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "0.0.0.0/0"`,
			dupOf: "tcp 22", status: 409},
		{name: "udp from 0.0.0.0/0", attrs: `"direction": "egress", "protocol": "udp", "remote_ip_prefix": "0.0.0.0/0"`,
			proto: "udp", prefix: "0.0.0.0/0", norm: "0.0.0.0/0", status: 201},
		{name: "udp to anywhere is the same", attrs: `"direction": "egress", "protocol": "17"`, dupOf: "udp from 0.0.0.0/0", status: 409},
		{name: "6 on 443", attrs: `"direction": "ingress", "protocol": "6", "port_range_min": 443, "port_range_max": 443`, proto: "6", status: 201},
		{name: "tcp 443 dup of 6", attrs: `"direction": "ingress", "protocol": "tcp", "port_range_min": 443, "port_range_max": 443`, dupOf: "6 on 443", status: 409},
		{name: "host bits kept, network normalised", attrs: `"direction": "ingress", "protocol": "udp", "remote_ip_prefix": "10.0.0.5/24"`,
			proto: "udp", prefix: "10.0.0.5/24", norm: "10.0.0.0/24", status: 201},
		{name: "same network other host bits", attrs: `"direction": "ingress", "protocol": "udp", "remote_ip_prefix": "10.0.0.0/24"`, dupOf: "host bits kept, network normalised", status: 409},
		{name: "bare address", attrs: `"direction": "ingress", "protocol": "udp", "remote_ip_prefix": "192.0.2.7"`, proto: "udp", prefix: "192.0.2.7/32", norm: "192.0.2.7/32", status: 201},
		{name: "IPv6 prefix", attrs: `"direction": "ingress", "ethertype": "IPv6", "protocol": "ipv6-icmp", "remote_ip_prefix": "2001:db8::1/64"`,
			proto: "ipv6-icmp", prefix: "2001:db8::1/64", norm: "2001:db8::/64", status: 201},
		{name: "icmp echo", attrs: `"direction": "ingress", "protocol": "icmp", "port_range_min": 8, "port_range_max": 0`, proto: "icmp", status: 201},
		{name: "number 0 protocol", attrs: `"direction": "egress", "protocol": "47"`, proto: "47", status: 201},
		{name: "remote group", attrs: `"direction": "ingress", "protocol": "tcp", "remote_group_id": "G2"`, proto: "tcp", status: 201},
		{name: "remote group dup", attrs: `"direction": "ingress", "protocol": "6", "remote_group_id": "G2"`, dupOf: "remote group", status: 409},
		{name: "any protocol ingress", attrs: `"direction": "ingress"`, proto: nil, status: 201},
		{name: "IPv6 egress exists", attrs: `"direction": "egress", "ethertype": "IPv6"`, dupOf: "*", status: 409},
	}
	created := map[string]string{}
	revision := 1
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := `{"security_group_rule": {"security_group_id": "` + gid + `", ` + strings.ReplaceAll(c.attrs, "G2", g2) + `}}`
			r := e.do("POST", "/v2.0/security-group-rules", body)
			if c.status == 409 {
				ne := r.nerr(t)
				if r.Status != 409 || ne.Type != "SecurityGroupRuleExists" {
					t.Fatalf("%d %s %s", r.Status, ne.Type, ne.Message)
				}
				if c.dupOf != "*" && ne.Message != "Security group rule already exists. Rule id is "+created[c.dupOf]+"." {
					t.Errorf("message %q, want the id of %q (%s)", ne.Message, c.dupOf, created[c.dupOf])
				}
				return
			}
			if r.Status != 201 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			revision++
			rule := r.obj(t, "security_group_rule")
			created[c.name] = str(rule, "id")
			if rule["protocol"] != c.proto || rule["remote_ip_prefix"] != c.prefix || rule["normalized_cidr"] != c.norm {
				t.Errorf("stored protocol %v prefix %v normalized %v, want %v %v %v", rule["protocol"], rule["remote_ip_prefix"], rule["normalized_cidr"], c.proto, c.prefix, c.norm)
			}
			if num(rule, "revision_number") != 0 || rule["description"] != "" || str(rule, "security_group_id") != gid ||
				str(rule, "tenant_id") != defaultProject || str(rule, "project_id") != defaultProject || !timestampRe.MatchString(str(rule, "updated_at")) {
				t.Errorf("rule: %s", pretty(rule))
			}
			if _, ok := rule["standard_attr_id"]; ok {
				t.Errorf("created rule shows standard_attr_id")
			}
			for _, k := range []string{"id", "tenant_id", "security_group_id", "ethertype", "direction", "protocol", "port_range_min", "port_range_max",
				"remote_ip_prefix", "remote_address_group_id", "normalized_cidr", "remote_group_id", "description", "created_at", "updated_at", "revision_number", "project_id"} {
				if _, ok := rule[k]; !ok {
					t.Errorf("rule lacks %s", k)
				}
			}
			if got := e.get("security-group-rules", "security_group_rule", str(rule, "id")); !equalJSON(got, rule) {
				t.Errorf("GET differs from POST:\n%s\n%s", pretty(got), pretty(rule))
			}
		})
	}
	// Each created rule revised its group once; duplicates did not.
	g = e.get("security-groups", "security_group", gid)
	if num(g, "revision_number") != revision || len(objs(g, "security_group_rules")) != 2+len(created) {
		t.Errorf("group revision %d with %d rules, want %d with %d", num(g, "revision_number"), len(objs(g, "security_group_rules")), revision, 2+len(created))
	}
	// Deleting the remote group deletes the rules that name it.
	e.must(204, "DELETE", "/v2.0/security-groups/"+g2, nil)
	expectError(t, e.do("GET", "/v2.0/security-group-rules/"+created["remote group"], nil), 404, "SecurityGroupRuleNotFound",
		"Security group rule "+created["remote group"]+" does not exist")
	// Rule description is the only updatable attribute.
	rid := created["tcp 22"]
	u := e.update("security-group-rules", "security_group_rule", rid, map[string]any{"description": "ssh"})
	if u["description"] != "ssh" || num(u, "revision_number") != 1 {
		t.Errorf("rule update: %s", pretty(u))
	}
	e.must(204, "DELETE", "/v2.0/security-group-rules/"+rid, nil)
	expectError(t, e.do("DELETE", "/v2.0/security-group-rules/"+rid, nil), 404, "SecurityGroupRuleNotFound", "Security group rule "+rid+" does not exist")
	// The same rule can be made again once the old one is gone.
	e.must(201, "POST", "/v2.0/security-group-rules", `{"security_group_rule": {"security_group_id": "`+gid+`", "direction": "ingress", "protocol": "6", "port_range_min": 22, "port_range_max": 22}}`)
}

// TestRemoteAddressGroup: a rule's remote may be an address group, and
// only one kind of remote is allowed at a time.
func TestRemoteAddressGroup(t *testing.T) {
	e := newEnv(t)
	gid := str(e.newGroup("g"), "id")
	ag := e.create("address-groups", "address_group", map[string]any{"name": "vips", "addresses": []string{"10.0.0.5/32"}})
	agid := str(ag, "id")
	r := e.create("security-group-rules", "security_group_rule", map[string]any{"security_group_id": gid, "direction": "ingress", "remote_address_group_id": agid})
	if r["remote_address_group_id"] != agid || r["remote_ip_prefix"] != nil || r["remote_group_id"] != nil {
		t.Errorf("rule: %s", pretty(r))
	}
	// Address group membership changes.
	a := e.must(200, "PUT", "/v2.0/address-groups/"+agid+"/add_addresses", `{"addresses": ["10.0.0.6/32"]}`).obj(t, "address_group")
	if got := strs(a, "addresses"); !slices.Contains(got, "10.0.0.6/32") || !slices.Contains(got, "10.0.0.5/32") {
		t.Errorf("after add: %v", got)
	}
	a = e.must(200, "PUT", "/v2.0/address-groups/"+agid+"/remove_addresses", `{"addresses": ["10.0.0.5/32"]}`).obj(t, "address_group")
	if got := strs(a, "addresses"); !slices.Equal(got, []string{"10.0.0.6/32"}) {
		t.Errorf("after remove: %v", got)
	}
	for _, remotes := range []map[string]any{
		{"remote_group_id": gid, "remote_ip_prefix": "10.0.0.0/8"},
		{"remote_group_id": gid, "remote_address_group_id": agid},
		{"remote_ip_prefix": "10.0.0.0/8", "remote_address_group_id": agid},
		{"remote_group_id": gid, "remote_ip_prefix": "10.0.0.0/8", "remote_address_group_id": agid},
	} {
		attrs := map[string]any{"security_group_id": gid, "direction": "egress"}
		for k, v := range remotes {
			attrs[k] = v
		}
		expectError(t, e.do("POST", "/v2.0/security-group-rules", map[string]any{"security_group_rule": attrs}), 400,
			"SecurityGroupMultipleRemoteEntites", "Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided.")
	}
	expectError(t, e.do("POST", "/v2.0/security-group-rules", map[string]any{"security_group_rule": map[string]any{
		"security_group_id": gid, "direction": "egress", "remote_address_group_id": unknownID}}), 404, "AddressGroupNotFound", "Address group "+unknownID+" could not be found.")
}

// TestQuotas: Neutron's defaults, admin GET/PUT/DELETE, OverQuota, and
// an over-quota request changes nothing.
func TestQuotas(t *testing.T) {
	e := newEnv(t)
	const p = "quota-project"
	h := []string{"X-Project-Id", p}
	want := map[string]int{"network": 100, "subnet": 100, "port": 500, "security_group": 10, "security_group_rule": 100}
	checkQuota := func(q map[string]any, want map[string]int) {
		t.Helper()
		for k, v := range want {
			if num(q, k) != v {
				t.Errorf("quota %s = %v, want %d", k, q[k], v)
			}
		}
	}
	checkQuota(e.must(200, "GET", "/v2.0/quotas/"+p, nil).obj(t, "quota"), want)
	checkQuota(e.must(200, "GET", "/v2.0/quotas/"+p+".json", nil).obj(t, "quota"), want)
	checkQuota(e.must(200, "GET", "/v2.0/quotas/"+p+"/default", nil).obj(t, "quota"), want)

	// The default group counts: 9 more groups fit in 10.
	for i := range 9 {
		e.newGroup(fmt.Sprintf("g%d", i), h...)
	}
	before := e.snapshot(h...)
	expectError(t, e.do("POST", "/v2.0/security-groups", `{"security_group": {"name": "g10"}}`, h...), 409, "OverQuota", "Quota exceeded for resources: ['security_group'].")
	if e.snapshot(h...) != before {
		t.Errorf("over-quota group create changed the state")
	}
	d := e.must(200, "GET", "/v2.0/quotas/"+p+"/details", nil).obj(t, "quota")
	if sg, _ := d["security_group"].(map[string]any); num(sg, "used") != 10 || num(sg, "limit") != 10 {
		t.Errorf("details: %s", pretty(d))
	}

	// Lower the limits.
	q := e.must(200, "PUT", "/v2.0/quotas/"+p, `{"quota": {"port": 2, "network": 1, "subnet": 1, "security_group_rule": 24, "security_group": 20}}`).obj(t, "quota")
	checkQuota(q, map[string]int{"port": 2, "network": 1, "subnet": 1, "security_group_rule": 24, "security_group": 20})
	checkQuota(e.must(200, "GET", "/v2.0/quotas/"+p, nil).obj(t, "quota"), map[string]int{"port": 2, "network": 1, "security_group": 20})
	// Other projects keep the defaults.
	checkQuota(e.must(200, "GET", "/v2.0/quotas/someone-else", nil).obj(t, "quota"), want)
	if l := e.must(200, "GET", "/v2.0/quotas", nil).list(t, "quotas"); len(l) != 1 || str(l[0], "project_id") != p {
		t.Errorf("quota list: %v", l)
	}

	f := e.newNet("n", "10.0.0.0/24", h...)
	expectError(t, e.do("POST", "/v2.0/networks", `{"network": {"name": "n2"}}`, h...), 409, "OverQuota", "Quota exceeded for resources: ['network'].")
	expectError(t, e.do("POST", "/v2.0/subnets", `{"subnet": {"network_id": "`+f.net+`", "cidr": "10.1.0.0/24", "ip_version": 4}}`, h...), 409, "OverQuota", "Quota exceeded for resources: ['subnet'].")
	e.newPort(f.net, nil, h...)
	before = e.snapshot(h...)
	// A bulk create that would pass the limit creates nothing.
	expectError(t, e.do("POST", "/v2.0/ports", `{"ports": [{"network_id": "`+f.net+`"}, {"network_id": "`+f.net+`"}]}`, h...), 409, "OverQuota", "Quota exceeded for resources: ['port'].")
	if e.snapshot(h...) != before {
		t.Errorf("over-quota bulk create changed the state")
	}
	e.newPort(f.net, nil, h...)
	expectError(t, e.do("POST", "/v2.0/ports", `{"port": {"network_id": "`+f.net+`"}}`, h...), 409, "OverQuota", "Quota exceeded for resources: ['port'].")
	// Rules: 4 (default) + 9*2 = 22 of 24; a group needs 2 more rules...
	e.newGroup("g-last", h...)
	// ... and then no room for a rule or a group.
	expectError(t, e.do("POST", "/v2.0/security-group-rules", `{"security_group_rule": {"security_group_id": "`+str(e.must(200, "GET", "/v2.0/security-groups?name=g0", nil, h...).list(t, "security_groups")[0], "id")+`", "direction": "ingress"}}`, h...),
		409, "OverQuota", "Quota exceeded for resources: ['security_group_rule'].")
	expectError(t, e.do("POST", "/v2.0/security-groups", `{"security_group": {"name": "g-more"}}`, h...), 409, "OverQuota", "Quota exceeded for resources: ['security_group_rule'].")

	// -1 is unlimited; DELETE goes back to the defaults.
	e.must(200, "PUT", "/v2.0/quotas/"+p, `{"quota": {"port": -1}}`)
	e.newPort(f.net, nil, h...)
	e.must(204, "DELETE", "/v2.0/quotas/"+p, nil)
	checkQuota(e.must(200, "GET", "/v2.0/quotas/"+p, nil).obj(t, "quota"), want)
	if l := e.must(200, "GET", "/v2.0/quotas", nil).list(t, "quotas"); len(l) != 0 {
		t.Errorf("quota list after delete: %v", l)
	}
	// Bad quota bodies.
	for _, body := range []string{`{"quota": {"port": "many"}}`, `{"quota": {"port": -2}}`, `{"quota": {"routers": 5}}`, `{"quota": []}`, `{"port": 5}`, `{`} {
		r := e.do("PUT", "/v2.0/quotas/"+p, body)
		if r.Status != 400 {
			t.Errorf("PUT quota %s: %d %s", body, r.Status, r.Body)
		} else {
			r.nerr(t)
		}
	}
	checkQuota(e.must(200, "GET", "/v2.0/quotas/"+p, nil).obj(t, "quota"), want)

	// Members may read their own quota only, and not change it.
	m := newEnvWith(t, memberAuth{}, service.DefaultConfig())
	m.must(200, "GET", "/v2.0/quotas/"+defaultProject, nil)
	for _, r := range []*resp{
		m.do("GET", "/v2.0/quotas/other", nil),
		m.do("PUT", "/v2.0/quotas/"+defaultProject, `{"quota": {"port": 1000}}`),
		m.do("DELETE", "/v2.0/quotas/"+defaultProject, nil),
	} {
		if r.Status != 403 || r.nerr(t).Type != "PolicyNotAuthorized" {
			t.Errorf("%s as member: %d %s", r.req, r.Status, r.Body)
		}
	}
}

// TestAddressAllocation: automatic addresses spill over to the next
// subnet of the same version; exhaustion names the network (automatic)
// or the subnet (asked for); explicit addresses are checked.
func TestAddressAllocation(t *testing.T) {
	e := newEnv(t)
	n := str(e.create("networks", "network", map[string]any{"name": "two-subnets"}), "id")
	s1 := str(e.create("subnets", "subnet", map[string]any{"network_id": n, "cidr": "10.5.0.0/30", "ip_version": 4}), "id") // one address: .2
	s2 := str(e.create("subnets", "subnet", map[string]any{"network_id": n, "cidr": "10.6.0.0/29", "ip_version": 4}), "id") // .2-.6
	// Six automatic ports fill both subnets (the one that fills up
	// first passes on to the other).
	got := map[string]bool{}
	for range 6 {
		for _, ip := range fixedIPs(e.newPort(n, nil)) {
			got[ip] = true
		}
	}
	for _, want := range []string{s1 + " 10.5.0.2", s2 + " 10.6.0.2", s2 + " 10.6.0.3", s2 + " 10.6.0.4", s2 + " 10.6.0.5", s2 + " 10.6.0.6"} {
		if !got[want] {
			t.Errorf("%s not allocated; got %v", want, got)
		}
	}
	expectError(t, e.do("POST", "/v2.0/ports", `{"port": {"network_id": "`+n+`", "fixed_ips": [{"subnet_id": "`+s1+`"}]}}`), 409,
		"IpAddressGenerationFailure", "No more IP addresses available for subnet "+s1+".")
	before := e.snapshot()
	expectError(t, e.do("POST", "/v2.0/ports", `{"port": {"network_id": "`+n+`"}}`), 409,
		"IpAddressGenerationFailure", "No more IP addresses available on network "+n+".")
	if e.snapshot() != before {
		t.Errorf("failed create changed the state")
	}
	// Explicit addresses.
	f := e.newNet("n", "172.16.200.0/24")
	for _, c := range []struct {
		ip       string
		status   int
		typ, msg string
	}{
		{"10.0.0.5", 400, "InvalidIpForNetwork", "IP address 10.0.0.5 is not a valid IP for any of the subnets on the specified network."},
		{"172.16.200.0", 400, "InvalidIpForSubnet", "IP address 172.16.200.0 is not a valid IP for the specified subnet."},
		{"172.16.200.255", 400, "InvalidIpForSubnet", "IP address 172.16.200.255 is not a valid IP for the specified subnet."},
		{"172.16.200.1", 409, "IpAddressAlreadyAllocated", "IP address 172.16.200.1 already allocated in subnet " + f.subnet},
	} {
		expectError(t, e.do("POST", "/v2.0/ports", `{"port": {"network_id": "`+f.net+`", "fixed_ips": [{"ip_address": "`+c.ip+`"}]}}`), c.status, c.typ, c.msg)
	}
	// An explicit address outside the allocation pool but inside the
	// subnet is allowed (Neutron: pools bound automatic allocation only).
	sub := e.create("subnets", "subnet", map[string]any{"network_id": f.net, "cidr": "192.168.9.0/24", "ip_version": 4,
		"allocation_pools": []any{map[string]any{"start": "192.168.9.100", "end": "192.168.9.110"}}})
	p := e.newPort(f.net, map[string]any{"fixed_ips": []any{map[string]any{"ip_address": "192.168.9.50"}}})
	if got := fixedIPs(p); !slices.Equal(got, []string{str(sub, "id") + " 192.168.9.50"}) {
		t.Errorf("explicit address outside the pool: %v", got)
	}
	p = e.newPort(f.net, map[string]any{"fixed_ips": []any{map[string]any{"subnet_id": str(sub, "id")}}})
	if got := fixedIPs(p); !slices.Equal(got, []string{str(sub, "id") + " 192.168.9.100"}) {
		t.Errorf("pool allocation: %v", got)
	}
}
