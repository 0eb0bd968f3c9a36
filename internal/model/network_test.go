package model_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/bulwark-net/bulwark/internal/model"
)

func TestParseNetwork(t *testing.T) {
	for _, tc := range []struct {
		name   string
		create bool
		body   string
		want   wantErr
	}{
		{"recorded create (step 3)", true, `{"admin_state_up": true, "name": "net1"}`, wantErr{}},
		{"everything", true, `{"name": "n", "description": "d", "admin_state_up": "false", "shared": "True",
			"port_security_enabled": "False", "router:external": false, "mtu": "1400", "tenant_id": "p1",
			"availability_zone_hints": ["nova"], "tags": ["a", "b"]}`, wantErr{}},
		{"update", false, `{"name": "n2", "mtu": 1450, "port_security_enabled": true}`, wantErr{}},
		{"unknown", true, `{"foo": 1}`, bad("Unrecognized attribute(s) 'foo'")},
		{"status on create", true, `{"status": "DOWN"}`, bad("Attribute 'status' not allowed in POST")},
		{"subnets on create", true, `{"subnets": []}`, bad("Attribute 'subnets' not allowed in POST")},
		{"address scope on create", true, `{"ipv4_address_scope": null}`, bad("Attribute 'ipv4_address_scope' not allowed in POST")},
		{"update id", false, `{"id": "` + netID + `"}`, bad("Cannot update read-only attribute id")},
		{"update tenant", false, `{"tenant_id": "x"}`, bad("Cannot update read-only attribute tenant_id")},
		{"update az hints", false, `{"availability_zone_hints": []}`, bad("Cannot update read-only attribute availability_zone_hints")},
		{"update tags", false, `{"tags": []}`, bad("Cannot update read-only attribute tags")},
		{"port security maybe", false, `{"port_security_enabled": "maybe"}`, invalidInput("'maybe' cannot be converted to boolean.")},
		{"shared null", false, `{"shared": null}`, invalidInput("'None' cannot be converted to boolean.")},
		{"admin state 2", true, `{"admin_state_up": 2}`, invalidInput("'2' cannot be converted to boolean.")},
		{"name number", true, `{"name": 1}`, invalidAttr("name", "'1' is not a valid string")},
		{"description too long", true, `{"description": "` + strings.Repeat("x", 256) + `"}`, invalidAttr("description", "'"+strings.Repeat("x", 256)+"' exceeds maximum length of 255")},
		{"mtu too big", true, `{"mtu": 9000}`, invalidInput("Requested MTU is too big, maximum is 1450.")},
		{"mtu negative", false, `{"mtu": -1}`, invalidAttr("mtu", "'-1' should be non-negative")},
		{"mtu not a number", true, `{"mtu": "big"}`, invalidInput("'big' is not an integer.")},
		{"mtu float", true, `{"mtu": 1400.5}`, invalidInput("'1400.5' is not an integer.")},
		{"mtu below 68", true, `{"mtu": 67}`, invalidInput("Requested MTU 67 is out of range; it must be between 68 and 1450.")},
		{"tags not a list", true, `{"tags": "a"}`, invalidAttr("tags", "'a' is not a list")},
		{"az hints item", true, `{"availability_zone_hints": [1]}`, invalidAttr("availability_zone_hints", "'1' is not a valid string")},
		{"project mismatch", true, `{"project_id": "a", "tenant_id": "b"}`, bad("'project_id' and 'tenant_id' do not match")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := model.ParseNetwork(attrs(t, tc.body), tc.create)
			check(t, err, tc.want)
		})
	}
}

func TestParseNetworkValues(t *testing.T) {
	in, err := model.ParseNetwork(attrs(t, `{"name": "n", "description": "d", "admin_state_up": "false", "shared": "True",
		"port_security_enabled": "False", "router:external": false, "mtu": "1400", "tenant_id": "p1",
		"availability_zone_hints": ["nova"], "tags": ["a", "b"]}`), true)
	if err != nil {
		t.Fatal(err)
	}
	if deref(in.Name) != "n" || deref(in.Description) != "d" || *in.AdminStateUp || !*in.Shared || *in.PortSecurity ||
		*in.RouterExternal || *in.MTU != 1400 || in.ProjectID != "p1" || !reflect.DeepEqual(*in.AZHints, []string{"nova"}) ||
		!reflect.DeepEqual(*in.Tags, []string{"a", "b"}) {
		t.Errorf("parsed %+v", in)
	}
	// mtu 0 asks for Neutron's default, the largest MTU of the network.
	in, err = model.ParseNetwork(attrs(t, `{"mtu": 0}`), false)
	if err != nil || in.MTU == nil || *in.MTU != model.DefaultMTU {
		t.Errorf("mtu 0: %v %v", in.MTU, err)
	}
	// Nothing sent, nothing set (port security inherits the default).
	in, err = model.ParseNetwork(attrs(t, `{}`), true)
	if err != nil || !reflect.DeepEqual(*in, model.NetworkInput{}) {
		t.Errorf("empty create: %+v %v", in, err)
	}
}

