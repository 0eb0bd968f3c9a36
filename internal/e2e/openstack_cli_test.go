//go:build linux

package e2e

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	neutronMAC = regexp.MustCompile(`^fa:16:3e(:[0-9a-f]{2}){3}$`)
	uuidRE     = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	keystoneID = regexp.MustCompile(`^[0-9a-f]{32}$|^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

const (
	e2eAdminPassword = "e2e-admin-secret"
	demoPassword     = "demo-secret"
	vip              = "172.16.200.251"
	unknownSG        = "5c3d7a2e-0000-4000-8000-0123456789ab"

	msgRuleExists     = "Security group rule already exists. Rule id is "
	msgPortHasSG      = "Port has security group associated. Cannot disable port security or IP address until security group is removed."
	msgAAPNeedsPsec   = "Port Security must be enabled in order to have allowed address pairs on a port."
	msgSGNeedsPsec    = "Port security must be enabled and port must have an IP address in order to use security groups."
	msgProtoFoo       = "Security group rule protocol foo not supported. Only protocol values [None, 'ah', 'dccp', 'egp', 'esp', 'gre', 'hopopt', 'icmp', 'igmp', 'ip', 'ipip', 'ipv6-encap', 'ipv6-frag', 'ipv6-icmp', 'icmpv6', 'ipv6-nonxt', 'ipv6-opts', 'ipv6-route', 'ospf', 'pgm', 'rsvp', 'sctp', 'tcp', 'udp', 'udplite', 'vrrp'] and integer representations [0 to 255] are supported."
	msgDefaultSGRight = "Insufficient rights for removing default security group."
)

// TestOpenStackCLIKeepalived runs the keepalived walk-through of the
// reference transcript (shared/reference/neutron-api/scenario.md) with the
// real `openstack` and `neutron` clients, as the operators' runbook does,
// against `bulwark server --auth keystone`: the admin creates project and
// user demo, and demo (role member) does the rest through the catalog.
// Step numbers are the transcript's.
func TestOpenStackCLIKeepalived(t *testing.T) {
	requireCLIs(t)
	started := time.Now()
	dir := t.TempDir()
	bin := buildBulwark(t, dir)
	base := startServer(t, bin, dir, e2eAdminPassword)
	home := t.TempDir()
	c := &cli{t: t, base: base, home: home, debug: os.Getenv(debugEnv) == "1"}
	c.setDeadline(5 * time.Minute)
	if path := os.Getenv(transcriptEnv); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		c.transcript = f
	}
	admin := creds{"admin", e2eAdminPassword, "admin"}
	demo := creds{"demo", demoPassword, "demo"}

	// ---- identity: project demo, user demo with role member ----
	r := c.ok(admin, "openstack", "project", "create", "demo", "-f", "json")
	project := c.jsonObject(r)
	projectID := str(project["id"])
	c.check(r, keystoneID.MatchString(projectID) && str(project["name"]) == "demo" && str(project["domain_id"]) == "default",
		"project create demo: want name demo, domain_id default and an id, got %v", project)
	r = c.ok(admin, "openstack", "user", "create", "--password", demoPassword, "demo", "-f", "json")
	user := c.jsonObject(r)
	userID := str(user["id"])
	c.check(r, keystoneID.MatchString(userID) && str(user["name"]) == "demo" && str(user["domain_id"]) == "default",
		"user create demo: want name demo, domain_id default and an id, got %v", user)
	r = c.ok(admin, "openstack", "role", "add", "--project", "demo", "--user", "demo", "member")
	c.check(r, strings.TrimSpace(r.stdout) == "", "role add prints nothing")
	r = c.ok(admin, "openstack", "role", "assignment", "list", "--project", "demo", "--user", "demo", "--names", "-f", "json")
	as := c.jsonList(r)
	c.check(r, len(as) == 1 && str(as[0]["Role"]) == "member" && strings.HasPrefix(str(as[0]["User"]), "demo") &&
		strings.HasPrefix(str(as[0]["Project"]), "demo"), "role assignment list: want demo/demo/member, got %v", as)

	r = c.ok(demo, "openstack", "token", "issue", "-f", "json")
	tok := c.jsonObject(r)
	c.check(r, str(tok["project_id"]) == projectID && str(tok["user_id"]) == userID && str(tok["id"]) != "" && str(tok["expires"]) != "",
		"token issue as demo: want project_id %s user_id %s, got %v", projectID, userID, tok)
	// The runbook's curl takes its token from here.
	r = c.ok(demo, "openstack", "token", "issue", "-f", "value", "-c", "id")
	token := strings.TrimSpace(r.stdout)
	c.check(r, token != "" && !strings.ContainsAny(token, " \n"), "token issue -f value -c id: want one token")

	// ---- 0. defaults ----
	// 01. The per-project default group appears on first access.
	r = c.ok(demo, "openstack", "security", "group", "list", "-f", "json")
	sgs := c.jsonList(r)
	var defaultSG string
	if len(sgs) > 0 {
		defaultSG = str(sgs[0]["ID"])
	}
	c.check(r, len(sgs) == 1 && str(sgs[0]["Name"]) == "default" && str(sgs[0]["Description"]) == "Default security group" &&
		str(sgs[0]["Project"]) == projectID, "01: want only demo's default group, got %v", sgs)
	if !uuidRE.MatchString(defaultSG) {
		t.Fatalf("01: no default security group id: %v", sgs)
	}
	// 02. Its four rules.
	r = c.ok(demo, "openstack", "security", "group", "rule", "list", "default", "--long", "-f", "json")
	var got []string
	for _, rule := range c.jsonList(r) {
		got = append(got, str(rule["Direction"])+"/"+str(rule["Ethertype"])+"/"+str(rule["Remote Security Group"]))
	}
	slices.Sort(got)
	want := []string{"egress/IPv4/", "egress/IPv6/", "ingress/IPv4/" + defaultSG, "ingress/IPv6/" + defaultSG}
	c.check(r, slices.Equal(got, want), "02: default group rules %q, want %q", got, want)

	// ---- 1. network, subnet, security group and rules (neutron CLI, as in the seed) ----
	// 03.
	r = c.ok(demo, "neutron", "net-create", "net1")
	n := c.fieldTable(r)
	netID := n["id"]
	c.check(r, strings.Contains(r.stdout, "Created a new network:"), "03: no 'Created a new network:'")
	c.check(r, uuidRE.MatchString(netID) && n["name"] == "net1" && n["status"] == "ACTIVE" && n["admin_state_up"] == "True" &&
		n["port_security_enabled"] == "True" && n["shared"] == "False" && n["router:external"] == "False" && n["mtu"] == "1450" &&
		n["project_id"] == projectID && n["tenant_id"] == projectID && n["revision_number"] == "1" && n["subnets"] == "",
		"03: net-create net1 fields differ from the reference: %v", n)
	if !uuidRE.MatchString(netID) {
		t.FailNow()
	}
	// 04.
	r = c.ok(demo, "neutron", "subnet-create", "net1", "172.16.200.0/24", "--name", "subnet1")
	s := c.fieldTable(r)
	subnetID := s["id"]
	pools := c.jsonLines(r, "allocation_pools", s["allocation_pools"])
	c.check(r, uuidRE.MatchString(subnetID) && s["name"] == "subnet1" && s["cidr"] == "172.16.200.0/24" && s["gateway_ip"] == "172.16.200.1" &&
		s["enable_dhcp"] == "True" && s["ip_version"] == "4" && s["network_id"] == netID && s["project_id"] == projectID &&
		s["revision_number"] == "0" && len(pools) == 1 && str(pools[0]["start"]) == "172.16.200.2" && str(pools[0]["end"]) == "172.16.200.254",
		"04: subnet-create fields differ from the reference: %v", s)
	if !uuidRE.MatchString(subnetID) {
		t.FailNow()
	}
	// 05. A new group has two egress rules.
	r = c.ok(demo, "neutron", "security-group-create", "ha-sg")
	g := c.fieldTable(r)
	sgID := g["id"]
	var egress []string
	for _, rule := range c.jsonLines(r, "security_group_rules", g["security_group_rules"]) {
		egress = append(egress, str(rule["direction"])+"/"+str(rule["ethertype"])+"/"+str(rule["protocol"])+"/"+str(rule["security_group_id"]))
	}
	slices.Sort(egress)
	c.check(r, uuidRE.MatchString(sgID) && g["name"] == "ha-sg" && g["revision_number"] == "1" && g["stateful"] == "True" &&
		g["shared"] == "False" && g["project_id"] == projectID && g["description"] == "" &&
		slices.Equal(egress, []string{"egress/IPv4//" + sgID, "egress/IPv6//" + sgID}),
		"05: security-group-create ha-sg differs from the reference: %v (rules %q)", g, egress)
	if !uuidRE.MatchString(sgID) {
		t.FailNow()
	}
	// 06, 07. VRRP by protocol number, in and out.
	ruleID := map[string]string{}
	for _, dir := range []string{"ingress", "egress"} {
		r = c.ok(demo, "neutron", "security-group-rule-create", "--direction", dir, "--protocol", "112", "ha-sg")
		rl := c.fieldTable(r)
		ruleID[dir] = rl["id"]
		c.check(r, uuidRE.MatchString(rl["id"]) && rl["protocol"] == "112" && rl["direction"] == dir && rl["ethertype"] == "IPv4" &&
			rl["security_group_id"] == sgID && rl["remote_ip_prefix"] == "" && rl["project_id"] == projectID && rl["revision_number"] == "0",
			"06/07: rule %s 112: %v", dir, rl)
	}
	// 08, 09. The same rules spelled vrrp are duplicates: 409 naming the rule.
	for _, dir := range []string{"ingress", "egress"} {
		c.fails(demo, []string{msgRuleExists + ruleID[dir] + "."}, "neutron", "security-group-rule-create", "--direction", dir, "--protocol", "vrrp", "ha-sg")
	}
	// 10, 11.
	r = c.ok(demo, "neutron", "security-group-rule-create", "--protocol", "icmp", "--direction", "ingress", "ha-sg")
	rl := c.fieldTable(r)
	c.check(r, rl["protocol"] == "icmp" && rl["port_range_min"] == "" && rl["direction"] == "ingress", "10: icmp rule: %v", rl)
	r = c.ok(demo, "neutron", "security-group-rule-create", "--protocol", "tcp", "--port-range-min", "22", "--port-range-max", "22", "--direction", "ingress", "ha-sg")
	rl = c.fieldTable(r)
	sshRule := rl["id"]
	c.check(r, rl["protocol"] == "tcp" && rl["port_range_min"] == "22" && rl["port_range_max"] == "22", "11: ssh rule: %v", rl)
	// 12. OSC sends ::/0 and the protocol is stored as sent.
	r = c.ok(demo, "openstack", "security", "group", "rule", "create", "--protocol", "vrrp", "--ingress", "--ethertype", "IPv6", "ha-sg", "-f", "json")
	o := c.jsonObject(r)
	vrrp6 := str(o["id"])
	c.check(r, uuidRE.MatchString(vrrp6) && str(o["protocol"]) == "vrrp" && str(o["ether_type"]) == "IPv6" && str(o["direction"]) == "ingress" &&
		str(o["remote_ip_prefix"]) == "::/0" && str(o["security_group_id"]) == sgID && str(o["revision_number"]) == "0",
		"12: openstack rule create vrrp IPv6: %v", o)
	// 13. The same as 112: 409.
	c.fails(demo, []string{"ConflictException: 409", msgRuleExists + vrrp6 + "."},
		"openstack", "security", "group", "rule", "create", "--protocol", "112", "--ingress", "--ethertype", "IPv6", "ha-sg")
	// 14. All of demo's rules, with group names resolved by the client.
	r = c.ok(demo, "neutron", "security-group-rule-list")
	got = nil
	for _, row := range c.listTable(r) {
		got = append(got, row["security_group"]+"|"+row["direction"]+"|"+row["ethertype"]+"|"+row["port/protocol"]+"|"+row["remote"])
	}
	slices.Sort(got)
	want = []string{
		"default|egress|IPv4|any|any", "default|egress|IPv6|any|any",
		"default|ingress|IPv4|any|default (group)", "default|ingress|IPv6|any|default (group)",
		"ha-sg|egress|IPv4|112|any", "ha-sg|egress|IPv4|any|any", "ha-sg|egress|IPv6|any|any",
		"ha-sg|ingress|IPv4|112|any", "ha-sg|ingress|IPv4|22/tcp|any", "ha-sg|ingress|IPv4|icmp|any",
		"ha-sg|ingress|IPv6|vrrp|::/0 (CIDR)",
	}
	c.check(r, slices.Equal(got, want), "14: security-group-rule-list rows\n%q\nwant\n%q", got, want)
	// 15.
	r = c.ok(demo, "openstack", "security", "group", "show", "ha-sg", "-f", "json")
	o = c.jsonObject(r)
	var protos []string
	if rules, ok := o["rules"].([]any); ok {
		for _, x := range rules {
			m, _ := x.(map[string]any)
			protos = append(protos, str(m["protocol"]))
		}
	}
	slices.Sort(protos)
	c.check(r, str(o["id"]) == sgID && str(o["name"]) == "ha-sg" && str(o["revision_number"]) == "6" &&
		slices.Equal(protos, []string{"", "", "112", "112", "icmp", "tcp", "vrrp"}),
		"15: security group show ha-sg: revision_number %v, rule protocols %q; want 6 and 7 rules [- - 112 112 icmp tcp vrrp]", o["revision_number"], protos)

	// openstack security group rule create / list / show / delete.
	r = c.ok(demo, "openstack", "security", "group", "rule", "create", "--protocol", "vrrp", "--egress", "--ethertype", "IPv6",
		"--remote-ip", "2001:db8::/64", "--description", "keepalived peers", "ha-sg", "-f", "json")
	o = c.jsonObject(r)
	extra := str(o["id"])
	c.check(r, uuidRE.MatchString(extra) && str(o["protocol"]) == "vrrp" && str(o["direction"]) == "egress" && str(o["ether_type"]) == "IPv6" &&
		str(o["remote_ip_prefix"]) == "2001:db8::/64" && str(o["description"]) == "keepalived peers" && str(o["project_id"]) == projectID,
		"openstack security group rule create: %v", o)
	r = c.ok(demo, "openstack", "security", "group", "rule", "list", "ha-sg", "-f", "json")
	var ids []string
	for _, row := range c.jsonList(r) {
		ids = append(ids, str(row["ID"]))
		if str(row["ID"]) == extra {
			c.check(r, str(row["IP Protocol"]) == "vrrp" && str(row["Direction"]) == "egress" && str(row["IP Range"]) == "2001:db8::/64",
				"rule list: the new rule's row: %v", row)
		}
	}
	c.check(r, len(ids) == 8 && slices.Contains(ids, extra) && slices.Contains(ids, vrrp6) && slices.Contains(ids, sshRule),
		"openstack security group rule list ha-sg: want 8 rules with %s, got %q", extra, ids)
	r = c.ok(demo, "openstack", "security", "group", "rule", "show", extra, "-f", "json")
	o = c.jsonObject(r)
	c.check(r, str(o["id"]) == extra && str(o["security_group_id"]) == sgID && str(o["protocol"]) == "vrrp" && str(o["remote_ip_prefix"]) == "2001:db8::/64" &&
		str(o["description"]) == "keepalived peers",
		"openstack security group rule show: %v", o)
	r = c.ok(demo, "openstack", "security", "group", "rule", "delete", extra)
	c.check(r, strings.TrimSpace(r.stdout) == "", "rule delete prints nothing")
	c.fails(demo, []string{"No SecurityGroupRule found for " + extra}, "openstack", "security", "group", "rule", "show", extra)
	r = c.ok(demo, "openstack", "security", "group", "rule", "list", "ha-sg", "-f", "value", "-c", "ID")
	c.check(r, len(lines(strings.TrimSpace(r.stdout))) == 7 && !strings.Contains(r.stdout, extra), "rule list after delete: want the 7 rules without %s", extra)

	// ---- 2. keepalived ports ----
	type port struct{ id, mac string }
	mkPort := func(name, ip string) port {
		r := c.ok(demo, "neutron", "port-create", "net1", "--name", name, "--fixed-ip", "ip_address="+ip, "--security-group", "ha-sg")
		p := c.fieldTable(r)
		fips := c.jsonLines(r, "fixed_ips", p["fixed_ips"])
		c.check(r, uuidRE.MatchString(p["id"]) && neutronMAC.MatchString(p["mac_address"]) && p["name"] == name && p["network_id"] == netID &&
			p["status"] == "DOWN" && p["admin_state_up"] == "True" && p["port_security_enabled"] == "True" && p["security_groups"] == sgID &&
			p["allowed_address_pairs"] == "" && p["binding:vnic_type"] == "normal" && p["revision_number"] == "1" &&
			p["project_id"] == projectID && p["tenant_id"] == projectID &&
			len(fips) == 1 && str(fips[0]["ip_address"]) == ip && str(fips[0]["subnet_id"]) == subnetID,
			"16/17: port-create %s differs from the reference: %v", name, p)
		for _, k := range []string{"binding:host_id", "binding:profile", "binding:vif_type", "binding:vif_details"} {
			_, has := p[k]
			c.check(r, !has, "16/17: a member must not see %s", k)
		}
		if !uuidRE.MatchString(p["id"]) {
			t.FailNow()
		}
		return port{p["id"], p["mac_address"]}
	}
	k1 := mkPort("keepalived01", "172.16.200.193")
	k2 := mkPort("keepalived02", "172.16.200.194")
	// 18.
	r = c.ok(demo, "neutron", "port-list")
	got = nil
	for _, row := range c.listTable(r) {
		got = append(got, row["id"]+" "+row["name"]+" "+row["mac_address"])
	}
	slices.Sort(got)
	want = []string{k1.id + " keepalived01 " + k1.mac, k2.id + " keepalived02 " + k2.mac}
	slices.Sort(want)
	c.check(r, slices.Equal(got, want), "18: port-list %q, want %q", got, want)

	// ---- 3. allowed address pairs ----
	// 19. The seed's VIP port: the server fills in the port's own MAC, and
	// the port gets the default group.
	r = c.ok(demo, "neutron", "port-create", "net1", "--allowed-address-pairs", "type=dict", "list=true", "ip_address="+vip)
	p := c.fieldTable(r)
	vipPort := p["id"]
	c.check(r, uuidRE.MatchString(vipPort) && p["security_groups"] == defaultSG && p["name"] == "" &&
		slices.Equal(pairs(c.jsonLines(r, "allowed_address_pairs", p["allowed_address_pairs"])), []string{vip + "," + p["mac_address"]}),
		"19: VIP port: want pair %s with its own MAC and the default group %s, got %v", vip, defaultSG, p)
	// 20. By id (seed command), 21. by name.
	r = c.ok(demo, "neutron", "port-update", k1.id, "--allowed-address-pairs", "type=dict", "list=true", "ip_address="+vip)
	c.check(r, strings.Contains(r.stdout, "Updated port: "+k1.id), "20: want 'Updated port: %s'", k1.id)
	r = c.ok(demo, "neutron", "port-update", "keepalived02", "--allowed-address-pairs", "type=dict", "list=true", "ip_address="+vip)
	c.check(r, strings.Contains(r.stdout, "Updated port: keepalived02"), "21: want 'Updated port: keepalived02'")
	// 22.
	r = c.ok(demo, "neutron", "port-show", k1.id)
	p = c.fieldTable(r)
	c.check(r, p["revision_number"] == "2" && p["security_groups"] == sgID &&
		slices.Equal(pairs(c.jsonLines(r, "allowed_address_pairs", p["allowed_address_pairs"])), []string{vip + "," + k1.mac}),
		"22: port-show keepalived01: want pair %s,%s at revision 2, got %v", vip, k1.mac, p)
	// 23.
	r = c.ok(demo, "openstack", "port", "show", "keepalived01", "-c", "allowed_address_pairs", "-c", "security_group_ids",
		"-c", "port_security_enabled", "-c", "mac_address", "-f", "json")
	o = c.jsonObject(r)
	c.check(r, slices.Equal(pairs(o["allowed_address_pairs"]), []string{vip + "," + k1.mac}) && str(o["mac_address"]) == k1.mac &&
		o["port_security_enabled"] == true && slices.Equal(strs(o["security_group_ids"]), []string{sgID}),
		"23: openstack port show keepalived01: %v", o)
	// 24. The runbook's curl: only the API could clear the pairs.
	a := c.api(token, "PUT", "/v2.0/ports/"+k1.id+".json", `{"port": {"allowed_address_pairs": []}}`)
	if a.status != 200 || !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
		t.Errorf("24: want 200 application/json:\n%s", a)
	} else {
		po := c.object(a, "port")
		if pr, ok := po["allowed_address_pairs"].([]any); !ok || len(pr) != 0 || str(po["revision_number"]) != "3" ||
			!slices.Equal(strs(po["security_groups"]), []string{sgID}) || po["port_security_enabled"] != true {
			t.Errorf("24: want allowed_address_pairs [] at revision 3, groups unchanged:\n%s", a)
		}
	}
	// 25. OSC matches the pair exactly, and the server added the MAC.
	c.fails(demo, []string{"Port does not contain allowed-address-pair {'ip_address': '" + vip + "'}"},
		"openstack", "port", "unset", "--allowed-address", "ip-address="+vip, "keepalived02")
	// 26.
	r = c.ok(demo, "openstack", "port", "show", "keepalived02", "-c", "allowed_address_pairs", "-f", "json")
	o = c.jsonObject(r)
	c.check(r, slices.Equal(pairs(o["allowed_address_pairs"]), []string{vip + "," + k2.mac}), "26: keepalived02 pairs: %v", o)
	// 27. With the MAC it works.
	c.ok(demo, "openstack", "port", "unset", "--allowed-address", "ip-address="+vip+",mac-address="+k2.mac, "keepalived02")
	r = c.ok(demo, "openstack", "port", "show", "keepalived02", "-c", "allowed_address_pairs", "-f", "json")
	o = c.jsonObject(r)
	c.check(r, len(pairs(o["allowed_address_pairs"])) == 0, "27: keepalived02 pairs after unset: %v", o)
	// 28, 29. A given MAC is kept, a CIDR is accepted.
	c.ok(demo, "openstack", "port", "set", "--allowed-address", "ip-address="+vip+",mac-address=fa:16:3e:00:00:01",
		"--allowed-address", "ip-address=172.16.200.0/24", "keepalived02")
	r = c.ok(demo, "openstack", "port", "show", "keepalived02", "-c", "allowed_address_pairs", "-f", "json")
	o = c.jsonObject(r)
	c.check(r, slices.Equal(pairs(o["allowed_address_pairs"]), []string{vip + ",fa:16:3e:00:00:01", "172.16.200.0/24," + k2.mac}),
		"29: keepalived02 pairs after set: %v", o)
	// 30, 31.
	c.ok(demo, "openstack", "port", "set", "--no-allowed-address", "keepalived02")
	r = c.ok(demo, "openstack", "port", "show", "keepalived02", "-c", "allowed_address_pairs", "-f", "json")
	o = c.jsonObject(r)
	c.check(r, len(pairs(o["allowed_address_pairs"])) == 0, "31: keepalived02 pairs after --no-allowed-address: %v", o)

	// ---- 4. port security ----
	// 32. Not while groups are attached.
	c.fails(demo, []string{msgPortHasSG}, "neutron", "port-update", "keepalived02", "--port_security_enabled=False")
	// 33, 34. The runbook: drop the groups, then port security.
	r = c.ok(demo, "neutron", "port-update", "--no-security-groups", "keepalived02")
	c.check(r, strings.Contains(r.stdout, "Updated port: keepalived02"), "33: want 'Updated port: keepalived02'")
	r = c.ok(demo, "neutron", "port-update", "keepalived02", "--port_security_enabled=False")
	c.check(r, strings.Contains(r.stdout, "Updated port: keepalived02"), "34: want 'Updated port: keepalived02'")
	// 35.
	r = c.ok(demo, "neutron", "port-show", "keepalived02")
	p = c.fieldTable(r)
	c.check(r, p["port_security_enabled"] == "False" && p["security_groups"] == "" && p["allowed_address_pairs"] == "" &&
		p["revision_number"] == "7" && p["mac_address"] == k2.mac,
		"35: port-show keepalived02: want port security False, no groups, no pairs, revision 7, got %v", p)
	// 36, 37.
	c.fails(demo, []string{msgAAPNeedsPsec}, "neutron", "port-update", "keepalived02", "--allowed-address-pairs", "type=dict", "list=true", "ip_address="+vip)
	c.fails(demo, []string{msgSGNeedsPsec}, "neutron", "port-update", "keepalived02", "--security-group", "ha-sg")
	// 38, 39. Re-enabling puts no group back.
	c.ok(demo, "neutron", "port-update", "keepalived02", "--port-security-enabled", "True")
	r = c.ok(demo, "openstack", "port", "show", "keepalived02", "-c", "port_security_enabled", "-c", "security_group_ids", "-f", "json")
	o = c.jsonObject(r)
	c.check(r, o["port_security_enabled"] == true && len(strs(o["security_group_ids"])) == 0, "39: keepalived02: %v", o)
	// 40.
	c.ok(demo, "neutron", "port-update", "keepalived02", "--port-security-enabled", "False")
	// 41. keepalived01 gets its pair back; groups off + port security off
	// in one call is refused while the pair is there.
	c.ok(demo, "openstack", "port", "set", "--allowed-address", "ip-address="+vip, "keepalived01")
	c.fails(demo, []string{"ConflictException: 409", msgAAPNeedsPsec},
		"openstack", "port", "set", "--no-security-group", "--disable-port-security", "keepalived01")
	// 42. The same with the raw API.
	a = c.api(token, "PUT", "/v2.0/ports/"+k1.id, `{"port": {"security_groups": [], "port_security_enabled": false}}`)
	c.neutronError(a, 409, "AddressPairAndPortSecurityRequired", msgAAPNeedsPsec)
	// 43. Clearing pairs and groups and disabling in one PUT works.
	a = c.api(token, "PUT", "/v2.0/ports/"+k1.id, `{"port": {"security_groups": [], "allowed_address_pairs": [], "port_security_enabled": false}}`)
	if a.status != 200 {
		t.Errorf("43: want 200:\n%s", a)
	} else if po := c.object(a, "port"); po["port_security_enabled"] != false || len(strs(po["security_groups"])) != 0 ||
		len(pairs(po["allowed_address_pairs"])) != 0 || str(po["revision_number"]) != "5" {
		t.Errorf("43: want port security off, no groups, no pairs, revision 5:\n%s", a)
	}
	// 44.
	c.ok(demo, "openstack", "port", "set", "--enable-port-security", "--security-group", "ha-sg", "keepalived01")
	r = c.ok(demo, "openstack", "port", "show", "keepalived01", "-c", "port_security_enabled", "-c", "security_group_ids", "-f", "json")
	o = c.jsonObject(r)
	c.check(r, o["port_security_enabled"] == true && slices.Equal(strs(o["security_group_ids"]), []string{sgID}), "44: keepalived01: %v", o)

	// openstack port create with a pair, then the OSC way to port security off.
	r = c.ok(demo, "openstack", "port", "create", "--network", "net1", "--fixed-ip", "subnet=subnet1,ip-address=172.16.200.195",
		"--security-group", "ha-sg", "--allowed-address", "ip-address="+vip, "keepalived03", "-f", "json")
	o = c.jsonObject(r)
	k3 := port{str(o["id"]), str(o["mac_address"])}
	fips := pairsOrIPs(o["fixed_ips"])
	c.check(r, uuidRE.MatchString(k3.id) && neutronMAC.MatchString(k3.mac) && str(o["name"]) == "keepalived03" && str(o["network_id"]) == netID &&
		slices.Equal(fips, []string{"172.16.200.195," + subnetID}) && slices.Equal(strs(o["security_group_ids"]), []string{sgID}) &&
		o["port_security_enabled"] == true && slices.Equal(pairs(o["allowed_address_pairs"]), []string{vip + "," + k3.mac}) &&
		str(o["status"]) == "DOWN" && str(o["project_id"]) == projectID,
		"openstack port create keepalived03: %v", o)
	c.ok(demo, "openstack", "port", "set", "--allowed-address", "ip-address=172.16.200.252", "keepalived03")
	r = c.ok(demo, "openstack", "port", "show", "keepalived03", "-c", "allowed_address_pairs", "-f", "json")
	o = c.jsonObject(r)
	c.check(r, slices.Equal(pairs(o["allowed_address_pairs"]), []string{vip + "," + k3.mac, "172.16.200.252," + k3.mac}),
		"port set --allowed-address adds to the pairs: %v", o)
	c.fails(demo, []string{"ConflictException: 409", msgAAPNeedsPsec},
		"openstack", "port", "set", "--no-security-group", "--disable-port-security", "keepalived03")
	c.ok(demo, "openstack", "port", "set", "--no-allowed-address", "keepalived03")
	c.ok(demo, "openstack", "port", "set", "--no-security-group", "--disable-port-security", "keepalived03")
	r = c.ok(demo, "openstack", "port", "show", "keepalived03", "-f", "json")
	o = c.jsonObject(r)
	c.check(r, o["port_security_enabled"] == false && len(strs(o["security_group_ids"])) == 0 && len(pairs(o["allowed_address_pairs"])) == 0,
		"keepalived03 after --no-allowed-address, --no-security-group --disable-port-security: %v", o)
	// 45/46 through OSC: port security off without a group gets none.
	c.fails(demo, []string{"BadRequestException: 400", msgSGNeedsPsec},
		"openstack", "port", "create", "--network", "net1", "--disable-port-security", "--security-group", "ha-sg", "nosec-bad")
	r = c.ok(demo, "openstack", "port", "create", "--network", "net1", "--disable-port-security", "nosec", "-f", "json")
	o = c.jsonObject(r)
	nosec := str(o["id"])
	c.check(r, o["port_security_enabled"] == false && len(strs(o["security_group_ids"])) == 0, "46: port nosec: %v", o)

	// ---- 5. errors through the CLIs ----
	c.fails(demo, []string{msgProtoFoo}, "neutron", "security-group-rule-create", "--protocol", "foo", "ha-sg")                                                    // 47
	c.fails(demo, []string{"BadRequestException: 400", msgProtoFoo}, "openstack", "security", "group", "rule", "create", "--protocol", "foo", "ha-sg")             // 48
	c.fails(demo, []string{"Invalid CIDR 10.0.0.0/33 given as IP prefix."}, "neutron", "security-group-rule-create", "--remote-ip-prefix", "10.0.0.0/33", "ha-sg") // 50
	c.fails(demo, []string{"For TCP/UDP protocols, port_range_min must be <= port_range_max"},
		"neutron", "security-group-rule-create", "--protocol", "tcp", "--port-range-min", "200", "--port-range-max", "100", "ha-sg") // 54
	c.fails(demo, []string{"Unable to find security_group with name or id '" + unknownSG + "'"},
		"neutron", "port-update", "keepalived01", "--security-group", unknownSG) // 61
	c.fails(demo, []string{msgRuleExists + sshRule + "."},
		"neutron", "security-group-rule-create", "--protocol", "tcp", "--port-range-min", "22", "--port-range-max", "22", "--direction", "ingress", "ha-sg") // 66
	c.fails(demo, []string{"IP address 172.16.200.193 already allocated in subnet " + subnetID},
		"neutron", "port-create", "net1", "--name", "dup", "--fixed-ip", "ip_address=172.16.200.193") // 75
	c.fails(demo, []string{"Security Group " + sgID + " in use."}, "neutron", "security-group-delete", "ha-sg") // 79
	c.fails(demo, []string{"ConflictException: 409", "Security Group " + defaultSG + " in use.", "1 of 1 groups failed to delete."},
		"openstack", "security", "group", "delete", "default") // 80
	// 81. Once unused, a member still may not delete the default group.
	r = c.ok(demo, "neutron", "port-delete", vipPort)
	c.check(r, strings.Contains(r.stdout, "Deleted port(s): "+vipPort), "81: want 'Deleted port(s): %s'", vipPort)
	c.fails(demo, []string{"ConflictException: 409", msgDefaultSGRight}, "openstack", "security", "group", "delete", "default")

	// ---- 7. the admin view of the same port (binding:* only for admin) ----
	r = c.ok(admin, "neutron", "port-show", k1.id)
	p = c.fieldTable(r)
	c.check(r, p["id"] == k1.id && p["project_id"] == projectID && p["binding:vif_type"] == "unbound" && p["binding:vnic_type"] == "normal" &&
		p["binding:profile"] == "{}" && p["binding:vif_details"] == "{}",
		"89: admin port-show keepalived01: want binding:vif_type unbound, binding:profile {}, binding:vif_details {}, got %v", p)
	if _, ok := p["binding:host_id"]; !ok {
		t.Errorf("89: admin port-show keepalived01 lacks binding:host_id:\n%s", r)
	}
	r = c.ok(demo, "openstack", "port", "list", "-f", "value", "-c", "ID")
	c.check(r, len(lines(strings.TrimSpace(r.stdout))) == 4, "demo's ports: want keepalived01-03 and nosec")

	// ---- clean-up through the CLIs ----
	c.ok(demo, "openstack", "port", "delete", k1.id, k2.id, "keepalived03", nosec)
	c.ok(demo, "openstack", "security", "group", "delete", "ha-sg")
	r = c.ok(demo, "neutron", "subnet-delete", "subnet1")
	c.check(r, strings.Contains(r.stdout, "Deleted subnet(s): subnet1"), "want 'Deleted subnet(s): subnet1'")
	r = c.ok(demo, "neutron", "net-delete", "net1")
	c.check(r, strings.Contains(r.stdout, "Deleted network(s): net1"), "want 'Deleted network(s): net1'")
	r = c.ok(demo, "openstack", "network", "list", "-f", "json")
	c.check(r, len(c.jsonList(r)) == 0, "network list after the clean-up: want none")
	r = c.ok(demo, "openstack", "port", "list", "-f", "json")
	c.check(r, len(c.jsonList(r)) == 0, "port list after the clean-up: want none")

	// The runbook's token stops working once revoked; a bogus one never did.
	c.ok(demo, "openstack", "token", "revoke", token)
	if a := c.api(token, "GET", "/v2.0/ports", ""); a.status != 401 {
		t.Errorf("GET /v2.0/ports with a revoked token: want 401:\n%s", a)
	}
	if a := c.api("not-a-token", "PUT", "/v2.0/ports/"+k1.id+".json", `{"port": {"allowed_address_pairs": []}}`); a.status != 401 {
		t.Errorf("PUT with a bogus token: want 401:\n%s", a)
	}

	t.Logf("walk-through took %s", time.Since(started).Round(time.Second))
}

// pairsOrIPs renders OSC's fixed_ips (a list of {ip_address, subnet_id})
// as "ip,subnet" strings.
func pairsOrIPs(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, e := range l {
			m, _ := e.(map[string]any)
			out = append(out, str(m["ip_address"])+","+str(m["subnet_id"]))
		}
	}
	return out
}
