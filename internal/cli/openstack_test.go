package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/bulwark-net/bulwark/internal/cli/output"
	"github.com/bulwark-net/bulwark/internal/identity"
)

// TestOpenstackVerbs walks every resource through the openstack spellings
// against a noauth server.
func TestOpenstackVerbs(t *testing.T) {
	openstackFlow(t, newServer(t, false))
}

// TestKeystone runs an HA setup against a keystone-mode server, each verb
// authenticating with the OS_* variables of an admin openrc (each costs a
// password check, hence the short list).
func TestKeystone(t *testing.T) {
	s := newServer(t, true)
	s.ok("network", "create", "net1")
	s.ok("subnet", "create", "--network", "net1", "--subnet-range", "10.0.0.0/24", "sub1")
	s.ok("security", "group", "create", "ha")
	s.ok("security", "group", "rule", "create", "--protocol", "vrrp", "--remote-group", "ha", "ha")
	id := str(s.okJSON("port", "create", "--network", "net1", "--security-group", "ha", "--allowed-address", "ip-address=10.0.0.100", "lb1")["id"])
	s.ok("port-update", "lb1", "--no-allowed-address-pairs")
	p := s.okJSON("port", "show", id)
	if len(anyList(p["allowed_address_pairs"])) != 0 || p["project_id"] == "" {
		t.Errorf("port: %v", p)
	}
	// Groups a port names are the caller's project's, even for an admin.
	g := s.okJSON("security-group", "show", str(anyList(p["security_group_ids"])[0]))
	if g["name"] != "ha" || g["project_id"] != p["project_id"] {
		t.Errorf("group: %v", g)
	}
	s.fails(ExitNotFound, "No Port found for lb2", "port", "delete", "lb2")
}