func TestParseSecurityGroup(t *testing.T) {
	for _, tc := range []struct {
		name   string
		create bool
		body   string
		want   wantErr
	}{
		{"recorded create (step 5)", true, `{"name": "ha-sg"}`, wantErr{}},
		{"stateless", true, `{"name": "x", "stateful": "false", "description": "d", "project_id": "p", "tags": []}`, wantErr{}},
		{"update", false, `{"name": "y", "description": "", "stateful": true}`, wantErr{}},
		{"unknown", true, `{"rules": []}`, bad("Unrecognized attribute(s) 'rules'")},
		{"rules on create", true, `{"security_group_rules": []}`, bad("Attribute 'security_group_rules' not allowed in POST")},
		{"shared on create", true, `{"shared": true}`, bad("Attribute 'shared' not allowed in POST")},
		{"update rules", false, `{"security_group_rules": []}`, bad("Cannot update read-only attribute security_group_rules")},
		{"update tenant", false, `{"tenant_id": "x"}`, bad("Cannot update read-only attribute tenant_id")},
		{"stateful maybe", true, `{"stateful": "maybe"}`, invalidInput("'maybe' cannot be converted to boolean.")},
		{"name list", true, `{"name": ["a"]}`, invalidAttr("name", `'["a"]' is not a valid string`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := model.ParseSecurityGroup(attrs(t, tc.body), tc.create)
			check(t, err, tc.want)
		})
	}
	in, err := model.ParseSecurityGroup(attrs(t, `{"name": "x", "stateful": "false", "description": "d", "project_id": "p", "tags": ["t"]}`), true)
	if err != nil || deref(in.Name) != "x" || *in.Stateful || deref(in.Description) != "d" || in.ProjectID != "p" || (*in.Tags)[0] != "t" {
		t.Errorf("parsed %+v %v", in, err)
	}
}

func TestParseAddressGroup(t *testing.T) {
	for _, tc := range []struct {
		name   string
		create bool
		body   string
		want   wantErr
		addrs  []string
	}{
		{"addresses normalised and deduplicated", true, `{"name": "ag", "addresses": ["10.0.0.5/24", "10.0.0.0/24", "192.168.1.1/32", "2001:db8::1/64"]}`,
			wantErr{}, []string{"10.0.0.0/24", "192.168.1.1/32", "2001:db8::/64"}},
		{"no addresses", true, `{"name": "ag"}`, wantErr{}, nil},
		{"empty addresses", true, `{"addresses": []}`, wantErr{}, []string{}},
		{"null addresses", true, `{"addresses": null}`, wantErr{}, []string{}},
		{"bad address", true, `{"addresses": ["10.0.0.0/33"]}`, invalidAttr("addresses", "'10.0.0.0/33' is not a valid IP subnet"), nil},
		{"bare address", true, `{"addresses": ["192.168.1.1"]}`, invalidAttr("addresses", "'192.168.1.1' isn't a recognized IP subnet cidr, '192.168.1.1/32' is recommended"), nil},
		{"not a list", true, `{"addresses": "10.0.0.0/8"}`, invalidAttr("addresses", "'10.0.0.0/8' is not a list"), nil},
		{"numbers", true, `{"addresses": [1]}`, invalidAttr("addresses", "'1' is not a valid IP subnet"), nil},
		{"repeated", true, `{"addresses": ["10.0.0.0/8", "10.1.0.0/16", "10.0.0.0/8"]}`, invalidAttr("addresses", "Duplicate items in the list: '10.0.0.0/8'"), nil},
		{"unknown", true, `{"foo": 1}`, bad("Unrecognized attribute(s) 'foo'"), nil},
		{"update name", false, `{"name": "x", "description": "y"}`, wantErr{}, nil},
		{"update addresses", false, `{"addresses": []}`, bad("Cannot update read-only attribute addresses"), nil},
		{"update project", false, `{"project_id": "p"}`, bad("Cannot update read-only attribute project_id"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := model.ParseAddressGroup(attrs(t, tc.body), tc.create)
			check(t, err, tc.want)
			if !tc.want.ok() || !tc.create {
				return
			}
			if tc.addrs == nil {
				if in.Addresses != nil {
					t.Errorf("addresses %v, want none", *in.Addresses)
				}
			} else if in.Addresses == nil || !reflect.DeepEqual(*in.Addresses, tc.addrs) {
				t.Errorf("addresses %v, want %v", in.Addresses, tc.addrs)
			}
		})
	}
	got, err := model.ParseAddresses(json.RawMessage(`["10.1.1.1/24", "10.1.1.0/24"]`), "add_addresses")
	if err != nil || !reflect.DeepEqual(got, []string{"10.1.1.0/24"}) {
		t.Errorf("ParseAddresses: %v %v", got, err)
	}
	_, err = model.ParseAddresses(json.RawMessage(`["x"]`), "remove_addresses")
	check(t, err, invalidAttr("remove_addresses", "'x' is not a valid IP subnet"))
}
