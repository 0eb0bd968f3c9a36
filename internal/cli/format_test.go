package cli

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// uuidRe masks ids and times so outputs can be compared whole.
var (
	uuidRe = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	timeRe = regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z`)
	macRe  = regexp.MustCompile(`fa:16:3e:[0-9a-f:]{8}`)
)

func mask(s string) string {
	s = uuidRe.ReplaceAllString(s, "UUID")
	s = timeRe.ReplaceAllString(s, "TIME")
	return macRe.ReplaceAllString(s, "MAC")
}

// TestOutputFormats checks the verbs' table, json, yaml and value output
// and -c, as scripts parse them.
func TestOutputFormats(t *testing.T) {
	s := newServer(t, false)
	setup(t, s)

	// list: table with openstack's columns (widths vary with the masked
	// values, so compare the masked table whole).
	got := mask(s.ok("port", "list"))
	want := `+--------------------------------------+------+-------------------+-------------------------------------------------------------------------+--------+
| ID                                   | Name | MAC Address       | Fixed IP Addresses                                                      | Status |
+--------------------------------------+------+-------------------+-------------------------------------------------------------------------+--------+
| UUID | vm1  | MAC | ip_address='10.0.0.10', subnet_id='UUID' | DOWN   |
+--------------------------------------+------+-------------------+-------------------------------------------------------------------------+--------+
`
	if squash(got) != squash(want) {
		t.Errorf("port list table:\n%s\nwant\n%s", got, want)
	}

	// list json: an array of objects keyed by column name, in column order.
	out := s.ok("port", "list", "-f", "json", "-c", "Name", "-c", "fixed ip addresses")
	if !strings.HasPrefix(out, "[\n  {\n    \"Name\": \"vm1\",\n    \"Fixed IP Addresses\": [") {
		t.Errorf("port list json:\n%s", out)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 1 || anyList(rows[0]["Fixed IP Addresses"])[0].(map[string]any)["ip_address"] != "10.0.0.10" {
		t.Errorf("port list json: %v %v", rows, err)
	}

	// list yaml
	out = s.ok("network", "list", "-f", "yaml", "-c", "Name")
	if out != "- Name: net1\n" {
		t.Errorf("network list yaml = %q", out)
	}

	// list value: space separated, one row per line, no header.
	if out := s.ok("subnet", "list", "-f", "value", "-c", "Name", "-c", "Subnet"); out != "sub1 10.0.0.0/24\n" {
		t.Errorf("subnet list value = %q", out)
	}

	// show table: Field/Value, sorted, openstack's names and renderings.
	out = mask(s.ok("port", "show", "vm1", "-c", "admin_state_up", "-c", "allowed_address_pairs", "-c", "security_group_ids", "-c", "port_security_enabled", "-c", "binding_host_id"))
	for _, line := range []string{
		"| Field                 | Value",
		"| admin_state_up        | UP",
		"| allowed_address_pairs | ip_address='10.0.0.50', mac_address='MAC'",
		"| security_group_ids    | UUID",
		"| port_security_enabled | True",
		"| binding_host_id       |",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("port show lacks %q:\n%s", line, out)
		}
	}
	// show json keeps types: booleans, lists of objects.
	m := s.okJSON("port", "show", "vm1", "-c", "admin_state_up", "-c", "allowed_address_pairs", "-c", "security_group_ids")
	if m["admin_state_up"] != true || len(anyList(m["allowed_address_pairs"])) != 1 || len(anyList(m["security_group_ids"])) != 1 || len(m) != 3 {
		t.Errorf("port show json: %v", m)
	}
	// show yaml decodes to the same as json.
	var y map[string]any
	if err := yaml.Unmarshal([]byte(s.ok("port", "show", "vm1", "-f", "yaml")), &y); err != nil {
		t.Fatal(err)
	}
	full := s.okJSON("port", "show", "vm1")
	if !reflect.DeepEqual(y, full) {
		t.Errorf("yaml and json differ:\n%v\n%v", y, full)
	}
	// show value: one value per line in -c order.
	if out := s.ok("port", "show", "vm1", "-f", "value", "-c", "name", "-c", "port_security_enabled"); out != "vm1\nTrue\n" {
		t.Errorf("port show value = %q", out)
	}
	// neutron spelling: raw attribute names.
	if out := s.ok("port-show", "vm1", "-f", "value", "-c", "port_security_enabled", "-c", "binding:host_id"); out != "\nTrue\n" && out != "True\n\n" {
		t.Errorf("port-show value = %q", out)
	}
	// security group show: rules one per line.
	out = s.ok("security-group", "show", "ha", "-c", "rules", "-f", "value")
	if n := strings.Count(out, "direction='egress'"); n != 2 {
		t.Errorf("group rules:\n%s", out)
	}
	// rule list IP Range: the family when the rule has no prefix.
	s.ok("security-group-rule", "create", "--protocol", "vrrp", "--remote-group", "ha", "ha")
	out = s.ok("security-group-rule", "list", "ha", "-f", "value", "-c", "IP Protocol", "-c", "IP Range", "-c", "Direction", "--ingress")
	if out != "vrrp 0.0.0.0/0 ingress\n" {
		t.Errorf("rule list = %q", out)
	}
}

// squash compares tables regardless of padding.
func squash(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		out = append(out, strings.Join(strings.Fields(strings.NewReplacer("-", "", "|", " ").Replace(l)), " "))
	}
	return strings.Join(out, "\n")
}

// TestDefaultGroupOfTheProject: every project has a group named default;
// for an admin, `--security-group default` means the port's project's.
func TestDefaultGroupOfTheProject(t *testing.T) {
	s := newServer(t, false)
	f := setup(t, s)
	s.ok("port", "create", "--network", "net1", "--project", "p2", "other")
	groups := s.ok("security-group", "list", "--name", "default", "-f", "value", "-c", "Project")
	if strings.Count(groups, "\n") != 2 {
		t.Fatalf("want two default groups, have:\n%s", groups)
	}
	s.ok("port", "set", "--no-security-group", "--security-group", "default", "vm1")
	sg := strList(s.get("ports/" + f.vm1)["security_groups"])
	if len(sg) != 1 || s.get("security-groups/" + sg[0])["project_id"] != "admin" {
		t.Errorf("vm1 groups = %v", sg)
	}
	s.fails(ExitError, "More than one SecurityGroup exists with the name 'default'", "security-group", "show", "default")
}