func openstackFlow(t *testing.T, s *testServer) {
	// Networks.
	n := s.okJSON("network", "create", "--description", "cluster", "--disable-port-security", "--tag", "ha", "net1")
	if n["description"] != "cluster" || n["port_security_enabled"] != false || !reflect.DeepEqual(n["tags"], []any{"ha"}) {
		t.Fatalf("network create: %v", n)
	}
	netID := str(n["id"])
	s.ok("network", "set", "--name", "lan", "--enable-port-security", "--tag", "blue", "net1")
	if got := s.get("networks/" + netID); got["name"] != "lan" || got["port_security_enabled"] != true || len(anyList(got["tags"])) != 2 {
		t.Fatalf("network set: %v", got)
	}
	s.ok("network", "unset", "--tag", "ha", netID)
	if got := s.get("networks/" + netID); !reflect.DeepEqual(got["tags"], []any{"blue"}) {
		t.Fatalf("network unset: %v", got["tags"])
	}

	// Subnets.
	sub := s.okJSON("subnet", "create", "--network", "lan", "--subnet-range", "10.0.0.0/24", "--gateway", "none",
		"--allocation-pool", "start=10.0.0.10,end=10.0.0.99", "--dns-nameserver", "10.0.0.2", "sub1")
	if sub["gateway_ip"] != nil || sub["network_id"] != netID || len(anyList(sub["allocation_pools"])) != 1 {
		t.Fatalf("subnet create: %v", sub)
	}
	subID := str(sub["id"])
	s.ok("subnet", "set", "--gateway", "10.0.0.1", "--allocation-pool", "start=10.0.0.200,end=10.0.0.210", "sub1")
	if got := s.get("subnets/" + subID); got["gateway_ip"] != "10.0.0.1" || len(anyList(got["allocation_pools"])) != 2 {
		t.Fatalf("subnet set: %v", got)
	}
	s.ok("subnet", "unset", "--allocation-pool", "start=10.0.0.200,end=10.0.0.210", "--dns-nameserver", "10.0.0.2", "--gateway", "sub1")
	if got := s.get("subnets/" + subID); got["gateway_ip"] != nil || len(anyList(got["allocation_pools"])) != 1 || len(anyList(got["dns_nameservers"])) != 0 {
		t.Fatalf("subnet unset: %v", got)
	}
	v6 := s.okJSON("subnet", "create", "--network", netID, "--subnet-range", "2001:db8::/64", "sub6")
	if v6["ip_version"] != 6.0 {
		t.Fatalf("v6 subnet: %v", v6)
	}

	// Security groups and rules: both the hyphenated and the spaced forms.
	ha := str(s.okJSON("security-group", "create", "--description", "keepalived peers", "ha")["id"])
	s.ok("security", "group", "set", "--description", "VRRP peers", "ha")
	if g := s.get("security-groups/" + ha); g["description"] != "VRRP peers" {
		t.Fatalf("group set: %v", g)
	}
	r1 := s.okJSON("security-group", "rule", "create", "--protocol", "vrrp", "--remote-group", "ha", "ha")
	r2 := s.okJSON("security", "group", "rule", "create", "--protocol", "112", "--egress", "--remote-ip", "10.0.0.0/24", "ha")
	r3 := s.okJSON("security-group-rule", "create", "--protocol", "tcp", "--dst-port", "22:23", "--remote-ip", "2001:db8::/64", "ha")
	r4 := s.okJSON("security-group-rule", "create", "--protocol", "icmp", "--icmp-type", "8", "--icmp-code", "0", "ha")
	for _, tc := range []struct {
		rule map[string]any
		want map[string]any
	}{
		{r1, map[string]any{"protocol": "vrrp", "direction": "ingress", "ethertype": "IPv4", "remote_group_id": ha, "remote_ip_prefix": nil}},
		{r2, map[string]any{"protocol": "112", "direction": "egress", "remote_ip_prefix": "10.0.0.0/24"}},
		{r3, map[string]any{"protocol": "tcp", "ethertype": "IPv6", "port_range_min": 22.0, "port_range_max": 23.0}},
		{r4, map[string]any{"protocol": "icmp", "port_range_min": 8.0, "port_range_max": 0.0, "remote_ip_prefix": "0.0.0.0/0"}},
	} {
		got := s.get("security-group-rules/" + str(tc.rule["id"]))
		for k, v := range tc.want {
			if output.Text(got[k]) != output.Text(v) {
				t.Errorf("rule %s: %s = %v, want %v", got["id"], k, got[k], v)
			}
		}
	}
	// Rules are listed under the group, in the columns openstack prints.
	out := s.ok("security", "group", "rule", "list", "ha", "--ingress", "-f", "json")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 3 {
		t.Fatalf("rule list: %v\n%s", err, out)
	}
	if _, ok := rows[0]["Port Range"]; !ok {
		t.Errorf("rule list columns: %v", rows[0])
	}
	s.ok("security-group-rule", "delete", str(r4["id"]))
	s.fails(ExitNotFound, "No SecurityGroupRule found for "+str(r4["id"]), "security-group-rule", "show", str(r4["id"]))

	// Address groups.
	ag := s.okJSON("address-group", "create", "--address", "10.0.0.5", "--address", "10.0.0.0/28", "vips")
	agID := str(ag["id"])
	s.ok("address", "group", "set", "--address", "192.168.1.0/24", "--name", "vip-set", "vips")
	s.ok("address-group", "unset", "--address", "10.0.0.5/32", "vip-set")
	if got := strList(s.get("address-groups/" + agID)["addresses"]); !slices.Equal(got, []string{"10.0.0.0/28", "192.168.1.0/24"}) {
		t.Errorf("address group addresses = %v", got)
	}
	s.okJSON("security-group-rule", "create", "--remote-address-group", "vip-set", "--protocol", "udp", "--dst-port", "53", "ha")

	// Ports.
	p := s.okJSON("port", "create", "--network", "lan", "--fixed-ip", "subnet=sub1,ip-address=10.0.0.11", "--security-group", "ha",
		"--allowed-address", "ip-address=10.0.0.100", "--allowed-address", "ip-address=10.0.0.0/28,mac-address=fa:16:3e:00:00:01",
		"--host", "compute1", "--device-owner", "compute:nova", "vm1")
	portID := str(p["id"])
	got := s.get("ports/" + portID)
	if !reflect.DeepEqual(strList(got["security_groups"]), []string{ha}) || len(pairsOf(got)) != 2 || got["binding:host_id"] != "compute1" ||
		got["device_owner"] != "compute:nova" {
		t.Fatalf("port create: %v", got)
	}
	if _, ok := p["security_group_ids"]; !ok {
		t.Errorf("port show lacks security_group_ids (openstack's name): %v", p)
	}
	// set adds to the lists; --no-* first clears them.
	s.ok("port", "set", "--allowed-address", "ip-address=10.0.0.101", "--security-group", "default", "vm1")
	got = s.get("ports/" + portID)
	if len(pairsOf(got)) != 3 || len(strList(got["security_groups"])) != 2 {
		t.Fatalf("port set (add): %v", got)
	}
	s.ok("port", "set", "--no-allowed-address", "--allowed-address", "ip-address=10.0.0.102", "--no-security-group", "--security-group", "ha", "vm1")
	got = s.get("ports/" + portID)
	if len(pairsOf(got)) != 1 || pairsOf(got)[0].(map[string]any)["ip_address"] != "10.0.0.102" || !reflect.DeepEqual(strList(got["security_groups"]), []string{ha}) {
		t.Fatalf("port set (replace): %v", got)
	}
	s.ok("port", "unset", "--allowed-address", "ip-address=10.0.0.102", "--security-group", "ha", "--host", "vm1")
	got = s.get("ports/" + portID)
	if len(pairsOf(got)) != 0 || len(strList(got["security_groups"])) != 0 || got["binding:host_id"] != "" {
		t.Fatalf("port unset: %v", got)
	}
	s.ok("port", "set", "--disable-port-security", "vm1")
	if got = s.get("ports/" + portID); got["port_security_enabled"] != false {
		t.Fatalf("port set --disable-port-security: %v", got)
	}
	s.ok("port", "set", "--enable-port-security", "--security-group", "ha", "--name", "vm1b", "vm1")
	if got = s.get("ports/" + portID); got["port_security_enabled"] != true || got["name"] != "vm1b" {
		t.Fatalf("port set --enable-port-security: %v", got)
	}
	s.ok("port", "create", "--network", "lan", "--no-security-group", "--disable-port-security", "--no-fixed-ip", "bare")

	// list filters
	if out := s.ok("port", "list", "--network", "lan", "--security-group", "ha", "-f", "value", "-c", "ID"); out != portID+"\n" {
		t.Errorf("port list --security-group ha = %q", out)
	}
	if out := s.ok("port", "list", "--fixed-ip", "ip-address=10.0.0.11", "-f", "value", "-c", "Name"); out != "vm1b\n" {
		t.Errorf("port list --fixed-ip = %q", out)
	}
	if out := s.ok("subnet", "list", "--network", "lan", "--ip-version", "6", "-f", "value", "-c", "Name"); out != "sub6\n" {
		t.Errorf("subnet list = %q", out)
	}

	// Deletes, several at once.
	s.ok("port", "delete", "vm1b", "bare")
	s.ok("security-group", "delete", "ha")
	s.ok("address-group", "delete", "vip-set")
	s.ok("subnet", "delete", "sub1", "sub6")
	s.ok("network", "delete", "lan")
	for _, c := range []string{"ports", "subnets", "networks", "address-groups"} {
		if n := s.count(c); n != 0 {
			t.Errorf("%d %s left", n, c)
		}
	}
}

// TestCloudsYAML authenticates with --os-cloud and with $OS_CLOUD from a
// clouds.yaml; a wrong password is exit 5 with Keystone's message.
func TestCloudsYAML(t *testing.T) {
	s := newServer(t, true)
	authURL := os.Getenv("OS_AUTH_URL")
	for _, v := range osVars {
		t.Setenv(v, "")
	}
	path := filepath.Join(t.TempDir(), "clouds.yaml")
	cloud := func(name, pw string) string {
		return "  " + name + ":\n    auth:\n      auth_url: " + authURL + "\n      username: admin\n      password: " + pw +
			"\n      project_name: admin\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: " + identity.Region + "\n"
	}
	if err := os.WriteFile(path, []byte("clouds:\n"+cloud("bulwark", adminPassword)+cloud("wrong", "not-the-password")), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OS_CLIENT_CONFIG_FILE", path)
	s.ok("network", "create", "--os-cloud", "bulwark", "n1")
	t.Setenv("OS_CLOUD", "bulwark")
	if out := s.ok("network", "list", "-f", "value", "-c", "Name"); out != "n1\n" {
		t.Errorf("network list via $OS_CLOUD = %q", out)
	}
	r := s.fails(ExitAuth, "authentication failed", "network", "list", "--os-cloud", "wrong")
	if strings.Contains(r.stderr, "not-the-password") {
		t.Errorf("password in the error: %v", r)
	}
	s.fails(ExitError, "nope", "network", "list", "--os-cloud", "nope")
	s.fails(ExitError, "network endpoint from the catalog", "network", "list", "--os-region-name", "Nowhere")
}

// TestErrors: the server's message, the documented exit code, and nothing
// changed on the server by a refused command.
func TestErrors(t *testing.T) {
	s := newServer(t, false)
	f := setup(t, s)
	s.ok("security-group", "create", "dup")
	s.ok("security-group", "create", "dup")
	before := s.get("ports/" + f.vm1)

	for _, tc := range []struct {
		code int
		msg  string
		args []string
	}{
		// usage: nothing is sent
		{ExitUsage, "unknown flag: --frobnicate", []string{"port", "set", "--frobnicate", "vm1"}},
		{ExitUsage, "ip-address is required", []string{"port", "set", "--allowed-address", "mac-address=fa:16:3e:00:00:01", "vm1"}},
		{ExitUsage, "not a boolean", []string{"port-update", "vm1", "--port-security-enabled", "maybe"}},
		{ExitUsage, "takes PORT", []string{"port", "show"}},
		{ExitUsage, "takes one PORT", []string{"port-update", "vm1", "vm2", "--no-security-groups"}},
		{ExitUsage, "need --allowed-address-pairs", []string{"port-update", "vm1", "ip_address=10.0.0.9"}},
		{ExitUsage, "none of the others can be", []string{"port", "set", "--enable-port-security", "--disable-port-security", "vm1"}},
		{ExitUsage, "a protocol name", []string{"security-group-rule", "create", "--protocol", "vrrrp", "ha"}},
		{ExitUsage, "--dst-port needs --protocol", []string{"security-group-rule", "create", "--dst-port", "22", "ha"}},
		{ExitUsage, "unknown output format", []string{"port", "list", "-f", "xml"}},
		{ExitUsage, "no column", []string{"port", "show", "vm1", "-c", "nope"}},
		{ExitUsage, "needs a subcommand", []string{"port"}},
		{ExitUsage, `required flag(s) "network" not set`, []string{"port", "create", "vm9"}},
		// not found
		{ExitNotFound, "No Port found for vm9", []string{"port", "show", "vm9"}},
		{ExitNotFound, "No SecurityGroup found for nosuch", []string{"port", "set", "--security-group", "nosuch", "vm1"}},
		{ExitNotFound, "Port does not contain allowed-address-pair ip-address=10.9.9.9", []string{"port", "unset", "--allowed-address", "ip-address=10.9.9.9", "vm1"}},
		{ExitNotFound, "No Port found for 5c3d7a2e-0000-4000-8000-0123456789ab", []string{"port-delete", "5c3d7a2e-0000-4000-8000-0123456789ab"}},
		// ambiguous
		{ExitError, "More than one SecurityGroup exists with the name 'dup'", []string{"port", "set", "--security-group", "dup", "vm1"}},
		// the server refuses: its NeutronError message, its status's code
		{ExitConflict, "Port Security must be enabled", []string{"port", "set", "--disable-port-security", "vm1"}},
		{ExitConflict, "Port has security group associated", []string{"port", "set", "--disable-port-security", "--no-allowed-address", "vm1"}},
		{ExitConflict, "already allocated", []string{"port", "create", "--network", "net1", "--fixed-ip", "ip-address=10.0.0.10", "vm9"}},
		{ExitConflict, "in use", []string{"network", "delete", "net1"}},
		{ExitError, "Invalid input", []string{"subnet", "create", "--network", "net1", "--subnet-range", "10.0.0.0/24", "--gateway", "192.168.0.1", "--allocation-pool", "start=10.0.0.200,end=10.0.1.5", "bad"}},
	} {
		r := s.fails(tc.code, tc.msg, tc.args...)
		if strings.Contains(r.stderr, "Usage:") {
			t.Errorf("usage text printed: %v", r)
		}
	}
	if after := s.get("ports/" + f.vm1); !reflect.DeepEqual(before, after) {
		t.Errorf("refused commands changed the port:\nbefore %v\nafter  %v", before, after)
	}
	if n := s.count("ports"); n != 1 {
		t.Errorf("%d ports, want 1", n)
	}

	// A delete of several goes on after a failure and fails overall.
	r := s.fails(ExitNotFound, "1 of 2 ports failed to delete", "port", "delete", "nosuch", "vm1")
	if !strings.Contains(r.stderr, "Failed to delete port with name or ID 'nosuch'") {
		t.Errorf("delete: %v", r)
	}
	if n := s.count("ports"); n != 0 {
		t.Errorf("%d ports left", n)
	}
}

// TestUnreachable: no server is an error (exit 1), not a hang or a panic.
func TestUnreachable(t *testing.T) {
	for _, v := range osVars {
		t.Setenv(v, "")
	}
	r := run("network", "list", "--os-url", "http://127.0.0.1:1")
	if r.code != ExitError || !strings.Contains(r.stderr, "connection refused") {
		t.Errorf("%v", r)
	}
}
